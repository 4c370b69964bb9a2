//! multi: one model split over several devices (GPUs of one host, or machines joined by llama.cpp RPC): which
//! device holds what, each device's memory against its own budget, the overall verdict, the largest context
//! every device can hold, and decode/prefill with the interconnect in the loop.
//!
//! An MLX workload (`--runtime exo`, or `mlx` over several Macs) is exo's pipeline: [`super::exo::plan_exo`].
//!
//! # Layer split (llama.cpp `-sm layer`, the default; also RPC)
//! Ported from llama.cpp 0c1e570 `llama_model_base::load_tensors` (`src/llama-model.cpp`):
//! - the split points are the cumulative `-ts` proportions (default: each device's free memory, here its
//!   budget), normalised in `f32`; repeating layer `il` and the output layer (`il = n_layer`) go to
//!   `upper_bound(splits, il / (n_layer + 1))`, so the output layer counts as one more layer and lands on the
//!   last device. A device can end up with no repeating layer (only the output layer).
//! - the input layer (`token_embd`, position/type embeddings) always stays on the host CPU.
//! - `token_embd_norm` belongs to layer 0; `rope_freqs`/`rope_factors_*` are created per layer as
//!   duplicates, and llama.cpp keeps one copy per buffer type: one on every device that holds a layer.
//! - with tied embeddings the output device loads its own copy of `token_embd` (`TENSOR_DUPLICATED`).
//! - the KV cache of layer `il` lives on `il`'s device (`src/llama-kv-cache.cpp`).
//! - compute buffers: with more than one device, all layers offloaded and layer split, llama.cpp turns on
//!   pipeline parallelism (`src/llama-context.cpp`), and the scheduler (`ggml/src/ggml-backend.cpp`) keeps
//!   `GGML_SCHED_MAX_COPIES = 4` copies of every split input that is never overwritten: on each device the
//!   residual stream arriving from the previous device (`n_embd` floats per token), the KQ mask(s)
//!   (`f16` with flash attention, `f32` without), `inp_pos`, the two int64 KV row indices and, on the output
//!   device, `out_ids`. Where headroom builds the model's graph ([`super::graph::GraphSpec::from_model`])
//!   each device's buffer is simulated: the scheduler's backend assignment, splits and input copies, then
//!   ggml's allocator per device ([`super::graph::device_buffers`]). Otherwise, on top of the copies, each
//!   device's peak phase: attention, FFN, and on the output device the logits (`n_vocab + n_embd` floats
//!   per token); see [`PipelineCompute`] for the terms and how they were measured (`GGML_SCHED_DEBUG=2`
//!   lists the split inputs).
//!
//! # Row split (llama.cpp `-sm row`)
//! The weight matrices of every layer are cut by rows across the devices in `-ts` proportions; norms, the KV
//! cache, the compute buffer and the output layer stay on the main device (device 0). Each matmul runs on all
//! devices at once and its partial results are gathered on the main device. llama.cpp 0c1e570's CUDA backend
//! no longer offers split buffers (only SYCL does): `-sm tensor` replaces it there.
//!
//! # Tensor split (vLLM tensor parallelism, llama.cpp `-sm tensor`)
//! Every weight matrix is cut across the devices in `-ts` proportions (attention by heads, FFN by columns,
//! the output matrix by vocabulary); 1-D tensors are replicated; the KV cache is cut by KV heads; each device
//! reserves the full single-device compute buffer (measured: llama.cpp's `Meta()` compute buffer equals the
//! single-device one). Two all-reduces of the residual per layer.
//!
//! # Decode
//! - layer split: the devices run one after another:
//!   `t = Σ_d (bytes_d / (η_d·BW_d) + layers_d·τ_d) + hops · (latency + 4·n_embd / link_bw)`, `hops` = the
//!   boundaries between devices that hold layers; over RPC every device is remote, so the host's embedding
//!   row in and the logits (`4·n_vocab` bytes) out are two more transfers, and each device's share of a
//!   token costs llama.cpp's RPC protocol [`RPC_ROUND_TRIPS_PER_TOKEN`] round trips of the link plus
//!   [`RPC_GRAPH_S_PER_LAYER`] per layer (fitted on llama.cpp RPC over loopback).
//! - tensor split: the devices run together: `t = max_d(bytes_d / (η_d·BW_d)) + n_layer·τ + 2·n_layer ·
//!   (latency + σ + 2(N−1)/N · 4·n_embd / link_bw)` (ring all-reduce of the f32 residual; σ =
//!   [`TENSOR_ALLREDUCE_OVERHEAD_S`], fitted on 2×H100).
//! - row split: `t = max_d(matrix bytes_d / (η_d·BW_d)) + main device's other bytes / (η·BW) + n_layer·τ +
//!   n_matmul·(latency + gathered rows / link_bw)`.
//!
//! `η`, `τ` and prefill `ε` per device come from [`super::speed`]; the link from [`crate::hardware::link`].
//!
//! # Validation (the tests print every row)
//!
//! | truth | weights, KV | compute | total | decode |
//! |---|---|---|---|---|
//! | llama.cpp RPC, 2–3 devices, 6 models, `-ts` 1,1 / 3,1 / 1,1,1 / 2,1,1 / default, 1k–4k, FA on/off, ub 256, q8_0 KV (324 device rows, `tests/estimate_multi.rs`) | exact | exact (simulated) | exact | – |
//! | llama.cpp RPC `-sm tensor`, largest device (12 rows) | exact | exact | exact | – |
//! | CUDA 2× H100 SXM, 8B/70B, `-sm layer` / `-ts 3,1` / `-sm tensor`, 4k–32k (60 split rows, `tests/estimate_multi_cuda.rs`) | exact | exact (layer: simulated) | – | split/one-GPU ratio 0.999× vs 0.990–1.027× measured; absolute median 14.8%, worst 16.7% |

use super::compute::{self, MIB};
use super::kv::{self, KvShape};
use super::speed;
use super::weights::{self, WeightStats};
use super::{
    Bound, MaxContext, MemoryBreakdown, Runtime, SpeedEstimate, Verdict, Workload,
    plan::{self, ORACLE_TOTAL_ERROR_PCT, WIRED_LIMIT_MARGIN_BYTES},
};
use crate::error::{Error, Result};
use crate::hardware::link::Link;
use crate::hardware::{Machine, MemoryKind, Vendor};
use crate::model::roles::{self, Kind};
use crate::model::{HyperParams, ModelDesc};
use serde::Serialize;

/// `GGML_SCHED_MAX_COPIES` (ggml/CMakeLists.txt default): input copies kept per split under pipeline
/// parallelism.
pub const PIPELINE_COPIES: u64 = 4;

/// Expected |error| of a device's total: the bar every one of the 324 device rows of the multi-device oracle
/// is held to (`tests/estimate_multi.rs`). With the scheduler and allocator simulation
/// ([`super::graph::device_buffers`]) every layer-split row of its five architectures is exact to the byte;
/// other architectures' devices use the [`PipelineCompute`] terms, which were within 2.8% on the same rows.
pub const MULTI_TOTAL_ERROR_PCT: f64 = 2.0;

/// Extra decode uncertainty when the devices talk through llama.cpp RPC over a network (no measured
/// rows with real machines), percent.
pub const RPC_EXTRA_ERROR_PCT: f64 = 25.0;

/// Round trips (of two link latencies each) llama.cpp's RPC protocol makes per device and decoded
/// token beyond the activation hops: setting the graph's inputs, sending the graph, reading outputs.
/// Fitted with [`RPC_GRAPH_S_PER_LAYER`] on `tests/data/rpc_loopback_cpu.csv` (llama.cpp 0c1e570,
/// `ggml-rpc-server` on 127.0.0.1 of the build machine, a 4- and a 16-layer model, the loopback round
/// trip measured in the same minutes: 51.4 µs): the per-token RPC cost was 0.97 and 1.25 ms, where
/// two latencies and the bytes alone gave 0.08 ms.
pub const RPC_ROUND_TRIPS_PER_TOKEN: f64 = 15.5;

/// Seconds per layer per decoded token that llama.cpp's RPC adds (serialising each layer's nodes into
/// the graph it sends every token); fitted with [`RPC_ROUND_TRIPS_PER_TOKEN`].
pub const RPC_GRAPH_S_PER_LAYER: f64 = 23.8e-6;

/// Extra decode uncertainty of a split beyond the single-GPU error, percent: the worst error of the
/// predicted split-to-one-GPU decode ratio on the 2×H100 layer-split rows (predicted 0.999×, measured
/// 0.990–1.027×; `tests/estimate_multi_cuda.rs`).
pub const SPLIT_EXTRA_ERROR_PCT: f64 = 3.0;

/// Software time of one tensor-parallel all-reduce beyond the link's own latency (llama.cpp's meta backend:
/// synchronising both devices, the reduction kernel launches), seconds. The one constant fitted on the
/// 2×H100 rows (`tests/data/cuda_2xh100_split.csv`): 8B Q4_0 `-sm tensor` tg128 ran at 0.945× the one-GPU
/// speed (312.9 vs 331.3 tok/s); with NVLink's 3 µs alone the model said 1.16×. In-sample, one row.
pub const TENSOR_ALLREDUCE_OVERHEAD_S: f64 = 11.1e-6;

/// How the model is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SplitMode {
    /// Whole layers per device, run one after another (llama.cpp `-sm layer`, RPC, exo).
    #[default]
    Layer,
    /// Weight rows per device, every matmul on all devices (llama.cpp `-sm row`).
    Row,
    /// Tensor parallelism (vLLM `--tensor-parallel-size`, llama.cpp `-sm tensor`).
    Tensor,
}

impl SplitMode {
    pub fn label(self) -> &'static str {
        match self {
            SplitMode::Layer => "layer",
            SplitMode::Row => "row",
            SplitMode::Tensor => "tensor",
        }
    }
}

/// Which runtime runs the split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum Runner {
    /// llama.cpp (`-sm layer/row/tensor`, RPC).
    #[default]
    #[serde(rename = "llama.cpp")]
    LlamaCpp,
    /// exo's MLX pipeline over several Macs ([`super::exo`]).
    #[serde(rename = "exo")]
    Exo,
}

/// What the user chose for a multi-device plan.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiOptions {
    pub split: SplitMode,
    /// llama.cpp `-ts`: one proportion per device; `None` = proportional to each device's budget.
    pub tensor_split: Option<Vec<f64>>,
    pub link: Link,
    /// Why this link (when it was picked by default), for the output.
    pub link_note: Option<String>,
}

/// One device's part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DevicePlan {
    pub id: String,
    pub name: String,
    /// Normalised `-ts` share of this device.
    pub share: f64,
    /// Repeating layers held (layer split; every layer's slice for row/tensor).
    pub first_layer: u32,
    pub n_layers: u32,
    pub holds_output: bool,
    pub memory: MemoryBreakdown,
    pub budget_bytes: u64,
    pub verdict: Verdict,
    /// Bytes this device reads per decoded token (its weights + its KV at the planned context).
    pub read_bytes_per_token: u64,
    /// Its time per decoded token, seconds (memory + per-layer overhead).
    pub decode_s: f64,
}

/// What stays on the host CPU (not on any device budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct HostMemory {
    /// Input layer (token embeddings) kept on the CPU by llama.cpp.
    pub weights_bytes: u64,
    /// Logits buffer.
    pub output_bytes: u64,
}

/// The answer for one model on several devices.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiPlan {
    /// llama.cpp, or exo (`--runtime exo`).
    pub runner: Runner,
    pub split: SplitMode,
    pub devices: Vec<DevicePlan>,
    pub host: HostMemory,
    pub interconnect: Link,
    pub interconnect_note: Option<String>,
    /// Seconds per decoded token spent on the interconnect.
    pub interconnect_s_per_token: f64,
    /// Transfers (hops or all-reduce steps) per decoded token.
    pub transfers_per_token: u32,
    /// Graph-input copies the scheduler keeps (4 under pipeline parallelism, else 1).
    pub pipeline_copies: u64,
    /// Worst device verdict.
    pub verdict: Verdict,
    pub memory_error_pct: f64,
    /// Largest context every device holds, with the workload's KV types.
    pub max_context: Option<u64>,
    pub max_context_by_kv: Vec<MaxContext>,
    pub speed: SpeedEstimate,
    /// The llama.cpp flags for this split (`-sm layer -ts 3,1`).
    pub llama_cpp_flags: String,
    pub advice: Vec<String>,
}

/// Where a tensor lives under a layer split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Host,
    Layer(usize),
    /// One copy on every device that holds a layer (rope frequency factors).
    EveryLayerDevice,
    Output,
}

fn place(name: &str, role: roles::Role, n_layer: usize) -> Place {
    if let Some(l) = role.layer
        && (l as usize) < n_layer
    {
        return Place::Layer(l as usize);
    }
    let base = name.split('.').next().unwrap_or(name);
    match base {
        "token_embd_norm" => Place::Layer(0),
        "rope_freqs" | "rope_factors_long" | "rope_factors_short" => Place::EveryLayerDevice,
        "position_embd" | "token_types" | "per_layer_token_embd" => Place::Host,
        _ if role.kind == Kind::TokenEmbd => Place::Host,
        _ => Place::Output,
    }
}

/// Byte sums of the model's tensors by where llama.cpp places them.
#[derive(Debug, Clone, Default)]
struct Inventory {
    stats: WeightStats,
    host_bytes: u64,
    every_layer_bytes: u64,
    output_bytes: u64,
    output_read: f64,
    /// Matrix (2-D+) bytes per layer and in the output layer, for row/tensor splits.
    layer_matrix_bytes: Vec<u64>,
    output_matrix_bytes: u64,
    tied: bool,
    token_embd_bytes: u64,
}

fn inventory(model: &ModelDesc) -> Inventory {
    let n = model.hparams.n_layer as usize;
    let mut inv = Inventory {
        stats: weights::weight_stats(model),
        layer_matrix_bytes: vec![0; n],
        ..Inventory::default()
    };
    inv.tied = !model
        .tensors
        .iter()
        .any(|t| roles::role(&t.name).kind == Kind::Output);
    for t in &model.tensors {
        let r = roles::role(&t.name);
        let matrix = t.shape.len() >= 2;
        match place(&t.name, r, n) {
            Place::Host => {
                inv.host_bytes += t.n_bytes;
                if r.kind == Kind::TokenEmbd {
                    inv.token_embd_bytes += t.n_bytes;
                }
            }
            Place::Layer(l) => {
                if matrix {
                    inv.layer_matrix_bytes[l] += t.n_bytes;
                }
            }
            Place::EveryLayerDevice => inv.every_layer_bytes += t.n_bytes,
            Place::Output => {
                inv.output_bytes += t.n_bytes;
                inv.output_read += t.n_bytes as f64;
                if matrix {
                    inv.output_matrix_bytes += t.n_bytes;
                }
            }
        }
    }
    if inv.tied {
        // the output device loads its own copy of the tied embedding and reads it fully
        inv.output_bytes += inv.token_embd_bytes;
        inv.output_read += inv.token_embd_bytes as f64;
        inv.output_matrix_bytes += inv.token_embd_bytes;
    }
    inv
}

/// Bytes of layer `l` as llama.cpp places them (the `blk.l` tensors, plus `token_embd_norm` for layer 0).
fn layer_bytes(model: &ModelDesc, inv: &Inventory, l: usize) -> u64 {
    let mut b = inv.stats.layer_bytes.get(l).copied().unwrap_or(0);
    if l == 0 {
        b += model
            .tensors
            .iter()
            .filter(|t| t.name.starts_with("token_embd_norm."))
            .map(|t| t.n_bytes)
            .sum::<u64>();
    }
    b
}

/// llama.cpp's device of every repeating layer and (last entry) of the output layer, for `splits`
/// (proportions, one per device): the port of `get_layer_buft_list` with all layers offloaded.
pub fn layer_devices(n_layer: u32, splits: &[f64]) -> Vec<usize> {
    let n_dev = splits.len().max(1);
    // llama.cpp accumulates and normalises in f32
    let mut cum: Vec<f32> = Vec::with_capacity(n_dev);
    let mut sum = 0.0f32;
    for &s in splits {
        sum += s as f32;
        cum.push(sum);
    }
    if sum > 0.0 {
        for c in &mut cum {
            *c /= sum;
        }
    }
    let slots = n_layer + 1;
    (0..=n_layer)
        .map(|il| {
            let x = il as f32 / slots as f32;
            // std::upper_bound: first element > x
            cum.iter()
                .position(|&c| c > x)
                .unwrap_or(n_dev - 1)
                .min(n_dev - 1)
        })
        .collect()
}

/// The per-token floats of a device's compute buffer under llama.cpp's scheduler (see module docs).
///
/// Terms (floats per token of the micro-batch; bytes = `4 · n_tokens · floats`), measured on the RPC oracle
/// (`tests/data/multi_rpc_split.csv`, 5 architectures × 2–3 devices × splits × context × flash attention):
/// - inputs, kept `copies` times: `n_embd` (+ the mask(s) and 4 index/position floats when the device holds
///   layers, + 1 for `out_ids` on the output device);
/// - attention: flash attention on `2·n_embd + q + 2·kv`; off `n_head·n_kv + 2·n_embd + 2·q + 8·kv` per
///   attention kind held (full / sliding), where `q = n_head·head_dim` and `kv = n_head_kv·head_dim`
///   (+ `n_embd` with post-norms);
/// - FFN: dense `2.9·n_embd + 3·n_ff` (+ `n_embd` for architectures with post-FFN norms; with an f16 KV
///   cache every dense row, CUDA included, measured `3·n_embd`, with q8_0 `2–3·n_embd`: 2.9 is fitted to keep
///   both within 5%); MoE
///   `2·n_embd + 2.5·k·n_ff_exp + 2·n_expert + 3·n_ff_shexp` (the device holding the first layers measured
///   `2·n_embd + 3·k·n_ff_exp`, later ones `2·n_embd + 2·k·n_ff_exp`: the allocator's holes differ; the
///   middle is within 5% of both);
/// - logits on the output device: `n_vocab + n_embd`, plus the `8·kv` block per attention kind that stays
///   live without flash attention; with it, where the allocator left the last layer's tensors under the
///   logits: `n_embd` when the device holds one layer, else nothing, except `4·kv` with three or more layers
///   when `q > n_embd` (measured on Qwen3, `q = 2·n_embd`; Gemma-3's `q = 1.6·n_embd` measured nothing and
///   comes out 2.6% high).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PipelineCompute {
    n_embd: u64,
    n_vocab: u64,
    n_head: u64,
    q: u64,
    kv: u64,
    ffn: u64,
    /// Post-attention / post-FFN norms (Gemma 2/3): one more `n_embd` block live in each phase.
    post_norm: u64,
}

impl PipelineCompute {
    pub fn new(hp: &HyperParams, architecture: &str) -> PipelineCompute {
        let mut s = PipelineCompute {
            n_embd: hp.n_embd,
            n_vocab: hp.vocab_size,
            ..PipelineCompute::default()
        };
        for l in 0..hp.n_layer as usize {
            let hkv = hp.n_head_kv.get(l).copied().unwrap_or(0) as u64;
            if hkv == 0 {
                continue;
            }
            let h = hp.n_head.get(l).copied().unwrap_or(0) as u64;
            let (q, kv) = match &hp.mla {
                Some(m) => (
                    h * (m.kv_lora_rank + m.rope_dim),
                    m.kv_lora_rank + m.rope_dim,
                ),
                None => (h * hp.head_dim_k, hkv * hp.head_dim_k),
            };
            s.n_head = s.n_head.max(h);
            s.q = s.q.max(q);
            s.kv = s.kv.max(kv);
        }
        let e = hp.n_embd;
        let post_norm = matches!(architecture, "gemma2" | "gemma3" | "gemma3n");
        let dense_ff = hp.n_ff.iter().copied().max().unwrap_or(0);
        s.post_norm = if post_norm { e } else { 0 };
        let dense = if dense_ff > 0 {
            (29 * e) / 10 + 3 * dense_ff + s.post_norm
        } else {
            0
        };
        let moe = if hp.is_moe() {
            2 * e
                + (5 * hp.n_expert_used as u64 * hp.n_ff_expert) / 2
                + 2 * hp.n_expert as u64
                + 3 * hp.n_ff_shexp
        } else {
            0
        };
        s.ffn = dense.max(moe);
        s
    }

    /// Bytes of one device's compute buffer.
    #[allow(clippy::too_many_arguments)]
    pub fn device_bytes(
        &self,
        cells: kv::Cells,
        ubatch: u64,
        flash_attention: bool,
        copies: u64,
        holds_full: bool,
        holds_swa: bool,
        holds_output: bool,
        n_layers: u32,
    ) -> u64 {
        let e = self.n_embd;
        let n_tokens = ubatch.min(cells.full.max(1));
        let has_layers = holds_full || holds_swa;
        let kinds = holds_full as u64 + holds_swa as u64;
        let masks = if holds_full { cells.full } else { 0 } + if holds_swa { cells.swa } else { 0 };
        let mask_floats = if flash_attention {
            masks.div_ceil(2)
        } else {
            masks
        };
        let inputs =
            e + if has_layers { mask_floats + 4 } else { 0 } + if holds_output { 1 } else { 0 };
        let n_kv =
            if holds_full { cells.full } else { 0 }.max(if holds_swa { cells.swa } else { 0 });
        let persistent = if flash_attention {
            0
        } else {
            8 * self.kv * kinds
        };
        let attention = if !has_layers || self.kv == 0 {
            0
        } else if flash_attention {
            2 * e + self.q + 2 * self.kv + self.post_norm
        } else {
            self.n_head * n_kv + 2 * e + 2 * self.q + persistent + self.post_norm
        };
        let ffn = if has_layers { self.ffn } else { 0 };
        let logits = if holds_output {
            self.n_vocab
                + e
                + if flash_attention {
                    match n_layers {
                        1 => e,
                        3.. if self.q > e => 4 * self.kv,
                        _ => 0,
                    }
                } else {
                    persistent
                }
        } else {
            0
        };
        let floats = attention.max(ffn).max(logits) + copies * inputs;
        floats.saturating_mul(4).saturating_mul(n_tokens)
    }
}

/// How llama.cpp's `-sm tensor` cuts one tensor (`llama_meta_device_get_split_state`,
/// `src/llama-model.cpp`): along which axis, in units of how many elements, rotated by how many devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    Mirrored,
    /// A tensor headroom cannot name the llama.cpp way (safetensors): its bytes by each device's share.
    Share,
    /// Split `ne[axis]` in multiples of `granularity`.
    Axis {
        axis: usize,
        granularity: u64,
        rotation: usize,
    },
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn lcm(a: u64, b: u64) -> u64 {
    if a == 0 || b == 0 {
        0
    } else {
        a / gcd(a, b) * b
    }
}

/// Slice sizes along one axis for each device: the port of the `tensor_split_scan` loop (f32 arithmetic,
/// truncation, rounding down to the granularity, the last slice takes the rest, slice `j` goes to device
/// `(j + rotation) % n`).
fn slices(ne: u64, granularity: u64, rotation: usize, ts: Option<&[f64]>, n: usize) -> Vec<u64> {
    let mut scan = vec![0.0f32; n];
    for j in 0..n {
        let v = ts.map(|t| t[(j + rotation) % n] as f32).unwrap_or(0.0);
        scan[j] = v + if j > 0 { scan[j - 1] } else { 0.0 };
    }
    let back = scan[n - 1];
    let g = granularity.max(1);
    let mut out = vec![0u64; n];
    let mut low = 0u64;
    for j in 0..n.saturating_sub(1) {
        let mut high = if back == 0.0 {
            ne * (j as u64 + 1) / n as u64
        } else {
            (ne as f32 * scan[j] / back) as u64
        };
        high -= high % g;
        high = high.max(low);
        out[(j + rotation) % n] = high - low;
        low = high;
    }
    out[(n - 1 + rotation) % n] = ne.saturating_sub(low);
    out
}

/// Bytes of a slice of `t` holding `part` of `ne[axis]`.
fn slice_bytes(t: &crate::model::TensorInfo, axis: usize, part: u64) -> u64 {
    let ne = |i: usize| t.shape.get(i).copied().unwrap_or(1);
    let rest: u64 = t.shape.iter().skip(1).product::<u64>().max(1);
    if axis == 0 {
        let per_row = t.ty.row_bytes(part).unwrap_or(0);
        per_row * rest
    } else {
        let row = t.n_bytes.checked_div(rest).unwrap_or(0);
        let others: u64 = (0..t.shape.len())
            .filter(|&i| i != 0 && i != axis)
            .map(ne)
            .product();
        row * part * others.max(1)
    }
}

/// Per-device weight and KV bytes under llama.cpp's `-sm tensor` (standard attention and FFN; other
/// tensors mirrored, as llama.cpp does for everything it does not name). Without `with_weights` the
/// weights are left at zero (the largest-context search asks for the KV bytes only, many times).
fn tensor_parallel_bytes(
    model: &ModelDesc,
    n: usize,
    ts: Option<&[f64]>,
    wl: &Workload,
    with_weights: bool,
) -> Result<(Vec<u64>, Vec<u64>)> {
    let hp = &model.hparams;
    let nl = hp.n_layer as usize;
    // name -> storage type, built once (a linear search per lookup made this quadratic in the tensor count;
    // the largest-context search calls this function dozens of times); the first tensor of a name wins
    let mut types: std::collections::HashMap<&str, crate::model::TensorType> =
        std::collections::HashMap::with_capacity(model.tensors.len());
    for t in &model.tensors {
        types.entry(t.name.as_str()).or_insert(t.ty);
    }
    let ty_of = |name: &str| types.get(name).copied();
    let is_swa =
        |l: usize| hp.sliding_window.is_some() && hp.swa_layers.get(l).copied().unwrap_or(false);
    let is_recr = |l: usize| hp.recurrent_layers.get(l).copied().unwrap_or(false);
    let il_eff = |l: usize| {
        (0..l)
            .filter(|&p| is_recr(p) == is_recr(l) && is_swa(p) == is_swa(l))
            .count()
    };
    // attention granularities of layer l: (q, kv, v, head) given the block size of attn_output
    let attn_gran = |l: usize| -> (u64, u64, u64, u64) {
        let hk = hp.n_head_kv.get(l).copied().unwrap_or(0).max(1) as u64;
        let h = hp.n_head.get(l).copied().unwrap_or(0) as u64;
        let n_gqa = (h / hk).max(1);
        let hd = hp.head_dim_k.max(1);
        let hdv = hp.head_dim_v.max(1);
        let n_embd_q = n_gqa * hd;
        let blck = ty_of(&format!("blk.{l}.attn_output.weight"))
            .map(|t| t.block_elems())
            .unwrap_or(1);
        let mut perf = blck;
        while perf < 128 && perf * (n as u64) < n_embd_q {
            perf *= 2;
        }
        let g_q = lcm(n_embd_q, perf);
        let g_head = g_q / hd;
        let g_kv = g_q / n_gqa;
        let g_v = (g_kv / hd) * hdv;
        (g_q, g_kv, g_v, g_head)
    };
    let cut = |t: &crate::model::TensorInfo| -> Cut {
        let name = t.name.as_str();
        if name == "output.weight" {
            return Cut::Axis {
                axis: 1,
                granularity: 1,
                rotation: nl % n,
            };
        }
        let Some(rest) = name.strip_prefix("blk.") else {
            // safetensors names (llama.cpp would convert them first): matrices of a layer and the output
            // matrix are cut by share, the rest mirrored
            let r = roles::role(name);
            return if t.shape.len() >= 2 && (r.layer.is_some() || r.kind == Kind::Output) {
                Cut::Share
            } else {
                Cut::Mirrored
            };
        };
        let Some((il, suffix)) = rest.split_once('.') else {
            return Cut::Mirrored;
        };
        let Ok(l) = il.parse::<usize>() else {
            return Cut::Mirrored;
        };
        let rotation = il_eff(l) % n;
        let (g_q, g_kv, g_v, g_head) = attn_gran(l);
        let ffn_blck = |own: bool| {
            let t = if own {
                Some(t.ty)
            } else {
                ty_of(&format!("blk.{l}.ffn_down.weight"))
                    .or_else(|| ty_of(&format!("blk.{l}.ffn_down_exps.weight")))
            };
            lcm(t.map(|t| t.block_elems()).unwrap_or(1), 128)
        };
        let (axis, granularity) = match suffix {
            "attn_q.weight" => (1, g_q),
            "attn_k.weight" => (1, g_kv),
            "attn_v.weight" => (1, g_v),
            "attn_q.bias" => (0, g_q),
            "attn_k.bias" => (0, g_kv),
            "attn_v.bias" => (0, g_v),
            "attn_output.weight" => (0, g_head * hp.head_dim_v.max(1)),
            "ffn_up.weight" | "ffn_gate.weight" | "ffn_up_exps.weight" | "ffn_gate_exps.weight" => {
                (1, ffn_blck(false))
            }
            "ffn_down.weight" | "ffn_down_exps.weight" => (0, ffn_blck(true)),
            _ => return Cut::Mirrored,
        };
        Cut::Axis {
            axis,
            granularity,
            rotation,
        }
    };
    let mut w = vec![0u64; n];
    let weight_tensors = if with_weights {
        model.tensors.as_slice()
    } else {
        &[]
    };
    for t in weight_tensors {
        let r = roles::role(&t.name);
        if place(&t.name, r, nl) == Place::Host {
            continue;
        }
        match cut(t) {
            Cut::Mirrored => w.iter_mut().for_each(|x| *x += t.n_bytes),
            Cut::Share => {
                let sum: f64 = match ts {
                    Some(v) => v.iter().sum(),
                    None => n as f64,
                };
                for (d, x) in w.iter_mut().enumerate() {
                    let f = ts.map(|v| v[d]).unwrap_or(1.0) / sum.max(f64::MIN_POSITIVE);
                    *x += (t.n_bytes as f64 * f).round() as u64;
                }
            }
            Cut::Axis {
                axis,
                granularity,
                rotation,
            } => {
                let ne = t.shape.get(axis).copied().unwrap_or(1);
                for (d, part) in slices(ne, granularity, rotation, ts, n)
                    .into_iter()
                    .enumerate()
                {
                    w[d] += slice_bytes(t, axis, part);
                }
            }
        }
    }
    // tied embeddings: the output layer's duplicate of token_embd is mirrored
    if with_weights
        && !model
            .tensors
            .iter()
            .any(|t| roles::role(&t.name).kind == Kind::Output)
        && let Some(te) = model.tensors.iter().find(|t| t.name == "token_embd.weight")
    {
        w.iter_mut().for_each(|x| *x += te.n_bytes);
    }
    // KV cache: cache_k/v_l{il} [n_embd_k_gqa, cells], cut along axis 0 by KV heads
    let shape = KvShape::for_workload(hp, wl)?;
    let cells = shape.cells(wl.context, wl.ubatch as u64, wl.parallel as u64);
    let mut kvb = vec![0u64; n];
    for l in 0..nl {
        let hk = hp.n_head_kv.get(l).copied().unwrap_or(0) as u64;
        if hk == 0 || is_recr(l) {
            continue;
        }
        let c = if is_swa(l) { cells.swa } else { cells.full };
        let (_, g_kv, g_v, _) = attn_gran(l);
        let rot = il_eff(l) % n;
        for (ty, width, g) in [
            (wl.cache_type_k, hk * hp.head_dim_k, g_kv),
            (wl.cache_type_v, hk * hp.head_dim_v, g_v),
        ] {
            for (d, part) in slices(width, g, rot, ts, n).into_iter().enumerate() {
                kvb[d] += ty.row_bytes(part).unwrap_or(0) * c;
            }
        }
    }
    Ok((w, kvb))
}

/// Normalised shares from `-ts` (or the budgets when `None`), checked.
pub(super) fn shares(machines: &[Machine], ts: Option<&[f64]>) -> Result<Vec<f64>> {
    let raw: Vec<f64> = match ts {
        Some(v) => {
            if v.len() != machines.len() {
                return Err(Error::usage(format!(
                    "--tensor-split has {} value(s) for {} devices; give one proportion per device, e.g. {}",
                    v.len(),
                    machines.len(),
                    vec!["1"; machines.len()].join(",")
                )));
            }
            if v.iter().any(|x| !x.is_finite() || *x < 0.0) || v.iter().all(|x| *x == 0.0) {
                return Err(Error::usage(
                    "--tensor-split: proportions must be non-negative numbers, not all zero (e.g. 3,1)",
                ));
            }
            v.to_vec()
        }
        None => machines.iter().map(|m| m.gpu_budget_bytes as f64).collect(),
    };
    let sum: f64 = raw.iter().sum();
    Ok(raw.iter().map(|x| x / sum.max(f64::MIN_POSITIVE)).collect())
}

/// Everything that does not depend on the context, per device.
struct Layout {
    /// Device of each repeating layer (layer split) and of the output layer (last entry).
    dev_of: Vec<usize>,
    weights: Vec<u64>,
    read: Vec<f64>,
    overhead: Vec<u64>,
    holds_full: Vec<bool>,
    holds_swa: Vec<bool>,
    holds_output: Vec<bool>,
    /// Layers per device (row/tensor: every layer on every device).
    n_layers: Vec<u32>,
    first_layer: Vec<u32>,
    copies: u64,
}

fn layout(
    model: &ModelDesc,
    inv: &Inventory,
    machines: &[Machine],
    share: &[f64],
    split: SplitMode,
    runtime: Runtime,
) -> Layout {
    let hp = &model.hparams;
    let n = hp.n_layer as usize;
    let nd = machines.len();
    let is_swa =
        |l: usize| hp.sliding_window.is_some() && hp.swa_layers.get(l).copied().unwrap_or(false);
    let has_attn = |l: usize| hp.n_head_kv.get(l).copied().unwrap_or(0) > 0;
    let mut lay = Layout {
        dev_of: vec![0; n + 1],
        weights: vec![0; nd],
        read: vec![0.0; nd],
        overhead: machines
            .iter()
            .map(|m| compute::runtime_overhead_bytes(m, runtime))
            .collect(),
        holds_full: vec![false; nd],
        holds_swa: vec![false; nd],
        holds_output: vec![false; nd],
        n_layers: vec![0; nd],
        first_layer: vec![0; nd],
        copies: 1,
    };
    match split {
        SplitMode::Layer => {
            lay.dev_of = layer_devices(hp.n_layer, share);
            lay.copies = if nd > 1 { PIPELINE_COPIES } else { 1 };
            let mut seen = vec![false; nd];
            for l in 0..n {
                let d = lay.dev_of[l];
                if !seen[d] {
                    seen[d] = true;
                    lay.first_layer[d] = l as u32;
                    lay.weights[d] += inv.every_layer_bytes;
                }
                lay.n_layers[d] += 1;
                lay.weights[d] += layer_bytes(model, inv, l);
                lay.read[d] += inv.stats.layer_read_bytes.get(l).copied().unwrap_or(0) as f64;
                if has_attn(l) {
                    if is_swa(l) {
                        lay.holds_swa[d] = true
                    } else {
                        lay.holds_full[d] = true
                    }
                }
            }
            let o = lay.dev_of[n];
            lay.holds_output[o] = true;
            lay.weights[o] += inv.output_bytes;
            lay.read[o] += inv.output_read;
        }
        SplitMode::Row | SplitMode::Tensor => {
            // matrices cut by share; 1-D tensors replicated (tensor) or on the main device (row)
            let layer_total: u64 = (0..n).map(|l| layer_bytes(model, inv, l)).sum();
            let layer_matrix: u64 = inv.layer_matrix_bytes.iter().sum();
            let layer_vectors = layer_total.saturating_sub(layer_matrix) + inv.every_layer_bytes;
            let out_vectors = inv.output_bytes.saturating_sub(inv.output_matrix_bytes);
            let read_total: f64 = inv.stats.layer_read_bytes.iter().sum::<u64>() as f64;
            let read_frac = if layer_total > 0 {
                read_total / layer_total as f64
            } else {
                1.0
            };
            for (d, &sh) in share.iter().enumerate().take(nd) {
                let cut = |b: u64| (b as f64 * sh).round() as u64;
                let matrices = cut(layer_matrix) + cut(inv.output_matrix_bytes);
                let vectors = match split {
                    SplitMode::Tensor => layer_vectors + out_vectors,
                    _ if d == 0 => layer_vectors + out_vectors,
                    _ => 0,
                };
                lay.weights[d] = matrices + vectors;
                lay.read[d] =
                    cut(layer_matrix) as f64 * read_frac + inv.output_read * sh + vectors as f64;
                lay.n_layers[d] = n as u32;
                let holds = split == SplitMode::Tensor || d == 0;
                lay.holds_output[d] = holds;
                lay.holds_full[d] = holds && (0..n).any(|l| has_attn(l) && !is_swa(l));
                lay.holds_swa[d] = holds && (0..n).any(|l| has_attn(l) && is_swa(l));
            }
        }
    }
    lay
}

/// KV bytes per device at the workload's context.
fn kv_per_device(
    model: &ModelDesc,
    wl: &Workload,
    lay: &Layout,
    share: &[f64],
    split: SplitMode,
    ts: Option<&[f64]>,
) -> Result<Vec<u64>> {
    let hp = &model.hparams;
    let per_layer = kv::kv_layer_bytes(hp, wl)?;
    let nd = share.len();
    let mut out = vec![0u64; nd];
    match split {
        SplitMode::Layer => {
            for (l, b) in per_layer.iter().enumerate() {
                out[lay.dev_of[l]] += b;
            }
        }
        SplitMode::Row => out[0] = per_layer.iter().sum(),
        SplitMode::Tensor => out = tensor_parallel_bytes(model, nd, ts, wl, false)?.1,
    }
    Ok(out)
}

/// Compute buffer per device at the workload's context. With a layer split of a model whose reserve graph
/// headroom builds (`graph`, [`super::graph::GraphSpec::from_model`]), each device's buffer comes from the
/// scheduler and allocator simulation ([`super::graph::device_buffers`]); else from [`PipelineCompute`].
#[allow(clippy::too_many_arguments)]
fn compute_per_device(
    hp: &HyperParams,
    wl: &Workload,
    lay: &Layout,
    pc: &PipelineCompute,
    kv_shape: &KvShape,
    split: SplitMode,
    graph: Option<&super::graph::GraphSpec>,
    alignment: u64,
) -> Vec<u64> {
    let cells = kv_shape.cells(wl.context, wl.ubatch as u64, wl.parallel as u64);
    if let (SplitMode::Layer, Some(spec)) = (split, graph) {
        let (rot_k, rot_v) = super::graph::rotations(
            hp.head_dim_k,
            hp.head_dim_v,
            wl.cache_type_k.is_quantized(),
            wl.cache_type_v.is_quantized(),
        );
        let run = super::graph::Run {
            n_tokens: (wl.ubatch as u64).min(cells.full.saturating_mul(cells.streams).max(1)),
            n_kv: cells.full,
            n_kv_swa: cells.swa,
            flash_attention: wl.flash_attention,
            rot_k,
            rot_v,
            n_seqs: cells.streams.max(1),
            n_rs: cells.seqs.max(1),
        };
        return super::graph::device_buffers(
            spec,
            &run,
            &lay.dev_of,
            lay.weights.len(),
            lay.copies,
            alignment,
        );
    }
    // without pipelining a device reserves the one-device graph; on a GPU-like device the logits phase is
    // `n_vocab + n_embd` floats per token (the token ids and input embedding stay on the CPU): measured
    // on llama.cpp's `Meta()` buffer (RPC and 2×H100) and on one H100
    let single = {
        let ub = wl.ubatch as u64;
        let terms = compute::ComputeShape::new(hp).llama_cpp(cells, ub, wl.flash_attention);
        let n_tokens = ub.min(cells.full.max(1));
        let logits = (hp.vocab_size + hp.n_embd) * 4 * n_tokens;
        logits.max(terms.attention).max(terms.ffn)
    };
    (0..lay.weights.len())
        .map(|d| match split {
            // a device left without layers or the output layer runs no graph split
            SplitMode::Layer if lay.n_layers[d] == 0 && !lay.holds_output[d] => 0,
            SplitMode::Layer => pc.device_bytes(
                cells,
                wl.ubatch as u64,
                wl.flash_attention,
                lay.copies,
                lay.holds_full[d],
                lay.holds_swa[d],
                lay.holds_output[d],
                lay.n_layers[d],
            ),
            SplitMode::Tensor => single,
            SplitMode::Row if d == 0 => single,
            SplitMode::Row => 0,
        })
        .collect()
}

pub(super) fn device_verdict(m: &Machine, total: u64) -> Verdict {
    if total <= m.gpu_budget_bytes {
        return Verdict::Fits;
    }
    if let (MemoryKind::Unified, Some(max_raised)) = (m.memory_kind, m.max_raised_budget_bytes) {
        let wired = (total + WIRED_LIMIT_MARGIN_BYTES).div_ceil(MIB);
        if wired * MIB <= max_raised {
            return Verdict::FitsIfLimitRaised {
                wired_limit_mb: wired,
                ram_left_bytes: m.memory_bytes.saturating_sub(wired * MIB),
            };
        }
    }
    Verdict::DoesNotFit
}

pub(super) fn worse(a: &Verdict, b: &Verdict) -> Verdict {
    let rank = |v: &Verdict| match v {
        Verdict::Fits => 0,
        Verdict::FitsIfLimitRaised { .. } => 1,
        Verdict::PartialOffload { .. } => 2,
        Verdict::DoesNotFit => 3,
    };
    if rank(b) > rank(a) {
        b.clone()
    } else {
        a.clone()
    }
}

/// The llama.cpp flags that reproduce this split.
fn flags(split: SplitMode, share: &[f64], ts: Option<&[f64]>) -> String {
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| {
                let s = format!("{x:.2}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let _ = share;
    match ts {
        Some(v) => format!("-ngl 99 -sm {} -ts {}", split.label(), fmt(v)),
        // llama.cpp's default split is each device's free memory
        None => format!("-ngl 99 -sm {}", split.label()),
    }
}

/// The devices over their budget, the free bytes on all devices together, and the bytes the devices
/// over budget lack (the advice of multi-device and exo plans).
pub(super) fn shortfall(devices: &[DevicePlan]) -> (Vec<&DevicePlan>, u64, u64) {
    let over: Vec<&DevicePlan> = devices
        .iter()
        .filter(|d| !matches!(d.verdict, Verdict::Fits))
        .collect();
    let room = devices
        .iter()
        .map(|d| d.budget_bytes.saturating_sub(d.memory.total_bytes))
        .sum();
    let need = over
        .iter()
        .map(|d| d.memory.total_bytes.saturating_sub(d.budget_bytes))
        .sum();
    (over, room, need)
}

/// The first KV type of `by_kv` under half the bytes of `wl`'s K and V whose largest context reaches
/// `wl`'s on every device.
pub(super) fn smaller_kv_that_fits<'a>(
    wl: &Workload,
    by_kv: &'a [MaxContext],
) -> Option<&'a MaxContext> {
    let current = wl.cache_type_k.bytes_per_elem() + wl.cache_type_v.bytes_per_elem();
    by_kv.iter().find(|mc| {
        2.0 * mc.cache_type.bytes_per_elem() < current
            && mc.max_context.is_some_and(|c| c >= kv::pad256(wl.context))
    })
}

/// Plan `model` split over `machines` (at least two) for `wl`.
pub fn plan_multi(
    model: &ModelDesc,
    machines: &[Machine],
    wl: &Workload,
    opts: &MultiOptions,
) -> Result<MultiPlan> {
    plan::validate(model, wl)?;
    if machines.is_empty() {
        return Err(Error::usage(
            "a multi-device plan needs at least one device",
        ));
    }
    if wl.runtime == Runtime::Mlx {
        // MLX over several Macs: exo's pipeline (the one multi-Mac MLX runner headroom models)
        return super::exo::plan_exo(model, machines, wl, opts);
    }
    let hp = &model.hparams;
    let inv = inventory(model);
    // llama.cpp's default: layer split by free memory; tensor split (all -ts zero) evenly
    let even = vec![1.0; machines.len()];
    let ts = match (opts.split, opts.tensor_split.as_deref()) {
        (SplitMode::Tensor, None) => Some(even.as_slice()),
        (_, t) => t,
    };
    let share = shares(machines, ts)?;
    let mut lay = layout(model, &inv, machines, &share, opts.split, wl.runtime);
    if opts.split == SplitMode::Tensor {
        lay.weights = tensor_parallel_bytes(
            model,
            machines.len(),
            opts.tensor_split.as_deref(),
            wl,
            true,
        )?
        .0;
    }
    let pc = PipelineCompute::new(hp, &model.architecture);
    let kv_shape = KvShape::for_workload(hp, wl)?;
    let graph_spec = super::graph::GraphSpec::from_model(model);
    // the devices' buffer alignment (ggml-cuda 128 bytes; the CPU and RPC backends 32)
    let alignment = if machines.iter().any(|m| m.vendor == Vendor::Nvidia) {
        compute::CUDA_ALIGNMENT
    } else {
        compute::SIM_ALIGNMENT
    };

    let totals_at = |w: &Workload, shape: &KvShape| -> Result<Vec<(u64, u64, u64)>> {
        let kvs = kv_per_device(
            model,
            w,
            &lay,
            &share,
            opts.split,
            opts.tensor_split.as_deref(),
        )?;
        let comp = compute_per_device(
            hp,
            w,
            &lay,
            &pc,
            shape,
            opts.split,
            graph_spec.as_ref(),
            alignment,
        );
        Ok((0..machines.len())
            .map(|d| (kvs[d], comp[d], lay.weights[d] + lay.overhead[d]))
            .collect())
    };
    let now = totals_at(wl, &kv_shape)?;

    // per-device memory and verdicts
    let mut devices = Vec::with_capacity(machines.len());
    let mut overall = Verdict::Fits;
    for (d, m) in machines.iter().enumerate() {
        let (kv_b, comp_b, _) = now[d];
        let total = lay.weights[d] + kv_b + comp_b + lay.overhead[d];
        let verdict = device_verdict(m, total);
        overall = worse(&overall, &verdict);
        devices.push(DevicePlan {
            id: m.id.clone(),
            name: m.name.clone(),
            share: share[d],
            first_layer: lay.first_layer[d],
            n_layers: lay.n_layers[d],
            holds_output: lay.holds_output[d],
            memory: MemoryBreakdown {
                weights_bytes: lay.weights[d],
                kv_cache_bytes: kv_b,
                compute_bytes: comp_b,
                overhead_bytes: lay.overhead[d],
                total_bytes: total,
            },
            budget_bytes: m.gpu_budget_bytes,
            verdict,
            read_bytes_per_token: 0,
            decode_s: 0.0,
        });
    }

    // largest context every device holds
    let limit = kv::context_limit(hp, wl);
    let fits_at = |ctx: u64, k, v| -> bool {
        let w = Workload {
            context: ctx,
            cache_type_k: k,
            cache_type_v: v,
            ..wl.clone()
        };
        let Ok(shape) = KvShape::new(hp, k, v, wl.runtime).map(|s| s.with_unified(wl.kv_unified))
        else {
            return false;
        };
        match totals_at(&w, &shape) {
            Ok(t) => t
                .iter()
                .zip(machines)
                .all(|((kv_b, c, base), m)| kv_b + c + base <= m.gpu_budget_bytes),
            Err(_) => false,
        }
    };
    let max_ctx = |k, v| kv::largest_fitting_context(limit, |ctx| fits_at(ctx, k, v));
    let max_context = max_ctx(wl.cache_type_k, wl.cache_type_v);
    let max_context_by_kv = plan::max_context_by_kv(wl, |t| max_ctx(t, t));

    // speed
    let link = &opts.link;
    let kv_total: u64 = now.iter().map(|t| t.0).sum();
    let kv_read = kv_shape.read_bytes_at(wl.context) as f64;
    let e = hp.n_embd as f64;
    let act = 4.0 * e; // the f32 residual of one token
    let mut dev_s = vec![0.0f64; machines.len()];
    let mut dev_read = vec![0.0f64; machines.len()];
    let f_total = weights::flops_per_token(hp, &inv.stats, wl.context);
    let w_read_total: f64 = lay.read.iter().sum::<f64>().max(1.0);
    for (d, m) in machines.iter().enumerate() {
        let kv_share = if kv_total > 0 {
            now[d].0 as f64 / kv_total as f64
        } else {
            0.0
        };
        let bytes = lay.read[d] + kv_read * kv_share;
        dev_s[d] = speed::device_token_s(
            m,
            bytes,
            f_total * (lay.read[d] / w_read_total),
            inv.stats.prefill_mix(),
            lay.n_layers[d],
            wl.flash_attention,
        );
        dev_read[d] = bytes;
    }
    let nd = machines.len() as f64;
    let active: Vec<usize> = (0..machines.len())
        .filter(|&d| lay.n_layers[d] > 0 || lay.holds_output[d])
        .collect();
    let (compute_s, transfers, link_s) = match opts.split {
        SplitMode::Layer => {
            let hops = active.len().saturating_sub(1) as u32;
            let mut t = hops as f64 * (link.latency_s + act / link.bandwidth_bytes_per_s);
            let mut n_tr = hops;
            if link.rpc {
                // the host sends the embedding row to the first device and reads the logits back
                t += 2.0 * link.latency_s
                    + (act + 4.0 * hp.vocab_size as f64) / link.bandwidth_bytes_per_s;
                n_tr += 2;
                // llama.cpp's RPC protocol per device and token: round trips for the graph inputs, the
                // graph itself and its outputs, and the graph's serialisation per layer
                let rpc_layers: u32 = active.iter().map(|&d| lay.n_layers[d]).sum();
                t += active.len() as f64 * RPC_ROUND_TRIPS_PER_TOKEN * 2.0 * link.latency_s
                    + rpc_layers as f64 * RPC_GRAPH_S_PER_LAYER;
            }
            (active.iter().map(|&d| dev_s[d]).sum::<f64>(), n_tr, t)
        }
        SplitMode::Tensor => {
            let steps = 2 * hp.n_layer;
            let per = link.latency_s
                + TENSOR_ALLREDUCE_OVERHEAD_S
                + 2.0 * (nd - 1.0) / nd * act / link.bandwidth_bytes_per_s;
            let slowest = dev_s.iter().cloned().fold(0.0, f64::max);
            (slowest, steps, steps as f64 * per)
        }
        SplitMode::Row => {
            // 7 matmuls a layer (q, k, v, o, gate, up, down) gather their rows on the main device
            let mm = 7 * hp.n_layer;
            let rows = (3.0 * e + 4.0 * hp.n_ff.iter().copied().max().unwrap_or(0) as f64) / 7.0;
            let per = link.latency_s + (nd - 1.0) / nd * 4.0 * rows / link.bandwidth_bytes_per_s;
            let slowest = dev_s.iter().cloned().fold(0.0, f64::max);
            (slowest, mm, mm as f64 * per)
        }
    };
    let decode_s = compute_s + link_s;
    for (d, dp) in devices.iter_mut().enumerate() {
        dp.read_bytes_per_token = dev_read[d].round() as u64;
        dp.decode_s = dev_s[d];
    }

    // prefill: per device at mid-context depth, one micro-batch; layer split runs devices in turn
    let ub = wl.ubatch.max(1) as f64;
    let fp = weights::flops_per_token(hp, &inv.stats, wl.context / 2);
    let pre_dev: Vec<f64> = machines
        .iter()
        .enumerate()
        .map(|(d, m)| {
            let frac = match opts.split {
                SplitMode::Layer => lay.read[d] / w_read_total,
                _ => share[d],
            };
            let eps = speed::prefill_efficiency_on(m, inv.stats.prefill_mix());
            let eta = speed::bandwidth_efficiency(m);
            let comp = fp * frac / (eps * m.fp16_flops.max(1.0));
            let mem = lay.weights[d] as f64 / (eta * m.bandwidth_bytes_per_s.max(1.0)) / ub;
            comp.max(mem)
                + lay.n_layers[d] as f64 * speed::layer_overhead_s(m, wl.flash_attention) / ub
        })
        .collect();
    let prefill_s = match opts.split {
        SplitMode::Layer => pre_dev.iter().sum::<f64>() + link_s / ub,
        _ => pre_dev.iter().cloned().fold(0.0, f64::max) + link_s / ub,
    };

    let nvidia = machines.iter().all(|m| m.vendor == Vendor::Nvidia);
    let mut decode_error_pct = if nvidia {
        speed::DECODE_ERROR_PCT_NVIDIA
    } else {
        speed::DECODE_ERROR_PCT_APPLE
    } + SPLIT_EXTRA_ERROR_PCT;
    if link.rpc {
        decode_error_pct += RPC_EXTRA_ERROR_PCT;
    }
    let bytes_per_token = dev_read.iter().sum::<f64>();
    let total_bw: f64 = machines
        .iter()
        .map(|m| speed::bandwidth_efficiency(m) * m.bandwidth_bytes_per_s)
        .sum();
    let speed_est = SpeedEstimate {
        decode_tokens_per_s: 1.0 / decode_s.max(f64::MIN_POSITIVE),
        decode_error_pct,
        prefill_tokens_per_s: 1.0 / prefill_s.max(f64::MIN_POSITIVE),
        prefill_error_pct: if nvidia {
            speed::PREFILL_ERROR_PCT_NVIDIA
        } else {
            speed::PREFILL_ERROR_PCT
        } + SPLIT_EXTRA_ERROR_PCT,
        decode_bound: Some(Bound::Memory),
        prefill_bound: Some(Bound::Compute),
        bytes_per_token: bytes_per_token.round() as u64,
        effective_bandwidth_bytes_per_s: match opts.split {
            SplitMode::Layer => bytes_per_token / compute_s.max(f64::MIN_POSITIVE),
            _ => total_bw,
        },
        batch_tokens_per_s: 1.0 / decode_s.max(f64::MIN_POSITIVE),
        compute_bound_batch: 0,
    };

    let mut memory_error_pct = MULTI_TOTAL_ERROR_PCT.max(ORACLE_TOTAL_ERROR_PCT);
    if let Some(min_total) = devices
        .iter()
        .map(|d| d.memory.total_bytes)
        .filter(|&t| t > 0)
        .min()
        && nvidia
    {
        memory_error_pct +=
            100.0 * compute::CUDA_OVERHEAD_UNCERTAINTY_BYTES as f64 / min_total as f64;
    }

    let llama_cpp_flags = flags(opts.split, &share, opts.tensor_split.as_deref());
    let advice = advise(
        &devices,
        machines,
        &overall,
        opts,
        (max_context, &max_context_by_kv),
        wl,
        &lay,
    );

    Ok(MultiPlan {
        runner: Runner::LlamaCpp,
        split: opts.split,
        devices,
        host: HostMemory {
            weights_bytes: inv.host_bytes,
            output_bytes: compute::output_buffer_bytes(hp, wl),
        },
        interconnect: opts.link.clone(),
        interconnect_note: opts.link_note.clone(),
        interconnect_s_per_token: link_s,
        transfers_per_token: transfers,
        pipeline_copies: lay.copies,
        verdict: overall,
        memory_error_pct,
        max_context,
        max_context_by_kv,
        speed: speed_est,
        llama_cpp_flags,
        advice,
    })
}

fn advise(
    devices: &[DevicePlan],
    machines: &[Machine],
    overall: &Verdict,
    opts: &MultiOptions,
    (max_context, by_kv): (Option<u64>, &[MaxContext]),
    wl: &Workload,
    lay: &Layout,
) -> Vec<String> {
    let gib = crate::units::gib1;
    let mut out = Vec::new();
    if !matches!(overall, Verdict::Fits) {
        // a smaller KV type that reaches the asked context on every device
        if let Some(mc) = smaller_kv_that_fits(wl, by_kv) {
            let n = mc.cache_type.name().to_ascii_lowercase();
            let fa = if wl.flash_attention { "" } else { " -fa on" };
            out.push(format!(
                "use -ctk {n} -ctv {n}{fa} to fit {} context on every device",
                wl.context
            ));
        }
    }
    let (over, room, need) = shortfall(devices);
    for d in &over {
        if let Verdict::FitsIfLimitRaised { wired_limit_mb, .. } = d.verdict {
            out.push(format!(
                "{}: raise the GPU limit: sudo sysctl iogpu.wired_limit_mb={wired_limit_mb}",
                d.name
            ));
        }
    }
    if !over.is_empty() && opts.split == SplitMode::Layer && room > need {
        // proportions of what each device can take beyond its fixed costs
        let ts: Vec<String> = devices
            .iter()
            .map(|d| {
                let fixed = d.memory.compute_bytes + d.memory.overhead_bytes;
                format!(
                    "{:.0}",
                    crate::units::gib(d.budget_bytes.saturating_sub(fixed))
                )
            })
            .collect();
        out.push(format!(
            "the other devices have {} free: rebalance the split, e.g. --tensor-split {} (llama.cpp -ts {})",
            gib(room),
            ts.join(","),
            ts.join(",")
        ));
    }
    if matches!(overall, Verdict::DoesNotFit) && room <= need {
        out.push(format!(
            "needs {} more than the devices hold together: choose a smaller quantization, a shorter context or \
             another device",
            gib(need - room)
        ));
    }
    if let Some(c) = max_context
        && c < wl.context
    {
        out.push(format!(
            "reduce the context to {c} tokens (-c {c}) to fit every device"
        ));
    }
    if opts.split == SplitMode::Layer && lay.copies > 1 {
        out.push(format!(
            "llama.cpp pipelines the devices (-sm layer with all layers offloaded): each keeps {} copies of its \
             graph inputs (GGML_SCHED_MAX_COPIES); decode still runs the devices one after another",
            lay.copies
        ));
    }
    if opts.interconnect_is_rpc() {
        out.push(
            "several machines: llama.cpp RPC (rpc-server on each, llama-cli --rpc HOST:PORT,...); the \
             interconnect latency is not validated on real machines"
                .to_string(),
        );
    }
    if machines.len() > 1 && opts.split == SplitMode::Row {
        out.push(
            "llama.cpp 0c1e570's CUDA backend has no row split any more (-sm row fails); -sm tensor replaces it"
                .to_string(),
        );
    }
    out
}

impl MultiPlan {
    /// How the model is cut and run, for headers: `layer split, llama.cpp -ngl 99 -sm layer` or
    /// `exo pipeline (MLX ring)`.
    pub fn how(&self) -> String {
        match self.runner {
            Runner::LlamaCpp => format!(
                "{} split, llama.cpp {}",
                self.split.label(),
                self.llama_cpp_flags
            ),
            Runner::Exo => "exo pipeline (Pipeline sharding, MLX)".to_string(),
        }
    }
}

impl MultiOptions {
    fn interconnect_is_rpc(&self) -> bool {
        self.link.rpc
    }
}

/// The best (largest) common llama.cpp quantization of `model` that fits every device: its label and
/// plan (the multi-device counterpart of [`plan::best_quant_for`]). `None` when not even Q2_K fits.
pub fn best_quant_multi(
    model: &ModelDesc,
    machines: &[Machine],
    wl: &Workload,
    opts: &MultiOptions,
) -> Result<Option<(String, MultiPlan)>> {
    use crate::model::quantize::{parse_target, requantize};
    let mut raised = None;
    // exo runs MLX models: its candidates are MLX's affine quantizations, largest first
    let candidates: Vec<String> = if wl.runtime == Runtime::Mlx {
        super::exo::BEST_QUANT_CANDIDATES_MLX
            .iter()
            .map(|q| q.to_string())
            .collect()
    } else {
        plan::BEST_QUANT_CANDIDATES
            .iter()
            .map(|q| q.to_string())
            .collect()
    };
    for q in &candidates {
        let Ok(t) = parse_target(q) else { continue };
        let Ok(m) = requantize(model, &t) else {
            continue;
        };
        let Ok(p) = plan_multi(&m, machines, wl, opts) else {
            continue;
        };
        match p.verdict {
            Verdict::Fits => return Ok(Some((q.to_string(), p))),
            Verdict::FitsIfLimitRaised { .. } if raised.is_none() => {
                raised = Some((q.to_string(), p))
            }
            _ => {}
        }
    }
    Ok(raised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_assignment_matches_llama_cpp() {
        // 8 layers + output over -ts 1,1: layers 0-4 on device 0, 5-7 and the output on device 1
        // (llama.cpp log of the RPC oracle: 5 and 3 layers)
        assert_eq!(
            layer_devices(8, &[1.0, 1.0]),
            vec![0, 0, 0, 0, 0, 1, 1, 1, 1]
        );
        // -ts 3,1 over 6 layers: 6·7/... device 1 holds only the output layer
        let d = layer_devices(6, &[3.0, 1.0]);
        assert_eq!(d.iter().filter(|&&x| x == 1).count(), 1);
        assert_eq!(*d.last().unwrap(), 1);
        // three devices, even
        assert_eq!(
            layer_devices(8, &[1.0, 1.0, 1.0]),
            vec![0, 0, 0, 1, 1, 1, 2, 2, 2]
        );
    }
}
