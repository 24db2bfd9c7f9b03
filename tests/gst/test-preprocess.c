/* test-preprocess.c — the frame -> image-port mapping (colour conversion,
 * bilinear resize, channel order, strides), without the element. */
#include <math.h>
#include <string.h>

#include "gst-test-util.h"
#include "gstaneforgepreprocess.h"

static AfTensorInfo
port_info (int c, int h, int w, AfPixelOrder order)
{
  AfTensorInfo p = { 0 };
  p.name = "image";
  p.rank = 4;
  p.shape[0] = 1;
  p.shape[1] = c;
  p.shape[2] = h;
  p.shape[3] = w;
  p.dtype = AF_DTYPE_U8;
  p.is_image = TRUE;
  p.order = order;
  return p;
}

/* Runs the preprocessing of @buf (@info) into a new port buffer. */
static guint8 *
run (const GstVideoInfo *info, GstBuffer *buf, gboolean colorimetry, const AfTensorInfo *port)
{
  GstAneforgePreprocess pp = { 0 };
  GError *error = NULL;
  g_assert_true (gst_aneforge_preprocess_init (&pp, info, colorimetry, port, &error));
  g_assert_no_error (error);
  gsize n = port->shape[1] * port->shape[2] * port->shape[3];
  guint8 *dst = g_malloc (n);
  memset (dst, 0x5a, n);
  GstVideoFrame f;
  g_assert_true (gst_video_frame_map (&f, info, buf, GST_MAP_READ));
  gst_aneforge_preprocess_run (&pp, &f, dst);
  gst_video_frame_unmap (&f);
  gst_aneforge_preprocess_clear (&pp);
  return dst;
}

static void
assert_planes (const guint8 *px, int c, int n, const guint8 *expect, int tol, const char *what)
{
  for (int k = 0; k < c; k++)
    for (int i = 0; i < n; i++)
      if (ABS ((int) px[k * n + i] - (int) expect[k]) > tol)
        g_error ("%s: channel %d pixel %d is %d, expected %d +- %d", what, k, i, px[k * n + i],
                 expect[k], tol);
}

/* A solid colour in every sink format, at the odd size 385x289, lands in an
 * RGB port as the same pixels within +-2. */
static void
test_solid_every_format (void)
{
  const guint8 colour[3] = { 200, 120, 40 };
  AfTensorInfo port = port_info (3, 24, 32, AF_PIXEL_RGB);
  for (guint i = 0; i < gt_n_formats; i++) {
    GstVideoInfo info;
    gt_video_info (&info, gt_formats[i], 385, 289);
    GstBuffer *buf = gt_solid_frame (gt_formats[i], 385, 289, colour);
    g_autofree guint8 *px = run (&info, buf, FALSE, &port);
    guint8 expect[3] = { colour[0], colour[1], colour[2] };
    if (gt_formats[i] == GST_VIDEO_FORMAT_GRAY8) {
      guint8 l = (guint8) (0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2] + 0.5);
      expect[0] = expect[1] = expect[2] = l;
    }
    assert_planes (px, 3, 24 * 32, expect, 2, gst_video_format_to_string (gt_formats[i]));
    gst_buffer_unref (buf);
  }
}

/* A BGR port gets the planes in B, G, R order. */
static void
test_bgr_port (void)
{
  const guint8 colour[3] = { 10, 100, 250 };
  AfTensorInfo port = port_info (3, 7, 5, AF_PIXEL_BGR);
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_RGBA, 33, 17);
  GstBuffer *buf = gt_solid_frame (GST_VIDEO_FORMAT_RGBA, 33, 17, colour);
  g_autofree guint8 *px = run (&info, buf, FALSE, &port);
  const guint8 expect[3] = { 250, 100, 10 };
  assert_planes (px, 3, 35, expect, 0, "bgr");
  gst_buffer_unref (buf);
}

/* A one-channel port gets BT.601 luma, from colour and from YUV input. */
static void
test_gray_port (void)
{
  const guint8 colour[3] = { 30, 200, 90 };
  guint8 l = (guint8) (0.299 * 30 + 0.587 * 200 + 0.114 * 90 + 0.5);
  AfTensorInfo port = port_info (1, 28, 28, AF_PIXEL_GRAY);
  GstVideoFormat fmts[] = { GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_GRAY8 };
  for (guint i = 0; i < G_N_ELEMENTS (fmts); i++) {
    GstVideoInfo info;
    gt_video_info (&info, fmts[i], 385, 289);
    GstBuffer *buf = gt_solid_frame (fmts[i], 385, 289, colour);
    g_autofree guint8 *px = run (&info, buf, FALSE, &port);
    assert_planes (px, 1, 28 * 28, &l, 2, gst_video_format_to_string (fmts[i]));
    gst_buffer_unref (buf);
  }
}

static void
noise (int x, int y, guint8 rgb[3], gpointer data)
{
  guint32 h = (guint32) (x * 73856093u) ^ (guint32) (y * 19349663u);
  h ^= h >> 13;
  h *= 0x5bd1e995u;
  rgb[0] = h & 0xff;
  rgb[1] = (h >> 8) & 0xff;
  rgb[2] = (h >> 16) & 0xff;
}

/* Noise constant over 4x4 blocks (so 4:2:0 chroma and its centre-sited
 * interpolation stay inside a block at the block's inner 2x2 pixels), kept
 * inside the colours limited-range YUV can hold without clipping. */
static void
block_noise (int x, int y, guint8 rgb[3], gpointer data)
{
  noise (x / 4, y / 4, rgb, data);
  for (int c = 0; c < 3; c++)
    rgb[c] = 40 + rgb[c] * 176 / 255;
}

/* The obvious float bilinear reference (pixel centres aligned, edges clamped). */
static double
ref_sample (int x, int y, int c)
{
  guint8 rgb[3];
  noise (x, y, rgb, NULL);
  return rgb[c];
}

static double
ref_bilinear (int ox, int oy, int c, int in_w, int in_h, int out_w, int out_h)
{
  double sx = CLAMP ((ox + 0.5) * in_w / out_w - 0.5, 0, in_w - 1);
  double sy = CLAMP ((oy + 0.5) * in_h / out_h - 0.5, 0, in_h - 1);
  int x0 = (int) sx, y0 = (int) sy, x1 = MIN (x0 + 1, in_w - 1), y1 = MIN (y0 + 1, in_h - 1);
  double fx = sx - x0, fy = sy - y0;
  double top = ref_sample (x0, y0, c) * (1 - fx) + ref_sample (x1, y0, c) * fx;
  double bot = ref_sample (x0, y1, c) * (1 - fx) + ref_sample (x1, y1, c) * fx;
  return top * (1 - fy) + bot * fy;
}

/* Downscaling and upscaling a noisy 385x289 frame match a float bilinear
 * reference within +-1 in every packed RGB layout. */
static void
test_resize_matches_reference (void)
{
  const int sizes[][2] = { { 32, 32 }, { 40, 23 }, { 500, 301 } };
  GstVideoFormat fmts[] = { GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_xBGR, GST_VIDEO_FORMAT_BGRA };
  for (guint f = 0; f < G_N_ELEMENTS (fmts); f++)
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
      int ow = sizes[s][0], oh = sizes[s][1];
      AfTensorInfo port = port_info (3, oh, ow, AF_PIXEL_RGB);
      GstVideoInfo info;
      gt_video_info (&info, fmts[f], 385, 289);
      GstBuffer *buf = gt_frame_new (&info, noise, NULL);
      g_autofree guint8 *px = run (&info, buf, FALSE, &port);
      for (int c = 0; c < 3; c++)
        for (int y = 0; y < oh; y++)
          for (int x = 0; x < ow; x++) {
            double r = ref_bilinear (x, y, c, 385, 289, ow, oh);
            int got = px[(c * oh + y) * ow + x];
            if (fabs (got - r) > 1.0)
              g_error ("%s -> %dx%d: c%d (%d,%d) = %d, reference %.2f",
                       gst_video_format_to_string (fmts[f]), ow, oh, c, x, y, got, r);
          }
      gst_buffer_unref (buf);
    }
}

/* At the port's own size the mapping is an exact copy into planes. */
static void
test_identity_exact (void)
{
  AfTensorInfo port = port_info (3, 29, 31, AF_PIXEL_RGB);
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_RGB, 31, 29);
  GstBuffer *buf = gt_frame_new (&info, noise, NULL);
  g_autofree guint8 *px = run (&info, buf, FALSE, &port);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < 29; y++)
      for (int x = 0; x < 31; x++)
        g_assert_cmpint (px[(c * 29 + y) * 31 + x], ==, (int) ref_sample (x, y, c));
  gst_buffer_unref (buf);
}

/* Rows padded beyond the default stride (as decoders produce) give the same
 * pixels as tightly packed rows. */
static void
test_padded_strides (void)
{
  AfTensorInfo port = port_info (3, 20, 20, AF_PIXEL_RGB);
  GstVideoFormat fmts[] = { GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420 };
  for (guint f = 0; f < G_N_ELEMENTS (fmts); f++) {
    GstVideoInfo tight, padded;
    gt_video_info (&tight, fmts[f], 385, 289);
    gt_video_info (&padded, fmts[f], 385, 289);
    GstVideoAlignment align;
    gst_video_alignment_reset (&align);
    align.padding_right = 27;
    align.padding_bottom = 3;
    g_assert_true (gst_video_info_align (&padded, &align));
    g_assert_cmpint (GST_VIDEO_INFO_PLANE_STRIDE (&padded, 0), >,
                     GST_VIDEO_INFO_PLANE_STRIDE (&tight, 0));
    GstBuffer *a = gt_frame_new (&tight, noise, NULL);
    GstBuffer *b = gt_frame_new (&padded, noise, NULL);
    g_autofree guint8 *pa = run (&tight, a, FALSE, &port);
    g_autofree guint8 *pb = run (&padded, b, FALSE, &port);
    g_assert_cmpmem (pa, 3 * 400, pb, 3 * 400);
    gst_buffer_unref (a);
    gst_buffer_unref (b);
  }
}

/* Without colorimetry in the caps YUV is BT.601 limited range; with a
 * full-range colorimetry the same bytes decode differently. */
static void
test_colorimetry (void)
{
  AfTensorInfo port = port_info (3, 4, 4, AF_PIXEL_RGB);
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_I420, 8, 8);
  GstBuffer *buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  gst_buffer_memset (buf, 0, 128, GST_VIDEO_INFO_SIZE (&info));
  gst_buffer_memset (buf, 0, 200, GST_VIDEO_INFO_COMP_STRIDE (&info, 0) * 8);
  g_autofree guint8 *limited = run (&info, buf, FALSE, &port);
  const guint8 lim[3] = { 214, 214, 214 }; /* (200 - 16) * 255 / 219 */
  assert_planes (limited, 3, 16, lim, 1, "limited");
  info.colorimetry.matrix = GST_VIDEO_COLOR_MATRIX_BT601;
  info.colorimetry.range = GST_VIDEO_COLOR_RANGE_0_255;
  g_autofree guint8 *full = run (&info, buf, TRUE, &port);
  const guint8 fu[3] = { 200, 200, 200 };
  assert_planes (full, 3, 16, fu, 0, "full");
  gst_buffer_unref (buf);
}

static guint n_windowed; /* run_path calls that staged through the VBMI windows */

/* Runs @buf through @port with the AVX2 kernels (@simd) or the portable
 * ones; NULL when AVX2 was asked for and the CPU lacks it. */
static guint8 *
run_path (const GstVideoInfo *info, GstBuffer *buf, const AfTensorInfo *port, gboolean simd)
{
  GstAneforgePreprocess pp = { 0 };
  GError *error = NULL;
  g_assert_true (gst_aneforge_preprocess_init (&pp, info, TRUE, port, &error));
  n_windowed += simd && pp.win != NULL;
  g_assert_no_error (error);
  if (gst_aneforge_preprocess_set_simd (&pp, simd) != simd) {
    gst_aneforge_preprocess_clear (&pp);
    return NULL;
  }
  gsize n = port->shape[1] * port->shape[2] * port->shape[3];
  guint8 *dst = g_malloc (n);
  memset (dst, simd ? 0x11 : 0x77, n); /* different: unwritten bytes differ */
  GstVideoFrame f;
  g_assert_true (gst_video_frame_map (&f, info, buf, GST_MAP_READ));
  gst_aneforge_preprocess_run (&pp, &f, dst);
  gst_video_frame_unmap (&f);
  gst_aneforge_preprocess_clear (&pp);
  return dst;
}

/* The AVX2 kernels give the portable kernels' bytes exactly, in every sink
 * format, for downscales, upscales, tiny frames (the staged fallback), odd
 * sizes, padded strides, BGR, luma and full-range ports: once as the CPU
 * allows (AVX-512 VBMI windows where they fit) and once with AVX-512 off
 * (AF_CPU_NO_AVX512=1: the AVX2 gathers everywhere). */
static void simd_matches_portable (void);

static void
test_simd_matches_portable (void)
{
  n_windowed = 0;
  g_setenv ("AF_CPU_NO_AVX512", "1", TRUE);
  simd_matches_portable ();
  g_assert_cmpuint (n_windowed, ==, 0);
  g_unsetenv ("AF_CPU_NO_AVX512");
  simd_matches_portable ();
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports ("avx512vbmi") && __builtin_cpu_supports ("avx512bw"))
    g_assert_cmpuint (n_windowed, >, 0); /* the windows ran (and matched) */
#endif
}

static void
simd_matches_portable (void)
{
  const int in_sizes[][2] = { { 385, 289 }, { 1920, 1080 }, { 33, 17 }, { 3, 5 }, { 1, 1 } };
  const int ports[][3] = { { 3, 224, 224 }, { 3, 23, 41 }, { 1, 28, 28 }, { 3, 301, 500 } };
  const AfPixelOrder orders[] = { AF_PIXEL_RGB, AF_PIXEL_BGR, AF_PIXEL_GRAY, AF_PIXEL_RGB };
  guint checked = 0;
  for (guint f = 0; f < gt_n_formats; f++)
    for (guint s = 0; s < G_N_ELEMENTS (in_sizes); s++)
      for (guint pad = 0; pad < 2; pad++) {
        int w = in_sizes[s][0], h = in_sizes[s][1];
        GstVideoInfo info;
        gt_video_info (&info, gt_formats[f], w, h);
        if (pad) {
          GstVideoAlignment align;
          gst_video_alignment_reset (&align);
          align.padding_right = 13;
          align.padding_bottom = 1;
          g_assert_true (gst_video_info_align (&info, &align));
        }
        if (f % 2) { /* half of the formats decode as full-range BT.709 */
          info.colorimetry.matrix = GST_VIDEO_COLOR_MATRIX_BT709;
          info.colorimetry.range = GST_VIDEO_COLOR_RANGE_0_255;
        }
        GstBuffer *buf = gt_frame_new (&info, noise, NULL);
        for (guint p = 0; p < G_N_ELEMENTS (ports); p++) {
          AfTensorInfo port = port_info (ports[p][0], ports[p][1], ports[p][2], orders[p]);
          g_autofree guint8 *fast = run_path (&info, buf, &port, TRUE);
          if (!fast) {
            gst_buffer_unref (buf);
            g_test_skip ("isa: no AVX2 on this CPU");
            return;
          }
          g_autofree guint8 *slow = run_path (&info, buf, &port, FALSE);
          gsize n = port.shape[1] * port.shape[2] * port.shape[3];
          for (gsize i = 0; i < n; i++)
            if (fast[i] != slow[i])
              g_error ("%s %dx%d pad %u -> %dx%dx%d: byte %" G_GSIZE_FORMAT
                       " is %d with AVX2, %d portable",
                       gst_video_format_to_string (gt_formats[f]), w, h, pad, ports[p][0],
                       ports[p][1], ports[p][2], i, fast[i], slow[i]);
          checked++;
        }
        gst_buffer_unref (buf);
      }
  g_assert_cmpuint (checked, ==, gt_n_formats * G_N_ELEMENTS (in_sizes) * 2 * G_N_ELEMENTS (ports));
}

/* Noisy YUV at the port's size decodes, at the inner pixels of each 4x4
 * block, within +-2 of the RGB the frame was made from, in both paths. */
static void
test_yuv_noise_colours (void)
{
  GstVideoFormat fmts[] = { GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420 };
  for (guint f = 0; f < G_N_ELEMENTS (fmts); f++)
    for (int simd = 0; simd < 2; simd++) {
      GstVideoInfo info;
      gt_video_info (&info, fmts[f], 64, 48);
      GstBuffer *buf = gt_frame_new (&info, block_noise, NULL);
      AfTensorInfo port = port_info (3, 48, 64, AF_PIXEL_RGB);
      g_autofree guint8 *px = run_path (&info, buf, &port, simd);
      gst_buffer_unref (buf);
      if (!px)
        continue;
      for (int c = 0; c < 3; c++)
        for (int y = 0; y < 48; y++)
          for (int x = 0; x < 64; x++) {
            if (x % 4 == 0 || x % 4 == 3 || y % 4 == 0 || y % 4 == 3)
              continue;
            guint8 rgb[3];
            block_noise (x, y, rgb, NULL);
            int got = px[(c * 48 + y) * 64 + x];
            if (ABS (got - (int) rgb[c]) > 2)
              g_error ("%s %s: c%d (%d,%d) = %d, expected %d +- 2",
                       gst_video_format_to_string (fmts[f]), simd ? "avx2" : "portable", c, x, y,
                       got, rgb[c]);
          }
    }
}

/* A port that is not an image port, or has 2 channels, is refused with a
 * message naming the port. */
static void
test_rejects_bad_port (void)
{
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_RGB, 8, 8);
  GstAneforgePreprocess pp = { 0 };
  GError *error = NULL;
  AfTensorInfo port = port_info (3, 8, 8, AF_PIXEL_RGB);
  port.is_image = FALSE;
  g_assert_false (gst_aneforge_preprocess_init (&pp, &info, FALSE, &port, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "\"image\""));
  g_clear_error (&error);
  port = port_info (2, 8, 8, AF_PIXEL_RGB);
  g_assert_false (gst_aneforge_preprocess_init (&pp, &info, FALSE, &port, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  gst_aneforge_preprocess_clear (&pp);
}

typedef struct {
  const GstAneforgePreprocess *pp;
  const GstVideoFrame *frame;
  guint8 *dst;
  gint oy0, oy1, slot;
} RowRange;

static gpointer
run_range (gpointer data)
{
  const RowRange *r = data;
  for (int rep = 0; rep < 20; rep++)
    gst_aneforge_preprocess_run_rows (r->pp, r->frame, r->dst, r->oy0, r->oy1, r->slot);
  return NULL;
}

/* Row ranges on separate scratch slots, run at once on three threads (what
 * the element's threads do), write the bytes one whole pass writes, in
 * every sink format, for each path. */
static void
test_row_slots (void)
{
  for (guint f = 0; f < gt_n_formats; f++)
    for (int simd = 0; simd < 2; simd++) {
      GstVideoInfo info;
      gt_video_info (&info, gt_formats[f], 385, 289);
      GstBuffer *buf = gt_frame_new (&info, noise, NULL);
      AfTensorInfo port = port_info (3, 61, 224, AF_PIXEL_RGB);
      GstAneforgePreprocess pp = { 0 };
      g_assert_true (gst_aneforge_preprocess_init (&pp, &info, TRUE, &port, NULL));
      gst_aneforge_preprocess_set_simd (&pp, simd);
      gst_aneforge_preprocess_set_slots (&pp, 3);
      gsize n = 3 * 61 * 224;
      guint8 *whole = g_malloc (n), *parts = g_malloc (n);
      memset (parts, 0x5a, n);
      GstVideoFrame fr;
      g_assert_true (gst_video_frame_map (&fr, &info, buf, GST_MAP_READ));
      gst_aneforge_preprocess_run (&pp, &fr, whole);
      RowRange rr[3] = { { &pp, &fr, parts, 40, 61, 2 },
                         { &pp, &fr, parts, 0, 17, 1 },
                         { &pp, &fr, parts, 17, 40, 0 } };
      GThread *th[3];
      for (int t = 0; t < 3; t++)
        th[t] = g_thread_new ("rows", run_range, &rr[t]);
      for (int t = 0; t < 3; t++)
        g_thread_join (th[t]);
      gst_video_frame_unmap (&fr);
      if (memcmp (whole, parts, n) != 0)
        g_error ("%s simd %d: row ranges differ from one pass",
                 gst_video_format_to_string (gt_formats[f]), simd);
      g_free (whole);
      g_free (parts);
      gst_aneforge_preprocess_clear (&pp);
      gst_buffer_unref (buf);
    }
}

int
main (int argc, char **argv)
{
  gt_init (&argc, &argv);
  g_test_add_func ("/preprocess/solid-every-format", test_solid_every_format);
  g_test_add_func ("/preprocess/bgr-port", test_bgr_port);
  g_test_add_func ("/preprocess/gray-port", test_gray_port);
  g_test_add_func ("/preprocess/resize-reference", test_resize_matches_reference);
  g_test_add_func ("/preprocess/identity-exact", test_identity_exact);
  g_test_add_func ("/preprocess/padded-strides", test_padded_strides);
  g_test_add_func ("/preprocess/colorimetry", test_colorimetry);
  g_test_add_func ("/preprocess/rejects-bad-port", test_rejects_bad_port);
  g_test_add_func ("/preprocess/simd-matches-portable", test_simd_matches_portable);
  g_test_add_func ("/preprocess/yuv-noise-colours", test_yuv_noise_colours);
  g_test_add_func ("/preprocess/row-slots", test_row_slots);
  int ret = g_test_run ();
  gt_deinit ();
  return ret;
}
