// MLX affine: __BITS__-bit values packed low bits first into u32 words, one scale and bias per group of
// __GROUP__ weights: w = scale * q + bias, folded per sub-block as scale * sum(q*x) + bias * sum(x).
@group(0) @binding(5) var<storage, read> sc: array<u32>;
@group(0) @binding(6) var<storage, read> bi: array<u32>;

const BITS: u32 = __BITS__u;
const GROUP: u32 = __GROUP__u;
const PER_WORD: u32 = 32u / BITS;
const MASK: u32 = (1u << BITS) - 1u;

__SCALE_FNS__

fn sub_dot(row: u32, s: u32, xo: u32) -> f32 {
    let wb = row * (p.row_bytes >> 2u) + s * BITS;
    var sq = 0.0;
    var sx = 0.0;
    for (var i = 0u; i < BITS; i++) {
        let wv = wd(wb + i);
        for (var j = 0u; j < PER_WORD; j++) {
            let xv = xf(xo + i * PER_WORD + j);
            sq += f32((wv >> (BITS * j)) & MASK) * xv;
            sx += xv;
        }
    }
    let gi = row * p.srow + (s * 32u) / GROUP;
    return sget(gi) * sq + bget(gi) * sx;
}
