/* estimate.h — the measurement-free cost model over a partition given as
 * backend-neutral regions (estimate.c). The ANE backend supplies its
 * partition (backends/ane/estimate.c: af_graph_estimate); the model itself
 * knows no backend. */
#ifndef AF_ESTIMATE_H
#define AF_ESTIMATE_H

#include "graph.h"

G_BEGIN_DECLS

typedef struct {
  gboolean host;      /* a host step between programs, else a fused program */
  GPtrArray *nodes;   /* AfNode*, borrowed, in execution order */
  const char *reason; /* host only: why the graph is cut (borrowed, copied) */
} AfEstRegion;

/* Flops of @n: 2 x MACs for conv, matmul and linear, else 0 (the other ops
 * are memory- or floor-bound in the seed's model). */
double af__estimate_flops (const AfNode *n);
/* Bytes @n moves: (its inputs' elements, weights included, + its
 * output's) x 2, fp16. */
double af__estimate_bytes (const AfNode *n);

/* The estimate of @n_regions @regions on @t (copied). @warning (transfer
 * full, may be NULL) becomes the result's. Returns (transfer full). */
AfEstimate *af__estimate_regions (const AfEstRegion *regions, guint n_regions, const AfTarget *t,
                                  char *warning);

G_END_DECLS

#endif /* AF_ESTIMATE_H */
