#!/usr/bin/env bash
# tools/bootstrap.sh [BUILD_DIR] — installs the Debian 12 packages aneforge
# needs (only the missing ones, quietly) and builds into BUILD_DIR (build/).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}

packages=(build-essential meson ninja-build pkg-config clang clang-format libclang-rt-14-dev
  libglib2.0-dev libjson-glib-dev libgdk-pixbuf-2.0-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav valgrind
  libonnx-testdata libcairo2-dev libpango1.0-dev
  gcc-aarch64-linux-gnu qemu-user # tests/kernels/run-neon.sh: the NEON kernel under qemu
  opencv-doc) # opencv-doc: Megamind.avi (faces) for pipelines/demo.sh
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null || missing+=(npm) # (a machine may have Node.js from elsewhere)
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

# Models that come from npm packages (their licenses allow it; never committed):
# BlazeFace short-range (Apache-2.0) inside @mediapipe/face_detection.
npm_prefix=${AF_NPM_PREFIX:-$HOME/.cache/aneforge/npm}
if command -v npm >/dev/null &&
  [ ! -f "$npm_prefix/node_modules/@mediapipe/face_detection/face_detection_short_range.tflite" ]; then
  npm install --no-save --silent --prefix "$npm_prefix" @mediapipe/face_detection@0.4.1657300184 \
    >/dev/null 2>&1 || echo "bootstrap: npm install @mediapipe/face_detection failed (BlazeFace tests will skip)" >&2
fi
