//! TODO(kv): being written.
