/* layout.c — concat (attr axis), reshape (attr shape, ONNX semantics),
 * transpose (attr perm; none: reverse), upsample (nearest, integer attr
 * scale on H and W) and resize_bilinear (attr size [h, w]; coordinates
 * align_corners, half_pixel, or neither: TensorFlow's asymmetric mode). */
#include "ops-util.h"

static char *
af_ints_str (int n, const gint64 *v)
{
  AfShape s = { n };
  memcpy (s.d, v, sizeof (gint64) * n);
  return af__shape_str (&s);
}

/* ---------------------------------------------------------------- concat */

static gboolean
af_shape_concat (AfNode *n, GError **error)
{
  AfShape out = n->in[0]->shape;
  int ax;
  if (!af__ops_check_rank (n, 0, 1, AF_MAX_RANK, error) ||
      !af__ops_axis (n->attrs.axis, out.rank, "axis", &ax, error))
    return FALSE;
  for (guint i = 1; i < n->n_in; i++) {
    const AfShape *s = &n->in[i]->shape;
    gboolean ok = s->rank == out.rank;
    for (int j = 0; ok && j < s->rank; j++)
      ok = j == ax || s->d[j] == out.d[j];
    if (!ok) {
      AfShape want = out;
      want.d[ax] = s->rank == out.rank ? s->d[ax] : out.d[ax];
      char *w = af__shape_str (&want);
      char *msg = g_strdup_printf ("%s (as input 0 \"%s\" outside axis %d)", w, n->in[0]->name, ax);
      af__ops_bad_input (n, i, msg, error);
      g_free (w);
      g_free (msg);
      return FALSE;
    }
    out.d[ax] += s->d[ax];
  }
  n->out->shape = out;
  return TRUE;
}

static void
af_ref_concat (const AfNode *n, const float *const *in, float *out)
{
  int ax = (int) (n->attrs.axis < 0 ? n->attrs.axis + n->out->shape.rank : n->attrs.axis);
  gint64 outer, len, inner;
  af__ops_split (&n->out->shape, ax, &outer, &len, &inner);
  for (gint64 o = 0; o < outer; o++) {
    gint64 at = 0;
    for (guint i = 0; i < n->n_in; i++) {
      gint64 chunk = n->in[i]->shape.d[ax] * inner;
      memcpy (out + o * len * inner + at, in[i] + o * chunk, chunk * sizeof (float));
      at += chunk;
    }
  }
}

/* ---------------------------------------------------------------- reshape */

static gboolean
af_shape_reshape (AfNode *n, GError **error)
{
  const AfAttrs *a = &n->attrs;
  const AfShape *in = &n->in[0]->shape;
  if (a->n_shape < 1)
    return AF_OPS_FAIL (error, AF_ERROR_INVALID, "attribute \"shape\" is missing");
  AfShape out = { a->n_shape };
  int infer = -1;
  gint64 known = 1;
  for (int i = 0; i < a->n_shape; i++) {
    gint64 d = a->shape[i];
    if (d == -1 && infer < 0) {
      infer = i;
      continue;
    }
    if (d == 0 && i < in->rank)
      d = in->d[i];
    if (d <= 0) {
      char *s = af_ints_str (a->n_shape, a->shape);
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                   "attribute \"shape\": %s: entry %d = %" G_GINT64_FORMAT
                   " is invalid (dims are > 0, -1 once to infer, or 0 within the input's rank %d)",
                   s, i, a->shape[i], in->rank);
      g_free (s);
      return FALSE;
    }
    if (known > AF_MAX_NUMEL / d)
      known = AF_MAX_NUMEL + 1; /* certainly does not fit */
    else
      known *= d;
    out.d[i] = d;
  }
  gint64 numel = af__shape_numel (in);
  if (infer >= 0 && known <= numel && numel % known == 0)
    out.d[infer] = numel / known;
  if ((infer >= 0 && (known > numel || numel % known != 0)) || (infer < 0 && known != numel)) {
    char *s = af_ints_str (a->n_shape, a->shape);
    char *is = af__shape_str (in);
    g_set_error (error, AF_ERROR, AF_ERROR_SHAPE,
                 "attribute \"shape\": %s does not fit input 0 \"%s\" of shape %s "
                 "(%" G_GINT64_FORMAT " elements)",
                 s, n->in[0]->name, is, numel);
    g_free (s);
    g_free (is);
    return FALSE;
  }
  n->out->shape = out;
  return TRUE;
}

/* --------------------------------------------------------------- transpose */

/* The effective permutation (reversed axes when none is given). */
static void
af_transpose_perm (const AfNode *n, int *perm)
{
  int r = n->in[0]->shape.rank;
  for (int i = 0; i < r; i++)
    perm[i] = n->attrs.n_perm ? (int) n->attrs.perm[i] : r - 1 - i;
}

static gboolean
af_shape_transpose (AfNode *n, GError **error)
{
  const AfAttrs *a = &n->attrs;
  const AfShape *in = &n->in[0]->shape;
  if (!af__ops_check_rank (n, 0, 1, AF_MAX_RANK, error))
    return FALSE;
  gboolean ok = a->n_perm == 0 || a->n_perm == in->rank, seen[AF_MAX_RANK] = { 0 };
  for (int i = 0; ok && i < a->n_perm; i++) {
    ok = a->perm[i] >= 0 && a->perm[i] < in->rank && !seen[a->perm[i]];
    if (ok)
      seen[a->perm[i]] = TRUE;
  }
  if (!ok) {
    char *s = af_ints_str (a->n_perm, a->perm);
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                 "attribute \"perm\": %s is not a permutation of %d axes (input 0 \"%s\")", s,
                 in->rank, n->in[0]->name);
    g_free (s);
    return FALSE;
  }
  int perm[AF_MAX_RANK];
  af_transpose_perm (n, perm);
  AfShape out = { in->rank };
  for (int i = 0; i < in->rank; i++)
    out.d[i] = in->d[perm[i]];
  n->out->shape = out;
  return TRUE;
}

static void
af_ref_transpose (const AfNode *n, const float *const *in, float *out)
{
  const AfShape *is = &n->in[0]->shape, *os = &n->out->shape;
  int perm[AF_MAX_RANK];
  af_transpose_perm (n, perm);
  gint64 istride[AF_MAX_RANK], st = 1, ostride[AF_MAX_RANK];
  for (int i = is->rank - 1; i >= 0; i--) {
    istride[i] = st;
    st *= is->d[i];
  }
  for (int i = 0; i < os->rank; i++)
    ostride[i] = istride[perm[i]]; /* input stride along output dim i */
  gint64 numel = af__shape_numel (os), len = os->d[os->rank - 1], step = ostride[os->rank - 1];
  for (gint64 r = 0; r < numel; r += len) {
    const float *x = in[0] + af__ops_bcast_offset (r, os, ostride);
    for (gint64 j = 0; j < len; j++)
      out[r + j] = x[j * step];
  }
}

/* ---------------------------------------------------------------- upsample */

static gboolean
af_shape_upsample (AfNode *n, GError **error)
{
  if (!af__ops_check_rank (n, 0, 4, 4, error))
    return FALSE;
  AfShape out = n->in[0]->shape;
  for (int i = 0; i < 2; i++) {
    gint64 s = n->attrs.scale[i];
    if (s < 1 || s > AF_MAX_DIM)
      return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                          "attribute \"scale\": %" G_GINT64_FORMAT " must be an integer >= 1", s);
    out.d[2 + i] *= s; /* both factors <= 2^31: no overflow; the caller checks the limit */
  }
  n->out->shape = out;
  return TRUE;
}

static void
af_ref_upsample (const AfNode *n, const float *const *in, float *out)
{
  const gint64 *is = n->in[0]->shape.d, *os = n->out->shape.d;
  gint64 sh = n->attrs.scale[0], sw = n->attrs.scale[1];
  for (gint64 pl = 0; pl < is[0] * is[1]; pl++)
    for (gint64 y = 0; y < os[2]; y++)
      for (gint64 x = 0; x < os[3]; x++)
        out[(pl * os[2] + y) * os[3] + x] = in[0][(pl * is[2] + y / sh) * is[3] + x / sw];
}

/* ---------------------------------------------------------------- resize_bilinear */

static gboolean
af_shape_resize (AfNode *n, GError **error)
{
  if (!af__ops_check_rank (n, 0, 4, 4, error))
    return FALSE;
  const AfAttrs *a = &n->attrs;
  if (a->align_corners && a->half_pixel)
    return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                        "attributes \"align_corners\" and \"half_pixel\" are both true (they "
                        "are two different coordinate modes)");
  AfShape out = n->in[0]->shape;
  for (int i = 0; i < 2; i++) {
    if (a->size[i] < 1 || a->size[i] > AF_MAX_DIM)
      return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                          "attribute \"size\": %" G_GINT64_FORMAT " is not in 1..%" G_GINT64_FORMAT,
                          a->size[i], (gint64) AF_MAX_DIM);
    out.d[2 + i] = a->size[i];
  }
  n->out->shape = out;
  return TRUE;
}

/* Output index @i's source row/column: the two neighbours and the weight of
 * the second, as TensorFlow's ResizeBilinear computes them (the source
 * coordinate clamped to the input). */
static void
af_resize_coord (gint64 in, gint64 out, gboolean align_corners, gboolean half_pixel, gint64 i,
                 gint64 *lo, gint64 *hi, float *frac)
{
  double src;
  if (align_corners)
    src = out > 1 ? (double) i * (double) (in - 1) / (double) (out - 1) : 0;
  else if (half_pixel)
    src = ((double) i + 0.5) * (double) in / (double) out - 0.5;
  else
    src = (double) i * (double) in / (double) out;
  src = CLAMP (src, 0, (double) (in - 1));
  *lo = (gint64) floor (src);
  *hi = MIN (*lo + 1, in - 1);
  *frac = (float) (src - (double) *lo);
}

static void
af_ref_resize (const AfNode *n, const float *const *in, float *out)
{
  const AfAttrs *a = &n->attrs;
  const gint64 *is = n->in[0]->shape.d, *os = n->out->shape.d;
  for (gint64 pl = 0; pl < is[0] * is[1]; pl++) {
    const float *x = in[0] + pl * is[2] * is[3];
    for (gint64 y = 0; y < os[2]; y++) {
      gint64 y0, y1;
      float fy;
      af_resize_coord (is[2], os[2], a->align_corners, a->half_pixel, y, &y0, &y1, &fy);
      for (gint64 xo = 0; xo < os[3]; xo++) {
        gint64 x0, x1;
        float fx;
        af_resize_coord (is[3], os[3], a->align_corners, a->half_pixel, xo, &x0, &x1, &fx);
        float top = x[y0 * is[3] + x0] + (x[y0 * is[3] + x1] - x[y0 * is[3] + x0]) * fx;
        float bot = x[y1 * is[3] + x0] + (x[y1 * is[3] + x1] - x[y1 * is[3] + x0]) * fx;
        out[(pl * os[2] + y) * os[3] + xo] = top + (bot - top) * fy;
      }
    }
  }
}

/* ---------------------------------------------------------------- dispatch */

gboolean
af__shape_layout (AfNode *n, GError **error)
{
  switch (n->op) {
  case AF_OP_CONCAT:
    return af_shape_concat (n, error);
  case AF_OP_RESHAPE:
    return af_shape_reshape (n, error);
  case AF_OP_TRANSPOSE:
    return af_shape_transpose (n, error);
  case AF_OP_UPSAMPLE:
    return af_shape_upsample (n, error);
  case AF_OP_RESIZE_BILINEAR:
    return af_shape_resize (n, error);
  default:
    g_assert_not_reached ();
  }
}

void
af__ref_layout (const AfNode *n, const float *const *in, float *out)
{
  switch (n->op) {
  case AF_OP_CONCAT:
    af_ref_concat (n, in, out);
    break;
  case AF_OP_RESHAPE:
    memcpy (out, in[0], af__shape_numel (&n->out->shape) * sizeof (float));
    break;
  case AF_OP_TRANSPOSE:
    af_ref_transpose (n, in, out);
    break;
  case AF_OP_UPSAMPLE:
    af_ref_upsample (n, in, out);
    break;
  case AF_OP_RESIZE_BILINEAR:
    af_ref_resize (n, in, out);
    break;
  default:
    g_assert_not_reached ();
  }
}

void
af__cost_layout (const AfNode *n, AfCost *cost)
{
  /* data movement only; bilinear: 3 lerps of 2 flops per output */
  cost->flops = n->op == AF_OP_RESIZE_BILINEAR ? 6 * (double) af__shape_numel (&n->out->shape) : 0;
  cost->bytes = af__ops_io_bytes (n);
}
