//! TUI responsiveness: one keystroke = `update` (re-plan what changed) + `view` into a 120x40
//! TestBackend, for llama-3.1-70b Q4_K_M on m3-max-40c:64. Target: at most 2 ms.
//!
//! - `context_step`: +/- (plans cached per model, machine and workload; the usual keystroke).
//! - `kv_type_cold`: a K cache type change with the plan cache emptied first: the keystroke's first
//!   frame (new plan, verdict, numbers; the chart's other points are planned when no key waits).
//! - `kv_type_cold_full_chart`: the same plus planning all 9 chart points (as `fill_chart` does when
//!   idle), on as many threads as there are cores.
//! - `machine_switch_cold`: the next memory size, plan cache emptied, first frame.
//! - `devices_*`: the device-set view, llama-3.1-70b Q4_K_M on `h100-sxm:x2`: `context_step` (+/-,
//!   cached), `split_cold` (`s` with the cache emptied: one `plan_multi`, whose largest-context search
//!   re-plans the devices about 3×17 times; cycles layer, row, tensor), `layer_kv_cold` and
//!   `tensor_kv_cold` (a K cache type change with the cache emptied, under each split), `count_cold`
//!   (`d`/`D`, 2 <-> 3 devices, cache emptied).

use criterion::{Criterion, criterion_group, criterion_main};
use headroom::hardware::profile;
use headroom::tui::{self, Action, App, update, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;

fn app() -> App {
    app_on("m3-max-40c:64")
}

fn app_on(hardware: &str) -> App {
    let hw = tui::sources::hardware_from(profile::bundled().expect("bundled profiles"));
    let mut a =
        tui::build_app_with(&["llama-3.1-70b".to_string()], Some(hardware), hw).expect("app");
    assert!(a.select_quant("Q4_K_M"));
    update(&mut a, Action::Resize(120, 40));
    a.fill_chart();
    assert!(
        matches!(a.plan(), Some(Ok(_))) || matches!(a.multi_plan(), Some(Ok(_))),
        "the 70B plans"
    );
    a
}

fn bench(c: &mut Criterion) {
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut a = app();
    let mut up = true;
    c.bench_function("tui/context_step+render", |b| {
        b.iter(|| {
            update(
                &mut a,
                if up {
                    Action::ContextUp
                } else {
                    Action::ContextDown
                },
            );
            up = !up;
            term.draw(|f| view(black_box(&a), f)).unwrap();
        })
    });
    let mut a = app();
    c.bench_function("tui/kv_type_cold+render", |b| {
        b.iter(|| {
            a.clear_plan_cache();
            update(&mut a, Action::CycleCacheK);
            term.draw(|f| view(black_box(&a), f)).unwrap();
        })
    });
    let mut a = app();
    c.bench_function("tui/kv_type_cold_full_chart+render", |b| {
        b.iter(|| {
            a.clear_plan_cache();
            update(&mut a, Action::CycleCacheK);
            a.fill_chart();
            term.draw(|f| view(black_box(&a), f)).unwrap();
        })
    });
    let mut a = app();
    update(&mut a, Action::NextPane); // hardware pane
    let mut right = true;
    c.bench_function("tui/machine_switch_cold+render", |b| {
        b.iter(|| {
            a.clear_plan_cache();
            update(&mut a, if right { Action::Right } else { Action::Left });
            right = !right;
            term.draw(|f| view(black_box(&a), f)).unwrap();
        })
    });

    let mut a = app_on("h100-sxm:x2");
    let mut up = true;
    c.bench_function("tui/devices_context_step+render", |b| {
        b.iter(|| {
            update(
                &mut a,
                if up {
                    Action::ContextUp
                } else {
                    Action::ContextDown
                },
            );
            up = !up;
            term.draw(|f| view(black_box(&a), f)).unwrap();
        })
    });
    let mut a = app_on("h100-sxm:x2");
    c.bench_function("tui/devices_split_cold+render", |b| {
        b.iter(|| {
            a.clear_plan_cache();
            update(&mut a, Action::CycleSplit);
            term.draw(|f| view(black_box(&a), f)).unwrap();
        })
    });
    for (name, presses) in [
        ("tui/devices_layer_kv_cold+render", 0),
        ("tui/devices_tensor_kv_cold+render", 2),
    ] {
        let mut a = app_on("h100-sxm:x2");
        for _ in 0..presses {
            update(&mut a, Action::CycleSplit);
        }
        c.bench_function(name, |b| {
            b.iter(|| {
                a.clear_plan_cache();
                update(&mut a, Action::CycleCacheK);
                term.draw(|f| view(black_box(&a), f)).unwrap();
            })
        });
    }
    let mut a = app_on("h100-sxm:x2");
    let mut more = true;
    c.bench_function("tui/devices_count_cold+render", |b| {
        b.iter(|| {
            a.clear_plan_cache();
            update(
                &mut a,
                if more {
                    Action::DevicesMore
                } else {
                    Action::DevicesFewer
                },
            );
            more = !more;
            term.draw(|f| view(black_box(&a), f)).unwrap();
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
