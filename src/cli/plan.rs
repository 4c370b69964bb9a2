//! `headroom plan`: the main job. The verdict first, one line; then the breakdown; then advice. Several
//! machines give one row each, side by side. JSON is stable and documented in the README.

use super::BackendArg;
use super::{ExitCode, Format, OnOff, PlanArgs, RuntimeArg, fmt};
use crate::error::{Error, Result};
use crate::estimate::plan::{best_quant_for, plan};
use crate::estimate::{Plan, Runtime, Verdict, Workload};
use crate::hardware::{Machine, profile};
use crate::measure::{Backend, MeasureOptions, Measurement, Progress};
use crate::model::ModelFormat;
use crate::model::{ModelDesc, TensorType, load_with_quant};
use comfy_table::{Cell, CellAlignment, Table, presets};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

/// Build the workload from the command line, rejecting impossible values with a usage error.
pub fn workload(a: &PlanArgs) -> Result<Workload> {
    let kv_type = |flag: &str, s: &str| {
        TensorType::from_name(s).ok_or_else(|| {
            Error::usage(format!(
                "{flag} {s}: unknown cache type; use one of f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl"
            ))
        })
    };
    let server = a.runtime == RuntimeArg::LlamaServer;
    Ok(Workload {
        context: a.ctx,
        batch: a.batch,
        ubatch: a.ubatch,
        n_batch: a.n_batch,
        cache_type_k: kv_type("--cache-type-k", &a.cache_type_k)?,
        cache_type_v: kv_type("--cache-type-v", &a.cache_type_v)?,
        flash_attention: a.flash_attn == OnOff::On,
        parallel: a.parallel.unwrap_or(if server { 4 } else { 1 }),
        // llama-server (tools/server/server.cpp): when -np is not given it runs 4 slots with
        // kv_unified = true; an explicit -np N keeps llama.cpp's default of one stream per slot
        kv_unified: if a.kv_unified {
            true
        } else if a.no_kv_unified {
            false
        } else {
            server && a.parallel.is_none()
        },
        runtime: match a.runtime {
            RuntimeArg::LlamaCpp | RuntimeArg::LlamaServer => Runtime::LlamaCpp,
            // exo runs MLX on every Mac: the MLX KV layout and activations
            RuntimeArg::Mlx | RuntimeArg::Exo => Runtime::Mlx,
        },
    })
}

pub fn run(a: &PlanArgs, quiet: bool) -> Result<ExitCode> {
    if super::multi::wanted(a) {
        return super::multi::run(a, quiet);
    }
    let wl = workload(a)?;
    let (machines, notes) = profile::resolve_with_notes(&a.hardware)?;
    for n in notes {
        eprintln!("headroom: {n}");
    }
    let model = load_with_quant(&a.model, a.quant.as_deref())?;
    let plans: Vec<(Machine, Plan)> = machines
        .into_iter()
        .map(|m| plan(&model, &m, &wl).map(|p| (m, p)))
        .collect::<Result<_>>()?;
    // For a bundled spec (no file chosen yet), also answer "which quantization should I get?"
    let best: Vec<Option<(String, Plan)>> = if model.format == ModelFormat::Spec {
        let base = crate::model::load(&a.model)?;
        plans
            .iter()
            .map(|(m, _)| best_quant_for(&base, m, &wl))
            .collect::<Result<_>>()?
    } else {
        plans.iter().map(|_| None).collect()
    };
    let measured = if a.measure {
        Some(run_measure(&model, &plans[0].0, &wl, a, quiet)?)
    } else {
        None
    };
    let predicted = plans[0].1.speed.decode_tokens_per_s;
    let out = match a.format {
        Format::Json => {
            let docs: Vec<Value> = plans
                .iter()
                .zip(&best)
                .map(|((m, p), b)| {
                    let mut doc = to_json(&model, m, &wl, p);
                    doc["best_quant"] = best_json(b, model.format == ModelFormat::Spec);
                    doc["measurement"] =
                        measurement_json(measured.as_ref(), p.speed.decode_tokens_per_s);
                    doc
                })
                .collect();
            json_doc(docs)?
        }
        Format::Table if plans.len() == 1 => {
            let mut out = single(&model, &plans[0].0, &wl, &plans[0].1, quiet);
            if let Some(line) = best_line(&best[0], model.format == ModelFormat::Spec) {
                out.push_str(&format!("\n{line}"));
            }
            if let Some(m) = &measured {
                out.push_str(&format!("\n\n{}", measurement_table(m, predicted)));
            }
            out
        }
        Format::Table => {
            let mut out = compare(&model, &wl, &plans);
            if let Some(m) = &measured {
                out.push_str(&format!(
                    "\n\nmeasured on this machine (prediction for {}):\n{}",
                    plans[0].0.name,
                    measurement_table(m, predicted)
                ));
            }
            for ((m, _), b) in plans.iter().zip(&best) {
                if let Some(line) = best_line(b, model.format == ModelFormat::Spec) {
                    out.push_str(&format!("\n{}: {line}", m.name));
                }
            }
            out
        }
    };
    super::emit(&out)?;
    let all_fit = plans
        .iter()
        .all(|(_, p)| matches!(p.verdict, Verdict::Fits));
    Ok(if a.check && !all_fit { 1 } else { 0 })
}

/// The JSON output of one document or several: the document itself for one, an array for more
/// (`plan` over several machines and the multi-device commands print the same shapes).
pub fn json_doc(docs: Vec<Value>) -> Result<String> {
    let doc = if docs.len() == 1 {
        docs.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(docs)
    };
    serde_json::to_string_pretty(&doc)
        .map_err(|e| Error::failure(format!("could not write JSON: {e}")))
}

/// The stable JSON document for one machine.
pub fn to_json(model: &ModelDesc, m: &Machine, wl: &Workload, p: &Plan) -> Value {
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
            "id": m.id,
            "name": m.name,
            "memory_bytes": m.memory_bytes,
            "gpu_budget_bytes": m.gpu_budget_bytes,
            "bandwidth_bytes_per_s": m.bandwidth_bytes_per_s,
            "calibrated": m.calibrated,
        },
        "workload": {
            "context": wl.context,
            "batch": wl.batch,
            "ubatch": wl.ubatch,
            "cache_type_k": wl.cache_type_k.name().to_ascii_lowercase(),
            "cache_type_v": wl.cache_type_v.name().to_ascii_lowercase(),
            "flash_attention": wl.flash_attention,
            "parallel": wl.parallel,
            "kv_unified": wl.kv_unified,
            "runtime": wl.runtime,
        },
        "memory": {
            "weights_bytes": p.memory.weights_bytes,
            "kv_cache_bytes": p.memory.kv_cache_bytes,
            "compute_bytes": p.memory.compute_bytes,
            "overhead_bytes": p.memory.overhead_bytes,
            "total_bytes": p.memory.total_bytes,
            "total_error_pct": p.memory_error_pct,
        },
        "verdict": p.verdict.label(),
        "verdict_detail": p.verdict,
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
            "bound": p.speed.decode_bound,
            "prefill_bound": p.speed.prefill_bound,
            "bytes_per_token": p.speed.bytes_per_token,
            "effective_bandwidth_bytes_per_s": p.speed.effective_bandwidth_bytes_per_s,
            "batch_tokens_per_s": p.speed.batch_tokens_per_s,
            "compute_bound_batch": p.speed.compute_bound_batch,
        },
        "advice": p.advice,
        "warnings": model.warnings,
    })
}

/// Run the measured decode on this machine, with a progress bar on stderr.
fn run_measure(
    model: &ModelDesc,
    machine: &Machine,
    wl: &Workload,
    a: &PlanArgs,
    quiet: bool,
) -> Result<Measurement> {
    crate::model::remote::require_local(model, "--measure")?;
    let opts = MeasureOptions {
        backend: match a.backend {
            BackendArg::Auto => Backend::Auto,
            BackendArg::Gpu => Backend::Gpu,
            BackendArg::Cpu => Backend::Cpu,
        },
        tokens: a.tokens,
        context: wl.context,
        cache_type_k: wl.cache_type_k,
        cache_type_v: wl.cache_type_v,
        budget_bytes: machine.gpu_budget_bytes,
    };
    let bar = if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<24} [{bar:30}] {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut progress = |p: Progress| match p {
        Progress::Stage(s) => bar.set_message(s),
        Progress::Upload { done, total } => {
            bar.set_length(total.div_ceil(1 << 20));
            bar.set_position(done >> 20);
        }
        Progress::Token { done, total } => {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    };
    let m = crate::measure::measure(model, &opts, &mut progress);
    bar.finish_and_clear();
    m
}

fn error_pct(predicted: f64, measured: f64) -> f64 {
    (predicted - measured) / measured * 100.0
}

/// `measurement` in JSON (null when not measured).
fn measurement_json(m: Option<&Measurement>, predicted: f64) -> Value {
    match m {
        None => Value::Null,
        Some(m) => json!({
            "backend": m.backend,
            "adapter": m.adapter,
            "tokens": m.tokens,
            "synthetic_weights": m.synthetic,
            "decode_tokens_per_s": m.decode_tokens_per_s,
            "effective_bandwidth_bytes_per_s": m.effective_bandwidth_bytes_per_s,
            "copy_bandwidth_bytes_per_s": m.copy_bandwidth_bytes_per_s,
            "bytes_per_token": m.bytes_per_token,
            "prediction_error_pct": error_pct(predicted, m.decode_tokens_per_s),
        }),
    }
}

fn measurement_table(m: &Measurement, predicted: f64) -> String {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header(vec![Cell::new("measured decode"), Cell::new("")]);
    let rows = [
        ("backend", format!("{} on {}", m.backend, m.adapter)),
        (
            "weights",
            if m.synthetic {
                "random, real shapes and types (no file)"
            } else {
                "the model file's own tensors"
            }
            .into(),
        ),
        (
            "decode",
            format!(
                "{} tok/s over {} tokens",
                fmt::tps(m.decode_tokens_per_s),
                m.tokens
            ),
        ),
        (
            "predicted",
            format!(
                "{} tok/s ({:+.0}% vs measured)",
                fmt::tps(predicted),
                error_pct(predicted, m.decode_tokens_per_s)
            ),
        ),
        (
            "effective bandwidth",
            fmt::gbs(m.effective_bandwidth_bytes_per_s),
        ),
        (
            "copy bandwidth",
            format!(
                "{} ({:.0}% reached by decode)",
                fmt::gbs(m.copy_bandwidth_bytes_per_s),
                100.0 * m.effective_bandwidth_bytes_per_s / m.copy_bandwidth_bytes_per_s.max(1.0)
            ),
        ),
    ];
    for (k, v) in rows {
        t.add_row(vec![Cell::new(k), Cell::new(v)]);
    }
    let mut out = t.to_string();
    out.push_str(
        "\nThe prediction is for the planned machine running llama.cpp; the measurement is headroom's own\n\
         kernels on this one. Compare them on the same machine (`--hardware auto`).",
    );
    out
}

/// `best_quant` in JSON: null for files (their quantization is chosen), else the label and its plan.
fn best_json(b: &Option<(String, Plan)>, is_spec: bool) -> Value {
    match b {
        Some((q, p)) => json!({
            "quant": q,
            "verdict": p.verdict.label(),
            "total_bytes": p.memory.total_bytes,
            "decode_tokens_per_s": p.speed.decode_tokens_per_s,
        }),
        None if is_spec => json!({ "quant": null }),
        None => Value::Null,
    }
}

fn best_line(b: &Option<(String, Plan)>, is_spec: bool) -> Option<String> {
    match b {
        Some((q, p)) => Some(format!(
            "best quantization that {}: {q} ({} GiB, about {} tok/s)",
            if matches!(p.verdict, Verdict::Fits) {
                "fits"
            } else {
                "fits with the GPU limit raised"
            },
            fmt::gib1(p.memory.total_bytes),
            fmt::tps(p.speed.decode_tokens_per_s)
        )),
        None if is_spec => Some("no common quantization (down to Q2_K) fits this workload".into()),
        None => None,
    }
}

/// The one-line answer: "fits: 42.6 of 48.0 GiB GPU budget, about 8.1 tok/s".
pub fn verdict_line(m: &Machine, p: &Plan) -> String {
    let total = fmt::gib1(p.memory.total_bytes);
    let kind = budget_label(m);
    let budget = fmt::gib1(p.gpu_budget_bytes);
    let speed = format!(
        "about {} tok/s (±{:.0}%)",
        fmt::tps(p.speed.decode_tokens_per_s),
        p.speed.decode_error_pct
    );
    match &p.verdict {
        Verdict::Fits => format!(
            "fits: {total} of {budget} GiB {kind} on {}, {speed}",
            m.name
        ),
        Verdict::FitsIfLimitRaised {
            wired_limit_mb,
            ram_left_bytes,
        } => format!(
            "fits if the GPU limit is raised: {total} GiB needed, default budget {budget} GiB on {}; \
             run `sudo sysctl iogpu.wired_limit_mb={wired_limit_mb}` (leaves {} GiB for macOS), then {speed}",
            m.name,
            fmt::gib1(*ram_left_bytes)
        ),
        Verdict::PartialOffload {
            gpu_layers,
            total_layers,
        } => format!(
            "partial offload: {total} GiB needed, {budget} GiB GPU budget on {}; {gpu_layers} of {total_layers} layers \
             on the GPU (-ngl {gpu_layers}), {speed}",
            m.name
        ),
        Verdict::DoesNotFit => format!(
            "does not fit: {total} GiB needed, {budget} GiB {kind} on {} ({} GiB memory)",
            m.name,
            fmt::gib1(m.memory_bytes)
        ),
    }
}

/// What the budget is called: the GPU's share of memory, or on a CPU-only machine the RAM llama.cpp may use.
fn budget_label(m: &Machine) -> &'static str {
    if m.device == crate::hardware::Device::Cpu {
        "memory budget"
    } else {
        "GPU budget"
    }
}

fn right(s: impl ToString) -> Cell {
    Cell::new(s.to_string()).set_alignment(CellAlignment::Right)
}

/// ", 4 sequences (unified KV)" when more than one sequence or the unified cache is planned.
fn sequences(wl: &Workload) -> String {
    match (wl.parallel, wl.kv_unified) {
        (1, false) => String::new(),
        (n, false) => format!(", {n} sequences (-np {n}, one KV stream each)"),
        (n, true) => format!(", {n} sequences (-np {n}, unified KV)"),
    }
}

fn single(model: &ModelDesc, m: &Machine, wl: &Workload, p: &Plan, quiet: bool) -> String {
    let mut out = verdict_line(m, p);
    out.push('\n');
    out.push_str(&format!(
        "\n{} ({}{}) on {}, context {}, KV {}/{}, flash attention {}, ubatch {}{}\n",
        model.name,
        fmt::params(model.parameters()),
        model
            .file_type
            .as_deref()
            .map(|f| format!(", {f}"))
            .unwrap_or_default(),
        m.name,
        fmt::ctx(wl.context),
        wl.cache_type_k.name().to_ascii_lowercase(),
        wl.cache_type_v.name().to_ascii_lowercase(),
        if wl.flash_attention { "on" } else { "off" },
        wl.ubatch,
        sequences(wl)
    ));
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header(vec![Cell::new("memory"), right("GiB"), right("bytes")]);
    let mem = &p.memory;
    for (k, v) in [
        ("weights", mem.weights_bytes),
        ("KV cache", mem.kv_cache_bytes),
        ("compute buffers", mem.compute_bytes),
        ("runtime overhead", mem.overhead_bytes),
    ] {
        t.add_row(vec![Cell::new(k), right(fmt::gib1(v)), right(v)]);
    }
    t.add_row(vec![
        Cell::new(format!("total (±{:.1}%)", p.memory_error_pct)),
        right(fmt::gib1(mem.total_bytes)),
        right(mem.total_bytes),
    ]);
    t.add_row(vec![
        Cell::new(budget_label(m)),
        right(fmt::gib1(p.gpu_budget_bytes)),
        right(p.gpu_budget_bytes),
    ]);
    out.push_str(&t.to_string());

    let s = &p.speed;
    let mut st = Table::new();
    st.load_style(presets::UTF8_FULL_CONDENSED);
    st.set_header(vec![
        Cell::new("speed"),
        right("tok/s"),
        Cell::new("bound by"),
    ]);
    let bound = |b: Option<crate::estimate::Bound>| match b {
        Some(crate::estimate::Bound::Memory) => "memory bandwidth".to_string(),
        Some(crate::estimate::Bound::Compute) => "compute".to_string(),
        None => "-".to_string(),
    };
    st.add_row(vec![
        Cell::new(format!("decode, batch 1 (±{:.0}%)", s.decode_error_pct)),
        right(fmt::tps(s.decode_tokens_per_s)),
        Cell::new(format!(
            "{} ({} per token at {})",
            bound(s.decode_bound),
            fmt::gib(s.bytes_per_token),
            fmt::gbs(s.effective_bandwidth_bytes_per_s)
        )),
    ]);
    st.add_row(vec![
        Cell::new(format!("prefill (±{:.0}%)", s.prefill_error_pct)),
        right(fmt::tps(s.prefill_tokens_per_s)),
        Cell::new(bound(s.prefill_bound)),
    ]);
    if wl.batch > 1 {
        st.add_row(vec![
            Cell::new(format!("decode, batch {}", wl.batch)),
            right(fmt::tps(s.batch_tokens_per_s)),
            Cell::new(format!(
                "compute-bound from batch {}",
                s.compute_bound_batch
            )),
        ]);
    } else {
        st.add_row(vec![
            Cell::new("decode, batched"),
            right("-"),
            Cell::new(format!(
                "compute-bound from batch {}",
                s.compute_bound_batch
            )),
        ]);
    }
    out.push('\n');
    out.push_str(&st.to_string());

    if !p.max_context_by_kv.is_empty() {
        out.push_str(&format!(
            "\nlargest context that fits: {}\n",
            fmt::max_contexts(&p.max_context_by_kv, fmt::ctx)
        ));
    }
    if !quiet {
        for a in &p.advice {
            out.push_str(&format!("  - {a}\n"));
        }
        for w in &model.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
    }
    out.trim_end().to_string()
}

fn compare(model: &ModelDesc, wl: &Workload, plans: &[(Machine, Plan)]) -> String {
    let mut out = format!(
        "{} ({}{}), context {}, KV {}/{}\n",
        model.name,
        fmt::params(model.parameters()),
        model
            .file_type
            .as_deref()
            .map(|f| format!(", {f}"))
            .unwrap_or_default(),
        fmt::ctx(wl.context),
        wl.cache_type_k.name().to_ascii_lowercase(),
        wl.cache_type_v.name().to_ascii_lowercase(),
    );
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header(vec![
        Cell::new("machine"),
        Cell::new("verdict"),
        right("needs GiB"),
        right("budget GiB"),
        right("decode tok/s"),
        right("prefill tok/s"),
        right("max context"),
    ]);
    for (m, p) in plans {
        t.add_row(vec![
            Cell::new(&m.name),
            Cell::new(p.verdict.label()),
            right(fmt::gib1(p.memory.total_bytes)),
            right(fmt::gib1(p.gpu_budget_bytes)),
            right(fmt::tps(p.speed.decode_tokens_per_s)),
            right(fmt::tps(p.speed.prefill_tokens_per_s)),
            right(
                p.max_context
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "none".into()),
            ),
        ]);
    }
    out.push_str(&t.to_string());
    for (m, p) in plans {
        out.push_str(&format!("\n{}", verdict_line(m, p)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command, normalize_args};
    use clap::Parser;

    fn wl(args: &[&str]) -> Workload {
        let mut argv = vec!["headroom", "plan", "llama-3.2-1b", "-H", "m3-max-40c:64"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(normalize_args(argv.iter().map(|s| s.to_string()))).unwrap();
        match cli.command {
            Some(Command::Plan(a)) => workload(&a).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn llama_server_defaults_follow_server_cpp() {
        // tools/server/server.cpp: n_parallel < 0 (not given) -> 4 slots and kv_unified = true
        let w = wl(&["--runtime", "llama-server"]);
        assert_eq!(
            (w.parallel, w.kv_unified, w.runtime),
            (4, true, Runtime::LlamaCpp)
        );
        // an explicit -np keeps the per-slot streams unless -kvu is given too
        let w = wl(&["--runtime", "llama-server", "-np", "4"]);
        assert_eq!((w.parallel, w.kv_unified), (4, false));
        let w = wl(&["--runtime", "llama-server", "-np", "2", "-kvu"]);
        assert_eq!((w.parallel, w.kv_unified), (2, true));
        let w = wl(&["--runtime", "llama-server", "-no-kvu"]);
        assert_eq!((w.parallel, w.kv_unified), (4, false));
        // llama.cpp (library, llama-cli): one sequence, no unified cache unless asked
        let w = wl(&[]);
        assert_eq!((w.parallel, w.kv_unified), (1, false));
        let w = wl(&["-np", "8", "--kv-unified"]);
        assert_eq!((w.parallel, w.kv_unified), (8, true));
    }
}
