/* test-ops-backend.c — every op compiled alone (public builder API, random
 * and odd shapes, seeded) and run with af_model_run, against the reference
 * kernel applied to the fp16-rounded inputs. Set AF_TEST_SEED to replay. */
#include "graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_TRIALS 16

static guint32 test_seed;

typedef struct {
  GRand *r;
  gboolean exact; /* bitwise equal after fp16 rounding */
  int trial;
  gboolean grid; /* inputs on the accumulator-exact grid (grid_input) */
} Ctx;

static int
irand (Ctx *c, int lo, int hi) /* inclusive */
{
  return g_rand_int_range (c->r, lo, hi + 1);
}

static float
frand (Ctx *c, float lo, float hi)
{
  return af_fp16_to_f32 (af_f32_to_fp16 ((float) g_rand_double_range (c->r, lo, hi)));
}

static AfTensor *
weight (Ctx *c, AfGraph *g, const char *name, int rank, const gint64 *shape, float lo, float hi)
{
  gint64 n = af_shape_numel (rank, shape);
  g_autofree float *v = g_new (float, n);
  for (gint64 i = 0; i < n; i++)
    v[i] = frand (c, lo, hi);
  return af_weight (g, name, rank, shape, v);
}

/* A random activation input of rank @rank with dims in 1..@max (odd sizes likely). */
static AfTensor *
rand_input (Ctx *c, AfGraph *g, const char *name, int rank, int max, gint64 *shape)
{
  for (int i = 0; i < rank; i++)
    shape[i] = irand (c, 1, max);
  return af_input (g, name, rank, shape);
}

/* ---------------------------------------------------------------- builders */

static AfTensor *
build_input (Ctx *c, AfGraph *g, AfOp op)
{
  gint64 s[AF_MAX_RANK];
  c->exact = TRUE;
  if (op == AF_OP_IMAGE_INPUT) {
    s[0] = irand (c, 1, 2), s[1] = 3, s[2] = irand (c, 1, 19), s[3] = irand (c, 1, 23);
    float scale[3] = { 1.0f / 255, 0.017f, 2 }, bias[3] = { -0.5f, 0.25f, -100 };
    c->exact = FALSE;
    return af_image_input (g, "image", s, c->trial % 2 ? AF_PIXEL_BGR : AF_PIXEL_RGB, 3, scale, 3,
                           bias);
  }
  return rand_input (c, g, "x", irand (c, 1, 4), 9, s); /* the output is the input */
}

static AfTensor *
build_conv (Ctx *c, AfGraph *g, AfOp op)
{
  AfConvParams p = AF_CONV_PARAMS_INIT;
  p.groups = (gint64[]){ 1, 1, 2, 3 }[irand (c, 0, 3)];
  /* at least 5 high and wide: a 3-tap kernel dilated by 2 always fits */
  gint64 xs[4] = { irand (c, 1, 2), p.groups * irand (c, 1, 5), irand (c, 5, 17),
                   irand (c, 5, 19) };
  gint64 o = p.groups * irand (c, 1, 6);
  gint64 ws[4] = { o, xs[1] / p.groups, irand (c, 1, 3), irand (c, 1, 3) };
  for (int i = 0; i < 2; i++) {
    p.stride[i] = irand (c, 1, 2);
    p.dilation[i] = irand (c, 1, 2);
    p.pad[i] = irand (c, 0, 2);
    p.pad[2 + i] = irand (c, 0, 2);
  }
  AfTensor *x = af_input (g, "x", 4, xs);
  AfTensor *w = weight (c, g, "w", 4, ws, -1, 1);
  AfTensor *b = irand (c, 0, 1) ? weight (c, g, "b", 1, &o, -1, 1) : NULL;
  return af_conv (g, x, w, b, &p);
}

static AfTensor *
build_conv_transpose (Ctx *c, AfGraph *g, AfOp op)
{
  AfConvParams p = AF_CONV_PARAMS_INIT;
  p.groups = (gint64[]){ 1, 1, 2, 3 }[irand (c, 0, 3)];
  gint64 xs[4] = { irand (c, 1, 2), p.groups * irand (c, 1, 5), irand (c, 1, 9), irand (c, 1, 11) };
  gint64 o = p.groups * irand (c, 1, 4);
  gint64 ws[4] = { xs[1], o / p.groups, irand (c, 1, 4), irand (c, 1, 4) };
  for (int i = 0; i < 2; i++) {
    p.stride[i] = irand (c, 1, 3);
    p.dilation[i] = irand (c, 1, 2);
    /* pads crop at most what leaves one output row / column */
    gint64 full = (xs[2 + i] - 1) * p.stride[i] + (ws[2 + i] - 1) * p.dilation[i] + 1;
    p.pad[i] = irand (c, 0, (int) MIN (2, (full - 1) / 2));
    p.pad[2 + i] = irand (c, 0, (int) MIN (2, (full - 1) / 2));
  }
  AfTensor *x = af_input (g, "x", 4, xs);
  AfTensor *w = weight (c, g, "w", 4, ws, -1, 1);
  AfTensor *b = irand (c, 0, 1) ? weight (c, g, "b", 1, &o, -1, 1) : NULL;
  return af_conv_transpose (g, x, w, b, &p);
}

static AfTensor *
build_matmul (Ctx *c, AfGraph *g, AfOp op)
{
  gint64 as[AF_MAX_RANK], bs[AF_MAX_RANK];
  if (op == AF_OP_LINEAR) {
    int rank = irand (c, 1, 3);
    AfTensor *x = rand_input (c, g, "x", rank, 7, as);
    gint64 ws[2] = { irand (c, 1, 19), as[rank - 1] };
    AfTensor *b = irand (c, 0, 1) ? weight (c, g, "b", 1, ws, -1, 1) : NULL;
    return af_linear (g, x, weight (c, g, "w", 2, ws, -1, 1), b);
  }
  int ra = irand (c, 1, 4), rb = irand (c, 1, 4);
  gint64 m = irand (c, 1, 9), k = irand (c, 1, 33), n = irand (c, 1, 9);
  for (int i = 0; i < 2; i++) {
    as[i] = irand (c, 1, 3);
    bs[i] = irand (c, 0, 1) ? as[i] : 1; /* broadcast some batch dims */
  }
  /* a: [batch..., m, k] or [k]; b: [batch..., k, n] or [k] */
  gint64 a[4], b[4];
  for (int i = 0; i < ra - 2; i++)
    a[i] = as[2 - (ra - 2) + i];
  for (int i = 0; i < rb - 2; i++)
    b[i] = bs[2 - (rb - 2) + i];
  if (ra == 1)
    a[0] = k;
  else
    a[ra - 2] = m, a[ra - 1] = k;
  if (rb == 1)
    b[0] = k;
  else
    b[rb - 2] = k, b[rb - 1] = n;
  return af_matmul (g, af_input (g, "a", ra, a), af_input (g, "b", rb, b));
}

static AfTensor *
build_binary (Ctx *c, AfGraph *g, AfOp op)
{
  gint64 a[4], b[4];
  int rank = irand (c, 1, 4), rb = irand (c, 1, rank);
  for (int i = 0; i < rank; i++)
    a[i] = irand (c, 1, 7);
  for (int i = 0; i < rb; i++)
    b[i] = irand (c, 0, 2) ? a[rank - rb + i] : 1;
  if (irand (c, 0, 1)) /* broadcast the other way too */
    a[rank - 1] = 1;
  c->exact = op == AF_OP_MAXIMUM || op == AF_OP_MINIMUM;
  AfTensor *x = af_input (g, "a", rank, a);
  /* div: the denominator is a weight kept away from zero */
  AfTensor *y = op == AF_OP_DIV ? weight (c, g, "b", rb, b, 0.5f, 2) : af_input (g, "b", rb, b);
  AfTensor *(*fn[]) (AfGraph *, AfTensor *, AfTensor *) = {
    [AF_OP_ADD] = af_add, [AF_OP_SUB] = af_sub,         [AF_OP_MUL] = af_mul,
    [AF_OP_DIV] = af_div, [AF_OP_MAXIMUM] = af_maximum, [AF_OP_MINIMUM] = af_minimum,
  };
  return irand (c, 0, 1) && op != AF_OP_DIV ? fn[op](g, y, x) : fn[op](g, x, y);
}

static AfTensor *
build_unary (Ctx *c, AfGraph *g, AfOp op)
{
  gint64 s[AF_MAX_RANK];
  AfTensor *x = rand_input (c, g, "x", irand (c, 1, 4), 11, s);
  c->exact = op == AF_OP_RELU || op == AF_OP_RELU6 || op == AF_OP_CLIP;
  switch (op) {
  case AF_OP_RELU:
    return af_relu (g, x);
  case AF_OP_RELU6:
    return af_relu6 (g, x);
  case AF_OP_CLIP:
    return af_clip (g, x, frand (c, -3, 0), frand (c, 0, 3));
  case AF_OP_SIGMOID:
    return af_sigmoid (g, x);
  case AF_OP_TANH:
    return af_tanh (g, x);
  case AF_OP_SILU:
    return af_silu (g, x);
  case AF_OP_GELU:
    return af_gelu (g, x);
  case AF_OP_EXP:
    return af_exp (g, x);
  case AF_OP_HARDSWISH:
    return af_hardswish (g, x);
  case AF_OP_FAKE_QUANT: {
    /* a power-of-two step: x / step and the grid are exact in fp16 */
    float step = ldexpf (1, irand (c, -6, 0));
    c->exact = TRUE;
    return af_fake_quant (g, x, step, frand (c, -4, 0), frand (c, 0, 4));
  }
  default:
    g_assert_not_reached ();
  }
}

static AfTensor *
build_reduce (Ctx *c, AfGraph *g, AfOp op)
{
  gint64 s[AF_MAX_RANK];
  int rank = irand (c, 1, 4);
  AfTensor *x = rand_input (c, g, "x", rank, 9, s);
  c->exact = op == AF_OP_AMAX || op == AF_OP_AMIN;
  if (op == AF_OP_SOFTMAX)
    return af_softmax (g, x, irand (c, -rank, rank - 1));
  int axes[AF_MAX_RANK], n_axes = 0;
  for (int i = 0; i < rank; i++)
    if (irand (c, 0, 2) == 0)
      axes[n_axes++] = irand (c, 0, 1) ? i : i - rank;
  gboolean keep = irand (c, 0, 1); /* all axes without keepdims: a rank-0 result */
  AfTensor *(*fn[]) (AfGraph *, AfTensor *, int, const int *, gboolean) = {
    [AF_OP_MEAN] = af_mean,
    [AF_OP_SUM] = af_sum,
    [AF_OP_AMAX] = af_amax,
    [AF_OP_AMIN] = af_amin,
  };
  return fn[op](g, x, n_axes, axes, keep);
}

static AfTensor *
build_batch_norm (Ctx *c, AfGraph *g, AfOp op)
{
  gint64 s[AF_MAX_RANK];
  AfTensor *x = rand_input (c, g, "x", irand (c, 2, 4), 9, s);
  return af_batch_norm (
      g, x, weight (c, g, "scale", 1, s + 1, -2, 2), weight (c, g, "bias", 1, s + 1, -1, 1),
      weight (c, g, "mean", 1, s + 1, -1, 1), weight (c, g, "var", 1, s + 1, 0.1f, 3), 1e-5f);
}

static AfTensor *
build_pool (Ctx *c, AfGraph *g, AfOp op)
{
  gint64 s[4] = { irand (c, 1, 2), irand (c, 1, 5), irand (c, 4, 19), irand (c, 4, 17) };
  AfTensor *x = af_input (g, "x", 4, s);
  c->exact = op == AF_OP_MAX_POOL;
  if (op == AF_OP_AVG_POOL && c->trial == 0)
    return af_global_avg_pool (g, x);
  AfPoolParams p = { { 0 } };
  for (int i = 0; i < 2; i++) {
    p.kernel[i] = irand (c, 1, 4);
    p.stride[i] = irand (c, 1, 3);
    p.pad[i] = irand (c, 0, p.kernel[i] - 1);
    p.pad[2 + i] = irand (c, 0, p.kernel[i] - 1);
  }
  p.ceil_mode = irand (c, 0, 1);
  p.count_include_pad = irand (c, 0, 1);
  return op == AF_OP_MAX_POOL ? af_max_pool (g, x, &p) : af_avg_pool (g, x, &p);
}

static AfTensor *
build_layout (Ctx *c, AfGraph *g, AfOp op)
{
  gint64 s[AF_MAX_RANK];
  int rank = irand (c, 1, 4);
  c->exact = TRUE;
  switch (op) {
  case AF_OP_CONCAT: {
    AfTensor *xs[3];
    int n = irand (c, 1, 3), axis = irand (c, 0, rank - 1);
    for (int i = 0; i < rank; i++)
      s[i] = irand (c, 1, 6);
    for (int i = 0; i < n; i++) {
      char name[8];
      g_snprintf (name, sizeof name, "x%d", i);
      s[axis] = irand (c, 1, 6);
      xs[i] = af_input (g, name, rank, s);
    }
    return af_concat (g, n, xs, irand (c, 0, 1) ? axis : axis - rank);
  }
  case AF_OP_RESHAPE: {
    AfTensor *x = rand_input (c, g, "x", rank, 6, s);
    gint64 to[2] = { irand (c, 0, 1) ? 0 : s[0], -1 };
    return af_reshape (g, x, 2, to);
  }
  case AF_OP_TRANSPOSE: {
    AfTensor *x = rand_input (c, g, "x", rank, 7, s);
    int perm[AF_MAX_RANK];
    for (int i = 0; i < rank; i++)
      perm[i] = i;
    for (int i = rank - 1; i > 0; i--) {
      int j = irand (c, 0, i), t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    return af_transpose (g, x, irand (c, 0, 3) ? rank : 0, perm);
  }
  case AF_OP_UPSAMPLE:
    return af_upsample (g, rand_input (c, g, "x", 4, 7, s), irand (c, 1, 3), irand (c, 1, 3));
  case AF_OP_RESIZE_BILINEAR: {
    int mode = irand (c, 0, 2);
    c->exact = FALSE;
    return af_resize_bilinear (g, rand_input (c, g, "x", 4, 9, s), irand (c, 1, 21),
                               irand (c, 1, 21), mode == 1, mode == 2);
  }
  default:
    g_assert_not_reached ();
  }
}

static AfTensor *
build_bridge (Ctx *c, AfGraph *g, AfOp op)
{
  gint64 s[AF_MAX_RANK];
  int rank = irand (c, 1, 3);
  AfTensor *x = rand_input (c, g, "x", rank, 40, s);
  int axis = irand (c, 0, rank - 1);
  c->exact = TRUE;
  if (op == AF_OP_ARGMAX)
    return af_argmax (g, x, irand (c, 0, 1) ? axis : axis - rank, irand (c, 0, 1));
  return af_topk (g, x, irand (c, 1, s[axis]), axis, irand (c, 0, 1));
}

/* ---------------------------------------------------------------- bias after fp32 accumulation */

/* Inputs 16 + j / 8 and weights (8 + k) / 32 (j < 16, k < 8): every product
 * is a multiple of 2^-8 and every partial sum of up to 1000 of them is below
 * 2^15, so the fp32 accumulator is exact in any order and the fast kernels
 * must equal the reference bit for bit. Each bias, about -17 times its
 * channel's weight sum, cancels the accumulator's ~3000 down to tens: an
 * accumulator rounded to fp16 (spacing 2 above 2048) before the bias moves
 * the fp16 result by up to 1, where its spacing is 1/64. */
static float
grid_input (Ctx *c)
{
  return 16.0f + (float) irand (c, 0, 15) / 8;
}

static AfTensor *
grid_weight_and_bias (Ctx *c, AfGraph *g, gint64 o, gint64 k, int rank, const gint64 *shape,
                      AfTensor **bias)
{
  g_autofree float *w = g_new (float, o *k);
  g_autofree float *b = g_new (float, o);
  for (gint64 i = 0; i < o; i++) {
    double sum = 0;
    for (gint64 j = 0; j < k; j++)
      sum += w[i * k + j] = (float) (8 + irand (c, 0, 7)) / 32;
    b[i] = af_fp16_to_f32 (af_f32_to_fp16 ((float) round (-16.94 * sum)));
  }
  *bias = af_weight (g, "b", 1, &o, b);
  return af_weight (g, "w", rank, shape, w);
}

static AfTensor *
build_conv_grid (Ctx *c, AfGraph *g, AfOp op)
{
  AfConvParams p = AF_CONV_PARAMS_INIT;
  int kh = irand (c, 1, 3), kw = irand (c, 1, 3);
  gint64 xs[4] = { irand (c, 1, 2), irand (c, 24, 90), irand (c, 5, 13), irand (c, 5, 15) };
  gint64 ws[4] = { irand (c, 1, 40), xs[1], kh, kw };
  for (int i = 0; i < 2; i++) {
    p.stride[i] = irand (c, 1, 2);
    p.pad[i] = irand (c, 0, 1);
    p.pad[2 + i] = irand (c, 0, 1);
  }
  c->exact = c->grid = TRUE;
  AfTensor *b, *w = grid_weight_and_bias (c, g, ws[0], xs[1] * kh * kw, 4, ws, &b);
  AfTensor *y = af_conv (g, af_input (g, "x", 4, xs), w, b, &p);
  return irand (c, 0, 1) ? af_relu (g, y) : y; /* with and without a fused epilogue */
}

static AfTensor *
build_linear_grid (Ctx *c, AfGraph *g, AfOp op)
{
  gint64 xs[3];
  int rank = irand (c, 1, 3);
  for (int i = 0; i < rank; i++)
    xs[i] = irand (c, 1, 9);
  xs[rank - 1] = irand (c, 64, 900);
  gint64 ws[2] = { irand (c, 1, 41), xs[rank - 1] };
  c->exact = c->grid = TRUE;
  AfTensor *b, *w = grid_weight_and_bias (c, g, ws[0], ws[1], 2, ws, &b);
  return af_linear (g, af_input (g, "x", rank, xs), w, b);
}

typedef AfTensor *(*BuildFn) (Ctx *c, AfGraph *g, AfOp op);

static const struct {
  AfOp op;
  BuildFn build;
} cases[] = {
  { AF_OP_INPUT, build_input },
  { AF_OP_IMAGE_INPUT, build_input },
  { AF_OP_CONV, build_conv },
  { AF_OP_CONV_TRANSPOSE, build_conv_transpose },
  { AF_OP_MATMUL, build_matmul },
  { AF_OP_LINEAR, build_matmul },
  { AF_OP_ADD, build_binary },
  { AF_OP_SUB, build_binary },
  { AF_OP_MUL, build_binary },
  { AF_OP_DIV, build_binary },
  { AF_OP_MAXIMUM, build_binary },
  { AF_OP_MINIMUM, build_binary },
  { AF_OP_RELU, build_unary },
  { AF_OP_RELU6, build_unary },
  { AF_OP_CLIP, build_unary },
  { AF_OP_SIGMOID, build_unary },
  { AF_OP_TANH, build_unary },
  { AF_OP_SILU, build_unary },
  { AF_OP_GELU, build_unary },
  { AF_OP_EXP, build_unary },
  { AF_OP_HARDSWISH, build_unary },
  { AF_OP_FAKE_QUANT, build_unary },
  { AF_OP_MEAN, build_reduce },
  { AF_OP_SUM, build_reduce },
  { AF_OP_AMAX, build_reduce },
  { AF_OP_AMIN, build_reduce },
  { AF_OP_SOFTMAX, build_reduce },
  { AF_OP_BATCH_NORM, build_batch_norm },
  { AF_OP_MAX_POOL, build_pool },
  { AF_OP_AVG_POOL, build_pool },
  { AF_OP_CONCAT, build_layout },
  { AF_OP_RESHAPE, build_layout },
  { AF_OP_TRANSPOSE, build_layout },
  { AF_OP_UPSAMPLE, build_layout },
  { AF_OP_RESIZE_BILINEAR, build_layout },
  { AF_OP_ARGMAX, build_bridge },
  { AF_OP_TOPK, build_bridge },
};

/* ---------------------------------------------------------------- reference */

/* Node by node with the reference kernels, fp16 rounding at every boundary
 * (weights rounded to fp16 as the compiler does). Fills @out (numel floats). */
static void
reference_eval (AfGraph *g, const float *const *inputs, AfTensor *result, float *res)
{
  GPtrArray *order = g_ptr_array_new ();
  g_assert_true (af__graph_topo_order (g, order, NULL));
  float **val = g_new0 (float *, g->values->len);
  for (guint i = 0; i < g->values->len; i++) {
    AfTensor *t = g_ptr_array_index (g->values, i);
    if (t->kind == AF_VALUE_CONST) {
      gint64 n = af__shape_numel (&t->shape);
      val[i] = g_new (float, n);
      af__tensor_read_f32 (t, val[i]);
      for (gint64 k = 0; k < n; k++)
        val[i][k] = af_fp16_to_f32 (af_f32_to_fp16 (val[i][k]));
    }
  }
  for (guint i = 0; i < order->len; i++) {
    AfNode *n = g_ptr_array_index (order, i);
    gint64 numel = af__shape_numel (&n->out->shape);
    float *out = g_new (float, numel);
    const float **in = g_new0 (const float *, MAX (n->n_in, 1));
    for (guint k = 0; k < g->inputs->len; k++)
      if (g_ptr_array_index (g->inputs, k) == n)
        in[0] = inputs[k];
    for (guint j = 0; j < n->n_in; j++)
      in[j] = val[n->in[j]->index];
    af_op_info[n->op].ref (n, in, out);
    g_free (in);
    for (gint64 k = 0; k < numel; k++)
      out[k] = af_fp16_to_f32 (af_f32_to_fp16 (out[k]));
    val[n->out->index] = out;
  }
  memcpy (res, val[result->index], af__shape_numel (&result->shape) * sizeof (float));
  for (guint i = 0; i < g->values->len; i++)
    g_free (val[i]);
  g_free (val);
  g_ptr_array_unref (order);
}

/* Compares exactly, or within one fp16 ulp relative to each value plus
 * 1/8192 of the tensor's largest magnitude (accumulation order in sums). */
static void
compare (const char *what, const float *got, const float *want, gint64 n, gboolean exact)
{
  float amax = 0;
  for (gint64 i = 0; i < n; i++)
    amax = MAX (amax, fabsf (want[i]));
  for (gint64 i = 0; i < n; i++) {
    float d = fabsf (got[i] - want[i]);
    float tol = exact ? 0 : 2 * 0x1p-11f * fabsf (want[i]) + 0x1p-13f * amax + 1e-6f;
    if (!(d <= tol) && !(isnan (got[i]) && isnan (want[i])))
      g_error ("%s (seed %u): element %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
               ": got %.8g, reference %.8g (tolerance %g)",
               what, test_seed, i, n, got[i], want[i], tol);
  }
}

/* ---------------------------------------------------------------- ops without a fast kernel */

/* The CPU backend runs these ops with their reference kernel, so their case
 * here compares the reference with itself through the executor (shapes,
 * strides, the fp32 copies), not their values. Their values are checked
 * against ONNX Runtime by tests/oracles/ort_ops.py (meson test
 * oracle-ort-op-NAME, suite oracle). */
static const AfOp no_fast_kernel[] = {
  AF_OP_MATMUL, AF_OP_SOFTMAX, AF_OP_AMAX, AF_OP_AMIN, AF_OP_ARGMAX, AF_OP_TOPK,
};

static gboolean
has_no_fast_kernel (AfOp op)
{
  for (gsize i = 0; i < G_N_ELEMENTS (no_fast_kernel); i++)
    if (no_fast_kernel[i] == op)
      return TRUE;
  return FALSE;
}

/* ---------------------------------------------------------------- driver */

static void
run_trial (AfOp op, BuildFn build, int trial)
{
  Ctx c = { g_rand_new_with_seed (test_seed + 7919 * op + trial), FALSE, trial, FALSE };
  AfGraph *g = af_graph_new ("one-op");
  AfTensor *y = build (&c, g, op);
  if (!y)
    g_error ("%s (seed %u, trial %d): builder: %s", af_op_info[op].name, test_seed, trial,
             af_graph_error (g) ? af_graph_error (g)->message : "NULL");
  af_graph_add_output (g, "y", y);

  GError *error = NULL;
  AfModel *m = af_compile (g, NULL, &error);
  if (!m)
    g_error ("%s (seed %u, trial %d): compile: %s", af_op_info[op].name, test_seed, trial,
             error->message);
  guint n_in = af_model_n_inputs (m);
  float **inputs = g_new0 (float *, MAX (n_in, 1));
  for (guint i = 0; i < n_in; i++) {
    AfTensorInfo info;
    af_model_input_info (m, i, &info);
    gint64 n = af_shape_numel (info.rank, info.shape);
    inputs[i] = g_new (float, n);
    for (gint64 k = 0; k < n; k++)
      inputs[i][k] = info.is_image ? (float) irand (&c, 0, 255)
                     : c.grid      ? grid_input (&c)
                                   : frand (&c, -4, 4);
  }
  gint64 numel = af__shape_numel (&y->shape);
  float *got = g_new (float, numel), *want = g_new (float, numel);
  if (!af_model_run (m, (const float *const *) inputs, (float *const[]){ got }, &error))
    g_error ("%s (seed %u): run: %s", af_op_info[op].name, test_seed, error->message);
  reference_eval (g, (const float *const *) inputs, y, want);
  g_autofree char *shape = af__shape_str (&y->shape);
  char *what = g_strdup_printf ("%s trial %d %s", af_op_info[op].name, trial, shape);
  compare (what, got, want, numel, c.exact);
  g_free (what);

  for (guint i = 0; i < n_in; i++)
    g_free (inputs[i]);
  g_free (inputs);
  g_free (got);
  g_free (want);
  af_model_free (m);
  af_graph_free (g);
  g_rand_free (c.r);
}

/* Conv and linear with a bias, on the accumulator-exact grid: the fast
 * kernels (GEMM, direct, tails, fused relu) add the bias to the fp32
 * accumulator and round once, bit for bit as the reference does. */
static void
run_bias_exact (gconstpointer data)
{
  AfOp op = GPOINTER_TO_INT (data);
  for (int t = 0; t < N_TRIALS; t++)
    run_trial (op, op == AF_OP_CONV ? build_conv_grid : build_linear_grid, 1000 + t);
}

static void
run_case (gconstpointer data)
{
  gsize i = GPOINTER_TO_SIZE (data);
  if (has_no_fast_kernel (cases[i].op))
    g_test_message ("%s has no fast CPU kernel: this case checks the executor around the "
                    "reference kernel, not its values; those: oracle-ort-op-%s (tests/oracles/"
                    "ort_ops.py, ONNX Runtime)",
                    af_op_info[cases[i].op].name, af_op_info[cases[i].op].name);
  for (int t = 0; t < N_TRIALS; t++)
    run_trial (cases[i].op, cases[i].build, t);
}

/* Every op in ops.def has a backend case (adding an op without one fails). */
static void
test_coverage (void)
{
  for (int op = 0; op < AF_OP_COUNT; op++) {
    gboolean found = FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
      found |= cases[i].op == (AfOp) op;
    if (!found)
      g_error ("op \"%s\" has no case in test-ops-backend.c", af_op_info[op].name);
  }
}

/* Each op of no_fast_kernel runs its reference kernel on the CPU backend
 * (AF_PROFILE's table says "reference", in a child process; a new fast
 * kernel fails here until the op leaves the list and is compared for real),
 * and tests/oracles/ort_ops.py has its case. */
static void
test_no_fast_kernel (void)
{
  if (g_test_subprocess ()) { /* one op, so the table is its own */
    AfOp op = no_fast_kernel[atoi (g_getenv ("AF_TEST_NO_FAST"))];
    g_setenv ("AF_PROFILE", "1", TRUE);
    g_setenv ("AF_PROFILE_PEAK", "100", TRUE); /* the table's % column: no peak measurement */
    Ctx c = { g_rand_new_with_seed (test_seed + op), FALSE, 0, FALSE };
    AfGraph *g = af_graph_new (af_op_info[op].name);
    AfTensor *y = NULL;
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
      if (cases[i].op == op)
        y = cases[i].build (&c, g, op);
    af_graph_add_output (g, "y", y);
    AfModel *m = af_compile (g, NULL, NULL);
    g_assert_nonnull (m);
    g_assert_true (af_model_execute (m, NULL));
    af_model_free (m); /* prints the table */
    af_graph_free (g);
    g_rand_free (c.r);
    return;
  }
  if (g_getenv ("AF_TEST_EMULATED")) {
    g_test_skip ("emulated: under qemu-user a child AArch64 process needs binfmt_misc");
    return;
  }
  const char *root = g_getenv ("AF_SOURCE_ROOT");
  g_autofree char *py =
      g_build_filename (root ? root : ".", "tests", "oracles", "ort_ops.py", NULL);
  g_autofree char *oracle = NULL;
  g_assert_true (g_file_get_contents (py, &oracle, NULL, NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (no_fast_kernel); i++) {
    const char *name = af_op_info[no_fast_kernel[i]].name;
    char index[8];
    g_snprintf (index, sizeof index, "%" G_GSIZE_FORMAT, i);
    g_setenv ("AF_TEST_NO_FAST", index, TRUE);
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed ();
    g_autofree char *pattern =
        g_strdup_printf ("*AF_PROFILE %s:*\n  %s_0 %s * reference\n", name, name, name);
    g_test_trap_assert_stderr (pattern);
    g_autofree char *entry = g_strdup_printf ("\"%s\": case_", name);
    if (!strstr (oracle, entry))
      g_error ("%s: no case for %s", py, name);
    g_test_message ("%s: reference kernel; values checked by oracle-ort-op-%s", name, name);
  }
  g_unsetenv ("AF_TEST_NO_FAST");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *env = g_getenv ("AF_TEST_SEED");
  test_seed = env ? (guint32) strtoul (env, NULL, 0) : g_random_int ();
  g_print ("# AF_TEST_SEED=%u\n", test_seed);
  g_test_add_func ("/ops-backend/coverage", test_coverage);
  g_test_add_func ("/ops-backend/no-fast-kernel", test_no_fast_kernel);
  g_test_add_data_func ("/ops-backend/conv-bias-exact", GINT_TO_POINTER (AF_OP_CONV),
                        run_bias_exact);
  g_test_add_data_func ("/ops-backend/linear-bias-exact", GINT_TO_POINTER (AF_OP_LINEAR),
                        run_bias_exact);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    char *path = g_strdup_printf ("/ops-backend/%s", af_op_info[cases[i].op].name);
    g_test_add_data_func (path, GSIZE_TO_POINTER (i), run_case);
    g_free (path);
  }
  return g_test_run ();
}
