//! `headroom list hardware|models`: the bundled hardware profiles (and the user's own, marked) and the
//! bundled model specs, as a table or JSON.

use super::{ExitCode, Format, ListArgs, ListWhat, emit, fmt};
use crate::error::{Error, Result};
use crate::hardware::Vendor;
use crate::hardware::profile::{Profile, all_profiles};
use crate::model::spec;
use comfy_table::{Cell, CellAlignment, Table, presets};
use serde_json::json;

pub fn run(a: &ListArgs) -> Result<ExitCode> {
    let out = match a.what {
        ListWhat::Hardware => hardware(a.format)?,
        ListWhat::Models => models(a.format)?,
    };
    emit(&out)?;
    Ok(0)
}

fn to_json_string(v: &serde_json::Value) -> Result<String> {
    serde_json::to_string_pretty(v)
        .map_err(|e| Error::failure(format!("could not write JSON: {e}")))
}

fn right(s: impl ToString) -> Cell {
    Cell::new(s.to_string()).set_alignment(CellAlignment::Right)
}

fn hardware(format: Format) -> Result<String> {
    let profiles = all_profiles()?;
    if format == Format::Json {
        return to_json_string(&json!(profiles));
    }
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header(vec![
        Cell::new("id"),
        Cell::new("name"),
        Cell::new("memory GiB (default)"),
        right("GB/s"),
        right("FP16 TFLOPS"),
        right("GPU cores"),
        Cell::new(""),
    ]);
    let group = |p: &Profile| match p.vendor {
        Vendor::Apple => 0,
        Vendor::Nvidia => 1,
        _ => 2,
    };
    let mut sorted: Vec<&Profile> = profiles.iter().collect();
    sorted.sort_by_key(|p| group(p));
    for p in sorted {
        let mems: Vec<String> = p
            .memory_gib
            .iter()
            .map(|m| {
                if *m == p.default_memory_gib {
                    format!("[{m}]")
                } else {
                    m.to_string()
                }
            })
            .collect();
        let mark = if p.measured_efficiency.is_some() {
            "calibrated"
        } else if p.origin != "bundled" {
            "user"
        } else {
            ""
        };
        t.add_row(vec![
            Cell::new(&p.id),
            Cell::new(&p.name),
            Cell::new(mems.join(" ")),
            right(format!("{:.0}", p.bandwidth_gbs)),
            right(format!("{:.1}", p.fp16_tflops)),
            right(p.gpu_cores),
            Cell::new(mark),
        ]);
    }
    Ok(format!(
        "{t}\nUse an id with --hardware, e.g. --hardware m3-max-40c:64 (memory in GiB)."
    ))
}

fn models(format: Format) -> Result<String> {
    let mut rows = Vec::new();
    for id in spec::bundled_ids() {
        rows.push((id, spec::load(id)?));
    }
    if format == Format::Json {
        let v: Vec<_> = rows
            .iter()
            .map(|(id, m)| {
                json!({
                    "id": id,
                    "name": m.name,
                    "architecture": m.architecture,
                    "parameters": m.parameters(),
                    "context_length": m.hparams.context_length,
                    "weights_bytes": m.weights_bytes(),
                    "file_type": m.file_type,
                })
            })
            .collect();
        return to_json_string(&json!(v));
    }
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header(vec![
        Cell::new("id"),
        Cell::new("name"),
        Cell::new("architecture"),
        right("parameters"),
        right("context"),
        Cell::new("published as"),
    ]);
    for (id, m) in &rows {
        let moe = if m.hparams.is_moe() {
            format!(
                " ({} of {} experts)",
                m.hparams.n_expert_used, m.hparams.n_expert
            )
        } else {
            String::new()
        };
        t.add_row(vec![
            Cell::new(id),
            Cell::new(&m.name),
            Cell::new(format!("{}{moe}", m.architecture)),
            right(fmt::params(m.parameters())),
            right(m.hparams.context_length),
            Cell::new(format!(
                "{}, {}",
                m.file_type.as_deref().unwrap_or("-"),
                fmt::gib(m.weights_bytes())
            )),
        ]);
    }
    Ok(format!(
        "{t}\nUse an id as MODEL, with --quant for a what-if quantization, e.g. headroom plan llama-3.1-8b --quant Q4_K_M ..."
    ))
}
