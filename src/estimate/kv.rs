//! kv: the KV cache, byte-exact as llama.cpp 0c1e570 allocates it (and mlx-lm's growing cache).
//!
//! llama.cpp (`src/llama-kv-cache.cpp`, `llama-kv-cache-iswa.cpp`, `llama-memory-recurrent.cpp`):
//! - cells = `pad256(n_ctx)`: the context is rounded up to a multiple of 256. With `-np N > 1`
//!   parallel sequences the cache is split into N streams (`kv_unified` is off by default in both the
//!   library and `common_params`): each stream holds `n_ctx_seq = pad256(pad256(n_ctx) / N)` cells
//!   (`llama-context.cpp` `llama_context::llama_context`), so the total is `N · n_ctx_seq`.
//! - unified cache (`kv_unified`, llama.cpp `-kvu`; llama-server turns it on, with 4 slots, when `-np` is
//!   not given: `tools/server/server.cpp`): `n_ctx_seq = pad256(n_ctx)` and one stream
//!   (`llama_kv_cache`: `n_stream = unified ? 1 : n_seq_max`) shared by all sequences, so full-attention
//!   layers hold the same `pad256(n_ctx)` cells as a single sequence, whatever N.
//! - each attention layer `l` holds `cells × (row_bytes(type_k, n_head_kv(l)·hd_k) + row_bytes(type_v,
//!   n_head_kv(l)·hd_v))` bytes.
//! - sliding-window layers (swa_full off, the llama-cli/server default) hold
//!   `pad256(min(n_ctx_seq, n_swa·(unified ? N : 1) + n_ubatch))` cells per stream
//!   (`llama-kv-cache-iswa.cpp`: every sequence keeps its own window in the shared stream). Checked on
//!   gpt-oss and gemma3 at `-np` 1–8, both ways.
//! - MLA (DeepSeek-V2/V3 files with `key_length_mla`; older conversions run without MLA and are sized like
//!   any model, see `model::gguf::hparams`): the cache holds the compressed latent only: one "head" of
//!   `kv_lora_rank + rope_dim` per token per layer, and no separate V (V is a view of K, llama.cpp
//!   PR #19067 "kv-cache: support V-less cache", 2026-01). Check: DeepSeek-V3 at 32768 cells q8_0 =
//!   1166.62 MiB, as logged by ik_llama.cpp PR #259 (`KV self size = 1166.62 MiB, c^KV (q8_0)`).
//! - recurrent layers (Mamba-style) hold a fixed f32 state per sequence:
//!   `4·((d_conv−1)(d_inner + 2·n_group·d_state) + d_state·d_inner)`, independent of the context.
//!
//! - recurrent layers hold `max(1, n_seq)` state rows (`llama-memory-recurrent.cpp`, unified or not:
//!   `llama_memory_recurrent` takes no `unified` flag), and hybrids (Granite-4.0-H, Jamba...) hold both:
//!   attention layers a KV cache, the others this state.
//!
//! All 80 rows of the oracle (`tests/data/oracle_results.csv`), all 216 rows of the extended oracle
//! (`tests/data/oracle_results_ext.csv`: MoE, MLA, Mamba-1/2, Granite hybrid, LFM2, Qwen3-Next, gpt-oss,
//! `-np` 1–4) and the unified-cache rows (`tests/data/oracle_results_kvu.csv`, `-np` 1–8) match to the
//! byte.
//!
//! mlx-lm (`mlx_lm/models/cache.py`): `KVCache` grows in steps of 256 tokens in the activation dtype, so
//! full-attention layers hold `pad256(ctx)` tokens; `RotatingKVCache` keeps `min(ctx, window)` for
//! sliding-window layers; `QuantizedKVCache` (group 64) stores `bits/8 + 4/64` bytes per element, the same
//! bytes as q8_0 (8 bits) and q4_0 (4 bits).

use super::{Runtime, Workload};
use crate::error::{Error, Result};
use crate::model::{HyperParams, TensorType};

/// llama.cpp pads the context (and the SWA cache) to this many cells.
pub const CELL_PAD: u64 = 256;

/// The longest context a largest-context search tries: the model's trained context, or (when the file
/// does not say) the asked one, at least one pad.
pub fn context_limit(hp: &HyperParams, wl: &Workload) -> u64 {
    if hp.context_length > 0 {
        hp.context_length
    } else {
        wl.context.max(CELL_PAD)
    }
}

/// The largest multiple of [`CELL_PAD`] at most `limit` (one pad at least) for which `fits` holds, by
/// bisection (`fits` must be monotone: a context that fits means every smaller one does); `None` when
/// one pad does not fit. The largest-context search of single- and multi-device plans.
pub fn largest_fitting_context(limit: u64, fits: impl Fn(u64) -> bool) -> Option<u64> {
    let top = (limit / CELL_PAD).max(1);
    if !fits(CELL_PAD) {
        return None;
    }
    if fits(top * CELL_PAD) {
        return Some(top * CELL_PAD);
    }
    let (mut lo, mut hi) = (1u64, top); // lo·256 fits, hi·256 does not
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid * CELL_PAD) {
            lo = mid
        } else {
            hi = mid
        }
    }
    Some(lo * CELL_PAD)
}

/// Round `n` up to a multiple of 256.
pub fn pad256(n: u64) -> u64 {
    n.div_ceil(CELL_PAD).saturating_mul(CELL_PAD)
}

/// The KV cache types llama.cpp accepts for `-ctk`/`-ctv` (`common/arg.cpp` `kv_cache_types`).
pub const LLAMA_CPP_KV_TYPES: &[TensorType] = &[
    TensorType::F32,
    TensorType::F16,
    TensorType::BF16,
    TensorType::Q8_0,
    TensorType::Q4_0,
    TensorType::Q4_1,
    TensorType::IQ4_NL,
    TensorType::Q5_0,
    TensorType::Q5_1,
];

/// KV types mlx-lm can hold (f16/bf16 plain cache; 8-bit and 4-bit `QuantizedKVCache`, spelled q8_0/q4_0).
pub const MLX_KV_TYPES: &[TensorType] = &[
    TensorType::F16,
    TensorType::BF16,
    TensorType::Q8_0,
    TensorType::Q4_0,
];

/// Check a (K type, V type, flash attention) choice the way llama.cpp does.
pub fn check_cache_types(
    k: TensorType,
    v: TensorType,
    flash_attention: bool,
    runtime: Runtime,
) -> Result<()> {
    let allowed = match runtime {
        Runtime::LlamaCpp => LLAMA_CPP_KV_TYPES,
        Runtime::Mlx => MLX_KV_TYPES,
    };
    let names = || {
        allowed
            .iter()
            .map(|t| t.name().to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (flag, t) in [("-ctk", k), ("-ctv", v)] {
        if !allowed.contains(&t) {
            return Err(Error::usage(format!(
                "{flag} {}: not a KV cache type this runtime supports; use one of {}",
                t.name().to_ascii_lowercase(),
                names()
            )));
        }
    }
    if runtime == Runtime::LlamaCpp && v.is_quantized() && !flash_attention {
        return Err(Error::usage(format!(
            "-ctv {}: llama.cpp refuses a quantized V cache without flash attention \
             (\"V cache quantization requires flash_attn\"); add -fa on or use -ctv f16",
            v.name().to_ascii_lowercase()
        )));
    }
    Ok(())
}

/// The KV cache of one model at one pair of cache types, reduced to a few sums so that the bytes at any
/// context are O(1) (the max-context search calls [`KvShape::bytes`] many times).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KvShape {
    /// Bytes per cell summed over full-attention layers.
    pub full_cell_bytes: u64,
    /// Bytes per cell summed over sliding-window layers.
    pub swa_cell_bytes: u64,
    /// Sliding window in tokens (0 when no layer slides).
    pub window: u64,
    /// Recurrent state bytes per sequence, summed over recurrent layers.
    pub recurrent_seq_bytes: u64,
    pub full_layers: u32,
    pub swa_layers: u32,
    pub recurrent_layers: u32,
    pub runtime: Runtime,
    /// llama.cpp's unified KV cache (`-kvu`): one stream shared by every sequence.
    pub unified: bool,
}

/// Cells held by the full-attention and the sliding-window layers, per stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cells {
    /// Cells of a full-attention layer in one stream (what one sequence attends to: `n_kv`).
    pub full: u64,
    /// Cells of a sliding-window layer in one stream.
    pub swa: u64,
    /// KV streams: `-np` for llama.cpp's default non-unified cache, else 1.
    pub streams: u64,
    /// Sequences (`-np`): recurrent state rows, whatever the number of streams.
    pub seqs: u64,
}

impl Cells {
    /// One stream of `full` and `swa` cells, one sequence.
    pub fn single(full: u64, swa: u64) -> Cells {
        Cells {
            full,
            swa,
            streams: 1,
            seqs: 1,
        }
    }
}

fn row(t: TensorType, n: u64, what: &str) -> Result<u64> {
    t.row_bytes(n).ok_or_else(|| {
        Error::usage(format!(
            "KV cache type {} needs rows that are a multiple of {} elements, but this model's {what} row has {n}; \
             use f16",
            t.name().to_ascii_lowercase(),
            t.block_elems()
        ))
    })
}

impl KvShape {
    /// Per-layer accounting for `hp` with K type `k` and V type `v`.
    pub fn new(
        hp: &HyperParams,
        k: TensorType,
        v: TensorType,
        runtime: Runtime,
    ) -> Result<KvShape> {
        if hp.mla.is_some() && k != v && runtime == Runtime::LlamaCpp {
            // llama_init_from_model: "model does not support different K and V cache types" (V is a
            // view of the latent K cache)
            return Err(Error::usage(format!(
                "-ctk {} -ctv {}: llama.cpp refuses different K and V cache types for an MLA model \
                 (its V is a view of the latent K cache); give both the same type",
                k.name().to_ascii_lowercase(),
                v.name().to_ascii_lowercase()
            )));
        }
        let mut s = KvShape {
            runtime,
            window: hp.sliding_window.unwrap_or(0),
            ..KvShape::default()
        };
        for l in 0..hp.n_layer as usize {
            let recurrent = hp.recurrent_layers.get(l).copied().unwrap_or(false)
                || (hp.ssm.is_some()
                    && hp.recurrent_layers.is_empty()
                    && hp.n_head_kv.get(l).copied().unwrap_or(0) == 0);
            if recurrent {
                if let Some(ssm) = &hp.ssm {
                    let r = ssm.d_conv.saturating_sub(1)
                        * (ssm.d_inner + 2 * ssm.n_group * ssm.d_state);
                    let st = ssm.d_state * ssm.d_inner;
                    s.recurrent_seq_bytes += 4 * (r + st);
                }
                s.recurrent_layers += 1;
                continue;
            }
            let hkv = hp.n_head_kv.get(l).copied().unwrap_or(0) as u64;
            if hkv == 0 {
                continue;
            }
            let cell = if let Some(mla) = &hp.mla {
                // latent cache: one head of kv_lora_rank + rope_dim, V is a view of it
                row(k, mla.kv_lora_rank + mla.rope_dim, "MLA latent")?
            } else {
                row(k, hkv * hp.head_dim_k, "K")? + row(v, hkv * hp.head_dim_v, "V")?
            };
            let swa = s.window > 0 && hp.swa_layers.get(l).copied().unwrap_or(false);
            if swa {
                s.swa_cell_bytes += cell;
                s.swa_layers += 1;
            } else {
                s.full_cell_bytes += cell;
                s.full_layers += 1;
            }
        }
        Ok(s)
    }

    /// The same cache as llama.cpp's unified KV cache (`kv_unified`) when `unified`.
    pub fn with_unified(self, unified: bool) -> KvShape {
        KvShape { unified, ..self }
    }

    /// The cache for the workload's model, K/V types, runtime and `kv_unified`.
    pub fn for_workload(hp: &HyperParams, wl: &Workload) -> Result<KvShape> {
        Ok(
            KvShape::new(hp, wl.cache_type_k, wl.cache_type_v, wl.runtime)?
                .with_unified(wl.kv_unified),
        )
    }

    /// Cells held at context `ctx` with micro-batch `ubatch` and `n_seq` parallel sequences.
    pub fn cells(&self, ctx: u64, ubatch: u64, n_seq: u64) -> Cells {
        let seqs = n_seq.max(1);
        match self.runtime {
            Runtime::LlamaCpp => {
                let n_ctx = pad256(ctx);
                // llama_context: n_ctx_seq = n_ctx when unified, else GGML_PAD(n_ctx / n_seq_max, 256);
                // llama_kv_cache: n_stream = unified ? 1 : n_seq_max
                let streams = if self.unified { 1 } else { seqs };
                let full = if streams > 1 {
                    pad256(n_ctx / streams).max(CELL_PAD)
                } else {
                    n_ctx
                };
                // llama_kv_cache_iswa: GGML_PAD(min(size_base, n_swa·(unified ? n_seq_max : 1) + n_ubatch), 256)
                let windows = if self.unified { seqs } else { 1 };
                let swa = if self.swa_layers > 0 {
                    pad256(full.min(self.window.saturating_mul(windows).saturating_add(ubatch)))
                } else {
                    0
                };
                Cells {
                    full,
                    swa,
                    streams,
                    seqs,
                }
            }
            Runtime::Mlx => {
                let full = pad256(ctx);
                let swa = if self.swa_layers > 0 {
                    full.min(self.window)
                } else {
                    0
                };
                Cells::single(full, swa)
            }
        }
    }

    /// Total KV cache bytes at context `ctx`.
    pub fn bytes(&self, ctx: u64, ubatch: u64, n_seq: u64) -> u64 {
        let c = self.cells(ctx, ubatch, n_seq);
        self.full_cell_bytes
            .saturating_mul(c.full)
            .saturating_add(self.swa_cell_bytes.saturating_mul(c.swa))
            .saturating_mul(c.streams)
            .saturating_add(self.recurrent_seq_bytes.saturating_mul(n_seq.max(1)))
    }

    /// KV bytes read to decode one token at position `pos` (attention reads every cached token, a
    /// sliding-window layer at most `window` of them; recurrent state is read once).
    pub fn read_bytes_at(&self, pos: u64) -> u64 {
        let swa_pos = if self.window > 0 {
            pos.min(self.window)
        } else {
            pos
        };
        self.full_cell_bytes
            .saturating_mul(pos)
            .saturating_add(self.swa_cell_bytes.saturating_mul(swa_pos))
            .saturating_add(self.recurrent_seq_bytes)
    }
}

/// KV bytes for the workload, exactly as llama.cpp (or mlx-lm) allocates them.
pub fn kv_bytes(hp: &HyperParams, wl: &Workload) -> Result<u64> {
    check_cache_types(
        wl.cache_type_k,
        wl.cache_type_v,
        wl.flash_attention,
        wl.runtime,
    )?;
    let s = KvShape::for_workload(hp, wl)?;
    Ok(s.bytes(wl.context, wl.ubatch as u64, wl.parallel as u64))
}

/// KV bytes of each layer at the workload (for partial offload: a layer's cache lives with the layer).
pub fn kv_layer_bytes(hp: &HyperParams, wl: &Workload) -> Result<Vec<u64>> {
    let shape = KvShape::for_workload(hp, wl)?;
    let cells = shape.cells(wl.context, wl.ubatch as u64, wl.parallel as u64);
    let mut out = Vec::with_capacity(hp.n_layer as usize);
    for l in 0..hp.n_layer as usize {
        // build a one-layer view and reuse the same accounting
        let one = HyperParams {
            n_layer: 1,
            n_head_kv: vec![hp.n_head_kv.get(l).copied().unwrap_or(0)],
            swa_layers: vec![hp.swa_layers.get(l).copied().unwrap_or(false)],
            recurrent_layers: if hp.recurrent_layers.is_empty() {
                vec![]
            } else {
                vec![hp.recurrent_layers.get(l).copied().unwrap_or(false)]
            },
            n_head: vec![],
            n_ff: vec![],
            mla: hp.mla.clone(),
            ssm: hp.ssm.clone(),
            sliding_window: hp.sliding_window,
            head_dim_k: hp.head_dim_k,
            head_dim_v: hp.head_dim_v,
            ..HyperParams::default()
        };
        let s1 = KvShape::new(&one, wl.cache_type_k, wl.cache_type_v, wl.runtime)?;
        out.push(
            (s1.full_cell_bytes * cells.full + s1.swa_cell_bytes * cells.swa) * cells.streams
                + s1.recurrent_seq_bytes * cells.seqs,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn llama70b() -> HyperParams {
        HyperParams {
            n_layer: 80,
            n_embd: 8192,
            n_head: vec![64; 80],
            n_head_kv: vec![8; 80],
            head_dim_k: 128,
            head_dim_v: 128,
            n_ff: vec![28672; 80],
            context_length: 131072,
            vocab_size: 128256,
            ..HyperParams::default()
        }
    }

    #[test]
    fn llama_3_1_70b_f16_8192() {
        // 80 layers × 8 KV heads × 128 × (2 + 2) bytes × 8192 cells
        let wl = Workload {
            context: 8192,
            ..Workload::default()
        };
        assert_eq!(kv_bytes(&llama70b(), &wl).unwrap(), 2_684_354_560);
    }

    #[test]
    fn context_is_padded_to_256() {
        let hp = llama70b();
        let a = kv_bytes(
            &hp,
            &Workload {
                context: 1000,
                ..Workload::default()
            },
        )
        .unwrap();
        let b = kv_bytes(
            &hp,
            &Workload {
                context: 1024,
                ..Workload::default()
            },
        )
        .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn quantized_v_needs_flash_attention() {
        let wl = Workload {
            cache_type_k: TensorType::Q8_0,
            cache_type_v: TensorType::Q8_0,
            flash_attention: false,
            ..Workload::default()
        };
        let e = kv_bytes(&llama70b(), &wl).unwrap_err();
        assert!(e.to_string().contains("flash"), "{e}");
        let wl = Workload {
            cache_type_k: TensorType::Q4_K,
            ..Workload::default()
        };
        assert!(
            kv_bytes(&llama70b(), &wl)
                .unwrap_err()
                .to_string()
                .contains("q4_k")
        );
    }

    /// One full and one sliding-window layer (window 128), 2 KV heads of 64, f16: 512 B per cell.
    fn full_and_sliding() -> HyperParams {
        HyperParams {
            n_layer: 2,
            n_embd: 512,
            n_head: vec![8; 2],
            n_head_kv: vec![2; 2],
            head_dim_k: 64,
            head_dim_v: 64,
            sliding_window: Some(128),
            swa_layers: vec![false, true],
            ..HyperParams::default()
        }
    }

    #[test]
    fn parallel_sequences_split_the_cache_into_streams() {
        let hp = full_and_sliding();
        let wl = Workload {
            context: 4096,
            parallel: 4,
            ..Workload::default()
        };
        // llama.cpp (kv_unified off): 4 streams of n_ctx_seq = 1024 cells; the sliding layer holds
        // pad256(min(1024, 128 + 512)) = 768 cells per stream (gpt-oss oracle rows, -np 4)
        assert_eq!(kv_bytes(&hp, &wl).unwrap(), 4 * (1024 + 768) * 512);
        let per_layer = kv_layer_bytes(&hp, &wl).unwrap();
        assert_eq!(per_layer, vec![4 * 1024 * 512, 4 * 768 * 512]);
        // n_ctx 1000 with 3 sequences: n_ctx_seq = pad256(1024 / 3) = 512, 3 streams
        let wl = Workload {
            context: 1000,
            parallel: 3,
            ..Workload::default()
        };
        let s = KvShape::new(&hp, TensorType::F16, TensorType::F16, Runtime::LlamaCpp).unwrap();
        let c = s.cells(wl.context, 512, 3);
        assert_eq!((c.full, c.swa, c.streams), (512, 512, 3));
    }

    #[test]
    fn unified_cache_is_one_stream_with_a_window_per_sequence() {
        // the same model with -kvu
        let hp = full_and_sliding();
        let wl = Workload {
            context: 4096,
            parallel: 4,
            kv_unified: true,
            ..Workload::default()
        };
        // llama.cpp kv_unified: one stream of pad256(4096) cells; the sliding layer holds
        // pad256(min(4096, 128·4 + 512)) = 1024 (gpt-oss -np 4 -kvu: 4096 + 1024 cells)
        assert_eq!(kv_bytes(&hp, &wl).unwrap(), (4096 + 1024) * 512);
        assert_eq!(
            kv_layer_bytes(&hp, &wl).unwrap(),
            vec![4096 * 512, 1024 * 512]
        );
        // -np 1: unified or not, the same cache
        let one = Workload {
            parallel: 1,
            ..wl.clone()
        };
        assert_eq!(
            kv_bytes(&hp, &one).unwrap(),
            kv_bytes(
                &hp,
                &Workload {
                    kv_unified: false,
                    ..one.clone()
                }
            )
            .unwrap()
        );
        // the window is capped by the cache: 8 windows of 128 + 512 > pad256(1000) = 1024
        let s = KvShape::new(&hp, TensorType::F16, TensorType::F16, Runtime::LlamaCpp)
            .unwrap()
            .with_unified(true);
        let c = s.cells(1000, 512, 8);
        assert_eq!((c.full, c.swa, c.streams, c.seqs), (1024, 1024, 1, 8));
    }

    /// Three layers: short convolution (l_cache 3, no scan state), attention (2 KV heads × 64), short
    /// convolution; n_embd 512.
    fn hybrid_conv_attn_conv() -> HyperParams {
        HyperParams {
            n_layer: 3,
            n_embd: 512,
            n_head: vec![8; 3],
            n_head_kv: vec![0, 2, 0],
            head_dim_k: 64,
            head_dim_v: 64,
            ssm: Some(crate::model::Ssm {
                d_conv: 3,
                d_inner: 512,
                ..Default::default()
            }),
            recurrent_layers: vec![true, false, true],
            ..HyperParams::default()
        }
    }

    #[test]
    fn unified_cache_keeps_recurrent_state_per_sequence() {
        let hp = hybrid_conv_attn_conv();
        let wl = Workload {
            context: 512,
            parallel: 2,
            kv_unified: true,
            ..Workload::default()
        };
        let attn = 512 * 512; // one stream of 512 cells, 512 B per cell
        let state = 2 * 2 * 4 * 512 * 2; // llama_memory_recurrent: still one row per sequence
        assert_eq!(kv_bytes(&hp, &wl).unwrap(), attn + state);
    }

    #[test]
    fn mla_needs_one_cache_type() {
        let hp = HyperParams {
            n_layer: 1,
            n_head: vec![8],
            n_head_kv: vec![1],
            mla: Some(crate::model::Mla {
                kv_lora_rank: 512,
                rope_dim: 64,
                ..Default::default()
            }),
            ..HyperParams::default()
        };
        let e =
            KvShape::new(&hp, TensorType::Q8_0, TensorType::F16, Runtime::LlamaCpp).unwrap_err();
        assert!(e.to_string().contains("same type"), "{e}");
        assert!(KvShape::new(&hp, TensorType::Q8_0, TensorType::Q8_0, Runtime::LlamaCpp).is_ok());
    }

    #[test]
    fn short_convolution_state_per_sequence() {
        // LFM2-style: 2 of 3 layers are short convolutions (l_cache 3, no scan state):
        // llama.cpp n_embd_r = n_embd·(l_cache − 1) f32 per sequence; the attention layer caches K/V
        let hp = hybrid_conv_attn_conv();
        let wl = Workload {
            context: 512,
            parallel: 2,
            ..Workload::default()
        };
        let attn = 2 * 256 * 512; // 2 streams of 256 cells, 512 B per cell
        let state = 2 * 2 * 4 * 512 * 2; // 2 layers, 2 sequences, 4·n_embd·(3 − 1)
        assert_eq!(kv_bytes(&hp, &wl).unwrap(), attn + state);
    }

    #[test]
    fn layer_split_sums_to_total() {
        let wl = Workload {
            context: 5000,
            ..Workload::default()
        };
        let hp = llama70b();
        let per = kv_layer_bytes(&hp, &wl).unwrap();
        assert_eq!(per.iter().sum::<u64>(), kv_bytes(&hp, &wl).unwrap());
    }
}
