// block_q4_K {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]} (144 bytes, 256 weights): eight sub-blocks of
// 32 with 6-bit scale and min (get_scale_min_k4); sub-block t uses qs[32*(t/2)..] low (even t) or high
// nibbles.
fn scale_min_k4(a: u32, j: u32) -> vec2<f32> {
    if (j < 4u) {
        return vec2<f32>(f32(b8(a + j) & 63u), f32(b8(a + j + 4u) & 63u));
    }
    let sc = (b8(a + j + 4u) & 15u) | ((b8(a + j - 4u) >> 6u) << 4u);
    let mn = (b8(a + j + 4u) >> 4u) | ((b8(a + j) >> 6u) << 4u);
    return vec2<f32>(f32(sc), f32(mn));
}

fn sub_dot(row: u32, s: u32, xo: u32) -> f32 {
    let a = row * p.row_bytes + (s / 8u) * 144u;
    let t = s % 8u;
    let d = f16at(a);
    let dm = f16at(a + 2u);
    let sm = scale_min_k4(a + 4u, t);
    let shift = 4u * (t % 2u);
    var sq = 0.0;
    var sx = 0.0;
    for (var i = 0u; i < 8u; i++) {
        let q = u32at(a + 16u + 32u * (t / 2u) + 4u * i);
        for (var b = 0u; b < 4u; b++) {
            let xv = xf(xo + 4u * i + b);
            sq += f32((q >> (8u * b + shift)) & 15u) * xv;
            sx += xv;
        }
    }
    return d * sm.x * sq - dm * sm.y * sx;
}
