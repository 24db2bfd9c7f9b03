#!/bin/sh
# format.sh — every C file of the project is formatted by .clang-format
# (fix with: clang-format -i $(git ls-files '*.c' '*.h')).
cd "${AF_SOURCE_ROOT:-$(dirname "$0")/../..}" || exit 1
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src gst tools tests -name '*.[ch]')
bad=0
for f in $files; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f"
    bad=1
  fi
done
exit $bad
