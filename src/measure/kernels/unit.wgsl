// Unit kernels: one workgroup of WG invocations computes (WG/TPR)·NR rows; TPR invocations share a
// group of NR consecutive rows. Each takes every TPR-th unit (UNIT_W weights, UNIT_BYTES stored bytes:
// whole blocks, so a unit starts UNIT_ALIGN-aligned when the row does) of all NR rows with
// whole-vector loads, adjacent lanes reading adjacent units, and reads each input vector once for the
// NR rows (the input, not the weights, is most of the bytes loaded per weight). What is left of a row
// (or a row that is not aligned) goes through the generic sub_dot, one 32-element sub-block at a time;
// K-cache products (xmod > 1: rows read different inputs) take the rows one at a time. Then a tree
// reduction in workgroup memory.
const WG: u32 = __WG__u;
const TPR: u32 = __TPR__u;
const RPW: u32 = WG / TPR;

var<workgroup> red: array<vec4<f32>, __WG__>;

@compute @workgroup_size(__WG__)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let g = wid.y * nwg.x + wid.x;
    let lane = li % TPR;
    let r = (g * RPW + li / TPR) * NR;
    var acc = vec4<f32>(0.0);
    if (r < p.rows) {
        let nsub = (p.k + 31u) / 32u;
        let aligned = p.row_bytes % UNIT_ALIGN == 0u;
        let nunit = select(0u, p.k / UNIT_W, aligned);
        let s0 = nunit * (UNIT_W / 32u);
        if (p.xmod == 1u && r + NR <= p.rows) {
            let xo = 0u;
            var rb = vec4<u32>(0u);
            for (var i = 0u; i < NR; i++) {
                rb[i] = (p.row0 + r + i) * p.row_bytes;
            }
            for (var u = lane; u < nunit; u += TPR) {
                acc += unit_dot(rb + vec4<u32>(u * UNIT_BYTES), xo + u * UNIT_W);
            }
            for (var s = s0 + lane; s < nsub; s += TPR) {
                for (var i = 0u; i < NR; i++) {
                    acc[i] += sub_dot(p.row0 + r + i, s, xo + s * 32u);
                }
            }
        } else {
            for (var i = 0u; i < NR; i++) {
                if (r + i < p.rows) {
                    let row = p.row0 + r + i;
                    let xo = ((p.grow0 + r + i) % p.xmod) * p.k;
                    let rb = row * p.row_bytes;
                    var a1 = 0.0;
                    for (var u = lane; u < nunit; u += TPR) {
                        a1 += unit_dot1(vec4<u32>(rb + u * UNIT_BYTES), xo + u * UNIT_W).x;
                    }
                    for (var s = s0 + lane; s < nsub; s += TPR) {
                        a1 += sub_dot(row, s, xo + s * 32u);
                    }
                    acc[i] = a1;
                }
            }
        }
    }
    red[li] = acc;
    workgroupBarrier();
    for (var st = TPR / 2u; st > 0u; st = st >> 1u) {
        if (lane < st) {
            red[li] += red[li + st];
        }
        workgroupBarrier();
    }
    if (lane == 0u) {
        for (var i = 0u; i < NR; i++) {
            if (r + i < p.rows) {
                y[p.y0 + r + i] = red[li][i];
            }
        }
    }
}
