//! Multi-device plans against llama.cpp: every row of `tests/data/multi_rpc_split.csv` (llama.cpp 0c1e570 with
//! 2–3 RPC servers as devices, made by `scripts/oracle_multi.sh`: 6 models incl. Qwen3, Qwen3-MoE,
//! tied embeddings, Gemma-3 sliding window and a 0.6 GB Llama; `-ts` 1,1 / 3,1 / 1,1,1 / 2,1,1 / default; context 1024 and
//! 4096; flash attention on and off; ubatch 256; q8_0 KV).
//!
//! Bars (as for one device, issue 6): per-device weights and KV exact to the byte; compute within 5%; each
//! device's total within 2% ([`MULTI_TOTAL_ERROR_PCT`]), no exceptions. Each device's compute buffer comes
//! from simulating llama.cpp's scheduler and allocator over the rebuilt graph
//! (`headroom::estimate::graph::device_buffers`): every layer-split row is exact to the byte (the live-set
//! formulas this replaced missed 6 rows by 2.04–2.79%). `-sm tensor` rows: llama.cpp reports one `Meta()` buffer,
//! the largest device's, so the test compares the largest predicted device (weights, KV and compute exact). The model inventories are
//! rebuilt from the CSV's hyperparameters (headroom's own tensor layouts) and checked against the file's
//! tensor bytes first.

mod common;

use headroom::estimate::multi::{
    MULTI_TOTAL_ERROR_PCT, MultiOptions, SplitMode, layer_devices, plan_multi,
};
use headroom::estimate::{Runtime, Workload};
use headroom::hardware::link;
use headroom::hardware::{Machine, MemoryKind, Vendor};
use headroom::model::{HyperParams, ModelDesc, ModelFormat, TensorType, arch};
use std::collections::HashMap;

struct Row(HashMap<String, String>);

impl Row {
    fn s(&self, k: &str) -> &str {
        self.0.get(k).map(|s| s.as_str()).unwrap_or("")
    }
    fn u(&self, k: &str) -> u64 {
        self.s(k)
            .parse()
            .unwrap_or_else(|_| panic!("{k}={}", self.s(k)))
    }
    fn list(&self, k: &str) -> Vec<u64> {
        self.s(k)
            .split(';')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect()
    }
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/multi_rpc_split.csv"
    ))
    .unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            Row(header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect())
        })
        .collect()
}

/// The synthetic model of a row: make_gguf.py's layout for the architecture (2-D weights at the row's type,
/// norms and the MoE router f32), n_ctx_train 32768.
fn model(r: &Row) -> ModelDesc {
    let n = r.u("n_layer") as u32;
    let nl = n as usize;
    let swa = r.u("swa");
    let pat = r.u("swa_pattern");
    let hp = HyperParams {
        n_layer: n,
        n_embd: r.u("n_embd"),
        n_head: vec![r.u("n_head") as u32; nl],
        n_head_kv: vec![r.u("n_head_kv") as u32; nl],
        head_dim_k: r.u("head_dim"),
        head_dim_v: r.u("head_dim"),
        n_ff: if r.u("n_expert") > 0 {
            vec![0; nl]
        } else {
            vec![r.u("n_ff"); nl]
        },
        context_length: 32768,
        vocab_size: r.u("n_vocab"),
        n_expert: r.u("n_expert") as u32,
        n_expert_used: r.u("n_expert_used") as u32,
        n_ff_expert: if r.u("n_expert") > 0 {
            r.u("n_ff_exp")
                .max(if r.u("n_ff_exp") == 0 { r.u("n_ff") } else { 0 })
        } else {
            0
        },
        sliding_window: (swa > 0).then_some(swa),
        swa_layers: (0..n as u64)
            .map(|il| swa > 0 && il % pat < pat - 1)
            .collect(),
        ..HyperParams::default()
    };
    let ty = TensorType::from_name(r.s("weight_type")).unwrap();
    let mut tensors = arch::inventory(r.s("arch"), &hp, ty).unwrap();
    if r.u("tied") == 1 {
        tensors.retain(|t| t.name != "output.weight");
    }
    let m = ModelDesc {
        format: ModelFormat::Spec,
        source: r.s("model").into(),
        name: r.s("model").into(),
        architecture: r.s("arch").into(),
        hparams: hp,
        tensors,
        file_type: Some(r.s("weight_type").into()),
        mlx_quant: None,
        files: vec![],
        warnings: vec![],
    };
    assert_eq!(
        m.weights_bytes(),
        r.u("file_tensor_bytes"),
        "{}: inventory bytes vs the file",
        r.s("model")
    );
    m
}

/// An RPC server's CPU device: no runtime overhead, the 24105 MiB it reports free.
fn device(i: usize) -> Machine {
    Machine {
        id: format!("rpc{i}"),
        name: format!("RPC{i} (127.0.0.1)"),
        vendor: Vendor::Other,
        memory_kind: MemoryKind::Discrete,
        memory_bytes: 24105 << 20,
        gpu_budget_bytes: 24105 << 20,
        max_raised_budget_bytes: None,
        host_memory_bytes: None,
        bandwidth_bytes_per_s: 50e9,
        cpu_bandwidth_bytes_per_s: 50e9,
        gpu_cores: 1,
        fp16_flops: 1e12,
        measured_efficiency: None,
        calibrated: false,
        budget_note: String::new(),
        // an RPC server is a remote backend device to llama.cpp (its own buffers, not the host's)
        device: headroom::hardware::Device::Gpu,
    }
}

fn workload(r: &Row) -> Workload {
    let t = |k: &str| TensorType::from_name(r.s(k)).unwrap();
    Workload {
        context: r.u("n_ctx"),
        ubatch: r.u("n_ubatch") as u32,
        n_batch: 2048,
        cache_type_k: t("cache_type_k"),
        cache_type_v: t("cache_type_v"),
        flash_attention: r.s("fa") == "on",
        runtime: Runtime::LlamaCpp,
        ..Workload::default()
    }
}

/// Issue 6's bars: compute within 5%, total within 2%.
const COMPUTE_BAR_PCT: f64 = 5.0;
const TOTAL_BAR_PCT: f64 = 2.0;

fn pct(got: u64, want: u64) -> f64 {
    (got as f64 - want as f64) / want.max(1) as f64 * 100.0
}

#[test]
fn layer_split_matches_llama_cpp_rpc() {
    let mut worst_compute = 0.0f64;
    let mut worst_total = 0.0f64;
    let mut n = 0;
    let mut failures = Vec::new();
    let mut exact = 0;
    println!(
        "model            split ts      ctx  fa  ub  kv    dev layers  weights  kv  compute% total%"
    );
    for r in rows().iter().filter(|r| r.s("split") == "layer") {
        let m = model(r);
        let nd = r.u("n_dev") as usize;
        let machines: Vec<Machine> = (0..nd).map(device).collect();
        let ts: Option<Vec<f64>> = (!r.s("ts").is_empty())
            .then(|| r.s("ts").split(';').map(|x| x.parse().unwrap()).collect());
        let opts = MultiOptions {
            split: SplitMode::Layer,
            tensor_split: ts,
            link: link::by_id("loopback").unwrap(),
            link_note: None,
        };
        let p = plan_multi(&m, &machines, &workload(r), &opts).unwrap();
        let (wm, wk, wc) = (r.list("dev_model"), r.list("dev_kv"), r.list("dev_compute"));
        assert_eq!(wm.len(), nd);
        for (d, dp) in p.devices.iter().enumerate() {
            let mem = &dp.memory;
            assert_eq!(
                mem.weights_bytes,
                wm[d],
                "{} ts {} device {d}: weights",
                r.s("model"),
                r.s("ts")
            );
            assert_eq!(
                mem.kv_cache_bytes,
                wk[d],
                "{} ts {} ctx {} device {d}: KV",
                r.s("model"),
                r.s("ts"),
                r.s("n_ctx")
            );
            let ce = pct(mem.compute_bytes, wc[d]);
            let want_total = wm[d] + wk[d] + wc[d];
            let te = pct(mem.total_bytes, want_total);
            println!(
                "{:16} {:5} {:7} {:5} {:3} {:3} {:5} {d}   {:2}{}    exact    exact {ce:+6.2} {te:+6.2}",
                r.s("model"),
                "layer",
                if r.s("ts").is_empty() {
                    "default"
                } else {
                    r.s("ts")
                },
                r.s("n_ctx"),
                r.s("fa"),
                r.s("n_ubatch"),
                r.s("cache_type_k"),
                dp.n_layers,
                if dp.holds_output { "+out" } else { "    " },
            );
            worst_compute = worst_compute.max(ce.abs());
            worst_total = worst_total.max(te.abs());
            exact += (mem.compute_bytes == wc[d]) as u32;
            if ce.abs() > COMPUTE_BAR_PCT || te.abs() > TOTAL_BAR_PCT {
                failures.push(format!(
                    "{} ts {} ctx {} fa {} ub {} kv {} device {d}: compute {} vs llama.cpp {} ({ce:+.2}%), total {te:+.2}%",
                    r.s("model"),
                    r.s("ts"),
                    r.s("n_ctx"),
                    r.s("fa"),
                    r.s("n_ubatch"),
                    r.s("cache_type_k"),
                    mem.compute_bytes,
                    wc[d]
                ));
            }
            n += 1;
        }
    }
    println!(
        "{n} device rows: weights and KV exact, compute worst {worst_compute:.2}%, total worst {worst_total:.2}%"
    );
    println!("compute exact to the byte on {exact} of {n} device rows");
    assert!(n >= 300, "expected the full oracle, got {n} device rows");
    assert!(
        worst_total <= MULTI_TOTAL_ERROR_PCT,
        "worst total {worst_total:.2}% above MULTI_TOTAL_ERROR_PCT"
    );
    assert!(
        failures.is_empty(),
        "{} rows off:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn tensor_split_largest_device_matches_llama_cpp_meta() {
    let mut n = 0;
    for r in rows().iter().filter(|r| r.s("split") == "tensor") {
        let m = model(r);
        let nd = r.u("n_dev") as usize;
        let machines: Vec<Machine> = (0..nd).map(device).collect();
        let ts: Vec<f64> = r.s("ts").split(';').map(|x| x.parse().unwrap()).collect();
        let opts = MultiOptions {
            split: SplitMode::Tensor,
            tensor_split: Some(ts),
            link: link::by_id("loopback").unwrap(),
            link_note: None,
        };
        let p = plan_multi(&m, &machines, &workload(r), &opts).unwrap();
        let max = |f: &dyn Fn(&headroom::estimate::MemoryBreakdown) -> u64| {
            p.devices.iter().map(|d| f(&d.memory)).max().unwrap()
        };
        let (w, k, c) = (
            max(&|m| m.weights_bytes),
            max(&|m| m.kv_cache_bytes),
            max(&|m| m.compute_bytes),
        );
        let (ww, wk, wc) = (r.u("dev_model"), r.u("dev_kv"), r.u("dev_compute"));
        println!(
            "{:16} tensor ts {:7} fa {:3}: weights {:+.2}%, KV {:+.2}%, compute {:+.2}%",
            r.s("model"),
            r.s("ts"),
            r.s("fa"),
            pct(w, ww),
            pct(k, wk),
            pct(c, wc)
        );
        assert_eq!(w, ww, "{}: largest device's weights", r.s("model"));
        assert_eq!(k, wk, "{}: largest device's KV", r.s("model"));
        assert!(pct(c, wc).abs() <= 5.0, "compute {:+.2}%", pct(c, wc));
        n += 1;
    }
    assert!(n >= 4, "tensor rows: {n}");
}

#[test]
fn default_split_is_proportional_to_free_memory() {
    // llama.cpp's default -ts is each device's free memory: two equal devices split like -ts 1,1
    assert_eq!(
        layer_devices(8, &[24105.0, 24105.0]),
        layer_devices(8, &[1.0, 1.0])
    );
}

#[test]
fn max_context_is_where_the_tightest_device_runs_out() {
    // the first oracle model on a small device beside a large one: the largest context fits both, 256 more
    // does not fit one of them
    let r = rows()
        .into_iter()
        .find(|r| r.s("split") == "layer")
        .unwrap();
    let m = model(&r);
    let mut small = device(0);
    small.gpu_budget_bytes = 50 << 20;
    let machines = vec![small, device(1)];
    let opts = MultiOptions {
        split: SplitMode::Layer,
        tensor_split: Some(vec![1.0, 1.0]),
        link: link::by_id("loopback").unwrap(),
        link_note: None,
    };
    let wl = Workload {
        context: 4096,
        ..workload(&r)
    };
    let p = plan_multi(&m, &machines, &wl, &opts).unwrap();
    let c = p.max_context.expect("some context fits");
    assert!(
        c < 32768,
        "the small device should limit the context, got {c}"
    );
    let at = |ctx: u64| {
        let w = Workload {
            context: ctx,
            ..wl.clone()
        };
        plan_multi(&m, &machines, &w, &opts).unwrap()
    };
    assert!(
        at(c)
            .devices
            .iter()
            .all(|d| d.memory.total_bytes <= d.budget_bytes)
    );
    assert!(
        at(c + 256)
            .devices
            .iter()
            .any(|d| d.memory.total_bytes > d.budget_bytes)
    );
    // a device given no share holds nothing and allocates no compute buffer
    let three: Vec<Machine> = (0..3).map(device).collect();
    let o = MultiOptions {
        tensor_split: Some(vec![1.0, 0.0, 1.0]),
        ..opts.clone()
    };
    let p = plan_multi(&m, &three, &wl, &o).unwrap();
    assert_eq!(p.devices[1].n_layers, 0);
    assert_eq!(p.devices[1].memory.total_bytes, 0);
}

/// The shortened per-device simulation (each device's run of repeated layers cut once its allocator's cycle
/// is proven) gives the full simulation's buffers to the byte: a 70B-shaped llama split 2, 3 and 4 ways,
/// flash attention on and off, with and without pipeline copies.
#[test]
fn shortened_device_simulation_equals_the_full_one() {
    use headroom::estimate::graph::{Run, device_buffers_full, device_buffers_shortened};
    let spec = common::llama_70b_graph();
    for (split, copies) in [
        (&[1.0, 1.0][..], 4),
        (&[2.0, 1.0, 1.0][..], 4),
        (&[1.0; 4][..], 1),
    ] {
        let dev_of = layer_devices(80, split);
        for fa in [true, false] {
            let run = Run {
                n_tokens: 512,
                n_kv: 8192,
                n_kv_swa: 0,
                flash_attention: fa,
                rot_k: None,
                rot_v: None,
                n_seqs: 1,
                n_rs: 1,
            };
            let full = device_buffers_full(&spec, &run, &dev_of, split.len(), copies, 128);
            let short = device_buffers_shortened(&spec, &run, &dev_of, split.len(), copies, 128);
            assert_eq!(short, Some(full.clone()), "split {split:?} fa {fa}");
            assert!(full.iter().all(|&b| b > 0));
        }
    }
}

/// The RPC protocol's per-token cost against llama.cpp RPC on this machine's loopback
/// (`tests/data/rpc_loopback_cpu.csv`): a 4- and a 16-layer model, every layer on one `ggml-rpc-server`,
/// against the same file run locally. The two constants are fitted on these two means (so this checks
/// the fit and that the plan applies it); the round trip is measured, not fitted.
#[test]
fn rpc_per_token_cost_matches_llama_cpp_on_loopback() {
    use headroom::estimate::multi::{RPC_GRAPH_S_PER_LAYER, RPC_ROUND_TRIPS_PER_TOKEN};
    let text = std::fs::read_to_string("tests/data/rpc_loopback_cpu.csv").unwrap();
    let mut sums: std::collections::BTreeMap<(u32, String), (f64, f64)> = Default::default();
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let e = sums
            .entry((f[0].parse().unwrap(), f[1].to_string()))
            .or_default();
        e.0 += f[2].parse::<f64>().unwrap();
        e.1 += 1.0;
    }
    let mean = |n: u32, mode: &str| {
        let (s, c) = sums[&(n, mode.to_string())];
        s / c * 1e-6
    };
    let lo = link::by_id("loopback").unwrap();
    let mut fit = vec![];
    for n_layer in [4u32, 16] {
        let measured = mean(n_layer, "rpc") - mean(n_layer, "local");
        let d = common::Dims {
            n_layer,
            n_embd: 512,
            n_head: 8,
            n_head_kv: 4,
            head_dim: 64,
            n_ff: 1536,
            n_vocab: 32000,
            context_length: 4096,
            tied: false,
        };
        let m = common::uniform(&d, TensorType::Q4_0, false);
        let opts = MultiOptions {
            split: SplitMode::Layer,
            tensor_split: None,
            link: lo.clone(),
            link_note: None,
        };
        let wl = Workload {
            context: 512,
            ..Workload::default()
        };
        let p = plan_multi(&m, &[device(0)], &wl, &opts).unwrap();
        let predicted = p.interconnect_s_per_token;
        let e = (predicted - measured) / measured * 100.0;
        println!(
            "{n_layer} layers: RPC adds {:.0} µs a token (llama.cpp), predicted {:.0} µs ({e:+.1}%)",
            measured * 1e6,
            predicted * 1e6
        );
        // the means carry ~±150 µs of run-to-run spread; the fit reproduces them to within that
        assert!(e.abs() < 5.0, "{n_layer} layers: {e:+.1}%");
        fit.push((
            n_layer as f64,
            measured
                - (predicted
                    - (RPC_ROUND_TRIPS_PER_TOKEN * 2.0 * lo.latency_s
                        + n_layer as f64 * RPC_GRAPH_S_PER_LAYER)),
        ));
    }
    // refit from the two points: slope per layer, then round trips from the intercept
    let g = (fit[1].1 - fit[0].1) / (fit[1].0 - fit[0].0);
    let n = (fit[0].1 - g * fit[0].0) / (2.0 * lo.latency_s);
    println!("fit: {:.1} µs per layer, {n:.1} round trips", g * 1e6);
    assert!(
        (g - RPC_GRAPH_S_PER_LAYER).abs() < 0.5e-6,
        "RPC_GRAPH_S_PER_LAYER should be {:.1} µs",
        g * 1e6
    );
    assert!(
        (n - RPC_ROUND_TRIPS_PER_TOKEN).abs() < 0.3,
        "RPC_ROUND_TRIPS_PER_TOKEN should be {n:.1}"
    );
}
