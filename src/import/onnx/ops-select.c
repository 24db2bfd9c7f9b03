/* ops-select.c — op mappers that move or combine elements of a computed
 * tensor by a pattern known at import: Gather / GatherElements / GatherND
 * with constant indices, Tile, Expand, Pad (every mode, any rank), Trilu,
 * CumSum, DepthToSpace / SpaceToDepth, Split and NegativeLogLikelihoodLoss.
 * None needs an op of its own: each is a constant linear map, emitted as a
 * matmul with a constant 0/1 (or coefficient) matrix along one axis, or
 * over the flattened tensor when it is small, between reshapes and
 * transposes. Selection by 0/1 is exact in fp16 (one product per output,
 * accumulated in fp32). */
#include "import/onnx/onnx-imp.h"

#include <math.h>
#include <string.h>

/* The largest constant matrix a map may use (elements). */
#define MAP_MAX_NUMEL ((gint64) 1 << 22)

/* A zeroed [@rows, @cols] fp32 constant for a map (borrowed, owned by @im),
 * or NULL with @error above MAP_MAX_NUMEL. */
static float *
map_matrix (Imp *im, gint64 rows, gint64 cols, const char *want, Const **c, GError **error)
{
  if (rows < 1 || cols < 1 || rows > MAP_MAX_NUMEL / cols)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "mapping %" G_GINT64_FORMAT " elements onto %" G_GINT64_FORMAT
                        " would need a constant matrix above %" G_GINT64_FORMAT " elements",
                        rows, cols, MAP_MAX_NUMEL),
           NULL;
  char *name = g_strconcat (want, "_map", NULL);
  float *d;
  *c = af__ox_c_new (im, C_F32, &(AfShape){ 2, { rows, cols } }, name, (void **) &d);
  g_free (name);
  return d;
}

/* @x with axis @axis (length k) replaced by @m's columns: y[.., j, ..] =
 * sum_i x[.., i, ..] m[i][j], @m a [k, count] map constant. */
static AfTensor *
axis_apply (Imp *im, AfTensor *x, int axis, Const *m, const char *want, GError **error)
{
  int r = x->shape.rank;
  AfAttrs ta;
  af__attrs_init (AF_OP_TRANSPOSE, &ta);
  ta.n_perm = r;
  for (int i = 0; i < r; i++)
    ta.perm[i] = i;
  ta.perm[axis] = r - 1;
  ta.perm[r - 1] = axis;
  ta.set = AF_A (PERM);
  char *tname = g_strconcat (want, "_t", NULL), *mname = g_strconcat (want, "_mm", NULL);
  AfTensor *y = x;
  if (axis != r - 1)
    y = af__ox_emit1 (im, AF_OP_TRANSPOSE, x, &ta, tname, error);
  AfTensor *mt = y ? af__ox_c_tensor (im, m, error) : NULL;
  y = mt ? af__ox_emit2 (im, AF_OP_MATMUL, y, mt, axis != r - 1 ? mname : want, error) : NULL;
  if (y && axis != r - 1)
    y = af__ox_emit1 (im, AF_OP_TRANSPOSE, y, &ta, want, error);
  g_free (tname);
  g_free (mname);
  return y;
}

/* Axis @axis of @x re-indexed: output position j takes input position
 * src[j], or 0 when src[j] < 0. */
AfTensor *
af__ox_axis_select (Imp *im, AfTensor *x, int axis, const gint64 *src, gint64 count,
                    const char *want, GError **error)
{
  gint64 k = x->shape.d[axis];
  Const *c;
  float *m = map_matrix (im, k, count, want, &c, error);
  if (!m)
    return NULL;
  for (gint64 j = 0; j < count; j++)
    if (src[j] >= 0)
      m[src[j] * count + j] = 1.0f;
  return axis_apply (im, x, axis, c, want, error);
}

/* @x flattened, times the map constant @c ([numel(x), numel(@out)]),
 * viewed as @out. */
static AfTensor *
flat_apply (Imp *im, AfTensor *x, Const *c, const AfShape *out, const char *want, GError **error)
{
  gint64 n = af__shape_numel (&x->shape);
  char *rname = g_strconcat (want, "_flat", NULL), *mname = g_strconcat (want, "_mm", NULL);
  AfShape row = { 2, { 1, n } };
  AfTensor *y =
      af__shape_equal (&x->shape, &row) ? x : af__ox_emit_reshape (im, x, &row, rname, error);
  AfTensor *mt = y ? af__ox_c_tensor (im, c, error) : NULL;
  y = mt ? af__ox_emit2 (im, AF_OP_MATMUL, y, mt, mname, error) : NULL;
  AfShape o = *out;
  if (o.rank == 0)
    o = (AfShape){ 1, { 1 } };
  if (y && !af__shape_equal (&y->shape, &o))
    y = af__ox_emit_reshape (im, y, &o, want, error);
  g_free (rname);
  g_free (mname);
  return y;
}

/* @x re-indexed as a whole: output element j takes input element src[j]
 * (flat offsets), or 0 when src[j] < 0. @src has numel(@out) entries. */
static AfTensor *
flat_select (Imp *im, AfTensor *x, const AfShape *out, const gint64 *src, const char *want,
             GError **error)
{
  gint64 n = af__shape_numel (&x->shape), m_out = MAX (af__shape_numel (out), 1);
  Const *c;
  float *m = map_matrix (im, n, m_out, want, &c, error);
  if (!m)
    return NULL;
  for (gint64 j = 0; j < m_out; j++)
    if (src[j] >= 0)
      m[src[j] * m_out + j] = 1.0f;
  return flat_apply (im, x, c, out, want, error);
}

/* Broadcast offset of output element @i into an input of shape @s. */
static gint64
bcast_offset (gint64 i, const AfShape *out, const AfShape *s)
{
  gint64 off = 0, stride = 1;
  for (int k = out->rank - 1, j = s->rank - 1; k >= 0; k--, j--) {
    gint64 idx = i % out->d[k];
    i /= out->d[k];
    if (j >= 0) {
      if (s->d[j] != 1)
        off += idx * stride;
      stride *= s->d[j];
    }
  }
  return off;
}

/* Row-major strides of @s. */
static void
strides_of (const AfShape *s, gint64 *st)
{
  gint64 acc = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s->d[i];
  }
}

/* The input as a computed tensor; a constant input is refused with a reason
 * (these ops are not folded on the host). */
static AfTensor *
computed_input (Imp *im, PbNode *n, GError **error)
{
  Val *v = af__ox_in_val (im, n, 0, TRUE, error);
  if (!v)
    return NULL;
  if (v->kind == V_CONST)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "input 0 \"%s\" is a constant; %s of a constant is not folded",
                        af__ox_in_name (n, 0), n->op),
           NULL;
  return af__ox_in_tensor (im, n, 0, error);
}

static gboolean
axis_arg (Imp *im, gint64 axis, int rank, int *ax, GError **error)
{
  if (axis < -rank || axis >= rank)
    return af__ox_fail (im, error, AF_ERROR_INVALID,
                        "axis %" G_GINT64_FORMAT " is out of range for rank %d", axis, rank);
  *ax = (int) (axis < 0 ? axis + rank : axis);
  return TRUE;
}

/* ---------------------------------------------------------------- Gather family */

/* Gather of a computed tensor with constant indices (Gather of constants is
 * folded in ops-shape.c). */
gboolean
af__ox_gather_computed (Imp *im, PbNode *n, gint64 axis, GError **error)
{
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  Const *idx = x ? af__ox_in_const (im, n, 1, "indices", error) : NULL;
  if (!idx)
    return FALSE;
  int r = x->shape.rank, ax = 0;
  if (!axis_arg (im, axis, r, &ax, error))
    return FALSE;
  if (r - 1 + idx->shape.rank > AF_MAX_RANK)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "result rank above %d", AF_MAX_RANK);
  if (idx->numel < 1)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "the indices are empty");
  gint64 len = x->shape.d[ax];
  gint64 *src = g_new (gint64, idx->numel);
  for (gint64 k = 0; k < idx->numel; k++) {
    gint64 j = af__ox_c_get_i64 (idx, k);
    if (j < -len || j >= len) {
      g_free (src);
      return af__ox_fail (im, error, AF_ERROR_INVALID,
                          "index %" G_GINT64_FORMAT
                          " is out of range for axis %d of size %" G_GINT64_FORMAT,
                          j, ax, len);
    }
    src[k] = j < 0 ? j + len : j;
  }
  AfShape out = { 0 };
  for (int i = 0; i < ax; i++)
    out.d[out.rank++] = x->shape.d[i];
  for (int i = 0; i < idx->shape.rank; i++)
    out.d[out.rank++] = idx->shape.d[i];
  for (int i = ax + 1; i < r; i++)
    out.d[out.rank++] = x->shape.d[i];
  gboolean same = idx->shape.rank == 1;
  char *sel = g_strconcat (OUT0 (n), same ? "" : "_select", NULL);
  AfTensor *y = af__ox_axis_select (im, x, ax, src, idx->numel, sel, error);
  g_free (sel);
  g_free (src);
  if (y && !same) {
    if (out.rank == 0)
      out = (AfShape){ 1, { 1 } };
    y = af__ox_emit_reshape (im, y, &out, OUT0 (n), error);
  }
  return af__ox_bind_out (im, n, y);
}

static gboolean
op_gather_elements (Imp *im, PbNode *n, GError **error)
{
  gint64 axis;
  if (!af__ox_attr_int (im, n, "axis", 0, &axis, error))
    return FALSE;
  AfTensor *x = computed_input (im, n, error);
  Const *idx = x ? af__ox_in_const (im, n, 1, "indices", error) : NULL;
  if (!idx)
    return FALSE;
  int r = x->shape.rank, ax = 0;
  if (!axis_arg (im, axis, r, &ax, error))
    return FALSE;
  if (idx->shape.rank != r)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "indices and data differ in rank");
  gint64 xs[AF_MAX_RANK], is[AF_MAX_RANK];
  strides_of (&x->shape, xs);
  strides_of (&idx->shape, is);
  gint64 *src = g_new (gint64, MAX (idx->numel, 1));
  for (gint64 j = 0; j < idx->numel; j++) {
    gint64 off = 0, rem = j;
    for (int k = 0; k < r; k++) {
      gint64 c = rem / is[k];
      rem %= is[k];
      if (k == ax) {
        c = af__ox_c_get_i64 (idx, j);
        if (c < 0)
          c += x->shape.d[k];
      }
      if (c < 0 || c >= x->shape.d[k]) {
        g_free (src);
        return af__ox_fail (im, error, AF_ERROR_INVALID,
                            "index %" G_GINT64_FORMAT " is out of range",
                            af__ox_c_get_i64 (idx, j));
      }
      off += c * xs[k];
    }
    src[j] = off;
  }
  AfTensor *y = flat_select (im, x, &idx->shape, src, OUT0 (n), error);
  g_free (src);
  return af__ox_bind_out (im, n, y);
}

static gboolean
op_gather_nd (Imp *im, PbNode *n, GError **error)
{
  gint64 b;
  if (!af__ox_attr_int (im, n, "batch_dims", 0, &b, error))
    return FALSE;
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  Const *idx = x ? af__ox_in_const (im, n, 1, "indices", error) : NULL;
  if (!idx)
    return FALSE;
  int r = x->shape.rank, q = idx->shape.rank;
  if (q < 1 || b < 0 || b >= MIN (r, q))
    return af__ox_fail (im, error, AF_ERROR_INVALID, "batch_dims or the indices' rank is invalid");
  gint64 k = idx->shape.d[q - 1];
  if (k < 1 || b + k > r)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "the last dim of the indices is invalid");
  AfShape out = { 0 };
  for (int i = 0; i < q - 1; i++)
    out.d[out.rank++] = idx->shape.d[i];
  for (int i = (int) (b + k); i < r; i++) {
    if (out.rank == AF_MAX_RANK)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "result rank above %d", AF_MAX_RANK);
    out.d[out.rank++] = x->shape.d[i];
  }
  gint64 xs[AF_MAX_RANK], inner = 1, n_tuples = idx->numel / k, batch_len = 1;
  strides_of (&x->shape, xs);
  for (int i = (int) (b + k); i < r; i++)
    inner *= x->shape.d[i];
  for (int i = 0; i < b; i++)
    batch_len *= x->shape.d[i];
  gint64 per_batch = n_tuples / batch_len; /* index tuples per batch entry */
  gint64 total = n_tuples * inner;
  gint64 *src = g_new (gint64, MAX (total, 1));
  for (gint64 t = 0; t < n_tuples; t++) {
    gint64 bi = t / per_batch, off = 0, rem = bi;
    for (int i = (int) b - 1; i >= 0; i--) {
      off += (rem % x->shape.d[i]) * xs[i];
      rem /= x->shape.d[i];
    }
    for (gint64 j = 0; j < k; j++) {
      gint64 d = x->shape.d[b + j], c = af__ox_c_get_i64 (idx, t * k + j);
      if (c < 0)
        c += d;
      if (c < 0 || c >= d) {
        g_free (src);
        return af__ox_fail (im, error, AF_ERROR_INVALID, "an index is out of range");
      }
      off += c * xs[b + j];
    }
    for (gint64 e = 0; e < inner; e++)
      src[t * inner + e] = off + e;
  }
  AfTensor *y = flat_select (im, x, &out, src, OUT0 (n), error);
  g_free (src);
  return af__ox_bind_out (im, n, y);
}

/* ---------------------------------------------------------------- Tile, Expand, Pad */

static gboolean
op_tile (Imp *im, PbNode *n, GError **error)
{
  AfTensor *x = computed_input (im, n, error);
  Const *rep = x ? af__ox_in_const (im, n, 1, "repeats", error) : NULL;
  if (!rep)
    return FALSE;
  int r = x->shape.rank;
  if (rep->numel != r)
    return af__ox_fail (im, error, AF_ERROR_INVALID,
                        "repeats has %" G_GINT64_FORMAT " values for rank %d", rep->numel, r);
  AfTensor *y = x;
  for (int i = 0; i < r && y; i++) {
    gint64 t = af__ox_c_get_i64 (rep, i), k = x->shape.d[i];
    if (t < 1 || t > AF_MAX_DIM / k)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                          "repeat %" G_GINT64_FORMAT " is not supported", t);
    if (t == 1)
      continue;
    gint64 *src = g_new (gint64, k * t);
    for (gint64 j = 0; j < k * t; j++)
      src[j] = j % k;
    char *want = g_strdup_printf ("%s_axis%d", OUT0 (n), i);
    y = af__ox_axis_select (im, y, i, src, k * t, want, error);
    g_free (want);
    g_free (src);
  }
  if (y == x && y)
    return af__ox_bind_tensor (im, OUT0 (n), x), TRUE;
  return af__ox_bind_out (im, n, y);
}

static gboolean
op_expand (Imp *im, PbNode *n, GError **error)
{
  AfTensor *x = computed_input (im, n, error);
  Const *s = x ? af__ox_in_const (im, n, 1, "shape", error) : NULL;
  if (!s)
    return FALSE;
  if (s->numel > AF_MAX_RANK)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "rank above %d", AF_MAX_RANK);
  gint64 dims[AF_MAX_RANK];
  for (gint64 i = 0; i < s->numel; i++)
    dims[i] = af__ox_c_get_i64 (s, i);
  AfShape want, out;
  if (!af__ox_check_dims (im, "shape", (int) s->numel, dims, &want, error))
    return FALSE;
  if (!af__shape_broadcast (&x->shape, &want, &out))
    return af__ox_fail (im, error, AF_ERROR_SHAPE, "the shape does not broadcast with the input");
  if (af__shape_equal (&out, &x->shape))
    return af__ox_bind_tensor (im, OUT0 (n), x), TRUE;
  if (!af__ox_fold_limit (im, &out, error))
    return FALSE;
  /* x * ones(out): a broadcast that is exact for every value */
  char *name = g_strconcat (OUT0 (n), "_ones", NULL);
  float *d;
  Const *c = af__ox_c_new (im, C_F32, &out, name, (void **) &d);
  g_free (name);
  for (gint64 i = 0; i < c->numel; i++)
    d[i] = 1.0f;
  AfTensor *ones = af__ox_c_tensor (im, c, error);
  return ones && af__ox_bind_out (im, n, af__ox_emit2 (im, AF_OP_MUL, x, ones, OUT0 (n), error));
}

/* Source position of output position @o along an axis of length @len
 * padded by @before, or -1 for a constant cell. */
static gint64
pad_source (const char *mode, gint64 o, gint64 before, gint64 len)
{
  gint64 i = o - before;
  if (i >= 0 && i < len)
    return i;
  if (g_str_equal (mode, "constant"))
    return -1;
  if (g_str_equal (mode, "edge"))
    return CLAMP (i, 0, len - 1);
  if (g_str_equal (mode, "wrap"))
    return ((i % len) + len) % len;
  /* reflect: mirror without repeating the edge */
  if (len == 1)
    return 0;
  gint64 period = 2 * (len - 1);
  i = ((i % period) + period) % period;
  return i < len ? i : period - i;
}

/* A Pad the window ops cannot absorb: per padded axis, a selection. */
gboolean
af__ox_pad_general (Imp *im, PbNode *n, const char *mode, const gint64 *pads, int n_axes,
                    const gint64 *axes, float value, GError **error)
{
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  int r = x->shape.rank;
  gint64 before[AF_MAX_RANK] = { 0 }, after[AF_MAX_RANK] = { 0 };
  for (int i = 0; i < n_axes; i++) {
    int ax = 0;
    if (!axis_arg (im, axes ? axes[i] : i, r, &ax, error))
      return FALSE;
    before[ax] = pads[i];
    after[ax] = pads[n_axes + i];
  }
  if (!g_str_equal (mode, "constant") && !g_str_equal (mode, "edge") &&
      !g_str_equal (mode, "reflect") && !g_str_equal (mode, "wrap"))
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"mode\" = \"%s\" is not supported", mode);
  AfTensor *y = x;
  AfShape out = x->shape;
  for (int i = 0; i < r; i++) {
    gint64 len = x->shape.d[i], count = len + before[i] + after[i];
    if (count < 1 || count > AF_MAX_DIM || before[i] > AF_MAX_DIM || after[i] > AF_MAX_DIM)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                          "the padded axis %d would be empty or too large", i);
    out.d[i] = count;
  }
  for (int i = 0; i < r && y; i++) {
    if (!before[i] && !after[i])
      continue;
    gint64 len = x->shape.d[i], count = out.d[i];
    gint64 *src = g_new (gint64, count);
    for (gint64 o = 0; o < count; o++)
      src[o] = pad_source (mode, o, before[i], len);
    char *want = g_strdup_printf ("%s_axis%d", OUT0 (n), i);
    y = af__ox_axis_select (im, y, i, src, count, want, error);
    g_free (want);
    g_free (src);
  }
  if (y && value != 0 && g_str_equal (mode, "constant")) {
    /* + value in the padded cells */
    if (!af__ox_fold_limit (im, &out, error))
      return FALSE;
    char *name = g_strconcat (OUT0 (n), "_value", NULL);
    float *d;
    Const *c = af__ox_c_new (im, C_F32, &out, name, (void **) &d);
    g_free (name);
    for (gint64 j = 0; j < c->numel; j++) {
      gint64 rem = j;
      gboolean pad = FALSE;
      for (int k = r - 1; k >= 0; k--) {
        gint64 o = rem % out.d[k] - before[k];
        rem /= out.d[k];
        pad |= o < 0 || o >= x->shape.d[k];
      }
      d[j] = pad ? value : 0.0f;
    }
    AfTensor *v = af__ox_c_tensor (im, c, error);
    y = v ? af__ox_emit2 (im, AF_OP_ADD, y, v, OUT0 (n), error) : NULL;
  }
  if (y == x)
    return af__ox_bind_tensor (im, OUT0 (n), x), TRUE;
  return af__ox_bind_out (im, n, y);
}

/* ---------------------------------------------------------------- Trilu, CumSum */

static gboolean
op_trilu (Imp *im, PbNode *n, GError **error)
{
  gint64 upper, k = 0;
  if (!af__ox_attr_int (im, n, "upper", 1, &upper, error))
    return FALSE;
  AfTensor *x = af__ox_in_tensor (im, n, 0, error); /* a constant runs as a graph constant */
  if (!x)
    return FALSE;
  if (af__ox_in_name (n, 1)) {
    Const *kc = af__ox_in_const (im, n, 1, "k", error);
    if (!kc)
      return FALSE;
    k = kc->numel ? af__ox_c_get_i64 (kc, 0) : 0;
  }
  int r = x->shape.rank;
  if (r < 2)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "input 0 has rank %d, at least 2 expected", r);
  gint64 rows = x->shape.d[r - 2], cols = x->shape.d[r - 1];
  char *name = g_strconcat (OUT0 (n), "_mask", NULL);
  float *d;
  Const *c = af__ox_c_new (im, C_F32, &(AfShape){ 2, { rows, cols } }, name, (void **) &d);
  g_free (name);
  for (gint64 i = 0; i < rows; i++)
    for (gint64 j = 0; j < cols; j++)
      d[i * cols + j] = (upper ? j - i >= k : j - i <= k) ? 1.0f : 0.0f;
  AfTensor *m = af__ox_c_tensor (im, c, error);
  return m && af__ox_bind_out (im, n, af__ox_emit2 (im, AF_OP_MUL, x, m, OUT0 (n), error));
}

static gboolean
op_cumsum (Imp *im, PbNode *n, GError **error)
{
  gint64 exclusive, reverse;
  if (!af__ox_attr_int (im, n, "exclusive", 0, &exclusive, error) ||
      !af__ox_attr_int (im, n, "reverse", 0, &reverse, error))
    return FALSE;
  AfTensor *x = computed_input (im, n, error);
  Const *a = x ? af__ox_in_const (im, n, 1, "axis", error) : NULL;
  if (!a)
    return FALSE;
  int ax = 0;
  if (a->numel != 1 || !axis_arg (im, af__ox_c_get_i64 (a, 0), x->shape.rank, &ax, error))
    return a->numel == 1
               ? FALSE
               : af__ox_fail (im, error, AF_ERROR_INVALID, "input 1 (axis) must be a scalar");
  gint64 k = x->shape.d[ax];
  Const *c;
  float *m = map_matrix (im, k, k, OUT0 (n), &c, error);
  if (!m)
    return FALSE;
  for (gint64 i = 0; i < k; i++)
    for (gint64 j = 0; j < k; j++) {
      gboolean in = reverse ? (exclusive ? i > j : i >= j) : (exclusive ? i < j : i <= j);
      m[i * k + j] = in ? 1.0f : 0.0f;
    }
  return af__ox_bind_out (im, n, axis_apply (im, x, ax, c, OUT0 (n), error));
}

/* ---------------------------------------------------------------- DepthToSpace, SpaceToDepth */

static gboolean
op_depth_space (Imp *im, PbNode *n, GError **error)
{
  gboolean to_space = g_str_equal (n->op, "DepthToSpace");
  gint64 bs;
  const char *mode = "DCR";
  if (!af__ox_attr_int (im, n, "blocksize", 0, &bs, error) ||
      (to_space && !af__ox_attr_str (im, n, "mode", "DCR", &mode, error)))
    return FALSE;
  AfTensor *x = computed_input (im, n, error);
  if (!x)
    return FALSE;
  if (x->shape.rank != 4 || bs < 1 || bs > 64)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "only rank 4 with a blocksize 1..64 is supported");
  gint64 N = x->shape.d[0], C = x->shape.d[1], H = x->shape.d[2], W = x->shape.d[3];
  AfShape mid, out;
  int perm[6];
  if (to_space) {
    if (C % (bs * bs))
      return af__ox_fail (im, error, AF_ERROR_INVALID, "channels not divisible by blocksize^2");
    gint64 c = C / (bs * bs);
    out = (AfShape){ 4, { N, c, H * bs, W * bs } };
    if (g_str_equal (mode, "DCR")) {
      mid = (AfShape){ 6, { N, bs, bs, c, H, W } };
      memcpy (perm, (int[]){ 0, 3, 4, 1, 5, 2 }, sizeof perm);
    } else if (g_str_equal (mode, "CRD")) {
      mid = (AfShape){ 6, { N, c, bs, bs, H, W } };
      memcpy (perm, (int[]){ 0, 1, 4, 2, 5, 3 }, sizeof perm);
    } else {
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                          "attribute \"mode\" = \"%s\" is not supported", mode);
    }
  } else {
    if (H % bs || W % bs)
      return af__ox_fail (im, error, AF_ERROR_INVALID, "H or W not divisible by blocksize");
    out = (AfShape){ 4, { N, C * bs * bs, H / bs, W / bs } };
    mid = (AfShape){ 6, { N, C, H / bs, bs, W / bs, bs } };
    memcpy (perm, (int[]){ 0, 3, 5, 1, 2, 4 }, sizeof perm);
  }
  char *a = g_strconcat (OUT0 (n), "_split", NULL), *b = g_strconcat (OUT0 (n), "_perm", NULL);
  AfTensor *y = af__ox_emit_reshape (im, x, &mid, a, error);
  if (y) {
    AfAttrs ta;
    af__attrs_init (AF_OP_TRANSPOSE, &ta);
    ta.n_perm = 6;
    for (int i = 0; i < 6; i++)
      ta.perm[i] = perm[i];
    ta.set = AF_A (PERM);
    y = af__ox_emit1 (im, AF_OP_TRANSPOSE, y, &ta, b, error);
  }
  if (y)
    y = af__ox_emit_reshape (im, y, &out, OUT0 (n), error);
  g_free (a);
  g_free (b);
  return af__ox_bind_out (im, n, y);
}

/* ---------------------------------------------------------------- Split */

static gboolean
op_split (Imp *im, PbNode *n, GError **error)
{
  gint64 axis, num = 0, sizes[64];
  int count;
  if (!af__ox_attr_int (im, n, "axis", 0, &axis, error) ||
      !af__ox_attr_int (im, n, "num_outputs", 0, &num, error) ||
      !af__ox_attr_ints (im, n, "split", 64, sizes, &count, error))
    return FALSE;
  AfTensor *x = computed_input (im, n, error);
  if (!x)
    return FALSE;
  int ax = 0;
  if (!axis_arg (im, axis, x->shape.rank, &ax, error))
    return FALSE;
  guint outs = n->out->len;
  if (outs < 1 || outs > 64)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "%u outputs", outs);
  if (count < 0 && af__ox_in_name (n, 1)) {
    Const *c = af__ox_in_const (im, n, 1, "split", error);
    if (!c)
      return FALSE;
    if (c->numel > 64)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "too many splits");
    count = (int) c->numel;
    for (int i = 0; i < count; i++)
      sizes[i] = af__ox_c_get_i64 (c, i);
  }
  gint64 len = x->shape.d[ax];
  if (count < 0) {
    /* equal parts, the last one smaller (opset 18 num_outputs) */
    gint64 part = (len + outs - 1) / outs;
    count = (int) outs;
    for (guint i = 0; i < outs; i++)
      sizes[i] = MIN (part, len - part * (gint64) i);
  }
  gint64 sum = 0;
  for (int i = 0; i < count; i++) {
    if (sizes[i] == 0)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "an empty split is not supported");
    sum += sizes[i] < 0 ? len + 1 : sizes[i];
  }
  if (count != (int) outs || sum != len)
    return af__ox_fail (im, error, AF_ERROR_INVALID,
                        "the split sizes do not add up to the axis (%" G_GINT64_FORMAT ")", len);
  gint64 first = 0;
  for (int i = 0; i < count; i++) {
    const char *o = af__ox_out_name (n, i);
    if (sizes[i] < 1)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "an empty split is not supported");
    if (o) {
      gint64 *src = g_new (gint64, sizes[i]);
      for (gint64 j = 0; j < sizes[i]; j++)
        src[j] = first + j;
      AfTensor *y = sizes[i] == len ? x : af__ox_axis_select (im, x, ax, src, sizes[i], o, error);
      g_free (src);
      if (!y)
        return FALSE;
      af__ox_bind_tensor (im, o, y);
    }
    first += sizes[i];
  }
  return TRUE;
}

/* ---------------------------------------------------------------- NegativeLogLikelihoodLoss */

static gboolean
op_nll_loss (Imp *im, PbNode *n, GError **error)
{
  gint64 ignore;
  const char *reduction;
  gboolean has_ignore = af__ox_attr_find (n, "ignore_index") != NULL;
  if (!af__ox_attr_int (im, n, "ignore_index", 0, &ignore, error) ||
      !af__ox_attr_str (im, n, "reduction", "mean", &reduction, error))
    return FALSE;
  AfTensor *x = computed_input (im, n, error);
  Const *t = x ? af__ox_in_const (im, n, 1, "target", error) : NULL;
  Const *w = NULL;
  if (!t || (af__ox_in_name (n, 2) && !(w = af__ox_in_const (im, n, 2, "weight", error))))
    return FALSE;
  gboolean none = g_str_equal (reduction, "none"), mean = g_str_equal (reduction, "mean");
  if (!none && !mean && !g_str_equal (reduction, "sum"))
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "attribute \"reduction\" = \"%s\"",
                        reduction);
  int r = x->shape.rank;
  if (r < 2 || t->shape.rank != r - 1)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "input and target ranks do not fit");
  gint64 N = x->shape.d[0], C = x->shape.d[1], inner = 1;
  for (int i = 2; i < r; i++)
    inner *= x->shape.d[i];
  if (t->numel != N * inner || (w && w->numel != C))
    return af__ox_fail (im, error, AF_ERROR_INVALID, "target or weight sizes do not fit");
  gint64 total = af__shape_numel (&x->shape), cols = none ? t->numel : 1;
  Const *c;
  float *m = map_matrix (im, total, cols, OUT0 (n), &c, error);
  if (!m)
    return FALSE;
  double wsum = 0;
  for (gint64 b = 0; b < N; b++)
    for (gint64 e = 0; e < inner; e++) {
      gint64 j = b * inner + e, cls = af__ox_c_get_i64 (t, j);
      if (has_ignore && cls == ignore)
        continue;
      if (cls < 0 || cls >= C)
        return af__ox_fail (im, error, AF_ERROR_INVALID,
                            "target %" G_GINT64_FORMAT " is out of range", cls);
      double wt = w ? af__ox_c_get (w, cls) : 1.0;
      m[((b * C + cls) * inner + e) * cols + (none ? j : 0)] = (float) -wt;
      wsum += wt;
    }
  if (mean) {
    if (wsum == 0)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "the mean has a zero total weight");
    for (gint64 i = 0; i < total; i++)
      m[i] = (float) (m[i] / wsum);
  }
  AfShape out = none ? t->shape : (AfShape){ 0 };
  return af__ox_bind_out (im, n, flat_apply (im, x, c, &out, OUT0 (n), error));
}

/* ---------------------------------------------------------------- Where, Compress, Scatter */

/* A graph constant of @c's values as fp32 (1 - value when @invert). */
static AfTensor *
mask_tensor (Imp *im, Const *c, gboolean invert, const char *want, GError **error)
{
  float *d;
  Const *m = af__ox_c_new (im, C_F32, &c->shape, want, (void **) &d);
  for (gint64 i = 0; i < c->numel; i++)
    d[i] = (af__ox_c_get (c, i) != 0) != invert ? 1.0f : 0.0f;
  return af__ox_c_tensor (im, m, error);
}

/* Where with a constant condition: X * c + Y * (1 - c). */
static gboolean
op_where (Imp *im, PbNode *n, GError **error)
{
  Const *c = af__ox_in_const (im, n, 0, "condition", error);
  Val *xv = c ? af__ox_in_val (im, n, 1, TRUE, error) : NULL;
  Val *yv = xv ? af__ox_in_val (im, n, 2, TRUE, error) : NULL;
  if (!yv)
    return FALSE;
  if (xv->kind == V_CONST && yv->kind == V_CONST && !g_hash_table_contains (im->is_out, OUT0 (n))) {
    /* all constant (index arithmetic): folded, unless the graph returns it */
    AfShape s1, out;
    if (!af__shape_broadcast (&c->shape, &xv->c->shape, &s1) ||
        !af__shape_broadcast (&s1, &yv->c->shape, &out))
      return af__ox_fail (im, error, AF_ERROR_SHAPE, "the inputs do not broadcast");
    if (!af__ox_fold_limit (im, &out, error))
      return FALSE;
    gboolean ints = xv->c->kind == C_I64 && yv->c->kind == C_I64;
    void *d;
    Const *r = af__ox_c_new (im, ints ? C_I64 : C_F32, &out, OUT0 (n), &d);
    for (gint64 i = 0; i < r->numel; i++) {
      gboolean take_x = af__ox_c_get (c, bcast_offset (i, &out, &c->shape)) != 0;
      Const *src = take_x ? xv->c : yv->c;
      gint64 j = bcast_offset (i, &out, &src->shape);
      if (ints)
        ((gint64 *) d)[i] = af__ox_c_get_i64 (src, j);
      else
        ((float *) d)[i] = (float) af__ox_c_get (src, j);
    }
    af__ox_bind_const (im, OUT0 (n), r);
    return TRUE;
  }
  AfTensor *x = af__ox_in_tensor (im, n, 1, error);
  AfTensor *y = x ? af__ox_in_tensor (im, n, 2, error) : NULL;
  if (!y)
    return FALSE;
  char *a = g_strconcat (OUT0 (n), "_mask", NULL), *b = g_strconcat (OUT0 (n), "_inv", NULL),
       *xa = g_strconcat (OUT0 (n), "_x", NULL), *yb = g_strconcat (OUT0 (n), "_y", NULL);
  AfTensor *m = mask_tensor (im, c, FALSE, a, error);
  AfTensor *inv = m ? mask_tensor (im, c, TRUE, b, error) : NULL;
  AfTensor *t1 = inv ? af__ox_emit2 (im, AF_OP_MUL, x, m, xa, error) : NULL;
  AfTensor *t2 = t1 ? af__ox_emit2 (im, AF_OP_MUL, y, inv, yb, error) : NULL;
  AfTensor *out = t2 ? af__ox_emit2 (im, AF_OP_ADD, t1, t2, OUT0 (n), error) : NULL;
  g_free (a);
  g_free (b);
  g_free (xa);
  g_free (yb);
  return af__ox_bind_out (im, n, out);
}

static gboolean
op_compress (Imp *im, PbNode *n, GError **error)
{
  gboolean has_axis = af__ox_attr_find (n, "axis") != NULL;
  gint64 axis;
  if (!af__ox_attr_int (im, n, "axis", 0, &axis, error))
    return FALSE;
  AfTensor *x = computed_input (im, n, error);
  Const *c = x ? af__ox_in_const (im, n, 1, "condition", error) : NULL;
  if (!c)
    return FALSE;
  int ax = 0;
  if (has_axis && !axis_arg (im, axis, x->shape.rank, &ax, error))
    return FALSE;
  gint64 len = has_axis ? x->shape.d[ax] : af__shape_numel (&x->shape);
  gint64 *src = g_new (gint64, MAX (MIN (c->numel, len), 1)), count = 0;
  for (gint64 i = 0; i < MIN (c->numel, len); i++)
    if (af__ox_c_get (c, i) != 0)
      src[count++] = i;
  AfTensor *y = NULL;
  if (count == 0)
    af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "the result is empty");
  else if (has_axis)
    y = af__ox_axis_select (im, x, ax, src, count, OUT0 (n), error);
  else
    y = flat_select (im, x, &(AfShape){ 1, { count } }, src, OUT0 (n), error);
  g_free (src);
  return af__ox_bind_out (im, n, y);
}

/* ScatterND / ScatterElements / Scatter with constant indices:
 * data * keep + (updates mapped to their positions), reduction none or add. */
static gboolean
op_scatter (Imp *im, PbNode *n, GError **error)
{
  gboolean nd = g_str_equal (n->op, "ScatterND");
  gint64 axis = 0;
  const char *reduction;
  if (!af__ox_attr_int (im, n, "axis", 0, &axis, error) ||
      !af__ox_attr_str (im, n, "reduction", "none", &reduction, error))
    return FALSE;
  gboolean add = g_str_equal (reduction, "add");
  if (!add && !g_str_equal (reduction, "none"))
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"reduction\" = \"%s\" is not supported", reduction);
  AfTensor *data = computed_input (im, n, error);
  Const *idx = data ? af__ox_in_const (im, n, 1, "indices", error) : NULL;
  AfTensor *upd = idx ? af__ox_in_tensor (im, n, 2, error) : NULL;
  if (!upd)
    return FALSE;
  const AfShape *ds = &data->shape;
  int r = ds->rank, ax = 0;
  gint64 dst_[AF_MAX_RANK], n_upd = af__shape_numel (&upd->shape);
  strides_of (ds, dst_);
  gint64 *pos = g_new (gint64, MAX (n_upd, 1));
  gboolean ok = TRUE;
  if (nd) {
    int q = idx->shape.rank;
    gint64 k = q ? idx->shape.d[q - 1] : 0, tuples = k ? idx->numel / k : 0, inner = 1;
    for (int i = (int) k; i < r; i++)
      inner *= ds->d[i];
    ok = k >= 1 && k <= r && tuples * inner == n_upd;
    for (gint64 t = 0; ok && t < tuples; t++) {
      gint64 off = 0;
      for (gint64 j = 0; j < k && ok; j++) {
        gint64 v = af__ox_c_get_i64 (idx, t * k + j);
        v = v < 0 ? v + ds->d[j] : v;
        ok = v >= 0 && v < ds->d[j];
        off += v * dst_[j];
      }
      for (gint64 e = 0; e < inner; e++)
        pos[t * inner + e] = off + e;
    }
  } else {
    ok = axis_arg (im, axis, r, &ax, error);
    if (!ok) {
      g_free (pos);
      return FALSE;
    }
    gint64 is[AF_MAX_RANK];
    ok = idx->shape.rank == r && idx->numel == n_upd;
    strides_of (&idx->shape, is);
    for (gint64 j = 0; ok && j < n_upd; j++) {
      gint64 rem = j, off = 0;
      for (int d = 0; d < r && ok; d++) {
        gint64 cpos = rem / is[d];
        rem %= is[d];
        if (d == ax) {
          cpos = af__ox_c_get_i64 (idx, j);
          cpos = cpos < 0 ? cpos + ds->d[d] : cpos;
        }
        ok = cpos >= 0 && cpos < ds->d[d];
        off += cpos * dst_[d];
      }
      pos[j] = off;
    }
  }
  if (!ok) {
    g_free (pos);
    return af__ox_fail (im, error, AF_ERROR_INVALID, "the indices do not fit the data and updates");
  }
  gint64 total = af__shape_numel (ds);
  Const *m;
  char *mname = g_strconcat (OUT0 (n), "_scatter", NULL);
  float *mm = map_matrix (im, n_upd, total, mname, &m, error);
  AfTensor *placed = NULL, *out = NULL;
  if (mm) {
    for (gint64 j = 0; j < n_upd; j++)
      mm[j * total + pos[j]] += 1.0f;
    placed = flat_apply (im, upd, m, ds, mname, error);
  }
  AfTensor *kept = data;
  if (placed && !add) {
    char *kname = g_strconcat (OUT0 (n), "_keep", NULL);
    float *k;
    Const *kc = af__ox_c_new (im, C_F32, ds, kname, (void **) &k);
    for (gint64 i = 0; i < total; i++)
      k[i] = 1.0f;
    for (gint64 j = 0; j < n_upd; j++)
      k[pos[j]] = 0.0f;
    AfTensor *kt = af__ox_c_tensor (im, kc, error);
    kept = kt ? af__ox_emit2 (im, AF_OP_MUL, data, kt, kname, error) : NULL;
    g_free (kname);
  }
  if (placed && kept)
    out = af__ox_emit2 (im, AF_OP_ADD, kept, placed, OUT0 (n), error);
  g_free (mname);
  g_free (pos);
  return af__ox_bind_out (im, n, out);
}

/* ---------------------------------------------------------------- Resize, the general case */

/* Cubic convolution weights of the 4 neighbours at offset @r (ONNX's). */
static void
cubic_coeffs (double r, double a, double *c)
{
  double x[4] = { r + 1, r, 1 - r, 2 - r };
  for (int i = 0; i < 4; i++) {
    double t = x[i];
    c[i] = t <= 1 ? ((a + 2) * t - (a + 3)) * t * t + 1 : ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  }
}

/* The [in, out] interpolation matrix of one axis, as ONNX's reference
 * defines it: the source coordinate of each output position by the
 * coordinate rule, then 2 (nearest, linear) or 4 (cubic) neighbours with
 * the edge repeated past the ends (or, with exclude_outside, dropped and
 * the weights renormalised). */
static gboolean
resize_matrix (Imp *im, const char *mode, const char *ctm, const char *nm, double a,
               gboolean exclude, gint64 in, gint64 out, double scale, float *m, GError **error)
{
  for (gint64 o = 0; o < out; o++) {
    double x, out_w = scale * (double) in;
    if (g_str_equal (ctm, "half_pixel"))
      x = (o + 0.5) / scale - 0.5;
    else if (g_str_equal (ctm, "pytorch_half_pixel"))
      x = out_w > 1 ? (o + 0.5) / scale - 0.5 : -0.5;
    else if (g_str_equal (ctm, "align_corners"))
      x = out_w > 1 ? o * (double) (in - 1) / (out_w - 1) : 0;
    else if (g_str_equal (ctm, "asymmetric"))
      x = o / scale;
    else if (g_str_equal (ctm, "tf_half_pixel_for_nearest") ||
             g_str_equal (ctm, "tf_half_pixel_for_nn"))
      x = (o + 0.5) / scale;
    else
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                          "attribute \"coordinate_transformation_mode\" = \"%s\" is not supported",
                          ctm);
    double x0 = floor (x), r = x == x0 ? 1.0 : x - x0;
    int nc = g_str_equal (mode, "cubic") ? 4 : 2;
    double c[4];
    gint64 first; /* the first neighbour, before clamping */
    if (nc == 4) {
      cubic_coeffs (r, a, c);
      first = (gint64) x0 - (x == x0 ? 2 : 1);
    } else {
      first = (gint64) x0 - (x == x0 ? 1 : 0);
      if (g_str_equal (mode, "linear")) {
        c[0] = 1 - r, c[1] = r;
      } else if (x == x0) {
        c[0] = 0, c[1] = 1;
      } else {
        gboolean up = g_str_equal (nm, "round_prefer_floor")  ? r > 0.5
                      : g_str_equal (nm, "round_prefer_ceil") ? r >= 0.5
                                                              : g_str_equal (nm, "ceil");
        if (!g_str_equal (nm, "round_prefer_floor") && !g_str_equal (nm, "round_prefer_ceil") &&
            !g_str_equal (nm, "floor") && !g_str_equal (nm, "ceil"))
          return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                              "attribute \"nearest_mode\" = \"%s\" is not supported", nm);
        c[0] = up ? 0 : 1, c[1] = up ? 1 : 0;
      }
    }
    double sum = 0;
    for (int k = 0; k < nc; k++) {
      gint64 idx = first + k;
      if (exclude && (idx < 0 || idx >= in))
        c[k] = 0;
      sum += c[k];
    }
    for (int k = 0; k < nc; k++) {
      gint64 idx = CLAMP (first + k, 0, in - 1);
      m[idx * out + o] += (float) (exclude && sum != 0 ? c[k] / sum : c[k]);
    }
  }
  return TRUE;
}

gboolean
af__ox_resize_general (Imp *im, PbNode *n, GError **error)
{
  gboolean upsample = g_str_equal (n->op, "Upsample");
  const char *mode, *ctm = "asymmetric", *nm = "round_prefer_floor";
  float a = -0.75f;
  gint64 exclude = 0;
  if (!af__ox_attr_str (im, n, "mode", "nearest", &mode, error) ||
      !af__ox_attr_float (im, n, "cubic_coeff_a", -0.75f, &a, error) ||
      !af__ox_attr_int (im, n, "exclude_outside", 0, &exclude, error))
    return FALSE;
  if (upsample)
    nm = "floor";
  if (!upsample && im->m.opset >= 11 &&
      (!af__ox_attr_str (im, n, "coordinate_transformation_mode", "half_pixel", &ctm, error) ||
       !af__ox_attr_str (im, n, "nearest_mode", "round_prefer_floor", &nm, error)))
    return FALSE;
  if (g_str_equal (mode, "bilinear") || g_str_equal (mode, "trilinear"))
    mode = "linear";
  if (!g_str_equal (mode, "nearest") && !g_str_equal (mode, "linear") &&
      !g_str_equal (mode, "cubic"))
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"mode\" = \"%s\" is not supported", mode);
  AfTensor *x = computed_input (im, n, error);
  if (!x)
    return FALSE;
  int r = x->shape.rank;
  double scale[AF_MAX_RANK];
  gint64 size[AF_MAX_RANK];
  gboolean have = FALSE;
  PbAttr *sa = af__ox_attr_find (n, "scales");
  if (sa && sa->floats && (int) sa->floats->len == r) {
    for (int i = 0; i < r; i++)
      scale[i] = g_array_index (sa->floats, float, i);
    have = TRUE;
  }
  guint si = upsample ? 1 : im->m.opset >= 11 ? 2 : 1;
  if (!have && af__ox_in_name (n, si)) {
    Const *c = af__ox_in_const (im, n, si, "scales", error);
    if (!c)
      return FALSE;
    if (c->numel == r) {
      for (int i = 0; i < r; i++)
        scale[i] = af__ox_c_get (c, i);
      have = TRUE;
    } else if (c->numel != 0) {
      return af__ox_fail (im, error, AF_ERROR_INVALID, "input %u (scales) must have %d values", si,
                          r);
    }
  }
  if (have) {
    for (int i = 0; i < r; i++) {
      if (!(scale[i] > 0) || scale[i] > 1024)
        return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "scale %g is not supported", scale[i]);
      size[i] = (gint64) floor (x->shape.d[i] * scale[i]);
    }
  } else if (!upsample && im->m.opset >= 11 && af__ox_in_name (n, 3)) {
    Const *c = af__ox_in_const (im, n, 3, "sizes", error);
    if (!c)
      return FALSE;
    if (c->numel != r)
      return af__ox_fail (im, error, AF_ERROR_INVALID, "input 3 (sizes) must have %d values", r);
    for (int i = 0; i < r; i++) {
      size[i] = af__ox_c_get_i64 (c, i);
      scale[i] = (double) size[i] / (double) x->shape.d[i];
    }
  } else {
    return af__ox_fail (im, error, AF_ERROR_INVALID, "neither scales nor sizes is given");
  }
  AfTensor *y = x;
  for (int i = 0; i < r && y; i++) {
    gint64 in = x->shape.d[i], out = size[i];
    if (out < 1 || out > AF_MAX_DIM)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                          "output size %" G_GINT64_FORMAT " on axis %d", out, i);
    if (out == in && scale[i] == 1.0)
      continue;
    char *want = g_strdup_printf ("%s_axis%d", OUT0 (n), i);
    Const *c;
    float *m = map_matrix (im, in, out, want, &c, error);
    if (!m || !resize_matrix (im, mode, ctm, nm, a, exclude != 0, in, out, scale[i], m, error)) {
      g_free (want);
      return FALSE;
    }
    y = axis_apply (im, y, i, c, want, error);
    g_free (want);
  }
  if (y == x)
    return af__ox_bind_tensor (im, OUT0 (n), x), TRUE;
  return af__ox_bind_out (im, n, y);
}

const AfOxMapper af__ox_select_ops[] = {
  { "GatherElements", op_gather_elements, "axis" },
  { "GatherND", op_gather_nd, "batch_dims" },
  { "Tile", op_tile, "" },
  { "Expand", op_expand, "" },
  { "Trilu", op_trilu, "upper" },
  { "CumSum", op_cumsum, "exclusive reverse" },
  { "DepthToSpace", op_depth_space, "blocksize mode" },
  { "SpaceToDepth", op_depth_space, "blocksize" },
  { "Split", op_split, "axis num_outputs split" },
  { "NegativeLogLikelihoodLoss", op_nll_loss, "ignore_index reduction" },
  { "Where", op_where, "" },
  { "Compress", op_compress, "axis" },
  { "ScatterND", op_scatter, "reduction" },
  { "ScatterElements", op_scatter, "axis reduction" },
  { "Scatter", op_scatter, "axis" },
  { NULL, NULL, NULL },
};
