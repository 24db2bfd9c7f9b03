"""heads.py - the YOLO and grid decoders against numpy references.

    heads.py DUMP_PIXELS DECODE_HEAD ANEFORGE

- FastestDet (../shared/models/fastestdet): ONNX Runtime runs FastestDet.onnx on
  3.jpg (resized to 352x352 by DUMP_PIXELS, gdk-pixbuf bilinear, BGR, p / 255);
  the raw [1,85,22,22] head goes through DECODE_HEAD (aneforge's grid decoder)
  and through the README's reference decode in fp64 numpy (score =
  obj^0.6 * max(cls)^0.4 > 0.65, tanh offsets, sigmoid sizes, class-wise greedy
  NMS at IoU 0.45). Every reference box needs a box of the same class with
  IoU >= 0.99 (the same head: fp16 rounding only), and the counts must be equal.
- FastestDet end to end: ANEFORGE imports FastestDet.onnx (--bgr, p / 255,
  --decode grid) and runs it on 3.jpg; its boxes (in image pixels) must match
  the same reference decode of ONNX Runtime's head, scaled to the image, with
  IoU >= 0.9 per box, equal classes and counts.
- yolov8 [1,84,8400] and yolov5 [1,25200,85]: random heads with planted,
  overlapping boxes, decoded by DECODE_HEAD and by a numpy reference of the
  same rules on the fp16-rounded head; boxes must agree within 0.05 px,
  scores within 1e-5, classes and order exactly.
- keypoints: LiteRT runs Coral's MoveNet Lightning on squat.bmp (192x192 by
  DUMP_PIXELS); its [1,1,17,3] output through DECODE_HEAD (keypoints:movenet)
  must give every point within 0.1 px of LiteRT's own numbers (fp16 output
  rounding); the distances to Coral's reference CSV are printed (up to 8 px:
  Coral resized squat.bmp its own way, this test uses gdk-pixbuf bilinear).
- segmentation: LiteRT runs MediaPipe's selfie segmentation (from the
  mediapipe wheel's cache) on person.jpg; its [1,256,256,1] mask through
  DECODE_HEAD (segmentation, threshold 0.5) must agree with numpy's
  threshold on >= 99.5% of the pixels (fp16 rounding near 0.5 aside).
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter

SHARED = os.environ.get("AF_SHARED", "../shared")


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(iw, 0) * max(ih, 0)
    ua = max(a[2] - a[0], 0) * max(a[3] - a[1], 0) + max(b[2] - b[0], 0) * max(b[3] - b[1], 0)
    return inter / (ua - inter) if ua - inter > 0 else 0.0


def nms(dets, thr, max_out):
    """dets: [(label, score, x1, y1, x2, y2)]; score desc, index asc; class-wise."""
    order = sorted(range(len(dets)), key=lambda i: (-dets[i][1], i))
    kept = []
    for i in order:
        d = dets[i]
        if all(k[0] != d[0] or not iou(k[2:], d[2:]) > thr for k in kept):
            kept.append(d)
        if len(kept) == max_out:
            break
    return kept


def run_raw(decode_head, style, head, w, h):
    with tempfile.NamedTemporaryFile(suffix=".f32") as f:
        head.astype("<f4").tofile(f.name)
        shape = "x".join(str(d) for d in head.shape)
        return subprocess.run([decode_head, style, f.name, shape, str(w), str(h)], check=True,
                              capture_output=True, text=True).stdout


def run_decoder(decode_head, style, head, w, h):
    out = run_raw(decode_head, style, head, w, h)
    return [tuple([int(p[0])] + [float(x) for x in p[1:]])
            for p in (line.split() for line in out.splitlines())]


FD_MODEL = os.path.join(SHARED, "models", "fastestdet", "FastestDet.onnx")
FD_IMAGE = os.path.join(SHARED, "models", "fastestdet", "3.jpg")


def fastestdet_ref(dump):
    """ONNX Runtime's head on 3.jpg and the README's decode: (head, boxes in 352 px)."""
    model, image = FD_MODEL, FD_IMAGE
    with tempfile.NamedTemporaryFile(suffix=".rgb") as f:
        subprocess.run([dump, image, "352", "352", f.name], check=True, capture_output=True)
        rgb = np.fromfile(f.name, np.uint8).reshape(352, 352, 3)
    x = (rgb[:, :, ::-1].astype(np.float32) / 255).transpose(2, 0, 1)[None]
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    head = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    assert head.shape == (1, 85, 22, 22), head.shape
    d = head[0].astype(np.float64)
    ref = []
    for r in range(22):
        for c in range(22):
            obj, cls = d[0, r, c], d[5:, r, c]
            score = obj ** 0.6 * cls.max() ** 0.4
            if not score > 0.65:
                continue
            cx, cy = (c + np.tanh(d[1, r, c])) / 22, (r + np.tanh(d[2, r, c])) / 22
            bw, bh = 1 / (1 + np.exp(-d[3, r, c])), 1 / (1 + np.exp(-d[4, r, c]))
            box = np.clip([(cx - bw / 2) * 352, (cy - bh / 2) * 352, (cx + bw / 2) * 352,
                           (cy + bh / 2) * 352], 0, 352)
            ref.append((int(cls.argmax()), score, *box))
    return head, nms(ref, 0.45, 100)


def match_boxes(name, ref, got, min_iou):
    fails = 0
    for rb in ref:
        best = max((iou(rb[2:], g[2:]) for g in got if g[0] == rb[0]), default=0)
        ok = best >= min_iou
        fails += not ok
        print(f"{'ok' if ok else 'FAIL'} {name} class {rb[0]} score {rb[1]:.3f} "
              f"box [{rb[2]:.1f} {rb[3]:.1f} {rb[4]:.1f} {rb[5]:.1f}] best IoU {best:.4f}")
    if len(got) != len(ref) or not ref:
        print(f"FAIL {name}: {len(got)} boxes, reference {len(ref)}")
        fails += 1
    return fails


def fastestdet(dump, decode_head):
    head, ref = fastestdet_ref(dump)
    # the same head on both sides: only fp16 rounding of the head separates them
    return match_boxes("fastestdet", ref, run_decoder(decode_head, "grid", head, 352, 352), 0.99)


def jpeg_size(path):
    """(width, height) from a JPEG's start-of-frame segment."""
    data = open(path, "rb").read()
    i = 2
    while i + 9 < len(data):
        marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        i += 2 + length
    raise ValueError(f"{path}: no JPEG start-of-frame segment")


def fastestdet_e2e(dump, aneforge):
    """The importer, the CPU backend and the grid decoder together on 3.jpg."""
    _, ref = fastestdet_ref(dump)
    with tempfile.TemporaryDirectory() as tmp:
        graph = os.path.join(tmp, "fd.json")
        subprocess.run([aneforge, "import", FD_MODEL, "-o", graph, "--bgr", "--scale",
                        "0.00392156863", "--decode", "grid"], check=True, capture_output=True)
        out = subprocess.run([aneforge, "run", graph, "--image", FD_IMAGE], check=True,
                             capture_output=True, text=True).stdout
    w, h = jpeg_size(FD_IMAGE)
    sx, sy = w / 352, h / 352
    ref = [(c, sc, x0 * sx, y0 * sy, x1 * sx, y1 * sy) for c, sc, x0, y0, x1, y1 in ref]
    got = []
    for line in out.splitlines():
        b = re.match(r"\s*\d+\. \[([-\d.]+), ([-\d.]+), ([-\d.]+), ([-\d.]+)\] score ([\d.]+) "
                     r"class (\d+)", line)
        if b:
            got.append((int(b.group(6)), float(b.group(5)), *map(float, b.group(1, 2, 3, 4))))
    return match_boxes("fastestdet end to end", ref, got, 0.9)


def yolo(decode_head, style, rng):
    n, c = (8400, 80) if style == "yolov8" else (25200, 80)
    rows = np.zeros((n, 5 + c), np.float32)  # v5 layout: box, obj, classes
    rows[:, 0:2] = rng.uniform(0, 640, (n, 2))
    rows[:, 2:4] = rng.uniform(4, 200, (n, 2))
    rows[:, 4] = rng.uniform(0, 0.3, n)
    rows[:, 5:] = rng.uniform(0, 0.2, (n, c))
    planted = rng.choice(n, 60, replace=False)
    for k, i in enumerate(planted):
        rows[i, 4] = rng.uniform(0.5, 1)
        rows[i, 5 + rng.integers(c)] = rng.uniform(0.3, 1)
        if k % 3 and k > 0:  # a near copy of the previous planted box, same class: NMS work
            j = planted[k - 1]
            rows[i] = rows[j]
            rows[i, :4] += rng.uniform(-6, 6, 4)
            rows[i, 4] *= rng.uniform(0.8, 1.2)
    rows[planted[5], 0:4] = [-20, 630, 100, 60]  # crosses the border: clipped
    if style == "yolov8":
        head = np.concatenate([rows[:, :4], rows[:, 5:]], 1).T[None]  # [1, 4+C, N]
    else:
        head = rows[None]
    h = head.astype(np.float16).astype(np.float64)[0]
    if style == "yolov8":
        box, cls = h[:4].T, h[4:].T
        score, label = cls.max(1), cls.argmax(1)
        keep = score >= np.float32(0.25)
    else:
        box, obj, cls = h[:, :4], h[:, 4], h[:, 5:]
        label = cls.argmax(1)
        score = (obj.astype(np.float32) * cls.max(1).astype(np.float32)).astype(np.float64)
        keep = (obj >= np.float32(0.25)) & (score >= np.float32(0.25))
    dets = []
    for i in np.nonzero(keep)[0]:
        cx, cy, w, hh = box[i]
        b = np.clip([cx - w / 2, cy - hh / 2, cx + w / 2, cy + hh / 2], 0, 640)
        dets.append((int(label[i]), float(score[i]), *b))
    iou_thr = 0.7 if style == "yolov8" else 0.45
    ref = nms(dets, iou_thr, 300)
    got = run_decoder(decode_head, style, head, 640, 640)
    fails = 0
    if len(got) != len(ref):
        print(f"FAIL {style}: {len(got)} boxes, reference {len(ref)}")
        return 1
    for r, g in zip(ref, got):
        ok = r[0] == g[0] and abs(r[1] - g[1]) < 1e-5 and max(abs(np.subtract(r[2:], g[2:]))) < 0.05
        fails += not ok
        if not ok:
            print(f"FAIL {style}: reference {r}, aneforge {g}")
    print(f"{'ok' if not fails else 'FAIL'} {style}: {len(ref)} boxes of {len(dets)} candidates")
    return fails


def rgb_of(dump, image, w, h):
    with tempfile.NamedTemporaryFile(suffix=".rgb") as f:
        subprocess.run([dump, image, str(w), str(h), f.name], check=True, capture_output=True)
        return np.fromfile(f.name, np.uint8).reshape(h, w, 3)


def litert(model, x):
    it = Interpreter(model_path=model)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def movenet(dump, decode_head):
    coral = os.path.join(SHARED, "models", "coral")
    rgb = rgb_of(dump, os.path.join(coral, "squat.bmp"), 192, 192)
    out = litert(os.path.join(coral, "movenet_single_pose_lightning_ptq.tflite"), rgb[None])
    got = [tuple(map(float, line.split()))
           for line in run_raw(decode_head, "keypoints:movenet", out, 192, 192).splitlines()]
    ref = {}
    with open(os.path.join(coral, "movenet_single_pose_lightning_ptq_reference.csv")) as f:
        next(f)
        for line in f:
            _, _, k, score, x, y = line.split(",")
            ref[int(k)] = (float(x) * 192, float(y) * 192)
    fails = 0 if len(got) == 17 else 1
    worst_ref = worst_rt = 0.0
    for k, g in enumerate(got):
        err = np.hypot(g[0] - ref[k][0], g[1] - ref[k][1])
        print(f"   keypoint {k}: score {g[2]:.3f}, {err:.2f} px from Coral's reference")
        worst_ref = max(worst_ref, err)
        yx = out[0, 0, k]
        worst_rt = max(worst_rt, np.hypot(g[0] - yx[1] * 192, g[1] - yx[0] * 192))
    fails += worst_rt > 0.1  # fp16 steps of the outputs: 0.094 px at 192 near 1
    print(f"{'ok' if not fails else 'FAIL'} movenet: 17 keypoints, worst {worst_ref:.3f} px from "
          f"Coral's reference, {worst_rt:.4f} px from LiteRT's output")
    return fails


def selfie(dump, decode_head):
    model = os.path.expanduser("~/.cache/aneforge/mediapipe-0.10.21/selfie_segmentation.tflite")
    rgb = rgb_of(dump, os.path.join(SHARED, "media", "person.jpg"), 256, 256)
    out = litert(model, (rgb[None].astype(np.float32) / 255))
    out = out.reshape(1, 1, 256, 256)  # NCHW, as the element's output views are
    lines = run_raw(decode_head, "segmentation", out, 256, 256).splitlines()
    assert lines[0] == "mask 256 256", lines[0]
    mask = np.array(lines[1].split(), np.uint8).reshape(256, 256)
    ref = (out[0, 0] >= 0.5).astype(np.uint8)
    agree = float((mask == ref).mean())
    ok = agree >= 0.995 and 0.01 < ref.mean() < 0.99
    print(f"{'ok' if ok else 'FAIL'} selfie segmentation: {agree:.5f} pixel agreement, "
          f"person {ref.mean():.3f} of the frame")
    return 0 if ok else 1


def main():
    dump, decode_head, aneforge = sys.argv[1], sys.argv[2], sys.argv[3]
    rng = np.random.default_rng(17)
    fails = fastestdet(dump, decode_head)
    fails += fastestdet_e2e(dump, aneforge)
    fails += yolo(decode_head, "yolov8", rng)
    fails += yolo(decode_head, "yolov5", rng)
    fails += movenet(dump, decode_head)
    fails += selfie(dump, decode_head)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
