#!/bin/sh
# demo.sh [NUM_FRAMES] — the first command on a fresh Debian 12 machine:
# face detection on a real video.
#
# 1. tools/bootstrap.sh installs what is missing (Debian packages, among
#    them opencv-doc for the video), builds into build/ ($AF_BUILD_ROOT to
#    use another) and takes MediaPipe's models out of PyPI's mediapipe wheel
#    into ~/.cache/aneforge (once: a second run needs no network).
# 2. Imports MediaPipe's BlazeFace short-range detector (TFLite, 128x128
#    RGB in [-1, 1]) with the "blazeface" decode into build/models/. Without
#    it (PyPI unreachable) it falls back to UltraFace RFB-320 from
#    ../shared/models (decode "ssd") and says so.
# 3. Runs Megamind.avi (opencv-doc; $AF_DEMO_VIDEO to use another; 720x528,
#    270 frames) through
#      filesrc ! decodebin ! aneforge results=megamind.jsonl ! videoconvert
#        ! aneforgeoverlay ! videoconvert ! jpegenc ! avimux ! filesink
#    writing build/demo/megamind-annotated.avi (boxes, scores, keypoints)
#    and build/demo/megamind.jsonl (one JSON line per frame).
# 4. Prints frames/s (whole pipeline, and the model alone from the
#    per-frame latencies), the frames with faces and the faces found, and
#    saves the frame with the most faces as build/demo/megamind-frame.png.
# NUM_FRAMES (default 0 = all) limits the frames.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/pipelines/common.sh"
af_setup "$root"
n=${1:-0}
"$root/tools/bootstrap.sh" "$af_build"

af_face_model
if [ "$af_face_kind" = blazeface ]; then
  echo "demo: model BlazeFace short-range (PyPI mediapipe 0.10.21) -> $af_model"
else
  echo "demo: BlazeFace is not installed (PyPI was unreachable: $af_build/pypi-unreachable);" \
    "falling back to UltraFace RFB-320 from ../shared/models -> $af_model"
fi
"$af_build/tools/aneforge" inspect "$af_model" | sed -n '2,4p'

video=${AF_DEMO_VIDEO:-/usr/share/doc/opencv-doc/examples/data/Megamind.avi}
if [ ! -f "$video" ]; then
  echo "demo: $video is missing (Debian package opencv-doc); using vtest.avi (no faces)"
  video="$af_shared/media/vtest.avi"
fi
out="$af_build/demo"
mkdir -p "$out"
avi="$out/megamind-annotated.avi"
results="$out/megamind.jsonl"
rm -f "$results"
eos_after=$n
[ "$n" -gt 0 ] || eos_after=-1
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
echo "demo: $(basename "$video") -> $avi"
start=$(af_now)
if ! gst-launch-1.0 -q filesrc location="$video" ! decodebin ! identity eos-after="$eos_after" \
     ! aneforge model="$af_model" results="$results" ! videoconvert ! aneforgeoverlay \
     ! videoconvert ! jpegenc ! avimux ! filesink location="$avi" >"$log/log" 2>&1; then
  cat "$log/log" >&2
  echo "demo: pipeline failed" >&2
  exit 1
fi
end=$(af_now)

frames=$(grep -c . "$results" || true)
with=$(grep -c '"box"' "$results" || true)
faces=$(grep -o '"box"' "$results" | wc -l)
awk -v f="$frames" -v s="$start" -v e="$end" 'BEGIN {
  printf "demo: %d frames in %.2f s: %.1f frames/s (decode, inference, drawing, JPEG encode)\n",
         f, e - s, f / (e - s) }'
sed -n 's/.*"latency_ms": \([0-9.]*\).*/\1/p' "$results" | awk '{ t += $1; k++ } END {
  if (k) printf "demo: model alone: %.2f ms per frame on average, %.0f frames/s\n", t / k, 1000 * k / t }'
echo "demo: $with of $frames frames with faces, $faces faces found"
echo "demo: wrote $avi and $results"

# the frame with the most faces (the first of them), scaled to 480 px wide
best=$(awk '{ c = gsub(/"box"/, "&"); if (c > m) { m = c; b = NR - 1 } } END { print m ? b : -1 }' \
  "$results")
if [ "$best" -ge 0 ]; then
  png="$out/megamind-frame.png"
  # multifilesink numbers the buffers from 0; decode a few past the one we want
  gst-launch-1.0 -q filesrc location="$avi" ! avidemux ! jpegdec ! identity eos-after=$((best + 3)) \
    ! videoconvert ! videoscale ! video/x-raw,width=480,pixel-aspect-ratio=1/1 \
    ! pngenc snapshot=false ! multifilesink location="$log/%05d.png" >/dev/null 2>&1 &&
    cp "$log/$(printf %05d "$best").png" "$png" &&
    echo "demo: frame $best (the most faces) saved as $png"
fi
