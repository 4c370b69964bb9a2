//! `headroom plan` over several devices, run as a user runs it: the `--hardware` grammar for device sets
//! (`ID:xN`, `ID xN`, `A+B`, a comma list with `--split`), the JSON document (devices, interconnect, error
//! bands), the table, `--check`, and one-line usage errors (exit 2) for bad `--tensor-split`, `--link` and
//! device counts.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(args)
        .env("HEADROOM_CONFIG_DIR", dir.path().join("config"))
        .env_remove("HEADROOM_TEST_PANIC")
        .output()
        .unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let o = run(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn usage_error(args: &[&str], needle: &str) {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(o.stdout.is_empty());
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
}

#[test]
fn two_h100_json_accounts_for_every_byte() {
    let doc = json(&[
        "plan",
        "llama-3.1-8b",
        "--quant",
        "Q4_K_M",
        "--hardware",
        "h100-sxm:x2",
        "--format",
        "json",
    ]);
    let devices = doc["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(doc["split"], "layer");
    assert_eq!(doc["interconnect"]["id"], "nvlink4");
    assert!(doc["speed"]["decode_error_pct"].as_f64().unwrap() > 0.0);
    assert!(doc["memory"]["total_error_pct"].as_f64().unwrap() > 0.0);
    // the devices' weights plus the host's input layer are the whole model
    let inspect = json(&[
        "inspect",
        "llama-3.1-8b",
        "--quant",
        "Q4_K_M",
        "--format",
        "json",
    ]);
    let on_devices: u64 = devices
        .iter()
        .map(|d| d["memory"]["weights_bytes"].as_u64().unwrap())
        .sum();
    let host = doc["host"]["weights_bytes"].as_u64().unwrap();
    // rope_freqs.weight is duplicated on each device that holds layers (llama.cpp TENSOR_DUPLICATED)
    let rope = 64 * 4;
    assert_eq!(
        on_devices + host,
        inspect["weights_bytes"].as_u64().unwrap() + rope
    );
    // 32 layers + output over two equal budgets: 17 and 15 + output (as llama.cpp did on 2 H100s)
    assert_eq!(devices[0]["layers"], 17);
    assert_eq!(devices[1]["layers"], 15);
    assert_eq!(devices[1]["holds_output"], true);
}

#[test]
fn device_set_spellings_agree() {
    let a = json(&[
        "plan",
        "qwen3-8b",
        "--hardware",
        "rtx-4090:x2",
        "--format",
        "json",
    ]);
    let b = json(&[
        "plan",
        "qwen3-8b",
        "--hardware",
        "rtx-4090",
        "x2",
        "--format",
        "json",
    ]);
    let c = json(&[
        "plan",
        "qwen3-8b",
        "--hardware",
        "rtx-4090+rtx-4090",
        "--format",
        "json",
    ]);
    let d = json(&[
        "plan",
        "qwen3-8b",
        "--hardware",
        "rtx-4090,rtx-4090",
        "--split",
        "layer",
        "--format",
        "json",
    ]);
    for x in [&b, &c, &d] {
        assert_eq!(x["devices"], a["devices"]);
    }
    assert_eq!(a["interconnect"]["id"], "pcie4");
}

#[test]
fn two_macs_use_rpc_over_thunderbolt_and_tensor_split_moves_layers() {
    let doc = json(&[
        "plan",
        "llama-3.1-70b",
        "--quant",
        "Q8_0",
        "--hardware",
        "m2-ultra-76c:192+m4-max-40c:128",
        "--format",
        "json",
    ]);
    assert_eq!(doc["interconnect"]["id"], "tb4");
    assert_eq!(doc["interconnect"]["rpc"], true);
    let even = json(&[
        "plan",
        "llama-3.1-70b",
        "--quant",
        "Q8_0",
        "--hardware",
        "m2-ultra-76c:192+m4-max-40c:128",
        "--tensor-split",
        "1,1",
        "--link",
        "tb5",
        "--format",
        "json",
    ]);
    assert_eq!(even["interconnect"]["id"], "tb5");
    // default split follows the budgets (144 vs 96 GiB), -ts 1,1 halves the 81 slots
    assert!(doc["devices"][0]["layers"].as_u64() > even["devices"][0]["layers"].as_u64());
    assert_eq!(even["devices"][0]["layers"], 41);
}

#[test]
fn table_and_check() {
    let o = run(&[
        "plan",
        "llama-3.1-70b",
        "--quant",
        "Q4_K_M",
        "--hardware",
        "h100-sxm:x2",
        "--split",
        "tensor",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("fits: "), "{out}");
    assert!(out.contains("host CPU") && out.contains("interconnect") && out.contains("-sm tensor"));
    // 405B at Q8_0 cannot fit two 24 GB cards
    let o = run(&[
        "plan",
        "llama-3.1-405b",
        "--quant",
        "Q8_0",
        "--hardware",
        "rtx-4090:x2",
        "--check",
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bad_multi_device_input_is_one_line() {
    usage_error(
        &[
            "plan",
            "llama-3.1-8b",
            "--hardware",
            "h100-sxm:x2",
            "--tensor-split",
            "1,2,3",
        ],
        "--tensor-split",
    );
    usage_error(
        &[
            "plan",
            "llama-3.1-8b",
            "--hardware",
            "h100-sxm:x2",
            "--tensor-split",
            "3,abc",
        ],
        "not a proportion",
    );
    usage_error(
        &[
            "plan",
            "llama-3.1-8b",
            "--hardware",
            "h100-sxm:x2",
            "--link",
            "warp",
        ],
        "unknown interconnect",
    );
    usage_error(
        &[
            "plan",
            "llama-3.1-8b",
            "--hardware",
            "h100-sxm",
            "--split",
            "tensor",
        ],
        "several devices",
    );
    usage_error(
        &["plan", "llama-3.1-8b", "--hardware", "h100-sxm:x0"],
        "device count",
    );
}
