// Q2_K (84-byte super-blocks, 4-aligned: 16 bytes of 4-bit scale/min pairs, qs[64], f16 d and dmin),
// with the halves v_im of llama.cpp's mul_mat_vec_q2_k.comp: weight 128n + 32j + l is bits 2j of
// qs[32n + l], its scale and min byte 8n + 2j + l/16 (one per 16 weights). Each half n = v_im of qs
// is shared by TPB/2 invocations, each taking QW words at l0 (inside one 16-byte half, so one scale
// byte per j): 4 weights of each of the input blocks 4v_im + j (j = 0..3) per word. The 2-bit fields
// are dotted with the 8-bit input where they lie, no shift: (q & 0x0c0c0c0c) is 4·q1, (q &
// 0x30303030) 16·q2 (the factors are folded into dx); only q3 is shifted (q >> 2 & 0x30303030,
// 16·q3: bit 7 would make it negative). The row adds d·Σ sc·dx·Σq·xq − dmin·Σ m·dx·Σxq, the input
// sums Σxq of the invocation's own words (a 16-weight min does not match the input's 32-blocks)
// dotted once per block for the NR rows.
const BLK_W: u32 = 256u;
const QW: u32 = __QW__u;
const TPB: u32 = 16u / QW;
const NR: u32 = __NR__u;

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let v_im = t / (TPB / 2u);
    let l0 = 4u * QW * (t % (TPB / 2u));
    // words: scales 2v_im, 2v_im + 1 (bytes l0/16 and l0/16 + 2 of each), qs from 4 + 8v_im + l0/4
    let qw0 = 4u + 8u * v_im + l0 / 4u;
    let ssh = 8u * (l0 / 16u);
    // x blocks 4v_im + j of the super-block
    let xb = xo / 32u + 8u * b + 4u * v_im;
    let xw = l0 / 4u;
    let dx = vec4<f32>(xd[xb].x, xd[xb + 1u].x * 0.25, xd[xb + 2u].x * 0.0625, xd[xb + 3u].x * 0.0625);
    let x = x_quad(xb, xw);
    let mx = vec4<f32>(xd[xb].x, xd[xb + 1u].x, xd[xb + 2u].x, xd[xb + 3u].x) * vec4<f32>(x.xs);
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let wb = (a[i] + b * 84u) >> 2u;
        var s = vec4<i32>(0);
        for (var j = 0u; j < QW; j++) {
            let q = w[wb + qw0 + j];
            s += vec4<i32>(
                dot4I8Packed(q & 0x03030303u, x.x0[j]),
                dot4I8Packed(q & 0x0c0c0c0cu, x.x1[j]),
                dot4I8Packed(q & 0x30303030u, x.x2[j]),
                dot4I8Packed((q >> 2u) & 0x30303030u, x.x3[j]),
            );
        }
        // scale/min bytes of j = 0, 2, 1, 3 in bytes 0..3 of sm
        let sm = ((w[wb + 2u * v_im] >> ssh) & 0x00ff00ffu) | (((w[wb + 2u * v_im + 1u] >> ssh) << 8u) & 0xff00ff00u);
        let sc = unpack4xU8(sm & 0x0f0f0f0fu).xzyw;
        let mn = bitcast<vec4<f32>>(unpack4xU8((sm >> 4u) & 0x0f0f0f0fu).xzyw | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0);
        let dm = unpack2x16float(w[wb + 20u]);
        r[i] = dm.x * dot(vec4<f32>(s * vec4<i32>(sc)), dx) - dm.y * dot(mn, mx);
    }
    return r;
}
