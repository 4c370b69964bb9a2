#!/usr/bin/env python3
"""Optional cross-check of headroom's GGUF reader against gguf-py (not run in CI).

Writes GGUF files with gguf-py's GGUFWriter (every metadata type, nested arrays, every ggml type that
gguf-py knows, a custom alignment) into OUT_DIR, and next to each FILE.gguf a FILE.json of what
gguf-py's GGUFReader reads back: version, alignment, data offset, metadata values and every tensor's
name, ne shape, type id, absolute data offset and byte size. Then run the ignored Rust test that parses
the same files with headroom and compares:

    pip install gguf==0.19.0 numpy
    python3 scripts/crosscheck_gguf.py /tmp/gguf-xcheck
    HEADROOM_GGUF_XCHECK=/tmp/gguf-xcheck cargo test --test gguf crosscheck_gguf_py -- --ignored
"""

import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q, GGUFReader, GGUFWriter, GGUFValueType as VT


def add_all_metadata(w: GGUFWriter) -> None:
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4_000_000_000)
    w.add_int32("t.i32", -2_000_000_000)
    w.add_uint64("t.u64", 2**64 - 1)
    w.add_int64("t.i64", -(2**63))
    w.add_float32("t.f32", 0.5)
    w.add_float64("t.f64", -2.25e300)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo ✓")
    w.add_array("t.arr.i32", [1, -2, 3])
    w.add_array("t.arr.str", ["a", "bc", ""])
    w.add_array("t.arr.f32", [0.25, -1.5])
    w.add_array("t.arr.nested", [[1, 2], [3]])
    w.add_array("t.arr.long", list(range(5000)))


def write_types_file(path: str, alignment: int | None) -> None:
    w = GGUFWriter(path, arch="llama")
    if alignment is not None:
        w.add_custom_alignment(alignment)
    add_all_metadata(w)
    w.add_block_count(1)
    rng = np.random.default_rng(0)
    for qt in Q:
        if qt not in gguf.GGML_QUANT_SIZES:
            continue
        block, type_size = gguf.GGML_QUANT_SIZES[qt]
        rows, cols = 3, block * 2  # ne = [cols, rows]
        nbytes_row = cols // block * type_size
        data = rng.integers(0, 256, size=(rows, nbytes_row), dtype=np.uint8)
        w.add_tensor(f"t.{qt.name.lower()}", data, raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def field_value(f):
    t = f.types[0]
    if t == VT.ARRAY:
        if len(f.types) > 1 and f.types[1] == VT.ARRAY:
            return None  # gguf-py does not decode nested arrays; values compared by the Rust test directly
        return list(f.contents())
    return f.contents()


def describe(path: str) -> dict:
    r = GGUFReader(path)
    kv = {}
    for name, f in r.fields.items():
        if name.startswith("GGUF."):
            continue
        kv[name] = {"type": int(f.types[0]), "value": field_value(f)}
        if f.types[0] == VT.ARRAY and kv[name]["value"] is not None:
            kv[name]["len"] = len(f.data)
    tensors = [
        {
            "name": t.name,
            "shape": [int(x) for x in t.shape],
            "type": int(t.tensor_type),
            "offset": int(t.data_offset),
            "n_bytes": int(t.n_bytes),
            "n_elements": int(t.n_elements),
        }
        for t in r.tensors
    ]
    version = int(r.fields["GGUF.version"].parts[-1][0])
    return {"version": version, "alignment": int(r.alignment), "data_offset": int(r.data_offset), "kv": kv,
            "tensors": tensors}


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else "gguf-xcheck"
    os.makedirs(out, exist_ok=True)
    for name, align in [("types_default_align", None), ("types_align_64", 64)]:
        p = os.path.join(out, name + ".gguf")
        write_types_file(p, align)
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(describe(p), f, indent=1, default=float)
        print("wrote", p)


if __name__ == "__main__":
    main()
