/* cpu.h — what the rest of libaneforge uses of the CPU backend besides its
 * vtable (af_backend_cpu, backend.h). */
#ifndef AF_CPU_H
#define AF_CPU_H

#include "plan.h"

G_BEGIN_DECLS

/* What the CPU kernels can fuse. An accelerator backend whose host stages
 * (or, in ane-sim, whose regions) run on these kernels plans with caps that
 * stay within these. */
extern const AfBackendCaps af_cpu_caps;

G_END_DECLS

#endif /* AF_CPU_H */
