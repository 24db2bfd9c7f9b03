/* test-tflite-model.c — the TFLite importer end to end on MediaPipe's
 * BlazeFace short-range detector (npm package @mediapipe/face_detection,
 * Apache-2.0; installed at test time, never committed): import, compile and
 * run on the shared photos and check the best face score. Skips when the
 * model is not installed.
 *
 * The model is looked for at $AF_TFLITE_MODEL, then
 * ${AF_NPM_PREFIX:-$HOME/.cache/aneforge/npm}/node_modules/@mediapipe/
 * face_detection/face_detection_short_range.tflite, where
 *   npm install --no-save --prefix "$HOME/.cache/aneforge/npm" \
 *       @mediapipe/face_detection@0.4.1657300184
 * puts it. */
#include "import/tflite.h"
#include "test-media.h"

#include <math.h>
#include <string.h>

static char *
model_path (void)
{
  const char *env = g_getenv ("AF_TFLITE_MODEL");
  if (env)
    return g_strdup (env);
  const char *prefix = g_getenv ("AF_NPM_PREFIX");
  g_autofree char *dflt = g_build_filename (g_get_home_dir (), ".cache", "aneforge", "npm", NULL);
  return g_build_filename (prefix ? prefix : dflt, "node_modules", "@mediapipe", "face_detection",
                           "face_detection_short_range.tflite", NULL);
}

/* Imports and compiles BlazeFace as an RGB image port in [-1, 1], or returns
 * NULL after marking the test skipped. */
static AfModel *
load_blazeface (void)
{
  g_autofree char *path = model_path ();
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_autofree char *msg =
        g_strdup_printf ("%s not found; install it with: npm install --no-save --prefix "
                         "\"$HOME/.cache/aneforge/npm\" @mediapipe/face_detection@0.4.1657300184",
                         path);
    g_test_skip (msg);
    return NULL;
  }
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
  g_autofree char *path = af_test_shared_path (rel);
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
