//! cpudot: the CPU decode's fused dequant-dot kernels, one per block type, chosen at run time by the
//! CPU's features. A kernel reads a row in its stored layout and never materialises f32 weights.
//!
//! As llama.cpp's CPU backend does (`ggml_vec_dot_*` in `ggml-cpu/arch/x86/quants.c`, which these
//! kernels follow), the quantized types take their input vector quantized once per product: Q8_0 and
//! Q4_0 rows against 8-bit blocks of 32 (`d = amax/127`, [`ActKind::Q8_0`]), Q4_K and Q6_K rows against
//! 8-bit blocks of 256 with 16-element sums (`Q8_K`, [`ActKind::Q8K`]), so the inner loop is an integer
//! dot product (`vpmaddubsw`/`vpdpbusd`) and one f32 multiply-add per block. F32, F16 and BF16 rows
//! take the f32 input as is (F16C `vcvtph2ps` then FMA). Every other type falls back to the reference
//! [`dot_row_unchecked`] (decode one block to a stack array, then dot).
//!
//! Levels ([`Level`]): `Avx512` (AVX-512 F/BW/VL/VNNI: 512-bit Q8_0, Q4_0 and Q4_K kernels, the
//! rest as `Avx2`), `Avx2` (x86-64 with AVX2/FMA/F16C), `Scalar` (portable Rust with the same integer
//! arithmetic; what non-x86 targets run), `Reference` (the old path: [`dot_row_unchecked`] for every
//! type, f32 input). `HEADROOM_CPU_KERNELS=reference|scalar|avx2|avx512` forces a level (benchmarks,
//! before/after); a level the CPU lacks falls back to the best one it has.
//!
//! The 512-bit Q8_0/Q4_0 kernels read the stored layout as is (no repacking): two blocks per
//! register, the eight f16 scales of eight blocks converted by one `vcvtph2ps`, and one `vpdpbusd`
//! per two blocks on the weights made unsigned (Q8_0: `w ^ 0x80 = w + 128`; Q4_0: the raw nibbles),
//! the offset taken off once per row through the input's per-block `d·Σq` ([`Act::dsum`]). A first
//! 256-bit VNNI try that kept ggml's one-block-per-step loop and sign trick was slower than AVX2; this
//! layout runs 3× AVX2 in cache on Zen 5 (docs/benchmarks.md). The SIMD kernels prefetch 8 KiB ahead.
//!
//! Correctness (tests/measure_cpudot.rs): for every supported type on random blocks, each level's
//! fused dot equals dequantize-then-dot within the bound set by quantizing the input (exactly derived
//! per block: `Σ|w|·d_x/2`), and the SIMD levels equal the scalar level on the same quantized input.

use super::dequant::dot_row_unchecked;
use crate::model::TensorType;
use half::f16;
use std::sync::OnceLock;

/// Elements per block of the Q8_0 input.
pub const QK8_0: usize = 32;
/// Elements per block of the Q8_K input.
pub const QK_K: usize = 256;

/// How a kernel wants its input vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActKind {
    /// f32 as is.
    F32,
    /// 8-bit blocks of 32 with an f32 scale each.
    Q8_0,
    /// 8-bit blocks of 256 with an f32 scale and 16 sums of 16 each.
    Q8K,
}

/// A product's input vector, quantized for its kernel (buffers reused across products).
#[derive(Debug, Default, Clone)]
pub struct Act {
    pub qs: Vec<i8>,
    /// One scale per block.
    pub d: Vec<f32>,
    /// Q8_K only: sum of each 16 consecutive `qs`.
    pub bsums: Vec<i16>,
    /// Q8_0 only: `d · Σqs` of each block (the offset-binary kernels' correction term).
    pub dsum: Vec<f32>,
}

/// A window of `k` input elements: the f32 values and, for quantized kinds, their blocks.
#[derive(Debug, Clone, Copy)]
pub struct ActRef<'a> {
    pub x: &'a [f32],
    pub qs: &'a [i8],
    pub d: &'a [f32],
    pub bsums: &'a [i16],
    pub dsum: &'a [f32],
}

impl Act {
    /// Quantize `x` as `kind` wants (nothing for F32). `x.len()` must be whole blocks of the kind.
    pub fn quantize(&mut self, kind: ActKind, x: &[f32]) {
        match kind {
            ActKind::F32 => {}
            ActKind::Q8_0 => quantize_q8_0(x, self),
            ActKind::Q8K => quantize_q8_k(x, self),
        }
    }

    /// The window of `k` elements at element `offset` of `x` (block-aligned for quantized kinds).
    pub fn view<'a>(&'a self, kind: ActKind, x: &'a [f32], offset: usize, k: usize) -> ActRef<'a> {
        let x = &x[offset..offset + k];
        match kind {
            ActKind::F32 => ActRef {
                x,
                qs: &[],
                d: &[],
                bsums: &[],
                dsum: &[],
            },
            ActKind::Q8_0 => ActRef {
                x,
                qs: &self.qs[offset..offset + k],
                d: &self.d[offset / QK8_0..(offset + k) / QK8_0],
                bsums: &[],
                dsum: &self.dsum[offset / QK8_0..(offset + k) / QK8_0],
            },
            ActKind::Q8K => ActRef {
                x,
                qs: &self.qs[offset..offset + k],
                d: &self.d[offset / QK_K..(offset + k) / QK_K],
                bsums: &self.bsums[offset / 16..(offset + k) / 16],
                dsum: &[],
            },
        }
    }
}

/// ggml `quantize_row_q8_0_ref` (the scale kept in f32).
fn quantize_q8_0(x: &[f32], a: &mut Act) {
    a.qs.resize(x.len(), 0);
    a.d.resize(x.len() / QK8_0, 0.0);
    a.dsum.resize(x.len() / QK8_0, 0.0);
    a.bsums.clear();
    for (((xb, qb), d), ds) in x
        .chunks_exact(QK8_0)
        .zip(a.qs.chunks_exact_mut(QK8_0))
        .zip(a.d.iter_mut())
        .zip(a.dsum.iter_mut())
    {
        let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
        let dd = amax / 127.0;
        let id = if dd != 0.0 { 1.0 / dd } else { 0.0 };
        for (q, v) in qb.iter_mut().zip(xb) {
            *q = (v * id).round() as i8;
        }
        *d = dd;
        *ds = dd * qb.iter().map(|&q| q as i32).sum::<i32>() as f32;
    }
}

/// ggml `quantize_row_q8_K_ref`.
fn quantize_q8_k(x: &[f32], a: &mut Act) {
    a.qs.resize(x.len(), 0);
    a.d.resize(x.len() / QK_K, 0.0);
    a.bsums.resize(x.len() / 16, 0);
    a.dsum.clear();
    for (((xb, qb), d), bs) in x
        .chunks_exact(QK_K)
        .zip(a.qs.chunks_exact_mut(QK_K))
        .zip(a.d.iter_mut())
        .zip(a.bsums.chunks_exact_mut(QK_K / 16))
    {
        let (mut amax, mut max) = (0f32, 0f32);
        for &v in xb {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax == 0.0 {
            *d = 0.0;
            qb.fill(0);
            bs.fill(0);
            continue;
        }
        let iscale = -127.0 / max;
        for (q, v) in qb.iter_mut().zip(xb) {
            *q = ((iscale * v).round_ties_even() as i32).min(127) as i8;
        }
        for (s, q16) in bs.iter_mut().zip(qb.chunks_exact(16)) {
            *s = q16.iter().map(|&q| q as i16).sum();
        }
        *d = 1.0 / iscale;
    }
}

/// Which implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// [`dot_row_unchecked`] for every type (f32 input): the path before these kernels.
    Reference,
    /// Portable Rust, integer dot products on quantized input.
    Scalar,
    /// x86-64 AVX2 + FMA + F16C.
    Avx2,
    /// x86-64 AVX-512 (F, BW, VL) with VNNI, on top of `Avx2`: 512-bit `vpdpbusd` kernels for
    /// Q8_0 and Q4_0 (two blocks per register, weights offset to unsigned bytes); the other types
    /// run their `Avx2` kernels.
    Avx512,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Reference => "reference",
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

/// Every level this CPU can run, in increasing speed.
pub fn available_levels() -> Vec<Level> {
    #[allow(unused_mut)] // pushed to on x86-64 only
    let mut v = vec![Level::Reference, Level::Scalar];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
        {
            v.push(Level::Avx2);
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vl")
                && std::arch::is_x86_feature_detected!("avx512vnni")
            {
                v.push(Level::Avx512);
            }
        }
    }
    v
}

/// The level the decode uses: the best available, or `HEADROOM_CPU_KERNELS` when it names an
/// available one.
pub fn level() -> Level {
    static L: OnceLock<Level> = OnceLock::new();
    *L.get_or_init(|| {
        let avail = available_levels();
        let best = *avail.last().unwrap_or(&Level::Scalar);
        match std::env::var("HEADROOM_CPU_KERNELS") {
            Ok(s) => avail
                .iter()
                .copied()
                .find(|l| l.name() == s)
                .unwrap_or(best),
            Err(_) => best,
        }
    })
}

type DotFn = fn(&[u8], &ActRef<'_>) -> f32;

/// A row kernel for one weight type.
#[derive(Clone, Copy)]
pub enum Kernel {
    Fast { f: DotFn, act: ActKind },
    Reference(TensorType),
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kernel::Fast { act, .. } => write!(f, "Fast({act:?})"),
            Kernel::Reference(t) => write!(f, "Reference({t})"),
        }
    }
}

impl Kernel {
    /// The kernel for `ty` at the decode's [`level`].
    pub fn for_type(ty: TensorType) -> Kernel {
        Kernel::at(ty, level())
    }

    /// The kernel for `ty` at `lvl`; a level this CPU lacks gives the scalar kernel.
    pub fn at(ty: TensorType, lvl: Level) -> Kernel {
        let lvl = if available_levels().contains(&lvl) {
            lvl
        } else {
            Level::Scalar
        };
        let fast = |f: DotFn, act| Kernel::Fast { f, act };
        use ActKind::*;
        use TensorType as T;
        match (lvl, ty) {
            (Level::Reference, _) => Kernel::Reference(ty),
            #[cfg(target_arch = "x86_64")]
            (Level::Avx512, T::Q8_0) => fast(x86::q8_0_avx512, Q8_0),
            #[cfg(target_arch = "x86_64")]
            (Level::Avx512, T::Q4_0) => fast(x86::q4_0_avx512, Q8_0),
            #[cfg(target_arch = "x86_64")]
            (Level::Avx2 | Level::Avx512, T::F32 | T::F16 | T::BF16) => fast(
                match ty {
                    T::F32 => x86::f32_avx2,
                    T::F16 => x86::f16_avx2,
                    _ => x86::bf16_avx2,
                },
                F32,
            ),
            #[cfg(target_arch = "x86_64")]
            (Level::Avx2, T::Q8_0) => fast(x86::q8_0_avx2, Q8_0),
            #[cfg(target_arch = "x86_64")]
            (Level::Avx2, T::Q4_0) => fast(x86::q4_0_avx2, Q8_0),
            #[cfg(target_arch = "x86_64")]
            (Level::Avx2, T::Q4_K) => fast(x86::q4_k_avx2, Q8K),
            #[cfg(target_arch = "x86_64")]
            (Level::Avx512, T::Q4_K) => fast(x86::q4_k_avx512, Q8K),
            #[cfg(target_arch = "x86_64")]
            (Level::Avx2, T::Q6_K) => fast(x86::q6_k_avx2, Q8K),
            #[cfg(target_arch = "x86_64")]
            (Level::Avx512, T::Q6_K) => fast(x86::q6_k_avx512, Q8K),
            (_, T::Q8_0) => fast(scalar::q8_0, Q8_0),
            (_, T::Q4_0) => fast(scalar::q4_0, Q8_0),
            (_, T::Q4_K) => fast(scalar::q4_k, Q8K),
            (_, T::Q6_K) => fast(scalar::q6_k, Q8K),
            _ => Kernel::Reference(ty),
        }
    }

    /// How this kernel wants its input.
    pub fn act(&self) -> ActKind {
        match self {
            Kernel::Fast { act, .. } => *act,
            Kernel::Reference(_) => ActKind::F32,
        }
    }

    /// `Σ w·x` over one row (`a.x.len()` elements; the row is whole blocks of its type).
    #[inline]
    pub fn dot(&self, row: &[u8], a: &ActRef<'_>) -> f32 {
        match self {
            Kernel::Fast { f, .. } => f(row, a),
            Kernel::Reference(ty) => dot_row_unchecked(*ty, row, a.x),
        }
    }
}

#[inline(always)]
fn h2f(b: &[u8], o: usize) -> f32 {
    f16::from_le_bytes([b[o], b[o + 1]]).to_f32()
}

/// Portable kernels: the same integer arithmetic as the SIMD ones.
mod scalar {
    use super::{ActRef, QK_K, QK8_0, h2f};

    pub fn q8_0(w: &[u8], a: &ActRef<'_>) -> f32 {
        let mut s = 0f32;
        for ((b, q), d) in w.chunks_exact(34).zip(a.qs.chunks_exact(QK8_0)).zip(a.d) {
            let sumi: i32 = b[2..34]
                .iter()
                .zip(q)
                .map(|(&w, &y)| (w as i8) as i32 * y as i32)
                .sum();
            s += h2f(b, 0) * d * sumi as f32;
        }
        s
    }

    pub fn q4_0(w: &[u8], a: &ActRef<'_>) -> f32 {
        let mut s = 0f32;
        for ((b, q), d) in w.chunks_exact(18).zip(a.qs.chunks_exact(QK8_0)).zip(a.d) {
            let mut sumi = 0i32;
            for j in 0..16 {
                sumi += ((b[2 + j] & 0xF) as i32 - 8) * q[j] as i32
                    + ((b[2 + j] >> 4) as i32 - 8) * q[j + 16] as i32;
            }
            s += h2f(b, 0) * d * sumi as f32;
        }
        s
    }

    pub fn q4_k(w: &[u8], a: &ActRef<'_>) -> f32 {
        let mut s = 0f32;
        for (((b, q), d), bs) in w
            .chunks_exact(144)
            .zip(a.qs.chunks_exact(QK_K))
            .zip(a.d)
            .zip(a.bsums.chunks_exact(16))
        {
            let sc = &b[4..16];
            let mut sumi = 0i32;
            let mut summ = 0i32;
            for j in 0..8 {
                let (scale, min) = if j < 4 {
                    ((sc[j] & 63) as i32, (sc[j + 4] & 63) as i32)
                } else {
                    (
                        ((sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4)) as i32,
                        ((sc[j + 4] >> 4) | ((sc[j] >> 6) << 4)) as i32,
                    )
                };
                let qs = &b[16 + 32 * (j / 2)..16 + 32 * (j / 2) + 32];
                let shift = 4 * (j % 2);
                let dot: i32 = qs
                    .iter()
                    .zip(&q[32 * j..32 * j + 32])
                    .map(|(&w, &y)| ((w >> shift) & 0xF) as i32 * y as i32)
                    .sum();
                sumi += scale * dot;
                summ += min * (bs[2 * j] as i32 + bs[2 * j + 1] as i32);
            }
            s += d * (h2f(b, 0) * sumi as f32 - h2f(b, 2) * summ as f32);
        }
        s
    }

    pub fn q6_k(w: &[u8], a: &ActRef<'_>) -> f32 {
        let mut s = 0f32;
        for ((b, q), d) in w.chunks_exact(210).zip(a.qs.chunks_exact(QK_K)).zip(a.d) {
            let mut sumi = 0i32;
            for n in 0..2 {
                let ql = &b[64 * n..64 * n + 64];
                let qh = &b[128 + 32 * n..128 + 32 * n + 32];
                let sc = &b[192 + 8 * n..192 + 8 * n + 8];
                let y = &q[128 * n..128 * n + 128];
                let mut sub = [0i32; 8];
                for l in 0..32 {
                    let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
                    let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                    let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                    let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                    let is = l / 16;
                    sub[is] += q1 * y[l] as i32;
                    sub[is + 2] += q2 * y[l + 32] as i32;
                    sub[is + 4] += q3 * y[l + 64] as i32;
                    sub[is + 6] += q4 * y[l + 96] as i32;
                }
                for (v, &c) in sub.iter().zip(sc) {
                    sumi += v * (c as i8) as i32;
                }
            }
            s += h2f(b, 208) * d * sumi as f32;
        }
        s
    }
}

/// x86-64 kernels. Each `*_avx2` wrapper is only reachable through [`Kernel::at`], which
/// hands it out only when [`available_levels`] found the features its body is compiled for.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{ActRef, QK_K, QK8_0, f16};
    use half::bf16;
    use std::arch::x86_64::*;

    /// `(2i, 2i+1)` repeated: broadcast the i-th i16 of a 128-bit lane (ggml `get_scale_shuffle_k4`).
    static SHUF_K4: [[u8; 32]; 8] = {
        let mut t = [[0u8; 32]; 8];
        let mut i = 0;
        while i < 8 {
            let mut j = 0;
            while j < 16 {
                t[i][2 * j] = 2 * i as u8;
                t[i][2 * j + 1] = 2 * i as u8 + 1;
                j += 1;
            }
            i += 1;
        }
        t
    };

    /// `2i` eight times then `2i+1` eight times (ggml `get_scale_shuffle`).
    static SHUF_Q6: [[u8; 16]; 8] = {
        let mut t = [[0u8; 16]; 8];
        let mut i = 0;
        while i < 8 {
            let mut j = 0;
            while j < 8 {
                t[i][j] = 2 * i as u8;
                t[i][j + 8] = 2 * i as u8 + 1;
                j += 1;
            }
            i += 1;
        }
        t
    };

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// How far ahead of the bytes being read the kernels prefetch (bytes). Rows are contiguous in a
    /// work item, so this reaches into the next rows; past the matrix the hint is harmless (the
    /// address is only formed with `wrapping_add`, never read). On the Zen 5 machine of
    /// docs/benchmarks.md: with the host at ~45 GB/s, 2–16 KiB were within noise of each other and
    /// 10–20% over none; at ~75 GB/s 8 KiB beat 2 KiB by ~10% (more bytes in flight per core).
    const PREFETCH: usize = 8192;

    /// Prefetch `lines` cache lines starting `PREFETCH` bytes past `p + o`.
    #[inline(always)]
    fn prefetch(p: *const u8, o: usize, lines: usize) {
        for l in 0..lines {
            // SAFETY: a prefetch never faults and reads nothing into the program
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(o + PREFETCH + 64 * l).cast());
            }
        }
    }

    /// The little-endian u32 at `w[o..o + 4]`.
    #[inline(always)]
    fn le32(w: &[u8], o: usize) -> u32 {
        let b = &w[o..o + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The f16 at `w[o..o + 2]` as f32 (F16C).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn h2f(w: &[u8], o: usize) -> f32 {
        let bits = u16::from_le_bytes([w[o], w[o + 1]]);
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
    }

    /// Sums of four adjacent u8×i8 products, as i32 (`vpmaddubsw` then `vpmaddwd` by ones).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn us8_avx2(ax: __m256i, sy: __m256i) -> __m256i {
        _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1))
    }

    macro_rules! q8_kernels {
        ($q8:ident, $q4:ident, $feat:literal, $us8:ident) => {
            /// Q8_0 × Q8_0 (ggml `ggml_vec_dot_q8_0_q8_0`, AVX2 branch).
            #[target_feature(enable = $feat)]
            fn $q8(w: &[u8], a: &ActRef<'_>) -> f32 {
                let nb = a.qs.len() / QK8_0;
                assert!(w.len() >= 34 * nb && a.d.len() >= nb);
                let (wp, yp) = (w.as_ptr(), a.qs.as_ptr());
                let mut acc = [_mm256_setzero_ps(); 2];
                for i in 0..nb {
                    let o = 34 * i;
                    prefetch(wp, o, 1);
                    let d = _mm256_set1_ps(h2f(w, o) * a.d[i]);
                    // SAFETY: 32 bytes at o+2 end at 34(i+1) <= w.len(); 32 at 32i end <= qs.len()
                    let (qx, qy) = unsafe {
                        (
                            _mm256_loadu_si256(wp.add(o + 2) as *const __m256i),
                            _mm256_loadu_si256(yp.add(32 * i) as *const __m256i),
                        )
                    };
                    let ax = _mm256_sign_epi8(qx, qx);
                    let sy = _mm256_sign_epi8(qy, qx);
                    let p = _mm256_cvtepi32_ps($us8(ax, sy));
                    acc[i & 1] = _mm256_fmadd_ps(d, p, acc[i & 1]);
                }
                hsum(_mm256_add_ps(acc[0], acc[1]))
            }

            /// Q4_0 × Q8_0 (ggml `ggml_vec_dot_q4_0_q8_0`, AVX2 branch).
            #[target_feature(enable = $feat)]
            fn $q4(w: &[u8], a: &ActRef<'_>) -> f32 {
                let nb = a.qs.len() / QK8_0;
                assert!(w.len() >= 18 * nb && a.d.len() >= nb);
                let (wp, yp) = (w.as_ptr(), a.qs.as_ptr());
                let m4 = _mm256_set1_epi8(0xF);
                let off = _mm256_set1_epi8(8);
                let mut acc = [_mm256_setzero_ps(); 2];
                for i in 0..nb {
                    let o = 18 * i;
                    prefetch(wp, o, 1);
                    let d = _mm256_set1_ps(h2f(w, o) * a.d[i]);
                    // SAFETY: 16 bytes at o+2 end at 18(i+1) <= w.len(); 32 at 32i end <= qs.len()
                    let (t, qy) = unsafe {
                        (
                            _mm_loadu_si128(wp.add(o + 2) as *const __m128i),
                            _mm256_loadu_si256(yp.add(32 * i) as *const __m256i),
                        )
                    };
                    let bytes = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16::<4>(t), t), m4);
                    let qx = _mm256_sub_epi8(bytes, off);
                    let ax = _mm256_sign_epi8(qx, qx);
                    let sy = _mm256_sign_epi8(qy, qx);
                    let p = _mm256_cvtepi32_ps($us8(ax, sy));
                    acc[i & 1] = _mm256_fmadd_ps(d, p, acc[i & 1]);
                }
                hsum(_mm256_add_ps(acc[0], acc[1]))
            }
        };
    }

    q8_kernels!(q8_0_a2, q4_0_a2, "avx2,fma,f16c", us8_avx2);

    /// The 8 f16 scales at `p`, `p + stride`, ... as f32 (F16C).
    ///
    /// # Safety
    /// `p + 7·stride + 2` bytes must be readable.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scales8(p: *const u8, stride: usize) -> __m256 {
        // SAFETY: the caller's range
        let h = |j: usize| unsafe { (p.add(j * stride) as *const u16).read_unaligned() } as i16;
        _mm256_cvtph_ps(_mm_set_epi16(
            h(7),
            h(6),
            h(5),
            h(4),
            h(3),
            h(2),
            h(1),
            h(0),
        ))
    }

    /// Lane indices that spread scale `2p` over lanes 0-7 and `2p + 1` over lanes 8-15.
    static IDX_Q8: [[i32; 16]; 4] = {
        let mut t = [[0i32; 16]; 4];
        let mut p = 0;
        while p < 4 {
            let mut l = 0;
            while l < 16 {
                t[p][l] = (2 * p + l / 8) as i32;
                l += 1;
            }
            p += 1;
        }
        t
    };

    /// Lane indices that spread scale `4q + b` over lanes `4b..4b+4` (Q4_0, four blocks per register).
    static IDX_Q4: [[i32; 16]; 2] = {
        let mut t = [[0i32; 16]; 2];
        let mut q = 0;
        while q < 2 {
            let mut l = 0;
            while l < 16 {
                t[q][l] = (4 * q + l / 4) as i32;
                l += 1;
            }
            q += 1;
        }
        t
    };

    /// The integer dot of one Q8_0-input block with 32 signed weight bytes (tails).
    #[inline]
    fn dot_i8(w: &[u8], y: &[i8]) -> i32 {
        w.iter()
            .zip(y)
            .map(|(&a, &b)| (a as i8) as i32 * b as i32)
            .sum()
    }

    /// Q8_0 × Q8_0 with 512-bit VNNI. The weights are flipped to offset binary (`w ^ 0x80 =
    /// w + 128` as u8) so one `vpdpbusd` does the signed product: `Σ(w+128)·y = Σw·y + 128·Σy`,
    /// and the `128·Σy` part comes off at the end through the input's `d·Σy` per block.
    /// Eight blocks per step: their scales converted in one `vcvtph2ps`, two blocks per register.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    fn q8_0_512(w: &[u8], a: &ActRef<'_>) -> f32 {
        let nb = a.qs.len() / QK8_0;
        assert!(w.len() >= 34 * nb && a.d.len() >= nb && a.dsum.len() >= nb);
        let (wp, yp) = (w.as_ptr(), a.qs.as_ptr());
        let flip = _mm512_set1_epi8(-128);
        // SAFETY: static tables of 16 i32
        let idx: [__m512i; 4] =
            std::array::from_fn(|p| unsafe { _mm512_loadu_si512(IDX_Q8[p].as_ptr().cast()) });
        let mut acc = [_mm512_setzero_ps(); 2];
        let mut corr = _mm256_setzero_ps();
        let mut i = 0;
        while i + 8 <= nb {
            let o = 34 * i;
            prefetch(wp, o, 5);
            // SAFETY: blocks i..i+8 lie within w (34 bytes each) and qs/d/dsum (checked above)
            unsafe {
                let dw = scales8(wp.add(o), 34);
                let s = _mm256_mul_ps(dw, _mm256_loadu_ps(a.d.as_ptr().add(i)));
                corr = _mm256_fmadd_ps(dw, _mm256_loadu_ps(a.dsum.as_ptr().add(i)), corr);
                let s = _mm512_castps256_ps512(s);
                for (p, ix) in idx.iter().enumerate() {
                    let b = o + 68 * p;
                    let lo = _mm256_loadu_si256(wp.add(b + 2).cast());
                    let hi = _mm256_loadu_si256(wp.add(b + 36).cast());
                    let wz = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi);
                    let y = _mm512_loadu_si512(yp.add(32 * i + 64 * p).cast());
                    let dp =
                        _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_xor_si512(wz, flip), y);
                    let sv = _mm512_permutexvar_ps(*ix, s);
                    acc[p & 1] = _mm512_fmadd_ps(sv, _mm512_cvtepi32_ps(dp), acc[p & 1]);
                }
            }
            i += 8;
        }
        let mut sum = _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1])) - 128.0 * hsum(corr);
        for j in i..nb {
            let o = 34 * j;
            sum +=
                h2f(w, o) * a.d[j] * dot_i8(&w[o + 2..o + 34], &a.qs[32 * j..32 * j + 32]) as f32;
        }
        sum
    }

    /// Q4_0 × Q8_0 with 512-bit VNNI: the nibbles (0..15) are the unsigned operand as stored, the
    /// `−8` offset comes off at the end as `8·Σy`. Four blocks per step: their 16 nibble bytes side by
    /// side in one register, low nibbles then high nibbles against the input's matching 16-byte
    /// quarters (two `vshufi64x2`), both products into one accumulator (lanes `4b..4b+4` = block `b`).
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    fn q4_0_512(w: &[u8], a: &ActRef<'_>) -> f32 {
        let nb = a.qs.len() / QK8_0;
        assert!(w.len() >= 18 * nb && a.d.len() >= nb && a.dsum.len() >= nb);
        let (wp, yp) = (w.as_ptr(), a.qs.as_ptr());
        let m4 = _mm512_set1_epi8(0xF);
        // SAFETY: static tables of 16 i32
        let idx: [__m512i; 2] =
            std::array::from_fn(|q| unsafe { _mm512_loadu_si512(IDX_Q4[q].as_ptr().cast()) });
        let mut acc = [_mm512_setzero_ps(); 2];
        let mut corr = _mm256_setzero_ps();
        let mut i = 0;
        while i + 8 <= nb {
            let o = 18 * i;
            prefetch(wp, o, 3);
            // SAFETY: blocks i..i+8 lie within w (18 bytes each) and qs/d/dsum (checked above)
            unsafe {
                let dw = scales8(wp.add(o), 18);
                let s = _mm256_mul_ps(dw, _mm256_loadu_ps(a.d.as_ptr().add(i)));
                corr = _mm256_fmadd_ps(dw, _mm256_loadu_ps(a.dsum.as_ptr().add(i)), corr);
                let s = _mm512_castps256_ps512(s);
                for (q, ix) in idx.iter().enumerate() {
                    let b = o + 72 * q;
                    let z = _mm512_castsi128_si512(_mm_loadu_si128(wp.add(b + 2).cast()));
                    let z = _mm512_inserti32x4::<1>(z, _mm_loadu_si128(wp.add(b + 20).cast()));
                    let z = _mm512_inserti32x4::<2>(z, _mm_loadu_si128(wp.add(b + 38).cast()));
                    let z = _mm512_inserti32x4::<3>(z, _mm_loadu_si128(wp.add(b + 56).cast()));
                    let y0 = _mm512_loadu_si512(yp.add(32 * i + 128 * q).cast());
                    let y1 = _mm512_loadu_si512(yp.add(32 * i + 128 * q + 64).cast());
                    let ylo = _mm512_shuffle_i64x2::<0b10_00_10_00>(y0, y1);
                    let yhi = _mm512_shuffle_i64x2::<0b11_01_11_01>(y0, y1);
                    let dp =
                        _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(z, m4), ylo);
                    let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(z), m4);
                    let dp = _mm512_dpbusd_epi32(dp, hi, yhi);
                    let sv = _mm512_permutexvar_ps(*ix, s);
                    acc[q] = _mm512_fmadd_ps(sv, _mm512_cvtepi32_ps(dp), acc[q]);
                }
            }
            i += 8;
        }
        let mut sum = _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1])) - 8.0 * hsum(corr);
        for j in i..nb {
            let (o, y) = (18 * j, &a.qs[32 * j..32 * j + 32]);
            let mut sumi = 0i32;
            for l in 0..16 {
                sumi += ((w[o + 2 + l] & 0xF) as i32 - 8) * y[l] as i32
                    + ((w[o + 2 + l] >> 4) as i32 - 8) * y[l + 16] as i32;
            }
            sum += h2f(w, o) * a.d[j] * sumi as f32;
        }
        sum
    }

    /// `(sc[4h + 2·hi], sc[4h + 2 + 2·hi])`: i16 lane indices spreading Q4_K's sub-block scales over
    /// the 16-lane halves of a register for half `h` of a super-block, low (`hi = 0`) or high nibbles.
    static IDX_K4: [[[i16; 32]; 2]; 2] = {
        let mut t = [[[0i16; 32]; 2]; 2];
        let mut h = 0;
        while h < 2 {
            let mut n = 0;
            while n < 2 {
                let mut l = 0;
                while l < 32 {
                    t[h][n][l] = (4 * h + n + 2 * (l / 16)) as i16;
                    l += 1;
                }
                n += 1;
            }
            h += 1;
        }
        t
    };

    /// Q4_K × Q8_K with 512-bit registers: 64 bytes of nibbles (four sub-blocks) per step, the
    /// input's 16-byte quarters shuffled to the nibbles' order, `vpmaddubsw` then `vpdpwssd` by the
    /// sub-block scales (the scale multiply and the accumulation in one instruction); the mins as in
    /// the AVX2 kernel.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    fn q4_k_512(w: &[u8], a: &ActRef<'_>) -> f32 {
        const KMASK1: u32 = 0x3f3f_3f3f;
        const KMASK2: u32 = 0x0f0f_0f0f;
        const KMASK3: u32 = 0x0303_0303;
        let nb = a.qs.len() / QK_K;
        assert!(w.len() >= 144 * nb && a.d.len() >= nb && a.bsums.len() >= 16 * nb);
        let (wp, yp, sp) = (w.as_ptr(), a.qs.as_ptr(), a.bsums.as_ptr());
        let m4 = _mm512_set1_epi8(0xF);
        // SAFETY: static tables of 32 i16
        let idx: [[__m512i; 2]; 2] = std::array::from_fn(|h| {
            std::array::from_fn(|n| unsafe { _mm512_loadu_si512(IDX_K4[h][n].as_ptr().cast()) })
        });
        let mut acc = _mm512_setzero_ps();
        let mut acc_m = _mm_setzero_ps();
        for i in 0..nb {
            let o = 144 * i;
            prefetch(wp, o, 3);
            // SAFETY: 16 bytes at o end <= o + 144 <= w.len() (checked above); read as one array so the
            // scale words need no bounds checks
            let head = unsafe { (wp.add(o) as *const [u8; 16]).read_unaligned() };
            let dd = _mm_cvtph_ps(_mm_cvtsi32_si128(i32::from_le_bytes([
                head[0], head[1], head[2], head[3],
            ])));
            let d = a.d[i] * _mm_cvtss_f32(dd);
            let dmin = -a.d[i] * _mm_cvtss_f32(_mm_movehdup_ps(dd));
            let (u0, u1, u2) = (le32(&head, 4), le32(&head, 8), le32(&head, 12));
            let mins_lo = u1 & KMASK1;
            let mins_hi = ((u2 >> 4) & KMASK2) | (((u1 >> 6) & KMASK3) << 4);
            let sc_lo = u0 & KMASK1;
            let sc_hi = (u2 & KMASK2) | (((u0 >> 6) & KMASK3) << 4);
            let scales = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_set_epi32(
                0,
                0,
                sc_hi as i32,
                sc_lo as i32,
            )));
            let mins = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, mins_hi as i32, mins_lo as i32));
            // SAFETY: 16 i16 at 16i end <= bsums.len()
            let q8sums = unsafe { _mm256_loadu_si256(sp.add(16 * i) as *const __m256i) };
            let q8s = _mm_hadd_epi16(
                _mm256_extracti128_si256::<0>(q8sums),
                _mm256_extracti128_si256::<1>(q8sums),
            );
            acc_m = _mm_fmadd_ps(
                _mm_set1_ps(dmin),
                _mm_cvtepi32_ps(_mm_madd_epi16(mins, q8s)),
                acc_m,
            );
            let mut sumi = _mm512_setzero_si512();
            for (h, ix) in idx.iter().enumerate() {
                // SAFETY: 64 bytes at o+16+64h end <= o+144; 128 at 256i+128h end <= qs.len()
                let (q4, y0, y1) = unsafe {
                    (
                        _mm512_loadu_si512(wp.add(o + 16 + 64 * h).cast()),
                        _mm512_loadu_si512(yp.add(256 * i + 128 * h).cast()),
                        _mm512_loadu_si512(yp.add(256 * i + 128 * h + 64).cast()),
                    )
                };
                let lo = _mm512_and_si512(q4, m4);
                let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(q4), m4);
                let ylo = _mm512_shuffle_i64x2::<0b01_00_01_00>(y0, y1);
                let yhi = _mm512_shuffle_i64x2::<0b11_10_11_10>(y0, y1);
                let slo = _mm512_permutexvar_epi16(ix[0], scales);
                let shi = _mm512_permutexvar_epi16(ix[1], scales);
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(lo, ylo), slo);
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(hi, yhi), shi);
            }
            acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
        }
        let m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
        let m = _mm_add_ss(m, _mm_movehdup_ps(m));
        _mm512_reduce_add_ps(acc) + _mm_cvtss_f32(m)
    }

    /// i16 lane indices for Q6_K, both halves of a super-block in one register: for the `k`-th
    /// 32-element quarter of each half, lanes 0–15 take the half-0 scales `2k`, `2k + 1` (16 elements
    /// each), lanes 16–31 the half-1 scales `8 + 2k`, `8 + 2k + 1`.
    static IDX_Q6: [[i16; 32]; 4] = {
        let mut t = [[0i16; 32]; 4];
        let mut k = 0;
        while k < 4 {
            let mut l = 0;
            while l < 32 {
                t[k][l] = ((l / 16) * 8 + 2 * k + (l % 16) / 8) as i16;
                l += 1;
            }
            k += 1;
        }
        t
    };

    /// Q6_K × Q8_K with 512-bit registers: the two 128-element halves of a super-block side by side
    /// (ggml's AVX2 arithmetic at twice the width), `vpmaddubsw` then `vpdpwssd` by the 16-element
    /// scales; the `−32` offset through the input's 16-element sums as in the AVX2 kernel.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
    fn q6_k_512(w: &[u8], a: &ActRef<'_>) -> f32 {
        let nb = a.qs.len() / QK_K;
        assert!(w.len() >= 210 * nb && a.d.len() >= nb && a.bsums.len() >= 16 * nb);
        let (wp, yp, sp) = (w.as_ptr(), a.qs.as_ptr(), a.bsums.as_ptr());
        let m3 = _mm512_set1_epi8(3);
        let m15 = _mm512_set1_epi8(15);
        let m12 = _mm512_set1_epi8(12);
        let m48 = _mm512_set1_epi8(48);
        let m192 = _mm512_set1_epi8(-64);
        // SAFETY: static tables of 32 i16
        let idx: [__m512i; 4] =
            std::array::from_fn(|k| unsafe { _mm512_loadu_si512(IDX_Q6[k].as_ptr().cast()) });
        let mut acc = _mm512_setzero_ps();
        for i in 0..nb {
            let o = 210 * i;
            prefetch(wp, o, 4);
            let d = a.d[i] * h2f(w, o + 208);
            // SAFETY: ql 128 bytes at o, qh 64 at o+128, scales 16 at o+192 (end <= o+208); 256
            // input bytes at 256i and 16 sums at 16i (within qs and bsums, checked above)
            let sumi = unsafe {
                let two = |p: *const u8, q: *const u8| {
                    _mm512_inserti64x4::<1>(
                        _mm512_castsi256_si512(_mm256_loadu_si256(p.cast())),
                        _mm256_loadu_si256(q.cast()),
                    )
                };
                let (y, ql) = (yp.add(256 * i).cast::<u8>(), wp.add(o));
                let a1 = two(ql, ql.add(64));
                let b1 = two(ql.add(32), ql.add(96));
                let h = _mm512_loadu_si512(wp.add(o + 128).cast());
                let scales = _mm_loadu_si128(wp.add(o + 192).cast());
                let q8sums = _mm256_loadu_si256(sp.add(16 * i) as *const __m256i);
                let scales16 = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(scales));
                let q = [
                    _mm512_or_si512(
                        _mm512_and_si512(a1, m15),
                        _mm512_slli_epi16::<4>(_mm512_and_si512(h, m3)),
                    ),
                    _mm512_or_si512(
                        _mm512_and_si512(b1, m15),
                        _mm512_slli_epi16::<2>(_mm512_and_si512(h, m12)),
                    ),
                    _mm512_or_si512(
                        _mm512_and_si512(_mm512_srli_epi16::<4>(a1), m15),
                        _mm512_and_si512(h, m48),
                    ),
                    _mm512_or_si512(
                        _mm512_and_si512(_mm512_srli_epi16::<4>(b1), m15),
                        _mm512_srli_epi16::<2>(_mm512_and_si512(h, m192)),
                    ),
                ];
                let mut sumi = _mm512_setzero_si512();
                for (k, (qk, ix)) in q.iter().zip(&idx).enumerate() {
                    let yk = two(y.add(32 * k), y.add(128 + 32 * k));
                    let sk = _mm512_permutexvar_epi16(*ix, scales16);
                    sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(*qk, yk), sk);
                }
                let sub =
                    _mm256_slli_epi32::<5>(_mm256_madd_epi16(q8sums, _mm256_cvtepi8_epi16(scales)));
                _mm512_sub_epi32(sumi, _mm512_zextsi256_si512(sub))
            };
            acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
        }
        _mm512_reduce_add_ps(acc)
    }

    /// Q4_K × Q8_K (ggml `ggml_vec_dot_q4_K_q8_K`, AVX2 branch).
    #[target_feature(enable = "avx2,fma,f16c")]
    fn q4_k(w: &[u8], a: &ActRef<'_>) -> f32 {
        const KMASK1: u32 = 0x3f3f_3f3f;
        const KMASK2: u32 = 0x0f0f_0f0f;
        const KMASK3: u32 = 0x0303_0303;
        let nb = a.qs.len() / QK_K;
        assert!(w.len() >= 144 * nb && a.d.len() >= nb && a.bsums.len() >= 16 * nb);
        let (wp, yp, sp) = (w.as_ptr(), a.qs.as_ptr(), a.bsums.as_ptr());
        let m4 = _mm256_set1_epi8(0xF);
        // SAFETY: static tables of 8 × 32 bytes
        let shuf: [__m256i; 8] = std::array::from_fn(|i| unsafe {
            _mm256_loadu_si256(SHUF_K4[i].as_ptr() as *const __m256i)
        });
        let mut acc = _mm256_setzero_ps();
        let mut acc_m = _mm_setzero_ps();
        for i in 0..nb {
            let o = 144 * i;
            prefetch(wp, o, 3);
            let d = a.d[i] * h2f(w, o);
            let dmin = -a.d[i] * h2f(w, o + 2);
            // (a plain fn, not a closure: closures in a target_feature fn are not inlined)
            let mut utmp = [le32(w, o + 4), le32(w, o + 8), le32(w, o + 12), 0];
            utmp[3] = ((utmp[2] >> 4) & KMASK2) | (((utmp[1] >> 6) & KMASK3) << 4);
            let uaux = utmp[1] & KMASK1;
            utmp[1] = (utmp[2] & KMASK2) | (((utmp[0] >> 6) & KMASK3) << 4);
            utmp[2] = uaux;
            utmp[0] &= KMASK1;
            let mins_and_scales = _mm256_cvtepu8_epi16(_mm_set_epi32(
                utmp[3] as i32,
                utmp[2] as i32,
                utmp[1] as i32,
                utmp[0] as i32,
            ));
            // SAFETY: 16 i16 at 16i end <= bsums.len()
            let q8sums = unsafe { _mm256_loadu_si256(sp.add(16 * i) as *const __m256i) };
            let q8s = _mm_hadd_epi16(
                _mm256_extracti128_si256::<0>(q8sums),
                _mm256_extracti128_si256::<1>(q8sums),
            );
            let prod = _mm_madd_epi16(_mm256_extracti128_si256::<1>(mins_and_scales), q8s);
            acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m);
            let sc128 = _mm256_extracti128_si256::<0>(mins_and_scales);
            let scales = _mm256_set_m128i(sc128, sc128);
            let mut sumi = _mm256_setzero_si256();
            for j in 0..4 {
                let scale_l = _mm256_shuffle_epi8(scales, shuf[2 * j]);
                let scale_h = _mm256_shuffle_epi8(scales, shuf[2 * j + 1]);
                // SAFETY: 32 bytes at o+16+32j end <= o+144; 64 at 256i+64j end <= qs.len()
                let (q4bits, q8l, q8h) = unsafe {
                    (
                        _mm256_loadu_si256(wp.add(o + 16 + 32 * j) as *const __m256i),
                        _mm256_loadu_si256(yp.add(256 * i + 64 * j) as *const __m256i),
                        _mm256_loadu_si256(yp.add(256 * i + 64 * j + 32) as *const __m256i),
                    )
                };
                let q4l = _mm256_and_si256(q4bits, m4);
                let q4h = _mm256_and_si256(_mm256_srli_epi16::<4>(q4bits), m4);
                let p16l = _mm256_madd_epi16(scale_l, _mm256_maddubs_epi16(q4l, q8l));
                let p16h = _mm256_madd_epi16(scale_h, _mm256_maddubs_epi16(q4h, q8h));
                sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p16l, p16h));
            }
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
        }
        let m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
        let m = _mm_add_ss(m, _mm_movehdup_ps(m));
        hsum(acc) + _mm_cvtss_f32(m)
    }

    /// Q6_K × Q8_K (ggml `ggml_vec_dot_q6_K_q8_K`, AVX2 branch).
    #[target_feature(enable = "avx2,fma,f16c")]
    fn q6_k(w: &[u8], a: &ActRef<'_>) -> f32 {
        let nb = a.qs.len() / QK_K;
        assert!(w.len() >= 210 * nb && a.d.len() >= nb && a.bsums.len() >= 16 * nb);
        let (wp, yp, sp) = (w.as_ptr(), a.qs.as_ptr(), a.bsums.as_ptr());
        let m3 = _mm256_set1_epi8(3);
        let m15 = _mm256_set1_epi8(15);
        let m12 = _mm256_set1_epi8(12);
        let m48 = _mm256_set1_epi8(48);
        let m192 = _mm256_set1_epi8(-64);
        // SAFETY: static tables of 8 × 16 bytes
        let shuf: [__m128i; 8] = std::array::from_fn(|i| unsafe {
            _mm_loadu_si128(SHUF_Q6[i].as_ptr() as *const __m128i)
        });
        let mut acc = _mm256_setzero_ps();
        for i in 0..nb {
            let o = 210 * i;
            prefetch(wp, o, 4);
            let d = a.d[i] * h2f(w, o + 208);
            // SAFETY: 16 i16 at 16i end <= bsums.len(); 16 bytes at o+192 end <= o+208
            let (q8sums, scales) = unsafe {
                (
                    _mm256_loadu_si256(sp.add(16 * i) as *const __m256i),
                    _mm_loadu_si128(wp.add(o + 192) as *const __m128i),
                )
            };
            let scales_16 = _mm256_cvtepi8_epi16(scales);
            let q8sclsub = _mm256_slli_epi32::<5>(_mm256_madd_epi16(q8sums, scales_16));
            let mut sumi = _mm256_setzero_si256();
            for j in 0..2 {
                // SAFETY: ql 64 bytes at o+64j, qh 32 at o+128+32j (end <= o+192), q8 128 at
                // 256i+128j (end <= qs.len())
                let (b1, b2, bh, y0, y1, y2, y3) = unsafe {
                    let q8 = yp.add(256 * i + 128 * j);
                    (
                        _mm256_loadu_si256(wp.add(o + 64 * j) as *const __m256i),
                        _mm256_loadu_si256(wp.add(o + 64 * j + 32) as *const __m256i),
                        _mm256_loadu_si256(wp.add(o + 128 + 32 * j) as *const __m256i),
                        _mm256_loadu_si256(q8 as *const __m256i),
                        _mm256_loadu_si256(q8.add(32) as *const __m256i),
                        _mm256_loadu_si256(q8.add(64) as *const __m256i),
                        _mm256_loadu_si256(q8.add(96) as *const __m256i),
                    )
                };
                let h0 = _mm256_slli_epi16::<4>(_mm256_and_si256(bh, m3));
                let h1 = _mm256_slli_epi16::<2>(_mm256_and_si256(bh, m12));
                let h2 = _mm256_and_si256(bh, m48);
                let h3 = _mm256_srli_epi16::<2>(_mm256_and_si256(bh, m192));
                let q0 = _mm256_or_si256(_mm256_and_si256(b1, m15), h0);
                let q1 = _mm256_or_si256(_mm256_and_si256(b2, m15), h1);
                let q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(b1), m15), h2);
                let q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(b2), m15), h3);
                let sc = |g: usize| _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, shuf[4 * j + g]));
                let p0 = _mm256_madd_epi16(sc(0), _mm256_maddubs_epi16(q0, y0));
                let p1 = _mm256_madd_epi16(sc(1), _mm256_maddubs_epi16(q1, y1));
                let p2 = _mm256_madd_epi16(sc(2), _mm256_maddubs_epi16(q2, y2));
                let p3 = _mm256_madd_epi16(sc(3), _mm256_maddubs_epi16(q3, y3));
                sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
                sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p2, p3));
            }
            sumi = _mm256_sub_epi32(sumi, q8sclsub);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
        }
        hsum(acc)
    }

    /// F16 rows × f32 input: `vcvtph2ps` then FMA, 32 elements per step in 4 accumulators.
    #[target_feature(enable = "avx2,fma,f16c")]
    fn f16_dot(w: &[u8], x: &[f32]) -> f32 {
        let n = x.len();
        assert!(w.len() >= 2 * n);
        let (wp, xp) = (w.as_ptr(), x.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            prefetch(wp, 2 * i, 1);
            for (u, a) in acc.iter_mut().enumerate() {
                let e = i + 8 * u;
                // SAFETY: e + 8 <= n: 16 bytes at 2e within w, 8 floats at e within x
                let (h, xv) = unsafe {
                    (
                        _mm_loadu_si128(wp.add(2 * e) as *const __m128i),
                        _mm256_loadu_ps(xp.add(e)),
                    )
                };
                *a = _mm256_fmadd_ps(_mm256_cvtph_ps(h), xv, *a);
            }
            i += 32;
        }
        while i + 8 <= n {
            // SAFETY: as above
            let (h, xv) = unsafe {
                (
                    _mm_loadu_si128(wp.add(2 * i) as *const __m128i),
                    _mm256_loadu_ps(xp.add(i)),
                )
            };
            acc[0] = _mm256_fmadd_ps(_mm256_cvtph_ps(h), xv, acc[0]);
            i += 8;
        }
        let mut s = hsum(_mm256_add_ps(
            _mm256_add_ps(acc[0], acc[1]),
            _mm256_add_ps(acc[2], acc[3]),
        ));
        for j in i..n {
            s += f16::from_le_bytes([w[2 * j], w[2 * j + 1]]).to_f32() * x[j];
        }
        s
    }

    /// BF16 rows × f32 input: widen to the f32 bit pattern, then FMA.
    #[target_feature(enable = "avx2,fma,f16c")]
    fn bf16_dot(w: &[u8], x: &[f32]) -> f32 {
        let n = x.len();
        assert!(w.len() >= 2 * n);
        let (wp, xp) = (w.as_ptr(), x.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        let widen =
            |h: __m128i| _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(h)));
        while i + 32 <= n {
            prefetch(wp, 2 * i, 1);
            for (u, a) in acc.iter_mut().enumerate() {
                let e = i + 8 * u;
                // SAFETY: e + 8 <= n
                let (h, xv) = unsafe {
                    (
                        _mm_loadu_si128(wp.add(2 * e) as *const __m128i),
                        _mm256_loadu_ps(xp.add(e)),
                    )
                };
                *a = _mm256_fmadd_ps(widen(h), xv, *a);
            }
            i += 32;
        }
        let mut s = hsum(_mm256_add_ps(
            _mm256_add_ps(acc[0], acc[1]),
            _mm256_add_ps(acc[2], acc[3]),
        ));
        for j in i..n {
            s += bf16::from_le_bytes([w[2 * j], w[2 * j + 1]]).to_f32() * x[j];
        }
        s
    }

    /// F32 rows × f32 input.
    #[target_feature(enable = "avx2,fma")]
    fn f32_dot(w: &[u8], x: &[f32]) -> f32 {
        let n = x.len();
        assert!(w.len() >= 4 * n);
        let (wp, xp) = (w.as_ptr(), x.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            prefetch(wp, 4 * i, 2);
            for (u, a) in acc.iter_mut().enumerate() {
                let e = i + 8 * u;
                // SAFETY: e + 8 <= n
                let (wv, xv) = unsafe {
                    (
                        _mm256_loadu_ps(wp.add(4 * e) as *const f32),
                        _mm256_loadu_ps(xp.add(e)),
                    )
                };
                *a = _mm256_fmadd_ps(wv, xv, *a);
            }
            i += 32;
        }
        let mut s = hsum(_mm256_add_ps(
            _mm256_add_ps(acc[0], acc[1]),
            _mm256_add_ps(acc[2], acc[3]),
        ));
        for j in i..n {
            s += f32::from_le_bytes([w[4 * j], w[4 * j + 1], w[4 * j + 2], w[4 * j + 3]]) * x[j];
        }
        s
    }

    // Safe entry points. SAFETY (all): `Kernel::at` returns these only when `available_levels()`
    // detected AVX2, FMA and F16C.
    pub fn q8_0_avx2(w: &[u8], a: &ActRef<'_>) -> f32 {
        unsafe { q8_0_a2(w, a) }
    }
    pub fn q4_0_avx2(w: &[u8], a: &ActRef<'_>) -> f32 {
        unsafe { q4_0_a2(w, a) }
    }
    // SAFETY (these four): `Kernel::at` returns them only at `Level::Avx512`, which
    // `available_levels()` lists only with AVX-512 F/BW/VL/VNNI besides AVX2, FMA and F16C.
    pub fn q8_0_avx512(w: &[u8], a: &ActRef<'_>) -> f32 {
        unsafe { q8_0_512(w, a) }
    }
    pub fn q4_0_avx512(w: &[u8], a: &ActRef<'_>) -> f32 {
        unsafe { q4_0_512(w, a) }
    }
    pub fn q4_k_avx512(w: &[u8], a: &ActRef<'_>) -> f32 {
        unsafe { q4_k_512(w, a) }
    }
    pub fn q6_k_avx512(w: &[u8], a: &ActRef<'_>) -> f32 {
        unsafe { q6_k_512(w, a) }
    }
    pub fn q4_k_avx2(w: &[u8], a: &ActRef<'_>) -> f32 {
        unsafe { q4_k(w, a) }
    }
    pub fn q6_k_avx2(w: &[u8], a: &ActRef<'_>) -> f32 {
        unsafe { q6_k(w, a) }
    }
    pub fn f16_avx2(w: &[u8], a: &ActRef<'_>) -> f32 {
        unsafe { f16_dot(w, a.x) }
    }
    pub fn bf16_avx2(w: &[u8], a: &ActRef<'_>) -> f32 {
        unsafe { bf16_dot(w, a.x) }
    }
    pub fn f32_avx2(w: &[u8], a: &ActRef<'_>) -> f32 {
        unsafe { f32_dot(w, a.x) }
    }
}
