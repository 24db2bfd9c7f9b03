#!/usr/bin/env python3
"""coreml_mutate.py SCRATCH_DIR — plants one bug at a time in the Core ML
package writer (src/backends/ane/coreml.c) and checks that test-coreml
(protoc against Apple's Model.proto) or oracle-coreml (coremltools) fails.

Not a test (it builds a tree of its own): run by hand from the source root
when coreml.c changes, to check its tests can still fail. The committed
tree (git archive HEAD) is copied into SCRATCH_DIR and built there
(tools/aneforge only), so the working tree is never edited. Needs protoc,
AF_SHARED (default ../shared) and build/venv (coremltools).

Each entry: what the bug is, the exact text of coreml.c and its replacement.
"""
import os
import subprocess
import sys

FILE = "src/backends/ane/coreml.c"
MUTATIONS = [
    ("wrong field number: description.output written as field 11 (predictedFeatureName)",
     "AF_PB_DESC_OUTPUT = 10,", "AF_PB_DESC_OUTPUT = 11,"),
    ("wrong field number: BlobFileValue.offset written as field 3",
     "AF_PB_BLOB_OFFSET = 2,", "AF_PB_BLOB_OFFSET = 3,"),
    ("wrong blob offset: the data's offset instead of the metadata record's",
     "af_pb_uint_nz (bf, AF_PB_BLOB_OFFSET, val->offset);",
     "af_pb_uint_nz (bf, AF_PB_BLOB_OFFSET, val->offset + 64);"),
    ("missing input description (the first input left out)",
     "  for (guint i = 0; i < in_bind->len; i++) {\n    const AfMilBinding *b",
     "  for (guint i = 1; i < in_bind->len; i++) {\n    const AfMilBinding *b"),
    ("wrong opset name: CoreML7 for ios18",
     'return d == AF_ANE_DIALECT_IOS16 ? "CoreML6" : "CoreML8";',
     'return d == AF_ANE_DIALECT_IOS16 ? "CoreML6" : "CoreML7";'),
    ("wrong spec version: 8 for ios18",
     "(guint64) af_coreml_spec_version (p->dialect));",
     "(guint64) af_coreml_spec_version (p->dialect) - (p->dialect == AF_ANE_DIALECT_IOS18));"),
    ("inline fp16 written big-endian",
     "guint8 le[2] = { (guint8) (val->halves[i] & 0xff), (guint8) (val->halves[i] >> 8) };",
     "guint8 le[2] = { (guint8) (val->halves[i] >> 8), (guint8) (val->halves[i] & 0xff) };"),
    ("image port left uint8 in the function while described FLOAT16",
     "        port->type.dtype = AF_MIL_FP16;", "        port->type.dtype = AF_MIL_UINT8;"),
    ("tuple argument (concat values) keeps only its first variable",
     "    for (guint j = 0; j < a->vars->len; j++) {\n      GByteArray *bind",
     "    for (guint j = 0; j < MIN (a->vars->len, 1); j++) {\n      GByteArray *bind"),
    ("manifest root names the weights entry",
     "                          model_first ? m : w, model_first ? w : m, model_id);",
     "                          model_first ? m : w, model_first ? w : m, weights_id);"),
]


def run(cmd, env):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return r.returncode, r.stdout + r.stderr


def main():
    root = os.getcwd()
    scratch = os.path.abspath(sys.argv[1])
    tree, build = os.path.join(scratch, "tree"), os.path.join(scratch, "build")
    os.makedirs(tree, exist_ok=True)
    subprocess.run("git archive HEAD | tar -x -C %s" % tree, shell=True, check=True)
    if not os.path.exists(os.path.join(build, "build.ninja")):
        subprocess.run(["meson", "setup", build, tree], check=True, capture_output=True)
    env = dict(os.environ, AF_SOURCE_ROOT=root,
               AF_SHARED=os.environ.get("AF_SHARED", os.path.join(root, "..", "shared")))
    exe = os.path.join(build, "tools", "aneforge")
    python = os.path.join(root, "build", "venv", "bin", "python")
    path = os.path.join(tree, FILE)
    original = open(path).read()
    missed = 0
    for name, old, new in MUTATIONS + [("none (the committed writer)", "", "")]:
        if old and original.count(old) != 1:
            print("%s: the text to mutate is not in %s once" % (name, FILE))
            missed += 1
            continue
        open(path, "w").write(original.replace(old, new) if old else original)
        try:
            subprocess.run(["ninja", "-C", build, "-j2", "tools/aneforge"], check=True,
                           capture_output=True)
            caught = []
            rc, out = run(["sh", "tests/ane/test-coreml.sh", exe,
                           "tests/ane/coreml_protoc_check.py"], env)
            if rc:
                first = next((l for l in out.splitlines() if l.startswith("not ok")), "?")
                caught.append("test-coreml (%s)" % first[:110])
            rc, out = run([python, "tests/ane/coreml_oracle.py", exe], env)
            if rc:
                first = next((l for l in out.splitlines() if "FAILED" in l), "?")
                caught.append("oracle-coreml (%s)" % first[:110])
        finally:
            open(path, "w").write(original)
        if not old:
            print("%s: %s" % (name, "FAILS " + "; ".join(caught) if caught else "passes"))
            missed += bool(caught)
            continue
        print("%s: %s" % (name, "caught by " + "; ".join(caught) if caught else "MISSED"))
        missed += not caught
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
