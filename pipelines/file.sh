#!/bin/sh
# file.sh [MODEL] [NUM_BUFFERS] [FILE]
#
# Decodes a video file (default: ../shared/media/vtest.avi, or
# $AF_SHARED/media/vtest.avi), runs aneforge on its first NUM_BUFFERS frames
# (default 30; 0 = all) and prints one line per frame from the element's bus
# messages. MODEL defaults to models/tiny-classifier.json. The plugin is found
# through GST_PLUGIN_PATH (default: build/gst of this checkout).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-$root/models/tiny-classifier.json}
n=${2:-30}
file=${3:-${AF_SHARED:-$root/../shared}/media/vtest.avi}
export GST_PLUGIN_PATH="${GST_PLUGIN_PATH:-$root/build/gst}"
. "$root/pipelines/common.sh"

eos_after=$n
[ "$n" -gt 0 ] || eos_after=-1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! gst-launch-1.0 -m filesrc location="$file" ! decodebin \
     ! identity eos-after="$eos_after" \
     ! aneforge model="$model" ! fakesink >"$log" 2>&1; then
  cat "$log" >&2
  echo "file.sh: pipeline failed" >&2
  exit 1
fi
af_print_results "$log" 0
