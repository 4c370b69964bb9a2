//! The decode on CPU threads: the fallback when no GPU adapter exists. One thread per core lives for
//! the whole run; each product's rows are shared out in chunks (eight per thread, at least 64 KiB) and a spinning barrier
//! separates products, as a real decode's data dependencies would. Rows go through the fused
//! dequant-dot kernels of [`super::cpudot`] (MLX affine rows through [`MlxRow`]).

use super::cpudot::{self, Act, ActKind, Kernel};
use super::decode::{Encoding, MatVec, Part, Plan, Weight};
use super::dequant::{MlxRow, dot_row_unchecked};
use super::source::{Files, Rng, random_blocks};
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
    /// The kernel level used ([`Level::name`]).
    pub kernels: &'static str,
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

/// A barrier for a fixed set of threads that spins briefly, then yields (a decode crosses one per
/// product, thousands per second: a futex sleep each time would cost more than the work between).
struct SpinBarrier {
    n: usize,
    count: AtomicUsize,
    generation: AtomicUsize,
}

impl SpinBarrier {
    fn new(n: usize) -> Self {
        SpinBarrier {
            n,
            count: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
        }
    }

    fn wait(&self) {
        let g = self.generation.load(Ordering::Acquire);
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            self.count.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == g {
            if spins < 4096 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Rows per work item: an eighth of each thread's even share of the product, and at least ~64 KiB of
/// weights. Several items per thread let one that falls behind (a shared machine) leave the rest to
/// the others; long items keep the memory prefetchers streaming (each item starts a cold stream:
/// fixed 64 KiB items ran 10–25% slower than 1–4 MiB ones on 512 MiB matrices, docs/benchmarks.md).
fn chunk_rows(w: &Weight, rows: u64, threads: usize) -> u64 {
    let min = (65536 / w.row_bytes_total().max(1)).max(1);
    (rows / (threads as u64 * CHUNKS_PER_THREAD)).max(min)
}

/// Work items per thread and product (see [`chunk_rows`]).
const CHUNKS_PER_THREAD: u64 = 8;

/// One thread's share of one product: work items taken from `next` until none are left.
#[allow(clippy::too_many_arguments)]
fn product(
    plan: &Plan,
    weights: &[CpuWeight<'_>],
    kernels: &[Option<Kernel>],
    op: &MatVec,
    next: &AtomicU64,
    x: &[f32],
    act: &mut Act,
    threads: usize,
) -> f32 {
    let w = &plan.weights[op.w];
    let k = w.k as usize;
    let chunk = chunk_rows(w, op.rows, threads);
    let n_chunks = op.rows.div_ceil(chunk);
    let mut acc = 0f32;
    let kern = kernels[op.w];
    let kind = kern.map_or(ActKind::F32, |kr| kr.act());
    let mut quantized = false;
    loop {
        let c = next.fetch_add(1, Ordering::Relaxed);
        if c >= n_chunks {
            break;
        }
        let (lo, hi) = (c * chunk, ((c + 1) * chunk).min(op.rows));
        match kern {
            Some(kr) => {
                if !quantized {
                    // the input vector is quantized once per product (per thread), as llama.cpp does
                    act.quantize(kind, &x[..k * op.xmod as usize]);
                    quantized = true;
                }
                let rb = w.row_bytes as usize;
                let q = weights[op.w].q.as_slice();
                for r in lo..hi {
                    let row = (op.row0 + r) as usize;
                    let xo = (row % op.xmod as usize) * k;
                    acc += kr.dot(&q[row * rb..(row + 1) * rb], &act.view(kind, x, xo, k));
                }
            }
            None => {
                for r in lo..hi {
                    let row = op.row0 + r;
                    let xo = ((row % op.xmod) as usize) * k;
                    acc += weights[op.w].dot(w, row, &x[xo..xo + k]);
                }
            }
        }
    }
    acc
}

/// Run `warmup + tokens` tokens; time the last `tokens`. One thread per core lives for the whole
/// run; the products of a token run in order with a barrier between them, as a real decode's data
/// dependencies would, and each product's rows are shared out in chunks.
pub fn run(
    plan: &Plan,
    weights: &[CpuWeight<'_>],
    warmup: u32,
    tokens: u32,
    progress: &mut dyn FnMut(u32),
) -> Result<CpuRun> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let r = run_at(
        plan,
        weights,
        warmup,
        tokens,
        cpudot::level(),
        threads,
        progress,
    )?;
    Ok(CpuRun {
        copy_bandwidth: copy_bandwidth(threads),
        ..r
    })
}

/// [`run`] with a chosen kernel level and thread count, without the copy test (benchmarks).
pub fn run_at(
    plan: &Plan,
    weights: &[CpuWeight<'_>],
    warmup: u32,
    tokens: u32,
    level: cpudot::Level,
    threads: usize,
    progress: &mut dyn FnMut(u32),
) -> Result<CpuRun> {
    let threads = threads.max(1);
    let kernels: Vec<Option<Kernel>> = plan
        .weights
        .iter()
        .map(|w| match w.enc {
            Encoding::Ggml(ty) => Some(Kernel::at(ty, level)),
            Encoding::Mlx { .. } => None,
        })
        .collect();
    let (xn, _) = plan.scratch();
    let mut rng = Rng::new(7);
    let x: Vec<f32> = (0..xn).map(|_| rng.unit()).collect();
    let total = warmup + tokens;
    let max_ops = plan.max_ops(total);
    let counters: Vec<AtomicU64> = (0..max_ops).map(|_| AtomicU64::new(0)).collect();
    let barrier = SpinBarrier::new(threads);
    let token = |t: u32, act: &mut Act, is_main: bool| -> f32 {
        let ops = plan.token_ops(t);
        if is_main {
            for c in &counters[..ops.len()] {
                c.store(0, Ordering::Relaxed);
            }
        }
        barrier.wait();
        let mut acc = 0f32;
        for (i, op) in ops.iter().enumerate() {
            acc += product(plan, weights, &kernels, op, &counters[i], &x, act, threads);
            barrier.wait();
        }
        acc
    };
    let mut seconds = 0.0;
    let sink = std::thread::scope(|s| {
        let handles: Vec<_> = (1..threads)
            .map(|_| {
                let token = &token;
                s.spawn(move || {
                    let mut act = Act::default();
                    (0..total).map(|t| token(t, &mut act, false)).sum::<f32>()
                })
            })
            .collect();
        let mut act = Act::default();
        let mut acc = 0f32;
        for t in 0..total {
            let start = Instant::now();
            acc += token(t, &mut act, true);
            if t >= warmup {
                seconds += start.elapsed().as_secs_f64();
            }
            progress(t + 1);
        }
        acc + handles
            .into_iter()
            .map(|h| h.join().unwrap_or(f32::NAN))
            .sum::<f32>()
    });
    std::hint::black_box(sink);
    Ok(CpuRun {
        threads,
        seconds,
        tokens,
        copy_bandwidth: 0.0,
        kernels: level.name(),
    })
}

/// Read bandwidth (bytes read per second, STREAM's read-sum) of summing a `bytes` array split over
/// `threads` threads: the best of `passes` passes after one untimed pass that touches the pages.
pub fn read_bandwidth(threads: usize, bytes: usize, passes: u32) -> f64 {
    let words = (bytes / 8).max(1);
    let v: Vec<u64> = (0..words as u64).collect();
    let threads = threads.max(1);
    let mut best = f64::INFINITY;
    for pass in 0..=passes {
        let start = Instant::now();
        let s = std::thread::scope(|s| {
            v.chunks(words.div_ceil(threads))
                .map(|c| s.spawn(move || c.iter().fold(0u64, |a, &b| a.wrapping_add(b))))
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| h.join().unwrap_or(0))
                .fold(0u64, u64::wrapping_add)
        });
        std::hint::black_box(s);
        if pass > 0 {
            best = best.min(start.elapsed().as_secs_f64());
        }
    }
    (words * 8) as f64 / best
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
