//! Lanes kernels (kernels/lanes*.wgsl): the decode's products of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q6_K,
//! MXFP4, MLX affine 4- and 8-bit and F16 with adjacent invocations reading adjacent words of a block,
//! after llama.cpp's Vulkan `mul_mat_vec` shaders; the quantized types dot the input quantized once to
//! 8-bit blocks of 32 ([`quantize_input`], `dot4I8Packed`; MLX 4-bit in the order [`split_pairs`]
//! gives). Owns which types have one ([`lanes_kernel`]), their WGSL ([`kernel_source`]), the 8-bit
//! input, and where and at which shape they run ([`LanesPolicy`]); the dispatch itself is `gpu`'s.

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
    /// Quantized to 8-bit blocks of 32 ([`quantize_input`]: `xq` at 1, `xd` at 4), integer dots.
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
    /// Weights per block (rows must be whole blocks) and invocations sharing one.
    pub block: u32,
    pub per_block: u32,
}

/// The lanes kernel of `enc`, if it has one. Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q6_K, MXFP4 and MLX
/// affine 4- and 8-bit (groups of 32, 64 or 128: a block is a group) dot 8-bit inputs as llama.cpp's
/// integer-dot kernels do (Q4_K and Q6_K with the thread layout of llama.cpp's Vulkan
/// mul_mat_vec_q4_k / q6_k); F16 reads a word per invocation against the f32 input.
pub fn lanes_kernel(enc: Encoding) -> Option<LanesKernel> {
    let (wgsl, input, block, per_block) = match enc {
        Encoding::Ggml(TensorType::MXFP4) => (
            include_str!("kernels/lanes_mxfp4.wgsl"),
            LanesInput::Q8,
            32,
            4,
        ),
        Encoding::Mlx { bits: 4, group, .. } if matches!(group, 32 | 64 | 128) => (
            include_str!("kernels/lanes_mlx4.wgsl"),
            LanesInput::Q8Split,
            group,
            4,
        ),
        Encoding::Mlx { bits: 8, group, .. } if matches!(group, 32 | 64 | 128) => (
            include_str!("kernels/lanes_mlx8.wgsl"),
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
        Encoding::Ggml(TensorType::Q4_K) => (
            include_str!("kernels/lanes_q4_k.wgsl"),
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
            include_str!("kernels/lanes_f16.wgsl"),
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

/// Whether dispatches of `enc` at `shape` bind the 8-bit input (`xq` at 1, `xd` at 4).
pub(super) fn takes_q8(enc: Encoding, shape: Shape) -> bool {
    shape.lanes && lanes_kernel(enc).is_some_and(|l| l.input != LanesInput::F32x2)
}

/// The WGSL constants of the MLX lanes kernels (kernels/lanes_mlx4.wgsl, lanes_mlx8.wgsl) for `bits`,
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
fn lanes_reduction(wg: u32, subgroup: u32) -> (String, String, bool) {
    let sg = if subgroup >= 2 && subgroup.is_power_of_two() {
        subgroup.min(wg)
    } else {
        1
    };
    let mut code = String::new();
    let mut st = sg / 2;
    while st > 0 {
        code.push_str(&format!("    acc += subgroupShuffleXor(acc, {st}u);\n"));
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

/// The WGSL of `enc`'s lanes kernel at `shape` (`None` when `shape` is not a lanes shape or `enc` has
/// no lanes kernel), with subgroup reductions where `subgroup` (the adapter's smallest subgroup size,
/// 0 without the feature) allows.
pub fn kernel_source(enc: Encoding, shape: Shape, subgroup: u32) -> Option<String> {
    let lk = lanes_kernel(enc).filter(|_| shape.lanes)?;
    let (decl, code, sg) = lanes_reduction(shape.wg, subgroup);
    let main = LANES_MAIN
        .replace("__WG__", &shape.wg.to_string())
        .replace("__RED_DECL__", &decl)
        .replace("__REDUCE__", &code);
    let input = match lk.input {
        LanesInput::Q8 | LanesInput::Q8Split => BIND_LANES_Q8,
        LanesInput::F32x2 => BIND_LANES_F32X2,
    };
    let en = if sg { "// subgroup reduction\n" } else { "" };
    // Q4_K, Q6_K: `alt` takes two words of a half per invocation (8 per super-block), else one;
    // MXFP4 and MLX: two invocations per block instead of 4 (twice the words each)
    let qw = if shape.alt { 2 } else { 1 };
    let mut ty_src = lk
        .wgsl
        .replace("__QW__", &qw.to_string())
        .replace("__NR__", &shape.nr.clamp(1, 4).to_string());
    if let Encoding::Mlx {
        bits,
        group,
        scale_type,
    } = enc
    {
        ty_src = format!(
            "{BIND_LANES_MLX}\n{}\n{}\n{ty_src}",
            super::gpu::scale_fns(scale_type),
            mlx_consts(bits, group, qw)
        );
    }
    Some(format!(
        "{en}{BIND_LANES}\n{input}\n{COMMON}\n{ty_src}\n{main}"
    ))
}

/// Whether and at which (workgroup size, rows per workgroup) the lanes kernels run.
#[derive(Debug, Clone, Copy)]
pub(super) struct LanesPolicy {
    /// `HEADROOM_MEASURE_LANES=wg,nr[,qw]`: every lanes product at this shape, Q4_K and Q6_K with
    /// `qw` (default 2) words per invocation and half super-block (benchmarks).
    fixed: Option<(u32, u32, bool)>,
}

impl LanesPolicy {
    /// On by default except on Metal (the integer dot products are emulated there and the kernels
    /// were timed on an H100 only; Metal keeps the unit kernels). `HEADROOM_MEASURE_LANES=0` turns
    /// them off, `=wg,nr` fixes the shape (benchmarks).
    pub(super) fn from_env(backend: wgpu::Backend) -> Option<LanesPolicy> {
        let default = (backend != wgpu::Backend::Metal).then_some(LanesPolicy { fixed: None });
        let Ok(v) = std::env::var("HEADROOM_MEASURE_LANES") else {
            return default;
        };
        if v.trim() == "0" {
            return None;
        }
        let n: Vec<u32> = v.split(',').filter_map(|a| a.trim().parse().ok()).collect();
        let ok = |wg: u32, nr: u32| {
            wg.is_power_of_two() && (16..=1024).contains(&wg) && (1..=4).contains(&nr)
        };
        match n[..] {
            [wg, nr] if ok(wg, nr) => Some(LanesPolicy {
                fixed: Some((wg, nr, true)),
            }),
            [wg, nr, qw] if ok(wg, nr) && matches!(qw, 1 | 2) => Some(LanesPolicy {
                fixed: Some((wg, nr, qw == 2)),
            }),
            _ => default,
        }
    }

    /// The (workgroup size, rows per workgroup, two words per invocation) for products of `enc`,
    /// from the sweeps in the full decode of an 8B model on an H100 (docs/benchmarks.md, 2026-11-27,
    /// `HEADROOM_MEASURE_LANES`, context 4096): Q4_0 fastest at 128/2 (280.7 tok/s; 128/1 248.9,
    /// 256/2 272.3); Q4_K_M at 128/2 with two words (279.7; 128/1 263.6, 64/1 265.8, 256/2 255.9,
    /// 128/1 with one word 240.2). Q6_K took one word: its products ran 40.5 µs against 42.2 with two
    /// (1 GiB matrices: 0.543 against 0.500 of the copy bandwidth).
    pub(super) fn shape(&self, enc: Encoding) -> (u32, u32, bool) {
        if let Some(f) = self.fixed {
            return f;
        }
        match enc {
            Encoding::Ggml(TensorType::Q6_K) => (128, 1, false),
            _ => (128, 2, true),
        }
    }
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
    fn lanes_kernels_are_off_on_metal_and_per_type_elsewhere() {
        // Metal keeps the unit kernels (its integer dots are emulated; nothing timed there)
        if std::env::var("HEADROOM_MEASURE_LANES").is_err() {
            assert!(LanesPolicy::from_env(wgpu::Backend::Metal).is_none());
            let p = LanesPolicy::from_env(wgpu::Backend::Vulkan).unwrap();
            assert_eq!(p.shape(Encoding::Ggml(TensorType::Q4_0)), (128, 2, true));
            assert_eq!(p.shape(Encoding::Ggml(TensorType::Q4_K)), (128, 2, true));
            assert_eq!(p.shape(Encoding::Ggml(TensorType::Q6_K)), (128, 1, false));
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
