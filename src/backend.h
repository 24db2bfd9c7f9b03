/* backend.h — the one interface between the compiler core and a backend,
 * private to libaneforge.
 *
 * The core (graph, passes, plan) knows no backend: while planning it reads
 * the target backend's capabilities (AfBackendCaps, plan.h), then hands the
 * plan to the backend's functions below. A backend may include the core's
 * headers; the core includes no backend header (tests/lint/boundary.sh).
 *
 * A program's life (af_compile, then runtime.c):
 *   compile  once: lowers the plan's segments [first, first + n) to a
 *            program: packs weights, builds kernels or device programs,
 *            sizes scratch. No arena exists yet.
 *   bind     once, and again whenever the arena moves: points the program
 *            at the arena, where plan value i lives at plan->offset[i] (an
 *            image port's uint8 pixels at plan->port[i]).
 *   execute  per frame; allocates nothing.
 *   release  once: frees everything the program owns.
 *
 * An accelerator backend compiles one device program per fused region and
 * runs each bridge stage on the host between them, by compiling those
 * segments with the CPU backend and executing them in plan order; ane-sim
 * (backends/ane/sim.c) has exactly that structure, with CPU programs
 * standing in for the device's. */
#ifndef AF_BACKEND_H
#define AF_BACKEND_H

#include "plan.h"

G_BEGIN_DECLS

/* A backend's compiled program; each backend has its own struct behind it. */
typedef struct _AfProgram AfProgram;

typedef struct {
  guint first_segment, n_segments; /* the plan's segments the program runs */
  int threads;                     /* host threads, 0: one per core */
  gboolean winograd;               /* AfCompileOptions.winograd (the CPU's 3x3 convs) */
} AfBackendOptions;

typedef struct {
  const char *name;          /* "cpu", "ane", "ane-sim" */
  const AfBackendCaps *caps; /* what the passes may fuse for it (static) */

  /* TRUE when this build and machine can run the backend; else FALSE and
   * @why (static) says why, in words a user can act on. */
  gboolean (*available) (const char **why);

  /* Returns (transfer full: release it) the program for @opts's segments
   * of @plan, a plan built with this backend's caps. @plan is borrowed and
   * must outlive the program. NULL with @error set on failure. */
  AfProgram *(*compile) (const AfPlan *plan, const AfBackendOptions *opts, GError **error);
  /* Points @program at @arena (plan->arena_size bytes, AF_ARENA_ALIGN
   * aligned; borrowed: must outlive the program or the next bind). */
  gboolean (*bind) (AfProgram *program, guint8 *arena, GError **error);
  /* Runs the program once over the bound arena. */
  gboolean (*execute) (AfProgram *program, GError **error);
  /* Frees @program (NULL is a no-op). */
  void (*release) (AfProgram *program);

  /* Optional (NULL: one thread, run inline): the program's host threads,
   * which af_model_parallel_for lends to the caller. */
  int (*n_threads) (AfProgram *program);
  void (*parallel_for) (AfProgram *program, gint64 n, gint64 grain, AfRangeFunc func,
                        gpointer user_data);
} AfBackend;

/* The backends this library knows (backend.c registers them). */
extern const AfBackend af_backend_cpu;     /* backends/cpu/executor.c */
extern const AfBackend af_backend_ane;     /* backends/ane/backend.c */
extern const AfBackend af_backend_ane_sim; /* backends/ane/sim.c */

/* Returns (static) the backend named @name when this build and machine can
 * run it; else NULL with @error: AF_ERROR_UNSUPPORTED saying why it is not
 * available, or AF_ERROR_INVALID for a name no backend has. */
const AfBackend *af_backend_lookup (const char *name, GError **error);
/* Returns (static) the backend AF_BACKEND_AUTO means on this machine: the
 * first available of "ane", "cpu". */
const AfBackend *af_backend_auto (void);

G_END_DECLS

#endif /* AF_BACKEND_H */
