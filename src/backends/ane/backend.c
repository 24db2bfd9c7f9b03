/* backend.c — "ane", the Apple Neural Engine backend's place in the
 * registry. Its compiler (MIL text and weight blob per fused region) and its
 * macOS runtime are not part of this build yet, so it reports itself
 * unavailable with a reason a user can act on; backend=ane then fails at
 * af_compile with AF_ERROR_UNSUPPORTED, and auto picks the CPU. */
#include "backend.h"
#include "backends/cpu/cpu.h"

static gboolean
af_ane_available (const char **why)
{
#if defined(__APPLE__) && defined(__aarch64__)
  *why = "this build of aneforge has no ANE runtime (use backend=cpu or auto)";
#else
  *why = "the ANE backend needs macOS on Apple silicon; this build runs on another platform "
         "(use backend=cpu or auto)";
#endif
  return FALSE;
}

/* Never compiled while unavailable: the program functions come with the
 * runtime. Its caps are the CPU's until it has its own (its host stages run
 * on the CPU kernels, so whatever it fuses must stay within them). */
const AfBackend af_backend_ane = {
  .name = "ane",
  .caps = &af_cpu_caps,
  .available = af_ane_available,
};
