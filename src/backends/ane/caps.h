/* caps.h — what the Apple Neural Engine takes (a per-op capability table
 * with per-family limits) and the partition of a graph into fused programs
 * and host steps cut at bridge ops and refused nodes.
 *
 * Reads only graph.h-level structures (AfGraph, AfNode, AfTensor, AfAttrs):
 * it is independent of the CPU plan. */
#ifndef AF_ANE_CAPS_H
#define AF_ANE_CAPS_H

#include "graph.h"

G_BEGIN_DECLS

/* The limits of one chip family (the sources are cited in caps.c). */
typedef struct {
  const char *family; /* "A13-A15 (h13-h15)" */
  int max_rank;       /* tensors of at most this rank */
  gint64 max_dim;     /* every dimension at most this */
  gint64 conv_kw_max; /* conv kernel width */
  gint64 pool_kernel_max, pool_stride_max;
  gint64 upsample_max; /* nearest-neighbour scale factor */
} AfAneLimits;

/* The limits the partition applies: the A13-A15 family, the strictest row
 * of every MIL-capable chip, so one export runs on all of them (static). */
const AfAneLimits *af_ane_limits_default (void);

/* TRUE when @n lowers into a fused program under @lim (NULL: the default).
 * Otherwise FALSE and *@reason (transfer full) names the op, the shape or
 * attribute and the rule, e.g. "max_pool kernel 15x15: pooling kernel > 13
 * (hollance/neural-engine unsupported-layers.md)". Graph inputs are
 * accepted (they become program ports). */
gboolean af_ane_caps_accepts (const AfNode *n, const AfAneLimits *lim, char **reason);

typedef enum {
  AF_ANE_SEGMENT_PROGRAM, /* a fused region: one MIL program per frame */
  AF_ANE_SEGMENT_HOST,    /* one node run on the host between programs */
} AfAneSegmentKind;

typedef struct {
  AfAneSegmentKind kind;
  GPtrArray *nodes;   /* AfNode*, borrowed, topological order; host: exactly one */
  GPtrArray *inputs;  /* AfTensor*, borrowed: non-constant values read from outside */
  GPtrArray *outputs; /* AfTensor*, borrowed: values read later or graph outputs */
  char *reason;       /* host only: why the graph is cut here (owned) */
} AfAneSegment;

typedef struct {
  AfGraph *graph;      /* borrowed */
  GPtrArray *segments; /* AfAneSegment*, owned, in execution order */
  guint n_programs, n_host;
} AfAnePartition;

/* Cuts @g (borrowed; must outlive the result) into segments: maximal fused
 * regions of accepted nodes, and host steps for bridge ops (ops.def route
 * BRIDGE) and refused nodes. Ready fused nodes are gathered greedily before
 * the next host step, so independent branches do not add cuts. Returns
 * (transfer full; free with af_ane_partition_free) or NULL with @error set
 * (AF_ERROR_UNSUPPORTED when a host step would read an image port's raw
 * pixels, or a graph output is not computed by any node). */
AfAnePartition *af_ane_partition (AfGraph *g, GError **error);

/* NULL is a no-op. */
void af_ane_partition_free (AfAnePartition *p);

/* The partition as text: one line per segment, each cut with its reason,
 * and the number of programs per frame (transfer full). */
char *af_ane_partition_describe (const AfAnePartition *p);

G_END_DECLS

#endif
