// Q4_K (144-byte super-blocks: f16 d and dmin, 12 bytes of 6-bit scales and mins, 128 bytes of
// nibbles), as llama.cpp's mul_mat_vec_q4_k.comp: 16 invocations per super-block, each taking 4 bytes
// at qs[q] and qs[q + 64] (q = 32·v_im + 4·(2·ir + v_in)): weights of sub-blocks 2v_im, 2v_im+1,
// 2v_im+4 and 2v_im+5, four each; scales and mins unpacked four at a time.
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
    let y1 = (xo + b * 256u + 64u * v_im + l0) / 4u;
    let by10 = x[y1];
    let by132 = x[y1 + 8u];
    let by20 = x[y1 + 32u];
    let by232 = x[y1 + 40u];
    let one = vec4<f32>(1.0);
    let s10 = dot(by10, one);
    let s132 = dot(by132, one);
    let s20 = dot(by20, one);
    let s232 = dot(by232, one);
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
        let scl = vec4<f32>(unpack4xU8(l & 0x3f3f3f3fu));
        let sch = vec4<f32>(unpack4xU8((((sc8 << 12u) | sc8) & 0x0f0f0f0fu) | h));
        let q0 = w[wb + 4u + q_off / 4u];
        let q64 = w[wb + 20u + q_off / 4u];
        let sx = dot(vec4<f32>(unpack4xU8(q0 & 0x0f0f0f0fu)), by10);
        let sy = dot(vec4<f32>(unpack4xU8((q0 >> 4u) & 0x0f0f0f0fu)), by132);
        let sz = dot(vec4<f32>(unpack4xU8(q64 & 0x0f0f0f0fu)), by20);
        let sw = dot(vec4<f32>(unpack4xU8((q64 >> 4u) & 0x0f0f0f0fu)), by232);
        let smin = s10 * scl.z + s132 * scl.w + s20 * sch.z + s232 * sch.w;
        r[i] = dm.x * (sx * scl.x + sy * scl.y + sz * sch.x + sw * sch.y) - dm.y * smin;
    }
    return r;
}
