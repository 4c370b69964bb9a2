//! Hardware profile YAML: schema, loading, validation, and resolving `--hardware ID[:MEM]` to [`super::Machine`]s.
//!
//! The schema is documented in `hardware-profiles/README.md`. Profiles come from three places:
//! the bundled `hardware-profiles/*.yaml` (compiled in), the user profile directory
//! ([`user_profile_dir`]), and a YAML path given to `--hardware`. Non-bundled profiles never take a
//! bundled id: a new machine gets its own id, and a calibration of a bundled machine names it with
//! `base:` under an id of its own (see [`Profile::base`]).
//!
//! Submodules: [`budget`] (the GPU budget rules and their evidence), [`arg`] (the `--hardware`
//! argument grammar), [`suggest`] ("did you mean").

pub mod arg;
pub mod budget;
pub use crate::suggest;

use super::{Device, Machine, MemoryKind, Vendor};
use crate::error::{Error, Result};
use budget::{GIB, MIB, MacosRule};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use arg::{
    MachineOptions, names_several_devices, resolve, resolve_in, resolve_setups, resolve_with_notes,
};

/// One hardware profile: a chip or GPU with the memory sizes it is sold with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// Short id used on the command line (`m3-max-40c`); lowercase letters, digits, `-`, `_`, `.`.
    pub id: String,
    pub name: String,
    pub vendor: Vendor,
    pub memory_kind: MemoryKind,
    /// `gpu` (default) or `cpu`: a machine that decodes on its CPU alone.
    pub device: Device,
    /// Memory sizes the chip/card is sold with, GiB, ascending. Apple's "64 GB" is 64 GiB.
    pub memory_gib: Vec<u32>,
    /// Size used when `--hardware` names no size.
    pub default_memory_gib: u32,
    /// GPU memory bandwidth, datasheet, GB/s (1e9 B/s).
    pub bandwidth_gbs: f64,
    /// Bandwidth the CPU gets for layers kept on the CPU, GB/s.
    pub cpu_bandwidth_gbs: f64,
    pub gpu_cores: u32,
    /// Dense (no 2:4 sparsity) FP16 throughput, TFLOPS.
    pub fp16_tflops: f64,
    /// Discrete GPUs: host RAM for offloaded layers, GiB, when the profile knows it.
    pub host_memory_gib: Option<u32>,
    pub budget: Budget,
    /// Where every number comes from.
    pub sources: Vec<Source>,
    /// Calibrated user profiles: the bundled profile this one measures.
    pub base: Option<String>,
    /// Measured decode efficiency (fraction of `bandwidth_gbs`), from `headroom calibrate`.
    pub measured_efficiency: Option<f64>,
    /// `bundled` or the file it was read from.
    pub origin: String,
}

/// How the GPU budget is worked out from the memory size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Budget {
    /// Apple Silicon: macOS's default GPU wired-memory limit (see [`budget`]).
    MacosDefault,
    /// Memory less a fixed reserve in MiB (discrete GPUs: driver and CUDA context; Linux unified
    /// memory: the OS too).
    Reserve { reserve_mib: u64 },
    /// A fixed budget in GiB, for machines whose limit is known outright.
    Fixed { gib: f64 },
}

/// The evidence for one or more numbers of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The field(s) this source backs, e.g. `bandwidth_gbs` or `memory_gib, default_memory_gib`.
    pub what: String,
    /// How sure: V (primary source), S (single secondary source), D (derived), UNVERIFIED.
    pub marker: Marker,
    /// A source key from `shared/reference/hardware_facts.md` (`4167`, `ars-m4`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// How a derived number was derived, or what a measurement measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Marker {
    V,
    S,
    D,
    #[serde(rename = "UNVERIFIED")]
    Unverified,
}

/// The numeric fields a source can back (and every bundled profile must source).
pub const SOURCED_FIELDS: &[&str] = &[
    "memory_gib",
    "default_memory_gib",
    "bandwidth_gbs",
    "cpu_bandwidth_gbs",
    "gpu_cores",
    "fp16_tflops",
    "host_memory_gib",
    "budget",
    "measured_efficiency",
];

/// Fields a calibrated profile (`base:`) may set; everything else comes from its base.
const OVERLAY_FIELDS: &[&str] = &[
    "id",
    "name",
    "base",
    "measured_efficiency",
    "default_memory_gib",
    "sources",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    id: Option<String>,
    name: Option<String>,
    vendor: Option<Vendor>,
    memory_kind: Option<MemoryKind>,
    device: Option<Device>,
    memory_gib: Option<Vec<u32>>,
    default_memory_gib: Option<u32>,
    bandwidth_gbs: Option<f64>,
    cpu_bandwidth_gbs: Option<f64>,
    gpu_cores: Option<u32>,
    fp16_tflops: Option<f64>,
    host_memory_gib: Option<u32>,
    budget: Option<RawBudget>,
    sources: Option<Vec<Source>>,
    base: Option<String>,
    measured_efficiency: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    rule: BudgetRule,
    reserve_mib: Option<u64>,
    gib: Option<f64>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BudgetRule {
    MacosDefault,
    Reserve,
    Fixed,
}

impl RawProfile {
    /// Names of the fields present, for the overlay check.
    fn present(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut add = |b: bool, n: &'static str| {
            if b {
                v.push(n)
            }
        };
        add(self.id.is_some(), "id");
        add(self.name.is_some(), "name");
        add(self.vendor.is_some(), "vendor");
        add(self.memory_kind.is_some(), "memory_kind");
        add(self.device.is_some(), "device");
        add(self.memory_gib.is_some(), "memory_gib");
        add(self.default_memory_gib.is_some(), "default_memory_gib");
        add(self.bandwidth_gbs.is_some(), "bandwidth_gbs");
        add(self.cpu_bandwidth_gbs.is_some(), "cpu_bandwidth_gbs");
        add(self.gpu_cores.is_some(), "gpu_cores");
        add(self.fp16_tflops.is_some(), "fp16_tflops");
        add(self.host_memory_gib.is_some(), "host_memory_gib");
        add(self.budget.is_some(), "budget");
        add(self.sources.is_some(), "sources");
        add(self.base.is_some(), "base");
        add(self.measured_efficiency.is_some(), "measured_efficiency");
        v
    }
}

/// Read the YAML into the raw (all-optional) form. Unknown fields and enum values are errors naming
/// the field and the nearest valid one.
fn parse_raw(text: &str, label: &str) -> Result<RawProfile> {
    let options = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options::<RawProfile>(text, options)
        .map_err(|e| yaml_error(&e, label))
}

fn yaml_error(e: &serde_saphyr::Error, label: &str) -> Error {
    let mut inner = e;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = inner
    {
        inner = error;
    }
    let at = match inner.location() {
        Some(l) if l.line() > 0 => format!("line {}: ", l.line()),
        _ => String::new(),
    };
    let msg = match inner {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => format!(
            "{at}unknown field `{field}`{}; valid fields: {}",
            suggest::did_you_mean(field, expected.iter().copied()),
            expected.join(", ")
        ),
        serde_saphyr::Error::SerdeUnknownVariant {
            variant, expected, ..
        } => format!(
            "{at}unknown value `{variant}`{}; valid values: {}",
            suggest::did_you_mean(variant, expected.iter().copied()),
            expected.join(", ")
        ),
        other => {
            let s = other.to_string();
            if at.is_empty() { s } else { format!("{at}{s}") }
        }
    };
    Error::bad_input(label, msg)
}

fn missing(label: &str, field: &str, what: &str) -> Error {
    Error::bad_input(label, format!("missing field `{field}` ({what})"))
}

fn positive(label: &str, field: &str, v: f64, unit: &str) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(Error::bad_input(
            label,
            format!("`{field}` is {v}; it must be a positive number of {unit}"),
        ))
    }
}

fn check_id(label: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::bad_input(
            label,
            format!(
                "`id` is {id:?}; use lowercase letters, digits, `-`, `_` and `.` only (`:` and `,` separate sizes and machines on the command line)"
            ),
        ))
    }
}

fn check_efficiency(label: &str, e: Option<f64>) -> Result<()> {
    match e {
        Some(e) if !(e.is_finite() && e > 0.0 && e <= 1.0) => Err(Error::bad_input(
            label,
            format!(
                "`measured_efficiency` is {e}; it is a fraction of the datasheet bandwidth, above 0 and at most 1"
            ),
        )),
        _ => Ok(()),
    }
}

fn check_sources(label: &str, sources: &[Source]) -> Result<()> {
    for (i, s) in sources.iter().enumerate() {
        for w in s.what.split(',').map(str::trim) {
            if !SOURCED_FIELDS.contains(&w) {
                return Err(Error::bad_input(
                    label,
                    format!(
                        "`sources[{i}].what` names `{w}`, not a numeric field{}; valid: {}",
                        suggest::did_you_mean(w, SOURCED_FIELDS.iter().copied()),
                        SOURCED_FIELDS.join(", ")
                    ),
                ));
            }
        }
        let read = matches!(s.marker, Marker::V | Marker::S);
        if read && s.key.is_none() && s.url.is_none() {
            return Err(Error::bad_input(
                label,
                format!(
                    "`sources[{i}]` ({}) has neither `key` nor `url`; say where the number was read",
                    s.what
                ),
            ));
        }
        if !read && s.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
            return Err(Error::bad_input(
                label,
                format!(
                    "`sources[{i}]` ({}) is marked {:?} and needs a `note` saying how the number was derived or why it is unverified",
                    s.what, s.marker
                ),
            ));
        }
    }
    Ok(())
}

fn validate_full(raw: RawProfile, label: &str) -> Result<Profile> {
    let id = raw
        .id
        .ok_or_else(|| missing(label, "id", "the short name used with --hardware"))?;
    check_id(label, &id)?;
    let name = raw
        .name
        .ok_or_else(|| missing(label, "name", "the full marketing name"))?;
    if name.trim().is_empty() {
        return Err(Error::bad_input(
            label,
            "`name` is empty; give the full marketing name",
        ));
    }
    let vendor = raw
        .vendor
        .ok_or_else(|| missing(label, "vendor", "apple, nvidia, amd, intel or other"))?;
    let memory_kind = raw
        .memory_kind
        .ok_or_else(|| missing(label, "memory_kind", "unified or discrete"))?;
    let memory_gib = raw
        .memory_gib
        .ok_or_else(|| missing(label, "memory_gib", "the memory sizes sold, GiB"))?;
    if memory_gib.is_empty() {
        return Err(Error::bad_input(
            label,
            "`memory_gib` is empty; list the memory sizes sold, in GiB",
        ));
    }
    if memory_gib.contains(&0) {
        return Err(Error::bad_input(
            label,
            "`memory_gib` lists 0; every memory size must be above zero",
        ));
    }
    if memory_gib.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::bad_input(
            label,
            "`memory_gib` must be in ascending order without repeats",
        ));
    }
    let default_memory_gib = raw
        .default_memory_gib
        .ok_or_else(|| missing(label, "default_memory_gib", "one of memory_gib"))?;
    if !memory_gib.contains(&default_memory_gib) {
        return Err(Error::bad_input(
            label,
            format!(
                "`default_memory_gib` is {default_memory_gib}, not among `memory_gib` ({})",
                join(&memory_gib)
            ),
        ));
    }
    let bandwidth_gbs = positive(
        label,
        "bandwidth_gbs",
        raw.bandwidth_gbs
            .ok_or_else(|| missing(label, "bandwidth_gbs", "GPU memory bandwidth, GB/s"))?,
        "GB/s",
    )?;
    let cpu_bandwidth_gbs = positive(
        label,
        "cpu_bandwidth_gbs",
        raw.cpu_bandwidth_gbs
            .ok_or_else(|| missing(label, "cpu_bandwidth_gbs", "CPU-side bandwidth, GB/s"))?,
        "GB/s",
    )?;
    let gpu_cores = raw
        .gpu_cores
        .ok_or_else(|| missing(label, "gpu_cores", "GPU cores or SMs"))?;
    if gpu_cores == 0 {
        return Err(Error::bad_input(
            label,
            "`gpu_cores` is 0; it must be at least 1",
        ));
    }
    let fp16_tflops = positive(
        label,
        "fp16_tflops",
        raw.fp16_tflops
            .ok_or_else(|| missing(label, "fp16_tflops", "dense FP16 TFLOPS"))?,
        "TFLOPS",
    )?;
    if let Some(h) = raw.host_memory_gib {
        if memory_kind == MemoryKind::Unified {
            return Err(Error::bad_input(
                label,
                "`host_memory_gib` is for discrete GPUs; unified memory has no separate host RAM",
            ));
        }
        if h == 0 {
            return Err(Error::bad_input(
                label,
                "`host_memory_gib` is 0; leave it out when unknown",
            ));
        }
    }
    let device = raw.device.unwrap_or_default();
    if device == Device::Cpu && memory_kind != MemoryKind::Unified {
        return Err(Error::bad_input(
            label,
            "`device: cpu` needs `memory_kind: unified` (the CPU decodes from the one RAM pool)",
        ));
    }
    let rb = raw
        .budget
        .ok_or_else(|| missing(label, "budget", "rule: macos_default, reserve or fixed"))?;
    let budget = validate_budget(label, rb, vendor, memory_kind, &memory_gib)?;
    check_efficiency(label, raw.measured_efficiency)?;
    let sources = raw.sources.unwrap_or_default();
    check_sources(label, &sources)?;
    Ok(Profile {
        id,
        name,
        vendor,
        memory_kind,
        device,
        memory_gib,
        default_memory_gib,
        bandwidth_gbs,
        cpu_bandwidth_gbs,
        gpu_cores,
        fp16_tflops,
        host_memory_gib: raw.host_memory_gib,
        budget,
        sources,
        base: None,
        measured_efficiency: raw.measured_efficiency,
        origin: label.to_string(),
    })
}

fn validate_budget(
    label: &str,
    rb: RawBudget,
    vendor: Vendor,
    kind: MemoryKind,
    memory_gib: &[u32],
) -> Result<Budget> {
    let smallest = memory_gib.iter().copied().min().unwrap_or(0);
    let extra = |field: &str, rule: &str| {
        Error::bad_input(
            label,
            format!("`budget.{field}` does not apply to `rule: {rule}`; remove it"),
        )
    };
    match rb.rule {
        BudgetRule::MacosDefault => {
            if vendor != Vendor::Apple || kind != MemoryKind::Unified {
                return Err(Error::bad_input(
                    label,
                    "`budget.rule: macos_default` needs `vendor: apple` and `memory_kind: unified`; use `rule: reserve`",
                ));
            }
            if rb.reserve_mib.is_some() {
                return Err(extra("reserve_mib", "macos_default"));
            }
            if rb.gib.is_some() {
                return Err(extra("gib", "macos_default"));
            }
            Ok(Budget::MacosDefault)
        }
        BudgetRule::Reserve => {
            if rb.gib.is_some() {
                return Err(extra("gib", "reserve"));
            }
            let r = rb.reserve_mib.ok_or_else(|| {
                missing(label, "budget.reserve_mib", "MiB kept back by driver/OS")
            })?;
            if r.saturating_mul(MIB) >= u64::from(smallest) * GIB {
                return Err(Error::bad_input(
                    label,
                    format!(
                        "`budget.reserve_mib` is {r} MiB, not below the smallest memory size ({smallest} GiB): nothing would be left"
                    ),
                ));
            }
            Ok(Budget::Reserve { reserve_mib: r })
        }
        BudgetRule::Fixed => {
            if rb.reserve_mib.is_some() {
                return Err(extra("reserve_mib", "fixed"));
            }
            let g = rb
                .gib
                .ok_or_else(|| missing(label, "budget.gib", "the GPU budget in GiB"))?;
            positive(label, "budget.gib", g, "GiB")?;
            if g > f64::from(smallest) {
                return Err(Error::bad_input(
                    label,
                    format!(
                        "`budget.gib` is {g} GiB, above the memory ({smallest} GiB); the GPU cannot use more than there is"
                    ),
                ));
            }
            Ok(Budget::Fixed { gib: g })
        }
    }
}

/// A calibrated profile: `base` names a bundled profile; only [`OVERLAY_FIELDS`] may be set.
fn apply_overlay(
    raw: RawProfile,
    base_id: &str,
    bundled: &[Profile],
    label: &str,
) -> Result<Profile> {
    if let Some(f) = raw
        .present()
        .into_iter()
        .find(|f| !OVERLAY_FIELDS.contains(f))
    {
        return Err(Error::bad_input(
            label,
            format!(
                "`{f}` cannot be set in a calibrated profile (one with `base:`): it comes from `{base_id}`; drop `base` to write a full profile instead"
            ),
        ));
    }
    let base = bundled.iter().find(|p| p.id == base_id).ok_or_else(|| {
        Error::bad_input(
            label,
            format!(
                "`base` is `{base_id}`, not a bundled profile{} (see `headroom list hardware`)",
                suggest::did_you_mean(base_id, bundled.iter().map(|p| p.id.as_str()))
            ),
        )
    })?;
    let id = raw
        .id
        .ok_or_else(|| missing(label, "id", "an id of its own, e.g. `my-m3-max`"))?;
    check_id(label, &id)?;
    let eff = raw.measured_efficiency.ok_or_else(|| {
        missing(
            label,
            "measured_efficiency",
            "what `headroom calibrate` measured; without it, use the bundled id",
        )
    })?;
    check_efficiency(label, Some(eff))?;
    let default_memory_gib = raw.default_memory_gib.unwrap_or(base.default_memory_gib);
    if !base.memory_gib.contains(&default_memory_gib) {
        return Err(Error::bad_input(
            label,
            format!(
                "`default_memory_gib` is {default_memory_gib}; `{base_id}` is sold with {} GiB",
                join(&base.memory_gib)
            ),
        ));
    }
    let mut sources = base.sources.clone();
    let own = raw.sources.unwrap_or_default();
    check_sources(label, &own)?;
    sources.extend(own);
    Ok(Profile {
        id,
        name: raw
            .name
            .unwrap_or_else(|| format!("{} (calibrated)", base.name)),
        default_memory_gib,
        sources,
        base: Some(base.id.clone()),
        measured_efficiency: Some(eff),
        origin: label.to_string(),
        ..base.clone()
    })
}

fn join(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// Parse and validate one profile YAML. `label` names the file in errors. A calibrated profile
/// (`base:`) is resolved against the bundled profiles.
pub fn parse_profile(text: &str, label: &str) -> Result<Profile> {
    let raw = parse_raw(text, label)?;
    match raw.base.clone() {
        Some(b) => apply_overlay(raw, &b, &bundled()?, label),
        None => validate_full(raw, label),
    }
}

/// Every bundled profile, sorted as the files are (by id). A bundled file's stem must equal its id.
pub fn bundled() -> Result<Vec<Profile>> {
    let mut out: Vec<Profile> = Vec::with_capacity(crate::bundled::HARDWARE_PROFILES.len());
    for (stem, text) in crate::bundled::HARDWARE_PROFILES {
        let label = format!("hardware-profiles/{stem}.yaml");
        let raw = parse_raw(text, &label)?;
        if raw.base.is_some() {
            return Err(Error::bad_input(
                &label,
                "`base` is for user calibration profiles, not bundled ones",
            ));
        }
        let mut p = validate_full(raw, &label)?;
        if p.id != *stem {
            return Err(Error::bad_input(
                &label,
                format!(
                    "`id` is `{}` but the file is `{stem}.yaml`; make them match",
                    p.id
                ),
            ));
        }
        p.origin = "bundled".to_string();
        out.push(p);
    }
    Ok(out)
}

/// Where users keep their own profiles (and `headroom calibrate` writes): `$HEADROOM_CONFIG_DIR/hardware`,
/// else `$XDG_CONFIG_HOME/headroom/hardware`, else on macOS `~/Library/Application Support/headroom/hardware`,
/// else `~/.config/headroom/hardware`. `None` when no home directory is known.
pub fn user_profile_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env("HEADROOM_CONFIG_DIR") {
        return Some(d.join("hardware"));
    }
    if let Some(d) = env("XDG_CONFIG_HOME") {
        return Some(d.join("headroom").join("hardware"));
    }
    let home = env("HOME")?;
    if cfg!(target_os = "macos") {
        Some(
            home.join("Library")
                .join("Application Support")
                .join("headroom")
                .join("hardware"),
        )
    } else {
        Some(home.join(".config").join("headroom").join("hardware"))
    }
}

/// Load the `*.yaml`/`*.yml` files of `dir` (sorted by name) as user profiles. A missing directory is
/// no profiles. Ids must not repeat a bundled id or each other.
pub fn load_user_dir(dir: &Path, bundled: &[Profile]) -> Result<Vec<Profile>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::failure(format!(
                "{}: cannot read: {e}",
                dir.display()
            )));
        }
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut out: Vec<Profile> = Vec::new();
    for f in files {
        let p = load_file(&f, bundled)?;
        if let Some(prev) = out.iter().find(|q| q.id == p.id) {
            return Err(Error::bad_input(
                &f,
                format!(
                    "`id` `{}` is already used by {}; pick another id",
                    p.id, prev.origin
                ),
            ));
        }
        out.push(p);
    }
    Ok(out)
}

/// Load one profile file given by path (user directory or `--hardware ./my.yaml`).
pub fn load_file(path: &Path, bundled: &[Profile]) -> Result<Profile> {
    let label = path.display().to_string();
    let text = crate::input::read_text_capped(path, crate::input::MAX_TEXT_FILE_BYTES)?;
    let raw = parse_raw(&text, &label)?;
    let p = match raw.base.clone() {
        Some(b) => apply_overlay(raw, &b, bundled, &label)?,
        None => validate_full(raw, &label)?,
    };
    if bundled.iter().any(|q| q.id == p.id) {
        let hint = if p.base.is_some() {
            "a calibrated profile needs an id of its own (e.g. `my-".to_string() + &p.id + "`)"
        } else {
            format!(
                "pick another id, or to record a calibration write `base: {}` with an id of its own",
                p.id
            )
        };
        return Err(Error::bad_input(
            path,
            format!("`id` `{}` is a bundled profile; {hint}", p.id),
        ));
    }
    Ok(p)
}

/// Bundled profiles followed by the user's ([`user_profile_dir`]).
pub fn all_profiles() -> Result<Vec<Profile>> {
    let mut all = bundled()?;
    if let Some(dir) = user_profile_dir() {
        let user = load_user_dir(&dir, &all)?;
        all.extend(user);
    }
    Ok(all)
}

/// `profile` at `mem_gib` GiB with default options (macOS 14/15 wired-limit rule, no overrides).
/// Any size is accepted here; [`resolve`] checks sizes against `memory_gib`.
pub fn to_machine(profile: &Profile, mem_gib: u32) -> Machine {
    to_machine_with(profile, mem_gib, &MachineOptions::default())
}

/// `profile` at `mem_gib` GiB with the options of a `--hardware` item.
pub fn to_machine_with(profile: &Profile, mem_gib: u32, opts: &MachineOptions) -> Machine {
    let memory_bytes = u64::from(mem_gib) * GIB;
    let (gpu_budget_bytes, max_raised_budget_bytes, budget_note) = match profile.budget {
        Budget::MacosDefault => {
            let rule = opts.macos;
            let default = budget::macos_default_limit(memory_bytes, rule);
            let raised = budget::macos_max_raised(memory_bytes, default);
            let (num, den) = rule.fraction(memory_bytes);
            match opts.wired_limit_mb {
                Some(mb) => {
                    let b = mb * MIB;
                    let note = format!(
                        "GPU limit set by iogpu.wired_limit_mb={mb} ({:.2} GiB); the macOS default would be {:.2} GiB",
                        budget::gib(b),
                        budget::gib(default)
                    );
                    (b, Some(raised.max(b)), note)
                }
                None => {
                    let note = format!(
                        "macOS default GPU wired limit, {num}/{den} of {mem_gib} GiB ({}) = {:.2} GiB; raise it up to {:.2} GiB with `sudo sysctl iogpu.wired_limit_mb={}` and tell headroom with `:wired={}`{}",
                        rule.label(),
                        budget::gib(default),
                        budget::gib(raised),
                        raised / MIB,
                        raised / MIB,
                        if rule == MacosRule::Classic {
                            "; on macOS 26 add `:macos=26`"
                        } else {
                            ""
                        },
                    );
                    (default, Some(raised), note)
                }
            }
        }
        Budget::Reserve { reserve_mib } => (
            budget::less_reserve(memory_bytes, reserve_mib),
            None,
            budget::reserve_note(profile.memory_kind, memory_bytes, reserve_mib),
        ),
        Budget::Fixed { gib } => {
            let b = ((gib * GIB as f64) as u64).min(memory_bytes);
            (
                b,
                None,
                format!("fixed GPU budget of {gib} GiB from the profile"),
            )
        }
    };
    let host_memory_bytes = match profile.memory_kind {
        MemoryKind::Unified => None,
        MemoryKind::Discrete => opts
            .host_memory_gib
            .or(profile.host_memory_gib)
            .map(|g| u64::from(g) * GIB),
    };
    Machine {
        id: profile.id.clone(),
        name: profile.name.clone(),
        vendor: profile.vendor,
        memory_kind: profile.memory_kind,
        device: profile.device,
        memory_bytes,
        gpu_budget_bytes,
        max_raised_budget_bytes,
        host_memory_bytes,
        bandwidth_bytes_per_s: profile.bandwidth_gbs * 1e9,
        cpu_bandwidth_bytes_per_s: profile.cpu_bandwidth_gbs * 1e9,
        gpu_cores: profile.gpu_cores,
        fp16_flops: profile.fp16_tflops * 1e12,
        measured_efficiency: profile.measured_efficiency,
        calibrated: profile.measured_efficiency.is_some(),
        budget_note,
    }
}

impl Profile {
    /// Numeric fields that are set but named by no source (bundled profiles must have none).
    pub fn unsourced_fields(&self) -> Vec<&'static str> {
        let named: Vec<&str> = self
            .sources
            .iter()
            .flat_map(|s| s.what.split(',').map(str::trim))
            .collect();
        let mut present = vec![
            "memory_gib",
            "default_memory_gib",
            "bandwidth_gbs",
            "cpu_bandwidth_gbs",
            "gpu_cores",
            "fp16_tflops",
            "budget",
        ];
        if self.host_memory_gib.is_some() {
            present.push("host_memory_gib");
        }
        if self.measured_efficiency.is_some() {
            present.push("measured_efficiency");
        }
        present.into_iter().filter(|f| !named.contains(f)).collect()
    }
}
