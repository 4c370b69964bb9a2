#!/usr/bin/env python3
"""Write tests/fixtures/dequant/<TYPE>.blocks (raw random blocks, ggml layout) and <TYPE>.f32
(expected values, little-endian f32) using gguf-py's own dequantizer (gguf.quants.dequantize).

Usage: python3 -m venv venv && venv/bin/pip install gguf==0.19.0 numpy
       venv/bin/python scripts/make_dequant_fixtures.py
The Rust test tests/measure_dequant.rs checks headroom's CPU reference against these files.
Blocks are random bytes with the f16 scale fields set to finite values (|d| <= 0.01), as in
src/measure/source.rs; MXFP4 exponents are 118..121.
"""
import os
import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "dequant")
HALVES = {
    "Q4_0": [0], "Q5_0": [0], "Q8_0": [0],
    "Q4_1": [0, 2], "Q5_1": [0, 2], "Q4_K": [0, 2], "Q5_K": [0, 2],
    "Q2_K": [80, 82], "Q3_K": [108], "Q6_K": [208],
}
TYPES = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
         "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "MXFP4"]


def blocks(name, rng):
    qt = T[name]
    be, bb = GGML_QUANT_SIZES[qt]
    n_elems = 256 if be == 1 else be * (4 if be == 256 else 8)
    nb = n_elems // be
    if name == "F32":
        return rng.uniform(-1, 1, n_elems).astype("<f4").tobytes()
    if name == "F16":
        return rng.uniform(-1, 1, n_elems).astype("<f2").tobytes()
    if name == "BF16":
        f = rng.uniform(-1, 1, n_elems).astype("<f4").view("<u4")
        return (f >> 16).astype("<u2").tobytes()
    raw = bytearray(rng.integers(0, 256, nb * bb, dtype=np.uint8).tobytes())
    for b in range(nb):
        for o in HALVES.get(name, []):
            v = np.float16(rng.uniform(-0.01, 0.01)).tobytes()
            raw[b * bb + o: b * bb + o + 2] = v
        if name == "MXFP4":
            raw[b * bb] = 118 + int(rng.integers(0, 4))
    return bytes(raw)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261127)
    for name in TYPES:
        raw = blocks(name, rng)
        vals = gguf.quants.dequantize(np.frombuffer(raw, dtype=np.uint8), T[name])
        vals = np.asarray(vals, dtype="<f4").reshape(-1)
        with open(os.path.join(OUT, f"{name}.blocks"), "wb") as f:
            f.write(raw)
        with open(os.path.join(OUT, f"{name}.f32"), "wb") as f:
            f.write(vals.tobytes())
        print(name, len(raw), "bytes ->", vals.size, "values")


if __name__ == "__main__":
    main()
