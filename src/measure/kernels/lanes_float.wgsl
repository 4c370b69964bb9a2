// F16, BF16 and F32 (the K and V cache products and float weights): TPB = 32/QW invocations per 64
// weights, each reading QW pairs of weights (WP words a pair: one for F16 and BF16, two for F32;
// `pair` in lanes.rs's `float_pair_fns`) of the row, so a subgroup reads contiguous bytes; the input
// two at a time.
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
        let wi = (a[i] >> 2u) + b * 32u * WP + QW * WP * t;
        for (var j = 0u; j < QW; j++) {
            r[i] += dot(pair(wi + WP * j), xv[j]);
        }
    }
    return r;
}
