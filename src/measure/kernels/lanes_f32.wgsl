// F32: TPB = 32/QW invocations per 64 weights, each reading 2·QW adjacent words (QW pairs of weights)
// of the row, so a subgroup reads contiguous bytes; the input two at a time.
const BLK_W: u32 = 64u;
const QW: u32 = __QW__u;
const TPB: u32 = 32u / QW;
const NR: u32 = __NR__u;

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let xw = (xo + b * 64u) / 2u + QW * t;
    var xv: array<vec2<f32>, 4>;
    for (var j = 0u; j < QW; j++) {
        xv[j] = x2[xw + j];
    }
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let wi = (a[i] >> 2u) + b * 64u + 2u * QW * t;
        for (var j = 0u; j < QW; j++) {
            r[i] += dot(bitcast<vec2<f32>>(vec2<u32>(w[wi + 2u * j], w[wi + 2u * j + 1u])), xv[j]);
        }
    }
    return r;
}
