/* pool.c — a persistent thread pool. Workers spin briefly on a job counter
 * and then sleep on a condition variable, so back-to-back ops of one frame
 * wake them in microseconds while an idle pipeline costs no CPU. */
#include "pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AF_PAUSE() _mm_pause ()
#else
#define AF_PAUSE() ((void) 0)
#endif

#define AF_SPIN_ROUNDS 20000

struct _AfPool {
  int n_threads;
  GThread **threads;
  GMutex lock;
  GCond wake;
  gint generation; /* bumped for every job (atomic) */
  gint quit;
  /* the current job */
  AfTaskFn fn;
  void *ctx;
  gint64 n, chunk;
  gint next_chunk; /* atomic */
  gint n_chunks;
  gint busy; /* workers still in the job (atomic) */
};

typedef struct {
  AfPool *pool;
  int id;
} AfWorkerArg;

static void
af_pool_work (AfPool *p, int thread)
{
  for (;;) {
    gint c = g_atomic_int_add (&p->next_chunk, 1);
    if (c >= p->n_chunks)
      break;
    gint64 begin = (gint64) c * p->chunk, end = MIN (p->n, begin + p->chunk);
    p->fn (p->ctx, begin, end, thread);
  }
}

static gpointer
af_pool_worker (gpointer data)
{
  AfWorkerArg *arg = data;
  AfPool *p = arg->pool;
  int id = arg->id;
  g_free (arg);
  gint seen = 0;
  for (;;) {
    gint gen = 0;
    for (int spin = 0; spin < AF_SPIN_ROUNDS; spin++) {
      gen = g_atomic_int_get (&p->generation);
      if (gen != seen || g_atomic_int_get (&p->quit))
        break;
      AF_PAUSE ();
    }
    if (gen == seen && !g_atomic_int_get (&p->quit)) {
      g_mutex_lock (&p->lock);
      while ((gen = g_atomic_int_get (&p->generation)) == seen && !g_atomic_int_get (&p->quit))
        g_cond_wait (&p->wake, &p->lock);
      g_mutex_unlock (&p->lock);
    }
    if (g_atomic_int_get (&p->quit))
      return NULL;
    seen = gen;
    af_pool_work (p, id);
    g_atomic_int_add (&p->busy, -1);
  }
}

AfPool *
af_pool_new (int n_threads)
{
  if (n_threads <= 0)
    n_threads = (int) g_get_num_processors ();
  AfPool *p = g_new0 (AfPool, 1);
  p->n_threads = n_threads;
  g_mutex_init (&p->lock);
  g_cond_init (&p->wake);
  p->threads = g_new0 (GThread *, n_threads);
  for (int i = 1; i < n_threads; i++) {
    AfWorkerArg *arg = g_new (AfWorkerArg, 1);
    arg->pool = p;
    arg->id = i;
    p->threads[i] = g_thread_new ("af-worker", af_pool_worker, arg);
  }
  return p;
}

void
af_pool_free (AfPool *p)
{
  if (!p)
    return;
  g_mutex_lock (&p->lock);
  g_atomic_int_set (&p->quit, 1);
  g_cond_broadcast (&p->wake);
  g_mutex_unlock (&p->lock);
  for (int i = 1; i < p->n_threads; i++)
    g_thread_join (p->threads[i]);
  g_free (p->threads);
  g_mutex_clear (&p->lock);
  g_cond_clear (&p->wake);
  g_free (p);
}

int
af_pool_n_threads (const AfPool *p)
{
  return p ? p->n_threads : 1;
}

void
af_pool_parallel_for (AfPool *p, gint64 n, gint64 grain, AfTaskFn fn, void *ctx)
{
  if (n <= 0)
    return;
  grain = MAX (grain, 1);
  if (!p || p->n_threads == 1 || n <= grain) {
    fn (ctx, 0, n, 0);
    return;
  }
  /* about 4 chunks per thread for balance, never below the grain */
  gint64 chunk = MAX (grain, (n + p->n_threads * 4 - 1) / (p->n_threads * 4));
  p->fn = fn;
  p->ctx = ctx;
  p->n = n;
  p->chunk = chunk;
  p->n_chunks = (gint) ((n + chunk - 1) / chunk);
  g_atomic_int_set (&p->next_chunk, 0);
  g_atomic_int_set (&p->busy, p->n_threads - 1);
  g_mutex_lock (&p->lock);
  g_atomic_int_inc (&p->generation);
  g_cond_broadcast (&p->wake);
  g_mutex_unlock (&p->lock);
  af_pool_work (p, 0);
  while (g_atomic_int_get (&p->busy) > 0)
    AF_PAUSE ();
}
