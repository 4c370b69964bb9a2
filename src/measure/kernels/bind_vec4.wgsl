// Weights and input bound as 16-byte vectors (the unit kernels, unit.wgsl): buffers are padded to 16
// bytes, so a unit starting 16-aligned is read with whole-vector loads.
@group(0) @binding(0) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;

fn wd(i: u32) -> u32 {
    return w[i >> 2u][i & 3u];
}

fn xf(i: u32) -> f32 {
    return x[i >> 2u][i & 3u];
}

// The four bytes of q as floats minus (bias - 2^23), exactly and without int-to-float conversions:
// 0x4b000000 | b is the float 2^23 + b.
fn bf(q: u32, bias: f32) -> vec4<f32> {
    let b = vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) & vec4<u32>(0xffu);
    return bitcast<vec4<f32>>(b | vec4<u32>(0x4b000000u)) - vec4<f32>(bias);
}
