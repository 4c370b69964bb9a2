//! The measured decode end to end on tiny hand-built models: which bytes a token reads (checked against
//! sums written out by hand from the shapes and ggml block sizes), MoE expert picking, file-backed
//! tensors, budget refusal and unsupported types.

use headroom::error::Error;
use headroom::measure::decode::Plan;
use headroom::measure::{Backend, MeasureOptions, measure};
use headroom::model::{DataLoc, HyperParams, ModelDesc, ModelFormat, TensorInfo, TensorType};
use std::io::Write;

fn t(name: &str, shape: &[u64], ty: TensorType) -> TensorInfo {
    let n: u64 = shape.iter().product();
    TensorInfo {
        name: name.into(),
        shape: shape.to_vec(),
        ty,
        n_elements: n,
        n_bytes: n / ty.block_elems() * ty.block_bytes(),
        data: None,
    }
}

/// 2 layers, n_embd 256, 4 heads, 2 KV heads of 64, FFN 512 (or 8 experts of 128, 2 used), vocab 1000.
fn tiny(moe: bool) -> ModelDesc {
    use TensorType::*;
    let mut ts = vec![t("token_embd.weight", &[256, 1000], Q4_0)];
    for l in 0..2 {
        ts.push(t(&format!("blk.{l}.attn_norm.weight"), &[256], F32));
        ts.push(t(&format!("blk.{l}.attn_q.weight"), &[256, 256], Q4_K));
        ts.push(t(&format!("blk.{l}.attn_k.weight"), &[256, 128], Q4_K));
        ts.push(t(&format!("blk.{l}.attn_v.weight"), &[256, 128], Q6_K));
        ts.push(t(&format!("blk.{l}.attn_output.weight"), &[256, 256], Q4_K));
        if moe {
            ts.push(t(&format!("blk.{l}.ffn_gate_inp.weight"), &[256, 8], F32));
            ts.push(t(
                &format!("blk.{l}.ffn_gate_exps.weight"),
                &[256, 128, 8],
                Q4_K,
            ));
            ts.push(t(
                &format!("blk.{l}.ffn_up_exps.weight"),
                &[256, 128, 8],
                Q4_K,
            ));
            ts.push(t(
                &format!("blk.{l}.ffn_down_exps.weight"),
                &[128, 256, 8],
                Q8_0,
            ));
        } else {
            ts.push(t(&format!("blk.{l}.ffn_gate.weight"), &[256, 512], Q4_K));
            ts.push(t(&format!("blk.{l}.ffn_up.weight"), &[256, 512], Q4_K));
            ts.push(t(&format!("blk.{l}.ffn_down.weight"), &[512, 256], Q6_K));
        }
    }
    ts.push(t("output_norm.weight", &[256], F32));
    ts.push(t("output.weight", &[256, 1000], Q6_K));
    ModelDesc {
        format: ModelFormat::Spec,
        source: "tiny".into(),
        name: "tiny".into(),
        architecture: "llama".into(),
        hparams: HyperParams {
            n_layer: 2,
            n_embd: 256,
            n_head: vec![4, 4],
            n_head_kv: vec![2, 2],
            head_dim_k: 64,
            head_dim_v: 64,
            n_ff: vec![512, 512],
            context_length: 4096,
            vocab_size: 1000,
            n_expert: if moe { 8 } else { 0 },
            n_expert_used: if moe { 2 } else { 0 },
            ..Default::default()
        },
        tensors: ts,
        file_type: None,
        mlx_quant: None,
        files: vec![],
        warnings: vec![],
    }
}

fn opts(backend: Backend) -> MeasureOptions {
    MeasureOptions {
        backend,
        tokens: 3,
        context: 500, // rounded up to 512
        cache_type_k: TensorType::F16,
        cache_type_v: TensorType::F16,
        budget_bytes: 1 << 30,
    }
}

// Row bytes by hand: a 256-wide row is 1 block of Q4_K (144 B) or Q6_K (210 B), 8 blocks of Q4_0
// (8 x 18 = 144 B) or Q8_0 (8 x 34 = 272 B); a 512-wide row 2 blocks; a 128-wide Q8_0 row 4 x 34 B.
const EMBD_ROW: u64 = 144;
const ATTN: u64 = 256 * 144 + 128 * 144 + 128 * 210 + 256 * 144;
// K cache: 512 positions x 2 heads rows of 64 f16; V cache: 2 x 64 rows of 512 f16
const KV: u64 = 512 * 2 * 64 * 2 + 2 * 64 * 512 * 2;
const OUTPUT: u64 = 1000 * 210;

#[test]
fn dense_bytes_per_token_match_the_shapes() {
    let ffn = 512 * 144 + 512 * 144 + 256 * 2 * 210;
    let want = EMBD_ROW + 2 * (ATTN + KV + ffn) + OUTPUT;
    let m = measure(&tiny(false), &opts(Backend::Cpu), &mut |_| {}).unwrap();
    assert_eq!(m.bytes_per_token, want);
    assert!(m.synthetic);
    assert_eq!(m.backend, "cpu");
    assert_eq!(m.tokens, 3);
    assert!(m.decode_tokens_per_s > 0.0 && m.decode_tokens_per_s.is_finite());
    assert!((m.effective_bandwidth_bytes_per_s - m.decode_tokens_per_s * want as f64).abs() < 1.0);
    assert!(m.copy_bandwidth_bytes_per_s > 0.0);
}

#[test]
fn moe_reads_only_the_used_experts() {
    // router 8 rows of 256 f32; per used expert: gate and up 128 rows of Q4_K, down 256 rows of 4 Q8_0 blocks
    let expert = 128 * 144 + 128 * 144 + 256 * 4 * 34;
    let want = EMBD_ROW + 2 * (ATTN + KV + 8 * 1024 + 2 * expert) + OUTPUT;
    let model = tiny(true);
    let m = measure(&model, &opts(Backend::Cpu), &mut |_| {}).unwrap();
    assert_eq!(m.bytes_per_token, want);
    let plan = Plan::build(&model, 512, TensorType::F16, TensorType::F16).unwrap();
    for tok in 0..20 {
        let e = plan.experts(tok, 1);
        assert_eq!(e.len(), 2);
        assert_ne!(e[0], e[1]);
        assert!(e.iter().all(|x| *x < 8));
        let ops = plan.token_ops(tok);
        let gate = plan
            .weights
            .iter()
            .position(|w| w.name == "blk.1.ffn_gate_exps.weight")
            .unwrap();
        let rows: Vec<u64> = ops.iter().filter(|o| o.w == gate).map(|o| o.row0).collect();
        assert_eq!(rows, e.iter().map(|x| *x as u64 * 128).collect::<Vec<_>>());
    }
    // different tokens pick different experts somewhere
    assert!((0..20).any(|t| plan.experts(t, 0) != plan.experts(0, 0)));
}

#[test]
fn over_budget_is_refused_before_allocating() {
    let mut o = opts(Backend::Cpu);
    o.budget_bytes = 100_000;
    match measure(&tiny(false), &o, &mut |_| {}) {
        Err(Error::Usage(msg)) => assert!(msg.contains("over the budget"), "{msg}"),
        other => panic!("expected a budget refusal, got {other:?}"),
    }
}

#[test]
fn unsupported_types_name_the_type() {
    let mut m = tiny(false);
    m.tensors[2] = t("blk.0.attn_q.weight", &[256, 256], TensorType::IQ2_XS);
    match measure(&m, &opts(Backend::Cpu), &mut |_| {}) {
        Err(e) => assert!(
            e.to_string()
                .contains("type IQ2_XS not supported for measurement"),
            "{e}"
        ),
        Ok(_) => panic!("IQ2_XS measured"),
    }
}

#[test]
fn file_backed_tensors_are_read_and_truncation_is_bad_input() {
    let mut m = tiny(false);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.bin");
    let mut f = std::fs::File::create(&path).unwrap();
    let mut off = 64u64;
    f.write_all(&[0u8; 64]).unwrap();
    for (i, ti) in m.tensors.iter_mut().enumerate() {
        let mut bytes = vec![0u8; ti.n_bytes as usize];
        headroom::measure::source::random_blocks(
            ti.ty,
            &mut headroom::measure::source::Rng::new(i as u64),
            &mut bytes,
        );
        f.write_all(&bytes).unwrap();
        ti.data = Some(DataLoc {
            file: 0,
            offset: off,
        });
        off += ti.n_bytes;
    }
    drop(f);
    m.files = vec![path.clone()];
    let r = measure(&m, &opts(Backend::Cpu), &mut |_| {}).unwrap();
    assert!(!r.synthetic);
    // cut the file short: the last tensor now runs past the end
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(off - 10).unwrap();
    drop(f);
    match measure(&m, &opts(Backend::Cpu), &mut |_| {}) {
        Err(e @ Error::BadInput { .. }) => {
            assert!(e.to_string().contains("runs past the file's end"), "{e}")
        }
        other => panic!("expected bad input, got {other:?}"),
    }
}

#[test]
fn gpu_and_cpu_agree_on_bytes_per_token() {
    let gpu = match headroom::measure::gpu::Gpu::open() {
        Ok(Some(_)) => true,
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!("CI=true but no wgpu adapter"),
        _ => {
            eprintln!("SKIPPED: no wgpu adapter");
            false
        }
    };
    if !gpu {
        return;
    }
    let model = tiny(true);
    let g = measure(&model, &opts(Backend::Gpu), &mut |_| {}).unwrap();
    let c = measure(&model, &opts(Backend::Cpu), &mut |_| {}).unwrap();
    assert_eq!(g.bytes_per_token, c.bytes_per_token);
    assert!(g.backend.starts_with("gpu-"), "{}", g.backend);
    assert!(g.decode_tokens_per_s > 0.0 && g.copy_bandwidth_bytes_per_s > 0.0);
}
