//! Generates the WGSL `unit_dot` of the unit kernels (kernels/unit.wgsl): for the storage types the
//! decode of common models spends its time in (Q4_0, Q4_K, Q6_K, Q8_0, F16, BF16, F32), a function that
//! reads one unit of whole blocks with straight-line, constant-index loads (16-byte vectors, or words
//! for Q6_K whose 210-byte blocks are only 2-aligned), unpacks quants with bit operations into floats
//! (`bf`: no int-to-float conversions) and dots them four at a time with the input read as `vec4<f32>`.
//! Block layouts are ggml's (see `measure::dequant`, the CPU reference the GPU tests compare against).

use crate::model::TensorType;
use std::fmt::Write;

/// One type's unit: weights and stored bytes per unit, the alignment a unit's first byte needs, and the
/// WGSL constants plus `fn unit_dot(a: vec4<u32>, xo: u32) -> vec4<f32>` (`a`: byte addresses of
/// the units of `NR` rows, `xo`: index of their shared input's first element, a multiple of 4).
pub struct Unit {
    pub weights: u32,
    pub bytes: u32,
    pub align: u32,
    pub wgsl: String,
}

const LANES: [&str; 4] = ["x", "y", "z", "w"];

/// Word `i` of row `r`'s unit as loaded by [`vec_loads`].
fn vw(r: usize, i: usize) -> String {
    format!("v{r}_{}.{}", i / 4, LANES[i % 4])
}

/// Loads of `n` 16-byte vectors `v{r}_0..` for each of `nr` rows, row `r`'s unit at the 16-aligned byte
/// address `a[r]`.
fn vec_loads(out: &mut String, n: usize, nr: usize) {
    for r in 0..nr {
        let _ = writeln!(out, "    let b4_{r} = a[{r}] >> 4u;");
        for i in 0..n {
            let _ = writeln!(out, "    let v{r}_{i} = w[b4_{r} + {i}u];");
        }
    }
    out.push_str("    let xb = xo >> 2u;\n    var acc = vec4<f32>(0.0);\n");
}

/// Load the input vectors at elements `es` once, as `X0..`, for every row's use.
fn x_loads(out: &mut String, es: &[usize]) {
    for (j, e) in es.iter().enumerate() {
        let _ = writeln!(out, "        let X{j} = x[xb + {}u];", e / 4);
    }
}

/// Row `r`'s words of block `b` in a pair of 2-aligned blocks of `pair` words (Q4_0: 9, Q8_0: 17, Q5_0:
/// 11; the even block at a word boundary, the odd one 2 bytes past one): its f16 scale `d`, and its
/// `n` words after the scale (the even block's funnel-shifted by 16 bits).
fn pair_block(r: usize, b: usize, pair: usize, n: usize) -> (String, Vec<String>) {
    let (c, half) = (b / 2, b % 2);
    let wd = |j: usize| vw(r, pair * c + j);
    if half == 0 {
        (
            format!("unpack2x16float({}).x", wd(0)),
            (0..n)
                .map(|i| format!("(({} >> 16u) | ({} << 16u))", wd(i), wd(i + 1)))
                .collect(),
        )
    } else {
        (
            format!("unpack2x16float({}).y", wd(n)),
            (n + 1..2 * n + 1).map(wd).collect(),
        )
    }
}

/// Q4_0: 8 blocks of 18 bytes = 144 bytes = 9 vectors; blocks in pairs of 9 words (the even block at a
/// word boundary, the odd one 2 bytes past one).
fn q4_0(nr: usize, mant: bool) -> String {
    let mut s = String::new();
    vec_loads(&mut s, 9, nr);
    for b in 0..8 {
        s.push_str("    {\n");
        let es: Vec<usize> = (0..8).map(|j| 32 * b + 4 * j).collect();
        x_loads(&mut s, &es);
        if mant {
            s.push_str(
                "        let SX = dot(X0 + X1 + X2 + X3 + X4 + X5 + X6 + X7, vec4<f32>(1.0));\n",
            );
        }
        for r in 0..nr {
            let (d, qs) = pair_block(r, b, 9, 4);
            let _ = writeln!(s, "        var t{r} = vec4<f32>(0.0);");
            for (i, q) in qs.iter().enumerate() {
                let _ = if mant {
                    writeln!(
                        s,
                        "        {{ let q = {q}; t{r} += m4lo(q) * X{i} + m4hi(q) * X{}; }}",
                        i + 4
                    )
                } else {
                    writeln!(
                        s,
                        "        {{ let q = {q}; t{r} += bf(q & 0x0f0f0f0fu, 8388616.0) * X{i} + bf((q >> 4u) & 0x0f0f0f0fu, 8388616.0) * X{}; }}",
                        i + 4
                    )
                };
            }
            // mant: t sums (1 + n/16)·x, so the block is d·(16·t − 24·Σx)
            let _ = if mant {
                writeln!(
                    s,
                    "        acc[{r}] += {d} * (16.0 * dot(t{r}, vec4<f32>(1.0)) - 24.0 * SX);"
                )
            } else {
                writeln!(s, "        acc[{r}] += {d} * dot(t{r}, vec4<f32>(1.0));")
            };
        }
        s.push_str("    }\n");
    }
    s.push_str("    return acc;\n");
    s
}

/// Q8_0: 8 blocks of 34 bytes = 272 bytes = 17 vectors; pairs of 17 words.
fn q8_0(nr: usize, mant: bool) -> String {
    let mut s = String::new();
    vec_loads(&mut s, 17, nr);
    for b in 0..8 {
        s.push_str("    {\n");
        let es: Vec<usize> = (0..8).map(|j| 32 * b + 4 * j).collect();
        x_loads(&mut s, &es);
        if mant {
            s.push_str(
                "        let SX = dot(X0 + X1 + X2 + X3 + X4 + X5 + X6 + X7, vec4<f32>(1.0));\n",
            );
        }
        for r in 0..nr {
            let (d, qs) = pair_block(r, b, 17, 8);
            let _ = writeln!(s, "        var t{r} = vec4<f32>(0.0);");
            for (i, q) in qs.iter().enumerate() {
                let _ = if mant {
                    writeln!(s, "        t{r} += m8({q} ^ 0x80808080u) * X{i};")
                } else {
                    writeln!(
                        s,
                        "        t{r} += bf({q} ^ 0x80808080u, 8388736.0) * X{i};"
                    )
                };
            }
            // mant: t sums (1 + (q + 128)/256)·x, so the block is d·(256·t − 384·Σx)
            let _ = if mant {
                writeln!(
                    s,
                    "        acc[{r}] += {d} * (256.0 * dot(t{r}, vec4<f32>(1.0)) - 384.0 * SX);"
                )
            } else {
                writeln!(s, "        acc[{r}] += {d} * dot(t{r}, vec4<f32>(1.0));")
            };
        }
        s.push_str("    }\n");
    }
    s.push_str("    return acc;\n");
    s
}

/// Q4_K: one 144-byte super-block = 9 vectors: d, dmin; 12 bytes of 6-bit scales and mins
/// (get_scale_min_k4, four at a time); 128 bytes of nibbles, sub-block t in qs[32*(t/2)..] low (even t)
/// or high nibbles.
///
/// `q5`: Q5_K instead (176 bytes = 11 vectors: d, dmin, the same 12 bytes of scales and mins, qh[32]
/// in words 4..12, the nibbles in words 12..44; sub-block t's fifth bits are bit t of qh's bytes):
/// values (nibble | bit << 4) into the top of the mantissa, 1 + v/32.
fn q4_k(nr: usize, mant: bool, q5: bool) -> String {
    let mut s = String::new();
    let mant = mant || q5;
    vec_loads(&mut s, if q5 { 11 } else { 9 }, nr);
    let qs0 = if q5 { 12 } else { 4 };
    for r in 0..nr {
        let _ = writeln!(
            s,
            "    let sc_lo{r} = bf({w1} & 0x3f3f3f3fu, 8388608.0);
    let sc_hi{r} = bf(({w3} & 0x0f0f0f0fu) | (({w1} >> 2u) & 0x30303030u), 8388608.0);
    var sq_lo{r} = vec4<f32>(0.0);
    var sq_hi{r} = vec4<f32>(0.0);",
            w1 = vw(r, 1),
            w3 = vw(r, 3)
        );
    }
    s.push_str("    var sx_lo = vec4<f32>(0.0);\n    var sx_hi = vec4<f32>(0.0);\n");
    for t in 0..8 {
        let shift = if t % 2 == 0 { "" } else { " >> 4u" };
        let half = if t < 4 { "lo" } else { "hi" };
        s.push_str("    {\n");
        let es: Vec<usize> = (0..8).map(|i| 32 * t + 4 * i).collect();
        x_loads(&mut s, &es);
        let _ = writeln!(
            s,
            "        sx_{half}[{}] = dot(X0 + X1 + X2 + X3 + X4 + X5 + X6 + X7, vec4<f32>(1.0));",
            t % 4
        );
        for r in 0..nr {
            let _ = writeln!(s, "        var t{r} = vec4<f32>(0.0);");
            for i in 0..8 {
                let q = vw(r, qs0 + 8 * (t / 2) + i);
                let _ = if q5 {
                    // byte j: nibble (low for even t) to bits 18..21, bit t of qh's byte j to 22
                    let nib: Vec<String> = (0..4)
                        .map(|j| sh(&q, 18 - (8 * j + 4 * (t % 2)) as i32))
                        .collect();
                    let h = vw(r, 4 + i);
                    let hb: Vec<String> = (0..4).map(|j| sh(&h, 22 - (8 * j + t) as i32)).collect();
                    writeln!(
                        s,
                        "        t{r} += bitcast<vec4<f32>>((vec4<u32>({}) & vec4<u32>(0x003c0000u)) | (vec4<u32>({}) & vec4<u32>(0x00400000u)) | vec4<u32>(0x3f800000u)) * X{i};",
                        nib.join(", "),
                        hb.join(", ")
                    )
                } else if mant {
                    let f = if t % 2 == 0 { "m4lo" } else { "m4hi" };
                    writeln!(s, "        t{r} += {f}({q}) * X{i};")
                } else {
                    writeln!(
                        s,
                        "        t{r} += bf(({q}{shift}) & 0x0f0f0f0fu, 8388608.0) * X{i};"
                    )
                };
            }
            // mant: t sums (1 + n/16)·x, so Σ n·x = 16·(t − Σx) (Q5_K: 1 + n/32, 32·(t − Σx))
            let _ = if mant {
                writeln!(
                    s,
                    "        sq_{half}{r}[{0}] = {1} * (dot(t{r}, vec4<f32>(1.0)) - sx_{half}[{0}]);",
                    t % 4,
                    if q5 { "32.0" } else { "16.0" }
                )
            } else {
                writeln!(
                    s,
                    "        sq_{half}{r}[{}] = dot(t{r}, vec4<f32>(1.0));",
                    t % 4
                )
            };
        }
        s.push_str("    }\n");
    }
    for r in 0..nr {
        let _ = writeln!(
            s,
            "    {{
        let dd = unpack2x16float({w0});
        let mn_lo = bf({w2} & 0x3f3f3f3fu, 8388608.0);
        let mn_hi = bf((({w3} >> 4u) & 0x0f0f0f0fu) | (({w2} >> 2u) & 0x30303030u), 8388608.0);
        acc[{r}] = dd.x * (dot(sc_lo{r}, sq_lo{r}) + dot(sc_hi{r}, sq_hi{r})) - dd.y * (dot(mn_lo, sx_lo) + dot(mn_hi, sx_hi));
    }}",
            w0 = vw(r, 0),
            w2 = vw(r, 2),
            w3 = vw(r, 3)
        );
    }
    s.push_str("    return acc;\n");
    s
}

/// Q2_K: 4 super-blocks of 84 bytes = 336 bytes = 21 vectors (blocks at words 0, 21, 42, 63): scales[16]
/// (words 0..4, low nibble scale, high nibble min, one byte per 16 weights), qs[64] (words 4..20: group
/// g = 8n + 2j + h of 16 weights takes bits 2j of qs[32n + 16h ..]), d and dmin (word 20). 2-bit
/// values into the top of the mantissa (1 + v/4), so a group's Σ v·x = 4·(t − Σx).
fn q2_k(nr: usize) -> String {
    let mut s = String::new();
    vec_loads(&mut s, 21, nr);
    for b in 0..4 {
        s.push_str("    {\n");
        for r in 0..nr {
            let _ = writeln!(
                s,
                "        var sq{r}_0 = vec4<f32>(0.0);\n        var sq{r}_1 = vec4<f32>(0.0);\n        var sq{r}_2 = vec4<f32>(0.0);\n        var sq{r}_3 = vec4<f32>(0.0);"
            );
        }
        s.push_str("        var sx_0 = vec4<f32>(0.0);\n        var sx_1 = vec4<f32>(0.0);\n        var sx_2 = vec4<f32>(0.0);\n        var sx_3 = vec4<f32>(0.0);\n");
        for n in 0..2 {
            for j in 0..4 {
                for h in 0..2 {
                    let g = 8 * n + 2 * j + h;
                    let e0 = 256 * b + 128 * n + 32 * j + 16 * h;
                    s.push_str("        {\n");
                    x_loads(&mut s, &[e0, e0 + 4, e0 + 8, e0 + 12]);
                    let _ = writeln!(
                        s,
                        "        let SX = dot(X0 + X1 + X2 + X3, vec4<f32>(1.0));\n        sx_{}[{}] = SX;",
                        g / 4,
                        g % 4
                    );
                    for r in 0..nr {
                        let _ = writeln!(s, "        var t{r} = vec4<f32>(0.0);");
                        for i in 0..4 {
                            let q = vw(r, 21 * b + 4 + 8 * n + 4 * h + i);
                            let v: Vec<String> = (0..4)
                                .map(|l| sh(&q, 21 - (8 * l + 2 * j) as i32))
                                .collect();
                            let _ = writeln!(
                                s,
                                "        t{r} += bitcast<vec4<f32>>((vec4<u32>({}) & vec4<u32>(0x00600000u)) | vec4<u32>(0x3f800000u)) * X{i};",
                                v.join(", ")
                            );
                        }
                        let _ = writeln!(
                            s,
                            "        sq{r}_{}[{}] = 4.0 * (dot(t{r}, vec4<f32>(1.0)) - SX);",
                            g / 4,
                            g % 4
                        );
                    }
                    s.push_str("        }\n");
                }
            }
        }
        for r in 0..nr {
            let sc = |k: usize| vw(r, 21 * b + k);
            let _ = writeln!(
                s,
                "        let dd{r} = unpack2x16float({});",
                vw(r, 21 * b + 20)
            );
            let terms: Vec<String> = (0..4)
                .map(|k| {
                    format!(
                        "dd{r}.x * dot(bf({w} & 0x0f0f0f0fu, 8388608.0), sq{r}_{k}) - dd{r}.y * dot(bf(({w} >> 4u) & 0x0f0f0f0fu, 8388608.0), sx_{k})",
                        w = sc(k)
                    )
                })
                .collect();
            let _ = writeln!(s, "        acc[{r}] += {};", terms.join(" + "));
        }
        s.push_str("    }\n");
    }
    s.push_str("    return acc;\n");
    s
}

/// MXFP4: 16 blocks of 17 bytes = 272 bytes = 17 vectors; block b's E8M0 exponent is byte 17b, its
/// nibbles start 17b + 1 (words funnel-shifted by (b + 1) mod 4 bytes). Each E2M1 nibble goes into an
/// f16 (magnitude bits to the exponent's low bits and the mantissa's top, sign to the sign), which is
/// its table value / 2^15 exactly, subnormals included; `unpack2x16float` makes two floats.
fn mxfp4(nr: usize) -> String {
    let mut s = String::new();
    vec_loads(&mut s, 17, nr);
    // the two f16 of (nibbles at bit p0, p1 of q): magnitude to bits 9..11 / 25..27, sign to 15 / 31
    let pair = |q: &str, p0: i32, p1: i32| {
        format!(
            "unpack2x16float(({} & 0x00000e00u) | ({} & 0x00008000u) | ({} & 0x0e000000u) | ({} & 0x80000000u))",
            sh(q, 9 - p0),
            sh(q, 12 - p0),
            sh(q, 25 - p1),
            sh(q, 28 - p1)
        )
    };
    for b in 0..16usize {
        s.push_str("    {\n");
        let es: Vec<usize> = (0..8).map(|j| 32 * b + 4 * j).collect();
        x_loads(&mut s, &es);
        for r in 0..nr {
            let w = |i: usize| vw(r, i);
            let eb = 17 * b;
            let e = format!("(({} >> {}u) & 0xffu)", w(eb / 4), 8 * (eb % 4));
            let _ = writeln!(s, "        var t{r} = vec4<f32>(0.0);");
            for m in 0..4 {
                let st = 17 * b + 1 + 4 * m;
                let o = st % 4;
                let q = if o == 0 {
                    w(st / 4)
                } else {
                    format!(
                        "(({} >> {}u) | ({} << {}u))",
                        w(st / 4),
                        8 * o,
                        w(st / 4 + 1),
                        32 - 8 * o
                    )
                };
                let _ = writeln!(
                    s,
                    "        {{ let q = {q};\n        t{r} += vec4<f32>({}, {}) * X{m} + vec4<f32>({}, {}) * X{}; }}",
                    pair("q", 0, 8),
                    pair("q", 16, 24),
                    pair("q", 4, 12),
                    pair("q", 20, 28),
                    m + 4
                );
            }
            let _ = writeln!(
                s,
                "        acc[{r}] += e8m0_half({e}) * (32768.0 * dot(t{r}, vec4<f32>(1.0)));"
            );
        }
        s.push_str("    }\n");
    }
    s.push_str("    return acc;\n");
    s
}

/// MLX affine, `bits` 4 or 8, groups of `group` (32, 64 or 128) weights: a unit of 256 weights (8 or
/// 16 vectors of packed words, low bits first), its `256 / group` groups' scales and biases read by
/// group index (`sget`, `bget` of kernels/mlx.wgsl): the unit's byte address over the bytes of a group
/// is the group's index in the scale arrays. Values into the top of the mantissa (1 + q/16, 1 + q/256),
/// so a group's Σ q·x = 16·(t − Σx) (256·(t − Σx)) and it adds scale·Σ q·x + bias·Σx.
fn mlx(nr: usize, bits: u32, group: u32) -> String {
    let mut s = String::new();
    let words = 8 * bits as usize; // 256 weights
    vec_loads(&mut s, words / 4, nr);
    let per_word = 32 / bits as usize;
    let gwords = group as usize * bits as usize / 32;
    let gbytes = group * bits / 8;
    for r in 0..nr {
        let _ = writeln!(s, "    let g{r} = a[{r}] / {gbytes}u;");
    }
    for g in 0..(256 / group as usize) {
        s.push_str("    {\n");
        for r in 0..nr {
            let _ = writeln!(s, "        var t{r} = vec4<f32>(0.0);");
        }
        s.push_str("        var sx = vec4<f32>(0.0);\n");
        for wi in g * gwords..(g + 1) * gwords {
            // word wi holds elements per_word·wi .. , four at a time
            for part in 0..per_word / 4 {
                let e = per_word * wi + 4 * part;
                let _ = writeln!(
                    s,
                    "        {{ let X = x[xb + {}u];\n        sx += X;",
                    e / 4
                );
                for r in 0..nr {
                    let q = vw(r, wi);
                    let v: Vec<String> = (0..4)
                        .map(|j| {
                            let p = (bits as usize * (4 * part + j)) as i32;
                            if bits == 4 {
                                sh(&q, 19 - p)
                            } else {
                                sh(&q, 15 - p)
                            }
                        })
                        .collect();
                    let mask = if bits == 4 {
                        "0x00780000u"
                    } else {
                        "0x007f8000u"
                    };
                    let _ = writeln!(
                        s,
                        "        t{r} += bitcast<vec4<f32>>((vec4<u32>({}) & vec4<u32>({mask})) | vec4<u32>(0x3f800000u)) * X;",
                        v.join(", ")
                    );
                }
                s.push_str("        }\n");
            }
        }
        s.push_str("        let SX = dot(sx, vec4<f32>(1.0));\n");
        let k = if bits == 4 { "16.0" } else { "256.0" };
        for r in 0..nr {
            let _ = writeln!(
                s,
                "        acc[{r}] += sget(g{r} + {g}u) * {k} * (dot(t{r}, vec4<f32>(1.0)) - SX) + bget(g{r} + {g}u) * SX;"
            );
        }
        s.push_str("    }\n");
    }
    s.push_str("    return acc;\n");
    s
}

/// The unit of MLX affine `bits`-bit weights in groups of `group` computing `nr` rows per invocation
/// (4- and 8-bit, groups of 32, 64 or 128).
pub fn unit_mlx(bits: u32, group: u32, nr: u32) -> Option<Unit> {
    if !matches!(bits, 4 | 8) || !matches!(group, 32 | 64 | 128) {
        return None;
    }
    let nr = nr.clamp(1, 4);
    let bytes = 32 * bits;
    let body = mlx(nr as usize, bits, group);
    let wgsl = format!(
        "const UNIT_W: u32 = 256u;\nconst UNIT_BYTES: u32 = {bytes}u;\nconst UNIT_ALIGN: u32 = 16u;\nconst NR: u32 = {nr}u;\n\n// NR rows at a[0..NR], one input.\nfn unit_dot(a: vec4<u32>, xo: u32) -> vec4<f32> {{\n{body}}}\n"
    );
    Some(Unit {
        weights: 256,
        bytes,
        align: 16,
        wgsl,
    })
}

/// Q3_K: 8 super-blocks of 110 bytes = 880 bytes = 55 vectors, each block's vectors loaded in its
/// own scope (blocks at even byte offsets: odd blocks' words funnel-shifted by 2 bytes). Per block:
/// hmask[32], qs[64] (group g = 8n + 2j + h of 16 weights: bits 2j of qs[32n + 16h ..], high bit
/// 4n + j of hmask[16h ..]), 16 packed 6-bit scales − 32, d. 3-bit values into the top of the
/// mantissa (1 + v/8), so a group's Σ (v − 4)·x = 8·t − 12·Σx.
fn q3_k(nr: usize) -> String {
    let mut s = String::new();
    for r in 0..nr {
        let _ = writeln!(s, "    let b4_{r} = a[{r}] >> 4u;");
    }
    s.push_str("    let xb = xo >> 2u;\n    var acc = vec4<f32>(0.0);\n");
    // word at unit byte offset o (even), from the vectors v{r}_{i} loaded in the block's scope
    let lw = |r: usize, w: usize| format!("v{r}_{}.{}", w / 4, LANES[w % 4]);
    let word = |r: usize, o: usize| {
        if o.is_multiple_of(4) {
            lw(r, o / 4)
        } else {
            format!(
                "(({} >> 16u) | ({} << 16u))",
                lw(r, o / 4),
                lw(r, o / 4 + 1)
            )
        }
    };
    for b in 0..8usize {
        let base = 110 * b;
        s.push_str("    {\n");
        let (lo, hi) = ((base - base % 4) / 16, (base + 109) / 16);
        for r in 0..nr {
            for v in lo..=hi {
                let _ = writeln!(s, "        let v{r}_{v} = w[b4_{r} + {v}u];");
            }
            let sc = |k: usize| word(r, base + 96 + 4 * k);
            let _ = writeln!(
                s,
                "        let a0_{r} = {};\n        let a1_{r} = {};\n        let a2_{r} = {};",
                sc(0),
                sc(1),
                sc(2)
            );
            let _ = writeln!(
                s,
                "        let sc{r}_0 = bf((a0_{r} & 0x0f0f0f0fu) | ((a2_{r} & 0x03030303u) << 4u), 8388640.0);
        let sc{r}_1 = bf((a1_{r} & 0x0f0f0f0fu) | (((a2_{r} >> 2u) & 0x03030303u) << 4u), 8388640.0);
        let sc{r}_2 = bf(((a0_{r} >> 4u) & 0x0f0f0f0fu) | (((a2_{r} >> 4u) & 0x03030303u) << 4u), 8388640.0);
        let sc{r}_3 = bf(((a1_{r} >> 4u) & 0x0f0f0f0fu) | (((a2_{r} >> 6u) & 0x03030303u) << 4u), 8388640.0);
        var sq{r}_0 = vec4<f32>(0.0);
        var sq{r}_1 = vec4<f32>(0.0);
        var sq{r}_2 = vec4<f32>(0.0);
        var sq{r}_3 = vec4<f32>(0.0);"
            );
        }
        for n in 0..2 {
            for j in 0..4 {
                for h in 0..2 {
                    let g = 8 * n + 2 * j + h;
                    let e0 = 256 * b + 128 * n + 32 * j + 16 * h;
                    s.push_str("        {\n");
                    x_loads(&mut s, &[e0, e0 + 4, e0 + 8, e0 + 12]);
                    s.push_str("        let SX = dot(X0 + X1 + X2 + X3, vec4<f32>(1.0));\n");
                    for r in 0..nr {
                        let _ = writeln!(s, "        var t{r} = vec4<f32>(0.0);");
                        for i in 0..4 {
                            let q = word(r, base + 32 + 32 * n + 16 * h + 4 * i);
                            let m = word(r, base + 16 * h + 4 * i);
                            let _ = writeln!(s, "        {{ let q = {q};\n        let m = {m};");
                            let qv: Vec<String> = (0..4)
                                .map(|l| sh("q", 20 - (8 * l + 2 * j) as i32))
                                .collect();
                            let mv: Vec<String> = (0..4)
                                .map(|l| sh("m", 22 - (8 * l + 4 * n + j) as i32))
                                .collect();
                            let _ = writeln!(
                                s,
                                "        t{r} += bitcast<vec4<f32>>((vec4<u32>({}) & vec4<u32>(0x00300000u)) | (vec4<u32>({}) & vec4<u32>(0x00400000u)) | vec4<u32>(0x3f800000u)) * X{i}; }}",
                                qv.join(", "),
                                mv.join(", ")
                            );
                        }
                        let _ = writeln!(
                            s,
                            "        sq{r}_{}[{}] = 8.0 * dot(t{r}, vec4<f32>(1.0)) - 12.0 * SX;",
                            g / 4,
                            g % 4
                        );
                    }
                    s.push_str("        }\n");
                }
            }
        }
        for r in 0..nr {
            let o = base + 108;
            let d = if o.is_multiple_of(4) {
                format!("unpack2x16float({}).x", lw(r, o / 4))
            } else {
                format!("unpack2x16float({}).y", lw(r, o / 4))
            };
            let _ = writeln!(
                s,
                "        acc[{r}] += {d} * (dot(sc{r}_0, sq{r}_0) + dot(sc{r}_1, sq{r}_1) + dot(sc{r}_2, sq{r}_2) + dot(sc{r}_3, sq{r}_3));"
            );
        }
        s.push_str("    }\n");
    }
    s.push_str("    return acc;\n");
    s
}

/// `w` shifted left by `n` bits (right by −n).
fn sh(w: &str, n: i32) -> String {
    match n {
        0 => w.to_string(),
        n if n > 0 => format!("({w} << {n}u)"),
        n => format!("({w} >> {}u)", -n),
    }
}

/// Q6_K: two 210-byte super-blocks = 420 bytes = 105 words (4-aligned only): the first at a word
/// boundary, the second 2 bytes past one (its words are funnel-shifted). Per block: ql[128] (words
/// 0..32), qh[64] (32..48), int8 scales[16] (48..52), d (low half of word 52).
///
/// `span`: the unit's words come from the 27 16-byte vectors around it (it starts at any word, so
/// word i is vector word i + phase, chosen by two selects on the phase's bits) instead of 105 word
/// loads: a quarter of the load instructions. The 27 vectors end at the unit's end rounded up to 16
/// bytes, inside the (16-byte padded) buffer.
fn q6_k(nr: usize, span: bool) -> String {
    let mut s = String::new();
    for r in 0..nr {
        let _ = writeln!(s, "    let a4_{r} = a[{r}] >> 2u;");
        if !span {
            for i in 0..105 {
                let _ = writeln!(s, "    let u{r}_{i} = wd(a4_{r} + {i}u);");
            }
            continue;
        }
        let _ = writeln!(
            s,
            "    let b_{r} = a4_{r} >> 2u;\n    let p1_{r} = (a4_{r} & 1u) != 0u;\n    let p2_{r} = (a4_{r} & 2u) != 0u;"
        );
        for i in 0..27 {
            let _ = writeln!(s, "    let s{r}_{i} = w[b_{r} + {i}u];");
        }
        let sw = |j: usize| format!("s{r}_{}.{}", j / 4, LANES[j % 4]);
        for j in 0..107 {
            let _ = writeln!(
                s,
                "    let h{r}_{j} = select({}, {}, p1_{r});",
                sw(j),
                sw(j + 1)
            );
        }
        for i in 0..105 {
            let _ = writeln!(
                s,
                "    let u{r}_{i} = select(h{r}_{i}, h{r}_{}, p2_{r});",
                i + 2
            );
        }
    }
    s.push_str("    let xb = xo >> 2u;\n    var acc = vec4<f32>(0.0);\n");
    for blk in 0..2usize {
        let q = |r: usize, i: usize| -> String {
            if blk == 0 {
                format!("u{r}_{i}")
            } else if i < 52 {
                format!("((u{r}_{} >> 16u) | (u{r}_{} << 16u))", 52 + i, 53 + i)
            } else {
                format!("(u{r}_104 >> 16u)")
            }
        };
        s.push_str("    {\n");
        for r in 0..nr {
            for j in 0..4 {
                let _ = writeln!(s, "        var t{r}_{j} = vec4<f32>(0.0);");
            }
        }
        for n in 0..2 {
            for m in 0..8 {
                let e0 = 256 * blk + 128 * n + 4 * m;
                s.push_str("        {\n");
                x_loads(&mut s, &[e0, e0 + 32, e0 + 64, e0 + 96]);
                let is = m / 4;
                for r in 0..nr {
                    let (l1, l2, h) =
                        (q(r, 16 * n + m), q(r, 16 * n + 8 + m), q(r, 32 + 8 * n + m));
                    let _ = writeln!(
                        s,
                        "        let l1_{r} = {l1};\n        let l2_{r} = {l2};\n        let h_{r} = {h};"
                    );
                    let vals = [
                        (
                            format!("(l1_{r} & 0x0f0f0f0fu) | ((h_{r} << 4u) & 0x30303030u)"),
                            0,
                            0,
                        ),
                        (
                            format!("(l2_{r} & 0x0f0f0f0fu) | ((h_{r} << 2u) & 0x30303030u)"),
                            1,
                            2,
                        ),
                        (
                            format!("((l1_{r} >> 4u) & 0x0f0f0f0fu) | (h_{r} & 0x30303030u)"),
                            2,
                            4,
                        ),
                        (
                            format!(
                                "((l2_{r} >> 4u) & 0x0f0f0f0fu) | ((h_{r} >> 2u) & 0x30303030u)"
                            ),
                            3,
                            6,
                        ),
                    ];
                    for (v, xj, sadd) in vals {
                        let idx = 8 * n + is + sadd;
                        let _ = writeln!(
                            s,
                            "        t{r}_{}.{} += dot(bf({v}, 8388640.0), X{xj});",
                            idx / 4,
                            LANES[idx % 4]
                        );
                    }
                }
                s.push_str("        }\n");
            }
        }
        for r in 0..nr {
            let sc: Vec<String> = (0..4)
                .map(|j| {
                    format!(
                        "dot(bf({} ^ 0x80808080u, 8388736.0), t{r}_{j})",
                        q(r, 48 + j)
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "        acc[{r}] += unpack2x16float({}).x * ({});",
                q(r, 52),
                sc.join(" + ")
            );
        }
        s.push_str("    }\n");
    }
    s.push_str("    return acc;\n");
    s
}

/// Q5_0: 8 blocks of 22 bytes = 176 bytes = 11 vectors, in pairs of 11 words (the even block at a
/// word boundary: d, then qh and qs 2 bytes past words; the odd block's d in the high half of word
/// 5, qh and qs in words 6..11). Value (nibble | qh bit << 4) − 16 into the top of the mantissa
/// (1 + v/32), so the block is d·(32·t − 48·Σx).
fn q5_0(nr: usize) -> String {
    let mut s = String::new();
    vec_loads(&mut s, 11, nr);
    for b in 0..8 {
        s.push_str("    {\n");
        let es: Vec<usize> = (0..8).map(|j| 32 * b + 4 * j).collect();
        x_loads(&mut s, &es);
        s.push_str(
            "        let SX = dot(X0 + X1 + X2 + X3 + X4 + X5 + X6 + X7, vec4<f32>(1.0));\n",
        );
        for r in 0..nr {
            // qh, then the 4 words of nibbles
            let (d, mut qs) = pair_block(r, b, 11, 5);
            let h = qs.remove(0);
            let _ = writeln!(
                s,
                "        let h{r} = {h};\n        var t{r} = vec4<f32>(0.0);"
            );
            for (i, q) in qs.iter().enumerate() {
                let _ = writeln!(s, "        {{ let q = {q};");
                let lo = format!(
                    "((vec4<u32>(q << 18u, q << 10u, q << 2u, q >> 6u) & vec4<u32>(0x003c0000u)) | ((vec4<u32>(h{r}) << vec4<u32>({}u, {}u, {}u, {}u)) & vec4<u32>(0x00400000u)) | vec4<u32>(0x3f800000u))",
                    22 - 4 * i,
                    21 - 4 * i,
                    20 - 4 * i,
                    19 - 4 * i
                );
                let hi = format!(
                    "((vec4<u32>(q << 14u, q << 6u, q >> 2u, q >> 10u) & vec4<u32>(0x003c0000u)) | ((vec4<u32>(h{r} >> 16u) << vec4<u32>({}u, {}u, {}u, {}u)) & vec4<u32>(0x00400000u)) | vec4<u32>(0x3f800000u))",
                    22 - 4 * i,
                    21 - 4 * i,
                    20 - 4 * i,
                    19 - 4 * i
                );
                let _ = writeln!(
                    s,
                    "        t{r} += bitcast<vec4<f32>>({lo}) * X{i} + bitcast<vec4<f32>>({hi}) * X{}; }}",
                    i + 4
                );
            }
            let _ = writeln!(
                s,
                "        acc[{r}] += {d} * (32.0 * dot(t{r}, vec4<f32>(1.0)) - 48.0 * SX);"
            );
        }
        s.push_str("    }\n");
    }
    s.push_str("    return acc;\n");
    s
}

/// Q4_1 (`q5 = false`: 8 blocks of 20 bytes = 160 bytes = 10 vectors; d, m, qs[16]) and Q5_1
/// (`q5`: 8 blocks of 24 bytes = 192 bytes = 12 vectors; d, m, qh[4], qs[16]): every block at a word
/// boundary. Quants into the top of the mantissa of 1.0 (1 + q/16, or 1 + q/32 with the fifth bit
/// from qh), so Σ q·x = 16·(t − Σx) (32·(t − Σx)) and the block is d·Σ q·x + m·Σx.
fn q_1(nr: usize, q5: bool) -> String {
    let mut s = String::new();
    let bw = if q5 { 6 } else { 5 };
    vec_loads(&mut s, if q5 { 12 } else { 10 }, nr);
    for b in 0..8 {
        s.push_str("    {\n");
        let es: Vec<usize> = (0..8).map(|j| 32 * b + 4 * j).collect();
        x_loads(&mut s, &es);
        s.push_str(
            "        let SX = dot(X0 + X1 + X2 + X3 + X4 + X5 + X6 + X7, vec4<f32>(1.0));\n",
        );
        for r in 0..nr {
            let w0 = bw * b;
            let _ = writeln!(
                s,
                "        let dm{r} = unpack2x16float({});\n        var t{r} = vec4<f32>(0.0);",
                vw(r, w0)
            );
            for i in 0..4 {
                let q = vw(r, w0 + bw - 4 + i);
                if q5 {
                    // element 4i + j: nibble of byte j at bits 18..21, qh bit 4i + j at bit 22;
                    // element 16 + 4i + j: high nibble, qh bit 16 + 4i + j
                    let h = vw(r, w0 + 1);
                    let lo = format!(
                        "((vec4<u32>({q} << 18u, {q} << 10u, {q} << 2u, {q} >> 6u) & vec4<u32>(0x003c0000u)) | ((vec4<u32>({h}) << vec4<u32>({}u, {}u, {}u, {}u)) & vec4<u32>(0x00400000u)) | vec4<u32>(0x3f800000u))",
                        22 - 4 * i,
                        21 - 4 * i,
                        20 - 4 * i,
                        19 - 4 * i
                    );
                    let hi = format!(
                        "((vec4<u32>({q} << 14u, {q} << 6u, {q} >> 2u, {q} >> 10u) & vec4<u32>(0x003c0000u)) | ((vec4<u32>({h} >> 16u) << vec4<u32>({}u, {}u, {}u, {}u)) & vec4<u32>(0x00400000u)) | vec4<u32>(0x3f800000u))",
                        22 - 4 * i,
                        21 - 4 * i,
                        20 - 4 * i,
                        19 - 4 * i
                    );
                    let _ = writeln!(
                        s,
                        "        t{r} += bitcast<vec4<f32>>({lo}) * X{i} + bitcast<vec4<f32>>({hi}) * X{};",
                        i + 4
                    );
                } else {
                    let _ = writeln!(
                        s,
                        "        t{r} += m4lo({q}) * X{i} + m4hi({q}) * X{};",
                        i + 4
                    );
                }
            }
            let k = if q5 { "32.0" } else { "16.0" };
            let _ = writeln!(
                s,
                "        acc[{r}] += dm{r}.x * {k} * (dot(t{r}, vec4<f32>(1.0)) - SX) + dm{r}.y * SX;"
            );
        }
        s.push_str("    }\n");
    }
    s.push_str("    return acc;\n");
    s
}

/// F16 / BF16 / F32: 32 weights (64 or 128 bytes).
fn float(ty: TensorType, nr: usize) -> String {
    let mut s = String::new();
    let nv = if ty == TensorType::F32 { 8 } else { 4 };
    vec_loads(&mut s, nv, nr);
    for r in 0..nr {
        let _ = writeln!(s, "    var t{r} = vec4<f32>(0.0);");
    }
    for j in 0..8 {
        s.push_str("    {\n");
        x_loads(&mut s, &[4 * j]);
        for r in 0..nr {
            let wv = match ty {
                TensorType::F32 => format!("bitcast<vec4<f32>>(v{r}_{j})"),
                TensorType::F16 => format!(
                    "vec4<f32>(unpack2x16float({}), unpack2x16float({}))",
                    vw(r, 2 * j),
                    vw(r, 2 * j + 1)
                ),
                _ => {
                    let (a, b) = (vw(r, 2 * j), vw(r, 2 * j + 1));
                    format!(
                        "bitcast<vec4<f32>>(vec4<u32>({a} << 16u, {a} & 0xffff0000u, {b} << 16u, {b} & 0xffff0000u))"
                    )
                }
            };
            let _ = writeln!(s, "        t{r} += {wv} * X0;");
        }
        s.push_str("    }\n");
    }
    for r in 0..nr {
        let _ = writeln!(s, "    acc[{r}] = dot(t{r}, vec4<f32>(1.0));");
    }
    s.push_str("    return acc;\n");
    s
}

/// Most rows one invocation of `ty`'s unit kernel computes: 1 for Q3_K (its 880-byte unit of 8
/// super-blocks is already long), else 4.
pub fn max_rows(ty: TensorType) -> u32 {
    if ty == TensorType::Q3_K { 1 } else { 4 }
}

/// Whether `ty` has a unit kernel.
pub fn has_unit(ty: TensorType) -> bool {
    matches!(
        ty,
        TensorType::Q4_0
            | TensorType::Q4_1
            | TensorType::Q5_0
            | TensorType::Q5_1
            | TensorType::Q8_0
            | TensorType::Q2_K
            | TensorType::Q3_K
            | TensorType::Q4_K
            | TensorType::Q5_K
            | TensorType::Q6_K
            | TensorType::MXFP4
            | TensorType::F16
            | TensorType::BF16
            | TensorType::F32
    )
}

/// The unit of `ty` computing `nr` rows (1, 2 or 4) per invocation, for the types that have one.
///
/// `mant`: quants unpacked into the top mantissa bits of 1.0 (`m4lo`, `m4hi`, `m8`: one shift and one
/// and-or per weight, no subtraction; the block's input sum corrects the offset) instead of into the
/// low bits of 2^23 (`bf`: a subtraction per weight), for Q4_0, Q8_0 and Q4_K; for Q6_K, the unit
/// read as 16-byte vectors (see `q6_k`'s `span`) instead of words.
pub fn unit(ty: TensorType, nr: u32, mant: bool) -> Option<Unit> {
    let nr = nr.clamp(1, max_rows(ty));
    let n = nr as usize;
    let (weights, bytes, align, body) = match ty {
        TensorType::Q4_0 => (256, 144, 16, q4_0(n, mant)),
        TensorType::Q8_0 => (256, 272, 16, q8_0(n, mant)),
        TensorType::Q4_K => (256, 144, 16, q4_k(n, mant, false)),
        TensorType::Q5_K => (256, 176, 16, q4_k(n, true, true)),
        TensorType::Q2_K => (1024, 336, 16, q2_k(n)),
        TensorType::Q3_K => (2048, 880, 16, q3_k(n)),
        TensorType::MXFP4 => (512, 272, 16, mxfp4(n)),
        TensorType::Q6_K => (512, 420, 4, q6_k(n, mant)),
        TensorType::Q4_1 => (256, 160, 16, q_1(n, false)),
        TensorType::Q5_0 => (256, 176, 16, q5_0(n)),
        TensorType::Q5_1 => (256, 192, 16, q_1(n, true)),
        TensorType::F16 | TensorType::BF16 => (32, 64, 16, float(ty, n)),
        TensorType::F32 => (32, 128, 16, float(ty, n)),
        _ => return None,
    };
    let wgsl = format!(
        "const UNIT_W: u32 = {weights}u;\nconst UNIT_BYTES: u32 = {bytes}u;\nconst UNIT_ALIGN: u32 = {align}u;\nconst NR: u32 = {nr}u;\n\n// NR rows at a[0..NR], one input.\nfn unit_dot(a: vec4<u32>, xo: u32) -> vec4<f32> {{\n{body}}}\n"
    );
    Some(Unit {
        weights,
        bytes,
        align,
        wgsl,
    })
}
