# common.sh — sourced by the pipeline scripts.

# af_print_results LOG EXPECTED: prints the aneforge messages of a
# `gst-launch-1.0 -m` log, one line per frame (pts, latency, best class and
# score when the model classifies, else the raw structure). Fails when there
# are none, or when EXPECTED > 0 and their number differs.
af_print_results () {
  lines=$(sed -n \
    -e 's/.*(element): aneforge, pts=(guint64)\([0-9]*\),.*latency-ms=(double)\([0-9.e+-]*\),.*labels=(string){ \("\([^"\\]\|\\.\)*"\|[^,]*\),.*scores=(double){ \([0-9.e+-]*\),.*/pts=\1 latency-ms=\2 top=\3 score=\5/p;t' \
    -e 's/.*(element): \(aneforge, .*\)/\1/p' "$1" |
    sed -e '/^pts=/{s/\\\(.\)/\1/g;s/top="\([^"]*\)"/top=\1/;s/latency-ms=\([0-9]*\.[0-9][0-9][0-9]\)[0-9]*/latency-ms=\1/}')
  count=$(printf '%s\n' "$lines" | grep -c . || true)
  printf '%s\n' "$lines"
  if [ "$count" -eq 0 ]; then
    echo "no aneforge messages" >&2
    return 1
  fi
  if [ "$2" -gt 0 ] && [ "$count" -ne "$2" ]; then
    echo "expected $2 aneforge messages, got $count" >&2
    return 1
  fi
  echo "$count frames"
}

# af_setup ROOT: the build directory ($AF_BUILD_ROOT, default ROOT/build),
# the shared folder ($AF_SHARED, default ROOT/../shared) and the plugin path
# ($GST_PLUGIN_PATH, default the build's gst/), exported for gst-launch.
af_setup () {
  af_build=${AF_BUILD_ROOT:-$1/build}
  af_shared=${AF_SHARED:-$1/../shared}
  export GST_PLUGIN_PATH="${GST_PLUGIN_PATH:-$af_build/gst}"
}

# af_face_model: sets af_model to a face detector graph in
# $af_build/models, importing it on first use (under a lock, so concurrent
# scripts share one import): MediaPipe BlazeFace short-range (from PyPI's
# mediapipe wheel, cached in ~/.cache/aneforge by tools/bootstrap.sh; decode
# "blazeface") when present, else UltraFace RFB-320 from $af_shared/models
# (decode "ssd"). Sets af_face_kind to "blazeface" or "ultraface". Needs
# af_setup first.
af_face_model () {
  af_models="$af_build/models"
  mkdir -p "$af_models"
  af_tflite="${AF_CACHE:-$HOME/.cache/aneforge}/mediapipe-0.10.21/face_detection_short_range.tflite"
  if [ -f "$af_tflite" ]; then
    af_face_kind=blazeface
    # input [1,128,128,3] RGB in [-1, 1]: x * 2/255 - 1
    [ -f "$af_models/blazeface-labels.txt" ] || echo face >"$af_models/blazeface-labels.txt"
    set -- "$af_tflite" --rgb --scale 0.00784313725 --bias -1 --decode blazeface \
      --labels "$af_models/blazeface-labels.txt"
  else
    af_face_kind=ultraface
    # input 320x240 RGB, (x - 127) / 128
    set -- "$af_shared/models/ultraface/version-RFB-320_simplified.onnx" --rgb \
      --scale 0.0078125 --bias -0.9921875 --decode ssd \
      --labels "$af_shared/models/ultraface/voc-model-labels.txt"
  fi
  af_out="$af_models/$af_face_kind.json"
  # re-import when missing or older than the aneforge tool
  AF_TOOL="$af_build/tools/aneforge" flock "$af_models/.import.lock" sh -c '
    af_out=$1; shift
    [ -f "$af_out" ] && [ "$af_out" -nt "$AF_TOOL" ] && exit 0
    "$AF_TOOL" import "$@" -o "$af_out" >/dev/null' sh "$af_out" "$@" || return 1
  af_model=$af_out
}

# af_now: seconds since the epoch, with nanoseconds.
af_now () {
  date +%s.%N
}

# af_summary JSONL START END: one line about a `results` file of the
# aneforge element: frames, frames per second between START and END (af_now),
# frames with detections and detections.
af_summary () {
  af_frames=$(grep -c . "$1" || true)
  af_with=$(grep -c '"box"' "$1" || true)
  af_total=$(grep -o '"box"' "$1" | wc -l)
  awk -v f="$af_frames" -v s="$2" -v e="$3" -v w="$af_with" -v t="$af_total" 'BEGIN {
    d = e - s; fps = d > 0 ? f / d : 0
    printf "%d frames, %.1f fps, %d frames with detections, %d detections\n", f, fps, w, t }'
}
