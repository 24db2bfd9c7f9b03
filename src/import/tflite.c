/* tflite.c — TensorFlow Lite (.tflite) -> AfGraph. See tflite.h for the
 * layout scheme. Field ids follow TensorFlow's schema.fbs (not committed). */
#include "tflite.h"

#include "flatbuffer.h"
#include "graph.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------ schema ids */

enum { MODEL_OPERATOR_CODES = 1, MODEL_SUBGRAPHS = 2, MODEL_BUFFERS = 4 };
enum { CODE_DEPRECATED = 0, CODE_CUSTOM = 1, CODE_BUILTIN = 3 };
enum { SG_TENSORS = 0, SG_INPUTS = 1, SG_OUTPUTS = 2, SG_OPERATORS = 3 };
enum {
  OP_OPCODE = 0,
  OP_INPUTS = 1,
  OP_OUTPUTS = 2,
  OP_OPTIONS_TYPE = 3,
  OP_OPTIONS = 4,
  OP_CUSTOM_OPTIONS = 5
};
enum {
  TENSOR_SHAPE = 0,
  TENSOR_TYPE = 1,
  TENSOR_BUFFER = 2,
  TENSOR_NAME = 3,
  TENSOR_QUANT = 4,
  TENSOR_SPARSITY = 6
};
enum { BUFFER_DATA = 0, BUFFER_OFFSET = 1, BUFFER_SIZE = 2 };
enum { QUANT_SCALE = 2, QUANT_ZERO_POINT = 3, QUANT_DIM = 6 };

enum { TFL_F32 = 0, TFL_F16 = 1, TFL_I32 = 2, TFL_U8 = 3, TFL_I64 = 4, TFL_I8 = 9 };
enum { TFL_SAME = 0, TFL_VALID = 1 };

/* BuiltinOperator codes used here, with the BuiltinOptions union type their
 * options table must have (0: none expected). */
#define TFL_OPS(X)                                                                                 \
  X (ADD, 0, 11)                                                                                   \
  X (AVERAGE_POOL_2D, 1, 5)                                                                        \
  X (CONCATENATION, 2, 10)                                                                         \
  X (CONV_2D, 3, 1)                                                                                \
  X (DEPTHWISE_CONV_2D, 4, 2)                                                                      \
  X (DEQUANTIZE, 6, 0)                                                                             \
  X (FULLY_CONNECTED, 9, 8)                                                                        \
  X (LOGISTIC, 14, 0)                                                                              \
  X (MAX_POOL_2D, 17, 5)                                                                           \
  X (MUL, 18, 21)                                                                                  \
  X (RELU, 19, 0)                                                                                  \
  X (RELU6, 21, 0)                                                                                 \
  X (RESHAPE, 22, 17)                                                                              \
  X (SOFTMAX, 25, 9)                                                                               \
  X (TANH, 28, 0)                                                                                  \
  X (PAD, 34, 22)                                                                                  \
  X (TRANSPOSE_CONV, 67, 49)                                                                       \
  X (RESIZE_BILINEAR, 23, 15)                                                                      \
  X (MEAN, 40, 27)                                                                                 \
  X (ARG_MAX, 56, 40)                                                                              \
  X (RESIZE_NEAREST_NEIGHBOR, 97, 74)                                                              \
  X (QUANTIZE, 114, 0)                                                                             \
  X (HARD_SWISH, 117, 0)

enum {
#define X(name, code, opt) TFL_OP_##name = code,
  TFL_OPS (X)
#undef X
      TFL_OP_CUSTOM = 32,
  /* custom operators the importer knows, numbered past every builtin */
  TFL_OP_CONV_T_BIAS = 100000, /* MediaPipe's Convolution2DTransposeBias */
};

static const char *
tfl_op_name (gint32 code)
{
  switch (code) {
#define X(name, c, opt)                                                                            \
  case c:                                                                                          \
    return #name;
    TFL_OPS (X)
#undef X
  case TFL_OP_CUSTOM:
    return "CUSTOM";
  case TFL_OP_CONV_T_BIAS:
    return "Convolution2DTransposeBias";
  default:
    return NULL;
  }
}

static guint8
tfl_op_options_type (gint32 code)
{
  switch (code) {
#define X(name, c, opt)                                                                            \
  case c:                                                                                          \
    return opt;
    TFL_OPS (X)
#undef X
  default:
    return 0;
  }
}

/* ------------------------------------------------------------ state */

typedef struct {
  char *name;
  int rank;
  gint64 d[AF_MAX_RANK]; /* the TFLite (NHWC) shape */
  gint8 type;
  AfFbTable quant;
  gboolean has_quant, sparse;
  const guint8 *raw; /* constant bytes in the file, or NULL */
  gsize raw_len;
  float *f32;      /* decoded constant (owned), or NULL */
  AfTensor *value; /* rank 4: NCHW; else the TFLite layout. Unpadded if @pad_pending */
  gboolean pad_pending;
  gint64 pad[AF_MAX_RANK][2]; /* pending zero pads per TFLite dim */
} TflTensor;

typedef struct {
  const char *file;
  AfFb fb;
  AfGraph *g;
  AfImportOptions opts;
  TflTensor *t;
  guint n_t;
  AfFbVector buffers;
  gint32 *codes;
  guint n_codes;
  int op_index; /* -1 outside an operator */
  const char *op_name;
  gboolean same_values; /* the operator moves values (RESHAPE): no requantization */
} Tfl;

static gboolean G_GNUC_PRINTF (4, 5)
    tfl_fail (Tfl *c, GError **error, AfError code, const char *fmt, ...)
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
static gboolean
tfl_wrap (Tfl *c, GError **error, GError *local)
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

static gint64
tfl_numel (int rank, const gint64 *d)
{
  return af_shape_numel (rank, d);
}

/* ------------------------------------------------------------ graph helpers */

static char *
tfl_unique_name (AfGraph *g, const char *base)
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
static AfTensor *
tfl_node (Tfl *c, AfOp op, guint n_in, AfTensor *const *in, const AfAttrs *attrs, const char *base,
          GError **error)
{
  g_autofree char *name = tfl_unique_name (c->g, base ? base : af_op_info[op].name);
  AfNode *n = af__graph_add_node (c->g, name, op, n_in, in, attrs);
  GError *local = NULL;
  if (!af__node_infer_shape (c->g, n, &local)) {
    tfl_wrap (c, error, local);
    return NULL;
  }
  return n->out;
}

/* A constant from @data (fp32, taken). */
static AfTensor *
tfl_const (Tfl *c, const char *base, int rank, const gint64 *d, float *data)
{
  AfShape s = { rank };
  memcpy (s.d, d, sizeof (gint64) * rank);
  g_autofree char *name = tfl_unique_name (c->g, base);
  GBytes *bytes = g_bytes_new_take (data, tfl_numel (rank, d) * sizeof (float));
  AfTensor *t =
      af__graph_add_const (c->g, name, &s, AF_DTYPE_F32, g_bytes_get_data (bytes, NULL), bytes);
  g_bytes_unref (bytes);
  return t;
}

static AfTensor *
tfl_transpose (Tfl *c, AfTensor *x, const int *perm, GError **error)
{
  AfAttrs a;
  af__attrs_init (AF_OP_TRANSPOSE, &a);
  a.n_perm = x->shape.rank;
  for (int i = 0; i < a.n_perm; i++)
    a.perm[i] = perm[i];
  a.set = AF_A (PERM);
  return tfl_node (c, AF_OP_TRANSPOSE, 1, &x, &a, NULL, error);
}

static const int tfl_to_nhwc[4] = { 0, 2, 3, 1 };
static const int tfl_to_nchw[4] = { 0, 3, 1, 2 };

/* NCHW (rank 4) -> NHWC; other ranks pass through. */
static AfTensor *
tfl_nhwc (Tfl *c, AfTensor *x, GError **error)
{
  return x->shape.rank == 4 ? tfl_transpose (c, x, tfl_to_nhwc, error) : x;
}

static AfTensor *
tfl_reshape (Tfl *c, AfTensor *x, int rank, const gint64 *d, GError **error)
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
  return tfl_node (c, AF_OP_RESHAPE, 1, &x, &a, NULL, error);
}

/* @x * @scale + @bias with scalar constants. */
static AfTensor *
tfl_affine (Tfl *c, AfTensor *x, float scale, float bias, GError **error)
{
  gint64 one = 1;
  float *sv = g_new (float, 1), *bv = g_new (float, 1);
  *sv = scale;
  *bv = bias;
  AfTensor *in[2] = { x, tfl_const (c, "quant_scale", 1, &one, sv) };
  x = tfl_node (c, AF_OP_MUL, 2, in, NULL, NULL, error);
  if (!x)
    return NULL;
  in[0] = x;
  in[1] = tfl_const (c, "quant_bias", 1, &one, bv);
  return tfl_node (c, AF_OP_ADD, 2, in, NULL, NULL, error);
}

/* The NCHW shape of a rank-4 TFLite shape. */
static void
tfl_nchw_dims (const gint64 *nhwc, gint64 *nchw)
{
  for (int i = 0; i < 4; i++)
    nchw[i] = nhwc[tfl_to_nchw[i]];
}

/* ------------------------------------------------------------ constants */

static gboolean
tfl_tensor_index (Tfl *c, gint32 idx, const char *what, GError **error)
{
  if (idx < 0 || (guint) idx >= c->n_t)
    return tfl_fail (c, error, AF_ERROR_INVALID, "%s: tensor index %d is out of range (%u tensors)",
                     what, idx, c->n_t);
  return TRUE;
}

static gsize
tfl_type_size (gint8 type)
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
static double
tfl_raw_at (const TflTensor *t, gint64 i)
{
  const guint8 *p = t->raw + i * tfl_type_size (t->type);
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

static gboolean
tfl_is_const (const TflTensor *t)
{
  return t->raw != NULL || t->f32 != NULL;
}

/* Decodes (dequantizes) constant @ti into t->f32 once. */
static gboolean
tfl_const_f32 (Tfl *c, guint ti, GError **error)
{
  TflTensor *t = &c->t[ti];
  if (t->f32)
    return TRUE;
  if (!t->raw)
    return tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                     "tensor %u \"%s\" must be a constant (weights computed at run time are not "
                     "supported)",
                     ti, t->name);
  if (t->sparse)
    return tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                     "tensor %u \"%s\": field \"sparsity\": "
                     "sparse constants are not supported",
                     ti, t->name);
  gint64 n = tfl_numel (t->rank, t->d);
  AfFbVector scale = { 0 }, zp = { 0 };
  gint32 qdim = 0;
  GError *local = NULL;
  if (t->has_quant && t->type != TFL_F32 && t->type != TFL_F16) {
    if (!af_fb_vector (&t->quant, QUANT_SCALE, 4, &scale, &local) ||
        !af_fb_vector (&t->quant, QUANT_ZERO_POINT, 8, &zp, &local) ||
        !af_fb_i32 (&t->quant, QUANT_DIM, 0, &qdim, &local))
      return tfl_wrap (c, error, local);
  }
  gint64 channels = 1, inner = 1;
  if (scale.n > 1) {
    if (qdim < 0 || qdim >= t->rank || scale.n != t->d[qdim] || (zp.n > 1 && zp.n != scale.n))
      return tfl_fail (c, error, AF_ERROR_WEIGHTS,
                       "tensor %u \"%s\": field \"quantization\": %u scales / %u zero points do "
                       "not match quantized_dimension %d",
                       ti, t->name, scale.n, zp.n, qdim);
    channels = scale.n;
    for (int i = qdim + 1; i < t->rank; i++)
      inner *= t->d[i];
  }
  float *dst = g_new (float, MAX (n, 1));
  for (gint64 i = 0; i < n; i++) {
    double v = tfl_raw_at (t, i);
    if (scale.n) {
      guint32 ch = channels > 1 ? (guint32) ((i / inner) % channels) : 0;
      double z = zp.n ? (double) af_fb_vector_i64 (&zp, zp.n > 1 ? ch : 0) : 0;
      v = (v - z) * af_fb_vector_f32 (&scale, ch);
    }
    dst[i] = (float) v;
    if (!isfinite (dst[i])) {
      g_free (dst);
      return tfl_fail (c, error, AF_ERROR_WEIGHTS,
                       "tensor %u \"%s\": element %" G_GINT64_FORMAT " is not finite", ti, t->name,
                       i);
    }
  }
  t->f32 = dst;
  return TRUE;
}

/* Reads a small integer constant (paddings, sizes) into @out (up to @max). */
static gboolean
tfl_const_ints (Tfl *c, guint ti, gint64 *out, gint64 want, GError **error)
{
  TflTensor *t = &c->t[ti];
  if (!t->raw || (t->type != TFL_I32 && t->type != TFL_I64))
    return tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                     "tensor %u \"%s\" must be a constant int32/int64 tensor", ti, t->name);
  if (tfl_numel (t->rank, t->d) != want)
    return tfl_fail (c, error, AF_ERROR_INVALID,
                     "tensor %u \"%s\" has %" G_GINT64_FORMAT " values, expected %" G_GINT64_FORMAT,
                     ti, t->name, tfl_numel (t->rank, t->d), want);
  for (gint64 i = 0; i < want; i++)
    out[i] = (gint64) tfl_raw_at (t, i);
  return TRUE;
}

/* A constant tensor as a graph value: rank 4 is permuted to NCHW. */
static AfTensor *
tfl_const_value (Tfl *c, guint ti, GError **error)
{
  TflTensor *t = &c->t[ti];
  if (!tfl_const_f32 (c, ti, error))
    return NULL;
  gint64 n = tfl_numel (t->rank, t->d);
  float *data = g_new (float, MAX (n, 1));
  if (t->rank == 4) {
    gint64 N = t->d[0], H = t->d[1], W = t->d[2], C = t->d[3], nchw[4];
    for (gint64 b = 0; b < N; b++)
      for (gint64 y = 0; y < H; y++)
        for (gint64 x = 0; x < W; x++)
          for (gint64 ch = 0; ch < C; ch++)
            data[((b * C + ch) * H + y) * W + x] = t->f32[((b * H + y) * W + x) * C + ch];
    tfl_nchw_dims (t->d, nchw);
    return tfl_const (c, t->name, 4, nchw, data);
  }
  memcpy (data, t->f32, n * sizeof (float));
  if (t->rank == 0) {
    gint64 one = 1;
    return tfl_const (c, t->name, 1, &one, data);
  }
  return tfl_const (c, t->name, t->rank, t->d, data);
}

/* ------------------------------------------------------------ values */

/* Zero-pads @x (layout as stored) by @pad[dim][2] given in stored dims, as
 * concatenations with zero constants. */
static AfTensor *
tfl_pad_concat (Tfl *c, AfTensor *x, gint64 (*pad)[2], GError **error)
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
      gint64 numel = tfl_numel (x->shape.rank, d);
      if (numel > AF_MAX_NUMEL) {
        tfl_fail (c, error, AF_ERROR_LIMIT, "pad of %" G_GINT64_FORMAT " is too large",
                  pad[ax][side]);
        return NULL;
      }
      parts[n++] = tfl_const (c, "zeros", x->shape.rank, d, g_new0 (float, numel));
    }
    AfAttrs a;
    af__attrs_init (AF_OP_CONCAT, &a);
    a.axis = ax;
    a.set = AF_A (AXIS);
    x = tfl_node (c, AF_OP_CONCAT, n, parts, &a, NULL, error);
  }
  return x;
}

/* The graph value of tensor @ti for a consumer: constants are created,
 * pending pads materialized. */
static AfTensor *
tfl_value (Tfl *c, guint ti, GError **error)
{
  TflTensor *t = &c->t[ti];
  if (!t->value && tfl_is_const (t))
    t->value = tfl_const_value (c, ti, error);
  if (!t->value) {
    if (error && !*error)
      tfl_fail (c, error, AF_ERROR_INVALID,
                "tensor %u \"%s\" is read before any operator produces it", ti, t->name);
    return NULL;
  }
  if (t->pad_pending) {
    gint64 pad[AF_MAX_RANK][2];
    for (int i = 0; i < t->rank; i++) {
      int src = t->rank == 4 ? tfl_to_nchw[i] : i;
      pad[i][0] = t->pad[src][0];
      pad[i][1] = t->pad[src][1];
    }
    AfTensor *v = tfl_pad_concat (c, t->value, pad, error);
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
static AfTensor *
tfl_requantize (Tfl *c, guint ti, AfTensor *v, GError **error)
{
  TflTensor *t = &c->t[ti];
  if (!t->has_quant || (t->type != TFL_U8 && t->type != TFL_I8))
    return v;
  AfFbVector sv = { 0 }, zv = { 0 };
  GError *local = NULL;
  if (!af_fb_vector (&t->quant, QUANT_SCALE, 4, &sv, &local) ||
      !af_fb_vector (&t->quant, QUANT_ZERO_POINT, 8, &zv, &local)) {
    tfl_wrap (c, error, local);
    return NULL;
  }
  if (sv.n == 0)
    return v;
  float s = af_fb_vector_f32 (&sv, 0);
  gint64 z = zv.n ? af_fb_vector_i64 (&zv, 0) : 0, qmin = t->type == TFL_U8 ? 0 : -128;
  if (sv.n > 1 || zv.n > 1 || !isfinite (s) || s <= 0 || z < qmin || z > qmin + 255) {
    tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
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
  return tfl_node (c, AF_OP_FAKE_QUANT, 1, &v, &a, NULL, error);
}

/* Binds @v (NCHW if rank 4) to output tensor @ti after checking its shape
 * against the file's, and names it after the tensor. A quantized tensor
 * gets TFLite's rounding and range (tfl_requantize). */
static gboolean
tfl_bind (Tfl *c, guint ti, AfTensor *v, GError **error)
{
  TflTensor *t = &c->t[ti];
  if (!v)
    return FALSE;
  if (!c->same_values && !(v = tfl_requantize (c, ti, v, error)))
    return FALSE;
  AfShape want = { t->rank };
  if (t->rank == 4)
    tfl_nchw_dims (t->d, want.d);
  else
    memcpy (want.d, t->d, sizeof (gint64) * t->rank);
  if (!af__shape_equal (&want, &v->shape)) {
    g_autofree char *ws = af__shape_str (&want), *gs = af__shape_str (&v->shape);
    return tfl_fail (c, error, AF_ERROR_SHAPE,
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
static gboolean
tfl_bind_nhwc (Tfl *c, guint ti, AfTensor *v, GError **error)
{
  TflTensor *t = &c->t[ti];
  if (!v)
    return FALSE;
  if (tfl_numel (t->rank, t->d) != af__shape_numel (&v->shape)) {
    g_autofree char *gs = af__shape_str (&v->shape);
    return tfl_fail (c, error, AF_ERROR_SHAPE,
                     "output tensor %u \"%s\": the file declares %" G_GINT64_FORMAT
                     " elements, the op computes %s",
                     ti, t->name, tfl_numel (t->rank, t->d), gs);
  }
  if (t->rank == 0)
    return tfl_bind (c, ti, v, error);
  v = tfl_reshape (c, v, t->rank, t->d, error);
  if (v && t->rank == 4)
    v = tfl_transpose (c, v, tfl_to_nchw, error);
  return tfl_bind (c, ti, v, error);
}

/* ------------------------------------------------------------ operators */

typedef struct {
  AfFbTable opt;
  gboolean has_opt;
  AfFbVector in, out;
  AfFbVector custom; /* custom_options bytes (n = 0: none) */
} TflOp;

static gint32
tfl_in (const TflOp *op, guint i)
{
  return i < op->in.n ? af_fb_vector_i32 (&op->in, i) : -1;
}

static gint32
tfl_out (const TflOp *op)
{
  return af_fb_vector_i32 (&op->out, 0);
}

/* Checks arity and that every given tensor index is in range. */
static gboolean
tfl_check_io (Tfl *c, const TflOp *op, guint min_in, guint max_in, GError **error)
{
  if (op->in.n < min_in || op->in.n > max_in)
    return tfl_fail (c, error, AF_ERROR_INVALID, "field \"inputs\": %u inputs, expected %u to %u",
                     op->in.n, min_in, max_in);
  if (op->out.n != 1)
    return tfl_fail (c, error, AF_ERROR_INVALID, "field \"outputs\": %u outputs, expected 1",
                     op->out.n);
  for (guint i = 0; i < op->in.n; i++) {
    gint32 idx = af_fb_vector_i32 (&op->in, i);
    if (idx == -1 && i >= min_in)
      continue;
    if (!tfl_tensor_index (c, idx, "field \"inputs\"", error))
      return FALSE;
  }
  if (!tfl_tensor_index (c, tfl_out (op), "field \"outputs\"", error))
    return FALSE;
  if (tfl_is_const (&c->t[tfl_out (op)]) || c->t[tfl_out (op)].value)
    return tfl_fail (c, error, AF_ERROR_INVALID,
                     "field \"outputs\": tensor %d is a constant or already produced",
                     tfl_out (op));
  return TRUE;
}

static gboolean
tfl_opt_i8 (Tfl *c, const TflOp *op, guint id, gint8 dflt, gint8 *out, GError **error)
{
  GError *local = NULL;
  *out = dflt;
  if (op->has_opt && !af_fb_i8 (&op->opt, id, dflt, out, &local))
    return tfl_wrap (c, error, local);
  return TRUE;
}

static gboolean
tfl_opt_i32 (Tfl *c, const TflOp *op, guint id, gint32 dflt, gint32 *out, GError **error)
{
  GError *local = NULL;
  *out = dflt;
  if (op->has_opt && !af_fb_i32 (&op->opt, id, dflt, out, &local))
    return tfl_wrap (c, error, local);
  return TRUE;
}

static gboolean
tfl_opt_f32 (Tfl *c, const TflOp *op, guint id, float dflt, float *out, GError **error)
{
  GError *local = NULL;
  *out = dflt;
  if (op->has_opt && !af_fb_f32 (&op->opt, id, dflt, out, &local))
    return tfl_wrap (c, error, local);
  return TRUE;
}

/* Applies fused activation @act to @y. */
static AfTensor *
tfl_activation (Tfl *c, AfTensor *y, gint8 act, GError **error)
{
  if (!y)
    return NULL;
  AfAttrs a;
  switch (act) {
  case 0:
    return y;
  case 1:
    return tfl_node (c, AF_OP_RELU, 1, &y, NULL, NULL, error);
  case 2:
  case 3:
    if (act == 3)
      return tfl_node (c, AF_OP_RELU6, 1, &y, NULL, NULL, error);
    af__attrs_init (AF_OP_CLIP, &a);
    a.min = -1;
    a.max = 1;
    a.set = AF_A (MIN) | AF_A (MAX);
    return tfl_node (c, AF_OP_CLIP, 1, &y, &a, NULL, error);
  case 4:
    return tfl_node (c, AF_OP_TANH, 1, &y, NULL, NULL, error);
  default:
    tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
              "option \"fused_activation_function\": %d is not supported", act);
    return NULL;
  }
}

/* TF SAME / VALID padding of one spatial dim. */
static gboolean
tfl_padding (Tfl *c, gint8 padding, gint64 in, gint64 k, gint64 stride, gint64 dil, gint64 *p0,
             gint64 *p1, GError **error)
{
  *p0 = *p1 = 0;
  if (padding == TFL_VALID)
    return TRUE;
  if (padding != TFL_SAME)
    return tfl_fail (c, error, AF_ERROR_UNSUPPORTED, "option \"padding\": %d is not SAME or VALID",
                     padding);
  gint64 out = (in + stride - 1) / stride;
  gint64 total = MAX ((out - 1) * stride + (k - 1) * dil + 1 - in, 0);
  *p0 = total / 2;
  *p1 = total - *p0;
  return TRUE;
}

typedef struct {
  gint8 padding, act;
  gint32 stride[2], dilation[2]; /* h, w */
} TflConvOpts;

static gboolean
tfl_check_spatial (Tfl *c, const TflConvOpts *o, GError **error)
{
  for (int i = 0; i < 2; i++) {
    if (o->stride[i] < 1 || o->stride[i] > 4096)
      return tfl_fail (c, error, AF_ERROR_INVALID, "option \"stride_%s\": %d is out of range",
                       i ? "w" : "h", o->stride[i]);
    if (o->dilation[i] < 1 || o->dilation[i] > 4096)
      return tfl_fail (c, error, AF_ERROR_INVALID,
                       "option \"dilation_%s_factor\": %d is out of range", i ? "w" : "h",
                       o->dilation[i]);
  }
  return TRUE;
}

/* The conv input: the tensor's unpadded value and its pending spatial pads
 * (a PAD feeding a conv merges into the conv's pads). */
static AfTensor *
tfl_conv_input (Tfl *c, guint ti, gint64 pre[4], GError **error)
{
  TflTensor *t = &c->t[ti];
  memset (pre, 0, 4 * sizeof (gint64));
  if (t->rank != 4) {
    tfl_fail (c, error, AF_ERROR_SHAPE, "input 0 \"%s\" has rank %d, expected 4 (NHWC)", t->name,
              t->rank);
    return NULL;
  }
  if (t->pad_pending && !t->pad[0][0] && !t->pad[0][1] && !t->pad[3][0] && !t->pad[3][1]) {
    pre[0] = t->pad[1][0]; /* top, left, bottom, right */
    pre[1] = t->pad[2][0];
    pre[2] = t->pad[1][1];
    pre[3] = t->pad[2][1];
    return t->value;
  }
  return tfl_value (c, ti, error);
}

/* The fp32 data of constant input @i of rank @rank (borrowed from the tensor). */
static const TflTensor *
tfl_weight (Tfl *c, const TflOp *op, guint i, int rank, GError **error)
{
  guint ti = (guint) tfl_in (op, i);
  if (!tfl_const_f32 (c, ti, error))
    return NULL;
  const TflTensor *t = &c->t[ti];
  if (rank && t->rank != rank) {
    tfl_fail (c, error, AF_ERROR_WEIGHTS, "input %u \"%s\" has rank %d, expected %d", i, t->name,
              t->rank, rank);
    return NULL;
  }
  return t;
}

/* The optional bias input 2 as a [@o] constant, or NULL (no error) if absent. */
static gboolean
tfl_bias (Tfl *c, const TflOp *op, gint64 o, AfTensor **bias, GError **error)
{
  *bias = NULL;
  if (tfl_in (op, 2) < 0)
    return TRUE;
  const TflTensor *t = tfl_weight (c, op, 2, 0, error);
  if (!t)
    return FALSE;
  if (tfl_numel (t->rank, t->d) != o)
    return tfl_fail (c, error, AF_ERROR_WEIGHTS,
                     "input 2 \"%s\" has %" G_GINT64_FORMAT " values, expected %" G_GINT64_FORMAT,
                     t->name, tfl_numel (t->rank, t->d), o);
  *bias = tfl_const (c, t->name, 1, &o, g_memdup2 (t->f32, o * sizeof (float)));
  return TRUE;
}

static gboolean
tfl_conv_options (Tfl *c, const TflOp *op, gboolean depthwise, TflConvOpts *o, gint32 *mult,
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
tfl_conv_weight_data (const TflTensor *w, gboolean depthwise, gint64 *oihw)
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
tfl_import_conv (Tfl *c, const TflOp *op, gboolean depthwise, GError **error)
{
  TflConvOpts o;
  gint32 mult;
  gint64 pre[4];
  if (!tfl_check_io (c, op, 2, 3, error) || !tfl_conv_options (c, op, depthwise, &o, &mult, error))
    return FALSE;
  AfTensor *x = tfl_conv_input (c, (guint) tfl_in (op, 0), pre, error);
  const TflTensor *w = x ? tfl_weight (c, op, 1, 4, error) : NULL;
  if (!w)
    return FALSE;
  gint64 C = x->shape.d[1], groups;
  if (depthwise) {
    if (w->d[0] != 1 || w->d[3] % C != 0 || (mult > 0 && w->d[3] != C * mult))
      return tfl_fail (c, error, AF_ERROR_WEIGHTS,
                       "input 1 \"%s\": depthwise filter [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                       ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                       "] does not fit %" G_GINT64_FORMAT " input channels (depth_multiplier %d)",
                       w->name, w->d[0], w->d[1], w->d[2], w->d[3], C, mult);
    groups = C;
  } else {
    if (C % w->d[3] != 0 || w->d[0] % (C / w->d[3]) != 0)
      return tfl_fail (c, error, AF_ERROR_WEIGHTS,
                       "input 1 \"%s\": filter has %" G_GINT64_FORMAT
                       " input channels, which does not divide the %" G_GINT64_FORMAT
                       " channels of input 0",
                       w->name, w->d[3], C);
    groups = C / w->d[3];
  }
  gint64 oihw[4];
  float *wdata = tfl_conv_weight_data (w, depthwise, oihw);
  AfTensor *wt = tfl_const (c, w->name, 4, oihw, wdata), *bias;
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
  AfTensor *y = tfl_node (c, AF_OP_CONV, bias ? 3 : 2, in, &a, NULL, error);
  return tfl_bind (c, (guint) tfl_out (op), tfl_activation (c, y, o.act, error), error);
}

static gboolean
tfl_import_fc (Tfl *c, const TflOp *op, GError **error)
{
  gint8 act, format, keep = 0;
  if (!tfl_check_io (c, op, 2, 3, error) || !tfl_opt_i8 (c, op, 0, 0, &act, error) ||
      !tfl_opt_i8 (c, op, 1, 0, &format, error) || !tfl_opt_i8 (c, op, 2, 0, &keep, error))
    return FALSE;
  if (format != 0)
    return tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                     "option \"weights_format\": %d (shuffled weights) is not supported", format);
  AfTensor *x = tfl_value (c, (guint) tfl_in (op, 0), error);
  const TflTensor *w = x ? tfl_weight (c, op, 1, 2, error) : NULL;
  if (!w)
    return FALSE;
  gint64 N = w->d[0], K = w->d[1], numel = af__shape_numel (&x->shape);
  if (numel % K != 0)
    return tfl_fail (c, error, AF_ERROR_SHAPE,
                     "input 0 has %" G_GINT64_FORMAT
                     " elements, not a multiple of K = %" G_GINT64_FORMAT " of input 1 \"%s\"",
                     numel, K, w->name);
  x = tfl_nhwc (c, x, error);
  if (x && !(keep && x->shape.d[x->shape.rank - 1] == K)) {
    gint64 mk[2] = { numel / K, K };
    x = tfl_reshape (c, x, 2, mk, error);
  }
  AfTensor *wt = tfl_const (c, w->name, 2, w->d, g_memdup2 (w->f32, N * K * sizeof (float)));
  AfTensor *bias;
  if (!x || !tfl_bias (c, op, N, &bias, error))
    return FALSE;
  AfTensor *in[] = { x, wt, bias };
  AfTensor *y = tfl_node (c, AF_OP_LINEAR, bias ? 3 : 2, in, NULL, NULL, error);
  return tfl_bind_nhwc (c, (guint) tfl_out (op), tfl_activation (c, y, act, error), error);
}

/* A binary operand for an output of rank @rank: rank-4 outputs are NCHW, so
 * a lower-rank operand (NHWC broadcasting) is made rank 4 and NCHW. */
static AfTensor *
tfl_operand (Tfl *c, guint ti, int rank, GError **error)
{
  TflTensor *t = &c->t[ti];
  AfTensor *v = tfl_value (c, ti, error);
  if (!v || rank != 4 || t->rank == 4)
    return v;
  gint64 d[4] = { 1, 1, 1, 1 };
  for (int i = 0; i < t->rank; i++)
    d[4 - t->rank + i] = t->d[i];
  v = tfl_reshape (c, v, 4, d, error);
  return v ? tfl_transpose (c, v, tfl_to_nchw, error) : NULL;
}

static gboolean
tfl_import_binary (Tfl *c, const TflOp *op, AfOp aop, GError **error)
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
  AfTensor *y = tfl_node (c, aop, 2, in, NULL, NULL, error);
  return tfl_bind (c, (guint) tfl_out (op), tfl_activation (c, y, act, error), error);
}

static gboolean
tfl_import_unary (Tfl *c, const TflOp *op, AfOp aop, GError **error)
{
  if (!tfl_check_io (c, op, 1, 1, error))
    return FALSE;
  AfTensor *x = tfl_value (c, (guint) tfl_in (op, 0), error);
  AfTensor *y = x ? tfl_node (c, aop, 1, &x, NULL, NULL, error) : NULL;
  return tfl_bind (c, (guint) tfl_out (op), y, error);
}

static gboolean
tfl_import_pool (Tfl *c, const TflOp *op, AfOp aop, GError **error)
{
  TflConvOpts o = { .dilation = { 1, 1 } };
  gint32 k[2];
  if (!tfl_check_io (c, op, 1, 1, error) || !tfl_opt_i8 (c, op, 0, 0, &o.padding, error) ||
      !tfl_opt_i32 (c, op, 1, 0, &o.stride[1], error) ||
      !tfl_opt_i32 (c, op, 2, 0, &o.stride[0], error) || !tfl_opt_i32 (c, op, 3, 0, &k[1], error) ||
      !tfl_opt_i32 (c, op, 4, 0, &k[0], error) || !tfl_opt_i8 (c, op, 5, 0, &o.act, error) ||
      !tfl_check_spatial (c, &o, error))
    return FALSE;
  guint ti = (guint) tfl_in (op, 0);
  if (c->t[ti].rank != 4)
    return tfl_fail (c, error, AF_ERROR_SHAPE, "input 0 has rank %d, expected 4", c->t[ti].rank);
  AfTensor *x = tfl_value (c, ti, error);
  if (!x)
    return FALSE;
  AfAttrs a;
  af__attrs_init (aop, &a);
  for (int i = 0; i < 2; i++) {
    if (k[i] < 1 || k[i] > 65536)
      return tfl_fail (c, error, AF_ERROR_INVALID, "option \"filter_%s\": %d is out of range",
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
  AfTensor *y = tfl_node (c, aop, 1, &x, &a, NULL, error);
  return tfl_bind (c, (guint) tfl_out (op), tfl_activation (c, y, o.act, error), error);
}

/* PAD with zeros: recorded on the output as a pending pad; a conv consuming
 * it merges the spatial pads, anything else gets concatenated zeros. */
static gboolean
tfl_import_pad (Tfl *c, const TflOp *op, GError **error)
{
  if (!tfl_check_io (c, op, 2, 2, error))
    return FALSE;
  guint xi = (guint) tfl_in (op, 0), oi = (guint) tfl_out (op);
  TflTensor *x = &c->t[xi], *out = &c->t[oi];
  gint64 pads[2 * AF_MAX_RANK];
  if (x->rank < 1)
    return tfl_fail (c, error, AF_ERROR_SHAPE, "input 0 \"%s\" is a scalar", x->name);
  if (!tfl_const_ints (c, (guint) tfl_in (op, 1), pads, 2 * x->rank, error))
    return FALSE;
  /* Compose with a pad still pending on the input. */
  gint64 pad[AF_MAX_RANK][2] = { { 0 } };
  for (int i = 0; i < x->rank; i++)
    for (int s = 0; s < 2; s++) {
      gint64 p = pads[2 * i + s];
      if (p < 0 || p > AF_MAX_DIM)
        return tfl_fail (c, error, AF_ERROR_INVALID,
                         "input 1: padding %" G_GINT64_FORMAT " of dim %d is out of range", p, i);
      pad[i][s] = p + (x->pad_pending ? x->pad[i][s] : 0);
    }
  if (!x->value && !tfl_value (c, xi, error))
    return FALSE;
  /* Check the declared output shape before deferring. */
  if (out->rank != x->rank)
    return tfl_fail (c, error, AF_ERROR_SHAPE, "output tensor %u \"%s\" has rank %d, expected %d",
                     oi, out->name, out->rank, x->rank);
  for (int i = 0; i < x->rank; i++)
    if (out->d[i] != x->d[i] + pads[2 * i] + pads[2 * i + 1])
      return tfl_fail (c, error, AF_ERROR_SHAPE,
                       "output tensor %u \"%s\": dim %d is %" G_GINT64_FORMAT
                       ", the padding gives %" G_GINT64_FORMAT,
                       oi, out->name, i, out->d[i], x->d[i] + pads[2 * i] + pads[2 * i + 1]);
  out->value = x->value;
  out->pad_pending = TRUE;
  memcpy (out->pad, pad, sizeof pad);
  return TRUE;
}

static gboolean
tfl_import_reshape (Tfl *c, const TflOp *op, GError **error)
{
  if (!tfl_check_io (c, op, 1, 2, error))
    return FALSE;
  AfTensor *x = tfl_value (c, (guint) tfl_in (op, 0), error);
  x = x ? tfl_nhwc (c, x, error) : NULL;
  c->same_values = TRUE; /* TFLite's RESHAPE keeps the quantization */
  gboolean ok = tfl_bind_nhwc (c, (guint) tfl_out (op), x, error);
  c->same_values = FALSE;
  return ok;
}

static gboolean
tfl_import_concat (Tfl *c, const TflOp *op, GError **error)
{
  gint32 axis;
  gint8 act;
  if (!tfl_check_io (c, op, 1, AF_MAX_INPUTS_PER_NODE, error) ||
      !tfl_opt_i32 (c, op, 0, 0, &axis, error) || !tfl_opt_i8 (c, op, 1, 0, &act, error))
    return FALSE;
  int rank = c->t[tfl_out (op)].rank;
  if (axis < -rank || axis >= rank)
    return tfl_fail (c, error, AF_ERROR_INVALID, "option \"axis\": %d is out of range for rank %d",
                     axis, rank);
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
      return tfl_fail (c, error, AF_ERROR_SHAPE, "input %u \"%s\" has rank %d, expected %d", i,
                       c->t[ti].name, c->t[ti].rank, rank);
    if (!(in[i] = tfl_value (c, ti, error)))
      return FALSE;
  }
  AfTensor *y = tfl_node (c, AF_OP_CONCAT, op->in.n, in, &a, NULL, error);
  return tfl_bind (c, (guint) tfl_out (op), tfl_activation (c, y, act, error), error);
}

static gboolean
tfl_import_softmax (Tfl *c, const TflOp *op, GError **error)
{
  float beta;
  if (!tfl_check_io (c, op, 1, 1, error) || !tfl_opt_f32 (c, op, 0, 0.0f, &beta, error))
    return FALSE;
  AfTensor *x = tfl_value (c, (guint) tfl_in (op, 0), error);
  if (!x)
    return FALSE;
  if (beta != 1.0f) {
    gint64 one = 1;
    float *b = g_new (float, 1);
    *b = beta;
    AfTensor *in[] = { x, tfl_const (c, "softmax_beta", 1, &one, b) };
    if (!(x = tfl_node (c, AF_OP_MUL, 2, in, NULL, NULL, error)))
      return FALSE;
  }
  AfAttrs a;
  af__attrs_init (AF_OP_SOFTMAX, &a);
  a.axis = x->shape.rank == 4 ? 1 : -1;
  a.set = AF_A (AXIS);
  return tfl_bind (c, (guint) tfl_out (op), tfl_node (c, AF_OP_SOFTMAX, 1, &x, &a, NULL, error),
                   error);
}

/* RESIZE_BILINEAR: options align_corners (id 2) and half_pixel_centers
 * (id 3); ids 0 and 1 are the deprecated new_height / new_width. */
static gboolean
tfl_import_resize_bilinear (Tfl *c, const TflOp *op, GError **error)
{
  gint8 align, half;
  gint64 size[2];
  if (!tfl_check_io (c, op, 2, 2, error) || !tfl_opt_i8 (c, op, 2, 0, &align, error) ||
      !tfl_opt_i8 (c, op, 3, 0, &half, error))
    return FALSE;
  guint ti = (guint) tfl_in (op, 0);
  if (c->t[ti].rank != 4)
    return tfl_fail (c, error, AF_ERROR_SHAPE, "input 0 has rank %d, expected 4", c->t[ti].rank);
  if (align && half)
    return tfl_fail (c, error, AF_ERROR_INVALID,
                     "options \"align_corners\" and \"half_pixel_centers\" are both true");
  AfTensor *x = tfl_value (c, ti, error);
  if (!x || !tfl_const_ints (c, (guint) tfl_in (op, 1), size, 2, error))
    return FALSE;
  for (int i = 0; i < 2; i++)
    if (size[i] < 1 || size[i] > AF_MAX_DIM)
      return tfl_fail (c, error, AF_ERROR_INVALID,
                       "input 1: size %" G_GINT64_FORMAT " is out of range", size[i]);
  AfAttrs a;
  af__attrs_init (AF_OP_RESIZE_BILINEAR, &a);
  a.size[0] = size[0];
  a.size[1] = size[1];
  a.align_corners = align != 0;
  a.half_pixel = half != 0;
  a.set = AF_A (SIZE) | AF_A (ALIGN_CORNERS) | AF_A (HALF_PIXEL);
  return tfl_bind (c, (guint) tfl_out (op),
                   tfl_node (c, AF_OP_RESIZE_BILINEAR, 1, &x, &a, NULL, error), error);
}

/* A transposed conv of input @xi by OHWI weights @wi (bias @bi or -1) to
 * the declared output shape: the crop is TFLite's, total = (in - 1) *
 * stride + k - out, the first half (SAME) or nothing (VALID) before. */
static gboolean
tfl_conv_transpose (Tfl *c, const TflOp *op, guint xi, guint wi, gint32 bi, gint8 padding,
                    const gint32 *stride, gint8 act, GError **error)
{
  TflConvOpts o = { .padding = padding, .stride = { stride[0], stride[1] }, .dilation = { 1, 1 } };
  if (!tfl_check_spatial (c, &o, error))
    return FALSE;
  if (padding != TFL_SAME && padding != TFL_VALID)
    return tfl_fail (c, error, AF_ERROR_UNSUPPORTED, "padding %d is not SAME or VALID", padding);
  guint oi = (guint) tfl_out (op);
  if (c->t[xi].rank != 4 || c->t[oi].rank != 4)
    return tfl_fail (c, error, AF_ERROR_SHAPE, "input \"%s\" and output \"%s\" must have rank 4",
                     c->t[xi].name, c->t[oi].name);
  AfTensor *x = tfl_value (c, xi, error);
  if (!x || !tfl_const_f32 (c, wi, error))
    return FALSE;
  const TflTensor *w = &c->t[wi];
  gint64 C = x->shape.d[1];
  if (w->rank != 4 || w->d[3] != C)
    return tfl_fail (c, error, AF_ERROR_WEIGHTS,
                     "weights \"%s\" must be [O, KH, KW, %" G_GINT64_FORMAT "] (rank %d)", w->name,
                     C, w->rank);
  gint64 O = w->d[0], KH = w->d[1], KW = w->d[2];
  float *wd = g_new (float, C *O *KH *KW);
  for (gint64 i = 0; i < C; i++)
    for (gint64 oc = 0; oc < O; oc++)
      for (gint64 y = 0; y < KH; y++)
        for (gint64 xx = 0; xx < KW; xx++)
          wd[((i * O + oc) * KH + y) * KW + xx] = w->f32[((oc * KH + y) * KW + xx) * C + i];
  gint64 wshape[4] = { C, O, KH, KW };
  AfTensor *wt = tfl_const (c, w->name, 4, wshape, wd), *bias = NULL;
  if (bi >= 0) {
    if (!tfl_const_f32 (c, (guint) bi, error))
      return FALSE;
    const TflTensor *b = &c->t[bi];
    if (tfl_numel (b->rank, b->d) != O)
      return tfl_fail (c, error, AF_ERROR_WEIGHTS,
                       "bias \"%s\" does not have %" G_GINT64_FORMAT " values", b->name, O);
    bias = tfl_const (c, b->name, 1, &O, g_memdup2 (b->f32, O * sizeof (float)));
  }
  AfAttrs a;
  af__attrs_init (AF_OP_CONV_TRANSPOSE, &a);
  for (int i = 0; i < 2; i++) {
    gint64 in = x->shape.d[2 + i], out = c->t[oi].d[1 + i], k = i ? KW : KH;
    gint64 total = (in - 1) * stride[i] + k - out;
    if (total < 0)
      return tfl_fail (c, error, AF_ERROR_SHAPE,
                       "output tensor %u \"%s\": %s %" G_GINT64_FORMAT
                       " is larger than the full transposed conv (%" G_GINT64_FORMAT ")",
                       oi, c->t[oi].name, i ? "width" : "height", out, out + total);
    a.pad[i] = padding == TFL_SAME ? total / 2 : 0;
    a.pad[2 + i] = total - a.pad[i];
    a.stride[i] = stride[i];
  }
  a.set = AF_A (STRIDE) | AF_A (PAD) | AF_A (DILATION) | AF_A (GROUPS);
  AfTensor *in[] = { x, wt, bias };
  AfTensor *y = tfl_node (c, AF_OP_CONV_TRANSPOSE, bias ? 3 : 2, in, &a, NULL, error);
  return tfl_bind (c, oi, tfl_activation (c, y, act, error), error);
}

/* TRANSPOSE_CONV: inputs output_shape, weights (OHWI), input, bias?. */
static gboolean
tfl_import_transpose_conv (Tfl *c, const TflOp *op, GError **error)
{
  gint8 padding, act;
  gint32 stride[2];
  gint64 shape[4];
  if (!tfl_check_io (c, op, 3, 4, error) || !tfl_opt_i8 (c, op, 0, 0, &padding, error) ||
      !tfl_opt_i32 (c, op, 1, 0, &stride[1], error) ||
      !tfl_opt_i32 (c, op, 2, 0, &stride[0], error) || !tfl_opt_i8 (c, op, 3, 0, &act, error) ||
      !tfl_const_ints (c, (guint) tfl_in (op, 0), shape, 4, error))
    return FALSE;
  const TflTensor *out = &c->t[tfl_out (op)];
  if (out->rank != 4 || memcmp (shape, out->d, sizeof shape) != 0)
    return tfl_fail (c, error, AF_ERROR_SHAPE,
                     "input 0 (output_shape) does not match the output tensor \"%s\"", out->name);
  return tfl_conv_transpose (c, op, (guint) tfl_in (op, 2), (guint) tfl_in (op, 1), tfl_in (op, 3),
                             padding, stride, act, error);
}

/* MediaPipe's Convolution2DTransposeBias: inputs input, weights (OHWI),
 * bias; custom_options the raw TfLiteTransposeConvParams { padding (1 SAME,
 * 2 VALID), stride_width, stride_height } as little-endian int32. */
static gboolean
tfl_import_conv_t_bias (Tfl *c, const TflOp *op, GError **error)
{
  if (!tfl_check_io (c, op, 3, 3, error))
    return FALSE;
  if (op->custom.n < 12)
    return tfl_fail (c, error, AF_ERROR_INVALID,
                     "field \"custom_options\": %u bytes, expected 12 (padding, stride_width, "
                     "stride_height)",
                     op->custom.n);
  gint32 v[3];
  memcpy (v, af_fb_vector_bytes (&op->custom), sizeof v);
  for (int i = 0; i < 3; i++)
    v[i] = GINT32_FROM_LE (v[i]);
  if (v[0] != 1 && v[0] != 2)
    return tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                     "field \"custom_options\": padding %d is not 1 (SAME) or 2 (VALID)", v[0]);
  gint32 stride[2] = { v[2], v[1] };
  return tfl_conv_transpose (c, op, (guint) tfl_in (op, 0), (guint) tfl_in (op, 1), tfl_in (op, 2),
                             v[0] == 1 ? TFL_SAME : TFL_VALID, stride, 0, error);
}

static gboolean
tfl_import_resize (Tfl *c, const TflOp *op, GError **error)
{
  gint8 align;
  gint64 size[2];
  if (!tfl_check_io (c, op, 2, 2, error) || !tfl_opt_i8 (c, op, 0, 0, &align, error))
    return FALSE;
  if (align)
    return tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                     "option \"align_corners\": true is not supported");
  guint ti = (guint) tfl_in (op, 0);
  if (c->t[ti].rank != 4)
    return tfl_fail (c, error, AF_ERROR_SHAPE, "input 0 has rank %d, expected 4", c->t[ti].rank);
  AfTensor *x = tfl_value (c, ti, error);
  if (!x || !tfl_const_ints (c, (guint) tfl_in (op, 1), size, 2, error))
    return FALSE;
  AfAttrs a;
  af__attrs_init (AF_OP_UPSAMPLE, &a);
  for (int i = 0; i < 2; i++) {
    gint64 in = x->shape.d[2 + i];
    if (size[i] < in || size[i] % in != 0)
      return tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                       "input 1: size %" G_GINT64_FORMAT
                       " is not an integer multiple of %" G_GINT64_FORMAT
                       " (only integer upscaling is supported)",
                       size[i], in);
    a.scale[i] = size[i] / in;
  }
  a.set = AF_A (SCALE);
  return tfl_bind (c, (guint) tfl_out (op), tfl_node (c, AF_OP_UPSAMPLE, 1, &x, &a, NULL, error),
                   error);
}

/* QUANTIZE / DEQUANTIZE of an activation: activations are computed in real
 * values (fp16), so a (re)quantization keeps the value. */
static gboolean
tfl_import_requantize (Tfl *c, const TflOp *op, GError **error)
{
  if (!tfl_check_io (c, op, 1, 1, error))
    return FALSE;
  guint xi = (guint) tfl_in (op, 0), oi = (guint) tfl_out (op);
  if (c->t[oi].rank != c->t[xi].rank ||
      tfl_numel (c->t[oi].rank, c->t[oi].d) != tfl_numel (c->t[xi].rank, c->t[xi].d))
    return tfl_fail (c, error, AF_ERROR_SHAPE,
                     "output tensor %u \"%s\" does not have the shape of input 0", oi,
                     c->t[oi].name);
  return tfl_bind (c, oi, tfl_value (c, xi, error), error);
}

/* The axes of constant input 1 (int32/int64, a scalar or a vector) in
 * 0..@rank-1 as a bit mask. */
static gboolean
tfl_axes_mask (Tfl *c, const TflOp *op, int rank, guint *mask, GError **error)
{
  guint ti = (guint) tfl_in (op, 1);
  TflTensor *t = &c->t[ti];
  gint64 n = tfl_numel (t->rank, t->d), axes[AF_MAX_RANK];
  if (n < 1 || n > rank)
    return tfl_fail (c, error, AF_ERROR_INVALID,
                     "input 1 \"%s\": %" G_GINT64_FORMAT " axes for an input of rank %d", t->name,
                     n, rank);
  if (!tfl_const_ints (c, ti, axes, n, error))
    return FALSE;
  *mask = 0;
  for (gint64 i = 0; i < n; i++) {
    gint64 ax = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (ax < 0 || ax >= rank)
      return tfl_fail (c, error, AF_ERROR_INVALID,
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
tfl_import_mean (Tfl *c, const TflOp *op, GError **error)
{
  gint8 keep;
  guint mask;
  if (!tfl_check_io (c, op, 2, 2, error) || !tfl_opt_i8 (c, op, 0, 0, &keep, error))
    return FALSE;
  guint xi = (guint) tfl_in (op, 0);
  int rank = c->t[xi].rank;
  AfTensor *x = tfl_value (c, xi, error);
  if (!x || !tfl_axes_mask (c, op, rank, &mask, error))
    return FALSE;
  gboolean nchw = rank == 4 && (keep || tfl_nchw_drop_ok (mask));
  if (rank == 4 && !nchw && !(x = tfl_nhwc (c, x, error)))
    return FALSE;
  AfAttrs a;
  af__attrs_init (AF_OP_MEAN, &a);
  for (int i = 0; i < rank; i++)
    if (mask & (1u << i))
      a.axes[a.n_axes++] = nchw ? tfl_to_nhwc[i] : i;
  a.keepdims = keep != 0;
  a.set = AF_A (AXES) | AF_A (KEEPDIMS);
  AfTensor *y = tfl_node (c, AF_OP_MEAN, 1, &x, &a, NULL, error);
  return nchw && keep ? tfl_bind (c, (guint) tfl_out (op), y, error)
                      : tfl_bind_nhwc (c, (guint) tfl_out (op), y, error);
}

/* ARG_MAX: the index comes out as a float value (exact in fp16, see
 * bridge.c); an int32/int64 output tensor holds the same number. */
static gboolean
tfl_import_argmax (Tfl *c, const TflOp *op, GError **error)
{
  guint mask;
  if (!tfl_check_io (c, op, 2, 2, error))
    return FALSE;
  guint xi = (guint) tfl_in (op, 0);
  int rank = c->t[xi].rank;
  AfTensor *x = tfl_value (c, xi, error);
  if (!x || !tfl_axes_mask (c, op, rank, &mask, error))
    return FALSE;
  if (mask & (mask - 1))
    return tfl_fail (c, error, AF_ERROR_INVALID, "input 1: more than one axis");
  int ax = g_bit_nth_lsf (mask, -1);
  gboolean nchw = rank == 4 && tfl_nchw_drop_ok (mask);
  if (rank == 4 && !nchw && !(x = tfl_nhwc (c, x, error)))
    return FALSE;
  AfAttrs a;
  af__attrs_init (AF_OP_ARGMAX, &a);
  a.axis = nchw ? tfl_to_nhwc[ax] : ax;
  a.keepdims = FALSE;
  a.set = AF_A (AXIS) | AF_A (KEEPDIMS);
  return tfl_bind_nhwc (c, (guint) tfl_out (op), tfl_node (c, AF_OP_ARGMAX, 1, &x, &a, NULL, error),
                        error);
}

/* DEQUANTIZE of a constant (fp16 or int8 weights): folded; of an
 * activation: the value itself. */
static gboolean
tfl_import_dequantize (Tfl *c, const TflOp *op, GError **error)
{
  if (!tfl_check_io (c, op, 1, 1, error))
    return FALSE;
  guint xi = (guint) tfl_in (op, 0), oi = (guint) tfl_out (op);
  TflTensor *x = &c->t[xi], *out = &c->t[oi];
  if (!x->raw)
    return tfl_import_requantize (c, op, error);
  if (!tfl_const_f32 (c, xi, error))
    return FALSE;
  if (out->rank != x->rank || tfl_numel (out->rank, out->d) != tfl_numel (x->rank, x->d))
    return tfl_fail (c, error, AF_ERROR_SHAPE,
                     "output tensor %u \"%s\" does not have the shape of input 0", oi, out->name);
  gint64 n = tfl_numel (x->rank, x->d);
  out->f32 = g_memdup2 (x->f32, MAX (n, 1) * sizeof (float));
  return TRUE;
}

static gboolean
tfl_import_op (Tfl *c, gint32 code, const TflOp *op, GError **error)
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
    return tfl_fail (c, error, AF_ERROR_UNSUPPORTED, "operator is not supported");
  }
}

/* ------------------------------------------------------------ file walk */

static gboolean
tfl_read_codes (Tfl *c, const AfFbTable *model, GError **error)
{
  AfFbVector v;
  if (!af_fb_vector (model, MODEL_OPERATOR_CODES, 4, &v, error))
    return FALSE;
  c->n_codes = v.n;
  c->codes = g_new0 (gint32, MAX (v.n, 1));
  for (guint32 i = 0; i < v.n; i++) {
    AfFbTable oc;
    gint8 dep;
    gint32 code;
    if (!af_fb_vector_table (&v, i, &oc, error) ||
        !af_fb_i8 (&oc, CODE_DEPRECATED, 0, &dep, error) ||
        !af_fb_i32 (&oc, CODE_BUILTIN, 0, &code, error))
      return FALSE;
    c->codes[i] = MAX ((gint32) dep, code);
    if (c->codes[i] == TFL_OP_CUSTOM) {
      const char *s;
      gsize len;
      if (!af_fb_string (&oc, CODE_CUSTOM, &s, &len, error))
        return FALSE;
      static const char conv_t_bias[] = "Convolution2DTransposeBias";
      if (s && len == strlen (conv_t_bias) && memcmp (s, conv_t_bias, len) == 0) {
        c->codes[i] = TFL_OP_CONV_T_BIAS;
        continue;
      }
      return tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                       "operator_codes[%u]: custom operator \"%.*s\" is not supported", i,
                       (int) MIN (len, 64), s ? s : "");
    }
  }
  return TRUE;
}

/* Finds the bytes of buffer @index (NULL if empty). */
static gboolean
tfl_buffer (Tfl *c, guint32 index, guint ti, const guint8 **data, gsize *len, GError **error)
{
  *data = NULL;
  *len = 0;
  if (index == 0)
    return TRUE; /* buffer 0 is the empty sentinel */
  if (index >= c->buffers.n)
    return tfl_fail (c, error, AF_ERROR_INVALID,
                     "tensors[%u]: field \"buffer\": %u is out of range (%u buffers)", ti, index,
                     c->buffers.n);
  AfFbTable b;
  AfFbVector v;
  guint64 off, size;
  if (!af_fb_vector_table (&c->buffers, index, &b, error) ||
      !af_fb_vector (&b, BUFFER_DATA, 1, &v, error) ||
      !af_fb_u64 (&b, BUFFER_OFFSET, 0, &off, error) ||
      !af_fb_u64 (&b, BUFFER_SIZE, 0, &size, error))
    return FALSE;
  if (v.n) {
    *data = af_fb_vector_bytes (&v);
    *len = v.n;
  } else if (off > 1) {
    if (off > c->fb.len || size > c->fb.len - off)
      return tfl_fail (c, error, AF_ERROR_INVALID,
                       "buffers[%u]: offset %" G_GUINT64_FORMAT " + size %" G_GUINT64_FORMAT
                       " runs past the file",
                       index, off, size);
    *data = c->fb.data + off;
    *len = size;
  }
  return TRUE;
}

static gboolean
tfl_read_tensor (Tfl *c, const AfFbVector *tensors, guint i, GError **error)
{
  TflTensor *t = &c->t[i];
  AfFbTable tt;
  AfFbVector shape;
  const char *name;
  gsize name_len;
  guint32 buffer;
  if (!af_fb_vector_table (tensors, i, &tt, error) ||
      !af_fb_vector (&tt, TENSOR_SHAPE, 4, &shape, error) ||
      !af_fb_i8 (&tt, TENSOR_TYPE, 0, &t->type, error) ||
      !af_fb_u32 (&tt, TENSOR_BUFFER, 0, &buffer, error) ||
      !af_fb_string (&tt, TENSOR_NAME, &name, &name_len, error) ||
      !af_fb_table (&tt, TENSOR_QUANT, &t->quant, &t->has_quant, error))
    return FALSE;
  t->name = name ? g_strndup (name, MIN (name_len, 256)) : g_strdup_printf ("tensor%u", i);
  t->sparse = af_fb_has (&tt, TENSOR_SPARSITY);
  if (shape.n > AF_MAX_RANK)
    return tfl_fail (c, error, AF_ERROR_LIMIT, "tensors[%u] \"%s\": field \"shape\": rank %u > %d",
                     i, t->name, shape.n, AF_MAX_RANK);
  t->rank = (int) shape.n;
  gint64 numel = 1;
  for (int k = 0; k < t->rank; k++) {
    t->d[k] = af_fb_vector_i32 (&shape, k);
    if (t->d[k] < 1 || t->d[k] > AF_MAX_DIM || numel > AF_MAX_NUMEL / t->d[k])
      return tfl_fail (c, error, AF_ERROR_LIMIT,
                       "tensors[%u] \"%s\": field \"shape\": dim %d = %" G_GINT64_FORMAT
                       " is out of range (dynamic or empty shapes are not supported)",
                       i, t->name, k, t->d[k]);
    numel *= t->d[k];
  }
  if (!tfl_buffer (c, buffer, i, &t->raw, &t->raw_len, error))
    return FALSE;
  if (t->raw) {
    gsize es = tfl_type_size (t->type);
    if (es == 0)
      return tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                       "tensors[%u] \"%s\": field \"type\": %d is not supported", i, t->name,
                       t->type);
    if (t->raw_len != (gsize) numel * es)
      return tfl_fail (c, error, AF_ERROR_WEIGHTS,
                       "tensors[%u] \"%s\": buffer %u has %" G_GSIZE_FORMAT
                       " bytes, the shape needs %" G_GSIZE_FORMAT,
                       i, t->name, buffer, t->raw_len, (gsize) numel * es);
  }
  return TRUE;
}

/* The per-tensor quantization of input @ti: real = @scale * (q - @zero);
 * none (or a zero scale) is the identity. */
static gboolean
tfl_input_quant (Tfl *c, guint ti, float *scale, float *zero, GError **error)
{
  TflTensor *t = &c->t[ti];
  AfFbVector sv = { 0 }, zv = { 0 };
  GError *local = NULL;
  *scale = 1;
  *zero = 0;
  if (!t->has_quant)
    return TRUE;
  if (!af_fb_vector (&t->quant, QUANT_SCALE, 4, &sv, &local) ||
      !af_fb_vector (&t->quant, QUANT_ZERO_POINT, 8, &zv, &local))
    return tfl_wrap (c, error, local);
  if (sv.n > 1 || zv.n > 1)
    return tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                     "input tensor %u \"%s\": field \"quantization\": per-channel quantization "
                     "of an input is not supported (%u scales)",
                     ti, t->name, sv.n);
  float s = sv.n ? af_fb_vector_f32 (&sv, 0) : 0;
  if (!isfinite (s) || s < 0)
    return tfl_fail (c, error, AF_ERROR_INVALID,
                     "input tensor %u \"%s\": field \"quantization\": scale %g is not a finite "
                     "non-negative number",
                     ti, t->name, s);
  if (s == 0) /* TFLite's "not quantized": the stored value is the real one */
    return TRUE;
  gint64 z = zv.n ? af_fb_vector_i64 (&zv, 0) : 0;
  if (z < -128 || z > 255)
    return tfl_fail (c, error, AF_ERROR_INVALID,
                     "input tensor %u \"%s\": field \"quantization\": zero point %" G_GINT64_FORMAT
                     " is outside -128..255",
                     ti, t->name, z);
  *scale = s;
  *zero = (float) z;
  return TRUE;
}

static gboolean
tfl_read_inputs (Tfl *c, const AfFbTable *sg, GError **error)
{
  AfFbVector v;
  if (!af_fb_vector (sg, SG_INPUTS, 4, &v, error))
    return FALSE;
  if (v.n == 0)
    return tfl_fail (c, error, AF_ERROR_INVALID, "subgraphs[0]: no inputs");
  for (guint32 k = 0; k < v.n; k++) {
    gint32 ti = af_fb_vector_i32 (&v, k);
    if (!tfl_tensor_index (c, ti, "subgraphs[0].inputs", error))
      return FALSE;
    TflTensor *t = &c->t[ti];
    gboolean quant = t->type == TFL_U8 || t->type == TFL_I8;
    if ((t->type != TFL_F32 && !quant) || tfl_is_const (t) || t->value || t->rank < 1)
      return tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                       "input %u \"%s\": only float32, uint8 or int8 non-constant inputs of "
                       "rank >= 1 are supported (type %d)",
                       k, t->name, t->type);
    float qs = 1, qz = 0;
    if (quant && !tfl_input_quant (c, ti, &qs, &qz, error))
      return FALSE;
    AfShape s = { t->rank };
    memcpy (s.d, t->d, sizeof (gint64) * t->rank);
    if (t->rank == 4)
      tfl_nchw_dims (t->d, s.d);
    gboolean image = k == 0 && c->opts.image;
    if (image && (t->rank != 4 || (s.d[1] != 1 && s.d[1] != 3)))
      return tfl_fail (c, error, AF_ERROR_SHAPE,
                       "input 0 \"%s\": an image input needs shape [N, H, W, 1 or 3]", t->name);
    g_autofree char *name = tfl_unique_name (c->g, t->name);
    AfNode *n =
        af__graph_add_node (c->g, name, image ? AF_OP_IMAGE_INPUT : AF_OP_INPUT, 0, NULL, NULL);
    n->out->shape = s;
    if (image) {
      /* A quantized port: the options map a pixel to the stored value q
       * (identity by default), the quantization maps q to qs * (q - qz). */
      n->image.order = c->opts.order;
      for (int ch = 0; ch < 3; ch++) {
        int src = s.d[1] == 1 ? 0 : ch;
        n->image.scale[ch] = qs * c->opts.scale[src];
        n->image.bias[ch] = qs * (c->opts.bias[src] - qz);
      }
    }
    if (!af__node_infer_shape (c->g, n, error))
      return FALSE;
    t->value = n->out;
    if (quant && !image && (qs != 1 || qz != 0))
      t->value = tfl_affine (c, n->out, qs, -qs * qz, error);
    if (!t->value)
      return FALSE;
  }
  return TRUE;
}

static gboolean
tfl_read_outputs (Tfl *c, const AfFbTable *sg, GError **error)
{
  AfFbVector v;
  if (!af_fb_vector (sg, SG_OUTPUTS, 4, &v, error))
    return FALSE;
  if (v.n == 0)
    return tfl_fail (c, error, AF_ERROR_INVALID, "subgraphs[0]: no outputs");
  for (guint32 k = 0; k < v.n; k++) {
    gint32 ti = af_fb_vector_i32 (&v, k);
    if (!tfl_tensor_index (c, ti, "subgraphs[0].outputs", error))
      return FALSE;
    AfTensor *y = tfl_value (c, (guint) ti, error);
    if (y && y->kind == AF_VALUE_CONST)
      return tfl_fail (c, error, AF_ERROR_UNSUPPORTED, "output %u \"%s\" is a constant", k,
                       c->t[ti].name);
    y = y ? tfl_nhwc (c, y, error) : NULL;
    if (!y)
      return FALSE;
    af_graph_add_output (c->g, c->t[ti].name, y);
  }
  return TRUE;
}

static gboolean
tfl_read_operators (Tfl *c, const AfFbTable *sg, GError **error)
{
  AfFbVector ops;
  if (!af_fb_vector (sg, SG_OPERATORS, 4, &ops, error))
    return FALSE;
  if (ops.n > AF_MAX_NODES)
    return tfl_fail (c, error, AF_ERROR_LIMIT, "%u operators, more than %d", ops.n, AF_MAX_NODES);
  for (guint32 i = 0; i < ops.n; i++) {
    AfFbTable ot;
    TflOp op = { 0 };
    guint32 opcode;
    guint8 opt_type;
    GError *local = NULL;
    c->op_index = (int) i;
    c->op_name = "?";
    if (!af_fb_vector_table (&ops, i, &ot, &local) ||
        !af_fb_u32 (&ot, OP_OPCODE, 0, &opcode, &local))
      return tfl_wrap (c, error, local);
    if (opcode >= c->n_codes)
      return tfl_fail (c, error, AF_ERROR_INVALID, "field \"opcode_index\": %u is out of range",
                       opcode);
    gint32 code = c->codes[opcode];
    g_autofree char *unknown = NULL;
    c->op_name = tfl_op_name (code);
    if (!c->op_name)
      c->op_name = unknown = g_strdup_printf ("BUILTIN_%d", code);
    if (!af_fb_vector (&ot, OP_INPUTS, 4, &op.in, &local) ||
        !af_fb_vector (&ot, OP_OUTPUTS, 4, &op.out, &local) ||
        !af_fb_u8 (&ot, OP_OPTIONS_TYPE, 0, &opt_type, &local) ||
        !af_fb_table (&ot, OP_OPTIONS, &op.opt, &op.has_opt, &local) ||
        !af_fb_vector (&ot, OP_CUSTOM_OPTIONS, 1, &op.custom, &local))
      return tfl_wrap (c, error, local);
    if (op.has_opt && opt_type != tfl_op_options_type (code) && tfl_op_name (code))
      return tfl_fail (c, error, AF_ERROR_INVALID,
                       "field \"builtin_options_type\": %u does not belong to this operator",
                       opt_type);
    if (op.in.n > AF_MAX_INPUTS_PER_NODE)
      return tfl_fail (c, error, AF_ERROR_LIMIT, "field \"inputs\": %u inputs", op.in.n);
    if (!tfl_import_op (c, code, &op, error))
      return FALSE;
    c->op_index = -1;
  }
  return TRUE;
}

static gboolean
tfl_import (Tfl *c, GError **error)
{
  AfFbTable model, sg;
  AfFbVector subgraphs, tensors;
  if (!af_fb_root (&c->fb, &model, error) || !tfl_read_codes (c, &model, error) ||
      !af_fb_vector (&model, MODEL_BUFFERS, 4, &c->buffers, error) ||
      !af_fb_vector (&model, MODEL_SUBGRAPHS, 4, &subgraphs, error))
    return FALSE;
  if (subgraphs.n == 0)
    return tfl_fail (c, error, AF_ERROR_INVALID, "field \"subgraphs\": the model has none");
  if (!af_fb_vector_table (&subgraphs, 0, &sg, error) ||
      !af_fb_vector (&sg, SG_TENSORS, 4, &tensors, error))
    return FALSE;
  if (tensors.n > 4 * AF_MAX_NODES)
    return tfl_fail (c, error, AF_ERROR_LIMIT, "%u tensors, more than %d", tensors.n,
                     4 * AF_MAX_NODES);
  c->n_t = tensors.n;
  c->t = g_new0 (TflTensor, MAX (c->n_t, 1));
  for (guint i = 0; i < c->n_t; i++)
    if (!tfl_read_tensor (c, &tensors, i, error))
      return FALSE;
  return tfl_read_inputs (c, &sg, error) && tfl_read_operators (c, &sg, error) &&
         tfl_read_outputs (c, &sg, error);
}

AfGraph *
af_graph_import_tflite_from_data (const guint8 *data, gsize len, const char *name_for_errors,
                                  const AfImportOptions *opts, GError **error)
{
  g_return_val_if_fail (data || len == 0, NULL);
  const char *file = name_for_errors ? name_for_errors : "(tflite)";
  AfImportOptions dflt = AF_IMPORT_OPTIONS_INIT;
  Tfl c = { .file = file, .opts = opts ? *opts : dflt, .op_index = -1 };
  if (!af_fb_init (&c.fb, data, len, "TFL3", file, error))
    return NULL;
  g_autofree char *base = g_path_get_basename (file);
  char *dot = strrchr (base, '.');
  if (dot && dot != base)
    *dot = 0;
  c.g = af_graph_new (base);
  c.g->path = g_strdup (file);
  gboolean ok = tfl_import (&c, error);
  for (guint i = 0; i < c.n_t; i++) {
    g_free (c.t[i].name);
    g_free (c.t[i].f32);
  }
  g_free (c.t);
  g_free (c.codes);
  if (ok && c.g->error) {
    g_propagate_error (error, g_error_copy (c.g->error));
    ok = FALSE;
  }
  if (!ok) {
    af_graph_free (c.g);
    return NULL;
  }
  return c.g;
}

AfGraph *
af_graph_import_tflite (const char *path, const AfImportOptions *opts, GError **error)
{
  g_return_val_if_fail (path, NULL);
  GError *local = NULL;
  GMappedFile *f = g_mapped_file_new (path, FALSE, &local);
  if (!f) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: %s", path, local->message);
    g_error_free (local);
    return NULL;
  }
  AfGraph *g = af_graph_import_tflite_from_data ((const guint8 *) g_mapped_file_get_contents (f),
                                                 g_mapped_file_get_length (f), path, opts, error);
  g_mapped_file_unref (f);
  return g;
}
