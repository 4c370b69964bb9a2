//! safetensors reader against outside truth: files written by the `safetensors` crate's own serializer
//! (offsets compared with the crate's full reader), mlx-lm's parameter-count rule, and published
//! config.json values (Qwen3-30B-A3B, DeepSeek-V3, Gemma 3 12B).

use headroom::model::safetensors::writer::{
    TinyLlama, WTensor, file_bytes, mlx_linear, raw_file, write_folder,
};
use headroom::model::safetensors::{INDEX_FILE, read, read_header};
use headroom::model::{HyperParams, MlxQuant, TensorType};
use headroom::{Error, Result};
use safetensors::{Dtype, SafeTensors};
use serde_json::{Value, json};
use std::path::Path;

const TINY: TinyLlama = TinyLlama {
    n_layer: 2,
    n_embd: 64,
    n_head: 4,
    n_head_kv: 2,
    n_ff: 128,
    vocab: 96,
};

fn bad_input(r: Result<impl std::fmt::Debug>) -> (String, String) {
    match r {
        Err(Error::BadInput { file, msg }) => {
            assert!(!msg.contains('\n'), "one line: {msg}");
            (file, msg)
        }
        other => panic!("expected BadInput, got {other:?}"),
    }
}

/// The crate's full reader says where each tensor's bytes are; ours must agree.
fn assert_matches_crate(path: &Path, desc_file: usize, desc: &headroom::model::ModelDesc) {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let base = bytes.as_ptr() as usize;
    let mut n = 0;
    for (name, view) in st.tensors() {
        let t = desc.tensors.iter().find(|t| t.name == name).unwrap();
        let loc = t.data.unwrap();
        assert_eq!(loc.file, desc_file, "{name}");
        assert_eq!(
            loc.offset,
            (view.data().as_ptr() as usize - base) as u64,
            "{name} offset"
        );
        assert_eq!(t.n_bytes, view.data().len() as u64, "{name} bytes");
        assert_eq!(
            t.shape,
            view.shape().iter().map(|&d| d as u64).collect::<Vec<_>>(),
            "{name} shape"
        );
        n += 1;
    }
    assert_eq!(
        desc.tensors
            .iter()
            .filter(|t| t.data.unwrap().file == desc_file)
            .count(),
        n
    );
}

#[test]
fn single_file_with_config_beside() {
    let dir = tempfile::tempdir().unwrap();
    let ts = TINY.tensors(Dtype::BF16);
    let bytes = file_bytes(&ts, None);
    let path = dir.path().join("tiny.safetensors");
    std::fs::write(&path, &bytes).unwrap();
    std::fs::write(dir.path().join("config.json"), TINY.config().to_string()).unwrap();

    let d = read(&path).unwrap();
    assert_matches_crate(&path, 0, &d);
    assert_eq!(d.architecture, "llama");
    assert_eq!(d.name, "tiny");
    assert_eq!(d.file_type.as_deref(), Some("BF16"));
    assert_eq!(d.mlx_quant, None);
    assert_eq!(d.parameters(), TINY.parameters());
    assert_eq!(d.weights_bytes(), 2 * TINY.parameters());
    let h = read_header(&path).unwrap();
    assert_eq!(
        8 + h.header_len + d.weights_bytes(),
        bytes.len() as u64,
        "header + data is the whole file"
    );
    assert_eq!(d.hparams.n_layer, 2);
    assert_eq!(d.hparams.head_dim_k, 16);
    assert_eq!(HyperParams::uniform(&d.hparams.n_head_kv), Some(2));
    assert!(!d.hparams.tie_word_embeddings);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}

#[test]
fn single_file_without_config_still_inventories() {
    let dir = tempfile::tempdir().unwrap();
    let ts = vec![
        WTensor::zeros("a", Dtype::F32, &[3, 5]),
        WTensor::zeros("b", Dtype::F8_E4M3, &[7]),
        WTensor::zeros("c", Dtype::F4, &[4, 2]),
        WTensor::zeros("d", Dtype::F6_E2M3, &[8]),
        WTensor::zeros("e", Dtype::BOOL, &[0, 3]),
        WTensor::zeros("f", Dtype::I64, &[2]),
        WTensor::zeros("g", Dtype::F8_E8M0, &[1]),
    ];
    let path = dir.path().join("weights.safetensors");
    std::fs::write(&path, file_bytes(&ts, None)).unwrap();
    let d = read(&path).unwrap();
    assert_matches_crate(&path, 0, &d);
    assert_eq!(d.architecture, "unknown");
    assert!(d.warnings[0].contains("no config.json"), "{:?}", d.warnings);
    let ty = |n: &str| d.tensors.iter().find(|t| t.name == n).unwrap();
    assert_eq!((ty("c").ty, ty("c").n_bytes), (TensorType::F4, 4));
    assert_eq!((ty("d").ty, ty("d").n_bytes), (TensorType::F6_E2M3, 6));
    assert_eq!((ty("e").n_elements, ty("e").n_bytes), (0, 0));
    assert_eq!(d.file_type.as_deref(), Some("F32"));
}

#[test]
fn sharded_folder_with_index() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("Tiny-Llama");
    let all = TINY.tensors(Dtype::F16);
    let shards: Vec<Vec<WTensor>> = all
        .chunks(all.len().div_ceil(3))
        .map(|c| c.to_vec())
        .collect();
    assert_eq!(shards.len(), 3);
    let paths = write_folder(&folder, &TINY.config(), &shards).unwrap();

    for target in [folder.clone(), folder.join(INDEX_FILE)] {
        let d = read(&target).unwrap();
        assert_eq!(d.name, "Tiny-Llama");
        assert_eq!(d.files, paths);
        for (i, p) in paths.iter().enumerate() {
            assert_matches_crate(p, i, &d);
        }
        let index: Value =
            serde_json::from_slice(&std::fs::read(folder.join(INDEX_FILE)).unwrap()).unwrap();
        assert_eq!(
            d.weights_bytes(),
            index["metadata"]["total_size"].as_u64().unwrap()
        );
        assert_eq!(d.parameters(), TINY.parameters());
        assert_eq!(d.file_type.as_deref(), Some("F16"));
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    }
}

fn mlx_folder(bits: usize, group: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(format!("Tiny-{bits}bit"));
    let mut cfg = TINY.config();
    cfg["quantization"] = json!({ "group_size": group, "bits": bits });
    cfg["quantization_config"] = cfg["quantization"].clone();
    let ts = TINY.mlx_tensors(bits, group, Dtype::BF16);
    write_folder(&folder, &cfg, &[ts]).unwrap();
    (dir, folder)
}

#[test]
fn mlx_4bit_and_8bit_folders() {
    for (bits, group) in [(4usize, 64usize), (8, 32), (4, 32)] {
        let (_tmp, folder) = mlx_folder(bits, group);
        let d = read(&folder).unwrap();
        assert_matches_crate(&folder.join("model.safetensors"), 0, &d);
        assert_eq!(
            d.mlx_quant,
            Some(MlxQuant {
                group_size: group as u32,
                bits: bits as u32
            })
        );
        assert_eq!(
            d.file_type.as_deref(),
            Some(format!("mlx-{bits}bit").as_str())
        );
        // mlx-lm get_total_parameters: packed.size * 32 / bits per quantized layer, scales/biases skipped
        assert_eq!(d.parameters(), TINY.parameters(), "{bits}-bit");
        // bytes: packed weights bits/8 per weight, scales+biases 2 x BF16 per group, norms BF16
        let lin: u64 = TINY.linears().iter().map(|(_, o, i)| (o * i) as u64).sum();
        let norms: u64 = TINY.norms().iter().map(|(_, l)| *l as u64).sum();
        let expect = lin * bits as u64 / 8 + 2 * 2 * lin / group as u64 + 2 * norms;
        assert_eq!(d.weights_bytes(), expect, "{bits}-bit bytes");
        let q = d
            .tensors
            .iter()
            .find(|t| t.name == "model.layers.0.mlp.down_proj.weight")
            .unwrap();
        assert_eq!(
            q.shape,
            vec![64, (128 * bits / 32) as u64],
            "shape as stored (packed)"
        );
        assert_eq!(q.n_elements, 64 * 128);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    }
}

#[test]
fn mlx_mixed_bits_override_and_expert_stack() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("mixed");
    let mut cfg = TINY.config();
    cfg["quantization"] = json!({
        "group_size": 64, "bits": 4,
        "model.layers.0.mlp.down_proj": { "group_size": 64, "bits": 8 }
    });
    let mut ts = TINY.mlx_tensors(4, 64, Dtype::F16);
    ts.retain(|t| !t.name.starts_with("model.layers.0.mlp.down_proj"));
    ts.extend(mlx_linear(
        "model.layers.0.mlp.down_proj",
        64,
        128,
        8,
        64,
        Dtype::F16,
    ));
    // a stacked expert tensor [E, out, in] (mlx-lm switch_mlp)
    let e = 4;
    ts.push(WTensor::zeros(
        "model.layers.1.mlp.switch_mlp.up_proj.weight",
        Dtype::U32,
        &[e, 32, 64 * 4 / 32],
    ));
    ts.push(WTensor::zeros(
        "model.layers.1.mlp.switch_mlp.up_proj.scales",
        Dtype::F16,
        &[e, 32, 1],
    ));
    ts.push(WTensor::zeros(
        "model.layers.1.mlp.switch_mlp.up_proj.biases",
        Dtype::F16,
        &[e, 32, 1],
    ));
    write_folder(&folder, &cfg, &[ts]).unwrap();
    let d = read(&folder).unwrap();
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.parameters(), TINY.parameters() + (e * 32 * 64) as u64);
    assert_eq!(d.file_type.as_deref(), Some("mlx-4bit"));
}

#[test]
fn mlx_packed_without_quantization_config_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("noq");
    write_folder(
        &folder,
        &TINY.config(),
        &[TINY.mlx_tensors(4, 64, Dtype::BF16)],
    )
    .unwrap();
    let (file, msg) = bad_input(read(&folder));
    assert!(file.ends_with("config.json"), "{file}");
    assert!(msg.contains("\"quantization\""), "{msg}");
}

// ---- published configs

/// Qwen/Qwen3-30B-A3B config.json (values as published on the Hugging Face hub).
fn qwen3_30b_a3b() -> Value {
    json!({
        "architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe",
        "hidden_size": 2048, "intermediate_size": 6144, "moe_intermediate_size": 768,
        "num_hidden_layers": 48, "num_attention_heads": 32, "num_key_value_heads": 4, "head_dim": 128,
        "num_experts": 128, "num_experts_per_tok": 8, "decoder_sparse_step": 1, "mlp_only_layers": [],
        "norm_topk_prob": true, "vocab_size": 151936, "max_position_embeddings": 40960,
        "rope_theta": 1000000.0, "rope_scaling": null, "sliding_window": null, "use_sliding_window": false,
        "max_window_layers": 48, "tie_word_embeddings": false, "torch_dtype": "bfloat16"
    })
}

/// deepseek-ai/DeepSeek-V3 config.json (values as published on the Hugging Face hub).
fn deepseek_v3() -> Value {
    json!({
        "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
        "hidden_size": 7168, "intermediate_size": 18432, "moe_intermediate_size": 2048,
        "num_hidden_layers": 61, "num_attention_heads": 128, "num_key_value_heads": 128,
        "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8, "n_group": 8, "topk_group": 4,
        "first_k_dense_replace": 3, "moe_layer_freq": 1, "kv_lora_rank": 512, "q_lora_rank": 1536,
        "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128, "vocab_size": 129280,
        "max_position_embeddings": 163840, "rope_theta": 10000, "num_nextn_predict_layers": 1,
        "tie_word_embeddings": false, "torch_dtype": "bfloat16",
        "quantization_config": { "activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8", "weight_block_size": [128, 128] }
    })
}

/// google/gemma-3-12b-it config.json: the text fields live in text_config, most left to defaults.
fn gemma3_12b_it() -> Value {
    json!({
        "architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
        "boi_token_index": 255999, "eoi_token_index": 256000, "image_token_index": 262144, "mm_tokens_per_image": 256,
        "text_config": {
            "hidden_size": 3840, "intermediate_size": 15360, "model_type": "gemma3_text",
            "num_attention_heads": 16, "num_hidden_layers": 48, "num_key_value_heads": 8,
            "rope_scaling": { "factor": 8.0, "rope_type": "linear" }, "sliding_window": 1024
        },
        "torch_dtype": "bfloat16",
        "vision_config": { "hidden_size": 1152, "image_size": 896, "intermediate_size": 4304,
            "model_type": "siglip_vision_model", "num_attention_heads": 16, "num_hidden_layers": 27, "patch_size": 14 }
    })
}

#[test]
fn qwen3_moe_config() {
    let (arch, hp, w) =
        headroom::model::safetensors::hparams_from_config(&qwen3_30b_a3b(), "config.json").unwrap();
    assert_eq!(arch, "qwen3moe");
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        (hp.n_layer, hp.n_embd, hp.vocab_size, hp.context_length),
        (48, 2048, 151936, 40960)
    );
    assert_eq!(
        (
            hp.n_head0(),
            hp.n_head_kv_max(),
            hp.head_dim_k,
            hp.head_dim_v
        ),
        (32, 4, 128, 128)
    );
    assert_eq!(
        (hp.n_expert, hp.n_expert_used, hp.n_ff_expert),
        (128, 8, 768)
    );
    assert_eq!(
        (hp.n_expert_shared, hp.n_ff_shexp, hp.n_dense_lead),
        (0, 0, 0)
    );
    assert!(hp.n_ff.iter().all(|&f| f == 0), "every layer is MoE");
    assert_eq!(hp.sliding_window, None);
    assert_eq!(hp.rope_freq_base, Some(1e6));
    assert!(hp.mla.is_none());
}

#[test]
fn deepseek_v3_config() {
    let (arch, hp, _) =
        headroom::model::safetensors::hparams_from_config(&deepseek_v3(), "config.json").unwrap();
    assert_eq!(arch, "deepseek2");
    assert_eq!(
        (hp.n_layer, hp.n_embd, hp.vocab_size, hp.context_length),
        (61, 7168, 129280, 163840)
    );
    assert_eq!(
        (hp.n_expert, hp.n_expert_used, hp.n_expert_shared),
        (256, 8, 1)
    );
    assert_eq!(
        (hp.n_ff_expert, hp.n_ff_shexp, hp.n_dense_lead),
        (2048, 2048, 3)
    );
    assert_eq!(&hp.n_ff[..4], &[18432, 18432, 18432, 0]);
    assert_eq!(hp.n_ff.iter().filter(|&&f| f == 0).count(), 58);
    let mla = hp.mla.as_ref().unwrap();
    assert_eq!(
        (
            mla.kv_lora_rank,
            mla.q_lora_rank,
            mla.rope_dim,
            mla.nope_dim,
            mla.v_head_dim
        ),
        (512, 1536, 64, 128, 128)
    );
    assert_eq!((hp.head_dim_k, hp.head_dim_v), (192, 128));
    assert_eq!(HyperParams::uniform(&hp.n_head_kv), Some(128));
}

#[test]
fn gemma3_nested_text_config() {
    let (arch, hp, w) =
        headroom::model::safetensors::hparams_from_config(&gemma3_12b_it(), "config.json").unwrap();
    assert_eq!(arch, "gemma3");
    assert_eq!(
        (hp.n_layer, hp.n_embd, hp.n_head0(), hp.n_head_kv_max()),
        (48, 3840, 16, 8)
    );
    assert_eq!(HyperParams::uniform(&hp.n_ff), Some(15360));
    // Gemma3TextConfig defaults fill the rest, each with a warning
    assert_eq!(
        (hp.head_dim_k, hp.vocab_size, hp.context_length),
        (256, 262208, 131072)
    );
    for field in [
        "head_dim",
        "vocab_size",
        "max_position_embeddings",
        "sliding_window_pattern",
    ] {
        assert!(
            w.iter().any(|m| m.starts_with(field)),
            "warning for {field}: {w:?}"
        );
    }
    // 5 sliding layers then one global: 40 of 48 slide, layers 5, 11, ... are global
    assert_eq!(hp.sliding_window, Some(1024));
    assert_eq!(hp.swa_layers.iter().filter(|&&s| s).count(), 40);
    assert!(!hp.swa_layers[5] && hp.swa_layers[4] && !hp.swa_layers[47]);
    assert!(hp.tie_word_embeddings);
    assert_eq!(hp.rope_freq_base, Some(1e6));
}

#[test]
fn deepseek_folder_fp8_with_moe_tensors() {
    // a scaled-down DeepSeek-V3 folder: FP8 weights with F32 block scales, config with the real field set
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("ds");
    let mut cfg = deepseek_v3();
    cfg["num_hidden_layers"] = json!(1);
    cfg["first_k_dense_replace"] = json!(0);
    let ts = vec![
        WTensor::zeros("model.embed_tokens.weight", Dtype::BF16, &[16, 8]),
        WTensor::zeros(
            "model.layers.0.mlp.experts.0.up_proj.weight",
            Dtype::F8_E4M3,
            &[256, 128],
        ),
        WTensor::zeros(
            "model.layers.0.mlp.experts.0.up_proj.weight_scale_inv",
            Dtype::F32,
            &[2, 1],
        ),
        WTensor::zeros("lm_head.weight", Dtype::BF16, &[16, 8]),
    ];
    write_folder(&folder, &cfg, &[ts]).unwrap();
    let d = read(&folder).unwrap();
    assert_eq!(d.architecture, "deepseek2");
    assert_eq!(d.file_type.as_deref(), Some("F8_E4M3"));
    assert_eq!(d.parameters(), 16 * 8 * 2 + 256 * 128 + 2);
    assert!(
        d.warnings.iter().any(|w| w.contains("quant_method fp8")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn tying_follows_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("tied");
    let mut ts = TINY.tensors(Dtype::BF16);
    ts.retain(|t| t.name != "lm_head.weight");
    write_folder(&folder, &TINY.config(), &[ts]).unwrap();
    let d = read(&folder).unwrap();
    assert!(d.hparams.tie_word_embeddings);
    assert!(
        d.warnings.iter().any(|w| w.contains("tie_word_embeddings")),
        "{:?}",
        d.warnings
    );
}

// ---- bad input: one line naming the file and the field, never a panic

fn write_raw(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn bad_headers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#;
    assert!(read_header(&write_raw(d, "ok.safetensors", &raw_file(ok, 16))).is_ok());

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("short", vec![1, 2, 3], "8-byte header length"),
        (
            "past_eof",
            {
                let mut b = raw_file(ok, 16);
                b[..8].copy_from_slice(&10_000u64.to_le_bytes());
                b
            },
            "past the end",
        ),
        (
            "huge",
            {
                let mut b = raw_file(ok, 16);
                b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
                b
            },
            "limit",
        ),
        ("json", raw_file(r#"{"w":{"dtype":"F32","#, 16), "JSON"),
        ("notobj", raw_file("[1,2]", 0), "JSON"),
        (
            "utf8",
            {
                let mut b = raw_file(ok, 16);
                b[10] = 0xff;
                b
            },
            "UTF-8",
        ),
        (
            "offsets",
            raw_file(
                r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#,
                8,
            ),
            "\"w\"",
        ),
        (
            "size",
            raw_file(
                r#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}"#,
                16,
            ),
            "needs 24",
        ),
        (
            "dtype",
            raw_file(
                r#"{"w":{"dtype":"F7","shape":[2,2],"data_offsets":[0,16]}}"#,
                16,
            ),
            "unknown dtype",
        ),
        (
            "shape",
            raw_file(
                r#"{"w":{"dtype":"F32","shape":"big","data_offsets":[0,16]}}"#,
                16,
            ),
            "\"w\": field \"shape\"",
        ),
        (
            "neg",
            raw_file(
                r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,-16]}}"#,
                16,
            ),
            "field \"data_offsets\"",
        ),
        (
            "nooff",
            raw_file(r#"{"w":{"dtype":"F32","shape":[4]}}"#, 16),
            "\"data_offsets\" is missing",
        ),
        (
            "gap",
            raw_file(
                r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}}"#,
                12,
            ),
            "gap",
        ),
        (
            "overlap",
            raw_file(
                r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#,
                6,
            ),
            "overlaps",
        ),
        (
            "backwards",
            raw_file(
                r#"{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#,
                4,
            ),
            "end before",
        ),
        ("trailing", raw_file(ok, 20), "extra"),
        (
            "f4odd",
            raw_file(
                r#"{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#,
                2,
            ),
            "whole number",
        ),
        (
            "overflow",
            raw_file(
                r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,16]}}"#,
                16,
            ),
            "overflows",
        ),
        (
            "meta",
            raw_file(
                r#"{"__metadata__":{"a":1},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#,
                16,
            ),
            "__metadata__",
        ),
    ];
    for (name, bytes, needle) in cases {
        let p = write_raw(d, &format!("{name}.safetensors"), &bytes);
        let (file, msg) = bad_input(read_header(&p));
        assert_eq!(file, p.display().to_string(), "{name}");
        assert!(msg.contains(needle), "{name}: {msg}");
        // and through the model reader too
        let (file2, _) = bad_input(read(&p));
        assert_eq!(file2, file);
    }
}

#[test]
fn truncation_at_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let ts = vec![
        WTensor::zeros("a", Dtype::BF16, &[3, 4]),
        WTensor {
            name: "b".into(),
            dtype: Dtype::U8,
            shape: vec![5],
            data: vec![1, 2, 3, 4, 5],
        },
    ];
    let full = file_bytes(&ts, Some([("format".to_string(), "pt".to_string())].into()));
    let p = dir.path().join("t.safetensors");
    for cut in 0..full.len() {
        std::fs::write(&p, &full[..cut]).unwrap();
        let (file, _) = bad_input(read_header(&p));
        assert_eq!(file, p.display().to_string());
    }
    std::fs::write(&p, &full).unwrap();
    assert_eq!(read_header(&p).unwrap().tensors.len(), 2);
}

#[test]
fn index_naming_a_missing_shard() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("m");
    let all = TINY.tensors(Dtype::BF16);
    let paths = write_folder(
        &folder,
        &TINY.config(),
        &[all[..5].to_vec(), all[5..].to_vec()],
    )
    .unwrap();
    std::fs::remove_file(&paths[1]).unwrap();
    let (file, msg) = bad_input(read(&folder));
    assert!(file.ends_with(INDEX_FILE), "{file}");
    assert!(msg.contains("model-00002-of-00002.safetensors"), "{msg}");
}

#[test]
fn index_disagreeing_with_shards() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("m");
    let all = TINY.tensors(Dtype::BF16);
    write_folder(
        &folder,
        &TINY.config(),
        &[all[..5].to_vec(), all[5..].to_vec()],
    )
    .unwrap();
    let ip = folder.join(INDEX_FILE);
    let mut index: Value = serde_json::from_slice(&std::fs::read(&ip).unwrap()).unwrap();
    index["weight_map"]["model.ghost.weight"] = json!("model-00001-of-00002.safetensors");
    std::fs::write(&ip, index.to_string()).unwrap();
    let (file, msg) = bad_input(read(&folder));
    assert!(file.ends_with(INDEX_FILE));
    assert!(msg.contains("model.ghost.weight"), "{msg}");

    index["weight_map"]
        .as_object_mut()
        .unwrap()
        .remove("model.ghost.weight");
    index["weight_map"]["lm_head.weight"] = json!("../../etc/passwd");
    std::fs::write(&ip, index.to_string()).unwrap();
    let (_, msg) = bad_input(read(&folder));
    assert!(
        msg.contains("lm_head.weight") && msg.contains("inside the model folder"),
        "{msg}"
    );

    std::fs::write(&ip, "{\"weight_map\": 3}").unwrap();
    let (_, msg) = bad_input(read(&folder));
    assert!(msg.contains("weight_map"), "{msg}");
}

#[test]
fn config_missing_a_field_or_broken() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("m");
    let mut cfg = TINY.config();
    cfg.as_object_mut().unwrap().remove("num_hidden_layers");
    write_folder(&folder, &cfg, &[TINY.tensors(Dtype::BF16)]).unwrap();
    let (file, msg) = bad_input(read(&folder));
    assert!(file.ends_with("config.json"), "{file}");
    assert!(msg.contains("\"num_hidden_layers\""), "{msg}");

    std::fs::write(folder.join("config.json"), "{not json").unwrap();
    let (file, msg) = bad_input(read(&folder));
    assert!(
        file.ends_with("config.json") && msg.contains("JSON"),
        "{msg}"
    );

    std::fs::remove_file(folder.join("config.json")).unwrap();
    let (file, msg) = bad_input(read(&folder));
    assert!(
        file.ends_with("config.json") && msg.contains("missing"),
        "{msg}"
    );
}

#[test]
fn empty_folder_and_missing_path() {
    let dir = tempfile::tempdir().unwrap();
    let (_, msg) = bad_input(read(dir.path()));
    assert!(msg.contains("model.safetensors"), "{msg}");
    let (file, _) = bad_input(read(&dir.path().join("nope.safetensors")));
    assert!(file.ends_with("nope.safetensors"));
}

#[test]
fn corrupting_any_byte_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let ts = vec![
        WTensor::zeros("a", Dtype::F16, &[2, 3]),
        WTensor::zeros("b", Dtype::F4, &[4]),
    ];
    let full = file_bytes(&ts, None);
    let p = dir.path().join("c.safetensors");
    for i in 0..full.len() {
        for v in [0x00u8, 0xff, b'9', b'"', b'}', b'-'] {
            let mut b = full.clone();
            b[i] = v;
            std::fs::write(&p, &b).unwrap();
            match read_header(&p) {
                Ok(h) => assert!(
                    h.tensors.iter().map(|t| t.n_bytes).sum::<u64>() + 8 + h.header_len
                        == b.len() as u64
                ),
                Err(Error::BadInput { msg, .. }) => assert!(!msg.contains('\n')),
                Err(e) => panic!("byte {i} = {v}: {e}"),
            }
        }
    }
}

#[test]
fn empty_packed_tensor_with_absurd_shape_does_not_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("z");
    let mut cfg = TINY.config();
    cfg["quantization"] = json!({ "group_size": 64, "bits": 4 });
    let ts = vec![
        WTensor::zeros("x.weight", Dtype::U32, &[0, 1 << 60]),
        WTensor::zeros("x.scales", Dtype::BF16, &[0, 1]),
        WTensor::zeros("model.norm.weight", Dtype::BF16, &[4]),
    ];
    write_folder(&folder, &cfg, &[ts]).unwrap();
    let d = read(&folder).unwrap();
    assert_eq!(d.parameters(), 4);
    assert!(
        d.warnings.iter().any(|w| w.contains("x.scales")),
        "{:?}",
        d.warnings
    );
}
