#!/usr/bin/env python3
"""Generate a synthetic GGUF model (real architecture, random weights) that llama.cpp can load.

Architectures: llama (dense or MoE/Mixtral-style), qwen2 (qkv bias), qwen3 (q/k norm),
qwen3moe, gemma3 (sliding-window attention + post norms), and (headroom's extension, scripts/oracle/)
deepseek2 (MLA: kv_lora_rank, q_lora_rank, split k_b/v_b, shared experts, leading dense layers),
mamba (Mamba-1), mamba2, granitehybrid (Mamba-2 layers + attention layers, head_count_kv 0 marks the
recurrent ones), lfm2 (short-convolution layers + attention layers), jamba (Mamba-1 + attention, MoE every other layer),
qwen3next (gated delta net + gated attention,
MoE with a gated shared expert) and gpt-oss (attention sinks,
alternating sliding window, MoE with biases).
Tensor names and shapes follow llama.cpp 0c1e570 src/models/<arch>.cpp load_arch_tensors.

Weights are random. Two fill modes:
  --fill fast   (default) float types: N(0, std) values; block-quant types: random bytes
                with the fp16 scale fields overwritten by a small constant, so every block
                is a valid, finite quant block. Works for every type in TYPE_SCALES below,
                K-quants included. Very fast (~1 GB/s).
  --fill exact  float32 N(0, std) values quantized with gguf.quants.quantize (only the
                types gguf-py can quantize: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 BF16 F16 F32). Slow.

The tokenizer is a minimal SentencePiece-style ('llama') vocab of exactly n_vocab tokens:
<unk>, <s>, </s>, 256 byte-fallback tokens <0xXX>, then unique filler pieces.

Examples:
  python make_gguf.py -o tiny.gguf --n-layer 4 --n-embd 256 --n-head 4 --n-head-kv 2 \
      --n-ff 768 --n-vocab 32000 --type F16
  python make_gguf.py -o moe.gguf --arch llama --n-expert 8 --n-expert-used 2 ...
  python make_gguf.py --print-only ...   # print param count / bytes, write nothing
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

try:
    import gguf
    from gguf import GGMLQuantizationType as QT
    from gguf.constants import GGML_QUANT_SIZES, LlamaFileType
except ImportError:  # fall back to the gguf-py vendored with llama.cpp (GGUF_PY, else under $ORACLE_BUILD)
    _build = os.environ.get("ORACLE_BUILD", os.path.expanduser("~/.cache/llama-oracle"))
    sys.path.insert(0, os.environ.get(
        "GGUF_PY", os.path.join(_build, "llama_cpp_python-0.3.36", "vendor", "llama.cpp", "gguf-py")))
    import gguf
    from gguf import GGMLQuantizationType as QT
    from gguf.constants import GGML_QUANT_SIZES, LlamaFileType

# (byte offsets of fp16 scale fields inside one block, constant written there).
# Constants chosen so that dequantized weights have std of roughly 0.02.
TYPE_SCALES = {
    "Q4_0": ([0], 0.0043),
    "Q4_1": ([0, 2], 0.0027),          # d, m  (w = d*q + m)
    "Q5_0": ([0], 0.0022),
    "Q5_1": ([0, 2], 0.0013),
    "Q8_0": ([0], 0.00027),
    "Q2_K": ([80, 82], 0.0025),        # scales[16] qs[64] d dmin
    "Q3_K": ([108], 0.0005),           # hmask[32] qs[64] scales[12] d
    "Q4_K": ([0, 2], 0.00014),         # d dmin scales[12] qs[128]
    "Q5_K": ([0, 2], 0.00007),         # d dmin scales[12] qh[32] qs[128]
    "Q6_K": ([208], 0.000015),         # ql[128] qh[64] scales[16] d
    "IQ4_NL": ([0], 0.0002),
}
FLOAT_TYPES = {"F32", "F16", "BF16"}

FTYPE_OF = {
    "F32": LlamaFileType.ALL_F32, "F16": LlamaFileType.MOSTLY_F16, "BF16": LlamaFileType.MOSTLY_BF16,
    "Q4_0": LlamaFileType.MOSTLY_Q4_0, "Q4_1": LlamaFileType.MOSTLY_Q4_1,
    "Q5_0": LlamaFileType.MOSTLY_Q5_0, "Q5_1": LlamaFileType.MOSTLY_Q5_1,
    "Q8_0": LlamaFileType.MOSTLY_Q8_0, "Q2_K": LlamaFileType.MOSTLY_Q2_K,
    "Q3_K": LlamaFileType.MOSTLY_Q3_K_M, "Q4_K": LlamaFileType.MOSTLY_Q4_K_M,
    "Q5_K": LlamaFileType.MOSTLY_Q5_K_M, "Q6_K": LlamaFileType.MOSTLY_Q6_K,
    "IQ4_NL": LlamaFileType.MOSTLY_IQ4_NL,
}


def tensor_specs(a):
    """List of (name, ggml_ne tuple (innermost first), kind) where kind in {'w','norm','f32w','bias'}."""
    if a.arch == "deepseek2":
        return deepseek2_specs(a)
    if a.arch in ("mamba", "mamba2", "granitehybrid"):
        return ssm_specs(a)
    if a.arch == "gpt-oss":
        return gptoss_specs(a)
    if a.arch == "lfm2":
        return lfm2_specs(a)
    if a.arch == "qwen3next":
        return qwen3next_specs(a)
    if a.arch == "jamba":
        return jamba_specs(a)
    E, L, V = a.n_embd, a.n_layer, a.n_vocab
    hd = a.head_dim
    q_dim, kv_dim = a.n_head * hd, a.n_head_kv * hd
    specs = [("token_embd.weight", (E, V), "w")]
    for i in range(L):
        p = f"blk.{i}."
        specs.append((p + "attn_norm.weight", (E,), "norm"))
        specs.append((p + "attn_q.weight", (E, q_dim), "w"))
        specs.append((p + "attn_k.weight", (E, kv_dim), "w"))
        specs.append((p + "attn_v.weight", (E, kv_dim), "w"))
        if a.arch == "qwen2":
            specs += [(p + "attn_q.bias", (q_dim,), "bias"), (p + "attn_k.bias", (kv_dim,), "bias"),
                      (p + "attn_v.bias", (kv_dim,), "bias")]
        specs.append((p + "attn_output.weight", (q_dim, E), "w"))
        if a.arch in ("qwen3", "qwen3moe", "gemma3"):
            specs.append((p + "attn_q_norm.weight", (hd,), "norm"))
            specs.append((p + "attn_k_norm.weight", (hd,), "norm"))
        if a.arch == "gemma3":
            specs.append((p + "post_attention_norm.weight", (E,), "norm"))
        specs.append((p + "ffn_norm.weight", (E,), "norm"))
        if a.n_expert > 0:
            X, F = a.n_expert, a.n_ff_exp
            specs.append((p + "ffn_gate_inp.weight", (E, X), "f32w"))
            specs.append((p + "ffn_gate_exps.weight", (E, F, X), "w"))
            specs.append((p + "ffn_up_exps.weight", (E, F, X), "w"))
            specs.append((p + "ffn_down_exps.weight", (F, E, X), "w"))
        else:
            specs.append((p + "ffn_gate.weight", (E, a.n_ff), "w"))
            specs.append((p + "ffn_up.weight", (E, a.n_ff), "w"))
            specs.append((p + "ffn_down.weight", (a.n_ff, E), "w"))
        if a.arch == "gemma3":
            specs.append((p + "post_ffw_norm.weight", (E,), "norm"))
    specs.append(("output_norm.weight", (E,), "norm"))
    if not a.tie_embeddings:
        specs.append(("output.weight", (E, V), "w"))
    return specs


def _head_tail(a, specs_layers):
    E, V = a.n_embd, a.n_vocab
    specs = [("token_embd.weight", (E, V), "w")] + specs_layers + [("output_norm.weight", (E,), "norm")]
    if not a.tie_embeddings:
        specs.append(("output.weight", (E, V), "w"))
    return specs


def deepseek2_specs(a):
    """llama.cpp src/models/deepseek2.cpp (MLA with split attn_k_b / attn_v_b, as current converters write)."""
    E, H = a.n_embd, a.n_head
    rope, nope, vh = a.rope_dim, a.mla_nope_dim, a.mla_v_dim
    kmla = nope + rope
    R, Q = a.kv_lora_rank, a.q_lora_rank
    X, F, S = a.n_expert, a.n_ff_exp, a.n_expert_shared
    out = []
    for i in range(a.n_layer):
        p = f"blk.{i}."
        out.append((p + "attn_norm.weight", (E,), "norm"))
        if Q > 0:
            out.append((p + "attn_q_a_norm.weight", (Q,), "norm"))
        out.append((p + "attn_kv_a_norm.weight", (R,), "norm"))
        if Q > 0:
            out.append((p + "attn_q_a.weight", (E, Q), "w"))
            out.append((p + "attn_q_b.weight", (Q, H * kmla), "w"))
        else:
            out.append((p + "attn_q.weight", (E, H * kmla), "w"))
        out.append((p + "attn_kv_a_mqa.weight", (E, R + rope), "w"))
        if a.mla_legacy:
            # GGUFs converted before llama.cpp split wkv_b (2025-04): no *_mla keys, so llama.cpp runs
            # DeepSeek without MLA (decompressed K and V per head in the cache)
            out.append((p + "attn_kv_b.weight", (R, H * (nope + vh)), "w"))
        else:
            out.append((p + "attn_k_b.weight", (nope, R, H), "w"))
            out.append((p + "attn_v_b.weight", (R, vh, H), "w"))
        out.append((p + "attn_output.weight", (H * vh, E), "w"))
        out.append((p + "ffn_norm.weight", (E,), "norm"))
        if i < a.n_dense_lead:
            out.append((p + "ffn_gate.weight", (E, a.n_ff), "w"))
            out.append((p + "ffn_down.weight", (a.n_ff, E), "w"))
            out.append((p + "ffn_up.weight", (E, a.n_ff), "w"))
        else:
            out.append((p + "ffn_gate_inp.weight", (E, X), "f32w"))
            out.append((p + "ffn_down_exps.weight", (F, E, X), "w"))
            out.append((p + "ffn_gate_exps.weight", (E, F, X), "w"))
            out.append((p + "ffn_up_exps.weight", (E, F, X), "w"))
            out.append((p + "ffn_gate_shexp.weight", (E, F * S), "w"))
            out.append((p + "ffn_down_shexp.weight", (F * S, E), "w"))
            out.append((p + "ffn_up_shexp.weight", (E, F * S), "w"))
    return _head_tail(a, out)


def ssm_specs(a):
    """llama.cpp src/models/mamba.cpp, mamba2.cpp, granite-hybrid.cpp."""
    E = a.n_embd
    DC, DI, DS, DT, G = a.ssm_d_conv, a.ssm_d_inner, a.ssm_d_state, a.ssm_dt_rank, a.ssm_n_group
    out = []
    for i in range(a.n_layer):
        p = f"blk.{i}."
        out.append((p + "attn_norm.weight", (E,), "norm"))
        recurrent = a.arch != "granitehybrid" or i not in a.attn_layers
        if a.arch == "mamba":
            out.append((p + "ssm_in.weight", (E, 2 * DI), "w"))
            out.append((p + "ssm_conv1d.weight", (DC, DI), "f32w"))
            out.append((p + "ssm_conv1d.bias", (DI,), "bias"))
            out.append((p + "ssm_x.weight", (DI, DT + 2 * DS), "w"))
            out.append((p + "ssm_dt.weight", (DT, DI), "w"))
            out.append((p + "ssm_dt.bias", (DI,), "bias"))
            out.append((p + "ssm_a", (DS, DI), "f32w"))
            out.append((p + "ssm_d", (DI,), "norm"))
            out.append((p + "ssm_out.weight", (DI, E), "w"))
            continue
        if recurrent:
            conv_dim = DI + 2 * G * DS
            out.append((p + "ssm_in.weight", (E, DI + conv_dim + DT), "w"))
            out.append((p + "ssm_conv1d.weight", (DC, conv_dim), "f32w"))
            out.append((p + "ssm_conv1d.bias", (conv_dim,), "bias"))
            out.append((p + "ssm_dt.bias", (DT,), "bias"))
            out.append((p + "ssm_a", (1, DT), "f32w"))
            out.append((p + "ssm_d", (1, DT), "norm"))
            out.append((p + "ssm_norm.weight", (DI // G, G), "norm"))
            out.append((p + "ssm_out.weight", (DI, E), "w"))
        else:
            hd = a.head_dim
            out.append((p + "attn_q.weight", (E, a.n_head * hd), "w"))
            out.append((p + "attn_k.weight", (E, a.n_head_kv * hd), "w"))
            out.append((p + "attn_v.weight", (E, a.n_head_kv * hd), "w"))
            out.append((p + "attn_output.weight", (a.n_head * hd, E), "w"))
        if a.arch == "granitehybrid":
            out.append((p + "ffn_norm.weight", (E,), "norm"))
            out.append((p + "ffn_gate.weight", (E, a.n_ff), "w"))
            out.append((p + "ffn_down.weight", (a.n_ff, E), "w"))
            out.append((p + "ffn_up.weight", (E, a.n_ff), "w"))
    return _head_tail(a, out)


def lfm2_specs(a):
    """llama.cpp src/models/lfm2.cpp: short-convolution layers (head_count_kv 0) and attention layers with
    q/k norm; dense SwiGLU FFN in every layer; the final norm is named token_embd_norm."""
    E, H, HK, hd = a.n_embd, a.n_head, a.n_head_kv, a.head_dim
    out = []
    for i in range(a.n_layer):
        p = f"blk.{i}."
        out.append((p + "ffn_norm.weight", (E,), "norm"))
        out.append((p + "ffn_gate.weight", (E, a.n_ff), "w"))
        out.append((p + "ffn_down.weight", (a.n_ff, E), "w"))
        out.append((p + "ffn_up.weight", (E, a.n_ff), "w"))
        out.append((p + "attn_norm.weight", (E,), "norm"))
        if i in a.attn_layers:
            out.append((p + "attn_q_norm.weight", (hd,), "norm"))
            out.append((p + "attn_k_norm.weight", (hd,), "norm"))
            out.append((p + "attn_q.weight", (E, H * hd), "w"))
            out.append((p + "attn_k.weight", (E, HK * hd), "w"))
            out.append((p + "attn_v.weight", (E, HK * hd), "w"))
            out.append((p + "attn_output.weight", (E, E), "w"))
        else:
            out.append((p + "shortconv.conv.weight", (a.shortconv_l_cache, E), "f32w"))
            out.append((p + "shortconv.in_proj.weight", (E, 3 * E), "w"))
            out.append((p + "shortconv.out_proj.weight", (E, E), "w"))
    specs = [("token_embd.weight", (E, a.n_vocab), "w")] + out + [("token_embd_norm.weight", (E,), "norm")]
    if not a.tie_embeddings:
        specs.append(("output.weight", (E, a.n_vocab), "w"))
    return specs


def qwen3next_specs(a):
    """llama.cpp src/models/qwen3next.cpp: gated-delta-net (linear attention) layers and every
    full_attention_interval-th layer gated full attention (Q and its gate: 2·n_head·head_dim) with q/k
    norm; every layer MoE with a gated shared expert. Linear-attention sizes: head dim = ssm.state_size,
    k heads = ssm.group_count, v heads = ssm.time_step_rank, ssm.inner_size = value dim."""
    E, H, HK, hd = a.n_embd, a.n_head, a.n_head_kv, a.head_dim
    X, F, FS = a.n_expert, a.n_ff_exp, a.n_ff_shexp
    dk, nk, nv = a.ssm_d_state, a.ssm_n_group, a.ssm_dt_rank
    key_dim, value_dim = dk * nk, dk * nv
    conv_dim = 2 * key_dim + value_dim
    out = []
    for i in range(a.n_layer):
        p = f"blk.{i}."
        out.append((p + "attn_norm.weight", (E,), "norm"))
        out.append((p + "post_attention_norm.weight", (E,), "norm"))
        if (i + 1) % a.full_attn_interval == 0:
            out.append((p + "attn_q.weight", (E, 2 * H * hd), "w"))
            out.append((p + "attn_k.weight", (E, HK * hd), "w"))
            out.append((p + "attn_v.weight", (E, HK * hd), "w"))
            out.append((p + "attn_output.weight", (H * hd, E), "w"))
            out.append((p + "attn_q_norm.weight", (hd,), "norm"))
            out.append((p + "attn_k_norm.weight", (hd,), "norm"))
        else:
            out.append((p + "attn_qkv.weight", (E, conv_dim), "w"))
            out.append((p + "attn_gate.weight", (E, value_dim), "w"))
            out.append((p + "ssm_conv1d.weight", (a.ssm_d_conv, conv_dim), "f32w"))
            out.append((p + "ssm_dt.bias", (nv,), "bias"))
            out.append((p + "ssm_a", (nv,), "f32w"))
            out.append((p + "ssm_ba.weight", (E, 2 * nv), "w"))
            out.append((p + "ssm_norm.weight", (dk,), "norm"))
            out.append((p + "ssm_out.weight", (value_dim, E), "w"))
        out.append((p + "ffn_gate_inp.weight", (E, X), "f32w"))
        out.append((p + "ffn_down_exps.weight", (F, E, X), "w"))
        out.append((p + "ffn_gate_exps.weight", (E, F, X), "w"))
        out.append((p + "ffn_up_exps.weight", (E, F, X), "w"))
        out.append((p + "ffn_gate_inp_shexp.weight", (E,), "f32w"))
        out.append((p + "ffn_gate_shexp.weight", (E, FS), "w"))
        out.append((p + "ffn_up_shexp.weight", (E, FS), "w"))
        out.append((p + "ffn_down_shexp.weight", (FS, E), "w"))
    return _head_tail(a, out)


def jamba_specs(a):
    """llama.cpp src/models/jamba.cpp: Mamba-1 layers (with dt/B/C norms) and attention layers
    (head_count_kv 0 marks Mamba); MoE on the layers listed in --moe-layers (expert width = n_ff), dense
    SwiGLU elsewhere."""
    E, H, HK, hd = a.n_embd, a.n_head, a.n_head_kv, a.head_dim
    DC, DI, DS, DT = a.ssm_d_conv, a.ssm_d_inner, a.ssm_d_state, a.ssm_dt_rank
    out = []
    for i in range(a.n_layer):
        p = f"blk.{i}."
        out.append((p + "attn_norm.weight", (E,), "norm"))
        if i in a.attn_layers:
            out.append((p + "attn_q.weight", (E, H * hd), "w"))
            out.append((p + "attn_k.weight", (E, HK * hd), "w"))
            out.append((p + "attn_v.weight", (E, HK * hd), "w"))
            out.append((p + "attn_output.weight", (H * hd, E), "w"))
        else:
            out.append((p + "ssm_in.weight", (E, 2 * DI), "w"))
            out.append((p + "ssm_conv1d.weight", (DC, DI), "f32w"))
            out.append((p + "ssm_conv1d.bias", (DI,), "bias"))
            out.append((p + "ssm_x.weight", (DI, DT + 2 * DS), "w"))
            out.append((p + "ssm_dt_norm.weight", (DT,), "norm"))
            out.append((p + "ssm_dt.weight", (DT, DI), "w"))
            out.append((p + "ssm_dt.bias", (DI,), "bias"))
            out.append((p + "ssm_b_norm.weight", (DS,), "norm"))
            out.append((p + "ssm_c_norm.weight", (DS,), "norm"))
            out.append((p + "ssm_a", (DS, DI), "f32w"))
            out.append((p + "ssm_d", (DI,), "norm"))
            out.append((p + "ssm_out.weight", (DI, E), "w"))
        out.append((p + "ffn_norm.weight", (E,), "norm"))
        if i in a.moe_layers:
            X = a.n_expert
            out.append((p + "ffn_gate_inp.weight", (E, X), "f32w"))
            out.append((p + "ffn_gate_exps.weight", (E, a.n_ff, X), "w"))
            out.append((p + "ffn_down_exps.weight", (a.n_ff, E, X), "w"))
            out.append((p + "ffn_up_exps.weight", (E, a.n_ff, X), "w"))
        else:
            out.append((p + "ffn_gate.weight", (E, a.n_ff), "w"))
            out.append((p + "ffn_down.weight", (a.n_ff, E), "w"))
            out.append((p + "ffn_up.weight", (E, a.n_ff), "w"))
    return _head_tail(a, out)


def gptoss_specs(a):
    """llama.cpp src/models/openai-moe.cpp: head size = rope dimension, sinks, biases, MoE with biases."""
    E, H, HK, hd = a.n_embd, a.n_head, a.n_head_kv, a.head_dim
    X, F = a.n_expert, a.n_ff_exp
    out = []
    for i in range(a.n_layer):
        p = f"blk.{i}."
        out.append((p + "attn_norm.weight", (E,), "norm"))
        out.append((p + "post_attention_norm.weight", (E,), "norm"))
        out.append((p + "attn_q.weight", (E, H * hd), "w"))
        out.append((p + "attn_k.weight", (E, HK * hd), "w"))
        out.append((p + "attn_v.weight", (E, HK * hd), "w"))
        out.append((p + "attn_q.bias", (H * hd,), "bias"))
        out.append((p + "attn_k.bias", (HK * hd,), "bias"))
        out.append((p + "attn_v.bias", (HK * hd,), "bias"))
        out.append((p + "attn_output.weight", (H * hd, E), "w"))
        out.append((p + "attn_sinks.weight", (H,), "norm"))
        out.append((p + "ffn_gate_inp.weight", (E, X), "f32w"))
        out.append((p + "ffn_gate_exps.weight", (E, F, X), "w"))
        out.append((p + "ffn_down_exps.weight", (F, E, X), "w"))
        out.append((p + "ffn_up_exps.weight", (E, F, X), "w"))
        out.append((p + "attn_output.bias", (E,), "bias"))
        out.append((p + "ffn_gate_inp.bias", (X,), "bias"))
        out.append((p + "ffn_gate_exps.bias", (F, X), "bias"))
        out.append((p + "ffn_down_exps.bias", (E, X), "bias"))
        out.append((p + "ffn_up_exps.bias", (F, X), "bias"))
    return _head_tail(a, out)


def pick_type(name, ne, kind, a):
    if kind in ("norm", "bias", "f32w"):
        return "F32"
    t = a.type
    if name == "output.weight" and a.output_type:
        t = a.output_type
    if name == "token_embd.weight" and a.embd_type:
        t = a.embd_type
    blk = GGML_QUANT_SIZES[QT[t]][0]
    if ne[0] % blk != 0:  # row not a multiple of the block size: fall back like llama-quantize does
        t = "F16"
    return t


def nbytes_of(ne, t):
    blk, tsz = GGML_QUANT_SIZES[QT[t]]
    n = int(np.prod(ne, dtype=np.int64))
    return n // blk * tsz


class Filler:
    def __init__(self, seed, std, mode):
        self.rng = np.random.default_rng(seed)
        self.std = std
        self.mode = mode

    def floats(self, n):
        # generate in chunks to bound memory
        return (self.rng.standard_normal(n, dtype=np.float32) * np.float32(self.std))

    def make(self, ne, t, kind):
        n = int(np.prod(ne, dtype=np.int64))
        shape_np = tuple(reversed(ne))  # numpy order: outermost first
        if kind == "norm":
            return np.ones(shape_np, dtype=np.float32)
        if kind == "bias":
            return np.zeros(shape_np, dtype=np.float32)
        if t == "F32":
            return self.floats(n).reshape(shape_np)
        if t == "F16":
            return self.floats(n).astype(np.float16).reshape(shape_np)
        if t == "BF16":
            u = self.floats(n).view(np.uint32)
            b = ((u + 0x8000) >> 16).astype(np.uint16).view(np.uint8)
            return b.reshape(shape_np[:-1] + (shape_np[-1] * 2,))
        blk, tsz = GGML_QUANT_SIZES[QT[t]]
        nblk = n // blk
        if self.mode == "exact":
            from gguf.quants import quantize
            f = self.floats(n).reshape(shape_np)
            return quantize(f, QT[t])  # uint8, last dim = bytes per row
        if t not in TYPE_SCALES:
            raise SystemExit(f"--fill fast does not know the block layout of {t}")
        raw = np.frombuffer(self.rng.bytes(nblk * tsz), dtype=np.uint8).copy().reshape(nblk, tsz)
        offs, val = TYPE_SCALES[t]
        h = np.frombuffer(np.float16(val).tobytes(), dtype=np.uint8)
        for o in offs:
            raw[:, o:o + 2] = h
        row_bytes = ne[0] // blk * tsz
        return raw.reshape(shape_np[:-1] + (row_bytes,))


def build_vocab(n_vocab):
    assert n_vocab >= 300, "n_vocab must be >= 300"
    toks, scores, types = ["<unk>", "<s>", "</s>"], [0.0, 0.0, 0.0], [2, 3, 3]  # UNKNOWN, CONTROL
    for b in range(256):
        toks.append(f"<0x{b:02X}>"); scores.append(0.0); types.append(6)  # BYTE
    # a few real pieces so ordinary prompts tokenize into more than bytes
    base = ["\u2581"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + \
           ["\u2581" + chr(c) for c in range(ord("a"), ord("z") + 1)] + \
           ["\u2581the", "\u2581a", "\u2581of", "\u2581and", "\u2581to", "\u2581is", "\u2581in", "."]
    seen = set(toks)
    i = 0
    while len(toks) < n_vocab:
        s = base[i] if i < len(base) else f"\u2581t{i}"
        i += 1
        if s in seen:
            continue
        seen.add(s)
        toks.append(s); scores.append(-float(i)); types.append(1)  # NORMAL
    return toks, scores, types


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--out", help="output .gguf path")
    ap.add_argument("--arch", default="llama", choices=["llama", "qwen2", "qwen3", "qwen3moe", "gemma3",
                                                      "deepseek2", "mamba", "mamba2", "granitehybrid", "gpt-oss",
                                                      "lfm2", "qwen3next", "jamba"])
    ap.add_argument("--name", default=None)
    ap.add_argument("--n-layer", type=int, required=True)
    ap.add_argument("--n-embd", type=int, required=True)
    ap.add_argument("--n-head", type=int, required=True)
    ap.add_argument("--n-head-kv", type=int, default=None)
    ap.add_argument("--head-dim", type=int, default=None, help="default n_embd/n_head")
    ap.add_argument("--n-ff", type=int, required=True, help="dense FFN size (for llama-MoE: per-expert FFN size)")
    ap.add_argument("--n-vocab", type=int, default=32000)
    ap.add_argument("--ctx", "--context-length", dest="ctx", type=int, default=4096, help="n_ctx_train")
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--rope-dim", type=int, default=None, help="rope.dimension_count (default head_dim)")
    ap.add_argument("--rope-scaling", choices=["none", "linear", "yarn"], default="none")
    ap.add_argument("--rope-scale-factor", type=float, default=1.0)
    ap.add_argument("--rope-orig-ctx", type=int, default=None)
    ap.add_argument("--rms-eps", type=float, default=1e-5)
    ap.add_argument("--n-expert", type=int, default=0)
    ap.add_argument("--n-expert-used", type=int, default=0)
    ap.add_argument("--n-ff-exp", type=int, default=None, help="qwen3moe expert FFN size (default n_ff)")
    ap.add_argument("--swa", type=int, default=0, help="gemma3 sliding window (0 = none)")
    ap.add_argument("--swa-pattern", type=int, default=6, help="gemma3: every Nth layer is global")
    # deepseek2 (MLA)
    ap.add_argument("--kv-lora-rank", type=int, default=0)
    ap.add_argument("--q-lora-rank", type=int, default=0, help="0 = no q compression (V2-Lite: needs 26/27 layers)")
    ap.add_argument("--mla-nope-dim", type=int, default=0, help="qk_nope_head_dim (rope part: --rope-dim)")
    ap.add_argument("--mla-v-dim", type=int, default=0, help="v_head_dim")
    ap.add_argument("--mla-legacy", action="store_true",
                    help="deepseek2 as converted before 2025-04: attn_kv_b, no *_mla keys (llama.cpp then runs without MLA)")
    ap.add_argument("--n-dense-lead", type=int, default=0, help="leading dense (non-MoE) layers")
    ap.add_argument("--n-expert-shared", type=int, default=0)
    # SSM (mamba, mamba2, granitehybrid)
    ap.add_argument("--ssm-d-conv", type=int, default=4)
    ap.add_argument("--ssm-d-inner", type=int, default=0, help="default 2*n_embd")
    ap.add_argument("--ssm-d-state", type=int, default=16)
    ap.add_argument("--ssm-dt-rank", type=int, default=0, help="mamba: dt rank; mamba2: number of SSM heads")
    ap.add_argument("--ssm-n-group", type=int, default=1)
    ap.add_argument("--attn-layers", default="", help="granitehybrid, lfm2: comma list of attention layer indices")
    ap.add_argument("--moe-layers", default="", help="jamba: comma list of MoE layer indices")
    ap.add_argument("--full-attn-interval", type=int, default=4, help="qwen3next: every Nth layer is full attention")
    ap.add_argument("--n-ff-shexp", type=int, default=0, help="qwen3next: shared expert FFN size")
    ap.add_argument("--shortconv-l-cache", type=int, default=3, help="lfm2: short convolution length")
    ap.add_argument("--tie-embeddings", action="store_true", help="no output.weight (uses token_embd)")
    ap.add_argument("--type", default="F16", help="type of 2-D weights: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K..Q6_K IQ4_NL")
    ap.add_argument("--output-type", default=None, help="type of output.weight (default --type)")
    ap.add_argument("--embd-type", default=None, help="type of token_embd.weight (default --type)")
    ap.add_argument("--fill", choices=["fast", "exact"], default="fast")
    ap.add_argument("--std", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--print-only", action="store_true")
    ap.add_argument("--json", action="store_true", help="print a JSON summary line at the end")
    a = ap.parse_args()

    a.n_head_kv = a.n_head_kv or a.n_head
    a.head_dim = a.head_dim or a.n_embd // a.n_head
    a.rope_dim = a.rope_dim or a.head_dim
    if a.arch == "gpt-oss":
        a.rope_dim = a.head_dim  # llama.cpp sizes gpt-oss heads by n_rot
    if a.arch == "qwen3moe" and a.n_expert == 0:
        raise SystemExit("qwen3moe needs --n-expert")
    if a.n_expert > 0 and a.arch not in ("llama", "qwen3moe", "deepseek2", "gpt-oss", "qwen3next", "jamba"):
        raise SystemExit("MoE supported for --arch llama, qwen3moe, deepseek2 and gpt-oss")
    if a.arch in ("deepseek2", "gpt-oss") and a.n_expert == 0:
        raise SystemExit(f"{a.arch} needs --n-expert")
    a.ssm_d_inner = a.ssm_d_inner or 2 * a.n_embd
    a.attn_layers = [int(x) for x in a.attn_layers.split(",") if x.strip()]
    a.moe_layers = [int(x) for x in a.moe_layers.split(",") if x.strip()]
    if a.arch == "deepseek2":
        if not (a.kv_lora_rank and a.mla_nope_dim and a.mla_v_dim and a.rope_dim):
            raise SystemExit("deepseek2 needs --kv-lora-rank --mla-nope-dim --mla-v-dim --rope-dim")
    a.n_ff_exp = a.n_ff_exp or a.n_ff
    if a.arch in ("qwen2",) and a.head_dim * a.n_head != a.n_embd:
        raise SystemExit("qwen2 requires head_dim*n_head == n_embd")
    for t in [a.type, a.output_type, a.embd_type]:
        if t and t not in FTYPE_OF:
            raise SystemExit(f"unsupported type {t}")

    specs = tensor_specs(a)
    plan = []
    n_params = 0
    total = 0
    for name, ne, kind in specs:
        t = pick_type(name, ne, kind, a)
        nb = nbytes_of(ne, t)
        plan.append((name, ne, kind, t, nb))
        n_params += int(np.prod(ne, dtype=np.int64))
        total += nb
    summary = dict(arch=a.arch, n_params=n_params, tensor_bytes=total, weight_type=a.type,
                   n_layer=a.n_layer, n_embd=a.n_embd, n_head=a.n_head, n_head_kv=a.n_head_kv,
                   head_dim=a.head_dim, n_ff=a.n_ff, n_vocab=a.n_vocab, n_expert=a.n_expert,
                   n_expert_used=a.n_expert_used, n_ff_exp=a.n_ff_exp if a.n_expert else 0,
                   swa=a.swa, ctx_train=a.ctx, tie_embeddings=a.tie_embeddings)
    if a.arch == "deepseek2":
        summary.update(kv_lora_rank=a.kv_lora_rank, q_lora_rank=a.q_lora_rank, rope_dim=a.rope_dim,
                       mla_nope_dim=a.mla_nope_dim, mla_v_dim=a.mla_v_dim, n_dense_lead=a.n_dense_lead,
                       n_expert_shared=a.n_expert_shared, mla_legacy=a.mla_legacy)
    if a.arch == "jamba":
        summary.update(ssm_d_conv=a.ssm_d_conv, ssm_d_inner=a.ssm_d_inner, ssm_d_state=a.ssm_d_state,
                       ssm_dt_rank=a.ssm_dt_rank, attn_layers=a.attn_layers, moe_layers=a.moe_layers)
    if a.arch == "qwen3next":
        summary.update(ssm_d_conv=a.ssm_d_conv, ssm_d_state=a.ssm_d_state, ssm_dt_rank=a.ssm_dt_rank,
                       ssm_n_group=a.ssm_n_group, full_attn_interval=a.full_attn_interval, n_ff_shexp=a.n_ff_shexp)
    if a.arch == "lfm2":
        summary.update(shortconv_l_cache=a.shortconv_l_cache, attn_layers=a.attn_layers)
    if a.arch in ("mamba", "mamba2", "granitehybrid"):
        summary.update(ssm_d_conv=a.ssm_d_conv, ssm_d_inner=a.ssm_d_inner, ssm_d_state=a.ssm_d_state,
                       ssm_dt_rank=a.ssm_dt_rank, ssm_n_group=a.ssm_n_group, attn_layers=a.attn_layers)
    if a.print_only or not a.out:
        print(json.dumps(summary))
        return

    t0 = time.time()
    arch_name = a.arch
    w = gguf.GGUFWriter(a.out, arch_name)
    w.add_name(a.name or os.path.splitext(os.path.basename(a.out))[0])
    w.add_type("model")
    w.add_context_length(a.ctx)
    w.add_embedding_length(a.n_embd)
    w.add_block_count(a.n_layer)
    w.add_feed_forward_length(a.n_ff)
    w.add_layer_norm_rms_eps(a.rms_eps)
    w.add_vocab_size(a.n_vocab)
    if a.arch in ("mamba", "mamba2", "granitehybrid"):
        w.add_ssm_conv_kernel(a.ssm_d_conv)
        w.add_ssm_inner_size(a.ssm_d_inner)
        w.add_ssm_state_size(a.ssm_d_state)
        w.add_ssm_time_step_rank(a.ssm_dt_rank)
        if a.arch != "mamba":
            w.add_ssm_group_count(a.ssm_n_group)
        if a.arch in ("mamba", "mamba2"):
            # llama.cpp reads no attention keys for pure SSMs; head counts are 0 like convert_hf_to_gguf writes
            w.add_head_count(0)
            w.add_head_count_kv(0)
        else:
            w.add_head_count(a.n_head)
            w.add_head_count_kv([a.n_head_kv if i in a.attn_layers else 0 for i in range(a.n_layer)])
            w.add_rope_freq_base(a.rope_theta)
            w.add_rope_dimension_count(a.rope_dim)
    elif a.arch == "jamba":
        w.add_ssm_conv_kernel(a.ssm_d_conv)
        w.add_ssm_inner_size(a.ssm_d_inner)
        w.add_ssm_state_size(a.ssm_d_state)
        w.add_ssm_time_step_rank(a.ssm_dt_rank)
        w.add_head_count(a.n_head)
        w.add_head_count_kv([a.n_head_kv if i in a.attn_layers else 0 for i in range(a.n_layer)])
    elif a.arch == "qwen3next":
        w.add_head_count(a.n_head)
        w.add_head_count_kv(a.n_head_kv)
        w.add_key_length(a.head_dim)
        w.add_value_length(a.head_dim)
        w.add_rope_freq_base(a.rope_theta)
        w.add_rope_dimension_count(a.rope_dim)
        w.add_ssm_conv_kernel(a.ssm_d_conv)
        w.add_ssm_inner_size(a.ssm_d_state * a.ssm_dt_rank)
        w.add_ssm_state_size(a.ssm_d_state)
        w.add_ssm_time_step_rank(a.ssm_dt_rank)
        w.add_ssm_group_count(a.ssm_n_group)
        w.add_full_attention_interval(a.full_attn_interval)
        w.add_expert_feed_forward_length(a.n_ff_exp)
        w.add_expert_shared_feed_forward_length(a.n_ff_shexp)
    elif a.arch == "lfm2":
        w.add_shortconv_l_cache(a.shortconv_l_cache)
        w.add_head_count(a.n_head)
        w.add_head_count_kv([a.n_head_kv if i in a.attn_layers else 0 for i in range(a.n_layer)])
        w.add_key_length(a.head_dim)
        w.add_value_length(a.head_dim)
        w.add_rope_freq_base(a.rope_theta)
        w.add_rope_dimension_count(a.rope_dim)
    elif a.arch == "deepseek2":
        # MLA as current convert_hf_to_gguf writes it: one KV "head" of kv_lora_rank + rope dims,
        # the decompressed per-head sizes in *_mla keys
        w.add_head_count(a.n_head)
        if a.mla_legacy:
            w.add_head_count_kv(a.n_head)
            w.add_key_length(a.mla_nope_dim + a.rope_dim)
            w.add_value_length(a.mla_v_dim)
        else:
            w.add_head_count_kv(1)
            w.add_key_length(a.kv_lora_rank + a.rope_dim)
            w.add_value_length(a.kv_lora_rank)
            w.add_key_length_mla(a.mla_nope_dim + a.rope_dim)
            w.add_value_length_mla(a.mla_v_dim)
        w.add_kv_lora_rank(a.kv_lora_rank)
        if a.q_lora_rank:
            w.add_q_lora_rank(a.q_lora_rank)
        w.add_rope_freq_base(a.rope_theta)
        w.add_rope_dimension_count(a.rope_dim)
        w.add_leading_dense_block_count(a.n_dense_lead)
        w.add_expert_feed_forward_length(a.n_ff_exp)
        w.add_expert_shared_count(a.n_expert_shared)
        w.add_expert_weights_scale(1.0)
    else:
        w.add_head_count(a.n_head)
        w.add_head_count_kv(a.n_head_kv)
        if a.head_dim != a.n_embd // a.n_head or a.arch in ("qwen3", "qwen3moe", "gemma3", "gpt-oss"):
            w.add_key_length(a.head_dim)
            w.add_value_length(a.head_dim)
        w.add_rope_freq_base(a.rope_theta)
        w.add_rope_dimension_count(a.rope_dim)
    if a.rope_scaling != "none":
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR if a.rope_scaling == "linear" else gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(a.rope_scale_factor)
        if a.rope_orig_ctx:
            w.add_rope_scaling_orig_ctx_len(a.rope_orig_ctx)
    if a.n_expert:
        w.add_expert_count(a.n_expert)
        w.add_expert_used_count(a.n_expert_used or 2)
        if a.arch in ("qwen3moe", "gpt-oss"):
            w.add_expert_feed_forward_length(a.n_ff_exp)
    if a.arch in ("gemma3", "gpt-oss") and a.swa > 0:
        w.add_sliding_window(a.swa)
        if a.arch == "gemma3":
            w.add_uint32(f"{arch_name}.attention.sliding_window_pattern", a.swa_pattern)
    w.add_file_type(int(FTYPE_OF[a.type]))
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    toks, scores, types = build_vocab(a.n_vocab)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(toks)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)

    # tensor infos first, then stream the data tensor by tensor (bounded memory)
    for name, ne, kind, t, nb in plan:
        shape_np = list(reversed(ne))
        if t in ("F32", "F16"):
            w.add_tensor_info(name, shape_np, np.dtype(np.float32 if t == "F32" else np.float16), nb)
        else:
            blk, tsz = GGML_QUANT_SIZES[QT[t]]
            bshape = shape_np[:-1] + [shape_np[-1] // blk * tsz]
            w.add_tensor_info(name, bshape, np.dtype(np.uint8), nb, raw_dtype=QT[t])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    fill = Filler(a.seed, a.std, a.fill)
    for name, ne, kind, t, nb in plan:
        arr = fill.make(ne, t, kind)
        assert arr.nbytes == nb, (name, arr.nbytes, nb)
        w.write_tensor_data(arr)
        del arr
    w.close()
    summary["file_bytes"] = os.path.getsize(a.out)
    summary["gen_seconds"] = round(time.time() - t0, 2)
    summary["path"] = a.out
    if a.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {a.out}: {n_params/1e6:.1f}M params, {summary['file_bytes']/2**20:.1f} MiB, "
              f"{summary['gen_seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
