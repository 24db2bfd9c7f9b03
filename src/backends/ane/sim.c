/* sim.c — "ane-sim", the ANE backend's stand-in on machines without one.
 *
 * It has the ANE backend's structure: the plan is partitioned with the
 * ANE's capabilities, every fused region becomes a program of its own and
 * every bridge stage a host program, bound to the one arena and run in
 * order per frame (on a Mac: one e5rt program per region, the bridge ops on
 * the host between them). Here CPU programs stand in for the regions, so
 * its outputs are the CPU backend's bit for bit, and a segmented plan runs
 * through the vtable the way the ANE backend's will (tests/core/test-backends.c). */
#include "backend.h"
#include "backends/cpu/cpu.h"

typedef struct {
  guint n;              /* programs: one per segment */
  AfProgram **programs; /* owned, by the CPU backend */
} AfAneSimProgram;

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
  p->programs = g_new0 (AfProgram *, MAX (opts->n_segments, 1));
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
