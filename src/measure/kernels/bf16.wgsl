fn sub_dot(row: u32, s: u32, xo: u32) -> f32 {
    let base = row * p.row_bytes + s * 64u;
    var sum = 0.0;
    for (var e = 0u; e < 32u; e++) {
        if (s * 32u + e < p.k) {
            sum += bitcast<f32>(b16(base + 2u * e) << 16u) * xf(xo + e);
        }
    }
    return sum;
}
