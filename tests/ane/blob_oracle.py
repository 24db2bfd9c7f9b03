"""Our weight.bin writer against Apple's: coremltools' MILBlob storage writer,
given the same tensors in the same order, writes byte-identical files.

Usage: blob_oracle.py TEST_BLOB_EXE. Runs `TEST_BLOB_EXE --write-cases DIR`
(our files and their inputs, see test-blob.c), writes every case again with
coremltools.libmilstoragepython._BlobStorageWriter, and compares the bytes
and the offsets each write returned (what a program's BLOBFILE carries).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from coremltools.libmilstoragepython import _BlobStorageWriter

# BlobDataType code -> (writer method, numpy dtype of its argument (fp16 as its bits, the way
# coremltools passes it), bytes per element or 0
# for a sub-byte type passed one element per byte)
WRITERS = {
    1: ("write_fp16_data", np.uint16, 2), 2: ("write_float_data", np.float32, 4),
    3: ("write_uint8_data", np.uint8, 1), 4: ("write_int8_data", np.int8, 1),
    6: ("write_int16_data", np.int16, 2), 7: ("write_uint16_data", np.uint16, 2),
    8: ("write_int4_data", np.int8, 0), 9: ("write_uint1_data", np.uint8, 0),
    10: ("write_uint2_data", np.uint8, 0), 11: ("write_uint4_data", np.uint8, 0),
    12: ("write_uint3_data", np.uint8, 0), 13: ("write_uint6_data", np.uint8, 0),
    14: ("write_int32_data", np.int32, 4), 15: ("write_uint32_data", np.uint32, 4),
}


def load_input(path, code, n):
    method, dtype, size = WRITERS[code]
    raw = open(path, "rb").read()
    if size:
        return np.frombuffer(raw, dtype=dtype, count=n)
    values = np.frombuffer(raw, dtype=np.uint8, count=n)
    if code == 8:  # int4: the low nibble as a signed value
        return ((values.astype(np.int16) ^ 8) - 8).astype(np.int8)
    return values


def main():
    exe = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([exe, "--write-cases", tmp], check=True)
        for line in open(os.path.join(tmp, "cases.txt")):
            name, *blobs = line.split()
            ours = open(os.path.join(tmp, name + ".bin"), "rb").read()
            theirs_path = os.path.join(tmp, name + ".apple.bin")
            writer = _BlobStorageWriter(theirs_path)
            offsets, our_offsets = [], []
            for k, blob in enumerate(blobs):
                spec, off = blob.split("@")
                code, n = (int(x) for x in spec.split(":"))
                our_offsets.append(int(off))
                data = load_input(os.path.join(tmp, "%s.%d.in" % (name, k)), code, n)
                offsets.append(getattr(writer, WRITERS[code][0])(np.ascontiguousarray(data)))
            del writer  # flushes and closes the file
            theirs = open(theirs_path, "rb").read()
            if our_offsets != offsets:
                failures += 1
                print("%s: our writer returned offsets %s, coremltools' %s"
                      % (name, our_offsets, offsets))
            elif ours != theirs:
                failures += 1
                diff = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b),
                            min(len(ours), len(theirs)))
                print("%s: DIFFERENT (ours %d bytes, coremltools %d; first difference at byte %d)"
                      % (name, len(ours), len(theirs), diff))
            else:
                print("%s: identical, %d bytes, blobs at %s" % (name, len(ours), offsets))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
