/* lower.c — one fused region of a graph lowered to a MIL program.
 *
 * Every FUSED op of ops.def maps to the MIL ops of coremltools' op
 * definitions (../shared/ane/reference/coremltools/.../ops/defs/iOS15..18),
 * with their argument names:
 *   conv -> conv (weight [Cout, Cin/groups, kH, kW], pad_type "custom",
 *           pad [top, bottom, left, right], strides, dilations, groups)
 *   conv_transpose -> conv_transpose (weight [Cin, Cout/groups, kH, kW],
 *           const bias, the same pad arguments)
 *   linear -> linear (constant weight [N, K]), else matmul(transpose_y) + add
 *   matmul -> matmul; add sub mul div maximum minimum -> add sub mul
 *           real_div maximum minimum; relu sigmoid tanh silu exp -> same;
 *           gelu -> gelu(mode "EXACT"); relu6 / clip -> clip (or maximum /
 *           minimum when one bound is infinite); hardswish -> mul(x,
 *           sigmoid_hard(x, alpha 1/6, beta 1/2)); fake_quant -> mul by
 *           1/step, round (ties to even, where the reference rounds them
 *           away from zero), mul by step, clip
 *   sum / mean over K > AF_ANE_NARROW_REDUCE_K elements -> matmul against a
 *           ones vector [K, 1] (MIL reduce_sum accumulates in fp16 on the
 *           ANE; matmul accumulates wide), then real_div by K for the mean;
 *           small K -> reduce_sum / reduce_mean; amax / amin -> reduce_max /
 *           reduce_min; softmax -> softmax; batch_norm -> batch_norm
 *   max_pool / avg_pool -> max_pool / avg_pool (ceil_mode as extra
 *           bottom/right padding); global pooling -> the reductions
 *   concat reshape transpose -> concat reshape transpose; upsample ->
 *           upsample_nearest_neighbor; resize_bilinear -> resize_bilinear
 *           (sampling_mode STRICT_ALIGN_CORNERS for align_corners,
 *           UNALIGN_CORNERS for half_pixel, else DEFAULT: TF's asymmetric)
 *   image_input -> cast (uint8 -> fp16) -> mul (per-channel scale) -> add
 *           (per-channel bias); on ios16, whose cast takes no uint8, the port
 *           is fp16 holding the pixel values (exact) and the program starts
 *           at the mul
 * Program inputs and outputs have their last axis padded to 64 bytes: the
 * program slices inputs (slice_by_index) and pads outputs (pad). */
#include "backends/ane/mil.h"

#include <math.h>
#include <string.h>

/* Sums of at most this many elements stay MIL reductions. */
#define AF_ANE_NARROW_REDUCE_K 4

typedef struct {
  AfGraph *g;
  AfMilProgram *p;
  GHashTable *var_of; /* AfTensor* -> const char* (owned by p->names) */
} AfLower;

/* ------------------------------------------------------------ statements */

static void
af_mil_type_set (AfMilType *t, AfMilDtype dtype, int rank, const gint64 *d)
{
  t->dtype = dtype;
  t->rank = rank;
  for (int i = 0; i < rank; i++)
    t->d[i] = d[i];
}

static void
af_mil_type_of (AfMilType *t, const AfShape *s)
{
  af_mil_type_set (t, AF_MIL_FP16, s->rank, s->d);
}

static AfMilOp *
af_emit (AfLower *L, const char *op, const char *base, const AfMilType *type)
{
  return af_mil_append (L->p, op, base, type);
}

static void
af_arg_n (AfMilOp *o, const char *name, gboolean tuple, guint n, const char *const *vars)
{
  af_mil_add_arg (o, name, tuple, n, vars);
}

static void
af_arg (AfMilOp *o, const char *name, const char *var)
{
  af_mil_add_arg (o, name, FALSE, 1, &var);
}

/* "<base>_<suffix>" (transfer full). */
static char *
af_sub_name (const char *base, const char *suffix)
{
  return g_strdup_printf ("%s_%s", base, suffix);
}

/* ------------------------------------------------------------ constants */

/* An int32 (or bool) constant of @rank (0 or 1) holding @n values. */
static const char *
af_const_ints (AfLower *L, AfMilDtype dtype, const char *base, const char *suffix, int rank,
               gsize n, const gint64 *v)
{
  g_autofree char *name = af_sub_name (base, suffix);
  gint64 dim = (gint64) n;
  AfMilType t;
  af_mil_type_set (&t, dtype, rank, &dim);
  AfMilOp *o = af_emit (L, "const", name, &t);
  o->val.n = n;
  o->val.ints = g_memdup2 (v, n * sizeof *v);
  return o->var;
}

static const char *
af_const_i32s (AfLower *L, const char *base, const char *suffix, gsize n, const gint64 *v)
{
  return af_const_ints (L, AF_MIL_INT32, base, suffix, 1, n, v);
}

static const char *
af_const_i32 (AfLower *L, const char *base, const char *suffix, gint64 v)
{
  return af_const_ints (L, AF_MIL_INT32, base, suffix, 0, 1, &v);
}

static const char *
af_const_bool (AfLower *L, const char *base, const char *suffix, gboolean v)
{
  gint64 b = v ? 1 : 0;
  return af_const_ints (L, AF_MIL_BOOL, base, suffix, 0, 1, &b);
}

static const char *
af_const_str (AfLower *L, const char *base, const char *suffix, const char *v)
{
  g_autofree char *name = af_sub_name (base, suffix);
  AfMilType t = { AF_MIL_STRING, 0, { 0 } };
  AfMilOp *o = af_emit (L, "const", name, &t);
  o->val.str = g_strdup (v);
  return o->var;
}

/* An fp16 constant of @shape taking @halves (transfer full): in the weight
 * blob from AF_MIL_BLOB_MIN_ELEMENTS elements on, inline below. */
static const char *
af_const_halves (AfLower *L, const char *name, const AfShape *shape, guint16 *halves)
{
  AfMilType t;
  af_mil_type_of (&t, shape);
  AfMilOp *o = af_emit (L, "const", name, &t);
  gsize n = (gsize) af__shape_numel (shape);
  if (n >= AF_MIL_BLOB_MIN_ELEMENTS) {
    o->val.in_blob = TRUE;
    o->val.offset = af_ane_blob_append (L->p->blob, AF_ANE_BLOB_FP16, halves, n);
    g_free (halves);
  } else {
    o->val.n = n;
    o->val.halves = halves;
  }
  return o->var;
}

static const char *
af_const_half (AfLower *L, const char *base, const char *suffix, float v)
{
  g_autofree char *name = af_sub_name (base, suffix);
  AfShape scalar = { 0 };
  guint16 *h = g_new (guint16, 1);
  h[0] = af_f32_to_fp16 (v);
  return af_const_halves (L, name, &scalar, h);
}

/* The variable holding @t: a graph constant becomes a const statement (in
 * fp16) at its first use in this program. */
static const char *
af_value (AfLower *L, AfTensor *t)
{
  const char *v = g_hash_table_lookup (L->var_of, t);
  if (v)
    return v;
  g_assert (t->kind == AF_VALUE_CONST); /* every other value is bound before use */
  gsize n = (gsize) af__shape_numel (&t->shape);
  float *f = g_new (float, MAX (n, 1));
  guint16 *h = g_new (guint16, MAX (n, 1));
  af__tensor_read_f32 (t, f);
  af_f32_to_fp16_n (f, h, n);
  g_free (f);
  v = af_const_halves (L, t->name, &t->shape, h);
  g_hash_table_insert (L->var_of, t, (gpointer) v);
  return v;
}

/* Binds the result of node @n to @var. */
static void
af_bind (AfLower *L, const AfNode *n, const char *var)
{
  g_hash_table_insert (L->var_of, n->out, (gpointer) var);
}

/* ------------------------------------------------------------ the ops */

/* One op on @x with its result typed as @n's output; returns the op so
 * the caller adds more arguments. */
static AfMilOp *
af_emit_node (AfLower *L, const AfNode *n, const char *op)
{
  AfMilType t;
  af_mil_type_of (&t, &n->out->shape);
  return af_emit (L, op, n->out->name, &t);
}

static void
af_lower_conv (AfLower *L, const AfNode *n)
{
  const char *base = n->out->name;
  const gint64 *a = n->attrs.pad;             /* top, left, bottom, right */
  gint64 pad[4] = { a[0], a[2], a[1], a[3] }; /* MIL: top, bottom, left, right */
  const char *x = af_value (L, n->in[0]), *w = af_value (L, n->in[1]);
  const char *b = n->n_in > 2 && n->in[2]->kind == AF_VALUE_CONST ? af_value (L, n->in[2]) : NULL;
  const char *strides = af_const_i32s (L, base, "strides", 2, n->attrs.stride);
  const char *pad_type = af_const_str (L, base, "pad_type", "custom");
  const char *padv = af_const_i32s (L, base, "pad", 4, pad);
  const char *dil = af_const_i32s (L, base, "dilations", 2, n->attrs.dilation);
  const char *groups = af_const_i32 (L, base, "groups", n->attrs.groups);
  gboolean late_bias = n->n_in > 2 && !b;
  AfMilOp *o;
  if (late_bias) {
    g_autofree char *name = af_sub_name (base, "nobias");
    AfMilType t;
    af_mil_type_of (&t, &n->out->shape);
    o = af_emit (L, "conv", name, &t);
  } else
    o = af_emit_node (L, n, "conv");
  af_arg (o, "x", x);
  af_arg (o, "weight", w);
  if (b)
    af_arg (o, "bias", b);
  af_arg (o, "strides", strides);
  af_arg (o, "pad_type", pad_type);
  af_arg (o, "pad", padv);
  af_arg (o, "dilations", dil);
  af_arg (o, "groups", groups);
  if (!late_bias) {
    af_bind (L, n, o->var);
    return;
  }
  /* a computed bias [O]: reshaped to [1, O, 1, 1] and added */
  gint64 shape[4] = { 1, n->out->shape.d[1], 1, 1 };
  AfMilType bt;
  af_mil_type_set (&bt, AF_MIL_FP16, 4, shape);
  g_autofree char *bname = af_sub_name (base, "bias");
  const char *bshape = af_const_i32s (L, base, "bias_shape", 4, shape);
  const char *bias = af_value (L, n->in[2]);
  AfMilOp *r = af_emit (L, "reshape", bname, &bt);
  af_arg (r, "x", bias);
  af_arg (r, "shape", bshape);
  AfMilOp *add = af_emit_node (L, n, "add");
  af_arg (add, "x", o->var);
  af_arg (add, "y", r->var);
  af_bind (L, n, add->var);
}

/* conv_transpose: weight and bias are constants (caps.c). */
static void
af_lower_conv_transpose (AfLower *L, const AfNode *n)
{
  const char *base = n->out->name;
  const gint64 *a = n->attrs.pad;             /* top, left, bottom, right */
  gint64 pad[4] = { a[0], a[2], a[1], a[3] }; /* MIL: top, bottom, left, right */
  const char *x = af_value (L, n->in[0]), *w = af_value (L, n->in[1]);
  const char *b = n->n_in > 2 ? af_value (L, n->in[2]) : NULL;
  const char *strides = af_const_i32s (L, base, "strides", 2, n->attrs.stride);
  const char *pad_type = af_const_str (L, base, "pad_type", "custom");
  const char *padv = af_const_i32s (L, base, "pad", 4, pad);
  const char *dil = af_const_i32s (L, base, "dilations", 2, n->attrs.dilation);
  const char *groups = af_const_i32 (L, base, "groups", n->attrs.groups);
  AfMilOp *o = af_emit_node (L, n, "conv_transpose");
  af_arg (o, "x", x);
  af_arg (o, "weight", w);
  if (b)
    af_arg (o, "bias", b);
  af_arg (o, "strides", strides);
  af_arg (o, "pad_type", pad_type);
  af_arg (o, "pad", padv);
  af_arg (o, "dilations", dil);
  af_arg (o, "groups", groups);
  af_bind (L, n, o->var);
}

static void
af_lower_linear (AfLower *L, const AfNode *n)
{
  const char *x = af_value (L, n->in[0]), *w = af_value (L, n->in[1]);
  gboolean has_b = n->n_in > 2;
  if (n->in[1]->kind == AF_VALUE_CONST && n->in[0]->shape.rank <= 3 &&
      (!has_b || n->in[2]->kind == AF_VALUE_CONST)) {
    const char *b = has_b ? af_value (L, n->in[2]) : NULL;
    AfMilOp *o = af_emit_node (L, n, "linear");
    af_arg (o, "x", x);
    af_arg (o, "weight", w);
    if (b)
      af_arg (o, "bias", b);
    af_bind (L, n, o->var);
    return;
  }
  /* a computed weight (or x of rank > 3, beyond MIL linear): x @ w^T + b */
  const char *base = n->out->name;
  const char *tx = af_const_bool (L, base, "transpose_x", FALSE);
  const char *ty = af_const_bool (L, base, "transpose_y", TRUE);
  AfMilOp *m;
  if (has_b) {
    g_autofree char *name = af_sub_name (base, "nobias");
    AfMilType t;
    af_mil_type_of (&t, &n->out->shape);
    m = af_emit (L, "matmul", name, &t);
  } else
    m = af_emit_node (L, n, "matmul");
  af_arg (m, "x", x);
  af_arg (m, "y", w);
  af_arg (m, "transpose_x", tx);
  af_arg (m, "transpose_y", ty);
  if (!has_b) {
    af_bind (L, n, m->var);
    return;
  }
  const char *b = af_value (L, n->in[2]);
  AfMilOp *add = af_emit_node (L, n, "add");
  af_arg (add, "x", m->var);
  af_arg (add, "y", b);
  af_bind (L, n, add->var);
}

static void
af_lower_matmul (AfLower *L, const AfNode *n)
{
  const char *x = af_value (L, n->in[0]), *y = af_value (L, n->in[1]);
  const char *tx = af_const_bool (L, n->out->name, "transpose_x", FALSE);
  const char *ty = af_const_bool (L, n->out->name, "transpose_y", FALSE);
  AfMilOp *o = af_emit_node (L, n, "matmul");
  af_arg (o, "x", x);
  af_arg (o, "y", y);
  af_arg (o, "transpose_x", tx);
  af_arg (o, "transpose_y", ty);
  af_bind (L, n, o->var);
}

static void
af_lower_binary (AfLower *L, const AfNode *n)
{
  static const char *const names[] = {
    [AF_OP_ADD] = "add",      [AF_OP_SUB] = "sub",         [AF_OP_MUL] = "mul",
    [AF_OP_DIV] = "real_div", [AF_OP_MAXIMUM] = "maximum", [AF_OP_MINIMUM] = "minimum",
  };
  const char *x = af_value (L, n->in[0]), *y = af_value (L, n->in[1]);
  AfMilOp *o = af_emit_node (L, n, names[n->op]);
  af_arg (o, "x", x);
  af_arg (o, "y", y);
  af_bind (L, n, o->var);
}

/* clip to [lo, hi]; an infinite bound is no bound (MIL clip takes finite
 * fp16 scalars), so one finite bound is a maximum / minimum. */
static void
af_lower_clip (AfLower *L, const AfNode *n, float lo, float hi)
{
  const char *base = n->out->name, *x = af_value (L, n->in[0]);
  AfMilOp *o;
  if (isinf (lo) && isinf (hi)) {
    o = af_emit_node (L, n, "identity");
  } else if (isinf (lo) || isinf (hi)) {
    const char *bound = af_const_half (L, base, isinf (lo) ? "max" : "min", isinf (lo) ? hi : lo);
    o = af_emit_node (L, n, isinf (lo) ? "minimum" : "maximum");
    af_arg (o, "y", bound);
  } else {
    const char *alpha = af_const_half (L, base, "alpha", lo);
    const char *beta = af_const_half (L, base, "beta", hi);
    o = af_emit_node (L, n, "clip");
    af_arg (o, "alpha", alpha);
    af_arg (o, "beta", beta);
  }
  af_arg (o, "x", x);
  af_bind (L, n, o->var);
}

static void
af_lower_unary (AfLower *L, const AfNode *n)
{
  if (n->op == AF_OP_RELU6 || n->op == AF_OP_CLIP) {
    gboolean six = n->op == AF_OP_RELU6;
    af_lower_clip (L, n, six ? 0.0f : n->attrs.min, six ? 6.0f : n->attrs.max);
    return;
  }
  if (n->op == AF_OP_FAKE_QUANT) {
    const char *base = n->out->name, *x = af_value (L, n->in[0]);
    const char *inv = af_const_half (L, base, "inv_step", 1.0f / n->attrs.step);
    const char *step = af_const_half (L, base, "step", n->attrs.step);
    const char *lo = af_const_half (L, base, "alpha", n->attrs.min);
    const char *hi = af_const_half (L, base, "beta", n->attrs.max);
    AfMilType t;
    af_mil_type_of (&t, &n->out->shape);
    g_autofree char *n1 = af_sub_name (base, "scaled");
    g_autofree char *n2 = af_sub_name (base, "rounded");
    g_autofree char *n3 = af_sub_name (base, "grid");
    AfMilOp *m1 = af_emit (L, "mul", n1, &t);
    af_arg (m1, "x", x);
    af_arg (m1, "y", inv);
    AfMilOp *r = af_emit (L, "round", n2, &t);
    af_arg (r, "x", m1->var);
    AfMilOp *m2 = af_emit (L, "mul", n3, &t);
    af_arg (m2, "x", r->var);
    af_arg (m2, "y", step);
    AfMilOp *o = af_emit_node (L, n, "clip");
    af_arg (o, "x", m2->var);
    af_arg (o, "alpha", lo);
    af_arg (o, "beta", hi);
    af_bind (L, n, o->var);
    return;
  }
  if (n->op == AF_OP_HARDSWISH) {
    const char *base = n->out->name, *x = af_value (L, n->in[0]);
    const char *alpha = af_const_half (L, base, "alpha", 1.0f / 6.0f);
    const char *beta = af_const_half (L, base, "beta", 0.5f);
    g_autofree char *gname = af_sub_name (base, "gate");
    AfMilType t;
    af_mil_type_of (&t, &n->out->shape);
    AfMilOp *gate = af_emit (L, "sigmoid_hard", gname, &t);
    af_arg (gate, "x", x);
    af_arg (gate, "alpha", alpha);
    af_arg (gate, "beta", beta);
    AfMilOp *o = af_emit_node (L, n, "mul");
    af_arg (o, "x", x);
    af_arg (o, "y", gate->var);
    af_bind (L, n, o->var);
    return;
  }
  static const char *const names[] = {
    [AF_OP_RELU] = "relu", [AF_OP_SIGMOID] = "sigmoid", [AF_OP_TANH] = "tanh",
    [AF_OP_SILU] = "silu", [AF_OP_GELU] = "gelu",       [AF_OP_EXP] = "exp",
  };
  const char *x = af_value (L, n->in[0]);
  const char *mode = n->op == AF_OP_GELU ? af_const_str (L, n->out->name, "mode", "EXACT") : NULL;
  AfMilOp *o = af_emit_node (L, n, names[n->op]);
  af_arg (o, "x", x);
  if (mode)
    af_arg (o, "mode", mode); /* the reference is the erf form */
  af_bind (L, n, o->var);
}

/* The reduced axes of @n over input rank @rank (no axes: all). */
static void
af_reduce_mask (const AfNode *n, int rank, gboolean *mask)
{
  for (int i = 0; i < rank; i++)
    mask[i] = n->attrs.n_axes == 0;
  for (int i = 0; i < n->attrs.n_axes; i++)
    mask[n->attrs.axes[i] < 0 ? n->attrs.axes[i] + rank : n->attrs.axes[i]] = TRUE;
}

/* reduce_OP(x, axes, keep_dims) over the masked axes. */
static void
af_lower_mil_reduce (AfLower *L, const AfNode *n, const char *op, const char *x,
                     const gboolean *mask, int rank, gboolean keepdims)
{
  gint64 axes[AF_MAX_RANK];
  gsize n_axes = 0;
  for (int i = 0; i < rank; i++)
    if (mask[i])
      axes[n_axes++] = i;
  const char *av = af_const_i32s (L, n->out->name, "axes", n_axes, axes);
  const char *kd = af_const_bool (L, n->out->name, "keep_dims", keepdims);
  AfMilOp *o = af_emit_node (L, n, op);
  af_arg (o, "x", x);
  af_arg (o, "axes", av);
  af_arg (o, "keep_dims", kd);
  af_bind (L, n, o->var);
}

/* An intermediate fp16 op "<base>_<suffix>" of shape @d[@rank]. */
static AfMilOp *
af_emit_tmp (AfLower *L, const char *op, const char *base, const char *suffix, int rank,
             const gint64 *d)
{
  g_autofree char *name = af_sub_name (base, suffix);
  AfMilType t;
  af_mil_type_set (&t, AF_MIL_FP16, rank, d);
  return af_emit (L, op, name, &t);
}

/* sum / mean of @x (shape @s) over the masked axes with the wide
 * accumulator: move the reduced axes last, view as [M, K], matmul against
 * ones [K, 1], divide by K for a mean, reshape to @n's output. */
static void
af_lower_wide_sum (AfLower *L, const AfNode *n, const char *x, const AfShape *s,
                   const gboolean *mask, gboolean mean)
{
  const char *base = n->out->name;
  gint64 perm[AF_MAX_RANK], M = 1, K = 1, moved[AF_MAX_RANK];
  int k = 0;
  gboolean identity = TRUE;
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < s->rank; i++)
      if (mask[i] == (pass == 1)) {
        identity &= k == i;
        moved[k] = s->d[i];
        perm[k++] = i;
        *(pass ? &K : &M) *= s->d[i];
      }
  const char *cur = x;
  if (!identity) {
    const char *pv = af_const_i32s (L, base, "perm", (gsize) s->rank, perm);
    AfMilOp *t = af_emit_tmp (L, "transpose", base, "moved", s->rank, moved);
    af_arg (t, "x", cur);
    af_arg (t, "perm", pv);
    cur = t->var;
  }
  gint64 rows[2] = { M, K }, sum[2] = { M, 1 };
  const char *rs = af_const_i32s (L, base, "rows_shape", 2, rows);
  AfMilOp *r = af_emit_tmp (L, "reshape", base, "rows", 2, rows);
  af_arg (r, "x", cur);
  af_arg (r, "shape", rs);
  guint16 *ones = g_new (guint16, K);
  for (gint64 i = 0; i < K; i++)
    ones[i] = 0x3c00; /* 1.0 */
  AfShape ones_shape = { 2, { K, 1 } };
  g_autofree char *ones_name = af_sub_name (base, "ones");
  const char *ov = af_const_halves (L, ones_name, &ones_shape, ones);
  const char *tx = af_const_bool (L, base, "transpose_x", FALSE);
  const char *ty = af_const_bool (L, base, "transpose_y", FALSE);
  AfMilOp *m = af_emit_tmp (L, "matmul", base, "sum", 2, sum);
  af_arg (m, "x", r->var);
  af_arg (m, "y", ov);
  af_arg (m, "transpose_x", tx);
  af_arg (m, "transpose_y", ty);
  cur = m->var;
  if (mean) {
    /* K itself when fp16 holds it exactly, else its reciprocal */
    gboolean exact = (float) af_fp16_to_f32 (af_f32_to_fp16 ((float) K)) == (float) K;
    const char *kv = exact ? af_const_half (L, base, "count", (float) K)
                           : af_const_half (L, base, "inv_count", 1.0f / (float) K);
    AfMilOp *d = af_emit_tmp (L, exact ? "real_div" : "mul", base, "mean", 2, sum);
    af_arg (d, "x", cur);
    af_arg (d, "y", kv);
    cur = d->var;
  }
  const AfShape *o = &n->out->shape;
  const char *os = af_const_i32s (L, base, "shape", (gsize) o->rank, o->d);
  AfMilOp *fin = af_emit_node (L, n, "reshape");
  af_arg (fin, "x", cur);
  af_arg (fin, "shape", os);
  af_bind (L, n, fin->var);
}

static void
af_lower_reduce (AfLower *L, const AfNode *n)
{
  const AfShape *s = &n->in[0]->shape;
  const char *x = af_value (L, n->in[0]);
  if (n->op == AF_OP_SOFTMAX) {
    const char *axis = af_const_i32 (L, n->out->name, "axis",
                                     n->attrs.axis < 0 ? n->attrs.axis + s->rank : n->attrs.axis);
    AfMilOp *o = af_emit_node (L, n, "softmax");
    af_arg (o, "x", x);
    af_arg (o, "axis", axis);
    af_bind (L, n, o->var);
    return;
  }
  gboolean mask[AF_MAX_RANK];
  af_reduce_mask (n, s->rank, mask);
  gint64 K = 1;
  for (int i = 0; i < s->rank; i++)
    K *= mask[i] ? s->d[i] : 1;
  if (n->op == AF_OP_AMAX || n->op == AF_OP_AMIN)
    af_lower_mil_reduce (L, n, n->op == AF_OP_AMAX ? "reduce_max" : "reduce_min", x, mask, s->rank,
                         n->attrs.keepdims);
  else if (K <= AF_ANE_NARROW_REDUCE_K)
    af_lower_mil_reduce (L, n, n->op == AF_OP_SUM ? "reduce_sum" : "reduce_mean", x, mask, s->rank,
                         n->attrs.keepdims);
  else
    af_lower_wide_sum (L, n, x, s, mask, n->op == AF_OP_MEAN);
}

/* batch_norm; MIL's takes x of rank 3 to 5, so [N, C] goes through
 * [N, C, 1] and back. */
static void
af_lower_batch_norm (AfLower *L, const AfNode *n)
{
  const char *base = n->out->name, *x = af_value (L, n->in[0]);
  const AfShape *s = &n->in[0]->shape;
  const char *gamma = af_value (L, n->in[1]), *beta = af_value (L, n->in[2]);
  const char *mean = af_value (L, n->in[3]), *var = af_value (L, n->in[4]);
  const char *eps = af_const_half (L, base, "epsilon", n->attrs.eps);
  gint64 d3[3] = { s->d[0], s->d[1], 1 };
  if (s->rank == 2) {
    const char *shape = af_const_i32s (L, base, "rank3_shape", 3, d3);
    AfMilOp *r = af_emit_tmp (L, "reshape", base, "rank3", 3, d3);
    af_arg (r, "x", x);
    af_arg (r, "shape", shape);
    x = r->var;
  }
  AfMilOp *o = s->rank == 2 ? af_emit_tmp (L, "batch_norm", base, "norm3", 3, d3)
                            : af_emit_node (L, n, "batch_norm");
  af_arg (o, "x", x);
  af_arg (o, "mean", mean);
  af_arg (o, "variance", var);
  af_arg (o, "gamma", gamma);
  af_arg (o, "beta", beta);
  af_arg (o, "epsilon", eps);
  if (s->rank == 2) {
    const char *shape = af_const_i32s (L, base, "shape", 2, s->d);
    AfMilOp *back = af_emit_node (L, n, "reshape");
    af_arg (back, "x", o->var);
    af_arg (back, "shape", shape);
    o = back;
  }
  af_bind (L, n, o->var);
}

static void
af_lower_pool (AfLower *L, const AfNode *n)
{
  const char *x = af_value (L, n->in[0]), *base = n->out->name;
  const AfAttrs *a = &n->attrs;
  const AfShape *s = &n->in[0]->shape, *y = &n->out->shape;
  if (a->global) {
    gboolean mask[4] = { FALSE, FALSE, TRUE, TRUE };
    if (n->op == AF_OP_MAX_POOL)
      af_lower_mil_reduce (L, n, "reduce_max", x, mask, 4, TRUE);
    else
      af_lower_wide_sum (L, n, x, s, mask, TRUE);
    return;
  }
  /* ceil_mode: the last window's overhang becomes bottom / right padding */
  gint64 extra[2];
  for (int i = 0; i < 2; i++)
    extra[i] = MAX (0, (y->d[2 + i] - 1) * a->stride[i] + a->kernel[i] - s->d[2 + i] - a->pad[i] -
                           a->pad[2 + i]);
  gint64 pad[4] = { a->pad[0], a->pad[2] + extra[0], a->pad[1], a->pad[3] + extra[1] };
  const char *ks = af_const_i32s (L, base, "kernel_sizes", 2, a->kernel);
  const char *st = af_const_i32s (L, base, "strides", 2, a->stride);
  const char *pt = af_const_str (L, base, "pad_type", "custom");
  const char *pv = af_const_i32s (L, base, "pad", 4, pad);
  const char *cm = af_const_bool (L, base, "ceil_mode", FALSE);
  const char *ex = n->op == AF_OP_AVG_POOL ? af_const_bool (L, base, "exclude_padding_from_average",
                                                            !a->count_include_pad)
                                           : NULL;
  AfMilOp *o = af_emit_node (L, n, n->op == AF_OP_MAX_POOL ? "max_pool" : "avg_pool");
  af_arg (o, "x", x);
  af_arg (o, "kernel_sizes", ks);
  af_arg (o, "strides", st);
  af_arg (o, "pad_type", pt);
  af_arg (o, "pad", pv);
  af_arg (o, "ceil_mode", cm);
  if (ex)
    af_arg (o, "exclude_padding_from_average", ex);
  af_bind (L, n, o->var);
}

static void
af_lower_layout (AfLower *L, const AfNode *n)
{
  const char *base = n->out->name;
  const AfShape *s = &n->in[0]->shape;
  if (n->op == AF_OP_CONCAT) {
    const char **vals = g_new (const char *, n->n_in);
    for (guint i = 0; i < n->n_in; i++)
      vals[i] = af_value (L, n->in[i]);
    gint64 ax = n->attrs.axis < 0 ? n->attrs.axis + s->rank : n->attrs.axis;
    const char *axis = af_const_i32 (L, base, "axis", ax);
    const char *il = af_const_bool (L, base, "interleave", FALSE);
    AfMilOp *o = af_emit_node (L, n, "concat");
    af_arg_n (o, "values", TRUE, n->n_in, vals);
    af_arg (o, "axis", axis);
    af_arg (o, "interleave", il);
    af_bind (L, n, o->var);
    g_free (vals);
    return;
  }
  const char *x = af_value (L, n->in[0]);
  AfMilOp *o;
  if (n->op == AF_OP_RESHAPE) {
    const AfShape *out = &n->out->shape;
    const char *shape = af_const_i32s (L, base, "shape", (gsize) out->rank, out->d);
    o = af_emit_node (L, n, "reshape");
    af_arg (o, "shape", shape);
  } else if (n->op == AF_OP_TRANSPOSE) {
    gint64 perm[AF_MAX_RANK];
    for (int i = 0; i < n->attrs.n_perm; i++)
      perm[i] = n->attrs.perm[i] < 0 ? n->attrs.perm[i] + s->rank : n->attrs.perm[i];
    const char *pv = af_const_i32s (L, base, "perm", (gsize) n->attrs.n_perm, perm);
    o = af_emit_node (L, n, "transpose");
    af_arg (o, "perm", pv);
  } else if (n->op == AF_OP_RESIZE_BILINEAR) {
    const AfAttrs *a = &n->attrs;
    const char *th = af_const_i32 (L, base, "target_size_height", a->size[0]);
    const char *tw = af_const_i32 (L, base, "target_size_width", a->size[1]);
    const char *mode = af_const_str (L, base, "sampling_mode",
                                     a->align_corners ? "STRICT_ALIGN_CORNERS"
                                     : a->half_pixel  ? "UNALIGN_CORNERS"
                                                      : "DEFAULT");
    o = af_emit_node (L, n, "resize_bilinear");
    af_arg (o, "target_size_height", th);
    af_arg (o, "target_size_width", tw);
    af_arg (o, "sampling_mode", mode);
  } else {
    g_assert (n->op == AF_OP_UPSAMPLE);
    const char *sh = af_const_i32 (L, base, "scale_factor_height", n->attrs.scale[0]);
    const char *sw = af_const_i32 (L, base, "scale_factor_width", n->attrs.scale[1]);
    o = af_emit_node (L, n, "upsample_nearest_neighbor");
    af_arg (o, "scale_factor_height", sh);
    af_arg (o, "scale_factor_width", sw);
  }
  af_arg (o, "x", x);
  af_bind (L, n, o->var);
}

static void
af_lower_node (AfLower *L, const AfNode *n)
{
  switch (n->op) {
  case AF_OP_CONV:
    af_lower_conv (L, n);
    break;
  case AF_OP_CONV_TRANSPOSE:
    af_lower_conv_transpose (L, n);
    break;
  case AF_OP_LINEAR:
    af_lower_linear (L, n);
    break;
  case AF_OP_MATMUL:
    af_lower_matmul (L, n);
    break;
  case AF_OP_ADD:
  case AF_OP_SUB:
  case AF_OP_MUL:
  case AF_OP_DIV:
  case AF_OP_MAXIMUM:
  case AF_OP_MINIMUM:
    af_lower_binary (L, n);
    break;
  case AF_OP_RELU:
  case AF_OP_RELU6:
  case AF_OP_CLIP:
  case AF_OP_SIGMOID:
  case AF_OP_TANH:
  case AF_OP_SILU:
  case AF_OP_GELU:
  case AF_OP_EXP:
  case AF_OP_HARDSWISH:
  case AF_OP_FAKE_QUANT:
    af_lower_unary (L, n);
    break;
  case AF_OP_MEAN:
  case AF_OP_SUM:
  case AF_OP_AMAX:
  case AF_OP_AMIN:
  case AF_OP_SOFTMAX:
    af_lower_reduce (L, n);
    break;
  case AF_OP_BATCH_NORM:
    af_lower_batch_norm (L, n);
    break;
  case AF_OP_MAX_POOL:
  case AF_OP_AVG_POOL:
    af_lower_pool (L, n);
    break;
  case AF_OP_CONCAT:
  case AF_OP_RESHAPE:
  case AF_OP_TRANSPOSE:
  case AF_OP_UPSAMPLE:
  case AF_OP_RESIZE_BILINEAR:
    af_lower_layout (L, n);
    break;
  default: /* ports are bound by af_lower_input; bridges never reach here */
    g_assert_not_reached ();
  }
}

/* ------------------------------------------------------------ ports */

void
af_mil_pad_shape (const AfShape *s, gsize elem_bytes, AfShape *out)
{
  *out = *s;
  if (s->rank == 0)
    return;
  gint64 per = (gint64) (64 / elem_bytes), *last = &out->d[s->rank - 1];
  *last = (*last + per - 1) / per * per;
}

void
af_mil_binding_clear (gpointer binding)
{
  g_free (((AfMilBinding *) binding)->mil);
}

/* The image port's on-engine dequantization of @cur: cast (uint8 -> fp16,
 * ios18) has happened or the port is fp16 (ios16); mul by the per-channel
 * scale, add the per-channel bias. Returns the result variable. */
static const char *
af_lower_image (AfLower *L, const AfNode *port, const char *cur)
{
  const AfShape *s = &port->out->shape;
  gint64 c = s->d[1];
  AfShape pc = { 4, { 1, c, 1, 1 } };
  guint16 *scale = g_new (guint16, c), *bias = g_new (guint16, c);
  for (gint64 i = 0; i < c; i++) {
    scale[i] = af_f32_to_fp16 (port->image.scale[MIN (i, 2)]);
    bias[i] = af_f32_to_fp16 (port->image.bias[MIN (i, 2)]);
  }
  const char *base = port->out->name;
  g_autofree char *sn = af_sub_name (base, "scale"), *bn = af_sub_name (base, "bias");
  const char *sv = af_const_halves (L, sn, &pc, scale);
  AfMilOp *m = af_emit_tmp (L, "mul", base, "scaled", s->rank, s->d);
  af_arg (m, "x", cur);
  af_arg (m, "y", sv);
  const char *bv = af_const_halves (L, bn, &pc, bias);
  AfMilOp *a = af_emit_tmp (L, "add", base, "biased", s->rank, s->d);
  af_arg (a, "x", m->var);
  af_arg (a, "y", bv);
  return a->var;
}

/* Declares program input @t (a graph input or another segment's output):
 * its port, the slice back from the padded shape, and for an image port the
 * cast / scale / bias. Fills @b. */
static void
af_lower_input (AfLower *L, AfTensor *t, AfMilBinding *b)
{
  gboolean image = t->producer && t->producer->op == AF_OP_IMAGE_INPUT;
  AfMilDtype dt = image && L->p->dialect == AF_ANE_DIALECT_IOS18 ? AF_MIL_UINT8 : AF_MIL_FP16;
  b->value = t;
  b->dtype = dt;
  b->shape = t->shape;
  af_mil_pad_shape (&t->shape, dt == AF_MIL_UINT8 ? 1 : 2, &b->padded);
  AfMilPort port = { g_strdup (af_mil_fresh_name (L->p, t->name)), { 0 } };
  af_mil_type_set (&port.type, dt, b->padded.rank, b->padded.d);
  g_array_append_val (L->p->inputs, port);
  b->mil = g_strdup (port.var);
  const char *cur = port.var, *base = t->name;
  if (dt == AF_MIL_UINT8) {
    const char *dtype = af_const_str (L, base, "dtype", "fp16");
    AfMilOp *c = af_emit_tmp (L, "cast", base, "fp16", b->padded.rank, b->padded.d);
    af_arg (c, "x", cur);
    af_arg (c, "dtype", dtype);
    cur = c->var;
  }
  if (!af__shape_equal (&b->padded, &b->shape)) {
    gint64 zeros[AF_MAX_RANK] = { 0 };
    const char *bv = af_const_i32s (L, base, "begin", (gsize) t->shape.rank, zeros);
    const char *ev = af_const_i32s (L, base, "end", (gsize) t->shape.rank, t->shape.d);
    AfMilOp *sl = af_emit_tmp (L, "slice_by_index", base, "unpadded", t->shape.rank, t->shape.d);
    af_arg (sl, "x", cur);
    af_arg (sl, "begin", bv);
    af_arg (sl, "end", ev);
    cur = sl->var;
  }
  if (image)
    cur = af_lower_image (L, t->producer, cur);
  g_hash_table_insert (L->var_of, t, (gpointer) cur);
}

/* Declares program output @t, padded with zeros on its last axis. */
static void
af_lower_output (AfLower *L, AfTensor *t, AfMilBinding *b)
{
  const char *cur = g_hash_table_lookup (L->var_of, t);
  b->value = t;
  b->dtype = AF_MIL_FP16;
  b->shape = t->shape;
  af_mil_pad_shape (&t->shape, 2, &b->padded);
  if (!af__shape_equal (&b->padded, &b->shape)) {
    const char *base = t->name;
    gint64 pad[2] = { 0, b->padded.d[t->shape.rank - 1] - t->shape.d[t->shape.rank - 1] };
    const char *pv = af_const_i32s (L, base, "pad", 2, pad);
    const char *mode = af_const_str (L, base, "mode", "constant");
    const char *cv = af_const_half (L, base, "constant_val", 0.0f);
    AfMilOp *p = af_emit_tmp (L, "pad", base, "padded", b->padded.rank, b->padded.d);
    af_arg (p, "x", cur);
    af_arg (p, "pad", pv);
    af_arg (p, "mode", mode);
    af_arg (p, "constant_val", cv);
    cur = p->var;
  }
  b->mil = g_strdup (cur);
  g_ptr_array_add (L->p->outputs, g_strdup (cur));
}

AfMilProgram *
af_ane_lower (AfGraph *g, GPtrArray *nodes, GPtrArray *inputs, GPtrArray *outputs, AfAneDialect d,
              GArray *in_bind, GArray *out_bind, GError **error)
{
  AfLower L = { g, af_mil_program_new (d), g_hash_table_new (NULL, NULL) };
  for (guint i = 0; i < inputs->len; i++) {
    AfMilBinding b = { 0 };
    af_lower_input (&L, g_ptr_array_index (inputs, i), &b);
    g_array_append_val (in_bind, b);
  }
  for (guint i = 0; i < nodes->len; i++)
    af_lower_node (&L, g_ptr_array_index (nodes, i));
  for (guint i = 0; i < outputs->len; i++) {
    AfTensor *t = g_ptr_array_index (outputs, i);
    if (!g_hash_table_contains (L.var_of, t)) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                   "%s: value \"%s\" is an output of a region that does not compute it",
                   af__graph_where (g), t->name);
      g_hash_table_unref (L.var_of);
      af_mil_program_free (L.p);
      return NULL;
    }
    AfMilBinding b = { 0 };
    af_lower_output (&L, t, &b);
    g_array_append_val (out_bind, b);
  }
  g_hash_table_unref (L.var_of);
  return L.p;
}
