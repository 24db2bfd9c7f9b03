/* gstaneforgemeta.c — GstAneforgeMeta: API type and info. The meta holds a
 * reference on a pooled result block (gstaneforgeresults.c). */
#include "gstaneforgemeta.h"
#include "gstaneforgeresults.h"

GType
gst_aneforge_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { NULL }; /* independent of the pixels' geometry */
  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register (GST_ANEFORGE_META_API_NAME, tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
gst_aneforge_meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstAneforgeMeta *m = (GstAneforgeMeta *) meta;
  m->n_tensors = 0;
  m->tensors = NULL;
  m->n_classes = 0;
  m->classes = NULL;
  m->latency_ns = 0;
  m->n_detections = 0;
  m->detections = NULL;
  m->age_frames = 0;
  m->age_ns = 0;
  m->mask_width = m->mask_height = m->n_mask_classes = 0;
  m->mask = NULL;
  m->n_keypoints = m->n_edges = 0;
  m->keypoints = NULL;
  m->edges = NULL;
  m->results = NULL;
  return TRUE;
}

static void
gst_aneforge_meta_free (GstMeta *meta, GstBuffer *buffer)
{
  GstAneforgeMeta *m = (GstAneforgeMeta *) meta;
  gst_aneforge_results_unref (m->results);
  m->results = NULL;
}

/* Copies (and any transform: the results do not depend on the pixels) share
 * the block. */
static gboolean
gst_aneforge_meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *buffer, GQuark type,
                             gpointer data)
{
  GstAneforgeMeta *m = (GstAneforgeMeta *) meta;
  if (!m->results)
    return TRUE;
  GstAneforgeMeta *copy =
      gst_aneforge_buffer_add_meta (dest, gst_aneforge_results_ref (m->results));
  if (!copy)
    return FALSE;
  copy->age_frames = m->age_frames; /* the age belongs to the frame, not the shared results */
  copy->age_ns = m->age_ns;
  return TRUE;
}

const GstMetaInfo *
gst_aneforge_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;
  if (g_once_init_enter ((GstMetaInfo **) &info)) {
    const GstMetaInfo *i = gst_meta_register (GST_ANEFORGE_META_API_TYPE, "GstAneforgeMeta",
                                              sizeof (GstAneforgeMeta), gst_aneforge_meta_init,
                                              gst_aneforge_meta_free, gst_aneforge_meta_transform);
    g_once_init_leave ((GstMetaInfo **) &info, (GstMetaInfo *) i);
  }
  return info;
}

GstAneforgeMeta *
gst_aneforge_buffer_add_meta (GstBuffer *buffer, GstAneforgeResults *r)
{
  GstAneforgeMeta *m =
      (GstAneforgeMeta *) gst_buffer_add_meta (buffer, GST_ANEFORGE_META_INFO, NULL);
  if (!m) {
    gst_aneforge_results_unref (r);
    return NULL;
  }
  m->results = r;
  m->n_tensors = r->n_tensors;
  m->tensors = r->tensors;
  m->n_classes = r->n_classes;
  m->classes = r->classes;
  m->latency_ns = r->latency_ns;
  m->n_detections = r->n_detections;
  m->detections = r->detections;
  m->age_frames = r->age_frames;
  m->age_ns = r->age_ns;
  m->mask_width = r->dense.mask_w;
  m->mask_height = r->dense.mask_h;
  m->n_mask_classes = r->dense.n_mask_classes;
  m->mask = r->dense.has_mask ? r->dense.mask : NULL;
  m->n_keypoints = r->dense.n_keypoints;
  m->keypoints = r->dense.n_keypoints ? r->dense.keypoints : NULL;
  m->n_edges = r->dense.n_edges;
  m->edges = r->dense.edges;
  return m;
}
