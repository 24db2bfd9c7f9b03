/* gstaneforgeresults.c — pooled result blocks behind GstAneforgeMeta. */
#include "gstaneforgeresults.h"

#include <string.h>

struct _GstAneforgeResultsPool {
  gint ref;
  GMutex lock;
  GstAneforgeResults *idle; /* guarded by lock */
  gboolean released;
  guint n_tensors;
  GstAneforgeTensor *layout; /* names owned here, data unset */
  gsize n_values, n_scratch;
  guint max_classes, max_detections;
  gsize mask_bytes;
  guint max_keypoints;
  GPtrArray *keep; /* referenced, may be NULL */
};

GstAneforgeResultsPool *
gst_aneforge_results_pool_new (guint n_tensors, const AfTensorInfo *infos, gsize n_scratch,
                               guint max_classes, guint max_detections, GPtrArray *keep)
{
  GstAneforgeResultsPool *pool = g_new0 (GstAneforgeResultsPool, 1);
  pool->ref = 1;
  g_mutex_init (&pool->lock);
  pool->n_tensors = n_tensors;
  pool->layout = g_new0 (GstAneforgeTensor, n_tensors);
  for (guint i = 0; i < n_tensors; i++) {
    GstAneforgeTensor *t = &pool->layout[i];
    t->name = g_strdup (infos[i].name);
    t->rank = MIN ((guint) infos[i].rank, G_N_ELEMENTS (t->shape));
    memcpy (t->shape, infos[i].shape, sizeof (gint64) * t->rank);
    t->n_elements = (gsize) af_shape_numel (infos[i].rank, infos[i].shape);
    pool->n_values += t->n_elements;
  }
  pool->n_scratch = n_scratch;
  pool->max_classes = max_classes;
  pool->max_detections = max_detections;
  pool->keep = keep ? g_ptr_array_ref (keep) : NULL;
  return pool;
}

void
gst_aneforge_results_pool_reserve_dense (GstAneforgeResultsPool *pool, gsize mask_bytes,
                                         guint max_keypoints)
{
  g_return_if_fail (pool);
  pool->mask_bytes = mask_bytes;
  pool->max_keypoints = max_keypoints;
}

static void
gst_aneforge_results_free_list (GstAneforgeResults *r)
{
  while (r) {
    GstAneforgeResults *next = r->next_idle;
    g_free (r);
    r = next;
  }
}

static void
gst_aneforge_results_pool_unref (GstAneforgeResultsPool *pool)
{
  if (!g_atomic_int_dec_and_test (&pool->ref))
    return;
  gst_aneforge_results_free_list (pool->idle);
  for (guint i = 0; i < pool->n_tensors; i++)
    g_free ((gchar *) pool->layout[i].name);
  g_free (pool->layout);
  g_clear_pointer (&pool->keep, g_ptr_array_unref);
  g_mutex_clear (&pool->lock);
  g_free (pool);
}

void
gst_aneforge_results_pool_release (GstAneforgeResultsPool *pool)
{
  if (!pool)
    return;
  g_mutex_lock (&pool->lock);
  pool->released = TRUE;
  GstAneforgeResults *idle = pool->idle;
  pool->idle = NULL;
  g_mutex_unlock (&pool->lock);
  gst_aneforge_results_free_list (idle);
  gst_aneforge_results_pool_unref (pool);
}

/* One allocation: header, tensors, classes, detections, values, scratch. */
static GstAneforgeResults *
gst_aneforge_results_new (GstAneforgeResultsPool *pool)
{
  gsize head = sizeof (GstAneforgeResults);
  gsize tensors = sizeof (GstAneforgeTensor) * pool->n_tensors;
  gsize classes = sizeof (GstAneforgeClassification) * pool->max_classes;
  gsize dets = sizeof (GstAneforgeDetection) * pool->max_detections;
  gsize floats = sizeof (gfloat) * (pool->n_values + pool->n_scratch);
  gsize kps = sizeof (GstAneforgeKeypoint) * pool->max_keypoints;
  guint8 *block = g_malloc0 (head + tensors + classes + dets + floats + kps + pool->mask_bytes);
  GstAneforgeResults *r = (GstAneforgeResults *) block;
  r->n_tensors = pool->n_tensors;
  r->tensors = (GstAneforgeTensor *) (block + head);
  r->classes = (GstAneforgeClassification *) (block + head + tensors);
  r->detections = (GstAneforgeDetection *) (block + head + tensors + classes);
  gfloat *values = (gfloat *) (block + head + tensors + classes + dets);
  memcpy (r->tensors, pool->layout, tensors);
  for (guint i = 0; i < pool->n_tensors; i++) {
    r->tensors[i].data = values;
    values += r->tensors[i].n_elements;
  }
  r->scratch = values;
  guint8 *dense = block + head + tensors + classes + dets + floats;
  r->dense.keypoints = pool->max_keypoints ? (GstAneforgeKeypoint *) dense : NULL;
  r->dense.mask = pool->mask_bytes ? dense + kps : NULL;
  return r;
}

GstAneforgeResults *
gst_aneforge_results_acquire (GstAneforgeResultsPool *pool)
{
  g_return_val_if_fail (pool, NULL);
  GstAneforgeResults *r = NULL;
  g_mutex_lock (&pool->lock);
  if (pool->idle) {
    r = pool->idle;
    pool->idle = r->next_idle;
    r->next_idle = NULL;
  }
  g_mutex_unlock (&pool->lock);
  if (!r)
    r = gst_aneforge_results_new (pool);
  g_atomic_int_inc (&pool->ref);
  r->pool = pool;
  r->ref = 1;
  r->n_classes = 0;
  r->n_detections = 0;
  r->dense.has_mask = FALSE;
  r->dense.n_keypoints = 0;
  r->latency_ns = 0;
  r->age_frames = 0;
  r->age_ns = 0;
  return r;
}

GstAneforgeResults *
gst_aneforge_results_ref (GstAneforgeResults *r)
{
  g_atomic_int_inc (&r->ref);
  return r;
}

void
gst_aneforge_results_unref (GstAneforgeResults *r)
{
  if (!r || !g_atomic_int_dec_and_test (&r->ref))
    return;
  GstAneforgeResultsPool *pool = r->pool;
  gboolean kept = FALSE;
  g_mutex_lock (&pool->lock);
  if (!pool->released) {
    r->next_idle = pool->idle;
    pool->idle = r;
    kept = TRUE;
  }
  g_mutex_unlock (&pool->lock);
  if (!kept)
    g_free (r);
  gst_aneforge_results_pool_unref (pool);
}
