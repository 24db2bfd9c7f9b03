/* norm.c — batch_norm: x [N, C, ...], scale, bias, mean, var each [C];
 * y = (x - mean) / sqrt(var + eps) * scale + bias, in fp32. */
#include "ops-util.h"

gboolean
af__shape_norm (AfNode *n, GError **error)
{
  if (!af__ops_check_rank (n, 0, 2, AF_MAX_RANK, error))
    return FALSE;
  if (!(n->attrs.eps >= 0.0f) || isinf (n->attrs.eps))
    return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                        "attribute \"eps\": %g must be a finite number >= 0",
                        (double) n->attrs.eps);
  AfShape cs = { 1, { n->in[0]->shape.d[1] } };
  for (guint i = 1; i < 5; i++)
    if (!af__ops_check_shape (n, i, &cs, error))
      return FALSE;
  n->out->shape = n->in[0]->shape;
  return TRUE;
}

void
af__ref_norm (const AfNode *n, const float *const *in, float *out)
{
  gint64 outer, C, inner;
  af__ops_split (&n->in[0]->shape, 1, &outer, &C, &inner);
  const float *scale = in[1], *bias = in[2], *mean = in[3], *var = in[4];
  for (gint64 o = 0; o < outer; o++)
    for (gint64 c = 0; c < C; c++) {
      float sd = sqrtf (var[c] + n->attrs.eps);
      const float *x = in[0] + (o * C + c) * inner;
      float *y = out + (o * C + c) * inner;
      for (gint64 i = 0; i < inner; i++)
        y[i] = (x[i] - mean[c]) / sd * scale[c] + bias[c];
    }
}

void
af__cost_norm (const AfNode *n, AfCost *cost)
{
  /* folded into one multiply-add per element */
  cost->flops = 2 * (double) af__shape_numel (&n->out->shape);
  cost->bytes = af__ops_io_bytes (n);
}
