/* runtime.h — AfModel internals, private to libaneforge. */
#ifndef AF_RUNTIME_H
#define AF_RUNTIME_H

#include "backend.h"

typedef struct _AfSelfCheck AfSelfCheck;

G_BEGIN_DECLS

struct _AfModel {
  AfPlan *plan; /* owned */
  const AfBackend *backend;
  AfProgram *program;       /* owned: released by the backend */
  guint8 *arena;            /* owned, AF_ARENA_ALIGN-aligned */
  GArray *inputs;           /* AfTensorInfo */
  GArray *outputs;          /* AfTensorInfo */
  GPtrArray *input_nodes;   /* AfNode*, borrowed */
  GPtrArray *output_values; /* AfTensor*, borrowed */
  AfSelfCheck *check;       /* owned; NULL on the CPU backend (selfcheck.h) */
};

/* Takes @plan and @program (compiled by @backend for @plan): allocates
 * the arena and binds the program to it. Returns (transfer full) the model,
 * or NULL with @error set (@plan and @program freed). runtime.c */
AfModel *af__model_new (AfPlan *plan, const AfBackend *backend, AfProgram *program, GError **error);

/* af_compile on @backend (static, e.g. af_backend_lookup's) with options
 * @o as af_compile checks them. Returns (transfer full) or NULL with
 * @error set. compile.c */
AfModel *af__compile_on (AfGraph *g, const AfCompileOptions *o, const AfBackend *backend,
                         GError **error);

G_END_DECLS

#endif /* AF_RUNTIME_H */
