// Weights and input bound as scalars (the generic kernels, main.wgsl).
@group(0) @binding(0) var<storage, read> w: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;

fn wd(i: u32) -> u32 {
    return w[i];
}

fn xf(i: u32) -> f32 {
    return x[i];
}
