/* gstaneforgereport.c — what the aneforge element reports: the bus
 * messages ("aneforge" per frame, "aneforge-model" per model) and the
 * JSON-lines results file. */
#include "gstaneforgereport.h"
#include "gstaneforge.h"
#include "gstaneforgedense.h"

#include <errno.h>
#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY_EXTERN (gst_aneforge_debug);
#define GST_CAT_DEFAULT gst_aneforge_debug

#define RESULTS_LINE_SIZE 4096

/* The model file's kind, from its name as af_graph_open reads it. */
static const gchar *
gst_aneforge_model_format (const gchar *path)
{
  return g_str_has_suffix (path, ".onnx")     ? "onnx"
         : g_str_has_suffix (path, ".tflite") ? "tflite"
         : g_str_has_suffix (path, ".json")   ? "json"
                                              : "unknown";
}

/* "1x3x224x224" */
static gchar *
gst_aneforge_dims_string (const AfTensorInfo *info)
{
  GString *s = g_string_new (NULL);
  for (gint d = 0; d < info->rank; d++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, d ? "x" : "", info->shape[d]);
  return g_string_free (s, FALSE);
}

static void
gst_aneforge_list_append_structure (GValue *list, GstStructure *st)
{
  GValue v = G_VALUE_INIT;
  g_value_init (&v, GST_TYPE_STRUCTURE);
  g_value_take_boxed (&v, st);
  gst_value_list_append_and_take_value (list, &v);
}

/* ---------------------------------------------------------------- aneforge-model */

/* The "aneforge-model" element message: the model @ses serves from now on
 * (docs/element.md, "Bus messages"); @reason "start", "property" or "file";
 * at a switch @switch_ns (the streaming thread's gap), @reload_ns (request
 * to switch) and @pts (the first frame on it), else GST_CLOCK_TIME_NONE. */
void
gst_aneforge_report_model (GstElement *element, const GstAneforgeSession *ses, const gchar *reason,
                           GstClockTime switch_ns, GstClockTime reload_ns, GstClockTime pts)
{
  static const char *const orders[] = { "rgb", "bgr", "gray" };
  const AfTensorInfo *p = &ses->port;
  g_autofree gchar *pdims = gst_aneforge_dims_string (p);
  GValue inputs = G_VALUE_INIT, outputs = G_VALUE_INIT;
  g_value_init (&inputs, GST_TYPE_LIST);
  g_value_init (&outputs, GST_TYPE_LIST);
  gst_aneforge_list_append_structure (
      &inputs,
      gst_structure_new ("input", "name", G_TYPE_STRING, p->name, "shape", G_TYPE_STRING, pdims,
                         "image", G_TYPE_BOOLEAN, p->is_image, "order", G_TYPE_STRING,
                         p->is_image ? orders[CLAMP ((gint) p->order, 0, 2)] : "none", NULL));
  GString *decode = g_string_new (NULL);
  for (guint i = 0; i < ses->n_outputs; i++) {
    const AfDecodeResult *d = ses->decoded[i];
    const gchar *type = d ? af_decode_type_name (d->type) : "none";
    g_autofree gchar *dims = gst_aneforge_dims_string (&ses->outputs[i]);
    gst_aneforge_list_append_structure (
        &outputs, gst_structure_new ("output", "name", G_TYPE_STRING, ses->outputs[i].name, "shape",
                                     G_TYPE_STRING, dims, "decode", G_TYPE_STRING, type, NULL));
    if (d)
      g_string_append_printf (decode, "%s%s", decode->len ? "," : "", type);
  }
  GstStructure *st = gst_structure_new (
      "aneforge-model", "reason", G_TYPE_STRING, reason, "path", G_TYPE_STRING, ses->model_path,
      "format", G_TYPE_STRING, gst_aneforge_model_format (ses->model_path), "import", G_TYPE_STRING,
      ses->import ? ses->import : "", "backend", G_TYPE_STRING, af_model_backend_name (ses->model),
      "ops", G_TYPE_UINT, af_model_n_ops (ses->model), "decode", G_TYPE_STRING,
      decode->len ? decode->str : "none", "compile-ms", G_TYPE_DOUBLE, ses->compile_ns / 1e6,
      "run-ms", G_TYPE_DOUBLE, ses->estimate_ns / 1e6, NULL);
  g_string_free (decode, TRUE);
  gst_structure_take_value (st, "inputs", &inputs);
  gst_structure_take_value (st, "outputs", &outputs);
  if (GST_CLOCK_TIME_IS_VALID (switch_ns))
    gst_structure_set (st, "switch-ms", G_TYPE_DOUBLE, switch_ns / 1e6, "reload-ms", G_TYPE_DOUBLE,
                       reload_ns / 1e6, "pts", G_TYPE_UINT64, pts, NULL);
  gst_element_post_message (element, gst_message_new_element (GST_OBJECT (element), st));
}

static void
gst_aneforge_list_append_double (GValue *list, gdouble d)
{
  GValue v = G_VALUE_INIT;
  g_value_init (&v, G_TYPE_DOUBLE);
  g_value_set_double (&v, d);
  gst_value_list_append_and_take_value (list, &v);
}

/* "boxes": a list of "detection" structures. */
static void
gst_aneforge_post_boxes (GstStructure *s, const GstAneforgeDetection *dets, guint n_dets)
{
  GValue boxes = G_VALUE_INIT;
  g_value_init (&boxes, GST_TYPE_LIST);
  for (guint i = 0; i < n_dets; i++) {
    const GstAneforgeDetection *d = &dets[i];
    GValue lm = G_VALUE_INIT, v = G_VALUE_INIT;
    g_value_init (&lm, GST_TYPE_LIST);
    for (guint k = 0; k < 2 * d->n_landmarks; k++)
      gst_aneforge_list_append_double (&lm, d->landmarks[k]);
    GstStructure *b = gst_structure_new (
        "detection", "x1", G_TYPE_DOUBLE, (gdouble) d->x1, "y1", G_TYPE_DOUBLE, (gdouble) d->y1,
        "x2", G_TYPE_DOUBLE, (gdouble) d->x2, "y2", G_TYPE_DOUBLE, (gdouble) d->y2, "score",
        G_TYPE_DOUBLE, (gdouble) d->score, "class-id", G_TYPE_INT, d->class_index, "label",
        G_TYPE_STRING, d->label ? d->label : "", NULL);
    gst_structure_take_value (b, "landmarks", &lm);
    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, b);
    gst_value_list_append_and_take_value (&boxes, &v);
  }
  gst_structure_take_value (s, "boxes", &boxes);
}

void
gst_aneforge_report_post (GstElement *element, const GstAneforgeReport *rep)
{
  const GstAneforgeClassification *classes = rep->classes;
  guint n_classes = rep->n_classes;
  GstStructure *s =
      gst_structure_new ("aneforge", "pts", G_TYPE_UINT64, rep->pts, "running-time", G_TYPE_UINT64,
                         rep->running_time, "duration", G_TYPE_UINT64, rep->duration, "latency-ms",
                         G_TYPE_DOUBLE, rep->latency_ns / 1e6, "age-frames", G_TYPE_UINT64,
                         rep->age_frames, "age-ms", G_TYPE_DOUBLE, rep->age_ns / 1e6, NULL);
  if (rep->classifier) {
    GValue ids = G_VALUE_INIT, labels = G_VALUE_INIT, scores = G_VALUE_INIT, v = G_VALUE_INIT;
    g_value_init (&ids, GST_TYPE_LIST);
    g_value_init (&labels, GST_TYPE_LIST);
    g_value_init (&scores, GST_TYPE_LIST);
    for (guint i = 0; i < n_classes; i++) {
      g_value_init (&v, G_TYPE_INT);
      g_value_set_int (&v, (gint) classes[i].index);
      gst_value_list_append_and_take_value (&ids, &v);
      g_value_init (&v, G_TYPE_STRING);
      g_value_set_string (&v, classes[i].label ? classes[i].label : "");
      gst_value_list_append_and_take_value (&labels, &v);
      gst_aneforge_list_append_double (&scores, classes[i].score);
    }
    gst_structure_take_value (s, "class-ids", &ids);
    gst_structure_take_value (s, "labels", &labels);
    gst_structure_take_value (s, "scores", &scores);
  }
  if (rep->detector)
    gst_aneforge_post_boxes (s, rep->dets, rep->n_dets);
  if (rep->dense)
    gst_aneforge_dense_post (s, rep->dense);
  gst_element_post_message (element, gst_message_new_element (GST_OBJECT (element), s));
}

/* ---------------------------------------------------------------- results file */

/* Appends @v with up to 4 decimals, locale-independent, no allocation. */
static void
gst_aneforge_json_number (GString *l, gdouble v)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  if (!isfinite (v))
    v = 0;
  g_string_append (l, g_ascii_formatd (buf, sizeof buf, "%.4f", v));
}

static void
gst_aneforge_json_uint (GString *l, guint64 v)
{
  gchar buf[24];
  g_snprintf (buf, sizeof buf, "%" G_GUINT64_FORMAT, v);
  g_string_append (l, buf);
}

/* A JSON string literal; NULL is null. */
static void
gst_aneforge_json_string (GString *l, const gchar *str)
{
  if (!str) {
    g_string_append (l, "null");
    return;
  }
  g_string_append_c (l, '"');
  for (const guchar *p = (const guchar *) str; *p; p++) {
    if (*p == '"' || *p == '\\') {
      g_string_append_c (l, '\\');
      g_string_append_c (l, *p);
    } else if (*p < 0x20) {
      gchar buf[8];
      g_snprintf (buf, sizeof buf, "\\u%04x", *p);
      g_string_append (l, buf);
    } else {
      g_string_append_c (l, *p);
    }
  }
  g_string_append_c (l, '"');
}

/* One line of the results file. Posts RESOURCE/WRITE and returns FALSE. */
gboolean
gst_aneforge_reporter_write (GstAneforgeReporter *r, GstElement *element,
                             const GstAneforgeReport *rep)
{
  const GstAneforgeClassification *classes = rep->classes;
  const GstAneforgeDetection *dets = rep->dets;
  guint n_classes = rep->n_classes, n_dets = rep->n_dets;
  guint64 frame = r->frame_count++;
  if (!r->file)
    return TRUE;
  GString *l = r->line;
  g_string_truncate (l, 0);
  g_string_append (l, "{\"frame\": ");
  gst_aneforge_json_uint (l, frame);
  g_string_append (l, ", \"pts\": ");
  if (GST_CLOCK_TIME_IS_VALID (rep->pts))
    gst_aneforge_json_uint (l, rep->pts);
  else
    g_string_append (l, "null");
  g_string_append (l, ", \"latency_ms\": ");
  gst_aneforge_json_number (l, rep->latency_ns / 1e6);
  g_string_append (l, ", \"age_frames\": ");
  gst_aneforge_json_uint (l, rep->age_frames);
  g_string_append (l, ", \"age_ms\": ");
  gst_aneforge_json_number (l, rep->age_ns / 1e6);
  g_string_append (l, ", \"classes\": [");
  for (guint i = 0; i < n_classes; i++) {
    g_string_append (l, i ? ", {\"index\": " : "{\"index\": ");
    gst_aneforge_json_uint (l, classes[i].index);
    g_string_append (l, ", \"label\": ");
    gst_aneforge_json_string (l, classes[i].label);
    g_string_append (l, ", \"score\": ");
    gst_aneforge_json_number (l, classes[i].score);
    g_string_append_c (l, '}');
  }
  g_string_append (l, "], \"detections\": [");
  for (guint i = 0; i < n_dets; i++) {
    const GstAneforgeDetection *d = &dets[i];
    g_string_append (l, i ? ", {\"box\": [" : "{\"box\": [");
    const gfloat box[4] = { d->x1, d->y1, d->x2, d->y2 };
    for (guint k = 0; k < 4; k++) {
      if (k)
        g_string_append (l, ", ");
      gst_aneforge_json_number (l, box[k]);
    }
    g_string_append (l, "], \"score\": ");
    gst_aneforge_json_number (l, d->score);
    g_string_append (l, ", \"label\": ");
    gst_aneforge_json_string (l, d->label);
    g_string_append (l, ", \"landmarks\": [");
    for (guint k = 0; k < d->n_landmarks; k++) {
      g_string_append (l, k ? ", [" : "[");
      gst_aneforge_json_number (l, d->landmarks[2 * k]);
      g_string_append (l, ", ");
      gst_aneforge_json_number (l, d->landmarks[2 * k + 1]);
      g_string_append_c (l, ']');
    }
    g_string_append (l, "]}");
  }
  g_string_append_c (l, ']');
  if (rep->dense)
    gst_aneforge_dense_write (l, rep->dense);
  g_string_append (l, "}\n");
  if (fwrite (l->str, 1, l->len, r->file) != l->len) {
    GST_ELEMENT_ERROR (element, RESOURCE, WRITE,
                       ("Could not write the results file: %s", g_strerror (errno)), (NULL));
    return FALSE;
  }
  return TRUE;
}

/* results=PATH: opens the JSON-lines file. Posts and returns FALSE. */
gboolean
gst_aneforge_reporter_open (GstAneforgeReporter *r, GstElement *element, const gchar *path)
{
  r->frame_count = 0;
  if (!path || !*path)
    return TRUE;
  r->file = fopen (path, "w");
  if (!r->file) {
    GST_ELEMENT_ERROR (
        element, RESOURCE, OPEN_WRITE,
        ("Could not open the results file \"%s\" for writing: %s", path, g_strerror (errno)),
        (NULL));
    return FALSE;
  }
  r->line = g_string_sized_new (RESULTS_LINE_SIZE);
  return TRUE;
}

void
gst_aneforge_reporter_close (GstAneforgeReporter *r, GstElement *element)
{
  if (r->file && fclose (r->file) != 0)
    GST_ELEMENT_WARNING (element, RESOURCE, CLOSE,
                         ("Could not close the results file: %s", g_strerror (errno)), (NULL));
  r->file = NULL;
  if (r->line)
    g_string_free (r->line, TRUE);
  r->line = NULL;
}
