/* ops-elementwise.c — op mappers of the elementwise family: unary
 * activations, Clip, LeakyRelu, the binary arithmetic ops (folded when both
 * inputs are constants) and Softmax. */
#include "import/onnx/onnx-imp.h"

#include <math.h>
#include <string.h>

static gboolean
op_unary (Imp *im, PbNode *n, GError **error)
{
  AfOp op = g_str_equal (n->op, "Relu")      ? AF_OP_RELU
            : g_str_equal (n->op, "Sigmoid") ? AF_OP_SIGMOID
            : g_str_equal (n->op, "Tanh")    ? AF_OP_TANH
                                             : AF_OP_EXP;
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  return x && af__ox_bind_out (im, n, af__ox_emit1 (im, op, x, NULL, OUT0 (n), error));
}

static gboolean
op_clip (Imp *im, PbNode *n, GError **error)
{
  float lo = -INFINITY, hi = INFINITY;
  if (!af__ox_attr_float (im, n, "min", lo, &lo, error) ||
      !af__ox_attr_float (im, n, "max", hi, &hi, error))
    return FALSE;
  for (guint i = 1; i < 3; i++) {
    if (!af__ox_in_name (n, i))
      continue;
    Const *c = af__ox_in_const (im, n, i, i == 1 ? "min" : "max", error);
    if (!c)
      return FALSE;
    if (c->numel != 1)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "input %u must be a scalar", i);
    *(i == 1 ? &lo : &hi) = (float) af__ox_c_get (c, 0);
  }
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  if (lo == 0 && hi == 6)
    return af__ox_bind_out (im, n, af__ox_emit1 (im, AF_OP_RELU6, x, NULL, OUT0 (n), error));
  if (lo == 0 && isinf (hi) && hi > 0)
    return af__ox_bind_out (im, n, af__ox_emit1 (im, AF_OP_RELU, x, NULL, OUT0 (n), error));
  AfAttrs a;
  af__attrs_init (AF_OP_CLIP, &a);
  a.min = lo;
  a.max = hi;
  a.set = AF_A (MIN) | AF_A (MAX);
  return af__ox_bind_out (im, n, af__ox_emit1 (im, AF_OP_CLIP, x, &a, OUT0 (n), error));
}

static gboolean
op_leaky_relu (Imp *im, PbNode *n, GError **error)
{
  float alpha;
  if (!af__ox_attr_float (im, n, "alpha", 0.01f, &alpha, error))
    return FALSE;
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  char *cname = g_strconcat (OUT0 (n) ? OUT0 (n) : "leaky", "_alpha", NULL);
  char *mname = g_strconcat (OUT0 (n) ? OUT0 (n) : "leaky", "_mul", NULL);
  AfTensor *c = af__ox_scalar_tensor (im, alpha, cname, error);
  AfTensor *m = c ? af__ox_emit2 (im, AF_OP_MUL, x, c, mname, error) : NULL;
  g_free (cname);
  g_free (mname);
  if (!m)
    return FALSE;
  AfOp op = alpha <= 1 ? AF_OP_MAXIMUM : AF_OP_MINIMUM;
  return af__ox_bind_out (im, n, af__ox_emit2 (im, op, x, m, OUT0 (n), error));
}

static gboolean
op_binary (Imp *im, PbNode *n, GError **error)
{
  static const struct {
    const char *name;
    char sym;
    AfOp op;
  } map[] = { { "Add", '+', AF_OP_ADD },     { "Sub", '-', AF_OP_SUB },
              { "Mul", '*', AF_OP_MUL },     { "Div", '/', AF_OP_DIV },
              { "Max", 'M', AF_OP_MAXIMUM }, { "Min", 'm', AF_OP_MINIMUM } };
  guint k = 0;
  while (!g_str_equal (map[k].name, n->op))
    k++;
  if (n->in->len != 2)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "%u inputs; only 2 are supported",
                        n->in->len);
  Val *a = af__ox_in_val (im, n, 0, TRUE, error),
      *b = a ? af__ox_in_val (im, n, 1, TRUE, error) : NULL;
  if (!b)
    return FALSE;
  if (a->kind == V_CONST && b->kind == V_CONST && map[k].sym != 'M' && map[k].sym != 'm') {
    Const *c = af__ox_fold_binary (im, n, map[k].sym, a->c, b->c, error);
    if (!c)
      return FALSE;
    af__ox_bind_const (im, OUT0 (n), c);
    return TRUE;
  }
  AfTensor *x = af__ox_in_tensor (im, n, 0, error),
           *y = x ? af__ox_in_tensor (im, n, 1, error) : NULL;
  return y && af__ox_bind_out (im, n, af__ox_emit2 (im, map[k].op, x, y, OUT0 (n), error));
}

static gboolean
op_softmax (Imp *im, PbNode *n, GError **error)
{
  gint64 axis;
  if (!af__ox_attr_int (im, n, "axis", im->m.opset < 13 ? 1 : -1, &axis, error))
    return FALSE;
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  int r = x->shape.rank;
  if (axis < -r || axis >= r)
    return af__ox_fail (im, error, AF_ERROR_INVALID,
                        "attribute \"axis\" = %" G_GINT64_FORMAT " is out of range for rank %d",
                        axis, r);
  int ax = (int) (axis < 0 ? axis + r : axis);
  if (im->m.opset < 13) {
    /* softmax over the flattened dims [axis, r): only one of them may be > 1 */
    int big = -1;
    for (int i = ax; i < r; i++)
      if (x->shape.d[i] != 1) {
        if (big >= 0) {
          char *s = af__shape_str (&x->shape);
          af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                       "attribute \"axis\" = %" G_GINT64_FORMAT
                       " on input of shape %s: opset %" G_GINT64_FORMAT
                       " softmax flattens dims %d.. into one; only one of them may be > 1",
                       axis, s, im->m.opset, ax);
          g_free (s);
          return FALSE;
        }
        big = i;
      }
    if (big >= 0)
      ax = big;
  }
  AfAttrs a;
  af__attrs_init (AF_OP_SOFTMAX, &a);
  a.axis = ax;
  a.set = AF_A (AXIS);
  return af__ox_bind_out (im, n, af__ox_emit1 (im, AF_OP_SOFTMAX, x, &a, OUT0 (n), error));
}

const AfOxMapper af__ox_elementwise_ops[] = {
  { "Relu", op_unary, "" },          { "Sigmoid", op_unary, "" },
  { "Tanh", op_unary, "" },          { "Exp", op_unary, "" },
  { "Clip", op_clip, "min max" },    { "LeakyRelu", op_leaky_relu, "alpha" },
  { "Softmax", op_softmax, "axis" }, { "Add", op_binary, "" },
  { "Sub", op_binary, "" },          { "Mul", op_binary, "" },
  { "Div", op_binary, "" },          { "Max", op_binary, "" },
  { "Min", op_binary, "" },          { NULL, NULL, NULL },
};
