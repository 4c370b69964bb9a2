// Unit kernels, one row per invocation group: one workgroup of WG invocations computes WG/TPR rows;
// TPR invocations share a row, each taking every TPR-th unit (UNIT_W weights, UNIT_BYTES stored bytes:
// whole blocks, so a unit starts UNIT_ALIGN-aligned when the row does) with whole-vector loads,
// adjacent lanes reading adjacent units; what is left of the row (or a row that is not aligned) goes
// through the generic sub_dot, one 32-element sub-block at a time. Row r reads the input at
// ((grow0 + r) % xmod)·k (K-cache rows read their own head). Then the TPR partial sums of a row are
// added (subgroup shuffles, or a tree in workgroup memory).
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
    let r = g * RPW + rg;
    var acc = 0.0;
    if (r < p.rows) {
        let row = p.row0 + r;
        let xo = ((p.grow0 + r) % p.xmod) * p.k;
        let nsub = (p.k + 31u) / 32u;
        var s0 = 0u;
        if (p.row_bytes % UNIT_ALIGN == 0u) {
            let nunit = p.k / UNIT_W;
            let rb = vec4<u32>(row * p.row_bytes);
            for (var u = lane; u < nunit; u += TPR) {
                acc += unit_dot(rb + vec4<u32>(u * UNIT_BYTES), xo + u * UNIT_W).x;
            }
            s0 = nunit * (UNIT_W / 32u);
        }
        for (var s = s0 + lane; s < nsub; s += TPR) {
            acc += sub_dot(row, s, xo + s * 32u);
        }
    }
__REDUCE__
    if (lane == 0u && r < p.rows) {
        y[p.y0 + r] = acc;
    }
}
