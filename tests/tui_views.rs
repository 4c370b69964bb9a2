//! Snapshot tests of the TUI's main views, rendered into ratatui's TestBackend at 120x40 with bundled
//! specs and hardware profiles, and checks that every number on screen is the estimate's own (the
//! plan from `estimate::plan::plan`, formatted by `cli::fmt`).

use headroom::cli::fmt;
use headroom::estimate::plan::plan;
use headroom::hardware::profile;
use headroom::tui::{self, Action, App, update, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

fn app(models: &[&str], hardware: &str, quant: &str) -> App {
    let hw = tui::sources::hardware_from(profile::bundled().expect("bundled profiles"));
    let models: Vec<String> = models.iter().map(|s| s.to_string()).collect();
    let mut a = tui::build_app_with(&models, Some(hardware), hw).expect("app");
    a.color = true;
    assert!(a.select_quant(quant), "quant {quant} offered");
    update(&mut a, Action::Resize(120, 40));
    a.fill_chart();
    a
}

fn render(a: &App) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    t.draw(|f| view(a, f)).unwrap();
    t
}

/// The screen as plain text lines (trailing spaces trimmed).
fn text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let w = buf.area.width as usize;
    buf.content
        .chunks(w)
        .map(|row| {
            let s: String = row.iter().map(|c| c.symbol()).collect();
            s.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn main_view_70b_q4_k_m_on_m3_max_64() {
    let a = app(&["llama-3.1-70b"], "m3-max-40c:64", "Q4_K_M");
    let t = render(&a);
    let screen = text(&t);
    // every figure is the plan's
    let m = profile::resolve("m3-max-40c:64").unwrap().remove(0);
    let model = headroom::model::load_with_quant("llama-3.1-70b", Some("Q4_K_M")).unwrap();
    let p = plan(&model, &m, &a.workload).unwrap();
    for s in [
        fmt::gib(p.memory.weights_bytes),
        fmt::gib(p.memory.kv_cache_bytes),
        fmt::gib(p.memory.total_bytes),
        fmt::gib(p.gpu_budget_bytes),
        format!("{} tok/s", fmt::tps(p.speed.decode_tokens_per_s)),
        format!("±{:.0}%", p.speed.decode_error_pct),
    ] {
        assert!(screen.contains(&s), "{s} not on screen:\n{screen}");
    }
    assert!(screen.contains("4096 (4k)"));
    insta::assert_snapshot!("main_70b_m3_max_64", screen);

    // the capture for the README
    let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/tui.txt");
    let want = format!(
        "headroom tui llama-3.1-70b --hardware m3-max-40c:64, what-if Q4_K_M (120x40 capture)\n\n{screen}\n"
    );
    if std::env::var_os("HEADROOM_UPDATE_DOCS").is_some() {
        std::fs::write(&doc, &want).unwrap();
    }
    let have = std::fs::read_to_string(&doc).unwrap_or_default();
    assert_eq!(
        have, want,
        "docs/tui.txt is stale: rerun with HEADROOM_UPDATE_DOCS=1"
    );
}

#[test]
fn context_keys_move_the_plan_and_the_screen() {
    let mut a = app(&["llama-3.1-70b"], "m3-max-40c:64", "Q4_K_M");
    for _ in 0..3 {
        update(&mut a, Action::ContextUp);
    }
    a.fill_chart();
    assert_eq!(a.workload.context, 32768);
    let m = profile::resolve("m3-max-40c:64").unwrap().remove(0);
    let model = headroom::model::load_with_quant("llama-3.1-70b", Some("Q4_K_M")).unwrap();
    let p = plan(&model, &m, &a.workload).unwrap();
    let screen = text(&render(&a));
    assert!(screen.contains("32768 (32k)"));
    assert!(
        screen.contains(&fmt::gib(p.memory.kv_cache_bytes)),
        "{screen}"
    );
    assert!(screen.contains(&fmt::gib(p.memory.total_bytes)));
}

#[test]
fn over_the_default_gpu_limit_shows_the_sysctl_command() {
    // 70B Q4_K_M at 32k context (f16 KV) on a 64 GiB Mac: over the default wired limit, within RAM
    let mut a = app(&["llama-3.1-70b"], "m3-max-40c:64", "Q4_K_M");
    for _ in 0..3 {
        update(&mut a, Action::ContextUp);
    }
    a.fill_chart();
    let p = a.plan().unwrap().as_ref().unwrap().clone();
    let screen = text(&render(&a));
    match p.verdict {
        headroom::estimate::Verdict::FitsIfLimitRaised { wired_limit_mb, .. } => {
            assert!(screen.contains("FITS IF GPU LIMIT RAISED"), "{screen}");
            assert!(
                screen.contains(&format!("iogpu.wired_limit_mb={wired_limit_mb}")),
                "{screen}"
            );
        }
        ref v => panic!("expected fits-if-limit-raised, plan says {v:?}"),
    }
    insta::assert_snapshot!("limit_raised_70b_32k_m3_max_64", screen);
}

#[test]
fn does_not_fit_is_red_and_says_so() {
    let a = app(&["llama-3.1-405b"], "rtx-4090", "Q4_K_M");
    let t = render(&a);
    let screen = text(&t);
    let p = a.plan().unwrap().as_ref().unwrap();
    let heading = match p.verdict {
        headroom::estimate::Verdict::DoesNotFit => "DOES NOT FIT",
        headroom::estimate::Verdict::PartialOffload { .. } => "PARTIAL OFFLOAD",
        ref v => panic!("405B on a 24 GiB card cannot fit: {v:?}"),
    };
    assert!(screen.contains(heading), "{screen}");
    insta::assert_snapshot!("405b_rtx_4090", screen);
}

#[test]
fn compare_view_lists_each_machine_with_its_plan() {
    let mut a = app(
        &["qwen3-30b-a3b"],
        "m4-pro-20c:48,rtx-4090,h100-sxm",
        "Q4_K_M",
    );
    assert_eq!(a.screen, headroom::tui::app::Screen::Compare);
    update(&mut a, Action::Resize(120, 40));
    let screen = text(&render(&a));
    assert!(screen.contains("marked machines"));
    let model = headroom::model::load_with_quant("qwen3-30b-a3b", Some("Q4_K_M")).unwrap();
    for hw in ["m4-pro-20c:48", "rtx-4090", "h100-sxm"] {
        let m = profile::resolve(hw).unwrap().remove(0);
        let p = plan(&model, &m, &a.workload).unwrap();
        assert!(screen.contains(&m.id), "{} missing:\n{screen}", m.id);
        assert!(
            screen.contains(&fmt::tps(p.speed.decode_tokens_per_s)),
            "{hw} decode missing:\n{screen}"
        );
    }
    insta::assert_snapshot!("compare_qwen3_30b", screen);
}

/// Every device row, the interconnect and the speed on screen are `plan_multi`'s, formatted by
/// `cli::fmt`.
fn assert_set_numbers_shown(a: &App, screen: &str, model: &str, quant: &str, hardware: &str) {
    use headroom::estimate::multi::{MultiOptions, plan_multi};
    let devices = profile::resolve_setups(hardware, false)
        .unwrap()
        .0
        .remove(0);
    let model = headroom::model::load_with_quant(model, Some(quant)).unwrap();
    let (link, note) = headroom::hardware::link::default_for(&devices);
    let opts = MultiOptions {
        split: a.set.split,
        tensor_split: None,
        link,
        link_note: Some(note),
    };
    let p = plan_multi(&model, &devices, &a.workload, &opts).unwrap();
    assert_eq!(a.multi_plan().unwrap().as_ref().unwrap().as_ref(), &p);
    for (i, d) in p.devices.iter().enumerate() {
        let m = &d.memory;
        let row = screen
            .lines()
            .find(|l| l.contains(&format!("│{i} {}", d.id)))
            .unwrap_or_else(|| panic!("device {i} row missing:\n{screen}"));
        for s in [
            headroom::cli::multi::layers_cell(&p, d),
            fmt::gib1(m.weights_bytes),
            fmt::gib1(m.kv_cache_bytes),
            fmt::gib1(m.compute_bytes),
            format!("{}/{}", fmt::gib1(m.total_bytes), fmt::gib1(d.budget_bytes)),
            format!("{:.2}", d.decode_s * 1e3),
        ] {
            assert!(row.contains(&s), "{s} not in device {i}'s row: {row}");
        }
    }
    for s in [
        format!(
            "{} tok/s ±{:.0}%",
            fmt::tps(p.speed.decode_tokens_per_s),
            p.speed.decode_error_pct
        ),
        format!(
            "{} tok/s ±{:.0}%",
            fmt::tps(p.speed.prefill_tokens_per_s),
            p.speed.prefill_error_pct
        ),
        p.interconnect.name.to_string(),
        format!("{} one way", fmt::gbs(p.interconnect.bandwidth_bytes_per_s)),
        format!("{} transfer", p.transfers_per_token),
        p.llama_cpp_flags.clone(),
    ] {
        assert!(screen.contains(&s), "{s} not on screen:\n{screen}");
    }
    // the interconnect's ms a token, as the device rows' (more decimals below 0.01 ms)
    let link_ms = p.interconnect_s_per_token * 1e3;
    let link_ms = if link_ms < 0.01 {
        format!("{link_ms:.3}")
    } else {
        format!("{link_ms:.2}")
    };
    let row = screen
        .lines()
        .find(|l| l.contains("│interconnect"))
        .unwrap_or_else(|| panic!("interconnect row missing:\n{screen}"));
    assert!(row.contains(&link_ms), "{link_ms} not in {row}");
}

#[test]
fn device_set_view_70b_on_two_h100s() {
    let a = app(&["llama-3.1-70b"], "h100-sxm:x2", "Q4_K_M");
    assert_eq!(a.screen, headroom::tui::app::Screen::Devices);
    let screen = text(&render(&a));
    assert_set_numbers_shown(&a, &screen, "llama-3.1-70b", "Q4_K_M", "h100-sxm:x2");
    assert!(screen.contains("layer split"), "{screen}");
    assert!(screen.contains("2× NVIDIA H100 SXM5 80GB"), "{screen}");
    insta::assert_snapshot!("devices_70b_2x_h100", screen);

    // the capture for the README
    let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/tui-devices.txt");
    let want = format!(
        "headroom tui llama-3.1-70b --hardware h100-sxm:x2, what-if Q4_K_M (120x40 capture)\n\n{screen}\n"
    );
    if std::env::var_os("HEADROOM_UPDATE_DOCS").is_some() {
        std::fs::write(&doc, &want).unwrap();
    }
    let have = std::fs::read_to_string(&doc).unwrap_or_default();
    assert_eq!(
        have, want,
        "docs/tui-devices.txt is stale: rerun with HEADROOM_UPDATE_DOCS=1"
    );
}

#[test]
fn device_set_view_405b_on_two_macs_tensor_split() {
    let mut a = app(
        &["llama-3.1-405b"],
        "m2-ultra-76c:192+m4-max-40c:128",
        "Q4_K_M",
    );
    update(&mut a, Action::CycleSplit);
    update(&mut a, Action::CycleSplit);
    assert_eq!(a.set.split, headroom::estimate::multi::SplitMode::Tensor);
    let screen = text(&render(&a));
    assert_set_numbers_shown(
        &a,
        &screen,
        "llama-3.1-405b",
        "Q4_K_M",
        "m2-ultra-76c:192+m4-max-40c:128",
    );
    assert!(screen.contains("tensor split"), "{screen}");
    insta::assert_snapshot!("devices_405b_two_macs_tensor", screen);
}

#[test]
fn help_lists_every_key() {
    let mut a = app(&["llama-3.1-8b"], "rtx-4090", "as stored");
    update(&mut a, Action::ToggleHelp);
    let screen = text(&render(&a));
    for (k, _) in headroom::tui::keys::KEYS {
        assert!(screen.contains(k), "{k} missing from help:\n{screen}");
    }
    insta::assert_snapshot!("help", screen);
}

#[test]
fn no_color_draws_no_color() {
    let mut a = app(&["llama-3.1-70b"], "m3-max-40c:64", "Q4_K_M");
    a.color = true;
    let colored = render(&a);
    assert!(
        colored
            .backend()
            .buffer()
            .content
            .iter()
            .any(|c| c.fg != Color::Reset),
        "with color on, something is colored"
    );
    a.color = false;
    let plain = render(&a);
    for c in &plain.backend().buffer().content {
        assert_eq!((c.fg, c.bg), (Color::Reset, Color::Reset), "{c:?}");
    }
    // same text either way
    assert_eq!(text(&colored), text(&plain));
}

#[test]
fn measure_on_a_spec_says_it_needs_a_file() {
    let mut a = app(&["llama-3.1-8b"], "rtx-4090", "as stored");
    update(&mut a, Action::Measure);
    assert!(text(&render(&a)).contains("measure: needs a local model file"));
    assert!(a.take_measure_request().is_none());
}

#[test]
fn key_list_doc_matches_the_keys_table() {
    let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/tui-keys.md");
    let want = headroom::tui::keys::keys_markdown();
    if std::env::var_os("HEADROOM_UPDATE_DOCS").is_some() {
        std::fs::write(&doc, &want).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&doc).unwrap_or_default(),
        want,
        "docs/tui-keys.md is stale: rerun with HEADROOM_UPDATE_DOCS=1"
    );
}

#[test]
fn tiny_and_odd_terminal_sizes_do_not_panic() {
    let mut a = app(&["deepseek-v3"], "m3-ultra-80c", "as stored");
    for (w, h) in [(1, 1), (20, 10), (60, 15), (80, 24), (200, 60)] {
        update(&mut a, Action::Resize(w, h));
        for screen in [false, true] {
            a.help = screen;
            let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
            t.draw(|f| view(&a, f)).unwrap();
        }
        for toggle in [Action::ToggleCompare, Action::ToggleDevices] {
            update(&mut a, toggle);
            let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
            t.draw(|f| view(&a, f)).unwrap();
            update(&mut a, toggle);
        }
    }
    // a set of many devices on a small terminal
    let mut a = app(&["llama-3.1-8b"], "rtx-4090:x16", "as stored");
    for (w, h) in [(1, 1), (40, 12), (80, 24), (120, 40)] {
        update(&mut a, Action::Resize(w, h));
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| view(&a, f)).unwrap();
    }
}
