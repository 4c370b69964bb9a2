#!/bin/bash
# interleaved, per file: llama-bench tg64 (-r 3) then headroom's CPU decode (5 runs), so both see the same load
cd /root/.cache/llama-oracle/models-cpu
B=/root/.cache/llama-oracle/llama.cpp/build/bin/llama-bench
out=${1:-pair.jsonl}
for m in ${MODELS:-llama1b-F16 llama1b-Q8_0 llama1b-Q4_0 llama1b-Q4_K_M llama3b-F16 llama3b-Q8_0 llama3b-Q4_0 llama3b-Q4_K_M}; do
  pre="$(cut -d' ' -f1-3 /proc/loadavg) psi10=$(awk '/^some/{split($2,a,"="); print a[2]}' /proc/pressure/cpu)"
  t0=$(date -u +%FT%TZ)
  r=$($B -m $m.gguf -t 2 -p 0 -n 64 -r 3 -o json 2>/dev/null)
  h=$(/work/wt-cpu/target/release/examples/cpu_bench $PWD/$m.gguf 2>&1 | grep "^| $m")
  post="$(cut -d' ' -f1-3 /proc/loadavg) psi10=$(awk '/^some/{split($2,a,"="); print a[2]}' /proc/pressure/cpu)"
  echo "{\"model\":\"$m\",\"start\":\"$t0\",\"wait\":\"none\",\"load_before\":\"$pre\",\"load_after\":\"$post\",\"headroom\":\"$h\",\"bench\":$r}" | tr -d '\n' >> $out
  echo >> $out
  echo "$m $pre / $post :: $h"
done
