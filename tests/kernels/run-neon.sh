#!/bin/sh
# run-neon.sh — the AArch64 NEON GEMM kernel (src/backends/cpu/gemm_neon.c)
# against test-neon.c's scalar reference: cross-compiled with
# aarch64-linux-gnu-gcc and run under qemu-aarch64 (natively on an aarch64
# host). Exits 77 (meson's skip) when the tools are missing; install them
# with: apt-get install gcc-aarch64-linux-gnu qemu-user (tools/bootstrap.sh).
src=${AF_SOURCE_ROOT:-$(dirname "$0")/../..}
if [ "$(uname -m)" = aarch64 ]; then
  cc=${CC:-cc} run=""
else
  cc=aarch64-linux-gnu-gcc run=qemu-aarch64
  command -v $cc >/dev/null 2>&1 ||
    { echo "run-neon.sh: no $cc (tools/bootstrap.sh installs gcc-aarch64-linux-gnu)"; exit 1; }
  command -v $run >/dev/null 2>&1 ||
    { echo "run-neon.sh: no $run (tools/bootstrap.sh installs qemu-user)"; exit 1; }
fi

dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
# static: qemu-aarch64 then needs no aarch64 sysroot; -ffp-contract=off keeps
# the reference a multiply then an add; -Werror: the kernel builds cleanly
$cc -O2 -std=c11 -ffp-contract=off -Wall -Wextra -Werror -static \
  -I "$src/src/backends/cpu" "$src/tests/kernels/test-neon.c" "$src/src/backends/cpu/gemm_neon.c" \
  -o "$dir/test-neon" || { echo "run-neon.sh: the cross build failed"; exit 1; }
$run "$dir/test-neon"
