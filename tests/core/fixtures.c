/* fixtures.c — graphs shared by the core tests. */
#include "fixtures.h"

static guint32 seed = 1;

static float
frand (void)
{
  seed = seed * 1664525u + 1013904223u;
  return ((seed >> 8) / 16777216.0f) * 2.0f - 1.0f;
}

float *
random_floats (gint64 n)
{
  float *f = g_new (float, n);
  for (gint64 i = 0; i < n; i++)
    f[i] = frand ();
  return f;
}

AfTensor *
random_weight (AfGraph *g, const char *name, int rank, const gint64 *shape)
{
  g_autofree float *data = random_floats (af_shape_numel (rank, shape));
  return af_weight (g, name, rank, shape, data);
}

/* A tiny CNN: conv-relu, conv-relu6, global pool, reshape, linear, softmax. */
AfGraph *
tiny_cnn (void)
{
  AfGraph *g = af_graph_new ("tiny");
  gint64 xs[] = { 1, 3, 17, 13 }, w1[] = { 8, 3, 3, 3 }, b1[] = { 8 }, w2[] = { 16, 8, 3, 3 },
         fc[] = { 10, 16 }, fb[] = { 10 }, flat[] = { 1, 16 };
  float scale = 1.0f / 255, bias = -0.5f;
  AfTensor *x = af_image_input (g, "image", xs, AF_PIXEL_RGB, 1, &scale, 1, &bias);
  AfConvParams p = AF_CONV_PARAMS_INIT;
  p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
  AfTensor *y = af_relu (
      g, af_conv (g, x, random_weight (g, "w1", 4, w1), random_weight (g, "b1", 1, b1), &p));
  p.stride[0] = p.stride[1] = 2;
  y = af_relu6 (g, af_conv (g, y, random_weight (g, "w2", 4, w2), NULL, &p));
  y = af_reshape (g, af_global_avg_pool (g, y), 2, flat);
  y = af_linear (g, y, random_weight (g, "fc", 2, fc), random_weight (g, "fb", 1, fb));
  af_graph_add_output (g, "probs", af_softmax (g, y, -1));
  g_assert_null (af_graph_error (g));
  return g;
}
