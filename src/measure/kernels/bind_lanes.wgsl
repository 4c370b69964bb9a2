// Weights bound as words, read by word (`wd`, `w[]`: 4-aligned blocks) or at even byte addresses (`wv`,
// `w16`: blocks of 18, 22, 34 and 210 bytes are 2-aligned) without a branch.
@group(0) @binding(0) var<storage, read> w: array<u32>;

fn wd(i: u32) -> u32 {
    return w[i];
}

// n ≤ 4 consecutive words from an even byte address a (blocks of 18, 22, 34 and 210 bytes): n + 1
// aligned loads, each shared by two words, the last repeating the one before when a is 4-aligned (so
// nothing past the word that holds the last byte is read), and a 16-bit funnel shift where a is not.
fn wv(a: u32, n: u32) -> vec4<u32> {
    let i = a >> 2u;
    let u = (a >> 1u) & 1u;
    var r = vec4<u32>(0u);
    var lo = w[i];
    for (var j = 0u; j < n; j++) {
        let hi = w[i + j + select(1u, u, j + 1u == n)];
        r[j] = select(lo, (lo >> 16u) | (hi << 16u), u == 1u);
        lo = hi;
    }
    return r;
}

// 16 bits at an even byte address.
fn w16(a: u32) -> u32 {
    return (w[a >> 2u] >> ((a & 2u) * 8u)) & 0xffffu;
}

// Q4_K and Q5_K (the same 12 bytes of 6-bit scales and mins at word 1 of the super-block `wb`): the
// scales of sub-blocks 2v_im, 2v_im + 1, 2v_im + 4 and 2v_im + 5, and their mins as floats.
struct KScales {
    sc: vec4<i32>,
    m: vec4<f32>,
}

fn k_scales(wb: u32, v_im: u32) -> KScales {
    let hs = 16u * v_im;
    let sc0 = (w[wb + 1u] >> hs) & 0xffffu;
    let sc4 = (w[wb + 2u] >> hs) & 0xffffu;
    let sc8 = (w[wb + 3u] >> hs) & 0xffffu;
    let l = (sc4 << 16u) | sc0;
    let h = (l & 0xc0c0c0c0u) >> 2u;
    // scales of sub-blocks (j0, j1) and their mins; (j4, j5) and theirs
    let scl = unpack4xU8(l & 0x3f3f3f3fu);
    let sch = unpack4xU8((((sc8 << 12u) | sc8) & 0x0f0f0f0fu) | h);
    let m = bitcast<vec4<f32>>(vec4<u32>(scl.z, scl.w, sch.z, sch.w) | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0);
    return KScales(vec4<i32>(vec4<u32>(scl.x, scl.y, sch.x, sch.y)), m);
}
