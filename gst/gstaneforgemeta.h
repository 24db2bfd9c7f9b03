/* gstaneforgemeta.h — the public result meta of the aneforge element. */
#ifndef GST_ANEFORGE_META_H
#define GST_ANEFORGE_META_H

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GstAneforgeTensor:
 * @name: the model output's name
 * @rank: number of dimensions
 * @shape: the dimensions, outermost first (as in the model file)
 * @n_elements: number of values in @data
 * @data: the values, widened from the model's fp16 to fp32, row-major
 *
 * One output tensor of the model for one frame. All pointers are borrowed
 * from the meta and valid as long as the meta (its buffer) is alive.
 */
typedef struct {
  const gchar *name;
  guint rank;
  gint64 shape[8];
  gsize n_elements;
  const gfloat *data;
} GstAneforgeTensor;

/**
 * GstAneforgeClassification:
 * @index: the class index in the classified output
 * @label: its label, or %NULL when no labels are known
 * @score: its score (a probability when the model's decode applies softmax)
 *
 * One of the top-k classes of a frame, best first.
 */
typedef struct {
  guint index;
  const gchar *label;
  gfloat score;
} GstAneforgeClassification;

/**
 * GstAneforgeDetection:
 * @x1: left edge, frame pixels
 * @y1: top edge, frame pixels
 * @x2: right edge, frame pixels
 * @y2: bottom edge, frame pixels
 * @score: detection score in [0, 1]
 * @class_index: class index (0 for single-class detectors such as face detectors)
 * @label: the class label, or %NULL
 * @n_landmarks: number of landmark points (0..6; BlazeFace gives 6, YuNet 5)
 * @landmarks: x, y pairs in frame pixels
 *
 * One detected object of a frame, after score threshold and NMS, best first.
 */
typedef struct {
  gfloat x1, y1, x2, y2;
  gfloat score;
  gint class_index;
  const gchar *label;
  guint n_landmarks;
  gfloat landmarks[12];
} GstAneforgeDetection;

/**
 * GstAneforgeMeta:
 * @meta: the parent #GstMeta
 * @n_tensors: number of output tensors
 * @tensors: (array length=n_tensors): the model's outputs for this frame
 * @n_classes: number of classifications (0 when the model has no
 *   classification decode and no labels were given)
 * @classes: (array length=n_classes): the top-k classes, best first
 * @latency_ns: time spent on this frame: mapping it into the model's image
 *   port and running the model, in nanoseconds
 * @n_detections: number of detections (0 without a detection decode)
 * @detections: (array length=n_detections): detected objects, best first
 * @age_frames: how many frames ago the results were computed (0: from this
 *   very frame; live mode may attach the latest results to newer frames)
 * @age_ns: the same age in stream time, nanoseconds
 *
 * Inference results attached by the aneforge element (output=meta) to the
 * frame they were computed from. The meta does not depend on the pixels'
 * geometry, so it survives videoconvert / videoscale.
 *
 * Reading it from an application (C):
 * |[<!-- language="C" -->
 *   GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (buffer);
 *   if (meta && meta->n_classes > 0)
 *     g_print ("%s %.3f\n", meta->classes[0].label, meta->classes[0].score);
 * ]|
 * Applications in other languages read the "aneforge" element messages that
 * the element posts on the bus for every frame instead.
 */
/**
 * GstAneforgeKeypoint:
 * @x: horizontal position, frame pixels
 * @y: vertical position, frame pixels
 * @score: the model's score (1 when it gives none)
 * @visible: @score reached the decoder's score threshold
 *
 * One point of a keypoints decode (hand or pose landmarks).
 */
typedef struct {
  gfloat x, y;
  gfloat score;
  gboolean visible;
} GstAneforgeKeypoint;

typedef struct {
  GstMeta meta;

  guint n_tensors;
  const GstAneforgeTensor *tensors;
  guint n_classes;
  const GstAneforgeClassification *classes;
  guint64 latency_ns;
  guint n_detections;
  const GstAneforgeDetection *detections;
  guint64 age_frames;
  guint64 age_ns;
  /* segmentation: the class of each cell, row by row, mask_width x
   * mask_height stretched over the whole frame (NULL: none) */
  guint mask_width, mask_height, n_mask_classes;
  const guint8 *mask;
  /* keypoints in frame pixels and the skeleton's edges (pairs of point
   * indices, 2 * n_edges entries) */
  guint n_keypoints;
  const GstAneforgeKeypoint *keypoints;
  guint n_edges;
  const guint8 *edges;

  /*< private >*/
  gpointer results;
} GstAneforgeMeta;

/**
 * GST_ANEFORGE_META_API_NAME:
 *
 * The name of the meta's API #GType, registered by the aneforge plugin when
 * it is loaded.
 */
#define GST_ANEFORGE_META_API_NAME "GstAneforgeMetaAPI"

/**
 * gst_aneforge_meta_api_type_lookup:
 *
 * Applications do not link the plugin: they include this header and find the
 * API type by name.
 *
 * Returns: the meta's API type, or 0 before the plugin is loaded.
 */
static inline GType
gst_aneforge_meta_api_type_lookup (void)
{
  return g_type_from_name (GST_ANEFORGE_META_API_NAME);
}

/**
 * gst_buffer_get_aneforge_meta:
 * @b: a #GstBuffer
 *
 * Returns: (transfer none) (nullable): the #GstAneforgeMeta of @b.
 */
#define gst_buffer_get_aneforge_meta(b)                                                            \
  ((GstAneforgeMeta *) gst_buffer_get_meta ((b), gst_aneforge_meta_api_type_lookup ()))

G_END_DECLS

#endif /* GST_ANEFORGE_META_H */
