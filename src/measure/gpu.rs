//! The decode on a GPU through wgpu (Vulkan, Metal, DX12): one WGSL dequant-matvec kernel per storage
//! type reading the stored block bytes as they are (bound as `array<u32>` or `array<vec4<u32>>`), each
//! tensor uploaded once and split into row ranges that fit the adapter's
//! `max_storage_buffer_binding_size`; a layer's Q/K/V (and gate/up) of one type share a buffer, one
//! tensor's bytes after the other, and run as one dispatch. Every dispatch runs at the [`Shape`]
//! (workgroup size, invocations per row group, rows per invocation) [`shape_for`] picks for its size,
//! or, for the types that have one, the lanes kernel of [`super::lanes`] (not on Metal).
//! A token is one compute pass holding every product of [`Plan::token_ops`] in order; timed with
//! timestamp queries when the adapter has them, else by wall clock around submit and wait.
use super::cpu::{Bytes, load};
use super::decode::{Encoding, MatVec, Plan, Weight};
use super::dequant::ScaleType;
use super::lanes::{
    LanesInput, LanesPolicy, lanes_kernel, max_qw, quantize_input, split_pairs, takes_q8,
};
use super::source::{Files, Rng};
use crate::error::{Error, Result};
use crate::model::TensorType;
use crate::model::roles::{Kind, role};
use std::collections::HashMap;
use std::time::Instant;
use wgpu::util::DeviceExt;

const COMMON: &str = include_str!("kernels/common.wgsl");
const BIND_SCALAR: &str = include_str!("kernels/bind_scalar.wgsl");
const BIND_VEC4: &str = include_str!("kernels/bind_vec4.wgsl");
const MAIN: &str = include_str!("kernels/main.wgsl");
const UNIT_MAIN: &str = include_str!("kernels/unit.wgsl");
const UNIT1_MAIN: &str = include_str!("kernels/unit1.wgsl");
const MLX: &str = include_str!("kernels/mlx.wgsl");
/// Params slot stride in the uniform buffer (≥ every adapter's min_uniform_buffer_offset_alignment).
const SLOT: u64 = 256;
const PARAMS_BYTES: u64 = 32;

fn type_snippet(ty: TensorType) -> Option<&'static str> {
    Some(match ty {
        TensorType::F32 => include_str!("kernels/f32.wgsl"),
        TensorType::F16 => include_str!("kernels/f16.wgsl"),
        TensorType::BF16 => include_str!("kernels/bf16.wgsl"),
        TensorType::Q4_0 => include_str!("kernels/q4_0.wgsl"),
        TensorType::Q4_1 => include_str!("kernels/q4_1.wgsl"),
        TensorType::Q5_0 => include_str!("kernels/q5_0.wgsl"),
        TensorType::Q5_1 => include_str!("kernels/q5_1.wgsl"),
        TensorType::Q8_0 => include_str!("kernels/q8_0.wgsl"),
        TensorType::Q2_K => include_str!("kernels/q2_k.wgsl"),
        TensorType::Q3_K => include_str!("kernels/q3_k.wgsl"),
        TensorType::Q4_K => include_str!("kernels/q4_k.wgsl"),
        TensorType::Q5_K => include_str!("kernels/q5_k.wgsl"),
        TensorType::Q6_K => include_str!("kernels/q6_k.wgsl"),
        TensorType::MXFP4 => include_str!("kernels/mxfp4.wgsl"),
        _ => return None,
    })
}

pub(super) fn scale_fns(st: ScaleType) -> String {
    let get = |arr: &str| match st {
        ScaleType::F32 => format!("return bitcast<f32>({arr}[i]);"),
        ScaleType::F16 => {
            format!("return unpack2x16float(({arr}[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu).x;")
        }
        ScaleType::BF16 => {
            format!("return bitcast<f32>((({arr}[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu) << 16u);")
        }
    };
    format!(
        "fn sget(i: u32) -> f32 {{ {} }}\nfn bget(i: u32) -> f32 {{ {} }}\n",
        get("sc"),
        get("bi")
    )
}

/// The shape of one dispatch's kernel: workgroups of `wg` invocations, `tpr` of them sharing a group of
/// rows (powers of two, `tpr ≤ wg`), `nr` rows per group (1, 2 or 4; unit kernels only, 1 for the
/// generic kernel and for products whose rows read different inputs); `alt`: the unit kernels'
/// second unpacking (`unitgen::unit`'s `mant`: Q4_0, Q8_0, Q4_K into the top of the mantissa, Q6_K
/// read as 16-byte vectors; the default), else the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    pub wg: u32,
    pub tpr: u32,
    pub nr: u32,
    pub alt: bool,
    /// Unit kernels: adjacent invocations take adjacent row groups (the same units, so the same
    /// input vectors: one cache line per load instead of TPR), the TPR of a row group `WG/TPR` apart;
    /// else adjacent invocations take adjacent units of one row group.
    pub rows_first: bool,
    /// The lanes kernel ([`lanes_kernel`]): the workgroup's `wg` invocations share `nr` rows
    /// (`tpr == wg`); `alt` there: the loops over a block's words and the rows written out, else
    /// left as WGSL loops (the default).
    pub lanes: bool,
    /// Lanes kernels: words of weights each invocation takes per block (fewer invocations share a
    /// block; capped per type by [`super::lanes::max_qw`]).
    pub qw: u32,
    /// Lanes kernels: blocks each invocation loads before it adds them up (loads in flight).
    pub unroll: u32,
}

impl Shape {
    pub fn new(wg: u32, tpr: u32, nr: u32) -> Shape {
        Shape {
            wg,
            tpr,
            nr,
            alt: true,
            rows_first: false,
            lanes: false,
            qw: 1,
            unroll: 1,
        }
    }

    /// A lanes kernel's shape: `wg` invocations computing `nr` rows together.
    pub fn lanes(wg: u32, nr: u32) -> Shape {
        Shape {
            wg,
            tpr: wg,
            nr,
            alt: false,
            rows_first: false,
            lanes: true,
            qw: 1,
            unroll: 1,
        }
    }

    /// A lanes shape with `qw` words per invocation and block.
    pub fn with_qw(self, qw: u32) -> Shape {
        Shape { qw, ..self }
    }

    /// A lanes shape loading `unroll` blocks at a time.
    pub fn with_unroll(self, unroll: u32) -> Shape {
        Shape { unroll, ..self }
    }

    pub fn with_rows_first(self, rows_first: bool) -> Shape {
        Shape { rows_first, ..self }
    }

    pub fn with_alt(self, alt: bool) -> Shape {
        Shape { alt, ..self }
    }

    /// "wg/tpr/nr", then "/first" with the first unpacking, "/rows" with rows first; lanes shapes
    /// "lanesWG/NR/qQW/uUNROLL", then "/written" with the loops written out.
    pub fn label(&self) -> String {
        if self.lanes {
            // every field that changes the WGSL: the label keys the pipeline cache
            let written = if self.alt { "/written" } else { "" };
            return format!(
                "lanes{}/{}/q{}/u{}{written}",
                self.wg, self.nr, self.qw, self.unroll
            );
        }
        let first = if self.alt { "" } else { "/first" };
        let rows = if self.rows_first { "/rows" } else { "" };
        format!("{}/{}/{}{first}{rows}", self.wg, self.tpr, self.nr)
    }
}

/// The WGSL that adds up the `TPR` partial sums `acc` of a row group: subgroup shuffles when `TPR` lanes
/// fit in the smallest subgroup the adapter runs (`subgroup` = that size, 0 without the feature),
/// else a tree in workgroup memory. Returns (declarations, statements, whether subgroups are used).
fn reduction(acc_ty: &str, tpr: u32, subgroup: u32, rows_first: bool) -> (String, String, bool) {
    if tpr == 1 {
        return (String::new(), String::new(), false);
    }
    if rows_first {
        // the TPR invocations of a row group are RPW apart
        return (
            format!("var<workgroup> red: array<{acc_ty}, WG>;"),
            "    red[li] = acc;\n    workgroupBarrier();\n    for (var st = TPR / 2u; st > 0u; st = st >> 1u) {\n        if (lane < st) {\n            red[li] += red[li + st * RPW];\n        }\n        workgroupBarrier();\n    }\n    acc = red[li];\n".into(),
            false,
        );
    }
    if subgroup >= tpr {
        return (
            String::new(),
            "    for (var st = TPR / 2u; st > 0u; st = st >> 1u) {\n        acc += subgroupShuffleXor(acc, st);\n    }\n".into(),
            true,
        );
    }
    (
        format!("var<workgroup> red: array<{acc_ty}, WG>;"),
        "    red[li] = acc;\n    workgroupBarrier();\n    for (var st = TPR / 2u; st > 0u; st = st >> 1u) {\n        if (lane < st) {\n            red[li] += red[li + st];\n        }\n        workgroupBarrier();\n    }\n    acc = red[li];\n".into(),
        false,
    )
}

/// The WGSL source of the kernel for `enc` at `shape`, with subgroup reductions where `subgroup` (the
/// adapter's smallest subgroup size, 0 without the feature) allows. Types with a unit (`unitgen`) get
/// the unit kernel (kernels/unit.wgsl for several rows per invocation, unit1.wgsl for one: whole-vector
/// loads), the others the generic one (kernels/main.wgsl).
pub fn kernel_source(enc: Encoding, shape: Shape, subgroup: u32) -> Result<String> {
    if let Some(src) = super::lanes::kernel_source(enc, shape, subgroup) {
        return Ok(src);
    }
    let shape = Shape {
        nr: shape.nr.min(max_rows(enc)),
        ..shape
    };
    let fill = |main: &str, acc_ty: &str, rows_first: bool| {
        let (decl, code, sg) = reduction(acc_ty, shape.tpr, subgroup, rows_first);
        let (lane, rg) = if rows_first {
            ("li / RPW", "li % RPW")
        } else {
            ("li % TPR", "li / TPR")
        };
        let body = main
            .replace("__LANE__", lane)
            .replace("__RG__", rg)
            .replace("__TPR__", &shape.tpr.to_string())
            .replace("__WG__", &shape.wg.to_string())
            .replace("__RED_DECL__", &decl)
            .replace("__REDUCE__", &code);
        // naga takes subgroup built-ins without `enable subgroups;` (it rejects the directive)
        (body, if sg { "// subgroup reduction\n" } else { "" })
    };
    let body = match enc {
        Encoding::Ggml(ty) => {
            let sub = type_snippet(ty).ok_or_else(|| super::dequant::unsupported(ty, "?"))?;
            if let Some(u) = super::unitgen::unit(ty, shape.nr, shape.alt) {
                let (main, en) = if shape.nr > 1 {
                    fill(UNIT_MAIN, "vec4<f32>", shape.rows_first)
                } else {
                    fill(UNIT1_MAIN, "f32", shape.rows_first)
                };
                return Ok(format!(
                    "{en}{BIND_VEC4}\n{COMMON}\n{sub}\n{}\n{main}",
                    u.wgsl
                ));
            }
            sub.to_string()
        }
        Encoding::Mlx {
            bits,
            group,
            scale_type,
        } => {
            let sub = MLX
                .replace("__BITS__", &bits.to_string())
                .replace("__GROUP__", &group.to_string())
                .replace("__SCALE_FNS__", &scale_fns(scale_type));
            if let Some(u) = super::unitgen::unit_mlx(bits, group, shape.nr) {
                let (main, en) = if shape.nr > 1 {
                    fill(UNIT_MAIN, "vec4<f32>", shape.rows_first)
                } else {
                    fill(UNIT1_MAIN, "f32", shape.rows_first)
                };
                return Ok(format!(
                    "{en}{BIND_VEC4}\n{COMMON}\n{sub}\n{}\n{main}",
                    u.wgsl
                ));
            }
            sub
        }
    };
    let (main, en) = fill(MAIN, "f32", false);
    Ok(format!("{en}{BIND_SCALAR}\n{COMMON}\n{body}\n{main}"))
}

/// Every kernel variant the decode can build, as (label, WGSL): each ggml type, MLX 4/8-bit with each
/// scale type, at 4, 16 and 64 lanes per row (tree reductions, and subgroup reductions for a
/// 32-wide subgroup), and the unit types at 1, 2 and 4 rows per invocation; the lanes kernels at 4
/// shapes, MLX's also with groups of 32 and 128.
pub fn all_kernel_sources() -> Vec<(String, String)> {
    let mut encs: Vec<Encoding> = super::dequant::SUPPORTED
        .iter()
        .map(|t| Encoding::Ggml(*t))
        .collect();
    for bits in [4, 8] {
        for st in [ScaleType::F32, ScaleType::F16, ScaleType::BF16] {
            encs.push(Encoding::Mlx {
                bits,
                group: 64,
                scale_type: st,
            });
        }
    }
    let mut out = Vec::new();
    // the lanes kernels also at MLX's other group sizes
    let mut lanes_encs = encs.clone();
    for bits in [4, 8] {
        for (group, st) in [(32, ScaleType::F16), (128, ScaleType::BF16)] {
            lanes_encs.push(Encoding::Mlx {
                bits,
                group,
                scale_type: st,
            });
        }
    }
    for e in lanes_encs.iter().filter(|e| lanes_kernel(**e).is_some()) {
        for (wg, nr, qw, unroll, written_out) in [
            (32, 1, 1, 1, true),
            (128, 2, 2, 1, true),
            (256, 4, 4, 2, true),
            (128, 2, 1, 4, false),
        ] {
            for sg in [0, 32] {
                let shape = Shape::lanes(wg, nr)
                    .with_qw(qw)
                    .with_unroll(unroll)
                    .with_alt(written_out);
                if let Ok(src) = kernel_source(*e, shape, sg) {
                    out.push((
                        format!("{}-{:?}-{}-sg{sg}", e.label(), e, shape.label()),
                        src,
                    ));
                }
            }
        }
    }
    for e in encs {
        let unit = has_unit(e);
        let nrs: &[u32] = match max_rows(e) {
            4 => &[1, 2, 4],
            _ => &[1],
        };
        let mants: &[bool] = match e {
            Encoding::Ggml(
                TensorType::Q4_0 | TensorType::Q8_0 | TensorType::Q4_K | TensorType::Q6_K,
            ) => &[false, true],
            _ => &[false],
        };
        for (mant, rows_first) in mants
            .iter()
            .map(|&m| (m, false))
            .chain(unit.then_some((true, true)))
        {
            for &nr in nrs {
                for tpr in [4, 16, 64] {
                    for sg in [0, 32] {
                        let shape = Shape::new(128, tpr, nr)
                            .with_alt(mant)
                            .with_rows_first(rows_first);
                        if let Ok(src) = kernel_source(e, shape, sg) {
                            out.push((
                                format!("{}-{:?}-{}-sg{sg}-m{mant}", e.label(), e, shape.label()),
                                src,
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

/// `HEADROOM_MEASURE_SHAPE=wg,tpr[,nr]` (tuning knob for benchmarks): every dispatch at that shape
/// (nr 1 where the kernel has no several-row variant or the rows read different inputs).
fn shape_from_env() -> Option<Shape> {
    let v = std::env::var("HEADROOM_MEASURE_SHAPE").ok()?;
    let n: Vec<u32> = v
        .split(',')
        .map(|a| a.trim().parse().ok())
        .collect::<Option<Vec<u32>>>()?;
    let (wg, tpr, nr) = match n[..] {
        [wg, tpr] => (wg, tpr, 4),
        [wg, tpr, nr] => (wg, tpr, nr),
        _ => return None,
    };
    let ok = wg.is_power_of_two()
        && tpr.is_power_of_two()
        && (16..=1024).contains(&wg)
        && (1..=wg).contains(&tpr)
        && matches!(nr, 1 | 2 | 4);
    ok.then_some(Shape::new(wg, tpr, nr))
}

/// Most rows per invocation `enc`'s kernel computes (1 for the generic kernel).
pub fn max_rows(enc: Encoding) -> u32 {
    match enc {
        Encoding::Ggml(t) if super::unitgen::has_unit(t) => super::unitgen::max_rows(t),
        _ if has_unit(enc) => 4,
        _ => 1,
    }
}

/// Whether `enc` has a unit kernel (`unitgen`: whole-vector loads, 1, 2 or 4 rows per invocation).
pub fn has_unit(enc: Encoding) -> bool {
    match enc {
        Encoding::Ggml(t) => super::unitgen::has_unit(t),
        Encoding::Mlx { bits, group, .. } => super::unitgen::unit_mlx(bits, group, 1).is_some(),
    }
}

/// Invocations a product of the decode's size should at least run (below [`BIG_ROWS`] rows): lanes
/// per row are doubled until it does.
const MIN_THREADS: u64 = 24576;

/// Products of at least this many rows (1 GiB benchmark matrices, vocabulary-sized output matrices)
/// fill the GPU with few lanes per row: they take each type's best shape on large matrices.
const BIG_ROWS: u64 = 65536;

/// The shape for a product of `rows` rows of `k` weights of `enc` (`xmod > 1`: rows read different
/// inputs, one row per invocation). Chosen from the sweeps on an H100 (docs/benchmarks.md, 2026-11-27):
/// - at least 65 536 rows (`BIG_ROWS`): each type's fastest shape on 1 GiB matrices;
/// - fewer (the decode's products): 256 lanes, 16 per row, 2 rows per invocation (1 where the kernel
///   has no several-row variant or rows read different inputs): measured fastest in the full decode.
///   With `HEADROOM_MEASURE_PER_PRODUCT=1`, the per-product rule from timing products alone: rows per
///   invocation by type (4, Q6_K 2, F16/BF16 1; 1 where rows read different inputs), lanes per row
///   doubled from a minimum (Q6_K 2, F16/BF16 and the generic
///   kernel 4, rows reading different inputs 8, else 1) until the
///   product runs 24 576 invocations (`MIN_THREADS`), up to 32 (lanes past the row's last unit idle: that
///   still measured faster than fewer lanes); workgroups of 256 for Q4_K, else 128.
///
/// Tuning knobs for benchmarks: `HEADROOM_MEASURE_WG`, `HEADROOM_MEASURE_MIN_THREADS`.
pub fn shape_for(enc: Encoding, rows: u64, k: u64, xmod: u64) -> Shape {
    if let Ok(t) = TUNED.lock()
        && let Some(s) = t.get(&(enc.label(), rows, k, xmod))
    {
        return *s;
    }
    // MLX affine units: the rule of the ggml unit types without their own line (not swept yet)
    let ty = match enc {
        Encoding::Ggml(ty) if super::unitgen::has_unit(ty) => Some(ty),
        Encoding::Mlx { .. } if has_unit(enc) => Some(TensorType::Q4_0),
        _ => None,
    };
    let (wg_env, min_threads, per_product) = *POLICY.get_or_init(|| {
        let num = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
        let wg = num("HEADROOM_MEASURE_WG")
            .filter(|w| w.is_power_of_two() && (32..=1024).contains(w))
            .map(|w| w as u32);
        (
            wg,
            num("HEADROOM_MEASURE_MIN_THREADS").unwrap_or(MIN_THREADS),
            std::env::var("HEADROOM_MEASURE_PER_PRODUCT").as_deref() == Ok("1"),
        )
    });
    let one_row = |s: Shape| {
        let s = if xmod > 1 { Shape { nr: 1, ..s } } else { s };
        wg_env.map_or(s, |wg| Shape { wg, ..s })
    };
    if rows >= BIG_ROWS {
        let (wg, tpr, nr) = match ty {
            Some(TensorType::Q4_K) => (256, 4, 4),
            Some(TensorType::Q6_K) => (128, 4, 2),
            Some(TensorType::F16) => (128, 4, 1),
            Some(TensorType::BF16) => (128, 2, 4),
            Some(TensorType::F32) => (128, 4, 4),
            Some(_) => (128, 1, 1),
            None => (128, 4, 1),
        };
        return one_row(Shape::new(wg, tpr, nr));
    }
    // The decode's products: one shape for all (256 lanes, 16 per row, 2 rows per invocation where the
    // kernel has them). Measured in the full decode (`headroom measure llama-3.1-8b --backend gpu`, H100,
    // 2026-11-27, every dispatch at one shape): Q4_0 135.4 tok/s against 107.3 with the per-product
    // rule below, Q4_K_M 104.3 / 97.6, Q8_0 112.2 / 98.1, F16 113.0 / 103.1. The per-product rule came
    // from timing each product alone, which did not carry over to the products back to back.
    // `HEADROOM_MEASURE_PER_PRODUCT=1` (benchmarks) brings that rule back.
    if !per_product {
        return one_row(Shape::new(256, 16, 2));
    }
    one_row(per_product_shape(enc, ty, rows, xmod, min_threads))
}

/// The decode-product rule from timing each product alone (`HEADROOM_MEASURE_PER_PRODUCT=1`).
fn per_product_shape(
    enc: Encoding,
    ty: Option<TensorType>,
    rows: u64,
    xmod: u64,
    min_threads: u64,
) -> Shape {
    let (wg, min_tpr, nr) = match ty {
        Some(TensorType::Q4_K) => (256, 1, 4),
        Some(TensorType::Q6_K) => (128, 2, 2),
        Some(TensorType::F16 | TensorType::BF16) => (128, 4, 1),
        Some(_) => (128, 1, 4),
        None => (128, 4, 1),
    };
    // rows that read their own input (the K cache: 4 units of 32 per row) took 8 lanes best
    let (nr, min_tpr) = if xmod > 1 {
        (1, 8)
    } else {
        (nr.min(max_rows(enc)), min_tpr)
    };
    let groups = rows.div_ceil(nr as u64);
    let mut tpr = min_tpr;
    while tpr < 32 && groups * (tpr as u64) < min_threads {
        tpr *= 2;
    }
    let s = Shape::new(wg, tpr, nr);
    if xmod > 1 { Shape { nr: 1, ..s } } else { s }
}

type TunedTable = HashMap<(String, u64, u64, u64), Shape>;
static TUNED: std::sync::LazyLock<std::sync::Mutex<TunedTable>> =
    std::sync::LazyLock::new(Default::default);

/// Benchmarks: [`shape_for`] answers `shape` for products of (encoding label, rows, k, xmod) (the
/// best of a sweep on the device), in this process.
pub fn set_tuned_shape(enc: Encoding, rows: u64, k: u64, xmod: u64, shape: Shape) {
    if let Ok(mut t) = TUNED.lock() {
        t.insert((enc.label(), rows, k, xmod), shape);
    }
}

/// (workgroup size, [`MIN_THREADS`], per-product rule) overrides of [`shape_for`], read once; tuning
/// knobs for benchmarks: `HEADROOM_MEASURE_WG`, `HEADROOM_MEASURE_MIN_THREADS`,
/// `HEADROOM_MEASURE_PER_PRODUCT`.
static POLICY: std::sync::OnceLock<(Option<u32>, u64, bool)> = std::sync::OnceLock::new();

/// An open GPU device.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    timestamps: bool,
    layout: wgpu::BindGroupLayout,
    /// MLX: `x` or `xq` at 1, `xd` at 4, scales and biases at 5 and 6, `xq` and `xd`'s scales as
    /// vectors at 7 and 8.
    layout_mlx: wgpu::BindGroupLayout,
    /// The lanes kernels with 8-bit input: `xq` at 1 (and as vectors at 7), `xd` at 4 (its scales
    /// as vectors at 8).
    layout_q8: wgpu::BindGroupLayout,
    /// Lanes kernels for their types' products ([`LanesPolicy`]), or `None`.
    lanes: Option<LanesPolicy>,
    pipelines: HashMap<String, wgpu::ComputePipeline>,
    binding_cap: Option<u64>,
    /// Every dispatch at this shape instead of [`shape_for`]'s (benchmarks).
    force: Option<Shape>,
    /// Smallest subgroup size when the device has subgroup operations, else 0.
    subgroup: u32,
}

fn gpu_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::failure(format!("GPU: {what}: {e}"))
}

impl Gpu {
    /// Open the high-performance adapter (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME` honoured). `Ok(None)` when
    /// there is no adapter at all.
    pub fn open() -> Result<Option<Gpu>> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter =
            match pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })) {
                Ok(a) => a,
                Err(_) => return Ok(None),
            };
        let info = adapter.get_info();
        let limits = adapter.limits();
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let mut features = if timestamps {
            wgpu::Features::TIMESTAMP_QUERY
        } else {
            wgpu::Features::empty()
        };
        // per-dispatch timestamps for `HEADROOM_MEASURE_PROFILE` (benchmarks)
        let inside = wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES;
        if timestamps && profile_requested() && adapter.features().contains(inside) {
            features |= inside;
        }
        // subgroup reductions where the adapter has them (`HEADROOM_MEASURE_SUBGROUPS=0` turns them off)
        let sg_off = std::env::var("HEADROOM_MEASURE_SUBGROUPS").as_deref() == Ok("0");
        let subgroup = if adapter.features().contains(wgpu::Features::SUBGROUP) && !sg_off {
            features |= wgpu::Features::SUBGROUP;
            info.subgroup_min_size
        } else {
            0
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("headroom-measure"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| gpu_err("request_device", e))?;
        let storage = |b: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
            binding: b,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let uniform = wgpu::BindGroupLayoutEntry {
            binding: 3,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: true,
                min_binding_size: wgpu::BufferSize::new(PARAMS_BYTES),
            },
            count: None,
        };
        let base = [
            storage(0, true),
            storage(1, true),
            storage(2, false),
            uniform,
        ];
        // the 8-bit input (lanes kernels): its block scales at 4 (and alone, as vectors, at 8), its
        // values again at 7 (as vectors); MLX also its scales and biases at 5 and 6 (the unit
        // kernels leave the 8-bit input unread)
        let with_q8: Vec<_> = base
            .iter()
            .copied()
            .chain([4, 7, 8].map(|b| storage(b, true)))
            .collect();
        let with_mlx: Vec<_> = with_q8
            .iter()
            .copied()
            .chain([5, 6].map(|b| storage(b, true)))
            .collect();
        let layout_of = |entries: &[wgpu::BindGroupLayoutEntry]| {
            device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: None,
                entries,
            })
        };
        let layout = layout_of(&base);
        let layout_mlx = layout_of(&with_mlx);
        let layout_q8 = layout_of(&with_q8);
        let lanes = LanesPolicy::from_env(info.backend);
        Ok(Some(Gpu {
            device,
            queue,
            info,
            limits,
            timestamps,
            layout,
            layout_mlx,
            layout_q8,
            lanes,
            pipelines: HashMap::new(),
            binding_cap: None,
            force: shape_from_env(),
            subgroup,
        }))
    }

    /// "name (backend, device type)".
    pub fn adapter_name(&self) -> String {
        format!(
            "{} ({:?}, {:?}, driver {} {})",
            self.info.name,
            self.info.backend,
            self.info.device_type,
            self.info.driver,
            self.info.driver_info
        )
    }

    pub fn backend_name(&self) -> String {
        format!("gpu-{:?}", self.info.backend).to_lowercase()
    }

    pub fn has_timestamps(&self) -> bool {
        self.timestamps
    }

    /// Run every dispatch at `shape` (benchmarks of the kernel shape; `None`: [`shape_for`]'s choice).
    /// `nr` falls back to 1 where the kernel has no several-row variant or rows read different inputs.
    pub fn set_shape(&mut self, shape: Option<Shape>) {
        self.force = shape.map(|s| Shape {
            tpr: s.tpr.min(s.wg),
            ..s
        });
    }

    /// The adapter's smallest subgroup size when subgroup reductions are on, else 0.
    pub fn subgroup_size(&self) -> u32 {
        self.subgroup
    }

    /// Reduce in workgroup memory even where subgroups are available (tests of the fallback).
    pub fn disable_subgroups(&mut self) {
        self.subgroup = 0;
    }

    /// The shape a product of `rows` rows of `w` runs at.
    /// Whether products of `enc` with rows of `k` weights dot their input quantized to 8 bits
    /// ([`quantize_input`]) at the current shape policy.
    pub fn quantizes_input(&self, enc: Encoding, k: u64) -> bool {
        let probe = Weight {
            name: String::new(),
            enc,
            rows: 1,
            k,
            row_bytes: 0,
            q: super::decode::Part::Synthetic {
                seed: 0,
                len: 0,
                ty: TensorType::U8,
            },
            scales: None,
            biases: None,
        };
        takes_q8(enc, self.shape(&probe, 1, 1))
    }

    fn shape(&self, w: &Weight, rows: u64, xmod: u64) -> Shape {
        // rows of at least 512 weights (shorter rows, the K cache's head_dim, ran faster on the
        // unit kernels: 15.6 against 29.8 µs per layer on the H100)
        if let Some(lk) =
            lanes_kernel(w.enc).filter(|lk| w.k.is_multiple_of(lk.block as u64) && w.k >= 512)
        {
            let pick = match (self.force, self.lanes) {
                (Some(f), _) if f.lanes => Some(f),
                (None, Some(on)) => Some(on.shape(w.enc, rows)),
                _ => None,
            };
            if let Some(s) = pick {
                // no more invocations than the row's blocks can keep busy, and at least 32 unless a
                // forced shape asks for fewer (tests: lavapipe's workgroups of 8 are one subgroup, as
                // 32 are on an NVIDIA GPU); rows that read their own input one per workgroup
                let qw = s.qw.clamp(1, max_qw(w.enc));
                let tpb = (lk.per_block / qw).max(1) as u64;
                let busy = (w.k / lk.block as u64).next_power_of_two() * tpb;
                let least = if self.force.is_some() && s.wg < 32 {
                    tpb
                } else {
                    32.max(tpb)
                };
                let wg = (s.wg as u64).min(busy).max(least) as u32;
                return Shape::lanes(wg, if xmod == 1 { s.nr } else { 1 })
                    .with_qw(qw)
                    .with_unroll(s.unroll.max(1))
                    .with_alt(s.alt);
            }
        }
        let f = match self.force {
            Some(f) if !f.lanes => f,
            _ => shape_for(w.enc, rows, w.k, xmod),
        };
        let nr = if xmod == 1 {
            f.nr.min(max_rows(w.enc))
        } else {
            1
        };
        Shape { nr, ..f }
    }

    fn pipeline(&mut self, enc: Encoding, shape: Shape) -> Result<String> {
        let key = format!("{enc:?}/{}/sg{}", shape.label(), self.subgroup);
        if !self.pipelines.contains_key(&key) {
            let src = kernel_source(enc, shape, self.subgroup)?;
            // SAFETY: the kernels index only inside their bindings: row addresses come from the
            // planned rows of each chunk (buffers padded to 16 bytes), x indices stay below the planned
            // x length; tests/measure_gpu.rs checks every kernel against the CPU reference. Runtime
            // bounds checks would otherwise cost a clamp per load in the timed loop.
            let module = unsafe {
                self.device.create_shader_module_trusted(
                    wgpu::ShaderModuleDescriptor {
                        label: Some(&key),
                        source: wgpu::ShaderSource::Wgsl(src.into()),
                    },
                    wgpu::ShaderRuntimeChecks::unchecked(),
                )
            };
            let bgl = if matches!(enc, Encoding::Mlx { .. }) {
                &self.layout_mlx
            } else if takes_q8(enc, shape) {
                &self.layout_q8
            } else {
                &self.layout
            };
            let pl = self
                .device
                .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                    label: None,
                    bind_group_layouts: &[Some(bgl)],
                    immediate_size: 0,
                });
            let p = self
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&key),
                    layout: Some(&pl),
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                });
            self.pipelines.insert(key.clone(), p);
        }
        Ok(key)
    }

    /// Largest buffer one binding may hold, rounded down to 4 bytes.
    pub fn max_binding(&self) -> u64 {
        let adapter = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
            & !3;
        self.binding_cap.map_or(adapter, |c| c.min(adapter))
    }

    /// Split tensors at `bytes` per binding instead of the adapter's limit (tests of the splitting).
    pub fn limit_binding(&mut self, bytes: u64) {
        self.binding_cap = Some(bytes.max(4) & !3);
    }

    fn upload(&self, label: &str, data: &[u8]) -> wgpu::Buffer {
        let size = (data.len() as u64).div_ceil(16).max(1) * 16;
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: true,
        });
        {
            let mut view = buf
                .slice(..)
                .get_mapped_range_mut()
                .expect("mapped at creation");
            if data.len() as u64 == size {
                view.copy_from_slice(data);
            } else {
                let mut padded = data.to_vec();
                padded.resize(size as usize, 0);
                view.copy_from_slice(&padded);
            }
        }
        buf.unmap();
        buf
    }

    /// The first `count` timestamps of `q`, in ticks, once the submitted work has finished.
    fn read_ticks(&self, q: &wgpu::QuerySet, count: u32) -> Result<Vec<u64>> {
        let size = 8 * count as u64;
        let resolve = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("resolve"),
            size: size.div_ceil(256) * 256,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.resolve_query_set(q, 0..count, &resolve, 0);
        self.queue.submit([enc.finish()]);
        let raw = self.read_back(&resolve, size)?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect())
    }

    fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu_err("poll", e))?;
        Ok(())
    }

    fn read_back(&self, src: &wgpu::Buffer, size: u64) -> Result<Vec<u8>> {
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(src, 0, &staging, 0, size);
        self.queue.submit([enc.finish()]);
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait()?;
        rx.recv()
            .map_err(|e| gpu_err("map", e))?
            .map_err(|e| gpu_err("map", e))?;
        let out = slice
            .get_mapped_range()
            .map_err(|e| gpu_err("map", e))?
            .to_vec();
        staging.unmap();
        Ok(out)
    }

    /// Device bandwidth through a compute shader copying 16-byte vectors: bytes read plus bytes written
    /// per second (GPU time from timestamps when available, best of 3 batches of 10 copies).
    pub fn shader_copy_bandwidth(&self, size: u64) -> Result<f64> {
        let size = (size & !15).max(16);
        let mk = |usage| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("copy"),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
        let a = mk(wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST);
        let b = mk(wgpu::BufferUsages::STORAGE);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("copy"),
                source: wgpu::ShaderSource::Wgsl(include_str!("kernels/copy.wgsl").into()),
            });
        let pipe = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some("copy"),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        let bg = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipe.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: a.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: b.as_entire_binding(),
                },
            ],
        });
        let groups = (size / 16).div_ceil(256);
        let gx = groups.min(65535);
        let gy = groups.div_ceil(gx);
        let reps = 10u32;
        let queries = self.timestamps.then(|| {
            self.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: None,
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            })
        });
        let mut best = f64::INFINITY;
        for round in 0..4 {
            let mut enc = self.device.create_command_encoder(&Default::default());
            {
                let tw = queries.as_ref().map(|q| wgpu::ComputePassTimestampWrites {
                    query_set: q,
                    beginning_of_pass_write_index: Some(0),
                    end_of_pass_write_index: Some(1),
                });
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    timestamp_writes: tw,
                });
                pass.set_pipeline(&pipe);
                pass.set_bind_group(0, &bg, &[]);
                for _ in 0..reps {
                    pass.dispatch_workgroups(gx as u32, gy as u32, 1);
                }
            }
            let start = Instant::now();
            self.queue.submit([enc.finish()]);
            self.wait()?;
            let wall = start.elapsed().as_secs_f64();
            let mut t = wall;
            if let Some(q) = &queries {
                let ticks = self.read_ticks(q, 2)?;
                let ts = ticks[1].saturating_sub(ticks[0]) as f64
                    * self.queue.get_timestamp_period() as f64
                    * 1e-9;
                if ts > 0.0 && ts <= wall * 1.01 {
                    t = ts;
                }
            }
            if round > 0 {
                best = best.min(t / reps as f64);
            }
        }
        Ok(2.0 * size as f64 / best)
    }

    /// Device copy bandwidth: bytes read plus bytes written per second by `copy_buffer_to_buffer` of a
    /// buffer of `size` bytes (best of 3 batches of 10 copies, wall clock around submit and wait).
    pub fn copy_bandwidth(&self, size: u64) -> Result<f64> {
        let size = (size & !3).max(4);
        let mk = |usage| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("copy"),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
        let a = mk(wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST);
        let b = mk(wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC);
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.clear_buffer(&a, 0, None);
        enc.copy_buffer_to_buffer(&a, 0, &b, 0, size);
        self.queue.submit([enc.finish()]);
        self.wait()?;
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let mut enc = self.device.create_command_encoder(&Default::default());
            for i in 0..10 {
                if i % 2 == 0 {
                    enc.copy_buffer_to_buffer(&a, 0, &b, 0, size);
                } else {
                    enc.copy_buffer_to_buffer(&b, 0, &a, 0, size);
                }
            }
            let start = Instant::now();
            self.queue.submit([enc.finish()]);
            self.wait()?;
            best = best.min(start.elapsed().as_secs_f64() / 10.0);
        }
        Ok(2.0 * size as f64 / best)
    }
}

struct Chunk {
    row_start: u64,
    rows: u64,
    /// Index of the buffer in [`Loaded::bufs`] holding these rows, from its row `base` on (several
    /// tensors of one fused run share a buffer, one after another, each with its bytes as stored).
    buf: usize,
    base: u64,
    scales: Option<wgpu::Buffer>,
    biases: Option<wgpu::Buffer>,
}

/// A plan uploaded to the device, ready to run tokens.
pub struct Loaded<'g> {
    gpu: &'g mut Gpu,
    chunks: Vec<Vec<Chunk>>,
    bufs: Vec<wgpu::Buffer>,
    x: wgpu::Buffer,
    /// The input quantized to 8-bit blocks of 32 (the 8-bit lanes kernels): values, then
    /// each block's (d, d·Σq), then the d alone (four to a 16-byte vector).
    xq: wgpu::Buffer,
    xd: wgpu::Buffer,
    xdv: wgpu::Buffer,
    /// `xq` in the order of [`split_pairs`] (MLX 4-bit lanes kernels), where the plan has such a
    /// weight.
    xp: Option<wgpu::Buffer>,
    y: wgpu::Buffer,
    xs: Vec<f32>,
    y_len: u64,
    /// Bytes allocated on the device.
    pub device_bytes: u64,
}

/// One dispatch: which weight chunk, its params, its grid.
struct Dispatch {
    w: usize,
    chunk: usize,
    shape: Shape,
    params: [u32; 8],
    groups: (u32, u32),
}

/// A run of dispatches ready to record ([`Loaded::prepare`]).
struct Prepared {
    /// Pipeline key of each dispatch, in order.
    keys: Vec<String>,
    /// The params buffer the bind groups point into (kept alive with them).
    _params: wgpu::Buffer,
    groups: HashMap<(usize, usize, bool), wgpu::BindGroup>,
}

impl Dispatch {
    /// Its bind group: (weight, chunk, whether it binds the 8-bit input).
    fn key(&self, plan: &Plan) -> (usize, usize, bool) {
        (
            self.w,
            self.chunk,
            takes_q8(plan.weights[self.w].enc, self.shape),
        )
    }
}

/// Products that read the same input in a real decode (so one dispatch may compute them together):
/// a layer's Q, K and V projections; its FFN gate and up.
fn fuse_class(k: Kind) -> Option<u8> {
    match k {
        Kind::AttnQ | Kind::AttnK | Kind::AttnV => Some(0),
        Kind::FfnGate | Kind::FfnUp => Some(1),
        _ => None,
    }
}

/// Runs of weights to upload into one buffer each, so that products over them, back to back in a
/// token, run as one dispatch: consecutive full-matrix products of token 0 of one layer's Q/K/V or
/// gate/up ([`fuse_class`]) with the same ggml type and row width, together within one binding. Each
/// tensor's bytes stay as stored, one tensor after the other. `HEADROOM_MEASURE_FUSE=0` turns this off.
fn fused_runs(plan: &Plan, max_binding: u64) -> Vec<Vec<usize>> {
    let mut in_run = vec![false; plan.weights.len()];
    let mut runs: Vec<Vec<usize>> = Vec::new();
    if std::env::var("HEADROOM_MEASURE_FUSE").as_deref() != Ok("0") {
        let ops = plan.token_ops(0);
        let mut cur: Vec<usize> = Vec::new();
        let mut bytes = 0u64;
        let fusable = |o: &MatVec| {
            let w = &plan.weights[o.w];
            o.xmod == 1 && o.row0 == 0 && o.rows == w.rows && matches!(w.enc, Encoding::Ggml(_))
        };
        for o in &ops {
            let w = &plan.weights[o.w];
            let joins = cur.last().is_some_and(|&l| {
                let p = &plan.weights[l];
                let (rp, rw) = (role(&p.name), role(&w.name));
                fuse_class(rp.kind).is_some()
                    && fuse_class(rp.kind) == fuse_class(rw.kind)
                    && rp.layer == rw.layer
                    && p.enc == w.enc
                    && p.k == w.k
                    && p.row_bytes == w.row_bytes
                    && bytes + w.q.len() <= max_binding
            });
            let ok = fusable(o) && !in_run[o.w];
            if ok && joins {
                cur.push(o.w);
                bytes += w.q.len();
            } else {
                if cur.len() > 1 {
                    runs.push(std::mem::take(&mut cur));
                }
                cur.clear();
                if ok && w.q.len() <= max_binding {
                    cur.push(o.w);
                    bytes = w.q.len();
                }
            }
            for &i in &cur {
                in_run[i] = true;
            }
        }
        // a weight that ended up alone is uploaded as usual
        for i in cur.iter().filter(|_| cur.len() == 1) {
            in_run[*i] = false;
        }
        if cur.len() > 1 {
            runs.push(cur);
        }
    }
    runs
}

impl Gpu {
    /// Upload every weight of `plan` (from `files` or synthetic), each split to the binding limit.
    /// `budget` bounds the bytes allocated (`reserve` more are allocated later: params, copy test);
    /// nothing is allocated when the plan would pass it.
    pub fn load<'g>(
        &'g mut self,
        plan: &Plan,
        files: Option<&Files>,
        budget: u64,
        reserve: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Loaded<'g>> {
        let (xn, yn) = plan.scratch();
        let need = plan.device_bytes() + reserve;
        if need > budget {
            return Err(Error::usage(format!(
                "the measured decode needs {:.2} GiB on the device (weights, KV cache, scratch), over the budget of {:.2} GiB",
                crate::units::gib(need),
                crate::units::gib(budget)
            )));
        }
        let mut rng = Rng::new(11);
        // a whole number of vec4s: the unit kernels bind x as array<vec4<f32>>
        let xs: Vec<f32> = (0..xn.max(1).div_ceil(4) * 4).map(|_| rng.unit()).collect();
        let x = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("x"),
                contents: bytemuck::cast_slice(&xs),
                usage: wgpu::BufferUsages::STORAGE,
            });
        let (qv, qd) = quantize_input(&xs);
        let init = |label: &str, contents: &[u8]| {
            self.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents,
                    usage: wgpu::BufferUsages::STORAGE,
                })
        };
        let xq = init("xq", &qv);
        let xd = init("xd", bytemuck::cast_slice(&qd));
        let mut dv: Vec<f32> = qd.iter().step_by(2).copied().collect();
        dv.resize(dv.len().div_ceil(4) * 4, 0.0);
        let xdv = init("xdv", bytemuck::cast_slice(&dv));
        let xp = plan
            .weights
            .iter()
            .any(|w| lanes_kernel(w.enc).is_some_and(|l| l.input == LanesInput::Q8Split))
            .then(|| init("xp", &split_pairs(&qv)));
        let max_binding = self.max_binding();
        let runs = fused_runs(plan, max_binding);
        // a fused dispatch writes the rows of its whole run
        let yn = runs
            .iter()
            .map(|r| r.iter().map(|&i| plan.weights[i].rows).sum::<u64>())
            .max()
            .unwrap_or(0)
            .max(yn);
        let y = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("y"),
            size: 4 * yn.max(1),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let total = plan.stored_bytes();
        let mut done = 0u64;
        let mut chunks: Vec<Vec<Chunk>> = (0..plan.weights.len()).map(|_| Vec::new()).collect();
        let mut bufs = Vec::new();
        for run in runs.iter().filter(|r| r.len() > 1) {
            let size: u64 = run.iter().map(|&i| plan.weights[i].q.len()).sum();
            let mut data = Vec::with_capacity(size as usize);
            let mut base = 0u64;
            for &i in run {
                let w = &plan.weights[i];
                data.extend_from_slice(load(files, &w.q, &w.name)?.as_slice());
                chunks[i].push(Chunk {
                    row_start: 0,
                    rows: w.rows,
                    buf: bufs.len(),
                    base,
                    scales: None,
                    biases: None,
                });
                base += w.rows;
                done += w.bytes();
                progress(done, total);
            }
            bufs.push(self.upload(&plan.weights[run[0]].name, &data));
        }
        for (wi, w) in plan.weights.iter().enumerate() {
            if !chunks[wi].is_empty() {
                continue;
            }
            let q = load(files, &w.q, &w.name)?;
            let s = w
                .scales
                .as_ref()
                .map(|p| load(files, p, &w.name))
                .transpose()?;
            let b = w
                .biases
                .as_ref()
                .map(|p| load(files, p, &w.name))
                .transpose()?;
            let rows_per = (max_binding / w.row_bytes.max(1)).clamp(1, w.rows.max(1));
            let mut list = Vec::new();
            let mut r = 0;
            while r < w.rows {
                let n = rows_per.min(w.rows - r);
                let part = |bytes: &Bytes<'_>, rb: u64| -> wgpu::Buffer {
                    self.upload(
                        &w.name,
                        &bytes.as_slice()[(r * rb) as usize..((r + n) * rb) as usize],
                    )
                };
                let srb = w.scale_row_bytes();
                bufs.push(part(&q, w.row_bytes));
                list.push(Chunk {
                    row_start: r,
                    rows: n,
                    buf: bufs.len() - 1,
                    base: 0,
                    scales: s.as_ref().map(|s| part(s, srb)),
                    biases: b.as_ref().map(|b| part(b, srb)),
                });
                r += n;
            }
            done += w.bytes();
            progress(done, total);
            chunks[wi] = list;
            // synthetic bytes are dropped here, one tensor at a time
        }
        self.wait()?;
        Ok(Loaded {
            gpu: self,
            chunks,
            bufs,
            x,
            xq,
            xd,
            xdv,
            xp,
            y,
            xs,
            y_len: yn,
            device_bytes: need,
        })
    }
}

/// Whether `HEADROOM_MEASURE_PROFILE=1` asks for a per-dispatch profile of one token (benchmarks).
pub fn profile_requested() -> bool {
    std::env::var("HEADROOM_MEASURE_PROFILE").as_deref() == Ok("1")
}

/// One dispatch of a profiled token ([`Loaded::profile_token`]).
#[derive(Debug, Clone)]
pub struct ProfileRow {
    pub name: String,
    pub enc: String,
    pub rows: u64,
    pub k: u64,
    /// Weight bytes the dispatch reads.
    pub bytes: u64,
    pub shape: String,
    pub seconds: f64,
}

/// Timing of a run of tokens.
#[derive(Debug, Clone, Copy)]
pub struct GpuRun {
    /// Seconds of GPU time (timestamps) or wall clock for the timed tokens.
    pub seconds: f64,
    pub wall_seconds: f64,
    pub timestamps: bool,
}

impl Loaded<'_> {
    fn dispatches(&self, plan: &Plan, ops: &[MatVec], out: &mut Vec<Dispatch>) {
        // (weight, chunk, rows, first row in the buffer, first row in the tensor, xmod, y0)
        let mut pieces: Vec<(usize, usize, u64, u64, u64, u64, u64)> = Vec::new();
        for op in ops {
            for (ci, c) in self.chunks[op.w].iter().enumerate() {
                let lo = op.row0.max(c.row_start);
                let hi = (op.row0 + op.rows).min(c.row_start + c.rows);
                if lo >= hi {
                    continue;
                }
                let row0 = lo - c.row_start + c.base;
                let y0 = lo - op.row0;
                // back to back with the previous product's rows in the same buffer: one dispatch
                if let Some(p) = pieces.last_mut() {
                    let pc = &self.chunks[p.0][p.1];
                    if pc.buf == c.buf
                        && p.0 != op.w
                        && p.5 == 1
                        && op.xmod == 1
                        && p.3 + p.2 == row0
                        && plan.weights[p.0].enc == plan.weights[op.w].enc
                        && matches!(plan.weights[op.w].enc, Encoding::Ggml(_))
                    {
                        p.2 += hi - lo;
                        continue;
                    }
                }
                pieces.push((op.w, ci, hi - lo, row0, lo, op.xmod, y0));
            }
        }
        for (wi, ci, n, row0, grow0, xmod, y0) in pieces {
            let w: &Weight = &plan.weights[wi];
            let shape = self.gpu.shape(w, n, xmod);
            let rpw = (shape.wg / shape.tpr) as u64 * shape.nr as u64;
            let groups = n.div_ceil(rpw);
            let gx = groups.min(65535);
            let gy = groups.div_ceil(gx);
            let srow = match w.enc {
                Encoding::Mlx { group, .. } => (w.k / group as u64) as u32,
                _ => 0,
            };
            out.push(Dispatch {
                w: wi,
                chunk: ci,
                shape,
                params: [
                    n as u32,
                    w.k as u32,
                    w.row_bytes as u32,
                    row0 as u32,
                    grow0 as u32,
                    xmod as u32,
                    y0 as u32,
                    srow,
                ],
                groups: (gx as u32, gy as u32),
            });
        }
    }

    fn bind(
        &self,
        plan: &Plan,
        w: usize,
        chunk: usize,
        q8: bool,
        pbuf: &wgpu::Buffer,
    ) -> wgpu::BindGroup {
        let c = &self.chunks[w][chunk];
        let enc = plan.weights[w].enc;
        // the input at 1: f32, or 8-bit (split for the kernels that take it so) with `xd` at 4
        let x = match lanes_kernel(enc).map(|l| l.input) {
            _ if !q8 => &self.x,
            Some(LanesInput::Q8Split) => self.xp.as_ref().unwrap_or(&self.xq),
            _ => &self.xq,
        };
        let params = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: pbuf,
            offset: 0,
            size: wgpu::BufferSize::new(PARAMS_BYTES),
        });
        let mut entries = vec![
            (0, self.bufs[c.buf].as_entire_binding()),
            (1, x.as_entire_binding()),
            (2, self.y.as_entire_binding()),
            (3, params),
        ];
        let layout = match (&c.scales, &c.biases, enc) {
            (Some(s), Some(b), Encoding::Mlx { .. }) => {
                entries.push((4, self.xd.as_entire_binding()));
                entries.push((5, s.as_entire_binding()));
                entries.push((6, b.as_entire_binding()));
                entries.push((7, x.as_entire_binding()));
                entries.push((8, self.xdv.as_entire_binding()));
                &self.gpu.layout_mlx
            }
            _ if q8 => {
                entries.push((4, self.xd.as_entire_binding()));
                entries.push((7, x.as_entire_binding()));
                entries.push((8, self.xdv.as_entire_binding()));
                &self.gpu.layout_q8
            }
            _ => &self.gpu.layout,
        };
        let entries: Vec<wgpu::BindGroupEntry> = entries
            .into_iter()
            .map(|(binding, resource)| wgpu::BindGroupEntry { binding, resource })
            .collect();
        self.gpu
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout,
                entries: &entries,
            })
    }

    /// What a run of dispatches binds: each one's params in its slot of one uniform buffer, its
    /// pipeline, and the bind groups of the weight chunks they read.
    fn prepare(&mut self, plan: &Plan, ds: &[&Dispatch]) -> Result<Prepared> {
        let mut params = vec![0u8; ds.len().max(1) * SLOT as usize];
        for (si, d) in ds.iter().enumerate() {
            let o = si * SLOT as usize;
            params[o..o + PARAMS_BYTES as usize].copy_from_slice(bytemuck::cast_slice(&d.params));
        }
        let mut keys = Vec::with_capacity(ds.len());
        for d in ds {
            keys.push(self.gpu.pipeline(plan.weights[d.w].enc, d.shape)?);
        }
        let pbuf = self
            .gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: &params,
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let mut groups: HashMap<(usize, usize, bool), wgpu::BindGroup> = HashMap::new();
        for d in ds {
            groups
                .entry(d.key(plan))
                .or_insert_with(|| self.bind(plan, d.w, d.chunk, d.key(plan).2, &pbuf));
        }
        Ok(Prepared {
            keys,
            _params: pbuf,
            groups,
        })
    }

    /// Record dispatch `d`, the `slot`-th of `p`'s run, into `pass`.
    fn record(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        plan: &Plan,
        p: &Prepared,
        d: &Dispatch,
        slot: usize,
    ) {
        pass.set_pipeline(&self.gpu.pipelines[&p.keys[slot]]);
        pass.set_bind_group(0, &p.groups[&d.key(plan)], &[(slot as u64 * SLOT) as u32]);
        pass.dispatch_workgroups(d.groups.0, d.groups.1, 1);
    }

    /// Run the tokens `first .. first + n` of `plan`, one command buffer and compute pass per token, all
    /// submitted together; returns the summed GPU time of the passes (timestamps) or the wall clock.
    pub fn run_tokens(&mut self, plan: &Plan, first: u32, n: u32) -> Result<GpuRun> {
        let mut per_token: Vec<Vec<Dispatch>> = Vec::with_capacity(n as usize);
        for t in first..first + n {
            let mut d = Vec::new();
            self.dispatches(plan, &plan.token_ops(t), &mut d);
            per_token.push(d);
        }
        let all: Vec<&Dispatch> = per_token.iter().flatten().collect();
        let bound = self.prepare(plan, &all)?;
        let gpu = &*self.gpu;
        let queries = gpu.timestamps.then(|| {
            gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("token-times"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * n.max(1),
            })
        });
        let mut cmds = Vec::with_capacity(n as usize);
        let mut slot = 0usize;
        for (ti, ds) in per_token.iter().enumerate() {
            let mut enc = gpu.device.create_command_encoder(&Default::default());
            {
                let tw = queries.as_ref().map(|q| wgpu::ComputePassTimestampWrites {
                    query_set: q,
                    beginning_of_pass_write_index: Some(2 * ti as u32),
                    end_of_pass_write_index: Some(2 * ti as u32 + 1),
                });
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("token"),
                    timestamp_writes: tw,
                });
                for d in ds {
                    self.record(&mut pass, plan, &bound, d, slot);
                    slot += 1;
                }
            }
            cmds.push(enc.finish());
        }
        let start = Instant::now();
        gpu.queue.submit(cmds);
        gpu.wait()?;
        let wall = start.elapsed().as_secs_f64();
        let mut seconds = wall;
        let mut used_ts = false;
        if let Some(q) = &queries {
            let ticks = gpu.read_ticks(q, 2 * n.max(1))?;
            let period = gpu.queue.get_timestamp_period() as f64 * 1e-9;
            let total: u64 = ticks
                .chunks_exact(2)
                .take(n as usize)
                .map(|c| c[1].saturating_sub(c[0]))
                .sum();
            let ts = total as f64 * period;
            // timestamps that read 0 or exceed the wall clock are unusable (seen on some drivers)
            if ts > 0.0 && ts <= wall * 1.01 {
                seconds = ts;
                used_ts = true;
            }
        }
        Ok(GpuRun {
            seconds,
            wall_seconds: wall,
            timestamps: used_ts,
        })
    }

    /// One token (`t`) with a timestamp after every dispatch (`HEADROOM_MEASURE_PROFILE`, benchmarks):
    /// each dispatch's weight, rows, bytes read, shape and GPU seconds. `Ok(None)` when the adapter
    /// cannot write timestamps inside a pass.
    pub fn profile_token(&mut self, plan: &Plan, t: u32) -> Result<Option<Vec<ProfileRow>>> {
        let inside = wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES;
        if !self.gpu.device.features().contains(inside) {
            return Ok(None);
        }
        let mut ds = Vec::new();
        self.dispatches(plan, &plan.token_ops(t), &mut ds);
        ds.truncate(4095);
        let bound = self.prepare(plan, &ds.iter().collect::<Vec<_>>())?;
        let gpu = &*self.gpu;
        let n = ds.len() as u32 + 1;
        let q = gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("dispatch-times"),
            ty: wgpu::QueryType::Timestamp,
            count: n,
        });
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("profile"),
                timestamp_writes: None,
            });
            pass.write_timestamp(&q, 0);
            for (slot, d) in ds.iter().enumerate() {
                self.record(&mut pass, plan, &bound, d, slot);
                pass.write_timestamp(&q, slot as u32 + 1);
            }
        }
        gpu.queue.submit([enc.finish()]);
        let ticks = gpu.read_ticks(&q, n)?;
        let period = gpu.queue.get_timestamp_period() as f64 * 1e-9;
        Ok(Some(
            ds.iter()
                .enumerate()
                .map(|(i, d)| {
                    let w = &plan.weights[d.w];
                    let rows = d.params[0] as u64;
                    ProfileRow {
                        name: w.name.clone(),
                        enc: w.enc.label(),
                        rows,
                        k: w.k,
                        bytes: rows * (w.row_bytes + 2 * w.scale_row_bytes()),
                        shape: d.shape.label(),
                        seconds: ticks[i + 1].saturating_sub(ticks[i]) as f64 * period,
                    }
                })
                .collect(),
        ))
    }

    /// Read the scratch output `y[0..n]` (for tests).
    pub fn read_y(&self, n: u64) -> Result<Vec<f32>> {
        let n = n.min(self.y_len);
        let raw = self.gpu.read_back(&self.y, 4 * n.max(1))?;
        Ok(raw
            .chunks_exact(4)
            .take(n as usize)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// The synthetic input vector `x` every product reads.
    pub fn x(&self) -> &[f32] {
        &self.xs
    }

    pub fn gpu(&self) -> &Gpu {
        self.gpu
    }

    /// See [`Gpu::set_shape`].
    pub fn set_shape(&mut self, shape: Option<Shape>) {
        self.gpu.set_shape(shape);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shapes that measured fastest for the Llama-3-8B products on an H100 (sweep of
    /// 2026-11-27, docs/benchmarks.md) are the ones the rule picks (within 5%, for a simpler rule:
    /// Q4_0 Q/K/V at 16 lanes, 20.1 against 19.3 µs at 32).
    #[test]
    fn shape_rule_picks_the_swept_winners() {
        let g = Encoding::Ggml;
        let cases = [
            (g(TensorType::Q4_0), 4096, 4096, 1, "128/32/4"),
            (g(TensorType::Q4_0), 6144, 4096, 1, "128/16/4"),
            (g(TensorType::Q4_0), 28672, 4096, 1, "128/4/4"),
            (g(TensorType::Q4_0), 4096, 14336, 1, "128/32/4"),
            (g(TensorType::Q4_K), 6144, 4096, 1, "256/16/4"),
            (g(TensorType::Q4_K), 4096, 4096, 1, "256/32/4"),
            (g(TensorType::Q4_K), 28672, 4096, 1, "256/4/4"),
            (g(TensorType::Q4_K), 4096, 14336, 1, "256/32/4"),
            (g(TensorType::Q6_K), 1024, 4096, 1, "128/32/2"),
            (g(TensorType::Q6_K), 4096, 14336, 1, "128/16/2"),
            (g(TensorType::Q6_K), 128256, 4096, 1, "128/4/2"),
            (g(TensorType::F16), 1024, 4096, 1, "128/32/1"),
            (g(TensorType::F16), 32768, 128, 8, "128/8/1"),
        ];
        for (enc, rows, k, xmod, want) in cases {
            let got = if rows >= BIG_ROWS {
                shape_for(enc, rows, k, xmod)
            } else {
                let ty = match enc {
                    Encoding::Ggml(t) => Some(t),
                    Encoding::Mlx { .. } => None,
                };
                per_product_shape(enc, ty, rows, xmod, MIN_THREADS)
            };
            assert_eq!(got.label(), want, "{enc:?} {rows}x{k}");
        }
    }

    /// The decode's products (fewer than `BIG_ROWS` rows) run at the one shape that measured fastest
    /// back to back in the full decode (docs/benchmarks.md, "The user's path").
    #[test]
    fn decode_products_run_at_one_shape() {
        for ty in [
            TensorType::Q4_0,
            TensorType::Q4_K,
            TensorType::Q8_0,
            TensorType::F16,
        ] {
            let s = shape_for(Encoding::Ggml(ty), 4096, 4096, 1);
            assert_eq!((s.wg, s.tpr, s.nr), (256, 16, 2), "{ty:?}");
            assert_eq!(shape_for(Encoding::Ggml(ty), 32768, 128, 8).nr, 1);
        }
    }
}
