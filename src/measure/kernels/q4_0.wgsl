// block_q4_0 {f16 d; u8 qs[16]} (18 bytes): (nibble - 8) * d, low nibbles first half.
fn sub_dot(row: u32, s: u32, xo: u32) -> f32 {
    let a = row * p.row_bytes + s * 18u;
    let d = f16at(a);
    var sum = 0.0;
    for (var i = 0u; i < 4u; i++) {
        let q = u32at(a + 2u + 4u * i);
        for (var j = 0u; j < 4u; j++) {
            let bq = (q >> (8u * j)) & 0xffu;
            sum += (f32(bq & 15u) - 8.0) * xf(xo + 4u * i + j) + (f32(bq >> 4u) - 8.0) * xf(xo + 16u + 4u * i + j);
        }
    }
    return d * sum;
}
