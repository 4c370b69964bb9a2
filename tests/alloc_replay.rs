//! ggml's graph allocator, simulated (`headroom::estimate::alloc`), against llama.cpp's own placements.
//!
//! The fixtures in `tests/data/graphs/` are whole graphs recorded from llama.cpp 0c1e570 (CPU backend) by
//! `scripts/oracle/graph_probe.cpp --graph 1` while it decoded one full micro-batch (the graph the compute
//! buffer is reserved for): every tensor's size, layout, flags, view source, in-place capability, every
//! node's sources in execution order, the offset llama.cpp's allocator gave each compute tensor, and the
//! buffer size. The simulation replays the graph and must reproduce every offset and the size exactly.
//!
//! Set `HEADROOM_GRAPH_DUMPS=DIR` to replay every `*.g` file of DIR as well (large dumps, not in git; the
//! Jamba q8_0, legacy DeepSeek and Qwen3-0.6B `-ub 2048` configurations that the live-set formulas missed
//! replay exactly too).
//!
//! The fixtures (`M=scripts/oracle/make_gguf.py`, `P=graph_probe` built as its header says):
//! - `tq3.g`: `$M -o tq3.gguf --arch qwen3 --n-layer 2 --n-embd 64 --n-head 4 --n-head-kv 2 --head-dim 32
//!   --n-ff 128 --n-vocab 512 --ctx 4096 --type F16 --tie-embeddings`;
//!   `$P -m tq3.gguf -c 256 -ub 32 -fa on --prefill 224 --graph 1`
//! - `tjam.g`: `$M -o tjam.gguf --arch jamba --n-layer 4 --n-embd 64 --n-head 4 --n-head-kv 2 --n-ff 128
//!   --ssm-d-conv 4 --ssm-d-inner 128 --ssm-d-state 16 --ssm-dt-rank 8 --attn-layers 2 --moe-layers 1,3
//!   --n-expert 4 --n-expert-used 2 --n-vocab 512 --ctx 4096 --type F16`; the same probe command.

use headroom::estimate::alloc::{Graph, Layout, Storage, Tensor, allocate};
use std::collections::HashMap;

/// CPU buffer alignment (`TENSOR_ALIGNMENT` in ggml-cpu).
const CPU_ALIGNMENT: u64 = 32;

struct Dump {
    graph: Graph,
    names: Vec<String>,
    /// Offsets llama.cpp chose (compute tensors only).
    offsets: Vec<Option<u64>>,
    buffer: u64,
}

fn parse(text: &str) -> Dump {
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut types: HashMap<String, u32> = HashMap::new();
    let mut graph = Graph::default();
    let mut names = vec![];
    let mut offsets = vec![];
    let mut buffer = 0;
    let mut is_node = vec![];
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first() {
            Some(&"T") => {
                let (ptr, wh, off, size, flags, inplace, vsrc, layout, name) =
                    (f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[10]);
                let mut lp = layout.split(':');
                let ty = lp.next().unwrap().to_string();
                let n = types.len() as u32;
                let ty = *types.entry(ty).or_insert(n);
                let four = |s: &str| -> [u64; 4] {
                    let v: Vec<u64> = s.split(',').map(|x| x.parse().unwrap()).collect();
                    [v[0], v[1], v[2], v[3]]
                };
                let ne = four(lp.next().unwrap());
                let nb = four(lp.next().unwrap());
                let flags: u32 = flags.parse().unwrap();
                let storage = match wh {
                    "c" => Storage::Compute,
                    "x" => Storage::External,
                    "v" => Storage::View(ids[vsrc]),
                    w => panic!("where {w}"),
                };
                ids.insert(ptr.to_string(), graph.tensors.len());
                graph.tensors.push(Tensor {
                    size: size.parse().unwrap(),
                    layout: Layout { ty, ne, nb },
                    storage,
                    input: flags & 1 != 0,
                    output: flags & 2 != 0,
                    inplace: inplace == "1",
                });
                names.push(name.to_string());
                offsets.push((wh == "c").then(|| off.parse().unwrap()));
                is_node.push(false);
            }
            Some(&"N") => {
                let t = ids[f[1]];
                is_node[t] = true;
                let srcs = f[2..]
                    .iter()
                    .map(|p| (*p != "-").then(|| ids[*p]))
                    .collect();
                graph.nodes.push((t, srcs));
            }
            Some(&"#") => {
                buffer = line
                    .split("compute_buffer")
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            }
            _ => {}
        }
    }
    // leafs: compute tensors no node produces, in the order the graph first references them; plus
    // `inp_embd`, the embeddings input that build_inp_embd adds with ggml_build_forward_select next to
    // `inp_tokens` (a leaf of the graph that no node reads, so the recording never sees it)
    for t in 0..graph.tensors.len() {
        if graph.tensors[t].storage == Storage::Compute && !is_node[t] {
            graph.leafs.push(t);
            if names[t] == "inp_tokens" {
                let embd = names.iter().position(|n| n == "embd").expect("embd node");
                let mut e = graph.tensors[embd].clone();
                e.input = true;
                e.inplace = false;
                graph.tensors.push(e);
                names.push("inp_embd".into());
                offsets.push(None);
                graph.leafs.push(graph.tensors.len() - 1);
            }
        }
    }
    Dump {
        graph,
        names,
        offsets,
        buffer,
    }
}

fn replay(name: &str, text: &str) {
    let d = parse(text);
    let p = allocate(&d.graph, CPU_ALIGNMENT);
    let mut wrong = vec![];
    for (t, want) in d.offsets.iter().enumerate() {
        if let (Some(w), got) = (want, p.offsets[t])
            && d.graph.tensors[t].size > 0
            && got != Some(*w)
        {
            wrong.push(format!(
                "{} #{t}: llama.cpp {w}, simulated {got:?}",
                d.names[t]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{name}: {} of {} tensors misplaced, first:\n{}",
        wrong.len(),
        d.offsets.iter().filter(|o| o.is_some()).count(),
        wrong[..wrong.len().min(10)].join("\n")
    );
    assert_eq!(p.size, d.buffer, "{name}: buffer size");
    println!(
        "{name}: {} nodes, {} compute tensors placed as llama.cpp did, buffer {} B",
        d.graph.nodes.len(),
        d.offsets.iter().filter(|o| o.is_some()).count(),
        p.size
    );
}

#[test]
fn replays_llama_cpp_placements() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/graphs");
    let mut n = 0;
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    if let Ok(extra) = std::env::var("HEADROOM_GRAPH_DUMPS") {
        files.extend(std::fs::read_dir(extra).unwrap().flatten());
    }
    for e in files {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("g") {
            continue;
        }
        replay(
            &path.display().to_string(),
            &std::fs::read_to_string(&path).unwrap(),
        );
        n += 1;
    }
    assert!(n >= 2, "graph fixtures: {n}");
}

mod built {
    use headroom::estimate::graph::{Family, Ffn, GraphSpec, Mixer, Run, compute_buffer};

    fn buffer_of(file: &str) -> u64 {
        let text = std::fs::read_to_string(format!(
            "{}/tests/data/graphs/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        super::parse(&text).buffer
    }

    /// The graph headroom builds from the hyperparameters of `tq3.g`'s model (qwen3, 2 layers, n_embd 64,
    /// 4 heads of 32, 2 KV heads, n_ff 128, vocab 512; n_ctx 256, ubatch 32, flash attention, f16 cache)
    /// gets the compute buffer llama.cpp reserved.
    #[test]
    fn qwen3_tiny() {
        let attn = Mixer::Attention {
            n_head: 4,
            n_head_kv: 2,
            head_dim: 32,
            qk_norm: true,
            rope: true,
            swa: false,
        };
        let spec = GraphSpec {
            family: Family::Llama,
            n_embd: 64,
            n_vocab: 512,
            layers: vec![(attn, Ffn::Dense(128)); 2],
            ssm: [0; 4],
            ssm_dt_b_c_norm: false,
        };
        let run = Run {
            n_tokens: 32,
            n_kv: 256,
            n_kv_swa: 0,
            flash_attention: true,
            rot_k: None,
            rot_v: None,
            n_seqs: 1,
            n_rs: 1,
        };
        assert_eq!(compute_buffer(&spec, &run, 32), buffer_of("tq3.g"));
    }

    /// `tjam.g`: jamba, 4 layers (attention on layer 2, MoE 4 experts top-2 on layers 1 and 3), n_embd 64,
    /// 4 heads of 16, 2 KV heads, n_ff 128, Mamba d_conv 4, d_inner 128, d_state 16, dt_rank 8.
    #[test]
    fn jamba_tiny() {
        let attn = Mixer::Attention {
            n_head: 4,
            n_head_kv: 2,
            head_dim: 16,
            qk_norm: false,
            rope: false,
            swa: false,
        };
        let moe = Ffn::Moe {
            n_expert: 4,
            n_used: 2,
            n_ff: 128,
            n_ff_shared: 0,
            norm_w: false,
        };
        let spec = GraphSpec {
            family: Family::Jamba,
            n_embd: 64,
            n_vocab: 512,
            layers: vec![
                (Mixer::Mamba, Ffn::Dense(128)),
                (Mixer::Mamba, moe),
                (attn, Ffn::Dense(128)),
                (Mixer::Mamba, moe),
            ],
            ssm: [4, 128, 16, 8],
            ssm_dt_b_c_norm: true,
        };
        let run = Run {
            n_tokens: 32,
            n_kv: 256,
            n_kv_swa: 0,
            flash_attention: true,
            rot_k: None,
            rot_v: None,
            n_seqs: 1,
            n_rs: 1,
        };
        assert_eq!(compute_buffer(&spec, &run, 32), buffer_of("tjam.g"));
    }
}
