/* peak.h — private: the machine's fp32 FMA peak, measured, as the yardstick
 * of AF_PROFILE's "% peak" column. */
#ifndef AF_CPU_PEAK_H
#define AF_CPU_PEAK_H

#include "pool.h"

G_BEGIN_DECLS

/* The vector unit af__cpu_peak_gflops measured with: "zmm" (AVX-512F),
 * "ymm" (AVX2 + FMA), "neon" (AArch64) or "scalar" (the portable paths),
 * the widest the fast kernels use on this CPU now. Static string. */
const char *af__cpu_peak_unit (void);

/* Measures the fp32 FMA rate of every thread of @pool at once (NULL: one
 * thread) in GFLOP/s: 12 independent FMA chains of af__cpu_peak_unit's
 * width per thread, @mflop (AF_PEAK_MFLOP: ~10 ms at 100 GFLOP/s) per
 * thread a round, the best of 3 rounds (a noisy machine only ever slows a
 * round down). Allocates nothing. */
#define AF_PEAK_MFLOP 1000.0
double af__cpu_peak_gflops (AfPool *pool, double mflop);

G_END_DECLS

#endif /* AF_CPU_PEAK_H */
