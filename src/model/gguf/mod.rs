//! GGUF: our own streaming header reader (magic, metadata, tensor infos; never the tensor data), the
//! `ModelDesc` built from it (split files included), hyperparameter extraction ([`hparams`]) and a writer
//! that builds valid GGUF bytes for fixtures, fuzz seeds, benchmarks and synthetic models ([`writer`]).
//!
//! The reader takes any `impl Read` (a `BufReader<File>` here, an HTTP body later) and tracks the byte
//! position. It never allocates from a count the file declares: a lying count just hits end of file.
//! Rules: versions 2 and 3 only; strings capped at 1 MiB; arrays keep their first 4096 elements and skip
//! the rest by streaming; arrays nest at most 4 deep; at most 4 dimensions per tensor; element counts use
//! checked arithmetic; `general.alignment` is a non-zero power of two (default 32). Every failure is one
//! line naming the file and the byte offset or field.

pub mod hparams;
pub mod writer;

pub use hparams::hparams_from_gguf;
pub use writer::{GgufWriter, LlamaLike, llama_like};

use crate::error::{Error, Result};
use crate::model::{DataLoc, ModelDesc, ModelFormat, TensorInfo, TensorType};
use std::collections::HashSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// `GGUF` as the first four bytes of every file.
pub const MAGIC: [u8; 4] = *b"GGUF";
/// Longest string (key or value) we accept, in bytes.
pub const MAX_STRING_BYTES: u64 = 1 << 20;
/// Array elements kept in memory; the rest are skipped (the declared length is kept).
pub const MAX_ARRAY_KEEP: u64 = 4096;
/// Deepest array nesting accepted (an array of arrays is depth 2).
pub const MAX_ARRAY_DEPTH: u32 = 4;
/// `GGML_MAX_DIMS`.
pub const MAX_DIMS: u32 = 4;
/// Alignment of the data section when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// GGUF metadata value type ids (`gguf_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
}

impl ValueType {
    pub const ALL: [ValueType; 13] = [
        ValueType::U8,
        ValueType::I8,
        ValueType::U16,
        ValueType::I16,
        ValueType::U32,
        ValueType::I32,
        ValueType::F32,
        ValueType::Bool,
        ValueType::String,
        ValueType::Array,
        ValueType::U64,
        ValueType::I64,
        ValueType::F64,
    ];

    pub fn from_id(id: u32) -> Option<ValueType> {
        Self::ALL.iter().copied().find(|t| *t as u32 == id)
    }

    pub fn id(self) -> u32 {
        self as u32
    }

    /// Size in bytes of one value of this type, for fixed-size types.
    pub fn fixed_size(self) -> Option<u64> {
        match self {
            ValueType::U8 | ValueType::I8 | ValueType::Bool => Some(1),
            ValueType::U16 | ValueType::I16 => Some(2),
            ValueType::U32 | ValueType::I32 | ValueType::F32 => Some(4),
            ValueType::U64 | ValueType::I64 | ValueType::F64 => Some(8),
            ValueType::String | ValueType::Array => None,
        }
    }
}

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    /// Element type, the kept elements (at most [`MAX_ARRAY_KEEP`]) and the declared length.
    Array(ValueType, Vec<Value>, u64),
}

impl Value {
    /// An array holding all of `items` (declared length = `items.len()`).
    pub fn array(elem: ValueType, items: Vec<Value>) -> Value {
        let n = items.len() as u64;
        Value::Array(elem, items, n)
    }

    pub fn str(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn value_type(&self) -> ValueType {
        match self {
            Value::U8(_) => ValueType::U8,
            Value::I8(_) => ValueType::I8,
            Value::U16(_) => ValueType::U16,
            Value::I16(_) => ValueType::I16,
            Value::U32(_) => ValueType::U32,
            Value::I32(_) => ValueType::I32,
            Value::U64(_) => ValueType::U64,
            Value::I64(_) => ValueType::I64,
            Value::F32(_) => ValueType::F32,
            Value::F64(_) => ValueType::F64,
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
            Value::Array(..) => ValueType::Array,
        }
    }

    /// Any integer type holding a non-negative value.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// Any integer type that fits an i64.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::U64(v) => i64::try_from(v).ok(),
            Value::I8(v) => Some(v.into()),
            Value::I16(v) => Some(v.into()),
            Value::I32(v) => Some(v.into()),
            Value::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    /// Any float or integer type, as f64.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The kept elements of an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(_, items, _) => Some(items),
            _ => None,
        }
    }

    /// Declared length of an array (may exceed the kept elements).
    pub fn array_len(&self) -> Option<u64> {
        match self {
            Value::Array(_, _, n) => Some(*n),
            _ => None,
        }
    }
}

/// One tensor info record.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufTensor {
    pub name: String,
    /// Dimensions in GGUF `ne` order (ne0 = row length first).
    pub shape: Vec<u64>,
    pub ty: TensorType,
    pub n_elements: u64,
    /// Exact bytes, from the type table.
    pub n_bytes: u64,
    /// Offset relative to the start of the data section.
    pub offset: u64,
    /// Byte position of this tensor's info record in the file (for messages).
    pub info_pos: u64,
}

/// A parsed GGUF header.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufHeader {
    pub version: u32,
    pub metadata: Vec<(String, Value)>,
    pub tensors: Vec<GgufTensor>,
    pub alignment: u64,
    /// Absolute offset of the data section: `align_up(header_bytes, alignment)`.
    pub data_offset: u64,
    /// Bytes of magic, counts, metadata and tensor infos.
    pub header_bytes: u64,
}

impl GgufHeader {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Value::as_u64)
    }

    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Option<&str> {
        self.get_str("general.architecture")
    }

    pub fn tensor(&self, name: &str) -> Option<&GgufTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Total bytes of the data section as the tensor infos describe it (end of the last tensor).
    pub fn data_end(&self) -> u64 {
        self.tensors
            .iter()
            .map(|t| t.offset.saturating_add(t.n_bytes))
            .max()
            .unwrap_or(0)
    }

    /// Check that every tensor's data lies inside a file of `file_size` bytes.
    pub fn check_data_bounds(&self, file_size: u64, label: &str) -> Result<()> {
        for t in &self.tensors {
            let end = self
                .data_offset
                .checked_add(t.offset)
                .and_then(|s| s.checked_add(t.n_bytes));
            match end {
                Some(end) if end <= file_size => {}
                _ => {
                    return Err(Error::bad_input(
                        label,
                        format!(
                            "byte {}: tensor '{}': data at {} + {} bytes passes the end of the file ({} bytes); the file is truncated or corrupt, download it again",
                            t.info_pos,
                            t.name,
                            self.data_offset.saturating_add(t.offset),
                            t.n_bytes,
                            file_size
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// llama.cpp's `llama_ftype` as a short label (`15` → `Q4_K_M`), from gguf-py `LlamaFileType`.
pub fn file_type_name(ftype: u64) -> Option<&'static str> {
    Some(match ftype {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        4 => "Q4_1_SOME_F16",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        39 => "NVFP4",
        40 => "Q1_0",
        _ => return None,
    })
}

/// Round `x` up to a multiple of `align` (a power of two); `None` on overflow.
pub fn align_up(x: u64, align: u64) -> Option<u64> {
    debug_assert!(align.is_power_of_two());
    x.checked_add(align - 1).map(|v| v & !(align - 1))
}

struct Rd<'a, R> {
    r: R,
    pos: u64,
    label: &'a str,
}

impl<R: Read> Rd<'_, R> {
    fn err(&self, at: u64, msg: impl std::fmt::Display) -> Error {
        Error::bad_input(self.label, format!("byte {at}: {msg}"))
    }

    fn io_err(&self, at: u64, what: &str, e: io::Error) -> Error {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            self.err(
                at,
                format!("file ends inside {what}; the file is truncated or not a GGUF file"),
            )
        } else {
            self.err(at, format!("reading {what}: {e}"))
        }
    }

    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        let at = self.pos;
        self.r
            .read_exact(&mut b)
            .map_err(|e| self.io_err(at, what, e))?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        self.bytes::<4>(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        self.bytes::<8>(what).map(u64::from_le_bytes)
    }

    /// Skip `n` bytes by streaming them into a sink.
    fn skip(&mut self, n: u64, what: &str) -> Result<()> {
        let at = self.pos;
        let got = io::copy(&mut (&mut self.r).take(n), &mut io::sink())
            .map_err(|e| self.io_err(at, what, e))?;
        self.pos += got;
        if got < n {
            return Err(self.io_err(at, what, io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(())
    }

    /// Read a string length and check it against the cap.
    fn str_len(&mut self, what: &str) -> Result<u64> {
        let at = self.pos;
        let n = self.u64(what)?;
        if n > MAX_STRING_BYTES {
            return Err(self.err(
                at,
                format!("{what}: string length {n} exceeds the 1 MiB limit; the file is corrupt"),
            ));
        }
        Ok(n)
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let n = self.str_len(what)?;
        let at = self.pos;
        let mut buf = Vec::new();
        (&mut self.r)
            .take(n)
            .read_to_end(&mut buf)
            .map_err(|e| self.io_err(at, what, e))?;
        self.pos += buf.len() as u64;
        if (buf.len() as u64) < n {
            return Err(self.io_err(at, what, io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(match String::from_utf8(buf) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    fn value_type(&mut self, what: &str) -> Result<ValueType> {
        let at = self.pos;
        let id = self.u32(what)?;
        ValueType::from_id(id)
            .ok_or_else(|| self.err(at, format!("{what}: unknown metadata value type {id}")))
    }

    fn value(&mut self, ty: ValueType, depth: u32, what: &str) -> Result<Value> {
        Ok(match ty {
            ValueType::U8 => Value::U8(self.bytes::<1>(what)?[0]),
            ValueType::I8 => Value::I8(i8::from_le_bytes(self.bytes::<1>(what)?)),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.bytes::<2>(what)?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.bytes::<2>(what)?)),
            ValueType::U32 => Value::U32(self.u32(what)?),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.bytes::<4>(what)?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.bytes::<4>(what)?)),
            ValueType::U64 => Value::U64(self.u64(what)?),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.bytes::<8>(what)?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.bytes::<8>(what)?)),
            ValueType::Bool => {
                let at = self.pos;
                match self.bytes::<1>(what)?[0] {
                    0 => Value::Bool(false),
                    1 => Value::Bool(true),
                    b => return Err(self.err(at, format!("{what}: bool value {b} is not 0 or 1"))),
                }
            }
            ValueType::String => Value::String(self.string(what)?),
            ValueType::Array => self.array(depth + 1, what)?,
        })
    }

    /// Array header and elements; `depth` is this array's nesting depth (1 = top level).
    fn array(&mut self, depth: u32, what: &str) -> Result<Value> {
        let at = self.pos;
        if depth > MAX_ARRAY_DEPTH {
            return Err(self.err(
                at,
                format!("{what}: arrays nested deeper than {MAX_ARRAY_DEPTH}; the file is corrupt"),
            ));
        }
        let elem = self.value_type(what)?;
        let n = self.u64(what)?;
        let keep = n.min(MAX_ARRAY_KEEP);
        let mut items = Vec::new();
        for _ in 0..keep {
            items.push(self.value(elem, depth, what)?);
        }
        let rest = n - keep;
        if rest > 0 {
            self.skip_values(elem, rest, depth, what)?;
        }
        Ok(Value::Array(elem, items, n))
    }

    fn skip_values(&mut self, elem: ValueType, count: u64, depth: u32, what: &str) -> Result<()> {
        if let Some(size) = elem.fixed_size() {
            let at = self.pos;
            let bytes = count.checked_mul(size).ok_or_else(|| {
                self.err(at, format!("{what}: array of {count} elements overflows"))
            })?;
            return self.skip(bytes, what);
        }
        for _ in 0..count {
            match elem {
                ValueType::String => {
                    let n = self.str_len(what)?;
                    self.skip(n, what)?;
                }
                _ => {
                    let at = self.pos;
                    if depth + 1 > MAX_ARRAY_DEPTH {
                        return Err(self.err(
                            at,
                            format!("{what}: arrays nested deeper than {MAX_ARRAY_DEPTH}; the file is corrupt"),
                        ));
                    }
                    let inner = self.value_type(what)?;
                    let n = self.u64(what)?;
                    self.skip_values(inner, n, depth + 1, what)?;
                }
            }
        }
        Ok(())
    }
}

/// Parse a GGUF header (magic, metadata, tensor infos) from a stream. Reads exactly `header_bytes`
/// bytes; the tensor data is not touched. `label` names the source in errors.
pub fn read_header<R: Read>(r: R, label: &str) -> Result<GgufHeader> {
    let mut rd = Rd { r, pos: 0, label };
    let magic = rd.bytes::<4>("the magic")?;
    if magic != MAGIC {
        return Err(rd.err(
            0,
            format!("bad magic {magic:02x?}, expected \"GGUF\"; this is not a GGUF file"),
        ));
    }
    let version = rd.u32("the version")?;
    if version != 2 && version != 3 {
        let hint = if version.swap_bytes() == 2 || version.swap_bytes() == 3 {
            "big-endian GGUF files are not supported; use a little-endian conversion"
        } else if version == 1 {
            "GGUF v1 is obsolete; convert the model again with a current llama.cpp"
        } else {
            "only versions 2 and 3 are supported"
        };
        return Err(rd.err(4, format!("GGUF version {version}: {hint}")));
    }
    let n_tensors = rd.u64("the tensor count")?;
    let n_kv = rd.u64("the metadata count")?;

    let mut metadata: Vec<(String, Value)> = Vec::new();
    let mut keys = HashSet::new();
    for i in 0..n_kv {
        let at = rd.pos;
        let key = rd.string(&format!("metadata key #{i}"))?;
        let what = format!("metadata '{key}'");
        let ty = rd.value_type(&what)?;
        let value = rd.value(ty, 0, &what)?;
        if !keys.insert(key.clone()) {
            return Err(rd.err(
                at,
                format!("metadata key '{key}' appears twice; the file is corrupt"),
            ));
        }
        metadata.push((key, value));
    }

    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some((_, v)) => match v.as_u64() {
            Some(a) if a.is_power_of_two() => a,
            _ => {
                return Err(Error::bad_input(
                    label,
                    format!("general.alignment = {v:?}: must be a non-zero power of two"),
                ));
            }
        },
    };

    let mut tensors: Vec<GgufTensor> = Vec::new();
    let mut names = HashSet::new();
    for i in 0..n_tensors {
        let info_pos = rd.pos;
        let name = rd.string(&format!("tensor info #{i} name"))?;
        let what = format!("tensor '{name}'");
        let at = rd.pos;
        let n_dims = rd.u32(&what)?;
        if n_dims > MAX_DIMS {
            return Err(rd.err(
                at,
                format!("{what}: {n_dims} dimensions, at most {MAX_DIMS} allowed"),
            ));
        }
        let mut shape = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            shape.push(rd.u64(&what)?);
        }
        let n_elements = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or_else(|| {
                rd.err(
                    at,
                    format!("{what}: dimensions {shape:?} overflow the element count"),
                )
            })?;
        let at = rd.pos;
        let type_id = rd.u32(&what)?;
        let ty = TensorType::from_ggml_id(type_id).ok_or_else(|| {
            rd.err(
                at,
                format!("{what}: unknown ggml type {type_id}; the file uses a type newer than this headroom knows, or is corrupt"),
            )
        })?;
        let ne0 = shape.first().copied().unwrap_or(1);
        let n_bytes = ty.tensor_bytes(ne0, n_elements).ok_or_else(|| {
            rd.err(
                at,
                format!(
                    "{what}: row length {ne0} is not a multiple of the {} block size {}",
                    ty.name(),
                    ty.block_elems()
                ),
            )
        })?;
        let at = rd.pos;
        let offset = rd.u64(&what)?;
        if offset % alignment != 0 {
            return Err(rd.err(
                at,
                format!(
                    "{what}: data offset {offset} is not a multiple of the alignment {alignment}"
                ),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(rd.err(
                info_pos,
                format!("{what} appears twice; the file is corrupt"),
            ));
        }
        tensors.push(GgufTensor {
            name,
            shape,
            ty,
            n_elements,
            n_bytes,
            offset,
            info_pos,
        });
    }

    let header_bytes = rd.pos;
    let data_offset = align_up(header_bytes, alignment)
        .ok_or_else(|| rd.err(header_bytes, "data offset overflows"))?;
    for t in &tensors {
        if data_offset
            .checked_add(t.offset)
            .and_then(|s| s.checked_add(t.n_bytes))
            .is_none()
        {
            return Err(rd.err(
                t.info_pos,
                format!("tensor '{}': data offset {} overflows", t.name, t.offset),
            ));
        }
    }
    Ok(GgufHeader {
        version,
        metadata,
        tensors,
        alignment,
        data_offset,
        header_bytes,
    })
}

/// Read one GGUF file's header, checking the tensor data against the file size.
pub fn read_file_header(path: &Path) -> Result<GgufHeader> {
    let label = path.display().to_string();
    let f = std::fs::File::open(path)
        .map_err(|e| Error::bad_input(path, format!("cannot open: {e}")))?;
    let size = f
        .metadata()
        .map_err(|e| Error::bad_input(path, format!("cannot stat: {e}")))?
        .len();
    let h = read_header(io::BufReader::with_capacity(1 << 16, f), &label)?;
    h.check_data_bounds(size, &label)?;
    Ok(h)
}

/// If `path`'s file name is `PREFIX-0000K-of-0000N.gguf`, return (prefix, k, n).
pub fn split_name(path: &Path) -> Option<(String, u32, u32)> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".gguf")?;
    let (rest, n) = stem.rsplit_once("-of-")?;
    let (prefix, k) = rest.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(n) || !digits(k) {
        return None;
    }
    Some((prefix.to_string(), k.parse().ok()?, n.parse().ok()?))
}

/// The file names of every part of a split GGUF whose first part is `path`.
pub fn split_parts(path: &Path, h: &GgufHeader) -> Result<Vec<PathBuf>> {
    let Some((prefix, k, n)) = split_name(path) else {
        if let Some(c) = h.get_u64("split.count").filter(|&c| c > 1) {
            return Err(Error::bad_input(
                path,
                format!(
                    "split.count = {c} but the file name is not PREFIX-00001-of-{c:05}.gguf; rename the parts as llama.cpp's gguf-split names them"
                ),
            ));
        }
        return Ok(vec![path.to_path_buf()]);
    };
    if k != 1 {
        return Err(Error::bad_input(
            path,
            format!(
                "this is part {k} of {n} of a split GGUF; pass the first part ({prefix}-00001-of-{n:05}.gguf)"
            ),
        ));
    }
    if let Some(c) = h.get_u64("split.count")
        && c != u64::from(n)
    {
        return Err(Error::bad_input(
            path,
            format!("split.count = {c} but the file name says {n} parts"),
        ));
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    Ok((1..=n)
        .map(|i| dir.join(format!("{prefix}-{i:05}-of-{n:05}.gguf")))
        .collect())
}

/// Read a GGUF model (header only; every part of a split GGUF) into a [`ModelDesc`].
pub fn read(path: &Path) -> Result<ModelDesc> {
    let first = read_file_header(path)?;
    let files = split_parts(path, &first)?;
    let mut headers = vec![first];
    for (file_idx, part) in files.iter().enumerate().skip(1) {
        if !part.exists() {
            return Err(Error::bad_input(
                path,
                format!(
                    "split part {} of {} is missing: {}; download every part into the same folder",
                    file_idx + 1,
                    files.len(),
                    part.display()
                ),
            ));
        }
        headers.push(read_file_header(part)?);
    }
    let label = path.display().to_string();
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    model_from_headers(&label, &stem, &headers, files)
}

/// Build a [`ModelDesc`] from the headers of every part of a GGUF model (one header for a single
/// file), in part order. `label` names the model in errors and becomes `source`; `stem` is the name
/// used when `general.name` is missing; `files` are the parts' paths (empty for a remote model).
pub fn model_from_headers(
    label: &str,
    stem: &str,
    headers: &[GgufHeader],
    files: Vec<PathBuf>,
) -> Result<ModelDesc> {
    let path = Path::new(label);
    let first = headers
        .first()
        .ok_or_else(|| Error::bad_input(path, "no GGUF header read"))?;
    let mut merged = first.clone();
    let mut tensors = Vec::new();
    for (file_idx, h) in headers.iter().enumerate() {
        if file_idx > 0 {
            merged.tensors.extend(h.tensors.iter().cloned());
        }
        for t in &h.tensors {
            tensors.push(TensorInfo {
                name: t.name.clone(),
                shape: t.shape.clone(),
                ty: t.ty,
                n_elements: t.n_elements,
                n_bytes: t.n_bytes,
                data: Some(DataLoc {
                    file: file_idx,
                    offset: h.data_offset + t.offset,
                }),
            });
        }
    }
    let mut seen = HashSet::new();
    for t in &tensors {
        if !seen.insert(t.name.as_str()) {
            return Err(Error::bad_input(
                path,
                format!("tensor '{}' appears in more than one split part", t.name),
            ));
        }
    }

    let architecture = first
        .architecture()
        .ok_or_else(|| {
            Error::bad_input(
                path,
                "metadata 'general.architecture' is missing; not a llama.cpp model file",
            )
        })?
        .to_string();
    let (hparams, warnings) = hparams_from_gguf(&merged, label)?;
    let name = first
        .get_str("general.name")
        .map_or_else(|| stem.to_string(), str::to_string);
    let file_type = first
        .get_u64("general.file_type")
        .map(|ft| file_type_name(ft & !1024).map_or_else(|| format!("ftype {ft}"), str::to_string));
    Ok(ModelDesc {
        format: ModelFormat::Gguf,
        source: label.to_string(),
        name,
        architecture,
        hparams,
        tensors,
        file_type,
        mlx_quant: None,
        files,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names() {
        assert_eq!(
            split_name(Path::new("/m/Llama-70B-Q4_K_M-00001-of-00003.gguf")),
            Some(("Llama-70B-Q4_K_M".to_string(), 1, 3))
        );
        assert_eq!(split_name(Path::new("model.gguf")), None);
        assert_eq!(split_name(Path::new("x-1-of-3.gguf")), None);
    }

    #[test]
    fn file_type_names_match_llama_ftype() {
        // gguf-py LlamaFileType: MOSTLY_Q4_0 = 2, MOSTLY_Q8_0 = 7, MOSTLY_Q4_K_M = 15,
        // MOSTLY_Q6_K = 18, MOSTLY_BF16 = 32, MOSTLY_MXFP4_MOE = 38.
        assert_eq!(file_type_name(2), Some("Q4_0"));
        assert_eq!(file_type_name(7), Some("Q8_0"));
        assert_eq!(file_type_name(15), Some("Q4_K_M"));
        assert_eq!(file_type_name(18), Some("Q6_K"));
        assert_eq!(file_type_name(32), Some("BF16"));
        assert_eq!(file_type_name(38), Some("MXFP4_MOE"));
        assert_eq!(file_type_name(5), None);
    }

    #[test]
    fn align() {
        assert_eq!(align_up(0, 32), Some(0));
        assert_eq!(align_up(33, 32), Some(64));
        assert_eq!(align_up(u64::MAX, 32), None);
    }
}
