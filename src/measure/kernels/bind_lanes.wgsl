// Weights bound as words, read at any byte address (`w32`, `w16`: blocks of 18, 34 and 210 bytes are
// not 4-aligned) with two aligned loads and a funnel shift, no branch (the second load repeats the
// first when the address is aligned, so it never reads past the word that holds the last byte).
@group(0) @binding(0) var<storage, read> w: array<u32>;

fn wd(i: u32) -> u32 {
    return w[i];
}

fn w32(a: u32) -> u32 {
    let i = a >> 2u;
    let s = (a & 3u) * 8u;
    let hi = w[i + select(0u, 1u, s != 0u)];
    return (w[i] >> s) | select(0u, hi << (32u - s), s != 0u);
}

// 16 bits at an even byte address.
fn w16(a: u32) -> u32 {
    return (w[a >> 2u] >> ((a & 2u) * 8u)) & 0xffffu;
}

// Bits 0..3 of h to bit 4 of bytes 0..3 (the fifth bits of Q5_0/Q5_1 weights).
fn hb4(h: u32) -> u32 {
    return ((h * 0x00204081u) & 0x01010101u) << 4u;
}
