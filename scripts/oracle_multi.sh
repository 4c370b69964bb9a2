#!/usr/bin/env bash
# Multi-device oracle (tests/data/multi_rpc_split.csv): llama.cpp 0c1e570 built with RPC, three ggml-rpc-server
# instances on 127.0.0.1 as three "devices", a probe that prints each device's exact buffer bytes.
#
# llama.cpp build (CPU + RPC), in $ORACLE_BUILD/llama.cpp (the 0c1e570 sources, see shared/oracle/README.md):
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_RPC=ON -DLLAMA_OPENSSL=OFF \
#         -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF
#   ninja -C build llama-bench llama-completion llama-quantize ggml-rpc-server llama-simple
# Usage: scripts/oracle_multi.sh [OUT.csv]
set -euo pipefail
ORACLE_BUILD=${ORACLE_BUILD:-$HOME/.cache/llama-oracle}
LLAMA=$ORACLE_BUILD/llama.cpp
WORK=$ORACLE_BUILD/models-multi
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$WORK"
g++ -O2 -std=c++17 "$HERE/oracle/mem_probe.cpp" -I"$LLAMA/include" -I"$LLAMA/ggml/include" -I"$LLAMA/src" \
    -L"$LLAMA/build/bin" -lllama -lggml -lggml-base -Wl,-rpath,"$LLAMA/build/bin" -o "$WORK/mem_probe_multi"
pids=()
for port in 50052 50053 50054; do
    "$LLAMA/build/bin/ggml-rpc-server" -p "$port" -t 1 >"$WORK/rpc-$port.log" 2>&1 &
    pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
sleep 2
python3 "$HERE/oracle_multi.py" "$@"
