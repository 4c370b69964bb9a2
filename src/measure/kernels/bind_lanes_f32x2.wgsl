// The input as f32, two at a time (F16 lanes kernel).
@group(0) @binding(1) var<storage, read> x2: array<vec2<f32>>;
