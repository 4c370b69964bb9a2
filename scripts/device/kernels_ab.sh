#!/usr/bin/env bash
# Kernel A/B on the lent GPU, one machine: for the baseline binary $BASE (if set) and then $BIN,
# `measure_device kernels` (1 GiB matrices) at the committed shapes for the types in $TYPES (default
# all; AUTO=0 skips this), then for each TYPE=shape;shape.. word of $SWEEPS the listed lanes shapes
# (HEADROOM_BENCH_LANES). Results: $OUT/kernels_*.txt (tar them before the device returns them: it
# returns few files).
set -u
for f in .gl/*.deb; do dpkg -x $f / 2>/dev/null; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json WGPU_BACKEND=vulkan
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader | tee $OUT/gpu.txt
BIN=${BIN:-./.devbin/measure_device}
rows() { grep -E '^(copy|\| [A-Z]|BEST)' "$1" | cut -c1-160; }
for b in ${BASE:-} $BIN; do
  n=$(basename $b)
  if [ "${AUTO:-1}" != 0 ]; then
    env HEADROOM_BENCH_AUTO_ONLY=1 ${TYPES:+HEADROOM_BENCH_TYPES=$TYPES} timeout 300 $b kernels > $OUT/kernels_auto_$n.txt 2>&1
    echo "== $n committed shapes"; rows $OUT/kernels_auto_$n.txt
  fi
  for s in ${SWEEPS:-}; do
    t=${s%%=*}
    echo "== $n $t sweep"
    HEADROOM_BENCH_TYPES=$t HEADROOM_BENCH_LANES="${s#*=}" timeout 300 $b kernels > $OUT/kernels_sweep_${t}_$n.txt 2>&1
    rows $OUT/kernels_sweep_${t}_$n.txt | grep -v '^copy'
  done
done
