//! alloc: a faithful simulation of ggml's graph allocator (`ggml/src/ggml-alloc.c` at llama.cpp 0c1e570:
//! `ggml_gallocr_alloc_graph_impl` over one `ggml_dyn_tallocr`), the thing that decides how large llama.cpp's
//! compute buffer is. Pure: it takes a graph description ([`Graph`]: tensor sizes, layouts, which op may
//! run in place, views, graph inputs/outputs, the node order) and returns where each tensor lands and the
//! buffer's size (the allocator's high-water mark, `max_size`).
//!
//! What is ported, rule by rule:
//! - leafs are allocated first, in graph order; then every graph input (`GGML_TENSOR_FLAG_INPUT`) while the
//!   children and views of every tensor are counted; then the nodes in order: a node's parents, the node,
//!   and each parent whose last child ran (and that no view still references) is freed; a view's owner is
//!   freed when its last view and child are done. Graph outputs are never freed.
//! - in place: an op that `ggml_op_can_inplace` takes over the memory of its first parent (in source
//!   order) that is owned by this allocator, is not an output, has the same layout, exactly one child and
//!   no views (a view parent only when its owner has this single view, no children and the same data);
//!   when the node is smaller the parent's extra space is freed.
//! - `ggml_dyn_tallocr_alloc`: sizes padded to the alignment; best fit over the free blocks except the
//!   last one (ties go to the later block); else the last block (which on a CPU-like buffer is unbounded);
//!   `max_size` = the highest end ever allocated. `ggml_dyn_tallocr_free_bytes` merges a freed range with
//!   an adjacent block (end first, then start) or inserts it sorted by offset.
//!
//! One chunk only: the backends headroom models have no `max_size` below the compute buffer (CPU, Metal and
//! CUDA report `SIZE_MAX` or the whole device), so `ggml_vbuffer`'s chunking never starts.
//!
//! Checked against llama.cpp itself: `tests/alloc_replay.rs` replays graphs recorded by
//! `scripts/oracle/graph_probe.cpp --graph 1` and must reproduce every offset llama.cpp chose and the
//! buffer size to the byte.

/// How a tensor's elements are laid out (`ggml_are_same_layout` compares these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Layout {
    /// ggml type id.
    pub ty: u32,
    pub ne: [u64; 4],
    pub nb: [u64; 4],
}

/// Where a tensor's memory comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Allocated by this allocator (graph activations and inputs).
    Compute,
    /// Already has memory (weights, the KV cache): never allocated or freed here.
    External,
    /// A view of another tensor (index into [`Graph::tensors`]).
    View(usize),
}

/// One tensor of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Bytes the backend allocates for it (`ggml_backend_buft_get_alloc_size`; `ggml_nbytes` on CPU).
    pub size: u64,
    pub layout: Layout,
    pub storage: Storage,
    /// `GGML_TENSOR_FLAG_INPUT`.
    pub input: bool,
    /// `GGML_TENSOR_FLAG_OUTPUT`: never freed, never reused in place.
    pub output: bool,
    /// The op may write over its source (`ggml_op_can_inplace`).
    pub inplace: bool,
}

/// A graph in execution order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    pub tensors: Vec<Tensor>,
    /// `cgraph->leafs`, in order.
    pub leafs: Vec<usize>,
    /// `cgraph->nodes`, in order: (tensor, its sources in slot order; `None` = empty slot).
    pub nodes: Vec<(usize, Vec<Option<usize>>)>,
}

/// Where the allocator put everything.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Offset of each tensor the allocator placed (`None`: external, a view, or never allocated).
    pub offsets: Vec<Option<u64>>,
    /// The buffer size: the high-water mark.
    pub size: u64,
}

#[derive(Debug, Clone, Copy)]
struct Block {
    offset: u64,
    size: u64,
}

/// `ggml_dyn_tallocr` with one chunk whose last block is unbounded.
#[derive(Debug)]
struct DynAlloc {
    alignment: u64,
    blocks: Vec<Block>,
    max_size: u64,
}

impl DynAlloc {
    fn new(alignment: u64) -> DynAlloc {
        DynAlloc {
            alignment: alignment.max(1),
            blocks: vec![Block {
                offset: 0,
                size: u64::MAX / 2,
            }],
            max_size: 0,
        }
    }

    fn pad(&self, size: u64) -> u64 {
        size.div_ceil(self.alignment).saturating_mul(self.alignment)
    }

    fn alloc(&mut self, size: u64) -> u64 {
        let size = self.pad(size);
        let n = self.blocks.len();
        // best fit among all blocks but the last; `<=` lets a later block of equal size win
        let mut best: Option<usize> = None;
        let mut best_size = u64::MAX;
        for (i, b) in self.blocks.iter().enumerate().take(n.saturating_sub(1)) {
            if b.size >= size && b.size <= best_size {
                best = Some(i);
                best_size = b.size;
            }
        }
        // else the last block (one chunk: the reuse-factor comparison has a single candidate)
        let i = match best {
            Some(i) => i,
            None if n > 0 && self.blocks[n - 1].size >= size => n - 1,
            None => {
                // the chunk's last block was consumed exactly (never on an unbounded chunk): grow
                self.blocks.push(Block {
                    offset: self.max_size,
                    size: u64::MAX / 2,
                });
                self.blocks.len() - 1
            }
        };
        let b = &mut self.blocks[i];
        let addr = b.offset;
        b.offset = b.offset.saturating_add(size);
        b.size -= size;
        if b.size == 0 {
            self.blocks.remove(i);
        }
        self.max_size = self.max_size.max(addr.saturating_add(size));
        addr
    }

    fn free(&mut self, offset: u64, size: u64) {
        let size = self.pad(size);
        for i in 0..self.blocks.len() {
            let b = self.blocks[i];
            if b.offset.saturating_add(b.size) == offset {
                self.blocks[i].size = b.size.saturating_add(size);
                if i + 1 < self.blocks.len() {
                    let next = self.blocks[i + 1];
                    if self.blocks[i].offset + self.blocks[i].size == next.offset {
                        self.blocks[i].size = self.blocks[i].size.saturating_add(next.size);
                        self.blocks.remove(i + 1);
                    }
                }
                return;
            }
            if offset.saturating_add(size) == b.offset {
                self.blocks[i].offset = offset;
                self.blocks[i].size = b.size.saturating_add(size);
                if i > 0 {
                    let prev = self.blocks[i - 1];
                    if prev.offset + prev.size == self.blocks[i].offset {
                        self.blocks[i - 1].size = prev.size.saturating_add(self.blocks[i].size);
                        self.blocks.remove(i);
                    }
                }
                return;
            }
        }
        let pos = self
            .blocks
            .iter()
            .position(|b| b.offset >= offset)
            .unwrap_or(self.blocks.len());
        self.blocks.insert(pos, Block { offset, size });
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct HashNode {
    n_children: i64,
    n_views: i64,
    offset: u64,
    allocated: bool,
}

struct Gallocr<'a> {
    g: &'a Graph,
    h: Vec<HashNode>,
    /// The node position of each tensor that is a graph node.
    node_of: Vec<Option<usize>>,
    placed: Vec<bool>,
    alloc: DynAlloc,
}

impl Gallocr<'_> {
    fn is_view(&self, t: usize) -> Option<usize> {
        match self.g.tensors[t].storage {
            Storage::View(s) => Some(s),
            _ => None,
        }
    }

    fn allocate_node(&mut self, t: usize) {
        let tensor = &self.g.tensors[t];
        // external memory (data already set) and views are not allocated; nor is a tensor twice
        if tensor.storage != Storage::Compute || self.h[t].allocated {
            return;
        }
        self.h[t].allocated = true;
        self.placed[t] = true;
        if let (true, Some(pos)) = (tensor.inplace, self.node_of[t]) {
            let g = self.g;
            for &parent in g.nodes[pos].1.iter().flatten() {
                if !self.h[parent].allocated {
                    continue; // not owned by this allocator (external, view, or already freed)
                }
                let p = &self.g.tensors[parent];
                let p_output = p.output
                    || self
                        .is_view(parent)
                        .is_some_and(|s| self.g.tensors[s].output);
                if p_output || p.layout != tensor.layout {
                    continue;
                }
                let ph = self.h[parent];
                if ph.n_children == 1 && ph.n_views == 0 {
                    if let Some(vs) = self.is_view(parent) {
                        let vh = self.h[vs];
                        if vh.n_views == 1 && vh.n_children == 0 && vh.offset == ph.offset {
                            self.h[t].offset = ph.offset;
                            self.h[parent].allocated = false;
                            self.h[vs].allocated = false;
                            self.free_extra(t, vs);
                            return;
                        }
                    } else {
                        self.h[t].offset = ph.offset;
                        self.h[parent].allocated = false;
                        self.free_extra(t, parent);
                        return;
                    }
                }
            }
        }
        self.h[t].offset = self.alloc.alloc(tensor.size);
    }

    fn free_extra(&mut self, node: usize, parent: usize) {
        let ps = self.alloc.pad(self.g.tensors[parent].size);
        let ns = self.alloc.pad(self.g.tensors[node].size);
        if ps > ns {
            self.alloc.free(self.h[parent].offset + ns, ps - ns);
        }
    }

    fn free_node(&mut self, t: usize) {
        if self.g.tensors[t].output {
            return;
        }
        self.alloc.free(self.h[t].offset, self.g.tensors[t].size);
        self.h[t].allocated = false;
    }
}

/// The allocator's state before a node: what decides every later placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Free blocks (offset, size), sorted by offset.
    pub free: Vec<(u64, u64)>,
    /// Every tensor this allocator holds: (tensor, offset, children still to run, views still alive).
    pub live: Vec<(usize, u64, i64, i64)>,
}

/// Run ggml's graph allocator over `graph` with the buffer's `alignment` (CPU: 32; Metal and CUDA: 128).
pub fn allocate(graph: &Graph, alignment: u64) -> Placement {
    allocate_traced(graph, alignment, &[]).0
}

/// [`allocate`], also returning the allocator's state just before each node position in `at` (ascending).
pub fn allocate_traced(graph: &Graph, alignment: u64, at: &[usize]) -> (Placement, Vec<Snapshot>) {
    let n = graph.tensors.len();
    let mut node_of = vec![None; n];
    for (i, (t, _)) in graph.nodes.iter().enumerate() {
        node_of[*t] = Some(i);
    }
    let mut g = Gallocr {
        g: graph,
        h: vec![HashNode::default(); n],
        node_of,
        placed: vec![false; n],
        alloc: DynAlloc::new(alignment),
    };
    for &l in &graph.leafs {
        g.allocate_node(l);
    }
    for (node, srcs) in &graph.nodes {
        if let Some(vs) = g.is_view(*node) {
            g.h[vs].n_views += 1;
        }
        if graph.tensors[*node].input {
            g.allocate_node(*node);
        }
        for &s in srcs.iter().flatten() {
            g.h[s].n_children += 1;
            if graph.tensors[s].input {
                g.allocate_node(s);
            }
        }
    }
    let mut snaps = Vec::with_capacity(at.len());
    let mut next = at.iter().peekable();
    for (i, (node, srcs)) in graph.nodes.iter().enumerate() {
        while next.next_if(|&&a| a == i).is_some() {
            snaps.push(Snapshot {
                free: g.alloc.blocks.iter().map(|b| (b.offset, b.size)).collect(),
                live: (0..n)
                    .filter(|&t| g.h[t].allocated)
                    .map(|t| (t, g.h[t].offset, g.h[t].n_children, g.h[t].n_views))
                    .collect(),
            });
        }
        for &p in srcs.iter().flatten() {
            g.allocate_node(p);
        }
        g.allocate_node(*node);
        for &p in srcs.iter().flatten() {
            g.h[p].n_children -= 1;
            let ph = g.h[p];
            if ph.n_children == 0 && ph.n_views == 0 {
                if let Some(vs) = g.is_view(p) {
                    g.h[vs].n_views -= 1;
                    let vh = g.h[vs];
                    if vh.n_views == 0 && vh.n_children == 0 && vh.allocated {
                        g.free_node(vs);
                    }
                } else if ph.allocated {
                    g.free_node(p);
                }
            }
        }
    }
    let offsets = (0..n)
        .map(|t| g.placed[t].then_some(g.h[t].offset))
        .collect();
    (
        Placement {
            offsets,
            size: g.alloc.max_size,
        },
        snaps,
    )
}
