//! TODO(weights): being written.
