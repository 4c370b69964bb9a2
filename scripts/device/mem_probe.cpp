// mem_probe: load a GGUF with llama.cpp, create a context, and print EXACT byte counts of what
// llama.cpp allocated (llama_get_memory_breakdown: model / context(=KV) / compute per buffer type),
// plus the log lines for the KV cache and output buffer, the process RSS after a short decode,
// and optionally a timed token-generation run.
//
// Build (see README.md):
//   g++ -O2 -std=c++17 mem_probe.cpp -I$LLAMA/include -I$LLAMA/ggml/include -I$LLAMA/src \
//       -L$LLAMA/build/bin -lllama -lggml -lggml-base -Wl,-rpath,$LLAMA/build/bin -o mem_probe
// Usage:
//   mem_probe -m model.gguf [-c n_ctx] [-b n_batch] [-ub n_ubatch] [-ctk f16] [-ctv f16]
//             [-fa on|off|auto] [-t threads] [-np n_seq_max] [--prompt N] [--tg N] [--no-mmap] [--swa-full]
// Defaults follow llama.cpp's common_params (what llama-cli / llama-server use): n_batch 2048, n_ubatch 512,
// swa_full off (the bare library default would be on), n_seq_max 1, mmap on.
// Output: one JSON object on stdout; llama.cpp's own log goes to stderr.
#include "llama.h"
#include "llama-ext.h"
#include "ggml.h"
#include "ggml-backend.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

static std::string g_log;

static void log_cb(ggml_log_level level, const char * text, void *) {
    (void) level;
    g_log += text;
    fputs(text, stderr);
}

static ggml_type parse_type(const char * s) {
    for (int i = 0; i < GGML_TYPE_COUNT; i++) {
        const char * n = ggml_type_name((ggml_type) i);
        if (n && strcasecmp(n, s) == 0) return (ggml_type) i;
    }
    fprintf(stderr, "unknown type %s\n", s);
    exit(1);
}

static long read_status_kb(const char * key) {
    FILE * f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0) { v = atol(line + kl + 1); break; }
    }
    fclose(f);
    return v;
}

static std::string json_escape(const std::string & s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') { o += '\\'; o += c; }
        else if (c == '\n') o += "\\n";
        else if ((unsigned char) c < 0x20) { char b[8]; snprintf(b, sizeof b, "\\u%04x", c); o += b; }
        else o += c;
    }
    return o;
}

int main(int argc, char ** argv) {
    std::string path;
    uint32_t n_ctx = 4096, n_batch = 2048, n_ubatch = 512, n_seq = 1;
    ggml_type tk = GGML_TYPE_F16, tv = GGML_TYPE_F16;
    int fa = -1, threads = 2, n_prompt = 8, n_tg = 0, ngl = 0, main_gpu = 0;
    llama_split_mode split = LLAMA_SPLIT_MODE_LAYER;
    static float ts[128] = {0};
    bool mmap = true;
    bool swa_full = false;  // common_params default (llama-cli/server/bench); the library default is true
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto nx = [&]() { if (i + 1 >= argc) { fprintf(stderr, "missing value for %s\n", a.c_str()); exit(1); } return argv[++i]; };
        if (a == "-m") path = nx();
        else if (a == "-c") n_ctx = atoi(nx());
        else if (a == "-b") n_batch = atoi(nx());
        else if (a == "-ub") n_ubatch = atoi(nx());
        else if (a == "-np") n_seq = atoi(nx());
        else if (a == "-ctk") tk = parse_type(nx());
        else if (a == "-ctv") tv = parse_type(nx());
        else if (a == "-fa") { std::string v = nx(); fa = v == "on" || v == "1" ? 1 : v == "off" || v == "0" ? 0 : -1; }
        else if (a == "-t") threads = atoi(nx());
        else if (a == "-ngl") ngl = atoi(nx());
        else if (a == "-sm") { std::string v = nx(); split = v == "none" ? LLAMA_SPLIT_MODE_NONE : v == "row" ? LLAMA_SPLIT_MODE_ROW : v == "tensor" ? LLAMA_SPLIT_MODE_TENSOR : LLAMA_SPLIT_MODE_LAYER; }
        else if (a == "-mg") main_gpu = atoi(nx());
        else if (a == "-ts") { std::string v = nx(); size_t p0 = 0; int k = 0; while (p0 <= v.size() && k < 16) { size_t c = v.find_first_of(",/", p0); ts[k++] = atof(v.substr(p0, c == std::string::npos ? std::string::npos : c - p0).c_str()); if (c == std::string::npos) break; p0 = c + 1; } }
        else if (a == "--prompt") n_prompt = atoi(nx());
        else if (a == "--tg") n_tg = atoi(nx());
        else if (a == "--no-mmap") mmap = false;
        else if (a == "--swa-full") swa_full = true;
        else { fprintf(stderr, "unknown arg %s\n", a.c_str()); return 1; }
    }
    if (path.empty()) { fprintf(stderr, "need -m model.gguf\n"); return 1; }

    llama_log_set(log_cb, nullptr);
    llama_backend_init();
    long rss0 = read_status_kb("VmRSS");

    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = ngl;
    mp.split_mode = split;
    mp.main_gpu = main_gpu;
    mp.tensor_split = ts;
    if (!mmap) mp.load_mode = LLAMA_LOAD_MODE_NONE;  // default AUTO = mmap on CPU
    auto t0 = std::chrono::steady_clock::now();
    llama_model * model = llama_model_load_from_file(path.c_str(), mp);
    if (!model) { fprintf(stderr, "load failed\n"); return 2; }
    auto t1 = std::chrono::steady_clock::now();
    long rss_model = read_status_kb("VmRSS");

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx; cp.n_batch = n_batch; cp.n_ubatch = n_ubatch; cp.n_seq_max = n_seq;
    cp.type_k = tk; cp.type_v = tv;
    cp.flash_attn_type = (llama_flash_attn_type) fa;
    cp.n_threads = threads; cp.n_threads_batch = threads;
    cp.no_perf = false;
    cp.swa_full = swa_full;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "context failed\n"); printf("{\"ok\":false,\"error\":\"context\"}\n"); return 3; }
    auto t2 = std::chrono::steady_clock::now();
    long rss_ctx = read_status_kb("VmRSS");

    llama_memory_breakdown mb = llama_get_memory_breakdown(ctx);
    size_t tot_model = 0, tot_ctx = 0, tot_compute = 0;
    std::string bufs = "[";
    bool first = true;
    for (const auto & [buft, d] : mb) {
        tot_model += d.model; tot_ctx += d.context; tot_compute += d.compute;
        char b[512];
        snprintf(b, sizeof b, "%s{\"buft\":\"%s\",\"host\":%s,\"model\":%zu,\"context\":%zu,\"compute\":%zu}",
                 first ? "" : ",", ggml_backend_buft_name(buft), ggml_backend_buft_is_host(buft) ? "true" : "false",
                 d.model, d.context, d.compute);
        bufs += b;
        first = false;
    }
    bufs += "]";

    // short decode: touches all weights (so RSS reflects mmap'd pages actually used) and
    // optionally times token generation at this context configuration.
    const llama_vocab * vocab = llama_model_get_vocab(model);
    int n_vocab = llama_vocab_n_tokens(vocab);
    std::vector<llama_token> toks(n_prompt);
    for (int i = 0; i < n_prompt; i++) toks[i] = 300 + (i * 7919) % (n_vocab - 300);
    double pp_s = 0, tg_s = 0;
    bool ok = true;
    if (n_prompt > 0) {
        auto a = std::chrono::steady_clock::now();
        if (llama_decode(ctx, llama_batch_get_one(toks.data(), n_prompt)) != 0) ok = false;
        pp_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
    }
    if (ok && n_tg > 0) {
        llama_token t = 301;
        auto a = std::chrono::steady_clock::now();
        for (int i = 0; i < n_tg; i++) {
            if (llama_decode(ctx, llama_batch_get_one(&t, 1)) != 0) { ok = false; break; }
            t = 300 + (t * 31 + 17) % (n_vocab - 300);
        }
        tg_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
    }
    long rss_run = read_status_kb("VmRSS");
    long hwm = read_status_kb("VmHWM");

    // breakdown again after decode (compute buffers may have been re-reserved)
    llama_memory_breakdown mb2 = llama_get_memory_breakdown(ctx);
    size_t tot_compute2 = 0;
    for (const auto & [buft, d] : mb2) tot_compute2 += d.compute;

    char desc[256];
    llama_model_desc(model, desc, sizeof desc);
    printf("{\"ok\":%s,\"model\":\"%s\",\"desc\":\"%s\",\"n_params\":%llu,\"model_size\":%llu,"
           "\"n_ctx\":%u,\"n_ctx_seq\":%u,\"n_batch\":%u,\"n_ubatch\":%u,\"n_seq_max\":%u,\"type_k\":\"%s\",\"type_v\":\"%s\",\"fa\":%d,\"swa_full\":%d,\"threads\":%d,"
           "\"model_bytes\":%zu,\"context_bytes\":%zu,\"compute_bytes\":%zu,\"compute_bytes_after_decode\":%zu,"
           "\"buffers\":%s,"
           "\"rss_start_kb\":%ld,\"rss_after_load_kb\":%ld,\"rss_after_ctx_kb\":%ld,\"rss_after_decode_kb\":%ld,\"vm_hwm_kb\":%ld,"
           "\"load_s\":%.3f,\"ctx_s\":%.3f,\"n_prompt\":%d,\"pp_s\":%.4f,\"n_tg\":%d,\"tg_s\":%.4f,\"tg_tps\":%.4f,"
           "\"log\":\"%s\"}\n",
           ok ? "true" : "false", json_escape(path).c_str(), json_escape(desc).c_str(),
           (unsigned long long) llama_model_n_params(model), (unsigned long long) llama_model_size(model),
           llama_n_ctx(ctx), llama_n_ctx_seq(ctx), llama_n_batch(ctx), llama_n_ubatch(ctx), llama_n_seq_max(ctx),
           ggml_type_name(tk), ggml_type_name(tv), fa, (int) swa_full, threads,
           tot_model, tot_ctx, tot_compute, tot_compute2, bufs.c_str(),
           rss0, rss_model, rss_ctx, rss_run, hwm,
           std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count(),
           n_prompt, pp_s, n_tg, tg_s, n_tg > 0 && tg_s > 0 ? n_tg / tg_s : 0.0,
           json_escape(g_log).c_str());
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return ok ? 0 : 4;
}
