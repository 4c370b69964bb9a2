//! TODO(speed): being written.
