// block_mxfp4 {u8 e (E8M0); u8 qs[16]} (17 bytes): kvalues_mxfp4[nibble] * 2^(e-128).
fn kv_mxfp4(n: u32) -> f32 {
    let m = n & 7u;
    var v = f32(m);
    if (m >= 4u) {
        v = f32((4u + 2u * (m & 1u)) << ((m - 4u) >> 1u));
    }
    return select(v, -v, (n & 8u) != 0u);
}

fn e8m0_half(e: u32) -> f32 {
    if (e < 2u) {
        return bitcast<f32>(0x00200000u << e);
    }
    return bitcast<f32>((e - 1u) << 23u);
}

fn sub_dot(row: u32, s: u32, xo: u32) -> f32 {
    let a = row * p.row_bytes + s * 17u;
    let d = e8m0_half(b8(a));
    var sum = 0.0;
    for (var i = 0u; i < 4u; i++) {
        let q = u32at(a + 1u + 4u * i);
        for (var j = 0u; j < 4u; j++) {
            let bq = (q >> (8u * j)) & 0xffu;
            sum += kv_mxfp4(bq & 15u) * xf(xo + 4u * i + j) + kv_mxfp4(bq >> 4u) * xf(xo + 16u + 4u * i + j);
        }
    }
    return d * sum;
}
