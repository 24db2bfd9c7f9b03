"""oracle_models.py DUMP_PIXELS ANEFORGE [MODEL...] - the real TFLite models
imported by aneforge give LiteRT's answers on real photos:

- mobilenet_v1_0.5_160_quant (Coral, uint8 in and out): the same top-1 class
  and the same top-5 set, where a class whose LiteRT score is within 3
  quantization steps (3/256) of LiteRT's 5th may take the 5th place;
- deeplabv3_mnv2_dm05_pascal_quant (Coral, uint8 in, int64 argmax out): the
  class map agrees with LiteRT's on >= 95% of the pixels, and on Coral's
  dog_segmentation pair the "pet" pixels (class != background) agree with
  Coral's reference mask (border pixels of the trimap not counted);
- hand_landmark_lite, pose_landmark_lite (MediaPipe, float): every landmark's
  x and y within 2 input pixels of LiteRT's; pose's segmentation mask
  (logit > 0) agrees on >= 95% of the pixels;
- selfie_segmentation (MediaPipe, float, custom Convolution2DTransposeBias):
  the mask (> 0.5) agrees with LiteRT's on >= 95% of the pixels;
- face_landmark (MediaPipe, float, PRELU): 468 landmarks within 2 px.

Both runtimes see the same input: the photo resized by DUMP_PIXELS
(gdk-pixbuf bilinear, as the tests and the CLI resize). uint8 models are
imported with an image port (`import --rgb`), so the port's scale/bias made
from the input quantization is what is tested, and get the uint8 pixels
(`run --raw`, planar); float models get x = p / 255 rounded to fp16 (NCHW),
LiteRT the same values as float32 NHWC. aneforge's outputs come back through
`run --save-outputs` (safetensors, F16).
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
from ai_edge_litert.interpreter import Interpreter

SHARED = os.environ.get("AF_SHARED", "../shared")
CORAL = os.path.join(SHARED, "models", "coral")
MEDIAPIPE = os.path.join(SHARED, "models", "mediapipe")
MIN_AGREE = 0.95
MAX_PX = 2.0
TIE_STEPS = 3


def mediapipe_model(name):
    """The mediapipe wheel's copy (tools/pyenv.sh) when present, else ../shared's;
    neither: a "pypi:" skip when PyPI was found unreachable, else a failure."""
    cache = os.environ.get("AF_CACHE", os.path.expanduser("~/.cache/aneforge"))
    path = os.path.join(cache, "mediapipe-0.10.21", name)
    if os.path.exists(path):
        return path
    if os.path.exists(os.path.join(MEDIAPIPE, name)):
        return os.path.join(MEDIAPIPE, name)
    venv = os.environ.get("AF_VENV", os.path.join(os.environ.get("AF_SOURCE_ROOT", "."),
                                                  "build", "venv"))
    marker = os.path.join(os.path.dirname(venv), "pypi-unreachable")
    if os.path.exists(marker):
        print("pypi: %s is missing: %s" % (path, open(marker).read().strip()))
        sys.exit(77)
    sys.exit("%s is missing and PyPI was not found unreachable: run tools/pyenv.sh" % path)


def pixels(dump, image, w, h, tmp):
    """uint8 HWC RGB of @image resized to w x h by DUMP_PIXELS."""
    out = os.path.join(tmp, "in.rgb")
    subprocess.run([dump, image, str(w), str(h), out], check=True, capture_output=True)
    return np.fromfile(out, np.uint8).reshape(h, w, 3)


def litert(model, x):
    """LiteRT's outputs on NHWC @x (its input dtype), by name."""
    it = Interpreter(model_path=model)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    it.set_tensor(d["index"], x.astype(d["dtype"]))
    it.invoke()
    out = {}
    for o in it.get_output_details():
        v = it.get_tensor(o["index"])
        scale, zero = o["quantization"]
        if scale:
            v = (v.astype(np.float64) - zero) * scale
        out[o["name"]] = v
    return out


def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F16", info
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], "<f2").astype(np.float64).reshape(
            info["shape"])
    return out


class Aneforge:
    def __init__(self, cli, tmp):
        self.cli, self.tmp, self.graphs = cli, tmp, {}

    def graph(self, model, image_port):
        key = (model, image_port)
        if key not in self.graphs:
            out = os.path.join(self.tmp, "g%d.json" % len(self.graphs))
            args = [self.cli, "import", model, "-o", out] + (["--rgb"] if image_port else [])
            subprocess.run(args, check=True, capture_output=True)
            self.graphs[key] = out
        return self.graphs[key]

    def run(self, model, x_nhwc, image_port):
        """Outputs by name; @x_nhwc uint8 (an image port) or float (fp16 input)."""
        raw = os.path.join(self.tmp, "in.raw")
        x = x_nhwc.transpose(0, 3, 1, 2)
        (x.astype(np.uint8) if image_port else x.astype("<f2")).tofile(raw)
        saved = os.path.join(self.tmp, "out.safetensors")
        subprocess.run([self.cli, "run", self.graph(model, image_port), "--raw", raw,
                        "--save-outputs", saved], check=True, capture_output=True)
        out = read_safetensors(saved)
        for name, v in out.items():
            if not np.isfinite(v).all():
                sys.exit("FAIL %s: output %s has %d non-finite values"
                         % (model, name, int((~np.isfinite(v)).sum())))
        return out


def agreement(a, b):
    return float(np.mean(a == b))


def check_mobilenet(af, dump, tmp):
    model = os.path.join(CORAL, "mobilenet_v1_0.5_160_quant.tflite")
    labels = [l.strip() for l in open(os.path.join(CORAL, "imagenet_labels.txt"))]
    bad = []
    for image in ["cat.bmp", "dog.jpg", "grace_hopper.bmp", "parrot.jpg", "fish.png",
                  "kitten_224.png", "person.jpg"]:
        x = pixels(dump, os.path.join(SHARED, "media", image), 160, 160, tmp)[None]
        ref = litert(model, x)["MobilenetV1/Predictions/Reshape_1"].reshape(-1)
        ours = af.run(model, x, True)["MobilenetV1/Predictions/Reshape_1"].reshape(-1)
        r5, o5 = np.argsort(-ref, kind="stable")[:5], np.argsort(-ours, kind="stable")[:5]
        fifth = ref[r5[4]]
        print("mobilenet %s: top-1 LiteRT %d %s (%.4f), aneforge %d (%.4f); top-5 LiteRT %s, "
              "aneforge %s; max |diff| %.4f" % (image, r5[0], labels[r5[0]], ref[r5[0]], o5[0],
                                               ours[o5[0]], list(r5), list(o5),
                                               np.abs(ours - ref).max()))
        if o5[0] != r5[0]:
            bad.append("mobilenet %s: top-1 %d, LiteRT %d" % (image, o5[0], r5[0]))
        # the same set, except that a class within TIE_STEPS quantization steps of
        # LiteRT's 5th score may take its place (fp16 is not LiteRT's integer arithmetic:
        # scores differ by up to 3 steps of 1/256)
        if set(o5) != set(r5) and not all(ref[c] >= fifth - TIE_STEPS / 256 for c in o5):
            bad.append("mobilenet %s: top-5 %s, LiteRT %s" % (image, list(o5), list(r5)))
    return bad


def coral_mask():
    """Coral's dog_segmentation_mask.bmp (8-bit BMP, bottom-up rows):
    0 pet, 1 background, 2 border (an Oxford-IIIT-Pet trimap, minus 1)."""
    data = open(os.path.join(CORAL, "dog_segmentation_mask.bmp"), "rb").read()
    off, w, h = struct.unpack("<I", data[10:14])[0], *struct.unpack("<ii", data[18:26])
    stride = (w + 3) // 4 * 4
    rows = np.frombuffer(data[off:off + stride * h], np.uint8).reshape(h, stride)[:, :w]
    return rows[::-1]


def check_deeplab(af, dump, tmp):
    model = os.path.join(CORAL, "deeplabv3_mnv2_dm05_pascal_quant.tflite")
    bad = []
    for image in [os.path.join(CORAL, "dog_segmentation.bmp"),
                  os.path.join(SHARED, "media", "person.jpg"),
                  os.path.join(SHARED, "media", "cat.bmp")]:
        x = pixels(dump, image, 513, 513, tmp)[None]
        ref = litert(model, x)["ArgMax"].reshape(513, 513)
        ours = af.run(model, x, True)["ArgMax"].reshape(513, 513)
        agree = agreement(ours, ref)
        classes = sorted(set(np.unique(ref)) | set(np.unique(ours.astype(np.int64))))
        print("deeplab %s: %.4f of the pixels agree with LiteRT (classes %s)"
              % (os.path.basename(image), agree, classes))
        if agree < MIN_AGREE:
            bad.append("deeplab %s: pixel agreement %.4f < %.2f" % (image, agree, MIN_AGREE))
        if image.endswith("dog_segmentation.bmp"):
            mask = coral_mask()
            # the 513 x 513 map sampled at the 128 x 128 pixel centres
            idx = ((np.arange(128) + 0.5) * 513 / 128).astype(int)
            keep = mask != 2
            for name, cls in (("aneforge", ours), ("LiteRT", ref)):
                pet = cls[np.ix_(idx, idx)] != 0
                a = float(np.mean(pet[keep] == (mask[keep] == 0)))
                print("deeplab dog_segmentation: %s's pet pixels vs Coral's mask: %.4f agree "
                      "(%d non-border pixels)" % (name, a, int(keep.sum())))
                if a < MIN_AGREE:
                    bad.append("deeplab vs Coral's mask (%s): %.4f < %.2f" % (name, a, MIN_AGREE))
    return bad


def float_input(dump, image, size, tmp):
    rgb = pixels(dump, os.path.join(SHARED, "media", image), size, size, tmp)
    return (rgb[None] / 255.0).astype(np.float16).astype(np.float32)


def landmarks_px(v, n, stride):
    """x, y of @n landmarks (stride values each) in input pixels."""
    v = v.reshape(-1)[:n * stride].reshape(n, stride)
    return v[:, :2]


def check_landmarks(af, dump, tmp, name, size, out, n, stride, mask_out=None):
    model = mediapipe_model(name)
    bad = []
    for image in ["person.jpg", "face.jpg", "grace_hopper.bmp"]:
        x = float_input(dump, image, size, tmp)
        ref, ours = litert(model, x), af.run(model, x, False)
        r, o = landmarks_px(ref[out], n, stride), landmarks_px(ours[out], n, stride)
        d = np.abs(r - o).max()
        print("%s %s: %d landmarks, max |dx|,|dy| %.3f px (input %dx%d)" % (name, image, n, d,
                                                                          size, size))
        if not d <= MAX_PX:  # NaN fails too
            bad.append("%s %s: a landmark moved %.2f px" % (name, image, d))
        if mask_out:
            agree = agreement(ours[mask_out].reshape(-1) > 0, ref[mask_out].reshape(-1) > 0)
            print("%s %s: mask (logit > 0) agreement %.4f" % (name, image, agree))
            if agree < MIN_AGREE:
                bad.append("%s %s: mask agreement %.4f" % (name, image, agree))
    return bad


def check_selfie(af, dump, tmp):
    model = mediapipe_model("selfie_segmentation.tflite")
    bad = []
    for image in ["person.jpg", "face.jpg", "grace_hopper.bmp", "cat.bmp"]:
        x = float_input(dump, image, 256, tmp)
        ref = litert(model, x)["activation_10"].reshape(-1)
        ours = af.run(model, x, False)["activation_10"].reshape(-1)
        agree = agreement(ours > 0.5, ref > 0.5)
        print("selfie %s: mask (> 0.5) agreement %.4f, max |diff| %.4f, person pixels %.3f"
              % (image, agree, np.abs(ours - ref).max(), float(np.mean(ref > 0.5))))
        if agree < MIN_AGREE:
            bad.append("selfie %s: mask agreement %.4f" % (image, agree))
    return bad


CHECKS = {
    "mobilenet": check_mobilenet,
    "deeplab": check_deeplab,
    "hand": lambda af, d, t: check_landmarks(af, d, t, "hand_landmark_lite.tflite", 224,
                                             "Identity", 21, 3),
    "pose": lambda af, d, t: check_landmarks(af, d, t, "pose_landmark_lite.tflite", 256,
                                             "Identity", 39, 5, "Identity_2"),
    "selfie": check_selfie,
    # PRELU (mapped to maximum / minimum / mul / add); the wheel's copy only
    "face": lambda af, d, t: check_landmarks(af, d, t, "face_landmark.tflite", 192,
                                             "conv2d_21", 468, 3),
}


def main():
    dump, cli = sys.argv[1], sys.argv[2]
    names = sys.argv[3:] or list(CHECKS)
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        af = Aneforge(cli, tmp)
        for name in names:
            bad += CHECKS[name](af, dump, tmp)
    for b in bad:
        print("FAIL", b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
