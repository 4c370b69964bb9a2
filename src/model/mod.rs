//! model: everything headroom knows about a model, read to the byte.
//!
//! Every input (a GGUF file, safetensors file or folder, a bundled spec) becomes one [`ModelDesc`]:
//! architecture hyperparameters plus a tensor inventory (name, shape, storage type, bytes). The
//! estimate, the TUI and the measured decode all read this and nothing else.
//!
//! - [`types`]: the single table of storage types (block elements, block bytes).
//! - [`gguf`]: streaming GGUF header reader (our own; see README for why not a crate).
//! - [`safetensors`]: safetensors headers, shard indexes, config.json, MLX-quantized folders.
//! - [`spec`]: bundled `model-specs/*.yaml` and user spec files.
//! - [`arch`]: the tensor layout of each architecture (names and shapes llama.cpp's GGUF uses), so a
//!   spec yields the same inventory as the real file. Add a new architecture here.
//! - [`quantize`]: what-if re-typing of an inventory (llama.cpp's quant mixes, MLX affine).
//! - [`remote`]: `hf:ORG/REPO[:FILE]` and http(s) URLs, read by their header bytes only (HTTP Range).
//! - [`roles`]: what a tensor is for (token embedding, output, attention, expert...), for both naming schemes.

pub mod arch;
pub mod gguf;
pub mod quantize;
pub mod remote;
pub mod roles;
pub mod safetensors;
pub mod spec;
pub mod types;

use serde::Serialize;
use std::path::PathBuf;

pub use types::TensorType;

/// Where a model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    Gguf,
    Safetensors,
    Spec,
}

/// Multi-head latent attention (DeepSeek-V2/V3) parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Mla {
    pub kv_lora_rank: u64,
    pub q_lora_rank: u64,
    /// RoPE part of each K head (qk_rope_head_dim).
    pub rope_dim: u64,
    /// Non-RoPE part of each K head (qk_nope_head_dim).
    pub nope_dim: u64,
    pub v_head_dim: u64,
}

/// State-space / recurrent layer parameters (Mamba, RWKV-style): the per-sequence state size.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Ssm {
    pub d_conv: u64,
    pub d_inner: u64,
    pub d_state: u64,
    pub n_group: u64,
    pub dt_rank: u64,
}

/// Architecture hyperparameters. Per-layer quantities are vectors of length `n_layer`.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct HyperParams {
    pub n_layer: u32,
    pub n_embd: u64,
    /// Query heads per layer.
    pub n_head: Vec<u32>,
    /// KV heads per layer (0 for layers without attention, e.g. recurrent layers).
    pub n_head_kv: Vec<u32>,
    /// Key head dimension (`key_length`; may differ from n_embd / n_head, e.g. qwen3, gemma).
    pub head_dim_k: u64,
    /// Value head dimension (`value_length`).
    pub head_dim_v: u64,
    /// Dense FFN width per layer (0 where the layer is MoE-only).
    pub n_ff: Vec<u64>,
    pub context_length: u64,
    pub vocab_size: u64,
    pub n_expert: u32,
    pub n_expert_used: u32,
    pub n_expert_shared: u32,
    /// Width of one routed expert's FFN.
    pub n_ff_expert: u64,
    /// Width of the shared expert(s) FFN.
    pub n_ff_shexp: u64,
    /// Number of leading dense (non-MoE) layers (DeepSeek `leading_dense_block_count`).
    pub n_dense_lead: u32,
    /// Sliding-window size in tokens, if any layer uses one.
    pub sliding_window: Option<u64>,
    /// Per layer: true when the layer uses the sliding window.
    pub swa_layers: Vec<bool>,
    pub mla: Option<Mla>,
    pub ssm: Option<Ssm>,
    /// Per layer: true when the layer is recurrent (no KV cache, fixed state instead).
    pub recurrent_layers: Vec<bool>,
    pub rope_freq_base: Option<f64>,
    pub tie_word_embeddings: bool,
}

impl HyperParams {
    /// Value of a per-layer vector if all layers agree.
    pub fn uniform<T: Copy + PartialEq>(v: &[T]) -> Option<T> {
        let first = *v.first()?;
        v.iter().all(|x| *x == first).then_some(first)
    }

    /// The first layer's query head count (or 0).
    pub fn n_head0(&self) -> u32 {
        self.n_head.first().copied().unwrap_or(0)
    }

    /// The largest KV head count over layers.
    pub fn n_head_kv_max(&self) -> u32 {
        self.n_head_kv.iter().copied().max().unwrap_or(0)
    }

    pub fn is_moe(&self) -> bool {
        self.n_expert > 1
    }
}

/// Where a tensor's bytes live (for the measured decode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DataLoc {
    /// Index into [`ModelDesc::files`].
    pub file: usize,
    /// Absolute byte offset of the tensor data in that file.
    pub offset: u64,
}

/// One tensor of the inventory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorInfo {
    pub name: String,
    /// Shape as the format stores it: GGUF order (ne0 = innermost/row length first) for GGUF files and
    /// specs; row-major (outermost first) for safetensors.
    pub shape: Vec<u64>,
    pub ty: TensorType,
    /// Logical parameter count (for MLX-packed U32 weights: out x in, not the packed count; their
    /// `.scales` / `.biases` count 0, as mlx-lm `get_total_parameters` counts them).
    pub n_elements: u64,
    /// Exact bytes stored.
    pub n_bytes: u64,
    #[serde(skip)]
    pub data: Option<DataLoc>,
}

/// MLX affine quantization of a folder (`quantization: {group_size, bits}` in config.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MlxQuant {
    pub group_size: u32,
    pub bits: u32,
}

/// Everything known about one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelDesc {
    pub format: ModelFormat,
    /// What the user passed (path or spec id).
    pub source: String,
    /// Human name (`general.name`, spec name, folder name).
    pub name: String,
    /// llama.cpp architecture name (`llama`, `qwen3moe`, ...).
    pub architecture: String,
    pub hparams: HyperParams,
    pub tensors: Vec<TensorInfo>,
    /// File type label (`Q4_K_M`, `BF16`, `mlx-4bit`...), when known.
    pub file_type: Option<String>,
    pub mlx_quant: Option<MlxQuant>,
    /// Files holding the tensor data (GGUF parts, safetensors shards); empty for specs.
    #[serde(skip)]
    pub files: Vec<PathBuf>,
    /// Things assumed while reading (unknown architecture, missing keys...).
    pub warnings: Vec<String>,
}

impl ModelDesc {
    /// Total stored bytes of all tensors.
    pub fn weights_bytes(&self) -> u64 {
        self.tensors.iter().map(|t| t.n_bytes).sum()
    }

    /// Logical parameter count.
    pub fn parameters(&self) -> u64 {
        self.tensors.iter().map(|t| t.n_elements).sum()
    }

    /// Bytes by storage type, sorted by type.
    pub fn bytes_by_type(&self) -> std::collections::BTreeMap<TensorType, u64> {
        let mut m = std::collections::BTreeMap::new();
        for t in &self.tensors {
            *m.entry(t.ty).or_insert(0) += t.n_bytes;
        }
        m
    }
}

/// Read MODEL as the user wrote it: a `.gguf` file (or first split part), a `.safetensors` file, a folder
/// (config.json + safetensors, or a single GGUF), a spec YAML, a bundled spec id, or a remote model
/// (`hf:ORG/REPO[:FILE]`, an http(s) URL; see [`remote`]).
pub fn load(arg: &str) -> crate::Result<ModelDesc> {
    use crate::Error;
    if remote::is_remote(arg) {
        return remote::load(arg);
    }
    let path = std::path::Path::new(arg);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    if path.is_dir() {
        if path.join("config.json").is_file() {
            return safetensors::read(path);
        }
        let ggufs = gguf_files_in(path);
        return match ggufs.as_slice() {
            [one] => gguf::read(one),
            [] => Err(Error::bad_input(
                path,
                "folder has neither config.json (safetensors model) nor a .gguf file; pass a model file or a folder with config.json",
            )),
            many => Err(Error::bad_input(
                path,
                format!(
                    "folder holds {} GGUF models; pass one of them: {}",
                    many.len(),
                    many.iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        };
    }
    match ext.as_deref() {
        Some("gguf") | Some("safetensors") | Some("yaml") | Some("yml") if !path.exists() => {
            Err(Error::bad_input(path, "no such file"))
        }
        Some("gguf") => gguf::read(path),
        Some("safetensors") => safetensors::read(path),
        Some("yaml") | Some("yml") => spec::load(arg),
        _ if path.is_file() => Err(Error::bad_input(
            path,
            "not a model file headroom reads: expected .gguf, .safetensors, a folder with config.json, or a spec .yaml",
        )),
        _ if arg.contains('/') || arg.contains('\\') => {
            Err(Error::bad_input(path, "no such file or folder"))
        }
        _ => spec::load(arg),
    }
}

/// Load MODEL and, if asked, re-type it as a what-if quantization would.
pub fn load_with_quant(arg: &str, quant: Option<&str>) -> crate::Result<ModelDesc> {
    let model = load(arg)?;
    match quant {
        Some(q) => quantize::requantize(&model, &quantize::parse_target(q)?),
        None => Ok(model),
    }
}

/// GGUF models in a folder: single files and the first part of split models.
fn gguf_files_in(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        name.to_ascii_lowercase().ends_with(".gguf")
            && (!name.contains("-of-") || name.contains("-00001-of-"))
    });
    out.sort();
    out
}
