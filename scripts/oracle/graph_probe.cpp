// graph_probe: where llama.cpp's graph allocator put every tensor of a full-ubatch decode.
// Loads a model, creates a context (same defaults as mem_probe), decodes one batch of n_ubatch tokens with
// logits for every token (the worst-case graph the compute buffer is reserved for), and through the
// scheduler's eval callback prints, for each graph node and its sources that live in the compute buffer:
// node index, name, op, type, ne, offset in the buffer and allocated size (ggml_backend_buft_get_alloc_size).
// A diagnostic for headroom's compute-buffer formulas (src/estimate/compute.rs); nothing here is a test input.
//
// Build like mem_probe: g++ -O2 -std=c++17 graph_probe.cpp -I$L/include -I$L/ggml/include -I$L/src \
//     -L$L/build/bin -lllama -lggml -lggml-base -Wl,-rpath,$L/build/bin -o graph_probe
// Usage: graph_probe -m model.gguf [-c n_ctx] [-ub n_ubatch] [-np n_seq] [-ctk t] [-ctv t] [-fa on|off] [--prefill N] [--graph 1]
// (--prefill n_ctx - n_ubatch makes the recorded batch attend to every cell, like the reserved graph)
// Output (stdout): one line per tensor: idx kind ptr name op type ne0,ne1,ne2,ne3 offset size; one `idx use ptr...`
// line per node (the allocations it reads and writes); last line: buffer size.
// With --graph 1 the output is instead the whole graph, for replaying ggml-alloc (src/estimate/alloc.rs,
// tests/alloc_replay.rs): one `T ptr where offset size flags can_inplace view_src layout op name` line per tensor the
// first time it is seen (where: `c` = in the compute buffer, `v` = a view, `x` = external: weights, KV cache;
// layout = type:ne0,ne1,ne2,ne3:nb0,nb1,nb2,nb3, what ggml_are_same_layout compares), one `N ptr src...` line per
// graph node in execution order (`-` for an empty source slot, trailing empty slots dropped), last line the buffer size.
#include "llama.h"
#include "ggml.h"
#include "ggml-backend.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

static std::set<const ggml_tensor *> seen;
static int node_idx = 0;
static size_t comp_size = 0;
static bool recording = false;
static bool full_graph = false;

static bool can_inplace(ggml_op op) {  // ggml-alloc.c ggml_op_can_inplace at 0c1e570
    switch (op) {
        case GGML_OP_FILL: case GGML_OP_SCALE: case GGML_OP_DIAG_MASK_ZERO: case GGML_OP_DIAG_MASK_INF:
        case GGML_OP_ADD: case GGML_OP_ADD_ID: case GGML_OP_ADD1: case GGML_OP_SUB: case GGML_OP_MUL:
        case GGML_OP_DIV: case GGML_OP_SQR: case GGML_OP_SQRT: case GGML_OP_LOG: case GGML_OP_UNARY:
        case GGML_OP_ROPE: case GGML_OP_ROPE_BACK: case GGML_OP_SILU_BACK: case GGML_OP_RMS_NORM:
        case GGML_OP_RMS_NORM_BACK: case GGML_OP_CLAMP: case GGML_OP_SOFT_MAX: case GGML_OP_SOFT_MAX_BACK:
            return true;
        default:
            return false;
    }
}

static bool in_compute(const ggml_tensor * t) {
    return t->buffer && ggml_backend_buffer_get_usage(t->buffer) == GGML_BACKEND_BUFFER_USAGE_COMPUTE;
}

static void emit_full(const ggml_tensor * t) {
    if (!t || seen.count(t)) return;
    if (t->view_src) emit_full(t->view_src);
    seen.insert(t);
    char where = t->view_src ? 'v' : (in_compute(t) ? 'c' : 'x');
    size_t off = 0, sz = ggml_nbytes(t);
    if (where == 'c') {
        comp_size = ggml_backend_buffer_get_size(t->buffer);
        off = (size_t) t->data - (size_t) ggml_backend_buffer_get_base(t->buffer);
        sz = ggml_backend_buft_get_alloc_size(ggml_backend_buffer_get_type(t->buffer), t);
    }
    printf("T %p %c %zu %zu %d %d %p %s:%lld,%lld,%lld,%lld:%zu,%zu,%zu,%zu %s %s\n", (const void *) t, where, off, sz,
           (int) t->flags, (int) can_inplace(t->op), (const void *) t->view_src, ggml_type_name(t->type),
           (long long) t->ne[0], (long long) t->ne[1], (long long) t->ne[2], (long long) t->ne[3], t->nb[0], t->nb[1],
           t->nb[2], t->nb[3], ggml_op_desc(t), t->name[0] ? t->name : "-");
}

static ggml_type parse_type(const char * s) {
    for (int i = 0; i < GGML_TYPE_COUNT; i++) {
        const char * n = ggml_type_name((ggml_type) i);
        if (n && strcasecmp(n, s) == 0) return (ggml_type) i;
    }
    exit(1);
}

static void emit(const ggml_tensor * t, const char * kind) {
    if (!t || seen.count(t)) return;
    seen.insert(t);
    if (t->view_src || !t->buffer || !t->data) return;
    if (ggml_backend_buffer_get_usage(t->buffer) != GGML_BACKEND_BUFFER_USAGE_COMPUTE) return;
    size_t base = (size_t) ggml_backend_buffer_get_base(t->buffer);
    comp_size = ggml_backend_buffer_get_size(t->buffer);
    size_t sz = ggml_backend_buft_get_alloc_size(ggml_backend_buffer_get_type(t->buffer), t);
    printf("%d %s %p %s %s %s %lld,%lld,%lld,%lld %zu %zu\n", node_idx, kind, (const void *) t, t->name[0] ? t->name : "-", ggml_op_desc(t),
           ggml_type_name(t->type), (long long) t->ne[0], (long long) t->ne[1], (long long) t->ne[2], (long long) t->ne[3],
           (size_t) t->data - base, sz);
}

static bool cb(ggml_tensor * t, bool ask, void *) {
    if (!ask || !recording) return !ask ? true : false;
    if (full_graph) {
        int last = -1;
        for (int i = 0; i < GGML_MAX_SRC; i++) {
            if (t->src[i]) { emit_full(t->src[i]); last = i; }
        }
        emit_full(t);
        printf("N %p", (const void *) t);
        for (int i = 0; i <= last; i++) {
            if (t->src[i]) printf(" %p", (const void *) t->src[i]); else printf(" -");
        }
        printf("\n");
        node_idx++;
        return false;
    }
    for (int i = 0; i < GGML_MAX_SRC; i++) {
        const ggml_tensor * s = t->src[i];
        if (!s) continue;
        if (s->view_src) emit(s->view_src, "src");
        emit(s, "src");
    }
    emit(t, "node");
    // uses: the allocated tensors (a view's owner) this node reads
    printf("%d use", node_idx);
    for (int i = 0; i < GGML_MAX_SRC; i++) {
        const ggml_tensor * s = t->src[i];
        if (!s) continue;
        printf(" %p", (const void *) (s->view_src ? s->view_src : s));
    }
    printf(" %p\n", (const void *) (t->view_src ? t->view_src : t));
    node_idx++;
    return false;
}

static void quiet(ggml_log_level, const char *, void *) {}

int main(int argc, char ** argv) {
    std::string path;
    uint32_t n_ctx = 4096, n_ubatch = 512, n_seq = 1;
    ggml_type tk = GGML_TYPE_F16, tv = GGML_TYPE_F16;
    int fa = 1;
    uint32_t n_prefill = 0;  // tokens decoded first (unrecorded) so that the probed batch sees n_kv = n_ctx
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        const char * v = argv[i + 1];
        if (a == "-m") path = v;
        else if (a == "-c") n_ctx = atoi(v);
        else if (a == "-ub") n_ubatch = atoi(v);
        else if (a == "-np") n_seq = atoi(v);
        else if (a == "-ctk") tk = parse_type(v);
        else if (a == "-ctv") tv = parse_type(v);
        else if (a == "-fa") fa = strcmp(v, "on") == 0 ? 1 : 0;
        else if (a == "--prefill") n_prefill = atoi(v);
        else if (a == "--graph") full_graph = atoi(v) != 0;
    }
    llama_log_set(quiet, nullptr);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(path.c_str(), mp);
    if (!model) return 2;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx; cp.n_batch = n_ubatch > 2048 ? n_ubatch : 2048; cp.n_ubatch = n_ubatch; cp.n_seq_max = n_seq;
    cp.type_k = tk; cp.type_v = tv; cp.flash_attn_type = (llama_flash_attn_type) fa;
    cp.n_threads = 1; cp.n_threads_batch = 1; cp.swa_full = false;
    cp.cb_eval = cb; cp.cb_eval_user_data = nullptr;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) return 3;
    const llama_vocab * vocab = llama_model_get_vocab(model);
    int n_vocab = llama_vocab_n_tokens(vocab);
    llama_batch b = llama_batch_init(n_ubatch, 0, 1);
    int rc = 0;
    for (uint32_t p0 = 0; p0 <= n_prefill && rc == 0; p0 += n_ubatch) {
        for (uint32_t i = 0; i < n_ubatch; i++) {
            b.token[i] = 300 + ((p0 + i) * 7919) % (n_vocab - 300);
            b.pos[i] = (p0 + i) / n_seq;
            b.n_seq_id[i] = 1;
            b.seq_id[i][0] = i % n_seq;
            b.logits[i] = true;
        }
        b.n_tokens = n_ubatch;
        recording = p0 + n_ubatch > n_prefill;
        rc = llama_decode(ctx, b);
    }
    printf("# rc %d compute_buffer %zu nodes %d\n", rc, comp_size, node_idx);
    llama_batch_free(b);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
