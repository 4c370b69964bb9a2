#!/usr/bin/env python3
"""Read graph_probe output and print what is live at the compute buffer's high-water mark.

A tensor is live from the node that first mentions it (inputs: from node 0) to the last node that uses it.
For the tensor whose end address is the buffer's maximum, print every tensor live at that node, with
its size, so the formula in src/estimate/compute.rs can name the terms (diagnostic only)."""
import sys

lines = open(sys.argv[1]).read().splitlines()
T, first, last = {}, {}, {}
buf = None
for l in lines:
    if l.startswith("#"):
        buf = int(l.split("compute_buffer")[1].split()[0])
        continue
    f = l.split()
    idx = int(f[0])
    if f[1] == "use":
        for p in f[2:]:
            last[p] = max(last.get(p, -1), idx)
        continue
    kind, ptr = f[1:3]
    op, ty, ne, off, sz = f[-5:]
    name = "_".join(f[3:-5])
    T[ptr] = dict(name=name, op=op, ty=ty, ne=ne, off=int(off), sz=int(sz), kind=kind)
    first[ptr] = idx if kind == "node" else (0 if name.startswith(("inp", "attn_inp", "leaf")) else idx)
top = max(T, key=lambda p: T[p]["off"] + T[p]["sz"])
t = T[top]
at = first[top]
print(f"buffer {buf}; top tensor {t['name']} {t['op']} {t['ne']} end {t['off']+t['sz']} at node {at}")
live = [p for p in T if first[p] <= at <= last.get(p, first[p])]
live.sort(key=lambda p: T[p]["off"])
tot = 0
for p in live:
    x = T[p]
    tot += x["sz"]
    print(f"  {x['off']:>11} {x['sz']:>11} {x['name']:28} {x['op']:14} {x['ty']:5} {x['ne']}")
print(f"  live sum {tot}, holes {t['off']+t['sz']-tot}")
