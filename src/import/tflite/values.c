/* values.c — the TFLite importer's graph values: constants (dequantized),
 * NHWC <-> NCHW, pending pads, requantization, binding outputs. */
#include "tflite-internal.h"

#include <math.h>
#include <string.h>

gboolean G_GNUC_PRINTF (4, 5)
    af__tfl_fail (AfTfl *c, GError **error, AfError code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (c->op_index >= 0)
    g_set_error (error, AF_ERROR, code, "%s: operators[%d] (%s): %s", c->file, c->op_index,
                 c->op_name, msg);
  else
    g_set_error (error, AF_ERROR, code, "%s: %s", c->file, msg);
  return FALSE;
}

/* Puts the operator into a reader / shape error: "FILE: operators[i] (OP):
 * <message without its own FILE: prefix>". */
gboolean
af__tfl_wrap (AfTfl *c, GError **error, GError *local)
{
  if (c->op_index >= 0) {
    const char *msg = local->message;
    gsize n = strlen (c->file);
    if (strncmp (msg, c->file, n) == 0 && strncmp (msg + n, ": ", 2) == 0)
      msg += n + 2;
    g_set_error (error, local->domain, local->code, "%s: operators[%d] (%s): %s", c->file,
                 c->op_index, c->op_name, msg);
    g_error_free (local);
  } else {
    g_propagate_error (error, local);
  }
  return FALSE;
}

gint64
af__tfl_numel (int rank, const gint64 *d)
{
  return af_shape_numel (rank, d);
}

/* ------------------------------------------------------------ graph helpers */

char *
af__tfl_unique_name (AfGraph *g, const char *base)
{
  if (base && *base && !g_hash_table_contains (g->by_name, base))
    return g_strdup (base);
  for (;;) {
    char *name = g_strdup_printf ("%s_%u", base && *base ? base : "t", g->auto_name++);
    if (!g_hash_table_contains (g->by_name, name))
      return name;
    g_free (name);
  }
}

/* Adds a node (named @base, made unique) and infers its shape. */
AfTensor *
af__tfl_node (AfTfl *c, AfOp op, guint n_in, AfTensor *const *in, const AfAttrs *attrs,
              const char *base, GError **error)
{
  g_autofree char *name = af__tfl_unique_name (c->g, base ? base : af_op_info[op].name);
  AfNode *n = af__graph_add_node (c->g, name, op, n_in, in, attrs);
  GError *local = NULL;
  if (!af__node_infer_shape (c->g, n, &local)) {
    af__tfl_wrap (c, error, local);
    return NULL;
  }
  return n->out;
}

/* A constant from @data (fp32, taken). */
AfTensor *
af__tfl_const (AfTfl *c, const char *base, int rank, const gint64 *d, float *data)
{
  AfShape s = { rank };
  memcpy (s.d, d, sizeof (gint64) * rank);
  g_autofree char *name = af__tfl_unique_name (c->g, base);
  GBytes *bytes = g_bytes_new_take (data, af__tfl_numel (rank, d) * sizeof (float));
  AfTensor *t =
      af__graph_add_const (c->g, name, &s, AF_DTYPE_F32, g_bytes_get_data (bytes, NULL), bytes);
  g_bytes_unref (bytes);
  return t;
}

AfTensor *
af__tfl_transpose (AfTfl *c, AfTensor *x, const int *perm, GError **error)
{
  AfAttrs a;
  af__attrs_init (AF_OP_TRANSPOSE, &a);
  a.n_perm = x->shape.rank;
  for (int i = 0; i < a.n_perm; i++)
    a.perm[i] = perm[i];
  a.set = AF_A (PERM);
  return af__tfl_node (c, AF_OP_TRANSPOSE, 1, &x, &a, NULL, error);
}

const int af__tfl_to_nhwc[4] = { 0, 2, 3, 1 };
const int af__tfl_to_nchw[4] = { 0, 3, 1, 2 };

/* NCHW (rank 4) -> NHWC; other ranks pass through. */
AfTensor *
af__tfl_nhwc (AfTfl *c, AfTensor *x, GError **error)
{
  return x->shape.rank == 4 ? af__tfl_transpose (c, x, af__tfl_to_nhwc, error) : x;
}

AfTensor *
af__tfl_reshape (AfTfl *c, AfTensor *x, int rank, const gint64 *d, GError **error)
{
  AfShape s = { rank };
  memcpy (s.d, d, sizeof (gint64) * rank);
  if (af__shape_equal (&x->shape, &s))
    return x;
  AfAttrs a;
  af__attrs_init (AF_OP_RESHAPE, &a);
  a.n_shape = rank;
  memcpy (a.shape, d, sizeof (gint64) * rank);
  a.set = AF_A (SHAPE);
  return af__tfl_node (c, AF_OP_RESHAPE, 1, &x, &a, NULL, error);
}

/* @x * @scale + @bias with scalar constants. */
AfTensor *
af__tfl_affine (AfTfl *c, AfTensor *x, float scale, float bias, GError **error)
{
  gint64 one = 1;
  float *sv = g_new (float, 1), *bv = g_new (float, 1);
  *sv = scale;
  *bv = bias;
  AfTensor *in[2] = { x, af__tfl_const (c, "quant_scale", 1, &one, sv) };
  x = af__tfl_node (c, AF_OP_MUL, 2, in, NULL, NULL, error);
  if (!x)
    return NULL;
  in[0] = x;
  in[1] = af__tfl_const (c, "quant_bias", 1, &one, bv);
  return af__tfl_node (c, AF_OP_ADD, 2, in, NULL, NULL, error);
}

/* The NCHW shape of a rank-4 TFLite shape. */
void
af__tfl_nchw_dims (const gint64 *nhwc, gint64 *nchw)
{
  for (int i = 0; i < 4; i++)
    nchw[i] = nhwc[af__tfl_to_nchw[i]];
}

/* ------------------------------------------------------------ constants */

gboolean
af__tfl_tensor_index (AfTfl *c, gint32 idx, const char *what, GError **error)
{
  if (idx < 0 || (guint) idx >= c->n_t)
    return af__tfl_fail (c, error, AF_ERROR_INVALID,
                         "%s: tensor index %d is out of range (%u tensors)", what, idx, c->n_t);
  return TRUE;
}

gsize
af__tfl_type_size (gint8 type)
{
  switch (type) {
  case TFL_F32:
  case TFL_I32:
    return 4;
  case TFL_F16:
    return 2;
  case TFL_I64:
    return 8;
  case TFL_U8:
  case TFL_I8:
    return 1;
  default:
    return 0;
  }
}

/* Raw element @i of constant @t as a double (no quantization applied). */
double
af__tfl_raw_at (const AfTflTensor *t, gint64 i)
{
  const guint8 *p = t->raw + i * af__tfl_type_size (t->type);
  switch (t->type) {
  case TFL_F32: {
    guint32 v;
    memcpy (&v, p, 4);
    v = GUINT32_FROM_LE (v);
    float f;
    memcpy (&f, &v, 4);
    return f;
  }
  case TFL_F16: {
    guint16 v;
    memcpy (&v, p, 2);
    return af_fp16_to_f32 (GUINT16_FROM_LE (v));
  }
  case TFL_I32: {
    guint32 v;
    memcpy (&v, p, 4);
    return (gint32) GUINT32_FROM_LE (v);
  }
  case TFL_I64: {
    guint64 v;
    memcpy (&v, p, 8);
    return (double) (gint64) GUINT64_FROM_LE (v);
  }
  case TFL_U8:
    return p[0];
  case TFL_I8:
    return (gint8) p[0];
  default:
    return 0;
  }
}

gboolean
af__tfl_is_const (const AfTflTensor *t)
{
  return t->raw != NULL || t->f32 != NULL;
}

/* Decodes (dequantizes) constant @ti into t->f32 once. */
gboolean
af__tfl_const_f32 (AfTfl *c, guint ti, GError **error)
{
  AfTflTensor *t = &c->t[ti];
  if (t->f32)
    return TRUE;
  if (!t->raw)
    return af__tfl_fail (
        c, error, AF_ERROR_UNSUPPORTED,
        "tensor %u \"%s\" must be a constant (weights computed at run time are not "
        "supported)",
        ti, t->name);
  if (t->sparse)
    return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                         "tensor %u \"%s\": field \"sparsity\": "
                         "sparse constants are not supported",
                         ti, t->name);
  gint64 n = af__tfl_numel (t->rank, t->d);
  AfFbVector scale = { 0 }, zp = { 0 };
  gint32 qdim = 0;
  GError *local = NULL;
  if (t->has_quant && t->type != TFL_F32 && t->type != TFL_F16) {
    if (!af_fb_vector (&t->quant, QUANT_SCALE, 4, &scale, &local) ||
        !af_fb_vector (&t->quant, QUANT_ZERO_POINT, 8, &zp, &local) ||
        !af_fb_i32 (&t->quant, QUANT_DIM, 0, &qdim, &local))
      return af__tfl_wrap (c, error, local);
  }
  gint64 channels = 1, inner = 1;
  if (scale.n > 1) {
    if (qdim < 0 || qdim >= t->rank || scale.n != t->d[qdim] || (zp.n > 1 && zp.n != scale.n))
      return af__tfl_fail (
          c, error, AF_ERROR_WEIGHTS,
          "tensor %u \"%s\": field \"quantization\": %u scales / %u zero points do "
          "not match quantized_dimension %d",
          ti, t->name, scale.n, zp.n, qdim);
    channels = scale.n;
    for (int i = qdim + 1; i < t->rank; i++)
      inner *= t->d[i];
  }
  float *dst = g_new (float, MAX (n, 1));
  for (gint64 i = 0; i < n; i++) {
    double v = af__tfl_raw_at (t, i);
    if (scale.n) {
      guint32 ch = channels > 1 ? (guint32) ((i / inner) % channels) : 0;
      double z = zp.n ? (double) af_fb_vector_i64 (&zp, zp.n > 1 ? ch : 0) : 0;
      v = (v - z) * af_fb_vector_f32 (&scale, ch);
    }
    dst[i] = (float) v;
    if (!isfinite (dst[i])) {
      g_free (dst);
      return af__tfl_fail (c, error, AF_ERROR_WEIGHTS,
                           "tensor %u \"%s\": element %" G_GINT64_FORMAT " is not finite", ti,
                           t->name, i);
    }
  }
  t->f32 = dst;
  return TRUE;
}

/* Reads a small integer constant (paddings, sizes) into @out (up to @max). */
gboolean
af__tfl_const_ints (AfTfl *c, guint ti, gint64 *out, gint64 want, GError **error)
{
  AfTflTensor *t = &c->t[ti];
  if (!t->raw || (t->type != TFL_I32 && t->type != TFL_I64))
    return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                         "tensor %u \"%s\" must be a constant int32/int64 tensor", ti, t->name);
  if (af__tfl_numel (t->rank, t->d) != want)
    return af__tfl_fail (c, error, AF_ERROR_INVALID,
                         "tensor %u \"%s\" has %" G_GINT64_FORMAT
                         " values, expected %" G_GINT64_FORMAT,
                         ti, t->name, af__tfl_numel (t->rank, t->d), want);
  for (gint64 i = 0; i < want; i++)
    out[i] = (gint64) af__tfl_raw_at (t, i);
  return TRUE;
}

/* A constant tensor as a graph value: rank 4 is permuted to NCHW. */
AfTensor *
af__tfl_const_value (AfTfl *c, guint ti, GError **error)
{
  AfTflTensor *t = &c->t[ti];
  if (!af__tfl_const_f32 (c, ti, error))
    return NULL;
  gint64 n = af__tfl_numel (t->rank, t->d);
  float *data = g_new (float, MAX (n, 1));
  if (t->rank == 4) {
    gint64 N = t->d[0], H = t->d[1], W = t->d[2], C = t->d[3], nchw[4];
    for (gint64 b = 0; b < N; b++)
      for (gint64 y = 0; y < H; y++)
        for (gint64 x = 0; x < W; x++)
          for (gint64 ch = 0; ch < C; ch++)
            data[((b * C + ch) * H + y) * W + x] = t->f32[((b * H + y) * W + x) * C + ch];
    af__tfl_nchw_dims (t->d, nchw);
    return af__tfl_const (c, t->name, 4, nchw, data);
  }
  memcpy (data, t->f32, n * sizeof (float));
  if (t->rank == 0) {
    gint64 one = 1;
    return af__tfl_const (c, t->name, 1, &one, data);
  }
  return af__tfl_const (c, t->name, t->rank, t->d, data);
}

/* ------------------------------------------------------------ values */

/* Zero-pads @x (layout as stored) by @pad[dim][2] given in stored dims, as
 * concatenations with zero constants. */
AfTensor *
af__tfl_pad_concat (AfTfl *c, AfTensor *x, gint64 (*pad)[2], GError **error)
{
  for (int ax = 0; ax < x->shape.rank && x; ax++) {
    if (!pad[ax][0] && !pad[ax][1])
      continue;
    AfTensor *parts[3];
    int n = 0;
    for (int side = 0; side < 2; side++) {
      if (side == 1)
        parts[n++] = x;
      if (!pad[ax][side])
        continue;
      gint64 d[AF_MAX_RANK];
      memcpy (d, x->shape.d, sizeof (gint64) * x->shape.rank);
      d[ax] = pad[ax][side];
      gint64 numel = af__tfl_numel (x->shape.rank, d);
      if (numel > AF_MAX_NUMEL) {
        af__tfl_fail (c, error, AF_ERROR_LIMIT, "pad of %" G_GINT64_FORMAT " is too large",
                      pad[ax][side]);
        return NULL;
      }
      parts[n++] = af__tfl_const (c, "zeros", x->shape.rank, d, g_new0 (float, numel));
    }
    AfAttrs a;
    af__attrs_init (AF_OP_CONCAT, &a);
    a.axis = ax;
    a.set = AF_A (AXIS);
    x = af__tfl_node (c, AF_OP_CONCAT, n, parts, &a, NULL, error);
  }
  return x;
}

/* The graph value of tensor @ti for a consumer: constants are created,
 * pending pads materialized. */
AfTensor *
af__tfl_value (AfTfl *c, guint ti, GError **error)
{
  AfTflTensor *t = &c->t[ti];
  if (!t->value && af__tfl_is_const (t))
    t->value = af__tfl_const_value (c, ti, error);
  if (!t->value) {
    if (error && !*error)
      af__tfl_fail (c, error, AF_ERROR_INVALID,
                    "tensor %u \"%s\" is read before any operator produces it", ti, t->name);
    return NULL;
  }
  if (t->pad_pending) {
    gint64 pad[AF_MAX_RANK][2];
    for (int i = 0; i < t->rank; i++) {
      int src = t->rank == 4 ? af__tfl_to_nchw[i] : i;
      pad[i][0] = t->pad[src][0];
      pad[i][1] = t->pad[src][1];
    }
    AfTensor *v = af__tfl_pad_concat (c, t->value, pad, error);
    if (!v)
      return NULL;
    t->value = v;
    t->pad_pending = FALSE;
  }
  return t->value;
}

/* @v rounded and clamped as TFLite stores it in quantized tensor @ti
 * (uint8 / int8 with one scale): fake_quant to multiples of the scale
 * within the type's range. Other tensors: @v itself. */
AfTensor *
af__tfl_requantize (AfTfl *c, guint ti, AfTensor *v, GError **error)
{
  AfTflTensor *t = &c->t[ti];
  if (!t->has_quant || (t->type != TFL_U8 && t->type != TFL_I8))
    return v;
  AfFbVector sv = { 0 }, zv = { 0 };
  GError *local = NULL;
  if (!af_fb_vector (&t->quant, QUANT_SCALE, 4, &sv, &local) ||
      !af_fb_vector (&t->quant, QUANT_ZERO_POINT, 8, &zv, &local)) {
    af__tfl_wrap (c, error, local);
    return NULL;
  }
  if (sv.n == 0)
    return v;
  float s = af_fb_vector_f32 (&sv, 0);
  gint64 z = zv.n ? af_fb_vector_i64 (&zv, 0) : 0, qmin = t->type == TFL_U8 ? 0 : -128;
  if (sv.n > 1 || zv.n > 1 || !isfinite (s) || s <= 0 || z < qmin || z > qmin + 255) {
    af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                  "output tensor %u \"%s\": field \"quantization\": %u scales (first %g), zero "
                  "point %" G_GINT64_FORMAT ": an activation needs one positive scale and a zero "
                  "point in its type's range",
                  ti, t->name, sv.n, sv.n ? (double) s : 0.0, z);
    return NULL;
  }
  AfAttrs a;
  af__attrs_init (AF_OP_FAKE_QUANT, &a);
  a.step = s;
  a.min = (float) (qmin - z) * s;
  a.max = (float) (qmin + 255 - z) * s;
  a.set = AF_A (STEP) | AF_A (MIN) | AF_A (MAX);
  return af__tfl_node (c, AF_OP_FAKE_QUANT, 1, &v, &a, NULL, error);
}

/* Binds @v (NCHW if rank 4) to output tensor @ti after checking its shape
 * against the file's, and names it after the tensor. A quantized tensor
 * gets TFLite's rounding and range (af__tfl_requantize). */
gboolean
af__tfl_bind (AfTfl *c, guint ti, AfTensor *v, GError **error)
{
  AfTflTensor *t = &c->t[ti];
  if (!v)
    return FALSE;
  if (!c->same_values && !(v = af__tfl_requantize (c, ti, v, error)))
    return FALSE;
  AfShape want = { t->rank };
  if (t->rank == 4)
    af__tfl_nchw_dims (t->d, want.d);
  else
    memcpy (want.d, t->d, sizeof (gint64) * t->rank);
  if (!af__shape_equal (&want, &v->shape)) {
    g_autofree char *ws = af__shape_str (&want), *gs = af__shape_str (&v->shape);
    return af__tfl_fail (c, error, AF_ERROR_SHAPE,
                         "output tensor %u \"%s\": the file declares %s%s, the op computes %s", ti,
                         t->name, ws, t->rank == 4 ? " (NCHW)" : "", gs);
  }
  if (v->kind == AF_VALUE_NODE && t->name[0] && !g_hash_table_contains (c->g->by_name, t->name))
    af_tensor_set_name (v, t->name);
  t->value = v;
  return TRUE;
}

/* A TFLite-layout value (NHWC for rank 4) bound to @ti: reshaped to the
 * declared shape, then made NCHW if rank 4. */
gboolean
af__tfl_bind_nhwc (AfTfl *c, guint ti, AfTensor *v, GError **error)
{
  AfTflTensor *t = &c->t[ti];
  if (!v)
    return FALSE;
  if (af__tfl_numel (t->rank, t->d) != af__shape_numel (&v->shape)) {
    g_autofree char *gs = af__shape_str (&v->shape);
    return af__tfl_fail (c, error, AF_ERROR_SHAPE,
                         "output tensor %u \"%s\": the file declares %" G_GINT64_FORMAT
                         " elements, the op computes %s",
                         ti, t->name, af__tfl_numel (t->rank, t->d), gs);
  }
  if (t->rank == 0)
    return af__tfl_bind (c, ti, v, error);
  v = af__tfl_reshape (c, v, t->rank, t->d, error);
  if (v && t->rank == 4)
    v = af__tfl_transpose (c, v, af__tfl_to_nchw, error);
  return af__tfl_bind (c, ti, v, error);
}
