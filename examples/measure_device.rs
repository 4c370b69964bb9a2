//! Device benchmark for `--measure` (run on the GPU machine; see docs/benchmarks.md):
//! 1. the adapter's copy bandwidth (copy_buffer_to_buffer, bytes read + written per second);
//! 2. each dequant-matvec kernel on a ~1 GiB matrix (4096-wide rows): effective bandwidth (bytes of
//!    weights read per second, timestamp queries) and its fraction of the copy bandwidth;
//! 3. the full short decode of a synthetic Llama-3-8B-shaped model (Q4_0 and Q4_K) at 4096 context.
//!
//! 4. `ops`: each matrix-vector product of that decode (per type and shape) at every kernel shape.
//!
//! `cargo run --release --example measure_device -- [kernels] [ops] [decode] [cpu]`; knobs:
//! `HEADROOM_BENCH_TYPES=Q4_0,Q4_K` (only these), `HEADROOM_BENCH_MIB` (matrix size, default 1024),
//! `HEADROOM_BENCH_AUTO_ONLY=1` (only the shapes `shape_for` picks).

use headroom::measure::decode::{Encoding, MatVec, Part, Plan, Weight};
use headroom::measure::dequant::{SUPPORTED, ScaleType};
use headroom::measure::gpu::{Gpu, Shape};
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

fn has_alt(enc: Encoding) -> bool {
    matches!(
        enc,
        Encoding::Ggml(TensorType::Q4_0 | TensorType::Q8_0 | TensorType::Q4_K | TensorType::Q6_K)
    )
}

/// Lanes shapes (types with a lanes kernel): workgroups of 64, 128 and 256, 1, 2 and 4 rows per
/// workgroup, 1, 2 and 4 words per invocation and block (capped per type), 1, 2 and 4 blocks loaded
/// at a time; `HEADROOM_BENCH_LANES=shape;..` (`lanes::parse_shape`: `wg,nr[,qw[,u[,written]]]`)
/// instead sweeps just these.
fn lanes_shapes(enc: Encoding) -> Vec<Option<Shape>> {
    if headroom::measure::lanes::lanes_kernel(enc).is_none() {
        return vec![];
    }
    if let Ok(v) = std::env::var("HEADROOM_BENCH_LANES") {
        return v
            .split(';')
            .filter_map(|t| headroom::measure::lanes::parse_shape(t).map(Some))
            .collect();
    }
    let mut v = Vec::new();
    let maxq = headroom::measure::lanes::max_qw(enc);
    for wg in [64u32, 128, 256] {
        for nr in [1u32, 2, 4] {
            for qw in [1u32, 2, 4].into_iter().filter(|&q| q <= maxq) {
                for u in [1u32, 2, 4] {
                    v.push(Some(Shape::lanes(wg, nr).with_qw(qw).with_unroll(u)));
                }
            }
        }
    }
    v
}

/// Kernel shapes swept on the decode's products (`None`: `shape_for`'s choice): workgroups of 128 and
/// 256, 1–32 lanes per row, 1/2/4 rows per invocation (unit kernels), both unpackings where there are two.
fn sweep_shapes(enc: Encoding) -> Vec<Option<Shape>> {
    let unit = headroom::measure::gpu::has_unit(enc);
    let mut v = vec![None];
    if std::env::var("HEADROOM_BENCH_AUTO_ONLY").is_ok() {
        return v;
    }
    let lanes = lanes_shapes(enc);
    if !lanes.is_empty() {
        v.extend(lanes);
        return v;
    }
    let alts: &[bool] = if has_alt(enc) {
        &[true, false]
    } else {
        &[true]
    };
    for &alt in alts {
        for wg in [128u32, 256] {
            for tpr in [1u32, 2, 4, 8, 16, 32] {
                for nr in [1u32, 2, 4] {
                    if nr > 1 && !unit {
                        continue;
                    }
                    v.push(Some(Shape::new(wg, tpr, nr).with_alt(alt)));
                }
            }
        }
    }
    v
}

/// The shapes swept on the 1 GiB matrices (fewer: each takes a second of upload).
fn big_shapes(enc: Encoding) -> Vec<Option<Shape>> {
    let unit = headroom::measure::gpu::has_unit(enc);
    let mut v = vec![None];
    if std::env::var("HEADROOM_BENCH_AUTO_ONLY").is_ok() {
        return v;
    }
    let lanes = lanes_shapes(enc);
    if !lanes.is_empty() {
        v.extend(lanes);
        return v;
    }
    let list: &[(u32, u32, u32)] = if unit {
        &[
            (128, 1, 4),
            (128, 2, 4),
            (128, 4, 4),
            (256, 4, 4),
            (128, 1, 2),
            (128, 4, 2),
            (128, 1, 1),
            (128, 4, 1),
            (128, 8, 1),
        ]
    } else {
        &[
            (128, 1, 1),
            (128, 2, 1),
            (128, 4, 1),
            (128, 8, 1),
            (256, 4, 1),
        ]
    };
    let alts: &[bool] = if has_alt(enc) {
        &[true, false]
    } else {
        &[true]
    };
    for &alt in alts {
        for &(wg, tpr, nr) in list {
            v.push(Some(Shape::new(wg, tpr, nr).with_alt(alt)));
        }
    }
    v
}

/// `HEADROOM_BENCH_MINI`: the rule's shape, and with rows first at its lanes, half and twice.
fn mini_shapes(enc: Encoding, rows: u64, k: u64, xmod: u64) -> Vec<Option<Shape>> {
    let r = headroom::measure::gpu::shape_for(enc, rows, k, xmod);
    let mut v = vec![None, Some(r.with_rows_first(true))];
    if r.tpr > 1 {
        v.push(Some(
            Shape {
                tpr: r.tpr / 2,
                ..r
            }
            .with_rows_first(true),
        ));
    }
    if r.tpr < 64 {
        v.push(Some(
            Shape {
                tpr: r.tpr * 2,
                ..r
            }
            .with_rows_first(true),
        ));
    }
    v
}

fn label(s: Option<Shape>) -> String {
    s.map_or("auto".into(), |s| s.label())
}

/// Time `plan` (one token = its ops) at each shape: 1 untimed token (compiles the pipeline), then
/// `tokens` timed. Returns (shape, seconds per token).
fn time_shapes(
    loaded: &mut headroom::measure::gpu::Loaded<'_>,
    plan: &Plan,
    shapes: &[Option<Shape>],
    tokens: u32,
) -> Vec<(Option<Shape>, f64, bool)> {
    for &s in shapes {
        loaded.set_shape(s);
        loaded.run_tokens(plan, 0, 1).expect("compile");
    }
    // GPU clocks drop while the CPU generates data and compiles: warm up for a second
    let mut warm = 0.0;
    while warm < 1.0 {
        warm += loaded.run_tokens(plan, 0, 3).expect("warm").wall_seconds;
    }
    let mut best = vec![f64::INFINITY; shapes.len()];
    let mut ts = true;
    for _round in 0..2 {
        for (i, &s) in shapes.iter().enumerate() {
            loaded.set_shape(s);
            let run = loaded.run_tokens(plan, 1, tokens).expect("run");
            ts &= run.timestamps;
            best[i] = best[i].min(run.seconds / tokens as f64);
        }
    }
    loaded.set_shape(None);
    shapes.iter().zip(best).map(|(s, t)| (*s, t, ts)).collect()
}

fn bench(
    g: &mut Gpu,
    enc: Encoding,
    shapes: &[Option<Shape>],
    copy: f64,
) -> Vec<(Option<Shape>, f64)> {
    let w = weight(enc, bench_bytes(), 4096);
    let rows = w.rows;
    let plan = Plan::dense(vec![w]);
    let bytes = plan.ops_bytes(&plan.token_ops(0));
    let mut loaded = g
        .load(&plan, None, 8 << 30, 64 << 20, &mut |_, _| {})
        .expect("load");
    let mut out = Vec::new();
    for (s, per, ts) in time_shapes(&mut loaded, &plan, shapes, 20) {
        let bw = bytes as f64 / per;
        println!(
            "| {} | {} | {rows} | {:.3} | {:.1} | {:.0} | {:.3} |{}",
            enc.label(),
            label(s),
            bytes as f64 / 1e9,
            per * 1e6,
            bw / 1e9,
            bw / copy,
            if ts { "" } else { " (wall clock)" }
        );
        out.push((s, bw));
    }
    let best = out.iter().skip(1).max_by(|a, b| a.1.total_cmp(&b.1));
    if let (Some(b), Some(auto)) = (best, out.first()) {
        println!(
            "BEST kernel {} best {} {:.0} GB/s ({:.3}), auto {:.0} GB/s ({:.3})",
            enc.label(),
            label(b.0),
            b.1 / 1e9,
            b.1 / copy,
            auto.1 / 1e9,
            auto.1 / copy
        );
    }
    out
}

/// Bytes of each benchmark matrix (`HEADROOM_BENCH_MIB`, default 1024).
fn bench_bytes() -> u64 {
    std::env::var("HEADROOM_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1024)
        << 20
}

fn kernels(g: &mut Gpu, copy: f64) {
    println!(
        "\n## kernels: 1 GiB matrices, rows of 4096, 1 s of warm-up passes, then 2 × 20 timed (best)"
    );
    println!(
        "| kernel | wg/lanes per row/rows per invocation | rows | GB read/pass | time/pass (µs) | effective GB/s | fraction of copy |"
    );
    println!("|---|---|---|---|---|---|---|");
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
    let only: Option<Vec<String>> = std::env::var("HEADROOM_BENCH_TYPES")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    for enc in encs {
        if only.as_ref().is_some_and(|o| !o.contains(&enc.label())) {
            continue;
        }
        bench(g, enc, &big_shapes(enc), copy);
    }
}

/// The matrix-vector products of a Llama-3-8B token, one at a time: for each (type, rows, k, xmod),
/// enough distinct row ranges of one uploaded matrix (≥ 256 MB together, so the 50 MB L2 does not hold
/// them) run back to back in one pass, as the decode runs them; time per product at each shape.
fn ops(g: &mut Gpu) {
    println!("\n## decode products: time per product (µs) by shape, back to back in one pass");
    // the products as the decode dispatches them: Q/K/V and gate/up fused where they share a type
    // (Q4_K_M: Q and K fused, V Q6_K in some layers)
    let cases: Vec<(&str, TensorType, u64, u64, u64)> = {
        let mut v = Vec::new();
        for ty in [
            TensorType::Q4_0,
            TensorType::Q4_K,
            TensorType::Q2_K,
            TensorType::Q3_K,
            TensorType::Q5_0,
        ] {
            v.push(("qkv", ty, 6144, 4096, 1));
            v.push(("o", ty, 4096, 4096, 1));
            v.push(("gate+up", ty, 28672, 4096, 1));
            v.push(("down", ty, 4096, 14336, 1));
        }
        // gpt-oss-20b's experts (MXFP4, rows of 2880: 17-byte blocks at every alignment)
        v.push(("expert gate+up", TensorType::MXFP4, 5760, 2880, 1));
        v.push(("expert down", TensorType::MXFP4, 2880, 2880, 1));
        v.push(("qk", TensorType::Q4_K, 5120, 4096, 1));
        v.push(("v", TensorType::Q6_K, 1024, 4096, 1));
        v.push(("down", TensorType::Q6_K, 4096, 14336, 1));
        v.push(("output", TensorType::Q6_K, 128256, 4096, 1));
        v.push(("K cache", TensorType::F16, 32768, 128, 8));
        v.push(("V cache", TensorType::F16, 1024, 4096, 1));
        v.push(("tiny", TensorType::F16, 32, 128, 1));
        v
    };
    let only: Option<Vec<String>> = std::env::var("HEADROOM_BENCH_TYPES")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    println!("| product | type | rows × k | MB | shape | µs | GB/s |");
    println!("|---|---|---|---|---|---|---|");
    for (name, ty, rows, k, xmod) in cases {
        if only
            .as_ref()
            .is_some_and(|o| !o.contains(&ty.name().to_string()))
        {
            continue;
        }
        if std::env::var("HEADROOM_BENCH_MINI").is_ok()
            && matches!(name, "qk" | "v" | "output" | "tiny")
        {
            continue;
        }
        let rb = ty.row_bytes(k).expect("whole blocks");
        let bytes = rows * rb;
        let ops_bytes = std::env::var("HEADROOM_BENCH_OPS_MIB")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(256)
            << 20;
        let copies = ops_bytes.div_ceil(bytes).clamp(1, 64);
        let total_rows = rows * copies;
        let w = Weight {
            name: name.into(),
            enc: Encoding::Ggml(ty),
            rows: total_rows,
            k,
            row_bytes: rb,
            q: Part::Synthetic {
                seed: 5,
                len: total_rows * rb,
                ty,
            },
            scales: None,
            biases: None,
        };
        let list: Vec<MatVec> = (0..copies)
            .map(|c| MatVec {
                w: 0,
                row0: c * rows,
                rows,
                xmod,
            })
            .collect();
        let plan = Plan::custom(vec![w], &list);
        {
            let mut loaded = g
                .load(&plan, None, 8 << 30, 64 << 20, &mut |_, _| {})
                .expect("load");
            let shapes = if std::env::var("HEADROOM_BENCH_MINI").is_ok() {
                mini_shapes(Encoding::Ggml(ty), rows, k, xmod)
            } else {
                sweep_shapes(Encoding::Ggml(ty))
            };
            let res = time_shapes(&mut loaded, &plan, &shapes, 3);
            let mut best: Option<(Option<Shape>, f64)> = None;
            for (s, per, _) in &res {
                let us = per / copies as f64 * 1e6;
                println!(
                    "| {name} | {ty} | {rows} × {k} | {:.1} | {} | {us:.2} | {:.0} |",
                    bytes as f64 / 1e6,
                    label(*s),
                    bytes as f64 / us / 1e3
                );
                if s.is_some() && best.is_none_or(|b| us < b.1) {
                    best = Some((*s, us));
                }
            }
            if let (Some(b), Some(auto)) = (best, res.first()) {
                let au = auto.1 / copies as f64 * 1e6;
                println!(
                    "BEST op {name} {ty} {rows}x{k}: best {} {:.2} us ({:.0} GB/s), auto {} {au:.2} us ({:.0} GB/s)",
                    label(b.0),
                    b.1,
                    bytes as f64 / b.1 / 1e3,
                    headroom::measure::gpu::shape_for(Encoding::Ggml(ty), rows, k, xmod).label(),
                    bytes as f64 / au / 1e3
                );
            }
            if let Some((Some(b), _)) = best {
                headroom::measure::gpu::set_tuned_shape(Encoding::Ggml(ty), rows, k, xmod, b);
            }
        }
    }
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

/// Llama-3-8B shapes (GGUF order), every matrix of type `ty`, output Q6_K as llama.cpp's mixes do;
/// `km`: llama.cpp's Q4_K_M mix instead (attn_v and ffn_down Q6_K in the first and last eighth of the
/// layers and every third between, `use_more_bits`).
fn llama8b(ty: TensorType, km: bool) -> ModelDesc {
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
        let more = km && (!(4..28).contains(&l) || (l - 4) % 3 == 2);
        let tv = if more { TensorType::Q6_K } else { ty };
        ts.push(t(format!("blk.{l}.attn_v.weight"), &[e, kv], tv));
        ts.push(t(format!("blk.{l}.attn_output.weight"), &[e, e], ty));
        ts.push(t(format!("blk.{l}.ffn_norm.weight"), &[e], TensorType::F32));
        ts.push(t(format!("blk.{l}.ffn_gate.weight"), &[e, ff], ty));
        ts.push(t(format!("blk.{l}.ffn_up.weight"), &[e, ff], ty));
        ts.push(t(format!("blk.{l}.ffn_down.weight"), &[ff, e], tv));
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
    for (ty, km) in [
        (TensorType::Q4_0, false),
        (TensorType::Q4_K, false),
        (TensorType::Q4_K, true),
    ] {
        let name = format!("{ty}{}", if km { "_M" } else { "" });
        if let Ok(only) = std::env::var("HEADROOM_BENCH_MODELS")
            && !only.split(',').any(|o| o == name)
        {
            continue;
        }
        let m = llama8b(ty, km);
        let opts = MeasureOptions {
            backend,
            tokens: if backend == Backend::Cpu { 4 } else { 32 },
            context: 4096,
            cache_type_k: TensorType::F16,
            cache_type_v: TensorType::F16,
            budget_bytes: 60 << 30,
        };
        for _ in 0..decode_repeats() {
            let r = measure(&m, &opts, &mut |_| {}).expect("measure");
            println!(
                "| {ty}{} (output Q6_K) | {:.2} | {:.3} | {:.1} | {:.0} | {:.0} | {:.3} | {} |",
                if km { " (Q4_K_M mix)" } else { "" },
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
}

/// Runs of each decode (`HEADROOM_BENCH_DECODE_RUNS`, default 1).
fn decode_repeats() -> u32 {
    std::env::var("HEADROOM_BENCH_DECODE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.is_empty();
    let want = |s: &str| all || args.iter().any(|a| a == s);
    if want("kernels") || want("decode") || want("ops") {
        let mut g = Gpu::open().expect("adapter").expect("no wgpu adapter");
        println!("adapter: {}", g.adapter_name());
        println!("timestamps: {}", g.has_timestamps());
        let dma = g.copy_bandwidth(1 << 30).expect("copy");
        println!(
            "copy bandwidth (1 GiB copy_buffer_to_buffer, read+write): {:.0} GB/s",
            dma / 1e9
        );
        let shader = g
            .shader_copy_bandwidth((1u64 << 30).min(g.max_binding()))
            .expect("shader copy");
        println!(
            "copy bandwidth (1 GiB compute-shader vec4 copy, read+write): {:.0} GB/s",
            shader / 1e9
        );
        let copy = dma.max(shader);
        println!("subgroup reductions: {}", g.subgroup_size());
        // ops first: the decode then runs each product at the best shape the sweep found
        if want("ops") {
            ops(&mut g);
        }
        if want("decode") {
            decode(Backend::Gpu);
            if std::env::var("HEADROOM_BENCH_FUSE_AB").is_ok() {
                println!("\nsame, without fused products (HEADROOM_MEASURE_FUSE=0):");
                // SAFETY: single-threaded here; no other thread reads or writes the environment.
                unsafe {
                    std::env::set_var("HEADROOM_MEASURE_FUSE", "0");
                    std::env::set_var("HEADROOM_BENCH_DECODE_RUNS", "1");
                }
                decode(Backend::Gpu);
                unsafe { std::env::remove_var("HEADROOM_MEASURE_FUSE") };
            }
        }
        if want("kernels") {
            kernels(&mut g, copy);
        }
    }
    if args.iter().any(|a| a == "cpu") {
        decode(Backend::Cpu);
    }
}
