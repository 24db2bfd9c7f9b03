/* gstaneforgeworker.c — the live mode's inference thread and the latest
 * results (see gstaneforgeworker.h for the protocol). */
#include "gstaneforgeworker.h"

struct _GstAneforgeWorker {
  GMutex lock;
  GCond cond; /* signalled on submit, publish, idle and shutdown */
  GThread *thread;
  GstAneforgeWorkerFunc func;
  gpointer user_data;

  /* guarded by lock */
  gboolean shutdown;
  guint8 *stage[2]; /* staging copies of the image port */
  gint pending;     /* index of the pending stage, -1: none */
  gint in_use;      /* index the worker reads now, -1: none */
  GstAneforgeJob pending_job;
  guint epoch;
  GstAneforgeResults *latest; /* owned, NULL: none */
  GstAneforgeJob latest_job;
  gboolean latest_shown;
  GstAneforgeWorkerStats stats;
};

/* Called with the lock held: stores @r or hands back what the caller must
 * unref after unlocking (the replaced or the refused block). */
static GstAneforgeResults *
gst_aneforge_worker_publish_locked (GstAneforgeWorker *w, GstAneforgeResults *r,
                                    const GstAneforgeJob *job)
{
  if (job->epoch != w->epoch) {
    w->stats.stale++;
    return r;
  }
  GstAneforgeResults *old = w->latest;
  w->latest = r;
  w->latest_job = *job;
  w->latest_shown = FALSE;
  w->stats.inferred++;
  w->stats.worst_latency_ns = MAX (w->stats.worst_latency_ns, r->latency_ns);
  return old;
}

static gpointer
gst_aneforge_worker_loop (gpointer data)
{
  GstAneforgeWorker *w = data;
  g_mutex_lock (&w->lock);
  for (;;) {
    while (!w->shutdown && w->pending < 0)
      g_cond_wait (&w->cond, &w->lock);
    if (w->shutdown)
      break;
    GstAneforgeJob job = w->pending_job;
    w->in_use = w->pending;
    w->pending = -1;
    w->stats.pending = 0;
    w->stats.busy = TRUE;
    const guint8 *port = w->stage[w->in_use];
    g_mutex_unlock (&w->lock);

    GstAneforgeResults *r = w->func (port, &job, w->user_data);

    g_mutex_lock (&w->lock);
    GstAneforgeResults *drop = NULL;
    w->in_use = -1;
    w->stats.busy = FALSE;
    if (r)
      drop = gst_aneforge_worker_publish_locked (w, r, &job);
    else if (job.epoch == w->epoch)
      w->stats.failed = TRUE;
    g_cond_broadcast (&w->cond);
    if (drop) {
      g_mutex_unlock (&w->lock);
      gst_aneforge_results_unref (drop);
      g_mutex_lock (&w->lock);
    }
  }
  g_mutex_unlock (&w->lock);
  return NULL;
}

GstAneforgeWorker *
gst_aneforge_worker_new (gsize port_size, GstAneforgeWorkerFunc func, gpointer user_data,
                         GError **error)
{
  GstAneforgeWorker *w = g_new0 (GstAneforgeWorker, 1);
  g_mutex_init (&w->lock);
  g_cond_init (&w->cond);
  w->func = func;
  w->user_data = user_data;
  w->stage[0] = g_malloc0 (MAX (port_size, 1));
  w->stage[1] = g_malloc0 (MAX (port_size, 1));
  w->pending = w->in_use = -1;
  w->thread = g_thread_try_new ("aneforge-infer", gst_aneforge_worker_loop, w, error);
  if (!w->thread) {
    gst_aneforge_worker_free (w);
    return NULL;
  }
  return w;
}

void
gst_aneforge_worker_free (GstAneforgeWorker *w)
{
  if (!w)
    return;
  if (w->thread) {
    g_mutex_lock (&w->lock);
    w->shutdown = TRUE;
    g_cond_broadcast (&w->cond);
    g_mutex_unlock (&w->lock);
    g_thread_join (w->thread);
  }
  gst_aneforge_results_unref (w->latest);
  g_free (w->stage[0]);
  g_free (w->stage[1]);
  g_cond_clear (&w->cond);
  g_mutex_clear (&w->lock);
  g_free (w);
}

guint8 *
gst_aneforge_worker_stage (GstAneforgeWorker *w, GstAneforgeJob *job)
{
  g_mutex_lock (&w->lock);
  gint i;
  if (w->pending >= 0) {
    /* the newer frame replaces the waiting one, in its buffer */
    i = w->pending;
    w->pending = -1;
    w->stats.pending = 0;
    w->stats.skipped++;
  } else {
    i = w->in_use == 0 ? 1 : 0;
  }
  job->epoch = w->epoch;
  g_mutex_unlock (&w->lock);
  return w->stage[i];
}

void
gst_aneforge_worker_submit (GstAneforgeWorker *w, guint8 *stage, const GstAneforgeJob *job)
{
  g_mutex_lock (&w->lock);
  w->pending = stage == w->stage[0] ? 0 : 1;
  w->pending_job = *job;
  w->stats.submitted++;
  w->stats.pending = 1;
  w->stats.max_pending = MAX (w->stats.max_pending, w->stats.pending);
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->lock);
}

void
gst_aneforge_worker_stamp (GstAneforgeWorker *w, GstAneforgeJob *job)
{
  g_mutex_lock (&w->lock);
  job->epoch = w->epoch;
  g_mutex_unlock (&w->lock);
}

void
gst_aneforge_worker_publish (GstAneforgeWorker *w, GstAneforgeResults *r, const GstAneforgeJob *job)
{
  g_mutex_lock (&w->lock);
  GstAneforgeResults *drop = gst_aneforge_worker_publish_locked (w, r, job);
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->lock);
  gst_aneforge_results_unref (drop);
}

GstAneforgeResults *
gst_aneforge_worker_latest (GstAneforgeWorker *w, GstAneforgeJob *job)
{
  g_mutex_lock (&w->lock);
  GstAneforgeResults *r = w->latest ? gst_aneforge_results_ref (w->latest) : NULL;
  if (r) {
    *job = w->latest_job;
    w->latest_shown = TRUE;
  }
  g_mutex_unlock (&w->lock);
  return r;
}

GstAneforgeResults *
gst_aneforge_worker_take_unshown (GstAneforgeWorker *w, GstAneforgeJob *job)
{
  g_mutex_lock (&w->lock);
  GstAneforgeResults *r = NULL;
  if (w->latest && !w->latest_shown) {
    r = gst_aneforge_results_ref (w->latest);
    *job = w->latest_job;
    w->latest_shown = TRUE;
  }
  g_mutex_unlock (&w->lock);
  return r;
}

void
gst_aneforge_worker_reset (GstAneforgeWorker *w)
{
  g_mutex_lock (&w->lock);
  if (w->pending >= 0)
    w->stats.skipped++;
  w->pending = -1;
  w->stats.pending = 0;
  w->stats.failed = FALSE;
  w->epoch++;
  GstAneforgeResults *old = w->latest;
  w->latest = NULL;
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->lock);
  gst_aneforge_results_unref (old);
}

void
gst_aneforge_worker_drain (GstAneforgeWorker *w, gboolean run_pending)
{
  g_mutex_lock (&w->lock);
  if (!run_pending && w->pending >= 0) {
    w->pending = -1;
    w->stats.pending = 0;
    w->stats.skipped++;
  }
  while (!w->shutdown && (w->pending >= 0 || w->in_use >= 0))
    g_cond_wait (&w->cond, &w->lock);
  g_mutex_unlock (&w->lock);
}

gboolean
gst_aneforge_worker_failed (GstAneforgeWorker *w)
{
  g_mutex_lock (&w->lock);
  gboolean failed = w->stats.failed;
  g_mutex_unlock (&w->lock);
  return failed;
}

void
gst_aneforge_worker_get_stats (GstAneforgeWorker *w, GstAneforgeWorkerStats *stats)
{
  g_mutex_lock (&w->lock);
  *stats = w->stats;
  g_mutex_unlock (&w->lock);
}
