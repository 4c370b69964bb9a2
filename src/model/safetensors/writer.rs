//! Builds safetensors files and model folders for tests and fuzzing: plain files through the
//! `safetensors` crate's own serializer (so the reader is checked against the reference writer),
//! raw files from hand-written headers (to make broken ones), sharded folders with
//! `model.safetensors.index.json`, and MLX-quantized weights (U32-packed + `.scales` + `.biases`).

use super::{INDEX_FILE, dtype_to_type};
use crate::error::{Error, Result};
use safetensors::{Dtype, View};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One tensor to write.
#[derive(Debug, Clone, PartialEq)]
pub struct WTensor {
    pub name: String,
    pub dtype: Dtype,
    /// Row-major, outermost first.
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl WTensor {
    /// A tensor of zero bytes, sized from the type table. Panics if the shape is not a whole number
    /// of bytes of that dtype (test-fixture misuse, not input data).
    pub fn zeros(name: &str, dtype: Dtype, shape: &[usize]) -> WTensor {
        let n: u64 = shape.iter().map(|&d| d as u64).product();
        let ty = dtype_to_type(dtype).expect("dtype in the type table");
        let bytes = ty.row_bytes(n).expect("whole bytes");
        WTensor {
            name: name.to_string(),
            dtype,
            shape: shape.to_vec(),
            data: vec![0; bytes as usize],
        }
    }

    pub fn n_bytes(&self) -> u64 {
        self.data.len() as u64
    }
}

impl View for &WTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Bytes of a safetensors file holding `tensors`, written by the `safetensors` crate.
pub fn file_bytes(tensors: &[WTensor], metadata: Option<HashMap<String, String>>) -> Vec<u8> {
    safetensors::serialize(tensors.iter().map(|t| (t.name.clone(), t)), metadata)
        .expect("serializable tensors")
}

/// Bytes of a file with a hand-written header (any text, valid or not) followed by `data_len` zero bytes.
pub fn raw_file(header: &str, data_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + header.len() + data_len);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + data_len, 0);
    out
}

/// An MLX affine-quantized linear weight `[out, in]` at `bits` bits, groups of `group_size`:
/// `{base}.weight` U32 `[out, in * bits / 32]`, `{base}.scales` and `{base}.biases` `[out, in / group_size]`
/// of `scale_dtype` (MLX: BF16 or F16).
pub fn mlx_linear(
    base: &str,
    out: usize,
    inp: usize,
    bits: usize,
    group_size: usize,
    scale_dtype: Dtype,
) -> Vec<WTensor> {
    assert!(
        (inp * bits).is_multiple_of(32) && inp.is_multiple_of(group_size),
        "fixture shape must pack"
    );
    vec![
        WTensor::zeros(
            &format!("{base}.weight"),
            Dtype::U32,
            &[out, inp * bits / 32],
        ),
        WTensor::zeros(
            &format!("{base}.scales"),
            scale_dtype,
            &[out, inp / group_size],
        ),
        WTensor::zeros(
            &format!("{base}.biases"),
            scale_dtype,
            &[out, inp / group_size],
        ),
    ]
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes)
        .map_err(|e| Error::failure(format!("{}: cannot write: {e}", path.display())))
}

/// Write a model folder: `config.json`, and the tensors as `model.safetensors` (one shard) or as
/// `model-0000i-of-0000n.safetensors` plus `model.safetensors.index.json` (several).
/// Returns the shard paths.
pub fn write_folder(dir: &Path, config: &Value, shards: &[Vec<WTensor>]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::failure(format!("{}: cannot create: {e}", dir.display())))?;
    let config_text =
        serde_json::to_vec_pretty(config).map_err(|e| Error::failure(e.to_string()))?;
    write(&dir.join("config.json"), &config_text)?;
    let mut paths = Vec::new();
    if shards.len() == 1 {
        let p = dir.join("model.safetensors");
        write(
            &p,
            &file_bytes(
                &shards[0],
                Some(HashMap::from([("format".into(), "pt".into())])),
            ),
        )?;
        paths.push(p);
        return Ok(paths);
    }
    let n = shards.len();
    let mut weight_map = serde_json::Map::new();
    let mut total: u64 = 0;
    for (i, shard) in shards.iter().enumerate() {
        let fname = format!("model-{:05}-of-{:05}.safetensors", i + 1, n);
        let p = dir.join(&fname);
        write(
            &p,
            &file_bytes(shard, Some(HashMap::from([("format".into(), "pt".into())]))),
        )?;
        for t in shard {
            weight_map.insert(t.name.clone(), Value::String(fname.clone()));
            total += t.n_bytes();
        }
        paths.push(p);
    }
    let index = json!({ "metadata": { "total_size": total }, "weight_map": weight_map });
    let text = serde_json::to_vec_pretty(&index).map_err(|e| Error::failure(e.to_string()))?;
    write(&dir.join(INDEX_FILE), &text)?;
    Ok(paths)
}

/// Shape of a small llama-style decoder, for fixtures.
#[derive(Debug, Clone, Copy)]
pub struct TinyLlama {
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub n_ff: usize,
    pub vocab: usize,
}

impl TinyLlama {
    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }

    /// Its `config.json` (LlamaForCausalLM).
    pub fn config(&self) -> Value {
        json!({
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": self.n_embd, "intermediate_size": self.n_ff,
            "num_attention_heads": self.n_head, "num_key_value_heads": self.n_head_kv,
            "num_hidden_layers": self.n_layer, "vocab_size": self.vocab,
            "max_position_embeddings": 2048, "rope_theta": 10000.0, "tie_word_embeddings": false,
            "torch_dtype": "bfloat16"
        })
    }

    /// The linear weights as (HF name without `.weight`, out, in).
    pub fn linears(&self) -> Vec<(String, usize, usize)> {
        let kv = self.n_head_kv * self.head_dim();
        let mut v = vec![("model.embed_tokens".to_string(), self.vocab, self.n_embd)];
        for l in 0..self.n_layer {
            let p = format!("model.layers.{l}");
            v.push((format!("{p}.self_attn.q_proj"), self.n_embd, self.n_embd));
            v.push((format!("{p}.self_attn.k_proj"), kv, self.n_embd));
            v.push((format!("{p}.self_attn.v_proj"), kv, self.n_embd));
            v.push((format!("{p}.self_attn.o_proj"), self.n_embd, self.n_embd));
            v.push((format!("{p}.mlp.gate_proj"), self.n_ff, self.n_embd));
            v.push((format!("{p}.mlp.up_proj"), self.n_ff, self.n_embd));
            v.push((format!("{p}.mlp.down_proj"), self.n_embd, self.n_ff));
        }
        v.push(("lm_head".to_string(), self.vocab, self.n_embd));
        v
    }

    /// Norm vectors (HF name, length).
    pub fn norms(&self) -> Vec<(String, usize)> {
        let mut v = Vec::new();
        for l in 0..self.n_layer {
            v.push((
                format!("model.layers.{l}.input_layernorm.weight"),
                self.n_embd,
            ));
            v.push((
                format!("model.layers.{l}.post_attention_layernorm.weight"),
                self.n_embd,
            ));
        }
        v.push(("model.norm.weight".to_string(), self.n_embd));
        v
    }

    /// All tensors in `dtype`.
    pub fn tensors(&self, dtype: Dtype) -> Vec<WTensor> {
        let mut v: Vec<WTensor> = self
            .linears()
            .iter()
            .map(|(n, o, i)| WTensor::zeros(&format!("{n}.weight"), dtype, &[*o, *i]))
            .collect();
        v.extend(
            self.norms()
                .iter()
                .map(|(n, len)| WTensor::zeros(n, dtype, &[*len])),
        );
        v
    }

    /// All tensors MLX-quantized (linears packed, norms in `scale_dtype`), as mlx-lm writes them.
    pub fn mlx_tensors(&self, bits: usize, group_size: usize, scale_dtype: Dtype) -> Vec<WTensor> {
        let mut v: Vec<WTensor> = self
            .linears()
            .iter()
            .flat_map(|(n, o, i)| mlx_linear(n, *o, *i, bits, group_size, scale_dtype))
            .collect();
        v.extend(
            self.norms()
                .iter()
                .map(|(n, len)| WTensor::zeros(n, scale_dtype, &[*len])),
        );
        v
    }

    /// Logical parameter count (out x in of every linear, plus norms).
    pub fn parameters(&self) -> u64 {
        let lin: usize = self.linears().iter().map(|(_, o, i)| o * i).sum();
        let norms: usize = self.norms().iter().map(|(_, l)| l).sum();
        (lin + norms) as u64
    }
}
