//! quantize: what-if re-typing of a tensor inventory (`--quant`).
//!
//! Two families of targets:
//!
//! - llama.cpp file types (`Q4_K_M`, `Q8_0`, `IQ4_XS`, `BF16`...). [`requantize`] gives every tensor the
//!   storage type `llama-quantize` would give it: a port of `tensor_allows_quantization`,
//!   `llama_tensor_get_type_impl`, `tensor_type_fallback` and `llama_ftype_get_default_type` from
//!   llama.cpp's `src/llama-quant.cpp` (ggml-org/llama.cpp, read at commit 007dbbf3). That includes the
//!   per-layer upgrades (`use_more_bits`), the GQA / expert-count / 70B rules, the output and tied-embedding
//!   rules, the counters that walk tensors in llama.cpp's loader order (by layer, then by name), and the
//!   fallback when a row is not a whole number of blocks. Sizes come from [`TensorType::row_bytes`].
//! - MLX affine quantization (`mlx-4bit`, `mlx-8bit`, `mlx-4bit-g32`...): every linear or embedding weight
//!   whose row is a multiple of the group size becomes packed `U32` plus per-group scales and biases in the
//!   model's float type, as `mlx_lm.convert` / `mlx.nn.quantize` do; MoE routers get 8 bits / group 64 as
//!   mlx_lm's `quant_predicate`s give them.
//!
//! Logical parameter counts (`n_elements`) never change: scales/biases companions carry `n_elements = 0`,
//! so [`ModelDesc::parameters`] is the same before and after.

use crate::error::{Error, Result};
use crate::model::roles::{self, Kind};
use crate::model::{MlxQuant, ModelDesc, ModelFormat, TensorInfo, TensorType};
use std::cmp::Ordering;

macro_rules! ftypes {
    ($( $variant:ident = ($label:literal, $default:ident) ),* $(,)?) => {
        /// A llama.cpp file type (`llama_ftype`), i.e. a quantization mix.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(non_camel_case_types)]
        pub enum LlamaFtype { $( $variant ),* }

        impl LlamaFtype {
            /// Every supported file type.
            pub const ALL: &'static [LlamaFtype] = &[ $( LlamaFtype::$variant ),* ];

            /// The name `llama-quantize` takes (`Q4_K_M`).
            pub const fn label(self) -> &'static str {
                match self { $( LlamaFtype::$variant => $label ),* }
            }

            /// `llama_ftype_get_default_type`: the type of every tensor no rule upgrades.
            pub const fn default_type(self) -> TensorType {
                match self { $( LlamaFtype::$variant => TensorType::$default ),* }
            }
        }
    };
}

ftypes! {
    F32 = ("F32", F32),
    F16 = ("F16", F16),
    BF16 = ("BF16", BF16),
    Q8_0 = ("Q8_0", Q8_0),
    Q6_K = ("Q6_K", Q6_K),
    Q5_1 = ("Q5_1", Q5_1),
    Q5_K_M = ("Q5_K_M", Q5_K),
    Q5_K_S = ("Q5_K_S", Q5_K),
    Q5_0 = ("Q5_0", Q5_0),
    Q4_1 = ("Q4_1", Q4_1),
    Q4_K_M = ("Q4_K_M", Q4_K),
    Q4_K_S = ("Q4_K_S", Q4_K),
    Q4_0 = ("Q4_0", Q4_0),
    IQ4_NL = ("IQ4_NL", IQ4_NL),
    IQ4_XS = ("IQ4_XS", IQ4_XS),
    Q3_K_L = ("Q3_K_L", Q3_K),
    Q3_K_M = ("Q3_K_M", Q3_K),
    IQ3_M = ("IQ3_M", IQ3_S),
    IQ3_S = ("IQ3_S", IQ3_S),
    Q3_K_S = ("Q3_K_S", Q3_K),
    IQ3_XS = ("IQ3_XS", IQ3_S),
    IQ3_XXS = ("IQ3_XXS", IQ3_XXS),
    Q2_K = ("Q2_K", Q2_K),
    Q2_K_S = ("Q2_K_S", Q2_K),
    IQ2_M = ("IQ2_M", IQ2_S),
    IQ2_S = ("IQ2_S", IQ2_XS),
    IQ2_XS = ("IQ2_XS", IQ2_XS),
    IQ2_XXS = ("IQ2_XXS", IQ2_XXS),
    IQ1_M = ("IQ1_M", IQ1_M),
    IQ1_S = ("IQ1_S", IQ1_S),
    TQ2_0 = ("TQ2_0", TQ2_0),
    TQ1_0 = ("TQ1_0", TQ1_0),
    MXFP4_MOE = ("MXFP4_MOE", MXFP4),
}

impl LlamaFtype {
    /// Look up by name, case-insensitive, `-` accepted for `_` (`q4_k_m`, `Q4-K-M`).
    pub fn from_label(name: &str) -> Option<LlamaFtype> {
        let norm = name.trim().replace('-', "_");
        Self::ALL
            .iter()
            .copied()
            .find(|f| f.label().eq_ignore_ascii_case(&norm))
    }

    /// Mixes whose low-bit types `llama-quantize` refuses to make without an importance matrix
    /// (`tensor_requires_imatrix`): a real file of this type was made with one.
    pub fn needs_imatrix(self) -> bool {
        use LlamaFtype::*;
        matches!(
            self,
            IQ1_S | IQ1_M | IQ2_XXS | IQ2_XS | IQ2_S | IQ2_M | IQ3_XXS | Q2_K_S
        )
    }
}

/// What to re-type an inventory to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantTarget {
    LlamaCpp(LlamaFtype),
    /// MLX affine quantization (`mlx_lm.convert -q --q-bits B --q-group-size G`).
    Mlx {
        bits: u32,
        group_size: u32,
    },
}

impl QuantTarget {
    /// The label used for `ModelDesc::file_type` (`Q4_K_M`, `mlx-4bit`, `mlx-4bit-g32`).
    pub fn label(&self) -> String {
        match *self {
            QuantTarget::LlamaCpp(f) => f.label().to_string(),
            QuantTarget::Mlx {
                bits,
                group_size: MLX_DEFAULT_GROUP,
            } => format!("mlx-{bits}bit"),
            QuantTarget::Mlx { bits, group_size } => format!("mlx-{bits}bit-g{group_size}"),
        }
    }
}

impl std::fmt::Display for QuantTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// mlx_lm's default group size for affine quantization.
pub const MLX_DEFAULT_GROUP: u32 = 64;
/// Bit widths `mx.quantize` supports in affine mode.
pub const MLX_BITS: &[u32] = &[2, 3, 4, 5, 6, 8];
/// Group sizes `mx.quantize` supports in affine mode.
pub const MLX_GROUPS: &[u32] = &[32, 64, 128];

/// llama.cpp targets from largest to smallest file. The order is the one computed for Llama-2-7B
/// (`tests/quantize.rs` checks it); GQA upgrades can swap neighbours on other models (on Llama-3-8B
/// `IQ4_NL` outgrows `Q4_K_S` and `Q2_K_S` outgrows `IQ2_M`), so use [`targets_by_size`] when the exact order for a model matters.
pub fn llama_cpp_targets() -> &'static [&'static str] {
    &[
        "F32", "F16", "BF16", "Q8_0", "Q6_K", "Q5_1", "Q5_K_M", "Q5_K_S", "Q5_0", "Q4_1", "Q4_K_M",
        "Q4_K_S", "IQ4_NL", "Q4_0", "IQ4_XS", "Q3_K_L", "Q3_K_M", "IQ3_M", "IQ3_S", "Q3_K_S",
        "IQ3_XS", "IQ3_XXS", "Q2_K", "IQ2_M", "Q2_K_S", "IQ2_S", "IQ2_XS", "IQ2_XXS", "IQ1_M",
        "IQ1_S",
    ]
}

/// Every name [`parse_target`] accepts (MLX group-size variants `mlx-<b>bit-g<G>` besides).
pub fn valid_target_names() -> Vec<String> {
    let mut v: Vec<String> = LlamaFtype::ALL
        .iter()
        .map(|f| f.label().to_string())
        .collect();
    v.extend(MLX_BITS.iter().map(|b| format!("mlx-{b}bit")));
    v
}

/// Parse a `--quant` value, case-insensitive. An unknown name is a usage error listing the valid names,
/// nearest first.
pub fn parse_target(name: &str) -> Result<QuantTarget> {
    let trimmed = name.trim();
    if let Some(f) = LlamaFtype::from_label(trimmed) {
        return Ok(QuantTarget::LlamaCpp(f));
    }
    let lower = trimmed.to_ascii_lowercase().replace('_', "-");
    if let Some(rest) = lower.strip_prefix("mlx-") {
        let (bits_part, group_part) = match rest.split_once('-') {
            Some((b, g)) => (b, Some(g)),
            None => (rest, None),
        };
        let bits = bits_part
            .strip_suffix("bit")
            .and_then(|b| b.parse::<u32>().ok());
        let group = match group_part {
            None => Some(MLX_DEFAULT_GROUP),
            Some(g) => g.strip_prefix('g').and_then(|g| g.parse::<u32>().ok()),
        };
        if let (Some(bits), Some(group_size)) = (bits, group) {
            if !MLX_BITS.contains(&bits) {
                return Err(Error::usage(format!(
                    "--quant {trimmed}: MLX supports {} bits; use e.g. mlx-4bit",
                    join_u32(MLX_BITS)
                )));
            }
            if !MLX_GROUPS.contains(&group_size) {
                return Err(Error::usage(format!(
                    "--quant {trimmed}: MLX group size must be one of {}; use e.g. mlx-{bits}bit-g32",
                    join_u32(MLX_GROUPS)
                )));
            }
            return Ok(QuantTarget::Mlx { bits, group_size });
        }
    }
    // nearest first: distance with separators ignored (Q4KM ~ Q4_K_M), then plain distance
    let mut names = valid_target_names();
    let squash = |s: &str| s.to_ascii_uppercase().replace(['_', '-'], "");
    let key = trimmed.to_ascii_uppercase();
    names.sort_by_key(|n| {
        (
            edit_distance(&squash(&key), &squash(n)),
            edit_distance(&key, &n.to_ascii_uppercase()),
            n.clone(),
        )
    });
    Err(Error::usage(format!(
        "unknown --quant '{trimmed}'; did you mean {}? valid: {} (MLX group size: append -g32 or -g128)",
        names[0],
        names.join(", ")
    )))
}

fn join_u32(v: &[u32]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("/")
}

use crate::suggest::edit_distance;

/// Knobs of a llama.cpp quantization that change the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuantOptions {
    /// Whether an importance matrix is used (`--imatrix`). `None`: only for the mixes that require one
    /// ([`LlamaFtype::needs_imatrix`]); a plain `llama-quantize` run otherwise.
    pub imatrix: Option<bool>,
}

/// Re-type every tensor as quantizing to `target` would. See the module docs.
pub fn requantize(model: &ModelDesc, target: &QuantTarget) -> Result<ModelDesc> {
    requantize_with(model, target, QuantOptions::default())
}

/// [`requantize`] with explicit options.
pub fn requantize_with(
    model: &ModelDesc,
    target: &QuantTarget,
    opts: QuantOptions,
) -> Result<ModelDesc> {
    match *target {
        QuantTarget::LlamaCpp(ftype) => {
            let imatrix = opts.imatrix.unwrap_or(ftype.needs_imatrix());
            llama_cpp(model, ftype, imatrix)
        }
        QuantTarget::Mlx { bits, group_size } => mlx(model, bits, group_size),
    }
}

/// Each llama.cpp target with its predicted weight bytes for this model, largest first.
pub fn targets_by_size(model: &ModelDesc) -> Vec<(LlamaFtype, u64)> {
    let mut v: Vec<(LlamaFtype, u64)> = llama_cpp_targets()
        .iter()
        .filter_map(|n| LlamaFtype::from_label(n))
        .filter_map(|f| {
            llama_cpp(model, f, f.needs_imatrix())
                .ok()
                .map(|m| (f, m.weights_bytes()))
        })
        .collect();
    v.sort_by_key(|b| std::cmp::Reverse(b.1));
    v
}

// ---------------------------------------------------------------------------------------------------
// shape helpers (GGUF/spec shapes are innermost-first, safetensors shapes outermost-first)
// ---------------------------------------------------------------------------------------------------

fn row_major(model: &ModelDesc) -> bool {
    model.format == ModelFormat::Safetensors
}

/// `ggml_n_dims`: dimensions up to the last one larger than 1.
fn n_dims(t: &TensorInfo, row_major: bool) -> usize {
    let dims: Vec<u64> = if row_major {
        t.shape.iter().rev().copied().collect()
    } else {
        t.shape.clone()
    };
    dims.iter().rposition(|&d| d > 1).map_or(1, |p| p + 1)
}

/// Number of rows (product of all dims but the row dim) and logical row length (`ne[0]`). The row
/// length comes from `n_elements`, so MLX-packed `U32` weights give their logical row.
fn rows_and_row(t: &TensorInfo, row_major: bool) -> (u64, u64) {
    let outer: u64 = if t.shape.is_empty() {
        1
    } else if row_major {
        t.shape[..t.shape.len() - 1].iter().product()
    } else {
        t.shape[1..].iter().product()
    };
    if outer == 0 {
        return (0, 0);
    }
    (outer, t.n_elements / outer)
}

/// `ne[2]` (number of stacked experts) of a tensor.
fn ne2(t: &TensorInfo, row_major: bool) -> u64 {
    let n = t.shape.len();
    if n < 3 {
        return 1;
    }
    if row_major {
        t.shape[n - 3]
    } else {
        t.shape[2]
    }
}

/// Companion tensors (`.scales`, `.biases`) of MLX-packed weights in the source.
fn is_mlx_companion(model: &ModelDesc, name: &str) -> bool {
    let Some(base) = name
        .strip_suffix(".scales")
        .or_else(|| name.strip_suffix(".biases"))
    else {
        return false;
    };
    let candidates = [format!("{base}.weight"), base.to_string()];
    model
        .tensors
        .iter()
        .any(|w| w.ty == TensorType::U32 && candidates.contains(&w.name))
}

fn is_float(ty: TensorType) -> bool {
    use TensorType::*;
    matches!(ty, F32 | F16 | BF16 | F64)
}

// ---------------------------------------------------------------------------------------------------
// llama.cpp
// ---------------------------------------------------------------------------------------------------

/// llama.cpp's `tensor_category`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    TokenEmbd,
    AttnQ,
    AttnV,
    AttnK,
    AttnQkv,
    AttnKvB,
    AttnOutput,
    FfnUp,
    FfnGate,
    FfnDown,
    Output,
    Other,
}

impl Category {
    fn is_attn_v(self) -> bool {
        matches!(
            self,
            Category::AttnV | Category::AttnQkv | Category::AttnKvB
        )
    }
}

/// `tensor_get_category`: exact substring rules on GGUF names; the same jobs from
/// [`roles::role`] on Hugging Face names.
fn category(name: &str, gguf_names: bool) -> Category {
    if gguf_names {
        let has = |s: &str| name.contains(s);
        return if name == "output.weight" {
            Category::Output
        } else if name == "token_embd.weight" || name == "per_layer_token_embd.weight" {
            Category::TokenEmbd
        } else if has("attn_qkv.weight") {
            Category::AttnQkv
        } else if has("attn_kv_b.weight") {
            Category::AttnKvB
        } else if has("attn_v.weight") {
            Category::AttnV
        } else if has("attn_k.weight") {
            Category::AttnK
        } else if has("attn_q.weight") {
            Category::AttnQ
        } else if has("attn_output.weight") {
            Category::AttnOutput
        } else if has("ffn_up") {
            Category::FfnUp
        } else if has("ffn_gate") {
            Category::FfnGate
        } else if has("ffn_down") {
            Category::FfnDown
        } else {
            Category::Other
        };
    }
    if !name.ends_with("weight") {
        return Category::Other;
    }
    let r = roles::role(name);
    let has = |s: &str| name.contains(s);
    match r.kind {
        Kind::Output => Category::Output,
        Kind::TokenEmbd => Category::TokenEmbd,
        Kind::AttnQkv => Category::AttnQkv,
        Kind::AttnOther if has("kv_b_proj") => Category::AttnKvB,
        Kind::AttnV => Category::AttnV,
        Kind::AttnK => Category::AttnK,
        Kind::AttnQ => Category::AttnQ,
        Kind::AttnOut => Category::AttnOutput,
        Kind::FfnUp | Kind::ExpertUp => Category::FfnUp,
        Kind::FfnGate | Kind::ExpertGate => Category::FfnGate,
        Kind::FfnDown | Kind::ExpertDown => Category::FfnDown,
        Kind::SharedExpert if has("down") => Category::FfnDown,
        Kind::SharedExpert if has("gate") => Category::FfnGate,
        Kind::SharedExpert if has("up") => Category::FfnUp,
        _ => Category::Other,
    }
}

/// `tensor_allows_quantization` (with `quantize_output_tensor` on, `only_copy` off), plus the
/// Hugging Face names of the same exceptions.
fn allows_quantization(t: &TensorInfo, dims: usize, gguf_names: bool) -> bool {
    if dims < 2 {
        return false;
    }
    let name = t.name.as_str();
    if !name.ends_with("weight") {
        return false;
    }
    const EXCLUDED: &[&str] = &[
        "_norm.weight",
        "ffn_gate_inp.weight",
        "ffn_gate_tid2eid.weight",
        "altup",
        "laurel",
        "per_layer_model_proj",
        "ssm_conv1d",
        "shortconv.conv.weight",
        "indexer.k_proj.weight",
        "indexer.q_proj.weight",
        "time_mix_first.weight",
        "time_mix_w0.weight",
        "time_mix_w1.weight",
        "time_mix_w2.weight",
        "time_mix_v0.weight",
        "time_mix_v1.weight",
        "time_mix_v2.weight",
        "time_mix_a0.weight",
        "time_mix_a1.weight",
        "time_mix_a2.weight",
        "time_mix_g1.weight",
        "time_mix_g2.weight",
        "time_mix_decay_w1.weight",
        "time_mix_decay_w2.weight",
        "time_mix_lerp_fused.weight",
        "attn_rel_b.weight",
        ".position_embd",
        "sam.pos_embd",
        "sam.neck.",
        "sam.net_",
        ".rel_pos",
        ".patch_embd",
        ".patch_merger",
        "a.rvq.codebook",
        "mm.a.code_embd",
    ];
    if EXCLUDED.iter().any(|s| name.contains(s)) {
        return false;
    }
    // LLM_TN(POS_EMBD) / LLM_TN(TOKEN_TYPES)
    if name == "position_embd.weight" || name == "token_types.weight" {
        return false;
    }
    if !gguf_names {
        let r = roles::role(name);
        if matches!(r.kind, Kind::Norm | Kind::Router) {
            return false;
        }
        const HF_EXCLUDED: &[&str] = &[
            "conv1d",
            "position_embeddings",
            "token_type_embeddings",
            "relative_attention_bias",
        ];
        if HF_EXCLUDED.iter().any(|s| name.contains(s)) {
            return false;
        }
    }
    true
}

/// What `convert_hf_to_gguf.py` stores a tensor llama.cpp will not quantize as: F32 for 1-D tensors,
/// non-`.weight` tensors, routers and conv kernels; the source float type otherwise.
fn gguf_unquantized_type(t: &TensorInfo, dims: usize, from_hf: bool) -> TensorType {
    if !from_hf || !is_float(t.ty) {
        return t.ty;
    }
    let name = t.name.as_str();
    let kind = roles::role(name).kind;
    if dims <= 1
        || !name.ends_with("weight")
        || kind == Kind::Norm
        || kind == Kind::Router
        || name.contains("conv1d")
    {
        TensorType::F32
    } else {
        t.ty
    }
}

/// `use_more_bits`: the first and last eighth of the layers and every third one between.
fn use_more_bits(i_layer: i64, n_layers: i64) -> bool {
    i_layer < n_layers / 8
        || i_layer >= 7 * n_layers / 8
        || (i_layer - n_layers / 8).rem_euclid(3) == 2
}

/// The model facts llama.cpp's mix rules look at.
struct QuantState {
    ftype: LlamaFtype,
    arch: String,
    n_gqa: u32,
    n_expert: u32,
    n_layer: i64,
    is_70b: bool,
    has_imatrix: bool,
    has_tied_embeddings: bool,
    n_attention_wv: i64,
    i_attention_wv: i64,
    i_ffn_down: i64,
    i_ffn_gate: i64,
    i_ffn_up: i64,
    n_fallback: usize,
}

/// `llm_type == LLM_TYPE_70B` as each architecture's `load_hparams` sets it (the only size class the
/// quantizer looks at): llama with 80 layers and GQA, qwen2 and deci with 80 layers, jais2 with 68.
fn is_llm_type_70b(arch: &str, n_layer: u32, n_head: u32, n_head_kv: u32) -> bool {
    match arch {
        "llama" => n_layer == 80 && n_head != n_head_kv,
        "qwen2" | "deci" => n_layer == 80,
        "jais2" => n_layer == 68,
        _ => false,
    }
}

impl QuantState {
    /// `llama_tensor_get_type_impl`.
    fn get_type_impl(
        &mut self,
        mut new_type: TensorType,
        t: &TensorInfo,
        cat: Category,
        row: u64,
        ne2: u64,
    ) -> TensorType {
        use Category as C;
        use LlamaFtype as F;
        use TensorType as T;
        let ft = self.ftype;
        let falcon = self.arch == "falcon";
        let n_gqa = self.n_gqa;
        let n_expert = self.n_expert;
        // layer_info: with experts the layer comes from the name; otherwise from the running counter
        let layer_of = |counter: i64| -> i64 {
            if n_expert > 1 {
                roles::role(&t.name).layer.map_or(counter, i64::from)
            } else {
                counter
            }
        };
        let n_layer = self.n_layer;

        if cat == C::Output || (self.has_tied_embeddings && cat == C::TokenEmbd) {
            let qk_k = new_type.block_elems();
            if ft == F::MXFP4_MOE || falcon || !row.is_multiple_of(qk_k) {
                new_type = T::Q8_0;
            } else if matches!(
                ft,
                F::IQ2_XXS | F::IQ2_XS | F::IQ3_XXS | F::IQ1_S | F::IQ2_S | F::IQ2_M | F::IQ1_M
            ) {
                new_type = T::Q5_K;
            } else if new_type != T::Q8_0 {
                new_type = T::Q6_K;
            }
        } else if ft == F::MXFP4_MOE {
            let bailing_expert = matches!(cat, C::FfnUp | C::FfnGate | C::FfnDown);
            new_type = if ne2 > 1 && (self.arch != "bailingmoe3" || bailing_expert) {
                T::MXFP4
            } else {
                T::Q8_0
            };
        } else if cat == C::TokenEmbd {
            if matches!(ft, F::IQ2_XXS | F::IQ2_XS | F::IQ1_S | F::IQ1_M) {
                new_type = T::Q2_K;
            } else if matches!(ft, F::IQ2_S | F::IQ2_M | F::IQ3_XXS) {
                new_type = T::IQ3_S;
            } else if matches!(ft, F::TQ1_0 | F::TQ2_0) {
                new_type = T::Q4_K;
            }
        } else if matches!(
            ft,
            F::IQ2_XXS | F::IQ2_XS | F::IQ1_S | F::IQ2_S | F::IQ2_M | F::IQ1_M
        ) {
            let s_or_m = matches!(ft, F::IQ2_S | F::IQ2_M);
            if cat.is_attn_v() {
                new_type = if n_gqa >= 4 || n_expert >= 4 {
                    T::Q4_K
                } else if s_or_m {
                    T::IQ3_S
                } else {
                    T::Q2_K
                };
                self.i_attention_wv += 1;
            } else if n_expert == 8 && cat == C::AttnK {
                new_type = T::Q4_K;
            } else if cat == C::FfnDown {
                // note: this branch compares the raw counter with n_layer / 8, as llama.cpp does
                if self.i_ffn_down < n_layer / 8 {
                    new_type = if s_or_m { T::IQ3_S } else { T::Q2_K };
                }
                self.i_ffn_down += 1;
            } else if cat == C::AttnOutput {
                if n_expert == 8 {
                    new_type = T::Q5_K;
                } else if matches!(ft, F::IQ1_S | F::IQ1_M) {
                    new_type = T::IQ2_XXS;
                } else if s_or_m {
                    new_type = T::IQ3_S;
                }
            }
        } else if cat.is_attn_v() {
            let i = self.i_attention_wv;
            if ft == F::Q2_K {
                new_type = if n_gqa >= 4 { T::Q4_K } else { T::Q3_K };
            } else if ft == F::Q2_K_S && n_gqa >= 4 {
                new_type = T::Q4_K;
            } else if ft == F::IQ3_XXS {
                new_type = if n_gqa >= 4 {
                    T::Q4_K
                } else if !self.has_imatrix {
                    T::IQ3_S
                } else {
                    T::IQ3_XXS
                };
            } else if (matches!(ft, F::IQ3_XS | F::IQ3_S) && n_gqa >= 4) || ft == F::IQ3_M {
                new_type = T::Q4_K;
            } else if ft == F::Q3_K_M {
                new_type = if i < 2 { T::Q5_K } else { T::Q4_K };
            } else if ft == F::Q3_K_L || (matches!(ft, F::IQ4_NL | F::IQ4_XS) && n_gqa >= 4) {
                new_type = T::Q5_K;
            } else if matches!(ft, F::Q4_K_M | F::Q5_K_M) && use_more_bits(i, self.n_attention_wv) {
                new_type = T::Q6_K;
            } else if ft == F::Q4_K_S && i < 4 {
                new_type = T::Q5_K;
            }
            if self.is_70b && matches!(new_type, T::Q3_K | T::Q4_K) {
                new_type = T::Q5_K;
            }
            if n_expert == 8 {
                new_type = T::Q8_0;
            }
            self.i_attention_wv += 1;
        } else if cat == C::AttnK {
            if n_expert == 8 {
                new_type = T::Q8_0;
            } else if ft == F::IQ3_XS {
                new_type = T::IQ3_XXS;
            } else if ft == F::IQ3_XXS {
                new_type = T::IQ2_S;
            }
        } else if cat == C::AttnQ {
            if ft == F::IQ3_XS {
                new_type = T::IQ3_XXS;
            } else if ft == F::IQ3_XXS {
                new_type = T::IQ2_S;
            }
        } else if cat == C::FfnDown {
            let i_layer = layer_of(self.i_ffn_down);
            if ft == F::Q2_K {
                new_type = T::Q3_K;
            } else if ft == F::Q2_K_S {
                if i_layer < n_layer / 8 {
                    new_type = T::Q4_K;
                }
            } else if ft == F::IQ3_XXS && !self.has_imatrix {
                new_type = if i_layer < n_layer / 8 {
                    T::Q4_K
                } else {
                    T::Q3_K
                };
            } else if ft == F::Q3_K_M {
                new_type = if i_layer < n_layer / 16 {
                    T::Q5_K
                } else if !falcon || use_more_bits(i_layer, n_layer) {
                    T::Q4_K
                } else {
                    T::Q3_K
                };
            } else if ft == F::IQ3_M
                && (i_layer < n_layer / 8 || (n_expert == 8 && use_more_bits(i_layer, n_layer)))
            {
                new_type = T::Q4_K;
            } else if ft == F::Q3_K_L {
                new_type = if falcon { T::Q4_K } else { T::Q5_K };
            } else if ft == F::Q4_K_M {
                if falcon {
                    new_type = if i_layer < n_layer / 16 {
                        T::Q6_K
                    } else if use_more_bits(i_layer, n_layer) {
                        T::Q5_K
                    } else {
                        T::Q4_K
                    };
                } else if use_more_bits(i_layer, n_layer) {
                    new_type = T::Q6_K;
                }
            } else if i_layer < n_layer / 8
                && matches!(ft, F::IQ4_NL | F::IQ4_XS)
                && !self.has_imatrix
            {
                new_type = T::Q5_K;
            } else if ft == F::Q5_K_M && use_more_bits(i_layer, n_layer) {
                new_type = T::Q6_K;
            } else if ft == F::Q4_K_S && !falcon && i_layer < n_layer / 8 {
                new_type = T::Q5_K;
            } else if matches!(ft, F::Q4_0 | F::Q5_0) && self.has_imatrix && i_layer < n_layer / 8 {
                new_type = if ft == F::Q4_0 { T::Q4_1 } else { T::Q5_1 };
            }
            self.i_ffn_down += 1;
        } else if cat == C::AttnOutput {
            if !falcon {
                if n_expert == 8 {
                    if matches!(
                        ft,
                        F::Q2_K
                            | F::IQ3_XS
                            | F::IQ3_XXS
                            | F::Q3_K_S
                            | F::Q3_K_M
                            | F::IQ4_NL
                            | F::Q4_K_S
                            | F::Q4_K_M
                            | F::IQ3_S
                            | F::IQ3_M
                            | F::IQ4_XS
                    ) {
                        new_type = T::Q5_K;
                    }
                } else if ft == F::Q2_K {
                    new_type = T::Q3_K;
                } else if ft == F::IQ3_XXS {
                    new_type = T::IQ3_S;
                } else if ft == F::Q3_K_M || ft == F::IQ3_M {
                    new_type = T::Q4_K;
                } else if ft == F::Q3_K_L {
                    new_type = T::Q5_K;
                }
            } else if ft == F::Q3_K_L {
                new_type = T::Q4_K;
            }
        } else if cat == C::AttnQkv {
            // (unreachable: AttnQkv is attn_v-like and handled above; kept for parity with llama.cpp)
            if matches!(ft, F::Q3_K_M | F::Q3_K_L | F::IQ3_M) {
                new_type = T::Q4_K;
            } else if ft == F::Q4_K_M {
                new_type = T::Q5_K;
            } else if ft == F::Q5_K_M {
                new_type = T::Q6_K;
            }
        } else if cat == C::FfnGate {
            let i_layer = layer_of(self.i_ffn_gate);
            if ft == F::IQ3_XS && i_layer >= n_layer / 8 && i_layer < 7 * n_layer / 8 {
                new_type = T::IQ3_XXS;
            }
            self.i_ffn_gate += 1;
        } else if cat == C::FfnUp {
            let i_layer = layer_of(self.i_ffn_up);
            if ft == F::IQ3_XS && i_layer >= n_layer / 8 && i_layer < 7 * n_layer / 8 {
                new_type = T::IQ3_XXS;
            }
            self.i_ffn_up += 1;
        }
        new_type
    }

    /// `tensor_type_fallback`: a type whose block divides the row.
    fn fallback(&mut self, t: &TensorInfo, row: u64, target: TensorType) -> Result<TensorType> {
        use TensorType as T;
        if row.is_multiple_of(target.block_elems()) {
            return Ok(target);
        }
        self.n_fallback += 1;
        let next = match target {
            T::IQ1_S
            | T::IQ1_M
            | T::IQ2_XXS
            | T::IQ2_XS
            | T::IQ2_S
            | T::IQ3_XXS
            | T::IQ3_S
            | T::IQ4_XS => T::IQ4_NL,
            T::Q2_K | T::Q3_K | T::TQ1_0 | T::TQ2_0 => T::Q4_0,
            T::Q4_K => T::Q5_0,
            T::Q5_K => T::Q5_1,
            T::Q6_K => T::Q8_0,
            other => {
                return Err(Error::usage(format!(
                    "{}: row of {row} elements is not a multiple of {}'s block of {} and llama.cpp has no \
                     fallback for {other}; pick another --quant",
                    t.name,
                    other,
                    other.block_elems()
                )));
            }
        };
        Ok(if !row.is_multiple_of(next.block_elems()) {
            T::F16
        } else {
            next
        })
    }
}

fn llama_cpp(model: &ModelDesc, ftype: LlamaFtype, has_imatrix: bool) -> Result<ModelDesc> {
    let rm = row_major(model);
    let gguf_names = !rm;
    let hp = &model.hparams;
    let n_head = hp.n_head0();
    let n_head_kv = hp.n_head_kv.first().copied().unwrap_or(0);
    let default_type = ftype.default_type();

    // Tensors in llama.cpp's loader order (weight_name_comparer: layer, then name), leaving out the
    // scales/biases of MLX-packed weights (they fold back into the weight).
    let mut order: Vec<usize> = (0..model.tensors.len())
        .filter(|&i| !is_mlx_companion(model, &model.tensors[i].name))
        .collect();
    let layer_key = |i: usize| {
        roles::role(&model.tensors[i].name)
            .layer
            .map_or(-1, i64::from)
    };
    order.sort_by(|&a, &b| match layer_key(a).cmp(&layer_key(b)) {
        Ordering::Equal => model.tensors[a].name.cmp(&model.tensors[b].name),
        o => o,
    });
    let cats: Vec<Category> = model
        .tensors
        .iter()
        .map(|t| category(&t.name, gguf_names))
        .collect();

    let mut qs = QuantState {
        ftype,
        arch: model.architecture.clone(),
        n_gqa: n_head.checked_div(n_head_kv).unwrap_or(0),
        n_expert: hp.n_expert,
        n_layer: i64::from(hp.n_layer),
        is_70b: is_llm_type_70b(&model.architecture, hp.n_layer, n_head, n_head_kv),
        has_imatrix,
        has_tied_embeddings: !order.iter().any(|&i| cats[i] == Category::Output),
        n_attention_wv: order.iter().filter(|&&i| cats[i].is_attn_v()).count() as i64,
        i_attention_wv: 0,
        i_ffn_down: 0,
        i_ffn_gate: 0,
        i_ffn_up: 0,
        n_fallback: 0,
    };

    let mut new_tensors: Vec<Option<TensorInfo>> = vec![None; model.tensors.len()];
    for &i in &order {
        let t = &model.tensors[i];
        let dims = n_dims(t, rm);
        let (rows, row) = rows_and_row(t, rm);
        let packed = t.ty == TensorType::U32 && model.mlx_quant.is_some();
        let ty = if !allows_quantization(t, dims, gguf_names) {
            if packed {
                // an MLX-quantized tensor llama.cpp keeps unquantized (a router): back to float
                let mut f = t.clone();
                f.ty = TensorType::BF16;
                gguf_unquantized_type(&f, dims, true)
            } else {
                gguf_unquantized_type(t, dims, rm)
            }
        } else if default_type.is_quantized() {
            // per-expert Hugging Face tensors are stacked into one [.., .., n_expert] GGUF tensor
            let stacked = if gguf_names || !roles::role(&t.name).kind.is_routed_expert() {
                ne2(t, rm)
            } else {
                u64::from(hp.n_expert.max(2))
            };
            let ty = qs.get_type_impl(default_type, t, cats[i], row, stacked);
            qs.fallback(t, row, ty)?
        } else {
            default_type
        };
        let mut nt = t.clone();
        nt.ty = ty;
        nt.n_bytes = if ty == t.ty && !packed {
            t.n_bytes
        } else {
            let rb = ty.row_bytes(row).ok_or_else(|| {
                Error::usage(format!(
                    "{}: row of {row} elements does not fit {ty}'s blocks",
                    t.name
                ))
            })?;
            rows.checked_mul(rb)
                .ok_or_else(|| Error::usage(format!("{}: size overflows", t.name)))?
        };
        if packed {
            // unpack the MLX shape: logical row back in the row dimension
            let last = if rm {
                nt.shape.len().saturating_sub(1)
            } else {
                0
            };
            if let Some(d) = nt.shape.get_mut(last) {
                *d = row;
            }
        }
        nt.data = None;
        new_tensors[i] = Some(nt);
    }

    let mut out = model.clone();
    out.tensors = new_tensors.into_iter().flatten().collect();
    out.file_type = Some(ftype.label().to_string());
    out.mlx_quant = None;
    out.files.clear();
    if has_imatrix {
        out.warnings.push(format!(
            "{}: sized as made with an importance matrix (llama-quantize --imatrix)",
            ftype.label()
        ));
    }
    if qs.n_fallback > 0 {
        out.warnings.push(format!(
            "{}: {} tensor(s) have rows that are not a whole number of blocks and fall back to another type, as llama-quantize does",
            ftype.label(),
            qs.n_fallback
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------
// MLX
// ---------------------------------------------------------------------------------------------------

/// The float type mlx_lm casts a model to: the source's half type (F16 or BF16) where it has one,
/// BF16 otherwise (quantized GGUF sources, F32 sources).
fn mlx_float_type(model: &ModelDesc) -> TensorType {
    let mut f16 = 0u64;
    let mut bf16 = 0u64;
    for t in &model.tensors {
        match t.ty {
            TensorType::F16 => f16 += t.n_bytes,
            TensorType::BF16 => bf16 += t.n_bytes,
            _ => {}
        }
    }
    if let Some(s) = model.tensors.iter().find(|t| t.name.ends_with(".scales"))
        && matches!(s.ty, TensorType::F16 | TensorType::BF16)
    {
        return s.ty;
    }
    if f16 > bf16 {
        TensorType::F16
    } else {
        TensorType::BF16
    }
}

/// Whether mlx_lm would quantize this tensor: the weight of a module with `to_quantized` (Linear,
/// Embedding, SwitchLinear; norms, convolutions and position tables are not) whose last dimension is a
/// multiple of the group size.
fn mlx_quantizable(t: &TensorInfo, dims: usize, row: u64, group: u32) -> bool {
    let name = t.name.as_str();
    if dims < 2 || t.shape.is_empty() || !(name.ends_with("weight") || t.ty == TensorType::U32) {
        return false;
    }
    let kind = roles::role(name).kind;
    if kind == Kind::Norm || name.contains("_norm") || name.contains("norm.") {
        return false;
    }
    const EXCLUDED: &[&str] = &[
        "conv",
        "position_embd",
        "position_embeddings",
        "token_types",
        "token_type_embeddings",
    ];
    if EXCLUDED.iter().any(|s| name.contains(s)) {
        return false;
    }
    row > 0 && row.is_multiple_of(u64::from(group))
}

fn mlx(model: &ModelDesc, bits: u32, group: u32) -> Result<ModelDesc> {
    let rm = row_major(model);
    let gguf_names = !rm;
    let float = mlx_float_type(model);
    let mut out_tensors = Vec::with_capacity(model.tensors.len() * 3);
    for t in &model.tensors {
        if is_mlx_companion(model, &t.name) {
            continue;
        }
        let dims = n_dims(t, rm);
        let (rows, row) = rows_and_row(t, rm);
        let kind = roles::role(&t.name).kind;
        // MoE routers: mlx_lm's per-model quant_predicate keeps them at 8 bits, group 64
        let (b, g) = if kind == Kind::Router {
            (8, 64)
        } else {
            (bits, group)
        };
        let was_packed = t.ty == TensorType::U32 && model.mlx_quant.is_some();
        if !mlx_quantizable(t, dims, row, g) {
            let mut nt = t.clone();
            nt.data = None;
            if was_packed {
                // an MLX weight that cannot take this group size: back to the float type, logical shape
                let last = if rm {
                    nt.shape.len().saturating_sub(1)
                } else {
                    0
                };
                if let Some(d) = nt.shape.get_mut(last) {
                    *d = row;
                }
                nt.ty = float;
                nt.n_bytes = t.n_elements.saturating_mul(float.block_bytes());
            } else if is_float(t.ty) && t.ty != float {
                nt.ty = float;
                nt.n_bytes = t
                    .n_elements
                    .checked_mul(float.block_bytes())
                    .ok_or_else(|| Error::usage(format!("{}: size overflows", t.name)))?;
            } else if t.ty.is_quantized() {
                // a block-quantized GGUF tensor mlx_lm cannot quantize (row not a multiple of the group)
                // stays in the float type
                nt.ty = float;
                nt.n_bytes = t.n_elements.saturating_mul(float.block_bytes());
            }
            out_tensors.push(nt);
            continue;
        }
        let overflow = || Error::usage(format!("{}: size overflows", t.name));
        let packed_row = row * u64::from(b) / 32;
        let groups_row = row / u64::from(g);
        let mut w = t.clone();
        w.data = None;
        w.ty = TensorType::U32;
        w.n_bytes = rows
            .checked_mul(packed_row)
            .and_then(|x| x.checked_mul(4))
            .ok_or_else(overflow)?;
        let row_dim = if rm { w.shape.len() - 1 } else { 0 };
        w.shape[row_dim] = packed_row;
        let mut scales = t.clone();
        scales.data = None;
        scales.ty = float;
        scales.n_elements = 0;
        scales.shape[row_dim] = groups_row;
        scales.n_bytes = rows
            .checked_mul(groups_row)
            .and_then(|x| x.checked_mul(float.block_bytes()))
            .ok_or_else(overflow)?;
        let base = if gguf_names {
            t.name.clone()
        } else {
            t.name
                .strip_suffix(".weight")
                .unwrap_or(&t.name)
                .to_string()
        };
        scales.name = format!("{base}.scales");
        let mut biases = scales.clone();
        biases.name = format!("{base}.biases");
        out_tensors.extend([w, scales, biases]);
    }
    let mut out = model.clone();
    out.tensors = out_tensors;
    out.file_type = Some(
        QuantTarget::Mlx {
            bits,
            group_size: group,
        }
        .label(),
    );
    out.mlx_quant = Some(MlxQuant {
        group_size: group,
        bits,
    });
    out.files.clear();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_more_bits_matches_llama_cpp_for_32_layers() {
        // n/8 = 4, 7n/8 = 28: layers 0-3, 28-31 and 4 + 3k + 2 = 6, 9, ..., 27
        let got: Vec<i64> = (0..32).filter(|&i| use_more_bits(i, 32)).collect();
        let want: Vec<i64> = [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31].to_vec();
        assert_eq!(got, want);
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("Q4KM", "Q4_K_M"), 2);
        assert_eq!(edit_distance("", "ABC"), 3);
        assert_eq!(edit_distance("Q8_0", "Q8_0"), 0);
    }

    #[test]
    fn fallback_table() {
        let mut qs = QuantState {
            ftype: LlamaFtype::Q4_K_M,
            arch: "llama".into(),
            n_gqa: 1,
            n_expert: 0,
            n_layer: 1,
            is_70b: false,
            has_imatrix: false,
            has_tied_embeddings: false,
            n_attention_wv: 0,
            i_attention_wv: 0,
            i_ffn_down: 0,
            i_ffn_gate: 0,
            i_ffn_up: 0,
            n_fallback: 0,
        };
        let t = TensorInfo {
            name: "x".into(),
            shape: vec![],
            ty: TensorType::F16,
            n_elements: 0,
            n_bytes: 0,
            data: None,
        };
        use TensorType as T;
        assert_eq!(qs.fallback(&t, 4096, T::Q4_K).unwrap(), T::Q4_K);
        assert_eq!(qs.fallback(&t, 4160, T::Q4_K).unwrap(), T::Q5_0);
        assert_eq!(qs.fallback(&t, 4160, T::Q5_K).unwrap(), T::Q5_1);
        assert_eq!(qs.fallback(&t, 4160, T::Q6_K).unwrap(), T::Q8_0);
        assert_eq!(qs.fallback(&t, 4160, T::Q3_K).unwrap(), T::Q4_0);
        assert_eq!(qs.fallback(&t, 4160, T::IQ4_XS).unwrap(), T::IQ4_NL);
        assert_eq!(qs.fallback(&t, 100, T::Q4_K).unwrap(), T::F16);
        assert!(qs.fallback(&t, 100, T::Q8_0).is_err());
        assert_eq!(qs.n_fallback, 7);
    }
}
