// MXFP4 (17-byte blocks: E8M0 exponent e, 16 bytes of nibbles; low nibbles are weights 0..15, high
// 16..31; weight = kvalues_mxfp4[nibble]·2^(e-128), the table being the E2M1 values doubled: 0, 1, 2, 3,
// 4, 6, 8, 12 and their negatives), against the 8-bit input as llama.cpp's vec_dot_mxfp4_q8_1: TPB =
// 4/QW invocations per block, each taking QW words of nibbles (weights 4·QW·t.. and 16 + 4·QW·t..).
// The table is packed arithmetic on all 8 nibbles of a word at once: magnitude m (bits 0..2) to
// |value| = m + h·((m & 3) + 2·b0·b1) (h = bit 2; at most 12, so no nibble carries), then the
// negative ones (sign bit 3) apart, each half of the word to 4 bytes; Σ value·xq = Σ |value|·xq −
// 2·Σ negative·xq: four dot4I8Packed, about 26 operations per word of 8 weights.
const BLK_W: u32 = 32u;
const QW: u32 = __QW__u;
const TPB: u32 = 4u / QW;
const NR: u32 = __NR__u;

fn mxfp4_mag(q: u32) -> u32 {
    let h = (q >> 2u) & 0x11111111u;
    let c = q & (q >> 1u) & h;
    return (q & 0x77777777u) + (q & (h * 3u)) + (c << 1u);
}

// E8M0 e to 2^(e-128) (ggml's GGML_E8M0_TO_FP32_HALF) for e ≥ 2; 0 for its two subnormal cases (2^-128
// and 2^-127, weights below 1e-37).
fn e8m0_half(e: u32) -> f32 {
    return bitcast<f32>((max(e, 1u) - 1u) << 23u);
}

fn block_dot(a: vec4<u32>, b: u32, t: u32, xo: u32) -> vec4<f32> {
    let xb = xo / 32u + b;
    let xw = xb * 8u + QW * t;
    let dx = xd[xb].x;
    let xl = xqv(xw, QW);
    let xh = xqv(xw + 4u, QW);
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < NR; i++) {
        let ba = a[i] + b * 17u;
        let d = e8m0_half((w[ba >> 2u] >> ((ba & 3u) * 8u)) & 0xffu);
        // QW words from byte qa (any alignment): funnel shifts of QW + 1 loads (QW when aligned)
        let qa = ba + 1u + 4u * QW * t;
        let k = qa >> 2u;
        let sh = (qa & 3u) * 8u;
        // the word after the last only when the block is not aligned (never past its last byte)
        let more = select(0u, 1u, sh != 0u);
        var cur = w[k];
        var s = 0i;
        for (var j = 0u; j < QW; j++) {
            let nxt = w[k + j + select(1u, more, j + 1u == QW)];
            let q = (cur >> sh) | ((nxt << (31u - sh)) << 1u);
            cur = nxt;
            let v = mxfp4_mag(q);
            let ng = v & (((q >> 3u) & 0x11111111u) * 15u);
            let x0 = xl[j];
            let x1 = xh[j];
            s += dot4I8Packed(v & 0x0f0f0f0fu, x0) + dot4I8Packed((v >> 4u) & 0x0f0f0f0fu, x1)
                - 2 * (dot4I8Packed(ng & 0x0f0f0f0fu, x0) + dot4I8Packed((ng >> 4u) & 0x0f0f0f0fu, x1));
        }
        r[i] = d * dx * f32(s);
    }
    return r;
}
