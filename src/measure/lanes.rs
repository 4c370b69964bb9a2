//! Lanes kernels (kernels/lanes*.wgsl): the decode's products of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
//! Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, MXFP4, MLX affine 4- and 8-bit, F16, BF16 and F32 with adjacent
//! invocations reading adjacent words of a block, after llama.cpp's Vulkan `mul_mat_vec` shaders; the
//! quantized types dot the input quantized once to 8-bit blocks of 32 ([`quantize_input`],
//! `dot4I8Packed`; MLX 4-bit in the order [`split_pairs`] gives). Owns which types have one
//! ([`lanes_kernel`]), their WGSL ([`kernel_source`]), the 8-bit input, and where and at which shape
//! they run ([`LanesPolicy`]); the dispatch itself is `gpu`'s.

use super::decode::Encoding;
use super::gpu::Shape;
use crate::model::TensorType;

const COMMON: &str = include_str!("kernels/common.wgsl");
const LANES_MAIN: &str = include_str!("kernels/lanes.wgsl");
const BIND_LANES: &str = include_str!("kernels/bind_lanes.wgsl");
const BIND_LANES_Q8: &str = include_str!("kernels/bind_lanes_q8.wgsl");
const BIND_LANES_F32X2: &str = include_str!("kernels/bind_lanes_f32x2.wgsl");
const BIND_LANES_MLX: &str = include_str!("kernels/bind_lanes_mlx.wgsl");

/// How a lanes kernel takes its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LanesInput {
    /// Quantized to 8-bit blocks of 32 ([`quantize_input`]: `xq` at 1 and as vectors `xq4` at 7, `xd`
    /// at 4), integer dots.
    Q8,
    /// As [`LanesInput::Q8`], with `xq` bound to the values in the order of [`split_pairs`] (each 8
    /// as the 4 even then the 4 odd ones: the nibbles of an MLX 4-bit word, masked, as they lie).
    Q8Split,
    /// f32, two at a time.
    F32x2,
}

/// A lanes kernel (kernels/lanes.wgsl: adjacent invocations read adjacent words of a block).
#[derive(Debug, Clone, Copy)]
pub struct LanesKernel {
    pub wgsl: &'static str,
    pub input: LanesInput,
    /// Weights per block (rows must be whole blocks) and invocations sharing one at one word each
    /// (`Shape::qw` words each: `per_block / qw` of them).
    pub block: u32,
    pub per_block: u32,
}

/// The lanes kernel of `enc`, if it has one. Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, the K-quants Q2_K, Q3_K,
/// Q4_K, Q5_K and Q6_K, MXFP4 and MLX affine 4- and 8-bit (groups of 32, 64 or 128: a block is a
/// group) dot 8-bit inputs as llama.cpp's integer-dot kernels do (the K-quants with the thread layout
/// of llama.cpp's Vulkan mul_mat_vec_q2_k .. q6_k: 16/QW invocations per super-block); F16, BF16 and
/// F32 read QW words per invocation against the f32 input.
pub fn lanes_kernel(enc: Encoding) -> Option<LanesKernel> {
    let (wgsl, input, block, per_block) = match enc {
        Encoding::Ggml(TensorType::MXFP4) => (
            include_str!("kernels/lanes_mxfp4.wgsl"),
            LanesInput::Q8,
            32,
            4,
        ),
        Encoding::Mlx { bits: 4, group, .. } if matches!(group, 32 | 64 | 128) => (
            include_str!("kernels/lanes_mlx.wgsl"),
            LanesInput::Q8Split,
            group,
            4,
        ),
        Encoding::Mlx { bits: 8, group, .. } if matches!(group, 32 | 64 | 128) => (
            include_str!("kernels/lanes_mlx.wgsl"),
            LanesInput::Q8,
            group,
            4,
        ),
        Encoding::Ggml(TensorType::Q4_0) => (
            include_str!("kernels/lanes_q4_0.wgsl"),
            LanesInput::Q8,
            32,
            4,
        ),
        Encoding::Ggml(TensorType::Q4_1) => (
            include_str!("kernels/lanes_q4_1.wgsl"),
            LanesInput::Q8,
            32,
            4,
        ),
        Encoding::Ggml(TensorType::Q5_0) => (
            include_str!("kernels/lanes_q5_0.wgsl"),
            LanesInput::Q8,
            32,
            4,
        ),
        Encoding::Ggml(TensorType::Q5_1) => (
            include_str!("kernels/lanes_q5_1.wgsl"),
            LanesInput::Q8,
            32,
            4,
        ),
        Encoding::Ggml(TensorType::Q8_0) => (
            include_str!("kernels/lanes_q8_0.wgsl"),
            LanesInput::Q8,
            32,
            4,
        ),
        Encoding::Ggml(TensorType::Q2_K) => (
            include_str!("kernels/lanes_q2_k.wgsl"),
            LanesInput::Q8,
            256,
            16,
        ),
        Encoding::Ggml(TensorType::Q3_K) => (
            include_str!("kernels/lanes_q3_k.wgsl"),
            LanesInput::Q8,
            256,
            16,
        ),
        Encoding::Ggml(TensorType::Q4_K) => (
            include_str!("kernels/lanes_q4_k.wgsl"),
            LanesInput::Q8,
            256,
            16,
        ),
        Encoding::Ggml(TensorType::Q5_K) => (
            include_str!("kernels/lanes_q5_k.wgsl"),
            LanesInput::Q8,
            256,
            16,
        ),
        Encoding::Ggml(TensorType::Q6_K) => (
            include_str!("kernels/lanes_q6_k.wgsl"),
            LanesInput::Q8,
            256,
            16,
        ),
        Encoding::Ggml(TensorType::F16) => (
            include_str!("kernels/lanes_float.wgsl"),
            LanesInput::F32x2,
            64,
            32,
        ),
        Encoding::Ggml(TensorType::BF16) => (
            include_str!("kernels/lanes_float.wgsl"),
            LanesInput::F32x2,
            64,
            32,
        ),
        Encoding::Ggml(TensorType::F32) => (
            include_str!("kernels/lanes_float.wgsl"),
            LanesInput::F32x2,
            64,
            32,
        ),
        _ => return None,
    };
    Some(LanesKernel {
        wgsl,
        input,
        block,
        per_block,
    })
}

/// Whether dispatches of `enc` at `shape` bind the 8-bit input (`xq` at 1 and 7, `xd` at 4).
pub(super) fn takes_q8(enc: Encoding, shape: Shape) -> bool {
    shape.lanes && lanes_kernel(enc).is_some_and(|l| l.input != LanesInput::F32x2)
}

/// The per-type part of the float lanes kernel (kernels/lanes_float.wgsl): `WP` (words per pair of
/// weights) and `pair` (the pair at word `i`, as f32).
fn float_pair_fns(enc: Encoding) -> Option<&'static str> {
    match enc {
        Encoding::Ggml(TensorType::F16) => Some(
            "const WP: u32 = 1u;\nfn pair(i: u32) -> vec2<f32> {\n    return unpack2x16float(w[i]);\n}\n",
        ),
        Encoding::Ggml(TensorType::BF16) => Some(
            "const WP: u32 = 1u;\nfn pair(i: u32) -> vec2<f32> {\n    let v = w[i];\n    return bitcast<vec2<f32>>(vec2<u32>(v << 16u, v & 0xffff0000u));\n}\n",
        ),
        Encoding::Ggml(TensorType::F32) => Some(
            "const WP: u32 = 2u;\nfn pair(i: u32) -> vec2<f32> {\n    return bitcast<vec2<f32>>(vec2<u32>(w[i], w[i + 1u]));\n}\n",
        ),
        _ => None,
    }
}

/// The per-bits part of the MLX lanes kernel (kernels/lanes_mlx.wgsl): `word_dot` (one word of
/// weights against the 8-bit input from word `xj`), `XW` (input words per word of weights) and
/// `group_bias` (the bias a group adds per Σx: 8-bit values are dotted as q − 128).
fn mlx_word_fns(bits: u32) -> &'static str {
    if bits == 4 {
        "const XW: u32 = 2u;\nfn word_dot(q: u32, xj: u32) -> i32 {\n    return dot4I8Packed(q & 0x0f0f0f0fu, xq[xj]) + dot4I8Packed((q >> 4u) & 0x0f0f0f0fu, xq[xj + 1u]);\n}\nfn group_bias(g: u32, sg: f32) -> f32 {\n    return bget(g);\n}\n"
    } else {
        "const XW: u32 = 1u;\nfn word_dot(q: u32, xj: u32) -> i32 {\n    return dot4I8Packed(q ^ 0x80808080u, xq[xj]);\n}\nfn group_bias(g: u32, sg: f32) -> f32 {\n    return bget(g) + 128.0 * sg;\n}\n"
    }
}

/// The WGSL constants of the MLX lanes kernel (kernels/lanes_mlx.wgsl) for `bits`,
/// `group` and `qw` words per invocation-unit: TPB = 4/qw invocations share a group of NW words, each
/// taking WPI consecutive words (E weights, over NS input blocks of 32, or the fraction FR of one);
/// GB bytes of packed words per group (a row's byte address over GB is its first group's index).
fn mlx_consts(bits: u32, group: u32, qw: u32) -> String {
    let nw = group * bits / 32;
    let wpi = nw * qw / 4;
    let e = wpi * 32 / bits;
    let ns = (e / 32).max(1);
    format!(
        "const GROUP: u32 = {group}u;\nconst QW: u32 = {qw}u;\nconst NW: u32 = {nw}u;\nconst WPI: u32 = {wpi}u;\nconst E: u32 = {e}u;\nconst NS: u32 = {ns}u;\nconst WS: u32 = {}u;\nconst FR: f32 = {:?};\nconst GB: u32 = {}u;\n",
        wpi / ns,
        e.min(32) as f32 / 32.0,
        group * bits / 8
    )
}

/// The WGSL that adds up the partial sums `acc` of all `WG` invocations of a lanes workgroup into
/// invocation 0: shuffles inside the adapter's smallest subgroup (`subgroup`, 0 without the feature),
/// then one slot per subgroup in workgroup memory; without subgroups a tree in workgroup memory.
fn lanes_reduction(wg: u32, subgroup: u32, nr: u32) -> (String, String, bool) {
    let sg = if subgroup >= 2 && subgroup.is_power_of_two() {
        subgroup.min(wg)
    } else {
        1
    };
    // only the components that hold rows are shuffled (one shuffle each per step)
    let comps = ["x", "y", "z", "w"];
    let comps = &comps[..nr.clamp(1, 4) as usize];
    let mut code = String::new();
    let mut st = sg / 2;
    while st > 0 {
        for c in comps {
            code.push_str(&format!(
                "    acc.{c} += subgroupShuffleXor(acc.{c}, {st}u);\n"
            ));
        }
        st /= 2;
    }
    if wg == sg {
        return (String::new(), code, sg > 1);
    }
    let slots = wg / sg;
    let decl = format!("var<workgroup> red: array<vec4<f32>, {slots}>;");
    if sg > 1 {
        code.push_str(&format!(
            "    if (li % {sg}u == 0u) {{\n        red[li / {sg}u] = acc;\n    }}\n    workgroupBarrier();\n    if (li == 0u) {{\n        acc = vec4<f32>(0.0);\n        for (var i = 0u; i < {slots}u; i++) {{\n            acc += red[i];\n        }}\n    }}\n"
        ));
    } else {
        code.push_str(&format!(
            "    red[li] = acc;\n    workgroupBarrier();\n    for (var st = {}u; st > 0u; st = st >> 1u) {{\n        if (li < st) {{\n            red[li] += red[li + st];\n        }}\n        workgroupBarrier();\n    }}\n    acc = red[0];\n",
            wg / 2
        ));
    }
    (decl, code, sg > 1)
}

/// The loop over a row's blocks: each invocation's block slots `SLOTS` apart, `unroll` of them
/// loaded before their sums are added (more loads in flight), then the rest one at a time.
fn lanes_loop(unroll: u32) -> String {
    let mut code = String::from("        var b = li / TPB;\n");
    if unroll > 1 {
        code.push_str(&format!(
            "        for (; b + {}u * SLOTS < nblk; b += {unroll}u * SLOTS) {{\n",
            unroll - 1
        ));
        for u in 0..unroll {
            code.push_str(&format!(
                "            let a{u} = block_dot(rb, b + {u}u * SLOTS, t, xo);\n"
            ));
        }
        let sum: Vec<String> = (0..unroll).map(|u| format!("a{u}")).collect();
        code.push_str(&format!(
            "            acc += {};\n        }}\n",
            sum.join(" + ")
        ));
    }
    code.push_str("        for (; b < nblk; b += SLOTS) {\n            acc += block_dot(rb, b, t, xo);\n        }\n");
    code
}

/// `src` with its loops over the words of a block (`j < QW`, `j < 2u * QW`) and over the rows
/// (`i < NR`) written out, one block per value with the loop variable a constant, so every array and
/// vector index is constant (registers, never local memory) whatever the driver's unrolling does.
fn unroll_loops(src: &str, qw: u32, nr: u32) -> String {
    let mut out = String::with_capacity(src.len() * 2);
    let mut rest = src;
    while let Some(at) = rest.find("for (var ") {
        let head_end = rest[at..].find('{').map(|e| at + e + 1);
        let parsed = head_end.and_then(|he| {
            let head = &rest[at..he];
            let var = head["for (var ".len()..].split(' ').next()?.to_string();
            let bound = head
                .split(&format!("{var} < "))
                .nth(1)?
                .split(';')
                .next()?
                .trim();
            let n = match bound {
                "QW" => qw,
                "2u * QW" => 2 * qw,
                "NR" => nr,
                _ => return None,
            };
            // the body: up to the brace that closes the loop
            let mut depth = 1;
            let body_end = rest[he..].char_indices().find_map(|(k, c)| {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(he + k)
            })?;
            Some((var, n, he, body_end))
        });
        match parsed {
            Some((var, n, he, body_end)) => {
                out.push_str(&rest[..at]);
                let body = unroll_loops(&rest[he..body_end], qw, nr);
                for v in 0..n {
                    out.push_str(&format!("{{\n    let {var} = {v}u;{body}}}\n"));
                }
                rest = &rest[body_end + 1..];
            }
            None => {
                let end = head_end.unwrap_or(rest.len());
                out.push_str(&rest[..end]);
                rest = &rest[end..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The most words per invocation and block (`Shape::qw`) `enc`'s lanes kernel takes: Q8_0 2 (16
/// bytes), MLX 2 (its constants are written for one or two), the other types 4 (Q4_0, MXFP4: a whole
/// block's nibbles; F16: 8 weights; the K-quants: a quarter of a half super-block).
pub fn max_qw(enc: Encoding) -> u32 {
    match enc {
        Encoding::Ggml(
            TensorType::Q4_0
            | TensorType::Q4_1
            | TensorType::Q5_0
            | TensorType::Q5_1
            | TensorType::Q2_K
            | TensorType::Q3_K
            | TensorType::Q4_K
            | TensorType::Q5_K
            | TensorType::Q6_K
            | TensorType::MXFP4
            | TensorType::F16
            | TensorType::BF16
            | TensorType::F32,
        ) => 4,
        _ => 2,
    }
}

/// The WGSL of `enc`'s lanes kernel at `shape` (`None` when `shape` is not a lanes shape or `enc` has
/// no lanes kernel), with subgroup reductions where `subgroup` (the adapter's smallest subgroup size,
/// 0 without the feature) allows.
pub fn kernel_source(enc: Encoding, shape: Shape, subgroup: u32) -> Option<String> {
    let lk = lanes_kernel(enc).filter(|_| shape.lanes)?;
    let nr = shape.nr.clamp(1, 4);
    let (decl, code, sg) = lanes_reduction(shape.wg, subgroup, nr);
    let main = LANES_MAIN
        .replace("__WG__", &shape.wg.to_string())
        .replace("__RED_DECL__", &decl)
        .replace("__LOOP__", &lanes_loop(shape.unroll.clamp(1, 8)))
        .replace("__REDUCE__", &code);
    let mut input = match lk.input {
        LanesInput::Q8 | LanesInput::Q8Split => BIND_LANES_Q8,
        LanesInput::F32x2 => BIND_LANES_F32X2,
    }
    .to_string();
    let en = if sg { "// subgroup reduction\n" } else { "" };
    // QW words per invocation and block (MXFP4 and MLX: two invocations per block instead of 4 at 2)
    let qw = shape.qw.clamp(1, max_qw(enc));
    let mut ty_src = lk
        .wgsl
        .replace("__QW__", &qw.to_string())
        .replace("__NR__", &nr.to_string());
    if shape.alt {
        // the type's loops and those of the helpers it calls (bind_lanes_q8.wgsl)
        ty_src = unroll_loops(&ty_src, qw, nr);
        input = unroll_loops(&input, qw, nr);
    }
    if let Some(p) = float_pair_fns(enc) {
        ty_src = format!("{p}\n{ty_src}");
    }
    if let Encoding::Mlx {
        bits,
        group,
        scale_type,
    } = enc
    {
        ty_src = format!(
            "{BIND_LANES_MLX}\n{}\n{}\n{}\n{ty_src}",
            super::gpu::scale_fns(scale_type),
            mlx_consts(bits, group, qw),
            mlx_word_fns(bits)
        );
    }
    Some(format!(
        "{en}{BIND_LANES}\n{input}\n{COMMON}\n{ty_src}\n{main}"
    ))
}

/// A lanes shape written `wg,nr[,qw[,unroll[,written]]]` (`HEADROOM_MEASURE_LANES`, benchmark lists):
/// workgroup (a power of two, 16..=1024), rows per workgroup (1..=4), words per invocation (1, 2 or
/// 4; default 2), blocks in flight (1..=8; default 1), loops written out (0 or 1; default 0).
pub fn parse_shape(v: &str) -> Option<Shape> {
    let n: Vec<u32> = v.split(',').filter_map(|a| a.trim().parse().ok()).collect();
    let (&wg, &nr) = (n.first()?, n.get(1)?);
    let qw = n.get(2).copied().unwrap_or(2);
    let unroll = n.get(3).copied().unwrap_or(1);
    let written = n.get(4).copied().unwrap_or(0);
    let ok = n.len() <= 5
        && wg.is_power_of_two()
        && (16..=1024).contains(&wg)
        && (1..=4).contains(&nr)
        && matches!(qw, 1 | 2 | 4)
        && (1..=8).contains(&unroll)
        && written <= 1;
    ok.then(|| {
        Shape::lanes(wg, nr)
            .with_qw(qw)
            .with_unroll(unroll)
            .with_alt(written == 1)
    })
}

/// Whether and at which shape (workgroup size, rows per workgroup, words per invocation, blocks
/// loaded at a time) the lanes kernels run.
#[derive(Debug, Clone, Copy)]
pub(super) struct LanesPolicy {
    /// `HEADROOM_MEASURE_LANES=wg,nr[,qw[,unroll[,written]]]`: every lanes product at this shape
    /// (benchmarks; `written` 1: loops written out).
    fixed: Option<Shape>,
}

impl LanesPolicy {
    /// On by default except on Metal (the integer dot products are emulated there and the kernels
    /// were timed on an H100 only; Metal keeps the unit kernels). `HEADROOM_MEASURE_LANES=0` turns
    /// them off, `=wg,nr[,qw[,unroll[,written]]]` fixes the shape (benchmarks).
    pub(super) fn from_env(backend: wgpu::Backend) -> Option<LanesPolicy> {
        let default = (backend != wgpu::Backend::Metal).then_some(LanesPolicy { fixed: None });
        let Ok(v) = std::env::var("HEADROOM_MEASURE_LANES") else {
            return default;
        };
        if v.trim() == "0" {
            return None;
        }
        match parse_shape(&v) {
            Some(f) => Some(LanesPolicy { fixed: Some(f) }),
            None => default,
        }
    }

    /// The lanes shape for a product of `rows` rows of `enc` (before `gpu` fits the workgroup to the
    /// row), as (workgroup, rows per workgroup, words per invocation and block, blocks in flight,
    /// loops written out): the fastest on 1 GiB matrices of rows of 4096 and, where timed, in the 8B
    /// decode's products (`measure_device kernels` and `ops`, docs/benchmarks.md, rounds 4 and 5; H100
    /// unless said). Q4_0 at 128/4/4/2 read 1.040 of the copy bandwidth and ran every decode product
    /// within 3% of its fastest shape. Q4_K: 64/2/4/2 read 1.013 and ran gate+up (28 672 rows) in
    /// 28.7 µs, but the smaller products ran faster at 256/4/2/4 written out (Q/K/V 9.9 against 11.6
    /// µs, down 17.4 against 18.4). Q6_K's output head (128 256 rows) ran 150 µs at 64/2/4/1 against
    /// 173 at 256/4/2/1. Round 5: a workgroup of one subgroup (32) reads more of the 1 GiB matrices
    /// for Q2_K (0.926 against 0.865 at 128/4/4/2, written out), Q3_K (0.873 against 0.862), MXFP4
    /// (0.906 against 0.888 at 64/4/4/1, written out) and Q5_0 (1.007 against 0.985), but
    /// decode-sized products lack the workgroups to fill the GPU with one subgroup each: Q2_K's down
    /// (4096 × 14 336) took 12.3 µs at 128/4/4/2 against 15.6 at 32, Q3_K's 15.1 at 128 against 18.9
    /// at 64 and 24.7 at 32, gpt-oss-20b's MXFP4 experts (2880 × 2880) 6.7 µs at 128/4/4/1 against
    /// 7.1 at 32 and 8.8 at 64, and the 8B Q5_0 decode ran 2% slower at 32. So these four take 32
    /// only above 65 536 rows. The types without decode-product timings (Q5_K, MLX, F32, BF16) take
    /// their fastest shape on the 1 GiB matrices (MLX, F32, BF16: on an H200). Loops are written out
    /// (`Shape::alt`) where that measured faster: Q3_K at four words 0.862 against 0.802, Q4_K's
    /// small products, the 1 GiB Q2_K and MXFP4 products; Q4_0 fell from 1.040 to 0.921 and Q4_1
    /// from 1.014 to 0.925 that way.
    pub(super) fn shape(&self, enc: Encoding, rows: u64) -> Shape {
        if let Some(f) = self.fixed {
            return f;
        }
        // products up to SMALL rows (the 8B decode's Q/K/V, o, down) take Q4_K's and Q6_K's
        // small-product shape; products over SUBGROUP rows have the workgroups to fill the GPU with
        // one subgroup each
        const SMALL: u64 = 16384;
        const SUBGROUP: u64 = 65536;
        let (wg, nr, qw, unroll, written) = match enc {
            Encoding::Ggml(TensorType::Q4_0 | TensorType::Q4_1) => (128, 4, 4, 2, false),
            // Q5_0, Q2_K, Q3_K, MXFP4: one subgroup per workgroup over SUBGROUP rows (no
            // workgroup-memory step in the reduction); decode-sized products want more invocations
            // per row
            Encoding::Ggml(TensorType::Q5_0) if rows <= SUBGROUP => (64, 2, 4, 2, false),
            Encoding::Ggml(TensorType::Q5_0) => (32, 2, 4, 2, false),
            Encoding::Ggml(TensorType::Q5_1) => (64, 2, 4, 1, false),
            Encoding::Ggml(TensorType::Q8_0) => (256, 2, 2, 1, false),
            Encoding::Ggml(TensorType::Q2_K) if rows <= SUBGROUP => (128, 4, 4, 2, false),
            Encoding::Ggml(TensorType::Q2_K) => (32, 4, 4, 2, true),
            Encoding::Ggml(TensorType::Q3_K) if rows <= SUBGROUP => (128, 4, 4, 1, true),
            Encoding::Ggml(TensorType::Q3_K) => (32, 4, 4, 1, true),
            Encoding::Ggml(TensorType::Q4_K) if rows <= SMALL => (256, 4, 2, 4, true),
            Encoding::Ggml(TensorType::Q4_K) => (64, 2, 4, 2, false),
            Encoding::Ggml(TensorType::Q5_K) => (64, 2, 4, 1, false),
            Encoding::Ggml(TensorType::Q6_K) if rows <= SMALL => (256, 4, 2, 1, false),
            Encoding::Ggml(TensorType::Q6_K) => (64, 2, 4, 1, false),
            Encoding::Ggml(TensorType::MXFP4) if rows <= SUBGROUP => (128, 4, 4, 1, false),
            Encoding::Ggml(TensorType::MXFP4) => (32, 4, 4, 2, true),
            Encoding::Mlx { bits: 4, .. } => (64, 4, 1, 2, false),
            Encoding::Mlx { .. } => (128, 4, 1, 4, false),
            Encoding::Ggml(TensorType::F32) => (256, 2, 1, 4, false),
            Encoding::Ggml(TensorType::F16 | TensorType::BF16) if rows <= 4096 => {
                (256, 1, 2, 2, false)
            }
            Encoding::Ggml(TensorType::F16 | TensorType::BF16) => (256, 4, 4, 4, false),
            _ => (128, 2, 2, 1, false),
        };
        Shape::lanes(wg, nr)
            .with_qw(qw)
            .with_unroll(unroll)
            .with_alt(written)
    }
}

/// The lanes shape a product of `enc` with `rows` rows takes where the lanes kernels are on and no
/// shape is fixed (the committed per-type rule of [`LanesPolicy`]; diagnostics such as
/// `examples/pipeline_stats.rs` compile the kernels the decode runs).
pub fn committed_shape(enc: Encoding, rows: u64) -> Shape {
    LanesPolicy { fixed: None }.shape(enc, rows)
}

/// The 8-bit input `xq` of [`quantize_input`] with each 8 values reordered as the 4 even then the 4
/// odd ones ([`LanesInput::Q8Split`]): what an MLX 4-bit word's low nibbles (`q & 0x0f0f0f0f`:
/// weights 0, 2, 4, 6) and high nibbles line up with, so the kernel permutes nothing per weight (a
/// decode's activation quantizer would write this order directly, as llama.cpp's writes per-kernel
/// layouts for its MMQ kernels).
pub fn split_pairs(xq: &[u8]) -> Vec<u8> {
    xq.chunks(8)
        .flat_map(|c| {
            let at = |i: usize| c.get(i).copied().unwrap_or(0);
            [0, 2, 4, 6, 1, 3, 5, 7].map(at)
        })
        .collect()
}

/// `x` quantized as llama.cpp's `quantize_q8_1` does for its integer-dot kernels (zero-padded to
/// whole blocks of 32): the 8-bit values (`d = amax/127`, rounded), and per block `[d, d·Σq]`.
pub fn quantize_input(x: &[f32]) -> (Vec<u8>, Vec<f32>) {
    use super::cpudot::{Act, ActKind, QK8_0};
    let mut padded = x.to_vec();
    padded.resize(x.len().div_ceil(QK8_0).max(1) * QK8_0, 0.0);
    let mut a = Act::default();
    a.quantize(ActKind::Q8_0, &padded);
    let ds =
        a.qs.chunks_exact(QK8_0)
            .zip(&a.d)
            .flat_map(|(q, &d)| [d, d * q.iter().map(|&v| v as i32).sum::<i32>() as f32])
            .collect();
    (a.qs.iter().map(|&v| v as u8).collect(), ds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_with_their_defaults_and_bounds() {
        let s = |v| parse_shape(v).map(|s| (s.wg, s.nr, s.qw, s.unroll, s.alt));
        assert_eq!(s("128,2"), Some((128, 2, 2, 1, false)));
        assert_eq!(s("64,4,4"), Some((64, 4, 4, 1, false)));
        assert_eq!(s("256,1,1,4,1"), Some((256, 1, 1, 4, true)));
        for bad in [
            "128",
            "96,2",
            "128,5",
            "128,2,3",
            "128,2,2,9",
            "128,2,2,1,2",
            "128,2,2,1,0,0",
        ] {
            assert_eq!(s(bad), None, "{bad}");
        }
    }

    #[test]
    fn lanes_labels_tell_every_field_apart() {
        // the label keys the pipeline cache: shapes with different WGSL need different labels
        let base = Shape::lanes(64, 2);
        let variants = [
            base,
            base.with_alt(true),
            base.with_qw(2),
            base.with_unroll(2),
            Shape::lanes(64, 4),
            Shape::lanes(128, 2),
        ];
        let labels: std::collections::HashSet<String> =
            variants.iter().map(|s| s.label()).collect();
        assert_eq!(labels.len(), variants.len());
    }

    #[test]
    fn loops_over_words_and_rows_are_written_out() {
        let src = "a;\nfor (var j = 0u; j < QW; j++) {\n    s += x[j];\n    for (var i = 0u; i < NR; i++) {\n        r[i] += q[j];\n    }\n}\nfor (var k = 0u; k < n; k++) {\n    t += 1;\n}\n";
        let u = unroll_loops(src, 2, 1);
        assert_eq!(u.matches("let j = ").count(), 2);
        assert_eq!(u.matches("let i = 0u;").count(), 2);
        assert!(u.contains("let j = 1u;"));
        // loops with other bounds stay loops
        assert!(u.contains("for (var k = 0u; k < n; k++) {"));
        assert!(!u.contains("j < QW"));
        assert_eq!(u.matches('{').count(), u.matches('}').count());
    }

    #[test]
    fn written_out_shapes_leave_no_loop_over_words() {
        // the type's loops and those of the shared input helpers it calls (bind_lanes_q8.wgsl)
        let shape = Shape::lanes(32, 4).with_qw(4).with_unroll(2).with_alt(true);
        for &t in crate::measure::dequant::SUPPORTED {
            let src = kernel_source(Encoding::Ggml(t), shape, 32).unwrap();
            assert!(!src.contains("< QW;"), "{t:?}");
        }
    }

    #[test]
    fn lanes_kernels_are_off_on_metal_and_per_type_elsewhere() {
        // Metal keeps the unit kernels (its integer dots are emulated; nothing timed there)
        if std::env::var("HEADROOM_MEASURE_LANES").is_err() {
            assert!(LanesPolicy::from_env(wgpu::Backend::Metal).is_none());
            let p = LanesPolicy::from_env(wgpu::Backend::Vulkan).unwrap();
            let s = |t| {
                let s = p.shape(Encoding::Ggml(t), 4096);
                (s.wg, s.nr, s.qw, s.unroll)
            };
            assert_eq!(s(TensorType::Q4_0), (128, 4, 4, 2));
            assert_eq!(s(TensorType::Q4_K), (256, 4, 2, 4));
            assert_eq!(s(TensorType::Q6_K), (256, 4, 2, 1));
            assert_eq!(p.shape(Encoding::Ggml(TensorType::Q6_K), 128256).wg, 64);
            // loops written out only where that measured faster
            assert!(!p.shape(Encoding::Ggml(TensorType::Q4_0), 4096).alt);
            assert!(p.shape(Encoding::Ggml(TensorType::Q4_K), 4096).alt);
            assert!(p.shape(Encoding::Ggml(TensorType::Q3_K), 4096).alt);
            assert_eq!(p.shape(Encoding::Ggml(TensorType::Q4_K), 28672).qw, 4);
        }
        // every lanes type's rows are whole blocks of its kernel, and the 8-bit input is block-aligned
        for t in super::super::dequant::SUPPORTED {
            if let Some(lk) = lanes_kernel(Encoding::Ggml(*t)) {
                assert_eq!(lk.block % t.block_elems() as u32, 0, "{t}");
                if lk.input == LanesInput::Q8 {
                    assert_eq!(lk.block % 32, 0, "{t}");
                }
            }
        }
        // MLX: a block is a group (one scale and bias), of whole 8-bit input blocks; 4-bit takes
        // the input split
        for bits in [4, 8] {
            for group in [32, 64, 128] {
                let enc = Encoding::Mlx {
                    bits,
                    group,
                    scale_type: super::super::dequant::ScaleType::F16,
                };
                let lk = lanes_kernel(enc).unwrap();
                assert_eq!((lk.block, lk.block % 32), (group, 0));
                assert_eq!(lk.input == LanesInput::Q8Split, bits == 4);
            }
        }
    }

    #[test]
    fn split_pairs_puts_each_8_values_even_then_odd() {
        let xq: Vec<u8> = (0..16).collect();
        assert_eq!(
            split_pairs(&xq),
            [0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15]
        );
    }

    #[test]
    fn mlx_constants_cover_each_group_once() {
        // TPB = 4/qw invocations × E weights = the group; NS·WS = WPI words
        for (bits, group, qw, want) in [
            (
                4,
                64,
                2,
                "const WPI: u32 = 4u;\nconst E: u32 = 32u;\nconst NS: u32 = 1u;\nconst WS: u32 = 4u;\nconst FR: f32 = 1.0;\nconst GB: u32 = 32u;",
            ),
            (
                4,
                32,
                1,
                "const WPI: u32 = 1u;\nconst E: u32 = 8u;\nconst NS: u32 = 1u;\nconst WS: u32 = 1u;\nconst FR: f32 = 0.25;\nconst GB: u32 = 16u;",
            ),
            (
                8,
                128,
                2,
                "const WPI: u32 = 16u;\nconst E: u32 = 64u;\nconst NS: u32 = 2u;\nconst WS: u32 = 8u;\nconst FR: f32 = 1.0;\nconst GB: u32 = 128u;",
            ),
        ] {
            let c = mlx_consts(bits, group, qw);
            assert!(c.contains(want), "{bits} {group} {qw}: {c}");
        }
    }
}
