/* ops-layout.c — op mappers of the layout family: Concat, Reshape, Flatten,
 * Squeeze / Unsqueeze, Transpose, Identity / Dropout, Slice, Resize /
 * Upsample and Pad. Constant inputs are folded on the host. */
#include "import/onnx/onnx-imp.h"

#include <math.h>
#include <string.h>

static gboolean
op_concat (Imp *im, PbNode *n, GError **error)
{
  gint64 axis;
  if (!af__ox_attr_int (im, n, "axis", 1, &axis, error))
    return FALSE;
  if (n->in->len < 1)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "no inputs");
  gboolean all_const = TRUE, all_int = TRUE;
  Val **vs = g_newa (Val *, n->in->len);
  for (guint i = 0; i < n->in->len; i++) {
    if (!(vs[i] = af__ox_in_val (im, n, i, TRUE, error)))
      return FALSE;
    all_const &= vs[i]->kind == V_CONST;
    all_int &= vs[i]->kind == V_CONST && vs[i]->c->kind == C_I64;
  }
  if (all_const) {
    AfShape out = vs[0]->c->shape;
    int r = out.rank;
    if (r < 1 || axis < -r || axis >= r)
      return af__ox_fail (im, error, AF_ERROR_INVALID,
                          "attribute \"axis\" = %" G_GINT64_FORMAT " is out of range for rank %d",
                          axis, r);
    int ax = (int) (axis < 0 ? axis + r : axis);
    out.d[ax] = 0;
    for (guint i = 0; i < n->in->len; i++) {
      const AfShape *s = &vs[i]->c->shape;
      gboolean ok = s->rank == r;
      for (int j = 0; ok && j < r; j++)
        ok = j == ax || s->d[j] == out.d[j];
      if (!ok)
        return af__ox_fail (im, error, AF_ERROR_SHAPE, "constant input %u does not fit", i);
      out.d[ax] += s->d[ax];
      if (out.d[ax] > AF_MAX_DIM)
        return af__ox_fail (im, error, AF_ERROR_LIMIT, "concatenation too large");
    }
    gint64 outer = 1, inner = 1;
    for (int j = 0; j < ax; j++)
      outer *= out.d[j];
    for (int j = ax + 1; j < r; j++)
      inner *= out.d[j];
    if (!af__ox_fold_limit (im, &out, error))
      return FALSE;
    void *d;
    Const *c = af__ox_c_new (im, all_int ? C_I64 : C_F32, &out, OUT0 (n), &d);
    gint64 at = 0;
    for (gint64 o = 0; o < outer; o++)
      for (guint i = 0; i < n->in->len; i++) {
        const Const *src = vs[i]->c;
        gint64 chunk = src->shape.d[ax] * inner;
        for (gint64 j = 0; j < chunk; j++, at++) {
          if (all_int)
            ((gint64 *) d)[at] = af__ox_c_get_i64 (src, o * chunk + j);
          else
            ((float *) d)[at] = (float) af__ox_c_get (src, o * chunk + j);
        }
      }
    af__ox_bind_const (im, OUT0 (n), c);
    return TRUE;
  }
  AfTensor **xs = g_newa (AfTensor *, n->in->len);
  for (guint i = 0; i < n->in->len; i++)
    if (!(xs[i] = af__ox_in_tensor (im, n, i, error)))
      return FALSE;
  AfAttrs a;
  af__attrs_init (AF_OP_CONCAT, &a);
  a.axis = axis;
  a.set = AF_A (AXIS);
  return af__ox_bind_out (im, n,
                          af__ox_emit (im, AF_OP_CONCAT, n->in->len, xs, &a, OUT0 (n), error));
}

/* Binds output 0 to @v reshaped to @to: a relabelled constant, or a reshape node. */
static gboolean
bind_reshaped (Imp *im, PbNode *n, Val *v, const AfShape *to, GError **error)
{
  AfShape from = af__ox_val_shape (v);
  if (af__shape_numel (to) != af__shape_numel (&from)) {
    char *a = af__shape_str (&from), *b = af__shape_str (to);
    af__ox_fail (im, error, AF_ERROR_SHAPE, "cannot reshape %s to %s", a, b);
    g_free (a);
    g_free (b);
    return FALSE;
  }
  if (v->kind == V_CONST) {
    void *d;
    Const *c = af__ox_c_new (im, v->c->kind, to, OUT0 (n), &d);
    memcpy (d, af__ox_c_data (v->c), v->c->numel * af__ox_c_esize (v->c->kind));
    af__ox_bind_const (im, OUT0 (n), c);
    return TRUE;
  }
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  if (af__shape_equal (&x->shape, to)) {
    af__ox_bind_tensor (im, OUT0 (n), x);
    return TRUE;
  }
  return af__ox_bind_out (im, n, af__ox_emit_reshape (im, x, to, OUT0 (n), error));
}

static gboolean
op_reshape (Imp *im, PbNode *n, GError **error)
{
  gint64 allowzero;
  int count;
  gint64 req[AF_MAX_RANK];
  if (!af__ox_attr_int (im, n, "allowzero", 0, &allowzero, error) ||
      !af__ox_attr_ints (im, n, "shape", AF_MAX_RANK, req, &count, error))
    return FALSE;
  Val *v = af__ox_in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  if (count < 0) {
    Const *s = af__ox_in_const (im, n, 1, "shape", error);
    if (!s)
      return FALSE;
    if (s->shape.rank != 1 || s->numel > AF_MAX_RANK || s->numel < 1)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                          "input 1 \"%s\" (shape) must list 1 to %d dims", af__ox_in_name (n, 1),
                          AF_MAX_RANK);
    count = (int) s->numel;
    for (int i = 0; i < count; i++)
      req[i] = af__ox_c_get_i64 (s, i);
  }
  AfShape in = af__ox_val_shape (v), to = { count };
  int infer = -1;
  gint64 known = 1;
  for (int i = 0; i < count; i++) {
    gint64 d = req[i];
    if (d == 0 && allowzero)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                          "attribute \"allowzero\" = 1 with a 0 in the shape is not supported");
    if (d == 0) {
      if (i >= in.rank)
        return af__ox_fail (im, error, AF_ERROR_INVALID,
                            "shape entry %d = 0 is beyond the input's rank", i);
      d = in.d[i];
    }
    if (d == -1 && infer < 0) {
      infer = i;
      continue;
    }
    if (d <= 0 || d > AF_MAX_DIM)
      return af__ox_fail (im, error, AF_ERROR_INVALID,
                          "shape entry %d = %" G_GINT64_FORMAT " is invalid", i, req[i]);
    to.d[i] = d;
    known = known > AF_MAX_NUMEL / d ? AF_MAX_NUMEL + 1 : known * d;
  }
  gint64 numel = af__shape_numel (&in);
  if (infer >= 0) {
    if (known > numel || numel % known)
      return af__ox_fail (im, error, AF_ERROR_SHAPE,
                          "the shape does not fit the input's %" G_GINT64_FORMAT " elements",
                          numel);
    to.d[infer] = numel / known;
  }
  return bind_reshaped (im, n, v, &to, error);
}

static gboolean
op_flatten (Imp *im, PbNode *n, GError **error)
{
  gint64 axis;
  if (!af__ox_attr_int (im, n, "axis", 1, &axis, error))
    return FALSE;
  Val *v = af__ox_in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  AfShape in = af__ox_val_shape (v);
  if (axis < -in.rank || axis > in.rank)
    return af__ox_fail (im, error, AF_ERROR_INVALID,
                        "attribute \"axis\" = %" G_GINT64_FORMAT " is out of range", axis);
  int ax = (int) (axis < 0 ? axis + in.rank : axis);
  AfShape to = { 2, { 1, 1 } };
  for (int i = 0; i < in.rank; i++)
    to.d[i < ax ? 0 : 1] *= in.d[i];
  return bind_reshaped (im, n, v, &to, error);
}

/* Unsqueeze / Squeeze: a reshape. */
static gboolean
op_squeeze (Imp *im, PbNode *n, GError **error)
{
  gboolean un = g_str_equal (n->op, "Unsqueeze");
  gint64 axes[AF_MAX_RANK];
  int count;
  if (!af__ox_attr_ints (im, n, "axes", AF_MAX_RANK, axes, &count, error))
    return FALSE;
  Val *v = af__ox_in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  if (count < 0 && af__ox_in_name (n, 1)) {
    Const *c = af__ox_in_const (im, n, 1, "axes", error);
    if (!c)
      return FALSE;
    if (c->numel > AF_MAX_RANK)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "too many axes");
    count = (int) c->numel;
    for (int i = 0; i < count; i++)
      axes[i] = af__ox_c_get_i64 (c, i);
  }
  AfShape in = af__ox_val_shape (v), to = { 0 };
  gboolean mark[2 * AF_MAX_RANK] = { 0 };
  int rank = un ? in.rank + MAX (count, 0) : in.rank;
  if (un && (count < 1 || rank > AF_MAX_RANK))
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"axes\" is missing or the result has rank above %d",
                        AF_MAX_RANK);
  for (int i = 0; i < MAX (count, 0); i++) {
    gint64 a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= rank || mark[a])
      return af__ox_fail (im, error, AF_ERROR_INVALID,
                          "attribute \"axes\": %" G_GINT64_FORMAT " is invalid", axes[i]);
    mark[a] = TRUE;
  }
  if (un) {
    for (int i = 0, j = 0; i < rank; i++)
      to.d[to.rank++] = mark[i] ? 1 : in.d[j++];
  } else {
    for (int i = 0; i < in.rank; i++) {
      gboolean drop = count > 0 ? mark[i] : in.d[i] == 1;
      if (drop && in.d[i] != 1)
        return af__ox_fail (im, error, AF_ERROR_INVALID,
                            "axis %d has size %" G_GINT64_FORMAT ", not 1", i, in.d[i]);
      if (!drop)
        to.d[to.rank++] = in.d[i];
    }
  }
  return bind_reshaped (im, n, v, &to, error);
}

static gboolean
op_transpose (Imp *im, PbNode *n, GError **error)
{
  gint64 p[AF_MAX_RANK];
  int count;
  if (!af__ox_attr_ints (im, n, "perm", AF_MAX_RANK, p, &count, error))
    return FALSE;
  Val *v = af__ox_in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  AfShape in = af__ox_val_shape (v);
  int perm[AF_MAX_RANK];
  gboolean seen[AF_MAX_RANK] = { 0 };
  if (count >= 0 && count != in.rank)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "attribute \"perm\" has %d values for rank %d",
                        count, in.rank);
  for (int i = 0; i < in.rank; i++) {
    gint64 q = count < 0 ? in.rank - 1 - i : p[i];
    if (q < 0 || q >= in.rank || seen[q])
      return af__ox_fail (im, error, AF_ERROR_INVALID, "attribute \"perm\" is not a permutation");
    seen[q] = TRUE;
    perm[i] = (int) q;
  }
  if (v->kind == V_CONST) {
    af__ox_bind_const (im, OUT0 (n), af__ox_const_transpose (im, v->c, perm, OUT0 (n)));
    return TRUE;
  }
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  AfAttrs a;
  af__attrs_init (AF_OP_TRANSPOSE, &a);
  a.n_perm = in.rank;
  for (int i = 0; i < in.rank; i++)
    a.perm[i] = perm[i];
  a.set = AF_A (PERM);
  return af__ox_bind_out (im, n, af__ox_emit1 (im, AF_OP_TRANSPOSE, x, &a, OUT0 (n), error));
}

static gboolean
op_identity (Imp *im, PbNode *n, GError **error)
{
  Val *v = af__ox_in_val (im, n, 0, TRUE, error);
  if (!v || !af__ox_extra_outputs_unused (im, n, error))
    return FALSE;
  /* Dropout (opset 12+) is the identity only when input 2 training_mode is
   * absent or a constant false, or input 1 ratio is a constant 0;
   * training-mode dropout is random. */
  if (g_str_equal (n->op, "Dropout") && af__ox_in_name (n, 2)) {
    Const *c = af__ox_in_const (im, n, 2, "training_mode", error);
    if (!c)
      return FALSE;
    gboolean training = FALSE, zero_ratio = FALSE;
    for (gint64 i = 0; i < c->numel; i++)
      training |= af__ox_c_get (c, i) != 0;
    if (training && af__ox_in_name (n, 1)) {
      Const *r = af__ox_in_const (im, n, 1, "ratio", error);
      if (!r)
        return FALSE;
      zero_ratio = r->numel == 1 && af__ox_c_get (r, 0) == 0;
    }
    if (training && !zero_ratio)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                          "input 2 \"%s\" (training_mode) is true with a nonzero ratio; only "
                          "inference is supported",
                          af__ox_in_name (n, 2));
  }
  if (OUT0 (n))
    af__ox_bind (im, OUT0 (n), v);
  return TRUE;
}

/* Start, count and step of a Slice along one axis of length @dim. */
static void
slice_range (gint64 dim, gint64 start, gint64 end, gint64 step, gint64 *first, gint64 *count)
{
  if (start < 0)
    start = start < -dim ? 0 : start + dim;
  if (end < 0)
    end = end < -dim ? -1 : end + dim;
  if (step > 0) {
    start = CLAMP (start, 0, dim);
    end = CLAMP (end, 0, dim);
    *count = end > start ? (end - start + step - 1) / step : 0;
  } else {
    start = CLAMP (start, 0, dim - 1);
    end = CLAMP (end, -1, dim - 1);
    *count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
  }
  *first = start;
}

static gboolean
slice_params (Imp *im, PbNode *n, int rank, gint64 *first, gint64 *step, gint64 *count,
              const AfShape *in, GError **error)
{
  gint64 starts[AF_MAX_RANK], ends[AF_MAX_RANK], axes[AF_MAX_RANK], steps[AF_MAX_RANK];
  int ns, ne, na, nst = -1;
  if (!af__ox_attr_ints (im, n, "starts", AF_MAX_RANK, starts, &ns, error) ||
      !af__ox_attr_ints (im, n, "ends", AF_MAX_RANK, ends, &ne, error) ||
      !af__ox_attr_ints (im, n, "axes", AF_MAX_RANK, axes, &na, error))
    return FALSE;
  if (ns < 0) { /* opset >= 10: inputs */
    gint64 *dst[] = { starts, ends, axes, steps };
    int *cnt[] = { &ns, &ne, &na, &nst };
    for (guint i = 1; i < 5; i++) {
      *cnt[i - 1] = -1;
      if (!af__ox_in_name (n, i)) {
        if (i < 3)
          return af__ox_fail (im, error, AF_ERROR_INVALID, "input %u is missing", i);
        continue;
      }
      Const *c = af__ox_in_const (im, n, i,
                                  i == 1   ? "starts"
                                  : i == 2 ? "ends"
                                  : i == 3 ? "axes"
                                           : "steps",
                                  error);
      if (!c)
        return FALSE;
      if (c->numel > AF_MAX_RANK)
        return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "input %u has too many values", i);
      *cnt[i - 1] = (int) c->numel;
      for (gint64 j = 0; j < c->numel; j++)
        dst[i - 1][j] = af__ox_c_get_i64 (c, j);
    }
  }
  if (ne != ns || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
    return af__ox_fail (im, error, AF_ERROR_INVALID,
                        "starts, ends, axes and steps differ in length");
  for (int i = 0; i < rank; i++) {
    first[i] = 0;
    step[i] = 1;
    count[i] = in->d[i];
  }
  gboolean seen[AF_MAX_RANK] = { 0 };
  for (int i = 0; i < ns; i++) {
    gint64 a = na >= 0 ? axes[i] : i;
    if (a < 0)
      a += rank;
    if (a < 0 || a >= rank || seen[a])
      return af__ox_fail (im, error, AF_ERROR_INVALID, "axis %" G_GINT64_FORMAT " is invalid",
                          na >= 0 ? axes[i] : i);
    seen[a] = TRUE;
    gint64 st = nst >= 0 ? steps[i] : 1;
    if (st == 0)
      return af__ox_fail (im, error, AF_ERROR_INVALID, "step 0");
    step[a] = st;
    slice_range (in->d[a], starts[i], ends[i], st, &first[a], &count[a]);
  }
  return TRUE;
}

/* A runtime slice along @axis: a matmul with a 0/1 selection matrix (exact in
 * fp16), between transposes when @axis is not the last. */
static AfTensor *
slice_tensor_axis (Imp *im, AfTensor *x, int axis, gint64 first, gint64 step, gint64 count,
                   const char *want, GError **error)
{
  int r = x->shape.rank;
  gint64 k = x->shape.d[axis];
  if (k * count > (1 << 22))
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "slicing a computed tensor along an axis of %" G_GINT64_FORMAT
                        " is not supported",
                        k),
           NULL;
  AfAttrs ta;
  af__attrs_init (AF_OP_TRANSPOSE, &ta);
  ta.n_perm = r;
  for (int i = 0; i < r; i++)
    ta.perm[i] = i;
  ta.perm[axis] = r - 1;
  ta.perm[r - 1] = axis;
  ta.set = AF_A (PERM);
  char *tname = g_strconcat (want, "_t", NULL), *sname = g_strconcat (want, "_select", NULL);
  AfTensor *y = x;
  if (axis != r - 1)
    y = af__ox_emit1 (im, AF_OP_TRANSPOSE, x, &ta, tname, error);
  float *sel;
  Const *c = af__ox_c_new (im, C_F32, &(AfShape){ 2, { k, count } }, sname, (void **) &sel);
  for (gint64 j = 0; j < count; j++)
    sel[(first + j * step) * count + j] = 1.0f;
  AfTensor *s = y ? af__ox_c_tensor (im, c, error) : NULL;
  if (s)
    y = af__ox_emit2 (im, AF_OP_MATMUL, y, s, axis != r - 1 ? sname : want, error);
  else
    y = NULL;
  if (y && axis != r - 1)
    y = af__ox_emit1 (im, AF_OP_TRANSPOSE, y, &ta, want, error);
  g_free (tname);
  g_free (sname);
  return y;
}

static gboolean
op_slice (Imp *im, PbNode *n, GError **error)
{
  Val *v = af__ox_in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  AfShape in = af__ox_val_shape (v);
  int r = in.rank;
  gint64 first[AF_MAX_RANK], step[AF_MAX_RANK], count[AF_MAX_RANK];
  if (r < 1)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "input 0 is a scalar");
  if (!slice_params (im, n, r, first, step, count, &in, error))
    return FALSE;
  AfShape out = { r };
  for (int i = 0; i < r; i++)
    out.d[i] = count[i];
  if (v->kind == V_CONST) {
    void *d;
    gsize es = af__ox_c_esize (v->c->kind);
    Const *c = af__ox_c_new (im, v->c->kind, &out, OUT0 (n), &d);
    const guint8 *src = af__ox_c_data (v->c);
    gint64 istride[AF_MAX_RANK], st = 1;
    for (int i = r - 1; i >= 0; i--) {
      istride[i] = st;
      st *= in.d[i];
    }
    for (gint64 i = 0; i < c->numel; i++) {
      gint64 rem = i, off = 0;
      for (int k = r - 1; k >= 0; k--) {
        off += (first[k] + (rem % out.d[k]) * step[k]) * istride[k];
        rem /= out.d[k];
      }
      memcpy ((guint8 *) d + i * es, src + off * es, es);
    }
    af__ox_bind_const (im, OUT0 (n), c);
    return TRUE;
  }
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  int n_cut = 0;
  for (int i = 0; i < r; i++) {
    if (count[i] == 0)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "the slice is empty");
    n_cut += count[i] != in.d[i];
  }
  for (int i = 0; i < r && x; i++) {
    if (count[i] == in.d[i])
      continue;
    n_cut--;
    char *want = n_cut ? g_strdup_printf ("%s_axis%d", OUT0 (n) ? OUT0 (n) : "slice", i)
                       : g_strdup (OUT0 (n) ? OUT0 (n) : "slice");
    x = slice_tensor_axis (im, x, i, first[i], step[i], count[i], want, error);
    g_free (want);
  }
  return af__ox_bind_out (im, n, x);
}

/* Resize / Upsample as an upsample op: nearest, integer scales >= 1 on H
 * and W with the coordinate rules that equal plain repetition. */
static gboolean
resize_upsample (Imp *im, PbNode *n, GError **error)
{
  gboolean upsample = g_str_equal (n->op, "Upsample");
  const char *mode, *ctm = "asymmetric", *nm = "floor";
  if (!af__ox_attr_str (im, n, "mode", "nearest", &mode, error))
    return FALSE;
  if (!upsample && im->m.opset >= 11 &&
      (!af__ox_attr_str (im, n, "coordinate_transformation_mode", "half_pixel", &ctm, error) ||
       !af__ox_attr_str (im, n, "nearest_mode", "round_prefer_floor", &nm, error)))
    return FALSE;
  if (!upsample && im->m.opset < 11)
    nm = "round_prefer_floor";
  if (!g_str_equal (mode, "nearest"))
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"mode\" = \"%s\" is not supported (only nearest)", mode);
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  if (x->shape.rank != 4)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "input 0 must have rank 4");
  double scale[4] = { 1, 1, 1, 1 };
  int count;
  gboolean have = FALSE;
  PbAttr *sa = af__ox_attr_find (n, "scales");
  if (sa) {
    if (!sa->floats || sa->floats->len != 4)
      return af__ox_fail (im, error, AF_ERROR_INVALID, "attribute \"scales\" must have 4 values");
    for (int i = 0; i < 4; i++)
      scale[i] = g_array_index (sa->floats, float, i);
    have = TRUE;
  }
  (void) count;
  guint si = upsample ? 1 : im->m.opset >= 11 ? 2 : 1;
  if (!have && af__ox_in_name (n, si)) {
    Const *c = af__ox_in_const (im, n, si, "scales", error);
    if (!c)
      return FALSE;
    if (c->numel == 4) {
      for (int i = 0; i < 4; i++)
        scale[i] = af__ox_c_get (c, i);
      have = TRUE;
    } else if (c->numel != 0) {
      return af__ox_fail (im, error, AF_ERROR_INVALID, "input %u (scales) must have 4 values", si);
    }
  }
  if (!have && !upsample && im->m.opset >= 11 && af__ox_in_name (n, 3)) {
    Const *c = af__ox_in_const (im, n, 3, "sizes", error);
    if (!c)
      return FALSE;
    if (c->numel != 4)
      return af__ox_fail (im, error, AF_ERROR_INVALID, "input 3 (sizes) must have 4 values");
    for (int i = 0; i < 4; i++)
      scale[i] = (double) af__ox_c_get_i64 (c, i) / (double) x->shape.d[i];
    have = TRUE;
  }
  if (!have)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "neither scales nor sizes is given");
  gint64 s[2];
  for (int i = 0; i < 4; i++) {
    double r = round (scale[i]);
    if (!(fabs (scale[i] - r) < 1e-6) || r < 1 || r > 1024 || (i < 2 && r != 1))
      return af__ox_fail (
          im, error, AF_ERROR_UNSUPPORTED,
          "scale %g on axis %d is not supported (only integer scales >= 1 on H and W)", scale[i],
          i);
    if (i >= 2)
      s[i - 2] = (gint64) r;
  }
  /* which coordinate rules equal plain repetition for integer scales */
  gboolean ok;
  gint64 smax = MAX (s[0], s[1]);
  if (g_str_equal (ctm, "asymmetric"))
    ok = g_str_equal (nm, "floor") || (g_str_equal (nm, "round_prefer_floor") && smax <= 2);
  else if (g_str_equal (ctm, "half_pixel") || g_str_equal (ctm, "pytorch_half_pixel"))
    ok = g_str_equal (nm, "round_prefer_floor") || g_str_equal (nm, "round_prefer_ceil");
  else
    ok = FALSE;
  if (!ok)
    return af__ox_fail (
        im, error, AF_ERROR_UNSUPPORTED,
        "attribute \"coordinate_transformation_mode\" = \"%s\" with \"nearest_mode\" = \"%s\" "
        "is not supported for scale %" G_GINT64_FORMAT,
        ctm, nm, smax);
  if (s[0] == 1 && s[1] == 1) {
    af__ox_bind_tensor (im, OUT0 (n), x);
    return TRUE;
  }
  AfAttrs a;
  af__attrs_init (AF_OP_UPSAMPLE, &a);
  a.scale[0] = s[0];
  a.scale[1] = s[1];
  a.set = AF_A (SCALE);
  return af__ox_bind_out (im, n, af__ox_emit1 (im, AF_OP_UPSAMPLE, x, &a, OUT0 (n), error));
}

static gboolean
op_pad (Imp *im, PbNode *n, GError **error)
{
  const char *mode;
  float value = 0;
  gint64 pads[2 * AF_MAX_RANK], axes[AF_MAX_RANK];
  int count, n_axes = -1;
  if (!af__ox_attr_str (im, n, "mode", "constant", &mode, error) ||
      !af__ox_attr_ints (im, n, "pads", 2 * AF_MAX_RANK, pads, &count, error) ||
      !af__ox_attr_float (im, n, "value", 0, &value, error))
    return FALSE;
  if (count < 0) {
    Const *c = af__ox_in_const (im, n, 1, "pads", error);
    if (!c)
      return FALSE;
    if (c->numel > 2 * AF_MAX_RANK)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "rank above %d", AF_MAX_RANK);
    count = (int) c->numel;
    for (int i = 0; i < count; i++)
      pads[i] = af__ox_c_get_i64 (c, i);
    if (af__ox_in_name (n, 2)) {
      Const *v = af__ox_in_const (im, n, 2, "constant_value", error);
      if (!v)
        return FALSE;
      value = v->numel ? (float) af__ox_c_get (v, 0) : 0.0f;
    }
    if (af__ox_in_name (n, 3)) {
      Const *a = af__ox_in_const (im, n, 3, "axes", error);
      if (!a)
        return FALSE;
      if (a->numel > AF_MAX_RANK)
        return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "too many axes");
      n_axes = (int) a->numel;
      for (int i = 0; i < n_axes; i++)
        axes[i] = af__ox_c_get_i64 (a, i);
    }
  }
  Val *xv = af__ox_in_val (im, n, 0, TRUE, error);
  if (!xv)
    return FALSE;
  AfShape xs = af__ox_val_shape (xv);
  if (n_axes < 0)
    n_axes = xs.rank;
  if (count != 2 * n_axes)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "%d pads for %d axes", count, n_axes);
  /* a zero Pad of H and W right before a Conv or AveragePool merges into it */
  gboolean window = g_str_equal (mode, "constant") && value == 0 && xs.rank == 4 && n_axes == 4 &&
                    !pads[0] && !pads[1] && !pads[4] && !pads[5] && xv->kind == V_TENSOR;
  for (int i = 0; window && i < 8; i++)
    window = pads[i] >= 0 && pads[i] <= 65536;
  PbNode *user = window ? af__ox_sole_consumer (im, OUT0 (n)) : NULL;
  if (!user || !(g_str_equal (user->op, "Conv") || g_str_equal (user->op, "AveragePool")) ||
      g_strcmp0 (af__ox_in_name (user, 0), OUT0 (n)) != 0)
    return af__ox_pad_general (im, n, mode, pads, n_axes, af__ox_in_name (n, 3) ? axes : NULL,
                               value, error);
  AfTensor *x = xv->t;
  Val v = { .kind = V_PAD, .t = x, .pad = { pads[2], pads[3], pads[6], pads[7] } };
  af__ox_bind (im, OUT0 (n), &v);
  return TRUE;
}

static gboolean
op_resize (Imp *im, PbNode *n, GError **error)
{
  GError *local = NULL;
  gint64 antialias = 0;
  const char *policy = "stretch";
  int n_axes = -1;
  gint64 axes[AF_MAX_RANK];
  if (!af__ox_attr_int (im, n, "antialias", 0, &antialias, error) ||
      !af__ox_attr_str (im, n, "keep_aspect_ratio_policy", "stretch", &policy, error) ||
      !af__ox_attr_ints (im, n, "axes", AF_MAX_RANK, axes, &n_axes, error))
    return FALSE;
  if (antialias)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"antialias\" = 1 is not supported");
  if (!g_str_equal (policy, "stretch"))
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"keep_aspect_ratio_policy\" = \"%s\" is not supported", policy);
  if (n_axes >= 0)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "attribute \"axes\" is not supported");
  if (resize_upsample (im, n, &local))
    return TRUE;
  if (local->code != AF_ERROR_UNSUPPORTED) {
    g_propagate_error (error, local);
    return FALSE;
  }
  g_error_free (local);
  return af__ox_resize_general (im, n, error);
}

const AfOxMapper af__ox_layout_ops[] = {
  { "Concat", op_concat, "axis" },
  { "Reshape", op_reshape, "allowzero shape" },
  { "Flatten", op_flatten, "axis" },
  { "Transpose", op_transpose, "perm" },
  { "Unsqueeze", op_squeeze, "axes" },
  { "Squeeze", op_squeeze, "axes" },
  { "Dropout", op_identity, "ratio seed is_test training_mode" },
  { "Identity", op_identity, "" },
  { "Slice", op_slice, "starts ends axes" },
  { "Resize", op_resize,
    "antialias axes coordinate_transformation_mode cubic_coeff_a exclude_outside "
    "extrapolation_value keep_aspect_ratio_policy mode nearest_mode" },
  { "Upsample", op_resize, "mode scales" },
  { "Pad", op_pad, "mode pads value" },
  { NULL, NULL, NULL },
};
