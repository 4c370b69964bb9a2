// The input quantized once per token as llama.cpp's CUDA and Vulkan backends do for their integer-dot
// kernels (Q8_1 blocks of 32): `xq` holds the 8-bit values four to a word, `xd` each block's scale d
// and d·Σq (every lanes kernel but F16's; MLX 4-bit's `xq` is bound to the values split, each 8 as
// the even then the odd ones).
@group(0) @binding(1) var<storage, read> xq: array<u32>;
@group(0) @binding(4) var<storage, read> xd: array<vec2<f32>>;
// The same values as 16-byte vectors, so n ≤ 4 adjacent words of one block are one load (`xqv`): the
// super-block kernels' invocations read input words 32 bytes apart per group, scalar loads of them
// touch a cache line each.
@group(0) @binding(7) var<storage, read> xq4: array<vec4<u32>>;
// The blocks' scales d alone, four to a vector: Q3_K's and Q6_K's four input blocks 4i..4i + 3 of a
// half super-block in one 16-byte load (`xd`'s d, 8 bytes apart, took four: 0.882 and 0.990 of the
// copy bandwidth against 0.900 and 1.000 on an H100; Q2_K read 0.906 against 0.926 that way and
// keeps `xd`).
@group(0) @binding(8) var<storage, read> xdv: array<vec4<f32>>;

// n (1, 2 or 4) words of the 8-bit input from word i, i a multiple of n: one 16-byte load.
fn xqv(i: u32, n: u32) -> vec4<u32> {
    let v = xq4[i >> 2u];
    if (n == 4u) {
        return v;
    }
    if (n == 2u) {
        return select(v, v.zwxy, (i & 2u) != 0u);
    }
    return vec4<u32>(v[i & 3u], 0u, 0u, 0u);
}
