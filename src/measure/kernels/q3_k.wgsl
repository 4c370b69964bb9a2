// block_q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d} (110 bytes, 256 weights): 2 low bits
// from qs, high bit from hmask (clear means minus 4), 6-bit signed scales (minus 32) per 16 weights.
fn q3k_scale(a: u32, i: u32) -> f32 {
    var low4 = 0u;
    if (i < 8u) {
        low4 = b8(a + 96u + i) & 15u;
    } else {
        low4 = b8(a + 88u + i) >> 4u;
    }
    let hi2 = (b8(a + 104u + (i % 4u)) >> (2u * (i / 4u))) & 3u;
    return f32(i32(low4 | (hi2 << 4u)) - 32);
}

fn sub_dot(row: u32, s: u32, xo: u32) -> f32 {
    let a = row * p.row_bytes + (s / 8u) * 110u;
    let t = s % 8u;
    let n = t / 4u;
    let j = t % 4u;
    let shift = 2u * j;
    let mbit = 4u * n + j;
    let d = f16at(a + 108u);
    var out = 0.0;
    for (var h = 0u; h < 2u; h++) {
        var sq = 0.0;
        for (var i = 0u; i < 4u; i++) {
            let q = u32at(a + 32u + 32u * n + 16u * h + 4u * i);
            let hm = u32at(a + 16u * h + 4u * i);
            for (var b = 0u; b < 4u; b++) {
                let qv = i32((q >> (8u * b + shift)) & 3u);
                let hb = (hm >> (8u * b + mbit)) & 1u;
                sq += f32(qv - select(4, 0, hb == 1u)) * xf(xo + 16u * h + 4u * i + b);
            }
        }
        out += d * q3k_scale(a, 8u * n + 2u * j + h) * sq;
    }
    return out;
}
