/* ops.c — one mapper per TFLite operator (TFL_OPS in tflite-internal.h)
 * and MediaPipe's Convolution2DTransposeBias. */
#include "tflite-internal.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------ operators */

static gint32
tfl_in (const AfTflOp *op, guint i)
{
  return i < op->in.n ? af_fb_vector_i32 (&op->in, i) : -1;
}

static gint32
tfl_out (const AfTflOp *op)
{
  return af_fb_vector_i32 (&op->out, 0);
}

/* Checks arity and that every given tensor index is in range. */
static gboolean
tfl_check_io (AfTfl *c, const AfTflOp *op, guint min_in, guint max_in, GError **error)
{
  if (op->in.n < min_in || op->in.n > max_in)
    return af__tfl_fail (c, error, AF_ERROR_INVALID,
                         "field \"inputs\": %u inputs, expected %u to %u", op->in.n, min_in,
                         max_in);
  if (op->out.n != 1)
    return af__tfl_fail (c, error, AF_ERROR_INVALID, "field \"outputs\": %u outputs, expected 1",
                         op->out.n);
  for (guint i = 0; i < op->in.n; i++) {
    gint32 idx = af_fb_vector_i32 (&op->in, i);
    if (idx == -1 && i >= min_in)
      continue;
    if (!af__tfl_tensor_index (c, idx, "field \"inputs\"", error))
      return FALSE;
  }
  if (!af__tfl_tensor_index (c, tfl_out (op), "field \"outputs\"", error))
    return FALSE;
  if (af__tfl_is_const (&c->t[tfl_out (op)]) || c->t[tfl_out (op)].value)
    return af__tfl_fail (c, error, AF_ERROR_INVALID,
                         "field \"outputs\": tensor %d is a constant or already produced",
                         tfl_out (op));
  return TRUE;
}

static gboolean
tfl_opt_i8 (AfTfl *c, const AfTflOp *op, guint id, gint8 dflt, gint8 *out, GError **error)
{
  GError *local = NULL;
  *out = dflt;
  if (op->has_opt && !af_fb_i8 (&op->opt, id, dflt, out, &local))
    return af__tfl_wrap (c, error, local);
  return TRUE;
}

static gboolean
tfl_opt_i32 (AfTfl *c, const AfTflOp *op, guint id, gint32 dflt, gint32 *out, GError **error)
{
  GError *local = NULL;
  *out = dflt;
  if (op->has_opt && !af_fb_i32 (&op->opt, id, dflt, out, &local))
    return af__tfl_wrap (c, error, local);
  return TRUE;
}

static gboolean
tfl_opt_f32 (AfTfl *c, const AfTflOp *op, guint id, float dflt, float *out, GError **error)
{
  GError *local = NULL;
  *out = dflt;
  if (op->has_opt && !af_fb_f32 (&op->opt, id, dflt, out, &local))
    return af__tfl_wrap (c, error, local);
  return TRUE;
}

/* Applies fused activation @act to @y. */
static AfTensor *
tfl_activation (AfTfl *c, AfTensor *y, gint8 act, GError **error)
{
  if (!y)
    return NULL;
  AfAttrs a;
  switch (act) {
  case 0:
    return y;
  case 1:
    return af__tfl_node (c, AF_OP_RELU, 1, &y, NULL, NULL, error);
  case 2:
  case 3:
    if (act == 3)
      return af__tfl_node (c, AF_OP_RELU6, 1, &y, NULL, NULL, error);
    af__attrs_init (AF_OP_CLIP, &a);
    a.min = -1;
    a.max = 1;
    a.set = AF_A (MIN) | AF_A (MAX);
    return af__tfl_node (c, AF_OP_CLIP, 1, &y, &a, NULL, error);
  case 4:
    return af__tfl_node (c, AF_OP_TANH, 1, &y, NULL, NULL, error);
  default:
    af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                  "option \"fused_activation_function\": %d is not supported", act);
    return NULL;
  }
}

/* TF SAME / VALID padding of one spatial dim. */
static gboolean
tfl_padding (AfTfl *c, gint8 padding, gint64 in, gint64 k, gint64 stride, gint64 dil, gint64 *p0,
             gint64 *p1, GError **error)
{
  *p0 = *p1 = 0;
  if (padding == TFL_VALID)
    return TRUE;
  if (padding != TFL_SAME)
    return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                         "option \"padding\": %d is not SAME or VALID", padding);
  gint64 out = (in + stride - 1) / stride;
  gint64 total = MAX ((out - 1) * stride + (k - 1) * dil + 1 - in, 0);
  *p0 = total / 2;
  *p1 = total - *p0;
  return TRUE;
}

typedef struct {
  gint8 padding, act;
  gint32 stride[2], dilation[2]; /* h, w */
} AfTflConvOpts;

static gboolean
tfl_check_spatial (AfTfl *c, const AfTflConvOpts *o, GError **error)
{
  for (int i = 0; i < 2; i++) {
    if (o->stride[i] < 1 || o->stride[i] > 4096)
      return af__tfl_fail (c, error, AF_ERROR_INVALID, "option \"stride_%s\": %d is out of range",
                           i ? "w" : "h", o->stride[i]);
    if (o->dilation[i] < 1 || o->dilation[i] > 4096)
      return af__tfl_fail (c, error, AF_ERROR_INVALID,
                           "option \"dilation_%s_factor\": %d is out of range", i ? "w" : "h",
                           o->dilation[i]);
  }
  return TRUE;
}

/* The conv input: the tensor's unpadded value and its pending spatial pads
 * (a PAD feeding a conv merges into the conv's pads). */
static AfTensor *
tfl_conv_input (AfTfl *c, guint ti, gint64 pre[4], GError **error)
{
  AfTflTensor *t = &c->t[ti];
  memset (pre, 0, 4 * sizeof (gint64));
  if (t->rank != 4) {
    af__tfl_fail (c, error, AF_ERROR_SHAPE, "input 0 \"%s\" has rank %d, expected 4 (NHWC)",
                  t->name, t->rank);
    return NULL;
  }
  if (t->pad_pending && !t->pad[0][0] && !t->pad[0][1] && !t->pad[3][0] && !t->pad[3][1]) {
    pre[0] = t->pad[1][0]; /* top, left, bottom, right */
    pre[1] = t->pad[2][0];
    pre[2] = t->pad[1][1];
    pre[3] = t->pad[2][1];
    return t->value;
  }
  return af__tfl_value (c, ti, error);
}

/* The fp32 data of constant input @i of rank @rank (borrowed from the tensor). */
static const AfTflTensor *
tfl_weight (AfTfl *c, const AfTflOp *op, guint i, int rank, GError **error)
{
  guint ti = (guint) tfl_in (op, i);
  if (!af__tfl_const_f32 (c, ti, error))
    return NULL;
  const AfTflTensor *t = &c->t[ti];
  if (rank && t->rank != rank) {
    af__tfl_fail (c, error, AF_ERROR_WEIGHTS, "input %u \"%s\" has rank %d, expected %d", i,
                  t->name, t->rank, rank);
    return NULL;
  }
  return t;
}

/* The optional bias input 2 as a [@o] constant, or NULL (no error) if absent. */
static gboolean
tfl_bias (AfTfl *c, const AfTflOp *op, gint64 o, AfTensor **bias, GError **error)
{
  *bias = NULL;
  if (tfl_in (op, 2) < 0)
    return TRUE;
  const AfTflTensor *t = tfl_weight (c, op, 2, 0, error);
  if (!t)
    return FALSE;
  if (af__tfl_numel (t->rank, t->d) != o)
    return af__tfl_fail (c, error, AF_ERROR_WEIGHTS,
                         "input 2 \"%s\" has %" G_GINT64_FORMAT
                         " values, expected %" G_GINT64_FORMAT,
                         t->name, af__tfl_numel (t->rank, t->d), o);
  *bias = af__tfl_const (c, t->name, 1, &o, g_memdup2 (t->f32, o * sizeof (float)));
  return TRUE;
}

static gboolean
tfl_conv_options (AfTfl *c, const AfTflOp *op, gboolean depthwise, AfTflConvOpts *o, gint32 *mult,
                  GError **error)
{
  guint b = depthwise ? 1 : 0; /* depthwise has depth_multiplier at id 3 */
  *mult = 0;
  return tfl_opt_i8 (c, op, 0, 0, &o->padding, error) &&
         tfl_opt_i32 (c, op, 1, 0, &o->stride[1], error) &&
         tfl_opt_i32 (c, op, 2, 0, &o->stride[0], error) &&
         (!depthwise || tfl_opt_i32 (c, op, 3, 0, mult, error)) &&
         tfl_opt_i8 (c, op, 3 + b, 0, &o->act, error) &&
         tfl_opt_i32 (c, op, 4 + b, 1, &o->dilation[1], error) &&
         tfl_opt_i32 (c, op, 5 + b, 1, &o->dilation[0], error) && tfl_check_spatial (c, o, error);
}

/* OHWI (conv) or 1HWO (depthwise) -> OIHW; returns the new data. */
static float *
tfl_conv_weight_data (const AfTflTensor *w, gboolean depthwise, gint64 *oihw)
{
  const gint64 *d = w->d;
  gint64 O = depthwise ? d[3] : d[0], KH = d[1], KW = d[2], I = depthwise ? 1 : d[3];
  float *dst = g_new (float, O *I *KH *KW);
  for (gint64 o = 0; o < O; o++)
    for (gint64 i = 0; i < I; i++)
      for (gint64 y = 0; y < KH; y++)
        for (gint64 x = 0; x < KW; x++)
          dst[((o * I + i) * KH + y) * KW + x] =
              depthwise ? w->f32[(y * KW + x) * O + o] : w->f32[((o * KH + y) * KW + x) * I + i];
  oihw[0] = O;
  oihw[1] = I;
  oihw[2] = KH;
  oihw[3] = KW;
  return dst;
}

static gboolean
tfl_import_conv (AfTfl *c, const AfTflOp *op, gboolean depthwise, GError **error)
{
  AfTflConvOpts o;
  gint32 mult;
  gint64 pre[4];
  if (!tfl_check_io (c, op, 2, 3, error) || !tfl_conv_options (c, op, depthwise, &o, &mult, error))
    return FALSE;
  AfTensor *x = tfl_conv_input (c, (guint) tfl_in (op, 0), pre, error);
  const AfTflTensor *w = x ? tfl_weight (c, op, 1, 4, error) : NULL;
  if (!w)
    return FALSE;
  gint64 C = x->shape.d[1], groups;
  if (depthwise) {
    if (w->d[0] != 1 || w->d[3] % C != 0 || (mult > 0 && w->d[3] != C * mult))
      return af__tfl_fail (c, error, AF_ERROR_WEIGHTS,
                           "input 1 \"%s\": depthwise filter [%" G_GINT64_FORMAT
                           ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                           "] does not fit %" G_GINT64_FORMAT
                           " input channels (depth_multiplier %d)",
                           w->name, w->d[0], w->d[1], w->d[2], w->d[3], C, mult);
    groups = C;
  } else {
    if (C % w->d[3] != 0 || w->d[0] % (C / w->d[3]) != 0)
      return af__tfl_fail (c, error, AF_ERROR_WEIGHTS,
                           "input 1 \"%s\": filter has %" G_GINT64_FORMAT
                           " input channels, which does not divide the %" G_GINT64_FORMAT
                           " channels of input 0",
                           w->name, w->d[3], C);
    groups = C / w->d[3];
  }
  gint64 oihw[4];
  float *wdata = tfl_conv_weight_data (w, depthwise, oihw);
  AfTensor *wt = af__tfl_const (c, w->name, 4, oihw, wdata), *bias;
  if (!tfl_bias (c, op, oihw[0], &bias, error))
    return FALSE;
  AfAttrs a;
  af__attrs_init (AF_OP_CONV, &a);
  for (int i = 0; i < 2; i++) {
    gint64 in = x->shape.d[2 + i] + pre[i] + pre[2 + i], p0, p1;
    if (!tfl_padding (c, o.padding, in, oihw[2 + i], o.stride[i], o.dilation[i], &p0, &p1, error))
      return FALSE;
    a.stride[i] = o.stride[i];
    a.dilation[i] = o.dilation[i];
    a.pad[i] = pre[i] + p0;
    a.pad[2 + i] = pre[2 + i] + p1;
  }
  a.groups = groups;
  a.set = AF_A (STRIDE) | AF_A (PAD) | AF_A (DILATION) | AF_A (GROUPS);
  AfTensor *in[] = { x, wt, bias };
  AfTensor *y = af__tfl_node (c, AF_OP_CONV, bias ? 3 : 2, in, &a, NULL, error);
  return af__tfl_bind (c, (guint) tfl_out (op), tfl_activation (c, y, o.act, error), error);
}

static gboolean
tfl_import_fc (AfTfl *c, const AfTflOp *op, GError **error)
{
  gint8 act, format, keep = 0;
  if (!tfl_check_io (c, op, 2, 3, error) || !tfl_opt_i8 (c, op, 0, 0, &act, error) ||
      !tfl_opt_i8 (c, op, 1, 0, &format, error) || !tfl_opt_i8 (c, op, 2, 0, &keep, error))
    return FALSE;
  if (format != 0)
    return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                         "option \"weights_format\": %d (shuffled weights) is not supported",
                         format);
  AfTensor *x = af__tfl_value (c, (guint) tfl_in (op, 0), error);
  const AfTflTensor *w = x ? tfl_weight (c, op, 1, 2, error) : NULL;
  if (!w)
    return FALSE;
  gint64 N = w->d[0], K = w->d[1], numel = af__shape_numel (&x->shape);
  if (numel % K != 0)
    return af__tfl_fail (c, error, AF_ERROR_SHAPE,
                         "input 0 has %" G_GINT64_FORMAT
                         " elements, not a multiple of K = %" G_GINT64_FORMAT " of input 1 \"%s\"",
                         numel, K, w->name);
  x = af__tfl_nhwc (c, x, error);
  if (x && !(keep && x->shape.d[x->shape.rank - 1] == K)) {
    gint64 mk[2] = { numel / K, K };
    x = af__tfl_reshape (c, x, 2, mk, error);
  }
  AfTensor *wt = af__tfl_const (c, w->name, 2, w->d, g_memdup2 (w->f32, N * K * sizeof (float)));
  AfTensor *bias;
  if (!x || !tfl_bias (c, op, N, &bias, error))
    return FALSE;
  AfTensor *in[] = { x, wt, bias };
  AfTensor *y = af__tfl_node (c, AF_OP_LINEAR, bias ? 3 : 2, in, NULL, NULL, error);
  return af__tfl_bind_nhwc (c, (guint) tfl_out (op), tfl_activation (c, y, act, error), error);
}

/* A binary operand for an output of rank @rank: rank-4 outputs are NCHW, so
 * a lower-rank operand (NHWC broadcasting) is made rank 4 and NCHW. */
static AfTensor *
tfl_operand (AfTfl *c, guint ti, int rank, GError **error)
{
  AfTflTensor *t = &c->t[ti];
  AfTensor *v = af__tfl_value (c, ti, error);
  if (!v || rank != 4 || t->rank == 4)
    return v;
  gint64 d[4] = { 1, 1, 1, 1 };
  for (int i = 0; i < t->rank; i++)
    d[4 - t->rank + i] = t->d[i];
  v = af__tfl_reshape (c, v, 4, d, error);
  return v ? af__tfl_transpose (c, v, af__tfl_to_nchw, error) : NULL;
}

static gboolean
tfl_import_binary (AfTfl *c, const AfTflOp *op, AfOp aop, GError **error)
{
  gint8 act;
  if (!tfl_check_io (c, op, 2, 2, error) || !tfl_opt_i8 (c, op, 0, 0, &act, error))
    return FALSE;
  guint a = (guint) tfl_in (op, 0), b = (guint) tfl_in (op, 1);
  int rank = MAX (c->t[a].rank, c->t[b].rank);
  AfTensor *in[2] = { tfl_operand (c, a, rank, error), NULL };
  in[1] = in[0] ? tfl_operand (c, b, rank, error) : NULL;
  if (!in[1])
    return FALSE;
  AfTensor *y = af__tfl_node (c, aop, 2, in, NULL, NULL, error);
  return af__tfl_bind (c, (guint) tfl_out (op), tfl_activation (c, y, act, error), error);
}

/* PRELU: max (x, 0) + alpha * min (x, 0), alpha broadcast as TFLite
 * broadcasts it (NHWC). */
static gboolean
tfl_import_prelu (AfTfl *c, const AfTflOp *op, GError **error)
{
  if (!tfl_check_io (c, op, 2, 2, error))
    return FALSE;
  guint xi = (guint) tfl_in (op, 0), ai = (guint) tfl_in (op, 1);
  int rank = MAX (c->t[xi].rank, c->t[ai].rank);
  AfTensor *x = tfl_operand (c, xi, rank, error);
  AfTensor *alpha = x ? tfl_operand (c, ai, rank, error) : NULL;
  if (!alpha)
    return FALSE;
  gint64 one = 1;
  AfTensor *zero = af__tfl_const (c, "prelu_zero", 1, &one, g_new0 (float, 1));
  AfTensor *in[2] = { x, zero };
  AfTensor *pos = af__tfl_node (c, AF_OP_MAXIMUM, 2, in, NULL, NULL, error);
  AfTensor *neg = pos ? af__tfl_node (c, AF_OP_MINIMUM, 2, in, NULL, NULL, error) : NULL;
  if (!neg)
    return FALSE;
  in[0] = alpha;
  in[1] = neg;
  AfTensor *scaled = af__tfl_node (c, AF_OP_MUL, 2, in, NULL, NULL, error);
  if (!scaled)
    return FALSE;
  in[0] = pos;
  in[1] = scaled;
  return af__tfl_bind (c, (guint) tfl_out (op),
                       af__tfl_node (c, AF_OP_ADD, 2, in, NULL, NULL, error), error);
}

static gboolean
tfl_import_unary (AfTfl *c, const AfTflOp *op, AfOp aop, GError **error)
{
  if (!tfl_check_io (c, op, 1, 1, error))
    return FALSE;
  AfTensor *x = af__tfl_value (c, (guint) tfl_in (op, 0), error);
  AfTensor *y = x ? af__tfl_node (c, aop, 1, &x, NULL, NULL, error) : NULL;
  return af__tfl_bind (c, (guint) tfl_out (op), y, error);
}

static gboolean
tfl_import_pool (AfTfl *c, const AfTflOp *op, AfOp aop, GError **error)
{
  AfTflConvOpts o = { .dilation = { 1, 1 } };
  gint32 k[2];
  if (!tfl_check_io (c, op, 1, 1, error) || !tfl_opt_i8 (c, op, 0, 0, &o.padding, error) ||
      !tfl_opt_i32 (c, op, 1, 0, &o.stride[1], error) ||
      !tfl_opt_i32 (c, op, 2, 0, &o.stride[0], error) || !tfl_opt_i32 (c, op, 3, 0, &k[1], error) ||
      !tfl_opt_i32 (c, op, 4, 0, &k[0], error) || !tfl_opt_i8 (c, op, 5, 0, &o.act, error) ||
      !tfl_check_spatial (c, &o, error))
    return FALSE;
  guint ti = (guint) tfl_in (op, 0);
  if (c->t[ti].rank != 4)
    return af__tfl_fail (c, error, AF_ERROR_SHAPE, "input 0 has rank %d, expected 4",
                         c->t[ti].rank);
  AfTensor *x = af__tfl_value (c, ti, error);
  if (!x)
    return FALSE;
  AfAttrs a;
  af__attrs_init (aop, &a);
  for (int i = 0; i < 2; i++) {
    if (k[i] < 1 || k[i] > 65536)
      return af__tfl_fail (c, error, AF_ERROR_INVALID, "option \"filter_%s\": %d is out of range",
                           i ? "width" : "height", k[i]);
    if (!tfl_padding (c, o.padding, x->shape.d[2 + i], k[i], o.stride[i], 1, &a.pad[i],
                      &a.pad[2 + i], error))
      return FALSE;
    a.kernel[i] = k[i];
    a.stride[i] = o.stride[i];
  }
  a.count_include_pad = FALSE; /* TF averages over the valid cells only */
  a.set = AF_A (KERNEL) | AF_A (STRIDE) | AF_A (PAD) | AF_A (CEIL_MODE);
  if (aop == AF_OP_AVG_POOL)
    a.set |= AF_A (COUNT_INCLUDE_PAD);
  AfTensor *y = af__tfl_node (c, aop, 1, &x, &a, NULL, error);
  return af__tfl_bind (c, (guint) tfl_out (op), tfl_activation (c, y, o.act, error), error);
}

/* PAD with zeros: recorded on the output as a pending pad; a conv consuming
 * it merges the spatial pads, anything else gets concatenated zeros. */
static gboolean
tfl_import_pad (AfTfl *c, const AfTflOp *op, GError **error)
{
  if (!tfl_check_io (c, op, 2, 2, error))
    return FALSE;
  guint xi = (guint) tfl_in (op, 0), oi = (guint) tfl_out (op);
  AfTflTensor *x = &c->t[xi], *out = &c->t[oi];
  gint64 pads[2 * AF_MAX_RANK];
  if (x->rank < 1)
    return af__tfl_fail (c, error, AF_ERROR_SHAPE, "input 0 \"%s\" is a scalar", x->name);
  if (!af__tfl_const_ints (c, (guint) tfl_in (op, 1), pads, 2 * x->rank, error))
    return FALSE;
  /* Compose with a pad still pending on the input. */
  gint64 pad[AF_MAX_RANK][2] = { { 0 } };
  for (int i = 0; i < x->rank; i++)
    for (int s = 0; s < 2; s++) {
      gint64 p = pads[2 * i + s];
      if (p < 0 || p > AF_MAX_DIM)
        return af__tfl_fail (c, error, AF_ERROR_INVALID,
                             "input 1: padding %" G_GINT64_FORMAT " of dim %d is out of range", p,
                             i);
      pad[i][s] = p + (x->pad_pending ? x->pad[i][s] : 0);
    }
  if (!x->value && !af__tfl_value (c, xi, error))
    return FALSE;
  /* Check the declared output shape before deferring. */
  if (out->rank != x->rank)
    return af__tfl_fail (c, error, AF_ERROR_SHAPE,
                         "output tensor %u \"%s\" has rank %d, expected %d", oi, out->name,
                         out->rank, x->rank);
  for (int i = 0; i < x->rank; i++)
    if (out->d[i] != x->d[i] + pads[2 * i] + pads[2 * i + 1])
      return af__tfl_fail (c, error, AF_ERROR_SHAPE,
                           "output tensor %u \"%s\": dim %d is %" G_GINT64_FORMAT
                           ", the padding gives %" G_GINT64_FORMAT,
                           oi, out->name, i, out->d[i], x->d[i] + pads[2 * i] + pads[2 * i + 1]);
  out->value = x->value;
  out->pad_pending = TRUE;
  memcpy (out->pad, pad, sizeof pad);
  return TRUE;
}

static gboolean
tfl_import_reshape (AfTfl *c, const AfTflOp *op, GError **error)
{
  if (!tfl_check_io (c, op, 1, 2, error))
    return FALSE;
  AfTensor *x = af__tfl_value (c, (guint) tfl_in (op, 0), error);
  x = x ? af__tfl_nhwc (c, x, error) : NULL;
  c->same_values = TRUE; /* TFLite's RESHAPE keeps the quantization */
  gboolean ok = af__tfl_bind_nhwc (c, (guint) tfl_out (op), x, error);
  c->same_values = FALSE;
  return ok;
}

static gboolean
tfl_import_concat (AfTfl *c, const AfTflOp *op, GError **error)
{
  gint32 axis;
  gint8 act;
  if (!tfl_check_io (c, op, 1, AF_MAX_INPUTS_PER_NODE, error) ||
      !tfl_opt_i32 (c, op, 0, 0, &axis, error) || !tfl_opt_i8 (c, op, 1, 0, &act, error))
    return FALSE;
  int rank = c->t[tfl_out (op)].rank;
  if (axis < -rank || axis >= rank)
    return af__tfl_fail (c, error, AF_ERROR_INVALID,
                         "option \"axis\": %d is out of range for rank %d", axis, rank);
  if (axis < 0)
    axis += rank;
  static const int nhwc_to_nchw_axis[4] = { 0, 2, 3, 1 };
  AfAttrs a;
  af__attrs_init (AF_OP_CONCAT, &a);
  a.axis = rank == 4 ? nhwc_to_nchw_axis[axis] : axis;
  a.set = AF_A (AXIS);
  g_autofree AfTensor **in = g_new0 (AfTensor *, op->in.n);
  for (guint i = 0; i < op->in.n; i++) {
    guint ti = (guint) tfl_in (op, i);
    if (c->t[ti].rank != rank)
      return af__tfl_fail (c, error, AF_ERROR_SHAPE, "input %u \"%s\" has rank %d, expected %d", i,
                           c->t[ti].name, c->t[ti].rank, rank);
    if (!(in[i] = af__tfl_value (c, ti, error)))
      return FALSE;
  }
  AfTensor *y = af__tfl_node (c, AF_OP_CONCAT, op->in.n, in, &a, NULL, error);
  return af__tfl_bind (c, (guint) tfl_out (op), tfl_activation (c, y, act, error), error);
}

static gboolean
tfl_import_softmax (AfTfl *c, const AfTflOp *op, GError **error)
{
  float beta;
  if (!tfl_check_io (c, op, 1, 1, error) || !tfl_opt_f32 (c, op, 0, 0.0f, &beta, error))
    return FALSE;
  AfTensor *x = af__tfl_value (c, (guint) tfl_in (op, 0), error);
  if (!x)
    return FALSE;
  if (beta != 1.0f) {
    gint64 one = 1;
    float *b = g_new (float, 1);
    *b = beta;
    AfTensor *in[] = { x, af__tfl_const (c, "softmax_beta", 1, &one, b) };
    if (!(x = af__tfl_node (c, AF_OP_MUL, 2, in, NULL, NULL, error)))
      return FALSE;
  }
  AfAttrs a;
  af__attrs_init (AF_OP_SOFTMAX, &a);
  a.axis = x->shape.rank == 4 ? 1 : -1;
  a.set = AF_A (AXIS);
  return af__tfl_bind (c, (guint) tfl_out (op),
                       af__tfl_node (c, AF_OP_SOFTMAX, 1, &x, &a, NULL, error), error);
}

/* RESIZE_BILINEAR: options align_corners (id 2) and half_pixel_centers
 * (id 3); ids 0 and 1 are the deprecated new_height / new_width. */
static gboolean
tfl_import_resize_bilinear (AfTfl *c, const AfTflOp *op, GError **error)
{
  gint8 align, half;
  gint64 size[2];
  if (!tfl_check_io (c, op, 2, 2, error) || !tfl_opt_i8 (c, op, 2, 0, &align, error) ||
      !tfl_opt_i8 (c, op, 3, 0, &half, error))
    return FALSE;
  guint ti = (guint) tfl_in (op, 0);
  if (c->t[ti].rank != 4)
    return af__tfl_fail (c, error, AF_ERROR_SHAPE, "input 0 has rank %d, expected 4",
                         c->t[ti].rank);
  if (align && half)
    return af__tfl_fail (c, error, AF_ERROR_INVALID,
                         "options \"align_corners\" and \"half_pixel_centers\" are both true");
  AfTensor *x = af__tfl_value (c, ti, error);
  if (!x || !af__tfl_const_ints (c, (guint) tfl_in (op, 1), size, 2, error))
    return FALSE;
  for (int i = 0; i < 2; i++)
    if (size[i] < 1 || size[i] > AF_MAX_DIM)
      return af__tfl_fail (c, error, AF_ERROR_INVALID,
                           "input 1: size %" G_GINT64_FORMAT " is out of range", size[i]);
  AfAttrs a;
  af__attrs_init (AF_OP_RESIZE_BILINEAR, &a);
  a.size[0] = size[0];
  a.size[1] = size[1];
  a.align_corners = align != 0;
  a.half_pixel = half != 0;
  a.set = AF_A (SIZE) | AF_A (ALIGN_CORNERS) | AF_A (HALF_PIXEL);
  return af__tfl_bind (c, (guint) tfl_out (op),
                       af__tfl_node (c, AF_OP_RESIZE_BILINEAR, 1, &x, &a, NULL, error), error);
}

/* A transposed conv of input @xi by OHWI weights @wi (bias @bi or -1) to
 * the declared output shape: the crop is TFLite's, total = (in - 1) *
 * stride + k - out, the first half (SAME) or nothing (VALID) before. */
static gboolean
tfl_conv_transpose (AfTfl *c, const AfTflOp *op, guint xi, guint wi, gint32 bi, gint8 padding,
                    const gint32 *stride, gint8 act, GError **error)
{
  AfTflConvOpts o = { .padding = padding,
                      .stride = { stride[0], stride[1] },
                      .dilation = { 1, 1 } };
  if (!tfl_check_spatial (c, &o, error))
    return FALSE;
  if (padding != TFL_SAME && padding != TFL_VALID)
    return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED, "padding %d is not SAME or VALID",
                         padding);
  guint oi = (guint) tfl_out (op);
  if (c->t[xi].rank != 4 || c->t[oi].rank != 4)
    return af__tfl_fail (c, error, AF_ERROR_SHAPE,
                         "input \"%s\" and output \"%s\" must have rank 4", c->t[xi].name,
                         c->t[oi].name);
  AfTensor *x = af__tfl_value (c, xi, error);
  if (!x || !af__tfl_const_f32 (c, wi, error))
    return FALSE;
  const AfTflTensor *w = &c->t[wi];
  gint64 C = x->shape.d[1];
  if (w->rank != 4 || w->d[3] != C)
    return af__tfl_fail (c, error, AF_ERROR_WEIGHTS,
                         "weights \"%s\" must be [O, KH, KW, %" G_GINT64_FORMAT "] (rank %d)",
                         w->name, C, w->rank);
  gint64 O = w->d[0], KH = w->d[1], KW = w->d[2];
  float *wd = g_new (float, C *O *KH *KW);
  for (gint64 i = 0; i < C; i++)
    for (gint64 oc = 0; oc < O; oc++)
      for (gint64 y = 0; y < KH; y++)
        for (gint64 xx = 0; xx < KW; xx++)
          wd[((i * O + oc) * KH + y) * KW + xx] = w->f32[((oc * KH + y) * KW + xx) * C + i];
  gint64 wshape[4] = { C, O, KH, KW };
  AfTensor *wt = af__tfl_const (c, w->name, 4, wshape, wd), *bias = NULL;
  if (bi >= 0) {
    if (!af__tfl_const_f32 (c, (guint) bi, error))
      return FALSE;
    const AfTflTensor *b = &c->t[bi];
    if (af__tfl_numel (b->rank, b->d) != O)
      return af__tfl_fail (c, error, AF_ERROR_WEIGHTS,
                           "bias \"%s\" does not have %" G_GINT64_FORMAT " values", b->name, O);
    bias = af__tfl_const (c, b->name, 1, &O, g_memdup2 (b->f32, O * sizeof (float)));
  }
  AfAttrs a;
  af__attrs_init (AF_OP_CONV_TRANSPOSE, &a);
  for (int i = 0; i < 2; i++) {
    gint64 in = x->shape.d[2 + i], out = c->t[oi].d[1 + i], k = i ? KW : KH;
    gint64 total = (in - 1) * stride[i] + k - out;
    if (total < 0)
      return af__tfl_fail (c, error, AF_ERROR_SHAPE,
                           "output tensor %u \"%s\": %s %" G_GINT64_FORMAT
                           " is larger than the full transposed conv (%" G_GINT64_FORMAT ")",
                           oi, c->t[oi].name, i ? "width" : "height", out, out + total);
    a.pad[i] = padding == TFL_SAME ? total / 2 : 0;
    a.pad[2 + i] = total - a.pad[i];
    a.stride[i] = stride[i];
  }
  a.set = AF_A (STRIDE) | AF_A (PAD) | AF_A (DILATION) | AF_A (GROUPS);
  AfTensor *in[] = { x, wt, bias };
  AfTensor *y = af__tfl_node (c, AF_OP_CONV_TRANSPOSE, bias ? 3 : 2, in, &a, NULL, error);
  return af__tfl_bind (c, oi, tfl_activation (c, y, act, error), error);
}

/* TRANSPOSE_CONV: inputs output_shape, weights (OHWI), input, bias?. */
static gboolean
tfl_import_transpose_conv (AfTfl *c, const AfTflOp *op, GError **error)
{
  gint8 padding, act;
  gint32 stride[2];
  gint64 shape[4];
  if (!tfl_check_io (c, op, 3, 4, error) || !tfl_opt_i8 (c, op, 0, 0, &padding, error) ||
      !tfl_opt_i32 (c, op, 1, 0, &stride[1], error) ||
      !tfl_opt_i32 (c, op, 2, 0, &stride[0], error) || !tfl_opt_i8 (c, op, 3, 0, &act, error) ||
      !af__tfl_const_ints (c, (guint) tfl_in (op, 0), shape, 4, error))
    return FALSE;
  const AfTflTensor *out = &c->t[tfl_out (op)];
  if (out->rank != 4 || memcmp (shape, out->d, sizeof shape) != 0)
    return af__tfl_fail (c, error, AF_ERROR_SHAPE,
                         "input 0 (output_shape) does not match the output tensor \"%s\"",
                         out->name);
  return tfl_conv_transpose (c, op, (guint) tfl_in (op, 2), (guint) tfl_in (op, 1), tfl_in (op, 3),
                             padding, stride, act, error);
}

/* MediaPipe's Convolution2DTransposeBias: inputs input, weights (OHWI),
 * bias; custom_options the raw TfLiteTransposeConvParams { padding (1 SAME,
 * 2 VALID), stride_width, stride_height } as little-endian int32. */
static gboolean
tfl_import_conv_t_bias (AfTfl *c, const AfTflOp *op, GError **error)
{
  if (!tfl_check_io (c, op, 3, 3, error))
    return FALSE;
  if (op->custom.n < 12)
    return af__tfl_fail (c, error, AF_ERROR_INVALID,
                         "field \"custom_options\": %u bytes, expected 12 (padding, stride_width, "
                         "stride_height)",
                         op->custom.n);
  gint32 v[3];
  memcpy (v, af_fb_vector_bytes (&op->custom), sizeof v);
  for (int i = 0; i < 3; i++)
    v[i] = GINT32_FROM_LE (v[i]);
  if (v[0] != 1 && v[0] != 2)
    return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                         "field \"custom_options\": padding %d is not 1 (SAME) or 2 (VALID)", v[0]);
  gint32 stride[2] = { v[2], v[1] };
  return tfl_conv_transpose (c, op, (guint) tfl_in (op, 0), (guint) tfl_in (op, 1), tfl_in (op, 2),
                             v[0] == 1 ? TFL_SAME : TFL_VALID, stride, 0, error);
}

static gboolean
tfl_import_resize (AfTfl *c, const AfTflOp *op, GError **error)
{
  gint8 align;
  gint64 size[2];
  if (!tfl_check_io (c, op, 2, 2, error) || !tfl_opt_i8 (c, op, 0, 0, &align, error))
    return FALSE;
  if (align)
    return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                         "option \"align_corners\": true is not supported");
  guint ti = (guint) tfl_in (op, 0);
  if (c->t[ti].rank != 4)
    return af__tfl_fail (c, error, AF_ERROR_SHAPE, "input 0 has rank %d, expected 4",
                         c->t[ti].rank);
  AfTensor *x = af__tfl_value (c, ti, error);
  if (!x || !af__tfl_const_ints (c, (guint) tfl_in (op, 1), size, 2, error))
    return FALSE;
  AfAttrs a;
  af__attrs_init (AF_OP_UPSAMPLE, &a);
  for (int i = 0; i < 2; i++) {
    gint64 in = x->shape.d[2 + i];
    if (size[i] < in || size[i] % in != 0)
      return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                           "input 1: size %" G_GINT64_FORMAT
                           " is not an integer multiple of %" G_GINT64_FORMAT
                           " (only integer upscaling is supported)",
                           size[i], in);
    a.scale[i] = size[i] / in;
  }
  a.set = AF_A (SCALE);
  return af__tfl_bind (c, (guint) tfl_out (op),
                       af__tfl_node (c, AF_OP_UPSAMPLE, 1, &x, &a, NULL, error), error);
}

/* QUANTIZE / DEQUANTIZE of an activation: activations are computed in real
 * values (fp16), so a (re)quantization keeps the value. */
static gboolean
tfl_import_requantize (AfTfl *c, const AfTflOp *op, GError **error)
{
  if (!tfl_check_io (c, op, 1, 1, error))
    return FALSE;
  guint xi = (guint) tfl_in (op, 0), oi = (guint) tfl_out (op);
  if (c->t[oi].rank != c->t[xi].rank ||
      af__tfl_numel (c->t[oi].rank, c->t[oi].d) != af__tfl_numel (c->t[xi].rank, c->t[xi].d))
    return af__tfl_fail (c, error, AF_ERROR_SHAPE,
                         "output tensor %u \"%s\" does not have the shape of input 0", oi,
                         c->t[oi].name);
  return af__tfl_bind (c, oi, af__tfl_value (c, xi, error), error);
}

/* The axes of constant input 1 (int32/int64, a scalar or a vector) in
 * 0..@rank-1 as a bit mask. */
static gboolean
tfl_axes_mask (AfTfl *c, const AfTflOp *op, int rank, guint *mask, GError **error)
{
  guint ti = (guint) tfl_in (op, 1);
  AfTflTensor *t = &c->t[ti];
  gint64 n = af__tfl_numel (t->rank, t->d), axes[AF_MAX_RANK];
  if (n < 1 || n > rank)
    return af__tfl_fail (c, error, AF_ERROR_INVALID,
                         "input 1 \"%s\": %" G_GINT64_FORMAT " axes for an input of rank %d",
                         t->name, n, rank);
  if (!af__tfl_const_ints (c, ti, axes, n, error))
    return FALSE;
  *mask = 0;
  for (gint64 i = 0; i < n; i++) {
    gint64 ax = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (ax < 0 || ax >= rank)
      return af__tfl_fail (c, error, AF_ERROR_INVALID,
                           "input 1 \"%s\": axis %" G_GINT64_FORMAT " is out of range for rank %d",
                           t->name, axes[i], rank);
    *mask |= 1u << ax;
  }
  return TRUE;
}

/* TRUE when a rank-4 op that drops the NHWC axes in @mask can run on the
 * NCHW value directly: the kept axes come out in the same order (C is
 * dropped or every spatial axis is). */
static gboolean
tfl_nchw_drop_ok (guint mask)
{
  return (mask & 8u) || (mask & 6u) == 6u;
}

static gboolean
tfl_import_mean (AfTfl *c, const AfTflOp *op, GError **error)
{
  gint8 keep;
  guint mask;
  if (!tfl_check_io (c, op, 2, 2, error) || !tfl_opt_i8 (c, op, 0, 0, &keep, error))
    return FALSE;
  guint xi = (guint) tfl_in (op, 0);
  int rank = c->t[xi].rank;
  AfTensor *x = af__tfl_value (c, xi, error);
  if (!x || !tfl_axes_mask (c, op, rank, &mask, error))
    return FALSE;
  gboolean nchw = rank == 4 && (keep || tfl_nchw_drop_ok (mask));
  if (rank == 4 && !nchw && !(x = af__tfl_nhwc (c, x, error)))
    return FALSE;
  AfAttrs a;
  af__attrs_init (AF_OP_MEAN, &a);
  for (int i = 0; i < rank; i++)
    if (mask & (1u << i))
      a.axes[a.n_axes++] = nchw ? af__tfl_to_nhwc[i] : i;
  a.keepdims = keep != 0;
  a.set = AF_A (AXES) | AF_A (KEEPDIMS);
  AfTensor *y = af__tfl_node (c, AF_OP_MEAN, 1, &x, &a, NULL, error);
  return nchw && keep ? af__tfl_bind (c, (guint) tfl_out (op), y, error)
                      : af__tfl_bind_nhwc (c, (guint) tfl_out (op), y, error);
}

/* ARG_MAX: the index comes out as a float value (exact in fp16, see
 * bridge.c); an int32/int64 output tensor holds the same number. */
static gboolean
tfl_import_argmax (AfTfl *c, const AfTflOp *op, GError **error)
{
  guint mask;
  if (!tfl_check_io (c, op, 2, 2, error))
    return FALSE;
  guint xi = (guint) tfl_in (op, 0);
  int rank = c->t[xi].rank;
  AfTensor *x = af__tfl_value (c, xi, error);
  if (!x || !tfl_axes_mask (c, op, rank, &mask, error))
    return FALSE;
  if (mask & (mask - 1))
    return af__tfl_fail (c, error, AF_ERROR_INVALID, "input 1: more than one axis");
  int ax = g_bit_nth_lsf (mask, -1);
  gboolean nchw = rank == 4 && tfl_nchw_drop_ok (mask);
  if (rank == 4 && !nchw && !(x = af__tfl_nhwc (c, x, error)))
    return FALSE;
  AfAttrs a;
  af__attrs_init (AF_OP_ARGMAX, &a);
  a.axis = nchw ? af__tfl_to_nhwc[ax] : ax;
  a.keepdims = FALSE;
  a.set = AF_A (AXIS) | AF_A (KEEPDIMS);
  return af__tfl_bind_nhwc (c, (guint) tfl_out (op),
                            af__tfl_node (c, AF_OP_ARGMAX, 1, &x, &a, NULL, error), error);
}

/* DEQUANTIZE of a constant (fp16 or int8 weights): folded; of an
 * activation: the value itself. */
static gboolean
tfl_import_dequantize (AfTfl *c, const AfTflOp *op, GError **error)
{
  if (!tfl_check_io (c, op, 1, 1, error))
    return FALSE;
  guint xi = (guint) tfl_in (op, 0), oi = (guint) tfl_out (op);
  AfTflTensor *x = &c->t[xi], *out = &c->t[oi];
  if (!x->raw)
    return tfl_import_requantize (c, op, error);
  if (!af__tfl_const_f32 (c, xi, error))
    return FALSE;
  if (out->rank != x->rank || af__tfl_numel (out->rank, out->d) != af__tfl_numel (x->rank, x->d))
    return af__tfl_fail (c, error, AF_ERROR_SHAPE,
                         "output tensor %u \"%s\" does not have the shape of input 0", oi,
                         out->name);
  gint64 n = af__tfl_numel (x->rank, x->d);
  out->f32 = g_memdup2 (x->f32, MAX (n, 1) * sizeof (float));
  return TRUE;
}

gboolean
af__tfl_import_op (AfTfl *c, gint32 code, const AfTflOp *op, GError **error)
{
  switch (code) {
  case TFL_OP_CONV_2D:
    return tfl_import_conv (c, op, FALSE, error);
  case TFL_OP_DEPTHWISE_CONV_2D:
    return tfl_import_conv (c, op, TRUE, error);
  case TFL_OP_FULLY_CONNECTED:
    return tfl_import_fc (c, op, error);
  case TFL_OP_ADD:
    return tfl_import_binary (c, op, AF_OP_ADD, error);
  case TFL_OP_MUL:
    return tfl_import_binary (c, op, AF_OP_MUL, error);
  case TFL_OP_RELU:
    return tfl_import_unary (c, op, AF_OP_RELU, error);
  case TFL_OP_RELU6:
    return tfl_import_unary (c, op, AF_OP_RELU6, error);
  case TFL_OP_LOGISTIC:
    return tfl_import_unary (c, op, AF_OP_SIGMOID, error);
  case TFL_OP_TANH:
    return tfl_import_unary (c, op, AF_OP_TANH, error);
  case TFL_OP_MAX_POOL_2D:
    return tfl_import_pool (c, op, AF_OP_MAX_POOL, error);
  case TFL_OP_AVERAGE_POOL_2D:
    return tfl_import_pool (c, op, AF_OP_AVG_POOL, error);
  case TFL_OP_PAD:
    return tfl_import_pad (c, op, error);
  case TFL_OP_RESHAPE:
    return tfl_import_reshape (c, op, error);
  case TFL_OP_CONCATENATION:
    return tfl_import_concat (c, op, error);
  case TFL_OP_SOFTMAX:
    return tfl_import_softmax (c, op, error);
  case TFL_OP_RESIZE_NEAREST_NEIGHBOR:
    return tfl_import_resize (c, op, error);
  case TFL_OP_DEQUANTIZE:
    return tfl_import_dequantize (c, op, error);
  case TFL_OP_QUANTIZE:
    return tfl_import_requantize (c, op, error);
  case TFL_OP_MEAN:
    return tfl_import_mean (c, op, error);
  case TFL_OP_PRELU:
    return tfl_import_prelu (c, op, error);
  case TFL_OP_HARD_SWISH:
    return tfl_import_unary (c, op, AF_OP_HARDSWISH, error);
  case TFL_OP_RESIZE_BILINEAR:
    return tfl_import_resize_bilinear (c, op, error);
  case TFL_OP_TRANSPOSE_CONV:
    return tfl_import_transpose_conv (c, op, error);
  case TFL_OP_CONV_T_BIAS:
    return tfl_import_conv_t_bias (c, op, error);
  case TFL_OP_ARG_MAX:
    return tfl_import_argmax (c, op, error);
  default:
    return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED, "operator is not supported");
  }
}
