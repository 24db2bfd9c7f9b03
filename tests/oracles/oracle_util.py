"""Helpers of the Python oracle tests: run the aneforge CLI on fp16 inputs,
read the F16 tensors it saves, and compare them with ONNX Runtime's answer
within a stated fp16 bound (tests/oracles/README.md says how it is derived).
numpy only, plus onnxruntime / onnx in the scripts that use them."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ULP16 = 2.0**-11  # fp16's unit roundoff: half an ulp at 1.0


def cli():
    """The aneforge command line of this build."""
    root = os.environ.get("AF_BUILD_ROOT")
    if not root:
        sys.exit("AF_BUILD_ROOT is not set (run through meson test)")
    return os.path.join(root, "tools", "aneforge")


def shared(rel):
    """$AF_SHARED/rel; a missing file fails the test (CI has ../shared)."""
    path = os.path.join(os.environ.get("AF_SHARED", "../shared"), rel)
    if not os.path.exists(path):
        print(f"{path} is missing (AF_SHARED={os.environ.get('AF_SHARED')})")
        sys.exit(1)
    return path


def read_safetensors(path):
    """{name: array} of a safetensors file (F16 / F32 / I64 tensors)."""
    dtypes = {"F16": np.float16, "F32": np.float32, "I64": np.int64}
    with open(path, "rb") as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n])
    data = blob[8 + n :]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        a = np.frombuffer(data[b:e], dtype=dtypes[t["dtype"]])
        out[name] = a.reshape(t["shape"])
    return out


def run_aneforge(model, inputs, threads=1):
    """Runs MODEL (.onnx or .json) on @inputs (arrays, in port order, fp16
    exact) and returns {output name: float32 array}."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [cli(), "run", model, "--threads", str(threads)]
        for i, x in enumerate(inputs):
            raw = os.path.join(tmp, f"in{i}.bin")
            x16 = np.asarray(x, dtype=np.float16)
            assert np.array_equal(x16.astype(np.float32), np.asarray(x, np.float32)), "not fp16"
            x16.astype("<f2").tofile(raw)
            cmd += ["--raw", raw]
        out = os.path.join(tmp, "out.safetensors")
        cmd += ["--save-outputs", out]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(" ".join(cmd))
            print(proc.stdout + proc.stderr)
            sys.exit(1)
        return {k: v.astype(np.float32) for k, v in read_safetensors(out).items()}


def fp16_grid(x):
    """@x rounded to fp16, as float32 (values every fp16 input holds exactly)."""
    return np.asarray(x, dtype=np.float32).astype(np.float16).astype(np.float32)


def compare(name, ours, ref, rtol, atol):
    """Checks |ours - ref| <= atol + rtol * |ref| element by element, prints
    the largest differences and the bound; returns True when within it."""
    ours = np.asarray(ours, np.float64)
    ref = np.asarray(ref, np.float64)
    if ours.shape != ref.shape:
        print(f"{name}: shape {ours.shape}, reference {ref.shape}")
        return False
    d = np.abs(ours - ref)
    bound = atol + rtol * np.abs(ref)
    bad = ~(d <= bound)  # NaN counts as outside
    rel = d / np.maximum(np.abs(ref), 1e-30)
    worst = int(np.argmax(np.where(np.isnan(d), np.inf, d))) if d.size else 0
    print(
        f"{name} {list(ref.shape)}: max |diff| {np.max(np.where(np.isnan(d), np.inf, d)) if d.size else 0:.3g} "
        f"(at {worst}: ours {ours.flat[worst]:.6g}, ref {ref.flat[worst]:.6g}), "
        f"max rel {np.nanmax(np.where(np.abs(ref) > atol, rel, 0)) if d.size else 0:.3g}, "
        f"max |ref| {np.abs(ref).max() if d.size else 0:.3g}; "
        f"bound atol {np.max(atol):.3g} + rtol {rtol:.3g} * |ref|; {int(bad.sum())} outside"
    )
    for i in np.flatnonzero(bad)[:5]:
        print(f"  element {i}: ours {ours.flat[i]:.6g}, ref {ref.flat[i]:.6g}, bound {bound.flat[i]:.3g}")
    return not bad.any()
