/* fuzz-stubs.c — stands in for the CPU backend in the fuzzers, which link
 * only the loader's part of the library: fp16.c asks whether to use SIMD. */
#include <glib.h>

gboolean af__cpu_use_simd (void);

gboolean
af__cpu_use_simd (void)
{
  return FALSE;
}
