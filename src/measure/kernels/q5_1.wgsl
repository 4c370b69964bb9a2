// block_q5_1 {f16 d; f16 m; u8 qh[4]; u8 qs[16]} (24 bytes): (nibble | high bit << 4) * d + m.
fn sub_dot(row: u32, s: u32, xo: u32) -> f32 {
    let a = row * p.row_bytes + s * 24u;
    let d = f16at(a);
    let m = f16at(a + 2u);
    let qh = u32at(a + 4u);
    var sum = 0.0;
    var sx = 0.0;
    for (var i = 0u; i < 4u; i++) {
        let q = u32at(a + 8u + 4u * i);
        for (var j = 0u; j < 4u; j++) {
            let jj = 4u * i + j;
            let bq = (q >> (8u * j)) & 0xffu;
            let h0 = ((qh >> jj) << 4u) & 16u;
            let h1 = (qh >> (jj + 12u)) & 16u;
            let x0 = xf(xo + jj);
            let x1 = xf(xo + 16u + jj);
            sum += f32((bq & 15u) | h0) * x0 + f32((bq >> 4u) | h1) * x1;
            sx += x0 + x1;
        }
    }
    return d * sum + m * sx;
}
