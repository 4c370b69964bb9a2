//! Model spec files: the bundled `model-specs/*.yaml` and user-written ones. A spec gives a model's
//! llama.cpp-style hyperparameters (our [`HyperParams`] names; per-layer values as a scalar or a
//! list) plus provenance (`source`: the published config.json, `dtype`: the published weights'
//! dtype). [`load`] turns one into a [`ModelDesc`] whose tensors are the inventory llama.cpp's
//! converter would write at that dtype (see [`super::arch`]).
//!
//! Errors name the file and the field: an unknown field gets the nearest valid name, an impossible
//! value (zero layers, heads that do not divide, a list of the wrong length) says what to fix.

use super::arch::{self, Options};
use super::{HyperParams, Mla, ModelDesc, ModelFormat, TensorType};
use crate::error::{Error, Result};
use serde::Deserialize;
use std::fmt;
use std::path::Path;

/// Largest layer count accepted (per-layer vectors are sized by it).
const MAX_LAYERS: u32 = 4096;

/// A per-layer value: one scalar for every layer, or a list with one value per layer.
#[derive(Debug, Clone, PartialEq)]
pub enum PerLayer {
    All(u64),
    Each(Vec<u64>),
}

impl PerLayer {
    fn expand(&self, n_layer: u32) -> Vec<u64> {
        match self {
            PerLayer::All(v) => vec![*v; n_layer as usize],
            PerLayer::Each(v) => v.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for PerLayer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PerLayer;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-negative integer or a list of them (one per layer)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<PerLayer, E> {
                Ok(PerLayer::All(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<PerLayer, E> {
                u64::try_from(v)
                    .map(PerLayer::All)
                    .map_err(|_| E::custom(format!("{v} is negative; give a non-negative integer")))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<PerLayer, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<u64>()? {
                    if out.len() >= MAX_LAYERS as usize {
                        return Err(serde::de::Error::custom(format!(
                            "more than {MAX_LAYERS} per-layer values"
                        )));
                    }
                    out.push(v);
                }
                Ok(PerLayer::Each(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Multi-head latent attention dimensions (DeepSeek config.json names).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlaSpec {
    /// 0 when queries are not low-rank (DeepSeek-V2-Lite).
    pub q_lora_rank: u64,
    pub kv_lora_rank: u64,
    pub qk_rope_head_dim: u64,
    pub qk_nope_head_dim: u64,
    pub v_head_dim: u64,
}

/// Rope scaling kinds a spec may name (only `llama3` changes the tensor list: `rope_freqs.weight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RopeScaling {
    Llama3,
    Yarn,
    Linear,
}

/// One spec file, as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Bundled id (the file stem), e.g. `llama-3.1-8b`.
    pub id: String,
    pub name: String,
    /// llama.cpp architecture name (see [`arch::ARCHITECTURES`]).
    pub architecture: String,
    /// URL of the published config.json.
    pub source: String,
    /// The published weights' dtype (`BF16`, `F16`, `F8_E4M3`...).
    pub dtype: String,
    pub n_layer: u32,
    pub n_embd: u64,
    pub n_head: PerLayer,
    pub n_head_kv: PerLayer,
    /// Key head dimension; default n_embd / n_head.
    #[serde(default)]
    pub head_dim: Option<u64>,
    /// Value head dimension; default head_dim.
    #[serde(default)]
    pub head_dim_v: Option<u64>,
    /// Dense FFN width (for MoE models: of the leading dense layers; omit when there are none).
    #[serde(default)]
    pub n_ff: Option<PerLayer>,
    pub context_length: u64,
    pub vocab_size: u64,
    pub tie_word_embeddings: bool,
    #[serde(default)]
    pub n_expert: u32,
    #[serde(default)]
    pub n_expert_used: u32,
    #[serde(default)]
    pub n_expert_shared: u32,
    /// Width of one routed expert.
    #[serde(default)]
    pub n_ff_expert: u64,
    /// Total width of the shared expert FFN; default n_ff_expert * n_expert_shared.
    #[serde(default)]
    pub n_ff_shexp: Option<u64>,
    /// Leading dense layers of a MoE model (DeepSeek `first_k_dense_replace`).
    #[serde(default)]
    pub n_dense_lead: u32,
    /// The router has a score-correction bias (DeepSeek-V3 `e_score_correction_bias`).
    #[serde(default)]
    pub expert_probs_bias: bool,
    #[serde(default)]
    pub sliding_window: Option<u64>,
    /// Every `pattern`-th layer is full attention, the others use the window (llama.cpp
    /// `set_swa_pattern`: layer il is SWA when il % pattern < pattern - 1). Omit for all-SWA.
    #[serde(default)]
    pub sliding_window_pattern: Option<u32>,
    #[serde(default)]
    pub mla: Option<MlaSpec>,
    #[serde(default)]
    pub rope_freq_base: Option<f64>,
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
}

/// Ids of the bundled specs, sorted.
pub fn bundled_ids() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = crate::bundled::MODEL_SPECS
        .iter()
        .map(|(id, _)| *id)
        .collect();
    v.sort_unstable();
    v
}

/// Load a bundled spec by id, or a spec file by path (anything ending in `.yaml`/`.yml` or that
/// exists on disk).
pub fn load(id_or_path: &str) -> Result<ModelDesc> {
    let path = Path::new(id_or_path);
    let is_path = path.extension().is_some_and(|e| e == "yaml" || e == "yml") || path.is_file();
    let spec = if is_path {
        let text = crate::input::read_text_capped(path, crate::input::MAX_TEXT_FILE_BYTES)?;
        parse_spec(&text, id_or_path)?
    } else if let Some((_, text)) = crate::bundled::MODEL_SPECS
        .iter()
        .find(|(id, _)| *id == id_or_path)
    {
        parse_spec(text, &format!("model-specs/{id_or_path}.yaml"))?
    } else {
        let ids = bundled_ids();
        let hint = nearest(id_or_path, &ids)
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        return Err(Error::usage(format!(
            "no bundled model spec `{id_or_path}`{hint}; `headroom list models` shows them, or give a .yaml path"
        )));
    };
    let label = if is_path {
        id_or_path.to_string()
    } else {
        format!("model-specs/{id_or_path}.yaml")
    };
    desc(&spec, id_or_path, &label)
}

/// Parse and check a spec's text; `label` (a file name) prefixes every error.
pub fn parse_spec(text: &str, label: &str) -> Result<Spec> {
    let spec: Spec = serde_saphyr::from_str(text).map_err(|e| yaml_error(&e, text, label))?;
    check(&spec, label)?;
    Ok(spec)
}

/// Build the hyperparameters a checked spec describes.
pub fn hparams(spec: &Spec, label: &str) -> Result<HyperParams> {
    let n = spec.n_layer;
    let bad = |field: &str, msg: String| Error::bad_input(label, format!("{field}: {msg}"));
    let per_layer = |field: &str, v: &PerLayer| -> Result<Vec<u64>> {
        let out = v.expand(n);
        if out.len() != n as usize {
            return Err(bad(
                field,
                format!(
                    "{} values given for n_layer = {n}; give one per layer or a single number",
                    out.len()
                ),
            ));
        }
        Ok(out)
    };
    let to_u32 = |field: &str, v: Vec<u64>| -> Result<Vec<u32>> {
        v.into_iter()
            .map(|x| u32::try_from(x).map_err(|_| bad(field, format!("{x} is too large"))))
            .collect()
    };
    let n_head = to_u32("n_head", per_layer("n_head", &spec.n_head)?)?;
    let n_head_kv = to_u32("n_head_kv", per_layer("n_head_kv", &spec.n_head_kv)?)?;
    for (il, (&h, &kv)) in n_head.iter().zip(&n_head_kv).enumerate() {
        if h == 0 {
            return Err(bad(
                "n_head",
                format!("layer {il} has 0 heads; every layer needs at least one"),
            ));
        }
        if kv == 0 || h % kv != 0 {
            return Err(bad(
                "n_head_kv",
                format!("layer {il}: {kv} KV heads must be at least 1 and divide n_head = {h}"),
            ));
        }
    }
    let moe = spec.n_expert > 0;
    let ff_given = match &spec.n_ff {
        Some(v) => per_layer("n_ff", v)?,
        None => vec![0; n as usize],
    };
    let mut n_ff = Vec::with_capacity(n as usize);
    for (il, ff) in ff_given.into_iter().enumerate() {
        let dense = !moe || (il as u32) < spec.n_dense_lead;
        if dense && ff == 0 {
            return Err(bad(
                "n_ff",
                format!("layer {il} is a dense layer and needs an FFN width > 0"),
            ));
        }
        n_ff.push(if dense { ff } else { 0 });
    }
    let (head_dim_k, head_dim_v, mla) = match &spec.mla {
        Some(m) => (
            m.qk_nope_head_dim + m.qk_rope_head_dim,
            m.v_head_dim,
            Some(Mla {
                kv_lora_rank: m.kv_lora_rank,
                q_lora_rank: m.q_lora_rank,
                rope_dim: m.qk_rope_head_dim,
                nope_dim: m.qk_nope_head_dim,
                v_head_dim: m.v_head_dim,
            }),
        ),
        None => {
            let hd = match spec.head_dim {
                Some(hd) => hd,
                None => {
                    let h = u64::from(n_head[0]);
                    if !spec.n_embd.is_multiple_of(h) {
                        return Err(bad(
                            "head_dim",
                            format!(
                                "not given and n_embd = {} is not a multiple of n_head = {h}; give head_dim",
                                spec.n_embd
                            ),
                        ));
                    }
                    spec.n_embd / h
                }
            };
            (hd, spec.head_dim_v.unwrap_or(hd), None)
        }
    };
    let swa_layers = match (spec.sliding_window, spec.sliding_window_pattern) {
        (None, _) => vec![false; n as usize],
        (Some(_), None) => vec![true; n as usize],
        (Some(_), Some(p)) => (0..n).map(|il| il % p < p - 1).collect(),
    };
    Ok(HyperParams {
        n_layer: n,
        n_embd: spec.n_embd,
        n_head,
        n_head_kv,
        head_dim_k,
        head_dim_v,
        n_ff,
        context_length: spec.context_length,
        vocab_size: spec.vocab_size,
        n_expert: spec.n_expert,
        n_expert_used: spec.n_expert_used,
        n_expert_shared: spec.n_expert_shared,
        n_ff_expert: spec.n_ff_expert,
        n_ff_shexp: spec
            .n_ff_shexp
            .unwrap_or(spec.n_ff_expert * u64::from(spec.n_expert_shared)),
        n_dense_lead: spec.n_dense_lead,
        sliding_window: spec.sliding_window,
        swa_layers,
        mla,
        ssm: None,
        recurrent_layers: vec![false; n as usize],
        rope_freq_base: spec.rope_freq_base,
        tie_word_embeddings: spec.tie_word_embeddings,
    })
}

/// The model a spec describes, with the inventory at its dtype.
pub fn desc(spec: &Spec, source: &str, label: &str) -> Result<ModelDesc> {
    let hp = hparams(spec, label)?;
    let published = TensorType::from_name(&spec.dtype)
        .ok_or_else(|| Error::bad_input(label, format!("dtype: unknown type `{}`", spec.dtype)))?;
    let mut warnings = Vec::new();
    // GGUF stores F32/F16/BF16 as published; other dtypes (FP8) are widened to BF16 by the converter.
    let ty = match published {
        TensorType::F32 | TensorType::F16 | TensorType::BF16 => published,
        other => {
            warnings.push(format!(
                "published weights are {other}; the inventory is the BF16 GGUF that convert_hf_to_gguf.py writes from them"
            ));
            TensorType::BF16
        }
    };
    let opts = Options {
        rope_freqs: spec.rope_scaling == Some(RopeScaling::Llama3),
        expert_probs_bias: spec.expert_probs_bias,
    };
    let tensors = arch::inventory_with(&spec.architecture, &hp, ty, opts).map_err(|e| {
        Error::bad_input(label, format!("architecture `{}`: {e}", spec.architecture))
    })?;
    Ok(ModelDesc {
        format: ModelFormat::Spec,
        source: source.to_string(),
        name: spec.name.clone(),
        architecture: spec.architecture.clone(),
        hparams: hp,
        tensors,
        file_type: Some(ty.name().to_string()),
        mlx_quant: None,
        files: Vec::new(),
        warnings,
    })
}

/// Value checks that serde cannot express; each error names the field.
fn check(spec: &Spec, label: &str) -> Result<()> {
    let bad = |field: &str, msg: &str| Err(Error::bad_input(label, format!("{field}: {msg}")));
    if spec.id.trim().is_empty() {
        return bad("id", "must not be empty");
    }
    if !arch::supported().contains(&spec.architecture.as_str()) {
        let known = arch::supported();
        let hint = nearest(&spec.architecture, &known)
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        return bad(
            "architecture",
            &format!(
                "`{}` is not supported{hint}; known: {}",
                spec.architecture,
                known.join(", ")
            ),
        );
    }
    if TensorType::from_name(&spec.dtype).is_none() {
        return bad(
            "dtype",
            &format!(
                "unknown type `{}`; use e.g. BF16, F16, F32, F8_E4M3",
                spec.dtype
            ),
        );
    }
    if spec.n_layer == 0 {
        return bad("n_layer", "must be at least 1");
    }
    if spec.n_layer > MAX_LAYERS {
        return bad(
            "n_layer",
            &format!("{} is more than {MAX_LAYERS}", spec.n_layer),
        );
    }
    for (field, v) in [
        ("n_embd", spec.n_embd),
        ("context_length", spec.context_length),
        ("vocab_size", spec.vocab_size),
    ] {
        if v == 0 {
            return bad(field, "must be at least 1");
        }
    }
    for (field, v) in [
        ("head_dim", spec.head_dim),
        ("head_dim_v", spec.head_dim_v),
        ("sliding_window", spec.sliding_window),
    ] {
        if v == Some(0) {
            return bad(field, "must be at least 1 (or omitted)");
        }
    }
    if spec.sliding_window_pattern == Some(0) {
        return bad(
            "sliding_window_pattern",
            "must be at least 1 (1 = every layer full attention)",
        );
    }
    if spec.sliding_window_pattern.is_some() && spec.sliding_window.is_none() {
        return bad("sliding_window_pattern", "given without sliding_window");
    }
    if spec.n_expert == 1 {
        return bad(
            "n_expert",
            "1 expert is not a mixture; use 0 for a dense model",
        );
    }
    if spec.n_expert > 0 {
        if spec.n_expert_used == 0 || spec.n_expert_used > spec.n_expert {
            return bad(
                "n_expert_used",
                &format!("must be between 1 and n_expert = {}", spec.n_expert),
            );
        }
        if spec.n_ff_expert == 0 {
            return bad("n_ff_expert", "a MoE model needs the routed expert width");
        }
        if spec.n_dense_lead >= spec.n_layer {
            return bad("n_dense_lead", "must be less than n_layer");
        }
    } else {
        for (field, v) in [
            ("n_expert_used", u64::from(spec.n_expert_used)),
            ("n_expert_shared", u64::from(spec.n_expert_shared)),
            ("n_ff_expert", spec.n_ff_expert),
            ("n_dense_lead", u64::from(spec.n_dense_lead)),
        ] {
            if v != 0 {
                return bad(field, "given for a dense model (n_expert is 0)");
            }
        }
    }
    if spec.n_expert_shared > 0 && spec.n_ff_shexp == Some(0) {
        return bad(
            "n_ff_shexp",
            "must be at least 1 when there are shared experts",
        );
    }
    match (&spec.mla, spec.architecture.as_str()) {
        (None, "deepseek2") => return bad("mla", "deepseek2 needs the MLA dimensions"),
        (Some(_), a) if a != "deepseek2" => {
            return bad(
                "mla",
                &format!("architecture `{a}` has no latent attention"),
            );
        }
        (Some(m), _) => {
            for (f, v) in [
                ("mla.kv_lora_rank", m.kv_lora_rank),
                ("mla.qk_rope_head_dim", m.qk_rope_head_dim),
                ("mla.qk_nope_head_dim", m.qk_nope_head_dim),
                ("mla.v_head_dim", m.v_head_dim),
            ] {
                if v == 0 {
                    return bad(f, "must be at least 1");
                }
            }
        }
        _ => {}
    }
    if let Some(b) = spec.rope_freq_base
        && !(b.is_finite() && b > 0.0)
    {
        return bad("rope_freq_base", "must be a positive number");
    }
    // per-layer lengths, head divisibility and FFN widths
    hparams(spec, label).map(|_| ())
}

/// Turn a YAML/serde error into one line naming the file, the line and the field.
fn yaml_error(e: &serde_saphyr::Error, text: &str, label: &str) -> Error {
    // serde's deny_unknown_fields and missing fields arrive as structured variants
    let e = e.without_snippet();
    match e {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => {
            let hint = nearest(field, expected)
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            let line = e
                .location()
                .filter(|l| l.line() > 0)
                .map(|l| format!(" (line {})", l.line()))
                .unwrap_or_default();
            return Error::bad_input(label, format!("unknown field `{field}`{line}{hint}"));
        }
        serde_saphyr::Error::SerdeMissingField { field, .. } => {
            return Error::bad_input(
                label,
                format!("missing field `{field}`; every spec needs it"),
            );
        }
        _ => {}
    }
    let raw = e.to_string();
    let first = raw.lines().next().unwrap_or("").trim().to_string();
    let at = e.location().filter(|l| l.line() > 0);
    let key = at
        .and_then(|l| text.lines().nth(l.line() as usize - 1))
        .and_then(|line| {
            let k = line
                .trim_start()
                .trim_start_matches("- ")
                .split(':')
                .next()?
                .trim();
            (!k.is_empty() && !k.contains(' ')).then(|| k.to_string())
        });
    let msg = strip_location(&first);
    match (key, at) {
        (Some(k), Some(l)) => Error::bad_input(label, format!("{k} (line {}): {msg}", l.line())),
        (None, Some(l)) => Error::bad_input(label, format!("line {}: {msg}", l.line())),
        _ => Error::bad_input(label, msg),
    }
}

/// "error: line 6 column 1: invalid type ..." -> "invalid type ...".
fn strip_location(s: &str) -> String {
    let s = s.strip_prefix("error: ").unwrap_or(s);
    let s = match s.strip_prefix("line ") {
        Some(rest) => rest.split_once(": ").map_or(s, |(_, m)| m),
        None => s,
    };
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// The candidate closest to `word` by edit distance, if reasonably close.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .min()
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 2).max(2))
        .map(|(_, c)| c)
}

use crate::suggest::edit_distance;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("n_layers", "n_layer"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            nearest("n_layers", &["n_layer", "n_embd", "n_head"]),
            Some("n_layer")
        );
        assert_eq!(nearest("zzzzzzzzzz", &["n_layer"]), None);
    }
}
