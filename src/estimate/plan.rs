//! plan: puts weights, KV, compute and speed together for one (model, machine, workload): the memory
//! breakdown, the verdict (fits / fits if the Mac GPU limit is raised / partial offload / does not fit),
//! the largest context per KV type, advice, and [`best_quant`] over what-if quantizations.
//!
//! Everything that depends on the context is reduced to O(1) closed forms first ([`KvShape`],
//! [`ComputeShape`]), so the max-context search (binary search over multiples of 256) costs a few
//! dozen multiplications, and `plan()` for a 70B model is dominated by one pass over its ~700 tensors.

use super::compute::{self, ComputeShape, MIB};
use super::kv::{self, KvShape};
use super::speed::{self, Placement, SpeedInputs};
use super::weights::{self, WeightStats};
use super::{MaxContext, MemoryBreakdown, Plan, Runtime, Verdict, Workload};
use crate::error::{Error, Result};
use crate::hardware::{Machine, MemoryKind, Vendor};
use crate::model::{HyperParams, ModelDesc, TensorType};

/// Headroom added above the total when raising a Mac's GPU limit: llama.cpp `--fit-target` default
/// (1024 MiB per device), the same 1 GiB margin as the worked example in reference/peers.md.
pub const WIRED_LIMIT_MARGIN_BYTES: u64 = 1024 * MIB;

/// Expected |error| of the predicted total (weights + KV + compute + output), percent: the worst
/// error over the 296 oracle rows of llama.cpp 0c1e570 (`tests/estimate_oracle.rs`, 80 rows of dense
/// llama / qwen3 / gemma3 / llama-MoE, worst 0.91%; `tests/estimate_oracle_ext.rs`, 216 rows of MoE,
/// MLA, Mamba, hybrid and gpt-oss models, worst 1.04% on a DeepSeek-V3-proportioned MLA row at n_ctx 512,
/// where the graph allocator leaves 1.5 n_embd blocks under the logits that the formula does not see).
/// The oracle ran llama.cpp's CPU backend; Metal and CUDA compute buffers follow the same graph but
/// were not recorded, so the worst case, not the median, is what a plan carries.
pub const ORACLE_TOTAL_ERROR_PCT: f64 = 1.04;

/// KV types the max-context table reports.
pub const MAX_CONTEXT_KV_TYPES: [TensorType; 3] =
    [TensorType::F16, TensorType::Q8_0, TensorType::Q4_0];

/// The largest context for each of [`MAX_CONTEXT_KV_TYPES`] as K and V type (`None` where `wl`'s flash
/// attention and runtime refuse the type), `max_ctx(t)` giving it for one type.
pub fn max_context_by_kv(
    wl: &Workload,
    max_ctx: impl Fn(TensorType) -> Option<u64>,
) -> Vec<MaxContext> {
    MAX_CONTEXT_KV_TYPES
        .iter()
        .map(|&t| MaxContext {
            cache_type: t,
            max_context: kv::check_cache_types(t, t, wl.flash_attention, wl.runtime)
                .ok()
                .and_then(|_| max_ctx(t)),
        })
        .collect()
}

/// Reject impossible workloads with a clear message.
pub fn validate(model: &ModelDesc, wl: &Workload) -> Result<()> {
    if wl.context == 0 {
        return Err(Error::usage(
            "context 0: pass a context length of at least 1 token (-c 4096)",
        ));
    }
    if wl.ubatch == 0 {
        return Err(Error::usage(
            "micro-batch 0: -ub must be at least 1 (llama.cpp default 512)",
        ));
    }
    if wl.n_batch == 0 {
        return Err(Error::usage(
            "batch 0: -b must be at least 1 (llama.cpp default 2048)",
        ));
    }
    if wl.ubatch > wl.n_batch {
        return Err(Error::usage(format!(
            "micro-batch {} is larger than the logical batch {}: llama.cpp needs -ub <= -b",
            wl.ubatch, wl.n_batch
        )));
    }
    if wl.parallel == 0 {
        return Err(Error::usage("parallel 0: -np must be at least 1"));
    }
    if wl.batch == 0 {
        return Err(Error::usage(
            "batch of sequences 0: --batch must be at least 1",
        ));
    }
    if model.hparams.n_layer == 0 {
        return Err(Error::usage(format!(
            "{}: the model has no layers; nothing to plan",
            model.name
        )));
    }
    if wl.kv_unified && wl.runtime != Runtime::LlamaCpp {
        return Err(Error::usage(
            "--kv-unified: a llama.cpp option (one KV cache shared by the -np sequences); \
             mlx-lm has no such setting, drop it or use --runtime llama.cpp",
        ));
    }
    kv::check_cache_types(
        wl.cache_type_k,
        wl.cache_type_v,
        wl.flash_attention,
        wl.runtime,
    )
}

/// Context-independent parts of a plan, computed once.
struct Fixed<'a> {
    hp: &'a HyperParams,
    weights: WeightStats,
    compute_shape: ComputeShape,
    /// weights + output buffer + runtime overhead
    base: u64,
    ubatch: u64,
    n_seq: u64,
    flash_attention: bool,
    runtime: Runtime,
}

impl Fixed<'_> {
    fn compute_at(&self, kv: &KvShape, ctx: u64) -> u64 {
        match self.runtime {
            Runtime::LlamaCpp => self
                .compute_shape
                .llama_cpp(
                    kv.cells(ctx, self.ubatch, self.n_seq),
                    self.ubatch,
                    self.flash_attention,
                )
                .total(),
            Runtime::Mlx => self.compute_shape.mlx(self.hp, ctx),
        }
    }

    fn total_at(&self, kv: &KvShape, ctx: u64) -> u64 {
        self.base + kv.bytes(ctx, self.ubatch, self.n_seq) + self.compute_at(kv, ctx)
    }

    /// Largest multiple of 256 (≤ `limit`) whose total fits `budget`; `None` if 256 does not.
    fn max_context(&self, kv: &KvShape, budget: u64, limit: u64) -> Option<u64> {
        kv::largest_fitting_context(limit, |ctx| self.total_at(kv, ctx) <= budget)
    }
}

fn gib(b: u64) -> String {
    crate::units::gib1(b)
}

fn kv_flag(t: TensorType) -> String {
    let n = t.name().to_ascii_lowercase();
    format!("-ctk {n} -ctv {n}")
}

/// Plan `model` on `machine` for `wl`.
pub fn plan(model: &ModelDesc, machine: &Machine, wl: &Workload) -> Result<Plan> {
    validate(model, wl)?;
    let hp = &model.hparams;
    let w = weights::weight_stats(model);
    let kv_shape = KvShape::for_workload(hp, wl)?;
    let output = compute::output_buffer_bytes(hp, wl);
    let overhead = compute::runtime_overhead_bytes(machine, wl.runtime) + output;
    // llama.cpp on a discrete GPU keeps the input embedding in host memory (see WeightStats).
    let gpu_weights =
        if machine.memory_kind == MemoryKind::Discrete && wl.runtime == Runtime::LlamaCpp {
            w.resident_bytes - w.host_input_bytes
        } else {
            w.resident_bytes
        };
    let fixed = Fixed {
        hp,
        compute_shape: ComputeShape::for_model(model, wl).on_machine(machine),
        base: gpu_weights + overhead,
        weights: w,
        ubatch: wl.ubatch as u64,
        n_seq: wl.parallel as u64,
        flash_attention: wl.flash_attention,
        runtime: wl.runtime,
    };
    let kv_bytes = kv_shape.bytes(wl.context, fixed.ubatch, fixed.n_seq);
    let compute_bytes = fixed.compute_at(&kv_shape, wl.context);
    let total = fixed.base + kv_bytes + compute_bytes;
    let memory = MemoryBreakdown {
        weights_bytes: gpu_weights,
        kv_cache_bytes: kv_bytes,
        compute_bytes,
        overhead_bytes: overhead,
        total_bytes: total,
    };
    let budget = machine.gpu_budget_bytes;

    // verdict
    let mut placement = None;
    let verdict = if total <= budget {
        Verdict::Fits
    } else if let (MemoryKind::Unified, Some(max_raised)) =
        (machine.memory_kind, machine.max_raised_budget_bytes)
    {
        let wired = (total + WIRED_LIMIT_MARGIN_BYTES).div_ceil(MIB);
        if wired * MIB <= max_raised {
            Verdict::FitsIfLimitRaised {
                wired_limit_mb: wired,
                ram_left_bytes: machine.memory_bytes.saturating_sub(wired * MIB),
            }
        } else {
            Verdict::DoesNotFit
        }
    } else if machine.memory_kind == MemoryKind::Discrete {
        partial_offload(
            hp,
            &fixed,
            wl,
            machine,
            compute_bytes,
            overhead,
            &mut placement,
        )?
    } else {
        Verdict::DoesNotFit
    };

    // largest context per KV type (against the default GPU budget)
    let limit = kv::context_limit(hp, wl);
    let max_context = fixed.max_context(&kv_shape, budget, limit);
    let max_context_by_kv = max_context_by_kv(wl, |t| {
        let s = KvShape::new(hp, t, t, wl.runtime).ok()?;
        fixed.max_context(&s.with_unified(wl.kv_unified), budget, limit)
    });

    let speed = speed::estimate(&SpeedInputs {
        hp,
        weights: &fixed.weights,
        kv: &kv_shape,
        machine,
        context: wl.context,
        ubatch: wl.ubatch,
        batch: wl.batch,
        flash_attention: wl.flash_attention,
        placement,
    });

    let mut memory_error_pct = ORACLE_TOTAL_ERROR_PCT;
    if machine.vendor == Vendor::Nvidia && wl.runtime == Runtime::LlamaCpp && total > 0 {
        memory_error_pct += 100.0 * compute::CUDA_OVERHEAD_UNCERTAINTY_BYTES as f64 / total as f64;
    }

    let advice = advise(AdviceCtx {
        model,
        machine,
        wl,
        fixed: &fixed,
        kv: &kv_shape,
        total,
        verdict: &verdict,
        max_context,
        by_kv: &max_context_by_kv,
    });

    Ok(Plan {
        memory,
        memory_error_pct,
        gpu_budget_bytes: budget,
        verdict,
        max_context,
        max_context_by_kv,
        speed,
        advice,
    })
}

/// Discrete GPU that cannot hold everything: how many repeating layers (weights + their KV) fit next
/// to the compute buffer and runtime overhead; the rest, plus the embeddings and output layer, stay in
/// host RAM (llama.cpp offloads the output layer only with all layers).
fn partial_offload(
    hp: &HyperParams,
    fixed: &Fixed,
    wl: &Workload,
    machine: &Machine,
    compute_bytes: u64,
    overhead: u64,
    placement: &mut Option<Placement>,
) -> Result<Verdict> {
    let kv_layers = kv::kv_layer_bytes(hp, wl)?;
    let n = hp.n_layer as usize;
    let gpu_fixed = compute_bytes + overhead;
    let mut used = gpu_fixed;
    let mut gpu_layers = 0usize;
    // llama.cpp puts the last n layers on the GPU
    for l in (0..n).rev() {
        let need = fixed.weights.layer_bytes[l] + kv_layers[l];
        if used + need > machine.gpu_budget_bytes {
            break;
        }
        used += need;
        gpu_layers += 1;
    }
    let cpu_layers = n - gpu_layers;
    let host_need: u64 = fixed.weights.other_bytes
        + (0..cpu_layers)
            .map(|l| fixed.weights.layer_bytes[l] + kv_layers[l])
            .sum::<u64>()
        + compute::output_buffer_bytes(hp, wl);
    if let Some(host) = machine.host_memory_bytes
        && host_need > host
    {
        return Ok(Verdict::DoesNotFit);
    }
    let gpu_read: u64 = (cpu_layers..n)
        .map(|l| fixed.weights.layer_read_bytes[l])
        .sum();
    let total_read = fixed.weights.read_bytes_per_token;
    *placement = Some(Placement {
        gpu_read_bytes: gpu_read as f64,
        cpu_read_bytes: total_read.saturating_sub(gpu_read) as f64,
    });
    Ok(Verdict::PartialOffload {
        gpu_layers: gpu_layers as u32,
        total_layers: n as u32,
    })
}

struct AdviceCtx<'a> {
    model: &'a ModelDesc,
    machine: &'a Machine,
    wl: &'a Workload,
    fixed: &'a Fixed<'a>,
    kv: &'a KvShape,
    total: u64,
    verdict: &'a Verdict,
    max_context: Option<u64>,
    by_kv: &'a [MaxContext],
}

fn advise(a: AdviceCtx) -> Vec<String> {
    let mut out = Vec::new();
    let wl = a.wl;
    let hp = &a.model.hparams;
    if let Verdict::FitsIfLimitRaised {
        wired_limit_mb,
        ram_left_bytes,
    } = a.verdict
    {
        out.push(format!(
            "raise the GPU limit: sudo sysctl iogpu.wired_limit_mb={wired_limit_mb} (leaves {} for macOS and apps; \
             resets at reboot)",
            gib(*ram_left_bytes)
        ));
    }
    if !matches!(a.verdict, Verdict::Fits) {
        // a smaller KV type that reaches the asked context
        let current_bpe = wl.cache_type_k.bytes_per_elem() + wl.cache_type_v.bytes_per_elem();
        for mc in a.by_kv {
            if 2.0 * mc.cache_type.bytes_per_elem() < current_bpe
                && mc.max_context.is_some_and(|c| c >= kv::pad256(wl.context))
            {
                let fa = if wl.flash_attention { "" } else { " -fa on" };
                out.push(format!(
                    "use {}{fa} to fit {} context within the {} GPU budget",
                    kv_flag(mc.cache_type),
                    wl.context,
                    gib(a.machine.gpu_budget_bytes)
                ));
                break;
            }
        }
        if let Some(c) = a.max_context
            && c < wl.context
        {
            out.push(format!(
                "reduce the context to {c} tokens (-c {c}) to fit with the current cache types"
            ));
        }
    }
    if !wl.flash_attention && wl.runtime == Runtime::LlamaCpp {
        let cells = a.kv.cells(wl.context, wl.ubatch as u64, wl.parallel as u64);
        let off = a
            .fixed
            .compute_shape
            .llama_cpp(cells, wl.ubatch as u64, false);
        let on = a
            .fixed
            .compute_shape
            .llama_cpp(cells, wl.ubatch as u64, true);
        if off.dominant() == "attention" && off.total() > on.total() + 256 * MIB {
            out.push(format!(
                "turn on flash attention (-fa on): the compute buffer drops from {} to {} (the KQ scores \
                 4·n_head·n_ctx·n_ubatch are never materialised)",
                gib(off.total()),
                gib(on.total())
            ));
        }
    }
    if let Verdict::PartialOffload {
        gpu_layers,
        total_layers,
    } = a.verdict
    {
        out.push(format!(
            "-ngl {gpu_layers}: {gpu_layers} of {total_layers} layers fit on the GPU; the rest decode from CPU memory \
             at its bandwidth"
        ));
    }
    if matches!(a.verdict, Verdict::DoesNotFit) {
        out.push(format!(
            "needs {} but the GPU budget is {}: choose a smaller quantization or a machine with more memory",
            gib(a.total),
            gib(a.machine.gpu_budget_bytes)
        ));
    }
    if hp.context_length > 0 && wl.context > hp.context_length {
        out.push(format!(
            "context {} exceeds the model's trained context {}; quality degrades without RoPE scaling",
            wl.context, hp.context_length
        ));
    }
    if wl.runtime == Runtime::Mlx {
        out.push(
            "MLX keeps freed buffers in its cache; call mx.set_cache_limit or expect peak memory above this plan"
                .to_string(),
        );
    }
    out
}

/// The first candidate (largest first) that fits the default GPU budget, else the first that fits once
/// the Mac GPU limit is raised, with its plan. Candidates that fail to plan (bad workload for them) are
/// skipped; `Ok(None)` when none fits.
pub fn best_quant<I>(
    candidates: I,
    machine: &Machine,
    wl: &Workload,
) -> Result<Option<(ModelDesc, Plan)>>
where
    I: IntoIterator<Item = ModelDesc>,
{
    let mut raised: Option<(ModelDesc, Plan)> = None;
    let mut last_err = None;
    let mut any_ok = false;
    for m in candidates {
        match plan(&m, machine, wl) {
            Ok(p) => {
                any_ok = true;
                match p.verdict {
                    Verdict::Fits => return Ok(Some((m, p))),
                    Verdict::FitsIfLimitRaised { .. } if raised.is_none() => raised = Some((m, p)),
                    _ => {}
                }
            }
            Err(e) => last_err = Some(e),
        }
    }
    match (raised, any_ok, last_err) {
        (Some(r), _, _) => Ok(Some(r)),
        (None, false, Some(e)) => Err(e),
        _ => Ok(None),
    }
}

/// Labels of the llama.cpp quantizations [`best_quant_for`] considers: the common ones a user can
/// download or make without an importance matrix, highest quality first (F32 excluded).
pub const BEST_QUANT_CANDIDATES: [&str; 12] = [
    "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "IQ4_XS", "Q3_K_L", "Q3_K_M",
    "Q3_K_S", "Q2_K",
];

/// The best (largest) common llama.cpp quantization of `model` that fits `machine` with workload
/// `wl`: its label and plan. `None` when not even Q2_K fits.
pub fn best_quant_for(
    model: &ModelDesc,
    machine: &Machine,
    wl: &Workload,
) -> Result<Option<(String, Plan)>> {
    use crate::model::quantize::{parse_target, requantize};
    let candidates = BEST_QUANT_CANDIDATES
        .iter()
        .filter_map(|q| parse_target(q).ok())
        .filter_map(|t| requantize(model, &t).ok());
    Ok(best_quant(candidates, machine, wl)?
        .map(|(m, p)| (m.file_type.unwrap_or_else(|| "?".into()), p)))
}
