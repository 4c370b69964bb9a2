//! The tensor layout of each architecture: the exact tensor list (names, shapes in GGUF `ne` order,
//! storage types, bytes) that llama.cpp's `convert_hf_to_gguf.py` writes for a model, so a bundled
//! spec yields the same inventory as the real GGUF file.
//!
//! Sources (llama.cpp, checked through the search index): `src/llama-model.cpp` /
//! `src/models/*.cpp` `create_tensor(...)` calls for the shapes, `gguf-py/gguf/constants.py`
//! `TENSOR_NAMES` for the names, and `convert_hf_to_gguf.py` for what the converter adds or drops
//! (`rope_freqs` for Llama-3 rope scaling, the split MLA `attn_k_b`/`attn_v_b`, skipped MTP layers,
//! Gemma-3's trimmed embedding rows) and for the storage types (`prepare_tensors`: 1-D tensors,
//! `*_norm.weight`, anything not ending in `.weight`, and `ffn_gate_inp` are written F32).
//!
//! # Adding an architecture
//! Write one `fn my_arch(b: &mut Builder, hp: &HyperParams) -> Result<()>` that pushes the global
//! tensors and, per layer, the blocks it uses (the shared helpers [`Builder::attn`],
//! [`Builder::ffn_dense`], [`Builder::ffn_moe`]... cover most models), then add one row to
//! [`ARCHITECTURES`]. Nothing else changes.

use super::{HyperParams, TensorInfo, TensorType};
use crate::error::{Error, Result};

/// Per-model facts that change the tensor list but are not hyperparameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Llama-3 style rope scaling (`rope_scaling.rope_type: llama3`): the converter writes a
    /// `rope_freqs.weight` [head_dim/2] F32 tensor.
    pub rope_freqs: bool,
    /// The MoE router has a score-correction bias (DeepSeek-V3 `e_score_correction_bias`), written as
    /// `blk.N.exp_probs_b.bias` [n_expert] F32.
    pub expert_probs_bias: bool,
}

/// One architecture: its llama.cpp name and the function that lists its tensors.
pub struct Arch {
    pub name: &'static str,
    pub layout: fn(&mut Builder, &HyperParams) -> Result<()>,
}

/// Every architecture headroom can lay out. Add a row here (and a layout function below).
pub const ARCHITECTURES: &[Arch] = &[
    Arch {
        name: "llama",
        layout: llama,
    },
    Arch {
        name: "qwen2",
        layout: qwen2,
    },
    Arch {
        name: "qwen3",
        layout: qwen3,
    },
    Arch {
        name: "qwen3moe",
        layout: qwen3moe,
    },
    Arch {
        name: "gemma2",
        layout: gemma2,
    },
    Arch {
        name: "gemma3",
        layout: gemma3,
    },
    Arch {
        name: "phi3",
        layout: phi3,
    },
    Arch {
        name: "deepseek2",
        layout: deepseek2,
    },
    Arch {
        name: "gpt-oss",
        layout: gpt_oss,
    },
];

/// Names of all supported architectures.
pub fn supported() -> Vec<&'static str> {
    ARCHITECTURES.iter().map(|a| a.name).collect()
}

/// The tensor inventory llama.cpp's converter writes for `arch` with weights stored as `ty`
/// (no rope_freqs, no expert-probability bias; see [`inventory_with`]).
pub fn inventory(arch: &str, hp: &HyperParams, ty: TensorType) -> Result<Vec<TensorInfo>> {
    inventory_with(arch, hp, ty, Options::default())
}

/// [`inventory`] with the per-model [`Options`].
pub fn inventory_with(
    arch: &str,
    hp: &HyperParams,
    ty: TensorType,
    opts: Options,
) -> Result<Vec<TensorInfo>> {
    let Some(a) = ARCHITECTURES.iter().find(|a| a.name == arch) else {
        return Err(Error::usage(format!(
            "architecture `{arch}` has no tensor layout; known: {}",
            supported().join(", ")
        )));
    };
    check_lengths(hp)?;
    let mut b = Builder {
        ty,
        opts,
        out: Vec::new(),
        mxfp4_experts: false,
    };
    (a.layout)(&mut b, hp)?;
    Ok(b.out)
}

fn check_lengths(hp: &HyperParams) -> Result<()> {
    let n = hp.n_layer as usize;
    for (field, len) in [
        ("n_head", hp.n_head.len()),
        ("n_head_kv", hp.n_head_kv.len()),
        ("n_ff", hp.n_ff.len()),
    ] {
        if len != n {
            return Err(Error::usage(format!(
                "{field} has {len} per-layer values for {n} layers"
            )));
        }
    }
    Ok(())
}

/// Collects tensors, choosing each one's storage type the way `convert_hf_to_gguf.py` does.
pub struct Builder {
    ty: TensorType,
    opts: Options,
    out: Vec<TensorInfo>,
    /// gpt-oss: the published checkpoint stores routed experts in MXFP4 and the converter keeps them.
    mxfp4_experts: bool,
}

impl Builder {
    /// The storage type the converter gives tensor `name` of `shape` (GGUF order).
    fn type_for(&self, name: &str, shape: &[u64]) -> TensorType {
        let is_float_out = matches!(
            self.ty,
            TensorType::F32 | TensorType::F16 | TensorType::BF16
        );
        if shape.len() <= 1
            || name.ends_with("_norm.weight")
            || !name.ends_with(".weight")
            || name.contains(".ffn_gate_inp.")
        {
            TensorType::F32
        } else if self.mxfp4_experts && is_float_out && name.contains("_exps.") {
            TensorType::MXFP4
        } else {
            self.ty
        }
    }

    /// Push one tensor.
    pub fn push(&mut self, name: String, shape: &[u64]) -> Result<()> {
        let ty = self.type_for(&name, shape);
        let n_elements = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        let row = shape.first().copied().unwrap_or(1);
        let n_bytes = n_elements.and_then(|n| ty.tensor_bytes(row, n));
        match (n_elements, n_bytes) {
            (Some(n_elements), Some(n_bytes)) => {
                self.out.push(TensorInfo {
                    name,
                    shape: shape.to_vec(),
                    ty,
                    n_elements,
                    n_bytes,
                    data: None,
                });
                Ok(())
            }
            (None, _) => Err(Error::usage(format!("{name}: shape {shape:?} overflows"))),
            (Some(_), None) => Err(Error::usage(format!(
                "{name}: rows of {row} elements are not a whole number of {} blocks ({} elements each)",
                ty.name(),
                ty.block_elems()
            ))),
        }
    }

    fn layer(&mut self, il: u32, name: &str, shape: &[u64]) -> Result<()> {
        self.push(format!("blk.{il}.{name}"), shape)
    }

    /// token_embd, output_norm, and output unless the embeddings are tied; rope_freqs when asked.
    pub fn globals(&mut self, hp: &HyperParams) -> Result<()> {
        let (e, v) = (hp.n_embd, hp.vocab_size);
        self.push("token_embd.weight".into(), &[e, v])?;
        self.push("output_norm.weight".into(), &[e])?;
        if !hp.tie_word_embeddings {
            self.push("output.weight".into(), &[e, v])?;
        }
        if self.opts.rope_freqs {
            self.push("rope_freqs.weight".into(), &[hp.head_dim_k / 2])?;
        }
        Ok(())
    }

    /// Separate Q, K, V and output projections (with optional Q/K/V biases).
    pub fn attn(&mut self, hp: &HyperParams, il: u32, qkv_bias: bool) -> Result<()> {
        let (e, q, k, v) = attn_widths(hp, il);
        self.layer(il, "attn_q.weight", &[e, q])?;
        self.layer(il, "attn_k.weight", &[e, k])?;
        self.layer(il, "attn_v.weight", &[e, v])?;
        self.layer(il, "attn_output.weight", &[out_width(hp, il), e])?;
        if qkv_bias {
            self.layer(il, "attn_q.bias", &[q])?;
            self.layer(il, "attn_k.bias", &[k])?;
            self.layer(il, "attn_v.bias", &[v])?;
        }
        Ok(())
    }

    /// Per-head RMS norms on Q and K (qwen3, gemma3).
    pub fn qk_norm(&mut self, hp: &HyperParams, il: u32) -> Result<()> {
        self.layer(il, "attn_q_norm.weight", &[hp.head_dim_k])?;
        self.layer(il, "attn_k_norm.weight", &[hp.head_dim_k])
    }

    /// Gated dense FFN of width `ff`.
    pub fn ffn_dense(&mut self, hp: &HyperParams, il: u32, ff: u64) -> Result<()> {
        let e = hp.n_embd;
        self.layer(il, "ffn_gate.weight", &[e, ff])?;
        self.layer(il, "ffn_down.weight", &[ff, e])?;
        self.layer(il, "ffn_up.weight", &[e, ff])
    }

    /// Router plus stacked routed experts of width `ff_exp`.
    pub fn ffn_moe(&mut self, hp: &HyperParams, il: u32, ff_exp: u64) -> Result<()> {
        let (e, x) = (hp.n_embd, u64::from(hp.n_expert));
        self.layer(il, "ffn_gate_inp.weight", &[e, x])?;
        if self.opts.expert_probs_bias {
            self.layer(il, "exp_probs_b.bias", &[x])?;
        }
        self.layer(il, "ffn_gate_exps.weight", &[e, ff_exp, x])?;
        self.layer(il, "ffn_down_exps.weight", &[ff_exp, e, x])?;
        self.layer(il, "ffn_up_exps.weight", &[e, ff_exp, x])
    }

    /// Shared (always-active) experts, stored as one FFN of total width `n_ff_shexp`
    /// (llama.cpp: `n_ff_exp * n_expert_shared` for deepseek2).
    pub fn ffn_shexp(&mut self, hp: &HyperParams, il: u32) -> Result<()> {
        let e = hp.n_embd;
        let w = hp.n_ff_shexp;
        self.layer(il, "ffn_gate_shexp.weight", &[e, w])?;
        self.layer(il, "ffn_down_shexp.weight", &[w, e])?;
        self.layer(il, "ffn_up_shexp.weight", &[e, w])
    }

    fn norm(&mut self, hp: &HyperParams, il: u32, name: &str) -> Result<()> {
        self.layer(il, &format!("{name}.weight"), &[hp.n_embd])
    }
}

/// (n_embd, Q width, K width, V width) of layer `il`.
fn attn_widths(hp: &HyperParams, il: u32) -> (u64, u64, u64, u64) {
    let i = il as usize;
    let h = u64::from(hp.n_head[i]);
    let kv = u64::from(hp.n_head_kv[i]);
    (
        hp.n_embd,
        h * hp.head_dim_k,
        kv * hp.head_dim_k,
        kv * hp.head_dim_v,
    )
}

fn out_width(hp: &HyperParams, il: u32) -> u64 {
    u64::from(hp.n_head[il as usize]) * hp.head_dim_v
}

fn is_moe_layer(hp: &HyperParams, il: u32) -> bool {
    hp.is_moe() && il >= hp.n_dense_lead
}

// ---------------------------------------------------------------------------------------------
// Layouts. Each mirrors the `create_tensor` calls of its llama.cpp loader.

/// llama (Llama 1/2/3, Mistral, Mixtral): dense or MoE (Mixtral stacks experts; no shared experts).
fn llama(b: &mut Builder, hp: &HyperParams) -> Result<()> {
    b.globals(hp)?;
    for il in 0..hp.n_layer {
        b.norm(hp, il, "attn_norm")?;
        b.attn(hp, il, false)?;
        b.norm(hp, il, "ffn_norm")?;
        if is_moe_layer(hp, il) {
            b.ffn_moe(hp, il, hp.n_ff_expert)?;
        } else {
            b.ffn_dense(hp, il, hp.n_ff[il as usize])?;
        }
    }
    Ok(())
}

/// qwen2: llama with Q/K/V biases.
fn qwen2(b: &mut Builder, hp: &HyperParams) -> Result<()> {
    b.globals(hp)?;
    for il in 0..hp.n_layer {
        b.norm(hp, il, "attn_norm")?;
        b.attn(hp, il, true)?;
        b.norm(hp, il, "ffn_norm")?;
        b.ffn_dense(hp, il, hp.n_ff[il as usize])?;
    }
    Ok(())
}

/// qwen3: llama with per-head Q/K norms, no biases.
fn qwen3(b: &mut Builder, hp: &HyperParams) -> Result<()> {
    b.globals(hp)?;
    for il in 0..hp.n_layer {
        b.norm(hp, il, "attn_norm")?;
        b.attn(hp, il, false)?;
        b.qk_norm(hp, il)?;
        b.norm(hp, il, "ffn_norm")?;
        b.ffn_dense(hp, il, hp.n_ff[il as usize])?;
    }
    Ok(())
}

/// qwen3moe: qwen3 attention, every layer a routed MoE (no shared experts).
fn qwen3moe(b: &mut Builder, hp: &HyperParams) -> Result<()> {
    b.globals(hp)?;
    for il in 0..hp.n_layer {
        b.norm(hp, il, "attn_norm")?;
        b.attn(hp, il, false)?;
        b.qk_norm(hp, il)?;
        b.norm(hp, il, "ffn_norm")?;
        b.ffn_moe(hp, il, hp.n_ff_expert)?;
    }
    Ok(())
}

/// gemma2: sandwich norms (post-attention and post-FFN), tied embeddings.
fn gemma2(b: &mut Builder, hp: &HyperParams) -> Result<()> {
    gemma(b, hp, false)
}

/// gemma3: gemma2 plus per-head Q/K norms.
fn gemma3(b: &mut Builder, hp: &HyperParams) -> Result<()> {
    gemma(b, hp, true)
}

fn gemma(b: &mut Builder, hp: &HyperParams, qk_norm: bool) -> Result<()> {
    b.globals(hp)?;
    for il in 0..hp.n_layer {
        b.norm(hp, il, "attn_norm")?;
        b.attn(hp, il, false)?;
        if qk_norm {
            b.qk_norm(hp, il)?;
        }
        b.norm(hp, il, "post_attention_norm")?;
        b.norm(hp, il, "ffn_norm")?;
        b.ffn_dense(hp, il, hp.n_ff[il as usize])?;
        b.norm(hp, il, "post_ffw_norm")?;
    }
    Ok(())
}

/// phi3 (Phi-3, Phi-4): fused QKV, fused gate+up (`ffn_up` is 2*n_ff wide), no gate tensor.
fn phi3(b: &mut Builder, hp: &HyperParams) -> Result<()> {
    b.globals(hp)?;
    for il in 0..hp.n_layer {
        let (e, q, k, v) = attn_widths(hp, il);
        let ff = hp.n_ff[il as usize];
        b.norm(hp, il, "attn_norm")?;
        b.layer(il, "attn_qkv.weight", &[e, q + k + v])?;
        b.layer(il, "attn_output.weight", &[out_width(hp, il), e])?;
        b.norm(hp, il, "ffn_norm")?;
        b.layer(il, "ffn_down.weight", &[ff, e])?;
        b.layer(il, "ffn_up.weight", &[e, 2 * ff])?;
    }
    Ok(())
}

/// deepseek2 (DeepSeek-V2/V3): multi-head latent attention with the K/V up-projection split into
/// `attn_k_b` / `attn_v_b` (current converter; old GGUFs have one `attn_kv_b`), leading dense layers,
/// routed + shared experts. MTP layers past `n_layer` are skipped by the converter.
fn deepseek2(b: &mut Builder, hp: &HyperParams) -> Result<()> {
    let Some(mla) = hp.mla.clone() else {
        return Err(Error::usage(
            "deepseek2 needs the MLA dimensions (mla: kv_lora_rank, q_lora_rank, ...)",
        ));
    };
    b.globals(hp)?;
    let e = hp.n_embd;
    for il in 0..hp.n_layer {
        let h = u64::from(hp.n_head[il as usize]);
        let qk = mla.nope_dim + mla.rope_dim;
        b.norm(hp, il, "attn_norm")?;
        if mla.q_lora_rank > 0 {
            b.layer(il, "attn_q_a_norm.weight", &[mla.q_lora_rank])?;
        }
        b.layer(il, "attn_kv_a_norm.weight", &[mla.kv_lora_rank])?;
        if mla.q_lora_rank > 0 {
            b.layer(il, "attn_q_a.weight", &[e, mla.q_lora_rank])?;
            b.layer(il, "attn_q_b.weight", &[mla.q_lora_rank, h * qk])?;
        } else {
            b.layer(il, "attn_q.weight", &[e, h * qk])?;
        }
        b.layer(
            il,
            "attn_kv_a_mqa.weight",
            &[e, mla.kv_lora_rank + mla.rope_dim],
        )?;
        b.layer(il, "attn_k_b.weight", &[mla.nope_dim, mla.kv_lora_rank, h])?;
        b.layer(
            il,
            "attn_v_b.weight",
            &[mla.kv_lora_rank, mla.v_head_dim, h],
        )?;
        b.layer(il, "attn_output.weight", &[h * mla.v_head_dim, e])?;
        b.norm(hp, il, "ffn_norm")?;
        if is_moe_layer(hp, il) {
            b.ffn_moe(hp, il, hp.n_ff_expert)?;
            if hp.n_expert_shared > 0 {
                b.ffn_shexp(hp, il)?;
            }
        } else {
            b.ffn_dense(hp, il, hp.n_ff[il as usize])?;
        }
    }
    Ok(())
}

/// gpt-oss (llama.cpp `LLM_ARCH_OPENAI_MOE`): biased attention with per-head sinks, a biased router,
/// biased MXFP4 experts; `post_attention_norm` is the pre-FFN norm.
fn gpt_oss(b: &mut Builder, hp: &HyperParams) -> Result<()> {
    b.mxfp4_experts = true;
    b.globals(hp)?;
    let (e, x, f) = (hp.n_embd, u64::from(hp.n_expert), hp.n_ff_expert);
    for il in 0..hp.n_layer {
        b.norm(hp, il, "attn_norm")?;
        b.norm(hp, il, "post_attention_norm")?;
        b.attn(hp, il, true)?;
        b.layer(il, "attn_output.bias", &[e])?;
        b.layer(
            il,
            "attn_sinks.weight",
            &[u64::from(hp.n_head[il as usize])],
        )?;
        b.ffn_moe(hp, il, f)?;
        b.layer(il, "ffn_gate_inp.bias", &[x])?;
        b.layer(il, "ffn_gate_exps.bias", &[f, x])?;
        b.layer(il, "ffn_down_exps.bias", &[e, x])?;
        b.layer(il, "ffn_up_exps.bias", &[f, x])?;
    }
    Ok(())
}
