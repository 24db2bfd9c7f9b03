/* gstaneforgeworker.h — (private) the aneforge element's inference thread
 * (live mode) and its latest results (both modes).
 *
 * Live mode: the streaming thread preprocesses a frame into one of two
 * staging copies of the model's image port (gst_aneforge_worker_stage),
 * then hands it over (gst_aneforge_worker_submit). At most one frame is
 * pending: a newer one replaces it (the older is skipped). The worker thread
 * takes the pending frame, runs the element's function on it (copy into the
 * port, execute, decode) and publishes the results as the latest ones. The
 * streaming thread attaches the latest results to every outgoing buffer
 * (gst_aneforge_worker_latest) and never waits for the model.
 *
 * Every frame belongs to an epoch; gst_aneforge_worker_reset (flush, caps
 * change) starts a new one, drops the pending frame and the latest results,
 * and results of a frame from an older epoch that finish later are
 * discarded, so no result from before a reset is ever shown after it.
 *
 * Locking: one mutex guards everything below; nothing is allocated or
 * posted while it is held; waits use a condition with a shutdown flag, so
 * every wait ends when the worker is freed. The function runs unlocked. */
#ifndef GST_ANEFORGE_WORKER_H
#define GST_ANEFORGE_WORKER_H

#include <gst/gst.h>

#include "gstaneforgeresults.h"

G_BEGIN_DECLS

typedef struct _GstAneforgeWorker GstAneforgeWorker;

/* A frame handed to the model. */
typedef struct {
  guint64 seq;      /* frame number since the last reset (0 first) */
  GstClockTime pts; /* the frame's pts */
  GstClockTime duration;
  gint frame_w, frame_h; /* the frame's size, to map detections */
  guint64 pre_ns;        /* time its preprocessing took (part of the results' latency) */
  guint epoch;           /* the reset generation (set by stage / stamp) */
} GstAneforgeJob;

/* Runs on the worker thread for every taken frame, without the lock: @port
 * (borrowed, port_size bytes) is the staged image. Returns (transfer full)
 * the frame's results, or NULL after posting an error itself (the worker
 * then stays failed until reset). */
typedef GstAneforgeResults *(*GstAneforgeWorkerFunc) (const guint8 *port, const GstAneforgeJob *job,
                                                      gpointer user_data);

typedef struct {
  guint64 submitted; /* frames handed over */
  guint64 skipped;   /* handed over, replaced by a newer one before the worker took them */
  guint64 inferred;  /* results published (both modes) */
  guint64 stale;     /* results discarded because a reset happened meanwhile */
  guint pending;     /* frames waiting now (0 or 1) */
  guint max_pending; /* the most frames ever waiting at once */
  gboolean busy;     /* the worker is running the model now */
  gboolean failed;
  guint64 worst_latency_ns; /* the largest results' latency_ns published */
} GstAneforgeWorkerStats;

/* Allocates both staging buffers (@port_size bytes each) and starts the
 * thread. Returns (transfer full) or NULL with @error set. */
GstAneforgeWorker *gst_aneforge_worker_new (gsize port_size, GstAneforgeWorkerFunc func,
                                            gpointer user_data, GError **error);
/* Stops the thread (waits for a running function to return), joins it and
 * frees everything, the latest results included. NULL-safe. */
void gst_aneforge_worker_free (GstAneforgeWorker *w);

/* Streaming thread: a staging buffer to fill (borrowed; owned by the caller
 * until submit). A pending frame is taken back (counted as skipped) and its
 * buffer reused. Sets @job->epoch. Allocates nothing. */
guint8 *gst_aneforge_worker_stage (GstAneforgeWorker *w, GstAneforgeJob *job);
/* Hands @stage (from stage) over with @job (copied) and wakes the worker. */
void gst_aneforge_worker_submit (GstAneforgeWorker *w, guint8 *stage, const GstAneforgeJob *job);

/* Sets @job->epoch to the current epoch (offline mode, which infers in the
 * streaming thread and publishes itself). */
void gst_aneforge_worker_stamp (GstAneforgeWorker *w, GstAneforgeJob *job);
/* Makes @r (transfer full) the latest results, those of @job. Dropped when
 * @job is from an older epoch. */
void gst_aneforge_worker_publish (GstAneforgeWorker *w, GstAneforgeResults *r,
                                  const GstAneforgeJob *job);
/* The latest results (transfer full, NULL: none yet in this epoch) and
 * their frame in @job; marks them shown. */
GstAneforgeResults *gst_aneforge_worker_latest (GstAneforgeWorker *w, GstAneforgeJob *job);
/* The latest results if no buffer has shown them yet (transfer full), else
 * NULL; marks them shown. */
GstAneforgeResults *gst_aneforge_worker_take_unshown (GstAneforgeWorker *w, GstAneforgeJob *job);

/* Drops the pending frame and the latest results, clears the failed state
 * and starts a new epoch: a running frame's results will be discarded. */
void gst_aneforge_worker_reset (GstAneforgeWorker *w);
/* Waits until the worker is idle: with @run_pending the pending frame is
 * inferred first, else dropped. Returns at once when the worker is shut
 * down; bounded by two runs of the function. */
void gst_aneforge_worker_drain (GstAneforgeWorker *w, gboolean run_pending);

/* TRUE when the function failed since the last reset. */
gboolean gst_aneforge_worker_failed (GstAneforgeWorker *w);
void gst_aneforge_worker_get_stats (GstAneforgeWorker *w, GstAneforgeWorkerStats *stats);

G_END_DECLS

#endif /* GST_ANEFORGE_WORKER_H */
