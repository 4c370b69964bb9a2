//! graph: llama.cpp's reserve graph for one full micro-batch, rebuilt from the hyperparameters, for the
//! allocator simulation ([`super::alloc`]). A small mirror of ggml's graph construction: tensors with
//! shapes and element types, the ops that make them (which of them may run in place), views and their
//! owners, graph inputs and outputs, and `ggml_build_forward_expand`'s depth-first order (sources in slot
//! order, a node after its sources, a leaf when first reached), called at the same points as llama.cpp.
//!
//! Only what the compute buffer sees is kept: weights, the KV cache and the recurrent state live in other
//! buffers, so they (and views of them) are left out; a node that writes into them (`SET_ROWS`, `CPY`) is
//! kept as a node without memory of its own, because it is the last reader of what it stores.
//!
//! Builders (llama.cpp 0c1e570, `src/models/*.cpp`, `src/llama-graph.cpp`), each checked against graphs
//! that `scripts/oracle/graph_probe.cpp --graph 1` recorded (`tests/alloc_replay.rs`):
//! - dense and MoE transformers with RoPE, optional Q/K RMS norms (llama, qwen3): `build_qkv`,
//!   `build_attn` (flash attention on and off, Hadamard rotation of Q/K/V with quantized caches),
//!   `build_ffn` (SwiGLU), `build_moe_ffn` (softmax gating);
//! - Jamba: Mamba-1 layers (`build_mamba_layer`, `build_rs`) with attention (no RoPE) and MoE layers.
//!
//! Single-stream graphs only (one sequence, or the unified cache): with several KV streams the reserve
//! graph splits the batch per stream, which is not modelled here.

use super::alloc::{self, Graph, Layout, Storage, Tensor};

/// ggml type ids of the compute tensors (only equality matters for the allocator).
const F32: u32 = 0;
const F16: u32 = 1;
const I32: u32 = 26;
const I64: u32 = 27;

fn type_size(ty: u32) -> u64 {
    match ty {
        F16 => 2,
        I64 => 8,
        _ => 4,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A graph input (`ggml_set_input`), allocated here.
    Input,
    /// An op result allocated here; `inplace`: `ggml_op_can_inplace`.
    Op { inplace: bool },
    /// A view of another tensor of this graph.
    View,
    /// An op whose result is a view of memory outside the graph (KV / state stores).
    Sink,
}

#[derive(Debug, Clone)]
struct T {
    ne: [u64; 4],
    ty: u32,
    kind: Kind,
    srcs: Vec<usize>,
    view_src: Option<usize>,
    output: bool,
    name: &'static str,
    /// The layer whose builder made it: `il`, [`HOST`] (inputs, token embeddings), [`OUTPUT`] (the output
    /// layer's nodes) or [`INHERIT`] (the final norm, which runs where the node before it ran).
    layer: i64,
    /// Creation index within its layer: a tensor's role, the same in every copy of a repeated layer.
    role: u32,
}

/// Layer tag of graph inputs and the token-embedding lookup (the host CPU in a multi-device run).
const HOST: i64 = -1;
/// Layer tag of the final RMS norm: no weight and no layer pinning, so the scheduler's expansion gives it
/// the backend of the node before it (the last repeating layer's device).
const INHERIT: i64 = -2;
/// Layer tag of the output layer's nodes (output norm weight, logits).
const OUTPUT: i64 = i64::MAX;

/// A ggml context plus one cgraph.
#[derive(Debug, Default, Clone)]
pub struct Ctx {
    ts: Vec<T>,
    layer: i64,
    role_layer: i64,
    role_next: u32,
    visited: Vec<bool>,
    nodes: Vec<usize>,
    leafs: Vec<usize>,
}

impl Ctx {
    fn push(&mut self, mut t: T) -> usize {
        if self.role_layer != self.layer {
            self.role_layer = self.layer;
            self.role_next = 0;
        }
        t.layer = self.layer;
        t.role = self.role_next;
        self.role_next += 1;
        self.ts.push(t);
        self.visited.push(false);
        self.ts.len() - 1
    }

    fn input(&mut self, ty: u32, ne: [u64; 4], name: &'static str) -> usize {
        self.push(T {
            ne,
            ty,
            kind: Kind::Input,
            srcs: vec![],
            view_src: None,
            output: false,
            name,
            layer: 0,
            role: 0,
        })
    }

    fn op(
        &mut self,
        name: &'static str,
        inplace: bool,
        ty: u32,
        ne: [u64; 4],
        srcs: &[usize],
    ) -> usize {
        self.push(T {
            ne,
            ty,
            kind: Kind::Op { inplace },
            srcs: srcs.to_vec(),
            view_src: None,
            output: false,
            name,
            layer: 0,
            role: 0,
        })
    }

    /// Any view (`ggml_view_*`, `ggml_reshape_*`, `ggml_permute`, `ggml_transpose`) of `a`.
    fn view(&mut self, a: usize, ne: [u64; 4]) -> usize {
        let root = self.ts[a].view_src.unwrap_or(a);
        let ty = self.ts[a].ty;
        self.push(T {
            ne,
            ty,
            kind: Kind::View,
            srcs: vec![a],
            view_src: Some(root),
            output: false,
            name: "view",
            layer: 0,
            role: 0,
        })
    }

    /// A store into memory outside the compute buffer that reads `srcs`.
    fn sink(&mut self, srcs: &[usize]) -> usize {
        self.push(T {
            ne: [0; 4],
            ty: F32,
            kind: Kind::Sink,
            srcs: srcs.to_vec(),
            view_src: None,
            output: false,
            name: "store",
            layer: 0,
            role: 0,
        })
    }

    fn ne(&self, a: usize) -> [u64; 4] {
        self.ts[a].ne
    }

    /// `ggml_build_forward_expand`.
    fn expand(&mut self, t: usize) {
        // iterative post-order DFS (sources in slot order)
        let mut stack = vec![(t, 0usize)];
        if self.visited[t] {
            return;
        }
        self.visited[t] = true;
        while let Some((n, i)) = stack.pop() {
            if i < self.ts[n].srcs.len() {
                stack.push((n, i + 1));
                let s = self.ts[n].srcs[i];
                if !self.visited[s] {
                    self.visited[s] = true;
                    stack.push((s, 0));
                }
                continue;
            }
            if self.ts[n].kind == Kind::Input {
                self.leafs.push(n);
            } else {
                self.nodes.push(n);
            }
        }
    }

    // ---- ggml ops (shapes as ggml computes them) ----

    fn mul_mat_w(&mut self, x: usize, rows: u64, name: &'static str) -> usize {
        let ne = self.ne(x);
        self.op(name, false, F32, [rows, ne[1], ne[2], ne[3]], &[x])
    }
    fn rms_norm(&mut self, a: usize) -> usize {
        let ne = self.ne(a);
        self.op("norm", true, F32, ne, &[a])
    }
    /// `build_norm` with a weight: rms_norm then mul.
    fn norm(&mut self, a: usize, name: &'static str) -> usize {
        let n = self.rms_norm(a);
        let ne = self.ne(n);
        self.op(name, true, F32, ne, &[n])
    }
    /// Elementwise op on `a` with a weight or bias from outside the graph (mul/add by a tensor).
    fn unary(&mut self, a: usize, name: &'static str) -> usize {
        let ne = self.ne(a);
        self.op(name, true, F32, ne, &[a])
    }
    fn binary(&mut self, a: usize, b: usize, name: &'static str) -> usize {
        let ne = self.ne(a);
        self.op(name, true, F32, ne, &[a, b])
    }
    fn cont(&mut self, a: usize, ne: [u64; 4]) -> usize {
        self.op("cont", false, self.ts[a].ty, ne, &[a])
    }
    fn get_rows(&mut self, a: usize, ids: usize, name: &'static str) -> usize {
        let (ne, ni) = (self.ne(a), self.ne(ids));
        self.op(name, false, F32, [ne[0], ni[0], ni[1], ni[2]], &[a, ids])
    }
    /// `get_rows` of a tensor outside the graph (a state cache).
    fn get_rows_ext(&mut self, row: u64, ids: usize) -> usize {
        let ni = self.ne(ids);
        self.op("get_rows", false, F32, [row, ni[0], ni[1], ni[2]], &[ids])
    }
    fn swiglu(&mut self, a: usize, b: usize) -> usize {
        let ne = self.ne(a);
        self.op("swiglu", false, F32, ne, &[a, b])
    }

    /// `llama_mul_mat_hadamard`: reshape (or cont) to rows of `nrot`, multiply by the rotation input,
    /// reshape back.
    fn hadamard(&mut self, cur: usize, rot: usize, contiguous: bool) -> usize {
        let ne = self.ne(cur);
        let n = self.ne(rot)[0];
        let total = ne.iter().product::<u64>();
        let r2 = [n, total / n.max(1), 1, 1];
        let res = if contiguous {
            self.view(cur, r2)
        } else {
            self.cont(cur, r2)
        };
        let m = self.op("hadamard", false, F32, r2, &[rot, res]);
        self.view(m, ne)
    }

    fn finish(self) -> Graph {
        let mut g = Graph::default();
        for t in &self.ts {
            let contiguous = |ne: [u64; 4], es: u64| {
                let mut nb = [es, 0, 0, 0];
                for i in 1..4 {
                    nb[i] = nb[i - 1] * ne[i - 1];
                }
                nb
            };
            let es = type_size(t.ty);
            let size = t.ne.iter().product::<u64>().saturating_mul(es);
            let (storage, input, inplace) = match t.kind {
                Kind::Input => (Storage::Compute, true, false),
                Kind::Op { inplace } => (Storage::Compute, false, inplace),
                Kind::View => (Storage::View(t.view_src.unwrap_or(0)), false, false),
                Kind::Sink => (Storage::External, false, false),
            };
            g.tensors.push(Tensor {
                size,
                layout: Layout {
                    ty: t.ty,
                    ne: t.ne,
                    nb: contiguous(t.ne, es),
                },
                storage,
                input,
                output: t.output,
                inplace,
            });
        }
        g.leafs = self.leafs;
        g.nodes = self
            .nodes
            .iter()
            .map(|&n| (n, self.ts[n].srcs.iter().map(|&s| Some(s)).collect()))
            .collect();
        g
    }

    /// Op names of the nodes in execution order (for comparing with a recorded graph).
    pub fn node_names(&self) -> Vec<&'static str> {
        self.nodes.iter().map(|&n| self.ts[n].name).collect()
    }
}

/// One layer's token mixer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mixer {
    /// Self-attention with a KV cache (`head_dim` for K and V).
    Attention {
        n_head: u64,
        n_head_kv: u64,
        head_dim: u64,
        /// RMS norms on Q and K (qwen3).
        qk_norm: bool,
        rope: bool,
        /// The layer attends through the sliding-window cache (ISWA models).
        swa: bool,
    },
    /// Mamba-1 (`build_mamba_layer`).
    Mamba,
    /// DeepSeek-V2/V3 attention without MLA (GGUFs converted before llama.cpp split `attn_kv_b`): low-rank Q
    /// (`q_lora_rank`, 0 = V2-Lite's plain Q) and compressed KV decompressed into full per-head K and V.
    DeepseekMha {
        n_head: u64,
        /// K head = `nope + rope`.
        nope: u64,
        rope: u64,
        head_dim_v: u64,
        q_lora_rank: u64,
        kv_lora_rank: u64,
    },
}

impl Mixer {
    /// Width of the V rows the layer stores in the cache (`n_head_kv · head_dim_v`); `None` without a
    /// KV cache.
    fn v_dim(&self) -> Option<u64> {
        match *self {
            Mixer::Attention {
                n_head_kv,
                head_dim,
                ..
            } => Some(n_head_kv * head_dim),
            Mixer::DeepseekMha {
                n_head, head_dim_v, ..
            } => Some(n_head * head_dim_v),
            Mixer::Mamba => None,
        }
    }

    fn rope(&self) -> bool {
        matches!(
            self,
            Mixer::Attention { rope: true, .. } | Mixer::DeepseekMha { .. }
        )
    }
}

/// One layer's feed-forward block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ffn {
    /// SwiGLU of width `n_ff`.
    Dense(u64),
    /// Softmax-gated experts, SwiGLU of width `n_ff` each, plus a shared SwiGLU expert of width
    /// `n_ff_shared` (0: none) added to their sum.
    Moe {
        n_expert: u64,
        n_used: u64,
        n_ff: u64,
        n_ff_shared: u64,
        /// The selected experts' weights are normalised to sum 1 (`norm_w`: qwen3moe, llama MoE).
        norm_w: bool,
    },
}

/// The residual order of the architecture's builder (`ggml_add(cur, inpSA)` vs `ggml_add(inpSA, cur)`):
/// it decides which parent an in-place add reuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// llama, qwen3: `ffn_inp = cur + inpSA`, `l_out = cur + ffn_inp`.
    Llama,
    /// jamba: `ffn_inp = inpL + cur`, `l_out = ffn_inp + cur`.
    Jamba,
    /// gemma3: embeddings scaled by √n_embd, Q scaled after RoPE, RMS norms after attention and after
    /// the FFN: `sa_out = post_norm(cur) + inpL`, `l_out = post_ffw_norm(cur) + sa_out`.
    Gemma3,
}

/// The model structure the graph depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphSpec {
    pub family: Family,
    pub n_embd: u64,
    pub n_vocab: u64,
    pub layers: Vec<(Mixer, Ffn)>,
    /// Mamba-1 sizes: d_conv, d_inner, d_state, dt_rank.
    pub ssm: [u64; 4],
    /// RMS norms on dt, B and C (Jamba).
    pub ssm_dt_b_c_norm: bool,
}

/// The reserve run: micro-batch and cache shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub n_tokens: u64,
    pub n_kv: u64,
    pub flash_attention: bool,
    /// Cells a sliding-window layer attends to (ISWA models; unused otherwise).
    pub n_kv_swa: u64,
    /// Hadamard rotation sizes (`attn_inp_k_rot` / `attn_inp_v_rot`), when the cache type is quantized.
    pub rot_k: Option<u64>,
    pub rot_v: Option<u64>,
    /// Sequences in the reserve micro-batch (`n_seq_max` with per-sequence KV streams, 1 with the unified
    /// cache): the batch is split evenly over them.
    pub n_seqs: u64,
    /// Recurrent state rows (`n_seq_max`); rows beyond `n_seqs` are copied through unchanged.
    pub n_rs: u64,
}

/// The inputs of one KV cache (the full one, or the sliding-window one of an ISWA model).
struct Cache {
    k_idxs: usize,
    v_idxs: usize,
    mask: usize,
    k_rot: Option<usize>,
    v_rot: Option<usize>,
    n_kv: u64,
}

struct Inputs {
    pos: Option<usize>,
    /// Full-attention cache, sliding-window cache.
    kv: [Cache; 2],
    s_copy_main: usize,
    s_copy_extra: usize,
    out_ids: usize,
}

impl GraphSpec {
    /// Build the graph llama.cpp reserves for `run`.
    pub fn build(&self, run: &Run) -> Ctx {
        let mut c = Ctx {
            layer: HOST,
            ..Ctx::default()
        };
        let ns = run.n_seqs.max(1);
        // llama_context::graph_reserve rounds n_tokens up to a multiple of n_seqs
        let t = run.n_tokens.max(1).div_ceil(ns) * ns;
        let e = self.n_embd;
        // inputs are created up front; they join the graph (as leafs) where first reached
        let tokens = c.input(I32, [t, 1, 1, 1], "inp_tokens");
        let inp_embd = c.input(F32, [e, t, 1, 1], "inp_embd");
        let embd = c.op("embd", false, F32, [e, t, 1, 1], &[tokens]);
        // ggml_build_forward_select: both inputs join the graph, the token path first
        c.expand(embd);
        c.expand(inp_embd);
        let any_attn = self.layers.iter().any(|(m, _)| m.v_dim().is_some());
        let rope = self.layers.iter().any(|(m, _)| m.rope());
        let kv_dim_v = self
            .layers
            .iter()
            .filter_map(|(m, _)| m.v_dim())
            .max()
            .unwrap_or(0);
        let n_rs = run.n_rs.max(ns);
        let s_copy = c.input(I32, [n_rs, 1, 1, 1], "rs_s_copy");
        let s_copy_main = c.view(s_copy, [ns, 1, 1, 1]);
        let s_copy_extra = c.view(s_copy, [n_rs - ns, 1, 1, 1]);
        let mut cache = |n_kv: u64, name: &'static str| Cache {
            k_idxs: c.input(I64, [t, 1, 1, 1], name),
            v_idxs: c.input(
                I64,
                [if run.flash_attention { t } else { t * kv_dim_v }, 1, 1, 1],
                name,
            ),
            mask: c.input(
                if run.flash_attention { F16 } else { F32 },
                [n_kv, t, 1, 1],
                name,
            ),
            k_rot: run
                .rot_k
                .filter(|_| any_attn)
                .map(|n| c.input(F32, [n, n, 1, 1], name)),
            v_rot: run
                .rot_v
                .filter(|_| any_attn)
                .map(|n| c.input(F32, [n, n, 1, 1], name)),
            n_kv,
        };
        let kv = [cache(run.n_kv, "kv"), cache(run.n_kv_swa, "kv_swa")];
        let inp = Inputs {
            pos: rope.then(|| c.input(I32, [t, 1, 1, 1], "inp_pos")),
            kv,
            s_copy_main,
            s_copy_extra,
            out_ids: c.input(I32, [t, 1, 1, 1], "out_ids"),
        };
        let n_layer = self.layers.len();
        let mut inp_l = embd;
        if self.family == Family::Gemma3 {
            // ggml_scale of the embeddings; on a multi-device run the scheduler's upward expansion puts it
            // on the first layer's device
            c.layer = 0;
            inp_l = c.unary(embd, "embd_scale");
        }
        for (il, (mixer, ffn)) in self.layers.iter().enumerate() {
            c.layer = il as i64;
            let mut inp_sa = inp_l;
            let cur = c.norm(inp_l, "attn_norm");
            let mut cur = match *mixer {
                Mixer::Attention {
                    n_head,
                    n_head_kv,
                    head_dim,
                    qk_norm,
                    rope,
                    swa,
                } => {
                    let mut qkv = self.qkv(
                        &mut c, &inp, cur, n_head, n_head_kv, head_dim, qk_norm, rope,
                    );
                    if self.family == Family::Gemma3 {
                        qkv[0] = c.unary(qkv[0], "q_scale");
                    }
                    self.attention(
                        &mut c,
                        &inp,
                        run,
                        qkv,
                        [n_head, n_head_kv, head_dim, head_dim],
                        swa,
                    )
                }
                Mixer::DeepseekMha {
                    n_head,
                    nope,
                    rope,
                    head_dim_v,
                    q_lora_rank,
                    kv_lora_rank,
                } => {
                    let qkv = Self::deepseek_qkv(
                        &mut c,
                        &inp,
                        cur,
                        [n_head, nope, rope, head_dim_v, q_lora_rank, kv_lora_rank],
                    );
                    self.attention(
                        &mut c,
                        &inp,
                        run,
                        qkv,
                        [n_head, n_head, nope + rope, head_dim_v],
                        false,
                    )
                }
                Mixer::Mamba => self.mamba(&mut c, &inp, cur, ns),
            };
            if il + 1 == n_layer {
                cur = c.get_rows(cur, inp.out_ids, "out_rows");
                inp_sa = c.get_rows(inp_sa, inp.out_ids, "out_rows");
            }
            let ffn_inp = match self.family {
                Family::Llama => c.binary(cur, inp_sa, "ffn_inp"),
                Family::Jamba => c.binary(inp_sa, cur, "ffn_inp"),
                Family::Gemma3 => {
                    let post = c.norm(cur, "attn_post_norm");
                    c.binary(post, inp_sa, "sa_out")
                }
            };
            let cur = c.norm(ffn_inp, "ffn_norm");
            let cur = match *ffn {
                Ffn::Dense(n_ff) => Self::ffn(&mut c, cur, n_ff, e),
                Ffn::Moe {
                    n_expert,
                    n_used,
                    n_ff,
                    n_ff_shared,
                    norm_w,
                } => {
                    let moe = Self::moe(&mut c, cur, [n_expert, n_used, n_ff, e], norm_w);
                    if n_ff_shared > 0 {
                        let sh = Self::ffn(&mut c, cur, n_ff_shared, e);
                        c.binary(moe, sh, "ffn_out")
                    } else {
                        moe
                    }
                }
            };
            inp_l = match self.family {
                Family::Llama => c.binary(cur, ffn_inp, "l_out"),
                Family::Jamba => c.binary(ffn_inp, cur, "l_out"),
                Family::Gemma3 => {
                    let post = c.norm(cur, "ffn_post_norm");
                    c.binary(post, ffn_inp, "l_out")
                }
            };
        }
        c.layer = INHERIT;
        let norm = c.rms_norm(inp_l);
        c.layer = OUTPUT;
        let norm = c.unary(norm, "result_norm");
        c.ts[norm].output = true;
        let logits = c.mul_mat_w(norm, self.n_vocab, "result_output");
        c.ts[logits].output = true;
        c.expand(logits);
        c
    }

    /// `build_qkv` (separate projections reshaped to heads), Q/K norms, RoPE.
    #[allow(clippy::too_many_arguments)]
    fn qkv(
        &self,
        c: &mut Ctx,
        inp: &Inputs,
        cur: usize,
        n_head: u64,
        n_head_kv: u64,
        hd: u64,
        qk_norm: bool,
        rope: bool,
    ) -> [usize; 3] {
        let t = c.ne(cur)[1];
        let q = c.mul_mat_w(cur, n_head * hd, "Qcur");
        let mut q = c.view(q, [hd, n_head, t, 1]);
        let k = c.mul_mat_w(cur, n_head_kv * hd, "Kcur");
        let mut k = c.view(k, [hd, n_head_kv, t, 1]);
        let v = c.mul_mat_w(cur, n_head_kv * hd, "Vcur");
        let v = c.view(v, [hd, n_head_kv, t, 1]);
        if qk_norm {
            q = c.norm(q, "Qcur_normed");
        }
        if let (true, Some(pos)) = (rope, inp.pos) {
            let ne = c.ne(q);
            q = c.op("rope", true, F32, ne, &[q, pos]);
        }
        if qk_norm {
            k = c.norm(k, "Kcur_normed");
        }
        if let (true, Some(pos)) = (rope, inp.pos) {
            let ne = c.ne(k);
            k = c.op("rope", true, F32, ne, &[k, pos]);
        }
        [q, k, v]
    }

    /// DeepSeek-V2/V3 Q, K, V without MLA (`src/models/deepseek2.cpp`, `!is_mla`).
    fn deepseek_qkv(c: &mut Ctx, inp: &Inputs, cur: usize, dims: [u64; 6]) -> [usize; 3] {
        let [n_head, nope, rope, hd_v, q_lora, kv_lora] = dims;
        let t = c.ne(cur)[1];
        let hd_k = nope + rope;
        let q = if q_lora > 0 {
            let q = c.mul_mat_w(cur, q_lora, "q_a");
            let q = c.norm(q, "q_a_norm");
            c.mul_mat_w(q, n_head * hd_k, "q_b")
        } else {
            c.mul_mat_w(cur, n_head * hd_k, "q")
        };
        let q = c.view(q, [hd_k, n_head, t, 1]);
        let kv_pe = c.mul_mat_w(cur, kv_lora + rope, "kv_cmpr_pe");
        let kv_cmpr = c.view(kv_pe, [kv_lora, t, 1, 1]);
        let k_pe = c.view(kv_pe, [rope, 1, t, 1]);
        let pos = inp.pos.unwrap_or(inp.kv[0].k_idxs);
        let k_pe = c.op("rope", true, F32, [rope, 1, t, 1], &[k_pe, pos]);
        let kv_cmpr = c.norm(kv_cmpr, "kv_a_norm");
        let kv = c.mul_mat_w(kv_cmpr, n_head * (nope + hd_v), "kv");
        let k_nope = c.view(kv, [nope, n_head, t, 1]);
        let v = c.view(kv, [hd_v, n_head, t, 1]);
        let v = c.cont(v, [hd_v, n_head, t, 1]);
        let q = c.op("rope", true, F32, [hd_k, n_head, t, 1], &[q, pos]);
        let rep = c.op("repeat", false, F32, [rope, n_head, t, 1], &[k_pe]);
        let k = c.op("concat", false, F32, [hd_k, n_head, t, 1], &[k_nope, rep]);
        [q, k, v]
    }

    /// `build_attn` with a KV cache, from Q, K, V shaped `[head_dim, heads, tokens]`; `dims` = n_head,
    /// n_head_kv, K head dim, V head dim; `swa`: the layer uses the sliding-window cache.
    fn attention(
        &self,
        c: &mut Ctx,
        inp: &Inputs,
        run: &Run,
        qkv: [usize; 3],
        dims: [u64; 4],
        swa: bool,
    ) -> usize {
        let kvc = &inp.kv[swa as usize];
        let [mut q, mut k, mut v] = qkv;
        let [n_head, n_head_kv, hd, hd_v] = dims;
        let t = c.ne(q)[2];
        // build_attn
        if let Some(rot) = kvc.k_rot {
            q = c.hadamard(q, rot, true);
            k = c.hadamard(k, rot, true);
        }
        if let Some(rot) = kvc.v_rot {
            v = c.hadamard(v, rot, true);
        }
        c.expand(q);
        c.expand(v);
        c.expand(k);
        // cpy_k / cpy_v
        let kv = c.view(k, [n_head_kv * hd, t, 1, 1]);
        let store_k = c.sink(&[kv, kvc.k_idxs]);
        c.expand(store_k);
        let vv = if run.flash_attention {
            c.view(v, [n_head_kv * hd_v, t, 1, 1])
        } else {
            let r = c.view(v, [n_head_kv * hd_v, t, 1, 1]);
            c.view(r, [1, n_head_kv * hd_v * t, 1, 1])
        };
        let store_v = c.sink(&[vv, kvc.v_idxs]);
        c.expand(store_v);
        // build_attn_mha
        let qv = c.view(q, [hd, n_head, t, 1]);
        let qp = c.view(qv, [hd, t, n_head, 1]);
        let mut out = if run.flash_attention {
            let fa = c.op("fattn", false, F32, [hd_v, n_head, t, 1], &[qp, kvc.mask]);
            c.view(fa, [hd_v * n_head, t, 1, 1])
        } else {
            let kq = c.op("kq", false, F32, [kvc.n_kv, t, n_head, 1], &[qp]);
            let kq = c.op(
                "softmax",
                true,
                F32,
                [kvc.n_kv, t, n_head, 1],
                &[kq, kvc.mask],
            );
            let kqv = c.op("kqv", false, F32, [hd_v, t, n_head, 1], &[kq]);
            let p = c.view(kqv, [hd_v, n_head, t, 1]);
            c.cont(p, [hd_v * n_head, t, 1, 1])
        };
        c.expand(out);
        if let Some(rot) = kvc.v_rot {
            out = c.hadamard(out, rot, true);
        }
        c.mul_mat_w(out, self.n_embd, "attn_out")
    }

    fn mamba(&self, c: &mut Ctx, inp: &Inputs, cur: usize, ns: u64) -> usize {
        let [d_conv, d_inner, d_state, dt_rank] = self.ssm;
        let t = c.ne(cur)[1];
        let ts = t / ns;
        // build_rs for the conv state: rows copied into the graph, the extra rows stored back
        let conv = c.get_rows_ext((d_conv - 1) * d_inner, inp.s_copy_main);
        c.expand(conv);
        let extra = c.get_rows_ext((d_conv - 1) * d_inner, inp.s_copy_extra);
        let st = c.sink(&[extra]);
        c.expand(st);
        let conv = c.view(conv, [d_conv - 1, d_inner, ns, 1]);
        let cur = c.view(cur, [self.n_embd, ts, ns, 1]);
        let xz = c.mul_mat_w(cur, 2 * d_inner, "ssm_in");
        let x = c.view(xz, [d_inner, ts, ns, 1]);
        let z = c.view(xz, [d_inner, ts, ns, 1]);
        let xt = c.view(x, [ts, d_inner, ns, 1]);
        let conv_x = c.op(
            "concat",
            false,
            F32,
            [d_conv - 1 + ts, d_inner, ns, 1],
            &[conv, xt],
        );
        let last = c.view(conv_x, [d_conv - 1, d_inner, ns, 1]);
        let st = c.sink(&[last]);
        c.expand(st);
        let x = c.op("ssm_conv", false, F32, [d_inner, ts, ns, 1], &[conv_x]);
        let x = c.unary(x, "conv_bias");
        let x = c.unary(x, "silu");
        let x_db = c.mul_mat_w(x, dt_rank + 2 * d_state, "ssm_x");
        let dt = c.view(x_db, [dt_rank, ts, ns, 1]);
        let b = c.view(x_db, [d_state, 1, ts, ns]);
        let cc = c.view(x_db, [d_state, 1, ts, ns]);
        let (dt, b, cc) = if self.ssm_dt_b_c_norm {
            let dt = c.norm(dt, "dt_norm");
            let b = c.norm(b, "b_norm");
            let cc = c.norm(cc, "c_norm");
            (dt, b, cc)
        } else {
            (c.cont(dt, [dt_rank, ts, ns, 1]), b, cc)
        };
        let dt = c.mul_mat_w(dt, d_inner, "ssm_dt");
        let dt = c.unary(dt, "dt_bias");
        let xr = c.view(x, [1, d_inner, ts, ns]);
        // build_rs for the scan state: the scan reads the state rows itself (get_ssm_rows) and appends
        // the final states to its output
        let y_ssm = c.op(
            "ssm_scan",
            false,
            F32,
            [d_inner * t + d_state * d_inner * ns, 1, 1, 1],
            &[xr, dt, b, cc, inp.s_copy_main],
        );
        c.expand(y_ssm);
        let extra = c.get_rows_ext(d_state * d_inner, inp.s_copy_extra);
        let st = c.sink(&[extra]);
        c.expand(st);
        let last = c.view(y_ssm, [d_state * d_inner * ns, 1, 1, 1]);
        let st = c.sink(&[last]);
        c.expand(st);
        let y = c.view(y_ssm, [d_inner, ts, ns, 1]);
        let xd = c.unary(x, "ssm_d");
        let y = c.binary(y, xd, "y");
        let zc = c.cont(z, [d_inner, ts, ns, 1]);
        let y = c.swiglu(zc, y);
        let out = c.mul_mat_w(y, self.n_embd, "ssm_out");
        c.view(out, [self.n_embd, t, 1, 1])
    }

    fn ffn(c: &mut Ctx, cur: usize, n_ff: u64, n_embd: u64) -> usize {
        let up = c.mul_mat_w(cur, n_ff, "ffn_up");
        let gate = c.mul_mat_w(cur, n_ff, "ffn_gate");
        let act = c.swiglu(gate, up);
        c.mul_mat_w(act, n_embd, "ffn_down")
    }

    fn moe(c: &mut Ctx, cur: usize, dims: [u64; 4], norm_w: bool) -> usize {
        let [n_expert, k, n_ff, n_embd] = dims;
        let t = c.ne(cur)[1];
        let logits = c.mul_mat_w(cur, n_expert, "moe_logits");
        let probs = c.unary(logits, "moe_probs");
        let sorted = c.op("argsort", false, I32, [n_expert, t, 1, 1], &[probs]);
        let selected = c.view(sorted, [k, t, 1, 1]);
        let probs3 = c.view(probs, [1, n_expert, t, 1]);
        let mut weights = c.get_rows(probs3, selected, "moe_weights");
        if norm_w {
            let w2 = c.view(weights, [k, t, 1, 1]);
            let sum = c.op("sum_rows", false, F32, [1, t, 1, 1], &[w2]);
            let sum = c.unary(sum, "clamp");
            let w = c.op("div", true, F32, [k, t, 1, 1], &[w2, sum]);
            weights = c.view(w, [1, k, t, 1]);
        }
        c.expand(weights);
        let cur3 = c.view(cur, [n_embd, 1, t, 1]);
        let up = c.op("moe_up", false, F32, [n_ff, k, t, 1], &[cur3, selected]);
        let gate = c.op("moe_gate", false, F32, [n_ff, k, t, 1], &[cur3, selected]);
        let act = c.swiglu(gate, up);
        let down = c.op("moe_down", false, F32, [n_embd, k, t, 1], &[act, selected]);
        let experts = c.binary(down, weights, "moe_weighted");
        c.expand(experts);
        let views: Vec<usize> = (0..k)
            .map(|_| {
                let v = c.view(experts, [n_embd, t, 1, 1]);
                c.expand(v);
                v
            })
            .collect();
        let mut out = views[0];
        for &v in &views[1..] {
            out = c.binary(out, v, "moe_out");
            c.expand(out);
        }
        if k == 1 {
            out = c.cont(out, [n_embd, t, 1, 1]);
        }
        out
    }
}

/// llama.cpp's compute buffer for `spec` under `run`: the allocator's high-water mark over the reserve
/// graph, with the buffer alignment (CPU 32 bytes).
///
/// Models repeat the same layer (or block of layers) dozens of times, and the allocator settles into a
/// cycle after a few of them. The simulation runs a copy of the model with the repeated block kept
/// [`KEPT_REPEATS`] times and looks for the cycle: if the allocator's state (free blocks, and every live
/// tensor's role, offset, pending children and views, counts above 1 alike) at the start of block `j` recurs at the start of
/// block `j + c`, the blocks in between replay forever after, so a model with the same prefix, the block
/// repeated any number `K ≥ j + c + 1` of times with `K ≡ R (mod c)` (`R` = the full model's count) and the
/// same last layers has exactly the full model's buffer. When no cycle shows, every layer is simulated.
pub fn compute_buffer(spec: &GraphSpec, run: &Run, alignment: u64) -> u64 {
    shortened_buffer(spec, run, alignment)
        .unwrap_or_else(|| compute_buffer_full(spec, run, alignment))
}

/// The buffer from the shortened model when the allocator's cycle is proven on it (see
/// [`compute_buffer`]); `None` when the model does not repeat often enough or no cycle shows.
pub fn shortened_buffer(spec: &GraphSpec, run: &Run, alignment: u64) -> Option<u64> {
    let (a, p, reps) = spec.repeats()?;
    let c = spec.with_repeats(a, p, reps, KEPT_REPEATS).build(run);
    let starts: Vec<i64> = (0..KEPT_REPEATS).map(|j| (a + j * p) as i64).collect();
    let first_node = |l: i64| c.nodes.iter().position(|&n| c.ts[n].layer == l);
    let at: Vec<usize> = starts
        .iter()
        .map(|&l| first_node(l))
        .collect::<Option<_>>()?;
    if !at.windows(2).all(|w| w[0] < w[1]) {
        return None;
    }
    let roles: Vec<(i64, i64)> = c.ts.iter().map(|t| (t.layer, t.role as i64)).collect();
    let g = c.finish();
    let (placed, snaps) = alloc::allocate_traced(&g, alignment, &at);
    let cycle = allocator_cycle(&snaps, &starts, |t| roles[t])?;
    let extra = (reps - KEPT_REPEATS) % cycle;
    if extra == 0 {
        return Some(placed.size);
    }
    let g = spec
        .with_repeats(a, p, reps, KEPT_REPEATS + extra)
        .build(run)
        .finish();
    Some(alloc::allocate(&g, alignment).size)
}

/// The allocator's first recurrence over the kept blocks (see [`compute_buffer`]): the least `cycle`
/// with the state at the start of block `j` equal to the state at the start of block `j + cycle` for
/// some `j` (blocks `j .. j + cycle - 1` are then not the last block). `snaps[j]` is the state at block
/// `j`'s first node, `starts[j]` its first layer, `id(t)` tensor `t`'s (layer, role): layers of the
/// repeated blocks count from their block's start, so equal blocks give equal states.
fn allocator_cycle(
    snaps: &[alloc::Snapshot],
    starts: &[i64],
    id: impl Fn(usize) -> (i64, i64),
) -> Option<usize> {
    let key = |j: usize| {
        let snap = &snaps[j];
        let mut live: Vec<_> = snap
            .live
            .iter()
            .map(|&(t, off, ch, vi)| {
                let (l, role) = id(t);
                let rel = if (0..OUTPUT).contains(&l) {
                    l - starts[j]
                } else {
                    l
                };
                // counts only matter at 0 (freed) and 1 (reusable in place): the graph inputs read by
                // every layer count down forever, but the same way in every block
                (rel, role, off, ch.min(2), vi.min(2))
            })
            .collect();
        live.sort_unstable();
        (snap.free.clone(), live)
    };
    let keys: Vec<_> = (0..snaps.len()).map(key).collect();
    (1..KEPT_REPEATS).find(|&cyc| (0..KEPT_REPEATS - cyc).any(|j| keys[j] == keys[j + cyc]))
}

/// [`compute_buffer`] without the shortening: every layer simulated (the reference the shortening is tested
/// against).
pub fn compute_buffer_full(spec: &GraphSpec, run: &Run, alignment: u64) -> u64 {
    let g = spec.build(run).finish();
    alloc::allocate(&g, alignment).size
}

/// Copies of a repeated block the shortened simulation keeps (see [`compute_buffer`]).
pub const KEPT_REPEATS: usize = 5;

impl GraphSpec {
    /// The repeated block: (layers before it, its length, how many times it repeats, counting the last,
    /// possibly partial, copy as part of the tail); `None` when it repeats too few times to shorten.
    fn repeats(&self) -> Option<(usize, usize, usize)> {
        let n = self.layers.len();
        (1..=8usize).find_map(|p| {
            if n < p * (KEPT_REPEATS + 2) {
                return None;
            }
            // the shortest prefix after which the layers repeat with period p
            let mut a = n - p;
            while a > 0 && self.layers[a - 1] == self.layers[a - 1 + p] {
                a -= 1;
            }
            let reps = (n - a) / p;
            (reps > KEPT_REPEATS + 1).then_some((a, p, reps))
        })
    }

    /// The model with its repeated block kept `k` times (then the partial block that ends it).
    fn with_repeats(&self, a: usize, p: usize, reps: usize, k: usize) -> GraphSpec {
        let mut layers = self.layers[..a + k * p].to_vec();
        layers.extend_from_slice(&self.layers[a + reps * p..]);
        GraphSpec {
            layers,
            ..self.clone()
        }
    }
}

/// The built graph: the builder (node names in order) and the allocator's form (for tests and
/// diagnostics).
pub fn graph(spec: &GraphSpec, run: &Run) -> (Ctx, Graph) {
    let c = spec.build(run);
    (c.clone(), c.finish())
}

impl GraphSpec {
    /// The graph structure of `model` when its architecture has a builder here (see the module docs);
    /// `None` otherwise (the compute buffer then comes from the live-set formulas of [`super::compute`]).
    ///
    /// Architectures: `llama` (dense or MoE), `qwen3`, `qwen3moe` (Q/K norms), `gemma3` (sliding window,
    /// post norms), `jamba`, and `deepseek2` GGUFs without
    /// MLA keys (converted before 2025-04: `attn_kv_b`, full per-head K/V) whose router is a plain softmax
    /// (no `exp_probs_b`). Sliding windows, biases, RoPE frequency tensors and different K/V head dims
    /// outside DeepSeek are not built: such models return `None`.
    pub fn from_model(model: &crate::model::ModelDesc) -> Option<GraphSpec> {
        let hp = &model.hparams;
        let shape = |name: &str| -> Option<&[u64]> {
            model
                .tensors
                .iter()
                .find(|t| t.name == name)
                .map(|t| t.shape.as_slice())
        };
        let has = |name: &str| shape(name).is_some();
        let deepseek = model.architecture == "deepseek2" && hp.mla.is_none();
        let family = match model.architecture.as_str() {
            "qwen3" | "llama" | "qwen3moe" => Family::Llama,
            "deepseek2" if deepseek => Family::Llama,
            "jamba" => Family::Jamba,
            "gemma3" => Family::Gemma3,
            _ => return None,
        };
        if (hp.sliding_window.is_some() && family != Family::Gemma3)
            || hp.mla.is_some()
            || (hp.head_dim_k != hp.head_dim_v && !deepseek)
        {
            return None;
        }
        let n = hp.n_layer as usize;
        let qk_norm = has("blk.0.attn_q_norm.weight");
        if has("blk.0.attn_q.bias") || has("blk.0.attn_output.bias") || has("rope_freqs.weight") {
            return None;
        }
        let ssm = match (&hp.ssm, family) {
            (Some(s), Family::Jamba) if s.n_group == 0 => {
                [s.d_conv, s.d_inner, s.d_state, s.dt_rank]
            }
            (_, Family::Jamba) => return None,
            _ => [0; 4],
        };
        let mut layers = Vec::with_capacity(n);
        for il in 0..n {
            let hkv = *hp.n_head_kv.get(il)? as u64;
            let n_head = *hp.n_head.get(il)? as u64;
            let mixer = if deepseek {
                // attn_kv_b: [kv_lora_rank, n_head·(nope + v)]; attn_kv_a_mqa: [n_embd, kv_lora_rank + rope]
                let kv_b = shape(&format!("blk.{il}.attn_kv_b.weight"))?;
                let (kv_lora, per_head) = (*kv_b.first()?, kv_b.get(1)?.checked_div(n_head)?);
                let nope = per_head.checked_sub(hp.head_dim_v)?;
                let rope = hp.head_dim_k.checked_sub(nope)?;
                let q_lora = match shape(&format!("blk.{il}.attn_q_a.weight")) {
                    Some(s) => *s.get(1)?,
                    None => 0,
                };
                if has(&format!("blk.{il}.exp_probs_b.bias")) || hkv != n_head || rope == 0 {
                    return None;
                }
                Mixer::DeepseekMha {
                    n_head,
                    nope,
                    rope,
                    head_dim_v: hp.head_dim_v,
                    q_lora_rank: q_lora,
                    kv_lora_rank: kv_lora,
                }
            } else if hkv == 0 {
                if family != Family::Jamba {
                    return None;
                }
                Mixer::Mamba
            } else {
                Mixer::Attention {
                    n_head,
                    n_head_kv: hkv,
                    head_dim: hp.head_dim_k,
                    qk_norm,
                    rope: family != Family::Jamba,
                    swa: hp.sliding_window.is_some()
                        && hp.swa_layers.get(il).copied().unwrap_or(false),
                }
            };
            let ffn = if has(&format!("blk.{il}.ffn_gate_inp.weight")) {
                // the experts' width from their tensor: ffn_up_exps [n_embd, n_ff, n_expert]
                let n_ff = *shape(&format!("blk.{il}.ffn_up_exps.weight"))?.get(1)?;
                // the shared expert's width from its tensor: ffn_up_shexp [n_embd, width]
                let n_ff_shared = shape(&format!("blk.{il}.ffn_up_shexp.weight"))
                    .and_then(|s| s.get(1).copied())
                    .unwrap_or(0);
                Ffn::Moe {
                    n_expert: hp.n_expert as u64,
                    n_used: hp.n_expert_used as u64,
                    n_ff,
                    n_ff_shared,
                    norm_w: matches!(model.architecture.as_str(), "qwen3moe" | "llama"),
                }
            } else {
                Ffn::Dense(*hp.n_ff.get(il)?)
            };
            if matches!(ffn, Ffn::Dense(0) | Ffn::Moe { n_used: 0, .. }) {
                return None;
            }
            layers.push((mixer, ffn));
        }
        Some(GraphSpec {
            family,
            n_embd: hp.n_embd,
            n_vocab: hp.vocab_size,
            layers,
            ssm,
            ssm_dt_b_c_norm: family == Family::Jamba
                && (0..n).any(|il| has(&format!("blk.{il}.ssm_dt_norm.weight"))),
        })
    }
}

/// The Hadamard rotation sizes llama.cpp uses with a quantized cache (`llama_kv_cache` constructor:
/// `attn_rot_k` when the K type is quantized and the K head dim a multiple of 64, rotating by the largest
/// power of two (≥ 64) dividing it; `attn_rot_v` likewise with 64).
pub fn rotations(
    head_dim_k: u64,
    head_dim_v: u64,
    k_quantized: bool,
    v_quantized: bool,
) -> (Option<u64>, Option<u64>) {
    let rot_k = (k_quantized && head_dim_k > 0 && head_dim_k.is_multiple_of(64)).then(|| {
        let mut n = 64;
        while head_dim_k.is_multiple_of(n * 2) {
            n *= 2;
        }
        n
    });
    let rot_v = (v_quantized && head_dim_v > 0 && head_dim_v.is_multiple_of(64)).then_some(64);
    (rot_k, rot_v)
}

/// Compute buffers of a layer split over `n_dev` devices (llama.cpp `-sm layer`, every layer offloaded):
/// `dev_of[il]` is the device of repeating layer `il` and `dev_of[n_layer]` that of the output layer;
/// `copies` the scheduler's input copies (`GGML_SCHED_MAX_COPIES` = 4 under pipeline parallelism, else 1).
///
/// `ggml_backend_sched` (`ggml/src/ggml-backend.cpp`, `ggml_backend_sched_split_graph`) as it plays out for
/// these graphs (checked with `GGML_SCHED_DEBUG=2` on the RPC oracle): a node runs on the device of its
/// layer's weights (each layer's input norm is pinned there by llama.cpp's graph callback, the nodes
/// without weights follow the node before them), inputs and the token embedding lookup run on the host
/// CPU, the final norm (no weight, no layer) follows the last repeating layer and the output norm weight
/// and logits run on the output device. Each run of consecutive nodes on one device is a split; every
/// tensor a split reads from another backend (the residual from the previous device, the KQ mask, the
/// positions and KV row indices, `out_ids`) gets `copies` copies in the split's device buffer, allocated
/// first and never freed (`GGML_TENSOR_FLAG_INPUT | OUTPUT`); with one copy the copy is an ordinary node at
/// the start of the split. Each device has its own allocator (`ggml_gallocr` with one buffer per
/// backend), so its buffer is the high-water mark of its copies and its own nodes.
pub fn device_buffers(
    spec: &GraphSpec,
    run: &Run,
    dev_of: &[usize],
    n_dev: usize,
    copies: u64,
    alignment: u64,
) -> Vec<u64> {
    device_buffers_shortened(spec, run, dev_of, n_dev, copies, alignment)
        .unwrap_or_else(|| device_buffers_full(spec, run, dev_of, n_dev, copies, alignment))
}

/// [`device_buffers`] with every layer simulated (the reference the shortening is tested against).
pub fn device_buffers_full(
    spec: &GraphSpec,
    run: &Run,
    dev_of: &[usize],
    n_dev: usize,
    copies: u64,
    alignment: u64,
) -> Vec<u64> {
    let c = spec.build(run);
    device_graphs(&c, spec.layers.len(), dev_of, n_dev, copies)
        .iter()
        .map(|g| g.as_ref().map_or(0, |g| alloc::allocate(g, alignment).size))
        .collect()
}

/// [`device_buffers`] on a model whose devices' runs of repeated layers are shortened as in
/// [`compute_buffer`], each device proving its own allocator's cycle; `None` when no device's run repeats
/// often enough, or one shows no cycle.
pub fn device_buffers_shortened(
    spec: &GraphSpec,
    run: &Run,
    dev_of: &[usize],
    n_dev: usize,
    copies: u64,
    alignment: u64,
) -> Option<Vec<u64>> {
    let n = spec.layers.len();
    // each device's run of layers (a layer split gives each device one contiguous run)
    let mut runs: Vec<(usize, usize, usize)> = vec![];
    for l in 0..n {
        let d = *dev_of.get(l)?;
        match runs.last_mut() {
            Some((rd, _, e)) if *rd == d => *e = l + 1,
            _ => {
                if runs.iter().any(|r| r.0 == d) {
                    return None;
                }
                runs.push((d, l, l + 1));
            }
        }
    }
    // each run's repeated block (relative prefix, period, count)
    let reps: Vec<Option<(usize, usize, usize)>> = runs
        .iter()
        .map(|&(_, s0, e)| {
            GraphSpec {
                layers: spec.layers[s0..e].to_vec(),
                ..spec.clone()
            }
            .repeats()
        })
        .collect();
    if reps.iter().all(|r| r.is_none()) {
        return None;
    }
    // the shortened layout: kept[i] copies of run i's block; the first layer of each kept copy
    let layout = |kept: &[usize]| -> (GraphSpec, Vec<usize>, Vec<Vec<i64>>) {
        let (mut layers, mut devs, mut starts) = (vec![], vec![], vec![]);
        for (i, &(d, s0, e)) in runs.iter().enumerate() {
            let here = &spec.layers[s0..e];
            let mut st = vec![];
            match reps[i] {
                Some((a, p, r)) => {
                    let base = layers.len();
                    layers.extend_from_slice(&here[..a + kept[i] * p]);
                    layers.extend_from_slice(&here[a + r * p..]);
                    st = (0..kept[i]).map(|j| (base + a + j * p) as i64).collect();
                }
                None => layers.extend_from_slice(here),
            }
            devs.resize(layers.len(), d);
            starts.push(st);
        }
        devs.push(dev_of.get(n).copied().unwrap_or(0));
        (
            GraphSpec {
                layers,
                ..spec.clone()
            },
            devs,
            starts,
        )
    };
    let kept = vec![KEPT_REPEATS; runs.len()];
    let (short, devs, starts) = layout(&kept);
    let c = short.build(run);
    let graphs = device_graphs(&c, short.layers.len(), &devs, n_dev, copies);
    let n_t = c.ts.len();
    let mut sizes = vec![0; n_dev];
    let mut extra = vec![0; runs.len()];
    for (i, &(d, _, _)) in runs.iter().enumerate() {
        let Some(g) = graphs[d].as_ref() else {
            continue;
        };
        let layer_of = |t: usize| if t < n_t { c.ts[t].layer } else { i64::MIN };
        let Some((_, _, r)) = reps[i] else {
            sizes[d] = alloc::allocate(g, alignment).size;
            continue;
        };
        let at: Vec<usize> = starts[i]
            .iter()
            .map(|&l| g.nodes.iter().position(|(t, _)| layer_of(*t) == l))
            .collect::<Option<_>>()?;
        if !at.windows(2).all(|w| w[0] < w[1]) {
            return None;
        }
        let (placed, snaps) = alloc::allocate_traced(g, alignment, &at);
        let cycle = allocator_cycle(&snaps, &starts[i], |t| {
            if t < n_t {
                (c.ts[t].layer, c.ts[t].role as i64)
            } else {
                // the scheduler's input copies, in the order they were made
                (i64::MIN, t as i64 - n_t as i64)
            }
        })?;
        extra[i] = (r - KEPT_REPEATS) % cycle;
        sizes[d] = placed.size;
    }
    // a device with no repeating layer (only the output layer) runs its graph whole
    for (d, g) in graphs.iter().enumerate() {
        if let (Some(g), false) = (g, runs.iter().any(|r| r.0 == d)) {
            sizes[d] = alloc::allocate(g, alignment).size;
        }
    }
    if extra.iter().any(|&x| x > 0) {
        let kept: Vec<usize> = extra.iter().map(|x| KEPT_REPEATS + x).collect();
        let (short, devs, _) = layout(&kept);
        return Some(device_buffers_full(
            &short, run, &devs, n_dev, copies, alignment,
        ));
    }
    Some(sizes)
}

/// Each device's allocator graph for the layer split `dev_of` of the built graph `c` (`None` for a
/// device that runs no node): see [`device_buffers`].
fn device_graphs(
    c: &Ctx,
    n_layer: usize,
    dev_of: &[usize],
    n_dev: usize,
    copies: u64,
) -> Vec<Option<Graph>> {
    let host = n_dev; // the CPU backend
    let dev_of_layer = |l: i64| -> usize {
        if l == OUTPUT {
            dev_of.get(n_layer).copied().unwrap_or(0)
        } else if l >= 0 {
            dev_of.get(l as usize).copied().unwrap_or(0)
        } else {
            host
        }
    };
    // backend of every tensor: nodes by layer (the final norm inherits), leafs on the host, views with
    // their owner
    let mut backend = vec![host; c.ts.len()];
    let mut last = host;
    for &n in &c.nodes {
        let t = &c.ts[n];
        let b = match (t.kind, t.layer) {
            (Kind::View, _) => backend[t.view_src.unwrap_or(n)],
            (_, INHERIT) => last,
            (_, l) => dev_of_layer(l),
        };
        backend[n] = b;
        if t.kind != Kind::View {
            last = b;
        }
    }
    let full = c.clone().finish();
    // the scheduler's `input_dep` nodes: a split that reads a tensor of another backend adds, at its start,
    // a node that keeps the source alive until the copy is made (one per source and reading backend); in the
    // source device's allocator that is one more child, after the device's own nodes
    let mut deps: Vec<Vec<usize>> = vec![vec![]; n_dev + 1];
    let mut seen = std::collections::HashSet::new();
    for (n, srcs) in &full.nodes {
        for &s in srcs.iter().flatten() {
            if backend[s] != backend[*n]
                && full.tensors[s].storage != Storage::External
                && seen.insert((s, backend[*n]))
            {
                deps[backend[s]].push(s);
            }
        }
    }
    (0..n_dev)
        .map(|d| {
            let mut g = Graph {
                tensors: full.tensors.clone(),
                leafs: vec![],
                nodes: vec![],
            };
            let mut copy_of: Vec<Option<usize>> = vec![None; c.ts.len()];
            let mut input_nodes = vec![];
            let mut body = vec![];
            for (n, srcs) in &full.nodes {
                if backend[*n] != d {
                    continue;
                }
                let srcs = srcs
                    .iter()
                    .map(|s| {
                        let s = (*s)?;
                        if backend[s] == d || full.tensors[s].storage == Storage::External {
                            return Some(s);
                        }
                        if let Some(cp) = copy_of[s] {
                            return Some(cp);
                        }
                        // the scheduler's copies of a split input (ggml_dup_tensor_layout): same size and
                        // layout, in this device's buffer
                        let base = Tensor {
                            storage: Storage::Compute,
                            input: copies > 1,
                            output: copies > 1,
                            inplace: false,
                            ..full.tensors[s].clone()
                        };
                        let first = g.tensors.len();
                        for _ in 0..copies.max(1) {
                            g.tensors.push(base.clone());
                            if copies > 1 {
                                g.leafs.push(g.tensors.len() - 1);
                            }
                        }
                        if copies <= 1 {
                            input_nodes.push((first, vec![]));
                        }
                        copy_of[s] = Some(first);
                        Some(first)
                    })
                    .collect();
                body.push((*n, srcs));
            }
            if body.is_empty() {
                return None;
            }
            g.nodes = input_nodes;
            g.nodes.extend(body);
            for &s in &deps[d] {
                g.tensors.push(Tensor {
                    storage: Storage::External,
                    input: false,
                    output: false,
                    inplace: false,
                    ..full.tensors[s].clone()
                });
                g.nodes.push((g.tensors.len() - 1, vec![Some(s)]));
            }
            Some(g)
        })
        .collect()
}
