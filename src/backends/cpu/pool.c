/* pool.c — a persistent thread pool.
 *
 * A job is split into chunks handed out through one 64-bit atomic word:
 * (job id << 32) | next chunk. Whoever is awake — the caller always, workers
 * when they get there — takes chunks with a compare-and-swap that also
 * checks the job id, so a worker that wakes late finds the job finished and
 * takes nothing, and the caller never waits for a sleeping worker: it only
 * waits for chunks somebody actually took. Workers spin briefly, then sleep
 * on a condition variable, so an idle pipeline costs no CPU.
 *
 * The job's fields are a seqlock guarded by the state word: before writing
 * the next job's fields the caller closes the state word (chunk = ~0), so a
 * worker that read fields of a job being written cannot win its swap on the
 * stale word it loaded. */
#include "pool.h"

#include <stdatomic.h>
#include <stdint.h>

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
  atomic_uint_fast64_t state; /* (job id << 32) | next chunk */
  atomic_uint job;            /* the current job id, for sleepers to watch */
  atomic_int quit;
  atomic_int done;     /* chunks of the current job finished */
  atomic_int sleepers; /* workers waiting on @wake */
  atomic_int started;  /* workers that reached their loop */
  /* the current job: written while the state word is closed, before its id
   * is published; read racily by workers and validated by their swap */
  _Atomic (AfTaskFn) fn;
  _Atomic (void *) ctx;
  _Atomic (gint64) n, chunk;
  atomic_uint n_chunks;
};

#define AF_STATE_CLOSED 0xffffffffu /* chunk index of a word no job can take */

typedef struct {
  AfPool *pool;
  int id;
} AfWorkerArg;

/* Takes and runs chunks of job @id until none is left. */
static void
af_pool_work (AfPool *p, guint32 id, int thread)
{
  for (;;) {
    uint_fast64_t s = atomic_load (&p->state);
    if ((guint32) (s >> 32) != id)
      return;
    guint32 c = (guint32) s;
    /* fields read after the state: they belong to job @id if the swap below
     * succeeds, because the job cannot finish before chunk c is done and the
     * next job closes the state word before writing them */
    if (c >= atomic_load_explicit (&p->n_chunks, memory_order_relaxed))
      return;
    AfTaskFn fn = atomic_load_explicit (&p->fn, memory_order_relaxed);
    void *ctx = atomic_load_explicit (&p->ctx, memory_order_relaxed);
    gint64 chunk = atomic_load_explicit (&p->chunk, memory_order_relaxed);
    gint64 begin = (gint64) c * chunk;
    gint64 end = MIN (atomic_load_explicit (&p->n, memory_order_relaxed), begin + chunk);
    atomic_thread_fence (memory_order_acquire);
    if (!atomic_compare_exchange_weak (&p->state, &s, s + 1))
      continue;
    fn (ctx, begin, end, thread);
    atomic_fetch_add (&p->done, 1);
  }
}

static gpointer
af_pool_worker (gpointer data)
{
  AfWorkerArg *arg = data;
  AfPool *p = arg->pool;
  int thread = arg->id;
  g_free (arg);
  atomic_fetch_add (&p->started, 1);
  guint seen = 0;
  for (;;) {
    guint job = atomic_load (&p->job);
    for (int spin = 0; spin < AF_SPIN_ROUNDS && job == seen && !atomic_load (&p->quit); spin++) {
      AF_PAUSE ();
      job = atomic_load (&p->job);
    }
    if (job == seen && !atomic_load (&p->quit)) {
      g_mutex_lock (&p->lock);
      atomic_fetch_add (&p->sleepers, 1); /* before re-reading the job: no lost wake-up */
      while ((job = atomic_load (&p->job)) == seen && !atomic_load (&p->quit))
        g_cond_wait (&p->wake, &p->lock);
      atomic_fetch_sub (&p->sleepers, 1);
      g_mutex_unlock (&p->lock);
    }
    if (atomic_load (&p->quit))
      return NULL;
    seen = job;
    af_pool_work (p, job, thread);
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
  atomic_init (&p->state, 0);
  atomic_init (&p->job, 0);
  atomic_init (&p->quit, 0);
  atomic_init (&p->done, 0);
  atomic_init (&p->sleepers, 0);
  atomic_init (&p->started, 0);
  p->threads = g_new0 (GThread *, n_threads);
  for (int i = 1; i < n_threads; i++) {
    AfWorkerArg *arg = g_new (AfWorkerArg, 1);
    arg->pool = p;
    arg->id = i;
    p->threads[i] = g_thread_new ("af-worker", af_pool_worker, arg);
  }
  /* wait until every worker runs: a thread's start-up allocates (GLib,
   * libc), which must not happen during a job on a loaded machine */
  while (atomic_load (&p->started) < n_threads - 1)
    g_usleep (50);
  return p;
}

void
af_pool_free (AfPool *p)
{
  if (!p)
    return;
  g_mutex_lock (&p->lock);
  atomic_store (&p->quit, 1);
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

/* Runs [0, n) in chunks of @chunk items on every thread (n > chunk). */
static void
af_pool_run (AfPool *p, gint64 n, gint64 chunk, AfTaskFn fn, void *ctx)
{
  guint32 id = atomic_load (&p->job) + 1;
  if (id == 0) /* 0 is "no job yet" for the workers */
    id = 1;
  /* close the previous job's word first: a worker still holding it must
   * fail its swap even if it saw some of the fields written below */
  atomic_store (&p->state, ((uint_fast64_t) (id - 1) << 32) | AF_STATE_CLOSED);
  atomic_thread_fence (memory_order_release);
  atomic_store_explicit (&p->fn, fn, memory_order_relaxed);
  atomic_store_explicit (&p->ctx, ctx, memory_order_relaxed);
  atomic_store_explicit (&p->n, n, memory_order_relaxed);
  atomic_store_explicit (&p->chunk, chunk, memory_order_relaxed);
  guint n_chunks = (guint) ((n + chunk - 1) / chunk);
  atomic_store_explicit (&p->n_chunks, n_chunks, memory_order_relaxed);
  atomic_store (&p->done, 0);
  atomic_store (&p->state, (uint_fast64_t) id << 32);
  atomic_store (&p->job, id);
  if (atomic_load (&p->sleepers) > 0) { /* a futex wake only when someone sleeps */
    g_mutex_lock (&p->lock);
    g_cond_broadcast (&p->wake);
    g_mutex_unlock (&p->lock);
  }
  af_pool_work (p, id, 0);
  while (atomic_load (&p->done) < (int) n_chunks)
    AF_PAUSE ();
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
  af_pool_run (p, n, MAX (grain, (n + p->n_threads * 4 - 1) / (p->n_threads * 4)), fn, ctx);
}

void
af_pool_parallel_for_each (AfPool *p, gint64 n, AfTaskFn fn, void *ctx)
{
  if (n <= 0)
    return;
  if (!p || p->n_threads == 1 || n == 1) {
    fn (ctx, 0, n, 0);
    return;
  }
  af_pool_run (p, n, 1, fn, ctx);
}
