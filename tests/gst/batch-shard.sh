#!/bin/sh
# batch-shard.sh — pipelines/batch.sh --shard over 4 shards with GNU parallel
# gives, file for file and byte for byte, what one unsharded run gives; and a
# run resumes: finished files are skipped, a partial one is redone.
#
# The clips (made here, not committed): the first 12 frames of
# ../shared/media/vtest.avi and 5-frame clips of four photos with and without
# faces (face.jpg, person.jpg, parrot.jpg, dog.jpg), MJPEG in AVI.
set -eu
root=${AF_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
shared=${AF_SHARED:-$root/../shared}
command -v parallel >/dev/null || { echo "batch-shard.sh: GNU parallel missing (apt-get install parallel)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
clips="$tmp/clips"
mkdir -p "$clips"

for f in vtest.avi face.jpg person.jpg parrot.jpg dog.jpg; do
  [ -f "$shared/media/$f" ] || { echo "batch-shard.sh: missing $shared/media/$f" >&2; exit 1; }
done
gst-launch-1.0 -q filesrc location="$shared/media/vtest.avi" ! decodebin ! identity eos-after=12 \
  ! videoconvert ! jpegenc ! avimux ! filesink location="$clips/street.avi"
for f in face.jpg person.jpg parrot.jpg dog.jpg; do
  gst-launch-1.0 -q filesrc location="$shared/media/$f" ! decodebin ! videoconvert \
    ! imagefreeze num-buffers=5 ! video/x-raw,framerate=10/1 ! jpegenc ! avimux \
    ! filesink location="$clips/${f%.*}.avi"
done
echo "not a video" >"$clips/notes.txt"

batch="$root/pipelines/batch.sh"
fail () { echo "FAIL: $*" >&2; exit 1; }

# one run over everything
sh "$batch" --no-timing "$clips" "$tmp/single" >"$tmp/single.log"
cat "$tmp/single.log"
[ "$(ls "$tmp/single" | wc -l)" -eq 5 ] || fail "single run: expected 5 results"
grep -q '"box"' "$tmp/single/face.jsonl" || fail "no face found in face.avi"

# four shards in parallel, two at a time
parallel -j 2 --halt now,fail=1 sh "$batch" --no-timing --shard {}/4 "$clips" "$tmp/sharded" \
  ::: 0 1 2 3 >"$tmp/sharded.log"
cat "$tmp/sharded.log"
# every file done by exactly one shard
[ "$(grep -c -- '-> ' "$tmp/sharded.log")" -eq 5 ] || fail "expected 5 files over the shards"
(cd "$tmp/single" && ls) >"$tmp/a"
(cd "$tmp/sharded" && ls) >"$tmp/b"
cmp "$tmp/a" "$tmp/b" || fail "the shards wrote other files than the single run"
for f in $(cat "$tmp/a"); do
  cmp "$tmp/single/$f" "$tmp/sharded/$f" || fail "$f differs between the single and the sharded run"
done
echo "ok: the union of 4 shards equals the single run byte for byte ($(cat "$tmp/a" | wc -l) files)"

# resume: a finished file is skipped (left untouched), a partial one redone
cp "$tmp/sharded/street.jsonl" "$tmp/street.ref"
echo '{"frame": 0, "trunc' >"$tmp/sharded/face.jsonl.part"
rm "$tmp/sharded/face.jsonl"
echo garbage >"$tmp/sharded/dog.jsonl" # a finished file: kept as it is
sh "$batch" --no-timing "$clips" "$tmp/sharded" >"$tmp/resume.log"
cat "$tmp/resume.log"
[ "$(grep -c 'done, skipped' "$tmp/resume.log")" -eq 4 ] || fail "expected 4 files skipped"
grep -q '^face.avi: .*-> ' "$tmp/resume.log" || fail "face.avi not redone"
cmp "$tmp/single/face.jsonl" "$tmp/sharded/face.jsonl" || fail "the redone face.jsonl differs"
[ "$(cat "$tmp/sharded/dog.jsonl")" = garbage ] || fail "a finished file was rewritten"
[ ! -e "$tmp/sharded/face.jsonl.part" ] || fail "a .part file was left"
cmp "$tmp/street.ref" "$tmp/sharded/street.jsonl" || fail "street.jsonl changed"

# a bad shard is refused
if sh "$batch" --shard 4/4 "$clips" "$tmp/x" 2>"$tmp/err"; then fail "--shard 4/4 accepted"; fi
grep -q 'I/N with 0 <= I < N' "$tmp/err" || fail "no clear message for --shard 4/4"
echo "ok: resume skipped 4 finished files and redid the partial one; --shard 4/4 refused"
