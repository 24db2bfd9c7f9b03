/* gstaneforgebatch.h — the aneforge element's batching (batch-size > 1). */
#ifndef GST_ANEFORGE_BATCH_H
#define GST_ANEFORGE_BATCH_H

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _GstAneforge GstAneforge;

/* batch-size > 1 (offline, output=meta; streaming thread only): frames are
 * held until the session's @batch due frames fill the port's slots, then one
 * run infers them and they leave in order, each with its own results.
 * Zero-initialised: not batching. */
typedef struct {
  GArray *held;   /* the held frames, in arrival order; owned; NULL: not batching */
  guint next;     /* next entry to push */
  guint ready;    /* entries [0, ready) have results and may leave */
  guint due;      /* due frames held (slots filled) */
  guint64 pre_ns; /* preprocessing time of the filled slots */
} GstAneforgeBatch;

/* Makes room for @size frames (the one allocation, at start). */
void gst_aneforge_batch_init (GstAneforgeBatch *b, guint size);
/* Drops every held frame and its results. */
void gst_aneforge_batch_clear (GstAneforgeBatch *b);
/* Clears and frees the storage; idempotent. */
void gst_aneforge_batch_free (GstAneforgeBatch *b);
/* Whether frames are held (a model switch waits until none is). */
gboolean gst_aneforge_batch_holding (const GstAneforgeBatch *b);

/* The element's side (gstaneforge.c's session and results; streaming
 * thread, stream lock held). */

/* Holds @buf (transfer full), frame @seq, @due for inference: a due frame
 * is preprocessed into the next slot at once; a full batch is run. */
GstFlowReturn gst_aneforge_batch_hold (GstAneforge *self, GstBuffer *buf, guint64 seq,
                                       gboolean due);
/* The next frame that may leave (transfer full, writable, results
 * attached), or NULL in @outbuf. */
GstFlowReturn gst_aneforge_batch_pop (GstAneforge *self, GstBuffer **outbuf);
/* Runs what is held and pushes it all downstream (before an event, at EOS,
 * for a DRAIN query). */
GstFlowReturn gst_aneforge_batch_drain (GstAneforge *self);

G_END_DECLS

#endif /* GST_ANEFORGE_BATCH_H */
