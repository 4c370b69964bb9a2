//! Device benchmark for `--measure` (run on the GPU machine; see docs/benchmarks.md):
//! 1. the adapter's copy bandwidth (copy_buffer_to_buffer, bytes read + written per second);
//! 2. each dequant-matvec kernel on a ~1 GiB matrix (4096-wide rows): effective bandwidth (bytes of
//!    weights read per second, timestamp queries) and its fraction of the copy bandwidth;
//! 3. the full short decode of a synthetic Llama-3-8B-shaped model (Q4_0 and Q4_K) at 4096 context.
//!
//! `cargo run --release --example measure_device -- [kernels] [decode] [cpu]`

use headroom::measure::decode::{Encoding, Part, Plan, Weight};
use headroom::measure::dequant::{SUPPORTED, ScaleType};
use headroom::measure::gpu::Gpu;
use headroom::measure::{Backend, MeasureOptions, measure};
use headroom::model::{HyperParams, ModelDesc, ModelFormat, TensorInfo, TensorType};

fn weight(enc: Encoding, bytes: u64, k: u64) -> Weight {
    let (row_bytes, sty) = match enc {
        Encoding::Ggml(ty) => (ty.row_bytes(k).unwrap(), ty),
        Encoding::Mlx { bits, .. } => (k * bits as u64 / 8, TensorType::BF16),
    };
    let srow = match enc {
        Encoding::Mlx {
            group, scale_type, ..
        } => k / group as u64 * scale_type.bytes() as u64,
        _ => 0,
    };
    let rows = bytes / (row_bytes + 2 * srow);
    let syn = |seed, len, ty| Part::Synthetic { seed, len, ty };
    Weight {
        name: enc.label(),
        enc,
        rows,
        k,
        row_bytes,
        q: syn(
            1,
            rows * row_bytes,
            if srow > 0 { TensorType::U8 } else { sty },
        ),
        scales: (srow > 0).then(|| syn(2, rows * srow, sty)),
        biases: (srow > 0).then(|| syn(3, rows * srow, sty)),
    }
}

fn bench(g: &mut Gpu, enc: Encoding, shapes: &[(u32, u32)], copy: f64) -> Vec<f64> {
    let w = weight(enc, 1 << 30, 4096);
    let rows = w.rows;
    let plan = Plan::dense(vec![w]);
    let bytes = plan.ops_bytes(&plan.token_ops(0));
    let mut loaded = g
        .load(&plan, None, 8 << 30, 64 << 20, &mut |_, _| {})
        .expect("load");
    let mut out = Vec::new();
    for &(wg, tpr) in shapes {
        loaded.set_shape(wg, tpr);
        // GPU clocks drop while the CPU generates the next matrix: warm up for a second
        let mut warm = 0.0;
        while warm < 1.0 {
            warm += loaded.run_tokens(&plan, 0, 5).expect("warm").wall_seconds;
        }
        let run = loaded.run_tokens(&plan, 5, 20).expect("run");
        let per = run.seconds / 20.0;
        let bw = bytes as f64 / per;
        println!(
            "| {} | {wg}/{tpr} | {rows} | {:.3} | {:.1} | {:.0} | {:.3} |{}",
            enc.label(),
            bytes as f64 / 1e9,
            per * 1e6,
            bw / 1e9,
            bw / copy,
            if run.timestamps { "" } else { " (wall clock)" }
        );
        out.push(bw / copy);
    }
    out
}

fn kernels(g: &mut Gpu, copy: f64) {
    println!("\n## kernels: 1 GiB matrices, rows of 4096, 1 s of warm-up passes, then 20 timed");
    println!(
        "| kernel | workgroup/lanes per row | rows | GB read/pass | time/pass (µs) | effective GB/s | fraction of copy |"
    );
    println!("|---|---|---|---|---|---|---|");
    let shapes = [
        (64, 64),
        (256, 32),
        (256, 16),
        (128, 16),
        (128, 8),
        (256, 4),
        (128, 4),
        (64, 4),
    ];
    let mut score = vec![0f64; shapes.len()];
    for ty in [
        TensorType::Q4_0,
        TensorType::Q4_K,
        TensorType::Q6_K,
        TensorType::Q8_0,
    ] {
        for (s, f) in score
            .iter_mut()
            .zip(bench(g, Encoding::Ggml(ty), &shapes, copy))
        {
            *s += f;
        }
    }
    let best = (0..shapes.len())
        .max_by(|a, b| score[*a].total_cmp(&score[*b]))
        .unwrap_or(0);
    println!(
        "\nbest shape over Q4_0/Q4_K/Q6_K/Q8_0: {:?}\n",
        shapes[best]
    );
    let mut encs: Vec<Encoding> = SUPPORTED.iter().map(|t| Encoding::Ggml(*t)).collect();
    encs.push(Encoding::Mlx {
        bits: 4,
        group: 64,
        scale_type: ScaleType::BF16,
    });
    encs.push(Encoding::Mlx {
        bits: 8,
        group: 64,
        scale_type: ScaleType::BF16,
    });
    for enc in encs {
        bench(g, enc, &[shapes[best]], copy);
    }
    g.set_shape(shapes[best].0, shapes[best].1);
    // The decode below opens its own device and reads the kernel shape from the environment.
    // SAFETY: single-threaded here; no other thread reads or writes the environment.
    unsafe {
        std::env::set_var(
            "HEADROOM_MEASURE_SHAPE",
            format!("{},{}", shapes[best].0, shapes[best].1),
        )
    };
}

fn t(name: String, shape: &[u64], ty: TensorType) -> TensorInfo {
    let n: u64 = shape.iter().product();
    TensorInfo {
        name,
        shape: shape.to_vec(),
        ty,
        n_elements: n,
        n_bytes: n / ty.block_elems() * ty.block_bytes(),
        data: None,
    }
}

/// Llama-3-8B shapes (GGUF order), every matrix of type `ty`, output Q6_K as llama.cpp's mixes do.
fn llama8b(ty: TensorType) -> ModelDesc {
    let (e, ff, v, kv) = (4096u64, 14336u64, 128256u64, 1024u64);
    let mut ts = vec![t("token_embd.weight".into(), &[e, v], ty)];
    for l in 0..32 {
        ts.push(t(
            format!("blk.{l}.attn_norm.weight"),
            &[e],
            TensorType::F32,
        ));
        ts.push(t(format!("blk.{l}.attn_q.weight"), &[e, e], ty));
        ts.push(t(format!("blk.{l}.attn_k.weight"), &[e, kv], ty));
        ts.push(t(format!("blk.{l}.attn_v.weight"), &[e, kv], ty));
        ts.push(t(format!("blk.{l}.attn_output.weight"), &[e, e], ty));
        ts.push(t(format!("blk.{l}.ffn_norm.weight"), &[e], TensorType::F32));
        ts.push(t(format!("blk.{l}.ffn_gate.weight"), &[e, ff], ty));
        ts.push(t(format!("blk.{l}.ffn_up.weight"), &[e, ff], ty));
        ts.push(t(format!("blk.{l}.ffn_down.weight"), &[ff, e], ty));
    }
    ts.push(t("output_norm.weight".into(), &[e], TensorType::F32));
    ts.push(t("output.weight".into(), &[e, v], TensorType::Q6_K));
    ModelDesc {
        format: ModelFormat::Spec,
        source: "synthetic-llama3-8b".into(),
        name: format!("Llama-3-8B shapes, {ty}"),
        architecture: "llama".into(),
        hparams: HyperParams {
            n_layer: 32,
            n_embd: e,
            n_head: vec![32; 32],
            n_head_kv: vec![8; 32],
            head_dim_k: 128,
            head_dim_v: 128,
            n_ff: vec![ff; 32],
            context_length: 8192,
            vocab_size: v,
            ..Default::default()
        },
        tensors: ts,
        file_type: Some(ty.name().into()),
        mlx_quant: None,
        files: vec![],
        warnings: vec![],
    }
}

fn decode(backend: Backend) {
    println!(
        "\n## decode: synthetic Llama-3-8B shapes, context 4096, f16 KV, 32 timed tokens ({backend:?})"
    );
    println!(
        "| weights | weights GiB | bytes/token (GB) | tok/s | effective GB/s | copy GB/s | fraction | timestamps |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for ty in [TensorType::Q4_0, TensorType::Q4_K] {
        let m = llama8b(ty);
        let opts = MeasureOptions {
            backend,
            tokens: if backend == Backend::Cpu { 4 } else { 32 },
            context: 4096,
            cache_type_k: TensorType::F16,
            cache_type_v: TensorType::F16,
            budget_bytes: 60 << 30,
        };
        let r = measure(&m, &opts, &mut |_| {}).expect("measure");
        println!(
            "| {ty} (output Q6_K) | {:.2} | {:.3} | {:.1} | {:.0} | {:.0} | {:.3} | {} |",
            m.weights_bytes() as f64 / (1u64 << 30) as f64,
            r.bytes_per_token as f64 / 1e9,
            r.decode_tokens_per_s,
            r.effective_bandwidth_bytes_per_s / 1e9,
            r.copy_bandwidth_bytes_per_s / 1e9,
            r.effective_bandwidth_bytes_per_s / r.copy_bandwidth_bytes_per_s,
            r.timestamps
        );
        eprintln!("{}", serde_json::to_string(&r).unwrap_or_default());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.is_empty();
    let want = |s: &str| all || args.iter().any(|a| a == s);
    if want("kernels") || want("decode") {
        let mut g = Gpu::open().expect("adapter").expect("no wgpu adapter");
        println!("adapter: {}", g.adapter_name());
        println!("timestamps: {}", g.has_timestamps());
        let dma = g.copy_bandwidth(1 << 30).expect("copy");
        println!(
            "copy bandwidth (1 GiB copy_buffer_to_buffer, read+write): {:.0} GB/s",
            dma / 1e9
        );
        let shader = g.shader_copy_bandwidth(1 << 30).expect("shader copy");
        println!(
            "copy bandwidth (1 GiB compute-shader vec4 copy, read+write): {:.0} GB/s",
            shader / 1e9
        );
        let copy = dma.max(shader);
        if want("kernels") {
            kernels(&mut g, copy);
        }
        drop(g);
        if want("decode") {
            decode(Backend::Gpu);
        }
    }
    if args.iter().any(|a| a == "cpu") {
        decode(Backend::Cpu);
    }
}
