/* gstaneforge.h — the aneforge inference element. */
#ifndef GST_ANEFORGE_H
#define GST_ANEFORGE_H

#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

#include "aneforge.h"

#include <stdio.h>
#include "gstaneforgebatch.h"
#include "gstaneforgepreprocess.h"
#include "gstaneforgereport.h"
#include "gstaneforgeresults.h"
#include "gstaneforgeworker.h"

G_BEGIN_DECLS

typedef enum {
  GST_ANEFORGE_BACKEND_AUTO = AF_BACKEND_AUTO,
  GST_ANEFORGE_BACKEND_CPU = AF_BACKEND_CPU,
  GST_ANEFORGE_BACKEND_ANE = AF_BACKEND_ANE,
} GstAneforgeBackend;

typedef enum {
  GST_ANEFORGE_OUTPUT_META,
  GST_ANEFORGE_OUTPUT_TENSOR,
} GstAneforgeOutput;

/* How frames meet the model (docs/element.md). */
typedef enum {
  GST_ANEFORGE_MODE_AUTO,    /* live when upstream is live and the model is slower than a frame */
  GST_ANEFORGE_MODE_LIVE,    /* never hold the video: infer the newest frame on a thread */
  GST_ANEFORGE_MODE_OFFLINE, /* infer in the streaming thread, no frame skipped */
} GstAneforgeMode;

/* Everything one loaded model needs, built by start() or, for a reload, on
 * the reload thread (gstaneforgereload.h); the streaming thread switches to a
 * new one between frames and hands the old one back to be freed off it. */
typedef struct _GstAneforge GstAneforge;
struct _GstAneforgeSession {
  GstAneforge *element;      /* borrowed: errors are posted on it */
  gchar *model_path;         /* the file it came from */
  gchar *import;             /* the import options it was built with, canonical */
  guint64 compile_ns;        /* load, import, compile and the timed run */
  const gchar *reason;       /* why it was built: "start", "property", "file" (static) */
  GstClockTime requested_at; /* when the reload was asked for (gst_util_get_timestamp) */
  AfModel *model;
  AfTensorInfo port;
  guint8 *port_view;     /* borrowed from the model */
  gboolean check_warned; /* the self-check's fall back was posted (executing thread only) */
  guint n_outputs;
  AfTensorInfo *outputs;           /* names borrowed from the model */
  GPtrArray *decoders;             /* AfDecoder* per output, NULL: none; shared with the results
                                    * pool (classes and detections borrow its labels) */
  AfDecodeResult **decoded;        /* per output, NULL where no decoder; owned */
  const guint16 **views;           /* per output, borrowed from the model */
  gint cls_index;                  /* output whose decoder gives the classes, -1: none */
  gint det_index;                  /* output whose decoder gives the detections, -1: none */
  guint cls_k, det_max;            /* capacities */
  gint seg_index, kp_index;        /* outputs whose decoders give a mask / keypoints, -1: none */
  GstAneforgeDense scratch_dense;  /* output=tensor: mask and keypoints storage, owned */
  GstAneforgeResultsPool *results; /* output=meta */
  GstBufferPool *tensor_pool;      /* output=tensor */
  GstCaps *tensor_caps;            /* output=tensor, without framerate */
  GstAneforgeClassification *scratch_classes; /* output=tensor */
  GstAneforgeDetection *scratch_detections;   /* output=tensor */
  guint64 estimate_ns;                        /* one timed run: the latency before any frame */
  GstAneforgeWorker *worker; /* output=meta: the inference thread, the latest results */
  GstAneforgePreprocess pre; /* frames of the element's caps into the port; streaming thread */
  /* batch-size > 1: port and outputs describe ONE item (leading dim 1); the
   * model's have leading dim @batch */
  guint batch;                 /* frames per run, 1: no batching */
  gsize port_item;             /* bytes of one slot of the port */
  gsize *item_elems;           /* per output, values of one item */
  const guint16 **batch_views; /* per output, the model's whole view (borrowed) */
};

typedef struct _GstAneforgeReloader GstAneforgeReloader;

#define GST_TYPE_ANEFORGE (gst_aneforge_get_type ())
G_DECLARE_FINAL_TYPE (GstAneforge, gst_aneforge, GST, ANEFORGE, GstBaseTransform)

#define GST_TYPE_ANEFORGE_BACKEND (gst_aneforge_backend_get_type ())
GType gst_aneforge_backend_get_type (void);
#define GST_TYPE_ANEFORGE_OUTPUT (gst_aneforge_output_get_type ())
GType gst_aneforge_output_get_type (void);
#define GST_TYPE_ANEFORGE_MODE (gst_aneforge_mode_get_type ())
GType gst_aneforge_mode_get_type (void);

struct _GstAneforge {
  GstBaseTransform parent;

  /* properties, guarded by the object lock */
  gchar *model_path;
  GstAneforgeBackend backend;
  GstAneforgeOutput output;
  guint threads;
  gchar *labels_path;
  guint top_k;
  gboolean top_k_set;
  gchar *results_path;
  GstAneforgeMode run_mode;
  guint interval;                    /* infer every interval-th frame; read per frame */
  guint batch_size;                  /* frames per model run (offline, output=meta) */
  gboolean winograd;                 /* the CPU backend's Winograd 3x3 convolutions */
  gint ane_check_interval;           /* AfCompileOptions.check_every */
  gchar *import;                     /* import options (af_import_args_parse) */
  gboolean watch_model;              /* reload when the model file changes */
  GstAneforgeWorkerStats last_stats; /* snapshot taken in stop(); object lock */
  guint64 n_frames;                  /* buffers seen since start; object lock for readers */
  guint64 estimate_ns;               /* the serving model's timed run; object lock */

  /* from start() to stop() */
  GstAneforgeSession *ses;     /* the model serving now; replaced between frames by the streaming
                                * thread (under the object lock, for readers outside it) */
  GstAneforgeSession *pending; /* a reloaded model waiting for the next frame; atomic */
  GstAneforgeReloader *reloader;
  GstAneforgeOutput mode;
  guint started_batch;          /* batch-size as started: a reload keeps it (and output) */
  GstAneforgeReporter reporter; /* results=PATH */
  gint live;                    /* resolved mode: 1 live, 0 offline, -1 not yet; atomic */
  gboolean upstream_live;       /* from the LATENCY query in set_caps; atomic */
  guint64 seq;        /* frames since the last reset (flush, caps, switch); streaming thread */
  guint64 tensor_seq; /* output=tensor: seq and pts of the inferred frame */
  GstClockTime tensor_pts;

  GstAneforgeBatch batch; /* batch-size > 1: the held frames (gstaneforgebatch.h) */

  /* from set_caps() */
  GstVideoInfo vinfo;
  gboolean colorimetry; /* the caps named one */
  gboolean negotiated;
  gboolean caps_error_posted;
};

GST_ELEMENT_REGISTER_DECLARE (aneforge);

/* The element's per-frame steps, for gstaneforgebatch.c (streaming thread). */

/* Runs the model on its port. Posts on error (any thread, no lock held). */
gboolean gst_aneforge_execute (GstAneforgeSession *ses);
/* Preprocesses @buf into @dst (a port slot); posts and returns FALSE. */
gboolean gst_aneforge_preprocess_buffer (GstAneforge *self, GstBuffer *buf, guint8 *dst,
                                         gboolean threaded);
/* Fills @r from the model's outputs for a @frame_w x @frame_h frame. */
void gst_aneforge_fill_results (GstAneforgeSession *ses, GstAneforgeResults *r, gint frame_w,
                                gint frame_h, guint64 latency_ns);
/* The age of results from frame @job shown on the frame @seq, @pts. */
void gst_aneforge_age (const GstAneforgeJob *job, guint64 seq, GstClockTime pts,
                       guint64 *age_frames, guint64 *age_ns);
/* Attaches @r (transfer full) to @buf with its age, posts the bus message
 * and writes the results line; FALSE: the write failed (posted). */
gboolean gst_aneforge_show_results (GstAneforge *self, GstBuffer *buf, GstAneforgeResults *r,
                                    guint64 age_frames, guint64 age_ns);

G_END_DECLS

#endif /* GST_ANEFORGE_H */
