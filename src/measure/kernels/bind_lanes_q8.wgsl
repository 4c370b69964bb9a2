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

// What follows is shared by the type kernels that read the 8-bit input the same way (one copy each,
// timed against the copies it replaced on an H100: 1 GiB kernels and whole decodes within 0.5%;
// docs/benchmarks.md, round 6). Their loops over QW are written out with the type's own when a shape
// asks (`Shape::alt`).

// The QW words of the 8-bit input at word xw and at xw + 4: a block's weights 4·QW·t.. and 16 +
// 4·QW·t.. (Q4_0, Q4_1, Q5_0, Q5_1: the low and the high nibbles of QW words), one load each.
struct XHalves {
    l: vec4<u32>,
    h: vec4<u32>,
}

fn x_halves(xw: u32) -> XHalves {
    var x: XHalves;
    for (var j = 0u; j < QW; j++) {
        x.l[j] = xq[xw + j];
        x.h[j] = xq[xw + 4u + j];
    }
    return x;
}

// Four input blocks xb.. (a half super-block: Q2_K's, Q3_K's and Q6_K's groups of 32) at word xw of
// each, one 16-byte load per block, and each one's Σxq over those words (for the offsets and mins,
// dotted once per block for the NR rows).
struct XQuad {
    x0: vec4<u32>,
    x1: vec4<u32>,
    x2: vec4<u32>,
    x3: vec4<u32>,
    xs: vec4<i32>,
}

fn x_quad(xb: u32, xw: u32) -> XQuad {
    var r: XQuad;
    r.x0 = xqv(xb * 8u + xw, QW);
    r.x1 = xqv((xb + 1u) * 8u + xw, QW);
    r.x2 = xqv((xb + 2u) * 8u + xw, QW);
    r.x3 = xqv((xb + 3u) * 8u + xw, QW);
    for (var j = 0u; j < QW; j++) {
        r.xs += vec4<i32>(
            dot4I8Packed(0x01010101u, r.x0[j]),
            dot4I8Packed(0x01010101u, r.x1[j]),
            dot4I8Packed(0x01010101u, r.x2[j]),
            dot4I8Packed(0x01010101u, r.x3[j]),
        );
    }
    return r;
}

// Σ over QW words of nibbles, the low ones dotted with the input's low half and the high ones with
// its high half (Q4_0, Q4_1).
fn nib_dot(q: vec4<u32>, x: XHalves) -> i32 {
    var s = 0;
    for (var j = 0u; j < QW; j++) {
        s += dot4I8Packed(q[j] & 0x0f0f0f0fu, x.l[j]) + dot4I8Packed((q[j] >> 4u) & 0x0f0f0f0fu, x.h[j]);
    }
    return s;
}

// Bits 0..3 of h to bit 4 of bytes 0..3 (the fifth bits of Q5_0/Q5_1 weights).
fn hb4(h: u32) -> u32 {
    return ((h * 0x00204081u) & 0x01010101u) << 4u;
}

// The 5-bit values (nibble | high bit << 4) of nibble word q, its high bits being bits 4g.. (low
// nibbles) and 16 + 4g.. (high nibbles) of qh (Q5_0, Q5_1).
fn q5_pair(q: u32, qh: u32, g: u32) -> vec2<u32> {
    return vec2<u32>(
        (q & 0x0f0f0f0fu) | hb4((qh >> (4u * g)) & 0xfu),
        ((q >> 4u) & 0x0f0f0f0fu) | hb4((qh >> (16u + 4u * g)) & 0xfu),
    );
}

// The input of a Q4_K or Q5_K invocation: blocks xb, xb + 1, xb + 4 and xb + 5 (sub-blocks 2v_im,
// 2v_im + 1, 2v_im + 4 and 2v_im + 5), their scales d, their d·Σq shared out over each sub-block's
// TPB/2 invocations (for the mins), and their QW words at xw.
struct KInput {
    dx: vec4<f32>,
    sx: vec4<f32>,
    x0: vec4<u32>,
    x1: vec4<u32>,
    x4: vec4<u32>,
    x5: vec4<u32>,
}

fn k_input(xb: u32, xw: u32) -> KInput {
    let d0 = xd[xb];
    let d1 = xd[xb + 1u];
    let d4 = xd[xb + 4u];
    let d5 = xd[xb + 5u];
    return KInput(
        vec4<f32>(d0.x, d1.x, d4.x, d5.x),
        vec4<f32>(d0.y, d1.y, d4.y, d5.y) * (f32(QW) * 0.125),
        xqv(xb * 8u + xw, QW),
        xqv((xb + 1u) * 8u + xw, QW),
        xqv((xb + 4u) * 8u + xw, QW),
        xqv((xb + 5u) * 8u + xw, QW),
    );
}
