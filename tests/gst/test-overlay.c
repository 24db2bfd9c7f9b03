/* test-overlay.c — the aneforgeoverlay element and its drawing code: pixels
 * checked at known places on real photos and on frames classified by the
 * aneforge element, small and 4K frames, the show-* switches, and no
 * allocation per frame. */
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <gst/check/gstharness.h>
#include <string.h>

#include "gst-test-util.h"
#include "gstaneforgedraw.h"
#include "gstaneforgemeta.h"

/* ---- counting allocations (this thread only) ---------------------------- */

extern void *__libc_malloc (size_t n);
extern void *__libc_calloc (size_t n, size_t size);
extern void *__libc_realloc (void *p, size_t n);
static __thread gboolean counting;
static __thread guint n_allocs;

void *
malloc (size_t n)
{
  n_allocs += counting;
  return __libc_malloc (n);
}

void *
calloc (size_t n, size_t size)
{
  n_allocs += counting;
  return __libc_calloc (n, size);
}

void *
realloc (void *p, size_t n)
{
  n_allocs += counting;
  return __libc_realloc (p, n);
}

/* ---- frames ---------------------------------------------------------------- */

typedef struct {
  GstVideoInfo info;
  GstBuffer *buf;
  GstMapInfo map;
} Frame;

/* Maps @buf (consumed) as a writable frame described by @caps. */
static void
frame_init (Frame *f, GstBuffer *buf, GstCaps *caps)
{
  g_assert_true (gst_video_info_from_caps (&f->info, caps));
  f->buf = buf;
  g_assert_true (gst_buffer_map (buf, &f->map, GST_MAP_READWRITE));
}

static void
frame_clear (Frame *f)
{
  gst_buffer_unmap (f->buf, &f->map);
  gst_buffer_unref (f->buf);
}

static guint8 *
pixel (const Frame *f, int x, int y)
{
  return f->map.data + (gsize) y * GST_VIDEO_INFO_PLANE_STRIDE (&f->info, 0) +
         (gsize) x * GST_VIDEO_INFO_COMP_PSTRIDE (&f->info, 0);
}

static gboolean
pixel_is (const Frame *f, int x, int y, const guint8 rgb[3])
{
  const guint8 *p = pixel (f, x, y);
  const GstVideoFormatInfo *fi = f->info.finfo;
  for (int c = 0; c < 3; c++)
    if (p[GST_VIDEO_FORMAT_INFO_POFFSET (fi, c)] != rgb[c])
      return FALSE;
  return TRUE;
}

/* Number of pixels of [x0, x1) x [y0, y1) that differ between @a and @b. */
static guint
count_changed (const Frame *a, const Frame *b, int x0, int y0, int x1, int y1)
{
  guint n = 0;
  int ps = GST_VIDEO_INFO_COMP_PSTRIDE (&a->info, 0);
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      n += memcmp (pixel (a, x, y), pixel (b, x, y), ps) != 0;
  return n;
}

/* Number of pixels of [x0, x1) x [y0, y1) that are exactly @rgb. */
static guint
count_colour (const Frame *f, int x0, int y0, int x1, int y1, const guint8 rgb[3])
{
  guint n = 0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      n += pixel_is (f, x, y, rgb);
  return n;
}

/* A real photo of the shared media folder decoded to BGRx with jpegdec and
 * videoconvert, or NULL (test skipped) without it. */
static gboolean
photo_load (const char *name, Frame *f)
{
  g_autofree char *path = g_build_filename (g_getenv ("AF_SHARED"), "media", name, NULL);
  g_autofree char *bytes = NULL;
  gsize size;
  if (!g_file_get_contents (path, &bytes, &size, NULL)) {
    g_test_fail_printf ("%s is missing", path);
    return FALSE;
  }
  GstHarness *h =
      gst_harness_new_parse ("jpegdec ! videoconvert ! capsfilter caps=video/x-raw,format=BGRx");
  gst_harness_set_src_caps_str (h, "image/jpeg");
  GstBuffer *in = gst_buffer_new_wrapped (g_steal_pointer (&bytes), size);
  g_assert_cmpint (gst_harness_push (h, in), ==, GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h);
  g_assert_nonnull (out);
  GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
  frame_init (f, gst_buffer_make_writable (out), caps);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
  return TRUE;
}

static void
frame_copy (Frame *dst, const Frame *src)
{
  dst->info = src->info;
  dst->buf = gst_buffer_copy_deep (src->buf);
  g_assert_true (gst_buffer_map (dst->buf, &dst->map, GST_MAP_READWRITE));
}

static GstAneforgeDraw *
draw_new (const Frame *f, double font_scale)
{
  GstAneforgeDraw *d = gst_aneforge_draw_new ();
  g_assert_true (gst_aneforge_draw_configure (d, GST_VIDEO_INFO_FORMAT (&f->info),
                                              GST_VIDEO_INFO_WIDTH (&f->info),
                                              GST_VIDEO_INFO_HEIGHT (&f->info), font_scale));
  return d;
}

static void
render (GstAneforgeDraw *d, Frame *f, const GstAneforgeDrawResults *r, GstAneforgeDrawFlags flags)
{
  gst_aneforge_draw_render (d, f->map.data, GST_VIDEO_INFO_PLANE_STRIDE (&f->info, 0), r, flags);
}

static const guint8 WHITE[3] = { GST_ANEFORGE_DRAW_TEXT_RGB };
static const guint8 RED[3] = { 255, 0, 0 };

static const GstAneforgeClassification CLASSES[] = {
  { 281, "tabby cat", 0.71f },
  { 285, "Egyptian cat", 0.2f },
  { 282, "tiger cat", 0.05f },
};

/* A box at (400, 200)-(800, 500) with its landmarks. */
static const GstAneforgeDetection BOX = {
  400, 200, 800, 500, 0.87f, 0, "cat", 2, { 500, 300, 700, 300 },
};

/* ---- drawing on real photos --------------------------------------------------- */

/* On a decoded photo, a box's edges take the box colour exactly, its caption
 * sits on a tag of that colour above it, pixels well inside and well away
 * from it are unchanged, and the class panel at the top-left changes pixels
 * and holds text-coloured ones. */
static void
test_draw_box_on_photo (void)
{
  Frame orig, f;
  if (!photo_load ("cat_720p.jpg", &orig))
    return;
  g_assert_cmpint (GST_VIDEO_INFO_WIDTH (&orig.info), ==, 1280);
  g_assert_cmpint (GST_VIDEO_INFO_HEIGHT (&orig.info), ==, 720);
  frame_copy (&f, &orig);
  GstAneforgeDraw *d = draw_new (&f, 1.0);
  GstAneforgeDrawResults r = { G_N_ELEMENTS (CLASSES), CLASSES, 1, &BOX, 3000000, 0, 0 };
  render (d, &f, &r, GST_ANEFORGE_DRAW_LABELS | GST_ANEFORGE_DRAW_BOXES);

  guint8 box[3];
  gst_aneforge_draw_box_colour (0, box);
  int lw = d->line_w;
  g_assert_cmpint (lw, >=, 2);
  for (int t = 300; t < 500; t += 7) {
    g_assert_true (pixel_is (&f, 400, t, box)); /* left, right edges */
    g_assert_true (pixel_is (&f, 800, t, box));
    g_assert_true (pixel_is (&f, t + 200, 500, box)); /* bottom */
  }
  g_assert_true (pixel_is (&f, 600, 200, box));          /* top, right of the caption */
  g_assert_true (pixel_is (&f, 402, 200 - lw - 2, box)); /* caption tag */
  /* the caption's black text */
  static const guint8 black[3] = { 0, 0, 0 };
  g_assert_cmpuint (count_colour (&f, 400, 200 - d->line_h - lw, 600, 200, black), >, 20);

  /* inside the box (landmarks off), below it: untouched */
  g_assert_cmpuint (count_changed (&f, &orig, 400 + lw, 200 + lw, 800 - lw, 500 - lw), ==, 0);
  g_assert_cmpuint (count_changed (&f, &orig, 0, 500 + lw, 1280, 720), ==, 0);
  g_assert_cmpuint (count_changed (&f, &orig, 800 + lw, 200 - lw, 1280, 500 + lw), ==, 0);

  /* the panel: rows of text and bars on a darkened photo */
  int panel_h = 3 * (d->line_h + d->pad / 2);
  guint changed =
      count_changed (&f, &orig, d->pad, d->pad, d->pad + 6 * d->font_px, d->pad + panel_h);
  g_assert_cmpuint (changed, >, 0.9 * 6 * d->font_px * panel_h);
  g_assert_cmpuint (count_colour (&f, 0, 0, 640, d->pad + panel_h, WHITE), >, 100);
  /* the first label is "tabby cat", wider than "tiger cat"'s row is tall */
  g_assert_cmpuint (count_colour (&f, 0, d->pad, 640, d->pad + d->line_h, WHITE), >, 50);

  gst_aneforge_draw_free (d);
  frame_clear (&f);
  frame_clear (&orig);
}

/* Landmarks are dots: the pixel at each landmark changes, pixels a few radii
 * away inside the box do not; show-landmarks off leaves them untouched. */
static void
test_draw_landmarks (void)
{
  Frame orig, f;
  if (!photo_load ("dog.jpg", &orig))
    return;
  frame_copy (&f, &orig);
  int w = GST_VIDEO_INFO_WIDTH (&f.info), h = GST_VIDEO_INFO_HEIGHT (&f.info);
  GstAneforgeDetection det = BOX;
  det.x1 = w * 0.3f, det.y1 = h * 0.3f, det.x2 = w * 0.7f, det.y2 = h * 0.7f;
  float lx[2] = { w * 0.4f, w * 0.6f }, ly = h * 0.5f;
  det.landmarks[0] = lx[0], det.landmarks[1] = ly, det.landmarks[2] = lx[1], det.landmarks[3] = ly;
  GstAneforgeDraw *d = draw_new (&f, 1.0);
  GstAneforgeDrawResults r = { 0, NULL, 1, &det, 0, 0, 0 };

  render (d, &f, &r, GST_ANEFORGE_DRAW_ALL & ~GST_ANEFORGE_DRAW_LANDMARKS);
  g_assert_cmpuint (count_changed (&f, &orig, (int) det.x1 + 8, (int) det.y1 + 8, (int) det.x2 - 8,
                                   (int) det.y2 - 8),
                    ==, 0);

  render (d, &f, &r, GST_ANEFORGE_DRAW_LANDMARKS);
  for (int k = 0; k < 2; k++) {
    int x = (int) lx[k], y = (int) ly, r3 = 3 * d->dot_r;
    g_assert_cmpuint (count_changed (&f, &orig, x - 1, y - 1, x + 1, y + 1), ==, 4);
    g_assert_cmpuint (count_changed (&f, &orig, x + r3, y - 1, x + r3 + 2, y + 1), ==, 0);
    g_assert_cmpuint (count_changed (&f, &orig, x - 1, y + r3, x + 1, y + r3 + 2), ==, 0);
  }
  gst_aneforge_draw_free (d);
  frame_clear (&f);
  frame_clear (&orig);
}

/* With every show-* switch off nothing is drawn; show-latency alone only
 * touches the top-right corner. */
static void
test_draw_flags (void)
{
  Frame orig, f;
  if (!photo_load ("cat_720p.jpg", &orig))
    return;
  frame_copy (&f, &orig);
  GstAneforgeDraw *d = draw_new (&f, 1.0);
  GstAneforgeDrawResults r = { G_N_ELEMENTS (CLASSES), CLASSES, 1, &BOX, 3000000, 2, 66666666 };
  render (d, &f, &r, 0);
  g_assert_cmpuint (count_changed (&f, &orig, 0, 0, 1280, 720), ==, 0);
  render (d, &f, &r, GST_ANEFORGE_DRAW_LATENCY);
  g_assert_cmpuint (count_changed (&f, &orig, 640, 0, 1280, 3 * d->line_h), >, 100);
  g_assert_cmpuint (count_changed (&f, &orig, 0, 3 * d->line_h, 1280, 720), ==, 0);
  g_assert_cmpuint (count_changed (&f, &orig, 0, 0, 640, 720), ==, 0);
  gst_aneforge_draw_free (d);
  frame_clear (&f);
  frame_clear (&orig);
}

/* Text scales with the frame height (clamped for small frames); 320x240 and
 * 3840x2160 frames both get a panel with text, and out-of-frame or NaN boxes
 * are clipped without a crash. */
static void
test_draw_sizes (void)
{
  static const int sizes[][2] = { { 320, 240 }, { 3840, 2160 }, { 385, 289 }, { 16, 8 } };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    int w = sizes[i][0], h = sizes[i][1];
    Frame f, orig;
    GstCaps *caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "BGR", "width",
                                         G_TYPE_INT, w, "height", G_TYPE_INT, h, NULL);
    frame_init (&orig, gt_solid_frame (GST_VIDEO_FORMAT_BGR, w, h, RED), caps);
    gst_caps_unref (caps);
    frame_copy (&f, &orig);
    GstAneforgeDraw *d = draw_new (&f, 1.0);
    g_assert_cmpint (d->font_px, ==, MAX (11, h / 30));
    GstAneforgeDetection dets[3] = { BOX, BOX, BOX };
    dets[1].x1 = -1e9f, dets[1].x2 = 1e9f, dets[1].n_landmarks = 5;
    dets[2].x1 = 0.0f / 0.0f, dets[2].label = NULL;
    GstAneforgeDrawResults r = { G_N_ELEMENTS (CLASSES), CLASSES, 3, dets, 1500000, 0, 0 };
    render (d, &f, &r, GST_ANEFORGE_DRAW_ALL);
    if (h >= 240) {
      int ph = d->pad + d->line_h;
      g_assert_cmpuint (count_colour (&f, 0, 0, w / 2, ph, WHITE), >, d->font_px);
      g_assert_cmpuint (count_changed (&f, &orig, 0, 0, w / 2, ph), >, d->font_px * d->font_px);
    }
    gst_aneforge_draw_free (d);
    frame_clear (&f);
    frame_clear (&orig);
  }
}

/* Every accepted format gets the box colour in its own channel order, an
 * opaque alpha where it has one, and untouched pixels elsewhere. */
static void
test_draw_formats (void)
{
  static const GstVideoFormat formats[] = {
    GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_RGBA,
    GST_VIDEO_FORMAT_xRGB, GST_VIDEO_FORMAT_ARGB, GST_VIDEO_FORMAT_xBGR, GST_VIDEO_FORMAT_ABGR,
    GST_VIDEO_FORMAT_RGB,  GST_VIDEO_FORMAT_BGR,
  };
  static const guint8 grey[3] = { 90, 100, 110 };
  guint8 box[3];
  gst_aneforge_draw_box_colour (0, box);
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstVideoInfo info;
    gt_video_info (&info, formats[i], 385, 289); /* odd: row padding */
    GstCaps *caps = gst_video_info_to_caps (&info);
    Frame f;
    GstBuffer *buf = gt_solid_frame (formats[i], 385, 289, grey);
    if (GST_VIDEO_INFO_HAS_ALPHA (&info)) { /* half-transparent frame */
      GstVideoFrame vf;
      g_assert_true (gst_video_frame_map (&vf, &info, buf, GST_MAP_WRITE));
      guint8 *alpha = GST_VIDEO_FRAME_COMP_DATA (&vf, 3);
      int stride = GST_VIDEO_FRAME_COMP_STRIDE (&vf, 3), ps = GST_VIDEO_FRAME_COMP_PSTRIDE (&vf, 3);
      for (int y = 0; y < 289; y++)
        for (int x = 0; x < 385; x++)
          alpha[y * stride + x * ps] = 128;
      gst_video_frame_unmap (&vf);
    }
    frame_init (&f, buf, caps);
    gst_caps_unref (caps);
    GstAneforgeDraw *d = draw_new (&f, 1.0);
    GstAneforgeDetection det = BOX;
    det.x1 = 100, det.y1 = 100, det.x2 = 300, det.y2 = 250;
    GstAneforgeDrawResults r = { 0, NULL, 1, &det, 0, 0, 0 };
    render (d, &f, &r, GST_ANEFORGE_DRAW_BOXES);
    g_assert_true (pixel_is (&f, 100, 200, box));
    g_assert_true (pixel_is (&f, 300, 200, box));
    g_assert_true (pixel_is (&f, 200, 250, box));
    g_assert_true (pixel_is (&f, 200, 200, grey));
    g_assert_true (pixel_is (&f, 384, 288, grey));
    g_assert_true (pixel_is (&f, 0, 0, grey));
    if (GST_VIDEO_INFO_HAS_ALPHA (&info)) {
      int a = GST_VIDEO_INFO_COMP_POFFSET (&info, 3);
      g_assert_cmpint (pixel (&f, 100, 200)[a], ==, 255);
      g_assert_cmpint (pixel (&f, 200, 200)[a], ==, 128);
    }
    gst_aneforge_draw_free (d);
    frame_clear (&f);
  }
}

/* Results from an earlier frame show their age beside the latency: the
 * corner grows to the left. */
static void
test_draw_age (void)
{
  int left[2];
  for (int aged = 0; aged < 2; aged++) {
    Frame f;
    GstCaps *caps = gst_caps_from_string ("video/x-raw,format=RGB,width=640,height=480");
    frame_init (&f, gt_solid_frame (GST_VIDEO_FORMAT_RGB, 640, 480, RED), caps);
    gst_caps_unref (caps);
    GstAneforgeDraw *d = draw_new (&f, 1.0);
    GstAneforgeDrawResults r = { 0, NULL, 0, NULL, 12300000, aged ? 2 : 0, aged ? 66000000 : 0 };
    render (d, &f, &r, GST_ANEFORGE_DRAW_LATENCY);
    int y = d->pad + d->line_h / 2;
    left[aged] = 0; /* the corner's left edge */
    while (left[aged] < 640 && pixel_is (&f, left[aged], y, RED))
      left[aged]++;
    g_assert_cmpint (left[aged], <, 640 - 2 * d->font_px); /* "12.3 ms" */
    gst_aneforge_draw_free (d);
    frame_clear (&f);
  }
  g_assert_cmpint (left[1], <, left[0] - 100); /* "  age 2 (66 ms)" */
}

/* Once the labels have been seen, drawing a frame allocates nothing. */
static void
test_draw_no_allocation (void)
{
  Frame f;
  GstCaps *caps = gst_caps_from_string ("video/x-raw,format=BGRA,width=640,height=480");
  frame_init (&f, gt_solid_frame (GST_VIDEO_FORMAT_BGRA, 640, 480, RED), caps);
  gst_caps_unref (caps);
  GstAneforgeDraw *d = draw_new (&f, 1.5);
  GstAneforgeDetection dets[2] = { BOX, BOX };
  dets[1].label = NULL;
  GstAneforgeDrawResults r = { G_N_ELEMENTS (CLASSES), CLASSES, 2, dets, 1234567, 3, 100000000 };
  render (d, &f, &r, GST_ANEFORGE_DRAW_ALL); /* caches the labels */
  /* the counter works (not under valgrind, which replaces malloc) */
  n_allocs = 0;
  counting = TRUE;
  g_free (g_malloc (16));
  counting = FALSE;
  if (n_allocs != 1) {
    g_test_skip ("malloc is not interposed here");
    goto out;
  }
  n_allocs = 0;
  counting = TRUE;
  for (int i = 0; i < 10; i++) {
    r.latency_ns += 1000000;
    dets[0].x1 += 1;
    render (d, &f, &r, GST_ANEFORGE_DRAW_ALL);
  }
  counting = FALSE;
  g_assert_cmpuint (n_allocs, ==, 0);
out:
  gst_aneforge_draw_free (d);
  frame_clear (&f);
}

/* ---- the element ---------------------------------------------------------- */

/* A frame without a GstAneforgeMeta passes through aneforgeoverlay
 * unchanged, in every format it accepts. */
static void
test_element_no_meta_passthrough (void)
{
  static const GstVideoFormat formats[] = { GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_RGBA,
                                            GST_VIDEO_FORMAT_ARGB, GST_VIDEO_FORMAT_RGB };
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstHarness *h = gst_harness_new ("aneforgeoverlay");
    GstVideoInfo info;
    gt_video_info (&info, formats[i], 160, 120);
    gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
    GstBuffer *in = gt_solid_frame (formats[i], 160, 120, RED);
    GstBuffer *copy = gst_buffer_copy_deep (in);
    g_assert_cmpint (gst_harness_push (h, in), ==, GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull (h);
    GstMapInfo a, b;
    gst_buffer_map (out, &a, GST_MAP_READ);
    gst_buffer_map (copy, &b, GST_MAP_READ);
    g_assert_cmpmem (a.data, a.size, b.data, b.size);
    gst_buffer_unmap (out, &a);
    gst_buffer_unmap (copy, &b);
    gst_buffer_unref (out);
    gst_buffer_unref (copy);
    gst_harness_teardown (h);
  }
}

/* aneforgeoverlay refuses YUV input (it needs videoconvert in front). */
static void
test_element_rejects_yuv (void)
{
  GstHarness *h = gst_harness_new ("aneforgeoverlay");
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_I420, 64, 48);
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  g_assert_cmpint (gst_harness_push (h, gt_solid_frame (GST_VIDEO_FORMAT_I420, 64, 48, RED)), ==,
                   GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);
}

/* Runs videotestsrc pattern=red at @w x @h through aneforge (tiny colour
 * classifier), videoconvert and aneforgeoverlay (@props); returns the first
 * frame (BGRx). */
static void
classify_red (int w, int h, const char *props, Frame *f)
{
  g_autofree char *launch = g_strdup_printf (
      "aneforge model=\"%s\" ! videoconvert ! video/x-raw,format=BGRx ! aneforgeoverlay %s",
      gt_tiny_model (), props);
  GstHarness *hr = gst_harness_new_parse (launch);
  g_autofree char *src =
      g_strdup_printf ("videotestsrc pattern=red ! capsfilter "
                       "caps=video/x-raw,format=I420,width=%d,height=%d,framerate=30/1",
                       w, h);
  gst_harness_add_src_parse (hr, src, FALSE);
  g_assert_cmpint (gst_harness_push_from_src (hr), ==, GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (hr);
  g_assert_nonnull (out);
  GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (out);
  g_assert_nonnull (meta);
  g_assert_cmpuint (meta->n_classes, >, 0);
  g_assert_cmpstr (meta->classes[0].label, ==, "red");
  GstCaps *caps = gst_pad_get_current_caps (hr->sinkpad);
  frame_init (f, gst_buffer_make_writable (out), caps);
  gst_caps_unref (caps);
  gst_harness_teardown (hr);
}

/* Full pipeline on a red frame: the top-left panel holds white text and
 * darkened pixels, the top-right the latency, and the rest of the frame
 * stays pure red (videotestsrc's red through I420 and back). */
static void
test_element_classifier_panel (void)
{
  Frame f;
  classify_red (320, 240, "", &f);
  guint8 red[3];
  memcpy (red, pixel (&f, 160, 200), 3); /* BGRx */
  const guint8 rgb[3] = { red[2], red[1], red[0] };
  g_assert_cmpint (rgb[0], >, 200);
  g_assert_cmpint (rgb[1], <, 40);
  /* bottom half untouched */
  g_assert_cmpuint (count_colour (&f, 0, 120, 320, 240, rgb), ==, 320 * 120);
  /* the panel, 11 px text rows from y = 2 */
  g_assert_cmpuint (count_colour (&f, 0, 0, 100, 20, WHITE), >, 20);
  g_assert_cmpuint (count_colour (&f, 0, 0, 100, 20, rgb), <, 300);
  /* the latency corner */
  g_assert_cmpuint (count_colour (&f, 240, 0, 320, 20, WHITE), >, 10);
  frame_clear (&f);

  classify_red (320, 240, "show-labels=false show-latency=false", &f);
  g_assert_cmpuint (count_colour (&f, 0, 0, 320, 240, rgb), ==, 320 * 240);
  frame_clear (&f);
}

/* A 3840x2160 frame through the whole pipeline gets a panel with large text
 * (font-scale=2 doubles it). */
static void
test_element_4k (void)
{
  Frame f;
  classify_red (3840, 2160, "font-scale=2", &f);
  /* the row height is > 144 px: the 2nd row starts below y = 150 */
  g_assert_cmpuint (count_colour (&f, 0, 0, 1000, 150, WHITE), >, 1000);
  const guint8 *p = pixel (&f, 1920, 1500); /* BGRx */
  const guint8 red[3] = { p[2], p[1], p[0] };
  g_assert_cmpint (red[0], >, 200);
  g_assert_cmpuint (count_colour (&f, 0, 1200, 3840, 1210, red), ==, 3840 * 10);
  frame_clear (&f);
}

/* Imports the shared YuNet face detector with its detection decode into the
 * tmpdir with tools/aneforge; NULL (test skipped) without the model. */
static char *
yunet_model (void)
{
  g_autofree char *onnx =
      g_build_filename (g_getenv ("AF_SHARED"), "models", "yunet", "yunet_n_320_320.onnx", NULL);
  if (!g_file_test (onnx, G_FILE_TEST_EXISTS)) {
    g_test_fail_printf ("%s is missing", onnx);
    return NULL;
  }
  g_autofree char *tool = g_build_filename (g_getenv ("AF_BUILD_ROOT"), "tools", "aneforge", NULL);
  g_autofree char *labels = gt_write_file ("face.labels", "face\n");
  char *out = g_build_filename (gt_tmpdir (), "yunet.json", NULL);
  const char *argv[] = { tool,       "import", onnx,       "-o",   out, "--bgr",
                         "--decode", "yunet",  "--labels", labels, NULL };
  GError *error = NULL;
  int status;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_spawn_check_wait_status (status, &error);
  g_assert_no_error (error);
  return out;
}

/* Full pipeline with a real face detector on a real photo: aneforge fills
 * detections with landmarks and aneforgeoverlay draws each face's box in the
 * class colour with its caption tag above, and changes the pixels under the
 * landmarks. */
static void
test_element_face_detections (void)
{
  g_autofree char *model = yunet_model ();
  g_autofree char *jpeg = g_build_filename (g_getenv ("AF_SHARED"), "media", "face.jpg", NULL);
  g_autofree char *bytes = NULL;
  gsize size;
  if (!model || !g_file_get_contents (jpeg, &bytes, &size, NULL))
    return;
  Frame f[2];
  for (int pass = 0; pass < 2; pass++) {
    g_autofree char *launch = g_strdup_printf (
        "jpegdec ! videoconvert ! capsfilter caps=video/x-raw,format=BGRx ! aneforge model=\"%s\" "
        "! aneforgeoverlay show-landmarks=%s show-labels=%s",
        model, pass ? "true" : "false", pass ? "true" : "false");
    GstHarness *h = gst_harness_new_parse (launch);
    gst_harness_set_src_caps_str (h, "image/jpeg");
    g_assert_cmpint (gst_harness_push (h, gst_buffer_new_memdup (bytes, size)), ==, GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull (h);
    g_assert_nonnull (out);
    GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
    frame_init (&f[pass], gst_buffer_make_writable (out), caps);
    gst_caps_unref (caps);
    gst_harness_teardown (h);
  }
  GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (f[1].buf);
  g_assert_nonnull (meta);
  g_assert_cmpuint (meta->n_detections, >=, 2); /* face.jpg: two people in front */
  for (guint i = 0; i < meta->n_detections; i++) {
    const GstAneforgeDetection *det = &meta->detections[i];
    guint8 box[3];
    gst_aneforge_draw_box_colour (det->class_index, box);
    int x1 = (int) (det->x1 + 0.5f), x2 = (int) (det->x2 + 0.5f);
    int y1 = (int) (det->y1 + 0.5f), y2 = (int) (det->y2 + 0.5f);
    if (x1 < 0 || y1 < 20 || x2 >= GST_VIDEO_INFO_WIDTH (&f[0].info) ||
        y2 >= GST_VIDEO_INFO_HEIGHT (&f[0].info))
      continue; /* partly outside: edges clipped */
    /* the lower half of the left and right edges (no caption, no other box
     * on top for these well separated faces) */
    g_assert_true (pixel_is (&f[0], x1, (y1 + 3 * y2) / 4, box));
    g_assert_true (pixel_is (&f[0], x2, (y1 + 3 * y2) / 4, box));
    g_assert_true (pixel_is (&f[1], x1 + 1, y1 - 4, box)); /* the caption tag */
    g_assert_cmpuint (det->n_landmarks, ==, 5);
    for (guint k = 0; k < det->n_landmarks; k++) {
      int lx = (int) (det->landmarks[2 * k] + 0.5f), ly = (int) (det->landmarks[2 * k + 1] + 0.5f);
      g_assert_cmpuint (count_changed (&f[0], &f[1], lx - 1, ly - 1, lx + 1, ly + 1), >, 0);
    }
  }
  frame_clear (&f[0]);
  frame_clear (&f[1]);
}

int
main (int argc, char **argv)
{
  gt_init (&argc, &argv);
  g_test_add_func ("/overlay/draw/box-on-photo", test_draw_box_on_photo);
  g_test_add_func ("/overlay/draw/landmarks", test_draw_landmarks);
  g_test_add_func ("/overlay/draw/flags", test_draw_flags);
  g_test_add_func ("/overlay/draw/sizes", test_draw_sizes);
  g_test_add_func ("/overlay/draw/formats", test_draw_formats);
  g_test_add_func ("/overlay/draw/age", test_draw_age);
  g_test_add_func ("/overlay/draw/no-allocation", test_draw_no_allocation);
  g_test_add_func ("/overlay/element/no-meta-passthrough", test_element_no_meta_passthrough);
  g_test_add_func ("/overlay/element/rejects-yuv", test_element_rejects_yuv);
  g_test_add_func ("/overlay/element/classifier-panel", test_element_classifier_panel);
  g_test_add_func ("/overlay/element/4k", test_element_4k);
  g_test_add_func ("/overlay/element/face-detections", test_element_face_detections);
  int ret = g_test_run ();
  gt_deinit ();
  /* drop cairo's and fontconfig's caches, for valgrind */
  cairo_debug_reset_static_data ();
  FcFini ();
  return ret;
}
