//! hardware: machines headroom plans for.
//!
//! - [`profile`]: the YAML schema of `hardware-profiles/*.yaml` (and users' own files), loading and
//!   validation. Add a new GPU or chip by adding a YAML file there; nothing in Rust changes.
//! - [`detect`]: `--hardware auto`, this machine mapped to the closest profile.
//! - [`link`]: interconnects between devices (NVLink, PCIe, Thunderbolt, Ethernet) for multi-device plans.
//! - [`Machine`]: one profile resolved at one memory size, with the GPU budget worked out. The estimate
//!   reads only this.

pub mod detect;
pub mod link;
pub mod profile;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Apple,
    Nvidia,
    Amd,
    Intel,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemoryKind {
    /// CPU and GPU share one pool (Apple Silicon, DGX Spark).
    Unified,
    /// The GPU has its own VRAM; the host RAM is separate.
    Discrete,
}

/// What runs the decode on a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// A GPU (Metal, CUDA): the default.
    #[default]
    Gpu,
    /// The CPU alone (llama.cpp's CPU backend): `bandwidth_gbs` is the memory's measured read
    /// bandwidth (STREAM), `gpu_cores` the cores the decode uses, `fp16_tflops` their FMA peak.
    Cpu,
}

/// A profile resolved at one memory size: every number the estimate needs, in bytes and bytes/s.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    pub id: String,
    pub name: String,
    pub vendor: Vendor,
    pub memory_kind: MemoryKind,
    /// GPU, or a CPU-only machine.
    pub device: Device,
    /// Unified: total RAM. Discrete: VRAM of one GPU.
    pub memory_bytes: u64,
    /// What the GPU may use by default: on a Mac the default wired-memory limit (or the user's
    /// `iogpu.wired_limit_mb`), on a discrete GPU the VRAM less the driver reserve.
    pub gpu_budget_bytes: u64,
    /// Unified memory only: the most the GPU limit can safely be raised to (RAM less what macOS needs).
    pub max_raised_budget_bytes: Option<u64>,
    /// Host RAM available for offloaded layers (discrete GPUs), if known.
    pub host_memory_bytes: Option<u64>,
    /// GPU memory bandwidth, datasheet, bytes/s.
    pub bandwidth_bytes_per_s: f64,
    /// CPU-side bandwidth for layers kept on the CPU, bytes/s.
    pub cpu_bandwidth_bytes_per_s: f64,
    pub gpu_cores: u32,
    /// Dense FP16 throughput, FLOP/s.
    pub fp16_flops: f64,
    /// Measured decode efficiency (fraction of datasheet bandwidth) from `headroom calibrate`, if any.
    pub measured_efficiency: Option<f64>,
    /// Whether this machine comes from a calibrated user profile.
    pub calibrated: bool,
    /// One line saying how `gpu_budget_bytes` was worked out (the rule, its evidence, how to change it),
    /// for plan output.
    pub budget_note: String,
}
