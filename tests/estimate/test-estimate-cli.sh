#!/bin/sh
# test-estimate-cli.sh ANEFORGE — `aneforge estimate` on mnist (../shared):
# one target's table, brand aliases, the family-2 fallback warning, the
# dispatch-floor warning on stderr, --all (one row per target), a target
# without a cost curve, the inspect --backend ane summary, bad usage.
# Prints TAP.
set -u
af=$1 model=${AF_SHARED:?}/models/mnist/mnist.onnx
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0 bad=0
check() { # check NAME CONDITION-EXIT-STATUS
  n=$((n + 1))
  if [ "$2" = 0 ]; then echo "ok $n $1"; else echo "not ok $n $1"; bad=$((bad + 1)); fi
}

"$af" estimate "$model" --target m5 >"$tmp/out" 2>"$tmp/err"
check "estimate --target m5 exits 0" $?
grep -q '^estimate on h17s: [0-9.]* us .* 2 programs, 1 host step' "$tmp/out"
check "m5 is h17s; mnist is 2 programs and 1 host step (the export's cut)" $?
grep -q 'host step, 1 node, cut 200.0 .* pooling stride > 2' "$tmp/out"
check "the host step's cut cost and reason" $?
grep -q 'dispatch-floor-bound' "$tmp/err"
check "mnist is floor-bound: the warning on stderr" $?

"$af" estimate "$model" --target m7 >"$tmp/out" 2>"$tmp/err"
check "an unknown target still estimates" $?
grep -q 'unknown ANE target "m7"; assuming the conservative floor (family 2/h13)' "$tmp/err" &&
  grep -q '^estimate on h13:' "$tmp/out"
check "unknown target: family 2 (h13) with a warning" $?

"$af" estimate "$model" --all >"$tmp/out" 2>"$tmp/err"
check "--all exits 0" $?
[ "$(wc -l <"$tmp/out")" = 30 ]
check "--all: a header, the 28 targets and m5-measured" $?
grep -q '^h12 .*has no cost curve' "$tmp/out" && grep -q '^u1->h13 ' "$tmp/out" &&
  grep -q '^h15c .* h14 .*analytic' "$tmp/out"
check "--all: no curve, a reference target's fallback, an extrapolated target" $?

"$af" estimate "$model" --target h12 >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q 'no cost curve' "$tmp/err"
check "a target without a cost curve fails with a message" $?

"$af" inspect --backend ane "$model" >"$tmp/out" 2>"$tmp/err"
grep -q '^  estimate (analytic, docs/estimate.md): h13 [0-9.]* ms (floor-bound), h14' "$tmp/out"
check "inspect --backend ane ends with the estimate line" $?

"$af" estimate "$model" --all --target h13 >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q '^usage: aneforge estimate' "$tmp/err"
check "--all with --target: usage" $?

echo "1..$n"
[ "$bad" = 0 ]
