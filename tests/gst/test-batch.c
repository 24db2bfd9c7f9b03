/* test-batch.c — the aneforge element's batch-size property (offline mode,
 * output=meta) through GstHarness: batched results equal unbatched ones
 * bit for bit, frames leave in order with their timestamps, EOS runs the
 * partial batch, a flush drops held frames, a caps change drains, live
 * mode and tensor output refuse it, the LATENCY query counts the hold. */
#include <gst/check/gstharness.h>
#include <stdarg.h>
#include <string.h>

#include "gst-test-util.h"
#include "gstaneforgemeta.h"

#define FRAME_NS (GST_SECOND / 30)
#define N_FRAMES 10
#define MAX_OUT 16

/* Ten different colours, one per frame. */
static const guint8 COLOURS[N_FRAMES][3] = {
  { 255, 0, 0 },   { 0, 255, 0 },     { 0, 0, 255 }, { 255, 255, 0 }, { 0, 255, 255 },
  { 255, 0, 255 }, { 255, 255, 255 }, { 0, 0, 0 },   { 128, 64, 32 }, { 30, 160, 90 },
};

/* What one outgoing frame carried. */
typedef struct {
  GstClockTime pts, duration;
  guint n_classes;
  guint index[8];
  gfloat score[8];
  guint n_detections;
  GstAneforgeDetection dets[8];
  gsize n_values;
  gfloat *values; /* all output tensors, concatenated (owned) */
  guint64 age_frames;
  gsize size; /* the buffer's size */
} Out;

static void
outs_clear (Out *outs, guint n)
{
  for (guint i = 0; i < n; i++)
    g_clear_pointer (&outs[i].values, g_free);
}

/* An aneforge element on @model with extra properties, on a bus of its
 * own. Returns (transfer full, floating sunk). */
static GstElement *
element_new (const char *model, const char *first_property, ...)
{
  GstElement *e = gst_element_factory_make ("aneforge", NULL);
  g_assert_nonnull (e);
  gst_object_ref_sink (e);
  g_object_set (e, "model", model, "mode", 2 /* offline */, NULL);
  if (first_property) {
    va_list args;
    va_start (args, first_property);
    g_object_set_valist (G_OBJECT (e), first_property, args);
    va_end (args);
  }
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  gst_object_unref (bus);
  return e;
}

static GstHarness *
harness_new (GstElement *e)
{
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  return h;
}

static GstBus *
element_bus (GstHarness *h)
{
  GstBus *bus = gst_element_get_bus (h->element);
  g_assert_nonnull (bus);
  gst_object_unref (bus); /* the element keeps it */
  return bus;
}

static void
teardown (GstHarness *h)
{
  gst_bus_set_flushing (element_bus (h), TRUE);
  gst_harness_teardown (h);
}

static void
set_caps (GstHarness *h, int w, int h_)
{
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_RGB, w, h_);
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
}

/* Frame @i: colour i, pts i frames. */
static GstBuffer *
frame (guint i, int w, int h)
{
  GstBuffer *b = gt_solid_frame (GST_VIDEO_FORMAT_RGB, w, h, COLOURS[i % N_FRAMES]);
  GST_BUFFER_PTS (b) = i * FRAME_NS;
  GST_BUFFER_DURATION (b) = FRAME_NS;
  return b;
}

/* A textured frame (a gradient shifted by @i), for the detector. */
static void
texture_pixel (int x, int y, guint8 rgb[3], gpointer data)
{
  guint i = GPOINTER_TO_UINT (data);
  rgb[0] = (guint8) (x * 3 + i * 25);
  rgb[1] = (guint8) (y * 5 + i * 40);
  rgb[2] = (guint8) ((x ^ y) + i * 7);
}

/* Records @buf (consumed) into @o. */
static void
record (GstBuffer *buf, Out *o)
{
  GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (buf);
  g_assert_nonnull (meta);
  o->pts = GST_BUFFER_PTS (buf);
  o->duration = GST_BUFFER_DURATION (buf);
  o->size = gst_buffer_get_size (buf);
  o->age_frames = meta->age_frames;
  o->n_classes = MIN (meta->n_classes, 8);
  for (guint k = 0; k < o->n_classes; k++) {
    o->index[k] = meta->classes[k].index;
    o->score[k] = meta->classes[k].score;
  }
  o->n_detections = MIN (meta->n_detections, 8);
  memcpy (o->dets, meta->detections, o->n_detections * sizeof (GstAneforgeDetection));
  o->n_values = 0;
  for (guint t = 0; t < meta->n_tensors; t++)
    o->n_values += meta->tensors[t].n_elements;
  o->values = g_new (gfloat, o->n_values);
  gsize at = 0;
  for (guint t = 0; t < meta->n_tensors; t++) {
    memcpy (o->values + at, meta->tensors[t].data, meta->tensors[t].n_elements * sizeof (gfloat));
    at += meta->tensors[t].n_elements;
  }
  gst_buffer_unref (buf);
}

/* Pulls every buffer waiting in @h into @outs from *@n on. */
static void
pull_all (GstHarness *h, Out *outs, guint *n)
{
  GstBuffer *b;
  while ((b = gst_harness_try_pull (h))) {
    g_assert_cmpuint (*n, <, MAX_OUT);
    record (b, &outs[(*n)++]);
  }
}

/* Asserts @a and @b carry the same results, bit for bit. */
static void
assert_same (const Out *a, const Out *b)
{
  g_assert_cmpuint (a->pts, ==, b->pts);
  g_assert_cmpuint (a->duration, ==, b->duration);
  g_assert_cmpuint (a->size, ==, b->size);
  g_assert_cmpuint (a->n_classes, ==, b->n_classes);
  for (guint k = 0; k < a->n_classes; k++) {
    g_assert_cmpuint (a->index[k], ==, b->index[k]);
    g_assert_cmpmem (&a->score[k], sizeof (gfloat), &b->score[k], sizeof (gfloat));
  }
  g_assert_cmpuint (a->n_detections, ==, b->n_detections);
  for (guint k = 0; k < a->n_detections; k++) {
    g_assert_cmpmem (&a->dets[k].x1, 5 * sizeof (gfloat), &b->dets[k].x1, 5 * sizeof (gfloat));
  }
  g_assert_cmpmem (a->values, a->n_values * sizeof (gfloat), b->values,
                   b->n_values * sizeof (gfloat));
  g_assert_cmpuint (a->age_frames, ==, b->age_frames);
}

/* Counts the "aneforge" element messages on @h's bus and drops them. */
static guint
count_messages (GstHarness *h)
{
  guint n = 0;
  GstMessage *m;
  while ((m = gst_bus_pop_filtered (element_bus (h), GST_MESSAGE_ELEMENT))) {
    if (gst_message_has_name (m, "aneforge"))
      n++;
    gst_message_unref (m);
  }
  return n;
}

/* Runs @n_frames frames (solid colours, or @textured gradients) of @w x
 * @h_ through @model at @batch, then EOS; with @caps_at > 0 the caps
 * change to @w2 x @h2 before frame @caps_at (@out_at_caps, if not NULL,
 * gets the number of frames out right after that caps change). Fills
 * @outs; returns how many came out. */
static guint
run_frames (const char *model, guint batch, guint n_frames, int w, int h_, guint caps_at, int w2,
            int h2, gboolean textured, Out *outs, guint *out_at_caps)
{
  GstHarness *h = harness_new (element_new (model, "batch-size", batch, NULL));
  set_caps (h, w, h_);
  guint n = 0;
  for (guint i = 0; i < n_frames; i++) {
    if (caps_at && i == caps_at) {
      set_caps (h, w2, h2);
      w = w2, h_ = h2;
      pull_all (h, outs, &n);
      if (out_at_caps)
        *out_at_caps = n;
    }
    GstBuffer *in;
    if (textured) {
      GstVideoInfo info;
      gt_video_info (&info, GST_VIDEO_FORMAT_RGB, w, h_);
      in = gt_frame_new (&info, texture_pixel, GUINT_TO_POINTER (i));
      GST_BUFFER_PTS (in) = i * FRAME_NS;
      GST_BUFFER_DURATION (in) = FRAME_NS;
    } else {
      in = frame (i, w, h_);
    }
    g_assert_cmpint (gst_harness_push (h, in), ==, GST_FLOW_OK);
    pull_all (h, outs, &n);
    if (batch > 1 && !caps_at) /* held until a batch is full */
      g_assert_cmpuint (n, ==, (i + 1) / batch * batch);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  pull_all (h, outs, &n);
  g_assert_cmpuint (count_messages (h), ==, n);
  teardown (h);
  return n;
}

/* batch-size=4 over 10 frames of different colours gives every frame the
 * classes, scores and tensors batch-size=1 gives it (bit-identical), in
 * order with its timestamps; the partial batch (2 frames) comes out at
 * EOS, so no frame is dropped. */
static void
test_batch_matches_single (void)
{
  Out one[MAX_OUT] = { 0 }, four[MAX_OUT] = { 0 };
  guint n1 = run_frames (gt_tiny_model (), 1, N_FRAMES, 64, 48, 0, 0, 0, FALSE, one, NULL);
  guint n4 = run_frames (gt_tiny_model (), 4, N_FRAMES, 64, 48, 0, 0, 0, FALSE, four, NULL);
  g_assert_cmpuint (n1, ==, N_FRAMES);
  g_assert_cmpuint (n4, ==, N_FRAMES);
  for (guint i = 0; i < N_FRAMES; i++) {
    g_assert_cmpuint (four[i].pts, ==, i * FRAME_NS);
    g_assert_cmpuint (four[i].age_frames, ==, 0);
    assert_same (&one[i], &four[i]);
  }
  /* the colours differ: so do the results (a batch does not repeat a slot) */
  g_assert_cmpuint (four[0].index[0], !=, four[1].index[0]);
  outs_clear (one, n1);
  outs_clear (four, n4);
}

/* batch-size=3 with interval=2: the inferred frames batch, the frames
 * between carry the latest results with their age, as without batching. */
static void
test_batch_with_interval (void)
{
  Out one[MAX_OUT] = { 0 }, three[MAX_OUT] = { 0 };
  GstHarness *hs[2];
  guint ns[2] = { 0, 0 };
  Out *outs[2] = { one, three };
  for (guint r = 0; r < 2; r++) {
    hs[r] =
        harness_new (element_new (gt_tiny_model (), "batch-size", r ? 3 : 1, "interval", 2, NULL));
    set_caps (hs[r], 64, 48);
    for (guint i = 0; i < N_FRAMES; i++) {
      g_assert_cmpint (gst_harness_push (hs[r], frame (i, 64, 48)), ==, GST_FLOW_OK);
      pull_all (hs[r], outs[r], &ns[r]);
    }
    g_assert_true (gst_harness_push_event (hs[r], gst_event_new_eos ()));
    pull_all (hs[r], outs[r], &ns[r]);
    teardown (hs[r]);
  }
  g_assert_cmpuint (ns[0], ==, N_FRAMES);
  g_assert_cmpuint (ns[1], ==, N_FRAMES);
  for (guint i = 0; i < N_FRAMES; i++) {
    g_assert_cmpuint (three[i].age_frames, ==, i % 2);
    assert_same (&one[i], &three[i]);
  }
  outs_clear (one, ns[0]);
  outs_clear (three, ns[1]);
}

/* A flush while 3 frames are held drops them (nothing comes out, nothing
 * leaks); the frames after it batch and come out on their own. */
static void
test_flush_drops_held (void)
{
  GstHarness *h = harness_new (element_new (gt_tiny_model (), "batch-size", 4, NULL));
  set_caps (h, 64, 48);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (gst_harness_push (h, frame (i, 64, 48)), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  g_assert_true (gst_harness_push_event (h, gst_event_new_flush_start ()));
  g_assert_true (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  g_assert_true (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  for (guint i = 5; i < 9; i++)
    g_assert_cmpint (gst_harness_push (h, frame (i, 64, 48)), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 4);
  for (guint i = 5; i < 9; i++) {
    GstBuffer *b = gst_harness_pull (h);
    g_assert_cmpuint (GST_BUFFER_PTS (b), ==, i * FRAME_NS);
    GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (b);
    g_assert_nonnull (meta);
    g_assert_cmpuint (meta->age_frames, ==, 0);
    gst_buffer_unref (b);
  }
  /* 3 more held, then dropped by the teardown (stop) */
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (gst_harness_push (h, frame (i, 64, 48)), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  teardown (h);
}

/* A caps change while 2 frames are held drains them first (run with the
 * old caps: same results as unbatched, out before any new-caps frame);
 * the frames after it batch anew. */
static void
test_caps_change_drains (void)
{
  Out one[MAX_OUT] = { 0 }, four[MAX_OUT] = { 0 };
  guint at_caps = 0;
  guint n1 = run_frames (gt_tiny_model (), 1, 7, 64, 48, 2, 32, 24, FALSE, one, NULL);
  guint n4 = run_frames (gt_tiny_model (), 4, 7, 64, 48, 2, 32, 24, FALSE, four, &at_caps);
  g_assert_cmpuint (n1, ==, 7);
  g_assert_cmpuint (n4, ==, 7);
  g_assert_cmpuint (at_caps, ==, 2);
  g_assert_cmpuint (four[1].size, ==, 64 * 48 * 3);
  g_assert_cmpuint (four[2].size, ==, 32 * 24 * 3);
  for (guint i = 0; i < 7; i++)
    assert_same (&one[i], &four[i]);
  outs_clear (one, n1);
  outs_clear (four, n4);
}

/* Starting @e fails; returns (transfer full) its error. */
static GError *
start_error (GstElement *e)
{
  g_assert_cmpint (gst_element_set_state (e, GST_STATE_PAUSED), ==, GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus (e);
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (m);
  GError *err = NULL;
  gst_message_parse_error (m, &err, NULL);
  gst_message_unref (m);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (e);
  return err;
}

/* batch-size=4 with mode=live, or with output=tensor, fails at start with
 * LIBRARY/SETTINGS naming the property. */
static void
test_refused_settings (void)
{
  GError *err = start_error (element_new (gt_tiny_model (), "batch-size", 4, "mode", 1, NULL));
  g_assert_error (err, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS);
  g_assert_nonnull (strstr (err->message, "batch-size=4"));
  g_assert_nonnull (strstr (err->message, "mode=live"));
  g_error_free (err);
  err = start_error (element_new (gt_tiny_model (), "batch-size", 4, "output", 1, NULL));
  g_assert_error (err, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS);
  g_assert_nonnull (strstr (err->message, "output=tensor"));
  g_error_free (err);
}

/* A model whose output does not lead with the batch (a transpose moves it
 * to dim 1) fails at start with LIBRARY/SETTINGS naming the property and carrying the
 * library's reason; batch-size=1 runs it. */
static void
test_unbatchable_model (void)
{
  AfGraph *g = af_graph_new ("pinned");
  gint64 shape[] = { 1, 3, 4, 4 };
  float scale[] = { 1.0f / 255 }, bias[] = { 0 };
  AfTensor *x = af_image_input (g, "image", shape, AF_PIXEL_RGB, 1, scale, 1, bias);
  const int perm[] = { 1, 0, 2, 3 };
  af_graph_add_output (g, "moved", af_transpose (g, x, 4, perm));
  g_autofree char *path = g_build_filename (gt_tmpdir (), "pinned.json", NULL);
  GError *error = NULL;
  g_assert_true (af_graph_save (g, path, &error));
  af_graph_free (g);
  AfCompileOptions opts = AF_COMPILE_OPTIONS_INIT;
  opts.batch = 4;
  g = af_graph_load (path, &error);
  g_assert_no_error (error);
  AfModel *m = af_compile (g, &opts, &error);
  af_graph_free (g);
  if (m) {
    af_model_free (m);
    g_test_skip ("the library batches a transposed batch dim");
    return;
  }
  g_autofree char *reason = g_strdup (error->message);
  g_clear_error (&error);
  GError *err = start_error (element_new (path, "batch-size", 4, NULL));
  g_assert_error (err, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS);
  g_assert_nonnull (strstr (err->message, "batch-size=4"));
  g_assert_nonnull (strstr (err->message, reason));
  g_error_free (err);
  GstElement *e = element_new (path, NULL, NULL);
  g_assert_cmpint (gst_element_set_state (e, GST_STATE_PAUSED), !=, GST_STATE_CHANGE_FAILURE);
  gst_element_set_state (e, GST_STATE_NULL);
  GstBus *bus = gst_element_get_bus (e);
  gst_bus_set_flushing (bus, TRUE); /* state messages reference the element */
  gst_object_unref (bus);
  gst_object_unref (e);
}

/* Minimum latency answered downstream of the element on @h. */
static GstClockTime
min_latency (GstHarness *h)
{
  GstQuery *q = gst_query_new_latency ();
  g_assert_true (gst_pad_peer_query (h->sinkpad, q));
  GstClockTime min;
  gst_query_parse_latency (q, NULL, &min, NULL);
  gst_query_unref (q);
  return min;
}

/* Offline LATENCY with batch-size=4 adds 3 frame durations (30 fps) to
 * what batch-size=1 adds. */
static void
test_latency (void)
{
  GstClockTime lat[2];
  for (guint r = 0; r < 2; r++) {
    GstHarness *h = harness_new (element_new (gt_tiny_model (), "batch-size", r ? 4 : 1, NULL));
    set_caps (h, 64, 48);
    g_assert_cmpint (gst_harness_push (h, frame (0, 64, 48)), ==, GST_FLOW_OK);
    lat[r] = min_latency (h);
    teardown (h);
  }
  g_assert_cmpuint (lat[0], <, FRAME_NS);
  g_assert_cmpuint (lat[1], >=, gst_util_uint64_scale (3, GST_SECOND, 30));
  g_assert_cmpuint (lat[1], <, gst_util_uint64_scale (3, GST_SECOND, 30) + FRAME_NS);
}

/* UltraFace RFB (imported here with an SSD decode; path transfer full), or
 * NULL when the shared model is absent. */
static char *
ultraface_model (void)
{
  g_autofree char *onnx = g_build_filename (g_getenv ("AF_SHARED"), "models", "ultraface",
                                            "version-RFB-320_simplified.onnx", NULL);
  if (!g_file_test (onnx, G_FILE_TEST_EXISTS))
    return NULL;
  GError *error = NULL;
  AfImportOptions opts = AF_IMPORT_OPTIONS_INIT;
  opts.image = TRUE;
  for (int c = 0; c < 3; c++) {
    opts.scale[c] = 1.0f / 128;
    opts.bias[c] = -127.0f / 128;
  }
  AfGraph *g = af_graph_import_onnx (onnx, &opts, &error);
  g_assert_no_error (error);
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_SSD);
  spec.score_threshold = 0.01f; /* textured frames: keep some candidates to compare */
  af_graph_set_decode (g, 0, &spec);
  af_decode_spec_clear (&spec);
  char *path = g_build_filename (gt_tmpdir (), "ultraface.json", NULL);
  g_assert_true (af_graph_save (g, path, &error));
  g_assert_no_error (error);
  af_graph_free (g);
  return path;
}

/* The UltraFace detector batched by 4 over 6 textured frames gives every
 * frame the tensors and detections batch-size=1 gives it (bit-identical;
 * two outputs, each read at its item's offset). */
static void
test_detector_batch (void)
{
  g_autofree char *model = ultraface_model ();
  if (!model) {
    g_test_fail_printf ("the shared UltraFace model is missing");
    return;
  }
  Out one[MAX_OUT] = { 0 }, four[MAX_OUT] = { 0 };
  guint n1 = run_frames (model, 1, 6, 160, 120, 0, 0, 0, TRUE, one, NULL);
  guint n4 = run_frames (model, 4, 6, 160, 120, 0, 0, 0, TRUE, four, NULL);
  g_assert_cmpuint (n1, ==, 6);
  g_assert_cmpuint (n4, ==, 6);
  for (guint i = 0; i < 6; i++)
    assert_same (&one[i], &four[i]);
  guint n_dets = 0;
  for (guint i = 0; i < 6; i++)
    n_dets += one[i].n_detections;
  g_test_message ("%u detections in 6 frames, %" G_GSIZE_FORMAT " values per frame", n_dets,
                  one[0].n_values);
  g_assert_cmpuint (n_dets, >, 0); /* boxes compared too, not only tensors */
  /* the frames differ: a slot read twice would show */
  g_assert_cmpint (memcmp (one[0].values, one[1].values, one[0].n_values * sizeof (gfloat)), !=, 0);
  outs_clear (one, n1);
  outs_clear (four, n4);
}

int
main (int argc, char **argv)
{
  gt_init (&argc, &argv);
  g_test_add_func ("/batch/matches-single", test_batch_matches_single);
  g_test_add_func ("/batch/with-interval", test_batch_with_interval);
  g_test_add_func ("/batch/flush-drops-held", test_flush_drops_held);
  g_test_add_func ("/batch/caps-change-drains", test_caps_change_drains);
  g_test_add_func ("/batch/refused-settings", test_refused_settings);
  g_test_add_func ("/batch/unbatchable-model", test_unbatchable_model);
  g_test_add_func ("/batch/latency", test_latency);
  g_test_add_func ("/batch/detector", test_detector_batch);
  int ret = g_test_run ();
  gt_deinit ();
  return ret;
}
