//! The CPU decode's fused dequant-dot kernels (`measure::cpudot`) against dequantize-then-dot: every
//! supported type, every kernel level this CPU runs, random blocks; and against the `gguf` Python
//! package's own dequantized values (tests/fixtures/dequant, written by scripts/make_dequant_fixtures.py).
//!
//! Kernels that quantize the input vector (Q8_0, Q4_0, Q4_K, Q6_K) may differ from the exact dot by
//! at most the input's rounding: each element moves by at most half its block's step `|d_x|/2`, so
//! `|fused − exact| ≤ Σ_i |w_i|·|d_x(i)|/2` (plus f32 summation error). The SIMD levels must equal the
//! portable level on the same quantized input up to summation order.

use headroom::measure::cpudot::{Act, ActKind, Kernel, Level, QK_K, QK8_0, available_levels};
use headroom::measure::dequant::{SUPPORTED, dequantize_row};
use headroom::measure::source::{Rng, random_blocks};
use headroom::model::TensorType;
use std::path::PathBuf;

/// Per-element bound on the input's rounding for `kind`, from the quantized input itself.
fn rounding(kind: ActKind, act: &Act, i: usize) -> f64 {
    match kind {
        ActKind::F32 => 0.0,
        ActKind::Q8_0 => act.d[i / QK8_0].abs() as f64 / 2.0,
        ActKind::Q8K => act.d[i / QK_K].abs() as f64 / 2.0,
    }
}

/// Check `kern` on one row against the dequantized weights `w`; returns the fused result.
fn check(ty: TensorType, lvl: Level, kern: Kernel, row: &[u8], w: &[f32], x: &[f32]) -> f32 {
    let mut act = Act::default();
    let kind = kern.act();
    act.quantize(kind, x);
    let got = kern.dot(row, &act.view(kind, x, 0, x.len())) as f64;
    let exact: f64 = w.iter().zip(x).map(|(a, b)| *a as f64 * *b as f64).sum();
    let mag: f64 = w
        .iter()
        .zip(x)
        .map(|(a, b)| (*a as f64 * *b as f64).abs())
        .sum();
    let bound: f64 = w
        .iter()
        .enumerate()
        .map(|(i, a)| a.abs() as f64 * rounding(kind, &act, i))
        .sum();
    let tol = bound + 2e-5 * (mag + bound) + 1e-30;
    assert!(
        (got - exact).abs() <= tol,
        "{ty} at {}: fused {got} vs exact {exact} (allowed {tol:e}, rounding bound {bound:e})",
        lvl.name()
    );
    got as f32
}

fn random_x(rng: &mut Rng, n: usize) -> Vec<f32> {
    let mut x: Vec<f32> = (0..n).map(|_| rng.unit() * 3.0).collect();
    // a block of zeros (scale 0) and a block with one large value
    if n >= 2 * QK_K {
        x[..QK8_0].fill(0.0);
        x[QK_K] = 40.0;
    }
    x
}

#[test]
fn every_type_every_level_matches_dequantize_then_dot() {
    let levels = available_levels();
    assert!(levels.contains(&Level::Scalar) && levels.contains(&Level::Reference));
    let mut rng = Rng::new(11);
    for &ty in SUPPORTED {
        // 8 super-blocks for 256-element types, 67 blocks of 32 (a tail after the 8-block steps
        // of the AVX-512 kernels), and an odd length (a tail) for plain floats
        for k in [2048usize, 4096 + 256, 67 * 32, 1000] {
            if !(k as u64).is_multiple_of(ty.block_elems()) {
                continue;
            }
            let rb = ty.row_bytes(k as u64).unwrap() as usize;
            for rep in 0..4 {
                let mut row = vec![0u8; rb];
                random_blocks(ty, &mut rng, &mut row);
                let mut w = vec![0f32; k];
                dequantize_row(ty, &row, &mut w).unwrap();
                let x = random_x(&mut rng, k);
                let mut results = Vec::new();
                for &lvl in &levels {
                    let kern = Kernel::at(ty, lvl);
                    results.push((lvl, kern, check(ty, lvl, kern, &row, &w, &x)));
                }
                // SIMD levels against the portable one on the same quantized input
                let (_, _, scalar) = results
                    .iter()
                    .find(|(l, _, _)| *l == Level::Scalar)
                    .copied()
                    .unwrap();
                let mag: f32 = w.iter().zip(&x).map(|(a, b)| (a * b).abs()).sum();
                for (lvl, _, got) in &results {
                    if matches!(*lvl, Level::Avx2 | Level::Avx512) {
                        assert!(
                            (got - scalar).abs() <= 1e-5 * mag + 1e-30,
                            "{ty} k={k} rep {rep}: {} gives {got}, scalar {scalar}",
                            lvl.name()
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn fast_kernels_exist_for_the_common_types() {
    // the decode must not fall back to the reference path for the types models are made of
    for ty in [
        TensorType::Q8_0,
        TensorType::Q4_0,
        TensorType::Q4_K,
        TensorType::Q6_K,
    ] {
        assert!(
            matches!(Kernel::at(ty, Level::Scalar), Kernel::Fast { .. }),
            "{ty}"
        );
    }
    if available_levels().contains(&Level::Avx512) {
        for ty in [
            TensorType::Q8_0,
            TensorType::Q4_0,
            TensorType::Q4_K,
            TensorType::Q6_K,
            TensorType::F16,
        ] {
            assert!(
                matches!(Kernel::at(ty, Level::Avx512), Kernel::Fast { .. }),
                "{ty}"
            );
        }
    }
    if available_levels().contains(&Level::Avx2) {
        for ty in [TensorType::F16, TensorType::BF16, TensorType::F32] {
            assert!(
                matches!(Kernel::at(ty, Level::Avx2), Kernel::Fast { .. }),
                "{ty}"
            );
        }
    }
}

#[test]
fn windows_equal_quantizing_the_window_alone() {
    // attention's K-cache product reads the input at an offset; quantized blocks must line up
    let mut rng = Rng::new(5);
    let x: Vec<f32> = (0..4 * QK_K).map(|_| rng.unit()).collect();
    for kind in [ActKind::Q8_0, ActKind::Q8K] {
        let mut whole = Act::default();
        whole.quantize(kind, &x);
        let (off, k) = (QK_K, 2 * QK_K);
        let mut part = Act::default();
        part.quantize(kind, &x[off..off + k]);
        let a = whole.view(kind, &x, off, k);
        let b = part.view(kind, &x[off..off + k], 0, k);
        assert_eq!(a.qs, b.qs, "{kind:?}");
        assert_eq!(a.d, b.d, "{kind:?}");
        assert_eq!(a.bsums, b.bsums, "{kind:?}");
        assert_eq!(a.x, b.x, "{kind:?}");
    }
}

#[test]
fn fused_dot_of_gguf_py_fixtures() {
    // outside truth: the values gguf-py 0.19.0 dequantizes these blocks to
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dequant");
    let mut rng = Rng::new(9);
    for &ty in SUPPORTED {
        let blocks = std::fs::read(dir.join(format!("{}.blocks", ty.name()))).unwrap();
        let expected: Vec<f32> = std::fs::read(dir.join(format!("{}.f32", ty.name())))
            .unwrap()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let k = expected.len();
        let x = random_x(&mut rng, k);
        for lvl in available_levels() {
            check(ty, lvl, Kernel::at(ty, lvl), &blocks, &expected, &x);
        }
    }
}
