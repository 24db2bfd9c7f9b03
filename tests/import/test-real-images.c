/* test-real-images.c — real models on real pictures, the way a user runs
 * them: ONNX imported with an image port, pictures decoded and resized
 * (bilinear) into the port as uint8, the model run on the CPU backend. */
#include <math.h>
#include "oracle.h"
#include "test-media.h"

static AfModel *
import_squeezenet (gboolean winograd)
{
  g_autofree char *path = af_test_shared_path ("models/squeezenet/SqueezeNet_fp16.onnx");
  AfImportOptions io = AF_IMPORT_OPTIONS_INIT; /* raw BGR 0..255, no scaling */
  io.image = TRUE;
  io.order = AF_PIXEL_BGR;
  GError *error = NULL;
  AfGraph *g = af_graph_import_onnx (path, &io, &error);
  g_assert_no_error (error);
  AfCompileOptions co = AF_COMPILE_OPTIONS_INIT;
  co.winograd = winograd;
  AfModel *m = af_compile (g, &co, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  return m;
}

static guint
best_class (AfModel *m, float *score)
{
  AfTensorInfo info;
  af_model_output_info (m, 0, &info);
  gint64 n = af_shape_numel (info.rank, info.shape);
  const guint16 *out = af_model_output_view (m, 0);
  guint best = 0;
  for (gint64 i = 1; i < n; i++)
    if (af_fp16_to_f32 (out[i]) > af_fp16_to_f32 (out[best]))
      best = (guint) i;
  *score = af_fp16_to_f32 (out[best]);
  return best;
}

typedef struct {
  const char *image;
  guint want;
  float min_score;
} Case;

/* SqueezeNet 1.1 fp16 names the kitten a tabby (281, ~0.93), the parrot a
 * macaw (88, ~0.98) and the fish a tench (0, ~0.74). */
static void
test_squeezenet_pictures (void)
{
  g_autofree char *model = af_test_shared_file ("models/squeezenet/SqueezeNet_fp16.onnx");
  if (!model) /* failed: CI and every developer have ../shared */
    return;
  static const Case cases[] = {
    { "media/kitten_224.png", 281, 0.85f },
    { "media/parrot.jpg", 88, 0.90f },
    { "media/fish.png", 0, 0.70f },
  };
  AfModel *m = import_squeezenet (FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *image = af_test_shared_file (cases[i].image);
    if (!image)
      return;
    af_test_fill_port (m, 0, image);
    GError *error = NULL;
    g_assert_true (af_model_execute (m, &error));
    float score;
    guint got = best_class (m, &score);
    g_test_message ("%s: class %u score %.4f", cases[i].image, got, score);
    g_assert_cmpuint (got, ==, cases[i].want);
    g_assert_cmpfloat (score, >=, cases[i].min_score);
  }
  af_model_free (m);
}

/* The compile option winograd (stride-1 3x3 convs with 32+ channels as
 * Winograd F(2x2, 3x3)) names the same classes with scores within 0.01 of
 * the direct convolution's, and not all identical (the option took effect). */
static void
test_squeezenet_winograd (void)
{
  g_autofree char *model = af_test_shared_file ("models/squeezenet/SqueezeNet_fp16.onnx");
  if (!model) /* failed: CI and every developer have ../shared */
    return;
  static const char *images[] = { "media/kitten_224.png", "media/parrot.jpg", "media/fish.png" };
  AfModel *direct = import_squeezenet (FALSE), *wino = import_squeezenet (TRUE);
  guint differ = 0;
  for (guint i = 0; i < G_N_ELEMENTS (images); i++) {
    g_autofree char *image = af_test_shared_file (images[i]);
    if (!image)
      return;
    float sd, sw;
    af_test_fill_port (direct, 0, image);
    af_test_fill_port (wino, 0, image);
    g_assert_true (af_model_execute (direct, NULL));
    g_assert_true (af_model_execute (wino, NULL));
    guint cd = best_class (direct, &sd), cw = best_class (wino, &sw);
    g_test_message ("%s: direct %u %.4f, winograd %u %.4f", images[i], cd, sd, cw, sw);
    g_assert_cmpuint (cw, ==, cd);
    g_assert_cmpfloat (fabsf (sw - sd), <=, 0.01f);
    differ += sw != sd;
  }
  g_assert_cmpuint (differ, >, 0);
  af_model_free (direct);
  af_model_free (wino);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/real-images/squeezenet", test_squeezenet_pictures);
  g_test_add_func ("/real-images/squeezenet-winograd", test_squeezenet_winograd);
  return g_test_run ();
}
