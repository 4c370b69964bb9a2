// Q4_1 (20-byte blocks: f16 d, f16 m, 16 bytes of nibbles; weight = d·q + m): each of 4 invocations
// takes 4 bytes of nibbles (weights 4t.. and 16+4t..) against the 8-bit input (dot4I8Packed); the
// block is d·dx·Σ q·xq + m·dx·Σxq, the m term shared out over its 4 invocations.
const BLK_W: u32 = 32u;
const TPB: u32 = 4u;
const NR: u32 = __NR__u;

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let xb = xo / 32u + b;
    let x0 = xq[xb * 8u + t];
    let x1 = xq[xb * 8u + 4u + t];
    let ds = xd[xb];
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let ba = a[i] + b * 20u;
        let dm = unpack2x16float(w32(ba));
        let q = w32(ba + 4u + 4u * t);
        let s = dot4I8Packed(q & 0x0f0f0f0fu, x0) + dot4I8Packed((q >> 4u) & 0x0f0f0f0fu, x1);
        r[i] = dm.x * ds.x * f32(s) + 0.25 * dm.y * ds.y;
    }
    return r;
}
