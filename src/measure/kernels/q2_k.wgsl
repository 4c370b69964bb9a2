// block_q2_K {u8 scales[16]; u8 qs[64]; f16 d; f16 dmin} (84 bytes, 256 weights). Sub-block t of 32:
// half n = t/4 of qs, shift 2*(t%4); 16 weights per 4-bit scale/min pair.
fn sub_dot(row: u32, s: u32, xo: u32) -> f32 {
    let a = row * p.row_bytes + (s / 8u) * 84u;
    let t = s % 8u;
    let n = t / 4u;
    let j = t % 4u;
    let shift = 2u * j;
    let d = f16at(a + 80u);
    let dm = f16at(a + 82u);
    var out = 0.0;
    for (var h = 0u; h < 2u; h++) {
        let sc = b8(a + 8u * n + 2u * j + h);
        var sq = 0.0;
        var sx = 0.0;
        for (var i = 0u; i < 4u; i++) {
            let q = u32at(a + 16u + 32u * n + 16u * h + 4u * i);
            for (var b = 0u; b < 4u; b++) {
                let xv = xf(xo + 16u * h + 4u * i + b);
                sq += f32((q >> (8u * b + shift)) & 3u) * xv;
                sx += xv;
            }
        }
        out += d * f32(sc & 15u) * sq - dm * f32(sc >> 4u) * sx;
    }
    return out;
}
