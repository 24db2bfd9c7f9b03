"""Checks an `aneforge export --coreml` result field by field, decoded by
protoc against Apple's schema, against the `export --ane` of the same model
(stdlib only; protoc from Debian's protobuf-compiler).

Usage: coreml_protoc_check.py PROTO_DIR ANE_DIR COREML_OUT DIALECT
  PROTO_DIR   ../shared/ane/coreml-format (Model.proto, MIL.proto, ...)
  ANE_DIR     `export --ane` of the model: plan.json, region-K/model.mil,
              region-K/weights/weight.bin
  COREML_OUT  `export --coreml` of it: the .mlpackage when the plan is one
              program, else a directory of region-K.mlpackage + plan.json
For every program of the plan, the package's model.mlmodel decodes as
CoreML.Specification.Model and:
  - specificationVersion is 9 (ios18) / 7 (ios16), the function "main" has
    opset CoreML8 / CoreML6 and one block specialization under that key;
  - description.input / output name the program's ports in the plan's
    order, multiArrayType FLOAT16 with the plan's padded shapes, and the
    function's inputs and block outputs are the same names and shapes;
  - the operations are model.mil's statements, same variables, same ops,
    same result types, in the same order (the image port's cast an
    identity, its dtype constant gone: coreml.h);
  - every BLOBFILE constant is a blobFileValue of
    "@model_path/weights/weight.bin" at model.mil's offset, which holds a
    0xDEADBEEF record of fp16 data sized by the constant's type;
  - weight.bin is model.mil's weight.bin byte for byte; Manifest.json names
    the model and the weights with rootModelIdentifier the model's entry.
Prints one line per package; exit 1 on the first failure's package.
"""
import json
import os
import re
import struct
import subprocess
import sys

OPSET = {"ios18": ("CoreML8", 9), "ios16": ("CoreML6", 7)}
MIL_DTYPE = {"fp16": "FLOAT16", "uint8": "UINT8", "int32": "INT32", "bool": "BOOL",
             "string": "STRING"}


class Msg:
    """A decoded message: fields in order, each a list of values."""

    def __init__(self):
        self.fields = []

    def all(self, key):
        return [v for k, v in self.fields if k == key]

    def one(self, key, default=None):
        got = self.all(key)
        if len(got) > 1:
            raise ValueError("%s appears %d times" % (key, len(got)))
        return got[0] if got else default


def unquote(text):
    """A protoc text-format string literal (C escapes, octal bytes)."""
    body = text[1:-1].encode("latin-1").decode("unicode_escape").encode("latin-1")
    return body.decode("utf-8", "surrogateescape")  # bytes fields are not text


def parse_text(text):
    root = Msg()
    stack = [root]
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line == "}":
            stack.pop()
        elif line.endswith("{"):
            sub = Msg()
            stack[-1].fields.append((line[:-1].strip(), sub))
            stack.append(sub)
        else:
            key, value = line.split(": ", 1)
            if value.startswith('"'):
                value = unquote(value)
            elif re.fullmatch(r"-?\d+", value):
                value = int(value)
            stack[-1].fields.append((key, value))
    if len(stack) != 1:
        raise ValueError("unbalanced braces in protoc's output")
    return root


def decode(proto_dir, path):
    with open(path, "rb") as f:
        out = subprocess.run(["protoc", "--decode=CoreML.Specification.Model", "-I", proto_dir,
                              os.path.join(proto_dir, "Model.proto")], stdin=f,
                             capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError("protoc cannot decode %s: %s" % (path, out.stderr.strip()))
    return parse_text(out.stdout)


def tensor_type(value_type):
    """(dtype name, [dims]) of a ValueType message."""
    t = value_type.one("tensorType")
    assert t is not None, "not a tensorType"
    dims = [d.one("constant").one("size", 0) for d in t.all("dimensions")]
    assert t.one("rank", 0) == len(dims), ("rank", t.one("rank", 0), dims)
    return t.one("dataType"), dims


def string_attr(value):
    return value.one("immediateValue").one("tensor").one("strings").one("values")


MIL_LINE = re.compile(r"^\s+(?P<type>.+?) (?P<var>\w+) = (?P<op>\w+)\((?P<args>.*?)\)\[name = "
                      r"(?:string|tensor<string, \[\]>)\(\"\w+\"\)(?:, val = (?P<val>.*))?\];$")
MIL_ARG = re.compile(r"(\w+) = (\([^)]*\)|\w+)")
MIL_LITERAL = re.compile(r"^(?:tensor<[^>]*>|\w+)\((.*)\)$")
MIL_TYPE = re.compile(r"^(?:tensor<(\w+), \[([\d, ]*)\]>|(\w+))$")
MIL_BLOB = re.compile(r"BLOBFILE\(path = (?:string|tensor<string, \[\]>)\(\"([^\"]+)\"\), "
                      r"offset = (?:uint64|tensor<uint64, \[\]>)\((\d+)\)\)")


def mil_statements(path):
    """[(var, op, dtype, dims, args, blob_offset or the inline elements as
    text, or None)] of a model.mil."""
    out = []
    for line in open(path):
        m = MIL_LINE.match(line)
        if not m:
            continue
        t = MIL_TYPE.match(m["type"])
        assert t, line
        dtype = t[1] or t[3]
        dims = [int(x) for x in t[2].split(", ")] if t[2] else []
        blob = MIL_BLOB.search(line)
        if blob:
            assert blob[1] == "@model_path/weights/weight.bin", line
        args = {k: v.strip("()").split(", ") for k, v in MIL_ARG.findall(m["args"])}
        value = None
        if blob:
            value = int(blob[2])
        elif m["val"]:
            inner = MIL_LITERAL.match(m["val"])[1]
            inner = inner[1:-1] if inner.startswith("[") else inner
            value = [x.strip('"') for x in inner.split(", ")] if inner else []
        out.append((m["var"], m["op"], MIL_DTYPE[dtype], dims, args, value))
    return out


def expected_ops(statements, plan_inputs):
    """model.mil's statements as the Core ML package holds them: a uint8
    port's cast is an identity and its dtype constant is gone."""
    uint8_ports = {i["mil"] for i in plan_inputs if i["dtype"] == "uint8"}
    drop = {args["dtype"][0] for var, op, _, _, args, _ in statements
            if op == "cast" and args.get("x", [None])[0] in uint8_ports}
    out = []
    for var, op, dtype, dims, args, blob in statements:
        if var in drop:
            continue
        if op == "cast" and args.get("x", [None])[0] in uint8_ports:
            op = "identity"
            args = {"x": args["x"]}
        out.append((var, op, dtype, dims, args, blob))
    return out


def check_feature(f, want, what):
    assert f.one("name") == want["mil"], (what, f.one("name"), want["mil"])
    arr = f.one("type").one("multiArrayType")
    assert arr is not None, (what, "not a multiArrayType")
    assert arr.one("dataType") == "FLOAT16", (what, arr.one("dataType"))
    assert arr.all("shape") == want["padded_shape"], (what, arr.all("shape"), want["padded_shape"])


def check_inline(var, dtype, val, text):
    """An immediate value against model.mil's literal."""
    tensor = val.one("immediateValue").one("tensor")
    if dtype == "FLOAT16":
        raw = tensor.one("bytes").one("values", "").encode("utf-8", "surrogateescape")
        want = b"".join(struct.pack("<e", float.fromhex(x)) for x in text)
        assert raw == want, (var, raw, want)
    elif dtype == "STRING":
        assert tensor.one("strings").all("values") == text, (var, text)
    elif dtype == "BOOL":
        assert tensor.one("bools").all("values") == text, (var, text)
    else:
        assert tensor.one("ints").all("values") == [int(x) for x in text], (var, text)


def check_blob(data, offset, dims):
    n = 1
    for d in dims:
        n *= d
    sentinel, dtype, size, data_offset, pad = struct.unpack_from("<IIQQQ", data, offset)
    assert sentinel == 0xDEADBEEF, ("no blob record at", offset)
    assert dtype == 1 and size == 2 * n, ("blob at", offset, "dtype", dtype, "size", size, n)
    assert data_offset == offset + 64 and data_offset + size <= len(data) and pad == 0, offset


def check_manifest(pkg):
    m = json.load(open(os.path.join(pkg, "Manifest.json")))
    assert m["fileFormatVersion"] == "1.0.0", m
    entries = m["itemInfoEntries"]
    paths = {e["path"]: (k, e) for k, e in entries.items()}
    assert set(paths) == {"com.apple.CoreML/model.mlmodel", "com.apple.CoreML/weights"}, paths
    root, model = paths["com.apple.CoreML/model.mlmodel"]
    assert m["rootModelIdentifier"] == root, m
    assert model["name"] == "model.mlmodel" and model["author"] == "com.apple.CoreML", model
    assert model["description"] == "CoreML Model Specification", model
    _, weights = paths["com.apple.CoreML/weights"]
    assert weights["name"] == "weights" and weights["description"] == "CoreML Model Weights"
    for rel in paths:
        assert os.path.exists(os.path.join(pkg, "Data", rel)), rel


def check_package(proto_dir, pkg, region_dir, seg, dialect):
    opset, version = OPSET[dialect]
    check_manifest(pkg)
    model = decode(proto_dir, os.path.join(pkg, "Data", "com.apple.CoreML", "model.mlmodel"))
    assert model.one("specificationVersion") == version, model.one("specificationVersion")
    desc = model.one("description")
    ins, outs = desc.all("input"), desc.all("output")
    assert len(ins) == len(seg["inputs"]), ("inputs", len(ins), len(seg["inputs"]))
    assert len(outs) == len(seg["outputs"]), ("outputs", len(outs), len(seg["outputs"]))
    for f, want in zip(ins, seg["inputs"]):
        check_feature(f, want, "input")
    for f, want in zip(outs, seg["outputs"]):
        check_feature(f, want, "output")
    prog = model.one("mlProgram")
    assert prog.one("version") == 1, prog.one("version")
    fns = prog.all("functions")
    assert [f.one("key") for f in fns] == ["main"], [f.one("key") for f in fns]
    fn = fns[0].one("value")
    assert fn.one("opset") == opset, (fn.one("opset"), opset)
    blocks = fn.all("block_specializations")
    assert [b.one("key") for b in blocks] == [opset], [b.one("key") for b in blocks]
    block = blocks[0].one("value")
    fin = [(i.one("name"), tensor_type(i.one("type"))) for i in fn.all("inputs")]
    assert fin == [(w["mil"], ("FLOAT16", w["padded_shape"])) for w in seg["inputs"]], fin
    assert block.all("outputs") == [w["mil"] for w in seg["outputs"]], block.all("outputs")
    weights = open(os.path.join(pkg, "Data", "com.apple.CoreML", "weights", "weight.bin"),
                   "rb").read()
    theirs = open(os.path.join(region_dir, "weights", "weight.bin"), "rb").read()
    assert weights == theirs, "weight.bin differs from export --ane's"
    want = expected_ops(mil_statements(os.path.join(region_dir, "model.mil")), seg["inputs"])
    ops = block.all("operations")
    assert len(ops) == len(want), ("op count", len(ops), len(want))
    types = {}
    n_blob = 0
    for op, (var, kind, dtype, dims, args, blob) in zip(ops, want):
        outputs = op.all("outputs")
        assert len(outputs) == 1 and outputs[0].one("name") == var, (var, outputs)
        assert op.one("type") == kind, (var, op.one("type"), kind)
        assert tensor_type(outputs[0].one("type")) == (dtype, dims), (var, dtype, dims)
        types[var] = dims
        attrs = {a.one("key"): a.one("value") for a in op.all("attributes")}
        assert string_attr(attrs["name"]) == var, var
        inputs = {i.one("key"): [b.one("name") for b in i.one("value").all("arguments")]
                  for i in op.all("inputs")}
        assert inputs == args, (var, "arguments", inputs, args)
        for names in inputs.values():
            for name in names:
                assert name in types or name in dict(fin), (var, "reads", name, "before it is set")
        if kind != "const":
            continue
        bf = attrs["val"].one("blobFileValue")
        assert (bf is not None) == isinstance(blob, int), (var, "BLOBFILE in one printer only")
        if bf is None:
            check_inline(var, dtype, attrs["val"], blob)
        if bf is not None:
            assert bf.one("fileName") == "@model_path/weights/weight.bin", bf.one("fileName")
            assert bf.one("offset") == blob, (var, bf.one("offset"), blob)
            check_blob(weights, blob, dims)
            n_blob += 1
    for w in seg["outputs"]:
        assert types[w["mil"]] == w["padded_shape"], (w["mil"], types[w["mil"]])
    return len(ops), n_blob, len(weights)


def main():
    proto_dir, ane_dir, out, dialect = sys.argv[1:5]
    plan = json.load(open(os.path.join(ane_dir, "plan.json")))
    assert plan["dialect"] == dialect, plan["dialect"]
    programs = [s for s in plan["segments"] if s["kind"] == "program"]
    single = len(programs) == len(plan["segments"]) == 1
    if not single:
        ours = json.load(open(os.path.join(out, "plan.json")))
        assert ours == plan, "the package directory's plan.json differs from export --ane's"
    for seg in programs:
        pkg = out if single else os.path.join(out, seg["dir"] + ".mlpackage")
        try:
            n_ops, n_blob, size = check_package(proto_dir, pkg, os.path.join(ane_dir, seg["dir"]),
                                                seg, dialect)
        except (AssertionError, KeyError, ValueError, AttributeError, TypeError) as e:
            print("%s: FAILED: %r" % (pkg, e))
            return 1
        print("%s: %d ops, %d blobFileValues, weight.bin %d bytes, %d in / %d out"
              % (os.path.basename(pkg), n_ops, n_blob, size, len(seg["inputs"]),
                 len(seg["outputs"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
