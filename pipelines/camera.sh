#!/bin/sh
# camera.sh [DEVICE] [MODEL]
#
# Live inference on a camera, shown in a window:
#   v4l2src device=DEVICE ! videoconvert ! aneforge mode=live
#     ! videoconvert ! aneforgeoverlay ! videoconvert ! autovideosink
# DEVICE defaults to /dev/video0. With no camera there it says so and exits
# 0 (nothing to do on a headless machine). MODEL defaults to a face detector
# imported on first use into build/models (see common.sh). mode=live (drop
# frames rather than fall behind) is used when the element has that
# property. Stop with Ctrl-C.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/pipelines/common.sh"
af_setup "$root"
device=${1:-/dev/video0}
model=${2:-}
if [ ! -e "$device" ]; then
  echo "camera.sh: no camera at $device; nothing to do (try pipelines/annotate.sh on a video file)"
  exit 0
fi
if [ -z "$model" ]; then
  af_face_model
  model=$af_model
fi
mode=""
if gst-inspect-1.0 aneforge 2>/dev/null | grep -q '^  mode '; then
  mode="mode=live"
fi
exec gst-launch-1.0 -e v4l2src device="$device" ! videoconvert \
  ! aneforge model="$model" $mode ! videoconvert ! aneforgeoverlay ! videoconvert \
  ! autovideosink sync=false
