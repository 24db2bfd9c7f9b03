/* selfcheck.h — the accelerator self-check, private to libaneforge.
 *
 * A model compiled for a backend other than the CPU also gets a CPU twin:
 * the same graph, compiled with the same options on the CPU backend. The
 * first frame (and every N-th, AfCompileOptions.check_every) runs on both;
 * each output is compared, and when one differs beyond the bound the model
 * falls back: from then on every frame runs on the twin, whose outputs are
 * copied into the model's own output slots (the views callers hold stay
 * valid). Backend-neutral: it is exercised here with ane-sim (and its
 * fault-injection knob AF_ANE_SIM_PERTURB, sim.c), and guards the ANE on a
 * Mac.
 *
 * The bound, per output, on r = max|dev - cpu| / max|cpu|:
 *   r <= 8 D u,  u = 2^-11 (fp16's unit roundoff), D = the graph's op count.
 * tests/oracles/README.md derives |ours - exact| <= 4 D u max|exact| for an
 * fp16 pipeline whose ops each round once, D being the deepest path's
 * roundings; two such pipelines (the device's and the CPU's) then differ by
 * at most 8 D u, and the op count bounds every path's depth. It assumes the
 * device rounds each op's result once (wide accumulators): whether it does
 * is one of the things only a Mac can show (README §6.3); mac-verify.sh
 * records the measured differences. */
#ifndef AF_SELFCHECK_H
#define AF_SELFCHECK_H

#include "backend.h"

G_BEGIN_DECLS

typedef struct _AfSelfCheck AfSelfCheck;

/* Returns (transfer full) the self-check of a model compiled from @g with
 * @o on a backend other than the CPU: compiles the CPU twin. NULL with
 * @error set if the twin does not compile. @g is borrowed, as by af_compile. */
AfSelfCheck *af__selfcheck_new (AfGraph *g, const AfCompileOptions *o, GError **error);
/* NULL is a no-op. */
void af__selfcheck_free (AfSelfCheck *c);

/* Runs one frame of @m (whose self-check is @c): on the backend, and on the
 * twin when this frame is due a check (or only on the twin after a fall
 * back). FALSE with @error set when a program fails. Allocates nothing. */
gboolean af__selfcheck_execute (AfModel *m, AfSelfCheck *c, GError **error);

/* The check's state (borrowed strings). */
void af__selfcheck_status (const AfSelfCheck *c, AfCheckStatus *out);
/* The next frame is checked as a first frame; the every-N-th count starts
 * from it. */
void af__selfcheck_restart (AfSelfCheck *c);

/* The bound on max|dev - cpu| / max|cpu| for a graph of @n_ops ops. */
double af__selfcheck_bound (guint n_ops);

/* Compares @n fp16 values @got against @ref: returns the relative
 * difference max|got - ref| / max(max|ref|, 2^-14) and fills @max_diff and
 * @ref_max. A NaN on one side only (or an infinity that differs) counts as
 * an infinite difference. */
double af__selfcheck_compare (const guint16 *got, const guint16 *ref, gint64 n, double *max_diff,
                              double *ref_max);

G_END_DECLS

#endif /* AF_SELFCHECK_H */
