/* selfcheck.c — an accelerator's outputs checked against the CPU backend
 * on the first frame (and every N-th), with a fall back to the CPU when
 * they differ beyond the bound (selfcheck.h says which and why). */
#include "selfcheck.h"

#include "runtime.h"

#include <math.h>
#include <string.h>

#define AF_FP16_U (1.0 / 2048)           /* 2^-11, fp16's unit roundoff */
#define AF_FP16_MIN_NORMAL (1.0 / 16384) /* 2^-14: the smallest magnitude compared against */

struct _AfSelfCheck {
  AfModel *cpu;  /* owned: the twin on the CPU backend */
  int every;     /* AfCompileOptions.check_every */
  double bound;  /* af__selfcheck_bound of the graph */
  guint64 frame; /* frames executed since the schedule (re)started */
  AfCheckStatus status;
};

double
af__selfcheck_bound (guint n_ops)
{
  return 8.0 * MAX (n_ops, 1u) * AF_FP16_U;
}

AfSelfCheck *
af__selfcheck_new (AfGraph *g, const AfCompileOptions *o, GError **error)
{
  AfModel *cpu = af__compile_on (g, o, &af_backend_cpu, error);
  if (!cpu)
    return NULL;
  AfSelfCheck *c = g_new0 (AfSelfCheck, 1);
  c->cpu = cpu;
  c->every = o->check_every;
  c->bound = af__selfcheck_bound (af_model_n_ops (cpu));
  c->status.output = -1;
  c->status.bound = c->bound;
  return c;
}

void
af__selfcheck_free (AfSelfCheck *c)
{
  if (!c)
    return;
  af_model_free (c->cpu);
  g_free (c);
}

void
af__selfcheck_status (const AfSelfCheck *c, AfCheckStatus *out)
{
  *out = c->status;
}

void
af__selfcheck_restart (AfSelfCheck *c)
{
  c->frame = 0;
}

/* |a - b| for two fp16 values as the check sees them: NaN against NaN is
 * no difference, NaN against a number (or two different infinities) an
 * infinite one. */
static double
af_fp16_diff (float a, float b)
{
  if (isnan (a) || isnan (b))
    return isnan (a) && isnan (b) ? 0 : INFINITY;
  if (isinf (a) || isinf (b))
    return a == b ? 0 : INFINITY;
  return fabs ((double) a - (double) b);
}

double
af__selfcheck_compare (const guint16 *got, const guint16 *ref, gint64 n, double *max_diff,
                       double *ref_max)
{
  double diff = 0, mag = 0;
  for (gint64 i = 0; i < n; i++) {
    float r = af_fp16_to_f32 (ref[i]);
    diff = MAX (diff, af_fp16_diff (af_fp16_to_f32 (got[i]), r));
    if (isfinite (r))
      mag = MAX (mag, fabs ((double) r));
  }
  *max_diff = diff;
  *ref_max = mag;
  return diff / MAX (mag, AF_FP16_MIN_NORMAL);
}

/* Bytes of input @i's view: uint8 pixels for an image port, fp16 else. */
static gsize
af_input_bytes (AfModel *m, guint i)
{
  AfTensorInfo info;
  af_model_input_info (m, i, &info);
  gsize elem = info.dtype == AF_DTYPE_U8 ? 1 : 2;
  return (gsize) af_shape_numel (info.rank, info.shape) * elem;
}

static gint64
af_output_numel (AfModel *m, guint i)
{
  AfTensorInfo info;
  af_model_output_info (m, i, &info);
  return af_shape_numel (info.rank, info.shape);
}

/* The model's inputs into the twin's (same graph, same options: same
 * shapes and dtypes). Before the backend runs: its arena may reuse an
 * input's bytes once the input is consumed. */
static void
af_copy_inputs (AfModel *m, AfModel *cpu)
{
  for (guint i = 0; i < af_model_n_inputs (m); i++)
    memcpy (af_model_input_view (cpu, i, NULL), af_model_input_view (m, i, NULL),
            af_input_bytes (m, i));
}

/* The twin's outputs into the model's output slots. */
static void
af_copy_outputs (AfModel *cpu, AfModel *m)
{
  for (guint i = 0; i < af_model_n_outputs (m); i++)
    memcpy ((guint16 *) af_model_output_view (m, i), af_model_output_view (cpu, i),
            (gsize) af_output_numel (m, i) * 2);
}

/* Compares every output with the twin's; keeps the one furthest off (by
 * the relative difference) in the status; TRUE when all are in bound. */
static gboolean
af_compare_outputs (AfModel *m, AfSelfCheck *c, guint64 frame)
{
  AfCheckStatus *s = &c->status;
  double worst = -1;
  for (guint i = 0; i < af_model_n_outputs (m); i++) {
    double diff, mag;
    double rel =
        af__selfcheck_compare (af_model_output_view (m, i), af_model_output_view (c->cpu, i),
                               af_output_numel (m, i), &diff, &mag);
    if (rel > worst) {
      AfTensorInfo info;
      af_model_output_info (m, i, &info);
      worst = rel;
      s->output = (int) i;
      s->output_name = info.name;
      s->max_diff = diff;
      s->ref_max = mag;
      s->rel = rel;
    }
  }
  s->checks++;
  s->checked_frame = frame;
  return !(worst > c->bound); /* NaN-safe: a NaN worst fails */
}

/* Due a check: the first frame, then every @every-th when @every > 0. */
static gboolean
af_check_due (const AfSelfCheck *c, guint64 frame)
{
  return frame == 0 || (c->every > 0 && frame % (guint64) c->every == 0);
}

gboolean
af__selfcheck_execute (AfModel *m, AfSelfCheck *c, GError **error)
{
  guint64 frame = c->frame++;
  c->status.frames++;
  if (c->status.fell_back) {
    af_copy_inputs (m, c->cpu);
    if (!af_model_execute (c->cpu, error))
      return FALSE;
    af_copy_outputs (c->cpu, m);
    return TRUE;
  }
  gboolean due = af_check_due (c, frame);
  if (due)
    af_copy_inputs (m, c->cpu);
  if (!m->backend->execute (m->program, error))
    return FALSE;
  if (!due)
    return TRUE;
  if (!af_model_execute (c->cpu, error))
    return FALSE;
  if (af_compare_outputs (m, c, frame))
    return TRUE;
  c->status.fell_back = TRUE;
  af_copy_outputs (c->cpu, m);
  return TRUE;
}
