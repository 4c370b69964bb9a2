//! Bundled model specs and architecture layouts, checked against outside truth: published parameter
//! totals, tensor counts printed by llama.cpp when loading real GGUF files, and the tensor shapes in
//! llama.cpp's loader (`create_tensor` calls in src/llama-model.cpp / src/models/*.cpp).

use headroom::model::spec::{self, bundled_ids, load, parse_spec};
use headroom::model::{ModelDesc, TensorType, arch};
use headroom::{Error, bundled};

const REQUIRED: &[&str] = &[
    "llama-2-7b",
    "llama-2-13b",
    "llama-2-70b",
    "llama-3.1-8b",
    "llama-3.1-70b",
    "llama-3.1-405b",
    "llama-3.2-1b",
    "llama-3.2-3b",
    "llama-3.3-70b",
    "mistral-7b-v0.3",
    "mixtral-8x7b",
    "mixtral-8x22b",
    "qwen2.5-7b",
    "qwen2.5-14b",
    "qwen2.5-32b",
    "qwen2.5-72b",
    "qwen3-8b",
    "qwen3-32b",
    "qwen3-30b-a3b",
    "qwen3-235b-a22b",
    "gemma-2-9b",
    "gemma-2-27b",
    "gemma-3-27b",
    "phi-4",
    "deepseek-v3",
    "gpt-oss-20b",
    "gpt-oss-120b",
];

fn model(id: &str) -> ModelDesc {
    load(id).unwrap_or_else(|e| panic!("{id}: {e}"))
}

#[test]
fn every_required_spec_is_bundled_and_loads() {
    let ids = bundled_ids();
    for id in REQUIRED {
        assert!(ids.contains(id), "missing bundled spec {id}");
    }
    for (stem, text) in bundled::MODEL_SPECS {
        let s = parse_spec(text, stem).unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!(&s.id, stem, "spec id must equal its file name");
        assert!(
            s.source.starts_with("https://huggingface.co/") && s.source.ends_with("config.json"),
            "{stem}: source"
        );
        let m = model(stem);
        assert!(!m.tensors.is_empty());
        assert_eq!(m.format, headroom::model::ModelFormat::Spec);
        assert_eq!(m.architecture, s.architecture);
        // every tensor's bytes come from the type table
        for t in &m.tensors {
            let row = t.shape[0];
            assert_eq!(
                Some(t.n_bytes),
                t.ty.tensor_bytes(row, t.n_elements),
                "{stem} {}",
                t.name
            );
            assert_eq!(t.n_elements, t.shape.iter().product::<u64>());
        }
        // names are unique
        let mut names: Vec<&str> = m.tensors.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            m.tensors.len(),
            "{stem}: duplicate tensor names"
        );
    }
}

/// Published parameter totals. Within 0.5%.
#[test]
fn parameter_counts_match_published_totals() {
    let cases: &[(&str, f64, &str)] = &[
        // exact safetensors totals (HF model pages; mirrored in an indexed MFU calculator table
        // "HF safetensors confirmed")
        ("llama-2-7b", 6_738_415_616.0, "HF safetensors total"),
        ("llama-2-13b", 13_015_864_320.0, "HF safetensors total"),
        ("llama-2-70b", 68_976_648_192.0, "HF safetensors total"),
        (
            "llama-3.1-8b",
            8_030_261_248.0,
            "HF safetensors total (8.03B)",
        ),
        (
            "llama-3.1-70b",
            70_553_706_496.0,
            "HF safetensors total (70.55B)",
        ),
        (
            "llama-3.3-70b",
            70_553_706_496.0,
            "HF safetensors total (70.55B)",
        ),
        (
            "llama-3.1-405b",
            405.85e9,
            "HF model page: 405.85B (BF16 safetensors)",
        ),
        (
            "llama-3.2-1b",
            1_235_814_400.0,
            "HF safetensors total (1.24B)",
        ),
        (
            "llama-3.2-3b",
            3_212_749_824.0,
            "HF safetensors total (3.21B)",
        ),
        (
            "mixtral-8x7b",
            46_702_792_704.0,
            "HF safetensors total (46.7B)",
        ),
        (
            "mixtral-8x22b",
            140.6e9,
            "HF model page: 141B (140.6B safetensors)",
        ),
        ("mistral-7b-v0.3", 7.25e9, "HF model page: 7.25B"),
        (
            "qwen2.5-7b",
            7.61e9,
            "Qwen2.5-7B model card: Number of Parameters 7.61B",
        ),
        ("qwen2.5-14b", 14.7e9, "Qwen2.5-14B model card: 14.7B"),
        ("qwen2.5-72b", 72.7e9, "Qwen2.5-72B model card: 72.7B"),
        ("qwen3-8b", 8.2e9, "Qwen3-8B model card: 8.2B"),
        ("qwen3-32b", 32.8e9, "Qwen3-32B model card: 32.8B"),
        (
            "qwen3-30b-a3b",
            30.5e9,
            "Qwen3-30B-A3B model card: 30.5B total",
        ),
        (
            "qwen3-235b-a22b",
            235e9,
            "Qwen3-235B-A22B model card: 235B total",
        ),
        ("gemma-2-9b", 9.24e9, "HF model page: 9.24B"),
        ("gemma-2-27b", 27.2e9, "HF model page: 27.2B"),
        ("phi-4", 14.7e9, "HF model page: 14.7B"),
        (
            "deepseek-v3",
            671e9,
            "DeepSeek-V3 model card: 671B main model (+14B MTP module, not converted)",
        ),
        (
            "gpt-oss-20b",
            20.91e9,
            "gpt-oss model card (OpenAI, 2025): 20.91B total",
        ),
        (
            "gpt-oss-120b",
            116.83e9,
            "gpt-oss model card (OpenAI, 2025): 116.83B total",
        ),
    ];
    for (id, expected, source) in cases {
        let got = model(id).parameters() as f64;
        let rel = (got - expected).abs() / expected;
        println!(
            "{id}: {got} vs {expected} ({:+.3}%)",
            (got - expected) / expected * 100.0
        );
        assert!(
            rel < 0.005,
            "{id}: {got} parameters vs {expected} ({source}): off by {:.2}%",
            rel * 100.0
        );
    }
}

/// Tensor counts llama.cpp prints when loading real GGUF files ("loaded meta data with N key-value pairs
/// and M tensors"), as found in public logs and issue threads.
#[test]
fn tensor_counts_match_real_gguf_files() {
    let cases: &[(&str, usize, &str)] = &[
        // 32 layers x 9 + token_embd, output_norm, output + rope_freqs (llama3 rope scaling)
        (
            "llama-3.1-8b",
            292,
            "32*9 + 3 + rope_freqs.weight written by LlamaModel.generate_extra_tensors",
        ),
        (
            "llama-3.1-70b",
            724,
            "80*9 + 3 + rope_freqs (brief / real 70B GGUFs)",
        ),
        (
            "llama-3.2-1b",
            147,
            "Llama-3.2-1B-Instruct-Q6_K.gguf load log: 147 tensors",
        ),
        (
            "qwen2.5-7b",
            339,
            "DeepSeek-R1-Distill-Qwen-7B (Qwen2.5 7B shape) load log: 339 tensors",
        ),
        (
            "qwen3-30b-a3b",
            579,
            "Qwen3-30B-A3B-UD-Q4_K_XL.gguf load log: 579 tensors",
        ),
        (
            "gemma-3-27b",
            808,
            "gemma-3-27b-it-Q4_0.gguf load log: 808 tensors",
        ),
        ("phi-4", 243, "phi-4 conversion notes: 243 total tensors"),
        (
            "deepseek-v3",
            1086,
            "DeepSeek-V3-0324-UD-Q2_K_XL GGUF load log: 1086 tensors (split attn_k_b/attn_v_b)",
        ),
        (
            "gpt-oss-20b",
            459,
            "ggml-org gpt-oss-20b-mxfp4.gguf load log: 459 tensors",
        ),
    ];
    for (id, n, source) in cases {
        assert_eq!(model(id).tensors.len(), *n, "{id}: {source}");
    }
}

fn layer(m: &ModelDesc, il: u32) -> Vec<(String, Vec<u64>, TensorType)> {
    let prefix = format!("blk.{il}.");
    let mut v: Vec<_> = m
        .tensors
        .iter()
        .filter_map(|t| {
            t.name
                .strip_prefix(&prefix)
                .map(|n| (n.to_string(), t.shape.clone(), t.ty))
        })
        .collect();
    v.sort();
    v
}

fn expect(list: &[(&str, &[u64], TensorType)]) -> Vec<(String, Vec<u64>, TensorType)> {
    let mut v: Vec<_> = list
        .iter()
        .map(|(n, s, t)| (n.to_string(), s.to_vec(), *t))
        .collect();
    v.sort();
    v
}

use TensorType::{BF16, F32, MXFP4};

#[test]
fn llama_layer_matches_loader() {
    // llama-model.cpp LLM_ARCH_LLAMA: wq {n_embd, n_embd_head_k*n_head}, wk {n_embd, n_embd_k_gqa}, ...
    let m = model("llama-3.1-8b");
    assert_eq!(
        layer(&m, 0),
        expect(&[
            ("attn_norm.weight", &[4096], F32),
            ("attn_q.weight", &[4096, 4096], BF16),
            ("attn_k.weight", &[4096, 1024], BF16),
            ("attn_v.weight", &[4096, 1024], BF16),
            ("attn_output.weight", &[4096, 4096], BF16),
            ("ffn_norm.weight", &[4096], F32),
            ("ffn_gate.weight", &[4096, 14336], BF16),
            ("ffn_down.weight", &[14336, 4096], BF16),
            ("ffn_up.weight", &[4096, 14336], BF16),
        ])
    );
    let g = |n: &str| {
        m.tensors
            .iter()
            .find(|t| t.name == n)
            .map(|t| (t.shape.clone(), t.ty))
    };
    assert_eq!(g("token_embd.weight"), Some((vec![4096, 128256], BF16)));
    assert_eq!(g("output.weight"), Some((vec![4096, 128256], BF16)));
    assert_eq!(g("output_norm.weight"), Some((vec![4096], F32)));
    // convert_hf_to_gguf.py: freqs = arange(0, head_dim, 2) -> head_dim/2 factors, float32
    assert_eq!(g("rope_freqs.weight"), Some((vec![64], F32)));
    // tied embeddings: no output tensor
    assert!(
        !model("llama-3.2-1b")
            .tensors
            .iter()
            .any(|t| t.name == "output.weight")
    );
}

#[test]
fn qwen3_layer_matches_loader() {
    // llama-model.cpp LLM_ARCH_QWEN3: attn_q_norm / attn_k_norm {n_embd_head_k}; no biases
    let m = model("qwen3-8b");
    assert_eq!(
        layer(&m, 35),
        expect(&[
            ("attn_norm.weight", &[4096], F32),
            ("attn_q.weight", &[4096, 4096], BF16),
            ("attn_k.weight", &[4096, 1024], BF16),
            ("attn_v.weight", &[4096, 1024], BF16),
            ("attn_output.weight", &[4096, 4096], BF16),
            ("attn_q_norm.weight", &[128], F32),
            ("attn_k_norm.weight", &[128], F32),
            ("ffn_norm.weight", &[4096], F32),
            ("ffn_gate.weight", &[4096, 12288], BF16),
            ("ffn_down.weight", &[12288, 4096], BF16),
            ("ffn_up.weight", &[4096, 12288], BF16),
        ])
    );
    // qwen2 adds Q/K/V biases (F32: not ending in .weight)
    let q2 = model("qwen2.5-7b");
    let l = layer(&q2, 0);
    assert!(l.contains(&("attn_q.bias".into(), vec![3584], F32)));
    assert!(l.contains(&("attn_k.bias".into(), vec![512], F32)));
    assert!(l.contains(&("attn_v.bias".into(), vec![512], F32)));
}

#[test]
fn qwen3moe_layer_matches_loader() {
    // llama-model.cpp LLM_ARCH_QWEN3MOE: ffn_gate_inp {n_embd, n_expert},
    // ffn_gate_exps {n_embd, n_ff_exp, n_expert}, ffn_down_exps {n_ff_exp, n_embd, n_expert}.
    // The router is F32: convert_hf_to_gguf.py keeps MODEL_TENSOR.FFN_GATE_INP in float32.
    let m = model("qwen3-30b-a3b");
    assert_eq!(
        layer(&m, 0),
        expect(&[
            ("attn_norm.weight", &[2048], F32),
            ("attn_q.weight", &[2048, 4096], BF16),
            ("attn_k.weight", &[2048, 512], BF16),
            ("attn_v.weight", &[2048, 512], BF16),
            ("attn_output.weight", &[4096, 2048], BF16),
            ("attn_q_norm.weight", &[128], F32),
            ("attn_k_norm.weight", &[128], F32),
            ("ffn_norm.weight", &[2048], F32),
            ("ffn_gate_inp.weight", &[2048, 128], F32),
            ("ffn_gate_exps.weight", &[2048, 768, 128], BF16),
            ("ffn_down_exps.weight", &[768, 2048, 128], BF16),
            ("ffn_up_exps.weight", &[2048, 768, 128], BF16),
        ])
    );
}

#[test]
fn gemma3_layer_matches_loader() {
    // llama-model.cpp LLM_ARCH_GEMMA3: attn_post_norm, ffn_post_norm, q/k norms; tied output
    let m = model("gemma-3-27b");
    assert_eq!(
        layer(&m, 5),
        expect(&[
            ("attn_norm.weight", &[5376], F32),
            ("attn_q.weight", &[5376, 4096], BF16),
            ("attn_k.weight", &[5376, 2048], BF16),
            ("attn_v.weight", &[5376, 2048], BF16),
            ("attn_output.weight", &[4096, 5376], BF16),
            ("attn_q_norm.weight", &[128], F32),
            ("attn_k_norm.weight", &[128], F32),
            ("post_attention_norm.weight", &[5376], F32),
            ("ffn_norm.weight", &[5376], F32),
            ("ffn_gate.weight", &[5376, 21504], BF16),
            ("ffn_down.weight", &[21504, 5376], BF16),
            ("ffn_up.weight", &[5376, 21504], BF16),
            ("post_ffw_norm.weight", &[5376], F32),
        ])
    );
    assert!(!m.tensors.iter().any(|t| t.name == "output.weight"));
    // Gemma3Model.modify_tensors trims token_embd to the tokenizer's rows
    let te = m
        .tensors
        .iter()
        .find(|t| t.name == "token_embd.weight")
        .unwrap();
    assert_eq!(te.shape, vec![5376, 262144]);
    // sliding-window pattern 6: layers 0..4 local, 5 global
    assert_eq!(
        &m.hparams.swa_layers[..7],
        &[true, true, true, true, true, false, true]
    );
}

#[test]
fn deepseek2_layers_match_loader() {
    // src/models/deepseek2.cpp (is_mla): wq_a {n_embd, q_lora_rank}, wq_b {q_lora_rank, n_head*n_embd_head_k_mla},
    // wkv_a_mqa {n_embd, kv_lora_rank + n_embd_head_qk_rope}, wk_b {n_embd_head_qk_nope, kv_lora_rank, n_head},
    // wv_b {kv_lora_rank, n_embd_head_v_mla, n_head}, wo {n_head*n_embd_head_v_mla, n_embd};
    // dense FFN for i < n_layer_dense_lead, else router + exp_probs_b + experts + shared experts
    // {n_embd, n_ff_exp*n_expert_shared}.
    let m = model("deepseek-v3");
    let attn: &[(&str, &[u64], TensorType)] = &[
        ("attn_norm.weight", &[7168], F32),
        ("attn_q_a_norm.weight", &[1536], F32),
        ("attn_kv_a_norm.weight", &[512], F32),
        ("attn_q_a.weight", &[7168, 1536], BF16),
        ("attn_q_b.weight", &[1536, 128 * 192], BF16),
        ("attn_kv_a_mqa.weight", &[7168, 576], BF16),
        ("attn_k_b.weight", &[128, 512, 128], BF16),
        ("attn_v_b.weight", &[512, 128, 128], BF16),
        ("attn_output.weight", &[16384, 7168], BF16),
        ("ffn_norm.weight", &[7168], F32),
    ];
    let mut dense = attn.to_vec();
    dense.extend_from_slice(&[
        ("ffn_gate.weight", &[7168, 18432], BF16),
        ("ffn_down.weight", &[18432, 7168], BF16),
        ("ffn_up.weight", &[7168, 18432], BF16),
    ]);
    assert_eq!(layer(&m, 2), expect(&dense));
    let mut moe = attn.to_vec();
    moe.extend_from_slice(&[
        ("ffn_gate_inp.weight", &[7168, 256], F32),
        ("exp_probs_b.bias", &[256], F32),
        ("ffn_gate_exps.weight", &[7168, 2048, 256], BF16),
        ("ffn_down_exps.weight", &[2048, 7168, 256], BF16),
        ("ffn_up_exps.weight", &[7168, 2048, 256], BF16),
        ("ffn_gate_shexp.weight", &[7168, 2048], BF16),
        ("ffn_down_shexp.weight", &[2048, 7168], BF16),
        ("ffn_up_shexp.weight", &[7168, 2048], BF16),
    ]);
    assert_eq!(layer(&m, 3), expect(&moe));
    // the MTP layer (index 61) is not converted
    assert!(layer(&m, 61).is_empty());
    // FP8 publication: the inventory is the BF16 GGUF, and says so
    assert_eq!(m.file_type.as_deref(), Some("BF16"));
    assert!(m.warnings.iter().any(|w| w.contains("F8_E4M3")));
}

#[test]
fn gpt_oss_layer_matches_loader() {
    // llama-model.cpp LLM_ARCH_OPENAI_MOE: attn_post_norm, biased q/k/v/o, attn_sinks {n_head},
    // router + bias, experts + biases {n_ff_exp, n_expert} / {n_embd, n_expert}; experts stay MXFP4
    let m = model("gpt-oss-20b");
    assert_eq!(
        layer(&m, 0),
        expect(&[
            ("attn_norm.weight", &[2880], F32),
            ("post_attention_norm.weight", &[2880], F32),
            ("attn_q.weight", &[2880, 4096], BF16),
            ("attn_k.weight", &[2880, 512], BF16),
            ("attn_v.weight", &[2880, 512], BF16),
            ("attn_output.weight", &[4096, 2880], BF16),
            ("attn_q.bias", &[4096], F32),
            ("attn_k.bias", &[512], F32),
            ("attn_v.bias", &[512], F32),
            ("attn_output.bias", &[2880], F32),
            ("attn_sinks.weight", &[64], F32),
            ("ffn_gate_inp.weight", &[2880, 32], F32),
            ("ffn_gate_inp.bias", &[32], F32),
            ("ffn_gate_exps.weight", &[2880, 2880, 32], MXFP4),
            ("ffn_down_exps.weight", &[2880, 2880, 32], MXFP4),
            ("ffn_up_exps.weight", &[2880, 2880, 32], MXFP4),
            ("ffn_gate_exps.bias", &[2880, 32], F32),
            ("ffn_down_exps.bias", &[2880, 32], F32),
            ("ffn_up_exps.bias", &[2880, 32], F32),
        ])
    );
    // MXFP4: 17 bytes per 32 weights
    let e = m
        .tensors
        .iter()
        .find(|t| t.name == "blk.0.ffn_up_exps.weight")
        .unwrap();
    assert_eq!(e.n_bytes, 2880 * 2880 * 32 / 32 * 17);
}

#[test]
fn phi3_fuses_qkv_and_gate_up() {
    // llama-model.cpp LLM_ARCH_PHI3: wqkv {n_embd, n_embd + 2*n_embd_gqa}, ffn_up {n_embd, 2*n_ff}
    let m = model("phi-4");
    let l = layer(&m, 0);
    assert!(l.contains(&("attn_qkv.weight".into(), vec![5120, 5120 + 2 * 1280], BF16)));
    assert!(l.contains(&("ffn_up.weight".into(), vec![5120, 2 * 17920], BF16)));
    assert!(!l.iter().any(|(n, _, _)| n == "ffn_gate.weight"));
}

#[test]
fn inventory_at_a_quantized_type_uses_the_type_table() {
    let m = model("llama-3.1-8b");
    let t = arch::inventory_with(
        "llama",
        &m.hparams,
        TensorType::Q8_0,
        arch::Options {
            rope_freqs: true,
            expert_probs_bias: false,
        },
    )
    .unwrap();
    let q = t.iter().find(|t| t.name == "blk.0.attn_q.weight").unwrap();
    assert_eq!(q.n_bytes, 4096 * 4096 / 32 * 34);
    assert_eq!(
        t.iter()
            .find(|t| t.name == "blk.0.attn_norm.weight")
            .unwrap()
            .ty,
        F32
    );
    // a type whose block does not divide the row is refused, not rounded
    let g = model("gpt-oss-20b");
    let e = arch::inventory("gpt-oss", &g.hparams, TensorType::Q4_K).unwrap_err();
    assert!(e.to_string().contains("Q4_K"), "{e}");
    assert!(arch::inventory("mamba9", &m.hparams, BF16).is_err());
}

// ---------------------------------------------------------------------------------------------
// Bad spec files

const GOOD: &str = "id: t\nname: T\narchitecture: llama\nsource: https://huggingface.co/x/y/blob/main/config.json\n\
dtype: BF16\nn_layer: 2\nn_embd: 64\nn_head: 4\nn_head_kv: 2\nn_ff: 128\ncontext_length: 256\nvocab_size: 100\n\
tie_word_embeddings: false\n";

fn bad(text: &str) -> String {
    match parse_spec(text, "my-spec.yaml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e @ Error::BadInput { .. }) => {
            let s = e.to_string();
            assert!(
                s.starts_with("my-spec.yaml: "),
                "error must name the file: {s}"
            );
            assert_eq!(e.exit_code(), 2);
            s
        }
        Err(e) => panic!("wrong error kind: {e:?}"),
    }
}

#[test]
fn good_fixture_parses() {
    let s = parse_spec(GOOD, "my-spec.yaml").unwrap();
    let hp = spec::hparams(&s, "my-spec.yaml").unwrap();
    assert_eq!(hp.head_dim_k, 16);
    assert_eq!(hp.n_head, vec![4, 4]);
    // per-layer lists are accepted
    let s = parse_spec(&GOOD.replace("n_ff: 128", "n_ff: [128, 256]"), "x.yaml").unwrap();
    assert_eq!(spec::hparams(&s, "x.yaml").unwrap().n_ff, vec![128, 256]);
}

#[test]
fn unknown_field_names_the_nearest_valid_one() {
    let e = bad(&GOOD.replace("n_layer: 2", "n_layers: 2"));
    assert!(
        e.contains("`n_layers`") && e.contains("did you mean `n_layer`"),
        "{e}"
    );
    let e = bad(&format!("{GOOD}sliding_windw: 10\n"));
    assert!(e.contains("did you mean `sliding_window`"), "{e}");
}

#[test]
fn missing_field_is_named() {
    let e = bad(&GOOD.replace("vocab_size: 100\n", ""));
    assert!(e.contains("vocab_size"), "{e}");
}

#[test]
fn impossible_values_name_the_field() {
    let e = bad(&GOOD.replace("n_layer: 2", "n_layer: 0"));
    assert!(e.contains("n_layer"), "{e}");
    let e = bad(&GOOD.replace("n_head: 4", "n_head: -4"));
    assert!(e.contains("n_head"), "{e}");
    let e = bad(&GOOD.replace("n_layer: 2", "n_layer: -2"));
    assert!(e.contains("n_layer"), "{e}");
    let e = bad(&GOOD.replace("n_head_kv: 2", "n_head_kv: 3"));
    assert!(e.contains("n_head_kv") && e.contains("divide"), "{e}");
    let e = bad(&GOOD.replace("n_ff: 128", "n_ff: [128, 128, 128]"));
    assert!(e.contains("n_ff") && e.contains("3 values"), "{e}");
    let e = bad(&GOOD.replace("n_embd: 64", "n_embd: 0"));
    assert!(e.contains("n_embd"), "{e}");
    let e = bad(&GOOD.replace("n_embd: 64", "n_embd: 66"));
    assert!(e.contains("head_dim"), "{e}");
    let e = bad(&GOOD.replace("architecture: llama", "architecture: lama"));
    assert!(e.contains("architecture") && e.contains("`llama`"), "{e}");
    let e = bad(&GOOD.replace("dtype: BF16", "dtype: BF17"));
    assert!(e.contains("dtype"), "{e}");
    let e = bad(&format!(
        "{GOOD}n_expert: 8\nn_expert_used: 9\nn_ff_expert: 32\n"
    ));
    assert!(e.contains("n_expert_used"), "{e}");
    let e = bad(&GOOD.replace("n_ff: 128", "n_ff: 0"));
    assert!(e.contains("n_ff"), "{e}");
}

#[test]
fn unknown_bundled_id_suggests_one() {
    let e = load("llama-3.1-8").unwrap_err().to_string();
    assert!(e.contains("llama-3.1-8b"), "{e}");
}

#[test]
fn spec_file_path_loads() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tiny.yaml");
    std::fs::write(&p, GOOD).unwrap();
    let m = load(p.to_str().unwrap()).unwrap();
    // 2 layers x 9 + token_embd + output_norm + output
    assert_eq!(m.tensors.len(), 21);
    let bad_path = dir.path().join("bad.yaml");
    std::fs::write(&bad_path, GOOD.replace("n_layer: 2", "n_layers: 2")).unwrap();
    let e = load(bad_path.to_str().unwrap()).unwrap_err().to_string();
    assert!(e.starts_with(bad_path.to_str().unwrap()), "{e}");
}

#[test]
fn type_errors_name_the_field() {
    let e = bad(&GOOD.replace("n_embd: 64", "n_embd: lots"));
    assert!(e.contains("n_embd"), "{e}");
    let e = bad(&GOOD.replace("n_ff: 128", "n_ff: [128, -1]"));
    assert!(e.contains("n_ff"), "{e}");
}

#[test]
fn every_error_is_one_line() {
    // prints what a user sees (cargo test -- --nocapture)
    for t in [
        GOOD.replace("n_layer: 2", "n_layers: 2"),
        GOOD.replace("n_embd: 64", "n_embd: lots"),
        GOOD.replace("n_head: 4", "n_head: -4"),
        GOOD.replace("vocab_size: 100\n", ""),
        GOOD.replace("n_head_kv: 2", "n_head_kv: 3"),
    ] {
        let e = bad(&t);
        assert!(!e.contains('\n'), "{e}");
        println!("{e}");
    }
}
