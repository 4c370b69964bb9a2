//! tui::view: draws the explorer. [`view`] is a pure function of [`App`]: it reads the plans that
//! `update` already computed and formats them (numbers through `cli::fmt`); it computes nothing itself.
//! The device-set view ([`Screen::Devices`]) draws a `MultiPlan` the same way: the verdict, one row per
//! device, each device's memory against its own budget, the interconnect and the speed.
//! [`layout`] is shared with `update` so mouse clicks land on what was drawn.

use super::app::{App, Control, HwRow, MeasureState, Pane, Screen};
use super::keys::KEYS;
use crate::cli::fmt;
use crate::estimate::multi::{MultiPlan, SplitMode};
use crate::estimate::{Bound, MemoryBreakdown, Plan, Runtime, SpeedEstimate, Verdict};
use crate::hardware::{Machine, MemoryKind};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table, Wrap,
};

/// Width of the left column (lists and workload controls).
const LEFT_WIDTH: u16 = 38;

/// Where everything goes on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub title: Rect,
    pub models: Rect,
    pub hardware: Rect,
    pub workload: Rect,
    /// The right side as a whole (the compare table uses all of it).
    pub right: Rect,
    pub banner: Rect,
    pub bar: Rect,
    pub breakdown: Rect,
    pub speed: Rect,
    pub decode_chart: Rect,
    pub memory_chart: Rect,
    pub advice: Rect,
    pub status: Rect,
}

/// The screen layout for a terminal of this size.
pub fn layout(area: Rect, app: &App) -> Areas {
    let [title, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let [left, right] =
        Layout::horizontal([Constraint::Length(LEFT_WIDTH), Constraint::Min(0)]).areas(body);
    let [models, hardware, workload] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Length(app.controls().len() as u16 + 2),
    ])
    .areas(left);
    let [banner, bar, tables, charts, advice] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Min(6),
        Constraint::Length(4),
    ])
    .areas(right);
    let [breakdown, speed] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(tables);
    let [decode_chart, memory_chart] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
    Areas {
        title,
        models,
        hardware,
        workload,
        right,
        banner,
        bar,
        breakdown,
        speed,
        decode_chart,
        memory_chart,
        advice,
        status,
    }
}

/// Styles that read on light and dark terminals (only the 8 named ANSI colors, never a fixed
/// foreground like white or black) and that fall back to modifiers alone under NO_COLOR.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }
    pub fn bold(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }
    pub fn border(self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        }
    }
    pub fn selected(self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
    }
    pub fn verdict(self, v: &Verdict) -> Style {
        let c = match v {
            Verdict::Fits => Color::Green,
            Verdict::FitsIfLimitRaised { .. } | Verdict::PartialOffload { .. } => Color::Yellow,
            Verdict::DoesNotFit => Color::Red,
        };
        self.fg(c).add_modifier(Modifier::BOLD)
    }
    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
}

/// Memory segments of the bar: (label, glyph, color). The glyphs differ so the bar reads without color.
pub const SEGMENTS: [(&str, char, Color); 4] = [
    ("weights", '█', Color::Blue),
    ("KV cache", '▓', Color::Magenta),
    ("compute", '▒', Color::Yellow),
    ("overhead", '░', Color::Cyan),
];

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else if width == 0 {
        String::new()
    } else {
        let mut t: String = s.chars().take(width - 1).collect();
        t.push('…');
        t
    }
}

fn block(title: &str, focused: bool, theme: Theme) -> Block<'static> {
    Block::bordered()
        .title(format!(" {title} "))
        .border_style(theme.border(focused))
}

/// Draw the whole screen.
pub fn view(app: &App, f: &mut Frame) {
    let theme = Theme { color: app.color };
    let a = layout(f.area(), app);
    draw_title(app, f, a.title, theme);
    draw_models(app, f, a.models, theme);
    draw_hardware(app, f, a.hardware, theme);
    draw_workload(app, f, a.workload, theme);
    match app.screen {
        Screen::Main => draw_main(app, f, &a, theme),
        Screen::Compare => draw_compare(app, f, a.right, theme),
        Screen::Devices => draw_devices(app, f, a.right, theme),
    }
    draw_status(app, f, a.status, theme);
    if app.help {
        draw_help(f, f.area(), theme);
    }
}

fn model_title(app: &App) -> String {
    let name = match app.base_model() {
        Some(Ok(m)) => m.name.clone(),
        _ => app
            .models
            .get(app.model_sel)
            .map(|m| m.label.clone())
            .unwrap_or_default(),
    };
    let q = match (app.quant_idx, app.base_model()) {
        (0, Some(Ok(m))) => m.file_type.clone().unwrap_or_default(),
        (0, _) => String::new(),
        _ => format!("{} (what-if)", app.quant_name()),
    };
    if q.is_empty() {
        name
    } else {
        format!("{name} · {q}")
    }
}

fn machine_title(m: &Machine) -> String {
    format!("{} · {:.0} GiB", m.name, m.memory_bytes as f64 / fmt::GIB)
}

/// The device set in the title: `2× NVIDIA H100 SXM5 80GB`, or a mix in `--hardware` spelling
/// (`m2-ultra-76c:192 + m4-max-40c:128`).
fn set_title(app: &App, devices: &[Machine]) -> String {
    match &app.set.devices {
        super::app::SetDevices::Repeat(_) => crate::cli::multi::setup_name(devices),
        super::app::SetDevices::Mixed(v) => v
            .iter()
            .map(|m| format!("{}:{:.0}", m.id, m.memory_bytes as f64 / fmt::GIB))
            .collect::<Vec<_>>()
            .join(" + "),
    }
}

fn draw_title(app: &App, f: &mut Frame, r: Rect, theme: Theme) {
    let tab = |s: Screen, label: &'static str| {
        if app.screen == s {
            Span::styled(format!(" {label} "), theme.selected(true))
        } else {
            Span::styled(format!(" {label} "), theme.dim())
        }
    };
    let mut spans = vec![
        Span::styled(
            " headroom ",
            theme.fg(Color::Cyan).add_modifier(Modifier::BOLD),
        ),
        Span::raw("│ "),
        Span::styled(model_title(app), theme.bold()),
    ];
    let devices = app.set_devices();
    if app.screen == Screen::Devices && !devices.is_empty() {
        spans.push(Span::raw(" on "));
        spans.push(Span::styled(set_title(app, &devices), theme.bold()));
    } else if let Some(m) = app.machine() {
        spans.push(Span::raw(" on "));
        spans.push(Span::styled(machine_title(m), theme.bold()));
    }
    spans.push(Span::raw(" │"));
    spans.push(tab(Screen::Main, "plan"));
    spans.push(tab(Screen::Compare, "compare (c)"));
    spans.push(tab(Screen::Devices, "devices (x)"));
    // the hint only where it fits (the status line has it too)
    let hint = "│ ? help  q quit";
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    if used + hint.chars().count() <= r.width as usize {
        spans.push(Span::styled(hint, theme.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), r);
}

fn draw_models(app: &App, f: &mut Frame, r: Rect, theme: Theme) {
    let focused = app.focus == Pane::Models;
    let vis = app.visible_models();
    let title = format!("Models {}/{}", vis.len(), app.models.len());
    let b = block(&title, focused, theme);
    let inner = b.inner(r);
    f.render_widget(b, r);
    let w = inner.width as usize;
    let mut lines = Vec::new();
    let editing = app.filter_editing && focused;
    lines.push(if editing || !app.model_filter.is_empty() {
        Line::from(vec![
            Span::styled("/", theme.fg(Color::Cyan)),
            Span::raw(app.model_filter.clone()),
            Span::styled(if editing { "▏" } else { "" }, theme.bold()),
        ])
    } else {
        Line::styled("/ to filter", theme.dim())
    });
    let h = inner.height.saturating_sub(1) as usize;
    for &i in vis.iter().skip(app.model_offset).take(h) {
        let e = &app.models[i];
        let mut label = truncate(&e.label, w.saturating_sub(2));
        if matches!(e.desc, Some(Err(_))) {
            label.push_str(" (!)");
        }
        let style = if i == app.model_sel {
            theme.selected(focused)
        } else {
            Style::new()
        };
        lines.push(Line::styled(
            format!(" {label:<width$}", width = w.saturating_sub(1)),
            style,
        ));
    }
    if vis.is_empty() {
        lines.push(Line::styled(" no model matches", theme.dim()));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_hardware(app: &App, f: &mut Frame, r: Rect, theme: Theme) {
    let focused = app.focus == Pane::Hardware;
    let marked = app.hardware.iter().filter(|h| h.marked).count();
    let title = if marked > 0 {
        format!("Hardware ({marked} marked)")
    } else {
        "Hardware".to_string()
    };
    let title = if !app.hw_filter.is_empty() || (app.filter_editing && focused) {
        format!(
            "{title} /{}{}",
            app.hw_filter,
            if app.filter_editing && focused {
                "▏"
            } else {
                ""
            }
        )
    } else {
        title
    };
    let b = block(&title, focused, theme);
    let inner = b.inner(r);
    f.render_widget(b, r);
    let w = inner.width as usize;
    let rows = app.hw_rows();
    let mut lines = Vec::new();
    for row in rows.iter().skip(app.hw_offset).take(inner.height as usize) {
        match *row {
            HwRow::Heading(g) => lines.push(Line::styled(
                format!("{g} {}", "─".repeat(w.saturating_sub(g.len() + 1))),
                theme.fg(Color::Magenta).add_modifier(Modifier::BOLD),
            )),
            HwRow::Item(i) => {
                let h = &app.hardware[i];
                let sel = i == app.hw_sel;
                let mem = h
                    .machine()
                    .map(|m| format!("{:.0} GiB", m.memory_bytes as f64 / fmt::GIB))
                    .unwrap_or_default();
                let multi = h.machines.len() > 1;
                let mem = if sel && multi {
                    format!("‹{mem}›")
                } else {
                    format!(" {mem} ")
                };
                let mark = if h.marked { "●" } else { " " };
                let name_w = w.saturating_sub(mem.chars().count() + 2);
                let name = truncate(&h.name, name_w);
                let text = format!("{mark} {name:<name_w$}{mem}");
                let style = if sel {
                    theme.selected(focused)
                } else {
                    Style::new()
                };
                lines.push(Line::styled(text, style));
            }
        }
    }
    if rows.is_empty() {
        lines.push(Line::styled(" no hardware matches", theme.dim()));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// The value shown for a workload control.
pub fn control_value(app: &App, c: Control) -> String {
    let w = &app.workload;
    let kv = |t: crate::model::TensorType| t.name().to_ascii_lowercase();
    match c {
        Control::Context => fmt::ctx(w.context),
        Control::CacheK => kv(w.cache_type_k),
        Control::CacheV => kv(w.cache_type_v),
        Control::FlashAttn => if w.flash_attention { "on" } else { "off" }.into(),
        Control::Ubatch => w.ubatch.to_string(),
        Control::NBatch => w.n_batch.to_string(),
        Control::Parallel => w.parallel.to_string(),
        Control::Batch => w.batch.to_string(),
        Control::Quant => app.quant_name().to_string(),
        Control::Runtime => match (w.runtime, w.kv_unified) {
            (Runtime::LlamaCpp, false) => "llama.cpp".into(),
            (Runtime::LlamaCpp, true) => "llama.cpp -kvu".into(),
            (Runtime::Mlx, _) => "mlx".into(),
        },
        Control::Devices | Control::Split | Control::Link => super::app::set_value(app, c),
    }
}

fn draw_workload(app: &App, f: &mut Frame, r: Rect, theme: Theme) {
    let focused = app.focus == Pane::Workload;
    let b = block("Workload", focused, theme);
    let inner = b.inner(r);
    f.render_widget(b, r);
    let w = inner.width as usize;
    let lines: Vec<Line> = app
        .controls()
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let sel = i == app.control_sel;
            let val = control_value(app, c);
            let val = if sel && focused {
                format!("‹{val}›")
            } else {
                format!(" {val} ")
            };
            let text = format!(" {:<13}{:>vw$}", c.label(), val, vw = w.saturating_sub(14));
            let style = if sel && focused {
                theme.selected(true)
            } else {
                Style::new()
            };
            Line::styled(text, style)
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_main(app: &App, f: &mut Frame, a: &Areas, theme: Theme) {
    let Some(machine) = app.machine() else {
        let p =
            Paragraph::new("no hardware profile: pass --hardware or add hardware-profiles/*.yaml")
                .block(block("Verdict", false, theme))
                .wrap(Wrap { trim: true });
        f.render_widget(p, a.banner);
        return;
    };
    let plan = match (app.model(), app.plan()) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => {
            let p = Paragraph::new(Line::styled(format!("cannot plan: {e}"), theme.error()))
                .block(block("Verdict", false, theme).border_style(theme.error()))
                .wrap(Wrap { trim: true });
            f.render_widget(p, a.banner);
            return;
        }
        (_, Some(Ok(p))) => p,
        _ => {
            f.render_widget(
                Paragraph::new("reading…").block(block("Verdict", false, theme)),
                a.banner,
            );
            return;
        }
    };
    draw_banner(f, a.banner, machine, plan, theme);
    draw_bar(f, a.bar, machine, plan, theme);
    draw_breakdown(f, a.breakdown, machine, plan, theme);
    draw_speed(app, f, a.speed, plan, theme);
    draw_charts(app, f, a, plan, theme);
    draw_advice(app, f, a.advice, plan, theme);
}

fn verdict_heading(v: &Verdict) -> &'static str {
    match v {
        Verdict::Fits => "FITS",
        Verdict::FitsIfLimitRaised { .. } => "FITS IF GPU LIMIT RAISED",
        Verdict::PartialOffload { .. } => "PARTIAL OFFLOAD",
        Verdict::DoesNotFit => "DOES NOT FIT",
    }
}

fn draw_banner(f: &mut Frame, r: Rect, m: &Machine, p: &Plan, theme: Theme) {
    let line = crate::cli::plan::verdict_line(m, p);
    draw_verdict(f, r, &line, &p.verdict, theme);
}

/// The verdict banner: the CLI's verdict line, which starts with "<verdict>: ", under the heading that
/// replaces that word.
fn draw_verdict(f: &mut Frame, r: Rect, line: &str, verdict: &Verdict, theme: Theme) {
    let rest = line.split_once(": ").map(|x| x.1).unwrap_or(line);
    let style = theme.verdict(verdict);
    let text = Line::from(vec![
        Span::styled(format!("{} ", verdict_heading(verdict)), style),
        Span::raw(rest.to_string()),
    ]);
    let b = Block::bordered()
        .title(" Verdict ")
        .border_style(style.remove_modifier(Modifier::BOLD));
    f.render_widget(Paragraph::new(text).block(b).wrap(Wrap { trim: true }), r);
}

/// The stacked memory bar: one cell per `scale/width` bytes, where scale is the largest of the total,
/// the GPU budget and the memory size. Returns the bar line and the column of each marker.
pub fn bar_cells(
    width: usize,
    mem: &MemoryBreakdown,
    budget: u64,
    memory: u64,
) -> Vec<Option<usize>> {
    let scale = mem.total_bytes.max(budget).max(memory) as f64;
    let parts = [
        mem.weights_bytes,
        mem.kv_cache_bytes,
        mem.compute_bytes,
        mem.overhead_bytes,
    ];
    (0..width)
        .map(|i| {
            if scale <= 0.0 {
                return None;
            }
            let x = (i as f64 + 0.5) * scale / width as f64;
            let mut end = 0.0;
            for (k, &b) in parts.iter().enumerate() {
                end += b as f64;
                if x < end {
                    return Some(k);
                }
            }
            None
        })
        .collect()
}

/// Column of a marker for `value` on a bar of `width` cells covering `scale` bytes.
pub fn marker_col(width: usize, value: u64, scale: u64) -> usize {
    if scale == 0 || width == 0 {
        return 0;
    }
    let c = (value as f64 / scale as f64 * width as f64).round() as usize;
    c.saturating_sub(1).min(width - 1)
}

/// The bar's cells as styled runs (a segment's glyph and color; `·` for free space).
fn bar_spans(cells: &[Option<usize>], theme: Theme) -> Vec<Span<'static>> {
    let mut spans: Vec<Span> = Vec::new();
    let mut i = 0;
    while i < cells.len() {
        let k = cells[i];
        let mut j = i;
        while j < cells.len() && cells[j] == k {
            j += 1;
        }
        let n = j - i;
        spans.push(match k {
            Some(k) => Span::styled(SEGMENTS[k].1.to_string().repeat(n), theme.fg(SEGMENTS[k].2)),
            None => Span::styled("·".repeat(n), theme.dim()),
        });
        i = j;
    }
    spans
}

fn marker_line(width: usize, col: usize, label: &str, style: Style) -> Line<'static> {
    let right = format!("▲ {label}");
    let left = format!("{label} ▲");
    let (pad, text) = if col + right.chars().count() <= width {
        (col, right)
    } else {
        ((col + 1).saturating_sub(left.chars().count()), left)
    };
    Line::from(vec![Span::raw(" ".repeat(pad)), Span::styled(text, style)])
}

fn draw_bar(f: &mut Frame, r: Rect, m: &Machine, p: &Plan, theme: Theme) {
    let b = Block::bordered().title(format!(
        " Memory: {} needed (±{:.1}%) ",
        fmt::gib(p.memory.total_bytes),
        p.memory_error_pct
    ));
    let inner = b.inner(r);
    f.render_widget(b, r);
    let w = inner.width as usize;
    let cells = bar_cells(w, &p.memory, p.gpu_budget_bytes, m.memory_bytes);
    let spans = bar_spans(&cells, theme);
    let scale = p
        .memory
        .total_bytes
        .max(p.gpu_budget_bytes)
        .max(m.memory_bytes);
    let mem_label = match m.memory_kind {
        MemoryKind::Unified => "RAM",
        MemoryKind::Discrete => "VRAM",
    };
    let budget_col = marker_col(w, p.gpu_budget_bytes, scale);
    let mem_col = marker_col(w, m.memory_bytes, scale);
    let mut legend: Vec<Span> = Vec::new();
    let parts = [
        p.memory.weights_bytes,
        p.memory.kv_cache_bytes,
        p.memory.compute_bytes,
        p.memory.overhead_bytes,
    ];
    for (k, (label, glyph, color)) in SEGMENTS.iter().enumerate() {
        legend.push(Span::styled(format!("{glyph}"), theme.fg(*color)));
        legend.push(Span::raw(format!(" {label} {}  ", fmt::gib1(parts[k]))));
    }
    legend.push(Span::styled("(GiB)", theme.dim()));
    let lines = vec![
        Line::from(spans),
        marker_line(
            w,
            budget_col,
            &format!("GPU budget {}", fmt::gib(p.gpu_budget_bytes)),
            theme.verdict(&p.verdict),
        ),
        marker_line(
            w,
            mem_col,
            &format!("{mem_label} {}", fmt::gib(m.memory_bytes)),
            theme.bold(),
        ),
        Line::from(legend),
    ];
    f.render_widget(Paragraph::new(lines), inner);
}

fn kv_row(label: String, value: String) -> Row<'static> {
    Row::new(vec![
        Cell::from(label),
        Cell::from(Line::from(value).right_aligned()),
    ])
}

fn draw_breakdown(f: &mut Frame, r: Rect, m: &Machine, p: &Plan, theme: Theme) {
    let mem = &p.memory;
    let mut rows = vec![
        kv_row("weights".into(), fmt::gib(mem.weights_bytes)),
        kv_row("KV cache".into(), fmt::gib(mem.kv_cache_bytes)),
        kv_row("compute buffers".into(), fmt::gib(mem.compute_bytes)),
        kv_row("runtime overhead".into(), fmt::gib(mem.overhead_bytes)),
        kv_row(
            format!("total (±{:.1}%)", p.memory_error_pct),
            fmt::gib(mem.total_bytes),
        )
        .style(theme.bold()),
        kv_row("GPU budget".into(), fmt::gib(p.gpu_budget_bytes)),
    ];
    match m.memory_kind {
        MemoryKind::Unified => rows.push(kv_row("RAM".into(), fmt::gib(m.memory_bytes))),
        MemoryKind::Discrete => {
            rows.push(kv_row("VRAM".into(), fmt::gib(m.memory_bytes)));
        }
    }
    let t = Table::new(rows, [Constraint::Fill(1), Constraint::Length(11)])
        .block(Block::bordered().title(" Breakdown "));
    f.render_widget(t, r);
}

fn bound_label(b: Option<Bound>) -> &'static str {
    match b {
        Some(Bound::Memory) => "memory bandwidth",
        Some(Bound::Compute) => "compute",
        None => "-",
    }
}

/// The decode (bold, with its error band and `decode_note`) and prefill rows both speed tables open with.
fn speed_rows(s: &SpeedEstimate, decode_note: &str, theme: Theme) -> [Row<'static>; 2] {
    [
        Row::new(vec![
            Cell::from("decode"),
            Cell::from(Line::from(vec![
                Span::styled(
                    format!("{} tok/s", fmt::tps(s.decode_tokens_per_s)),
                    theme.bold(),
                ),
                Span::raw(format!(" ±{:.0}%{decode_note}", s.decode_error_pct)),
            ])),
        ]),
        Row::new(vec![
            Cell::from("prefill"),
            Cell::from(format!(
                "{} tok/s ±{:.0}%",
                fmt::tps(s.prefill_tokens_per_s),
                s.prefill_error_pct
            )),
        ]),
    ]
}

fn draw_speed(app: &App, f: &mut Frame, r: Rect, p: &Plan, theme: Theme) {
    let s = &p.speed;
    let max_ctx = if p.max_context_by_kv.is_empty() {
        p.max_context
            .map(fmt::ctx_short)
            .unwrap_or_else(|| "none".into())
    } else {
        fmt::max_contexts(&p.max_context_by_kv, fmt::ctx_short)
    };
    let batch = if app.workload.batch > 1 {
        format!(
            "{} tok/s at batch {}",
            fmt::tps(s.batch_tokens_per_s),
            app.workload.batch
        )
    } else {
        "-".to_string()
    };
    let [decode, prefill] = speed_rows(s, "", theme);
    let rows = vec![
        decode,
        prefill,
        Row::new(vec![
            Cell::from("decode bound"),
            Cell::from(bound_label(s.decode_bound)),
        ]),
        Row::new(vec![
            Cell::from("per token"),
            Cell::from(format!(
                "{} at {}",
                fmt::gib(s.bytes_per_token),
                fmt::gbs(s.effective_bandwidth_bytes_per_s)
            )),
        ]),
        Row::new(vec![Cell::from("batched"), Cell::from(batch)]),
        Row::new(vec![
            Cell::from("compute-bound"),
            Cell::from(format!("from batch {}", s.compute_bound_batch)),
        ]),
        Row::new(vec![Cell::from("max context"), Cell::from(max_ctx)]),
    ];
    let t = Table::new(rows, [Constraint::Length(14), Constraint::Fill(1)])
        .block(Block::bordered().title(" Speed "));
    f.render_widget(t, r);
}

fn log2(c: u64) -> f64 {
    (c.max(1) as f64).log2()
}

/// Three axis labels (ends and middle) for the log-context axis.
fn ctx_labels(lo: f64, hi: f64) -> Vec<String> {
    let mid = (lo + hi) / 2.0;
    [lo, mid, hi]
        .iter()
        .map(|&x| fmt::ctx_short(2f64.powf(x).round() as u64))
        .collect()
}

/// A chart against context (log2 x axis from `x.0` to `x.1`) with y from 0 to `ymax`.
fn context_chart<'a>(
    datasets: Vec<Dataset<'a>>,
    title: Line<'a>,
    x: (f64, f64),
    ymax: f64,
    y_labels: Vec<String>,
    theme: Theme,
) -> Chart<'a> {
    Chart::new(datasets)
        .block(Block::bordered().title(title))
        .x_axis(
            Axis::default()
                .bounds([x.0, x.1])
                .labels(ctx_labels(x.0, x.1))
                .style(theme.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, ymax])
                .labels(y_labels)
                .style(theme.dim()),
        )
        .legend_position(None)
}

fn y_labels(hi: f64, f: impl Fn(f64) -> String) -> Vec<String> {
    vec![f(0.0), f(hi / 2.0), f(hi)]
}

fn draw_charts(app: &App, f: &mut Frame, a: &Areas, p: &Plan, theme: Theme) {
    let curve = app.curve();
    let steps = app.steps();
    let (mut lo, mut hi) = (log2(steps[0]), log2(*steps.last().unwrap_or(&steps[0])));
    if hi <= lo {
        lo -= 1.0;
        hi += 1.0;
    }
    let now_x = log2(app.workload.context);

    // decode tok/s vs context (the legend is the block title: charts stay uncovered)
    let dec: Vec<(f64, f64)> = curve
        .iter()
        .map(|(c, p)| (log2(*c), p.speed.decode_tokens_per_s))
        .collect();
    let ymax = dec.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.15;
    let now = [(now_x, p.speed.decode_tokens_per_s)];
    let datasets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.fg(Color::Green))
            .data(&dec),
        Dataset::default()
            .marker(Marker::Block)
            .graph_type(GraphType::Scatter)
            .style(theme.fg(Color::Cyan))
            .data(&now),
    ];
    let title = Line::from(vec![
        Span::raw(" Decode tok/s "),
        Span::styled("⠒", theme.fg(Color::Green)),
        Span::raw(format!(" ±{:.0}% ", p.speed.decode_error_pct)),
        Span::styled("█", theme.fg(Color::Cyan)),
        Span::raw(format!(" now {} ", fmt::ctx_short(app.workload.context))),
    ]);
    let chart = context_chart(
        datasets,
        title,
        (lo, hi),
        ymax,
        y_labels(ymax, fmt::tps),
        theme,
    );
    f.render_widget(chart, a.decode_chart);

    // memory vs context, with the GPU budget line and the largest context that fits
    let gib = |b: u64| b as f64 / fmt::GIB;
    let memv: Vec<(f64, f64)> = curve
        .iter()
        .map(|(c, p)| (log2(*c), gib(p.memory.total_bytes)))
        .collect();
    let budget = gib(p.gpu_budget_bytes);
    let ymax = memv.iter().map(|p| p.1).fold(budget, f64::max).max(1e-9) * 1.1;
    let budget_line = [(lo, budget), (hi, budget)];
    let max_line: Vec<(f64, f64)> = match p.max_context {
        Some(c) if log2(c) >= lo && log2(c) <= hi => vec![(log2(c), 0.0), (log2(c), ymax)],
        _ => Vec::new(),
    };
    let max_name = match p.max_context {
        Some(c) => format!("max {}", fmt::ctx_short(c)),
        None => "max none".to_string(),
    };
    let now = [(now_x, gib(p.memory.total_bytes))];
    let datasets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.fg(Color::Blue))
            .data(&memv),
        Dataset::default()
            .marker(Marker::Dot)
            .graph_type(GraphType::Line)
            .style(theme.verdict(&p.verdict))
            .data(&budget_line),
        Dataset::default()
            .marker(Marker::Dot)
            .graph_type(GraphType::Line)
            .style(theme.fg(Color::Magenta))
            .data(&max_line),
        Dataset::default()
            .marker(Marker::Block)
            .graph_type(GraphType::Scatter)
            .style(theme.fg(Color::Cyan))
            .data(&now),
    ];
    let title = Line::from(vec![
        Span::raw(" GiB "),
        Span::styled("⠒", theme.fg(Color::Blue)),
        Span::raw(" need "),
        Span::styled("•", theme.verdict(&p.verdict)),
        Span::raw(format!(" budget {} ", fmt::gib1(p.gpu_budget_bytes))),
        Span::styled("•", theme.fg(Color::Magenta)),
        Span::raw(format!(" {max_name} ")),
    ]);
    let chart = context_chart(
        datasets,
        title,
        (lo, hi),
        ymax,
        y_labels(ymax, |v| format!("{v:.0}")),
        theme,
    );
    f.render_widget(chart, a.memory_chart);
}

fn draw_advice(app: &App, f: &mut Frame, r: Rect, p: &Plan, theme: Theme) {
    let mut lines: Vec<Line> = p
        .advice
        .iter()
        .map(|s| Line::from(format!("• {s}")))
        .collect();
    if let Some(Ok(m)) = app.model() {
        for w in &m.warnings {
            lines.push(Line::styled(
                format!("warning: {w}"),
                theme.fg(Color::Yellow),
            ));
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled("no advice", theme.dim()));
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(" Advice "))
            .wrap(Wrap { trim: true }),
        r,
    );
}

fn draw_compare(app: &App, f: &mut Frame, r: Rect, theme: Theme) {
    let header = Row::new(vec![
        Cell::from("machine"),
        Cell::from("verdict"),
        Cell::from(Line::from("needs").right_aligned()),
        Cell::from(Line::from("budget").right_aligned()),
        Cell::from(Line::from("decode tok/s").right_aligned()),
        Cell::from(Line::from("prefill").right_aligned()),
        Cell::from(Line::from("max ctx").right_aligned()),
    ])
    .style(theme.bold());
    let rows: Vec<Row> = app
        .compare_rows()
        .into_iter()
        .map(|(i, res)| {
            let h = &app.hardware[i];
            // the --hardware spelling: id:memory
            let name = match h.machine() {
                Some(m) if h.machines.len() > 1 => {
                    format!("{}:{:.0}", h.id, m.memory_bytes as f64 / fmt::GIB)
                }
                _ => h.id.clone(),
            };
            let cells: Vec<Cell> = match res {
                Some(Ok(p)) => vec![
                    Cell::from(name),
                    Cell::from(Span::styled(p.verdict.label(), theme.verdict(&p.verdict))),
                    Cell::from(Line::from(fmt::gib1(p.memory.total_bytes)).right_aligned()),
                    Cell::from(Line::from(fmt::gib1(p.gpu_budget_bytes)).right_aligned()),
                    Cell::from(
                        Line::from(format!(
                            "{} ±{:.0}%",
                            fmt::tps(p.speed.decode_tokens_per_s),
                            p.speed.decode_error_pct
                        ))
                        .right_aligned(),
                    ),
                    Cell::from(Line::from(fmt::tps(p.speed.prefill_tokens_per_s)).right_aligned()),
                    Cell::from(
                        Line::from(
                            p.max_context
                                .map(fmt::ctx_short)
                                .unwrap_or_else(|| "none".into()),
                        )
                        .right_aligned(),
                    ),
                ],
                Some(Err(e)) => vec![
                    Cell::from(name),
                    Cell::from(Span::styled(e.clone(), theme.error())),
                ],
                None => vec![Cell::from(name)],
            };
            let row = Row::new(cells);
            if i == app.hw_sel {
                row.style(theme.selected(app.focus == Pane::Hardware))
            } else {
                row
            }
        })
        .collect();
    let marked = app.hardware.iter().any(|h| h.marked);
    let title = format!(
        " Compare: {} · context {} · {} ",
        model_title(app),
        fmt::ctx_short(app.workload.context),
        if marked {
            "marked machines"
        } else {
            "all listed machines (space marks)"
        }
    );
    let t = Table::new(
        rows,
        [
            Constraint::Fill(1),
            Constraint::Length(20),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(12),
            Constraint::Length(7),
            Constraint::Length(7),
        ],
    )
    .header(header)
    .block(Block::bordered().title(title));
    f.render_widget(t, r);
}

/// A device's verdict in a few letters (the table is narrow; the banner says it in full).
fn verdict_short(v: &Verdict) -> &'static str {
    match v {
        Verdict::Fits => "fits",
        Verdict::FitsIfLimitRaised { .. } => "if raised",
        Verdict::PartialOffload { .. } => "partial",
        Verdict::DoesNotFit => "no fit",
    }
}

/// Seconds as milliseconds: two decimals, three below 0.01 ms (a fast link's share of a token).
fn ms(seconds: f64) -> String {
    let v = seconds * 1e3;
    if v != 0.0 && v.abs() < 0.01 {
        format!("{v:.3}")
    } else {
        format!("{v:.2}")
    }
}

fn right_cell(s: String) -> Cell<'static> {
    Cell::from(Line::from(s).right_aligned())
}

/// The device-set view: verdict, per-device table, memory against each budget, speed, advice.
fn draw_devices(app: &App, f: &mut Frame, r: Rect, theme: Theme) {
    let devices = app.set_devices();
    let message = |f: &mut Frame, text: Line<'static>, style: Style| {
        let p = Paragraph::new(text)
            .block(block("Device set", false, theme).border_style(style))
            .wrap(Wrap { trim: true });
        f.render_widget(p, Rect::new(r.x, r.y, r.width, r.height.min(5)));
    };
    if devices.is_empty() {
        message(
            f,
            Line::from("no hardware selected: pick a machine in the hardware list"),
            Style::new(),
        );
        return;
    }
    let p = match (app.model(), app.multi_plan()) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => {
            message(
                f,
                Line::styled(format!("cannot plan: {e}"), theme.error()),
                theme.error(),
            );
            return;
        }
        (_, Some(Ok(p))) => p,
        _ => {
            message(f, Line::from("reading…"), Style::new());
            return;
        }
    };
    let n = p.devices.len() as u16;
    let [banner, table, bars, speed, advice] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Length(n + 5),
        Constraint::Length(n + 3),
        Constraint::Length(8),
        Constraint::Min(3),
    ])
    .areas(r);
    draw_set_banner(f, banner, &devices, p, theme);
    draw_set_table(f, table, p, theme);
    draw_set_bars(f, bars, p, theme);
    draw_set_speed(f, speed, p, theme);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(note) = &p.interconnect_note {
        lines.push(Line::styled(format!("• {note}"), theme.dim()));
    }
    lines.extend(p.advice.iter().map(|s| Line::from(format!("• {s}"))));
    if let Some(Ok(m)) = app.model() {
        for w in &m.warnings {
            lines.push(Line::styled(
                format!("warning: {w}"),
                theme.fg(Color::Yellow),
            ));
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled("no advice", theme.dim()));
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(" Advice "))
            .wrap(Wrap { trim: true }),
        advice,
    );
}

fn draw_set_banner(f: &mut Frame, r: Rect, devices: &[Machine], p: &MultiPlan, theme: Theme) {
    let line = crate::cli::multi::verdict_line(devices, p);
    draw_verdict(f, r, &line, &p.verdict, theme);
}

fn draw_set_table(f: &mut Frame, r: Rect, p: &MultiPlan, theme: Theme) {
    let header = Row::new(vec![
        Cell::from("device"),
        Cell::from("layers"),
        right_cell("weights".into()),
        right_cell("KV".into()),
        right_cell("compute".into()),
        right_cell("need/budget".into()),
        Cell::from("verdict"),
        right_cell("ms/tk".into()),
    ])
    .style(theme.bold());
    let mut rows: Vec<Row> = p
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let m = &d.memory;
            Row::new(vec![
                Cell::from(format!("{i} {}", d.id)),
                Cell::from(crate::cli::multi::layers_cell(p, d)),
                right_cell(fmt::gib1(m.weights_bytes)),
                right_cell(fmt::gib1(m.kv_cache_bytes)),
                right_cell(fmt::gib1(m.compute_bytes)),
                right_cell(format!(
                    "{}/{}",
                    fmt::gib1(m.total_bytes),
                    fmt::gib1(d.budget_bytes)
                )),
                Cell::from(Span::styled(
                    verdict_short(&d.verdict),
                    theme.verdict(&d.verdict),
                )),
                right_cell(ms(d.decode_s)),
            ])
        })
        .collect();
    rows.push(
        Row::new(vec![
            Cell::from("host CPU"),
            Cell::from("input"),
            right_cell(fmt::gib1(p.host.weights_bytes)),
            right_cell("-".into()),
            right_cell("-".into()),
            right_cell(format!(
                "{}/RAM",
                fmt::gib1(p.host.weights_bytes + p.host.output_bytes)
            )),
            Cell::from(""),
            Cell::from(""),
        ])
        .style(theme.dim()),
    );
    rows.push(Row::new(vec![
        Cell::from("interconnect"),
        Cell::from(format!(
            "{} transfer{}",
            p.transfers_per_token,
            if p.transfers_per_token == 1 { "" } else { "s" }
        )),
        Cell::from(""),
        Cell::from(""),
        Cell::from(""),
        Cell::from(""),
        Cell::from(""),
        right_cell(ms(p.interconnect_s_per_token)),
    ]));
    let t = Table::new(
        rows,
        [
            Constraint::Fill(1),
            Constraint::Length(13),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(11),
            Constraint::Length(9),
            Constraint::Length(6),
        ],
    )
    .header(header)
    .block(Block::bordered().title(format!(
        " Devices · {} · GiB, total ±{:.1}% ",
        p.how(),
        p.memory_error_pct
    )));
    f.render_widget(t, r);
}

/// One bar per device: its weights, KV, compute and overhead against its own budget.
fn draw_set_bars(f: &mut Frame, r: Rect, p: &MultiPlan, theme: Theme) {
    let b = Block::bordered()
        .title(" Memory per device (bar = its GPU budget; ┃ = the budget when over) ");
    let inner = b.inner(r);
    f.render_widget(b, r);
    let w = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    for (i, d) in p.devices.iter().enumerate() {
        let pct = if d.budget_bytes > 0 {
            100.0 * d.memory.total_bytes as f64 / d.budget_bytes as f64
        } else {
            f64::INFINITY
        };
        let label = format!(" {pct:>4.0}% of {} GiB", fmt::gib1(d.budget_bytes));
        let prefix = format!("{i} ");
        let bar_w = w.saturating_sub(prefix.chars().count() + label.chars().count());
        let cells = bar_cells(bar_w, &d.memory, d.budget_bytes, 0);
        let mut spans = vec![Span::raw(prefix)];
        if d.memory.total_bytes > d.budget_bytes && bar_w > 0 {
            // over its budget: the bar is the need, and ┃ marks where the budget ends
            let col = marker_col(bar_w, d.budget_bytes, d.memory.total_bytes);
            spans.extend(bar_spans(&cells[..col], theme));
            spans.push(Span::styled("┃", theme.verdict(&d.verdict)));
            spans.extend(bar_spans(&cells[col + 1..], theme));
        } else {
            spans.extend(bar_spans(&cells, theme));
        }
        spans.push(Span::styled(label, theme.verdict(&d.verdict)));
        lines.push(Line::from(spans));
    }
    let mut legend: Vec<Span> = Vec::new();
    for (label, glyph, color) in SEGMENTS.iter() {
        legend.push(Span::styled(format!("{glyph}"), theme.fg(*color)));
        legend.push(Span::raw(format!(" {label}  ")));
    }
    legend.push(Span::styled("· free", theme.dim()));
    lines.push(Line::from(legend));
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_set_speed(f: &mut Frame, r: Rect, p: &MultiPlan, theme: Theme) {
    let s = &p.speed;
    let how = match p.split {
        SplitMode::Layer => "devices in turn",
        _ => "devices together",
    };
    let link_pct = 100.0 * p.interconnect_s_per_token * s.decode_tokens_per_s;
    let l = &p.interconnect;
    let max_ctx = fmt::max_contexts(&p.max_context_by_kv, fmt::ctx_short);
    let [decode, prefill] = speed_rows(s, &format!("  {how}"), theme);
    let rows = vec![
        decode,
        prefill,
        Row::new(vec![
            Cell::from("per token"),
            Cell::from(format!(
                "{} read; {:.1}% of the time on the interconnect",
                fmt::gib(s.bytes_per_token),
                link_pct
            )),
        ]),
        Row::new(vec![
            Cell::from("interconnect"),
            Cell::from(format!(
                "{}: {} one way, {:.0} µs a transfer",
                l.name,
                fmt::gbs(l.bandwidth_bytes_per_s),
                l.latency_s * 1e6
            )),
        ]),
        Row::new(vec![
            Cell::from("max context"),
            Cell::from(format!("{max_ctx} (every device)")),
        ]),
        Row::new(vec![
            Cell::from("host CPU"),
            Cell::from(format!(
                "{} input embeddings, {} logits (RAM)",
                fmt::gib(p.host.weights_bytes),
                fmt::gib(p.host.output_bytes)
            )),
        ]),
    ];
    let t = Table::new(rows, [Constraint::Length(13), Constraint::Fill(1)])
        .block(Block::bordered().title(" Speed "));
    f.render_widget(t, r);
}

/// The status line's text: the last message, the measure state, or the key hints.
pub fn status_text(app: &App) -> String {
    if let Some(s) = &app.status {
        return s.clone();
    }
    match &app.measure {
        MeasureState::NeedsFile => return "measure: needs a local model file".into(),
        MeasureState::Requested(r) => return format!("measure: requested for {}", r.model),
        MeasureState::Reported(s) => return s.clone(),
        MeasureState::Idle => {}
    }
    if app.filter_editing {
        return "type to filter · Enter keep · Esc clear".into();
    }
    if app.screen == Screen::Devices {
        return "s split · t -ts · i/I link · d/D devices · space mark · +/- context · Tab pane · x/Esc one device · ? help · q quit"
            .into();
    }
    "Tab pane · ↑↓ select · ←→ change · +/- context · / filter · space mark · c compare · m measure · ? help · q quit"
        .into()
}

fn draw_status(app: &App, f: &mut Frame, r: Rect, theme: Theme) {
    let style = if app.status.is_some() || app.measure != MeasureState::Idle {
        theme.fg(Color::Yellow)
    } else {
        theme.dim()
    };
    f.render_widget(Paragraph::new(Line::styled(status_text(app), style)), r);
}

fn draw_help(f: &mut Frame, area: Rect, theme: Theme) {
    let h = (KEYS.len() as u16 + 4).min(area.height);
    let w = 96.min(area.width);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let rows: Vec<Row> = KEYS
        .iter()
        .map(|(k, what)| {
            Row::new(vec![
                Cell::from(Span::styled(
                    *k,
                    theme.fg(Color::Cyan).add_modifier(Modifier::BOLD),
                )),
                Cell::from(*what),
            ])
        })
        .collect();
    let t = Table::new(rows, [Constraint::Length(20), Constraint::Fill(1)]).block(
        Block::bordered()
            .title(" Keys (? or Esc closes) ")
            .border_style(theme.border(true)),
    );
    f.render_widget(Clear, r);
    f.render_widget(t, r);
}
