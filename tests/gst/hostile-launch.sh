#!/bin/sh
# hostile-launch.sh — damaged files through gst-launch-1.0 ... decodebin !
# aneforge ! fakesink: the command ends (EOS, or an error from the demuxer
# or decoder with its message) and never crashes, and no error comes from
# aneforge. The files are made here from ../shared/media/vtest.avi. (The
# zeroed header is here and not in test-hostile: avidemux of Debian 12's
# gst-plugins-good, run in a process that already ran another AVI pipeline,
# sometimes never posts its error for it; seen with identity in place of
# aneforge too. Each gst-launch is a fresh process.)
set -u
root=${AF_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
shared=${AF_SHARED:-$root/../shared}
src="$shared/media/vtest.avi"
[ -f "$src" ] || { echo "hostile-launch.sh: missing $src" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model="$root/models/tiny-classifier.json"

head -c 1500001 "$src" >"$tmp/truncated.avi"           # cut mid-frame, no index
cp "$src" "$tmp/flipped.avi"                              # 32 bytes flipped, fixed offsets
for off in 20011 90001 150007 222223 300007 377777 450001 512345 600011 650021 700001 777767 \
  800011 850009 900001 950003 1000003 1050011 1100009 1150001 1200007 1250003 1300021 1350011 \
  1400017 1450001 8000009 8050003 8100001 8120003 8125003 8130001; do
  printf '\377' | dd of="$tmp/flipped.avi" bs=1 seek="$off" conv=notrunc 2>/dev/null
done
cp "$src" "$tmp/zeroed.avi"                               # the header list zeroed
dd if=/dev/zero of="$tmp/zeroed.avi" bs=1 seek=12 count=244 conv=notrunc 2>/dev/null

fail=0
for f in truncated flipped zeroed; do
  timeout 120 gst-launch-1.0 filesrc location="$tmp/$f.avi" ! decodebin ! identity eos-after=150 \
    ! aneforge name=af mode=offline threads=1 model="$model" ! fakesink >"$tmp/$f.log" 2>&1
  rc=$?
  err=$(grep -m1 '^ERROR: from element' "$tmp/$f.log" || true)
  if [ "$rc" -ge 128 ] || [ "$rc" -gt 1 ]; then
    echo "not ok: $f.avi: gst-launch exited $rc (crash?)"; tail -5 "$tmp/$f.log"; fail=1
  elif [ "$rc" = 1 ] && [ -z "$err" ]; then
    echo "not ok: $f.avi: failed without an element error"; tail -5 "$tmp/$f.log"; fail=1
  elif printf '%s' "$err" | grep -q 'GstAneforge:af'; then
    echo "not ok: $f.avi: error from aneforge: $err"; fail=1
  else
    echo "ok: $f.avi: exit $rc${err:+, $err}"
  fi
done
exit $fail
