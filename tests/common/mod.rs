//! Test fixtures: llama-shaped tensor inventories (GGUF names and shapes, as llama.cpp writes them) and
//! machines, built in code.
#![allow(dead_code)]

pub mod csv;

use headroom::hardware::{Machine, MemoryKind, Vendor};
use headroom::model::{HyperParams, ModelDesc, ModelFormat, TensorInfo, TensorType};

pub const GIB: u64 = 1 << 30;

pub struct Dims {
    pub n_layer: u32,
    pub n_embd: u64,
    pub n_head: u32,
    pub n_head_kv: u32,
    pub head_dim: u64,
    pub n_ff: u64,
    pub n_vocab: u64,
    pub context_length: u64,
    pub tied: bool,
}

pub const LLAMA2_7B: Dims = Dims {
    n_layer: 32,
    n_embd: 4096,
    n_head: 32,
    n_head_kv: 32,
    head_dim: 128,
    n_ff: 11008,
    n_vocab: 32000,
    context_length: 4096,
    tied: false,
};

pub const LLAMA3_70B: Dims = Dims {
    n_layer: 80,
    n_embd: 8192,
    n_head: 64,
    n_head_kv: 8,
    head_dim: 128,
    n_ff: 28672,
    n_vocab: 128256,
    context_length: 131072,
    tied: false,
};

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

/// llama.cpp's `use_more_bits(i, n)`: the layers Q4_K_M / Q5_K_M give Q6_K for attn_v and ffn_down.
pub fn use_more_bits(i: u32, n: u32) -> bool {
    i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
}

/// A llama inventory where `ty(name, layer)` picks each 2-D tensor's type (norms are F32).
pub fn llama(d: &Dims, label: &str, ty: impl Fn(&str, u32) -> TensorType) -> ModelDesc {
    let mut t = vec![tensor(
        "token_embd.weight".into(),
        &[d.n_embd, d.n_vocab],
        ty("token_embd", 0),
    )];
    let q = d.n_head as u64 * d.head_dim;
    let kv = d.n_head_kv as u64 * d.head_dim;
    for l in 0..d.n_layer {
        let p = |s: &str| format!("blk.{l}.{s}.weight");
        t.push(tensor(p("attn_norm"), &[d.n_embd], TensorType::F32));
        t.push(tensor(p("attn_q"), &[d.n_embd, q], ty("attn_q", l)));
        t.push(tensor(p("attn_k"), &[d.n_embd, kv], ty("attn_k", l)));
        t.push(tensor(p("attn_v"), &[d.n_embd, kv], ty("attn_v", l)));
        t.push(tensor(
            p("attn_output"),
            &[q, d.n_embd],
            ty("attn_output", l),
        ));
        t.push(tensor(p("ffn_norm"), &[d.n_embd], TensorType::F32));
        t.push(tensor(
            p("ffn_gate"),
            &[d.n_embd, d.n_ff],
            ty("ffn_gate", l),
        ));
        t.push(tensor(p("ffn_up"), &[d.n_embd, d.n_ff], ty("ffn_up", l)));
        t.push(tensor(
            p("ffn_down"),
            &[d.n_ff, d.n_embd],
            ty("ffn_down", l),
        ));
    }
    t.push(tensor(
        "output_norm.weight".into(),
        &[d.n_embd],
        TensorType::F32,
    ));
    if !d.tied {
        t.push(tensor(
            "output.weight".into(),
            &[d.n_embd, d.n_vocab],
            ty("output", 0),
        ));
    }
    let n = d.n_layer as usize;
    ModelDesc {
        format: ModelFormat::Spec,
        source: label.into(),
        name: label.into(),
        architecture: "llama".into(),
        hparams: HyperParams {
            n_layer: d.n_layer,
            n_embd: d.n_embd,
            n_head: vec![d.n_head; n],
            n_head_kv: vec![d.n_head_kv; n],
            head_dim_k: d.head_dim,
            head_dim_v: d.head_dim,
            n_ff: vec![d.n_ff; n],
            context_length: d.context_length,
            vocab_size: d.n_vocab,
            tie_word_embeddings: d.tied,
            ..HyperParams::default()
        },
        tensors: t,
        file_type: Some(label.into()),
        mlx_quant: None,
        files: vec![],
        warnings: vec![],
    }
}

/// llama.cpp's Q4_K_M mix for a llama model (`llama_tensor_get_type`): Q6_K output, Q6_K attn_v and
/// ffn_down on `use_more_bits` layers, Q4_K elsewhere.
pub fn q4_k_m(d: &Dims) -> ModelDesc {
    let n = d.n_layer;
    llama(d, "Q4_K_M", |name, l| match name {
        "output" => TensorType::Q6_K,
        "attn_v" | "ffn_down" if use_more_bits(l, n) => TensorType::Q6_K,
        _ => TensorType::Q4_K,
    })
}

/// Everything in one type except a Q6_K output (llama.cpp's rule for Q4_0/Q5_0... mixes) when `q6_out`.
pub fn uniform(d: &Dims, ty: TensorType, q6_out: bool) -> ModelDesc {
    llama(d, ty.name(), |name, _| {
        if name == "output" && q6_out {
            TensorType::Q6_K
        } else {
            ty
        }
    })
}

/// A 64 GB Apple Silicon Mac (M4 Pro class): default GPU limit 48 GiB (0.75 of RAM, ollama #8331
/// `memory.available=[48.0 GiB]`), raisable to RAM less 8 GiB.
pub fn mac_64gb() -> Machine {
    Machine {
        id: "test-m4-pro-64".into(),
        name: "Apple M4 Pro 20c 64 GB".into(),
        vendor: Vendor::Apple,
        memory_kind: MemoryKind::Unified,
        device: headroom::hardware::Device::Gpu,
        memory_bytes: 64 * GIB,
        gpu_budget_bytes: 48 * GIB,
        max_raised_budget_bytes: Some(56 * GIB),
        host_memory_bytes: None,
        bandwidth_bytes_per_s: 273e9,
        cpu_bandwidth_bytes_per_s: 120e9,
        gpu_cores: 20,
        fp16_flops: 9.2e12,
        measured_efficiency: None,
        calibrated: false,
        budget_note: String::new(),
    }
}

/// An RTX 4090 (24 GB, 1008 GB/s) in a host with 64 GiB RAM.
pub fn rtx4090() -> Machine {
    Machine {
        id: "test-rtx-4090".into(),
        name: "NVIDIA RTX 4090".into(),
        vendor: Vendor::Nvidia,
        memory_kind: MemoryKind::Discrete,
        device: headroom::hardware::Device::Gpu,
        memory_bytes: 24 * GIB,
        gpu_budget_bytes: 24 * GIB - 500 * (1 << 20),
        max_raised_budget_bytes: None,
        host_memory_bytes: Some(64 * GIB),
        bandwidth_bytes_per_s: 1008e9,
        cpu_bandwidth_bytes_per_s: 80e9,
        gpu_cores: 128,
        fp16_flops: 165e12,
        measured_efficiency: None,
        calibrated: false,
        budget_note: String::new(),
    }
}

/// llama.cpp's reserve graph of a Llama-3-70B-shaped model (80 identical layers), for the allocator
/// simulation's tests.
pub fn llama_70b_graph() -> headroom::estimate::graph::GraphSpec {
    use headroom::estimate::graph::{Family, Ffn, GraphSpec, Mixer};
    let attn = Mixer::Attention {
        n_head: 64,
        n_head_kv: 8,
        head_dim: 128,
        qk_norm: false,
        rope: true,
        swa: false,
    };
    GraphSpec {
        family: Family::Llama,
        n_embd: 8192,
        n_vocab: 128256,
        layers: vec![(attn, Ffn::Dense(28672)); 80],
        ssm: [0; 4],
        ssm_dt_b_c_norm: false,
    }
}
