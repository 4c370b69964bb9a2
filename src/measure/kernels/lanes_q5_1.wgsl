// Q5_1 (24-byte blocks: f16 d, f16 m, 32 high bits qh, 16 bytes of nibbles; weight = d·v + m with
// v = nibble | bit << 4): each of TPB = 4/QW invocations takes QW words of nibbles and their high bits
// (weights 4·QW·t.. and 16 + 4·QW·t..) against the 8-bit input (dot4I8Packed); the block is
// d·dx·Σ v·xq + m·dx·Σxq, the m term shared out over its TPB invocations.
const BLK_W: u32 = 32u;
const QW: u32 = __QW__u;
const TPB: u32 = 4u / QW;
const NR: u32 = __NR__u;

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let xb = xo / 32u + b;
    let xw = xb * 8u + QW * t;
    let x = x_halves(xw);
    let ds = xd[xb];
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let ba = a[i] + b * 24u;
        let h = wv(ba, 2u);
        let dm = unpack2x16float(h.x);
        let qh = h.y;
        let q = wv(ba + 8u + 4u * QW * t, QW);
        var s = 0;
        for (var j = 0u; j < QW; j++) {
            let v = q5_pair(q[j], qh, QW * t + j);
            s += dot4I8Packed(v.x, x.l[j]) + dot4I8Packed(v.y, x.h[j]);
        }
        r[i] = dm.x * ds.x * f32(s) + f32(QW) * 0.25 * dm.y * ds.y;
    }
    return r;
}
