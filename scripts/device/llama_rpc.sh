#!/usr/bin/env bash
# llama.cpp RPC decode overhead on one H100: llama-bench tg with every layer on the local CUDA device,
# then with the layers split between it and an rpc-server on 127.0.0.1 serving the same GPU (layer
# split over loopback TCP; the GPU work is the same, so the difference is what RPC adds per token).
# Models: synthetic Llama-3.2-1B and Llama-3.1-8B shapes written directly as Q4_0 (make_gguf.py).
# llama.cpp 0c1e570 (.devbin/llama-src.tar.xz) built with CUDA and RPC. Results to $OUT.
set -u
R=$PWD
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/gpu.txt
mkdir -p /tmp/ll && cd /tmp/ll && tar xJf $R/.devbin/llama-src.tar.xz && cd llama.cpp
t0=$(date +%s)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DGGML_RPC=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_APP=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF > $OUT/cmake.log 2>&1 || { tail -30 $OUT/cmake.log; exit 1; }
ninja -C build -j16 llama-bench rpc-server > $OUT/build.log 2>&1 || { tail -40 $OUT/build.log; exit 1; }
echo "build took $(( $(date +%s) - t0 )) s"
python3 -m pip install -q --no-index --no-deps --target /tmp/site $R/.devbin/gguf-0.19.0-py3-none-any.whl && export PYTHONPATH=/tmp/site
mkdir -p /tmp/m
python3 $R/.devbin/make_gguf.py -o /tmp/m/1b.gguf --arch llama --n-layer 16 --n-embd 2048 --n-head 32 --n-head-kv 8 \
  --n-ff 8192 --n-vocab 128256 --ctx 131072 --type Q4_0 --tie-embeddings 2>&1 | tail -1
python3 $R/.devbin/make_gguf.py -o /tmp/m/8b.gguf --arch llama --n-layer 32 --n-embd 4096 --n-head 32 --n-head-kv 8 \
  --n-ff 14336 --n-vocab 128256 --ctx 131072 --type Q4_0 2>&1 | tail -1
while [ -n "${WAIT_FOR:-}" ] && [ ! -f "$WAIT_FOR" ]; do sleep 2; done
build/bin/rpc-server -H 127.0.0.1 -p 50052 > $OUT/rpc.log 2>&1 &
sleep 3
for m in 1b 8b; do
  build/bin/llama-bench -m /tmp/m/$m.gguf -p 0 -n 128 -r 5 -ngl 99 -fa 1 -o csv 2>/dev/null | tee -a $OUT/bench.csv
  build/bin/llama-bench -m /tmp/m/$m.gguf -p 0 -n 128 -r 5 -ngl 99 -fa 1 --rpc 127.0.0.1:50052 -o csv 2>$OUT/rpc_$m.err | tee -a $OUT/bench.csv
  grep -i "rpc\|layer" $OUT/rpc_$m.err | head -5
done
kill %1
