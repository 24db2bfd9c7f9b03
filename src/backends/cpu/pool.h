/* pool.h — the CPU backend's persistent thread pool.
 *
 * Workers are created once (af_pool_new) and sleep between jobs; the calling
 * thread takes part in every job, so a pool of 1 thread runs inline. A job
 * allocates nothing. */
#ifndef AF_POOL_H
#define AF_POOL_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _AfPool AfPool;

/* Work item [begin, end) of a range, run by worker @thread (0..n_threads-1). */
typedef void (*AfTaskFn) (void *ctx, gint64 begin, gint64 end, int thread);

/* Returns (transfer full) a pool of @n_threads (0: one per core). */
AfPool *af_pool_new (int n_threads);
void af_pool_free (AfPool *p);
int af_pool_n_threads (const AfPool *p);

/* Splits [0, n) into chunks of at least @grain items and runs @fn over them
 * on every thread; returns when all are done. NULL @p runs inline. */
void af_pool_parallel_for (AfPool *p, gint64 n, gint64 grain, AfTaskFn fn, void *ctx);
/* The same with one item per chunk: for few, heavy items (a conv's pixel
 * tiles), where a chunk of several would leave one thread alone at the end. */
void af_pool_parallel_for_each (AfPool *p, gint64 n, AfTaskFn fn, void *ctx);

G_END_DECLS

#endif /* AF_POOL_H */
