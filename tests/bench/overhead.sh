#!/usr/bin/env bash
# tests/bench/overhead.sh [FRAMES] [BUILD_DIR] — what the GStreamer element
# costs on top of the model, and what GStreamer's own scale + convert cost.
#
# 1. Imports SqueezeNet 1.1 (as pipelines/demo.sh does) into BUILD_DIR/models.
# 2. Bare model: `aneforge bench MODEL` median (ms).
# 3. Element: filesrc vtest.avi ! decodebin ! aneforge ! fakesink sync=false,
#    median of the per-frame latency-ms the element posts (preprocessing of
#    the 768x576 decoded frame into the 227x227 port + inference), and the
#    ratio element / bare (target <= 1.05); then the same from videotestsrc
#    (no decoder competing for the two cores). At 1 and 2 threads, bare and
#    element alternating AF_OVERHEAD_ROUNDS times (default 5).
# 4. GStreamer's videoscale + videoconvert, 1080p NV12 -> 224x224 RGB, per
#    frame: the pipeline's wall time minus the same pipeline without them.
# BUILD_DIR defaults to build. A benchmark, not a test: figures vary with the
# machine's load; run it on an idle machine and compare medians.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${AF_SHARED:-$root/../shared}
n=${1:-200}
build=${2:-$root/build}
af="$build/tools/aneforge"
models="$build/models"
mkdir -p "$models"
model="$models/squeezenet.json"
[ -f "$model" ] || "$af" import "$shared/models/squeezenet/SqueezeNet_fp16.onnx" -o "$model" \
  --bgr --classify --labels "$shared/models/squeezenet/Labels.txt" >/dev/null
export GST_PLUGIN_PATH="$build/gst"

median () { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# per thread count: 1 leaves the second core to the decoder (the element's own
# cost), 2 shares both cores with it (what a 2-core pipeline sees). This VM's
# speed changes from one minute to the next, so the bare model is timed right
# before each pipeline, ROUNDS times in alternation, and the overhead is the
# median of the rounds' element / bare ratios (each pair timed back to back).
rounds=${AF_OVERHEAD_ROUNDS:-5}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bare_ms () {
  "$af" bench "$model" --threads "$1" --runs 100 | sed -n 's/.*"median_ms": \([0-9.]*\).*/\1/p'
}
elem_ms () { # threads, source description (the rest of the arguments)
  local t=$1
  shift
  gst-launch-1.0 -m "$@" ! aneforge model="$model" threads="$t" mode=offline \
    ! fakesink sync=false >"$log" 2>&1
  grep -o 'latency-ms=(double)[0-9.e+-]*' "$log" | tail -n +6 | sed 's/.*)//' | median
}
for threads in 1 2; do
  for src in decoder test; do
    bares=() elems=()
    for ((r = 0; r < rounds; r++)); do
      bares+=("$(bare_ms "$threads")")
      if [ "$src" = decoder ]; then
        elems+=("$(elem_ms "$threads" filesrc location="$shared/media/vtest.avi" ! decodebin \
          ! identity eos-after="$n")")
      else
        # the same frames from a source that costs next to nothing (no decoder
        # competing for the cores)
        elems+=("$(elem_ms "$threads" videotestsrc num-buffers="$n" pattern=black \
          ! video/x-raw,format=I420,width=768,height=576)")
      fi
    done
    bare=$(printf '%s\n' "${bares[@]}" | median)
    elem=$(printf '%s\n' "${elems[@]}" | median)
    ratios=()
    for ((r = 0; r < rounds; r++)); do
      ratios+=("$(awk -v e="${elems[r]}" -v b="${bares[r]}" 'BEGIN { printf "%.4f", e / b }')")
    done
    ratio=$(printf '%s\n' "${ratios[@]}" | median)
    label="filesrc vtest.avi ! decodebin"
    [ "$src" = test ] && label="no decoder (videotestsrc 768x576 I420)"
    awk -v e="$elem" -v b="$bare" -v q="$ratio" -v t="$threads" -v l="$label" -v bs="${bares[*]}" -v es="${elems[*]}" \
      'function r3(s,   a, n, i, o) { n = split(s, a, " "); o = ""; for (i = 1; i <= n; i++) o = o sprintf("%s%.3f", i > 1 ? " " : "", a[i]); return o }
       BEGIN { printf "threads %d, %s: element %.3f ms, bare %.3f ms (medians), ratio %.3f (overhead %+.1f %%: the median of the rounds\x27 ratios); rounds: bare %s, element %s\n", t, l, e, b, q, (q - 1) * 100, r3(bs), r3(es) }'
  done
done

wall () {
  local t0 t1
  t0=$(date +%s.%N)
  gst-launch-1.0 -q "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
}
frames_gst=300
src="videotestsrc num-buffers=$frames_gst ! video/x-raw,format=NV12,width=1920,height=1080"
with=() ; without=()
for i in 1 2 3; do
  # shellcheck disable=SC2086
  with+=("$(wall $src ! videoscale ! video/x-raw,width=224,height=224 ! videoconvert \
              ! video/x-raw,format=RGB ! fakesink)")
  # shellcheck disable=SC2086
  without+=("$(wall $src ! fakesink)")
done
w=$(printf '%s\n' "${with[@]}" | median)
wo=$(printf '%s\n' "${without[@]}" | median)
awk -v w="$w" -v wo="$wo" -v n="$frames_gst" 'BEGIN {
  printf "gstreamer videoscale+videoconvert 1080p NV12 -> 224x224 RGB: %.3f ms/frame (%.2f s with, %.2f s without, %d frames, median of 3)\n", (w - wo) * 1000 / n, w, wo, n }'
