#!/bin/sh
# videotestsrc.sh [MODEL] [NUM_BUFFERS] [PATTERN]
#
# Runs videotestsrc -> aneforge -> fakesink and prints one line per frame
# from the element's "aneforge" bus messages: pts, latency, best class.
# MODEL defaults to models/tiny-classifier.json, NUM_BUFFERS to 30, PATTERN
# (a videotestsrc pattern) to red. The plugin is found through
# GST_PLUGIN_PATH (default: build/gst of this checkout).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-$root/models/tiny-classifier.json}
n=${2:-30}
pattern=${3:-red}
export GST_PLUGIN_PATH="${GST_PLUGIN_PATH:-$root/build/gst}"
. "$root/pipelines/common.sh"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! gst-launch-1.0 -m videotestsrc num-buffers="$n" pattern="$pattern" \
     ! video/x-raw,width=320,height=240 \
     ! aneforge model="$model" ! fakesink >"$log" 2>&1; then
  cat "$log" >&2
  echo "videotestsrc.sh: pipeline failed" >&2
  exit 1
fi
af_print_results "$log" "$n"
