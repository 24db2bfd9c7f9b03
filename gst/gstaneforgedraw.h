/* gstaneforgedraw.h — (private) drawing inference results onto packed RGB
 * frames, for the aneforgeoverlay element.
 *
 * The drawer is configured once per caps (format, size, font scale): that is
 * when it allocates — a pango font map, and one A8 mask per printable ASCII
 * character rasterised with pango/cairo. Class labels are rasterised the
 * first time they are seen and cached by content. Drawing a frame then only
 * blends rectangles, discs and those cached masks straight into the frame's
 * memory: no allocation, no cairo or pango call per frame in the steady
 * state. */
#ifndef GST_ANEFORGE_DRAW_H
#define GST_ANEFORGE_DRAW_H

#include <gst/video/video.h>

#include "gstaneforgemeta.h"

G_BEGIN_DECLS

/* What to draw: the results of one frame, decoupled from the meta so that
 * tests can hand-fill it. All pointers are borrowed for the call. */
typedef struct {
  guint n_classes;
  const GstAneforgeClassification *classes;
  guint n_detections;
  const GstAneforgeDetection *detections;
  guint64 latency_ns;
  guint64 age_frames;
  guint64 age_ns;
  /* segmentation mask (NULL: none), stretched over the frame */
  const guint8 *mask;
  guint mask_width, mask_height;
  /* keypoints (frame pixels) and skeleton edges (2 * n_edges indices) */
  guint n_keypoints;
  const GstAneforgeKeypoint *keypoints;
  guint n_edges;
  const guint8 *edges;
} GstAneforgeDrawResults;

typedef enum {
  GST_ANEFORGE_DRAW_LABELS = 1 << 0,    /* top-k panel, box captions */
  GST_ANEFORGE_DRAW_BOXES = 1 << 1,     /* detection outlines, segmentation mask */
  GST_ANEFORGE_DRAW_LANDMARKS = 1 << 2, /* landmark dots, keypoints and skeleton */
  GST_ANEFORGE_DRAW_LATENCY = 1 << 3,   /* latency / age, top-right */
  GST_ANEFORGE_DRAW_ALL = 0xf,
} GstAneforgeDrawFlags;

/* A rasterised text: an A8 mask, one line high. */
typedef struct {
  guint8 *data; /* borrowed from surface */
  int stride, width, height;
  gpointer surface; /* cairo_surface_t, owned */
} GstAneforgeDrawText;

typedef struct {
  /* from configure(); read-only for callers */
  GstVideoFormat format;
  int width, height;
  double font_scale;
  int pstride;
  int off[4];  /* byte offsets of R, G, B, A in a pixel; A is -1 without alpha */
  int font_px; /* font size, pixels */
  int line_h;  /* text line height, pixels */
  int line_w;  /* box outline width */
  int pad;
  int dot_r; /* landmark radius */
  int bar_w; /* score bar length */
  int label_max_w;

  /*< private >*/
  gpointer fontmap, context, char_layout, label_layout; /* pango objects */
  GstAneforgeDrawText ascii[95];                        /* ' ' .. '~' */
  GHashTable *labels; /* label text -> GstAneforgeDrawText*, owned */
} GstAneforgeDraw;

/* Returns (transfer full) an unconfigured drawer. */
GstAneforgeDraw *gst_aneforge_draw_new (void);
/* Frees @d and everything it holds. NULL-safe. */
void gst_aneforge_draw_free (GstAneforgeDraw *d);

/* TRUE when @format is one the drawer writes (packed 8-bit RGB, 3 or 4
 * bytes per pixel). */
gboolean gst_aneforge_draw_format_supported (GstVideoFormat format);

/* Prepares @d for @format frames of @width x @height with text @font_scale
 * times the default size (height / 30). Rebuilds the fonts and text masks
 * only when the height or scale changed. FALSE for an unsupported format or
 * a size <= 0. */
gboolean gst_aneforge_draw_configure (GstAneforgeDraw *d, GstVideoFormat format, int width,
                                      int height, double font_scale);

/* Draws @r into the frame whose first row is at @data, rows @stride bytes
 * apart, following @flags. Everything is clipped to the frame. */
void gst_aneforge_draw_render (GstAneforgeDraw *d, guint8 *data, int stride,
                               const GstAneforgeDrawResults *r, GstAneforgeDrawFlags flags);

/* Fills @r from @meta (pointers borrowed from it). */
void gst_aneforge_draw_results_from_meta (GstAneforgeDrawResults *r, const GstAneforgeMeta *meta);

/* The opaque colour of boxes of class @class_index. */
void gst_aneforge_draw_box_colour (int class_index, guint8 rgb[3]);

/* Segmentation: class c >= 1 is drawn in the box colour of class c - 1
 * at this opacity (class 0, the background, is not drawn). */
#define GST_ANEFORGE_DRAW_MASK_ALPHA 112

/* The colour of the panel text (opaque white). */
#define GST_ANEFORGE_DRAW_TEXT_RGB 255, 255, 255

G_END_DECLS

#endif /* GST_ANEFORGE_DRAW_H */
