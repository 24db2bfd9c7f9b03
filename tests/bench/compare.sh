#!/usr/bin/env bash
# tests/bench/compare.sh [ROUNDS] [RUNS] — aneforge's CPU backend against ONNX
# Runtime 1.30 (MLAS; PyPI's onnxruntime in build/venv, run by
# ../shared/bench/ort_bench.py) on the same machine, in ONE run, alternating A/B.
#
# Measures the fp32 FMA peak (../shared/bench/peak_fma.c) at 1 and 2 threads,
# then for every model and thread count, ROUNDS times (default 3) in
# alternation: our median latency over RUNS runs (default 50, after warm-up)
# and ONNX Runtime's on the same .onnx file. Prints a table of medians over
# the rounds: model, threads, ours ms, ORT ms, ratio (ours/ORT, < 1 = we are
# faster), our GFLOP/s and % of peak, compile time and peak RSS.
# This is a benchmark, not a test: figures vary with the machine's load.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${AF_SHARED:-$root/../shared}
rounds=${1:-3}
runs=${2:-50}
cache=${AF_CACHE:-$HOME/.cache/aneforge}
mkdir -p "$cache/models"

"$root/tools/bootstrap.sh" --oracles build
af="$root/build/tools/aneforge"
python="$root/build/venv/bin/python"
if [ ! -x "$python" ]; then
  echo "compare.sh: no ONNX Runtime: $(cat "$root/build/pypi-unreachable" 2>/dev/null)" >&2
  exit 1
fi
echo "$("$python" -c 'import onnxruntime as o; print("ONNX Runtime", o.__version__, "(PyPI)")')"

cc -O2 -mavx2 -mfma -pthread "$shared/bench/peak_fma.c" -o "$cache/peak_fma"
peak1=$("$cache/peak_fma" 1 | sed -n 's/.* median=\([0-9.]*\) .*/\1/p')
peak2=$("$cache/peak_fma" 2 | sed -n 's/.* median=\([0-9.]*\) .*/\1/p')
echo "peak fp32 FMA: ${peak1} GFLOP/s (1 thread), ${peak2} GFLOP/s (2 threads)"

# model name | onnx file | import options | GFLOP per image (2 x MACs; bench README figures,
# or measured by `aneforge inspect` for the others) | batch (default 1) | bench flags. The
# bench's ONNX files have a static batch of 1, so ORT runs batch 1 only: a batch row has no
# ORT column (compare its per-image time with the batch-1 row). --winograd: the opt-in
# Winograd 3x3 convolutions (outputs within a few fp16 ulps of the default path).
models=(
  "resnet18|$shared/bench/models/resnet18.onnx||3.628"
  "resnet18|$shared/bench/models/resnet18.onnx||3.628|4"
  "resnet18|$shared/bench/models/resnet18.onnx||3.628|1|--winograd"
  "mobilenet_v2|$shared/bench/models/mobilenet_v2.onnx||0.6015"
  "squeezenet1_1|$shared/bench/models/squeezenet1_1.onnx||0.6983"
  "squeezenet_fp16|$shared/models/squeezenet/SqueezeNet_fp16.onnx||"
  "ultraface_rfb320|$shared/models/ultraface/version-RFB-320_simplified.onnx||"
)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for spec in "${models[@]}"; do
  IFS='|' read -r name onnx opts gflop batch flags <<<"$spec"
  batch=${batch:-1}
  json="$cache/models/$name.json"
  "$af" import "$onnx" -o "$json" $opts >/dev/null
  if [ -z "$gflop" ]; then
    gflop=$("$af" inspect "$json" | sed -n 's/^cost: \([0-9.]*\) GFLOP.*/\1/p')
  fi
  gflop=$(awk -v g="$gflop" -v b="$batch" 'BEGIN { print g * b }')
  label=$name
  [ "$batch" -gt 1 ] && label="$name/b$batch"
  [ -n "$flags" ] && label="$label/${flags#--}"
  for threads in 1 2; do
    for ((r = 0; r < rounds; r++)); do
      # shellcheck disable=SC2086
      ours=$("$af" bench "$json" --threads "$threads" --runs "$runs" --batch "$batch" $flags | tail -1)
      rss=$(echo "$ours" | sed -n 's/.*"peak_rss_kb": \([0-9]*\).*/\1/p')
      ort='{}'
      if [ "$batch" -eq 1 ]; then
        ort=$("$python" "$shared/bench/ort_bench.py" "$onnx" "$threads" "$runs" 5 2>/dev/null || echo '{}')
      fi
      om=$(echo "$ours" | sed -n 's/.*"median_ms": \([0-9.]*\).*/\1/p')
      cm=$(echo "$ours" | sed -n 's/.*"compile_ms": \([0-9.]*\).*/\1/p')
      rm_=$(echo "$ort" | sed -n 's/.*"median_ms": *\([0-9.]*\).*/\1/p')
      echo "$label $threads $om ${rm_:-nan} $cm $rss $gflop" >>"$results"
    done
  done
done

printf '\n%-18s %3s %9s %9s %7s %9s %7s %10s %9s\n' model thr "ours ms" "ORT ms" ratio "GFLOP/s" "% peak" "compile ms" "RSS MB"
awk -v p1="$peak1" -v p2="$peak2" '
  function median(s,   a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { k = $1 " " $2; if (!(k in seen)) { order[++nk] = k; seen[k] = 1 }
    ours[k] = ours[k] " " $3; ort[k] = ort[k] " " $4; comp[k] = comp[k] " " $5; rss[k] = rss[k] " " $6; gf[k] = $7 }
  END {
    for (i = 1; i <= nk; i++) {
      k = order[i]; split(k, f, " ")
      o = median(ours[k]); r = (ort[k] ~ /nan/) ? 0 : median(ort[k])
      peak = f[2] == 1 ? p1 : p2
      gfs = gf[k] / (o / 1000)
      printf "%-18s %3d %9.2f %9s %7s %9.1f %6.0f%% %10.1f %9.1f\n", f[1], f[2], o,
        r ? sprintf("%.2f", r) : "-", r ? sprintf("%.2fx", o / r) : "-", gfs, 100 * gfs / peak,
        median(comp[k]), median(rss[k]) / 1024
    }
  }' "$results"
