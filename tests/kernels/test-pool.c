/* test-pool.c — the thread pool runs every item of every job exactly once,
 * with that job's function and context, even when jobs follow each other as
 * fast as they can (workers waking late, stale state words), in chunks of
 * the grain or more (af_pool_parallel_for) or of one item
 * (af_pool_parallel_for_each). Run under ThreadSanitizer by tests/run.sh. */
#include "backends/cpu/pool.h"

#include <stdatomic.h>

#define MAX_ITEMS 97

typedef struct {
  guint32 tag; /* which job this context belongs to */
  atomic_int hits[MAX_ITEMS];
  atomic_int wrong_tag;
  atomic_int wide_chunks; /* chunks of more than one item */
} Job;

typedef struct {
  guint32 tag;
  Job *job;
} JobCtx;

static void
count_items (void *data, gint64 begin, gint64 end, int thread)
{
  JobCtx *c = data;
  (void) thread;
  if (c->job->tag != c->tag)
    atomic_fetch_add (&c->job->wrong_tag, 1);
  if (end - begin > 1)
    atomic_fetch_add (&c->job->wide_chunks, 1);
  for (gint64 i = begin; i < end; i++)
    atomic_fetch_add (&c->job->hits[i], 1);
}

/* a second function, so a chunk run with the wrong job's function shows */
static void
count_items_twice (void *data, gint64 begin, gint64 end, int thread)
{
  count_items (data, begin, end, thread);
  count_items (data, begin, end, thread);
}

/* Runs @n_jobs back-to-back jobs of varied sizes on a pool of @threads; each
 * job's context lives on this stack frame only while the job runs. */
static void
stress (int threads, int n_jobs)
{
  AfPool *p = af_pool_new (threads);
  g_assert_cmpint (af_pool_n_threads (p), ==, threads);
  static Job job; /* reused: a stale chunk from job k-1 lands in job k's counts */
  for (int k = 0; k < n_jobs; k++) {
    gint64 n = 2 + (k * 7919) % (MAX_ITEMS - 1);
    gboolean twice = k % 3 == 0, each = k % 4 == 1;
    for (int i = 0; i < MAX_ITEMS; i++)
      atomic_store (&job.hits[i], 0);
    atomic_store (&job.wide_chunks, 0);
    job.tag = (guint32) k;
    JobCtx ctx = { (guint32) k, &job };
    if (each)
      af_pool_parallel_for_each (p, n, twice ? count_items_twice : count_items, &ctx);
    else
      af_pool_parallel_for (p, n, 1, twice ? count_items_twice : count_items, &ctx);
    if (each)
      g_assert_cmpint (atomic_load (&job.wide_chunks), ==, 0);
    int expect = twice ? 2 : 1;
    for (gint64 i = 0; i < MAX_ITEMS; i++) {
      int h = atomic_load (&job.hits[i]);
      if (h != (i < n ? expect : 0))
        g_error ("threads %d job %d (n %" G_GINT64_FORMAT "): item %" G_GINT64_FORMAT
                 " ran %d times, expected %d",
                 threads, k, n, i, h, i < n ? expect : 0);
    }
    g_assert_cmpint (atomic_load (&job.wrong_tag), ==, 0);
  }
  af_pool_free (p);
}

static void
test_stress_2 (void)
{
  stress (2, 200000);
}

static void
test_stress_3 (void)
{
  stress (3, 50000); /* more threads than cores: workers preempted mid-job */
}

static void
test_inline (void)
{
  /* one thread, a NULL pool, and n below the grain all run inline */
  static Job job;
  JobCtx ctx = { 7, &job };
  job.tag = 7;
  AfPool *p = af_pool_new (1);
  af_pool_parallel_for (p, 5, 1, count_items, &ctx);
  af_pool_parallel_for (NULL, 5, 1, count_items, &ctx);
  AfPool *p2 = af_pool_new (2);
  af_pool_parallel_for (p2, 5, 8, count_items, &ctx);
  af_pool_parallel_for (p2, 0, 1, count_items, &ctx); /* nothing to do */
  af_pool_parallel_for_each (p, 5, count_items, &ctx);
  af_pool_parallel_for_each (NULL, 5, count_items, &ctx);
  af_pool_parallel_for_each (p2, 0, count_items, &ctx);
  for (int i = 0; i < 5; i++)
    g_assert_cmpint (atomic_load (&job.hits[i]), ==, 5);
  g_assert_cmpint (atomic_load (&job.hits[5]), ==, 0);
  af_pool_free (p);
  af_pool_free (p2);
  af_pool_free (NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pool/inline", test_inline);
  g_test_add_func ("/pool/stress-2-threads", test_stress_2);
  g_test_add_func ("/pool/stress-3-threads", test_stress_3);
  return g_test_run ();
}
