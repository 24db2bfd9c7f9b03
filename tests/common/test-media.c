/* test-media.c — see test-media.h. */
#include "test-media.h"

#include <gdk-pixbuf/gdk-pixbuf.h>

char *
af_test_shared_path (const char *rel)
{
  const char *shared = g_getenv ("AF_SHARED");
  char *p = g_build_filename (shared ? shared : "../shared", rel, NULL);
  if (!g_file_test (p, G_FILE_TEST_EXISTS))
    g_clear_pointer (&p, g_free);
  return p;
}

float *
af_test_load_planar (const char *path, int w, int h, AfPixelOrder order)
{
  GError *error = NULL;
  GdkPixbuf *src = gdk_pixbuf_new_from_file (path, &error);
  g_assert_no_error (error);
  GdkPixbuf *pb = gdk_pixbuf_scale_simple (src, w, h, GDK_INTERP_BILINEAR);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  int stride = gdk_pixbuf_get_rowstride (pb), nch = gdk_pixbuf_get_n_channels (pb);
  int planes = order == AF_PIXEL_GRAY ? 1 : 3;
  float *out = g_new (float, (gsize) planes *w *h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const guint8 *p = px + y * stride + x * nch;
      if (planes == 1) {
        out[y * w + x] = (float) ((77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
        continue;
      }
      for (int c = 0; c < 3; c++)
        out[(c * h + y) * w + x] = p[order == AF_PIXEL_BGR ? 2 - c : c];
    }
  g_object_unref (pb);
  g_object_unref (src);
  return out;
}

void
af_test_fill_port (AfModel *m, guint input, const char *path)
{
  AfTensorInfo info;
  af_model_input_info (m, input, &info);
  g_assert_true (info.is_image);
  int h = (int) info.shape[2], w = (int) info.shape[3];
  g_autofree float *planar = af_test_load_planar (path, w, h, info.order);
  guint8 *port = af_model_input_view (m, input, NULL);
  gint64 n = (gint64) info.shape[1] * h * w;
  for (gint64 i = 0; i < n; i++)
    port[i] = (guint8) planar[i];
}
