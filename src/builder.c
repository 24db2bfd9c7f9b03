/* builder.c — the C builder API (af_input, af_conv, ...): each call adds one
 * node, infers its shape at once, and on error records the graph's sticky
 * error and returns NULL. */
#include "graph.h"

#include <string.h>

static gboolean
af_builder_ok (AfGraph *g, guint n_in, AfTensor *const *in)
{
  if (g->error)
    return FALSE;
  for (guint i = 0; i < n_in; i++)
    if (!in[i]) {
      g_set_error (&g->error, AF_ERROR, AF_ERROR_INVALID, "%s: builder: input %u of a node is NULL",
                   af__graph_where (g), i);
      return FALSE;
    }
  return TRUE;
}

static char *
af_builder_name (AfGraph *g, const char *op)
{
  for (;;) {
    char *name = g_strdup_printf ("%s_%u", op, g->auto_name++);
    if (!g_hash_table_contains (g->by_name, name))
      return name;
    g_free (name);
  }
}

static gboolean
af_builder_claim_name (AfGraph *g, const char *name)
{
  if (g->error)
    return FALSE;
  if (!name || !*name || g_hash_table_contains (g->by_name, name)) {
    g_set_error (&g->error, AF_ERROR, AF_ERROR_INVALID, "%s: builder: name \"%s\" is %s",
                 af__graph_where (g), name ? name : "(null)",
                 name && *name ? "already used" : "empty");
    return FALSE;
  }
  return TRUE;
}

/* Adds a node of @op on @in with @attrs (NULL: defaults) and infers its shape. */
static AfTensor *
af_builder_node (AfGraph *g, AfOp op, guint n_in, AfTensor *const *in, const AfAttrs *attrs)
{
  if (!af_builder_ok (g, n_in, in))
    return NULL;
  g_autofree char *name = af_builder_name (g, af_op_info[op].name);
  AfNode *n = af__graph_add_node (g, name, op, n_in, in, attrs);
  if (!af__node_infer_shape (g, n, &g->error))
    return NULL;
  return n->out;
}

static gboolean
af_builder_shape (AfGraph *g, const char *name, int rank, const gint64 *shape, AfShape *out)
{
  if (rank < 1 || rank > AF_MAX_RANK) {
    g_set_error (&g->error, AF_ERROR, AF_ERROR_SHAPE, "%s: builder: \"%s\": rank %d not in 1..%d",
                 af__graph_where (g), name, rank, AF_MAX_RANK);
    return FALSE;
  }
  out->rank = rank;
  gint64 numel = 1;
  for (int i = 0; i < rank; i++) {
    if (shape[i] <= 0 || shape[i] > AF_MAX_DIM || numel > AF_MAX_NUMEL / shape[i]) {
      g_set_error (&g->error, AF_ERROR, AF_ERROR_LIMIT,
                   "%s: builder: \"%s\": dim %d = %" G_GINT64_FORMAT " is out of range",
                   af__graph_where (g), name, i, shape[i]);
      return FALSE;
    }
    numel *= shape[i];
    out->d[i] = shape[i];
  }
  return TRUE;
}

/* ---------------------------------------------------------------- leaves */

AfTensor *
af_input (AfGraph *g, const char *name, int rank, const gint64 *shape)
{
  g_return_val_if_fail (g && shape, NULL);
  AfShape s;
  if (!af_builder_claim_name (g, name) || !af_builder_shape (g, name, rank, shape, &s))
    return NULL;
  AfNode *n = af__graph_add_node (g, name, AF_OP_INPUT, 0, NULL, NULL);
  n->out->shape = s;
  if (!af__node_infer_shape (g, n, &g->error))
    return NULL;
  return n->out;
}

static gboolean
af_builder_channels (AfGraph *g, const char *what, int n, const float *v, gint64 c, float *dst)
{
  if (n != 1 && n != c) {
    g_set_error (&g->error, AF_ERROR, AF_ERROR_SHAPE,
                 "%s: builder: image input %s has %d values, expected 1 or %" G_GINT64_FORMAT,
                 af__graph_where (g), what, n, c);
    return FALSE;
  }
  for (gint64 i = 0; i < 3; i++)
    dst[i] = v[n == 1 ? 0 : MIN (i, c - 1)];
  return TRUE;
}

AfTensor *
af_image_input (AfGraph *g, const char *name, const gint64 shape[4], AfPixelOrder order,
                int n_scale, const float *scale, int n_bias, const float *bias)
{
  g_return_val_if_fail (g && shape && scale && bias, NULL);
  AfShape s;
  AfImagePort port = { .order = order };
  if (!af_builder_claim_name (g, name) || !af_builder_shape (g, name, 4, shape, &s) ||
      !af_builder_channels (g, "scale", n_scale, scale, s.d[1], port.scale) ||
      !af_builder_channels (g, "bias", n_bias, bias, s.d[1], port.bias))
    return NULL;
  AfNode *n = af__graph_add_node (g, name, AF_OP_IMAGE_INPUT, 0, NULL, NULL);
  n->out->shape = s;
  n->image = port;
  if (!af__node_infer_shape (g, n, &g->error))
    return NULL;
  return n->out;
}

AfTensor *
af_weight (AfGraph *g, const char *name, int rank, const gint64 *shape, const float *data)
{
  g_return_val_if_fail (g && shape && data, NULL);
  AfShape s;
  if (!af_builder_claim_name (g, name) || !af_builder_shape (g, name, rank, shape, &s))
    return NULL;
  GBytes *bytes = g_bytes_new (data, af__shape_numel (&s) * sizeof (float));
  AfTensor *t =
      af__graph_add_const (g, name, &s, AF_DTYPE_F32, g_bytes_get_data (bytes, NULL), bytes);
  g_bytes_unref (bytes);
  return t;
}

/* ---------------------------------------------------------------- ops */

AfTensor *
af_conv (AfGraph *g, AfTensor *x, AfTensor *w, AfTensor *b, const AfConvParams *p)
{
  g_return_val_if_fail (g, NULL);
  AfAttrs a;
  af__attrs_init (AF_OP_CONV, &a);
  if (p) {
    memcpy (a.stride, p->stride, sizeof a.stride);
    memcpy (a.pad, p->pad, sizeof a.pad);
    memcpy (a.dilation, p->dilation, sizeof a.dilation);
    a.groups = p->groups;
    a.set = AF_A (STRIDE) | AF_A (PAD) | AF_A (DILATION) | AF_A (GROUPS);
  }
  AfTensor *in[] = { x, w, b };
  return af_builder_node (g, AF_OP_CONV, b ? 3 : 2, in, &a);
}

AfTensor *
af_conv_transpose (AfGraph *g, AfTensor *x, AfTensor *w, AfTensor *b, const AfConvParams *p)
{
  g_return_val_if_fail (g, NULL);
  AfAttrs a;
  af__attrs_init (AF_OP_CONV_TRANSPOSE, &a);
  if (p) {
    memcpy (a.stride, p->stride, sizeof a.stride);
    memcpy (a.pad, p->pad, sizeof a.pad);
    memcpy (a.dilation, p->dilation, sizeof a.dilation);
    a.groups = p->groups;
    a.set = AF_A (STRIDE) | AF_A (PAD) | AF_A (DILATION) | AF_A (GROUPS);
  }
  AfTensor *in[] = { x, w, b };
  return af_builder_node (g, AF_OP_CONV_TRANSPOSE, b ? 3 : 2, in, &a);
}

AfTensor *
af_matmul (AfGraph *g, AfTensor *a, AfTensor *b)
{
  AfTensor *in[] = { a, b };
  return af_builder_node (g, AF_OP_MATMUL, 2, in, NULL);
}

AfTensor *
af_linear (AfGraph *g, AfTensor *x, AfTensor *w, AfTensor *b)
{
  AfTensor *in[] = { x, w, b };
  return af_builder_node (g, AF_OP_LINEAR, b ? 3 : 2, in, NULL);
}

#define AF_BUILDER_BINARY(fn, OP)                                                                  \
  AfTensor *fn (AfGraph *g, AfTensor *a, AfTensor *b)                                              \
  {                                                                                                \
    AfTensor *in[] = { a, b };                                                                     \
    return af_builder_node (g, AF_OP_##OP, 2, in, NULL);                                           \
  }
AF_BUILDER_BINARY (af_add, ADD)
AF_BUILDER_BINARY (af_sub, SUB)
AF_BUILDER_BINARY (af_mul, MUL)
AF_BUILDER_BINARY (af_div, DIV)
AF_BUILDER_BINARY (af_maximum, MAXIMUM)
AF_BUILDER_BINARY (af_minimum, MINIMUM)

#define AF_BUILDER_UNARY(fn, OP)                                                                   \
  AfTensor *fn (AfGraph *g, AfTensor *x)                                                           \
  {                                                                                                \
    return af_builder_node (g, AF_OP_##OP, 1, &x, NULL);                                           \
  }
AF_BUILDER_UNARY (af_relu, RELU)
AF_BUILDER_UNARY (af_relu6, RELU6)
AF_BUILDER_UNARY (af_sigmoid, SIGMOID)
AF_BUILDER_UNARY (af_tanh, TANH)
AF_BUILDER_UNARY (af_silu, SILU)
AF_BUILDER_UNARY (af_gelu, GELU)
AF_BUILDER_UNARY (af_exp, EXP)
AF_BUILDER_UNARY (af_hardswish, HARDSWISH)

AfTensor *
af_clip (AfGraph *g, AfTensor *x, float lo, float hi)
{
  AfAttrs a;
  af__attrs_init (AF_OP_CLIP, &a);
  a.min = lo;
  a.max = hi;
  a.set = AF_A (MIN) | AF_A (MAX);
  return af_builder_node (g, AF_OP_CLIP, 1, &x, &a);
}

static AfTensor *
af_builder_reduce (AfGraph *g, AfOp op, AfTensor *x, int n_axes, const int *axes, gboolean keepdims)
{
  AfAttrs a;
  af__attrs_init (op, &a);
  if (n_axes < 0 || n_axes > AF_MAX_RANK) {
    if (!g->error)
      g_set_error (&g->error, AF_ERROR, AF_ERROR_INVALID, "%s: builder: %d axes",
                   af__graph_where (g), n_axes);
    return NULL;
  }
  a.n_axes = n_axes;
  for (int i = 0; i < n_axes; i++)
    a.axes[i] = axes[i];
  a.keepdims = keepdims;
  a.set = AF_A (AXES) | AF_A (KEEPDIMS);
  return af_builder_node (g, op, 1, &x, &a);
}

AfTensor *
af_mean (AfGraph *g, AfTensor *x, int n_axes, const int *axes, gboolean keepdims)
{
  return af_builder_reduce (g, AF_OP_MEAN, x, n_axes, axes, keepdims);
}

AfTensor *
af_sum (AfGraph *g, AfTensor *x, int n_axes, const int *axes, gboolean keepdims)
{
  return af_builder_reduce (g, AF_OP_SUM, x, n_axes, axes, keepdims);
}

AfTensor *
af_amax (AfGraph *g, AfTensor *x, int n_axes, const int *axes, gboolean keepdims)
{
  return af_builder_reduce (g, AF_OP_AMAX, x, n_axes, axes, keepdims);
}

AfTensor *
af_amin (AfGraph *g, AfTensor *x, int n_axes, const int *axes, gboolean keepdims)
{
  return af_builder_reduce (g, AF_OP_AMIN, x, n_axes, axes, keepdims);
}

AfTensor *
af_softmax (AfGraph *g, AfTensor *x, int axis)
{
  AfAttrs a;
  af__attrs_init (AF_OP_SOFTMAX, &a);
  a.axis = axis;
  a.set = AF_A (AXIS);
  return af_builder_node (g, AF_OP_SOFTMAX, 1, &x, &a);
}

AfTensor *
af_batch_norm (AfGraph *g, AfTensor *x, AfTensor *scale, AfTensor *bias, AfTensor *mean,
               AfTensor *var, float eps)
{
  AfAttrs a;
  af__attrs_init (AF_OP_BATCH_NORM, &a);
  a.eps = eps;
  a.set = AF_A (EPS);
  AfTensor *in[] = { x, scale, bias, mean, var };
  return af_builder_node (g, AF_OP_BATCH_NORM, 5, in, &a);
}

static AfTensor *
af_builder_pool (AfGraph *g, AfOp op, AfTensor *x, const AfPoolParams *p, gboolean global)
{
  AfAttrs a;
  af__attrs_init (op, &a);
  if (global) {
    a.global = TRUE;
    a.set = AF_A (GLOBAL);
  } else {
    g_return_val_if_fail (p, NULL);
    memcpy (a.kernel, p->kernel, sizeof a.kernel);
    memcpy (a.stride, p->stride, sizeof a.stride);
    memcpy (a.pad, p->pad, sizeof a.pad);
    a.ceil_mode = p->ceil_mode;
    a.count_include_pad = p->count_include_pad;
    a.set = AF_A (KERNEL) | AF_A (STRIDE) | AF_A (PAD) | AF_A (CEIL_MODE);
    if (op == AF_OP_AVG_POOL)
      a.set |= AF_A (COUNT_INCLUDE_PAD);
  }
  return af_builder_node (g, op, 1, &x, &a);
}

AfTensor *
af_max_pool (AfGraph *g, AfTensor *x, const AfPoolParams *p)
{
  return af_builder_pool (g, AF_OP_MAX_POOL, x, p, FALSE);
}

AfTensor *
af_avg_pool (AfGraph *g, AfTensor *x, const AfPoolParams *p)
{
  return af_builder_pool (g, AF_OP_AVG_POOL, x, p, FALSE);
}

AfTensor *
af_global_avg_pool (AfGraph *g, AfTensor *x)
{
  return af_builder_pool (g, AF_OP_AVG_POOL, x, NULL, TRUE);
}

AfTensor *
af_concat (AfGraph *g, int n, AfTensor *const *xs, int axis)
{
  g_return_val_if_fail (g && n > 0 && xs, NULL);
  AfAttrs a;
  af__attrs_init (AF_OP_CONCAT, &a);
  a.axis = axis;
  a.set = AF_A (AXIS);
  return af_builder_node (g, AF_OP_CONCAT, n, xs, &a);
}

static gboolean
af_builder_ints (AfGraph *g, const char *what, int n, gint64 *dst, int *n_dst, const gint64 *src64,
                 const int *src32)
{
  if (n < 0 || n > AF_MAX_RANK) {
    if (!g->error)
      g_set_error (&g->error, AF_ERROR, AF_ERROR_INVALID, "%s: builder: %s has %d entries",
                   af__graph_where (g), what, n);
    return FALSE;
  }
  *n_dst = n;
  for (int i = 0; i < n; i++)
    dst[i] = src64 ? src64[i] : src32[i];
  return TRUE;
}

AfTensor *
af_reshape (AfGraph *g, AfTensor *x, int rank, const gint64 *shape)
{
  AfAttrs a;
  af__attrs_init (AF_OP_RESHAPE, &a);
  if (!af_builder_ints (g, "shape", rank, a.shape, &a.n_shape, shape, NULL))
    return NULL;
  a.set = AF_A (SHAPE);
  return af_builder_node (g, AF_OP_RESHAPE, 1, &x, &a);
}

AfTensor *
af_transpose (AfGraph *g, AfTensor *x, int rank, const int *perm)
{
  AfAttrs a;
  af__attrs_init (AF_OP_TRANSPOSE, &a);
  if (!af_builder_ints (g, "perm", rank, a.perm, &a.n_perm, NULL, perm))
    return NULL;
  a.set = AF_A (PERM);
  return af_builder_node (g, AF_OP_TRANSPOSE, 1, &x, &a);
}

AfTensor *
af_upsample (AfGraph *g, AfTensor *x, int scale_h, int scale_w)
{
  AfAttrs a;
  af__attrs_init (AF_OP_UPSAMPLE, &a);
  a.scale[0] = scale_h;
  a.scale[1] = scale_w;
  a.set = AF_A (SCALE);
  return af_builder_node (g, AF_OP_UPSAMPLE, 1, &x, &a);
}

AfTensor *
af_fake_quant (AfGraph *g, AfTensor *x, float step, float lo, float hi)
{
  AfAttrs a;
  af__attrs_init (AF_OP_FAKE_QUANT, &a);
  a.step = step;
  a.min = lo;
  a.max = hi;
  a.set = AF_A (STEP) | AF_A (MIN) | AF_A (MAX);
  return af_builder_node (g, AF_OP_FAKE_QUANT, 1, &x, &a);
}

AfTensor *
af_resize_bilinear (AfGraph *g, AfTensor *x, int h, int w, gboolean align_corners,
                    gboolean half_pixel)
{
  AfAttrs a;
  af__attrs_init (AF_OP_RESIZE_BILINEAR, &a);
  a.size[0] = h;
  a.size[1] = w;
  a.align_corners = align_corners;
  a.half_pixel = half_pixel;
  a.set = AF_A (SIZE) | AF_A (ALIGN_CORNERS) | AF_A (HALF_PIXEL);
  return af_builder_node (g, AF_OP_RESIZE_BILINEAR, 1, &x, &a);
}

AfTensor *
af_argmax (AfGraph *g, AfTensor *x, int axis, gboolean keepdims)
{
  AfAttrs a;
  af__attrs_init (AF_OP_ARGMAX, &a);
  a.axis = axis;
  a.keepdims = keepdims;
  a.set = AF_A (AXIS) | AF_A (KEEPDIMS);
  return af_builder_node (g, AF_OP_ARGMAX, 1, &x, &a);
}

AfTensor *
af_topk (AfGraph *g, AfTensor *x, int k, int axis, gboolean indices)
{
  AfAttrs a;
  af__attrs_init (AF_OP_TOPK, &a);
  a.k = k;
  a.axis = axis;
  a.indices = indices;
  a.set = AF_A (K) | AF_A (AXIS) | AF_A (INDICES);
  return af_builder_node (g, AF_OP_TOPK, 1, &x, &a);
}
