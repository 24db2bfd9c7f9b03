"""ort_import.py CASE: the ONNX importer on models made here from real ones
in ../shared, each against ONNX Runtime on the same input.

  unsorted     mnist.onnx converted to fp16 (fp16 weights, a float input Cast
               to fp16 by a node listed LAST, a Cast back to float at the end)
               and, second, mnist with its node list reversed: both import
               (topological sort) and equal ORT within the fp16 bound.
  input-shape  mnist with its input's H and W made symbolic: refused without
               --input-shape, equal to ORT with Input3=1x1x28x28, and a rank
               or fixed-dim disagreement refused with a message naming them.
  qdq          SqueezeNet (fp16 file, made fp32) quantized by
               onnxruntime.quantization.quantize_static (QDQ format, int8
               weights and activations, calibrated on three real images),
               per tensor and per channel: top-1 and the top-5 set (up to
               ties of the quantized output) equal to ORT's on the quantized
               model as ONNX defines it (ORT with optimizations off), top-1
               equal to ORT with its fused integer kernels, for fish.png and
               kitten_224.png.
"""
import os
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort
from onnx import helper, numpy_helper, TensorProto

import oracle_util as ou
from ort_models import depth, pixels


def session(path, optimize=True):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    if not optimize:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def within_bound(name, model, got, want):
    """ort_models.py's rule: |diff| <= 4 * depth * u * max |ref|."""
    dep = max(depth(model), 1)
    atol = 4 * dep * ou.ULP16 * float(np.abs(want).max())
    return ou.compare(f"{name} (depth {dep})", got, want, 0.0, atol)


# ---------------------------------------------------------------- unsorted


def fp16_input_cast_last(model):
    """mnist in fp16 the way converters write it: float initializers made
    fp16, graph input and output kept float with Casts around the network,
    the input Cast appended at the end of the node list."""
    g = model.graph
    for t in g.initializer:
        if t.data_type == TensorProto.FLOAT:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    del g.value_info[:]
    made16 = {t.name for t in g.initializer if t.data_type == TensorProto.FLOAT16}
    for v in g.input:  # old files list initializers as graph inputs too
        if v.name in made16:
            v.type.tensor_type.elem_type = TensorProto.FLOAT16
    inp, out = g.input[0].name, g.output[0].name
    for node in g.node:
        for i, x in enumerate(node.input):
            if x == inp:
                node.input[i] = inp + "_fp16"
        for i, x in enumerate(node.output):
            if x == out:
                node.output[i] = out + "_fp16"
    g.node.append(helper.make_node("Cast", [out + "_fp16"], [out], to=TensorProto.FLOAT))
    g.node.append(helper.make_node("Cast", [inp], [inp + "_fp16"], to=TensorProto.FLOAT16))
    return model


def case_unsorted(tmp):
    ok = True
    x = pixels((1, 1, 28, 28))
    for label in ("fp16-cast-last", "reversed"):
        model = onnx.load(ou.shared("models/mnist/mnist.onnx"))
        if label == "reversed":
            nodes = list(model.graph.node)[::-1]
            del model.graph.node[:]
            model.graph.node.extend(nodes)
        else:
            model = fp16_input_cast_last(model)
        if label != "reversed":
            assert model.graph.node[-1].op_type == "Cast"  # the input's, listed last
        path = os.path.join(tmp, f"mnist-{label}.onnx")
        onnx.save(model, path)
        sess = session(path)
        want = sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0]
        got = list(ou.run_aneforge(path, [x]).values())[0]
        ordered = onnx.load(ou.shared("models/mnist/mnist.onnx"))
        ok &= within_bound(f"mnist {label}", ordered, got.reshape(want.shape), want)
    return ok


# ---------------------------------------------------------------- input-shape


def cli(*args):
    p = subprocess.run([ou.cli(), *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def case_input_shape(tmp):
    model = onnx.load(ou.shared("models/mnist/mnist.onnx"))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    name = model.graph.input[0].name
    dims[2].dim_param = "height"
    dims[3].dim_param = "width"
    path = os.path.join(tmp, "mnist-symbolic.onnx")
    onnx.save(model, path)
    ok = True
    rc, msg = cli("inspect", path)
    print(f"without --input-shape: exit {rc}: {msg.strip()}")
    ok &= rc != 0 and "dim 2 is symbolic" in msg and "--input-shape" in msg
    for spec, expect in ((f"{name}=1x1x28", "has rank 4"),
                         (f"{name}=1x3x28x28", "dim 1 is 1 in the model"),
                         (f"{name}=1x1x28xq", "expected dims"),
                         ("nosuch=1x1x28x28", "no input named \"nosuch\"")):
        rc, msg = cli("inspect", path, "--input-shape", spec)
        print(f"--input-shape {spec}: exit {rc}: {msg.strip()}")
        ok &= rc != 0 and expect in msg
    # run with the shape fixed: the same answer as ORT
    x = pixels((1, 1, 28, 28))
    raw = os.path.join(tmp, "in.bin")
    x.astype("<f2").tofile(raw)
    out = os.path.join(tmp, "out.safetensors")
    rc, msg = cli("run", path, "--input-shape", f"{name}=1x1x28x28", "--raw", raw,
                  "--save-outputs", out)
    if rc != 0:
        print(msg)
        return False
    got = list(ou.read_safetensors(out).values())[0].astype(np.float32)
    sess = session(path)
    want = sess.run(None, {name: x.astype(np.float32)})[0]
    ok &= within_bound("mnist symbolic H, W fixed to 28x28", model, got.reshape(want.shape), want)
    return ok


# ---------------------------------------------------------------- qdq


def read_png(path):
    """An 8-bit RGB / RGBA non-interlaced PNG as an HxWx3 uint8 array."""
    blob = open(path, "rb").read()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(blob):
        n = int.from_bytes(blob[pos:pos + 4], "big")
        kind, body = blob[pos + 4:pos + 8], blob[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            bits, ctype, interlace = body[8], body[9], body[12]
            assert bits == 8 and ctype in (2, 6) and interlace == 0, path
            ch = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * ch
    img = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for i in range(stride):
            a = cur[i - ch] if i >= ch else 0
            b = prev[i]
            c = prev[i - ch] if i >= ch else 0
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[i] = (line[i] + p) & 255
        img[y] = cur
        prev = cur
    return img.reshape(h, w, ch)[:, :, :3]


def read_bmp_center(path, size=224):
    """The centre @size x @size crop of a 24-bit BMP, HxWx3 RGB."""
    blob = open(path, "rb").read()
    off = int.from_bytes(blob[10:14], "little")
    w = int.from_bytes(blob[18:22], "little", signed=True)
    h = int.from_bytes(blob[22:26], "little", signed=True)
    stride = (w * 3 + 3) & ~3
    rows = np.frombuffer(blob, np.uint8, stride * abs(h), off).reshape(abs(h), stride)
    img = rows[:, :w * 3].reshape(abs(h), w, 3)[:, :, ::-1]
    if h > 0:
        img = img[::-1]
    y, x = (abs(h) - size) // 2, (w - size) // 2
    return img[y:y + size, x:x + size]


def bgr_nchw(rgb):
    """SqueezeNet's input: BGR 0..255, NCHW float32."""
    return rgb[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)


def squeezenet_fp32(path):
    model = onnx.load(ou.shared("models/squeezenet/SqueezeNet_fp16.onnx"))
    for t in model.graph.initializer:
        if t.data_type == TensorProto.FLOAT16:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float32), t.name))
    for v in list(model.graph.input) + list(model.graph.output) + list(model.graph.value_info):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT16:
            v.type.tensor_type.elem_type = TensorProto.FLOAT
    # opset 13: per-axis DequantizeLinear (the per-channel weights) needs it
    model = onnx.version_converter.convert_version(model, 13)
    onnx.save(model, path)


def grid_checkpoints(qmodel, path, name, x):
    """Inside the network every activation is a grid value q * scale: at
    each activation DequantizeLinear output, ours must lie on the grid
    (within the fp16 representation of q * scale: 0.2 steps), and after the
    first Conv our q must equal ORT's (as defined) for at least 98% of the
    elements and by 1 step anywhere (the Conv computes in fp16). Deeper, the
    one-step differences compound through the integer grid (printed)."""
    inits = {t.name: t for t in qmodel.graph.initializer}
    producer = {o: n for n in qmodel.graph.node for o in n.output}
    points = []
    for n in qmodel.graph.node:
        if n.op_type == "DequantizeLinear" and n.input[0] not in inits:
            scale = float(numpy_helper.to_array(inits[n.input[1]]))
            q = producer[n.input[0]]
            src = producer.get(q.input[0])
            points.append((n.output[0], scale, src is not None and src.op_type in ("Conv", "Relu")))
    for out, _, _ in points:
        qmodel.graph.output.append(helper.make_value_info(out, onnx.TypeProto()))
    probe = path.replace(".onnx", "-probe.onnx")
    onnx.save(qmodel, probe)
    sess = session(probe, optimize=False)
    want = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {name: x})))
    got = ou.run_aneforge(probe, [x])
    ok, first, off_worst, eq = True, True, 0.0, []
    for out, scale, after_conv in points:
        g = np.asarray(got[out], np.float64) / scale
        qw = np.round(np.asarray(want[out], np.float64) / scale)
        qg = np.round(g).reshape(qw.shape)
        off = float(np.abs(g - np.round(g)).max())
        off_worst = max(off_worst, off)
        eq.append(float(np.mean(qw == qg)))
        if after_conv and first:
            first = False
            worst = float(np.abs(qw - qg).max())
            print(f"  first conv's activation {out}: q equal for {eq[-1]:.2%} (bound 98%), "
                  f"worst {worst:.0f} step (bound 1)")
            ok &= eq[-1] >= 0.98 and worst <= 1
    print(f"  {len(points)} activation checkpoints: off the grid by at most {off_worst:.3f} steps "
          f"(bound 0.2); q equal for {min(eq):.1%} .. {max(eq):.1%}")
    return ok and off_worst <= 0.2


def case_qdq(tmp):
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    images = {
        "fish.png": bgr_nchw(read_png(ou.shared("media/fish.png"))),
        "kitten_224.png": bgr_nchw(read_png(ou.shared("media/kitten_224.png"))),
    }
    calib = list(images.values()) + [bgr_nchw(read_bmp_center(ou.shared("media/cat.bmp")))]
    fp32 = os.path.join(tmp, "squeezenet-fp32.onnx")
    squeezenet_fp32(fp32)
    g = onnx.load(fp32).graph
    name = [v.name for v in g.input if v.name not in {t.name for t in g.initializer}][0]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{name: x} for x in calib])

        def get_next(self):
            return next(self.it, None)

    ok = True
    for per_channel in (False, True):
        label = "per-channel" if per_channel else "per-tensor"
        path = os.path.join(tmp, f"squeezenet-qdq-{label}.onnx")
        quantize_static(fp32, path, Reader(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        per_channel=per_channel)
        qmodel = onnx.load(path)
        ops = sorted({n.op_type for n in qmodel.graph.node})
        print(f"{label}: {os.path.getsize(path)} bytes, ops {ops}")
        ok &= grid_checkpoints(qmodel, path, name, images["fish.png"])
        # The reference is ORT evaluating the QDQ graph as ONNX defines it
        # (QuantizeLinear, DequantizeLinear, float ops: optimizations off).
        # With its default optimizations ORT swaps in fused integer kernels
        # whose requantization rounds differently (kitten, per tensor: tabby
        # 0.518 there, 0.792 as defined): printed, and held to top-1 only.
        ref = session(path, optimize=False)
        fused = session(path)
        for img, x in images.items():
            want = ref.run(None, {name: x})[0].reshape(-1)
            opt = fused.run(None, {name: x})[0].reshape(-1)
            got = list(ou.run_aneforge(path, [x]).values())[0].reshape(-1)
            w5, g5, o5 = (list(map(int, np.argsort(-v, kind="stable")[:5])) for v in (want, got, opt))
            # the output is itself quantized (steps of 1/255): classes within
            # one step of the 5th may stand in for each other
            step = float(want[want > 0].min())
            w6 = np.sort(want)[-6]
            must = {k for k in w5 if want[k] > w6 + step * 1.001}
            same = (w5[0] == g5[0] and must <= set(g5)
                    and all(want[k] >= want[w5[4]] - step * 1.001 for k in g5))
            print(f"  {img}: ORT (as defined) top-5 {w5} p={want[w5[0]]:.3f}; aneforge {g5} "
                  f"p={got[g5[0]]:.3f}: {'equal' if same else 'DIFFERENT'}; ORT fused kernels "
                  f"{o5} p={opt[o5[0]]:.3f}")
            ok &= bool(same) and o5[0] == g5[0]
    return ok


def main():
    case = sys.argv[1]
    fn = {"unsorted": case_unsorted, "input-shape": case_input_shape, "qdq": case_qdq}[case]
    with tempfile.TemporaryDirectory() as tmp:
        ok = fn(tmp)
    print("ok" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
