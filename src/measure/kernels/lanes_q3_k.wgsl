// Q3_K (110-byte super-blocks, 2-aligned: hmask[32], qs[64], 12 bytes of 6-bit scales, f16 d), with
// the halves v_im of llama.cpp's mul_mat_vec_q3_k.comp: weight 128n + 32j + l is bits 2j of qs[32n +
// l] plus 4 times bit 4n + j of hmask[l], minus 4; its signed scale (minus 32) is number 8n + 2j +
// l/16 (one per 16 weights). Each half n = v_im of qs is shared by TPB/2 invocations, each taking QW
// words at l0 (inside one 16-byte half, so one scale per j) and the QW hmask words at l0: 4 weights
// of each of the input blocks 4v_im + j per word. A block at an odd half-word starts mid-word: QW +
// 1 aligned words and a 16-bit funnel give QW (`f2`). The 3-bit values are masked in place without a
// shift where they fit a signed byte (j = 1: 4·u, j = 2: 16·u; j = 3 is shifted to 16·u; the factors
// are folded into dx), and the "minus 4" is −4·Σxq, the input sums of the invocation's own words
// dotted once per block for the NR rows, where each row's integer dots start. The row adds
// d·Σ sc·dx·(Σu·xq − 4·Σxq).
const BLK_W: u32 = 256u;
const QW: u32 = __QW__u;
const TPB: u32 = 16u / QW;
const NR: u32 = __NR__u;

// The 32 bits that start at the middle of x when `odd`, else x.
fn f2(x: u32, y: u32, odd: bool) -> u32 {
    return select(x, (x >> 16u) | (y << 16u), odd);
}

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let v_im = t / (TPB / 2u);
    let l0 = 4u * QW * (t % (TPB / 2u));
    let hsh = 4u * v_im;
    let ssh = 8u * (l0 / 16u);
    // x blocks 4v_im + j of the super-block
    let xb = xo / 32u + 8u * b + 4u * v_im;
    let xw = l0 / 4u;
    // (xb is a multiple of 4: rows are whole super-blocks, so xo / 32 is a multiple of 8)
    let dx = xdv[xb / 4u] * vec4<f32>(1.0, 0.25, 0.0625, 0.0625);
    let x = x_quad(xb, xw);
    // −4·Σxq times each j's factor
    let off = x.xs * vec4<i32>(-4, -16, -64, -64);
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let ba = a[i] + b * 110u;
        let odd = (ba & 2u) != 0u;
        // hmask words from (ba + l0) >> 2, qs words 8 + 8v_im further (the aligned words after one
        // that starts at the block's last byte pair of interest are still inside the block)
        let hw = (ba + l0) >> 2u;
        let qw = hw + 8u + 8u * v_im;
        var s = off;
        for (var j = 0u; j < QW; j++) {
            let q = f2(w[qw + j], w[qw + j + 1u], odd);
            let h = f2(w[hw + j], w[hw + j + 1u], odd) >> hsh;
            s += vec4<i32>(
                dot4I8Packed((q & 0x03030303u) | ((h << 2u) & 0x04040404u), x.x0[j]),
                dot4I8Packed((q & 0x0c0c0c0cu) | ((h << 3u) & 0x10101010u), x.x1[j]),
                dot4I8Packed((q & 0x30303030u) | ((h << 4u) & 0x40404040u), x.x2[j]),
                dot4I8Packed(((q >> 2u) & 0x30303030u) | ((h << 3u) & 0x40404040u), x.x3[j]),
            );
        }
        // scales (bytes 96..107) and d (108) from the 4 aligned words that hold them
        let sw = (ba + 96u) >> 2u;
        let w0 = w[sw];
        let w1 = w[sw + 1u];
        let w2 = w[sw + 2u];
        let w3 = w[sw + 3u];
        let s0 = f2(w0, w1, odd);
        let s1 = f2(w1, w2, odd);
        // low 4 bits of the scales of j = 0, 2, 1, 3: bytes l0/16 + 2j of the first 8, nibble v_im
        let lo = ((((s0 >> ssh) & 0x00ff00ffu) | (((s1 >> ssh) & 0x00ff00ffu) << 8u)) >> hsh) & 0x0f0f0f0fu;
        // their high 2 bits: bits 4v_im (j = 0, 1) and 4v_im + 2 (j = 2, 3) of bytes 8 + l0/16 + 2(j % 2)
        let hs = f2(w2, w3, odd) >> (ssh + hsh);
        let hi = ((hs << 4u) & 0x00300030u) | ((hs << 10u) & 0x30003000u);
        let sc = vec4<i32>(unpack4xU8(lo | hi).xzyw) - vec4<i32>(32);
        let d = unpack2x16float(select(w3, w3 >> 16u, odd)).x;
        r[i] = d * dot(vec4<f32>(s * sc), dx);
    }
    return r;
}
