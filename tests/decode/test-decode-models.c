/* test-decode-models.c — the decoders end to end on the real face detectors
 * in ../shared/models (imported from ONNX at test time, never committed):
 * UltraFace slim / RFB (SSD priors) and YuNet (grid with landmarks) on the
 * shared photos, and MediaPipe's BlazeFace short-range (TFLite, from PyPI's
 * mediapipe wheel, cached by tools/pyenv.sh). Every detection is checked
 * against golden-faces.txt: ORT's and LiteRT's boxes, written by
 * golden_faces.py. A missing model or photo fails the test (BlazeFace skips,
 * tagged "pypi:", only when PyPI was unreachable). */
#include "decode.h"
#include "oracle.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* $AF_SHARED/@a/@b; a missing file fails the test here. */
static char *
shared_path (const char *a, const char *b)
{
  g_autofree char *rel = g_build_filename (a, b, NULL);
  char *path = af_test_shared_file (rel);
  g_assert_nonnull (path);
  return path;
}

/* Fills the uint8 NCHW image port of @m with @image resized (bilinear) to
 * the port, channels in the port's order. */
static void
fill_image (AfModel *m, const char *image)
{
  AfTensorInfo in;
  af_model_input_info (m, 0, &in);
  g_assert_true (in.is_image);
  g_assert_cmpint (in.rank, ==, 4);
  int h = in.shape[2], w = in.shape[3];
  g_autofree char *path = shared_path ("media", image);
  GError *error = NULL;
  GdkPixbuf *src = gdk_pixbuf_new_from_file (path, &error);
  g_assert_no_error (error);
  GdkPixbuf *px = gdk_pixbuf_scale_simple (src, w, h, GDK_INTERP_BILINEAR);
  int stride = gdk_pixbuf_get_rowstride (px), nc = gdk_pixbuf_get_n_channels (px);
  const guint8 *p = gdk_pixbuf_read_pixels (px);
  guint8 *dst = af_model_input_view (m, 0, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        int from = in.order == AF_PIXEL_BGR ? 2 - c : c;
        dst[(gsize) c * h * w + (gsize) y * w + x] = p[y * stride + x * nc + from];
      }
  g_object_unref (px);
  g_object_unref (src);
}

/* Imports and compiles ../shared/models/@dir/@file with an image port. */
static AfModel *
load_model (const char *dir, const char *file, AfPixelOrder order, float scale, float bias)
{
  g_autofree char *path = shared_path ("models", dir);
  g_autofree char *full = g_build_filename (path, file, NULL);
  g_assert_true (g_file_test (full, G_FILE_TEST_EXISTS));
  AfImportOptions opts = AF_IMPORT_OPTIONS_INIT;
  opts.image = TRUE;
  opts.order = order;
  for (int c = 0; c < 3; c++) {
    opts.scale[c] = scale;
    opts.bias[c] = bias;
  }
  GError *error = NULL;
  AfGraph *g = af_graph_import_onnx (full, &opts, &error);
  g_assert_no_error (error);
  AfCompileOptions copts = AF_COMPILE_OPTIONS_INIT;
  copts.backend = AF_BACKEND_CPU;
  AfModel *m = af_compile (g, &copts, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  return m;
}

/* Checks @res against the ORT / LiteRT boxes of golden-faces.txt for
 * (@model, @image): the same count, and each golden box matched by one of
 * ours with IoU >= 0.85 (fp16 saturates the scores near 1, so the NMS winner
 * among near-equal boxes may differ from fp32's). */
static void
check_golden (const char *model, const char *image, const AfDecodeResult *res)
{
  const char *root = g_getenv ("AF_SOURCE_ROOT");
  g_autofree char *path =
      g_build_filename (root ? root : ".", "tests", "decode", "golden-faces.txt", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = 0;
  for (guint i = 0; lines[i] != NULL; i++) {
    char m[128], im[128];
    AfDetection g = { 0 };
    if (lines[i][0] == '#' ||
        sscanf (lines[i], "%127s %127s %f %f %f %f %f", m, im, &g.x1, &g.y1, &g.x2, &g.y2,
                &g.score) != 7 ||
        strcmp (m, model) != 0 || strcmp (im, image) != 0)
      continue;
    n++;
    float best = 0;
    for (guint k = 0; k < res->n; k++)
      best = MAX (best, af__decode_iou (&g, &res->detections[k]));
    g_test_message ("%s %s: golden box %u best IoU %.3f", model, image, n, best);
    g_assert_cmpfloat (best, >=, 0.85f);
  }
  g_assert_cmpuint (res->n, ==, n);
}

/* Runs @m on @image and decodes with @spec; returns the detection count and
 * prints the boxes (frame pixels of the original image). */
static guint
detect (AfModel *m, const char *model, const AfDecodeSpec *spec, const char *image,
        AfDecodeResult **out)
{
  fill_image (m, image);
  GError *error = NULL;
  g_assert_true (af_model_execute (m, &error));
  g_assert_no_error (error);
  guint n = af_model_n_outputs (m);
  AfTensorInfo *infos = g_new0 (AfTensorInfo, n);
  const guint16 **views = g_new0 (const guint16 *, n);
  for (guint i = 0; i < n; i++) {
    af_model_output_info (m, i, &infos[i]);
    views[i] = af_model_output_view (m, i);
  }
  AfDecoder *dec = af_decoder_new (spec, NULL, n, infos, &error);
  g_assert_no_error (error);
  AfDecodeResult *res = af_decode_result_new (dec);
  af_decoder_run (dec, views, res);
  g_autofree char *path = shared_path ("media", image);
  GdkPixbuf *pb = gdk_pixbuf_new_from_file (path, NULL);
  AfFrameMap map;
  af_frame_map_stretch (&map, gdk_pixbuf_get_width (pb), gdk_pixbuf_get_height (pb), spec->input_w,
                        spec->input_h);
  g_object_unref (pb);
  af_decode_map_to_frame (res, &map);
  for (guint i = 0; i < res->n; i++) {
    AfDetection *d = &res->detections[i];
    g_test_message ("%s: %.1f %.1f %.1f %.1f score %.3f", image, d->x1, d->y1, d->x2, d->y2,
                    d->score);
  }
  check_golden (model, image, res);
  guint count = res->n;
  if (out)
    *out = res;
  else
    af_decode_result_free (res);
  af_decoder_free (dec);
  g_free (infos);
  g_free (views);
  return count;
}

static void
ultraface (const char *file, AfDecodeType type)
{
  AfModel *m = load_model ("ultraface", file, AF_PIXEL_RGB, 1.0f / 128, -127.0f / 128);
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, type);
  g_assert_cmpuint (detect (m, file, &spec, "face.jpg", NULL), ==, 4);
  g_assert_cmpuint (detect (m, file, &spec, "grace_hopper.bmp", NULL), ==, 1);
  g_assert_cmpuint (detect (m, file, &spec, "cat.bmp", NULL), ==, 0);
  af_decode_spec_clear (&spec);
  af_model_free (m);
}

/* UltraFace slim (SSD priors) finds the 4 faces of face.jpg, Grace Hopper's one, none on the cat,
 * where ORT does. */
static void
test_ultraface_slim (void)
{
  ultraface ("version-slim-320_simplified.onnx", AF_DECODE_TYPE_SSD);
}

/* UltraFace RFB (SSD priors, dilated convolutions) finds the same faces. */
static void
test_ultraface_rfb (void)
{
  ultraface ("version-RFB-320_simplified.onnx", AF_DECODE_TYPE_SSD);
}

/* The full RFB model (boxes decoded inside the model, shape arithmetic folded) agrees. */
static void
test_ultraface_rfb_decoded (void)
{
  ultraface ("version-RFB-320.onnx", AF_DECODE_TYPE_SSD_DECODED);
}

/* YuNet finds 4 faces with 5 landmarks inside each box, 1 on Grace Hopper, none on the cat. */
static void
test_yunet (void)
{
  const char *yunet = "yunet_n_320_320.onnx";
  AfModel *m = load_model ("yunet", yunet, AF_PIXEL_BGR, 1, 0);
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_YUNET);
  AfDecodeResult *res;
  g_assert_cmpuint (detect (m, yunet, &spec, "face.jpg", &res), ==, 4);
  for (guint i = 0; i < res->n; i++) {
    AfDetection *d = &res->detections[i];
    g_assert_cmpint (d->n_landmarks, ==, 5);
    float w = d->x2 - d->x1, h = d->y2 - d->y1;
    for (int k = 0; k < 5; k++) {
      g_assert_cmpfloat (d->landmarks[2 * k], >=, d->x1 - 0.1f * w);
      g_assert_cmpfloat (d->landmarks[2 * k], <=, d->x2 + 0.1f * w);
      g_assert_cmpfloat (d->landmarks[2 * k + 1], >=, d->y1 - 0.1f * h);
      g_assert_cmpfloat (d->landmarks[2 * k + 1], <=, d->y2 + 0.1f * h);
    }
  }
  af_decode_result_free (res);
  g_assert_cmpuint (detect (m, yunet, &spec, "grace_hopper.bmp", NULL), ==, 1);
  g_assert_cmpuint (detect (m, yunet, &spec, "cat.bmp", NULL), ==, 0);
  af_decode_spec_clear (&spec);
  af_model_free (m);
}

#define BLAZEFACE "face_detection_short_range.tflite"

/* BlazeFace short-range from the mediapipe wheel, imported as an RGB port in
 * [-1, 1], or NULL after af_test_mediapipe_model failed (or skipped) the
 * test. */
static AfModel *
load_blazeface (void)
{
  g_autofree char *path = af_test_mediapipe_model (BLAZEFACE);
  if (path == NULL)
    return NULL;
  AfImportOptions opts = AF_IMPORT_OPTIONS_INIT;
  opts.image = TRUE;
  opts.order = AF_PIXEL_RGB;
  for (int c = 0; c < 3; c++) {
    opts.scale[c] = 2.0f / 255;
    opts.bias[c] = -1.0f;
  }
  GError *error = NULL;
  AfGraph *g = af_graph_open (path, &opts, &error);
  g_assert_no_error (error);
  AfCompileOptions copts = AF_COMPILE_OPTIONS_INIT;
  copts.backend = AF_BACKEND_CPU;
  AfModel *m = af_compile (g, &copts, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  return m;
}

/* Runs BlazeFace on @image (stretched to 128x128), decodes it with the
 * default blazeface spec, maps it back to the image's pixels and checks it
 * against LiteRT's golden boxes. Returns the detection count. */
static guint
blazeface_detect (AfModel *m, const char *image)
{
  fill_image (m, image);
  GError *error = NULL;
  g_assert_true (af_model_execute (m, &error));
  g_assert_no_error (error);
  AfTensorInfo infos[2];
  const guint16 *views[2];
  g_assert_cmpuint (af_model_n_outputs (m), ==, 2);
  for (guint i = 0; i < 2; i++) {
    af_model_output_info (m, i, &infos[i]);
    views[i] = af_model_output_view (m, i);
  }
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_BLAZEFACE);
  AfDecoder *dec = af_decoder_new (&spec, NULL, 2, infos, &error);
  g_assert_no_error (error);
  af_decode_spec_clear (&spec);
  AfDecodeResult *res = af_decode_result_new (dec);
  af_decoder_run (dec, views, res);
  g_autofree char *path = shared_path ("media", image);
  GdkPixbuf *pb = gdk_pixbuf_new_from_file (path, NULL);
  AfFrameMap map;
  af_frame_map_stretch (&map, gdk_pixbuf_get_width (pb), gdk_pixbuf_get_height (pb), 128, 128);
  g_object_unref (pb);
  af_decode_map_to_frame (res, &map);
  for (guint i = 0; i < res->n; i++) {
    AfDetection *d = &res->detections[i];
    g_test_message ("blazeface %s: %.1f %.1f %.1f %.1f score %.3f", image, d->x1, d->y1, d->x2,
                    d->y2, d->score);
    g_assert_cmpint (d->n_landmarks, ==, 6);
  }
  check_golden (BLAZEFACE, image, res);
  guint n = res->n;
  af_decode_result_free (res);
  af_decoder_free (dec);
  return n;
}

/* BlazeFace with the blazeface decode finds LiteRT's 3 faces in face.jpg
 * (the fourth, small one at the left edge is beyond the short-range model),
 * Grace Hopper's, and nothing on the cat, each box within IoU 0.85 of
 * LiteRT's. */
static void
test_blazeface (void)
{
  AfModel *m = load_blazeface ();
  if (m == NULL)
    return;
  g_assert_cmpuint (blazeface_detect (m, "face.jpg"), ==, 3);
  g_assert_cmpuint (blazeface_detect (m, "grace_hopper.bmp"), ==, 1);
  g_assert_cmpuint (blazeface_detect (m, "cat.bmp"), ==, 0);
  af_model_free (m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/decode/models/ultraface-slim", test_ultraface_slim);
  g_test_add_func ("/decode/models/ultraface-rfb", test_ultraface_rfb);
  g_test_add_func ("/decode/models/ultraface-rfb-decoded", test_ultraface_rfb_decoded);
  g_test_add_func ("/decode/models/yunet", test_yunet);
  g_test_add_func ("/decode/models/blazeface", test_blazeface);
  return g_test_run ();
}
