//! cli: the command line. Argument definitions (clap), llama.cpp-style flag spelling, dispatch to one
//! module per command, and the mapping of errors to exit codes. Output formatting lives beside each command.

pub mod calibrate;
pub mod fmt;
pub mod inspect;
pub mod list;
pub mod multi;
pub mod plan;

use crate::error::{Error, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  headroom plan llama-3.1-70b --quant Q4_K_M --hardware m3-max-40c:64
  headroom plan ./Qwen3-8B-Q4_K_M.gguf --hardware m4-pro-20c:48,rtx-4090 --ctx 32768 -ctk q8_0 -ctv q8_0
  headroom inspect ./model.gguf --format json
  headroom list hardware
  headroom tui";

#[derive(Debug, Parser)]
#[command(
    name = "headroom",
    version,
    about = "Will this model fit on this machine, and how fast will it decode?",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// More detail on errors.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Print only results (no hints or warnings).
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a model (GGUF, safetensors, folder or bundled spec) and show what it holds.
    #[command(after_help = "Examples:
  headroom inspect llama-3.1-8b
  headroom inspect llama-3.1-70b --quant Q4_K_M
  headroom inspect ./Meta-Llama-3-8B-Instruct-Q8_0.gguf --format json
  headroom inspect ./Qwen3-4B-4bit/            (an MLX folder)")]
    Inspect(InspectArgs),
    /// Will MODEL fit on the machine(s), and how fast will it decode?
    #[command(after_help = "Examples:
  headroom plan llama-3.1-70b --quant Q4_K_M --hardware m3-max-40c:64
  headroom plan qwen3-30b-a3b --quant Q4_K_M --hardware m4-pro-20c:48,rtx-4090 --ctx 32768
  headroom plan ./model.gguf --hardware h100-sxm -ctk q8_0 -ctv q8_0 -fa on --format json
  headroom plan gemma-3-27b --quant Q4_K_M --hardware m2-max-38c:32 --check && echo fits

Several devices, one model (llama.cpp -sm layer/row/tensor, -ts; Macs over llama.cpp RPC):
  headroom plan llama-3.1-70b --quant Q4_K_M --hardware h100-sxm:x2
  headroom plan llama-3.1-70b --quant Q8_0 --hardware rtx-4090:x4 --split tensor --link pcie4
  headroom plan llama-3.1-405b --quant Q4_K_M --hardware m2-ultra-76c:192+m4-max-40c:128 --link tb5
  headroom plan qwen3-32b --quant Q8_0 --hardware rtx-4090,rtx-3090 --split layer --tensor-split 3,1")]
    Plan(PlanArgs),
    /// Plan and measure: `headroom plan --measure` (a short real decode on this machine's GPU or CPU).
    #[command(after_help = "Examples:
  headroom measure ./Llama-3.1-8B-Q4_K_M.gguf --hardware m3-max-40c:64
  headroom measure llama-3.2-1b --quant Q4_0 --hardware rtx-4090 --backend gpu --tokens 64 --format json")]
    Measure(PlanArgs),
    /// Measure this machine and save a calibrated profile that later plans use.
    #[command(after_help = "Examples:
  headroom calibrate --hardware m3-max-40c:64
  headroom calibrate --hardware auto --backend gpu
  headroom plan llama-3.1-70b --quant Q4_K_M --hardware m3-max-40c-calibrated")]
    Calibrate(CalibrateArgs),
    /// List bundled hardware profiles or model specs.
    #[command(after_help = "Examples:
  headroom list hardware
  headroom list models --format json")]
    List(ListArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Examples:
  headroom completions bash > ~/.local/share/bash-completion/completions/headroom
  headroom completions zsh > ~/.zfunc/_headroom")]
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff) to stdout.
    #[command(after_help = "Examples:
  headroom man > headroom.1 && man ./headroom.1")]
    Man,
    /// Explore interactively: models, machines, workload, verdict, memory and speed vs context.
    #[command(after_help = "Examples:
  headroom tui
  headroom tui llama-3.1-70b --hardware m3-max-40c:64
  headroom tui ./models/ --hardware m4-pro-20c:48,rtx-4090   (a folder is scanned for models)
  headroom tui llama-3.1-70b --hardware h100-sxm:x2   (a device set: s split, i link, d devices)

Keys: press ? inside for the full list.")]
    Tui(TuiArgs),
}

#[derive(Debug, Args)]
pub struct TuiArgs {
    /// Models to list first and select: files, folders (scanned for .gguf and config.json models)
    /// or bundled spec ids. Bundled specs are always listed.
    pub models: Vec<String>,
    /// Machine(s) to select, as for `plan` (m3-max-40c:64, rtx-4090, a profile YAML); several open the
    /// compare view, a device set (h100-sxm:x2, a+b) the device-set view.
    #[arg(long = "hardware", short = 'H')]
    pub hardware: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A .gguf file (or the first part of a split GGUF), a .safetensors file, a folder with
    /// config.json, a bundled spec id (see `headroom list models`) or a spec YAML.
    pub model: String,
    /// Re-type the inventory as this quantization would (Q4_K_M, Q8_0, IQ4_XS, mlx-4bit...).
    #[arg(long)]
    pub quant: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuntimeArg {
    #[value(name = "llama.cpp", alias = "llamacpp")]
    LlamaCpp,
    /// llama.cpp's llama-server: without -np it runs 4 slots sharing one unified KV cache.
    #[value(name = "llama-server")]
    LlamaServer,
    Mlx,
    /// exo: MLX over several Macs (pipeline sharding); give a device set, e.g. m4-max-40c:128+m4-pro-20c:64.
    Exo,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Model: file, folder, bundled spec id or spec YAML (as for `inspect`).
    pub model: String,
    /// Machine(s): profile id with optional memory (m3-max-40c:64, h100-sxm, rtx-4090), comma-separated
    /// for a side-by-side comparison, or a path to your own profile YAML. One model over several
    /// devices: join them with `+` (m2-ultra-76c:192+m4-max-40c:128) or repeat one with `:xN`
    /// (h100-sxm:x2); see --split.
    #[arg(long = "hardware", short = 'H')]
    pub hardware: String,
    /// Context length in tokens (llama.cpp -c).
    #[arg(long = "ctx", short = 'c', alias = "ctx-size", default_value_t = 4096)]
    pub ctx: u64,
    /// K cache type: f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl (llama.cpp -ctk).
    #[arg(long = "cache-type-k", alias = "ctk", default_value = "f16")]
    pub cache_type_k: String,
    /// V cache type (llama.cpp -ctv).
    #[arg(long = "cache-type-v", alias = "ctv", default_value = "f16")]
    pub cache_type_v: String,
    /// Flash attention (llama.cpp -fa).
    #[arg(long = "flash-attn", alias = "fa", value_enum, default_value = "on")]
    pub flash_attn: OnOff,
    /// Physical micro-batch (llama.cpp -ub).
    #[arg(long = "ubatch-size", alias = "ub", default_value_t = 512)]
    pub ubatch: u32,
    /// Logical batch (llama.cpp -b).
    #[arg(long = "batch-size", short = 'b', default_value_t = 2048)]
    pub n_batch: u32,
    /// Parallel sequences (llama.cpp -np); the context is shared among them. Default 1; with
    /// --runtime llama-server, 4 slots sharing a unified KV cache (llama-server's own default).
    #[arg(long = "parallel", alias = "np")]
    pub parallel: Option<u32>,
    /// Unified KV cache (llama.cpp -kvu): the sequences share one cache of the whole context instead
    /// of one stream of context/np each. Default off; on with --runtime llama-server when -np is not given.
    #[arg(long = "kv-unified", conflicts_with = "no_kv_unified")]
    pub kv_unified: bool,
    /// Turn the unified KV cache off (llama.cpp -no-kvu).
    #[arg(long = "no-kv-unified")]
    pub no_kv_unified: bool,
    /// Sequences decoded together, for throughput.
    #[arg(long, default_value_t = 1)]
    pub batch: u32,
    /// What-if quantization (Q4_K_M, Q8_0, mlx-4bit...).
    #[arg(long)]
    pub quant: Option<String>,
    #[arg(long, value_enum, default_value = "llama.cpp")]
    pub runtime: RuntimeArg,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Exit with status 1 when the model does not fit (for scripts).
    #[arg(long)]
    pub check: bool,
    /// Also run a short real decode over the model's tensors on this machine and report it beside
    /// the prediction (a spec without a file decodes random weights of the same shapes and types).
    #[arg(long)]
    pub measure: bool,
    /// Where the measured decode runs: the GPU (wgpu: Metal, Vulkan, DX12), the CPU, or auto.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendArg,
    /// Tokens timed by the measured decode (after a warm-up).
    #[arg(long, default_value_t = 32)]
    pub tokens: u32,
    /// Split the model over the devices of --hardware (joined with `+` or repeated with `:xN`): layer
    /// (llama.cpp -sm layer, pipelined; also llama.cpp RPC across machines), row (-sm row) or tensor
    /// (tensor parallel: vLLM, llama.cpp -sm tensor). With this flag a comma list is one set of devices.
    #[arg(long = "split", alias = "split-mode", value_enum)]
    pub split: Option<SplitArg>,
    /// Share of each device, as llama.cpp -ts: proportions like 3,1 (default: each device's free memory).
    #[arg(long = "tensor-split", alias = "ts")]
    pub tensor_split: Option<String>,
    /// Interconnect between the devices: nvlink, nvlink3, pcie3, pcie4, pcie5, tb4, tb5, 1gbe, 10gbe,
    /// 25gbe, 100gbe, loopback (default: NVLink for SXM cards, PCIe for other GPUs, Thunderbolt for Macs).
    #[arg(long)]
    pub link: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    Layer,
    Row,
    Tensor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Auto,
    Gpu,
    Cpu,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The bundled profile this machine is (ID[:MEM]), or `auto`.
    #[arg(long = "hardware", short = 'H')]
    pub hardware: String,
    /// Where the measured decode runs.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendArg,
    /// Id of the profile to write (default: `<base id>-calibrated`).
    #[arg(long)]
    pub id: Option<String>,
    /// Tokens timed per quant type.
    #[arg(long, default_value_t = 16)]
    pub tokens: u32,
    /// Model whose shapes the measured decode uses (a bundled spec id or spec YAML).
    #[arg(long, default_value = "llama-3.2-1b")]
    pub model: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListWhat {
    Hardware,
    Models,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    pub what: ListWhat,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// llama.cpp spells some flags with one dash and several letters (`-ctk`, `-fa`, `-ub`, `-np`, `-kvu`);
/// rewrite them to the long forms clap understands.
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in args {
        // `--hardware h100-sxm x2`: the count is the hardware value's, not a positional argument
        let is_count =
            a.len() > 1 && a.starts_with('x') && a[1..].chars().all(|c| c.is_ascii_digit());
        let after_hardware =
            out.len() >= 2 && matches!(out[out.len() - 2].as_str(), "--hardware" | "-H");
        if is_count && after_hardware {
            if let Some(last) = out.last_mut() {
                last.push(':');
                last.push_str(&a);
            }
            continue;
        }
        out.push(match a.as_str() {
            "-ctk" => "--cache-type-k".to_string(),
            "-ctv" => "--cache-type-v".to_string(),
            "-fa" => "--flash-attn".to_string(),
            "-ub" => "--ubatch-size".to_string(),
            "-np" => "--parallel".to_string(),
            "-ts" => "--tensor-split".to_string(),
            "-sm" => "--split".to_string(),
            "-kvu" => "--kv-unified".to_string(),
            "-no-kvu" => "--no-kv-unified".to_string(),
            _ => a,
        });
    }
    out
}

/// What a command asks the process to exit with on success (1 for `--check` that does not fit).
pub type ExitCode = i32;

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Some(Command::Inspect(a)) => inspect::run(&a),
        Some(Command::Plan(a)) => plan::run(&a, cli.quiet),
        Some(Command::Measure(mut a)) => {
            a.measure = true;
            plan::run(&a, cli.quiet)
        }
        Some(Command::List(a)) => list::run(&a),
        Some(Command::Calibrate(a)) => calibrate::run(&a, cli.quiet),
        Some(Command::Completions { shell }) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "headroom", &mut buf);
            emit(String::from_utf8_lossy(&buf).trim_end())?;
            Ok(0)
        }
        Some(Command::Man) => {
            let cmd = <Cli as clap::CommandFactory>::command();
            stdout_result(
                clap_mangen::Man::new(cmd).render(&mut std::io::stdout()),
                "the man page",
            )
        }
        Some(Command::Tui(a)) => crate::tui::run(&a.models, a.hardware.as_deref()),
        None => {
            use std::io::IsTerminal;
            if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
                crate::tui::run(&[], None)
            } else {
                Err(Error::usage(
                    "no command given and not a terminal; try `headroom plan MODEL --hardware H` or `headroom --help`",
                ))
            }
        }
    }
}

/// Write a command's output to stdout. A closed pipe (`headroom ... | head`) is not an error.
pub fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::failure(format!("could not write output: {e}"))),
    }
}

/// Map an I/O error writing to stdout; a closed pipe counts as success.
fn stdout_result(r: std::io::Result<()>, what: &str) -> Result<ExitCode> {
    match r {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Error::failure(format!("could not write {what}: {e}"))),
    }
}
