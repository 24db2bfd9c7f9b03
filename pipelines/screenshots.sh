#!/bin/sh
# pipelines/screenshots.sh [BUILD_DIR] [OUT_DIR] — the four model kinds straight from
# their own files (.onnx, .tflite) through the element and the overlay, one
# still each into OUT_DIR/models-*.jpg (docs/img by default):
#   classification  SqueezeNet 1.1 (ONNX)          on dog.jpg
#   detection       FastestDet (ONNX, grid decode)  on dog.jpg
#   segmentation    MediaPipe selfie segmentation (TFLite) on person.jpg
#   landmarks       MediaPipe pose landmarks (TFLite)      on person.jpg
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shared=$root/../shared
models=$shared/models
media=$shared/media
out=${2:-$root/docs/img}
mkdir -p "$out"
export GST_PLUGIN_PATH=$build/gst

shot() { # IMAGE MODEL IMPORT NAME
  gst-launch-1.0 -q filesrc location="$1" ! jpegdec ! videoconvert \
    ! aneforge model="$2" import="$3" ! aneforgeoverlay ! videoconvert \
    ! jpegenc quality=85 ! filesink location="$out/models-$4.jpg"
  echo "$out/models-$4.jpg"
}

shot "$media/dog.jpg" "$models/squeezenet/SqueezeNet_fp16.onnx" \
  "--bgr --classify --labels $models/squeezenet/Labels.txt" classification
shot "$media/dog.jpg" "$models/fastestdet/FastestDet.onnx" \
  "--bgr --scale 0.00392156863 --decode grid --labels $root/data/coco.names" detection
shot "$media/person.jpg" "$models/mediapipe/selfie_segmentation.tflite" \
  "--scale 0.00392156863 --decode segmentation" segmentation
shot "$media/person.jpg" "$models/mediapipe/pose_landmark_lite.tflite" \
  "--scale 0.00392156863 --decode keypoints:pose" landmarks
