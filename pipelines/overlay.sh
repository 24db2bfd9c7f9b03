#!/bin/sh
# overlay.sh [MODEL] [SOURCE] [OUTPUT] [NUM_BUFFERS] [WIDTH]
#
# Runs SOURCE through aneforge (MODEL, default models/tiny-classifier.json)
# and draws the results onto the video with aneforgeoverlay:
#   SOURCE ! videoconvert ! videoscale ! aneforge ! videoconvert ! aneforgeoverlay ! OUTPUT
# SOURCE is a videotestsrc pattern name (default: red) or a file: a still
# image (jpg, png) or a video (anything decodebin reads). OUTPUT is
#   - "fakesink" (default): just run it (a smoke test);
#   - "display": show it in a window (autovideosink);
#   - a file ending in .png: the overlaid frame NUM_BUFFERS-1 (the last one
#     run) saved with pngenc.
# NUM_BUFFERS (default 10) limits the frames; WIDTH (default 640) is the
# width the video is scaled to before inference and drawing, so the text
# is drawn at the output resolution (videotestsrc: WIDTH x 3/4 WIDTH). The plugin is found through
# GST_PLUGIN_PATH (default: build/gst of this checkout).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-$root/models/tiny-classifier.json}
source=${2:-red}
output=${3:-fakesink}
n=${4:-10}
width=${5:-640}
export GST_PLUGIN_PATH="${GST_PLUGIN_PATH:-$root/build/gst}"

case "$source" in
  *.jpg|*.jpeg|*.JPG|*.png|*.PNG)
    # a still: decode once, repeat it as a video
    src="filesrc location=\"$source\" ! decodebin ! imagefreeze num-buffers=$n" ;;
  */*|*.*)
    src="filesrc location=\"$source\" ! decodebin ! identity eos-after=$n" ;;
  *)
    src="videotestsrc num-buffers=$n pattern=$source ! video/x-raw,width=$width,height=$((width * 3 / 4))" ;;
esac
scale="videoconvert ! videoscale ! video/x-raw,width=$width,pixel-aspect-ratio=1/1"
draw="aneforge model=\"$model\" ! videoconvert ! aneforgeoverlay ! videoconvert"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case "$output" in
  fakesink) sink="fakesink" ;;
  display) sink="autovideosink" ;;
  *.png) sink="pngenc snapshot=false ! multifilesink location=\"$tmp/%05d.png\"" ;;
  *) echo "overlay.sh: unknown OUTPUT $output" >&2; exit 2 ;;
esac
if ! eval gst-launch-1.0 -q "$src" ! "$scale" ! "$draw" ! "$sink" >"$tmp/log" 2>&1; then
  cat "$tmp/log" >&2
  echo "overlay.sh: pipeline failed" >&2
  exit 1
fi
case "$output" in
  *.png)
    last=$(ls "$tmp"/*.png 2>/dev/null | tail -1)
    [ -n "$last" ] || { echo "overlay.sh: no frame written" >&2; exit 1; }
    cp "$last" "$output"
    echo "overlay.sh: wrote $output" ;;
esac
