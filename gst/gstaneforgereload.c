/* gstaneforgereload.c — the aneforge element's reload thread. */
#include "gstaneforgereload.h"

#include <gio/gio.h>

GST_DEBUG_CATEGORY_STATIC (gst_aneforge_reload_debug);
#define GST_CAT_DEFAULT gst_aneforge_reload_debug

struct _GstAneforgeReloader {
  GstAneforge *element; /* borrowed */
  GMainContext *ctx;    /* the thread's; every source below is attached to it */
  GMainLoop *loop;
  GThread *thread;

  GMutex lock;               /* guards the fields up to the next comment */
  guint requested;           /* request generation */
  const gchar *reason;       /* of the last request */
  GstClockTime requested_at; /* of the last request */
  gboolean scheduled;        /* a build is attached or running */
  gboolean stopping;

  /* the reload thread only */
  GFileMonitor *monitor;
  gchar *watched; /* NULL: not watching */
  GSource *quiet; /* the debounce timeout, referenced */
};

/* Attaches @func (@data, freed by @notify) to the thread's context. */
static void
gst_aneforge_reloader_call (GstAneforgeReloader *r, GSourceFunc func, gpointer data,
                            GDestroyNotify notify)
{
  GSource *src = g_idle_source_new ();
  g_source_set_callback (src, func, data, notify);
  g_source_attach (src, r->ctx);
  g_source_unref (src);
}

static void gst_aneforge_reloader_watch_now (GstAneforgeReloader *r, const gchar *path);

/* Builds until no newer request came during the build, then delivers. */
static gboolean
gst_aneforge_reloader_build (gpointer data)
{
  GstAneforgeReloader *r = data;
  for (;;) {
    g_mutex_lock (&r->lock);
    guint gen = r->requested;
    const gchar *reason = r->reason;
    GstClockTime at = r->requested_at;
    gboolean stopping = r->stopping;
    g_mutex_unlock (&r->lock);
    if (stopping)
      return G_SOURCE_REMOVE;
    GST_INFO_OBJECT (r->element, "reloading (%s)", reason);
    GstAneforgeSession *ses = gst_aneforge_reload_build (r->element, reason);
    g_mutex_lock (&r->lock);
    gboolean newer = r->requested != gen && !r->stopping;
    r->scheduled = newer;
    g_mutex_unlock (&r->lock);
    if (newer) {
      GST_INFO_OBJECT (r->element, "a newer request came during the build: building again");
      gst_aneforge_session_free (ses);
      continue;
    }
    if (ses) {
      ses->reason = reason;
      ses->requested_at = at;
      if (r->watched && g_strcmp0 (r->watched, ses->model_path) != 0)
        gst_aneforge_reloader_watch_now (r, ses->model_path);
      gst_aneforge_reload_deliver (r->element, ses);
    }
    return G_SOURCE_REMOVE;
  }
}

void
gst_aneforge_reloader_request (GstAneforgeReloader *r, const gchar *reason)
{
  g_mutex_lock (&r->lock);
  r->requested++;
  r->reason = reason;
  r->requested_at = gst_util_get_timestamp ();
  gboolean attach = !r->scheduled && !r->stopping;
  r->scheduled = TRUE;
  g_mutex_unlock (&r->lock);
  if (attach)
    gst_aneforge_reloader_call (r, gst_aneforge_reloader_build, r, NULL);
}

static gboolean
gst_aneforge_reloader_quiet (gpointer data)
{
  GstAneforgeReloader *r = data;
  g_clear_pointer (&r->quiet, g_source_unref); /* the context holds it while dispatching */
  GST_INFO_OBJECT (r->element, "%s changed", r->watched);
  gst_aneforge_reloader_request (r, "file");
  return G_SOURCE_REMOVE;
}

/* Any event but the file going away (re)starts the quiet period: a file
 * being written fires several. */
static void
gst_aneforge_reloader_changed (GFileMonitor *monitor, GFile *file, GFile *other,
                               GFileMonitorEvent event, gpointer data)
{
  GstAneforgeReloader *r = data;
  (void) monitor, (void) file, (void) other;
  if (event == G_FILE_MONITOR_EVENT_DELETED || event == G_FILE_MONITOR_EVENT_MOVED_OUT ||
      event == G_FILE_MONITOR_EVENT_PRE_UNMOUNT || event == G_FILE_MONITOR_EVENT_UNMOUNTED)
    return;
  if (r->quiet) {
    g_source_destroy (r->quiet);
    g_source_unref (r->quiet);
  }
  r->quiet = g_timeout_source_new (GST_ANEFORGE_WATCH_QUIET_MS);
  g_source_set_callback (r->quiet, gst_aneforge_reloader_quiet, r, NULL);
  g_source_attach (r->quiet, r->ctx);
}

static void
gst_aneforge_reloader_unwatch (GstAneforgeReloader *r)
{
  if (r->quiet) {
    g_source_destroy (r->quiet);
    g_clear_pointer (&r->quiet, g_source_unref);
  }
  if (r->monitor) {
    g_file_monitor_cancel (r->monitor);
    g_signal_handlers_disconnect_by_data (r->monitor, r);
    g_clear_object (&r->monitor);
  }
  g_clear_pointer (&r->watched, g_free);
}

/* The reload thread: the monitor's events come to its context. */
static void
gst_aneforge_reloader_watch_now (GstAneforgeReloader *r, const gchar *path)
{
  gst_aneforge_reloader_unwatch (r);
  if (!path)
    return;
  g_autoptr (GError) err = NULL;
  g_autoptr (GFile) file = g_file_new_for_path (path);
  r->monitor = g_file_monitor_file (file, G_FILE_MONITOR_WATCH_MOVES, NULL, &err);
  if (!r->monitor) {
    GST_ELEMENT_WARNING (r->element, RESOURCE, SETTINGS,
                         ("watch-model: cannot watch %s: %s", path, err->message), (NULL));
    return;
  }
  r->watched = g_strdup (path);
  g_signal_connect (r->monitor, "changed", G_CALLBACK (gst_aneforge_reloader_changed), r);
  GST_INFO_OBJECT (r->element, "watching %s", path);
}

typedef struct {
  GstAneforgeReloader *r;
  gchar *path;
} GstAneforgeWatchCall;

static gboolean
gst_aneforge_reloader_watch_cb (gpointer data)
{
  GstAneforgeWatchCall *c = data;
  gst_aneforge_reloader_watch_now (c->r, c->path);
  return G_SOURCE_REMOVE;
}

static void
gst_aneforge_watch_call_free (gpointer data)
{
  GstAneforgeWatchCall *c = data;
  g_free (c->path);
  g_free (c);
}

void
gst_aneforge_reloader_watch (GstAneforgeReloader *r, const gchar *path)
{
  GstAneforgeWatchCall *c = g_new0 (GstAneforgeWatchCall, 1);
  c->r = r;
  c->path = g_strdup (path);
  gst_aneforge_reloader_call (r, gst_aneforge_reloader_watch_cb, c, gst_aneforge_watch_call_free);
}

static gboolean
gst_aneforge_reloader_nothing (gpointer data)
{
  (void) data;
  return G_SOURCE_REMOVE; /* the destroy notify frees the session */
}

void
gst_aneforge_reloader_retire (GstAneforgeReloader *r, GstAneforgeSession *ses)
{
  gst_aneforge_reloader_call (r, gst_aneforge_reloader_nothing, ses,
                              (GDestroyNotify) gst_aneforge_session_free);
}

static gpointer
gst_aneforge_reloader_thread (gpointer data)
{
  GstAneforgeReloader *r = data;
  g_main_context_push_thread_default (r->ctx);
  g_main_loop_run (r->loop);
  gst_aneforge_reloader_unwatch (r);
  g_main_context_pop_thread_default (r->ctx);
  return NULL;
}

GstAneforgeReloader *
gst_aneforge_reloader_new (GstAneforge *element, const gchar *watch)
{
  static gsize debug_once = 0;
  if (g_once_init_enter (&debug_once)) {
    GST_DEBUG_CATEGORY_INIT (gst_aneforge_reload_debug, "aneforgereload", 0,
                             "aneforge model reload");
    g_once_init_leave (&debug_once, 1);
  }
  GstAneforgeReloader *r = g_new0 (GstAneforgeReloader, 1);
  r->element = element;
  g_mutex_init (&r->lock);
  r->ctx = g_main_context_new ();
  r->loop = g_main_loop_new (r->ctx, FALSE);
  if (watch) { /* before any frame: the monitor belongs to the thread's context */
    g_main_context_push_thread_default (r->ctx);
    gst_aneforge_reloader_watch_now (r, watch);
    g_main_context_pop_thread_default (r->ctx);
  }
  r->thread = g_thread_new ("aneforge-reload", gst_aneforge_reloader_thread, r);
  return r;
}

static gboolean
gst_aneforge_reloader_quit (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
gst_aneforge_reloader_free (GstAneforgeReloader *r)
{
  if (!r)
    return;
  g_mutex_lock (&r->lock);
  r->stopping = TRUE;
  g_mutex_unlock (&r->lock);
  gst_aneforge_reloader_call (r, gst_aneforge_reloader_quit, r->loop, NULL);
  g_thread_join (r->thread);
  g_main_loop_unref (r->loop);
  g_main_context_unref (r->ctx); /* destroys the sources left: retired sessions are freed */
  g_mutex_clear (&r->lock);
  g_free (r);
}
