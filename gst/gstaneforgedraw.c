/* gstaneforgedraw.c — drawing inference results onto packed RGB frames.
 *
 * Text is rasterised by pango/cairo into A8 masks when the drawer is
 * configured (printable ASCII, one mask per character, for numbers) or the
 * first time a class label is seen (cached by content, with pango's shaping
 * and ellipsis). Per frame everything is blended straight into the frame:
 * rectangles, anti-aliased discs and those masks. */
#include "gstaneforgedraw.h"

#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

#define FONT_FAMILY "Sans Bold"
#define MIN_FONT_PX 11
#define MAX_LABELS 1024 /* label cache entries before it is flushed */
#define PANEL_ALPHA 160
#define TRACK_ALPHA 70
#define BAR_ALPHA 235

static const guint8 TEXT_RGB[3] = { GST_ANEFORGE_DRAW_TEXT_RGB };
static const guint8 PANEL_RGB[3] = { 0, 0, 0 };
static const guint8 BAR_RGB[3] = { 80, 200, 255 };
static const guint8 CAPTION_TEXT_RGB[3] = { 0, 0, 0 };

/* Bright colours (black captions stay readable on them), per class. */
static const guint8 BOX_RGB[][3] = {
  { 0, 255, 64 },  { 255, 200, 0 },  { 0, 200, 255 },   { 255, 96, 208 },
  { 160, 255, 0 }, { 255, 128, 64 }, { 176, 144, 255 }, { 0, 255, 208 },
};
/* Landmarks of 5-point face detectors: eyes, nose, mouth corners. */
static const guint8 LANDMARK_RGB[][3] = {
  { 255, 64, 64 }, { 64, 96, 255 }, { 255, 255, 0 },
  { 255, 0, 255 }, { 0, 255, 255 }, { 255, 160, 0 },
};

/* Keypoints and the skeleton's edges. */
static const guint8 KEYPOINT_RGB[3] = { 255, 64, 64 };
static const guint8 SKELETON_RGB[3] = { 255, 255, 255 };

void
gst_aneforge_draw_box_colour (int class_index, guint8 rgb[3])
{
  guint n = G_N_ELEMENTS (BOX_RGB);
  guint i = class_index < 0 ? 0 : (guint) class_index % n;
  memcpy (rgb, BOX_RGB[i], 3);
}

/* ---- pixels ------------------------------------------------------------ */

/* Where to draw: the frame plus a clip rectangle [x0, x1) x [y0, y1). */
typedef struct {
  const GstAneforgeDraw *d;
  guint8 *data;
  int stride;
  int x0, y0, x1, y1;
} Canvas;

static inline guint8
mix (guint8 dst, guint8 src, guint a)
{
  return (guint8) ((src * a + dst * (255 - a) + 127) / 255);
}

static inline void
blend_pixel (const Canvas *c, guint8 *p, const guint8 rgb[3], guint a)
{
  const int *off = c->d->off;
  p[off[0]] = mix (p[off[0]], rgb[0], a);
  p[off[1]] = mix (p[off[1]], rgb[1], a);
  p[off[2]] = mix (p[off[2]], rgb[2], a);
  if (off[3] >= 0)
    p[off[3]] = (guint8) (a + (p[off[3]] * (255 - a) + 127) / 255);
}

/* Clips [*x0, *x1) x [*y0, *y1) to the canvas; FALSE when empty. */
static gboolean
clip (const Canvas *c, int *x0, int *y0, int *x1, int *y1)
{
  *x0 = MAX (*x0, c->x0);
  *y0 = MAX (*y0, c->y0);
  *x1 = MIN (*x1, c->x1);
  *y1 = MIN (*y1, c->y1);
  return *x0 < *x1 && *y0 < *y1;
}

static void
fill_rect (const Canvas *c, int x0, int y0, int x1, int y1, const guint8 rgb[3], guint a)
{
  if (a == 0 || !clip (c, &x0, &y0, &x1, &y1))
    return;
  int ps = c->d->pstride;
  for (int y = y0; y < y1; y++) {
    guint8 *p = c->data + (gsize) y * c->stride + (gsize) x0 * ps;
    for (int x = x0; x < x1; x++, p += ps)
      blend_pixel (c, p, rgb, a);
  }
}

/* An outline of width @w centred on the rectangle's edges. */
static void
stroke_rect (const Canvas *c, int x0, int y0, int x1, int y1, int w, const guint8 rgb[3])
{
  int o = w / 2;
  fill_rect (c, x0 - o, y0 - o, x1 - o + w, y0 - o + w, rgb, 255); /* top */
  fill_rect (c, x0 - o, y1 - o, x1 - o + w, y1 - o + w, rgb, 255); /* bottom */
  fill_rect (c, x0 - o, y0 - o + w, x0 - o + w, y1 - o, rgb, 255); /* left */
  fill_rect (c, x1 - o, y0 - o + w, x1 - o + w, y1 - o, rgb, 255); /* right */
}

/* An anti-aliased disc of radius @r around (@cx, @cy). */
static void
fill_disc (const Canvas *c, float cx, float cy, float r, const guint8 rgb[3])
{
  int x0 = (int) floorf (cx - r - 1), x1 = (int) ceilf (cx + r + 1);
  int y0 = (int) floorf (cy - r - 1), y1 = (int) ceilf (cy + r + 1);
  if (!clip (c, &x0, &y0, &x1, &y1))
    return;
  int ps = c->d->pstride;
  for (int y = y0; y < y1; y++) {
    guint8 *p = c->data + (gsize) y * c->stride + (gsize) x0 * ps;
    for (int x = x0; x < x1; x++, p += ps) {
      float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
      float cover = r + 0.5f - sqrtf (dx * dx + dy * dy);
      if (cover > 0)
        blend_pixel (c, p, rgb, cover >= 1 ? 255 : (guint) (cover * 255));
    }
  }
}

/* Blends @rgb through mask @t with its top-left at (@x, @y). */
static void
fill_mask (const Canvas *c, const GstAneforgeDrawText *t, int x, int y, const guint8 rgb[3])
{
  int x0 = x, y0 = y, x1 = x + t->width, y1 = y + t->height;
  if (!t->data || !clip (c, &x0, &y0, &x1, &y1))
    return;
  int ps = c->d->pstride;
  for (int yy = y0; yy < y1; yy++) {
    const guint8 *m = t->data + (gsize) (yy - y) * t->stride + (x0 - x);
    guint8 *p = c->data + (gsize) yy * c->stride + (gsize) x0 * ps;
    for (int xx = x0; xx < x1; xx++, p += ps, m++)
      if (*m)
        blend_pixel (c, p, rgb, *m);
  }
}

/* Frame coordinates as ints, tolerating NaN and huge values. */
static int
px (float v)
{
  if (!(v > -1e6f))
    return -1000000;
  if (v > 1e6f)
    return 1000000;
  return (int) floorf (v + 0.5f);
}

/* ---- text -------------------------------------------------------------- */

static void
text_clear (GstAneforgeDrawText *t)
{
  if (t->surface)
    cairo_surface_destroy (t->surface);
  memset (t, 0, sizeof (*t));
}

static void
text_free (gpointer p)
{
  text_clear (p);
  g_free (p);
}

/* Rasterises @layout's current text into @t (allocates). */
static void
text_render (PangoLayout *layout, GstAneforgeDrawText *t)
{
  PangoRectangle logical;
  pango_layout_get_pixel_extents (layout, NULL, &logical);
  cairo_surface_t *s =
      cairo_image_surface_create (CAIRO_FORMAT_A8, MAX (1, logical.width), MAX (1, logical.height));
  cairo_t *cr = cairo_create (s);
  cairo_move_to (cr, -logical.x, -logical.y);
  pango_cairo_show_layout (cr, layout);
  cairo_destroy (cr);
  cairo_surface_flush (s);
  t->surface = s;
  t->width = logical.width;
  t->height = logical.height;
  if (cairo_surface_status (s) == CAIRO_STATUS_SUCCESS) {
    t->data = cairo_image_surface_get_data (s);
    t->stride = cairo_image_surface_get_stride (s);
  }
}

/* The cached mask of @label, rasterised on first use. Borrowed. */
static const GstAneforgeDrawText *
label_text (GstAneforgeDraw *d, const char *label)
{
  GstAneforgeDrawText *t = g_hash_table_lookup (d->labels, label);
  if (t)
    return t;
  if (g_hash_table_size (d->labels) >= MAX_LABELS)
    g_hash_table_remove_all (d->labels);
  t = g_new0 (GstAneforgeDrawText, 1);
  pango_layout_set_text (d->label_layout, label, -1);
  text_render (d->label_layout, t);
  g_hash_table_insert (d->labels, g_strdup (label), t);
  return t;
}

static const GstAneforgeDrawText *
ascii_text (const GstAneforgeDraw *d, char ch)
{
  guchar u = (guchar) ch;
  return &d->ascii[(u >= ' ' && u <= '~' ? u : '?') - ' '];
}

static int
ascii_width (const GstAneforgeDraw *d, const char *s)
{
  int w = 0;
  for (; *s; s++)
    w += ascii_text (d, *s)->width;
  return w;
}

/* Draws @s (ASCII; others shown as '?') at (@x, @y); returns its width. */
static int
draw_ascii (const Canvas *c, int x, int y, const char *s, const guint8 rgb[3])
{
  int x0 = x;
  for (; *s; s++) {
    const GstAneforgeDrawText *t = ascii_text (c->d, *s);
    fill_mask (c, t, x, y, rgb);
    x += t->width;
  }
  return x - x0;
}

static void
fonts_clear (GstAneforgeDraw *d)
{
  for (guint i = 0; i < G_N_ELEMENTS (d->ascii); i++)
    text_clear (&d->ascii[i]);
  if (d->labels)
    g_hash_table_remove_all (d->labels);
  g_clear_object ((PangoLayout **) &d->char_layout);
  g_clear_object ((PangoLayout **) &d->label_layout);
  g_clear_object ((PangoContext **) &d->context);
}

/* Sizes from the frame height and scale, the font, the ASCII masks. */
static void
fonts_build (GstAneforgeDraw *d)
{
  fonts_clear (d);
  double scale = d->font_scale > 0 ? d->font_scale : 1.0;
  d->font_px = MAX (MIN_FONT_PX, (int) lround (d->height / 30.0 * scale));
  d->line_w = MAX (2, (int) lround (d->height / 300.0));
  d->pad = MAX (2, d->font_px / 4);
  d->dot_r = MAX (3, d->line_w * 2);
  d->bar_w = 4 * d->font_px;
  d->label_max_w = MAX (4 * d->font_px, MIN (d->width / 2, 14 * d->font_px));

  if (!d->fontmap)
    d->fontmap = pango_cairo_font_map_new ();
  d->context = pango_font_map_create_context (d->fontmap);
  cairo_font_options_t *fo = cairo_font_options_create ();
  cairo_font_options_set_antialias (fo, CAIRO_ANTIALIAS_GRAY);
  cairo_font_options_set_hint_style (fo, CAIRO_HINT_STYLE_SLIGHT);
  pango_cairo_context_set_font_options (d->context, fo);
  cairo_font_options_destroy (fo);
  PangoFontDescription *fd = pango_font_description_from_string (FONT_FAMILY);
  pango_font_description_set_absolute_size (fd, d->font_px * PANGO_SCALE);
  pango_context_set_font_description (d->context, fd);
  pango_font_description_free (fd);

  d->char_layout = pango_layout_new (d->context);
  d->label_layout = pango_layout_new (d->context);
  pango_layout_set_single_paragraph_mode (d->label_layout, TRUE);
  pango_layout_set_ellipsize (d->label_layout, PANGO_ELLIPSIZE_END);
  pango_layout_set_width (d->label_layout, d->label_max_w * PANGO_SCALE);

  for (guint i = 0; i < G_N_ELEMENTS (d->ascii); i++) {
    char ch = (char) (' ' + i);
    pango_layout_set_text (d->char_layout, &ch, 1);
    text_render (d->char_layout, &d->ascii[i]);
  }
  PangoRectangle logical;
  pango_layout_set_text (d->char_layout, "Ag", 2);
  pango_layout_get_pixel_extents (d->char_layout, NULL, &logical);
  d->line_h = MAX (1, logical.height);
}

/* ---- the drawer -------------------------------------------------------- */

GstAneforgeDraw *
gst_aneforge_draw_new (void)
{
  GstAneforgeDraw *d = g_new0 (GstAneforgeDraw, 1);
  d->format = GST_VIDEO_FORMAT_UNKNOWN;
  d->labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, text_free);
  return d;
}

void
gst_aneforge_draw_free (GstAneforgeDraw *d)
{
  if (!d)
    return;
  fonts_clear (d);
  g_hash_table_unref (d->labels);
  g_clear_object ((PangoFontMap **) &d->fontmap);
  g_free (d);
}

gboolean
gst_aneforge_draw_format_supported (GstVideoFormat format)
{
  switch (format) {
  case GST_VIDEO_FORMAT_BGRx:
  case GST_VIDEO_FORMAT_BGRA:
  case GST_VIDEO_FORMAT_RGBx:
  case GST_VIDEO_FORMAT_RGBA:
  case GST_VIDEO_FORMAT_xRGB:
  case GST_VIDEO_FORMAT_ARGB:
  case GST_VIDEO_FORMAT_xBGR:
  case GST_VIDEO_FORMAT_ABGR:
  case GST_VIDEO_FORMAT_RGB:
  case GST_VIDEO_FORMAT_BGR:
    return TRUE;
  default:
    return FALSE;
  }
}

gboolean
gst_aneforge_draw_configure (GstAneforgeDraw *d, GstVideoFormat format, int width, int height,
                             double font_scale)
{
  if (!gst_aneforge_draw_format_supported (format) || width <= 0 || height <= 0)
    return FALSE;
  const GstVideoFormatInfo *fi = gst_video_format_get_info (format);
  d->pstride = GST_VIDEO_FORMAT_INFO_PSTRIDE (fi, 0);
  for (int c = 0; c < 3; c++)
    d->off[c] = GST_VIDEO_FORMAT_INFO_POFFSET (fi, c);
  d->off[3] = -1;
  if (GST_VIDEO_FORMAT_INFO_HAS_ALPHA (fi))
    d->off[3] = GST_VIDEO_FORMAT_INFO_POFFSET (fi, 3);
  gboolean rebuild =
      !d->char_layout || width != d->width || height != d->height || font_scale != d->font_scale;
  d->format = format;
  d->width = width;
  d->height = height;
  d->font_scale = font_scale;
  if (rebuild)
    fonts_build (d);
  return TRUE;
}

void
gst_aneforge_draw_results_from_meta (GstAneforgeDrawResults *r, const GstAneforgeMeta *meta)
{
  r->n_classes = meta->classes ? meta->n_classes : 0;
  r->classes = meta->classes;
  r->n_detections = meta->detections ? meta->n_detections : 0;
  r->detections = meta->detections;
  r->latency_ns = meta->latency_ns;
  r->age_frames = meta->age_frames;
  r->age_ns = meta->age_ns;
  r->mask = meta->mask_width > 0 && meta->mask_height > 0 ? meta->mask : NULL;
  r->mask_width = meta->mask_width;
  r->mask_height = meta->mask_height;
  r->n_keypoints = meta->keypoints ? meta->n_keypoints : 0;
  r->keypoints = meta->keypoints;
  r->n_edges = meta->edges ? meta->n_edges : 0;
  r->edges = meta->edges;
}

/* The mask as a translucent colour map: frame pixel (x, y) shows mask cell
 * (x * mask_w / w, y * mask_h / h) (nearest, stretched over the frame). */
static void
draw_mask (GstAneforgeDraw *d, const Canvas *c, const GstAneforgeDrawResults *r)
{
  int ps = d->pstride;
  for (int y = 0; y < d->height; y++) {
    const guint8 *row = r->mask + (gsize) ((gint64) y * r->mask_height / d->height) * r->mask_width;
    guint8 *p = c->data + (gsize) y * c->stride;
    for (int x = 0; x < d->width; x++, p += ps) {
      guint8 k = row[(gint64) x * r->mask_width / d->width];
      if (k == 0)
        continue;
      guint8 rgb[3];
      gst_aneforge_draw_box_colour (k - 1, rgb);
      blend_pixel (c, p, rgb, GST_ANEFORGE_DRAW_MASK_ALPHA);
    }
  }
}

/* A line of width @w from (x0, y0) to (x1, y1) as discs a pixel apart. */
static void
draw_line (const Canvas *c, float x0, float y0, float x1, float y1, float w, const guint8 rgb[3])
{
  float len = hypotf (x1 - x0, y1 - y0);
  int steps = (int) MIN (ceilf (len), 8192.0f);
  for (int i = 0; i <= steps; i++) {
    float t = steps ? (float) i / steps : 0;
    fill_disc (c, x0 + t * (x1 - x0), y0 + t * (y1 - y0), w / 2, rgb);
  }
}

/* Skeleton edges between visible points, then the points as dots. */
static void
draw_keypoints (GstAneforgeDraw *d, const Canvas *c, const GstAneforgeDrawResults *r)
{
  const GstAneforgeKeypoint *k = r->keypoints;
  for (guint e = 0; e < r->n_edges; e++) {
    guint a = r->edges[2 * e], b = r->edges[2 * e + 1];
    if (a < r->n_keypoints && b < r->n_keypoints && k[a].visible && k[b].visible)
      draw_line (c, (float) px (k[a].x), (float) px (k[a].y), (float) px (k[b].x),
                 (float) px (k[b].y), (float) d->line_w, SKELETON_RGB);
  }
  for (guint i = 0; i < r->n_keypoints; i++)
    if (k[i].visible)
      fill_disc (c, (float) px (k[i].x), (float) px (k[i].y), (float) d->dot_r, KEYPOINT_RGB);
}

/* The top-k classes: label, score bar and score, on a dark panel at the
 * top-left, as many rows as fit. */
static void
draw_classes (GstAneforgeDraw *d, const Canvas *c, const GstAneforgeDrawResults *r)
{
  int gap = d->pad / 2, row = d->line_h + gap;
  guint rows = MIN (r->n_classes, (guint) MAX (0, (d->height - 4 * d->pad + gap) / row));
  if (rows == 0)
    return;
  int label_w = 0, score_w = 0;
  char num[32];
  for (guint i = 0; i < rows; i++) {
    const GstAneforgeClassification *k = &r->classes[i];
    if (k->label && *k->label) {
      label_w = MAX (label_w, label_text (d, k->label)->width);
    } else {
      g_snprintf (num, sizeof num, "#%u", k->index);
      label_w = MAX (label_w, ascii_width (d, num));
    }
    g_snprintf (num, sizeof num, "%.2f", k->score);
    score_w = MAX (score_w, ascii_width (d, num));
  }
  int x0 = d->pad, y0 = d->pad;
  int bar_x = x0 + d->pad + label_w + 2 * d->pad, score_x = bar_x + d->bar_w + d->pad;
  fill_rect (c, x0, y0, score_x + score_w + d->pad, y0 + 2 * d->pad + rows * row - gap, PANEL_RGB,
             PANEL_ALPHA);
  for (guint i = 0; i < rows; i++) {
    const GstAneforgeClassification *k = &r->classes[i];
    int y = y0 + d->pad + (int) i * row;
    if (k->label && *k->label) {
      fill_mask (c, label_text (d, k->label), x0 + d->pad, y, TEXT_RGB);
    } else {
      g_snprintf (num, sizeof num, "#%u", k->index);
      draw_ascii (c, x0 + d->pad, y, num, TEXT_RGB);
    }
    int bar_y = y + d->line_h / 4, bar_h = MAX (2, d->line_h / 2);
    float s = k->score > 0 ? MIN (k->score, 1.0f) : 0.0f; /* NaN -> 0 */
    int fill = (int) (s * d->bar_w + 0.5f);
    fill_rect (c, bar_x, bar_y, bar_x + d->bar_w, bar_y + bar_h, TEXT_RGB, TRACK_ALPHA);
    fill_rect (c, bar_x, bar_y, bar_x + fill, bar_y + bar_h, BAR_RGB, BAR_ALPHA);
    g_snprintf (num, sizeof num, "%.2f", k->score);
    draw_ascii (c, score_x, y, num, TEXT_RGB);
  }
}

/* A detection's caption "label 0.87" on a tag of the box colour, above the
 * box (inside it when there is no room above). */
static void
draw_caption (GstAneforgeDraw *d, const Canvas *c, const GstAneforgeDetection *det, int bx, int by,
              const guint8 rgb[3])
{
  char num[32];
  const GstAneforgeDrawText *lt = det->label && *det->label ? label_text (d, det->label) : NULL;
  if (lt)
    g_snprintf (num, sizeof num, " %.2f", det->score);
  else
    g_snprintf (num, sizeof num, "#%d %.2f", det->class_index, det->score);
  int w = (lt ? lt->width : 0) + ascii_width (d, num) + d->pad;
  int o = d->line_w / 2;
  int x = bx - o, y = by - o - d->line_h;
  if (y < 0)
    y = by - o + d->line_w;
  fill_rect (c, x, y, x + w, y + d->line_h, rgb, 255);
  int tx = x + d->pad / 2;
  if (lt) {
    fill_mask (c, lt, tx, y, CAPTION_TEXT_RGB);
    tx += lt->width;
  }
  draw_ascii (c, tx, y, num, CAPTION_TEXT_RGB);
}

static void
draw_detections (GstAneforgeDraw *d, const Canvas *c, const GstAneforgeDrawResults *r,
                 GstAneforgeDrawFlags flags)
{
  /* worst first, so that the best ends on top */
  for (guint i = r->n_detections; i-- > 0;) {
    const GstAneforgeDetection *det = &r->detections[i];
    guint8 rgb[3];
    gst_aneforge_draw_box_colour (det->class_index, rgb);
    int x1 = px (MIN (det->x1, det->x2)), x2 = px (MAX (det->x1, det->x2));
    int y1 = px (MIN (det->y1, det->y2)), y2 = px (MAX (det->y1, det->y2));
    if (flags & GST_ANEFORGE_DRAW_BOXES)
      stroke_rect (c, x1, y1, x2, y2, d->line_w, rgb);
    if (flags & GST_ANEFORGE_DRAW_LANDMARKS) {
      guint n = MIN (det->n_landmarks, G_N_ELEMENTS (det->landmarks) / 2);
      for (guint k = 0; k < n; k++)
        fill_disc (c, (float) px (det->landmarks[2 * k]), (float) px (det->landmarks[2 * k + 1]),
                   (float) d->dot_r, LANDMARK_RGB[k % G_N_ELEMENTS (LANDMARK_RGB)]);
    }
    if (flags & GST_ANEFORGE_DRAW_LABELS)
      draw_caption (d, c, det, x1, y1, rgb);
  }
}

/* "12.3 ms" and, for results from an earlier frame, their age, top-right. */
static void
draw_latency (GstAneforgeDraw *d, const Canvas *c, const GstAneforgeDrawResults *r)
{
  char s[96];
  double ms = r->latency_ns / 1e6;
  int n = g_snprintf (s, sizeof s, ms < 10 ? "%.2f ms" : "%.1f ms", ms);
  if (r->age_frames > 0 && n > 0 && n < (int) sizeof s)
    g_snprintf (s + n, sizeof s - n, "  age %" G_GUINT64_FORMAT " (%.0f ms)", r->age_frames,
                r->age_ns / 1e6);
  int w = ascii_width (d, s);
  int x1 = d->width - d->pad, x0 = x1 - w - 2 * d->pad, y0 = d->pad;
  fill_rect (c, x0, y0, x1, y0 + d->line_h + d->pad, PANEL_RGB, PANEL_ALPHA);
  draw_ascii (c, x0 + d->pad, y0 + d->pad / 2, s, TEXT_RGB);
}

void
gst_aneforge_draw_render (GstAneforgeDraw *d, guint8 *data, int stride,
                          const GstAneforgeDrawResults *r, GstAneforgeDrawFlags flags)
{
  g_return_if_fail (d->char_layout != NULL);
  Canvas c = { d, data, stride, 0, 0, d->width, d->height };
  if (r->mask && (flags & GST_ANEFORGE_DRAW_BOXES))
    draw_mask (d, &c, r);
  if (r->n_keypoints > 0 && (flags & GST_ANEFORGE_DRAW_LANDMARKS))
    draw_keypoints (d, &c, r);
  if (r->n_detections > 0 &&
      (flags & (GST_ANEFORGE_DRAW_BOXES | GST_ANEFORGE_DRAW_LANDMARKS | GST_ANEFORGE_DRAW_LABELS)))
    draw_detections (d, &c, r, flags);
  if ((flags & GST_ANEFORGE_DRAW_LABELS) && r->n_classes > 0)
    draw_classes (d, &c, r);
  if (flags & GST_ANEFORGE_DRAW_LATENCY)
    draw_latency (d, &c, r);
}
