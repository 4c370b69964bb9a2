//! CPU benchmark for `--measure --backend cpu` (issue #5; numbers in docs/benchmarks.md):
//! 1. `read`: this machine's read bandwidth, STREAM-style (one 1 GiB array summed by every thread,
//!    1e9 bytes/s), to compare the kernels against in the same run;
//! 2. `kernels`: each type's threaded matvec (the decode's own `cpu::run_at`: chunked rows, spinning
//!    barrier) over a 512 MiB matrix of 4096-wide rows, at every kernel level this CPU has; the
//!    `reference` level is the path before the fused kernels;
//! 3. `hot` (alone): each kernel with a 256 KiB matrix in cache, one thread (the compute ceiling);
//! 4. any GGUF files named: the end-to-end CPU decode (`measure`, context 256, 32 timed tokens, 5
//!    runs: median and best), as `headroom measure FILE --backend cpu` runs it.
//!
//! The machine these numbers come from is shared: each figure is also given as its best run, the
//! run least disturbed by other processes (docs/benchmarks.md says how the load was handled).
//!
//! `cargo run --release --example cpu_bench -- [read] [kernels] [FILE.gguf ...]`
//! (`HEADROOM_CPU_BENCH_THREADS` sets the thread count, default all cores;
//! `HEADROOM_CPU_BENCH_TYPES=Q8_0,Q4_0` and `HEADROOM_CPU_BENCH_LEVELS=avx2,avx512` narrow `kernels`.)

use headroom::measure::cpu::{self, CpuWeight};
use headroom::measure::cpudot::{Level, available_levels};
use headroom::measure::decode::{Encoding, Part, Plan, Weight};
use headroom::measure::{Backend, MeasureOptions, measure};
use headroom::model::TensorType;
use std::time::Instant;

fn threads() -> usize {
    std::env::var("HEADROOM_CPU_BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Best and median read bandwidth (bytes/s) of summing a 1 GiB array with `n` threads.
fn read_bandwidth(n: usize) -> (f64, f64) {
    let words = (1usize << 30) / 8;
    let v: Vec<u64> = (0..words as u64).collect();
    let mut t = Vec::new();
    for _ in 0..11 {
        let start = Instant::now();
        let s: u64 = std::thread::scope(|s| {
            v.chunks(words.div_ceil(n))
                .map(|c| s.spawn(move || c.iter().fold(0u64, |a, &b| a.wrapping_add(b))))
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| h.join().unwrap_or(0))
                .fold(0u64, u64::wrapping_add)
        });
        std::hint::black_box(s);
        t.push(start.elapsed().as_secs_f64());
    }
    t.sort_by(f64::total_cmp);
    let b = (words * 8) as f64;
    (b / t[0], b / t[t.len() / 2])
}

/// Whether the comma-separated list in env var `var` names `name` (no variable: everything).
fn wanted(var: &str, name: &str) -> bool {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .is_none_or(|v| v.split(',').any(|s| s == name))
}

fn kernels(n: usize, read: f64) {
    const K: u64 = 4096;
    const RUNS: usize = 9;
    println!(
        "\n## CPU matvec: 512 MiB matrices, rows of {K}, {n} threads, {RUNS} runs × 3 timed passes (after 1)"
    );
    println!("| type | level | GB/s (median run) | best run | median / read BW | best / read BW |");
    println!("|---|---|---|---|---|---|");
    let levels: Vec<Level> = available_levels()
        .into_iter()
        .filter(|l| wanted("HEADROOM_CPU_BENCH_LEVELS", l.name()))
        .collect();
    for ty in [
        TensorType::F16,
        TensorType::BF16,
        TensorType::F32,
        TensorType::Q8_0,
        TensorType::Q4_0,
        TensorType::Q4_K,
        TensorType::Q6_K,
        TensorType::Q5_K,
    ] {
        if !wanted("HEADROOM_CPU_BENCH_TYPES", ty.name()) {
            continue;
        }
        let rb = ty.row_bytes(K).unwrap_or(1);
        let rows = (512u64 << 20) / rb;
        let plan = Plan::dense(vec![Weight {
            name: ty.name().into(),
            enc: Encoding::Ggml(ty),
            rows,
            k: K,
            row_bytes: rb,
            q: Part::Synthetic {
                seed: 3,
                len: rows * rb,
                ty,
            },
            scales: None,
            biases: None,
        }]);
        let weights: Vec<CpuWeight> = cpu::load_all(&plan, None).expect("load");
        let bytes = (rows * rb) as f64;
        for &lvl in &levels {
            if lvl == Level::Scalar && ty.block_elems() == 1 {
                continue; // plain floats: scalar is the reference path
            }
            let mut bw: Vec<f64> = (0..RUNS)
                .map(|_| {
                    let r = cpu::run_at(&plan, &weights, 1, 3, lvl, n, &mut |_| {}).expect("run");
                    bytes * r.tokens as f64 / r.seconds
                })
                .collect();
            bw.sort_by(f64::total_cmp);
            println!(
                "| {ty} | {} | {:.1} | {:.1} | {:.2} | {:.2} |",
                lvl.name(),
                bw[RUNS / 2] / 1e9,
                bw[RUNS - 1] / 1e9,
                bw[RUNS / 2] / read,
                bw[RUNS - 1] / read
            );
        }
    }
}

/// Kernel speed with the matrix in L2 (256 KiB, one thread): the compute ceiling of each kernel.
fn hot() {
    use headroom::measure::cpudot::{Act, Kernel};
    use headroom::measure::source::{Rng, random_blocks};
    const K: usize = 4096;
    println!(
        "\n## CPU kernels in cache: 256 KiB matrix, rows of {K}, one thread, best of 15 trials"
    );
    println!("| type | level | GB/s | G weights/s |");
    println!("|---|---|---|---|");
    let mut rng = Rng::new(1);
    let x: Vec<f32> = (0..K).map(|_| rng.unit()).collect();
    for ty in [
        TensorType::F16,
        TensorType::Q8_0,
        TensorType::Q4_0,
        TensorType::Q4_K,
        TensorType::Q6_K,
    ] {
        let rb = ty.row_bytes(K as u64).unwrap_or(1) as usize;
        let rows = (256 << 10) / rb;
        let mut w = vec![0u8; rows * rb];
        random_blocks(ty, &mut rng, &mut w);
        for lvl in available_levels() {
            let kern = Kernel::at(ty, lvl);
            let mut act = Act::default();
            act.quantize(kern.act(), &x);
            let a = act.view(kern.act(), &x, 0, K);
            let reps = 20;
            // best of 15 short trials: the machine is shared, a trial that lost the core is dropped
            let t = (0..15)
                .map(|_| {
                    let start = Instant::now();
                    let mut s = 0f32;
                    for _ in 0..reps {
                        for r in w.chunks_exact(rb) {
                            s += kern.dot(std::hint::black_box(r), &a);
                        }
                    }
                    std::hint::black_box(s);
                    start.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min);
            println!(
                "| {ty} | {} | {:.1} | {:.2} |",
                lvl.name(),
                (reps * w.len()) as f64 / t / 1e9,
                (reps * rows * K) as f64 / t / 1e9
            );
        }
    }
}

const RUNS: usize = 5;

fn decode(path: &str) {
    let m = headroom::model::load(path).expect("load model");
    let opts = MeasureOptions {
        backend: Backend::Cpu,
        tokens: 32,
        context: 256,
        cache_type_k: TensorType::F16,
        cache_type_v: TensorType::F16,
        budget_bytes: 16 << 30,
    };
    let mut tps = Vec::new();
    let mut last = None;
    for _ in 0..RUNS {
        let r = measure(&m, &opts, &mut |_| {}).expect("measure");
        tps.push(r.decode_tokens_per_s);
        last = Some(r);
    }
    tps.sort_by(f64::total_cmp);
    let r = last.expect("ran");
    let gb = r.bytes_per_token as f64 / 1e9;
    println!(
        "| {} | {gb:.3} | {:.2} | {:.2} | {:.1} | {:.1} | {} |",
        std::path::Path::new(path)
            .file_name()
            .map_or(path.into(), |f| f.to_string_lossy()),
        tps[RUNS / 2],
        tps[RUNS - 1],
        gb * tps[RUNS / 2],
        gb * tps[RUNS - 1],
        r.adapter
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = threads();
    let all = args.is_empty();
    let files: Vec<&String> = args.iter().filter(|a| a.ends_with(".gguf")).collect();
    if args.iter().any(|a| a == "hot") {
        hot();
        return;
    }
    let (best, med) = if all || args.iter().any(|a| a == "read" || a == "kernels") {
        read_bandwidth(n)
    } else {
        (f64::NAN, f64::NAN)
    };
    println!(
        "read bandwidth (1 GiB sum, {n} threads): best {:.1} GB/s, median {:.1} GB/s",
        best / 1e9,
        med / 1e9
    );
    if all || args.iter().any(|a| a == "kernels") {
        kernels(n, med);
    }
    if !files.is_empty() {
        println!(
            "\n## CPU decode (measure, context 256, f16 KV, 32 timed tokens, median of 3 runs)"
        );
        println!("| file | GB/token | tok/s | effective GB/s | threads, kernels |");
        println!("|---|---|---|---|---|");
        for f in files {
            decode(f);
        }
    }
}
