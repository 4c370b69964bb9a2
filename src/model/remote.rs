//! model::remote: models on a web server or the Hugging Face Hub, read by their headers only.
//!
//! MODEL may be `hf:ORG/REPO[:FILE]`, a Hugging Face `resolve` URL, or any `http(s)://` URL of a
//! `.gguf`, `.safetensors` or `model.safetensors.index.json`. Only header bytes travel, through HTTP
//! `Range` requests: a GGUF header is streamed into [`gguf::read_header`] from ranges fetched on
//! demand (1 MiB, doubling up to 16 MiB), a safetensors shard costs its 8-byte length and its JSON
//! header. A server that ignores `Range` (200 with the whole body) is read only as far as the parser
//! needs, capped, and then the connection is dropped.
//!
//! `HF_ENDPOINT` replaces `https://huggingface.co` (as in huggingface_hub); `HF_TOKEN` is sent as a
//! Bearer token to that endpoint only (never to other hosts; ureq drops it on redirects to the CDN).
//! Fetched bytes are cached under `$XDG_CACHE_HOME/headroom/headers` (or `~/.cache/headroom/headers`),
//! one file per URL holding the URL, its ETag, its size and the header bytes, so a second plan of the
//! same URL makes no request and works offline.
//!
//! A remote [`ModelDesc`] has `files` empty and `source` = the URL; [`require_local`] says so to
//! anything that needs the tensor data.

use crate::error::{Error, Result};
use crate::model::gguf::{self, GgufHeader};
use crate::model::safetensors::{self as st, INDEX_FILE, MAX_HEADER_LEN};
use crate::model::{ModelDesc, ModelFormat};
use serde_json::Value;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Hugging Face endpoint when `HF_ENDPOINT` is unset.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
/// First range request size; each further request doubles, up to [`MAX_CHUNK`].
pub const FIRST_CHUNK: u64 = 1 << 20;
pub const MAX_CHUNK: u64 = 16 << 20;
/// First range of a safetensors file: the 8-byte length and, usually, the whole JSON header (the
/// size huggingface_hub's `get_safetensors_metadata` asks for first).
pub const SAFETENSORS_FIRST_RANGE: u64 = 100_000;
/// Most bytes read for one GGUF header (a 256k-token vocabulary with merges is ~30 MB).
pub const GGUF_HEADER_CAP: u64 = 256 << 20;
/// Most bytes read for a JSON file (config.json, shard index, Hub file listing).
pub const JSON_CAP: u64 = 64 << 20;

/// Where to fetch from and what to send.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// Hugging Face endpoint for `hf:` (no trailing slash).
    pub endpoint: String,
    /// Bearer token sent to `endpoint` URLs.
    pub token: Option<String>,
    /// Header cache folder; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    pub timeout: Duration,
}

impl RemoteConfig {
    /// From `HF_ENDPOINT`, `HF_TOKEN`, `XDG_CACHE_HOME` / `HOME`.
    pub fn from_env() -> Self {
        let nonempty = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        RemoteConfig {
            endpoint: nonempty("HF_ENDPOINT")
                .map(|e| e.trim().trim_end_matches('/').to_string())
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string()),
            token: nonempty("HF_TOKEN").map(|t| t.trim().to_string()),
            cache_dir: default_cache_dir(),
            timeout: Duration::from_secs(60),
        }
    }
}

/// `$XDG_CACHE_HOME/headroom/headers`, else `~/.cache/headroom/headers`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("headroom").join("headers"))
}

/// Whether MODEL names a remote model (`hf:...`, `http://...`, `https://...`).
pub fn is_remote(arg: &str) -> bool {
    let a = arg.trim();
    a.starts_with("hf:")
        || a.get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
        || a.get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
}

/// Error for anything that needs tensor data of a model read by its headers only.
pub fn require_local(model: &ModelDesc, what: &str) -> Result<()> {
    if model.files.is_empty() && model.format != ModelFormat::Spec {
        return Err(Error::usage(format!(
            "{}: {what} needs the tensor data, and this model was read remotely by its headers only; download the file first and pass its path",
            model.source
        )));
    }
    Ok(())
}

/// Read a remote model with settings from the environment.
pub fn load(arg: &str) -> Result<ModelDesc> {
    load_with(arg, &RemoteConfig::from_env())
}

/// Read a remote model (header bytes only).
pub fn load_with(arg: &str, cfg: &RemoteConfig) -> Result<ModelDesc> {
    let f = Fetcher::new(cfg);
    let arg = arg.trim();
    let mut model = if let Some(rest) = arg.strip_prefix("hf:") {
        load_hf(&f, arg, rest)?
    } else {
        load_url(&f, arg, None)?
    };
    model.files.clear();
    let mut w = f.take_warnings();
    w.append(&mut model.warnings);
    model.warnings = w;
    Ok(model)
}

// ---------------------------------------------------------------------------------------------
// Hugging Face repositories

fn load_hf(f: &Fetcher, arg: &str, rest: &str) -> Result<ModelDesc> {
    let (repo, file) = match rest.split_once(':') {
        Some((r, file)) => (r, Some(file.trim_start_matches('/'))),
        None => (rest, None),
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    let ok =
        matches!(repo.split('/').collect::<Vec<_>>().as_slice(), [o, r] if valid(o) && valid(r));
    if !ok || file.is_some_and(str::is_empty) {
        return Err(Error::usage(format!(
            "{arg}: write a Hugging Face model as hf:ORG/REPO or hf:ORG/REPO:FILE (e.g. hf:Qwen/Qwen3-8B-GGUF:Qwen3-8B-Q4_K_M.gguf)"
        )));
    }
    let base = format!("{}/{repo}/resolve/main/", f.cfg.endpoint);
    let repo_name = repo.rsplit('/').next().unwrap_or(repo).to_string();
    if let Some(file) = file {
        return load_url(f, &format!("{base}{file}"), Some(&repo_name));
    }
    let api = format!("{}/api/models/{repo}", f.cfg.endpoint);
    let listing = f
        .small(&api, true)?
        .ok_or_else(|| Error::bad_input(&api, "no listing"))?;
    let v: Value = serde_json::from_slice(&listing).map_err(|e| {
        Error::bad_input(
            &api,
            format!("the Hub's file listing is not JSON: {e}; is HF_ENDPOINT right?"),
        )
    })?;
    let files: Vec<String> = v
        .get("siblings")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Error::bad_input(
                &api,
                "field \"siblings\" (the repository's files) is missing from the Hub's answer",
            )
        })?
        .iter()
        .filter_map(|s| s.get("rfilename").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    let has = |name: &str| files.iter().any(|f| f == name);
    let root_st: Vec<&String> = files
        .iter()
        .filter(|f| !f.contains('/') && f.ends_with(".safetensors"))
        .collect();
    if has("config.json") && (has(INDEX_FILE) || !root_st.is_empty()) {
        let shards: Vec<String> = if has(INDEX_FILE) {
            return load_safetensors_index(f, &format!("{base}{INDEX_FILE}"), &base, &repo_name);
        } else if has("model.safetensors") {
            vec!["model.safetensors".to_string()]
        } else {
            root_st.iter().map(|s| s.to_string()).collect()
        };
        let urls: Vec<String> = shards.iter().map(|s| format!("{base}{s}")).collect();
        let source = urls[0].clone();
        return load_safetensors(f, source, &base, repo_name, urls, None, true);
    }
    let mut ggufs: Vec<&String> = files
        .iter()
        .filter(|f| f.to_ascii_lowercase().ends_with(".gguf"))
        .filter(|f| gguf::split_name(Path::new(f.as_str())).is_none_or(|(_, k, _)| k == 1))
        .collect();
    let models: Vec<&String> = ggufs
        .iter()
        .copied()
        .filter(|f| !f.to_ascii_lowercase().contains("mmproj"))
        .collect();
    match models.as_slice() {
        [one] => load_url(f, &format!("{base}{one}"), Some(&repo_name)),
        [] if ggufs.is_empty() => Err(Error::bad_input(
            &api,
            "the repository has no .gguf file and no config.json with safetensors; nothing headroom reads",
        )),
        [] => Err(Error::bad_input(
            &api,
            format!(
                "the repository's only GGUF files are vision projectors ({}); pass one with hf:{repo}:FILE if you mean it",
                ggufs
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        many => {
            ggufs.sort();
            Err(Error::usage(format!(
                "{arg}: the repository holds {} GGUF models; pick one with hf:{repo}:FILE: {}",
                many.len(),
                many.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// URLs

/// The URL's path part without query or fragment.
fn url_path(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// Everything up to and including the last `/` of the URL's path.
fn url_dir(url: &str) -> String {
    let p = url_path(url);
    match p.rfind('/') {
        Some(i) => p[..=i].to_string(),
        None => p.to_string(),
    }
}

fn url_file(url: &str) -> &str {
    let p = url_path(url);
    p.rsplit('/').next().unwrap_or(p)
}

fn load_url(f: &Fetcher, url: &str, repo_name: Option<&str>) -> Result<ModelDesc> {
    let file = url_file(url);
    let lower = file.to_ascii_lowercase();
    let dir = url_dir(url);
    let name = |fallback: &str| repo_name.map_or_else(|| fallback.to_string(), str::to_string);
    if lower.ends_with(".gguf") {
        return load_gguf(f, url);
    }
    if lower.ends_with(".index.json") {
        let n = name(dir.trim_end_matches('/').rsplit('/').next().unwrap_or(""));
        return load_safetensors_index(f, url, &dir, &n);
    }
    if lower.ends_with(".safetensors") {
        let stem = file.trim_end_matches(".safetensors");
        let n = if repo_name.is_some() && (stem == "model" || stem.starts_with("model-")) {
            name(stem)
        } else {
            stem.to_string()
        };
        return load_safetensors(
            f,
            url.to_string(),
            &dir,
            n,
            vec![url.to_string()],
            None,
            repo_name.is_some(),
        );
    }
    // Unknown extension: look at the first bytes.
    let mut r = f.reader(url)?;
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut r, &mut magic).map_err(|e| r.error(e))?;
    if got == 4 && magic == gguf::MAGIC {
        load_gguf(f, url)
    } else {
        load_safetensors(
            f,
            url.to_string(),
            &dir,
            name(file),
            vec![url.to_string()],
            None,
            false,
        )
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn load_gguf(f: &Fetcher, url: &str) -> Result<ModelDesc> {
    let first = gguf_header(f, url)?;
    let path = url_path(url);
    let parts = gguf::split_parts(Path::new(path), &first)?;
    let query = &url[path.len()..];
    let mut headers = vec![first];
    for p in parts.iter().skip(1) {
        let part_url = format!(
            "{}{}{query}",
            url_dir(url),
            p.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        headers.push(gguf_header(f, &part_url)?);
    }
    let stem = url_file(url).trim_end_matches(".gguf").to_string();
    gguf::model_from_headers(url, &stem, &headers, Vec::new())
}

/// One GGUF file's header, streamed from ranges (or the cache).
fn gguf_header(f: &Fetcher, url: &str) -> Result<GgufHeader> {
    let mut r = f.reader(url)?;
    let parsed = gguf::read_header(&mut r, url);
    let h = match parsed {
        Ok(h) => h,
        Err(e) => return Err(r.take_error().unwrap_or(e)),
    };
    r.save(h.header_bytes);
    match r.total {
        Some(size) => h.check_data_bounds(size, url)?,
        None => f.warn(format!(
            "{url}: the server did not say the file size; tensor data bounds not checked"
        )),
    }
    Ok(h)
}

fn load_safetensors_index(f: &Fetcher, url: &str, dir: &str, name: &str) -> Result<ModelDesc> {
    let bytes = f
        .small(url, true)?
        .ok_or_else(|| Error::bad_input(url, "not found"))?;
    let (files, map) = st::parse_index(Path::new(url), &bytes)?;
    let urls = files.iter().map(|s| format!("{dir}{s}")).collect();
    load_safetensors(
        f,
        url.to_string(),
        dir,
        name.to_string(),
        urls,
        Some((PathBuf::from(url), map)),
        true,
    )
}

fn load_safetensors(
    f: &Fetcher,
    source: String,
    dir: &str,
    name: String,
    shard_urls: Vec<String>,
    index: Option<(PathBuf, st::WeightMap)>,
    config_required: bool,
) -> Result<ModelDesc> {
    let config_url = format!("{dir}config.json");
    let mut warnings = Vec::new();
    let config = match f.small(&config_url, config_required)? {
        Some(bytes) => Some(
            serde_json::from_slice::<Value>(&bytes)
                .map_err(|e| Error::bad_input(&config_url, format!("not valid JSON: {e}")))?,
        ),
        None => {
            warnings.push(format!(
                "no config.json beside {source}: architecture and hyperparameters unknown"
            ));
            None
        }
    };
    let mut headers = Vec::with_capacity(shard_urls.len());
    for u in &shard_urls {
        headers.push(safetensors_header(f, u)?);
    }
    st::assemble(
        st::Parts {
            source,
            name,
            config,
            config_path: PathBuf::from(config_url),
            index,
            shards: shard_urls.into_iter().map(PathBuf::from).collect(),
            headers,
        },
        warnings,
    )
}

fn safetensors_header(f: &Fetcher, url: &str) -> Result<st::Header> {
    let mut r = f.reader(url)?;
    r.chunk = SAFETENSORS_FIRST_RANGE;
    let mut len8 = [0u8; 8];
    let got = read_up_to(&mut r, &mut len8).map_err(|e| r.error(e))?;
    if got < 8 {
        return Err(r.take_error().unwrap_or_else(|| {
            Error::bad_input(
                url,
                format!("file is {got} bytes; a safetensors file starts with an 8-byte header length (truncated?)"),
            )
        }));
    }
    let n = u64::from_le_bytes(len8);
    if n > MAX_HEADER_LEN {
        return Err(Error::bad_input(
            url,
            format!(
                "byte 0: declared header length {n} exceeds the {MAX_HEADER_LEN}-byte limit; not a safetensors file or corrupt"
            ),
        ));
    }
    if let Some(t) = r.total
        && 8 + n > t
    {
        return Err(Error::bad_input(
            url,
            format!(
                "byte 0: declared header length {n} runs past the end of the {t}-byte file; truncated download?"
            ),
        ));
    }
    // The rest of the header in one request, exactly.
    r.next_len = Some((8 + n).saturating_sub(r.data.len() as u64));
    let mut header = Vec::new();
    (&mut r)
        .take(n)
        .read_to_end(&mut header)
        .map_err(|e| r.error(e))?;
    if (header.len() as u64) < n {
        return Err(r.take_error().unwrap_or_else(|| {
            Error::bad_input(
                url,
                format!(
                    "byte 8: declared header length {n} but the file ends after {} header bytes; truncated?",
                    header.len()
                ),
            )
        }));
    }
    r.save(8 + n);
    let file_len = match r.total {
        Some(t) => t,
        None => {
            f.warn(format!(
                "{url}: the server did not say the file size; tensor data bounds not checked"
            ));
            // Without a size, accept the data the header describes.
            8 + n + header_data_len(url, &header)?
        }
    };
    st::parse_header(Path::new(url), &header, file_len)
}

/// The data length a safetensors header describes (largest end offset), for servers that give no size.
fn header_data_len(url: &str, header: &[u8]) -> Result<u64> {
    let v: Value = serde_json::from_slice(header).map_err(|e| {
        Error::bad_input(
            url,
            format!("header JSON is broken: {e} (of the header starting at byte 8)"),
        )
    })?;
    Ok(v.as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(|t| t.get("data_offsets")?.get(1)?.as_u64())
        .max()
        .unwrap_or(0))
}

// ---------------------------------------------------------------------------------------------
// HTTP + cache

struct Fetcher<'a> {
    cfg: &'a RemoteConfig,
    agent: ureq::Agent,
    warnings: std::cell::RefCell<Vec<String>>,
}

/// One cached URL: the bytes from offset 0 that headroom needed, and what the server said.
#[derive(Debug, Clone, Default)]
struct Entry {
    etag: Option<String>,
    /// Total file size, when known.
    size: Option<u64>,
    /// True when `bytes` is the whole file.
    complete: bool,
    bytes: Vec<u8>,
}

impl<'a> Fetcher<'a> {
    fn new(cfg: &'a RemoteConfig) -> Self {
        let builder = ureq::Agent::config_builder();
        #[cfg(target_os = "macos")]
        let builder = builder.tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::NativeTls)
                .build(),
        );
        let agent: ureq::Agent = builder
            .http_status_as_error(false)
            .timeout_global(Some(cfg.timeout))
            .accept_encoding(ureq::config::AutoHeaderValue::None)
            .user_agent(concat!("headroom/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Fetcher {
            cfg,
            agent,
            warnings: Default::default(),
        }
    }

    fn warn(&self, w: String) {
        let mut ws = self.warnings.borrow_mut();
        if !ws.contains(&w) {
            ws.push(w);
        }
    }

    fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut self.warnings.borrow_mut())
    }

    /// Whether the token may go to this URL: only to the configured Hugging Face endpoint.
    fn auth_for(&self, url: &str) -> Option<String> {
        let token = self.cfg.token.as_ref()?;
        let origin = |u: &str| -> String {
            let after = u.split_once("://").map_or(u, |(_, r)| r);
            let host = after.split(['/', '?', '#']).next().unwrap_or("");
            let scheme = u.split_once("://").map_or("", |(s, _)| s);
            format!(
                "{}://{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            )
        };
        (origin(url) == origin(&self.cfg.endpoint)).then(|| format!("Bearer {token}"))
    }

    /// GET with an optional byte range; any HTTP status comes back.
    fn send(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let mut req = self.agent.get(url);
        if let Some((a, b)) = range {
            req = req.header("Range", &format!("bytes={a}-{b}"));
        }
        if let Some(auth) = self.auth_for(url) {
            req = req.header("Authorization", &auth);
        }
        req.call().map_err(|e| {
            Error::bad_input(
                url,
                format!("cannot fetch: {e}; check the address and the network (headers fetched once are cached for offline use)"),
            )
        })
    }

    /// [`Self::send`], with statuses other than 200/206/416 turned into one-line errors.
    fn get(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let resp = self.send(url, range)?;
        match self.status_error(url, resp.status()) {
            Some(e) => Err(e),
            None => Ok(resp),
        }
    }

    fn status_error(&self, url: &str, status: ureq::http::StatusCode) -> Option<Error> {
        let code = status.as_u16();
        let msg = match code {
            200 | 206 | 416 => return None,
            401 | 403 => format!(
                "HTTP {code}: access denied; for a gated or private Hugging Face model accept its terms on the model page and set HF_TOKEN{}",
                if self.cfg.token.is_some() {
                    " (the token sent was refused)"
                } else {
                    ""
                }
            ),
            404 => "HTTP 404 Not Found; check the repository and file name".to_string(),
            _ => format!(
                "HTTP {code} {}; try again later",
                status.canonical_reason().unwrap_or("")
            ),
        };
        Some(Error::bad_input(url, msg))
    }

    /// A small whole file (JSON), from the cache or the network. `None` when absent (404) and not
    /// `required`.
    fn small(&self, url: &str, required: bool) -> Result<Option<Vec<u8>>> {
        if let Some(e) = self.cache_get(url).filter(|e| e.complete) {
            return Ok(Some(e.bytes));
        }
        let resp = self.send(url, None)?;
        if resp.status().as_u16() == 404 && !required {
            return Ok(None);
        }
        if let Some(e) = self.status_error(url, resp.status()) {
            return Err(e);
        }
        let etag = header_str(&resp, "etag");
        let mut bytes = Vec::new();
        resp.into_body()
            .into_reader()
            .take(JSON_CAP + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::bad_input(url, format!("reading the response failed: {e}")))?;
        if bytes.len() as u64 > JSON_CAP {
            return Err(Error::bad_input(
                url,
                format!(
                    "larger than {} MiB; this is not a JSON file headroom expects",
                    JSON_CAP >> 20
                ),
            ));
        }
        self.cache_put(
            url,
            &Entry {
                etag,
                size: Some(bytes.len() as u64),
                complete: true,
                bytes: bytes.clone(),
            },
        );
        Ok(Some(bytes))
    }

    /// A reader over the file from offset 0, starting from whatever the cache holds.
    fn reader(&self, url: &str) -> Result<RangeReader<'_, 'a>> {
        let cached = self.cache_get(url);
        let (data, total, etag, cached_len) = match cached {
            Some(e) => {
                let n = e.bytes.len();
                (e.bytes, e.size, e.etag, n)
            }
            None => (Vec::new(), None, None, 0),
        };
        Ok(RangeReader {
            f: self,
            url: url.to_string(),
            data,
            pos: 0,
            total,
            etag,
            chunk: FIRST_CHUNK,
            next_len: None,
            stream: None,
            eof: false,
            err: None,
            cached_len,
        })
    }

    fn cache_file(&self, url: &str) -> Option<PathBuf> {
        let dir = self.cfg.cache_dir.as_ref()?;
        Some(dir.join(format!("{:016x}.hdr", fnv1a(url.as_bytes()))))
    }

    fn cache_get(&self, url: &str) -> Option<Entry> {
        let bytes = std::fs::read(self.cache_file(url)?).ok()?;
        decode_entry(url, &bytes)
    }

    /// Store an entry (temp file + rename, so readers never see half a file). Failures only warn.
    fn cache_put(&self, url: &str, e: &Entry) {
        let Some(path) = self.cache_file(url) else {
            return;
        };
        let res = (|| -> io::Result<()> {
            let dir = path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)?;
            let tmp = dir.join(format!(
                ".{}.{}.tmp",
                path.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
                std::process::id()
            ));
            std::fs::write(&tmp, encode_entry(url, e))?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(err) = res {
            self.warn(format!(
                "could not cache the header of {url} in {}: {err}",
                path.display()
            ));
        }
    }
}

fn header_str(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// 64-bit FNV-1a: a stable file name for a URL (the URL itself is checked on read).
fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Cache file: one JSON line (url, etag, size, complete, len), then the bytes.
fn encode_entry(url: &str, e: &Entry) -> Vec<u8> {
    let meta = serde_json::json!({
        "url": url,
        "etag": e.etag,
        "size": e.size,
        "complete": e.complete,
        "len": e.bytes.len(),
    });
    let mut out = meta.to_string().into_bytes();
    out.push(b'\n');
    out.extend_from_slice(&e.bytes);
    out
}

fn decode_entry(url: &str, bytes: &[u8]) -> Option<Entry> {
    let nl = bytes.iter().position(|&b| b == b'\n')?;
    let meta: Value = serde_json::from_slice(&bytes[..nl]).ok()?;
    let body = &bytes[nl + 1..];
    if meta.get("url")?.as_str()? != url || meta.get("len")?.as_u64()? != body.len() as u64 {
        return None;
    }
    Some(Entry {
        etag: meta.get("etag").and_then(Value::as_str).map(str::to_string),
        size: meta.get("size").and_then(Value::as_u64),
        complete: meta
            .get("complete")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        bytes: body.to_vec(),
    })
}

/// Reads a remote file from offset 0, fetching ranges as the reader asks for bytes. Every byte read
/// is kept (header bytes are all we ever read), so the prefix can be cached.
struct RangeReader<'f, 'a> {
    f: &'f Fetcher<'a>,
    url: String,
    data: Vec<u8>,
    pos: usize,
    total: Option<u64>,
    etag: Option<String>,
    chunk: u64,
    /// Exact size of the next request, when the caller knows how many bytes it needs.
    next_len: Option<u64>,
    /// Set when the server ignored `Range`: the body of a plain GET, positioned at `data.len()`.
    stream: Option<ureq::BodyReader<'static>>,
    eof: bool,
    /// The real error behind an `io::Error` handed to the parser.
    err: Option<Error>,
    cached_len: usize,
}

impl RangeReader<'_, '_> {
    fn take_error(&mut self) -> Option<Error> {
        self.err.take()
    }

    fn error(&mut self, e: io::Error) -> Error {
        self.err
            .take()
            .unwrap_or_else(|| Error::bad_input(&self.url, format!("reading failed: {e}")))
    }

    fn fail(&mut self, e: Error) -> io::Error {
        let msg = e.to_string();
        self.err = Some(e);
        io::Error::other(msg)
    }

    /// Cache the first `n` bytes (what the parser consumed), if more than the cache held.
    fn save(&self, n: u64) {
        let n = (n as usize).min(self.data.len());
        if n <= self.cached_len {
            return;
        }
        self.f.cache_put(
            &self.url,
            &Entry {
                etag: self.etag.clone(),
                size: self.total,
                complete: self.total == Some(n as u64),
                bytes: self.data[..n].to_vec(),
            },
        );
    }

    /// Append more bytes to `data`; false at end of file.
    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let start = self.data.len() as u64;
        if self.total.is_some_and(|t| start >= t) {
            self.eof = true;
            return Ok(false);
        }
        if self.stream.is_none() {
            let len = match self.next_len.take() {
                Some(l) if l > 0 => l,
                _ => {
                    let c = self.chunk;
                    self.chunk = (self.chunk * 2).min(MAX_CHUNK);
                    c
                }
            };
            let mut end = start + len - 1;
            if let Some(t) = self.total {
                end = end.min(t - 1);
            }
            let resp = self.f.get(&self.url, Some((start, end)))?;
            let status = resp.status().as_u16();
            if status == 416 {
                self.eof = true;
                return Ok(false);
            }
            if let Some(tag) = header_str(&resp, "etag") {
                if self.etag.as_ref().is_some_and(|old| *old != tag) {
                    return Err(Error::bad_input(
                        &self.url,
                        "the file changed on the server while its header was read (ETag differs); run again",
                    ));
                }
                self.etag = Some(tag);
            }
            if status == 206 {
                let cr = header_str(&resp, "content-range").unwrap_or_default();
                let (first, total) = parse_content_range(&cr).ok_or_else(|| {
                    Error::bad_input(
                        &self.url,
                        format!(
                            "the server answered a range request with a bad Content-Range {cr:?}"
                        ),
                    )
                })?;
                if first != start {
                    return Err(Error::bad_input(
                        &self.url,
                        format!("asked for bytes from {start}, the server sent bytes from {first}"),
                    ));
                }
                if let Some(t) = total {
                    self.total = Some(t);
                }
                let want = end - start + 1;
                let before = self.data.len();
                resp.into_body()
                    .into_reader()
                    .take(want)
                    .read_to_end(&mut self.data)
                    .map_err(|e| {
                        Error::bad_input(&self.url, format!("reading the response failed: {e}"))
                    })?;
                if self.data.len() == before {
                    self.eof = true;
                    return Ok(false);
                }
                return Ok(true);
            }
            // 200: the server ignored Range and sends the whole file from byte 0.
            self.f.warn(format!(
                "{}: the server ignores HTTP Range requests; read only the header from the start of the full download and dropped the connection",
                self.url
            ));
            if let Some(len) = header_str(&resp, "content-length").and_then(|v| v.parse().ok()) {
                self.total = Some(len);
            }
            let mut body = resp.into_body().into_reader();
            // Skip what we already have (from the cache or earlier ranges).
            let skipped = io::copy(&mut (&mut body).take(start), &mut io::sink()).map_err(|e| {
                Error::bad_input(&self.url, format!("reading the response failed: {e}"))
            })?;
            if skipped < start {
                self.eof = true;
                return Ok(false);
            }
            self.stream = Some(body);
        }
        let cap = GGUF_HEADER_CAP.max(MAX_HEADER_LEN + 8);
        if start >= cap {
            return Err(Error::bad_input(
                &self.url,
                format!(
                    "header larger than {} MiB read without Range support; not a model header, or download the file",
                    cap >> 20
                ),
            ));
        }
        let want = (64u64 << 10).min(cap - start);
        let before = self.data.len();
        if let Some(s) = self.stream.as_mut() {
            s.take(want).read_to_end(&mut self.data).map_err(|e| {
                Error::bad_input(&self.url, format!("reading the response failed: {e}"))
            })?;
        }
        if self.data.len() == before {
            self.eof = true;
            return Ok(false);
        }
        Ok(true)
    }
}

impl Read for RangeReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pos >= self.data.len() {
            match self.fill() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(e) => return Err(self.fail(e)),
            }
        }
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// `bytes FIRST-LAST/TOTAL` (TOTAL may be `*`) → (FIRST, TOTAL).
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim();
    let (range, total) = rest.split_once('/')?;
    let (first, _) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((first.trim().parse().ok()?, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_args() {
        assert!(is_remote("hf:Qwen/Qwen3-8B-GGUF"));
        assert!(is_remote("https://huggingface.co/a/b/resolve/main/x.gguf"));
        assert!(is_remote("HTTP://host/x.gguf"));
        assert!(!is_remote("models/x.gguf"));
        assert!(!is_remote("llama-3.1-8b"));
    }

    #[test]
    fn content_range() {
        // RFC 9110 §14.4 examples.
        assert_eq!(
            parse_content_range("bytes 42-1233/1234"),
            Some((42, Some(1234)))
        );
        assert_eq!(parse_content_range("bytes 42-1233/*"), Some((42, None)));
        assert_eq!(parse_content_range("bytes */1234"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn url_parts() {
        let u = "https://h.co/o/r/resolve/main/sub/m-00001-of-00002.gguf?download=1";
        assert_eq!(url_file(u), "m-00001-of-00002.gguf");
        assert_eq!(url_dir(u), "https://h.co/o/r/resolve/main/sub/");
    }

    #[test]
    fn cache_entry_roundtrip_checks_url() {
        let e = Entry {
            etag: Some("\"abc\"".into()),
            size: Some(99),
            complete: false,
            bytes: vec![1, 2, 3],
        };
        let enc = encode_entry("http://a/x", &e);
        let d = decode_entry("http://a/x", &enc).expect("decodes");
        assert_eq!(
            (d.etag, d.size, d.complete, d.bytes),
            (e.etag, e.size, false, e.bytes)
        );
        assert!(decode_entry("http://a/y", &enc).is_none());
        assert!(decode_entry("http://a/x", &enc[..enc.len() - 1]).is_none());
    }

    #[test]
    fn token_goes_to_the_endpoint_only() {
        let cfg = RemoteConfig {
            endpoint: "https://huggingface.co".into(),
            token: Some("hf_x".into()),
            cache_dir: None,
            timeout: Duration::from_secs(1),
        };
        let f = Fetcher::new(&cfg);
        assert_eq!(
            f.auth_for("https://huggingface.co/o/r/resolve/main/x.gguf")
                .as_deref(),
            Some("Bearer hf_x")
        );
        assert_eq!(f.auth_for("https://evil.example/x.gguf"), None);
        assert_eq!(f.auth_for("https://huggingface.co.evil.example/x"), None);
    }
}
