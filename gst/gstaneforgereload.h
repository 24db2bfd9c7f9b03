/* gstaneforgereload.h — (private) the aneforge element's reload thread.
 *
 * One thread per started element, with its own GMainContext: it builds a
 * new model session when asked (the "model" or "import" property set while
 * started; the model file rewritten, with watch-model) while the serving
 * session keeps running, hands it to the element (which switches between
 * frames), and frees the sessions the streaming thread retires, so neither
 * a compile nor joining a model's threads ever happens on the streaming
 * thread. Requests arriving during a build make it start over when it ends
 * (the last one wins; the built session is dropped). File change events are
 * debounced: a reload starts once the file has been quiet for
 * GST_ANEFORGE_WATCH_QUIET_MS. */
#ifndef GST_ANEFORGE_RELOAD_H
#define GST_ANEFORGE_RELOAD_H

#include "gstaneforge.h"

G_BEGIN_DECLS

#define GST_ANEFORGE_WATCH_QUIET_MS 300

/* Starts the thread for @element (borrowed; it outlives the reloader),
 * watching @watch (NULL: nothing) from the start. Returns (transfer full). */
GstAneforgeReloader *gst_aneforge_reloader_new (GstAneforge *element, const gchar *watch);
/* Stops the thread (a build under way is finished first and dropped), joins
 * it and frees every session retired meanwhile. NULL-safe. */
void gst_aneforge_reloader_free (GstAneforgeReloader *r);

/* Any thread: asks for a new session from the element's settings now;
 * @reason (static) is "property" or "file". */
void gst_aneforge_reloader_request (GstAneforgeReloader *r, const gchar *reason);
/* Any thread: watches @path (NULL: nothing) for changes; after a successful
 * reload the loaded file is watched. */
void gst_aneforge_reloader_watch (GstAneforgeReloader *r, const gchar *path);
/* The streaming thread: @ses (transfer full) is freed on the reload thread. */
void gst_aneforge_reloader_retire (GstAneforgeReloader *r, GstAneforgeSession *ses);

/* The element's side (gstaneforge.c), called on the reload thread. */
/* A new session from the element's settings, NULL after posting a warning. */
GstAneforgeSession *gst_aneforge_reload_build (GstAneforge *self, const gchar *reason);
/* Hands @ses (transfer full) to the streaming thread's next frame. */
void gst_aneforge_reload_deliver (GstAneforge *self, GstAneforgeSession *ses);
void gst_aneforge_session_free (GstAneforgeSession *ses);

G_END_DECLS

#endif /* GST_ANEFORGE_RELOAD_H */
