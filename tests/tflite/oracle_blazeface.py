"""oracle_blazeface.py DUMP_PIXELS ANEFORGE - BlazeFace (MediaPipe's
face_detection_short_range.tflite from the mediapipe wheel) imported by aneforge
gives LiteRT's outputs on real photos: regressors and classificators within
the fp16 bound below, and the same detections (count, classes, IoU >= 0.9).

Both runtimes see the same input: the photo resized by DUMP_PIXELS (gdk-pixbuf
bilinear, as the tests and the CLI resize), x = p / 127.5 - 1 rounded to fp16,
given to aneforge as fp16 NCHW (`run --raw`) and to LiteRT as float32 NHWC.
LiteRT's outputs are decoded in fp64 with MediaPipe's rules by the golden
generator (tests/decode/golden_faces.py), independently of src/decode.c.
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "decode"))
from golden_faces import blazeface_decode, iou, litert  # noqa: E402 (the golden generator's)

SHARED = os.environ.get("AF_SHARED", "../shared")
MODEL = "face_detection_short_range.tflite"
IMAGES = ["face.jpg", "grace_hopper.bmp", "cat.bmp"]
SIZE = 128
# aneforge rounds every step's output to fp16 (unit roundoff 2^-11; BlazeFace
# has 64 steps, about 32 on its longest path), LiteRT stays fp32: allowed
# |ours - LiteRT| <= 32 * 2^-11 * (|LiteRT| + 8), 8 being the outputs' typical
# magnitude (median |regressor| 6-7, |logit| 4-5), so that values near zero
# get the absolute error of their neighbours
RTOL = 32 * 2.0**-11
ATOL = RTOL * 8
MIN_IOU = 0.9


def model_path():
    cache = os.environ.get("AF_CACHE", os.path.expanduser("~/.cache/aneforge"))
    path = os.path.join(cache, "mediapipe-0.10.21", MODEL)
    if os.path.exists(path):
        return path
    venv = os.environ.get("AF_VENV", os.path.join(os.environ.get("AF_SOURCE_ROOT", "."),
                                                  "build", "venv"))
    marker = os.path.join(os.path.dirname(venv), "pypi-unreachable")
    if os.path.exists(marker):
        print("pypi: %s is missing: %s" % (path, open(marker).read().strip()))
        sys.exit(77)
    sys.exit("%s is missing and PyPI was not found unreachable: run tools/pyenv.sh" % path)


def fp16_input(dump, image, tmp):
    """The fp16-exact input as float32 NHWC [1, 128, 128, 3]."""
    rgb_file = os.path.join(tmp, "in.rgb")
    subprocess.run([dump, os.path.join(SHARED, "media", image), str(SIZE), str(SIZE), rgb_file],
                   check=True, capture_output=True)
    rgb = np.fromfile(rgb_file, np.uint8).reshape(1, SIZE, SIZE, 3)
    return (rgb / 127.5 - 1).astype(np.float16).astype(np.float32)


def aneforge(cli, graph, x, tmp):
    """`aneforge run --raw` on x: its printed stdout."""
    raw = os.path.join(tmp, "in.f16")
    x.transpose(0, 3, 1, 2).astype("<f2").tofile(raw)
    return subprocess.run([cli, "run", graph, "--raw", raw], check=True, capture_output=True,
                          text=True).stdout


def parse_tensors(text):
    """{name: float array} from run's "name [d, ...]" headers and values."""
    out, name, shape, values = {}, None, None, []
    for line in text.splitlines() + ["end [0]"]:
        m = re.match(r"^(\S+) \[([\d, ]+)\]", line)
        if m:
            if name:
                out[name] = np.array(values, np.float64).reshape(shape)
            name, shape, values = m.group(1), [int(d) for d in m.group(2).split(",")], []
        else:
            values += [float(v) for v in line.split()]
    return out


def parse_detections(text):
    """[(box, score, class)] from run's detection lines (input pixels)."""
    pat = r"^\s+\d+\. \[([-\d.]+), ([-\d.]+), ([-\d.]+), ([-\d.]+)\] score ([\d.]+) class (-?\d+)"
    return [(np.array([float(m.group(k)) for k in range(1, 5)]), float(m.group(5)),
             int(m.group(6))) for m in (re.match(pat, l) for l in text.splitlines()) if m]


def compare(image, ours, ref, ours_dets, ref_dets):
    """Failure messages (empty when ours matches LiteRT)."""
    bad = []
    for name in ("regressors", "classificators"):
        diff = np.abs(ours[name] - ref[name])
        bound = ATOL + RTOL * np.abs(ref[name])
        print("%s %s: max |aneforge - LiteRT| %.4g (max |LiteRT| %.4g), worst diff/bound %.3f"
              % (image, name, diff.max(), np.abs(ref[name]).max(), (diff / bound).max()))
        if (diff > bound).any():
            i = np.unravel_index(np.argmax(diff / bound), diff.shape)
            bad.append("%s %s%s: aneforge %g, LiteRT %g" % (image, name, list(i), ours[name][i],
                                                            ref[name][i]))
    print("%s: %d detection(s) from aneforge, %d from LiteRT" % (image, len(ours_dets),
                                                                 len(ref_dets)))
    if len(ours_dets) != len(ref_dets):
        bad.append("%s: %d detections, LiteRT %d" % (image, len(ours_dets), len(ref_dets)))
    for box, score in ref_dets:
        best = max(ours_dets, key=lambda d: iou(box, d[0]), default=None)
        got = iou(box, best[0]) if best else 0.0
        print("  LiteRT %s score %.4f: best IoU %.4f, score %.4f, class %s" % (
            np.round(box, 1), score, got, best[1] if best else 0, best[2] if best else "-"))
        if got < MIN_IOU or best[2] != 0:  # BlazeFace has one class
            bad.append("%s: LiteRT box %s matched with IoU %.3f" % (image, box, got))
    return bad


def main():
    dump, cli = sys.argv[1], sys.argv[2]
    model = model_path()
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        plain, dec = os.path.join(tmp, "plain.json"), os.path.join(tmp, "dec.json")
        for args in ([model, "-o", plain], [model, "-o", dec, "--decode", "blazeface"]):
            subprocess.run([cli, "import"] + args, check=True, capture_output=True)
        for image in IMAGES:
            x = fp16_input(dump, image, tmp)
            ref = litert(model, x)
            ours = parse_tensors(aneforge(cli, plain, x, tmp))
            bad += compare(image, ours, ref, parse_detections(aneforge(cli, dec, x, tmp)),
                           blazeface_decode(ref["regressors"], ref["classificators"]))
    for b in bad:
        print("FAIL", b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
