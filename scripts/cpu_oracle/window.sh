#!/bin/bash
# One measurement window: STREAM (2 threads), cpu_bench kernels (TYPES / LEVELS narrow it), STREAM again,
# with the load and CPU pressure before and after each. Usage: window.sh [cpu_bench args...] (default: kernels)
# Env: TYPES (e.g. F16,Q8_0,Q4_0), LEVELS (e.g. avx2,avx512), BENCH (path to cpu_bench).
M=/root/.cache/llama-oracle/models-cpu
BENCH=${BENCH:-/work/wt-cpu/target/release/examples/cpu_bench}
L() { echo "# $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg) psi10=$(awk '/^some/{split($2,a,"="); print a[2]}' /proc/pressure/cpu)"; }
S() { OMP_NUM_THREADS=2 OMP_PROC_BIND=spread nice -n -15 $M/stream 50000000 8 | grep -i -E "read|copy"; }
L; S; L
HEADROOM_CPU_BENCH_TYPES=$TYPES HEADROOM_CPU_BENCH_LEVELS=$LEVELS nice -n -15 $BENCH ${@:-kernels}
L; S; L
