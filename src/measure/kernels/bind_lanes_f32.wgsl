// The input as f32, four at a time (Q4_K and Q6_K lanes kernels).
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
