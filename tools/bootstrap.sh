#!/usr/bin/env bash
# tools/bootstrap.sh [BUILD_DIR] — installs the Debian 12 packages aneforge
# needs (only the missing ones, quietly) and builds into BUILD_DIR (build/).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}

packages=(build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  libglib2.0-dev libjson-glib-dev libgdk-pixbuf-2.0-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav valgrind)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" >"$build/bootstrap-ninja.log" 2>&1 || { tail -40 "$build/bootstrap-ninja.log" >&2; exit 1; }
