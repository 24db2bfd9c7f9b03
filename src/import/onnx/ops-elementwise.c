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

/* Sum / Mean / Max / Min with 1 or more than 2 inputs: a chain of binary
 * ops (Mean: the sum times 1 / n). */
static gboolean
nary (Imp *im, PbNode *n, AfOp op, GError **error)
{
  guint count = n->in->len;
  if (count < 1)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "no inputs");
  AfTensor *acc = af__ox_in_tensor (im, n, 0, error);
  gboolean mean = g_str_equal (n->op, "Mean");
  for (guint i = 1; i < count && acc; i++) {
    AfTensor *y = af__ox_in_tensor (im, n, i, error);
    char *want =
        i + 1 < count || mean ? g_strdup_printf ("%s_%u", OUT0 (n), i) : g_strdup (OUT0 (n));
    acc = y ? af__ox_emit2 (im, op, acc, y, want, error) : NULL;
    g_free (want);
  }
  if (acc && mean && count > 1) {
    char *cname = g_strconcat (OUT0 (n), "_scale", NULL);
    AfTensor *c = af__ox_scalar_tensor (im, 1.0f / (float) count, cname, error);
    g_free (cname);
    acc = c ? af__ox_emit2 (im, AF_OP_MUL, acc, c, OUT0 (n), error) : NULL;
  }
  if (acc && count == 1)
    return af__ox_bind_tensor (im, OUT0 (n), acc), TRUE;
  return af__ox_bind_out (im, n, acc);
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
              { "Max", 'M', AF_OP_MAXIMUM }, { "Min", 'm', AF_OP_MINIMUM },
              { "Sum", 'S', AF_OP_ADD },     { "Mean", 'A', AF_OP_ADD } };
  guint k = 0;
  while (!g_str_equal (map[k].name, n->op))
    k++;
  if (n->in->len != 2 || map[k].sym == 'A')
    return nary (im, n, map[k].op, error);
  Val *a = af__ox_in_val (im, n, 0, TRUE, error),
      *b = a ? af__ox_in_val (im, n, 1, TRUE, error) : NULL;
  if (!b)
    return FALSE;
  if (a->kind == V_CONST && b->kind == V_CONST && map[k].sym != 'M' && map[k].sym != 'm' &&
      map[k].sym != 'S' && map[k].sym != 'A') {
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

/* A small builder for composite activations: each step is one node named
 * OUT0 + suffix, the last one OUT0 itself. */
typedef struct {
  Imp *im;
  PbNode *n;
  GError **error;
  guint step;
} Chain;

static AfTensor *
ch_const (Chain *c, float v)
{
  char *name = g_strdup_printf ("%s_c%u", OUT0 (c->n), c->step++);
  AfTensor *t = af__ox_scalar_tensor (c->im, v, name, c->error);
  g_free (name);
  return t;
}

static AfTensor *
ch_bin (Chain *c, AfOp op, AfTensor *a, AfTensor *b, gboolean last)
{
  if (!a || !b)
    return NULL;
  char *name = last ? g_strdup (OUT0 (c->n)) : g_strdup_printf ("%s_%u", OUT0 (c->n), c->step++);
  AfTensor *t = af__ox_emit2 (c->im, op, a, b, name, c->error);
  g_free (name);
  return t;
}

static AfTensor *
ch_un (Chain *c, AfOp op, AfTensor *a, const AfAttrs *attrs, gboolean last)
{
  if (!a)
    return NULL;
  char *name = last ? g_strdup (OUT0 (c->n)) : g_strdup_printf ("%s_%u", OUT0 (c->n), c->step++);
  AfTensor *t = af__ox_emit1 (c->im, op, a, attrs, name, c->error);
  g_free (name);
  return t;
}

static AfTensor *
ch_clip (Chain *c, AfTensor *x, float lo, float hi, gboolean last)
{
  AfAttrs a;
  af__attrs_init (AF_OP_CLIP, &a);
  a.min = lo;
  a.max = hi;
  a.set = AF_A (MIN) | AF_A (MAX);
  return ch_un (c, AF_OP_CLIP, x, &a, last);
}

/* alpha * (exp (min (x, 0) / d) - 1): the negative branch of Elu / Celu
 * (exact 0 for x >= 0, no overflow for large x). */
static AfTensor *
ch_expm1_neg (Chain *c, AfTensor *x, float alpha, float d)
{
  AfTensor *neg = ch_bin (c, AF_OP_MINIMUM, x, ch_const (c, 0.0f), FALSE);
  if (d != 1)
    neg = ch_bin (c, AF_OP_MUL, neg, ch_const (c, 1.0f / d), FALSE);
  AfTensor *e = ch_un (c, AF_OP_EXP, neg, NULL, FALSE);
  AfTensor *m1 = ch_bin (c, AF_OP_SUB, e, ch_const (c, 1.0f), FALSE);
  return ch_bin (c, AF_OP_MUL, m1, ch_const (c, alpha), FALSE);
}

/* Activations written with the existing elementwise ops. */
static gboolean
op_composite (Imp *im, PbNode *n, GError **error)
{
  Chain c = { im, n, error, 0 };
  const char *op = n->op;
  float alpha = 1, beta = 0, gamma = 0;
  gboolean ok = TRUE;
  if (g_str_equal (op, "Elu") || g_str_equal (op, "Celu"))
    ok = af__ox_attr_float (im, n, "alpha", 1.0f, &alpha, error);
  else if (g_str_equal (op, "Selu"))
    ok = af__ox_attr_float (im, n, "alpha", 1.67326319217681884765625f, &alpha, error) &&
         af__ox_attr_float (im, n, "gamma", 1.05070102214813232421875f, &gamma, error);
  else if (g_str_equal (op, "HardSigmoid"))
    ok = af__ox_attr_float (im, n, "alpha", 0.2f, &alpha, error) &&
         af__ox_attr_float (im, n, "beta", 0.5f, &beta, error);
  if (!ok)
    return FALSE;
  AfTensor *x = af__ox_in_tensor (im, n, 0, error), *y = NULL;
  if (!x)
    return FALSE;
  if (g_str_equal (op, "Neg")) {
    y = ch_bin (&c, AF_OP_MUL, x, ch_const (&c, -1.0f), TRUE);
  } else if (g_str_equal (op, "Abs")) {
    y = ch_bin (&c, AF_OP_MAXIMUM, x, ch_bin (&c, AF_OP_MUL, x, ch_const (&c, -1.0f), FALSE), TRUE);
  } else if (g_str_equal (op, "Reciprocal")) {
    y = ch_bin (&c, AF_OP_DIV, ch_const (&c, 1.0f), x, TRUE);
  } else if (g_str_equal (op, "Elu") || g_str_equal (op, "Celu")) {
    gboolean celu = op[0] == 'C';
    if (celu && alpha == 0)
      return af__ox_fail (im, error, AF_ERROR_INVALID, "attribute \"alpha\" = 0");
    AfTensor *pos = ch_un (&c, AF_OP_RELU, x, NULL, FALSE);
    y = ch_bin (&c, AF_OP_ADD, pos, ch_expm1_neg (&c, x, alpha, celu ? alpha : 1.0f), TRUE);
  } else if (g_str_equal (op, "Selu")) {
    AfTensor *pos = ch_un (&c, AF_OP_RELU, x, NULL, FALSE);
    AfTensor *sum = ch_bin (&c, AF_OP_ADD, pos, ch_expm1_neg (&c, x, alpha, 1.0f), FALSE);
    y = ch_bin (&c, AF_OP_MUL, sum, ch_const (&c, gamma), TRUE);
  } else if (g_str_equal (op, "HardSigmoid")) {
    AfTensor *ax = ch_bin (&c, AF_OP_MUL, x, ch_const (&c, alpha), FALSE);
    y = ch_clip (&c, ch_bin (&c, AF_OP_ADD, ax, ch_const (&c, beta), FALSE), 0, 1, TRUE);
  } else if (g_str_equal (op, "HardSwish")) {
    AfTensor *ax = ch_bin (&c, AF_OP_MUL, x, ch_const (&c, 1.0f / 6), FALSE);
    AfTensor *hs =
        ch_clip (&c, ch_bin (&c, AF_OP_ADD, ax, ch_const (&c, 0.5f), FALSE), 0, 1, FALSE);
    y = ch_bin (&c, AF_OP_MUL, x, hs, TRUE);
  } else if (g_str_equal (op, "Softsign")) {
    AfTensor *abs = ch_bin (&c, AF_OP_MAXIMUM, x,
                            ch_bin (&c, AF_OP_MUL, x, ch_const (&c, -1.0f), FALSE), FALSE);
    y = ch_bin (&c, AF_OP_DIV, x, ch_bin (&c, AF_OP_ADD, abs, ch_const (&c, 1.0f), FALSE), TRUE);
  } else if (g_str_equal (op, "PRelu")) {
    AfTensor *slope = af__ox_in_tensor (im, n, 1, error);
    if (!slope)
      return FALSE;
    AfTensor *pos = ch_un (&c, AF_OP_RELU, x, NULL, FALSE);
    AfTensor *neg = ch_bin (&c, AF_OP_MINIMUM, x, ch_const (&c, 0.0f), FALSE);
    y = ch_bin (&c, AF_OP_ADD, pos, ch_bin (&c, AF_OP_MUL, neg, slope, FALSE), TRUE);
  } else if (g_str_equal (op, "Gelu")) {
    const char *approx;
    if (!af__ox_attr_str (im, n, "approximate", "none", &approx, error))
      return FALSE;
    if (!g_str_equal (approx, "none"))
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                          "attribute \"approximate\" = \"%s\" is not supported", approx);
    y = ch_un (&c, AF_OP_GELU, x, NULL, TRUE);
  }
  return af__ox_bind_out (im, n, y);
}

const AfOxMapper af__ox_elementwise_ops[] = {
  { "Relu", op_unary, "" },
  { "Sigmoid", op_unary, "" },
  { "Tanh", op_unary, "" },
  { "Exp", op_unary, "" },
  { "Clip", op_clip, "min max" },
  { "LeakyRelu", op_leaky_relu, "alpha" },
  { "Softmax", op_softmax, "axis" },
  { "Add", op_binary, "" },
  { "Sub", op_binary, "" },
  { "Mul", op_binary, "" },
  { "Div", op_binary, "" },
  { "Max", op_binary, "" },
  { "Min", op_binary, "" },
  { "Sum", op_binary, "" },
  { "Mean", op_binary, "" },
  { "Neg", op_composite, "" },
  { "Abs", op_composite, "" },
  { "Reciprocal", op_composite, "" },
  { "Elu", op_composite, "alpha" },
  { "Celu", op_composite, "alpha" },
  { "Selu", op_composite, "alpha gamma" },
  { "HardSigmoid", op_composite, "alpha beta" },
  { "HardSwish", op_composite, "" },
  { "Softsign", op_composite, "" },
  { "PRelu", op_composite, "" },
  { "Gelu", op_composite, "approximate" },
  { NULL, NULL, NULL },
};
