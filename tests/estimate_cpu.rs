//! headroom's plan for a CPU-only machine (`device: cpu`) against llama.cpp's CPU backend on the same
//! machine: this project's llama-bench runs on the 2-vCPU KVM guest described by the bundled profile
//! `kvm-epyc-zen5-2c` (`tests/data/cpu_llamacpp_zen5_2c.csv`: synthetic Llama-3.2-1B and -3B shapes at
//! F16, Q8_0, Q4_0 and Q4_K_M; tg64 and pp512, 2 threads; machine, commit, commands and load in its
//! header). The file sizes must match headroom's inventory to the byte; the CPU decode and prefill
//! constants of `src/estimate/speed.rs` are refitted here and must equal the committed ones; the
//! prediction error on every row must stay within the error the constants claim.

use headroom::estimate::plan::plan;
use headroom::estimate::speed::{
    self, CPU_DECODE_BW_EFFICIENCY, CPU_LAYER_OVERHEAD_S, DecodeFit, DecodeObs, PrefillObs,
    fit_decode, fit_prefill, fit_prefill_mix,
};
use headroom::estimate::weights::PrefillMix;
use headroom::estimate::{Runtime, Workload};
use headroom::hardware::profile::resolve;
use headroom::hardware::{Device, Machine};
use headroom::model::quantize::{parse_target, requantize};
use headroom::model::{ModelDesc, TensorType, spec};
use std::collections::HashMap;

const PROFILE: &str = "kvm-epyc-zen5-2c";

/// The synthetic file's inventory, without `rope_freqs.weight` (make_gguf.py does not write it):
/// Q4_K_M as llama-quantize mixes it (headroom's what-if quantization), the other types as
/// make_gguf.py `--type` writes them: every matrix (token embedding included) of that type, norms F32.
fn model(id: &str, quant: &str) -> ModelDesc {
    let base = spec::load(id).unwrap();
    let mut m = if quant == "Q4_K_M" {
        requantize(&base, &parse_target(quant).unwrap()).unwrap()
    } else {
        let ty = TensorType::from_name(quant).unwrap();
        let mut m = base.clone();
        for t in &mut m.tensors {
            if t.shape.len() >= 2 {
                t.ty = ty;
                t.n_bytes = t.n_elements / ty.block_elems() * ty.block_bytes();
            }
        }
        m
    };
    m.tensors.retain(|t| t.name != "rope_freqs.weight");
    m
}

fn rows() -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/cpu_llamacpp_zen5_2c.csv"
    ))
    .unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

fn workload(kind: &str) -> Workload {
    Workload {
        // tg64 from an empty cache: plan at 64 (KV read ≈ the mean depth, kilobytes); pp512: one ubatch
        context: if kind == "pp512" { 512 } else { 64 },
        ubatch: 512,
        runtime: Runtime::LlamaCpp,
        ..Workload::default()
    }
}

fn machine() -> Machine {
    let m = resolve(PROFILE).unwrap().remove(0);
    assert_eq!(m.device, Device::Cpu);
    m
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    }
}

fn worst(v: &[f64]) -> f64 {
    v.iter().cloned().fold(0.0, f64::max)
}

/// (model, quant, decode observation) of every tg row, bytes per token as the plan counts them.
fn decode_obs(m: &Machine) -> Vec<(String, String, DecodeObs)> {
    rows()
        .iter()
        .filter(|r| r["kind"].starts_with("tg"))
        .map(|r| {
            let md = model(&r["model"], &r["quant"]);
            let p = plan(&md, m, &workload("tg")).unwrap();
            (
                r["model"].clone(),
                r["quant"].clone(),
                DecodeObs {
                    bytes_per_token: p.speed.bytes_per_token as f64,
                    bandwidth_bytes_per_s: m.bandwidth_bytes_per_s,
                    n_layer: md.hparams.n_layer,
                    tokens_per_s: r["value"].parse().unwrap(),
                },
            )
        })
        .collect()
}

fn err_pct(pred: f64, want: f64) -> f64 {
    (pred - want) / want * 100.0
}

#[test]
fn file_sizes_match_the_inventory() {
    for r in rows() {
        let m = model(&r["model"], &r["quant"]);
        assert_eq!(
            m.weights_bytes(),
            r["model_size_bytes"].parse::<u64>().unwrap(),
            "{} {}: llama-bench's model size vs headroom's tensors",
            r["model"],
            r["quant"]
        );
    }
}

#[test]
fn cpu_decode_constants_are_the_fit_and_errors_hold() {
    let m = machine();
    let obs = decode_obs(&m);
    let all: Vec<DecodeObs> = obs.iter().map(|o| o.2).collect();
    let fit = fit_decode(&all).expect("fit");
    println!(
        "fit: η = {:.4}, τ = {:.2} µs/layer",
        fit.efficiency,
        fit.layer_overhead_s * 1e6
    );
    assert!(
        (fit.efficiency - CPU_DECODE_BW_EFFICIENCY).abs() < 5e-4,
        "CPU_DECODE_BW_EFFICIENCY should be {:.4}",
        fit.efficiency
    );
    assert!(
        (fit.layer_overhead_s - CPU_LAYER_OVERHEAD_S).abs() < 0.05e-6,
        "CPU_LAYER_OVERHEAD_S should be {:.2e}",
        fit.layer_overhead_s
    );

    // in-sample, through the full plan
    let mut ins = vec![];
    for (model_id, q, o) in &obs {
        let md = model(model_id, q);
        let p = plan(&md, &m, &workload("tg")).unwrap();
        let e = err_pct(p.speed.decode_tokens_per_s, o.tokens_per_s);
        println!(
            "tg {model_id} {q}: predicted {:.2} t/s, llama-bench {:.2} ({e:+.1}%), {:.3} GB/token",
            p.speed.decode_tokens_per_s,
            o.tokens_per_s,
            o.bytes_per_token / 1e9
        );
        ins.push(e.abs());
    }
    // leave one model shape out: fit on the other shape's rows, predict this one's
    let mut lomo = vec![];
    for held in ["llama-3.2-1b", "llama-3.2-3b"] {
        let train: Vec<DecodeObs> = obs.iter().filter(|o| o.0 != held).map(|o| o.2).collect();
        let f: DecodeFit = fit_decode(&train).expect("fit without one model");
        for o in obs.iter().filter(|o| o.0 == held) {
            lomo.push(err_pct(f.predict(&o.2), o.2.tokens_per_s).abs());
        }
    }
    // leave one file out
    let mut lofo = vec![];
    for i in 0..obs.len() {
        let train: Vec<DecodeObs> = (0..obs.len())
            .filter(|&j| j != i)
            .map(|j| obs[j].2)
            .collect();
        let f = fit_decode(&train).expect("fit without one file");
        lofo.push(err_pct(f.predict(&obs[i].2), obs[i].2.tokens_per_s).abs());
    }
    println!(
        "CPU decode |error|: in-sample median {:.1}% worst {:.1}%; leave-one-model-out median {:.1}% worst {:.1}%; leave-one-file-out median {:.1}% worst {:.1}%",
        median(&ins),
        worst(&ins),
        median(&lomo),
        worst(&lomo),
        median(&lofo),
        worst(&lofo)
    );
    assert!(
        (median(&lomo) - speed::DECODE_ERROR_PCT_CPU).abs() < 0.05,
        "DECODE_ERROR_PCT_CPU should be {:.1}",
        median(&lomo)
    );
    assert!(
        worst(&ins) <= speed::DECODE_WORST_PCT_CPU,
        "a CPU decode row is off by {:.1}% in-sample",
        worst(&ins)
    );
    assert!(
        worst(&lomo) <= speed::DECODE_WORST_PCT_CPU,
        "a CPU decode row is off by {:.1}% leaving its model out",
        worst(&lomo)
    );
}

#[test]
fn cpu_prefill_constants_are_the_fit_and_errors_hold() {
    let m = machine();
    let mut float = vec![];
    let mut quant: Vec<(String, PrefillObs, PrefillMix)> = vec![];
    let mut errs = vec![];
    for r in rows().iter().filter(|r| r["kind"] == "pp512") {
        let md = model(&r["model"], &r["quant"]);
        let p = plan(&md, &m, &workload("pp512")).unwrap();
        let want: f64 = r["value"].parse().unwrap();
        let e = err_pct(p.speed.prefill_tokens_per_s, want);
        let stats = headroom::estimate::weights::weight_stats(&md);
        let mix = stats.prefill_mix();
        println!(
            "pp512 {} {}: predicted {:.1} t/s, llama-bench {want:.1} ({e:+.1}%); bytes quantized {:.3}, repacked {:.3}",
            r["model"], r["quant"], p.speed.prefill_tokens_per_s, mix.cpu_quantized, mix.cpu_gemm
        );
        errs.push(e.abs());
        let o = PrefillObs {
            flops_per_token: headroom::estimate::weights::flops_per_token(&md.hparams, &stats, 256),
            flops_per_s: m.fp16_flops,
            tokens_per_s: want,
        };
        if r["quant"] == "F16" {
            float.push(o);
        } else {
            quant.push((r["quant"].clone(), o, mix));
        }
    }
    let eps_float = fit_prefill(&float).unwrap();
    println!("ε float: {eps_float:.4}");
    assert!(
        (eps_float - speed::PREFILL_EFF_FLOAT_CPU).abs() < 5e-4,
        "ε float should be {eps_float:.4}"
    );
    let all: Vec<(PrefillObs, PrefillMix)> = quant.iter().map(|q| (q.1, q.2)).collect();
    let (eg, eq) = fit_prefill_mix(&all, eps_float).unwrap();
    println!("ε repacked GEMM types: {eg:.4}, ε other quantized: {eq:.4}");
    assert!(
        (eg - speed::PREFILL_EFF_GEMM_CPU).abs() < 5e-4,
        "ε gemm should be {eg:.4}"
    );
    assert!(
        (eq - speed::PREFILL_EFF_QUANT_CPU).abs() < 5e-4,
        "ε quant should be {eq:.4}"
    );
    // leave one quantized row out: two rows fix both ε (Q4_K_M mixes Q4_K with Q6_K), the third is
    // predicted out of sample
    let mut loro = vec![];
    for i in 0..quant.len() {
        let train: Vec<(PrefillObs, PrefillMix)> = (0..quant.len())
            .filter(|&j| j != i)
            .map(|j| (quant[j].1, quant[j].2))
            .collect();
        if let Some((g, q)) = fit_prefill_mix(&train, eps_float) {
            let (o, mx) = (quant[i].1, quant[i].2);
            let inv = mx.cpu_gemm / g
                + (mx.quantized - mx.cpu_gemm) / q
                + (1.0 - mx.quantized) / eps_float;
            let pred = o.flops_per_s / (o.flops_per_token * inv);
            let e = err_pct(pred, o.tokens_per_s);
            println!(
                "  leave out {}: predicted {pred:.1} t/s against {:.1} ({e:+.1}%)",
                quant[i].0, o.tokens_per_s
            );
            loro.push(e.abs());
        }
    }
    println!(
        "CPU prefill |error|: in-sample median {:.1}% worst {:.1}%; leave-one-row-out (quantized) median {:.1}% worst {:.1}%",
        median(&errs),
        worst(&errs),
        median(&loro),
        worst(&loro)
    );
    assert_eq!(
        loro.len(),
        quant.len(),
        "every quantized row predicted out of sample"
    );
    assert!(
        (median(&loro) - speed::PREFILL_ERROR_PCT_CPU).abs() < 0.05,
        "PREFILL_ERROR_PCT_CPU should be {:.1}",
        median(&loro)
    );
    assert!(
        worst(&errs).max(worst(&loro)) <= speed::PREFILL_WORST_PCT_CPU,
        "a CPU prefill row is off by {:.1}%",
        worst(&errs).max(worst(&loro))
    );
}
