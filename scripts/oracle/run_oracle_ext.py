#!/usr/bin/env python3
"""Extended memory oracle for headroom (issue 6): MoE, MLA, recurrent / hybrid, gpt-oss, and wider sweeps
(contexts 512..128k, ubatch 128..2048, FA on/off, KV f16/q8_0/q4_0, parallel sequences).

Same method as /work/shared/oracle/run_oracle.py (the 80-row oracle): synthetic GGUFs from make_gguf.py
(real llama.cpp tensor names/shapes, random weights), loaded by mem_probe (links libllama, prints the exact
bytes of llama_get_memory_breakdown). Memory only: no speed benchmarks.

Writes
  tests/data/oracle_results_ext.csv     one row per (model, n_ctx, n_ubatch, n_seq, K/V types, FA)
  tests/data/oracle_ext_models.json     each model's GGUF header (metadata minus the tokenizer arrays,
                                        tensor names/shapes/types) so the Rust test rebuilds the header with
                                        headroom's own GGUF writer and needs no model file.

Usage (llama.cpp 0c1e570 CPU build; build the probe first, see scripts/oracle/README or the CSV comment):
  python3 scripts/oracle/run_oracle_ext.py --bin $LLAMA/build/bin --probe $MODELS/mem_probe \
      --models /root/.cache/llama-oracle/models-ext [--only NAME,...]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MiB = 1024 * 1024
LLAMA_COMMIT = "0c1e57098bba43ac29e6e3b677cdceebdd22334f"
THREADS = 1

# ---- model zoo: small shapes of real architectures (the formulas are shape-generic) --------------------
MODELS = [
    # Qwen3-30B-A3B layout (128 experts, top-8, q/k norm, head_dim 128 != n_embd/n_head), scaled down
    dict(name="qwen3moe-128x-q8_0", args=dict(arch="qwen3moe", n_layer=4, n_embd=512, n_head=8, n_head_kv=2,
                                              head_dim=128, n_ff=1024, n_ff_exp=128, n_expert=128,
                                              n_expert_used=8, n_vocab=151936, ctx=131072, type="Q8_0",
                                              rope_theta=1000000.0, rms_eps=1e-6, tie_embeddings=True)),
    # Mixtral-8x7B layout (llama arch, 8 experts top-2, GQA 4:1, head_dim 128), scaled down
    dict(name="mixtral-8x-q8_0", args=dict(arch="llama", n_layer=4, n_embd=512, n_head=4, n_head_kv=1,
                                           n_ff=1792, n_expert=8, n_expert_used=2, n_vocab=32000,
                                           ctx=131072, type="Q8_0", rope_theta=1000000.0)),
    # DeepSeek-V3 layout: MLA with q compression (q_lora_rank), rope 64/nope 128/v 128 scaled to 32/64/64,
    # 1 leading dense layer, routed experts top-k + 1 shared expert
    dict(name="deepseek3-mla-q8_0", args=dict(arch="deepseek2", n_layer=4, n_embd=512, n_head=8, n_ff=1536,
                                              kv_lora_rank=128, q_lora_rank=192, rope_dim=32, mla_nope_dim=64,
                                              mla_v_dim=64, n_dense_lead=1, n_expert=32, n_expert_used=4,
                                              n_expert_shared=1, n_ff_exp=256, n_vocab=32000, ctx=163840,
                                              type="Q8_0")),
    # DeepSeek-V3's expert proportions (8 of 256 experts used, expert width 2048 < n_embd 7168, so the routed
    # down outputs k·n_embd exceed gate+up 2·k·n_ff_exp): 8 of 64 used, width 128 at n_embd 512
    dict(name="deepseek3-k8-q8_0", args=dict(arch="deepseek2", n_layer=4, n_embd=512, n_head=8, n_ff=1536,
                                             kv_lora_rank=128, q_lora_rank=192, rope_dim=32, mla_nope_dim=64,
                                             mla_v_dim=64, n_dense_lead=1, n_expert=64, n_expert_used=8,
                                             n_expert_shared=1, n_ff_exp=128, n_vocab=32000, ctx=163840,
                                             type="Q8_0")),
    # DeepSeek-V2-Lite layout: 27 layers (llama.cpp's "lite" switch: no q compression), 2 shared experts
    dict(name="deepseek2lite-mla-f16", args=dict(arch="deepseek2", n_layer=27, n_embd=256, n_head=4, n_ff=1024,
                                                 kv_lora_rank=64, q_lora_rank=0, rope_dim=32, mla_nope_dim=32,
                                                 mla_v_dim=32, n_dense_lead=1, n_expert=8, n_expert_used=2,
                                                 n_expert_shared=2, n_ff_exp=128, n_vocab=32000, ctx=163840,
                                                 type="F16")),
    # the same DeepSeek-V3 layout as converted before llama.cpp split wkv_b (2025-04; many published R1/V3
    # GGUFs): no key_length_mla, head_count_kv = n_head, attn_kv_b; llama.cpp runs it without MLA
    # (a known miss of the live-set formulas on 3 of 22 rows until headroom simulated ggml's allocator over the
    # rebuilt graph, src/estimate/graph.rs: now every row is exact)
    dict(name="deepseek3-legacy-q8_0", args=dict(arch="deepseek2", n_layer=4, n_embd=512, n_head=8, n_ff=1536,
                                                 kv_lora_rank=128, q_lora_rank=192, rope_dim=32, mla_nope_dim=64,
                                                 mla_v_dim=64, n_dense_lead=1, n_expert=32, n_expert_used=4,
                                                 n_expert_shared=1, n_ff_exp=256, n_vocab=32000, ctx=163840,
                                                 type="Q8_0", mla_legacy=True)),
    # Mamba-1 (130M layout scaled): d_inner = 2 n_embd, d_state 16, dt_rank n_embd/16
    dict(name="mamba-f16", args=dict(arch="mamba", n_layer=8, n_embd=512, n_head=1, n_ff=0, ssm_d_conv=4,
                                     ssm_d_inner=1024, ssm_d_state=16, ssm_dt_rank=32, n_vocab=32000,
                                     ctx=1048576, type="F16", tie_embeddings=True)),
    # Mamba-2 (d_state 128, 16 heads of 64, 1 group)
    dict(name="mamba2-q8_0", args=dict(arch="mamba2", n_layer=8, n_embd=512, n_head=1, n_ff=0, ssm_d_conv=4,
                                       ssm_d_inner=1024, ssm_d_state=128, ssm_dt_rank=16, ssm_n_group=1,
                                       n_vocab=32000, ctx=1048576, type="Q8_0", tie_embeddings=True)),
    # Granite-4.0-H-Tiny layout: 40 layers, Mamba-2 layers with attention on 4 of them (head_count_kv 0 =
    # recurrent), its 100352-token vocabulary; width scaled down
    dict(name="granitehybrid-q8_0", args=dict(arch="granitehybrid", n_layer=40, n_embd=512, n_head=8,
                                              n_head_kv=2, n_ff=1024, ssm_d_conv=4, ssm_d_inner=1024,
                                              ssm_d_state=64, ssm_dt_rank=16, ssm_n_group=1,
                                              attn_layers="5,15,25,35", n_vocab=100352, ctx=131072,
                                              type="Q8_0", tie_embeddings=True)),
    # LFM2-1.2B layout: 16 layers, short convolutions (L_cache 3) with attention on 6 of them (q/k norm,
    # GQA 4:1), 65536-token vocabulary; width scaled down
    dict(name="lfm2-q8_0", args=dict(arch="lfm2", n_layer=16, n_embd=512, n_head=8, n_head_kv=2, n_ff=2048,
                                     attn_layers="2,5,8,10,12,14", shortconv_l_cache=3, n_vocab=65536,
                                     ctx=128000, type="Q8_0", rope_theta=1000000.0, tie_embeddings=True)),
    # Jamba-v0.1 layout: 32 layers, Mamba-1 with attention on 1 of every 8 (offset 4), MoE 16 experts top-2 on
    # every other layer (offset 1), 65536 vocabulary; width scaled down
    # (a known miss of the live-set formulas on 4 of 22 rows until headroom simulated ggml's allocator over the
    # rebuilt graph, src/estimate/graph.rs: now every row is exact)
    dict(name="jamba-q8_0", args=dict(arch="jamba", n_layer=32, n_embd=512, n_head=8, n_head_kv=2, n_ff=1024,
                                      ssm_d_conv=4, ssm_d_inner=1024, ssm_d_state=16, ssm_dt_rank=32,
                                      attn_layers="4,12,20,28", moe_layers=",".join(str(i) for i in range(1, 32, 2)),
                                      n_expert=16, n_expert_used=2, n_vocab=65536, ctx=262144, type="Q8_0")),
    # Qwen3-Next-80B-A3B layout: 48 layers, gated delta net (linear attention, 16 k / 32 v heads of 128) on 3
    # of every 4 layers, gated full attention (head_dim 256) on the 4th, 512 experts top-10 + gated shared
    # expert, 151936-token vocabulary; scaled to 8 layers, 4 k / 8 v heads of 64, head_dim 128, 64 experts
    dict(name="qwen3next-q8_0", args=dict(arch="qwen3next", n_layer=8, n_embd=512, n_head=4, n_head_kv=2,
                                          head_dim=128, rope_dim=64, n_ff=1024, n_ff_exp=128, n_ff_shexp=128,
                                          n_expert=64, n_expert_used=8, ssm_d_conv=4, ssm_d_state=64,
                                          ssm_n_group=4, ssm_dt_rank=8, full_attn_interval=4,
                                          n_vocab=151936, ctx=262144, type="Q8_0", rope_theta=10000000.0)),
    # gpt-oss-20b layout: 24 layers, attention sinks, sliding window 128 on every other layer, MoE with
    # biases, head_dim 64, its 201088-token vocabulary; width and expert count scaled down
    dict(name="gptoss-q8_0", args=dict(arch="gpt-oss", n_layer=24, n_embd=512, n_head=8, n_head_kv=2, head_dim=64,
                                       n_ff=512, n_ff_exp=512, n_expert=16, n_expert_used=4, swa=128,
                                       n_vocab=201088, ctx=131072, type="Q8_0", rope_theta=150000.0)),
]

RECURRENT = {"mamba", "mamba2"}

# ---- unified KV cache (kv_unified = true: llama-server's default when -np is not given) -----------------
# The dense shapes of the 80-row oracle (/work/shared/oracle/run_oracle.py), and these
# models of the zoo above.
KVU_MODELS = [
    dict(name="small-llama-q8_0", args=dict(arch="llama", n_layer=12, n_embd=768, n_head=12, n_head_kv=4,
                                            n_ff=2816, n_vocab=32000, ctx=32768, type="Q8_0")),
    # Qwen3-0.6B shape (q/k norm, head_dim 128 != n_embd/n_head, tied embeddings), all 28 layers (the
    # formula's known hole under the logits, 6·n_embd + 6 floats per token at n_ctx 4096 with flash
    # attention, weighs less against a full-depth total)
    dict(name="qwen3-0.6b-q8_0", args=dict(arch="qwen3", n_layer=28, n_embd=1024, n_head=16, n_head_kv=8,
                                         head_dim=128, n_ff=3072, n_vocab=151936, ctx=40960, type="Q8_0",
                                         rope_theta=1000000.0, rms_eps=1e-6, tie_embeddings=True)),
    # Gemma3-style: sliding window 512 on 5 of every 6 layers, head_dim 256, MQA
    dict(name="gemma3-swa-q8_0", args=dict(arch="gemma3", n_layer=18, n_embd=640, n_head=4, n_head_kv=1,
                                           head_dim=256, n_ff=2048, n_vocab=32000, ctx=32768, type="Q8_0",
                                           swa=512, swa_pattern=6, rope_theta=1000000.0, rms_eps=1e-6,
                                           tie_embeddings=True)),
]
KVU_FROM_EXT = ["gptoss-q8_0", "mixtral-8x-q8_0", "qwen3moe-128x-q8_0", "deepseek3-mla-q8_0",
                "granitehybrid-q8_0", "qwen3next-q8_0", "lfm2-q8_0", "mamba-f16", "mamba2-q8_0"]


def kvu_configs(m):
    """(n_ctx, n_ubatch, n_seq, ctk, ctv, fa) for the unified-cache rows."""
    arch = m["args"]["arch"]
    out = []
    if arch in RECURRENT:
        for ns in (1, 2, 4, 8):
            out.append((4096, 512, ns, "f16", "f16", "on"))
        out.append((4096, 512, 4, "f16", "f16", "off"))
        out.append((32768, 512, 4, "f16", "f16", "on"))
        for ub in (128, 2048):
            out.append((4096, ub, 4, "f16", "f16", "on"))
        return out
    for ns in (1, 2, 4, 8):
        for fa in ("on", "off"):
            out.append((4096, 512, ns, "f16", "f16", fa))
    out.append((512, 512, 4, "f16", "f16", "on"))
    out.append((1000, 512, 3, "f16", "f16", "off"))
    out.append((4096, 512, 2, "q8_0", "q8_0", "on"))
    out.append((4096, 512, 8, "q8_0", "f16", "off"))
    for ub in (128, 2048):
        out.append((4096, ub, 4, "f16", "f16", "on"))
    out.append((4096, 2048, 2, "f16", "f16", "off"))
    out.append((32768, 512, 4, "q8_0", "q8_0", "on"))
    out.append((32768, 1024, 8, "f16", "f16", "off"))
    out.append((131072, 512, 4, "q8_0", "q8_0", "on"))
    return out


def configs(m):
    """(n_ctx, n_ubatch, n_seq, ctk, ctv, fa) per model."""
    arch = m["args"]["arch"]
    out = []
    if arch in RECURRENT:
        # no KV cache: K/V types and FA do not matter; the state scales with n_seq
        for c in (512, 4096, 32768, 131072):
            out.append((c, 512, 1, "f16", "f16", "on"))
        out.append((4096, 512, 1, "f16", "f16", "off"))
        for ub in (128, 2048):
            out.append((4096, ub, 1, "f16", "f16", "on"))
        for ns in (2, 4):
            out.append((4096, 512, ns, "f16", "f16", "on"))
        return out
    cache = [("f16", "f16", "off"), ("f16", "f16", "on"), ("q8_0", "q8_0", "on"), ("q4_0", "q4_0", "on")]
    for c in (512, 4096, 32768):
        for ctk, ctv, fa in cache:
            out.append((c, 512, 1, ctk, ctv, fa))
    out.append((131072, 512, 1, "f16", "f16", "on"))
    out.append((131072, 512, 1, "q8_0", "q8_0", "on"))
    out.append((131072, 512, 1, "f16", "f16", "off"))
    for ub in (128, 2048):
        for fa in ("off", "on"):
            out.append((4096, ub, 1, "f16", "f16", fa))
    out.append((4096, 512, 4, "f16", "f16", "on"))
    out.append((4096, 512, 4, "f16", "f16", "off"))
    out.append((32768, 1024, 2, "q8_0", "q8_0", "on"))
    return out


CSV_COLS = ["model_name", "arch", "weight_type", "n_ctx", "n_ctx_seq", "n_ubatch", "n_batch", "n_seq_max",
            "cache_type_k", "cache_type_v", "flash_attn", "swa_full", "kv_bytes_reported",
            "compute_buffer_bytes_reported", "output_buffer_bytes_reported", "model_buffer_bytes_reported",
            "model_repack_bytes", "file_bytes", "kv_cells", "memory_log", "buffers_json"]
KVU_COLS = CSV_COLS[:12] + ["kv_unified"] + CSV_COLS[12:]


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def gen_model(m, models_dir, regen, log):
    path = os.path.join(models_dir, m["name"] + ".gguf")
    meta_path = path + ".json"
    spec = m["args"]
    if not regen and os.path.exists(path) and os.path.exists(meta_path):
        meta = json.load(open(meta_path))
        if meta.get("spec") == spec:
            return path, meta
    cmd = [sys.executable, os.path.join(HERE, "make_gguf.py"), "-o", path, "--json", "--fill", "fast"]
    for k, v in spec.items():
        if isinstance(v, bool):
            if v:
                cmd.append("--" + k.replace("_", "-"))
        else:
            cmd += ["--" + k.replace("_", "-"), str(v)]
    r = sh(cmd)
    if r.returncode != 0:
        raise RuntimeError(f"make_gguf failed: {r.stderr[-2000:]}")
    summ = json.loads(r.stdout.strip().splitlines()[-1])
    meta = dict(spec=spec, summary=summ, cmd=" ".join(cmd[1:]))
    json.dump(meta, open(meta_path, "w"), indent=1)
    log(f"generated {m['name']}: {summ['file_bytes']/MiB:.1f} MiB")
    return path, meta


def header_dump(path):
    """The GGUF header without the tokenizer arrays: [[key, type, value]], [[name, ne, ggml_type]]."""
    import gguf
    from gguf import GGUFValueType as VT
    r = gguf.GGUFReader(path)
    kv = []
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or (k.startswith("tokenizer.") and f.types[0] == VT.ARRAY):
            continue
        t = f.types[0]
        if t == VT.ARRAY:
            et = f.types[1]
            vals = [f.parts[i].tolist()[0] for i in f.data]
            kv.append([k, "arr_" + et.name.lower(), vals])
        elif t == VT.STRING:
            kv.append([k, "string", bytes(f.parts[f.data[0]]).decode()])
        else:
            v = f.parts[f.data[0]].tolist()[0]
            kv.append([k, t.name.lower(), v])
    tensors = [[t.name, [int(x) for x in t.shape], int(t.tensor_type)] for t in r.tensors]
    return dict(kv=kv, tensors=tensors)


RE_MEM = re.compile(r"^(llama_kv_cache(?:_iswa)?|llama_memory_recurrent): +size = .*$", re.M)
RE_KV_CELLS = re.compile(r"llama_kv_cache: size = +[\d.]+ MiB \( *(\d+) cells")
RE_OUT = re.compile(r"output buffer size = +([\d.]+) MiB")


def run_probe(probe, path, n_ctx, ub, n_seq, ctk, ctv, fa, kv_unified=False):
    cmd = [probe, "-m", path, "-c", str(n_ctx), "-b", str(max(2048, ub)), "-ub", str(ub), "-np", str(n_seq),
           "-ctk", ctk, "-ctv", ctv, "-fa", fa, "-t", str(THREADS), "--prompt", "4", "--tg", "0"]
    if kv_unified:
        cmd.append("--kv-unified")
    r = sh(cmd, timeout=900)
    line = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if not line:
        return None, r.stderr
    return json.loads(line[-1]), r.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--probe", required=True)
    ap.add_argument("--models", default="/root/.cache/llama-oracle/models-ext")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "oracle_results_ext.csv"))
    ap.add_argument("--headers", default=os.path.join(ROOT, "tests", "data", "oracle_ext_models.json"))
    ap.add_argument("--misses", default=os.path.join(ROOT, "tests", "data", "oracle_results_ext_misses.csv"),
                    help="rows of models marked known_miss (not held to the compute/total bars)")
    ap.add_argument("--only", default=None)
    ap.add_argument("--regen", action="store_true")
    ap.add_argument("--kv-unified", action="store_true",
                    help="the unified-KV rows instead: KVU_MODELS and KVU_FROM_EXT with kvu_configs(), written to "
                         "tests/data/oracle_results_kvu.csv (+ kv_unified column) and oracle_kvu_models.json "
                         "(headers of KVU_MODELS only; the others are in oracle_ext_models.json)")
    a = ap.parse_args()
    kvu = a.kv_unified
    if kvu:
        if a.out.endswith("oracle_results_ext.csv"):
            a.out = os.path.join(ROOT, "tests", "data", "oracle_results_kvu.csv")
        if a.headers.endswith("oracle_ext_models.json"):
            a.headers = os.path.join(ROOT, "tests", "data", "oracle_kvu_models.json")
        a.misses = a.out + ".misses-unused"
    os.makedirs(a.models, exist_ok=True)
    logs = os.path.join(a.models, "logs")
    os.makedirs(logs, exist_ok=True)
    t_start = time.time()

    def log(msg):
        print(f"[{time.time()-t_start:7.1f}s] {msg}", flush=True)

    all_models = KVU_MODELS + [m for m in MODELS if m["name"] in KVU_FROM_EXT] if kvu else MODELS
    header_models = KVU_MODELS if kvu else MODELS
    cols = KVU_COLS if kvu else CSV_COLS
    zoo = all_models
    rows, headers = [], {}
    if a.only:  # keep the other models' rows from the previous CSV
        keep = set(a.only.split(","))
        zoo = [m for m in all_models if m["name"] in keep]
        for path in (a.out,) if kvu else (a.out, a.misses):
            if os.path.exists(path):
                rows += [r for r in csv.DictReader(l for l in open(path) if not l.startswith("#"))
                         if r["model_name"] not in keep]
        if os.path.exists(a.headers):
            headers = {k: v for k, v in json.load(open(a.headers)).items() if k not in keep}

    def write():
        order = {m["name"]: i for i, m in enumerate(all_models)}
        misses = {m["name"]: m["known_miss"] for m in all_models if "known_miss" in m}
        rows.sort(key=lambda r: order.get(r["model_name"], 99))
        outs = ((a.out, lambda r: True),) if kvu else (
            (a.out, lambda r: r["model_name"] not in misses), (a.misses, lambda r: r["model_name"] in misses))
        for path, keep in outs:
            with open(path, "w", newline="") as f:
                unified = ("kv_unified ON (--kv-unified: llama-server's default when -np is not given)" if kvu
                           else "kv_unified off (library/common default)")
                f.write(f"# llama.cpp commit {LLAMA_COMMIT} (0c1e570), CPU backend, mem_probe "
                        f"(scripts/oracle/mem_probe.cpp: exact bytes from llama_get_memory_breakdown), "
                        f"-t {THREADS} -b max(2048,ub), swa_full off, {unified}.\n")
                f.write("# generated by scripts/oracle/run_oracle_ext.py; models by scripts/oracle/make_gguf.py "
                        "(commands in tests/data/oracle_ext_models.json); output_buffer from the %.2f MiB log line.\n")
                if path == a.misses:
                    for name, why in misses.items():
                        f.write(f"# known miss, {name}: {why}\n")
                w = csv.DictWriter(f, fieldnames=cols)
                w.writeheader()
                w.writerows([r for r in rows if keep(r)])
        hs = {m["name"]: headers[m["name"]] for m in header_models if m["name"] in headers}
        with open(a.headers, "w") as f:
            f.write("{\n")
            items = list(hs.items())
            for i, (k, v) in enumerate(items):
                f.write(json.dumps(k) + ": {\n")
                f.write(' "cmd": ' + json.dumps(v["cmd"]) + ",\n")
                f.write(' "kv": [\n' + ",\n".join("  " + json.dumps(x) for x in v["kv"]) + "\n ],\n")
                f.write(' "tensors": [\n' + ",\n".join("  " + json.dumps(x) for x in v["tensors"]) + "\n ]\n")
                f.write("}" + ("," if i + 1 < len(items) else "") + "\n")
            f.write("}\n")

    for m in zoo:
        try:
            path, meta = gen_model(m, a.models, a.regen, log)
        except RuntimeError as e:
            log(f"{m['name']}: {e}")
            continue
        hd = header_dump(path)
        hd["cmd"] = "make_gguf.py " + meta["cmd"].split("make_gguf.py", 1)[-1].strip().replace(path, m["name"] + ".gguf")
        headers[m["name"]] = hd
        s = meta["summary"]
        for n_ctx, ub, ns, ctk, ctv, fa in (kvu_configs(m) if kvu else configs(m)):
            tag = f"{m['name']}.c{n_ctx}.ub{ub}.np{ns}.{ctk}-{ctv}.fa{fa}" + (".kvu" if kvu else "")
            t0 = time.time()
            j, stderr = run_probe(a.probe, path, n_ctx, ub, ns, ctk, ctv, fa, kvu)
            open(os.path.join(logs, tag + ".log"), "w").write(stderr)
            if j is None or "log" not in j:
                err = [l for l in stderr.splitlines() if "error" in l.lower() or "failed" in l.lower()]
                log(f"probe FAILED {tag}: {err[-3:]}")
                continue
            lg = j["log"]
            out = RE_OUT.search(lg)
            if kvu and j.get("kv_unified") != 1:
                log(f"probe {tag}: kv_unified not reported on (rebuild mem_probe)")
                continue
            extra = {"kv_unified": "on"} if kvu else {}
            rows.append({
                **extra,
                "model_name": m["name"], "arch": s["arch"], "weight_type": s["weight_type"],
                "n_ctx": j["n_ctx"], "n_ctx_seq": j["n_ctx_seq"], "n_ubatch": j["n_ubatch"],
                "n_batch": j["n_batch"], "n_seq_max": j["n_seq_max"],
                "cache_type_k": ctk, "cache_type_v": ctv, "flash_attn": fa, "swa_full": j["swa_full"],
                "kv_bytes_reported": j["context_bytes"], "compute_buffer_bytes_reported": j["compute_bytes"],
                "output_buffer_bytes_reported": round(float(out.group(1)) * MiB) if out else "",
                "model_buffer_bytes_reported": j["model_bytes"],
                "model_repack_bytes": sum(b["model"] for b in j["buffers"] if "REPACK" in b["buft"]),
                "file_bytes": os.path.getsize(path),
                "kv_cells": "+".join(RE_KV_CELLS.findall(lg)),
                "memory_log": " | ".join(x.group(0).split(": ", 1)[1].strip() for x in RE_MEM.finditer(lg)),
                "buffers_json": json.dumps(j["buffers"], separators=(",", ":")),
            })
            log(f"{tag}: kv={j['context_bytes']} compute={j['compute_bytes']} model={j['model_bytes']} "
                f"[{time.time()-t0:.1f}s]")
        write()
    write()
    log(f"done: {len(rows)} rows -> {a.out}")


if __name__ == "__main__":
    main()
