#!/bin/sh
# tee-record.sh [SOURCE] [RECORD] [MODEL] [NUM_BUFFERS] [SINK]
#
# Records the raw video and shows it annotated, from one source:
#   SOURCE ! tee name=t
#     t. ! queue ! videoconvert ! jpegenc ! avimux ! filesink location=RECORD
#     t. ! queue ! aneforge ! videoconvert ! aneforgeoverlay ! videoconvert ! SINK
# SOURCE is a video file (anything decodebin reads) or a videotestsrc
# pattern name (default: ../shared/media/vtest.avi). RECORD (default
# build/demo/record.avi) receives the unannotated frames as MJPEG AVI.
# MODEL defaults to a face detector imported on first use into build/models
# (see common.sh). NUM_BUFFERS (default 0 = all; a pattern: 100) limits the
# frames. SINK is autovideosink (a window) by default; fakesink runs it
# headless (the smoke test does).
#   pipelines/tee-record.sh /usr/share/doc/opencv-doc/examples/data/Megamind.avi /tmp/raw.avi
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/pipelines/common.sh"
af_setup "$root"
source=${1:-$af_shared/media/vtest.avi}
record=${2:-$af_build/demo/record.avi}
model=${3:-}
n=${4:-0}
sink=${5:-autovideosink}
if [ -z "$model" ]; then
  af_face_model
  model=$af_model
fi
case "$source" in
  */*|*.*)
    [ -f "$source" ] || { echo "tee-record.sh: no such file: $source" >&2; exit 1; }
    eos_after=$n
    [ "$n" -gt 0 ] || eos_after=-1
    set -- filesrc location="$source" ! decodebin ! identity eos-after="$eos_after" ;;
  *)
    [ "$n" -gt 0 ] || n=100
    set -- videotestsrc num-buffers="$n" pattern="$source" ! video/x-raw,width=640,height=480 ;;
esac
case "$sink" in
  autovideosink|fakesink|ximagesink|xvimagesink|waylandsink|glimagesink) ;;
  *) echo "tee-record.sh: unknown SINK $sink" >&2; exit 2 ;;
esac
mkdir -p "$(dirname "$record")"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! gst-launch-1.0 -q "$@" ! tee name=t \
     t. ! queue ! videoconvert ! jpegenc ! avimux ! filesink location="$record" \
     t. ! queue ! aneforge model="$model" ! videoconvert ! aneforgeoverlay ! videoconvert \
     ! "$sink" >"$log" 2>&1; then
  cat "$log" >&2
  echo "tee-record.sh: pipeline failed" >&2
  exit 1
fi
[ -s "$record" ] || { echo "tee-record.sh: nothing recorded to $record" >&2; exit 1; }
echo "tee-record.sh: recorded $record ($(wc -c <"$record") bytes)"
