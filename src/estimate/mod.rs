//! estimate: pure functions from (model, machine, workload) to a plan. No I/O, no printing.
//!
//! - [`weights`]: bytes resident and bytes read per decoded token, from the tensor inventory.
//! - [`kv`]: the KV cache (padding, sliding window, MLA latent cache, recurrent state, K/V types).
//! - [`alloc`]: a simulation of ggml's graph allocator (where the compute buffer's tensors land, its size).
//! - [`graph`]: llama.cpp's reserve graph rebuilt from the hyperparameters, for [`alloc`].
//! - [`compute`]: llama.cpp's and MLX's compute buffers and the runtime overhead.
//! - [`speed`]: decode (bandwidth roofline x fitted efficiency), prefill (FLOPs), batch throughput.
//! - [`plan`]: puts it together: verdict, partial offload, largest context, best quant, advice.
//! - [`multi`]: one model split over several devices (layer, row or tensor split, llama.cpp RPC).
//! - [`exo`]: one model over several Macs with exo (MLX pipeline sharding).

pub mod alloc;
pub mod compute;
pub mod exo;
pub mod graph;
pub mod kv;
pub mod multi;
pub mod plan;
pub mod speed;
pub mod weights;

use crate::model::TensorType;
use serde::Serialize;

/// Which inference runtime's memory behaviour to model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum Runtime {
    #[default]
    #[serde(rename = "llama.cpp")]
    LlamaCpp,
    #[serde(rename = "mlx")]
    Mlx,
}

/// What the user wants to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    /// Context length in tokens (llama.cpp `-c`), summed over parallel sequences as llama.cpp does.
    pub context: u64,
    /// Concurrent sequences decoded together (for throughput); 1 = single-user decode.
    pub batch: u32,
    /// Physical micro-batch (llama.cpp `-ub`).
    pub ubatch: u32,
    /// Logical batch (llama.cpp `-b`).
    pub n_batch: u32,
    pub cache_type_k: TensorType,
    pub cache_type_v: TensorType,
    pub flash_attention: bool,
    /// Parallel sequences (llama.cpp `-np`).
    pub parallel: u32,
    /// llama.cpp's unified KV cache (`-kvu`, `llama_context_params.kv_unified`): the sequences share one
    /// cache of `pad256(context)` cells instead of `parallel` streams of `context / parallel`. Off in the
    /// library and llama-cli; llama-server turns it on when `-np` is not given (4 slots).
    pub kv_unified: bool,
    pub runtime: Runtime,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            context: 4096,
            batch: 1,
            ubatch: 512,
            n_batch: 2048,
            cache_type_k: TensorType::F16,
            cache_type_v: TensorType::F16,
            flash_attention: true,
            parallel: 1,
            kv_unified: false,
            runtime: Runtime::LlamaCpp,
        }
    }
}

/// Memory needed, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct MemoryBreakdown {
    pub weights_bytes: u64,
    pub kv_cache_bytes: u64,
    pub compute_bytes: u64,
    pub overhead_bytes: u64,
    pub total_bytes: u64,
}

/// The answer to "does it fit".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Verdict {
    Fits,
    /// Over a Mac's default GPU limit but within RAM: raise `iogpu.wired_limit_mb`.
    FitsIfLimitRaised {
        wired_limit_mb: u64,
        /// RAM left for macOS and apps once the limit is raised.
        ram_left_bytes: u64,
    },
    /// Only some layers fit on the GPU; the rest run from CPU memory.
    PartialOffload {
        gpu_layers: u32,
        total_layers: u32,
    },
    DoesNotFit,
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Fits => "fits",
            Verdict::FitsIfLimitRaised { .. } => "fits-if-limit-raised",
            Verdict::PartialOffload { .. } => "partial-offload",
            Verdict::DoesNotFit => "does-not-fit",
        }
    }
}

/// Which resource limits a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bound {
    Memory,
    Compute,
}

/// Predicted speed at the planned workload.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SpeedEstimate {
    /// Single-sequence decode at the planned context, tokens/s.
    pub decode_tokens_per_s: f64,
    /// Expected error of `decode_tokens_per_s` (validation median absolute error), percent.
    pub decode_error_pct: f64,
    /// Prefill (prompt processing), tokens/s.
    pub prefill_tokens_per_s: f64,
    pub prefill_error_pct: f64,
    /// What limits decode at batch 1.
    pub decode_bound: Option<Bound>,
    /// What limits prefill.
    pub prefill_bound: Option<Bound>,
    /// Bytes read from memory per decoded token (weights actually read + KV at that position).
    pub bytes_per_token: u64,
    /// Effective bandwidth the prediction assumes, bytes/s.
    pub effective_bandwidth_bytes_per_s: f64,
    /// Aggregate decode throughput at `Workload::batch` sequences, tokens/s.
    pub batch_tokens_per_s: f64,
    /// Batch size at which decode turns compute-bound.
    pub compute_bound_batch: u32,
}

/// Largest context that fits, for one KV cache type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MaxContext {
    pub cache_type: TensorType,
    /// `None` when not even the smallest context fits.
    pub max_context: Option<u64>,
}

/// The full answer for one (model, machine, workload).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub memory: MemoryBreakdown,
    /// Expected error of `memory.total_bytes`, percent.
    pub memory_error_pct: f64,
    pub gpu_budget_bytes: u64,
    pub verdict: Verdict,
    /// Largest context that fits with the workload's KV types.
    pub max_context: Option<u64>,
    /// Largest context per KV type (f16, q8_0, q4_0).
    pub max_context_by_kv: Vec<MaxContext>,
    pub speed: SpeedEstimate,
    /// Human advice, most useful first.
    pub advice: Vec<String>,
}
