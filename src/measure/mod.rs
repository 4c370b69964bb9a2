//! measure: a short real decode over the model's own quantized tensors, on the GPU (wgpu + WGSL:
//! Metal, Vulkan, DX12) or the CPU, reported beside the prediction.
//!
//! What it is: every weight matrix a decode step reads is uploaded once, in its stored block layout,
//! and each token streams those bytes through a dequant-matvec kernel of the tensor's own type, layer
//! by layer in decode order, with attention reading a KV cache of the planned context and MoE layers
//! reading only `n_expert_used` experts per token. What it is not: a numerically meaningful forward
//! pass. Activations are synthetic, norms/RoPE/softmax are left out (they move kilobytes), and the
//! output is discarded; the number it gives is how fast this device streams this model's bytes through
//! real dequant kernels, which is what bounds decode speed.
//!
//! - [`dequant`]: CPU reference dequantization of each block layout (ported from ggml).
//! - [`source`]: model bytes (mmap) or synthetic blocks for specs.
//! - [`decode`]: the token program shared by both backends.
//! - [`cpudot`]: the CPU's fused dequant-dot kernels (AVX2 / AVX-512 VNNI / portable), per block type.
//! - [`cpu`]: the decode on CPU threads (the fallback when there is no adapter).
//! - [`gpu`]: the decode on wgpu with the WGSL kernels in `kernels/`.

pub mod cpu;
pub mod cpudot;
pub mod decode;
pub mod dequant;
pub mod gpu;
pub mod lanes;
pub mod source;
pub mod unitgen;

use crate::error::{Error, Result};
use crate::model::{ModelDesc, TensorType};
use serde::Serialize;

/// Which device runs the measured decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The GPU when an adapter exists, else the CPU.
    #[default]
    Auto,
    Gpu,
    Cpu,
}

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureOptions {
    pub backend: Backend,
    /// Timed tokens (after 2 warm-up tokens).
    pub tokens: u32,
    /// Context length the KV cache holds (rounded up to 256).
    pub context: u64,
    pub cache_type_k: TensorType,
    pub cache_type_v: TensorType,
    /// Most bytes the measurement may allocate on the device (GPU) or in memory (CPU, synthetic
    /// weights and KV cache; mapped model files are not counted).
    pub budget_bytes: u64,
}

impl Default for MeasureOptions {
    fn default() -> Self {
        MeasureOptions {
            backend: Backend::Auto,
            tokens: 32,
            context: 4096,
            cache_type_k: TensorType::F16,
            cache_type_v: TensorType::F16,
            budget_bytes: 0,
        }
    }
}

/// Progress reports, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A phase started ("opening adapter", "uploading", "warming up", "decoding", "copy test").
    Stage(String),
    /// Bytes uploaded (or loaded) of the total.
    Upload { done: u64, total: u64 },
    /// Timed tokens done.
    Token { done: u32, total: u32 },
}

/// The result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// `gpu-vulkan`, `gpu-metal`, `gpu-dx12` or `cpu`.
    pub backend: String,
    /// Adapter name, backend, device type and driver; or `N CPU threads`.
    pub adapter: String,
    pub tokens: u32,
    pub decode_tokens_per_s: f64,
    /// `bytes_per_token × decode_tokens_per_s`.
    pub effective_bandwidth_bytes_per_s: f64,
    /// Device copy bandwidth: (bytes read + bytes written) per second, the better of
    /// `copy_buffer_to_buffer` and a compute-shader copy (GPU); a threaded memcpy (CPU).
    pub copy_bandwidth_bytes_per_s: f64,
    /// Weight and KV-cache bytes one token reads (mean over the timed tokens).
    pub bytes_per_token: u64,
    /// True when the weights were random blocks (a spec with no files).
    pub synthetic: bool,
    /// True when the GPU time came from timestamp queries (false: wall clock).
    pub timestamps: bool,
}

const WARMUP: u32 = 2;
const WARM_SECONDS: f64 = 1.0;
const COPY_BYTES: u64 = crate::units::GIB;

/// Run the short decode of `model` and time it.
pub fn measure(
    model: &ModelDesc,
    opts: &MeasureOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Measurement> {
    if opts.tokens == 0 {
        return Err(Error::usage("--measure needs at least 1 token"));
    }
    let plan = decode::Plan::build(model, opts.context, opts.cache_type_k, opts.cache_type_v)?;
    let files = if plan.synthetic {
        None
    } else {
        Some(source::Files::open(&model.files)?)
    };
    let bytes_per_token = (WARMUP..WARMUP + opts.tokens)
        .map(|t| plan.ops_bytes(&plan.token_ops(t)))
        .sum::<u64>()
        / opts.tokens as u64;

    if opts.backend != Backend::Cpu {
        progress(Progress::Stage("opening adapter".into()));
        match gpu::Gpu::open()? {
            Some(mut g) => {
                return measure_gpu(
                    &mut g,
                    &plan,
                    files.as_ref(),
                    opts,
                    bytes_per_token,
                    progress,
                );
            }
            None if opts.backend == Backend::Gpu => {
                return Err(Error::failure(
                    "--measure: no GPU adapter found (wgpu: Vulkan, Metal or DX12); use --measure-backend cpu",
                ));
            }
            None => {}
        }
    }
    measure_cpu(&plan, files.as_ref(), opts, bytes_per_token, progress)
}

fn measure_gpu(
    g: &mut gpu::Gpu,
    plan: &decode::Plan,
    files: Option<&source::Files>,
    opts: &MeasureOptions,
    bytes_per_token: u64,
    progress: &mut dyn FnMut(Progress),
) -> Result<Measurement> {
    let adapter = g.adapter_name();
    let backend = g.backend_name();
    let params =
        (plan.max_ops(WARMUP + opts.tokens) as u64 * 4) * 256 * (WARMUP + opts.tokens) as u64;
    let copy = COPY_BYTES
        .min(
            opts.budget_bytes
                .saturating_sub(plan.device_bytes() + params)
                / 2,
        )
        .min(g.max_binding());
    progress(Progress::Stage("uploading".into()));
    let run = {
        let mut loaded = g.load(
            plan,
            files,
            opts.budget_bytes,
            params,
            &mut |done, total| progress(Progress::Upload { done, total }),
        )?;
        progress(Progress::Stage("warming up".into()));
        // GPUs idle at low clocks while the weights upload; warm up with batches like the timed one
        // for at least WARM_SECONDS and until two batches in a row agree within 1% (at most
        // 4 × WARM_SECONDS), so the timed tokens run at the clocks a real decode sees
        let mut warm = 0.0;
        let mut last = f64::INFINITY;
        loop {
            let r = loaded.run_tokens(plan, 0, opts.tokens.max(WARMUP))?;
            warm += r.wall_seconds;
            let stable = (r.seconds - last).abs() <= 0.01 * last;
            last = r.seconds;
            if warm >= 4.0 * WARM_SECONDS || (warm >= WARM_SECONDS && stable) {
                break;
            }
        }
        progress(Progress::Stage("decoding".into()));
        let run = loaded.run_tokens(plan, WARMUP, opts.tokens)?;
        if gpu::profile_requested() {
            match loaded.profile_token(plan, WARMUP)? {
                Some(rows) => eprint!("{}", profile_report(&rows)),
                None => eprintln!("profile: the adapter has no timestamps inside passes"),
            }
        }
        run
        // weights are freed here, before the copy test allocates
    };
    progress(Progress::Token {
        done: opts.tokens,
        total: opts.tokens,
    });
    let tps = opts.tokens as f64 / run.seconds;
    progress(Progress::Stage("copy test".into()));
    // the better of the transfer command and a shader copy (on NVIDIA Vulkan the transfer command
    // runs far below the memory's bandwidth)
    let copy_bw = if copy >= 1 << 20 {
        g.copy_bandwidth(copy)?.max(g.shader_copy_bandwidth(copy)?)
    } else {
        0.0
    };
    Ok(Measurement {
        backend,
        adapter,
        tokens: opts.tokens,
        decode_tokens_per_s: tps,
        effective_bandwidth_bytes_per_s: tps * bytes_per_token as f64,
        copy_bandwidth_bytes_per_s: copy_bw,
        bytes_per_token,
        synthetic: plan.synthetic,
        timestamps: run.timestamps,
    })
}

/// The per-dispatch profile of one token, summed by tensor role (layer numbers dropped), largest first.
fn profile_report(rows: &[gpu::ProfileRow]) -> String {
    use std::fmt::Write;
    let mut by: Vec<(String, usize, u64, f64)> = Vec::new();
    for r in rows {
        let role: String = r
            .name
            .split('.')
            .filter(|p| p.parse::<u64>().is_err())
            .collect::<Vec<_>>()
            .join(".");
        let key = format!("{role} {} {}x{} {}", r.enc, r.rows, r.k, r.shape);
        match by.iter_mut().find(|b| b.0 == key) {
            Some(b) => {
                b.1 += 1;
                b.2 += r.bytes;
                b.3 += r.seconds;
            }
            None => by.push((key, 1, r.bytes, r.seconds)),
        }
    }
    by.sort_by(|a, b| b.3.total_cmp(&a.3));
    let total: f64 = rows.iter().map(|r| r.seconds).sum();
    let bytes: u64 = rows.iter().map(|r| r.bytes).sum();
    let mut s = format!(
        "profile: {} dispatches, {:.3} ms, {:.1} GB/s over {:.3} GB of weights\n",
        rows.len(),
        total * 1e3,
        bytes as f64 / total.max(1e-12) / 1e9,
        bytes as f64 / 1e9
    );
    for (key, n, b, t) in by {
        let _ = writeln!(
            s,
            "  {key:<60} n={n:<4} {:>8.1} us  {:>6.1} us each  {:>7.1} GB/s",
            t * 1e6,
            t * 1e6 / n as f64,
            b as f64 / t.max(1e-12) / 1e9
        );
    }
    s
}

fn measure_cpu(
    plan: &decode::Plan,
    files: Option<&source::Files>,
    opts: &MeasureOptions,
    bytes_per_token: u64,
    progress: &mut dyn FnMut(Progress),
) -> Result<Measurement> {
    let owned: u64 = plan
        .weights
        .iter()
        .flat_map(|w| [Some(&w.q), w.scales.as_ref(), w.biases.as_ref()])
        .flatten()
        .filter(|p| matches!(p, decode::Part::Synthetic { .. }))
        .map(|p| p.len())
        .sum();
    let need = owned + plan.device_bytes() - plan.stored_bytes();
    if need > opts.budget_bytes {
        return Err(Error::usage(format!(
            "the measured decode needs {:.2} GiB of memory (synthetic weights, KV cache, scratch), over the budget of {:.2} GiB",
            crate::units::gib(need),
            crate::units::gib(opts.budget_bytes)
        )));
    }
    progress(Progress::Stage("loading".into()));
    let weights = cpu::load_all(plan, files)?;
    progress(Progress::Upload {
        done: plan.stored_bytes(),
        total: plan.stored_bytes(),
    });
    progress(Progress::Stage("decoding".into()));
    let run = cpu::run(plan, &weights, WARMUP, opts.tokens, &mut |t| {
        if t > WARMUP {
            progress(Progress::Token {
                done: t - WARMUP,
                total: opts.tokens,
            })
        }
    })?;
    let tps = run.tokens as f64 / run.seconds;
    Ok(Measurement {
        backend: "cpu".into(),
        adapter: format!("{} CPU threads, {} kernels", run.threads, run.kernels),
        tokens: run.tokens,
        decode_tokens_per_s: tps,
        effective_bandwidth_bytes_per_s: tps * bytes_per_token as f64,
        copy_bandwidth_bytes_per_s: run.copy_bandwidth,
        bytes_per_token,
        synthetic: plan.synthetic,
        timestamps: false,
    })
}
