// Q4_K (144-byte super-blocks: f16 d and dmin, 12 bytes of 6-bit scales and mins, 128 bytes of
// nibbles), with the thread layout of llama.cpp's mul_mat_vec_q4_k.comp: 16 invocations per
// super-block, each taking 4 bytes at qs[q] and qs[q + 64] (q = 32·v_im + 4·(2·ir + v_in)): 4 weights
// of each of sub-blocks 2v_im, 2v_im+1, 2v_im+4 and 2v_im+5. The input is 8-bit (one block of 32 per
// sub-block), so each group of 4 is one dot4I8Packed; a sub-block adds d·sc·dx·Σq·xq − dmin·m·dx·Σxq,
// the min term shared out over the sub-block's 8 invocations.
const BLK_W: u32 = 256u;
const TPB: u32 = 16u;
const NR: u32 = __NR__u;

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let il = t / 4u;
    let ir = t % 4u;
    let v_im = il / 2u;
    let v_in = il % 2u;
    let l0 = 4u * (2u * ir + v_in);
    let q_off = 32u * v_im + l0;
    // x blocks of the four sub-blocks
    let xb = xo / 32u + 8u * b + 2u * v_im;
    let xw = l0 / 4u;
    let x0 = xq[xb * 8u + xw];
    let x1 = xq[(xb + 1u) * 8u + xw];
    let x4 = xq[(xb + 4u) * 8u + xw];
    let x5 = xq[(xb + 5u) * 8u + xw];
    let d0 = xd[xb];
    let d1 = xd[xb + 1u];
    let d4 = xd[xb + 4u];
    let d5 = xd[xb + 5u];
    let dx = vec4<f32>(d0.x, d1.x, d4.x, d5.x);
    let sx = vec4<f32>(d0.y, d1.y, d4.y, d5.y) * 0.125;
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let wb = (a[i] + b * 144u) >> 2u;
        let dm = unpack2x16float(w[wb]);
        let hs = 16u * v_im;
        let sc0 = (w[wb + 1u] >> hs) & 0xffffu;
        let sc4 = (w[wb + 2u] >> hs) & 0xffffu;
        let sc8 = (w[wb + 3u] >> hs) & 0xffffu;
        let l = (sc4 << 16u) | sc0;
        let h = (l & 0xc0c0c0c0u) >> 2u;
        // scales of sub-blocks (j0, j1) and their mins; (j4, j5) and theirs
        let scl = unpack4xU8(l & 0x3f3f3f3fu);
        let sch = unpack4xU8((((sc8 << 12u) | sc8) & 0x0f0f0f0fu) | h);
        let q0 = w[wb + 4u + q_off / 4u];
        let q64 = w[wb + 20u + q_off / 4u];
        let s = vec4<i32>(
            dot4I8Packed(q0 & 0x0f0f0f0fu, x0),
            dot4I8Packed((q0 >> 4u) & 0x0f0f0f0fu, x1),
            dot4I8Packed(q64 & 0x0f0f0f0fu, x4),
            dot4I8Packed((q64 >> 4u) & 0x0f0f0f0fu, x5),
        ) * vec4<i32>(vec4<u32>(scl.x, scl.y, sch.x, sch.y));
        let m = bitcast<vec4<f32>>(vec4<u32>(scl.z, scl.w, sch.z, sch.w) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0);
        r[i] = dm.x * dot(vec4<f32>(s), dx) - dm.y * dot(m, sx);
    }
    return r;
}
