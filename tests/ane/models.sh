# tests/ane/models.sh — sourced by test-export.sh and test-coreml.sh (after
# they set aneforge, shared, src and tmp): the TAP counters and the models
# the ANE tests export.
n=0
bad=0

ok () {
  n=$((n + 1))
  echo "ok $n - $1"
}

not_ok () {
  n=$((n + 1))
  bad=1
  echo "not ok $n - $1"
}

# each_model FUNC: calls FUNC NAME MODEL for every model the tests build (the
# tiny classifier; SqueezeNet, mnist, UltraFace and YuNet imported into $tmp
# with `aneforge import`; BlazeFace from MediaPipe's wheel). A missing model
# or a failed import is a not-ok.
each_model () {
  set -- "$1" \
    tiny "$src/models/tiny-classifier.json" \
    squeezenet "$shared/models/squeezenet/SqueezeNet_fp16.onnx" \
    mnist "$shared/models/mnist/mnist.onnx" \
    ultraface "$shared/models/ultraface/version-RFB-320_simplified.onnx" \
    yunet "$shared/models/yunet/yunet_n_320_320.onnx" \
    blazeface "${AF_CACHE:-$HOME/.cache/aneforge}/mediapipe-0.10.21/face_detection_short_range.tflite"
  each_fn=$1
  shift
  while [ $# -ge 2 ]; do
    each_name=$1
    each_model=$2
    shift 2
    if [ ! -f "$each_model" ]; then
      not_ok "$each_name: $each_model is missing"
      continue
    fi
    case $each_model in
    *.onnx)
      if ! "$aneforge" import "$each_model" -o "$tmp/$each_name.json" >"$tmp/log" 2>&1; then
        not_ok "$each_name: aneforge import: $(tail -1 "$tmp/log")"
        continue
      fi
      each_model=$tmp/$each_name.json
      ;;
    esac
    "$each_fn" "$each_name" "$each_model"
  done
}
