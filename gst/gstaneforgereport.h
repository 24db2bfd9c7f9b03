/* gstaneforgereport.h — what the aneforge element reports: the "aneforge"
 * bus message per frame, the "aneforge-model" message per model, and the
 * JSON-lines results file (results=PATH). */
#ifndef GST_ANEFORGE_REPORT_H
#define GST_ANEFORGE_REPORT_H

#include <stdio.h>

#include "gstaneforgeresults.h"

G_BEGIN_DECLS

/* gstaneforge.h */
typedef struct _GstAneforgeSession GstAneforgeSession;

/* What one bus message / results line reports. Everything is borrowed. */
typedef struct {
  GstClockTime pts, duration; /* of the frame the results go with */
  GstClockTime running_time;  /* of @pts in the element's segment */
  guint64 latency_ns;
  guint64 age_frames, age_ns;
  gboolean classifier; /* the model gives classes: the message has the class lists */
  gboolean detector;   /* the model gives detections: the message has "boxes" */
  const GstAneforgeClassification *classes;
  guint n_classes;
  const GstAneforgeDetection *dets;
  guint n_dets;
  const GstAneforgeDense *dense; /* mask and keypoints, may be NULL */
} GstAneforgeReport;

/* The results file, from start() to stop(); the streaming thread writes
 * (the live EOS line too, after the worker drained). Zero-initialised:
 * closed. */
typedef struct {
  FILE *file;          /* results=PATH, NULL: none; owned */
  GString *line;       /* preallocated line; owned */
  guint64 frame_count; /* lines written since open */
} GstAneforgeReporter;

/* Opens @path (NULL or "": no file). Posts RESOURCE/OPEN_WRITE on @element
 * and returns FALSE when it cannot be opened. */
gboolean gst_aneforge_reporter_open (GstAneforgeReporter *r, GstElement *element,
                                     const gchar *path);
/* Closes the file (a failure is a RESOURCE/CLOSE warning); idempotent. */
void gst_aneforge_reporter_close (GstAneforgeReporter *r, GstElement *element);
/* One line for @rep; no file: TRUE. Allocates nothing (the line is reused).
 * Posts RESOURCE/WRITE and returns FALSE when the write fails. */
gboolean gst_aneforge_reporter_write (GstAneforgeReporter *r, GstElement *element,
                                      const GstAneforgeReport *rep);

/* Posts the "aneforge" element message for @rep on @element. */
void gst_aneforge_report_post (GstElement *element, const GstAneforgeReport *rep);

/* Posts the "aneforge-model" element message: the model @ses serves from
 * now on (docs/element.md, "Bus messages"); @reason "start", "property" or
 * "file"; at a switch @switch_ns (the streaming thread's gap), @reload_ns
 * (request to switch) and @pts (the first frame on it), else
 * GST_CLOCK_TIME_NONE. */
void gst_aneforge_report_model (GstElement *element, const GstAneforgeSession *ses,
                                const gchar *reason, GstClockTime switch_ns, GstClockTime reload_ns,
                                GstClockTime pts);

G_END_DECLS

#endif /* GST_ANEFORGE_REPORT_H */
