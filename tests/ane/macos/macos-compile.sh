#!/bin/sh
# macos-compile.sh SRC_ROOT — compiles every C file of src/backends/ane/macos/
# for Apple silicon with Debian's clang, no SDK (the files declare what they
# use: decls.h), and checks each object (TAP):
#   - clang --target=arm64-apple-macos14 -ffreestanding -std=c11 -Wall -Wextra -Werror -c
#   - a Mach-O 64-bit object (magic 0xfeedfacf) for arm64 (cputype 0x0100000c)
#   - its undefined symbols include the ones the route needs (dlopen, dlsym,
#     objc_msgSend, ...) and nothing outside the allowed list (no SDK or
#     libc function the file did not mean to use)
#   - it defines the device.h functions of its route
# This shows the files compile and link against the names they declare;
# whether those names behave as declared on macOS needs a Mac.
set -u
src=${1:?usage: macos-compile.sh SRC_ROOT}
dir=$src/src/backends/ane/macos
clang=${CLANG:-clang}
nm=${LLVM_NM:-}
if [ -z "$nm" ]; then
  for c in llvm-nm llvm-nm-19 llvm-nm-18 llvm-nm-17 llvm-nm-16 llvm-nm-15 llvm-nm-14; do
    if command -v "$c" >/dev/null 2>&1; then nm=$c; break; fi
  done
fi
if ! command -v "$clang" >/dev/null 2>&1 || [ -z "$nm" ]; then
  echo "1..0 # SKIP needs clang and llvm-nm (Debian: clang, llvm)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# What each file must import and define.
needs_e5rt="_dlopen _dlsym _dlerror _snprintf _calloc _free"
defines_e5rt="_af_e5rt_open _af_e5rt_close _af_e5rt_program_new _af_e5rt_program_input _af_e5rt_program_output _af_e5rt_program_execute _af_e5rt_program_free"
needs_coreml="_objc_msgSend _objc_getClass _sel_registerName _objc_autoreleasePoolPush _objc_autoreleasePoolPop _calloc _free _snprintf"
defines_coreml="_af_coreml_new _af_coreml_predict _af_coreml_free"
allowed="_dlopen _dlsym _dlerror _dlclose _snprintf _calloc _free _memcpy _memset _strlen
  _objc_msgSend _objc_getClass _sel_registerName _objc_autoreleasePoolPush
  _objc_autoreleasePoolPop ___stack_chk_fail ___stack_chk_guard"

n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }

# le32 FILE OFFSET: the little-endian 32-bit word at OFFSET, as 0x%08x.
le32() {
  od -An -tx1 -j "$2" -N4 "$1" | awk '{ printf "0x%s%s%s%s\n", $4, $3, $2, $1 }'
}

files=$(ls "$dir"/*.c 2>/dev/null)
[ -n "$files" ] || { echo "1..0 # SKIP no C file in $dir"; exit 1; }
for f in $files; do
  base=$(basename "$f" .c)
  obj=$tmp/$base.o
  if "$clang" --target=arm64-apple-macos14 -ffreestanding -std=c11 -Wall -Wextra -Werror \
       -c "$f" -o "$obj" 2>"$tmp/err"; then
    ok "$base.c compiles for arm64-apple-macos14 (-ffreestanding -Wall -Wextra -Werror)"
  else
    sed 's/^/# /' "$tmp/err"
    notok "$base.c compiles for arm64-apple-macos14"
    continue
  fi
  magic=$(le32 "$obj" 0)
  cpu=$(le32 "$obj" 4)
  if [ "$magic" = 0xfeedfacf ] && [ "$cpu" = 0x0100000c ]; then
    ok "$base.o is Mach-O 64 ($magic) arm64 ($cpu)"
  else
    notok "$base.o is Mach-O 64 arm64: magic $magic cputype $cpu"
  fi
  undef=$("$nm" -u "$obj" | awk '{ print $NF }' | sort -u)
  defined=$("$nm" -g --defined-only "$obj" | awk '{ print $NF }' | sort -u)
  echo "# $base.o imports: $(echo $undef)"
  case $base in
    e5rt) needs=$needs_e5rt; defines=$defines_e5rt ;;
    coreml) needs=$needs_coreml; defines=$defines_coreml ;;
    *) needs=""; defines="" ;;
  esac
  missing=""
  for s in $needs; do echo "$undef" | grep -qx "$s" || missing="$missing $s"; done
  [ -z "$missing" ] && ok "$base.o imports$(echo " $needs")" \
    || notok "$base.o does not import:$missing"
  extra=""
  for s in $undef; do
    echo " $(echo $allowed) " | grep -q " $s " || extra="$extra $s"
  done
  [ -z "$extra" ] && ok "$base.o imports nothing outside the declared list" \
    || notok "$base.o imports undeclared:$extra"
  missing=""
  for s in $defines; do echo "$defined" | grep -qx "$s" || missing="$missing $s"; done
  [ -z "$missing" ] && ok "$base.o defines its device.h functions" \
    || notok "$base.o does not define:$missing"
done
echo "1..$n"
exit $fail
