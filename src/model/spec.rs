//! TODO(spec): being written.
