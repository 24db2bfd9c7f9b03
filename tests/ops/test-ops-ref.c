/* test-ops-ref.c — every op of ops.def: its shape function and reference
 * kernel on small hand-checked cases, shape and attribute errors naming the
 * right field, and costs. The case table must cover every op (coverage). */
#include "graph.h"

#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static AfShape
sh_make (const gint64 *d, int rank)
{
  AfShape s = { rank };
  memcpy (s.d, d, sizeof (gint64) * rank);
  return s;
}
#define SH(...)                                                                                    \
  sh_make ((gint64[]){ __VA_ARGS__ }, sizeof ((gint64[]){ __VA_ARGS__ }) / sizeof (gint64))
#define F(...) ((const float[]){ __VA_ARGS__ })
/* an input list: the array and its length, as two arguments */
#define IN(...)                                                                                    \
  ((AfTensor *[]){ __VA_ARGS__ }), (sizeof ((AfTensor *[]){ __VA_ARGS__ }) / sizeof (AfTensor *))

/* A constant of shape @s holding @data, or 0, 1, 2... when @data is NULL. */
static AfTensor *
cst (AfGraph *g, const char *name, AfShape s, const float *data)
{
  gint64 numel = af__shape_numel (&s);
  float *v = g_new (float, MAX (numel, 1));
  for (gint64 i = 0; i < numel; i++)
    v[i] = data ? data[i] : (float) i;
  GBytes *b = g_bytes_new_take (v, numel * sizeof (float));
  AfTensor *t = af__graph_add_const (g, name, &s, AF_DTYPE_F32, v, b);
  g_bytes_unref (b);
  return t;
}

/* Attributes of @op at their defaults. */
static AfAttrs
attrs (AfOp op)
{
  AfAttrs a;
  af__attrs_init (op, &a);
  return a;
}

static AfNode *
add (AfGraph *g, AfOp op, const AfAttrs *a, AfTensor *const *in, guint n_in)
{
  char *name = g_strdup_printf ("%s_%u", af_op_info[op].name, g->nodes->len);
  AfNode *n = af__graph_add_node (g, name, op, n_in, in, a);
  g_free (name);
  return n;
}

/* Adds a node and asserts its shape function succeeds with shape @want. */
static AfNode *
node_ok (AfGraph *g, AfOp op, const AfAttrs *a, AfShape want, AfTensor *const *in, guint n_in)
{
  AfNode *n = add (g, op, a, in, n_in);
  GError *error = NULL;
  gboolean ok = af_op_info[op].shape (n, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  char *got = af__shape_str (&n->out->shape), *exp = af__shape_str (&want);
  g_assert_cmpstr (got, ==, exp);
  g_free (got);
  g_free (exp);
  return n;
}

/* Adds a node and asserts its shape function fails with @code and a message
 * holding @needle1 and @needle2 (NULL: not checked). */
static void
node_err (AfGraph *g, AfOp op, const AfAttrs *a, int code, const char *needle1, const char *needle2,
          AfTensor *const *in, guint n_in)
{
  AfNode *n = add (g, op, a, in, n_in);
  GError *error = NULL;
  gboolean ok = af_op_info[op].shape (n, &error);
  g_assert_false (ok);
  g_assert_error (error, AF_ERROR, code);
  g_test_message ("%s: %s", af_op_info[op].name, error->message);
  if (needle1 && !strstr (error->message, needle1))
    g_error ("message \"%s\" lacks \"%s\"", error->message, needle1);
  if (needle2 && !strstr (error->message, needle2))
    g_error ("message \"%s\" lacks \"%s\"", error->message, needle2);
  g_error_free (error);
}

/* Runs the reference kernel of @n (constant inputs) and compares with
 * @want within @tol relative (absolute below 1). */
static void
check_ref (AfNode *n, const float *want, float tol)
{
  float **in = g_new0 (float *, MAX (n->n_in, 1));
  for (guint i = 0; i < n->n_in; i++) {
    in[i] = g_new (float, MAX (af__shape_numel (&n->in[i]->shape), 1));
    af__tensor_read_f32 (n->in[i], in[i]);
  }
  gint64 numel = af__shape_numel (&n->out->shape);
  float *out = g_new (float, numel + 1);
  out[numel] = 12345.f; /* guard */
  af_op_info[n->op].ref (n, (const float *const *) in, out);
  g_assert_cmpfloat (out[numel], ==, 12345.f);
  for (gint64 i = 0; i < numel; i++) {
    double err = fabs ((double) out[i] - want[i]), scale = MAX (1.0, fabs (want[i]));
    if (!(err <= tol * scale) && !(isnan (want[i]) && isnan (out[i])))
      g_error ("%s: out[%" G_GINT64_FORMAT "] = %.9g, expected %.9g", af_op_info[n->op].name, i,
               out[i], want[i]);
  }
  for (guint i = 0; i < n->n_in; i++)
    g_free (in[i]);
  g_free (in);
  g_free (out);
}

/* ---------------------------------------------------------------- input */

/* An input node keeps its preset shape and copies its data; bad shapes fail. */
static void
case_input (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfNode *n = add (g, AF_OP_INPUT, NULL, NULL, 0);
  n->out->shape = SH (2, 3);
  g_assert_true (af_op_info[op].shape (n, NULL));
  float x[6] = { 1, -2, 3.5f, 0, 65504, -1 }, y[6];
  af_op_info[op].ref (n, (const float *const[]){ x }, y);
  g_assert_cmpmem (x, sizeof x, y, sizeof y);

  GError *error = NULL;
  n->out->shape = SH (2, 0);
  g_assert_false (af_op_info[op].shape (n, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "\"shape\""));
  g_clear_error (&error);
  n->out->shape = (AfShape){ 0 };
  g_assert_false (af_op_info[op].shape (n, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_SHAPE);
  g_clear_error (&error);
  af_graph_free (g);
}

/* The image port computes pixel * scale[c] + bias[c] and checks C against the pixel order. */
static void
case_image_input (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfNode *n = add (g, op, NULL, NULL, 0);
  n->out->shape = SH (1, 3, 1, 2);
  n->image = (AfImagePort){ AF_PIXEL_BGR, { 1, 2, 0.5f }, { 0, -1, 10 } };
  g_assert_true (af_op_info[op].shape (n, NULL));
  float x[6] = { 0, 255, 1, 2, 3, 4 }, y[6];
  af_op_info[op].ref (n, (const float *const[]){ x }, y);
  float want[6] = { 0, 255, 1, 3, 11.5f, 12 };
  g_assert_cmpmem (want, sizeof want, y, sizeof y);

  GError *error = NULL;
  n->image.order = AF_PIXEL_GRAY;
  g_assert_false (af_op_info[op].shape (n, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "GRAY"));
  g_clear_error (&error);
  n->image.order = AF_PIXEL_RGB;
  n->out->shape = SH (3, 32, 32);
  g_assert_false (af_op_info[op].shape (n, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_SHAPE);
  g_clear_error (&error);
  af_graph_free (g);
}

/* ---------------------------------------------------------------- conv */

/* Plain, padded+strided, dilated and grouped convolutions give hand-computed sums. */
static void
case_conv (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (1, 1, 3, 3), F (1, 2, 3, 4, 5, 6, 7, 8, 9));
  AfTensor *w = cst (g, "w", SH (1, 1, 2, 2), F (1, 0, 0, 1));
  AfTensor *b = cst (g, "b", SH (1), F (10));
  AfAttrs a = attrs (op);
  check_ref (node_ok (g, op, &a, SH (1, 1, 2, 2), IN (x, w, b)), F (16, 18, 22, 24), 0);

  AfTensor *ones3 = cst (g, "ones3", SH (1, 1, 3, 3), F (1, 1, 1, 1, 1, 1, 1, 1, 1));
  a.stride[0] = a.stride[1] = 2;
  a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
  check_ref (node_ok (g, op, &a, SH (1, 1, 2, 2), IN (x, ones3)), F (12, 16, 24, 28), 0);

  /* asymmetric pad: top 1, left 0, bottom 0, right 2, stride 1 -> [1,1,2,3] */
  a = attrs (op);
  a.pad[0] = 1, a.pad[3] = 2;
  check_ref (node_ok (g, op, &a, SH (1, 1, 2, 3), IN (x, ones3)), F (21, 16, 9, 45, 33, 18), 0);

  AfTensor *ones2 = cst (g, "ones2", SH (1, 1, 2, 2), F (1, 1, 1, 1));
  a = attrs (op);
  a.dilation[0] = a.dilation[1] = 2;
  check_ref (node_ok (g, op, &a, SH (1, 1, 1, 1), IN (x, ones2)), F (1 + 3 + 7 + 9), 0);

  /* groups 2: each output channel sees its own input channel */
  AfTensor *x2 = cst (g, "x2", SH (1, 2, 1, 2), F (1, 2, 3, 4));
  AfTensor *w2 = cst (g, "w2", SH (4, 1, 1, 1), F (2, -1, 3, 0.5f));
  a = attrs (op);
  a.groups = 2;
  check_ref (node_ok (g, op, &a, SH (1, 4, 1, 2), IN (x2, w2)), F (2, 4, -1, -2, 9, 12, 1.5f, 2),
             0);
  /* groups 1 over 2 channels and batch 2 */
  AfTensor *x3 = cst (g, "x3", SH (2, 2, 1, 1), F (1, 2, 3, 4));
  AfTensor *w3 = cst (g, "w3", SH (1, 2, 1, 1), F (10, 100));
  a = attrs (op);
  check_ref (node_ok (g, op, &a, SH (2, 1, 1, 1), IN (x3, w3)), F (210, 430), 0);
  af_graph_free (g);
}

/* conv_transpose scatters each pixel's kernel: stride 2 tiles it, stride 1
 * overlaps and sums, pads crop, groups keep channels apart, bias adds. */
static void
case_conv_transpose (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (1, 1, 2, 2), F (1, 2, 3, 4));
  AfTensor *ones = cst (g, "ones", SH (1, 1, 2, 2), F (1, 1, 1, 1));
  AfAttrs a = attrs (op);
  a.stride[0] = a.stride[1] = 2;
  check_ref (node_ok (g, op, &a, SH (1, 1, 4, 4), IN (x, ones)),
             F (1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4), 0);
  a = attrs (op);
  check_ref (node_ok (g, op, &a, SH (1, 1, 3, 3), IN (x, ones)), F (1, 3, 2, 4, 10, 6, 3, 7, 4), 0);
  /* pads crop [top, left, bottom, right]; the bias is added once per output */
  AfTensor *b = cst (g, "b", SH (1), F (10));
  a.pad[0] = 1, a.pad[1] = 0, a.pad[2] = 0, a.pad[3] = 1;
  check_ref (node_ok (g, op, &a, SH (1, 1, 2, 2), IN (x, ones, b)), F (14, 20, 13, 17), 0);
  /* an asymmetric kernel shows which way it is laid out: w[0, 0, ky, kx] */
  AfTensor *k = cst (g, "k", SH (1, 1, 1, 2), F (1, 10));
  a = attrs (op);
  check_ref (node_ok (g, op, &a, SH (1, 1, 2, 3), IN (x, k)), F (1, 12, 20, 3, 34, 40), 0);
  /* dilation 2 spreads the kernel taps */
  a.dilation[1] = 2;
  check_ref (node_ok (g, op, &a, SH (1, 1, 2, 4), IN (x, k)), F (1, 2, 10, 20, 3, 4, 30, 40), 0);
  /* w [C, O/groups, 1, 1]: groups 1 mixes channels, groups 2 keeps them apart */
  AfTensor *x2 = cst (g, "x2", SH (1, 2, 1, 1), F (1, 2));
  AfTensor *w2 = cst (g, "w2", SH (2, 2, 1, 1), F (1, 2, 3, 4));
  a = attrs (op);
  check_ref (node_ok (g, op, &a, SH (1, 2, 1, 1), IN (x2, w2)), F (7, 10), 0);
  AfTensor *w3 = cst (g, "w3", SH (2, 1, 1, 1), F (3, 5));
  a.groups = 2;
  check_ref (node_ok (g, op, &a, SH (1, 2, 1, 1), IN (x2, w3)), F (3, 10), 0);
  /* errors: weight channels, pads eating the output, a bias of the wrong size */
  a = attrs (op);
  node_err (g, op, &a, AF_ERROR_SHAPE, "input 1 \"w3\"", NULL, IN (x, w3));
  a.pad[0] = 2, a.pad[2] = 1;
  node_err (g, op, &a, AF_ERROR_SHAPE, "\"pad\"", NULL, IN (x, ones));
  a = attrs (op);
  node_err (g, op, &a, AF_ERROR_SHAPE, "input 2", NULL, IN (x2, w2, b));
  af_graph_free (g);
}

/* ---------------------------------------------------------------- matmul */

/* 2-D, rank-1 and broadcast-batch matmuls follow numpy. */
static void
case_matmul (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *a = cst (g, "a", SH (2, 3), F (1, 2, 3, 4, 5, 6));
  AfTensor *b = cst (g, "b", SH (3, 2), F (1, 2, 3, 4, 5, 6));
  check_ref (node_ok (g, op, NULL, SH (2, 2), IN (a, b)), F (22, 28, 49, 64), 0);
  AfTensor *v = cst (g, "v", SH (3), F (1, 0, -1));
  check_ref (node_ok (g, op, NULL, SH (2), IN (v, b)), F (-4, -4), 0);
  check_ref (node_ok (g, op, NULL, SH (2), IN (a, v)), F (-2, -2), 0);
  check_ref (node_ok (g, op, NULL, (AfShape){ 0 }, IN (v, v)), F (2), 0); /* [K] @ [K]: a scalar */
  af_graph_free (g);

  /* batch broadcast: [2,1,1,2] @ [3,2,1] -> [2,3,1,1] */
  g = af_graph_new ("t");
  AfTensor *p = cst (g, "p", SH (2, 1, 1, 2), F (1, 2, 3, 4));
  AfTensor *q = cst (g, "q", SH (3, 2, 1), F (1, 1, 1, -1, 0, 10));
  check_ref (node_ok (g, op, NULL, SH (2, 3, 1, 1), IN (p, q)), F (3, -1, 20, 7, -1, 40), 0);
  af_graph_free (g);
}

/* linear computes x . w^T + b over the last axis. */
static void
case_linear (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (2, 1, 3), F (1, 2, 3, 4, 5, 6));
  AfTensor *w = cst (g, "w", SH (2, 3), F (1, 0, 0, 1, 1, 1));
  AfTensor *b = cst (g, "b", SH (2), F (0.5f, -1));
  check_ref (node_ok (g, op, NULL, SH (2, 1, 2), IN (x, w, b)), F (1.5f, 5, 4.5f, 14), 0);
  check_ref (node_ok (g, op, NULL, SH (2, 1, 2), IN (x, w)), F (1, 6, 4, 15), 0);
  af_graph_free (g);
}

/* ---------------------------------------------------------------- binary */

static double
binary_naive (AfOp op, double a, double b)
{
  switch (op) {
  case AF_OP_ADD:
    return a + b;
  case AF_OP_SUB:
    return a - b;
  case AF_OP_MUL:
    return a * b;
  case AF_OP_DIV:
    return a / b;
  case AF_OP_MAXIMUM:
    return a > b ? a : b;
  case AF_OP_MINIMUM:
    return a < b ? a : b;
  default:
    g_assert_not_reached ();
  }
}

/* Binary ops broadcast [2,1,3] with [2,1] to [2,2,3], elementwise as numpy. */
static void
case_binary (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  float av[6] = { 1, -2, 3, 4, 5, -6 }, bv[2] = { 2, -0.5f };
  AfTensor *a = cst (g, "a", SH (2, 1, 3), av);
  AfTensor *b = cst (g, "b", SH (2, 1), bv);
  float want[12];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 3; k++)
        want[(i * 2 + j) * 3 + k] = (float) binary_naive (op, av[i * 3 + k], bv[j]);
  check_ref (node_ok (g, op, NULL, SH (2, 2, 3), IN (a, b)), want, 1e-7f);
  /* and the other way round, plus a scalar-like [1] */
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 3; k++)
        want[(i * 2 + j) * 3 + k] = (float) binary_naive (op, bv[j], av[i * 3 + k]);
  check_ref (node_ok (g, op, NULL, SH (2, 2, 3), IN (b, a)), want, 1e-7f);
  AfTensor *one = cst (g, "one", SH (1), F (4));
  for (int i = 0; i < 6; i++)
    want[i] = (float) binary_naive (op, av[i], 4);
  check_ref (node_ok (g, op, NULL, SH (2, 1, 3), IN (a, one)), want, 1e-7f);
  af_graph_free (g);
}

/* ---------------------------------------------------------------- unary */

static double
unary_naive (AfOp op, double x, double lo, double hi)
{
  switch (op) {
  case AF_OP_RELU:
    return x > 0 ? x : 0;
  case AF_OP_RELU6:
    return fmin (fmax (x, 0), 6);
  case AF_OP_CLIP:
    return fmin (fmax (x, lo), hi);
  case AF_OP_SIGMOID:
    return 1 / (1 + exp (-x));
  case AF_OP_TANH:
    return tanh (x);
  case AF_OP_SILU:
    return x / (1 + exp (-x));
  case AF_OP_GELU:
    return 0.5 * x * (1 + erf (x / sqrt (2)));
  case AF_OP_EXP:
    return exp (x);
  case AF_OP_HARDSWISH:
    return x <= -3 ? 0 : x >= 3 ? x : x * (x + 3) / 6;
  default:
    g_assert_not_reached ();
  }
}

/* Activations match their textbook formulas (in double) over a range of values. */
static void
case_unary (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  float xv[10] = { -8, -6.5f, -1, -0.5f, 0, 0.25f, 1, 3, 6.5f, 9 };
  AfTensor *x = cst (g, "x", SH (2, 5), xv);
  AfAttrs a = attrs (op);
  if (op == AF_OP_CLIP)
    a.min = -1, a.max = 2.5f;
  float want[10];
  for (int i = 0; i < 10; i++)
    want[i] = (float) unary_naive (op, xv[i], a.min, a.max);
  check_ref (node_ok (g, op, &a, SH (2, 5), IN (x)), want, 2e-6f);
  if (op == AF_OP_RELU)
    check_ref (node_ok (g, op, &a, SH (2, 5), IN (x)), F (0, 0, 0, 0, 0, 0.25f, 1, 3, 6.5f, 9), 0);
  if (op == AF_OP_HARDSWISH) /* 0 below -3, x above 3, x (x + 3) / 6 between */
    check_ref (node_ok (g, op, &a, SH (2, 5), IN (x)),
               F (0, 0, -1.0f / 3, -0.5f * 2.5f / 6, 0, 0.25f * 3.25f / 6, 4.0f / 6, 3, 6.5f, 9),
               1e-7f);
  if (op == AF_OP_GELU) /* known values: gelu(1) = 0.8413447, gelu(-1) = -0.1586553 */
    check_ref (node_ok (g, op, &a, SH (1), IN (cst (g, "one", SH (1), F (1)))), F (0.8413447f),
               1e-6f);
  af_graph_free (g);
}

/* fake_quant rounds to multiples of step (ties away from zero) and clamps;
 * a step that is not finite and positive is refused. */
static void
case_fake_quant (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (2, 4), F (-3, -0.3f, -0.25f, -0.24f, 0.24f, 0.25f, 0.76f, 2.49f));
  AfAttrs a = attrs (op);
  a.step = 0.5f, a.min = -1, a.max = 2;
  check_ref (node_ok (g, op, &a, SH (2, 4), IN (x)), F (-1, -0.5f, -0.5f, 0, 0, 0.5f, 1, 2), 0);
  a.step = 0;
  node_err (g, op, &a, AF_ERROR_INVALID, "\"step\"", NULL, IN (x));
  a.step = NAN;
  node_err (g, op, &a, AF_ERROR_INVALID, "\"step\"", NULL, IN (x));
  a.step = 1, a.min = 1, a.max = 0;
  node_err (g, op, &a, AF_ERROR_INVALID, "\"min\"", NULL, IN (x));
  af_graph_free (g);
}

/* ---------------------------------------------------------------- reduce */

/* Reductions over chosen axes (negative ones too), all axes, keepdims both ways. */
static void
case_reduce (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (2, 3, 2), F (1, -2, 3, 4, 5, -6, 7, 8, -9, 10, 11, 12));
  AfAttrs a = attrs (op);
  a.n_axes = 1, a.axes[0] = 1;
  float want_sum[4] = { 9, -4, 9, 30 }, want_max[4] = { 5, 4, 11, 12 },
        want_min[4] = { 1, -6, -9, 8 }, want[4];
  for (int i = 0; i < 4; i++)
    want[i] = op == AF_OP_SUM    ? want_sum[i]
              : op == AF_OP_MEAN ? want_sum[i] / 3
              : op == AF_OP_AMAX ? want_max[i]
                                 : want_min[i];
  check_ref (node_ok (g, op, &a, SH (2, 1, 2), IN (x)), want, 1e-7f);

  /* axes (-1, 0), no keepdims -> [3]: pairs summed over the first and last axis */
  a.n_axes = 2, a.axes[0] = -1, a.axes[1] = 0, a.keepdims = FALSE;
  float s3[3] = { 1 - 2 + 7 + 8, 3 + 4 - 9 + 10, 5 - 6 + 11 + 12 };
  float mx3[3] = { 8, 10, 12 }, mn3[3] = { -2, -9, -6 };
  for (int i = 0; i < 3; i++)
    want[i] = op == AF_OP_SUM    ? s3[i]
              : op == AF_OP_MEAN ? s3[i] / 4
              : op == AF_OP_AMAX ? mx3[i]
                                 : mn3[i];
  check_ref (node_ok (g, op, &a, SH (3), IN (x)), want, 1e-7f);

  /* all axes */
  a.n_axes = 0, a.keepdims = TRUE;
  want[0] = op == AF_OP_SUM ? 44 : op == AF_OP_MEAN ? 44.f / 12 : op == AF_OP_AMAX ? 12 : -9;
  check_ref (node_ok (g, op, &a, SH (1, 1, 1), IN (x)), want, 1e-7f);

  /* fp32 accumulation: 16384 ones sum exactly (fp16 would stall at 2048),
   * and a +1 beside 16000 survives */
  float *ones = g_new (float, 16384);
  for (int i = 0; i < 16384; i++)
    ones[i] = 1;
  ones[0] = 16000;
  AfTensor *o = cst (g, "ones", SH (16384), ones);
  a.n_axes = 0, a.keepdims = FALSE;
  want[0] = op == AF_OP_SUM    ? 16000 + 16383
            : op == AF_OP_MEAN ? (16000.f + 16383) / 16384
            : op == AF_OP_AMAX ? 16000
                               : 1;
  check_ref (node_ok (g, op, &a, (AfShape){ 0 }, IN (o)), want, 0);
  g_free (ones);
  af_graph_free (g);
}

/* softmax over the last and the first axis; huge logits stay finite (max subtracted). */
static void
case_softmax (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (2, 3), F (0, 1, 2, 1000, 1000, 1000));
  double e0 = 1, e1 = exp (1), e2 = exp (2), s = e0 + e1 + e2;
  check_ref (node_ok (g, op, NULL, SH (2, 3), IN (x)),
             F ((float) (e0 / s), (float) (e1 / s), (float) (e2 / s), 1.f / 3, 1.f / 3, 1.f / 3),
             1e-6f);
  AfAttrs a = attrs (op);
  a.axis = 0;
  AfTensor *y = cst (g, "y", SH (2, 2), F (0, 5, 1, 5));
  double p = 1 / (1 + exp (1));
  check_ref (node_ok (g, op, &a, SH (2, 2), IN (y)), F ((float) p, 0.5f, (float) (1 - p), 0.5f),
             1e-6f);
  af_graph_free (g);
}

/* ---------------------------------------------------------------- norm */

/* batch_norm normalizes each channel with its own statistics. */
static void
case_batch_norm (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (2, 2, 2), F (1, 3, 10, 20, 5, 7, -10, 0));
  AfTensor *sc = cst (g, "scale", SH (2), F (2, 0.5f));
  AfTensor *bi = cst (g, "bias", SH (2), F (1, -1));
  AfTensor *mu = cst (g, "mean", SH (2), F (3, 10));
  AfTensor *var = cst (g, "var", SH (2), F (4, 100));
  AfAttrs a = attrs (op);
  a.eps = 0;
  /* channel 0: (x - 3) / 2 * 2 + 1 = x - 2; channel 1: (x - 10) / 10 * 0.5 - 1 */
  check_ref (node_ok (g, op, &a, SH (2, 2, 2), IN (x, sc, bi, mu, var)),
             F (-1, 1, -1, -0.5f, 3, 5, -2, -1.5f), 1e-7f);
  a.eps = 5; /* var 4 + 5 = 9: channel 0 becomes (x - 3) / 3 * 2 + 1 */
  float want0 = (1 - 3) / 3.f * 2 + 1;
  AfNode *n = node_ok (g, op, &a, SH (2, 2, 2), IN (x, sc, bi, mu, var));
  float *in[5];
  for (int i = 0; i < 5; i++) {
    in[i] = g_new (float, 8);
    af__tensor_read_f32 (n->in[i], in[i]);
  }
  float out[8];
  af_op_info[op].ref (n, (const float *const *) in, out);
  g_assert_cmpfloat_with_epsilon (out[0], want0, 1e-6);
  for (int i = 0; i < 5; i++)
    g_free (in[i]);
  af_graph_free (g);
}

/* ---------------------------------------------------------------- pool */

/* max_pool: plain, ceil_mode (ONNX drop rule), padded (pads ignored) and global windows. */
static void
case_max_pool (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (1, 1, 4, 4), NULL);
  AfAttrs a = attrs (op);
  a.kernel[0] = a.kernel[1] = 2, a.stride[0] = a.stride[1] = 2;
  check_ref (node_ok (g, op, &a, SH (1, 1, 2, 2), IN (x)), F (5, 7, 13, 15), 0);

  AfTensor *x5 = cst (g, "x5", SH (1, 1, 5, 5), NULL);
  check_ref (node_ok (g, op, &a, SH (1, 1, 2, 2), IN (x5)), F (6, 8, 16, 18), 0);
  a.ceil_mode = TRUE;
  check_ref (node_ok (g, op, &a, SH (1, 1, 3, 3), IN (x5)), F (6, 8, 9, 16, 18, 19, 21, 23, 24), 0);

  /* 3x3 with pad 1, kernel 2, stride 2, ceil: a third window would start in
   * the bottom pad, so it is dropped: 2x2. Negative values: pads never win. */
  AfTensor *neg = cst (g, "neg", SH (1, 1, 3, 3), F (-1, -2, -3, -4, -5, -6, -7, -8, -9));
  a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
  check_ref (node_ok (g, op, &a, SH (1, 1, 2, 2), IN (neg)), F (-1, -2, -4, -5), 0);

  a = attrs (op);
  a.global = TRUE;
  AfTensor *x2 = cst (g, "x2", SH (1, 2, 2, 3), F (1, 9, 2, 3, 4, 5, -1, -7, -3, -4, -5, -6));
  check_ref (node_ok (g, op, &a, SH (1, 2, 1, 1), IN (x2)), F (9, -1), 0);
  af_graph_free (g);
}

/* avg_pool: plain, padded with and without counting the pads, ceil windows, global. */
static void
case_avg_pool (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (1, 1, 4, 4), NULL);
  AfAttrs a = attrs (op);
  a.kernel[0] = a.kernel[1] = 2, a.stride[0] = a.stride[1] = 2;
  check_ref (node_ok (g, op, &a, SH (1, 1, 2, 2), IN (x)), F (2.5f, 4.5f, 10.5f, 12.5f), 0);

  /* values 0..8, kernel 3, stride 1, pad 1: corner (0,0)
   * sums 0+1+3+4 = 8 over 4 cells, or over 9 counting the pads */
  AfTensor *x3 = cst (g, "x3", SH (1, 1, 3, 3), NULL);
  a = attrs (op);
  a.kernel[0] = a.kernel[1] = 3;
  a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
  check_ref (
      node_ok (g, op, &a, SH (1, 1, 3, 3), IN (x3)),
      F (8 / 4.f, 15 / 6.f, 12 / 4.f, 21 / 6.f, 36 / 9.f, 27 / 6.f, 20 / 4.f, 33 / 6.f, 24 / 4.f),
      1e-6f);
  a.count_include_pad = TRUE;
  check_ref (
      node_ok (g, op, &a, SH (1, 1, 3, 3), IN (x3)),
      F (8 / 9.f, 15 / 9.f, 12 / 9.f, 21 / 9.f, 36 / 9.f, 27 / 9.f, 20 / 9.f, 33 / 9.f, 24 / 9.f),
      1e-6f);

  /* ceil: 5 wide, kernel 2, stride 2 -> windows {0,1} {2,3} {4}; the last
   * one is cut at the input edge (no pads to count) */
  AfTensor *row = cst (g, "row", SH (1, 1, 1, 5), F (1, 3, 5, 7, 9));
  a = attrs (op);
  a.kernel[0] = 1, a.kernel[1] = 2, a.stride[1] = 2, a.ceil_mode = TRUE;
  check_ref (node_ok (g, op, &a, SH (1, 1, 1, 3), IN (row)), F (2, 6, 9), 0);
  a.count_include_pad = TRUE;
  check_ref (node_ok (g, op, &a, SH (1, 1, 1, 3), IN (row)), F (2, 6, 9), 0);

  a = attrs (op);
  a.global = TRUE;
  AfTensor *x2 = cst (g, "x2", SH (2, 1, 2, 2), F (1, 2, 3, 4, -4, 0, 0, 0));
  check_ref (node_ok (g, op, &a, SH (2, 1, 1, 1), IN (x2)), F (2.5f, -1), 0);
  af_graph_free (g);
}

/* ---------------------------------------------------------------- layout */

/* concat joins along axis 1 (default) and along a negative axis. */
static void
case_concat (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *a = cst (g, "a", SH (2, 2, 1), F (1, 2, 3, 4));
  AfTensor *b = cst (g, "b", SH (2, 1, 1), F (5, 6));
  check_ref (node_ok (g, op, NULL, SH (2, 5, 1), IN (a, b, a)), F (1, 2, 5, 1, 2, 3, 4, 6, 3, 4),
             0);
  AfAttrs at = attrs (op);
  at.axis = -1;
  check_ref (node_ok (g, op, &at, SH (2, 2, 2), IN (a, a)), F (1, 1, 2, 2, 3, 3, 4, 4), 0);
  check_ref (node_ok (g, op, &at, SH (2, 2, 1), IN (a)), F (1, 2, 3, 4), 0);
  af_graph_free (g);
}

/* reshape infers -1, copies 0 and keeps the data order. */
static void
case_reshape (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (2, 3, 2), NULL);
  AfAttrs a = attrs (op);
  a.n_shape = 2, a.shape[0] = 0, a.shape[1] = -1;
  check_ref (node_ok (g, op, &a, SH (2, 6), IN (x)), F (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 0);
  a.n_shape = 4, a.shape[0] = 3, a.shape[1] = 1, a.shape[2] = -1, a.shape[3] = 2;
  node_ok (g, op, &a, SH (3, 1, 2, 2), IN (x));
  af_graph_free (g);
}

/* transpose permutes axes (reversed by default) and moves the data. */
static void
case_transpose (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (2, 3), NULL);
  check_ref (node_ok (g, op, NULL, SH (3, 2), IN (x)), F (0, 3, 1, 4, 2, 5), 0);
  AfTensor *y = cst (g, "y", SH (2, 3, 2), NULL);
  AfAttrs a = attrs (op);
  a.n_perm = 3, a.perm[0] = 1, a.perm[1] = 2, a.perm[2] = 0;
  float want[12];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 2; k++)
        want[(i * 2 + j) * 2 + k] = (float) ((k * 3 + i) * 2 + j); /* out[i,j,k] = y[k,i,j] */
  check_ref (node_ok (g, op, &a, SH (3, 2, 2), IN (y)), want, 0);
  af_graph_free (g);
}

/* upsample repeats each pixel scale_h x scale_w times. */
static void
case_upsample (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (1, 1, 2, 2), F (1, 2, 3, 4));
  AfAttrs a = attrs (op);
  a.scale[0] = 2, a.scale[1] = 3;
  check_ref (node_ok (g, op, &a, SH (1, 1, 4, 6), IN (x)),
             F (1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4), 0);
  a.scale[0] = 1, a.scale[1] = 1;
  check_ref (node_ok (g, op, &a, SH (1, 1, 2, 2), IN (x)), F (1, 2, 3, 4), 0);
  af_graph_free (g);
}

/* resize_bilinear in TensorFlow's three coordinate modes, and its errors. */
static void
case_resize_bilinear (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (1, 1, 2, 2), F (0, 1, 2, 3));
  AfAttrs a = attrs (op);
  a.size[0] = a.size[1] = 3;
  a.align_corners = TRUE; /* grid 0, 0.5, 1 */
  check_ref (node_ok (g, op, &a, SH (1, 1, 3, 3), IN (x)), F (0, 0.5f, 1, 1, 1.5f, 2, 2, 2.5f, 3),
             0);
  a.align_corners = FALSE;
  a.half_pixel = TRUE; /* (i + 0.5) / 2 - 0.5, clamped: 0, 0.25, 0.75, 1 */
  a.size[0] = a.size[1] = 4;
  float hp[4] = { 0, 0.25f, 0.75f, 1 }, want[16];
  for (int y = 0; y < 4; y++)
    for (int i = 0; i < 4; i++)
      want[y * 4 + i] = 2 * hp[y] + hp[i];
  check_ref (node_ok (g, op, &a, SH (1, 1, 4, 4), IN (x)), want, 0);
  a.half_pixel = FALSE; /* asymmetric: i / 2, clamped: 0, 0.5, 1, 1 */
  a.size[0] = 1;
  check_ref (node_ok (g, op, &a, SH (1, 1, 1, 4), IN (x)), F (0, 0.5f, 1, 1), 0);
  /* downscaling by 2 in half_pixel mode averages 2x2 blocks */
  AfTensor *big = cst (g, "big", SH (1, 2, 2, 4), NULL);
  a.half_pixel = TRUE;
  a.size[0] = 1, a.size[1] = 2;
  check_ref (node_ok (g, op, &a, SH (1, 2, 1, 2), IN (big)), F (2.5f, 4.5f, 10.5f, 12.5f), 0);
  a.align_corners = TRUE;
  node_err (g, op, &a, AF_ERROR_INVALID, "\"align_corners\"", "\"half_pixel\"", IN (x));
  a = attrs (op);
  a.size[0] = 0, a.size[1] = 2;
  node_err (g, op, &a, AF_ERROR_INVALID, "\"size\"", NULL, IN (x));
  AfTensor *v = cst (g, "v", SH (4), NULL);
  a.size[0] = 2;
  node_err (g, op, &a, AF_ERROR_SHAPE, "input 0 \"v\"", "rank 4", IN (v));
  af_graph_free (g);
}

/* ---------------------------------------------------------------- bridge */

/* argmax returns the first index of the maximum as a value, keepdims both ways. */
static void
case_argmax (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (2, 4), F (1, 7, 7, -1, -5, -6, -5, -9));
  AfAttrs a = attrs (op);
  check_ref (node_ok (g, op, &a, SH (2, 1), IN (x)), F (1, 0), 0);
  a.axis = 0, a.keepdims = FALSE;
  check_ref (node_ok (g, op, &a, SH (4), IN (x)), F (0, 0, 0, 0), 0);
  AfTensor *y = cst (g, "y", SH (2, 2), F (1, 5, 3, 4));
  check_ref (node_ok (g, op, &a, SH (2), IN (y)), F (1, 0), 0);
  af_graph_free (g);
}

/* topk gives the k largest descending, ties to the lower index, values or indices. */
static void
case_topk (AfOp op)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (2, 5), F (3, 1, 3, 5, 2, -1, -2, -3, -4, -5));
  AfAttrs a = attrs (op);
  a.k = 3;
  check_ref (node_ok (g, op, &a, SH (2, 3), IN (x)), F (5, 3, 3, -1, -2, -3), 0);
  a.indices = TRUE;
  check_ref (node_ok (g, op, &a, SH (2, 3), IN (x)), F (3, 0, 2, 0, 1, 2), 0);
  a.axis = 0, a.k = 2;
  check_ref (node_ok (g, op, &a, SH (2, 5), IN (x)), F (0, 0, 0, 0, 0, 1, 1, 1, 1, 1), 0);
  af_graph_free (g);
}

/* ---------------------------------------------------------------- table */

typedef struct {
  AfOp op;
  void (*fn) (AfOp op);
} OpCase;

static const OpCase op_cases[] = {
  { AF_OP_INPUT, case_input },
  { AF_OP_IMAGE_INPUT, case_image_input },
  { AF_OP_CONV, case_conv },
  { AF_OP_CONV_TRANSPOSE, case_conv_transpose },
  { AF_OP_MATMUL, case_matmul },
  { AF_OP_LINEAR, case_linear },
  { AF_OP_ADD, case_binary },
  { AF_OP_SUB, case_binary },
  { AF_OP_MUL, case_binary },
  { AF_OP_DIV, case_binary },
  { AF_OP_MAXIMUM, case_binary },
  { AF_OP_MINIMUM, case_binary },
  { AF_OP_RELU, case_unary },
  { AF_OP_RELU6, case_unary },
  { AF_OP_CLIP, case_unary },
  { AF_OP_SIGMOID, case_unary },
  { AF_OP_TANH, case_unary },
  { AF_OP_SILU, case_unary },
  { AF_OP_GELU, case_unary },
  { AF_OP_EXP, case_unary },
  { AF_OP_HARDSWISH, case_unary },
  { AF_OP_FAKE_QUANT, case_fake_quant },
  { AF_OP_MEAN, case_reduce },
  { AF_OP_SUM, case_reduce },
  { AF_OP_AMAX, case_reduce },
  { AF_OP_AMIN, case_reduce },
  { AF_OP_SOFTMAX, case_softmax },
  { AF_OP_BATCH_NORM, case_batch_norm },
  { AF_OP_MAX_POOL, case_max_pool },
  { AF_OP_AVG_POOL, case_avg_pool },
  { AF_OP_CONCAT, case_concat },
  { AF_OP_RESHAPE, case_reshape },
  { AF_OP_TRANSPOSE, case_transpose },
  { AF_OP_UPSAMPLE, case_upsample },
  { AF_OP_RESIZE_BILINEAR, case_resize_bilinear },
  { AF_OP_ARGMAX, case_argmax },
  { AF_OP_TOPK, case_topk },
};

static void
run_case (gconstpointer data)
{
  const OpCase *c = data;
  c->fn (c->op);
}

/* Every op in ops.def has a reference case here (adding an op without one fails). */
static void
test_coverage (void)
{
  for (int op = 0; op < AF_OP_COUNT; op++) {
    gboolean found = FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS (op_cases); i++)
      found |= op_cases[i].op == (AfOp) op;
    if (!found)
      g_error ("op \"%s\" has no case in test-ops-ref.c", af_op_info[op].name);
  }
}

/* ---------------------------------------------------------------- errors */

/* conv rejects a weight whose channels do not match the input, naming the weight. */
static void
test_err_conv (void)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (1, 3, 8, 8), NULL);
  AfTensor *w = cst (g, "conv2.weight", SH (64, 2, 3, 3), NULL);
  AfTensor *w3 = cst (g, "conv3.weight", SH (64, 3, 3, 3), NULL);
  AfTensor *b = cst (g, "conv2.bias", SH (32), NULL);
  node_err (g, AF_OP_CONV, NULL, AF_ERROR_SHAPE, "input 1 \"conv2.weight\"", "[64, 3, KH, KW]",
            IN (x, w));
  node_err (g, AF_OP_CONV, NULL, AF_ERROR_SHAPE,
            "input 2 \"conv2.bias\" has shape [32], expected [64]", NULL, IN (x, w3, b));
  AfAttrs a = attrs (AF_OP_CONV);
  a.groups = 2;
  node_err (g, AF_OP_CONV, &a, AF_ERROR_INVALID, "\"groups\"", NULL, IN (x, w3));
  a = attrs (AF_OP_CONV);
  a.stride[1] = 0;
  node_err (g, AF_OP_CONV, &a, AF_ERROR_INVALID, "\"stride\"", NULL, IN (x, w3));
  a = attrs (AF_OP_CONV);
  a.pad[2] = -1;
  node_err (g, AF_OP_CONV, &a, AF_ERROR_INVALID, "\"pad\"", NULL, IN (x, w3));
  AfTensor *big = cst (g, "big.weight", SH (4, 3, 9, 1), NULL);
  node_err (g, AF_OP_CONV, NULL, AF_ERROR_SHAPE, "\"big.weight\"", NULL, IN (x, big));
  node_err (g, AF_OP_CONV, NULL, AF_ERROR_SHAPE, "input 0 \"conv2.bias\"", "rank 4", IN (b, w3));
  af_graph_free (g);
}

/* matmul and linear reject mismatched inner dims, batch dims and bias shapes. */
static void
test_err_matmul (void)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *a = cst (g, "a", SH (2, 3), NULL);
  AfTensor *b = cst (g, "b", SH (4, 2), NULL);
  node_err (g, AF_OP_MATMUL, NULL, AF_ERROR_SHAPE, "input 1 \"b\"", NULL, IN (a, b));
  AfTensor *p = cst (g, "p", SH (2, 2, 3), NULL), *q = cst (g, "q", SH (3, 3, 1), NULL);
  node_err (g, AF_OP_MATMUL, NULL, AF_ERROR_SHAPE, "broadcast", "\"q\"", IN (p, q));
  AfTensor *w = cst (g, "fc.weight", SH (5, 4), NULL), *bias = cst (g, "fc.bias", SH (4), NULL);
  node_err (g, AF_OP_LINEAR, NULL, AF_ERROR_SHAPE, "input 1 \"fc.weight\"", "[5, 3]", IN (a, w));
  AfTensor *w2 = cst (g, "fc2.weight", SH (5, 3), NULL);
  node_err (g, AF_OP_LINEAR, NULL, AF_ERROR_SHAPE,
            "input 2 \"fc.bias\" has shape [4], expected [5]", NULL, IN (a, w2, bias));
  af_graph_free (g);
}

/* Binary ops reject shapes that do not broadcast, naming both inputs. */
static void
test_err_broadcast (void)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *a = cst (g, "a", SH (2, 3), NULL), *b = cst (g, "b", SH (2), NULL);
  node_err (g, AF_OP_ADD, NULL, AF_ERROR_SHAPE, "input 1 \"b\" has shape [2]", "\"a\" [2, 3]",
            IN (a, b));
  af_graph_free (g);
}

/* Reductions, softmax, concat, argmax and topk reject bad axes. */
static void
test_err_axis (void)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (2, 3, 4), NULL);
  AfAttrs a = attrs (AF_OP_SUM);
  a.n_axes = 1, a.axes[0] = 3;
  node_err (g, AF_OP_SUM, &a, AF_ERROR_INVALID, "attribute \"axes\": 3 is out of range", NULL,
            IN (x));
  a.n_axes = 2, a.axes[0] = 1, a.axes[1] = -2;
  node_err (g, AF_OP_MEAN, &a, AF_ERROR_INVALID, "\"axes\"", "twice", IN (x));
  a = attrs (AF_OP_SOFTMAX);
  a.axis = -4;
  node_err (g, AF_OP_SOFTMAX, &a, AF_ERROR_INVALID, "attribute \"axis\": -4", NULL, IN (x));
  a = attrs (AF_OP_ARGMAX);
  a.axis = 5;
  node_err (g, AF_OP_ARGMAX, &a, AF_ERROR_INVALID, "attribute \"axis\"", NULL, IN (x));
  a = attrs (AF_OP_CONCAT);
  a.axis = 3;
  node_err (g, AF_OP_CONCAT, &a, AF_ERROR_INVALID, "attribute \"axis\"", NULL, IN (x, x));
  af_graph_free (g);
}

/* Other attribute errors: clip bounds, batch_norm eps and statistics, pool pads, upsample scale. */
static void
test_err_attrs (void)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (1, 2, 4, 4), NULL);
  AfAttrs a = attrs (AF_OP_CLIP);
  a.min = 3, a.max = 1;
  node_err (g, AF_OP_CLIP, &a, AF_ERROR_INVALID, "\"min\"", "\"max\"", IN (x));
  AfTensor *c2 = cst (g, "bn.scale", SH (2), NULL), *c3 = cst (g, "bn.var", SH (3), NULL);
  node_err (g, AF_OP_BATCH_NORM, NULL, AF_ERROR_SHAPE,
            "input 4 \"bn.var\" has shape [3], expected [2]", NULL, IN (x, c2, c2, c2, c3));
  a = attrs (AF_OP_BATCH_NORM);
  a.eps = -1;
  node_err (g, AF_OP_BATCH_NORM, &a, AF_ERROR_INVALID, "\"eps\"", NULL, IN (x, c2, c2, c2, c2));
  a = attrs (AF_OP_MAX_POOL);
  a.kernel[0] = a.kernel[1] = 2, a.pad[0] = 2;
  node_err (g, AF_OP_MAX_POOL, &a, AF_ERROR_INVALID, "\"pad\"", NULL, IN (x));
  a = attrs (AF_OP_AVG_POOL);
  a.kernel[0] = 5, a.kernel[1] = 1;
  node_err (g, AF_OP_AVG_POOL, &a, AF_ERROR_SHAPE, "input 0 \"x\"", NULL, IN (x));
  a.kernel[0] = 0;
  node_err (g, AF_OP_AVG_POOL, &a, AF_ERROR_INVALID, "\"kernel\"", NULL, IN (x));
  a = attrs (AF_OP_UPSAMPLE);
  a.scale[1] = 0;
  node_err (g, AF_OP_UPSAMPLE, &a, AF_ERROR_INVALID, "\"scale\"", NULL, IN (x));
  AfTensor *v = cst (g, "v", SH (4), NULL);
  node_err (g, AF_OP_UPSAMPLE, NULL, AF_ERROR_SHAPE, "input 0 \"v\"", "rank 4", IN (v));
  node_err (g, AF_OP_MAX_POOL, NULL, AF_ERROR_SHAPE, "input 0 \"v\"", "rank 4", IN (v));
  af_graph_free (g);
}

/* reshape rejects element-count mismatches and bad entries, naming the attribute. */
static void
test_err_reshape (void)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (2, 3, 4), NULL);
  AfAttrs a = attrs (AF_OP_RESHAPE);
  a.n_shape = 2, a.shape[0] = 5, a.shape[1] = -1;
  node_err (g, AF_OP_RESHAPE, &a, AF_ERROR_SHAPE, "attribute \"shape\": [5, -1] does not fit",
            "\"x\"", IN (x));
  a.shape[0] = 5, a.shape[1] = 5;
  node_err (g, AF_OP_RESHAPE, &a, AF_ERROR_SHAPE, "\"shape\"", "24 elements", IN (x));
  a.shape[0] = -1, a.shape[1] = -1;
  node_err (g, AF_OP_RESHAPE, &a, AF_ERROR_INVALID, "\"shape\"", NULL, IN (x));
  a.n_shape = 4, a.shape[0] = 0, a.shape[1] = 0, a.shape[2] = 0, a.shape[3] = 0;
  node_err (g, AF_OP_RESHAPE, &a, AF_ERROR_INVALID, "\"shape\"", NULL, IN (x));
  a.n_shape = 0;
  node_err (g, AF_OP_RESHAPE, &a, AF_ERROR_INVALID, "\"shape\"", "missing", IN (x));
  af_graph_free (g);
}

/* transpose rejects a perm that is not a permutation of the input's axes. */
static void
test_err_perm (void)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (1, 2, 3, 4), NULL);
  AfAttrs a = attrs (AF_OP_TRANSPOSE);
  a.n_perm = 2, a.perm[0] = 0, a.perm[1] = 2;
  node_err (g, AF_OP_TRANSPOSE, &a, AF_ERROR_INVALID,
            "attribute \"perm\": [0, 2] is not a permutation of 4 axes", NULL, IN (x));
  a.n_perm = 4, a.perm[0] = 0, a.perm[1] = 1, a.perm[2] = 1, a.perm[3] = 3;
  node_err (g, AF_OP_TRANSPOSE, &a, AF_ERROR_INVALID, "\"perm\"", NULL, IN (x));
  a.perm[2] = 4;
  node_err (g, AF_OP_TRANSPOSE, &a, AF_ERROR_INVALID, "\"perm\"", NULL, IN (x));
  af_graph_free (g);
}

/* concat rejects inputs that differ outside the axis or in rank, naming the odd input. */
static void
test_err_concat (void)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *a = cst (g, "a", SH (1, 3, 4, 4), NULL), *b = cst (g, "b", SH (1, 2, 4, 5), NULL);
  AfTensor *c = cst (g, "c", SH (1, 2, 4), NULL);
  node_err (g, AF_OP_CONCAT, NULL, AF_ERROR_SHAPE, "input 2 \"b\" has shape [1, 2, 4, 5]",
            "expected [1, 2, 4, 4]", IN (a, a, b));
  node_err (g, AF_OP_CONCAT, NULL, AF_ERROR_SHAPE, "input 1 \"c\"", NULL, IN (a, c));
  af_graph_free (g);
}

/* topk rejects k above the axis size; argmax/topk reject axes above AF_MAX_BRIDGE_AXIS (LIMIT). */
static void
test_err_bridge (void)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (2, 5), NULL);
  AfAttrs a = attrs (AF_OP_TOPK);
  a.k = 6;
  node_err (g, AF_OP_TOPK, &a, AF_ERROR_INVALID, "attribute \"k\": 6", NULL, IN (x));
  a.k = 0;
  node_err (g, AF_OP_TOPK, &a, AF_ERROR_INVALID, "attribute \"k\": 0", NULL, IN (x));
  AfTensor *big = cst (g, "logits", SH (1, AF_MAX_BRIDGE_AXIS + 1), NULL);
  node_err (g, AF_OP_ARGMAX, NULL, AF_ERROR_LIMIT, "\"logits\"", "2048", IN (big));
  a.k = 1;
  node_err (g, AF_OP_TOPK, &a, AF_ERROR_LIMIT, "\"axis\"", "2048", IN (big));
  AfTensor *ok = cst (g, "ok", SH (1, AF_MAX_BRIDGE_AXIS), NULL);
  node_ok (g, AF_OP_ARGMAX, NULL, SH (1, 1), IN (ok));
  af_graph_free (g);
}

/* ---------------------------------------------------------------- costs */

/* Costs count a multiply-add as 2 flops and 2 bytes per element read or written. */
static void
test_cost (void)
{
  AfGraph *g = af_graph_new ("t");
  AfTensor *x = cst (g, "x", SH (1, 3, 8, 8), NULL);
  AfTensor *w = cst (g, "w", SH (4, 3, 3, 3), NULL), *b = cst (g, "b", SH (4), NULL);
  AfNode *n = node_ok (g, AF_OP_CONV, NULL, SH (1, 4, 6, 6), IN (x, w, b));
  AfCost c;
  af_op_info[AF_OP_CONV].cost (n, &c);
  g_assert_cmpfloat (c.flops, ==, 2.0 * 144 * 27 + 144);
  g_assert_cmpfloat (c.bytes, ==, 2.0 * (192 + 108 + 4 + 144));

  AfTensor *m = cst (g, "m", SH (5, 7), NULL), *k = cst (g, "k", SH (7, 2), NULL);
  n = node_ok (g, AF_OP_MATMUL, NULL, SH (5, 2), IN (m, k));
  af_op_info[AF_OP_MATMUL].cost (n, &c);
  g_assert_cmpfloat (c.flops, ==, 2.0 * 5 * 2 * 7);
  g_assert_cmpfloat (c.bytes, ==, 2.0 * (35 + 14 + 10));

  n = node_ok (g, AF_OP_ADD, NULL, SH (1, 3, 8, 8), IN (x, cst (g, "s", SH (1), NULL)));
  af_op_info[AF_OP_ADD].cost (n, &c);
  g_assert_cmpfloat (c.flops, ==, 192);
  g_assert_cmpfloat (c.bytes, ==, 2.0 * (192 + 1 + 192));

  n = node_ok (g, AF_OP_TRANSPOSE, NULL, SH (8, 8, 3, 1), IN (x));
  af_op_info[AF_OP_TRANSPOSE].cost (n, &c);
  g_assert_cmpfloat (c.flops, ==, 0);
  g_assert_cmpfloat (c.bytes, ==, 2.0 * 384);
  af_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (op_cases); i++) {
    char *path = g_strdup_printf ("/ops/ref/%s", af_op_info[op_cases[i].op].name);
    g_test_add_data_func (path, &op_cases[i], run_case);
    g_free (path);
  }
  g_test_add_func ("/ops/coverage", test_coverage);
  g_test_add_func ("/ops/errors/conv", test_err_conv);
  g_test_add_func ("/ops/errors/matmul", test_err_matmul);
  g_test_add_func ("/ops/errors/broadcast", test_err_broadcast);
  g_test_add_func ("/ops/errors/axis", test_err_axis);
  g_test_add_func ("/ops/errors/attrs", test_err_attrs);
  g_test_add_func ("/ops/errors/reshape", test_err_reshape);
  g_test_add_func ("/ops/errors/perm", test_err_perm);
  g_test_add_func ("/ops/errors/concat", test_err_concat);
  g_test_add_func ("/ops/errors/bridge", test_err_bridge);
  g_test_add_func ("/ops/cost", test_cost);
  return g_test_run ();
}
