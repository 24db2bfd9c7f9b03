#!/usr/bin/env bash
# tools/bootstrap.sh [--oracles] [BUILD_DIR] — installs the Debian 12
# packages aneforge needs (only the missing ones, quietly), builds into
# BUILD_DIR (build/) and takes MediaPipe's models out of PyPI's mediapipe
# wheel (tools/pyenv.sh --models-only). --oracles (tests/run.sh,
# compare.sh) also installs the Python oracles into BUILD_DIR/venv.
set -eu
cd "$(dirname "$0")/.."
oracles=0
if [ "${1:-}" = --oracles ]; then
  oracles=1
  shift
fi
build=${1:-build}

packages=(build-essential meson ninja-build pkg-config clang clang-format libclang-rt-14-dev
  libglib2.0-dev libjson-glib-dev libgdk-pixbuf-2.0-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav valgrind
  libonnx-testdata libcairo2-dev libpango1.0-dev python3-venv
  protobuf-compiler # tests/ane/test-coreml.sh: protoc --decode against Apple's Model.proto
  gcc-aarch64-linux-gnu qemu-user # tests/kernels/run-neon.sh: the NEON kernel under qemu
  parallel # tests/gst/batch-shard.sh: pipelines/batch.sh --shard under GNU parallel
  opencv-doc) # opencv-doc: Megamind.avi (faces) for pipelines/demo.sh
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
# AF_BOOTSTRAP_AARCH64=1 (tests/run.sh): the arm64 libraries the AArch64
# cross build links (Debian multiarch), for the test stage under qemu-aarch64
if [ "${AF_BOOTSTRAP_AARCH64:-0}" = 1 ]; then
  dpkg --print-foreign-architectures | grep -qx arm64 || $sudo dpkg --add-architecture arm64
  for p in libglib2.0-dev:arm64 libjson-glib-dev:arm64 libgdk-pixbuf-2.0-dev:arm64; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" >"$build/bootstrap-ninja.log" 2>&1 || { tail -40 "$build/bootstrap-ninja.log" >&2; exit 1; }

# MediaPipe's models (BlazeFace for the demo) and, with --oracles, the
# Python oracles of the tests, from PyPI (never committed)
if [ "$oracles" = 1 ]; then
  tools/pyenv.sh "$build"
else
  tools/pyenv.sh --models-only "$build"
fi
