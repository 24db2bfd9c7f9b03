"""Apple's coremltools as the oracle of `aneforge export --coreml`.

Usage: coreml_oracle.py ANEFORGE. Exports every model the tests build (the
tiny classifier; SqueezeNet, mnist, UltraFace and YuNet imported with
`aneforge import`; BlazeFace from MediaPipe's wheel) in both dialects, a
segmented plan as one package per region (coreml.h), and for every package:
- coremltools.utils.load_spec and coremltools.models.MLModel(path,
  skip_model_load=True) load it; the spec version is 9 (ios18) / 7 (ios16);
- its ML Program converts through the milproto frontend, which builds every
  op with Apple's op definitions for the opset (names, argument names,
  dtypes, shapes: type inference on every op); the op count is ours and
  every op's inferred output shape and dtype equal the type we declared;
  the function's outputs equal the description's FLOAT16 multiarrays;
- Apple's blob writer (libmilstoragepython._BlobStorageWriter), given our
  weight.bin's tensors in order (read back here from the file), writes a
  byte-identical weight.bin and returns the same offsets; every
  blobFileValue of the program is one of them.
Then shows the oracle can fail: a conv whose `weight` argument is renamed
`weights` is refused by the milproto frontend.
"""
import copy
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import coremltools as ct
from coremltools.converters.mil.frontend.milproto import load as milproto
from coremltools.converters.mil.mil import types
from coremltools.libmilstoragepython import _BlobStorageWriter

SPEC = {"ios18": (9, "CoreML8"), "ios16": (7, "CoreML6")}
PB_DTYPE = {10: "fp16", 31: "uint8", 23: "int32", 1: "bool", 2: "string"}


def models():
    shared = os.environ["AF_SHARED"]
    src = os.environ["AF_SOURCE_ROOT"]
    cache = os.environ.get("AF_CACHE", os.path.expanduser("~/.cache/aneforge"))
    return [("tiny", os.path.join(src, "models/tiny-classifier.json")),
            ("squeezenet", os.path.join(shared, "models/squeezenet/SqueezeNet_fp16.onnx")),
            ("mnist", os.path.join(shared, "models/mnist/mnist.onnx")),
            ("ultraface", os.path.join(shared, "models/ultraface/version-RFB-320_simplified.onnx")),
            ("yunet", os.path.join(shared, "models/yunet/yunet_n_320_320.onnx")),
            ("blazeface", os.path.join(cache, "mediapipe-0.10.21/face_detection_short_range.tflite"))]


def export(exe, model, out, dialect):
    """The package paths of `export --coreml` (one, or one per region)."""
    pkg = out + ".mlpackage"
    r = subprocess.run([exe, "export", "--coreml", pkg, model, "--dialect", dialect],
                       capture_output=True, text=True)
    if r.returncode == 0:
        return [pkg]
    assert "first cut" in r.stderr, r.stderr
    subprocess.run([exe, "export", "--coreml", out, model, "--dialect", dialect], check=True)
    return sorted(os.path.join(out, d) for d in os.listdir(out) if d.endswith(".mlpackage"))


def blob_records(data):
    """[(metadata offset, fp16 data as uint16)] of a weight.bin, in order."""
    count, version = struct.unpack_from("<II", data, 0)
    assert version == 2, version
    out, at = [], 64
    for _ in range(count):
        at = (at + 63) // 64 * 64
        sentinel, dtype, size, offset = struct.unpack_from("<IIQQ", data, at)
        assert sentinel == 0xDEADBEEF and dtype == 1 and offset == at + 64, (at, dtype)
        out.append((at, np.frombuffer(data, np.uint16, size // 2, offset)))
        at = offset + size
    assert at == len(data), ("bytes after the last blob", at, len(data))
    return out


def check_blob(path, tmp):
    ours = open(path, "rb").read()
    records = blob_records(ours)
    theirs_path = os.path.join(tmp, "apple-weight.bin")
    writer = _BlobStorageWriter(theirs_path)
    offsets = [writer.write_fp16_data(np.ascontiguousarray(h)) for _, h in records]
    del writer  # flushes and closes the file
    theirs = open(theirs_path, "rb").read()
    assert offsets == [o for o, _ in records], ("offsets", offsets[:4])
    assert theirs == ours, ("weight.bin differs", len(ours), len(theirs))
    return set(offsets), len(ours)


def declared(spec_op):
    o = spec_op.outputs[0]
    t = o.type.tensorType
    return o.name, PB_DTYPE[t.dataType], tuple(d.constant.size for d in t.dimensions)


def check_package(pkg, dialect, tmp):
    version, opset = SPEC[dialect]
    spec = ct.utils.load_spec(pkg)
    assert spec.specificationVersion == version, spec.specificationVersion
    mlmodel = ct.models.MLModel(pkg, skip_model_load=True)
    assert [i.name for i in mlmodel.get_spec().description.input] == \
        [i.name for i in spec.description.input]
    weights = os.path.join(pkg, "Data", "com.apple.CoreML", "weights")
    prog = milproto.load(spec, specification_version=version, file_weights_dir=weights)
    fn = prog.functions["main"]
    block = spec.mlProgram.functions["main"].block_specializations[opset]
    assert len(fn.operations) == len(block.operations), (len(fn.operations), len(block.operations))
    inferred = {}
    for op in fn.operations:
        for v in op.outputs:
            inferred[v.name] = (types.builtin_to_string(v.dtype), tuple(v.shape))
    blob_offsets = set()
    for op in block.operations:
        name, dtype, shape = declared(op)
        assert inferred[name] == (dtype, shape), (op.type, name, inferred[name], (dtype, shape))
        if op.type == "const" and op.attributes["val"].WhichOneof("value") == "blobFileValue":
            blob_offsets.add(op.attributes["val"].blobFileValue.offset)
    ins = [(n, types.builtin_to_string(v.dtype), tuple(v.shape)) for n, v in fn.inputs.items()]
    want = [(i.name, "fp16", tuple(i.type.multiArrayType.shape)) for i in spec.description.input]
    assert ins == want, (ins, want)
    assert all(i.type.multiArrayType.dataType == 65552 for i in spec.description.input)
    outs = [(v.name, types.builtin_to_string(v.dtype), tuple(v.shape)) for v in fn.outputs]
    want = [(o.name, "fp16", tuple(o.type.multiArrayType.shape)) for o in spec.description.output]
    assert outs == want, (outs, want)
    assert all(o.type.multiArrayType.dataType == 65552 for o in spec.description.output)
    offsets, size = check_blob(os.path.join(weights, "weight.bin"), tmp)
    assert blob_offsets <= offsets, sorted(blob_offsets - offsets)[:4]
    return "%d ops, outputs %s, weight.bin %d bytes identical (%d blobs)" % (
        len(fn.operations), "; ".join("%s %s%s" % (n, d, list(s)) for n, d, s in outs), size,
        len(offsets))


def check_refuses(pkg):
    """The milproto frontend refuses conv(weights = ...)."""
    spec = copy.deepcopy(ct.utils.load_spec(pkg))
    version = spec.specificationVersion
    block = next(iter(spec.mlProgram.functions["main"].block_specializations.values()))
    conv = next(op for op in block.operations if op.type == "conv")
    conv.inputs["weights"].CopyFrom(conv.inputs["weight"])
    del conv.inputs["weight"]
    weights = os.path.join(pkg, "Data", "com.apple.CoreML", "weights")
    try:
        milproto.load(spec, specification_version=version, file_weights_dir=weights)
    except Exception as e:  # any refusal: the frontend raises its own types
        return "refused: %s" % str(e).splitlines()[0][:100]
    raise AssertionError("milproto accepted conv(weights = ...)")


def main():
    exe = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        first = None
        for name, path in models():
            if not os.path.exists(path):
                print("%s: %s is missing" % (name, path))
                failures += 1
                continue
            if path.endswith(".onnx"):
                json_path = os.path.join(tmp, name + ".json")
                subprocess.run([exe, "import", path, "-o", json_path], check=True,
                               stdout=subprocess.DEVNULL)
                path = json_path
            for dialect in ("ios18", "ios16"):
                pkgs = export(exe, path, os.path.join(tmp, "%s-%s" % (name, dialect)), dialect)
                first = first or pkgs[0]
                for pkg in pkgs:
                    label = "%s %s %s" % (name, dialect, os.path.basename(pkg))
                    try:
                        print("%s: %s" % (label, check_package(pkg, dialect, tmp)))
                    except Exception as e:
                        failures += 1
                        print("%s: FAILED: %r" % (label, e))
        try:
            print("mutant conv(weights = ...): %s" % check_refuses(first))
        except AssertionError as e:
            failures += 1
            print("FAILED: %s" % e)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
