//! Dequant-matvec kernels: the CPU reference (one thread, 256 rows of 4096) and, when wgpu finds an
//! adapter, the WGSL kernel on a 256 MiB matrix (GPU time from timestamp queries). Throughput is in bytes
//! of stored weights read. `cargo bench --bench kernels`; the device numbers in docs/benchmarks.md come
//! from `examples/measure_device.rs`, which also reports the fraction of copy bandwidth.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use headroom::measure::decode::{Encoding, Part, Plan, Weight};
use headroom::measure::dequant::{SUPPORTED, dot_row_unchecked};
use headroom::measure::gpu::Gpu;
use headroom::measure::source::{Rng, random_blocks};
use std::hint::black_box;
use std::time::Duration;

const K: u64 = 4096;

fn cpu(c: &mut Criterion) {
    let mut g = c.benchmark_group("cpu_dot");
    let mut rng = Rng::new(1);
    let x: Vec<f32> = (0..K).map(|_| rng.unit()).collect();
    for &ty in SUPPORTED {
        let rb = ty.row_bytes(K).unwrap() as usize;
        let rows = 256;
        let mut w = vec![0u8; rb * rows];
        random_blocks(ty, &mut rng, &mut w);
        g.throughput(Throughput::Bytes(w.len() as u64));
        g.bench_function(ty.name(), |b| {
            b.iter(|| {
                w.chunks_exact(rb)
                    .map(|r| dot_row_unchecked(ty, black_box(r), &x))
                    .sum::<f32>()
            })
        });
    }
    g.finish();
}

fn gpu(c: &mut Criterion) {
    let Ok(Some(mut dev)) = Gpu::open() else {
        eprintln!("gpu benches skipped: no wgpu adapter");
        return;
    };
    let mut g = c.benchmark_group("gpu_matvec");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for &ty in SUPPORTED {
        let rb = ty.row_bytes(K).unwrap();
        let rows = (256u64 << 20) / rb;
        let w = Weight {
            name: ty.name().into(),
            enc: Encoding::Ggml(ty),
            rows,
            k: K,
            row_bytes: rb,
            q: Part::Synthetic {
                seed: 9,
                len: rows * rb,
                ty,
            },
            scales: None,
            biases: None,
        };
        let plan = Plan::dense(vec![w]);
        g.throughput(Throughput::Bytes(rows * rb));
        let mut loaded = dev
            .load(&plan, None, 1 << 30, 64 << 20, &mut |_, _| {})
            .expect("upload");
        g.bench_function(ty.name(), |b| {
            b.iter_custom(|iters| {
                let run = loaded.run_tokens(&plan, 0, iters as u32).expect("run");
                Duration::from_secs_f64(run.seconds)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, cpu, gpu);
criterion_main!(benches);
