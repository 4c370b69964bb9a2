//! GPU memory budget rules: how much of a machine's memory the GPU may use by default, and how far a
//! Mac's limit can safely be raised. Pure arithmetic on bytes; the evidence for each rule is written
//! beside it.
//!
//! ## macOS: the default GPU wired-memory limit
//!
//! Metal reports the limit as `MTLDevice.recommendedMaxWorkingSetSize`; llama.cpp prints it at start-up
//! (`recommendedMaxWorkingSetSize = N MB`, N = bytes / 1e6). `sudo sysctl iogpu.wired_limit_mb=N`
//! overrides it, and Metal then reports exactly N MiB (AlexsJones/llmfit PR #754, [S]; antirez/ds4
//! PR #893: 112.00 GiB with `iogpu.wired_limit_mb=114688`, [S]).
//!
//! Two rules are encoded, because macOS changed the default:
//!
//! - [`MacosRule::Classic`] (macOS 14/15, the default here): 2/3 of RAM up to 36 GiB, 3/4 above.
//!   Evidence: 16 GiB -> 11453.25 MB = exactly 2/3 (two independent public llama.cpp logs, [V]);
//!   24 GiB -> 17179.89 MB = 16 GiB = 2/3 (public llama.cpp log, RAM inferred, [D]); 64 GiB ->
//!   51539.61 MB = 48 GiB = 3/4 (public whisper.cpp/llama.cpp logs, RAM inferred, [D]); 8 GB Mac ->
//!   "~5.3 GB" = 2/3 (SceneWorks PR #1552, [S]); "75% of total RAM" on large Macs (gpustack issue
//!   #1375, [S]). The 36 GiB threshold: no machine between 24 and 64 GiB was observed; Apple sells
//!   18/24/32/36 GiB below and 48/64 GiB above, so any threshold in 36..48 gives the same answers.
//! - [`MacosRule::Tahoe`] (macOS 26): 0.74 of RAM up to 36 GiB, 0.84 above. Evidence: 16 GiB ->
//!   12713.12 MB = exactly 0.74 x 16 GiB (llmfit PR #754 "11.84 GB of 16.00 GB" on an M3, and a
//!   public llama.cpp log from an M4, [S]); 128 GiB -> 107.52 GiB = exactly 0.84 x 128 GiB on two
//!   machines of two chip generations (antirez/ds4 PR #893, osaurus PR #1958, [S]). UNVERIFIED: the
//!   threshold (assumed the same as Classic), 8 GiB Macs, and 48-96 GiB Macs (an M3 Max log of
//!   51.84 GiB, RAM and OS not stated, would be 0.81 of 64 GiB: 0.84 may overstate mid-size Macs).
//!
//! Classic is the default because it is the conservative one: a plan that fits under it fits under
//! macOS 26 too. Pick the other with `macos=26` in `--hardware`, or give the real limit with
//! `wired=MiB`.
//!
//! ## macOS: how far the limit can be raised
//!
//! The MLX LM README says the wired limit should be "smaller than the memory size of the machine"
//! ([V], no number). We keep `min(8 GiB, RAM / 4)` for macOS and everything else ([D]): 8 GiB is the
//! reserve community guides use on large Macs (an omlx log shows a 58 GB cap on a 64 GB Mac, [S]);
//! a quarter of RAM on small Macs, where 8 GiB would leave nothing. The result is never below the
//! default limit.
//!
//! ## Discrete GPUs and Linux unified memory: memory less a reserve
//!
//! Measured by this project (driver 580.159.04, CUDA 13.0, `cudaFree(0)` then `cudaMemGetInfo`):
//! H100 80GB HBM3 (SXM): nvidia-smi total 81559 MiB, free after a CUDA context 80553 MiB, so
//! 81920 - 80553 = 1367 MiB below the nominal 80 GiB. H200: total 143771 MiB, free 142629 MiB,
//! 144384 - 142629 = 1755 MiB below the nominal 141 GiB. A CUDA context takes 120-550 MB depending
//! on the GPU (llama.cpp PR #20595, [S]); 555 MiB on an RTX PRO 6000, 107 MiB on an RTX 4060 Ti
//! (llama.cpp PR #23604, [S]). Each profile states its own reserve and where it comes from.

use super::super::MemoryKind;

pub use crate::units::{GIB, MIB};

/// Which macOS default wired-limit rule to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MacosRule {
    /// macOS 14/15: 2/3 of RAM up to 36 GiB, 3/4 above.
    #[default]
    Classic,
    /// macOS 26: 0.74 of RAM up to 36 GiB, 0.84 above.
    Tahoe,
}

impl MacosRule {
    /// RAM at or below which the small-machine fraction applies.
    pub const THRESHOLD_BYTES: u64 = 36 * GIB;

    /// The fraction of RAM as (numerator, denominator).
    pub fn fraction(self, ram_bytes: u64) -> (u64, u64) {
        let small = ram_bytes <= Self::THRESHOLD_BYTES;
        match (self, small) {
            (MacosRule::Classic, true) => (2, 3),
            (MacosRule::Classic, false) => (3, 4),
            (MacosRule::Tahoe, true) => (74, 100),
            (MacosRule::Tahoe, false) => (84, 100),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MacosRule::Classic => "macOS 14/15 rule",
            MacosRule::Tahoe => "macOS 26 rule",
        }
    }
}

/// Apple Silicon's VM page size.
pub const MACOS_PAGE: u64 = 16 * 1024;

/// macOS's default `recommendedMaxWorkingSetSize` for a Mac with `ram_bytes` of RAM: the fraction
/// of RAM rounded up to a whole 16 KiB page ([D]: the rounding makes 16 GiB come out at exactly the
/// logged 11453.25 MB (2/3) and 12713.12 MB (0.74), where the bare fraction gives 11453.25 and
/// 12713.10).
pub fn macos_default_limit(ram_bytes: u64, rule: MacosRule) -> u64 {
    let (num, den) = rule.fraction(ram_bytes);
    // u128: RAM x 100 does not overflow u64 for any real Mac, but stay exact regardless.
    let exact = u128::from(ram_bytes) * u128::from(num);
    let pages = exact.div_ceil(u128::from(den) * u128::from(MACOS_PAGE));
    (pages * u128::from(MACOS_PAGE)) as u64
}

/// What macOS keeps for itself when the wired limit is raised: min(8 GiB, RAM / 4).
pub fn macos_reserve(ram_bytes: u64) -> u64 {
    (8 * GIB).min(ram_bytes / 4)
}

/// The most the GPU limit can safely be raised to: RAM less [`macos_reserve`], never below the
/// default limit.
pub fn macos_max_raised(ram_bytes: u64, default_limit: u64) -> u64 {
    (ram_bytes - macos_reserve(ram_bytes)).max(default_limit)
}

/// Memory less a fixed reserve (driver and CUDA context, or an OS on Linux unified memory).
pub fn less_reserve(memory_bytes: u64, reserve_mib: u64) -> u64 {
    memory_bytes.saturating_sub(reserve_mib.saturating_mul(MIB))
}

/// Bytes -> GiB for messages.
pub fn gib(bytes: u64) -> f64 {
    bytes as f64 / GIB as f64
}

/// The note for a discrete or Linux-unified budget.
pub fn reserve_note(kind: MemoryKind, memory_bytes: u64, reserve_mib: u64) -> String {
    let what = match kind {
        MemoryKind::Discrete => "VRAM",
        MemoryKind::Unified => "memory",
    };
    format!(
        "{:.2} GiB {what} less a {reserve_mib} MiB reserve (driver, CUDA context{}) = {:.2} GiB",
        gib(memory_bytes),
        if kind == MemoryKind::Unified {
            ", OS"
        } else {
            ""
        },
        gib(less_reserve(memory_bytes, reserve_mib)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_fractions() {
        assert_eq!(macos_default_limit(24 * GIB, MacosRule::Classic), 16 * GIB);
        assert_eq!(macos_default_limit(64 * GIB, MacosRule::Classic), 48 * GIB);
        assert_eq!(macos_reserve(8 * GIB), 2 * GIB);
        assert_eq!(macos_reserve(64 * GIB), 8 * GIB);
        assert_eq!(less_reserve(GIB, 2048), 0);
    }
}
