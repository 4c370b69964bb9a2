//! What each tensor is for, from its name, for both naming schemes: llama.cpp GGUF names
//! (`blk.3.attn_v.weight`, `ffn_down_exps`) and Hugging Face names (`model.layers.3.self_attn.v_proj.weight`,
//! `mlp.experts.7.down_proj`, MLX `.scales` / `.biases`). The estimate uses this to know which bytes a decode
//! step reads (one embedding row, the used experts); the quantizer uses it for llama.cpp's per-tensor upgrades.

/// The job of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    TokenEmbd,
    Output,
    /// Any normalization vector (layer or final).
    Norm,
    AttnQ,
    AttnK,
    AttnV,
    /// Fused QKV projection.
    AttnQkv,
    AttnOut,
    /// Other attention tensors (MLA low-rank parts, sinks, biases...).
    AttnOther,
    FfnGate,
    FfnUp,
    FfnDown,
    /// Routed experts (stacked `_exps` or per-expert HF tensors).
    ExpertGate,
    ExpertUp,
    ExpertDown,
    /// Any other routed-expert tensor (biases...).
    ExpertOther,
    /// Shared expert(s), always active.
    SharedExpert,
    /// MoE router (`ffn_gate_inp`, `mlp.gate`).
    Router,
    /// State-space / recurrent layer tensors.
    Ssm,
    Other,
}

/// Role of a tensor: its layer (if per-layer) and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Role {
    pub layer: Option<u32>,
    pub kind: Kind,
}

impl Kind {
    /// Routed-expert tensor: only `n_expert_used / n_expert` of it is read per token.
    pub fn is_routed_expert(self) -> bool {
        matches!(
            self,
            Kind::ExpertGate | Kind::ExpertUp | Kind::ExpertDown | Kind::ExpertOther
        )
    }
}

/// Classify a tensor by name.
pub fn role(name: &str) -> Role {
    // strip MLX quantization suffixes: the scales/biases belong to the weight they scale
    let base = name
        .strip_suffix(".scales")
        .or_else(|| name.strip_suffix(".biases"))
        .unwrap_or(name);
    let layer = layer_index(base);
    Role {
        layer,
        kind: kind_of(base, layer.is_some()),
    }
}

fn layer_index(name: &str) -> Option<u32> {
    for prefix in ["blk.", "layers.", "h.", "block.", "blocks."] {
        let mut search = name;
        while let Some(pos) = search.find(prefix) {
            let at_boundary = pos == 0 || search.as_bytes()[pos - 1] == b'.';
            let rest = &search[pos + prefix.len()..];
            let digits: &str = &rest[..rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len())];
            if at_boundary && !digits.is_empty() {
                return digits.parse().ok();
            }
            search = &search[pos + prefix.len()..];
        }
    }
    None
}

fn kind_of(name: &str, in_layer: bool) -> Kind {
    let has = |s: &str| name.contains(s);
    if !in_layer {
        if has("token_embd") || has("embed_tokens") || has("wte") || has("tok_embeddings") {
            return Kind::TokenEmbd;
        }
        if name.starts_with("output.") || has("lm_head") {
            return Kind::Output;
        }
        if has("norm") {
            return Kind::Norm;
        }
        return Kind::Other;
    }
    if has("norm") {
        return Kind::Norm;
    }
    // routed experts (before plain FFN names, since they share gate/up/down words)
    let expert = has("_exps") || has(".experts.") || has("block_sparse_moe.experts");
    if expert && !has("shared") {
        return if has("gate_up") {
            Kind::ExpertUp
        } else if has("gate") || has(".w1.") {
            Kind::ExpertGate
        } else if has("up") || has(".w3.") {
            Kind::ExpertUp
        } else if has("down") || has(".w2.") {
            Kind::ExpertDown
        } else {
            Kind::ExpertOther
        };
    }
    if has("shexp") || has("shared_expert") {
        return Kind::SharedExpert;
    }
    if has("ffn_gate_inp")
        || has("mlp.gate.")
        || has("block_sparse_moe.gate.")
        || has("mlp.router")
        || has("exp_probs")
    {
        return Kind::Router;
    }
    if has("ssm") || has("mixer") || has("time_mix") || has("channel_mix") {
        return Kind::Ssm;
    }
    if has("attn_qkv") || has("qkv_proj") || has("query_key_value") {
        return Kind::AttnQkv;
    }
    if has("attn_q.") || has("q_proj") {
        return Kind::AttnQ;
    }
    if has("attn_k.") || has("k_proj") {
        return Kind::AttnK;
    }
    if has("attn_v.") || has("v_proj") {
        return Kind::AttnV;
    }
    if has("attn_output") || has("o_proj") {
        return Kind::AttnOut;
    }
    if has("attn") {
        return Kind::AttnOther;
    }
    if has("ffn_gate") || has("gate_proj") {
        return Kind::FfnGate;
    }
    if has("ffn_up") || has("up_proj") {
        return Kind::FfnUp;
    }
    if has("ffn_down") || has("down_proj") {
        return Kind::FfnDown;
    }
    Kind::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gguf_names() {
        assert_eq!(
            role("token_embd.weight"),
            Role {
                layer: None,
                kind: Kind::TokenEmbd
            }
        );
        assert_eq!(role("output.weight").kind, Kind::Output);
        assert_eq!(role("output_norm.weight").kind, Kind::Norm);
        assert_eq!(
            role("blk.12.attn_v.weight"),
            Role {
                layer: Some(12),
                kind: Kind::AttnV
            }
        );
        assert_eq!(role("blk.0.ffn_down_exps.weight").kind, Kind::ExpertDown);
        assert_eq!(role("blk.0.ffn_gate_inp.weight").kind, Kind::Router);
        assert_eq!(role("blk.3.ffn_up_shexp.weight").kind, Kind::SharedExpert);
        assert_eq!(role("blk.3.attn_kv_a_mqa.weight").kind, Kind::AttnOther);
        assert_eq!(role("blk.3.ffn_down.weight").kind, Kind::FfnDown);
    }

    #[test]
    fn hf_names() {
        assert_eq!(role("model.embed_tokens.weight").kind, Kind::TokenEmbd);
        assert_eq!(role("lm_head.weight").kind, Kind::Output);
        assert_eq!(
            role("model.layers.7.self_attn.v_proj.weight"),
            Role {
                layer: Some(7),
                kind: Kind::AttnV
            }
        );
        assert_eq!(
            role("model.layers.7.mlp.experts.3.down_proj.weight").kind,
            Kind::ExpertDown
        );
        assert_eq!(
            role("model.layers.7.block_sparse_moe.experts.3.w1.weight").kind,
            Kind::ExpertGate
        );
        assert_eq!(role("model.layers.7.mlp.gate.weight").kind, Kind::Router);
        assert_eq!(
            role("model.layers.7.mlp.down_proj.scales").kind,
            Kind::FfnDown
        );
        assert_eq!(
            role("model.layers.7.input_layernorm.weight").kind,
            Kind::Norm
        );
    }
}
