//! The decode on CPU threads: the reference implementation of every product and the fallback when no
//! GPU adapter exists. Each token spawns one scoped thread per core; each product's rows are split
//! evenly and a barrier separates products, as a real decode's data dependencies would.

use super::decode::{Encoding, Part, Plan, Weight};
use super::dequant::{MlxRow, dot_row_unchecked};
use super::source::{Files, Rng, random_blocks};
use crate::error::{Error, Result};
use std::sync::Barrier;
use std::time::Instant;

/// A weight's bytes in memory: mapped from the file or generated.
pub enum Bytes<'a> {
    Mapped(&'a [u8]),
    Owned(Vec<u8>),
}

impl Bytes<'_> {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(s) => s,
            Bytes::Owned(v) => v,
        }
    }
}

/// Resolve a part: a checked slice of a mapped file, or freshly generated blocks.
pub fn load<'a>(files: Option<&'a Files>, part: &Part, name: &str) -> Result<Bytes<'a>> {
    match part {
        Part::File { file, offset, len } => {
            let f =
                files.ok_or_else(|| Error::failure(format!("tensor {name}: no files mapped")))?;
            Ok(Bytes::Mapped(f.bytes(*file, *offset, *len, name)?))
        }
        Part::Synthetic { seed, len, ty } => {
            let n =
                usize::try_from(*len).map_err(|_| Error::failure("synthetic tensor too large"))?;
            let mut v = vec![0u8; n];
            random_blocks(*ty, &mut Rng::new(*seed), &mut v);
            Ok(Bytes::Owned(v))
        }
    }
}

/// One weight ready for the CPU.
pub struct CpuWeight<'a> {
    pub q: Bytes<'a>,
    pub scales: Option<Bytes<'a>>,
    pub biases: Option<Bytes<'a>>,
}

impl CpuWeight<'_> {
    /// `Σ w[row]·x` for one row.
    #[inline]
    pub fn dot(&self, w: &Weight, row: u64, x: &[f32]) -> f32 {
        let rb = w.row_bytes as usize;
        let r = row as usize;
        let q = &self.q.as_slice()[r * rb..(r + 1) * rb];
        match w.enc {
            Encoding::Ggml(ty) => dot_row_unchecked(ty, q, x),
            Encoding::Mlx {
                bits,
                group,
                scale_type,
            } => {
                let sb = w.scale_row_bytes() as usize;
                let s = self
                    .scales
                    .as_ref()
                    .map_or(&[][..], |b| &b.as_slice()[r * sb..(r + 1) * sb]);
                let b = self
                    .biases
                    .as_ref()
                    .map_or(&[][..], |b| &b.as_slice()[r * sb..(r + 1) * sb]);
                MlxRow {
                    bits,
                    group: group as usize,
                    scale_type,
                    q,
                    scales: s,
                    biases: b,
                }
                .dot_unchecked(x)
            }
        }
    }
}

/// Result of a CPU run.
pub struct CpuRun {
    pub threads: usize,
    pub seconds: f64,
    pub tokens: u32,
    pub copy_bandwidth: f64,
}

/// Load every weight of the plan (mapped or synthetic).
pub fn load_all<'a>(plan: &Plan, files: Option<&'a Files>) -> Result<Vec<CpuWeight<'a>>> {
    plan.weights
        .iter()
        .map(|w| {
            Ok(CpuWeight {
                q: load(files, &w.q, &w.name)?,
                scales: w
                    .scales
                    .as_ref()
                    .map(|p| load(files, p, &w.name))
                    .transpose()?,
                biases: w
                    .biases
                    .as_ref()
                    .map(|p| load(files, p, &w.name))
                    .transpose()?,
            })
        })
        .collect()
}

/// Run `warmup + tokens` tokens; time the last `tokens`.
pub fn run(
    plan: &Plan,
    weights: &[CpuWeight<'_>],
    warmup: u32,
    tokens: u32,
    progress: &mut dyn FnMut(u32),
) -> Result<CpuRun> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (xn, _) = plan.scratch();
    let mut rng = Rng::new(7);
    let x: Vec<f32> = (0..xn).map(|_| rng.unit()).collect();
    let mut seconds = 0.0;
    for t in 0..warmup + tokens {
        let ops = plan.token_ops(t);
        let start = Instant::now();
        let barrier = Barrier::new(threads);
        let sink = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|ti| {
                    let (ops, x, barrier) = (&ops, &x, &barrier);
                    s.spawn(move || {
                        let mut acc = 0f32;
                        for op in ops {
                            let w = &plan.weights[op.w];
                            let lo = op.rows * ti as u64 / threads as u64;
                            let hi = op.rows * (ti as u64 + 1) / threads as u64;
                            let k = w.k as usize;
                            for r in lo..hi {
                                let row = op.row0 + r;
                                let xo = ((row % op.xmod) as usize) * k;
                                acc += weights[op.w].dot(w, row, &x[xo..xo + k]);
                            }
                            barrier.wait();
                        }
                        acc
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(f32::NAN))
                .sum::<f32>()
        });
        std::hint::black_box(sink);
        if t >= warmup {
            seconds += start.elapsed().as_secs_f64();
        }
        progress(t + 1);
    }
    Ok(CpuRun {
        threads,
        seconds,
        tokens,
        copy_bandwidth: copy_bandwidth(threads),
    })
}

/// Memory copy bandwidth (bytes read + bytes written per second) of a 256 MiB copy split over threads.
pub fn copy_bandwidth(threads: usize) -> f64 {
    const N: usize = 256 << 20;
    let src = vec![1u8; N];
    let mut dst = vec![0u8; N];
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        std::thread::scope(|s| {
            let chunk = N.div_ceil(threads);
            for (d, c) in dst.chunks_mut(chunk).zip(src.chunks(chunk)) {
                s.spawn(move || d.copy_from_slice(c));
            }
        });
        best = best.min(start.elapsed().as_secs_f64());
        std::hint::black_box(&dst);
    }
    2.0 * N as f64 / best
}
