//! Plans over several Macs with exo (`--runtime exo`), against exo itself:
//! - the layer split replays exo's own placement tests (`src/exo/master/tests/test_placement_utils.py`,
//!   exo-explore/exo commit 307f454b961ac0227a6004909af966ffc1feccfa): the same memories and layer counts
//!   give the same layers per node;
//! - each Mac's weights are its layers' real tensor bytes plus the model's non-layer tensors (exo keeps
//!   embeddings and head on every rank), so the devices' weights sum to the model plus (N−1) copies of those;
//! - the interconnect term against the only published exo pipeline measurements found
//!   (`tests/data/exo_pipeline_m3ultra.csv`, exo PR #1781: 4× M3 Ultra, one node vs a 4-node pipeline);
//! - the CLI: the JSON and table shape of a multi-device plan, and one-line usage errors (exit 2).

use headroom::estimate::exo::{
    EXO_TRANSFER_OVERHEAD_S, allocate_layers_proportionally, pipeline_shards, pipeline_transfer_s,
    plan_exo,
};
use headroom::estimate::multi::{MultiOptions, Runner, SplitMode, plan_multi};
use headroom::estimate::plan::plan;
use headroom::estimate::{Runtime, Verdict, Workload};
use headroom::hardware::{Machine, link, profile};
use headroom::model::{ModelDesc, load_with_quant, roles};
use std::process::{Command, Output};

fn macs(spec: &str) -> Vec<Machine> {
    profile::resolve_setups(spec, false).unwrap().0.remove(0)
}

fn mlx_wl(context: u64) -> Workload {
    Workload {
        context,
        runtime: Runtime::Mlx,
        ..Workload::default()
    }
}

fn opts(link_id: &str) -> MultiOptions {
    MultiOptions {
        split: SplitMode::Layer,
        tensor_split: None,
        link: link::by_id(link_id).unwrap(),
        link_note: None,
    }
}

// ---- exo's own placement cases ----

#[test]
fn layer_split_matches_exos_placement_tests() {
    // test_get_shard_assignments: available memory (KB) per node A, B, C and total layers -> layers per node
    let cases: [([u64; 3], u32, [u32; 3]); 4] = [
        ([500, 500, 1000], 12, [3, 3, 6]),
        ([500, 500, 500], 12, [4, 4, 4]),
        ([312, 518, 1024], 12, [2, 3, 7]),
        // one node with ~90% of the memory must not take every layer
        ([900, 50, 50], 20, [18, 1, 1]),
    ];
    for (mem, layers, want) in cases {
        let m: Vec<f64> = mem.iter().map(|&k| (k * 1024) as f64).collect();
        let shards = pipeline_shards(layers, &m).unwrap();
        let got: Vec<u32> = shards.iter().map(|r| r.end - r.start).collect();
        assert_eq!(got, want, "{mem:?} over {layers} layers");
        // contiguous ranges in ring order covering every layer (PipelineShardMetadata start/end)
        assert_eq!(shards[0].start, 0);
        assert_eq!(shards[2].end, layers);
        assert!(shards.windows(2).all(|w| w[0].end == w[1].start));
    }
    // TestAllocateLayersProportionally
    let ok: [(u32, &[f64], &[u32]); 5] = [
        (12, &[0.25, 0.25, 0.25, 0.25], &[3, 3, 3, 3]),
        (12, &[0.25, 0.25, 0.50], &[3, 3, 6]),
        (20, &[0.975, 0.0125, 0.0125], &[18, 1, 1]),
        (10, &[1.0], &[10]),
        (3, &[0.33, 0.33, 0.34], &[1, 1, 1]),
    ];
    for (layers, fr, want) in ok {
        assert_eq!(
            allocate_layers_proportionally(layers, fr).unwrap(),
            want,
            "{fr:?}"
        );
    }
    // the refusals: an empty node list, no layers, fewer layers than nodes
    assert!(allocate_layers_proportionally(10, &[]).is_err());
    assert!(allocate_layers_proportionally(0, &[0.5, 0.5]).is_err());
    let e = allocate_layers_proportionally(2, &[0.33, 0.33, 0.34]).unwrap_err();
    assert!(e.to_string().contains("at least 1 layer"), "{e}");
}

// ---- the plan: per-Mac memory ----

fn non_layer_bytes(model: &ModelDesc) -> u64 {
    let n = model.hparams.n_layer;
    model
        .tensors
        .iter()
        .filter(|t| roles::role(&t.name).layer.is_none_or(|l| l >= n))
        .map(|t| t.n_bytes)
        .sum()
}

#[test]
fn every_mac_holds_its_layers_and_the_shared_tensors() {
    let model = load_with_quant("llama-3.1-8b", Some("mlx-4bit")).unwrap();
    let devs = macs("m4-max-40c:64+m4-pro-20c:48+m4-pro-20c:24");
    let wl = mlx_wl(8192);
    let p = plan_exo(&model, &devs, &wl, &opts("tb5")).unwrap();
    assert_eq!(p.runner, Runner::Exo);
    assert_eq!(p.devices.len(), 3);
    // layers: exo's split by memory (here the GPU budgets), in the order given
    let budgets: Vec<f64> = devs.iter().map(|m| m.gpu_budget_bytes as f64).collect();
    let shards = pipeline_shards(model.hparams.n_layer, &budgets).unwrap();
    for (d, r) in p.devices.iter().zip(&shards) {
        assert_eq!(
            (d.first_layer, d.first_layer + d.n_layers),
            (r.start, r.end)
        );
    }
    // weights: each Mac's layer tensors (by name) plus every non-layer tensor
    let shared = non_layer_bytes(&model);
    assert!(shared > 0);
    for (d, r) in p.devices.iter().zip(&shards) {
        let layers: u64 = model
            .tensors
            .iter()
            .filter(|t| roles::role(&t.name).layer.is_some_and(|l| r.contains(&l)))
            .map(|t| t.n_bytes)
            .sum();
        assert_eq!(d.memory.weights_bytes, layers + shared, "{}", d.name);
    }
    let file: u64 = model.tensors.iter().map(|t| t.n_bytes).sum();
    let on_macs: u64 = p.devices.iter().map(|d| d.memory.weights_bytes).sum();
    assert_eq!(on_macs, file + 2 * shared);
    // KV: the single-Mac MLX cache, cut by layers
    let one = plan(&model, &devs[0], &wl).unwrap();
    let kv: u64 = p.devices.iter().map(|d| d.memory.kv_cache_bytes).sum();
    assert_eq!(kv, one.memory.kv_cache_bytes);
    // activations: the single-Mac MLX peak + the all-gather of 3 ranks × 2048 tokens × 4096 × bf16
    for d in &p.devices {
        assert_eq!(
            d.memory.compute_bytes,
            one.memory.compute_bytes + 3 * 2048 * 4096 * 2
        );
        assert_eq!(
            d.memory.total_bytes,
            d.memory.weights_bytes
                + d.memory.kv_cache_bytes
                + d.memory.compute_bytes
                + d.memory.overhead_bytes
        );
        assert_eq!(
            matches!(d.verdict, Verdict::Fits),
            d.memory.total_bytes <= d.budget_bytes
        );
    }
    // decode: the Macs in turn plus the transfers
    let t: f64 = p.devices.iter().map(|d| d.decode_s).sum::<f64>() + p.interconnect_s_per_token;
    assert!((1.0 / t - p.speed.decode_tokens_per_s).abs() < 1e-9);
    assert_eq!(p.transfers_per_token, 4);
    // the same plan through plan_multi (what the TUI calls) with an MLX workload
    assert_eq!(plan_multi(&model, &devs, &wl, &opts("tb5")).unwrap(), p);
}

#[test]
fn a_mac_too_small_for_its_layers_is_over_budget_and_the_plan_says_so() {
    let model = load_with_quant("llama-3.3-70b", Some("mlx-4bit")).unwrap();
    let devs = macs("m4-pro-20c:24+m4-pro-20c:24");
    let p = plan_exo(&model, &devs, &mlx_wl(4096), &opts("tb4")).unwrap();
    assert!(matches!(p.verdict, Verdict::DoesNotFit));
    assert!(
        p.devices
            .iter()
            .all(|d| d.memory.total_bytes > d.budget_bytes)
    );
    assert!(
        p.advice.iter().any(|a| a.contains("exo itself refuses")),
        "{:?}",
        p.advice
    );
}

// ---- decode against exo's published pipeline rows ----

struct Bench {
    label: String,
    n_embd: u64,
    nodes: usize,
    single: f64,
    pipeline: f64,
}

fn bench_rows() -> Vec<Bench> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/exo_pipeline_m3ultra.csv"
    ))
    .unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Bench {
                label: format!("{} {}", f[col("model")], f[col("quant")]),
                n_embd: f[col("n_embd")].parse().unwrap(),
                nodes: f[col("nodes")].parse().unwrap(),
                single: f[col("single_tps")].parse().unwrap(),
                pipeline: f[col("pipeline_tps")].parse().unwrap(),
            }
        })
        .collect()
}

/// Relative least squares of a constant extra time per token on `rows` (Σ(1/e) / Σ(1/e²)).
fn fit_extra(rows: &[&Bench]) -> f64 {
    let e: Vec<f64> = rows
        .iter()
        .map(|r| 1.0 / r.pipeline - 1.0 / r.single)
        .collect();
    e.iter().map(|x| 1.0 / x).sum::<f64>() / e.iter().map(|x| 1.0 / (x * x)).sum::<f64>()
}

#[test]
fn transfer_overhead_refits_and_predicts_the_published_pipeline_rows() {
    let rows = bench_rows();
    assert_eq!(rows.len(), 3);
    let rdma = link::by_id("tb5-rdma").unwrap();
    let all: Vec<&Bench> = rows.iter().collect();
    let n_tr = 2.0 * (rows[0].nodes as f64 - 1.0);
    let wire = rdma.latency_s + 2.0 * rows[0].n_embd as f64 / rdma.bandwidth_bytes_per_s;
    let sigma = fit_extra(&all) / n_tr - wire;
    println!(
        "σ refit {:.4} ms (constant {:.4} ms)",
        sigma * 1e3,
        EXO_TRANSFER_OVERHEAD_S * 1e3
    );
    assert!((sigma - EXO_TRANSFER_OVERHEAD_S).abs() / EXO_TRANSFER_OVERHEAD_S < 0.005);
    // in-sample, the model's own term; leave-one-out, a fit on the other two rows
    for (i, r) in rows.iter().enumerate() {
        let measured = 1.0 / r.pipeline - 1.0 / r.single;
        let (_, model_s) = pipeline_transfer_s(r.nodes, &rdma, r.n_embd);
        let others: Vec<&Bench> = rows
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, r)| r)
            .collect();
        let loo_s = fit_extra(&others);
        let tps = |extra: f64| 1.0 / (1.0 / r.single + extra);
        let err = |x: f64, t: f64| 100.0 * (x - t) / t;
        println!(
            "{:22} measured +{:.2} ms/token ({} tok/s); model +{:.2} ms ({:+.1}%, {:.1} tok/s {:+.1}%); \
             leave-one-out +{:.2} ms ({:+.1}%, {:.1} tok/s {:+.1}%)",
            r.label,
            measured * 1e3,
            r.pipeline,
            model_s * 1e3,
            err(model_s, measured),
            tps(model_s),
            err(tps(model_s), r.pipeline),
            loo_s * 1e3,
            err(loo_s, measured),
            tps(loo_s),
            err(tps(loo_s), r.pipeline),
        );
        assert!(err(model_s, measured).abs() < 6.0);
        assert!(err(loo_s, measured).abs() < 8.0);
        assert!(err(tps(loo_s), r.pipeline).abs() < 2.0);
    }
}

#[test]
fn the_plan_adds_only_the_interconnect_to_one_macs_decode_on_equal_macs() {
    // Qwen2.5-14B has Llama 4's hidden size (5120) and layer count (48): on 4 equal M3 Ultras the plan's
    // pipeline minus a one-Mac MLX plan is the interconnect term, checked against the published extra time
    let model = load_with_quant("qwen2.5-14b", Some("mlx-4bit")).unwrap();
    assert_eq!((model.hparams.n_embd, model.hparams.n_layer), (5120, 48));
    let devs = macs("m3-ultra-80c:512:x4");
    let wl = mlx_wl(4096);
    let p = plan_exo(&model, &devs, &wl, &opts("tb5-rdma")).unwrap();
    assert!(p.devices.iter().all(|d| d.n_layers == 12));
    let one = plan(&model, &devs[0], &wl).unwrap();
    let extra = 1.0 / p.speed.decode_tokens_per_s - 1.0 / one.speed.decode_tokens_per_s;
    let term = pipeline_transfer_s(4, &link::by_id("tb5-rdma").unwrap(), 5120).1;
    assert!((extra - term).abs() / term < 0.01, "{extra} vs {term}");
    for r in bench_rows() {
        let measured = 1.0 / r.pipeline - 1.0 / r.single;
        assert!(
            ((extra - measured) / measured).abs() < 0.06,
            "{}: {extra} vs {measured}",
            r.label
        );
    }
}

// ---- the CLI ----

fn run(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(args)
        .env("HEADROOM_CONFIG_DIR", dir.path().join("config"))
        .env_remove("HEADROOM_TEST_PANIC")
        .output()
        .unwrap()
}

fn usage_error(args: &[&str], needle: &str) {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(o.stdout.is_empty());
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
}

#[test]
fn cli_plans_a_set_of_macs_with_exo() {
    let args = [
        "plan",
        "llama-3.3-70b",
        "--quant",
        "mlx-4bit",
        "--hardware",
        "m4-max-40c:64+m4-pro-20c:48",
        "--runtime",
        "exo",
    ];
    let o = run(&[&args[..], &["--format", "json"]].concat());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["runner"], "exo");
    assert_eq!(doc["split"], "layer");
    assert_eq!(doc["workload"]["runtime"], "mlx");
    assert!(doc["llama_cpp_flags"].is_null());
    assert_eq!(doc["interconnect"]["id"], "tb4");
    assert_eq!(doc["interconnect"]["transfers_per_token"], 2);
    let devices = doc["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    // 80 layers by the two budgets (48 and 36 GiB): exo's largest remainder gives 46 and 34
    assert_eq!(devices[0]["layers"], 46);
    assert_eq!(devices[1]["first_layer"], 46);
    assert_eq!(devices[1]["layers"], 34);
    assert!(doc["speed"]["decode_error_pct"].as_f64().unwrap() >= 30.0);
    assert_eq!(
        doc["best_quant"]["quant"]
            .as_str()
            .map(|q| q.starts_with("mlx-")),
        Some(true)
    );
    // the table
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("fits: "), "{out}");
    assert!(out.contains("exo pipeline over Thunderbolt 4"), "{out}");
    assert!(
        out.contains("0-45 + out") && out.contains("46-79 + out"),
        "{out}"
    );
    assert!(!out.contains("host CPU"), "exo has no host: {out}");
    assert!(out.contains("decode over exo is a model"), "{out}");
    // --runtime mlx over several Macs is the same plan, with a note
    let o = run(&[&args[..6], &["--runtime", "mlx", "--format", "json"]].concat());
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--runtime exo"));
    let doc2: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc2["devices"], doc["devices"]);
}

#[test]
fn cli_refuses_a_non_mac_and_llama_cpp_options_under_exo() {
    usage_error(
        &[
            "plan",
            "llama-3.1-8b",
            "--hardware",
            "m4-max-40c:64+rtx-4090",
            "--runtime",
            "exo",
        ],
        "device 1 (NVIDIA GeForce RTX 4090) is not an Apple Silicon Mac",
    );
    usage_error(
        &[
            "plan",
            "llama-3.1-8b",
            "--hardware",
            "m4-max-40c:64:x2",
            "--runtime",
            "exo",
            "--split",
            "tensor",
        ],
        "exo plans use exo's pipeline sharding",
    );
    usage_error(
        &[
            "plan",
            "llama-3.2-1b",
            "--hardware",
            "m4-8c:x20",
            "--runtime",
            "exo",
        ],
        "at least 1 layer per Mac",
    );
}

// ---- the TUI's device-set view ----

#[test]
fn tui_device_set_view_shows_the_exo_plan_under_the_mlx_runtime() {
    use headroom::tui::{self, Action, update, view};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let hw = tui::sources::hardware_from(profile::bundled().unwrap());
    let set = "m4-max-40c:64+m4-pro-20c:48";
    let mut a = tui::build_app_with(&["llama-3.3-70b".to_string()], Some(set), hw).unwrap();
    assert!(a.select_quant("mlx-4bit"));
    update(&mut a, Action::Resize(120, 40));
    update(&mut a, Action::ToggleRuntime);
    assert_eq!(a.workload.runtime, Runtime::Mlx);
    let shown = a.multi_plan().unwrap().as_ref().unwrap().clone();
    assert_eq!(shown.runner, Runner::Exo);
    let model = load_with_quant("llama-3.3-70b", Some("mlx-4bit")).unwrap();
    let devs = macs(set);
    let (l, note) = headroom::estimate::exo::default_link(&devs);
    let direct = plan_multi(
        &model,
        &devs,
        &a.workload,
        &MultiOptions {
            split: SplitMode::Layer,
            tensor_split: None,
            link: l,
            link_note: Some(note),
        },
    )
    .unwrap();
    assert_eq!(*shown, direct);
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    t.draw(|f| view(&a, f)).unwrap();
    let screen: String = t
        .backend()
        .buffer()
        .content
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(screen.contains("exo pipeline"), "{screen}");
    for d in &direct.devices {
        assert!(
            screen.contains(&format!("{:.2}", d.decode_s * 1e3)),
            "{screen}"
        );
    }
}

proptest::proptest! {
    /// Any memories and layer count exo accepts: every layer placed once, every Mac at least one layer, in
    /// contiguous ranges in ring order (the invariants exo's allocation guarantees).
    #[test]
    fn every_layer_placed_once_and_every_mac_holds_one(
        mem in proptest::collection::vec(1u64..1_000_000, 1..9),
        extra in 0u32..200,
    ) {
        let layers = mem.len() as u32 + extra;
        let m: Vec<f64> = mem.iter().map(|&x| x as f64).collect();
        let shards = pipeline_shards(layers, &m).unwrap();
        proptest::prop_assert_eq!(shards.len(), mem.len());
        proptest::prop_assert_eq!(shards[0].start, 0);
        proptest::prop_assert_eq!(shards.last().unwrap().end, layers);
        for w in shards.windows(2) {
            proptest::prop_assert_eq!(w[0].end, w[1].start);
        }
        proptest::prop_assert!(shards.iter().all(|r| r.end > r.start));
    }
}
