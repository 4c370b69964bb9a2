//! `headroom calibrate`: measure this machine — the device's copy bandwidth and the measured decode
//! kernels on a Llama-3.2-1B-shaped model at F16, Q8_0 and Q4_0 — and write a calibration profile
//! (`base:` the bundled profile, `measured_efficiency`) into the user profile directory, atomically
//! (temporary file + rename), never over a bundled profile. Later plans with `--hardware <id>`, and
//! `--hardware auto` on this machine, use the measured efficiency in place of the fitted one.

use super::{BackendArg, CalibrateArgs, ExitCode, emit, fmt};
use crate::error::{Error, Result};
use crate::hardware::profile::{all_profiles, resolve_with_notes, user_profile_dir};
use crate::measure::{Backend, MeasureOptions, measure};
use crate::model::quantize::{parse_target, requantize};
use crate::model::{TensorType, spec};
use std::io::Write;

/// Quant types measured (on `--model`, by default Llama-3.2-1B: small enough for any machine).
const TYPES: [&str; 3] = ["F16", "Q8_0", "Q4_0"];

pub fn run(a: &CalibrateArgs, quiet: bool) -> Result<ExitCode> {
    let (machines, notes) = resolve_with_notes(&a.hardware)?;
    for n in &notes {
        if !quiet {
            eprintln!("headroom: {n}");
        }
    }
    let [machine] = machines.as_slice() else {
        return Err(Error::usage(
            "calibrate measures one machine; give one --hardware item",
        ));
    };
    let base_id = machine.id.clone();
    let profiles = all_profiles()?;
    let base = profiles
        .iter()
        .find(|p| p.id == base_id && p.origin == "bundled")
        .ok_or_else(|| {
            Error::usage(format!(
                "--hardware {base_id}: calibrate needs a bundled profile as its base"
            ))
        })?;
    let id =
        a.id.clone()
            .unwrap_or_else(|| format!("{base_id}-calibrated"));
    if profiles.iter().any(|p| p.id == id && p.origin == "bundled") {
        return Err(Error::usage(format!(
            "--id {id} is a bundled profile; pick another id"
        )));
    }
    let dir = user_profile_dir()
        .ok_or_else(|| Error::failure("no user profile directory (set HEADROOM_CONFIG_DIR)"))?;

    let base_model = spec::load(&a.model)?;
    let mut rows = Vec::new();
    let mut effs = Vec::new();
    let mut copy = 0.0f64;
    let mut adapter = String::new();
    for q in TYPES {
        let model = requantize(&base_model, &parse_target(q)?)?;
        let opts = MeasureOptions {
            backend: match a.backend {
                BackendArg::Auto => Backend::Auto,
                BackendArg::Gpu => Backend::Gpu,
                BackendArg::Cpu => Backend::Cpu,
            },
            tokens: a.tokens,
            context: 512,
            cache_type_k: TensorType::F16,
            cache_type_v: TensorType::F16,
            budget_bytes: machine.gpu_budget_bytes,
        };
        if !quiet {
            eprintln!("headroom: measuring {} at {q} ...", a.model);
        }
        let m = measure(&model, &opts, &mut |_| {})?;
        let eff = m.effective_bandwidth_bytes_per_s / machine.bandwidth_bytes_per_s;
        copy = copy.max(m.copy_bandwidth_bytes_per_s);
        adapter = format!("{} on {}", m.backend, m.adapter);
        rows.push(format!(
            "{q}: {} tok/s, {} effective ({:.2} of {})",
            fmt::tps(m.decode_tokens_per_s),
            fmt::gbs(m.effective_bandwidth_bytes_per_s),
            eff,
            fmt::gbs(machine.bandwidth_bytes_per_s)
        ));
        effs.push(eff);
    }
    effs.sort_by(f64::total_cmp);
    let eff = effs[effs.len() / 2].clamp(0.01, 1.0);
    let today = today();
    let text = format!(
        "# Written by `headroom calibrate` on {today}: measured decode on this machine ({adapter}).\n\
         # Per type: {}\n\
         # Copy bandwidth (read + write): {}\n\
         id: {id}\n\
         base: {}\n\
         measured_efficiency: {eff:.4}\n\
         sources:\n  - what: measured_efficiency\n    marker: V\n    key: \"headroom calibrate {today}\"\n    \
         note: \"median over {} of measured bytes/token x tok/s / datasheet bandwidth\"\n",
        rows.join("; "),
        fmt::gbs(copy),
        base.id,
        TYPES.join("/"),
    );
    // validate before writing: what we write must load
    crate::hardware::profile::parse_profile(&text, &id)?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::failure(format!("{}: {e}", dir.display())))?;
    let path = dir.join(format!("{id}.yaml"));
    let tmp = dir.join(format!(".{id}.yaml.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::failure(format!(
            "{}: could not write the profile: {e}",
            path.display()
        ))
    })?;
    emit(&format!(
        "calibrated {} ({}): measured efficiency {eff:.2} of {}\n  {}\nwrote {}\nuse it: headroom plan MODEL --hardware {id}",
        base.name,
        adapter,
        fmt::gbs(machine.bandwidth_bytes_per_s),
        rows.join("\n  "),
        path.display()
    ))?;
    Ok(0)
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    // civil-from-days (H. Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn today_is_a_date() {
        let t = super::today();
        assert_eq!(t.len(), 10);
        assert!(t.starts_with("20"));
    }
}
