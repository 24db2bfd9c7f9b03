/* reduce.c — mean sum amax amin over attribute "axes" (none: all axes) with
 * keepdims, and softmax over attribute "axis" (max-subtracted, fp32). */
#include "ops-util.h"

/* Marks the reduced axes of @rank in @mask; FALSE on an out-of-range or
 * duplicate axis. */
static gboolean
af_reduce_axes (const AfAttrs *a, int rank, gboolean *mask, GError **error)
{
  for (int i = 0; i < rank; i++)
    mask[i] = a->n_axes == 0;
  for (int i = 0; i < a->n_axes; i++) {
    int ax;
    if (!af__ops_axis (a->axes[i], rank, "axes", &ax, error))
      return FALSE;
    if (mask[ax])
      return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                          "attribute \"axes\": axis %" G_GINT64_FORMAT " is given twice",
                          a->axes[i]);
    mask[ax] = TRUE;
  }
  return TRUE;
}

gboolean
af__shape_reduce (AfNode *n, GError **error)
{
  const AfShape *in = &n->in[0]->shape;
  if (!af__ops_check_rank (n, 0, 1, AF_MAX_RANK, error))
    return FALSE;
  if (n->op == AF_OP_SOFTMAX) {
    int ax;
    if (!af__ops_axis (n->attrs.axis, in->rank, "axis", &ax, error))
      return FALSE;
    n->out->shape = *in;
    return TRUE;
  }
  gboolean mask[AF_MAX_RANK];
  if (!af_reduce_axes (&n->attrs, in->rank, mask, error))
    return FALSE;
  AfShape out = { 0 };
  for (int i = 0; i < in->rank; i++) {
    if (!mask[i])
      out.d[out.rank++] = in->d[i];
    else if (n->attrs.keepdims)
      out.d[out.rank++] = 1;
  }
  n->out->shape = out;
  return TRUE;
}

static void
af_ref_softmax (const AfNode *n, const float *const *in, float *out)
{
  const AfShape *s = &n->in[0]->shape;
  int ax = n->attrs.axis < 0 ? (int) n->attrs.axis + s->rank : (int) n->attrs.axis;
  gint64 outer, len, inner;
  af__ops_split (s, ax, &outer, &len, &inner);
  for (gint64 o = 0; o < outer; o++)
    for (gint64 i = 0; i < inner; i++) {
      const float *x = in[0] + o * len * inner + i;
      float *y = out + o * len * inner + i;
      float m = -INFINITY, sum = 0.0f;
      for (gint64 j = 0; j < len; j++)
        m = MAX (m, x[j * inner]);
      for (gint64 j = 0; j < len; j++) {
        y[j * inner] = expf (x[j * inner] - m);
        sum += y[j * inner];
      }
      for (gint64 j = 0; j < len; j++)
        y[j * inner] /= sum;
    }
}

/* Accumulates every input element into its output cell: the output index
 * is the input index with the reduced coordinates dropped. */
void
af__ref_reduce (const AfNode *n, const float *const *in, float *out)
{
  if (n->op == AF_OP_SOFTMAX) {
    af_ref_softmax (n, in, out);
    return;
  }
  const AfShape *s = &n->in[0]->shape;
  gboolean mask[AF_MAX_RANK];
  af_reduce_axes (&n->attrs, s->rank, mask, NULL);
  /* the output stride of each input dim (0 if reduced) */
  gint64 ostride[AF_MAX_RANK], st = 1, count = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    ostride[i] = mask[i] ? 0 : st;
    st *= mask[i] ? 1 : s->d[i];
    count *= mask[i] ? s->d[i] : 1;
  }
  gint64 n_out = af__shape_numel (&n->out->shape), n_in = af__shape_numel (s);
  float init = n->op == AF_OP_AMAX ? -INFINITY : n->op == AF_OP_AMIN ? INFINITY : 0.0f;
  for (gint64 o = 0; o < n_out; o++)
    out[o] = init;
  /* row by row along the last input dim, in input order */
  gint64 len = s->d[s->rank - 1], step = ostride[s->rank - 1];
  for (gint64 r = 0; r < n_in; r += len) {
    const float *x = in[0] + r;
    float *y = out + af__ops_bcast_offset (r, s, ostride);
    for (gint64 j = 0; j < len; j++) {
      float *yj = y + j * step;
      switch (n->op) {
      case AF_OP_AMAX:
        *yj = x[j] > *yj || isnan (x[j]) ? x[j] : *yj;
        break;
      case AF_OP_AMIN:
        *yj = x[j] < *yj || isnan (x[j]) ? x[j] : *yj;
        break;
      default:
        *yj += x[j];
      }
    }
  }
  if (n->op == AF_OP_MEAN)
    for (gint64 o = 0; o < n_out; o++)
      out[o] /= (float) count;
}

void
af__cost_reduce (const AfNode *n, AfCost *cost)
{
  double numel = (double) af__shape_numel (&n->in[0]->shape);
  /* softmax: max, subtract, exp, sum, divide */
  cost->flops = n->op == AF_OP_SOFTMAX ? 8 * numel : numel;
  cost->bytes = af__ops_io_bytes (n);
}
