/* ops-conv.c — op mappers of the window family: Conv (with a following
 * BatchNormalization folded into its weights and a preceding zero Pad merged
 * into its pads), MaxPool / AveragePool, the global pools, and a standalone
 * BatchNormalization. */
#include "import/onnx/onnx-imp.h"

#include <math.h>
#include <string.h>

/* Resolves ONNX pads / auto_pad for 2-D windows into our [t, l, b, r]. */
static gboolean
resolve_pads (Imp *im, PbNode *n, const gint64 *in_hw, const gint64 *k_eff, const gint64 *stride,
              gint64 *pad, GError **error)
{
  const char *auto_pad;
  int count;
  gint64 p[4] = { 0 };
  if (!af__ox_attr_str (im, n, "auto_pad", "NOTSET", &auto_pad, error) ||
      !af__ox_attr_ints (im, n, "pads", 4, p, &count, error))
    return FALSE;
  if (count >= 0 && count != 4)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"pads\" has %d values, expected 4", count);
  for (int i = 0; i < 4; i++)
    if (p[i] < 0 || p[i] > AF_MAX_DIM)
      return af__ox_fail (im, error, AF_ERROR_INVALID,
                          "attribute \"pads\" = %" G_GINT64_FORMAT
                          " is not supported (negative or too large)",
                          p[i]);
  if (g_str_equal (auto_pad, "NOTSET") || g_str_equal (auto_pad, "")) {
    memcpy (pad, p, sizeof p);
    return TRUE;
  }
  if (g_str_equal (auto_pad, "VALID")) {
    memset (pad, 0, 4 * sizeof (gint64));
    return TRUE;
  }
  gboolean upper = g_str_equal (auto_pad, "SAME_UPPER");
  if (!upper && !g_str_equal (auto_pad, "SAME_LOWER"))
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"auto_pad\" = \"%s\" is not supported", auto_pad);
  for (int i = 0; i < 2; i++) {
    gint64 out = (in_hw[i] + stride[i] - 1) / stride[i];
    gint64 total = MAX (0, (out - 1) * stride[i] + k_eff[i] - in_hw[i]);
    gint64 small = total / 2, big = total - small;
    pad[i] = upper ? small : big;
    pad[2 + i] = upper ? big : small;
  }
  return TRUE;
}

static gboolean
attr_pair (Imp *im, PbNode *n, const char *name, gint64 def, gint64 *out, GError **error)
{
  int count;
  gint64 v[2] = { def, def };
  if (!af__ox_attr_ints (im, n, name, 2, v, &count, error))
    return FALSE;
  if (count >= 0 && count != 2)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"%s\" has %d values; only 2-D (2 values) is supported", name,
                        count);
  for (int i = 0; i < 2; i++)
    if (v[i] < 1 || v[i] > AF_MAX_DIM)
      return af__ox_fail (im, error, AF_ERROR_INVALID,
                          "attribute \"%s\" = %" G_GINT64_FORMAT " is invalid", name, v[i]);
  out[0] = v[0];
  out[1] = v[1];
  return TRUE;
}

/* The 4-D input 0 of a window op, with a preceding Pad merged into @pad. */
static AfTensor *
window_input (Imp *im, PbNode *n, gint64 *extra_pad, GError **error)
{
  Val *v = af__ox_in_val (im, n, 0, TRUE, error);
  if (!v)
    return NULL;
  memset (extra_pad, 0, 4 * sizeof (gint64));
  AfTensor *x;
  if (v->kind == V_PAD) {
    memcpy (extra_pad, v->pad, 4 * sizeof (gint64));
    x = v->t;
  } else {
    x = af__ox_in_tensor (im, n, 0, error);
  }
  if (x && x->shape.rank != 4)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "input 0 \"%s\" has rank %d; only 2-D (rank 4, NCHW) is supported",
                        af__ox_in_name (n, 0), x->shape.rank),
           NULL;
  return x;
}

/* Folds BatchNormalization @bn (whose input is the conv output) into @w / @b.
 * Returns FALSE (no error) when it cannot. */
static gboolean
bn_fold (Imp *im, PbNode *bn, Const **w, Const **b, gint64 oc)
{
  Const *p[4];
  for (guint i = 0; i < 4; i++) {
    p[i] = af__ox_known_const (im, bn, i + 1);
    if (!p[i] || p[i]->numel != oc)
      return FALSE;
  }
  for (guint i = 1; i < bn->out->len; i++)
    if (af__ox_uses_of (im, af__ox_out_name (bn, i)))
      return FALSE;
  for (guint i = 0; i < bn->attrs->len; i++) {
    PbAttr *a = g_ptr_array_index (bn->attrs, i);
    if (g_str_equal (a->name, "epsilon") || g_str_equal (a->name, "momentum") ||
        ((g_str_equal (a->name, "spatial") || g_str_equal (a->name, "is_test")) && a->i == 1) ||
        (g_str_equal (a->name, "training_mode") && a->i == 0))
      continue;
    return FALSE;
  }
  PbAttr *ea = af__ox_attr_find (bn, "epsilon");
  double eps = ea ? ea->f : 1e-5;
  float *wd = af__ox_c_f32 (*w);
  gint64 per = (*w)->numel / oc;
  float *nb;
  Const *nbc = af__ox_c_new (im, C_F32, &(AfShape){ 1, { oc } }, (*b ? (*b)->name : OUT0 (bn)),
                             (void **) &nb);
  float *nw;
  Const *nwc = af__ox_c_new (im, C_F32, &(*w)->shape, (*w)->name, (void **) &nw);
  for (gint64 o = 0; o < oc; o++) {
    double s = af__ox_c_get (p[0], o) / sqrt (af__ox_c_get (p[3], o) + eps);
    double bias = *b ? af__ox_c_get (*b, o) : 0.0;
    for (gint64 j = 0; j < per; j++)
      nw[o * per + j] = (float) (wd[o * per + j] * s);
    nb[o] = (float) ((bias - af__ox_c_get (p[2], o)) * s + af__ox_c_get (p[1], o));
  }
  g_free (wd);
  if (!*b) {
    g_free (nbc->name);
    nbc->name = g_strconcat ((*w)->name, "_bias", NULL);
  }
  *w = nwc;
  *b = nbc;
  return TRUE;
}

static gboolean
op_conv (Imp *im, PbNode *n, GError **error)
{
  gint64 extra[4];
  AfTensor *x = window_input (im, n, extra, error);
  if (!x)
    return FALSE;
  Val *wv = af__ox_in_val (im, n, 1, TRUE, error);
  if (!wv)
    return FALSE;
  AfShape ws = af__ox_val_shape (wv);
  if (ws.rank != 4)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "weight \"%s\" has rank %d; only 2-D convolution is supported",
                        af__ox_in_name (n, 1), ws.rank);
  AfAttrs a;
  af__attrs_init (AF_OP_CONV, &a);
  gint64 ks[2];
  int count;
  if (!attr_pair (im, n, "strides", 1, a.stride, error) ||
      !attr_pair (im, n, "dilations", 1, a.dilation, error) ||
      !af__ox_attr_int (im, n, "group", 1, &a.groups, error) ||
      !af__ox_attr_ints (im, n, "kernel_shape", 2, ks, &count, error))
    return FALSE;
  if (count >= 0 && (count != 2 || ks[0] != ws.d[2] || ks[1] != ws.d[3]))
    return af__ox_fail (im, error, AF_ERROR_INVALID,
                        "attribute \"kernel_shape\" does not match weight \"%s\"",
                        af__ox_in_name (n, 1));
  gint64 hw[2] = { x->shape.d[2] + extra[0] + extra[2], x->shape.d[3] + extra[1] + extra[3] };
  gint64 keff[2] = { (ws.d[2] - 1) * a.dilation[0] + 1, (ws.d[3] - 1) * a.dilation[1] + 1 };
  if (!resolve_pads (im, n, hw, keff, a.stride, a.pad, error))
    return FALSE;
  for (int i = 0; i < 4; i++)
    a.pad[i] += extra[i];
  a.set = AF_A (STRIDE) | AF_A (PAD) | AF_A (DILATION) | AF_A (GROUPS);

  const char *name = OUT0 (n);
  Val *bv = af__ox_in_name (n, 2) ? af__ox_in_val (im, n, 2, TRUE, error) : NULL;
  if (af__ox_in_name (n, 2) && !bv)
    return FALSE;
  /* BatchNormalization right after, on constants: fold it */
  PbNode *bn = af__ox_sole_consumer (im, name);
  if (bn && g_str_equal (bn->op, "BatchNormalization") && !bn->done && bn->in->len == 5 &&
      g_strcmp0 (af__ox_in_name (bn, 0), name) == 0 && wv->kind == V_CONST &&
      (!bv || bv->kind == V_CONST)) {
    Const *w = wv->c, *b = bv ? bv->c : NULL;
    if (bn_fold (im, bn, &w, &b, ws.d[0])) {
      AfTensor *in[3] = { x, af__ox_c_tensor (im, w, error), af__ox_c_tensor (im, b, error) };
      if (!in[1] || !in[2])
        return FALSE;
      bn->done = TRUE;
      AfTensor *y = af__ox_emit (im, AF_OP_CONV, 3, in, &a, OUT0 (bn), error);
      if (!y)
        return FALSE;
      af__ox_bind_tensor (im, OUT0 (bn), y);
      return TRUE;
    }
  }
  AfTensor *in[3] = { x, af__ox_in_tensor (im, n, 1, error), NULL };
  if (!in[1])
    return FALSE;
  if (bv && !(in[2] = af__ox_in_tensor (im, n, 2, error)))
    return FALSE;
  return af__ox_bind_out (im, n, af__ox_emit (im, AF_OP_CONV, bv ? 3 : 2, in, &a, name, error));
}

static gboolean
op_pool (Imp *im, PbNode *n, GError **error)
{
  gboolean is_max = g_str_equal (n->op, "MaxPool");
  gint64 extra[4];
  AfTensor *x = window_input (im, n, extra, error);
  if (!x || !af__ox_extra_outputs_unused (im, n, error))
    return FALSE;
  AfAttrs a;
  AfOp op = is_max ? AF_OP_MAX_POOL : AF_OP_AVG_POOL;
  af__attrs_init (op, &a);
  int count;
  gint64 dil[2], ceil_mode, cip = 0, storage;
  if (!af__ox_attr_ints (im, n, "kernel_shape", 2, a.kernel, &count, error))
    return FALSE;
  if (count != 2)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"kernel_shape\" must have 2 values (2-D pooling)");
  if (a.kernel[0] < 1 || a.kernel[1] < 1 || a.kernel[0] > AF_MAX_DIM || a.kernel[1] > AF_MAX_DIM)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "attribute \"kernel_shape\" is invalid");
  if (!attr_pair (im, n, "strides", 1, a.stride, error) ||
      !attr_pair (im, n, "dilations", 1, dil, error) ||
      !af__ox_attr_int (im, n, "ceil_mode", 0, &ceil_mode, error) ||
      !af__ox_attr_int (im, n, "storage_order", 0, &storage, error) ||
      (!is_max && !af__ox_attr_int (im, n, "count_include_pad", 0, &cip, error)))
    return FALSE;
  if (dil[0] != 1 || dil[1] != 1)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"dilations\" other than 1 is not supported");
  if (storage != 0)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"storage_order\" = %" G_GINT64_FORMAT " is not supported",
                        storage);
  gint64 hw[2] = { x->shape.d[2] + extra[0] + extra[2], x->shape.d[3] + extra[1] + extra[3] };
  if (!resolve_pads (im, n, hw, a.kernel, a.stride, a.pad, error))
    return FALSE;
  gboolean has_extra = extra[0] || extra[1] || extra[2] || extra[3];
  if (has_extra) {
    if (is_max)
      return af__ox_fail (
          im, error, AF_ERROR_UNSUPPORTED,
          "a zero Pad before MaxPool is not supported (MaxPool ignores padded cells)");
    if (!cip && (a.pad[0] || a.pad[1] || a.pad[2] || a.pad[3]))
      return af__ox_fail (
          im, error, AF_ERROR_UNSUPPORTED,
          "a Pad before an AveragePool with its own pads and count_include_pad=0 is not "
          "supported");
    cip = 1;
    for (int i = 0; i < 4; i++)
      a.pad[i] += extra[i];
  }
  a.ceil_mode = ceil_mode != 0;
  a.count_include_pad = cip != 0;
  a.set = AF_A (KERNEL) | AF_A (STRIDE) | AF_A (PAD) | AF_A (CEIL_MODE);
  if (!is_max)
    a.set |= AF_A (COUNT_INCLUDE_PAD);
  return af__ox_bind_out (im, n, af__ox_emit1 (im, op, x, &a, OUT0 (n), error));
}

static gboolean
op_global_pool (Imp *im, PbNode *n, GError **error)
{
  gboolean is_max = g_str_equal (n->op, "GlobalMaxPool");
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  if (x->shape.rank != 4)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "input 0 has rank %d; only rank 4 is supported", x->shape.rank);
  AfOp op = is_max ? AF_OP_MAX_POOL : AF_OP_AVG_POOL;
  AfAttrs a;
  af__attrs_init (op, &a);
  a.global = TRUE;
  a.set = AF_A (GLOBAL);
  return af__ox_bind_out (im, n, af__ox_emit1 (im, op, x, &a, OUT0 (n), error));
}

static gboolean
op_batch_norm (Imp *im, PbNode *n, GError **error)
{
  float eps, mom;
  gint64 spatial, training, is_test;
  if (!af__ox_attr_float (im, n, "epsilon", 1e-5f, &eps, error) ||
      !af__ox_attr_float (im, n, "momentum", 0.9f, &mom, error) ||
      !af__ox_attr_int (im, n, "spatial", 1, &spatial, error) ||
      !af__ox_attr_int (im, n, "training_mode", 0, &training, error) ||
      !af__ox_attr_int (im, n, "is_test", 1, &is_test, error) ||
      !af__ox_extra_outputs_unused (im, n, error))
    return FALSE;
  if (spatial != 1 || training != 0)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "attribute \"%s\" is not supported",
                        spatial != 1 ? "spatial" : "training_mode");
  AfTensor *in[5];
  for (guint i = 0; i < 5; i++) {
    if (i > 0) {
      Const *c = af__ox_in_const (im, n, i, "statistics", error);
      if (!c)
        return FALSE;
    }
    if (!(in[i] = af__ox_in_tensor (im, n, i, error)))
      return FALSE;
  }
  AfAttrs a;
  af__attrs_init (AF_OP_BATCH_NORM, &a);
  a.eps = eps;
  a.set = AF_A (EPS);
  return af__ox_bind_out (im, n, af__ox_emit (im, AF_OP_BATCH_NORM, 5, in, &a, OUT0 (n), error));
}

const AfOxMapper af__ox_conv_ops[] = {
  { "Conv", op_conv, "auto_pad dilations group kernel_shape pads strides" },
  { "MaxPool", op_pool, "auto_pad ceil_mode dilations kernel_shape pads storage_order strides" },
  { "AveragePool", op_pool, "auto_pad ceil_mode count_include_pad kernel_shape pads strides" },
  { "GlobalAveragePool", op_global_pool, "" },
  { "GlobalMaxPool", op_global_pool, "" },
  { "BatchNormalization", op_batch_norm, "epsilon momentum spatial training_mode is_test" },
  { NULL, NULL, NULL },
};
