//! The binary's failure contract, run as a user would run it: bad model files (GGUF, safetensors,
//! spec YAML), bad hardware profiles (`--hardware ./bad.yaml`), unknown ids and impossible workloads
//! exit with code 2 and exactly one line on stderr, starting `error: ` and naming the file and field
//! (or flag), with nothing on stdout and no panic text. `plan --check` exits 1 when the model does
//! not fit and 0 when it does. A panic (debug-build test hook) is one line and exit 3, with or
//! without `-v`.

use headroom::model::TensorType;
use headroom::model::gguf::llama_like;
use std::path::Path;
use std::process::{Command, Output};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_headroom"));
        // No user profiles leak in from the machine running the tests.
        c.args(args)
            .env("HEADROOM_CONFIG_DIR", self.dir.path().join("config"))
            .env_remove("HEADROOM_TEST_PANIC");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run headroom")
    }
}

/// Exit code 2, one `error: ` line naming every `needles`, empty stdout, no panic text. Returns the line.
#[track_caller]
fn assert_error(out: &Output, needles: &[&str]) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {stderr}");
    assert!(stdout.is_empty(), "stdout not empty: {stdout}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr:?}");
    assert!(stderr.ends_with('\n'));
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}: {stderr}");
    }
    stderr.trim_end().to_string()
}

// ---------------------------------------------------------------- model files

#[test]
fn bad_gguf_files() {
    let e = Env::new();
    let v7 = e.write(
        "v7.gguf",
        [b"GGUF".as_slice(), &7u32.to_le_bytes(), &[0; 16]].concat(),
    );
    assert_error(&e.run(&["inspect", &v7]), &[&v7, "byte 4", "version 7"]);
    assert_error(
        &e.run(&["plan", &v7, "--hardware", "m3-max-40c:64"]),
        &[&v7, "byte 4"],
    );
    let magic = e.write("magic.gguf", b"GGML\x03\x00\x00\x00");
    assert_error(&e.run(&["inspect", &magic]), &[&magic, "byte 0", "magic"]);
    // A valid header cut inside the tensor infos.
    let full = llama_like(2, 64, 4, 2, 96, 16, TensorType::Q8_0)
        .writer()
        .header_bytes();
    let cut = e.write("cut.gguf", &full[..full.len() - 40]);
    assert_error(&e.run(&["inspect", &cut]), &[&cut, "truncated"]);
    // Header fine, data missing.
    let nodata = e.write("nodata.gguf", &full);
    assert_error(
        &e.run(&["inspect", &nodata]),
        &[&nodata, "passes the end of the file"],
    );
    let missing = e.path("missing.gguf");
    assert_error(&e.run(&["inspect", &missing]), &[&missing, "no such file"]);
}

#[test]
fn bad_safetensors_files() {
    let e = Env::new();
    let raw = headroom::model::safetensors::writer::raw_file;
    let broken = e.write("broken.safetensors", raw("{not json", 0));
    assert_error(&e.run(&["inspect", &broken]), &[&broken, "JSON"]);
    let gap = e.write(
        "gap.safetensors",
        raw(
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}"#,
            16,
        ),
    );
    assert_error(&e.run(&["inspect", &gap]), &[&gap, "tensor \"b\"", "gap"]);
    // A tensor name holding a newline and an escape sequence is quoted, still on one line.
    let hostile = e.write(
        "hostile.safetensors",
        raw(
            r#"{"x\ny\u001b[2J":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}}"#,
            1,
        ),
    );
    let line = assert_error(&e.run(&["inspect", &hostile]), &[&hostile, "dtype"]);
    assert!(
        !line.contains('\u{1b}'),
        "raw escape sequence reached the terminal: {line:?}"
    );
    let huge = e.write(
        "huge.safetensors",
        [&(1u64 << 60).to_le_bytes()[..], b"{}"].concat(),
    );
    assert_error(&e.run(&["inspect", &huge]), &[&huge, "header length"]);
}

fn spec_text() -> String {
    headroom::bundled::MODEL_SPECS
        .iter()
        .find(|(id, _)| *id == "llama-3.2-1b")
        .expect("bundled llama-3.2-1b")
        .1
        .replace("id: llama-3.2-1b", "id: my-model")
}

#[test]
fn bad_spec_yaml() {
    let e = Env::new();
    // Unknown field: named, with the nearest valid one.
    let typo = e.write(
        "typo.yaml",
        spec_text().replace("n_head_kv:", "n_heads_kv:"),
    );
    assert_error(
        &e.run(&["inspect", &typo]),
        &[&typo, "n_heads_kv", "n_head_kv"],
    );
    // Impossible values: file and field.
    let zero = e.write(
        "zero.yaml",
        spec_text().replace("n_layer: 16", "n_layer: 0"),
    );
    assert_error(&e.run(&["inspect", &zero]), &[&zero, "n_layer"]);
    let kv = e.write(
        "kv.yaml",
        spec_text().replace("n_head_kv: 8", "n_head_kv: 7"),
    );
    assert_error(
        &e.run(&["plan", &kv, "--hardware", "m3-max-40c:64"]),
        &[&kv, "n_head_kv"],
    );
    let arch = e.write(
        "arch.yaml",
        spec_text().replace("architecture: llama", "architecture: lama"),
    );
    assert_error(
        &e.run(&["inspect", &arch]),
        &[&arch, "architecture", "llama"],
    );
    let garbage = e.write("garbage.yaml", "n_layer: [1, 2\n");
    assert_error(&e.run(&["inspect", &garbage]), &[&garbage]);
    let not_utf8 = e.write("bin.yaml", [0xffu8, 0xfe, 0x00, 0x41]);
    assert_error(&e.run(&["inspect", &not_utf8]), &[&not_utf8]);
}

fn profile_text() -> String {
    headroom::bundled::HARDWARE_PROFILES
        .iter()
        .find(|(id, _)| *id == "m1-8c")
        .expect("bundled m1-8c")
        .1
        .replace("id: m1-8c", "id: my-mac")
}

#[test]
fn bad_profile_yaml() {
    let e = Env::new();
    let plan = |p: &str| e.run(&["plan", "llama-3.2-1b", "--hardware", p]);
    // The profile itself is fine: the bad ones below differ from it in one field.
    let good = e.write("good.yaml", profile_text());
    let ok = plan(&good);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let typo = e.write(
        "typo.yaml",
        profile_text().replace("bandwidth_gbs: 68", "bandwith_gbs: 68"),
    );
    assert_error(&plan(&typo), &[&typo, "bandwith_gbs", "bandwidth_gbs"]);
    let neg = e.write(
        "neg.yaml",
        profile_text().replace("bandwidth_gbs: 68", "bandwidth_gbs: -68"),
    );
    assert_error(&plan(&neg), &[&neg, "bandwidth_gbs"]);
    let zero = e.write(
        "zero.yaml",
        profile_text().replace("memory_gib: [8, 16]", "memory_gib: []"),
    );
    assert_error(&plan(&zero), &[&zero, "memory_gib"]);
    let vendor = e.write(
        "vendor.yaml",
        profile_text().replace("vendor: apple", "vendor: appel"),
    );
    assert_error(&plan(&vendor), &[&vendor, "vendor"]);
    let missing = e.path("missing.yaml");
    assert_error(&plan(&missing), &[&missing]);
    // An endless file is refused after a bounded read, not read whole.
    if Path::new("/dev/zero").exists() {
        assert_error(&plan("/dev/zero"), &["/dev/zero", "limit"]);
    }
}

// ---------------------------------------------------------------- ids and workloads

#[test]
fn unknown_ids() {
    let e = Env::new();
    assert_error(
        &e.run(&["plan", "llama-3.1-8bb", "--hardware", "m3-max-40c:64"]),
        &["llama-3.1-8bb", "llama-3.1-8b"],
    );
    assert_error(
        &e.run(&["plan", "llama-3.1-8b", "--hardware", "m3-max-40cc"]),
        &["m3-max-40cc", "m3-max-40c"],
    );
    assert_error(
        &e.run(&["plan", "llama-3.1-8b", "--hardware", "m3-max-40c:65"]),
        &["65"],
    );
}

#[test]
fn impossible_workloads() {
    let e = Env::new();
    let plan = |extra: &[&str]| {
        let mut args = vec!["plan", "llama-3.2-1b", "--hardware", "m3-max-40c:64"];
        args.extend_from_slice(extra);
        e.run(&args)
    };
    assert_error(&plan(&["--ctx", "0"]), &["context 0"]);
    assert_error(&plan(&["-c", "0"]), &["context 0"]);
    assert_error(&plan(&["-ub", "0"]), &["-ub"]);
    assert_error(&plan(&["-b", "0"]), &["-b"]);
    assert_error(&plan(&["-ub", "4096", "-b", "512"]), &["4096", "512"]);
    assert_error(&plan(&["-np", "0"]), &["-np"]);
    assert_error(&plan(&["-ctk", "q9_9"]), &["q9_9", "--cache-type-k"]);
    assert_error(&plan(&["-ctv", "q9_9"]), &["q9_9", "--cache-type-v"]);
    assert_error(&plan(&["--quant", "Q9_K_X"]), &["Q9_K_X"]);
    assert_error(
        &plan(&["--runtime", "mlx", "-kvu"]),
        &["--kv-unified", "llama.cpp"],
    );
}

#[test]
fn check_exit_codes() {
    let e = Env::new();
    let no = e.run(&["plan", "llama-3.1-405b", "--hardware", "m1-8c", "--check"]);
    assert_eq!(
        no.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&no.stderr)
    );
    assert!(!no.stdout.is_empty(), "the plan is still printed");
    let yes = e.run(&[
        "plan",
        "llama-3.2-1b",
        "--quant",
        "Q4_K_M",
        "--hardware",
        "m3-max-40c:64",
        "--check",
    ]);
    assert_eq!(
        yes.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&yes.stderr)
    );
    // Without --check, not fitting is still success.
    let plain = e.run(&["plan", "llama-3.1-405b", "--hardware", "m1-8c"]);
    assert_eq!(plain.status.code(), Some(0));
}

// ---------------------------------------------------------------- panics and -v

#[test]
fn verbose_errors_still_start_with_one_error_line() {
    let e = Env::new();
    let v7 = e.write(
        "v7.gguf",
        [b"GGUF".as_slice(), &7u32.to_le_bytes(), &[0; 16]].concat(),
    );
    let out = e.run(&["inspect", &v7, "-v"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.contains(&v7),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[cfg(debug_assertions)]
#[test]
fn a_panic_is_one_line_and_exit_3() {
    let e = Env::new();
    for verbose in [false, true] {
        let mut c = e.cmd(&["list", "hardware"]);
        if verbose {
            c.arg("-v");
        }
        let out = c.env("HEADROOM_TEST_PANIC", "1").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
        assert!(
            stderr.starts_with("error: internal error: test panic"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"));
        assert_eq!(
            stderr.contains("main.rs"),
            verbose,
            "-v adds the location: {stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn bad_arguments_are_one_line_and_verbose_shows_more() {
    let e = Env::new();
    let line = assert_error(
        &e.run(&[
            "plan",
            "llama-3.2-1b",
            "--hardware",
            "m1-8c",
            "--ctx",
            "abc",
        ]),
        &["--ctx", "abc"],
    );
    assert!(line.contains("--help"), "{line}");
    assert_error(
        &e.run(&["plan", "llama-3.2-1b", "--hardware", "m1-8c", "--bogus"]),
        &["--bogus"],
    );
    assert_error(&e.run(&["plan", "llama-3.2-1b"]), &["--hardware"]);
    let v = e.run(&[
        "plan",
        "llama-3.2-1b",
        "--hardware",
        "m1-8c",
        "--bogus",
        "-v",
    ]);
    assert_eq!(v.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&v.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.lines().count() > 1,
        "{stderr}"
    );
    // --help is not an error.
    let help = e.run(&["plan", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(help.stderr.is_empty() && !help.stdout.is_empty());
}
