/* plan.h — what the compiler passes produce and the backends execute.
 *
 * af_compile copies the user's graph, then runs the named passes over the
 * copy (compile.c): verify -> fold-constants -> fuse -> partition ->
 * plan-memory. The result is an AfPlan: an ordered list of steps (one per
 * surviving op, with the elementwise ops fused into it as an epilogue),
 * grouped into segments (fused regions and bridge stages), and an arena
 * layout for every intermediate value.
 *
 * The plan knows no backend. What the passes may fuse is the target
 * backend's AfBackendCaps, a table the backend provides; the plan records
 * the result in backend-neutral terms (AfEpilogue), and each backend
 * translates it into its own kernels or programs. */
#ifndef AF_PLAN_H
#define AF_PLAN_H

#include "graph.h"

G_BEGIN_DECLS

/* ---------------------------------------------------------------- epilogues
 * Elementwise ops fused into a step (by the fuse pass), applied in order to
 * the value the step's op produced. Each is computed in fp32 on the
 * fp16-rounded value and rounded to fp16 again, so a fused chain computes
 * exactly what the separate ops would. */
#define AF_MAX_EPILOGUE 4
typedef struct {
  int n;
  AfOp op[AF_MAX_EPILOGUE]; /* one-input ops the backend lets join (AF_FUSE_JOIN), or ADD:
                             * x + the step's residual (at most one ADD) */
  float lo[AF_MAX_EPILOGUE], hi[AF_MAX_EPILOGUE]; /* CLIP's bounds, 0 for the others */
} AfEpilogue;

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

/* ---------------------------------------------------------------- capabilities
 * What a backend can fuse and hold in a fused region; the passes read it,
 * and nothing else of the backend. */

/* Per op (AfBackendCaps.fuse): */
typedef enum {
  AF_FUSE_JOIN = 1 << 0,     /* a one-input op that may join its producer's epilogue */
  AF_FUSE_RESIDUAL = 1 << 1, /* a step of this op may end with a residual ADD */
} AfFuseFlags;

typedef struct {
  /* ops one step's epilogue may hold, 0 .. AF_MAX_EPILOGUE (0: no fusion) */
  int max_epilogue;
  /* AF_OP_COUNT entries of AfFuseFlags bits (NULL: no fusion). Any FUSED
   * op's step takes the ops that may join. */
  const guint8 *fuse;
  /* Optional (NULL: every FUSED op's step): can a fused region of this
   * backend hold @step (its op and its epilogue)? If not, @why (static)
   * says why; the partition pass then cuts the region there and the step
   * runs on the host as a bridge stage. */
  gboolean (*region_accepts) (const AfStep *step, const char **why);
} AfBackendCaps;

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
  GString *log;              /* what each pass did, for af_model_describe */
  const AfBackendCaps *caps; /* borrowed (static): the target backend's, for the passes */
} AfPlan;

typedef gboolean (*AfPassFn) (AfPlan *plan, GError **error);

gboolean af__pass_verify (AfPlan *plan, GError **error);
gboolean af__pass_fold (AfPlan *plan, GError **error);
gboolean af__pass_fuse (AfPlan *plan, GError **error);
gboolean af__pass_partition (AfPlan *plan, GError **error);
gboolean af__pass_memory (AfPlan *plan, GError **error);

/* ---------------------------------------------------------------- plans */

/* Returns (transfer full, af__plan_free) an empty plan for a copy of @g's
 * structure (constants share their bytes), targeting a backend with @caps
 * (borrowed, static). plan.c */
AfPlan *af__plan_new (AfGraph *g, const AfBackendCaps *caps);
/* NULL is a no-op. */
void af__plan_free (AfPlan *plan);

/* Number of live nodes reading @t (computed at the start of fuse). */
guint af__plan_n_users (AfPlan *plan, const AfTensor *t);
gboolean af__plan_is_output (AfPlan *plan, const AfTensor *t);
/* Recounts plan->n_users over the live nodes. */
void af__plan_count_users (AfPlan *plan);

/* Runs the passes over a copy of @g for a backend with @caps (borrowed,
 * static). @batch > 1 sets every input's leading dim 1 to @batch. Returns
 * (transfer full, af__plan_free) the plan or NULL with @error set.
 * compile.c */
AfPlan *af__plan_build (AfGraph *g, int batch, const AfBackendCaps *caps, GError **error);

G_END_DECLS

#endif /* AF_PLAN_H */
