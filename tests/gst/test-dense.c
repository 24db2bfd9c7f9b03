/* test-dense.c — segmentation masks and keypoints through the aneforge
 * element (meta, bus message, results line) and drawn by aneforgeoverlay,
 * on tiny models built here: an identity 1x1 conv whose argmax is the
 * frame's dominant channel, and a global average pool read as one
 * normalised keypoint (x = mean R, y = mean G, score = mean B). */
#include "gst-test-util.h"

#include "gstaneforgedraw.h"
#include "gstaneforgemeta.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <gst/check/gstharness.h>
#include <string.h>

/* [1,3,8,8] RGB image / 255 -> identity conv "seg" [1,3,8,8] (segmentation)
 * or global average pool "kp" [1,3] (one keypoint "xys", normalised). */
static char *
model (gboolean keypoints)
{
  AfGraph *g = af_graph_new (keypoints ? "kp" : "seg");
  gint64 xs[] = { 1, 3, 8, 8 }, ws[] = { 3, 3, 1, 1 }, flat[] = { 1, 3 };
  float scale = 1.0f / 255, bias = 0, w[9];
  for (int i = 0; i < 9; i++)
    w[i] = i % 4 == 0 ? 1.0f : 0.0f;
  AfTensor *x = af_image_input (g, "image", xs, AF_PIXEL_RGB, 1, &scale, 1, &bias);
  AfDecodeSpec spec;
  if (keypoints) {
    af_graph_add_output (g, "kp", af_reshape (g, af_global_avg_pool (g, x), 2, flat));
    af_decode_spec_init (&spec, AF_DECODE_TYPE_KEYPOINTS);
    spec.n_points = 1;
    g_strlcpy (spec.layout, "xys", sizeof spec.layout);
    spec.normalized = TRUE;
    spec.score_threshold = 0.5f;
  } else {
    AfConvParams p = AF_CONV_PARAMS_INIT;
    af_graph_add_output (g, "seg", af_conv (g, x, af_weight (g, "w", 4, ws, w), NULL, &p));
    af_decode_spec_init (&spec, AF_DECODE_TYPE_SEGMENTATION);
  }
  af_decode_spec_set_input_size (&spec, 8, 8);
  af_graph_set_decode (g, 0, &spec);
  af_decode_spec_clear (&spec);
  char *path = g_build_filename (gt_tmpdir (), keypoints ? "kp.json" : "seg.json", NULL);
  GError *error = NULL;
  af_graph_save (g, path, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  return path;
}

/* Left half red, right half blue. */
static void
halves (int x, int y, guint8 rgb[3], gpointer data)
{
  int w = GPOINTER_TO_INT (data);
  (void) y;
  rgb[0] = x < w / 2 ? 255 : 0;
  rgb[1] = 0;
  rgb[2] = x < w / 2 ? 0 : 255;
}

static GstHarness *
harness (const char *launch, int w, int h)
{
  GstHarness *hr = gst_harness_new_parse (launch);
  GstBus *bus = gst_bus_new (); /* the bin forwards the element's messages to it */
  gst_element_set_bus (hr->element, bus);
  gst_object_unref (bus);
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_RGB, w, h);
  gst_harness_set_src_caps (hr, gst_video_info_to_caps (&info));
  return hr;
}

static GstMessage *
pop_results (GstHarness *hr)
{
  GstBus *bus = gst_element_get_bus (hr->element);
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  gst_bus_set_flushing (bus, TRUE); /* drop the rest: they reference the element */
  gst_object_unref (bus);
  g_assert_nonnull (m);
  return m;
}

static guint8
mix (guint8 dst, guint8 src, guint a)
{
  return (guint8) ((src * a + dst * (255 - a) + 127) / 255);
}

/* The mask is the argmax per cell (red: 0 left, blue: 2 right) in the meta,
 * its class counts on the bus and in the results line; the overlay tints
 * class 2 with the colour of boxes of class 1, leaves class 0 alone. */
static void
test_segmentation (void)
{
  g_autofree char *path = model (FALSE);
  g_autofree char *results = g_build_filename (gt_tmpdir (), "seg.jsonl", NULL);
  g_autofree char *launch = g_strdup_printf (
      "aneforge name=af model=\"%s\" results=\"%s\" ! aneforgeoverlay show-labels=false "
      "show-latency=false",
      path, results);
  GstHarness *hr = harness (launch, 16, 16);
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_RGB, 16, 16);
  g_assert_cmpint (gst_harness_push (hr, gt_frame_new (&info, halves, GINT_TO_POINTER (16))), ==,
                   GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (hr);
  GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (out);
  g_assert_nonnull (meta);
  g_assert_nonnull (meta->mask);
  g_assert_cmpuint (meta->mask_width, ==, 8);
  g_assert_cmpuint (meta->mask_height, ==, 8);
  g_assert_cmpuint (meta->n_mask_classes, ==, 3);
  g_assert_cmpuint (meta->n_keypoints, ==, 0);
  for (int y = 0; y < 8; y++) {
    g_assert_cmpint (meta->mask[y * 8 + 0], ==, 0);
    g_assert_cmpint (meta->mask[y * 8 + 7], ==, 2);
  }
  guint counts[3] = { 0 };
  for (int i = 0; i < 64; i++)
    counts[meta->mask[i]]++;
  g_assert_cmpuint (counts[1], ==, 0);
  GstMapInfo map;
  g_assert_true (gst_buffer_map (out, &map, GST_MAP_READ));
  guint8 tint[3];
  gst_aneforge_draw_box_colour (1, tint);
  const guint8 *left = map.data + 8 * GST_VIDEO_INFO_PLANE_STRIDE (&info, 0) + 0 * 3;
  const guint8 *right = map.data + 8 * GST_VIDEO_INFO_PLANE_STRIDE (&info, 0) + 15 * 3;
  g_assert_cmpint (left[0], ==, 255);
  g_assert_cmpint (left[2], ==, 0);
  g_assert_cmpint (right[0], ==, mix (0, tint[0], GST_ANEFORGE_DRAW_MASK_ALPHA));
  g_assert_cmpint (right[1], ==, mix (0, tint[1], GST_ANEFORGE_DRAW_MASK_ALPHA));
  g_assert_cmpint (right[2], ==, mix (255, tint[2], GST_ANEFORGE_DRAW_MASK_ALPHA));
  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);

  GstMessage *m = pop_results (hr);
  const GstStructure *s = gst_message_get_structure (m);
  guint mw = 0;
  g_assert_true (gst_structure_get_uint (s, "mask-width", &mw));
  g_assert_cmpuint (mw, ==, 8);
  const GValue *list = gst_structure_get_value (s, "mask-counts");
  g_assert_cmpuint (gst_value_list_get_size (list), ==, 3);
  for (guint c = 0; c < 3; c++)
    g_assert_cmpuint (g_value_get_uint64 (gst_value_list_get_value (list, c)), ==, counts[c]);
  gst_message_unref (m);
  gst_harness_teardown (hr);

  g_autofree char *line = NULL;
  g_assert_true (g_file_get_contents (results, &line, NULL, NULL));
  g_autofree char *want = g_strdup_printf (
      "\"detections\": [], \"mask\": {\"width\": 8, \"height\": 8, \"counts\": [%u, 0, %u]}}\n",
      counts[0], counts[2]);
  g_assert_true (g_str_has_suffix (line, want));
}

/* One keypoint at (mean R, mean G) of the 8x8 input, mapped to the 32x16
 * frame, score mean B: in the meta, on the bus, in the results line, and
 * drawn as a dot. */
static void
test_keypoints (void)
{
  g_autofree char *path = model (TRUE);
  g_autofree char *results = g_build_filename (gt_tmpdir (), "kp.jsonl", NULL);
  g_autofree char *launch = g_strdup_printf (
      "aneforge name=af model=\"%s\" results=\"%s\" ! aneforgeoverlay show-labels=false "
      "show-latency=false",
      path, results);
  GstHarness *hr = harness (launch, 32, 16);
  const guint8 rgb[3] = { 128, 64, 255 };
  g_assert_cmpint (gst_harness_push (hr, gt_solid_frame (GST_VIDEO_FORMAT_RGB, 32, 16, rgb)), ==,
                   GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (hr);
  GstAneforgeMeta *meta = gst_buffer_get_aneforge_meta (out);
  g_assert_nonnull (meta);
  g_assert_null (meta->mask);
  g_assert_cmpuint (meta->n_keypoints, ==, 1);
  g_assert_cmpuint (meta->n_edges, ==, 0);
  const GstAneforgeKeypoint *k = &meta->keypoints[0];
  g_assert_cmpfloat_with_epsilon (k->x, 128.0 / 255 * 32, 0.05);
  g_assert_cmpfloat_with_epsilon (k->y, 64.0 / 255 * 16, 0.05);
  g_assert_cmpfloat_with_epsilon (k->score, 1.0, 1e-3);
  g_assert_true (k->visible);
  GstMapInfo map;
  g_assert_true (gst_buffer_map (out, &map, GST_MAP_READ));
  const guint8 *dot = map.data + 4 * 96 + 16 * 3, *far = map.data + 15 * 96 + 0 * 3;
  g_assert_cmpint (dot[0], ==, 255);
  g_assert_cmpint (dot[1], ==, 64);
  g_assert_cmpint (dot[2], ==, 64);
  g_assert_cmpmem (far, 3, rgb, 3);
  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);

  GstMessage *m = pop_results (hr);
  const GValue *list = gst_structure_get_value (gst_message_get_structure (m), "keypoints");
  g_assert_cmpuint (gst_value_list_get_size (list), ==, 1);
  const GValue *p = gst_value_list_get_value (list, 0);
  g_assert_cmpfloat_with_epsilon (g_value_get_double (gst_value_list_get_value (p, 0)), k->x, 1e-4);
  gst_message_unref (m);
  gst_harness_teardown (hr);

  g_autofree char *line = NULL;
  g_assert_true (g_file_get_contents (results, &line, NULL, NULL));
  g_assert_nonnull (strstr (line, "\"keypoints\": [[16.0"));
  g_assert_true (g_str_has_suffix (line, ", 1.0000, true]]}\n"));
}

int
main (int argc, char **argv)
{
  gt_init (&argc, &argv);
  g_test_add_func ("/dense/segmentation", test_segmentation);
  g_test_add_func ("/dense/keypoints", test_keypoints);
  int ret = g_test_run ();
  gt_deinit ();
  /* drop cairo's and fontconfig's caches (the overlay's fonts), for the leak checkers */
  cairo_debug_reset_static_data ();
  FcFini ();
  return ret;
}
