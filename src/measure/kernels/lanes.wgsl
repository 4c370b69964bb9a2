// Lanes kernels (the decode's products of every type with a lanes kernel, after llama.cpp's Vulkan
// mul_mat_vec shaders): one workgroup of WG invocations computes NR consecutive rows. TPB adjacent
// invocations share one block (TPB = the type's invocations per block at one word each, divided by
// QW, the words each takes) and read adjacent words of it, so a subgroup's loads of weights and of the
// input are contiguous; the WG/TPB block slots of the workgroup stride over the row, each invocation
// loading Shape::unroll blocks before adding them up. Each invocation loads its input once per block
// for the NR rows. Then the workgroup's partial sums of each row are added (subgroup shuffles, then
// workgroup memory; or a tree in workgroup memory).
const WG: u32 = __WG__u;
const SLOTS: u32 = WG / TPB;

__RED_DECL__

@compute @workgroup_size(__WG__)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let g = wid.y * nwg.x + wid.x;
    let r = g * NR;
    var acc = vec4<f32>(0.0);
    if (r < p.rows) {
        // rows that read their own input (K and V cache products: NR = 1) start at xo
        let xo = ((p.grow0 + r) % p.xmod) * p.k;
        var rb = vec4<u32>(0u);
        for (var i = 0u; i < NR; i++) {
            rb[i] = (p.row0 + min(r + i, p.rows - 1u)) * p.row_bytes;
        }
        let nblk = p.k / BLK_W;
        let t = li % TPB;
__LOOP__    }
__REDUCE__
    if (li == 0u) {
        for (var i = 0u; i < NR; i++) {
            if (r + i < p.rows) {
                y[p.y0 + r + i] = acc[i];
            }
        }
    }
}
