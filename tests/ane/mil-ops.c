/* mil-ops.c — MIL op semantics, written from coremltools' op definitions
 * (../shared/ane/reference/coremltools/converters/mil/mil/ops/defs/iOS15..18:
 * argument names, layouts, defaults) as plain loops. Everything computes in
 * fp32 (conv, linear, matmul and the reductions keep one fp32 accumulator per
 * output and add the bias to it); the run loop rounds each result to its
 * declared dtype. Layout is NCHW; weights are [Cout, Cin/groups, kH, kW]
 * (conv) and [Dout, Din] (linear). */
#include "mil-ops.h"

#include <math.h>
#include <string.h>

/* ---- shapes and indices ---- */

static void
strides_of (int rank, const gint64 *shape, gint64 *st)
{
  gint64 s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
}

/* Counter increment over @shape; FALSE after the last index. */
static gboolean
next_index (int rank, const gint64 *shape, gint64 *idx)
{
  for (int i = rank - 1; i >= 0; i--) {
    if (++idx[i] < shape[i])
      return TRUE;
    idx[i] = 0;
  }
  return FALSE;
}

/* Axis @a (negative counts from the end) normalised into [0, rank). */
static gboolean
norm_axis (MilCtx *c, const char *what, gint64 a, int rank, int *out, GError **error)
{
  *out = 0;
  if (a < -rank || a >= rank)
    return mil_fail (c, error, "%s %" G_GINT64_FORMAT " is outside rank %d", what, a, rank);
  *out = (int) (a < 0 ? a + rank : a);
  return TRUE;
}

static gboolean
is_float (MilDtype d)
{
  return d == MIL_FP16 || d == MIL_FP32 || d == MIL_FP64;
}

static gboolean
need_float (MilCtx *c, const char *arg, const MilTensor *t, GError **error)
{
  if (!is_float (t->dtype))
    return mil_fail (c, error, "argument \"%s\" is %s, expected fp16 or fp32", arg,
                     mil_dtype_name (t->dtype));
  return TRUE;
}

/* Ops whose output size comes from an argument (pad, upsample) refuse an
 * output above this many elements: a hostile program cannot exhaust memory. */
#define MIL_MAX_OUT ((gint64) 1 << 28)

static gboolean
too_big (MilCtx *c, int rank, const gint64 *shape, GError **error)
{
  gint64 n = 1;
  for (int i = 0; i < rank; i++) {
    if (shape[i] > MIL_MAX_OUT || (n *= MAX (shape[i], 1)) > MIL_MAX_OUT)
      return !mil_fail (c, error, "output above %" G_GINT64_FORMAT " elements", MIL_MAX_OUT);
  }
  return FALSE;
}

static gboolean
need_rank (MilCtx *c, const char *arg, const MilTensor *t, int rank, GError **error)
{
  if (t->rank != rank)
    return mil_fail (c, error, "argument \"%s\" has rank %d, expected %d", arg, t->rank, rank);
  return TRUE;
}

/* ---- const, cast ---- */

static gboolean
op_const (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *v;
  if (!mil_arg (c, "val", TRUE, &v, error))
    return FALSE;
  *out = mil_tensor_copy (v);
  return TRUE;
}

/* cast(x, dtype): to an integer type truncates toward zero (numpy's astype),
 * saturating at the type's range. */
static gboolean
op_cast (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x;
  const char *dt;
  MilDtype d;
  if (!mil_arg (c, "x", TRUE, &x, error) || !mil_arg_string (c, "dtype", NULL, &dt, error))
    return FALSE;
  static const char *const ok[] = { "fp16",  "fp32",   "int32", "int16", "int8",
                                    "uint8", "uint16", "bool",  NULL };
  if (!g_strv_contains (ok, dt) || !mil_dtype_from_name (dt, &d))
    return mil_fail (c, error, "cast to \"%s\" is not supported", dt);
  if (x->dtype == MIL_STRING)
    return mil_fail (c, error, "cannot cast a string");
  *out = mil_tensor_new (d, x->rank, x->shape);
  for (gsize i = 0; i < x->n; i++)
    (*out)->v[i] = is_float (d) ? (double) (float) x->v[i] : trunc (x->v[i]);
  return TRUE;
}

/* ---- elementwise binary ops with numpy broadcasting ---- */

typedef float (*BinFn) (float, float);

static float
f_add (float a, float b)
{
  return a + b;
}
static float
f_sub (float a, float b)
{
  return a - b;
}
static float
f_mul (float a, float b)
{
  return a * b;
}
static float
f_div (float a, float b)
{
  return a / b;
}
static float
f_max (float a, float b)
{
  return a > b || isnan (a) ? a : b;
}
static float
f_min (float a, float b)
{
  return a < b || isnan (a) ? a : b;
}
static float
f_pow (float a, float b)
{
  return powf (a, b);
}

static gboolean
binary (MilCtx *c, MilTensor **out, BinFn fn, GError **error)
{
  const MilTensor *x, *y;
  if (!mil_arg (c, "x", TRUE, &x, error) || !mil_arg (c, "y", TRUE, &y, error))
    return FALSE;
  if (x->dtype != y->dtype || x->dtype == MIL_STRING)
    return mil_fail (c, error, "x is %s, y is %s: expected one numeric dtype",
                     mil_dtype_name (x->dtype), mil_dtype_name (y->dtype));
  int rank = MAX (x->rank, y->rank);
  gint64 shape[MIL_MAX_RANK], xs[MIL_MAX_RANK], ys[MIL_MAX_RANK], st[MIL_MAX_RANK];
  gint64 xst[MIL_MAX_RANK] = { 0 }, yst[MIL_MAX_RANK] = { 0 };
  for (int i = 0; i < rank; i++) { /* right-aligned; missing dims are 1 */
    int xi = i - (rank - x->rank), yi = i - (rank - y->rank);
    xs[i] = xi >= 0 ? x->shape[xi] : 1;
    ys[i] = yi >= 0 ? y->shape[yi] : 1;
    if (xs[i] != ys[i] && xs[i] != 1 && ys[i] != 1) {
      char *a = mil_shape_str (x->rank, x->shape), *b = mil_shape_str (y->rank, y->shape);
      mil_fail (c, error, "shapes %s and %s do not broadcast", a, b);
      g_free (a);
      g_free (b);
      return FALSE;
    }
    shape[i] = MAX (xs[i], ys[i]);
  }
  strides_of (rank, xs, st);
  for (int i = 0; i < rank; i++)
    xst[i] = xs[i] == 1 ? 0 : st[i];
  strides_of (rank, ys, st);
  for (int i = 0; i < rank; i++)
    yst[i] = ys[i] == 1 ? 0 : st[i];
  MilTensor *t = mil_tensor_new (x->dtype, rank, shape);
  gint64 idx[MIL_MAX_RANK] = { 0 };
  for (gsize o = 0; o < t->n; o++, next_index (rank, shape, idx)) {
    gint64 xo = 0, yo = 0;
    for (int i = 0; i < rank; i++) {
      xo += idx[i] * xst[i];
      yo += idx[i] * yst[i];
    }
    t->v[o] = fn ((float) x->v[xo], (float) y->v[yo]);
  }
  *out = t;
  return TRUE;
}

#define BINARY_OP(name, fn)                                                                        \
  static gboolean op_##name (MilCtx *c, MilTensor **out, GError **error)                           \
  {                                                                                                \
    return binary (c, out, fn, error);                                                             \
  }
BINARY_OP (add, f_add)
BINARY_OP (sub, f_sub)
BINARY_OP (mul, f_mul)
BINARY_OP (real_div, f_div)
BINARY_OP (maximum, f_max)
BINARY_OP (minimum, f_min)
BINARY_OP (pow, f_pow)

/* ---- elementwise unary ops ---- */

typedef float (*UnFn) (float x, float p);

static float
f_relu (float x, float p)
{
  (void) p;
  return x > 0 ? x : 0.0f;
}
static float
f_sigmoid (float x, float p)
{
  (void) p;
  return 1.0f / (1.0f + expf (-x));
}
static float
f_tanh (float x, float p)
{
  (void) p;
  return tanhf (x);
}
static float
f_silu (float x, float p)
{
  (void) p;
  return x / (1.0f + expf (-x));
}
static float
f_exp (float x, float p)
{
  (void) p;
  return expf (x);
}
static float
f_abs (float x, float p)
{
  (void) p;
  return fabsf (x);
}
static float
f_sqrt (float x, float p)
{
  (void) p;
  return sqrtf (x);
}
static float
f_rsqrt (float x, float eps)
{
  return 1.0f / sqrtf (x + eps);
}
static float
f_inverse (float x, float eps)
{
  return 1.0f / (x + eps);
}
static float
f_square (float x, float p)
{
  (void) p;
  return x * x;
}
static float
f_floor (float x, float p)
{
  (void) p;
  return floorf (x);
}
/* round: numpy's np.round, ties to even (coremltools' value_inference) */
static float
f_round (float x, float p)
{
  (void) p;
  return rintf (x);
}
static float
f_ceil (float x, float p)
{
  (void) p;
  return ceilf (x);
}
static float
f_erf (float x, float p)
{
  (void) p;
  return erff (x);
}
static float
f_leaky_relu (float x, float alpha)
{
  return x >= 0 ? x : alpha * x;
}

/* y = fn(x, p) with p the float argument @pname (default @pdflt) or 0. */
static gboolean
unary (MilCtx *c, MilTensor **out, UnFn fn, const char *pname, double pdflt, GError **error)
{
  const MilTensor *x;
  double p = 0;
  if (!mil_arg (c, "x", TRUE, &x, error) || !need_float (c, "x", x, error))
    return FALSE;
  if (pname && !mil_arg_float (c, pname, &pdflt, &p, error))
    return FALSE;
  MilTensor *t = mil_tensor_new (x->dtype, x->rank, x->shape);
  for (gsize i = 0; i < x->n; i++)
    t->v[i] = fn ((float) x->v[i], (float) p);
  *out = t;
  return TRUE;
}

#define UNARY_OP(name, fn, pname, pdflt)                                                           \
  static gboolean op_##name (MilCtx *c, MilTensor **out, GError **error)                           \
  {                                                                                                \
    return unary (c, out, fn, pname, pdflt, error);                                                \
  }
/* defaults: coremltools iOS15 elementwise_unary.py / activation.py */
UNARY_OP (relu, f_relu, NULL, 0)
UNARY_OP (sigmoid, f_sigmoid, NULL, 0)
UNARY_OP (tanh, f_tanh, NULL, 0)
UNARY_OP (silu, f_silu, NULL, 0)
UNARY_OP (exp, f_exp, NULL, 0)
UNARY_OP (abs, f_abs, NULL, 0)
UNARY_OP (sqrt, f_sqrt, NULL, 0)
UNARY_OP (rsqrt, f_rsqrt, "epsilon", 1e-12)
UNARY_OP (inverse, f_inverse, "epsilon", 1e-4)
UNARY_OP (square, f_square, NULL, 0)
UNARY_OP (floor, f_floor, NULL, 0)
UNARY_OP (ceil, f_ceil, NULL, 0)
UNARY_OP (round, f_round, NULL, 0)
UNARY_OP (erf, f_erf, NULL, 0)
UNARY_OP (leaky_relu, f_leaky_relu, "alpha", 0.01)

/* clip(x, alpha, beta) = min(max(x, alpha), beta); both required. */
static gboolean
op_clip (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x;
  double lo, hi;
  if (!mil_arg (c, "x", TRUE, &x, error) || !need_float (c, "x", x, error) ||
      !mil_arg_float (c, "alpha", NULL, &lo, error) || !mil_arg_float (c, "beta", NULL, &hi, error))
    return FALSE;
  MilTensor *t = mil_tensor_new (x->dtype, x->rank, x->shape);
  for (gsize i = 0; i < x->n; i++)
    t->v[i] = f_min (f_max ((float) x->v[i], (float) lo), (float) hi);
  *out = t;
  return TRUE;
}

/* sigmoid_hard(x, alpha, beta): min(max(alpha * x + beta, 0), 1). */
static gboolean
op_sigmoid_hard (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x;
  double a, b;
  if (!mil_arg (c, "x", TRUE, &x, error) || !need_float (c, "x", x, error) ||
      !mil_arg_float (c, "alpha", NULL, &a, error) || !mil_arg_float (c, "beta", NULL, &b, error))
    return FALSE;
  MilTensor *t = mil_tensor_new (x->dtype, x->rank, x->shape);
  for (gsize i = 0; i < x->n; i++)
    t->v[i] = f_min (f_max ((float) a * (float) x->v[i] + (float) b, 0.0f), 1.0f);
  *out = t;
  return TRUE;
}

/* gelu(x, mode): EXACT 0.5x(1 + erf(x/sqrt2)); TANH_APPROXIMATION
 * 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))); SIGMOID_APPROXIMATION
 * x sigmoid(1.702x). */
static gboolean
op_gelu (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x;
  const char *mode;
  if (!mil_arg (c, "x", TRUE, &x, error) || !need_float (c, "x", x, error) ||
      !mil_arg_string (c, "mode", "EXACT", &mode, error))
    return FALSE;
  int m = !strcmp (mode, "EXACT")                   ? 0
          : !strcmp (mode, "TANH_APPROXIMATION")    ? 1
          : !strcmp (mode, "SIGMOID_APPROXIMATION") ? 2
                                                    : -1;
  if (m < 0)
    return mil_fail (c, error, "unknown gelu mode \"%s\"", mode);
  MilTensor *t = mil_tensor_new (x->dtype, x->rank, x->shape);
  for (gsize i = 0; i < x->n; i++) {
    float v = (float) x->v[i];
    if (m == 0)
      t->v[i] = 0.5f * v * (1.0f + erff (v * (float) M_SQRT1_2));
    else if (m == 1)
      t->v[i] = 0.5f * v * (1.0f + tanhf (0.7978845608f * (v + 0.044715f * v * v * v)));
    else
      t->v[i] = v / (1.0f + expf (-1.702f * v));
  }
  *out = t;
  return TRUE;
}

/* ---- conv and pooling: the spatial window arithmetic (2-D, NCHW) ---- */

typedef struct {
  gint64 in[2], k[2], stride[2], dil[2], before[2], after[2], out[2];
} Window;

/* Pads from pad_type (coremltools _utils.aggregated_pad: "same" puts the
 * odd pixel after, "same_lower" before) and output sizes (ceil_mode: the
 * last window must start inside the input plus half the padding). */
static gboolean
window_setup (MilCtx *c, Window *w, gboolean ceil_mode, GError **error)
{
  const char *pad_type;
  gint64 pad[4] = { 0 }, zero[4] = { 0 };
  int n;
  if (!mil_arg_string (c, "pad_type", "valid", &pad_type, error))
    return FALSE;
  gboolean custom = strcmp (pad_type, "custom") == 0;
  if (!mil_arg_ints (c, "pad", 4, zero, 4, pad, &n, error))
    return FALSE;
  if (n != 4)
    return mil_fail (c, error, "pad has %d values, expected 4 [top, bottom, left, right]", n);
  for (int d = 0; d < 2; d++) {
    gint64 ek = (w->k[d] - 1) * w->dil[d] + 1;
    if (w->stride[d] < 1 || w->dil[d] < 1 || w->k[d] < 1)
      return mil_fail (c, error, "kernel, strides and dilations must be >= 1");
    if (custom) {
      w->before[d] = pad[2 * d];
      w->after[d] = pad[2 * d + 1];
      if (w->before[d] < 0 || w->after[d] < 0)
        return mil_fail (c, error, "negative pad");
    } else if (!strcmp (pad_type, "valid")) {
      w->before[d] = w->after[d] = 0;
    } else if (!strcmp (pad_type, "same") || !strcmp (pad_type, "same_lower")) {
      gint64 s = w->stride[d], total = MAX (0, (w->in[d] + s - 1) / s * s - w->in[d] + ek - s);
      w->before[d] = !strcmp (pad_type, "same") ? total / 2 : (total + 1) / 2;
      w->after[d] = total - w->before[d];
    } else
      return mil_fail (c, error, "unknown pad_type \"%s\"", pad_type);
    gint64 tot = w->before[d] + w->after[d], span = w->in[d] + tot - ek;
    if (span < 0)
      return mil_fail (c, error, "window larger than the padded input");
    w->out[d] = span / w->stride[d] + 1;
    if (ceil_mode) {
      w->out[d] = (span + w->stride[d] - 1) / w->stride[d] + 1;
      if ((w->out[d] - 1) * w->stride[d] >= w->in[d] + tot / 2.0 && tot > 0)
        w->out[d]--;
    }
  }
  return TRUE;
}

/* strides / dilations: two values, default [1, 1]. */
static gboolean
pair_arg (MilCtx *c, const char *name, gint64 *out, GError **error)
{
  static const gint64 ones[2] = { 1, 1 };
  int n;
  if (!mil_arg_ints (c, name, 2, ones, 2, out, &n, error))
    return FALSE;
  if (n != 2)
    return mil_fail (c, error, "%s has %d values, expected 2", name, n);
  return TRUE;
}

/* conv(x, weight, bias?, strides, pad_type, pad, dilations, groups): one fp32
 * accumulator per output over (ci, ky, kx), the bias added to it. */
static gboolean
op_conv (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x, *wt, *b;
  gint64 groups, one = 1;
  Window w;
  if (!mil_arg (c, "x", TRUE, &x, error) || !mil_arg (c, "weight", TRUE, &wt, error) ||
      !mil_arg (c, "bias", FALSE, &b, error) || !need_rank (c, "x", x, 4, error) ||
      !need_rank (c, "weight", wt, 4, error) || !need_float (c, "x", x, error) ||
      !need_float (c, "weight", wt, error) || !mil_arg_int (c, "groups", &one, &groups, error) ||
      !pair_arg (c, "strides", w.stride, error) || !pair_arg (c, "dilations", w.dil, error))
    return FALSE;
  gint64 N = x->shape[0], C = x->shape[1], O = wt->shape[0], Cg = wt->shape[1];
  if (groups < 1 || C % groups || O % groups || Cg != C / groups)
    return mil_fail (c, error,
                     "weight [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                     ", ...] does not fit %" G_GINT64_FORMAT " input channels in %" G_GINT64_FORMAT
                     " groups",
                     O, Cg, C, groups);
  if (b && (b->rank != 1 || b->shape[0] != O))
    return mil_fail (c, error, "bias must be [%" G_GINT64_FORMAT "]", O);
  for (int d = 0; d < 2; d++) {
    w.in[d] = x->shape[2 + d];
    w.k[d] = wt->shape[2 + d];
  }
  if (!window_setup (c, &w, FALSE, error))
    return FALSE;
  gint64 shape[4] = { N, O, w.out[0], w.out[1] }, Og = O / groups, H = w.in[0], W = w.in[1];
  MilTensor *t = mil_tensor_new (x->dtype, 4, shape);
  double *o = t->v;
  for (gint64 n = 0; n < N; n++)
    for (gint64 oc = 0; oc < O; oc++)
      for (gint64 oy = 0; oy < w.out[0]; oy++)
        for (gint64 ox = 0; ox < w.out[1]; ox++) {
          float acc = 0;
          gint64 c0 = oc / Og * Cg;
          for (gint64 ic = 0; ic < Cg; ic++)
            for (gint64 ky = 0; ky < w.k[0]; ky++) {
              gint64 iy = oy * w.stride[0] - w.before[0] + ky * w.dil[0];
              if (iy < 0 || iy >= H)
                continue;
              for (gint64 kx = 0; kx < w.k[1]; kx++) {
                gint64 ix = ox * w.stride[1] - w.before[1] + kx * w.dil[1];
                if (ix < 0 || ix >= W)
                  continue;
                float xv = (float) x->v[((n * C + c0 + ic) * H + iy) * W + ix];
                float wv = (float) wt->v[((oc * Cg + ic) * w.k[0] + ky) * w.k[1] + kx];
                acc += xv * wv;
              }
            }
          if (b)
            acc += (float) b->v[oc];
          *o++ = acc;
        }
  *out = t;
  return TRUE;
}

/* conv_transpose(x, weight [Cin, Cout/groups, kH, kW], bias?, strides,
 * pad_type "custom" or "valid", pad, dilations, groups): the output is
 * (in - 1) * stride + (k - 1) * dilation + 1 - pads; each output sums, in
 * one fp32 accumulator, the input pixels whose kernel window covers it. */
static gboolean
op_conv_transpose (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x, *wt, *b;
  const char *pad_type;
  gint64 groups, one = 1, stride[2], dil[2], pad[4] = { 0 }, zero[4] = { 0 };
  int np;
  if (!mil_arg (c, "x", TRUE, &x, error) || !mil_arg (c, "weight", TRUE, &wt, error) ||
      !mil_arg (c, "bias", FALSE, &b, error) || !need_rank (c, "x", x, 4, error) ||
      !need_rank (c, "weight", wt, 4, error) || !need_float (c, "x", x, error) ||
      !need_float (c, "weight", wt, error) || !mil_arg_int (c, "groups", &one, &groups, error) ||
      !pair_arg (c, "strides", stride, error) || !pair_arg (c, "dilations", dil, error) ||
      !mil_arg_string (c, "pad_type", "valid", &pad_type, error) ||
      !mil_arg_ints (c, "pad", 4, zero, 4, pad, &np, error))
    return FALSE;
  gint64 N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  if (groups < 1 || C % groups || wt->shape[0] != C)
    return mil_fail (c, error,
                     "weight [%" G_GINT64_FORMAT ", ...] does not fit %" G_GINT64_FORMAT
                     " input channels in %" G_GINT64_FORMAT " groups",
                     wt->shape[0], C, groups);
  gint64 Og = wt->shape[1], O = Og * groups, Cg = C / groups, K[2] = { wt->shape[2], wt->shape[3] };
  if (b && (b->rank != 1 || b->shape[0] != O))
    return mil_fail (c, error, "bias must be [%" G_GINT64_FORMAT "]", O);
  if (strcmp (pad_type, "custom") == 0) {
    if (np != 4)
      return mil_fail (c, error, "pad has %d values, expected 4", np);
  } else if (strcmp (pad_type, "valid") == 0) {
    memset (pad, 0, sizeof pad);
  } else {
    return mil_fail (c, error, "pad_type \"%s\" is not supported here", pad_type);
  }
  gint64 shape[4] = { N, O, 0, 0 };
  for (int d = 0; d < 2; d++) {
    if (stride[d] < 1 || dil[d] < 1 || pad[2 * d] < 0 || pad[2 * d + 1] < 0)
      return mil_fail (c, error, "strides and dilations must be >= 1, pads >= 0");
    shape[2 + d] =
        (x->shape[2 + d] - 1) * stride[d] + (K[d] - 1) * dil[d] + 1 - pad[2 * d] - pad[2 * d + 1];
    if (shape[2 + d] < 1)
      return mil_fail (c, error, "the pads leave no output");
  }
  if (too_big (c, 4, shape, error))
    return FALSE;
  MilTensor *t = mil_tensor_new (x->dtype, 4, shape);
  double *o = t->v;
  for (gint64 n = 0; n < N; n++)
    for (gint64 oc = 0; oc < O; oc++)
      for (gint64 oy = 0; oy < shape[2]; oy++)
        for (gint64 ox = 0; ox < shape[3]; ox++) {
          float acc = 0;
          gint64 g = oc / Og, oo = oc % Og;
          for (gint64 ic = g * Cg; ic < (g + 1) * Cg; ic++)
            for (gint64 ky = 0; ky < K[0]; ky++) {
              gint64 ty = oy + pad[0] - ky * dil[0];
              if (ty < 0 || ty % stride[0] || ty / stride[0] >= H)
                continue;
              for (gint64 kx = 0; kx < K[1]; kx++) {
                gint64 tx = ox + pad[2] - kx * dil[1];
                if (tx < 0 || tx % stride[1] || tx / stride[1] >= W)
                  continue;
                float xv = (float) x->v[((n * C + ic) * H + ty / stride[0]) * W + tx / stride[1]];
                float wv = (float) wt->v[((ic * Og + oo) * K[0] + ky) * K[1] + kx];
                acc += xv * wv;
              }
            }
          if (b)
            acc += (float) b->v[oc];
          *o++ = acc;
        }
  *out = t;
  return TRUE;
}

/* max_pool / avg_pool(x, kernel_sizes, strides, pad_type, pad, ceil_mode,
 * exclude_padding_from_average). An average counts the window's cells
 * inside the padded input (or only inside the input when excluding the
 * padding). */
static gboolean
pool (MilCtx *c, MilTensor **out, gboolean avg, GError **error)
{
  const MilTensor *x;
  gboolean ceil_mode, excl, no = FALSE;
  int nk;
  Window w;
  static const gint64 unit[2] = { 1, 1 };
  int ns;
  if (!mil_arg (c, "x", TRUE, &x, error) || !need_rank (c, "x", x, 4, error) ||
      !need_float (c, "x", x, error) ||
      !mil_arg_ints (c, "kernel_sizes", 2, NULL, 0, w.k, &nk, error) ||
      !mil_arg_ints (c, "strides", 2, unit, 2, w.stride, &ns, error) ||
      !mil_arg_bool (c, "ceil_mode", &no, &ceil_mode, error) ||
      (avg && !mil_arg_bool (c, "exclude_padding_from_average", &no, &excl, error)))
    return FALSE;
  if (nk != 2 || ns != 2)
    return mil_fail (c, error, "kernel_sizes and strides need 2 values");
  if (!avg)
    excl = TRUE;
  w.dil[0] = w.dil[1] = 1;
  w.in[0] = x->shape[2];
  w.in[1] = x->shape[3];
  if (!window_setup (c, &w, ceil_mode, error))
    return FALSE;
  gint64 shape[4] = { x->shape[0], x->shape[1], w.out[0], w.out[1] }, H = w.in[0], W = w.in[1];
  MilTensor *t = mil_tensor_new (x->dtype, 4, shape);
  double *o = t->v;
  for (gint64 nc = 0; nc < shape[0] * shape[1]; nc++)
    for (gint64 oy = 0; oy < w.out[0]; oy++)
      for (gint64 ox = 0; ox < w.out[1]; ox++) {
        float acc = avg ? 0.0f : -INFINITY;
        gint64 count = 0;
        for (gint64 ky = 0; ky < w.k[0]; ky++)
          for (gint64 kx = 0; kx < w.k[1]; kx++) {
            gint64 iy = oy * w.stride[0] - w.before[0] + ky,
                   ix = ox * w.stride[1] - w.before[1] + kx;
            gboolean inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
            gboolean padded = iy < H + w.after[0] && ix < W + w.after[1];
            if (inside || (!excl && padded))
              count++;
            if (!inside)
              continue;
            float v = (float) x->v[(nc * H + iy) * W + ix];
            acc = avg ? acc + v : f_max (acc, v);
          }
        *o++ = avg ? acc / (float) count : acc;
      }
  *out = t;
  return TRUE;
}

static gboolean
op_max_pool (MilCtx *c, MilTensor **out, GError **error)
{
  return pool (c, out, FALSE, error);
}

static gboolean
op_avg_pool (MilCtx *c, MilTensor **out, GError **error)
{
  return pool (c, out, TRUE, error);
}

/* ---- linear, matmul ---- */

/* linear(x, weight, bias?): y[..., o] = sum_i x[..., i] w[o, i] + b[o]. */
static gboolean
op_linear (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x, *wt, *b;
  if (!mil_arg (c, "x", TRUE, &x, error) || !mil_arg (c, "weight", TRUE, &wt, error) ||
      !mil_arg (c, "bias", FALSE, &b, error) || !need_float (c, "x", x, error) ||
      !need_rank (c, "weight", wt, 2, error))
    return FALSE;
  if (x->rank < 1 || x->shape[x->rank - 1] != wt->shape[1])
    return mil_fail (c, error,
                     "x's last axis does not match weight [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                     "]",
                     wt->shape[0], wt->shape[1]);
  gint64 O = wt->shape[0], I = wt->shape[1], shape[MIL_MAX_RANK];
  if (b && (b->rank != 1 || b->shape[0] != O))
    return mil_fail (c, error, "bias must be [%" G_GINT64_FORMAT "]", O);
  memcpy (shape, x->shape, sizeof shape);
  shape[x->rank - 1] = O;
  MilTensor *t = mil_tensor_new (x->dtype, x->rank, shape);
  for (gsize r = 0; r < x->n / (gsize) MAX (I, 1); r++)
    for (gint64 o = 0; o < O; o++) {
      float acc = 0;
      for (gint64 i = 0; i < I; i++)
        acc += (float) x->v[r * I + i] * (float) wt->v[o * I + i];
      if (b)
        acc += (float) b->v[o];
      t->v[r * O + o] = acc;
    }
  *out = t;
  return TRUE;
}

/* matmul(x, y, transpose_x, transpose_y): rank >= 2 each, batch dims
 * broadcast numpy-style. */
static gboolean
op_matmul (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x, *y;
  gboolean tx, ty, no = FALSE;
  if (!mil_arg (c, "x", TRUE, &x, error) || !mil_arg (c, "y", TRUE, &y, error) ||
      !mil_arg_bool (c, "transpose_x", &no, &tx, error) ||
      !mil_arg_bool (c, "transpose_y", &no, &ty, error) || !need_float (c, "x", x, error))
    return FALSE;
  if (x->rank < 2 || y->rank < 2 || x->dtype != y->dtype)
    return mil_fail (c, error, "x and y must be one float dtype, rank >= 2");
  gint64 M = x->shape[x->rank - (tx ? 1 : 2)], K = x->shape[x->rank - (tx ? 2 : 1)];
  gint64 K2 = y->shape[y->rank - (ty ? 1 : 2)], N = y->shape[y->rank - (ty ? 2 : 1)];
  if (K != K2)
    return mil_fail (
        c, error, "inner dimensions %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT " differ", K, K2);
  int rank = MAX (x->rank, y->rank), nb = rank - 2;
  gint64 shape[MIL_MAX_RANK], bx[MIL_MAX_RANK], by[MIL_MAX_RANK];
  for (int i = 0; i < nb; i++) {
    int xi = i - (rank - x->rank), yi = i - (rank - y->rank);
    bx[i] = xi >= 0 ? x->shape[xi] : 1;
    by[i] = yi >= 0 ? y->shape[yi] : 1;
    if (bx[i] != by[i] && bx[i] != 1 && by[i] != 1)
      return mil_fail (c, error, "batch dimensions do not broadcast");
    shape[i] = MAX (bx[i], by[i]);
  }
  shape[nb] = M;
  shape[nb + 1] = N;
  MilTensor *t = mil_tensor_new (x->dtype, rank, shape);
  gint64 idx[MIL_MAX_RANK] = { 0 }, nbatch = (gint64) t->n / MAX (M * N, 1);
  for (gint64 bi = 0; bi < nbatch; bi++, next_index (nb, shape, idx)) {
    gint64 xo = 0, yo = 0;
    for (int i = 0; i < nb; i++) {
      xo = xo * bx[i] + (bx[i] == 1 ? 0 : idx[i]);
      yo = yo * by[i] + (by[i] == 1 ? 0 : idx[i]);
    }
    const double *xp = x->v + xo * M * K, *yp = y->v + yo * K * N;
    for (gint64 m = 0; m < M; m++)
      for (gint64 n = 0; n < N; n++) {
        float acc = 0;
        for (gint64 k = 0; k < K; k++)
          acc += (float) xp[tx ? k * M + m : m * K + k] * (float) yp[ty ? n * K + k : k * N + n];
        t->v[(bi * M + m) * N + n] = acc;
      }
  }
  *out = t;
  return TRUE;
}

/* ---- reductions, softmax, batch_norm ---- */

typedef enum { RED_SUM, RED_MEAN, RED_MAX, RED_MIN } RedKind;

/* reduce_*(x, axes?, keep_dims=false): all axes when axes is absent. */
static gboolean
reduce (MilCtx *c, MilTensor **out, RedKind kind, GError **error)
{
  const MilTensor *x;
  gint64 axes[MIL_MAX_RANK];
  int na;
  gboolean keep, no = FALSE, red[MIL_MAX_RANK] = { 0 };
  if (!mil_arg (c, "x", TRUE, &x, error) || !need_float (c, "x", x, error) ||
      !mil_arg_bool (c, "keep_dims", &no, &keep, error) ||
      !mil_arg_ints (c, "axes", MIL_MAX_RANK, axes, 0, axes, &na, error))
    return FALSE;
  const MilTensor *given;
  mil_arg (c, "axes", FALSE, &given, NULL);
  for (int i = 0; i < x->rank; i++)
    red[i] = given == NULL;
  for (int i = 0; i < na; i++) {
    int a;
    if (!norm_axis (c, "axis", axes[i], x->rank, &a, error))
      return FALSE;
    red[a] = TRUE;
  }
  gint64 kshape[MIL_MAX_RANK], oshape[MIL_MAX_RANK], kst[MIL_MAX_RANK];
  int orank = 0;
  for (int i = 0; i < x->rank; i++) {
    kshape[i] = red[i] ? 1 : x->shape[i];
    if (keep || !red[i])
      oshape[orank++] = kshape[i];
  }
  strides_of (x->rank, kshape, kst);
  gsize nout = 1, count = x->n;
  for (int i = 0; i < x->rank; i++)
    nout *= (gsize) kshape[i];
  count = nout ? x->n / nout : 0;
  float *acc = g_new (float, MAX (nout, 1));
  for (gsize o = 0; o < nout; o++)
    acc[o] = kind == RED_MAX ? -INFINITY : kind == RED_MIN ? INFINITY : 0.0f;
  gint64 idx[MIL_MAX_RANK] = { 0 };
  for (gsize i = 0; i < x->n; i++, next_index (x->rank, x->shape, idx)) {
    gint64 o = 0;
    for (int d = 0; d < x->rank; d++)
      o += (red[d] ? 0 : idx[d]) * kst[d];
    float v = (float) x->v[i];
    acc[o] = kind == RED_MAX ? f_max (acc[o], v) : kind == RED_MIN ? f_min (acc[o], v) : acc[o] + v;
  }
  MilTensor *t = mil_tensor_new (x->dtype, orank, oshape);
  for (gsize o = 0; o < nout; o++)
    t->v[o] = kind == RED_MEAN ? acc[o] / (float) count : acc[o];
  g_free (acc);
  *out = t;
  return TRUE;
}

static gboolean
op_reduce_sum (MilCtx *c, MilTensor **out, GError **error)
{
  return reduce (c, out, RED_SUM, error);
}
static gboolean
op_reduce_mean (MilCtx *c, MilTensor **out, GError **error)
{
  return reduce (c, out, RED_MEAN, error);
}
static gboolean
op_reduce_max (MilCtx *c, MilTensor **out, GError **error)
{
  return reduce (c, out, RED_MAX, error);
}
static gboolean
op_reduce_min (MilCtx *c, MilTensor **out, GError **error)
{
  return reduce (c, out, RED_MIN, error);
}

/* The sizes around @axis: outer x len x inner. */
static void
split_at (const MilTensor *x, int axis, gint64 *outer, gint64 *len, gint64 *inner)
{
  *outer = *inner = 1;
  for (int i = 0; i < axis; i++)
    *outer *= x->shape[i];
  for (int i = axis + 1; i < x->rank; i++)
    *inner *= x->shape[i];
  *len = x->shape[axis];
}

/* softmax(x, axis=-1): exp(x - max) / sum, all in fp32. */
static gboolean
op_softmax (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x;
  gint64 a, dflt = -1, outer, len, inner;
  int axis;
  if (!mil_arg (c, "x", TRUE, &x, error) || !need_float (c, "x", x, error) ||
      !mil_arg_int (c, "axis", &dflt, &a, error) ||
      !norm_axis (c, "axis", a, x->rank, &axis, error))
    return FALSE;
  split_at (x, axis, &outer, &len, &inner);
  MilTensor *t = mil_tensor_new (x->dtype, x->rank, x->shape);
  for (gint64 o = 0; o < outer; o++)
    for (gint64 i = 0; i < inner; i++) {
      const double *xp = x->v + o * len * inner + i;
      double *yp = t->v + o * len * inner + i;
      float m = -INFINITY, s = 0;
      for (gint64 k = 0; k < len; k++)
        m = f_max (m, (float) xp[k * inner]);
      for (gint64 k = 0; k < len; k++) {
        float e = expf ((float) xp[k * inner] - m);
        yp[k * inner] = e;
        s += e;
      }
      for (gint64 k = 0; k < len; k++)
        yp[k * inner] = (float) yp[k * inner] / s;
    }
  *out = t;
  return TRUE;
}

/* A per-channel vector argument of @C values, or NULL when absent. */
static gboolean
channel_vec (MilCtx *c, const char *name, gboolean required, gint64 C, const MilTensor **out,
             GError **error)
{
  if (!mil_arg (c, name, required, out, error))
    return FALSE;
  if (*out && ((*out)->rank != 1 || (*out)->shape[0] != C))
    return mil_fail (c, error, "%s must be [%" G_GINT64_FORMAT "]", name, C);
  return TRUE;
}

/* batch_norm(x, mean, variance, gamma?, beta?, epsilon=1e-5) over axis 1. */
static gboolean
op_batch_norm (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x, *mean, *var, *gamma, *beta;
  double eps, dflt = 1e-5;
  if (!mil_arg (c, "x", TRUE, &x, error) || !need_float (c, "x", x, error))
    return FALSE;
  if (x->rank < 2)
    return mil_fail (c, error, "x must have rank >= 2");
  gint64 C = x->shape[1], outer, len, inner;
  if (!channel_vec (c, "mean", TRUE, C, &mean, error) ||
      !channel_vec (c, "variance", TRUE, C, &var, error) ||
      !channel_vec (c, "gamma", FALSE, C, &gamma, error) ||
      !channel_vec (c, "beta", FALSE, C, &beta, error) ||
      !mil_arg_float (c, "epsilon", &dflt, &eps, error))
    return FALSE;
  split_at (x, 1, &outer, &len, &inner);
  MilTensor *t = mil_tensor_new (x->dtype, x->rank, x->shape);
  for (gsize i = 0; i < x->n; i++) {
    gint64 ch = (gint64) (i / (gsize) inner) % C;
    float s = 1.0f / sqrtf ((float) var->v[ch] + (float) eps);
    float v = ((float) x->v[i] - (float) mean->v[ch]) * s;
    if (gamma)
      v *= (float) gamma->v[ch];
    if (beta)
      v += (float) beta->v[ch];
    t->v[i] = v;
  }
  *out = t;
  return TRUE;
}

/* ---- layout ops ---- */

/* concat(values, axis, interleave=false). */
static gboolean
op_concat (MilCtx *c, MilTensor **out, GError **error)
{
  GPtrArray *vals;
  gint64 a;
  gboolean inter, no = FALSE;
  int axis;
  if (!mil_arg_int (c, "axis", NULL, &a, error) ||
      !mil_arg_bool (c, "interleave", &no, &inter, error))
    return FALSE;
  if (inter)
    return mil_fail (c, error, "interleave = true is not supported");
  if (!mil_arg_list (c, "values", &vals, error))
    return FALSE;
  gboolean ok = vals->len > 0;
  const MilTensor *v0 = ok ? vals->pdata[0] : NULL;
  ok = ok && norm_axis (c, "axis", a, v0->rank, &axis, error);
  gint64 shape[MIL_MAX_RANK], outer, len, inner;
  if (ok) {
    memcpy (shape, v0->shape, sizeof shape);
    shape[axis] = 0;
  }
  for (guint k = 0; ok && k < vals->len; k++) {
    const MilTensor *v = vals->pdata[k];
    ok = v->rank == v0->rank && v->dtype == v0->dtype;
    for (int i = 0; ok && i < v->rank; i++)
      ok = i == axis || v->shape[i] == v0->shape[i];
    shape[axis] += ok ? v->shape[axis] : 0;
    if (!ok)
      mil_fail (c, error, "values[%u] does not match values[0] off the axis", k);
  }
  if (!ok) {
    if (vals->len == 0)
      mil_fail (c, error, "no values");
    g_ptr_array_unref (vals);
    return FALSE;
  }
  MilTensor *t = mil_tensor_new (v0->dtype, v0->rank, shape);
  split_at (t, axis, &outer, &len, &inner);
  double *o = t->v;
  for (gint64 i = 0; i < outer; i++)
    for (guint k = 0; k < vals->len; k++) {
      const MilTensor *v = vals->pdata[k];
      gsize chunk = (gsize) (v->shape[axis] * inner);
      memcpy (o, v->v + i * chunk, chunk * sizeof (double));
      o += chunk;
    }
  g_ptr_array_unref (vals);
  *out = t;
  return TRUE;
}

/* reshape(x, shape): one -1 may be inferred. */
static gboolean
op_reshape (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x;
  gint64 shape[MIL_MAX_RANK];
  int n, infer = -1;
  if (!mil_arg (c, "x", TRUE, &x, error) ||
      !mil_arg_ints (c, "shape", MIL_MAX_RANK, NULL, 0, shape, &n, error))
    return FALSE;
  gint64 known = 1;
  for (int i = 0; i < n; i++) {
    if (shape[i] == -1 && infer < 0)
      infer = i;
    else if (shape[i] < 1)
      return mil_fail (c, error, "shape[%d] = %" G_GINT64_FORMAT " is not supported", i, shape[i]);
    else
      known *= shape[i];
  }
  if (infer >= 0)
    shape[infer] = known ? (gint64) x->n / known : 0;
  gint64 total = 1;
  for (int i = 0; i < n; i++)
    total *= shape[i];
  if ((gsize) total != x->n)
    return mil_fail (c, error, "%zu elements cannot take shape of %" G_GINT64_FORMAT, x->n, total);
  MilTensor *t = mil_tensor_new (x->dtype, n, shape);
  memcpy (t->v, x->v, x->n * sizeof (double));
  *out = t;
  return TRUE;
}

/* transpose(x, perm): out.shape[i] = x.shape[perm[i]]. */
static gboolean
op_transpose (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x;
  gint64 perm[MIL_MAX_RANK], shape[MIL_MAX_RANK], xst[MIL_MAX_RANK], idx[MIL_MAX_RANK] = { 0 };
  int n;
  gboolean seen[MIL_MAX_RANK] = { 0 };
  if (!mil_arg (c, "x", TRUE, &x, error) ||
      !mil_arg_ints (c, "perm", MIL_MAX_RANK, NULL, 0, perm, &n, error))
    return FALSE;
  if (n != x->rank)
    return mil_fail (c, error, "perm has %d values for rank %d", n, x->rank);
  for (int i = 0; i < n; i++) {
    int a;
    if (!norm_axis (c, "perm value", perm[i], n, &a, error))
      return FALSE;
    if (seen[a])
      return mil_fail (c, error, "perm repeats axis %d", a);
    seen[a] = TRUE;
    perm[i] = a;
    shape[i] = x->shape[a];
  }
  strides_of (x->rank, x->shape, xst);
  MilTensor *t = mil_tensor_new (x->dtype, n, shape);
  for (gsize o = 0; o < t->n; o++, next_index (n, shape, idx)) {
    gint64 off = 0;
    for (int i = 0; i < n; i++)
      off += idx[i] * xst[perm[i]];
    t->v[o] = x->v[off];
  }
  *out = t;
  return TRUE;
}

/* upsample_nearest_neighbor(x, scale_factor_height=1, scale_factor_width=1):
 * out = floor(in * s), source row floor(out_row / s). */
static gboolean
op_upsample_nearest_neighbor (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x;
  double s[2], one = 1;
  if (!mil_arg (c, "x", TRUE, &x, error) || !need_rank (c, "x", x, 4, error) ||
      !mil_arg_float (c, "scale_factor_height", &one, &s[0], error) ||
      !mil_arg_float (c, "scale_factor_width", &one, &s[1], error))
    return FALSE;
  if (!(s[0] > 0) || !(s[1] > 0)) /* NaN too */
    return mil_fail (c, error, "scale factors must be positive");
  if (s[0] > MIL_MAX_OUT || s[1] > MIL_MAX_OUT)
    return mil_fail (c, error, "scale factors above %" G_GINT64_FORMAT, MIL_MAX_OUT);
  gint64 H = x->shape[2], W = x->shape[3];
  gint64 shape[4] = { x->shape[0], x->shape[1], (gint64) floor (H * s[0]),
                      (gint64) floor (W * s[1]) };
  if (too_big (c, 4, shape, error))
    return FALSE;
  MilTensor *t = mil_tensor_new (x->dtype, 4, shape);
  double *o = t->v;
  for (gint64 nc = 0; nc < shape[0] * shape[1]; nc++)
    for (gint64 y = 0; y < shape[2]; y++)
      for (gint64 xx = 0; xx < shape[3]; xx++) {
        gint64 sy = MIN ((gint64) floor (y / s[0]), H - 1),
               sx = MIN ((gint64) floor (xx / s[1]), W - 1);
        *o++ = x->v[(nc * H + sy) * W + sx];
      }
  *out = t;
  return TRUE;
}

/* resize_bilinear(x, target_size_height, target_size_width, sampling_mode):
 * the grid points of coremltools' definition, clamped to [0, in - 1],
 * interpolated between their two neighbours per axis. */
static double
resize_grid (const char *mode, gint64 in, gint64 out, gint64 i)
{
  double p;
  if (!strcmp (mode, "STRICT_ALIGN_CORNERS") || !strcmp (mode, "ALIGN_CORNERS"))
    p = out > 1 ? (double) i * (in - 1) / (out - 1)
                : (!strcmp (mode, "ALIGN_CORNERS") ? (in - 1) / 2.0 : 0);
  else if (!strcmp (mode, "UNALIGN_CORNERS"))
    p = (i + 0.5) * in / out - 0.5;
  else if (!strcmp (mode, "OFFSET_CORNERS")) {
    double delta = MAX (1.0, (double) in - 1) / out;
    p = 0.5 * delta + i * delta;
  } else /* DEFAULT */
    p = out > 1 ? i * ((double) in - (double) in / out) / (out - 1) : 0;
  return CLAMP (p, 0, (double) (in - 1));
}

static gboolean
op_resize_bilinear (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x;
  gint64 one = 1, th, tw;
  const char *mode;
  if (!mil_arg (c, "x", TRUE, &x, error) || !need_rank (c, "x", x, 4, error) ||
      !need_float (c, "x", x, error) || !mil_arg_int (c, "target_size_height", &one, &th, error) ||
      !mil_arg_int (c, "target_size_width", &one, &tw, error) ||
      !mil_arg_string (c, "sampling_mode", "DEFAULT", &mode, error))
    return FALSE;
  static const char *const modes[] = { "STRICT_ALIGN_CORNERS", "ALIGN_CORNERS",   "DEFAULT",
                                       "OFFSET_CORNERS",       "UNALIGN_CORNERS", NULL };
  if (!g_strv_contains (modes, mode))
    return mil_fail (c, error, "unknown sampling_mode \"%s\"", mode);
  if (th < 1 || tw < 1)
    return mil_fail (c, error, "target sizes must be >= 1");
  gint64 H = x->shape[2], W = x->shape[3], shape[4] = { x->shape[0], x->shape[1], th, tw };
  if (too_big (c, 4, shape, error))
    return FALSE;
  MilTensor *t = mil_tensor_new (x->dtype, 4, shape);
  double *o = t->v;
  for (gint64 nc = 0; nc < shape[0] * shape[1]; nc++) {
    const double *p = x->v + nc * H * W;
    for (gint64 y = 0; y < th; y++) {
      double sy = resize_grid (mode, H, th, y);
      gint64 y0 = (gint64) floor (sy), y1 = MIN (y0 + 1, H - 1);
      float fy = (float) (sy - y0);
      for (gint64 xx = 0; xx < tw; xx++) {
        double sx = resize_grid (mode, W, tw, xx);
        gint64 x0 = (gint64) floor (sx), x1 = MIN (x0 + 1, W - 1);
        float fx = (float) (sx - x0);
        float top = (float) p[y0 * W + x0] * (1 - fx) + (float) p[y0 * W + x1] * fx;
        float bot = (float) p[y1 * W + x0] * (1 - fx) + (float) p[y1 * W + x1] * fx;
        *o++ = top * (1 - fy) + bot * fy;
      }
    }
  }
  *out = t;
  return TRUE;
}

/* pad(x, pad, mode="constant", constant_val=0): pad holds (before, after)
 * pairs for the last len(pad)/2 axes. */
static gboolean
op_pad (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x;
  const char *mode;
  double cv, zero = 0;
  gint64 pad[2 * MIL_MAX_RANK], before[MIL_MAX_RANK] = { 0 }, shape[MIL_MAX_RANK];
  gint64 idx[MIL_MAX_RANK] = { 0 }, xst[MIL_MAX_RANK];
  int n;
  if (!mil_arg (c, "x", TRUE, &x, error) ||
      !mil_arg_ints (c, "pad", 2 * MIL_MAX_RANK, NULL, 0, pad, &n, error) ||
      !mil_arg_string (c, "mode", "constant", &mode, error) ||
      !mil_arg_float (c, "constant_val", &zero, &cv, error))
    return FALSE;
  if (strcmp (mode, "constant"))
    return mil_fail (c, error, "pad mode \"%s\" is not supported", mode);
  if (n % 2 || n / 2 > x->rank)
    return mil_fail (c, error, "pad has %d values for rank %d", n, x->rank);
  memcpy (shape, x->shape, sizeof shape);
  for (int k = 0; k < n / 2; k++) {
    int a = x->rank - n / 2 + k;
    if (pad[2 * k] < 0 || pad[2 * k + 1] < 0)
      return mil_fail (c, error, "negative pad");
    if (pad[2 * k] > MIL_MAX_OUT || pad[2 * k + 1] > MIL_MAX_OUT)
      return mil_fail (c, error, "pad above %" G_GINT64_FORMAT, MIL_MAX_OUT);
    before[a] = pad[2 * k];
    shape[a] += pad[2 * k] + pad[2 * k + 1];
  }
  if (too_big (c, x->rank, shape, error))
    return FALSE;
  strides_of (x->rank, x->shape, xst);
  MilTensor *t = mil_tensor_new (x->dtype, x->rank, shape);
  for (gsize o = 0; o < t->n; o++, next_index (x->rank, shape, idx)) {
    gint64 off = 0;
    gboolean inside = TRUE;
    for (int i = 0; i < x->rank && inside; i++) {
      gint64 s = idx[i] - before[i];
      inside = s >= 0 && s < x->shape[i];
      off += s * xst[i];
    }
    t->v[o] = inside ? x->v[off] : cv;
  }
  *out = t;
  return TRUE;
}

/* A bool vector argument of @rank values (default all false). */
static gboolean
mask_arg (MilCtx *c, const char *name, int rank, gboolean *out, GError **error)
{
  const MilTensor *m;
  memset (out, 0, sizeof (gboolean) * MIL_MAX_RANK);
  if (!mil_arg (c, name, FALSE, &m, error))
    return FALSE;
  if (!m)
    return TRUE;
  if (m->dtype != MIL_BOOL || m->rank != 1 || m->shape[0] != rank)
    return mil_fail (c, error, "%s must be bool [%d]", name, rank);
  for (int i = 0; i < rank; i++)
    out[i] = m->v[i] != 0;
  return TRUE;
}

/* slice_by_index(x, begin, end, stride?, begin_mask?, end_mask?,
 * squeeze_mask?): Python slice semantics per axis (negative indices count
 * from the end, out-of-range bounds clamp). */
static gboolean
op_slice_by_index (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x;
  gint64 b[MIL_MAX_RANK], e[MIL_MAX_RANK], s[MIL_MAX_RANK], ones[MIL_MAX_RANK];
  gboolean bm[MIL_MAX_RANK], em[MIL_MAX_RANK], sq[MIL_MAX_RANK];
  int nb, ne, ns;
  if (!mil_arg (c, "x", TRUE, &x, error))
    return FALSE;
  int r = x->rank;
  for (int i = 0; i < MIL_MAX_RANK; i++)
    ones[i] = 1;
  if (!mil_arg_ints (c, "begin", r, NULL, 0, b, &nb, error) ||
      !mil_arg_ints (c, "end", r, NULL, 0, e, &ne, error) ||
      !mil_arg_ints (c, "stride", r, ones, r, s, &ns, error) ||
      !mask_arg (c, "begin_mask", r, bm, error) || !mask_arg (c, "end_mask", r, em, error) ||
      !mask_arg (c, "squeeze_mask", r, sq, error))
    return FALSE;
  if (nb != r || ne != r || ns != r)
    return mil_fail (c, error, "begin, end and stride need %d values", r);
  gint64 first[MIL_MAX_RANK], cnt[MIL_MAX_RANK], oshape[MIL_MAX_RANK], xst[MIL_MAX_RANK];
  int orank = 0;
  for (int i = 0; i < r; i++) {
    gint64 d = x->shape[i], st = s[i];
    if (st == 0)
      return mil_fail (c, error, "stride[%d] is 0", i);
    gint64 lo = st > 0 ? 0 : -1, hi = st > 0 ? d : d - 1;
    gint64 bi = bm[i] ? (st > 0 ? 0 : d - 1) : (b[i] < 0 ? b[i] + d : b[i]);
    gint64 ei = em[i] ? (st > 0 ? d : -1) : (e[i] < 0 ? e[i] + d : e[i]);
    if (!bm[i])
      bi = CLAMP (bi, lo, hi);
    if (!em[i])
      ei = CLAMP (ei, lo, hi);
    if (sq[i]) {
      if (bi < 0 || bi >= d)
        return mil_fail (c, error, "squeezed index %" G_GINT64_FORMAT " out of range", b[i]);
      ei = bi + 1;
      st = 1;
    }
    first[i] = bi;
    s[i] = st;
    cnt[i] = st > 0 ? MAX (0, (ei - bi + st - 1) / st) : MAX (0, (bi - ei - st - 1) / -st);
    if (!sq[i])
      oshape[orank++] = cnt[i];
  }
  strides_of (r, x->shape, xst);
  MilTensor *t = mil_tensor_new (x->dtype, orank, oshape);
  gint64 idx[MIL_MAX_RANK] = { 0 };
  for (gsize o = 0; o < t->n; o++, next_index (r, cnt, idx)) {
    gint64 off = 0;
    for (int i = 0; i < r; i++)
      off += (first[i] + idx[i] * s[i]) * xst[i];
    t->v[o] = x->v[off];
  }
  *out = t;
  return TRUE;
}

/* squeeze(x, axes?) drops the given size-1 axes (all size-1 axes if absent);
 * expand_dims(x, axes) inserts size-1 axes at output positions. */
static gboolean
op_squeeze (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x, *given;
  gint64 axes[MIL_MAX_RANK], shape[MIL_MAX_RANK];
  gboolean drop[MIL_MAX_RANK] = { 0 };
  int na, r = 0;
  if (!mil_arg (c, "x", TRUE, &x, error) ||
      !mil_arg_ints (c, "axes", MIL_MAX_RANK, axes, 0, axes, &na, error) ||
      !mil_arg (c, "axes", FALSE, &given, error))
    return FALSE;
  for (int i = 0; i < x->rank; i++)
    drop[i] = !given && x->shape[i] == 1;
  for (int i = 0; i < na; i++) {
    int a;
    if (!norm_axis (c, "axis", axes[i], x->rank, &a, error))
      return FALSE;
    if (x->shape[a] != 1)
      return mil_fail (c, error, "axis %d has size %" G_GINT64_FORMAT, a, x->shape[a]);
    drop[a] = TRUE;
  }
  for (int i = 0; i < x->rank; i++)
    if (!drop[i])
      shape[r++] = x->shape[i];
  MilTensor *t = mil_tensor_new (x->dtype, r, shape);
  memcpy (t->v, x->v, x->n * sizeof (double));
  *out = t;
  return TRUE;
}

static gboolean
op_expand_dims (MilCtx *c, MilTensor **out, GError **error)
{
  const MilTensor *x;
  gint64 axes[MIL_MAX_RANK], shape[MIL_MAX_RANK];
  gboolean ins[MIL_MAX_RANK] = { 0 };
  int na;
  if (!mil_arg (c, "x", TRUE, &x, error) ||
      !mil_arg_ints (c, "axes", MIL_MAX_RANK, NULL, 0, axes, &na, error))
    return FALSE;
  int r = x->rank + na;
  if (r > MIL_MAX_RANK)
    return mil_fail (c, error, "rank above %d", MIL_MAX_RANK);
  for (int i = 0; i < na; i++) {
    int a;
    if (!norm_axis (c, "axis", axes[i], r, &a, error))
      return FALSE;
    ins[a] = TRUE;
  }
  for (int i = 0, k = 0; i < r; i++)
    shape[i] = ins[i] ? 1 : (k < x->rank ? x->shape[k++] : 1);
  MilTensor *t = mil_tensor_new (x->dtype, r, shape);
  memcpy (t->v, x->v, x->n * sizeof (double));
  *out = t;
  return TRUE;
}

/* ---- the table ---- */

#define X1                                                                                         \
  {                                                                                                \
    "x", NULL                                                                                      \
  }
static const MilOpDef ops[] = {
  { "const", op_const, { "val", NULL } },
  { "cast", op_cast, { "x", "dtype", NULL } },
  { "add", op_add, { "x", "y", NULL } },
  { "sub", op_sub, { "x", "y", NULL } },
  { "mul", op_mul, { "x", "y", NULL } },
  { "real_div", op_real_div, { "x", "y", NULL } },
  { "maximum", op_maximum, { "x", "y", NULL } },
  { "minimum", op_minimum, { "x", "y", NULL } },
  { "pow", op_pow, { "x", "y", NULL } },
  { "relu", op_relu, X1 },
  { "sigmoid", op_sigmoid, X1 },
  { "tanh", op_tanh, X1 },
  { "silu", op_silu, X1 },
  { "exp", op_exp, X1 },
  { "abs", op_abs, X1 },
  { "sqrt", op_sqrt, X1 },
  { "rsqrt", op_rsqrt, { "x", "epsilon", NULL } },
  { "inverse", op_inverse, { "x", "epsilon", NULL } },
  { "square", op_square, X1 },
  { "floor", op_floor, X1 },
  { "ceil", op_ceil, X1 },
  { "round", op_round, X1 },
  { "erf", op_erf, X1 },
  { "leaky_relu", op_leaky_relu, { "x", "alpha", NULL } },
  { "clip", op_clip, { "x", "alpha", "beta", NULL } },
  { "gelu", op_gelu, { "x", "mode", NULL } },
  { "sigmoid_hard", op_sigmoid_hard, { "x", "alpha", "beta", NULL } },
  { "conv",
    op_conv,
    { "x", "weight", "bias", "strides", "pad_type", "pad", "dilations", "groups", NULL } },
  { "conv_transpose",
    op_conv_transpose,
    { "x", "weight", "bias", "strides", "pad_type", "pad", "dilations", "groups", "output_shape",
      NULL } },
  { "max_pool",
    op_max_pool,
    { "x", "kernel_sizes", "strides", "pad_type", "pad", "ceil_mode", NULL } },
  { "avg_pool",
    op_avg_pool,
    { "x", "kernel_sizes", "strides", "pad_type", "pad", "ceil_mode",
      "exclude_padding_from_average", NULL } },
  { "linear", op_linear, { "x", "weight", "bias", NULL } },
  { "matmul", op_matmul, { "x", "y", "transpose_x", "transpose_y", NULL } },
  { "reduce_sum", op_reduce_sum, { "x", "axes", "keep_dims", NULL } },
  { "reduce_mean", op_reduce_mean, { "x", "axes", "keep_dims", NULL } },
  { "reduce_max", op_reduce_max, { "x", "axes", "keep_dims", NULL } },
  { "reduce_min", op_reduce_min, { "x", "axes", "keep_dims", NULL } },
  { "softmax", op_softmax, { "x", "axis", NULL } },
  { "batch_norm", op_batch_norm, { "x", "mean", "variance", "gamma", "beta", "epsilon", NULL } },
  { "concat", op_concat, { "values", "axis", "interleave", NULL } },
  { "reshape", op_reshape, { "x", "shape", NULL } },
  { "transpose", op_transpose, { "x", "perm", NULL } },
  { "upsample_nearest_neighbor",
    op_upsample_nearest_neighbor,
    { "x", "scale_factor_height", "scale_factor_width", NULL } },
  { "resize_bilinear",
    op_resize_bilinear,
    { "x", "target_size_height", "target_size_width", "sampling_mode", NULL } },
  { "pad", op_pad, { "x", "pad", "mode", "constant_val", NULL } },
  { "slice_by_index",
    op_slice_by_index,
    { "x", "begin", "end", "stride", "begin_mask", "end_mask", "squeeze_mask", NULL } },
  { "squeeze", op_squeeze, { "x", "axes", NULL } },
  { "expand_dims", op_expand_dims, { "x", "axes", NULL } },
};

const MilOpDef *
mil_op_lookup (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (ops); i++)
    if (strcmp (ops[i].name, name) == 0)
      return &ops[i];
  return NULL;
}

const char *const *
mil_supported_ops (void)
{
  static const char *names[G_N_ELEMENTS (ops) + 1];
  for (gsize i = 0; i < G_N_ELEMENTS (ops); i++)
    names[i] = ops[i].name;
  return names;
}
