//! `headroom plan` over several devices: one model split across GPUs of one host or machines joined by
//! llama.cpp RPC (`--hardware h100-sxm:x2`, `a+b`, `--split`, `--tensor-split`, `--link`), or over several
//! Macs with exo (`--runtime exo`). The verdict first, then one row per device, the interconnect and the
//! speed; JSON is stable and documented in the README.

use super::plan::workload;
use super::{ExitCode, Format, PlanArgs, RuntimeArg, SplitArg, fmt};
use crate::error::{Error, Result};
use crate::estimate::multi::{
    MultiOptions, MultiPlan, Runner, SplitMode, best_quant_multi, plan_multi,
};
use crate::estimate::plan::plan;
use crate::estimate::{Verdict, Workload};
use crate::hardware::{Machine, link, profile};
use crate::model::{ModelDesc, ModelFormat, load_with_quant};
use comfy_table::{Cell, CellAlignment, Table, presets};
use serde_json::{Value, json};

/// Whether the command line asks for a multi-device plan.
pub fn wanted(a: &PlanArgs) -> bool {
    a.split.is_some()
        || a.tensor_split.is_some()
        || a.link.is_some()
        || profile::names_several_devices(&a.hardware)
}

fn parse_ts(s: &str) -> Result<Vec<f64>> {
    s.split([',', '/'])
        .map(|x| {
            x.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).ok_or_else(|| {
                Error::usage(format!(
                    "--tensor-split {s}: `{x}` is not a proportion; write non-negative numbers like 3,1 (llama.cpp -ts)"
                ))
            })
        })
        .collect()
}

/// Whether the command line runs the set with exo (`--runtime exo`, or `--runtime mlx` over several Macs).
fn exo(a: &PlanArgs) -> bool {
    matches!(a.runtime, RuntimeArg::Exo | RuntimeArg::Mlx)
}

fn options(a: &PlanArgs, devices: &[Machine]) -> Result<MultiOptions> {
    let (link, note) = match &a.link {
        Some(id) => (link::by_id(id)?, None),
        None => {
            let (l, n) = if exo(a) {
                crate::estimate::exo::default_link(devices)
            } else {
                link::default_for(devices)
            };
            (l, Some(n))
        }
    };
    Ok(MultiOptions {
        split: match a.split {
            None | Some(SplitArg::Layer) => SplitMode::Layer,
            Some(SplitArg::Row) => SplitMode::Row,
            Some(SplitArg::Tensor) => SplitMode::Tensor,
        },
        tensor_split: a.tensor_split.as_deref().map(parse_ts).transpose()?,
        link,
        link_note: note,
    })
}

/// One setup's answer: a single machine's plan or a split over several.
enum Answer {
    Single(Machine, crate::estimate::Plan),
    /// The plan and, for bundled specs, the best quantization that fits (None inside: none fits).
    Multi(
        Vec<Machine>,
        MultiPlan,
        Box<Option<Option<(String, MultiPlan)>>>,
    ),
}

pub fn run(a: &PlanArgs, quiet: bool) -> Result<ExitCode> {
    if a.measure {
        return Err(Error::usage(
            "--measure runs on this machine's one GPU; leave it out of a multi-device plan",
        ));
    }
    let wl = workload(a)?;
    let join = a.split.is_some() || a.tensor_split.is_some() || a.link.is_some();
    let (setups, notes) = profile::resolve_setups(&a.hardware, join)?;
    for n in notes {
        eprintln!("headroom: {n}");
    }
    if setups.iter().all(|s| s.len() < 2) {
        return Err(Error::usage(format!(
            "--hardware {}: a split needs several devices; repeat one (h100-sxm:x2) or join them with + \
             (m2-ultra-76c:192+m4-max-40c:128)",
            a.hardware
        )));
    }
    if a.runtime == RuntimeArg::Mlx {
        eprintln!(
            "headroom: --runtime mlx over several Macs is planned as exo's pipeline (write --runtime exo to say so)"
        );
    }
    let model = load_with_quant(&a.model, a.quant.as_deref())?;
    let mut answers = Vec::with_capacity(setups.len());
    for devices in setups {
        if devices.len() == 1 {
            let m = devices
                .into_iter()
                .next()
                .ok_or_else(|| Error::failure("empty setup"))?;
            let p = plan(&model, &m, &wl)?;
            answers.push(Answer::Single(m, p));
        } else {
            let opts = options(a, &devices)?;
            let p = plan_multi(&model, &devices, &wl, &opts)?;
            // for a bundled spec (no file chosen yet): which quantization fits the set?
            let best = if model.format == ModelFormat::Spec {
                let base = crate::model::load(&a.model)?;
                Some(best_quant_multi(&base, &devices, &wl, &opts)?)
            } else {
                None
            };
            answers.push(Answer::Multi(devices, p, Box::new(best)));
        }
    }
    let out = match a.format {
        Format::Json => {
            let docs: Vec<Value> = answers
                .iter()
                .map(|ans| match ans {
                    Answer::Single(m, p) => super::plan::to_json(&model, m, &wl, p),
                    Answer::Multi(d, p, best) => {
                        let mut doc = to_json(&model, d, &wl, p);
                        doc["best_quant"] = match best.as_ref() {
                            None => Value::Null,
                            Some(None) => json!({ "quant": null }),
                            Some(Some((q, bp))) => json!({
                                "quant": q,
                                "verdict": bp.verdict.label(),
                                "total_bytes": bp.devices.iter().map(|d| d.memory.total_bytes).sum::<u64>(),
                                "decode_tokens_per_s": bp.speed.decode_tokens_per_s,
                            }),
                        };
                        doc
                    }
                })
                .collect();
            super::plan::json_doc(docs)?
        }
        Format::Table => answers
            .iter()
            .map(|ans| match ans {
                Answer::Single(m, p) => super::plan::verdict_line(m, p),
                Answer::Multi(d, p, best) => {
                    let mut t = table(&model, d, &wl, p, quiet);
                    match best.as_ref() {
                        Some(Some((q, bp))) => t.push_str(&format!(
                            "\nbest quantization that fits every device: {q} ({} GiB in all, about {} tok/s)",
                            fmt::gib1(bp.devices.iter().map(|d| d.memory.total_bytes).sum()),
                            fmt::tps(bp.speed.decode_tokens_per_s)
                        )),
                        Some(None) => t.push_str(
                            "\nno common quantization (down to Q2_K) fits these devices with this workload",
                        ),
                        None => {}
                    }
                    t
                }
            })
            .collect::<Vec<_>>()
            .join("\n\n"),
    };
    super::emit(&out)?;
    let all_fit = answers.iter().all(|ans| match ans {
        Answer::Single(_, p) => matches!(p.verdict, Verdict::Fits),
        Answer::Multi(_, p, _) => matches!(p.verdict, Verdict::Fits),
    });
    Ok(if a.check && !all_fit { 1 } else { 0 })
}

/// "2× NVIDIA H100 SXM5 80GB" or "Apple M2 Ultra + Apple M4 Max".
pub fn setup_name(devices: &[Machine]) -> String {
    let first = &devices[0];
    if devices
        .iter()
        .all(|m| m.id == first.id && m.memory_bytes == first.memory_bytes)
    {
        format!("{}× {}", devices.len(), first.name)
    } else {
        devices
            .iter()
            .map(|m| format!("{} {:.0} GiB", m.name, crate::units::gib(m.memory_bytes)))
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

fn right(s: impl ToString) -> Cell {
    Cell::new(s.to_string()).set_alignment(CellAlignment::Right)
}

/// The one-line answer for a split.
pub fn verdict_line(devices: &[Machine], p: &MultiPlan) -> String {
    let total: u64 = p.devices.iter().map(|d| d.memory.total_bytes).sum();
    let budget: u64 = p.devices.iter().map(|d| d.budget_bytes).sum();
    let speed = format!(
        "about {} tok/s (±{:.0}%)",
        fmt::tps(p.speed.decode_tokens_per_s),
        p.speed.decode_error_pct
    );
    let how = match p.runner {
        Runner::LlamaCpp => format!("{} split over {}", p.split.label(), p.interconnect.name),
        Runner::Exo => format!("exo pipeline over {}", p.interconnect.name),
    };
    let name = setup_name(devices);
    match &p.verdict {
        Verdict::Fits => format!(
            "fits: {} of {} GiB on {name}, {how}, {speed}",
            fmt::gib1(total),
            fmt::gib1(budget)
        ),
        Verdict::FitsIfLimitRaised { .. } => format!(
            "fits if the GPU limit is raised on {}: {} GiB on {name}, {how}, then {speed}",
            p.devices
                .iter()
                .filter(|d| matches!(d.verdict, Verdict::FitsIfLimitRaised { .. }))
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            fmt::gib1(total)
        ),
        _ => format!(
            "does not fit: {} GiB needed on {name} ({how}); {} over its budget",
            fmt::gib1(total),
            p.devices
                .iter()
                .enumerate()
                .filter(|(_, d)| !matches!(d.verdict, Verdict::Fits))
                .map(|(i, d)| format!(
                    "device {i} is {} GiB",
                    fmt::gib1(d.memory.total_bytes.saturating_sub(d.budget_bytes))
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The layers a device holds (`0-40`, `41-79 + out`), or its share under a row/tensor split.
pub fn layers_cell(p: &MultiPlan, d: &crate::estimate::multi::DevicePlan) -> String {
    let out = if d.holds_output { " + out" } else { "" };
    match p.split {
        SplitMode::Layer if d.n_layers == 0 => format!("-{out}"),
        SplitMode::Layer => format!("{}-{}{out}", d.first_layer, d.first_layer + d.n_layers - 1),
        _ => format!("all, {:.0}%", 100.0 * d.share),
    }
}

fn table(
    model: &ModelDesc,
    devices: &[Machine],
    wl: &Workload,
    p: &MultiPlan,
    quiet: bool,
) -> String {
    let mut out = verdict_line(devices, p);
    out.push_str(&format!(
        "\n\n{} ({}{}) on {}, context {}, KV {}/{}, flash attention {}, ubatch {}\n",
        model.name,
        fmt::params(model.parameters()),
        model
            .file_type
            .as_deref()
            .map(|f| format!(", {f}"))
            .unwrap_or_default(),
        setup_name(devices),
        fmt::ctx(wl.context),
        wl.cache_type_k.name().to_ascii_lowercase(),
        wl.cache_type_v.name().to_ascii_lowercase(),
        if wl.flash_attention { "on" } else { "off" },
        wl.ubatch
    ));
    let how = match p.runner {
        Runner::LlamaCpp => format!(
            "{} split (llama.cpp {})",
            p.split.label(),
            p.llama_cpp_flags
        ),
        Runner::Exo => {
            "exo pipeline (Pipeline sharding, MLX; layers by each Mac's memory, in ring order)"
                .into()
        }
    };
    out.push_str(&format!(
        "{how}, {}: {} one way, {:.0} µs a transfer\n",
        p.interconnect.name,
        fmt::gbs(p.interconnect.bandwidth_bytes_per_s),
        p.interconnect.latency_s * 1e6
    ));
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header(vec![
        Cell::new("device"),
        Cell::new("layers"),
        right("weights"),
        right("KV"),
        right("compute"),
        right("overhead"),
        right(format!("total ±{:.1}%", p.memory_error_pct)),
        right("budget"),
        Cell::new("verdict"),
        right("ms/token"),
    ]);
    for (i, d) in p.devices.iter().enumerate() {
        let m = &d.memory;
        t.add_row(vec![
            Cell::new(format!("{i} {}", d.name)),
            Cell::new(layers_cell(p, d)),
            right(fmt::gib1(m.weights_bytes)),
            right(fmt::gib1(m.kv_cache_bytes)),
            right(fmt::gib1(m.compute_bytes)),
            right(fmt::gib1(m.overhead_bytes)),
            right(fmt::gib1(m.total_bytes)),
            right(fmt::gib1(d.budget_bytes)),
            Cell::new(d.verdict.label()),
            right(format!("{:.2}", d.decode_s * 1e3)),
        ]);
    }
    if p.runner == Runner::LlamaCpp {
        t.add_row(vec![
            Cell::new("host CPU"),
            Cell::new("input"),
            right(fmt::gib1(p.host.weights_bytes)),
            right("-"),
            right("-"),
            right(fmt::gib1(p.host.output_bytes)),
            right(fmt::gib1(p.host.weights_bytes + p.host.output_bytes)),
            right("RAM"),
            Cell::new(""),
            right(""),
        ]);
    }
    t.add_row(vec![
        Cell::new("interconnect"),
        Cell::new(format!(
            "{} transfer{}",
            p.transfers_per_token,
            if p.transfers_per_token == 1 { "" } else { "s" }
        )),
        right(""),
        right(""),
        right(""),
        right(""),
        right(""),
        right(""),
        Cell::new(""),
        right(format!("{:.2}", p.interconnect_s_per_token * 1e3)),
    ]);
    out.push_str(&t.to_string());
    out.push_str("\n(GiB)\n");

    let s = &p.speed;
    let mut st = Table::new();
    st.load_style(presets::UTF8_FULL_CONDENSED);
    st.set_header(vec![Cell::new("speed"), right("tok/s"), Cell::new("how")]);
    st.add_row(vec![
        Cell::new(format!("decode, batch 1 (±{:.0}%)", s.decode_error_pct)),
        right(fmt::tps(s.decode_tokens_per_s)),
        Cell::new(match p.split {
            SplitMode::Layer if p.runner == Runner::Exo => format!(
                "Macs in turn, {} per token; {} transfers (hops + all-gather), {:.0}% of the time on the \
                 interconnect (a model: see below)",
                fmt::gib(s.bytes_per_token),
                p.transfers_per_token,
                100.0 * p.interconnect_s_per_token * s.decode_tokens_per_s
            ),
            SplitMode::Layer => format!(
                "devices in turn, {} per token; {:.0}% of the time on the interconnect",
                fmt::gib(s.bytes_per_token),
                100.0 * p.interconnect_s_per_token * s.decode_tokens_per_s
            ),
            _ => format!(
                "devices together, {} per token; {} all-reduce/gather steps, {:.0}% of the time on the \
                 interconnect",
                fmt::gib(s.bytes_per_token),
                p.transfers_per_token,
                100.0 * p.interconnect_s_per_token * s.decode_tokens_per_s
            ),
        }),
    ]);
    st.add_row(vec![
        Cell::new(format!("prefill (±{:.0}%)", s.prefill_error_pct)),
        right(fmt::tps(s.prefill_tokens_per_s)),
        Cell::new("compute"),
    ]);
    out.push('\n');
    out.push_str(&st.to_string());
    out.push_str(&format!(
        "\nlargest context every device holds: {}\n",
        fmt::max_contexts(&p.max_context_by_kv, fmt::ctx)
    ));
    if !quiet {
        if let Some(n) = &p.interconnect_note {
            out.push_str(&format!("  - {n}\n"));
        }
        for a in &p.advice {
            out.push_str(&format!("  - {a}\n"));
        }
        for w in &model.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
    }
    out.trim_end().to_string()
}

/// The stable JSON document for a multi-device plan.
pub fn to_json(model: &ModelDesc, devices: &[Machine], wl: &Workload, p: &MultiPlan) -> Value {
    let total: u64 = p.devices.iter().map(|d| d.memory.total_bytes).sum();
    json!({
        "model": {
            "name": model.name,
            "source": model.source,
            "format": model.format,
            "architecture": model.architecture,
            "file_type": model.file_type,
            "parameters": model.parameters(),
        },
        "hardware": {
            "name": setup_name(devices),
            "devices": devices.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        },
        "workload": {
            "context": wl.context,
            "batch": wl.batch,
            "ubatch": wl.ubatch,
            "cache_type_k": wl.cache_type_k.name().to_ascii_lowercase(),
            "cache_type_v": wl.cache_type_v.name().to_ascii_lowercase(),
            "flash_attention": wl.flash_attention,
            "parallel": wl.parallel,
            "runtime": wl.runtime,
        },
        "runner": p.runner,
        "split": p.split,
        "llama_cpp_flags": match p.runner {
            Runner::LlamaCpp => Value::String(p.llama_cpp_flags.clone()),
            Runner::Exo => Value::Null,
        },
        "pipeline_copies": p.pipeline_copies,
        "devices": p.devices.iter().zip(devices).enumerate().map(|(i, (d, m))| json!({
            "index": i,
            "id": d.id,
            "name": d.name,
            "share": d.share,
            "first_layer": d.first_layer,
            "layers": d.n_layers,
            "holds_output": d.holds_output,
            "memory": {
                "weights_bytes": d.memory.weights_bytes,
                "kv_cache_bytes": d.memory.kv_cache_bytes,
                "compute_bytes": d.memory.compute_bytes,
                "overhead_bytes": d.memory.overhead_bytes,
                "total_bytes": d.memory.total_bytes,
                "total_error_pct": p.memory_error_pct,
            },
            "gpu_budget_bytes": d.budget_bytes,
            "memory_bytes": m.memory_bytes,
            "bandwidth_bytes_per_s": m.bandwidth_bytes_per_s,
            "verdict": d.verdict.label(),
            "verdict_detail": d.verdict,
            "read_bytes_per_token": d.read_bytes_per_token,
            "decode_seconds_per_token": d.decode_s,
        })).collect::<Vec<_>>(),
        "host": {
            "weights_bytes": p.host.weights_bytes,
            "output_bytes": p.host.output_bytes,
        },
        "interconnect": {
            "id": p.interconnect.id,
            "name": p.interconnect.name,
            "bandwidth_bytes_per_s": p.interconnect.bandwidth_bytes_per_s,
            "latency_s": p.interconnect.latency_s,
            "rpc": p.interconnect.rpc,
            "source": p.interconnect.source,
            "note": p.interconnect_note,
            "transfers_per_token": p.transfers_per_token,
            "seconds_per_token": p.interconnect_s_per_token,
        },
        "memory": {
            "total_bytes": total,
            "total_error_pct": p.memory_error_pct,
        },
        "verdict": p.verdict.label(),
        "max_context": p.max_context,
        "max_context_by_kv": p.max_context_by_kv.iter().map(|c| json!({
            "cache_type": c.cache_type.name().to_ascii_lowercase(),
            "max_context": c.max_context,
        })).collect::<Vec<_>>(),
        "speed": {
            "decode_tokens_per_s": p.speed.decode_tokens_per_s,
            "decode_error_pct": p.speed.decode_error_pct,
            "prefill_tokens_per_s": p.speed.prefill_tokens_per_s,
            "prefill_error_pct": p.speed.prefill_error_pct,
            "bytes_per_token": p.speed.bytes_per_token,
        },
        "advice": p.advice,
        "warnings": model.warnings,
    })
}
