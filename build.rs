//! Embeds the bundled data (`model-specs/*.yaml`, `hardware-profiles/*.yaml`) into the binary, so
//! `headroom` works from any directory and a release binary needs no data files beside it.

use std::fmt::Write as _;
use std::path::Path;

fn embed(dir: &str, var: &str, out: &mut String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    files.sort();
    writeln!(out, "pub static {var}: &[(&str, &str)] = &[").unwrap();
    for p in files {
        println!("cargo:rerun-if-changed={}", p.display());
        let stem = p.file_stem().unwrap().to_string_lossy().to_string();
        writeln!(
            out,
            "    ({stem:?}, include_str!({:?})),",
            p.display().to_string()
        )
        .unwrap();
    }
    writeln!(out, "];").unwrap();
}

fn main() {
    let mut out = String::new();
    embed("model-specs", "MODEL_SPECS", &mut out);
    embed("hardware-profiles", "HARDWARE_PROFILES", &mut out);
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("bundled.rs");
    std::fs::write(dest, out).unwrap();
}
