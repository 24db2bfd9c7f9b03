#!/bin/sh
# batch.sh DIR OUTDIR [MODEL] [NUM_BUFFERS]
#
# Runs every video file of DIR (.avi .mp4 .mkv .mov .webm .ogv .mpg .mpeg
# .ts .flv, not recursive) through a model:
#   filesrc ! decodebin ! aneforge results=OUTDIR/<name>.jsonl ! fakesink
# writing OUTDIR/<name>.jsonl (one JSON line per frame) and printing one
# progress line per file: frames, frames per second (decode included),
# frames with detections, detections. MODEL defaults to a face detector
# imported on first use into build/models (see common.sh); NUM_BUFFERS
# (default 0 = all) limits the frames of each file. Fails if DIR holds no
# video file or any file fails (the others still run).
#   pipelines/batch.sh /usr/share/doc/opencv-doc/examples/data /tmp/faces
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/pipelines/common.sh"
af_setup "$root"
if [ $# -lt 2 ]; then
  sed -n '2,13s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi
dir=$1
outdir=$2
model=${3:-}
n=${4:-0}
[ -d "$dir" ] || { echo "batch.sh: no such directory: $dir" >&2; exit 1; }
if [ -z "$model" ]; then
  af_face_model
  model=$af_model
fi
eos_after=$n
[ "$n" -gt 0 ] || eos_after=-1
mkdir -p "$outdir"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
files=0
failed=0
for f in "$dir"/*; do
  case "$f" in
    *.avi|*.AVI|*.mp4|*.MP4|*.mkv|*.mov|*.MOV|*.webm|*.ogv|*.mpg|*.mpeg|*.ts|*.flv) ;;
    *) continue ;;
  esac
  [ -f "$f" ] || continue
  files=$((files + 1))
  name=$(basename "$f")
  results="$outdir/${name%.*}.jsonl"
  rm -f "$results"
  start=$(af_now)
  if gst-launch-1.0 -q filesrc location="$f" ! decodebin ! identity eos-after="$eos_after" \
       ! aneforge model="$model" results="$results" ! fakesink >"$log" 2>&1; then
    end=$(af_now)
    echo "$name: $(af_summary "$results" "$start" "$end") -> $results"
  else
    failed=$((failed + 1))
    echo "$name: FAILED" >&2
    tail -5 "$log" >&2
  fi
done
[ "$files" -gt 0 ] || { echo "batch.sh: no video file in $dir" >&2; exit 1; }
echo "batch.sh: $files file(s), $failed failed"
[ "$failed" -eq 0 ]
