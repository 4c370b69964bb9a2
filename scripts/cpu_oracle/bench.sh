#!/bin/bash
# llama-bench CPU tg64 and pp512 for every model here; waits (up to 10 min) for a quiet CPU before each
B=/root/.cache/llama-oracle/llama.cpp/build/bin/llama-bench
out=${1:-bench.jsonl}
quiet() { # pressure avg10 < 20 and loadavg1 < 1.5
  for i in $(seq 1 ${WAITN:-24}); do
    p=$(awk '/^some/{split($2,a,"="); print a[2]}' /proc/pressure/cpu)
    l=$(cut -d' ' -f1 /proc/loadavg)
    if awk "BEGIN{exit !($p < 30 && $l < 2.5)}"; then return 0; fi
    sleep 5
  done
  return 1
}
for m in ${MODELS:-llama1b-F16 llama1b-Q8_0 llama1b-Q4_0 llama1b-Q4_K_M llama3b-F16 llama3b-Q8_0 llama3b-Q4_0 llama3b-Q4_K_M}; do
  quiet && q=quiet || q=busy
  pre="$(cut -d' ' -f1-3 /proc/loadavg) psi10=$(awk '/^some/{split($2,a,"="); print a[2]}' /proc/pressure/cpu)"
  t0=$(date -u +%FT%TZ)
  r=$($B -m $m.gguf -t 2 ${ARGS:--p 512 -n 64 -r 5} -o json 2>/dev/null)
  post="$(cut -d' ' -f1-3 /proc/loadavg) psi10=$(awk '/^some/{split($2,a,"="); print a[2]}' /proc/pressure/cpu)"
  echo "{\"model\":\"$m\",\"start\":\"$t0\",\"wait\":\"$q\",\"load_before\":\"$pre\",\"load_after\":\"$post\",\"bench\":$r}" | tr -d '\n' >> $out
  echo >> $out
  echo "$m done $q $pre / $post"
done
