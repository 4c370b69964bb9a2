//! Remote models over HTTP: a hand-written HTTP/1.1 server on 127.0.0.1 serves files made by the
//! project's GGUF and safetensors writers (tensor data virtual: zeros generated, never stored). The
//! remote ModelDesc must equal the one read from the same bytes on disk, while the bytes served stay
//! a small fraction of the file.

use headroom::Error;
use headroom::model::gguf::{self, llama_like};
use headroom::model::remote::{RemoteConfig, load_with};
use headroom::model::safetensors::{self as st, writer::TinyLlama};
use headroom::model::{ModelDesc, TensorType};
use safetensors::Dtype;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// A file whose first bytes are stored and whose remaining bytes up to `total` are zeros.
#[derive(Clone)]
struct Virt {
    head: Vec<u8>,
    total: u64,
}

impl Virt {
    fn whole(b: Vec<u8>) -> Self {
        let total = b.len() as u64;
        Virt { head: b, total }
    }
    fn byte(&self, i: u64) -> u8 {
        self.head.get(i as usize).copied().unwrap_or(0)
    }
}

#[derive(Clone)]
enum Route {
    File(Virt),
    Redirect(String),
}

#[derive(Default)]
struct Log {
    /// (path, lowercase header name → value) per request.
    requests: Vec<(String, HashMap<String, String>)>,
}

struct Server {
    base: String,
    served: Arc<AtomicU64>,
    log: Arc<Mutex<Log>>,
}

impl Server {
    fn start(routes: HashMap<String, Route>, honour_range: bool) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let served = Arc::new(AtomicU64::new(0));
        let log = Arc::new(Mutex::new(Log::default()));
        let routes = Arc::new(routes);
        let (s2, l2) = (served.clone(), log.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let (r, s, l) = (routes.clone(), s2.clone(), l2.clone());
                std::thread::spawn(move || serve(conn, &r, honour_range, &s, &l));
            }
        });
        Server { base, served, log }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<(String, HashMap<String, String>)> {
        self.log.lock().expect("log").requests.clone()
    }
}

fn serve(
    conn: TcpStream,
    routes: &HashMap<String, Route>,
    honour_range: bool,
    served: &AtomicU64,
    log: &Mutex<Log>,
) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        log.lock()
            .expect("log")
            .requests
            .push((path.clone(), headers.clone()));
        let ok = match routes.get(&path) {
            None => respond(&mut out, "404 Not Found", &[], b"not here"),
            Some(Route::Redirect(to)) => {
                respond(&mut out, "302 Found", &[("Location", to.clone())], b"")
            }
            Some(Route::File(v)) => {
                let range = headers
                    .get("range")
                    .filter(|_| honour_range)
                    .and_then(|r| r.strip_prefix("bytes="))
                    .and_then(|r| r.split_once('-'))
                    .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok())));
                match range {
                    Some((a, _)) if a >= v.total => respond(
                        &mut out,
                        "416 Range Not Satisfiable",
                        &[("Content-Range", format!("bytes */{}", v.total))],
                        b"",
                    ),
                    Some((a, b)) => {
                        let end = b.unwrap_or(v.total - 1).min(v.total - 1);
                        send_body(
                            &mut out,
                            "206 Partial Content",
                            &[
                                ("Content-Range", format!("bytes {a}-{end}/{}", v.total)),
                                ("ETag", "\"v1\"".into()),
                            ],
                            v,
                            a,
                            end + 1,
                            served,
                        )
                    }
                    None => send_body(
                        &mut out,
                        "200 OK",
                        &[("ETag", "\"v1\"".into())],
                        v,
                        0,
                        v.total,
                        served,
                    ),
                }
            }
        };
        if !ok {
            return;
        }
    }
}

fn respond(out: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) -> bool {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes()).is_ok() && out.write_all(body).is_ok()
}

/// Send bytes [a, b) of `v`, 64 KiB at a time, counting what is handed to the socket.
fn send_body(
    out: &mut TcpStream,
    status: &str,
    headers: &[(&str, String)],
    v: &Virt,
    a: u64,
    b: u64,
    served: &AtomicU64,
) -> bool {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", b - a);
    for (k, val) in headers {
        head.push_str(&format!("{k}: {val}\r\n"));
    }
    head.push_str("\r\n");
    if out.write_all(head.as_bytes()).is_err() {
        return false;
    }
    let mut pos = a;
    let mut buf = vec![0u8; 64 << 10];
    while pos < b {
        let n = (b - pos).min(buf.len() as u64) as usize;
        for (i, x) in buf[..n].iter_mut().enumerate() {
            *x = v.byte(pos + i as u64);
        }
        // Counted before the write, so a client that has the bytes always sees them counted.
        served.fetch_add(n as u64, Ordering::SeqCst);
        if out.write_all(&buf[..n]).is_err() {
            return false;
        }
        pos += n as u64;
    }
    true
}

fn cfg(endpoint: &str, cache: Option<&Path>) -> RemoteConfig {
    RemoteConfig {
        endpoint: endpoint.to_string(),
        token: None,
        cache_dir: cache.map(Path::to_path_buf),
        timeout: Duration::from_secs(30),
    }
}

/// Same model apart from where it came from.
fn same_model(remote: &ModelDesc, local: &ModelDesc) {
    assert!(remote.files.is_empty(), "a remote model has no local files");
    let mut l = local.clone();
    l.source = remote.source.clone();
    l.files.clear();
    let mut r = remote.clone();
    r.warnings.retain(|w| !w.contains("ignores HTTP Range"));
    assert_eq!(r, l);
}

/// A llama-style GGUF with a 128k-token vocabulary (multi-MB header) and over 1 GiB of tensor data.
fn big_gguf() -> gguf::GgufWriter {
    let m = llama_like(2, 4096, 32, 8, 14336, 128_256, TensorType::F16);
    m.writer()
}

fn gguf_virt(w: &gguf::GgufWriter) -> Virt {
    Virt {
        head: w.header_bytes(),
        total: w.file_size(),
    }
}

#[test]
fn gguf_by_ranges_equals_local_and_reads_only_the_header() {
    let w = big_gguf();
    let v = gguf_virt(&w);
    assert!(v.total > GIB, "fixture has over 1 GiB of data: {}", v.total);
    assert!(v.head.len() as u64 > 2 * MIB, "header spans several ranges");
    let dir = tempfile::tempdir().expect("tmp");
    let local_path = dir.path().join("model.gguf");
    w.write_to(&local_path).expect("sparse write");
    let local = gguf::read(&local_path).expect("local read");

    let srv = Server::start(
        HashMap::from([("/files/model.gguf".to_string(), Route::File(v.clone()))]),
        true,
    );
    let url = srv.url("/files/model.gguf");
    let remote = load_with(&url, &cfg(&srv.base, None)).expect("remote read");
    assert_eq!(remote.source, url);
    same_model(&remote, &local);
    // Header bytes plus at most the tail of the last doubling range.
    let served = srv.served();
    let header = v.head.len() as u64;
    assert!(
        served >= header && served < 2 * header + 2 * MIB,
        "served {served} for a {header}-byte header"
    );
    assert!(served * 100 < v.total, "served {served} of {}", v.total);
    eprintln!(
        "gguf: header {header} B, served {served} B of {} B in {} requests",
        v.total,
        srv.requests().len()
    );
    for (_, h) in srv.requests() {
        assert!(h.contains_key("range"), "every request is a range request");
    }
}

#[test]
fn server_ignoring_range_is_read_only_as_far_as_the_header() {
    let w = big_gguf();
    let v = gguf_virt(&w);
    let srv = Server::start(
        HashMap::from([("/m.gguf".to_string(), Route::File(v.clone()))]),
        false,
    );
    let remote = load_with(&srv.url("/m.gguf"), &cfg(&srv.base, None)).expect("read");
    assert!(
        remote
            .warnings
            .iter()
            .any(|w| w.contains("ignores HTTP Range")),
        "{:?}",
        remote.warnings
    );
    let local = {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("m.gguf");
        w.write_to(&p).expect("write");
        gguf::read(&p).expect("local")
    };
    same_model(&remote, &local);
    // Give the server thread time to notice the dropped connection, then check it stopped early.
    std::thread::sleep(Duration::from_millis(300));
    let served = srv.served();
    assert!(
        served < 64 * MIB,
        "served {served} of a {} byte file",
        v.total
    );
}

/// A sharded safetensors model folder, served as a Hugging Face repository.
#[test]
fn hf_safetensors_repo_equals_local_folder() {
    let tl = TinyLlama {
        n_layer: 2,
        n_embd: 256,
        n_head: 4,
        n_head_kv: 2,
        n_ff: 512,
        vocab: 1024,
    };
    let tensors = tl.tensors(Dtype::BF16);
    let half = tensors.len() / 2;
    let root = tempfile::tempdir().expect("tmp");
    let dir = root.path().join("tiny-llama");
    st::writer::write_folder(
        &dir,
        &tl.config(),
        &[tensors[..half].to_vec(), tensors[half..].to_vec()],
    )
    .expect("write folder");
    let local = st::read(&dir).expect("local read");

    let mut routes = HashMap::new();
    let mut siblings = Vec::new();
    let mut total = 0u64;
    for e in std::fs::read_dir(&dir).expect("ls") {
        let p = e.expect("entry").path();
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        let bytes = std::fs::read(&p).expect("read");
        total += bytes.len() as u64;
        routes.insert(
            format!("/org/tiny-llama/resolve/main/{name}"),
            Route::File(Virt::whole(bytes)),
        );
        siblings.push(serde_json::json!({ "rfilename": name }));
    }
    siblings.push(serde_json::json!({ "rfilename": "README.md" }));
    let listing = serde_json::json!({ "id": "org/tiny-llama", "siblings": siblings });
    routes.insert(
        "/api/models/org/tiny-llama".into(),
        Route::File(Virt::whole(listing.to_string().into_bytes())),
    );
    let srv = Server::start(routes, true);
    let remote = load_with("hf:org/tiny-llama", &cfg(&srv.base, None)).expect("remote");
    assert_eq!(remote.name, "tiny-llama");
    same_model(&remote, &local);
    // Exactly: the listing, config.json and the index whole; per shard the first 100,000 bytes (or the
    // whole shard if smaller), plus the rest of its header if that did not fit.
    let mut expect = listing.to_string().len() as u64;
    for name in ["config.json", "model.safetensors.index.json"] {
        expect += std::fs::metadata(dir.join(name)).expect("meta").len();
    }
    for p in &[
        dir.join("model-00001-of-00002.safetensors"),
        dir.join("model-00002-of-00002.safetensors"),
    ] {
        let size = std::fs::metadata(p).expect("meta").len();
        let h = st::read_header(p).expect("header");
        expect += size.min(100_000).max(8 + h.header_len);
    }
    assert_eq!(srv.served(), expect);
    assert!(
        srv.served() * 10 < total,
        "served {} of {total}",
        srv.served()
    );
}

#[test]
fn hf_token_goes_to_the_hub_not_past_its_redirect_nor_elsewhere() {
    let w = llama_like(1, 64, 4, 4, 128, 256, TensorType::F16).writer();
    let v = Virt::whole(w.to_bytes());
    let srv = Server::start(
        HashMap::from([
            (
                "/org/repo/resolve/main/m.gguf".to_string(),
                Route::Redirect("/cdn/abc".to_string()),
            ),
            ("/cdn/abc".to_string(), Route::File(v.clone())),
        ]),
        true,
    );
    let mut c = cfg(&srv.base, None);
    c.token = Some("hf_secret".into());
    load_with("hf:org/repo:m.gguf", &c).expect("read");
    let reqs = srv.requests();
    let resolve = reqs
        .iter()
        .find(|(p, _)| p.starts_with("/org/"))
        .expect("resolve request");
    assert_eq!(
        resolve.1.get("authorization").map(String::as_str),
        Some("Bearer hf_secret")
    );
    let cdn = reqs
        .iter()
        .find(|(p, _)| p == "/cdn/abc")
        .expect("redirected request");
    assert!(
        !cdn.1.contains_key("authorization"),
        "token must not follow the redirect"
    );

    // Another origin never gets the token.
    let other = Server::start(
        HashMap::from([("/m.gguf".to_string(), Route::File(v))]),
        true,
    );
    load_with(&other.url("/m.gguf"), &c).expect("read");
    assert!(
        other
            .requests()
            .iter()
            .all(|(_, h)| !h.contains_key("authorization"))
    );
}

#[test]
fn cache_hit_makes_no_request_and_works_offline() {
    let w = big_gguf();
    let cache = tempfile::tempdir().expect("tmp");
    let srv = Server::start(
        HashMap::from([("/m.gguf".to_string(), Route::File(gguf_virt(&w)))]),
        true,
    );
    let url = srv.url("/m.gguf");
    let c = cfg(&srv.base, Some(cache.path()));
    let first = load_with(&url, &c).expect("first");
    let n = srv.requests().len();
    assert!(n >= 2, "the multi-MB header took several ranges ({n})");
    let second = load_with(&url, &c).expect("second");
    assert_eq!(srv.requests().len(), n, "second plan made no request");
    assert_eq!(first, second);
    // The cache holds about the header, not the data.
    let cached: u64 = std::fs::read_dir(cache.path())
        .expect("ls")
        .map(|e| e.expect("e").metadata().expect("m").len())
        .sum();
    assert!(
        cached < w.header_bytes().len() as u64 + 4096,
        "cache {cached} bytes"
    );
}

fn bad_input(r: headroom::Result<ModelDesc>, url: &str) -> String {
    match r {
        Err(e @ Error::BadInput { .. }) => {
            assert_eq!(e.exit_code(), 2);
            let s = e.to_string();
            assert!(s.starts_with(url), "names the URL: {s}");
            assert!(!s.contains('\n'), "one line: {s}");
            s
        }
        other => panic!("expected BadInput, got {other:?}"),
    }
}

#[test]
fn bad_responses_are_one_line_errors_naming_the_url() {
    let w = llama_like(1, 64, 4, 4, 128, 256, TensorType::F16).writer();
    let head = w.header_bytes();
    let cut = Virt::whole(head[..head.len() / 2].to_vec());
    let st_bad = {
        let mut b = 1_000_000u64.to_le_bytes().to_vec();
        b.extend_from_slice(b"{\"a\":");
        Virt::whole(b)
    };
    let srv = Server::start(
        HashMap::from([
            ("/cut.gguf".to_string(), Route::File(cut)),
            ("/short.safetensors".to_string(), Route::File(st_bad)),
        ]),
        true,
    );
    let c = cfg(&srv.base, None);
    let u = srv.url("/missing.gguf");
    let m = bad_input(load_with(&u, &c), &u);
    assert!(m.contains("404"), "{m}");
    let u = srv.url("/cut.gguf");
    bad_input(load_with(&u, &c), &u);
    let u = srv.url("/short.safetensors");
    let m = bad_input(load_with(&u, &c), &u);
    assert!(m.contains("1000000"), "{m}");
    // A repo that is not there.
    let r = load_with("hf:org/none", &c);
    let u = srv.url("/api/models/org/none");
    bad_input(r, &u);
}

#[test]
fn several_ggufs_in_a_repo_are_listed() {
    let listing = serde_json::json!({ "siblings": [
        { "rfilename": "m-Q4_K_M.gguf" },
        { "rfilename": "m-Q8_0.gguf" },
        { "rfilename": "big/m-Q8_0-00001-of-00002.gguf" },
        { "rfilename": "big/m-Q8_0-00002-of-00002.gguf" },
        { "rfilename": "mmproj-f16.gguf" },
    ]});
    let srv = Server::start(
        HashMap::from([(
            "/api/models/o/r".to_string(),
            Route::File(Virt::whole(listing.to_string().into_bytes())),
        )]),
        true,
    );
    let e = load_with("hf:o/r", &cfg(&srv.base, None)).expect_err("ambiguous");
    assert_eq!(e.exit_code(), 2);
    let s = e.to_string();
    assert!(s.contains("3 GGUF models"), "{s}");
    for f in [
        "m-Q4_K_M.gguf",
        "m-Q8_0.gguf",
        "big/m-Q8_0-00001-of-00002.gguf",
        "hf:o/r:FILE",
    ] {
        assert!(s.contains(f), "{s}");
    }
    assert!(!s.contains("00002-of-00002"), "{s}");
}

#[test]
fn split_gguf_reads_every_part() {
    let m = llama_like(2, 64, 4, 4, 128, 256, TensorType::F16);
    let full = m.writer();
    let dir = tempfile::tempdir().expect("tmp");
    // Two parts: metadata + first tensors, then the rest (llama.cpp gguf-split layout).
    let h = gguf::read_header(&full.to_bytes()[..], "full").expect("header");
    let names: Vec<_> = h
        .tensors
        .iter()
        .map(|t| (t.name.clone(), t.shape.clone(), t.ty))
        .collect();
    let (a, b) = names.split_at(names.len() / 2);
    let mut p1 = gguf::GgufWriter::new();
    for (k, val) in &h.metadata {
        p1.kv(k, val.clone());
    }
    p1.kv("split.no", gguf::Value::U16(0))
        .kv("split.count", gguf::Value::U16(2));
    for (n, s, t) in a {
        p1.tensor_zeroed(n, s, *t);
    }
    let mut p2 = gguf::GgufWriter::new();
    p2.kv("split.no", gguf::Value::U16(1))
        .kv("split.count", gguf::Value::U16(2));
    for (n, s, t) in b {
        p2.tensor_zeroed(n, s, *t);
    }
    let n1 = "m-00001-of-00002.gguf";
    let n2 = "m-00002-of-00002.gguf";
    p1.write_to(dir.path().join(n1)).expect("w1");
    p2.write_to(dir.path().join(n2)).expect("w2");
    let local = gguf::read(&dir.path().join(n1)).expect("local");
    let srv = Server::start(
        HashMap::from([
            (
                format!("/o/r/resolve/main/q8/{n1}"),
                Route::File(gguf_virt(&p1)),
            ),
            (
                format!("/o/r/resolve/main/q8/{n2}"),
                Route::File(gguf_virt(&p2)),
            ),
        ]),
        true,
    );
    let remote = load_with(&format!("hf:o/r:q8/{n1}"), &cfg(&srv.base, None)).expect("remote");
    same_model(&remote, &local);
    assert_eq!(remote.tensors.len(), names.len());
}

#[test]
fn measure_refuses_a_remote_model() {
    let w = llama_like(1, 64, 4, 4, 128, 256, TensorType::F16).writer();
    let srv = Server::start(
        HashMap::from([(
            "/m.gguf".to_string(),
            Route::File(Virt::whole(w.to_bytes())),
        )]),
        true,
    );
    let m = load_with(&srv.url("/m.gguf"), &cfg(&srv.base, None)).expect("read");
    let e = headroom::model::remote::require_local(&m, "--measure").expect_err("remote");
    assert!(e.to_string().contains("download the file first"), "{e}");
}

/// The binary: a 404 URL exits 2 with one line on stderr naming the URL.
#[test]
fn cli_exit_code_for_a_missing_url() {
    let srv = Server::start(HashMap::new(), true);
    let url = srv.url("/nope.gguf");
    let cache = tempfile::tempdir().expect("tmp");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["plan", &url, "--hardware", "rtx-4090"])
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .expect("run headroom");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&url) && err.contains("404"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// A single safetensors file whose header is larger than the first range: two requests, the second
/// for exactly the rest of the header.
#[test]
fn large_safetensors_header_takes_exactly_two_ranges() {
    let tensors: Vec<st::writer::WTensor> = (0..3000)
        .map(|i| {
            st::writer::WTensor::zeros(
                &format!("model.layers.{i}.some_long_module_name.weight"),
                Dtype::F16,
                &[64, 64],
            )
        })
        .collect();
    let bytes = st::writer::file_bytes(&tensors, None);
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    assert!(8 + n > 100_000, "header {n} bytes exceeds the first range");
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("weights.safetensors");
    std::fs::write(&p, &bytes).expect("write");
    let local = st::read(&p).expect("local");
    let srv = Server::start(
        HashMap::from([(
            "/x/weights.safetensors".to_string(),
            Route::File(Virt::whole(bytes.clone())),
        )]),
        true,
    );
    let remote =
        load_with(&srv.url("/x/weights.safetensors"), &cfg(&srv.base, None)).expect("remote");
    let mut r = remote.clone();
    r.warnings.clear();
    let mut l = local.clone();
    l.warnings.clear();
    same_model(&r, &l);
    assert_eq!(remote.warnings.len(), 1, "{:?}", remote.warnings);
    assert!(remote.warnings[0].contains("no config.json"));
    assert_eq!(srv.served(), 8 + n, "exactly the header");
    let ranges: Vec<String> = srv
        .requests()
        .into_iter()
        .filter(|(p, _)| p.ends_with(".safetensors"))
        .filter_map(|(_, h)| h.get("range").cloned())
        .collect();
    assert_eq!(
        ranges,
        vec![
            "bytes=0-99999".to_string(),
            format!("bytes=100000-{}", 8 + n - 1)
        ]
    );
}
