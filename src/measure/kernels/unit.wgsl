// Unit kernels, NR > 1 rows per invocation: one workgroup of WG invocations computes (WG/TPR)·NR
// rows; TPR invocations share a group of NR consecutive rows. Each takes every TPR-th unit (UNIT_W
// weights, UNIT_BYTES stored bytes: whole blocks, so a unit starts UNIT_ALIGN-aligned when the row
// does) of all NR rows with whole-vector loads, adjacent lanes reading adjacent units, and reads each
// input vector once for the NR rows (the input, not the weights, is most of the bytes loaded per
// weight). Rows past the end of the dispatch re-read its last row (their sums are not written), so the
// unrolled unit_dot appears once in the kernel. What is left of a row (or a row that is not aligned)
// goes through the generic sub_dot, one 32-element sub-block at a time. Only for products whose rows
// all read the same input (xmod = 1; the host sends K-cache products to the NR = 1 kernel). Then the
// TPR partial sums of a row are added (subgroup shuffles, or a tree in workgroup memory).
const WG: u32 = __WG__u;
const TPR: u32 = __TPR__u;
const RPW: u32 = WG / TPR;

__RED_DECL__

@compute @workgroup_size(__WG__)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let g = wid.y * nwg.x + wid.x;
    // lane: which of the TPR invocations of its row group; rg: which row group of the workgroup
    let lane = __LANE__;
    let rg = __RG__;
    let r = (g * RPW + rg) * NR;
    var acc = vec4<f32>(0.0);
    if (r < p.rows) {
        let nsub = (p.k + 31u) / 32u;
        let aligned = p.row_bytes % UNIT_ALIGN == 0u;
        let nunit = select(0u, p.k / UNIT_W, aligned);
        let s0 = nunit * (UNIT_W / 32u);
        var rb = vec4<u32>(0u);
        for (var i = 0u; i < NR; i++) {
            rb[i] = (p.row0 + min(r + i, p.rows - 1u)) * p.row_bytes;
        }
        for (var u = lane; u < nunit; u += TPR) {
            acc += unit_dot(rb + vec4<u32>(u * UNIT_BYTES), u * UNIT_W);
        }
        for (var s = s0 + lane; s < nsub; s += TPR) {
            for (var i = 0u; i < NR; i++) {
                acc[i] += sub_dot(p.row0 + min(r + i, p.rows - 1u), s, s * 32u);
            }
        }
    }
__REDUCE__
    if (lane == 0u) {
        for (var i = 0u; i < NR; i++) {
            if (r + i < p.rows) {
                y[p.y0 + r + i] = acc[i];
            }
        }
    }
}
