// Q4_1 (20-byte blocks: f16 d, f16 m, 16 bytes of nibbles; weight = d·q + m): each of TPB = 4/QW
// invocations takes QW words of nibbles (weights 4·QW·t.. and 16 + 4·QW·t..) against the 8-bit input
// (dot4I8Packed); the block is d·dx·Σ q·xq + m·dx·Σxq, the m term shared out over its TPB invocations.
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
        let ba = a[i] + b * 20u;
        let dm = unpack2x16float(wv(ba, 1u).x);
        let q = wv(ba + 4u + 4u * QW * t, QW);
        let s = nib_dot(q, x);
        r[i] = dm.x * ds.x * f32(s) + f32(QW) * 0.25 * dm.y * ds.y;
    }
    return r;
}
