//! TODO(arch): being written.
