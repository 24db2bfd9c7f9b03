/* test-hostile.c — hostile streams through the aneforge element: damaged
 * files through decodebin, caps renegotiation every few frames, padded
 * strides, 1x1 and 8192x8192 frames, missing and backward timestamps, EOS
 * in the middle of a batch, flush storms during live inference and state
 * changes from other threads while streaming. Nothing may crash, hang or
 * leak (the leaks tracer of meson's environment, ASan); errors must come
 * from the element that met the damage, and the element recovers where
 * GStreamer convention says it should (after a flush, a caps change, a new
 * segment). Each case prints a "# hostile:" line with its outcome (the
 * table in docs/reliability.md). */
#include <gst/check/gstharness.h>
#include <string.h>

#include "gst-test-util.h"
#include "gstaneforgemeta.h"

#define FRAME_NS (GST_SECOND / 30)

static const guint8 RED[3] = { 255, 0, 0 };

static GstAneforgeMeta *
get_meta (GstBuffer *b)
{
  return gst_aneforge_meta_api_type_lookup () ? gst_buffer_get_aneforge_meta (b) : NULL;
}

static void report (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

/* One line of the outcome table: stdout (the test log) as a TAP comment. */
static void
report (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *s = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_print ("# hostile: %s\n", s);
}

/* An aneforge element in a harness, its bus messages dropped. The varargs
 * are property name / value pairs (NULL-terminated) set before the start;
 * "mode" as a string. */
static GstHarness *
harness_new (const char *model, const char *mode, const char *first, ...)
{
  GstElement *e = gst_element_factory_make ("aneforge", NULL);
  g_assert_nonnull (e);
  g_object_set (e, "model", model, "threads", 1, NULL);
  gst_util_set_object_arg (G_OBJECT (e), "mode", mode);
  if (first) {
    va_list ap;
    va_start (ap, first);
    g_object_set_valist (G_OBJECT (e), first, ap);
    va_end (ap);
  }
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_object_ref_sink (e);
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  return h;
}

static void
harness_caps (GstHarness *h, const GstVideoInfo *info)
{
  gst_harness_set_src_caps (h, gst_video_info_to_caps (info));
}

/* Pushes @in (transfer full) at @pts and pulls the buffer back. */
static GstBuffer *
push_pull (GstHarness *h, GstBuffer *in, GstClockTime pts)
{
  GST_BUFFER_PTS (in) = pts;
  GST_BUFFER_DURATION (in) = FRAME_NS;
  g_assert_cmpint (gst_harness_push (h, in), ==, GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h);
  g_assert_nonnull (out);
  return out;
}

/* The first output tensor of @b's meta, copied (transfer full), and its
 * best class. */
static GArray *
tensor_of (GstBuffer *b, guint *best)
{
  GstAneforgeMeta *m = get_meta (b);
  g_assert_nonnull (m);
  g_assert_cmpuint (m->n_tensors, >, 0);
  g_assert_cmpuint (m->n_classes, >, 0);
  *best = m->classes[0].index;
  GArray *a = g_array_sized_new (FALSE, FALSE, sizeof (gfloat), m->tensors[0].n_elements);
  g_array_append_vals (a, m->tensors[0].data, m->tensors[0].n_elements);
  return a;
}

static void
assert_same_tensor (GArray *a, GArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  g_assert_cmpmem (a->data, a->len * sizeof (gfloat), b->data, b->len * sizeof (gfloat));
}

/* A frame of @format, @w x @h, one colour per 8x8 block (so that scaling,
 * stride and plane mistakes change the results). */
static void
blocks (int x, int y, guint8 rgb[3], gpointer data)
{
  (void) data;
  rgb[0] = (guint8) ((x / 8) * 37 + (y / 8) * 11);
  rgb[1] = (guint8) ((x / 8) * 5 + (y / 8) * 53);
  rgb[2] = (guint8) ((x / 8 + y / 8) % 2 ? 200 : 30);
}

static GstBuffer *
blocks_frame (GstVideoFormat format, int w, int h)
{
  GstVideoInfo info;
  gt_video_info (&info, format, w, h);
  return gt_frame_new (&info, blocks, NULL);
}

/* ---------------------------------------------------------------- damaged files */

typedef struct {
  gboolean eos;
  char *error_from; /* element name, NULL without an error */
  char *error;
  guint results; /* aneforge messages */
} Outcome;

static void
outcome_clear (Outcome *o)
{
  g_free (o->error_from);
  g_free (o->error);
}

/* Runs @path through decodebin and aneforge (offline, tiny model) until EOS
 * or an error; fails after 120 s. */
static Outcome
run_file (const char *path, guint eos_after)
{
  g_autofree char *desc = g_strdup_printf (
      "filesrc location=\"%s\" ! decodebin ! identity eos-after=%d ! aneforge name=af "
      "mode=offline threads=1 model=\"%s\" ! fakesink sync=false",
      path, eos_after ? (gint) eos_after : -1, gt_tiny_model ());
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  g_assert_no_error (err);
  Outcome o = { FALSE, NULL, NULL, 0 };
  GstBus *bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  for (;;) {
    gint64 left = deadline - g_get_monotonic_time ();
    g_assert_cmpint (left, >, 0);
    GstMessage *m = gst_bus_timed_pop (bus, left * 1000);
    g_assert_nonnull (m);
    gboolean done = FALSE;
    if (gst_message_has_name (m, "aneforge")) {
      o.results++;
    } else if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS) {
      o.eos = done = TRUE;
    } else if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
      GError *e = NULL;
      gst_message_parse_error (m, &e, NULL);
      o.error_from = g_strdup (GST_OBJECT_NAME (GST_MESSAGE_SRC (m)));
      o.error = g_strdup (e->message);
      g_error_free (e);
      done = TRUE;
    }
    gst_message_unref (m);
    if (done)
      break;
  }
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (p);
  return o;
}

static GBytes *
read_vtest (void)
{
  const char *shared = g_getenv ("AF_SHARED");
  g_assert_nonnull (shared);
  g_autofree char *path = g_build_filename (shared, "media", "vtest.avi", NULL);
  char *data = NULL;
  gsize len = 0;
  GError *err = NULL;
  g_file_get_contents (path, &data, &len, &err);
  g_assert_no_error (err); /* ../shared is required: a missing file fails */
  return g_bytes_new_take (data, len);
}

/* Writes @len bytes of @data with @n_flips bytes XORed with a random non-zero
 * value at offsets in [@lo, @hi) (GRand seeded with @seed). */
static char *
write_damaged (const char *name, const guint8 *data, gsize len, guint n_flips, gsize lo, gsize hi,
               guint32 seed)
{
  guint8 *copy = g_memdup2 (data, len);
  GRand *r = g_rand_new_with_seed (seed);
  for (guint i = 0; i < n_flips; i++)
    copy[g_rand_int_range (r, (gint32) lo, (gint32) hi)] ^= (guint8) g_rand_int_range (r, 1, 256);
  g_rand_free (r);
  char *path = g_build_filename (gt_tmpdir (), name, NULL);
  g_assert_true (g_file_set_contents (path, (const char *) copy, len, NULL));
  g_free (copy);
  return path;
}

/* The outcome of a damaged file is acceptable when the element itself never
 * failed: EOS, or an error from the demuxer / decoder that met the damage. */
static void
check_outcome (const char *name, const Outcome *o, gboolean need_results)
{
  if (o->eos)
    report ("%s: EOS after %u frames with results", name, o->results);
  else
    report ("%s: error from %s after %u frames with results: %s", name, o->error_from, o->results,
            o->error);
  g_assert_true (o->eos || o->error_from);
  if (o->error_from)
    g_assert_false (g_str_has_prefix (o->error_from, "af"));
  if (need_results)
    g_assert_cmpuint (o->results, >, 0);
}

/* vtest.avi cut in the middle of a frame (an odd offset ~1.5 MB in, no
 * index): the frames before the cut are inferred, then EOS or a demuxer
 * error, never one from aneforge. */
static void
test_truncated_file (void)
{
  GBytes *v = read_vtest ();
  gsize len;
  const guint8 *d = g_bytes_get_data (v, &len);
  g_autofree char *path = write_damaged ("truncated.avi", d, 1500001, 0, 0, 1, 0);
  Outcome o = run_file (path, 0);
  check_outcome ("vtest.avi cut at byte 1500001 (mid-frame, no index)", &o, TRUE);
  outcome_clear (&o);
  g_bytes_unref (v);
}

/* vtest.avi with 64 bytes flipped among the first 150 frames' data and 8 in
 * the index at the end (seed 20), its first 150 frames decoded. */
static void
test_corrupted_frames (void)
{
  GBytes *v = read_vtest ();
  gsize len;
  const guint8 *d = g_bytes_get_data (v, &len);
  g_autofree char *path = write_damaged ("corrupted.avi", d, len, 64, 16384, 1500000, 20);
  /* and the index */
  char *data = NULL;
  gsize n = 0;
  g_assert_true (g_file_get_contents (path, &data, &n, NULL));
  g_autofree char *path2 =
      write_damaged ("corrupted2.avi", (const guint8 *) data, n, 8, n - 8192, n, 21);
  g_free (data);
  Outcome o = run_file (path2, 150);
  check_outcome ("vtest.avi, 64 bytes flipped in the frames, 8 in the index (seed 20)", &o, TRUE);
  outcome_clear (&o);
  g_bytes_unref (v);
}

/* vtest.avi with 16 bytes flipped in its first 4 KiB (headers; seed 22). */
static void
test_corrupted_header (void)
{
  GBytes *v = read_vtest ();
  gsize len;
  const guint8 *d = g_bytes_get_data (v, &len);
  g_autofree char *path = write_damaged ("header.avi", d, len, 16, 0, 4096, 22);
  Outcome o = run_file (path, 60);
  check_outcome ("vtest.avi, 16 bytes flipped in the first 4 KiB (seed 22)", &o, FALSE);
  outcome_clear (&o);
  g_bytes_unref (v);
}

/* ---------------------------------------------------------------- caps */

typedef struct {
  GstVideoFormat format;
  int w, h;
} Shape;

static const Shape shapes[] = {
  { GST_VIDEO_FORMAT_RGB, 64, 48 },    { GST_VIDEO_FORMAT_NV12, 34, 18 },
  { GST_VIDEO_FORMAT_GRAY8, 7, 5 },    { GST_VIDEO_FORMAT_I420, 33, 17 },
  { GST_VIDEO_FORMAT_BGRx, 320, 240 }, { GST_VIDEO_FORMAT_RGBA, 1, 1 },
};

/* The results of one frame of @s in a fresh element. */
static GArray *
reference (const Shape *s, guint *best)
{
  GstHarness *h = harness_new (gt_tiny_model (), "offline", NULL);
  GstVideoInfo info;
  gt_video_info (&info, s->format, s->w, s->h);
  harness_caps (h, &info);
  GstBuffer *out = push_pull (h, blocks_frame (s->format, s->w, s->h), 0);
  GArray *t = tensor_of (out, best);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  return t;
}

/* Caps change every 3 frames through six formats and sizes (64x48 RGB down
 * to 1x1 RGBA), twice round: every frame gets the results a fresh element
 * gives it (bit-identical), so each change rebuilt the preprocessing. */
static void
test_renegotiation (void)
{
  GArray *ref[G_N_ELEMENTS (shapes)];
  guint best[G_N_ELEMENTS (shapes)];
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    ref[i] = reference (&shapes[i], &best[i]);
  GstHarness *h = harness_new (gt_tiny_model (), "offline", NULL);
  guint frames = 0;
  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
      const Shape *s = &shapes[i];
      GstVideoInfo info;
      gt_video_info (&info, s->format, s->w, s->h);
      harness_caps (h, &info);
      for (guint k = 0; k < 3; k++, frames++) {
        GstBuffer *out = push_pull (h, blocks_frame (s->format, s->w, s->h), frames * FRAME_NS);
        guint b;
        GArray *t = tensor_of (out, &b);
        g_assert_cmpuint (b, ==, best[i]);
        assert_same_tensor (t, ref[i]);
        g_assert_cmpuint (get_meta (out)->age_frames, ==, 0);
        g_array_unref (t);
        gst_buffer_unref (out);
      }
    }
  report ("caps change every 3 frames (RGB 64x48, NV12 34x18, GRAY8 7x5, I420 33x17, BGRx "
          "320x240, RGBA 1x1; %u frames): every frame's results equal a fresh element's",
          frames);
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    g_array_unref (ref[i]);
  gst_harness_teardown (h);
}

/* ---------------------------------------------------------------- strides */

/* @packed copied into a buffer laid out with padding (13 bytes right of
 * every row for RGB-like formats, planes apart by extra rows) and described
 * by a GstVideoMeta; (transfer full). */
static GstBuffer *
padded_copy (GstBuffer *packed, const GstVideoInfo *info)
{
  GstVideoInfo pinfo = *info;
  GstVideoAlignment align;
  gst_video_alignment_reset (&align);
  align.padding_right = 13; /* odd: rows no longer 4-byte aligned */
  align.padding_bottom = 3;
  align.padding_top = 2;
  align.padding_left = 4;
  g_assert_true (gst_video_info_align (&pinfo, &align));
  GstBuffer *out = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&pinfo), NULL);
  gst_buffer_memset (out, 0, 0x5a, GST_VIDEO_INFO_SIZE (&pinfo)); /* visible garbage */
  gst_buffer_add_video_meta_full (out, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT (info),
                                  GST_VIDEO_INFO_WIDTH (info), GST_VIDEO_INFO_HEIGHT (info),
                                  GST_VIDEO_INFO_N_PLANES (&pinfo), pinfo.offset, pinfo.stride);
  GstVideoFrame src, dst;
  g_assert_true (gst_video_frame_map (&src, info, packed, GST_MAP_READ));
  g_assert_true (gst_video_frame_map (&dst, info, out, GST_MAP_WRITE)); /* uses the meta */
  g_assert_true (gst_video_frame_copy (&dst, &src));
  gst_video_frame_unmap (&dst);
  gst_video_frame_unmap (&src);
  return out;
}

/* Frames whose rows and planes are padded (GstVideoMeta offsets and
 * strides, garbage in the padding) give the results of the same frames
 * packed, in RGB, BGRx, GRAY8, NV12 and I420 at odd sizes. */
static void
test_padded_strides (void)
{
  static const Shape cases[] = {
    { GST_VIDEO_FORMAT_RGB, 33, 17 },   { GST_VIDEO_FORMAT_BGRx, 33, 17 },
    { GST_VIDEO_FORMAT_GRAY8, 33, 17 }, { GST_VIDEO_FORMAT_NV12, 34, 18 },
    { GST_VIDEO_FORMAT_I420, 33, 17 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const Shape *s = &cases[i];
    GstVideoInfo info;
    gt_video_info (&info, s->format, s->w, s->h);
    GstHarness *h = harness_new (gt_tiny_model (), "offline", NULL);
    harness_caps (h, &info);
    GstBuffer *packed = blocks_frame (s->format, s->w, s->h);
    GstBuffer *padded = padded_copy (packed, &info);
    g_assert_cmpuint (gst_buffer_get_size (padded), >, gst_buffer_get_size (packed));
    guint b0, b1;
    GstBuffer *o0 = push_pull (h, packed, 0);
    GstBuffer *o1 = push_pull (h, padded, FRAME_NS);
    GArray *t0 = tensor_of (o0, &b0), *t1 = tensor_of (o1, &b1);
    g_assert_cmpuint (b0, ==, b1);
    assert_same_tensor (t0, t1);
    g_array_unref (t0);
    g_array_unref (t1);
    gst_buffer_unref (o0);
    gst_buffer_unref (o1);
    gst_harness_teardown (h);
  }
  report ("padded rows and planes (GstVideoMeta offsets/strides; RGB, BGRx, GRAY8 33x17, "
          "NV12 34x18, I420 33x17): results equal the packed frames'");
}

/* ---------------------------------------------------------------- sizes */

/* A solid red NV12 frame of @w x @h filled with memset (fast at 8192). */
static GstBuffer *
red_nv12 (int w, int h)
{
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_NV12, w, h);
  GstBuffer *b = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  GstVideoFrame f;
  g_assert_true (gst_video_frame_map (&f, &info, b, GST_MAP_WRITE));
  guint8 yuv[3];
  guint8 rgb[3] = { 255, 0, 0 };
  /* BT.601 limited range, as gt_frame_new */
  yuv[0] = 81, yuv[1] = 90, yuv[2] = 240;
  (void) rgb;
  for (int y = 0; y < h; y++)
    memset ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, 0) +
                y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0),
            yuv[0], w);
  for (int y = 0; y < (h + 1) / 2; y++) {
    guint8 *row =
        (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, 1) + y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 1);
    for (int x = 0; x < (w + 1) / 2; x++)
      row[2 * x] = yuv[1], row[2 * x + 1] = yuv[2];
  }
  gst_video_frame_unmap (&f);
  return b;
}

/* A 1x1 frame, an 8192x8192 one and back, red: each classified "red". */
static void
test_tiny_and_huge (void)
{
  GstHarness *h = harness_new (gt_tiny_model (), "offline", NULL);
  static const int sizes[][2] = { { 1, 1 }, { 8192, 8192 }, { 1, 1 }, { 8192, 1 }, { 1, 8192 } };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    GstVideoInfo info;
    gt_video_info (&info, GST_VIDEO_FORMAT_NV12, sizes[i][0], sizes[i][1]);
    harness_caps (h, &info);
    GstBuffer *out = push_pull (h, red_nv12 (sizes[i][0], sizes[i][1]), i * FRAME_NS);
    GstAneforgeMeta *m = get_meta (out);
    g_assert_nonnull (m);
    g_assert_cmpuint (m->n_classes, >, 0);
    g_assert_cmpstr (m->classes[0].label, ==, "red");
    gst_buffer_unref (out);
  }
  /* and in RGB, where a 1x1 frame has a 3-byte row (stride 4) */
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_RGB, 1, 1);
  harness_caps (h, &info);
  GstBuffer *out = push_pull (h, gt_solid_frame (GST_VIDEO_FORMAT_RGB, 1, 1, RED), 0);
  g_assert_cmpstr (get_meta (out)->classes[0].label, ==, "red");
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  report ("NV12 1x1 -> 8192x8192 -> 1x1 -> 8192x1 -> 1x8192, RGB 1x1: each classified red");
}

/* ---------------------------------------------------------------- timestamps */

/* Frames without timestamps and with timestamps going backwards, offline
 * with interval=2 (so that ages are computed across them) and live: every
 * offline frame carries results, ages are never negative (0 when the pts
 * cannot say), the results file writes "pts": null and stays one line per
 * result. */
static void
test_timestamps (gconstpointer data)
{
  const char *mode = data;
  gboolean live = g_str_equal (mode, "live");
  g_autofree char *results =
      g_build_filename (gt_tmpdir (), live ? "ts-live.jsonl" : "ts.jsonl", NULL);
  GstHarness *h =
      harness_new (gt_tiny_model (), mode, "interval", live ? 1 : 2, "results", results, NULL);
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_RGB, 64, 48);
  harness_caps (h, &info);
  static const gint64 pts_ms[] = { -1, -1, 10000, 5000, 5000, 0, -1, 20000, 19000, -1, 3 };
  guint with_meta = 0;
  for (guint round = 0; round < (live ? 20 : 1); round++)
    for (guint i = 0; i < G_N_ELEMENTS (pts_ms); i++) {
      GstClockTime pts =
          pts_ms[i] < 0 ? GST_CLOCK_TIME_NONE : (GstClockTime) pts_ms[i] * GST_MSECOND;
      GstBuffer *out = push_pull (h, gt_solid_frame (GST_VIDEO_FORMAT_RGB, 64, 48, RED), pts);
      GST_BUFFER_PTS (out) = pts; /* (push_pull set it on the way in) */
      GstAneforgeMeta *m = get_meta (out);
      if (m) {
        with_meta++;
        g_assert_cmpuint (m->age_ns, <, 30 * GST_SECOND); /* no wrapped-around difference */
        if (!live)
          g_assert_cmpuint (m->age_frames, ==, i % 2);
      }
      if (!live)
        g_assert_nonnull (m);
      gst_buffer_unref (out);
      if (live)
        g_usleep (2000);
    }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  gst_harness_teardown (h);
  g_assert_cmpuint (with_meta, >, 0);
  char *text = NULL;
  g_assert_true (g_file_get_contents (results, &text, NULL, NULL));
  gchar **lines = g_strsplit (text, "\n", -1);
  guint n = 0, nulls = 0;
  for (gchar **l = lines; *l && **l; l++, n++) {
    g_assert_true (g_str_has_prefix (*l, "{\"frame\": "));
    g_assert_true (g_str_has_suffix (*l, "}"));
    g_assert_null (strstr (*l, "18446744073709551615")); /* GST_CLOCK_TIME_NONE leaking */
    nulls += strstr (*l, "\"pts\": null") != NULL;
  }
  g_assert_cmpuint (n, >=, with_meta);
  if (!live)
    g_assert_cmpuint (nulls, ==, 4);
  g_strfreev (lines);
  g_free (text);
  report ("%s: pts missing and going backwards (none, none, 10 s, 5 s, 5 s, 0, none, 20 s, 19 s, "
          "none, 3 ms): %u frames with results, %u results lines (%u with \"pts\": null), ages "
          "never negative",
          mode, with_meta, n, nulls);
}

/* ---------------------------------------------------------------- EOS mid-batch */

/* batch-size=4: EOS after 6 frames drains the partial batch (all 6 out with
 * their own results, before EOS); a flush then restarts the stream and a
 * second EOS after 1 frame drains that one too. */
static void
test_eos_mid_batch (void)
{
  GstHarness *h = harness_new (gt_tiny_model (), "offline", "batch-size", 4, NULL);
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_RGB, 64, 48);
  harness_caps (h, &info);
  guint counts[2] = { 6, 1 };
  for (guint round = 0; round < 2; round++) {
    for (guint i = 0; i < counts[round]; i++) {
      GstBuffer *in = gt_solid_frame (GST_VIDEO_FORMAT_RGB, 64, 48, RED);
      GST_BUFFER_PTS (in) = i * FRAME_NS;
      g_assert_cmpint (gst_harness_push (h, in), ==, GST_FLOW_OK);
    }
    g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
    g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, counts[round]);
    for (guint i = 0; i < counts[round]; i++) {
      GstBuffer *out = gst_harness_pull (h);
      GstAneforgeMeta *m = get_meta (out);
      g_assert_nonnull (m);
      g_assert_cmpuint (m->age_frames, ==, 0);
      g_assert_cmpuint (GST_BUFFER_PTS (out), ==, i * FRAME_NS);
      g_assert_cmpstr (m->classes[0].label, ==, "red");
      gst_buffer_unref (out);
    }
    /* EOS came after the frames */
    GstEvent *ev;
    gboolean eos = FALSE;
    while ((ev = gst_harness_try_pull_event (h))) {
      eos |= GST_EVENT_TYPE (ev) == GST_EVENT_EOS;
      gst_event_unref (ev);
    }
    g_assert_true (eos);
    if (round == 0) { /* restart after EOS: flush, new segment */
      g_assert_true (gst_harness_push_event (h, gst_event_new_flush_start ()));
      g_assert_true (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
      GstSegment seg;
      gst_segment_init (&seg, GST_FORMAT_TIME);
      g_assert_true (gst_harness_push_event (h, gst_event_new_segment (&seg)));
    }
  }
  gst_harness_teardown (h);
  report ("batch-size=4, EOS after 6 frames, flush, EOS after 1: all 7 frames out with their "
          "own results, in order, before each EOS");
}

/* ---------------------------------------------------------------- live: slow model */

/* [1,3,96,96] image, @n 3x3 convs of 8 channels, pool, 4 classes: a few
 * milliseconds a run, so that flushes meet a run in flight. */
static char *
slow_model (guint n)
{
  AfGraph *g = af_graph_new ("slow");
  const gint64 shape[4] = { 1, 3, 96, 96 };
  const float scale = 1.0f / 255.0f, bias = 0.0f;
  AfTensor *x = af_image_input (g, "image", shape, AF_PIXEL_RGB, 1, &scale, 1, &bias);
  AfConvParams p = AF_CONV_PARAMS_INIT;
  p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
  for (guint i = 0; i < n; i++) {
    gint64 cin = i ? 8 : 3;
    const gint64 wshape[4] = { 8, cin, 3, 3 };
    g_autofree float *w = g_new (float, 8 * cin * 9);
    for (gint64 k = 0; k < 8 * cin * 9; k++)
      w[k] = ((k * 7919) % 17 - 8) / (8.0f * 9 * cin);
    g_autofree char *name = g_strdup_printf ("w%u", i);
    x = af_relu (g, af_conv (g, x, af_weight (g, name, 4, wshape, w), NULL, &p));
  }
  const gint64 oshape[2] = { 1, 8 };
  AfTensor *y = af_reshape (g, af_global_avg_pool (g, x), 2, oshape);
  const gint64 lshape[2] = { 4, 8 };
  float lw[32];
  for (int k = 0; k < 32; k++)
    lw[k] = (k % 5) - 2.0f;
  y = af_softmax (g, af_linear (g, y, af_weight (g, "fc", 2, lshape, lw), NULL), -1);
  af_graph_add_output (g, "probs", y);
  af_graph_set_classification (g, 0, FALSE, 3, NULL);
  g_assert_null (af_graph_error (g));
  char *path = g_build_filename (gt_tmpdir (), "slow.json", NULL);
  GError *err = NULL;
  g_assert_true (af_graph_save (g, path, &err));
  g_assert_no_error (err);
  af_graph_free (g);
  return path;
}

/* Waits up to @seconds for @n "aneforge" messages on @bus; fails on an
 * error. Returns how many came. */
static guint
wait_results (GstBus *bus, guint n, guint seconds)
{
  guint got = 0;
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  while (got < n) {
    gint64 left = deadline - g_get_monotonic_time ();
    if (left <= 0)
      break;
    GstMessage *m = gst_bus_timed_pop (bus, left * 1000);
    if (!m)
      break;
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
      GError *e = NULL;
      gst_message_parse_error (m, &e, NULL);
      g_error ("error from %s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (m)), e->message);
    }
    got += gst_message_has_name (m, "aneforge");
    gst_message_unref (m);
  }
  return got;
}

static void
set_state_sync (GstElement *p, GstState state)
{
  g_assert_cmpint (gst_element_set_state (p, state), !=, GST_STATE_CHANGE_FAILURE);
  g_assert_cmpint (gst_element_get_state (p, NULL, NULL, 20 * GST_SECOND), !=,
                   GST_STATE_CHANGE_FAILURE);
}

static GstElement *
live_pipeline (const char *model, const char *af_props)
{
  g_autofree char *desc = g_strdup_printf (
      "videotestsrc name=src is-live=true pattern=ball "
      "! video/x-raw,format=RGB,width=160,height=120,framerate=30/1 "
      "! aneforge name=af threads=1 model=\"%s\" %s ! fakesink name=sink sync=true",
      model, af_props);
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  g_assert_no_error (err);
  return p;
}

static guint64
stat_u64 (GstElement *p, const char *name)
{
  GstElement *af = gst_bin_get_by_name (GST_BIN (p), "af");
  GstStructure *st = NULL;
  g_object_get (af, "stats", &st, NULL);
  guint64 v = 0;
  g_assert_true (gst_structure_get_uint64 (st, name, &v));
  gst_structure_free (st);
  gst_object_unref (af);
  return v;
}

/* 200 flush-start / flush-stop pairs sent to the live source (as a
 * flushing seek would) a few milliseconds apart while the model runs in
 * live mode: no error, no deadlock; afterwards results flow again. */
static void
test_flush_storm (void)
{
  g_autofree char *model = slow_model (6);
  GstElement *p = live_pipeline (model, "mode=live");
  GstBus *bus = gst_element_get_bus (p);
  set_state_sync (p, GST_STATE_PLAYING);
  g_assert_cmpuint (wait_results (bus, 5, 20), ==, 5);
  GstElement *src = gst_bin_get_by_name (GST_BIN (p), "src");
  GRand *r = g_rand_new_with_seed (7);
  guint64 stale0 = stat_u64 (p, "stale");
  for (guint i = 0; i < 200; i++) {
    g_assert_true (gst_element_send_event (src, gst_event_new_flush_start ()));
    g_usleep (g_rand_int_range (r, 0, 3000));
    g_assert_true (gst_element_send_event (src, gst_event_new_flush_stop (FALSE)));
    g_usleep (g_rand_int_range (r, 0, 15000));
  }
  g_rand_free (r);
  gst_object_unref (src);
  guint64 stale = stat_u64 (p, "stale") - stale0;
  gst_bus_set_flushing (bus, TRUE); /* drop what the storm posted */
  gst_bus_set_flushing (bus, FALSE);
  guint got = wait_results (bus, 10, 20);
  g_assert_cmpuint (got, ==, 10);
  set_state_sync (p, GST_STATE_NULL);
  report ("live: 200 flush-start/stop pairs on the source during inference: %" G_GUINT64_FORMAT
          " results discarded as stale, results flow again after (10 within 20 s), no error",
          stale);
  gst_object_unref (bus);
  gst_object_unref (p);
}

typedef struct {
  GstElement *p;
  volatile gint stop;
  guint reads;
} Poker;

/* Another thread: reads stats and sets `interval` (changeable any time)
 * in a loop. */
static gpointer
poke (gpointer data)
{
  Poker *k = data;
  GstElement *af = gst_bin_get_by_name (GST_BIN (k->p), "af");
  guint i = 0;
  while (!g_atomic_int_get (&k->stop)) {
    GstStructure *st = NULL;
    g_object_get (af, "stats", &st, NULL);
    gst_structure_free (st);
    g_object_set (af, "interval", 1 + (i++ % 3), NULL);
    k->reads++;
    g_usleep (500);
  }
  gst_object_unref (af);
  return NULL;
}

typedef struct {
  GstElement *p;
  guint changes;
} Changer;

/* Another thread: 40 random state changes among NULL, READY, PAUSED,
 * PLAYING, 0-60 ms apart. */
static gpointer
change_states (gpointer data)
{
  Changer *c = data;
  static const GstState states[] = { GST_STATE_PLAYING, GST_STATE_PAUSED, GST_STATE_READY,
                                     GST_STATE_NULL };
  GRand *r = g_rand_new_with_seed (11);
  for (guint i = 0; i < 40; i++) {
    GstState s = states[g_rand_int_range (r, 0, G_N_ELEMENTS (states))];
    g_assert_cmpint (gst_element_set_state (c->p, s), !=, GST_STATE_CHANGE_FAILURE);
    c->changes++;
    g_usleep (g_rand_int_range (r, 0, 60000));
  }
  g_rand_free (r);
  return NULL;
}

/* While a live pipeline streams, one thread changes its state 40 times at
 * random (NULL, READY, PAUSED, PLAYING) and another reads `stats` and sets
 * `interval` in a loop; live mode and offline with batch-size=3. Then from
 * PLAYING results flow again and the pipeline stops cleanly. */
static void
test_state_changes (gconstpointer data)
{
  const char *props = data;
  g_autofree char *model = slow_model (3);
  GstElement *p = live_pipeline (model, props);
  GstBus *bus = gst_element_get_bus (p);
  set_state_sync (p, GST_STATE_PLAYING);
  Poker k = { p, 0, 0 };
  Changer c = { p, 0 };
  GThread *tk = g_thread_new ("poke", poke, &k);
  GThread *tc = g_thread_new ("states", change_states, &c);
  g_thread_join (tc);
  g_atomic_int_set (&k.stop, 1);
  g_thread_join (tk);
  set_state_sync (p, GST_STATE_NULL);
  gst_bus_set_flushing (bus, TRUE);
  gst_bus_set_flushing (bus, FALSE);
  set_state_sync (p, GST_STATE_PLAYING);
  g_assert_cmpuint (wait_results (bus, 10, 20), ==, 10);
  set_state_sync (p, GST_STATE_NULL);
  report ("%s: 40 random state changes from one thread, %u stats reads + interval sets from "
          "another, while streaming: no error, results flow again after",
          props, k.reads);
  gst_object_unref (bus);
  gst_object_unref (p);
}

int
main (int argc, char **argv)
{
  gt_init (&argc, &argv);
  g_test_add_func ("/hostile/file/truncated", test_truncated_file);
  g_test_add_func ("/hostile/file/corrupted-frames", test_corrupted_frames);
  g_test_add_func ("/hostile/file/corrupted-header", test_corrupted_header);
  g_test_add_func ("/hostile/caps/renegotiation", test_renegotiation);
  g_test_add_func ("/hostile/caps/padded-strides", test_padded_strides);
  g_test_add_func ("/hostile/caps/tiny-and-huge", test_tiny_and_huge);
  g_test_add_data_func ("/hostile/timestamps/offline", "offline", test_timestamps);
  g_test_add_data_func ("/hostile/timestamps/live", "live", test_timestamps);
  g_test_add_func ("/hostile/eos-mid-batch", test_eos_mid_batch);
  g_test_add_func ("/hostile/live/flush-storm", test_flush_storm);
  g_test_add_data_func ("/hostile/state-changes/live", "mode=live", test_state_changes);
  g_test_add_data_func ("/hostile/state-changes/offline-batch", "mode=offline batch-size=3",
                        test_state_changes);
  int ret = g_test_run ();
  gt_deinit ();
  return ret;
}
