//! Writes the seed corpora of the fuzz targets in `fuzz/fuzz_targets/` with headroom's own writers, so
//! every target starts from valid inputs: GGUF headers (every metadata value type, nested arrays, v2 and
//! v3, llama-shaped tensor lists), safetensors files, Hugging Face `config.json`s, and the bundled model
//! specs and hardware profiles.
//!
//! Usage: `cargo run --example fuzz_seeds -- fuzz/corpus` (writes `fuzz/corpus/<target>/seed-*`).

use headroom::model::TensorType;
use headroom::model::gguf::{GgufWriter, Value, ValueType, llama_like};
use headroom::model::safetensors::writer::{TinyLlama, WTensor, file_bytes};
use safetensors::Dtype;
use serde_json::json;
use std::path::Path;

fn put(root: &Path, target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = root.join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("seed-{name}")), bytes)
}

/// A GGUF with one key of every value type, nested arrays and a few tensors of assorted types.
fn gguf_all_types(version: u32) -> GgufWriter {
    let mut w = GgufWriter::new();
    w.version(version)
        .kv("general.architecture", Value::str("llama"))
        .kv("t.u8", Value::U8(7))
        .kv("t.i8", Value::I8(-7))
        .kv("t.u16", Value::U16(700))
        .kv("t.i16", Value::I16(-700))
        .kv("t.u32", Value::U32(70_000))
        .kv("t.i32", Value::I32(-70_000))
        .kv("t.u64", Value::U64(1 << 40))
        .kv("t.i64", Value::I64(-(1 << 40)))
        .kv("t.f32", Value::F32(1.5))
        .kv("t.f64", Value::F64(-2.25))
        .kv("t.bool", Value::Bool(true))
        .kv("t.str", Value::str("héllo"))
        .kv(
            "t.arr",
            Value::array(ValueType::I32, (0..5).map(Value::I32).collect()),
        )
        .kv(
            "t.nested",
            Value::array(
                ValueType::Array,
                vec![
                    Value::array(ValueType::String, vec![Value::str("a"), Value::str("bc")]),
                    Value::array(ValueType::U8, vec![Value::U8(1)]),
                ],
            ),
        )
        .alignment(64)
        .tensor_zeroed("token_embd.weight", &[64, 8], TensorType::Q8_0)
        .tensor_zeroed("blk.0.attn_q.weight", &[256, 4], TensorType::Q4_K)
        .tensor_zeroed("output_norm.weight", &[64], TensorType::F32);
    w
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus".to_string());
    let root = Path::new(&root);

    // gguf_header: header bytes only (the target never reads tensor data).
    put(
        root,
        "gguf_header",
        "all-types-v3",
        &gguf_all_types(3).header_bytes(),
    )?;
    put(
        root,
        "gguf_header",
        "all-types-v2",
        &gguf_all_types(2).header_bytes(),
    )?;
    let mut small = llama_like(2, 64, 4, 2, 128, 32, TensorType::Q8_0);
    put(
        root,
        "gguf_header",
        "llama-q8",
        &small.writer().header_bytes(),
    )?;
    small.ty = TensorType::Q4_K;
    small.n_embd = 256;
    small.n_ff = 512;
    small.head_dim = Some(64);
    small.tied = true;
    small.rope_freqs = true;
    small.file_type = Some(15);
    put(
        root,
        "gguf_header",
        "llama-q4k-tied",
        &small.writer().header_bytes(),
    )?;
    let mut moe = llama_like(1, 64, 4, 4, 64, 16, TensorType::F16);
    moe.arch = "qwen3moe".into();
    moe.vocab_arrays = false;
    let mut mw = moe.writer();
    mw.kv("qwen3moe.expert_count", Value::U32(8))
        .kv("qwen3moe.expert_used_count", Value::U32(2))
        .kv("qwen3moe.expert_feed_forward_length", Value::U32(32));
    put(root, "gguf_header", "qwen3moe", &mw.header_bytes())?;

    // safetensors_header: whole files (8-byte length, JSON header, data).
    let tiny = TinyLlama {
        n_layer: 1,
        n_embd: 8,
        n_head: 2,
        n_head_kv: 1,
        n_ff: 16,
        vocab: 8,
    };
    put(
        root,
        "safetensors_header",
        "tiny-bf16",
        &file_bytes(&tiny.tensors(Dtype::BF16), None),
    )?;
    let meta = [("format".to_string(), "mlx".to_string())].into();
    put(
        root,
        "safetensors_header",
        "tiny-mlx4",
        &file_bytes(&tiny.mlx_tensors(4, 8, Dtype::F16), Some(meta)),
    )?;
    let odd = vec![
        WTensor::zeros("a", Dtype::F8_E4M3, &[3, 5]),
        WTensor::zeros("b", Dtype::I64, &[2]),
        WTensor::zeros("c", Dtype::BOOL, &[0]),
        WTensor::zeros("d", Dtype::U8, &[]),
    ];
    put(
        root,
        "safetensors_header",
        "odd-dtypes",
        &file_bytes(&odd, None),
    )?;

    // hf_config: config.json of several architectures.
    let configs = [
        ("llama", tiny.config()),
        (
            "qwen3moe",
            json!({
                "architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe",
                "hidden_size": 2048, "intermediate_size": 6144, "moe_intermediate_size": 768,
                "num_hidden_layers": 48, "num_attention_heads": 32, "num_key_value_heads": 4, "head_dim": 128,
                "num_experts": 128, "num_experts_per_tok": 8, "decoder_sparse_step": 1, "mlp_only_layers": [],
                "vocab_size": 151936, "max_position_embeddings": 40960, "rope_theta": 1000000.0,
                "sliding_window": null, "use_sliding_window": false, "max_window_layers": 48,
                "tie_word_embeddings": false
            }),
        ),
        (
            "deepseek3",
            json!({
                "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
                "hidden_size": 7168, "intermediate_size": 18432, "moe_intermediate_size": 2048,
                "num_hidden_layers": 61, "num_attention_heads": 128, "num_key_value_heads": 128,
                "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8,
                "first_k_dense_replace": 3, "moe_layer_freq": 1, "kv_lora_rank": 512, "q_lora_rank": 1536,
                "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128, "vocab_size": 129280,
                "max_position_embeddings": 163840, "rope_theta": 10000, "tie_word_embeddings": false
            }),
        ),
        (
            "gemma3",
            json!({
                "architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
                "text_config": {
                    "hidden_size": 3840, "intermediate_size": 15360, "model_type": "gemma3_text",
                    "num_attention_heads": 16, "num_hidden_layers": 48, "num_key_value_heads": 8,
                    "sliding_window": 1024, "layer_types": ["sliding_attention", "full_attention"]
                }
            }),
        ),
        (
            "gpt-oss",
            json!({
                "architectures": ["GptOssForCausalLM"], "hidden_size": 2880, "intermediate_size": 2880,
                "num_hidden_layers": 2, "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 64,
                "num_local_experts": 32, "num_experts_per_tok": 4, "vocab_size": 201088,
                "sliding_window": 128, "layer_types": ["sliding_attention", "full_attention"],
                "max_position_embeddings": 131072
            }),
        ),
    ];
    for (name, cfg) in configs {
        put(root, "hf_config", name, &serde_json::to_vec_pretty(&cfg)?)?;
    }

    // spec_yaml and profile_yaml: every bundled file.
    for (stem, text) in headroom::bundled::MODEL_SPECS {
        put(root, "spec_yaml", stem, text.as_bytes())?;
    }
    for (stem, text) in headroom::bundled::HARDWARE_PROFILES {
        put(root, "profile_yaml", stem, text.as_bytes())?;
    }
    Ok(())
}
