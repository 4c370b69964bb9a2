//! speed: decode (bandwidth roofline × fitted efficiency + per-layer launch overhead), prefill
//! (FLOPs × fitted efficiency), batch throughput and the batch where decode turns compute-bound.
//!
//! # Decode model
//! `t_token = bytes_read / (η · BW) + n_layer · τ_backend`
//! - `bytes_read`: weights read per token ([`super::weights`]) + KV read at the position ([`super::kv`]).
//! - `η`: the achievable fraction of datasheet bandwidth, one constant for all chips.
//! - `τ_backend`: fixed time per layer per token (kernel dispatch and synchronisation, ~10–20 kernels a
//!   layer), per backend: Metal fitted on the Apple calibration rows, CUDA on four published NVIDIA rows.
//!
//! Fitted by relative least squares ([`fit_decode`]) on the 44 usable `tg128` rows of
//! `tests/data/calibration_metal_llama2_7b.csv` (Llama-2-7B F16/Q8_0/Q4_0 on M1/M2 chips, llama.cpp
//! discussion 4167; the low-RAM M2 F16 row is excluded). Bytes per token are the file's tensors less the
//! embedding table plus one row, plus the f16 KV at the mean tg128 depth of 64. `tests/estimate_speed.rs`
//! refits and checks these constants and prints every row. Validation (|error| of predicted tok/s):
//!
//! | split | median | worst |
//! |---|---|---|
//! | in-sample, 44 rows | 3.1% | 20.1% (M1 Ultra 48c F16) |
//! | leave-one-family-out (fit M2 → predict M1 / fit M1 → predict M2) | 6.8% (7.3% / 6.4%) | 24.6% (15.0% on M2) |
//! | leave-one-tier-out: base / Pro / Max / Ultra | 3.6% (4.7 / 2.0 / 3.6 / 5.8%) | 22.3% (Ultra) |
//! | NVIDIA RTX 3090/4090 (η from Apple; τ_cuda fitted on these 4 rows) | 7.0% | 9.9% |
//! | NVIDIA with the Metal τ instead | 22.8% | |
//!
//! Candidate terms compared during the fit (same rows, same leave-one-family-out split, full-file bytes):
//! a dequantisation term per quant type (`P/FLOPS` per type: median 6.3%, worst 17.7%, but it pushes η
//! above 1, i.e. it trades bandwidth for compute unphysically), a GPU-size term (`bytes/FLOPS`, small GPUs
//! can't saturate bandwidth: 6.4% / 16.9%, again with η > 1), `P/FLOPS` for quantized types only (weight
//! ≈ 0), and a per-core term (worst 20.8%). None generalised clearly better than the two-parameter model,
//! so it stays physical and small. The misfit is concentrated in the Ultra chips (two dies joined by
//! UltraFusion), whose effective bandwidth for a 7B model is lower than predicted.
//! A multi-die term was tried too (fitted on one family's Ultra, predicting the other's): a bandwidth
//! factor κ for two-die parts (κ = 0.906 in-sample) gives leave-one-family-out median 6.9%, worst 22.5%;
//! an extra τ per layer on two-die parts gives 6.6% / 22.9% (vs 6.8% / 24.6% without). M1 Ultra and
//! M2 Ultra differ too much for one die factor to transfer, so neither is used (method: the relative
//! least squares of [`fit_decode`] with one more column, non-zero on the Ultra rows only).
//!
//! # CPU-only machines (`device: cpu`)
//! The same two-parameter decode model with the machine's measured STREAM read bandwidth as BW and CPU
//! constants ([`CPU_DECODE_BW_EFFICIENCY`], [`CPU_LAYER_OVERHEAD_S`]) fitted on this project's llama-bench
//! tg64 rows on a 2-vCPU Zen 5 guest (`tests/data/cpu_llamacpp_zen5_2c.csv`, Llama-3.2-1B/3B shapes at
//! F16/Q8_0/Q4_0/Q4_K_M; best of 5–21 samples on a shared, loaded machine); prefill uses the cores' FP32 FMA
//! peak as FLOPS with CPU ε per class of the layers' weight bytes: float, the quantized types llama.cpp
//! repacks for its x86 GEMM kernels ([`super::weights::cpu_gemm_repacked`]), other quantized types
//! ([`PREFILL_EFF_FLOAT_CPU`], [`PREFILL_EFF_GEMM_CPU`], [`PREFILL_EFF_QUANT_CPU`], [`fit_prefill_mix`]).
//! Validation is printed by `tests/estimate_cpu.rs` (in-sample, leave-one-model-out, leave-one-file-out;
//! prefill leave-one-row-out).
//!
//! # Prefill model
//! `t_token = max(FLOPs / (ε · FLOPS), weight_bytes / (η · BW) / n_ubatch)`; `ε` is 0.744 for F16/BF16
//! weights and 0.660 for block-quantized weights (dequantisation), mixed by byte share. FLOPS for the
//! calibration chips are derived (cores × 256 × clock). Fitted on the 45 `pp512` rows: median 2.7%
//! in-sample (worst 10.4%), 2.9% leave-one-family-out (worst 10.5%).
//!
//! # Batch
//! `B` sequences per step read the dense weights once, the routed experts by coverage
//! `1 − (1 − k/E)^B`, and each sequence's KV; compute is `B ×` FLOPs per token at ε. The step takes the
//! larger of the two plus the per-layer overhead. Decode turns compute-bound at the smallest `B` where
//! compute time ≥ memory time.
//!
//! `Machine::measured_efficiency`, when present (from `headroom calibrate`), replaces η.

use super::kv::KvShape;
use super::weights::{PrefillMix, WeightStats, flops_per_token};
use super::{Bound, SpeedEstimate};
use crate::hardware::{Device, Machine, Vendor};
use crate::model::HyperParams;

/// η: fraction of datasheet bandwidth reached by decode (fitted, see module docs).
pub const DECODE_BW_EFFICIENCY: f64 = 0.9142;
/// τ for Metal: seconds per layer per decoded token (fitted).
pub const METAL_LAYER_OVERHEAD_S: f64 = 200.95e-6;
/// τ for CUDA: seconds per layer per decoded token, with η fixed: the median over the five llama-bench
/// decode rows this project measured with llama.cpp 0c1e570 + CUDA on an H100
/// (`tests/data/cuda_h100_llama8b.csv`: 54, 70, 33, 73, 92 µs). The January-2024 RTX 3090/4090 rows
/// (`tests/data/nvidia_llama2_7b_tg128.csv`) fit 102.5 µs: older builds, before CUDA graphs.
pub const CUDA_LAYER_OVERHEAD_S: f64 = 70.0e-6;
/// Extra τ on CUDA when flash attention is off: the separate KQ, softmax and KQV kernels. Measured by
/// this project on an H100 (llama.cpp 0c1e570, 8B Q4_0, tg128 with `-fa 1` vs `-fa 0`, same file, same
/// card: 331.3 → 278.6 t/s without a split and 329.2 → 276.9 t/s with `-sm layer` over two cards; both
/// pairs give 17.9 µs per layer; `tests/data/cuda_h100_llama8b.csv`). The Metal τ was fitted on rows
/// measured before llama.cpp had flash attention, so it already is the FA-off figure.
pub const CUDA_NO_FA_LAYER_EXTRA_S: f64 = 17.9e-6;
/// ε for F16/BF16/F32 weights: fraction of FP16 FLOPS reached by prefill (fitted).
pub const PREFILL_EFF_FLOAT: f64 = 0.7437;
/// ε for block-quantized weights (fitted).
pub const PREFILL_EFF_QUANT: f64 = 0.6604;
/// ε on NVIDIA (CUDA) for F16/BF16 weights: llama-bench pp512 on the H100 (19504 t/s for the 8B F16,
/// `tests/data/cuda_h100_llama8b.csv`) is 0.33 of the dense FP16 tensor peak. In-sample: one GPU.
pub const PREFILL_EFF_FLOAT_CUDA: f64 = 0.330;
/// ε on NVIDIA for block-quantized weights (MMQ kernels): 0.15–0.17 of the FP16 peak on the H100
/// (Q4_K_M 9385 t/s, Q4_0 10743 t/s). In-sample: one GPU.
pub const PREFILL_EFF_QUANT_CUDA: f64 = 0.161;

/// Expected |error| of decode on Apple GPUs: leave-one-family-out median, percent.
pub const DECODE_ERROR_PCT_APPLE: f64 = 6.8;
/// Expected |error| of decode on NVIDIA GPUs: median over the H100 llama-bench rows, percent
/// (`tests/estimate_cuda_h100.rs` prints each; worst 16.7%).
pub const DECODE_ERROR_PCT_NVIDIA: f64 = 14.1;
/// Expected |error| of prefill on NVIDIA GPUs: worst over the three H100 rows (in-sample), percent.
pub const PREFILL_ERROR_PCT_NVIDIA: f64 = 8.0;
/// Expected |error| of prefill: leave-one-family-out median, percent.
pub const PREFILL_ERROR_PCT: f64 = 2.9;
/// Extra decode uncertainty when layers run from CPU memory (no calibration rows), percent.
pub const PARTIAL_OFFLOAD_EXTRA_ERROR_PCT: f64 = 25.0;

/// η on CPU-only machines (`device: cpu`): fraction of the machine's measured STREAM read bandwidth
/// that llama.cpp's CPU decode reaches. Fitted with [`CPU_LAYER_OVERHEAD_S`] by [`fit_decode`] on the
/// llama-bench tg64 rows of `tests/data/cpu_llamacpp_zen5_2c.csv` (this project's runs, llama.cpp
/// 0c1e570, 2 threads; `tests/estimate_cpu.rs` refits and checks both).
pub const CPU_DECODE_BW_EFFICIENCY: f64 = 0.7527;
/// τ on CPU-only machines: seconds per layer per decoded token (graph and thread synchronisation).
pub const CPU_LAYER_OVERHEAD_S: f64 = 385.84e-6;
/// ε on CPU-only machines for F16/BF16/F32 weights: fraction of the cores' FMA peak reached by pp512.
pub const PREFILL_EFF_FLOAT_CPU: f64 = 0.4466;
/// ε on CPU-only machines for block-quantized weights of the types llama.cpp repacks for its x86 GEMM
/// kernels ([`super::weights::cpu_gemm_repacked`]: Q4_0, Q4_K, IQ4_NL, MXFP4).
pub const PREFILL_EFF_GEMM_CPU: f64 = 0.8961;
/// ε on CPU-only machines for the other block-quantized types (Q8_0, Q5_K, Q6_K, ...: vec_dot rows).
pub const PREFILL_EFF_QUANT_CPU: f64 = 0.5203;
/// Expected |error| of decode on CPU-only machines: leave-one-model-out median over the CPU rows, percent
/// (in-sample median 5.1%, worst 12.0%; leave-one-model-out worst 13.6%; `tests/estimate_cpu.rs`).
pub const DECODE_ERROR_PCT_CPU: f64 = 5.6;
/// Expected |error| of prefill on CPU-only machines: leave-one-row-out median over the three quantized pp512
/// rows (two rows fix both quantized ε, the third is predicted; one model shape, so no leave-one-model-out;
/// in-sample median 3.6%, worst 6.2%), percent.
pub const PREFILL_ERROR_PCT_CPU: f64 = 16.6;
/// Worst |error| of decode over the CPU rows (in-sample and leave-one-model-out), percent.
pub const DECODE_WORST_PCT_CPU: f64 = 14.0;
/// Worst |error| of prefill over the CPU rows, in-sample and leave-one-row-out (Q8_0 left out: the one row
/// without repacked weights, predicted from Q4_K_M's Q6_K share alone, +51.7%), percent.
pub const PREFILL_WORST_PCT_CPU: f64 = 52.0;

/// Per-layer per-token overhead of the backend that runs on `machine`, with or without flash attention.
pub fn layer_overhead_s(machine: &Machine, flash_attention: bool) -> f64 {
    if machine.device == Device::Cpu {
        return CPU_LAYER_OVERHEAD_S;
    }
    match machine.vendor {
        Vendor::Nvidia if flash_attention => CUDA_LAYER_OVERHEAD_S,
        Vendor::Nvidia => CUDA_LAYER_OVERHEAD_S + CUDA_NO_FA_LAYER_EXTRA_S,
        // Metal's is the larger, the conservative choice for backends without calibration
        _ => METAL_LAYER_OVERHEAD_S,
    }
}

/// η on `machine`: measured if calibrated, else the fit.
pub fn bandwidth_efficiency(machine: &Machine) -> f64 {
    match machine.measured_efficiency {
        Some(e) if e.is_finite() && e > 0.0 && e <= 1.5 => e,
        _ if machine.device == Device::Cpu => CPU_DECODE_BW_EFFICIENCY,
        _ => DECODE_BW_EFFICIENCY,
    }
}

/// One device's time per decoded token when it holds part of a model (the per-device term of every
/// multi-device plan: llama.cpp's layer split, exo's pipeline): the roofline of its own bytes and FLOPs on
/// its own chip, `max(read_bytes / (η·BW), flops / (ε·FLOPS))`, plus `n_layers · τ` for the layers it runs.
/// The same two terms as [`estimate`]'s batch-1 decode, restricted to the device's share.
pub fn device_token_s(
    machine: &Machine,
    read_bytes: f64,
    flops: f64,
    mix: PrefillMix,
    n_layers: u32,
    flash_attention: bool,
) -> f64 {
    let eta = bandwidth_efficiency(machine);
    let mem_s = read_bytes / (eta * machine.bandwidth_bytes_per_s.max(1.0));
    let eps = prefill_efficiency_on(machine, mix);
    let comp_s = flops / (eps * machine.fp16_flops.max(1.0));
    mem_s.max(comp_s) + n_layers as f64 * layer_overhead_s(machine, flash_attention)
}

/// Prefill FLOPS efficiency for a model whose weights are `quantized_fraction` block-quantized.
pub fn prefill_efficiency(quantized_fraction: f64) -> f64 {
    mix(quantized_fraction, PREFILL_EFF_QUANT, PREFILL_EFF_FLOAT)
}

/// Prefill FLOPS efficiency on `machine`'s backend (CPU, CUDA on NVIDIA, Metal's fit elsewhere), for
/// weights with the byte shares `m`. On CPUs three classes: float, quantized types llama.cpp repacks
/// for its GEMM kernels, other quantized types (Q8_0 prefills at 0.6× the speed of Q4_0 on the
/// build machine: no x86 repack), mixed harmonically by bytes.
pub fn prefill_efficiency_on(machine: &Machine, m: PrefillMix) -> f64 {
    let quantized_fraction = m.quantized;
    if machine.device == Device::Cpu {
        let q = m.cpu_quantized.clamp(0.0, 1.0);
        let g = m.cpu_gemm.clamp(0.0, q);
        return 1.0
            / (g / PREFILL_EFF_GEMM_CPU
                + (q - g) / PREFILL_EFF_QUANT_CPU
                + (1.0 - q) / PREFILL_EFF_FLOAT_CPU)
                .max(f64::MIN_POSITIVE);
    }
    match machine.vendor {
        Vendor::Nvidia => mix(
            quantized_fraction,
            PREFILL_EFF_QUANT_CUDA,
            PREFILL_EFF_FLOAT_CUDA,
        ),
        _ => prefill_efficiency(quantized_fraction),
    }
}

/// Harmonic mix by byte share: time adds per byte.
fn mix(quantized_fraction: f64, quant: f64, float: f64) -> f64 {
    let q = quantized_fraction.clamp(0.0, 1.0);
    1.0 / (q / quant + (1.0 - q) / float)
}

/// One decode observation for fitting: bytes read per token, datasheet bandwidth, layers, measured tok/s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeObs {
    pub bytes_per_token: f64,
    pub bandwidth_bytes_per_s: f64,
    pub n_layer: u32,
    pub tokens_per_s: f64,
}

/// Result of [`fit_decode`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeFit {
    pub efficiency: f64,
    pub layer_overhead_s: f64,
}

impl DecodeFit {
    pub fn predict(&self, o: &DecodeObs) -> f64 {
        1.0 / (o.bytes_per_token / (self.efficiency * o.bandwidth_bytes_per_s)
            + o.n_layer as f64 * self.layer_overhead_s)
    }
}

/// Relative least squares of `t = a·bytes/BW + τ·n_layer` (minimises Σ((pred − t)/t)²); η = 1/a.
/// `None` when the rows do not determine both parameters.
pub fn fit_decode(obs: &[DecodeObs]) -> Option<DecodeFit> {
    let (mut s11, mut s12, mut s22, mut r1, mut r2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for o in obs {
        let t = 1.0 / o.tokens_per_s;
        let x1 = o.bytes_per_token / o.bandwidth_bytes_per_s / t;
        let x2 = o.n_layer as f64 / t;
        s11 += x1 * x1;
        s12 += x1 * x2;
        s22 += x2 * x2;
        r1 += x1;
        r2 += x2;
    }
    let det = s11 * s22 - s12 * s12;
    if !det.is_finite() || det.abs() < 1e-300 {
        return None;
    }
    let a = (r1 * s22 - r2 * s12) / det;
    let tau = (s11 * r2 - s12 * r1) / det;
    (a > 0.0).then_some(DecodeFit {
        efficiency: 1.0 / a,
        layer_overhead_s: tau,
    })
}

/// Fit τ alone with η fixed (relative least squares of `t − bytes/(η·BW) = τ·n_layer`).
pub fn fit_layer_overhead(obs: &[DecodeObs], efficiency: f64) -> Option<f64> {
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for o in obs {
        let t = 1.0 / o.tokens_per_s;
        let x = o.n_layer as f64 / t;
        let y = (t - o.bytes_per_token / (efficiency * o.bandwidth_bytes_per_s)) / t;
        sxx += x * x;
        sxy += x * y;
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

/// One prefill observation: FLOPs per token, FP16 FLOPS, measured tok/s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrefillObs {
    pub flops_per_token: f64,
    pub flops_per_s: f64,
    pub tokens_per_s: f64,
}

/// Relative least squares of `t = flops / (ε · FLOPS)`: returns ε.
pub fn fit_prefill(obs: &[PrefillObs]) -> Option<f64> {
    let (mut sxx, mut sx) = (0.0, 0.0);
    for o in obs {
        let x = o.flops_per_token / o.flops_per_s * o.tokens_per_s;
        sxx += x * x;
        sx += x;
    }
    (sxx > 0.0 && sx > 0.0).then(|| sxx / sx)
}

/// CPU prefill ε of the two quantized classes (repacked GEMM types, other quantized types), given the
/// float ε: relative least squares of `t·FLOPS/flops = g/ε_gemm + o/ε_quant + f/ε_float` over
/// observations with their byte shares (`g` repacked, `o` other quantized, `f` float). Returns
/// `(ε_gemm, ε_quant)`; `None` when the shares do not separate the classes.
pub fn fit_prefill_mix(obs: &[(PrefillObs, PrefillMix)], eps_float: f64) -> Option<(f64, f64)> {
    // minimise Σ (u·a + v·b − w)² with a = 1/ε_gemm, b = 1/ε_quant, y = t·FLOPS/flops
    let (mut suu, mut suv, mut svv, mut suw, mut svw) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (o, m) in obs {
        let y = o.flops_per_s / (o.flops_per_token * o.tokens_per_s);
        let q = m.cpu_quantized.clamp(0.0, 1.0);
        let g = m.cpu_gemm.clamp(0.0, q);
        let (u, v, w) = (g / y, (q - g) / y, 1.0 - (1.0 - q) / (eps_float * y));
        suu += u * u;
        suv += u * v;
        svv += v * v;
        suw += u * w;
        svw += v * w;
    }
    let det = suu * svv - suv * suv;
    if det.abs() < 1e-12 {
        return None;
    }
    let a = (suw * svv - svw * suv) / det;
    let b = (svw * suu - suw * suv) / det;
    (a > 0.0 && b > 0.0).then(|| (1.0 / a, 1.0 / b))
}

/// Where the layers live, for speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Weight bytes read per token from GPU memory.
    pub gpu_read_bytes: f64,
    /// Weight bytes read per token from CPU memory (layers not offloaded).
    pub cpu_read_bytes: f64,
}

/// Everything speed needs.
pub struct SpeedInputs<'a> {
    pub hp: &'a HyperParams,
    pub weights: &'a WeightStats,
    pub kv: &'a KvShape,
    pub machine: &'a Machine,
    /// KV depth of the single-sequence decode (the planned context).
    pub context: u64,
    pub ubatch: u32,
    pub batch: u32,
    /// Flash attention on (changes the per-layer overhead on CUDA).
    pub flash_attention: bool,
    /// `None`: everything on the GPU.
    pub placement: Option<Placement>,
}

/// Predict decode, prefill and batch throughput.
pub fn estimate(inp: &SpeedInputs) -> SpeedEstimate {
    let m = inp.machine;
    let eta = bandwidth_efficiency(m);
    let bw = m.bandwidth_bytes_per_s.max(1.0);
    let cpu_bw = m.cpu_bandwidth_bytes_per_s.max(1.0);
    let tau = layer_overhead_s(m, inp.flash_attention) * inp.hp.n_layer as f64;
    let eps = prefill_efficiency_on(m, inp.weights.prefill_mix());
    let flops = m.fp16_flops.max(1.0);

    // batch 1 decode at the planned context
    let kv_read = inp.kv.read_bytes_at(inp.context) as f64;
    let w_read = inp.weights.read_bytes_per_token as f64;
    let mem_s = match inp.placement {
        None => (w_read + kv_read) / (eta * bw),
        Some(p) => {
            // KV follows its layer; split it in the same proportion as the weights
            let gpu_share = if w_read > 0.0 {
                p.gpu_read_bytes / w_read
            } else {
                1.0
            };
            (p.gpu_read_bytes + kv_read * gpu_share) / (eta * bw)
                + (p.cpu_read_bytes + kv_read * (1.0 - gpu_share)) / (eta * cpu_bw)
        }
    };
    let f1 = flops_per_token(inp.hp, inp.weights, inp.context);
    let comp_s = f1 / (eps * flops);
    let decode_s = mem_s.max(comp_s) + tau;
    let decode_bound = if comp_s > mem_s {
        Bound::Compute
    } else {
        Bound::Memory
    };

    // prefill: one micro-batch of ubatch tokens at mid-context depth
    let ub = inp.ubatch.max(1) as f64;
    let fp = flops_per_token(inp.hp, inp.weights, inp.context / 2);
    let pre_comp = fp / (eps * flops);
    let pre_mem = inp.weights.resident_bytes as f64 / (eta * bw) / ub;
    let prefill_s = pre_comp.max(pre_mem) + tau / ub;
    let prefill_bound = if pre_comp >= pre_mem {
        Bound::Compute
    } else {
        Bound::Memory
    };

    // batch B: memory and compute per step
    let step = |b: u32| -> (f64, f64) {
        let bf = b.max(1) as f64;
        let depth = inp.context / b.max(1) as u64;
        let mem = (inp.weights.read_bytes_for_batch(b) + bf * inp.kv.read_bytes_at(depth) as f64)
            / (eta * bw);
        let comp = bf * flops_per_token(inp.hp, inp.weights, depth) / (eps * flops);
        (mem, comp)
    };
    let b = inp.batch.max(1);
    let (bm, bc) = step(b);
    let batch_tokens_per_s = b as f64 / (bm.max(bc) + tau);
    // smallest B with compute ≥ memory (compute − memory grows with B for these models); 0 = not below 65536
    let compute_bound_batch = {
        let crosses = |b: u32| {
            let (mm, cc) = step(b);
            cc >= mm
        };
        if crosses(1) {
            1
        } else if !crosses(65536) {
            0
        } else {
            let (mut lo, mut hi) = (1u32, 65536u32);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if crosses(mid) { hi = mid } else { lo = mid }
            }
            hi
        }
    };

    let mut decode_error_pct = match (m.device, m.vendor) {
        (Device::Cpu, _) => DECODE_ERROR_PCT_CPU,
        (_, Vendor::Nvidia) => DECODE_ERROR_PCT_NVIDIA,
        _ => DECODE_ERROR_PCT_APPLE,
    };
    if inp.placement.is_some_and(|p| p.cpu_read_bytes > 0.0) {
        decode_error_pct += PARTIAL_OFFLOAD_EXTRA_ERROR_PCT;
    }
    SpeedEstimate {
        decode_tokens_per_s: 1.0 / decode_s,
        decode_error_pct,
        prefill_tokens_per_s: 1.0 / prefill_s,
        prefill_error_pct: match (m.device, m.vendor) {
            (Device::Cpu, _) => PREFILL_ERROR_PCT_CPU,
            (_, Vendor::Nvidia) => PREFILL_ERROR_PCT_NVIDIA,
            _ => PREFILL_ERROR_PCT,
        },
        decode_bound: Some(decode_bound),
        prefill_bound: Some(prefill_bound),
        bytes_per_token: (w_read + kv_read).round() as u64,
        effective_bandwidth_bytes_per_s: eta * bw,
        batch_tokens_per_s,
        compute_bound_batch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_known_parameters() {
        let truth = DecodeFit {
            efficiency: 0.8,
            layer_overhead_s: 1e-4,
        };
        let obs: Vec<_> = [
            (4e9, 100e9, 32),
            (8e9, 400e9, 32),
            (2e9, 800e9, 80),
            (14e9, 200e9, 40),
        ]
        .iter()
        .map(|&(b, bw, l)| {
            let mut o = DecodeObs {
                bytes_per_token: b,
                bandwidth_bytes_per_s: bw,
                n_layer: l,
                tokens_per_s: 0.0,
            };
            o.tokens_per_s = truth.predict(&o);
            o
        })
        .collect();
        let f = fit_decode(&obs).unwrap();
        assert!(
            (f.efficiency - 0.8).abs() < 1e-9 && (f.layer_overhead_s - 1e-4).abs() < 1e-12,
            "{f:?}"
        );
        assert!((fit_layer_overhead(&obs, 0.8).unwrap() - 1e-4).abs() < 1e-12);
    }

    #[test]
    fn prefill_mix() {
        assert!((prefill_efficiency(0.0) - PREFILL_EFF_FLOAT).abs() < 1e-12);
        assert!((prefill_efficiency(1.0) - PREFILL_EFF_QUANT).abs() < 1e-12);
    }
}
