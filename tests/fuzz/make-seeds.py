#!/usr/bin/env python3
"""make-seeds.py — small real model files for the ONNX and TFLite fuzz corpora.

Writes tests/import/corpus/real-*.onnx and tests/tflite/corpus/real-*.tflite:
tiny CNNs (a few KB) written with the formats' own tools, onnx.helper and
LiteRT's generated FlatBuffers schema (ai_edge_litert.schema_py_generated),
each checked by its runtime (onnx.checker + ONNX Runtime, the LiteRT
interpreter) so the seeds are files those runtimes accept, with the ops the
importers map. Deterministic (fixed seed). Run with the oracle venv:
    build/venv/bin/python tests/fuzz/make-seeds.py
"""
import os
import sys

import flatbuffers
import numpy as np
import onnx
import onnxruntime as ort
from ai_edge_litert import schema_py_generated as tfl
from ai_edge_litert.interpreter import Interpreter
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
rng = np.random.default_rng(20)


def w(*shape):
    return (rng.standard_normal(shape) * 0.2).astype(np.float32)


# ---------------------------------------------------------------- ONNX


def onnx_model(name, nodes, inits, x_shape, y_name, y_shape, opset=13):
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info(y_name, TensorProto.FLOAT, y_shape)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="aneforge make-seeds")
    m.ir_version = 8
    onnx.checker.check_model(m)
    data = m.SerializeToString()
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    sess.run(None, {"x": rng.random(x_shape, dtype=np.float32)})
    return data


def onnx_cnn():
    """conv 3x3 + bias, relu, maxpool, conv 1x1, global average pool,
    flatten, gemm, softmax: a tiny classifier."""
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"]),
        helper.make_node("GlobalAveragePool", ["c2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "fc", "fb"], ["l"], transB=1),
        helper.make_node("Softmax", ["l"], ["y"], axis=1),
    ]
    inits = {"w1": w(4, 3, 3, 3), "b1": w(4), "w2": w(8, 4, 1, 1), "fc": w(5, 8), "fb": w(5)}
    return onnx_model("cnn", nodes, inits, [1, 3, 16, 16], "y", [1, 5])


def onnx_branches():
    """depthwise conv, batch norm, sigmoid * x, concat of two branches,
    add, reshape, transpose: the shape-moving ops."""
    nodes = [
        helper.make_node("Conv", ["x", "dw"], ["d"], group=4, pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["d", "s", "bb", "mu", "var"], ["n"]),
        helper.make_node("Sigmoid", ["n"], ["sg"]),
        helper.make_node("Mul", ["n", "sg"], ["sw"]),
        helper.make_node("Conv", ["x", "pw"], ["q"]),
        helper.make_node("Concat", ["sw", "q"], ["cat"], axis=1),
        helper.make_node("Add", ["cat", "cat"], ["a"]),
        helper.make_node("Reshape", ["a", "shape"], ["rs"]),
        helper.make_node("Transpose", ["rs"], ["y"], perm=[0, 2, 1]),
    ]
    inits = {"dw": w(4, 1, 3, 3), "s": np.abs(w(4)) + 0.5, "bb": w(4), "mu": w(4),
             "var": np.abs(w(4)) + 0.5, "pw": w(2, 4, 1, 1),
             "shape": np.array([1, 6, 64], dtype=np.int64)}
    return onnx_model("branches", nodes, inits, [1, 4, 8, 8], "y", [1, 64, 6])


# ---------------------------------------------------------------- TFLite


class TfliteModel:
    """A one-subgraph float32 model built with the object API."""

    def __init__(self):
        self.m = tfl.ModelT()
        self.m.version = 3
        self.m.description = "aneforge make-seeds"
        self.m.buffers = [tfl.BufferT()]  # buffer 0: the empty one
        self.m.operatorCodes = []
        self.sg = tfl.SubGraphT()
        self.sg.tensors, self.sg.operators = [], []
        self.m.subgraphs = [self.sg]

    def tensor(self, name, shape, data=None):
        t = tfl.TensorT()
        t.name, t.shape, t.type = name, list(shape), tfl.TensorType.FLOAT32
        t.buffer = 0
        if data is not None:
            b = tfl.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data, np.float32).tobytes(), np.uint8)
            self.m.buffers.append(b)
            t.buffer = len(self.m.buffers) - 1
        self.sg.tensors.append(t)
        return len(self.sg.tensors) - 1

    def op(self, code, ins, outs, opt_type=0, opt=None):
        codes = [c.builtinCode for c in self.m.operatorCodes]
        if code not in codes:
            c = tfl.OperatorCodeT()
            c.builtinCode = code
            c.deprecatedBuiltinCode = min(code, 127)
            c.version = 1
            self.m.operatorCodes.append(c)
            codes.append(code)
        o = tfl.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = codes.index(code), ins, outs
        o.builtinOptionsType, o.builtinOptions = opt_type, opt
        self.sg.operators.append(o)

    def finish(self, inputs, outputs):
        self.sg.inputs, self.sg.outputs = inputs, outputs
        b = flatbuffers.Builder(1024)
        b.Finish(self.m.Pack(b), file_identifier=b"TFL3")
        data = bytes(b.Output())
        it = Interpreter(model_content=data)
        it.allocate_tensors()
        d = it.get_input_details()[0]
        it.set_tensor(d["index"], rng.random(d["shape"], dtype=np.float32))
        it.invoke()
        return data


def conv_opts(stride=1, act=tfl.ActivationFunctionType.NONE, padding=tfl.Padding.SAME):
    o = tfl.Conv2DOptionsT()
    o.padding, o.strideW, o.strideH, o.fusedActivationFunction = padding, stride, stride, act
    o.dilationWFactor = o.dilationHFactor = 1
    return o


def tflite_cnn():
    """NHWC conv (relu fused), depthwise conv (relu6), average pool,
    reshape, fully connected, softmax."""
    B = tfl.BuiltinOperator
    m = TfliteModel()
    x = m.tensor("x", [1, 16, 16, 3])
    c = m.tensor("c", [1, 8, 8, 4])
    m.op(B.CONV_2D, [x, m.tensor("w1", [4, 3, 3, 3], w(4, 3, 3, 3)), m.tensor("b1", [4], w(4))],
         [c], tfl.BuiltinOptions.Conv2DOptions,
         conv_opts(2, tfl.ActivationFunctionType.RELU))
    d = m.tensor("d", [1, 8, 8, 4])
    dw = tfl.DepthwiseConv2DOptionsT()
    dw.padding, dw.strideW, dw.strideH, dw.depthMultiplier = tfl.Padding.SAME, 1, 1, 1
    dw.fusedActivationFunction = tfl.ActivationFunctionType.RELU6
    dw.dilationWFactor = dw.dilationHFactor = 1
    m.op(B.DEPTHWISE_CONV_2D, [c, m.tensor("dw", [1, 3, 3, 4], w(1, 3, 3, 4)),
                               m.tensor("db", [4], w(4))],
         [d], tfl.BuiltinOptions.DepthwiseConv2DOptions, dw)
    p = m.tensor("p", [1, 1, 1, 4])
    po = tfl.Pool2DOptionsT()
    po.padding, po.strideW, po.strideH, po.filterWidth, po.filterHeight = tfl.Padding.VALID, 8, 8, 8, 8
    m.op(B.AVERAGE_POOL_2D, [d], [p], tfl.BuiltinOptions.Pool2DOptions, po)
    r = m.tensor("r", [1, 4])
    ro = tfl.ReshapeOptionsT()
    ro.newShape = [1, 4]
    m.op(B.RESHAPE, [p], [r], tfl.BuiltinOptions.ReshapeOptions, ro)
    f = m.tensor("f", [1, 5])
    m.op(B.FULLY_CONNECTED, [r, m.tensor("fc", [5, 4], w(5, 4)), m.tensor("fb", [5], w(5))], [f],
         tfl.BuiltinOptions.FullyConnectedOptions, tfl.FullyConnectedOptionsT())
    y = m.tensor("y", [1, 5])
    so = tfl.SoftmaxOptionsT()
    so.beta = 1.0
    m.op(B.SOFTMAX, [f], [y], tfl.BuiltinOptions.SoftmaxOptions, so)
    return m.finish([x], [y])


def tflite_eltwise():
    """add, mul, logistic, max pool, concatenation, pad."""
    B = tfl.BuiltinOperator
    m = TfliteModel()
    x = m.tensor("x", [1, 8, 8, 2])
    a = m.tensor("a", [1, 8, 8, 2])
    m.op(B.ADD, [x, m.tensor("k", [2], w(2))], [a], tfl.BuiltinOptions.AddOptions,
         tfl.AddOptionsT())
    s = m.tensor("s", [1, 8, 8, 2])
    m.op(B.LOGISTIC, [a], [s])
    u = m.tensor("u", [1, 8, 8, 2])
    m.op(B.MUL, [a, s], [u], tfl.BuiltinOptions.MulOptions, tfl.MulOptionsT())
    p = m.tensor("p", [1, 4, 4, 2])
    po = tfl.Pool2DOptionsT()
    po.padding, po.strideW, po.strideH, po.filterWidth, po.filterHeight = tfl.Padding.VALID, 2, 2, 2, 2
    m.op(B.MAX_POOL_2D, [u], [p], tfl.BuiltinOptions.Pool2DOptions, po)
    q = m.tensor("q", [1, 4, 4, 2])
    m.op(B.AVERAGE_POOL_2D, [u], [q], tfl.BuiltinOptions.Pool2DOptions, po)
    c = m.tensor("c", [1, 4, 4, 4])
    co = tfl.ConcatenationOptionsT()
    co.axis = 3
    m.op(B.CONCATENATION, [p, q], [c], tfl.BuiltinOptions.ConcatenationOptions, co)
    pads = m.tensor("pads", [4, 2])
    m.sg.tensors[pads].type = tfl.TensorType.INT32
    b = tfl.BufferT()
    b.data = np.frombuffer(np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32).tobytes(), np.uint8)
    m.m.buffers.append(b)
    m.sg.tensors[pads].buffer = len(m.m.buffers) - 1
    y = m.tensor("y", [1, 6, 6, 4])
    m.op(B.PAD, [c, pads], [y], tfl.BuiltinOptions.PadOptions, tfl.PadOptionsT())
    return m.finish([x], [y])


def main():
    out = {
        "tests/import/corpus/real-cnn.onnx": onnx_cnn(),
        "tests/import/corpus/real-branches.onnx": onnx_branches(),
        "tests/tflite/corpus/real-cnn.tflite": tflite_cnn(),
        "tests/tflite/corpus/real-eltwise.tflite": tflite_eltwise(),
    }
    for path, data in out.items():
        with open(os.path.join(ROOT, path), "wb") as f:
            f.write(data)
        print(f"{path}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
