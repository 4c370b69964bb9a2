// block_q4_1 {f16 d; f16 m; u8 qs[16]} (20 bytes): nibble * d + m.
fn sub_dot(row: u32, s: u32, xo: u32) -> f32 {
    let a = row * p.row_bytes + s * 20u;
    let d = f16at(a);
    let m = f16at(a + 2u);
    var sum = 0.0;
    var sx = 0.0;
    for (var i = 0u; i < 4u; i++) {
        let q = u32at(a + 4u + 4u * i);
        for (var j = 0u; j < 4u; j++) {
            let bq = (q >> (8u * j)) & 0xffu;
            let x0 = xf(xo + 4u * i + j);
            let x1 = xf(xo + 16u + 4u * i + j);
            sum += f32(bq & 15u) * x0 + f32(bq >> 4u) * x1;
            sx += x0 + x1;
        }
    }
    return d * sum + m * sx;
}
