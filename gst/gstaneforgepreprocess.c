/* gstaneforgepreprocess.c — raw video frame -> uint8 NCHW image port in one
 * pass (see the header for the conventions). */
#include "gstaneforgepreprocess.h"

#include <math.h>

#define GST_ANEFORGE_MAX_PORT_DIM 16384
/* Tap weights are in 1/2048: a bilinear sample of uint8 values is then a
 * Q22 integer below 2^31. */
#define W_BITS 11
#define W_ONE (1 << W_BITS)
#define Q_SHIFT (2 * W_BITS)

/* Builds one axis: @n_out output positions sampling a source of @n_full
 * pixels whose plane holds @n_plane samples (@sub source pixels per sample);
 * taps are scaled by @step (bytes per sample along x, 1 along y). */
static GstAneforgeTap *
gst_aneforge_axis_new (gint n_out, gint n_full, gint sub, gint n_plane, gint step)
{
  GstAneforgeTap *t = g_new (GstAneforgeTap, n_out);
  double scale = (double) n_full / n_out / sub;
  for (gint o = 0; o < n_out; o++) {
    double s = (o + 0.5) * scale - 0.5;
    s = CLAMP (s, 0.0, (double) (n_plane - 1));
    gint i0 = (gint) s;
    gint i1 = MIN (i0 + 1, n_plane - 1);
    gint w = (gint) lround ((s - i0) * W_ONE);
    if (w >= W_ONE) {
      i0 = i1;
      w = 0;
    }
    if (i0 == i1)
      w = 0;
    t[o].i0 = i0 * step;
    t[o].i1 = i1 * step;
    t[o].w1 = w;
  }
  return t;
}

static gboolean
gst_aneforge_check_port (const AfTensorInfo *port, GError **error)
{
  if (!port->is_image) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED,
                 "input 0 \"%s\" is not an image port (the element feeds video into an "
                 "image-input port of shape [1, 3 or 1, H, W])",
                 port->name);
    return FALSE;
  }
  if (port->rank != 4 || port->shape[0] != 1 || (port->shape[1] != 1 && port->shape[1] != 3)
      || port->shape[2] < 1 || port->shape[3] < 1 || port->shape[2] > GST_ANEFORGE_MAX_PORT_DIM
      || port->shape[3] > GST_ANEFORGE_MAX_PORT_DIM) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED,
                 "image port \"%s\" must have shape [1, 3 or 1, H, W] with H, W in 1..%d",
                 port->name, GST_ANEFORGE_MAX_PORT_DIM);
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_aneforge_src_kind (const GstVideoInfo *info, GstAneforgeSrcKind *kind, GError **error)
{
  switch (GST_VIDEO_INFO_FORMAT (info)) {
  case GST_VIDEO_FORMAT_RGB:
  case GST_VIDEO_FORMAT_BGR:
  case GST_VIDEO_FORMAT_RGBx:
  case GST_VIDEO_FORMAT_BGRx:
  case GST_VIDEO_FORMAT_xRGB:
  case GST_VIDEO_FORMAT_xBGR:
  case GST_VIDEO_FORMAT_RGBA:
  case GST_VIDEO_FORMAT_BGRA:
    *kind = GST_ANEFORGE_SRC_RGB;
    return TRUE;
  case GST_VIDEO_FORMAT_GRAY8:
    *kind = GST_ANEFORGE_SRC_GRAY;
    return TRUE;
  case GST_VIDEO_FORMAT_NV12:
  case GST_VIDEO_FORMAT_I420:
    *kind = GST_ANEFORGE_SRC_YUV;
    return TRUE;
  default:
    g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED, "video format %s is not supported",
                 gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (info)));
    return FALSE;
  }
}

/* Fills the YUV -> RGB coefficients from Kr, Kb and the range. */
static void
gst_aneforge_set_matrix (GstAneforgePreprocess *pp, const GstVideoInfo *info,
                         gboolean use_caps_colorimetry)
{
  gdouble kr = 0.299, kb = 0.114;
  gboolean full = FALSE;
  if (use_caps_colorimetry) {
    gdouble r, b;
    if (gst_video_color_matrix_get_Kr_Kb (info->colorimetry.matrix, &r, &b)) {
      kr = r;
      kb = b;
    }
    full = info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  }
  gdouble kg = 1.0 - kr - kb;
  gdouble cs = full ? 1.0 : 255.0 / 224.0;
  pp->ys = full ? 1.0f : (float) (255.0 / 219.0);
  pp->yoff = full ? 0.0f : 16.0f;
  pp->rv = (float) (2.0 * (1.0 - kr) * cs);
  pp->bu = (float) (2.0 * (1.0 - kb) * cs);
  pp->gu = (float) (2.0 * kb * (1.0 - kb) / kg * cs);
  pp->gv = (float) (2.0 * kr * (1.0 - kr) / kg * cs);
}

gboolean
gst_aneforge_preprocess_init (GstAneforgePreprocess *pp, const GstVideoInfo *info,
                              gboolean use_caps_colorimetry, const AfTensorInfo *port,
                              GError **error)
{
  g_return_val_if_fail (pp && info && port, FALSE);
  gst_aneforge_preprocess_clear (pp);
  if (!gst_aneforge_check_port (port, error) || !gst_aneforge_src_kind (info, &pp->kind, error))
    return FALSE;

  pp->in_w = GST_VIDEO_INFO_WIDTH (info);
  pp->in_h = GST_VIDEO_INFO_HEIGHT (info);
  pp->out_c = (gint) port->shape[1];
  pp->out_h = (gint) port->shape[2];
  pp->out_w = (gint) port->shape[3];
  gboolean bgr = port->order == AF_PIXEL_BGR;
  pp->chan[0] = bgr ? 2 : 0;
  pp->chan[1] = 1;
  pp->chan[2] = bgr ? 0 : 2;
  if (port->order == AF_PIXEL_GRAY)
    pp->out_c = -pp->out_c; /* negative: luma in every channel */
  gst_aneforge_set_matrix (pp, info, use_caps_colorimetry);

  gint pstride = GST_VIDEO_INFO_COMP_PSTRIDE (info, 0);
  pp->x = gst_aneforge_axis_new (pp->out_w, pp->in_w, 1, pp->in_w, pstride);
  pp->y = gst_aneforge_axis_new (pp->out_h, pp->in_h, 1, pp->in_h, 1);
  if (pp->kind == GST_ANEFORGE_SRC_YUV) {
    const GstVideoFormatInfo *f = info->finfo;
    pp->cx = gst_aneforge_axis_new (pp->out_w, pp->in_w, 1 << GST_VIDEO_FORMAT_INFO_W_SUB (f, 1),
                                    GST_VIDEO_INFO_COMP_WIDTH (info, 1),
                                    GST_VIDEO_INFO_COMP_PSTRIDE (info, 1));
    pp->cy = gst_aneforge_axis_new (pp->out_h, pp->in_h, 1 << GST_VIDEO_FORMAT_INFO_H_SUB (f, 1),
                                    GST_VIDEO_INFO_COMP_HEIGHT (info, 1), 1);
  }
  return TRUE;
}

void
gst_aneforge_preprocess_clear (GstAneforgePreprocess *pp)
{
  g_clear_pointer (&pp->x, g_free);
  g_clear_pointer (&pp->y, g_free);
  g_clear_pointer (&pp->cx, g_free);
  g_clear_pointer (&pp->cy, g_free);
}

/* Bilinear sample, value << Q_SHIFT. */
static inline gint
gst_aneforge_tap (const guint8 *r0, const guint8 *r1, const GstAneforgeTap *tx, gint wy)
{
  gint wx = tx->w1;
  gint a = r0[tx->i0] * (W_ONE - wx) + r0[tx->i1] * wx;
  gint b = r1[tx->i0] * (W_ONE - wx) + r1[tx->i1] * wx;
  return a * (W_ONE - wy) + b * wy;
}

static inline guint8
gst_aneforge_q_to_u8 (gint v)
{
  return (guint8) ((v + (1 << (Q_SHIFT - 1))) >> Q_SHIFT);
}

static inline guint8
gst_aneforge_clamp_u8 (float v)
{
  return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (guint8) (v + 0.5f);
}

/* Source rows of one component for output row @ty. */
static inline void
gst_aneforge_rows (const GstVideoFrame *frame, gint comp, const GstAneforgeTap *ty,
                   const guint8 **r0, const guint8 **r1)
{
  const guint8 *base = GST_VIDEO_FRAME_COMP_DATA (frame, comp);
  gint stride = GST_VIDEO_FRAME_COMP_STRIDE (frame, comp);
  *r0 = base + (gsize) ty->i0 * stride;
  *r1 = base + (gsize) ty->i1 * stride;
}

/* RGB of output pixel @ox on the current row. */
static inline void
gst_aneforge_pixel (const GstAneforgePreprocess *pp, const guint8 *const *r0,
                    const guint8 *const *r1, gint wy, gint cwy, gint ox, guint8 rgb[3])
{
  const GstAneforgeTap *tx = &pp->x[ox];
  switch (pp->kind) {
  case GST_ANEFORGE_SRC_RGB:
    for (gint c = 0; c < 3; c++)
      rgb[c] = gst_aneforge_q_to_u8 (gst_aneforge_tap (r0[c], r1[c], tx, wy));
    break;
  case GST_ANEFORGE_SRC_GRAY:
    rgb[0] = rgb[1] = rgb[2] = gst_aneforge_q_to_u8 (gst_aneforge_tap (r0[0], r1[0], tx, wy));
    break;
  case GST_ANEFORGE_SRC_YUV: {
    const GstAneforgeTap *cx = &pp->cx[ox];
    float y = gst_aneforge_tap (r0[0], r1[0], tx, wy) * (1.0f / (1 << Q_SHIFT));
    float u = gst_aneforge_tap (r0[1], r1[1], cx, cwy) * (1.0f / (1 << Q_SHIFT)) - 128.0f;
    float v = gst_aneforge_tap (r0[2], r1[2], cx, cwy) * (1.0f / (1 << Q_SHIFT)) - 128.0f;
    float l = pp->ys * (y - pp->yoff);
    rgb[0] = gst_aneforge_clamp_u8 (l + pp->rv * v);
    rgb[1] = gst_aneforge_clamp_u8 (l - pp->gu * u - pp->gv * v);
    rgb[2] = gst_aneforge_clamp_u8 (l + pp->bu * u);
    break;
  }
  }
}

void
gst_aneforge_preprocess_run (const GstAneforgePreprocess *pp, const GstVideoFrame *frame,
                             guint8 *dst)
{
  g_return_if_fail (pp && pp->x && frame && dst);
  gsize plane = (gsize) pp->out_w * pp->out_h;
  gint n_comp = pp->kind == GST_ANEFORGE_SRC_GRAY ? 1 : 3;
  gboolean luma = pp->out_c < 0 || pp->out_c == 1;
  gint out_c = ABS (pp->out_c);

  for (gint oy = 0; oy < pp->out_h; oy++) {
    const guint8 *r0[3], *r1[3];
    gint cwy = 0;
    gst_aneforge_rows (frame, 0, &pp->y[oy], &r0[0], &r1[0]);
    for (gint c = 1; c < n_comp; c++) {
      const GstAneforgeTap *ty = pp->kind == GST_ANEFORGE_SRC_YUV ? &pp->cy[oy] : &pp->y[oy];
      gst_aneforge_rows (frame, c, ty, &r0[c], &r1[c]);
      cwy = ty->w1;
    }
    guint8 *row = dst + (gsize) oy * pp->out_w;
    for (gint ox = 0; ox < pp->out_w; ox++) {
      guint8 rgb[3];
      gst_aneforge_pixel (pp, r0, r1, pp->y[oy].w1, cwy, ox, rgb);
      if (luma) {
        guint8 l = (guint8) ((77 * rgb[0] + 150 * rgb[1] + 29 * rgb[2] + 128) >> 8);
        for (gint c = 0; c < out_c; c++)
          row[c * plane + ox] = l;
      } else {
        row[ox] = rgb[pp->chan[0]];
        row[plane + ox] = rgb[pp->chan[1]];
        row[2 * plane + ox] = rgb[pp->chan[2]];
      }
    }
  }
}
