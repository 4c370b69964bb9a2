//! tui::app: the explorer's whole state ([`App`]) and the one function that changes it ([`update`]).
//!
//! Every number shown comes from `estimate::plan::plan()` (one machine) or
//! `estimate::multi::plan_multi()` (a device set: one model split over several devices); this module
//! only decides which (model, machine or devices, workload, split, link) to ask about, caches the
//! answers, and keeps selections and scroll offsets consistent. After each [`Action`], [`update`]
//! makes sure everything the view will read is computed,
//! so `view` stays a pure function of the state.

use crate::error::Result;
use crate::estimate::multi::{MultiOptions, MultiPlan, SplitMode};
use crate::estimate::{Plan, Runtime, Workload};
use crate::hardware::link::{self, LINKS};
use crate::hardware::{Machine, Vendor};
use crate::model::{ModelDesc, ModelFormat, TensorType};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The planner the TUI asks; the real one is [`crate::estimate::plan::plan`].
pub type Planner = fn(&ModelDesc, &Machine, &Workload) -> Result<Plan>;
/// The multi-device planner the TUI asks; the real one is [`crate::estimate::multi::plan_multi`].
pub type MultiPlanner = fn(&ModelDesc, &[Machine], &Workload, &MultiOptions) -> Result<MultiPlan>;
/// Reads a model by the argument the user gave (path or bundled spec id): [`crate::model::load`].
pub type Loader = fn(&str) -> Result<ModelDesc>;
/// Re-types a model as a what-if quantization (`Q4_K_M`, `mlx-4bit`...): [`requantize_by_name`].
pub type Requantizer = fn(&ModelDesc, &str) -> Result<ModelDesc>;

/// The real what-if quantization: `model::quantize::{parse_target, requantize}`.
pub fn requantize_by_name(m: &ModelDesc, target: &str) -> Result<ModelDesc> {
    let t = crate::model::quantize::parse_target(target)?;
    crate::model::quantize::requantize(m, &t)
}

/// Smallest context step offered (tokens).
pub const MIN_CONTEXT: u64 = 512;
/// Upper end of the context steps when a model does not state its context length.
pub const FALLBACK_CONTEXT_LENGTH: u64 = 131_072;
/// Label of the "no what-if quantization" choice.
pub const AS_STORED: &str = "as stored";
/// KV cache types offered for K and V.
pub const KV_TYPES: [TensorType; 3] = [TensorType::F16, TensorType::Q8_0, TensorType::Q4_0];
pub const UBATCH_STEPS: [u32; 8] = [32, 64, 128, 256, 512, 1024, 2048, 4096];
pub const NBATCH_STEPS: [u32; 9] = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];
pub const PARALLEL_STEPS: [u32; 7] = [1, 2, 4, 8, 16, 32, 64];
pub const BATCH_STEPS: [u32; 9] = [1, 2, 4, 8, 16, 32, 64, 128, 256];
/// Split modes in the order `s` cycles them.
pub const SPLIT_MODES: [SplitMode; 3] = [SplitMode::Layer, SplitMode::Row, SplitMode::Tensor];
/// Fewest devices in a set (one device is the plan view).
pub const MIN_SET_DEVICES: usize = 2;
/// Most devices in a set (as `--hardware ID:xN` allows).
pub const MAX_SET_DEVICES: usize = crate::hardware::profile::arg::MAX_DEVICES;
/// Most plans kept before the cache is emptied (each is a few hundred bytes).
const PLAN_CACHE_MAX: usize = 20_000;

/// Context steps from 512 doubling up to the model's context length (which ends the list even when
/// it is not a power of two). A model shorter than 512 tokens gets its own length only.
pub fn context_steps(context_length: u64) -> Vec<u64> {
    let top = if context_length == 0 {
        FALLBACK_CONTEXT_LENGTH
    } else {
        context_length
    };
    let mut v = Vec::new();
    let mut c = MIN_CONTEXT;
    while c < top {
        v.push(c);
        c *= 2;
    }
    v.push(top);
    v
}

/// Where a list entry's model comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSource {
    /// A bundled spec id (always listed).
    Bundled(String),
    /// A file or folder from the command line (or found in a folder given there).
    Path(PathBuf),
    /// Already read (tests, benches, or a model passed in by the caller).
    Given,
}

/// One row of the model list. The model is read when first selected.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    pub label: String,
    pub source: ModelSource,
    pub desc: Option<std::result::Result<Arc<ModelDesc>, String>>,
}

impl ModelEntry {
    pub fn bundled(id: &str) -> Self {
        ModelEntry {
            label: id.to_string(),
            source: ModelSource::Bundled(id.to_string()),
            desc: None,
        }
    }
    pub fn path(p: PathBuf) -> Self {
        ModelEntry {
            label: p.display().to_string(),
            source: ModelSource::Path(p),
            desc: None,
        }
    }
    pub fn given(label: &str, desc: ModelDesc) -> Self {
        ModelEntry {
            label: label.to_string(),
            source: ModelSource::Given,
            desc: Some(Ok(Arc::new(desc))),
        }
    }
    /// The argument `model::load` takes for this entry.
    fn load_arg(&self) -> Option<String> {
        match &self.source {
            ModelSource::Bundled(id) => Some(id.clone()),
            ModelSource::Path(p) => Some(p.display().to_string()),
            ModelSource::Given => None,
        }
    }
}

/// One hardware profile with its memory sizes, each already resolved to a [`Machine`].
#[derive(Debug, Clone)]
pub struct HwEntry {
    pub id: String,
    pub name: String,
    pub vendor: Vendor,
    /// One machine per memory option, in the profile's order.
    pub machines: Vec<Machine>,
    /// Selected memory option.
    pub mem_idx: usize,
    /// Marked for the compare view.
    pub marked: bool,
}

impl HwEntry {
    pub fn machine(&self) -> Option<&Machine> {
        self.machines
            .get(self.mem_idx)
            .or_else(|| self.machines.first())
    }
}

/// Which devices the device-set view splits the model over.
#[derive(Debug, Clone, PartialEq)]
pub enum SetDevices {
    /// N of the machine selected in the hardware list (`--hardware h100-sxm:x2`): moving in the hardware
    /// list changes the kind and memory, `d`/`D` the count.
    Repeat(usize),
    /// These machines in this order (`--hardware a+b`, or the machines marked when `x` was pressed).
    Mixed(Vec<Machine>),
}

/// The device-set view's settings: the devices and the `plan --split/--link/--tensor-split` options.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSet {
    pub devices: SetDevices,
    pub split: SplitMode,
    /// A link id from [`link::LINKS`]; `None`: [`link::default_for`] the devices.
    pub link: Option<&'static str>,
    /// llama.cpp `-ts 1,1,...` (an even split) instead of llama.cpp's default, each device's budget
    /// (`t`). A tensor split is even either way.
    pub even: bool,
}

impl Default for DeviceSet {
    fn default() -> Self {
        DeviceSet {
            devices: SetDevices::Repeat(MIN_SET_DEVICES),
            split: SplitMode::Layer,
            link: None,
            even: false,
        }
    }
}

/// The vendor groups of the hardware list, in display order.
pub fn vendor_group(v: Vendor) -> (u8, &'static str) {
    match v {
        Vendor::Apple => (0, "Apple"),
        Vendor::Nvidia => (1, "NVIDIA"),
        Vendor::Amd => (2, "AMD"),
        Vendor::Intel => (3, "Intel"),
        Vendor::Other => (4, "Other"),
    }
}

/// A row of the hardware list: a vendor heading or a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HwRow {
    Heading(&'static str),
    Item(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Models,
    Hardware,
    Workload,
}

impl Pane {
    const ORDER: [Pane; 3] = [Pane::Models, Pane::Hardware, Pane::Workload];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// One model on one machine: verdict, memory bar, breakdown, speed, charts.
    Main,
    /// One model across several machines side by side.
    Compare,
    /// One model split over a device set: per-device table, interconnect, speed.
    Devices,
}

/// The workload controls, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Context,
    CacheK,
    CacheV,
    FlashAttn,
    Ubatch,
    NBatch,
    Parallel,
    Batch,
    Quant,
    Runtime,
    /// Device-set view only: how many devices (`d`/`D`).
    Devices,
    /// Device-set view only: layer / row / tensor split (`s`).
    Split,
    /// Device-set view only: the interconnect (`i`/`I`).
    Link,
}

impl Control {
    pub const ALL: [Control; 10] = [
        Control::Context,
        Control::CacheK,
        Control::CacheV,
        Control::FlashAttn,
        Control::Ubatch,
        Control::NBatch,
        Control::Parallel,
        Control::Batch,
        Control::Quant,
        Control::Runtime,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Control::Context => "context",
            Control::CacheK => "K cache",
            Control::CacheV => "V cache",
            Control::FlashAttn => "flash attn",
            Control::Ubatch => "ubatch",
            Control::NBatch => "batch (-b)",
            Control::Parallel => "parallel",
            Control::Batch => "decode batch",
            Control::Quant => "what-if quant",
            Control::Runtime => "runtime",
            Control::Devices => "devices",
            Control::Split => "split",
            Control::Link => "link",
        }
    }
}

/// What the measured decode (`m`) can do for the current selection.
#[derive(Debug, Clone, PartialEq)]
pub enum MeasureState {
    Idle,
    /// The selection is a bundled spec: there are no weights to run.
    NeedsFile,
    /// Asked for; the shell's measure hook picks it up (see [`App::take_measure_request`]).
    Requested(MeasureRequest),
    /// What the measure hook answered (its own words; nothing is made up here).
    Reported(String),
}

/// A measured decode the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureRequest {
    /// The model argument (path) as given.
    pub model: String,
    pub model_files: Vec<PathBuf>,
    pub machine_id: String,
    pub workload: Workload,
}

/// Everything a keystroke, click or resize can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    /// Esc: close help / filter / compare, else quit.
    Back,
    ToggleHelp,
    NextPane,
    PrevPane,
    Up,
    Down,
    /// Previous value (hardware: smaller memory; workload: previous value of the selected control).
    Left,
    /// Next value.
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    ContextUp,
    ContextDown,
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    FilterAccept,
    FilterCancel,
    ToggleMark,
    ToggleCompare,
    QuantNext,
    QuantPrev,
    CycleCacheK,
    CycleCacheV,
    ToggleFlash,
    ToggleRuntime,
    /// `x`: open the device-set view (the marked machines, or N of the selected one), or leave it.
    ToggleDevices,
    /// `s`: next split mode.
    CycleSplit,
    /// `i` / `I`: next / previous interconnect.
    LinkNext,
    LinkPrev,
    /// `t`: llama.cpp `-ts` even / by budget.
    ToggleEvenSplit,
    /// `d` / `D`: one device more / fewer.
    DevicesMore,
    DevicesFewer,
    Measure,
    Resize(u16, u16),
    Click(u16, u16),
    ScrollUp(u16, u16),
    ScrollDown(u16, u16),
}

/// Cache key: everything `plan()` depends on, by list index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlanKey {
    pub model: usize,
    pub quant: usize,
    pub hw: usize,
    pub mem: usize,
    pub context: u64,
    pub batch: u32,
    pub ubatch: u32,
    pub n_batch: u32,
    pub cache_k: TensorType,
    pub cache_v: TensorType,
    pub flash: bool,
    pub parallel: u32,
    pub mlx: bool,
    pub kv_unified: bool,
}

/// Cache key of a device-set plan: the workload part of [`PlanKey`] (its `hw`/`mem` are 0) and the set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MultiKey {
    pub plan: PlanKey,
    /// Each device's id, memory and budget bytes.
    pub devices: Vec<(String, u64, u64)>,
    pub split: &'static str,
    pub link: &'static str,
    /// `-ts 1,1,...` instead of the budgets.
    pub even: bool,
}

pub type PlanResult = std::result::Result<Arc<Plan>, String>;
pub type MultiResult = std::result::Result<Arc<MultiPlan>, String>;
type ModelResult = std::result::Result<Arc<ModelDesc>, String>;

/// The explorer's state.
pub struct App {
    pub models: Vec<ModelEntry>,
    pub hardware: Vec<HwEntry>,
    /// Selected model (index into `models`).
    pub model_sel: usize,
    /// Selected hardware profile (index into `hardware`).
    pub hw_sel: usize,
    pub model_filter: String,
    pub hw_filter: String,
    /// Typing into the focused list's filter.
    pub filter_editing: bool,
    pub focus: Pane,
    /// Selected row of the workload pane (index into [`Control::ALL`]).
    pub control_sel: usize,
    pub workload: Workload,
    /// `quant_choices[0]` is "as stored".
    pub quant_choices: Vec<String>,
    pub quant_idx: usize,
    pub screen: Screen,
    pub help: bool,
    pub quit: bool,
    /// One line shown in the status bar until the next action.
    pub status: Option<String>,
    pub measure: MeasureState,
    /// Colors on (off when NO_COLOR is set).
    pub color: bool,
    /// Terminal size (columns, rows), for mouse hit-testing and scrolling.
    pub size: (u16, u16),
    /// First visible row of the model list / hardware list.
    pub model_offset: usize,
    pub hw_offset: usize,
    /// The device-set view's devices, split and link (kept while other views show).
    pub set: DeviceSet,
    pub planner: Planner,
    pub multi_planner: MultiPlanner,
    pub loader: Loader,
    pub requantizer: Requantizer,
    quantized: HashMap<(usize, usize), ModelResult>,
    plans: HashMap<PlanKey, PlanResult>,
    multi_plans: HashMap<MultiKey, MultiResult>,
    /// How many times the planner was called (for tests and the bench).
    pub plan_calls: u64,
    /// How many times the multi-device planner was called.
    pub multi_plan_calls: u64,
}

impl App {
    /// A new explorer over these lists; nothing is read or planned until [`App::refresh`] (which
    /// [`update`] calls after every action).
    pub fn new(models: Vec<ModelEntry>, hardware: Vec<HwEntry>) -> App {
        let mut quant_choices = vec![AS_STORED.to_string()];
        quant_choices.extend(
            crate::model::quantize::llama_cpp_targets()
                .iter()
                .map(|s| s.to_string()),
        );
        quant_choices.push("mlx-4bit".into());
        quant_choices.push("mlx-8bit".into());
        App {
            models,
            hardware,
            model_sel: 0,
            hw_sel: 0,
            model_filter: String::new(),
            hw_filter: String::new(),
            filter_editing: false,
            focus: Pane::Models,
            control_sel: 0,
            workload: Workload::default(),
            quant_choices,
            quant_idx: 0,
            screen: Screen::Main,
            help: false,
            quit: false,
            status: None,
            measure: MeasureState::Idle,
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            size: (120, 40),
            model_offset: 0,
            hw_offset: 0,
            set: DeviceSet::default(),
            planner: crate::estimate::plan::plan,
            multi_planner: crate::estimate::multi::plan_multi,
            loader: crate::model::load,
            requantizer: requantize_by_name,
            quantized: HashMap::new(),
            plans: HashMap::new(),
            multi_plans: HashMap::new(),
            plan_calls: 0,
            multi_plan_calls: 0,
        }
    }

    /// Forget every cached plan (the bench uses this to time a cold re-plan).
    pub fn clear_plan_cache(&mut self) {
        self.plans.clear();
        self.multi_plans.clear();
    }

    /// Select the model whose label or source equals `arg`; false if none does.
    pub fn select_model(&mut self, arg: &str) -> bool {
        let found = self.models.iter().position(|m| {
            m.label == arg
                || match &m.source {
                    ModelSource::Bundled(id) => id == arg,
                    ModelSource::Path(p) => p.as_os_str() == arg,
                    ModelSource::Given => false,
                }
        });
        if let Some(i) = found {
            self.model_sel = i;
        }
        found.is_some()
    }

    /// Select the quant choice named `name` (case-insensitive); false if not offered.
    pub fn select_quant(&mut self, name: &str) -> bool {
        match self
            .quant_choices
            .iter()
            .position(|q| q.eq_ignore_ascii_case(name))
        {
            Some(i) => {
                self.quant_idx = i;
                true
            }
            None => false,
        }
    }

    /// Select (and mark, when `mark`) the hardware entry holding this machine: same profile id and
    /// memory size. A machine not in the list is added as its own entry.
    pub fn select_machine(&mut self, m: &Machine, mark: bool) {
        let hit = self.hardware.iter().enumerate().find_map(|(i, h)| {
            h.machines
                .iter()
                .position(|x| x.id == m.id && x.memory_bytes == m.memory_bytes)
                .map(|j| (i, j))
        });
        let (i, j) = match hit {
            Some(ij) => ij,
            None => {
                self.hardware.push(HwEntry {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    vendor: m.vendor,
                    machines: vec![m.clone()],
                    mem_idx: 0,
                    marked: false,
                });
                (self.hardware.len() - 1, 0)
            }
        };
        self.hw_sel = i;
        self.hardware[i].mem_idx = j;
        if mark {
            self.hardware[i].marked = true;
        }
    }

    /// Indices of models passing the filter (case-insensitive substring of label or name).
    pub fn visible_models(&self) -> Vec<usize> {
        let f = self.model_filter.to_ascii_lowercase();
        (0..self.models.len())
            .filter(|&i| f.is_empty() || self.models[i].label.to_ascii_lowercase().contains(&f))
            .collect()
    }

    /// Hardware profiles passing the filter, sorted by vendor group (list order kept within a group).
    pub fn visible_hw(&self) -> Vec<usize> {
        let f = self.hw_filter.to_ascii_lowercase();
        let mut v: Vec<usize> = (0..self.hardware.len())
            .filter(|&i| {
                let h = &self.hardware[i];
                f.is_empty()
                    || h.name.to_ascii_lowercase().contains(&f)
                    || h.id.to_ascii_lowercase().contains(&f)
            })
            .collect();
        v.sort_by_key(|&i| (vendor_group(self.hardware[i].vendor).0, i));
        v
    }

    /// The hardware list as shown: a heading before each vendor group.
    pub fn hw_rows(&self) -> Vec<HwRow> {
        let mut rows = Vec::new();
        let mut last = None;
        for i in self.visible_hw() {
            let g = vendor_group(self.hardware[i].vendor);
            if last != Some(g.0) {
                rows.push(HwRow::Heading(g.1));
                last = Some(g.0);
            }
            rows.push(HwRow::Item(i));
        }
        rows
    }

    pub fn machine(&self) -> Option<&Machine> {
        self.hardware.get(self.hw_sel).and_then(|h| h.machine())
    }

    pub fn quant_name(&self) -> &str {
        self.quant_choices
            .get(self.quant_idx)
            .map(|s| s.as_str())
            .unwrap_or(AS_STORED)
    }

    /// The selected model as planned (after the what-if quantization), once read.
    pub fn model(&self) -> Option<&ModelResult> {
        self.quantized.get(&(self.model_sel, self.quant_idx))
    }

    /// The model as stored (before any what-if quantization).
    pub fn base_model(&self) -> Option<&ModelResult> {
        self.models
            .get(self.model_sel)
            .and_then(|m| m.desc.as_ref())
    }

    /// Context steps for the selected model.
    pub fn steps(&self) -> Vec<u64> {
        let len = match self.base_model() {
            Some(Ok(m)) => m.hparams.context_length,
            _ => 0,
        };
        context_steps(len)
    }

    fn key(&self, hw: usize, mem: usize, context: u64) -> PlanKey {
        let w = &self.workload;
        PlanKey {
            model: self.model_sel,
            quant: self.quant_idx,
            hw,
            mem,
            context,
            batch: w.batch,
            ubatch: w.ubatch,
            n_batch: w.n_batch,
            cache_k: w.cache_type_k,
            cache_v: w.cache_type_v,
            flash: w.flash_attention,
            parallel: w.parallel,
            mlx: w.runtime == Runtime::Mlx,
            kv_unified: w.kv_unified,
        }
    }

    fn plan_at(&self, hw: usize, context: u64) -> Option<&PlanResult> {
        let mem = self.hardware.get(hw)?.mem_idx;
        self.plans.get(&self.key(hw, mem, context))
    }

    /// The plan for the selected model, machine and workload (None until computed or when nothing is
    /// selected).
    pub fn plan(&self) -> Option<&PlanResult> {
        self.plan_at(self.hw_sel, self.workload.context)
    }

    /// The plan at every context step (for the chart), same model, machine and other settings.
    pub fn curve(&self) -> Vec<(u64, &Plan)> {
        self.steps()
            .into_iter()
            .filter_map(|c| match self.plan_at(self.hw_sel, c) {
                Some(Ok(p)) => Some((c, p.as_ref())),
                _ => None,
            })
            .collect()
    }

    /// Hardware entries in the compare view: the marked ones, or every listed one when none is marked.
    pub fn compare_hw(&self) -> Vec<usize> {
        let vis = self.visible_hw();
        let marked: Vec<usize> = (0..self.hardware.len())
            .filter(|&i| self.hardware[i].marked)
            .collect();
        if marked.is_empty() { vis } else { marked }
    }

    /// The compare view's rows: (hardware index, plan at the current workload).
    pub fn compare_rows(&self) -> Vec<(usize, Option<&PlanResult>)> {
        self.compare_hw()
            .into_iter()
            .map(|i| (i, self.plan_at(i, self.workload.context)))
            .collect()
    }

    /// The workload pane's rows: the workload controls, and on the device-set view also devices, split
    /// and link.
    pub fn controls(&self) -> Vec<Control> {
        let mut v = Control::ALL.to_vec();
        if self.screen == Screen::Devices {
            v.extend([Control::Devices, Control::Split, Control::Link]);
        }
        v
    }

    /// The devices the device-set view splits the model over (empty when no machine is selected).
    pub fn set_devices(&self) -> Vec<Machine> {
        match &self.set.devices {
            SetDevices::Repeat(n) => self
                .machine()
                .map(|m| vec![m.clone(); *n])
                .unwrap_or_default(),
            SetDevices::Mixed(v) => v.clone(),
        }
    }

    /// The interconnect of the device set and, when it is the default for these devices, why.
    pub fn set_link(&self, devices: &[Machine]) -> (link::Link, Option<String>) {
        match self.set.link.and_then(|id| link::by_id(id).ok()) {
            Some(l) => (l, None),
            None => {
                // MLX over several Macs is exo's pipeline, with exo's default link
                let (l, note) = if self.workload.runtime == Runtime::Mlx {
                    crate::estimate::exo::default_link(devices)
                } else {
                    link::default_for(devices)
                };
                (l, Some(note))
            }
        }
    }

    fn multi_key(&self, devices: &[Machine], link_id: &'static str, context: u64) -> MultiKey {
        MultiKey {
            plan: self.key(0, 0, context),
            devices: devices
                .iter()
                .map(|m| (m.id.clone(), m.memory_bytes, m.gpu_budget_bytes))
                .collect(),
            split: self.set.split.label(),
            link: link_id,
            even: self.set.even,
        }
    }

    /// The device-set plan for the selected model, the set and the workload (None until computed, or
    /// when the set has no device).
    pub fn multi_plan(&self) -> Option<&MultiResult> {
        let devices = self.set_devices();
        if devices.is_empty() {
            return None;
        }
        let (l, _) = self.set_link(&devices);
        self.multi_plans
            .get(&self.multi_key(&devices, l.id, self.workload.context))
    }

    /// Plan the device set at the current workload unless cached.
    fn ensure_multi(&mut self) {
        let devices = self.set_devices();
        if devices.is_empty() {
            return;
        }
        let (l, note) = self.set_link(&devices);
        let key = self.multi_key(&devices, l.id, self.workload.context);
        if self.multi_plans.contains_key(&key) {
            return;
        }
        let r = match self.quantized.get(&(self.model_sel, self.quant_idx)) {
            Some(Ok(m)) => {
                self.multi_plan_calls += 1;
                let opts = MultiOptions {
                    split: self.set.split,
                    tensor_split: self.set.even.then(|| vec![1.0; devices.len()]),
                    link: l,
                    link_note: note,
                };
                (self.multi_planner)(m, &devices, &self.workload, &opts)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            }
            Some(Err(e)) => Err(e.clone()),
            None => return,
        };
        if self.multi_plans.len() >= PLAN_CACHE_MAX {
            self.multi_plans.clear();
        }
        self.multi_plans.insert(key, r);
    }

    /// Open the device-set view: over the marked machines when two or more are marked, else over N
    /// (the set's count, or 2) of the selected machine.
    pub fn open_devices(&mut self) {
        self.set_from_marks();
        self.screen = Screen::Devices;
    }

    /// The set from the marks: the marked machines (at their selected memory, in list order) when two
    /// or more are marked, else N of the selected machine.
    fn set_from_marks(&mut self) {
        let marked: Vec<Machine> = self
            .hardware
            .iter()
            .filter(|h| h.marked)
            .filter_map(|h| h.machine().cloned())
            .collect();
        if marked.len() >= MIN_SET_DEVICES {
            self.set.devices = SetDevices::Mixed(marked);
        } else if let SetDevices::Mixed(_) = self.set.devices {
            self.set.devices = SetDevices::Repeat(MIN_SET_DEVICES);
        }
    }

    /// Whether the selected model is a spec (no weights to run).
    pub fn selected_is_spec(&self) -> bool {
        match self.base_model() {
            Some(Ok(m)) => m.format == ModelFormat::Spec,
            _ => matches!(
                self.models.get(self.model_sel).map(|m| &m.source),
                Some(ModelSource::Bundled(_))
            ),
        }
    }

    /// Hand the pending measured-decode request to the shell (the measure hook), once.
    pub fn take_measure_request(&mut self) -> Option<MeasureRequest> {
        match std::mem::replace(&mut self.measure, MeasureState::Idle) {
            MeasureState::Requested(r) => Some(r),
            other => {
                self.measure = other;
                None
            }
        }
    }

    fn ensure_model(&mut self) {
        let (mi, qi) = (self.model_sel, self.quant_idx);
        let Some(entry) = self.models.get_mut(mi) else {
            return;
        };
        if entry.desc.is_none() {
            let loaded = match entry.load_arg() {
                Some(arg) => (self.loader)(&arg).map(Arc::new).map_err(|e| e.to_string()),
                None => Err("no model".to_string()),
            };
            entry.desc = Some(loaded);
        }
        if self.quantized.contains_key(&(mi, qi)) {
            return;
        }
        let base = match entry.desc.as_ref() {
            Some(Ok(m)) => Ok(m.clone()),
            Some(Err(e)) => Err(e.clone()),
            None => Err("no model".to_string()),
        };
        let q = match base {
            Ok(m) if qi == 0 => Ok(m),
            Ok(m) => {
                let name = self.quant_choices[qi].clone();
                (self.requantizer)(&m, &name)
                    .map(Arc::new)
                    .map_err(|e| format!("what-if {name}: {e}"))
            }
            Err(e) => Err(e),
        };
        self.quantized.insert((mi, qi), q);
    }

    /// Plan every (hardware index, context) not cached yet, on up to as many threads as the machine
    /// has cores (plans are independent; the planner is pure).
    fn ensure_plans(&mut self, wanted: &[(usize, u64)]) {
        let model = match self.quantized.get(&(self.model_sel, self.quant_idx)) {
            Some(Ok(m)) => Ok(m.clone()),
            Some(Err(e)) => Err(e.clone()),
            None => return,
        };
        let mut jobs: Vec<(PlanKey, Machine, u64)> = Vec::new();
        for &(hw, context) in wanted {
            let Some(h) = self.hardware.get(hw) else {
                continue;
            };
            let key = self.key(hw, h.mem_idx, context);
            if self.plans.contains_key(&key) || jobs.iter().any(|j| j.0 == key) {
                continue;
            }
            if let Some(m) = h.machine() {
                jobs.push((key, m.clone(), context));
            }
        }
        if jobs.is_empty() {
            return;
        }
        let results: Vec<(PlanKey, PlanResult)> = match model {
            Err(e) => jobs.into_iter().map(|j| (j.0, Err(e.clone()))).collect(),
            Ok(model) => {
                self.plan_calls += jobs.len() as u64;
                let planner = self.planner;
                let run = |(key, machine, context): &(PlanKey, Machine, u64)| {
                    let mut w = self.workload.clone();
                    w.context = *context;
                    let r = planner(&model, machine, &w)
                        .map(Arc::new)
                        .map_err(|e| e.to_string());
                    (*key, r)
                };
                let threads = std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
                    .min(jobs.len());
                if threads <= 1 {
                    jobs.iter().map(run).collect()
                } else {
                    let chunk = jobs.len().div_ceil(threads);
                    std::thread::scope(|sc| {
                        let handles: Vec<_> = jobs
                            .chunks(chunk)
                            .map(|c| sc.spawn(move || c.iter().map(run).collect::<Vec<_>>()))
                            .collect();
                        handles
                            .into_iter()
                            .flat_map(|h| {
                                h.join().unwrap_or_else(|_| {
                                    vec![] // a panicking planner: those points stay unplanned
                                })
                            })
                            .collect()
                    })
                }
            }
        };
        if self.plans.len() + results.len() > PLAN_CACHE_MAX {
            self.plans.clear();
        }
        self.plans.extend(results);
    }

    /// Chart points (plans at the other context steps) not computed yet.
    pub fn chart_pending(&self) -> bool {
        self.screen == Screen::Main
            && matches!(self.model(), Some(Ok(_)))
            && self.machine().is_some()
            && self
                .steps()
                .into_iter()
                .any(|c| self.plan_at(self.hw_sel, c).is_none())
    }

    /// Plan the chart's points (every context step). The shell calls this when no key is waiting,
    /// so a keystroke's first frame shows the new verdict and numbers without waiting for the chart.
    pub fn fill_chart(&mut self) {
        if self.screen != Screen::Main {
            return;
        }
        let wanted: Vec<(usize, u64)> =
            self.steps().into_iter().map(|c| (self.hw_sel, c)).collect();
        self.ensure_plans(&wanted);
    }

    /// Snap the context to the selected model's steps (largest step not above it).
    fn snap_context(&mut self) {
        let steps = self.steps();
        let c = self.workload.context;
        if !steps.contains(&c) {
            self.workload.context = steps.iter().copied().rfind(|&s| s <= c).unwrap_or(steps[0]);
        }
    }

    /// Read, re-type and plan what the view shows first (the selected plan, or every compare row);
    /// keep selections valid and visible. The chart's other points come from [`App::fill_chart`].
    pub fn refresh(&mut self) {
        // selections valid under the filters
        let vm = self.visible_models();
        if !vm.is_empty() && !vm.contains(&self.model_sel) {
            self.model_sel = vm[0];
        }
        let vh = self.visible_hw();
        if !vh.is_empty() && !vh.contains(&self.hw_sel) {
            self.hw_sel = vh[0];
        }
        self.ensure_model();
        self.snap_context();
        let ctx = self.workload.context;
        let wanted: Vec<(usize, u64)> = match self.screen {
            Screen::Main => vec![(self.hw_sel, ctx)],
            Screen::Compare => self.compare_hw().into_iter().map(|i| (i, ctx)).collect(),
            Screen::Devices => {
                self.ensure_multi();
                Vec::new()
            }
        };
        self.ensure_plans(&wanted);
        self.control_sel = self.control_sel.min(self.controls().len() - 1);
        self.scroll_into_view();
    }

    fn scroll_into_view(&mut self) {
        let areas = super::view::layout(
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
            self,
        );
        let h = areas.models.height.saturating_sub(3) as usize; // borders + filter line
        if let Some(pos) = self
            .visible_models()
            .iter()
            .position(|&i| i == self.model_sel)
        {
            self.model_offset = fit_offset(self.model_offset, pos, h);
        }
        let h = areas.hardware.height.saturating_sub(2) as usize;
        if let Some(pos) = self
            .hw_rows()
            .iter()
            .position(|r| *r == HwRow::Item(self.hw_sel))
        {
            let mut off = fit_offset(self.hw_offset, pos, h);
            // keep the group heading in view when the first item of a group is at the top
            if off == pos && pos > 0 && h >= 2 {
                off = pos - 1;
            }
            self.hw_offset = off;
        }
    }
}

/// Scroll offset that keeps row `pos` visible in a window of `height` rows, moving as little as possible.
pub fn fit_offset(offset: usize, pos: usize, height: usize) -> usize {
    if height == 0 {
        return pos;
    }
    if pos < offset {
        pos
    } else if pos >= offset + height {
        pos + 1 - height
    } else {
        offset
    }
}

fn step_in<T: Copy + PartialEq + PartialOrd>(steps: &[T], cur: T, forward: bool) -> T {
    let i = steps.iter().position(|&s| s == cur);
    match (i, forward) {
        (Some(i), true) => steps[(i + 1).min(steps.len() - 1)],
        (Some(i), false) => steps[i.saturating_sub(1)],
        // a value not on the list (set by the caller): move to the nearest step in that direction
        (None, true) => steps.iter().copied().find(|&s| s > cur).unwrap_or(cur),
        (None, false) => steps.iter().copied().rfind(|&s| s < cur).unwrap_or(cur),
    }
}

fn cycle<T: Copy + PartialEq>(items: &[T], cur: T, forward: bool) -> T {
    let n = items.len();
    let i = items.iter().position(|&s| s == cur).unwrap_or(0);
    if forward {
        items[(i + 1) % n]
    } else {
        items[(i + n - 1) % n]
    }
}

/// Apply one action, then compute whatever the view needs.
pub fn update(app: &mut App, action: Action) {
    app.status = None;
    match action {
        Action::Quit => app.quit = true,
        Action::Back => {
            if app.help {
                app.help = false;
            } else if app.filter_editing {
                filter_cancel(app);
            } else if app.screen != Screen::Main {
                app.screen = Screen::Main;
            } else {
                app.quit = true;
            }
        }
        Action::ToggleHelp => app.help = !app.help,
        Action::NextPane | Action::PrevPane => {
            let i = Pane::ORDER
                .iter()
                .position(|&p| p == app.focus)
                .unwrap_or(0);
            let n = Pane::ORDER.len();
            let j = if action == Action::NextPane {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            app.focus = Pane::ORDER[j];
            app.filter_editing = false;
        }
        Action::Up => move_sel(app, -1),
        Action::Down => move_sel(app, 1),
        Action::PageUp => move_sel(app, -10),
        Action::PageDown => move_sel(app, 10),
        Action::Home => move_sel(app, i64::MIN / 2),
        Action::End => move_sel(app, i64::MAX / 2),
        Action::Left | Action::Right => {
            let fwd = action == Action::Right;
            match app.focus {
                Pane::Hardware => {
                    if let Some(h) = app.hardware.get_mut(app.hw_sel) {
                        let n = h.machines.len();
                        if n > 0 {
                            h.mem_idx = if fwd {
                                (h.mem_idx + 1).min(n - 1)
                            } else {
                                h.mem_idx.saturating_sub(1)
                            };
                        }
                    }
                }
                Pane::Workload => {
                    if let Some(&c) = app.controls().get(app.control_sel) {
                        change_control(app, c, fwd)
                    }
                }
                Pane::Models => {
                    // a model has nothing to change sideways: step the what-if quant
                    change_control(app, Control::Quant, fwd)
                }
            }
        }
        Action::ContextUp => change_control(app, Control::Context, true),
        Action::ContextDown => change_control(app, Control::Context, false),
        Action::StartFilter => {
            if app.focus == Pane::Workload {
                app.focus = Pane::Models;
            }
            app.filter_editing = true;
        }
        Action::FilterChar(c) => {
            if app.filter_editing {
                filter_mut(app).push(c);
            }
        }
        Action::FilterBackspace => {
            if app.filter_editing {
                filter_mut(app).pop();
            }
        }
        Action::FilterAccept => app.filter_editing = false,
        Action::FilterCancel => filter_cancel(app),
        Action::ToggleMark => {
            if let Some(h) = app.hardware.get_mut(app.hw_sel) {
                h.marked = !h.marked;
            }
            if app.screen == Screen::Devices {
                // the picker: the set is the marked machines (two or more), else N of the selected one
                app.set_from_marks();
                let n = app.hardware.iter().filter(|h| h.marked).count();
                if n == 1 {
                    app.status = Some(
                        "1 machine marked: mark another to split over the marked ones; until then N of the selected one"
                            .into(),
                    );
                }
            }
        }
        Action::ToggleCompare => {
            app.screen = match app.screen {
                Screen::Compare => Screen::Main,
                _ => Screen::Compare,
            }
        }
        Action::ToggleDevices => {
            if app.screen == Screen::Devices {
                app.screen = Screen::Main;
            } else {
                app.open_devices();
            }
        }
        Action::CycleSplit => set_control(app, Control::Split, true),
        Action::LinkNext => set_control(app, Control::Link, true),
        Action::LinkPrev => set_control(app, Control::Link, false),
        Action::ToggleEvenSplit => {
            app.set.even = !app.set.even;
            set_control_status(app, Control::Split);
        }
        Action::DevicesMore => set_control(app, Control::Devices, true),
        Action::DevicesFewer => set_control(app, Control::Devices, false),
        Action::QuantNext => change_control(app, Control::Quant, true),
        Action::QuantPrev => change_control(app, Control::Quant, false),
        Action::CycleCacheK => change_control(app, Control::CacheK, true),
        Action::CycleCacheV => change_control(app, Control::CacheV, true),
        Action::ToggleFlash => change_control(app, Control::FlashAttn, true),
        Action::ToggleRuntime => change_control(app, Control::Runtime, true),
        Action::Measure => request_measure(app),
        Action::Resize(w, h) => app.size = (w, h),
        Action::Click(x, y) => click(app, x, y),
        Action::ScrollUp(x, y) => scroll(app, x, y, -1),
        Action::ScrollDown(x, y) => scroll(app, x, y, 1),
    }
    app.refresh();
}

fn filter_mut(app: &mut App) -> &mut String {
    match app.focus {
        Pane::Hardware => &mut app.hw_filter,
        _ => &mut app.model_filter,
    }
}

fn filter_cancel(app: &mut App) {
    filter_mut(app).clear();
    app.filter_editing = false;
}

/// Move the focused pane's selection by `delta` rows (clamped).
fn move_sel(app: &mut App, delta: i64) {
    let step = |pos: usize, n: usize| -> usize {
        (pos as i64 + delta).clamp(0, n.saturating_sub(1) as i64) as usize
    };
    match app.focus {
        Pane::Models => {
            let vis = app.visible_models();
            if let Some(pos) = vis.iter().position(|&i| i == app.model_sel) {
                app.model_sel = vis[step(pos, vis.len())];
            }
        }
        Pane::Hardware => {
            let vis = app.visible_hw();
            if let Some(pos) = vis.iter().position(|&i| i == app.hw_sel) {
                app.hw_sel = vis[step(pos, vis.len())];
            }
        }
        Pane::Workload => app.control_sel = step(app.control_sel, app.controls().len()),
    }
}

/// A device-set key (`s`, `i`, `d`...): changes the set; outside the device-set view it says where
/// the change shows.
fn set_control(app: &mut App, c: Control, fwd: bool) {
    change_control(app, c, fwd);
    set_control_status(app, c);
}

fn set_control_status(app: &mut App, c: Control) {
    if app.screen != Screen::Devices && app.status.is_none() {
        app.status = Some(format!(
            "{} is now {}: it applies to the device-set view (press x)",
            c.label(),
            set_value(app, c)
        ));
    }
}

/// The value of a device-set control as the workload pane and the status line show it.
pub fn set_value(app: &App, c: Control) -> String {
    match c {
        Control::Devices => match &app.set.devices {
            SetDevices::Repeat(n) => format!("{n}×"),
            SetDevices::Mixed(v) => format!("{} mixed", v.len()),
        },
        Control::Split if app.set.even && app.set.split != SplitMode::Tensor => {
            format!("{} -ts even", app.set.split.label())
        }
        Control::Split => app.set.split.label().to_string(),
        Control::Link => match app.set.link {
            Some(id) => id.to_string(),
            None => {
                let (l, _) = app.set_link(&app.set_devices());
                format!("{} (auto)", l.id)
            }
        },
        _ => String::new(),
    }
}

fn change_control(app: &mut App, c: Control, fwd: bool) {
    let w = &mut app.workload;
    match c {
        Control::Context => {
            let steps = app.steps();
            let w = &mut app.workload;
            let next = step_in(&steps, w.context, fwd);
            if next == w.context {
                app.status = Some(if fwd {
                    format!("context is at the model's limit ({next} tokens)")
                } else {
                    format!("context is at the smallest step ({next} tokens)")
                });
            }
            app.workload.context = next;
        }
        Control::CacheK => w.cache_type_k = cycle(&KV_TYPES, w.cache_type_k, fwd),
        Control::CacheV => w.cache_type_v = cycle(&KV_TYPES, w.cache_type_v, fwd),
        Control::FlashAttn => w.flash_attention = !w.flash_attention,
        Control::Ubatch => w.ubatch = step_in(&UBATCH_STEPS, w.ubatch, fwd),
        Control::NBatch => w.n_batch = step_in(&NBATCH_STEPS, w.n_batch, fwd),
        Control::Parallel => w.parallel = step_in(&PARALLEL_STEPS, w.parallel, fwd),
        Control::Batch => w.batch = step_in(&BATCH_STEPS, w.batch, fwd),
        Control::Quant => {
            let n = app.quant_choices.len();
            app.quant_idx = if fwd {
                (app.quant_idx + 1) % n
            } else {
                (app.quant_idx + n - 1) % n
            };
        }
        Control::Runtime => {
            // llama.cpp -> mlx -> llama.cpp with the unified KV cache (-kvu) -> llama.cpp
            let order = [
                (Runtime::LlamaCpp, false),
                (Runtime::Mlx, false),
                (Runtime::LlamaCpp, true),
            ];
            let i = order
                .iter()
                .position(|&o| o == (w.runtime, w.kv_unified))
                .unwrap_or(0);
            let n = order.len();
            (w.runtime, w.kv_unified) = order[if fwd { (i + 1) % n } else { (i + n - 1) % n }];
        }
        Control::Split => app.set.split = cycle(&SPLIT_MODES, app.set.split, fwd),
        Control::Link => {
            // from the link in use (the default one included) to the next in the table
            let (cur, _) = app.set_link(&app.set_devices());
            let ids: Vec<&'static str> = LINKS.iter().map(|l| l.id).collect();
            app.set.link = Some(cycle(&ids, cur.id, fwd));
        }
        Control::Devices => match &mut app.set.devices {
            SetDevices::Repeat(n) => {
                let next = if fwd {
                    (*n + 1).min(MAX_SET_DEVICES)
                } else {
                    n.saturating_sub(1).max(MIN_SET_DEVICES)
                };
                if next == *n {
                    app.status = Some(if fwd {
                        format!("at most {MAX_SET_DEVICES} devices in a set")
                    } else {
                        format!(
                            "a set has at least {MIN_SET_DEVICES} devices; Esc shows one device"
                        )
                    });
                }
                *n = next;
            }
            SetDevices::Mixed(_) => {
                app.status = Some(
                    "the set mixes machines: d/D count N of one kind (unmark all, select one, press x)"
                        .into(),
                );
            }
        },
    }
}

fn request_measure(app: &mut App) {
    if app.screen == Screen::Devices {
        app.status =
            Some("measure runs on this machine's one GPU: Esc to the plan view, then m".into());
        return;
    }
    if app.selected_is_spec() {
        app.measure = MeasureState::NeedsFile;
        return;
    }
    let (Some(entry), Some(machine)) = (app.models.get(app.model_sel), app.machine()) else {
        return;
    };
    let files = match entry.desc.as_ref() {
        Some(Ok(m)) => m.files.clone(),
        _ => Vec::new(),
    };
    app.measure = MeasureState::Requested(MeasureRequest {
        model: entry.load_arg().unwrap_or_else(|| entry.label.clone()),
        model_files: files,
        machine_id: machine.id.clone(),
        workload: app.workload.clone(),
    });
}

/// The list row under (x, y) in a pane, if any: (pane, row index within the visible list).
fn hit(app: &App, x: u16, y: u16) -> Option<(Pane, usize)> {
    let a = super::view::layout(
        ratatui::layout::Rect::new(0, 0, app.size.0, app.size.1),
        app,
    );
    let inside =
        |r: ratatui::layout::Rect| x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;
    if inside(a.models) {
        // border, then the filter line, then the items
        let first = a.models.y + 2;
        let row = (y >= first && y + 1 < a.models.y + a.models.height)
            .then(|| app.model_offset + (y - first) as usize);
        return Some((Pane::Models, row.unwrap_or(usize::MAX)));
    }
    if inside(a.hardware) {
        let first = a.hardware.y + 1;
        let row = (y >= first && y + 1 < a.hardware.y + a.hardware.height)
            .then(|| app.hw_offset + (y - first) as usize);
        return Some((Pane::Hardware, row.unwrap_or(usize::MAX)));
    }
    if inside(a.workload) {
        let first = a.workload.y + 1;
        let row =
            (y >= first && y + 1 < a.workload.y + a.workload.height).then(|| (y - first) as usize);
        return Some((Pane::Workload, row.unwrap_or(usize::MAX)));
    }
    None
}

fn click(app: &mut App, x: u16, y: u16) {
    if app.help {
        app.help = false;
        return;
    }
    let Some((pane, row)) = hit(app, x, y) else {
        return;
    };
    app.focus = pane;
    match pane {
        Pane::Models => {
            if let Some(&i) = app.visible_models().get(row) {
                app.model_sel = i;
            }
        }
        Pane::Hardware => {
            if let Some(HwRow::Item(i)) = app.hw_rows().get(row).copied() {
                app.hw_sel = i;
            }
        }
        Pane::Workload => {
            if row < app.controls().len() {
                app.control_sel = row;
            }
        }
    }
}

fn scroll(app: &mut App, x: u16, y: u16, delta: i64) {
    if let Some((pane, _)) = hit(app, x, y) {
        app.focus = pane;
        move_sel(app, delta);
    } else if app.screen != Screen::Compare {
        // over the charts and tables: the wheel changes the context
        change_control(app, Control::Context, delta < 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::{MemoryBreakdown, SpeedEstimate, Verdict};
    use crate::hardware::MemoryKind;

    use crate::units::GIB;

    fn model(name: &str, ctx_len: u64, format: ModelFormat) -> ModelDesc {
        ModelDesc {
            format,
            source: name.into(),
            name: name.into(),
            architecture: "llama".into(),
            hparams: crate::model::HyperParams {
                n_layer: 2,
                context_length: ctx_len,
                ..Default::default()
            },
            tensors: Vec::new(),
            file_type: Some("Q4_K_M".into()),
            mlx_quant: None,
            files: vec![PathBuf::from(format!("/models/{name}.gguf"))],
            warnings: Vec::new(),
        }
    }

    fn machine(id: &str, vendor: Vendor, gib: u64) -> Machine {
        Machine {
            id: id.into(),
            name: id.to_uppercase(),
            vendor,
            memory_kind: MemoryKind::Unified,
            device: crate::hardware::Device::Gpu,
            memory_bytes: gib * GIB,
            gpu_budget_bytes: gib * GIB * 3 / 4,
            max_raised_budget_bytes: None,
            host_memory_bytes: None,
            bandwidth_bytes_per_s: 400e9,
            cpu_bandwidth_bytes_per_s: 100e9,
            gpu_cores: 40,
            fp16_flops: 30e12,
            measured_efficiency: None,
            calibrated: false,
            budget_note: String::new(),
        }
    }

    fn hw(id: &str, vendor: Vendor, sizes: &[u64]) -> HwEntry {
        HwEntry {
            id: id.into(),
            name: id.to_uppercase(),
            vendor,
            machines: sizes.iter().map(|&g| machine(id, vendor, g)).collect(),
            mem_idx: 0,
            marked: false,
        }
    }

    /// A planner that echoes its inputs into the plan, so tests see what `update` asked for:
    /// total = context, KV bytes = K type's block bytes, budget = the machine's budget.
    fn echo(m: &ModelDesc, h: &Machine, w: &Workload) -> Result<Plan> {
        Ok(Plan {
            memory: MemoryBreakdown {
                total_bytes: w.context,
                kv_cache_bytes: w.cache_type_k.block_bytes(),
                weights_bytes: m.weights_bytes(),
                ..Default::default()
            },
            memory_error_pct: 1.0,
            gpu_budget_bytes: h.gpu_budget_bytes,
            verdict: Verdict::Fits,
            max_context: None,
            max_context_by_kv: Vec::new(),
            speed: SpeedEstimate::default(),
            advice: Vec::new(),
        })
    }

    fn requant_echo(m: &ModelDesc, target: &str) -> Result<ModelDesc> {
        if target == "mlx-8bit" {
            return Err(crate::Error::usage("not for this model"));
        }
        let mut q = m.clone();
        q.file_type = Some(target.to_string());
        Ok(q)
    }

    fn app() -> App {
        let mut a = App::new(
            vec![
                ModelEntry::given("llama-70b", model("llama-70b", 131_072, ModelFormat::Spec)),
                ModelEntry::given("qwen-8b", model("qwen-8b", 40_960, ModelFormat::Gguf)),
                ModelEntry::given("tiny", model("tiny", 256, ModelFormat::Gguf)),
            ],
            vec![
                hw("rtx-4090", Vendor::Nvidia, &[24]),
                hw("m3-max", Vendor::Apple, &[36, 64, 128]),
                hw("m4-pro", Vendor::Apple, &[24, 48]),
            ],
        );
        a.planner = echo;
        a.requantizer = requant_echo;
        a.quant_choices = vec![
            AS_STORED.into(),
            "Q4_K_M".into(),
            "mlx-4bit".into(),
            "mlx-8bit".into(),
        ];
        a.refresh();
        a.fill_chart();
        a
    }

    fn total(a: &App) -> u64 {
        a.plan().unwrap().as_ref().unwrap().memory.total_bytes
    }

    #[test]
    fn context_steps_double_from_512_to_the_model_limit() {
        assert_eq!(
            context_steps(131_072),
            vec![512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131_072]
        );
        // a limit that is not a power of two ends the list
        assert_eq!(*context_steps(40_960).last().unwrap(), 40_960);
        assert_eq!(context_steps(40_960)[6], 32_768);
        assert_eq!(context_steps(256), vec![256]);
        assert_eq!(*context_steps(0).last().unwrap(), FALLBACK_CONTEXT_LENGTH);
    }

    #[test]
    fn plus_minus_walk_the_steps_and_the_planner_gets_them() {
        let mut a = app();
        assert_eq!(a.workload.context, 4096);
        assert_eq!(total(&a), 4096);
        update(&mut a, Action::ContextUp);
        assert_eq!(total(&a), 8192);
        for _ in 0..20 {
            update(&mut a, Action::ContextUp);
        }
        assert_eq!(a.workload.context, 131_072);
        assert!(a.status.as_deref().unwrap().contains("limit"));
        for _ in 0..20 {
            update(&mut a, Action::ContextDown);
        }
        assert_eq!(total(&a), 512);
    }

    #[test]
    fn switching_to_a_shorter_model_snaps_the_context() {
        let mut a = app();
        for _ in 0..5 {
            update(&mut a, Action::ContextUp); // 131072
        }
        update(&mut a, Action::Down); // qwen-8b, 40960 tokens
        assert_eq!(a.model_sel, 1);
        assert_eq!(a.workload.context, 40_960, "over the limit: the limit");
        update(&mut a, Action::ContextDown);
        assert_eq!(a.workload.context, 32_768);
        assert_eq!(a.steps().last(), Some(&40_960));
        update(&mut a, Action::Down); // tiny, 256 tokens
        assert_eq!(a.workload.context, 256);
        assert_eq!(total(&a), 256);
    }

    #[test]
    fn context_changes_hit_the_cache_and_workload_changes_replan_each_step_once() {
        let mut a = app();
        let n_steps = a.steps().len() as u64;
        assert_eq!(a.plan_calls, n_steps, "the chart plans each step once");
        assert_eq!(a.curve().len() as u64, n_steps);
        assert!(!a.chart_pending());
        update(&mut a, Action::ContextUp);
        update(&mut a, Action::ContextDown);
        assert_eq!(a.plan_calls, n_steps, "context moves are cache hits");
        update(&mut a, Action::CycleCacheK);
        assert_eq!(a.workload.cache_type_k, TensorType::Q8_0);
        assert_eq!(
            a.plan().unwrap().as_ref().unwrap().memory.kv_cache_bytes,
            TensorType::Q8_0.block_bytes()
        );
        assert_eq!(
            a.plan_calls,
            n_steps + 1,
            "a keystroke plans what shows first"
        );
        assert!(a.chart_pending());
        a.fill_chart();
        assert!(!a.chart_pending());
        assert_eq!(a.plan_calls, 2 * n_steps);
        update(&mut a, Action::CycleCacheK); // q4_0
        a.fill_chart();
        update(&mut a, Action::CycleCacheK); // back to f16: cached
        a.fill_chart();
        assert_eq!(a.workload.cache_type_k, TensorType::F16);
        assert_eq!(a.plan_calls, 3 * n_steps);
    }

    #[test]
    fn hardware_is_grouped_apple_then_nvidia_and_memory_is_selectable() {
        let mut a = app();
        assert_eq!(
            a.hw_rows(),
            vec![
                HwRow::Heading("Apple"),
                HwRow::Item(1),
                HwRow::Item(2),
                HwRow::Heading("NVIDIA"),
                HwRow::Item(0),
            ]
        );
        // the first visible entry is selected once refreshed
        assert_eq!(a.hw_sel, 0); // rtx-4090 was index 0 and is visible
        update(&mut a, Action::NextPane);
        assert_eq!(a.focus, Pane::Hardware);
        update(&mut a, Action::Home);
        assert_eq!(a.hw_sel, 1);
        update(&mut a, Action::Right);
        assert_eq!(a.machine().unwrap().memory_bytes, 64 * GIB);
        assert_eq!(
            a.plan().unwrap().as_ref().unwrap().gpu_budget_bytes,
            48 * GIB
        );
        update(&mut a, Action::Right);
        update(&mut a, Action::Right); // clamps at the largest
        assert_eq!(a.machine().unwrap().memory_bytes, 128 * GIB);
        update(&mut a, Action::Down);
        update(&mut a, Action::Down);
        update(&mut a, Action::Down); // clamps at the last item
        assert_eq!(a.hw_sel, 0);
    }

    #[test]
    fn filter_narrows_the_list_and_esc_clears_it() {
        let mut a = app();
        update(&mut a, Action::StartFilter);
        for c in "QWEN".chars() {
            update(&mut a, Action::FilterChar(c));
        }
        assert_eq!(a.visible_models(), vec![1]);
        assert_eq!(a.model_sel, 1, "selection moves into the filtered list");
        update(&mut a, Action::FilterAccept);
        assert!(!a.filter_editing);
        assert_eq!(a.model_filter, "QWEN");
        update(&mut a, Action::StartFilter);
        update(&mut a, Action::Back);
        assert!(a.model_filter.is_empty());
        assert_eq!(a.visible_models().len(), 3);
        assert!(!a.quit);
    }

    #[test]
    fn esc_closes_help_then_compare_then_quits() {
        let mut a = app();
        update(&mut a, Action::ToggleCompare);
        update(&mut a, Action::ToggleHelp);
        update(&mut a, Action::Back);
        assert!(!a.help && a.screen == Screen::Compare && !a.quit);
        update(&mut a, Action::Back);
        assert!(a.screen == Screen::Main && !a.quit);
        update(&mut a, Action::Back);
        assert!(a.quit);
    }

    #[test]
    fn compare_plans_every_listed_machine_or_only_the_marked_ones() {
        let mut a = app();
        update(&mut a, Action::ToggleCompare);
        let rows = a.compare_rows();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 2, 0]);
        assert!(rows.iter().all(|r| matches!(r.1, Some(Ok(_)))));
        update(&mut a, Action::NextPane);
        update(&mut a, Action::ToggleMark); // rtx-4090
        update(&mut a, Action::Home);
        update(&mut a, Action::ToggleMark); // m3-max
        let rows = a.compare_rows();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn what_if_quant_cycles_and_errors_are_shown_not_hidden() {
        let mut a = app();
        update(&mut a, Action::QuantNext);
        assert_eq!(a.quant_name(), "Q4_K_M");
        assert_eq!(
            a.model().unwrap().as_ref().unwrap().file_type.as_deref(),
            Some("Q4_K_M")
        );
        update(&mut a, Action::QuantPrev);
        update(&mut a, Action::QuantPrev);
        assert_eq!(a.quant_name(), "mlx-8bit");
        let err = a.plan().unwrap().as_ref().unwrap_err();
        assert!(err.contains("what-if mlx-8bit"), "{err}");
    }

    #[test]
    fn measure_needs_a_file_for_specs_and_hands_files_to_the_hook_once() {
        let mut a = app();
        update(&mut a, Action::Measure);
        assert_eq!(a.measure, MeasureState::NeedsFile);
        assert!(a.take_measure_request().is_none());
        update(&mut a, Action::Down); // qwen-8b, a GGUF
        update(&mut a, Action::Measure);
        let r = a.take_measure_request().expect("a request");
        assert_eq!(r.model_files, vec![PathBuf::from("/models/qwen-8b.gguf")]);
        assert_eq!(r.machine_id, "rtx-4090");
        assert!(a.take_measure_request().is_none());
    }

    #[test]
    fn workload_controls_step_and_clamp() {
        let mut a = app();
        a.focus = Pane::Workload;
        a.control_sel = Control::ALL
            .iter()
            .position(|&c| c == Control::Ubatch)
            .unwrap();
        update(&mut a, Action::Right);
        assert_eq!(a.workload.ubatch, 1024);
        for _ in 0..10 {
            update(&mut a, Action::Left);
        }
        assert_eq!(a.workload.ubatch, 32);
        update(&mut a, Action::ToggleFlash);
        assert!(!a.workload.flash_attention);
        update(&mut a, Action::ToggleRuntime);
        assert_eq!(a.workload.runtime, Runtime::Mlx);
        update(&mut a, Action::ToggleRuntime);
        assert_eq!(
            (a.workload.runtime, a.workload.kv_unified),
            (Runtime::LlamaCpp, true)
        );
        update(&mut a, Action::ToggleRuntime);
        assert_eq!(
            (a.workload.runtime, a.workload.kv_unified),
            (Runtime::LlamaCpp, false)
        );
        update(&mut a, Action::ToggleRuntime);
        update(&mut a, Action::End);
        assert_eq!(Control::ALL[a.control_sel], Control::Runtime);
    }

    #[test]
    fn clicks_select_what_was_drawn() {
        let mut a = app();
        let areas = super::super::view::layout(ratatui::layout::Rect::new(0, 0, 120, 40), &a);
        // models: border line, filter line, then items
        update(
            &mut a,
            Action::Click(areas.models.x + 3, areas.models.y + 3),
        );
        assert_eq!(a.model_sel, 1);
        // hardware: first row is the Apple heading (ignored), second the first Apple profile
        update(
            &mut a,
            Action::Click(areas.hardware.x + 3, areas.hardware.y + 1),
        );
        assert_eq!(a.focus, Pane::Hardware);
        assert_eq!(a.hw_sel, 0);
        update(
            &mut a,
            Action::Click(areas.hardware.x + 3, areas.hardware.y + 2),
        );
        assert_eq!(a.hw_sel, 1);
        update(
            &mut a,
            Action::Click(areas.workload.x + 3, areas.workload.y + 4),
        );
        assert_eq!((a.focus, a.control_sel), (Pane::Workload, 3));
        // the wheel over the charts changes the context
        update(
            &mut a,
            Action::ScrollUp(areas.decode_chart.x + 5, areas.decode_chart.y + 3),
        );
        assert_eq!(a.workload.context, 8192);
    }

    #[test]
    fn selected_rows_stay_in_view() {
        assert_eq!(fit_offset(0, 3, 5), 0);
        assert_eq!(fit_offset(0, 7, 5), 3);
        assert_eq!(fit_offset(4, 2, 5), 2);
        let mut a = app();
        a.models = (0..50)
            .map(|i| ModelEntry::given(&format!("m{i}"), model("m", 4096, ModelFormat::Spec)))
            .collect();
        a.size = (120, 40);
        for _ in 0..30 {
            update(&mut a, Action::Down);
        }
        let h = super::super::view::layout(ratatui::layout::Rect::new(0, 0, 120, 40), &a)
            .models
            .height as usize
            - 3;
        assert!(a.model_offset <= 30 && 30 < a.model_offset + h);
    }

    // ---- the device-set view: every plan is plan_multi's, for the set the keys describe ----

    use crate::estimate::multi::plan_multi;

    /// The explorer over the bundled specs and profiles with llama-3.1-70b at a what-if Q4_K_M.
    fn set_app(hardware: &str) -> App {
        let hw = super::super::sources::hardware_from(crate::hardware::profile::bundled().unwrap());
        let mut a =
            super::super::build_app_with(&["llama-3.1-70b".to_string()], Some(hardware), hw)
                .unwrap();
        assert!(a.select_quant("Q4_K_M"));
        a.refresh();
        a
    }

    /// What `plan_multi` says for these devices, split and link (None: the default link), at the
    /// app's workload.
    fn direct(a: &App, devices: &[Machine], split: SplitMode, link_id: Option<&str>) -> MultiPlan {
        let model = crate::model::load_with_quant("llama-3.1-70b", Some("Q4_K_M")).unwrap();
        let (l, note) = match link_id {
            Some(id) => (link::by_id(id).unwrap(), None),
            None => {
                let (l, n) = link::default_for(devices);
                (l, Some(n))
            }
        };
        let opts = MultiOptions {
            split,
            tensor_split: None,
            link: l,
            link_note: note,
        };
        plan_multi(&model, devices, &a.workload, &opts).unwrap()
    }

    fn shown(a: &App) -> MultiPlan {
        match a.multi_plan() {
            Some(Ok(p)) => p.as_ref().clone(),
            other => panic!("no device-set plan: {other:?}"),
        }
    }

    fn h100s(n: usize) -> Vec<Machine> {
        let m = crate::hardware::profile::resolve("h100-sxm")
            .unwrap()
            .remove(0);
        vec![m; n]
    }

    #[test]
    fn an_xn_hardware_argument_opens_the_device_set_view_with_plan_multis_plan() {
        let a = set_app("h100-sxm:x2");
        assert_eq!(a.screen, Screen::Devices);
        assert_eq!(a.set.devices, SetDevices::Repeat(2));
        assert_eq!(a.set_devices(), h100s(2));
        let p = shown(&a);
        assert_eq!(p, direct(&a, &h100s(2), SplitMode::Layer, None));
        assert_eq!(p.interconnect.id, "nvlink4", "SXM cards default to NVLink");
        assert_eq!(p.devices.len(), 2);
        assert_eq!(a.controls().len(), Control::ALL.len() + 3);
    }

    #[test]
    fn s_cycles_layer_row_tensor_and_each_plan_is_plan_multis() {
        let mut a = set_app("h100-sxm:x2");
        let layer = shown(&a);
        update(&mut a, Action::CycleSplit);
        assert_eq!(a.set.split, SplitMode::Row);
        assert_eq!(shown(&a), direct(&a, &h100s(2), SplitMode::Row, None));
        update(&mut a, Action::CycleSplit);
        assert_eq!(a.set.split, SplitMode::Tensor);
        let tensor = shown(&a);
        assert_eq!(tensor, direct(&a, &h100s(2), SplitMode::Tensor, None));
        assert_eq!(tensor.split, SplitMode::Tensor);
        // tensor parallelism all-reduces twice a layer: more transfers than the one layer-split hop
        assert!(tensor.transfers_per_token > layer.transfers_per_token);
        let calls = a.multi_plan_calls;
        update(&mut a, Action::CycleSplit);
        assert_eq!(a.set.split, SplitMode::Layer);
        assert_eq!(shown(&a), layer);
        assert_eq!(a.multi_plan_calls, calls, "back to layer split: cached");
    }

    #[test]
    fn i_and_shift_i_walk_the_link_table_from_the_default() {
        let mut a = set_app("h100-sxm:x2");
        assert_eq!(set_value(&a, Control::Link), "nvlink4 (auto)");
        let nvlink = shown(&a);
        update(&mut a, Action::LinkNext);
        assert_eq!(a.set.link, Some("nvlink3"));
        update(&mut a, Action::LinkNext);
        assert_eq!(a.set.link, Some("pcie5"));
        let pcie = shown(&a);
        assert_eq!(pcie, direct(&a, &h100s(2), SplitMode::Layer, Some("pcie5")));
        assert!(pcie.interconnect_s_per_token > nvlink.interconnect_s_per_token);
        update(&mut a, Action::LinkPrev);
        update(&mut a, Action::LinkPrev);
        assert_eq!(a.set.link, Some("nvlink4"));
        update(&mut a, Action::LinkPrev); // wraps to the end of the table
        assert_eq!(a.set.link, Some(LINKS[LINKS.len() - 1].id));
        assert_eq!(
            shown(&a),
            direct(
                &a,
                &h100s(2),
                SplitMode::Layer,
                Some(LINKS[LINKS.len() - 1].id)
            )
        );
    }

    #[test]
    fn d_and_shift_d_change_the_count_within_bounds() {
        let mut a = set_app("h100-sxm:x2");
        update(&mut a, Action::DevicesMore);
        assert_eq!(a.set.devices, SetDevices::Repeat(3));
        let p = shown(&a);
        assert_eq!(p.devices.len(), 3);
        assert_eq!(p, direct(&a, &h100s(3), SplitMode::Layer, None));
        update(&mut a, Action::DevicesFewer);
        update(&mut a, Action::DevicesFewer);
        assert_eq!(a.set.devices, SetDevices::Repeat(2));
        assert!(a.status.as_deref().unwrap().contains("at least 2"));
        // the set follows the hardware list: another machine, same count
        a.focus = Pane::Hardware;
        let before = a.set_devices()[0].id.clone();
        update(&mut a, Action::Down);
        let devs = a.set_devices();
        assert_eq!(devs.len(), 2);
        assert_ne!(devs[0].id, before);
        assert_eq!(
            shown(&a).devices[0].id,
            devs[0].id,
            "re-planned for the new machine"
        );
    }

    #[test]
    fn workload_keys_replan_the_set() {
        let mut a = set_app("h100-sxm:x2");
        update(&mut a, Action::ContextUp);
        update(&mut a, Action::CycleCacheK);
        update(&mut a, Action::ToggleFlash);
        assert_eq!(a.workload.context, 8192);
        let p = shown(&a);
        assert_eq!(p, direct(&a, &h100s(2), SplitMode::Layer, None));
        // the workload pane's device rows change the set with ← →
        a.focus = Pane::Workload;
        update(&mut a, Action::End);
        assert_eq!(a.controls()[a.control_sel], Control::Link);
        update(&mut a, Action::Up);
        update(&mut a, Action::Right);
        assert_eq!(a.set.split, SplitMode::Row);
        // mlx is not a multi-device runtime: the planner's words are shown, not a number
        update(&mut a, Action::ToggleRuntime);
        let err = a.multi_plan().unwrap().as_ref().unwrap_err();
        assert!(err.contains("llama.cpp"), "{err}");
    }

    #[test]
    fn a_plus_set_is_a_fixed_mix_over_rpc() {
        let mut a = set_app("m2-ultra-76c:192+m4-max-40c:128");
        let devs =
            crate::hardware::profile::resolve_setups("m2-ultra-76c:192+m4-max-40c:128", false)
                .unwrap()
                .0
                .remove(0);
        assert_eq!(a.set.devices, SetDevices::Mixed(devs.clone()));
        let p = shown(&a);
        assert_eq!(p, direct(&a, &devs, SplitMode::Layer, None));
        assert_eq!(p.interconnect.id, "tb4");
        update(&mut a, Action::DevicesMore);
        assert!(a.status.as_deref().unwrap().contains("mixes"));
        assert_eq!(a.set_devices(), devs);
    }

    #[test]
    fn x_opens_a_set_of_the_marked_machines_or_two_of_the_selected_one_and_esc_leaves() {
        let mut a = set_app("rtx-4090");
        assert_eq!(a.screen, Screen::Main);
        update(&mut a, Action::ToggleDevices);
        assert_eq!(a.screen, Screen::Devices);
        let devs = a.set_devices();
        assert_eq!(devs.len(), 2);
        assert!(devs.iter().all(|m| m.id == "rtx-4090"));
        assert_eq!(shown(&a), direct(&a, &devs, SplitMode::Layer, None));
        update(&mut a, Action::Measure);
        assert!(a.take_measure_request().is_none());
        assert!(a.status.as_deref().unwrap().contains("one GPU"));
        update(&mut a, Action::Back);
        assert_eq!(a.screen, Screen::Main);
        assert!(!a.quit);
        // mark the 4090 and an H100, then x: the two, in list order
        a.focus = Pane::Hardware;
        update(&mut a, Action::ToggleMark);
        let h100 = a.hardware.iter().position(|h| h.id == "h100-sxm").unwrap();
        a.hw_sel = h100;
        update(&mut a, Action::ToggleMark);
        update(&mut a, Action::ToggleDevices);
        let ids: Vec<String> = a.set_devices().iter().map(|m| m.id.clone()).collect();
        let mut want = vec!["rtx-4090".to_string(), "h100-sxm".to_string()];
        let r4090 = a.hardware.iter().position(|h| h.id == "rtx-4090").unwrap();
        if h100 < r4090 {
            want.reverse();
        }
        assert_eq!(ids, want);
        let devs = a.set_devices();
        assert_eq!(shown(&a), direct(&a, &devs, SplitMode::Layer, None));
        // outside the view the keys still set the split, and say where it shows
        update(&mut a, Action::ToggleDevices);
        update(&mut a, Action::CycleSplit);
        assert_eq!(a.set.split, SplitMode::Row);
        assert!(a.status.as_deref().unwrap().contains("press x"));
    }

    #[test]
    fn space_in_the_device_set_view_picks_the_set_from_the_marks() {
        let mut a = set_app("h100-sxm:x2");
        a.focus = Pane::Hardware;
        update(&mut a, Action::ToggleMark); // the H100: one mark, still 2x the selected one
        assert_eq!(a.set.devices, SetDevices::Repeat(2));
        assert!(a.status.as_deref().unwrap().contains("1 machine marked"));
        let h200 = a.hardware.iter().position(|h| h.id == "h200").unwrap();
        a.hw_sel = h200;
        update(&mut a, Action::ToggleMark); // H100 + H200
        let devs = a.set_devices();
        let ids: Vec<&str> = devs.iter().map(|m| m.id.as_str()).collect();
        let h100 = a.hardware.iter().position(|h| h.id == "h100-sxm").unwrap();
        if h100 < h200 {
            assert_eq!(ids, ["h100-sxm", "h200"]);
        } else {
            assert_eq!(ids, ["h200", "h100-sxm"]);
        }
        assert_eq!(shown(&a), direct(&a, &devs, SplitMode::Layer, None));
        update(&mut a, Action::ToggleMark); // unmark the H200: back to N of the selected one
        assert_eq!(a.set.devices, SetDevices::Repeat(2));
        assert!(a.set_devices().iter().all(|m| m.id == "h200"));
    }

    #[test]
    fn t_switches_llama_cpps_budget_split_to_an_even_one() {
        // an M2 Ultra 192 GiB and an M4 Max 128 GiB: by budget the Ultra takes more layers
        let hw = "m2-ultra-76c:192+m4-max-40c:128";
        let mut a = set_app(hw);
        let devs = a.set_devices();
        let by_budget = shown(&a);
        update(&mut a, Action::ToggleEvenSplit);
        assert!(a.set.even);
        assert_eq!(set_value(&a, Control::Split), "layer -ts even");
        let even = shown(&a);
        let model = crate::model::load_with_quant("llama-3.1-70b", Some("Q4_K_M")).unwrap();
        let (l, note) = link::default_for(&devs);
        let opts = MultiOptions {
            split: SplitMode::Layer,
            tensor_split: Some(vec![1.0, 1.0]),
            link: l,
            link_note: Some(note),
        };
        assert_eq!(even, plan_multi(&model, &devs, &a.workload, &opts).unwrap());
        assert!(
            even.llama_cpp_flags.contains("-ts 1,1"),
            "{}",
            even.llama_cpp_flags
        );
        assert!(by_budget.devices[0].n_layers > even.devices[0].n_layers);
        update(&mut a, Action::ToggleEvenSplit);
        assert_eq!(shown(&a), by_budget);
    }

    #[test]
    fn several_setups_are_refused_with_a_pointer_to_plan() {
        let hw = super::super::sources::hardware_from(crate::hardware::profile::bundled().unwrap());
        let err = super::super::build_app_with(
            &["llama-3.1-70b".to_string()],
            Some("h100-sxm:x2,h200"),
            hw,
        )
        .err()
        .expect("refused");
        assert!(err.to_string().contains("headroom plan"), "{err}");
    }
}
