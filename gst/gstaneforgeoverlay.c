/* gstaneforgeoverlay.c — the aneforgeoverlay element. */

/**
 * SECTION:element-aneforgeoverlay
 * @title: aneforgeoverlay
 *
 * Draws the #GstAneforgeMeta that the aneforge element attached to a frame
 * onto the frame itself, in place:
 *
 * - the top-k classes of a classifier, best first, each with its label, a
 *   score bar and the score, on a semi-transparent panel at the top-left
 *   (#GstAneforgeOverlay:show-labels);
 * - the detected objects as boxes in a per-class colour
 *   (#GstAneforgeOverlay:show-boxes), captioned with label and score
 *   (#GstAneforgeOverlay:show-labels);
 * - their landmarks (eyes, nose, mouth corners of face detectors) as dots
 *   (#GstAneforgeOverlay:show-landmarks);
 * - the model's latency and, when the results come from an earlier frame,
 *   their age, at the top-right (#GstAneforgeOverlay:show-latency).
 *
 * Sizes follow the frame height (text height / 30 times
 * #GstAneforgeOverlay:font-scale, at least 11 pixels; lines height / 300, at
 * least 2 pixels), so the overlay reads the same from 320x240 to 3840x2160.
 * Frames without the meta pass unchanged.
 *
 * The element writes packed 8-bit RGB (BGRx, BGRA, RGBx, RGBA, xRGB, ARGB,
 * xBGR, ABGR, RGB, BGR); put a videoconvert in front of it for YUV video.
 * Fonts and text are rasterised when the caps are set and labels when first
 * seen; drawing a frame allocates nothing.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc pattern=red ! aneforge model=models/tiny-classifier.json !
 * videoconvert ! aneforgeoverlay ! videoconvert ! autovideosink
 * ]|
 * Shows the tiny colour classifier's top-5 classes over the video.
 * |[
 * gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! aneforge
 * model=ultraface.json ! aneforgeoverlay font-scale=1.5 ! videoconvert ! autovideosink
 * ]|
 * Draws the faces a detector found, with larger text.
 */
#include "gstaneforgeoverlay.h"
#include "gstaneforgeresults.h"

GST_DEBUG_CATEGORY_STATIC (gst_aneforge_overlay_debug);
#define GST_CAT_DEFAULT gst_aneforge_overlay_debug

enum {
  PROP_0,
  PROP_SHOW_LABELS,
  PROP_SHOW_BOXES,
  PROP_SHOW_LANDMARKS,
  PROP_SHOW_LATENCY,
  PROP_FONT_SCALE,
};

#define DEFAULT_SHOW_LABELS TRUE
#define DEFAULT_SHOW_BOXES TRUE
#define DEFAULT_SHOW_LANDMARKS TRUE
#define DEFAULT_SHOW_LATENCY TRUE
#define DEFAULT_FONT_SCALE 1.0

#define OVERLAY_CAPS                                                                               \
  GST_VIDEO_CAPS_MAKE ("{ BGRx, BGRA, RGBx, RGBA, xRGB, ARGB, xBGR, ABGR, RGB, BGR }")

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (OVERLAY_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (OVERLAY_CAPS));

G_DEFINE_TYPE (GstAneforgeOverlay, gst_aneforge_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (aneforgeoverlay, "aneforgeoverlay", GST_RANK_NONE,
                             GST_TYPE_ANEFORGE_OVERLAY);

static void
gst_aneforge_overlay_set_property (GObject *object, guint prop_id, const GValue *value,
                                   GParamSpec *pspec)
{
  GstAneforgeOverlay *self = GST_ANEFORGE_OVERLAY (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
  case PROP_SHOW_LABELS:
    self->show_labels = g_value_get_boolean (value);
    break;
  case PROP_SHOW_BOXES:
    self->show_boxes = g_value_get_boolean (value);
    break;
  case PROP_SHOW_LANDMARKS:
    self->show_landmarks = g_value_get_boolean (value);
    break;
  case PROP_SHOW_LATENCY:
    self->show_latency = g_value_get_boolean (value);
    break;
  case PROP_FONT_SCALE:
    self->font_scale = g_value_get_double (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_aneforge_overlay_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstAneforgeOverlay *self = GST_ANEFORGE_OVERLAY (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
  case PROP_SHOW_LABELS:
    g_value_set_boolean (value, self->show_labels);
    break;
  case PROP_SHOW_BOXES:
    g_value_set_boolean (value, self->show_boxes);
    break;
  case PROP_SHOW_LANDMARKS:
    g_value_set_boolean (value, self->show_landmarks);
    break;
  case PROP_SHOW_LATENCY:
    g_value_set_boolean (value, self->show_latency);
    break;
  case PROP_FONT_SCALE:
    g_value_set_double (value, self->font_scale);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_aneforge_overlay_finalize (GObject *object)
{
  GstAneforgeOverlay *self = GST_ANEFORGE_OVERLAY (object);
  gst_aneforge_draw_free (self->draw);
  G_OBJECT_CLASS (gst_aneforge_overlay_parent_class)->finalize (object);
}

static gdouble
font_scale (GstAneforgeOverlay *self)
{
  GST_OBJECT_LOCK (self);
  gdouble s = self->font_scale;
  GST_OBJECT_UNLOCK (self);
  return s;
}

/* Fonts and text masks are (re)built here, once per caps. */
static gboolean
gst_aneforge_overlay_set_info (GstVideoFilter *filter, GstCaps *incaps, GstVideoInfo *in_info,
                               GstCaps *outcaps, GstVideoInfo *out_info)
{
  GstAneforgeOverlay *self = GST_ANEFORGE_OVERLAY (filter);
  if (!gst_aneforge_draw_configure (self->draw, GST_VIDEO_INFO_FORMAT (in_info),
                                    GST_VIDEO_INFO_WIDTH (in_info), GST_VIDEO_INFO_HEIGHT (in_info),
                                    font_scale (self))) {
    GST_ERROR_OBJECT (self, "cannot draw on %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  return TRUE;
}

static GstAneforgeDrawFlags
draw_flags (GstAneforgeOverlay *self)
{
  GST_OBJECT_LOCK (self);
  GstAneforgeDrawFlags f = (self->show_labels ? GST_ANEFORGE_DRAW_LABELS : 0) |
                           (self->show_boxes ? GST_ANEFORGE_DRAW_BOXES : 0) |
                           (self->show_landmarks ? GST_ANEFORGE_DRAW_LANDMARKS : 0) |
                           (self->show_latency ? GST_ANEFORGE_DRAW_LATENCY : 0);
  GST_OBJECT_UNLOCK (self);
  return f;
}

static GstFlowReturn
gst_aneforge_overlay_transform_frame_ip (GstVideoFilter *filter, GstVideoFrame *frame)
{
  GstAneforgeOverlay *self = GST_ANEFORGE_OVERLAY (filter);
  GstAneforgeMeta *meta =
      (GstAneforgeMeta *) gst_buffer_get_meta (frame->buffer, GST_ANEFORGE_META_API_TYPE);
  if (!meta)
    return GST_FLOW_OK;
  GstAneforgeDraw *d = self->draw;
  gdouble scale = font_scale (self);
  if (scale != d->font_scale) /* font-scale changed while playing: rebuild the fonts */
    gst_aneforge_draw_configure (d, d->format, d->width, d->height, scale);
  GstAneforgeDrawResults r;
  gst_aneforge_draw_results_from_meta (&r, meta);
  gst_aneforge_draw_render (d, GST_VIDEO_FRAME_PLANE_DATA (frame, 0),
                            GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0), &r, draw_flags (self));
  return GST_FLOW_OK;
}

static void
gst_aneforge_overlay_class_init (GstAneforgeOverlayClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_aneforge_overlay_debug, "aneforgeoverlay", 0,
                           "aneforge result overlay");

  gobject_class->set_property = gst_aneforge_overlay_set_property;
  gobject_class->get_property = gst_aneforge_overlay_get_property;
  gobject_class->finalize = gst_aneforge_overlay_finalize;

  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_CONTROLLABLE;
  g_object_class_install_property (
      gobject_class, PROP_SHOW_LABELS,
      g_param_spec_boolean ("show-labels", "Show labels",
                            "Draw the top-k classes panel and the detections' captions",
                            DEFAULT_SHOW_LABELS, flags));
  g_object_class_install_property (gobject_class, PROP_SHOW_BOXES,
                                   g_param_spec_boolean ("show-boxes", "Show boxes",
                                                         "Draw the detections' boxes",
                                                         DEFAULT_SHOW_BOXES, flags));
  g_object_class_install_property (gobject_class, PROP_SHOW_LANDMARKS,
                                   g_param_spec_boolean ("show-landmarks", "Show landmarks",
                                                         "Draw the detections' landmarks as dots",
                                                         DEFAULT_SHOW_LANDMARKS, flags));
  g_object_class_install_property (
      gobject_class, PROP_SHOW_LATENCY,
      g_param_spec_boolean ("show-latency", "Show latency",
                            "Draw the model's latency and the results' age (top-right)",
                            DEFAULT_SHOW_LATENCY, flags));
  g_object_class_install_property (
      gobject_class, PROP_FONT_SCALE,
      g_param_spec_double ("font-scale", "Font scale",
                           "Text size relative to the default (frame height / 30)", 0.1, 10.0,
                           DEFAULT_FONT_SCALE, flags));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "aneforge overlay", "Filter/Effect/Video",
                                         "Draws aneforge inference results onto the video",
                                         "aneforge developers");

  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_aneforge_overlay_set_info);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR (gst_aneforge_overlay_transform_frame_ip);
}

static void
gst_aneforge_overlay_init (GstAneforgeOverlay *self)
{
  self->show_labels = DEFAULT_SHOW_LABELS;
  self->show_boxes = DEFAULT_SHOW_BOXES;
  self->show_landmarks = DEFAULT_SHOW_LANDMARKS;
  self->show_latency = DEFAULT_SHOW_LATENCY;
  self->font_scale = DEFAULT_FONT_SCALE;
  self->draw = gst_aneforge_draw_new ();
}
