//! Parse time of a 70B-layout GGUF header: Llama 3.1 70B's tensor list (724 tensors, 80 layers, Q4_K)
//! and a 128256-token vocabulary with tokenizer.ggml.tokens/scores/token_type arrays. The file is written
//! sparse (header only on disk) to a temp dir; the bench reads the header from the file and builds the
//! full `ModelDesc` (header + hyperparameters).

use criterion::{Criterion, criterion_group, criterion_main};
use headroom::model::TensorType;
use headroom::model::gguf::{self, llama_like};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("llama-70b-layout.gguf");
    let mut m = llama_like(80, 8192, 64, 8, 28672, 128256, TensorType::Q4_K);
    m.rope_freqs = true;
    m.file_type = Some(15);
    m.context_length = 131072;
    m.writer().write_to(&path).expect("write fixture");
    let d = gguf::read(&path).expect("parse fixture");
    assert_eq!(d.tensors.len(), 724);
    eprintln!(
        "fixture: {} tensors, header {} bytes, weights {:.2} GiB",
        d.tensors.len(),
        gguf::read_file_header(&path).expect("header").header_bytes,
        d.weights_bytes() as f64 / (1u64 << 30) as f64
    );
    c.bench_function("gguf_header_70b_read_header", |b| {
        b.iter(|| black_box(gguf::read_file_header(black_box(&path)).expect("parse")))
    });
    c.bench_function("gguf_header_70b_model_desc", |b| {
        b.iter(|| black_box(gguf::read(black_box(&path)).expect("parse")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
