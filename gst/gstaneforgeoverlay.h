/* gstaneforgeoverlay.h — the aneforgeoverlay element: draws the results of
 * the aneforge element onto the video. */
#ifndef GST_ANEFORGE_OVERLAY_H
#define GST_ANEFORGE_OVERLAY_H

#include <gst/video/gstvideofilter.h>

#include "gstaneforgedraw.h"

G_BEGIN_DECLS

#define GST_TYPE_ANEFORGE_OVERLAY (gst_aneforge_overlay_get_type ())
G_DECLARE_FINAL_TYPE (GstAneforgeOverlay, gst_aneforge_overlay, GST, ANEFORGE_OVERLAY,
                      GstVideoFilter)

struct _GstAneforgeOverlay {
  GstVideoFilter parent;

  /* properties, guarded by the object lock */
  gboolean show_labels, show_boxes, show_landmarks, show_latency;
  gdouble font_scale;

  /* streaming thread: configured in set_info() */
  GstAneforgeDraw *draw; /* owned, from init to finalize */
};

GST_ELEMENT_REGISTER_DECLARE (aneforgeoverlay);

G_END_DECLS

#endif /* GST_ANEFORGE_OVERLAY_H */
