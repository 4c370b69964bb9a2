//! Every WGSL dequant-matvec kernel against the CPU reference (`measure::cpu`), on random well-formed
//! blocks, through the same upload/dispatch path the decode uses. Runs on whatever adapter wgpu finds
//! (lavapipe in CI: `apt-get install mesa-vulkan-drivers libvulkan1`, `WGPU_BACKEND=vulkan`). With no
//! adapter the tests print why and pass, except when `CI=true`, where they fail.

use headroom::measure::cpu::{CpuWeight, load};
use headroom::measure::decode::{Encoding, MatVec, Part, Plan, Weight};
use headroom::measure::dequant::{SUPPORTED, ScaleType};
use headroom::measure::gpu::{Gpu, Shape};
use headroom::model::TensorType;

fn open() -> Option<Gpu> {
    match Gpu::open() {
        Ok(Some(g)) => Some(g),
        other => {
            let why = match other {
                Err(e) => format!("adapter error: {e}"),
                _ => "no wgpu adapter".to_string(),
            };
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but the GPU tests cannot run: {why}");
            }
            eprintln!("SKIPPED: {why} (install mesa-vulkan-drivers for lavapipe)");
            None
        }
    }
}

fn ggml_weight(ty: TensorType, rows: u64, k: u64, seed: u64) -> Weight {
    let row_bytes = ty.row_bytes(k).unwrap();
    Weight {
        name: format!("{ty}-{rows}x{k}"),
        enc: Encoding::Ggml(ty),
        rows,
        k,
        row_bytes,
        q: Part::Synthetic {
            seed,
            len: rows * row_bytes,
            ty,
        },
        scales: None,
        biases: None,
    }
}

fn mlx_weight(bits: u32, group: u32, st: ScaleType, rows: u64, k: u64, seed: u64) -> Weight {
    let sty = match st {
        ScaleType::F32 => TensorType::F32,
        ScaleType::F16 => TensorType::F16,
        ScaleType::BF16 => TensorType::BF16,
    };
    let srow = k / group as u64 * st.bytes() as u64;
    Weight {
        name: format!("mlx{bits}"),
        enc: Encoding::Mlx {
            bits,
            group,
            scale_type: st,
        },
        rows,
        k,
        row_bytes: k * bits as u64 / 8,
        q: Part::Synthetic {
            seed,
            len: rows * k * bits as u64 / 8,
            ty: TensorType::U8,
        },
        scales: Some(Part::Synthetic {
            seed: seed + 1,
            len: rows * srow,
            ty: sty,
        }),
        biases: Some(Part::Synthetic {
            seed: seed + 2,
            len: rows * srow,
            ty: sty,
        }),
    }
}

/// The input the kernel of `w` dots: `x` as is, or as quantized to 8 bits (`d·q`) where the lanes
/// kernels of Q4_0 and Q8_0 run (integer dot products, as llama.cpp's).
fn reference_input(loaded: &headroom::measure::gpu::Loaded<'_>, w: &Weight) -> Vec<f32> {
    let mut x = loaded.x().to_vec();
    if loaded.gpu().quantizes_input(w.enc, w.k) {
        let (qv, ds) = headroom::measure::lanes::quantize_input(loaded.x());
        for (e, v) in x.iter_mut().enumerate() {
            *v = ds[2 * (e / 32)] * (qv[e] as i8) as f32;
        }
    }
    x
}

/// Run `plan`'s token 0 on the GPU and compare the last op's outputs with the CPU reference.
fn check(g: &mut Gpu, w: Weight, xmod: u64) {
    let label = format!("{} {}x{} xmod {xmod}", w.enc.label(), w.rows, w.k);
    let op = MatVec {
        w: 0,
        row0: 0,
        rows: w.rows,
        xmod,
    };
    let plan = Plan::custom(vec![w], &[op]);
    let w = &plan.weights[0];
    let cw = CpuWeight {
        q: load(None, &w.q, &w.name).unwrap(),
        scales: w.scales.as_ref().map(|p| load(None, p, "s").unwrap()),
        biases: w.biases.as_ref().map(|p| load(None, p, "b").unwrap()),
    };
    let mut loaded = g
        .load(&plan, None, 1 << 30, 1 << 20, &mut |_, _| {})
        .unwrap();
    loaded.run_tokens(&plan, 0, 1).unwrap();
    let y = loaded.read_y(w.rows).unwrap();
    let x = reference_input(&loaded, w);
    assert_eq!(plan.token_ops(0), vec![op]);
    for r in 0..w.rows {
        let xo = ((r % xmod) * w.k) as usize;
        let want = cw.dot(w, r, &x[xo..xo + w.k as usize]);
        let tol = 1e-4 * (want.abs() + 1e-3) + 1e-5;
        assert!(
            (y[r as usize] - want).abs() <= tol.max(1e-4 * want.abs()),
            "{label} row {r}: gpu {} cpu {want}",
            y[r as usize]
        );
    }
    eprintln!("{label}: {} rows match", w.rows);
}

/// Token 0 of a one-product plan against the CPU reference, normwise: the largest row error within
/// `rel` of the largest row (1e-5: f32 sums in another order differ by that much relative to the
/// terms; rows that cancel to near zero make a per-row relative test fail on rounding alone).
fn check_norm(g: &mut Gpu, w: Weight, rel: f32) {
    let label = format!("{} {}x{}", w.enc.label(), w.rows, w.k);
    let op = MatVec {
        w: 0,
        row0: 0,
        rows: w.rows,
        xmod: 1,
    };
    let plan = Plan::custom(vec![w], &[op]);
    let w = &plan.weights[0];
    let cw = CpuWeight {
        q: load(None, &w.q, &w.name).unwrap(),
        scales: w.scales.as_ref().map(|p| load(None, p, "s").unwrap()),
        biases: w.biases.as_ref().map(|p| load(None, p, "b").unwrap()),
    };
    let mut loaded = g
        .load(&plan, None, 1 << 30, 1 << 20, &mut |_, _| {})
        .unwrap();
    loaded.run_tokens(&plan, 0, 1).unwrap();
    let y = loaded.read_y(w.rows).unwrap();
    let x = reference_input(&loaded, w);
    let want: Vec<f32> = (0..w.rows)
        .map(|r| cw.dot(w, r, &x[..w.k as usize]))
        .collect();
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    for (r, (g, c)) in y.iter().zip(&want).enumerate() {
        assert!(
            (g - c).abs() <= rel * scale && g.is_finite(),
            "{label} row {r}: gpu {g} cpu {c} (largest row {scale})"
        );
    }
}

#[test]
fn every_ggml_kernel_matches_the_cpu_reference() {
    let Some(mut g) = open() else { return };
    eprintln!("adapter: {}", g.adapter_name());
    for (i, &ty) in SUPPORTED.iter().enumerate() {
        let be = ty.block_elems().max(32);
        // one width per invocations-per-row variant: 4, 16 and 64 lanes
        let widths: Vec<u64> = if be == 256 {
            vec![256, 512, 2560]
        } else {
            vec![96, 512, 2080]
        };
        for (j, k) in widths.into_iter().enumerate() {
            check(&mut g, ggml_weight(ty, 37, k, (i * 10 + j) as u64), 1);
        }
    }
}

#[test]
fn scalar_kernels_handle_rows_that_are_not_multiples_of_32() {
    let Some(mut g) = open() else { return };
    for ty in [TensorType::F32, TensorType::F16, TensorType::BF16] {
        check(&mut g, ggml_weight(ty, 9, 77, 4), 1);
    }
}

#[test]
fn every_mlx_kernel_matches_the_cpu_reference() {
    let Some(mut g) = open() else { return };
    for bits in [4, 8] {
        for group in [32, 64, 128] {
            for st in [ScaleType::F32, ScaleType::F16, ScaleType::BF16] {
                check(
                    &mut g,
                    mlx_weight(bits, group, st, 21, 1024, bits as u64 * 100 + group as u64),
                    1,
                );
            }
        }
    }
}

#[test]
fn tensors_split_over_several_bindings_give_the_same_rows() {
    let Some(mut g) = open() else { return };
    // 144-byte rows, 1000-byte bindings: 6 rows per binding, 17 bindings
    g.limit_binding(1000);
    check(&mut g, ggml_weight(TensorType::Q4_K, 100, 256, 77), 1);
    g.limit_binding(600);
    check(&mut g, mlx_weight(4, 64, ScaleType::BF16, 10, 256, 5), 1);
    // rows of 512 and more run the lanes kernels (on by default off Metal): MLX's group index
    // from the row's address inside its chunk, MXFP4's 323-byte rows at chunk starts
    g.limit_binding(1000);
    check(&mut g, mlx_weight(4, 64, ScaleType::F16, 11, 512, 6), 1);
    check(&mut g, mlx_weight(8, 32, ScaleType::F32, 7, 512, 7), 1);
    check(&mut g, ggml_weight(TensorType::MXFP4, 13, 608, 8), 1);
}

#[test]
fn kv_cache_rows_read_their_own_head_of_x() {
    let Some(mut g) = open() else { return };
    // K-cache layout: row = position * n_kv + head reads query head `head`
    check(&mut g, ggml_weight(TensorType::F16, 64, 128, 8), 4);
    check(&mut g, ggml_weight(TensorType::Q8_0, 30, 64, 9), 3);
}

#[test]
fn unit_kernels_match_the_cpu_reference_at_every_shape() {
    let Some(mut g) = open() else { return };
    eprintln!("subgroup size: {}", g.subgroup_size());
    let types = [
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
        TensorType::F16,
        TensorType::BF16,
        TensorType::F32,
    ];
    // rows not a multiple of 4 (tail groups), rows whose units do not divide among the lanes, and
    // (Q6_K: 5 super-blocks = 2 units + 1 block) a tail of generic sub-blocks
    let shapes = [
        Shape::new(64, 1, 4),
        Shape::new(128, 2, 2),
        Shape::new(128, 4, 1),
        Shape::new(64, 8, 4),
        Shape::new(256, 32, 2),
        Shape::new(128, 64, 4),
    ];
    for (sg, mant, rows) in [
        (true, true, false),
        (true, false, false),
        (true, true, true),
        (false, true, false),
    ] {
        if !sg {
            g.disable_subgroups();
        }
        for (i, &ty) in types.iter().enumerate() {
            let k = match ty {
                TensorType::Q6_K => 1536,
                // 3 units of 4 super-blocks (rows must be 16-aligned for the unit path)
                TensorType::Q2_K => 3072,
                // 2 units of 8 super-blocks
                TensorType::Q3_K => 4096,
                // 3 units of 16 blocks (rows must be 16-aligned for the unit path)
                TensorType::MXFP4 => 1536,
                _ if ty.block_elems() == 256 => 1280,
                _ => 608,
            };
            // every shape with the defaults; two with each other option (lavapipe compiles slowly)
            let n = if sg && mant && !rows { shapes.len() } else { 2 };
            for (j, &s) in shapes.iter().enumerate().take(n) {
                g.set_shape(Some(s.with_alt(mant).with_rows_first(rows)));
                check_norm(&mut g, ggml_weight(ty, 23, k, (i * 10 + j) as u64), 1e-5);
            }
        }
    }
    // MLX affine units at a few shapes (every group size and scale type: the test above)
    for (j, &s) in shapes.iter().enumerate().take(3) {
        g.set_shape(Some(s));
        for bits in [4, 8] {
            for group in [32, 128] {
                for st in [ScaleType::F32, ScaleType::BF16] {
                    check_norm(
                        &mut g,
                        mlx_weight(bits, group, st, 23, 1280, (bits * group) as u64 + j as u64),
                        1e-5,
                    );
                }
            }
        }
    }
    g.set_shape(Some(Shape::new(64, 4, 4)));
    // rows that read different inputs always go one row per invocation
    check(&mut g, ggml_weight(TensorType::F16, 64, 128, 8), 4);
    g.set_shape(None);
}

#[test]
fn back_to_back_products_of_one_type_share_a_buffer_and_a_dispatch() {
    let Some(mut g) = open() else { return };
    // Q/K/V: three Q4_K matrices of one width, fused into one dispatch writing 37 + 21 + 21 rows;
    // the output projection after them (same type and width) reads another input in a real decode,
    // so it is not fused: its 5 rows land at y[0..5], over Q's first rows

    let named = |name: &str, w: Weight| Weight {
        name: name.into(),
        ..w
    };
    let ws = vec![
        named(
            "blk.0.attn_q.weight",
            ggml_weight(TensorType::Q4_K, 37, 512, 1),
        ),
        named(
            "blk.0.attn_k.weight",
            ggml_weight(TensorType::Q4_K, 21, 512, 2),
        ),
        named(
            "blk.0.attn_v.weight",
            ggml_weight(TensorType::Q4_K, 21, 512, 3),
        ),
        named(
            "blk.0.attn_output.weight",
            ggml_weight(TensorType::Q4_K, 5, 512, 4),
        ),
    ];
    let ops: Vec<MatVec> = (0..4)
        .map(|w| MatVec {
            w,
            row0: 0,
            rows: ws[w].rows,
            xmod: 1,
        })
        .collect();
    let plan = Plan::custom(ws, &ops);
    let cws: Vec<CpuWeight> = plan
        .weights
        .iter()
        .map(|w| CpuWeight {
            q: load(None, &w.q, &w.name).unwrap(),
            scales: None,
            biases: None,
        })
        .collect();
    let mut loaded = g
        .load(&plan, None, 1 << 30, 1 << 20, &mut |_, _| {})
        .unwrap();
    loaded.run_tokens(&plan, 0, 1).unwrap();
    let y = loaded.read_y(79).unwrap();
    assert_eq!(y.len(), 79, "y holds the fused run's rows");
    let x = reference_input(&loaded, &plan.weights[0]);
    let mut o = 0usize;
    for (wi, w) in plan.weights.iter().enumerate() {
        if wi == 3 {
            o = 0;
        }
        for r in 0..w.rows {
            if wi == 0 && r < 5 {
                continue; // overwritten by the output projection
            }
            let want = cws[wi].dot(w, r, &x[..w.k as usize]);
            let got = y[o + r as usize];
            assert!(
                (got - want).abs() <= 1e-4 * (want.abs() + 1e-3) + 1e-5,
                "weight {wi} row {r}: gpu {got} cpu {want}"
            );
        }
        o += w.rows as usize;
    }
}

#[test]
fn lanes_kernels_match_the_cpu_reference() {
    use headroom::measure::lanes::{LanesInput, lanes_kernel};
    let Some(mut g) = open() else { return };
    // Q4_0, Q8_0 and MXFP4 rows of 19 blocks (2-aligned rows, or for MXFP4's 17-byte blocks every
    // alignment: blocks at odd word offsets, the funnel-shifted loads), Q4_K of 5 super-blocks, Q6_K
    // of 6 (210-byte blocks, 2-aligned), Q5_K and Q2_K of 5, Q3_K of 5 (110-byte blocks: rows and
    // blocks alternate between whole and half words) and of 6 (rows of whole words, blocks
    // alternating); 23 rows (a tail group)
    let mut cases: Vec<Weight> = [
        (TensorType::Q4_0, 608),
        (TensorType::Q8_0, 608),
        (TensorType::Q4_1, 608),
        (TensorType::Q5_0, 608),
        (TensorType::Q5_1, 608),
        (TensorType::MXFP4, 608),
        (TensorType::Q4_K, 1280),
        (TensorType::Q6_K, 1536),
        (TensorType::Q5_K, 1280),
        (TensorType::Q2_K, 1280),
        (TensorType::Q3_K, 1280),
        (TensorType::Q3_K, 1536),
        (TensorType::F16, 640),
        (TensorType::BF16, 640),
        (TensorType::F32, 640),
    ]
    .iter()
    .enumerate()
    .map(|(i, &(ty, k))| ggml_weight(ty, 23, k, 40 + 10 * i as u64))
    .collect();
    // MLX affine 4- and 8-bit, each scale type, groups of 32, 64 (10 per row) and 128 (9)
    for bits in [4, 8] {
        for st in [ScaleType::F32, ScaleType::F16, ScaleType::BF16] {
            for (group, k) in [(32, 640), (64, 640), (128, 1152)] {
                let seed = 500 + cases.len() as u64 * 10;
                cases.push(mlx_weight(bits, group, st, 23, k, seed));
            }
        }
    }
    // (lavapipe's subgroups are 8 wide: the workgroups of 8 reduce and write in one subgroup, as
    // the 32-wide ones do on an NVIDIA GPU)
    let shapes = [
        Shape::lanes(8, 4).with_qw(4),
        Shape::lanes(8, 3).with_qw(4),
        Shape::lanes(8, 2).with_qw(4).with_unroll(2),
        Shape::lanes(32, 1),
        Shape::lanes(64, 4).with_qw(2),
        Shape::lanes(128, 2).with_qw(4).with_unroll(2),
        Shape::lanes(256, 3).with_unroll(3),
        Shape::lanes(64, 2).with_qw(4).with_unroll(4),
        Shape::lanes(32, 2).with_qw(2).with_unroll(2),
        Shape::lanes(64, 4).with_qw(4).with_alt(true),
        Shape::lanes(128, 2)
            .with_qw(2)
            .with_unroll(2)
            .with_alt(true),
    ];
    for sg in [true, false] {
        if !sg {
            g.disable_subgroups();
        }
        for w in &cases {
            let q8 = lanes_kernel(w.enc).unwrap().input != LanesInput::F32x2;
            for (j, &s) in shapes.iter().enumerate() {
                g.set_shape(Some(s));
                // the 8-bit kernels dot the input as quantized: the reference takes d·q for x
                assert_eq!(
                    g.quantizes_input(w.enc, w.k),
                    q8,
                    "{:?} {}",
                    w.enc,
                    s.label()
                );
                let mut w = w.clone();
                if let Part::Synthetic { seed, .. } = &mut w.q {
                    *seed += j as u64;
                }
                check_norm(&mut g, w, 2e-5);
            }
        }
        // K and V cache products: every row reads its own head's input (one row per workgroup)
        g.set_shape(None);
        for ty in [TensorType::F16, TensorType::Q8_0, TensorType::Q4_0] {
            check(&mut g, ggml_weight(ty, 48, 512, 70), 4);
        }
    }
    g.set_shape(None);
}
