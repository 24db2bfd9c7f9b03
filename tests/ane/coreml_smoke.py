"""Apple's coremltools works here as the oracle of the ANE export.

Builds coremltools' own weight-sharing program (three fp32[500] constants, two
sharing one weight: ../shared/ane/README.md's known answer), converts it to an
ML Program .mlpackage without loading it (Linux cannot compile or predict),
and checks, as the ANE issue's tests will for our own exports:
- the package loads back (coremltools.utils.load_spec): spec version,
  input and output;
- the ML Program's constants reference weight.bin at offsets 64, 64 and 2176
  (the published answer), and Apple's blob writer laid the file out as the
  facts say (header, 0xDEADBEEF metadata, dtype, size, data offset, data);
- the milproto frontend converts the program back with type inference on
  every op (three adds of fp32[500]).
"""
import os
import struct
import sys
import tempfile

import numpy as np
import coremltools as ct
from coremltools.converters.mil import Builder as mb
from coremltools.converters.mil.frontend.milproto import load as milproto


def build(path, val):
    @mb.program(input_specs=[mb.TensorSpec((500,))], opset_version=ct.target.iOS16)
    def prog(x):
        c1 = mb.const(val=val, name="const_1")
        c2 = mb.const(val=val, name="const_2")
        c3 = mb.const(val=val, name="const_3")
        c1.op.weight_id = "0"  # const_1 and const_2 share one blob
        c2.op.weight_id = "0"
        x = mb.add(x=x, y=c1)
        x = mb.add(x=x, y=c2)
        return mb.add(x=x, y=c3, name="y")

    prog.skip_all_passes = True  # keep the three constants apart
    model = ct.convert(prog, convert_to="mlprogram", skip_model_load=True,
                       compute_precision=ct.precision.FLOAT32,
                       minimum_deployment_target=ct.target.iOS16)
    model.save(path)


def blob_offsets(spec):
    """const name -> BLOBFILE offset in the main function's block."""
    block = spec.mlProgram.functions["main"].block_specializations["CoreML6"]
    out = {}
    for op in block.operations:
        if op.type == "const":
            v = op.attributes["val"]
            if v.WhichOneof("value") == "blobFileValue":
                assert v.blobFileValue.fileName == "@model_path/weights/weight.bin", v
                out[op.attributes["name"].immediateValue.tensor.strings.values[0]] = \
                    v.blobFileValue.offset
    return out


def check_blob(path, val):
    data = open(path, "rb").read()
    count, version = struct.unpack_from("<II", data, 0)
    assert (count, version) == (2, 2), (count, version)
    for meta, want in ((64, val), (2176, val)):
        sentinel, dtype, size, offset, pad = struct.unpack_from("<IIQQQ", data, meta)
        assert sentinel == 0xDEADBEEF and dtype == 2, (meta, hex(sentinel), dtype)
        assert size == 2000 and offset == meta + 64 and pad == 0, (meta, size, offset, pad)
        assert data[meta + 32:meta + 64] == bytes(32), "reserved fields must be zero"
        got = np.frombuffer(data, np.float32, 500, offset)
        assert np.array_equal(got, want.astype(np.float32)), meta
    return len(data)


def main():
    val = np.random.default_rng(7).random(500).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        pkg = os.path.join(tmp, "share.mlpackage")
        build(pkg, val)
        spec = ct.utils.load_spec(pkg)
        assert spec.specificationVersion == 7, spec.specificationVersion  # iOS16
        assert [i.name for i in spec.description.input] == ["x"]
        assert [o.name for o in spec.description.output] == ["y"]
        offsets = blob_offsets(spec)
        assert offsets == {"const_1": 64, "const_2": 64, "const_3": 2176}, offsets
        weights = os.path.join(pkg, "Data", "com.apple.CoreML", "weights", "weight.bin")
        size = check_blob(weights, val)
        prog = milproto.load(spec, specification_version=spec.specificationVersion,
                             file_weights_dir=os.path.dirname(weights))
        ops = [op.op_type for op in prog.functions["main"].operations]
        assert ops.count("add") == 3, ops
        out = prog.functions["main"].outputs[0]
        assert out.shape == (500,) and out.dtype.__name__ == "fp32", (out.shape, out.dtype)
    print("coremltools %s: package loads, BLOBFILE offsets %s, weight.bin %d bytes as "
          "documented, milproto ops %s" % (ct.__version__, sorted(offsets.values()), size, ops))


if __name__ == "__main__":
    sys.exit(main())
