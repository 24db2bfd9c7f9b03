#!/bin/sh
# classify.sh [NUM_BUFFERS] — image classification of a real video (the
# project's first demo; pipelines/demo.sh is now face detection).
#
# Installs what is missing, builds, imports the real SqueezeNet 1.1 (fp16,
# ImageNet; ../shared/models/squeezenet) into a JSON graph with its BGR image
# port and labels, and runs a real video (../shared/media/vtest.avi, 768x576,
# decoded by decodebin) through it on the CPU backend:
#   filesrc ! decodebin ! aneforge model=squeezenet.json ! fakesink
# printing one line per frame (pts, latency, best class, score) and a summary.
# NUM_BUFFERS (default 100; 0 = the whole video) limits the frames.
# Writes build/models/squeezenet.json and build/models/classify.log.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${AF_SHARED:-$root/../shared}
n=${1:-100}
"$root/tools/bootstrap.sh" build
models="$root/build/models"
mkdir -p "$models"
"$root/build/tools/aneforge" import "$shared/models/squeezenet/SqueezeNet_fp16.onnx" \
  -o "$models/squeezenet.json" --bgr --classify --labels "$shared/models/squeezenet/Labels.txt" \
  >/dev/null
"$root/build/tools/aneforge" inspect "$models/squeezenet.json" | head -4
start=$(date +%s.%N)
GST_PLUGIN_PATH="$root/build/gst" "$root/pipelines/file.sh" "$models/squeezenet.json" "$n" \
  "$shared/media/vtest.avi" | tee "$models/classify.log" | tail -5
end=$(date +%s.%N)
frames=$(grep -c '^pts=' "$models/classify.log" || true)
echo "$frames frames of vtest.avi through SqueezeNet 1.1 in $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }') s (decode included)"
echo "most frequent top-1 labels:"
sed -n 's/.* top=\(.*\) score=.*/\1/p' "$models/classify.log" | sort | uniq -c | sort -rn | head -3
