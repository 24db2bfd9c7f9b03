#!/usr/bin/env python3
"""mil_mutate.py BUILD_DIR — plants one bug at a time in the MIL interpreter
(tests/ane/mil-*.c), rebuilds, runs test-mil-interp and a short
test-mil-e2e, prints which tests caught it, and restores the file. Not a
test (it edits sources): run by hand from the source root when the
interpreter changes, to check its tests can still fail. Needs
AF_SHARED (../shared) for the end-to-end models.

Each entry: what the bug is, the file, the exact text and its replacement.
"""
import os
import subprocess
import sys

MUTATIONS = [
    ("conv ignores its bias", "tests/ane/mil-ops.c",
     "          if (b)\n            acc += (float) b->v[oc];",
     "          if (0)\n            acc += (float) b->v[oc];"),
    ("conv pad off by one (rows)", "tests/ane/mil-ops.c",
     "gint64 iy = oy * w.stride[0] - w.before[0] + ky * w.dil[0];",
     "gint64 iy = oy * w.stride[0] - w.before[0] + 1 + ky * w.dil[0];"),
    ("conv kernel read transposed (kx/ky)", "tests/ane/mil-ops.c",
     "float wv = (float) wt->v[((oc * Cg + ic) * w.k[0] + ky) * w.k[1] + kx];",
     "float wv = (float) wt->v[((oc * Cg + ic) * w.k[1] + kx) * w.k[0] + ky];"),
    ("linear weight read as [Din, Dout]", "tests/ane/mil-ops.c",
     "(float) wt->v[o * I + i]", "(float) wt->v[i * O + o]"),
    ("BLOBFILE elements read pairwise swapped", "tests/ane/mil-parse.c",
     "t->v[i] = blob_value (&b, ty->dtype, bits, i);",
     "t->v[i] = blob_value (&b, ty->dtype, bits, (i ^ 1) < t->n ? i ^ 1 : i);"),
    ("pool ceil_mode ignored", "tests/ane/mil-ops.c", "    if (ceil_mode) {", "    if (0) {"),
    ("avg_pool exclude_padding inverted", "tests/ane/mil-ops.c",
     "if (inside || (!excl && padded))", "if (inside || (excl && padded))"),
    ("no fp16 rounding after each op", "tests/ane/mil-interp.c",
     "    return mil_half_to_float (mil_float_to_half ((float) x));", "    return (float) x;"),
    ("plan input padding not zero (ones)", "tests/ane/mil-plan.c",
     "  MilTensor *r = mil_tensor_new (t->dtype, p->shape->rank, to);",
     "  MilTensor *r = mil_tensor_new (t->dtype, p->shape->rank, to);\n"
     "  for (gsize i = 0; i < r->n; i++)\n    r->v[i] = 1;"),
    ("same padding puts the odd pixel before", "tests/ane/mil-ops.c",
     'w->before[d] = !strcmp (pad_type, "same") ? total / 2 : (total + 1) / 2;',
     'w->before[d] = !strcmp (pad_type, "same") ? (total + 1) / 2 : total / 2;'),
]


def main():
    build = sys.argv[1]
    env = dict(os.environ, AF_SOURCE_ROOT=os.getcwd())
    missed = 0
    for name, path, old, new in MUTATIONS:
        src = open(path).read()
        if src.count(old) != 1:
            print('%s: the text to mutate is not in %s once' % (name, path))
            missed += 1
            continue
        open(path, 'w').write(src.replace(old, new))
        try:
            subprocess.run(['ninja', '-C', build, '-j2', 'tests/ane/test-mil-interp',
                            'tests/ane/test-mil-e2e'], check=True, capture_output=True)
            r = subprocess.run([build + '/tests/ane/test-mil-interp'], capture_output=True,
                               text=True, env=env)
            unit = [l for l in (r.stdout + r.stderr).splitlines()
                    if l.startswith('not ok') or 'ERROR:' in l][:1]
            r = subprocess.run([build + '/tests/ane/test-mil-e2e', build + '/tools/aneforge',
                                'SOURCE/models/tiny-classifier.json=0',
                                'SHARED/models/mnist/mnist.onnx=0',
                                'SOURCE/tests/ane/ops-mix.json=1'],
                               capture_output=True, text=True, env=env)
            e2e = [l for l in r.stdout.splitlines() if l.startswith('not ok')]
            caught = bool(unit) or bool(e2e)
            missed += not caught
            print('%s: %s; unit: %s; e2e: %d failing' % (
                name, 'caught' if caught else 'MISSED', unit[0][:120] if unit else 'pass', len(e2e)))
        finally:
            open(path, 'w').write(src)
    subprocess.run(['ninja', '-C', build, '-j2', 'tests/ane/test-mil-interp',
                    'tests/ane/test-mil-e2e'], capture_output=True)
    sys.exit(1 if missed else 0)


main()
