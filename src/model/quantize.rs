//! TODO(quantize): being written.
