// Shared by every dequant-matvec kernel: bindings, parameters and byte access into the raw block
// bytes (bound as array<u32>, so 18-, 22-, 34-, 110- and 210-byte blocks that are not 4-aligned are
// read by byte address). The bindings of w (weights) and x (input) and their word accessors `wd`, `xf`
// come from bind_scalar.wgsl or bind_vec4.wgsl.
struct Params {
    rows: u32,      // rows in this dispatch
    k: u32,         // elements per row
    row_bytes: u32, // bytes per row of the main array
    row0: u32,      // first row, counted inside the bound chunk
    grow0: u32,     // first row, counted in the whole tensor (for xmod)
    xmod: u32,      // row r reads x[(r % xmod) * k ..]
    y0: u32,        // first output index
    srow: u32,      // MLX: scales (and biases) per row
}

@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn b8(a: u32) -> u32 {
    return (wd(a >> 2u) >> ((a & 3u) * 8u)) & 0xffu;
}

// 16 bits at an even byte address.
fn b16(a: u32) -> u32 {
    return (wd(a >> 2u) >> ((a & 2u) * 8u)) & 0xffffu;
}

// 32 bits at any byte address.
fn u32at(a: u32) -> u32 {
    let s = (a & 3u) * 8u;
    let i = a >> 2u;
    if (s == 0u) {
        return wd(i);
    }
    return (wd(i) >> s) | (wd(i + 1u) << (32u - s));
}

fn f16at(a: u32) -> f32 {
    return unpack2x16float(b16(a)).x;
}
