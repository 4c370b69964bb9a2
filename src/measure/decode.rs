//! The decode plan shared by both backends: which weight matrices a token streams, in which order, and
//! how many of their rows. Built once from a [`ModelDesc`]; [`Plan::token_ops`] lists the matrix-vector
//! products of token `t`: the token-embedding row, then per layer the attention projections, attention
//! over the KV cache (two matvecs: scores against the K cache, `ctx × n_kv` rows of `head_dim`; the
//! weighted sum over the V cache stored transposed, `n_kv·head_dim` rows of `ctx`, as llama.cpp lays it
//! out without flash attention), the output projection, the router, the dense or shared FFN, and for MoE
//! layers `n_expert_used` experts picked per token; finally the output matrix. Norms, RoPE and other
//! element-wise work are left out (they read kilobytes, not the megabytes that set decode speed).
//! Activations are synthetic: every product reads one random `x` and writes one scratch `y`, so the
//! numbers are meaningless but every stored byte goes through the dequant kernel of its own type.

use super::dequant::{ScaleType, is_supported, unsupported};
use super::source::Rng;
use crate::error::{Error, Result};
use crate::model::roles::{Kind, role};
use crate::model::{ModelDesc, ModelFormat, TensorType};

/// Where one array of a weight comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// `len` bytes at `offset` of `ModelDesc::files[file]`.
    File { file: usize, offset: u64, len: u64 },
    /// Random well-formed blocks of `ty` (see [`super::source::random_blocks`]).
    Synthetic { seed: u64, len: u64, ty: TensorType },
}

impl Part {
    pub fn len(&self) -> u64 {
        match self {
            Part::File { len, .. } | Part::Synthetic { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a weight's rows are encoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Encoding {
    Ggml(TensorType),
    /// MLX affine: packed u32 words plus per-group scales and biases.
    Mlx {
        bits: u32,
        group: u32,
        scale_type: ScaleType,
    },
}

impl Encoding {
    pub fn label(&self) -> String {
        match self {
            Encoding::Ggml(t) => t.name().to_string(),
            Encoding::Mlx { bits, group, .. } => format!("MLX{bits}g{group}"),
        }
    }
}

/// A matrix the decode reads: `rows` rows of `k` elements.
#[derive(Debug, Clone, PartialEq)]
pub struct Weight {
    pub name: String,
    pub enc: Encoding,
    pub rows: u64,
    pub k: u64,
    /// Bytes of one row of the main array.
    pub row_bytes: u64,
    pub q: Part,
    /// MLX only: scales and biases (`k/group` values per row each).
    pub scales: Option<Part>,
    pub biases: Option<Part>,
}

impl Weight {
    /// Bytes per row of scales (and of biases); 0 for ggml types.
    pub fn scale_row_bytes(&self) -> u64 {
        match self.enc {
            Encoding::Ggml(_) => 0,
            Encoding::Mlx {
                group, scale_type, ..
            } => self.k / group as u64 * scale_type.bytes() as u64,
        }
    }

    /// All bytes read for one row.
    pub fn row_bytes_total(&self) -> u64 {
        self.row_bytes + 2 * self.scale_row_bytes()
    }

    /// All bytes stored.
    pub fn bytes(&self) -> u64 {
        self.q.len()
            + self.scales.as_ref().map_or(0, Part::len)
            + self.biases.as_ref().map_or(0, Part::len)
    }
}

/// One matrix-vector product: rows `row0 .. row0 + rows` of weight `w`. Row `r` reads the `k` inputs at
/// `x[(r % xmod)·k ..]` (K-cache rows of head `h` read query head `h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatVec {
    pub w: usize,
    pub row0: u64,
    pub rows: u64,
    pub xmod: u64,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// Every row.
    Dense(usize),
    /// One row chosen per token (token embedding lookup).
    Row(usize),
    /// Stacked experts: `rows / n_expert` rows per expert.
    Experts { w: usize, per_expert: u64 },
    /// One expert's own tensor (Hugging Face layout).
    Expert { w: usize, expert: u32 },
    /// Attention over the cache: K-cache matvec, V-cache matvec.
    Attention { k: usize, v: usize, n_kv: u64 },
    /// A fixed product (tests, benchmarks).
    Fixed(MatVec),
}

/// The token loop's program.
#[derive(Debug, Clone)]
pub struct Plan {
    pub weights: Vec<Weight>,
    steps: Vec<(Option<u32>, Step)>,
    n_expert: u32,
    n_expert_used: u32,
    /// Context length the KV cache holds (rounded up to 256).
    pub context: u64,
    /// True when the weights are synthetic (no model files).
    pub synthetic: bool,
}

fn kind_rank(k: Kind) -> Option<u32> {
    Some(match k {
        Kind::AttnQ | Kind::AttnK | Kind::AttnV | Kind::AttnQkv | Kind::AttnOther => 0,
        // 1: attention over the cache
        Kind::AttnOut => 2,
        Kind::Ssm => 3,
        Kind::Router => 4,
        Kind::FfnGate | Kind::FfnUp | Kind::FfnDown => 5,
        Kind::SharedExpert => 6,
        Kind::ExpertGate | Kind::ExpertUp | Kind::ExpertDown | Kind::ExpertOther => 7,
        _ => return None,
    })
}

fn expert_index(name: &str) -> Option<u32> {
    let pos = name.find(".experts.")?;
    let rest = &name[pos + ".experts.".len()..];
    let digits = &rest[..rest.find(|c: char| !c.is_ascii_digit())?];
    digits.parse().ok()
}

fn seed_of(name: &str) -> u64 {
    // FNV-1a
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

impl Plan {
    /// Build the plan for `model` with a KV cache of `context` tokens stored as `cache_k`/`cache_v`.
    pub fn build(
        model: &ModelDesc,
        context: u64,
        cache_k: TensorType,
        cache_v: TensorType,
    ) -> Result<Plan> {
        let synthetic = model.files.is_empty();
        let hp = &model.hparams;
        let by_name: std::collections::HashMap<&str, usize> = model
            .tensors
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();
        let mut weights: Vec<Weight> = Vec::new();
        let mut steps: Vec<(Option<u32>, u32, usize, Step)> = Vec::new(); // (layer, rank, order, step)
        let mut embd = None;
        let mut output = None;

        let part_of = |i: usize, len: u64, ty: TensorType| -> Result<Part> {
            let t = &model.tensors[i];
            if synthetic {
                return Ok(Part::Synthetic {
                    seed: seed_of(&t.name),
                    len,
                    ty,
                });
            }
            let d = t.data.ok_or_else(|| {
                Error::bad_input(
                    &model.source,
                    format!("tensor {}: no data location; cannot measure", t.name),
                )
            })?;
            Ok(Part::File {
                file: d.file,
                offset: d.offset,
                len,
            })
        };

        for (i, t) in model.tensors.iter().enumerate() {
            if t.name.ends_with(".scales") || t.name.ends_with(".biases") || t.shape.len() < 2 {
                continue;
            }
            let r = role(&t.name);
            let wanted =
                matches!(r.kind, Kind::TokenEmbd | Kind::Output) || kind_rank(r.kind).is_some();
            if !wanted || t.shape.contains(&0) {
                continue;
            }
            let row_major = model.format == ModelFormat::Safetensors;
            let (inner, rows) = if row_major {
                (
                    *t.shape.last().unwrap_or(&0),
                    t.shape[..t.shape.len() - 1].iter().product::<u64>(),
                )
            } else {
                (t.shape[0], t.shape[1..].iter().product::<u64>())
            };
            let w = if t.ty == TensorType::U32 && model.mlx_quant.is_some() {
                let mq = model.mlx_quant.unwrap_or(crate::model::MlxQuant {
                    group_size: 64,
                    bits: 4,
                });
                let base = t.name.strip_suffix(".weight").unwrap_or(&t.name);
                let (si, bi) = match (
                    by_name.get(format!("{base}.scales").as_str()),
                    by_name.get(format!("{base}.biases").as_str()),
                ) {
                    (Some(s), Some(b)) => (*s, *b),
                    _ => {
                        return Err(Error::bad_input(
                            &model.source,
                            format!(
                                "tensor {}: MLX packed weight without {base}.scales and {base}.biases",
                                t.name
                            ),
                        ));
                    }
                };
                if !matches!(mq.bits, 4 | 8)
                    || mq.group_size == 0
                    || !mq.group_size.is_multiple_of(32)
                {
                    return Err(Error::usage(format!(
                        "MLX {}-bit group {} not supported for measurement (4- and 8-bit, groups of 32/64/128)",
                        mq.bits, mq.group_size
                    )));
                }
                let k = inner * 32 / mq.bits as u64;
                let st = &model.tensors[si];
                let scale_type = ScaleType::from_tensor_type(st.ty)
                    .ok_or_else(|| unsupported(st.ty, &st.name))?;
                let srow = k / mq.group_size as u64 * scale_type.bytes() as u64;
                if !k.is_multiple_of(mq.group_size as u64)
                    || st.n_bytes != rows * srow
                    || model.tensors[bi].n_bytes != rows * srow
                {
                    return Err(Error::bad_input(
                        &model.source,
                        format!(
                            "tensor {}: scales/biases sizes do not match {rows} rows of {k} in groups of {}",
                            t.name, mq.group_size
                        ),
                    ));
                }
                Weight {
                    name: t.name.clone(),
                    enc: Encoding::Mlx {
                        bits: mq.bits,
                        group: mq.group_size,
                        scale_type,
                    },
                    rows,
                    k,
                    row_bytes: inner * 4,
                    q: part_of(i, rows * inner * 4, TensorType::U32)?,
                    scales: Some(part_of(si, rows * srow, st.ty)?),
                    biases: Some(part_of(bi, rows * srow, st.ty)?),
                }
            } else {
                if !is_supported(t.ty) {
                    return Err(unsupported(t.ty, &t.name));
                }
                let row_bytes = t.ty.row_bytes(inner).ok_or_else(|| {
                    Error::bad_input(
                        &model.source,
                        format!(
                            "tensor {}: row of {inner} is not whole {} blocks",
                            t.name, t.ty
                        ),
                    )
                })?;
                if row_bytes.checked_mul(rows) != Some(t.n_bytes) {
                    return Err(Error::bad_input(
                        &model.source,
                        format!(
                            "tensor {}: {} bytes stored but {rows} rows × {row_bytes} bytes expected",
                            t.name, t.n_bytes
                        ),
                    ));
                }
                Weight {
                    name: t.name.clone(),
                    enc: Encoding::Ggml(t.ty),
                    rows,
                    k: inner,
                    row_bytes,
                    q: part_of(i, t.n_bytes, t.ty)?,
                    scales: None,
                    biases: None,
                }
            };
            let wi = weights.len();
            let n_rows = w.rows;
            weights.push(w);
            match r.kind {
                Kind::TokenEmbd => embd = Some(wi),
                Kind::Output => output = Some(wi),
                k if k.is_routed_expert() => {
                    let step = if let Some(e) = expert_index(&t.name) {
                        Step::Expert { w: wi, expert: e }
                    } else if hp.n_expert > 1 && n_rows % hp.n_expert as u64 == 0 {
                        Step::Experts {
                            w: wi,
                            per_expert: n_rows / hp.n_expert as u64,
                        }
                    } else {
                        Step::Dense(wi)
                    };
                    steps.push((r.layer, kind_rank(k).unwrap_or(9), i, step));
                }
                k => steps.push((r.layer, kind_rank(k).unwrap_or(9), i, Step::Dense(wi))),
            }
        }

        // KV caches
        let context = context.max(1).div_ceil(256) * 256;
        for l in 0..hp.n_layer {
            let li = l as usize;
            let n_kv = hp.n_head_kv.get(li).copied().unwrap_or(0) as u64;
            if n_kv == 0 || hp.recurrent_layers.get(li).copied().unwrap_or(false) {
                continue;
            }
            let (n_kv, dk, dv) = match &hp.mla {
                Some(m) => (1, m.kv_lora_rank + m.rope_dim, m.kv_lora_rank),
                None => (n_kv, hp.head_dim_k, hp.head_dim_v),
            };
            let ctx = match hp.sliding_window {
                Some(w) if hp.swa_layers.get(li).copied().unwrap_or(false) => {
                    context.min(w.div_ceil(256) * 256)
                }
                _ => context,
            };
            for ty in [cache_k, cache_v] {
                if !is_supported(ty) {
                    return Err(unsupported(ty, "KV cache"));
                }
            }
            let krow = cache_k.row_bytes(dk).ok_or_else(|| {
                Error::usage(format!(
                    "KV cache type {cache_k}: key head size {dk} is not whole blocks"
                ))
            })?;
            let vrow = cache_v.row_bytes(ctx).ok_or_else(|| {
                Error::usage(format!(
                    "KV cache type {cache_v}: context {ctx} is not whole blocks"
                ))
            })?;
            let kw = Weight {
                name: format!("cache_k.{l}"),
                enc: Encoding::Ggml(cache_k),
                rows: ctx * n_kv,
                k: dk,
                row_bytes: krow,
                q: Part::Synthetic {
                    seed: seed_of(&format!("cache_k.{l}")),
                    len: krow * ctx * n_kv,
                    ty: cache_k,
                },
                scales: None,
                biases: None,
            };
            let vw = Weight {
                name: format!("cache_v.{l}"),
                enc: Encoding::Ggml(cache_v),
                rows: n_kv * dv,
                k: ctx,
                row_bytes: vrow,
                q: Part::Synthetic {
                    seed: seed_of(&format!("cache_v.{l}")),
                    len: vrow * n_kv * dv,
                    ty: cache_v,
                },
                scales: None,
                biases: None,
            };
            let k = weights.len();
            weights.push(kw);
            weights.push(vw);
            steps.push((Some(l), 1, 0, Step::Attention { k, v: k + 1, n_kv }));
        }

        steps.sort_by_key(|(l, rank, order, _)| (l.map_or(0, |v| v as u64 + 1), *rank, *order));
        let mut all: Vec<(Option<u32>, Step)> = Vec::new();
        if let Some(e) = embd {
            all.push((None, Step::Row(e)));
        }
        all.extend(steps.into_iter().map(|(l, _, _, s)| (l, s)));
        match (output, embd) {
            (Some(o), _) | (None, Some(o)) => all.push((None, Step::Dense(o))),
            (None, None) => {}
        }
        if all.is_empty() {
            return Err(Error::usage(format!(
                "{}: no weight matrices to measure",
                model.name
            )));
        }
        Ok(Plan {
            weights,
            steps: all,
            n_expert: hp.n_expert.max(1),
            n_expert_used: hp.n_expert_used.clamp(1, hp.n_expert.max(1)),
            context,
            synthetic,
        })
    }

    /// The experts token `t` uses in layer `l` (distinct, deterministic).
    pub fn experts(&self, t: u32, l: u32) -> Vec<u32> {
        let mut rng = Rng::new(((t as u64) << 32) ^ l as u64 ^ 0x5eed);
        let mut picked = Vec::with_capacity(self.n_expert_used as usize);
        while picked.len() < self.n_expert_used as usize {
            let e = (rng.next_u64() % self.n_expert as u64) as u32;
            if !picked.contains(&e) {
                picked.push(e);
            }
        }
        picked
    }

    /// The products token `t` runs, in order.
    pub fn token_ops(&self, t: u32) -> Vec<MatVec> {
        let mut ops = Vec::new();
        let mut chosen: Option<(u32, Vec<u32>)> = None;
        for (layer, step) in &self.steps {
            let mut pick = |l: u32| -> Vec<u32> {
                match &chosen {
                    Some((cl, e)) if *cl == l => e.clone(),
                    _ => {
                        let e = self.experts(t, l);
                        chosen = Some((l, e.clone()));
                        e
                    }
                }
            };
            match *step {
                Step::Dense(w) => ops.push(MatVec {
                    w,
                    row0: 0,
                    rows: self.weights[w].rows,
                    xmod: 1,
                }),
                Step::Row(w) => {
                    let r = (t as u64).wrapping_mul(7919) % self.weights[w].rows;
                    ops.push(MatVec {
                        w,
                        row0: r,
                        rows: 1,
                        xmod: 1,
                    })
                }
                Step::Experts { w, per_expert } => {
                    for e in pick(layer.unwrap_or(0)) {
                        ops.push(MatVec {
                            w,
                            row0: e as u64 * per_expert,
                            rows: per_expert,
                            xmod: 1,
                        });
                    }
                }
                Step::Expert { w, expert } => {
                    if pick(layer.unwrap_or(0)).contains(&expert) {
                        ops.push(MatVec {
                            w,
                            row0: 0,
                            rows: self.weights[w].rows,
                            xmod: 1,
                        });
                    }
                }
                Step::Fixed(o) => ops.push(o),
                Step::Attention { k, v, n_kv } => {
                    ops.push(MatVec {
                        w: k,
                        row0: 0,
                        rows: self.weights[k].rows,
                        xmod: n_kv,
                    });
                    ops.push(MatVec {
                        w: v,
                        row0: 0,
                        rows: self.weights[v].rows,
                        xmod: 1,
                    });
                }
            }
        }
        ops
    }

    /// Bytes the products of `ops` read.
    pub fn ops_bytes(&self, ops: &[MatVec]) -> u64 {
        ops.iter()
            .map(|o| o.rows * self.weights[o.w].row_bytes_total())
            .sum()
    }

    /// Bytes everything stored takes (weights and KV caches).
    pub fn stored_bytes(&self) -> u64 {
        self.weights.iter().map(Weight::bytes).sum()
    }

    /// Bytes a backend holds: everything stored plus the x and y scratch vectors (f32).
    pub fn device_bytes(&self) -> u64 {
        let (x, y) = self.scratch();
        self.stored_bytes() + 4 * (x.max(1) + y.max(1))
    }

    /// Products per token (the largest over the first `n` tokens).
    pub fn max_ops(&self, n: u32) -> usize {
        (0..n.max(1))
            .map(|t| self.token_ops(t).len())
            .max()
            .unwrap_or(0)
    }

    /// A plan that runs each of `weights` in full once per token (kernel benchmarks, tests).
    pub fn dense(weights: Vec<Weight>) -> Plan {
        let steps = (0..weights.len()).map(|i| (None, Step::Dense(i))).collect();
        let synthetic = weights
            .iter()
            .all(|w| matches!(w.q, Part::Synthetic { .. }));
        Plan {
            weights,
            steps,
            n_expert: 1,
            n_expert_used: 1,
            context: 0,
            synthetic,
        }
    }

    /// A plan that runs exactly `ops` every token (tests, benchmarks).
    pub fn custom(weights: Vec<Weight>, ops: &[MatVec]) -> Plan {
        let mut p = Plan::dense(weights);
        p.steps = ops.iter().map(|o| (None, Step::Fixed(*o))).collect();
        p
    }

    /// Longest input vector any product reads (x elements) and most rows one product writes.
    pub fn scratch(&self) -> (u64, u64) {
        let x = self
            .steps
            .iter()
            .filter_map(|(_, s)| match *s {
                Step::Attention { k, n_kv, .. } => Some(self.weights[k].k * n_kv),
                Step::Fixed(o) => Some(self.weights[o.w].k * o.xmod),
                _ => None,
            })
            .chain(self.weights.iter().map(|w| w.k))
            .max()
            .unwrap_or(0);
        let y = self.weights.iter().map(|w| w.rows).max().unwrap_or(0);
        (x, y)
    }
}
