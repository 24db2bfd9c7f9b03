/* workloads.h — the published figures of src/targets.def (AF_POINT) and
 * the graphs they were measured on, for tests/estimate and docs/estimate.md. */
#ifndef AF_TEST_WORKLOADS_H
#define AF_TEST_WORKLOADS_H

#include "aneforge.h"

typedef enum {
  AF_POINT_GEMM,
  AF_POINT_CONV,
  AF_POINT_ATTN,
  AF_POINT_RESNET18,
  AF_POINT_MINILM,
} AfPointKind;

typedef struct {
  const char *arch;
  AfPointKind kind;
  gint64 a, b, c, d;
  double published_us;
  const char *source;
} AfTestPoint;

extern const AfTestPoint af_test_points[];
extern const guint af_test_n_points;

/* The graph @p was measured on (transfer full), or NULL with @error. */
AfGraph *af_test_workload (const AfTestPoint *p, GError **error);

#endif
