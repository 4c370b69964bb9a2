//! tui::keys: terminal events to [`Action`]s, and the key list (the `?` help and `docs/tui-keys.md`
//! are both generated from [`KEYS`], and a test holds the mapping to that list).

use super::app::{Action, App};
use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

/// Every key, as shown in the help overlay: (keys, what they do).
pub const KEYS: &[(&str, &str)] = &[
    ("q, Ctrl-C", "quit"),
    (
        "Esc",
        "close help / filter / compare / device set; quit from the plan view",
    ),
    ("?", "show or hide this help"),
    (
        "Tab, Shift-Tab",
        "next / previous pane (models, hardware, workload)",
    ),
    ("↑ ↓, k j", "move in the focused list"),
    ("PgUp PgDn Home End", "jump in the focused list"),
    (
        "← →, h l",
        "hardware: memory size; workload: change value; models: what-if quant",
    ),
    (
        "+ -",
        "context up / down (512, 1k, 2k ... model's context length)",
    ),
    (
        "/",
        "filter the models (or hardware) list; Enter keeps, Esc clears",
    ),
    (
        "space",
        "mark a machine for the compare (c) and device-set (x) views",
    ),
    (
        "c",
        "compare view: the model on the marked (or all listed) machines",
    ),
    (
        "u, U",
        "what-if quant: next / previous (as stored, llama.cpp mixes, mlx)",
    ),
    ("K, V", "cycle K / V cache type (f16, q8_0, q4_0)"),
    ("f", "flash attention on / off"),
    (
        "r",
        "runtime: llama.cpp / mlx / llama.cpp -kvu (unified KV)",
    ),
    (
        "x",
        "device-set view: marked machines (or 2× the selected one); x again leaves",
    ),
    ("s", "device set: split mode layer / row / tensor"),
    (
        "t",
        "device set: llama.cpp -ts even / by each device's budget (the default)",
    ),
    (
        "i, I",
        "device set: next / previous link (NVLink, PCIe, Thunderbolt, Ethernet)",
    ),
    (
        "d, D",
        "device set: one device more / fewer (N of one machine)",
    ),
    ("m", "measure decode (needs a local model file)"),
    (
        "mouse",
        "click selects; wheel scrolls a list (over the charts: context)",
    ),
];

/// Map one terminal event to an action (None: ignored).
pub fn map_event(app: &App, ev: &Event) -> Option<Action> {
    match ev {
        Event::Key(k) => map_key(app, k),
        Event::Mouse(m) => map_mouse(m),
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}

fn map_mouse(m: &MouseEvent) -> Option<Action> {
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => Some(Action::Click(m.column, m.row)),
        MouseEventKind::ScrollUp => Some(Action::ScrollUp(m.column, m.row)),
        MouseEventKind::ScrollDown => Some(Action::ScrollDown(m.column, m.row)),
        _ => None,
    }
}

/// Map a key press to an action.
pub fn map_key(app: &App, k: &KeyEvent) -> Option<Action> {
    if k.kind == KeyEventKind::Release {
        return None;
    }
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        return match k.code {
            KeyCode::Char('c') => Some(Action::Quit),
            _ => None,
        };
    }
    if app.filter_editing {
        return match k.code {
            KeyCode::Esc => Some(Action::FilterCancel),
            KeyCode::Enter => Some(Action::FilterAccept),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char(c) => Some(Action::FilterChar(c)),
            KeyCode::Up => Some(Action::Up),
            KeyCode::Down => Some(Action::Down),
            KeyCode::Tab => Some(Action::NextPane),
            _ => None,
        };
    }
    Some(match k.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Tab => Action::NextPane,
        KeyCode::BackTab => Action::PrevPane,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Left | KeyCode::Char('h') => Action::Left,
        KeyCode::Right | KeyCode::Char('l') => Action::Right,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home => Action::Home,
        KeyCode::End => Action::End,
        KeyCode::Char('+') | KeyCode::Char('=') => Action::ContextUp,
        KeyCode::Char('-') | KeyCode::Char('_') => Action::ContextDown,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Char(' ') => Action::ToggleMark,
        KeyCode::Char('c') => Action::ToggleCompare,
        KeyCode::Char('u') => Action::QuantNext,
        KeyCode::Char('U') => Action::QuantPrev,
        KeyCode::Char('K') => Action::CycleCacheK,
        KeyCode::Char('V') => Action::CycleCacheV,
        KeyCode::Char('f') => Action::ToggleFlash,
        KeyCode::Char('r') => Action::ToggleRuntime,
        KeyCode::Char('x') => Action::ToggleDevices,
        KeyCode::Char('s') => Action::CycleSplit,
        KeyCode::Char('t') => Action::ToggleEvenSplit,
        KeyCode::Char('i') => Action::LinkNext,
        KeyCode::Char('I') => Action::LinkPrev,
        KeyCode::Char('d') => Action::DevicesMore,
        KeyCode::Char('D') => Action::DevicesFewer,
        KeyCode::Char('m') => Action::Measure,
        KeyCode::Enter => Action::Right,
        _ => return None,
    })
}

/// The key list as Markdown (the content of `docs/tui-keys.md`).
pub fn keys_markdown() -> String {
    let mut s = String::from(
        "# headroom tui: keys\n\n\
         `headroom tui [MODEL...] [--hardware H]` (or `headroom` alone on a terminal) opens the explorer;\n\
         a device set (`--hardware h100-sxm:x2`, `a+b`) opens the device-set view.\n\
         This list is generated from `src/tui/keys.rs` (`KEYS`); a test keeps the two equal.\n\n\
         | keys | action |\n| --- | --- |\n",
    );
    for (k, what) in KEYS {
        s.push_str(&format!("| {} | {} |\n", k.replace('|', "\\|"), what));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::{HwEntry, ModelEntry};

    fn press(app: &App, c: char) -> Option<Action> {
        map_key(app, &KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[test]
    fn device_set_keys_map_to_their_actions_and_are_listed() {
        let app = App::new(Vec::<ModelEntry>::new(), Vec::<HwEntry>::new());
        for (c, a) in [
            ('x', Action::ToggleDevices),
            ('s', Action::CycleSplit),
            ('t', Action::ToggleEvenSplit),
            ('i', Action::LinkNext),
            ('I', Action::LinkPrev),
            ('d', Action::DevicesMore),
            ('D', Action::DevicesFewer),
        ] {
            assert_eq!(press(&app, c), Some(a), "{c}");
        }
        for k in ["x", "s", "t", "i, I", "d, D"] {
            assert!(KEYS.iter().any(|(keys, _)| *keys == k), "{k} not in KEYS");
        }
    }
}
