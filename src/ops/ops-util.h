/* ops-util.h — helpers shared by the op family files (src/ops/ only).
 *
 * Messages follow the house format: they name the field (an input by index
 * and value name, or an attribute by its JSON key); the caller
 * (af__node_infer_shape) prefixes file and node. Input indices are 0-based. */
#ifndef AF_OPS_UTIL_H
#define AF_OPS_UTIL_H

#include "graph.h"

#include <math.h>
#include <string.h>

/* Sets @error (AF_ERROR domain, @code) and evaluates to FALSE. */
#define AF_OPS_FAIL(error, code, ...) (g_set_error ((error), AF_ERROR, (code), __VA_ARGS__), FALSE)

/* "input I \"NAME\" has shape S, expected WANT" (AF_ERROR_SHAPE); returns FALSE. */
static inline gboolean
af__ops_bad_input (const AfNode *n, guint i, const char *want, GError **error)
{
  char *s = af__shape_str (&n->in[i]->shape);
  g_set_error (error, AF_ERROR, AF_ERROR_SHAPE, "input %u \"%s\" has shape %s, expected %s", i,
               n->in[i]->name, s, want);
  g_free (s);
  return FALSE;
}

/* Checks that input @i has a rank in @lo..@hi. */
static inline gboolean
af__ops_check_rank (const AfNode *n, guint i, int lo, int hi, GError **error)
{
  int r = n->in[i]->shape.rank;
  if (r >= lo && r <= hi)
    return TRUE;
  char want[64];
  if (lo == hi)
    g_snprintf (want, sizeof want, "rank %d", lo);
  else
    g_snprintf (want, sizeof want, "rank %d to %d", lo, hi);
  return af__ops_bad_input (n, i, want, error);
}

/* Checks that input @i has exactly the shape @want. */
static inline gboolean
af__ops_check_shape (const AfNode *n, guint i, const AfShape *want, GError **error)
{
  if (af__shape_equal (&n->in[i]->shape, want))
    return TRUE;
  char *w = af__shape_str (want);
  af__ops_bad_input (n, i, w, error);
  g_free (w);
  return FALSE;
}

/* Normalizes @axis (negative counts from the end) against @rank into @out;
 * @attr is the attribute key for the message (AF_ERROR_INVALID). */
static inline gboolean
af__ops_axis (gint64 axis, int rank, const char *attr, int *out, GError **error)
{
  gint64 a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                        "attribute \"%s\": %" G_GINT64_FORMAT " is out of range for rank %d", attr,
                        axis, rank);
  *out = (int) a;
  return TRUE;
}

/* Splits @s around @axis: @outer dims before, @len the axis, @inner after. */
static inline void
af__ops_split (const AfShape *s, int axis, gint64 *outer, gint64 *len, gint64 *inner)
{
  gint64 o = 1, in = 1;
  for (int i = 0; i < axis; i++)
    o *= s->d[i];
  for (int i = axis + 1; i < s->rank; i++)
    in *= s->d[i];
  *outer = o;
  *len = s->d[axis];
  *inner = in;
}

/* Fills @strides (out->rank entries): the element stride of @in (dense,
 * right-aligned to @out, numpy broadcasting) along each output dim; 0 where
 * @in broadcasts. */
static inline void
af__ops_bcast_strides (const AfShape *in, const AfShape *out, gint64 *strides)
{
  gint64 st = 1;
  for (int i = out->rank - 1; i >= 0; i--) {
    int j = in->rank - out->rank + i;
    gint64 d = j >= 0 ? in->d[j] : 1;
    strides[i] = d == 1 ? 0 : st;
    st *= d;
  }
}

/* The offset in a broadcast input of output element @idx. */
static inline gint64
af__ops_bcast_offset (gint64 idx, const AfShape *out, const gint64 *strides)
{
  gint64 off = 0;
  for (int i = out->rank - 1; i >= 0; i--) {
    off += (idx % out->d[i]) * strides[i];
    idx /= out->d[i];
  }
  return off;
}

/* 2 bytes per element of every input and of the output. */
static inline double
af__ops_io_bytes (const AfNode *n)
{
  double e = (double) af__shape_numel (&n->out->shape);
  for (guint i = 0; i < n->n_in; i++)
    e += (double) af__shape_numel (&n->in[i]->shape);
  return 2.0 * e;
}

#endif /* AF_OPS_UTIL_H */
