//! Generates the WGSL `unit_dot` of the unit kernels (kernels/unit.wgsl): for the storage types the
//! decode of common models spends its time in (Q4_0, Q4_K, Q6_K, Q8_0, F16, BF16, F32), a function that
//! reads one unit of whole blocks with straight-line, constant-index loads (16-byte vectors, or words
//! for Q6_K whose 210-byte blocks are only 2-aligned), unpacks quants with bit operations into floats
//! (`bf`: no int-to-float conversions) and dots them four at a time with the input read as `vec4<f32>`.
//! Block layouts are ggml's (see `measure::dequant`, the CPU reference the GPU tests compare against).

use crate::model::TensorType;
use std::fmt::Write;

/// One type's unit: weights and stored bytes per unit, the alignment a unit's first byte needs, and the
/// WGSL constants plus `fn unit_dot(a: u32, xo: u32) -> f32` (`a`: byte address, `xo`: index of the
/// unit's first input element, a multiple of 4).
pub struct Unit {
    pub weights: u32,
    pub bytes: u32,
    pub align: u32,
    pub wgsl: String,
}

const LANES: [&str; 4] = ["x", "y", "z", "w"];

/// Word `i` of the unit as loaded by [`vec_loads`].
fn vw(i: usize) -> String {
    format!("v{}.{}", i / 4, LANES[i % 4])
}

/// Loads of `n` 16-byte vectors `v0..` from the 16-aligned byte address `a`.
fn vec_loads(out: &mut String, n: usize) {
    out.push_str("    let b4 = a >> 4u;\n");
    for i in 0..n {
        let _ = writeln!(out, "    let v{i} = w[b4 + {i}u];");
    }
    out.push_str("    let xb = xo >> 2u;\n");
}

fn xv(e: usize) -> String {
    format!("x[xb + {}u]", e / 4)
}

/// Q4_0: 8 blocks of 18 bytes = 144 bytes = 9 vectors; blocks in pairs of 9 words (the even block at a
/// word boundary, the odd one 2 bytes past one).
fn q4_0() -> String {
    let mut s = String::new();
    vec_loads(&mut s, 9);
    s.push_str("    var acc = 0.0;\n");
    for c in 0..4 {
        let wd = |j: usize| vw(9 * c + j);
        for half in 0..2 {
            let b = 2 * c + half;
            let (d, qs): (String, Vec<String>) = if half == 0 {
                (
                    format!("unpack2x16float({}).x", wd(0)),
                    (0..4)
                        .map(|i| format!("(({} >> 16u) | ({} << 16u))", wd(i), wd(i + 1)))
                        .collect(),
                )
            } else {
                (
                    format!("unpack2x16float({}).y", wd(4)),
                    (5..9).map(wd).collect(),
                )
            };
            let _ = writeln!(s, "    {{\n        var t = vec4<f32>(0.0);");
            for (i, q) in qs.iter().enumerate() {
                let _ = writeln!(s, "        let q{i} = {q};");
                let _ = writeln!(
                    s,
                    "        t += bf(q{i} & 0x0f0f0f0fu, 8388616.0) * {} + bf((q{i} >> 4u) & 0x0f0f0f0fu, 8388616.0) * {};",
                    xv(32 * b + 4 * i),
                    xv(32 * b + 16 + 4 * i)
                );
            }
            let _ = writeln!(
                s,
                "        acc += {d} * dot(t, vec4<f32>(1.0));\n    }}"
            );
        }
    }
    s.push_str("    return acc;\n");
    s
}

/// Q8_0: 8 blocks of 34 bytes = 272 bytes = 17 vectors; pairs of 17 words.
fn q8_0() -> String {
    let mut s = String::new();
    vec_loads(&mut s, 17);
    s.push_str("    var acc = 0.0;\n");
    for c in 0..4 {
        let wd = |j: usize| vw(17 * c + j);
        for half in 0..2 {
            let b = 2 * c + half;
            let (d, qs): (String, Vec<String>) = if half == 0 {
                (
                    format!("unpack2x16float({}).x", wd(0)),
                    (0..8)
                        .map(|i| format!("(({} >> 16u) | ({} << 16u))", wd(i), wd(i + 1)))
                        .collect(),
                )
            } else {
                (
                    format!("unpack2x16float({}).y", wd(8)),
                    (9..17).map(wd).collect(),
                )
            };
            let _ = writeln!(s, "    {{\n        var t = vec4<f32>(0.0);");
            for (i, q) in qs.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "        t += bf({q} ^ 0x80808080u, 8388736.0) * {};",
                    xv(32 * b + 4 * i)
                );
            }
            let _ = writeln!(
                s,
                "        acc += {d} * dot(t, vec4<f32>(1.0));\n    }}"
            );
        }
    }
    s.push_str("    return acc;\n");
    s
}

/// Q4_K: one 144-byte super-block = 9 vectors: d, dmin; 12 bytes of 6-bit scales and mins
/// (get_scale_min_k4, four at a time); 128 bytes of nibbles, sub-block t in qs[32*(t/2)..] low (even t)
/// or high nibbles.
fn q4_k() -> String {
    let mut s = String::new();
    vec_loads(&mut s, 9);
    let _ = writeln!(
        s,
        "    let dd = unpack2x16float({w0});
    let sc_lo = bf({w1} & 0x3f3f3f3fu, 8388608.0);
    let mn_lo = bf({w2} & 0x3f3f3f3fu, 8388608.0);
    let sc_hi = bf(({w3} & 0x0f0f0f0fu) | (({w1} >> 2u) & 0x30303030u), 8388608.0);
    let mn_hi = bf((({w3} >> 4u) & 0x0f0f0f0fu) | (({w2} >> 2u) & 0x30303030u), 8388608.0);",
        w0 = vw(0),
        w1 = vw(1),
        w2 = vw(2),
        w3 = vw(3)
    );
    for t in 0..8 {
        let shift = if t % 2 == 0 { "" } else { " >> 4u" };
        let _ = writeln!(
            s,
            "    var q{t} = vec4<f32>(0.0);\n    var x{t} = vec4<f32>(0.0);"
        );
        for i in 0..8 {
            let q = vw(4 + 8 * (t / 2) + i);
            let _ = writeln!(
                s,
                "    {{ let xv = {}; q{t} += bf(({q}{shift}) & 0x0f0f0f0fu, 8388608.0) * xv; x{t} += xv; }}",
                xv(32 * t + 4 * i)
            );
        }
    }
    let one = "vec4<f32>(1.0)";
    let _ = writeln!(
        s,
        "    let sq_lo = vec4<f32>(dot(q0, {one}), dot(q1, {one}), dot(q2, {one}), dot(q3, {one}));
    let sq_hi = vec4<f32>(dot(q4, {one}), dot(q5, {one}), dot(q6, {one}), dot(q7, {one}));
    let sx_lo = vec4<f32>(dot(x0, {one}), dot(x1, {one}), dot(x2, {one}), dot(x3, {one}));
    let sx_hi = vec4<f32>(dot(x4, {one}), dot(x5, {one}), dot(x6, {one}), dot(x7, {one}));
    return dd.x * (dot(sc_lo, sq_lo) + dot(sc_hi, sq_hi)) - dd.y * (dot(mn_lo, sx_lo) + dot(mn_hi, sx_hi));"
    );
    s
}

/// Q6_K: two 210-byte super-blocks = 420 bytes = 105 words (4-aligned only): the first at a word
/// boundary, the second 2 bytes past one (its words are funnel-shifted). Per block: ql[128] (words
/// 0..32), qh[64] (32..48), int8 scales[16] (48..52), d (low half of word 52).
fn q6_k() -> String {
    let mut s = String::new();
    s.push_str("    let a4 = a >> 2u;\n");
    for i in 0..105 {
        let _ = writeln!(s, "    let u{i} = wd(a4 + {i}u);");
    }
    s.push_str("    let xb = xo >> 2u;\n    var acc = 0.0;\n");
    for blk in 0..2usize {
        let q = |i: usize| -> String {
            if blk == 0 {
                format!("u{i}")
            } else if i < 52 {
                format!("((u{} >> 16u) | (u{} << 16u))", 52 + i, 53 + i)
            } else {
                "(u104 >> 16u)".to_string()
            }
        };
        let _ = writeln!(s, "    {{");
        for j in 0..4 {
            let _ = writeln!(
                s,
                "        let s{j} = bf({} ^ 0x80808080u, 8388736.0);",
                q(48 + j)
            );
            let _ = writeln!(s, "        var t{j} = vec4<f32>(0.0);");
        }
        // sums per scale index: t{idx/4}[idx%4]
        let mut sums: Vec<Vec<String>> = vec![Vec::new(); 16];
        for n in 0..2 {
            for m in 0..8 {
                let (l1, l2, h) = (q(16 * n + m), q(16 * n + 8 + m), q(32 + 8 * n + m));
                let _ = writeln!(
                    s,
                    "        let l1_{n}_{m} = {l1};\n        let l2_{n}_{m} = {l2};\n        let h_{n}_{m} = {h};"
                );
                let is = m / 4;
                let vals = [
                    (
                        format!("(l1_{n}_{m} & 0x0f0f0f0fu) | ((h_{n}_{m} << 4u) & 0x30303030u)"),
                        0,
                        0,
                    ),
                    (
                        format!("(l2_{n}_{m} & 0x0f0f0f0fu) | ((h_{n}_{m} << 2u) & 0x30303030u)"),
                        32,
                        2,
                    ),
                    (
                        format!("((l1_{n}_{m} >> 4u) & 0x0f0f0f0fu) | (h_{n}_{m} & 0x30303030u)"),
                        64,
                        4,
                    ),
                    (
                        format!(
                            "((l2_{n}_{m} >> 4u) & 0x0f0f0f0fu) | ((h_{n}_{m} >> 2u) & 0x30303030u)"
                        ),
                        96,
                        6,
                    ),
                ];
                for (v, off, sadd) in vals {
                    let e = 256 * blk + 128 * n + 4 * m + off;
                    sums[8 * n + is + sadd].push(format!(
                        "dot(bf({v}, 8388640.0), {})",
                        xv(e)
                    ));
                }
            }
        }
        for (idx, terms) in sums.iter().enumerate() {
            let _ = writeln!(
                s,
                "        t{}.{} = {};",
                idx / 4,
                LANES[idx % 4],
                terms.join(" + ")
            );
        }
        let _ = writeln!(
            s,
            "        acc += unpack2x16float({}).x * (dot(s0, t0) + dot(s1, t1) + dot(s2, t2) + dot(s3, t3));\n    }}",
            q(52)
        );
    }
    s.push_str("    return acc;\n");
    s
}

/// F16 / BF16 / F32: 32 weights (64 or 128 bytes).
fn float(ty: TensorType) -> String {
    let mut s = String::new();
    let nv = if ty == TensorType::F32 { 8 } else { 4 };
    vec_loads(&mut s, nv);
    s.push_str("    var t = vec4<f32>(0.0);\n");
    for j in 0..8 {
        let wv = match ty {
            TensorType::F32 => format!("bitcast<vec4<f32>>(v{j})"),
            TensorType::F16 => format!(
                "vec4<f32>(unpack2x16float({}), unpack2x16float({}))",
                vw(2 * j),
                vw(2 * j + 1)
            ),
            _ => {
                let (a, b) = (vw(2 * j), vw(2 * j + 1));
                format!(
                    "bitcast<vec4<f32>>(vec4<u32>({a} << 16u, {a} & 0xffff0000u, {b} << 16u, {b} & 0xffff0000u))"
                )
            }
        };
        let _ = writeln!(s, "    t += {wv} * {};", xv(4 * j));
    }
    s.push_str("    return dot(t, vec4<f32>(1.0));\n");
    s
}

/// The unit of `ty`, for the types that have one.
pub fn unit(ty: TensorType) -> Option<Unit> {
    let (weights, bytes, align, body) = match ty {
        TensorType::Q4_0 => (256, 144, 16, q4_0()),
        TensorType::Q8_0 => (256, 272, 16, q8_0()),
        TensorType::Q4_K => (256, 144, 16, q4_k()),
        TensorType::Q6_K => (512, 420, 4, q6_k()),
        TensorType::F16 | TensorType::BF16 => (32, 64, 16, float(ty)),
        TensorType::F32 => (32, 128, 16, float(ty)),
        _ => return None,
    };
    let wgsl = format!(
        "const UNIT_W: u32 = {weights}u;\nconst UNIT_BYTES: u32 = {bytes}u;\nconst UNIT_ALIGN: u32 = {align}u;\n\nfn unit_dot(a: u32, xo: u32) -> f32 {{\n{body}}}\n"
    );
    Some(Unit {
        weights,
        bytes,
        align,
        wgsl,
    })
}
