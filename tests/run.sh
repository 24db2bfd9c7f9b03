#!/usr/bin/env bash
# tests/run.sh — installs what is missing (Debian 12), builds, runs every test
# (a normal build, AddressSanitizer + UBSan, ThreadSanitizer for the threaded
# library suites, valgrind), and ends with one line
# "N passed, N failed". Exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."

aarch64=1
[ "${AF_SKIP_AARCH64:-0}" = 1 ] && aarch64=0
AF_BOOTSTRAP_AARCH64=$aarch64 tools/bootstrap.sh --oracles build || { echo "0 passed, 1 failed"; exit 1; }
export AF_VENV=$PWD/build/venv

passed=0
failed=0
# skips by tag (tests/skips.py): isa and pypi are expected where the machine
# lacks the ISA or PyPI was unreachable; any other skip fails the run
declare -A skipped=([isa]=0 [pypi]=0 [emulated]=0 [unexpected]=0)
isa_skips=""
skip_tags=(isa)
[ -f build/pypi-unreachable ] && skip_tags+=(pypi)

# run_suite BUILD_DIR MESON_ARGS... : configure, build, test; adds to the counts
run_suite() {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; failed=$((failed + 1)); return; }
  fi
  if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
    tail -50 "$dir.build.log"; failed=$((failed + 1)); return
  fi
  meson test -C "$dir" --num-processes 2 --print-errorlogs "${test_args[@]}" 2>&1 | tee "$dir.test.log" |
    grep -E "^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT|ERROR)|^(Ok|Fail|Skipped|Timeout|Expected Fail|Unexpected Pass): "
  local ok fail to ue
  ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$dir.test.log" | tail -1)
  fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$dir.test.log" | tail -1)
  to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$dir.test.log" | tail -1)
  ue=$(sed -n 's/^Unexpected Pass: *\([0-9]*\).*/\1/p' "$dir.test.log" | tail -1)
  if [ -z "$ok" ]; then failed=$((failed + 1)); return; fi
  passed=$((passed + ok))
  failed=$((failed + ${fail:-0} + ${to:-0} + ${ue:-0}))
  count_skips "$dir"
}

# count_skips BUILD_DIR: the skips of its last meson test, by tag; prints the
# unexpected ones and counts each as a failure
count_skips() {
  local tag n report
  report=$(python3 tests/skips.py "$1" "${skip_tags[@]}" "${extra_skip_tags[@]}")
  echo "$report" | grep '^  skip (unexpected)' || true
  isa_skips+=$(echo "$report" | sed -n 's/^  skip (isa) .*: isa: \(.*\)/\1/p')$'\n'
  while read -r tag n; do
    skipped[$tag]=$((${skipped[$tag]} + n))
  done < <(echo "$report" | grep -E '^[a-z]+ [0-9]+$')
}
extra_skip_tags=()

echo "== release build (build/)"
test_args=()
run_suite build -Dbuildtype=debugoptimized
echo "== AddressSanitizer + UBSan build (build-asan/)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
test_args=(--no-suite gst --no-suite smoke --no-suite alloc --no-suite oracle)
run_suite build-asan -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
echo "== AddressSanitizer + UBSan over the element (build-asan/)"
# the plugin scanner and gst-launch are not instrumented: scan in-process,
# skip the tests that exec gst-launch; GStreamer's own start-up leaks suppressed
test_args=(test-preprocess test-aneforge test-live test-hostile test-model-files test-reload)
GST_REGISTRY_FORK=no ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0 \
  LSAN_OPTIONS=suppressions=$PWD/tests/gst/lsan.supp run_suite build-asan

echo "== ThreadSanitizer over the thread pool, the kernels and the runtime (build-tsan/)"
test_args=(--suite kernels --suite core)
TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1} run_suite build-tsan -Dbuildtype=debugoptimized -Db_sanitize=thread

echo "== valgrind memcheck over the library suites (build/)"
test_args=(--suite core --suite loader --suite kernels --no-suite cross --timeout-multiplier 10
  "--wrap=valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite")
run_suite build

echo "== valgrind memcheck over the element (build/)"
test_args=(test-aneforge test-live --timeout-multiplier 10
  "--wrap=valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --num-callers=40 --suppressions=$PWD/tests/gst/valgrind.supp")
run_suite build

echo "== AArch64: the library and its suites cross-compiled, under qemu-aarch64 (build-aarch64/)"
# the portable C bodies and the NEON GEMM, where Apple's CPUs run them; no
# GStreamer (the element's suites need the x86 plugin scanner). gdk-pixbuf's
# arm64 loader cache is written by running its query tool under qemu (the
# package's trigger could not); a test that spawns itself is skipped
# (AF_TEST_EMULATED: a child AArch64 binary needs binfmt_misc)
if [ "$aarch64" = 1 ]; then
  qemu-aarch64 /usr/lib/aarch64-linux-gnu/gdk-pixbuf-2.0/gdk-pixbuf-query-loaders \
    >build-aarch64.pixbuf-loaders.cache 2>/dev/null
  test_args=(--no-suite cross --no-suite lint --no-suite oracle --timeout-multiplier 4)
  extra_skip_tags=(emulated)
  GDK_PIXBUF_MODULE_FILE=$PWD/build-aarch64.pixbuf-loaders.cache AF_TEST_EMULATED=1 \
    run_suite build-aarch64 --cross-file tests/cross/aarch64-linux-gnu.ini -Dgst=disabled \
    -Dbuildtype=debugoptimized
else
  echo "skipped (AF_SKIP_AARCH64=1)"
fi

failed=$((failed + ${skipped[unexpected]}))
total_skips=$((${skipped[isa]} + ${skipped[pypi]} + ${skipped[emulated]} + ${skipped[unexpected]}))
[ "$aarch64" = 1 ] || echo "(the AArch64 stage was skipped: AF_SKIP_AARCH64=1)"
isa_why=$(printf '%s' "$isa_skips" | grep . | sort -u | paste -sd ';' | sed 's/;/; /g')
echo "skipped: ${skipped[isa]} for an ISA this CPU lacks${isa_why:+ (${isa_why})}," \
  "${skipped[pypi]} because PyPI was unreachable, ${skipped[emulated]} under qemu-user," \
  "${skipped[unexpected]} unexpected (counted as failed)"
echo "$passed passed, $failed failed, $total_skips skipped"
[ "$failed" -eq 0 ]
