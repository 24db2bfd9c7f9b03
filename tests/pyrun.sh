#!/bin/sh
# tests/pyrun.sh SCRIPT [ARGS...]: runs a Python oracle test with the venv's
# python (tools/pyenv.sh; $AF_VENV, default $AF_SOURCE_ROOT/build/venv).
# Without the venv: exit 77 with a "pypi:" reason when PyPI was found
# unreachable, else exit 1 (tests/run.sh counts tagged skips; see
# tests/skips.py).
root=${AF_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
venv=${AF_VENV:-$root/build/venv}
if [ ! -x "$venv/bin/python" ]; then
  marker=$(dirname "$venv")/pypi-unreachable
  if [ -f "$marker" ]; then
    echo "pypi: $venv is missing: $(cat "$marker")"
    exit 77
  fi
  echo "$venv is missing and PyPI was not found unreachable: run tools/pyenv.sh" >&2
  exit 1
fi
exec "$venv/bin/python" "$@"
