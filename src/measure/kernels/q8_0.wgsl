// block_q8_0 {f16 d; i8 qs[32]} (34 bytes): q * d.
fn sub_dot(row: u32, s: u32, xo: u32) -> f32 {
    let a = row * p.row_bytes + s * 34u;
    let d = f16at(a);
    var sum = 0.0;
    for (var i = 0u; i < 8u; i++) {
        let q = i32(u32at(a + 2u + 4u * i));
        for (var j = 0u; j < 4u; j++) {
            sum += f32(extractBits(q, 8u * j, 8u)) * xf(xo + 4u * i + j);
        }
    }
    return d * sum;
}
