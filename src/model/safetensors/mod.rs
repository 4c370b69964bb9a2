//! safetensors models: one `.safetensors` file, a folder (`config.json` + `model.safetensors` or the
//! shards of `model.safetensors.index.json`), and MLX-quantized folders (U32-packed weights with
//! `.scales` / `.biases`, `quantization: {group_size, bits}` in config.json).
//!
//! Header only: each file costs its 8-byte length and its JSON header, never the tensor data. The
//! header is checked against the safetensors rules (offsets contiguous from 0, sizes = shape x dtype
//! size, data ending exactly at end of file) with errors that name the file and the tensor, then
//! handed to the `safetensors` crate's own [`Metadata`] validation as a second opinion.
//!
//! - [`config`]: config.json → llama.cpp architecture name + [`HyperParams`].
//! - [`writer`]: builds safetensors files and model folders (tests, fuzzing).

pub mod config;
pub mod writer;

use crate::error::{Error, Result};
use crate::model::{
    DataLoc, HyperParams, MlxQuant, ModelDesc, ModelFormat, TensorInfo, TensorType,
};
use safetensors::Dtype;
use safetensors::tensor::{Metadata, TensorInfo as StInfo};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

pub use config::hparams_from_config;

/// Largest header we read (the `safetensors` crate's own limit).
pub const MAX_HEADER_LEN: u64 = 100_000_000;

/// An index's `weight_map`: (tensor name, shard file name) pairs.
pub type WeightMap = Vec<(String, String)>;

/// Index file name of a sharded checkpoint.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// The storage type of a safetensors dtype (every dtype the crate knows has a row in the table).
pub fn dtype_to_type(d: Dtype) -> Option<TensorType> {
    use TensorType as T;
    Some(match d {
        Dtype::BOOL => T::BOOL,
        Dtype::F4 => T::F4,
        Dtype::F6_E2M3 => T::F6_E2M3,
        Dtype::F6_E3M2 => T::F6_E3M2,
        Dtype::U8 => T::U8,
        Dtype::I8 => T::I8,
        Dtype::F8_E5M2 => T::F8_E5M2,
        Dtype::F8_E4M3 => T::F8_E4M3,
        Dtype::F8_E8M0 => T::F8_E8M0,
        Dtype::F8_E4M3FNUZ => T::F8_E4M3FNUZ,
        Dtype::F8_E5M2FNUZ => T::F8_E5M2FNUZ,
        Dtype::I16 => T::I16,
        Dtype::U16 => T::U16,
        Dtype::F16 => T::F16,
        Dtype::BF16 => T::BF16,
        Dtype::I32 => T::I32,
        Dtype::U32 => T::U32,
        Dtype::F32 => T::F32,
        Dtype::C64 => T::C64,
        Dtype::F64 => T::F64,
        Dtype::I64 => T::I64,
        Dtype::U64 => T::U64,
        _ => return None,
    })
}

/// One tensor of a safetensors header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderTensor {
    pub name: String,
    pub dtype: Dtype,
    pub ty: TensorType,
    /// Row-major, outermost first.
    pub shape: Vec<u64>,
    pub n_elements: u64,
    pub n_bytes: u64,
    /// Absolute byte offset in the file (8 + header length + begin).
    pub offset: u64,
}

/// A parsed, validated safetensors header.
#[derive(Debug, Clone)]
pub struct Header {
    pub header_len: u64,
    /// Tensors in file order (by offset).
    pub tensors: Vec<HeaderTensor>,
    /// `__metadata__` (e.g. `{"format": "pt"}` or `{"format": "mlx"}`).
    pub metadata: Option<HashMap<String, String>>,
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::bad_input(path, format!("cannot {what}: {e}"))
}

/// Read and validate the header of one safetensors file, without reading tensor data.
pub fn read_header(path: &Path) -> Result<Header> {
    let mut file = std::fs::File::open(path).map_err(|e| io_err(path, "open", e))?;
    let file_len = file.metadata().map_err(|e| io_err(path, "stat", e))?.len();
    if file_len < 8 {
        return Err(Error::bad_input(
            path,
            format!(
                "file is {file_len} bytes; a safetensors file starts with an 8-byte header length (truncated?)"
            ),
        ));
    }
    let mut len8 = [0u8; 8];
    file.read_exact(&mut len8)
        .map_err(|e| io_err(path, "read the header length", e))?;
    let n = u64::from_le_bytes(len8);
    check_header_len(path, n, file_len)?;
    // n <= MAX_HEADER_LEN and 8 + n <= file_len: the allocation is bounded by both.
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header)
        .map_err(|e| io_err(path, "read the header", e))?;
    parse_header(path, &header, file_len)
}

fn check_header_len(path: &Path, n: u64, file_len: u64) -> Result<()> {
    if n > MAX_HEADER_LEN {
        return Err(Error::bad_input(
            path,
            format!(
                "byte 0: declared header length {n} exceeds the {MAX_HEADER_LEN}-byte limit; not a safetensors file or corrupt"
            ),
        ));
    }
    if n.saturating_add(8) > file_len {
        return Err(Error::bad_input(
            path,
            format!(
                "byte 0: declared header length {n} runs past the end of the {file_len}-byte file; truncated download?"
            ),
        ));
    }
    Ok(())
}

/// Parse and validate header bytes (`header` = the `n` bytes after the length prefix) of a file
/// `file_len` bytes long. `path` names the file in errors.
pub fn parse_header(path: &Path, header: &[u8], file_len: u64) -> Result<Header> {
    let header_len = header.len() as u64;
    check_header_len(path, header_len, file_len)?;
    let text = std::str::from_utf8(header).map_err(|e| {
        Error::bad_input(
            path,
            format!("byte {}: header is not UTF-8 JSON", 8 + e.valid_up_to()),
        )
    })?;
    let map: serde_json::Map<String, Value> = serde_json::from_str(text).map_err(|e| {
        Error::bad_input(
            path,
            format!("header JSON is broken: {e} (of the header starting at byte 8)"),
        )
    })?;

    let mut metadata = None;
    let mut entries: Vec<(String, StInfo)> = Vec::with_capacity(map.len());
    for (name, v) in map {
        if name == "__metadata__" {
            let m: HashMap<String, String> = serde_json::from_value(v).map_err(|e| {
                Error::bad_input(
                    path,
                    format!("header \"__metadata__\" must map strings to strings: {e}"),
                )
            })?;
            metadata = Some(m);
            continue;
        }
        if let Some(d) = v.get("dtype")
            && Dtype::deserialize(d).is_err()
        {
            let shown: String = d.to_string().chars().take(40).collect();
            return Err(Error::bad_input(
                path,
                format!(
                    "tensor \"{name}\": unknown dtype {shown} (safetensors has F64 F32 F16 BF16 I64..U8 BOOL F8_* F6_* F4)"
                ),
            ));
        }
        let info = match StInfo::deserialize(&v) {
            Ok(info) => info,
            Err(e) => {
                // name the field at fault
                let bad_field =
                    ["dtype", "shape", "data_offsets"]
                        .into_iter()
                        .find(|f| match v.get(*f) {
                            None => true,
                            Some(x) if *f == "shape" => Vec::<usize>::deserialize(x).is_err(),
                            Some(x) if *f == "data_offsets" => {
                                <(usize, usize)>::deserialize(x).is_err()
                            }
                            Some(_) => false,
                        });
                let msg = match bad_field {
                    Some(f) if v.get(f).is_none() => {
                        format!("tensor \"{name}\": field \"{f}\" is missing")
                    }
                    Some(f) => format!("tensor \"{name}\": field \"{f}\": {e}"),
                    None => format!("tensor \"{name}\": {e} (needs dtype, shape, data_offsets)"),
                };
                return Err(Error::bad_input(path, msg));
            }
        };
        entries.push((name, info));
    }
    entries.sort_by(|a, b| {
        a.1.data_offsets
            .cmp(&b.1.data_offsets)
            .then_with(|| a.0.cmp(&b.0))
    });

    let data_start = 8 + header_len;
    let data_len = file_len - data_start;
    let mut tensors = Vec::with_capacity(entries.len());
    let mut expect_begin = 0u64;
    for (name, info) in &entries {
        let (begin, end) = (info.data_offsets.0 as u64, info.data_offsets.1 as u64);
        let ty = dtype_to_type(info.dtype).ok_or_else(|| {
            Error::bad_input(
                path,
                format!(
                    "tensor \"{name}\": dtype {} has no storage type in headroom",
                    info.dtype
                ),
            )
        })?;
        if end < begin {
            return Err(Error::bad_input(
                path,
                format!("tensor \"{name}\": data_offsets [{begin}, {end}] end before they begin"),
            ));
        }
        if begin != expect_begin {
            let what = if begin < expect_begin {
                "overlaps the previous tensor"
            } else {
                "leaves a gap after the previous tensor"
            };
            return Err(Error::bad_input(
                path,
                format!(
                    "tensor \"{name}\": data_offsets begin at {begin} but the previous tensor ends at {expect_begin}; it {what}"
                ),
            ));
        }
        if end > data_len {
            return Err(Error::bad_input(
                path,
                format!(
                    "tensor \"{name}\": data_offsets end {end} lies past the {data_len} data bytes of the file; truncated download?"
                ),
            ));
        }
        let shape: Vec<u64> = info.shape.iter().map(|&d| d as u64).collect();
        let n_elements = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or_else(|| {
                Error::bad_input(
                    path,
                    format!("tensor \"{name}\": shape {shape:?} overflows"),
                )
            })?;
        let n_bytes = ty.row_bytes(n_elements).ok_or_else(|| {
            Error::bad_input(path, format!("tensor \"{name}\": {n_elements} elements of {ty} are not a whole number of bytes"))
        })?;
        if end - begin != n_bytes {
            return Err(Error::bad_input(
                path,
                format!(
                    "tensor \"{name}\": data_offsets [{begin}, {end}] hold {} bytes but shape {shape:?} of {ty} needs {n_bytes}",
                    end - begin
                ),
            ));
        }
        expect_begin = end;
        tensors.push(HeaderTensor {
            name: name.clone(),
            dtype: info.dtype,
            ty,
            shape,
            n_elements,
            n_bytes,
            offset: data_start + begin,
        });
    }
    if expect_begin != data_len {
        return Err(Error::bad_input(
            path,
            format!(
                "tensors end at data byte {expect_begin} but the file holds {data_len} data bytes ({} extra); not a valid safetensors file",
                data_len - expect_begin
            ),
        ));
    }
    // Second opinion: the safetensors crate's own rules.
    Metadata::new(metadata.clone(), entries).map_err(|e| {
        Error::bad_input(
            path,
            format!("header rejected by the safetensors rules: {e}"),
        )
    })?;
    Ok(Header {
        header_len,
        tensors,
        metadata,
    })
}

/// Read a safetensors model: a `.safetensors` file (config.json looked for beside it), a folder, or a
/// `model.safetensors.index.json`.
pub fn read(path: &Path) -> Result<ModelDesc> {
    let meta = std::fs::metadata(path).map_err(|e| io_err(path, "open", e))?;
    let (dir, shards, index, config_required) = if meta.is_dir() {
        let index = path.join(INDEX_FILE);
        let single = path.join("model.safetensors");
        if index.is_file() {
            let (shards, map) = read_index(&index, path)?;
            (path.to_path_buf(), shards, Some((index, map)), true)
        } else if single.is_file() {
            (path.to_path_buf(), vec![single], None, true)
        } else {
            let mut all: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| io_err(path, "list the folder", e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "safetensors") && p.is_file())
                .collect();
            if all.is_empty() {
                return Err(Error::bad_input(
                    path,
                    format!(
                        "folder has no {INDEX_FILE}, no model.safetensors and no *.safetensors file"
                    ),
                ));
            }
            all.sort();
            (path.to_path_buf(), all, None, true)
        }
    } else {
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let fname = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if fname.ends_with(".index.json") {
            let (shards, map) = read_index(path, &dir)?;
            (dir, shards, Some((path.to_path_buf(), map)), true)
        } else {
            (dir, vec![path.to_path_buf()], None, false)
        }
    };

    let mut warnings = Vec::new();
    // config.json
    let config_path = dir.join("config.json");
    let config: Option<Value> = if config_path.is_file() {
        let text = crate::input::read_capped(&config_path, crate::input::MAX_TEXT_FILE_BYTES)?;
        let v: Value = serde_json::from_slice(&text)
            .map_err(|e| Error::bad_input(&config_path, format!("not valid JSON: {e}")))?;
        Some(v)
    } else if config_required {
        return Err(Error::bad_input(
            &config_path,
            "missing: a model folder needs the config.json published with the model",
        ));
    } else {
        warnings.push(format!(
            "no config.json beside {}: architecture and hyperparameters unknown",
            path.display()
        ));
        None
    };

    // headers
    let mut headers = Vec::with_capacity(shards.len());
    for s in &shards {
        headers.push(read_header(s)?);
    }
    let name = model_name(path, &dir, meta.is_dir());
    assemble(
        Parts {
            source: path.display().to_string(),
            name,
            config,
            config_path,
            index,
            shards,
            headers,
        },
        warnings,
    )
}

/// Everything read from a safetensors model, wherever it came from (a folder, or remote headers).
/// Paths only name things in errors and warnings; nothing is read from them.
pub struct Parts {
    /// Becomes [`ModelDesc::source`].
    pub source: String,
    pub name: String,
    /// config.json, when there is one.
    pub config: Option<Value>,
    /// Names config.json in errors.
    pub config_path: PathBuf,
    /// The index file's name and its weight map ([`parse_index`]), for a sharded model.
    pub index: Option<(PathBuf, WeightMap)>,
    /// Shard names, in the order of `headers`; they become [`ModelDesc::files`].
    pub shards: Vec<PathBuf>,
    pub headers: Vec<Header>,
}

/// Build a [`ModelDesc`] from headers already read (checks the index, MLX packing, config.json).
pub fn assemble(parts: Parts, mut warnings: Vec<String>) -> Result<ModelDesc> {
    let Parts {
        source,
        name,
        config,
        config_path,
        index,
        shards,
        headers,
    } = parts;
    let mut where_is: HashMap<&str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        for t in &h.tensors {
            if let Some(prev) = where_is.insert(t.name.as_str(), i) {
                return Err(Error::bad_input(
                    &shards[i],
                    format!(
                        "tensor \"{}\" is also in {}; a tensor must live in one shard",
                        t.name,
                        shards[prev].display()
                    ),
                ));
            }
        }
    }
    if let Some((index_path, map)) = &index {
        check_index(index_path, map, &shards, &where_is, &mut warnings)?;
    }

    // MLX quantization
    let quant = match &config {
        Some(c) => mlx_quant_config(c, &config_path)?,
        None => None,
    };
    let by_name: HashMap<&str, &HeaderTensor> = headers
        .iter()
        .flat_map(|h| h.tensors.iter())
        .map(|t| (t.name.as_str(), t))
        .collect();
    // Packed weights: U32 with a `.scales` sibling. Their logical count is packed x 32 / bits;
    // their scales and biases are quantization metadata, not parameters (mlx-lm
    // `get_total_parameters` counts `weight.size * 32 // bits` and skips both).
    let mut logical: HashMap<&str, u64> = HashMap::new();
    for (fi, h) in headers.iter().enumerate() {
        for t in h.tensors.iter().filter(|t| t.ty == TensorType::U32) {
            let base = t.name.strip_suffix(".weight").unwrap_or(&t.name);
            let scales_name = format!("{base}.scales");
            let Some((scales_key, scales)) = by_name.get_key_value(scales_name.as_str()) else {
                continue;
            };
            let Some(q) = &quant else {
                return Err(Error::bad_input(
                    &config_path,
                    format!(
                        "tensor \"{}\" is MLX-packed (U32 with .scales) but config field \"quantization\" {{group_size, bits}} is missing",
                        t.name
                    ),
                ));
            };
            let (bits, group) = q.for_module(base);
            let n = packed_logical(t, bits).ok_or_else(|| {
                Error::bad_input(
                    &shards[fi],
                    format!("tensor \"{}\": {} packed U32 elements do not unpack to whole {bits}-bit weights", t.name, t.n_elements),
                )
            })?;
            check_scales(t, scales, bits, group, &mut warnings);
            logical.insert(t.name.as_str(), n);
            logical.insert(scales_key, 0);
            if let Some((k, _)) = by_name.get_key_value(format!("{base}.biases").as_str()) {
                logical.insert(k, 0);
            }
        }
    }
    let any_packed = !logical.is_empty();
    let mut tensors = Vec::with_capacity(by_name.len());
    for (fi, h) in headers.iter().enumerate() {
        for t in &h.tensors {
            tensors.push(TensorInfo {
                name: t.name.clone(),
                shape: t.shape.clone(),
                ty: t.ty,
                n_elements: logical
                    .get(t.name.as_str())
                    .copied()
                    .unwrap_or(t.n_elements),
                n_bytes: t.n_bytes,
                data: Some(DataLoc {
                    file: fi,
                    offset: t.offset,
                }),
            });
        }
    }

    let (architecture, mut hparams) = match &config {
        Some(c) => {
            let (a, hp, w) = hparams_from_config(c, &config_path.display().to_string())?;
            warnings.extend(w);
            (a, hp)
        }
        None => ("unknown".to_string(), HyperParams::default()),
    };
    if config.is_some() {
        reconcile_tying(&mut hparams, &tensors, &mut warnings);
    }

    let mlx_quant = quant.as_ref().filter(|_| any_packed).map(|q| MlxQuant {
        group_size: q.group_size,
        bits: q.bits,
    });
    let file_type = match (&quant, any_packed) {
        (Some(q), true) if q.mode == "affine" => Some(format!("mlx-{}bit", q.bits)),
        (Some(q), true) => Some(format!("mlx-{}", q.mode)),
        _ => dominant_type(&tensors).map(|t| t.name().to_string()),
    };
    if let Some(qc) = config.as_ref().and_then(|c| c.get("quantization_config"))
        && !any_packed
    {
        let method = qc
            .get("quant_method")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        warnings.push(format!(
                "quantization_config (quant_method {method}) not interpreted; parameters are counted as stored elements"
            ));
    }

    Ok(ModelDesc {
        format: ModelFormat::Safetensors,
        source,
        name,
        architecture,
        hparams,
        tensors,
        file_type,
        mlx_quant,
        files: shards,
        warnings,
    })
}

fn model_name(path: &Path, dir: &Path, is_dir: bool) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let use_dir = is_dir
        || stem == "model"
        || stem.starts_with("model.safetensors")
        || stem.starts_with("model-");
    let from = if use_dir {
        dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
    } else {
        return stem;
    };
    from.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or(stem)
}

/// Parse `model.safetensors.index.json`: the shard files (sorted, de-duplicated) and the weight map.
fn read_index(index: &Path, dir: &Path) -> Result<(Vec<PathBuf>, WeightMap)> {
    let meta = std::fs::metadata(index).map_err(|e| io_err(index, "open", e))?;
    if meta.len() > MAX_HEADER_LEN {
        return Err(Error::bad_input(
            index,
            format!("{} bytes is too large for a shard index", meta.len()),
        ));
    }
    let text = std::fs::read(index).map_err(|e| io_err(index, "read", e))?;
    let (files, map) = parse_index(index, &text)?;
    let mut shards = Vec::with_capacity(files.len());
    for f in files {
        let p = dir.join(&f);
        if !p.is_file() {
            let example = map
                .iter()
                .find(|(_, s)| *s == f)
                .map(|(t, _)| t.as_str())
                .unwrap_or("");
            return Err(Error::bad_input(
                index,
                format!(
                    "weight_map names shard \"{f}\" (for tensor \"{example}\") but it is not in {}; incomplete download?",
                    dir.display()
                ),
            ));
        }
        shards.push(p);
    }
    Ok((shards, map))
}

/// Parse the bytes of `model.safetensors.index.json` (`index` names it in errors): the shard file
/// names (sorted, de-duplicated, each a plain relative path) and the weight map.
pub fn parse_index(index: &Path, text: &[u8]) -> Result<(Vec<String>, WeightMap)> {
    let v: Value = serde_json::from_slice(text)
        .map_err(|e| Error::bad_input(index, format!("not valid JSON: {e}")))?;
    let wm = v
        .get("weight_map")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            Error::bad_input(
                index,
                "field \"weight_map\" is missing or not an object of tensor name → shard file",
            )
        })?;
    let mut map = Vec::with_capacity(wm.len());
    let mut files = BTreeSet::new();
    for (tensor, file) in wm {
        let file = file.as_str().ok_or_else(|| {
            Error::bad_input(
                index,
                format!("weight_map[\"{tensor}\"] is not a file name string"),
            )
        })?;
        let rel = Path::new(file);
        if file.is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(Error::bad_input(
                index,
                format!(
                    "weight_map[\"{tensor}\"] = \"{file}\" is not a file name inside the model folder"
                ),
            ));
        }
        files.insert(file.to_string());
        map.push((tensor.clone(), file.to_string()));
    }
    if files.is_empty() {
        return Err(Error::bad_input(index, "weight_map is empty"));
    }
    Ok((files.into_iter().collect(), map))
}

fn check_index(
    index: &Path,
    map: &WeightMap,
    shards: &[PathBuf],
    where_is: &HashMap<&str, usize>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    for (tensor, file) in map {
        match where_is.get(tensor.as_str()) {
            Some(&i)
                if shards[i]
                    .file_name()
                    .is_some_and(|n| Path::new(file).file_name() == Some(n)) => {}
            Some(&i) => {
                return Err(Error::bad_input(
                    index,
                    format!(
                        "weight_map puts tensor \"{tensor}\" in \"{file}\" but it is in {}",
                        shards[i].display()
                    ),
                ));
            }
            None => {
                return Err(Error::bad_input(
                    index,
                    format!(
                        "weight_map lists tensor \"{tensor}\" in \"{file}\" but that shard does not hold it"
                    ),
                ));
            }
        }
    }
    let extra = where_is.len().saturating_sub(map.len());
    if extra > 0 {
        warnings.push(format!(
            "{extra} tensors in the shards are not listed in {INDEX_FILE}; counted anyway"
        ));
    }
    Ok(())
}

/// MLX quantization settings from config.json (`quantization`, or mlx-lm's copy in `quantization_config`).
#[derive(Debug, Clone)]
struct QuantCfg {
    group_size: u32,
    bits: u32,
    mode: String,
    /// Per-module overrides (mlx-lm mixed quantization): module path → (bits, group_size).
    overrides: HashMap<String, (u32, u32)>,
}

impl QuantCfg {
    fn for_module(&self, base: &str) -> (u32, u32) {
        self.overrides
            .get(base)
            .copied()
            .unwrap_or((self.bits, self.group_size))
    }
}

fn mlx_quant_config(c: &Value, label: &Path) -> Result<Option<QuantCfg>> {
    let q = match c.get("quantization").filter(|q| q.is_object()) {
        Some(q) => ("quantization", q),
        None => match c
            .get("quantization_config")
            .filter(|q| q.get("bits").is_some() && q.get("group_size").is_some())
        {
            Some(q) => ("quantization_config", q),
            None => return Ok(None),
        },
    };
    let (key, q) = q;
    let num = |v: Option<&Value>, field: &str| -> Result<u32> {
        v.and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                Error::bad_input(
                    label,
                    format!("config field \"{key}.{field}\" is missing or not a positive integer"),
                )
            })
    };
    let bits = num(q.get("bits"), "bits")?;
    let group_size = num(q.get("group_size"), "group_size")?;
    if bits > 32 {
        return Err(Error::bad_input(
            label,
            format!("config field \"{key}.bits\" = {bits} is above 32"),
        ));
    }
    let mode = q
        .get("mode")
        .and_then(Value::as_str)
        .unwrap_or("affine")
        .to_string();
    let mut overrides = HashMap::new();
    if let Some(obj) = q.as_object() {
        for (k, v) in obj {
            if let Some(o) = v.as_object() {
                let b = num(o.get("bits"), &format!("{k}.bits"))?;
                let g = num(o.get("group_size"), &format!("{k}.group_size"))?;
                if b > 32 {
                    return Err(Error::bad_input(
                        label,
                        format!("config field \"{key}.{k}.bits\" = {b} is above 32"),
                    ));
                }
                overrides.insert(k.clone(), (b, g));
            }
        }
    }
    Ok(Some(QuantCfg {
        group_size,
        bits,
        mode,
        overrides,
    }))
}

/// Logical weights of an MLX-packed U32 tensor: each U32 holds 32 / bits weights.
fn packed_logical(t: &HeaderTensor, bits: u32) -> Option<u64> {
    let packed_bits = t.n_elements.checked_mul(32)?;
    (packed_bits % u64::from(bits) == 0).then(|| packed_bits / u64::from(bits))
}

/// The scales of a packed weight have shape [..., in / group_size]; warn if the config disagrees.
fn check_scales(
    w: &HeaderTensor,
    scales: &HeaderTensor,
    bits: u32,
    group: u32,
    warnings: &mut Vec<String>,
) {
    let (Some(&in_packed), Some(&groups)) = (w.shape.last(), scales.shape.last()) else {
        return;
    };
    let logical_in = in_packed.saturating_mul(32) / u64::from(bits);
    if groups.saturating_mul(u64::from(group)) != logical_in {
        warnings.push(format!(
            "tensor \"{}\": {bits}-bit packing gives rows of {logical_in} weights but {} has {groups} groups of {group}; \
             quantization settings in config.json may not match",
            w.name, scales.name
        ));
    }
}

/// Storage type holding the most bytes.
fn dominant_type(tensors: &[TensorInfo]) -> Option<TensorType> {
    let mut by: HashMap<TensorType, u64> = HashMap::new();
    for t in tensors {
        *by.entry(t.ty).or_insert(0) += t.n_bytes;
    }
    by.into_iter()
        .max_by_key(|(t, b)| (*b, std::cmp::Reverse(*t)))
        .map(|(t, _)| t)
}

/// The tensors are the truth about tied embeddings: no `lm_head.weight` beside an embedding means tied.
fn reconcile_tying(hp: &mut HyperParams, tensors: &[TensorInfo], warnings: &mut Vec<String>) {
    let has_embed = tensors
        .iter()
        .any(|t| t.name.ends_with("embed_tokens.weight"));
    if !has_embed {
        return;
    }
    let has_head = tensors.iter().any(|t| t.name.ends_with("lm_head.weight"));
    let tied = !has_head;
    if tied != hp.tie_word_embeddings {
        warnings.push(format!(
            "config.json says tie_word_embeddings = {} but the files {} lm_head.weight; using the files",
            hp.tie_word_embeddings,
            if has_head { "hold" } else { "lack" }
        ));
        hp.tie_word_embeddings = tied;
    }
}
