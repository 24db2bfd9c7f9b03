/* preprocess-bench.c — time gst_aneforge_preprocess_run (frame -> uint8
 * NCHW port) on one core for the sizes and formats that matter, and print the
 * median and minimum over many calls.
 *
 *   preprocess-bench [CALLS [FILTER]]
 *
 * CALLS: calls per case after warm-up (default 300). FILTER: only the cases
 * whose "FORMAT WxH PATH" contains it (e.g. "NV12 1920x1080 avx2"), for
 * profiling one case.
 * Each case runs the AVX2 path (when the CPU has it) and the portable C path.
 * The frames hold pseudo-random bytes (the cost does not depend on content).
 * A benchmark, not a test: figures vary with the machine's load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gstaneforgepreprocess.h"

typedef struct {
  GstVideoFormat format;
  gint in_w, in_h;
  gint out_c, out_h, out_w;
} BenchCase;

static const BenchCase cases[] = {
  { GST_VIDEO_FORMAT_NV12, 1920, 1080, 3, 224, 224 },
  { GST_VIDEO_FORMAT_I420, 1920, 1080, 3, 224, 224 },
  { GST_VIDEO_FORMAT_BGRx, 1920, 1080, 3, 224, 224 },
  { GST_VIDEO_FORMAT_RGB, 1920, 1080, 3, 224, 224 },
  { GST_VIDEO_FORMAT_NV12, 320, 240, 3, 224, 224 },
  { GST_VIDEO_FORMAT_I420, 320, 240, 3, 224, 224 },
  { GST_VIDEO_FORMAT_BGRx, 320, 240, 3, 224, 224 },
  { GST_VIDEO_FORMAT_NV12, 3840, 2160, 3, 224, 224 },
  { GST_VIDEO_FORMAT_I420, 3840, 2160, 3, 224, 224 },
  { GST_VIDEO_FORMAT_BGRx, 3840, 2160, 3, 224, 224 },
  { GST_VIDEO_FORMAT_NV12, 1920, 1080, 1, 224, 224 },
  { GST_VIDEO_FORMAT_NV12, 768, 576, 3, 227, 227 },
};

static double
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* Median and minimum (us) of @calls runs of @pp on @frame. */
static void
bench_one (const GstAneforgePreprocess *pp, const GstVideoFrame *frame, guint8 *dst, int calls,
           double *median, double *min)
{
  double *t = g_new (double, calls);
  for (int i = 0; i < 10; i++)
    gst_aneforge_preprocess_run (pp, frame, dst);
  for (int i = 0; i < calls; i++) {
    double t0 = now_us ();
    gst_aneforge_preprocess_run (pp, frame, dst);
    t[i] = now_us () - t0;
  }
  qsort (t, calls, sizeof (double), cmp_double);
  *median = t[calls / 2];
  *min = t[0];
  g_free (t);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  int calls = argc > 1 ? atoi (argv[1]) : 300;
  const char *filter = argc > 2 ? argv[2] : NULL;
  if (calls < 1)
    calls = 1;
  printf ("%-6s %-10s %-12s %12s %12s\n", "format", "input", "port", "path", "median/min us");
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++) {
    const BenchCase *bc = &cases[k];
    GstVideoInfo info;
    gst_video_info_set_format (&info, bc->format, bc->in_w, bc->in_h);
    GstBuffer *buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
    GstMapInfo map;
    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    guint32 h = 12345;
    for (gsize i = 0; i < map.size; i++) {
      h = h * 1664525u + 1013904223u;
      map.data[i] = h >> 24;
    }
    gst_buffer_unmap (buf, &map);

    AfTensorInfo port = { 0 };
    port.name = "image";
    port.rank = 4;
    port.shape[0] = 1;
    port.shape[1] = bc->out_c;
    port.shape[2] = bc->out_h;
    port.shape[3] = bc->out_w;
    port.dtype = AF_DTYPE_U8;
    port.is_image = TRUE;
    port.order = bc->out_c == 1 ? AF_PIXEL_GRAY : AF_PIXEL_RGB;

    GstAneforgePreprocess pp = { 0 };
    GError *error = NULL;
    if (!gst_aneforge_preprocess_init (&pp, &info, FALSE, &port, &error)) {
      fprintf (stderr, "init: %s\n", error->message);
      return 1;
    }
    guint8 *dst = g_malloc ((gsize) bc->out_c * bc->out_h * bc->out_w);
    GstVideoFrame frame;
    gst_video_frame_map (&frame, &info, buf, GST_MAP_READ);
    char in[32], out[32];
    g_snprintf (in, sizeof in, "%dx%d", bc->in_w, bc->in_h);
    g_snprintf (out, sizeof out, "%dx%dx%d", bc->out_c, bc->out_h, bc->out_w);
#ifdef GST_ANEFORGE_PREPROCESS_HAVE_PATHS
    for (int simd = 1; simd >= 0; simd--) {
      g_autofree char *name = g_strdup_printf ("%s %s %s", gst_video_format_to_string (bc->format),
                                               in, simd ? "avx2" : "portable");
      if ((filter && !strstr (name, filter)) ||
          gst_aneforge_preprocess_set_simd (&pp, simd) != simd)
        continue;
      double med, min;
      bench_one (&pp, &frame, dst, calls, &med, &min);
      printf ("%-6s %-10s %-12s %12s %8.1f / %.1f\n", gst_video_format_to_string (bc->format), in,
              out, simd ? "avx2" : "portable", med, min);
    }
#else
    double med, min;
    bench_one (&pp, &frame, dst, calls, &med, &min);
    printf ("%-6s %-10s %-12s %12s %8.1f / %.1f\n", gst_video_format_to_string (bc->format), in,
            out, "original", med, min);
#endif
    fflush (stdout);
    gst_video_frame_unmap (&frame);
    g_free (dst);
    gst_aneforge_preprocess_clear (&pp);
    gst_buffer_unref (buf);
  }
  return 0;
}
