#!/usr/bin/env bash
# second pass: -sm row (with its error) and -sm tensor (llama.cpp's meta-device tensor parallelism) on 2 GPUs.
set -u
R=$PWD
export PYTHONUNBUFFERED=1
mkdir -p /tmp/ll && cd /tmp/ll && tar xJf $R/.devbin/llama-src.tar.xz && cd llama.cpp
t0=$(date +%s)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_APP=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF > $OUT/cmake.log 2>&1 || { tail -30 $OUT/cmake.log; exit 1; }
ninja -C build -j32 llama-bench > $OUT/build.log 2>&1 || { tail -40 $OUT/build.log; exit 1; }
echo "build took $(( $(date +%s) - t0 )) s"
L=$PWD
g++ -O2 -std=c++17 $R/scripts/oracle/mem_probe.cpp -I$L/include -I$L/ggml/include -I$L/src -L$L/build/bin -lllama -lggml -lggml-base \
  -Wl,-rpath,$L/build/bin -o /tmp/mem_probe 2>&1 | tail -5
python3 -m pip install -q --no-index --no-deps --target /tmp/site $R/.devbin/gguf-0.19.0-py3-none-any.whl && export PYTHONPATH=/tmp/site
mkdir -p /tmp/m
python3 $R/.devbin/make_gguf.py -o /tmp/m/Q4_0.gguf --arch llama --n-layer 32 --n-embd 4096 --n-head 32 --n-head-kv 8 \
  --n-ff 14336 --n-vocab 128256 --ctx 131072 --type Q4_0 2>&1 | tail -1
probe() { echo "== $*" >> $OUT/probe.jsonl; timeout 120 /tmp/mem_probe "$@" -ngl 99 2>>$OUT/probe_err.log | tail -1 >> $OUT/probe.jsonl || echo "probe failed: $*"; }
for sm in row tensor; do for c in 4096 32768; do probe -m /tmp/m/Q4_0.gguf -c $c -fa on -sm $sm; done; done
probe -m /tmp/m/Q4_0.gguf -c 4096 -fa off -sm row
probe -m /tmp/m/Q4_0.gguf -c 4096 -fa off -sm tensor
probe -m /tmp/m/Q4_0.gguf -c 4096 -fa on -sm layer
probe -m /tmp/m/Q4_0.gguf -c 4096 -fa on -sm none
echo "probes done $(( $(date +%s) - t0 )) s"
for sm in none layer row tensor; do for fa in 1 0; do
  timeout 120 build/bin/llama-bench -m /tmp/m/Q4_0.gguf -p 512 -n 128 -r 3 -ngl 99 -fa $fa -sm $sm -o csv 2>>$OUT/bench_err.log | tee -a $OUT/bench2.csv
done; done
echo "all done $(( $(date +%s) - t0 )) s"
