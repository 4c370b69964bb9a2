//! The bundled data compiled into the binary by `build.rs`: `(file stem, YAML text)` pairs.

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
