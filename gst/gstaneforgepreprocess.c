/* gstaneforgepreprocess.c — raw video frame -> uint8 NCHW image port in one
 * pass (see the header for the conventions).
 *
 * Per output row: "stage" copies, for every component and both source rows,
 * the two taps of every output pixel into byte pairs (scalar loads through
 * the precomputed offsets: no gathers); a kernel then interpolates along x
 * (pairs x weight pairs: one pmaddwd), blends the two rows along y, converts
 * YUV to RGB and rounds to bytes into pp->line; "emit" copies the line into
 * the port planes in the port's channel order (or its luma). The kernels
 * exist twice, portable C and AVX2, with the same integer arithmetic. */
#include "gstaneforgepreprocess.h"

#include <math.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define GST_ANEFORGE_X86 1
#include <immintrin.h>
#endif

#define GST_ANEFORGE_MAX_PORT_DIM 16384
/* Tap weights in 1/16384 (an int16 pair per tap for pmaddwd). */
#define W_BITS 14
#define W_ONE (1 << W_BITS)
/* x-interpolated samples are kept in 1/128 (at most 32640: an int16). */
#define H_SHIFT 7
/* after the y blend: samples in 1/2^21 */
#define V_BITS (2 * W_BITS - H_SHIFT)
/* YUV samples enter the matrix in 1/64, coefficients are in 1/4096. */
#define C_BITS 6
#define M_BITS 12
#define M_SHIFT (C_BITS + M_BITS)

/* Builds one axis: @n_out output positions sampling a source of @n_full
 * pixels whose plane holds @n_plane samples (@sub source pixels per sample);
 * taps are scaled by @step (bytes per sample along x, 1 along y). The right
 * edge (s = n_plane - 1) becomes the taps (n_plane - 2, n_plane - 1) with
 * the whole weight on the second, so taps stay adjacent. */
static GstAneforgeTap *
gst_aneforge_axis_new (gint n_out, gint n_full, gint sub, gint n_plane, gint step)
{
  GstAneforgeTap *t = g_new (GstAneforgeTap, n_out);
  double scale = (double) n_full / n_out / sub;
  for (gint o = 0; o < n_out; o++) {
    double s = (o + 0.5) * scale - 0.5;
    s = CLAMP (s, 0.0, (double) (n_plane - 1));
    gint i0 = (gint) s;
    gint w = (gint) lround ((s - i0) * W_ONE);
    if (i0 >= n_plane - 1) {
      i0 = MAX (n_plane - 2, 0);
      w = n_plane > 1 ? W_ONE : 0;
    }
    t[o].i0 = i0 * step;
    t[o].i1 = MIN (i0 + 1, n_plane - 1) * step;
    t[o].w1 = w;
  }
  return t;
}

/* The weights of @t as (w0, w1) int16 pairs, padded with zeros to @pad. */
static gint16 *
gst_aneforge_weights_new (const GstAneforgeTap *t, gint n, gint pad)
{
  gint16 *w = g_new0 (gint16, 2 * (gsize) pad);
  for (gint o = 0; o < n; o++) {
    w[2 * o] = (gint16) (W_ONE - t[o].w1);
    w[2 * o + 1] = (gint16) t[o].w1;
  }
  return w;
}

/* TRUE when every tap of @t reads two neighbouring samples @step apart. */
static gboolean
gst_aneforge_axis_adjacent (const GstAneforgeTap *t, gint n, gint step)
{
  for (gint o = 0; o < n; o++)
    if (t[o].i1 - t[o].i0 != step)
      return FALSE;
  return TRUE;
}

/* Where the AVX2 path reads each output pixel's taps straight from the
 * source rows (scalar loads assembled into vectors: no staging through
 * memory, no gather instructions, which are slow on the CPUs measured).
 * Planar samples: the 2-byte pair at the tap; NV12 chroma: the 4 bytes
 * U0 V0 U1 V1; packed RGB: 4 bytes A from pixel i0 and 4 bytes B ending at
 * the end of pixel i1, then a byte shuffle per component. All reads lie
 * inside the row. */
struct _GstAneforgeGather {
  gint32 *ga; /* full grid: offset of the pair (planar) or of A (packed) */
  gint32 *gb; /* packed: offset of B */
  gint32 *gc; /* chroma: offset of the pair (I420) or of U0 V0 U1 V1 (NV12) */
  guint8 ctl_a[3][32], ctl_b[3][32]; /* packed: component c of A and B */
  guint8 ctl_u[32], ctl_v[32];       /* NV12: U and V pairs of U0 V0 U1 V1 */
};

static void
gst_aneforge_gather_free (struct _GstAneforgeGather *g)
{
  g_free (g->ga);
  g_free (g->gb);
  g_free (g->gc);
  g_free (g);
}

/* The first taps of @t as offsets, padded to @pad with @fill. */
static gint32 *
gst_aneforge_offsets_new (const GstAneforgeTap *t, gint n, gint pad, gint add, gboolean second,
                          gint fill)
{
  gint32 *off = g_new (gint32, pad);
  for (gint o = 0; o < pad; o++)
    off[o] = o < n ? (second ? t[o].i1 : t[o].i0) + add : fill;
  return off;
}

/* A 32-byte shuffle putting byte @b0 of each dword in the low byte of the
 * int16 pair and byte @b1 in the high one (-1: zero). */
static void
gst_aneforge_ctl_const (guint8 ctl[32], gint b0, gint b1)
{
  for (gint k = 0; k < 8; k++) {
    gint base = 4 * (k % 4);
    ctl[4 * k] = b0 < 0 ? 0x80 : (guint8) (base + b0);
    ctl[4 * k + 1] = 0x80;
    ctl[4 * k + 2] = b1 < 0 ? 0x80 : (guint8) (base + b1);
    ctl[4 * k + 3] = 0x80;
  }
}

/* The AVX2 read tables for @info, or NULL when some taps are not adjacent
 * (a plane one sample wide): the AVX2 kernels then use staged pairs. */
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
  if (port->rank != 4 || port->shape[0] != 1 || (port->shape[1] != 1 && port->shape[1] != 3) ||
      port->shape[2] < 1 || port->shape[3] < 1 || port->shape[2] > GST_ANEFORGE_MAX_PORT_DIM ||
      port->shape[3] > GST_ANEFORGE_MAX_PORT_DIM) {
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
  pp->ys_q = (gint) lround (pp->ys * (1 << M_BITS));
  pp->yoff_q = (gint) lround (pp->yoff * (1 << C_BITS));
  pp->rv_q = (gint) lround (pp->rv * (1 << M_BITS));
  pp->bu_q = (gint) lround (pp->bu * (1 << M_BITS));
  pp->gu_q = (gint) lround (pp->gu * (1 << M_BITS));
  pp->gv_q = (gint) lround (pp->gv * (1 << M_BITS));
}

static gboolean
gst_aneforge_cpu_has_avx2 (void)
{
#ifdef GST_ANEFORGE_X86
  __builtin_cpu_init ();
  return __builtin_cpu_supports ("avx2");
#else
  return FALSE;
#endif
}

gboolean
gst_aneforge_preprocess_set_simd (GstAneforgePreprocess *pp, gboolean simd)
{
  g_return_val_if_fail (pp, FALSE);
  pp->simd = simd && gst_aneforge_cpu_has_avx2 ();
  return pp->simd;
}

/* An environment switch as the CPU backend reads them: set and not "0".
 * Read at init, so a test can flip it between pipelines. */
static gboolean
gst_aneforge_env_flag (const gchar *name)
{
  const gchar *e = g_getenv (name);
  return e && *e && strcmp (e, "0") != 0;
}

/* AVX2 unless the CPU lacks it or AF_CPU_PORTABLE is set, like the CPU
 * backend. */
static gboolean
gst_aneforge_want_simd (void)
{
  return !gst_aneforge_env_flag ("AF_CPU_PORTABLE") && gst_aneforge_cpu_has_avx2 ();
}

G_GNUC_UNUSED static struct _GstAneforgeGather *
gst_aneforge_gather_new (const GstAneforgePreprocess *pp, const GstVideoInfo *info)
{
  gint ps = GST_VIDEO_INFO_COMP_PSTRIDE (info, 0);
  gboolean ok;
  switch (pp->kind) {
  case GST_ANEFORGE_SRC_RGB:
    ok = (ps == 3 || ps == 4) && gst_aneforge_axis_adjacent (pp->x, pp->out_w, ps);
    break;
  case GST_ANEFORGE_SRC_GRAY:
    ok = pp->x_adj;
    break;
  default:
    ok = pp->x_adj && pp->cx_adj;
    break;
  }
  if (!ok)
    return NULL;
  struct _GstAneforgeGather *g = g_new0 (struct _GstAneforgeGather, 1);
  g->ga = gst_aneforge_offsets_new (pp->x, pp->out_w, pp->pad_w, 0, FALSE, 0);
  if (pp->kind == GST_ANEFORGE_SRC_RGB) {
    /* padding reads pixel 1, inside any row of >= 2 pixels */
    g->gb = gst_aneforge_offsets_new (pp->x, pp->out_w, pp->pad_w, ps - 4, TRUE, 2 * ps - 4);
    for (gint c = 0; c < 3; c++) {
      gint off = GST_VIDEO_INFO_COMP_POFFSET (info, c);
      gst_aneforge_ctl_const (g->ctl_a[c], off, -1);
      gst_aneforge_ctl_const (g->ctl_b[c], -1, off + 4 - ps);
    }
  } else if (pp->kind == GST_ANEFORGE_SRC_YUV) {
    g->gc = gst_aneforge_offsets_new (pp->cx, pp->out_w, pp->pad_w, 0, FALSE, 0);
    gst_aneforge_ctl_const (g->ctl_u, 0, 2);
    gst_aneforge_ctl_const (g->ctl_v, 1, 3);
  }
  return g;
}

/* AVX-512 VBMI staging: the taps (i0, i1) of a group of @g outputs lie in a
 * window of at most 128 source bytes, so two masked loads (no byte outside
 * the window is read) and one two-table byte permute stage the group's
 * pairs. Built only when every group of the axis fits. */
typedef struct {
  gint32 base;    /* window start, bytes from the row */
  guint64 m0, m1; /* the window's bytes [0, 64) and [64, 128) to load */
  guint8 idx[64]; /* staged byte j = window byte idx[j] */
  guint64 store;  /* staged bytes of the group inside the row (the last is short) */
  gboolean plain; /* the 128 bytes from base are inside the row: unmasked loads */
} GstAneforgeWin;

struct _GstAneforgeWindows {
  gint g;                 /* outputs per group: 32 or 16 */
  GstAneforgeWin *x, *cx; /* per group of the luma / full grid, of the chroma grid */
};

static void
gst_aneforge_windows_free (struct _GstAneforgeWindows *w)
{
  g_free (w->x);
  g_free (w->cx);
  g_free (w);
}

static guint64
gst_aneforge_low_bits (gint n)
{
  return n <= 0 ? 0 : n >= 64 ? ~(guint64) 0 : ((guint64) 1 << n) - 1;
}

/* Windows of @g outputs over the taps @t[0, n), or NULL if one is wider
 * than 128 bytes. @row_bytes: bytes readable from a component's row start
 * (masked loads only where a window's 128 bytes would pass it: they cost
 * more than plain ones). */
static GstAneforgeWin *
gst_aneforge_windows_axis (const GstAneforgeTap *t, gint n, gint g, gint row_bytes)
{
  gint n_groups = (n + g - 1) / g;
  GstAneforgeWin *w = g_new0 (GstAneforgeWin, n_groups);
  for (gint k = 0; k < n_groups; k++) {
    gint o0 = k * g, o1 = MIN (n, o0 + g), lo = G_MAXINT, hi = 0;
    for (gint o = o0; o < o1; o++) {
      lo = MIN (lo, MIN (t[o].i0, t[o].i1));
      hi = MAX (hi, MAX (t[o].i0, t[o].i1) + 1);
    }
    if (hi - lo > 128) {
      g_free (w);
      return NULL;
    }
    w[k].base = lo;
    w[k].m0 = gst_aneforge_low_bits (hi - lo);
    w[k].m1 = gst_aneforge_low_bits (hi - lo - 64);
    w[k].store = gst_aneforge_low_bits (2 * (o1 - o0));
    w[k].plain = lo + 128 <= row_bytes;
    for (gint o = o0; o < o1; o++) {
      w[k].idx[2 * (o - o0)] = (guint8) (t[o].i0 - lo);
      w[k].idx[2 * (o - o0) + 1] = (guint8) (t[o].i1 - lo);
    }
  }
  return w;
}

static gboolean
gst_aneforge_cpu_has_vbmi (void)
{
#ifdef GST_ANEFORGE_X86
  __builtin_cpu_init ();
  return !gst_aneforge_env_flag ("AF_CPU_NO_AVX512") && __builtin_cpu_supports ("avx512f") &&
         __builtin_cpu_supports ("avx512bw") && __builtin_cpu_supports ("avx512vbmi");
#else
  return FALSE;
#endif
}

/* The widest groups (32 or 16 outputs) whose windows all fit, on both
 * grids; NULL without VBMI or when none fit. Groups of 8 (downscales past
 * about 8x, 1080p -> 224) staged slower than the AVX2 gathers read
 * (preprocess-bench: 134 against 112 us), so those keep the gathers. */
G_GNUC_UNUSED static struct _GstAneforgeWindows *
gst_aneforge_windows_new (const GstAneforgePreprocess *pp, const GstVideoInfo *info)
{
  if (!gst_aneforge_cpu_has_vbmi ())
    return NULL;
  /* a component's last byte in a row is (width - 1) * pstride from its start */
  gint ps = GST_VIDEO_INFO_COMP_PSTRIDE (info, 0), cps = GST_VIDEO_INFO_COMP_PSTRIDE (info, 1);
  gint luma_bytes = (GST_VIDEO_INFO_COMP_WIDTH (info, 0) - 1) * ps + 1;
  gint chroma_bytes = (GST_VIDEO_INFO_COMP_WIDTH (info, 1) - 1) * cps + 1;
  for (gint g = 32; g >= 16; g /= 2) {
    GstAneforgeWin *x = gst_aneforge_windows_axis (pp->x, pp->out_w, g, luma_bytes), *cx = NULL;
    if (x && pp->kind == GST_ANEFORGE_SRC_YUV &&
        !(cx = gst_aneforge_windows_axis (pp->cx, pp->out_w, g, chroma_bytes))) {
      g_free (x);
      x = NULL;
    }
    if (x) {
      struct _GstAneforgeWindows *w = g_new0 (struct _GstAneforgeWindows, 1);
      w->g = g;
      w->x = x;
      w->cx = cx;
      return w;
    }
  }
  return NULL;
}

static void
gst_aneforge_tables_new (GstAneforgePreprocess *pp, const GstVideoInfo *info)
{
  gint pstride = GST_VIDEO_INFO_COMP_PSTRIDE (info, 0);
  pp->pad_w = (pp->out_w + 15) & ~15;
  pp->x = gst_aneforge_axis_new (pp->out_w, pp->in_w, 1, pp->in_w, pstride);
  pp->y = gst_aneforge_axis_new (pp->out_h, pp->in_h, 1, pp->in_h, 1);
  pp->wx = gst_aneforge_weights_new (pp->x, pp->out_w, pp->pad_w);
  pp->x_adj = pstride == 1 && gst_aneforge_axis_adjacent (pp->x, pp->out_w, 1);
  if (pp->kind == GST_ANEFORGE_SRC_YUV) {
    const GstVideoFormatInfo *f = info->finfo;
    gint cstride = GST_VIDEO_INFO_COMP_PSTRIDE (info, 1);
    pp->nv12 = GST_VIDEO_INFO_FORMAT (info) == GST_VIDEO_FORMAT_NV12;
    pp->cx = gst_aneforge_axis_new (pp->out_w, pp->in_w, 1 << GST_VIDEO_FORMAT_INFO_W_SUB (f, 1),
                                    GST_VIDEO_INFO_COMP_WIDTH (info, 1), cstride);
    pp->cy = gst_aneforge_axis_new (pp->out_h, pp->in_h, 1 << GST_VIDEO_FORMAT_INFO_H_SUB (f, 1),
                                    GST_VIDEO_INFO_COMP_HEIGHT (info, 1), 1);
    pp->wcx = gst_aneforge_weights_new (pp->cx, pp->out_w, pp->pad_w);
    pp->cx_adj = (cstride == 1 || (pp->nv12 && cstride == 2)) &&
                 gst_aneforge_axis_adjacent (pp->cx, pp->out_w, cstride);
  }
  gst_aneforge_preprocess_set_slots (pp, 1);
#ifdef GST_ANEFORGE_X86
  pp->gather = gst_aneforge_gather_new (pp, info);
  pp->win = gst_aneforge_windows_new (pp, info);
#endif
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
  gst_aneforge_tables_new (pp, info);
  pp->simd = gst_aneforge_want_simd ();
  return TRUE;
}

void
gst_aneforge_preprocess_clear (GstAneforgePreprocess *pp)
{
  g_clear_pointer (&pp->x, g_free);
  g_clear_pointer (&pp->y, g_free);
  g_clear_pointer (&pp->cx, g_free);
  g_clear_pointer (&pp->cy, g_free);
  g_clear_pointer (&pp->wx, g_free);
  g_clear_pointer (&pp->wcx, g_free);
  g_clear_pointer (&pp->pairs, g_free);
  g_clear_pointer (&pp->line, g_free);
  pp->n_slots = 0;
  g_clear_pointer (&pp->gather, gst_aneforge_gather_free);
  g_clear_pointer (&pp->win, gst_aneforge_windows_free);
  pp->x_adj = pp->cx_adj = pp->nv12 = FALSE;
}

/* ------------------------------------------------------------------ stage */

/* The staged pairs of component @c, source row @r (0 or 1). */
static inline guint8 *
gst_aneforge_pairs (const GstAneforgePreprocess *pp, gint c, gint r)
{
  return pp->pairs + (gsize) (2 * c + r) * 2 * pp->pad_w;
}

/* Row @row of component @comp. */
static inline const guint8 *
gst_aneforge_src_row (const GstVideoFrame *frame, gint comp, gint row)
{
  const guint8 *base = GST_VIDEO_FRAME_COMP_DATA (frame, comp);
  return base + (gsize) row * GST_VIDEO_FRAME_COMP_STRIDE (frame, comp);
}

/* p[2o], p[2o + 1] = the two taps of output pixel o in source row @r. */
static void
gst_aneforge_stage_row (const guint8 *r, const GstAneforgeTap *t, gint n, gboolean adj, guint8 *p)
{
  if (adj) {
    for (gint o = 0; o < n; o++)
      memcpy (p + 2 * o, r + t[o].i0, 2);
    return;
  }
  for (gint o = 0; o < n; o++) {
    p[2 * o] = r[t[o].i0];
    p[2 * o + 1] = r[t[o].i1];
  }
}

/* NV12 with adjacent chroma taps: U0 V0 U1 V1 in one 4-byte read. */
static void
gst_aneforge_stage_uv (const guint8 *r, const GstAneforgeTap *t, gint n, guint8 *pu, guint8 *pv)
{
  for (gint o = 0; o < n; o++) {
    const guint8 *s = r + t[o].i0;
    guint8 b[4];
    memcpy (b, s, 4);
    pu[2 * o] = b[0];
    pu[2 * o + 1] = b[2];
    pv[2 * o] = b[1];
    pv[2 * o + 1] = b[3];
  }
}

/* Stages both source rows of every component for output row @oy. */
static void
gst_aneforge_stage (const GstAneforgePreprocess *pp, const GstVideoFrame *frame, gint oy)
{
  gint n_comp = pp->kind == GST_ANEFORGE_SRC_GRAY ? 1 : 3;
  gboolean yuv = pp->kind == GST_ANEFORGE_SRC_YUV;
  for (gint c = 0; c < n_comp; c++) {
    gboolean chroma = yuv && c > 0;
    const GstAneforgeTap *ty = chroma ? &pp->cy[oy] : &pp->y[oy];
    const GstAneforgeTap *tx = chroma ? pp->cx : pp->x;
    gboolean adj = chroma ? pp->cx_adj : pp->x_adj;
    for (gint r = 0; r < 2; r++) {
      const guint8 *row = gst_aneforge_src_row (frame, c, r ? ty->i1 : ty->i0);
      if (chroma && pp->nv12 && adj)
        gst_aneforge_stage_uv (row, tx, pp->out_w, gst_aneforge_pairs (pp, 1, r),
                               gst_aneforge_pairs (pp, 2, r));
      else
        gst_aneforge_stage_row (row, tx, pp->out_w, adj, gst_aneforge_pairs (pp, c, r));
    }
    if (chroma && pp->nv12 && adj)
      break;
  }
}

#ifdef GST_ANEFORGE_X86
/* gst_aneforge_stage through the VBMI windows: the same staged bytes. */
__attribute__ ((target ("avx512f,avx512bw,avx512vbmi"))) static void
gst_aneforge_stage_vbmi (const GstAneforgePreprocess *pp, const GstVideoFrame *frame, gint oy)
{
  const struct _GstAneforgeWindows *ws = pp->win;
  gint n_comp = pp->kind == GST_ANEFORGE_SRC_GRAY ? 1 : 3, g = ws->g;
  gint n_groups = (pp->out_w + g - 1) / g;
  for (gint c = 0; c < n_comp; c++) {
    gboolean chroma = pp->kind == GST_ANEFORGE_SRC_YUV && c > 0;
    const GstAneforgeTap *ty = chroma ? &pp->cy[oy] : &pp->y[oy];
    const GstAneforgeWin *w = chroma ? ws->cx : ws->x;
    for (gint r = 0; r < 2; r++) {
      const guint8 *row = gst_aneforge_src_row (frame, c, r ? ty->i1 : ty->i0);
      guint8 *dst = gst_aneforge_pairs (pp, c, r);
      for (gint k = 0; k < n_groups; k++, dst += 2 * g) {
        const guint8 *at = row + w[k].base;
        __m512i idx = _mm512_loadu_si512 (w[k].idx), v;
        if (w[k].plain)
          v = _mm512_permutex2var_epi8 (_mm512_loadu_si512 (at), idx, _mm512_loadu_si512 (at + 64));
        else if (w[k].m1)
          v = _mm512_permutex2var_epi8 (_mm512_maskz_loadu_epi8 (w[k].m0, at), idx,
                                        _mm512_maskz_loadu_epi8 (w[k].m1, at + 64));
        else
          v = _mm512_permutexvar_epi8 (idx, _mm512_maskz_loadu_epi8 (w[k].m0, at));
        _mm512_mask_storeu_epi8 (dst, w[k].store, v);
      }
    }
  }
}
#endif

/* ------------------------------------------------------- portable kernels */

/* x interpolation of both rows, then y blend: pixel @o in 1/2^V_BITS. */
static inline gint32
gst_aneforge_hv (const guint8 *p0, const guint8 *p1, const gint16 *w, gint wy0, gint wy1, gint o)
{
  gint32 h0 =
      (p0[2 * o] * w[2 * o] + p0[2 * o + 1] * w[2 * o + 1] + (1 << (H_SHIFT - 1))) >> H_SHIFT;
  gint32 h1 =
      (p1[2 * o] * w[2 * o] + p1[2 * o + 1] * w[2 * o + 1] + (1 << (H_SHIFT - 1))) >> H_SHIFT;
  return h0 * wy0 + h1 * wy1;
}

static inline guint8
gst_aneforge_clamp8 (gint32 v)
{
  return (guint8) CLAMP (v, 0, 255);
}

/* RGB or GRAY source: @n_comp lines of bytes. */
static void
gst_aneforge_kernel_rgb_c (const GstAneforgePreprocess *pp, gint n_comp, gint wy)
{
  for (gint c = 0; c < n_comp; c++) {
    const guint8 *p0 = gst_aneforge_pairs (pp, c, 0), *p1 = gst_aneforge_pairs (pp, c, 1);
    guint8 *line = pp->line + (gsize) c * pp->pad_w;
    for (gint o = 0; o < pp->out_w; o++) {
      gint32 v = gst_aneforge_hv (p0, p1, pp->wx, W_ONE - wy, wy, o);
      line[o] = (guint8) ((v + (1 << (V_BITS - 1))) >> V_BITS);
    }
  }
}

/* YUV source: interpolated Y, U, V in 1/64, then the matrix. */
static void
gst_aneforge_kernel_yuv_c (const GstAneforgePreprocess *pp, gint wy, gint cwy)
{
  const gint sh = V_BITS - C_BITS, rnd = 1 << (sh - 1), mrnd = 1 << (M_SHIFT - 1);
  const guint8 *y0 = gst_aneforge_pairs (pp, 0, 0), *y1 = gst_aneforge_pairs (pp, 0, 1);
  const guint8 *u0 = gst_aneforge_pairs (pp, 1, 0), *u1 = gst_aneforge_pairs (pp, 1, 1);
  const guint8 *v0 = gst_aneforge_pairs (pp, 2, 0), *v1 = gst_aneforge_pairs (pp, 2, 1);
  guint8 *lr = pp->line, *lg = lr + pp->pad_w, *lb = lg + pp->pad_w;
  for (gint o = 0; o < pp->out_w; o++) {
    gint32 y = (gst_aneforge_hv (y0, y1, pp->wx, W_ONE - wy, wy, o) + rnd) >> sh;
    gint32 u = (gst_aneforge_hv (u0, u1, pp->wcx, W_ONE - cwy, cwy, o) + rnd) >> sh;
    gint32 v = (gst_aneforge_hv (v0, v1, pp->wcx, W_ONE - cwy, cwy, o) + rnd) >> sh;
    gint32 l = pp->ys_q * (y - pp->yoff_q) + mrnd;
    u -= 128 << C_BITS;
    v -= 128 << C_BITS;
    lr[o] = gst_aneforge_clamp8 ((l + pp->rv_q * v) >> M_SHIFT);
    lg[o] = gst_aneforge_clamp8 ((l - pp->gu_q * u - pp->gv_q * v) >> M_SHIFT);
    lb[o] = gst_aneforge_clamp8 ((l + pp->bu_q * u) >> M_SHIFT);
  }
}

/* ----------------------------------------------------------- AVX2 kernels */

#ifdef GST_ANEFORGE_X86
#define AVX2 __attribute__ ((target ("avx2")))

/* x interpolation of the pairs @a (row 0) and @b (row 1) with the weight
 * pairs @ww, then the y blend (@wy: the pair (W_ONE - wy, wy) in every
 * 32-bit lane): 8 pixels in 1/2^V_BITS. */
AVX2 static inline __m256i
gst_aneforge_hv8v (__m256i a, __m256i b, __m256i ww, __m256i wy)
{
  const __m256i rnd = _mm256_set1_epi32 (1 << (H_SHIFT - 1));
  __m256i h0 = _mm256_srai_epi32 (_mm256_add_epi32 (_mm256_madd_epi16 (a, ww), rnd), H_SHIFT);
  __m256i h1 = _mm256_srai_epi32 (_mm256_add_epi32 (_mm256_madd_epi16 (b, ww), rnd), H_SHIFT);
  return _mm256_madd_epi16 (_mm256_or_si256 (h0, _mm256_slli_epi32 (h1, 16)), wy);
}

/* The same from staged pairs, pixels @o..@o+7. */
AVX2 static inline __m256i
gst_aneforge_hv8 (const guint8 *p0, const guint8 *p1, const gint16 *w, __m256i wy, gint o)
{
  __m256i ww = _mm256_loadu_si256 ((const __m256i *) (w + 2 * o));
  __m256i a = _mm256_cvtepu8_epi16 (_mm_loadu_si128 ((const __m128i *) (p0 + 2 * o)));
  __m256i b = _mm256_cvtepu8_epi16 (_mm_loadu_si128 ((const __m128i *) (p1 + 2 * o)));
  return gst_aneforge_hv8v (a, b, ww, wy);
}

AVX2 static inline __m256i
gst_aneforge_load (const void *p)
{
  return _mm256_loadu_si256 ((const __m256i *) p);
}

AVX2 static inline guint16
gst_aneforge_ld16 (const guint8 *p)
{
  guint16 v;
  memcpy (&v, p, 2);
  return v;
}

AVX2 static inline gint32
gst_aneforge_ld32 (const guint8 *p)
{
  gint32 v;
  memcpy (&v, p, 4);
  return v;
}

/* The 4 bytes at @row + off[0..7], one per 32-bit lane. */
AVX2 static inline __m256i
gst_aneforge_dwords8 (const guint8 *row, const gint32 *off)
{
  return _mm256_setr_epi32 (gst_aneforge_ld32 (row + off[0]), gst_aneforge_ld32 (row + off[1]),
                            gst_aneforge_ld32 (row + off[2]), gst_aneforge_ld32 (row + off[3]),
                            gst_aneforge_ld32 (row + off[4]), gst_aneforge_ld32 (row + off[5]),
                            gst_aneforge_ld32 (row + off[6]), gst_aneforge_ld32 (row + off[7]));
}

/* The byte pairs at @row + off[0..7] as int16 pairs in 32-bit lanes. */
AVX2 static inline __m256i
gst_aneforge_pairs8 (const guint8 *row, const gint32 *off)
{
  __m128i x = _mm_setr_epi16 (
      (short) gst_aneforge_ld16 (row + off[0]), (short) gst_aneforge_ld16 (row + off[1]),
      (short) gst_aneforge_ld16 (row + off[2]), (short) gst_aneforge_ld16 (row + off[3]),
      (short) gst_aneforge_ld16 (row + off[4]), (short) gst_aneforge_ld16 (row + off[5]),
      (short) gst_aneforge_ld16 (row + off[6]), (short) gst_aneforge_ld16 (row + off[7]));
  return _mm256_cvtepu8_epi16 (x);
}

/* Planar: pixels @o..@o+7 from rows @r0 and @r1 through hv8v. */
AVX2 static inline __m256i
gst_aneforge_planar8 (const guint8 *r0, const guint8 *r1, const gint32 *off, const gint16 *w,
                      __m256i wy, gint o)
{
  __m256i a = gst_aneforge_pairs8 (r0, off + o), b = gst_aneforge_pairs8 (r1, off + o);
  return gst_aneforge_hv8v (a, b, gst_aneforge_load (w + 2 * o), wy);
}

/* 16 int32 (two vectors, each within 0..255 after saturation) to 16 bytes. */
AVX2 static inline void
gst_aneforge_store16 (guint8 *dst, __m256i a, __m256i b)
{
  __m256i w = _mm256_permute4x64_epi64 (_mm256_packus_epi32 (a, b), 0xd8);
  __m128i r = _mm_packus_epi16 (_mm256_castsi256_si128 (w), _mm256_extracti128_si256 (w, 1));
  _mm_storeu_si128 ((__m128i *) dst, r);
}

AVX2 static inline __m256i
gst_aneforge_wy (gint wy)
{
  return _mm256_set1_epi32 ((gint32) ((guint32) (W_ONE - wy) | ((guint32) wy << 16)));
}

AVX2 static void
gst_aneforge_kernel_rgb_avx2 (const GstAneforgePreprocess *pp, gint n_comp, gint wy)
{
  const __m256i vwy = gst_aneforge_wy (wy), rnd = _mm256_set1_epi32 (1 << (V_BITS - 1));
  for (gint c = 0; c < n_comp; c++) {
    const guint8 *p0 = gst_aneforge_pairs (pp, c, 0), *p1 = gst_aneforge_pairs (pp, c, 1);
    guint8 *line = pp->line + (gsize) c * pp->pad_w;
    for (gint o = 0; o < pp->pad_w; o += 16) {
      __m256i a = gst_aneforge_hv8 (p0, p1, pp->wx, vwy, o);
      __m256i b = gst_aneforge_hv8 (p0, p1, pp->wx, vwy, o + 8);
      a = _mm256_srai_epi32 (_mm256_add_epi32 (a, rnd), V_BITS);
      b = _mm256_srai_epi32 (_mm256_add_epi32 (b, rnd), V_BITS);
      gst_aneforge_store16 (line + o, a, b);
    }
  }
}

/* The matrix for 8 pixels: Y, U, V in 1/64 -> R, G, B clamped to 0..255. */
AVX2 static inline void
gst_aneforge_matrix8 (const GstAneforgePreprocess *pp, __m256i y, __m256i u, __m256i v, __m256i *r,
                      __m256i *g, __m256i *b)
{
  const __m256i c128 = _mm256_set1_epi32 (128 << C_BITS), zero = _mm256_setzero_si256 ();
  const __m256i max = _mm256_set1_epi32 (255);
  __m256i l = _mm256_mullo_epi32 (_mm256_set1_epi32 (pp->ys_q),
                                  _mm256_sub_epi32 (y, _mm256_set1_epi32 (pp->yoff_q)));
  l = _mm256_add_epi32 (l, _mm256_set1_epi32 (1 << (M_SHIFT - 1)));
  u = _mm256_sub_epi32 (u, c128);
  v = _mm256_sub_epi32 (v, c128);
  __m256i rv = _mm256_mullo_epi32 (_mm256_set1_epi32 (pp->rv_q), v);
  __m256i gu = _mm256_mullo_epi32 (_mm256_set1_epi32 (pp->gu_q), u);
  __m256i gv = _mm256_mullo_epi32 (_mm256_set1_epi32 (pp->gv_q), v);
  __m256i bu = _mm256_mullo_epi32 (_mm256_set1_epi32 (pp->bu_q), u);
  *r = _mm256_srai_epi32 (_mm256_add_epi32 (l, rv), M_SHIFT);
  *g = _mm256_srai_epi32 (_mm256_sub_epi32 (_mm256_sub_epi32 (l, gu), gv), M_SHIFT);
  *b = _mm256_srai_epi32 (_mm256_add_epi32 (l, bu), M_SHIFT);
  *r = _mm256_min_epi32 (_mm256_max_epi32 (*r, zero), max);
  *g = _mm256_min_epi32 (_mm256_max_epi32 (*g, zero), max);
  *b = _mm256_min_epi32 (_mm256_max_epi32 (*b, zero), max);
}

AVX2 static void
gst_aneforge_kernel_yuv_avx2 (const GstAneforgePreprocess *pp, gint wy, gint cwy)
{
  const gint sh = V_BITS - C_BITS;
  const __m256i vwy = gst_aneforge_wy (wy), vcwy = gst_aneforge_wy (cwy);
  const __m256i rnd = _mm256_set1_epi32 (1 << (sh - 1));
  const guint8 *y0 = gst_aneforge_pairs (pp, 0, 0), *y1 = gst_aneforge_pairs (pp, 0, 1);
  const guint8 *u0 = gst_aneforge_pairs (pp, 1, 0), *u1 = gst_aneforge_pairs (pp, 1, 1);
  const guint8 *v0 = gst_aneforge_pairs (pp, 2, 0), *v1 = gst_aneforge_pairs (pp, 2, 1);
  guint8 *lr = pp->line, *lg = lr + pp->pad_w, *lb = lg + pp->pad_w;
  for (gint o = 0; o < pp->pad_w; o += 16) {
    __m256i r[2], g[2], b[2];
    for (gint k = 0; k < 2; k++) {
      gint ok = o + 8 * k;
      __m256i y = gst_aneforge_hv8 (y0, y1, pp->wx, vwy, ok);
      __m256i u = gst_aneforge_hv8 (u0, u1, pp->wcx, vcwy, ok);
      __m256i v = gst_aneforge_hv8 (v0, v1, pp->wcx, vcwy, ok);
      y = _mm256_srai_epi32 (_mm256_add_epi32 (y, rnd), sh);
      u = _mm256_srai_epi32 (_mm256_add_epi32 (u, rnd), sh);
      v = _mm256_srai_epi32 (_mm256_add_epi32 (v, rnd), sh);
      gst_aneforge_matrix8 (pp, y, u, v, &r[k], &g[k], &b[k]);
    }
    gst_aneforge_store16 (lr + o, r[0], r[1]);
    gst_aneforge_store16 (lg + o, g[0], g[1]);
    gst_aneforge_store16 (lb + o, b[0], b[1]);
  }
}

/* Row @row of component @comp, and of the plane holding it. */
static inline const guint8 *
gst_aneforge_plane_row (const GstVideoFrame *frame, gint comp, gint row)
{
  gint plane = GST_VIDEO_FRAME_COMP_PLANE (frame, comp);
  return (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (frame, plane) +
         (gsize) row * GST_VIDEO_FRAME_PLANE_STRIDE (frame, plane);
}

/* YUV through the gather tables: no staging. */
AVX2 static void
gst_aneforge_gather_yuv_avx2 (const GstAneforgePreprocess *pp, const GstVideoFrame *frame, gint oy)
{
  const struct _GstAneforgeGather *gt = pp->gather;
  const GstAneforgeTap *ty = &pp->y[oy], *tc = &pp->cy[oy];
  const gint sh = V_BITS - C_BITS;
  const __m256i vwy = gst_aneforge_wy (ty->w1), vcwy = gst_aneforge_wy (tc->w1);
  const __m256i rnd = _mm256_set1_epi32 (1 << (sh - 1));
  const guint8 *y0 = gst_aneforge_src_row (frame, 0, ty->i0);
  const guint8 *y1 = gst_aneforge_src_row (frame, 0, ty->i1);
  const guint8 *u0 = gst_aneforge_src_row (frame, 1, tc->i0);
  const guint8 *u1 = gst_aneforge_src_row (frame, 1, tc->i1);
  const guint8 *v0 = gst_aneforge_src_row (frame, 2, tc->i0);
  const guint8 *v1 = gst_aneforge_src_row (frame, 2, tc->i1);
  guint8 *lr = pp->line, *lg = lr + pp->pad_w, *lb = lg + pp->pad_w;
  for (gint o = 0; o < pp->pad_w; o += 16) {
    __m256i r[2], g[2], b[2];
    for (gint k = 0; k < 2; k++) {
      gint ok = o + 8 * k;
      __m256i y = gst_aneforge_planar8 (y0, y1, gt->ga, pp->wx, vwy, ok);
      __m256i u, v, wc = gst_aneforge_load (pp->wcx + 2 * ok);
      if (pp->nv12) {
        __m256i d0 = gst_aneforge_dwords8 (u0, gt->gc + ok);
        __m256i d1 = gst_aneforge_dwords8 (u1, gt->gc + ok);
        __m256i cu = gst_aneforge_load (gt->ctl_u), cv = gst_aneforge_load (gt->ctl_v);
        u = gst_aneforge_hv8v (_mm256_shuffle_epi8 (d0, cu), _mm256_shuffle_epi8 (d1, cu), wc,
                               vcwy);
        v = gst_aneforge_hv8v (_mm256_shuffle_epi8 (d0, cv), _mm256_shuffle_epi8 (d1, cv), wc,
                               vcwy);
      } else {
        u = gst_aneforge_planar8 (u0, u1, gt->gc, pp->wcx, vcwy, ok);
        v = gst_aneforge_planar8 (v0, v1, gt->gc, pp->wcx, vcwy, ok);
      }
      y = _mm256_srai_epi32 (_mm256_add_epi32 (y, rnd), sh);
      u = _mm256_srai_epi32 (_mm256_add_epi32 (u, rnd), sh);
      v = _mm256_srai_epi32 (_mm256_add_epi32 (v, rnd), sh);
      gst_aneforge_matrix8 (pp, y, u, v, &r[k], &g[k], &b[k]);
    }
    gst_aneforge_store16 (lr + o, r[0], r[1]);
    gst_aneforge_store16 (lg + o, g[0], g[1]);
    gst_aneforge_store16 (lb + o, b[0], b[1]);
  }
}

/* GRAY8 or packed RGB through the gather tables. */
AVX2 static void
gst_aneforge_gather_rgb_avx2 (const GstAneforgePreprocess *pp, const GstVideoFrame *frame, gint oy)
{
  const struct _GstAneforgeGather *gt = pp->gather;
  const GstAneforgeTap *ty = &pp->y[oy];
  const __m256i vwy = gst_aneforge_wy (ty->w1), rnd = _mm256_set1_epi32 (1 << (V_BITS - 1));
  const guint8 *r0 = gst_aneforge_plane_row (frame, 0, ty->i0);
  const guint8 *r1 = gst_aneforge_plane_row (frame, 0, ty->i1);
  if (pp->kind == GST_ANEFORGE_SRC_GRAY) {
    for (gint o = 0; o < pp->pad_w; o += 16) {
      __m256i a = gst_aneforge_planar8 (r0, r1, gt->ga, pp->wx, vwy, o);
      __m256i b = gst_aneforge_planar8 (r0, r1, gt->ga, pp->wx, vwy, o + 8);
      a = _mm256_srai_epi32 (_mm256_add_epi32 (a, rnd), V_BITS);
      b = _mm256_srai_epi32 (_mm256_add_epi32 (b, rnd), V_BITS);
      gst_aneforge_store16 (pp->line + o, a, b);
    }
    return;
  }
  for (gint o = 0; o < pp->pad_w; o += 16) {
    __m256i out[3][2];
    for (gint k = 0; k < 2; k++) {
      gint ok = o + 8 * k;
      __m256i a0 = gst_aneforge_dwords8 (r0, gt->ga + ok);
      __m256i b0 = gst_aneforge_dwords8 (r0, gt->gb + ok);
      __m256i a1 = gst_aneforge_dwords8 (r1, gt->ga + ok);
      __m256i b1 = gst_aneforge_dwords8 (r1, gt->gb + ok);
      __m256i ww = gst_aneforge_load (pp->wx + 2 * ok);
      for (gint c = 0; c < 3; c++) {
        __m256i ca = gst_aneforge_load (gt->ctl_a[c]), cb = gst_aneforge_load (gt->ctl_b[c]);
        __m256i p0 = _mm256_or_si256 (_mm256_shuffle_epi8 (a0, ca), _mm256_shuffle_epi8 (b0, cb));
        __m256i p1 = _mm256_or_si256 (_mm256_shuffle_epi8 (a1, ca), _mm256_shuffle_epi8 (b1, cb));
        __m256i v = gst_aneforge_hv8v (p0, p1, ww, vwy);
        out[c][k] = _mm256_srai_epi32 (_mm256_add_epi32 (v, rnd), V_BITS);
      }
    }
    for (gint c = 0; c < 3; c++)
      gst_aneforge_store16 (pp->line + (gsize) c * pp->pad_w + o, out[c][0], out[c][1]);
  }
}
#endif

/* ------------------------------------------------------------------- emit */

/* Copies pp->line into row @oy of the port planes. */
static void
gst_aneforge_emit (const GstAneforgePreprocess *pp, guint8 *dst, gint oy)
{
  gsize plane = (gsize) pp->out_w * pp->out_h;
  guint8 *row = dst + (gsize) oy * pp->out_w;
  gboolean gray_src = pp->kind == GST_ANEFORGE_SRC_GRAY;
  gboolean luma = pp->out_c < 0 || pp->out_c == 1;
  gint out_c = ABS (pp->out_c);
  if (luma && !gray_src) {
    const guint8 *r = pp->line, *g = r + pp->pad_w, *b = g + pp->pad_w;
    for (gint o = 0; o < pp->out_w; o++)
      row[o] = (guint8) ((77 * r[o] + 150 * g[o] + 29 * b[o] + 128) >> 8);
    for (gint c = 1; c < out_c; c++)
      memcpy (row + c * plane, row, pp->out_w);
    return;
  }
  for (gint c = 0; c < out_c; c++) {
    gint from = gray_src || luma ? 0 : pp->chan[c];
    memcpy (row + c * plane, pp->line + (gsize) from * pp->pad_w, pp->out_w);
  }
}

/* Scratch bytes per slot: the staged pairs, then the converted line. */
static gsize
gst_aneforge_pairs_bytes (const GstAneforgePreprocess *pp)
{
  return 3 * 2 * 2 * (gsize) pp->pad_w;
}

void
gst_aneforge_preprocess_set_slots (GstAneforgePreprocess *pp, gint n_slots)
{
  g_return_if_fail (pp && pp->pad_w > 0 && n_slots > 0);
  g_free (pp->pairs);
  g_free (pp->line);
  pp->pairs = g_malloc0 (gst_aneforge_pairs_bytes (pp) * n_slots);
  pp->line = g_malloc0 (3 * (gsize) pp->pad_w * n_slots);
  pp->n_slots = n_slots;
}

void
gst_aneforge_preprocess_run (const GstAneforgePreprocess *pp, const GstVideoFrame *frame,
                             guint8 *dst)
{
  g_return_if_fail (pp);
  gst_aneforge_preprocess_run_rows (pp, frame, dst, 0, pp->out_h, 0);
}

void
gst_aneforge_preprocess_run_rows (const GstAneforgePreprocess *base, const GstVideoFrame *frame,
                                  guint8 *dst, gint oy0, gint oy1, gint slot)
{
  g_return_if_fail (base && base->x && base->line && frame && dst);
  g_return_if_fail (slot >= 0 && slot < base->n_slots && 0 <= oy0 && oy1 <= base->out_h);
  GstAneforgePreprocess slot_pp = *base; /* the same tables, this slot's scratch */
  const GstAneforgePreprocess *pp = &slot_pp;
  slot_pp.pairs = base->pairs + gst_aneforge_pairs_bytes (base) * slot;
  slot_pp.line = base->line + 3 * (gsize) base->pad_w * slot;
  gint n_comp = pp->kind == GST_ANEFORGE_SRC_GRAY ? 1 : 3;
  for (gint oy = oy0; oy < oy1; oy++) {
    gint wy = pp->y[oy].w1;
#ifdef GST_ANEFORGE_X86
    if (pp->simd && !pp->win && pp->gather) {
      if (pp->kind == GST_ANEFORGE_SRC_YUV)
        gst_aneforge_gather_yuv_avx2 (pp, frame, oy);
      else
        gst_aneforge_gather_rgb_avx2 (pp, frame, oy);
      gst_aneforge_emit (pp, dst, oy);
      continue;
    }
#endif
    gboolean staged = FALSE;
#ifdef GST_ANEFORGE_X86
    if (pp->simd && pp->win) { /* the VBMI windows, then the AVX2 kernels below */
      gst_aneforge_stage_vbmi (pp, frame, oy);
      staged = TRUE;
    }
#endif
    if (!staged)
      gst_aneforge_stage (pp, frame, oy);
#ifdef GST_ANEFORGE_X86
    if (pp->simd) {
      if (pp->kind == GST_ANEFORGE_SRC_YUV)
        gst_aneforge_kernel_yuv_avx2 (pp, wy, pp->cy[oy].w1);
      else
        gst_aneforge_kernel_rgb_avx2 (pp, n_comp, wy);
      gst_aneforge_emit (pp, dst, oy);
      continue;
    }
#endif
    if (pp->kind == GST_ANEFORGE_SRC_YUV)
      gst_aneforge_kernel_yuv_c (pp, wy, pp->cy[oy].w1);
    else
      gst_aneforge_kernel_rgb_c (pp, n_comp, wy);
    gst_aneforge_emit (pp, dst, oy);
  }
}
