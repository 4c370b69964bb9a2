#!/usr/bin/env bash
# headroom's measured GPU decode on the lent H100, with one token's per-dispatch profile
# (HEADROOM_MEASURE_PROFILE=1), for each quant in $QUANTS and each value in $VALUES of the tuning knob
# $KNOB (default HEADROOM_MEASURE_LANES; "default" = unset). Binary: .devbin/headroom (stripped
# release build; $BIN another). Results to $OUT.
set -u
for f in .gl/*.deb; do dpkg -x $f / 2>/dev/null; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json WGPU_BACKEND=vulkan
export HEADROOM_MEASURE_PROFILE=1
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader | tee $OUT/gpu.txt
MODEL=${MODEL:-llama-3.1-8b}
BIN=${BIN:-./.devbin/headroom}
KNOB=${KNOB:-HEADROOM_MEASURE_LANES}
for q in ${QUANTS:-Q4_0 Q4_K_M}; do
  for v in ${VALUES:-default}; do
    if [ "$v" = default ]; then unset $KNOB; else export $KNOB=$v; fi
    n=${q}_$(echo $v | tr , x)_${CTX:-4096}_$(basename $BIN)
    echo "== $MODEL $q $KNOB=$v"
    timeout 120 $BIN measure $MODEL --quant $q --hardware h100-sxm --backend gpu --tokens 32 ${CTX:+--ctx $CTX} \
      --format json > $OUT/m_$n.json 2> $OUT/p_$n.txt
    python3 -c "import json,sys; m=json.load(open(sys.argv[1]))['measurement']; print(f\"{m['decode_tokens_per_s']:.1f} tok/s, {m['effective_bandwidth_bytes_per_s']/1e9:.0f} GB/s, copy {m['copy_bandwidth_bytes_per_s']/1e9:.0f} GB/s\")" $OUT/m_$n.json || tail -3 $OUT/p_$n.txt
    grep -A${ROWS:-8} '^profile' $OUT/p_$n.txt | cut -c1-150
  done
  unset $KNOB
done
