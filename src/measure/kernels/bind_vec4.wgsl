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

// Nibbles of the four bytes of q (low nibbles: m4lo, high: m4hi) as the floats 1 + n/16, and the
// four bytes as 1 + b/256: the bits moved to the top of the mantissa of 1.0 with one shift and one
// and-or each, exactly (callers correct the offset with the block's input sum).
fn m4lo(q: u32) -> vec4<f32> {
    let v = vec4<u32>(q << 19u, q << 11u, q << 3u, q >> 5u);
    return bitcast<vec4<f32>>((v & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u));
}

fn m4hi(q: u32) -> vec4<f32> {
    let v = vec4<u32>(q << 15u, q << 7u, q >> 1u, q >> 9u);
    return bitcast<vec4<f32>>((v & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u));
}

fn m8(q: u32) -> vec4<f32> {
    let v = vec4<u32>(q << 15u, q << 7u, q >> 1u, q >> 9u);
    return bitcast<vec4<f32>>((v & vec4<u32>(0x007f8000u)) | vec4<u32>(0x3f800000u));
}
