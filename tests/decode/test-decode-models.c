/* test-decode-models.c — the decoders end to end on the real face detectors
 * in ../shared/models (imported from ONNX at test time, never committed):
 * UltraFace slim / RFB (SSD priors) and YuNet (grid with landmarks) on the
 * shared photos, counting faces as the models' README measured them; and
 * MediaPipe's BlazeFace short-range (TFLite, from the npm package
 * @mediapipe/face_detection that tools/bootstrap.sh installs into
 * ${AF_NPM_PREFIX:-$HOME/.cache/aneforge/npm}). Skips when the models or
 * the importers are not available. */
#include "decode.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static char *
shared_path (const char *a, const char *b)
{
  const char *shared = g_getenv ("AF_SHARED");
  return g_build_filename (shared ? shared : "../shared", a, b, NULL);
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

/* Imports @model, or returns NULL after marking the test skipped. */
static AfModel *
load_model (const char *dir, const char *file, AfPixelOrder order, float scale, float bias)
{
  g_autofree char *path = shared_path ("models", dir);
  g_autofree char *full = g_build_filename (path, file, NULL);
  if (!g_file_test (full, G_FILE_TEST_EXISTS)) {
    g_test_skip ("model not found");
    return NULL;
  }
  AfImportOptions opts = AF_IMPORT_OPTIONS_INIT;
  opts.image = TRUE;
  opts.order = order;
  for (int c = 0; c < 3; c++) {
    opts.scale[c] = scale;
    opts.bias[c] = bias;
  }
  GError *error = NULL;
  AfGraph *g = af_graph_import_onnx (full, &opts, &error);
  if (g == NULL && error->code == AF_ERROR_UNSUPPORTED &&
      strstr (error->message, "not built yet")) {
    g_test_skip (error->message);
    g_error_free (error);
    return NULL;
  }
  g_assert_no_error (error);
  AfCompileOptions copts = AF_COMPILE_OPTIONS_INIT;
  copts.backend = AF_BACKEND_CPU;
  AfModel *m = af_compile (g, &copts, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  return m;
}

/* Checks @res against the ONNX Runtime boxes of golden-faces.txt for
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
  if (m == NULL)
    return;
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
  if (m == NULL)
    return;
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

/* BlazeFace short-range from the npm package, imported as an RGB port in
 * [-1, 1], or NULL after marking the test skipped. */
static AfModel *
load_blazeface (void)
{
  const char *prefix = g_getenv ("AF_NPM_PREFIX");
  g_autofree char *dflt = g_build_filename (g_get_home_dir (), ".cache", "aneforge", "npm", NULL);
  g_autofree char *path =
      g_build_filename (prefix ? prefix : dflt, "node_modules", "@mediapipe", "face_detection",
                        "face_detection_short_range.tflite", NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_autofree char *msg = g_strdup_printf ("%s not found (tools/bootstrap.sh installs it)", path);
    g_test_skip (msg);
    return NULL;
  }
  AfImportOptions opts = AF_IMPORT_OPTIONS_INIT;
  opts.image = TRUE;
  opts.order = AF_PIXEL_RGB;
  for (int c = 0; c < 3; c++) {
    opts.scale[c] = 2.0f / 255;
    opts.bias[c] = -1.0f;
  }
  GError *error = NULL;
  AfGraph *g = af_graph_open (path, &opts, &error);
  if (g == NULL && error->code == AF_ERROR_UNSUPPORTED) {
    g_test_skip (error->message);
    g_error_free (error);
    return NULL;
  }
  g_assert_no_error (error);
  AfCompileOptions copts = AF_COMPILE_OPTIONS_INIT;
  copts.backend = AF_BACKEND_CPU;
  AfModel *m = af_compile (g, &copts, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  return m;
}

/* Runs BlazeFace on @image (stretched to 128x128) and decodes it with the
 * default blazeface spec, mapped back to the image's pixels. Returns
 * (transfer full) the result and sets the image size. */
static AfDecodeResult *
blazeface_detect (AfModel *m, const char *image, int *img_w, int *img_h)
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
  *img_w = gdk_pixbuf_get_width (pb);
  *img_h = gdk_pixbuf_get_height (pb);
  g_object_unref (pb);
  AfFrameMap map;
  af_frame_map_stretch (&map, *img_w, *img_h, 128, 128);
  af_decode_map_to_frame (res, &map);
  for (guint i = 0; i < res->n; i++) {
    AfDetection *d = &res->detections[i];
    g_test_message ("blazeface %s: %.1f %.1f %.1f %.1f score %.3f", image, d->x1, d->y1, d->x2,
                    d->y2, d->score);
    g_assert_cmpint (d->n_landmarks, ==, 6);
  }
  af_decoder_free (dec);
  return res;
}

/* TRUE if (@x, @y) lies inside a golden face box of @image (any model's). */
static gboolean
in_golden_face (const char *image, float x, float y)
{
  const char *root = g_getenv ("AF_SOURCE_ROOT");
  g_autofree char *path =
      g_build_filename (root ? root : ".", "tests", "decode", "golden-faces.txt", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    char m[128], im[128];
    float x1, y1, x2, y2, score;
    if (lines[i][0] != '#' &&
        sscanf (lines[i], "%127s %127s %f %f %f %f %f", m, im, &x1, &y1, &x2, &y2, &score) == 7 &&
        strcmp (im, image) == 0 && x >= x1 && x <= x2 && y >= y1 && y <= y2)
      return TRUE;
  }
  return FALSE;
}

/* BlazeFace with the blazeface decode finds a face in face.jpg (best score
 * > 0.85, its centre inside a golden face box) and Grace Hopper's (upper
 * half, central third), and nothing above 0.5 on the cat. */
static void
test_blazeface (void)
{
  AfModel *m = load_blazeface ();
  if (m == NULL)
    return;
  int w, h;
  AfDecodeResult *res = blazeface_detect (m, "face.jpg", &w, &h);
  g_assert_cmpuint (res->n, >=, 1);
  AfDetection *d = &res->detections[0]; /* best first */
  g_assert_cmpfloat (d->score, >, 0.85f);
  for (guint i = 0; i < res->n; i++) {
    d = &res->detections[i];
    g_assert_true (in_golden_face ("face.jpg", (d->x1 + d->x2) / 2, (d->y1 + d->y2) / 2));
  }
  af_decode_result_free (res);

  res = blazeface_detect (m, "grace_hopper.bmp", &w, &h);
  g_assert_cmpuint (res->n, >=, 1);
  d = &res->detections[0];
  g_assert_cmpfloat (d->score, >, 0.85f);
  float cx = (d->x1 + d->x2) / 2, cy = (d->y1 + d->y2) / 2;
  g_assert_cmpfloat (cy, <, h / 2.0f);
  g_assert_cmpfloat (cx, >, w / 3.0f);
  g_assert_cmpfloat (cx, <, 2 * w / 3.0f);
  g_assert_true (in_golden_face ("grace_hopper.bmp", cx, cy));
  af_decode_result_free (res);

  res = blazeface_detect (m, "cat.bmp", &w, &h);
  g_assert_cmpuint (res->n, ==, 0);
  af_decode_result_free (res);
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
