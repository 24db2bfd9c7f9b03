#!/bin/sh
# boundary.sh — the library's boundaries (docs/backends.md):
#   the core (src/ outside src/backends/) includes no backend header;
#   tools/ and gst/ include, of the library, only the public header;
#   include/ holds that one header, and it includes no project header.
# The build enforces most of it (aneforge_dep exports include/ only, and a
# backend's headers are found only beside its sources); this catches what
# a path through src/ would let through ("backends/cpu/kernels.h").
cd "${AF_SOURCE_ROOT:-$(dirname "$0")/../..}" || exit 1
bad=0

quoted_includes () { # FILE -> the "..." includes, one a line
  sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"
}

for f in $(find src -name '*.[ch]' ! -path 'src/backends/*'); do
  for h in $(quoted_includes "$f"); do
    case "$h" in
    backends/* | */backends/*) echo "$f: the core includes a backend header: $h"; bad=1 ;;
    esac
  done
done

for f in $(find tools gst -name '*.[ch]'); do
  for h in $(quoted_includes "$f"); do
    [ "$h" = aneforge.h ] || [ -f "$(dirname "$f")/$h" ] ||
      { echo "$f: includes \"$h\", which is neither aneforge.h nor its own"; bad=1; }
  done
done

public=$(find include -type f)
[ "$public" = include/aneforge.h ] || { echo "include/ must hold aneforge.h only: $public"; bad=1; }
for h in $(quoted_includes include/aneforge.h); do
  echo "include/aneforge.h includes a project header: $h"
  bad=1
done
exit $bad
