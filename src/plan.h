/* plan.h — what the compiler passes produce and the backends execute.
 *
 * af_compile copies the user's graph, then runs the named passes over the
 * copy (compile.c): verify -> fold-constants -> fuse -> partition ->
 * plan-memory. The result is an AfPlan: an ordered list of steps (one per
 * surviving op, with the elementwise ops fused into it as an epilogue),
 * grouped into segments (fused regions and bridge stages), and an arena
 * layout for every intermediate value. */
#ifndef AF_PLAN_H
#define AF_PLAN_H

#include "graph.h"
#include "kernels.h"

G_BEGIN_DECLS

typedef struct {
  AfNode *node;       /* borrowed from plan->graph */
  AfEpilogue ep;      /* unary ops (and at most one residual ADD) fused into this step */
  AfTensor *residual; /* the ADD's other operand when ep holds ADD, else NULL */
  AfTensor *out;      /* the value this step writes: the last fused op's output */
  guint n_graph_ops;  /* graph ops this step stands for */
  guint segment;      /* index into plan->segments */
} AfStep;

typedef struct {
  guint first_step, n_steps;
  AfRoute route; /* FUSED region or BRIDGE stage */
} AfSegment;

#define AF_ARENA_ALIGN 64
#define AF_NO_SLOT G_MAXSIZE

typedef struct {
  AfGraph *graph;      /* owned: the compile-time copy */
  GPtrArray *order;    /* AfNode*, topological order of live nodes (borrowed) */
  gboolean *dead;      /* per node index: folded away or fused into a producer */
  GArray *steps;       /* AfStep */
  GArray *segments;    /* AfSegment */
  gsize *offset;       /* per value index: arena byte offset (fp16 data) or AF_NO_SLOT */
  gsize *port;         /* per value index: arena offset of an image port's uint8 staging
                        * buffer (IMAGE_INPUT values only) or AF_NO_SLOT */
  guint *n_users;      /* per value index: live nodes reading it (set by fuse) */
  gboolean *is_output; /* per value index */
  gsize arena_size;    /* bytes */
  guint n_graph_ops;   /* compute ops of the graph before folding (inputs excluded) */
  guint n_folded;
  GString *log;      /* what each pass did, for af_model_describe */
  gboolean winograd; /* AfCompileOptions.winograd: for the backend's conv kernels */
} AfPlan;

typedef gboolean (*AfPassFn) (AfPlan *plan, GError **error);

gboolean af__pass_verify (AfPlan *plan, GError **error);
gboolean af__pass_fold (AfPlan *plan, GError **error);
gboolean af__pass_fuse (AfPlan *plan, GError **error);
gboolean af__pass_partition (AfPlan *plan, GError **error);
gboolean af__pass_memory (AfPlan *plan, GError **error);

/* Number of live nodes reading @t (computed at the start of fuse). */
guint af__plan_n_users (AfPlan *plan, const AfTensor *t);
gboolean af__plan_is_output (AfPlan *plan, const AfTensor *t);
/* Recounts plan->n_users over the live nodes. */
void af__plan_count_users (AfPlan *plan);

/* ---------------------------------------------------------------- backends
 * A backend is a table of functions. compile() builds a program for the
 * whole plan (regions it supports, bridge stages on the host). */
typedef struct {
  const char *name;
  /* TRUE when this build and machine can run the backend; else @why says why */
  gboolean (*available) (const char **why);
  gpointer (*compile) (AfPlan *plan, int threads, guint8 *arena, GError **error);
  gboolean (*execute) (gpointer program, GError **error);
  void (*release) (gpointer program);
  /* Optional (NULL: one thread, run inline): the program's host threads. */
  int (*n_threads) (gpointer program);
  void (*parallel_for) (gpointer program, gint64 n, gint64 grain, AfRangeFunc func,
                        gpointer user_data);
} AfBackend;

extern const AfBackend af_backend_cpu;

G_END_DECLS

#endif /* AF_PLAN_H */
