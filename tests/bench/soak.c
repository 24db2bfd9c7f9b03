/* soak.c — one soak run of the aneforge element: a live pipeline for a given
 * time, sampled every few seconds into a CSV (driven by tests/bench/soak.sh).
 *
 *   soak --model M --mode live|offline --seconds S --every E --csv OUT
 *        [--raw OUT2 --width W --height H --fps F --threads T]
 *
 * The pipeline, the shape of a camera pipeline:
 *   videotestsrc is-live=true pattern=ball ! video/x-raw,I420,WxH,F/1
 *   ! queue leaky=downstream max-size-buffers=2 ! jpegenc ! decodebin ! aneforge mode=MODE !
 * videoconvert ! aneforgeoverlay ! videoconvert ! jpegenc ! fakesink sync=false The first jpegenc
 * gives the decoder real compressed frames to decode; the leaky queue drops frames when the rest of
 * the pipeline falls behind, as a capture device with a few buffers does, so that a loaded machine
 * shows as frames not processed (stats.frames below t * fps) rather than as a queue growing without
 * bound.
 *
 * Every E seconds one CSV row: the process's resident memory, open file
 * descriptors and threads (/proc/self), the element's counters (`stats`),
 * the load average, and, over the frames of that window, the p50 / p99 /
 * max of three per-frame figures:
 *   - latency: the element's `latency-ms` (preprocessing plus the run), from
 *     the `aneforge` bus messages;
 *   - age: the results' `age-ms` in the same messages (0 in offline mode);
 *   - e2e: how late a frame reaches the sink relative to its capture time
 *     (clock now - base time - the buffer's running time), i.e. the glass-to-
 *     sink delay; a growing queue anywhere shows here first.
 * With --raw, every per-frame value too ("t,kind,value" lines), so that the
 * bench can take percentiles over any span.
 * Exits 0 when the pipeline ran the whole time without an error. */
#include <errno.h>
#include <gst/gst.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WINDOW 65536 /* per-frame samples kept per window (>= fps * every) */

typedef struct {
  double v[MAX_WINDOW];
  guint n;
} Window;

typedef struct {
  const char *model, *mode, *csv_path, *raw_path;
  guint seconds, every, width, height, fps, threads;
} Options;

typedef struct {
  Options opt;
  GstElement *pipeline, *aneforge;
  GMainLoop *loop;
  FILE *csv, *raw;
  gint64 t0;
  GMutex lock; /* guards the windows: e2e is written on the streaming thread */
  Window latency, age, e2e;
  gboolean failed;
} Soak;

/* ---------------------------------------------------------------- /proc */

/* A "Key:   N kB" field of /proc/self/status, or -1. */
static gint64
proc_status_field (const char *key)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return -1;
  size_t klen = strlen (key);
  for (char *line = text; line && *line; line = strchr (line, '\n')) {
    if (*line == '\n')
      line++;
    if (strncmp (line, key, klen) == 0 && line[klen] == ':')
      return g_ascii_strtoll (line + klen + 1, NULL, 10);
  }
  return -1;
}

static gint
proc_count_fds (void)
{
  GDir *d = g_dir_open ("/proc/self/fd", 0, NULL);
  if (!d)
    return -1;
  gint n = 0;
  while (g_dir_read_name (d))
    n++;
  g_dir_close (d);
  return n - 1; /* the directory's own descriptor */
}

static double
load_average (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return -1;
  return g_ascii_strtod (text, NULL);
}

/* ---------------------------------------------------------------- windows */

static void
window_add (Window *w, double v)
{
  if (w->n < MAX_WINDOW)
    w->v[w->n++] = v;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* p in [0, 1]: nearest-rank percentile of the window (sorts it); NAN when empty. */
static double
window_pct (Window *w, double p)
{
  if (!w->n)
    return NAN;
  qsort (w->v, w->n, sizeof w->v[0], cmp_double);
  guint rank = (guint) (p * w->n + 0.999999);
  return w->v[CLAMP (rank, 1, w->n) - 1];
}

/* Appends the window's values to @raw ("t,kind,value" lines), then its
 * p50, p99 and max to the CSV row, and empties it. */
static void
window_print (FILE *f, FILE *raw, double t, const char *kind, Window *w)
{
  for (guint i = 0; raw && i < w->n; i++)
    fprintf (raw, "%.1f,%s,%.3f\n", t, kind, w->v[i]);
  double p50 = window_pct (w, 0.50), p99 = window_pct (w, 0.99), max = window_pct (w, 1.0);
  fprintf (f, ",%.3f,%.3f,%.3f", p50, p99, max);
  w->n = 0;
}

/* ---------------------------------------------------------------- sampling */

static void
write_header (Soak *s)
{
  fprintf (s->csv, "t_s,rss_kib,fds,threads,frames,inferred,skipped,load1,"
                   "lat_p50_ms,lat_p99_ms,lat_max_ms,age_p50_ms,age_p99_ms,age_max_ms,"
                   "e2e_p50_ms,e2e_p99_ms,e2e_max_ms\n");
  fflush (s->csv);
}

static gboolean
sample (gpointer data)
{
  Soak *s = data;
  double t = (g_get_monotonic_time () - s->t0) / 1e6;
  GstStructure *st = NULL;
  g_object_get (s->aneforge, "stats", &st, NULL);
  guint64 frames = 0, inferred = 0, skipped = 0;
  gst_structure_get (st, "frames", G_TYPE_UINT64, &frames, "inferred", G_TYPE_UINT64, &inferred,
                     "skipped", G_TYPE_UINT64, &skipped, NULL);
  gst_structure_free (st);
  fprintf (s->csv,
           "%.1f,%" G_GINT64_FORMAT ",%d,%" G_GINT64_FORMAT ",%" G_GUINT64_FORMAT
           ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%.2f",
           t, proc_status_field ("VmRSS"), proc_count_fds (), proc_status_field ("Threads"), frames,
           inferred, skipped, load_average ());
  g_mutex_lock (&s->lock);
  window_print (s->csv, s->raw, t, "latency", &s->latency);
  window_print (s->csv, s->raw, t, "age", &s->age);
  window_print (s->csv, s->raw, t, "e2e", &s->e2e);
  g_mutex_unlock (&s->lock);
  fputc ('\n', s->csv);
  fflush (s->csv);
  if (s->raw)
    fflush (s->raw);
  if (t + 0.5 >= s->opt.seconds) {
    g_main_loop_quit (s->loop);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

/* ---------------------------------------------------------------- pipeline */

static void
on_element_message (Soak *s, GstMessage *msg)
{
  const GstStructure *st = gst_message_get_structure (msg);
  if (!gst_structure_has_name (st, "aneforge"))
    return;
  double latency = 0, age = 0;
  gst_structure_get_double (st, "latency-ms", &latency);
  gst_structure_get_double (st, "age-ms", &age);
  g_mutex_lock (&s->lock);
  window_add (&s->latency, latency);
  window_add (&s->age, age);
  g_mutex_unlock (&s->lock);
}

static gboolean
on_bus (G_GNUC_UNUSED GstBus *bus, GstMessage *msg, gpointer data)
{
  Soak *s = data;
  switch (GST_MESSAGE_TYPE (msg)) {
  case GST_MESSAGE_ELEMENT:
    on_element_message (s, msg);
    break;
  case GST_MESSAGE_ERROR:
  case GST_MESSAGE_EOS: {
    GError *err = NULL;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      gst_message_parse_error (msg, &err, NULL);
    g_printerr ("soak: %s from %s: %s\n", GST_MESSAGE_TYPE_NAME (msg),
                GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err ? err->message : "unexpected");
    g_clear_error (&err);
    s->failed = TRUE;
    g_main_loop_quit (s->loop);
    break;
  }
  default:
    break;
  }
  return G_SOURCE_CONTINUE;
}

/* Buffers reaching the sink: their delay since capture (e2e), on the
 * streaming thread. */
static GstPadProbeReturn
on_sink_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Soak *s = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstElement *sink = GST_ELEMENT (gst_pad_get_parent (pad));
  GstClock *clock = gst_element_get_clock (sink);
  GstSegment *seg = NULL;
  GstEvent *ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (ev)
    gst_event_parse_segment (ev, (const GstSegment **) &seg);
  if (clock && seg && GST_BUFFER_PTS_IS_VALID (buf)) {
    GstClockTime rt = gst_segment_to_running_time (seg, GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
    GstClockTime now = gst_clock_get_time (clock) - gst_element_get_base_time (sink);
    if (GST_CLOCK_TIME_IS_VALID (rt)) {
      g_mutex_lock (&s->lock);
      window_add (&s->e2e, GST_CLOCK_DIFF (rt, now) / 1e6);
      g_mutex_unlock (&s->lock);
    }
  }
  if (ev)
    gst_event_unref (ev);
  if (clock)
    gst_object_unref (clock);
  gst_object_unref (sink);
  return GST_PAD_PROBE_OK;
}

static GstElement *
build_pipeline (const Options *o, GError **err)
{
  g_autofree char *desc = g_strdup_printf (
      "videotestsrc is-live=true pattern=ball "
      "! video/x-raw,format=I420,width=%u,height=%u,framerate=%u/1 "
      "! queue leaky=downstream max-size-buffers=2 max-size-bytes=0 max-size-time=0 "
      "! jpegenc ! decodebin ! aneforge name=af model=\"%s\" mode=%s threads=%u "
      "! videoconvert ! aneforgeoverlay ! videoconvert ! jpegenc "
      "! fakesink name=sink sync=false",
      o->width, o->height, o->fps, o->model, o->mode, o->threads);
  return gst_parse_launch (desc, err);
}

static gboolean
parse_options (int argc, char **argv, Options *o)
{
  int every = 5, seconds = 60, width = 320, height = 240, fps = 30, threads = 1;
  char *model = NULL, *mode = NULL, *csv = NULL, *raw = NULL;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "model graph (JSON)", "PATH" },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, "live or offline", "MODE" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "CSV output", "PATH" },
    { "raw", 0, 0, G_OPTION_ARG_FILENAME, &raw, "per-frame values (t,kind,value)", "PATH" },
    { "seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "run time (60)", "S" },
    { "every", 0, 0, G_OPTION_ARG_INT, &every, "sampling period (5)", "S" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "frame width (320)", "W" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "frame height (240)", "H" },
    { "fps", 0, 0, G_OPTION_ARG_INT, &fps, "frames per second (30)", "F" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "model threads (1)", "T" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new ("- soak the aneforge element");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  GError *err = NULL;
  gboolean ok = g_option_context_parse (ctx, &argc, &argv, &err);
  g_option_context_free (ctx);
  if (!ok || !model || !mode || !csv || seconds < 1 || every < 1 || width < 1 || height < 1 ||
      fps < 1 || threads < 0) {
    g_printerr ("soak: %s\n", err ? err->message : "--model, --mode and --csv are required");
    g_clear_error (&err);
    return FALSE;
  }
  *o = (Options){ model, mode, csv, raw, seconds, every, width, height, fps, threads };
  return TRUE;
}

int
main (int argc, char **argv)
{
  static Soak s; /* large windows: not on the stack */
  if (!parse_options (argc, argv, &s.opt))
    return 2;
  if (s.opt.fps * s.opt.every > MAX_WINDOW) {
    g_printerr ("soak: fps * every above %d\n", MAX_WINDOW);
    return 2;
  }
  GError *err = NULL;
  s.pipeline = build_pipeline (&s.opt, &err);
  if (!s.pipeline) {
    g_printerr ("soak: %s\n", err->message);
    return 1;
  }
  s.aneforge = gst_bin_get_by_name (GST_BIN (s.pipeline), "af");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (s.pipeline), "sink");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_sink_buffer, &s, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
  s.csv = fopen (s.opt.csv_path, "w");
  if (!s.csv) {
    g_printerr ("soak: %s: %s\n", s.opt.csv_path, g_strerror (errno));
    return 1;
  }
  if (s.opt.raw_path && !(s.raw = fopen (s.opt.raw_path, "w"))) {
    g_printerr ("soak: %s: %s\n", s.opt.raw_path, g_strerror (errno));
    return 1;
  }
  write_header (&s);
  s.loop = g_main_loop_new (NULL, FALSE);
  GstBus *bus = gst_element_get_bus (s.pipeline);
  gst_bus_add_watch (bus, on_bus, &s);
  s.t0 = g_get_monotonic_time ();
  g_timeout_add_seconds (s.opt.every, sample, &s);
  if (gst_element_set_state (s.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    s.failed = TRUE;
  else
    g_main_loop_run (s.loop);
  gst_element_set_state (s.pipeline, GST_STATE_NULL);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (s.aneforge);
  gst_object_unref (s.pipeline);
  g_main_loop_unref (s.loop);
  fclose (s.csv);
  if (s.raw)
    fclose (s.raw);
  return s.failed ? 1 : 0;
}
