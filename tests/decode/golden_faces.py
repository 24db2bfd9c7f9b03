"""golden_faces.py - the generator of tests/decode/golden-faces.txt.

    golden_faces.py DUMP_PIXELS --write FILE   regenerate the goldens
    golden_faces.py DUMP_PIXELS --check FILE   compare them with ORT's live answer

Each image of ../shared/media is resized exactly as test-decode-models.c does
(DUMP_PIXELS: gdk-pixbuf bilinear), run through ONNX Runtime (CPU, fp32) on the
original .onnx file, or LiteRT on MediaPipe's BlazeFace (the mediapipe wheel's
face_detection_short_range.tflite, input p / 127.5 - 1), and decoded in fp64
with the rules of ../shared/models/README.md and docs/decoders.md; boxes are
clipped to the input, kept by greedy NMS at IoU 0.3 and stretched to frame
pixels. --check fails when a box moved by more than 0.01 px, a score by more
than 0.005, or the box count changed.
"""
import functools
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter

SHARED = os.environ.get("AF_SHARED", "../shared")
IMAGES = ["face.jpg", "grace_hopper.bmp", "cat.bmp"]
ULTRAFACE = ["version-slim-320_simplified.onnx", "version-RFB-320_simplified.onnx",
             "version-RFB-320.onnx"]
YUNET = "yunet_n_320_320.onnx"
BLAZEFACE = "face_detection_short_range.tflite"
HEADER = """\
# Golden face boxes from ONNX Runtime {ort} (PyPI onnxruntime, CPU, fp32) and, for
# MediaPipe's BlazeFace, LiteRT {litert} (PyPI ai-edge-litert), used by test-decode-models.c
# for IoU checks. Written by tests/decode/golden_faces.py (`meson test oracle-golden-faces`
# compares them with the runtimes' live answers): each image of ../shared/media is resized
# with gdk-pixbuf (gdk_pixbuf_scale_simple, GDK_INTERP_BILINEAR) to the model input exactly as
# the test does (UltraFace 320x240 RGB, (p-127)/128; YuNet 320x320 BGR 0..255; BlazeFace
# 128x128 RGB, p/127.5-1), run on the original model file, and decoded in fp64 numpy with
# the rules of ../shared/models/README.md / docs/decoders.md (UltraFace: priors, threshold 0.7;
# version-RFB-320.onnx: boxes as given; YuNet: sqrt(cls*obj) >= 0.6; BlazeFace: MediaPipe's
# anchors, sigmoid >= 0.5; boxes clipped to the input, greedy NMS at IoU 0.3), then stretched
# to frame pixels. cat.bmp gives no box.
# Columns: model image x1 y1 x2 y2 score
"""


def pixels(dump, image, w, h):
    """(RGB uint8 [h, w, 3], original width, original height)"""
    with tempfile.NamedTemporaryFile(suffix=".rgb") as f:
        out = subprocess.run([dump, os.path.join(SHARED, "media", image), str(w), str(h), f.name],
                             check=True, capture_output=True, text=True).stdout
        rgb = np.fromfile(f.name, np.uint8).reshape(h, w, 3)
    fw, fh = map(int, out.split())
    return rgb, fw, fh


@functools.lru_cache(maxsize=None)
def session(model):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # UltraFace's initializers-as-inputs warnings
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def iou(a, b):
    iw = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / union if union > 0 else 0.0


def nms(boxes, scores, thr=0.3):
    """Greedy NMS: score descending, lower index first on ties; drops IoU > thr."""
    kept = []
    for i in sorted(range(len(scores)), key=lambda i: (-scores[i], i)):
        if all(iou(boxes[i], boxes[k]) <= thr for k in kept):
            kept.append(i)
    return [(boxes[i], scores[i]) for i in kept]


def ultraface_priors():
    fms = [(40, 30), (20, 15), (10, 8), (5, 4)]
    mins = [[10, 16, 24], [32, 48], [64, 96], [128, 192, 256]]
    p = [((i + .5) / fw, (j + .5) / fh, m / 320, m / 240)
         for (fw, fh), ms in zip(fms, mins) for j in range(fh) for i in range(fw) for m in ms]
    return np.clip(np.array(p, np.float64), 0, 1)


def ultraface(model, rgb):
    x = ((rgb.astype(np.float32) - 127) / 128).transpose(2, 0, 1)[None]
    sess = session(model)
    scores, boxes = sess.run(["scores", "boxes"], {"input": x})
    s, r = scores[0, :, 1].astype(np.float64), boxes[0].astype(np.float64)
    if not model.endswith("simplified.onnx"):
        corners = r
    else:
        p = ultraface_priors()
        cx, cy = r[:, 0] * 0.1 * p[:, 2] + p[:, 0], r[:, 1] * 0.1 * p[:, 3] + p[:, 1]
        w, h = np.exp(r[:, 2] * 0.2) * p[:, 2], np.exp(r[:, 3] * 0.2) * p[:, 3]
        corners = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    keep = s >= 0.7
    px = np.clip(corners[keep], 0, 1) * [320, 240, 320, 240]
    return nms(list(px), list(s[keep])), (320, 240)


def yunet(model, rgb):
    x = rgb[:, :, ::-1].astype(np.float32).transpose(2, 0, 1)[None]
    sess = session(model)
    names = [o.name for o in sess.get_outputs()]
    out = dict(zip(names, sess.run(names, {"input": x})))
    boxes, scores = [], []
    for st in (8, 16, 32):
        cols = 320 // st
        cls = np.clip(out[f"cls_{st}"][0, :, 0].astype(np.float64), 0, 1)
        obj = np.clip(out[f"obj_{st}"][0, :, 0].astype(np.float64), 0, 1)
        b = out[f"bbox_{st}"][0].astype(np.float64)
        s = np.sqrt(cls * obj)
        for i in np.nonzero(s >= 0.6)[0]:
            row, col = divmod(int(i), cols)
            cx, cy = (col + b[i, 0]) * st, (row + b[i, 1]) * st
            w, h = np.exp(b[i, 2]) * st, np.exp(b[i, 3]) * st
            boxes.append(np.clip([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 0, 320))
            scores.append(s[i])
    return nms(boxes, scores), (320, 320)


def blazeface_anchors():
    """MediaPipe's SsdAnchorsCalculator for face_detection_short_range: strides
    8, 16, 16, 16, 2 anchors per layer and cell, same-stride layers merged per
    cell; (cx, cy) in input pixels."""
    out = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = 128 // stride
        for y in range(cells):
            for x in range(cells):
                out += [((x + 0.5) * stride, (y + 0.5) * stride)] * per_cell
    return np.array(out)


def blazeface_decode(regressors, logits):
    """[(box, score)] in input pixels: sigmoid (clamped logit) >= 0.5, boxes
    relative to the anchor centre, clipped to the input, greedy NMS."""
    a, r = blazeface_anchors(), regressors[0].astype(np.float64)
    s = 1 / (1 + np.exp(-np.clip(logits[0, :, 0].astype(np.float64), -100, 100)))
    keep = np.nonzero(s >= 0.5)[0]
    cx, cy = r[keep, 0] + a[keep, 0], r[keep, 1] + a[keep, 1]
    w, h = r[keep, 2], r[keep, 3]
    boxes = np.clip(np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1), 0, 128)
    return nms(list(boxes), list(s[keep]))


def litert(model, x):
    """LiteRT's outputs on float32 NHWC @x, by name."""
    it = Interpreter(model_path=model)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}


def blazeface(model, rgb):
    out = litert(model, (rgb[None] / 127.5 - 1).astype(np.float32))
    return blazeface_decode(out["regressors"], out["classificators"]), (128, 128)


def mediapipe_model(name):
    cache = os.environ.get("AF_CACHE", os.path.expanduser("~/.cache/aneforge"))
    return os.path.join(cache, "mediapipe-0.10.21", name)


def goldens(dump):
    rows = []
    for name in ULTRAFACE + [YUNET, BLAZEFACE]:
        if name == BLAZEFACE:
            model, run, size = mediapipe_model(name), blazeface, (128, 128)
        else:
            sub = "yunet" if name == YUNET else "ultraface"
            model = os.path.join(SHARED, "models", sub, name)
            run, size = (yunet, (320, 320)) if name == YUNET else (ultraface, (320, 240))
        for image in IMAGES:
            rgb, fw, fh = pixels(dump, image, *size)
            dets, (iw, ih) = run(model, rgb)
            for b, s in dets:
                sx, sy = fw / iw, fh / ih
                rows.append((name, image, b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy, s))
    return rows


def litert_version():
    from importlib.metadata import version
    return version("ai-edge-litert")


def fmt(r):
    return "%s %s %.2f %.2f %.2f %.2f %.2f" % r


def read(path):
    rows = []
    for line in open(path):
        if line.strip() and not line.startswith("#"):
            f = line.split()
            rows.append((f[0], f[1]) + tuple(float(v) for v in f[2:]))
    return rows


def check(rows, path):
    """Each committed box against ORT's, in order; returns the failures."""
    old = read(path)
    new = [tuple(r[:2]) + tuple(float("%.2f" % v) for v in r[2:]) for r in rows]
    if [r[:2] for r in old] != [r[:2] for r in new]:
        return ["box counts or order differ:\n  committed %s\n  ORT %s" %
                ([r[:2] for r in old], [r[:2] for r in new])]
    bad, worst = [], (0.0, 0.0)
    for a, b in zip(old, new):
        box = max(abs(u - v) for u, v in zip(a[2:6], b[2:6]))
        worst = (max(worst[0], box), max(worst[1], abs(a[6] - b[6])))
        if box > 0.01 or abs(a[6] - b[6]) > 0.005:
            bad.append("%s\n  committed: %s" % (fmt(b), fmt(a)))
    print("%d golden boxes, max |box difference| %.2f px, max |score difference| %.2f"
          % (len(old), *worst))
    return bad


def main():
    if len(sys.argv) != 4 or sys.argv[2] not in ("--write", "--check"):
        sys.exit(__doc__)
    rows = goldens(sys.argv[1])
    for r in rows:
        print(fmt(r))
    if sys.argv[2] == "--write":
        with open(sys.argv[3], "w") as f:
            f.write(HEADER.format(ort=ort.__version__, litert=litert_version()) + "".join(fmt(r) + "\n" for r in rows))
        return
    bad = check(rows, sys.argv[3])
    for b in bad:
        print("MISMATCH", b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
