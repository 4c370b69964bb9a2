//! tui::sources: what the explorer's lists hold. Models: files and folders from the command line
//! (folders scanned for `.gguf` files and `config.json` model folders) followed by every bundled spec.
//! Hardware: every bundled profile at each of its memory sizes, resolved through `hardware::profile`.

use super::app::{HwEntry, ModelEntry};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// How deep a folder given on the command line is searched for models.
const SCAN_DEPTH: usize = 2;

/// Whether `name` is a GGUF model file (a single file or the first part of a split model).
fn is_gguf_model(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".gguf") && (!lower.contains("-of-") || lower.contains("-00001-of-"))
}

/// Models found under `dir`: the folder itself when it holds config.json, else its GGUF files and
/// model sub-folders, `depth` levels down. Sorted by path.
pub fn scan_folder(dir: &Path, depth: usize) -> Vec<PathBuf> {
    if dir.join("config.json").is_file() {
        return vec![dir.to_path_buf()];
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    let mut out = Vec::new();
    for p in entries {
        if p.is_dir() {
            if depth > 0 {
                out.extend(scan_folder(&p, depth - 1));
            }
        } else if p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_gguf_model)
        {
            out.push(p);
        }
    }
    out
}

fn path_label(p: &Path) -> String {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| p.display().to_string());
    if p.is_dir() { format!("{name}/") } else { name }
}

/// The model list: command-line files and folders first (in order, folders expanded), then every
/// bundled spec. Returns the list and the index of the first command-line model, if any.
pub fn model_entries(
    args: &[String],
    bundled: &[&str],
) -> Result<(Vec<ModelEntry>, Option<usize>)> {
    let mut out: Vec<ModelEntry> = Vec::new();
    let mut first: Option<String> = None;
    for arg in args {
        let p = Path::new(arg);
        if bundled.contains(&arg.as_str()) && !p.exists() {
            first.get_or_insert_with(|| arg.clone());
            continue;
        }
        let found = if p.is_dir() {
            let v = scan_folder(p, SCAN_DEPTH);
            if v.is_empty() {
                return Err(Error::bad_input(
                    p,
                    "folder holds no model (.gguf file or folder with config.json); pass a model file or another folder",
                ));
            }
            v
        } else if p.is_file() {
            vec![p.to_path_buf()]
        } else {
            return Err(Error::bad_input(
                p,
                "no such file or folder, and not a bundled spec id (see `headroom list models`)",
            ));
        };
        for f in found {
            if !out
                .iter()
                .any(|e| e.source == super::app::ModelSource::Path(f.clone()))
            {
                first.get_or_insert_with(|| f.display().to_string());
                let mut e = ModelEntry::path(f.clone());
                e.label = path_label(&f);
                out.push(e);
            }
        }
    }
    out.extend(bundled.iter().map(|id| ModelEntry::bundled(id)));
    let sel = first.and_then(|f| {
        out.iter().position(|e| match &e.source {
            super::app::ModelSource::Bundled(id) => *id == f,
            super::app::ModelSource::Path(p) => p.display().to_string() == f,
            super::app::ModelSource::Given => false,
        })
    });
    Ok((out, sel))
}

/// Every hardware profile (bundled, then the user's own), each at all of its memory sizes.
pub fn hardware_entries() -> Result<Vec<HwEntry>> {
    Ok(hardware_from(crate::hardware::profile::all_profiles()?))
}

/// These profiles as hardware list entries, each at all of its memory sizes.
pub fn hardware_from(profiles: Vec<crate::hardware::profile::Profile>) -> Vec<HwEntry> {
    use crate::hardware::profile;
    let mut out = Vec::new();
    for p in profiles {
        let machines: Vec<_> = p
            .memory_gib
            .iter()
            .map(|&gib| profile::to_machine(&p, gib))
            .collect();
        if machines.is_empty() {
            continue;
        }
        let mem_idx = p
            .memory_gib
            .iter()
            .position(|&g| g == p.default_memory_gib)
            .unwrap_or(0);
        out.push(HwEntry {
            id: p.id.clone(),
            name: p.name.clone(),
            vendor: p.vendor,
            machines,
            mem_idx,
            marked: false,
        });
    }
    out
}
