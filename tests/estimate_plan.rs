//! plan(): verdicts, max context, advice, partial offload, impossible workloads, best_quant, and the outside
//! figures: Llama-3.1-70B KV, DeepSeek-V3 MLA KV (a llama.cpp-family log), and the worked example of
//! reference/peers.md (Llama-3.3-70B Q4_K_M on a 64 GB Mac).

mod common;

use common::{GIB, LLAMA3_70B};
use headroom::error::Error;
use headroom::estimate::kv::{KvShape, kv_bytes};
use headroom::estimate::plan::{best_quant, plan};
use headroom::estimate::{Runtime, Verdict, Workload};
use headroom::model::{HyperParams, Mla, TensorType};

const MIB: u64 = 1 << 20;

fn q8() -> Workload {
    Workload {
        cache_type_k: TensorType::Q8_0,
        cache_type_v: TensorType::Q8_0,
        ..Workload::default()
    }
}

#[test]
fn llama_3_1_70b_kv_f16_8192() {
    let m = common::q4_k_m(&LLAMA3_70B);
    let wl = Workload {
        context: 8192,
        ..Workload::default()
    };
    assert_eq!(kv_bytes(&m.hparams, &wl).unwrap(), 2_684_354_560);
}

#[test]
fn deepseek_v3_mla_latent_cache() {
    // ik_llama.cpp PR #259 log, DeepSeek-V3/R1 (61 layers, kv_lora_rank 512, rope 64) at n_ctx 32768, q8_0:
    // "KV self size = 1166.62 MiB, c^KV (q8_0): 1166.62 MiB, kv^T: not used"
    let hp = HyperParams {
        n_layer: 61,
        n_embd: 7168,
        n_head: vec![128; 61],
        n_head_kv: vec![128; 61],
        head_dim_k: 192,
        head_dim_v: 128,
        vocab_size: 129280,
        mla: Some(Mla {
            kv_lora_rank: 512,
            q_lora_rank: 1536,
            rope_dim: 64,
            nope_dim: 128,
            v_head_dim: 128,
        }),
        ..HyperParams::default()
    };
    let wl = Workload {
        context: 32768,
        ..q8()
    };
    let mib = kv_bytes(&hp, &wl).unwrap() as f64 / MIB as f64;
    assert!((mib - 1166.62).abs() < 0.01, "{mib}");
    // f16: 61 × 576 × 2 B = 70,272 B per token (peers.md), not the 4.99 MB of the decompressed view
    let s = KvShape::new(&hp, TensorType::F16, TensorType::F16, Runtime::LlamaCpp).unwrap();
    assert_eq!(s.full_cell_bytes, 70_272);
}

#[test]
fn worked_example_70b_q4_k_m_on_64gb_mac() {
    let m = common::q4_k_m(&LLAMA3_70B);
    let mac = common::mac_64gb();
    // peers.md: weights 39.59 GiB (gguf-parser README / ollama llama3.3 70B Q4_K_M)
    let w = m.weights_bytes() as f64 / GIB as f64;
    assert!((w - 39.59).abs() < 0.25, "fixture weights {w:.2} GiB");

    // 8k: fits (≈42.6 GiB)
    let p8 = plan(
        &m,
        &mac,
        &Workload {
            context: 8192,
            ..Workload::default()
        },
    )
    .unwrap();
    assert_eq!(p8.verdict, Verdict::Fits);
    let t8 = p8.memory.total_bytes as f64 / GIB as f64;
    assert!((t8 - 42.6).abs() < 0.5, "{t8}");
    // 16k: fits, tight (≈45.1 GiB)
    let p16 = plan(
        &m,
        &mac,
        &Workload {
            context: 16384,
            ..Workload::default()
        },
    )
    .unwrap();
    assert_eq!(p16.verdict, Verdict::Fits);
    // 32k f16: over the 48 GiB default; fits once iogpu.wired_limit_mb is raised, or with q8_0 KV
    let p32 = plan(
        &m,
        &mac,
        &Workload {
            context: 32768,
            ..Workload::default()
        },
    )
    .unwrap();
    let Verdict::FitsIfLimitRaised {
        wired_limit_mb,
        ram_left_bytes,
    } = p32.verdict
    else {
        panic!("{:?}", p32.verdict)
    };
    // peers.md: total ≈ 50.1 GiB, limit ≈ 54000 MB leaving ≈ 10 GiB (their rounding); ours: total + 1 GiB margin
    assert!(
        (51_000..=55_000).contains(&wired_limit_mb),
        "{wired_limit_mb}"
    );
    assert!(ram_left_bytes > 9 * GIB && ram_left_bytes < 14 * GIB);
    assert!(
        p32.advice
            .iter()
            .any(|a| a.contains("sudo sysctl iogpu.wired_limit_mb=")),
        "{:?}",
        p32.advice
    );
    assert!(
        p32.advice.iter().any(|a| a.contains("-ctk q8_0 -ctv q8_0")),
        "{:?}",
        p32.advice
    );
    let p32q = plan(
        &m,
        &mac,
        &Workload {
            context: 32768,
            ..q8()
        },
    )
    .unwrap();
    assert_eq!(p32q.verdict, Verdict::Fits);
    let t = p32q.memory.total_bytes as f64 / GIB as f64;
    assert!((t - 45.4).abs() < 0.5, "{t}");
    // max context at f16 against 48 GiB, and the per-type table is ordered f16 < q8_0 < q4_0
    let f16 = p32.max_context_by_kv[0].max_context.unwrap();
    let q8c = p32.max_context_by_kv[1].max_context.unwrap();
    let q4c = p32.max_context_by_kv[2].max_context.unwrap();
    assert!(f16 < q8c && q8c < q4c, "{f16} {q8c} {q4c}");
    assert!((24_000..=28_000).contains(&f16), "{f16}");
    // Q5_K_M-sized weights (≈46.5 GiB): the ollama #8331 failure: at 8k it no longer fits the default limit
    let q5 = common::llama(&LLAMA3_70B, "Q5_K_M", |name, l| match name {
        "output" => TensorType::Q6_K,
        "attn_v" | "ffn_down" if common::use_more_bits(l, 80) => TensorType::Q6_K,
        _ => TensorType::Q5_K,
    });
    let p = plan(
        &q5,
        &mac,
        &Workload {
            context: 8192,
            ..Workload::default()
        },
    )
    .unwrap();
    assert!(
        matches!(p.verdict, Verdict::FitsIfLimitRaised { .. }),
        "{:?}",
        p.verdict
    );
}

#[test]
fn max_context_matches_a_linear_scan() {
    let m = common::q4_k_m(&LLAMA3_70B);
    let mac = common::mac_64gb();
    for (k, fa) in [
        (TensorType::F16, true),
        (TensorType::F16, false),
        (TensorType::Q4_0, true),
    ] {
        let wl = Workload {
            context: 4096,
            cache_type_k: k,
            cache_type_v: k,
            flash_attention: fa,
            ..Workload::default()
        };
        let p = plan(&m, &mac, &wl).unwrap();
        let mut best = None;
        for c in (256..=LLAMA3_70B.context_length).step_by(256) {
            let q = plan(
                &m,
                &mac,
                &Workload {
                    context: c,
                    ..wl.clone()
                },
            )
            .unwrap();
            if q.memory.total_bytes <= mac.gpu_budget_bytes {
                best = Some(c);
            } else {
                break;
            }
        }
        assert_eq!(p.max_context, best, "{k} fa {fa}");
    }
}

#[test]
fn flash_attention_off_advice_and_quantized_v_refusal() {
    let m = common::q4_k_m(&LLAMA3_70B);
    let mac = common::mac_64gb();
    let p = plan(
        &m,
        &mac,
        &Workload {
            context: 16384,
            flash_attention: false,
            ..Workload::default()
        },
    )
    .unwrap();
    // KQ = 4 · 64 heads · 16384 · 512 = 2 GiB of scores
    assert!(p.memory.compute_bytes > 2 * GIB);
    assert!(
        p.advice.iter().any(|a| a.contains("-fa on")),
        "{:?}",
        p.advice
    );
    // q8_0/q4_0 rows of the table are None with FA off (llama.cpp refuses quantized V without FA)
    assert_eq!(p.max_context_by_kv[1].max_context, None);
    let e = plan(
        &m,
        &mac,
        &Workload {
            flash_attention: false,
            ..q8()
        },
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::Usage(_)) && e.exit_code() == 2 && e.to_string().contains("flash"),
        "{e}"
    );
}

#[test]
fn impossible_workloads_are_usage_errors() {
    let m = common::q4_k_m(&LLAMA3_70B);
    let mac = common::mac_64gb();
    let bad = [
        Workload {
            context: 0,
            ..Workload::default()
        },
        Workload {
            ubatch: 0,
            ..Workload::default()
        },
        Workload {
            ubatch: 4096,
            n_batch: 2048,
            ..Workload::default()
        },
        Workload {
            parallel: 0,
            ..Workload::default()
        },
        Workload {
            batch: 0,
            ..Workload::default()
        },
        Workload {
            cache_type_k: TensorType::Q4_K,
            ..Workload::default()
        },
        Workload {
            runtime: Runtime::Mlx,
            cache_type_k: TensorType::Q5_1,
            ..Workload::default()
        },
    ];
    for wl in bad {
        let e = plan(&m, &mac, &wl).unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{wl:?}: {e}");
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn partial_offload_on_a_24gb_gpu() {
    let m = common::q4_k_m(&LLAMA3_70B);
    let gpu = common::rtx4090();
    let p = plan(
        &m,
        &gpu,
        &Workload {
            context: 8192,
            ..Workload::default()
        },
    )
    .unwrap();
    let Verdict::PartialOffload {
        gpu_layers,
        total_layers,
    } = p.verdict
    else {
        panic!("{:?}", p.verdict)
    };
    assert_eq!(total_layers, 80);
    // ≈ 22.9 GiB budget − 0.4 GiB CUDA − 0.28 GiB compute over ≈ 0.49 GiB weights + 32 MiB KV per layer
    assert!((40..=48).contains(&gpu_layers), "{gpu_layers}");
    assert!(
        p.advice
            .iter()
            .any(|a| a.starts_with(&format!("-ngl {gpu_layers}")))
    );
    // decode is limited by the CPU side: slower than the same model entirely in GPU memory would be
    let mut big = gpu.clone();
    big.gpu_budget_bytes = 80 * GIB;
    let full = plan(
        &m,
        &big,
        &Workload {
            context: 8192,
            ..Workload::default()
        },
    )
    .unwrap();
    assert_eq!(full.verdict, Verdict::Fits);
    assert!(p.speed.decode_tokens_per_s < full.speed.decode_tokens_per_s / 2.0);
    // with too little host RAM it does not fit at all
    let mut small_host = gpu.clone();
    small_host.host_memory_bytes = Some(8 * GIB);
    let p = plan(
        &m,
        &small_host,
        &Workload {
            context: 8192,
            ..Workload::default()
        },
    )
    .unwrap();
    assert_eq!(p.verdict, Verdict::DoesNotFit);
}

#[test]
fn best_quant_picks_the_largest_that_fits() {
    let mac = common::mac_64gb();
    let cands = || {
        vec![
            common::uniform(&LLAMA3_70B, TensorType::Q8_0, false),
            common::uniform(&LLAMA3_70B, TensorType::Q6_K, false),
            common::q4_k_m(&LLAMA3_70B),
            common::uniform(&LLAMA3_70B, TensorType::Q2_K, true),
        ]
    };
    let wl = Workload {
        context: 8192,
        ..Workload::default()
    };
    let (m, p) = best_quant(cands(), &mac, &wl).unwrap().unwrap();
    assert_eq!(m.file_type.as_deref(), Some("Q4_K_M"));
    assert_eq!(p.verdict, Verdict::Fits);
    // a machine where nothing fits
    let mut tiny = mac.clone();
    tiny.gpu_budget_bytes = 8 * GIB;
    tiny.max_raised_budget_bytes = Some(10 * GIB);
    assert!(best_quant(cands(), &tiny, &wl).unwrap().is_none());
}

#[test]
fn speed_fields_are_filled_and_consistent() {
    let m = common::q4_k_m(&LLAMA3_70B);
    let mac = common::mac_64gb();
    let p = plan(
        &m,
        &mac,
        &Workload {
            context: 8192,
            batch: 16,
            ..Workload::default()
        },
    )
    .unwrap();
    let s = &p.speed;
    assert!(
        s.decode_tokens_per_s > 3.0 && s.decode_tokens_per_s < 8.0,
        "{}",
        s.decode_tokens_per_s
    );
    assert!(s.decode_error_pct > 0.0 && s.prefill_error_pct > 0.0 && p.memory_error_pct >= 0.0);
    assert!(s.batch_tokens_per_s > s.decode_tokens_per_s);
    assert!(s.compute_bound_batch > 1);
    assert!(s.prefill_tokens_per_s > s.decode_tokens_per_s);
    assert_eq!(
        p.memory.total_bytes,
        p.memory.weights_bytes
            + p.memory.kv_cache_bytes
            + p.memory.compute_bytes
            + p.memory.overhead_bytes
    );
}

#[test]
fn mamba_recurrent_state_is_fixed_per_sequence() {
    // llama.cpp PR #5328 (Mamba support): Mamba 3B (64 layers, d_inner 5120, d_state 16, d_conv 4) with a
    // single sequence "uses 23.75 MiB" of state, whatever --ctx-size is.
    let hp = HyperParams {
        n_layer: 64,
        n_embd: 2560,
        n_head: vec![0; 64],
        n_head_kv: vec![0; 64],
        vocab_size: 50280,
        ssm: Some(headroom::model::Ssm {
            d_conv: 4,
            d_inner: 5120,
            d_state: 16,
            n_group: 0,
            dt_rank: 160,
        }),
        recurrent_layers: vec![true; 64],
        ..HyperParams::default()
    };
    for ctx in [1, 2048, 65536] {
        let wl = Workload {
            context: ctx,
            ..Workload::default()
        };
        assert_eq!(kv_bytes(&hp, &wl).unwrap(), 24_903_680, "ctx {ctx}"); // = 23.75 MiB
    }
    // four parallel sequences hold four states
    let wl = Workload {
        context: 2048,
        parallel: 4,
        ..Workload::default()
    };
    assert_eq!(kv_bytes(&hp, &wl).unwrap(), 4 * 24_903_680);
}
