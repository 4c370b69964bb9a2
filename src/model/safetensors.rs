//! TODO(safetensors): being written.
