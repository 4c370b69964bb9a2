//! headroom's plan against llama.cpp built with CUDA on an NVIDIA H100 (measured by this project,
//! `tests/data/cuda_h100_llama8b.csv`): GPU model buffer and KV cache exact, compute buffer within 5%,
//! decode and prefill within the stated bars. The H100 is not in the Apple calibration set; the CUDA
//! constants that these rows inform are named in `src/estimate/speed.rs`.

use headroom::estimate::plan::plan;
use headroom::estimate::{Runtime, Workload};
use headroom::hardware::profile::resolve;
use headroom::model::quantize::{parse_target, requantize};
use headroom::model::{ModelDesc, TensorType, spec};

/// The synthetic file's inventory: the Llama-3.1-8B spec at `quant`, without `rope_freqs.weight`
/// (make_gguf.py does not write it). `Q4_0_pure`: every 2-D weight Q4_0, as make_gguf.py `--type Q4_0`
/// writes it (no llama-quantize type mixing).
fn model(quant: &str) -> ModelDesc {
    let base = spec::load("llama-3.1-8b").unwrap();
    let mut m = if quant == "Q4_0_pure" {
        let mut m = base.clone();
        for t in m.tensors.iter_mut().filter(|t| t.shape.len() >= 2) {
            t.ty = TensorType::Q4_0;
            t.n_bytes = TensorType::Q4_0
                .tensor_bytes(t.shape[0], t.n_elements)
                .unwrap();
        }
        m
    } else {
        requantize(&base, &parse_target(quant).unwrap()).unwrap()
    };
    m.tensors.retain(|t| t.name != "rope_freqs.weight");
    m
}

fn rows() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/cuda_h100_llama8b.csv"
    ))
    .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("kind,"))
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn workload(r: &[String]) -> Workload {
    Workload {
        // tg at depth 0 is 128 tokens from an empty cache: plan at 128 (KV read ≈ mean depth)
        context: r[3].parse::<u64>().unwrap().max(128),
        ubatch: r[7].parse().unwrap(),
        flash_attention: r[4] == "1",
        cache_type_k: TensorType::from_name(&r[5]).unwrap(),
        cache_type_v: TensorType::from_name(&r[6]).unwrap(),
        runtime: Runtime::LlamaCpp,
        ..Workload::default()
    }
}

#[test]
fn h100_memory_matches_llama_cpp_cuda() {
    let h100 = resolve("h100-sxm").unwrap().remove(0);
    for r in rows() {
        let m = model(&r[1]);
        assert_eq!(
            m.weights_bytes(),
            r[2].parse::<u64>().unwrap(),
            "file size of {}",
            r[1]
        );
        let want: u64 = match r[0].as_str() {
            "model_gpu" | "kv" | "compute_gpu" => r[8].parse().unwrap(),
            _ => continue,
        };
        let p = plan(&m, &h100, &workload(&r)).unwrap();
        let got = match r[0].as_str() {
            "model_gpu" => p.memory.weights_bytes,
            "kv" => p.memory.kv_cache_bytes,
            _ => p.memory.compute_bytes,
        };
        let err = (got as f64 - want as f64) / want as f64 * 100.0;
        println!(
            "{} ctx {} fa {} {}/{} ub {}: predicted {got}, llama.cpp {want} ({err:+.2}%)",
            r[0], r[3], r[4], r[5], r[6], r[7]
        );
        if r[0] == "compute_gpu" {
            assert!(err.abs() <= 5.0, "compute buffer off by {err:.2}%");
        } else {
            assert_eq!(got, want, "{} must be exact", r[0]);
        }
    }
}

#[test]
fn h100_speed_against_llama_bench() {
    let h100 = resolve("h100-sxm").unwrap().remove(0);
    let mut tg_errs = vec![];
    let mut pp_errs = vec![];
    for r in rows() {
        let want: f64 = r[8].parse().unwrap();
        let p = match r[0].as_str() {
            "tg" | "pp512" => plan(&model(&r[1]), &h100, &workload(&r)).unwrap(),
            _ => continue,
        };
        let got = if r[0] == "tg" {
            p.speed.decode_tokens_per_s
        } else {
            p.speed.prefill_tokens_per_s
        };
        let err = (got - want) / want * 100.0;
        println!(
            "{} {} depth {}: predicted {got:.1} t/s, llama-bench {want:.1} ({err:+.1}%)",
            r[0], r[1], r[3]
        );
        if r[0] == "tg" {
            tg_errs.push(err.abs())
        } else {
            pp_errs.push(err.abs())
        }
    }
    let worst = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
    println!(
        "H100 decode worst {:.1}%, prefill worst {:.1}%",
        worst(&tg_errs),
        worst(&pp_errs)
    );
    let mut sorted = tg_errs.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    println!("H100 decode median {median:.1}%");
    assert!(
        (median - headroom::estimate::speed::DECODE_ERROR_PCT_NVIDIA).abs() < 0.05,
        "update DECODE_ERROR_PCT_NVIDIA to {median:.1}"
    );
    assert!(
        worst(&tg_errs) <= 20.0,
        "decode on the H100 off by up to {:.1}%",
        worst(&tg_errs)
    );
    assert!(
        worst(&pp_errs) <= headroom::estimate::speed::PREFILL_ERROR_PCT_NVIDIA,
        "prefill on the H100 off by up to {:.1}%",
        worst(&pp_errs)
    );
}

/// The FA-off per-layer extra is what the same file on the same card measured with `-fa 1` and `-fa 0`.
#[test]
fn cuda_no_flash_attention_extra_matches_the_measured_pair() {
    let tg = |fa: &str| -> f64 {
        rows()
            .iter()
            .find(|r| r[0] == "tg" && r[1] == "Q4_0_pure" && r[4] == fa)
            .map(|r| r[8].parse().unwrap())
            .unwrap()
    };
    let per_layer = (1.0 / tg("0") - 1.0 / tg("1")) / 32.0;
    println!("FA off costs {:.2} µs per layer", per_layer * 1e6);
    assert!(
        (per_layer - headroom::estimate::speed::CUDA_NO_FA_LAYER_EXTRA_S).abs() < 0.1e-6,
        "CUDA_NO_FA_LAYER_EXTRA_S should be {:.1} µs",
        per_layer * 1e6
    );
}
