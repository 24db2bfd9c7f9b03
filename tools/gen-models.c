/* gen-models — writes the graphs the project owns, with the builder API.
 *
 *   gen-models tiny-classifier DIR   the committed models/tiny-classifier.*
 *   gen-models squeezenet DIR        a SqueezeNet 1.1-shaped graph with random
 *                                    weights (for latency measurements)
 *
 * tiny-classifier names the dominant colour of a frame. Its weights are
 * designed, not trained: two convolutions pass the colour planes through
 * (identity taps) beside a few edge detectors, a global average pool gives
 * the mean colour, and a linear layer scores each of ten colour prototypes
 * by -T * |mean - prototype|^2 (expanded: 2T p.x - T |p|^2, the |x|^2 term
 * is the same for every class). So videotestsrc pattern=red is "red". */
#include "aneforge.h"

#include <stdio.h>
#include <string.h>

static const struct {
  const char *name;
  float rgb[3];
} colours[] = {
  { "black", { 0, 0, 0 } },     { "white", { 1, 1, 1 } },   { "red", { 1, 0, 0 } },
  { "green", { 0, 1, 0 } },     { "blue", { 0, 0, 1 } },    { "yellow", { 1, 1, 0 } },
  { "cyan", { 0, 1, 1 } },      { "magenta", { 1, 0, 1 } }, { "gray", { 0.5f, 0.5f, 0.5f } },
  { "orange", { 1, 0.5f, 0 } },
};
#define N_CLASSES 10
#define TEMPERATURE 16.0f

/* conv weight [out, in, 3, 3]: out channel c < n_pass copies in channel c
 * (centre tap); the others are edge filters on in channel (c % in). */
static float *
pass_through_weights (int out, int in, int n_pass)
{
  float *w = g_new0 (float, out *in * 9);
  static const float edge[2][9] = { { -1, 0, 1, -2, 0, 2, -1, 0, 1 },
                                    { -1, -2, -1, 0, 0, 0, 1, 2, 1 } };
  for (int o = 0; o < out; o++) {
    float *k = w + (o * in + (o < n_pass ? o : o % n_pass)) * 9;
    if (o < n_pass)
      k[4] = 1.0f;
    else
      memcpy (k, edge[o % 2], sizeof edge[0]);
  }
  return w;
}

static int
tiny_classifier (const char *dir)
{
  AfGraph *g = af_graph_new ("tiny-classifier");
  gint64 xs[] = { 1, 3, 32, 32 }, w1s[] = { 8, 3, 3, 3 }, w2s[] = { 16, 8, 3, 3 }, b2s[] = { 16 },
         fcs[] = { N_CLASSES, 16 }, fbs[] = { N_CLASSES }, flat[] = { 1, 16 };
  float scale = 1.0f / 255, bias = 0;
  AfTensor *x = af_image_input (g, "image", xs, AF_PIXEL_RGB, 1, &scale, 1, &bias);

  g_autofree float *w1 = pass_through_weights (8, 3, 3);
  g_autofree float *w2 = pass_through_weights (16, 8, 3);
  float b2[16] = { 0 };
  AfConvParams p = AF_CONV_PARAMS_INIT;
  p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
  p.stride[0] = p.stride[1] = 2;
  AfTensor *y = af_relu (g, af_conv (g, x, af_weight (g, "conv1.weight", 4, w1s, w1), NULL, &p));
  y = af_relu (g, af_conv (g, y, af_weight (g, "conv2.weight", 4, w2s, w2),
                           af_weight (g, "conv2.bias", 1, b2s, b2), &p));
  y = af_reshape (g, af_global_avg_pool (g, y), 2, flat);

  float fc[N_CLASSES * 16] = { 0 }, fb[N_CLASSES];
  for (int k = 0; k < N_CLASSES; k++) {
    float norm = 0;
    for (int c = 0; c < 3; c++) {
      fc[k * 16 + c] = 2 * TEMPERATURE * colours[k].rgb[c];
      norm += colours[k].rgb[c] * colours[k].rgb[c];
    }
    fb[k] = -TEMPERATURE * norm;
  }
  y = af_linear (g, y, af_weight (g, "fc.weight", 2, fcs, fc),
                 af_weight (g, "fc.bias", 1, fbs, fb));
  af_tensor_set_name (y, "logits");
  AfTensor *probs = af_softmax (g, y, -1);
  af_tensor_set_name (probs, "softmax");
  af_graph_add_output (g, "probs", probs);
  af_graph_set_classification (g, 0, FALSE, 5, "tiny-classifier.labels");

  GError *error = NULL;
  g_autofree char *path = g_build_filename (dir, "tiny-classifier.json", NULL);
  g_autofree char *labels_path = g_build_filename (dir, "tiny-classifier.labels", NULL);
  GString *labels = g_string_new (NULL);
  for (int k = 0; k < N_CLASSES; k++)
    g_string_append_printf (labels, "%s\n", colours[k].name);
  gboolean ok = af_graph_save (g, path, &error) &&
                g_file_set_contents (labels_path, labels->str, labels->len, &error);
  g_string_free (labels, TRUE);
  af_graph_free (g);
  if (!ok) {
    fprintf (stderr, "gen-models: %s\n", error->message);
    g_error_free (error);
    return 1;
  }
  printf ("wrote %s\n", path);
  return 0;
}

/* ---- SqueezeNet 1.1 shape, random weights ---- */

static guint32 rng = 12345;

static AfTensor *
rand_weight (AfGraph *g, const char *name, int rank, const gint64 *shape, float fan_in)
{
  gint64 n = af_shape_numel (rank, shape);
  g_autofree float *w = g_new (float, n);
  float a = 1.0f / fan_in;
  for (gint64 i = 0; i < n; i++) {
    rng = rng * 1664525u + 1013904223u;
    w[i] = (((rng >> 8) / 16777216.0f) * 2 - 1) * a * 1.7f;
  }
  return af_weight (g, name, rank, shape, w);
}

static AfTensor *
conv_relu (AfGraph *g, AfTensor *x, const char *name, int cin, int cout, int k, int stride, int pad)
{
  gint64 ws[] = { cout, cin, k, k }, bs[] = { cout };
  char wn[64], bn[64];
  g_snprintf (wn, sizeof wn, "%s.weight", name);
  g_snprintf (bn, sizeof bn, "%s.bias", name);
  AfConvParams p = AF_CONV_PARAMS_INIT;
  p.stride[0] = p.stride[1] = stride;
  p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = pad;
  return af_relu (g, af_conv (g, x, rand_weight (g, wn, 4, ws, cin * k * k),
                              rand_weight (g, bn, 1, bs, 1000), &p));
}

static AfTensor *
fire (AfGraph *g, AfTensor *x, int idx, int cin, int s, int e)
{
  char n[32];
  g_snprintf (n, sizeof n, "fire%d.squeeze", idx);
  AfTensor *sq = conv_relu (g, x, n, cin, s, 1, 1, 0);
  g_snprintf (n, sizeof n, "fire%d.expand1", idx);
  AfTensor *e1 = conv_relu (g, sq, n, s, e, 1, 1, 0);
  g_snprintf (n, sizeof n, "fire%d.expand3", idx);
  AfTensor *e3 = conv_relu (g, sq, n, s, e, 3, 1, 1);
  AfTensor *cat[] = { e1, e3 };
  return af_concat (g, 2, cat, 1);
}

static int
squeezenet (const char *dir)
{
  AfGraph *g = af_graph_new ("squeezenet1_1-random");
  gint64 xs[] = { 1, 3, 224, 224 }, flat[] = { 1, 1000 };
  float scale = 1.0f / 255, bias = 0;
  AfTensor *x = af_image_input (g, "image", xs, AF_PIXEL_RGB, 1, &scale, 1, &bias);
  AfPoolParams mp = { { 3, 3 }, { 2, 2 }, { 0, 0, 0, 0 }, TRUE, FALSE };
  AfTensor *y = af_max_pool (g, conv_relu (g, x, "conv1", 3, 64, 3, 2, 0), &mp);
  y = fire (g, y, 2, 64, 16, 64);
  y = af_max_pool (g, fire (g, y, 3, 128, 16, 64), &mp);
  y = fire (g, y, 4, 128, 32, 128);
  y = af_max_pool (g, fire (g, y, 5, 256, 32, 128), &mp);
  y = fire (g, y, 6, 256, 48, 192);
  y = fire (g, y, 7, 384, 48, 192);
  y = fire (g, y, 8, 384, 64, 256);
  y = fire (g, y, 9, 512, 64, 256);
  y = af_global_avg_pool (g, conv_relu (g, y, "classifier", 512, 1000, 1, 1, 0));
  AfTensor *probs = af_softmax (g, af_reshape (g, y, 2, flat), -1);
  af_graph_add_output (g, "probs", probs);
  GError *error = NULL;
  g_autofree char *path = g_build_filename (dir, "squeezenet1_1-random.json", NULL);
  gboolean ok = af_graph_save (g, path, &error);
  af_graph_free (g);
  if (!ok) {
    fprintf (stderr, "gen-models: %s\n", error->message);
    g_error_free (error);
    return 1;
  }
  printf ("wrote %s\n", path);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc != 3) {
    fprintf (stderr, "usage: gen-models tiny-classifier|squeezenet DIR\n");
    return 2;
  }
  if (strcmp (argv[1], "tiny-classifier") == 0)
    return tiny_classifier (argv[2]);
  if (strcmp (argv[1], "squeezenet") == 0)
    return squeezenet (argv[2]);
  fprintf (stderr, "gen-models: unknown model \"%s\"\n", argv[1]);
  return 2;
}
