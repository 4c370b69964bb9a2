// Q5_K (176-byte super-blocks, 4-aligned: f16 d and dmin, 12 bytes of 6-bit scales and mins as
// Q4_K's, qh[32] fifth bits, 128 bytes of nibbles), after llama.cpp's mul_mat_vec_q5_k.comp: Q4_K's
// layout (halves v_im each shared by TPB/2 invocations, QW words at qs[q] and qs[q + 64], q =
// 32·v_im + l0: sub-blocks 2v_im, 2v_im+1, 2v_im+4 and 2v_im+5) plus the QW words at qh[l0]: bit s
// of qh[l] is the fifth bit of weight l of sub-block s. One shift moves the word's bits 2v_im.. to
// 0, 1, 4 and 5 of each byte; each is masked into bit 4 of its nibble's byte (5-bit values 0..31 as
// signed bytes) and dotted with the 8-bit input (dot4I8Packed). A sub-block adds d·sc·dx·Σq·xq −
// dmin·m·dx·Σxq, the min term from the input's d·Σq shared out over the sub-block's invocations, as
// Q4_K's.
const BLK_W: u32 = 256u;
const QW: u32 = __QW__u;
const TPB: u32 = 16u / QW;
const NR: u32 = __NR__u;

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let v_im = t / (TPB / 2u);
    let l0 = 4u * QW * (t % (TPB / 2u));
    // words: qs from 12 (byte 48), qh from 4 (byte 16)
    let qw0 = 12u + (32u * v_im + l0) / 4u;
    let hw0 = 4u + l0 / 4u;
    let hsh = 2u * v_im;
    // x blocks of the four sub-blocks
    let xb = xo / 32u + 8u * b + 2u * v_im;
    let xw = l0 / 4u;
    let x = k_input(xb, xw);
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let wb = (a[i] + b * 176u) >> 2u;
        let dm = unpack2x16float(w[wb]);
        let k = k_scales(wb, v_im);
        var s = vec4<i32>(0);
        for (var j = 0u; j < QW; j++) {
            let q0 = w[wb + qw0 + j];
            let q64 = w[wb + qw0 + 16u + j];
            // fifth bits of sub-blocks 2v_im, +1, +4, +5 at bits 0, 1, 4, 5
            let qh = w[wb + hw0 + j] >> hsh;
            s += vec4<i32>(
                dot4I8Packed((q0 & 0x0f0f0f0fu) | ((qh << 4u) & 0x10101010u), x.x0[j]),
                dot4I8Packed(((q0 >> 4u) & 0x0f0f0f0fu) | ((qh << 3u) & 0x10101010u), x.x1[j]),
                dot4I8Packed((q64 & 0x0f0f0f0fu) | (qh & 0x10101010u), x.x4[j]),
                dot4I8Packed(((q64 >> 4u) & 0x0f0f0f0fu) | ((qh >> 1u) & 0x10101010u), x.x5[j]),
            );
        }
        s *= k.sc;
        r[i] = dm.x * dot(vec4<f32>(s), x.dx) - dm.y * dot(k.m, x.sx);
    }
    return r;
}
