//! Metal: every WGSL kernel variant the decode can build translates to MSL 2.4 with naga (the translator
//! wgpu uses on macOS), after full validation. This proves the shaders are valid WGSL and expressible in
//! MSL; it does not run Apple's compiler (that needs a Mac).

use headroom::measure::gpu::all_kernel_sources;
use naga::back::msl;
use naga::valid::{Capabilities, ValidationFlags, Validator};

#[test]
fn every_kernel_translates_to_msl() {
    let sources = all_kernel_sources();
    // every type has a unit kernel now: 14 ggml types + 6 MLX variants, each at 4, 16 and 64 lanes
    // per row with tree and subgroup reductions, at 1, 2 and 4 rows per invocation (Q3_K: 1), with
    // adjacent units or rows first; Q4_0, Q8_0, Q4_K and Q6_K also with their first unpacking; theirs,
    // Q4_1's, Q5_0's, Q5_1's, Q2_K's, Q3_K's, Q5_K's, MXFP4's, F16's, BF16's, F32's and MLX's (the 6
    // variants with groups of 64, 4- and 8-bit with groups of 32 and 128) lanes kernels at 4 shapes
    // with tree and subgroup reductions
    assert_eq!(
        sources.len(),
        (4 * 3 * 3 + 2 + 15 * 2 * 3) * 3 * 2 + (14 + 6 + 4) * 4 * 2
    );
    assert!(
        sources
            .iter()
            .any(|(_, s)| s.contains("subgroupShuffleXor"))
    );
    let caps = Capabilities::SHADER_FLOAT16
        | Capabilities::SHADER_FLOAT16_IN_FLOAT32
        | Capabilities::SUBGROUP;
    for (label, src) in sources {
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{label}: {}", e.emit_to_string(&src)));
        let info = Validator::new(ValidationFlags::all(), caps)
            .validate(&module)
            .unwrap_or_else(|e| panic!("{label}: validation: {e:?}"));
        let opts = msl::Options {
            lang_version: (2, 4),
            ..Default::default()
        };
        let (out, _) = msl::write_string(&module, &info, &opts, &msl::PipelineOptions::default())
            .unwrap_or_else(|e| panic!("{label}: MSL: {e}"));
        assert!(
            out.contains("kernel void"),
            "{label}: no compute entry point in MSL output"
        );
    }
}
