#!/usr/bin/env python3
"""test-mil-lint.py — the MIL lint: checks model.mil files against Apple's own
op definitions (coremltools converters/mil/mil/ops/defs/iOS15..iOS18, BSD-3,
in ../shared/ane/reference/) and the dialect rules of ../shared/ane/README.md
§1.1-1.2.

  test-mil-lint.py DEFS_DIR FILE.mil...

Per file:
  - dialect consistency: program(1.3) with func main<ios18> and bare scalars,
    or program(1.0) with func main<ios16>/<ios17> and tensor<T, []> scalars;
    the buildInfo dict spelled for that dialect; body indentation as in the
    samples (8 spaces for 1.3, 12 for 1.0);
  - every statement is `TYPE VAR = OP(ARGS)[name = STRING(, val = ...)];`
    with its name attribute;
  - OP is an op registered for that opset (the newest definition at or below
    it) and every argument name is one of its InputSpec inputs; every
    required input is given; const takes no argument and has a val;
  - every variable is defined before use, outputs included, and defined once;
  - no fp32 anywhere, and uint8 values (an image port) only read by cast,
    whose uint8 input needs the iOS17 opset (iOS15's cast takes fp16, fp32,
    int32, bool): the program is fp16 inside.
Prints one line per file; exits 1 on any finding. Standard library only.
"""
import ast
import os
import re
import sys

OPSETS = ["iOS15", "iOS16", "iOS17", "iOS18"]
DIALECT_OPSET = {"ios15": "iOS15", "ios16": "iOS16", "ios17": "iOS17", "ios18": "iOS18"}


# ---------------------------------------------------------------- definitions


class OpDef:
    def __init__(self, folder, module, name, node):
        self.folder, self.module, self.name, self.node = folder, module, name, node
        self.bases = [b for b in node.bases]
        self.spec_expr = None
        self.registered = None  # opset folder name, or None
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "input_spec" for t in stmt.targets
            ):
                self.spec_expr = stmt.value
        for dec in node.decorator_list:
            fn = dec.func if isinstance(dec, ast.Call) else dec
            if isinstance(fn, ast.Name) and fn.id == "register_op":
                self.registered = folder
                if isinstance(dec, ast.Call):
                    for kw in dec.keywords:
                        if kw.arg == "opset_version" and isinstance(kw.value, ast.Name):
                            m = re.match(r"_IOS(\d+)_TARGET", kw.value.id)
                            if m:
                                self.registered = "iOS" + m.group(1)


class Defs:
    """Every class of the op definition files, with import aliases resolved."""

    def __init__(self, root):
        self.classes = {}  # (folder, module, name) -> OpDef
        self.aliases = {}  # (folder, module, alias) -> (folder, module, name)
        for folder in OPSETS:
            d = os.path.join(root, folder)
            for fn in sorted(os.listdir(d)):
                if fn.endswith(".py") and fn != "__init__.py":
                    self._load(folder, fn[:-3], os.path.join(d, fn))
        self.specs = {}

    def _load(self, folder, module, path):
        tree = ast.parse(open(path, encoding="utf-8").read(), path)
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                self.classes[(folder, module, node.name)] = OpDef(folder, module, node.name, node)
            elif isinstance(node, ast.ImportFrom) and node.module:
                m = re.search(r"(iOS1[5-8])(?:\.(\w+))?$", node.module)
                if not m and node.level > 0:  # "from .elementwise_unary import x"
                    for a in node.names:
                        self.aliases[(folder, module, a.asname or a.name)] = (
                            folder,
                            node.module,
                            a.name,
                        )
                if not m:
                    continue
                for a in node.names:
                    src_module = m.group(2) or a.name  # "from ..iOS15 import x" is rare
                    self.aliases[(folder, module, a.asname or a.name)] = (
                        m.group(1),
                        src_module,
                        a.name,
                    )

    def _find(self, folder, module, name):
        key = (folder, module, name)
        if key in self.classes:
            return self.classes[key]
        if key in self.aliases:
            f, m, n = self.aliases[key]
            if (f, m, n) in self.classes:
                return self.classes[(f, m, n)]
            for (cf, cm, cn), c in self.classes.items():  # re-exported by the package
                if cf == f and cn == n:
                    return c
        return None

    def spec(self, c):
        """{input name: required?} of class @c, inherited where it has none."""
        key = (c.folder, c.module, c.name)
        if key not in self.specs:
            self.specs[key] = None  # cycle guard
            self.specs[key] = self._spec(c)
        return self.specs[key]

    def _spec_of_expr(self, c, e):
        if isinstance(e, ast.Call) and getattr(e.func, "id", None) == "InputSpec":
            out = {}
            for kw in e.keywords:
                required = True
                if isinstance(kw.value, ast.Call):
                    for k in kw.value.keywords:
                        if k.arg == "optional" and isinstance(k.value, ast.Constant):
                            required = not k.value.value
                out[kw.arg] = required
            return out
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add):
            a, b = self._spec_of_expr(c, e.left), self._spec_of_expr(c, e.right)
            if a is None or b is None:
                return None
            return {**a, **b}
        if isinstance(e, ast.Attribute) and e.attr == "input_spec":
            base = self._find(c.folder, c.module, getattr(e.value, "id", ""))
            return self.spec(base) if base else None
        return None

    def _spec(self, c):
        if c.spec_expr is not None:
            return self._spec_of_expr(c, c.spec_expr)
        for b in c.bases:
            base = self._find(c.folder, c.module, getattr(b, "id", ""))
            if base:
                s = self.spec(base)
                if s is not None:
                    return s
        return None

    def opset(self, target):
        """{op name: {input: required?}} for @target: each op's newest
        registered definition at or below it."""
        ops = {}
        limit = OPSETS.index(target)
        for c in self.classes.values():
            if c.registered is None or OPSETS.index(c.registered) > limit:
                continue
            prev = ops.get(c.name)
            if prev is None or OPSETS.index(c.registered) >= OPSETS.index(prev.registered):
                ops[c.name] = c
        return {name: self.spec(c) for name, c in ops.items()}


# ---------------------------------------------------------------- the text

STMT = re.compile(r"^(?P<ind> *)(?P<type>\S.*?) (?P<var>[A-Za-z_]\w*) = (?P<op>\w+)\((?P<args>.*?)\)"
                  r"\[name = (?P<name>.+?)(?:, val = (?P<val>.+))?\];$")
BARE_SCALAR = re.compile(r"(?<![\w<])(string|uint64|int32|fp16|fp32|bool|uint8|int8)\(")
TENSOR_SCALAR = re.compile(r"tensor<\w+, \[\]>")


def split_args(s):
    """'a = x, v = (p, q)' -> [('a', ['x']), ('v', ['p', 'q'])]."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur.strip():
        out.append(cur)
    args = []
    for a in out:
        name, _, value = a.strip().partition(" = ")
        value = value.strip()
        vals = [v.strip() for v in value[1:-1].split(",")] if value.startswith("(") else [value]
        args.append((name, vals))
    return args


def lint(path, defs, cache):
    errs = []
    lines = open(path, encoding="utf-8").read().split("\n")
    if len(lines) < 5:
        return ["too short"]
    version = lines[0]
    m = re.match(r"^    func main<(ios1[5-8])>\((.*)\) \{$", lines[3])
    if not m:
        return ["line 4: expected `    func main<iosNN>(...) {`, got %r" % lines[3]]
    dialect, params = m.group(1), m.group(2)
    new = version == "program(1.3)"
    if version not in ("program(1.3)", "program(1.0)"):
        errs.append("line 1: %r is neither program(1.3) nor program(1.0)" % version)
    if new != (dialect == "ios18"):
        errs.append("%s with func main<%s>: the samples pair 1.3 with ios18 only" % (version, dialect))
    info = ("[buildInfo = dict<string, string>({{" if new else
            "[buildInfo = dict<tensor<string, []>, tensor<string, []>>({{")
    if not lines[1].startswith(info):
        errs.append("line 2: buildInfo not spelled for %s: %r" % (version, lines[1][:60]))
    if lines[2] != "{":
        errs.append("line 3: expected `{`")
    target = DIALECT_OPSET[dialect]
    if target not in cache:
        cache[target] = defs.opset(target)
    ops = cache[target]
    defined = set()
    param = r"tensor<\w+, \[[0-9, ]*\]> ([A-Za-z_]\w*)"
    if params and not re.fullmatch(param + r"(?:, " + param + r")*", params):
        errs.append("func parameters %r" % params)
    defined.update(re.findall(param, params))
    dtype_of = {v: t for t, v in re.findall(r"tensor<(\w+), \[[0-9, ]*\]> ([A-Za-z_]\w*)", params)}
    body_indent = " " * (8 if new else 12)
    close = ("    " if new else "        ") + "} -> ("
    hist = {}
    end = None
    for i, line in enumerate(lines[4:], start=5):
        if line.startswith(close):
            end = i
            break
        where = "line %d" % i
        if "fp32" in line:
            errs.append("%s: fp32 inside the program" % where)
        sm = STMT.match(line)
        if not sm:
            errs.append("%s: not a statement with [name = ...]: %r" % (where, line[:80]))
            continue
        if sm.group("ind") != body_indent:
            errs.append("%s: indented %d, the %s samples indent %d" % (
                where, len(sm.group("ind")), version, len(body_indent)))
        if new and TENSOR_SCALAR.search(line):
            errs.append("%s: tensor<T, []> scalar in the 1.3 dialect" % where)
        if not new and BARE_SCALAR.search(line):
            errs.append("%s: bare scalar literal in the 1.0 dialect" % where)
        op, var = sm.group("op"), sm.group("var")
        if var in defined:
            errs.append("%s: %s defined twice" % (where, var))
        if not re.fullmatch(r'(string|tensor<string, \[\]>)\("[^"]*"\)', sm.group("name")):
            errs.append("%s: name attribute %s is not a string literal" % (where, sm.group("name")))
        hist[op] = hist.get(op, 0) + 1
        if op == "const":
            if sm.group("args") or not sm.group("val"):
                errs.append("%s: const takes no argument and needs a val" % where)
            defined.add(var)
            continue
        if sm.group("val"):
            errs.append("%s: %s has a val attribute" % (where, op))
        if op not in ops:
            errs.append("%s: op %s is not registered for %s" % (where, op, target))
            defined.add(var)
            continue
        spec = ops[op]
        args = split_args(sm.group("args"))
        names = [a for a, _ in args]
        if spec is None:
            errs.append("%s: op %s: input spec not found in the definitions" % (where, op))
        else:
            for a in names:
                if a not in spec:
                    errs.append("%s: %s has no input %r in %s (inputs: %s)" % (
                        where, op, a, target, ", ".join(sorted(spec))))
            for a, required in spec.items():
                if required and a not in names:
                    errs.append("%s: %s misses the required input %r" % (where, op, a))
        if names != sorted(names):
            errs.append("%s: arguments not in name order" % where)
        for _, vals in args:
            for v in vals:
                if v not in defined:
                    errs.append("%s: %s used before its definition" % (where, v))
                if dtype_of.get(v) == "uint8" and op != "cast":
                    errs.append("%s: %s reads the uint8 value %s (fp16 inside)" % (where, op, v))
                if dtype_of.get(v) == "uint8" and OPSETS.index(target) < OPSETS.index("iOS17"):
                    errs.append("%s: cast of uint8 needs iOS17, this is %s" % (where, target))
        defined.add(var)
        tm = re.match(r"tensor<(\w+), ", sm.group("type"))
        dtype_of[var] = tm.group(1) if tm else sm.group("type")
    if end is None:
        errs.append("no closing `} -> (...);` line at the dialect's indentation")
    else:
        om = re.match(r"^ *\} -> \((.*)\);$", lines[end - 1])
        outs = [o.strip() for o in om.group(1).split(",")] if om else []
        if not outs or any(o not in defined for o in outs):
            errs.append("function outputs %r not all defined" % outs)
        if lines[end:] != ["}", ""]:
            errs.append("after the function: expected `}` and the end of the file")
    return errs, dialect, hist


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    defs = Defs(sys.argv[1])
    cache, bad = {}, 0
    for path in sys.argv[2:]:
        res = lint(path, defs, cache)
        if isinstance(res, list):
            errs, dialect, hist = res, "?", {}
        else:
            errs, dialect, hist = res
        if errs:
            bad += 1
            for e in errs[:20]:
                print("FAIL %s: %s" % (path, e))
        else:
            ops = ", ".join("%s %d" % kv for kv in sorted(hist.items()))
            print("ok %s (%s): %s" % (path, dialect, ops))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
