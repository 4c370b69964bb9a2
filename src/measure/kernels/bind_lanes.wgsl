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

// Bits 0..3 of h to bit 4 of bytes 0..3 (the fifth bits of Q5_0/Q5_1 weights).
fn hb4(h: u32) -> u32 {
    return ((h * 0x00204081u) & 0x01010101u) << 4u;
}
