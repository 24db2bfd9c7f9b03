# common.sh — sourced by the pipeline scripts.

# af_print_results LOG EXPECTED: prints the aneforge messages of a
# `gst-launch-1.0 -m` log, one line per frame (pts, latency, best class and
# score when the model classifies, else the raw structure). Fails when there
# are none, or when EXPECTED > 0 and their number differs.
af_print_results () {
  lines=$(sed -n \
    -e 's/.*(element): aneforge, pts=(guint64)\([0-9]*\),.*latency-ms=(double)\([0-9.e+-]*\),.*labels=(string){ \("\([^"\\]\|\\.\)*"\|[^,]*\),.*scores=(double){ \([0-9.e+-]*\),.*/pts=\1 latency-ms=\2 top=\3 score=\5/p;t' \
    -e 's/.*(element): \(aneforge, .*\)/\1/p' "$1" |
    sed -e '/^pts=/{s/\\\(.\)/\1/g;s/top="\([^"]*\)"/top=\1/;s/latency-ms=\([0-9]*\.[0-9][0-9][0-9]\)[0-9]*/latency-ms=\1/}')
  count=$(printf '%s\n' "$lines" | grep -c . || true)
  printf '%s\n' "$lines"
  if [ "$count" -eq 0 ]; then
    echo "no aneforge messages" >&2
    return 1
  fi
  if [ "$2" -gt 0 ] && [ "$count" -ne "$2" ]; then
    echo "expected $2 aneforge messages, got $count" >&2
    return 1
  fi
  echo "$count frames"
}
