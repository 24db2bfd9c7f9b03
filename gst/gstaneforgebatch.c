/* gstaneforgebatch.c — the aneforge element's batching (batch-size > 1).
 *
 * submit_input_buffer holds each frame (a due one is preprocessed into the
 * next slot of the port at once); when batch due frames are held, one run
 * infers them all and every held frame gets its results, in order, as
 * transform_ip would have given them; generate_output then lets them leave
 * one by one. Serialized events and the DRAIN query drain first (a partial
 * batch is run, its empty slots holding copies of the last frame);
 * flush-stop drops what is held. */
#include "gstaneforgebatch.h"
#include "gstaneforge.h"

#include <string.h>

GST_DEBUG_CATEGORY_EXTERN (gst_aneforge_debug);
#define GST_CAT_DEFAULT gst_aneforge_debug

/* A frame held for a batch. */
typedef struct {
  GstBuffer *buf;        /* owned until pushed */
  guint64 seq;           /* frame number since the last reset */
  gboolean due;          /* inferred (interval): has a slot of the port */
  GstAneforgeResults *r; /* owned once the batch ran; NULL: none to show */
  guint64 age_frames, age_ns;
} GstAneforgeHeld;

void
gst_aneforge_batch_init (GstAneforgeBatch *b, guint size)
{
  b->held = g_array_sized_new (FALSE, TRUE, sizeof (GstAneforgeHeld), size);
  b->next = b->ready = b->due = 0;
  b->pre_ns = 0;
}

void
gst_aneforge_batch_clear (GstAneforgeBatch *b)
{
  for (guint i = 0; b->held && i < b->held->len; i++) {
    GstAneforgeHeld *e = &g_array_index (b->held, GstAneforgeHeld, i);
    gst_clear_buffer (&e->buf);
    g_clear_pointer (&e->r, gst_aneforge_results_unref);
  }
  if (b->held)
    g_array_set_size (b->held, 0);
  b->next = b->ready = b->due = 0;
  b->pre_ns = 0;
}

void
gst_aneforge_batch_free (GstAneforgeBatch *b)
{
  gst_aneforge_batch_clear (b);
  g_clear_pointer (&b->held, g_array_unref);
}

gboolean
gst_aneforge_batch_holding (const GstAneforgeBatch *b)
{
  return b->held && b->held->len > 0;
}

/* The held frame @e's job: its number, timestamps, the frame size. */
static GstAneforgeJob
gst_aneforge_batch_job (GstAneforge *self, const GstAneforgeHeld *e)
{
  GstAneforgeJob job = { e->seq,
                         GST_BUFFER_PTS (e->buf),
                         GST_BUFFER_DURATION (e->buf),
                         GST_VIDEO_INFO_WIDTH (&self->vinfo),
                         GST_VIDEO_INFO_HEIGHT (&self->vinfo),
                         0,
                         0 };
  return job;
}

/* A partial batch of @n: the empty slots get copies of the last frame (their
 * results are not read). */
static void
gst_aneforge_batch_pad (GstAneforgeSession *ses, guint n)
{
  for (guint b = n; b < ses->batch; b++)
    memcpy (ses->port_view + b * ses->port_item, ses->port_view + (n - 1) * ses->port_item,
            ses->port_item);
}

/* Publishes slot @slot's results (the outputs' views pointed at the item) as
 * the latest, for @job. */
static void
gst_aneforge_batch_publish (GstAneforge *self, guint slot, GstAneforgeJob *job, guint64 latency)
{
  GstAneforgeSession *ses = self->ses;
  for (guint i = 0; i < ses->n_outputs; i++)
    ses->views[i] = ses->batch_views[i] + slot * ses->item_elems[i];
  GstAneforgeResults *r = gst_aneforge_results_acquire (ses->results);
  gst_aneforge_fill_results (ses, r, job->frame_w, job->frame_h, latency);
  gst_aneforge_worker_stamp (ses->worker, job);
  gst_aneforge_worker_publish (ses->worker, r, job);
}

/* Runs the held due frames and gives every held frame its results: due
 * ones their own, the others the latest with their age. Posts and returns
 * FALSE when the run fails. */
static gboolean
gst_aneforge_batch_run (GstAneforge *self)
{
  GstAneforgeBatch *b = &self->batch;
  GstAneforgeSession *ses = self->ses;
  GstClockTime t0 = gst_util_get_timestamp ();
  if (b->due > 0) {
    gst_aneforge_batch_pad (ses, b->due);
    if (!gst_aneforge_execute (ses))
      return FALSE;
  }
  guint64 latency = b->pre_ns + (gst_util_get_timestamp () - t0);
  guint slot = 0;
  for (guint k = b->ready; k < b->held->len; k++) {
    GstAneforgeHeld *e = &g_array_index (b->held, GstAneforgeHeld, k);
    GstAneforgeJob job = gst_aneforge_batch_job (self, e);
    if (e->due)
      gst_aneforge_batch_publish (self, slot++, &job, latency);
    e->r = gst_aneforge_worker_latest (ses->worker, &job);
    if (e->r)
      gst_aneforge_age (&job, e->seq, GST_BUFFER_PTS (e->buf), &e->age_frames, &e->age_ns);
  }
  for (guint i = 0; i < ses->n_outputs; i++)
    ses->views[i] = ses->batch_views[i];
  b->ready = b->held->len;
  b->due = 0;
  b->pre_ns = 0;
  return TRUE;
}

GstFlowReturn
gst_aneforge_batch_hold (GstAneforge *self, GstBuffer *buf, guint64 seq, gboolean due)
{
  GstAneforgeBatch *b = &self->batch;
  GstAneforgeHeld e = { buf, seq, due, NULL, 0, 0 };
  if (due) {
    GstClockTime t0 = gst_util_get_timestamp ();
    guint8 *slot = self->ses->port_view + b->due * self->ses->port_item;
    if (!gst_aneforge_preprocess_buffer (self, buf, slot, TRUE)) {
      gst_buffer_unref (buf);
      return GST_FLOW_ERROR;
    }
    b->pre_ns += gst_util_get_timestamp () - t0;
    b->due++;
  }
  g_array_append_val (b->held, e);
  if (b->due == self->ses->batch && !gst_aneforge_batch_run (self))
    return GST_FLOW_ERROR;
  return GST_FLOW_OK;
}

GstFlowReturn
gst_aneforge_batch_pop (GstAneforge *self, GstBuffer **outbuf)
{
  GstAneforgeBatch *b = &self->batch;
  *outbuf = NULL;
  if (b->next >= b->ready)
    return GST_FLOW_OK;
  GstAneforgeHeld *e = &g_array_index (b->held, GstAneforgeHeld, b->next++);
  GstBuffer *buf = gst_buffer_make_writable (e->buf);
  GstAneforgeResults *r = e->r;
  guint64 age_frames = e->age_frames, age_ns = e->age_ns;
  e->buf = NULL;
  e->r = NULL;
  if (b->next == b->held->len) {
    g_array_set_size (b->held, 0);
    b->next = b->ready = 0;
  }
  *outbuf = buf;
  if (r && !gst_aneforge_show_results (self, buf, r, age_frames, age_ns))
    return GST_FLOW_ERROR;
  return GST_FLOW_OK;
}

GstFlowReturn
gst_aneforge_batch_drain (GstAneforge *self)
{
  GstAneforgeBatch *b = &self->batch;
  GstFlowReturn ret = GST_FLOW_OK;
  if (!gst_aneforge_batch_holding (b))
    return GST_FLOW_OK;
  GST_DEBUG_OBJECT (self, "draining %u held frames (%u due)", b->held->len, b->due);
  if (b->ready < b->held->len && !gst_aneforge_batch_run (self)) {
    gst_aneforge_batch_clear (b);
    return GST_FLOW_ERROR;
  }
  while (ret == GST_FLOW_OK) {
    GstBuffer *buf;
    ret = gst_aneforge_batch_pop (self, &buf);
    if (!buf)
      break;
    if (ret == GST_FLOW_OK)
      ret = gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (self), buf);
    else
      gst_buffer_unref (buf);
  }
  gst_aneforge_batch_clear (b); /* what a failed push left */
  return ret;
}
