// block_q5_0 {f16 d; u8 qh[4]; u8 qs[16]} (22 bytes): ((nibble | high bit << 4) - 16) * d.
fn sub_dot(row: u32, s: u32, xo: u32) -> f32 {
    let a = row * p.row_bytes + s * 22u;
    let d = f16at(a);
    let qh = u32at(a + 2u);
    var sum = 0.0;
    for (var i = 0u; i < 4u; i++) {
        let q = u32at(a + 6u + 4u * i);
        for (var j = 0u; j < 4u; j++) {
            let jj = 4u * i + j;
            let bq = (q >> (8u * j)) & 0xffu;
            let h0 = ((qh >> jj) << 4u) & 16u;
            let h1 = (qh >> (jj + 12u)) & 16u;
            sum += (f32((bq & 15u) | h0) - 16.0) * xf(xo + jj) + (f32((bq >> 4u) | h1) - 16.0) * xf(xo + 16u + jj);
        }
    }
    return d * sum;
}
