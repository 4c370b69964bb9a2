// Q8_0 (34-byte blocks: f16 d, 32 signed bytes): each of TPB = 4/QW invocations takes 2·QW words
// (weights 8·QW·t..), dotted with the 8-bit input four at a time (dot4I8Packed); the block is
// d·dx·Σ q·xq.
const BLK_W: u32 = 32u;
const QW: u32 = __QW__u;
const TPB: u32 = 4u / QW;
const NR: u32 = __NR__u;

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let xb = xo / 32u + b;
    let xw = xb * 8u + 2u * QW * t;
    var xv = vec4<u32>(0u);
    for (var j = 0u; j < 2u * QW; j++) {
        xv[j] = xq[xw + j];
    }
    let dx = xd[xb].x;
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let ba = a[i] + b * 34u;
        let q = wv(ba + 2u + 8u * QW * t, 2u * QW);
        var s = 0;
        for (var j = 0u; j < 2u * QW; j++) {
            s += dot4I8Packed(q[j], xv[j]);
        }
        r[i] = unpack2x16float(w16(ba)).x * dx * f32(s);
    }
    return r;
}
