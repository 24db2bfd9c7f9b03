/* args.c — import options as the command line spells them, shared by
 * `aneforge import` / `aneforge run` and the element's "import" property. */
#include "aneforge.h"

#include <math.h>
#include <string.h>

struct _AfImportArgs {
  gboolean port; /* a pixel option was given: the first input is an image port */
  AfPixelOrder order;
  float scale[3], bias[3], mean[3], std[3];
  gboolean have_mean, have_std;
  gboolean classify, softmax;
  int top; /* classification top-k, 0: 5 */
  char *labels;
  AfDecodeType decode;
  AfSkeleton skeleton; /* keypoints only */
  gboolean have_decode;
  float score_threshold, iou_threshold; /* < 0: the decode's default */
  GPtrArray *input_shapes;              /* --input-shape values, owned, NULL-terminated */
};

AfImportArgs *
af_import_args_new (void)
{
  AfImportArgs *a = g_new0 (AfImportArgs, 1);
  a->order = AF_PIXEL_RGB;
  for (int c = 0; c < 3; c++)
    a->scale[c] = a->std[c] = 1.0f;
  a->score_threshold = a->iou_threshold = -1;
  a->input_shapes = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (a->input_shapes, NULL);
  return a;
}

void
af_import_args_free (AfImportArgs *a)
{
  if (!a)
    return;
  g_free (a->labels);
  g_ptr_array_unref (a->input_shapes);
  g_free (a);
}

/* "a" or "a,b,c" -> 3 floats; FALSE on junk */
static gboolean
parse_triple (const char *v, float *dst)
{
  g_auto (GStrv) parts = g_strsplit (v, ",", -1);
  guint n = g_strv_length (parts);
  if (n != 1 && n != 3)
    return FALSE;
  for (guint i = 0; i < 3; i++) {
    char *end;
    const char *p = parts[n == 1 ? 0 : i];
    dst[i] = (float) g_ascii_strtod (p, &end);
    if (end == p || *end || !isfinite (dst[i]))
      return FALSE;
  }
  return TRUE;
}

/* --decode values; keypoints:NAME picks that skeleton's defaults */
static const struct {
  const char *name;
  AfDecodeType type;
  AfSkeleton skeleton;
} decoders[] = {
  { "ssd", AF_DECODE_TYPE_SSD, 0 },
  { "ssd-decoded", AF_DECODE_TYPE_SSD_DECODED, 0 },
  { "yunet", AF_DECODE_TYPE_YUNET, 0 },
  { "blazeface", AF_DECODE_TYPE_BLAZEFACE, 0 },
  { "yolov8", AF_DECODE_TYPE_YOLOV8, 0 },
  { "yolov5", AF_DECODE_TYPE_YOLOV5, 0 },
  { "grid", AF_DECODE_TYPE_GRID, 0 },
  { "segmentation", AF_DECODE_TYPE_SEGMENTATION, 0 },
  { "keypoints:hand", AF_DECODE_TYPE_KEYPOINTS, AF_SKELETON_HAND },
  { "keypoints:pose", AF_DECODE_TYPE_KEYPOINTS, AF_SKELETON_POSE },
  { "keypoints:movenet", AF_DECODE_TYPE_KEYPOINTS, AF_SKELETON_MOVENET },
};

static gboolean
parse_decode (AfImportArgs *a, const char *v, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (decoders); i++)
    if (strcmp (v, decoders[i].name) == 0) {
      a->decode = decoders[i].type;
      a->skeleton = decoders[i].skeleton;
      a->have_decode = TRUE;
      return TRUE;
    }
  g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
               "--decode: unknown decoder \"%s\" (ssd, ssd-decoded, yunet, blazeface, yolov8, "
               "yolov5, grid, segmentation or keypoints:hand|pose|movenet)",
               v);
  return FALSE;
}

static gboolean
parse_value (AfImportArgs *a, const char *opt, const char *v, GError **error)
{
  if (strcmp (opt, "--labels") == 0) {
    g_free (a->labels);
    a->labels = g_strdup (v);
    return TRUE;
  }
  if (strcmp (opt, "--decode") == 0)
    return parse_decode (a, v, error);
  if (strcmp (opt, "--input-shape") == 0) {
    const char *eq = strchr (v, '=');
    if (!eq || eq == v || !eq[1]) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                   "--input-shape takes NAME=1x3x640x640, got \"%s\"", v);
      return FALSE;
    }
    g_ptr_array_insert (a->input_shapes, (gint) a->input_shapes->len - 1, g_strdup (v));
    return TRUE;
  }
  if (strcmp (opt, "--top") == 0) {
    char *end;
    gint64 n = g_ascii_strtoll (v, &end, 10);
    if (end == v || *end || n < 1 || n > 1000) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                   "--top takes a whole number in [1, 1000], got \"%s\"", v);
      return FALSE;
    }
    a->top = (int) n;
    return TRUE;
  }
  if (strcmp (opt, "--score-threshold") == 0 || strcmp (opt, "--iou-threshold") == 0) {
    char *end;
    double t = g_ascii_strtod (v, &end);
    if (end == v || *end || !(t >= 0 && t <= 1)) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "%s takes a number in [0, 1], got \"%s\"",
                   opt, v);
      return FALSE;
    }
    *(strcmp (opt, "--score-threshold") == 0 ? &a->score_threshold : &a->iou_threshold) = (float) t;
    return TRUE;
  }
  float *dst = strcmp (opt, "--scale") == 0  ? a->scale
               : strcmp (opt, "--bias") == 0 ? a->bias
               : strcmp (opt, "--mean") == 0 ? a->mean
                                             : a->std;
  if (!parse_triple (v, dst)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                 "%s takes one number or three separated by commas, got \"%s\"", opt, v);
    return FALSE;
  }
  a->have_mean |= strcmp (opt, "--mean") == 0;
  a->have_std |= strcmp (opt, "--std") == 0;
  a->port = TRUE;
  return TRUE;
}

int
af_import_args_parse_one (AfImportArgs *a, const char *opt, const char *value, GError **error)
{
  static const char *const with_value[] = {
    "--labels", "--decode", "--score-threshold", "--iou-threshold", "--scale", "--bias", "--mean",
    "--std",    "--top",    "--input-shape",
  };
  g_return_val_if_fail (a && opt, -1);
  if (strcmp (opt, "--rgb") == 0 || strcmp (opt, "--bgr") == 0 || strcmp (opt, "--gray") == 0) {
    a->port = TRUE;
    a->order = opt[2] == 'b' ? AF_PIXEL_BGR : opt[2] == 'g' ? AF_PIXEL_GRAY : AF_PIXEL_RGB;
    return 1;
  }
  if (strcmp (opt, "--classify") == 0 || strcmp (opt, "--softmax") == 0) {
    a->classify = TRUE;
    a->softmax |= strcmp (opt, "--softmax") == 0;
    return 1;
  }
  for (guint i = 0; i < G_N_ELEMENTS (with_value); i++) {
    if (strcmp (opt, with_value[i]) != 0)
      continue;
    if (!value) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "option %s needs a value", opt);
      return -1;
    }
    return parse_value (a, opt, value, error) ? 2 : -1;
  }
  return 0;
}

gboolean
af_import_args_parse (AfImportArgs *a, const char *line, GError **error)
{
  g_return_val_if_fail (a, FALSE);
  if (!line || !*line || strspn (line, " \t\n") == strlen (line))
    return TRUE;
  g_auto (GStrv) argv = NULL;
  int argc;
  GError *shell_error = NULL;
  if (!g_shell_parse_argv (line, &argc, &argv, &shell_error)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "import options \"%s\": %s", line,
                 shell_error->message);
    g_error_free (shell_error);
    return FALSE;
  }
  for (int i = 0; i < argc;) {
    int used = af_import_args_parse_one (a, argv[i], i + 1 < argc ? argv[i + 1] : NULL, error);
    if (used == 0)
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                   "unknown import option \"%s\" (--rgb, --bgr, --gray, --scale, --bias, --mean, "
                   "--std, --classify, --softmax, --labels, --top, --decode, --score-threshold, "
                   "--iou-threshold, --input-shape)",
                   argv[i]);
    if (used <= 0)
      return FALSE;
    i += used;
  }
  return TRUE;
}

gboolean
af_import_args_has_port (const AfImportArgs *a)
{
  return a && a->port;
}

gboolean
af_import_args_has_decode (const AfImportArgs *a)
{
  return a && (a->have_decode || a->classify || a->labels);
}

void
af_import_args_options (const AfImportArgs *a, AfImportOptions *opts)
{
  AfImportOptions init = AF_IMPORT_OPTIONS_INIT;
  *opts = init;
  if (!a)
    return;
  opts->image = a->port;
  opts->order = a->order;
  if (a->input_shapes->len > 1)
    opts->input_shapes = (const char *const *) a->input_shapes->pdata;
  for (int c = 0; c < 3; c++) {
    /* (x / 255 - mean) / std  ==  x * 1 / (255 std) - mean / std */
    float std = a->have_std ? a->std[c] : 1.0f, mean = a->have_mean ? a->mean[c] : 0.0f;
    opts->scale[c] = a->have_mean || a->have_std ? 1.0f / (255.0f * std) : a->scale[c];
    opts->bias[c] = a->have_mean || a->have_std ? -mean / std : a->bias[c];
  }
}

/* @labels as a graph file saved as @save_path names it: relative to its
 * directory when it lies inside it, else absolute; without @save_path
 * absolute (transfer full). */
static char *
labels_for (const char *save_path, const char *labels)
{
  g_autofree char *alab = g_canonicalize_filename (labels, NULL);
  if (!save_path)
    return g_steal_pointer (&alab);
  g_autofree char *dir = g_path_get_dirname (save_path);
  g_autofree char *adir = g_canonicalize_filename (dir, NULL);
  gsize n = strlen (adir);
  if (strncmp (alab, adir, n) == 0 && alab[n] == G_DIR_SEPARATOR)
    return g_strdup (alab + n + 1);
  if (strcmp (adir, "/") == 0)
    return g_strdup (alab + 1);
  return g_steal_pointer (&alab);
}

gboolean
af_import_args_apply (const AfImportArgs *a, AfGraph *g, const char *save_path, GError **error)
{
  g_return_val_if_fail (g, FALSE);
  (void) error;
  if (!af_import_args_has_decode (a))
    return TRUE;
  g_autofree char *labels = a->labels ? labels_for (save_path, a->labels) : NULL;
  if (!a->have_decode) {
    af_graph_set_classification (g, 0, a->softmax, a->top > 0 ? a->top : 5, labels);
    return TRUE;
  }
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, a->decode);
  if (a->decode == AF_DECODE_TYPE_KEYPOINTS)
    af_decode_spec_set_skeleton (&spec, a->skeleton);
  int in_w, in_h; /* priors, grids and strides follow the model's input */
  if (af_graph_image_size (g, &in_w, &in_h))
    af_decode_spec_set_input_size (&spec, in_w, in_h);
  if (a->score_threshold >= 0)
    spec.score_threshold = a->score_threshold;
  if (a->iou_threshold >= 0)
    spec.iou_threshold = a->iou_threshold;
  spec.labels = g_steal_pointer (&labels);
  af_graph_set_decode (g, 0, &spec);
  af_decode_spec_clear (&spec);
  return TRUE;
}

AfGraph *
af_import_args_open (const AfImportArgs *a, const char *path, gboolean image_port, GError **error)
{
  g_return_val_if_fail (path, NULL);
  AfImportOptions opts;
  af_import_args_options (a, &opts);
  gboolean json = g_str_has_suffix (path, ".json");
  if (json && af_import_args_has_port (a)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                 "%s: the pixel options (--rgb, --bgr, --gray, --scale, --bias, --mean, --std) "
                 "apply when importing .onnx or .tflite; a graph file declares its ports itself",
                 path);
    return NULL;
  }
  opts.image |= image_port;
  AfGraph *g = af_graph_open (path, &opts, error);
  if (g && !af_import_args_apply (a, g, NULL, error))
    g_clear_pointer (&g, af_graph_free);
  return g;
}

char *
af_import_args_to_string (const AfImportArgs *a)
{
  GString *s = g_string_new (NULL);
  if (!a)
    return g_string_free (s, FALSE);
  char b[3][G_ASCII_DTOSTR_BUF_SIZE];
  if (a->port) {
    static const char *const orders[] = { "--rgb", "--bgr", "--gray" };
    g_string_append (s, orders[CLAMP ((int) a->order, 0, 2)]);
    AfImportOptions o;
    af_import_args_options (a, &o);
    for (int k = 0; k < 2; k++) {
      const float *v = k ? o.bias : o.scale;
      for (int c = 0; c < 3; c++)
        g_ascii_formatd (b[c], sizeof b[c], "%.9g", v[c]);
      g_string_append_printf (s, " %s %s,%s,%s", k ? "--bias" : "--scale", b[0], b[1], b[2]);
    }
  }
  if (a->classify || (a->labels && !a->have_decode))
    g_string_append_printf (s, "%s--classify%s", s->len ? " " : "", a->softmax ? " --softmax" : "");
  if (a->have_decode)
    for (guint i = 0; i < G_N_ELEMENTS (decoders); i++)
      if (decoders[i].type == a->decode && decoders[i].skeleton == a->skeleton)
        g_string_append_printf (s, "%s--decode %s", s->len ? " " : "", decoders[i].name);
  if (a->top > 0)
    g_string_append_printf (s, " --top %d", a->top);
  for (int k = 0; k < 2; k++) {
    float t = k ? a->iou_threshold : a->score_threshold;
    if (t >= 0)
      g_string_append_printf (s, " %s %s", k ? "--iou-threshold" : "--score-threshold",
                              g_ascii_formatd (b[0], sizeof b[0], "%.6g", t));
  }
  for (guint i = 0; i + 1 < a->input_shapes->len; i++) {
    g_autofree char *q = g_shell_quote (g_ptr_array_index (a->input_shapes, i));
    g_string_append_printf (s, " --input-shape %s", q);
  }
  if (a->labels) {
    g_autofree char *q = g_shell_quote (a->labels);
    g_string_append_printf (s, " --labels %s", q);
  }
  if (s->len && s->str[0] == ' ')
    g_string_erase (s, 0, 1);
  return g_string_free (s, FALSE);
}
