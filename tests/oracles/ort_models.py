"""ort_models.py MODEL_REL: aneforge's outputs of a real ONNX model in
../shared equal ONNX Runtime's on the same fixed fp16-exact input, every
element within the fp16 bound of tests/oracles/README.md."""
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

import oracle_util as ou

# Input values per model, each exactly representable in fp16: pixels as the
# model takes them (tests/../shared/models/README.md), or a normalised image.
INPUTS = {
    "SqueezeNet_fp16.onnx": lambda p: p,  # BGR 0..255, no scaling
    "mnist.onnx": lambda p: p,  # 0..255 (the golden CSV's scale)
    "version-RFB-320.onnx": lambda p: (p - 127) / 128,
    "version-RFB-320_simplified.onnx": lambda p: (p - 127) / 128,
    "version-slim-320_simplified.onnx": lambda p: (p - 127) / 128,
    "yunet_n_320_320.onnx": lambda p: p,  # BGR 0..255
    "FastestDet.onnx": lambda p: p / 256,  # BGR / 255 in the model's code; / 256 is exact
    "resnet18.onnx": lambda p: ou.fp16_grid((p / 255 - 0.45) / 0.225),
    "mobilenet_v2.onnx": lambda p: ou.fp16_grid((p / 255 - 0.45) / 0.225),
    "squeezenet1_1.onnx": lambda p: ou.fp16_grid((p / 255 - 0.45) / 0.225),
}

# Ops whose output is rounded to fp16 by aneforge: one more rounding on a
# path (Relu, MaxPool, Concat and the shape ops move fp16 values unchanged).
ROUNDING = {
    "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "BatchNormalization", "Softmax",
    "Sigmoid", "Exp", "Tanh", "GlobalAveragePool", "AveragePool", "Resize", "Upsample", "Sqrt",
    "LeakyRelu",
}


def pixels(shape, seed=15):
    """A smooth picture with texture (four random plane waves per channel
    and uniform noise), integers 0..255, in NCHW @shape."""
    rng = np.random.default_rng(seed)
    n, c, h, w = shape
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.empty(shape, np.float64)
    for b in range(n):
        for ch in range(c):
            v = sum(np.sin(2 * np.pi * (rng.uniform(-6, 6) * x + rng.uniform(-6, 6) * y)
                           + rng.uniform(0, 6.3)) for _ in range(4))
            v = v + rng.uniform(-1.2, 1.2, size=v.shape)
            img[b, ch] = (v - v.min()) / (v.max() - v.min())
    return np.round(img * 255)


# Random-weight models whose activations vanish (mobilenet_v2's shrink 10x
# every few blocks: rms 2e-5 at block 9, 1.5e-9 at the classifier, below
# fp16's smallest subnormal): the test rescales their weights first.
RESCALE = {"mobilenet_v2.onnx"}


def rescale(model):
    """Every Conv / Gemm weight scaled to He's fan-in variance 2 / fan_in,
    so activations keep a unit scale through the depth."""
    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type in ("Conv", "Gemm"):
            t = inits[node.input[1]]
            w = numpy_helper.to_array(t).astype(np.float64)
            fan_in = w[0].size if node.op_type == "Conv" else w.shape[1]
            w *= np.sqrt(2 / (fan_in * np.mean(w**2)))
            t.CopyFrom(numpy_helper.from_array(w.astype(np.float32), t.name))


def add_checkpoints(model):
    """Adds graph outputs inside the network, where a bug shows before a
    softmax or sigmoid hides it: the Conv outputs at 1/4, 1/2 and 3/4 of the
    Conv nodes, and every input of a Softmax. Returns their names."""
    convs = [n.output[0] for n in model.graph.node if n.op_type == "Conv"]
    names = [convs[len(convs) * q // 4] for q in (1, 2, 3)]
    names += [n.input[0] for n in model.graph.node if n.op_type == "Softmax"]
    outs = {o.name for o in model.graph.output}
    names = [n for n in dict.fromkeys(names) if n not in outs]
    for n in names:
        model.graph.output.append(onnx.helper.make_value_info(n, onnx.TypeProto()))
    return names


def depth(model):
    """The most fp16 roundings on any path from the input to an output."""
    d = {}
    for node in model.graph.node:  # ONNX nodes are topologically sorted
        here = max((d.get(i, 0) for i in node.input), default=0)
        here += node.op_type in ROUNDING
        for o in node.output:
            d[o] = here
    return max(d.get(o.name, 0) for o in model.graph.output)


def main():
    rel = sys.argv[1]
    name = rel.rsplit("/", 1)[-1]
    model = onnx.load(ou.shared(rel))
    if name in RESCALE:
        rescale(model)
    checkpoints = add_checkpoints(model)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name)
        onnx.save(model, path)
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.log_severity_level = 3
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0]
        dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
        x = INPUTS[name](pixels(inp.shape)).astype(np.float32)
        want = sess.run(None, {inp.name: x.astype(dtype)})
        want = dict(zip([o.name for o in sess.get_outputs()], want))
        got = ou.run_aneforge(path, [x])
    print(f"{name}: {'rescaled weights, ' if name in RESCALE else ''}"
          f"checkpoints {checkpoints}")
    ok = True
    for out_name, ref in want.items():
        sub = onnx.utils.Extractor(model).extract_model([inp.name], [out_name])
        dep = depth(sub)
        # tests/oracles/README.md: each fp16 rounding on a path adds at most
        # u = 2^-11 of the magnitudes it rounds; the errors add up about
        # linearly with depth, in proportion to the tensor's largest values
        # (cancellation can make one element arbitrarily small, so the bound
        # is absolute), with a margin of 4; the relative RMS error, where
        # systematic errors show first, within 2 u per rounding.
        ref = np.asarray(ref, np.float32)
        atol = 4 * dep * ou.ULP16 * float(np.abs(ref).max())
        ok &= ou.compare(f"{name}:{out_name} (depth {dep})", got[out_name], ref, 0.0, atol)
        rms = float(np.sqrt(np.mean(ref.astype(np.float64) ** 2)))
        err = float(np.sqrt(np.mean((got[out_name] - ref.astype(np.float64)) ** 2))) / rms
        print(f"  relative rms error {err:.3g} = {err / ou.ULP16:.3g} u (bound {2 * dep} u)")
        ok &= err <= 2 * dep * ou.ULP16
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
