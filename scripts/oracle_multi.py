#!/usr/bin/env python3
"""Multi-device oracle: what llama.cpp allocates on each device when a model is split over several devices.

Each "device" is a llama.cpp RPC server (ggml-rpc-server, CPU backend) on 127.0.0.1; the probe
(scripts/oracle/mem_probe.cpp, linked to libllama) registers them as llama.cpp's `--rpc` does, loads a
synthetic GGUF (shared/oracle/make_gguf.py) with -ngl 99, -sm and -ts, creates a context and prints the
exact bytes of every buffer (llama_get_memory_breakdown): model / KV (context) / compute per device, and the
host (CPU) buffers. Writes tests/data/multi_rpc_split.csv. Run through scripts/oracle_multi.sh.
"""
import json
import os
import subprocess
import sys

ORACLE_BUILD = os.environ.get("ORACLE_BUILD", os.path.expanduser("~/.cache/llama-oracle"))
LLAMA = os.path.join(ORACLE_BUILD, "llama.cpp")
BIN = os.path.join(LLAMA, "build", "bin")
WORK = os.path.join(ORACLE_BUILD, "models-multi")
HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_GGUF = os.environ.get("MAKE_GGUF", os.path.join(HERE, "..", "..", "shared", "oracle", "make_gguf.py"))
PORTS = [50052, 50053, 50054]
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "tests", "data", "multi_rpc_split.csv")

MODELS = [
    dict(name="llama-q8_0", arch="llama", n_layer=8, n_embd=512, n_head=8, n_head_kv=2, head_dim=64,
         n_ff=1536, n_vocab=32000, type="Q8_0"),
    dict(name="qwen3-q4_k", arch="qwen3", n_layer=12, n_embd=1024, n_head=16, n_head_kv=8, head_dim=128,
         n_ff=3072, n_vocab=32000, type="Q4_K"),
    dict(name="qwen3moe-q8_0", arch="qwen3moe", n_layer=6, n_embd=512, n_head=8, n_head_kv=4, head_dim=64,
         n_ff=512, n_vocab=32000, type="Q8_0", n_expert=8, n_expert_used=2, n_ff_exp=256),
    dict(name="llama-tied-f16", arch="llama", n_layer=6, n_embd=256, n_head=4, n_head_kv=2, head_dim=64,
         n_ff=768, n_vocab=32000, type="F16", tied=1),
    dict(name="gemma3-swa-q8_0", arch="gemma3", n_layer=8, n_embd=640, n_head=4, n_head_kv=1, head_dim=256,
         n_ff=2048, n_vocab=32000, type="Q8_0", swa=256, swa_pattern=4, tied=1),
    # a medium model (0.6 GB) where, as in real models, the weights outweigh the compute buffers
    dict(name="medium-llama-q4_0", arch="llama", n_layer=24, n_embd=2048, n_head=16, n_head_kv=4, head_dim=128,
         n_ff=5632, n_vocab=32000, type="Q4_0"),
]

# (split mode, number of devices, -ts or "" for llama.cpp's default split by free memory)
LAYER_SPLITS = [("layer", 2, "1,1"), ("layer", 2, "3,1"), ("layer", 3, "1,1,1"), ("layer", 3, "2,1,1"),
                ("layer", 2, "")]
CTXS = [1024, 4096]
FAS = ["on", "off"]

COLS = ["model", "arch", "weight_type", "file_tensor_bytes", "n_layer", "n_embd", "n_head", "n_head_kv",
        "head_dim", "n_ff", "n_vocab", "n_expert", "n_expert_used", "n_ff_exp", "swa", "swa_pattern", "tied",
        "split", "n_dev", "ts", "n_ctx", "n_ubatch", "cache_type_k", "cache_type_v", "fa",
        "dev_model", "dev_kv", "dev_compute", "host_model", "host_compute", "dev_free_mib"]


def gen(m):
    path = os.path.join(WORK, m["name"] + ".gguf")
    if not os.path.exists(path):
        args = [sys.executable, MAKE_GGUF, "-o", path, "--arch", m["arch"], "--n-layer", str(m["n_layer"]),
                "--n-embd", str(m["n_embd"]), "--n-head", str(m["n_head"]), "--n-head-kv", str(m["n_head_kv"]),
                "--head-dim", str(m["head_dim"]), "--n-ff", str(m["n_ff"]), "--n-vocab", str(m["n_vocab"]),
                "--type", m["type"], "--ctx", "32768"]
        if m.get("n_expert"):
            args += ["--n-expert", str(m["n_expert"]), "--n-expert-used", str(m["n_expert_used"])]
        if m.get("n_ff_exp"):
            args += ["--n-ff-exp", str(m["n_ff_exp"])]
        if m.get("swa"):
            args += ["--swa", str(m["swa"]), "--swa-pattern", str(m["swa_pattern"])]
        if m.get("tied"):
            args += ["--tie-embeddings"]
        subprocess.run(args, check=True, capture_output=True)
    return path


def probe(path, split, n_dev, ts, ctx, fa, ub=512, ctk="f16", ctv="f16"):
    rpc = ",".join(f"127.0.0.1:{p}" for p in PORTS[:n_dev])
    cmd = [os.path.join(WORK, "mem_probe_multi"), "-m", path, "--rpc", rpc, "-ngl", "99", "-sm", split,
           "-c", str(ctx), "-ub", str(ub), "-ctk", ctk, "-ctv", ctv, "-fa", fa, "-t", "1", "--prompt", "1"]
    if ts:
        cmd += ["-ts", ts]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit(f"probe failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    d = json.loads(r.stdout)
    devs = [b for b in d["buffers"] if not b["host"]]
    host = [b for b in d["buffers"] if b["host"]]
    # device order = RPC endpoint order (buffer names carry the endpoint)
    def order(b):
        for i, p in enumerate(PORTS):
            if f":{p}]" in b["buft"]:
                return i
        return 99
    devs.sort(key=order)
    free = [line.split(" - ")[-1].split()[0] for line in d["log"].split("\n")
            if "llama_prepare_model_devices: using device" in line]
    return dict(
        dev_model=";".join(str(b["model"]) for b in devs),
        dev_kv=";".join(str(b["context"]) for b in devs),
        dev_compute=";".join(str(b["compute"]) for b in devs),
        host_model=sum(b["model"] for b in host),
        host_compute=sum(b["compute"] for b in host),
        dev_free_mib=";".join(free),
        n_ubatch=d["n_ubatch"],
        file_tensor_bytes=d["model_size"],
    ), " ".join(os.path.basename(c) if c.startswith("/") else c for c in cmd)


def main():
    rows = []
    cmds = []
    for m in MODELS:
        path = gen(m)
        configs = [(s, n, ts, c, fa, 512, "f16", "f16") for (s, n, ts) in LAYER_SPLITS for c in CTXS for fa in FAS]
        # micro-batch and quantized KV on the 3-device split
        configs += [("layer", 3, "2,1,1", 4096, "on", 256, "f16", "f16"),
                    ("layer", 3, "2,1,1", 4096, "on", 512, "q8_0", "q8_0")]
        # one device (-sm none), the single-device path through RPC
        configs += [("none", 1, "", 1024, "on", 512, "f16", "f16")]
        # tensor parallelism (llama.cpp -sm tensor, EXPERIMENTAL): the Meta() buffer reports the largest device
        if m["arch"] in ("llama", "qwen3"):
            configs += [("tensor", n, ts, 1024, fa, 512, "f16", "f16")
                        for (n, ts) in [(2, "1,1"), (2, "3,1"), (3, "1,1,1")] for fa in FAS]
        for (split, n, ts, ctx, fa, ub, ctk, ctv) in configs:
            try:
                got, cmd = probe(path, split, n, ts, ctx, fa, ub, ctk, ctv)
            except SystemExit as e:
                print(f"skip {m['name']} {split} {n} {ts} {ctx} {fa}: {str(e)[:300]}", file=sys.stderr)
                continue
            cmds.append(cmd)
            row = dict(model=m["name"], arch=m["arch"], weight_type=m["type"], n_layer=m["n_layer"],
                       n_embd=m["n_embd"], n_head=m["n_head"], n_head_kv=m["n_head_kv"], head_dim=m["head_dim"],
                       n_ff=m["n_ff"], n_vocab=m["n_vocab"], n_expert=m.get("n_expert", 0),
                       n_expert_used=m.get("n_expert_used", 0), n_ff_exp=m.get("n_ff_exp", 0),
                       swa=m.get("swa", 0), swa_pattern=m.get("swa_pattern", 0), tied=m.get("tied", 0),
                       split=split, n_dev=n, ts=ts.replace(",", ";"), n_ctx=ctx, cache_type_k=ctk,
                       cache_type_v=ctv, fa=fa, **got)
            rows.append(row)
            print(m["name"], split, n, ts, ctx, fa, ub, ctk, got["dev_model"], got["dev_kv"], got["dev_compute"],
                  file=sys.stderr)
    with open(OUT, "w") as f:
        f.write("# llama.cpp commit 0c1e57098bba43ac29e6e3b677cdceebdd22334f (0c1e570), CPU backend built with "
                "-DGGML_RPC=ON; each device is one ggml-rpc-server (-t 1) on 127.0.0.1:50052/50053/50054.\n")
        f.write("# Produced by scripts/oracle_multi.sh (scripts/oracle_multi.py + scripts/oracle/mem_probe.cpp); "
                "models: shared/oracle/make_gguf.py, arguments in scripts/oracle_multi.py.\n")
        f.write("# Per-device lists are ';'-separated in RPC endpoint order; bytes from llama_get_memory_breakdown "
                "(model / context=KV / compute). split=tensor: one Meta() buffer = the largest device.\n")
        f.write("# Command per row: mem_probe_multi -m MODEL.gguf --rpc 127.0.0.1:50052[,...] -ngl 99 -sm SPLIT "
                "-c N_CTX -ub N_UBATCH -ctk K -ctv V -fa FA -t 1 --prompt 1 [-ts TS]\n")
        f.write(",".join(COLS) + "\n")
        for r in rows:
            f.write(",".join(str(r[c]) for c in COLS) + "\n")
    print(f"wrote {len(rows)} rows to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
