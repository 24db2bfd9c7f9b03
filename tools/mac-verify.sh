#!/usr/bin/env bash
# tools/mac-verify.sh — the ANE backend on a real Mac, for a person with
# Apple silicon and Homebrew's GStreamer (brew install meson ninja pkgconf
# glib json-glib gstreamer). IT HAS NOT BEEN RUN: the project is developed on
# Linux, where no Neural Engine exists; tests/ane/macos/meson.build only
# checks this script with `bash -n` and shellcheck.
#
#   tools/mac-verify.sh [BUILD_DIR]     (default: build-mac)
#
# It builds aneforge, then for each model the tests use (tiny-classifier,
# SqueezeNet, mnist, UltraFace, YuNet, BlazeFace; the ONNX ones imported with
# `aneforge import` as tests/ane/test-export.sh does) it:
#   1. exports the MIL programs (export --ane) and notes the programs per frame;
#   2. runs the model once on backend=ane with the self-check off
#      (--check-every -1, so a wrong device result is measured, not hidden),
#      with G_MESSAGES_DEBUG=all: the runtime logs, per region, "e5rt
#      accepted" or "e5rt refused (the e5rt error); trying Core ML" and a Core
#      ML refusal; the outputs are saved;
#   3. runs it on backend=cpu on the same seeded input and saves the outputs;
#   4. measures max |ane - cpu| and that over max |cpu| per output, and the
#      self-check's verdict (the bound 8 D u, docs/ane.md);
#   5. benchmarks both backends (aneforge bench: median of 50 runs = p50).
# and writes docs/ane-verification/<chip>-<date>.json. Anything that could not
# run is recorded as such ("status": "not run" / "failed", with the reason),
# never left out. Commit the JSON and the log beside it.
set -uo pipefail

if [[ $(uname -s) != Darwin || $(uname -m) != arm64 ]]; then
  echo "mac-verify.sh: needs macOS on Apple silicon (this is $(uname -s) $(uname -m))" >&2
  exit 2
fi

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-mac}
shared=${AF_SHARED:-$src/../shared}
cache=${AF_CACHE:-$HOME/.cache/aneforge}
chip=$(sysctl -n machdep.cpu.brand_string 2>/dev/null | tr -c 'A-Za-z0-9\n' '-' | sed 's/-*$//')
day=$(date -u +%Y-%m-%d)
outdir=$src/docs/ane-verification
out=$outdir/${chip:-unknown-chip}-$day.json
log=$outdir/${chip:-unknown-chip}-$day.log
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$outdir"
: >"$log"

say() { echo "mac-verify: $*" | tee -a "$log" >&2; }

# ---------------------------------------------------------------- build
if [[ ! -d $build ]]; then
  meson setup "$build" "$src" -Dbuildtype=release >>"$log" 2>&1 || { say "meson setup failed (see $log)"; exit 1; }
fi
ninja -C "$build" >>"$log" 2>&1 || { say "build failed (see $log)"; exit 1; }
af=$build/tools/aneforge

# ---------------------------------------------------------------- models
models=(
  tiny "$src/models/tiny-classifier.json"
  squeezenet "$shared/models/squeezenet/SqueezeNet_fp16.onnx"
  mnist "$shared/models/mnist/mnist.onnx"
  ultraface "$shared/models/ultraface/version-RFB-320_simplified.onnx"
  yunet "$shared/models/yunet/yunet_n_320_320.onnx"
  blazeface "$cache/mediapipe-0.10.21/face_detection_short_range.tflite"
)

# json_str S: S as a JSON string.
json_str() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }

# compare CPU.safetensors ANE.safetensors BOUND: one JSON object per output.
compare() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, struct, sys

def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in head.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = struct.unpack("<%de" % ((b - a) // 2), data[a:b])
    return out

cpu, ane, bound = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
res = []
for name, ref in cpu.items():
    got = ane.get(name)
    if got is None or len(got) != len(ref):
        res.append({"output": name, "error": "missing or wrong size on the ANE"})
        continue
    diff = max((abs(x - y) if x == x and y == y else float("inf")) for x, y in zip(got, ref))
    mag = max(abs(y) for y in ref if y == y and abs(y) != float("inf"))
    rel = diff / max(mag, 2.0 ** -14)
    res.append({"output": name, "max_abs_diff": diff, "cpu_max_abs": mag,
                "relative": rel, "within_bound": rel <= bound})
print(json.dumps(res))
PY
}

# median_ms BENCH_JSON_LINE
median_ms() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])["median_ms"])' "$1" 2>/dev/null || echo null; }

entries=()
i=0
while (( i < ${#models[@]} )); do
  name=${models[i]} model=${models[i + 1]}
  i=$((i + 2))
  say "$name"
  if [[ ! -f $model ]]; then
    entries+=("{\"model\": \"$name\", \"status\": \"not run\", \"reason\": $(json_str "missing $model")}")
    continue
  fi
  if [[ $model == *.onnx ]]; then
    if ! "$af" import "$model" -o "$tmp/$name.json" >>"$log" 2>&1; then
      entries+=("{\"model\": \"$name\", \"status\": \"not run\", \"reason\": \"aneforge import failed\"}")
      continue
    fi
    model=$tmp/$name.json
  fi
  "$af" export --ane "$tmp/$name-ane" "$model" >>"$log" 2>&1
  programs=$(grep -c '"kind" : "program"' "$tmp/$name-ane/plan.json" 2>/dev/null || echo 0)

  # the ANE run: self-check off, every region's route logged
  G_MESSAGES_DEBUG=all "$af" run "$model" --backend ane --check-every -1 --seed 1 \
    --save-outputs "$tmp/$name-ane.safetensors" >"$tmp/$name-ane.log" 2>&1
  ane_rc=$?
  cat "$tmp/$name-ane.log" >>"$log"
  routes=$(python3 - "$tmp/$name-ane.log" <<'PY'
import json, re, sys
seen = {}
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"ANE: (region-\d+): e5rt accepted", line)
    if m:
        seen[m.group(1)] = {"program": m.group(1), "e5rt": "accepted"}
    m = re.search(r"ANE: (region-\d+): e5rt refused \((.*)\); trying Core ML", line)
    if m:
        seen[m.group(1)] = {"program": m.group(1), "e5rt": "rejected", "e5rt_error": m.group(2)}
print(json.dumps(list(seen.values())))
PY
)
  "$af" run "$model" --backend cpu --seed 1 --save-outputs "$tmp/$name-cpu.safetensors" >>"$log" 2>&1
  cpu_rc=$?
  if (( ane_rc != 0 || cpu_rc != 0 )); then
    err=$(tail -1 "$tmp/$name-ane.log")
    entries+=("{\"model\": \"$name\", \"status\": \"failed\", \"programs_per_frame\": $programs, \"programs\": $routes, \"ane_exit\": $ane_rc, \"cpu_exit\": $cpu_rc, \"error\": $(json_str "$err")}")
    continue
  fi
  ane_bench=$("$af" bench "$model" --backend ane --check-every -1 --seed 1 2>>"$log" | tail -1)
  cpu_bench=$("$af" bench "$model" --backend cpu --seed 1 2>>"$log" | tail -1)
  # the self-check's bound, 8 D u with D the model's op count as bench reports it
  ops=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["ops"])' "$cpu_bench" 2>/dev/null || echo 0)
  bound=$(python3 -c "print(8 * max($ops, 1) / 2048)")
  diffs=$(compare "$tmp/$name-cpu.safetensors" "$tmp/$name-ane.safetensors" "$bound")
  entries+=("{\"model\": \"$name\", \"status\": \"ran\", \"programs_per_frame\": $programs, \"programs\": $routes, \"self_check_bound\": $bound, \"outputs\": $diffs, \"p50_ms\": {\"ane\": $(median_ms "$ane_bench"), \"cpu\": $(median_ms "$cpu_bench")}}")
done

{
  echo "{"
  echo "  \"format\": \"aneforge-ane-verification\", \"version\": 1,"
  echo "  \"chip\": $(json_str "$chip"), \"date\": \"$day\","
  echo "  \"macos\": $(json_str "$(sw_vers -productVersion 2>/dev/null)"),"
  echo "  \"commit\": $(json_str "$(git -C "$src" rev-parse HEAD 2>/dev/null)"),"
  echo "  \"note\": \"written by tools/mac-verify.sh; models not run say why\","
  echo "  \"models\": ["
  for ((k = 0; k < ${#entries[@]}; k++)); do
    sep=,
    (( k == ${#entries[@]} - 1 )) && sep=
    echo "    ${entries[k]}$sep"
  done
  echo "  ]"
  echo "}"
} >"$out"
python3 -m json.tool "$out" >/dev/null || say "warning: $out is not valid JSON"
say "wrote $out (log: $log)"
