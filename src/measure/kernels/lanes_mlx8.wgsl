// MLX affine 8-bit (u32 words of 4 bytes, low first; per group of GROUP weights one scale s and bias b:
// w = s·q + b): a block is one group (NW words), shared by TPB = 4/QW invocations, each taking WPI
// consecutive words (E weights: NS blocks of 32 of the input, or FR of one). The bytes are unsigned:
// q ^ 0x80808080 makes them the signed q − 128 for dot4I8Packed (1 operation and 1 dot per word),
// the 128 going to the bias: the group adds s·Σ dx·Σ(q − 128)·xq + (b + 128·s)·Σx, Σx from each
// input block's d·Σq (xd.y), shared out over the invocations (FR).
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
                si += dot4I8Packed(w[wb + s * WS + j] ^ 0x80808080u, xq[xw + s * 8u + j]);
            }
            acc += xd[xb + s].x * f32(si);
        }
        let sg = sget(g);
        r[i] = sg * acc + (bget(g) + 128.0 * sg) * sx;
    }
    return r;
}
