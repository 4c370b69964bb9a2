//! GGUF writer: builds valid GGUF bytes (v2 or v3) for tests, fuzz seeds, benchmarks and synthetic models,
//! plus [`LlamaLike`], a builder for small llama-style models with llama.cpp's real tensor names and
//! shapes. Tensor data may be given bytes or a zero length; [`GgufWriter::write_to`] leaves zero data as
//! a sparse hole, so a synthetic 70B file costs only its header on disk.

use super::{DEFAULT_ALIGNMENT, MAGIC, Value, ValueType, align_up};
use crate::model::TensorType;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

/// Tensor data to write.
#[derive(Debug, Clone)]
enum Data {
    Bytes(Vec<u8>),
    Zeros(u64),
}

impl Data {
    fn len(&self) -> u64 {
        match self {
            Data::Bytes(b) => b.len() as u64,
            Data::Zeros(n) => *n,
        }
    }
}

#[derive(Debug, Clone)]
struct WTensor {
    name: String,
    shape: Vec<u64>,
    ggml_type: u32,
    /// Explicit offset (relative to the data section); `None` = next aligned position.
    offset: Option<u64>,
    data: Data,
}

/// Builder of a GGUF file. Metadata and tensors are written in insertion order.
#[derive(Debug, Clone)]
pub struct GgufWriter {
    version: u32,
    alignment: u64,
    kvs: Vec<(String, Value)>,
    tensors: Vec<WTensor>,
}

impl Default for GgufWriter {
    fn default() -> Self {
        Self::new()
    }
}

/// Exact bytes of a tensor of `shape` (GGUF `ne` order) and type `ty`, from the type table.
/// Panics if the row length is not a whole number of blocks (a bug in the caller's fixture).
pub fn tensor_size(shape: &[u64], ty: TensorType) -> u64 {
    let n: u64 = shape.iter().product();
    let ne0 = shape.first().copied().unwrap_or(1);
    ty.tensor_bytes(ne0, n).unwrap_or_else(|| {
        panic!(
            "shape {shape:?}: row {ne0} is not a multiple of {}'s block",
            ty.name()
        )
    })
}

impl GgufWriter {
    /// A version 3 file with the default alignment (32).
    pub fn new() -> Self {
        GgufWriter {
            version: 3,
            alignment: DEFAULT_ALIGNMENT,
            kvs: Vec::new(),
            tensors: Vec::new(),
        }
    }

    /// Set the version field (2 or 3 make valid files; anything else is for bad-input tests).
    pub fn version(&mut self, v: u32) -> &mut Self {
        self.version = v;
        self
    }

    /// Set the data alignment and write `general.alignment` (u32). Non-powers of two are written as
    /// given (for bad-input tests) and data is then padded to 32.
    pub fn alignment(&mut self, a: u64) -> &mut Self {
        self.alignment = a;
        self.kvs.retain(|(k, _)| k != "general.alignment");
        self.kvs
            .push(("general.alignment".into(), Value::U32(a as u32)));
        self
    }

    /// Add a metadata key (replacing an earlier value of the same key).
    pub fn kv(&mut self, key: &str, value: Value) -> &mut Self {
        if let Some(slot) = self.kvs.iter_mut().find(|(k, _)| k == key) {
            slot.1 = value;
        } else {
            self.kvs.push((key.to_string(), value));
        }
        self
    }

    /// Add a tensor with its bytes.
    pub fn tensor(
        &mut self,
        name: &str,
        shape_ne: &[u64],
        ty: TensorType,
        data: Vec<u8>,
    ) -> &mut Self {
        let id = ty
            .info()
            .ggml_id
            .unwrap_or_else(|| panic!("{} has no ggml id", ty.name()));
        self.raw_tensor(name, shape_ne, id, None, data.len() as u64);
        if let Some(t) = self.tensors.last_mut() {
            t.data = Data::Bytes(data);
        }
        self
    }

    /// Add a tensor of zeros sized from the type table (written sparse by [`Self::write_to`]).
    pub fn tensor_zeroed(&mut self, name: &str, shape_ne: &[u64], ty: TensorType) -> &mut Self {
        let id = ty
            .info()
            .ggml_id
            .unwrap_or_else(|| panic!("{} has no ggml id", ty.name()));
        self.raw_tensor(name, shape_ne, id, None, tensor_size(shape_ne, ty))
    }

    /// Add a tensor record with any type id, an optional explicit data offset and `data_len` zero bytes.
    /// Nothing is checked: this is how tests build malformed files.
    pub fn raw_tensor(
        &mut self,
        name: &str,
        shape_ne: &[u64],
        ggml_type: u32,
        offset: Option<u64>,
        data_len: u64,
    ) -> &mut Self {
        self.tensors.push(WTensor {
            name: name.to_string(),
            shape: shape_ne.to_vec(),
            ggml_type,
            offset,
            data: Data::Zeros(data_len),
        });
        self
    }

    fn pad_align(&self) -> u64 {
        if self.alignment.is_power_of_two() {
            self.alignment
        } else {
            DEFAULT_ALIGNMENT
        }
    }

    /// Offsets of each tensor relative to the data section.
    fn offsets(&self) -> Vec<u64> {
        let a = self.pad_align();
        let mut next = 0u64;
        self.tensors
            .iter()
            .map(|t| {
                let off = t.offset.unwrap_or(next);
                next = align_up(off + t.data.len(), a).unwrap_or(u64::MAX);
                off
            })
            .collect()
    }

    /// The header bytes (magic through tensor infos, padded to the alignment).
    pub fn header_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&self.version.to_le_bytes());
        b.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        b.extend_from_slice(&(self.kvs.len() as u64).to_le_bytes());
        for (k, v) in &self.kvs {
            put_str(&mut b, k);
            b.extend_from_slice(&v.value_type().id().to_le_bytes());
            put_value(&mut b, v);
        }
        for (t, off) in self.tensors.iter().zip(self.offsets()) {
            put_str(&mut b, &t.name);
            b.extend_from_slice(&(t.shape.len() as u32).to_le_bytes());
            for d in &t.shape {
                b.extend_from_slice(&d.to_le_bytes());
            }
            b.extend_from_slice(&t.ggml_type.to_le_bytes());
            b.extend_from_slice(&off.to_le_bytes());
        }
        let padded = align_up(b.len() as u64, self.pad_align()).unwrap_or(0) as usize;
        b.resize(padded, 0);
        b
    }

    /// Total file size.
    pub fn file_size(&self) -> u64 {
        let header = self.header_bytes().len() as u64;
        let end = self
            .tensors
            .iter()
            .zip(self.offsets())
            .map(|(t, o)| o + t.data.len())
            .max();
        match end {
            Some(e) => header + align_up(e, self.pad_align()).unwrap_or(e),
            None => header,
        }
    }

    /// The whole file in memory (zero data materialized).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = self.header_bytes();
        let base = b.len();
        let total = self.file_size() as usize;
        b.resize(total, 0);
        for (t, off) in self.tensors.iter().zip(self.offsets()) {
            if let Data::Bytes(d) = &t.data {
                let s = base + off as usize;
                b[s..s + d.len()].copy_from_slice(d);
            }
        }
        b
    }

    /// Write the file; zero data becomes a sparse hole.
    pub fn write_to(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let mut f = std::fs::File::create(path)?;
        let header = self.header_bytes();
        f.write_all(&header)?;
        let base = header.len() as u64;
        for (t, off) in self.tensors.iter().zip(self.offsets()) {
            if let Data::Bytes(d) = &t.data {
                f.seek(SeekFrom::Start(base + off))?;
                f.write_all(d)?;
            }
        }
        f.set_len(self.file_size())?;
        f.flush()
    }
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as u64).to_le_bytes());
    b.extend_from_slice(s.as_bytes());
}

fn put_value(b: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => b.push(*x),
        Value::I8(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::U16(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::U64(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => b.push(u8::from(*x)),
        Value::String(s) => put_str(b, s),
        Value::Array(elem, items, _) => {
            b.extend_from_slice(&elem.id().to_le_bytes());
            b.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for it in items {
                put_value(b, it);
            }
        }
    }
}

/// A small llama-style model with llama.cpp's tensor names and shapes (`ne` order):
/// `token_embd.weight [n_embd, n_vocab]`, per layer `attn_norm`, `attn_q [n_embd, n_head*hd]`,
/// `attn_k`/`attn_v [n_embd, n_head_kv*hd]`, `attn_output [n_head*hd, n_embd]`, `ffn_norm`,
/// `ffn_gate`/`ffn_up [n_embd, n_ff]`, `ffn_down [n_ff, n_embd]`, then `output_norm` and
/// `output.weight [n_embd, n_vocab]` (absent when tied). Norms are F32, the rest `ty`.
#[derive(Debug, Clone)]
pub struct LlamaLike {
    pub arch: String,
    pub name: String,
    pub n_layer: u32,
    pub n_embd: u64,
    pub n_head: u32,
    pub n_head_kv: u32,
    /// Head dimension; `None` = n_embd / n_head (and no key_length/value_length keys).
    pub head_dim: Option<u64>,
    pub n_ff: u64,
    pub n_vocab: u64,
    pub context_length: u64,
    pub ty: TensorType,
    /// llama.cpp `general.file_type` to write, if any.
    pub file_type: Option<u32>,
    pub tied: bool,
    /// Write `rope_freqs.weight [hd/2]` (Llama 3.1 files have it).
    pub rope_freqs: bool,
    /// Write tokenizer.ggml.tokens/scores/token_type arrays of n_vocab entries (else `{arch}.vocab_size`).
    pub vocab_arrays: bool,
}

/// A [`LlamaLike`] with the common defaults (arch `llama`, untied, tokenizer arrays, context 4096).
pub fn llama_like(
    n_layer: u32,
    n_embd: u64,
    n_head: u32,
    n_head_kv: u32,
    n_ff: u64,
    n_vocab: u64,
    ty: TensorType,
) -> LlamaLike {
    LlamaLike {
        arch: "llama".into(),
        name: "synthetic llama".into(),
        n_layer,
        n_embd,
        n_head,
        n_head_kv,
        head_dim: None,
        n_ff,
        n_vocab,
        context_length: 4096,
        ty,
        file_type: None,
        tied: false,
        rope_freqs: false,
        vocab_arrays: true,
    }
}

impl LlamaLike {
    pub fn hd(&self) -> u64 {
        self.head_dim
            .unwrap_or(self.n_embd / u64::from(self.n_head.max(1)))
    }

    /// The writer for this model (tensor data all zeros).
    pub fn writer(&self) -> GgufWriter {
        let a = self.arch.as_str();
        let mut w = GgufWriter::new();
        w.kv("general.architecture", Value::str(a))
            .kv("general.name", Value::str(self.name.clone()))
            .kv(&format!("{a}.block_count"), Value::U32(self.n_layer))
            .kv(
                &format!("{a}.context_length"),
                Value::U32(self.context_length as u32),
            )
            .kv(
                &format!("{a}.embedding_length"),
                Value::U32(self.n_embd as u32),
            )
            .kv(
                &format!("{a}.feed_forward_length"),
                Value::U32(self.n_ff as u32),
            )
            .kv(
                &format!("{a}.attention.head_count"),
                Value::U32(self.n_head),
            )
            .kv(
                &format!("{a}.attention.head_count_kv"),
                Value::U32(self.n_head_kv),
            )
            .kv(&format!("{a}.rope.freq_base"), Value::F32(500000.0))
            .kv(
                &format!("{a}.attention.layer_norm_rms_epsilon"),
                Value::F32(1e-5),
            );
        if let Some(hd) = self.head_dim {
            w.kv(&format!("{a}.attention.key_length"), Value::U32(hd as u32))
                .kv(
                    &format!("{a}.attention.value_length"),
                    Value::U32(hd as u32),
                );
        }
        if let Some(ft) = self.file_type {
            w.kv("general.file_type", Value::U32(ft));
        }
        if self.vocab_arrays {
            let n = self.n_vocab as usize;
            w.kv("tokenizer.ggml.model", Value::str("gpt2"))
                .kv(
                    "tokenizer.ggml.tokens",
                    Value::array(
                        ValueType::String,
                        (0..n).map(|i| Value::String(format!("tok{i}"))).collect(),
                    ),
                )
                .kv(
                    "tokenizer.ggml.scores",
                    Value::array(
                        ValueType::F32,
                        (0..n).map(|i| Value::F32(-(i as f32))).collect(),
                    ),
                )
                .kv(
                    "tokenizer.ggml.token_type",
                    Value::array(ValueType::I32, (0..n).map(|_| Value::I32(1)).collect()),
                );
        } else {
            w.kv(&format!("{a}.vocab_size"), Value::U32(self.n_vocab as u32));
        }
        let (e, v, hd) = (self.n_embd, self.n_vocab, self.hd());
        let q = u64::from(self.n_head) * hd;
        let kv = u64::from(self.n_head_kv) * hd;
        let f32 = TensorType::F32;
        w.tensor_zeroed("token_embd.weight", &[e, v], self.ty);
        if self.rope_freqs {
            w.tensor_zeroed("rope_freqs.weight", &[hd / 2], f32);
        }
        for i in 0..self.n_layer {
            let p = format!("blk.{i}");
            w.tensor_zeroed(&format!("{p}.attn_norm.weight"), &[e], f32)
                .tensor_zeroed(&format!("{p}.attn_q.weight"), &[e, q], self.ty)
                .tensor_zeroed(&format!("{p}.attn_k.weight"), &[e, kv], self.ty)
                .tensor_zeroed(&format!("{p}.attn_v.weight"), &[e, kv], self.ty)
                .tensor_zeroed(&format!("{p}.attn_output.weight"), &[q, e], self.ty)
                .tensor_zeroed(&format!("{p}.ffn_norm.weight"), &[e], f32)
                .tensor_zeroed(&format!("{p}.ffn_gate.weight"), &[e, self.n_ff], self.ty)
                .tensor_zeroed(&format!("{p}.ffn_up.weight"), &[e, self.n_ff], self.ty)
                .tensor_zeroed(&format!("{p}.ffn_down.weight"), &[self.n_ff, e], self.ty);
        }
        w.tensor_zeroed("output_norm.weight", &[e], f32);
        if !self.tied {
            w.tensor_zeroed("output.weight", &[e, v], self.ty);
        }
        w
    }
}
