/* aneforge — the command line.
 *
 *   aneforge inspect MODEL.json [--threads N]     the compiled plan
 *   aneforge run MODEL.json [--image FILE | --raw FILE... | --fill V] [--threads N] [--top N]
 *                [--save-outputs OUT.safetensors]
 *       (MODEL may be .json, .onnx or .tflite, a .onnx / .tflite imported with
 *       import's options; --raw FILE, repeated, fills
 *       input 0, 1, ... with the file's bytes: fp16 little-endian, or uint8
 *       for an image port; --save-outputs writes every output as an F16
 *       tensor named after it, shape included, instead of printing values)
 *   aneforge bench MODEL.json [--runs N] [--warmup N] [--threads N] [--layers]
 *                  (--layers: AF_PROFILE's per-step table, % of the FMA peak included)
 *   run and bench also take --backend auto|cpu|ane, --check-every N (the self-check
 *       on an accelerator: 0 first frame, N every N-th, -1 never) and --seed S (every
 *       input filled with pseudo-random values from seed S: pixels 0..255, fp16 in
 *       [-1, 1); tools/mac-verify.sh feeds both backends the same input)
 *   aneforge import MODEL.onnx -o OUT.json [--rgb | --bgr | --gray] [--scale S[,S,S]]
 *                   [--bias B[,B,B]] [--mean M,M,M --std S,S,S] [--classify] [--softmax]
 *                   [--labels FILE] [--top N]
 *                   [--decode ssd|ssd-decoded|yunet|blazeface [--score-threshold T]
 * [--iou-threshold T]] aneforge list-ops
 *                   (--decode also: yolov8, yolov5, grid, segmentation,
 *                   keypoints:hand|pose|movenet; docs/decoders.md)
 *   import, run and inspect of an .onnx MODEL take --input-shape NAME=1x3x640x640
 *       (repeatable): graph input NAME's symbolic dims fixed
 *   aneforge export --ane DIR MODEL [--dialect ios18|ios16]   MIL programs + plan.json
 *   aneforge export --coreml OUT.mlpackage MODEL [--dialect ios18|ios16]
 *       the Core ML package (a segmented graph: OUT a directory of
 *       region-K.mlpackage + plan.json)
 *   aneforge inspect --backend ane MODEL                       the ANE segments and cuts
 *   aneforge estimate MODEL [--target T | --all]   per-chip latency estimate (cli-estimate.c)
 */
#include "aneforge.h"

#ifdef AF_HAVE_GDK_PIXBUF
#include <gdk-pixbuf/gdk-pixbuf.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int af_cli_estimate (int argc, char **argv);  /* cli-estimate.c */
char *af_cli_estimate_summary (AfGraph *g);   /* transfer full */
int af_cli_precision (int argc, char **argv); /* tools/cli-precision.c */

#define AF_CLI_MAX_RAW 16 /* --raw files: inputs 0 .. 15 */

typedef struct {
  /* import (and run, bench, inspect of a .onnx / .tflite) */
  const char *out;
  AfImportArgs *import;
  /* run, bench */
  int threads;
  const char *image, *raw[AF_CLI_MAX_RAW], *save;
  int n_raw;
  double fill;
  gboolean have_fill;
  int top, runs, warmup, batch;
  gboolean winograd, layers;
  AfBackendKind backend;
  int check_every;
  gboolean have_seed;
  guint32 seed;
} Options;

static int
fail (GError *error)
{
  fprintf (stderr, "aneforge: %s\n", error->message);
  g_error_free (error);
  return 1;
}

static AfModel *
load_and_compile (const char *path, const Options *o, GError **error)
{
  AfGraph *g = af_import_args_open (o->import, path, FALSE, error);
  if (!g)
    return NULL;
  AfCompileOptions co = AF_COMPILE_OPTIONS_INIT;
  co.threads = o->threads;
  co.batch = o->batch;
  co.winograd = o->winograd;
  co.backend = o->backend;
  co.check_every = o->check_every;
  AfModel *m = af_compile (g, &co, error);
  af_graph_free (g);
  return m;
}

static int
cmd_list_ops (void)
{
  for (guint i = 0; i < af_op_count (); i++) {
    AfOpDescription d;
    af_op_describe (i, &d);
    printf ("%s (%s, %s)\n", d.name, d.bridge ? "BRIDGE" : "FUSED", d.family);
  }
  return 0;
}

static int
cmd_inspect (const char *path, const Options *o)
{
  GError *error = NULL;
  AfModel *m = load_and_compile (path, o, &error);
  if (!m)
    return fail (error);
  g_autofree char *report = af_model_describe (m);
  fputs (report, stdout);
  af_model_free (m);
  return 0;
}

/* @n pseudo-random values from @seed (xorshift32, the same on every
 * machine): uint8 pixels 0..255, or fp16 in [-1, 1). */
static void
fill_random (void *view, AfDType dt, gint64 n, guint32 seed)
{
  guint32 x = seed * 2654435761u + 1;
  for (gint64 k = 0; k < n; k++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    if (dt == AF_DTYPE_U8)
      ((guint8 *) view)[k] = (guint8) (x >> 24);
    else
      ((guint16 *) view)[k] = af_f32_to_fp16 ((float) (x >> 8) / (1 << 23) - 1.0f);
  }
}

/* Fills an image port (uint8 NCHW) from a picture file, resized bilinearly. */
static gboolean
fill_from_image (const AfTensorInfo *info, guint8 *px, const char *file, GError **error)
{
#ifdef AF_HAVE_GDK_PIXBUF
  gint64 c = info->shape[1], h = info->shape[2], w = info->shape[3];
  GdkPixbuf *src = gdk_pixbuf_new_from_file (file, error);
  if (!src)
    return FALSE;
  GdkPixbuf *pb = gdk_pixbuf_scale_simple (src, (int) w, (int) h, GDK_INTERP_BILINEAR);
  g_object_unref (src);
  const guint8 *data = gdk_pixbuf_read_pixels (pb);
  int stride = gdk_pixbuf_get_rowstride (pb), nch = gdk_pixbuf_get_n_channels (pb);
  for (gint64 y = 0; y < h; y++)
    for (gint64 x = 0; x < w; x++) {
      const guint8 *p = data + y * stride + x * nch;
      if (c == 1) {
        px[y * w + x] = (guint8) ((77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
        continue;
      }
      for (gint64 ch = 0; ch < 3; ch++) {
        gint64 from = info->order == AF_PIXEL_BGR ? 2 - ch : ch;
        px[(ch * h + y) * w + x] = p[from];
      }
    }
  g_object_unref (pb);
  return TRUE;
#else
  g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED,
               "this build has no image decoder (gdk-pixbuf); use --raw or --fill");
  return FALSE;
#endif
}

static gboolean
fill_inputs (AfModel *m, const Options *o, GError **error)
{
  if (o->n_raw > (int) af_model_n_inputs (m)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "%d --raw files for %u input(s)", o->n_raw,
                 af_model_n_inputs (m));
    return FALSE;
  }
  for (guint i = 0; i < af_model_n_inputs (m); i++) {
    AfTensorInfo info;
    af_model_input_info (m, i, &info);
    gint64 n = af_shape_numel (info.rank, info.shape);
    AfDType dt;
    void *view = af_model_input_view (m, i, &dt);
    gsize bytes = n * (dt == AF_DTYPE_U8 ? 1 : 2);
    if (o->image && info.is_image && i == 0) {
      if (!fill_from_image (&info, view, o->image, error))
        return FALSE;
    } else if ((int) i < o->n_raw) {
      g_autofree char *data = NULL;
      gsize len;
      if (!g_file_get_contents (o->raw[i], &data, &len, error))
        return FALSE;
      if (len != bytes) {
        g_set_error (error, AF_ERROR, AF_ERROR_SHAPE,
                     "%s: %" G_GSIZE_FORMAT " bytes, input \"%s\" takes %" G_GSIZE_FORMAT " (%s)",
                     o->raw[i], len, info.name, bytes, dt == AF_DTYPE_U8 ? "uint8" : "fp16");
        return FALSE;
      }
      memcpy (view, data, bytes);
    } else if (o->have_seed) {
      fill_random (view, dt, n, o->seed + i);
    } else {
      double v = o->have_fill ? o->fill : 0;
      for (gint64 k = 0; k < n; k++) {
        if (dt == AF_DTYPE_U8)
          ((guint8 *) view)[k] = (guint8) CLAMP (v, 0, 255);
        else
          ((guint16 *) view)[k] = af_f32_to_fp16 ((float) v);
      }
    }
  }
  return TRUE;
}

/* TRUE if a decode of the model reads output @name (so its raw values are
 * not worth printing). */
static gboolean
read_by_decode (AfModel *m, const char *name)
{
  for (guint i = 0; i < af_model_n_outputs (m); i++) {
    AfTensorInfo info;
    af_model_output_info (m, i, &info);
    const AfDecodeSpec *d = info.decode;
    if (!d)
      continue;
    if (g_strcmp0 (d->scores, name) == 0 || g_strcmp0 (d->boxes, name) == 0)
      return TRUE;
    for (guint l = 0; l < d->n_strides; l++)
      if (g_strcmp0 (d->cls[l], name) == 0 || g_strcmp0 (d->obj[l], name) == 0 ||
          g_strcmp0 (d->bbox[l], name) == 0 || g_strcmp0 (d->kps[l], name) == 0)
        return TRUE;
  }
  return FALSE;
}

/* The decoder of output @i: the model's decode (with --top overriding a
 * classification's top_k), or with --top a classification of a plain
 * output. NULL with @error unset if output @i is not decoded. */
static AfDecoder *
make_decoder (AfModel *m, const char *path, guint i, const Options *o, GError **error)
{
  AfTensorInfo info;
  af_model_output_info (m, i, &info);
  if (info.decode && (o->top <= 0 || info.decode->type != AF_DECODE_TYPE_CLASSIFICATION))
    return af_model_new_decoder (m, i, error);
  if (!info.decode && (o->top <= 0 || read_by_decode (m, info.name)))
    return NULL;
  AfDecodeSpec spec;
  if (info.decode) {
    af_decode_spec_copy (&spec, info.decode);
  } else {
    af_decode_spec_init (&spec, AF_DECODE_TYPE_CLASSIFICATION);
    spec.scores = g_strdup (info.name);
  }
  spec.top_k = o->top;
  guint n = af_model_n_outputs (m);
  g_autofree AfTensorInfo *infos = g_new0 (AfTensorInfo, n);
  for (guint k = 0; k < n; k++)
    af_model_output_info (m, k, &infos[k]);
  g_autofree char *dir = g_path_get_dirname (path);
  AfDecoder *dec = af_decoder_new (&spec, dir, n, infos, error);
  if (!dec)
    g_prefix_error (error, "%s: outputs[%u] \"%s\": ", path, i, info.name);
  af_decode_spec_clear (&spec);
  return dec;
}

/* A mask: its size and the share of each class present. */
static void
print_mask (const AfDecodeResult *res)
{
  gsize n = (gsize) res->mask_w * res->mask_h, count[256] = { 0 };
  for (gsize i = 0; i < n; i++)
    count[res->mask[i]]++;
  printf ("  mask %dx%d, %u classes\n", res->mask_w, res->mask_h, res->n_mask_classes);
  for (guint c = 0; c < 256; c++)
    if (count[c] > 0)
      printf ("  class %3u %6.2f%%\n", c, 100.0 * count[c] / n);
}

static void
print_result (const AfDecodeResult *res)
{
  if (res->type == AF_DECODE_TYPE_SEGMENTATION) {
    print_mask (res);
    return;
  }
  if (res->type == AF_DECODE_TYPE_KEYPOINTS) {
    printf ("  %u keypoint(s) in %s pixels, %u skeleton edge(s)\n", res->n,
            res->in_frame ? "image" : "input", res->n_edges);
    for (guint k = 0; k < res->n; k++)
      printf ("  %u. (%.1f, %.1f) score %.4f%s\n", k, res->keypoints[k].x, res->keypoints[k].y,
              res->keypoints[k].score, res->keypoints[k].visible ? "" : " hidden");
    return;
  }
  if (res->type == AF_DECODE_TYPE_CLASSIFICATION) {
    for (guint k = 0; k < res->n; k++)
      printf ("  %u. %4u %-20s %.6f\n", k + 1, res->classes[k].index,
              res->classes[k].label ? res->classes[k].label : "", res->classes[k].score);
    return;
  }
  printf ("  %u detection(s) in %s pixels\n", res->n, res->in_frame ? "image" : "input");
  for (guint k = 0; k < res->n; k++) {
    const AfDetection *d = &res->detections[k];
    printf ("  %u. [%.1f, %.1f, %.1f, %.1f] score %.4f class %d%s%s", k + 1, d->x1, d->y1, d->x2,
            d->y2, d->score, d->label, d->label_name ? " " : "",
            d->label_name ? d->label_name : "");
    if (d->n_landmarks > 0) {
      printf (" landmarks");
      for (int l = 0; l < d->n_landmarks; l++)
        printf (" (%.1f, %.1f)", d->landmarks[2 * l], d->landmarks[2 * l + 1]);
    }
    printf ("\n");
  }
}

/* The picture's size when --image is used, to map detections into it. */
static gboolean
image_size (const Options *o, int *w, int *h)
{
#ifdef AF_HAVE_GDK_PIXBUF
  return o->image && gdk_pixbuf_get_file_info (o->image, w, h) != NULL;
#else
  (void) o, (void) w, (void) h;
  return FALSE;
#endif
}

static gboolean
print_output (AfModel *m, const char *path, guint i, const Options *o, GError **error)
{
  AfTensorInfo info;
  af_model_output_info (m, i, &info);
  gint64 n = af_shape_numel (info.rank, info.shape);
  printf ("%s [", info.name);
  for (int d = 0; d < info.rank; d++)
    printf ("%s%" G_GINT64_FORMAT, d ? ", " : "", info.shape[d]);
  printf ("]%s%s\n", info.decode ? " decode " : "",
          info.decode ? af_decode_type_name (info.decode->type) : "");
  AfDecoder *dec = make_decoder (m, path, i, o, error);
  if (dec) {
    guint n_out = af_model_n_outputs (m);
    g_autofree const guint16 **views = g_new (const guint16 *, n_out);
    for (guint k = 0; k < n_out; k++)
      views[k] = af_model_output_view (m, k);
    AfDecodeResult *res = af_decode_result_new (dec);
    af_decoder_run (dec, views, res);
    int w, h;
    if (res->type != AF_DECODE_TYPE_CLASSIFICATION && image_size (o, &w, &h)) {
      const AfDecodeSpec *spec = af_decoder_spec (dec);
      AfFrameMap map;
      af_frame_map_stretch (&map, w, h, spec->input_w, spec->input_h);
      af_decode_map_to_frame (res, &map);
    }
    print_result (res);
    af_decode_result_free (res);
    af_decoder_free (dec);
    return TRUE;
  }
  if (error && *error)
    return FALSE;
  if (read_by_decode (m, info.name) || o->save)
    return TRUE;
  g_autofree float *v = g_new (float, n);
  af_fp16_to_f32_n (af_model_output_view (m, i), v, n);
  for (gint64 j = 0; j < n; j++)
    printf ("%s%g", j ? (j % 8 ? " " : "\n") : "  ", v[j]);
  printf ("\n");
  return TRUE;
}

/* @s as a JSON string literal appended to @out. */
static void
append_json_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) s; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_printf (out, "\\%c", *p);
    else if (*p < 0x20)
      g_string_append_printf (out, "\\u%04x", *p);
    else
      g_string_append_c (out, (char) *p);
  }
  g_string_append_c (out, '"');
}

/* --save-outputs: every output of @m as an F16 tensor named after it, in
 * the safetensors layout (8-byte header length, JSON header padded with
 * spaces to 8 bytes, the tensors back to back in output order). */
static gboolean
save_outputs (AfModel *m, const char *file, GError **error)
{
  GString *head = g_string_new ("{");
  guint n = af_model_n_outputs (m);
  gsize at = 0;
  for (guint i = 0; i < n; i++) {
    AfTensorInfo info;
    af_model_output_info (m, i, &info);
    gsize bytes = 2 * (gsize) af_shape_numel (info.rank, info.shape);
    g_string_append (head, i ? "," : "");
    append_json_string (head, info.name);
    g_string_append (head, ":{\"dtype\":\"F16\",\"shape\":[");
    for (int d = 0; d < info.rank; d++)
      g_string_append_printf (head, "%s%" G_GINT64_FORMAT, d ? "," : "", info.shape[d]);
    g_string_append_printf (head, "],\"data_offsets\":[%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT "]}",
                            at, at + bytes);
    at += bytes;
  }
  g_string_append_c (head, '}');
  while (head->len % 8)
    g_string_append_c (head, ' ');
  GByteArray *file_bytes = g_byte_array_sized_new (8 + head->len + at);
  guint64 len = GUINT64_TO_LE ((guint64) head->len);
  g_byte_array_append (file_bytes, (const guint8 *) &len, 8);
  g_byte_array_append (file_bytes, (const guint8 *) head->str, head->len);
  for (guint i = 0; i < n; i++) {
    AfTensorInfo info;
    af_model_output_info (m, i, &info);
    gint64 numel = af_shape_numel (info.rank, info.shape);
    const guint16 *v = af_model_output_view (m, i);
    for (gint64 k = 0; k < numel; k++) {
      guint16 le = GUINT16_TO_LE (v[k]);
      g_byte_array_append (file_bytes, (const guint8 *) &le, 2);
    }
  }
  gboolean ok = g_file_set_contents (file, (const char *) file_bytes->data, file_bytes->len, error);
  g_byte_array_unref (file_bytes);
  g_string_free (head, TRUE);
  return ok;
}

static int
cmd_run (const char *path, const Options *o)
{
  GError *error = NULL;
  AfModel *m = load_and_compile (path, o, &error);
  if (!m)
    return fail (error);
  gboolean ok = fill_inputs (m, o, &error) && af_model_execute (m, &error);
  for (guint i = 0; ok && i < af_model_n_outputs (m); i++)
    ok = print_output (m, path, i, o, &error);
  if (ok && o->save)
    ok = save_outputs (m, o->save, &error);
  af_model_free (m);
  return ok ? 0 : fail (error);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static int
cmd_bench (const char *path, const Options *o)
{
  GError *error = NULL;
  if (o->layers) /* the CPU backend reads it at compile and prints when the model is freed */
    g_setenv ("AF_PROFILE", "1", TRUE);
  gint64 t0 = g_get_monotonic_time ();
  AfModel *m = load_and_compile (path, o, &error);
  if (!m)
    return fail (error);
  double compile_ms = (g_get_monotonic_time () - t0) / 1000.0;
  if (!fill_inputs (m, o, &error)) {
    af_model_free (m);
    return fail (error);
  }
  for (int i = 0; i < o->warmup; i++)
    af_model_execute (m, NULL);
  double *ms = g_new (double, o->runs);
  for (int i = 0; i < o->runs; i++) {
    gint64 a = g_get_monotonic_time ();
    af_model_execute (m, NULL);
    ms[i] = (g_get_monotonic_time () - a) / 1000.0;
  }
  qsort (ms, o->runs, sizeof *ms, cmp_double);
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  printf ("{\"model\": \"%s\", \"threads\": %d, \"batch\": %d, \"winograd\": %s, \"runs\": %d, "
          "\"median_ms\": %.3f, \"min_ms\": %.3f, \"compile_ms\": %.1f, \"peak_rss_kb\": %ld, "
          "\"ops\": %u, \"segments\": %u, \"backend\": \"%s\"}\n",
          path, o->threads, MAX (o->batch, 1), o->winograd ? "true" : "false", o->runs,
          ms[o->runs / 2], ms[0], compile_ms, ru.ru_maxrss, af_model_n_ops (m),
          af_model_n_segments (m), af_model_backend_name (m));
  g_free (ms);
  af_model_free (m);
  return 0;
}

/* "auto" / "cpu" / "ane" -> @out; FALSE on anything else */
static gboolean
parse_backend (const char *v, AfBackendKind *out)
{
  static const char *const names[] = { "auto", "cpu", "ane" };
  static const AfBackendKind kinds[] = { AF_BACKEND_AUTO, AF_BACKEND_CPU, AF_BACKEND_ANE };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (strcmp (v, names[i]) == 0) {
      *out = kinds[i];
      return TRUE;
    }
  return FALSE;
}

static int
cmd_import (const char *path, Options *o)
{
  GError *error = NULL;
  if (!o->out) {
    fprintf (stderr, "aneforge: import needs -o OUT.json\n");
    return 2;
  }
  AfImportOptions io;
  af_import_args_options (o->import, &io);
  AfGraph *g = af_graph_open (path, &io, &error);
  if (!g)
    return fail (error);
  if (!af_import_args_apply (o->import, g, o->out, &error)) {
    af_graph_free (g);
    return fail (error);
  }
  gboolean ok = af_graph_save (g, o->out, &error);
  af_graph_free (g);
  if (!ok)
    return fail (error);
  printf ("wrote %s\n", o->out);
  return 0;
}

/* TRUE for the options followed by a value. */
static gboolean
takes_value (const char *a)
{
  static const char *const with_value[] = {
    "--threads", "--backend", "--check-every", "--seed", "--image",  "--raw",
    "--fill",    "-o",        "--batch",       "--runs", "--warmup", "--save-outputs",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (with_value); i++)
    if (strcmp (a, with_value[i]) == 0)
      return TRUE;
  return FALSE;
}

/* export --ane DIR MODEL [--dialect D], export --coreml OUT MODEL
 * [--dialect D] and inspect --backend ane MODEL: the ANE partition, its MIL
 * programs and its Core ML packages (aneforge.h's ANE export). */
static int
cmd_ane (int argc, char **argv)
{
  const char *dir = NULL, *coreml = NULL, *model = NULL, *dialect = "ios18", *backend = NULL;
  gboolean export = strcmp (argv[1], "export") == 0;
  for (int i = 2; i < argc; i++) {
    const char **slot = strcmp (argv[i], "--ane") == 0       ? &dir
                        : strcmp (argv[i], "--coreml") == 0  ? &coreml
                        : strcmp (argv[i], "--dialect") == 0 ? &dialect
                        : strcmp (argv[i], "--backend") == 0 ? &backend
                                                             : NULL;
    if (slot && i + 1 < argc)
      *slot = argv[++i];
    else if (!slot && !model && argv[i][0] != '-')
      model = argv[i];
    else {
      fprintf (stderr, "aneforge: unexpected argument %s\n", argv[i]);
      return 2;
    }
  }
  if (!model || (export ? !dir == !coreml : g_strcmp0 (backend, "ane") != 0) ||
      (strcmp (dialect, "ios18") != 0 && strcmp (dialect, "ios16") != 0)) {
    fprintf (stderr, "usage: aneforge export --ane DIR MODEL [--dialect ios18|ios16]\n"
                     "       aneforge export --coreml OUT.mlpackage MODEL [--dialect ios18|ios16]\n"
                     "       aneforge inspect --backend ane MODEL\n");
    return 2;
  }
  GError *error = NULL;
  AfGraph *g = af_graph_open (model, NULL, &error);
  if (!g)
    return fail (error);
  char *report = export ? NULL : af_graph_describe_ane (g, &error);
  char *estimate = report ? af_cli_estimate_summary (g) : NULL;
  gboolean ok = !export  ? report != NULL
                : coreml ? af_graph_export_coreml (g, coreml, dialect, &error)
                         : af_graph_export_ane (g, dir, dialect, &error);
  af_graph_free (g);
  if (!ok)
    return fail (error);
  if (report)
    fputs (report, stdout);
  if (estimate)
    fputs (estimate, stdout);
  g_free (report);
  g_free (estimate);
  return 0;
}

static void
usage (void)
{
  fprintf (stderr,
           "usage: aneforge inspect MODEL.json [--threads N] [--winograd]\n"
           "       aneforge run MODEL.json [--image FILE | --raw FILE... | --fill V] [--threads N] "
           "[--top N] [--winograd]\n"
           "                    [--save-outputs OUT.safetensors]\n"
           "       aneforge bench MODEL.json [--runs N] [--warmup N] [--threads N] [--batch N] "
           "[--winograd] [--layers]\n"
           "       aneforge import MODEL.onnx -o OUT.json [--rgb | --bgr | --gray] "
           "[--scale S[,S,S]] [--bias B[,B,B]]\n"
           "                       [--mean M,M,M --std S,S,S] [--classify] [--softmax] "
           "[--labels FILE] [--top N]\n"
           "                       [--decode ssd|ssd-decoded|yunet|blazeface|yolov8|yolov5|grid|"
           "segmentation|keypoints:hand|pose|movenet\n"
           "                        [--score-threshold T] [--iou-threshold T]]\n"
           "       import, run and inspect of an .onnx MODEL take --input-shape NAME=1x3x640x640 "
           "(repeatable)\n"
           "       aneforge export --ane DIR MODEL [--dialect ios18|ios16]\n"
           "       aneforge export --coreml OUT.mlpackage MODEL [--dialect ios18|ios16]\n"
           "       aneforge inspect --backend ane MODEL\n"
           "       aneforge estimate MODEL [--target T | --all]\n"
           "       aneforge list-ops\n"
           "       aneforge precision MODEL [--target T] [--calibrate N]\n");
}

int
main (int argc, char **argv)
{
  Options o = { .threads = 0, .runs = 50, .warmup = 5 };
  if (argc >= 2 && strcmp (argv[1], "list-ops") == 0)
    return cmd_list_ops ();
  if (argc >= 2 && strcmp (argv[1], "estimate") == 0)
    return af_cli_estimate (argc, argv);
  if (argc >= 2 && strcmp (argv[1], "precision") == 0) /* tools/cli-precision.c */
    return af_cli_precision (argc, argv);
  for (int i = 2; argc >= 2 && i < argc; i++) /* the ANE's commands parse their own options */
    if (strcmp (argv[1], "export") == 0 ||
        (strcmp (argv[1], "inspect") == 0 && strcmp (argv[i], "--backend") == 0))
      return cmd_ane (argc, argv);
  if (argc < 3) {
    usage ();
    return 2;
  }
  o.import = af_import_args_new ();
  for (int i = 3; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    GError *error = NULL;
    int used = af_import_args_parse_one (o.import, a, v, &error); /* the library's parser */
    if (used < 0) {
      fprintf (stderr, "aneforge: %s\n", error->message);
      g_error_free (error);
      goto bad_option;
    }
    if (used > 0) {
      if (strcmp (a, "--top") == 0) /* also run's top-k */
        o.top = atoi (v);
      i += used - 1;
      continue;
    }
    if (strcmp (a, "--winograd") == 0) {
      o.winograd = TRUE;
      continue;
    }
    if (strcmp (a, "--layers") == 0) {
      o.layers = TRUE;
      continue;
    }
    if (!takes_value (a)) {
      fprintf (stderr, "aneforge: unknown option %s\n", a);
      usage ();
      goto bad_option;
    }
    if (!v) {
      fprintf (stderr, "aneforge: option %s needs a value\n", a);
      goto bad_option;
    }
    if (strcmp (a, "--threads") == 0)
      o.threads = atoi (v);
    else if (strcmp (a, "--backend") == 0) {
      if (!parse_backend (v, &o.backend)) {
        fprintf (stderr, "aneforge: --backend takes auto, cpu or ane, not %s\n", v);
        goto bad_option;
      }
    } else if (strcmp (a, "--check-every") == 0)
      o.check_every = atoi (v);
    else if (strcmp (a, "--seed") == 0) {
      o.seed = (guint32) strtoul (v, NULL, 10);
      o.have_seed = TRUE;
    } else if (strcmp (a, "--image") == 0)
      o.image = v;
    else if (strcmp (a, "--raw") == 0) {
      if (o.n_raw == AF_CLI_MAX_RAW) {
        fprintf (stderr, "aneforge: at most %d --raw files\n", AF_CLI_MAX_RAW);
        goto bad_option;
      }
      o.raw[o.n_raw++] = v;
    } else if (strcmp (a, "--save-outputs") == 0)
      o.save = v;
    else if (strcmp (a, "--fill") == 0) {
      o.fill = g_ascii_strtod (v, NULL);
      o.have_fill = TRUE;
    } else if (strcmp (a, "-o") == 0)
      o.out = v;
    else if (strcmp (a, "--batch") == 0)
      o.batch = atoi (v);
    else if (strcmp (a, "--runs") == 0)
      o.runs = MAX (1, atoi (v));
    else if (strcmp (a, "--warmup") == 0)
      o.warmup = MAX (0, atoi (v));
    else
      g_assert_not_reached (); /* takes_value lists exactly the options above */
    i++;
  }
  int rc = 2;
  if (strcmp (argv[1], "inspect") == 0)
    rc = cmd_inspect (argv[2], &o);
  else if (strcmp (argv[1], "run") == 0)
    rc = cmd_run (argv[2], &o);
  else if (strcmp (argv[1], "bench") == 0)
    rc = cmd_bench (argv[2], &o);
  else if (strcmp (argv[1], "import") == 0)
    rc = cmd_import (argv[2], &o);
  else
    usage ();
  af_import_args_free (o.import);
  return rc;

bad_option: /* the message is out; usage errors exit 2 */
  af_import_args_free (o.import);
  return 2;
}
