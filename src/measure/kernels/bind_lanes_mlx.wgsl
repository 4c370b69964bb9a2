// MLX affine lanes kernels: each group's scale and bias (f32, f16 or bf16 arrays bound as words; `sget`,
// `bget` by group index). Bound beside the 8-bit input (`xq` at 1, `xd` at 4); the unit kernels of
// MLX bind them at the same slots (kernels/mlx.wgsl).
@group(0) @binding(5) var<storage, read> sc: array<u32>;
@group(0) @binding(6) var<storage, read> bi: array<u32>;
