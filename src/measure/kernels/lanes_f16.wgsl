// F16 (the K and V cache products and F16 weights): 32 invocations per 64 weights, each reading one
// word (two halves) of the row, so a subgroup reads 128 contiguous bytes; the input two at a time.
const BLK_W: u32 = 64u;
const TPB: u32 = 32u;
const NR: u32 = __NR__u;

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let xv = x2[(xo + b * 64u) / 2u + t];
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        r[i] = dot(unpack2x16float(w[(a[i] >> 2u) + b * 32u + t]), xv);
    }
    return r;
}
