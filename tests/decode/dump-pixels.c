/* dump-pixels.c — the pixels the tests feed a model, for the Python oracles:
 *
 *   dump-pixels IMAGE W H OUT.rgb
 *
 * decodes IMAGE with gdk-pixbuf, resizes it to W x H with
 * gdk_pixbuf_scale_simple (GDK_INTERP_BILINEAR, as test-decode-models.c and
 * `aneforge run --image` do), writes H * W * 3 bytes of RGB (row by row) to
 * OUT.rgb and prints the original size "WIDTH HEIGHT". ORT and LiteRT then
 * see the very bytes aneforge sees. */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <stdio.h>
#include <stdlib.h>

static int
dump (const char *image, int w, int h, const char *out)
{
  GError *error = NULL;
  GdkPixbuf *src = gdk_pixbuf_new_from_file (image, &error);
  if (!src) {
    fprintf (stderr, "dump-pixels: %s\n", error->message);
    g_error_free (error);
    return 1;
  }
  GdkPixbuf *px = gdk_pixbuf_scale_simple (src, w, h, GDK_INTERP_BILINEAR);
  int stride = gdk_pixbuf_get_rowstride (px), nc = gdk_pixbuf_get_n_channels (px);
  const guint8 *p = gdk_pixbuf_read_pixels (px);
  guint8 *rgb = g_new (guint8, (gsize) w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        rgb[((gsize) y * w + x) * 3 + c] = p[y * stride + x * nc + c];
  gboolean ok = g_file_set_contents (out, (const char *) rgb, (gssize) w * h * 3, &error);
  if (ok)
    printf ("%d %d\n", gdk_pixbuf_get_width (src), gdk_pixbuf_get_height (src));
  else {
    fprintf (stderr, "dump-pixels: %s\n", error->message);
    g_error_free (error);
  }
  g_free (rgb);
  g_object_unref (px);
  g_object_unref (src);
  return ok ? 0 : 1;
}

int
main (int argc, char **argv)
{
  int w = argc == 5 ? atoi (argv[2]) : 0, h = argc == 5 ? atoi (argv[3]) : 0;
  if (w < 1 || h < 1 || w > 16384 || h > 16384) {
    fprintf (stderr, "usage: dump-pixels IMAGE W H OUT.rgb\n");
    return 2;
  }
  return dump (argv[1], w, h, argv[4]);
}
