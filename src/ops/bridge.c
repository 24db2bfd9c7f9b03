/* bridge.c — bridge ops (each cuts the graph): argmax (attr axis, keepdims)
 * and topk (attrs k, axis, indices). Indices come out as float values, exact
 * in fp16 because the reduced axis is at most AF_MAX_BRIDGE_AXIS long. */
#include "ops-util.h"

gboolean
af__shape_bridge (AfNode *n, GError **error)
{
  const AfShape *in = &n->in[0]->shape;
  int ax;
  if (!af__ops_check_rank (n, 0, 1, AF_MAX_RANK, error) ||
      !af__ops_axis (n->attrs.axis, in->rank, "axis", &ax, error))
    return FALSE;
  if (in->d[ax] > AF_MAX_BRIDGE_AXIS) {
    char *s = af__shape_str (in);
    g_set_error (error, AF_ERROR, AF_ERROR_LIMIT,
                 "attribute \"axis\": axis %d of input 0 \"%s\" %s has %" G_GINT64_FORMAT
                 " entries, above the limit of %d for %s",
                 ax, n->in[0]->name, s, in->d[ax], AF_MAX_BRIDGE_AXIS, af_op_info[n->op].name);
    g_free (s);
    return FALSE;
  }
  AfShape out = *in;
  if (n->op == AF_OP_TOPK) {
    if (n->attrs.k < 1 || n->attrs.k > in->d[ax])
      return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                          "attribute \"k\": %" G_GINT64_FORMAT " is not in 1..%" G_GINT64_FORMAT
                          " (axis %d of input 0 \"%s\")",
                          n->attrs.k, in->d[ax], ax, n->in[0]->name);
    out.d[ax] = n->attrs.k;
  } else if (n->attrs.keepdims) {
    out.d[ax] = 1;
  } else {
    memmove (out.d + ax, out.d + ax + 1, sizeof (gint64) * (out.rank - ax - 1));
    out.rank--;
  }
  n->out->shape = out;
  return TRUE;
}

/* TRUE if entry @i ranks before entry @j: larger value, ties to the lower
 * index. */
static gboolean
af_topk_before (const float *x, gint64 inner, gint64 i, gint64 j)
{
  float a = x[i * inner], b = x[j * inner];
  return a > b || (a == b && i < j);
}

void
af__ref_bridge (const AfNode *n, const float *const *in, float *out)
{
  const AfShape *s = &n->in[0]->shape;
  int ax = (int) (n->attrs.axis < 0 ? n->attrs.axis + s->rank : n->attrs.axis);
  gint64 outer, len, inner;
  af__ops_split (s, ax, &outer, &len, &inner);
  gint64 k = n->op == AF_OP_TOPK ? n->attrs.k : 1;
  gint64 idx[AF_MAX_BRIDGE_AXIS];
  for (gint64 o = 0; o < outer; o++)
    for (gint64 i = 0; i < inner; i++) {
      const float *x = in[0] + o * len * inner + i;
      float *y = out + o * k * inner + i;
      /* selection of the k first entries in (value desc, index asc) order */
      for (gint64 j = 0; j < len; j++)
        idx[j] = j;
      for (gint64 r = 0; r < k; r++) {
        gint64 best = r;
        for (gint64 j = r + 1; j < len; j++)
          if (af_topk_before (x, inner, idx[j], idx[best]))
            best = j;
        gint64 t = idx[r];
        idx[r] = idx[best];
        idx[best] = t;
        gboolean want_index = n->op == AF_OP_ARGMAX || n->attrs.indices;
        y[r * inner] = want_index ? (float) idx[r] : x[idx[r] * inner];
      }
    }
}

void
af__cost_bridge (const AfNode *n, AfCost *cost)
{
  double numel = (double) af__shape_numel (&n->in[0]->shape);
  double k = n->op == AF_OP_TOPK ? (double) n->attrs.k : 1;
  /* compares; a top-k selection does about log2(k) + 1 per element */
  cost->flops = numel * (1 + log2 (k));
  cost->bytes = af__ops_io_bytes (n);
}
