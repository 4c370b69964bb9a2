// The input quantized once per token as llama.cpp's CUDA and Vulkan backends do for their integer-dot
// kernels (Q8_1 blocks of 32): `xq` holds the 8-bit values four to a word, `xd` each block's scale d
// and d·Σq (every lanes kernel but F16's; MLX 4-bit's `xq` is bound to the values split, each 8 as
// the even then the odd ones).
@group(0) @binding(1) var<storage, read> xq: array<u32>;
@group(0) @binding(4) var<storage, read> xd: array<vec2<f32>>;
