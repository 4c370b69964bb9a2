//! compute: llama.cpp's compute (graph) buffer, its output buffer, the runtime's own overhead, and the
//! MLX equivalents.
//!
//! # llama.cpp compute buffer
//! llama.cpp reserves the compute buffer once, for the worst-case graph: one full micro-batch of
//! `n_tokens = min(n_ubatch, n_ctx)` tokens, all of them outputs, attending to all cells of a KV stream
//! (`pad256(n_ctx)`, or `n_ctx_seq` per stream with `-np` > 1: the scores of all streams together are
//! `n_head · n_ctx_seq · n_tokens`). With the unified cache (`kv_unified`) the mask and scores have one
//! stream (`llama-graph.cpp` `build_attn_inp_kq_mask`: `n_stream = kv_unified ? 1 : n_seqs_unq`) over all
//! `pad256(n_ctx)` cells, i.e. the single-sequence graph at the same `n_ctx`, whatever `-np`; only the
//! recurrent scan's final states still count one per sequence. ggml's graph allocator reuses memory between
//! layers (tensors are freed after their last consumer, some ops write over their input), so the buffer is
//! the allocator's high-water mark over the graph, not a sum.
//!
//! **Simulation** (where the architecture's graph is built: llama dense/MoE, qwen3, qwen3moe, gemma3, jamba,
//! DeepSeek-V2/V3 without MLA; see [`super::graph::GraphSpec::from_model`]): the reserve graph is rebuilt
//! from the hyperparameters ([`super::graph`]) and ggml's allocator is run over it ([`super::alloc`]); on a
//! CUDA GPU the device side of the scheduler's split ([`ComputeShape::on_machine`]). Exact to the byte on
//! every oracle row of those architectures (the tests print each row).
//!
//! **Live-set formulas** (every other architecture, and [`compute_buffer_bytes`], which sees only the
//! hyperparameters): the peak phase's live tensors, read off the allocator itself:
//! `scripts/oracle/graph_probe.cpp` prints where llama.cpp placed every tensor of a full-ubatch graph
//! (`graph_peak.py` lists what is live at the high-water mark). Every term is f32 unless said, so bytes =
//! `4 · n_tokens · (per-token floats)`:
//!
//! - **masks**: the KQ masks (one per cache: full and, for ISWA models, sliding; f16 with flash
//!   attention, else f32; `n_kv` per token) are graph inputs read by every attention layer, so they stay
//!   allocated through *every* layer phase below until the last attention. At 128k context they dominate
//!   the flash-attention buffer (128 MiB per 512-token ubatch).
//! - **logits**: the output matmul `[n_vocab, n_tokens]` on top of the final hidden state and the
//!   n_embd-sized hole left above the token ids: `n_vocab + 2·n_embd + 1`. Two placements move it up:
//!   attention-free models (Mamba) `3·n_embd + 2` (the recurrent-state copy indices split the low hole);
//!   MoE with a shared expert whose down projection fits the freed gate+up block (`k·n_embd ≤ 2·k·n_ff_exp`)
//!   `4·n_embd + 2·k·n_ff_exp + 1` (the normed input stays alive for the shared expert, and the residual
//!   chain lands above the routed gate+up); with a shared expert and larger down outputs (DeepSeek-V3,
//!   Qwen3-Next proportions) `3·n_embd + 1`.
//! - **attention**: with flash attention off, the KQ scores `n_head · n_kv` (softmax runs in place), the
//!   masks, and the live activations around them: residual, normed input and output (`3·n_embd`), Q and
//!   its RoPE'd copy (`2·n_head·hd`), the new K and V rows (`2·n_head_kv·hd`) and the int32 inputs (`5`).
//!   MLA (absorbed, K-only cache) also copies the latent V transposed (`2·kv_lora_rank·n_kv` bytes, f16)
//!   and keeps the low n_embd hole. With flash attention on, no KQ is materialised.
//! - **FFN**: dense SwiGLU: residual and two holes (`3·n_embd`), gate, up and their product (`3·n_ff`);
//!   MoE: residual and three holes (`4·n_embd`), per-used-expert gate, up and product (`3·k·n_ff_exp`),
//!   the down outputs `k·n_embd` when they do not fit the freed gate+up block, the router logits and
//!   probabilities (`2·n_expert`), the normed input kept for a shared expert (`n_embd`).
//! - **SSM** (Mamba, Mamba-2, Granite-H, LFM2 short convolutions): residual, normed input and output
//!   (`3·n_embd`), the input projection (Mamba-1 `2·d_inner`; Mamba-2 `2·d_inner + 2·n_group·d_state +
//!   n_heads`), the convolved `d_inner + 2·n_group·d_state`, the scan output and its contiguous copy
//!   (`2·d_inner`), plus the final state the scan appends (`4·d_state·d_inner` bytes per sequence).
//!   Qwen3-Next's gated-delta-net layers are sized by the same keys; in its oracle rows this phase is
//!   never the peak (the logits are), so that use is unvalidated.
//!
//! The formulas alone: the 80 rows of `tests/data/oracle_results.csv` (dense llama, qwen3, gemma3 SWA,
//! llama MoE; 58 exact, worst 3.84%, total worst 0.91%; where the allocator leaves a hole the formula
//! does not see, e.g. one more `4·n_embd·n_tokens` block with q8_0 KV, llama.cpp allocates *more* than
//! predicted; the simulation makes all 80 exact, `tests/estimate_oracle_ext.rs`) and the
//! architectures of `tests/data/oracle_results_ext.csv` it does not build (DeepSeek MLA, Mamba-1/2,
//! Granite-4.0-H, LFM2, Qwen3-Next, gpt-oss; n_ctx 512–131072, n_ubatch 128–2048, FA on/off, KV
//! f16/q8_0/q4_0, `-np` 1–4): compute worst 3.62%, total worst 1.04%.
//!
//! On GPUs the same graph is reserved on the device (the buffer does not depend on how many layers
//! are offloaded: llama.cpp #27953). The CPU_REPACK doubling of Q4_0/Q4_K weights in the oracle's model
//! buffer is a CPU-backend feature (weights repacked for AVX kernels); on Metal and CUDA the model buffer
//! is the file's tensor bytes, so plans use the inventory's bytes.
//!
//! # Output buffer
//! Host logits of one token per sequence: `4 · n_vocab · n_seq` (exact on all 296 oracle rows and the
//! unified-cache rows, within the log's 0.01 MiB rounding: `output_reserve(n_seq_max)` does not look at
//! `kv_unified`).
//!
//! # Runtime overhead
//! - CUDA: the context, cuBLAS workspace and driver reserve: 400 MiB. gguf-parser-go's default VRAM
//!   platform footprint is 250 MiB; llama.cpp's memory breakdown shows 0.75–2.2 GiB `unaccounted` on big
//!   cards, other processes included (reference/peers.md §6). Counted with ±150 MiB uncertainty.
//! - Metal: nothing beyond the buffers: ggml-metal's `allocated size … / recommendedMax` line counts the
//!   model, KV and compute buffers only (llama.cpp #9112, peers.md).
//!
//! # MLX (mlx-lm)
//! No padded graph reservation: MLX allocates per operation. The peak during prefill is one chunk of
//! `prefill_step_size = 2048` tokens of bf16 activations (residual, normed input, gate, up:
//! `2·(2·n_embd + 2·n_ff)` bytes per token; attention runs in the fused SDPA kernel, no score matrix),
//! plus the f32 logits of the last token. Not validated against a measured run (no MLX oracle yet).

use super::graph::{self, GraphSpec, Run};
use super::kv::{Cells, KvShape};
use super::{Runtime, Workload};
use crate::error::Result;
use crate::hardware::{Machine, Vendor};
use crate::model::{HyperParams, ModelDesc};

pub use crate::units::MIB;

/// CUDA context + cuBLAS + driver reserve counted per GPU.
pub const CUDA_OVERHEAD_BYTES: u64 = 400 * MIB;
/// Uncertainty of [`CUDA_OVERHEAD_BYTES`] (its range in public logs and peers: 250–550 MiB).
pub const CUDA_OVERHEAD_UNCERTAINTY_BYTES: u64 = 150 * MIB;
/// mlx-lm `generate_step` prefill chunk (`prefill_step_size`).
pub const MLX_PREFILL_STEP: u64 = 2048;

/// Saturating sum (sizes come from file headers; absurd ones must not overflow).
fn sum(terms: &[u64]) -> u64 {
    terms.iter().fold(0u64, |a, &t| a.saturating_add(t))
}

/// Attention dimensions of one kind of layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct AttnDims {
    present: bool,
    n_head: u64,
    q_dim: u64,
    kv_dim: u64,
}

impl AttnDims {
    fn merge(&mut self, n_head: u64, q: u64, kv: u64) {
        self.present = true;
        self.n_head = self.n_head.max(n_head);
        self.q_dim = self.q_dim.max(q);
        self.kv_dim = self.kv_dim.max(kv);
    }
}

/// Buffer alignment the allocator simulation pads to (ggml-cpu `TENSOR_ALIGNMENT`; the oracle's backend).
pub const SIM_ALIGNMENT: u64 = 32;
/// ggml-cuda's buffer alignment (`ggml_backend_cuda_buffer_type_get_alignment`).
pub const CUDA_ALIGNMENT: u64 = 128;

/// The model dimensions the compute buffer depends on, gathered once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ComputeShape {
    n_vocab: u64,
    n_embd: u64,
    full: AttnDims,
    swa: AttnDims,
    /// Per-token floats of the largest FFN phase.
    ffn_floats: u64,
    /// Per-token floats of a recurrent (Mamba-style) layer's phase, 0 when no layer is recurrent.
    ssm_floats: u64,
    /// Floats of the final recurrent state the scan appends to its output, per sequence.
    ssm_state_floats: u64,
    /// Per-token floats held below the logits besides the final hidden state (see module docs).
    logits_floor_floats: u64,
    /// MLA latent width (`kv_lora_rank`), 0 without MLA.
    mla_rank: u64,
    /// The reserve graph's structure, where [`graph::GraphSpec::from_model`] builds it: the buffer then
    /// comes from simulating ggml's allocator over it ([`super::alloc`]) instead of the live-set formulas.
    graph: Option<GraphSpec>,
    /// Hadamard rotation sizes for the workload's cache types (see [`graph::rotations`]).
    rot: (Option<u64>, Option<u64>),
    /// The buffer lives on a discrete GPU holding every layer (CUDA): the graph inputs and the token
    /// embedding lookup stay on the host, and the GPU buffer holds the scheduler's copies of what its
    /// split reads instead (simulated as a one-device layer split, [`graph::device_buffers`]).
    gpu: bool,
}

/// The candidate peaks of the llama.cpp compute buffer, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ComputeTerms {
    pub logits: u64,
    pub attention: u64,
    pub ffn: u64,
    /// Recurrent (SSM) layers; 0 for attention-only models.
    pub ssm: u64,
    /// The allocator simulation's buffer, where the model's graph is built (then it is the buffer).
    pub simulated: Option<u64>,
}

impl ComputeTerms {
    /// The buffer: the simulated allocator's high-water mark, else the largest phase.
    pub fn total(&self) -> u64 {
        self.simulated
            .unwrap_or_else(|| self.logits.max(self.attention).max(self.ffn).max(self.ssm))
    }

    /// Which phase sets the buffer.
    pub fn dominant(&self) -> &'static str {
        let t = self.total();
        if t == self.attention && self.attention > self.logits {
            "attention"
        } else if t == self.ffn && self.ffn > self.logits {
            "ffn"
        } else if t == self.ssm && self.ssm > self.logits {
            "ssm"
        } else {
            "logits"
        }
    }
}

impl ComputeShape {
    /// The shape of `model` for `wl`'s cache types: the formulas' dimensions plus, where built, the
    /// reserve graph for the allocator simulation.
    pub fn for_model(model: &ModelDesc, wl: &Workload) -> ComputeShape {
        let hp = &model.hparams;
        let mut s = ComputeShape::new(hp);
        s.graph = GraphSpec::from_model(model);
        s.rot = graph::rotations(
            hp.head_dim_k,
            hp.head_dim_v,
            wl.cache_type_k.is_quantized(),
            wl.cache_type_v.is_quantized(),
        );
        s
    }

    /// The same shape for a buffer on `machine`: a CUDA GPU reserves the device side of the scheduler's
    /// split (measured on one H100: `tests/estimate_multi_cuda.rs`, the `-sm none` rows); other machines
    /// keep the one-buffer graph of the CPU oracle.
    pub fn on_machine(mut self, machine: &Machine) -> ComputeShape {
        self.gpu = machine.vendor == Vendor::Nvidia;
        self
    }

    pub fn new(hp: &HyperParams) -> ComputeShape {
        let mut s = ComputeShape {
            n_vocab: hp.vocab_size,
            n_embd: hp.n_embd,
            ..ComputeShape::default()
        };
        for l in 0..hp.n_layer as usize {
            let hkv = hp.n_head_kv.get(l).copied().unwrap_or(0) as u64;
            if hkv == 0 {
                continue;
            }
            let h = hp.n_head.get(l).copied().unwrap_or(0) as u64;
            let (q, kv) = match &hp.mla {
                Some(m) => {
                    let latent = m.kv_lora_rank.saturating_add(m.rope_dim);
                    (h.saturating_mul(latent), latent)
                }
                None => (
                    h.saturating_mul(hp.head_dim_k),
                    hkv.saturating_mul(hp.head_dim_k),
                ),
            };
            let swa = hp.sliding_window.is_some() && hp.swa_layers.get(l).copied().unwrap_or(false);
            if swa {
                s.swa.merge(h, q, kv)
            } else {
                s.full.merge(h, q, kv)
            }
        }
        let e = hp.n_embd;
        s.mla_rank = hp.mla.as_ref().map(|m| m.kv_lora_rank).unwrap_or(0);
        let dense_ff = hp.n_ff.iter().copied().max().unwrap_or(0);
        // live at the dense SwiGLU: residual plus two allocator holes (3·n_embd), gate, up and their
        // product (3·n_ff), the token ids
        let dense = if dense_ff > 0 {
            sum(&[e.saturating_mul(3), dense_ff.saturating_mul(3), 1])
        } else {
            0
        };
        s.logits_floor_floats = sum(&[e.saturating_mul(2), 1]);
        let moe = if hp.is_moe() {
            // live at the routed experts' SwiGLU: residual, normed input and two allocator holes left by
            // the attention (4·n_embd), gate, up and their product (3·k·n_ff_exp), the router logits and
            // probabilities; the down projection (k·n_embd) reuses the freed gate+up block when it fits,
            // else it is allocated on top. A shared expert keeps the normed input alive.
            let k = hp.n_expert_used as u64;
            let (kf, ke) = (k.saturating_mul(hp.n_ff_expert), k.saturating_mul(e));
            let shared = hp.n_ff_shexp > 0;
            if shared && ke <= kf.saturating_mul(2) {
                // the residual chain after the experts then lands above gate+up, under the logits
                s.logits_floor_floats = sum(&[e.saturating_mul(4), kf.saturating_mul(2), 1]);
            } else if shared {
                // else one block higher than without a shared expert (DeepSeek-V3 and Qwen3-Next
                // proportions, n_ctx >= 4096; at 512 the mask's slot adds 1.5 blocks more)
                s.logits_floor_floats = sum(&[e.saturating_mul(3), 1]);
            }
            sum(&[
                e.saturating_mul(4),
                kf.saturating_mul(3),
                if ke > kf.saturating_mul(2) { ke } else { 0 },
                2 * hp.n_expert as u64,
                if shared { e } else { 0 },
                1,
            ])
        } else {
            0
        };
        if !s.full.present && !s.swa.present {
            // attention-free (Mamba): the recurrent-state copy indices take the first slot above the token
            // ids, so the final hidden state lands one n_embd block higher (graph dumps of Mamba-1 and -2)
            s.logits_floor_floats = sum(&[e.saturating_mul(3), 2]);
        }
        // recurrent layers (llama.cpp build_mamba_layer / build_mamba2_layer): residual, normed input and
        // the layer output (3·n_embd), the input projection (Mamba-1: x and z, 2·d_inner; Mamba-2: z, xBC
        // and dt), the convolved xBC, the scan output y and its contiguous copy (2·d_inner), plus the final
        // state the scan appends per sequence (d_state·d_inner).
        if let Some(ssm) = &hp.ssm {
            let recurrent = (0..hp.n_layer as usize).any(|l| {
                hp.recurrent_layers.get(l).copied().unwrap_or(false)
                    || (hp.recurrent_layers.is_empty()
                        && hp.n_head_kv.get(l).copied().unwrap_or(0) == 0)
            });
            if recurrent {
                let di = ssm.d_inner;
                let gn2 = ssm.n_group.saturating_mul(ssm.d_state).saturating_mul(2);
                let in_proj = if ssm.n_group == 0 {
                    di.saturating_mul(2)
                } else {
                    sum(&[di.saturating_mul(2), gn2, ssm.dt_rank])
                };
                s.ssm_floats = sum(&[e.saturating_mul(3), in_proj, di, gn2, di.saturating_mul(2)]);
                s.ssm_state_floats = ssm.d_state.saturating_mul(di);
            }
        }
        s.ffn_floats = dense.max(moe);
        s
    }

    /// llama.cpp's compute buffer phases at `cells` with micro-batch `ubatch`.
    pub fn llama_cpp(&self, cells: Cells, ubatch: u64, flash_attention: bool) -> ComputeTerms {
        // graph_reserve: n_tokens = min(n_ctx, n_ubatch), split evenly over the KV streams, so the
        // scores of all streams together are n_head · n_kv(stream) · n_tokens
        let n_tokens = ubatch.min(cells.full.saturating_mul(cells.streams).max(1));
        let per_tok = |floats: u64| floats.saturating_mul(4).saturating_mul(n_tokens);
        let masks = if self.full.present { cells.full } else { 0 }
            + if self.swa.present { cells.swa } else { 0 };
        // the masks are graph inputs read by every attention layer: they stay allocated through every
        // layer's phases until the last attention (f16 with flash attention, else f32)
        let mask_floats = if flash_attention {
            masks.div_ceil(2)
        } else {
            masks
        };
        let attn_of = |d: &AttnDims, n_kv: u64| -> u64 {
            if !d.present {
                return 0;
            }
            let acts = sum(&[
                self.n_embd.saturating_mul(3),
                d.q_dim.saturating_mul(2),
                d.kv_dim.saturating_mul(2),
                5,
            ]);
            if flash_attention {
                per_tok(mask_floats + acts)
            } else {
                // MLA without flash attention: V is a view of the latent K cache, made contiguous and
                // transposed for the KQ·V product (build_attn_mha `v_cont`), f16 like the cache
                // (and the n_embd block freed above the token ids stays a hole under the scores)
                let v_cont = self.mla_rank.saturating_mul(n_kv).saturating_mul(2);
                let hole = if self.mla_rank > 0 { self.n_embd } else { 0 };
                per_tok(sum(&[
                    d.n_head.saturating_mul(n_kv),
                    mask_floats,
                    acts,
                    hole,
                ]))
                .saturating_add(v_cont)
            }
        };
        let ssm = if self.ssm_floats > 0 {
            per_tok(self.ssm_floats.saturating_add(mask_floats)).saturating_add(
                self.ssm_state_floats
                    .saturating_mul(cells.seqs)
                    .saturating_mul(4),
            )
        } else {
            0
        };
        // the allocator simulation where the graph is built: the reserve micro-batch has one sequence per
        // KV stream (`n_seq_max`, or 1 with the unified cache), the recurrent state one row per sequence
        let simulated = self.graph.as_ref().map(|spec| {
            let run = Run {
                n_tokens,
                n_kv: cells.full,
                n_kv_swa: cells.swa,
                flash_attention,
                rot_k: self.rot.0,
                rot_v: self.rot.1,
                n_seqs: cells.streams.max(1),
                n_rs: cells.seqs.max(1),
            };
            if self.gpu {
                let dev_of = vec![0; spec.layers.len() + 1];
                graph::device_buffers(spec, &run, &dev_of, 1, 1, CUDA_ALIGNMENT)[0]
            } else {
                graph::compute_buffer(spec, &run, SIM_ALIGNMENT)
            }
        });
        ComputeTerms {
            logits: per_tok(self.n_vocab.saturating_add(self.logits_floor_floats)),
            attention: attn_of(&self.full, cells.full).max(attn_of(&self.swa, cells.swa)),
            ffn: per_tok(self.ffn_floats.saturating_add(mask_floats)),
            ssm,
            simulated,
        }
    }

    /// mlx-lm's peak activation memory for a context of `ctx` tokens (see module docs).
    pub fn mlx(&self, hp: &HyperParams, ctx: u64) -> u64 {
        let chunk = ctx.clamp(1, MLX_PREFILL_STEP);
        let ff = hp
            .n_ff
            .iter()
            .copied()
            .max()
            .unwrap_or(0)
            .max(hp.n_ff_expert * hp.n_expert_used as u64);
        chunk * 2 * (2 * self.n_embd + 2 * ff) + 4 * self.n_vocab
    }
}

/// Compute buffer bytes for the workload.
pub fn compute_buffer_bytes(hp: &HyperParams, wl: &Workload) -> Result<u64> {
    let kv = KvShape::for_workload(hp, wl)?;
    let shape = ComputeShape::new(hp);
    Ok(match wl.runtime {
        Runtime::LlamaCpp => {
            let cells = kv.cells(wl.context, wl.ubatch as u64, wl.parallel as u64);
            shape
                .llama_cpp(cells, wl.ubatch as u64, wl.flash_attention)
                .total()
        }
        Runtime::Mlx => shape.mlx(hp, wl.context),
    })
}

/// Compute buffer bytes of `model` for the workload: the allocator simulation where the model's graph is
/// built ([`ComputeShape::for_model`]), else the formulas ([`compute_buffer_bytes`]).
pub fn model_compute_buffer_bytes(model: &ModelDesc, wl: &Workload) -> Result<u64> {
    let hp = &model.hparams;
    let kv = KvShape::for_workload(hp, wl)?;
    Ok(match wl.runtime {
        Runtime::LlamaCpp => {
            let cells = kv.cells(wl.context, wl.ubatch as u64, wl.parallel as u64);
            ComputeShape::for_model(model, wl)
                .llama_cpp(cells, wl.ubatch as u64, wl.flash_attention)
                .total()
        }
        Runtime::Mlx => ComputeShape::new(hp).mlx(hp, wl.context),
    })
}

/// Host output (logits) buffer: `4 · n_vocab · n_seq` for llama.cpp; MLX keeps logits in its
/// activations (counted in [`ComputeShape::mlx`]).
pub fn output_buffer_bytes(hp: &HyperParams, wl: &Workload) -> u64 {
    match wl.runtime {
        Runtime::LlamaCpp => 4 * hp.vocab_size * wl.parallel.max(1) as u64,
        Runtime::Mlx => 0,
    }
}

/// Device memory the runtime itself takes on `machine` (see module docs).
pub fn runtime_overhead_bytes(machine: &Machine, runtime: Runtime) -> u64 {
    match (machine.vendor, runtime) {
        (Vendor::Nvidia, Runtime::LlamaCpp) => CUDA_OVERHEAD_BYTES,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TensorType;

    fn llama1b() -> HyperParams {
        HyperParams {
            n_layer: 16,
            n_embd: 2048,
            n_head: vec![32; 16],
            n_head_kv: vec![8; 16],
            head_dim_k: 64,
            head_dim_v: 64,
            n_ff: vec![8192; 16],
            vocab_size: 128256,
            ..HyperParams::default()
        }
    }

    #[test]
    fn medium_row_exact() {
        // oracle medium-llama1b-q4_0: 4096 ctx ub 512 FA on 271058944, FA off 299902976
        let wl = Workload {
            context: 4096,
            ..Workload::default()
        };
        assert_eq!(compute_buffer_bytes(&llama1b(), &wl).unwrap(), 271_058_944);
        let wl = Workload {
            context: 4096,
            flash_attention: false,
            ..Workload::default()
        };
        assert_eq!(compute_buffer_bytes(&llama1b(), &wl).unwrap(), 299_902_976);
        let wl = Workload {
            cache_type_v: TensorType::F16,
            ..wl
        };
        assert_eq!(output_buffer_bytes(&llama1b(), &wl), 4 * 128256);
    }

    #[test]
    fn masks_stay_under_the_moe_ffn_at_long_context() {
        // oracle mixtral-8x-q8_0 (llama MoE 8 experts top-2, n_ff_exp 1792), 131072 ctx, FA on, ub 512:
        // llama.cpp reserved 160,446,464 B = the f16 mask (128 MiB) + the routed SwiGLU live set
        let hp = HyperParams {
            n_layer: 4,
            n_embd: 512,
            n_head: vec![4; 4],
            n_head_kv: vec![1; 4],
            head_dim_k: 128,
            head_dim_v: 128,
            n_ff: vec![0; 4],
            vocab_size: 32000,
            n_expert: 8,
            n_expert_used: 2,
            n_ff_expert: 1792,
            ..HyperParams::default()
        };
        let shape = ComputeShape::new(&hp);
        let t = shape.llama_cpp(Cells::single(131072, 0), 512, true);
        assert_eq!(t.dominant(), "ffn");
        let err = (t.total() as f64 - 160_446_464.0) / 160_446_464.0;
        assert!(err.abs() < 0.001, "{}", t.total());
    }

    #[test]
    fn fa_off_kq_dominates_long_context() {
        let hp = llama1b();
        let shape = ComputeShape::new(&hp);
        let t = shape.llama_cpp(Cells::single(32768, 0), 512, false);
        assert_eq!(t.dominant(), "attention");
        let t = shape.llama_cpp(Cells::single(32768, 0), 512, true);
        assert_eq!(t.dominant(), "logits");
    }
}
