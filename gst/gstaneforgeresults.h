/* gstaneforgeresults.h — (private) the memory behind GstAneforgeMeta.
 *
 * A frame's results (output tensors as fp32, top-k classes, detections,
 * latency) live in
 * one block laid out once per model. Blocks come from a pool owned by the
 * element: a block goes back to the pool when the last meta referring to it
 * is freed, so in steady state no result memory is allocated per frame.
 * Blocks keep their pool alive; the element drops its pool reference in
 * stop() and blocks still attached to buffers free themselves later. */
#ifndef GST_ANEFORGE_RESULTS_H
#define GST_ANEFORGE_RESULTS_H

#include "aneforge.h"
#include "gstaneforgemeta.h"

G_BEGIN_DECLS

typedef struct _GstAneforgeResultsPool GstAneforgeResultsPool;

/* A segmentation mask and keypoints, in storage sized once (the pool's
 * block, or the element's scratch). */
typedef struct {
  guint8 *mask; /* room for the pool's mask_bytes */
  gboolean has_mask;
  guint mask_w, mask_h, n_mask_classes;
  GstAneforgeKeypoint *keypoints; /* room for the pool's max_keypoints */
  guint n_keypoints;
  const guint8 *edges; /* static, 2 * n_edges */
  guint n_edges;
} GstAneforgeDense;

typedef struct _GstAneforgeResults GstAneforgeResults;
struct _GstAneforgeResults {
  /*< private to the pool >*/
  gint ref;
  GstAneforgeResultsPool *pool;
  GstAneforgeResults *next_idle; /* intrusive idle list: pooling allocates nothing */
  /*< filled by the element per frame, read through the meta >*/
  guint n_tensors;
  GstAneforgeTensor *tensors;         /* names, shapes fixed; data point into the block */
  gfloat *scratch;                    /* n_scratch floats for the element's own use */
  GstAneforgeClassification *classes; /* room for max_classes */
  guint n_classes;
  GstAneforgeDetection *detections; /* room for max_detections */
  guint n_detections;
  guint64 latency_ns;
  guint64 age_frames, age_ns;
  GstAneforgeDense dense;
};

/* A pool for @n_tensors outputs described by @infos (names copied),
 * @n_scratch scratch floats, up to @max_classes classes and
 * @max_detections detections. @keep (may be NULL; e.g. the element's
 * decoders, whose labels the classes and detections borrow) is referenced
 * and stays alive while any block lives. Returns (transfer full). */
GstAneforgeResultsPool *gst_aneforge_results_pool_new (guint n_tensors, const AfTensorInfo *infos,
                                                       gsize n_scratch, guint max_classes,
                                                       guint max_detections, GPtrArray *keep);
/* Drops the caller's reference; idle blocks are freed at once, blocks in use
 * when their meta goes. NULL-safe. */
void gst_aneforge_results_pool_release (GstAneforgeResultsPool *pool);

/* Reserves room in every block for a mask of @mask_bytes and
 * @max_keypoints keypoints; call before the first acquire. */
void gst_aneforge_results_pool_reserve_dense (GstAneforgeResultsPool *pool, gsize mask_bytes,
                                              guint max_keypoints);

/* Returns (transfer full) a block with refcount 1, reused when possible. */
GstAneforgeResults *gst_aneforge_results_acquire (GstAneforgeResultsPool *pool);
GstAneforgeResults *gst_aneforge_results_ref (GstAneforgeResults *r);
/* The last unref returns the block to its pool (or frees it). */
void gst_aneforge_results_unref (GstAneforgeResults *r);

/* Writable view of output @i's values. Borrowed. */
static inline gfloat *
gst_aneforge_results_data (GstAneforgeResults *r, guint i)
{
  return (gfloat *) r->tensors[i].data;
}

/* The meta's registration (in the plugin only; see gstaneforgemeta.h). */
#define GST_ANEFORGE_META_API_TYPE (gst_aneforge_meta_api_get_type ())
#define GST_ANEFORGE_META_INFO (gst_aneforge_meta_get_info ())
GType gst_aneforge_meta_api_get_type (void);
const GstMetaInfo *gst_aneforge_meta_get_info (void);

/* Attaches a GstAneforgeMeta showing @r (transfer full) to @buffer. */
GstAneforgeMeta *gst_aneforge_buffer_add_meta (GstBuffer *buffer, GstAneforgeResults *r);

G_END_DECLS

#endif /* GST_ANEFORGE_RESULTS_H */
