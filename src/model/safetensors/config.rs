//! Hugging Face `config.json` → [`HyperParams`] and the llama.cpp architecture name.
//!
//! Reads the fields transformers' config classes define (`num_hidden_layers`, `num_key_value_heads`,
//! `layer_types`, `n_routed_experts`, `kv_lora_rank`...), applying the class defaults transformers
//! applies when a field is omitted (and saying so in a warning). Vision-language wrappers
//! (`Gemma3ForConditionalGeneration`) keep the language model's fields in `text_config`.

use crate::error::{Error, Result};
use crate::model::{HyperParams, Mla};
use serde_json::Value;

/// Hugging Face `architectures[0]` → llama.cpp architecture name.
pub fn llama_cpp_arch(hf_arch: &str) -> Option<&'static str> {
    Some(match hf_arch {
        "LlamaForCausalLM" | "MistralForCausalLM" | "MixtralForCausalLM" => "llama",
        "Qwen2ForCausalLM" => "qwen2",
        "Qwen2MoeForCausalLM" => "qwen2moe",
        "Qwen3ForCausalLM" => "qwen3",
        "Qwen3MoeForCausalLM" => "qwen3moe",
        "GemmaForCausalLM" => "gemma",
        "Gemma2ForCausalLM" => "gemma2",
        "Gemma3ForCausalLM" | "Gemma3ForConditionalGeneration" => "gemma3",
        "Phi3ForCausalLM" => "phi3",
        "DeepseekV2ForCausalLM" | "DeepseekV3ForCausalLM" => "deepseek2",
        "GptOssForCausalLM" => "gpt-oss",
        _ => return None,
    })
}

/// transformers `Gemma3TextConfig` defaults for the fields published Gemma 3 configs omit
/// (transformers `configuration_gemma3.py`).
const GEMMA3_DEFAULTS: &[(&str, u64)] = &[
    ("vocab_size", 262_208),
    ("num_attention_heads", 8),
    ("num_key_value_heads", 4),
    ("head_dim", 256),
    ("max_position_embeddings", 131_072),
    ("sliding_window", 4096),
    ("sliding_window_pattern", 6),
];
const GEMMA3_ROPE_THETA: f64 = 1_000_000.0;

/// Field reader over one config object, collecting warnings.
struct Fields<'a> {
    v: &'a Value,
    label: &'a str,
    defaults: &'static [(&'static str, u64)],
    warnings: Vec<String>,
}

impl Fields<'_> {
    fn present(&self, key: &str) -> bool {
        self.v.get(key).is_some_and(|x| !x.is_null())
    }

    fn bad(&self, key: &str, what: &str) -> Error {
        let found = self.v.get(key).map(|x| x.to_string()).unwrap_or_default();
        let found: String = found.chars().take(60).collect();
        Error::bad_input(
            self.label,
            format!("config field \"{key}\": expected {what}, found {found}"),
        )
    }

    /// A non-negative integer field; absent or null → `None`.
    fn u64_opt(&self, key: &str) -> Result<Option<u64>> {
        match self.v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => {
                if let Some(n) = x.as_u64() {
                    return Ok(Some(n));
                }
                // integral floats (`1e6`, `4096.0`) are accepted
                match x.as_f64() {
                    Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 => Ok(Some(f as u64)),
                    _ => Err(self.bad(key, "a non-negative integer")),
                }
            }
        }
    }

    /// A field that is required unless this architecture's config class has a default for it.
    fn u64_req(&mut self, key: &str, what_for: &str) -> Result<u64> {
        if let Some(n) = self.u64_opt(key)? {
            return Ok(n);
        }
        if let Some(&(_, d)) = self.defaults.iter().find(|(k, _)| *k == key) {
            self.warnings.push(format!(
                "{key} missing from config.json; assumed {d}, the transformers default"
            ));
            return Ok(d);
        }
        Err(Error::bad_input(
            self.label,
            format!(
                "config field \"{key}\" is missing ({what_for}); add it from the model's published config.json"
            ),
        ))
    }

    /// First present of several spellings.
    fn u64_any(&self, keys: &[&str]) -> Result<Option<u64>> {
        for k in keys {
            if let Some(n) = self.u64_opt(k)? {
                return Ok(Some(n));
            }
        }
        Ok(None)
    }

    fn f64_opt(&self, key: &str) -> Result<Option<f64>> {
        match self.v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => x
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.bad(key, "a number")),
        }
    }

    fn bool_opt(&self, key: &str) -> Result<Option<bool>> {
        match self.v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => x
                .as_bool()
                .map(Some)
                .ok_or_else(|| self.bad(key, "true or false")),
        }
    }

    /// Per-layer head counts: a number, or a list of `n_layer` numbers.
    fn per_layer_u32(
        &self,
        key: &str,
        n_layer: usize,
        fallback: Option<&[u32]>,
    ) -> Result<Vec<u32>> {
        match self.v.get(key) {
            Some(Value::Array(a)) => {
                if a.len() != n_layer {
                    return Err(self.bad(
                        key,
                        &format!("a number or a list of {n_layer} numbers (one per layer)"),
                    ));
                }
                a.iter()
                    .map(|x| x.as_u64().and_then(|n| u32::try_from(n).ok()))
                    .collect::<Option<Vec<u32>>>()
                    .ok_or_else(|| self.bad(key, "a list of non-negative integers"))
            }
            _ => match self.u64_opt(key)? {
                Some(n) => {
                    let n =
                        u32::try_from(n).map_err(|_| self.bad(key, "a head count below 2^32"))?;
                    Ok(vec![n; n_layer])
                }
                None => match fallback {
                    Some(f) => Ok(f.to_vec()),
                    None => {
                        if let Some(&(_, d)) = self.defaults.iter().find(|(k, _)| *k == key) {
                            Ok(vec![d as u32; n_layer])
                        } else {
                            Err(Error::bad_input(
                                self.label,
                                format!(
                                    "config field \"{key}\" is missing (attention head count); add it from the model's published config.json"
                                ),
                            ))
                        }
                    }
                },
            },
        }
    }
}

/// Map a Hugging Face `config.json` to (llama.cpp architecture name, hyperparameters, warnings).
/// `label` names the file in errors.
pub fn hparams_from_config(
    json: &Value,
    label: &str,
) -> Result<(String, HyperParams, Vec<String>)> {
    if !json.is_object() {
        return Err(Error::bad_input(label, "config.json is not a JSON object"));
    }
    let mut warnings = Vec::new();

    // The language model's fields: top level, or `text_config` for vision-language wrappers.
    let text = match json.get("text_config") {
        Some(t) if t.is_object() && json.get("num_hidden_layers").is_none() => t,
        _ => json,
    };
    let model_type = text
        .get("model_type")
        .or_else(|| json.get("model_type"))
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);

    let hf_arch = json
        .get("architectures")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str);
    let arch: String = match (hf_arch, &model_type) {
        (Some(a), _) if llama_cpp_arch(a).is_some() => {
            llama_cpp_arch(a).unwrap_or_default().to_string()
        }
        (Some(a), Some(mt)) => {
            warnings.push(format!(
                "architecture {a} is not one headroom maps to llama.cpp; using model_type \"{mt}\""
            ));
            mt.clone()
        }
        (None, Some(mt)) => {
            warnings.push(format!(
                "config.json has no \"architectures\"; using model_type \"{mt}\""
            ));
            mt.clone()
        }
        (Some(a), None) => {
            let lower = a.to_ascii_lowercase();
            warnings.push(format!("architecture {a} is not one headroom maps to llama.cpp and there is no model_type; using \"{lower}\""));
            lower
        }
        (None, None) => {
            return Err(Error::bad_input(
                label,
                "config field \"architectures\" (and \"model_type\") is missing; cannot tell the architecture",
            ));
        }
    };

    let defaults: &'static [(&'static str, u64)] = if arch == "gemma3" {
        GEMMA3_DEFAULTS
    } else {
        &[]
    };
    let mut f = Fields {
        v: text,
        label,
        defaults,
        warnings: Vec::new(),
    };

    // --- sizes
    let n_layer_u64 = match f.u64_any(&["num_hidden_layers", "n_layer", "num_layers"])? {
        Some(n) => n,
        None => f.u64_req("num_hidden_layers", "number of transformer layers")?,
    };
    if n_layer_u64 == 0 || n_layer_u64 > 100_000 {
        return Err(f.bad("num_hidden_layers", "a layer count between 1 and 100000"));
    }
    let n_layer = n_layer_u64 as usize;
    let n_embd = match f.u64_any(&["hidden_size", "n_embd", "d_model"])? {
        Some(n) => n,
        None => f.u64_req("hidden_size", "model width")?,
    };
    if n_embd == 0 {
        return Err(f.bad("hidden_size", "a positive width"));
    }
    let n_head = f.per_layer_u32("num_attention_heads", n_layer, None)?;
    if n_head.contains(&0) {
        return Err(f.bad("num_attention_heads", "a positive head count"));
    }
    let n_head_kv = f.per_layer_u32("num_key_value_heads", n_layer, Some(&n_head))?;
    for (il, (&h, &kv)) in n_head.iter().zip(&n_head_kv).enumerate() {
        if kv == 0 || kv > h || h % kv != 0 {
            f.warnings.push(format!(
                "layer {il}: {kv} KV heads for {h} query heads is not grouped-query attention as usual; used as given"
            ));
            break;
        }
    }
    let vocab_size = f.u64_req("vocab_size", "vocabulary size")?;
    let context_length = match f.u64_any(&[
        "max_position_embeddings",
        "n_positions",
        "max_sequence_length",
        "seq_length",
    ])? {
        Some(n) => n,
        None => f.u64_req("max_position_embeddings", "context length")?,
    };

    // --- head dimensions (MLA or plain)
    let mla = if f.present("kv_lora_rank") {
        let kv_lora_rank = f.u64_req("kv_lora_rank", "MLA KV compression rank")?;
        let q_lora_rank = f.u64_opt("q_lora_rank")?.unwrap_or(0);
        let rope_dim = f.u64_req("qk_rope_head_dim", "MLA RoPE head dimension")?;
        let nope_dim = f.u64_req("qk_nope_head_dim", "MLA non-RoPE head dimension")?;
        let v_head_dim = f.u64_req("v_head_dim", "MLA value head dimension")?;
        Some(Mla {
            kv_lora_rank,
            q_lora_rank,
            rope_dim,
            nope_dim,
            v_head_dim,
        })
    } else {
        None
    };
    let (head_dim_k, head_dim_v) = match &mla {
        Some(m) => (m.nope_dim + m.rope_dim, m.v_head_dim),
        None => {
            let hd = match f.u64_opt("head_dim")? {
                Some(hd) => hd,
                None => {
                    if f.defaults.iter().any(|(k, _)| *k == "head_dim") {
                        f.u64_req("head_dim", "attention head dimension")?
                    } else {
                        let h = u64::from(n_head[0]);
                        if n_embd % h != 0 {
                            return Err(Error::bad_input(
                                label,
                                format!(
                                    "config field \"head_dim\" is missing and hidden_size {n_embd} is not a multiple of num_attention_heads {h}; add head_dim"
                                ),
                            ));
                        }
                        n_embd / h
                    }
                }
            };
            if hd == 0 {
                return Err(f.bad("head_dim", "a positive head dimension"));
            }
            (hd, hd)
        }
    };

    // --- mixture of experts
    let n_expert = f
        .u64_any(&["num_experts", "num_local_experts", "n_routed_experts"])?
        .unwrap_or(0);
    let n_expert =
        u32::try_from(n_expert).map_err(|_| f.bad("num_experts", "an expert count below 2^32"))?;
    let is_moe = n_expert > 1;
    let mut n_expert_used = 0u32;
    let mut n_expert_shared = 0u32;
    let mut n_ff_expert = 0u64;
    let mut n_ff_shexp = 0u64;
    let mut moe_layer = vec![false; n_layer];
    if is_moe {
        let used = match f.u64_any(&[
            "num_experts_per_tok",
            "experts_per_token",
            "num_experts_per_token",
        ])? {
            Some(n) => n,
            None => f.u64_req("num_experts_per_tok", "experts used per token")?,
        };
        if used == 0 || used > u64::from(n_expert) {
            return Err(f.bad(
                "num_experts_per_tok",
                &format!("between 1 and the {n_expert} experts"),
            ));
        }
        n_expert_used = used as u32;
        n_ff_expert = match f.u64_opt("moe_intermediate_size")? {
            Some(n) => n,
            // Mixtral, gpt-oss: intermediate_size is the expert width
            None => f.u64_req(
                "intermediate_size",
                "expert FFN width (moe_intermediate_size)",
            )?,
        };
        let shexp_size = f.u64_opt("shared_expert_intermediate_size")?.unwrap_or(0);
        let n_shared = f.u64_opt("n_shared_experts")?.unwrap_or(0);
        if n_shared > 0 {
            n_expert_shared =
                u32::try_from(n_shared).map_err(|_| f.bad("n_shared_experts", "a small count"))?;
            n_ff_shexp = if shexp_size > 0 {
                shexp_size
            } else {
                n_ff_expert.saturating_mul(n_shared)
            };
        } else if shexp_size > 0 {
            n_expert_shared = 1;
            n_ff_shexp = shexp_size;
        }
        let first_dense = f.u64_opt("first_k_dense_replace")?;
        let freq = f.u64_opt("moe_layer_freq")?.unwrap_or(1).max(1);
        let sparse_step = f.u64_opt("decoder_sparse_step")?;
        let mlp_only: Vec<u64> = match text.get("mlp_only_layers") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_u64).collect(),
            _ => Vec::new(),
        };
        for (il, m) in moe_layer.iter_mut().enumerate() {
            let il = il as u64;
            *m = if let Some(k) = first_dense {
                // transformers DeepseekV3: layer_idx >= first_k_dense_replace and layer_idx % moe_layer_freq == 0
                il >= k && il.is_multiple_of(freq)
            } else if sparse_step.is_some() || !mlp_only.is_empty() {
                // transformers Qwen2Moe/Qwen3Moe
                let step = sparse_step.unwrap_or(1);
                !mlp_only.contains(&il) && step > 0 && (il + 1).is_multiple_of(step)
            } else {
                true
            };
        }
    }
    let dense_needed = moe_layer.iter().any(|m| !m);
    let n_ff_dense = if dense_needed {
        match f.u64_any(&["intermediate_size", "ffn_dim", "n_inner"])? {
            Some(n) => n,
            None => f.u64_req("intermediate_size", "dense FFN width")?,
        }
    } else {
        0
    };
    let n_ff: Vec<u64> = moe_layer
        .iter()
        .map(|&m| if m { 0 } else { n_ff_dense })
        .collect();
    let n_dense_lead = if is_moe {
        moe_layer.iter().take_while(|m| !**m).count() as u32
    } else {
        0
    };

    // --- sliding window
    let window = f.u64_opt("sliding_window")?;
    let use_sw = f.bool_opt("use_sliding_window")?;
    let swa_layers: Vec<bool> = if let Some(Value::Array(types)) = text.get("layer_types") {
        if types.len() != n_layer {
            return Err(f.bad(
                "layer_types",
                &format!("a list of {n_layer} layer types (one per layer)"),
            ));
        }
        let mut out = Vec::with_capacity(n_layer);
        for t in types {
            match t.as_str() {
                Some("sliding_attention") => out.push(true),
                Some("full_attention") => out.push(false),
                Some(other) => {
                    f.warnings.push(format!(
                        "layer_types entry \"{other}\" not known; treated as full attention"
                    ));
                    out.push(false)
                }
                None => return Err(f.bad("layer_types", "a list of strings")),
            }
        }
        out
    } else if arch == "gemma2" {
        // transformers Gemma2: even layers slide, odd layers are global
        (0..n_layer).map(|il| il % 2 == 0).collect()
    } else if arch == "gemma3" {
        let pattern = f
            .u64_req("sliding_window_pattern", "sliding-window layer pattern")?
            .max(1);
        // transformers Gemma3: every `pattern`-th layer is global
        (0..n_layer as u64)
            .map(|il| (il + 1) % pattern != 0)
            .collect()
    } else if window.is_some() && use_sw != Some(false) {
        match (use_sw, f.u64_opt("max_window_layers")?) {
            // transformers Qwen2/Qwen3: layers from max_window_layers on slide
            (Some(true), Some(mwl)) => (0..n_layer as u64).map(|il| il >= mwl).collect(),
            _ => vec![true; n_layer],
        }
    } else {
        vec![false; n_layer]
    };
    let sliding_window = if swa_layers.iter().any(|&s| s) {
        let w = match window {
            Some(w) => w,
            None => f.u64_req(
                "sliding_window",
                "sliding-window size, since some layers slide",
            )?,
        };
        if w >= context_length {
            f.warnings.push(format!(
                "sliding_window {w} is not below the context length {context_length}; those layers attend to everything"
            ));
        }
        Some(w)
    } else {
        None
    };

    // --- rope, tying
    let rope_freq_base = match f.f64_opt("rope_theta")? {
        Some(t) => Some(t),
        None => {
            let from_params = text.get("rope_parameters").and_then(|p| {
                p.get("rope_theta")
                    .or_else(|| p.get("full_attention").and_then(|fa| fa.get("rope_theta")))
            });
            match from_params.and_then(Value::as_f64) {
                Some(t) => Some(t),
                None if arch == "gemma3" => Some(GEMMA3_ROPE_THETA),
                None => None,
            }
        }
    };
    let tie_default = arch.starts_with("gemma");
    let tie_word_embeddings = match json
        .get("tie_word_embeddings")
        .or_else(|| text.get("tie_word_embeddings"))
    {
        Some(Value::Bool(b)) => *b,
        _ => tie_default,
    };

    let hp = HyperParams {
        n_layer: n_layer as u32,
        n_embd,
        n_head,
        n_head_kv,
        head_dim_k,
        head_dim_v,
        n_ff,
        context_length,
        vocab_size,
        n_expert: if is_moe { n_expert } else { 0 },
        n_expert_used,
        n_expert_shared,
        n_ff_expert,
        n_ff_shexp,
        n_dense_lead,
        sliding_window,
        swa_layers,
        mla,
        ssm: None,
        recurrent_layers: vec![false; n_layer],
        rope_freq_base,
        tie_word_embeddings,
    };
    warnings.extend(f.warnings);
    Ok((arch, hp, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn llama3_8b() -> Value {
        // meta-llama/Meta-Llama-3-8B config.json (published values)
        json!({
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
            "num_hidden_layers": 32, "num_key_value_heads": 8, "vocab_size": 128256,
            "max_position_embeddings": 8192, "rope_theta": 500000.0, "tie_word_embeddings": false
        })
    }

    #[test]
    fn llama_dense() {
        let (arch, hp, w) = hparams_from_config(&llama3_8b(), "config.json").unwrap();
        assert_eq!(arch, "llama");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(hp.n_layer, 32);
        assert_eq!(hp.head_dim_k, 128);
        assert_eq!(HyperParams::uniform(&hp.n_head_kv), Some(8));
        assert_eq!(HyperParams::uniform(&hp.n_ff), Some(14336));
        assert_eq!(hp.sliding_window, None);
        assert_eq!(hp.rope_freq_base, Some(500000.0));
        assert!(!hp.is_moe());
    }

    #[test]
    fn missing_field_is_named() {
        let mut c = llama3_8b();
        c.as_object_mut().unwrap().remove("vocab_size");
        let e = hparams_from_config(&c, "m/config.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("m/config.json: "), "{e}");
        assert!(e.contains("\"vocab_size\""), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn wrong_type_is_named() {
        let mut c = llama3_8b();
        c["num_hidden_layers"] = json!("thirty-two");
        let e = hparams_from_config(&c, "config.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("num_hidden_layers") && e.contains("thirty-two"),
            "{e}"
        );
    }

    #[test]
    fn unknown_arch_keeps_model_type() {
        let mut c = llama3_8b();
        c["architectures"] = json!(["FancyNewForCausalLM"]);
        c["model_type"] = json!("Fancy");
        let (arch, _, w) = hparams_from_config(&c, "config.json").unwrap();
        assert_eq!(arch, "fancy");
        assert!(w[0].contains("FancyNewForCausalLM"));
    }

    #[test]
    fn mistral_sliding_and_qwen_disabled_window() {
        // mistralai/Mistral-7B-v0.1: sliding_window 4096 on every layer
        let mut c = llama3_8b();
        c["architectures"] = json!(["MistralForCausalLM"]);
        c["sliding_window"] = json!(4096);
        c["max_position_embeddings"] = json!(32768);
        let (_, hp, _) = hparams_from_config(&c, "config.json").unwrap();
        assert_eq!(hp.sliding_window, Some(4096));
        assert!(hp.swa_layers.iter().all(|&s| s));
        // Qwen2.5 configs carry sliding_window but use_sliding_window false
        c["architectures"] = json!(["Qwen2ForCausalLM"]);
        c["use_sliding_window"] = json!(false);
        let (arch, hp, _) = hparams_from_config(&c, "config.json").unwrap();
        assert_eq!(arch, "qwen2");
        assert_eq!(hp.sliding_window, None);
        assert!(hp.swa_layers.iter().all(|&s| !s));
    }

    #[test]
    fn gemma2_alternates() {
        // google/gemma-2-9b config.json
        let c = json!({
            "architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "hidden_size": 3584,
            "intermediate_size": 14336, "num_attention_heads": 16, "num_hidden_layers": 42,
            "num_key_value_heads": 8, "head_dim": 256, "vocab_size": 256000,
            "max_position_embeddings": 8192, "sliding_window": 4096
        });
        let (arch, hp, _) = hparams_from_config(&c, "config.json").unwrap();
        assert_eq!(arch, "gemma2");
        assert_eq!(hp.swa_layers.iter().filter(|&&s| s).count(), 21);
        assert!(hp.swa_layers[0] && !hp.swa_layers[1]);
        assert!(hp.tie_word_embeddings, "gemma ties by default");
    }

    #[test]
    fn gpt_oss_layer_types() {
        // openai/gpt-oss-20b config.json
        let types: Vec<&str> = (0..24)
            .map(|i| {
                if i % 2 == 0 {
                    "sliding_attention"
                } else {
                    "full_attention"
                }
            })
            .collect();
        let c = json!({
            "architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss", "hidden_size": 2880,
            "intermediate_size": 2880, "num_attention_heads": 64, "num_hidden_layers": 24,
            "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 201088,
            "max_position_embeddings": 131072, "sliding_window": 128, "layer_types": types,
            "num_local_experts": 32, "num_experts_per_tok": 4, "experts_per_token": 4,
            "rope_theta": 150000, "tie_word_embeddings": false
        });
        let (arch, hp, w) = hparams_from_config(&c, "config.json").unwrap();
        assert_eq!(arch, "gpt-oss");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            (hp.n_expert, hp.n_expert_used, hp.n_ff_expert),
            (32, 4, 2880)
        );
        assert!(hp.n_ff.iter().all(|&x| x == 0));
        assert_eq!(hp.sliding_window, Some(128));
        assert_eq!(hp.swa_layers.iter().filter(|&&s| s).count(), 12);
        assert_eq!(hp.head_dim_k, 64);
        assert_eq!(hp.rope_freq_base, Some(150000.0));
    }

    #[test]
    fn bad_layer_types_length() {
        let mut c = llama3_8b();
        c["layer_types"] = json!(["full_attention"]);
        let e = hparams_from_config(&c, "config.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("layer_types") && e.contains("32"), "{e}");
    }
}
