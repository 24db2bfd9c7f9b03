#!/bin/sh
# test-coreml.sh ANEFORGE CHECK — `aneforge export --coreml` on every model
# the tests build (the tiny classifier; SqueezeNet, mnist, UltraFace and
# YuNet imported with `aneforge import`; BlazeFace from MediaPipe's wheel),
# in both dialects:
#   - a graph of one fused program exports to OUT.mlpackage; a segmented one
#     (mnist, UltraFace) is refused as OUT.mlpackage with its first cut
#     named, and exports to a directory of region-K.mlpackage + plan.json;
#   - a second export gives the same bytes;
#   - every package's model.mlmodel decodes with protoc against Apple's
#     Model.proto and holds what the program needs (CHECK:
#     coreml_protoc_check.py, against `export --ane` of the same model).
# A missing model is a failure. TAP output.
aneforge=$1
check=$2
shared=${AF_SHARED:?AF_SHARED names ../shared}
src=${AF_SOURCE_ROOT:?AF_SOURCE_ROOT names the source tree}
proto=$shared/ane/coreml-format
python=$(command -v python3)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/models.sh"

if ! command -v protoc >/dev/null; then
  echo "not ok 1 - protoc is missing (Debian protobuf-compiler: tools/bootstrap.sh)"
  echo "1..1"
  exit 1
fi

export_coreml () {
  name=$1
  model=$2
  for dialect in ios18 ios16; do
    ane=$tmp/$name-$dialect.ane
    if ! "$aneforge" export --ane "$ane" "$model" --dialect $dialect >"$tmp/log" 2>&1; then
      not_ok "$name $dialect: export --ane: $(tail -1 "$tmp/log")"
      continue
    fi
    out=$tmp/$name-$dialect.mlpackage
    if [ "$(grep -c '"kind" :' "$ane/plan.json")" -gt 1 ]; then
      # segmented: refused as one package, with the cut named
      if "$aneforge" export --coreml "$out" "$model" --dialect $dialect >"$tmp/log" 2>&1; then
        not_ok "$name $dialect: a segmented graph exported as one .mlpackage"
      else
        grep -q "first cut: .*\"" "$tmp/log" &&
          ok "$name $dialect: refused as one .mlpackage: $(sed 's/.*(first cut: \([^)]*\)).*/\1/' "$tmp/log")" ||
          not_ok "$name $dialect: refused without naming the cut: $(cat "$tmp/log")"
      fi
      out=$tmp/$name-$dialect.coreml
    fi
    if ! "$aneforge" export --coreml "$out" "$model" --dialect $dialect >"$tmp/log" 2>&1 ||
      ! "$aneforge" export --coreml "$out.again" "$model" --dialect $dialect >>"$tmp/log" 2>&1; then
      not_ok "$name $dialect: export --coreml: $(tail -1 "$tmp/log")"
      continue
    fi
    diff -r "$out" "$out.again" >/dev/null &&
      ok "$name $dialect: two exports, same bytes" ||
      not_ok "$name $dialect: two exports differ"
    if "$python" "$check" "$proto" "$ane" "$out" $dialect >"$tmp/check" 2>&1; then
      ok "$name $dialect: protoc: $(tr '\n' ';' <"$tmp/check")"
    else
      not_ok "$name $dialect: protoc"
      sed 's/^/# /' "$tmp/check"
    fi
  done
}
each_model export_coreml

# the check is not vacuous: a package whose weight.bin lost a byte, and one
# whose model.mlmodel says ios16 under an ios18 plan, fail it
pkg=$tmp/tiny-ios18.mlpackage
if [ -d "$pkg" ]; then
  cp -r "$pkg" "$tmp/short.mlpackage"
  w=$tmp/short.mlpackage/Data/com.apple.CoreML/weights/weight.bin
  head -c "$(($(wc -c <"$w") - 1))" "$w" >"$w.new" && mv "$w.new" "$w"
  "$python" "$check" "$proto" "$tmp/tiny-ios18.ane" "$tmp/short.mlpackage" ios18 >/dev/null 2>&1 &&
    not_ok "check accepts a truncated weight.bin" || ok "check rejects a truncated weight.bin"
  "$python" "$check" "$proto" "$tmp/tiny-ios16.ane" "$pkg" ios16 >/dev/null 2>&1 &&
    not_ok "check accepts an ios18 package for an ios16 plan" ||
    ok "check rejects an ios18 package for an ios16 plan"
fi

echo "1..$n"
exit $bad
