/* input.c — graph inputs: INPUT (fp16 tensor) and IMAGE_INPUT (uint8 pixels,
 * x * scale[c] + bias[c] on the engine). Their output shape is preset by
 * whoever created the node; the shape function only checks it. */
#include "ops-util.h"

static gboolean
af_input_check_shape (const AfShape *s, GError **error)
{
  if (s->rank < 1 || s->rank > AF_MAX_RANK) {
    char *str = af__shape_str (s);
    g_set_error (error, AF_ERROR, AF_ERROR_SHAPE,
                 "field \"shape\": %s has rank %d, expected rank 1 to %d", str, s->rank,
                 AF_MAX_RANK);
    g_free (str);
    return FALSE;
  }
  for (int i = 0; i < s->rank; i++) {
    if (s->d[i] <= 0) {
      char *str = af__shape_str (s);
      g_set_error (error, AF_ERROR, AF_ERROR_SHAPE,
                   "field \"shape\": %s has dim %d = %" G_GINT64_FORMAT ", expected > 0", str, i,
                   s->d[i]);
      g_free (str);
      return FALSE;
    }
  }
  return TRUE;
}

static const char *
af_pixel_order_name (AfPixelOrder o)
{
  switch (o) {
  case AF_PIXEL_RGB:
    return "RGB";
  case AF_PIXEL_BGR:
    return "BGR";
  case AF_PIXEL_GRAY:
    return "GRAY";
  }
  return "?";
}

static gboolean
af_image_check_shape (const AfNode *n, GError **error)
{
  const AfShape *s = &n->out->shape;
  gint64 want_c = n->image.order == AF_PIXEL_GRAY ? 1 : 3;
  char *str = af__shape_str (s);
  gboolean ok = TRUE;
  if (s->rank != 4) {
    g_set_error (error, AF_ERROR, AF_ERROR_SHAPE,
                 "field \"shape\": %s of an image input must be [N, C, H, W]", str);
    ok = FALSE;
  } else if (s->d[1] != want_c) {
    g_set_error (error, AF_ERROR, AF_ERROR_SHAPE,
                 "field \"shape\": %s has %" G_GINT64_FORMAT " channels, expected %" G_GINT64_FORMAT
                 " for pixel format %s",
                 str, s->d[1], want_c, af_pixel_order_name (n->image.order));
    ok = FALSE;
  }
  g_free (str);
  return ok;
}

gboolean
af__shape_input (AfNode *n, GError **error)
{
  if (!af_input_check_shape (&n->out->shape, error))
    return FALSE;
  if (n->op == AF_OP_IMAGE_INPUT)
    return af_image_check_shape (n, error);
  return TRUE;
}

/* in[0]: the input data (pixel values 0..255 for an image port). */
void
af__ref_input (const AfNode *n, const float *const *in, float *out)
{
  const AfShape *s = &n->out->shape;
  gint64 numel = af__shape_numel (s);
  if (n->op == AF_OP_INPUT) {
    memcpy (out, in[0], numel * sizeof (float));
    return;
  }
  gint64 c_n = s->d[1], plane = s->d[2] * s->d[3];
  for (gint64 b = 0; b < s->d[0]; b++)
    for (gint64 c = 0; c < c_n; c++) {
      gint64 base = (b * c_n + c) * plane;
      float sc = n->image.scale[c], bi = n->image.bias[c];
      for (gint64 i = 0; i < plane; i++)
        out[base + i] = in[0][base + i] * sc + bi;
    }
}

void
af__cost_input (const AfNode *n, AfCost *cost)
{
  double numel = (double) af__shape_numel (&n->out->shape);
  /* the port's multiply-add per pixel; the output written as fp16 */
  cost->flops = n->op == AF_OP_IMAGE_INPUT ? 2 * numel : 0;
  cost->bytes = 2 * numel;
}
