#!/usr/bin/env python3
"""Writes the seed / regression corpus of tests/import/corpus/: tiny ONNX
protobufs built by hand (no onnx package) plus malformed variants. Run from
anywhere: python3 tests/import/make-corpus.py"""
import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def varint(v):
    out = b""
    v &= (1 << 64) - 1
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def f_int(field, v):
    return varint(field << 3) + varint(v)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


def f_float(field, v):
    return varint(field << 3 | 5) + struct.pack("<f", v)


def tensor_f32(name, dims, values):
    return (b"".join(f_int(1, d) for d in dims) + f_int(2, 1) + f_bytes(8, name)
            + f_bytes(9, struct.pack("<%df" % len(values), *values)))


def tensor_i64(name, values):
    return f_int(1, len(values)) + f_int(2, 7) + f_bytes(8, name) + b"".join(f_int(7, v) for v in values)


def attr_ints(name, vals):
    return f_bytes(1, name) + f_int(20, 7) + b"".join(f_int(8, v) for v in vals)


def attr_int(name, v):
    return f_bytes(1, name) + f_int(20, 2) + f_int(3, v)


def attr_str(name, s):
    return f_bytes(1, name) + f_int(20, 3) + f_bytes(4, s)


def node(op, ins, outs, attrs=(), name=None):
    return (b"".join(f_bytes(1, i) for i in ins) + b"".join(f_bytes(2, o) for o in outs)
            + f_bytes(3, name or op) + f_bytes(4, op) + b"".join(f_bytes(5, a) for a in attrs))


def value(name, dims):
    shape = b"".join(f_bytes(1, f_int(1, d) if d >= 0 else f_bytes(2, "N")) for d in dims)
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, f_int(1, 1) + f_bytes(2, shape)))


def model(graph, opset=11):
    return f_int(1, 7) + f_bytes(8, f_bytes(1, "") + f_int(2, opset)) + f_bytes(7, graph)


def conv_relu():
    g = f_bytes(5, tensor_f32("w", [2, 1, 3, 3], [0.1] * 18))
    g += f_bytes(5, tensor_f32("b", [2], [0.0, 1.0]))
    g += f_bytes(11, value("x", [-1, 1, 8, 8]))
    g += f_bytes(1, node("Conv", ["x", "w", "b"], ["c"], [attr_ints("pads", [1, 1, 1, 1])]))
    g += f_bytes(1, node("Relu", ["c"], ["r"]))
    g += f_bytes(1, node("MaxPool", ["r"], ["p"], [attr_ints("kernel_shape", [2, 2]),
                                                   attr_ints("strides", [2, 2])]))
    g += f_bytes(1, node("Shape", ["p"], ["s"]))
    g += f_bytes(5, tensor_i64("zero", [0]))
    g += f_bytes(1, node("Gather", ["s", "zero"], ["n"], [attr_int("axis", 0)]))
    g += f_bytes(5, tensor_i64("m1", [-1]))
    g += f_bytes(1, node("Concat", ["n", "m1"], ["shape"], [attr_int("axis", 0)]))
    g += f_bytes(1, node("Reshape", ["p", "shape"], ["y"]))
    g += f_bytes(12, value("y", [1, 32]))
    return model(g)


def main():
    os.makedirs(HERE, exist_ok=True)
    good = conv_relu()
    files = {
        "valid-conv-relu.onnx": good,
        "empty.onnx": b"",
        "truncated-half.onnx": good[: len(good) // 2],
        "truncated-tail.onnx": good[:-3],
        "wrong-wire-graph.onnx": f_int(7, 1),
        "huge-length.onnx": varint(7 << 3 | 2) + varint(1 << 62),
        "overlong-varint.onnx": varint(1 << 3) + b"\xff" * 11,
        "group-wire.onnx": varint(7 << 3 | 3) + b"\x00",
        "deep-nesting.onnx": None,
        "absurd-dims.onnx": model(f_bytes(5, tensor_f32("w", [1 << 40, 1 << 40], []))
                                  + f_bytes(11, value("x", [1, 4])) + f_bytes(12, value("x", [1, 4]))),
        "tensor-bigger-than-file.onnx": model(f_bytes(5, f_int(1, 1 << 20) + f_int(1, 1 << 10) + f_int(2, 1)
                                                      + f_bytes(8, "w"))
                                              + f_bytes(11, value("x", [1, 4]))
                                              + f_bytes(12, value("x", [1, 4]))),
        "raw-size-mismatch.onnx": model(f_bytes(5, f_int(1, 1000) + f_int(2, 1) + f_bytes(8, "w")
                                                + f_bytes(9, b"\0" * 8))
                                        + f_bytes(11, value("x", [1, 4]))
                                        + f_bytes(1, node("Add", ["x", "w"], ["y"]))
                                        + f_bytes(12, value("y", [1, 4]))),
        "bad-auto-pad.onnx": model(f_bytes(5, tensor_f32("w", [1, 1, 1, 1], [1.0]))
                                   + f_bytes(11, value("x", [1, 1, 4, 4]))
                                   + f_bytes(1, node("Conv", ["x", "w"], ["y"], [attr_str("auto_pad", "FOO")]))
                                   + f_bytes(12, value("y", [1, 1, 4, 4]))),
        "cycle-names.onnx": model(f_bytes(11, value("x", [1, 4]))
                                  + f_bytes(1, node("Relu", ["y"], ["z"]))
                                  + f_bytes(1, node("Relu", ["z"], ["y"]))
                                  + f_bytes(12, value("y", [1, 4]))),
    }
    deep = b""
    for _ in range(40):
        deep = f_bytes(7, deep)
    files["deep-nesting.onnx"] = deep
    flipped = bytearray(good)
    for i in range(7, len(flipped), 37):
        flipped[i] ^= 0x5A
    files["flipped-bytes.onnx"] = bytes(flipped)
    for name, data in files.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
