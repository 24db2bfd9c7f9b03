#!/usr/bin/env bash
# tests/fuzz/run.sh HOURS [BUILD_DIR] — long fuzzing runs of the four
# parsers: graph JSON, safetensors, ONNX, TFLite.
#
# With clang (Debian's clang ships libFuzzer): the libFuzzer targets of a
# -Dfuzzing=true build (BUILD_DIR, default build-fuzz, configured with
# CC=clang -Dfuzzing=true -Dgst=disabled when missing), AF_FUZZ_JOBS targets
# at a time (default 2, one per core), so each target gets
# HOURS * JOBS / 4 hours. Each starts from its committed corpus (read only)
# and keeps what it finds in BUILD_DIR/fuzz/corpus-NAME; crashes, leaks,
# timeouts (30 s) and out-of-memory inputs go to BUILD_DIR/fuzz/crash-NAME/.
# Without clang: the replay harness's random mutator (fuzz-NAME-run --mutate,
# BUILD_DIR default build), same time split, a random seed each.
# Prints the executions per target; exits 1 if any target found a crash.
# Fixed crashers go into the committed corpus (tests/fuzz/corpus/graph,
# tests/fuzz/corpus/safetensors, tests/import/corpus, tests/tflite/corpus),
# where the fuzz suite replays them in every build. To fold new coverage back
# (minimised), e.g.:
#   build-fuzz/tests/fuzz/fuzz-graph -merge=1 tests/fuzz/corpus/graph build-fuzz/fuzz/corpus-graph
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
hours=${1:?usage: tests/fuzz/run.sh HOURS [BUILD_DIR]}
jobs=${AF_FUZZ_JOBS:-2}
seconds=$(awk -v h="$hours" -v j="$jobs" 'BEGIN { s = int(h * 3600 * j / 4); print (s < 1 ? 1 : s) }')
names=(graph safetensors onnx tflite)
declare -A corpus=(
  [graph]=tests/fuzz/corpus/graph [safetensors]=tests/fuzz/corpus/safetensors
  [onnx]=tests/import/corpus [tflite]=tests/tflite/corpus)
declare -A fuzzer=(
  [graph]=tests/fuzz/fuzz-graph [safetensors]=tests/fuzz/fuzz-safetensors
  [onnx]=tests/import/fuzz-onnx [tflite]=tests/tflite/fuzz-tflite)

if command -v clang >/dev/null; then
  engine=libfuzzer
  build=$(realpath -m "${2:-$root/build-fuzz}")
  if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" "$root" -Dfuzzing=true -Dgst=disabled \
      -Dbuildtype=debugoptimized >/dev/null
  fi
  targets=()
  for n in "${names[@]}"; do targets+=("${fuzzer[$n]}"); done
  ninja -C "$build" "${targets[@]}" >/dev/null
else
  engine=mutator
  build=$(realpath -m "${2:-$root/build}")
  targets=()
  for n in "${names[@]}"; do targets+=("tests/fuzz/fuzz-$n-run"); done
  ninja -C "$build" "${targets[@]}" >/dev/null
fi
work="$build/fuzz"
mkdir -p "$work"
echo "fuzz/run.sh: $engine, ${#names[@]} targets, $jobs at a time, $seconds s each, output in $work"

# run_one NAME: one target for $seconds; its log in $work/NAME.log
run_one () {
  local n=$1 log="$work/$1.log"
  if [ "$engine" = libfuzzer ]; then
    mkdir -p "$work/corpus-$n" "$work/crash-$n"
    local dict=()
    [ "$n" = graph ] && dict=(-dict="$root/tests/fuzz/graph.dict")
    (cd "$root" && "$build/${fuzzer[$n]}" "${dict[@]}" -max_total_time="$seconds" -timeout=30 \
      -print_final_stats=1 -artifact_prefix="$work/crash-$n/" \
      "$work/corpus-$n" "${corpus[$n]}") >"$log" 2>&1
  else
    (cd "$work" && "$build/tests/fuzz/fuzz-$n-run" --mutate "$seconds" --seed "$RANDOM") \
      >"$log" 2>&1
  fi
}

status=0
running=0
for n in "${names[@]}"; do
  run_one "$n" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done

for n in "${names[@]}"; do
  log="$work/$n.log"
  if [ "$engine" = libfuzzer ]; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=$(find "$work/crash-$n" -type f | wc -l)
    echo "$n: ${execs:-?} executions in $seconds s, corpus $(ls "$work/corpus-$n" | wc -l) new" \
      "+ $(ls "$root/${corpus[$n]}" | wc -l) committed, $crashes crash file(s)"
    [ "$crashes" = 0 ] || { status=1; grep -m3 -E 'ERROR|SUMMARY' "$log" | sed 's/^/  /'; }
  else
    sed -n "s/^# fuzz $n: /$n: /p" "$log"
    grep -q "^ok 1 " "$log" || { status=1; grep -m3 -E 'crash|Bail|ERROR' "$log" | sed 's/^/  /'; }
  fi
done
exit $status
