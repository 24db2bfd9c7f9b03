#!/bin/sh
# test-cli.sh ANEFORGE MODEL — `aneforge bench --layers`: the JSON line on
# stdout, then AF_PROFILE's per-step table on stderr whose "% peak" column is
# GFLOP/s over the FMA peak (given here by AF_PROFILE_PEAK, so the arithmetic
# is checked exactly; measured otherwise, a positive figure); bad options
# fail with a message. Prints TAP.
set -u
af=$1 model=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0 bad=0
check() { # check NAME CONDITION-EXIT-STATUS
  n=$((n + 1))
  if [ "$2" = 0 ]; then echo "ok $n $1"; else echo "not ok $n $1"; bad=$((bad + 1)); fi
}

AF_PROFILE_PEAK=200 "$af" bench "$model" --runs 3 --warmup 1 --threads 1 --layers \
  >"$tmp/out" 2>"$tmp/err"
check "bench --layers exits 0" $?
grep -q '"median_ms": [0-9]' "$tmp/out"
check "the JSON line on stdout" $?
grep -q '^AF_PROFILE .*: 4 run(s), .* 1 thread(s), FMA peak 200.0 GFLOP/s (AF_PROFILE_PEAK)$' "$tmp/err"
check "the table's header names the peak" $?
# rows: name op ms/run % GFLOP/s "% peak" kernel; % peak == GFLOP/s / 2 here
rows=$(awk '/^  / && $NF ~ /^(fast|reference)$/ { n++ } END { print n + 0 }' "$tmp/err")
[ "$rows" -ge 5 ]
check "one row per step ($rows)" $?
awk '/^  / && $NF ~ /^(fast|reference)$/ {
       g = $(NF - 2); p = $(NF - 1); d = p - g / 2; if (d < 0) d = -d
       if (d > 0.051) { print "row: " $0; bad++ }
       if ($1 ~ /^conv/ && g <= 0) { print "conv without GFLOP/s: " $0; bad++ }
     } END { exit bad > 0 }' "$tmp/err"
check "% peak = GFLOP/s / peak on every row" $?

"$af" bench "$model" --runs 2 --warmup 0 --threads 2 --layers >"$tmp/out" 2>"$tmp/err"
check "measured peak: exits 0" $?
awk '/^AF_PROFILE .*2 thread\(s\), FMA peak / {
       for (i = 1; i < NF; i++) if ($i == "peak") v = $(i + 1)
     } END { exit !(v + 0 > 0) }' "$tmp/err"
check "measured peak: a positive figure" $?

"$af" bench "$model" --layerz >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] && grep -q 'unknown option --layerz' "$tmp/err"
check "an unknown option: exit 2 and a message" $?
"$af" bench "$model" --threads >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] && grep -q 'option --threads needs a value' "$tmp/err"
check "a value missing: exit 2 and a message" $?
"$af" 2>"$tmp/err"
grep -q 'bench MODEL.json .*\[--layers\]' "$tmp/err"
check "usage lists --layers" $?

echo "1..$n"
[ "$bad" = 0 ]
