#!/bin/sh
# test-export.sh ANEFORGE LINT TEST_MIL_EXPORT — `aneforge export --ane` and `aneforge
# inspect --backend ane` on every model the tests build (the tiny
# classifier; SqueezeNet, mnist, UltraFace and YuNet imported with `aneforge
# import`; BlazeFace from MediaPipe's wheel), in both dialects:
#   - the export succeeds and writes plan.json and, per program segment,
#     region-K/model.mil and region-K/weights/weight.bin;
#   - a second export into another directory gives the same bytes;
#   - every model.mil passes the MIL lint (test-mil-lint.py: Apple's op and
#     argument names for the opset, dialect spelling, definitions before use,
#     no fp32), and the lint fails a program with a misspelt argument;
#   - inspect names the programs per frame, and mnist's and UltraFace's cuts;
#   - the graph of test-mil-export holding every FUSED op of ops.def
#     (test-mil-export --write-every-op) passes the lint in both dialects.
# A missing model is a failure. TAP output.
aneforge=$1
lint=$2
every=$3
shared=${AF_SHARED:?AF_SHARED names ../shared}
src=${AF_SOURCE_ROOT:?AF_SOURCE_ROOT names the source tree}
defs=$shared/ane/reference/coremltools/converters/mil/mil/ops/defs
python=$(command -v python3)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/models.sh"

export_ane () {
  name=$1
  model=$2
  "$aneforge" inspect --backend ane "$model" >"$tmp/$name.inspect" 2>&1 &&
    grep -q "programs\? per frame" "$tmp/$name.inspect" &&
    ok "$name: inspect: $(head -1 "$tmp/$name.inspect")" ||
    not_ok "$name: inspect: $(tail -1 "$tmp/$name.inspect")"
  for dialect in ios18 ios16; do
    out=$tmp/$name-$dialect
    if ! "$aneforge" export --ane "$out-a" "$model" --dialect $dialect >"$tmp/log" 2>&1 ||
      ! "$aneforge" export --ane "$out-b" "$model" --dialect $dialect >>"$tmp/log" 2>&1; then
      not_ok "$name $dialect: export: $(tail -1 "$tmp/log")"
      continue
    fi
    regions=$(grep -c '"kind" : "program"' "$out-a/plan.json")
    files=$(ls "$out-a"/region-*/model.mil "$out-a"/region-*/weights/weight.bin 2>/dev/null | wc -l)
    [ "$regions" -ge 1 ] && [ "$files" -eq $((2 * regions)) ] &&
      grep -q "\"dialect\" : \"$dialect\"" "$out-a/plan.json" &&
      ok "$name $dialect: $regions program(s), plan.json and every region's files" ||
      not_ok "$name $dialect: $regions programs in plan.json, $files region files"
    diff -r "$out-a" "$out-b" >/dev/null &&
      ok "$name $dialect: two exports, same bytes" ||
      not_ok "$name $dialect: two exports differ"
    if "$python" "$lint" "$defs" "$out-a"/region-*/model.mil >"$tmp/lint" 2>&1; then
      ok "$name $dialect: lint: $(sed 's|.*/\(region-[0-9]*\)/model.mil|\1|' "$tmp/lint" | tr '\n' ';')"
    else
      not_ok "$name $dialect: lint"
      sed 's/^/# /' "$tmp/lint"
    fi
  done
}
each_model export_ane

# the cuts the capability table makes on the real models
grep -q 'host max_pool .*pooling stride > 2' "$tmp/mnist.inspect" 2>/dev/null &&
  ok "mnist: its 3x3-stride max_pool is cut (pooling stride > 2)" ||
  not_ok "mnist: the stride-3 max_pool cut is not reported"
[ "$(grep -c 'host conv .*dilated conv is not supported' "$tmp/ultraface.inspect" 2>/dev/null)" = 3 ] &&
  ok "ultraface: its three dilated convs are cut" ||
  not_ok "ultraface: three dilated-conv cuts expected"

# every FUSED op of ops.def, lowered, through the lint
if "$every" --write-every-op "$tmp/every" >"$tmp/log" 2>&1 &&
  "$python" "$lint" "$defs" "$tmp/every/ios18/region-0/model.mil" \
    "$tmp/every/ios16/region-0/model.mil" >"$tmp/lint" 2>&1; then
  ok "every op: lint: $(sed 's|.*/\(ios1[68]\)/region-0/model.mil ([a-z0-9]*)|\1|' "$tmp/lint" | tr '\n' ';')"
else
  not_ok "every op: export or lint"
  sed 's/^/# /' "$tmp/log" "$tmp/lint"
fi

# the lint is not vacuous: Apple's conv has `weight`, not `weights`; the
# real coremlc sample passes
bad_mil=$tmp/bad.mil
sed 's/weight = /weights = /' "$tmp/tiny-ios18-a/region-0/model.mil" >"$bad_mil"
if "$python" "$lint" "$defs" "$bad_mil" >"$tmp/lint" 2>&1; then
  not_ok "lint accepts conv(weights = ...)"
else
  grep -q "conv has no input 'weights'" "$tmp/lint" &&
    ok "lint rejects conv(weights = ...)" || not_ok "lint fails for another reason"
fi
sed 's/= cast(dtype = image_dtype, x = image)/= relu(x = image)/' \
  "$tmp/tiny-ios18-a/region-0/model.mil" >"$bad_mil"
if ! "$python" "$lint" "$defs" "$bad_mil" >"$tmp/lint" 2>&1 &&
  grep -q "relu reads the uint8 value image" "$tmp/lint"; then
  ok "lint rejects an op other than cast on the uint8 image port"
else
  not_ok "lint accepts relu on the uint8 image port"
fi
sed 's/    func main<ios18>/    func main<ios16>/' "$tmp/tiny-ios18-a/region-0/model.mil" >"$bad_mil"
"$python" "$lint" "$defs" "$bad_mil" >/dev/null 2>&1 &&
  not_ok "lint accepts program(1.3) with ios16" || ok "lint rejects program(1.3) with ios16"
"$python" "$lint" "$defs" "$shared/ane/samples/add_model.mlmodelc/model.mil" >"$tmp/lint" 2>&1 &&
  ok "lint passes coremlc's own add_model.mlmodelc/model.mil" ||
  not_ok "lint rejects coremlc's own output: $(head -1 "$tmp/lint")"

echo "1..$n"
exit $bad
