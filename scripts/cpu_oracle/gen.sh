#!/bin/bash
# synthetic GGUFs for the CPU speed comparison (headroom issue 5/6), made 2026-11-27
set -e
MK=/work/shared/oracle/make_gguf.py
Q=/root/.cache/llama-oracle/llama.cpp/build/bin/llama-quantize
L1="--arch llama --n-layer 16 --n-embd 2048 --n-head 32 --n-head-kv 8 --head-dim 64 --n-ff 8192 --n-vocab 128256 --tie-embeddings"
L3="--arch llama --n-layer 28 --n-embd 3072 --n-head 24 --n-head-kv 8 --head-dim 128 --n-ff 8192 --n-vocab 128256 --tie-embeddings"
for t in F16 Q8_0 Q4_0; do
  [ -f llama1b-$t.gguf ] || python3 $MK -o llama1b-$t.gguf --name llama1b-$t $L1 --type $t
done
[ -f llama1b-Q4_K_M.gguf ] || $Q llama1b-F16.gguf llama1b-Q4_K_M.gguf Q4_K_M 2
for t in F16 Q8_0 Q4_0; do
  [ -f llama3b-$t.gguf ] || python3 $MK -o llama3b-$t.gguf --name llama3b-$t $L3 --type $t
done
[ -f llama3b-Q4_K_M.gguf ] || $Q llama3b-F16.gguf llama3b-Q4_K_M.gguf Q4_K_M 2
ls -la
