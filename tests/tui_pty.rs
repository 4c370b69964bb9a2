//! End to end: start the real `headroom tui` binary in a pseudo-terminal (portable-pty), type keys,
//! and read the screen through a VT100 parser (vt100): change the context, switch machine, quit; and a
//! device set's split, link and count keys.

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROWS: u16 = 40;
const COLS: u16 = 120;

struct Session {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Session {
    fn start(args: &[&str]) -> Session {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_headroom"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        // no user profiles: only the bundled ones
        let cfg = tempfile::tempdir().unwrap();
        cmd.env("HEADROOM_CONFIG_DIR", cfg.path());
        std::mem::forget(cfg);
        let child = pty.slave.spawn_command(cmd).expect("spawn headroom");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZero::new(ROWS).unwrap(),
            std::num::NonZero::new(COLS).unwrap(),
            0,
        )));
        let p = parser.clone();
        std::thread::spawn(move || {
            let _master = pty.master; // keep the pty open while reading
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
            }
        });
        Session {
            parser,
            writer,
            child,
        }
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Wait until the screen shows `text` (20 s at most, generous for a loaded CI machine).
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("`{text}` never appeared; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }
}

#[test]
fn change_context_switch_machine_quit() {
    let mut s = Session::start(&["tui", "llama-3.1-70b", "--hardware", "m3-max-40c:64"]);
    s.wait_for("Llama 3.1 70B");
    s.wait_for("4096 (4k)");
    s.wait_for("Apple M3 Max (40-core GPU) · 64 GiB");

    // context up twice: 4k -> 8k -> 16k
    s.keys(b"++");
    s.wait_for("16384 (16k)");

    // hardware pane, memory size up: 64 -> 128 GiB
    s.keys(b"\t");
    s.keys(b"l");
    let screen = s.wait_for("Apple M3 Max (40-core GPU) · 128 GiB");
    assert!(screen.contains("RAM 128.00 GiB"), "{screen}");

    // down the list to another machine (the next Apple profile)
    s.keys(b"j");
    let screen = s.wait_for("Apple M3 Pro");
    assert!(
        screen.contains("FITS") || screen.contains("DOES NOT FIT") || screen.contains("PARTIAL")
    );

    // help opens and closes
    s.keys(b"?");
    s.wait_for("Keys (? or Esc closes)");
    s.keys(b"?");

    s.keys(b"q");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "headroom did not quit on q"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn device_set_split_link_and_count_keys() {
    let mut s = Session::start(&["tui", "llama-3.1-70b", "--hardware", "h100-sxm:x2"]);
    s.wait_for("2× NVIDIA H100");
    s.wait_for("layer split, llama.cpp -ngl 99 -sm layer");
    s.wait_for("NVLink 4");
    // split: layer -> row -> tensor
    s.keys(b"ss");
    s.wait_for("tensor split, llama.cpp -ngl 99 -sm tensor");
    // the link: NVLink 4 -> NVLink 3 -> PCIe 5.0
    s.keys(b"ii");
    s.wait_for("PCIe 5.0 x16");
    // one more device
    s.keys(b"d");
    let screen = s.wait_for("3× NVIDIA H100");
    assert!(screen.contains("│2 h100-sxm"), "{screen}");
    // Esc: the one-device plan view; Esc again quits
    s.keys(b"\x1b");
    s.wait_for("Breakdown");
    s.keys(b"\x1b");
    let start = Instant::now();
    while s.child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "Esc did not quit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn no_terminal_gives_a_hint_and_exit_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a terminal"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
        .arg("tui")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a terminal"));
}

#[test]
fn headroom_alone_on_a_terminal_opens_the_explorer() {
    let mut s = Session::start(&[]);
    s.wait_for("Models");
    s.wait_for("Workload");
    s.keys(b"\x1b"); // Esc quits from the plan view
    let start = Instant::now();
    while s.child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "Esc did not quit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
