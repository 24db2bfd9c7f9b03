/* gstaneforge.c — the aneforge inference element. */

/**
 * SECTION:element-aneforge
 * @title: aneforge
 *
 * Runs a neural network — an ONNX or TensorFlow Lite file (imported with
 * the `import` property's options, those of `aneforge import`) or an aneforge
 * JSON graph — on every video frame. Each frame is mapped into the model's
 * image-input port in one pass (colour conversion, bilinear resize, channel
 * order), so no videoconvert or videoscale is needed upstream. The model is
 * loaded and compiled when the element starts, and again on a background
 * thread when `model` or `import` change while it runs (or the file, with
 * `watch-model`): the serving model keeps running until the new one takes
 * over between two frames; one that fails to load is a warning. An
 * "aneforge-model" element message says which model serves, from where, how
 * it was imported and how long it took to compile and to switch.
 *
 * With `output=meta` (the default) the video passes through unchanged and
 * every buffer carries a #GstAneforgeMeta with the output tensors (fp32), the
 * top-k classes of a classifier and the latency. With `output=tensor` the
 * element emits the output tensors instead, as NNStreamer's static
 * `other/tensors`: one buffer per frame, one memory per tensor, `float32`
 * values (widened from the model's fp16), dimensions innermost first.
 *
 * The model's `outputs[].decode` (docs/decoders.md) is run on the host
 * after every frame: a classification fills the meta's classes, a detection
 * (SSD, YuNet) its detections, in frame pixels (the frame is stretched into
 * the model input). The `labels` and `top-k` properties override a
 * classification's, or make output 0 one when the model declares none.
 *
 * In both modes an element message named "aneforge" is posted for every
 * frame with the fields "pts", "running-time", "duration" (guint64, ns),
 * "latency-ms" (gdouble) and, for a classifier, "class-ids" (a #GstValueList
 * of gint, best first), "labels" (#GstValueList of strings, "" when unknown)
 * and "scores" (#GstValueList of gdouble); for a detector, "boxes" (a
 * #GstValueList of "detection" structures with x1, y1, x2, y2, score
 * (gdouble, frame pixels), class-id (gint), label (string, "" when unknown)
 * and landmarks (a #GstValueList of gdouble x, y pairs)). With `results`
 * set, the same results go to a JSON-lines file, one line per frame. Both
 * also carry "age-frames" / "age_frames" and "age-ms" / "age_ms".
 *
 * `mode=offline` infers every (`interval`-th) frame in the streaming
 * thread; `mode=live` never holds the video back: an inference thread runs
 * on the newest frame and every buffer carries the latest results with
 * their age (`age_frames`, `age_ns`); `mode=auto` is live when upstream is
 * live and the model is slower than one frame. docs/element.md has the
 * details (EOS, flush, caps changes, latency, stats).
 *
 * `batch-size=N` (offline, output=meta) compiles the model batched and runs
 * N frames per model run: frames are held until N are in, then leave in
 * order, each with its own results; a partial batch is run at EOS and
 * before serialized events, a flush drops the held frames.
 *
 * On a backend other than the CPU (the Neural Engine), the first frame
 * (and every `ane-check-interval`-th) also runs on the CPU backend; when an
 * output differs by more than the bound (docs/ane.md, "The self-check"),
 * a warning message says how far off it was and the model runs on the CPU
 * from then on.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m videotestsrc num-buffers=30 ! aneforge model=models/tiny-classifier.json !
 * fakesink
 * ]|
 * Prints the classification of every frame as bus messages.
 * |[
 * gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! aneforge model=net.json output=tensor !
 * fakesink
 * ]|
 * Emits the model's output tensors.
 */
#include "gstaneforge.h"
#include "gstaneforgebatch.h"
#include "gstaneforgedense.h"
#include "gstaneforgereport.h"
#include "gstaneforgereload.h"
#include "gstaneforgetensorpool.h"

#include <errno.h>
#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY (gst_aneforge_debug); /* also gstaneforgereport.c, gstaneforgebatch.c */
#define GST_CAT_DEFAULT gst_aneforge_debug

enum {
  PROP_0,
  PROP_MODEL,
  PROP_BACKEND,
  PROP_OUTPUT,
  PROP_THREADS,
  PROP_LABELS,
  PROP_TOP_K,
  PROP_RESULTS,
  PROP_MODE,
  PROP_INTERVAL,
  PROP_BATCH_SIZE,
  PROP_WINOGRAD,
  PROP_ANE_CHECK_INTERVAL,
  PROP_STATS,
  PROP_IMPORT,
  PROP_WATCH_MODEL,
};

#define DEFAULT_MODEL NULL
#define DEFAULT_BACKEND GST_ANEFORGE_BACKEND_AUTO
#define DEFAULT_OUTPUT GST_ANEFORGE_OUTPUT_META
#define DEFAULT_THREADS 0
#define DEFAULT_LABELS NULL
#define DEFAULT_TOP_K 5
#define DEFAULT_RESULTS NULL
#define DEFAULT_MODE GST_ANEFORGE_MODE_AUTO
#define DEFAULT_INTERVAL 1
#define MAX_INTERVAL 1000000
#define DEFAULT_BATCH_SIZE 1
#define DEFAULT_WINOGRAD FALSE
#define DEFAULT_ANE_CHECK_INTERVAL 0 /* the first frame only */
#define DEFAULT_IMPORT NULL
#define DEFAULT_WATCH_MODEL FALSE
#define MAX_BATCH_SIZE 64
#define MAX_THREADS 256
#define MAX_TOP_K 1000

#define VIDEO_CAPS                                                                                 \
  GST_VIDEO_CAPS_MAKE ("{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, GRAY8, NV12, I420 }")
#define TENSOR_CAPS "other/tensors, format = (string) static"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (VIDEO_CAPS));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE (
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (VIDEO_CAPS "; " TENSOR_CAPS));

G_DEFINE_TYPE (GstAneforge, gst_aneforge, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (aneforge, "aneforge", GST_RANK_NONE, GST_TYPE_ANEFORGE);

GType
gst_aneforge_backend_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_ANEFORGE_BACKEND_AUTO, "The best backend available here", "auto" },
    { GST_ANEFORGE_BACKEND_CPU, "The CPU executor (ANE numerics)", "cpu" },
    { GST_ANEFORGE_BACKEND_ANE, "The Apple Neural Engine (macOS on Apple silicon)", "ane" },
    { 0, NULL, NULL },
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstAneforgeBackend", values));
  return type;
}

GType
gst_aneforge_output_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_ANEFORGE_OUTPUT_META, "Pass the video through with a GstAneforgeMeta", "meta" },
    { GST_ANEFORGE_OUTPUT_TENSOR, "Emit the output tensors as other/tensors", "tensor" },
    { 0, NULL, NULL },
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstAneforgeOutput", values));
  return type;
}

GType
gst_aneforge_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_ANEFORGE_MODE_AUTO,
      "live when upstream is live and the model is slower than one frame, else offline", "auto" },
    { GST_ANEFORGE_MODE_LIVE,
      "Never hold the video back: infer the newest frame on a thread, attach the latest "
      "results with their age",
      "live" },
    { GST_ANEFORGE_MODE_OFFLINE, "Infer in the streaming thread: no frame skipped, order kept",
      "offline" },
    { 0, NULL, NULL },
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstAneforgeMode", values));
  return type;
}

/* ---------------------------------------------------------------- properties */

static GstStructure *gst_aneforge_stats (GstAneforge *self);

static void
gst_aneforge_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstAneforge *self = GST_ANEFORGE (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
  case PROP_MODEL:
    g_free (self->model_path);
    self->model_path = g_value_dup_string (value);
    break;
  case PROP_BACKEND:
    self->backend = g_value_get_enum (value);
    break;
  case PROP_OUTPUT:
    self->output = g_value_get_enum (value);
    break;
  case PROP_THREADS:
    self->threads = g_value_get_uint (value);
    break;
  case PROP_LABELS:
    g_free (self->labels_path);
    self->labels_path = g_value_dup_string (value);
    break;
  case PROP_TOP_K:
    self->top_k = g_value_get_uint (value);
    self->top_k_set = TRUE;
    break;
  case PROP_RESULTS:
    g_free (self->results_path);
    self->results_path = g_value_dup_string (value);
    break;
  case PROP_MODE:
    self->run_mode = g_value_get_enum (value);
    break;
  case PROP_INTERVAL:
    self->interval = g_value_get_uint (value);
    break;
  case PROP_BATCH_SIZE:
    self->batch_size = g_value_get_uint (value);
    break;
  case PROP_WINOGRAD:
    self->winograd = g_value_get_boolean (value);
    break;
  case PROP_ANE_CHECK_INTERVAL:
    self->ane_check_interval = g_value_get_int (value);
    break;
  case PROP_IMPORT:
    g_free (self->import);
    self->import = g_value_dup_string (value);
    break;
  case PROP_WATCH_MODEL:
    self->watch_model = g_value_get_boolean (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_aneforge_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstAneforge *self = GST_ANEFORGE (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
  case PROP_MODEL:
    g_value_set_string (value, self->model_path);
    break;
  case PROP_BACKEND:
    g_value_set_enum (value, self->backend);
    break;
  case PROP_OUTPUT:
    g_value_set_enum (value, self->output);
    break;
  case PROP_THREADS:
    g_value_set_uint (value, self->threads);
    break;
  case PROP_LABELS:
    g_value_set_string (value, self->labels_path);
    break;
  case PROP_TOP_K:
    g_value_set_uint (value, self->top_k);
    break;
  case PROP_RESULTS:
    g_value_set_string (value, self->results_path);
    break;
  case PROP_MODE:
    g_value_set_enum (value, self->run_mode);
    break;
  case PROP_INTERVAL:
    g_value_set_uint (value, self->interval);
    break;
  case PROP_BATCH_SIZE:
    g_value_set_uint (value, self->batch_size);
    break;
  case PROP_WINOGRAD:
    g_value_set_boolean (value, self->winograd);
    break;
  case PROP_ANE_CHECK_INTERVAL:
    g_value_set_int (value, self->ane_check_interval);
    break;
  case PROP_STATS:
    g_value_take_boxed (value, gst_aneforge_stats (self));
    break;
  case PROP_IMPORT:
    g_value_set_string (value, self->import);
    break;
  case PROP_WATCH_MODEL:
    g_value_set_boolean (value, self->watch_model);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* After the properties of one g_object_set are all set (so "model" and
 * "import" set together make one reload): while started, a new model,
 * import options, labels or top-k reload the model (docs/element.md, "Model
 * reload"), and watch-model starts or stops watching the file. */
static void
gst_aneforge_dispatch_properties_changed (GObject *object, guint n_pspecs, GParamSpec **pspecs)
{
  GstAneforge *self = GST_ANEFORGE (object);
  gboolean reload = FALSE, watch = FALSE;
  for (guint i = 0; i < n_pspecs; i++) {
    reload |= pspecs[i]->param_id == PROP_MODEL || pspecs[i]->param_id == PROP_IMPORT ||
              pspecs[i]->param_id == PROP_LABELS || pspecs[i]->param_id == PROP_TOP_K;
    watch |= pspecs[i]->param_id == PROP_WATCH_MODEL;
  }
  GST_OBJECT_LOCK (self);
  if (self->reloader && watch)
    gst_aneforge_reloader_watch (self->reloader, self->watch_model ? self->model_path : NULL);
  if (self->reloader && reload)
    gst_aneforge_reloader_request (self->reloader, "property");
  GST_OBJECT_UNLOCK (self);
  G_OBJECT_CLASS (gst_aneforge_parent_class)
      ->dispatch_properties_changed (object, n_pspecs, pspecs);
}

/* Called with the object lock held. Returns (transfer full). */
static GstStructure *
gst_aneforge_stats (GstAneforge *self)
{
  GstAneforgeWorkerStats st = self->last_stats;
  gboolean running = self->ses && self->ses->worker;
  if (running)
    gst_aneforge_worker_get_stats (self->ses->worker, &st);
  gint live = g_atomic_int_get (&self->live);
  return gst_structure_new ("aneforge-stats", "mode", G_TYPE_STRING,
                            live < 0 ? "undecided"
                            : live   ? "live"
                                     : "offline",
                            "frames", G_TYPE_UINT64, self->n_frames, "submitted", G_TYPE_UINT64,
                            st.submitted, "skipped", G_TYPE_UINT64, st.skipped, "inferred",
                            G_TYPE_UINT64, st.inferred, "stale", G_TYPE_UINT64, st.stale, "pending",
                            G_TYPE_UINT, st.pending, "max-pending", G_TYPE_UINT, st.max_pending,
                            "busy", G_TYPE_BOOLEAN, st.busy, "worker-running", G_TYPE_BOOLEAN,
                            running, "worst-latency-ns", G_TYPE_UINT64, st.worst_latency_ns,
                            "estimate-latency-ns", G_TYPE_UINT64, self->estimate_ns, NULL);
}

/* ---------------------------------------------------------------- start / stop */

typedef struct {
  gchar *model_path, *labels_path, *results_path, *import;
  GstAneforgeBackend backend;
  GstAneforgeOutput output;
  guint threads, top_k;
  gboolean top_k_set;
  GstAneforgeMode run_mode;
  guint batch_size;
  gboolean winograd;
  gint check_interval;
  gboolean watch_model;
} GstAneforgeSettings;

static void
gst_aneforge_settings_get (GstAneforge *self, GstAneforgeSettings *s)
{
  GST_OBJECT_LOCK (self);
  s->model_path = g_strdup (self->model_path);
  s->labels_path = g_strdup (self->labels_path);
  s->results_path = g_strdup (self->results_path);
  s->import = g_strdup (self->import);
  s->backend = self->backend;
  s->output = self->output;
  s->threads = self->threads;
  s->top_k = self->top_k;
  s->top_k_set = self->top_k_set;
  s->run_mode = self->run_mode;
  s->batch_size = MAX (self->batch_size, 1);
  s->winograd = self->winograd;
  s->check_interval = self->ane_check_interval;
  s->watch_model = self->watch_model;
  GST_OBJECT_UNLOCK (self);
}

static void
gst_aneforge_settings_clear (GstAneforgeSettings *s)
{
  g_clear_pointer (&s->model_path, g_free);
  g_clear_pointer (&s->labels_path, g_free);
  g_clear_pointer (&s->results_path, g_free);
  g_clear_pointer (&s->import, g_free);
}

/* Why a model could not be set up: posted as an error by start(), as a
 * warning by a reload (which keeps the serving model). The first one set
 * counts. */
typedef struct {
  GQuark domain;
  gint code;
  gchar *text, *debug; /* owned */
} GstAneforgeFailure;

static void
gst_aneforge_fail (GstAneforgeFailure *f, GQuark domain, gint code, gchar *text, gchar *debug)
{
  if (f->text) {
    g_free (text);
    g_free (debug);
    return;
  }
  f->domain = domain;
  f->code = code;
  f->text = text;
  f->debug = debug;
}

/* FAIL (f, RESOURCE, NOT_FOUND, ("text %s", a), ("debug") or (NULL)) */
#define FAIL(f, dom, code, text, debug)                                                            \
  gst_aneforge_fail ((f), GST_##dom##_ERROR, GST_##dom##_ERROR_##code,                             \
                     _gst_element_error_printf text, _gst_element_error_printf debug)

/* Posts @f (taken) as an error or a warning. */
static void
gst_aneforge_post_failure (GstAneforge *self, GstMessageType type, GstAneforgeFailure *f)
{
  gst_element_message_full (GST_ELEMENT (self), type, f->domain, f->code, f->text, f->debug,
                            __FILE__, G_STRFUNC, __LINE__);
  f->text = f->debug = NULL;
}

/* Maps a model loading error (any file kind) to a failure: a missing or
 * unreadable file is RESOURCE/NOT_FOUND or READ, a construct this library
 * does not support (an op, a data type) LIBRARY/FAILED, anything malformed
 * STREAM/FORMAT. The text names the file. */
static void
gst_aneforge_load_failure (GstAneforgeFailure *f, const gchar *path, const GError *err)
{
  g_autofree gchar *msg = g_str_has_prefix (err->message, path)
                              ? g_strdup (err->message)
                              : g_strdup_printf ("%s: %s", path, err->message);
  if (err->domain == AF_ERROR && err->code == AF_ERROR_IO &&
      !g_file_test (path, G_FILE_TEST_EXISTS))
    FAIL (f, RESOURCE, NOT_FOUND, ("%s", msg), ("model file \"%s\" does not exist", path));
  else if (err->domain == AF_ERROR && err->code == AF_ERROR_IO)
    FAIL (f, RESOURCE, READ, ("%s", msg), ("could not read model file \"%s\"", path));
  else if (err->domain == AF_ERROR && err->code == AF_ERROR_UNSUPPORTED)
    FAIL (f, LIBRARY, FAILED, ("%s", msg),
          ("model file \"%s\" uses what this aneforge does not support", path));
  else
    FAIL (f, STREAM, FORMAT, ("%s", msg), ("invalid model file \"%s\"", path));
}

static void
gst_aneforge_compile_failure (GstAneforgeFailure *f, const GstAneforgeSettings *s,
                              const GError *err)
{
  if (s->backend == GST_ANEFORGE_BACKEND_ANE && err->domain == AF_ERROR &&
      err->code == AF_ERROR_UNSUPPORTED)
    FAIL (f, LIBRARY, INIT,
          ("The Apple Neural Engine is not available on this platform (backend=ane): %s",
           err->message),
          ("model \"%s\"", s->model_path));
  else if (err->domain == AF_ERROR && err->code == AF_ERROR_UNSUPPORTED)
    FAIL (f, LIBRARY, INIT, ("%s", err->message), ("model \"%s\"", s->model_path));
  else
    FAIL (f, STREAM, FORMAT, ("%s", err->message),
          ("could not compile model \"%s\"", s->model_path));
}

/* The batched compile failed: when the model compiles unbatched, the
 * batch is the problem (LIBRARY/SETTINGS naming the property), else the
 * model's own error counts. */
static void
gst_aneforge_batch_failure (GstAneforgeFailure *f, const GstAneforgeSettings *s, AfGraph *g,
                            AfCompileOptions *opts, const GError *err)
{
  g_autoptr (GError) err1 = NULL;
  opts->batch = 1;
  AfModel *m = af_compile (g, opts, &err1);
  if (!m) {
    gst_aneforge_compile_failure (f, s, err1);
    return;
  }
  af_model_free (m);
  FAIL (f, LIBRARY, SETTINGS,
        ("batch-size=%u: the model cannot run batched: %s", s->batch_size, err->message),
        ("model \"%s\"; use batch-size=1", s->model_path));
}

/* batch-size > 1 needs offline meta output. */
static gboolean
gst_aneforge_check_batch (GstAneforgeFailure *f, const GstAneforgeSettings *s)
{
  if (s->batch_size <= 1)
    return TRUE;
  if (s->output != GST_ANEFORGE_OUTPUT_META) {
    FAIL (f, LIBRARY, SETTINGS,
          ("batch-size=%u needs output=meta: output=tensor emits one tensor buffer "
           "per frame from unbatched runs; use batch-size=1",
           s->batch_size),
          (NULL));
    return FALSE;
  }
  if (s->run_mode == GST_ANEFORGE_MODE_LIVE) {
    FAIL (f, LIBRARY, SETTINGS,
          ("batch-size=%u needs mode=offline (or auto): mode=live infers the "
           "newest frame alone and never holds frames back; use batch-size=1",
           s->batch_size),
          (NULL));
    return FALSE;
  }
  return TRUE;
}

/* Opens the model file (a .json graph, or a .onnx / .tflite imported with
 * the "import" options, its first input an image port) and compiles it;
 * records the canonical import options in @ses. NULL with @f set. */
static AfModel *
gst_aneforge_open_model (GstAneforgeSession *ses, const GstAneforgeSettings *s,
                         GstAneforgeFailure *f)
{
  g_autoptr (GError) err = NULL;
  if (!s->model_path || !*s->model_path) {
    FAIL (f, RESOURCE, NOT_FOUND, ("No model: the \"model\" property is unset"),
          ("set model=path/to/model.onnx, .tflite or .json"));
    return NULL;
  }
  if (!gst_aneforge_check_batch (f, s))
    return NULL;
  AfImportArgs *args = af_import_args_new ();
  if (!af_import_args_parse (args, s->import, &err)) {
    FAIL (f, LIBRARY, SETTINGS, ("import=\"%s\": %s", s->import, err->message),
          ("model \"%s\"", s->model_path));
    af_import_args_free (args);
    return NULL;
  }
  ses->import = af_import_args_to_string (args);
  AfGraph *g = af_import_args_open (args, s->model_path, TRUE, &err);
  af_import_args_free (args);
  if (!g) {
    gst_aneforge_load_failure (f, s->model_path, err);
    return NULL;
  }
  AfCompileOptions opts = AF_COMPILE_OPTIONS_INIT;
  opts.backend = (AfBackendKind) s->backend;
  opts.threads = (int) s->threads;
  opts.batch = (int) s->batch_size;
  opts.winograd = s->winograd;
  opts.check_every = s->check_interval;
  AfModel *m = af_compile (g, &opts, &err);
  if (!m && s->batch_size > 1)
    gst_aneforge_batch_failure (f, s, g, &opts, err);
  else if (!m)
    gst_aneforge_compile_failure (f, s, err);
  af_graph_free (g);
  if (!m)
    return NULL;
  if (af_model_n_inputs (m) != 1 || af_model_n_outputs (m) < 1) {
    FAIL (f, STREAM, FORMAT,
          ("%s: the element feeds one image input and reads at least one output; "
           "the model has %u inputs and %u outputs",
           s->model_path, af_model_n_inputs (m), af_model_n_outputs (m)),
          (NULL));
    af_model_free (m);
    return NULL;
  }
  return m;
}

/* The decode spec of output @i with the properties applied (labels and top-k
 * override a classification's; with either set and no classification in
 * the model, output 0 without a decode becomes one). A model's labels file
 * that does not exist is a warning and dropped. Returns FALSE when output
 * @i is not decoded. */
static gboolean
gst_aneforge_decode_spec (GstAneforgeSession *ses, const GstAneforgeSettings *s, guint i,
                          gboolean has_cls, const gchar *model_dir, AfDecodeSpec *spec)
{
  const AfTensorInfo *o = &ses->outputs[i];
  gboolean props = s->labels_path || s->top_k_set;
  if (o->decode) {
    af_decode_spec_copy (spec, o->decode);
  } else if (i == 0 && props && !has_cls) {
    af_decode_spec_init (spec, AF_DECODE_TYPE_CLASSIFICATION);
    spec->scores = g_strdup (o->name);
  } else {
    return FALSE;
  }
  if (spec->type != AF_DECODE_TYPE_CLASSIFICATION)
    return TRUE;
  if (s->top_k_set || !o->decode)
    spec->top_k = s->top_k;
  if (s->labels_path) {
    g_free (spec->labels);
    spec->labels = g_canonicalize_filename (s->labels_path, NULL);
  } else if (spec->labels) {
    g_autofree gchar *path = g_path_is_absolute (spec->labels)
                                 ? g_strdup (spec->labels)
                                 : g_build_filename (model_dir, spec->labels, NULL);
    if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
      GST_ELEMENT_WARNING (ses->element, RESOURCE, NOT_FOUND,
                           ("Could not read the model's labels: %s does not exist", path), (NULL));
      g_clear_pointer (&spec->labels, g_free);
    }
  }
  return TRUE;
}

/* The result of output @index's decoder, NULL for -1. */
static AfDecodeResult *
gst_aneforge_dense_result (GstAneforgeSession *ses, gint index)
{
  return index >= 0 ? ses->decoded[index] : NULL;
}

/* The mask and keypoints of the last run into @out (no allocation). */
static void
gst_aneforge_decode_dense (GstAneforgeSession *ses, gint frame_w, gint frame_h,
                           GstAneforgeDense *out)
{
  gst_aneforge_dense_fill (
      out, ses->seg_index >= 0 ? g_ptr_array_index (ses->decoders, ses->seg_index) : NULL,
      gst_aneforge_dense_result (ses, ses->seg_index),
      ses->kp_index >= 0 ? g_ptr_array_index (ses->decoders, ses->kp_index) : NULL,
      gst_aneforge_dense_result (ses, ses->kp_index), frame_w, frame_h);
}

/* One decoder per decoded output (af_decoder_new: binds tensors, loads
 * labels, allocates all scratch) and its result storage; picks the outputs
 * that fill the classes and the detections. FALSE with @f set. */
static gboolean
gst_aneforge_setup_decoders (GstAneforgeSession *ses, const GstAneforgeSettings *s,
                             GstAneforgeFailure *f)
{
  g_autofree gchar *model_dir = g_path_get_dirname (s->model_path);
  gboolean has_cls = FALSE;
  for (guint i = 0; i < ses->n_outputs; i++)
    has_cls |=
        ses->outputs[i].decode && ses->outputs[i].decode->type == AF_DECODE_TYPE_CLASSIFICATION;
  ses->decoders = g_ptr_array_new_full (ses->n_outputs, (GDestroyNotify) af_decoder_free);
  ses->decoded = g_new0 (AfDecodeResult *, ses->n_outputs);
  ses->views = g_new0 (const guint16 *, ses->n_outputs);
  ses->cls_index = ses->det_index = ses->seg_index = ses->kp_index = -1;
  for (guint i = 0; i < ses->n_outputs; i++) {
    g_autoptr (GError) err = NULL;
    AfDecodeSpec spec;
    AfDecoder *dec = NULL;
    ses->views[i] = af_model_output_view (ses->model, i);
    if (gst_aneforge_decode_spec (ses, s, i, has_cls, model_dir, &spec)) {
      dec = af_decoder_new (&spec, model_dir, ses->n_outputs, ses->outputs, &err);
      af_decode_spec_clear (&spec);
      if (!dec) {
        FAIL (f, STREAM, FORMAT,
              ("%s: outputs[%u] \"%s\": %s", s->model_path, i, ses->outputs[i].name, err->message),
              ("could not set up the decoder of output %u", i));
        return FALSE;
      }
      ses->decoded[i] = af_decode_result_new (dec);
      if (ses->decoded[i]->type == AF_DECODE_TYPE_CLASSIFICATION && ses->cls_index < 0) {
        ses->cls_index = (gint) i;
        ses->cls_k = ses->decoded[i]->capacity;
      } else if (ses->decoded[i]->type == AF_DECODE_TYPE_SEGMENTATION && ses->seg_index < 0) {
        ses->seg_index = (gint) i;
      } else if (ses->decoded[i]->type == AF_DECODE_TYPE_KEYPOINTS && ses->kp_index < 0) {
        ses->kp_index = (gint) i;
      } else if (ses->decoded[i]->detections != NULL && ses->det_index < 0) {
        ses->det_index = (gint) i;
        ses->det_max = ses->decoded[i]->capacity;
      }
    }
    g_ptr_array_add (ses->decoders, dec);
  }
  return TRUE;
}

/* "10:1" for [1, 10]: NNStreamer's order, innermost first. */
static void
gst_aneforge_append_dims (GString *str, const AfTensorInfo *info)
{
  for (gint d = info->rank - 1; d >= 0; d--)
    g_string_append_printf (str, "%" G_GINT64_FORMAT "%s", info->shape[d], d ? ":" : "");
}

static GstCaps *
gst_aneforge_make_tensor_caps (GstAneforgeSession *ses)
{
  g_autoptr (GString) types = g_string_new (NULL);
  g_autoptr (GString) dims = g_string_new (NULL);
  for (guint i = 0; i < ses->n_outputs; i++) {
    g_string_append (types, i ? ",float32" : "float32");
    if (i)
      g_string_append_c (dims, ',');
    gst_aneforge_append_dims (dims, &ses->outputs[i]);
  }
  return gst_caps_new_simple ("other/tensors", "format", G_TYPE_STRING, "static", "num_tensors",
                              G_TYPE_INT, (gint) ses->n_outputs, "types", G_TYPE_STRING, types->str,
                              "dimensions", G_TYPE_STRING, dims->str, NULL);
}

/* Frees @ses (NULL-safe): joins its inference thread first (it uses the
 * model). Not on the streaming thread while frames flow: a running model is
 * waited for. */
void
gst_aneforge_session_free (GstAneforgeSession *ses)
{
  if (!ses)
    return;
  gst_aneforge_worker_free (ses->worker);
  gst_aneforge_results_pool_release (ses->results);
  if (ses->tensor_pool) {
    gst_buffer_pool_set_active (ses->tensor_pool, FALSE);
    gst_object_unref (ses->tensor_pool);
  }
  for (guint i = 0; ses->decoded && i < ses->n_outputs; i++)
    af_decode_result_free (ses->decoded[i]);
  g_free (ses->decoded);
  if (ses->decoders)
    g_ptr_array_unref (ses->decoders);
  g_free (ses->views);
  g_free (ses->item_elems);
  g_free (ses->batch_views);
  g_free (ses->outputs);
  g_free (ses->scratch_classes);
  g_free (ses->scratch_detections);
  g_free (ses->scratch_dense.mask);
  g_free (ses->scratch_dense.keypoints);
  gst_aneforge_preprocess_clear (&ses->pre);
  gst_clear_caps (&ses->tensor_caps);
  if (ses->model)
    af_model_free (ses->model);
  g_free (ses->model_path);
  g_free (ses->import);
  g_free (ses);
}

static void
gst_aneforge_close (GstAneforge *self)
{
  /* the reload thread builds sessions from the element's settings and frees
   * retired ones: stop it first (it finishes a compile under way) */
  GST_OBJECT_LOCK (self);
  GstAneforgeReloader *reloader = self->reloader;
  self->reloader = NULL;
  GST_OBJECT_UNLOCK (self);
  gst_aneforge_reloader_free (reloader);
  gst_aneforge_session_free (g_atomic_pointer_exchange (&self->pending, NULL));
  /* the worker uses the model: the session is freed outside the object lock
   * (the worker's function may post an error, which takes that lock) */
  GST_OBJECT_LOCK (self);
  GstAneforgeSession *ses = self->ses;
  self->ses = NULL;
  if (ses && ses->worker)
    gst_aneforge_worker_get_stats (ses->worker, &self->last_stats);
  GST_OBJECT_UNLOCK (self);
  gst_aneforge_session_free (ses);
  g_atomic_int_set (&self->live, -1);
  gst_aneforge_batch_free (&self->batch);
  gst_aneforge_reporter_close (&self->reporter, GST_ELEMENT (self));
  self->negotiated = FALSE;
  self->caps_error_posted = FALSE;
}

/* output=tensor: caps, output buffer pool, scratch for the classes and
 * detections. */
static gboolean
gst_aneforge_open_tensor_output (GstAneforgeSession *ses, GstAneforgeFailure *f)
{
  g_autofree gsize *sizes = g_new (gsize, ses->n_outputs);
  for (guint i = 0; i < ses->n_outputs; i++)
    sizes[i] = sizeof (gfloat) * af_shape_numel (ses->outputs[i].rank, ses->outputs[i].shape);
  ses->tensor_pool = gst_aneforge_tensor_pool_new (ses->n_outputs, sizes);
  if (!ses->tensor_pool) {
    FAIL (f, RESOURCE, FAILED, ("Could not activate the output buffer pool"), (NULL));
    return FALSE;
  }
  ses->scratch_classes = g_new0 (GstAneforgeClassification, ses->cls_k + 1);
  ses->scratch_detections = g_new0 (GstAneforgeDetection, ses->det_max + 1);
  gsize mask_bytes;
  guint max_kp;
  gst_aneforge_dense_sizes (gst_aneforge_dense_result (ses, ses->seg_index),
                            gst_aneforge_dense_result (ses, ses->kp_index), &mask_bytes, &max_kp);
  ses->scratch_dense.mask = mask_bytes ? g_malloc0 (mask_bytes) : NULL;
  ses->scratch_dense.keypoints = max_kp ? g_new0 (GstAneforgeKeypoint, max_kp) : NULL;
  ses->tensor_caps = gst_aneforge_make_tensor_caps (ses);
  return TRUE;
}

static GstAneforgeResults *gst_aneforge_worker_run (const guint8 *port, const GstAneforgeJob *job,
                                                    gpointer data);

/* Once, when a self-check has just failed (ane-check-interval): a warning
 * saying how far the backend's outputs were from the CPU backend's, and that
 * the model runs on the CPU now. Any thread, no lock held. */
static void
gst_aneforge_check_warn (GstAneforgeSession *ses)
{
  AfCheckStatus s;
  if (ses->check_warned || !af_model_check_status (ses->model, &s) || !s.fell_back)
    return;
  ses->check_warned = TRUE;
  GST_ELEMENT_WARNING (
      ses->element, STREAM, FAILED,
      ("The %s backend's outputs differ from the CPU backend's by %.3g of their magnitude "
       "(bound %.3g); running on the CPU from now on",
       s.checked_backend, s.rel, s.bound),
      ("self-check of frame %" G_GUINT64_FORMAT ": output %d \"%s\": max |%s - cpu| = %g, "
       "max |cpu| = %g, relative %.3g > bound %.3g (8 x %u ops x 2^-11)",
       s.checked_frame, s.output, s.output_name, s.checked_backend, s.max_diff, s.ref_max, s.rel,
       s.bound, af_model_n_ops (ses->model)));
}

/* One run on the (zeroed) port: the latency estimate before any frame (for
 * mode=auto and the LATENCY query), and a warm model. The self-check's
 * schedule restarts after it, so the first video frame is checked. */
static gboolean
gst_aneforge_time_model (GstAneforgeSession *ses, GstAneforgeFailure *f)
{
  g_autoptr (GError) err = NULL;
  GstClockTime t0 = gst_util_get_timestamp ();
  if (!af_model_execute (ses->model, &err)) {
    FAIL (f, STREAM, FAILED, ("Inference failed: %s", err->message), (NULL));
    return FALSE;
  }
  gst_aneforge_check_warn (ses);
  af_model_check_restart (ses->model);
  ses->estimate_ns = gst_util_get_timestamp () - t0;
  GST_INFO_OBJECT (ses->element, "one run takes %" GST_TIME_FORMAT,
                   GST_TIME_ARGS (ses->estimate_ns));
  return TRUE;
}

/* output=meta: the inference thread (idle until live mode submits). */
static gboolean
gst_aneforge_open_worker (GstAneforgeSession *ses, const GstAneforgeSettings *s,
                          GstAneforgeFailure *f)
{
  g_autoptr (GError) err = NULL;
  if (s->run_mode == GST_ANEFORGE_MODE_LIVE && s->output != GST_ANEFORGE_OUTPUT_META) {
    FAIL (f, LIBRARY, SETTINGS,
          ("mode=live needs output=meta: output=tensor emits one tensor buffer "
           "per inferred frame; use mode=offline (or auto) with output=tensor"),
          (NULL));
    return FALSE;
  }
  if (s->output != GST_ANEFORGE_OUTPUT_META)
    return TRUE;
  gsize port_size = (gsize) af_shape_numel (ses->port.rank, ses->port.shape);
  ses->worker = gst_aneforge_worker_new (port_size, gst_aneforge_worker_run, ses, &err);
  if (!ses->worker) {
    FAIL (f, RESOURCE, FAILED, ("Could not start the inference thread: %s", err->message), (NULL));
    return FALSE;
  }
  return TRUE;
}

/* batch-size > 1: the port and outputs lead with the batch (the library
 * guarantees it); from here on they describe one item, so preprocessing,
 * decoders and result blocks are those of an unbatched model. */
static gboolean
gst_aneforge_open_batch (GstAneforgeSession *ses, const GstAneforgeSettings *s,
                         GstAneforgeFailure *f)
{
  ses->batch = 1;
  if (s->batch_size <= 1)
    return TRUE;
  if (ses->port.rank < 1 || ses->port.shape[0] != (gint64) s->batch_size)
    goto not_batched;
  for (guint i = 0; i < ses->n_outputs; i++)
    if (ses->outputs[i].rank < 1 || ses->outputs[i].shape[0] != (gint64) s->batch_size)
      goto not_batched;
  ses->batch = s->batch_size;
  ses->port.shape[0] = 1;
  ses->port_item = (gsize) af_shape_numel (ses->port.rank, ses->port.shape);
  ses->item_elems = g_new (gsize, ses->n_outputs);
  ses->batch_views = g_new0 (const guint16 *, ses->n_outputs);
  for (guint i = 0; i < ses->n_outputs; i++) {
    ses->outputs[i].shape[0] = 1;
    ses->item_elems[i] = (gsize) af_shape_numel (ses->outputs[i].rank, ses->outputs[i].shape);
  }
  return TRUE;

not_batched:
  FAIL (f, LIBRARY, SETTINGS,
        ("batch-size=%u: the compiled model's input or an output does not lead "
         "with the batch",
         s->batch_size),
        ("model \"%s\"", s->model_path));
  return FALSE;
}

/* Loads, compiles and times the model of @s with everything it needs
 * (decoders, result or tensor pools, inference thread). Any thread: touches
 * nothing of the element but posting a labels warning. Returns (transfer
 * full) or NULL with @f set. */
static GstAneforgeSession *
gst_aneforge_session_new (GstAneforge *self, const GstAneforgeSettings *s, GstAneforgeFailure *f)
{
  GstClockTime t0 = gst_util_get_timestamp ();
  GstAneforgeSession *ses = g_new0 (GstAneforgeSession, 1);
  ses->element = self;
  ses->model_path = g_strdup (s->model_path);
  ses->cls_index = ses->det_index = -1;
  ses->batch = 1;
  ses->model = gst_aneforge_open_model (ses, s, f);
  if (!ses->model)
    goto failed;
  af_model_input_info (ses->model, 0, &ses->port);
  ses->port_view = af_model_input_view (ses->model, 0, NULL);
  ses->n_outputs = af_model_n_outputs (ses->model);
  ses->outputs = g_new0 (AfTensorInfo, ses->n_outputs);
  for (guint i = 0; i < ses->n_outputs; i++)
    af_model_output_info (ses->model, i, &ses->outputs[i]);
  if (!gst_aneforge_open_batch (ses, s, f) || !gst_aneforge_setup_decoders (ses, s, f))
    goto failed;
  if (ses->batch > 1) /* the decoders read one item: the whole views are the batch's */
    for (guint i = 0; i < ses->n_outputs; i++)
      ses->batch_views[i] = ses->views[i];
  if (s->output == GST_ANEFORGE_OUTPUT_META) {
    ses->results = gst_aneforge_results_pool_new (ses->n_outputs, ses->outputs, 0, ses->cls_k,
                                                  ses->det_max, ses->decoders);
    gsize mask_bytes;
    guint max_kp;
    gst_aneforge_dense_sizes (gst_aneforge_dense_result (ses, ses->seg_index),
                              gst_aneforge_dense_result (ses, ses->kp_index), &mask_bytes, &max_kp);
    gst_aneforge_results_pool_reserve_dense (ses->results, mask_bytes, max_kp);
  } else if (!gst_aneforge_open_tensor_output (ses, f)) {
    goto failed;
  }
  if (!gst_aneforge_time_model (ses, f) || !gst_aneforge_open_worker (ses, s, f))
    goto failed;
  ses->compile_ns = gst_util_get_timestamp () - t0;
  GST_INFO_OBJECT (self,
                   "model \"%s\": %u ops, %u outputs, backend %s, classes from output %d, "
                   "detections from output %d, ready in %" GST_TIME_FORMAT,
                   s->model_path, af_model_n_ops (ses->model), ses->n_outputs,
                   af_model_backend_name (ses->model), ses->cls_index, ses->det_index,
                   GST_TIME_ARGS (ses->compile_ns));
  return ses;

failed:
  gst_aneforge_session_free (ses);
  return NULL;
}

static gboolean
gst_aneforge_open (GstAneforge *self, const GstAneforgeSettings *s)
{
  GstAneforgeFailure f = { 0 };
  self->mode = s->output;
  self->started_batch = s->batch_size;
  GstAneforgeSession *ses = gst_aneforge_session_new (self, s, &f);
  if (!ses) {
    gst_aneforge_post_failure (self, GST_MESSAGE_ERROR, &f);
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  self->ses = ses;
  self->estimate_ns = ses->estimate_ns;
  self->n_frames = 0;
  memset (&self->last_stats, 0, sizeof self->last_stats);
  GST_OBJECT_UNLOCK (self);
  if (ses->batch > 1)
    gst_aneforge_batch_init (&self->batch, ses->batch);
  if (!gst_aneforge_reporter_open (&self->reporter, GST_ELEMENT (self), s->results_path))
    return FALSE;
  g_atomic_int_set (&self->live, -1);
  self->seq = 0;
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self),
                                   self->mode == GST_ANEFORGE_OUTPUT_META);
  /* outside the lock: a file that cannot be watched is a warning */
  GstAneforgeReloader *reloader =
      gst_aneforge_reloader_new (self, s->watch_model ? s->model_path : NULL);
  GST_OBJECT_LOCK (self);
  self->reloader = reloader;
  /* set while this model compiled: not lost */
  if (g_strcmp0 (self->model_path, s->model_path) != 0 || g_strcmp0 (self->import, s->import) != 0)
    gst_aneforge_reloader_request (self->reloader, "property");
  GST_OBJECT_UNLOCK (self);
  gst_aneforge_report_model (GST_ELEMENT (self), ses, "start", GST_CLOCK_TIME_NONE,
                             GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  return TRUE;
}

static gboolean
gst_aneforge_start (GstBaseTransform *trans)
{
  GstAneforge *self = GST_ANEFORGE (trans);
  GstAneforgeSettings s;
  gst_aneforge_settings_get (self, &s);
  gboolean ok = gst_aneforge_open (self, &s);
  gst_aneforge_settings_clear (&s);
  if (!ok)
    gst_aneforge_close (self);
  return ok;
}

static gboolean
gst_aneforge_stop (GstBaseTransform *trans)
{
  gst_aneforge_close (GST_ANEFORGE (trans));
  return TRUE;
}

/* ---------------------------------------------------------------- reload
 * A new model (the "model" or "import" property set while started, or the
 * file rewritten with watch-model) is built on the reload thread
 * (gstaneforgereload.h) while the serving one keeps running; the streaming
 * thread switches between frames (gst_aneforge_switch). */

/* The reload thread's build: the element's settings now, with the output
 * kind and batch it started with. A failure is posted as a warning naming
 * the file and the reason; the serving model stays. */
GstAneforgeSession *
gst_aneforge_reload_build (GstAneforge *self, const gchar *reason)
{
  GstAneforgeSettings s;
  GstAneforgeFailure f = { 0 };
  gst_aneforge_settings_get (self, &s);
  s.output = self->mode;
  s.batch_size = self->started_batch;
  GstAneforgeSession *ses = gst_aneforge_session_new (self, &s, &f);
  if (!ses) {
    gchar *text =
        g_strdup_printf ("Model reload (%s) failed, the serving model stays: %s", reason, f.text);
    g_free (f.text);
    f.text = text;
    gst_aneforge_post_failure (self, GST_MESSAGE_WARNING, &f);
  }
  gst_aneforge_settings_clear (&s);
  return ses;
}

/* The reload thread's delivery: @ses waits for the next frame; one that
 * waited unused is replaced (and freed here, on the reload thread). */
void
gst_aneforge_reload_deliver (GstAneforge *self, GstAneforgeSession *ses)
{
  gst_aneforge_session_free (g_atomic_pointer_exchange (&self->pending, ses));
}

/* ---------------------------------------------------------------- caps */

static GstAneforgeOutput
gst_aneforge_get_output (GstAneforge *self)
{
  GST_OBJECT_LOCK (self);
  GstAneforgeOutput o = self->output;
  GST_OBJECT_UNLOCK (self);
  return o;
}

/* Tensor caps of @tmpl for each video structure of @caps, framerate copied. */
static GstCaps *
gst_aneforge_tensor_caps_for (GstCaps *tmpl, GstCaps *caps)
{
  GstCaps *res = gst_caps_new_empty ();
  for (guint i = 0; i < gst_caps_get_size (caps); i++) {
    GstStructure *in = gst_caps_get_structure (caps, i);
    if (!gst_structure_has_name (in, "video/x-raw"))
      continue;
    GstStructure *out = gst_structure_copy (gst_caps_get_structure (tmpl, 0));
    const GValue *fps = gst_structure_get_value (in, "framerate");
    if (fps)
      gst_structure_set_value (out, "framerate", fps);
    else
      gst_structure_set (out, "framerate", GST_TYPE_FRACTION, 0, 1, NULL);
    res = gst_caps_merge_structure (res, out);
  }
  return res;
}

/* The serving model's tensor caps for @caps (any thread). */
static GstCaps *
gst_aneforge_video_to_tensor_caps (GstAneforge *self, GstCaps *caps)
{
  GST_OBJECT_LOCK (self);
  GstCaps *tmpl = self->ses && self->ses->tensor_caps ? gst_caps_ref (self->ses->tensor_caps)
                                                      : gst_caps_from_string (TENSOR_CAPS);
  GST_OBJECT_UNLOCK (self);
  GstCaps *res = gst_aneforge_tensor_caps_for (tmpl, caps);
  gst_caps_unref (tmpl);
  return res;
}

static GstCaps *
gst_aneforge_transform_caps (GstBaseTransform *trans, GstPadDirection direction, GstCaps *caps,
                             GstCaps *filter)
{
  GstAneforge *self = GST_ANEFORGE (trans);
  GstCaps *video = gst_pad_get_pad_template_caps (GST_BASE_TRANSFORM_SINK_PAD (trans));
  GstCaps *res;
  if (gst_aneforge_get_output (self) == GST_ANEFORGE_OUTPUT_META)
    res = gst_caps_intersect (caps, video);
  else if (direction == GST_PAD_SINK)
    res = gst_aneforge_video_to_tensor_caps (self, caps);
  else
    res = gst_caps_ref (video);
  gst_caps_unref (video);
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, res, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (res);
    res = tmp;
  }
  GST_DEBUG_OBJECT (self, "%s %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT,
                    direction == GST_PAD_SINK ? "sink" : "src", caps, res);
  return res;
}

/* "[1, 3, 32, 32]" */
static gchar *
gst_aneforge_shape_string (const AfTensorInfo *info)
{
  GString *s = g_string_new ("[");
  for (gint d = 0; d < info->rank; d++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, d ? ", " : "", info->shape[d]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Asks upstream whether it is a live capture (a LATENCY query): live with
 * a minimum latency. Capture sources report at least one frame; a source
 * that only claims liveness (GstHarness, appsrc without min-latency) does
 * not count, so tests pushing frames by hand keep exact per-frame results. */
static gboolean
gst_aneforge_live_answer (gboolean live, GstClockTime min)
{
  return live && GST_CLOCK_TIME_IS_VALID (min) && min > 0;
}

static gboolean
gst_aneforge_upstream_is_live (GstAneforge *self)
{
  GstQuery *q = gst_query_new_latency ();
  gboolean live = FALSE;
  GstClockTime min = 0;
  if (gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (self), q))
    gst_query_parse_latency (q, &live, &min, NULL);
  gst_query_unref (q);
  return gst_aneforge_live_answer (live, min);
}

/* The worst latency known: the largest measured so far, at least the
 * estimate timed at start. */
static guint64
gst_aneforge_worst_latency (GstAneforge *self)
{
  GstAneforgeWorkerStats st = { 0 };
  GST_OBJECT_LOCK (self);
  guint64 est = self->estimate_ns;
  if (self->ses && self->ses->worker)
    gst_aneforge_worker_get_stats (self->ses->worker, &st);
  GST_OBJECT_UNLOCK (self);
  return MAX (est, st.worst_latency_ns);
}

/* The mode rule (docs/element.md): live and offline are what they say;
 * auto is live when the output is meta, upstream is a live capture (live
 * with a minimum latency, gst_aneforge_upstream_is_live), the caps have a
 * fixed framerate and the model's worst latency exceeds one frame interval:
 * offline would fall behind the source. Without a framerate (still images,
 * variable rate) auto stays offline. */
static gboolean
gst_aneforge_resolve_live (GstAneforge *self, gboolean upstream_live, gint fps_n, gint fps_d)
{
  GST_OBJECT_LOCK (self);
  GstAneforgeMode mode = self->run_mode;
  gboolean batched = self->ses && self->ses->batch > 1;
  gboolean worker = self->ses && self->ses->worker;
  GST_OBJECT_UNLOCK (self);
  if (batched) /* batching holds frames: offline only (live refused at start) */
    return FALSE;
  if (mode != GST_ANEFORGE_MODE_AUTO)
    return mode == GST_ANEFORGE_MODE_LIVE && worker;
  if (!worker || !upstream_live)
    return FALSE;
  if (fps_n <= 0 || fps_d <= 0)
    return FALSE;
  return gst_aneforge_worst_latency (self) > gst_util_uint64_scale (GST_SECOND, fps_d, fps_n);
}

/* New caps: resolves the mode and starts a new epoch (no result of the old
 * caps is shown). */
static void
gst_aneforge_restart_stream (GstAneforge *self)
{
  gboolean upstream_live = gst_aneforge_upstream_is_live (self);
  g_atomic_int_set (&self->upstream_live, upstream_live);
  gboolean live =
      gst_aneforge_resolve_live (self, upstream_live, GST_VIDEO_INFO_FPS_N (&self->vinfo),
                                 GST_VIDEO_INFO_FPS_D (&self->vinfo));
  if (self->ses->worker) {
    gst_aneforge_worker_reset (self->ses->worker);
    if (!live) /* offline runs the model here: wait for the worker to let go */
      gst_aneforge_worker_drain (self->ses->worker, FALSE);
  }
  self->seq = 0;
  gint old = g_atomic_int_get (&self->live);
  g_atomic_int_set (&self->live, live);
  GST_INFO_OBJECT (self, "%s mode (upstream %slive)", live ? "live" : "offline",
                   upstream_live ? "" : "not ");
  if (old != (gint) live && upstream_live)
    gst_element_post_message (GST_ELEMENT (self), gst_message_new_latency (GST_OBJECT (self)));
}

static gboolean
gst_aneforge_set_caps (GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps)
{
  GstAneforge *self = GST_ANEFORGE (trans);
  g_autoptr (GError) err = NULL;
  GstAneforgeSession *ses = self->ses;
  self->negotiated = FALSE;
  if (!ses)
    return FALSE;
  if (!gst_video_info_from_caps (&self->vinfo, incaps))
    goto invalid_caps;
  self->colorimetry = gst_structure_has_field (gst_caps_get_structure (incaps, 0), "colorimetry");
  gst_aneforge_preprocess_clear (&ses->pre);
  if (!gst_aneforge_preprocess_init (&ses->pre, &self->vinfo, self->colorimetry, &ses->port, &err))
    goto wrong_model;
  /* one scratch slot per model thread: offline frames are preprocessed on them */
  gst_aneforge_preprocess_set_slots (&ses->pre, af_model_n_threads (ses->model));
  gst_aneforge_restart_stream (self);
  self->negotiated = TRUE;
  GST_DEBUG_OBJECT (self, "in %" GST_PTR_FORMAT " out %" GST_PTR_FORMAT, incaps, outcaps);
  return TRUE;

  /* ERRORS */
invalid_caps:
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("Invalid video caps"), ("%" GST_PTR_FORMAT, incaps));
  return FALSE;
wrong_model : {
  /* set_caps is retried on reconfigure: post once per stream */
  if (self->caps_error_posted)
    return FALSE;
  self->caps_error_posted = TRUE;
  g_autofree gchar *shape = gst_aneforge_shape_string (&ses->port);
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
                     ("The model cannot take %s video: %s (input 0 has shape %s)",
                      gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&self->vinfo)),
                      err->message, shape),
                     ("caps %" GST_PTR_FORMAT, incaps));
  return FALSE;
}
}

/* ---------------------------------------------------------------- per frame */

typedef struct {
  const GstAneforgePreprocess *pre;
  const GstVideoFrame *frame;
  guint8 *dst;
} GstAneforgeRows;

static void
gst_aneforge_rows_task (gpointer data, gint64 begin, gint64 end, int thread)
{
  const GstAneforgeRows *r = data;
  gst_aneforge_preprocess_run_rows (r->pre, r->frame, r->dst, (gint) begin, (gint) end, thread);
}

/* Maps @buf into @dst (a port-sized image). @threaded: the caller's thread
 * also runs the model (offline, batch), so the model's threads are idle and
 * share the rows (in live mode the worker may be inferring on them). Posts
 * on error. */
gboolean
gst_aneforge_preprocess_buffer (GstAneforge *self, GstBuffer *buf, guint8 *dst, gboolean threaded)
{
  GstVideoFrame frame;
  if (!self->negotiated)
    goto not_negotiated;
  if (!gst_video_frame_map (&frame, &self->vinfo, buf, GST_MAP_READ))
    goto map_failed;
  if (threaded && self->ses->pre.n_slots > 1) {
    GstAneforgeRows rows = { &self->ses->pre, &frame, dst };
    af_model_parallel_for (self->ses->model, self->ses->pre.out_h, 8, gst_aneforge_rows_task,
                           &rows);
  } else {
    gst_aneforge_preprocess_run (&self->ses->pre, &frame, dst);
  }
  gst_video_frame_unmap (&frame);
  return TRUE;

  /* ERRORS */
not_negotiated:
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("no caps before the first buffer"));
  return FALSE;
map_failed:
  GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Could not map the video frame"), (NULL));
  return FALSE;
}

/* Runs the model on its port. Posts on error (any thread, no lock held). */
gboolean
gst_aneforge_execute (GstAneforgeSession *ses)
{
  g_autoptr (GError) err = NULL;
  if (af_model_execute (ses->model, &err)) {
    gst_aneforge_check_warn (ses);
    return TRUE;
  }
  GST_ELEMENT_ERROR (ses->element, STREAM, FAILED, ("Inference failed: %s", err->message), (NULL));
  return FALSE;
}

/* Maps @buf into the port and runs the model. Posts on error. */
static gboolean
gst_aneforge_infer (GstAneforge *self, GstBuffer *buf, guint64 *latency_ns)
{
  GstClockTime t0 = gst_util_get_timestamp ();
  if (!gst_aneforge_preprocess_buffer (self, buf, self->ses->port_view, TRUE) ||
      !gst_aneforge_execute (self->ses))
    return FALSE;
  *latency_ns = gst_util_get_timestamp () - t0;
  return TRUE;
}

/* Runs every decoder on the model's outputs (no allocation) and copies the
 * classes and the detections (mapped to frame pixels) into @classes /
 * @dets, which have room for cls_k / det_max entries. */
static void
gst_aneforge_decode (GstAneforgeSession *ses, gint frame_w, gint frame_h,
                     GstAneforgeClassification *classes, guint *n_classes,
                     GstAneforgeDetection *dets, guint *n_dets)
{
  *n_classes = *n_dets = 0;
  for (guint i = 0; i < ses->n_outputs; i++) {
    AfDecoder *dec = g_ptr_array_index (ses->decoders, i);
    if (dec)
      af_decoder_run (dec, ses->views, ses->decoded[i]);
  }
  if (ses->cls_index >= 0) {
    const AfDecodeResult *res = ses->decoded[ses->cls_index];
    for (guint k = 0; k < res->n && k < ses->cls_k; k++) {
      classes[k].index = res->classes[k].index;
      classes[k].label = res->classes[k].label;
      classes[k].score = res->classes[k].score;
    }
    *n_classes = MIN (res->n, ses->cls_k);
  }
  if (ses->det_index >= 0) {
    AfDecodeResult *res = ses->decoded[ses->det_index];
    const AfDecodeSpec *spec = af_decoder_spec (g_ptr_array_index (ses->decoders, ses->det_index));
    AfFrameMap map;
    /* the element stretches the frame into the port */
    af_frame_map_stretch (&map, frame_w, frame_h, spec->input_w, spec->input_h);
    af_decode_map_to_frame (res, &map);
    guint n = MIN (res->n, ses->det_max);
    for (guint k = 0; k < n; k++) {
      const AfDetection *d = &res->detections[k];
      GstAneforgeDetection *o = &dets[k];
      o->x1 = d->x1;
      o->y1 = d->y1;
      o->x2 = d->x2;
      o->y2 = d->y2;
      o->score = d->score;
      o->class_index = d->label;
      o->label = d->label_name;
      o->n_landmarks = (guint) MIN (d->n_landmarks, (gint) G_N_ELEMENTS (o->landmarks) / 2);
      memcpy (o->landmarks, d->landmarks, sizeof (gfloat) * 2 * o->n_landmarks);
    }
    *n_dets = n;
  }
}

/* ---------------------------------------------------------------- transform */

/* Fills @r from the model's outputs: fp32 tensors, decoded classes and
 * detections (for a @frame_w x @frame_h frame). */
void
gst_aneforge_fill_results (GstAneforgeSession *ses, GstAneforgeResults *r, gint frame_w,
                           gint frame_h, guint64 latency_ns)
{
  for (guint i = 0; i < ses->n_outputs; i++)
    af_fp16_to_f32_n (ses->views[i], gst_aneforge_results_data (r, i), r->tensors[i].n_elements);
  gst_aneforge_decode (ses, frame_w, frame_h, r->classes, &r->n_classes, r->detections,
                       &r->n_detections);
  gst_aneforge_decode_dense (ses, frame_w, frame_h, &r->dense);
  r->latency_ns = latency_ns;
  r->age_frames = r->age_ns = 0;
}

/* The worker thread's function (live mode): the staged image into the port,
 * one run, the results. The streaming thread does not touch the model in
 * live mode; set_caps drains the worker before it goes offline. */
static GstAneforgeResults *
gst_aneforge_worker_run (const guint8 *port, const GstAneforgeJob *job, gpointer data)
{
  GstAneforgeSession *ses = data;
  GstClockTime t0 = gst_util_get_timestamp ();
  memcpy (ses->port_view, port, (gsize) af_shape_numel (ses->port.rank, ses->port.shape));
  if (!gst_aneforge_execute (ses))
    return NULL;
  GstAneforgeResults *r = gst_aneforge_results_acquire (ses->results);
  gst_aneforge_fill_results (ses, r, job->frame_w, job->frame_h,
                             job->pre_ns + (gst_util_get_timestamp () - t0));
  return r;
}

/* The age of results from frame @job shown on the frame @seq, @pts. */
void
gst_aneforge_age (const GstAneforgeJob *job, guint64 seq, GstClockTime pts, guint64 *age_frames,
                  guint64 *age_ns)
{
  *age_frames = seq >= job->seq ? seq - job->seq : 0;
  *age_ns = GST_CLOCK_TIME_IS_VALID (pts) && GST_CLOCK_TIME_IS_VALID (job->pts) && pts > job->pts
                ? pts - job->pts
                : 0;
}

/* Posts the "aneforge" message for @rep and writes its results line, with
 * the fields the element knows (running time, what the model decodes).
 * FALSE: the write failed (posted). */
static gboolean
gst_aneforge_report (GstAneforge *self, GstAneforgeReport *rep)
{
  GstSegment *segment = &GST_BASE_TRANSFORM (self)->segment;
  rep->running_time = gst_segment_to_running_time (segment, GST_FORMAT_TIME, rep->pts);
  rep->classifier = self->ses->cls_index >= 0;
  rep->detector = self->ses->det_index >= 0;
  gst_aneforge_report_post (GST_ELEMENT (self), rep);
  return gst_aneforge_reporter_write (&self->reporter, GST_ELEMENT (self), rep);
}

/* Attaches @r (transfer full) to @buf with its age, posts the bus message
 * and writes the results line. */
gboolean
gst_aneforge_show_results (GstAneforge *self, GstBuffer *buf, GstAneforgeResults *r,
                           guint64 age_frames, guint64 age_ns)
{
  GstAneforgeReport rep = { .pts = GST_BUFFER_PTS (buf),
                            .duration = GST_BUFFER_DURATION (buf),
                            .latency_ns = r->latency_ns,
                            .age_frames = age_frames,
                            .age_ns = age_ns,
                            .classes = r->classes,
                            .n_classes = r->n_classes,
                            .dets = r->detections,
                            .n_dets = r->n_detections,
                            .dense = &r->dense };
  gboolean ok = gst_aneforge_report (self, &rep);
  /* the block is shared by every buffer showing it: the age is the meta's */
  GstAneforgeMeta *meta = gst_aneforge_buffer_add_meta (buf, r);
  if (meta) {
    meta->age_frames = age_frames;
    meta->age_ns = age_ns;
  }
  return ok;
}

/* Live: stage the frame for the worker (when due), never wait for it. */
static gboolean
gst_aneforge_submit (GstAneforge *self, GstBuffer *buf, guint64 seq)
{
  GstAneforgeJob job = { seq,
                         GST_BUFFER_PTS (buf),
                         GST_BUFFER_DURATION (buf),
                         GST_VIDEO_INFO_WIDTH (&self->vinfo),
                         GST_VIDEO_INFO_HEIGHT (&self->vinfo),
                         0,
                         0 };
  GstClockTime t0 = gst_util_get_timestamp ();
  guint8 *stage = gst_aneforge_worker_stage (self->ses->worker, &job);
  if (!gst_aneforge_preprocess_buffer (self, buf, stage, FALSE))
    return FALSE; /* the stage stays free: nothing pending */
  job.pre_ns = gst_util_get_timestamp () - t0;
  gst_aneforge_worker_submit (self->ses->worker, stage, &job);
  return TRUE;
}

/* Offline: infer @buf now and publish the results as the latest. */
static gboolean
gst_aneforge_infer_now (GstAneforge *self, GstBuffer *buf, guint64 seq)
{
  guint64 latency;
  if (!gst_aneforge_infer (self, buf, &latency))
    return FALSE;
  GstAneforgeJob job = { seq,
                         GST_BUFFER_PTS (buf),
                         GST_BUFFER_DURATION (buf),
                         GST_VIDEO_INFO_WIDTH (&self->vinfo),
                         GST_VIDEO_INFO_HEIGHT (&self->vinfo),
                         0,
                         0 };
  GstAneforgeResults *r = gst_aneforge_results_acquire (self->ses->results);
  gst_aneforge_fill_results (self->ses, r, job.frame_w, job.frame_h, latency);
  gst_aneforge_worker_stamp (self->ses->worker, &job);
  gst_aneforge_worker_publish (self->ses->worker, r, &job);
  return TRUE;
}

/* This frame's number since the last reset, and whether it is inferred. */
static gboolean
gst_aneforge_next_frame (GstAneforge *self, guint64 *seq)
{
  GST_OBJECT_LOCK (self);
  guint interval = MAX (self->interval, 1);
  self->n_frames++;
  GST_OBJECT_UNLOCK (self);
  *seq = self->seq++;
  return *seq % interval == 0;
}

static GstFlowReturn
gst_aneforge_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstAneforge *self = GST_ANEFORGE (trans);
  guint64 seq;
  gboolean due = gst_aneforge_next_frame (self, &seq);
  if (g_atomic_int_get (&self->live) > 0) {
    if (gst_aneforge_worker_failed (self->ses->worker))
      return GST_FLOW_ERROR; /* the worker posted the error */
    if (due && !gst_aneforge_submit (self, buf, seq))
      return GST_FLOW_ERROR;
  } else if (due && !gst_aneforge_infer_now (self, buf, seq)) {
    return GST_FLOW_ERROR;
  }
  GstAneforgeJob job;
  GstAneforgeResults *r = gst_aneforge_worker_latest (self->ses->worker, &job);
  if (!r)
    return GST_FLOW_OK; /* live: none yet */
  guint64 age_frames, age_ns;
  gst_aneforge_age (&job, seq, GST_BUFFER_PTS (buf), &age_frames, &age_ns);
  return gst_aneforge_show_results (self, buf, r, age_frames, age_ns) ? GST_FLOW_OK
                                                                      : GST_FLOW_ERROR;
}

/* ---------------------------------------------------------------- model switch */

/* output=tensor: whether downstream takes @ses's tensor caps for the
 * current video caps; @changed when they differ from the serving model's. */
static gboolean
gst_aneforge_tensor_caps_accepted (GstAneforge *self, GstAneforgeSession *ses, gboolean *changed)
{
  *changed = !gst_caps_is_equal (ses->tensor_caps, self->ses->tensor_caps);
  GstCaps *in = *changed ? gst_pad_get_current_caps (GST_BASE_TRANSFORM_SINK_PAD (self)) : NULL;
  if (!in)
    return TRUE; /* same caps, or none yet: negotiation will use the new ones */
  GstCaps *out = gst_aneforge_tensor_caps_for (ses->tensor_caps, in);
  gboolean ok = gst_pad_peer_query_accept_caps (GST_BASE_TRANSFORM_SRC_PAD (self), out);
  GST_DEBUG_OBJECT (self, "downstream %s %" GST_PTR_FORMAT, ok ? "accepts" : "refuses", out);
  gst_caps_unref (in);
  gst_caps_unref (out);
  return ok;
}

/* The new model cannot serve this stream: a warning, the old one stays. */
static void
gst_aneforge_switch_refused (GstAneforge *self, GstAneforgeSession *ses, const gchar *why)
{
  GST_ELEMENT_WARNING (self, STREAM, FORMAT,
                       ("Model reload (%s) refused, the serving model stays: %s: %s", ses->reason,
                        ses->model_path, why),
                       ("serving \"%s\"", self->ses->model_path));
  gst_aneforge_reloader_retire (self->reloader, ses);
}

/* Between frames (streaming thread, before the frame is queued): switches to
 * a reloaded model when one waits (with batching, when no frame is held).
 * Like a caps change it starts a new epoch: the first frame on the new model
 * is due, no result of the old one is shown after it. The old session goes
 * to the reload thread to be freed. Allocates only when switching. */
static void
gst_aneforge_switch (GstAneforge *self, GstBuffer *buf)
{
  if (G_LIKELY (!g_atomic_pointer_get (&self->pending)) ||
      gst_aneforge_batch_holding (&self->batch))
    return;
  GstClockTime t0 = gst_util_get_timestamp ();
  GstAneforgeSession *ses = g_atomic_pointer_exchange (&self->pending, NULL);
  g_autoptr (GError) err = NULL;
  gboolean renegotiate = FALSE;
  if (!ses)
    return;
  if (self->negotiated) {
    if (!gst_aneforge_preprocess_init (&ses->pre, &self->vinfo, self->colorimetry, &ses->port,
                                       &err)) {
      g_autofree gchar *why = g_strdup_printf (
          "it cannot take %s video: %s",
          gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&self->vinfo)), err->message);
      gst_aneforge_switch_refused (self, ses, why);
      return;
    }
    gst_aneforge_preprocess_set_slots (&ses->pre, af_model_n_threads (ses->model));
  }
  if (self->mode == GST_ANEFORGE_OUTPUT_TENSOR &&
      !gst_aneforge_tensor_caps_accepted (self, ses, &renegotiate)) {
    gst_aneforge_switch_refused (self, ses, "downstream does not accept its output tensors");
    return;
  }
  GST_OBJECT_LOCK (self);
  GstAneforgeSession *old = self->ses;
  self->ses = ses;
  self->estimate_ns = ses->estimate_ns;
  GST_OBJECT_UNLOCK (self);
  self->seq = 0;
  gboolean upstream_live = g_atomic_int_get (&self->upstream_live);
  if (g_atomic_int_get (&self->live) >= 0)
    g_atomic_int_set (&self->live, gst_aneforge_resolve_live (self, upstream_live,
                                                              GST_VIDEO_INFO_FPS_N (&self->vinfo),
                                                              GST_VIDEO_INFO_FPS_D (&self->vinfo)));
  if (renegotiate) /* the base class renegotiates before it queues this frame */
    gst_base_transform_reconfigure_src (GST_BASE_TRANSFORM (self));
  GstClockTime now = gst_util_get_timestamp ();
  gst_aneforge_reloader_retire (self->reloader, old);
  gst_aneforge_report_model (GST_ELEMENT (self), ses, ses->reason, now - t0,
                             now - ses->requested_at, GST_BUFFER_PTS (buf));
  if (upstream_live) /* the offline latency is the new model's */
    gst_element_post_message (GST_ELEMENT (self), gst_message_new_latency (GST_OBJECT (self)));
}

/* ---------------------------------------------------------------- batching
 * batch-size > 1: gstaneforgebatch.c holds the frames. */

/* Holds the frame the base class queued (QoS and reconfiguration done by
 * it); a due frame goes into the next slot at once. A full batch is run. */
static GstFlowReturn
gst_aneforge_submit_input_buffer (GstBaseTransform *trans, gboolean is_discont, GstBuffer *input)
{
  GstAneforge *self = GST_ANEFORGE (trans);
  gst_aneforge_switch (self, input);
  GstFlowReturn ret = GST_BASE_TRANSFORM_CLASS (gst_aneforge_parent_class)
                          ->submit_input_buffer (trans, is_discont, input);
  if (self->ses->batch <= 1 || ret != GST_FLOW_OK || !trans->queued_buf)
    return ret;
  GstBuffer *buf = trans->queued_buf;
  trans->queued_buf = NULL;
  guint64 seq;
  gboolean due = gst_aneforge_next_frame (self, &seq);
  return gst_aneforge_batch_hold (self, buf, seq, due);
}

static GstFlowReturn
gst_aneforge_generate_output (GstBaseTransform *trans, GstBuffer **outbuf)
{
  GstAneforge *self = GST_ANEFORGE (trans);
  if (self->ses->batch <= 1)
    return GST_BASE_TRANSFORM_CLASS (gst_aneforge_parent_class)->generate_output (trans, outbuf);
  return gst_aneforge_batch_pop (self, outbuf);
}

static GstFlowReturn
gst_aneforge_prepare_output_buffer (GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer **outbuf)
{
  GstAneforge *self = GST_ANEFORGE (trans);
  if (self->mode == GST_ANEFORGE_OUTPUT_META)
    return GST_BASE_TRANSFORM_CLASS (gst_aneforge_parent_class)
        ->prepare_output_buffer (trans, inbuf, outbuf);
  if (!self->ses || !self->ses->tensor_pool)
    return GST_FLOW_NOT_NEGOTIATED;
  /* pooled buffers of one memory per tensor, NNStreamer's convention */
  GstFlowReturn ret = gst_buffer_pool_acquire_buffer (self->ses->tensor_pool, outbuf, NULL);
  if (ret != GST_FLOW_OK)
    return ret;
  /* timestamps and stream flags only: a copied TAG_MEMORY flag would keep
   * the pool from reusing the buffer */
  gst_buffer_copy_into (*outbuf, inbuf, GST_BUFFER_COPY_TIMESTAMPS, 0, -1);
  GST_BUFFER_FLAGS (*outbuf) |=
      GST_BUFFER_FLAGS (inbuf) &
      (GST_BUFFER_FLAG_DISCONT | GST_BUFFER_FLAG_RESYNC | GST_BUFFER_FLAG_GAP);
  return GST_FLOW_OK;
}

/* output=tensor: every frame gets a tensor buffer; frames between inferred
 * ones (interval) get the model's last outputs again, with their age. */
static GstFlowReturn
gst_aneforge_transform (GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer *outbuf)
{
  GstAneforge *self = GST_ANEFORGE (trans);
  guint64 latency = 0, seq;
  guint n_classes, n_dets;
  if (gst_aneforge_next_frame (self, &seq)) {
    if (!gst_aneforge_infer (self, inbuf, &latency))
      return GST_FLOW_ERROR;
    self->tensor_seq = seq;
    self->tensor_pts = GST_BUFFER_PTS (inbuf);
  }
  for (guint i = 0; i < self->ses->n_outputs; i++) {
    GstMapInfo map;
    gsize n = (gsize) af_shape_numel (self->ses->outputs[i].rank, self->ses->outputs[i].shape);
    if (!gst_buffer_map_range (outbuf, i, 1, &map, GST_MAP_WRITE))
      goto map_failed;
    af_fp16_to_f32_n (self->ses->views[i], (gfloat *) map.data, n);
    gst_buffer_unmap (outbuf, &map);
  }
  gst_aneforge_decode (self->ses, GST_VIDEO_INFO_WIDTH (&self->vinfo),
                       GST_VIDEO_INFO_HEIGHT (&self->vinfo), self->ses->scratch_classes, &n_classes,
                       self->ses->scratch_detections, &n_dets);
  gst_aneforge_decode_dense (self->ses, GST_VIDEO_INFO_WIDTH (&self->vinfo),
                             GST_VIDEO_INFO_HEIGHT (&self->vinfo), &self->ses->scratch_dense);
  GstAneforgeJob job = { self->tensor_seq, self->tensor_pts, 0, 0, 0, 0, 0 };
  GstAneforgeReport rep = { .pts = GST_BUFFER_PTS (inbuf),
                            .duration = GST_BUFFER_DURATION (inbuf),
                            .latency_ns = latency,
                            .classes = self->ses->scratch_classes,
                            .n_classes = n_classes,
                            .dets = self->ses->scratch_detections,
                            .n_dets = n_dets,
                            .dense = &self->ses->scratch_dense };
  gst_aneforge_age (&job, seq, GST_BUFFER_PTS (inbuf), &rep.age_frames, &rep.age_ns);
  return gst_aneforge_report (self, &rep) ? GST_FLOW_OK : GST_FLOW_ERROR;

  /* ERRORS */
map_failed:
  GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("Could not map the output buffer"), (NULL));
  return GST_FLOW_ERROR;
}

/* ---------------------------------------------------------------- events, queries */

/* Live EOS: the frames already handed over are inferred; results that no
 * buffer showed are posted (and written) on their own, with the inferred
 * frame's pts and age 0. */
static void
gst_aneforge_finish_live (GstAneforge *self)
{
  GstAneforgeJob job;
  gst_aneforge_worker_drain (self->ses->worker, TRUE);
  GstAneforgeResults *r = gst_aneforge_worker_take_unshown (self->ses->worker, &job);
  if (!r)
    return;
  GstAneforgeReport rep = { .pts = job.pts,
                            .duration = job.duration,
                            .latency_ns = r->latency_ns,
                            .classes = r->classes,
                            .n_classes = r->n_classes,
                            .dets = r->detections,
                            .n_dets = r->n_detections,
                            .dense = &r->dense };
  gst_aneforge_report (self, &rep); /* a failed write is posted; EOS goes on */
  gst_aneforge_results_unref (r);
}

/* Drops the pending frame and the latest results (flush-start may come
 * from any thread: the worker pointer is read under the object lock). */
static void
gst_aneforge_reset (GstAneforge *self)
{
  GST_OBJECT_LOCK (self);
  if (self->ses && self->ses->worker)
    gst_aneforge_worker_reset (self->ses->worker);
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_aneforge_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstAneforge *self = GST_ANEFORGE (trans);
  switch (GST_EVENT_TYPE (event)) {
  case GST_EVENT_FLUSH_START:
    gst_aneforge_reset (self);
    break;
  case GST_EVENT_FLUSH_STOP:
    /* serialized: a frame staged while flush-start went by is dropped too */
    gst_aneforge_reset (self);
    gst_aneforge_batch_clear (&self->batch);
    self->seq = 0;
    break;
  case GST_EVENT_EOS:
    gst_aneforge_batch_drain (self);
    if (self->ses && self->ses->worker && g_atomic_int_get (&self->live) > 0)
      gst_aneforge_finish_live (self);
    break;
  default:
    /* batching: held frames leave before any serialized event (caps: with
     * the old caps and preprocessing; segment, gap, tags keep their place) */
    if (GST_EVENT_IS_SERIALIZED (event))
      gst_aneforge_batch_drain (self);
    break;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_aneforge_parent_class)->sink_event (trans, event);
}

/* Batching holds a due frame until batch due frames are in: (batch *
 * interval - 1) frame durations (of the caps' framerate; 0 without one). */
static guint64
gst_aneforge_batch_latency (GstAneforge *self)
{
  GST_OBJECT_LOCK (self);
  guint interval = MAX (self->interval, 1);
  guint batch = self->ses ? self->ses->batch : 1;
  GST_OBJECT_UNLOCK (self);
  gint fps_n = GST_VIDEO_INFO_FPS_N (&self->vinfo), fps_d = GST_VIDEO_INFO_FPS_D (&self->vinfo);
  if (batch <= 1 || fps_n <= 0 || fps_d <= 0)
    return 0;
  return gst_util_uint64_scale ((guint64) batch * interval - 1, GST_SECOND * fps_d, fps_n);
}

/* LATENCY: live mode adds none (buffers pass at once); offline adds the
 * model's worst latency measured so far (at least the run timed at start). */
static gboolean
gst_aneforge_query (GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
  GstAneforge *self = GST_ANEFORGE (trans);
  if (direction == GST_PAD_SINK && GST_QUERY_TYPE (query) == GST_QUERY_DRAIN)
    gst_aneforge_batch_drain (self);
  if (!GST_BASE_TRANSFORM_CLASS (gst_aneforge_parent_class)->query (trans, direction, query))
    return FALSE;
  if (direction != GST_PAD_SRC || GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return TRUE;
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency (query, &live, &min, &max);
  gint resolved = g_atomic_int_get (&self->live);
  if (resolved < 0) /* no caps yet: live only when forced (set_caps re-posts LATENCY) */
    resolved = gst_aneforge_resolve_live (self, gst_aneforge_live_answer (live, min), 0, 0);
  if (resolved)
    return TRUE;
  guint64 ours = gst_aneforge_worst_latency (self) + gst_aneforge_batch_latency (self);
  min += ours;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max += ours;
  GST_DEBUG_OBJECT (self, "offline: adding %" GST_TIME_FORMAT, GST_TIME_ARGS (ours));
  gst_query_set_latency (query, live, min, max);
  return TRUE;
}

/* ---------------------------------------------------------------- class */

static void
gst_aneforge_finalize (GObject *object)
{
  GstAneforge *self = GST_ANEFORGE (object);
  gst_aneforge_close (self);
  g_free (self->model_path);
  g_free (self->labels_path);
  g_free (self->results_path);
  g_free (self->import);
  G_OBJECT_CLASS (gst_aneforge_parent_class)->finalize (object);
}

static void
gst_aneforge_class_init (GstAneforgeClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;
  /* a reload while started */
  GParamFlags reload = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;

  GST_DEBUG_CATEGORY_INIT (gst_aneforge_debug, "aneforge", 0, "aneforge inference element");

  gobject_class->set_property = gst_aneforge_set_property;
  gobject_class->get_property = gst_aneforge_get_property;
  gobject_class->finalize = gst_aneforge_finalize;
  gobject_class->dispatch_properties_changed = gst_aneforge_dispatch_properties_changed;

  g_object_class_install_property (
      gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
                           "Path to the model: an ONNX (.onnx) or TensorFlow Lite (.tflite) "
                           "file, imported with the \"import\" options, or an aneforge JSON "
                           "graph (.json, its weights file beside it); loaded and compiled when "
                           "the element starts, and again on a background thread when set "
                           "while it runs (the serving model keeps running until the new one "
                           "takes over between two frames; one that fails to load is a warning "
                           "and changes nothing)",
                           DEFAULT_MODEL, reload));
  g_object_class_install_property (
      gobject_class, PROP_IMPORT,
      g_param_spec_string ("import", "Import options",
                           "How an .onnx / .tflite model is imported, as `aneforge import` "
                           "spells it: --rgb | --bgr | --gray, --scale S[,S,S], --bias "
                           "B[,B,B], --mean M,M,M --std S,S,S, --classify, --softmax, --labels "
                           "FILE, --top N, --decode ssd|ssd-decoded|yunet|blazeface, "
                           "--score-threshold T, --iou-threshold T (e.g. \"--bgr --decode "
                           "ssd\"). Without a pixel option the first input takes RGB 0..255. "
                           "Set while running: a reload",
                           DEFAULT_IMPORT, reload));
  g_object_class_install_property (
      gobject_class, PROP_WATCH_MODEL,
      g_param_spec_boolean ("watch-model", "Watch model",
                            "Reload the model when its file changes on disk (after it has been "
                            "quiet for 300 ms), as a reload by property does",
                            DEFAULT_WATCH_MODEL,
                            G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_BACKEND,
      g_param_spec_enum ("backend", "Backend",
                         "Where the model runs: auto picks the best available; ane fails on "
                         "platforms without an Apple Neural Engine",
                         GST_TYPE_ANEFORGE_BACKEND, DEFAULT_BACKEND, flags));
  g_object_class_install_property (
      gobject_class, PROP_OUTPUT,
      g_param_spec_enum ("output", "Output",
                         "meta: pass the video through and attach a GstAneforgeMeta; tensor: "
                         "emit the output tensors as other/tensors (float32)",
                         GST_TYPE_ANEFORGE_OUTPUT, DEFAULT_OUTPUT, flags));
  g_object_class_install_property (
      gobject_class, PROP_THREADS,
      g_param_spec_uint ("threads", "Threads",
                         "Worker threads of the CPU backend (0 = one per core)", 0, MAX_THREADS,
                         DEFAULT_THREADS, flags));
  g_object_class_install_property (
      gobject_class, PROP_LABELS,
      g_param_spec_string ("labels", "Labels",
                           "Path to a labels file (one label per line, or \"index,name\" "
                           "lines); overrides the model's labels and makes output 0 a "
                           "classification when the model declares none",
                           DEFAULT_LABELS, reload));
  g_object_class_install_property (
      gobject_class, PROP_TOP_K,
      g_param_spec_uint ("top-k", "Top k",
                         "Number of best classes reported per frame (when unset, the model's "
                         "decode decides, else 5)",
                         1, MAX_TOP_K, DEFAULT_TOP_K, reload));
  g_object_class_install_property (
      gobject_class, PROP_RESULTS,
      g_param_spec_string ("results", "Results file",
                           "Path of a JSON-lines file that receives one line per frame: "
                           "{\"frame\", \"pts\", \"latency_ms\", \"classes\": [{\"index\", "
                           "\"label\", \"score\"}], \"detections\": [{\"box\": [x1, y1, x2, y2], "
                           "\"score\", \"label\", \"landmarks\": [[x, y], ...]}]} (frame pixels); "
                           "written while the element runs, closed when it stops",
                           DEFAULT_RESULTS, flags));
  g_object_class_install_property (
      gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
                         "live: the video flows at its own rate, an inference thread runs on "
                         "the newest frame and every buffer carries the latest results with "
                         "their age (output=meta only); offline: every frame is inferred in "
                         "the streaming thread; auto: live when upstream is live (LATENCY "
                         "query) and the model is slower than one frame interval",
                         GST_TYPE_ANEFORGE_MODE, DEFAULT_MODE, flags));
  g_object_class_install_property (
      gobject_class, PROP_INTERVAL,
      g_param_spec_uint ("interval", "Interval",
                         "Infer every interval-th frame (counted from the start, a flush or "
                         "a caps change); the frames between carry the latest results with "
                         "their age",
                         1, MAX_INTERVAL, DEFAULT_INTERVAL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (
      gobject_class, PROP_WINOGRAD,
      g_param_spec_boolean ("winograd", "Winograd",
                            "CPU backend: run stride-1 3x3 convolutions with 32 or more channels "
                            "as Winograd F(2x2, 3x3): about 25 % faster on resnet-like models, "
                            "outputs within a few fp16 ulps of the direct convolution instead "
                            "of identical (read when the model is compiled)",
                            DEFAULT_WINOGRAD, flags));
  g_object_class_install_property (
      gobject_class, PROP_ANE_CHECK_INTERVAL,
      g_param_spec_int ("ane-check-interval", "ANE check interval",
                        "Backends other than the CPU: also run frames on the CPU backend and "
                        "compare (max |difference| over the output's max magnitude, bound "
                        "8 x ops x 2^-11); on a mismatch post a warning and run on the CPU. "
                        "0: the first frame only, N: the first and every N-th, -1: never "
                        "(read when the model is compiled)",
                        -1, G_MAXINT, DEFAULT_ANE_CHECK_INTERVAL, flags));
  g_object_class_install_property (
      gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint ("batch-size", "Batch size",
                         "Frames per model run (offline mode, output=meta): frames are held "
                         "until batch-size are in, one run infers them, each leaves in order "
                         "with its own results; a partial batch is run at EOS, before "
                         "serialized events (caps, segment) and on a DRAIN query; mode=live "
                         "and output=tensor refuse more than 1",
                         1, MAX_BATCH_SIZE, DEFAULT_BATCH_SIZE, flags));
  g_object_class_install_property (
      gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
                          "aneforge-stats: mode (\"live\", \"offline\", \"undecided\"), "
                          "frames, submitted, skipped, inferred, stale (guint64), pending, "
                          "max-pending (guint), busy, worker-running (gboolean), "
                          "worst-latency-ns, estimate-latency-ns (guint64)",
                          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "aneforge inference",
                                         "Filter/Analyzer/Video",
                                         "Runs a neural network on video frames with Apple "
                                         "Neural Engine numerics",
                                         "aneforge developers");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_aneforge_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_aneforge_stop);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR (gst_aneforge_transform_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_aneforge_set_caps);
  trans_class->prepare_output_buffer = GST_DEBUG_FUNCPTR (gst_aneforge_prepare_output_buffer);
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_aneforge_transform);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_aneforge_transform_ip);
  trans_class->submit_input_buffer = GST_DEBUG_FUNCPTR (gst_aneforge_submit_input_buffer);
  trans_class->generate_output = GST_DEBUG_FUNCPTR (gst_aneforge_generate_output);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_aneforge_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_aneforge_query);
  trans_class->passthrough_on_same_caps = FALSE;

  gst_type_mark_as_plugin_api (GST_TYPE_ANEFORGE_BACKEND, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_ANEFORGE_OUTPUT, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_ANEFORGE_MODE, 0);
}

static void
gst_aneforge_init (GstAneforge *self)
{
  self->backend = DEFAULT_BACKEND;
  self->output = DEFAULT_OUTPUT;
  self->threads = DEFAULT_THREADS;
  self->top_k = DEFAULT_TOP_K;
  self->run_mode = DEFAULT_MODE;
  self->interval = DEFAULT_INTERVAL;
  self->batch_size = DEFAULT_BATCH_SIZE;
  self->winograd = DEFAULT_WINOGRAD;
  self->ane_check_interval = DEFAULT_ANE_CHECK_INTERVAL;
  self->live = -1;
  gst_video_info_init (&self->vinfo);
}
