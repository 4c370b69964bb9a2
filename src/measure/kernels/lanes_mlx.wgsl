// MLX affine 4- and 8-bit (u32 words of 8 nibbles or 4 bytes, low first; per group of GROUP weights one
// scale s and bias b: w = s·q + b): a block is one group (NW words), shared by TPB = 4/QW invocations,
// each taking WPI consecutive words (E weights: NS blocks of 32 of the input, or FR of one). Each word
// is dotted with the 8-bit input by `word_dot` (lanes.rs, `mlx_word_fns`):
// - 4-bit: the input comes split, `xq` bound to the 8-bit values with each 8 reordered as the 4 even
//   then the 4 odd ones (`lanes::split_pairs`), so a word's low nibbles (q & 0x0f0f0f0f: weights 0, 2,
//   4, 6) dot input word 2j and its high nibbles word 2j + 1 as they are: 3 operations and 2
//   dot4I8Packed per word (XW = 2 input words per word);
// - 8-bit: the bytes are unsigned, q ^ 0x80808080 makes them the signed q − 128 (1 operation and 1
//   dot per word), the 128 going to the bias (`group_bias`: b + 128·s).
// The group adds s·Σ dx·Σq·xq + bias·Σx, Σx from each input block's d·Σq (xd.y), shared out over the
// invocations (FR).
const BLK_W: u32 = GROUP;
const TPB: u32 = 4u / QW;
const NR: u32 = __NR__u;

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let e0 = xo + b * GROUP + t * E;
    let xw = e0 / 4u;
    let xb = e0 / 32u;
    var sx = 0.0;
    for (var s = 0u; s < NS; s++) {
        sx += xd[xb + s].y;
    }
    sx *= FR;
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let wb = (a[i] >> 2u) + b * NW + t * WPI;
        let g = a[i] / GB + b;
        var acc = 0.0;
        for (var s = 0u; s < NS; s++) {
            var si = 0i;
            for (var j = 0u; j < WS; j++) {
                si += word_dot(w[wb + s * WS + j], xw + s * 8u + XW * j);
            }
            acc += xd[xb + s].x * f32(si);
        }
        let sg = sget(g);
        r[i] = sg * acc + group_bias(g, sg) * sx;
    }
    return r;
}
