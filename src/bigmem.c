/* bigmem.c — see bigmem.h. Huge pages matter for weights read once per
 * frame from memory (resnet18's 47 MB of fp32 panels): with 4 KiB pages the
 * software prefetches of conv.c stall on page walks. Measured on resnet18,
 * one thread: -3.4 % latency (docs/performance.md). */
#include "bigmem.h"

#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#define AF_BIGMEM_ALIGN 64 /* >= AF_ARENA_ALIGN */
#define AF_HUGE_PAGE ((gsize) 2 << 20)

gpointer
af_big_alloc0 (gsize bytes)
{
  gboolean huge = bytes >= AF_BIGMEM_HUGE;
  void *mem = NULL;
  bytes = MAX (bytes, 1);
  int rc = posix_memalign (&mem, huge ? AF_HUGE_PAGE : AF_BIGMEM_ALIGN, bytes);
  if (rc != 0)
    g_error ("af_big_alloc0: failed to allocate %" G_GSIZE_FORMAT " bytes: %s", bytes,
             g_strerror (rc));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (huge) /* advice only: without THP the pages stay small */
    (void) madvise (mem, bytes, MADV_HUGEPAGE);
#endif
  memset (mem, 0, bytes);
  return mem;
}

void
af_big_free (gpointer mem)
{
  free (mem);
}
