/* gst-test-util.c — fixtures shared by the element tests. */
#include "gst-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

const GstVideoFormat gt_formats[] = {
  GST_VIDEO_FORMAT_RGB,   GST_VIDEO_FORMAT_BGR,  GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_BGRx,
  GST_VIDEO_FORMAT_xRGB,  GST_VIDEO_FORMAT_xBGR, GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA,
  GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420,
};
const guint gt_n_formats = G_N_ELEMENTS (gt_formats);

static char *tmpdir;
static char *tiny_model;
static char **tiny_labels;

void
gt_init (int *argc, char ***argv)
{
  g_test_init (argc, argv, NULL);
  GError *error = NULL;
  tmpdir = g_dir_make_tmp ("aneforge-gst-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *registry = g_build_filename (tmpdir, "registry.bin", NULL);
  g_setenv ("GST_REGISTRY", registry, TRUE);
  gst_init (argc, argv);
}

static void
gt_rm_rf (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  if (dir) {
    const char *name;
    while ((name = g_dir_read_name (dir))) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      gt_rm_rf (child);
    }
    g_dir_close (dir);
  }
  g_remove (path);
}

void
gt_deinit (void)
{
  gt_rm_rf (tmpdir);
  g_clear_pointer (&tmpdir, g_free);
  g_clear_pointer (&tiny_model, g_free);
  g_clear_pointer (&tiny_labels, g_strfreev);
  gst_deinit ();
}

const char *
gt_tmpdir (void)
{
  return tmpdir;
}

const char *
gt_tiny_model (void)
{
  if (tiny_model)
    return tiny_model;
  const char *root = g_getenv ("AF_SOURCE_ROOT");
  g_assert_nonnull (root);
  tiny_model = g_build_filename (root, "models", "tiny-classifier.json", NULL);
  if (g_file_test (tiny_model, G_FILE_TEST_EXISTS))
    return tiny_model;
  /* not committed yet: generate it */
  g_free (tiny_model);
  g_autofree char *gen = g_build_filename (g_getenv ("AF_BUILD_ROOT"), "tools", "gen-models", NULL);
  const char *argv[] = { gen, "tiny-classifier", tmpdir, NULL };
  GError *error = NULL;
  int status;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_spawn_check_wait_status (status, &error);
  g_assert_no_error (error);
  tiny_model = g_build_filename (tmpdir, "tiny-classifier.json", NULL);
  return tiny_model;
}

const char *const *
gt_tiny_labels (void)
{
  if (tiny_labels)
    return (const char *const *) tiny_labels;
  g_autofree char *dir = g_path_get_dirname (gt_tiny_model ());
  g_autofree char *path = g_build_filename (dir, "tiny-classifier.labels", NULL);
  g_autofree char *text = NULL;
  GError *error = NULL;
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  g_strchomp (text);
  tiny_labels = g_strsplit (text, "\n", -1);
  return (const char *const *) tiny_labels;
}

char *
gt_nonimage_model (void)
{
  AfGraph *g = af_graph_new ("nonimage");
  gint64 xs[] = { 1, 16 }, ws[] = { 4, 16 };
  float w[64];
  for (int i = 0; i < 64; i++)
    w[i] = (i % 5) * 0.1f;
  AfTensor *x = af_input (g, "features", 2, xs);
  AfTensor *y = af_linear (g, x, af_weight (g, "fc.weight", 2, ws, w), NULL);
  af_graph_add_output (g, "out", y);
  char *path = g_build_filename (tmpdir, "nonimage.json", NULL);
  GError *error = NULL;
  af_graph_save (g, path, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  return path;
}

char *
gt_two_output_model (gboolean classify)
{
  AfGraph *g = af_graph_new ("two-outputs");
  gint64 xs[] = { 1, 3, 8, 8 }, ws[] = { 4, 3, 1, 1 }, flat[] = { 1, 4 };
  float scale = 1.0f / 255, bias = 0, w[12];
  for (int i = 0; i < 12; i++)
    w[i] = (i % 3 == i / 3) ? 1.0f : 0.0f; /* [o][c]: identity on 3 channels */
  AfTensor *x = af_image_input (g, "image", xs, AF_PIXEL_RGB, 1, &scale, 1, &bias);
  AfConvParams p = AF_CONV_PARAMS_INIT;
  AfTensor *y = af_conv (g, x, af_weight (g, "w", 4, ws, w), NULL, &p);
  af_graph_add_output (g, "features", y);
  af_graph_add_output (g, "pooled", af_reshape (g, af_global_avg_pool (g, y), 2, flat));
  if (classify)
    af_graph_set_classification (g, 1, TRUE, 3, NULL);
  char *path =
      g_build_filename (tmpdir, classify ? "two-outputs-cls.json" : "two-outputs.json", NULL);
  GError *error = NULL;
  af_graph_save (g, path, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  return path;
}

char *
gt_write_file (const char *name, const char *contents)
{
  char *path = g_build_filename (tmpdir, name, NULL);
  GError *error = NULL;
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

void
gt_video_info (GstVideoInfo *info, GstVideoFormat format, int w, int h)
{
  gst_video_info_set_format (info, format, w, h);
  GST_VIDEO_INFO_FPS_N (info) = 30;
  GST_VIDEO_INFO_FPS_D (info) = 1;
}

static guint8
gt_u8 (double v)
{
  return v <= 0 ? 0 : v >= 255 ? 255 : (guint8) (v + 0.5);
}

/* BT.601 limited range. */
static void
gt_rgb_to_yuv (const guint8 rgb[3], guint8 yuv[3])
{
  double r = rgb[0] / 255.0, g = rgb[1] / 255.0, b = rgb[2] / 255.0;
  yuv[0] = gt_u8 (16 + 65.481 * r + 128.553 * g + 24.966 * b);
  yuv[1] = gt_u8 (128 - 37.797 * r - 74.203 * g + 112.0 * b);
  yuv[2] = gt_u8 (128 + 112.0 * r - 93.786 * g - 18.214 * b);
}

GstBuffer *
gt_frame_new (const GstVideoInfo *info, GtPixelFn fn, gpointer data)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  gst_buffer_memset (buf, 0, 0xff, GST_VIDEO_INFO_SIZE (info)); /* alpha / padding */
  GstVideoFrame f;
  g_assert_true (gst_video_frame_map (&f, info, buf, GST_MAP_WRITE));
  int w = GST_VIDEO_INFO_WIDTH (info), h = GST_VIDEO_INFO_HEIGHT (info);
  gboolean rgb_fmt = GST_VIDEO_INFO_IS_RGB (info);
  gboolean gray = GST_VIDEO_INFO_FORMAT (info) == GST_VIDEO_FORMAT_GRAY8;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      guint8 rgb[3], yuv[3];
      fn (x, y, rgb, data);
      if (rgb_fmt) {
        for (int c = 0; c < 3; c++)
          ((guint8 *) GST_VIDEO_FRAME_COMP_DATA (&f, c))[y * GST_VIDEO_FRAME_COMP_STRIDE (&f, c) +
                                                         x * GST_VIDEO_FRAME_COMP_PSTRIDE (&f, c)] =
              rgb[c];
        continue;
      }
      if (gray) {
        ((guint8 *) GST_VIDEO_FRAME_COMP_DATA (&f,
                                               0))[y * GST_VIDEO_FRAME_COMP_STRIDE (&f, 0) + x] =
            gt_u8 (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]);
        continue;
      }
      gt_rgb_to_yuv (rgb, yuv);
      ((guint8 *) GST_VIDEO_FRAME_COMP_DATA (&f, 0))[y * GST_VIDEO_FRAME_COMP_STRIDE (&f, 0) + x] =
          yuv[0];
      if (x % 2 == 0 && y % 2 == 0)
        for (int c = 1; c < 3; c++)
          ((guint8 *) GST_VIDEO_FRAME_COMP_DATA (
              &f, c))[(y / 2) * GST_VIDEO_FRAME_COMP_STRIDE (&f, c) +
                      (x / 2) * GST_VIDEO_FRAME_COMP_PSTRIDE (&f, c)] = yuv[c];
    }
  gst_video_frame_unmap (&f);
  return buf;
}

static void
gt_solid (int x, int y, guint8 rgb[3], gpointer data)
{
  memcpy (rgb, data, 3);
}

GstBuffer *
gt_solid_frame (GstVideoFormat format, int w, int h, const guint8 rgb[3])
{
  GstVideoInfo info;
  gt_video_info (&info, format, w, h);
  return gt_frame_new (&info, gt_solid, (gpointer) rgb);
}
