//! exo: one model over several Macs with exo (`--runtime exo`): which layers each Mac holds, each Mac's
//! memory against its own GPU budget, and decode as a pipeline with the interconnect in the loop. The
//! answer has the shape of a llama.cpp split ([`MultiPlan`], runner [`Runner::Exo`]), so the CLI table,
//! the JSON and the TUI's device-set view show it unchanged.
//!
//! # How exo cuts the model (ported, not re-derived)
//! exo 1.0 (the MLX rewrite, `exo-explore/exo`) places a model with its default `Sharding.Pipeline` and
//! `InstanceMeta.MlxRing` (`PlaceInstanceParams`). `src/exo/master/placement_utils.py` at commit
//! `ede779219c23d06ffd9962d12392b16cd2715bae`, `get_shard_assignments_for_pipeline_parallel` and
//! `allocate_layers_proportionally` (unchanged in the later CFG-aware revision that routes plain text
//! models to `_get_shard_assignments_for_pure_pipeline`):
//! - each node's share is `ram_available / Σ ram_available` over the cycle, in the cycle's (ring) order;
//! - layers by largest remainder: `floor(share · n_layers)` each, then one more layer to the nodes with
//!   the largest fractional parts (a stable sort, so ties go to the earlier node), then every node left
//!   with 0 layers takes one from the first node holding the most (exo asserts that node has > 1);
//! - node `i` runs the contiguous range `[Σ_{j<i} layers_j, + layers_i)`; rank 0 is the first in the ring;
//! - fewer layers than nodes is refused ("need at least 1 layer per node").
//!
//! [`allocate_layers_proportionally`] is that function; `tests/estimate_exo.rs` replays exo's own cases
//! (`src/exo/master/tests/test_placement_utils.py`, commit `307f454b961ac0227a6004909af966ffc1feccfa`).
//! The older exo (0.0.x, `exo/topology/ring_memory_weighted_partitioning_strategy.py`) sorted the nodes
//! by memory, largest first, and cut `[start, end)` fractions rounded to 5 decimals; exo 1.0 keeps the ring
//! order instead, and that is what is ported.
//!
//! headroom does not know each Mac's `ram_available` at placement time; it weights by each Mac's GPU
//! budget (what the single-Mac plan fits against, and the wired limit exo sets: `mx.set_wired_limit(
//! max_recommended_working_set_size)` in `utils_mlx.py`). `--tensor-split` overrides the weights (give
//! each Mac's available memory, e.g. `--tensor-split 100,40`). The device order on the command line is
//! the ring order.
//!
//! # What each Mac holds
//! `pipeline_auto_parallel` (`src/exo/worker/engines/mlx/auto_parallel.py`, commit
//! `2b243bd80ed18f77bd893b064275c601cb76f1d0`) keeps `layers[start:end]` and leaves the rest of the model in
//! place; `shard_and_load` then evaluates `model.parameters()`. So every Mac holds its layers **and** the
//! embeddings, the final norm and the output head (the model's non-layer tensors). Per Mac:
//! - weights: its layers' real tensor bytes + every non-layer tensor;
//! - KV cache: its layers' MLX KV ([`kv::kv_layer_bytes`] with the MLX layout);
//! - activations: the single-Mac MLX peak ([`ComputeShape::mlx`]: every rank runs its layers over the
//!   prefill chunk and computes the logits) plus the all-gather buffer of the last layer's output,
//!   `world_size · chunk · n_embd` half-precision values (`mx.distributed.all_gather` concatenates the ranks'
//!   `[1, chunk, n_embd]` outputs; the chunk is the single-Mac plan's 2048-token prefill step; derived from
//!   the source, not measured);
//! - overhead: as the single-Mac MLX plan (none beyond the above).
//!
//! # Decode
//! Per token the ranks run one after another: rank `r > 0` receives the hidden state from `r − 1`
//! (`recv_like`), runs its layers and sends it on; every rank's last layer then joins one `all_gather`, so
//! every rank gets the last rank's output and computes the logits itself. Rank 0 samples and starts the
//! next token: the all-gather is the ring's way back to the first Mac. So
//! `t = Σ_d t_d + 2(N−1) · (latency + σ + 2·n_embd / link_bw)`: `t_d` from
//! [`speed::device_token_s`] over Mac `d`'s layers and its KV (rank 0 adds the output head; the other
//! ranks compute theirs at the same time, off the critical path), `N − 1` point-to-point hops plus `N − 1`
//! ring all-gather steps of one `n_embd` half-precision row, and σ = [`EXO_TRANSFER_OVERHEAD_S`], the
//! software cost of one MLX distributed transfer.
//!
//! # Validation
//! σ is the one constant fitted on published truth: exo PR #1781 (Llama 4 Scout 4/8-bit and Maverick 4-bit
//! on 4× Mac Studio M3 Ultra 512 GB, Thunderbolt 5 RDMA; `tests/data/exo_pipeline_m3ultra.csv`) measured a
//! 4-node pipeline 5.2–5.8 ms per token slower than one node. With the RDMA link's 9 µs the fit gives
//! σ = 0.90 ms per transfer; leave-one-out it predicts each row's extra time within 7.6% and its tok/s
//! within 1.7%. Absolute decode over exo has no measured truth beyond these three rows (other links,
//! device counts and chips are unvalidated), so the decode band is the Apple single-chip error plus
//! [`EXO_EXTRA_ERROR_PCT`].

use super::compute::{self, ComputeShape, MIB};
use super::kv::{self, KvShape};
use super::multi::{self, DevicePlan, HostMemory, MultiOptions, MultiPlan, Runner, SplitMode};
use super::plan::{self, ORACLE_TOTAL_ERROR_PCT};
use super::speed;
use super::weights;
use super::{Bound, MaxContext, MemoryBreakdown, Runtime, SpeedEstimate, Verdict, Workload};
use crate::error::{Error, Result};
use crate::hardware::link::{self, Link};
use crate::hardware::{Device, Machine, MemoryKind, Vendor};
use crate::model::ModelDesc;

/// σ: software time of one MLX distributed transfer in exo's pipeline (send/recv or one all-gather step)
/// beyond the link's own latency, seconds. Fitted by relative least squares on the three rows of
/// `tests/data/exo_pipeline_m3ultra.csv` (4× M3 Ultra, Thunderbolt 5 RDMA: the 4-node pipeline minus one
/// node, 6 transfers a token); `tests/estimate_exo.rs` refits it. In-sample, one setup.
pub const EXO_TRANSFER_OVERHEAD_S: f64 = 0.899e-3;

/// Extra decode uncertainty of a plan over exo, percent: the interconnect term has one published setup
/// behind it (4 Mac Studios over RDMA); TCP links, other device counts and mixed chips are not validated.
pub const EXO_EXTRA_ERROR_PCT: f64 = 25.0;

/// Bytes of one hidden-state value on the wire: MLX models run in bf16/f16.
pub const ACTIVATION_BYTES: u64 = 2;

/// MLX quantizations [`multi::best_quant_multi`] tries for exo, largest first (mlx-lm's affine bits).
pub const BEST_QUANT_CANDIDATES_MLX: [&str; 6] = [
    "mlx-8bit", "mlx-6bit", "mlx-5bit", "mlx-4bit", "mlx-3bit", "mlx-2bit",
];

/// Port of exo's `allocate_layers_proportionally` (see module docs): layers per node, in ring order.
pub fn allocate_layers_proportionally(
    total_layers: u32,
    memory_fractions: &[f64],
) -> Result<Vec<u32>> {
    let n = memory_fractions.len();
    if n == 0 {
        return Err(Error::usage(
            "exo: cannot allocate layers to an empty node list",
        ));
    }
    if (total_layers as usize) < n {
        return Err(Error::usage(format!(
            "exo cannot distribute {total_layers} layers across {n} Macs (it needs at least 1 layer per Mac): \
             use fewer Macs"
        )));
    }
    if memory_fractions.iter().any(|f| !f.is_finite() || *f < 0.0) {
        return Err(Error::usage(
            "exo: memory shares must be non-negative numbers",
        ));
    }
    // largest remainder: floor each, then hand out the rest by fractional part
    let raw: Vec<f64> = memory_fractions
        .iter()
        .map(|f| f * total_layers as f64)
        .collect();
    let mut result: Vec<u32> = raw.iter().map(|r| r.trunc() as u32).collect();
    let mut by_remainder: Vec<usize> = (0..n).collect();
    // Python's sorted(..., reverse=True) is stable: equal remainders keep the ring order
    by_remainder.sort_by(|&a, &b| {
        let ra = raw[a] - result[a] as f64;
        let rb = raw[b] - result[b] as f64;
        rb.partial_cmp(&ra).unwrap_or(std::cmp::Ordering::Equal)
    });
    let assigned: u64 = result.iter().map(|&x| x as u64).sum();
    let left = (total_layers as u64).saturating_sub(assigned) as usize;
    for i in 0..left {
        let Some(&j) = by_remainder.get(i) else {
            return Err(Error::usage(
                "exo: memory shares do not add up to 1; give one positive share per Mac",
            ));
        };
        result[j] += 1;
    }
    // at least one layer per node, taken from the (first) largest
    for i in 0..n {
        if result[i] == 0 {
            let mut max_idx = 0;
            for j in 1..n {
                if result[j] > result[max_idx] {
                    max_idx = j;
                }
            }
            if result[max_idx] <= 1 {
                return Err(Error::usage(
                    "exo: not enough layers to give every Mac one; use fewer Macs",
                ));
            }
            result[max_idx] -= 1;
            result[i] = 1;
        }
    }
    Ok(result)
}

/// exo's pipeline shards for `total_layers` over nodes weighted by `memory` (bytes or any proportions),
/// in ring order: `start..end` per node (`PipelineShardMetadata.start_layer/end_layer`).
pub fn pipeline_shards(total_layers: u32, memory: &[f64]) -> Result<Vec<std::ops::Range<u32>>> {
    let sum: f64 = memory.iter().sum();
    if sum.is_nan() || sum <= 0.0 {
        return Err(Error::usage(
            "exo: the Macs' total available memory is 0; give positive memory shares",
        ));
    }
    let fractions: Vec<f64> = memory.iter().map(|m| m / sum).collect();
    let layers = allocate_layers_proportionally(total_layers, &fractions)?;
    let mut start = 0u32;
    Ok(layers
        .iter()
        .map(|&l| {
            let r = start..start + l;
            start += l;
            r
        })
        .collect())
}

/// Per-token interconnect time of an exo pipeline over `n_devices` Macs and `link`: the number of
/// transfers (`2(N−1)`) and their seconds (see module docs).
pub fn pipeline_transfer_s(n_devices: usize, link: &Link, n_embd: u64) -> (u32, f64) {
    let transfers = 2 * n_devices.saturating_sub(1) as u32;
    let per = link.latency_s
        + EXO_TRANSFER_OVERHEAD_S
        + (ACTIVATION_BYTES * n_embd) as f64 / link.bandwidth_bytes_per_s.max(1.0);
    (transfers, transfers as f64 * per)
}

/// The link exo most likely uses between `devices` when the user names none, and why.
pub fn default_link(devices: &[Machine]) -> (Link, String) {
    let _ = devices;
    let l = link::by_id("tb4").unwrap_or_else(|_| link::LINKS[0].clone());
    (
        l,
        "exo's default MLX ring backend runs over TCP on a Thunderbolt bridge: Thunderbolt 4 assumed \
         (--link tb5, tb5-rdma for MLX RDMA on macOS 26.2, 10gbe...)"
            .into(),
    )
}

fn is_mac(m: &Machine) -> bool {
    m.vendor == Vendor::Apple && m.memory_kind == MemoryKind::Unified && m.device == Device::Gpu
}

/// Plan `model` over the Macs `machines` (ring order) with exo's pipeline for `wl` (an MLX workload).
pub fn plan_exo(
    model: &ModelDesc,
    machines: &[Machine],
    wl: &Workload,
    opts: &MultiOptions,
) -> Result<MultiPlan> {
    plan::validate(model, wl)?;
    if machines.is_empty() {
        return Err(Error::usage("an exo plan needs at least one Mac"));
    }
    if let Some((i, m)) = machines.iter().enumerate().find(|(_, m)| !is_mac(m)) {
        return Err(Error::usage(format!(
            "--runtime exo: device {i} ({}) is not an Apple Silicon Mac; exo's MLX pipeline runs on Macs \
             only: use --runtime llama.cpp for a split over other devices",
            m.name
        )));
    }
    if opts.split != SplitMode::Layer {
        return Err(Error::usage(format!(
            "--split {}: a llama.cpp option; exo plans use exo's pipeline sharding (leave --split out)",
            opts.split.label()
        )));
    }
    let wl = &Workload {
        runtime: Runtime::Mlx,
        ..wl.clone()
    };
    let hp = &model.hparams;
    let nd = machines.len();
    let share = multi::shares(machines, opts.tensor_split.as_deref())?;
    let shards = pipeline_shards(hp.n_layer, &share)?;
    let stats = weights::weight_stats(model);
    let layer_sum = |v: &[u64], r: &std::ops::Range<u32>| -> u64 {
        (r.start as usize..r.end as usize)
            .map(|l| v.get(l).copied().unwrap_or(0))
            .sum()
    };
    // weights: the layers + every non-layer tensor on every Mac
    let w: Vec<u64> = shards
        .iter()
        .map(|r| layer_sum(&stats.layer_bytes, r) + stats.other_bytes)
        .collect();
    // bytes on the token's critical path: the layers, and the head on rank 0
    let read: Vec<f64> = shards
        .iter()
        .enumerate()
        .map(|(d, r)| {
            layer_sum(&stats.layer_read_bytes, r) as f64
                + if d == 0 {
                    stats.other_read_bytes as f64
                } else {
                    0.0
                }
        })
        .collect();
    let overhead: Vec<u64> = machines
        .iter()
        .map(|m| compute::runtime_overhead_bytes(m, Runtime::Mlx))
        .collect();
    let shape = ComputeShape::new(hp);
    let gather = |ctx: u64| -> u64 {
        nd as u64 * ctx.clamp(1, compute::MLX_PREFILL_STEP) * hp.n_embd * ACTIVATION_BYTES
    };
    // (kv, compute) per device at workload `w`
    let at = |wk: &Workload| -> Result<Vec<(u64, u64)>> {
        let per_layer = kv::kv_layer_bytes(hp, wk)?;
        let act = shape.mlx(hp, wk.context) + gather(wk.context);
        Ok(shards
            .iter()
            .map(|r| (layer_sum(&per_layer, r), act))
            .collect())
    };
    let now = at(wl)?;

    let mut devices = Vec::with_capacity(nd);
    let mut overall = Verdict::Fits;
    for (d, m) in machines.iter().enumerate() {
        let (kv_b, comp_b) = now[d];
        let total = w[d] + kv_b + comp_b + overhead[d];
        let verdict = multi::device_verdict(m, total);
        overall = multi::worse(&overall, &verdict);
        devices.push(DevicePlan {
            id: m.id.clone(),
            name: m.name.clone(),
            share: share[d],
            first_layer: shards[d].start,
            n_layers: shards[d].end - shards[d].start,
            // every rank computes the logits (after the all-gather)
            holds_output: true,
            memory: MemoryBreakdown {
                weights_bytes: w[d],
                kv_cache_bytes: kv_b,
                compute_bytes: comp_b,
                overhead_bytes: overhead[d],
                total_bytes: total,
            },
            budget_bytes: m.gpu_budget_bytes,
            verdict,
            read_bytes_per_token: 0,
            decode_s: 0.0,
        });
    }

    // largest context every Mac holds
    let limit = kv::context_limit(hp, wl);
    let fits_at = |ctx: u64, k, v| -> bool {
        let wk = Workload {
            context: ctx,
            cache_type_k: k,
            cache_type_v: v,
            ..wl.clone()
        };
        match at(&wk) {
            Ok(t) => t
                .iter()
                .zip(machines)
                .enumerate()
                .all(|(d, ((kv_b, c), m))| w[d] + overhead[d] + kv_b + c <= m.gpu_budget_bytes),
            Err(_) => false,
        }
    };
    let max_ctx = |k, v| kv::largest_fitting_context(limit, |ctx| fits_at(ctx, k, v));
    let max_context = max_ctx(wl.cache_type_k, wl.cache_type_v);
    let max_context_by_kv = plan::max_context_by_kv(wl, |t| max_ctx(t, t));

    // decode: the Macs in turn, then the transfers
    let kv_shape = KvShape::for_workload(hp, wl)?;
    let kv_total: u64 = now.iter().map(|t| t.0).sum();
    let kv_read = kv_shape.read_bytes_at(wl.context) as f64;
    let read_total: f64 = read.iter().sum::<f64>().max(1.0);
    let qf = stats.prefill_mix();
    let f_total = weights::flops_per_token(hp, &stats, wl.context);
    let mut dev_read = vec![0.0f64; nd];
    let mut dev_s = vec![0.0f64; nd];
    for (d, m) in machines.iter().enumerate() {
        let kv_share = if kv_total > 0 {
            now[d].0 as f64 / kv_total as f64
        } else {
            0.0
        };
        dev_read[d] = read[d] + kv_read * kv_share;
        dev_s[d] = speed::device_token_s(
            m,
            dev_read[d],
            f_total * read[d] / read_total,
            qf,
            devices[d].n_layers,
            wl.flash_attention,
        );
    }
    let link = &opts.link;
    let (transfers, link_s) = pipeline_transfer_s(nd, link, hp.n_embd);
    let compute_s: f64 = dev_s.iter().sum();
    let decode_s = compute_s + link_s;
    for (d, dp) in devices.iter_mut().enumerate() {
        dp.read_bytes_per_token = dev_read[d].round() as u64;
        dp.decode_s = dev_s[d];
    }

    // prefill: one MLX prefill chunk at mid-context depth, the Macs in turn, transfers per chunk
    let chunk = wl.context.clamp(1, compute::MLX_PREFILL_STEP) as f64;
    let fp = weights::flops_per_token(hp, &stats, wl.context / 2);
    let pre: f64 = machines
        .iter()
        .enumerate()
        .map(|(d, m)| {
            let eps = speed::prefill_efficiency_on(m, qf);
            let eta = speed::bandwidth_efficiency(m);
            let comp = fp * read[d] / read_total / (eps * m.fp16_flops.max(1.0));
            let mem = w[d] as f64 / (eta * m.bandwidth_bytes_per_s.max(1.0)) / chunk;
            comp.max(mem)
                + devices[d].n_layers as f64 * speed::layer_overhead_s(m, wl.flash_attention)
                    / chunk
        })
        .sum();
    let chunk_link_s = transfers as f64
        * (link.latency_s
            + EXO_TRANSFER_OVERHEAD_S
            + chunk * (ACTIVATION_BYTES * hp.n_embd) as f64 / link.bandwidth_bytes_per_s.max(1.0));
    let prefill_s = pre + chunk_link_s / chunk;

    let bytes_per_token: f64 = dev_read.iter().sum();
    let speed_est = SpeedEstimate {
        decode_tokens_per_s: 1.0 / decode_s.max(f64::MIN_POSITIVE),
        decode_error_pct: speed::DECODE_ERROR_PCT_APPLE + EXO_EXTRA_ERROR_PCT,
        prefill_tokens_per_s: 1.0 / prefill_s.max(f64::MIN_POSITIVE),
        prefill_error_pct: speed::PREFILL_ERROR_PCT + EXO_EXTRA_ERROR_PCT,
        decode_bound: Some(Bound::Memory),
        prefill_bound: Some(Bound::Compute),
        bytes_per_token: bytes_per_token.round() as u64,
        effective_bandwidth_bytes_per_s: bytes_per_token / compute_s.max(f64::MIN_POSITIVE),
        batch_tokens_per_s: 1.0 / decode_s.max(f64::MIN_POSITIVE),
        compute_bound_batch: 0,
    };

    let advice = advise(
        model,
        &devices,
        &overall,
        (max_context, &max_context_by_kv),
        wl,
        stats.other_bytes,
        opts,
    );

    Ok(MultiPlan {
        runner: Runner::Exo,
        split: SplitMode::Layer,
        devices,
        host: HostMemory::default(),
        interconnect: opts.link.clone(),
        interconnect_note: opts.link_note.clone(),
        interconnect_s_per_token: link_s,
        transfers_per_token: transfers,
        pipeline_copies: 1,
        verdict: overall,
        memory_error_pct: ORACLE_TOTAL_ERROR_PCT,
        max_context,
        max_context_by_kv,
        speed: speed_est,
        llama_cpp_flags: String::new(),
        advice,
    })
}

fn advise(
    model: &ModelDesc,
    devices: &[DevicePlan],
    overall: &Verdict,
    (max_context, by_kv): (Option<u64>, &[MaxContext]),
    wl: &Workload,
    shared_bytes: u64,
    opts: &MultiOptions,
) -> Vec<String> {
    let gib = crate::units::gib1;
    let mut out = Vec::new();
    for d in devices {
        if let Verdict::FitsIfLimitRaised { wired_limit_mb, .. } = d.verdict {
            out.push(format!(
                "{}: raise the GPU limit: sudo sysctl iogpu.wired_limit_mb={wired_limit_mb} (exo wires up to \
                 Metal's recommended working set, which follows it)",
                d.name
            ));
        }
    }
    let (over, room, need) = multi::shortfall(devices);
    if !matches!(overall, Verdict::Fits) {
        if let Some(mc) = multi::smaller_kv_that_fits(wl, by_kv) {
            out.push(format!(
                "a {} KV cache (mlx-lm --kv-bits) fits {} context on every Mac",
                mc.cache_type.name().to_ascii_lowercase(),
                wl.context
            ));
        }
        if !over.is_empty() && room > need {
            out.push(format!(
                "the other Macs have {} free, but exo splits layers by each Mac's available memory: free memory \
                 on the Macs over budget, or give --tensor-split with each Mac's available GB to see another split",
                gib(room)
            ));
        }
    }
    if matches!(overall, Verdict::DoesNotFit) && room <= need {
        out.push(format!(
            "needs {} more than the Macs hold together: choose a smaller quantization (mlx-4bit, mlx-3bit), a \
             shorter context or another Mac",
            gib(need - room)
        ));
    }
    if let Some(c) = max_context
        && c < wl.context
    {
        out.push(format!("reduce the context to {c} tokens to fit every Mac"));
    }
    // exo's own admission check: storage × layers / n_layer against the node's available memory
    let storage: u64 = model.tensors.iter().map(|t| t.n_bytes).sum();
    let n_layer = model.hparams.n_layer.max(1) as f64;
    for (i, d) in devices.iter().enumerate() {
        let required = d.n_layers as f64 * (storage as f64 / n_layer);
        if required > d.budget_bytes as f64 {
            out.push(format!(
                "exo itself refuses this placement: device {i} needs {} for {} layers, more than its {} (exo's \
                 placement check)",
                gib(required as u64),
                d.n_layers,
                gib(d.budget_bytes)
            ));
        }
    }
    if devices.len() > 1 && shared_bytes >= 64 * MIB {
        out.push(format!(
            "exo loads the embeddings and output head on every Mac ({} each, counted in its weights)",
            gib(shared_bytes)
        ));
    }
    out.push(format!(
        "decode over exo is a model: one transfer costs the link's latency + {:.2} ms, fitted on one published \
         setup (4× M3 Ultra over Thunderbolt 5 RDMA, exo PR #1781); other links and Mac counts have no measured \
         truth (±{:.0}%)",
        EXO_TRANSFER_OVERHEAD_S * 1e3,
        speed::DECODE_ERROR_PCT_APPLE + EXO_EXTRA_ERROR_PCT
    ));
    out.push(if opts.link.id == "tb5-rdma" {
        "run exo on every Mac (Thunderbolt 5 cables, RDMA enabled on macOS 26.2) and place the model with \
         Pipeline sharding and the MLX RDMA (jaccl) backend"
            .to_string()
    } else {
        "run exo on every Mac (Thunderbolt cables between neighbours in the ring, or one network) and place the \
         model with Pipeline sharding"
            .to_string()
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainder_keeps_ring_order_on_ties() {
        // 10 layers over 4 equal shares: 2.5 each, the two extra layers go to the first two
        assert_eq!(
            allocate_layers_proportionally(10, &[0.25; 4]).unwrap(),
            vec![3, 3, 2, 2]
        );
        let r = pipeline_shards(10, &[1.0, 1.0, 1.0, 1.0]).unwrap();
        assert_eq!(r, vec![0..3, 3..6, 6..8, 8..10]);
    }
}
