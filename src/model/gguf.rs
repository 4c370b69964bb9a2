//! TODO(gguf): being written.
