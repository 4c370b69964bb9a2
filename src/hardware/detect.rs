//! hardware::detect: `--hardware auto`, this machine mapped to the closest bundled profile.
//!
//! macOS: `hw.memsize`, `machdep.cpu.brand_string` and `iogpu.wired_limit_mb` through sysctl, the GPU
//! core count from `system_profiler SPDisplaysDataType`, and Metal's `recommendedMaxWorkingSetSize`,
//! which becomes the GPU budget (it is what Metal itself allows this process on this Mac).
//! Linux: `/proc/meminfo`, `/proc/cpuinfo`, and NVIDIA GPUs through NVML (`libnvidia-ml`, loaded at
//! run time; absent means no NVIDIA GPU). The GPU's name picks the profile ([`nvidia_profile_id`]),
//! its measured VRAM replaces the nominal size. A calibrated user profile (`base:` = the detected
//! profile, with a measured efficiency) is preferred when there is one. With no GPU and no calibrated
//! profile, the machine is planned as its CPU ([`cpu_machine`], `device: cpu`): RAM from
//! `/proc/meminfo`, the cores, the memory's read bandwidth measured on the spot (a 512 MiB sum over
//! every core, best of 3) and the cores' FMA peak from the vector width and `cpu MHz`.
//!
//! The mapping functions are pure and tested with real device-name strings; the readers are thin.

use super::profile::{MachineOptions, Profile, budget, to_machine_with};
use super::{Device, Machine, MemoryKind, Vendor};
use crate::error::{Error, Result};

use crate::units::GIB;

/// What `auto` found, and the machine it resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    /// One line for the user: what was read and which profile it maps to.
    pub summary: String,
    pub machine: Machine,
}

/// Detect this machine against `profiles` (bundled + user, as [`super::profile::all_profiles`]).
pub fn detect(profiles: &[Profile]) -> Result<Detected> {
    #[cfg(target_os = "macos")]
    {
        macos::detect(profiles)
    }
    #[cfg(not(target_os = "macos"))]
    {
        linux::detect(profiles)
    }
}

/// The error when nothing usable was found.
fn no_gpu(why: &str) -> Error {
    Error::usage(format!(
        "--hardware auto: no GPU found ({why}); pass --hardware ID, see `headroom list hardware`"
    ))
}

/// Bundled profile id for an NVIDIA device name as NVML / nvidia-smi report it, with its VRAM in
/// bytes (to tell the A100 40GB from the 80GB). `None` for GPUs without a profile.
pub fn nvidia_profile_id(name: &str, memory_bytes: u64) -> Option<&'static str> {
    let n = name.to_ascii_uppercase().replace(['-', '_'], " ");
    let has = |t: &str| n.split_whitespace().any(|w| w == t) || n.contains(t);
    let gib = memory_bytes as f64 / GIB as f64;
    if has("GB10") {
        return Some("dgx-spark");
    }
    if has("H200") {
        return Some("h200");
    }
    if has("H100") {
        // "NVIDIA H100 PCIe", "NVIDIA H100 NVL" (PCIe cards) vs "NVIDIA H100 80GB HBM3" (SXM5).
        return Some(if has("PCIE") || has("NVL") {
            "h100-pcie"
        } else {
            "h100-sxm"
        });
    }
    if has("A100") {
        return Some(if gib > 60.0 { "a100-80gb" } else { "a100-40gb" });
    }
    if has("L40S") {
        return Some("l40s");
    }
    if n.contains("RTX 6000 ADA") {
        return Some("rtx-6000-ada");
    }
    if n.contains("RTX A6000") {
        return Some("rtx-a6000");
    }
    for (token, id) in [
        ("RTX 5090", "rtx-5090"),
        ("RTX 4090", "rtx-4090"),
        ("RTX 3090", "rtx-3090"),
    ] {
        if n.contains(token) {
            return Some(id);
        }
    }
    None
}

/// Profile id for an Apple chip (`machdep.cpu.brand_string`, e.g. "Apple M3 Max") with `gpu_cores`
/// GPU cores: `m3-max-40c`, or the profile of the same chip with the nearest core count.
pub fn apple_profile_id(brand: &str, gpu_cores: u32, profiles: &[Profile]) -> Option<String> {
    let lower = brand.trim().to_ascii_lowercase();
    let chip = lower
        .strip_prefix("apple ")?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-");
    if !chip.starts_with('m') {
        return None;
    }
    let prefix = format!("{chip}-");
    profiles
        .iter()
        .filter(|p| p.origin == "bundled")
        .filter_map(|p| {
            let cores: u32 =
                p.id.strip_prefix(&prefix)?
                    .strip_suffix('c')?
                    .parse()
                    .ok()?;
            Some((cores.abs_diff(gpu_cores), p.id.clone()))
        })
        .min()
        .map(|(_, id)| id)
}

/// A calibrated user profile measuring bundled profile `base`, if any.
fn calibrated_for<'a>(profiles: &'a [Profile], base: &str) -> Option<&'a Profile> {
    profiles
        .iter()
        .find(|p| p.base.as_deref() == Some(base) && p.measured_efficiency.is_some())
}

fn find<'a>(profiles: &'a [Profile], id: &str) -> Result<&'a Profile> {
    profiles
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| Error::failure(format!("bundled profile `{id}` is missing")))
}

/// `MemTotal` of `/proc/meminfo`, bytes.
pub fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut it = line["MemTotal:".len()..].split_whitespace();
    let n: u64 = it.next()?.parse().ok()?;
    match it.next() {
        Some("kB") | None => n.checked_mul(1024),
        _ => None,
    }
}

/// The first `model name` of `/proc/cpuinfo`.
pub fn parse_cpu_model(text: &str) -> Option<String> {
    text.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// The first `cpu MHz` of `/proc/cpuinfo` (the nominal clock in most VMs).
pub fn parse_cpu_mhz(text: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with("cpu MHz"))
        .and_then(|l| l.split_once(':'))
        .and_then(|(_, v)| v.trim().parse().ok())
        .filter(|v: &f64| v.is_finite() && *v > 0.0)
}

/// RAM the OS keeps for itself on a CPU-only machine: 10% of RAM, at least 1 GiB, at most 4 GiB.
pub fn cpu_reserve_bytes(ram_bytes: u64) -> u64 {
    (ram_bytes / 10).clamp(GIB, 4 * GIB).min(ram_bytes / 2)
}

/// A GPU-less machine planned as its CPU (`device: cpu`): `cores` threads decode from `ram_bytes` of
/// RAM at `read_bw` bytes/s (measured STREAM-style read), with an FMA peak of `fma_flops`.
pub fn cpu_machine(
    cpu: &str,
    ram_bytes: u64,
    cores: u32,
    read_bw: f64,
    fma_flops: f64,
    how: &str,
) -> Machine {
    let reserve = cpu_reserve_bytes(ram_bytes);
    let up = cpu.to_ascii_uppercase();
    let vendor = if up.contains("AMD") {
        Vendor::Amd
    } else if up.contains("INTEL") {
        Vendor::Intel
    } else {
        Vendor::Other
    };
    Machine {
        id: "cpu".into(),
        name: format!("{cpu} ({cores} threads, CPU only)"),
        vendor,
        memory_kind: MemoryKind::Unified,
        device: Device::Cpu,
        memory_bytes: ram_bytes,
        gpu_budget_bytes: ram_bytes.saturating_sub(reserve),
        max_raised_budget_bytes: None,
        host_memory_bytes: None,
        bandwidth_bytes_per_s: read_bw,
        cpu_bandwidth_bytes_per_s: read_bw,
        gpu_cores: cores.max(1),
        fp16_flops: fma_flops,
        measured_efficiency: None,
        calibrated: false,
        budget_note: format!(
            "CPU only: RAM {:.1} GiB less {:.1} GiB kept for the OS (10%, 1–4 GiB); read bandwidth {:.1} GB/s {how}",
            ram_bytes as f64 / GIB as f64,
            reserve as f64 / GIB as f64,
            read_bw / 1e9
        ),
    }
}

/// "Total Number of Cores: 40" from `system_profiler SPDisplaysDataType`.
pub fn parse_gpu_cores(system_profiler: &str) -> Option<u32> {
    system_profiler
        .lines()
        .find_map(|l| l.trim().strip_prefix("Total Number of Cores:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Machine for a discrete NVIDIA GPU: the profile, with NVML's VRAM total and the profile's budget
/// rule applied to it, and the host RAM.
pub fn nvidia_machine(profile: &Profile, vram_bytes: u64, host_bytes: Option<u64>) -> Machine {
    let mut m = to_machine_with(
        profile,
        profile.default_memory_gib,
        &MachineOptions::default(),
    );
    if profile.memory_kind == MemoryKind::Discrete && vram_bytes > 0 {
        m.memory_bytes = vram_bytes;
        if let super::profile::Budget::Reserve { reserve_mib } = profile.budget {
            m.gpu_budget_bytes = budget::less_reserve(vram_bytes, reserve_mib);
            m.budget_note = format!(
                "{} (VRAM measured by NVML)",
                budget::reserve_note(profile.memory_kind, vram_bytes, reserve_mib)
            );
        }
        if let Some(h) = host_bytes {
            m.host_memory_bytes = Some(h);
        }
    }
    m
}

#[cfg(not(target_os = "macos"))]
mod linux {
    use super::*;

    pub fn detect(profiles: &[Profile]) -> Result<Detected> {
        let host = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| parse_meminfo(&t));
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| parse_cpu_model(&t))
            .unwrap_or_else(|| "unknown CPU".to_string());
        let host_txt = host.map_or_else(
            || "unknown RAM".to_string(),
            |h| format!("{:.1} GiB RAM", h as f64 / GIB as f64),
        );
        let gpus = match nvml_gpus() {
            Ok(g) if !g.is_empty() => g,
            res => {
                let why = match res {
                    Err(e) => format!("NVML not available: {e}"),
                    Ok(_) => "NVML reports no NVIDIA GPU".to_string(),
                };
                return only_calibrated(profiles, &why, &cpu, &host_txt);
            }
        };
        let (name, vram) = gpus[0].clone();
        let id = nvidia_profile_id(&name, vram).ok_or_else(|| {
            Error::usage(format!(
                "--hardware auto: found {name} ({:.1} GiB) but no bundled profile matches it; pass --hardware ID (see `headroom list hardware`) or a profile YAML of your own",
                vram as f64 / GIB as f64
            ))
        })?;
        let base = find(profiles, id)?;
        let profile = calibrated_for(profiles, id).unwrap_or(base);
        let machine = nvidia_machine(profile, vram, host);
        let more = if gpus.len() > 1 {
            format!(" (GPU 0 of {}; planning for one GPU)", gpus.len())
        } else {
            String::new()
        };
        Ok(Detected {
            summary: format!(
                "detected {name}, {:.1} GiB VRAM{more}; {cpu}, {host_txt} → profile {}",
                vram as f64 / GIB as f64,
                profile.id
            ),
            machine,
        })
    }

    fn only_calibrated(profiles: &[Profile], why: &str, cpu: &str, host: &str) -> Result<Detected> {
        let cal: Vec<&Profile> = profiles
            .iter()
            .filter(|p| p.origin != "bundled" && p.measured_efficiency.is_some())
            .collect();
        match cal.as_slice() {
            [p] => Ok(Detected {
                summary: format!(
                    "no GPU detected ({why}); {cpu}, {host} → your calibrated profile {}",
                    p.id
                ),
                machine: to_machine_with(p, p.default_memory_gib, &MachineOptions::default()),
            }),
            _ => this_cpu(why, cpu, host),
        }
    }

    /// No GPU, no calibrated profile: plan this machine's CPU, its read bandwidth measured now.
    fn this_cpu(why: &str, cpu: &str, host: &str) -> Result<Detected> {
        let ram = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| parse_meminfo(&t))
            .ok_or_else(|| no_gpu(&format!("{why}; /proc/meminfo unreadable")))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let bw = crate::measure::cpu::read_bandwidth(cores, 512 << 20, 3);
        let mhz = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| parse_cpu_mhz(&t))
            .unwrap_or(3000.0);
        #[cfg(target_arch = "x86_64")]
        let lanes = if std::arch::is_x86_feature_detected!("avx512f") {
            16.0
        } else if std::arch::is_x86_feature_detected!("avx2") {
            8.0
        } else {
            4.0
        };
        #[cfg(not(target_arch = "x86_64"))]
        let lanes = 4.0;
        // two FMA pipes per core, 2 FLOPs per FMA
        let flops = cores as f64 * lanes * 2.0 * 2.0 * mhz * 1e6;
        let m = cpu_machine(
            cpu,
            ram,
            cores as u32,
            bw,
            flops,
            &format!("(measured now: 512 MiB read-sum over {cores} threads, best of 3)"),
        );
        Ok(Detected {
            summary: format!(
                "no GPU detected ({why}); {cpu}, {host} → planning the CPU: {cores} threads, {:.1} GB/s read bandwidth measured now, {:.0} GFLOPS FMA peak ({lanes}-lane FMA × 2 × {mhz:.0} MHz)",
                bw / 1e9,
                flops / 1e9
            ),
            machine: m,
        })
    }

    /// (name, total VRAM bytes) of every NVIDIA GPU, in NVML index order.
    fn nvml_gpus() -> std::result::Result<Vec<(String, u64)>, String> {
        let nvml = nvml_wrapper::Nvml::init().map_err(|e| e.to_string())?;
        let n = nvml.device_count().map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for i in 0..n {
            let d = nvml.device_by_index(i).map_err(|e| e.to_string())?;
            let name = d.name().map_err(|e| e.to_string())?;
            let mem = d.memory_info().map_err(|e| e.to_string())?.total;
            out.push((name, mem));
        }
        Ok(out)
    }
}

#[cfg(target_os = "macos")]
mod macos {
    use super::*;
    use std::ffi::CStr;

    fn sysctl_u64(name: &CStr) -> Option<u64> {
        let mut v: u64 = 0;
        let mut len = std::mem::size_of::<u64>();
        // SAFETY: `v` is a valid u64 buffer of `len` bytes; the name is NUL-terminated.
        let rc = unsafe {
            libc::sysctlbyname(
                name.as_ptr(),
                (&mut v as *mut u64).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        match (rc, len) {
            (0, 8) => Some(v),
            (0, 4) => Some(u64::from(v as u32)),
            _ => None,
        }
    }

    fn sysctl_string(name: &CStr) -> Option<String> {
        let mut len = 0usize;
        // SAFETY: a null buffer asks for the size only.
        let rc = unsafe {
            libc::sysctlbyname(
                name.as_ptr(),
                std::ptr::null_mut(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        if rc != 0 || len == 0 || len > 4096 {
            return None;
        }
        let mut buf = vec![0u8; len];
        // SAFETY: `buf` holds `len` bytes.
        let rc = unsafe {
            libc::sysctlbyname(
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        if rc != 0 {
            return None;
        }
        buf.truncate(len);
        let s = String::from_utf8_lossy(&buf);
        Some(s.trim_end_matches('\0').trim().to_string())
    }

    fn metal_working_set() -> Option<u64> {
        use objc2_metal::MTLDevice;
        let dev = objc2_metal::MTLCreateSystemDefaultDevice()?;
        Some(dev.recommendedMaxWorkingSetSize())
    }

    fn gpu_cores() -> Option<u32> {
        let out = std::process::Command::new("system_profiler")
            .arg("SPDisplaysDataType")
            .output()
            .ok()?;
        parse_gpu_cores(&String::from_utf8_lossy(&out.stdout))
    }

    pub fn detect(profiles: &[Profile]) -> Result<Detected> {
        let ram = sysctl_u64(c"hw.memsize").ok_or_else(|| no_gpu("sysctl hw.memsize failed"))?;
        let brand = sysctl_string(c"machdep.cpu.brand_string").unwrap_or_default();
        let wired = sysctl_u64(c"iogpu.wired_limit_mb").filter(|&v| v > 0);
        let cores = gpu_cores().unwrap_or(0);
        let id = apple_profile_id(&brand, cores, profiles).ok_or_else(|| {
            Error::usage(format!(
                "--hardware auto: this Mac's chip \"{brand}\" has no bundled profile; pass --hardware ID (see `headroom list hardware`)"
            ))
        })?;
        let base = find(profiles, &id)?;
        let profile = calibrated_for(profiles, &id).unwrap_or(base);
        let mem_gib = u32::try_from((ram + GIB / 2) / GIB).unwrap_or(u32::MAX);
        let opts = MachineOptions {
            wired_limit_mb: wired,
            ..MachineOptions::default()
        };
        let mut machine = to_machine_with(profile, mem_gib, &opts);
        machine.memory_bytes = ram;
        let ws = metal_working_set();
        if let Some(ws) = ws {
            machine.gpu_budget_bytes = ws;
            machine.max_raised_budget_bytes = machine.max_raised_budget_bytes.map(|r| r.max(ws));
            machine.budget_note = format!(
                "Metal recommendedMaxWorkingSetSize on this Mac = {:.2} GiB (measured){}",
                ws as f64 / GIB as f64,
                wired.map_or(String::new(), |w| format!(", iogpu.wired_limit_mb={w}"))
            );
        }
        Ok(Detected {
            summary: format!(
                "detected {brand}, {cores}-core GPU, {:.0} GiB RAM{}{} → profile {}",
                ram as f64 / GIB as f64,
                ws.map_or(String::new(), |w| format!(
                    ", Metal working set {:.2} GiB",
                    w as f64 / GIB as f64
                )),
                wired.map_or(String::new(), |w| format!(", iogpu.wired_limit_mb={w}")),
                profile.id
            ),
            machine,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hardware::profile::bundled;

    #[test]
    fn nvidia_names_map_to_profiles() {
        // Strings as nvidia-smi / NVML print them.
        let g = |n: &str, gib: u64| nvidia_profile_id(n, gib * GIB);
        assert_eq!(g("NVIDIA H100 80GB HBM3", 80), Some("h100-sxm"));
        assert_eq!(g("NVIDIA H100 PCIe", 80), Some("h100-pcie"));
        assert_eq!(g("NVIDIA H100 NVL", 94), Some("h100-pcie"));
        assert_eq!(g("NVIDIA H200", 141), Some("h200"));
        assert_eq!(g("NVIDIA A100-SXM4-80GB", 80), Some("a100-80gb"));
        assert_eq!(g("NVIDIA A100-SXM4-40GB", 40), Some("a100-40gb"));
        assert_eq!(g("NVIDIA A100-PCIE-40GB", 40), Some("a100-40gb"));
        assert_eq!(g("NVIDIA A100 80GB PCIe", 80), Some("a100-80gb"));
        assert_eq!(g("NVIDIA L40S", 48), Some("l40s"));
        assert_eq!(
            g("NVIDIA RTX 6000 Ada Generation", 48),
            Some("rtx-6000-ada")
        );
        assert_eq!(g("NVIDIA RTX A6000", 48), Some("rtx-a6000"));
        assert_eq!(g("NVIDIA GeForce RTX 4090", 24), Some("rtx-4090"));
        assert_eq!(g("NVIDIA GeForce RTX 3090", 24), Some("rtx-3090"));
        assert_eq!(g("NVIDIA GeForce RTX 5090", 32), Some("rtx-5090"));
        assert_eq!(g("NVIDIA GB10", 128), Some("dgx-spark"));
        assert_eq!(g("NVIDIA GeForce GTX 1080 Ti", 11), None);
        assert_eq!(g("Tesla T4", 15), None);
    }

    #[test]
    fn every_mapped_id_is_bundled() {
        let b = bundled().expect("bundled profiles");
        for (n, gib) in [
            ("NVIDIA H100 80GB HBM3", 80),
            ("NVIDIA H100 PCIe", 80),
            ("NVIDIA H200", 141),
            ("NVIDIA A100-SXM4-80GB", 80),
            ("NVIDIA A100-SXM4-40GB", 40),
            ("NVIDIA L40S", 48),
            ("NVIDIA RTX 6000 Ada Generation", 48),
            ("NVIDIA RTX A6000", 48),
            ("NVIDIA GeForce RTX 4090", 24),
            ("NVIDIA GeForce RTX 3090", 24),
            ("NVIDIA GeForce RTX 5090", 32),
            ("NVIDIA GB10", 128),
        ] {
            let id = nvidia_profile_id(n, gib * GIB).expect("maps");
            assert!(b.iter().any(|p| p.id == id), "{n} -> {id} not bundled");
        }
    }

    #[test]
    fn apple_chips_map_to_profiles() {
        let b = bundled().expect("bundled profiles");
        let a = |brand: &str, cores: u32| apple_profile_id(brand, cores, &b);
        assert_eq!(a("Apple M3 Max", 40).as_deref(), Some("m3-max-40c"));
        assert_eq!(a("Apple M3 Max", 30).as_deref(), Some("m3-max-30c"));
        assert_eq!(a("Apple M1", 8).as_deref(), Some("m1-8c"));
        assert_eq!(a("Apple M2 Ultra", 76).as_deref(), Some("m2-ultra-76c"));
        assert_eq!(a("Apple M4 Pro", 20).as_deref(), Some("m4-pro-20c"));
        // Unknown core count (system_profiler failed): the nearest profile of the same chip.
        assert_eq!(a("Apple M1 Ultra", 0).as_deref(), Some("m1-ultra-48c"));
        assert_eq!(a("Intel(R) Core(TM) i9-9980HK CPU @ 2.40GHz", 16), None);
        assert_eq!(a("Apple M9 Hyper", 10), None);
    }

    #[test]
    fn proc_and_system_profiler_parsers() {
        let meminfo = "MemTotal:       24684092 kB\nMemFree:        1234 kB\n";
        assert_eq!(parse_meminfo(meminfo), Some(24_684_092 * 1024));
        assert_eq!(parse_meminfo("MemFree: 1 kB\n"), None);
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(parse_cpu_model(cpuinfo).as_deref(), Some("AMD EPYC 7B13"));
        let sp = "Graphics/Displays:\n\n    Apple M3 Max:\n\n      Chipset Model: Apple M3 Max\n      Type: GPU\n      Bus: Built-In\n      Total Number of Cores: 40\n      Vendor: Apple (0x106b)\n";
        assert_eq!(parse_gpu_cores(sp), Some(40));
        assert_eq!(parse_gpu_cores("nothing"), None);
    }

    #[test]
    fn nvidia_machine_uses_measured_vram() {
        let b = bundled().expect("bundled profiles");
        let p = b.iter().find(|p| p.id == "h100-sxm").expect("h100-sxm");
        // NVML total of an H100 80GB HBM3: 81559 MiB (nvidia-smi).
        let vram = 81_559 * (1 << 20);
        let m = nvidia_machine(p, vram, Some(128 * GIB));
        assert_eq!(m.memory_bytes, vram);
        assert!(m.gpu_budget_bytes < vram && m.gpu_budget_bytes > vram - 4 * GIB);
        assert_eq!(m.host_memory_bytes, Some(128 * GIB));
    }

    #[test]
    fn cpu_machines_from_proc_text() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2596.096\n";
        assert_eq!(parse_cpu_mhz(cpuinfo), Some(2596.096));
        assert_eq!(parse_cpu_mhz("model name\t: x\n"), None);
        // reserve: 10% of RAM, clamped to 1..4 GiB (and never over half)
        assert_eq!(cpu_reserve_bytes(24 * GIB), 24 * GIB / 10);
        assert_eq!(cpu_reserve_bytes(4 * GIB), GIB);
        assert_eq!(cpu_reserve_bytes(256 * GIB), 4 * GIB);
        assert_eq!(cpu_reserve_bytes(GIB), GIB / 2);
        let m = cpu_machine("AMD EPYC", 24 * GIB, 2, 74.1e9, 0.332e12, "(test)");
        assert_eq!(m.device, Device::Cpu);
        assert_eq!(m.vendor, Vendor::Amd);
        assert_eq!(m.memory_kind, MemoryKind::Unified);
        assert_eq!(m.gpu_budget_bytes, 24 * GIB - 24 * GIB / 10);
        assert_eq!(m.bandwidth_bytes_per_s, 74.1e9);
        assert_eq!(m.gpu_cores, 2);
    }

    /// On a machine with no NVIDIA driver NVML is absent: the CPU is planned (`device: cpu`, read
    /// bandwidth measured), or with a GPU a bundled profile; never a panic.
    #[cfg(target_os = "linux")]
    #[test]
    fn linux_reader_runs() {
        let b = bundled().expect("bundled profiles");
        match detect(&b) {
            Ok(d) if d.machine.device == Device::Cpu => {
                assert!(d.summary.contains("planning the CPU"), "{}", d.summary);
                assert!(d.machine.bandwidth_bytes_per_s > 1e8, "{}", d.summary);
                assert!(d.machine.gpu_budget_bytes < d.machine.memory_bytes);
            }
            Ok(d) => assert!(d.summary.contains("profile"), "{}", d.summary),
            Err(e) => {
                assert_eq!(e.exit_code(), 2);
                let s = e.to_string();
                assert!(
                    s.contains("no GPU found") && s.contains("--hardware ID"),
                    "{s}"
                );
            }
        }
    }
}
