/* bigmem.h — zeroed allocations for the large, long-lived buffers of a
 * compiled model (packed weights, the activation arena). */
#ifndef AF_BIGMEM_H
#define AF_BIGMEM_H

#include <glib.h>

G_BEGIN_DECLS

/* Returns @bytes of zeroed memory aligned to at least 64 bytes; aborts on
 * out-of-memory like g_malloc. From AF_BIGMEM_HUGE bytes up it is 2 MiB
 * aligned and advised for transparent huge pages (Linux): a model's weight
 * stream then walks one TLB entry per 2 MiB instead of per 4 KiB.
 * Free with af_big_free (transfer full). */
gpointer af_big_alloc0 (gsize bytes);
void af_big_free (gpointer mem);

#define AF_BIGMEM_HUGE ((gsize) 1 << 20)

G_END_DECLS

#endif /* AF_BIGMEM_H */
