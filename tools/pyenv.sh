#!/usr/bin/env bash
# tools/pyenv.sh [--models-only] [BUILD_DIR]
#
# The Python side of the tests and benchmarks, from PyPI:
# - BUILD_DIR/venv (default build/venv): the oracles pinned in
#   tools/python/requirements.txt (ONNX Runtime, onnx, LiteRT, coremltools,
#   numpy), reinstalled when that file changes;
# - MediaPipe's .tflite models (BlazeFace, hand and pose landmarks, selfie
#   segmentation, ...) taken out of the mediapipe wheel into
#   ${AF_CACHE:-~/.cache/aneforge}/mediapipe-VERSION/, so a second run needs
#   no network. --models-only (pipelines/demo.sh) stops there.
#
# When PyPI cannot be reached, it writes why into BUILD_DIR/pypi-unreachable
# and exits 0: the tests that need an oracle then skip, saying so, and
# tests/run.sh counts them. Any other failure (a pin no longer served, a
# broken wheel) exits 1.
set -eu
cd "$(dirname "$0")/.."
models_only=0
if [ "${1:-}" = --models-only ]; then
  models_only=1
  shift
fi
build=${1:-build}
venv=$build/venv
cache=${AF_CACHE:-$HOME/.cache/aneforge}
mediapipe_version=0.10.21 # the last wheel that ships its .tflite models
models=$cache/mediapipe-$mediapipe_version
marker=$build/pypi-unreachable
req=tools/python/requirements.txt
mkdir -p "$build"

# unreachable MESSAGE: PyPI's index does not answer -> marker, exit 0;
# it answers -> the failure is ours, exit 1
unreachable() {
  if "$venv/bin/python" -m pip index versions pip >/dev/null 2>&1; then
    echo "pyenv: $1" >&2
    exit 1
  fi
  echo "PyPI is unreachable from this machine ($1)" >"$marker"
  echo "pyenv: $(cat "$marker"); the tests that need a Python oracle will skip" >&2
  exit 0
}

python=/usr/bin/python3
[ -x "$python" ] || python=python3
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" || {
    echo "pyenv: $python -m venv failed (Debian: apt-get install python3-venv)" >&2
    exit 1
  }
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)

if [ ! -f "$models/face_detection_short_range.tflite" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "${pip[@]}" download --no-deps -d "$tmp" "mediapipe==$mediapipe_version" >"$tmp/log" 2>&1 ||
    unreachable "pip download mediapipe==$mediapipe_version: $(tail -1 "$tmp/log")"
  mkdir -p "$models.part"
  "$venv/bin/python" - "$tmp"/mediapipe-*.whl "$models.part" <<'EOF'
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith("mediapipe/modules/") and name.endswith(".tflite"):
            with open(os.path.join(out, os.path.basename(name)), "wb") as f:
                f.write(z.read(name))
EOF
  rm -rf "$models"
  mv "$models.part" "$models"
fi
rm -f "$marker"
[ "$models_only" = 1 ] && exit 0

stamp=$venv/aneforge-requirements.txt
if ! cmp -s "$req" "$stamp"; then
  log=$build/pyenv-pip.log
  "${pip[@]}" install --no-deps -r "$req" >"$log" 2>&1 ||
    unreachable "pip install -r $req: $(tail -1 "$log")"
  "$venv/bin/python" -m pip check >>"$log" 2>&1 || {
    echo "pyenv: the pinned requirements do not fit together:" >&2
    tail -5 "$log" >&2
    exit 1
  }
  cp "$req" "$stamp"
fi
