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
//! - Several devices working as one (a multi-device plan, [`resolve_setups`]): `ITEM+ITEM` joins devices,
//!   `ITEM:xN` (or `Nx` before the id, or ` xN` after it) repeats one: `h100-sxm:x2`,
//!   `m2-ultra-76c:192+m4-max-40c:128`. Commas still separate setups compared side by side.

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

/// Largest device count one `xN` may ask for.
pub const MAX_DEVICES: usize = 64;

/// Split a `--hardware` item into (item without its count, count): `h100-sxm:x2`, `2xh100-sxm`,
/// `h100-sxm x2`.
fn split_count(item: &str) -> Result<(String, usize)> {
    let bad = |n: &str| {
        Error::usage(format!(
            "--hardware {item}: `{n}` is not a device count; write x2 ... x{MAX_DEVICES} (e.g. h100-sxm:x2)"
        ))
    };
    let parse_n = |n: &str| -> Result<usize> {
        match n.parse::<usize>() {
            Ok(v) if (1..=MAX_DEVICES).contains(&v) => Ok(v),
            _ => Err(bad(n)),
        }
    };
    let is_count = |p: &str| {
        let p = p.trim();
        p.len() > 1
            && (p.starts_with('x') || p.starts_with('X'))
            && p[1..].chars().all(|c| c.is_ascii_digit())
    };
    let mut count = 1usize;
    let mut rest: Vec<String> = Vec::new();
    // " x2" (space) after the item
    let mut text = item.trim().to_string();
    if let Some((head, tail)) = text.rsplit_once(' ')
        && is_count(tail)
    {
        count = parse_n(&tail.trim()[1..])?;
        text = head.trim().to_string();
    }
    for (i, part) in text.split(':').enumerate() {
        if i > 0 && is_count(part) {
            if count != 1 {
                return Err(bad(part));
            }
            count = parse_n(&part.trim()[1..])?;
        } else {
            rest.push(part.to_string());
        }
    }
    // "2xh100-sxm"
    if let Some(first) = rest.first_mut() {
        let digits: String = first.chars().take_while(|c| c.is_ascii_digit()).collect();
        let after = &first[digits.len()..];
        if !digits.is_empty()
            && (after.starts_with('x') || after.starts_with('X'))
            && after[1..].starts_with(|c: char| c.is_ascii_alphabetic())
        {
            if count != 1 {
                return Err(bad(first));
            }
            count = parse_n(&digits)?;
            *first = after[1..].to_string();
        }
    }
    Ok((rest.join(":"), count))
}

/// Resolve `--hardware` into setups: each setup is one machine, or several devices one model is split
/// over (`+`, `xN`). With `join_commas` (the user asked for a split with --split, --tensor-split or
/// --link), a comma list without `+` is one setup of several devices.
pub fn resolve_setups(arg: &str, join_commas: bool) -> Result<(Vec<Vec<Machine>>, Vec<String>)> {
    resolve_setups_in(arg, join_commas, &all_profiles()?)
}

/// [`resolve_setups`] against the given profiles.
pub fn resolve_setups_in(
    arg: &str,
    join_commas: bool,
    profiles: &[Profile],
) -> Result<(Vec<Vec<Machine>>, Vec<String>)> {
    let groups: Vec<Vec<&str>> = if join_commas && !arg.contains('+') {
        vec![arg.split(',').collect()]
    } else {
        arg.split(',').map(|g| g.split('+').collect()).collect()
    };
    let mut setups = Vec::with_capacity(groups.len());
    let mut notes = Vec::new();
    for g in groups {
        let mut devices = Vec::new();
        for item in g {
            if item.trim().is_empty() {
                return Err(Error::usage(format!(
                    "--hardware {arg:?}: empty device in the list; write e.g. `h100-sxm:x2` or `m2-ultra-76c:192+m4-max-40c:128`"
                )));
            }
            let (base, n) = split_count(item)?;
            let (machines, mut more) = resolve_in_with_notes(&base, profiles)?;
            notes.append(&mut more);
            for m in machines {
                for _ in 0..n {
                    devices.push(m.clone());
                }
            }
        }
        if devices.len() > MAX_DEVICES {
            return Err(Error::usage(format!(
                "--hardware {arg}: {} devices in one setup; at most {MAX_DEVICES}",
                devices.len()
            )));
        }
        setups.push(devices);
    }
    Ok((setups, notes))
}

/// Whether `--hardware` names several devices for one model (`+` or a count `xN` above 1). A count that
/// does not parse counts as asking, so the multi-device path reports the error.
pub fn names_several_devices(arg: &str) -> bool {
    arg.contains('+')
        || arg
            .split(',')
            .any(|item| split_count(item).map(|(_, n)| n > 1).unwrap_or(true))
}

#[cfg(test)]
mod setup_tests {
    use super::*;

    #[test]
    fn counts_and_joins() {
        assert_eq!(split_count("h100-sxm:x2").unwrap(), ("h100-sxm".into(), 2));
        assert_eq!(split_count("2xh100-sxm").unwrap(), ("h100-sxm".into(), 2));
        assert_eq!(split_count("h100-sxm x4").unwrap(), ("h100-sxm".into(), 4));
        assert_eq!(
            split_count("m3-max-40c:64:x3").unwrap(),
            ("m3-max-40c:64".into(), 3)
        );
        assert_eq!(split_count("rtx-4090").unwrap(), ("rtx-4090".into(), 1));
        assert!(split_count("h100-sxm:x0").is_err());
        assert!(split_count("h100-sxm:x999").is_err());
        let p = crate::hardware::profile::bundled().unwrap();
        let (s, _) =
            resolve_setups_in("h100-sxm:x2,m2-ultra-76c:192+m4-max-40c:128", false, &p).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].len(), 2);
        assert_eq!(s[1][1].id, "m4-max-40c");
        let (s, _) = resolve_setups_in("m2-ultra-76c:192,m4-max-40c:128", true, &p).unwrap();
        assert_eq!((s.len(), s[0].len()), (1, 2));
    }
}
