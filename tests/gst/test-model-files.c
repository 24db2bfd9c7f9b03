/* test-model-files.c — the aneforge element on .onnx and .tflite files
 * (model=, import=): on the same frame its outputs, classes and detections
 * equal `aneforge run` with the same import options (SqueezeNet, UltraFace
 * with the SSD decode, MediaPipe's BlazeFace); the "aneforge-model" bus
 * message; load errors with their GStreamer domains, naming file and node. */
#include <gst/check/gstharness.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gst-test-util.h"
#include "gstaneforgemeta.h"
#include "oracle.h"
#include "test-media.h"

/* ---------------------------------------------------------------- helpers */

/* An RGB frame of @image resized to @w x @h (bilinear, gdk-pixbuf), and in
 * @nchw the same pixels as the model's port in @order takes them. */
static GstBuffer *
picture (const char *image, int w, int h, AfPixelOrder order, GstVideoInfo *info, guint8 **nchw)
{
  g_autofree float *planes = af_test_load_planar (image, w, h, AF_PIXEL_RGB);
  gt_video_info (info, GST_VIDEO_FORMAT_RGB, w, h);
  GstBuffer *buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  *nchw = g_new (guint8, 3 * w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        guint8 v = (guint8) planes[(c * h + y) * w + x];
        map.data[y * GST_VIDEO_INFO_PLANE_STRIDE (info, 0) + 3 * x + c] = v;
        int to = order == AF_PIXEL_BGR ? 2 - c : c;
        (*nchw)[(to * h + y) * w + x] = v;
      }
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = 0;
  return buf;
}

/* Every output of a --save-outputs file, widened to fp32, in file order. */
static GPtrArray *
read_outputs (const char *file)
{
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (file, &data, &len, NULL));
  guint64 hlen = GUINT64_FROM_LE (*(guint64 *) data);
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, data + 8, (gssize) hlen, NULL));
  JsonObject *head = json_node_get_object (json_parser_get_root (p));
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  const guint16 *bits = (const guint16 *) (data + 8 + hlen);
  gsize at = 0;
  /* tensors are back to back in output order, data_offsets ascending */
  GList *members = json_object_get_members (head);
  for (GList *l = members; l; l = l->next) {
    JsonArray *off = json_object_get_array_member (json_object_get_object_member (head, l->data),
                                                   "data_offsets");
    gsize a = (gsize) json_array_get_int_element (off, 0), b = json_array_get_int_element (off, 1);
    g_assert_cmpuint (a, ==, at);
    GArray *v = g_array_sized_new (FALSE, FALSE, sizeof (float), (b - a) / 2);
    g_array_set_size (v, (b - a) / 2);
    af_fp16_to_f32_n (bits + a / 2, (float *) v->data, (gint64) v->len);
    g_ptr_array_add (out, v);
    at = b;
  }
  g_list_free (members);
  return out;
}

/* `aneforge run MODEL IMPORT... --raw RAW --save-outputs` (stdout, transfer
 * full) with the port's bytes @nchw; its outputs in @outputs. */
static char *
cli_run (const char *model, const char *import, const guint8 *nchw, gsize n, GPtrArray **outputs)
{
  g_autofree char *raw = g_build_filename (gt_tmpdir (), "frame.raw", NULL);
  g_autofree char *saved = g_build_filename (gt_tmpdir (), "outputs.safetensors", NULL);
  g_assert_true (g_file_set_contents (raw, (const char *) nchw, (gssize) n, NULL));
  g_autofree char *tool = g_build_filename (g_getenv ("AF_BUILD_ROOT"), "tools", "aneforge", NULL);
  g_auto (GStrv) words = NULL;
  g_assert_true (g_shell_parse_argv (import, NULL, &words, NULL));
  GPtrArray *argv = g_ptr_array_new ();
  const char *head[] = { tool, "run", model, "--threads", "1", "--raw", raw };
  for (guint i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (argv, (gpointer) head[i]);
  for (guint i = 0; words[i]; i++)
    g_ptr_array_add (argv, words[i]);
  g_ptr_array_add (argv, NULL);
  char *text = af_test_run_capture ((const char *const *) argv->pdata);
  g_ptr_array_index (argv, argv->len - 1) = "--save-outputs";
  g_ptr_array_add (argv, saved);
  g_ptr_array_add (argv, NULL);
  g_free (af_test_run_capture ((const char *const *) argv->pdata));
  g_ptr_array_unref (argv);
  *outputs = read_outputs (saved);
  return text;
}

/* The element's results for @frame (transfer full, the meta on it), its
 * aneforge-model message's structure in @model_msg (transfer full). */
static GstBuffer *
element_run (const char *model, const char *import, const GstVideoInfo *info, GstBuffer *frame,
             GstStructure **model_msg)
{
  GstElement *e = gst_element_factory_make ("aneforge", NULL);
  g_assert_nonnull (e);
  g_object_set (e, "model", model, "import", import, "threads", 1, NULL);
  GstBus *own = gst_bus_new ();
  gst_element_set_bus (e, own);
  gst_object_unref (own);
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_set_src_caps (h, gst_video_info_to_caps (info));
  GstBuffer *out = gst_harness_push_and_pull (h, frame);
  g_assert_nonnull (out);
  GstBus *bus = gst_element_get_bus (h->element);
  GstMessage *m;
  *model_msg = NULL;
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    if (gst_message_has_name (m, "aneforge-model"))
      *model_msg = gst_structure_copy (gst_message_get_structure (m));
    gst_message_unref (m);
  }
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_assert_nonnull (*model_msg);
  return out;
}

/* Every output tensor of the meta equals the CLI's (both fp16 widened). */
static void
check_tensors (const GstAneforgeMeta *meta, GPtrArray *cli)
{
  g_assert_cmpuint (meta->n_tensors, ==, cli->len);
  for (guint i = 0; i < cli->len; i++) {
    GArray *v = g_ptr_array_index (cli, i);
    g_assert_cmpuint (meta->tensors[i].n_elements, ==, v->len);
    guint differ = 0;
    for (guint k = 0; k < v->len; k++)
      differ += meta->tensors[i].data[k] != g_array_index (v, float, k);
    g_test_message ("output %u \"%s\": %u values, %u differ from aneforge run", i,
                    meta->tensors[i].name, v->len, differ);
    g_assert_cmpuint (differ, ==, 0);
  }
}

/* The CLI's printed detections ("  1. [x1, y1, x2, y2] score s class c")
 * equal the meta's (the CLI prints one decimal). */
static void
check_detections (const GstAneforgeMeta *meta, const char *text, guint expect)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = 0;
  for (guint i = 0; lines[i]; i++) {
    float b[4], score;
    guint k;
    if (sscanf (lines[i], " %u. [%f, %f, %f, %f] score %f", &k, &b[0], &b[1], &b[2], &b[3],
                &score) != 6)
      continue;
    g_assert_cmpuint (k, ==, n + 1);
    g_assert_cmpuint (n, <, meta->n_detections);
    const GstAneforgeDetection *d = &meta->detections[n++];
    const float ours[4] = { d->x1, d->y1, d->x2, d->y2 };
    for (int c = 0; c < 4; c++)
      g_assert_cmpfloat (fabsf (ours[c] - b[c]), <=, 0.051f);
    g_assert_cmpfloat (fabsf (d->score - score), <=, 0.00006f);
  }
  g_assert_cmpuint (n, ==, meta->n_detections);
  if (expect)
    g_assert_cmpuint (n, ==, expect);
  else
    g_assert_cmpuint (n, >, 0);
}

static void
check_model_msg (const GstStructure *s, const char *format, const char *decode, const char *shape,
                 const char *order)
{
  g_assert_cmpstr (gst_structure_get_string (s, "reason"), ==, "start");
  g_assert_cmpstr (gst_structure_get_string (s, "format"), ==, format);
  g_assert_cmpstr (gst_structure_get_string (s, "decode"), ==, decode);
  g_assert_cmpstr (gst_structure_get_string (s, "backend"), ==, "cpu");
  gdouble ms;
  g_assert_true (gst_structure_get_double (s, "compile-ms", &ms));
  g_assert_cmpfloat (ms, >, 0);
  const GValue *inputs = gst_structure_get_value (s, "inputs");
  g_assert_true (GST_VALUE_HOLDS_LIST (inputs));
  const GstStructure *in = gst_value_get_structure (gst_value_list_get_value (inputs, 0));
  g_assert_cmpstr (gst_structure_get_string (in, "shape"), ==, shape);
  g_assert_cmpstr (gst_structure_get_string (in, "order"), ==, order);
  g_assert_true (GST_VALUE_HOLDS_LIST (gst_structure_get_value (s, "outputs")));
}

typedef struct {
  const char *model_rel; /* under ../shared, or NULL: MediaPipe's */
  const char *mediapipe;
  const char *import;
  const char *image;
  int w, h;
  AfPixelOrder order;
  const char *format, *decode, *shape, *order_name;
  guint detections; /* expected; 0: any but none */
  guint top_class;
} Case;

static void
run_case (gconstpointer data)
{
  const Case *c = data;
  g_autofree char *model =
      c->model_rel ? af_test_shared_file (c->model_rel) : af_test_mediapipe_model (c->mediapipe);
  g_autofree char *image = af_test_shared_file (c->image);
  if (!model || !image)
    return; /* failed (../shared), or skipped with pypi: (MediaPipe's wheel) */
  g_autofree char *import = g_strdup (c->import);
  if (strstr (import, "LABELS")) { /* the SqueezeNet labels beside it */
    g_autofree char *dir = g_path_get_dirname (model);
    g_autofree char *labels = g_build_filename (dir, "Labels.txt", NULL);
    g_free (import);
    import = g_strdup_printf ("--bgr --labels %s", labels);
  }
  GstVideoInfo info;
  g_autofree guint8 *nchw = NULL;
  GstBuffer *frame = picture (image, c->w, c->h, c->order, &info, &nchw);
  GPtrArray *cli_out;
  g_autofree char *text = cli_run (model, import, nchw, 3 * c->w * c->h, &cli_out);
  g_assert_nonnull (text);
  GstStructure *msg;
  GstBuffer *out = element_run (model, import, &info, frame, &msg);
  GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (out);
  g_assert_nonnull (meta);
  check_tensors (meta, cli_out);
  if (strcmp (c->decode, "classification") != 0)
    check_detections (meta, text, c->detections);
  else {
    g_assert_cmpuint (meta->n_classes, >, 0);
    g_assert_cmpuint (meta->classes[0].index, ==, c->top_class);
    g_autofree char *line = g_strdup_printf ("  1. %4u %-20s %.6f", meta->classes[0].index,
                                             meta->classes[0].label, meta->classes[0].score);
    g_assert_nonnull (strstr (text, line));
  }
  check_model_msg (msg, c->format, c->decode, c->shape, c->order_name);
  gst_structure_free (msg);
  gst_buffer_unref (out);
  g_ptr_array_unref (cli_out);
}

static const Case squeezenet = {
  "models/squeezenet/SqueezeNet_fp16.onnx",
  NULL,
  "LABELS",
  "media/fish.png",
  224,
  224,
  AF_PIXEL_BGR,
  "onnx",
  "classification",
  "1x3x224x224",
  "bgr",
  0,
  0, /* tench */
};
static const Case ultraface = {
  "models/ultraface/version-RFB-320_simplified.onnx",
  NULL,
  "--rgb --scale 0.0078125 --bias -0.9921875 --decode ssd",
  "media/face.jpg",
  320,
  240,
  AF_PIXEL_RGB,
  "onnx",
  "ssd",
  "1x3x240x320",
  "rgb",
  4,
  0,
};
static const Case blazeface = {
  NULL,
  "face_detection_short_range.tflite",
  "--rgb --scale 0.00784313725 --bias -1 --decode blazeface",
  "media/face.jpg",
  128,
  128,
  AF_PIXEL_RGB,
  "tflite",
  "blazeface",
  "1x3x128x128",
  "rgb",
  0, /* face.jpg squeezed to 128x128: what the CLI finds, at least one */
  0,
};

/* ---------------------------------------------------------------- errors */

/* A minimal protobuf writer: a ModelProto with one node of an op this
 * library does not have. */
static void
pb_varint (GByteArray *b, guint64 v)
{
  do {
    guint8 byte = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
    g_byte_array_append (b, &byte, 1);
    v >>= 7;
  } while (v);
}

static void
pb_bytes (GByteArray *b, guint field, const void *data, gsize n)
{
  pb_varint (b, (field << 3) | 2);
  pb_varint (b, n);
  g_byte_array_append (b, data, n);
}

static void
pb_msg (GByteArray *b, guint field, GByteArray *m)
{
  pb_bytes (b, field, m->data, m->len);
  g_byte_array_unref (m);
}

static void
pb_int (GByteArray *b, guint field, guint64 v)
{
  pb_varint (b, field << 3);
  pb_varint (b, v);
}

/* ValueInfoProto @name: float [1, 3, 8, 8]. */
static GByteArray *
value_info (const char *name)
{
  GByteArray *shape = g_byte_array_new ();
  const int dims[] = { 1, 3, 8, 8 };
  for (int i = 0; i < 4; i++) {
    GByteArray *dim = g_byte_array_new ();
    pb_int (dim, 1, dims[i]);
    pb_msg (shape, 1, dim);
  }
  GByteArray *tensor = g_byte_array_new ();
  pb_int (tensor, 1, 1);
  pb_msg (tensor, 2, shape);
  GByteArray *type = g_byte_array_new ();
  pb_msg (type, 1, tensor);
  GByteArray *vi = g_byte_array_new ();
  pb_bytes (vi, 1, name, strlen (name));
  pb_msg (vi, 2, type);
  return vi;
}

static char *
unsupported_onnx (void)
{
  GByteArray *node = g_byte_array_new ();
  pb_bytes (node, 1, "x", 1);
  pb_bytes (node, 2, "y", 1);
  pb_bytes (node, 3, "Weird_7", 7);
  pb_bytes (node, 4, "Frobnicate", 10);
  GByteArray *graph = g_byte_array_new ();
  pb_msg (graph, 1, node);
  pb_bytes (graph, 2, "g", 1);
  pb_msg (graph, 11, value_info ("x"));
  pb_msg (graph, 12, value_info ("y"));
  GByteArray *opset = g_byte_array_new ();
  pb_int (opset, 2, 13);
  GByteArray *model = g_byte_array_new ();
  pb_int (model, 1, 8);
  pb_msg (model, 8, opset);
  pb_msg (model, 7, graph);
  char *path = g_build_filename (gt_tmpdir (), "frobnicate.onnx", NULL);
  g_assert_true (g_file_set_contents (path, (const char *) model->data, model->len, NULL));
  g_byte_array_unref (model);
  return path;
}

/* Starting on @model fails with @domain / @code; the message names every
 * string of @names. */
static void
check_start_error (const char *model, const char *import, GQuark domain, gint code,
                   const char *const *names)
{
  GstElement *e = gst_element_factory_make ("aneforge", NULL);
  g_object_set (e, "model", model, "import", import, NULL);
  GstBus *own = gst_bus_new ();
  gst_element_set_bus (e, own);
  gst_object_unref (own);
  g_assert_cmpint (gst_element_set_state (e, GST_STATE_PAUSED), ==, GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus (e);
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (m);
  GError *err = NULL;
  gst_message_parse_error (m, &err, NULL);
  g_test_message ("%s: %s", model, err->message);
  g_assert_error (err, domain, code);
  for (guint i = 0; names[i]; i++)
    g_assert_nonnull (strstr (err->message, names[i]));
  g_error_free (err);
  gst_message_unref (m);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (e);
}

static void
test_errors (void)
{
  g_autofree char *missing = g_build_filename (gt_tmpdir (), "missing.onnx", NULL);
  const char *n1[] = { missing, NULL };
  check_start_error (missing, NULL, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, n1);

  g_autofree char *bad = gt_write_file ("bad.onnx", "this is not a protobuf");
  const char *n2[] = { bad, NULL };
  check_start_error (bad, NULL, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT, n2);
  g_autofree char *bad_tflite = gt_write_file ("bad.tflite", "TFL3 but nothing else");
  const char *n3[] = { bad_tflite, NULL };
  check_start_error (bad_tflite, NULL, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT, n3);

  g_autofree char *weird = unsupported_onnx ();
  const char *n4[] = { weird, "\"Weird_7\"", "Frobnicate", NULL };
  check_start_error (weird, NULL, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_FAILED, n4);

  const char *n5[] = { "import=\"--decode nope\"", "nope", NULL };
  check_start_error (weird, "--decode nope", GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, n5);
  const char *n6[] = { "--bgr", "graph file", NULL };
  check_start_error (gt_tiny_model (), "--bgr", GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT, n6);
}

int
main (int argc, char **argv)
{
  gt_init (&argc, &argv);
  g_test_add_data_func ("/model-files/squeezenet-onnx", &squeezenet, run_case);
  g_test_add_data_func ("/model-files/ultraface-onnx-ssd", &ultraface, run_case);
  g_test_add_data_func ("/model-files/blazeface-tflite", &blazeface, run_case);
  g_test_add_func ("/model-files/errors", test_errors);
  int ret = g_test_run ();
  gt_deinit ();
  return ret;
}
