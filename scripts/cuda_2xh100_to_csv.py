#!/usr/bin/env python3
"""Turn the lead's raw 2 x H100 llama.cpp CUDA results (/work/shared-multi: probe_*.jsonl from mem_probe with
-ngl 99 -sm/-ts, llama-bench csv files) into tests/data/cuda_2xh100_split.csv.

Usage: scripts/cuda_2xh100_to_csv.py [RAW_DIR] [OUT.csv]
"""
import csv
import json
import os
import sys

RAW = sys.argv[1] if len(sys.argv) > 1 else "/work/shared-multi"
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                          "cuda_2xh100_split.csv")
# model file -> (model label, quant, file tensor bytes is read from the probe)
MODELS = {"/tmp/m/Q4_K_M.gguf": ("8b", "Q4_K_M"), "/tmp/m/70b.gguf": ("70b-direct", "Q4_0")}


def model_of(path, source):
    if path == "/tmp/m/Q4_0.gguf":
        # probe_a / bench.csv: llama-quantize Q4_0; probe_tensor / bench_tensor.csv: make_gguf --type Q4_0
        return ("8b-direct", "Q4_0") if "tensor" in source else ("8b", "Q4_0")
    return MODELS[path]


def arg(args, flag, default):
    return args[args.index(flag) + 1] if flag in args else default


rows = []
for fn in ["probe_a.jsonl", "probe_70b.jsonl", "probe_tensor.jsonl"]:
    args = None
    for line in open(os.path.join(RAW, fn)):
        line = line.strip()
        if line.startswith("=="):
            args = line[2:].split()
            continue
        if not line.startswith("{"):
            continue
        d = json.loads(line)
        if "buffers" not in d:
            continue
        label, quant = model_of(arg(args, "-m", ""), fn)
        split = arg(args, "-sm", "layer")
        ts = arg(args, "-ts", "").replace(",", ";")
        base = dict(model=label, quant=quant, file_tensor_bytes=d["model_size"], split=split, ts=ts,
                    ctx=d["n_ctx"], fa=d["fa"], ubatch=d["n_ubatch"])
        for b in d["buffers"]:
            name = b["buft"]
            if name.startswith("CUDA") and name[4:].isdigit():
                dev = name[4:]
            elif name == "Meta()":
                dev = "max"
            else:
                continue
            for kind, key in (("model", "model"), ("kv", "context"), ("compute", "compute")):
                rows.append(dict(base, kind=kind, device=dev, value=b[key]))

for fn in ["bench.csv", "bench70.csv", "bench_tensor.csv"]:
    # several llama-bench runs appended: each block starts with its own header line
    header = None
    for r in csv.reader(open(os.path.join(RAW, fn))):
        if r and r[0] == "build_commit":
            header = r
            continue
        if header is None or len(r) != len(header):
            continue
        d = dict(zip(header, r))
        label, quant = model_of(d["model_filename"], fn)
        kind = "pp512" if int(d["n_prompt"]) > 0 else "tg"
        rows.append(dict(model=label, quant=quant, file_tensor_bytes=d["model_size"], split=d["split_mode"], ts="",
                         ctx=0, fa=d["flash_attn"], ubatch=d["n_ubatch"], kind=kind, device="all", value=d["avg_ts"]))

cols = ["kind", "model", "quant", "split", "ts", "ctx", "fa", "ubatch", "device", "value", "file_tensor_bytes"]
with open(OUT, "w") as f:
    f.write("# llama.cpp 0c1e570 CUDA on 2 x NVIDIA H100 80GB HBM3 (SXM, NV18 NVLink 4, driver 580.159.04), recorded by\n"
            "# the lead 2026-11-27 18:12-18:26 UTC; raw files /work/shared-multi (README there), converted by\n"
            "# scripts/cuda_2xh100_to_csv.py. Build: cmake -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90.\n"
            "# Memory: mem_probe (shared/oracle/mem_probe.cpp + -ngl 99 -sm -ts) per CUDA device (model / KV / compute\n"
            "# bytes; device=max: the -sm tensor Meta() buffer = the largest device). Speed: llama-bench -p 512 -n 128\n"
            "# -r 3 -fa 1 (70B: -n 64 -r 2), tok/s. Models: make_gguf.py Llama-3.1-8B shape (L32 E4096 H32/8 ff14336\n"
            "# V128256), F16 -> llama-quantize Q4_K_M / Q4_0 (model 8b); make_gguf --type Q4_0 directly (8b-direct,\n"
            "# 70b-direct: Llama-3.1-70B shape L80 E8192 H64/8 ff28672). -sm row fails at this commit (no CUDA split buffers).\n")
    w = csv.DictWriter(f, fieldnames=cols)
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in cols})
print(f"wrote {len(rows)} rows to {OUT}", file=sys.stderr)
