#!/bin/sh
# batch.sh [--shard I/N] [--no-timing] DIR OUTDIR [MODEL] [NUM_BUFFERS]
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
#   --shard I/N   only the files whose index in the byte-sorted list of DIR's
#                 videos is I modulo N (I from 0): N runs with I = 0..N-1 do
#                 every file exactly once (a Kubernetes Indexed Job, GNU
#                 parallel: docs/batch.md).
#   --no-timing   leave latency_ms out of the results, so that two runs over
#                 the same files write identical bytes.
# Resumable: a file is written as <name>.jsonl.part and renamed when done, so
# an existing <name>.jsonl is skipped, and a .part left by a killed run is
# redone (use the same MODEL and NUM_BUFFERS when resuming).
#   pipelines/batch.sh /usr/share/doc/opencv-doc/examples/data /tmp/faces
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/pipelines/common.sh"
af_setup "$root"
usage () {
  sed -n '2,24s/^# \{0,1\}//p' "$0" >&2
  exit 2
}
shard=0
shards=1
timing=1
while [ $# -gt 0 ]; do
  case "$1" in
    --shard)
      [ $# -ge 2 ] || usage
      shard=${2%/*}
      shards=${2#*/}
      shift 2
      ;;
    --shard=*)
      shard=${1#--shard=}
      shards=${shard#*/}
      shard=${shard%/*}
      shift
      ;;
    --no-timing)
      timing=0
      shift
      ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
case "$shard/$shards" in
  *[!0-9/]* | /* | */ | */*/*) echo "batch.sh: --shard wants I/N with 0 <= I < N, got $shard/$shards" >&2; exit 2 ;;
esac
if [ "$shards" -lt 1 ] || [ "$shard" -ge "$shards" ]; then
  echo "batch.sh: --shard wants I/N with 0 <= I < N, got $shard/$shards" >&2
  exit 2
fi
[ $# -ge 2 ] || usage
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
mine=0
skipped=0
failed=0
# the videos of DIR in byte order, whatever the locale of the run
LC_ALL=C
export LC_ALL
for f in "$dir"/*; do
  case "$f" in
    *.avi|*.AVI|*.mp4|*.MP4|*.mkv|*.mov|*.MOV|*.webm|*.ogv|*.mpg|*.mpeg|*.ts|*.flv) ;;
    *) continue ;;
  esac
  [ -f "$f" ] || continue
  files=$((files + 1))
  [ $(((files - 1) % shards)) -eq "$shard" ] || continue
  mine=$((mine + 1))
  name=$(basename "$f")
  results="$outdir/${name%.*}.jsonl"
  if [ -f "$results" ]; then
    skipped=$((skipped + 1))
    echo "$name: done, skipped -> $results"
    continue
  fi
  part="$results.part"
  rm -f "$part"
  start=$(af_now)
  if gst-launch-1.0 -q filesrc location="$f" ! decodebin ! identity eos-after="$eos_after" \
       ! aneforge model="$model" results="$part" ! fakesink >"$log" 2>&1; then
    end=$(af_now)
    if [ "$timing" = 0 ]; then
      sed 's/"latency_ms": [^,]*, //' "$part" >"$part.tmp" && mv "$part.tmp" "$part"
    fi
    mv "$part" "$results"
    echo "$name: $(af_summary "$results" "$start" "$end") -> $results"
  else
    failed=$((failed + 1))
    echo "$name: FAILED" >&2
    tail -5 "$log" >&2
  fi
done
[ "$files" -gt 0 ] || { echo "batch.sh: no video file in $dir" >&2; exit 1; }
if [ "$shards" -gt 1 ]; then
  echo "batch.sh: shard $shard/$shards: $mine of $files file(s), $skipped skipped, $failed failed"
else
  echo "batch.sh: $files file(s), $skipped skipped, $failed failed"
fi
[ "$failed" -eq 0 ]
