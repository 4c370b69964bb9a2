//! Architecture hyperparameters from a GGUF header's `{arch}.*` keys and its tensor inventory, following
//! llama.cpp's `llama_model::load_hparams` (src/llama-model.cpp and src/models/*.cpp): per-layer head
//! counts and FFN widths, explicit head dimensions, sliding-window layer patterns (`set_swa_pattern`),
//! experts, MLA, SSM/recurrent layers, vocabulary and tied embeddings. Architectures without specific
//! support degrade to the generic keys with a warning naming what was assumed.

use super::{GgufHeader, MAX_ARRAY_KEEP, Value};
use crate::error::{Error, Result};
use crate::model::{HyperParams, Mla, Ssm};

/// Architectures whose hyperparameters this module reads specifically.
pub const KNOWN_ARCHS: &[&str] = &[
    "llama",
    "mistral3",
    "qwen2",
    "qwen2moe",
    "qwen3",
    "qwen3moe",
    "gemma",
    "gemma2",
    "gemma3",
    "phi3",
    "deepseek2",
    "gpt-oss",
    "mamba",
    "mamba2",
    "granitehybrid",
    "lfm2",
    "qwen3next",
];

/// Architectures whose every layer is recurrent (no KV cache).
const RECURRENT_ARCHS: &[&str] = &["mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7"];

struct Keys<'a> {
    h: &'a GgufHeader,
    arch: &'a str,
    label: &'a str,
}

impl Keys<'_> {
    fn key(&self, k: &str) -> String {
        format!("{}.{k}", self.arch)
    }

    fn bad(&self, key: &str, msg: impl std::fmt::Display) -> Error {
        Error::bad_input(self.label, format!("metadata '{key}': {msg}"))
    }

    fn get(&self, k: &str) -> Option<&Value> {
        self.h.get(&self.key(k))
    }

    /// Optional non-negative integer key (wrong type is an error).
    fn u64(&self, k: &str) -> Result<Option<u64>> {
        let key = self.key(k);
        match self.h.get(&key) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                self.bad(
                    &key,
                    format!("expected a non-negative integer, found {v:?}"),
                )
            }),
        }
    }

    fn u64_or(&self, k: &str, default: u64) -> Result<u64> {
        Ok(self.u64(k)?.unwrap_or(default))
    }

    fn required(&self, k: &str) -> Result<u64> {
        let key = self.key(k);
        self.u64(k)?.ok_or_else(|| {
            self.bad(&key, "missing; the file does not describe its architecture (convert it again with llama.cpp)")
        })
    }

    /// A key that is a scalar or a per-layer array of `n_layer` integers.
    fn per_layer(&self, k: &str, n_layer: u32) -> Result<Option<Vec<u64>>> {
        let key = self.key(k);
        let Some(v) = self.h.get(&key) else {
            return Ok(None);
        };
        if let Some(x) = v.as_u64() {
            return Ok(Some(vec![x; n_layer as usize]));
        }
        let (Some(items), Some(len)) = (v.as_array(), v.array_len()) else {
            return Err(self.bad(
                &key,
                format!("expected an integer or a per-layer array, found {v:?}"),
            ));
        };
        if len != u64::from(n_layer) || items.len() as u64 != len {
            return Err(self.bad(
                &key,
                format!("per-layer array has {len} entries but block_count is {n_layer}"),
            ));
        }
        items
            .iter()
            .map(|x| {
                x.as_u64().ok_or_else(|| {
                    self.bad(
                        &key,
                        format!("array entry {x:?} is not a non-negative integer"),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

fn to_u32(v: u64, key: &str, label: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| {
        Error::bad_input(
            label,
            format!("metadata '{key}' = {v} is implausibly large"),
        )
    })
}

/// llama.cpp `llama_hparams::set_swa_pattern`: layer `il` uses the window when
/// `n == 0 || il % n < n - 1` (the last layer of every group of `n` is full attention);
/// with `dense_first` the first layer of each group is full instead.
pub fn swa_pattern(n_layer: u32, n: u32, dense_first: bool) -> Vec<bool> {
    (0..n_layer)
        .map(|il| {
            n == 0
                || if dense_first {
                    il % n != 0
                } else {
                    il % n < n - 1
                }
        })
        .collect()
}

/// Hyperparameters of the model described by `h` (its metadata and tensor infos), plus warnings for
/// everything assumed. `label` names the file in errors.
pub fn hparams_from_gguf(h: &GgufHeader, label: &str) -> Result<(HyperParams, Vec<String>)> {
    let mut warnings = Vec::new();
    let arch = h.architecture().ok_or_else(|| {
        Error::bad_input(
            label,
            "metadata 'general.architecture' is missing; not a llama.cpp model file",
        )
    })?;
    let k = Keys { h, arch, label };
    if !KNOWN_ARCHS.contains(&arch) {
        warnings.push(format!(
            "architecture '{arch}' has no specific support: read the generic {arch}.* keys, assumed no sliding window unless a pattern key says so"
        ));
    }
    let recurrent_arch = RECURRENT_ARCHS.contains(&arch);

    let n_layer_raw = k.required("block_count")?;
    if n_layer_raw > MAX_ARRAY_KEEP {
        return Err(k.bad(
            &k.key("block_count"),
            format!("{n_layer_raw} layers is implausible (at most {MAX_ARRAY_KEEP})"),
        ));
    }
    let n_layer = n_layer_raw as u32;
    let n_embd = k.required("embedding_length")?;
    let nl = n_layer as usize;

    // Attention heads.
    let n_head: Vec<u32> = match k.per_layer("attention.head_count", n_layer)? {
        Some(v) => v
            .into_iter()
            .map(|x| to_u32(x, "attention.head_count", label))
            .collect::<Result<_>>()?,
        None if recurrent_arch => vec![0; nl],
        None => {
            return Err(k.bad(
                &k.key("attention.head_count"),
                "missing; cannot size attention",
            ));
        }
    };
    let n_head_kv: Vec<u32> = match k.per_layer("attention.head_count_kv", n_layer)? {
        Some(v) => v
            .into_iter()
            .map(|x| to_u32(x, "attention.head_count_kv", label))
            .collect::<Result<_>>()?,
        None => n_head.clone(),
    };
    let n_head0 = u64::from(n_head.first().copied().unwrap_or(0));
    let default_hd = n_embd.checked_div(n_head0).unwrap_or(0);
    let head_dim_k = k.u64_or("attention.key_length", default_hd)?;
    let head_dim_v = k.u64_or("attention.value_length", default_hd)?;

    // Experts.
    let n_expert = to_u32(k.u64_or("expert_count", 0)?, "expert_count", label)?;
    let n_expert_used = to_u32(
        k.u64_or("expert_used_count", 0)?,
        "expert_used_count",
        label,
    )?;
    let n_expert_shared = to_u32(
        k.u64_or("expert_shared_count", 0)?,
        "expert_shared_count",
        label,
    )?;
    let n_dense_lead = to_u32(
        k.u64_or("leading_dense_block_count", 0)?,
        "leading_dense_block_count",
        label,
    )?;
    // llama-style MoE (Mixtral) has no expert_feed_forward_length: llama.cpp sizes its experts
    // {n_embd, n_ff, n_expert} from feed_forward_length; the expert tensor's width says the same.
    let exp_tensor_width = h
        .tensors
        .iter()
        .find(|t| t.name.starts_with("blk.") && t.name.ends_with(".ffn_up_exps.weight"))
        .and_then(|t| t.shape.get(1).copied());
    let n_ff_expert = match k.u64("expert_feed_forward_length")? {
        Some(v) => v,
        None if n_expert > 1 => match exp_tensor_width {
            Some(w) => w,
            None => k
                .per_layer("feed_forward_length", n_layer)?
                .and_then(|v| v.into_iter().max())
                .unwrap_or(0),
        },
        None => 0,
    };
    let shexp_tensor_width = h
        .tensors
        .iter()
        .find(|t| t.name.starts_with("blk.") && t.name.ends_with(".ffn_up_shexp.weight"))
        .and_then(|t| t.shape.get(1).copied());
    let n_ff_shexp = match k.u64("expert_shared_feed_forward_length")? {
        Some(v) => v,
        None => shexp_tensor_width.unwrap_or(n_ff_expert * u64::from(n_expert_shared)),
    };
    if n_expert > 1 && n_expert_used == 0 {
        warnings.push(format!(
            "{arch}.expert_used_count missing: assumed 1 routed expert per token"
        ));
    }
    let n_expert_used = if n_expert > 1 {
        n_expert_used.max(1)
    } else {
        n_expert_used
    };

    // Dense FFN width per layer; 0 where the layer is MoE-only.
    let ff = k
        .per_layer("feed_forward_length", n_layer)?
        .unwrap_or_else(|| vec![0; nl]);
    let n_ff: Vec<u64> = if n_expert > 1 {
        let have_tensors = !h.tensors.is_empty();
        (0..nl)
            .map(|i| {
                let dense = if have_tensors {
                    h.tensor(&format!("blk.{i}.ffn_down.weight")).is_some()
                        || h.tensor(&format!("blk.{i}.ffn_up.weight")).is_some()
                } else {
                    (i as u32) < n_dense_lead
                };
                if dense { ff[i] } else { 0 }
            })
            .collect()
    } else {
        ff
    };

    // Sliding window.
    let sw_key = k.key("attention.sliding_window");
    let mut sliding_window = k.u64("attention.sliding_window")?.filter(|&w| w > 0);
    let pattern_key = k.key("attention.sliding_window_pattern");
    let explicit_pattern: Option<Vec<bool>> = match k.get("attention.sliding_window_pattern") {
        None => None,
        Some(v) => {
            if let Some(p) = v.as_u64() {
                Some(swa_pattern(n_layer, to_u32(p, &pattern_key, label)?, false))
            } else if let (Some(items), Some(len)) = (v.as_array(), v.array_len()) {
                if len != u64::from(n_layer) || items.len() as u64 != len {
                    return Err(k.bad(
                        &pattern_key,
                        format!("per-layer array has {len} entries but block_count is {n_layer}"),
                    ));
                }
                Some(
                    items
                        .iter()
                        .map(|x| x.as_bool().or_else(|| x.as_u64().map(|n| n != 0)))
                        .collect::<Option<Vec<bool>>>()
                        .ok_or_else(|| k.bad(&pattern_key, "array entries must be bools"))?,
                )
            } else {
                return Err(k.bad(
                    &pattern_key,
                    format!("expected an integer period or a per-layer bool array, found {v:?}"),
                ));
            }
        }
    };
    let default_period: Option<u32> = match arch {
        "gemma2" => {
            // llama.cpp: n_swa defaults to 4096 for Gemma 2.
            if sliding_window.is_none() {
                sliding_window = Some(4096);
                warnings.push(format!(
                    "{sw_key} missing: assumed 4096 (Gemma 2's window, as llama.cpp does)"
                ));
            }
            Some(2)
        }
        "gemma3" => Some(6),
        "gemma3n" => Some(5),
        "gpt-oss" => Some(2),
        "cohere2" => Some(4),
        _ => None,
    };
    let mut swa_layers = vec![false; nl];
    if arch == "phi3" {
        if sliding_window.is_some() {
            warnings.push(format!(
                "{sw_key} is set but llama.cpp disables Phi-3 SWA (PR 13676): every layer caches the full context"
            ));
        }
        sliding_window = None;
    } else if sliding_window.is_some() {
        match (explicit_pattern, default_period) {
            (Some(p), _) => swa_layers = p,
            (None, Some(n)) => swa_layers = swa_pattern(n_layer, n, false),
            (None, None) => {
                warnings.push(format!(
                    "{sw_key} is set but '{arch}' has no known layer pattern: assumed full attention on every layer (as llama.cpp does for it)"
                ));
                sliding_window = None;
            }
        }
    }
    if !swa_layers.iter().any(|&b| b) {
        sliding_window = None;
    }

    // MLA. llama.cpp runs attention as MLA (latent K-only cache) only when the file has the decompressed
    // head sizes in `key_length_mla` / `value_length_mla` (`llama_hparams::is_mla`), which converters
    // write since wkv_b was split into attn_k_b / attn_v_b (2025-04). Older DeepSeek GGUFs (attn_kv_b,
    // head_count_kv = n_head) run without MLA: full K and V per head are cached, sized by key_length /
    // value_length like any other model (oracle rows `deepseek3-legacy-q8_0`).
    let mla = match (
        k.u64("attention.kv_lora_rank")?,
        k.u64("attention.key_length_mla")?,
        k.u64("attention.value_length_mla")?,
    ) {
        (Some(kv_lora_rank), Some(k_mla), Some(v_mla)) => {
            let rope_dim = k.u64_or("rope.dimension_count", 0)?;
            let nope_dim = k_mla.checked_sub(rope_dim).ok_or_else(|| {
                k.bad(
                    &k.key("rope.dimension_count"),
                    format!("RoPE dimension {rope_dim} exceeds the MLA key length {k_mla}"),
                )
            })?;
            Some(Mla {
                kv_lora_rank,
                q_lora_rank: k.u64_or("attention.q_lora_rank", 0)?,
                rope_dim,
                nope_dim,
                v_head_dim: v_mla,
            })
        }
        (Some(_), _, _) => {
            warnings.push(format!(
                "{arch}.attention.kv_lora_rank is set but key_length_mla / value_length_mla are not: \
                 a GGUF converted before llama.cpp split wkv_b; llama.cpp runs it without MLA, caching full \
                 K and V per head (re-convert it for the compact latent cache)"
            ));
            None
        }
        _ => None,
    };

    // SSM / recurrent layers.
    let ssm = if let Some(l_cache) = k.u64("shortconv.l_cache")? {
        // LFM2 short convolutions: llama.cpp n_embd_r = n_embd·(l_cache − 1), no scan state; the same
        // sizes as an SSM of d_conv = l_cache over d_inner = n_embd with d_state 0
        Some(Ssm {
            d_conv: l_cache,
            d_inner: n_embd,
            ..Ssm::default()
        })
    } else if k.get("ssm.conv_kernel").is_some()
        || k.get("ssm.inner_size").is_some()
        || k.get("ssm.state_size").is_some()
    {
        Some(Ssm {
            d_conv: k.u64_or("ssm.conv_kernel", 0)?,
            d_inner: k.u64_or("ssm.inner_size", 0)?,
            d_state: k.u64_or("ssm.state_size", 0)?,
            n_group: k.u64_or("ssm.group_count", 0)?,
            dt_rank: k.u64_or("ssm.time_step_rank", 0)?,
        })
    } else {
        None
    };
    let recurrent_layers: Vec<bool> = if recurrent_arch {
        vec![true; nl]
    } else if let Some(interval) = k.u64("full_attention_interval")?.filter(|&n| n > 0) {
        // qwen3next: every `interval`-th layer is full attention, the rest recurrent.
        (0..nl as u64).map(|i| (i + 1) % interval != 0).collect()
    } else if ssm.is_some() {
        // Hybrids (jamba, granitehybrid, nemotron_h, lfm2): layers without KV heads are recurrent.
        n_head_kv.iter().map(|&n| n == 0).collect()
    } else {
        vec![false; nl]
    };
    if RECURRENT_ARCHS.contains(&arch) && ssm.is_none() {
        warnings.push(format!(
            "'{arch}' is recurrent but has no ssm.* keys: its per-sequence state size is unknown"
        ));
    }

    // Vocabulary.
    let token_embd = h.tensor("token_embd.weight");
    let vocab_size = if let Some(v) = k.u64("vocab_size")? {
        v
    } else if let Some(n) = h.get("tokenizer.ggml.tokens").and_then(Value::array_len) {
        n
    } else if let Some(n) = token_embd.and_then(|t| t.shape.get(1).copied()) {
        n
    } else {
        warnings.push("vocabulary size unknown (no vocab_size key, tokenizer.ggml.tokens or token_embd.weight): assumed 0".into());
        0
    };

    let context_length = match k.u64("context_length")? {
        Some(v) => v,
        None => {
            warnings.push(format!(
                "{arch}.context_length missing: training context unknown (0)"
            ));
            0
        }
    };
    let rope_freq_base = k.get("rope.freq_base").and_then(Value::as_f64);
    let tie_word_embeddings = h.tensor("output.weight").is_none();

    let hp = HyperParams {
        n_layer,
        n_embd,
        n_head,
        n_head_kv,
        head_dim_k,
        head_dim_v,
        n_ff,
        context_length,
        vocab_size,
        n_expert,
        n_expert_used,
        n_expert_shared,
        n_ff_expert,
        n_ff_shexp,
        n_dense_lead,
        sliding_window,
        swa_layers,
        mla,
        ssm,
        recurrent_layers,
        rope_freq_base,
        tie_word_embeddings,
    };
    Ok((hp, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swa_patterns_match_llama_cpp() {
        // gemma2 (period 2): even layers SWA, odd layers full.
        assert_eq!(swa_pattern(4, 2, false), vec![true, false, true, false]);
        // gemma3 (period 6): layer i is full when (i + 1) % 6 == 0.
        let p = swa_pattern(12, 6, false);
        for (i, swa) in p.iter().enumerate() {
            assert_eq!(*swa, (i + 1) % 6 != 0, "layer {i}");
        }
        // period 0: every layer SWA; period 1: none.
        assert!(swa_pattern(3, 0, false).iter().all(|&b| b));
        assert!(swa_pattern(3, 1, false).iter().all(|&b| !b));
        assert_eq!(
            swa_pattern(5, 4, true),
            vec![false, true, true, true, false]
        );
    }
}
