#!/usr/bin/env python3
"""Merge llama-bench sessions (jsonl from bench.sh / pair.sh) into tests/data/cpu_llamacpp_zen5_2c.csv rows:
value = the best sample over every session (the run least disturbed on the shared machine)."""
import json, sys, collections
rows = collections.OrderedDict()
for path in sys.argv[1:]:
    for line in open(path):
        if not line.strip():
            continue
        r = json.loads(line)
        shape, quant = r["model"].split("-", 1)
        model = {"llama1b": "llama-3.2-1b", "llama3b": "llama-3.2-3b"}[shape]
        for b in r["bench"]:
            kind = "tg%d" % b["n_gen"] if b["n_gen"] else "pp%d" % b["n_prompt"]
            key = (kind, model, quant)
            e = rows.setdefault(key, {"size": b["model_size"], "threads": b["n_threads"], "samples": [], "loads": []})
            e["samples"] += b["samples_ts"]
            e["loads"].append("%s load %s" % (r["start"][11:16], r["load_before"].split(" psi")[0].replace(" ", "/")))
print("kind,model,quant,model_size_bytes,threads,value,samples,load_at_start")
order = {"tg64": 0, "pp512": 1}
for (kind, model, quant), e in sorted(rows.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][1], kv[0][2])):
    print("%s,%s,%s,%d,%d,%.3f,%s,%s" % (kind, model, quant, e["size"], e["threads"], max(e["samples"]),
          " ".join("%.2f" % s for s in e["samples"]), "; ".join(e["loads"])))
