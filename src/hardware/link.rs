//! link: the interconnects between the devices of a multi-device plan (GPUs of one host, Macs joined by
//! Thunderbolt or Ethernet for llama.cpp RPC), one row each: bandwidth one way and the latency of one
//! transfer, with where the number comes from. `--link ID` picks one; [`default_for`] picks one from the
//! devices when the user names none.
//!
//! Bandwidths are the link's signalling rate one way (what a single activation copy can use), in bytes/s.
//! Latencies are the time one small transfer takes end to end through the runtime (a peer copy through
//! the driver, or a round trip of llama.cpp's RPC over TCP), not the wire's own latency. Markers as in
//! `hardware-profiles/README.md`: [V] vendor or standard, [D] derived (the note says how), UNVERIFIED.

use super::{Machine, MemoryKind, Vendor};
use crate::error::{Error, Result};
use serde::Serialize;

/// One interconnect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub id: &'static str,
    pub name: &'static str,
    /// Bytes per second, one direction.
    pub bandwidth_bytes_per_s: f64,
    /// Seconds per transfer (one hop of activations, or one step of an all-reduce).
    pub latency_s: f64,
    /// Whether the devices talk through llama.cpp's RPC (TCP): several round trips per hop.
    pub rpc: bool,
    /// Where the numbers come from.
    pub source: &'static str,
}

const GB: f64 = 1e9;
const US: f64 = 1e-6;

/// The table. Order: fastest first.
pub const LINKS: &[Link] = &[
    Link {
        id: "nvlink4",
        name: "NVLink 4 (H100/H200 SXM)",
        // 900 GB/s is the bidirectional total per GPU (18 links x 50 GB/s); one direction is half.
        bandwidth_bytes_per_s: 450.0 * GB,
        latency_s: 3.0 * US,
        rpc: false,
        source: "[V] NVIDIA H100 datasheet: NVLink 900 GB/s per GPU (both directions; 450 GB/s one way). \
                 Latency [D]: a small cudaMemcpyPeer, a few µs (UNVERIFIED)",
    },
    Link {
        id: "nvlink3",
        name: "NVLink 3 (A100 SXM)",
        bandwidth_bytes_per_s: 300.0 * GB,
        latency_s: 3.0 * US,
        rpc: false,
        source: "[V] NVIDIA A100 datasheet: NVLink 600 GB/s per GPU (both directions). Latency as nvlink4 (UNVERIFIED)",
    },
    Link {
        id: "pcie5",
        name: "PCIe 5.0 x16",
        // 32 GT/s x 16 lanes x 128/130 / 8 = 63.0 GB/s one way
        bandwidth_bytes_per_s: 63.0 * GB,
        latency_s: 8.0 * US,
        rpc: false,
        source: "[V] PCI-SIG: 32 GT/s per lane, 128b/130b: 63.0 GB/s one way at x16. Latency [D]: a small \
                 device-to-device copy through the host, ~8 µs (UNVERIFIED)",
    },
    Link {
        id: "pcie4",
        name: "PCIe 4.0 x16",
        bandwidth_bytes_per_s: 31.5 * GB,
        latency_s: 8.0 * US,
        rpc: false,
        source: "[V] PCI-SIG: 16 GT/s per lane, 128b/130b: 31.5 GB/s one way at x16. Latency as pcie5 (UNVERIFIED)",
    },
    Link {
        id: "pcie3",
        name: "PCIe 3.0 x16",
        bandwidth_bytes_per_s: 15.75 * GB,
        latency_s: 8.0 * US,
        rpc: false,
        source: "[V] PCI-SIG: 8 GT/s per lane, 128b/130b: 15.75 GB/s one way at x16. Latency as pcie5 (UNVERIFIED)",
    },
    Link {
        id: "100gbe",
        name: "100 Gigabit Ethernet (RPC over TCP)",
        bandwidth_bytes_per_s: 12.5 * GB,
        latency_s: 30.0 * US,
        rpc: true,
        source: "[V] IEEE 802.3: 100 Gb/s. Latency [D]: one TCP round trip in a data centre, ~30 µs (UNVERIFIED)",
    },
    Link {
        id: "tb5-rdma",
        name: "Thunderbolt 5 with RDMA (macOS 26.2, MLX jaccl)",
        bandwidth_bytes_per_s: 10.0 * GB,
        latency_s: 9.0 * US,
        rpc: false,
        source: "[V] Intel Thunderbolt 5: 80 Gb/s each way. Latency [D]: RDMA over Thunderbolt 5 (macOS 26.2), \
                 5-9 µs between Mac Studios as measured by Stabilise.io (reported by aiexpert.news), the upper \
                 end taken (UNVERIFIED)",
    },
    Link {
        id: "tb5",
        name: "Thunderbolt 5 (IP over Thunderbolt)",
        bandwidth_bytes_per_s: 10.0 * GB,
        latency_s: 50.0 * US,
        rpc: true,
        source: "[V] Intel Thunderbolt 5: 80 Gb/s each way (120 Gb/s one way with Bandwidth Boost). Latency [D]: \
                 a TCP round trip over Thunderbolt networking, ~50 µs (UNVERIFIED)",
    },
    Link {
        id: "tb4",
        name: "Thunderbolt 4 (IP over Thunderbolt)",
        bandwidth_bytes_per_s: 5.0 * GB,
        latency_s: 50.0 * US,
        rpc: true,
        source: "[V] Intel Thunderbolt 4: 40 Gb/s. IP over Thunderbolt reaches less (UNVERIFIED). Latency as tb5",
    },
    Link {
        id: "25gbe",
        name: "25 Gigabit Ethernet (RPC over TCP)",
        bandwidth_bytes_per_s: 3.125 * GB,
        latency_s: 40.0 * US,
        rpc: true,
        source: "[V] IEEE 802.3: 25 Gb/s. Latency [D]: one TCP round trip on a LAN, ~40 µs (UNVERIFIED)",
    },
    Link {
        id: "10gbe",
        name: "10 Gigabit Ethernet (RPC over TCP)",
        bandwidth_bytes_per_s: 1.25 * GB,
        latency_s: 50.0 * US,
        rpc: true,
        source: "[V] IEEE 802.3: 10 Gb/s. Latency [D]: one TCP round trip on a LAN, ~50 µs (UNVERIFIED)",
    },
    Link {
        id: "1gbe",
        name: "Gigabit Ethernet (RPC over TCP)",
        bandwidth_bytes_per_s: 0.125 * GB,
        latency_s: 100.0 * US,
        rpc: true,
        source: "[V] IEEE 802.3: 1 Gb/s. Latency [D]: one TCP round trip on a LAN, ~100 µs (UNVERIFIED)",
    },
    Link {
        id: "loopback",
        name: "RPC on one host (127.0.0.1)",
        bandwidth_bytes_per_s: 5.0 * GB,
        latency_s: 25.7 * US,
        rpc: true,
        source: "[V] TCP over the loopback device of this project's build machine (a KVM guest): round trip 51.4 µs \
                 measured (tests/data/rpc_loopback_cpu.csv), half of it one way; bandwidth [D] memory-copy bound (UNVERIFIED)",
    },
];

/// Aliases accepted by `--link`.
const ALIASES: &[(&str, &str)] = &[
    ("nvlink", "nvlink4"),
    ("pcie", "pcie4"),
    ("thunderbolt", "tb4"),
    ("thunderbolt4", "tb4"),
    ("thunderbolt5", "tb5"),
    ("rdma", "tb5-rdma"),
    ("ethernet", "10gbe"),
    ("lo", "loopback"),
];

/// The link named `id` (case-insensitive, aliases allowed).
pub fn by_id(id: &str) -> Result<Link> {
    let want = id.trim().to_ascii_lowercase();
    let want = ALIASES
        .iter()
        .find(|(a, _)| *a == want)
        .map(|(_, t)| t.to_string())
        .unwrap_or(want);
    LINKS.iter().find(|l| l.id == want).cloned().ok_or_else(|| {
        Error::usage(format!(
            "--link {id}: unknown interconnect{}; known: {}",
            crate::suggest::did_you_mean(&want, LINKS.iter().map(|l| l.id)),
            LINKS.iter().map(|l| l.id).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// The interconnect a user most likely has between `devices`, and a note saying why:
/// NVIDIA SXM cards of one host: NVLink; other discrete GPUs: PCIe (4.0, 5.0 for Blackwell and H100/H200
/// PCIe cards); Macs (or a mix): Thunderbolt 4 with llama.cpp RPC.
pub fn default_for(devices: &[Machine]) -> (Link, String) {
    let all_discrete = devices
        .iter()
        .all(|m| m.memory_kind == MemoryKind::Discrete);
    let all_nvidia = devices.iter().all(|m| m.vendor == Vendor::Nvidia);
    let upper = |m: &Machine| format!("{} {}", m.id, m.name).to_ascii_uppercase();
    if all_discrete && all_nvidia {
        let sxm = devices.iter().all(|m| upper(m).contains("SXM"));
        let a100 = devices.iter().all(|m| upper(m).contains("A100"));
        let pick = |id: &str| by_id(id).unwrap_or_else(|_| LINKS[0].clone());
        if sxm && a100 {
            return (
                pick("nvlink3"),
                "SXM cards of one host: NVLink 3 assumed".into(),
            );
        }
        if sxm {
            return (
                pick("nvlink4"),
                "SXM cards of one host: NVLink 4 assumed".into(),
            );
        }
        let gen5 = devices.iter().all(|m| {
            let u = upper(m);
            u.contains("H100") || u.contains("H200") || u.contains("5090")
        });
        let l = if gen5 { pick("pcie5") } else { pick("pcie4") };
        let note = format!(
            "GPUs of one host without NVLink: {} assumed (pass --link nvlink if they are bridged)",
            l.name
        );
        return (l, note);
    }
    let l = by_id("tb4").unwrap_or_else(|_| LINKS[0].clone());
    (
        l,
        "several machines: llama.cpp RPC over Thunderbolt 4 assumed (--link tb5, 10gbe... to change)".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sane() {
        for l in LINKS {
            assert!(
                l.bandwidth_bytes_per_s > 0.0 && l.latency_s > 0.0,
                "{}",
                l.id
            );
            assert!(!l.source.is_empty());
        }
        assert_eq!(by_id("NVLink").unwrap().id, "nvlink4");
        assert!(by_id("nvlnk").is_err());
    }
}
