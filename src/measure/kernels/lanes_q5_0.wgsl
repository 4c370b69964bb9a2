// Q5_0 (22-byte blocks: f16 d, 32 high bits qh, 16 bytes of nibbles; weight = d·((nibble | bit << 4)
// − 16)): each of 4 invocations takes 4 bytes of nibbles and their 8 high bits (weights 4t.. and
// 16+4t..), spread to bytes with one multiply, made signed bytes (v − 16) and dotted with the 8-bit
// input (dot4I8Packed); the block is d·dx·Σ v·xq.
const BLK_W: u32 = 32u;
const TPB: u32 = 4u;
const NR: u32 = __NR__u;

// 5-bit values v of the four bytes as the signed bytes v − 16: flip bit 4, then extend it.
fn s5(v: u32) -> u32 {
    let f = v ^ 0x10101010u;
    return f | ((f & 0x10101010u) * 15u);
}

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let xb = xo / 32u + b;
    let x0 = xq[xb * 8u + t];
    let x1 = xq[xb * 8u + 4u + t];
    let dx = xd[xb].x;
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let ba = a[i] + b * 22u;
        let qh = w32(ba + 2u);
        let q = w32(ba + 6u + 4u * t);
        let lo = s5((q & 0x0f0f0f0fu) | hb4((qh >> (4u * t)) & 0xfu));
        let hi = s5(((q >> 4u) & 0x0f0f0f0fu) | hb4((qh >> (16u + 4u * t)) & 0xfu));
        let s = dot4I8Packed(lo, x0) + dot4I8Packed(hi, x1);
        r[i] = unpack2x16float(w16(ba)).x * dx * f32(s);
    }
    return r;
}
