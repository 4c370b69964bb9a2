// Q5_1 (24-byte blocks: f16 d, f16 m, 32 high bits qh, 16 bytes of nibbles; weight = d·v + m with
// v = nibble | bit << 4): each of 4 invocations takes 4 bytes of nibbles and their 8 high bits
// (weights 4t.. and 16+4t..) against the 8-bit input (dot4I8Packed); the block is d·dx·Σ v·xq +
// m·dx·Σxq, the m term shared out over its 4 invocations.
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
        let ba = a[i] + b * 24u;
        let dm = unpack2x16float(w32(ba));
        let qh = w32(ba + 4u);
        let q = w32(ba + 8u + 4u * t);
        let lo = (q & 0x0f0f0f0fu) | hb4((qh >> (4u * t)) & 0xfu);
        let hi = ((q >> 4u) & 0x0f0f0f0fu) | hb4((qh >> (16u + 4u * t)) & 0xfu);
        let s = dot4I8Packed(lo, x0) + dot4I8Packed(hi, x1);
        r[i] = dm.x * ds.x * f32(s) + 0.25 * dm.y * ds.y;
    }
    return r;
}
