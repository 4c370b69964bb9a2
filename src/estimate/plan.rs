//! TODO(plan): being written.
