/* test-check-interval.c — the element's ane-check-interval on ane-sim (AF_ANE_SIM=1
 * makes backend=ane its stand-in here), made wrong with AF_ANE_SIM_PERTURB:
 * a wrong device gets a GST_ELEMENT_WARNING saying how far off it is and
 * that the model runs on the CPU now, and every output from then on is the
 * CPU backend's; a correct one runs silently with the CPU's outputs; the
 * first video frame is checked (not only the warm-up run), and an interval
 * checks the frames it says. */
#include "gst-test-util.h"

#include <gst/check/gstharness.h>
#include <string.h>

#define N_CLASSES 10

/* An output=tensor aneforge on the tiny classifier: on backend ane (the
 * stand-in, perturbed with @perturb unless NULL; @interval is
 * ane-check-interval) or, when @cpu, on the CPU. The environment is read at
 * compile, which the first caps trigger: the caller pushes its first frame
 * before harness_release_env. */
static GstHarness *
harness_new (gboolean cpu, const char *perturb, int interval)
{
  g_setenv ("AF_ANE_SIM", "1", TRUE);
  if (perturb)
    g_setenv ("AF_ANE_SIM_PERTURB", perturb, TRUE);
  GstElement *e = gst_element_factory_make ("aneforge", NULL);
  g_assert_nonnull (e);
  gst_object_ref_sink (e);
  g_object_set (e, "model", gt_tiny_model (), NULL);
  gst_util_set_object_arg (G_OBJECT (e), "backend", cpu ? "cpu" : "ane");
  gst_util_set_object_arg (G_OBJECT (e), "output", "tensor");
  gst_util_set_object_arg (G_OBJECT (e), "mode", "offline");
  g_object_set (e, "ane-check-interval", interval, NULL);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  gst_object_unref (bus);
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_RGB, 32, 32);
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  return h;
}

static void
env_clear (void)
{
  g_unsetenv ("AF_ANE_SIM");
  g_unsetenv ("AF_ANE_SIM_PERTURB");
}

static GstBus *
element_bus (GstHarness *h)
{
  GstBus *bus = gst_element_get_bus (h->element);
  gst_object_unref (bus); /* the element keeps it */
  return bus;
}

static void
teardown (GstHarness *h)
{
  gst_bus_set_flushing (element_bus (h), TRUE);
  gst_harness_teardown (h);
}

/* Frame @k: a gradient that differs per frame. */
static void
pattern (int x, int y, guint8 rgb[3], gpointer data)
{
  int k = GPOINTER_TO_INT (data);
  rgb[0] = (guint8) (x * 8 + k * 37);
  rgb[1] = (guint8) (y * 8 + k * 11);
  rgb[2] = (guint8) ((x ^ y) * 5 + k * 71);
}

/* Pushes frame @k, pulls the class scores into @out. */
static void
run_frame (GstHarness *h, int k, float out[N_CLASSES])
{
  GstVideoInfo info;
  gt_video_info (&info, GST_VIDEO_FORMAT_RGB, 32, 32);
  GstBuffer *res =
      gst_harness_push_and_pull (h, gt_frame_new (&info, pattern, GINT_TO_POINTER (k)));
  g_assert_nonnull (res);
  g_assert_cmpuint (gst_buffer_get_size (res), ==, N_CLASSES * sizeof (float));
  gst_buffer_extract (res, 0, out, N_CLASSES * sizeof (float));
  gst_buffer_unref (res);
}

static gboolean
same (const float *a, const float *b)
{
  return memcmp (a, b, N_CLASSES * sizeof (float)) == 0;
}

/* The CPU element's scores for frames 0 .. @n - 1 (transfer full). */
static float *
cpu_scores (int n)
{
  GstHarness *h = harness_new (TRUE, NULL, 0);
  float *all = g_new (float, n *N_CLASSES);
  for (int k = 0; k < n; k++)
    run_frame (h, k, all + k * N_CLASSES);
  env_clear ();
  teardown (h);
  return all;
}

/* The warning on @h's bus, or NULL; @debug gets its details (transfer
 * full). */
static GError *
pop_warning (GstHarness *h, char **debug)
{
  GstMessage *m = gst_bus_pop_filtered (element_bus (h), GST_MESSAGE_WARNING);
  if (!m)
    return NULL;
  GError *err = NULL;
  gst_message_parse_warning (m, &err, debug);
  gst_message_unref (m);
  return err;
}

/* Off by 50 % from the first video frame on (the warm-up run is exact):
 * one warning after frame 0, saying "by 0.5" of the magnitude, the bound,
 * the output and that the CPU runs now; frame 0's scores and every later
 * frame's are the CPU element's. */
static void
test_wrong_device_warns (void)
{
  g_autofree float *ref = cpu_scores (4);
  GstHarness *h = harness_new (FALSE, "scale:1.5:-1:1", 0);
  float got[N_CLASSES];
  run_frame (h, 0, got);
  env_clear ();
  g_autofree char *debug = NULL;
  GError *err = pop_warning (h, &debug);
  g_assert_nonnull (err);
  g_test_message ("warning: %s | %s", err->message, debug);
  g_assert_error (err, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED);
  const char *by = strstr (err->message, "differ from the CPU backend's by ");
  g_assert_nonnull (by);
  double rel = g_ascii_strtod (by + strlen ("differ from the CPU backend's by "), NULL);
  g_assert_cmpfloat (rel, >, 0.45);
  g_assert_cmpfloat (rel, <, 0.55);
  g_assert_nonnull (strstr (err->message, "The ane-sim backend's outputs"));
  g_assert_nonnull (strstr (err->message, "running on the CPU from now on"));
  g_assert_nonnull (strstr (debug, "self-check of frame 0: output 0"));
  g_assert_nonnull (strstr (debug, "max |ane-sim - cpu| = "));
  g_error_free (err);
  g_assert_true (same (got, ref));
  for (int k = 1; k < 4; k++) {
    run_frame (h, k, got);
    g_assert_true (same (got, ref + k * N_CLASSES));
  }
  g_assert_null (pop_warning (h, NULL)); /* once */
  teardown (h);
}

/* A correct device (ane-sim as is): no warning, the CPU's scores. */
static void
test_correct_device_silent (void)
{
  g_autofree float *ref = cpu_scores (3);
  GstHarness *h = harness_new (FALSE, NULL, 1);
  float got[N_CLASSES];
  for (int k = 0; k < 3; k++) {
    run_frame (h, k, got);
    g_assert_true (same (got, ref + k * N_CLASSES));
  }
  env_clear ();
  g_assert_null (pop_warning (h, NULL));
  teardown (h);
}

/* ane-check-interval=3, a device wrong from video frame 2 on: frame 2 is
 * not checked (its scores are the device's, not the CPU's) and no warning
 * comes; frame 3 is checked: the warning, and the CPU's scores. */
static void
test_interval (void)
{
  g_autofree float *ref = cpu_scores (5);
  GstHarness *h = harness_new (FALSE, "scale:1.5:-1:3", 3);
  float got[N_CLASSES];
  run_frame (h, 0, got);
  env_clear ();
  run_frame (h, 1, got);
  g_assert_true (same (got, ref + 1 * N_CLASSES));
  run_frame (h, 2, got);
  g_assert_false (same (got, ref + 2 * N_CLASSES));
  g_assert_null (pop_warning (h, NULL));
  run_frame (h, 3, got);
  g_autofree char *debug = NULL;
  GError *err = pop_warning (h, &debug);
  g_assert_nonnull (err);
  g_assert_nonnull (strstr (debug, "self-check of frame 3"));
  g_error_free (err);
  g_assert_true (same (got, ref + 3 * N_CLASSES));
  run_frame (h, 4, got);
  g_assert_true (same (got, ref + 4 * N_CLASSES));
  teardown (h);
}

int
main (int argc, char **argv)
{
  gt_init (&argc, &argv);
  env_clear ();
  g_test_add_func ("/selfcheck/wrong-device-warns", test_wrong_device_warns);
  g_test_add_func ("/selfcheck/correct-device-silent", test_correct_device_silent);
  g_test_add_func ("/selfcheck/interval", test_interval);
  int rc = g_test_run ();
  gt_deinit ();
  return rc;
}
