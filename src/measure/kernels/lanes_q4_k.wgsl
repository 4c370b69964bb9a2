// Q4_K (144-byte super-blocks: f16 d and dmin, 12 bytes of 6-bit scales and mins, 128 bytes of
// nibbles), after llama.cpp's mul_mat_vec_q4_k.comp: the super-block's halves (v_im: sub-blocks 0-1
// and 4-5, or 2-3 and 6-7) each shared by TPB/2 invocations, each taking QW words at qs[q] and
// qs[q + 64] (q = 32·v_im + l0): QW·4 weights of each of sub-blocks 2v_im, 2v_im+1, 2v_im+4 and
// 2v_im+5. The input is 8-bit (one block of 32 per sub-block), so each group of 4 is one
// dot4I8Packed; a sub-block adds d·sc·dx·Σq·xq − dmin·m·dx·Σxq, the min term shared out over the
// sub-block's invocations. QW = 1 is llama.cpp's 16 invocations per super-block; 2 unpacks the
// scales once for twice the weights.
const BLK_W: u32 = 256u;
const QW: u32 = __QW__u;
const TPB: u32 = 16u / QW;
const NR: u32 = __NR__u;

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let v_im = t / (TPB / 2u);
    let l0 = 4u * QW * (t % (TPB / 2u));
    let qw0 = 4u + (32u * v_im + l0) / 4u;
    // x blocks of the four sub-blocks
    let xb = xo / 32u + 8u * b + 2u * v_im;
    let xw = l0 / 4u;
    let x = k_input(xb, xw);
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let wb = (a[i] + b * 144u) >> 2u;
        let dm = unpack2x16float(w[wb]);
        let k = k_scales(wb, v_im);
        var s = vec4<i32>(0);
        for (var j = 0u; j < QW; j++) {
            let q0 = w[wb + qw0 + j];
            let q64 = w[wb + qw0 + 16u + j];
            s += vec4<i32>(
                dot4I8Packed(q0 & 0x0f0f0f0fu, x.x0[j]),
                dot4I8Packed((q0 >> 4u) & 0x0f0f0f0fu, x.x1[j]),
                dot4I8Packed(q64 & 0x0f0f0f0fu, x.x4[j]),
                dot4I8Packed((q64 >> 4u) & 0x0f0f0f0fu, x.x5[j]),
            );
        }
        s *= k.sc;
        r[i] = dm.x * dot(vec4<f32>(s), x.dx) - dm.y * dot(k.m, x.sx);
    }
    return r;
}
