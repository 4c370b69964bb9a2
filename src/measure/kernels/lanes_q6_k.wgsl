// Q6_K (210-byte super-blocks: ql[128] low nibbles, qh[64] high bit pairs, 16 signed 8-bit scales, f16
// d; 2-aligned), with the thread layout of llama.cpp's mul_mat_vec_q6_k.comp: 16 invocations per
// super-block, each taking 4 weights of each of 4 sub-blocks of 16 in its half (v_im). The input is
// 8-bit: each group of 4 weights (6-bit values minus 32, as signed bytes) is one dot4I8Packed; the
// super-block adds d·Σ sc·dx·Σq·xq.
const BLK_W: u32 = 256u;
const TPB: u32 = 16u;
const NR: u32 = __NR__u;

// 6-bit values q of the four bytes as the signed bytes q − 32: flip bit 5, then extend it.
fn s6(v: u32) -> u32 {
    let f = v ^ 0x20202020u;
    return f | ((f & 0x20202020u) * 7u);
}

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let v_im = t / 8u;
    let v_in = t % 8u;
    let l0 = 4u * v_in;
    let ql_off = 64u * v_im + l0;
    let qh_off = 128u + 32u * v_im + l0;
    let s_off = 192u + 8u * v_im + v_in / 4u;
    // x blocks of 32: elements 128·v_im + 32·g + l0 for the groups g = 0..3
    let xb = xo / 32u + 8u * b + 4u * v_im;
    let xw = l0 / 4u;
    let x0 = xq[xb * 8u + xw];
    let x1 = xq[(xb + 1u) * 8u + xw];
    let x2 = xq[(xb + 2u) * 8u + xw];
    let x3 = xq[(xb + 3u) * 8u + xw];
    let dx = vec4<f32>(xd[xb].x, xd[xb + 1u].x, xd[xb + 2u].x, xd[xb + 3u].x);
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let ba = a[i] + b * 210u;
        let ql0 = w32(ba + ql_off);
        let ql32 = w32(ba + ql_off + 32u);
        let qh = w32(ba + qh_off);
        // scales s_off, +2 (bytes 0 and 2 of the first word), +4, +6 (of the second)
        let sa = unpack4xI8(w32(ba + s_off));
        let sb = unpack4xI8(w32(ba + s_off + 4u));
        let s = vec4<i32>(
            dot4I8Packed(s6((ql0 & 0x0f0f0f0fu) | ((qh & 0x03030303u) << 4u)), x0),
            dot4I8Packed(s6((ql32 & 0x0f0f0f0fu) | ((qh & 0x0c0c0c0cu) << 2u)), x1),
            dot4I8Packed(s6(((ql0 >> 4u) & 0x0f0f0f0fu) | (qh & 0x30303030u)), x2),
            dot4I8Packed(s6(((ql32 >> 4u) & 0x0f0f0f0fu) | ((qh & 0xc0c0c0c0u) >> 2u)), x3),
        ) * vec4<i32>(sa.x, sa.z, sb.x, sb.z);
        r[i] = unpack2x16float(w16(ba + 208u)).x * dot(vec4<f32>(s), dx);
    }
    return r;
}
