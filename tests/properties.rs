//! Property tests of the model readers against their writers, and against hostile bytes:
//!
//! - GGUF: random metadata of every value type (nested arrays to the 4-deep limit included) and random
//!   tensor lists survive writer → reader unchanged (floats bit for bit); the reader consumes exactly the
//!   unpadded header; random llama-shaped files give back the hyperparameters they were built from.
//! - safetensors: random tensor lists written by the `safetensors` crate's own serializer parse back to
//!   the same names, dtypes, shapes, sizes and contiguous offsets.
//! - Truncating either format at any offset, or replacing any single byte, gives `Ok` or a one-line
//!   `BadInput` naming the file — never a panic (no `catch_unwind`: a panic fails the test).

use ::safetensors::Dtype;
use headroom::Error;
use headroom::model::TensorType;
use headroom::model::gguf::{self, GgufWriter, Value, ValueType, llama_like, read_header};
use headroom::model::safetensors::{self, writer::WTensor};
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::collections::HashMap;

// ---------------------------------------------------------------- strategies

fn scalar_of(ty: ValueType) -> BoxedStrategy<Value> {
    match ty {
        ValueType::U8 => any::<u8>().prop_map(Value::U8).boxed(),
        ValueType::I8 => any::<i8>().prop_map(Value::I8).boxed(),
        ValueType::U16 => any::<u16>().prop_map(Value::U16).boxed(),
        ValueType::I16 => any::<i16>().prop_map(Value::I16).boxed(),
        ValueType::U32 => any::<u32>().prop_map(Value::U32).boxed(),
        ValueType::I32 => any::<i32>().prop_map(Value::I32).boxed(),
        ValueType::U64 => any::<u64>().prop_map(Value::U64).boxed(),
        ValueType::I64 => any::<i64>().prop_map(Value::I64).boxed(),
        // Any bit pattern, NaNs and infinities included.
        ValueType::F32 => any::<u32>()
            .prop_map(|b| Value::F32(f32::from_bits(b)))
            .boxed(),
        ValueType::F64 => any::<u64>()
            .prop_map(|b| Value::F64(f64::from_bits(b)))
            .boxed(),
        ValueType::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        ValueType::String => ".{0,24}".prop_map(Value::String).boxed(),
        ValueType::Array => unreachable!("arrays are built by array_of"),
    }
}

const SCALARS: [ValueType; 12] = [
    ValueType::U8,
    ValueType::I8,
    ValueType::U16,
    ValueType::I16,
    ValueType::U32,
    ValueType::I32,
    ValueType::U64,
    ValueType::I64,
    ValueType::F32,
    ValueType::F64,
    ValueType::Bool,
    ValueType::String,
];

/// An array at nesting depth `depth` (1 = a top-level array); deeper arrays only while the reader's
/// limit allows.
fn array_of(depth: u32) -> BoxedStrategy<Value> {
    let flat = prop::sample::select(&SCALARS[..])
        .prop_flat_map(|ty| {
            prop::collection::vec(scalar_of(ty), 0..6).prop_map(move |v| Value::array(ty, v))
        })
        .boxed();
    if depth >= gguf::MAX_ARRAY_DEPTH {
        return flat;
    }
    prop_oneof![
        3 => flat,
        1 => prop::collection::vec(array_of(depth + 1), 0..3)
            .prop_map(|v| Value::array(ValueType::Array, v)),
    ]
    .boxed()
}

fn any_value() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => prop::sample::select(&SCALARS[..]).prop_flat_map(scalar_of),
        1 => array_of(1),
    ]
    .boxed()
}

/// Types a GGUF tensor can have (those with a ggml id).
fn gguf_types() -> Vec<TensorType> {
    TensorType::ALL
        .iter()
        .copied()
        .filter(|t| t.info().ggml_id.is_some())
        .collect()
}

#[derive(Debug, Clone)]
struct TensorSpec {
    name: String,
    ty: TensorType,
    shape: Vec<u64>,
}

fn tensor_spec() -> impl Strategy<Value = TensorSpec> {
    (
        "[a-z0-9_.]{1,16}",
        prop::sample::select(gguf_types()),
        0u64..4,
        prop::collection::vec(0u64..5, 0..4),
    )
        .prop_map(|(name, ty, blocks, rest)| {
            // ne0 must be a whole number of blocks; 0 dims is a scalar.
            let mut shape = vec![blocks * ty.block_elems()];
            shape.extend(rest);
            if name.len() % 5 == 0 && ty.block_elems() == 1 {
                shape.clear();
            }
            TensorSpec { name, ty, shape }
        })
}

#[derive(Debug, Clone)]
struct GgufCase {
    version: u32,
    alignment_log2: Option<u32>,
    kvs: Vec<(String, Value)>,
    tensors: Vec<TensorSpec>,
}

fn gguf_case() -> impl Strategy<Value = GgufCase> {
    (
        prop::sample::select(vec![2u32, 3]),
        prop::option::of(0u32..9),
        prop::collection::vec(any_value(), 0..12),
        prop::collection::vec(tensor_spec(), 0..8),
    )
        .prop_map(|(version, alignment_log2, values, tensors)| {
            // Keys are unique by construction; tensor names are made unique the same way.
            let kvs = values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("k{i}.{}", v.value_type().id()), v))
                .collect();
            let tensors = tensors
                .into_iter()
                .enumerate()
                .map(|(i, mut t)| {
                    t.name = format!("{}.{i}", t.name);
                    t
                })
                .collect();
            GgufCase {
                version,
                alignment_log2,
                kvs,
                tensors,
            }
        })
}

impl GgufCase {
    fn writer(&self) -> GgufWriter {
        let mut w = GgufWriter::new();
        w.version(self.version);
        for (k, v) in &self.kvs {
            w.kv(k, v.clone());
        }
        if let Some(l) = self.alignment_log2 {
            w.alignment(1 << l);
        }
        for t in &self.tensors {
            w.tensor_zeroed(&t.name, &t.shape, t.ty);
        }
        w
    }

    fn alignment(&self) -> u64 {
        self.alignment_log2.map_or(32, |l| 1 << l)
    }
}

/// Structural equality with floats compared bit for bit (NaN == NaN of the same bits).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::F32(x), Value::F32(y)) => x.to_bits() == y.to_bits(),
        (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
        (Value::Array(ta, xa, na), Value::Array(tb, xb, nb)) => {
            ta == tb
                && na == nb
                && xa.len() == xb.len()
                && xa.iter().zip(xb).all(|(x, y)| same(x, y))
        }
        _ => a == b,
    }
}

/// A `BadInput` for `file` whose message is one line.
fn assert_clean(r: &headroom::Result<impl std::fmt::Debug>, file: &str) {
    match r {
        Ok(_) => {}
        Err(Error::BadInput { file: f, msg }) => {
            assert_eq!(f, file);
            assert!(!msg.is_empty());
            assert!(
                !msg.contains('\n') && !msg.contains('\r'),
                "two lines: {msg}"
            );
        }
        Err(e) => panic!("expected BadInput for {file}, got {e:?}"),
    }
}

// ---------------------------------------------------------------- GGUF

proptest! {
    #![proptest_config(Config::with_cases(256))]

    #[test]
    fn gguf_round_trip(case in gguf_case()) {
        let w = case.writer();
        let bytes = w.header_bytes();
        let h = read_header(&bytes[..], "p.gguf").unwrap();

        prop_assert_eq!(h.version, case.version);
        prop_assert_eq!(h.alignment, case.alignment());
        // Metadata in order: the keys given, then general.alignment if set.
        let mut want = case.kvs.clone();
        if case.alignment_log2.is_some() {
            want.push(("general.alignment".into(), Value::U32(case.alignment() as u32)));
        }
        prop_assert_eq!(h.metadata.len(), want.len());
        for ((k, v), (wk, wv)) in h.metadata.iter().zip(&want) {
            prop_assert_eq!(k, wk);
            prop_assert!(same(v, wv), "{k}: read {v:?}, wrote {wv:?}");
        }

        // Tensors: names, shapes, types, sizes from block arithmetic, aligned non-overlapping offsets.
        prop_assert_eq!(h.tensors.len(), case.tensors.len());
        let mut prev_end = 0u64;
        for (t, s) in h.tensors.iter().zip(&case.tensors) {
            prop_assert_eq!(&t.name, &s.name);
            prop_assert_eq!(&t.shape, &s.shape);
            prop_assert_eq!(t.ty, s.ty);
            let n: u64 = s.shape.iter().product();
            prop_assert_eq!(t.n_elements, n);
            prop_assert_eq!(t.n_bytes, n / s.ty.block_elems() * s.ty.block_bytes());
            prop_assert_eq!(t.offset % case.alignment(), 0);
            prop_assert!(t.offset >= prev_end, "tensor {} overlaps the one before", t.name);
            prev_end = t.offset + t.n_bytes;
        }
        // The data section starts where the writer padded the header to.
        prop_assert_eq!(h.data_offset, bytes.len() as u64);
        prop_assert!(h.header_bytes <= h.data_offset);
        prop_assert!(h.data_offset - h.header_bytes < case.alignment());
        prop_assert!(h.check_data_bounds(w.file_size(), "p.gguf").is_ok());
        if w.file_size() > h.data_offset && h.data_end() > 0 {
            // One byte short of the last tensor's end is caught.
            let short = h.data_offset + h.data_end() - 1;
            prop_assert!(h.check_data_bounds(short, "p.gguf").is_err());
        }
    }

    /// Cutting the header anywhere is an error exactly when the cut falls before the header's end.
    #[test]
    fn gguf_truncation_anywhere(case in gguf_case(), cut in any::<prop::sample::Index>()) {
        let bytes = case.writer().header_bytes();
        let full = read_header(&bytes[..], "p.gguf").unwrap();
        let at = cut.index(bytes.len() + 1);
        let r = read_header(&bytes[..at], "p.gguf");
        assert_clean(&r, "p.gguf");
        prop_assert_eq!(r.is_ok(), at as u64 >= full.header_bytes, "cut at {}", at);
    }

    /// Any single byte replaced: Ok or a one-line BadInput, and what parses feeds the
    /// hyperparameter extraction without a panic either.
    #[test]
    fn gguf_corruption_anywhere(
        case in gguf_case(),
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = case.writer().header_bytes();
        let at = pos.index(bytes.len());
        bytes[at] = byte;
        let r = read_header(&bytes[..], "p.gguf");
        assert_clean(&r, "p.gguf");
        if let Ok(h) = r {
            assert_clean(&gguf::hparams_from_gguf(&h, "p.gguf"), "p.gguf");
        }
    }

    /// A llama-shaped file corrupted anywhere, read through the whole file path (header, data bounds,
    /// hyperparameters): Ok or a one-line BadInput naming the file.
    #[test]
    fn gguf_model_corruption_anywhere(
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let m = llama_like(2, 64, 4, 2, 96, 16, TensorType::Q8_0);
        let mut bytes = m.writer().to_bytes();
        let header_len = m.writer().header_bytes().len();
        // Corrupt inside the header (the data is zeros the reader never looks at).
        let at = pos.index(header_len);
        bytes[at] = byte;
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len()));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        std::fs::write(&path, &bytes).unwrap();
        let label = path.display().to_string();
        assert_clean(&gguf::read(&path), &label);
    }

    /// Random llama shapes come back as the hyperparameters they were built from.
    #[test]
    fn gguf_llama_hparams_round_trip(
        n_layer in 1u32..6,
        n_head_kv in 1u32..5,
        group in 1u32..4,
        hd in prop::sample::select(vec![32u64, 64, 128]),
        n_ff in prop::sample::select(vec![32u64, 64, 160]),
        n_vocab in 1u64..40,
        tied in any::<bool>(),
    ) {
        let n_head = n_head_kv * group;
        let n_embd = u64::from(n_head) * hd;
        let mut m = llama_like(n_layer, n_embd, n_head, n_head_kv, n_ff, n_vocab, TensorType::Q8_0);
        m.tied = tied;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        m.writer().write_to(&path).unwrap();
        let d = gguf::read(&path).unwrap();
        let hp = &d.hparams;
        prop_assert_eq!(hp.n_layer, n_layer);
        prop_assert_eq!(hp.n_embd, n_embd);
        prop_assert_eq!(&hp.n_head, &vec![n_head; n_layer as usize]);
        prop_assert_eq!(&hp.n_head_kv, &vec![n_head_kv; n_layer as usize]);
        prop_assert_eq!(&hp.n_ff, &vec![n_ff; n_layer as usize]);
        prop_assert_eq!(hp.head_dim_k, hd);
        prop_assert_eq!(hp.vocab_size, n_vocab);
        // 9 tensors per layer, token_embd, output_norm, and output unless tied.
        prop_assert_eq!(d.tensors.len() as u32, 9 * n_layer + 2 + u32::from(!tied));
    }
}

// ---------------------------------------------------------------- safetensors

const ST_DTYPES: [Dtype; 14] = [
    Dtype::BOOL,
    Dtype::U8,
    Dtype::I8,
    Dtype::F8_E4M3,
    Dtype::F8_E5M2,
    Dtype::I16,
    Dtype::U16,
    Dtype::F16,
    Dtype::BF16,
    Dtype::I32,
    Dtype::U32,
    Dtype::F32,
    Dtype::F64,
    Dtype::I64,
];

fn st_tensors() -> impl Strategy<Value = Vec<WTensor>> {
    prop::collection::vec(
        (
            "[a-zA-Z0-9_.]{1,12}",
            prop::sample::select(&ST_DTYPES[..]),
            prop::collection::vec(0usize..5, 0..4),
        ),
        0..8,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (name, dtype, shape))| WTensor::zeros(&format!("{name}.{i}"), dtype, &shape))
            .collect()
    })
}

fn st_metadata() -> impl Strategy<Value = Option<HashMap<String, String>>> {
    prop::option::of(prop::collection::hash_map("[a-z]{1,6}", ".{0,10}", 0..3))
}

fn write_tmp(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let label = path.display().to_string();
    (dir, path, label)
}

proptest! {
    #![proptest_config(Config::with_cases(256))]

    #[test]
    fn safetensors_round_trip(tensors in st_tensors(), meta in st_metadata()) {
        // The safetensors crate (0.8) serializes no tensors plus `__metadata__` as
        // `{},"__metadata__":{...}}`, which is not JSON; the reader rightly refuses it.
        prop_assume!(!(tensors.is_empty() && meta.is_some()));
        let bytes = safetensors::writer::file_bytes(&tensors, meta.clone());
        let (_d, path, _) = write_tmp(&bytes);
        let h = safetensors::read_header(&path).unwrap();
        prop_assert_eq!(h.header_len + 8 + tensors.iter().map(|t| t.n_bytes()).sum::<u64>(), bytes.len() as u64);
        prop_assert_eq!(&h.metadata, &meta);
        prop_assert_eq!(h.tensors.len(), tensors.len());
        let mut next = 8 + h.header_len;
        for t in &h.tensors {
            let w = tensors.iter().find(|w| w.name == t.name).expect("a written tensor");
            prop_assert_eq!(t.dtype, w.dtype);
            prop_assert_eq!(&t.shape, &w.shape.iter().map(|&d| d as u64).collect::<Vec<_>>());
            prop_assert_eq!(t.n_elements, w.shape.iter().product::<usize>() as u64);
            prop_assert_eq!(t.n_bytes, w.n_bytes());
            // Contiguous in file order, as the format requires.
            prop_assert_eq!(t.offset, next);
            next += t.n_bytes;
        }
        prop_assert_eq!(next, bytes.len() as u64);
    }

    /// A safetensors file cut short anywhere is always an error (its length prefix or its data no
    /// longer adds up), a clean one.
    #[test]
    fn safetensors_truncation_anywhere(tensors in st_tensors(), cut in any::<prop::sample::Index>()) {
        let bytes = safetensors::writer::file_bytes(&tensors, None);
        let at = cut.index(bytes.len());
        let (_d, path, label) = write_tmp(&bytes[..at]);
        let r = safetensors::read_header(&path);
        assert_clean(&r, &label);
        prop_assert!(r.is_err(), "cut at {} of {} parsed", at, bytes.len());
    }

    #[test]
    fn safetensors_corruption_anywhere(
        tensors in st_tensors(),
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = safetensors::writer::file_bytes(&tensors, None);
        let at = pos.index(bytes.len());
        bytes[at] = byte;
        let (_d, path, label) = write_tmp(&bytes);
        assert_clean(&safetensors::read_header(&path), &label);
        assert_clean(&safetensors::read(&path), &label);
    }
}
