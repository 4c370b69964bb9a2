// Q6_K (210-byte super-blocks: ql[128] low nibbles, qh[64] high bit pairs, 16 signed 8-bit scales, f16
// d; 2-aligned), as llama.cpp's mul_mat_vec_q6_k.comp: 16 invocations per super-block, each taking
// 4 weights of each of 4 sub-blocks of 16 in its half (v_im) of the super-block.
const BLK_W: u32 = 256u;
const TPB: u32 = 16u;
const NR: u32 = __NR__u;

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let v_im = t / 8u;
    let v_in = t % 8u;
    let l0 = 4u * v_in;
    let ql_off = 64u * v_im + l0;
    let qh_off = 128u + 32u * v_im + l0;
    let s_off = 192u + 8u * v_im + v_in / 4u;
    let y0 = (xo + b * 256u + 128u * v_im + l0) / 4u;
    let by0 = x[y0];
    let by32 = x[y0 + 8u];
    let by64 = x[y0 + 16u];
    let by96 = x[y0 + 24u];
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let ba = a[i] + b * 210u;
        let ql0 = w32(ba + ql_off);
        let ql32 = w32(ba + ql_off + 32u);
        let qh = w32(ba + qh_off);
        let q0 = vec4<f32>(unpack4xU8((ql0 & 0x0f0f0f0fu) | ((qh & 0x03030303u) << 4u))) - 32.0;
        let q1 = vec4<f32>(unpack4xU8((ql32 & 0x0f0f0f0fu) | ((qh & 0x0c0c0c0cu) << 2u))) - 32.0;
        let q2 = vec4<f32>(unpack4xU8(((ql0 >> 4u) & 0x0f0f0f0fu) | (qh & 0x30303030u))) - 32.0;
        let q3 = vec4<f32>(unpack4xU8(((ql32 >> 4u) & 0x0f0f0f0fu) | ((qh & 0xc0c0c0c0u) >> 2u))) - 32.0;
        // scales s_off, +2 (bytes 0 and 2 of the first word), +4, +6 (of the second)
        let sa = vec4<f32>(unpack4xI8(w32(ba + s_off)));
        let sb = vec4<f32>(unpack4xI8(w32(ba + s_off + 4u)));
        let d = unpack2x16float(w16(ba + 208u)).x;
        r[i] = d * (dot(q0, by0) * sa.x + dot(q1, by32) * sa.z + dot(q2, by64) * sb.x + dot(q3, by96) * sb.z);
    }
    return r;
}
