// Q6_K (210-byte super-blocks: ql[128] low nibbles, qh[64] high bit pairs, 16 signed 8-bit scales, f16
// d; 2-aligned), after llama.cpp's mul_mat_vec_q6_k.comp: each half (v_im) of the super-block shared
// by TPB/2 invocations, each taking QW·4 weights (l0 ..) of each of its 4 groups of 32 (sub-blocks
// of 16 with their own scales). The input is 8-bit: each 4 weights (their 6-bit values) are one
// dot4I8Packed, less 32·Σxq; the super-block adds d·Σ sc·dx·Σ(q − 32)·xq. QW = 1 is llama.cpp's 16
// invocations per super-block; 2 and 4 read the scales once for twice and four times the weights.
const BLK_W: u32 = 256u;
const QW: u32 = __QW__u;
const TPB: u32 = 16u / QW;
const NR: u32 = __NR__u;

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let v_im = t / (TPB / 2u);
    let l0 = 4u * QW * (t % (TPB / 2u));
    let ql_off = 64u * v_im + l0;
    let qh_off = 128u + 32u * v_im + l0;
    // x blocks of 32: elements 128·v_im + 32·g + l0 for the groups g = 0..3; the 6-bit values are
    // dotted as they are (0..63) and 32·Σxq of each group's words taken off once for the NR rows
    let xb = xo / 32u + 8u * b + 4u * v_im;
    let xw = l0 / 4u;
    // (xb is a multiple of 4: rows are whole super-blocks, so xo / 32 is a multiple of 8)
    let dx = xdv[xb / 4u];
    let x = x_quad(xb, xw);
    let xs = x.xs * 32;
    // scales 8·v_im + l0/16 (+2, +4, +6): bytes 0 and 2 of two aligned words, shifted by l0/16 bytes
    let ssh = 8u * (l0 / 16u);
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let ba = a[i] + b * 210u;
        let l0w = wv(ba + ql_off, QW);
        let l32w = wv(ba + ql_off + 32u, QW);
        let hw = wv(ba + qh_off, QW);
        var s = -xs;
        for (var j = 0u; j < QW; j++) {
            let ql0 = l0w[j];
            let ql32 = l32w[j];
            let qh = hw[j];
            s += vec4<i32>(
                dot4I8Packed((ql0 & 0x0f0f0f0fu) | ((qh & 0x03030303u) << 4u), x.x0[j]),
                dot4I8Packed((ql32 & 0x0f0f0f0fu) | ((qh & 0x0c0c0c0cu) << 2u), x.x1[j]),
                dot4I8Packed(((ql0 >> 4u) & 0x0f0f0f0fu) | (qh & 0x30303030u), x.x2[j]),
                dot4I8Packed(((ql32 >> 4u) & 0x0f0f0f0fu) | ((qh & 0xc0c0c0c0u) >> 2u), x.x3[j]),
            );
        }
        let sw = wv(ba + 192u + 8u * v_im, 2u);
        let sa = unpack4xI8(sw.x >> ssh);
        let sb = unpack4xI8(sw.y >> ssh);
        s *= vec4<i32>(sa.x, sa.z, sb.x, sb.z);
        r[i] = unpack2x16float(w16(ba + 208u)).x * dot(vec4<f32>(s), dx);
    }
    return r;
}
