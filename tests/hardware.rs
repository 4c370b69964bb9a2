//! Hardware profiles: bundled YAMLs against shared/reference/hardware_facts.md, the GPU budget rules
//! against observed `recommendedMaxWorkingSetSize` values and a measured CUDA reserve, the
//! `--hardware` grammar, and the errors bad YAMLs and arguments get.

use headroom::error::Error;
use headroom::hardware::profile::{
    self, Budget, MachineOptions, Profile, budget::MacosRule, bundled, load_file, load_user_dir,
    parse_profile, resolve_in, to_machine, to_machine_with,
};
use headroom::hardware::{Machine, MemoryKind, Vendor};

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

fn profiles() -> Vec<Profile> {
    bundled().expect("bundled profiles parse")
}

fn get<'a>(ps: &'a [Profile], id: &str) -> &'a Profile {
    ps.iter()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("no bundled profile {id}"))
}

fn one(arg: &str) -> Machine {
    let mut v = resolve_in(arg, &profiles()).unwrap_or_else(|e| panic!("{arg}: {e}"));
    assert_eq!(v.len(), 1);
    v.remove(0)
}

fn err(arg: &str) -> String {
    match resolve_in(arg, &profiles()) {
        Ok(m) => panic!("{arg} resolved to {m:?}"),
        Err(e) => {
            assert_eq!(e.exit_code(), 2, "{arg}: {e}");
            e.to_string()
        }
    }
}

/// llama.cpp prints `recommendedMaxWorkingSetSize = %.2f MB` of bytes / 1e6.
fn llama_mb(bytes: u64) -> String {
    format!("{:.2}", bytes as f64 / 1e6)
}

// ---------------------------------------------------------------- bundled profiles

const REQUIRED: &[&str] = &[
    "m1-7c",
    "m1-8c",
    "m1-pro-14c",
    "m1-pro-16c",
    "m1-max-24c",
    "m1-max-32c",
    "m1-ultra-48c",
    "m1-ultra-64c",
    "m2-8c",
    "m2-10c",
    "m2-pro-16c",
    "m2-pro-19c",
    "m2-max-30c",
    "m2-max-38c",
    "m2-ultra-60c",
    "m2-ultra-76c",
    "m3-8c",
    "m3-10c",
    "m3-pro-14c",
    "m3-pro-18c",
    "m3-max-30c",
    "m3-max-40c",
    "m3-ultra-60c",
    "m3-ultra-80c",
    "m4-8c",
    "m4-10c",
    "m4-pro-16c",
    "m4-pro-20c",
    "m4-max-32c",
    "m4-max-40c",
    "m5-10c",
    "m5-pro-16c",
    "m5-pro-20c",
    "m5-max-32c",
    "m5-max-40c",
    "h100-sxm",
    "h100-pcie",
    "h200",
    "a100-40gb",
    "a100-80gb",
    "l40s",
    "rtx-3090",
    "rtx-4090",
    "rtx-5090",
    "rtx-a6000",
    "rtx-6000-ada",
    "dgx-spark",
];

#[test]
fn every_bundled_profile_parses_validates_and_is_sourced() {
    let ps = profiles();
    for id in REQUIRED {
        get(&ps, id);
    }
    let mut ids: Vec<&str> = ps.iter().map(|p| p.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), ps.len(), "duplicate ids");
    for p in &ps {
        assert!(
            p.unsourced_fields().is_empty(),
            "{}: no source for {:?}",
            p.id,
            p.unsourced_fields()
        );
        assert!(p.memory_gib.contains(&p.default_memory_gib));
        assert_eq!(p.origin, "bundled");
        // Apple chips plan with the macOS rule; everything else with a reserve.
        match p.vendor {
            Vendor::Apple => assert_eq!(p.budget, Budget::MacosDefault, "{}", p.id),
            _ => assert!(matches!(p.budget, Budget::Reserve { .. }), "{}", p.id),
        }
        // Every memory size resolves, and the budget is below the memory.
        for &m in &p.memory_gib {
            let mach = to_machine(p, m);
            assert!(
                mach.gpu_budget_bytes > 0 && mach.gpu_budget_bytes < mach.memory_bytes,
                "{} {m}",
                p.id
            );
            if let Some(r) = mach.max_raised_budget_bytes {
                assert!(r >= mach.gpu_budget_bytes && r < mach.memory_bytes);
            }
        }
        // Round-trip through the text parser as a user file would be (a bundled id is fine here).
        let text = std::fs::read_to_string(format!("hardware-profiles/{}.yaml", p.id)).unwrap();
        let again = parse_profile(&text, "x.yaml").unwrap();
        assert_eq!(again.bandwidth_gbs, p.bandwidth_gbs);
    }
}

#[test]
fn key_facts_match_hardware_facts_md() {
    let ps = profiles();
    // (id, GB/s, GPU cores) from hardware_facts.md §1a (llama.cpp #4167 column) and §2.
    let bw: &[(&str, f64, u32)] = &[
        ("m1-7c", 68.0, 7),
        ("m1-max-32c", 400.0, 32),
        ("m1-ultra-64c", 800.0, 64),
        ("m2-10c", 100.0, 10),
        ("m2-pro-19c", 200.0, 19),
        ("m2-ultra-76c", 800.0, 76),
        ("m3-pro-18c", 150.0, 18),
        ("m3-max-30c", 300.0, 30),
        ("m3-max-40c", 400.0, 40),
        ("m4-10c", 120.0, 10),
        ("m4-pro-20c", 273.0, 20),
        ("m4-max-32c", 410.0, 32),
        ("m4-max-40c", 546.0, 40),
        ("m5-10c", 153.0, 10),
        ("m5-max-32c", 460.0, 32),
        ("m5-max-40c", 614.0, 40),
        ("h100-sxm", 3350.0, 132),
        ("h100-pcie", 2000.0, 114),
        ("h200", 4800.0, 132),
        ("a100-40gb", 1555.0, 108),
        ("a100-80gb", 2039.0, 108),
        ("l40s", 864.0, 142),
        ("rtx-3090", 936.2, 82),
        ("rtx-4090", 1008.0, 128),
        ("rtx-5090", 1792.0, 170),
        ("rtx-a6000", 768.0, 84),
        ("rtx-6000-ada", 960.0, 142),
        ("dgx-spark", 273.0, 48),
    ];
    for &(id, gbs, cores) in bw {
        let p = get(&ps, id);
        assert_eq!(p.bandwidth_gbs, gbs, "{id} bandwidth");
        assert_eq!(p.gpu_cores, cores, "{id} cores");
    }
    // Dense FP16 TFLOPS (§2; Apple: hmc FP32 = FP16).
    for &(id, tf) in &[
        ("h100-sxm", 989.4),
        ("h200", 989.0),
        ("a100-80gb", 312.0),
        ("rtx-4090", 330.0),
        ("m2-max-30c", 10.74),
        ("m4-max-32c", 13.74),
    ] {
        assert_eq!(get(&ps, id).fp16_tflops, tf, "{id} tflops");
    }
    // Memory sizes as sold.
    for &(id, mems) in &[
        ("m1-8c", &[8u32, 16][..]),
        ("m2-8c", &[8, 16, 24]),
        ("m3-pro-18c", &[18, 36]),
        ("m4-10c", &[16, 24, 32]),
        ("m4-8c", &[16, 24]),
        ("m4-pro-20c", &[24, 48, 64]),
        ("m4-max-32c", &[36]),
        ("m3-ultra-60c", &[96, 256]),
        ("h100-sxm", &[80]),
        ("h200", &[141]),
        ("rtx-5090", &[32]),
    ] {
        assert_eq!(get(&ps, id).memory_gib, mems, "{id} memory");
    }
    assert_eq!(get(&ps, "m2-ultra-76c").memory_gib.last(), Some(&192));
    assert_eq!(get(&ps, "m3-ultra-80c").memory_gib.last(), Some(&512));
    assert_eq!(get(&ps, "m3-max-40c").memory_gib.last(), Some(&128));
    let spark = get(&ps, "dgx-spark");
    assert_eq!(
        (spark.memory_kind, spark.memory_gib.as_slice()),
        (MemoryKind::Unified, &[128u32][..])
    );
    assert_eq!(get(&ps, "rtx-4090").memory_kind, MemoryKind::Discrete);
}

// ---------------------------------------------------------------- GPU budget rules

#[test]
fn macos_default_limit_matches_observed_recommended_working_set() {
    // 16 GiB, macOS 14/15: 11453.25 MB in two independent llama.cpp logs [V].
    assert_eq!(llama_mb(one("m1-pro-16c:16").gpu_budget_bytes), "11453.25");
    // 64 GiB (M2 Max): 51539.61 MB = 48 GiB [D].
    assert_eq!(llama_mb(one("m2-max-38c:64").gpu_budget_bytes), "51539.61");
    // 24 GiB: 17179.89 MB logged with the RAM not stated; 2/3 of 24 GiB is 16 GiB = 17179.87 MB.
    let b24 = one("m2-10c:24").gpu_budget_bytes;
    assert_eq!(b24, 16 * GIB);
    assert!((b24 as f64 / 1e6 - 17179.89).abs() < 0.05);
    // 8 GB Mac: "~5.3 GB" (SceneWorks PR #1552).
    let b8 = one("m1-8c:8").gpu_budget_bytes as f64 / GIB as f64;
    assert!((b8 - 5.33).abs() < 0.01, "{b8}");
    // 128 GiB on macOS 14/15: 3/4 ("75% of total RAM", gpustack #1375).
    assert_eq!(one("m3-max-40c:128").gpu_budget_bytes, 96 * GIB);
    // macOS 26: 16 GiB -> 12713.12 MB (llmfit #754, llama.cpp log); 128 GiB -> 107.52 GiB (ds4 #893).
    assert_eq!(
        llama_mb(one("m4-10c:16:macos=26").gpu_budget_bytes),
        "12713.12"
    );
    let b128 = one("m5-max-40c:128:macos=26").gpu_budget_bytes as f64 / GIB as f64;
    assert!((b128 - 107.52).abs() < 0.005, "{b128}");
    // iogpu.wired_limit_mb=114688 -> Metal reports 112.00 GiB (ds4 #893).
    let w = one("m5-max-40c:128:wired=114688");
    assert_eq!(w.gpu_budget_bytes, 112 * GIB);
    assert!(w.budget_note.contains("114688"));
    // The rule itself, by number.
    assert_eq!(MacosRule::Classic.fraction(36 * GIB), (2, 3));
    assert_eq!(MacosRule::Classic.fraction(48 * GIB), (3, 4));
}

#[test]
fn macos_raised_limit_keeps_a_reserve_for_macos() {
    let m = one("m3-max-40c:64");
    assert_eq!(m.max_raised_budget_bytes, Some(56 * GIB)); // 64 - 8 GiB
    assert_eq!(one("m1-8c:8").max_raised_budget_bytes, Some(6 * GIB)); // 8 - 8/4
    assert_eq!(one("m4-10c:16").max_raised_budget_bytes, Some(12 * GIB));
    // Never below the default (48 GiB on macOS 26: 0.84 x 48 = 40.32 > 48 - 8).
    let t = one("m3-max-40c:48:macos=26");
    assert_eq!(t.max_raised_budget_bytes, Some(t.gpu_budget_bytes));
    assert!(
        m.budget_note.contains("iogpu.wired_limit_mb=57344"),
        "{}",
        m.budget_note
    );
    assert_eq!(m.host_memory_bytes, None);
}

#[test]
fn nvidia_budget_is_vram_less_measured_reserve() {
    // Measured: H100 80GB HBM3 had 80553 MiB free after a CUDA context; H200 142629 MiB.
    assert_eq!(one("h100-sxm").gpu_budget_bytes, 80553 * MIB);
    assert_eq!(one("h200").gpu_budget_bytes, 142629 * MIB);
    // RTX 4090: 24564 MiB usable [S] less the 1006 MiB context gap measured on the H100.
    assert_eq!(one("rtx-4090").gpu_budget_bytes, (24564 - 1006) * MIB);
    let m = one("rtx-4090");
    assert_eq!(
        (
            m.memory_bytes,
            m.max_raised_budget_bytes,
            m.host_memory_bytes
        ),
        (24 * GIB, None, None)
    );
    assert_eq!(m.bandwidth_bytes_per_s, 1008e9);
    assert_eq!(one("rtx-4090:host=64").host_memory_bytes, Some(64 * GIB));
    // DGX Spark: unified 128 GiB, reserve rule, no raise.
    let s = one("dgx-spark");
    assert_eq!(
        (s.memory_bytes, s.max_raised_budget_bytes),
        (128 * GIB, None)
    );
    assert!(s.gpu_budget_bytes < s.memory_bytes);
}

// ---------------------------------------------------------------- --hardware grammar

#[test]
fn every_memory_spelling_resolves() {
    for s in ["64", "64G", "64GB", "64GiB", "64gb", "64gib", "64g", " 64 "] {
        let m = one(&format!("m3-max-40c:{s}"));
        assert_eq!(m.memory_bytes, 64 * GIB, "{s}");
    }
    assert_eq!(one("M3-MAX-40C").memory_bytes, 48 * GIB); // default size; ids are case-insensitive
    assert_eq!(profile::arg::parse_mem("128GiB", "x").unwrap(), 128);
}

#[test]
fn lists_resolve_in_order() {
    let v = resolve_in("m4-pro-20c:48, rtx-4090,h100-sxm", &profiles()).unwrap();
    let ids: Vec<&str> = v.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["m4-pro-20c", "rtx-4090", "h100-sxm"]);
    assert_eq!(v[0].memory_bytes, 48 * GIB);
}

#[test]
fn argument_errors_suggest_and_list() {
    let e = err("m3-max-40");
    assert!(
        e.contains("did you mean `m3-max-40c`") && e.contains("headroom list hardware"),
        "{e}"
    );
    let e = err("rtx4090");
    assert!(e.contains("`rtx-4090`"), "{e}");
    let e = err("m3-max-40c:96");
    assert!(e.contains("48, 64, 128") && e.contains("not 96"), "{e}");
    let e = err("m3-max-40c:lots");
    assert!(e.contains("64GB"), "{e}");
    let e = err("m3-max-40c:0");
    assert!(e.contains("0"), "{e}");
    let e = err("m3-max-40c:64:wird=1");
    assert!(e.contains("did you mean `wired`"), "{e}");
    let e = err("m3-max-40c:64:wired=70000");
    assert!(e.contains("above"), "{e}");
    let e = err("rtx-4090:wired=1000");
    assert!(e.contains("Apple"), "{e}");
    let e = err("m3-max-40c:host=64");
    assert!(e.contains("discrete"), "{e}");
    let e = err("m3-max-40c:64:macos=13x");
    assert!(e.contains("macos"), "{e}");
    let e = err("m3-max-40c:64,");
    assert!(e.contains("empty"), "{e}");
    let e = err("m3-max-40c:64:128");
    assert!(e.contains("not an option"), "{e}");
}

// ---------------------------------------------------------------- YAML files and their errors

const GOOD: &str = "\
id: my-box
name: My box
vendor: nvidia
memory_kind: discrete
memory_gib: [12, 24]
default_memory_gib: 24
bandwidth_gbs: 500
cpu_bandwidth_gbs: 50
gpu_cores: 40
fp16_tflops: 100
host_memory_gib: 32
budget:
  rule: reserve
  reserve_mib: 1000
";

fn bad(yaml: &str) -> String {
    match parse_profile(yaml, "bad.yaml") {
        Ok(p) => panic!("accepted {p:?}"),
        Err(e @ Error::BadInput { .. }) => {
            let s = e.to_string();
            assert!(s.starts_with("bad.yaml: "), "{s}");
            s
        }
        Err(e) => panic!("wrong error kind {e:?}"),
    }
}

#[test]
fn a_good_user_yaml_resolves_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("my-box.yaml");
    std::fs::write(&path, GOOD).unwrap();
    let arg = format!("{}:12,m1-8c", path.display());
    let v = resolve_in(&arg, &profiles()).unwrap();
    assert_eq!(v[0].id, "my-box");
    assert_eq!(v[0].memory_bytes, 12 * GIB);
    assert_eq!(v[0].gpu_budget_bytes, 12 * GIB - 1000 * MIB);
    assert_eq!(v[0].host_memory_bytes, Some(32 * GIB));
    assert_eq!(v[1].id, "m1-8c");
}

#[test]
fn bad_yamls_name_the_file_and_field() {
    let e = bad(&GOOD.replace("bandwidth_gbs: 500", "bandwith_gbs: 500"));
    assert!(
        e.contains("unknown field `bandwith_gbs`") && e.contains("did you mean `bandwidth_gbs`"),
        "{e}"
    );
    assert!(e.contains("line 7"), "{e}");
    let e = bad(&GOOD.replace("vendor: nvidia", "vendor: nvida"));
    assert!(e.contains("did you mean `nvidia`"), "{e}");
    let e = bad(&GOOD.replace("  reserve_mib: 1000", "  reserv_mib: 1000"));
    assert!(e.contains("did you mean `reserve_mib`"), "{e}");
    let e = bad(&GOOD.replace("[12, 24]", "[0, 24]"));
    assert!(
        e.contains("`memory_gib`") && e.contains("above zero"),
        "{e}"
    );
    let e = bad(&GOOD.replace("bandwidth_gbs: 500", "bandwidth_gbs: -500"));
    assert!(
        e.contains("`bandwidth_gbs`") && e.contains("positive"),
        "{e}"
    );
    let e = bad(&GOOD.replace("bandwidth_gbs: 500", "bandwidth_gbs: 0"));
    assert!(e.contains("`bandwidth_gbs`"), "{e}");
    let e = bad(&GOOD.replace(
        "  rule: reserve\n  reserve_mib: 1000",
        "  rule: fixed\n  gib: 16",
    ));
    assert!(
        e.contains("`budget.gib`") && e.contains("above the memory"),
        "{e}"
    );
    let e = bad(&GOOD.replace("reserve_mib: 1000", "reserve_mib: 20000"));
    assert!(e.contains("`budget.reserve_mib`"), "{e}");
    let e = bad(&GOOD.replace("default_memory_gib: 24", "default_memory_gib: 16"));
    assert!(
        e.contains("`default_memory_gib`") && e.contains("12, 24"),
        "{e}"
    );
    let e = bad(&GOOD.replace("fp16_tflops: 100\n", ""));
    assert!(e.contains("missing field `fp16_tflops`"), "{e}");
    let e = bad(&GOOD.replace("  rule: reserve", "  rule: macos_default"));
    assert!(e.contains("vendor: apple"), "{e}");
    let e = bad(&GOOD.replace("id: my-box", "id: My:Box"));
    assert!(e.contains("`id`"), "{e}");
    let e = bad(&format!("{GOOD}measured_efficiency: 1.5\n"));
    assert!(e.contains("`measured_efficiency`"), "{e}");
    let e = bad(&format!(
        "{GOOD}sources:\n  - what: bandwidth\n    marker: S\n    key: x\n"
    ));
    assert!(e.contains("did you mean `bandwidth_gbs`"), "{e}");
    let e = bad(&format!(
        "{GOOD}sources:\n  - what: bandwidth_gbs\n    marker: S\n"
    ));
    assert!(e.contains("neither `key` nor `url`"), "{e}");
    let e = bad(&GOOD.replace("memory_kind: discrete", "memory_kind: unified"));
    assert!(e.contains("`host_memory_gib`"), "{e}");
}

// ---------------------------------------------------------------- user profiles and calibration

const CALIBRATED: &str = "\
id: my-m3-max
base: m3-max-40c
measured_efficiency: 0.62
default_memory_gib: 64
sources:
  - what: measured_efficiency
    marker: V
    key: headroom calibrate 2026-11-27
";

#[test]
fn calibrated_profiles_overlay_a_bundled_one_under_their_own_id() {
    let ps = profiles();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), CALIBRATED).unwrap();
    std::fs::write(dir.path().join("b.yml"), GOOD).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let user = load_user_dir(dir.path(), &ps).unwrap();
    assert_eq!(
        user.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["my-m3-max", "my-box"]
    );
    let mut all = ps.clone();
    all.extend(user);
    let m = resolve_in("my-m3-max", &all).unwrap().remove(0);
    assert_eq!((m.memory_bytes, m.bandwidth_bytes_per_s), (64 * GIB, 400e9));
    assert_eq!((m.measured_efficiency, m.calibrated), (Some(0.62), true));
    assert!(!one("m3-max-40c").calibrated);
    // A missing directory is no profiles.
    assert!(
        load_user_dir(&dir.path().join("nope"), &ps)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn user_profiles_never_take_a_bundled_id() {
    let ps = profiles();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let p = write("x.yaml", &GOOD.replace("id: my-box", "id: rtx-4090"));
    let e = load_file(&p, &ps).unwrap_err().to_string();
    assert!(e.contains("bundled") && e.contains("base: rtx-4090"), "{e}");
    let p = write(
        "y.yaml",
        &CALIBRATED.replace("id: my-m3-max", "id: m3-max-40c"),
    );
    let e = load_file(&p, &ps).unwrap_err().to_string();
    assert!(e.contains("id of its own"), "{e}");
    let p = write("z.yaml", &format!("{CALIBRATED}bandwidth_gbs: 900\n"));
    let e = load_file(&p, &ps).unwrap_err().to_string();
    assert!(
        e.contains("`bandwidth_gbs` cannot be set in a calibrated profile"),
        "{e}"
    );
    let p = write(
        "w.yaml",
        &CALIBRATED.replace("measured_efficiency: 0.62\n", ""),
    );
    let e = load_file(&p, &ps).unwrap_err().to_string();
    assert!(e.contains("missing field `measured_efficiency`"), "{e}");
    let p = write(
        "v.yaml",
        &CALIBRATED.replace("base: m3-max-40c", "base: m3-max-4oc"),
    );
    let e = load_file(&p, &ps).unwrap_err().to_string();
    assert!(e.contains("did you mean `m3-max-40c`"), "{e}");
    let p = write(
        "u.yaml",
        &CALIBRATED.replace("default_memory_gib: 64", "default_memory_gib: 96"),
    );
    let e = load_file(&p, &ps).unwrap_err().to_string();
    assert!(e.contains("48, 64, 128"), "{e}");
    // Two user files with one id.
    let d2 = tempfile::tempdir().unwrap();
    std::fs::write(d2.path().join("a.yaml"), GOOD).unwrap();
    std::fs::write(d2.path().join("b.yaml"), GOOD).unwrap();
    let e = load_user_dir(d2.path(), &ps).unwrap_err().to_string();
    assert!(e.contains("already used"), "{e}");
}

#[test]
fn user_profile_dir_follows_headroom_config_dir() {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: the only test in this binary that touches the environment, and the only code reading
    // these variables is `user_profile_dir`, which no other test here calls.
    unsafe { std::env::set_var("HEADROOM_CONFIG_DIR", dir.path()) };
    let hw = dir.path().join("hardware");
    assert_eq!(profile::user_profile_dir(), Some(hw.clone()));
    std::fs::create_dir(&hw).unwrap();
    std::fs::write(hw.join("mine.yaml"), CALIBRATED).unwrap();
    let m = profile::resolve("my-m3-max:48").unwrap().remove(0);
    assert_eq!((m.id.as_str(), m.memory_bytes), ("my-m3-max", 48 * GIB));
    unsafe { std::env::remove_var("HEADROOM_CONFIG_DIR") };
}

#[test]
fn profiles_serialize_for_json_listing() {
    let ps = profiles();
    let v = serde_json::to_value(get(&ps, "h100-sxm")).unwrap();
    assert_eq!(v["budget"]["rule"], "reserve");
    assert_eq!(v["budget"]["reserve_mib"], 1367);
    assert_eq!(v["vendor"], "nvidia");
    assert_eq!(
        serde_json::to_value(get(&ps, "m1-8c")).unwrap()["budget"]["rule"],
        "macos_default"
    );
    let m = to_machine_with(
        get(&ps, "m1-8c"),
        16,
        &MachineOptions {
            macos: MacosRule::Tahoe,
            ..Default::default()
        },
    );
    assert_eq!(serde_json::to_value(&m).unwrap()["memory_kind"], "unified");
}
