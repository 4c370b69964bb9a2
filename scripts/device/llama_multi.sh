#!/usr/bin/env bash
# llama.cpp 0c1e570 with CUDA on 2 GPUs: per-device memory (mem_probe) and tg speed (llama-bench) for
# split modes none / layer / row. Results to $OUT.
set -u
R=$PWD
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=index,name,memory.total,memory.used,driver_version,clocks.max.sm,pcie.link.gen.max,pcie.link.width.max --format=csv | tee $OUT/gpu.txt
nvidia-smi topo -m | tee -a $OUT/gpu.txt
nvidia-smi nvlink -s 2>&1 | head -20 | tee -a $OUT/gpu.txt
STAGE=${1:-a}
if [ -x /tmp/ll/llama.cpp/build/bin/llama-bench ]; then cd /tmp/ll/llama.cpp; t0=$(date +%s); else
mkdir -p /tmp/ll && cd /tmp/ll && tar xJf $R/.devbin/llama-src.tar.xz && cd llama.cpp
t0=$(date +%s)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_APP=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF > $OUT/cmake.log 2>&1 || { tail -30 $OUT/cmake.log; exit 1; }
ninja -C build -j32 llama-bench llama-quantize > $OUT/build.log 2>&1 || { tail -40 $OUT/build.log; exit 1; }
echo "build took $(( $(date +%s) - t0 )) s"; fi
L=$PWD
g++ -O2 -std=c++17 $R/scripts/oracle/mem_probe.cpp -I$L/include -I$L/ggml/include -I$L/src -L$L/build/bin -lllama -lggml -lggml-base \
  -Wl,-rpath,$L/build/bin -o /tmp/mem_probe 2>&1 | tail -5
python3 -m pip install -q --no-index --no-deps --target /tmp/site $R/.devbin/gguf-0.19.0-py3-none-any.whl && export PYTHONPATH=/tmp/site
mkdir -p /tmp/m
probe() { echo "== $*" >> $OUT/probe.jsonl; timeout 120 /tmp/mem_probe "$@" -ngl 99 2>/dev/null | tail -1 >> $OUT/probe.jsonl || echo "probe failed: $*"; }
if [ $STAGE = a ]; then
python3 $R/.devbin/make_gguf.py -o /tmp/m/f16.gguf --arch llama --n-layer 32 --n-embd 4096 --n-head 32 --n-head-kv 8 \
  --n-ff 14336 --n-vocab 128256 --ctx 131072 --type F16 2>&1 | tail -1
for q in Q4_0 Q4_K_M; do build/bin/llama-quantize /tmp/m/f16.gguf /tmp/m/$q.gguf $q 32 > /tmp/m/$q.log 2>&1 || tail -5 /tmp/m/$q.log; ls -la /tmp/m/$q.gguf; done
for sm in "-sm none" "-sm layer" "-sm layer -ts 3,1" "-sm row"; do
  probe -m /tmp/m/Q4_K_M.gguf -c 4096 -fa on $sm
  probe -m /tmp/m/Q4_K_M.gguf -c 32768 -fa on $sm
done
probe -m /tmp/m/Q4_K_M.gguf -c 32768 -fa off -sm layer
probe -m /tmp/m/Q4_K_M.gguf -c 8192 -fa on -ub 2048 -sm layer
probe -m /tmp/m/Q4_0.gguf -c 4096 -fa on -sm layer
echo "probes done $(( $(date +%s) - t0 )) s"
for q in Q4_0 Q4_K_M; do for sm in none layer row; do
  build/bin/llama-bench -m /tmp/m/$q.gguf -p 512 -n 128 -r 3 -ngl 99 -fa 1 -sm $sm -o csv 2>/dev/null | tee -a $OUT/bench.csv
done; done
echo "bench8b done $(( $(date +%s) - t0 )) s"
else
python3 $R/.devbin/make_gguf.py -o /tmp/m/70b.gguf --arch llama --n-layer 80 --n-embd 8192 --n-head 64 --n-head-kv 8 \
  --n-ff 28672 --n-vocab 128256 --ctx 131072 --type Q4_0 2>&1 | tail -1; ls -la /tmp/m/70b.gguf
echo "70b made $(( $(date +%s) - t0 )) s"
probe -m /tmp/m/70b.gguf -c 8192 -fa on -sm layer
probe -m /tmp/m/70b.gguf -c 8192 -fa on -sm row
for sm in layer row; do
  build/bin/llama-bench -m /tmp/m/70b.gguf -p 512 -n 64 -r 2 -ngl 99 -fa 1 -sm $sm -o csv 2>/dev/null | tee -a $OUT/bench70.csv
done
fi
echo "all done $(( $(date +%s) - t0 )) s"
