/* test-tflite-model.c — the TFLite importer end to end on MediaPipe's
 * BlazeFace short-range detector (face_detection_short_range.tflite from
 * PyPI's mediapipe wheel, Apache-2.0; cached by tools/pyenv.sh, never
 * committed): import, compile and run on the shared photos and check the best
 * face score. A missing model fails the test unless PyPI was unreachable
 * (then it skips, tagged "pypi:"). oracle_blazeface.py compares the same
 * model with LiteRT. */
#include "import/tflite.h"
#include "oracle.h"
#include "test-media.h"

#include <math.h>
#include <string.h>

/* Imports and compiles BlazeFace as an RGB image port in [-1, 1], or returns
 * NULL after af_test_mediapipe_model failed (or skipped) the test. */
static AfModel *
load_blazeface (void)
{
  g_autofree char *path = af_test_mediapipe_model ("face_detection_short_range.tflite");
  if (!path)
    return NULL;
  AfImportOptions opts = AF_IMPORT_OPTIONS_INIT;
  opts.image = TRUE;
  opts.order = AF_PIXEL_RGB;
  for (int c = 0; c < 3; c++) {
    opts.scale[c] = 2.0f / 255.0f;
    opts.bias[c] = -1.0f;
  }
  GError *error = NULL;
  AfGraph *g = af_graph_import_tflite (path, &opts, &error);
  g_assert_no_error (error);
  AfCompileOptions copts = AF_COMPILE_OPTIONS_INIT;
  copts.backend = AF_BACKEND_CPU;
  AfModel *m = af_compile (g, &copts, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  return m;
}

/* The highest sigmoid(classificator logit) over the 896 anchors of @image
 * (a file in $AF_SHARED/media) resized to 128x128. */
static float
best_score (AfModel *m, const char *image)
{
  AfTensorInfo in, reg, cls;
  af_model_input_info (m, 0, &in);
  g_assert_true (in.is_image);
  g_assert_cmpint (in.rank, ==, 4);
  g_assert_cmpint (in.shape[1], ==, 3);
  g_assert_cmpint (in.shape[2], ==, 128);
  g_assert_cmpint (in.shape[3], ==, 128);
  g_assert_cmpuint (af_model_n_outputs (m), ==, 2);
  af_model_output_info (m, 0, &reg);
  af_model_output_info (m, 1, &cls);
  g_assert_cmpstr (reg.name, ==, "regressors");
  g_assert_cmpstr (cls.name, ==, "classificators");
  g_assert_cmpint (cls.rank, ==, 3);
  g_assert_cmpint (cls.shape[1], ==, 896);
  g_assert_cmpint (cls.shape[2], ==, 1);
  g_assert_cmpint (reg.shape[2], ==, 16);

  g_autofree char *rel = g_build_filename ("media", image, NULL);
  g_autofree char *path = af_test_shared_file (rel);
  g_assert_nonnull (path);
  float *pixels = af_test_load_planar (path, 128, 128, AF_PIXEL_RGB);
  GError *error = NULL;

  float *out_reg = g_new (float, 896 * 16), *out_cls = g_new (float, 896);
  const float *ins[] = { pixels };
  float *outs[] = { out_reg, out_cls };
  g_assert_true (af_model_run (m, ins, outs, &error));
  g_assert_no_error (error);
  float best = -INFINITY;
  guint above = 0;
  for (int i = 0; i < 896; i++) {
    g_assert_true (isfinite (out_cls[i]));
    float s = 1.0f / (1.0f + expf (-out_cls[i]));
    best = MAX (best, s);
    above += s > 0.5f;
  }
  g_test_message ("%s: best face score %.4f, %u anchors above 0.5", image, best, above);
  g_free (pixels);
  g_free (out_reg);
  g_free (out_cls);
  return best;
}

/* BlazeFace imported from TFLite finds the face in face.jpg and in
 * grace_hopper.bmp (score > 0.85) and none in cat.bmp (no anchor > 0.5). */
static void
test_blazeface_scores (void)
{
  AfModel *m = load_blazeface ();
  if (!m)
    return;
  g_assert_cmpfloat (best_score (m, "face.jpg"), >, 0.85f);
  g_assert_cmpfloat (best_score (m, "grace_hopper.bmp"), >, 0.85f);
  g_assert_cmpfloat (best_score (m, "cat.bmp"), <=, 0.5f);
  af_model_free (m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tflite/blazeface/scores", test_blazeface_scores);
  return g_test_run ();
}
