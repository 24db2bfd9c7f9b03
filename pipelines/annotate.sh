#!/bin/sh
# annotate.sh IN OUT [MODEL] [NUM_BUFFERS]
#
# Draws a model's results onto a video file and saves it as an MJPEG AVI:
#   filesrc ! decodebin ! aneforge results=OUT.jsonl ! videoconvert
#     ! aneforgeoverlay ! videoconvert ! jpegenc ! avimux ! filesink
# IN is anything decodebin reads; OUT the annotated .avi; the per-frame
# results also go, as JSON lines, to OUT with its extension replaced by
# .jsonl. MODEL defaults to a face detector imported on first use into
# build/models (BlazeFace from the mediapipe wheel, else UltraFace from ../shared; see
# common.sh). NUM_BUFFERS (default 0 = all) limits the frames. Prints a
# summary: frames, fps (decode and encode included), detections.
#   pipelines/annotate.sh /usr/share/doc/opencv-doc/examples/data/Megamind.avi /tmp/mm.avi
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/pipelines/common.sh"
af_setup "$root"
if [ $# -lt 2 ]; then
  sed -n '2,13s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi
in=$1
out=$2
model=${3:-}
n=${4:-0}
[ -f "$in" ] || { echo "annotate.sh: no such file: $in" >&2; exit 1; }
if [ -z "$model" ]; then
  af_face_model
  model=$af_model
fi
results=${out%.*}.jsonl
eos_after=$n
[ "$n" -gt 0 ] || eos_after=-1
mkdir -p "$(dirname "$out")"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(af_now)
if ! gst-launch-1.0 -q filesrc location="$in" ! decodebin ! identity eos-after="$eos_after" \
     ! aneforge model="$model" results="$results" ! videoconvert ! aneforgeoverlay \
     ! videoconvert ! jpegenc ! avimux ! filesink location="$out" >"$log" 2>&1; then
  cat "$log" >&2
  echo "annotate.sh: pipeline failed" >&2
  exit 1
fi
end=$(af_now)
[ -s "$out" ] || { echo "annotate.sh: nothing written to $out" >&2; exit 1; }
echo "annotate.sh: $(basename "$in"): $(af_summary "$results" "$start" "$end")"
echo "annotate.sh: wrote $out and $results"
