//! Where the measured decode's bytes come from: the model's own files, memory-mapped (each tensor's
//! range checked against the file's length before use), or, for a spec with no files, synthetic random
//! blocks of each tensor's real type and shape. Synthetic blocks are well formed: their scale fields
//! hold ordinary finite values, so the kernels see the same arithmetic as on real weights.

use crate::error::{Error, Result};
use crate::model::TensorType;
use memmap2::Mmap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// A small deterministic generator (xorshift64*), enough for synthetic weights and expert picks.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    pub fn fill(&mut self, out: &mut [u8]) {
        let mut chunks = out.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let v = self.next_u64().to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&v[..n]);
    }
}

fn put_f16(b: &mut [u8], o: usize, v: f32) {
    b[o..o + 2].copy_from_slice(&half::f16::from_f32(v).to_le_bytes());
}

/// Fill `out` (a whole number of blocks of `ty`) with random, well-formed blocks: random quant bits,
/// finite scales of a realistic magnitude (|d| ≤ 0.01; plain float types uniform in [-1, 1)).
pub fn random_blocks(ty: TensorType, rng: &mut Rng, out: &mut [u8]) {
    match ty {
        TensorType::F32 => {
            for c in out.chunks_exact_mut(4) {
                c.copy_from_slice(&rng.unit().to_le_bytes());
            }
        }
        TensorType::F16 => {
            for c in out.chunks_exact_mut(2) {
                c.copy_from_slice(&half::f16::from_f32(rng.unit()).to_le_bytes());
            }
        }
        TensorType::BF16 => {
            for c in out.chunks_exact_mut(2) {
                c.copy_from_slice(&half::bf16::from_f32(rng.unit()).to_le_bytes());
            }
        }
        _ => {
            rng.fill(out);
            let bb = ty.block_bytes() as usize;
            // offsets of the f16 scale fields of each block layout
            let halves: &[usize] = match ty {
                TensorType::Q4_0 | TensorType::Q5_0 | TensorType::Q8_0 => &[0],
                TensorType::Q4_1 | TensorType::Q5_1 | TensorType::Q4_K | TensorType::Q5_K => {
                    &[0, 2]
                }
                TensorType::Q2_K => &[80, 82],
                TensorType::Q3_K => &[108],
                TensorType::Q6_K => &[208],
                _ => &[],
            };
            for blk in out.chunks_exact_mut(bb) {
                for &o in halves {
                    let v = rng.unit() * 0.01;
                    put_f16(blk, o, v);
                }
                if ty == TensorType::MXFP4 {
                    // E8M0 exponent near 2^-7
                    blk[0] = 118 + (rng.next_u64() % 4) as u8;
                }
            }
        }
    }
}

/// The model's files, mapped read-only.
pub struct Files {
    paths: Vec<PathBuf>,
    maps: Vec<Mmap>,
}

impl Files {
    pub fn open(paths: &[PathBuf]) -> Result<Files> {
        let mut maps = Vec::with_capacity(paths.len());
        for p in paths {
            let f = File::open(p)
                .map_err(|e| Error::bad_input(p, format!("cannot open for measurement: {e}")))?;
            // SAFETY: read-only private mapping; headroom never writes model files. A file truncated by
            // another process while mapped would fault, as with any reader of mmapped weights.
            let m = unsafe { Mmap::map(&f) }
                .map_err(|e| Error::bad_input(p, format!("cannot map: {e}")))?;
            maps.push(m);
        }
        Ok(Files {
            paths: paths.to_vec(),
            maps,
        })
    }

    /// `len` bytes at `offset` of file `file`, checked against the file's length.
    pub fn bytes(&self, file: usize, offset: u64, len: u64, tensor: &str) -> Result<&[u8]> {
        let Some(m) = self.maps.get(file) else {
            return Err(Error::failure(format!(
                "tensor {tensor}: data file index {file} out of range"
            )));
        };
        let path: &Path = &self.paths[file];
        let end = offset.checked_add(len).filter(|e| *e <= m.len() as u64).ok_or_else(|| {
            Error::bad_input(
                path,
                format!(
                    "tensor {tensor}: data at byte offset {offset} + {len} bytes runs past the file's end ({} bytes); \
                     the file is truncated",
                    m.len()
                ),
            )
        })?;
        Ok(&m[offset as usize..end as usize])
    }
}
