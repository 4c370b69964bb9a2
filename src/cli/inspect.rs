//! `headroom inspect`: what a model holds — architecture, hyperparameters, parameters, bytes by type —
//! as a table or stable JSON (keys documented in the README).

use super::{ExitCode, Format, InspectArgs, fmt};
use crate::error::{Error, Result};
use crate::model::{HyperParams, ModelDesc, load_with_quant};
use comfy_table::{Cell, CellAlignment, Table, presets};
use serde_json::{Value, json};

pub fn run(a: &InspectArgs) -> Result<ExitCode> {
    let model = load_with_quant(&a.model, a.quant.as_deref())?;
    let out = match a.format {
        Format::Json => serde_json::to_string_pretty(&to_json(&model))
            .map_err(|e| Error::failure(format!("could not write JSON: {e}")))?,
        Format::Table => table(&model),
    };
    super::emit(&out)?;
    Ok(0)
}

/// A per-layer value: a number when all layers agree, else the array.
fn per_layer_json<T: Copy + PartialEq + serde::Serialize>(v: &[T]) -> Value {
    match HyperParams::uniform(v) {
        Some(x) => json!(x),
        None => json!(v),
    }
}

/// The stable JSON document of `headroom inspect --format json`.
pub fn to_json(m: &ModelDesc) -> Value {
    let hp = &m.hparams;
    let by_type: serde_json::Map<String, Value> = m
        .bytes_by_type()
        .into_iter()
        .map(|(t, b)| (t.name().to_string(), json!(b)))
        .collect();
    json!({
        "format": m.format,
        "source": m.source,
        "name": m.name,
        "architecture": m.architecture,
        "parameters": m.parameters(),
        "tensor_count": m.tensors.len(),
        "weights_bytes": m.weights_bytes(),
        "file_type": m.file_type,
        "hyperparameters": {
            "n_layer": hp.n_layer,
            "n_embd": hp.n_embd,
            "n_head": per_layer_json(&hp.n_head),
            "n_head_kv": per_layer_json(&hp.n_head_kv),
            "head_dim_k": hp.head_dim_k,
            "head_dim_v": hp.head_dim_v,
            "n_ff": per_layer_json(&hp.n_ff),
            "context_length": hp.context_length,
            "vocab_size": hp.vocab_size,
            "n_expert": hp.n_expert,
            "n_expert_used": hp.n_expert_used,
            "sliding_window": hp.sliding_window,
        },
        "tensors_by_type": by_type,
        "warnings": m.warnings,
    })
}

fn table(m: &ModelDesc) -> String {
    let hp = &m.hparams;
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    let mut row = |k: &str, v: String| {
        t.add_row(vec![Cell::new(k), Cell::new(v)]);
    };
    row("model", m.name.clone());
    row("format", format!("{:?}", m.format).to_lowercase());
    row("architecture", m.architecture.clone());
    row("parameters", fmt::params(m.parameters()));
    row("layers", hp.n_layer.to_string());
    row("embedding", hp.n_embd.to_string());
    row(
        "heads / KV heads",
        format!(
            "{} / {}",
            fmt::per_layer(&hp.n_head),
            fmt::per_layer(&hp.n_head_kv)
        ),
    );
    row(
        "head dim (K / V)",
        format!("{} / {}", hp.head_dim_k, hp.head_dim_v),
    );
    row("feed-forward", fmt::per_layer(&hp.n_ff));
    if hp.is_moe() {
        row(
            "experts",
            format!(
                "{} routed, {} used per token{}",
                hp.n_expert,
                hp.n_expert_used,
                if hp.n_expert_shared > 0 {
                    format!(", {} shared", hp.n_expert_shared)
                } else {
                    String::new()
                }
            ),
        );
    }
    if let Some(w) = hp.sliding_window {
        let n = hp.swa_layers.iter().filter(|x| **x).count();
        row(
            "sliding window",
            format!("{w} tokens on {n} of {} layers", hp.n_layer),
        );
    }
    if let Some(mla) = &hp.mla {
        row(
            "MLA latent",
            format!("kv_lora_rank {} + rope {}", mla.kv_lora_rank, mla.rope_dim),
        );
    }
    row("context", fmt::ctx(hp.context_length));
    row("vocab", hp.vocab_size.to_string());
    row(
        "file type",
        m.file_type.clone().unwrap_or_else(|| "-".into()),
    );
    row("tensors", m.tensors.len().to_string());
    row(
        "weights",
        format!(
            "{} ({} bytes)",
            fmt::gib(m.weights_bytes()),
            m.weights_bytes()
        ),
    );
    let mut out = t.to_string();

    let mut bt = Table::new();
    bt.load_style(presets::UTF8_FULL_CONDENSED);
    bt.set_header(vec!["type", "tensors", "bytes", "GiB", "share"]);
    let total = m.weights_bytes().max(1);
    for (ty, bytes) in m.bytes_by_type() {
        let n = m.tensors.iter().filter(|t| t.ty == ty).count();
        bt.add_row(vec![
            Cell::new(ty.name()),
            Cell::new(n).set_alignment(CellAlignment::Right),
            Cell::new(bytes).set_alignment(CellAlignment::Right),
            Cell::new(fmt::gib1(bytes)).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.1}%", bytes as f64 * 100.0 / total as f64))
                .set_alignment(CellAlignment::Right),
        ]);
    }
    out.push_str("\n\nbytes by type\n");
    out.push_str(&bt.to_string());
    for w in &m.warnings {
        out.push_str(&format!("\nwarning: {w}"));
    }
    out
}
