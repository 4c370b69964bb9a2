// Q8_0 (34-byte blocks: f16 d, 32 signed bytes): each of 4 invocations takes 8 bytes, weights
// 8t..8t+7, dotted with the 8-bit input four at a time (dot4I8Packed); the block is d·dx·Σ q·xq.
const BLK_W: u32 = 32u;
const TPB: u32 = 4u;
const NR: u32 = __NR__u;

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let xb = xo / 32u + b;
    let x0 = xq[xb * 8u + 2u * t];
    let x1 = xq[xb * 8u + 2u * t + 1u];
    let dx = xd[xb].x;
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let ba = a[i] + b * 34u;
        let q = ba + 2u + 8u * t;
        let s = dot4I8Packed(w32(q), x0) + dot4I8Packed(w32(q + 4u), x1);
        r[i] = unpack2x16float(w16(ba)).x * dx * f32(s);
    }
    return r;
}
