/* targets.h — the chip table (targets.def) inside the library: the rows
 * the estimate and its tests read beyond aneforge.h's AfTarget. Core:
 * backend-neutral data, no backend header. */
#ifndef AF_TARGETS_H
#define AF_TARGETS_H

#include "aneforge.h"

G_BEGIN_DECLS

/* One cost curve of targets.def with the projections ANCHORS.md §6.2
 * publishes for it (t_*), which the tests compare with AfTarget. */
typedef struct {
  const char *name;
  int cores;
  double fmax_mhz, eff_mhz;
  double t_project_peak, t_rel_m1, t_floor_us, t_bw_gbs, t_peak_tflops;
} AfCurveRow;

guint af__curve_count (void);
/* Curve @i, static, NULL past the end. */
const AfCurveRow *af__curve_row (guint i);

/* A program estimated at most this many floors is dispatch-floor-bound. */
double af__target_floor_bound_ratio (void);

G_END_DECLS

#endif /* AF_TARGETS_H */
