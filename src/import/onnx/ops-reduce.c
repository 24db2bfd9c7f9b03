/* ops-reduce.c — op mappers of the reduction family: ReduceMax / Min / Mean /
 * Sum (axes as an attribute or, from opset 13 / 18, an input; keepdims;
 * noop_with_empty_axes), ReduceSumSquare (x * x, then sum), ReduceL1
 * (max (x, -x), then sum), and ArgMax / ArgMin (ArgMin as the argmax of -x;
 * select_last_index as k - 1 minus the argmax along the reversed axis). */
#include "import/onnx/onnx-imp.h"

#include <string.h>

/* The reduced axes of @n into @a (attribute "axes" or input 1). *noop when
 * they are empty and noop_with_empty_axes is set. */
static gboolean
reduce_axes (Imp *im, PbNode *n, AfAttrs *a, gboolean *noop, GError **error)
{
  gint64 keep, noop_empty;
  int count;
  if (!af__ox_attr_int (im, n, "keepdims", 1, &keep, error) ||
      !af__ox_attr_int (im, n, "noop_with_empty_axes", 0, &noop_empty, error) ||
      !af__ox_attr_ints (im, n, "axes", AF_MAX_RANK, a->axes, &count, error))
    return FALSE;
  if (count < 0 && af__ox_in_name (n, 1)) {
    Const *c = af__ox_in_const (im, n, 1, "axes", error);
    if (!c)
      return FALSE;
    if (c->numel > AF_MAX_RANK)
      return af__ox_fail (im, error, AF_ERROR_INVALID, "too many axes");
    count = (int) c->numel;
    for (int i = 0; i < count; i++)
      a->axes[i] = af__ox_c_get_i64 (c, i);
  }
  *noop = count <= 0 && noop_empty;
  a->n_axes = MAX (count, 0);
  a->keepdims = keep != 0;
  a->set = AF_A (AXES) | AF_A (KEEPDIMS);
  return TRUE;
}

static gboolean
op_reduce (Imp *im, PbNode *n, GError **error)
{
  static const struct {
    const char *name;
    AfOp op;
    char pre; /* 0, 's' square, 'a' absolute value */
  } map[] = {
    { "ReduceMax", AF_OP_AMAX, 0 },        { "ReduceMin", AF_OP_AMIN, 0 },
    { "ReduceMean", AF_OP_MEAN, 0 },       { "ReduceSum", AF_OP_SUM, 0 },
    { "ReduceSumSquare", AF_OP_SUM, 's' }, { "ReduceL1", AF_OP_SUM, 'a' },
  };
  guint k = 0;
  while (!g_str_equal (map[k].name, n->op))
    k++;
  AfAttrs a;
  af__attrs_init (map[k].op, &a);
  gboolean noop = FALSE;
  if (!reduce_axes (im, n, &a, &noop, error))
    return FALSE;
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  char *pname = g_strconcat (OUT0 (n), map[k].pre == 's' ? "_square" : "_abs", NULL);
  if (map[k].pre == 's') {
    x = af__ox_emit2 (im, AF_OP_MUL, x, x, pname, error);
  } else if (map[k].pre == 'a') {
    char *nname = g_strconcat (OUT0 (n), "_neg", NULL);
    AfTensor *m1 = af__ox_scalar_tensor (im, -1.0f, nname, error);
    AfTensor *neg = m1 ? af__ox_emit2 (im, AF_OP_MUL, x, m1, nname, error) : NULL;
    x = neg ? af__ox_emit2 (im, AF_OP_MAXIMUM, x, neg, pname, error) : NULL;
    g_free (nname);
  }
  g_free (pname);
  if (!x)
    return FALSE;
  if (noop)
    return af__ox_bind_tensor (im, OUT0 (n), x), TRUE;
  /* a reduction to a scalar keeps its dims (the graph has no rank 0) */
  gboolean all = a.n_axes == 0 || a.n_axes == x->shape.rank;
  if (all && !a.keepdims)
    a.keepdims = TRUE;
  return af__ox_bind_out (im, n, af__ox_emit1 (im, map[k].op, x, &a, OUT0 (n), error));
}

static gboolean
op_arg (Imp *im, PbNode *n, GError **error)
{
  gint64 axis, keep, last;
  if (!af__ox_attr_int (im, n, "axis", 0, &axis, error) ||
      !af__ox_attr_int (im, n, "keepdims", 1, &keep, error) ||
      !af__ox_attr_int (im, n, "select_last_index", 0, &last, error))
    return FALSE;
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  int r = x->shape.rank, ax = (int) (axis < 0 ? axis + r : axis);
  if (ax < 0 || ax >= r)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "attribute \"axis\" is out of range");
  gint64 k = x->shape.d[ax];
  if (last) {
    /* the last maximum: the first one along the reversed axis, k - 1 - i */
    gint64 *src = g_new (gint64, k);
    for (gint64 j = 0; j < k; j++)
      src[j] = k - 1 - j;
    char *rname = g_strconcat (OUT0 (n), "_reversed", NULL);
    x = af__ox_axis_select (im, x, ax, src, k, rname, error);
    g_free (rname);
    g_free (src);
    if (!x)
      return FALSE;
  }
  if (g_str_equal (n->op, "ArgMin")) {
    char *nname = g_strconcat (OUT0 (n), "_neg", NULL);
    AfTensor *m1 = af__ox_scalar_tensor (im, -1.0f, nname, error);
    x = m1 ? af__ox_emit2 (im, AF_OP_MUL, x, m1, nname, error) : NULL;
    g_free (nname);
    if (!x)
      return FALSE;
  }
  AfAttrs a;
  af__attrs_init (AF_OP_ARGMAX, &a);
  a.axis = axis;
  a.keepdims = keep != 0 || x->shape.rank == 1;
  a.set = AF_A (AXIS) | AF_A (KEEPDIMS);
  if (!last)
    return af__ox_bind_out (im, n, af__ox_emit1 (im, AF_OP_ARGMAX, x, &a, OUT0 (n), error));
  char *iname = g_strconcat (OUT0 (n), "_rindex", NULL),
       *nname = g_strconcat (OUT0 (n), "_neg", NULL),
       *kname = g_strconcat (OUT0 (n), "_last", NULL);
  AfTensor *i = af__ox_emit1 (im, AF_OP_ARGMAX, x, &a, iname, error);
  AfTensor *m1 = i ? af__ox_scalar_tensor (im, -1.0f, nname, error) : NULL;
  AfTensor *neg = m1 ? af__ox_emit2 (im, AF_OP_MUL, i, m1, nname, error) : NULL;
  AfTensor *km1 = neg ? af__ox_scalar_tensor (im, (float) (k - 1), kname, error) : NULL;
  AfTensor *y = km1 ? af__ox_emit2 (im, AF_OP_ADD, neg, km1, OUT0 (n), error) : NULL;
  g_free (iname);
  g_free (nname);
  g_free (kname);
  return af__ox_bind_out (im, n, y);
}

/* Hardmax: the one-hot of the argmax (first index among ties) along the
 * axis, relu (1 - |argmax - iota|), exact for the integer indices. Before
 * opset 13 the input is viewed as 2-D at the axis. */
static gboolean
op_hardmax (Imp *im, PbNode *n, GError **error)
{
  gboolean old = im->m.opset < 13;
  gint64 axis;
  if (!af__ox_attr_int (im, n, "axis", old ? 1 : -1, &axis, error))
    return FALSE;
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  AfShape in = x->shape;
  int r = in.rank, ax = (int) (axis < 0 ? axis + r : axis);
  if (ax < 0 || ax >= r)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "attribute \"axis\" is out of range");
  const char *out = OUT0 (n);
  char *nm[8];
  for (int i = 0; i < 8; i++)
    nm[i] = g_strdup_printf ("%s_hm%d", out, i);
  AfTensor *y = x;
  if (old) {
    AfShape two = { 2, { 1, 1 } };
    for (int i = 0; i < r; i++)
      two.d[i < ax ? 0 : 1] *= in.d[i];
    if (!af__shape_equal (&two, &in))
      y = af__ox_emit_reshape (im, x, &two, nm[0], error);
    ax = 1;
  }
  AfAttrs a;
  af__attrs_init (AF_OP_ARGMAX, &a);
  a.axis = ax;
  a.keepdims = TRUE;
  a.set = AF_A (AXIS) | AF_A (KEEPDIMS);
  AfTensor *idx = y ? af__ox_emit1 (im, AF_OP_ARGMAX, y, &a, nm[1], error) : NULL;
  AfTensor *iota = NULL;
  if (idx) {
    AfShape is = { y->shape.rank };
    for (int i = 0; i < is.rank; i++)
      is.d[i] = i == ax ? y->shape.d[ax] : 1;
    float *d;
    Const *c = af__ox_c_new (im, C_F32, &is, nm[2], (void **) &d);
    for (gint64 i = 0; i < c->numel; i++)
      d[i] = (float) i;
    iota = af__ox_c_tensor (im, c, error);
  }
  AfTensor *diff = iota ? af__ox_emit2 (im, AF_OP_SUB, idx, iota, nm[3], error) : NULL;
  AfTensor *m1 = diff ? af__ox_scalar_tensor (im, -1.0f, nm[4], error) : NULL;
  AfTensor *neg = m1 ? af__ox_emit2 (im, AF_OP_MUL, diff, m1, nm[4], error) : NULL;
  AfTensor *abs = neg ? af__ox_emit2 (im, AF_OP_MAXIMUM, diff, neg, nm[5], error) : NULL;
  AfTensor *one = abs ? af__ox_scalar_tensor (im, 1.0f, nm[6], error) : NULL;
  AfTensor *t = one ? af__ox_emit2 (im, AF_OP_SUB, one, abs, nm[6], error) : NULL;
  gboolean reshape = t && !af__shape_equal (&t->shape, &in);
  t = t ? af__ox_emit1 (im, AF_OP_RELU, t, NULL, reshape ? nm[7] : out, error) : NULL;
  if (t && reshape)
    t = af__ox_emit_reshape (im, t, &in, out, error);
  for (int i = 0; i < 8; i++)
    g_free (nm[i]);
  return af__ox_bind_out (im, n, t);
}

/* TopK with a constant K: one topk node for the values, one for the
 * indices (largest = 0: the top of -x, values negated back). */
static gboolean
op_topk (Imp *im, PbNode *n, GError **error)
{
  gint64 axis, largest, sorted;
  if (!af__ox_attr_int (im, n, "axis", -1, &axis, error) ||
      !af__ox_attr_int (im, n, "largest", 1, &largest, error) ||
      !af__ox_attr_int (im, n, "sorted", 1, &sorted, error))
    return FALSE;
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  gint64 k;
  PbAttr *ka = af__ox_attr_find (n, "k");
  if (ka) {
    k = ka->i;
  } else {
    Const *kc = x ? af__ox_in_const (im, n, 1, "K", error) : NULL;
    if (!kc)
      return FALSE;
    if (kc->numel != 1)
      return af__ox_fail (im, error, AF_ERROR_INVALID, "input 1 (K) must have one value");
    k = af__ox_c_get_i64 (kc, 0);
  }
  if (!x)
    return FALSE;
  char *nname = g_strconcat (OUT0 (n), "_neg", NULL),
       *vname = g_strconcat (OUT0 (n), "_negtop", NULL);
  AfTensor *src = x, *m1 = NULL;
  if (!largest) {
    m1 = af__ox_scalar_tensor (im, -1.0f, nname, error);
    src = m1 ? af__ox_emit2 (im, AF_OP_MUL, x, m1, nname, error) : NULL;
  }
  gboolean ok = src != NULL;
  for (guint o = 0; ok && o < 2; o++) {
    const char *name = af__ox_out_name (n, o);
    if (!name)
      continue;
    AfAttrs a;
    af__attrs_init (AF_OP_TOPK, &a);
    a.k = k;
    a.axis = axis;
    a.indices = o == 1;
    a.set = AF_A (K) | AF_A (AXIS) | AF_A (INDICES);
    gboolean negate = !largest && o == 0;
    AfTensor *t = af__ox_emit1 (im, AF_OP_TOPK, src, &a, negate ? vname : name, error);
    if (t && negate)
      t = af__ox_emit2 (im, AF_OP_MUL, t, m1, name, error);
    ok = t != NULL;
    if (ok)
      af__ox_bind_tensor (im, name, t);
  }
  g_free (nname);
  g_free (vname);
  return ok;
}

const AfOxMapper af__ox_reduce_ops[] = {
  { "ReduceMax", op_reduce, "axes keepdims noop_with_empty_axes" },
  { "ReduceMin", op_reduce, "axes keepdims noop_with_empty_axes" },
  { "ReduceMean", op_reduce, "axes keepdims noop_with_empty_axes" },
  { "ReduceSum", op_reduce, "axes keepdims noop_with_empty_axes" },
  { "ReduceSumSquare", op_reduce, "axes keepdims noop_with_empty_axes" },
  { "ReduceL1", op_reduce, "axes keepdims noop_with_empty_axes" },
  { "ArgMax", op_arg, "axis keepdims select_last_index" },
  { "ArgMin", op_arg, "axis keepdims select_last_index" },
  { "Hardmax", op_hardmax, "axis" },
  { "TopK", op_topk, "axis k largest sorted" },
  { NULL, NULL, NULL },
};
