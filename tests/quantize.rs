//! What-if quantization against published files.
//!
//! Inventories are built here from the real Llama shapes (GGUF names and GGUF shape order, as
//! `convert_hf_to_gguf.py` writes them), in BF16, then re-typed by `requantize`. Truth:
//!
//! - llama-bench "size" column (= `llama_model_size()`, the sum of tensor bytes, no header), printed in
//!   GiB with two decimals: Llama-2-7B Q4_0 3.56 / Q8_0 6.67 (llama.cpp discussion #4167, also in
//!   shared/calibration/llamacpp_metal_m1_m2.csv) and Llama-3(.1)-8B "llama 8B Q4_K - Medium 4.58 GiB" /
//!   "llama 8B Q8_0 7.95 GiB" (llama-bench output quoted across llama.cpp issues). These must match to the
//!   printed two decimals.
//! - bartowski's Llama-3.1-70B GGUF file sizes (HF listing, GB = 1e9, imatrix quants; table reproduced at
//!   https://ozeki.chat/p_8590-understanding-ai-model-files.html from bartowski's Llama-3.1-Nemotron-70B
//!   README): file = tensors + GGUF header (tokenizer ~ 10 MB) + 32-byte alignment; we compare tensor
//!   bytes within 0.5% (the brief asks 2%).
//! - MLX: mlx-community/Meta-Llama-3.1-8B-Instruct-4bit, `model.safetensors` 4.52 GB on its Hugging Face
//!   file listing. UNVERIFIED here: recalled, the search tools could not re-fetch that listing (public code
//!   only says "~5 GB"); the layout itself follows mlx_lm `quantize_model` / `nn.quantize`.

use headroom::model::quantize::{
    LlamaFtype, QuantOptions, QuantTarget, llama_cpp_targets, parse_target, requantize,
    requantize_with, targets_by_size,
};
use headroom::model::{HyperParams, ModelDesc, ModelFormat, TensorInfo, TensorType};

const GIB: f64 = (1u64 << 30) as f64;

struct Shape {
    n_layer: u32,
    n_embd: u64,
    n_head: u32,
    n_head_kv: u32,
    n_ff: u64,
    n_vocab: u64,
    tied: bool,
    /// Llama 3.1 GGUFs carry `rope_freqs.weight` [head_dim / 2] F32 (llama3 rope scaling).
    rope_freqs: bool,
}

fn tensor(name: &str, shape: &[u64], ty: TensorType) -> TensorInfo {
    let n: u64 = shape.iter().product();
    TensorInfo {
        name: name.to_string(),
        shape: shape.to_vec(),
        ty,
        n_elements: n,
        n_bytes: ty.tensor_bytes(shape[0], n).expect("whole blocks"),
        data: None,
    }
}

/// A llama-architecture inventory with GGUF names and GGUF shape order (ne0 first), weights in `ty`,
/// norms and rope_freqs in F32, as convert_hf_to_gguf.py writes them.
fn llama(s: &Shape, ty: TensorType) -> ModelDesc {
    let head_dim = s.n_embd / u64::from(s.n_head);
    let kv = head_dim * u64::from(s.n_head_kv);
    let mut t = vec![tensor("token_embd.weight", &[s.n_embd, s.n_vocab], ty)];
    if s.rope_freqs {
        t.push(tensor(
            "rope_freqs.weight",
            &[head_dim / 2],
            TensorType::F32,
        ));
    }
    for i in 0..s.n_layer {
        let p = format!("blk.{i}.");
        t.push(tensor(
            &format!("{p}attn_norm.weight"),
            &[s.n_embd],
            TensorType::F32,
        ));
        t.push(tensor(
            &format!("{p}attn_q.weight"),
            &[s.n_embd, s.n_embd],
            ty,
        ));
        t.push(tensor(&format!("{p}attn_k.weight"), &[s.n_embd, kv], ty));
        t.push(tensor(&format!("{p}attn_v.weight"), &[s.n_embd, kv], ty));
        t.push(tensor(
            &format!("{p}attn_output.weight"),
            &[s.n_embd, s.n_embd],
            ty,
        ));
        t.push(tensor(
            &format!("{p}ffn_norm.weight"),
            &[s.n_embd],
            TensorType::F32,
        ));
        t.push(tensor(
            &format!("{p}ffn_gate.weight"),
            &[s.n_embd, s.n_ff],
            ty,
        ));
        t.push(tensor(
            &format!("{p}ffn_up.weight"),
            &[s.n_embd, s.n_ff],
            ty,
        ));
        t.push(tensor(
            &format!("{p}ffn_down.weight"),
            &[s.n_ff, s.n_embd],
            ty,
        ));
    }
    t.push(tensor("output_norm.weight", &[s.n_embd], TensorType::F32));
    if !s.tied {
        t.push(tensor("output.weight", &[s.n_embd, s.n_vocab], ty));
    }
    let n = s.n_layer as usize;
    ModelDesc {
        format: ModelFormat::Spec,
        source: "test".into(),
        name: "test-llama".into(),
        architecture: "llama".into(),
        hparams: HyperParams {
            n_layer: s.n_layer,
            n_embd: s.n_embd,
            n_head: vec![s.n_head; n],
            n_head_kv: vec![s.n_head_kv; n],
            head_dim_k: head_dim,
            head_dim_v: head_dim,
            n_ff: vec![s.n_ff; n],
            vocab_size: s.n_vocab,
            tie_word_embeddings: s.tied,
            ..Default::default()
        },
        tensors: t,
        file_type: Some(ty.name().to_string()),
        mlx_quant: None,
        files: vec![],
        warnings: vec![],
    }
}

/// The same model with Hugging Face names and row-major shapes (safetensors), BF16 everywhere.
fn llama_hf(s: &Shape) -> ModelDesc {
    let head_dim = s.n_embd / u64::from(s.n_head);
    let kv = head_dim * u64::from(s.n_head_kv);
    let bf = TensorType::BF16;
    let t2 = |name: &str, out: u64, inp: u64| {
        let mut t = tensor(name, &[inp, out], bf);
        t.shape = vec![out, inp];
        t
    };
    let mut t = vec![t2("model.embed_tokens.weight", s.n_vocab, s.n_embd)];
    for i in 0..s.n_layer {
        let p = format!("model.layers.{i}.");
        t.push(tensor(
            &format!("{p}input_layernorm.weight"),
            &[s.n_embd],
            bf,
        ));
        t.push(t2(
            &format!("{p}self_attn.q_proj.weight"),
            s.n_embd,
            s.n_embd,
        ));
        t.push(t2(&format!("{p}self_attn.k_proj.weight"), kv, s.n_embd));
        t.push(t2(&format!("{p}self_attn.v_proj.weight"), kv, s.n_embd));
        t.push(t2(
            &format!("{p}self_attn.o_proj.weight"),
            s.n_embd,
            s.n_embd,
        ));
        t.push(tensor(
            &format!("{p}post_attention_layernorm.weight"),
            &[s.n_embd],
            bf,
        ));
        t.push(t2(&format!("{p}mlp.gate_proj.weight"), s.n_ff, s.n_embd));
        t.push(t2(&format!("{p}mlp.up_proj.weight"), s.n_ff, s.n_embd));
        t.push(t2(&format!("{p}mlp.down_proj.weight"), s.n_embd, s.n_ff));
    }
    t.push(tensor("model.norm.weight", &[s.n_embd], bf));
    if !s.tied {
        t.push(t2("lm_head.weight", s.n_vocab, s.n_embd));
    }
    let mut m = llama(s, bf);
    m.format = ModelFormat::Safetensors;
    m.tensors = t;
    m
}

const LLAMA2_7B: Shape = Shape {
    n_layer: 32,
    n_embd: 4096,
    n_head: 32,
    n_head_kv: 32,
    n_ff: 11008,
    n_vocab: 32000,
    tied: false,
    rope_freqs: false,
};
const LLAMA3_8B: Shape = Shape {
    n_layer: 32,
    n_embd: 4096,
    n_head: 32,
    n_head_kv: 8,
    n_ff: 14336,
    n_vocab: 128256,
    tied: false,
    rope_freqs: false,
};
const LLAMA31_8B: Shape = Shape {
    rope_freqs: true,
    ..LLAMA3_8B
};
const LLAMA31_70B: Shape = Shape {
    n_layer: 80,
    n_embd: 8192,
    n_head: 64,
    n_head_kv: 8,
    n_ff: 28672,
    n_vocab: 128256,
    tied: false,
    rope_freqs: true,
};

fn predict(s: &Shape, q: &str, imatrix: Option<bool>) -> ModelDesc {
    let m = llama(s, TensorType::BF16);
    let target = parse_target(q).expect("valid target");
    requantize_with(&m, &target, QuantOptions { imatrix }).expect("requantize")
}

fn ty_of(m: &ModelDesc, name: &str) -> TensorType {
    m.tensors
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .ty
}

#[test]
fn llama_bench_sizes_match_to_the_printed_digit() {
    // (model, shape, quant, llama-bench GiB)
    let cases: &[(&str, &Shape, &str, f64)] = &[
        ("Llama-2-7B", &LLAMA2_7B, "Q4_0", 3.56),
        ("Llama-2-7B", &LLAMA2_7B, "Q8_0", 6.67),
        ("Llama-2-7B", &LLAMA2_7B, "F16", 12.55),
        ("Llama-3-8B", &LLAMA3_8B, "Q4_K_M", 4.58),
        ("Llama-3-8B", &LLAMA3_8B, "Q8_0", 7.95),
    ];
    println!(
        "{:<12} {:<7} {:>14} {:>10} {:>10}",
        "model", "quant", "tensor bytes", "pred GiB", "pub GiB"
    );
    let mut bad = vec![];
    for (name, s, q, published) in cases {
        let m = predict(s, q, Some(false));
        let gib = m.weights_bytes() as f64 / GIB;
        println!(
            "{name:<12} {q:<7} {:>14} {gib:>10.4} {published:>10.2}",
            m.weights_bytes()
        );
        if (gib - published).abs() > 0.005 {
            bad.push(format!(
                "{name} {q}: predicted {gib:.4} GiB, llama-bench prints {published:.2}"
            ));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn bartowski_llama31_70b_file_sizes() {
    // bartowski quants are made with an importance matrix
    let cases: &[(&str, f64)] = &[
        ("Q8_0", 74.98),
        ("Q6_K", 57.89),
        ("Q5_K_M", 49.95),
        ("Q5_K_S", 48.66),
        ("Q4_K_M", 42.52),
        ("Q4_K_S", 40.35),
        ("Q4_0", 40.12),
        ("IQ4_XS", 37.90),
        ("Q3_K_L", 37.14),
        ("Q3_K_M", 34.27),
        ("IQ3_M", 31.94),
        ("Q3_K_S", 30.91),
    ];
    println!(
        "Llama-3.1-70B, tensor bytes vs bartowski file size (GB = 1e9; file also holds a ~10 MB header)"
    );
    println!(
        "{:<7} {:>10} {:>10} {:>8}",
        "quant", "pred GB", "pub GB", "diff %"
    );
    let mut bad = vec![];
    for (q, published) in cases {
        let m = predict(&LLAMA31_70B, q, Some(true));
        let gb = m.weights_bytes() as f64 / 1e9;
        let diff = (gb - published) / published * 100.0;
        println!("{q:<7} {gb:>10.3} {published:>10.2} {diff:>8.3}");
        if diff.abs() > 0.5 {
            bad.push(format!(
                "{q}: predicted {gb:.3} GB vs published {published} GB ({diff:.2}%)"
            ));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn q4_k_m_per_tensor_types_llama3_8b() {
    let m = predict(&LLAMA3_8B, "Q4_K_M", None);
    use TensorType::*;
    // the layers use_more_bits picks for 32 layers: 0-3, 6, 9, ..., 27, 28-31
    let more: Vec<u32> = vec![0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31];
    for i in 0..32u32 {
        let want = if more.contains(&i) { Q6_K } else { Q4_K };
        assert_eq!(
            ty_of(&m, &format!("blk.{i}.attn_v.weight")),
            want,
            "attn_v layer {i}"
        );
        assert_eq!(
            ty_of(&m, &format!("blk.{i}.ffn_down.weight")),
            want,
            "ffn_down layer {i}"
        );
        for other in ["attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"] {
            assert_eq!(
                ty_of(&m, &format!("blk.{i}.{other}.weight")),
                Q4_K,
                "{other} layer {i}"
            );
        }
        assert_eq!(ty_of(&m, &format!("blk.{i}.attn_norm.weight")), F32);
    }
    assert_eq!(ty_of(&m, "output.weight"), Q6_K);
    assert_eq!(ty_of(&m, "token_embd.weight"), Q4_K);
    assert_eq!(ty_of(&m, "output_norm.weight"), F32);
    assert_eq!(m.file_type.as_deref(), Some("Q4_K_M"));
    // logical parameters never change
    assert_eq!(m.parameters(), llama(&LLAMA3_8B, BF16).parameters());
}

#[test]
fn seventy_b_rule_and_tied_embeddings() {
    use TensorType::*;
    // Llama-3.1-70B is LLM_TYPE_70B: attn_v that Q4_K_M leaves at Q4_K goes to Q5_K
    let m = predict(&LLAMA31_70B, "Q4_K_M", None);
    assert_eq!(ty_of(&m, "blk.0.attn_v.weight"), Q6_K);
    assert_eq!(ty_of(&m, "blk.11.attn_v.weight"), Q5_K);
    assert_eq!(ty_of(&m, "blk.11.ffn_down.weight"), Q4_K);
    assert_eq!(ty_of(&m, "rope_freqs.weight"), F32);
    // tied embeddings: token_embd takes the output rule (Q6_K)
    let tied = Shape {
        tied: true,
        ..LLAMA3_8B
    };
    let m = predict(&tied, "Q4_K_M", None);
    assert_eq!(ty_of(&m, "token_embd.weight"), Q6_K);
    // Q8_0 keeps output at Q8_0
    let m = predict(&LLAMA3_8B, "Q8_0", None);
    assert_eq!(ty_of(&m, "output.weight"), Q8_0);
    // a row that is not a multiple of 256 falls back (Q4_K -> Q5_0), output -> Q8_0
    let odd = Shape {
        n_embd: 4160,
        n_head: 32,
        ..LLAMA2_7B
    };
    let m = predict(&odd, "Q4_K_M", None);
    assert_eq!(ty_of(&m, "blk.5.attn_q.weight"), Q5_0);
    assert_eq!(ty_of(&m, "output.weight"), Q8_0);
    assert!(m.warnings.iter().any(|w| w.contains("fall back")));
}

#[test]
fn hf_names_give_the_same_bytes_as_gguf_names() {
    for q in ["Q4_K_M", "Q8_0", "Q3_K_M", "IQ4_XS"] {
        let target = parse_target(q).unwrap();
        let gguf = requantize(&llama(&LLAMA3_8B, TensorType::BF16), &target).unwrap();
        let hf = requantize(&llama_hf(&LLAMA3_8B), &target).unwrap();
        assert_eq!(gguf.weights_bytes(), hf.weights_bytes(), "{q}");
        // norms become F32 as convert_hf_to_gguf.py stores them
        let norm = hf
            .tensors
            .iter()
            .find(|t| t.name == "model.norm.weight")
            .unwrap();
        assert_eq!((norm.ty, norm.n_bytes), (TensorType::F32, 4096 * 4));
    }
}

#[test]
fn targets_are_listed_largest_first() {
    // exact order on Llama-2-7B; on Llama-3-8B the GQA upgrades may only swap the pairs named here
    let allowed: &[(&str, &str)] = &[("Q4_K_S", "IQ4_NL"), ("IQ2_M", "Q2_K_S")];
    for (name, s, strict) in [
        ("Llama-2-7B", &LLAMA2_7B, true),
        ("Llama-3-8B", &LLAMA3_8B, false),
    ] {
        let m = llama(s, TensorType::BF16);
        let sizes: Vec<(&str, u64)> = llama_cpp_targets()
            .iter()
            .map(|q| {
                let f = LlamaFtype::from_label(q).unwrap();
                (
                    *q,
                    requantize(&m, &QuantTarget::LlamaCpp(f))
                        .unwrap()
                        .weights_bytes(),
                )
            })
            .collect();
        println!("{name}:");
        for (q, b) in &sizes {
            println!("  {q:<8} {:>8.3} GiB", *b as f64 / GIB);
        }
        for w in sizes.windows(2) {
            let ((a, sa), (b, sb)) = (w[0], w[1]);
            if sb > sa {
                assert!(
                    !strict && allowed.contains(&(a, b)),
                    "{name}: {b} ({sb}) larger than {a} ({sa})"
                );
            }
        }
        let by_size = targets_by_size(&m);
        assert_eq!(by_size.len(), sizes.len());
        assert!(by_size.windows(2).all(|w| w[0].1 >= w[1].1));
    }
}

#[test]
fn parse_target_names() {
    assert_eq!(
        parse_target("q4_k_m").unwrap(),
        QuantTarget::LlamaCpp(LlamaFtype::Q4_K_M)
    );
    assert_eq!(
        parse_target("IQ4_XS").unwrap(),
        QuantTarget::LlamaCpp(LlamaFtype::IQ4_XS)
    );
    assert_eq!(
        parse_target("bf16").unwrap(),
        QuantTarget::LlamaCpp(LlamaFtype::BF16)
    );
    assert_eq!(
        parse_target("MLX-4bit").unwrap(),
        QuantTarget::Mlx {
            bits: 4,
            group_size: 64
        }
    );
    assert_eq!(
        parse_target("mlx-8bit").unwrap(),
        QuantTarget::Mlx {
            bits: 8,
            group_size: 64
        }
    );
    assert_eq!(
        parse_target("mlx-4bit-g32").unwrap(),
        QuantTarget::Mlx {
            bits: 4,
            group_size: 32
        }
    );
    assert_eq!(parse_target("mlx-3bit").unwrap().to_string(), "mlx-3bit");
    assert_eq!(
        parse_target("mlx-6bit-g128").unwrap().to_string(),
        "mlx-6bit-g128"
    );
    for name in [
        "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K_S", "Q4_K_M",
        "Q5_K_S", "Q5_K_M", "Q6_K", "Q8_0", "IQ4_XS", "IQ4_NL", "F16", "BF16", "F32",
    ] {
        assert_eq!(parse_target(name).unwrap().to_string(), name);
    }
    let err = parse_target("Q4KM").unwrap_err().to_string();
    assert!(err.contains("did you mean Q4_K_M?"), "{err}");
    assert!(err.contains("mlx-4bit") && err.contains("IQ4_NL"), "{err}");
    assert!(parse_target("mlx-7bit").is_err());
    assert!(parse_target("mlx-4bit-g48").is_err());
    assert_eq!(parse_target("Q4KM").unwrap_err().exit_code(), 2);
}

#[test]
fn mlx_4bit_llama31_8b() {
    // mlx-community/Meta-Llama-3.1-8B-Instruct-4bit: model.safetensors 4.52 GB on its Hugging Face file
    // listing (GB = 1e9; the safetensors JSON header is ~100 KB). Converted with mlx_lm: 4 bits, group 64,
    // bf16 scales and biases; embed_tokens and lm_head quantized too (nn.quantize takes Linear and Embedding).
    let target = parse_target("mlx-4bit").unwrap();
    let m = requantize(&llama_hf(&LLAMA31_8B), &target).unwrap();
    let gb = m.weights_bytes() as f64 / 1e9;
    println!("mlx-4bit Llama-3.1-8B: predicted {gb:.3} GB, published 4.52 GB");
    assert!((gb - 4.52).abs() / 4.52 < 0.01, "{gb}");
    // per-tensor layout: out x in x 4 / 8 packed bytes + 2 x (out x in / 64) x 2 bytes
    let w = m
        .tensors
        .iter()
        .find(|t| t.name == "model.layers.0.mlp.down_proj.weight")
        .unwrap();
    assert_eq!(
        (w.ty, w.shape.clone(), w.n_bytes, w.n_elements),
        (
            TensorType::U32,
            vec![4096, 14336 / 8],
            4096 * 14336 / 2,
            4096 * 14336
        )
    );
    let s = m
        .tensors
        .iter()
        .find(|t| t.name == "model.layers.0.mlp.down_proj.scales")
        .unwrap();
    assert_eq!(
        (s.ty, s.shape.clone(), s.n_bytes),
        (
            TensorType::BF16,
            vec![4096, 14336 / 64],
            4096 * 14336 / 64 * 2
        )
    );
    assert!(
        m.tensors
            .iter()
            .any(|t| t.name == "model.embed_tokens.biases")
    );
    assert!(m.tensors.iter().any(|t| t.name == "lm_head.scales"));
    let norm = m
        .tensors
        .iter()
        .find(|t| t.name == "model.norm.weight")
        .unwrap();
    assert_eq!(norm.ty, TensorType::BF16);
    assert_eq!(m.file_type.as_deref(), Some("mlx-4bit"));
    assert_eq!(m.parameters(), llama_hf(&LLAMA31_8B).parameters());
    // GGUF-named spec inventories work too and give the same bytes
    let g = requantize(&llama(&LLAMA31_8B, TensorType::BF16), &target).unwrap();
    assert_eq!(
        g.weights_bytes(),
        m.weights_bytes() + 256 - 128,
        "rope_freqs is F32 [64] in GGUF, bf16 in MLX"
    );
    // mlx-8bit is (8 + 0.5) / (4 + 0.5) of the quantized bytes
    let m8 = requantize(&llama_hf(&LLAMA31_8B), &parse_target("mlx-8bit").unwrap()).unwrap();
    println!(
        "mlx-8bit Llama-3.1-8B: predicted {:.3} GB",
        m8.weights_bytes() as f64 / 1e9
    );
    // and back to llama.cpp from the MLX inventory: the packed weights unfold to their logical rows
    let back = requantize(&m, &parse_target("Q4_K_M").unwrap()).unwrap();
    let direct = requantize(&llama_hf(&LLAMA31_8B), &parse_target("Q4_K_M").unwrap()).unwrap();
    assert_eq!(back.weights_bytes(), direct.weights_bytes());
}

#[test]
fn q4_k_m_type_counts_llama31_8b() {
    // mozilla-ai/llamafile issue #516 (bartowski Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf, load log):
    // "type f32: 66 tensors, type q4_K: 193 tensors, type q6_K: 33 tensors"
    let m = predict(&LLAMA31_8B, "Q4_K_M", Some(true));
    let count = |ty: TensorType| m.tensors.iter().filter(|t| t.ty == ty).count();
    let got = (
        count(TensorType::F32),
        count(TensorType::Q4_K),
        count(TensorType::Q6_K),
    );
    println!(
        "Llama-3.1-8B Q4_K_M type counts (f32, q4_K, q6_K): predicted {got:?}, published (66, 193, 33)"
    );
    assert_eq!(got, (66, 193, 33));
    assert_eq!(m.tensors.len(), 292);
}

/// Mixtral (llama architecture with 8 experts): ffn_gate_inp [n_embd, n_expert] F32 and stacked
/// `_exps` tensors [ne0, ne1, n_expert] in place of the dense FFN, as current GGUFs store them.
fn mixtral(s: &Shape, n_expert: u64) -> ModelDesc {
    let bf = TensorType::BF16;
    let mut m = llama(s, bf);
    m.hparams.n_expert = n_expert as u32;
    m.hparams.n_expert_used = 2;
    m.hparams.n_ff_expert = s.n_ff;
    m.tensors.retain(|t| {
        !t.name.contains("ffn_gate") && !t.name.contains("ffn_up") && !t.name.contains("ffn_down")
    });
    for i in 0..s.n_layer {
        let p = format!("blk.{i}.");
        m.tensors.push(tensor(
            &format!("{p}ffn_gate_inp.weight"),
            &[s.n_embd, n_expert],
            TensorType::F32,
        ));
        m.tensors.push(tensor(
            &format!("{p}ffn_gate_exps.weight"),
            &[s.n_embd, s.n_ff, n_expert],
            bf,
        ));
        m.tensors.push(tensor(
            &format!("{p}ffn_up_exps.weight"),
            &[s.n_embd, s.n_ff, n_expert],
            bf,
        ));
        m.tensors.push(tensor(
            &format!("{p}ffn_down_exps.weight"),
            &[s.n_ff, s.n_embd, n_expert],
            bf,
        ));
    }
    m
}

#[test]
fn bartowski_mixtral_8x22b_file_sizes() {
    // bartowski/Mixtral-8x22B-v0.1-GGUF README (llama.cpp b2636), GB = 1e9, file includes a small header.
    // n_expert == 8 turns on llama.cpp's expert rules: attn_v/attn_k -> Q8_0, attn_output -> Q5_K.
    let s = Shape {
        n_layer: 56,
        n_embd: 6144,
        n_head: 48,
        n_head_kv: 8,
        n_ff: 16384,
        n_vocab: 32000,
        tied: false,
        rope_freqs: false,
    };
    let m = mixtral(&s, 8);
    let cases: &[(&str, f64)] = &[
        ("Q5_K_M", 99.96),
        ("Q5_K_S", 96.97),
        ("Q4_K_M", 85.58),
        ("Q4_K_S", 80.47),
        ("Q3_K_L", 72.57),
        ("Q3_K_M", 67.78),
        ("Q3_K_S", 61.49),
        ("Q2_K", 52.10),
    ];
    println!("Mixtral-8x22B, tensor bytes vs bartowski file size (GB)");
    let mut bad = vec![];
    for (q, published) in cases {
        let r = requantize(&m, &parse_target(q).unwrap()).unwrap();
        let gb = r.weights_bytes() as f64 / 1e9;
        let diff = (gb - published) / published * 100.0;
        println!("{q:<7} {gb:>10.3} {published:>10.2} {diff:>8.3}");
        if diff.abs() > 0.5 {
            bad.push(format!(
                "{q}: predicted {gb:.3} GB vs published {published} GB ({diff:.2}%)"
            ));
        }
    }
    let r = requantize(&m, &parse_target("Q4_K_M").unwrap()).unwrap();
    assert_eq!(ty_of(&r, "blk.7.attn_v.weight"), TensorType::Q8_0);
    assert_eq!(ty_of(&r, "blk.7.attn_k.weight"), TensorType::Q8_0);
    assert_eq!(ty_of(&r, "blk.7.attn_output.weight"), TensorType::Q5_K);
    assert_eq!(ty_of(&r, "blk.0.ffn_down_exps.weight"), TensorType::Q6_K);
    assert_eq!(ty_of(&r, "blk.7.ffn_down_exps.weight"), TensorType::Q4_K);
    assert_eq!(ty_of(&r, "blk.7.ffn_gate_inp.weight"), TensorType::F32);
    assert!(bad.is_empty(), "{bad:#?}");
}
