//! The CPU reference dequantizer against gguf-py 0.19.0's `gguf.quants.dequantize` (fixtures written by
//! scripts/make_dequant_fixtures.py), and MLX affine against its defining formula.

use headroom::measure::dequant::{MlxRow, SUPPORTED, ScaleType, dequantize_row, dot_row};
use headroom::measure::source::{Rng, random_blocks};
use headroom::model::TensorType;
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dequant")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn every_supported_type_matches_gguf_py() {
    for &ty in SUPPORTED {
        let blocks = fixture(&format!("{}.blocks", ty.name()));
        let expected: Vec<f32> = fixture(&format!("{}.f32", ty.name()))
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let n = blocks.len() as u64 / ty.block_bytes() * ty.block_elems();
        assert_eq!(n as usize, expected.len(), "{ty}: fixture sizes");
        let mut got = vec![0f32; n as usize];
        dequantize_row(ty, &blocks, &mut got).unwrap();
        let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert!(
                (g - e).abs() <= 1e-6 * scale,
                "{ty} element {i}: got {g}, gguf-py says {e}"
            );
        }
        // the fused dot agrees with dequantize-then-dot
        let mut rng = Rng::new(3);
        let x: Vec<f32> = (0..n).map(|_| rng.unit()).collect();
        let want: f64 = got.iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
        let dot = dot_row(ty, &blocks, &x).unwrap() as f64;
        let mag: f64 = got
            .iter()
            .zip(&x)
            .map(|(a, b)| (*a as f64 * *b as f64).abs())
            .sum();
        assert!(
            (dot - want).abs() <= 1e-5 * mag.max(1e-30),
            "{ty}: dot {dot} vs {want}"
        );
    }
}

#[test]
fn fixtures_are_nontrivial() {
    // a fixture of zeros would make the comparison vacuous
    for &ty in SUPPORTED {
        let v = fixture(&format!("{}.f32", ty.name()));
        assert!(
            v.chunks_exact(4)
                .filter(|c| f32::from_le_bytes((*c).try_into().unwrap()) != 0.0)
                .count()
                > v.len() / 8,
            "{ty}"
        );
    }
}

#[test]
fn mlx_affine_is_scale_times_q_plus_bias() {
    let mut rng = Rng::new(5);
    for bits in [4u32, 8] {
        for group in [32usize, 64, 128] {
            for st in [ScaleType::F32, ScaleType::F16, ScaleType::BF16] {
                let k = 256;
                let mut q = vec![0u8; k * bits as usize / 8];
                rng.fill(&mut q);
                let ng = k / group;
                let enc = |v: f32| -> Vec<u8> {
                    match st {
                        ScaleType::F32 => v.to_le_bytes().to_vec(),
                        ScaleType::F16 => half::f16::from_f32(v).to_le_bytes().to_vec(),
                        ScaleType::BF16 => half::bf16::from_f32(v).to_le_bytes().to_vec(),
                    }
                };
                let sv: Vec<f32> = (0..ng).map(|_| rng.unit() * 0.1).collect();
                let bv: Vec<f32> = (0..ng).map(|_| rng.unit()).collect();
                let scales: Vec<u8> = sv.iter().flat_map(|v| enc(*v)).collect();
                let biases: Vec<u8> = bv.iter().flat_map(|v| enc(*v)).collect();
                let row = MlxRow {
                    bits,
                    group,
                    scale_type: st,
                    q: &q,
                    scales: &scales,
                    biases: &biases,
                };
                let mut out = vec![0f32; k];
                row.dequantize(&mut out).unwrap();
                for (i, got) in out.iter().enumerate() {
                    // element i: bits [i*bits, (i+1)*bits) of the little-endian word stream
                    let bit = i * bits as usize;
                    let word =
                        u32::from_le_bytes(q[bit / 32 * 4..bit / 32 * 4 + 4].try_into().unwrap());
                    let qv = (word >> (bit % 32)) & ((1 << bits) - 1);
                    let g = i / group;
                    let want = st.get(&scales, g) * qv as f32 + st.get(&biases, g);
                    assert_eq!(*got, want, "bits {bits} group {group} {st:?} element {i}");
                }
                let x: Vec<f32> = (0..k).map(|_| rng.unit()).collect();
                let want: f32 = out.iter().zip(&x).map(|(a, b)| a * b).sum();
                let got = row.dot(&x).unwrap();
                assert!((got - want).abs() < 1e-3, "{got} vs {want}");
            }
        }
    }
}

#[test]
fn bad_rows_are_errors_not_panics() {
    let mut out = vec![0f32; 32];
    assert!(dequantize_row(TensorType::Q4_0, &[0u8; 17], &mut out).is_err());
    assert!(dequantize_row(TensorType::IQ2_XS, &[0u8; 74], &mut vec![0f32; 256]).is_err());
    let mut b = vec![0u8; 18];
    random_blocks(TensorType::Q4_0, &mut Rng::new(1), &mut b);
    assert!(dot_row(TensorType::Q4_0, &b, &[0f32; 31]).is_err());
}
