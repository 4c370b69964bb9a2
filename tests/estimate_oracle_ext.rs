//! The estimate against llama.cpp's own allocations, extended oracle (`tests/data/oracle_results_ext.csv`,
//! 260 rows, llama.cpp 0c1e570, CPU backend): MoE (qwen3moe 128 experts, Mixtral-style llama MoE), MLA
//! (DeepSeek-V3 and V2-Lite layouts, and V3 converted before 2025-04 without MLA), recurrent (Mamba-1,
//! Mamba-2), hybrids (Granite-4.0-H: Mamba-2 + attention; LFM2: short convolutions + attention; Qwen3-Next:
//! gated delta net + gated attention, MoE; Jamba: Mamba-1 + attention, MoE),
//! gpt-oss (sinks + alternating sliding window), over n_ctx 512..131072, n_ubatch 128..2048, flash
//! attention on/off, KV f16/q8_0/q4_0 and 1..4 parallel sequences.
//!
//! No model file is needed: each model's GGUF header (metadata without the tokenizer arrays, and every
//! tensor's name, shape and type) is in `tests/data/oracle_ext_models.json`; the test rebuilds the header
//! with headroom's own GGUF writer and reads it back with headroom's reader, so the hyperparameters come
//! from the same code path as a real file.
//!
//! The unified-KV rows (`tests/data/oracle_results_kvu.csv`, llama.cpp `kv_unified = true`, llama-server's
//! default when `-np` is not given) cover dense llama, qwen3, gemma3 SWA (headers in
//! `tests/data/oracle_kvu_models.json`) and gpt-oss, Mixtral/Qwen3 MoE, DeepSeek MLA, Granite-4.0-H,
//! Qwen3-Next, LFM2, Mamba-1/2 of the zoo, at `-np` 1..8, and are held to the same bars.
//!
//! Bars: weights (sum of tensor bytes) exact against llama.cpp's model buffer; KV (plus recurrent state)
//! exact to the byte; compute buffer within 5%; output buffer within the log's 0.01 MiB rounding; total
//! within 2%, and the worst total error is at most `ORACLE_TOTAL_ERROR_PCT`. The compute buffer is the
//! model-level estimate (`model_compute_buffer_bytes`): the allocator simulation for the architectures whose
//! graph headroom builds (llama, qwen3, qwen3moe, gemma3, jamba, legacy DeepSeek; exact on all their rows),
//! the live-set formulas for the others.

mod common;

use common::csv::{Row, read_csv};
use headroom::estimate::compute::{
    model_compute_buffer_bytes as compute_buffer_bytes, output_buffer_bytes,
};
use headroom::estimate::kv::kv_bytes;
use headroom::estimate::plan::ORACLE_TOTAL_ERROR_PCT;
use headroom::estimate::weights::weight_stats;
use headroom::estimate::{Runtime, Workload};
use headroom::model::gguf::{GgufWriter, Value, ValueType, model_from_headers, read_header};
use headroom::model::{ModelDesc, TensorType};
use std::collections::BTreeMap;

/// Rows in `oracle_results_kvu.csv` (12 models; the DeepSeek MLA row with K q8_0 / V f16 is absent:
/// llama.cpp refuses different K and V types for MLA).
const KVU_ROWS: usize = 195;

/// Rows held to the compute bar (≤ 5%) but not the total bar: the total is off by more than 2% for a
/// reason that is not the unified cache. None since the allocator simulation: Qwen3-0.6B at `-ub 2048`,
/// n_ctx 4096, flash attention on (its attention output `n_head·head_dim` = 2·n_embd wide leaves the last
/// layer's `ffn_up` no low hole, so the residual chain and the logits sit `6·n_embd + 6` floats per token
/// above the formula's floor, total -2.08%) is now exact (`src/estimate/graph.rs` + `alloc.rs`).
const TOTAL_MISSES: &[&str] = &[];

impl Row {
    fn unified(&self) -> bool {
        self.f.get("kv_unified").map(|s| s.as_str()) == Some("on")
    }
    fn label(&self) -> String {
        format!(
            "{} ctx {} ub {} np {}{} {}/{} fa {}",
            self.s("model_name"),
            self.s("n_ctx"),
            self.s("n_ubatch"),
            self.s("n_seq_max"),
            if self.unified() { " kvu" } else { "" },
            self.s("cache_type_k"),
            self.s("cache_type_v"),
            self.s("flash_attn")
        )
    }
}

fn scalar(ty: &str, v: &serde_json::Value) -> Value {
    match ty {
        "uint32" => Value::U32(v.as_u64().unwrap() as u32),
        "int32" => Value::I32(v.as_i64().unwrap() as i32),
        "uint64" => Value::U64(v.as_u64().unwrap()),
        "float32" => Value::F32(v.as_f64().unwrap() as f32),
        "bool" => Value::Bool(v.as_bool().unwrap()),
        "string" => Value::str(v.as_str().unwrap()),
        other => panic!("value type {other}"),
    }
}

/// Rebuild each model's GGUF header with headroom's writer and read it back.
fn models() -> BTreeMap<String, ModelDesc> {
    let mut out = BTreeMap::new();
    for file in ["oracle_ext_models.json", "oracle_kvu_models.json"] {
        let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        models_from(&j, &mut out);
    }
    out
}

fn models_from(j: &serde_json::Value, out: &mut BTreeMap<String, ModelDesc>) {
    for (name, m) in j.as_object().unwrap() {
        let mut w = GgufWriter::new();
        for kv in m["kv"].as_array().unwrap() {
            let (key, ty, v) = (kv[0].as_str().unwrap(), kv[1].as_str().unwrap(), &kv[2]);
            let value = match ty.strip_prefix("arr_") {
                Some(elem) => {
                    let items: Vec<Value> = v
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| scalar(elem, x))
                        .collect();
                    let et = items
                        .first()
                        .map(|x| x.value_type())
                        .unwrap_or(ValueType::U32);
                    Value::array(et, items)
                }
                None => scalar(ty, v),
            };
            w.kv(key, value);
        }
        for t in m["tensors"].as_array().unwrap() {
            let shape: Vec<u64> = t[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            let ty = TensorType::from_ggml_id(t[2].as_u64().unwrap() as u32).unwrap();
            w.tensor_zeroed(t[0].as_str().unwrap(), &shape, ty);
        }
        let h = read_header(&w.header_bytes()[..], name).unwrap();
        let model = model_from_headers(name, name, &[h], vec![]).unwrap();
        assert!(out.insert(name.clone(), model).is_none(), "{name} twice");
    }
}

fn read_rows(file: &str) -> Vec<Row> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    read_csv(&std::fs::read_to_string(path).unwrap())
}

/// The rows held to the bars: the extended oracle and the unified-KV rows.
fn rows() -> Vec<Row> {
    let mut rows = read_rows("oracle_results_ext.csv");
    assert_eq!(rows.len(), 260, "rows in oracle_results_ext.csv");
    assert!(rows.iter().all(|r| !r.unified()));
    let kvu = read_rows("oracle_results_kvu.csv");
    assert_eq!(kvu.len(), KVU_ROWS, "rows in oracle_results_kvu.csv");
    assert!(kvu.iter().all(|r| r.unified()), "kv_unified column");
    rows.extend(kvu);
    rows
}

/// Rows of models whose compute buffer headroom does not capture (the file's comments say why): held to
/// the exact KV, weights and output bars only. Empty since the allocator simulation: Jamba's and the legacy
/// DeepSeek's rows (the two known misses of the live-set formulas) are exact and in `oracle_results_ext.csv`;
/// the file stays, written by `run_oracle_ext.py` for models marked `known_miss`.
fn miss_rows() -> Vec<Row> {
    let rows = read_rows("oracle_results_ext_misses.csv");
    assert_eq!(rows.len(), 0, "rows in oracle_results_ext_misses.csv");
    rows
}

fn workload(r: &Row) -> Workload {
    let kv = |s: &str| TensorType::from_name(s).unwrap_or_else(|| panic!("kv type {s}"));
    Workload {
        context: r.u("n_ctx"),
        batch: 1,
        ubatch: r.u("n_ubatch") as u32,
        n_batch: r.u("n_batch") as u32,
        cache_type_k: kv(r.s("cache_type_k")),
        cache_type_v: kv(r.s("cache_type_v")),
        flash_attention: r.s("flash_attn") == "on",
        parallel: r.u("n_seq_max") as u32,
        kv_unified: r.unified(),
        runtime: Runtime::LlamaCpp,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[test]
fn every_architecture_has_rows() {
    let mut rows = rows();
    rows.extend(miss_rows());
    let models = models();
    for name in models.keys() {
        assert!(
            rows.iter().filter(|r| r.s("model_name") == name).count() >= 9,
            "{name}"
        );
    }
    for r in &rows {
        assert!(models.contains_key(r.s("model_name")), "{}", r.label());
    }
}

#[test]
fn weights_exact_on_every_model() {
    let mut rows = rows();
    rows.extend(miss_rows());
    for (name, m) in models() {
        let w = weight_stats(&m).resident_bytes;
        for r in rows.iter().filter(|r| r.s("model_name") == name) {
            let reported = r.u("model_buffer_bytes_reported") - r.u("model_repack_bytes");
            assert_eq!(w, reported, "{}", r.label());
        }
    }
}

#[test]
fn kv_exact_on_every_row() {
    let models = models();
    let mut bad = vec![];
    for r in rows().into_iter().chain(miss_rows()) {
        let m = &models[r.s("model_name")];
        let got = kv_bytes(&m.hparams, &workload(&r)).unwrap();
        let rep = r.u("kv_bytes_reported");
        if got != rep {
            bad.push(format!("{}: predicted {got} reported {rep}", r.label()));
        }
    }
    assert!(
        bad.is_empty(),
        "{} rows off:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn output_buffer_on_every_row() {
    let models = models();
    for r in rows().into_iter().chain(miss_rows()) {
        let m = &models[r.s("model_name")];
        let got = output_buffer_bytes(&m.hparams, &workload(&r)) as f64;
        let reported = r.u("output_buffer_bytes_reported") as f64; // from a %.2f MiB log line
        assert!(
            (got - reported).abs() <= 0.005 * 1048576.0,
            "{}: {got} vs {reported}",
            r.label()
        );
    }
}

#[test]
fn compute_within_5pct_and_total_within_2pct_on_every_row() {
    let models = models();
    let mut by_family: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut bad = vec![];
    let mut exact = 0;
    let mut total_misses = 0;
    let rows = rows();
    for r in &rows {
        let m = &models[r.s("model_name")];
        let hp = &m.hparams;
        let wl = workload(r);
        let comp = compute_buffer_bytes(m, &wl).unwrap();
        let rep = r.u("compute_buffer_bytes_reported");
        let err = (comp as f64 - rep as f64) / rep as f64 * 100.0;
        exact += (comp == rep) as u32;

        let weights = weight_stats(m).resident_bytes;
        let total = weights + kv_bytes(hp, &wl).unwrap() + comp + output_buffer_bytes(hp, &wl);
        let rep_total = r.u("model_buffer_bytes_reported") - r.u("model_repack_bytes")
            + r.u("kv_bytes_reported")
            + rep
            + r.u("output_buffer_bytes_reported");
        let terr = (total as f64 - rep_total as f64) / rep_total as f64 * 100.0;
        println!(
            "{:58}: compute {:>11} reported {:>11} ({:+6.2}%)  total {:+6.3}%",
            r.label(),
            comp,
            rep,
            err,
            terr
        );
        if TOTAL_MISSES.contains(&r.label().as_str()) {
            // held to the compute bar only; fails if it no longer misses the total bar
            assert!(err.abs() <= 5.0, "{}: compute {err:+.2}%", r.label());
            assert!(
                terr.abs() > 2.0,
                "{}: now within the total bar, drop it from TOTAL_MISSES",
                r.label()
            );
            total_misses += 1;
            continue;
        }
        if err.abs() > 5.0 || terr.abs() > 2.0 {
            bad.push(format!(
                "{}: compute {err:+.2}%, total {terr:+.2}%",
                r.label()
            ));
        }
        let e = by_family.entry(r.s("arch").to_string()).or_default();
        e.0.push(err.abs());
        e.1.push(terr.abs());
    }
    let mut worst_total: f64 = 0.0;
    for (fam, (c, t)) in &by_family {
        let cw = c.iter().cloned().fold(0.0, f64::max);
        let tw = t.iter().cloned().fold(0.0, f64::max);
        worst_total = worst_total.max(tw);
        println!(
            "{fam:14} {:3} rows: compute median {:.3}% worst {:.2}%; total median {:.3}% worst {:.2}%",
            c.len(),
            median(c.clone()),
            cw,
            median(t.clone()),
            tw
        );
    }
    println!("compute exact on {exact}/{} rows", rows.len());
    assert_eq!(total_misses, TOTAL_MISSES.len(), "TOTAL_MISSES rows found");
    assert!(
        bad.is_empty(),
        "{} rows off:\n{}",
        bad.len(),
        bad.join("\n")
    );
    // the plan's memory_error_pct is the worst total error over both oracles; this set's worst is the
    // larger one (the 80-row oracle's is 0.91%, checked to stay below the constant by estimate_oracle.rs)
    assert!(
        (ORACLE_TOTAL_ERROR_PCT - (worst_total * 100.0).round() / 100.0).abs() < 1e-9,
        "update ORACLE_TOTAL_ERROR_PCT to {worst_total:.2}"
    );
}

/// The unified rows are not the per-stream cache under another name. With `-np` > 1 the per-stream
/// model (kv_unified off) mispredicts them: the sliding-window layers hold `np` windows in one stream
/// (KV off on nearly every gemma3 / gpt-oss row), and without flash attention the KQ scores span all
/// `pad256(n_ctx)` cells instead of `n_ctx / np` per stream (compute off by far more than 5%). Full
/// attention KV alone often coincides (`np · pad256(n_ctx/np) = pad256(n_ctx)` when `n_ctx/np` is a
/// multiple of 256), and recurrent-only models are the same either way.
#[test]
fn unified_rows_need_the_unified_model() {
    let models = models();
    let (mut wrong, mut attn_rows, mut swa_rows, mut swa_kv_off) = (0, 0, 0, 0);
    for r in rows()
        .into_iter()
        .filter(|r| r.unified() && r.u("n_seq_max") > 1)
    {
        let m = &models[r.s("model_name")];
        let hp = &m.hparams;
        let streams = Workload {
            kv_unified: false,
            ..workload(&r)
        };
        let kv = kv_bytes(hp, &streams).unwrap();
        let comp = compute_buffer_bytes(m, &streams).unwrap() as f64;
        let rep = r.u("compute_buffer_bytes_reported") as f64;
        if !hp.n_head_kv.iter().any(|&h| h > 0) {
            assert_eq!(kv, r.u("kv_bytes_reported"), "{}", r.label());
            continue;
        }
        attn_rows += 1;
        let kv_off = kv != r.u("kv_bytes_reported");
        if hp.swa_layers.iter().any(|&s| s) {
            swa_rows += 1;
            swa_kv_off += kv_off as u32;
        }
        wrong += (kv_off || ((comp - rep) / rep).abs() > 0.05) as u32;
        // llama.cpp's own count of cells: one stream of pad256(n_ctx) for the full layers
        let cells = r.s("kv_cells").split('+').next().unwrap();
        assert_eq!(
            cells.parse::<u64>().unwrap(),
            r.u("n_ctx").div_ceil(256) * 256,
            "{}",
            r.label()
        );
    }
    println!(
        "per-stream model wrong on {wrong} of {attn_rows} unified rows with attention; \
         its sliding-window KV wrong on {swa_kv_off} of {swa_rows}"
    );
    assert!(
        swa_kv_off * 10 >= swa_rows * 8,
        "{swa_kv_off} of {swa_rows}"
    );
    assert!(attn_rows >= 100, "{attn_rows}");
    assert!(wrong * 3 >= attn_rows, "{wrong} of {attn_rows}");
}

/// The known misses stay misses: every model in the misses file has at least one row outside the bars (if
/// the estimate improves so that all its rows are within them, this fails and the rows belong in
/// `oracle_results_ext.csv`: regenerate without `known_miss`).
#[test]
fn known_misses_are_printed_and_still_missing() {
    let models = models();
    let mut outside: BTreeMap<String, u32> = BTreeMap::new();
    for r in miss_rows() {
        let m = &models[r.s("model_name")];
        let wl = workload(&r);
        let comp = compute_buffer_bytes(m, &wl).unwrap();
        let rep = r.u("compute_buffer_bytes_reported");
        let err = (comp as f64 - rep as f64) / rep as f64 * 100.0;
        let total = weight_stats(m).resident_bytes
            + kv_bytes(&m.hparams, &wl).unwrap()
            + comp
            + output_buffer_bytes(&m.hparams, &wl);
        let rep_total = r.u("model_buffer_bytes_reported") - r.u("model_repack_bytes")
            + r.u("kv_bytes_reported")
            + rep
            + r.u("output_buffer_bytes_reported");
        let terr = (total as f64 - rep_total as f64) / rep_total as f64 * 100.0;
        println!(
            "{:58}: compute {:>11} reported {:>11} ({:+6.2}%)  total {:+6.3}%",
            r.label(),
            comp,
            rep,
            err,
            terr
        );
        *outside.entry(r.s("model_name").to_string()).or_default() +=
            (err.abs() > 5.0 || terr.abs() > 2.0) as u32;
        // never wildly off: the miss is one misplaced block of activations, not a missing term
        assert!(err.abs() < 10.0, "{}: compute {err:+.2}%", r.label());
    }
    for (model, n) in &outside {
        assert!(
            *n > 0,
            "every known-miss row of {model} is now within the bars: move them to oracle_results_ext.csv"
        );
    }
}

/// The allocator simulation on the 80-row oracle (`tests/data/oracle_results.csv`: dense llama, qwen3,
/// gemma3 with sliding windows, llama MoE; n_ctx 512–32768, FA on/off, f16/q8_0/q4_0 caches), which
/// `tests/estimate_oracle.rs` holds to the bars with the hyperparameter-only formulas: every row's model is
/// rebuilt with headroom's own tensor layout (so the graph builder sees the Q/K norms, experts and tied
/// embeddings), and the simulated compute buffer must be within the 5% bar, exact on nearly every row.
#[test]
fn simulation_on_the_80_row_oracle() {
    use headroom::estimate::compute::model_compute_buffer_bytes;
    use headroom::model::{HyperParams, ModelFormat, arch};
    let rows = read_rows("oracle_results.csv");
    assert_eq!(rows.len(), 80);
    let (mut exact, mut worst) = (0, 0.0f64);
    for r in &rows {
        let l = r.u("n_layer") as usize;
        let swa = r.u("swa");
        let hp = HyperParams {
            n_layer: l as u32,
            n_embd: r.u("n_embd"),
            n_head: vec![r.u("n_head") as u32; l],
            n_head_kv: vec![r.u("n_head_kv") as u32; l],
            head_dim_k: r.u("head_dim"),
            head_dim_v: r.u("head_dim"),
            n_ff: vec![if r.u("n_expert") > 0 { 0 } else { r.u("n_ff") }; l],
            context_length: 131072,
            vocab_size: r.u("n_vocab"),
            n_expert: r.u("n_expert") as u32,
            n_expert_used: r.u("n_expert_used") as u32,
            n_ff_expert: if r.u("n_expert") > 0 { r.u("n_ff") } else { 0 },
            sliding_window: (swa > 0 && r.s("swa_full") != "1").then_some(swa),
            swa_layers: (0..l).map(|i| swa > 0 && (i + 1) % 6 != 0).collect(),
            ..HyperParams::default()
        };
        // the graph does not depend on the weight type (Q4_K_M: its bulk type)
        let ty = TensorType::from_name(r.s("weight_type").trim_end_matches("_M")).unwrap();
        let mut tensors = arch::inventory(r.s("arch"), &hp, ty).unwrap();
        if r.u("tied_embd") == 1 {
            tensors.retain(|t| t.name != "output.weight");
        }
        let m = ModelDesc {
            format: ModelFormat::Spec,
            source: r.s("model_name").into(),
            name: r.s("model_name").into(),
            architecture: r.s("arch").into(),
            hparams: hp,
            tensors,
            file_type: None,
            mlx_quant: None,
            files: vec![],
            warnings: vec![],
        };
        let wl = Workload {
            kv_unified: false,
            ..workload(r)
        };
        let got = model_compute_buffer_bytes(&m, &wl).unwrap();
        let rep = r.u("compute_buffer_bytes_reported");
        let err = (got as f64 - rep as f64) / rep as f64 * 100.0;
        println!(
            "{:24} {:>6} ctx {:>5} ub {:>4} {}/{} fa {:3}: simulated {:>11} reported {:>11} ({err:+.2}%)",
            r.s("model_name"),
            r.s("arch"),
            r.s("n_ctx"),
            r.s("n_ubatch"),
            r.s("cache_type_k"),
            r.s("cache_type_v"),
            r.s("flash_attn"),
            got,
            rep
        );
        exact += (got == rep) as u32;
        worst = worst.max(err.abs());
        assert!(err.abs() <= 5.0, "{}: {err:+.2}%", r.s("model_name"));
    }
    println!("simulated compute exact on {exact}/80 rows, worst {worst:.2}%");
    assert!(exact >= 76, "exact on {exact} of 80");
}

/// The shortened simulation (repeated layers cut once the allocator's cycle is proven,
/// `graph::compute_buffer`) gives the full simulation's buffer, to the byte, on every oracle model the
/// graph is built for, over micro-batch, context, flash attention, cache rotation and sequences; and it does
/// apply (the cycle shows) on the deep models, where it saves the most.
#[test]
fn shortened_simulation_equals_the_full_one() {
    use headroom::estimate::graph::{GraphSpec, Run, compute_buffer_full, shortened_buffer};
    let (mut checked, mut shortened) = (0, 0);
    for (name, m) in models() {
        let Some(spec) = GraphSpec::from_model(&m) else {
            continue;
        };
        for (t, n_kv, fa, rot, seqs) in [
            (512, 4096, true, None, 1),
            (512, 4096, false, None, 1),
            (128, 512, true, Some(64), 1),
            (2048, 32768, true, None, 1),
            (512, 32768, false, Some(64), 1),
            (512, 1024, true, None, 4),
        ] {
            let run = Run {
                n_tokens: t,
                n_kv,
                n_kv_swa: n_kv.min(1024),
                flash_attention: fa,
                rot_k: rot,
                rot_v: rot,
                n_seqs: seqs,
                n_rs: seqs,
            };
            let full = compute_buffer_full(&spec, &run, 32);
            if let Some(short) = shortened_buffer(&spec, &run, 32) {
                assert_eq!(short, full, "{name} t {t} n_kv {n_kv} fa {fa} rot {rot:?}");
                shortened += 1;
            }
            checked += 1;
        }
        // Jamba's block is 8 layers (attention 1 in 8): 4 copies in 32 layers are too few to cut
        if spec.layers.len() >= 28 && name != "jamba-q8_0" {
            let run = Run {
                n_tokens: 512,
                n_kv: 4096,
                n_kv_swa: 1024,
                flash_attention: true,
                rot_k: None,
                rot_v: None,
                n_seqs: 1,
                n_rs: 1,
            };
            assert!(
                shortened_buffer(&spec, &run, 32).is_some(),
                "{name}: no cycle found"
            );
        }
    }
    // a 70B-shaped llama (80 identical layers): the case the shortening is for
    let spec = common::llama_70b_graph();
    for fa in [true, false] {
        let run = Run {
            n_tokens: 512,
            n_kv: 32768,
            n_kv_swa: 0,
            flash_attention: fa,
            rot_k: None,
            rot_v: None,
            n_seqs: 1,
            n_rs: 1,
        };
        assert_eq!(
            shortened_buffer(&spec, &run, 32),
            Some(compute_buffer_full(&spec, &run, 32)),
            "70B fa {fa}"
        );
    }
    println!("shortened on {shortened} of {checked} configurations");
    // the shallow zoo models (4–8 layers) are simulated whole; qwen3-0.6b (28 layers) and gemma3 (18, a block
    // of 6) shorten on every configuration
    assert!(checked >= 40 && shortened >= 12, "{shortened} of {checked}");
}
