/* binary.c — elementwise add sub mul div maximum minimum with numpy
 * broadcasting. */
#include "ops-util.h"

gboolean
af__shape_binary (AfNode *n, GError **error)
{
  const AfShape *a = &n->in[0]->shape, *b = &n->in[1]->shape;
  AfShape out;
  if (!af__shape_broadcast (a, b, &out)) {
    char *sa = af__shape_str (a), *sb = af__shape_str (b);
    g_set_error (error, AF_ERROR, AF_ERROR_SHAPE,
                 "input 1 \"%s\" has shape %s, which does not broadcast with input 0 \"%s\" %s",
                 n->in[1]->name, sb, n->in[0]->name, sa);
    g_free (sa);
    g_free (sb);
    return FALSE;
  }
  n->out->shape = out;
  return TRUE;
}

/* numpy's maximum / minimum: a NaN operand gives NaN */
static inline float
af_max_nan (float a, float b)
{
  return isnan (a) || isnan (b) ? NAN : a > b ? a : b;
}

static inline float
af_min_nan (float a, float b)
{
  return isnan (a) || isnan (b) ? NAN : a < b ? a : b;
}

/* One output row of @len elements; @sa / @sb are the inputs' strides along
 * it (0 when broadcast). */
#define AF_BINARY_ROW(expr)                                                                        \
  for (gint64 j = 0; j < len; j++) {                                                               \
    float a = pa[j * sa], b = pb[j * sb];                                                          \
    y[j] = (expr);                                                                                 \
  }

static void
af_binary_row (AfOp op, const float *pa, gint64 sa, const float *pb, gint64 sb, float *y,
               gint64 len)
{
  switch (op) {
  case AF_OP_ADD:
    AF_BINARY_ROW (a + b);
    break;
  case AF_OP_SUB:
    AF_BINARY_ROW (a - b);
    break;
  case AF_OP_MUL:
    AF_BINARY_ROW (a * b);
    break;
  case AF_OP_DIV:
    AF_BINARY_ROW (a / b);
    break;
  case AF_OP_MAXIMUM:
    AF_BINARY_ROW (af_max_nan (a, b));
    break;
  case AF_OP_MINIMUM:
    AF_BINARY_ROW (af_min_nan (a, b));
    break;
  default:
    g_assert_not_reached ();
  }
}

/* Row by row along the last output dim; each row's start in each input
 * comes from the broadcast strides. */
void
af__ref_binary (const AfNode *n, const float *const *in, float *out)
{
  const AfShape *os = &n->out->shape;
  gint64 sa[AF_MAX_RANK], sb[AF_MAX_RANK];
  af__ops_bcast_strides (&n->in[0]->shape, os, sa);
  af__ops_bcast_strides (&n->in[1]->shape, os, sb);
  gint64 numel = af__shape_numel (os);
  gint64 len = os->rank ? os->d[os->rank - 1] : 1;
  gint64 ra = os->rank ? sa[os->rank - 1] : 0, rb = os->rank ? sb[os->rank - 1] : 0;
  for (gint64 r = 0; r < numel; r += len)
    af_binary_row (n->op, in[0] + af__ops_bcast_offset (r, os, sa), ra,
                   in[1] + af__ops_bcast_offset (r, os, sb), rb, out + r, len);
}

void
af__cost_binary (const AfNode *n, AfCost *cost)
{
  cost->flops = (double) af__shape_numel (&n->out->shape);
  cost->bytes = af__ops_io_bytes (n);
}
