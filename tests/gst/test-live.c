/* test-live.c — the aneforge element's live and offline modes, interval,
 * EOS, flush, seek, caps changes and state changes, with a model calibrated
 * at start to take about three frame intervals (~100 ms) on this machine. */
#include <gst/app/gstappsink.h>
#include <gst/check/gstharness.h>
#include <valgrind/valgrind.h>

#include "gst-test-util.h"
#include "gstaneforgemeta.h"

#define FRAME_NS (GST_SECOND / 30)
#define TARGET_NS (100 * GST_MSECOND)
#define PORT 128
#define CH 8

static char *slow_model; /* ~TARGET_NS per run */
static guint64 slow_ns;  /* measured at calibration */
static const gboolean on_valgrind_default = FALSE;
static gboolean on_valgrind;

/* ---------------------------------------------------------------- the slow model */

/* A [1,3,128,128] image port, @n_convs 3x3 convs of CH channels, a global
 * average pool and a 4-class classification. */
static AfGraph *
slow_graph (guint n_convs)
{
  AfGraph *g = af_graph_new ("slow");
  const gint64 shape[4] = { 1, 3, PORT, PORT };
  const float scale = 1.0f / 255.0f, bias = 0.0f;
  AfTensor *x = af_image_input (g, "image", shape, AF_PIXEL_RGB, 1, &scale, 1, &bias);
  AfConvParams p = AF_CONV_PARAMS_INIT;
  p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
  for (guint i = 0; i < n_convs; i++) {
    gint64 cin = i ? CH : 3;
    const gint64 wshape[4] = { CH, cin, 3, 3 };
    g_autofree float *w = g_new (float, CH *cin * 9);
    for (gint64 k = 0; k < CH * cin * 9; k++)
      w[k] = ((k * 7919) % 17 - 8) / (8.0f * 9 * cin); /* small: activations stay bounded */
    g_autofree char *name = g_strdup_printf ("w%u", i);
    x = af_relu (g, af_conv (g, x, af_weight (g, name, 4, wshape, w), NULL, &p));
  }
  const gint64 oshape[2] = { 1, CH };
  AfTensor *y = af_reshape (g, af_global_avg_pool (g, x), 2, oshape);
  const gint64 lshape[2] = { 4, CH };
  float lw[4 * CH];
  for (int k = 0; k < 4 * CH; k++)
    lw[k] = (k % 5) - 2.0f;
  y = af_softmax (g, af_linear (g, y, af_weight (g, "fc", 2, lshape, lw), NULL), -1);
  af_graph_add_output (g, "probs", y);
  af_graph_set_classification (g, 0, FALSE, 3, NULL);
  g_assert_null (af_graph_error (g));
  return g;
}

/* Time of one run of @g on one thread (best of two). */
static guint64
time_graph (AfGraph *g)
{
  AfCompileOptions opts = AF_COMPILE_OPTIONS_INIT;
  opts.threads = 1;
  GError *err = NULL;
  AfModel *m = af_compile (g, &opts, &err);
  g_assert_no_error (err);
  guint64 best = G_MAXUINT64;
  for (int i = 0; i < 2; i++) {
    gint64 t0 = g_get_monotonic_time ();
    g_assert_true (af_model_execute (m, &err));
    best = MIN (best, (guint64) (g_get_monotonic_time () - t0) * 1000);
  }
  af_model_free (m);
  return best;
}

/* Builds the slow model: times 4 convs, scales the stack to TARGET_NS. */
static void
calibrate (void)
{
  AfGraph *g = slow_graph (4);
  guint64 t4 = time_graph (g);
  af_graph_free (g);
  guint n = (guint) CLAMP (4.0 * TARGET_NS / MAX (t4, 1), 1, 2000);
  g = slow_graph (n);
  slow_ns = time_graph (g);
  slow_model = g_build_filename (gt_tmpdir (), "slow.json", NULL);
  GError *err = NULL;
  g_assert_true (af_graph_save (g, slow_model, &err));
  af_graph_free (g);
  g_test_message ("slow model: %u convs, %.1f ms per run", n, slow_ns / 1e6);
}

/* ---------------------------------------------------------------- helpers */

/* The meta of @b, NULL also before the plugin registered the meta's API. */
static GstAneforgeMeta *
get_meta (GstBuffer *b)
{
  return gst_aneforge_meta_api_type_lookup () ? gst_buffer_get_aneforge_meta (b) : NULL;
}

typedef struct {
  GstClockTime pts, arrival; /* arrival: running time at the sink's pad */
  gboolean has_meta;
  guint64 age_frames, age_ns, latency_ns;
  guint n_classes;
} Seen;

typedef struct {
  GMutex lock;
  GArray *seen; /* Seen */
  GstElement *pipeline;
} Recorder;

static GstPadProbeReturn
record_probe (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Recorder *rec = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  Seen s = { GST_BUFFER_PTS (buf), GST_CLOCK_TIME_NONE, FALSE, 0, 0, 0, 0 };
  GstClock *clock = gst_element_get_clock (rec->pipeline);
  if (clock) {
    s.arrival = gst_clock_get_time (clock) - gst_element_get_base_time (rec->pipeline);
    gst_object_unref (clock);
  }
  GstAneforgeMeta *meta = get_meta (buf);
  if (meta) {
    s.has_meta = TRUE;
    s.age_frames = meta->age_frames;
    s.age_ns = meta->age_ns;
    s.latency_ns = meta->latency_ns;
    s.n_classes = meta->n_classes;
  }
  g_mutex_lock (&rec->lock);
  g_array_append_val (rec->seen, s);
  g_mutex_unlock (&rec->lock);
  return GST_PAD_PROBE_OK;
}

/* Parses @desc (elements "af" and "sink"), records every buffer reaching
 * the sink's pad. */
static GstElement *
pipeline_new (const char *desc, Recorder *rec)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  g_assert_no_error (err);
  g_mutex_init (&rec->lock);
  rec->seen = g_array_new (FALSE, TRUE, sizeof (Seen));
  rec->pipeline = p;
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, record_probe, rec, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
  return p;
}

static void
recorder_clear (Recorder *rec)
{
  g_array_unref (rec->seen);
  g_mutex_clear (&rec->lock);
}

static guint
recorder_count (Recorder *rec)
{
  g_mutex_lock (&rec->lock);
  guint n = rec->seen->len;
  g_mutex_unlock (&rec->lock);
  return n;
}

/* Waits up to @timeout for EOS; fails on an error or the timeout. Returns
 * (transfer full, nullable) the last "aneforge" element message seen. */
static GstMessage *
wait_eos (GstElement *p, GstClockTime timeout)
{
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *last = NULL;
  gint64 deadline = g_get_monotonic_time () + timeout / 1000;
  for (;;) {
    gint64 left = deadline - g_get_monotonic_time ();
    g_assert_cmpint (left, >, 0);
    GstMessage *m = gst_bus_timed_pop (bus, left * 1000);
    g_assert_nonnull (m);
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
      GError *err = NULL;
      gst_message_parse_error (m, &err, NULL);
      g_error ("pipeline error: %s", err->message);
    }
    gboolean eos = GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;
    if (gst_message_has_name (m, "aneforge"))
      gst_message_replace (&last, m);
    gst_message_unref (m);
    if (eos)
      break;
  }
  gst_object_unref (bus);
  return last;
}

static GstStructure *
element_stats (GstElement *p)
{
  GstElement *af = gst_bin_get_by_name (GST_BIN (p), "af");
  GstStructure *st = NULL;
  g_object_get (af, "stats", &st, NULL);
  gst_object_unref (af);
  g_assert_nonnull (st);
  return st;
}

static guint64
stat_u64 (const GstStructure *st, const char *name)
{
  guint64 v = 0;
  g_assert_true (gst_structure_get_uint64 (st, name, &v));
  return v;
}

static guint
stat_uint (const GstStructure *st, const char *name)
{
  guint v = 0;
  g_assert_true (gst_structure_get_uint (st, name, &v));
  return v;
}

static void
set_state_sync (GstElement *p, GstState state)
{
  g_assert_cmpint (gst_element_set_state (p, state), !=, GST_STATE_CHANGE_FAILURE);
  g_assert_cmpint (gst_element_get_state (p, NULL, NULL, 20 * GST_SECOND), !=,
                   GST_STATE_CHANGE_FAILURE);
}

/* ---------------------------------------------------------------- live and offline */

/* A live 30 fps source into a ~3-frame model in live mode: every buffer
 * arrives and keeps pace with the clock (no queue growth), at most one frame
 * ever waits for the model, and the attached results are never older than
 * two model latencies plus two frames (a fresh result: one latency plus two
 * frames); auto resolves to live there. */
static void
test_live_keeps_pace (void)
{
  guint n = on_valgrind ? 30 : 300;
  g_autofree char *desc = g_strdup_printf (
      "videotestsrc is-live=true num-buffers=%u ! video/x-raw,format=RGB,width=320,height=240,"
      "framerate=30/1 ! aneforge name=af mode=auto threads=1 model=\"%s\" ! appsink name=sink "
      "sync=true max-buffers=1 drop=false emit-signals=false",
      n, slow_model);
  Recorder rec;
  GstElement *p = pipeline_new (desc, &rec);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  set_state_sync (p, GST_STATE_PLAYING);
  guint pulled = 0;
  for (;;) {
    GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 5 * GST_SECOND);
    if (!s)
      break;
    pulled++;
    gst_sample_unref (s);
  }
  g_assert_true (gst_app_sink_is_eos (GST_APP_SINK (sink)));
  GstStructure *st = element_stats (p);
  g_autofree char *st_str = gst_structure_to_string (st);
  g_test_message ("stats %s", st_str);
  g_assert_cmpstr (gst_structure_get_string (st, "mode"), ==, "live");
  g_assert_cmpuint (stat_uint (st, "max-pending"), <=, 1);
  g_assert_cmpuint (stat_u64 (st, "skipped"), >, 0);
  guint64 worst = stat_u64 (st, "worst-latency-ns");
  gst_structure_free (st);
  set_state_sync (p, GST_STATE_NULL);

  g_assert_cmpuint (pulled, ==, n);
  g_assert_cmpuint (rec.seen->len, ==, n);
  guint first = n, fresh = 0;
  GstClockTime max_late = 0;
  for (guint i = 0; i < n; i++) {
    Seen *s = &g_array_index (rec.seen, Seen, i);
    GstClockTime pts0 = g_array_index (rec.seen, Seen, 0).pts;
    g_assert_cmpuint (s->pts - pts0, ==, gst_util_uint64_scale (i, GST_SECOND, 30));
    if (s->has_meta && first == n)
      first = i;
    if (first < n)
      g_assert_true (s->has_meta); /* once a result exists, every buffer has one */
    if (!s->has_meta)
      continue;
    g_assert_cmpuint (s->n_classes, ==, 3);
    g_assert_cmpuint (s->age_ns, <=, 2 * worst + 2 * FRAME_NS + 20 * GST_MSECOND);
    if (i > first && s->age_frames < g_array_index (rec.seen, Seen, i - 1).age_frames) {
      /* a new result: one latency, plus up to a frame waiting for the
       * worker and a frame until the next buffer */
      fresh++;
      g_assert_cmpuint (s->age_ns, <=, worst + 2 * FRAME_NS + 20 * GST_MSECOND);
    }
    if (i >= n / 2 && GST_CLOCK_TIME_IS_VALID (s->arrival) && s->arrival > s->pts)
      max_late = MAX (max_late, s->arrival - s->pts);
  }
  g_test_message ("first result on frame %u, %u fresh results, worst %.1f ms, second half "
                  "late by at most %.1f ms",
                  first, fresh, worst / 1e6, max_late / 1e6);
  g_assert_cmpuint (first, <, n / 3);
  g_assert_cmpuint (fresh, >, 0);
  if (!on_valgrind) {
    /* buffers keep pace: pts vs. arrival never drifts (a held-back stream
     * would be late by the model's backlog, seconds after 10 s) */
    g_assert_cmpuint (max_late, <, 2 * FRAME_NS);
    g_assert_cmpuint (first, <=, 2 * (worst / FRAME_NS + 2));
  }
  gst_object_unref (sink);
  gst_object_unref (p);
  recorder_clear (&rec);
}

/* The same input in offline mode: every frame is inferred and carries its
 * own results (age 0), none dropped, order kept. */
static void
test_offline_every_frame (void)
{
  guint n = on_valgrind ? 6 : 30;
  g_autofree char *desc = g_strdup_printf (
      "videotestsrc num-buffers=%u ! video/x-raw,format=RGB,width=320,height=240,framerate=30/1 "
      "! aneforge name=af mode=offline threads=1 model=\"%s\" ! fakesink name=sink sync=false",
      n, slow_model);
  Recorder rec;
  GstElement *p = pipeline_new (desc, &rec);
  set_state_sync (p, GST_STATE_PLAYING);
  GstMessage *last = wait_eos (p, 60 * GST_SECOND);
  g_assert_nonnull (last);
  gst_message_unref (last);
  GstStructure *st = element_stats (p);
  g_assert_cmpstr (gst_structure_get_string (st, "mode"), ==, "offline");
  g_assert_cmpuint (stat_u64 (st, "inferred"), ==, n);
  g_assert_cmpuint (stat_u64 (st, "skipped"), ==, 0);
  gst_structure_free (st);
  set_state_sync (p, GST_STATE_NULL);
  g_assert_cmpuint (rec.seen->len, ==, n);
  for (guint i = 0; i < n; i++) {
    Seen *s = &g_array_index (rec.seen, Seen, i);
    g_assert_cmpuint (s->pts, ==, gst_util_uint64_scale (i, GST_SECOND, 30));
    g_assert_true (s->has_meta);
    g_assert_cmpuint (s->age_frames, ==, 0);
    g_assert_cmpuint (s->age_ns, ==, 0);
    g_assert_cmpuint (s->n_classes, ==, 3);
  }
  gst_object_unref (p);
  recorder_clear (&rec);
}

/* ---------------------------------------------------------------- harness tests */

static GstHarness *
harness_new (const char *model, const char *mode, guint interval)
{
  GstElement *e = gst_element_factory_make ("aneforge", NULL);
  g_assert_nonnull (e);
  g_object_set (e, "model", model, "threads", 1, "interval", interval, NULL);
  gst_util_set_object_arg (G_OBJECT (e), "mode", mode);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  gst_bus_set_flushing (bus, TRUE); /* the per-frame messages are not read here */
  gst_object_unref (bus);
  gst_object_ref_sink (e);
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  return h;
}

static void
harness_caps (GstHarness *h, GstVideoFormat format, int w, int hh)
{
  GstVideoInfo info;
  gt_video_info (&info, format, w, hh);
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
}

static const guint8 RED[3] = { 255, 0, 0 };

/* Pushes one frame at @pts and pulls it back. Returns (transfer full). */
static GstBuffer *
push_frame (GstHarness *h, GstVideoFormat format, int w, int hh, GstClockTime pts)
{
  GstBuffer *in = gt_solid_frame (format, w, hh, RED);
  GST_BUFFER_PTS (in) = pts;
  GST_BUFFER_DURATION (in) = FRAME_NS;
  g_assert_cmpint (gst_harness_push (h, in), ==, GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h);
  g_assert_nonnull (out);
  return out;
}

/* interval=3 (offline): frame 3k is inferred (age 0), frames 3k+1 and 3k+2
 * carry its results aged 1 and 2 frames. */
static void
test_interval (void)
{
  GstHarness *h = harness_new (gt_tiny_model (), "offline", 3);
  harness_caps (h, GST_VIDEO_FORMAT_RGB, 64, 48);
  for (guint i = 0; i < 9; i++) {
    GstBuffer *out = push_frame (h, GST_VIDEO_FORMAT_RGB, 64, 48, i * FRAME_NS);
    GstAneforgeMeta *meta = get_meta (out);
    g_assert_nonnull (meta);
    g_assert_cmpuint (meta->age_frames, ==, i % 3);
    g_assert_cmpuint (meta->age_ns, ==, (i % 3) * FRAME_NS);
    g_assert_cmpstr (meta->classes[0].label, ==, "red");
    gst_buffer_unref (out);
  }
  GstStructure *st = NULL;
  g_object_get (h->element, "stats", &st, NULL);
  g_assert_cmpuint (stat_u64 (st, "inferred"), ==, 3);
  gst_structure_free (st);
  gst_harness_teardown (h);
}

/* Pushes frames (pts from @pts0) until one carries results, which must come
 * from a frame at or after @oldest; returns how many were pushed. */
static guint
push_until_results (GstHarness *h, GstVideoFormat format, int w, int hh, GstClockTime pts0,
                    GstClockTime oldest, GstClockTime *last_pts)
{
  for (guint i = 0; i < 2000; i++) {
    GstClockTime pts = pts0 + i * FRAME_NS;
    GstBuffer *out = push_frame (h, format, w, hh, pts);
    GstAneforgeMeta *meta = get_meta (out);
    gboolean done = meta != NULL;
    if (meta) /* never results from before @oldest */
      g_assert_cmpuint (pts - meta->age_ns, >=, oldest);
    gst_buffer_unref (out);
    *last_pts = pts;
    if (done)
      return i + 1;
    g_usleep (10000);
  }
  g_assert_not_reached ();
  return 0;
}

static void
flush (GstHarness *h)
{
  g_assert_true (gst_harness_push_event (h, gst_event_new_flush_start ()));
  g_assert_true (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  g_assert_true (gst_harness_push_event (h, gst_event_new_segment (&seg)));
}

/* Flush in live mode with a frame in flight and one pending: the next
 * buffers carry no results from before the flush, and results resume. */
static void
test_flush_live (void)
{
  GstHarness *h = harness_new (slow_model, "live", 1);
  harness_caps (h, GST_VIDEO_FORMAT_RGB, 160, 120);
  GstClockTime pts;
  push_until_results (h, GST_VIDEO_FORMAT_RGB, 160, 120, 0, 0, &pts);
  /* one frame in flight, one pending */
  gst_buffer_unref (push_frame (h, GST_VIDEO_FORMAT_RGB, 160, 120, pts + FRAME_NS));
  gst_buffer_unref (push_frame (h, GST_VIDEO_FORMAT_RGB, 160, 120, pts + 2 * FRAME_NS));
  flush (h);
  GstClockTime pts0 = 100 * GST_SECOND; /* a stale result would be ~100 s old */
  GstBuffer *out = push_frame (h, GST_VIDEO_FORMAT_RGB, 160, 120, pts0);
  g_assert_null (get_meta (out)); /* the latest results were dropped */
  gst_buffer_unref (out);
  /* the frame at pts0 was pushed after the flush: its results are fresh */
  push_until_results (h, GST_VIDEO_FORMAT_RGB, 160, 120, pts0 + FRAME_NS, pts0, &pts);
  gst_harness_teardown (h);
}

/* Flush in offline mode with interval=4: the first buffer after the flush
 * is inferred afresh (age 0) instead of carrying results from before. */
static void
test_flush_offline (void)
{
  GstHarness *h = harness_new (gt_tiny_model (), "offline", 4);
  harness_caps (h, GST_VIDEO_FORMAT_RGB, 64, 48);
  gst_buffer_unref (push_frame (h, GST_VIDEO_FORMAT_RGB, 64, 48, 0));
  gst_buffer_unref (push_frame (h, GST_VIDEO_FORMAT_RGB, 64, 48, FRAME_NS));
  flush (h);
  GstBuffer *out = push_frame (h, GST_VIDEO_FORMAT_RGB, 64, 48, 10 * GST_SECOND);
  GstAneforgeMeta *meta = get_meta (out);
  g_assert_nonnull (meta);
  g_assert_cmpuint (meta->age_frames, ==, 0);
  g_assert_cmpuint (meta->age_ns, ==, 0);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
}

/* Caps change mid-stream (RGB 320x240 -> NV12 640x480) in both modes: no
 * crash, no result of the old caps shown after the change, results continue
 * (offline: on every frame). */
static void
test_caps_change (gconstpointer data)
{
  const char *mode = data;
  gboolean live = g_str_equal (mode, "live");
  GstHarness *h = harness_new (gt_tiny_model (), mode, 1);
  harness_caps (h, GST_VIDEO_FORMAT_RGB, 320, 240);
  GstClockTime pts;
  push_until_results (h, GST_VIDEO_FORMAT_RGB, 320, 240, 0, 0, &pts);
  if (live) /* one in flight at the change */
    gst_buffer_unref (push_frame (h, GST_VIDEO_FORMAT_RGB, 320, 240, pts + FRAME_NS));
  harness_caps (h, GST_VIDEO_FORMAT_NV12, 640, 480);
  GstClockTime pts0 = 100 * GST_SECOND;
  guint n = push_until_results (h, GST_VIDEO_FORMAT_NV12, 640, 480, pts0, pts0, &pts);
  if (!live)
    g_assert_cmpuint (n, ==, 1);
  for (guint i = 1; i <= 5; i++) {
    GstBuffer *out = push_frame (h, GST_VIDEO_FORMAT_NV12, 640, 480, pts + i * FRAME_NS);
    GstAneforgeMeta *meta = get_meta (out);
    g_assert_nonnull (meta);
    g_assert_cmpstr (meta->classes[0].label, ==, "red");
    g_assert_cmpuint (pts + i * FRAME_NS - meta->age_ns, >=, pts0);
    gst_buffer_unref (out);
  }
  gst_harness_teardown (h);
}

/* ---------------------------------------------------------------- pipelines */

/* A flushing seek in PLAYING on a real file, live and offline: no deadlock,
 * no result from before the seek after it, results resume (leaks: the
 * tracer). */
static void
test_seek (gconstpointer data)
{
  const char *mode = data;
  gboolean live = g_str_equal (mode, "live");
  g_autofree char *avi = g_build_filename (g_getenv ("AF_SHARED"), "media", "vtest.avi", NULL);
  if (!g_file_test (avi, G_FILE_TEST_EXISTS)) {
    g_test_fail_printf ("%s is missing", avi);
    return;
  }
  g_autofree char *desc = g_strdup_printf (
      "filesrc location=\"%s\" ! decodebin ! aneforge name=af mode=%s threads=1 model=\"%s\" ! "
      "appsink name=sink sync=%s max-buffers=2",
      avi, mode, live ? slow_model : gt_tiny_model (), live ? "true" : "false");
  Recorder rec;
  GstElement *p = pipeline_new (desc, &rec);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  set_state_sync (p, GST_STATE_PLAYING);
  /* play until results exist */
  guint with_meta = 0;
  for (guint i = 0; i < 200 && with_meta < 3; i++) {
    GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 10 * GST_SECOND);
    g_assert_nonnull (s);
    with_meta += get_meta (gst_sample_get_buffer (s)) != NULL;
    gst_sample_unref (s);
  }
  g_assert_cmpuint (with_meta, ==, 3);
  GstClockTime target = 3 * GST_SECOND;
  g_assert_true (gst_element_seek_simple (p, GST_FORMAT_TIME,
                                          GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE, target));
  /* after the seek: no stale results, and results resume */
  guint after = 0;
  with_meta = 0;
  for (guint i = 0; i < 200 && with_meta < 3; i++) {
    GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 10 * GST_SECOND);
    g_assert_nonnull (s);
    GstBuffer *b = gst_sample_get_buffer (s);
    if (GST_BUFFER_PTS (b) >= target) {
      after++;
      GstAneforgeMeta *meta = get_meta (b);
      if (meta) {
        with_meta++;
        g_assert_cmpuint (GST_BUFFER_PTS (b) - meta->age_ns, >=, target);
      }
    }
    gst_sample_unref (s);
  }
  g_test_message ("%s: %u frames after the seek", mode, after);
  g_assert_cmpuint (with_meta, ==, 3);
  set_state_sync (p, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (p);
  recorder_clear (&rec);
}

/* EOS in live mode: the pipeline finishes, every frame handed to the
 * worker is inferred (none pending, none running), the last result is
 * posted even when no buffer carried it, and the worker stops with the
 * element. */
static void
test_eos_live (void)
{
  g_autofree char *desc = g_strdup_printf (
      "videotestsrc is-live=true num-buffers=12 ! video/x-raw,format=RGB,width=160,height=120,"
      "framerate=30/1 ! aneforge name=af mode=live threads=1 model=\"%s\" ! fakesink name=sink "
      "sync=true",
      slow_model);
  Recorder rec;
  GstElement *p = pipeline_new (desc, &rec);
  set_state_sync (p, GST_STATE_PLAYING);
  GstMessage *last = wait_eos (p, 30 * GST_SECOND);
  GstStructure *st = element_stats (p);
  g_autofree char *st_str = gst_structure_to_string (st);
  g_test_message ("stats %s", st_str);
  g_assert_cmpuint (stat_uint (st, "pending"), ==, 0);
  gboolean busy = TRUE, running = FALSE;
  g_assert_true (gst_structure_get_boolean (st, "busy", &busy));
  g_assert_false (busy);
  g_assert_true (gst_structure_get_boolean (st, "worker-running", &running));
  g_assert_true (running);
  g_assert_cmpuint (stat_u64 (st, "inferred"), ==,
                    stat_u64 (st, "submitted") - stat_u64 (st, "skipped"));
  g_assert_cmpuint (stat_u64 (st, "inferred"), >=, 1);
  gst_structure_free (st);
  g_assert_cmpuint (recorder_count (&rec), ==, 12);
  /* the last inferred frame's results reached the bus */
  g_assert_nonnull (last);
  guint64 age = 1;
  g_assert_true (gst_structure_get_uint64 (gst_message_get_structure (last), "age-frames", &age));
  g_assert_cmpuint (age, ==, 0); /* the final results, shown on their own frame's pts */
  gst_message_unref (last);
  set_state_sync (p, GST_STATE_NULL);
  st = element_stats (p);
  g_assert_true (gst_structure_get_boolean (st, "worker-running", &running));
  g_assert_false (running);
  gst_structure_free (st);
  gst_object_unref (p);
  recorder_clear (&rec);
}

/* NULL -> PLAYING -> NULL ten times in live mode with the slow model, at
 * varying points (model running or not): no deadlock, no leak. */
static void
test_state_cycles_live (void)
{
  g_autofree char *desc = g_strdup_printf (
      "videotestsrc is-live=true ! video/x-raw,format=RGB,width=160,height=120,framerate=30/1 "
      "! aneforge name=af mode=live threads=1 model=\"%s\" ! fakesink name=sink sync=true",
      slow_model);
  Recorder rec;
  GstElement *p = pipeline_new (desc, &rec);
  for (guint i = 0; i < 10; i++) {
    set_state_sync (p, GST_STATE_PLAYING);
    g_usleep ((i % 4) * 40000);
    set_state_sync (p, GST_STATE_NULL);
  }
  GstBus *bus = gst_element_get_bus (p);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_object_unref (p);
  recorder_clear (&rec);
}

int
main (int argc, char **argv)
{
  gt_init (&argc, &argv);
  on_valgrind = on_valgrind_default || RUNNING_ON_VALGRIND;
  calibrate ();
  g_test_add_func ("/live/keeps-pace", test_live_keeps_pace);
  g_test_add_func ("/live/offline-every-frame", test_offline_every_frame);
  g_test_add_func ("/live/interval", test_interval);
  g_test_add_func ("/live/flush-live", test_flush_live);
  g_test_add_func ("/live/flush-offline", test_flush_offline);
  g_test_add_data_func ("/live/caps-change/live", "live", test_caps_change);
  g_test_add_data_func ("/live/caps-change/offline", "offline", test_caps_change);
  g_test_add_data_func ("/live/seek/live", "live", test_seek);
  g_test_add_data_func ("/live/seek/offline", "offline", test_seek);
  g_test_add_func ("/live/eos", test_eos_live);
  g_test_add_func ("/live/state-cycles", test_state_cycles_live);
  int ret = g_test_run ();
  g_free (slow_model);
  gt_deinit ();
  return ret;
}
