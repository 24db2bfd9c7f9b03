#!/usr/bin/env python3
"""tests/skips.py BUILD_DIR ALLOWED_TAGS...: every skip of the last `meson test`.

Reads BUILD_DIR/meson-logs/testlog.json: tests that exited 77 and GLib
subtests reported as "ok N /path # SKIP reason". A skip is expected only when
its reason starts with one of ALLOWED_TAGS followed by a colon:
  isa:       this CPU lacks the instruction set the test covers
  pypi:      PyPI was unreachable when tools/pyenv.sh ran (build/pypi-unreachable)
  emulated:  the AArch64 stage runs under qemu-user, where a test cannot
             spawn a child process
Prints one line per skip, then "TAG COUNT" lines (tag "unexpected" for the
rest); exits 0 either way: tests/run.sh counts unexpected skips as failures.
"""
import collections
import json
import re
import sys

TAP_SKIP = re.compile(r"^ok \d+ (\S+) # SKIP ?(.*)$")


def skips(log):
    for line in open(log, encoding="utf-8", errors="replace"):
        test = json.loads(line)
        out = test.get("stdout") or ""
        if test.get("result") == "SKIP":
            lines = [l for l in out.splitlines() if l.strip()]
            yield test["name"], lines[-1] if lines else "(no reason printed)"
        for l in out.splitlines():
            m = TAP_SKIP.match(l)
            if m:
                yield "%s %s" % (test["name"], m.group(1)), m.group(2)


def main():
    build, allowed = sys.argv[1], set(sys.argv[2:])
    counts = collections.Counter()
    for name, reason in skips(build + "/meson-logs/testlog.json"):
        tag = reason.split(":", 1)[0] if ":" in reason else ""
        if tag not in allowed:
            tag = "unexpected"
        counts[tag] += 1
        print("  skip (%s) %s: %s" % (tag, name, reason))
    for tag, n in sorted(counts.items()):
        print("%s %d" % (tag, n))


if __name__ == "__main__":
    main()
