/* runtime.h — AfModel internals, private to libaneforge. */
#ifndef AF_RUNTIME_H
#define AF_RUNTIME_H

#include "plan.h"

G_BEGIN_DECLS

struct _AfModel {
  AfPlan *plan; /* owned */
  const AfBackend *backend;
  gpointer program;         /* owned by the backend */
  guint8 *arena;            /* owned, AF_ARENA_ALIGN-aligned */
  GArray *inputs;           /* AfTensorInfo */
  GArray *outputs;          /* AfTensorInfo */
  GPtrArray *input_nodes;   /* AfNode*, borrowed */
  GPtrArray *output_values; /* AfTensor*, borrowed */
};

/* Takes @plan. Returns (transfer full) or NULL with @error set. */
AfModel *af__model_new (AfPlan *plan, const AfBackend *backend, int threads, GError **error);

/* Runs the passes over a copy of @g for a backend with @caps (borrowed,
 * static). @batch > 1 sets every input's leading dim 1 to @batch. Returns
 * (transfer full, af__plan_free) the plan or NULL with @error set. */
AfPlan *af__plan_build (AfGraph *g, int batch, const AfBackendCaps *caps, GError **error);
void af__plan_free (AfPlan *plan);

G_END_DECLS

#endif /* AF_RUNTIME_H */
