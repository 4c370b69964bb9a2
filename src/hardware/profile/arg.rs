//! The `--hardware` argument: `ITEM[,ITEM...]`, each `ID_OR_PATH[:MEM][:KEY=VALUE...]`.
//!
//! - `auto` is this machine ([`crate::hardware::detect`]); items may mix, e.g. `auto,rtx-4090`.
//! - `ID` is a profile id (`headroom list hardware`); a value containing `/` or ending in `.yaml`/`.yml`
//!   is a path to a profile YAML.
//! - `MEM` is a memory size in GiB: `64`, `64G`, `64GB`, `64GiB` (any case). Apple sells "64 GB"
//!   meaning 64 GiB, so GB here means GiB too. It must be one of the sizes the profile lists.
//! - Options: `wired=MiB` (Apple: the `iogpu.wired_limit_mb` you set with sysctl; it replaces the
//!   macOS default limit), `macos=15|26` (Apple: which macOS default rule; 15 also covers 14 and
//!   older, see [`super::budget`]), `host=GiB` (discrete GPUs: host RAM for offloaded layers).

use super::budget::{GIB, MIB, MacosRule};
use super::{Profile, all_profiles, bundled, load_file, suggest, to_machine_with};
use crate::error::{Error, Result};
use crate::hardware::{Machine, MemoryKind, Vendor};
use std::path::Path;

/// Per-item options from `--hardware`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MachineOptions {
    pub macos: MacosRule,
    /// `wired=MiB`: the user's `iogpu.wired_limit_mb`.
    pub wired_limit_mb: Option<u64>,
    /// `host=GiB`: host RAM for a discrete GPU.
    pub host_memory_gib: Option<u32>,
}

const OPTION_KEYS: &[&str] = &["wired", "macos", "host"];

/// Resolve `--hardware` against the bundled and user profiles ([`all_profiles`]); paths are read.
pub fn resolve(arg: &str) -> Result<Vec<Machine>> {
    resolve_in(arg, &all_profiles()?)
}

/// [`resolve`], plus one line per `auto` item saying what was detected (for the user to see).
pub fn resolve_with_notes(arg: &str) -> Result<(Vec<Machine>, Vec<String>)> {
    resolve_in_with_notes(arg, &all_profiles()?)
}

/// Resolve `--hardware` against the given profiles (paths are still read from disk, and checked
/// against the bundled ids).
pub fn resolve_in(arg: &str, profiles: &[Profile]) -> Result<Vec<Machine>> {
    resolve_in_with_notes(arg, profiles).map(|(m, _)| m)
}

fn resolve_in_with_notes(arg: &str, profiles: &[Profile]) -> Result<(Vec<Machine>, Vec<String>)> {
    let items: Vec<&str> = arg.split(',').map(str::trim).collect();
    if items.iter().any(|s| s.is_empty()) {
        return Err(Error::usage(format!(
            "--hardware {arg:?}: empty machine in the list; write e.g. `m3-max-40c:64,rtx-4090`"
        )));
    }
    let mut machines = Vec::with_capacity(items.len());
    let mut notes = Vec::new();
    for item in items {
        if item.eq_ignore_ascii_case("auto") {
            let d = crate::hardware::detect::detect(profiles)?;
            notes.push(d.summary);
            machines.push(d.machine);
        } else if item.to_ascii_lowercase().starts_with("auto:") {
            return Err(Error::usage(format!(
                "--hardware {item}: `auto` takes no size or options; it reads them from this machine"
            )));
        } else {
            machines.push(resolve_item(item, profiles)?);
        }
    }
    Ok((machines, notes))
}

fn is_path(s: &str) -> bool {
    s.contains('/') || s.contains('\\') || s.ends_with(".yaml") || s.ends_with(".yml")
}

fn resolve_item(item: &str, profiles: &[Profile]) -> Result<Machine> {
    let mut parts = item.split(':');
    let head = parts.next().unwrap_or_default();
    let loaded;
    let profile: &Profile = if is_path(head) {
        loaded = load_file(Path::new(head), &bundled()?)?;
        &loaded
    } else {
        let id = head.to_ascii_lowercase();
        profiles.iter().find(|p| p.id == id).ok_or_else(|| {
            Error::usage(format!(
                "unknown hardware `{head}`{} (see `headroom list hardware`, or give a path to your own profile YAML)",
                suggest::did_you_mean(&id, profiles.iter().map(|p| p.id.as_str()))
            ))
        })?
    };
    let mut mem: Option<u32> = None;
    let mut opts = MachineOptions::default();
    for (i, part) in parts.enumerate() {
        match part.split_once('=') {
            None if i == 0 => mem = Some(parse_mem(part, item)?),
            None => {
                return Err(Error::usage(format!(
                    "--hardware {item}: `{part}` is not an option; after the size come KEY=VALUE options ({})",
                    OPTION_KEYS.join(", ")
                )));
            }
            Some((k, v)) => apply_option(&mut opts, k.trim(), v.trim(), item, profile)?,
        }
    }
    let mem = mem.unwrap_or(profile.default_memory_gib);
    if !profile.memory_gib.contains(&mem) {
        return Err(Error::usage(format!(
            "--hardware {item}: {} ({}) is sold with {} GiB, not {mem}",
            profile.id,
            profile.name,
            profile
                .memory_gib
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if let Some(mb) = opts.wired_limit_mb
        && mb.saturating_mul(MIB) > u64::from(mem) * GIB
    {
        return Err(Error::usage(format!(
            "--hardware {item}: wired={mb} MiB is above the machine's {mem} GiB ({} MiB) of RAM",
            u64::from(mem) * 1024
        )));
    }
    Ok(to_machine_with(profile, mem, &opts))
}

/// `64`, `64G`, `64GB`, `64GiB` (any case) -> 64.
pub fn parse_mem(s: &str, item: &str) -> Result<u32> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let digits = ["gib", "gb", "g"]
        .iter()
        .find_map(|u| lower.strip_suffix(u))
        .unwrap_or(&lower)
        .trim();
    match digits.parse::<u32>() {
        Ok(0) => Err(Error::usage(format!(
            "--hardware {item}: memory size 0 makes no machine"
        ))),
        Ok(n) => Ok(n),
        Err(_) => Err(Error::usage(format!(
            "--hardware {item}: `{t}` is not a memory size; write whole GiB as 64, 64G, 64GB or 64GiB (Apple's \"64 GB\" is 64 GiB)"
        ))),
    }
}

fn apply_option(
    opts: &mut MachineOptions,
    key: &str,
    value: &str,
    item: &str,
    p: &Profile,
) -> Result<()> {
    let apple_only = |k: &str| -> Result<()> {
        if p.vendor == Vendor::Apple && p.memory_kind == MemoryKind::Unified {
            Ok(())
        } else {
            Err(Error::usage(format!(
                "--hardware {item}: `{k}=` applies to Apple Silicon profiles only"
            )))
        }
    };
    match key.to_ascii_lowercase().as_str() {
        "wired" | "wired_limit_mb" => {
            apple_only("wired")?;
            let mb: u64 = value.parse().ok().filter(|&v| v > 0).ok_or_else(|| {
                Error::usage(format!(
                    "--hardware {item}: wired={value:?} is not a size in MiB; give the value of `sysctl iogpu.wired_limit_mb`, e.g. wired=57344"
                ))
            })?;
            opts.wired_limit_mb = Some(mb);
        }
        "macos" => {
            apple_only("macos")?;
            let major: u32 = value.split('.').next().and_then(|v| v.parse().ok()).ok_or_else(|| {
                Error::usage(format!("--hardware {item}: macos={value:?} is not a macOS version; use macos=15 or macos=26"))
            })?;
            opts.macos = match major {
                11..=15 => MacosRule::Classic,
                26.. => MacosRule::Tahoe,
                _ => {
                    return Err(Error::usage(format!(
                        "--hardware {item}: macos={value} is not a macOS version with Apple Silicon GPU support (11-15 or 26+)"
                    )));
                }
            };
        }
        "host" => {
            if p.memory_kind != MemoryKind::Discrete {
                return Err(Error::usage(format!(
                    "--hardware {item}: `host=` is for discrete GPUs; unified memory has no separate host RAM"
                )));
            }
            opts.host_memory_gib = Some(parse_mem(value, item)?);
        }
        other => {
            return Err(Error::usage(format!(
                "--hardware {item}: unknown option `{other}`{}; options are {}",
                suggest::did_you_mean(other, OPTION_KEYS.iter().copied()),
                OPTION_KEYS.join(", ")
            )));
        }
    }
    Ok(())
}
