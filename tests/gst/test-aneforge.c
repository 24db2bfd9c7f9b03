/* test-aneforge.c — the aneforge element through GstHarness, the way
 * pipelines use it: meta and tensor output, every sink format, errors,
 * timestamps, state cycling, bus messages. */
#include <gst/check/gstharness.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#ifdef AF_HAVE_GDK_PIXBUF
#include <gdk-pixbuf/gdk-pixbuf.h>
#endif
#include <json-glib/json-glib.h>

#include "gst-test-util.h"
#include "gstaneforgemeta.h"
#include "gstaneforgepreprocess.h"

#define FRAME_NS (GST_SECOND / 30)

/* An aneforge element on the tiny classifier with extra properties, on a
 * bus of its own. Returns (transfer full, floating sunk). */
static GstElement *
element_new (const char *first_property, ...)
{
  GstElement *e = gst_element_factory_make ("aneforge", NULL);
  g_assert_nonnull (e);
  gst_object_ref_sink (e);
  g_object_set (e, "model", gt_tiny_model (), NULL);
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

/* A playing harness around @e (consumed). */
static GstHarness *
harness_new (GstElement *e)
{
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  return h;
}

static void
set_caps (GstHarness *h, GstVideoFormat format, int w, int h_)
{
  GstVideoInfo info;
  gt_video_info (&info, format, w, h_);
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
}

static GstBuffer *
push_pull (GstHarness *h, GstBuffer *in)
{
  g_assert_cmpint (gst_harness_push (h, in), ==, GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h);
  g_assert_nonnull (out);
  return out;
}

static GstBus *
element_bus (GstHarness *h)
{
  GstBus *bus = gst_element_get_bus (h->element);
  g_assert_nonnull (bus);
  gst_object_unref (bus); /* the element keeps it */
  return bus;
}

/* The next "aneforge" element message on @bus (transfer full), NULL when
 * none; the "aneforge-model" messages (a model loaded) are dropped. */
static GstMessage *
pop_results (GstBus *bus)
{
  GstMessage *m;
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) &&
         gst_message_has_name (m, "aneforge-model"))
    gst_message_unref (m);
  return m;
}

/* Tears @h down after dropping the messages left on the element's bus (they
 * reference the element: a cycle the leaks tracer would report). */
static void
teardown (GstHarness *h)
{
  gst_bus_set_flushing (element_bus (h), TRUE);
  gst_harness_teardown (h);
}

static const guint8 RED[3] = { 255, 0, 0 };

/* output=meta passes the frame through unchanged and attaches the top-5
 * classes with the model's labels, sane scores, the fp32 output tensor and a
 * positive latency. */
static void
test_meta_classification (void)
{
  GstHarness *h = harness_new (element_new (NULL));
  set_caps (h, GST_VIDEO_FORMAT_RGB, 64, 48);
  GstBuffer *in = gt_solid_frame (GST_VIDEO_FORMAT_RGB, 64, 48, RED);
  GstBuffer *copy = gst_buffer_copy_deep (in);
  GstBuffer *out = push_pull (h, in);

  GstMapInfo a, b;
  gst_buffer_map (out, &a, GST_MAP_READ);
  gst_buffer_map (copy, &b, GST_MAP_READ);
  g_assert_cmpmem (a.data, a.size, b.data, b.size);
  gst_buffer_unmap (out, &a);
  gst_buffer_unmap (copy, &b);

  GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (out);
  g_assert_nonnull (meta);
  const char *const *labels = gt_tiny_labels ();
  g_assert_cmpuint (meta->n_classes, ==, 5);
  g_assert_cmpstr (meta->classes[0].label, ==, "red");
  float sum = 0;
  for (guint i = 0; i < meta->n_classes; i++) {
    g_assert_cmpuint (meta->classes[i].index, <, 10);
    g_assert_cmpstr (meta->classes[i].label, ==, labels[meta->classes[i].index]);
    if (i)
      g_assert_cmpfloat (meta->classes[i].score, <=, meta->classes[i - 1].score);
    sum += meta->classes[i].score;
  }
  g_assert_cmpfloat (meta->classes[0].score, >, 0.5f);
  g_assert_cmpfloat (sum, <=, 1.01f);
  g_assert_cmpuint (meta->latency_ns, >, 0);

  g_assert_cmpuint (meta->n_tensors, ==, 1);
  const GstAneforgeTensor *t = &meta->tensors[0];
  g_assert_cmpstr (t->name, ==, "probs");
  g_assert_cmpuint (t->rank, ==, 2);
  g_assert_cmpint (t->shape[0], ==, 1);
  g_assert_cmpint (t->shape[1], ==, 10);
  g_assert_cmpuint (t->n_elements, ==, 10);
  float total = 0;
  for (int i = 0; i < 10; i++)
    total += t->data[i];
  g_assert_cmpfloat (fabsf (total - 1.0f), <, 0.02f);
  g_assert_cmpfloat (t->data[meta->classes[0].index], ==, meta->classes[0].score);

  gst_buffer_unref (out);
  gst_buffer_unref (copy);
  teardown (h);
}

/* The labels property takes "index,name" files (commas inside names kept;
 * the decoder's loader, which also rejects more labels than the model's 10
 * classes, so SqueezeNet's Labels.txt does not fit) and top-k limits the
 * classes. */
static void
test_meta_labels_property (void)
{
  g_autofree char *path = gt_write_file ("indexed.txt", "0,tench, Tinca tinca\n1,goldfish\n"
                                                        "2,great white shark, white shark, "
                                                        "man-eater, man-eating shark, "
                                                        "Carcharodon carcharias\n");
  GstHarness *h = harness_new (element_new ("labels", path, "top-k", 3, NULL));
  set_caps (h, GST_VIDEO_FORMAT_BGRx, 40, 30);
  GstBuffer *out = push_pull (h, gt_solid_frame (GST_VIDEO_FORMAT_BGRx, 40, 30, RED));
  GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (out);
  g_assert_nonnull (meta);
  g_assert_cmpuint (meta->n_classes, ==, 3);
  g_assert_cmpuint (meta->classes[0].index, ==, 2); /* red */
  g_assert_cmpstr (meta->classes[0].label, ==,
                   "great white shark, white shark, man-eater, man-eating shark, "
                   "Carcharodon carcharias");
  gst_buffer_unref (out);
  teardown (h);
}

static const struct {
  const char *name;
  guint8 rgb[3];
} colours[] = {
  { "red", { 255, 0, 0 } },       { "green", { 0, 255, 0 } }, { "blue", { 0, 0, 255 } },
  { "white", { 255, 255, 255 } }, { "black", { 0, 0, 0 } },
};

static const GValue *
list_field (const GstStructure *s, const char *name, guint n)
{
  const GValue *v = gst_structure_get_value (s, name);
  g_assert_nonnull (v);
  g_assert_true (GST_VALUE_HOLDS_LIST (v));
  g_assert_cmpuint (gst_value_list_get_size (v), ==, n);
  return v;
}

/* Every frame posts one "aneforge" element message with its pts, running
 * time, latency and the classes, labels and scores, best first. */
static void
test_bus_message_per_frame (void)
{
  GstHarness *h = harness_new (element_new (NULL));
  set_caps (h, GST_VIDEO_FORMAT_I420, 96, 64);
  for (guint i = 0; i < G_N_ELEMENTS (colours); i++) {
    GstBuffer *in = gt_solid_frame (GST_VIDEO_FORMAT_I420, 96, 64, colours[i].rgb);
    GST_BUFFER_PTS (in) = i * FRAME_NS;
    gst_buffer_unref (push_pull (h, in));
  }
  GstBus *bus = element_bus (h);
  for (guint i = 0; i < G_N_ELEMENTS (colours); i++) {
    GstMessage *m = pop_results (bus);
    g_assert_nonnull (m);
    const GstStructure *s = gst_message_get_structure (m);
    g_assert_true (gst_structure_has_name (s, "aneforge"));
    guint64 pts, rt;
    gdouble latency;
    g_assert_true (gst_structure_get_uint64 (s, "pts", &pts));
    g_assert_true (gst_structure_get_uint64 (s, "running-time", &rt));
    g_assert_true (gst_structure_get_double (s, "latency-ms", &latency));
    g_assert_cmpuint (pts, ==, i * FRAME_NS);
    g_assert_cmpuint (rt, ==, i * FRAME_NS);
    g_assert_cmpfloat (latency, >, 0);
    const GValue *ids = list_field (s, "class-ids", 5);
    const GValue *labels = list_field (s, "labels", 5);
    const GValue *scores = list_field (s, "scores", 5);
    g_assert_cmpstr (g_value_get_string (gst_value_list_get_value (labels, 0)), ==,
                     colours[i].name);
    int id = g_value_get_int (gst_value_list_get_value (ids, 0));
    g_assert_cmpstr (gt_tiny_labels ()[id], ==, colours[i].name);
    g_assert_cmpfloat (g_value_get_double (gst_value_list_get_value (scores, 0)), >=,
                       g_value_get_double (gst_value_list_get_value (scores, 1)));
    gst_message_unref (m);
  }
  g_assert_null (pop_results (bus));
  teardown (h);
}

static void
noise (int x, int y, guint8 rgb[3], gpointer data)
{
  guint32 v = (guint32) (x * 2654435761u) ^ (guint32) (y * 40503u + 977u);
  v ^= v >> 15;
  v *= 0x2c1b3c6du;
  rgb[0] = v & 0xff;
  rgb[1] = (v >> 8) & 0xff;
  rgb[2] = (v >> 16) & 0xff;
}

/* Runs the tiny classifier with af_model_run on port pixels @port (uint8
 * NCHW). Returns (transfer full) the 10 probabilities. */
static float *
reference_run (const guint8 *port, gsize n)
{
  GError *error = NULL;
  AfGraph *g = af_graph_load (gt_tiny_model (), &error);
  g_assert_no_error (error);
  AfModel *m = af_compile (g, NULL, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  g_autofree float *in = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    in[i] = port[i];
  float *out = g_new (float, 10);
  const float *ins[] = { in };
  float *outs[] = { out };
  g_assert_true (af_model_run (m, ins, outs, &error));
  g_assert_no_error (error);
  af_model_free (m);
  return out;
}

/* The tiny classifier's port pixels for @buf, as the element computes them. */
static guint8 *
reference_port (GstBuffer *buf, const GstVideoInfo *info)
{
  AfTensorInfo port = { 0 };
  port.name = "image";
  port.rank = 4;
  port.shape[0] = 1;
  port.shape[1] = 3;
  port.shape[2] = 32;
  port.shape[3] = 32;
  port.is_image = TRUE;
  port.order = AF_PIXEL_RGB;
  GstAneforgePreprocess pp = { 0 };
  GError *error = NULL;
  g_assert_true (gst_aneforge_preprocess_init (&pp, info, FALSE, &port, &error));
  guint8 *px = g_malloc (3 * 32 * 32);
  GstVideoFrame f;
  g_assert_true (gst_video_frame_map (&f, info, buf, GST_MAP_READ));
  gst_aneforge_preprocess_run (&pp, &f, px);
  gst_video_frame_unmap (&f);
  gst_aneforge_preprocess_clear (&pp);
  return px;
}

static void
assert_tensor_caps (GstHarness *h)
{
  GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
  g_assert_nonnull (caps);
  GstStructure *s = gst_caps_get_structure (caps, 0);
  g_assert_cmpstr (gst_structure_get_name (s), ==, "other/tensors");
  g_assert_cmpstr (gst_structure_get_string (s, "format"), ==, "static");
  int n, fn, fd;
  g_assert_true (gst_structure_get_int (s, "num_tensors", &n));
  g_assert_cmpint (n, ==, 1);
  g_assert_cmpstr (gst_structure_get_string (s, "types"), ==, "float32");
  g_assert_cmpstr (gst_structure_get_string (s, "dimensions"), ==, "10:1");
  g_assert_true (gst_structure_get_fraction (s, "framerate", &fn, &fd));
  g_assert_cmpint (fn, ==, 30);
  g_assert_cmpint (fd, ==, 1);
  gst_caps_unref (caps);
}

/* output=tensor emits NNStreamer static other/tensors caps (float32, "10:1",
 * the sink's framerate) and one 40-byte memory per frame holding exactly
 * what af_model_run gives for the same port pixels: at the port's size, and
 * after resizing an odd-sized frame. */
static void
test_tensor_output (void)
{
  const struct {
    GstVideoFormat format;
    int w, h;
  } cases[] = { { GST_VIDEO_FORMAT_RGB, 32, 32 },
                { GST_VIDEO_FORMAT_BGRx, 385, 289 },
                { GST_VIDEO_FORMAT_NV12, 385, 289 } };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    GstHarness *h = harness_new (element_new ("output", 1 /* tensor */, NULL));
    GstVideoInfo info;
    gt_video_info (&info, cases[c].format, cases[c].w, cases[c].h);
    gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
    GstBuffer *in = gt_frame_new (&info, noise, NULL);
    g_autofree guint8 *port = reference_port (in, &info);
    if (c == 0) /* at the port's size the mapping is the identity */
      for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++) {
          guint8 rgb[3];
          noise (x, y, rgb, NULL);
          for (int k = 0; k < 3; k++)
            g_assert_cmpint (port[(k * 32 + y) * 32 + x], ==, rgb[k]);
        }
    GstBuffer *out = push_pull (h, in);
    assert_tensor_caps (h);
    g_assert_cmpuint (gst_buffer_n_memory (out), ==, 1);
    g_assert_cmpuint (gst_buffer_get_size (out), ==, 10 * sizeof (float));
    g_assert_null (gst_buffer_get_aneforge_meta (out));
    g_autofree float *expect = reference_run (port, 3 * 32 * 32);
    float got[10];
    gst_buffer_extract (out, 0, got, sizeof got);
    for (int i = 0; i < 10; i++)
      g_assert_cmpfloat (got[i], ==, expect[i]);
    gst_buffer_unref (out);
    teardown (h);
  }
}

/* A two-output model gives num_tensors=2, both types, comma-separated
 * NNStreamer dimensions, one memory per tensor with the right sizes, and
 * steady-state buffers come back from the element's pool (same memory). */
static void
test_tensor_two_outputs (void)
{
  g_autofree char *path = gt_two_output_model (FALSE);
  GstHarness *h = harness_new (element_new ("model", path, "output", 1, NULL));
  set_caps (h, GST_VIDEO_FORMAT_RGB, 8, 8);
  const guint8 colour[3] = { 51, 102, 204 };
  GstBuffer *out = push_pull (h, gt_solid_frame (GST_VIDEO_FORMAT_RGB, 8, 8, colour));
  GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
  GstStructure *s = gst_caps_get_structure (caps, 0);
  int n;
  g_assert_true (gst_structure_get_int (s, "num_tensors", &n));
  g_assert_cmpint (n, ==, 2);
  g_assert_cmpstr (gst_structure_get_string (s, "types"), ==, "float32,float32");
  g_assert_cmpstr (gst_structure_get_string (s, "dimensions"), ==, "8:8:4:1,4:1");
  gst_caps_unref (caps);
  g_assert_cmpuint (gst_buffer_n_memory (out), ==, 2);
  g_assert_cmpuint (gst_memory_get_sizes (gst_buffer_peek_memory (out, 0), NULL, NULL), ==,
                    4 * 8 * 8 * sizeof (float));
  g_assert_cmpuint (gst_memory_get_sizes (gst_buffer_peek_memory (out, 1), NULL, NULL), ==,
                    4 * sizeof (float));
  float pooled[4];
  gst_buffer_extract (out, 4 * 8 * 8 * sizeof (float), pooled, sizeof pooled);
  for (int c = 0; c < 3; c++) /* identity 1x1 conv on the first 3 channels */
    g_assert_cmpfloat (fabsf (pooled[c] - colour[c] / 255.0f), <, 2e-3f);
  gst_buffer_unref (out);
  GHashTable *seen = g_hash_table_new (NULL, NULL);
  for (int i = 0; i < 6; i++) {
    out = push_pull (h, gt_solid_frame (GST_VIDEO_FORMAT_RGB, 8, 8, colour));
    g_hash_table_add (seen, gst_buffer_peek_memory (out, 0));
    gst_buffer_unref (out);
  }
  g_assert_cmpuint (g_hash_table_size (seen), <=, 2); /* the pool's two buffers */
  g_hash_table_unref (seen);
  teardown (h);
}

/* A classification decode with softmax on the second output: the host
 * applies softmax before top-k (3 classes, probabilities of the raw
 * "pooled" values), without labels. */
static void
test_meta_host_softmax (void)
{
  g_autofree char *path = gt_two_output_model (TRUE);
  GstHarness *h = harness_new (element_new ("model", path, NULL));
  set_caps (h, GST_VIDEO_FORMAT_BGR, 13, 11);
  const guint8 colour[3] = { 250, 20, 130 };
  GstBuffer *out = push_pull (h, gt_solid_frame (GST_VIDEO_FORMAT_BGR, 13, 11, colour));
  GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (out);
  g_assert_nonnull (meta);
  g_assert_cmpuint (meta->n_tensors, ==, 2);
  const float *v = meta->tensors[1].data;
  double sum = 0;
  for (int i = 0; i < 4; i++)
    sum += exp (v[i]);
  g_assert_cmpuint (meta->n_classes, ==, 3);
  const guint expect[3] = { 0, 2, 1 }; /* R > B > G */
  for (guint k = 0; k < 3; k++) {
    g_assert_cmpuint (meta->classes[k].index, ==, expect[k]);
    g_assert_null (meta->classes[k].label);
    g_assert_cmpfloat (fabs (meta->classes[k].score - exp (v[expect[k]]) / sum), <, 1e-5);
  }
  gst_buffer_unref (out);
  teardown (h);
}

/* A solid colour at 385x289 in every sink format gives (nearly) the same
 * probabilities as RGB, through one element renegotiating between formats. */
static void
test_every_format (void)
{
  const guint8 colour[3] = { 230, 120, 20 }, gray[3] = { 128, 128, 128 };
  GstHarness *h = harness_new (element_new ("output", 1, NULL));
  float ref_colour[10], ref_gray[10];
  for (int pass = 0; pass < 2; pass++) {
    const guint8 *rgb = pass ? gray : colour;
    set_caps (h, GST_VIDEO_FORMAT_RGB, 385, 289);
    GstBuffer *out = push_pull (h, gt_solid_frame (GST_VIDEO_FORMAT_RGB, 385, 289, rgb));
    gst_buffer_extract (out, 0, pass ? ref_gray : ref_colour, sizeof ref_colour);
    gst_buffer_unref (out);
  }
  for (guint i = 0; i < gt_n_formats; i++) {
    gboolean is_gray = gt_formats[i] == GST_VIDEO_FORMAT_GRAY8;
    const float *ref = is_gray ? ref_gray : ref_colour;
    set_caps (h, gt_formats[i], 385, 289);
    GstBuffer *out =
        push_pull (h, gt_solid_frame (gt_formats[i], 385, 289, is_gray ? gray : colour));
    float got[10];
    g_assert_cmpuint (gst_buffer_extract (out, 0, got, sizeof got), ==, sizeof got);
    for (int k = 0; k < 10; k++)
      if (fabsf (got[k] - ref[k]) > 0.03f)
        g_error ("%s: probs[%d] = %f, RGB gives %f", gst_video_format_to_string (gt_formats[i]), k,
                 got[k], ref[k]);
    gst_buffer_unref (out);
  }
  teardown (h);
}

/* pts, dts, duration and offsets survive both output modes. */
static void
test_timestamps (void)
{
  for (int mode = 0; mode < 2; mode++) {
    GstHarness *h = harness_new (element_new ("output", mode, NULL));
    set_caps (h, GST_VIDEO_FORMAT_RGBA, 17, 13);
    for (int i = 0; i < 3; i++) {
      GstBuffer *in = gt_solid_frame (GST_VIDEO_FORMAT_RGBA, 17, 13, RED);
      GST_BUFFER_PTS (in) = GST_SECOND + i * FRAME_NS;
      GST_BUFFER_DTS (in) = GST_SECOND + i * FRAME_NS - 1000;
      GST_BUFFER_DURATION (in) = FRAME_NS;
      GST_BUFFER_OFFSET (in) = 7 + i;
      GstBuffer *out = push_pull (h, in);
      g_assert_cmpuint (GST_BUFFER_PTS (out), ==, GST_SECOND + i * FRAME_NS);
      g_assert_cmpuint (GST_BUFFER_DTS (out), ==, GST_SECOND + i * FRAME_NS - 1000);
      g_assert_cmpuint (GST_BUFFER_DURATION (out), ==, FRAME_NS);
      g_assert_cmpuint (GST_BUFFER_OFFSET (out), ==, 7 + i);
      gst_buffer_unref (out);
    }
    teardown (h);
  }
}

/* Starts @e expecting failure; returns the (only) error message's GError
 * (transfer full). */
static GError *
start_error (GstElement *e)
{
  g_assert_cmpint (gst_element_set_state (e, GST_STATE_PAUSED), ==, GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus (e);
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (m);
  GError *err = NULL;
  gchar *debug = NULL;
  gst_message_parse_error (m, &err, &debug);
  g_test_message ("error: %s (%s)", err->message, debug);
  g_free (debug);
  gst_message_unref (m);
  g_assert_cmpint (gst_element_set_state (e, GST_STATE_NULL), ==, GST_STATE_CHANGE_SUCCESS);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_object_unref (e);
  return err;
}

/* A model path that does not exist fails to start with RESOURCE/NOT_FOUND
 * and the loader's message naming the file. */
static void
test_missing_model (void)
{
  g_autofree char *path = g_build_filename (gt_tmpdir (), "no-such-model.json", NULL);
  GError *err = start_error (element_new ("model", path, NULL));
  g_assert_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (err->message, "no-such-model.json"));
  g_error_free (err);
}

/* Without the model property the element refuses to start, saying so. */
static void
test_unset_model (void)
{
  GError *err = start_error (element_new ("model", NULL, NULL));
  g_assert_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (err->message, "\"model\" property is unset"));
  g_error_free (err);
}

/* A malformed graph file fails with STREAM/FORMAT and the loader's message. */
static void
test_malformed_model (void)
{
  g_autofree char *path = gt_write_file ("broken.json", "{ \"aneforge\": 1, \"nodes\": [ ");
  GError *err = start_error (element_new ("model", path, NULL));
  g_assert_error (err, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT);
  g_assert_nonnull (strstr (err->message, "broken.json"));
  g_error_free (err);
}

/* backend=ane fails at start with LIBRARY/INIT saying the ANE is not
 * available on this platform. */
static void
test_backend_ane (void)
{
  GError *err = start_error (element_new ("backend", 2 /* ane */, NULL));
  g_assert_error (err, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT);
  g_assert_nonnull (strstr (err->message, "not available on this platform"));
  g_error_free (err);
}

/* A model whose input is not an image port starts but refuses video caps
 * with a CORE/NEGOTIATION error saying what the model expects. */
static void
test_nonimage_model_rejects_caps (void)
{
  g_autofree char *path = gt_nonimage_model ();
  GstHarness *h = harness_new (element_new ("model", path, NULL));
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_RGB, 16, 16);
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_harness_push_event (h, gst_event_new_stream_start ("nonimage"));
  GstCaps *caps = gst_video_info_to_caps (&info);
  gst_harness_push_event (h, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  gst_harness_push_event (h, gst_event_new_segment (&segment));
  GstFlowReturn ret = gst_harness_push (h, gt_solid_frame (GST_VIDEO_FORMAT_RGB, 16, 16, RED));
  g_assert_cmpint (ret, ==, GST_FLOW_NOT_NEGOTIATED);
  GstMessage *m = gst_bus_pop_filtered (element_bus (h), GST_MESSAGE_ERROR);
  g_assert_nonnull (m);
  GError *err = NULL;
  gst_message_parse_error (m, &err, NULL);
  g_assert_error (err, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION);
  g_assert_nonnull (strstr (err->message, "\"features\""));
  g_assert_nonnull (strstr (err->message, "not an image port"));
  g_error_free (err);
  gst_message_unref (m);
  teardown (h);
}

/* NULL -> PLAYING -> NULL ten times, with a frame each time, works and leaks
 * nothing (the leaks tracer checks at exit). */
static void
test_state_cycles (void)
{
  GstHarness *h = harness_new (element_new (NULL));
  for (int i = 0; i < 10; i++) {
    set_caps (h, GST_VIDEO_FORMAT_xRGB, 385, 289);
    GstBuffer *out = push_pull (h, gt_solid_frame (GST_VIDEO_FORMAT_xRGB, 385, 289, RED));
    GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (out);
    g_assert_nonnull (meta);
    g_assert_cmpstr (meta->classes[0].label, ==, "red");
    gst_buffer_unref (out);
    g_assert_cmpint (gst_element_set_state (h->element, GST_STATE_NULL), ==,
                     GST_STATE_CHANGE_SUCCESS);
    gst_harness_play (h);
  }
  teardown (h);
}

/* A meta outlives the element that made it (its memory is pooled but
 * reference-counted), and copies of the buffer share it. */
static void
test_meta_outlives_element (void)
{
  GstHarness *h = harness_new (element_new (NULL));
  set_caps (h, GST_VIDEO_FORMAT_GRAY8, 33, 33);
  GstBuffer *out = push_pull (h, gt_solid_frame (GST_VIDEO_FORMAT_GRAY8, 33, 33, RED));
  teardown (h);
  GstBuffer *copy = gst_buffer_copy (out);
  gst_buffer_unref (out);
  GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (copy);
  g_assert_nonnull (meta);
  g_assert_cmpuint (meta->n_classes, ==, 5);
  g_assert_nonnull (meta->classes[0].label);
  g_assert_cmpstr (meta->tensors[0].name, ==, "probs");
  gst_buffer_unref (copy);
}

#ifdef AF_HAVE_GDK_PIXBUF
/* UltraFace RFB imported here with an SSD decode, saved next to the test's
 * other files (transfer full path), or NULL when the shared model is absent. */
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
  opts.order = AF_PIXEL_RGB;
  for (int c = 0; c < 3; c++) {
    opts.scale[c] = 1.0f / 128;
    opts.bias[c] = -127.0f / 128;
  }
  AfGraph *g = af_graph_import_onnx (onnx, &opts, &error);
  g_assert_no_error (error);
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_SSD);
  af_graph_set_decode (g, 0, &spec);
  af_decode_spec_clear (&spec);
  char *path = g_build_filename (gt_tmpdir (), "ultraface.json", NULL);
  g_assert_true (af_graph_save (g, path, &error));
  g_assert_no_error (error);
  af_graph_free (g);
  return path;
}

/* An RGB frame of the picture @file at its own size (transfer full). */
static GstBuffer *
picture_frame (const char *file, GstVideoInfo *info)
{
  GError *error = NULL;
  GdkPixbuf *pb = gdk_pixbuf_new_from_file (file, &error);
  g_assert_no_error (error);
  int w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
  int stride = gdk_pixbuf_get_rowstride (pb), nc = gdk_pixbuf_get_n_channels (pb);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  gt_video_info (info, GST_VIDEO_FORMAT_RGB, w, h);
  GstBuffer *buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  GstMapInfo map;
  g_assert_true (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      memcpy (map.data + y * GST_VIDEO_INFO_PLANE_STRIDE (info, 0) + 3 * x,
              px + y * stride + nc * x, 3);
  gst_buffer_unmap (buf, &map);
  g_object_unref (pb);
  return buf;
}

static double
box_iou (const float *a, const float *b)
{
  double iw = MIN (a[2], b[2]) - MAX (a[0], b[0]), ih = MIN (a[3], b[3]) - MAX (a[1], b[1]);
  if (iw <= 0 || ih <= 0)
    return 0;
  double inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/* Asserts that each golden RFB box of face.jpg (ONNX Runtime, frame pixels
 * of the @img_w-wide picture, scaled to the @frame_w x @frame_h frame) has a
 * detection of @boxes (4 floats each) with IoU >= 0.85. */
static void
check_golden_faces (const float *boxes, guint n, int img_w, int img_h, int frame_w, int frame_h)
{
  g_autofree char *path =
      g_build_filename (g_getenv ("AF_SOURCE_ROOT"), "tests", "decode", "golden-faces.txt", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n_golden = 0;
  for (guint i = 0; lines[i]; i++) {
    char model[128], image[128];
    float g[4], score;
    if (sscanf (lines[i], "%127s %127s %f %f %f %f %f", model, image, &g[0], &g[1], &g[2], &g[3],
                &score) != 7 ||
        strcmp (model, "version-RFB-320_simplified.onnx") != 0 || strcmp (image, "face.jpg") != 0)
      continue;
    float sx = (float) frame_w / img_w, sy = (float) frame_h / img_h;
    float want[4] = { g[0] * sx, g[1] * sy, g[2] * sx, g[3] * sy };
    double best = 0;
    for (guint k = 0; k < n; k++)
      best = MAX (best, box_iou (want, boxes + 4 * k));
    g_test_message ("golden face %u: best IoU %.3f", n_golden, best);
    g_assert_cmpfloat (best, >=, 0.85);
    n_golden++;
  }
  g_assert_cmpuint (n_golden, ==, 4);
}

/* The JSON-lines results file holds one line for the one frame, with its
 * 4 detections. Returns the boxes (transfer full, 4 floats each). */
static float *
read_results_file (const char *path)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2); /* one line + the empty rest */
  g_assert_cmpstr (lines[1], ==, "");
  GError *error = NULL;
  JsonParser *p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, lines[0], -1, &error));
  g_assert_no_error (error);
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  g_assert_cmpint (json_object_get_int_member (o, "frame"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (o, "pts"), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "classes")), ==, 0);
  JsonArray *dets = json_object_get_array_member (o, "detections");
  g_assert_cmpuint (json_array_get_length (dets), ==, 4);
  float *boxes = g_new (float, 16);
  for (guint k = 0; k < 4; k++) {
    JsonObject *d = json_array_get_object_element (dets, k);
    JsonArray *box = json_object_get_array_member (d, "box");
    for (guint c = 0; c < 4; c++)
      boxes[4 * k + c] = json_array_get_double_element (box, c);
    g_assert_cmpfloat (json_object_get_double_member (d, "score"), >=, 0.7);
  }
  g_object_unref (p);
  return boxes;
}

/* winograd (default off) reaches the compile: SqueezeNet fp16 on a decoded
 * fish.png names the tench either way, with a slightly different score when
 * the 3x3 convolutions run as Winograd F(2x2, 3x3). */
static void
test_winograd_property (void)
{
  g_autofree char *onnx = g_build_filename (g_getenv ("AF_SHARED"), "models", "squeezenet",
                                            "SqueezeNet_fp16.onnx", NULL);
  g_autofree char *image = g_build_filename (g_getenv ("AF_SHARED"), "media", "fish.png", NULL);
  if (!g_file_test (onnx, G_FILE_TEST_EXISTS) || !g_file_test (image, G_FILE_TEST_EXISTS)) {
    g_test_fail_printf ("%s or %s is missing", onnx, image);
    return;
  }
  GError *error = NULL;
  AfImportOptions opts = AF_IMPORT_OPTIONS_INIT; /* raw BGR 0..255 */
  opts.image = TRUE;
  opts.order = AF_PIXEL_BGR;
  AfGraph *g = af_graph_import_onnx (onnx, &opts, &error);
  g_assert_no_error (error);
  af_graph_set_classification (g, 0, FALSE, 1, NULL);
  g_autofree char *model = g_build_filename (gt_tmpdir (), "squeezenet.json", NULL);
  g_assert_true (af_graph_save (g, model, &error));
  af_graph_free (g);
  float score[2];
  for (int w = 0; w < 2; w++) {
    GstElement *e = element_new ("model", model, NULL);
    gboolean v = TRUE;
    g_object_get (e, "winograd", &v, NULL);
    g_assert_false (v); /* the default */
    g_object_set (e, "winograd", w, NULL);
    g_object_get (e, "winograd", &v, NULL);
    g_assert_cmpint (v, ==, w);
    GstHarness *h = harness_new (e);
    GstVideoInfo info;
    GstBuffer *in = picture_frame (image, &info);
    gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
    GstBuffer *out = push_pull (h, in);
    GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (out);
    g_assert_nonnull (meta);
    g_assert_cmpuint (meta->n_classes, ==, 1);
    g_assert_cmpuint (meta->classes[0].index, ==, 0); /* tench */
    score[w] = meta->classes[0].score;
    gst_buffer_unref (out);
    teardown (h);
  }
  g_test_message ("tench: direct %.4f, winograd %.4f", score[0], score[1]);
  g_assert_cmpfloat (score[0], >, 0.5f);
  g_assert_cmpfloat (fabsf (score[1] - score[0]), <=, 0.02f);
  g_assert_cmpfloat (score[1], !=, score[0]);
}

/* A face detector declared in the graph (UltraFace RFB + SSD decode):
 * the 4 faces of face.jpg come out in frame pixels in the meta, on the bus
 * ("boxes") and in the results file, where ONNX Runtime finds them. */
static void
test_detection_faces (void)
{
  g_autofree char *model = ultraface_model ();
  g_autofree char *image = g_build_filename (g_getenv ("AF_SHARED"), "media", "face.jpg", NULL);
  if (!model || !g_file_test (image, G_FILE_TEST_EXISTS)) {
    g_test_fail_printf ("the shared UltraFace model or %s is missing", image);
    return;
  }
  g_autofree char *results = g_build_filename (gt_tmpdir (), "faces.jsonl", NULL);
  GstVideoInfo info;
  GstBuffer *in = picture_frame (image, &info);
  int w = GST_VIDEO_INFO_WIDTH (&info), hh = GST_VIDEO_INFO_HEIGHT (&info);
  GstHarness *h = harness_new (element_new ("model", model, "results", results, NULL));
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  GST_BUFFER_PTS (in) = 0;
  GstBuffer *out = push_pull (h, in);

  GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (out);
  g_assert_nonnull (meta);
  g_assert_cmpuint (meta->n_classes, ==, 0);
  g_assert_cmpuint (meta->n_detections, ==, 4);
  float boxes[16];
  for (guint k = 0; k < 4; k++) {
    const GstAneforgeDetection *d = &meta->detections[k];
    g_assert_cmpfloat (d->score, >=, 0.7);
    g_assert_cmpint (d->class_index, ==, 1); /* column 1 of [background, face] */
    g_assert_cmpfloat (d->x1, >=, 0);
    g_assert_cmpfloat (d->x2, <=, w);
    g_assert_cmpfloat (d->y2, <=, hh);
    g_assert_cmpuint (meta->age_frames, ==, 0);
    boxes[4 * k] = d->x1, boxes[4 * k + 1] = d->y1, boxes[4 * k + 2] = d->x2;
    boxes[4 * k + 3] = d->y2;
  }
  check_golden_faces (boxes, 4, w, hh, w, hh);

  GstMessage *m = pop_results (element_bus (h));
  g_assert_nonnull (m);
  const GstStructure *s = gst_message_get_structure (m);
  const GValue *list = list_field (s, "boxes", 4);
  for (guint k = 0; k < 4; k++) {
    const GstStructure *b = gst_value_get_structure (gst_value_list_get_value (list, k));
    g_assert_true (gst_structure_has_name (b, "detection"));
    gdouble x1, y1, x2, y2, score;
    gint id;
    g_assert_true (gst_structure_get (b, "x1", G_TYPE_DOUBLE, &x1, "y1", G_TYPE_DOUBLE, &y1, "x2",
                                      G_TYPE_DOUBLE, &x2, "y2", G_TYPE_DOUBLE, &y2, "score",
                                      G_TYPE_DOUBLE, &score, "class-id", G_TYPE_INT, &id, NULL));
    g_assert_cmpfloat (fabs (x1 - boxes[4 * k]), <, 1e-3);
    g_assert_cmpfloat (fabs (y2 - boxes[4 * k + 3]), <, 1e-3);
    g_assert_cmpint (id, ==, 1);
    g_assert_nonnull (gst_structure_get_string (b, "label"));
    g_assert_true (GST_VALUE_HOLDS_LIST (gst_structure_get_value (b, "landmarks")));
  }
  g_assert_false (gst_structure_has_field (s, "class-ids"));
  gst_message_unref (m);
  gst_buffer_unref (out);
  teardown (h); /* stop() closes the results file */

  g_autofree float *from_file = read_results_file (results);
  check_golden_faces (from_file, 4, w, hh, w, hh);
}

/* An unwritable results path fails the start with RESOURCE/OPEN_WRITE. */
static void
test_results_unwritable (void)
{
  GstElement *e = element_new ("results", "/nonexistent/dir/results.jsonl", NULL);
  g_assert_cmpint (gst_element_set_state (e, GST_STATE_PAUSED), ==, GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus (e);
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (m);
  GError *err = NULL;
  gst_message_parse_error (m, &err, NULL);
  g_assert_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE);
  g_assert_nonnull (strstr (err->message, "/nonexistent/dir/results.jsonl"));
  g_error_free (err);
  gst_message_unref (m);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (e);
}
#endif

int
main (int argc, char **argv)
{
  gt_init (&argc, &argv);
  GstElementFactory *factory = gst_element_factory_find ("aneforge");
  g_assert_nonnull (factory); /* the built plugin is on GST_PLUGIN_PATH */
  gst_object_unref (factory);
  g_test_add_func ("/aneforge/meta-classification", test_meta_classification);
  g_test_add_func ("/aneforge/meta-labels-property", test_meta_labels_property);
  g_test_add_func ("/aneforge/meta-host-softmax", test_meta_host_softmax);
  g_test_add_func ("/aneforge/bus-message-per-frame", test_bus_message_per_frame);
  g_test_add_func ("/aneforge/tensor-output", test_tensor_output);
  g_test_add_func ("/aneforge/tensor-two-outputs", test_tensor_two_outputs);
  g_test_add_func ("/aneforge/every-format", test_every_format);
  g_test_add_func ("/aneforge/timestamps", test_timestamps);
  g_test_add_func ("/aneforge/missing-model", test_missing_model);
  g_test_add_func ("/aneforge/unset-model", test_unset_model);
  g_test_add_func ("/aneforge/malformed-model", test_malformed_model);
  g_test_add_func ("/aneforge/backend-ane", test_backend_ane);
  g_test_add_func ("/aneforge/nonimage-model-rejects-caps", test_nonimage_model_rejects_caps);
  g_test_add_func ("/aneforge/state-cycles", test_state_cycles);
  g_test_add_func ("/aneforge/meta-outlives-element", test_meta_outlives_element);
#ifdef AF_HAVE_GDK_PIXBUF
  g_test_add_func ("/aneforge/detection-faces", test_detection_faces);
  g_test_add_func ("/aneforge/winograd-property", test_winograd_property);
  g_test_add_func ("/aneforge/results-unwritable", test_results_unwritable);
#endif
  int ret = g_test_run ();
  gt_deinit ();
  return ret;
}
