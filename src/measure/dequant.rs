//! CPU reference dequantization: ggml's stored block layouts decoded exactly as `ggml-quants.c`
//! (`dequantize_row_*`) and `ggml-common.h` define them, plus MLX affine groups. Each row is decoded one
//! block at a time into a stack array, then dotted with `x` using 8 independent accumulators so LLVM
//! vectorizes the loop (no `unsafe` SIMD). The GPU kernels are tested against these functions, and these
//! against the `gguf` Python package (`tests/fixtures/dequant`).
//!
//! Block layouts (little-endian, sizes from [`TensorType`]):
//! - Q4_0 `{f16 d; u8 qs[16]}`: `y[j] = (lo(qs[j]) - 8)·d`, `y[j+16] = (hi(qs[j]) - 8)·d`.
//! - Q4_1 `{f16 d; f16 m; u8 qs[16]}`: `q·d + m`.
//! - Q5_0 `{f16 d; u8 qh[4]; u8 qs[16]}`, Q5_1 `{f16 d; f16 m; u8 qh[4]; u8 qs[16]}`: 5th bit from `qh`.
//! - Q8_0 `{f16 d; i8 qs[32]}`.
//! - MXFP4 `{u8 e (E8M0); u8 qs[16]}`: `kvalues_mxfp4[nibble] · 2^(e-128)`.
//! - Q2_K `{u8 scales[16]; u8 qs[64]; f16 d; f16 dmin}`, Q3_K `{u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}`,
//!   Q4_K `{f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}`, Q5_K `{f16 d; f16 dmin; u8 scales[12]; u8 qh[32];
//!   u8 qs[128]}`, Q6_K `{u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}`.
//! - MLX affine (not a ggml type): per group of `group_size` weights, `w = scale·q + bias`, `q` the
//!   `bits`-bit unsigned value packed low-bits-first into little-endian u32 words.

use crate::error::{Error, Result};
use crate::model::TensorType;
use half::{bf16, f16};

/// ggml types the measured decode can dequantize (besides MLX affine, which is not a ggml type).
pub const SUPPORTED: &[TensorType] = &[
    TensorType::F32,
    TensorType::F16,
    TensorType::BF16,
    TensorType::Q4_0,
    TensorType::Q4_1,
    TensorType::Q5_0,
    TensorType::Q5_1,
    TensorType::Q8_0,
    TensorType::Q2_K,
    TensorType::Q3_K,
    TensorType::Q4_K,
    TensorType::Q5_K,
    TensorType::Q6_K,
    TensorType::MXFP4,
];

/// Whether `ty` has a dequant kernel.
pub fn is_supported(ty: TensorType) -> bool {
    SUPPORTED.contains(&ty)
}

/// The error for a type without a kernel.
pub fn unsupported(ty: TensorType, tensor: &str) -> Error {
    Error::usage(format!(
        "type {ty} not supported for measurement (tensor {tensor}); supported: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 \
         Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K MXFP4 and MLX affine 4/8-bit"
    ))
}

#[inline(always)]
fn f16_at(b: &[u8], o: usize) -> f32 {
    f16::from_le_bytes([b[o], b[o + 1]]).to_f32()
}

/// ggml `GGML_E8M0_TO_FP32_HALF`: half of 2^(e-127), with the two subnormal cases.
#[inline(always)]
pub fn e8m0_half(e: u8) -> f32 {
    let bits: u32 = if e < 2 {
        0x0020_0000u32 << e
    } else {
        (e as u32 - 1) << 23
    };
    f32::from_bits(bits)
}

/// ggml `kvalues_mxfp4` (E2M1 values doubled).
pub const KVALUES_MXFP4: [f32; 16] = [
    0., 1., 2., 3., 4., 6., 8., 12., 0., -1., -2., -3., -4., -6., -8., -12.,
];

/// ggml `get_scale_min_k4`: the 6-bit scale and min of sub-block `j` (0..8) of a Q4_K/Q5_K block.
#[inline(always)]
fn scale_min_k4(j: usize, q: &[u8]) -> (f32, f32) {
    if j < 4 {
        ((q[j] & 63) as f32, (q[j + 4] & 63) as f32)
    } else {
        (
            ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4)) as f32,
            ((q[j + 4] >> 4) | ((q[j] >> 6) << 4)) as f32,
        )
    }
}

/// Q3_K: the 16 signed 6-bit scales (already minus 32) from the 12 packed bytes.
#[inline(always)]
fn q3k_scales(b: &[u8]) -> [f32; 16] {
    let mut out = [0f32; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let low4 = if i < 8 { b[i] & 0xF } else { b[i - 8] >> 4 };
        let hi2 = (b[8 + i % 4] >> (2 * (i / 4))) & 3;
        *o = ((low4 | (hi2 << 4)) as i32 - 32) as f32;
    }
    out
}

/// Decode one block of `ty` (`block.len() == ty.block_bytes()`) into `out` (`ty.block_elems()` values).
pub fn decode_block(ty: TensorType, b: &[u8], out: &mut [f32]) {
    match ty {
        TensorType::F32 => out[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        TensorType::F16 => out[0] = f16_at(b, 0),
        TensorType::BF16 => out[0] = bf16::from_le_bytes([b[0], b[1]]).to_f32(),
        TensorType::Q4_0 => {
            let d = f16_at(b, 0);
            for j in 0..16 {
                out[j] = ((b[2 + j] & 0xF) as i32 - 8) as f32 * d;
                out[j + 16] = ((b[2 + j] >> 4) as i32 - 8) as f32 * d;
            }
        }
        TensorType::Q4_1 => {
            let (d, m) = (f16_at(b, 0), f16_at(b, 2));
            for j in 0..16 {
                out[j] = (b[4 + j] & 0xF) as f32 * d + m;
                out[j + 16] = (b[4 + j] >> 4) as f32 * d + m;
            }
        }
        TensorType::Q5_0 => {
            let d = f16_at(b, 0);
            let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
            for j in 0..16 {
                let xh0 = ((qh >> j) << 4) & 0x10;
                let xh1 = (qh >> (j + 12)) & 0x10;
                out[j] = (((b[6 + j] & 0xF) as u32 | xh0) as i32 - 16) as f32 * d;
                out[j + 16] = (((b[6 + j] >> 4) as u32 | xh1) as i32 - 16) as f32 * d;
            }
        }
        TensorType::Q5_1 => {
            let (d, m) = (f16_at(b, 0), f16_at(b, 2));
            let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            for j in 0..16 {
                let xh0 = ((qh >> j) << 4) & 0x10;
                let xh1 = (qh >> (j + 12)) & 0x10;
                out[j] = ((b[8 + j] & 0xF) as u32 | xh0) as f32 * d + m;
                out[j + 16] = ((b[8 + j] >> 4) as u32 | xh1) as f32 * d + m;
            }
        }
        TensorType::Q8_0 => {
            let d = f16_at(b, 0);
            for j in 0..32 {
                out[j] = (b[2 + j] as i8) as f32 * d;
            }
        }
        TensorType::MXFP4 => {
            let d = e8m0_half(b[0]);
            for j in 0..16 {
                out[j] = KVALUES_MXFP4[(b[1 + j] & 0xF) as usize] * d;
                out[j + 16] = KVALUES_MXFP4[(b[1 + j] >> 4) as usize] * d;
            }
        }
        TensorType::Q2_K => {
            let (sc, qs) = (&b[0..16], &b[16..80]);
            let (d, dmin) = (f16_at(b, 80), f16_at(b, 82));
            let mut y = 0;
            let mut is = 0;
            for n in 0..2 {
                let q = &qs[32 * n..32 * n + 32];
                for j in 0..4 {
                    let shift = 2 * j;
                    for half in 0..2 {
                        let s = sc[is];
                        is += 1;
                        let (dl, ml) = (d * (s & 0xF) as f32, dmin * (s >> 4) as f32);
                        for l in 0..16 {
                            out[y] = dl * ((q[l + 16 * half] >> shift) & 3) as f32 - ml;
                            y += 1;
                        }
                    }
                }
            }
        }
        TensorType::Q3_K => {
            let (hm, qs) = (&b[0..32], &b[32..96]);
            let scales = q3k_scales(&b[96..108]);
            let d = f16_at(b, 108);
            let mut y = 0;
            let mut is = 0;
            let mut m = 1u8;
            for n in 0..2 {
                let q = &qs[32 * n..32 * n + 32];
                for j in 0..4 {
                    let shift = 2 * j;
                    for half in 0..2 {
                        let dl = d * scales[is];
                        is += 1;
                        for l in 0..16 {
                            let i = l + 16 * half;
                            let v =
                                ((q[i] >> shift) & 3) as i32 - if hm[i] & m != 0 { 0 } else { 4 };
                            out[y] = dl * v as f32;
                            y += 1;
                        }
                    }
                    m = m.wrapping_shl(1);
                }
            }
        }
        TensorType::Q4_K => {
            let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
            let (sc, qs) = (&b[4..16], &b[16..144]);
            for j in 0..4 {
                let (s1, m1) = scale_min_k4(2 * j, sc);
                let (s2, m2) = scale_min_k4(2 * j + 1, sc);
                let (d1, m1, d2, m2) = (d * s1, dmin * m1, d * s2, dmin * m2);
                let q = &qs[32 * j..32 * j + 32];
                for l in 0..32 {
                    out[64 * j + l] = d1 * (q[l] & 0xF) as f32 - m1;
                    out[64 * j + 32 + l] = d2 * (q[l] >> 4) as f32 - m2;
                }
            }
        }
        TensorType::Q5_K => {
            let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
            let (sc, qh, qs) = (&b[4..16], &b[16..48], &b[48..176]);
            for j in 0..4 {
                let (s1, m1) = scale_min_k4(2 * j, sc);
                let (s2, m2) = scale_min_k4(2 * j + 1, sc);
                let (d1, m1, d2, m2) = (d * s1, dmin * m1, d * s2, dmin * m2);
                let (u1, u2) = (1u8 << (2 * j), 2u8 << (2 * j));
                let q = &qs[32 * j..32 * j + 32];
                for l in 0..32 {
                    let h1 = if qh[l] & u1 != 0 { 16 } else { 0 };
                    let h2 = if qh[l] & u2 != 0 { 16 } else { 0 };
                    out[64 * j + l] = d1 * ((q[l] & 0xF) + h1) as f32 - m1;
                    out[64 * j + 32 + l] = d2 * ((q[l] >> 4) + h2) as f32 - m2;
                }
            }
        }
        TensorType::Q6_K => {
            let d = f16_at(b, 208);
            for n in 0..2 {
                let ql = &b[64 * n..64 * n + 64];
                let qh = &b[128 + 32 * n..128 + 32 * n + 32];
                let sc = &b[192 + 8 * n..192 + 8 * n + 8];
                let y = &mut out[128 * n..128 * n + 128];
                for l in 0..32 {
                    let is = l / 16;
                    let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
                    let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                    let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                    let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                    y[l] = d * (sc[is] as i8) as f32 * q1 as f32;
                    y[l + 32] = d * (sc[is + 2] as i8) as f32 * q2 as f32;
                    y[l + 64] = d * (sc[is + 4] as i8) as f32 * q3 as f32;
                    y[l + 96] = d * (sc[is + 6] as i8) as f32 * q4 as f32;
                }
            }
        }
        other => unreachable!("decode_block called for unsupported type {other}"),
    }
}

fn check_row(ty: TensorType, bytes: &[u8], n: usize) -> Result<()> {
    if !is_supported(ty) {
        return Err(unsupported(ty, "?"));
    }
    let want = ty.row_bytes(n as u64);
    if want != Some(bytes.len() as u64) {
        return Err(Error::failure(format!(
            "dequant: a {ty} row of {n} elements needs {want:?} bytes, got {}",
            bytes.len()
        )));
    }
    Ok(())
}

/// Dequantize one row of `out.len()` elements stored as `ty`.
pub fn dequantize_row(ty: TensorType, bytes: &[u8], out: &mut [f32]) -> Result<()> {
    check_row(ty, bytes, out.len())?;
    let (be, bb) = (ty.block_elems() as usize, ty.block_bytes() as usize);
    for (blk, o) in bytes.chunks_exact(bb).zip(out.chunks_exact_mut(be)) {
        decode_block(ty, blk, o);
    }
    Ok(())
}

/// Dot product of 8-lane accumulators: vectorizes without fast-math.
#[inline(always)]
fn dot8(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += ca[i] * cb[i];
        }
    }
    let mut s = 0.0;
    let tail = a.len() / 8 * 8;
    for i in tail..a.len() {
        s += a[i] * b[i];
    }
    acc.iter().sum::<f32>() + s
}

/// `Σ w[i]·x[i]` over one row stored as `ty`; `x.len()` is the row length. Rows that are not a whole
/// number of blocks or types without a kernel are an error.
pub fn dot_row(ty: TensorType, bytes: &[u8], x: &[f32]) -> Result<f32> {
    check_row(ty, bytes, x.len())?;
    Ok(dot_row_unchecked(ty, bytes, x))
}

/// [`dot_row`] without the checks (the decode checks shapes once when it plans).
pub fn dot_row_unchecked(ty: TensorType, bytes: &[u8], x: &[f32]) -> f32 {
    match ty {
        TensorType::F32 => {
            let mut acc = [0f32; 8];
            let n8 = x.len() / 8 * 8;
            for (cw, cx) in bytes[..n8 * 4]
                .chunks_exact(32)
                .zip(x[..n8].chunks_exact(8))
            {
                for i in 0..8 {
                    let w = f32::from_le_bytes([
                        cw[4 * i],
                        cw[4 * i + 1],
                        cw[4 * i + 2],
                        cw[4 * i + 3],
                    ]);
                    acc[i] += w * cx[i];
                }
            }
            let mut s: f32 = acc.iter().sum();
            for i in n8..x.len() {
                s += f32::from_le_bytes([
                    bytes[4 * i],
                    bytes[4 * i + 1],
                    bytes[4 * i + 2],
                    bytes[4 * i + 3],
                ]) * x[i];
            }
            s
        }
        TensorType::F16 | TensorType::BF16 => {
            let mut buf = [0f32; 64];
            let mut s = 0.0;
            for (cw, cx) in bytes.chunks(128).zip(x.chunks(64)) {
                for (i, v) in buf[..cx.len()].iter_mut().enumerate() {
                    let h = [cw[2 * i], cw[2 * i + 1]];
                    *v = if ty == TensorType::F16 {
                        f16::from_le_bytes(h).to_f32()
                    } else {
                        bf16::from_le_bytes(h).to_f32()
                    };
                }
                s += dot8(&buf[..cx.len()], cx);
            }
            s
        }
        _ => {
            let (be, bb) = (ty.block_elems() as usize, ty.block_bytes() as usize);
            let mut buf = [0f32; 256];
            let mut s = 0.0;
            for (blk, cx) in bytes.chunks_exact(bb).zip(x.chunks_exact(be)) {
                decode_block(ty, blk, &mut buf[..be]);
                s += dot8(&buf[..be], cx);
            }
            s
        }
    }
}

/// How MLX stores its per-group scales and biases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleType {
    F32,
    F16,
    BF16,
}

impl ScaleType {
    pub fn from_tensor_type(ty: TensorType) -> Option<ScaleType> {
        match ty {
            TensorType::F32 => Some(ScaleType::F32),
            TensorType::F16 => Some(ScaleType::F16),
            TensorType::BF16 => Some(ScaleType::BF16),
            _ => None,
        }
    }

    pub fn bytes(self) -> usize {
        match self {
            ScaleType::F32 => 4,
            _ => 2,
        }
    }

    /// Decode element `i` of a little-endian array of this type.
    pub fn get(self, b: &[u8], i: usize) -> f32 {
        match self {
            ScaleType::F32 => {
                f32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
            }
            ScaleType::F16 => f16::from_le_bytes([b[2 * i], b[2 * i + 1]]).to_f32(),
            ScaleType::BF16 => bf16::from_le_bytes([b[2 * i], b[2 * i + 1]]).to_f32(),
        }
    }
}

/// One MLX affine-quantized row: packed words, and its groups' scales and biases.
#[derive(Debug, Clone, Copy)]
pub struct MlxRow<'a> {
    pub bits: u32,
    pub group: usize,
    pub scale_type: ScaleType,
    /// `k·bits/8` bytes of little-endian u32 words.
    pub q: &'a [u8],
    /// `k/group` scales.
    pub scales: &'a [u8],
    /// `k/group` biases.
    pub biases: &'a [u8],
}

impl MlxRow<'_> {
    fn check(&self, k: usize) -> Result<()> {
        let ok = matches!(self.bits, 4 | 8)
            && self.group > 0
            && self.group.is_multiple_of(32)
            && k.is_multiple_of(self.group)
            && self.q.len() == k * self.bits as usize / 8
            && self.scales.len() == k / self.group * self.scale_type.bytes()
            && self.biases.len() == self.scales.len();
        if ok {
            Ok(())
        } else {
            Err(Error::failure(format!(
                "dequant: MLX row of {k} elements with bits {} group {} has {} packed, {} scale, {} bias bytes",
                self.bits,
                self.group,
                self.q.len(),
                self.scales.len(),
                self.biases.len()
            )))
        }
    }

    #[inline(always)]
    fn q_at(&self, i: usize) -> u32 {
        let bit = i * self.bits as usize;
        let w = bit / 32;
        let word = u32::from_le_bytes([
            self.q[4 * w],
            self.q[4 * w + 1],
            self.q[4 * w + 2],
            self.q[4 * w + 3],
        ]);
        (word >> (bit % 32)) & ((1u32 << self.bits) - 1)
    }

    /// `w = scale·q + bias` for every element.
    pub fn dequantize(&self, out: &mut [f32]) -> Result<()> {
        self.check(out.len())?;
        for (i, o) in out.iter_mut().enumerate() {
            let g = i / self.group;
            *o = self.scale_type.get(self.scales, g) * self.q_at(i) as f32
                + self.scale_type.get(self.biases, g);
        }
        Ok(())
    }

    /// `Σ w·x`, folded per group as `scale·Σq·x + bias·Σx`.
    pub fn dot(&self, x: &[f32]) -> Result<f32> {
        self.check(x.len())?;
        Ok(self.dot_unchecked(x))
    }

    pub fn dot_unchecked(&self, x: &[f32]) -> f32 {
        let mut buf = [0f32; 256];
        let mut s = 0.0;
        let g = self.group.min(256);
        for (ci, cx) in x.chunks_exact(g).enumerate() {
            let first = ci * g;
            for (j, v) in buf[..g].iter_mut().enumerate() {
                *v = self.q_at(first + j) as f32;
            }
            let grp = first / self.group;
            let (sc, bi) = (
                self.scale_type.get(self.scales, grp),
                self.scale_type.get(self.biases, grp),
            );
            s += sc * dot8(&buf[..g], cx) + bi * cx.iter().sum::<f32>();
        }
        s
    }
}
