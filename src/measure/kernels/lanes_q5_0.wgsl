// Q5_0 (22-byte blocks: f16 d, 32 high bits qh, 16 bytes of nibbles; weight = d·((nibble | bit << 4)
// − 16)): each of TPB = 4/QW invocations takes QW words of nibbles and their high bits (weights
// 4·QW·t.. and 16 + 4·QW·t..), spread to bytes with one multiply, made signed bytes (v − 16) and
// dotted with the 8-bit input (dot4I8Packed); the block is d·dx·Σ v·xq.
const BLK_W: u32 = 32u;
const QW: u32 = __QW__u;
const TPB: u32 = 4u / QW;
const NR: u32 = __NR__u;

// 5-bit values v of the four bytes as the signed bytes v − 16: flip bit 4, then extend it.
fn s5(v: u32) -> u32 {
    let f = v ^ 0x10101010u;
    return f | ((f & 0x10101010u) * 15u);
}

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let xb = xo / 32u + b;
    let xw = xb * 8u + QW * t;
    let x = x_halves(xw);
    let dx = xd[xb].x;
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let ba = a[i] + b * 22u;
        let qh = wv(ba + 2u, 1u).x;
        let q = wv(ba + 6u + 4u * QW * t, QW);
        var s = 0;
        for (var j = 0u; j < QW; j++) {
            let v = q5_pair(q[j], qh, QW * t + j);
            s += dot4I8Packed(s5(v.x), x.l[j]) + dot4I8Packed(s5(v.y), x.h[j]);
        }
        r[i] = unpack2x16float(w16(ba)).x * dx * f32(s);
    }
    return r;
}
