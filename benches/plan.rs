//! One `plan()` for a 70B model (Llama-3.x-70B shape, Q4_K_M mix, 723 tensors) on a 64 GB Mac at 32k
//! context: the TUI recomputes this on every keystroke and needs it well under 2 ms. And one
//! `plan_multi()` of the same model layer-split over four 24 GB GPUs (the largest-context search re-derives
//! every device's KV and compute per step).

use criterion::{Criterion, criterion_group, criterion_main};
use headroom::estimate::Workload;
use headroom::estimate::multi::{MultiOptions, SplitMode, plan_multi};
use headroom::estimate::plan::plan;
use headroom::hardware::link;
use headroom::hardware::{Machine, MemoryKind, Vendor};
use headroom::model::{HyperParams, ModelDesc, ModelFormat, TensorInfo, TensorType};
use std::hint::black_box;

fn tensor(name: String, shape: &[u64], ty: TensorType) -> TensorInfo {
    let n: u64 = shape.iter().product();
    TensorInfo {
        name,
        shape: shape.to_vec(),
        ty,
        n_elements: n,
        n_bytes: ty.tensor_bytes(shape[0], n).unwrap(),
        data: None,
    }
}

fn llama70b_q4_k_m() -> ModelDesc {
    let (l, e, q, kv, ff, v) = (80u32, 8192u64, 8192u64, 1024u64, 28672u64, 128256u64);
    let more = |i: u32| i < l / 8 || i >= 7 * l / 8 || (i - l / 8) % 3 == 2;
    let mut t = vec![tensor(
        "token_embd.weight".into(),
        &[e, v],
        TensorType::Q4_K,
    )];
    for i in 0..l {
        let p = |s: &str| format!("blk.{i}.{s}.weight");
        let hi = if more(i) {
            TensorType::Q6_K
        } else {
            TensorType::Q4_K
        };
        t.push(tensor(p("attn_norm"), &[e], TensorType::F32));
        t.push(tensor(p("attn_q"), &[e, q], TensorType::Q4_K));
        t.push(tensor(p("attn_k"), &[e, kv], TensorType::Q4_K));
        t.push(tensor(p("attn_v"), &[e, kv], hi));
        t.push(tensor(p("attn_output"), &[q, e], TensorType::Q4_K));
        t.push(tensor(p("ffn_norm"), &[e], TensorType::F32));
        t.push(tensor(p("ffn_gate"), &[e, ff], TensorType::Q4_K));
        t.push(tensor(p("ffn_up"), &[e, ff], TensorType::Q4_K));
        t.push(tensor(p("ffn_down"), &[ff, e], hi));
    }
    t.push(tensor("output_norm.weight".into(), &[e], TensorType::F32));
    t.push(tensor("output.weight".into(), &[e, v], TensorType::Q6_K));
    let n = l as usize;
    ModelDesc {
        format: ModelFormat::Spec,
        source: "bench".into(),
        name: "Llama-70B Q4_K_M".into(),
        architecture: "llama".into(),
        hparams: HyperParams {
            n_layer: l,
            n_embd: e,
            n_head: vec![64; n],
            n_head_kv: vec![8; n],
            head_dim_k: 128,
            head_dim_v: 128,
            n_ff: vec![ff; n],
            context_length: 131072,
            vocab_size: v,
            ..HyperParams::default()
        },
        tensors: t,
        file_type: Some("Q4_K_M".into()),
        mlx_quant: None,
        files: vec![],
        warnings: vec![],
    }
}

fn bench(c: &mut Criterion) {
    let m = llama70b_q4_k_m();
    let mac = Machine {
        id: "bench".into(),
        name: "Apple M4 Pro 64 GB".into(),
        vendor: Vendor::Apple,
        memory_kind: MemoryKind::Unified,
        device: headroom::hardware::Device::Gpu,
        memory_bytes: 64 << 30,
        gpu_budget_bytes: 48 << 30,
        max_raised_budget_bytes: Some(56 << 30),
        host_memory_bytes: None,
        bandwidth_bytes_per_s: 273e9,
        cpu_bandwidth_bytes_per_s: 120e9,
        gpu_cores: 20,
        fp16_flops: 9.2e12,
        measured_efficiency: None,
        calibrated: false,
        budget_note: String::new(),
    };
    let wl = Workload {
        context: 32768,
        ..Workload::default()
    };
    c.bench_function("plan_70b_q4_k_m_32k_mac64", |b| {
        b.iter(|| plan(black_box(&m), black_box(&mac), black_box(&wl)).unwrap())
    });
    let gpu = Machine {
        id: "gpu".into(),
        name: "24 GB GPU".into(),
        vendor: Vendor::Nvidia,
        memory_kind: MemoryKind::Discrete,
        memory_bytes: 24 << 30,
        gpu_budget_bytes: 23 << 30,
        max_raised_budget_bytes: None,
        bandwidth_bytes_per_s: 1008e9,
        fp16_flops: 165e12,
        ..mac.clone()
    };
    let opts = MultiOptions {
        split: SplitMode::Layer,
        tensor_split: None,
        link: link::by_id("pcie4").unwrap(),
        link_note: None,
    };
    let four = vec![gpu; 4];
    c.bench_function("plan_multi_70b_q4_k_m_32k_4x24gb", |b| {
        b.iter(|| plan_multi(black_box(&m), black_box(&four), black_box(&wl), &opts).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
