//! TODO(compute): being written.
