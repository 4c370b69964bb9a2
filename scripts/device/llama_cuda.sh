#!/usr/bin/env bash
# llama.cpp (0c1e570, the oracle's commit) built with CUDA on the device; llama-bench + mem_probe on
# synthetic Llama-3.1-8B-shaped GGUFs. Results to $OUT.
set -u
R=$PWD
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee $OUT/gpu.txt
if [ -x /tmp/ll/llama.cpp/build/bin/llama-bench ]; then echo REUSE; cd /tmp/ll/llama.cpp; else mkdir -p /tmp/ll && cd /tmp/ll && tar xJf $R/.devbin/llama-src.tar.xz && cd llama.cpp
t0=$(date +%s)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_APP=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF > $OUT/cmake.log 2>&1 || { tail -30 $OUT/cmake.log; exit 1; }
ninja -C build -j16 llama-bench llama-quantize > $OUT/build.log 2>&1 || { tail -40 $OUT/build.log; exit 1; }
echo "build took $(( $(date +%s) - t0 )) s"; fi
L=$PWD
g++ -O2 -std=c++17 $R/scripts/oracle/mem_probe.cpp -I$L/include -I$L/ggml/include -I$L/src -L$L/build/bin -lllama -lggml -lggml-base \
  -Wl,-rpath,$L/build/bin -o /tmp/mem_probe 2>&1 | tail -5
python3 -m pip install -q --no-index --no-deps --target /tmp/site $R/.devbin/gguf-0.19.0-py3-none-any.whl && export PYTHONPATH=/tmp/site
mkdir -p /tmp/m
[ -f /tmp/m/f16.gguf ] || python3 $R/.devbin/make_gguf.py -o /tmp/m/f16.gguf --arch llama --n-layer 32 --n-embd 4096 --n-head 32 --n-head-kv 8 \
  --n-ff 14336 --n-vocab 128256 --ctx 131072 --type F16 2>&1 | tail -1
for q in Q4_0 Q4_K_M Q8_0; do [ -f /tmp/m/$q.gguf ] || build/bin/llama-quantize /tmp/m/f16.gguf /tmp/m/$q.gguf $q 16 > /tmp/m/$q.log 2>&1 || tail -5 /tmp/m/$q.log; ls -la /tmp/m/$q.gguf; done
for q in Q4_0 Q4_K_M Q8_0 f16; do
  build/bin/llama-bench -m /tmp/m/$q.gguf -p 512 -n 128 -r 3 -ngl 99 -fa 1 -o csv 2>/dev/null | tee -a $OUT/bench.csv
done
build/bin/llama-bench -m /tmp/m/Q4_K_M.gguf -p 0 -n 128 -d 4096,32768 -r 3 -ngl 99 -fa 1 -o csv 2>/dev/null | tee -a $OUT/bench_depth.csv
for args in "-c 4096 -fa on" "-c 32768 -fa on" "-c 32768 -fa off" "-c 32768 -fa on -ctk q8_0 -ctv q8_0" "-c 8192 -fa on -ub 2048"; do
  echo "== $args" >> $OUT/probe.jsonl
  /tmp/mem_probe -m /tmp/m/Q4_K_M.gguf $args -ngl 99 2>/dev/null | tail -1 >> $OUT/probe.jsonl || echo "probe failed: $args"
done
grep -c . $OUT/probe.jsonl
cd $R
for f in .gl/*.deb; do dpkg -x $f / 2>/dev/null; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json WGPU_BACKEND=vulkan
timeout 120 ./.devbin/measure_device decode 2>&1 | tail -15 | tee $OUT/headroom_decode.txt
