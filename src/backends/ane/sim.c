/* sim.c — "ane-sim", the ANE backend's stand-in on machines without one.
 *
 * It has the ANE backend's structure: the plan is partitioned with the
 * ANE's capabilities, every fused region becomes a program of its own and
 * every bridge stage a host program, bound to the one arena and run in
 * order per frame (on a Mac: one e5rt program per region, the bridge ops on
 * the host between them). Here CPU programs stand in for the regions, so
 * its outputs are the CPU backend's bit for bit, and a segmented plan runs
 * through the vtable the way the ANE backend's will (tests/core/test-backends.c).
 *
 * Fault injection, for tests only: AF_ANE_SIM_PERTURB=scale:F[:K[:FROM]]
 * (read at compile) multiplies graph output K's values (every output's when
 * K is omitted or -1) by F after each run, from the FROM-th run (0-based,
 * default 0) on, so the runtime's self-check (selfcheck.h) has a device
 * that is wrong by a known amount: max|out - cpu| / max|cpu| is |F - 1|, up
 * to fp16 rounding. */
#include "backend.h"
#include "backends/cpu/cpu.h"

#include <stdlib.h>

typedef struct {
  gboolean on;
  double scale;
  int output;   /* -1: every output */
  guint64 from; /* the first run perturbed */
  guint64 runs; /* runs so far */
} AfAneSimFault;

typedef struct {
  guint n;              /* programs: one per segment */
  AfProgram **programs; /* owned, by the CPU backend */
  const AfPlan *plan;   /* borrowed */
  guint8 *arena;        /* borrowed, from bind */
  AfAneSimFault fault;  /* AF_ANE_SIM_PERTURB */
} AfAneSimProgram;

/* Parses AF_ANE_SIM_PERTURB (unset or empty: no fault). FALSE with @error
 * on anything but "scale:F" or "scale:F:K". */
static gboolean
af_ane_sim_fault_parse (AfAneSimFault *f, GError **error)
{
  const char *env = g_getenv ("AF_ANE_SIM_PERTURB");
  f->output = -1;
  if (!env || !*env)
    return TRUE;
  g_auto (GStrv) parts = g_strsplit (env, ":", 4);
  char *end = NULL;
  if (g_strcmp0 (parts[0], "scale") == 0 && parts[1]) {
    f->scale = g_ascii_strtod (parts[1], &end);
    f->on = end != parts[1] && !*end;
    if (f->on && parts[2]) {
      f->output = (int) strtol (parts[2], &end, 10);
      f->on = end != parts[2] && !*end && f->output >= -1;
    }
    if (f->on && parts[2] && parts[3]) {
      f->from = g_ascii_strtoull (parts[3], &end, 10);
      f->on = end != parts[3] && !*end;
    }
  }
  if (!f->on)
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                 "AF_ANE_SIM_PERTURB=\"%s\": expected scale:F[:OUTPUT[:FROM]]", env);
  return f->on;
}

/* Scales the fp16 values of graph output @k in the arena by the fault's F. */
static void
af_ane_sim_fault_output (AfAneSimProgram *p, guint k)
{
  AfOutput *o = &g_array_index (p->plan->graph->outputs, AfOutput, k);
  guint16 *v = (guint16 *) (p->arena + p->plan->offset[o->value->index]);
  gint64 n = af_shape_numel (o->value->shape.rank, o->value->shape.d);
  for (gint64 i = 0; i < n; i++)
    v[i] = af_f32_to_fp16 ((float) (af_fp16_to_f32 (v[i]) * p->fault.scale));
}

static void
af_ane_sim_fault_apply (AfAneSimProgram *p)
{
  guint n = p->plan->graph->outputs->len;
  if (p->fault.runs++ < p->fault.from)
    return;
  for (guint k = 0; k < n; k++)
    if (p->fault.output < 0 || (guint) p->fault.output == k)
      af_ane_sim_fault_output (p, k);
}

static gboolean
af_ane_sim_available (const char **why)
{
  *why = NULL;
  return TRUE;
}

static void
af_ane_sim_release (AfProgram *program)
{
  AfAneSimProgram *p = (AfAneSimProgram *) program;
  if (!p)
    return;
  for (guint i = 0; i < p->n; i++)
    af_backend_cpu.release (p->programs[i]);
  g_free (p->programs);
  g_free (p);
}

/* One program per segment: a fused region (what the ANE runs) or a bridge
 * stage (what its host runs), each compiled by the CPU backend. */
static AfProgram *
af_ane_sim_compile (const AfPlan *plan, const AfBackendOptions *opts, GError **error)
{
  AfAneSimProgram *p = g_new0 (AfAneSimProgram, 1);
  p->plan = plan;
  p->programs = g_new0 (AfProgram *, MAX (opts->n_segments, 1));
  if (!af_ane_sim_fault_parse (&p->fault, error)) {
    af_ane_sim_release ((AfProgram *) p);
    return NULL;
  }
  for (guint i = 0; i < opts->n_segments; i++) {
    AfBackendOptions one = *opts;
    one.first_segment = opts->first_segment + i;
    one.n_segments = 1;
    p->programs[i] = af_backend_cpu.compile (plan, &one, error);
    if (!p->programs[i]) {
      af_ane_sim_release ((AfProgram *) p);
      return NULL;
    }
    p->n++;
  }
  return (AfProgram *) p;
}

static gboolean
af_ane_sim_bind (AfProgram *program, guint8 *arena, GError **error)
{
  AfAneSimProgram *p = (AfAneSimProgram *) program;
  p->arena = arena;
  for (guint i = 0; i < p->n; i++)
    if (!af_backend_cpu.bind (p->programs[i], arena, error))
      return FALSE;
  return TRUE;
}

static gboolean
af_ane_sim_execute (AfProgram *program, GError **error)
{
  AfAneSimProgram *p = (AfAneSimProgram *) program;
  for (guint i = 0; i < p->n; i++)
    if (!af_backend_cpu.execute (p->programs[i], error))
      return FALSE;
  if (p->fault.on)
    af_ane_sim_fault_apply (p);
  return TRUE;
}

const AfBackend af_backend_ane_sim = {
  .name = "ane-sim",
  .caps = &af_cpu_caps, /* the ANE's, once it has its own: its regions run CPU kernels here */
  .available = af_ane_sim_available,
  .compile = af_ane_sim_compile,
  .bind = af_ane_sim_bind,
  .execute = af_ane_sim_execute,
  .release = af_ane_sim_release,
};
