// block_q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d} (210 bytes, 256 weights): 4 low bits from
// ql, 2 high bits from qh, minus 32, times an 8-bit signed scale per 16 weights.
fn sub_dot(row: u32, s: u32, xo: u32) -> f32 {
    let a = row * p.row_bytes + (s / 8u) * 210u;
    let t = s % 8u;
    let h = t / 4u;
    let qq = t % 4u;
    let ql_a = a + 64u * h + 32u * (qq & 1u);
    let lshift = 4u * (qq >> 1u);
    let qh_a = a + 128u + 32u * h;
    let hshift = 2u * qq;
    let d = f16at(a + 208u);
    var out = 0.0;
    for (var half = 0u; half < 2u; half++) {
        let sc = f32(extractBits(i32(b8(a + 192u + 8u * h + 2u * qq + half)), 0u, 8u));
        var sq = 0.0;
        for (var i = 0u; i < 4u; i++) {
            let l = 16u * half + 4u * i;
            let ql = u32at(ql_a + l);
            let qh = u32at(qh_a + l);
            for (var b = 0u; b < 4u; b++) {
                let v = ((ql >> (8u * b + lshift)) & 15u) | (((qh >> (8u * b + hshift)) & 3u) << 4u);
                sq += f32(i32(v) - 32) * xf(xo + l + b);
            }
        }
        out += d * sc * sq;
    }
    return out;
}
