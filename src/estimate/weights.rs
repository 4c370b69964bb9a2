//! weights: bytes resident and bytes read per decoded token, from the tensor inventory.
//!
//! - Resident: the sum of every tensor's stored bytes. Tied embeddings are one tensor
//!   (`token_embd.weight` with no `output.weight`), so they are counted once.
//! - Read per decoded token: every tensor fully, except the token embedding (one row, a `get_rows`)
//!   and routed experts (`n_expert_used / n_expert` of each expert tensor). When the embedding is tied it
//!   doubles as the output matrix and is read fully.
//! - Per layer: resident and read bytes of each `blk.N` (for partial offload).
//! - FLOPs per token: 2 × active matmul parameters, plus attention `4·n_head·hd·n_kv` per layer.

use crate::model::roles::{self, Kind};
use crate::model::{HyperParams, ModelDesc};

/// Byte and parameter sums of one model's weights.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WeightStats {
    /// All stored bytes.
    pub resident_bytes: u64,
    /// Bytes read to decode one token (batch 1).
    pub read_bytes_per_token: u64,
    /// Resident bytes per layer (`n_layer` entries).
    pub layer_bytes: Vec<u64>,
    /// Bytes read per token per layer.
    pub layer_read_bytes: Vec<u64>,
    /// Resident bytes outside the repeating layers (embeddings, output, final norm, extra layers).
    pub other_bytes: u64,
    /// Read bytes outside the repeating layers.
    pub other_read_bytes: u64,
    /// Parameters multiplied per decoded token (2 FLOPs each).
    pub active_params: u64,
    /// Resident bytes of routed-expert tensors.
    pub expert_bytes: u64,
    /// Bytes in block-quantized types (their matmuls pay a dequantization cost).
    pub quantized_bytes: u64,
    /// Bytes of the repeating layers' tensors (the matrices a prompt multiplies: the output matrix
    /// runs for the last token of a batch only), of those in block-quantized types, and of those in
    /// the types llama.cpp's CPU backend repacks for its x86 AVX2 GEMM kernels ([`cpu_gemm_repacked`]).
    pub layer_total_bytes: u64,
    pub layer_quantized_bytes: u64,
    pub layer_cpu_gemm_bytes: u64,
    /// `n_expert_used / n_expert` (1 for dense models).
    pub expert_fraction: f64,
    /// Bytes of the input token embedding when the model has a separate output matrix. With a GPU
    /// backend llama.cpp keeps the input layer in host memory (its `get_rows` runs on the CPU), so
    /// these bytes are not in VRAM: measured on an H100 (CUDA0 model buffer = file − token_embd,
    /// `tests/data/cuda_h100_probe.csv`). With tied embeddings the matrix is also the output layer
    /// and lives on the GPU.
    pub host_input_bytes: u64,
}

impl WeightStats {
    /// Weight bytes read by one decode step of `b` sequences: dense tensors once, routed experts by
    /// expected coverage `1 − (1 − k/E)^b` (each sequence picks k of E experts per layer).
    pub fn read_bytes_for_batch(&self, b: u32) -> f64 {
        let dense =
            self.read_bytes_per_token as f64 - self.expert_bytes as f64 * self.expert_fraction;
        let coverage = 1.0 - (1.0 - self.expert_fraction).powi(b.max(1) as i32);
        dense + self.expert_bytes as f64 * coverage
    }

    /// Fraction of weight bytes stored block-quantized.
    pub fn quantized_fraction(&self) -> f64 {
        if self.resident_bytes == 0 {
            0.0
        } else {
            self.quantized_bytes as f64 / self.resident_bytes as f64
        }
    }

    /// The byte shares that set prefill's FLOPS efficiency: `quantized` over all weights (the fits of
    /// the GPU backends), `cpu_gemm` and `cpu_quantized` over the repeating layers' weights (the CPU's).
    pub fn prefill_mix(&self) -> PrefillMix {
        let layer = |b: u64| {
            if self.layer_total_bytes == 0 {
                0.0
            } else {
                b as f64 / self.layer_total_bytes as f64
            }
        };
        PrefillMix {
            quantized: self.quantized_fraction(),
            cpu_quantized: layer(self.layer_quantized_bytes),
            cpu_gemm: layer(self.layer_cpu_gemm_bytes.min(self.layer_quantized_bytes)),
        }
    }
}

/// Byte shares of a model's weights: block-quantized, and of those the types llama.cpp's x86 CPU
/// backend runs through repacked GEMM kernels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrefillMix {
    pub quantized: f64,
    pub cpu_quantized: f64,
    pub cpu_gemm: f64,
}

/// Whether llama.cpp's CPU backend repacks `ty` on an x86 host with AVX2 (llama.cpp 0c1e570,
/// `ggml-cpu/repack.cpp`, `ggml_repack_get_optimal_repack_type`: Q4_0 → q4_0_8x8, Q4_K → q4_K_8x8,
/// IQ4_NL → iq4_nl_8x8, MXFP4 → mxfp4_8x8; Q2_K needs AVX-512; Q8_0, Q5_K and Q6_K are repacked on
/// ARM only). Rows must be a multiple of 8, true of every weight matrix of the bundled architectures.
pub fn cpu_gemm_repacked(ty: crate::model::TensorType) -> bool {
    use crate::model::TensorType as T;
    matches!(ty, T::Q4_0 | T::Q4_K | T::IQ4_NL | T::MXFP4)
}

/// Sum the inventory of `model`.
pub fn weight_stats(model: &ModelDesc) -> WeightStats {
    let hp = &model.hparams;
    let n_layer = hp.n_layer as usize;
    let frac = if hp.n_expert > 1 && hp.n_expert_used > 0 {
        hp.n_expert_used.min(hp.n_expert) as f64 / hp.n_expert as f64
    } else {
        1.0
    };
    let mut s = WeightStats {
        layer_bytes: vec![0; n_layer],
        layer_read_bytes: vec![0; n_layer],
        expert_fraction: frac,
        ..WeightStats::default()
    };
    let roles: Vec<_> = model.tensors.iter().map(|t| roles::role(&t.name)).collect();
    let tied = !roles.iter().any(|r| r.kind == Kind::Output);
    let mut read_f = 0.0f64;
    let mut layer_read_f = vec![0.0f64; n_layer];
    let mut other_read_f = 0.0f64;
    let mut active_f = 0.0f64;
    for (t, r) in model.tensors.iter().zip(&roles) {
        s.resident_bytes += t.n_bytes;
        if t.ty.is_quantized()
            || (model.mlx_quant.is_some() && t.ty == crate::model::TensorType::U32)
        {
            s.quantized_bytes += t.n_bytes;
        }
        if r.layer.is_some() {
            s.layer_total_bytes += t.n_bytes;
            if t.ty.is_quantized() {
                s.layer_quantized_bytes += t.n_bytes;
            }
            if cpu_gemm_repacked(t.ty) {
                s.layer_cpu_gemm_bytes += t.n_bytes;
            }
        }
        let (read, params) = match r.kind {
            Kind::TokenEmbd if !tied => {
                s.host_input_bytes += t.n_bytes;
                // one row per token: n_bytes × n_embd / n_elements
                let row = if t.n_elements > 0 {
                    (t.n_bytes as u128 * hp.n_embd.min(t.n_elements) as u128 / t.n_elements as u128)
                        as f64
                } else {
                    0.0
                };
                (row, 0.0)
            }
            k if k.is_routed_expert() => {
                s.expert_bytes += t.n_bytes;
                (t.n_bytes as f64 * frac, t.n_elements as f64 * frac)
            }
            Kind::Norm => (t.n_bytes as f64, 0.0),
            _ => (
                t.n_bytes as f64,
                if t.shape.len() >= 2 {
                    t.n_elements as f64
                } else {
                    0.0
                },
            ),
        };
        read_f += read;
        active_f += params;
        match r.layer.map(|l| l as usize) {
            Some(l) if l < n_layer => {
                s.layer_bytes[l] += t.n_bytes;
                layer_read_f[l] += read;
            }
            _ => {
                s.other_bytes += t.n_bytes;
                other_read_f += read;
            }
        }
    }
    s.read_bytes_per_token = read_f.round() as u64;
    s.layer_read_bytes = layer_read_f.iter().map(|x| x.round() as u64).collect();
    s.other_read_bytes = other_read_f.round() as u64;
    s.active_params = active_f.round() as u64;
    s
}

/// Attention FLOPs per decoded token at KV depth `n_kv`: `4·n_head·hd·n_kv` per attention layer (QKᵀ and
/// the weighted sum of V), sliding-window layers capped at the window.
pub fn attention_flops(hp: &HyperParams, n_kv: u64) -> f64 {
    let hd = if let Some(m) = &hp.mla {
        (m.kv_lora_rank + m.rope_dim) as f64
    } else {
        hp.head_dim_k as f64
    };
    let mut f = 0.0;
    for l in 0..hp.n_layer as usize {
        if hp.n_head_kv.get(l).copied().unwrap_or(0) == 0 {
            continue;
        }
        let heads = hp.n_head.get(l).copied().unwrap_or(0) as f64;
        let swa = hp.swa_layers.get(l).copied().unwrap_or(false);
        let depth = match hp.sliding_window {
            Some(w) if swa => n_kv.min(w),
            _ => n_kv,
        } as f64;
        f += 4.0 * heads * hd * depth;
    }
    f
}

/// FLOPs to decode one token at KV depth `n_kv`: 2 × active parameters plus attention.
pub fn flops_per_token(hp: &HyperParams, w: &WeightStats, n_kv: u64) -> f64 {
    2.0 * w.active_params as f64 + attention_flops(hp, n_kv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ModelFormat, TensorInfo, TensorType};

    fn t(name: &str, shape: &[u64], ty: TensorType) -> TensorInfo {
        let n: u64 = shape.iter().product();
        TensorInfo {
            name: name.into(),
            shape: shape.to_vec(),
            ty,
            n_elements: n,
            n_bytes: ty.tensor_bytes(shape[0], n).unwrap(),
            data: None,
        }
    }

    fn model(tensors: Vec<TensorInfo>, hp: HyperParams) -> ModelDesc {
        ModelDesc {
            format: ModelFormat::Spec,
            source: "test".into(),
            name: "test".into(),
            architecture: "llama".into(),
            hparams: hp,
            tensors,
            file_type: None,
            mlx_quant: None,
            files: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn embedding_row_and_experts() {
        let hp = HyperParams {
            n_layer: 1,
            n_embd: 64,
            n_expert: 8,
            n_expert_used: 2,
            ..HyperParams::default()
        };
        let m = model(
            vec![
                t("token_embd.weight", &[64, 1000], TensorType::F16),
                t("output.weight", &[64, 1000], TensorType::Q8_0),
                t("blk.0.attn_q.weight", &[64, 64], TensorType::F16),
                t("blk.0.ffn_up_exps.weight", &[64, 128, 8], TensorType::Q4_0),
                t("blk.0.attn_norm.weight", &[64], TensorType::F32),
            ],
            hp,
        );
        let s = weight_stats(&m);
        assert_eq!(s.resident_bytes, 128_000 + 68_000 + 8192 + 36_864 + 256);
        // one embedding row (128 B) + output + q + 2/8 of experts + norm
        assert_eq!(s.read_bytes_per_token, 128 + 68_000 + 8192 + 9216 + 256);
        assert_eq!(s.layer_bytes, vec![8192 + 36_864 + 256]);
        assert_eq!(s.active_params, 64_000 + 4096 + 64 * 128 * 2);
        // a batch of 8 touches 1 − (3/4)^8 ≈ 90% of the experts
        let b8 = s.read_bytes_for_batch(8) - (s.read_bytes_per_token as f64 - 9216.0);
        assert!((b8 / 36_864.0 - (1.0 - 0.75f64.powi(8))).abs() < 1e-9);
    }

    #[test]
    fn tied_embedding_is_read_fully_and_counted_once() {
        let hp = HyperParams {
            n_layer: 0,
            n_embd: 64,
            ..HyperParams::default()
        };
        let m = model(
            vec![t("token_embd.weight", &[64, 1000], TensorType::F16)],
            hp,
        );
        let s = weight_stats(&m);
        assert_eq!(s.resident_bytes, 128_000);
        assert_eq!(s.read_bytes_per_token, 128_000);
        assert_eq!(s.active_params, 64_000);
    }
}
