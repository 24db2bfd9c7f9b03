#!/bin/sh
# camera.sh [DEVICE] [MODEL]
#
# Live inference on a camera, shown in a window:
#   v4l2src device=DEVICE ! videoconvert ! aneforge mode=live
#     ! videoconvert ! aneforgeoverlay ! videoconvert ! autovideosink
# DEVICE defaults to /dev/video0. With no camera there it says so and exits
# 0 (nothing to do on a headless machine). MODEL defaults to a face detector
# imported on first use into build/models (see common.sh). mode=live (drop
# frames rather than fall behind). Stop with Ctrl-C.
#
# AF_CAMERA_SOURCE replaces v4l2src with another live source description
# (the smoke test runs "videotestsrc is-live=true num-buffers=N"),
# AF_CAMERA_SINK the window (e.g. fakesink), and AF_CAMERA_RESULTS=FILE
# writes the element's results there, one JSON line per frame.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/pipelines/common.sh"
af_setup "$root"
device=${1:-/dev/video0}
model=${2:-}
source=${AF_CAMERA_SOURCE:-}
if [ -z "$source" ]; then
  if [ ! -e "$device" ]; then
    echo "camera.sh: no camera at $device; nothing to do (try pipelines/annotate.sh on a video file)"
    exit 0
  fi
  source="v4l2src device=$device"
fi
if [ -z "$model" ]; then
  af_face_model
  model=$af_model
fi
results=""
[ -n "${AF_CAMERA_RESULTS:-}" ] && results="results=$AF_CAMERA_RESULTS"
# shellcheck disable=SC2086 # the source and sink are descriptions
exec gst-launch-1.0 -e $source ! videoconvert \
  ! aneforge model="$model" mode=live $results ! videoconvert ! aneforgeoverlay ! videoconvert \
  ! ${AF_CAMERA_SINK:-autovideosink sync=false}
