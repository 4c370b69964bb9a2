//! tui: the interactive explorer (ratatui + crossterm), as state -> update -> view.
//!
//! - [`app`]: the state ([`App`]) and [`update`], which applies an [`Action`] and then asks
//!   `estimate::plan::plan()` (or `estimate::multi::plan_multi()` for a device set) for whatever the
//!   screen shows (cached per model, machine or devices, and workload).
//! - [`view`]: draws the state; a pure function of [`App`].
//! - [`keys`]: terminal events to actions, and the key list behind `?` and `docs/tui-keys.md`.
//! - [`sources`]: what the model and hardware lists hold.
//!
//! [`run`] owns the terminal: raw mode, alternate screen and mouse capture, restored on exit, on error
//! and on panic.

pub mod app;
pub mod keys;
pub mod sources;
pub mod view;

pub use app::{Action, App, MeasureRequest, MeasureState, update};
pub use view::view;

use crate::cli::ExitCode;
use crate::error::{Error, Result};
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use std::io::IsTerminal;

/// Build the explorer for these command-line models (files, folders, spec ids) and machines
/// (`--hardware`, as `headroom plan` takes it). Several machines are marked and open the compare view;
/// a device set (`h100-sxm:x2`, `a+b`) opens the device-set view.
pub fn build_app(models: &[String], hardware: Option<&str>) -> Result<App> {
    build_app_with(models, hardware, sources::hardware_entries()?)
}

/// [`build_app`] over a given hardware list (tests use the bundled profiles only).
pub fn build_app_with(
    models: &[String],
    hardware: Option<&str>,
    hw: Vec<app::HwEntry>,
) -> Result<App> {
    let ids = crate::model::spec::bundled_ids();
    let (entries, sel) = sources::model_entries(models, &ids)?;
    let mut app = App::new(entries, hw);
    if let Some(i) = sel {
        app.model_sel = i;
    }
    if let Some(h) = hardware {
        if crate::hardware::profile::names_several_devices(h) {
            let (mut setups, _) = crate::hardware::profile::resolve_setups(h, false)?;
            if setups.len() != 1 {
                return Err(crate::error::Error::usage(format!(
                    "--hardware {h}: the explorer shows one device set at a time (`h100-sxm:x2` or \
                     `a+b`); to compare setups run `headroom plan MODEL --hardware {h}`"
                )));
            }
            open_set(&mut app, setups.remove(0));
            return Ok(app);
        }
        let machines = crate::hardware::profile::resolve(h)?;
        let several = machines.len() > 1;
        for m in machines.iter().rev() {
            app.select_machine(m, several);
        }
        if several {
            app.screen = app::Screen::Compare;
        }
    }
    Ok(app)
}

/// Open the device-set view over `devices` (from `--hardware`): N of one machine becomes a set whose
/// count the keys change and whose machine follows the hardware list; anything else a fixed mix.
fn open_set(app: &mut App, devices: Vec<crate::hardware::Machine>) {
    let Some(first) = devices.first().cloned() else {
        return;
    };
    app.select_machine(&first, false);
    let repeat = devices.iter().all(|m| *m == first) && app.machine() == Some(&first);
    app.set.devices = if repeat {
        app::SetDevices::Repeat(devices.len())
    } else {
        app::SetDevices::Mixed(devices)
    };
    app.screen = app::Screen::Devices;
}

/// The measured-decode hook: the shell calls this when the user presses `m` on a model file.
/// `crate::measure` is wired in here (by the lead); until then it says so, and reports no number.
pub fn measure_hook(req: &MeasureRequest) -> MeasureState {
    use crate::measure::{Backend, MeasureOptions, measure};
    let run = || -> Result<String> {
        let model = crate::model::load(&req.model)?;
        let machine = crate::hardware::profile::resolve(&req.machine_id)?;
        let budget = machine.first().map(|m| m.gpu_budget_bytes).unwrap_or(0);
        let opts = MeasureOptions {
            backend: Backend::Auto,
            tokens: 16,
            context: req.workload.context,
            cache_type_k: req.workload.cache_type_k,
            cache_type_v: req.workload.cache_type_v,
            budget_bytes: budget,
        };
        let m = measure(&model, &opts, &mut |_| {})?;
        Ok(format!(
            "measured: {} tok/s on {} ({} effective, copy {})",
            crate::cli::fmt::tps(m.decode_tokens_per_s),
            m.adapter,
            crate::cli::fmt::gbs(m.effective_bandwidth_bytes_per_s),
            crate::cli::fmt::gbs(m.copy_bandwidth_bytes_per_s)
        ))
    };
    match run() {
        Ok(s) => MeasureState::Reported(s),
        Err(e) => MeasureState::Reported(format!("measure failed: {e}")),
    }
}

/// Restores the terminal when dropped (normal exit, `?` error return, or unwinding panic).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        ratatui::restore();
    }
}

/// `headroom tui`: run the explorer until the user quits.
pub fn run(models: &[String], hardware: Option<&str>) -> Result<ExitCode> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(Error::usage(
            "the TUI needs a terminal; for scripts use `headroom plan MODEL --hardware H` (see `headroom --help`)",
        ));
    }
    let mut app = build_app(models, hardware)?;
    let io = |e: std::io::Error| Error::failure(format!("terminal: {e}"));
    let mut terminal = ratatui::try_init().map_err(io)?;
    let _guard = TerminalGuard;
    // ratatui's panic hook restores the screen; also switch mouse reporting off first
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        prev(info);
    }));
    execute!(std::io::stdout(), EnableMouseCapture).map_err(io)?;
    let size = terminal.size().map_err(io)?;
    update(&mut app, Action::Resize(size.width, size.height));
    loop {
        terminal.draw(|f| view(&app, f)).map_err(io)?;
        if app.quit {
            break;
        }
        // the chart's points are planned while no key waits, so typing never queues behind them
        if app.chart_pending() && !event::poll(std::time::Duration::ZERO).map_err(io)? {
            app.fill_chart();
            continue;
        }
        let ev = event::read().map_err(io)?;
        if let Some(a) = keys::map_event(&app, &ev) {
            update(&mut app, a);
        }
        if let Some(req) = app.take_measure_request() {
            app.measure = measure_hook(&req);
        }
    }
    Ok(0)
}
