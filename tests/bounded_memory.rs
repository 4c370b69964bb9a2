//! Lying counts cost nothing: files that declare 2^40 tensors, 2^40 metadata pairs, 2^40 array
//! elements, a 2^60-byte string or a 2^60-byte safetensors header make `headroom inspect FILE` fail
//! with exit code 2 and one line on stderr naming the file, within 64 MB of peak RSS.
//!
//! The memory is measured for real: the binary runs as a child process and its peak resident set comes
//! from the kernel (`wait4`'s rusage `ru_maxrss`). A positive control (a valid file holding 96 MiB of
//! metadata strings) checks that the meter sees big allocations, so the bound cannot pass vacuously.
//! Time is asserted loosely (under 5 s, against a target of well under 1 s) because CI machines are slow
//! and shared; the measured times are printed.
#![cfg(unix)]

use headroom::model::gguf::{GgufWriter, Value, ValueType};

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT_BYTES: u64 = 64 << 20;
const TIME_LIMIT: Duration = Duration::from_secs(5);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    peak_rss_bytes: u64,
    wall: Duration,
}

/// Run `headroom ARGS` and measure the child's peak RSS with wait4.
// The child is reaped by `libc::wait4` (for its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run(args: &[&str]) -> Run {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(args)
        .env(
            "HEADROOM_CONFIG_DIR",
            std::env::temp_dir().join("headroom-no-such-config"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn headroom");
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; wait4 fills it for our own child, which std has not reaped.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let wall = start.elapsed();
    assert!(
        libc::WIFEXITED(status),
        "headroom did not exit normally: status {status}"
    );
    // Linux reports ru_maxrss in KiB, macOS and the BSDs in bytes.
    let unit = if cfg!(target_os = "linux") { 1024 } else { 1 };
    Run {
        code: libc::WEXITSTATUS(status),
        stdout,
        stderr,
        peak_rss_bytes: ru.ru_maxrss as u64 * unit,
        wall,
    }
}

/// `headroom inspect PATH` must fail cleanly, in bounded memory and time, and say `needle`.
fn assert_bounded_failure(path: &Path, needle: &str) {
    let shown = path.display().to_string();
    let r = run(&["inspect", &shown]);
    eprintln!(
        "{}: exit {}, peak RSS {:.1} MiB, {:?}: {}",
        path.file_name().unwrap().to_string_lossy(),
        r.code,
        r.peak_rss_bytes as f64 / (1 << 20) as f64,
        r.wall,
        r.stderr.trim_end()
    );
    assert_eq!(r.code, 2, "exit code; stderr: {}", r.stderr);
    assert!(r.stdout.is_empty(), "stdout: {}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "one line: {:?}", r.stderr);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(r.stderr.contains(&shown), "names the file: {}", r.stderr);
    assert!(r.stderr.contains(needle), "says {needle:?}: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert!(r.peak_rss_bytes > 0, "the meter reads nothing");
    assert!(
        r.peak_rss_bytes < LIMIT_BYTES,
        "peak RSS {} bytes is over 64 MB",
        r.peak_rss_bytes
    );
    assert!(r.wall < TIME_LIMIT, "took {:?}", r.wall);
}

/// GGUF magic, version 3, tensor count, metadata count.
fn gguf_start(n_tensors: u64, n_kv: u64) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&n_tensors.to_le_bytes());
    b.extend_from_slice(&n_kv.to_le_bytes());
    b
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as u64).to_le_bytes());
    b.extend_from_slice(s.as_bytes());
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn gguf_declaring_2_pow_40_tensors() {
    let dir = tempfile::tempdir().unwrap();
    // One real key, then the tensor infos stop after two records.
    let mut b = gguf_start(1 << 40, 1);
    put_str(&mut b, "general.architecture");
    b.extend_from_slice(&8u32.to_le_bytes());
    put_str(&mut b, "llama");
    for i in 0..2u64 {
        put_str(&mut b, &format!("t{i}"));
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&32u64.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes()); // F32
        b.extend_from_slice(&(i * 128).to_le_bytes());
    }
    let p = write(dir.path(), "tensors.gguf", &b);
    assert_bounded_failure(&p, "truncated");
}

#[test]
fn gguf_declaring_2_pow_40_kv_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = gguf_start(0, 1 << 40);
    for i in 0..3 {
        put_str(&mut b, &format!("k{i}"));
        b.extend_from_slice(&4u32.to_le_bytes());
        b.extend_from_slice(&7u32.to_le_bytes());
    }
    let p = write(dir.path(), "kv.gguf", &b);
    assert_bounded_failure(&p, "truncated");
}

#[test]
fn gguf_arrays_declaring_2_pow_40_elements() {
    let dir = tempfile::tempdir().unwrap();
    // Fixed-size elements (skipped by streaming), strings and nested arrays (walked one by one).
    for (name, elem, one) in [
        ("arr-u8.gguf", ValueType::U8, vec![1u8]),
        ("arr-u64.gguf", ValueType::U64, 5u64.to_le_bytes().to_vec()),
        ("arr-str.gguf", ValueType::String, {
            let mut s = Vec::new();
            put_str(&mut s, "tok");
            s
        }),
        ("arr-arr.gguf", ValueType::Array, {
            let mut s = 0u32.to_le_bytes().to_vec(); // inner: u8 x 1
            s.extend_from_slice(&1u64.to_le_bytes());
            s.push(9);
            s
        }),
    ] {
        let mut b = gguf_start(0, 1);
        put_str(&mut b, "tokenizer.ggml.tokens");
        b.extend_from_slice(&9u32.to_le_bytes());
        b.extend_from_slice(&elem.id().to_le_bytes());
        b.extend_from_slice(&(1u64 << 40).to_le_bytes());
        for _ in 0..100 {
            b.extend_from_slice(&one);
        }
        let p = write(dir.path(), name, &b);
        assert_bounded_failure(&p, "truncated");
    }
}

#[test]
fn gguf_string_of_2_pow_60_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // As a key...
    let mut b = gguf_start(0, 1);
    b.extend_from_slice(&(1u64 << 60).to_le_bytes());
    b.extend_from_slice(b"general.name");
    let p = write(dir.path(), "key.gguf", &b);
    assert_bounded_failure(&p, "string length 1152921504606846976");
    // ...as a value...
    let mut b = gguf_start(0, 1);
    put_str(&mut b, "general.name");
    b.extend_from_slice(&8u32.to_le_bytes());
    b.extend_from_slice(&(1u64 << 60).to_le_bytes());
    b.extend_from_slice(b"llama");
    let p = write(dir.path(), "value.gguf", &b);
    assert_bounded_failure(&p, "string length 1152921504606846976");
    // ...and as a tensor name.
    let mut b = gguf_start(1, 0);
    b.extend_from_slice(&(1u64 << 60).to_le_bytes());
    b.extend_from_slice(b"token_embd.weight");
    let p = write(dir.path(), "tensor-name.gguf", &b);
    assert_bounded_failure(&p, "string length 1152921504606846976");
}

#[test]
fn gguf_tensor_claiming_2_pow_60_bytes_of_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = GgufWriter::new();
    w.kv("general.architecture", Value::str("llama"))
        .raw_tensor("token_embd.weight", &[1 << 30, 1 << 28], 0, None, 0);
    let p = write(dir.path(), "huge-tensor.gguf", &w.header_bytes());
    assert_bounded_failure(&p, "passes the end of the file");
}

#[test]
fn safetensors_header_length_2_pow_60() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = (1u64 << 60).to_le_bytes().to_vec();
    b.extend_from_slice(br#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#);
    let p = write(dir.path(), "huge-header.safetensors", &b);
    assert_bounded_failure(&p, "declared header length 1152921504606846976");
}

#[test]
fn safetensors_shape_claiming_2_pow_60_elements() {
    let dir = tempfile::tempdir().unwrap();
    let header = r#"{"a":{"dtype":"F32","shape":[1073741824,1073741824],"data_offsets":[0,4]}}"#;
    let p = write(
        dir.path(),
        "huge-shape.safetensors",
        &headroom::model::safetensors::writer::raw_file(header, 4),
    );
    assert_bounded_failure(&p, "tensor \"a\"");
}

/// The meter is real: a valid file with 96 MiB of metadata strings (each at the 1 MiB cap) is read
/// into memory by design, and the child's peak RSS shows it. The file is streamed to disk so this test
/// process stays small: on Linux a forked child's `ru_maxrss` starts from its parent's resident set.
#[test]
fn meter_sees_a_large_allocation() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big-metadata.gguf");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    let mut head = gguf_start(0, 97);
    put_str(&mut head, "general.architecture");
    head.extend_from_slice(&8u32.to_le_bytes());
    put_str(&mut head, "llama");
    f.write_all(&head).unwrap();
    let chunk = [b'x'; 4096];
    for i in 0..96 {
        let mut kv = Vec::new();
        put_str(&mut kv, &format!("junk.{i}"));
        kv.extend_from_slice(&8u32.to_le_bytes());
        kv.extend_from_slice(&(1u64 << 20).to_le_bytes());
        f.write_all(&kv).unwrap();
        for _ in 0..(1 << 20) / chunk.len() {
            f.write_all(&chunk).unwrap();
        }
    }
    f.flush().unwrap();
    drop(f);
    let r = run(&["inspect", &p.display().to_string()]);
    eprintln!(
        "control: exit {}, peak RSS {:.1} MiB, {:?}",
        r.code,
        r.peak_rss_bytes as f64 / (1 << 20) as f64,
        r.wall
    );
    assert!(
        r.peak_rss_bytes > 96 << 20,
        "peak RSS {} bytes: the meter misses a 96 MiB allocation",
        r.peak_rss_bytes
    );
}
