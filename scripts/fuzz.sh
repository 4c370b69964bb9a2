#!/usr/bin/env bash
# Fuzz headroom's input parsers with cargo-fuzz (libFuzzer).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 600); TARGETs default to all of fuzz/fuzz_targets/. Seeds come from
# headroom's own writers (examples/fuzz_seeds.rs) into fuzz/corpus/<target>/. Each target runs in turn;
# the script prints executions and crashes per target and exits 1 if any target crashed
# (reproducers land in fuzz/artifacts/<target>/).
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). With only a stable toolchain, RUSTC_BOOTSTRAP=1 lets
# it accept the nightly flags cargo-fuzz passes (set here unless already set). Builds use no
# sanitizer (safe Rust; we look for panics, overflows in debug assertions, OOMs and hangs).
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in fuzz/fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi
export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"
FUZZ_FLAGS=(-s none -a)

cargo run --quiet --example fuzz_seeds -- fuzz/corpus
(cd fuzz && cargo fuzz build "${FUZZ_FLAGS[@]}")

mkdir -p fuzz/logs
status=0
summary=()
for t in "${targets[@]}"; do
    log="fuzz/logs/$t.log"
    echo "== $t: ${secs}s (log: $log)"
    set +e
    (cd fuzz && cargo fuzz run "${FUZZ_FLAGS[@]}" "$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1) >"$log" 2>&1
    rc=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    crashes=$(ls "fuzz/artifacts/$t" 2>/dev/null | grep -cE '^(crash|oom|timeout|leak)-' || true)
    summary+=("$t: ${execs:-?} executions, exit $rc, $crashes reproducer(s) in fuzz/artifacts/$t")
    if [ "$rc" -ne 0 ]; then
        status=1
        grep -m3 -E 'panicked|ERROR: libFuzzer|Test unit written' "$log" || true
    fi
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
