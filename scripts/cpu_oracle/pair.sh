#!/bin/bash
# interleaved, per file: STREAM read-sum (2 threads), llama-bench tg64 (-r 3), then headroom's CPU decode
# (5 runs), so all three see the same load. Run it under `nice -n -15` as docs/benchmarks.md does.
cd /root/.cache/llama-oracle/models-cpu
B=/root/.cache/llama-oracle/llama.cpp/build/bin/llama-bench
out=${1:-pair.jsonl}
for m in ${MODELS:-llama1b-F16 llama1b-Q8_0 llama1b-Q4_0 llama1b-Q4_K_M llama3b-F16 llama3b-Q8_0 llama3b-Q4_0 llama3b-Q4_K_M}; do
  pre="$(cut -d' ' -f1-3 /proc/loadavg) psi10=$(awk '/^some/{split($2,a,"="); print a[2]}' /proc/pressure/cpu)"
  t0=$(date -u +%FT%TZ)
  st=$(OMP_NUM_THREADS=2 OMP_PROC_BIND=spread ./stream 50000000 8 | awk '/ReadSum/{print $3 "/" $6}')
  r=$($B -m $m.gguf -t 2 -p 0 -n 64 -r 3 -o json 2>/dev/null)
  h=$(/work/wt-cpu/target/release/examples/cpu_bench $PWD/$m.gguf 2>&1 | grep "^| $m")
  post="$(cut -d' ' -f1-3 /proc/loadavg) psi10=$(awk '/^some/{split($2,a,"="); print a[2]}' /proc/pressure/cpu)"
  echo "{\"model\":\"$m\",\"start\":\"$t0\",\"wait\":\"none\",\"load_before\":\"$pre\",\"load_after\":\"$post\",\"stream_read_best_median\":\"$st\",\"headroom\":\"$h\",\"bench\":$r}" | tr -d '\n' >> $out
  echo >> $out
  echo "$m $pre / $post stream $st :: $h"
done
