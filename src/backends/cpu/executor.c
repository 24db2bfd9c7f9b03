/* executor.c — the CPU backend (af_backend_cpu): gives every plan step a
 * kernel once, at compile time, points the steps at the model's arena at
 * bind time, and runs them in order per frame. fp16 values live in the
 * arena; weights are packed into the fast kernels; ops without a fast
 * kernel run their reference kernel on fp32 copies held in one scratch
 * buffer sized at compile time. Nothing is allocated in execute. A program
 * runs a range of the plan's segments: the whole plan for backend=cpu, one
 * segment each for an accelerator's host stages (and ane-sim's regions).
 *
 * A step whose epilogue holds ADD (a residual add fused by the fuse pass)
 * reads the residual from the step's residual value and adds it
 * after rounding the op's own result, before the rest of the epilogue.
 *
 * AF_PROFILE=1 (read at compile) times every step and prints a table (step,
 * op, ms per run, share, GFLOP/s, % of the FMA peak) to stderr when the
 * model is freed; when unset the run loop has no timing code at all. The
 * peak is measured then on the program's threads (peak.h), or taken from
 * AF_PROFILE_PEAK=GFLOPS (one figure for several runs on a noisy machine). */
#include "backend.h"
#include "cpu.h"
#include "dwconv.h"
#include "eltwise.h"
#include "peak.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct _AfCpuProgram AfCpuProgram;
typedef struct _AfCpuStep AfCpuStep;
typedef void (*AfCpuRunFn) (AfCpuProgram *p, AfCpuStep *s);

struct _AfCpuStep {
  const AfStep *step;
  const AfNode *node;
  AfCpuEpilogue ep; /* the step's epilogue, as the kernels take it */
  AfCpuRunFn run;
  guint16 *out;
  gint64 out_numel;
  const guint16 **in16; /* per input: arena fp16 data, NULL for constants */
  float **in32;         /* per input: fp32 copy (constants: owned; others: scratch) */
  gboolean *in32_owned;
  const guint16 *res;   /* ADD residual (arena) or NULL */
  guint16 **in16_owned; /* per input: fp16 copy of a constant for the eltwise kernels */
  const guint8 *pixels; /* IMAGE_INPUT: the port's uint8 staging buffer */
  gint64 batch, in_image, out_image; /* per-image element counts for batched kernels */
  AfConvKernel *conv;
  AfDwKernel *dw;
  AfLinearKernel *linear;
  AfPoolDesc pool;
  gint64 outer, inner; /* CONCAT: outer loop count, element count after the axis */
  AfBinaryDesc binary;
  AfUnaryDesc unary;
  AfBatchNormDesc bn;
  AfGatherDesc gather;
  AfReduceDesc reduce;
  gint64 prof_ns; /* AF_PROFILE: accumulated time */
};

struct _AfCpuProgram {
  const AfPlan *plan; /* borrowed: owned by the model */
  AfPool *pool;
  AfCpuStep *steps; /* plan steps first_step .. first_step + n_steps - 1 */
  guint first_step, n_steps;
  gboolean winograd; /* AfBackendOptions.winograd: for the conv kernels */
  float *scratch;    /* fp32 inputs and output of reference-kernel steps */
  guint8 *kscratch;  /* fast-kernel scratch, per thread */
  gsize kscratch_per_thread;
  gboolean profile; /* AF_PROFILE */
  guint64 prof_runs;
};

/* ---------------------------------------------------------------- capabilities */

/* What the fuse pass may fuse for these kernels: every activation the
 * epilogue applies (af_cpu_epilogue_apply) joins its producer, and conv,
 * linear, batch_norm, the binary ops and the activations finish with a
 * residual ADD (their *_run_res / res arguments). */
#define AF_CPU_ACTIVATION (AF_FUSE_JOIN | AF_FUSE_RESIDUAL)
static const guint8 af_cpu_fuse[AF_OP_COUNT] = {
  [AF_OP_CONV] = AF_FUSE_RESIDUAL,       [AF_OP_LINEAR] = AF_FUSE_RESIDUAL,
  [AF_OP_BATCH_NORM] = AF_FUSE_RESIDUAL, [AF_OP_ADD] = AF_FUSE_RESIDUAL,
  [AF_OP_SUB] = AF_FUSE_RESIDUAL,        [AF_OP_MUL] = AF_FUSE_RESIDUAL,
  [AF_OP_DIV] = AF_FUSE_RESIDUAL,        [AF_OP_MAXIMUM] = AF_FUSE_RESIDUAL,
  [AF_OP_MINIMUM] = AF_FUSE_RESIDUAL,    [AF_OP_RELU] = AF_CPU_ACTIVATION,
  [AF_OP_RELU6] = AF_CPU_ACTIVATION,     [AF_OP_CLIP] = AF_CPU_ACTIVATION,
  [AF_OP_SIGMOID] = AF_CPU_ACTIVATION,   [AF_OP_TANH] = AF_CPU_ACTIVATION,
  [AF_OP_SILU] = AF_CPU_ACTIVATION,      [AF_OP_GELU] = AF_CPU_ACTIVATION,
  [AF_OP_EXP] = AF_CPU_ACTIVATION,       [AF_OP_HARDSWISH] = AF_CPU_ACTIVATION,
};

const AfBackendCaps af_cpu_caps = { AF_CPU_MAX_EPILOGUE, af_cpu_fuse };

/* A plan step's epilogue in the kernels' form: the same ops in the same
 * order. The caps the plan was built with keep it within what the kernels
 * take; anything else is a bug. */
static void
af_cpu_epilogue_from_plan (const AfEpilogue *ep, AfCpuEpilogue *out)
{
  g_assert (ep->n >= 0 && ep->n <= AF_CPU_MAX_EPILOGUE);
  memset (out, 0, sizeof *out);
  out->n = ep->n;
  for (int i = 0; i < ep->n; i++) {
    g_assert (ep->op[i] == AF_OP_ADD || (af_cpu_fuse[ep->op[i]] & AF_FUSE_JOIN));
    out->op[i] = ep->op[i];
    out->lo[i] = ep->lo[i];
    out->hi[i] = ep->hi[i];
  }
}

/* ---------------------------------------------------------------- helpers */

/* @res: the ADD residual or NULL. */
static void
af_apply_epilogue_inplace (const AfCpuEpilogue *ep, const guint16 *res, guint16 *x, gint64 n)
{
  if (ep->n == 0)
    return;
  for (gint64 i = 0; i < n; i++)
    x[i] = af_f32_to_fp16 (af_cpu_epilogue_apply_res (ep, af_fp16_to_f32 (x[i]),
                                                      res ? af_fp16_to_f32 (res[i]) : 0.0f));
}

/* Returns (transfer full) the constant @t as fp32 values rounded to fp16
 * (weights are fp16): only fp32 data needs the rounding (fp16, int8 and
 * uint8 values are exact), done with the vector conversions a chunk at a
 * time (the scalar round trip was 60 % of resnet18's compile time). */
static float *
af_const_f32 (const AfTensor *t)
{
  gint64 n = af__shape_numel (&t->shape);
  float *f = g_new (float, n);
  af__tensor_read_f32 (t, f);
  if (t->dtype == AF_DTYPE_F32) {
    guint16 h[1024];
    for (gint64 i = 0; i < n; i += G_N_ELEMENTS (h)) {
      gsize m = (gsize) MIN (n - i, (gint64) G_N_ELEMENTS (h));
      af_f32_to_fp16_n (f + i, h, m);
      af_fp16_to_f32_n (h, f + i, m);
    }
  }
  return f;
}

/* ---------------------------------------------------------------- runners */

/* Any op: widen the inputs, run the reference kernel, round, epilogue. */
static void
af_run_reference (AfCpuProgram *p, AfCpuStep *s)
{
  const AfNode *n = s->node;
  for (guint j = 0; j < n->n_in; j++)
    if (s->in16[j])
      af_fp16_to_f32_n (s->in16[j], s->in32[j], af__shape_numel (&n->in[j]->shape));
  float *out = p->scratch;
  af_op_info[n->op].ref (n, (const float *const *) s->in32, out);
  const AfCpuEpilogue *ep = &s->ep;
  if (ep->n == 0) {
    af_f32_to_fp16_n (out, s->out, s->out_numel);
    return;
  }
  for (gint64 i = 0; i < s->out_numel; i++)
    s->out[i] = af_f32_to_fp16 (af_cpu_epilogue_apply_res (
        ep, af_fp16_to_f32 (af_f32_to_fp16 (out[i])), s->res ? af_fp16_to_f32 (s->res[i]) : 0.0f));
}

/* The image port: uint8 pixels -> x * scale[c] + bias[c] -> fp16. */
static void
af_run_image_input (AfCpuProgram *p, AfCpuStep *s)
{
  const AfNode *n = s->node;
  gint64 c = n->out->shape.d[1], plane = n->out->shape.d[2] * n->out->shape.d[3];
  for (gint64 b = 0; b < n->out->shape.d[0]; b++)
    af_cpu_image_port_run (s->pixels + b * c * plane, c, plane, n->image.scale, n->image.bias,
                           s->out + b * c * plane);
  af_apply_epilogue_inplace (&s->ep, s->res, s->out, s->out_numel);
  (void) p;
}

static void
af_run_reshape (AfCpuProgram *p, AfCpuStep *s)
{
  if (s->in16[0] != s->out)
    memcpy (s->out, s->in16[0], s->out_numel * sizeof (guint16));
  af_apply_epilogue_inplace (&s->ep, s->res, s->out, s->out_numel);
  (void) p;
}

static void
af_run_concat (AfCpuProgram *p, AfCpuStep *s)
{
  const AfNode *n = s->node;
  int axis = n->attrs.axis < 0 ? n->attrs.axis + n->out->shape.rank : n->attrs.axis;
  gint64 out_row = n->out->shape.d[axis] * s->inner;
  gint64 col = 0;
  for (guint j = 0; j < n->n_in; j++) {
    gint64 row = n->in[j]->shape.d[axis] * s->inner;
    for (gint64 o = 0; o < s->outer; o++) {
      guint16 *dst = s->out + o * out_row + col;
      if (s->in16[j] == dst) /* written in place (plan-memory) */
        continue;
      if (s->in16[j])
        memcpy (dst, s->in16[j] + o * row, row * sizeof (guint16));
      else
        af_f32_to_fp16_n (s->in32[j] + o * row, dst, row);
    }
    col += row;
  }
  af_apply_epilogue_inplace (&s->ep, s->res, s->out, s->out_numel);
  (void) p;
}

static void
af_run_conv (AfCpuProgram *p, AfCpuStep *s)
{
  for (gint64 b = 0; b < s->batch; b++)
    af_cpu_conv_run_res (s->conv, s->in16[0] + b * s->in_image,
                         s->res ? s->res + b * s->out_image : NULL, s->out + b * s->out_image,
                         p->kscratch, p->pool);
}

static void
af_run_dw (AfCpuProgram *p, AfCpuStep *s)
{
  for (gint64 b = 0; b < s->batch; b++)
    af_cpu_dw_run (s->dw, s->in16[0] + b * s->in_image, s->res ? s->res + b * s->out_image : NULL,
                   s->out + b * s->out_image, p->kscratch, p->pool);
}

static void
af_run_linear (AfCpuProgram *p, AfCpuStep *s)
{
  af_cpu_linear_run_res (s->linear, s->batch, s->in16[0], s->res, s->out, p->kscratch, p->pool);
}

static void
af_run_binary (AfCpuProgram *p, AfCpuStep *s)
{
  af_cpu_binary_run (&s->binary, s->in16[0], s->in16[1], s->res, s->out, p->pool);
}

static void
af_run_unary (AfCpuProgram *p, AfCpuStep *s)
{
  af_cpu_unary_run (&s->unary, s->in16[0], s->res, s->out, p->pool);
}

static void
af_run_batch_norm (AfCpuProgram *p, AfCpuStep *s)
{
  af_cpu_batch_norm_run (&s->bn, s->in16[0], s->res, s->out, p->pool);
}

static void
af_run_gather (AfCpuProgram *p, AfCpuStep *s)
{
  af_cpu_gather_run (&s->gather, s->in16[0], s->res, s->out, p->pool);
}

static void
af_run_reduce (AfCpuProgram *p, AfCpuStep *s)
{
  af_cpu_reduce_run (&s->reduce, s->in16[0], s->res, s->out, p->pool);
}

static void
af_run_max_pool (AfCpuProgram *p, AfCpuStep *s)
{
  for (gint64 b = 0; b < s->batch; b++)
    af_cpu_max_pool_run (&s->pool, &s->ep, s->in16[0] + b * s->in_image, s->out + b * s->out_image,
                         p->kscratch, p->pool);
}

static void
af_run_pool (AfCpuProgram *p, AfCpuStep *s)
{
  for (gint64 b = 0; b < s->batch; b++)
    af_cpu_pool2d_run (&s->pool, s->in16[0] + b * s->in_image, s->out + b * s->out_image, p->pool);
  af_apply_epilogue_inplace (&s->ep, s->res, s->out, s->out_numel);
}

static void
af_run_nothing (AfCpuProgram *p, AfCpuStep *s)
{
  (void) p;
  (void) s;
}

/* ---------------------------------------------------------------- kernels */

/* TRUE if input @j of @s is a value in the arena, not a constant. */
static gboolean
af_input_live (const AfCpuStep *s, guint j)
{
  return s->node->in[j]->kind != AF_VALUE_CONST;
}

static gboolean
af_pick_conv (AfCpuProgram *p, AfCpuStep *s)
{
  const AfNode *n = s->node;
  if (n->in[0]->kind == AF_VALUE_CONST || n->in[1]->kind != AF_VALUE_CONST ||
      (n->n_in > 2 && n->in[2]->kind != AF_VALUE_CONST))
    return FALSE;
  const AfShape *x = &n->in[0]->shape, *w = &n->in[1]->shape, *y = &n->out->shape;
  AfConvDesc d = {
    .c_in = x->d[1],
    .h_in = x->d[2],
    .w_in = x->d[3],
    .c_out = y->d[1],
    .h_out = y->d[2],
    .w_out = y->d[3],
    .kh = w->d[2],
    .kw = w->d[3],
    .groups = n->attrs.groups,
    .winograd = p->winograd,
  };
  memcpy (d.stride, n->attrs.stride, sizeof d.stride);
  memcpy (d.pad, n->attrs.pad, sizeof d.pad);
  memcpy (d.dilation, n->attrs.dilation, sizeof d.dilation);
  g_autofree float *wf = af_const_f32 (n->in[1]);
  g_autofree float *bf = n->n_in > 2 ? af_const_f32 (n->in[2]) : NULL;
  s->batch = x->d[0];
  s->in_image = d.c_in * d.h_in * d.w_in;
  s->out_image = d.c_out * d.h_out * d.w_out;
  s->dw = af_cpu_dw_new (&d, wf, bf, &s->ep);
  if (s->dw) {
    p->kscratch_per_thread = MAX (p->kscratch_per_thread, af_cpu_dw_scratch_size (s->dw));
    s->run = af_run_dw;
    return TRUE;
  }
  s->conv = af_cpu_conv_new (&d, wf, bf, &s->ep);
  if (!s->conv)
    return FALSE;
  af_cpu_conv_plan_threads (s->conv, af_pool_n_threads (p->pool));
  p->kscratch_per_thread = MAX (p->kscratch_per_thread, af_cpu_conv_scratch_size (s->conv));
  s->run = af_run_conv;
  return TRUE;
}

static gboolean
af_pick_linear (AfCpuProgram *p, AfCpuStep *s)
{
  const AfNode *n = s->node;
  if (n->in[0]->kind == AF_VALUE_CONST || n->in[1]->kind != AF_VALUE_CONST ||
      (n->n_in > 2 && n->in[2]->kind != AF_VALUE_CONST))
    return FALSE;
  gint64 nn = n->in[1]->shape.d[0], k = n->in[1]->shape.d[1];
  g_autofree float *wf = af_const_f32 (n->in[1]);
  g_autofree float *bf = n->n_in > 2 ? af_const_f32 (n->in[2]) : NULL;
  s->linear = af_cpu_linear_new (k, nn, wf, bf, &s->ep);
  if (!s->linear)
    return FALSE;
  s->batch = af__shape_numel (&n->in[0]->shape) / k;
  p->kscratch_per_thread =
      MAX (p->kscratch_per_thread, af_cpu_linear_scratch_size (s->linear, s->batch));
  s->run = af_run_linear;
  return TRUE;
}

static gboolean
af_pick_pool (AfCpuProgram *p, AfCpuStep *s)
{
  const AfNode *n = s->node;
  const AfShape *x = &n->in[0]->shape, *y = &n->out->shape;
  gboolean is_max = n->op == AF_OP_MAX_POOL;
  /* the max kernel takes ceil-mode windows as they come; avg_pool's
   * ceil-mode divisor rule stays with the reference */
  if (n->in[0]->kind == AF_VALUE_CONST || x->rank != 4 || (n->attrs.ceil_mode && !is_max))
    return FALSE;
  AfPoolDesc d = {
    .c = x->d[1],
    .h_in = x->d[2],
    .w_in = x->d[3],
    .h_out = y->d[2],
    .w_out = y->d[3],
    .is_max = n->op == AF_OP_MAX_POOL,
    .count_include_pad = n->attrs.count_include_pad,
  };
  if (n->attrs.global) {
    d.kh = x->d[2];
    d.kw = x->d[3];
    d.stride[0] = d.stride[1] = 1;
  } else {
    d.kh = n->attrs.kernel[0];
    d.kw = n->attrs.kernel[1];
    memcpy (d.stride, n->attrs.stride, sizeof d.stride);
    memcpy (d.pad, n->attrs.pad, sizeof d.pad);
  }
  s->pool = d;
  s->batch = x->d[0];
  s->in_image = d.c * d.h_in * d.w_in;
  s->out_image = d.c * d.h_out * d.w_out;
  s->run = af_run_pool;
  if (is_max && !n->attrs.global) {
    /* whole planes at a time (dwconv.c's phase planes), else row by row */
    s->dw = af_cpu_dw_new_max_pool (&d, &s->ep);
    if (s->dw) {
      p->kscratch_per_thread = MAX (p->kscratch_per_thread, af_cpu_dw_scratch_size (s->dw));
      s->run = af_run_dw;
      return TRUE;
    }
    p->kscratch_per_thread = MAX (p->kscratch_per_thread, af_cpu_max_pool_scratch_size (&d));
    s->run = af_run_max_pool;
  }
  return TRUE;
}

/* Binary ops: a constant operand gets an fp16 copy (its values are fp16). */
static gboolean
af_pick_binary (AfCpuProgram *p, AfCpuStep *s)
{
  const AfNode *n = s->node;
  for (guint j = 0; j < 2; j++)
    if (!af_input_live (s, j)) {
      gint64 cnt = af__shape_numel (&n->in[j]->shape);
      s->in16_owned[j] = g_new (guint16, MAX (cnt, 1));
      af_f32_to_fp16_n (s->in32[j], s->in16_owned[j], cnt);
      s->in16[j] = s->in16_owned[j];
    }
  af_cpu_binary_init (&s->binary, n->op, &n->in[0]->shape, &n->in[1]->shape, &n->out->shape,
                      &s->ep);
  s->run = af_run_binary;
  (void) p;
  return TRUE;
}

static gboolean
af_pick_batch_norm (AfCpuStep *s)
{
  const AfNode *n = s->node;
  if (!af_input_live (s, 0))
    return FALSE;
  for (guint j = 1; j < 5; j++)
    if (!s->in32_owned[j])
      return FALSE;
  af_cpu_batch_norm_init (&s->bn, &n->in[0]->shape, s->in32[1], s->in32[2], s->in32[3], s->in32[4],
                          n->attrs.eps, &s->ep);
  s->run = af_run_batch_norm;
  return TRUE;
}

/* mean / sum over trailing axes (every reduced axis after every kept one). */
static gboolean
af_pick_reduce (AfCpuStep *s)
{
  const AfNode *n = s->node;
  const AfShape *x = &n->in[0]->shape;
  gboolean mask[AF_MAX_RANK] = { 0 };
  for (int i = 0; i < x->rank; i++)
    mask[i] = n->attrs.n_axes == 0;
  for (int i = 0; i < n->attrs.n_axes; i++)
    mask[n->attrs.axes[i] < 0 ? n->attrs.axes[i] + x->rank : n->attrs.axes[i]] = TRUE;
  gint64 outer = 1, inner = 1;
  gboolean reducing = FALSE;
  for (int i = 0; i < x->rank; i++) {
    if (mask[i]) {
      reducing = TRUE;
      inner *= x->d[i];
    } else if (reducing && x->d[i] != 1) {
      return FALSE; /* a kept axis after a reduced one */
    } else {
      outer *= x->d[i];
    }
  }
  if (!af_input_live (s, 0) || inner == 0 || outer == 0)
    return FALSE;
  s->reduce = (AfReduceDesc){ n->op == AF_OP_MEAN, outer, inner, s->ep };
  s->run = af_run_reduce;
  return TRUE;
}

static gboolean
af_pick_kernel (AfCpuProgram *p, AfCpuStep *s)
{
  const AfNode *n = s->node;
  gboolean all_live = TRUE;
  for (guint j = 0; j < n->n_in; j++)
    all_live &= n->in[j]->kind != AF_VALUE_CONST;
  switch (n->op) {
  case AF_OP_IMAGE_INPUT:
    s->run = af_run_image_input;
    return TRUE;
  case AF_OP_RESHAPE:
    if (!all_live)
      return FALSE;
    s->run = af_run_reshape;
    return TRUE;
  case AF_OP_CONCAT: {
    int axis = n->attrs.axis < 0 ? n->attrs.axis + n->out->shape.rank : n->attrs.axis;
    s->outer = 1;
    s->inner = 1;
    for (int i = 0; i < axis; i++)
      s->outer *= n->out->shape.d[i];
    for (int i = axis + 1; i < n->out->shape.rank; i++)
      s->inner *= n->out->shape.d[i];
    s->run = af_run_concat;
    return TRUE;
  }
  case AF_OP_CONV:
    return af_pick_conv (p, s);
  case AF_OP_LINEAR:
    return af_pick_linear (p, s);
  case AF_OP_MAX_POOL:
  case AF_OP_AVG_POOL:
    return af_pick_pool (p, s);
  case AF_OP_ADD:
  case AF_OP_SUB:
  case AF_OP_MUL:
  case AF_OP_DIV:
  case AF_OP_MAXIMUM:
  case AF_OP_MINIMUM:
    return af_pick_binary (p, s);
  case AF_OP_RELU:
  case AF_OP_RELU6:
  case AF_OP_CLIP:
  case AF_OP_SIGMOID:
  case AF_OP_TANH:
  case AF_OP_SILU:
  case AF_OP_GELU:
  case AF_OP_EXP:
  case AF_OP_HARDSWISH:
    if (!af_input_live (s, 0))
      return FALSE;
    af_cpu_unary_init (&s->unary, n->op, n->attrs.min, n->attrs.max, s->out_numel, &s->ep);
    s->run = af_run_unary;
    return TRUE;
  case AF_OP_BATCH_NORM:
    return af_pick_batch_norm (s);
  case AF_OP_TRANSPOSE: {
    if (!af_input_live (s, 0))
      return FALSE;
    int perm[AF_MAX_RANK], r = n->in[0]->shape.rank;
    for (int i = 0; i < r; i++)
      perm[i] = n->attrs.n_perm ? (int) n->attrs.perm[i] : r - 1 - i;
    af_cpu_transpose_init (&s->gather, &n->in[0]->shape, perm, &s->ep);
    s->run = af_run_gather;
    return TRUE;
  }
  case AF_OP_UPSAMPLE:
    if (!af_input_live (s, 0))
      return FALSE;
    af_cpu_upsample_init (&s->gather, &n->in[0]->shape, n->attrs.scale[0], n->attrs.scale[1],
                          &s->ep);
    s->run = af_run_gather;
    return TRUE;
  case AF_OP_MEAN:
  case AF_OP_SUM:
    return af_pick_reduce (s);
  default:
    return FALSE;
  }
}

/* Chooses @st's kernel (packing its weights) and gives constants an fp32
 * copy; returns the fp32 scratch the step needs if it runs its reference
 * kernel. Arena pointers come at bind (af_step_bind). */
static gsize
af_step_compile (AfCpuProgram *p, AfCpuStep *s, const AfStep *st)
{
  const AfNode *n = st->node;
  s->step = st;
  s->node = n;
  af_cpu_epilogue_from_plan (&st->ep, &s->ep);
  s->out_numel = af__shape_numel (&n->out->shape);
  s->in16 = g_new0 (const guint16 *, MAX (n->n_in, 1));
  s->in32 = g_new0 (float *, MAX (n->n_in, 1));
  s->in32_owned = g_new0 (gboolean, MAX (n->n_in, 1));
  s->in16_owned = g_new0 (guint16 *, MAX (n->n_in, 1));
  gsize scratch = s->out_numel;
  for (guint j = 0; j < n->n_in; j++) {
    AfTensor *t = n->in[j];
    if (t->kind == AF_VALUE_CONST) {
      s->in32[j] = af_const_f32 (t);
      s->in32_owned[j] = TRUE;
    } else {
      scratch += af__shape_numel (&t->shape);
    }
  }
  if (s->out_numel == 0) { /* nothing to compute */
    s->run = af_run_nothing;
    return 0;
  }
  if (af_pick_kernel (p, s))
    return 0;
  s->run = af_run_reference;
  return scratch;
}

/* Points @s at the values it reads and writes in @arena (constants keep
 * their copies). */
static void
af_step_bind (const AfPlan *plan, AfCpuStep *s, guint8 *arena)
{
  const AfNode *n = s->node;
  s->out = (guint16 *) (arena + plan->offset[s->step->out->index]);
  for (guint j = 0; j < n->n_in; j++)
    if (af_input_live (s, j))
      s->in16[j] = (const guint16 *) (arena + plan->offset[n->in[j]->index]);
  if (s->step->residual)
    s->res = (const guint16 *) (arena + plan->offset[s->step->residual->index]);
  if (n->op == AF_OP_IMAGE_INPUT)
    s->pixels = arena + plan->port[n->out->index];
}

/* Reference steps share one scratch: [output | input 0 | input 1 | ...]. */
static void
af_place_scratch (AfCpuProgram *p)
{
  for (guint i = 0; i < p->n_steps; i++) {
    AfCpuStep *s = &p->steps[i];
    if (s->run != af_run_reference)
      continue;
    float *at = p->scratch + s->out_numel;
    for (guint j = 0; j < s->node->n_in; j++)
      if (!s->in32_owned[j]) {
        s->in32[j] = at;
        at += af__shape_numel (&s->node->in[j]->shape);
      }
  }
}

static gboolean
af_cpu_available (const char **why)
{
  *why = NULL;
  return TRUE;
}

/* The plan steps of segments [opts->first_segment, + n_segments). */
static void
af_cpu_step_range (const AfPlan *plan, const AfBackendOptions *opts, guint *first, guint *n)
{
  g_assert (opts->first_segment + opts->n_segments <= plan->segments->len);
  *first = *n = 0;
  if (opts->n_segments == 0)
    return;
  const AfSegment *a = &g_array_index (plan->segments, AfSegment, opts->first_segment);
  const AfSegment *b =
      &g_array_index (plan->segments, AfSegment, opts->first_segment + opts->n_segments - 1);
  *first = a->first_step;
  *n = b->first_step + b->n_steps - a->first_step;
}

static AfProgram *
af_cpu_compile (const AfPlan *plan, const AfBackendOptions *opts, GError **error)
{
  AfCpuProgram *p = g_new0 (AfCpuProgram, 1);
  p->plan = plan;
  p->winograd = opts->winograd;
  p->pool = af_pool_new (opts->threads);
  af_cpu_step_range (plan, opts, &p->first_step, &p->n_steps);
  p->steps = g_new0 (AfCpuStep, MAX (p->n_steps, 1));
  gsize scratch = 0;
  for (guint i = 0; i < p->n_steps; i++) {
    const AfStep *st = &g_array_index (plan->steps, AfStep, p->first_step + i);
    gsize need = af_step_compile (p, &p->steps[i], st); /* not inside MAX: evaluated twice */
    scratch = MAX (scratch, need);
  }
  p->scratch = g_new0 (float, MAX (scratch, 1));
  af_place_scratch (p);
  gsize kbytes = p->kscratch_per_thread * af_pool_n_threads (p->pool);
  p->kscratch = g_aligned_alloc0 (MAX (kbytes, 64), 1, 64);
  const char *prof = g_getenv ("AF_PROFILE");
  p->profile = prof && *prof && strcmp (prof, "0") != 0;
  (void) error;
  return (AfProgram *) p;
}

static gboolean
af_cpu_bind (AfProgram *program, guint8 *arena, GError **error)
{
  AfCpuProgram *p = (AfCpuProgram *) program;
  for (guint i = 0; i < p->n_steps; i++)
    af_step_bind (p->plan, &p->steps[i], arena);
  (void) error;
  return TRUE;
}

static gint64
af_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
af_execute_profiled (AfCpuProgram *p)
{
  for (guint i = 0; i < p->n_steps; i++) {
    gint64 t0 = af_now_ns ();
    p->steps[i].run (p, &p->steps[i]);
    p->steps[i].prof_ns += af_now_ns () - t0;
  }
  p->prof_runs++;
}

static int
af_cmp_step_time (gconstpointer a, gconstpointer b)
{
  const AfCpuStep *x = *(AfCpuStep *const *) a, *y = *(AfCpuStep *const *) b;
  return x->prof_ns < y->prof_ns ? 1 : x->prof_ns > y->prof_ns ? -1 : 0;
}

/* The FMA peak the table's "% peak" column divides by; @how says where it
 * came from. A malformed AF_PROFILE_PEAK is said and ignored. */
static double
af_profile_peak (AfCpuProgram *p, const char **how)
{
  const char *v = g_getenv ("AF_PROFILE_PEAK");
  if (v && *v) {
    char *end;
    double g = g_ascii_strtod (v, &end);
    if (end != v && !*end && g > 0 && isfinite (g)) {
      *how = "AF_PROFILE_PEAK";
      return g;
    }
    fprintf (stderr,
             "AF_PROFILE: AF_PROFILE_PEAK=\"%s\" is not a positive number of GFLOP/s, "
             "measuring the peak instead\n",
             v);
  }
  *how = af__cpu_peak_unit ();
  return af__cpu_peak_gflops (p->pool, AF_PEAK_MFLOP);
}

/* The AF_PROFILE table, slowest step first. */
static void
af_print_profile (AfCpuProgram *p)
{
  if (p->prof_runs == 0)
    return;
  g_autofree AfCpuStep **by_time = g_new (AfCpuStep *, MAX (p->n_steps, 1));
  gint64 total = 0;
  for (guint i = 0; i < p->n_steps; i++) {
    by_time[i] = &p->steps[i];
    total += p->steps[i].prof_ns;
  }
  qsort (by_time, p->n_steps, sizeof *by_time, af_cmp_step_time);
  double runs = (double) p->prof_runs;
  const char *how;
  double peak = af_profile_peak (p, &how);
  fprintf (stderr,
           "AF_PROFILE %s: %" G_GUINT64_FORMAT " run(s), %.3f ms per run, %d thread(s), "
           "FMA peak %.1f GFLOP/s (%s)\n",
           p->plan->graph->name, p->prof_runs, total / runs / 1e6, af_pool_n_threads (p->pool),
           peak, how);
  int width = 4; /* the step column: the longest name, at most 64 */
  for (guint i = 0; i < p->n_steps; i++)
    width = MAX (width, (int) MIN (strlen (p->steps[i].node->name), 64));
  fprintf (stderr, "  %-*s %-30s %9s %6s %8s %6s %s\n", width, "step", "op", "ms/run", "%",
           "GFLOP/s", "% peak", "kernel");
  for (guint i = 0; i < p->n_steps; i++) {
    const AfCpuStep *s = by_time[i];
    AfCost c = { 0, 0 };
    af_op_info[s->node->op].cost (s->node, &c);
    char op[64];
    int len = g_snprintf (op, sizeof op, "%s", af_op_info[s->node->op].name);
    for (int e = 0; e < s->step->ep.n && len < (int) sizeof op; e++)
      len += g_snprintf (op + len, sizeof op - len, "+%s", af_op_info[s->step->ep.op[e]].name);
    double ms = s->prof_ns / runs / 1e6;
    /* names past the column keep their end, where layers differ */
    const char *name = s->node->name;
    int name_len = (int) strlen (name), cut = name_len > width;
    double gflops = ms > 0 ? c.flops / (ms * 1e6) : 0.0;
    fprintf (stderr, "  %s%-*s %-30.30s %9.3f %6.1f %8.2f %6.1f %s\n", cut ? ".." : "",
             cut ? width - 2 : width, cut ? name + name_len - (width - 2) : name, op, ms,
             total ? 100.0 * s->prof_ns / total : 0.0, gflops, 100.0 * gflops / peak,
             s->run == af_run_reference ? "reference" : "fast");
  }
}

static gboolean
af_cpu_execute (AfProgram *program, GError **error)
{
  AfCpuProgram *p = (AfCpuProgram *) program;
  if (G_UNLIKELY (p->profile)) {
    af_execute_profiled (p);
    return TRUE;
  }
  for (guint i = 0; i < p->n_steps; i++)
    p->steps[i].run (p, &p->steps[i]);
  (void) error;
  return TRUE;
}

static void
af_cpu_release (AfProgram *program)
{
  AfCpuProgram *p = (AfCpuProgram *) program;
  if (!p)
    return;
  if (p->profile)
    af_print_profile (p);
  for (guint i = 0; i < p->n_steps; i++) {
    AfCpuStep *s = &p->steps[i];
    for (guint j = 0; s->node && j < s->node->n_in; j++) {
      if (s->in32_owned[j])
        g_free (s->in32[j]);
      g_free (s->in16_owned[j]);
    }
    g_free (s->in16_owned);
    af_cpu_batch_norm_clear (&s->bn);
    g_free (s->in16);
    g_free (s->in32);
    g_free (s->in32_owned);
    af_cpu_conv_free (s->conv);
    af_cpu_dw_free (s->dw);
    af_cpu_linear_free (s->linear);
  }
  g_free (p->steps);
  g_free (p->scratch);
  g_aligned_free (p->kscratch);
  af_pool_free (p->pool);
  g_free (p);
}

static int
af_cpu_n_threads (AfProgram *program)
{
  return af_pool_n_threads (((AfCpuProgram *) program)->pool);
}

static void
af_cpu_parallel_for (AfProgram *program, gint64 n, gint64 grain, AfRangeFunc func,
                     gpointer user_data)
{
  af_pool_parallel_for (((AfCpuProgram *) program)->pool, n, grain, func, user_data);
}

const AfBackend af_backend_cpu = {
  .name = "cpu",
  .caps = &af_cpu_caps,
  .available = af_cpu_available,
  .compile = af_cpu_compile,
  .bind = af_cpu_bind,
  .execute = af_cpu_execute,
  .release = af_cpu_release,
  .n_threads = af_cpu_n_threads,
  .parallel_for = af_cpu_parallel_for,
};
