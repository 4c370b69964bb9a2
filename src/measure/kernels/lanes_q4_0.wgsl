// Q4_0 (18-byte blocks: f16 d, 16 bytes of nibbles; low nibbles are weights 0..15, high 16..31): each
// of TPB = 4/QW invocations takes QW words of nibbles (weights 4·QW·t.. and 16 + 4·QW·t..), dotted
// with the 8-bit input four at a time (dot4I8Packed); the block is d·(dx·Σ q·xq − 8·dx·Σxq), the
// offset term shared out over its TPB invocations.
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
        let ba = a[i] + b * 18u;
        let q = wv(ba + 2u + 4u * QW * t, QW);
        let s = nib_dot(q, x);
        r[i] = unpack2x16float(w16(ba)).x * (ds.x * f32(s) - f32(2u * QW) * ds.y);
    }
    return r;
}
