"""ort_ops.py OP: the ops without a fast CPU kernel (matmul, softmax, amax,
amin, argmax, topk), which tests/ops/test-ops-backend.c can only compare
with themselves, equal ONNX Runtime's answer on small random graphs (random
and odd shapes, seeded: AF_TEST_SEED replays) within the fp16 bound: values
of matmul and softmax within their rounding error, the rest exactly, ties
included. Each graph passes onnx.checker first; the argmax / topk tie rule
(lowest index first) is checked against onnx.reference too."""
import json
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import oracle_util as ou

TRIALS = 16
EPS32 = 2.0**-24  # fp32's unit roundoff


def fp16_values(rng, shape, lo=-4.0, hi=4.0):
    return ou.fp16_grid(rng.uniform(lo, hi, size=shape))


def tied_values(rng, shape):
    """Few distinct values, so maxima tie along every axis."""
    return rng.integers(-2, 3, size=shape).astype(np.float32)


def rand_shape(rng, rank, hi):
    return [int(d) for d in rng.integers(1, hi + 1, size=rank)]


def onnx_graph(nodes, inputs, outputs, inits=(), opset=18):
    """A checked single-op ONNX model; @inputs, @outputs: (name, shape)."""
    vi = lambda n, s, t=TensorProto.FLOAT: helper.make_tensor_value_info(n, t, s)
    graph = helper.make_graph(nodes, "op", [vi(n, s) for n, s in inputs],
                              [vi(*o) for o in outputs], initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    onnx.checker.check_model(model, full_check=True)
    return model


def aneforge_graph(inputs, nodes, outputs):
    """Our graph file (docs/graph-format.md) for the ops the ONNX importer
    does not map (ReduceMax / ReduceMin / ArgMax / TopK)."""
    return {"aneforge": 1, "inputs": [{"name": n, "shape": s} for n, s in inputs],
            "nodes": nodes, "outputs": [{"name": n, "from": n} for n in outputs]}


# ------------------------------------------------------------ cases
# Each returns (onnx model, our model: None for the ONNX file itself or a
# graph dict, input arrays, {output: (rtol, atol)}, ties-checked outputs).


def case_matmul(rng, trial):
    ra, rb = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    m, k, n = int(rng.integers(1, 20)), int(rng.integers(1, 70)), int(rng.integers(1, 20))
    batch = rand_shape(rng, 2, 3)
    bb = [d if rng.integers(0, 2) else 1 for d in batch]  # broadcast some batch dims
    a = [k] if ra == 1 else batch[2 - (ra - 2):] + [m, k] if ra > 2 else [m, k]
    b = [k] if rb == 1 else bb[2 - (rb - 2):] + [k, n] if rb > 2 else [k, n]
    A, B = fp16_values(rng, a), fp16_values(rng, b)
    out = list(np.matmul(A, B).shape)
    model = onnx_graph([helper.make_node("MatMul", ["a", "b"], ["y"])], [("a", a), ("b", b)],
                       [("y", out)])
    # ours: fp32 accumulation rounded once to fp16; ORT: fp32. Each sum is
    # within k * 2^-24 * sum |a||b| of the exact one, ours then within u of it
    sab = np.matmul(np.abs(A).astype(np.float64), np.abs(B))
    return model, None, [A, B], {"y": (ou.ULP16, 2.01 * k * EPS32 * sab + 2.0**-25)}, ()


def case_softmax(rng, trial):
    r = int(rng.integers(1, 5))
    s = rand_shape(rng, r, 9)
    axis = int(rng.integers(-r, r))
    x = fp16_values(rng, s)
    if trial % 4 == 3:  # onnx's test_softmax_large_number: exp overflows without the max
        x = ou.fp16_grid(10000 + 8 * np.round(x * 2))
    model = onnx_graph([helper.make_node("Softmax", ["x"], ["y"], axis=axis)], [("x", s)],
                       [("y", s)])
    n = s[axis]
    # ours: fp32 exp / sum, rounded once; expf and the sum order differ by a
    # few fp32 ulps per term
    return model, None, [x], {"y": (ou.ULP16 + (n + 4) * EPS32, 2.0**-25)}, ()


def case_reduce(op):
    onnx_op = {"amax": "ReduceMax", "amin": "ReduceMin"}[op]

    def case(rng, trial):
        r = int(rng.integers(1, 5))
        s = rand_shape(rng, r, 9)
        axes = [i if rng.integers(0, 2) else i - r for i in range(r) if rng.integers(0, 3) == 0]
        keep = int(rng.integers(0, 2))
        x = tied_values(rng, s) if trial % 2 else fp16_values(rng, s)
        ins, inits = ["x"], []
        if axes:
            ins.append("axes")
            inits.append(numpy_helper.from_array(np.array(axes, np.int64), "axes"))
        out = np.max(x, axis=tuple(axes) if axes else None, keepdims=bool(keep)).shape
        model = onnx_graph([helper.make_node(onnx_op, ins, ["y"], keepdims=keep)], [("x", s)],
                           [("y", list(out))], inits)
        node = {"name": "y", "op": op, "inputs": ["x"], "keepdims": bool(keep)}
        if axes:
            node["axes"] = axes
        ours = aneforge_graph([("x", s)], [node], ["y"])
        return model, ours, [x], {"y": (0.0, 0.0)}, ()

    return case


def case_argmax(rng, trial):
    r = int(rng.integers(1, 4))
    s = rand_shape(rng, r, 40)
    axis = int(rng.integers(0, r))
    keep = int(rng.integers(0, 2))
    x = tied_values(rng, s) if trial % 2 else fp16_values(rng, s)
    out = list(np.argmax(x, axis=axis, keepdims=bool(keep)).shape)
    ax = axis if rng.integers(0, 2) else axis - r
    model = onnx_graph([helper.make_node("ArgMax", ["x"], ["y"], axis=ax, keepdims=keep)],
                       [("x", s)], [("y", out, TensorProto.INT64)], opset=13)
    ours = aneforge_graph([("x", s)], [{"name": "y", "op": "argmax", "inputs": ["x"],
                                        "axis": ax, "keepdims": bool(keep)}], ["y"])
    return model, ours, [x], {"y": (0.0, 0.0)}, ("y",)


def case_topk(rng, trial):
    r = int(rng.integers(1, 4))
    s = rand_shape(rng, r, 40)
    axis = int(rng.integers(0, r))
    k = int(rng.integers(1, s[axis] + 1))
    x = tied_values(rng, s) if trial % 2 else fp16_values(rng, s)
    out = list(s)
    out[axis] = k
    ax = axis if rng.integers(0, 2) else axis - r
    kt = numpy_helper.from_array(np.array([k], np.int64), "k")
    model = onnx_graph([helper.make_node("TopK", ["x", "k"], ["values", "indices"], axis=ax)],
                       [("x", s)], [("values", out), ("indices", out, TensorProto.INT64)],
                       [kt], opset=11)
    nodes = [{"name": "values", "op": "topk", "inputs": ["x"], "k": k, "axis": ax},
             {"name": "indices", "op": "topk", "inputs": ["x"], "k": k, "axis": ax,
              "indices": True}]
    ours = aneforge_graph([("x", s)], nodes, ["values", "indices"])
    return model, ours, [x], {"values": (0.0, 0.0), "indices": (0.0, 0.0)}, ("values", "indices")


CASES = {
    "matmul": case_matmul,
    "softmax": case_softmax,
    "amax": case_reduce("amax"),
    "amin": case_reduce("amin"),
    "argmax": case_argmax,
    "topk": case_topk,
}


def run_trial(op, seed, trial, tmp):
    rng = np.random.default_rng([seed, trial])
    model, ours, inputs, bounds, ties = CASES[op](rng, trial)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    feeds = {i.name: x for i, x in zip(sess.get_inputs(), inputs)}
    names = [o.name for o in sess.get_outputs()]
    want = dict(zip(names, sess.run(None, feeds)))
    if ties:  # the tie rule ORT follows is ONNX's: lowest index first
        spec = dict(zip(names, ReferenceEvaluator(model).run(None, feeds)))
        for n in ties:
            if not np.array_equal(spec[n], want[n]):
                print(f"{op} trial {trial}: ORT and onnx.reference disagree on {n}")
                return False
    path = os.path.join(tmp, f"{op}-{trial}.onnx")
    if ours is None:
        onnx.save(model, path)
    else:
        path = path.replace(".onnx", ".json")
        with open(path, "w") as f:
            json.dump(ours, f)
    got = ou.run_aneforge(path, inputs)
    ok = True
    for n, (rtol, atol) in bounds.items():
        ok &= ou.compare(f"{op} trial {trial} {n}", got[n], want[n], rtol, atol)
    return ok


def main():
    op = sys.argv[1]
    seed = int(os.environ.get("AF_TEST_SEED", np.random.SeedSequence().entropy % 2**32))
    print(f"# AF_TEST_SEED={seed}")
    with tempfile.TemporaryDirectory() as tmp:
        ok = all([run_trial(op, seed, t, tmp) for t in range(TRIALS)])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
