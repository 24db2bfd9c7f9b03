#!/bin/sh
# cli-options.sh ANEFORGE MODEL — the CLI options tools/mac-verify.sh relies
# on, checked here where they can run (TAP): --seed fills the same input
# every time and another seed another one; --backend ane fails clearly off a
# Mac; bench names the backend that ran, "cpu" once the self-check fell back
# (ane-sim made wrong by AF_ANE_SIM_PERTURB) and "ane-sim" with
# --check-every -1; --backend takes only auto, cpu, ane.
af=$1
model=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); bad=1; echo "not ok $n - $1"; }

"$af" run "$model" --backend cpu --seed 1 --save-outputs "$tmp/a" >/dev/null &&
  "$af" run "$model" --backend cpu --seed 1 --save-outputs "$tmp/b" >/dev/null &&
  "$af" run "$model" --backend cpu --seed 2 --save-outputs "$tmp/c" >/dev/null &&
  cmp -s "$tmp/a" "$tmp/b" && ! cmp -s "$tmp/a" "$tmp/c" &&
  ok "--seed: same seed same outputs, another seed other outputs" ||
  notok "--seed"
if [ "$(uname -s)" != Darwin ]; then
  "$af" run "$model" --backend ane --seed 1 >"$tmp/log" 2>&1
  rc=$?
  [ $rc -ne 0 ] && grep -q 'not available: the ANE backend needs macOS' "$tmp/log" &&
    ok "--backend ane fails clearly off a Mac" || notok "--backend ane off a Mac: rc $rc"
fi
AF_ANE_SIM=1 AF_ANE_SIM_PERTURB=scale:1.5 "$af" bench "$model" --backend ane --seed 1 --runs 3 \
  --warmup 0 2>/dev/null | grep -q '"backend": "cpu"' &&
  ok "bench: a wrong device falls back to the CPU" || notok "bench after a failed check"
AF_ANE_SIM=1 AF_ANE_SIM_PERTURB=scale:1.5 "$af" bench "$model" --backend ane --check-every -1 \
  --seed 1 --runs 3 --warmup 0 2>/dev/null | grep -q '"backend": "ane-sim"' &&
  ok "bench --check-every -1 keeps the device" || notok "bench --check-every -1"
"$af" run "$model" --backend foo >/dev/null 2>&1
[ $? -eq 2 ] && ok "--backend foo is refused" || notok "--backend foo"
echo "1..$n"
exit $bad
