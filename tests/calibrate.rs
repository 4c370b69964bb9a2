//! `headroom calibrate` end to end: it measures (CPU backend, a tiny spec so a debug build is quick),
//! writes a calibration profile into the user profile directory atomically, `list hardware` marks it,
//! and a plan on it uses the measured efficiency (its decode figure changes accordingly).

use std::process::Command;

fn headroom(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(args)
        .env("HEADROOM_CONFIG_DIR", dir)
        .output()
        .unwrap()
}

const TINY: &str = "id: tiny\nname: Tiny\narchitecture: llama\nsource: test\ndtype: F16\nn_layer: 2\n\
n_embd: 256\nn_head: 4\nn_head_kv: 2\nn_ff: 512\ncontext_length: 2048\nvocab_size: 1024\n\
tie_word_embeddings: false\n";

#[test]
fn calibrate_writes_a_profile_that_plans_use() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("tiny.yaml");
    std::fs::write(&spec, TINY).unwrap();
    let out = headroom(
        dir.path(),
        &[
            "calibrate",
            "--hardware",
            "m1-8c:8",
            "--backend",
            "cpu",
            "--tokens",
            "2",
            "--model",
            spec.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "calibrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("measured efficiency"), "{stdout}");
    let written = dir.path().join("hardware").join("m1-8c-calibrated.yaml");
    let text = std::fs::read_to_string(&written).unwrap();
    assert!(
        text.contains("base: m1-8c") && text.contains("measured_efficiency:"),
        "{text}"
    );
    // no temporary file left behind
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("hardware"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());

    let list = headroom(dir.path(), &["list", "hardware"]);
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.lines()
            .any(|l| l.contains("m1-8c-calibrated") && l.contains("calibrated")),
        "{list}"
    );

    let eff: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("measured_efficiency: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let plan = |hw: &str| {
        let o = headroom(
            dir.path(),
            &[
                "plan",
                "llama-3.2-1b",
                "--quant",
                "Q4_0",
                "--hardware",
                hw,
                "--format",
                "json",
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let cal = plan("m1-8c-calibrated");
    let stock = plan("m1-8c");
    assert_eq!(cal["hardware"]["calibrated"], true);
    let eff_used = cal["speed"]["effective_bandwidth_bytes_per_s"]
        .as_f64()
        .unwrap()
        / cal["hardware"]["bandwidth_bytes_per_s"].as_f64().unwrap();
    assert!(
        (eff_used - eff).abs() < 1e-3,
        "plan used {eff_used}, profile says {eff}"
    );
    assert_ne!(
        cal["speed"]["decode_tokens_per_s"],
        stock["speed"]["decode_tokens_per_s"]
    );
}

#[test]
fn calibrate_refuses_a_bundled_id() {
    let dir = tempfile::tempdir().unwrap();
    let out = headroom(
        dir.path(),
        &[
            "calibrate",
            "--hardware",
            "m1-8c:8",
            "--id",
            "m2-8c",
            "--backend",
            "cpu",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bundled"));
}
