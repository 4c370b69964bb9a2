//! GGUF reader, hyperparameters and writer: round trips, llama.cpp-documented sizes and patterns, and
//! malformed input (every failure a one-line BadInput naming a byte offset or field, never a panic).

use headroom::Error;
use headroom::model::TensorType;
use headroom::model::gguf::{
    self, GgufHeader, GgufWriter, Value, ValueType, hparams_from_gguf, llama_like, read_header,
};

fn parse(bytes: &[u8]) -> headroom::Result<GgufHeader> {
    read_header(bytes, "test.gguf")
}

fn bad_msg(r: headroom::Result<GgufHeader>) -> String {
    match r {
        Err(Error::BadInput { file, msg }) => {
            assert_eq!(file, "test.gguf");
            assert!(!msg.contains('\n'), "one line: {msg}");
            msg
        }
        Err(e) => panic!("expected BadInput, got {e:?}"),
        Ok(_) => panic!("expected an error"),
    }
}

fn all_scalar_values() -> Vec<(String, Value)> {
    vec![
        ("t.u8".into(), Value::U8(200)),
        ("t.i8".into(), Value::I8(-100)),
        ("t.u16".into(), Value::U16(60000)),
        ("t.i16".into(), Value::I16(-30000)),
        ("t.u32".into(), Value::U32(4_000_000_000)),
        ("t.i32".into(), Value::I32(-2_000_000_000)),
        ("t.u64".into(), Value::U64(u64::MAX)),
        ("t.i64".into(), Value::I64(i64::MIN)),
        ("t.f32".into(), Value::F32(1.5e-5)),
        ("t.f64".into(), Value::F64(-2.25e300)),
        ("t.bool.t".into(), Value::Bool(true)),
        ("t.bool.f".into(), Value::Bool(false)),
        ("t.str".into(), Value::str("héllo ✓")),
        ("t.str.empty".into(), Value::str("")),
    ]
}

#[test]
fn round_trip_every_metadata_type_v2_and_v3() {
    for version in [2u32, 3] {
        let mut w = GgufWriter::new();
        w.version(version);
        let mut expect = all_scalar_values();
        // Arrays of every element type, nested arrays to depth 4, an empty array.
        for (k, v) in all_scalar_values() {
            expect.push((
                format!("{k}.arr"),
                Value::array(v.value_type(), vec![v.clone(), v]),
            ));
        }
        let inner = Value::array(ValueType::I16, vec![Value::I16(-1), Value::I16(2)]);
        let d2 = Value::array(
            ValueType::Array,
            vec![inner.clone(), Value::array(ValueType::I16, vec![])],
        );
        let d3 = Value::array(ValueType::Array, vec![d2.clone()]);
        let d4 = Value::array(ValueType::Array, vec![d3.clone(), d3.clone()]);
        expect.push(("nest.2".into(), d2));
        expect.push(("nest.4".into(), d4));
        expect.push(("empty".into(), Value::array(ValueType::U64, vec![])));
        for (k, v) in &expect {
            w.kv(k, v.clone());
        }
        w.tensor("a", &[4, 2], TensorType::F32, (0u8..32).collect());
        let bytes = w.to_bytes();
        let h = parse(&bytes).unwrap();
        assert_eq!(h.version, version);
        assert_eq!(h.metadata, expect);
        assert_eq!(h.alignment, 32);
        assert_eq!(h.data_offset, h.header_bytes.next_multiple_of(32));
        assert_eq!(h.data_offset % 32, 0);
        // the tensor's bytes sit at data_offset
        let off = (h.data_offset + h.tensors[0].offset) as usize;
        assert_eq!(&bytes[off..off + 32], &(0u8..32).collect::<Vec<_>>()[..]);
        assert_eq!(h.get("t.u32").and_then(Value::as_u64), Some(4_000_000_000));
        assert_eq!(h.get_f64("t.f32"), Some(1.5e-5f32 as f64));
        assert_eq!(h.get_str("t.str"), Some("héllo ✓"));
        assert_eq!(h.get("t.i8").and_then(Value::as_i64), Some(-100));
        assert_eq!(h.get("t.i8").and_then(Value::as_u64), None);
    }
}

#[test]
fn long_arrays_keep_4096_elements_and_declared_length() {
    let mut w = GgufWriter::new();
    let n = 5000usize;
    w.kv(
        "u32s",
        Value::array(ValueType::U32, (0..n as u32).map(Value::U32).collect()),
    );
    w.kv(
        "strs",
        Value::array(
            ValueType::String,
            (0..n).map(|i| Value::String(format!("s{i}"))).collect(),
        ),
    );
    let nested = Value::array(ValueType::U8, vec![Value::U8(1); 3]);
    w.kv("nested", Value::array(ValueType::Array, vec![nested; n]));
    w.kv("after", Value::U8(7));
    let h = parse(&w.to_bytes()).unwrap();
    for key in ["u32s", "strs", "nested"] {
        let v = h.get(key).unwrap();
        assert_eq!(v.array_len(), Some(n as u64), "{key}");
        assert_eq!(v.as_array().unwrap().len(), 4096, "{key}");
    }
    assert_eq!(
        h.get("u32s").unwrap().as_array().unwrap()[4095],
        Value::U32(4095)
    );
    assert_eq!(
        h.get("strs").unwrap().as_array().unwrap()[4095],
        Value::str("s4095")
    );
    // skipping the rest left the stream in the right place
    assert_eq!(h.get("after"), Some(&Value::U8(7)));
}

#[test]
fn every_ggml_type_round_trips_with_table_sizes() {
    let mut w = GgufWriter::new();
    let types: Vec<TensorType> = TensorType::ALL
        .iter()
        .copied()
        .filter(|t| t.info().ggml_id.is_some())
        .collect();
    for (i, ty) in types.iter().enumerate() {
        let ne0 = ty.block_elems() * 2;
        let size = (ty.block_bytes() * 2 * 3) as usize;
        let data: Vec<u8> = (0..size).map(|j| (i * 7 + j) as u8).collect();
        w.tensor(&format!("t{i}"), &[ne0, 3], *ty, data);
    }
    let bytes = w.to_bytes();
    let h = parse(&bytes).unwrap();
    assert_eq!(h.tensors.len(), types.len());
    for (i, (t, ty)) in h.tensors.iter().zip(&types).enumerate() {
        assert_eq!(t.ty, *ty);
        assert_eq!(t.shape, vec![ty.block_elems() * 2, 3]);
        assert_eq!(t.n_elements, ty.block_elems() * 6);
        assert_eq!(t.n_bytes, ty.block_bytes() * 6, "{ty}");
        let off = (h.data_offset + t.offset) as usize;
        assert_eq!(off % 32, 0);
        assert_eq!(bytes[off], (i * 7) as u8, "{ty} data at its offset");
        assert_eq!(
            bytes[off + t.n_bytes as usize - 1],
            (i * 7 + t.n_bytes as usize - 1) as u8
        );
    }
}

#[test]
fn tensor_sizes_by_hand() {
    // Q4_K: 256-element blocks of 144 bytes: 4096*4096/256*144 = 9437184.
    // Q8_0: 32-element blocks of 34 bytes; F16 2 bytes; Q6_K 210 bytes per 256.
    let mut w = GgufWriter::new();
    w.tensor_zeroed("q4k", &[4096, 4096], TensorType::Q4_K)
        .tensor_zeroed("q80", &[4096, 4096], TensorType::Q8_0)
        .tensor_zeroed("f16", &[4096, 128256], TensorType::F16)
        .tensor_zeroed("q6k", &[8192, 128256], TensorType::Q6_K);
    let h = parse(&w.header_bytes()).unwrap();
    let sizes: Vec<u64> = h.tensors.iter().map(|t| t.n_bytes).collect();
    assert_eq!(
        sizes,
        vec![9_437_184, 17_825_792, 1_050_673_152, 861_880_320]
    );
}

#[test]
fn read_file_builds_model_desc() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    let mut m = llama_like(2, 256, 4, 2, 512, 300, TensorType::Q8_0);
    m.file_type = Some(7);
    m.writer().write_to(&path).unwrap();
    let d = gguf::read(&path).unwrap();
    assert_eq!(d.architecture, "llama");
    assert_eq!(d.name, "synthetic llama");
    assert_eq!(d.file_type.as_deref(), Some("Q8_0"));
    assert_eq!(d.tensors.len(), 2 + 9 * 2 + 1);
    assert_eq!(d.files, vec![path.clone()]);
    // Q8_0: 34 bytes per 32 elements; norms F32.
    let q8 = |n: u64| n / 32 * 34;
    let per_layer =
        q8(256 * 256) + 2 * q8(256 * 128) + q8(256 * 256) + 3 * q8(256 * 512) + 2 * 256 * 4;
    let expect = 2 * q8(256 * 300) + 2 * per_layer + 256 * 4;
    assert_eq!(d.weights_bytes(), expect);
    let h = gguf::read_file_header(&path).unwrap();
    for (t, ht) in d.tensors.iter().zip(&h.tensors) {
        assert_eq!(t.data.unwrap().offset, h.data_offset + ht.offset);
        assert_eq!(t.data.unwrap().file, 0);
    }
    let hp = &d.hparams;
    assert_eq!(
        (hp.n_layer, hp.n_embd, hp.vocab_size, hp.context_length),
        (2, 256, 300, 4096)
    );
    assert_eq!(hp.n_head, vec![4, 4]);
    assert_eq!(hp.n_head_kv, vec![2, 2]);
    assert_eq!((hp.head_dim_k, hp.head_dim_v), (64, 64));
    assert_eq!(hp.n_ff, vec![512, 512]);
    assert!(!hp.tie_word_embeddings);
    assert_eq!(hp.rope_freq_base, Some(500000.0));
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}

#[test]
fn split_gguf_reads_every_part() {
    let dir = tempfile::tempdir().unwrap();
    let name = |k: u32| dir.path().join(format!("M-Q4_0-{k:05}-of-00003.gguf"));
    let m = llama_like(3, 64, 2, 2, 128, 100, TensorType::F16);
    // Part 1: metadata + token_embd + layer 0; parts 2, 3: one layer each (+ output in 3).
    let mut p1 = m.writer();
    let full = gguf::read_header(&m.writer().to_bytes()[..], "x").unwrap();
    let mut p2 = GgufWriter::new();
    let mut p3 = GgufWriter::new();
    p1 = {
        let mut w = GgufWriter::new();
        for (k, v) in &full.metadata {
            w.kv(k, v.clone());
        }
        w.kv("split.count", Value::U16(3));
        let _ = &mut p1;
        w
    };
    for t in &full.tensors {
        let dst = if t.name.starts_with("blk.1.") {
            &mut p2
        } else if t.name.starts_with("blk.2.") || t.name.starts_with("output") {
            &mut p3
        } else {
            &mut p1
        };
        dst.tensor_zeroed(&t.name, &t.shape, t.ty);
    }
    p1.write_to(name(1)).unwrap();
    p2.write_to(name(2)).unwrap();
    let err = gguf::read(&name(1)).unwrap_err().to_string();
    assert!(
        err.contains("part 3 of 3") && err.contains("M-Q4_0-00003-of-00003.gguf"),
        "{err}"
    );
    p3.write_to(name(3)).unwrap();
    let d = gguf::read(&name(1)).unwrap();
    assert_eq!(d.files.len(), 3);
    assert_eq!(d.tensors.len(), full.tensors.len());
    let whole: u64 = full.tensors.iter().map(|t| t.n_bytes).sum();
    assert_eq!(d.weights_bytes(), whole);
    let out = d
        .tensors
        .iter()
        .find(|t| t.name == "output.weight")
        .unwrap();
    assert_eq!(out.data.unwrap().file, 2);
    assert!(!d.hparams.tie_word_embeddings);
    let e2 = gguf::read(&name(2)).unwrap_err().to_string();
    assert!(e2.contains("pass the first part"), "{e2}");
}

// ---------------------------------------------------------------- hyperparameters

fn header_of(w: &GgufWriter) -> GgufHeader {
    parse(&w.header_bytes()).unwrap()
}

fn base(arch: &str, n_layer: u32, n_embd: u32, n_head: u32, n_kv: u32) -> GgufWriter {
    let mut w = GgufWriter::new();
    w.kv("general.architecture", Value::str(arch))
        .kv(&format!("{arch}.block_count"), Value::U32(n_layer))
        .kv(&format!("{arch}.embedding_length"), Value::U32(n_embd))
        .kv(&format!("{arch}.attention.head_count"), Value::U32(n_head))
        .kv(&format!("{arch}.attention.head_count_kv"), Value::U32(n_kv))
        .kv(&format!("{arch}.context_length"), Value::U32(40960));
    w
}

#[test]
fn hparams_qwen3_explicit_head_dim() {
    // Qwen3-4B config.json: hidden 2560, 36 layers, 32 heads, 8 KV heads, head_dim 128 (≠ 2560/32 = 80).
    let mut w = base("qwen3", 36, 2560, 32, 8);
    w.kv("qwen3.attention.key_length", Value::U32(128))
        .kv("qwen3.attention.value_length", Value::U32(128))
        .kv("qwen3.feed_forward_length", Value::U32(9728))
        .kv("qwen3.rope.freq_base", Value::F32(1_000_000.0))
        .tensor_zeroed("token_embd.weight", &[2560, 151936], TensorType::Q4_K);
    let (hp, warn) = hparams_from_gguf(&header_of(&w), "q").unwrap();
    assert_eq!((hp.head_dim_k, hp.head_dim_v), (128, 128));
    assert_eq!(hp.n_head_kv, vec![8; 36]);
    assert_eq!(hp.vocab_size, 151936, "from token_embd ne1");
    assert!(hp.tie_word_embeddings, "no output.weight");
    assert_eq!(hp.rope_freq_base, Some(1_000_000.0));
    assert!(hp.sliding_window.is_none() && hp.swa_layers.iter().all(|&b| !b));
    assert!(warn.is_empty(), "{warn:?}");
}

#[test]
fn hparams_gemma3_swa_pattern() {
    // Gemma 3 1B: 26 layers, window 512, 5 local layers then 1 global (llama.cpp set_swa_pattern(6)).
    let mut w = base("gemma3", 26, 1152, 4, 1);
    w.kv("gemma3.attention.sliding_window", Value::U32(512))
        .kv("gemma3.attention.key_length", Value::U32(256))
        .kv("gemma3.attention.value_length", Value::U32(256))
        .kv("gemma3.feed_forward_length", Value::U32(6912));
    let (hp, _) = hparams_from_gguf(&header_of(&w), "g").unwrap();
    assert_eq!(hp.sliding_window, Some(512));
    let full: Vec<usize> = (0..26).filter(|&i| !hp.swa_layers[i]).collect();
    assert_eq!(full, vec![5, 11, 17, 23]);
    // An explicit period key overrides the default; a bool array gives the layers directly.
    w.kv("gemma3.attention.sliding_window_pattern", Value::U32(3));
    let (hp, _) = hparams_from_gguf(&header_of(&w), "g").unwrap();
    assert_eq!(hp.swa_layers.iter().filter(|&&b| !b).count(), 8); // layers 2,5,...,23
    let arr = (0..26).map(|i| Value::Bool(i % 2 == 1)).collect();
    w.kv(
        "gemma3.attention.sliding_window_pattern",
        Value::array(ValueType::Bool, arr),
    );
    let (hp, _) = hparams_from_gguf(&header_of(&w), "g").unwrap();
    assert_eq!(
        hp.swa_layers,
        (0..26).map(|i| i % 2 == 1).collect::<Vec<_>>()
    );
    // No window → no SWA even for gemma3.
    let w2 = base("gemma3", 26, 1152, 4, 1);
    let (hp, _) = hparams_from_gguf(&header_of(&w2), "g").unwrap();
    assert_eq!(hp.sliding_window, None);
}

#[test]
fn hparams_gemma2_and_gpt_oss_alternate() {
    let w = base("gemma2", 4, 2304, 8, 4);
    let (hp, warn) = hparams_from_gguf(&header_of(&w), "g").unwrap();
    assert_eq!(
        hp.sliding_window,
        Some(4096),
        "llama.cpp default for gemma2"
    );
    assert_eq!(hp.swa_layers, vec![true, false, true, false]);
    assert!(warn.iter().any(|w| w.contains("assumed 4096")), "{warn:?}");
    // gpt-oss-20b: 24 layers, window 128, even layers SWA; 32 experts, 4 used, expert FFN 2880.
    let mut w = base("gpt-oss", 24, 2880, 64, 8);
    w.kv("gpt-oss.attention.sliding_window", Value::U32(128))
        .kv("gpt-oss.attention.key_length", Value::U32(64))
        .kv("gpt-oss.attention.value_length", Value::U32(64))
        .kv("gpt-oss.expert_count", Value::U32(32))
        .kv("gpt-oss.expert_used_count", Value::U32(4))
        .kv("gpt-oss.expert_feed_forward_length", Value::U32(2880))
        .kv("gpt-oss.feed_forward_length", Value::U32(2880));
    for i in 0..24 {
        w.tensor_zeroed(
            &format!("blk.{i}.ffn_down_exps.weight"),
            &[2880, 2880, 32],
            TensorType::MXFP4,
        );
    }
    let (hp, _) = hparams_from_gguf(&header_of(&w), "o").unwrap();
    assert_eq!(
        hp.swa_layers,
        (0..24).map(|i| i % 2 == 0).collect::<Vec<_>>()
    );
    assert_eq!(hp.n_ff, vec![0; 24], "MoE-only layers have no dense FFN");
    assert_eq!(
        (hp.n_expert, hp.n_expert_used, hp.n_ff_expert),
        (32, 4, 2880)
    );
}

#[test]
fn hparams_qwen3moe() {
    // Qwen3-30B-A3B: 48 layers, hidden 2048, 32 heads / 4 KV, head_dim 128, 128 experts, 8 used, moe FFN 768.
    let mut w = base("qwen3moe", 48, 2048, 32, 4);
    w.kv("qwen3moe.attention.key_length", Value::U32(128))
        .kv("qwen3moe.expert_count", Value::U32(128))
        .kv("qwen3moe.expert_used_count", Value::U32(8))
        .kv("qwen3moe.expert_feed_forward_length", Value::U32(768))
        .kv("qwen3moe.feed_forward_length", Value::U32(6144))
        .tensor_zeroed("output.weight", &[2048, 151936], TensorType::Q6_K);
    for i in 0..48 {
        w.tensor_zeroed(
            &format!("blk.{i}.ffn_down_exps.weight"),
            &[768, 2048, 128],
            TensorType::Q4_K,
        );
    }
    let (hp, _) = hparams_from_gguf(&header_of(&w), "m").unwrap();
    assert!(hp.is_moe());
    assert_eq!(
        (
            hp.n_expert,
            hp.n_expert_used,
            hp.n_ff_expert,
            hp.n_expert_shared
        ),
        (128, 8, 768, 0)
    );
    assert_eq!(hp.n_ff, vec![0; 48]);
    assert_eq!(hp.head_dim_k, 128);
    assert_eq!(hp.head_dim_v, 64, "value_length absent: n_embd / n_head");
    assert!(!hp.tie_word_embeddings);
}

#[test]
fn hparams_deepseek2_mla() {
    // DeepSeek-V3 (new-style conversion): kv_lora 512, q_lora 1536, rope 64, key_length 576 = 512+64,
    // value_length 512, key_length_mla 192 = 128 nope + 64 rope, value_length_mla 128; 1 KV head.
    // 3 leading dense layers (FFN 18432), then 256 experts (8 used, 1 shared, width 2048).
    let mut w = base("deepseek2", 61, 7168, 128, 1);
    w.kv("deepseek2.attention.kv_lora_rank", Value::U32(512))
        .kv("deepseek2.attention.q_lora_rank", Value::U32(1536))
        .kv("deepseek2.rope.dimension_count", Value::U32(64))
        .kv("deepseek2.attention.key_length", Value::U32(576))
        .kv("deepseek2.attention.value_length", Value::U32(512))
        .kv("deepseek2.attention.key_length_mla", Value::U32(192))
        .kv("deepseek2.attention.value_length_mla", Value::U32(128))
        .kv("deepseek2.expert_count", Value::U32(256))
        .kv("deepseek2.expert_used_count", Value::U32(8))
        .kv("deepseek2.expert_shared_count", Value::U32(1))
        .kv("deepseek2.expert_feed_forward_length", Value::U32(2048))
        .kv("deepseek2.leading_dense_block_count", Value::U32(3))
        .kv("deepseek2.feed_forward_length", Value::U32(18432))
        .kv("deepseek2.vocab_size", Value::U32(129280));
    for i in 0..61 {
        if i < 3 {
            w.tensor_zeroed(
                &format!("blk.{i}.ffn_down.weight"),
                &[18432, 7168],
                TensorType::Q4_K,
            );
        } else {
            w.tensor_zeroed(
                &format!("blk.{i}.ffn_down_exps.weight"),
                &[2048, 7168, 256],
                TensorType::Q4_K,
            );
            w.tensor_zeroed(
                &format!("blk.{i}.ffn_up_shexp.weight"),
                &[7168, 2048],
                TensorType::Q4_K,
            );
        }
    }
    let (hp, _) = hparams_from_gguf(&header_of(&w), "d").unwrap();
    let mla = hp.mla.clone().unwrap();
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
    assert_eq!((hp.head_dim_k, hp.head_dim_v), (576, 512));
    assert_eq!(hp.n_head_kv, vec![1; 61]);
    assert_eq!(hp.n_dense_lead, 3);
    assert_eq!(&hp.n_ff[..4], &[18432, 18432, 18432, 0]);
    assert_eq!(hp.n_ff_shexp, 2048);
    assert_eq!(hp.vocab_size, 129280);
    // Old-style conversion (before wkv_b was split): no _mla keys, key_length 192 / value_length 128
    // per head, head_count_kv = head_count. llama.cpp's is_mla() is false for it: it caches full K and V
    // per head (oracle rows deepseek3-legacy-q8_0), so there is no MLA here, and a warning says why.
    let mut w2 = base("deepseek2", 2, 2048, 16, 16);
    w2.kv("deepseek2.attention.kv_lora_rank", Value::U32(512))
        .kv("deepseek2.rope.dimension_count", Value::U32(64))
        .kv("deepseek2.attention.key_length", Value::U32(192))
        .kv("deepseek2.attention.value_length", Value::U32(128));
    let (hp, warnings) = hparams_from_gguf(&header_of(&w2), "d").unwrap();
    assert!(hp.mla.is_none());
    assert_eq!((hp.head_dim_k, hp.head_dim_v), (192, 128));
    assert_eq!(hp.n_head_kv, vec![16; 2]);
    assert!(
        warnings.iter().any(|w| w.contains("without MLA")),
        "{warnings:?}"
    );
}

#[test]
fn hparams_per_layer_arrays_and_vocab_from_tokens() {
    let mut w = base("llama", 4, 512, 8, 2);
    let kv = vec![Value::I32(2), Value::I32(4), Value::I32(0), Value::I32(8)];
    w.kv(
        "llama.attention.head_count_kv",
        Value::array(ValueType::I32, kv),
    )
    .kv(
        "llama.feed_forward_length",
        Value::array(
            ValueType::U32,
            vec![
                Value::U32(1024),
                Value::U32(2048),
                Value::U32(1024),
                Value::U32(4096),
            ],
        ),
    )
    .kv(
        "tokenizer.ggml.tokens",
        Value::array(
            ValueType::String,
            (0..6000).map(|i| Value::String(i.to_string())).collect(),
        ),
    );
    let (hp, _) = hparams_from_gguf(&header_of(&w), "l").unwrap();
    assert_eq!(hp.n_head_kv, vec![2, 4, 0, 8]);
    assert_eq!(hp.n_head_kv_max(), 8);
    assert_eq!(hp.n_ff, vec![1024, 2048, 1024, 4096]);
    assert_eq!(hp.vocab_size, 6000, "declared length, not the 4096 kept");
    // Wrong-length array is a clean error naming the key.
    w.kv(
        "llama.attention.head_count_kv",
        Value::array(ValueType::U32, vec![Value::U32(2); 3]),
    );
    let e = hparams_from_gguf(&header_of(&w), "l")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("llama.attention.head_count_kv") && e.contains("3 entries"),
        "{e}"
    );
}

#[test]
fn hparams_hybrid_ssm_and_unknown_arch() {
    let mut w = base("jamba", 4, 1024, 8, 0);
    w.kv(
        "jamba.attention.head_count_kv",
        Value::array(
            ValueType::U32,
            vec![Value::U32(0), Value::U32(0), Value::U32(0), Value::U32(8)],
        ),
    )
    .kv("jamba.ssm.conv_kernel", Value::U32(4))
    .kv("jamba.ssm.inner_size", Value::U32(2048))
    .kv("jamba.ssm.state_size", Value::U32(16))
    .kv("jamba.ssm.time_step_rank", Value::U32(64));
    let (hp, warn) = hparams_from_gguf(&header_of(&w), "j").unwrap();
    assert_eq!(hp.recurrent_layers, vec![true, true, true, false]);
    assert_eq!(hp.ssm.unwrap().d_inner, 2048);
    assert!(warn.iter().any(|s| s.contains("'jamba'")), "{warn:?}");
    let mut m = GgufWriter::new();
    m.kv("general.architecture", Value::str("mamba"))
        .kv("mamba.block_count", Value::U32(2))
        .kv("mamba.embedding_length", Value::U32(768))
        .kv("mamba.ssm.conv_kernel", Value::U32(4))
        .kv("mamba.ssm.state_size", Value::U32(16));
    let (hp, _) = hparams_from_gguf(&header_of(&m), "m").unwrap();
    assert_eq!(hp.recurrent_layers, vec![true, true]);
    assert_eq!(hp.n_head, vec![0, 0]);
    // Missing required key: one line naming it.
    let mut bad = GgufWriter::new();
    bad.kv("general.architecture", Value::str("llama"));
    let e = hparams_from_gguf(&header_of(&bad), "b")
        .unwrap_err()
        .to_string();
    assert!(e.contains("llama.block_count"), "{e}");
}

// ---------------------------------------------------------------- malformed input

fn small_valid() -> GgufWriter {
    let mut m = llama_like(1, 32, 2, 1, 64, 40, TensorType::Q8_0);
    m.file_type = Some(7);
    let mut w = m.writer();
    w.kv(
        "x.nested",
        Value::array(
            ValueType::Array,
            vec![Value::array(ValueType::U16, vec![Value::U16(1)])],
        ),
    );
    w
}

#[test]
fn truncation_at_every_byte_is_a_clean_error() {
    let w = small_valid();
    let bytes = w.to_bytes();
    let h = parse(&bytes).unwrap();
    assert!(h.header_bytes > 1000);
    for len in 0..h.header_bytes as usize {
        let msg = bad_msg(parse(&bytes[..len]));
        assert!(msg.starts_with("byte "), "len {len}: {msg}");
    }
    // Past the header the header parses; the data check catches every short file.
    // The writer pads the last tensor to the alignment, as gguf-py does.
    let end = h.data_offset + h.data_end();
    assert_eq!(bytes.len() as u64, end.next_multiple_of(32));
    for len in h.header_bytes..end {
        let hh = parse(&bytes[..len as usize]).unwrap();
        let e = hh
            .check_data_bounds(len, "test.gguf")
            .unwrap_err()
            .to_string();
        assert!(e.contains("passes the end of the file"), "{e}");
    }
    h.check_data_bounds(end, "test.gguf").unwrap();
    // And through the file reader.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.gguf");
    std::fs::write(&p, &bytes[..end as usize - 1]).unwrap();
    assert!(matches!(gguf::read(&p), Err(Error::BadInput { .. })));
}

#[test]
fn bad_magic_and_versions() {
    let mut bytes = small_valid().to_bytes();
    bytes[0] = b'X';
    assert!(bad_msg(parse(&bytes)).contains("byte 0: bad magic"));
    for (v, hint) in [
        (1u32, "obsolete"),
        (4, "only versions 2 and 3"),
        (0x0300_0000, "big-endian"),
    ] {
        let mut w = small_valid();
        w.version(v);
        let msg = bad_msg(parse(&w.to_bytes()));
        assert!(
            msg.starts_with("byte 4: GGUF version") && msg.contains(hint),
            "{msg}"
        );
    }
}

fn prelude(n_tensors: u64, n_kv: u64) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&n_tensors.to_le_bytes());
    b.extend_from_slice(&n_kv.to_le_bytes());
    b
}

fn kv_header(b: &mut Vec<u8>, key: &str, ty: u32) {
    b.extend_from_slice(&(key.len() as u64).to_le_bytes());
    b.extend_from_slice(key.as_bytes());
    b.extend_from_slice(&ty.to_le_bytes());
}

#[test]
fn absurd_counts_fail_fast() {
    let huge = 1u64 << 40;
    // 2^40 tensors, 2^40 KVs: just EOF at the first missing record.
    assert!(
        bad_msg(parse(&prelude(huge, 0))).starts_with("byte 24: file ends inside tensor info #0")
    );
    assert!(
        bad_msg(parse(&prelude(0, huge))).starts_with("byte 24: file ends inside metadata key #0")
    );
    // 2^40-element arrays of u8, strings and arrays.
    for elem in [0u32, 8, 9] {
        let mut b = prelude(0, 1);
        kv_header(&mut b, "a", 9);
        b.extend_from_slice(&elem.to_le_bytes());
        b.extend_from_slice(&huge.to_le_bytes());
        b.extend_from_slice(&[1, 0, 0, 0]);
        let msg = bad_msg(parse(&b));
        assert!(msg.contains("metadata 'a'"), "{msg}");
    }
    // 2^64-1 u64 elements: overflow in the skip size is caught.
    let mut b = prelude(0, 1);
    kv_header(&mut b, "a", 9);
    b.extend_from_slice(&10u32.to_le_bytes());
    b.extend_from_slice(&u64::MAX.to_le_bytes());
    assert!(bad_msg(parse(&b)).contains("metadata 'a'"));
    // 2^60-byte string value and key.
    let mut b = prelude(0, 1);
    kv_header(&mut b, "s", 8);
    b.extend_from_slice(&(1u64 << 60).to_le_bytes());
    let msg = bad_msg(parse(&b));
    assert!(
        msg.starts_with("byte 37:") && msg.contains("exceeds the 1 MiB limit"),
        "{msg}"
    );
    let mut b = prelude(0, 1);
    b.extend_from_slice(&(1u64 << 60).to_le_bytes());
    assert!(bad_msg(parse(&b)).contains("1 MiB"));
    // Arrays nested 5 deep.
    let mut b = prelude(0, 1);
    kv_header(&mut b, "deep", 9);
    for _ in 0..5 {
        b.extend_from_slice(&9u32.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes());
    }
    assert!(bad_msg(parse(&b)).contains("nested deeper than 4"));
    // Unknown value type, bool not 0/1.
    let mut b = prelude(0, 1);
    kv_header(&mut b, "t", 13);
    assert!(bad_msg(parse(&b)).contains("unknown metadata value type 13"));
    let mut b = prelude(0, 1);
    kv_header(&mut b, "b", 7);
    b.push(2);
    assert!(bad_msg(parse(&b)).contains("bool value 2"));
}

#[test]
fn bad_tensor_records() {
    let one = |f: &dyn Fn(&mut GgufWriter)| {
        let mut w = GgufWriter::new();
        f(&mut w);
        bad_msg(parse(&w.to_bytes()))
    };
    let m = one(&|w| {
        w.raw_tensor("blk.0.attn_q.weight", &[64, 64], 99, None, 0);
    });
    assert!(
        m.starts_with("byte ") && m.contains("tensor 'blk.0.attn_q.weight': unknown ggml type 99"),
        "{m}"
    );
    let m = one(&|w| {
        w.raw_tensor("big", &[1 << 32, 1 << 32, 2], 0, None, 0);
    });
    assert!(m.contains("tensor 'big'") && m.contains("overflow"), "{m}");
    let m = one(&|w| {
        w.raw_tensor("big", &[1 << 32, 1 << 31], 0, None, 0);
    });
    assert!(m.contains("overflow"), "2^63 elements exceed i64: {m}");
    let m = one(&|w| {
        w.raw_tensor("five", &[1, 1, 1, 1, 1], 0, None, 0);
    });
    assert!(m.contains("tensor 'five': 5 dimensions"), "{m}");
    let m = one(&|w| {
        w.raw_tensor("q", &[100, 2], 12, None, 0);
    });
    assert!(
        m.contains("not a multiple of the Q4_K block size 256"),
        "{m}"
    );
    let m = one(&|w| {
        w.raw_tensor("mis", &[8], 0, Some(7), 32);
    });
    assert!(
        m.contains("tensor 'mis': data offset 7 is not a multiple of the alignment 32"),
        "{m}"
    );
    let m = one(&|w| {
        w.raw_tensor("a", &[8], 0, None, 32)
            .raw_tensor("a", &[8], 0, None, 32);
    });
    assert!(m.contains("appears twice"), "{m}");
    for a in [0u64, 3, 48] {
        let m = one(&|w| {
            w.alignment(a);
        });
        assert!(
            m.contains("general.alignment") && m.contains("power of two"),
            "{a}: {m}"
        );
    }
    // Offsets past the end of the file, through the file reader.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("past.gguf");
    let mut w = GgufWriter::new();
    w.kv("general.architecture", Value::str("llama"));
    w.raw_tensor("t", &[8], 0, Some(1 << 20), 0);
    w.write_to(&p).unwrap();
    let e = gguf::read(&p).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string().contains("tensor 't'") && e.to_string().contains("passes the end"),
        "{e}"
    );
}

#[test]
fn alignment_is_honoured() {
    let mut w = GgufWriter::new();
    w.alignment(64)
        .tensor("a", &[3], TensorType::F32, vec![1; 12])
        .tensor("b", &[5], TensorType::F32, vec![2; 20]);
    let bytes = w.to_bytes();
    let h = parse(&bytes).unwrap();
    assert_eq!(h.alignment, 64);
    assert_eq!(h.data_offset % 64, 0);
    assert_eq!(h.tensors[1].offset, 64);
    assert_eq!(bytes[(h.data_offset + 64) as usize], 2);
}

/// Compare against gguf-py's reader on files gguf-py wrote (see scripts/crosscheck_gguf.py).
#[test]
#[ignore = "needs HEADROOM_GGUF_XCHECK from scripts/crosscheck_gguf.py (pip gguf==0.19.0)"]
fn crosscheck_gguf_py() {
    let dir = std::env::var("HEADROOM_GGUF_XCHECK").expect("set HEADROOM_GGUF_XCHECK");
    let mut n_files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("gguf") {
            continue;
        }
        n_files += 1;
        let want: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p.with_extension("json")).unwrap())
                .unwrap();
        let h = gguf::read_file_header(&p).unwrap();
        assert_eq!(u64::from(h.version), want["version"].as_u64().unwrap());
        assert_eq!(h.alignment, want["alignment"].as_u64().unwrap());
        assert_eq!(h.data_offset, want["data_offset"].as_u64().unwrap());
        let kv = want["kv"].as_object().unwrap();
        assert_eq!(h.metadata.len(), kv.len());
        for (key, w) in kv {
            let v = h.get(key).unwrap_or_else(|| panic!("{key} missing"));
            assert_eq!(
                u64::from(v.value_type().id()),
                w["type"].as_u64().unwrap(),
                "{key}"
            );
            let same = |v: &Value, j: &serde_json::Value| match v {
                Value::String(s) => j.as_str() == Some(s.as_str()),
                Value::Bool(b) => j.as_bool() == Some(*b),
                Value::F32(_) | Value::F64(_) => j.as_f64() == v.as_f64(),
                _ => {
                    j.as_i64().is_some_and(|x| Some(x) == v.as_i64())
                        || j.as_u64().is_some_and(|x| Some(x) == v.as_u64())
                }
            };
            match (v, &w["value"]) {
                (Value::Array(_, items, len), serde_json::Value::Array(js)) => {
                    assert_eq!(*len, w["len"].as_u64().unwrap(), "{key}");
                    assert_eq!(items.len(), js.len().min(4096), "{key}");
                    assert!(items.iter().zip(js).all(|(a, b)| same(a, b)), "{key}");
                }
                (Value::Array(..), serde_json::Value::Null) => {}
                (v, j) => assert!(same(v, j), "{key}: {v:?} vs {j}"),
            }
        }
        let ts = want["tensors"].as_array().unwrap();
        assert_eq!(h.tensors.len(), ts.len());
        for (t, w) in h.tensors.iter().zip(ts) {
            assert_eq!(t.name, w["name"].as_str().unwrap());
            let shape: Vec<u64> = w["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            assert_eq!(t.shape, shape, "{}", t.name);
            assert_eq!(
                t.ty.info().ggml_id.map(u64::from),
                w["type"].as_u64(),
                "{}",
                t.name
            );
            assert_eq!(
                h.data_offset + t.offset,
                w["offset"].as_u64().unwrap(),
                "{}",
                t.name
            );
            assert_eq!(t.n_bytes, w["n_bytes"].as_u64().unwrap(), "{}", t.name);
            assert_eq!(
                t.n_elements,
                w["n_elements"].as_u64().unwrap(),
                "{}",
                t.name
            );
        }
    }
    assert!(n_files > 0, "no .gguf files in {dir}");
}
