/* decode.c — post-processing decoders: classification (softmax, top-k,
 * labels), SSD-prior detection (UltraFace), already-decoded SSD boxes,
 * YuNet grids with landmarks, MediaPipe BlazeFace anchors with keypoints,
 * greedy NMS, and the map back to frame pixels.
 * docs/decoders.md is the reference. Configured once, run per frame with no
 * allocation. */
#include "decode.h"

#include <math.h>
#include <string.h>

#define MAX_TOP_K 65536
#define MAX_DETECTIONS 65536
#define MAX_INPUT_SIZE 16384
#define MAX_FEATURE 4096
#define MAX_STRIDE 1024
#define MAX_CANDIDATES (1 << 22)
#define MAX_CLASSES (1 << 22)
#define MAX_LABEL_INDEX 1000000

/* A role bound to a model output: its index and its [N, C] view. */
typedef struct {
  guint index;
  gint64 n, c;
} AfRole;

struct _AfDecoder {
  AfDecodeSpec spec;
  char **labels; /* NULL-terminated, owned; may be NULL */
  guint n_labels;
  guint n_classes; /* classification: C; ssd: score columns */
  AfRole scores, boxes;
  AfRole cls[AF_DECODE_MAX_LEVELS], obj[AF_DECODE_MAX_LEVELS];
  AfRole bbox[AF_DECODE_MAX_LEVELS], kps[AF_DECODE_MAX_LEVELS];
  int n_landmarks;
  float *priors; /* ssd, blazeface: 4 per prior (cx, cy, w, h) */
  guint n_priors;
  /* scratch, sized at configuration */
  float *values;     /* classification: C floats */
  AfDetection *cand; /* detection candidates */
  guint *order;      /* NMS order */
  guint max_cand;
};

/* ================================================================ specs */

const char *
af_decode_type_name (AfDecodeType type)
{
  switch (type) {
  case AF_DECODE_TYPE_CLASSIFICATION:
    return "classification";
  case AF_DECODE_TYPE_SSD:
    return "ssd";
  case AF_DECODE_TYPE_SSD_DECODED:
    return "ssd-decoded";
  case AF_DECODE_TYPE_YUNET:
    return "yunet";
  case AF_DECODE_TYPE_BLAZEFACE:
    return "blazeface";
  }
  return "?";
}

static void
spec_default_priors (AfDecodeSpec *spec)
{
  static const int fw[] = { 40, 20, 10, 5 }, fh[] = { 30, 15, 8, 4 };
  static const float mb[4][3] = { { 10, 16, 24 }, { 32, 48 }, { 64, 96 }, { 128, 192, 256 } };
  static const guint nmb[] = { 3, 2, 2, 3 };
  spec->n_levels = 4;
  for (guint l = 0; l < 4; l++) {
    spec->feature_w[l] = fw[l];
    spec->feature_h[l] = fh[l];
    spec->n_min_boxes[l] = nmb[l];
    for (guint k = 0; k < nmb[l]; k++)
      spec->min_boxes[l][k] = mb[l][k];
  }
  spec->center_variance = 0.1f;
  spec->size_variance = 0.2f;
}

/* Default YuNet tensor names for the current strides ("cls_8", ...). */
static void
spec_default_yunet_names (AfDecodeSpec *spec, gboolean landmarks)
{
  for (guint l = 0; l < spec->n_strides; l++) {
    int s = spec->strides[l];
    g_free (spec->cls[l]);
    g_free (spec->obj[l]);
    g_free (spec->bbox[l]);
    g_free (spec->kps[l]);
    spec->cls[l] = g_strdup_printf ("cls_%d", s);
    spec->obj[l] = g_strdup_printf ("obj_%d", s);
    spec->bbox[l] = g_strdup_printf ("bbox_%d", s);
    spec->kps[l] = landmarks ? g_strdup_printf ("kps_%d", s) : NULL;
  }
}

void
af_decode_spec_init (AfDecodeSpec *spec, AfDecodeType type)
{
  g_return_if_fail (spec != NULL);
  memset (spec, 0, sizeof *spec);
  spec->type = type;
  spec->top_k = 5;
  spec->iou_threshold = 0.3f;
  spec->max_detections = 100;
  spec->clip = TRUE;
  switch (type) {
  case AF_DECODE_TYPE_CLASSIFICATION:
    break;
  case AF_DECODE_TYPE_SSD:
  case AF_DECODE_TYPE_SSD_DECODED:
    spec->scores = g_strdup ("scores");
    spec->boxes = g_strdup ("boxes");
    spec->score_threshold = 0.7f;
    spec->input_w = 320;
    spec->input_h = 240;
    if (type == AF_DECODE_TYPE_SSD)
      spec_default_priors (spec);
    break;
  case AF_DECODE_TYPE_YUNET:
    spec->score_threshold = 0.6f;
    spec->input_w = 320;
    spec->input_h = 320;
    spec->n_strides = 3;
    spec->strides[0] = 8;
    spec->strides[1] = 16;
    spec->strides[2] = 32;
    spec_default_yunet_names (spec, TRUE);
    break;
  case AF_DECODE_TYPE_BLAZEFACE:
    /* MediaPipe face_detection_short_range: 4 anchor layers */
    spec->scores = g_strdup ("classificators");
    spec->boxes = g_strdup ("regressors");
    spec->score_threshold = 0.5f;
    spec->input_w = 128;
    spec->input_h = 128;
    spec->n_strides = 4;
    spec->strides[0] = 8;
    spec->strides[1] = spec->strides[2] = spec->strides[3] = 16;
    break;
  }
}

void
af_decode_spec_clear (AfDecodeSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->scores);
  g_free (spec->boxes);
  g_free (spec->labels);
  for (guint l = 0; l < AF_DECODE_MAX_LEVELS; l++) {
    g_free (spec->cls[l]);
    g_free (spec->obj[l]);
    g_free (spec->bbox[l]);
    g_free (spec->kps[l]);
  }
  memset (spec, 0, sizeof *spec);
}

void
af_decode_spec_copy (AfDecodeSpec *dst, const AfDecodeSpec *src)
{
  g_return_if_fail (dst != NULL && src != NULL);
  *dst = *src;
  dst->scores = g_strdup (src->scores);
  dst->boxes = g_strdup (src->boxes);
  dst->labels = g_strdup (src->labels);
  for (guint l = 0; l < AF_DECODE_MAX_LEVELS; l++) {
    dst->cls[l] = g_strdup (src->cls[l]);
    dst->obj[l] = g_strdup (src->obj[l]);
    dst->bbox[l] = g_strdup (src->bbox[l]);
    dst->kps[l] = g_strdup (src->kps[l]);
  }
}

/* ================================================================ JSON */

typedef struct {
  const char *where;
  GError **error;
} JsonCtx;

static const char *
node_kind (JsonNode *node)
{
  switch (json_node_get_node_type (node)) {
  case JSON_NODE_OBJECT:
    return "an object";
  case JSON_NODE_ARRAY:
    return "an array";
  case JSON_NODE_NULL:
    return "null";
  case JSON_NODE_VALUE:
    break;
  }
  GType t = json_node_get_value_type (node);
  if (t == G_TYPE_STRING)
    return "a string";
  if (t == G_TYPE_BOOLEAN)
    return "a boolean";
  return "a number";
}

G_GNUC_PRINTF (3, 4)
static gboolean
json_fail (JsonCtx *c, const char *field, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (c->error, AF_ERROR, AF_ERROR_INVALID, "%s: decode: field \"%s\": %s", c->where,
               field, msg);
  return FALSE;
}

static gboolean
is_number (JsonNode *node)
{
  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  GType t = json_node_get_value_type (node);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

static gboolean
want_string (JsonCtx *c, const char *field, JsonNode *node, char **out)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return json_fail (c, field, "expected a string, got %s", node_kind (node));
  const char *s = json_node_get_string (node);
  if (s[0] == '\0')
    return json_fail (c, field, "must not be empty");
  g_free (*out);
  *out = g_strdup (s);
  return TRUE;
}

static gboolean
want_bool (JsonCtx *c, const char *field, JsonNode *node, gboolean *out)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return json_fail (c, field, "expected true or false, got %s", node_kind (node));
  *out = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
want_number (JsonCtx *c, const char *field, JsonNode *node, double lo, double hi, float *out)
{
  if (!is_number (node))
    return json_fail (c, field, "expected a number in [%g, %g], got %s", lo, hi, node_kind (node));
  double v = json_node_get_double (node);
  if (!(v >= lo && v <= hi))
    return json_fail (c, field, "expected a number in [%g, %g], got %g", lo, hi, v);
  *out = (float) v;
  return TRUE;
}

static gboolean
want_int (JsonCtx *c, const char *field, JsonNode *node, gint64 lo, gint64 hi, gint64 *out)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return json_fail (c, field,
                      "expected an integer in [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "], got %s",
                      lo, hi, node_kind (node));
  gint64 v = json_node_get_int (node);
  if (v < lo || v > hi)
    return json_fail (c, field,
                      "expected an integer in [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                      "], got %" G_GINT64_FORMAT,
                      lo, hi, v);
  *out = v;
  return TRUE;
}

static JsonArray *
want_array (JsonCtx *c, const char *field, JsonNode *node, guint min_len, guint max_len)
{
  if (!JSON_NODE_HOLDS_ARRAY (node)) {
    json_fail (c, field, "expected an array, got %s", node_kind (node));
    return NULL;
  }
  JsonArray *a = json_node_get_array (node);
  guint n = json_array_get_length (a);
  if (n < min_len || n > max_len) {
    json_fail (c, field, "expected %u to %u entries, got %u", min_len, max_len, n);
    return NULL;
  }
  return a;
}

/* Rejects members of @obj not in @allowed; @known lists every field of any
 * decode so that a misplaced one is told apart from a misspelt one. */
static gboolean
check_fields (JsonCtx *c, JsonObject *obj, const char *const *allowed, const char *const *known,
              const char *kind)
{
  g_autoptr (GList) members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next) {
    const char *m = l->data;
    if (g_strv_contains (allowed, m))
      continue;
    if (known != NULL && g_strv_contains (known, m))
      return json_fail (c, m, "not valid for a %s decode", kind);
    g_autofree char *list = g_strjoinv (", ", (char **) allowed);
    return json_fail (c, m, "unknown field (a %s decode takes: %s)", kind, list);
  }
  return TRUE;
}

static const char *const known_fields[] = { "type",
                                            "style",
                                            "scores",
                                            "boxes",
                                            "softmax",
                                            "top_k",
                                            "labels",
                                            "score_threshold",
                                            "iou_threshold",
                                            "max_detections",
                                            "input_size",
                                            "clip",
                                            "priors",
                                            "strides",
                                            "cls",
                                            "obj",
                                            "bbox",
                                            "kps",
                                            NULL };
static const char *const classification_fields[] = { "type",  "scores", "softmax",
                                                     "top_k", "labels", NULL };
static const char *const ssd_fields[] = { "type",          "style",          "scores",
                                          "boxes",         "labels",         "score_threshold",
                                          "iou_threshold", "max_detections", "input_size",
                                          "clip",          "priors",         NULL };
static const char *const ssd_decoded_fields[] = {
  "type",          "style",          "scores",     "boxes", "labels", "score_threshold",
  "iou_threshold", "max_detections", "input_size", "clip",  NULL
};
static const char *const blazeface_fields[] = {
  "type",          "style",          "scores",     "boxes", "labels",  "score_threshold",
  "iou_threshold", "max_detections", "input_size", "clip",  "strides", NULL
};
static const char *const yunet_fields[] = { "type",          "style",
                                            "labels",        "score_threshold",
                                            "iou_threshold", "max_detections",
                                            "input_size",    "clip",
                                            "strides",       "cls",
                                            "obj",           "bbox",
                                            "kps",           NULL };
static const char *const priors_fields[] = { "feature_maps", "min_boxes", "variances", NULL };

static gboolean
parse_type (JsonCtx *c, JsonObject *obj, AfDecodeType *type)
{
  JsonNode *n = json_object_get_member (obj, "type");
  g_autofree char *t = NULL, *style = NULL;
  if (n == NULL)
    return json_fail (c, "type", "missing (\"classification\" or \"detection\")");
  if (!want_string (c, "type", n, &t))
    return FALSE;
  if (strcmp (t, "classification") == 0) {
    *type = AF_DECODE_TYPE_CLASSIFICATION;
    return TRUE;
  }
  if (strcmp (t, "detection") != 0)
    return json_fail (c, "type", "unknown type \"%s\" (\"classification\" or \"detection\")", t);
  n = json_object_get_member (obj, "style");
  if (n == NULL)
    return json_fail (c, "style", "missing (\"ssd\", \"ssd-decoded\", \"yunet\" or \"blazeface\")");
  if (!want_string (c, "style", n, &style))
    return FALSE;
  if (strcmp (style, "ssd") == 0)
    *type = AF_DECODE_TYPE_SSD;
  else if (strcmp (style, "ssd-decoded") == 0)
    *type = AF_DECODE_TYPE_SSD_DECODED;
  else if (strcmp (style, "yunet") == 0)
    *type = AF_DECODE_TYPE_YUNET;
  else if (strcmp (style, "blazeface") == 0)
    *type = AF_DECODE_TYPE_BLAZEFACE;
  else
    return json_fail (c, "style",
                      "unknown style \"%s\" (\"ssd\", \"ssd-decoded\", \"yunet\" "
                      "or \"blazeface\")",
                      style);
  return TRUE;
}

static gboolean
parse_common (JsonCtx *c, JsonObject *obj, AfDecodeSpec *spec)
{
  JsonNode *n;
  gint64 v;
  if ((n = json_object_get_member (obj, "scores")) && !want_string (c, "scores", n, &spec->scores))
    return FALSE;
  if ((n = json_object_get_member (obj, "boxes")) && !want_string (c, "boxes", n, &spec->boxes))
    return FALSE;
  if ((n = json_object_get_member (obj, "labels")) && !want_string (c, "labels", n, &spec->labels))
    return FALSE;
  if ((n = json_object_get_member (obj, "softmax")) && !want_bool (c, "softmax", n, &spec->softmax))
    return FALSE;
  if ((n = json_object_get_member (obj, "top_k"))) {
    if (!want_int (c, "top_k", n, 1, MAX_TOP_K, &v))
      return FALSE;
    spec->top_k = v;
  }
  if ((n = json_object_get_member (obj, "score_threshold")) &&
      !want_number (c, "score_threshold", n, 0, 1, &spec->score_threshold))
    return FALSE;
  if ((n = json_object_get_member (obj, "iou_threshold")) &&
      !want_number (c, "iou_threshold", n, 0, 1, &spec->iou_threshold))
    return FALSE;
  if ((n = json_object_get_member (obj, "max_detections"))) {
    if (!want_int (c, "max_detections", n, 1, MAX_DETECTIONS, &v))
      return FALSE;
    spec->max_detections = v;
  }
  if ((n = json_object_get_member (obj, "clip")) && !want_bool (c, "clip", n, &spec->clip))
    return FALSE;
  if ((n = json_object_get_member (obj, "input_size"))) {
    JsonArray *a = want_array (c, "input_size", n, 2, 2);
    gint64 w, h;
    if (a == NULL ||
        !want_int (c, "input_size[0]", json_array_get_element (a, 0), 1, MAX_INPUT_SIZE, &w) ||
        !want_int (c, "input_size[1]", json_array_get_element (a, 1), 1, MAX_INPUT_SIZE, &h))
      return FALSE;
    spec->input_w = w;
    spec->input_h = h;
  }
  return TRUE;
}

static gboolean
parse_feature_maps (JsonCtx *c, JsonNode *node, AfDecodeSpec *spec)
{
  JsonArray *a = want_array (c, "priors.feature_maps", node, 1, AF_DECODE_MAX_LEVELS);
  if (a == NULL)
    return FALSE;
  spec->n_levels = json_array_get_length (a);
  for (guint l = 0; l < spec->n_levels; l++) {
    g_autofree char *f = g_strdup_printf ("priors.feature_maps[%u]", l);
    g_autofree char *fw = g_strdup_printf ("priors.feature_maps[%u][0]", l);
    g_autofree char *fh = g_strdup_printf ("priors.feature_maps[%u][1]", l);
    JsonArray *p = want_array (c, f, json_array_get_element (a, l), 2, 2);
    gint64 w, h;
    if (p == NULL || !want_int (c, fw, json_array_get_element (p, 0), 1, MAX_FEATURE, &w) ||
        !want_int (c, fh, json_array_get_element (p, 1), 1, MAX_FEATURE, &h))
      return FALSE;
    spec->feature_w[l] = w;
    spec->feature_h[l] = h;
  }
  return TRUE;
}

static gboolean
parse_min_boxes (JsonCtx *c, JsonNode *node, AfDecodeSpec *spec)
{
  JsonArray *a = want_array (c, "priors.min_boxes", node, 1, AF_DECODE_MAX_LEVELS);
  if (a == NULL)
    return FALSE;
  guint n = json_array_get_length (a);
  if (n != spec->n_levels)
    return json_fail (c, "priors.min_boxes", "has %u levels, priors.feature_maps has %u", n,
                      spec->n_levels);
  for (guint l = 0; l < n; l++) {
    g_autofree char *f = g_strdup_printf ("priors.min_boxes[%u]", l);
    JsonArray *m = want_array (c, f, json_array_get_element (a, l), 1, AF_DECODE_MAX_ANCHORS);
    if (m == NULL)
      return FALSE;
    spec->n_min_boxes[l] = json_array_get_length (m);
    for (guint k = 0; k < spec->n_min_boxes[l]; k++) {
      g_autofree char *fk = g_strdup_printf ("priors.min_boxes[%u][%u]", l, k);
      if (!want_number (c, fk, json_array_get_element (m, k), 1e-3, MAX_INPUT_SIZE,
                        &spec->min_boxes[l][k]))
        return FALSE;
    }
  }
  return TRUE;
}

static gboolean
parse_priors (JsonCtx *c, JsonNode *node, AfDecodeSpec *spec)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return json_fail (c, "priors", "expected an object, got %s", node_kind (node));
  JsonObject *p = json_node_get_object (node);
  g_autoptr (GList) members = json_object_get_members (p);
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (priors_fields, l->data)) {
      g_autofree char *f = g_strdup_printf ("priors.%s", (char *) l->data);
      return json_fail (c, f, "unknown field (priors take: feature_maps, min_boxes, variances)");
    }
  JsonNode *fm = json_object_get_member (p, "feature_maps");
  JsonNode *mb = json_object_get_member (p, "min_boxes");
  JsonNode *var = json_object_get_member (p, "variances");
  if (fm != NULL && !parse_feature_maps (c, fm, spec))
    return FALSE;
  if (mb != NULL && !parse_min_boxes (c, mb, spec))
    return FALSE;
  if (fm != NULL && mb == NULL && spec->n_levels != 4)
    return json_fail (c, "priors.min_boxes",
                      "missing: the default has 4 levels, "
                      "priors.feature_maps has %u",
                      spec->n_levels);
  if (var != NULL) {
    JsonArray *a = want_array (c, "priors.variances", var, 2, 2);
    if (a == NULL ||
        !want_number (c, "priors.variances[0]", json_array_get_element (a, 0), 1e-6, 100,
                      &spec->center_variance) ||
        !want_number (c, "priors.variances[1]", json_array_get_element (a, 1), 1e-6, 100,
                      &spec->size_variance))
      return FALSE;
  }
  guint64 total = 0;
  for (guint l = 0; l < spec->n_levels; l++)
    total += (guint64) spec->feature_w[l] * spec->feature_h[l] * spec->n_min_boxes[l];
  if (total > MAX_CANDIDATES)
    return json_fail (c, "priors", "%" G_GUINT64_FORMAT " priors, above the limit of %d", total,
                      MAX_CANDIDATES);
  return TRUE;
}

/* "cls" / "obj" / "bbox" / "kps": one tensor name per stride. */
static gboolean
parse_names (JsonCtx *c, JsonObject *obj, const char *field, guint n_strides, char **names,
             gboolean may_be_empty)
{
  JsonNode *node = json_object_get_member (obj, field);
  if (node == NULL)
    return TRUE;
  JsonArray *a = want_array (c, field, node, 0, AF_DECODE_MAX_LEVELS);
  if (a == NULL)
    return FALSE;
  guint n = json_array_get_length (a);
  if (n == 0 && may_be_empty) {
    for (guint l = 0; l < AF_DECODE_MAX_LEVELS; l++)
      g_clear_pointer (&names[l], g_free);
    return TRUE;
  }
  if (n != n_strides)
    return json_fail (c, field, "has %u names, \"strides\" has %u entries", n, n_strides);
  for (guint l = 0; l < n; l++) {
    g_autofree char *f = g_strdup_printf ("%s[%u]", field, l);
    if (!want_string (c, f, json_array_get_element (a, l), &names[l]))
      return FALSE;
  }
  return TRUE;
}

/* "strides": 1..8 positive integers into spec->strides / n_strides. */
static gboolean
parse_strides (JsonCtx *c, JsonNode *n, AfDecodeSpec *spec)
{
  JsonArray *a = want_array (c, "strides", n, 1, AF_DECODE_MAX_LEVELS);
  if (a == NULL)
    return FALSE;
  spec->n_strides = json_array_get_length (a);
  for (guint l = 0; l < spec->n_strides; l++) {
    g_autofree char *f = g_strdup_printf ("strides[%u]", l);
    gint64 s;
    if (!want_int (c, f, json_array_get_element (a, l), 1, MAX_STRIDE, &s))
      return FALSE;
    spec->strides[l] = s;
  }
  for (guint l = spec->n_strides; l < AF_DECODE_MAX_LEVELS; l++)
    spec->strides[l] = 0;
  return TRUE;
}

static gboolean
parse_blazeface (JsonCtx *c, JsonObject *obj, AfDecodeSpec *spec)
{
  JsonNode *n = json_object_get_member (obj, "strides");
  if (n != NULL && !parse_strides (c, n, spec))
    return FALSE;
  guint64 total = 0;
  for (guint l = 0; l < spec->n_strides; l++) {
    guint64 fw = (spec->input_w + spec->strides[l] - 1) / spec->strides[l];
    guint64 fh = (spec->input_h + spec->strides[l] - 1) / spec->strides[l];
    total += 2 * fw * fh;
  }
  if (total > MAX_CANDIDATES)
    return json_fail (c, "strides", "%" G_GUINT64_FORMAT " anchors, above the limit of %d", total,
                      MAX_CANDIDATES);
  return TRUE;
}

static gboolean
parse_yunet (JsonCtx *c, JsonObject *obj, AfDecodeSpec *spec)
{
  JsonNode *n = json_object_get_member (obj, "strides");
  if (n != NULL) {
    if (!parse_strides (c, n, spec))
      return FALSE;
    for (guint l = spec->n_strides; l < AF_DECODE_MAX_LEVELS; l++) {
      g_clear_pointer (&spec->cls[l], g_free);
      g_clear_pointer (&spec->obj[l], g_free);
      g_clear_pointer (&spec->bbox[l], g_free);
      g_clear_pointer (&spec->kps[l], g_free);
    }
    spec_default_yunet_names (spec, TRUE);
  }
  for (guint l = 0; l < spec->n_strides; l++)
    if (spec->input_w % spec->strides[l] != 0 || spec->input_h % spec->strides[l] != 0)
      return json_fail (c, "strides", "input_size %dx%d is not a multiple of stride %d",
                        spec->input_w, spec->input_h, spec->strides[l]);
  return parse_names (c, obj, "cls", spec->n_strides, spec->cls, FALSE) &&
         parse_names (c, obj, "obj", spec->n_strides, spec->obj, FALSE) &&
         parse_names (c, obj, "bbox", spec->n_strides, spec->bbox, FALSE) &&
         parse_names (c, obj, "kps", spec->n_strides, spec->kps, TRUE);
}

gboolean
af__decode_spec_from_json (JsonObject *obj, const char *where, AfDecodeSpec *spec, GError **error)
{
  g_return_val_if_fail (obj != NULL && spec != NULL, FALSE);
  JsonCtx c = { where ? where : "decode", error };
  AfDecodeType type = AF_DECODE_TYPE_CLASSIFICATION;
  memset (spec, 0, sizeof *spec);
  if (!parse_type (&c, obj, &type))
    return FALSE;
  af_decode_spec_init (spec, type);
  static const char *const *const allowed[] = {
    [AF_DECODE_TYPE_CLASSIFICATION] = classification_fields, [AF_DECODE_TYPE_SSD] = ssd_fields,
    [AF_DECODE_TYPE_SSD_DECODED] = ssd_decoded_fields,       [AF_DECODE_TYPE_YUNET] = yunet_fields,
    [AF_DECODE_TYPE_BLAZEFACE] = blazeface_fields,
  };
  JsonNode *priors = json_object_get_member (obj, "priors");
  gboolean ok = check_fields (&c, obj, allowed[type], known_fields, af_decode_type_name (type)) &&
                parse_common (&c, obj, spec) &&
                (priors == NULL || parse_priors (&c, priors, spec)) &&
                (type != AF_DECODE_TYPE_YUNET || parse_yunet (&c, obj, spec)) &&
                (type != AF_DECODE_TYPE_BLAZEFACE || parse_blazeface (&c, obj, spec));
  if (!ok)
    af_decode_spec_clear (spec);
  return ok;
}

/* @f as the double of its shortest decimal spelling that reads back as
 * the same float (0.3f -> 0.3, not 0.30000001192092896). */
static double
json_float (float f)
{
  static const char *const formats[] = { "%.6g", "%.7g", "%.8g", "%.9g" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    g_ascii_formatd (buf, sizeof buf, formats[i], (double) f);
    double d = g_ascii_strtod (buf, NULL);
    if ((float) d == f)
      return d;
  }
  return f;
}

static void
json_member_string (JsonBuilder *b, const char *name, const char *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

static void
json_member_names (JsonBuilder *b, const char *name, char *const *names, guint n)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint l = 0; l < n && names[l] != NULL; l++)
    json_builder_add_string_value (b, names[l]);
  json_builder_end_array (b);
}

static void
json_write_priors (JsonBuilder *b, const AfDecodeSpec *spec)
{
  json_builder_set_member_name (b, "priors");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "feature_maps");
  json_builder_begin_array (b);
  for (guint l = 0; l < spec->n_levels; l++) {
    json_builder_begin_array (b);
    json_builder_add_int_value (b, spec->feature_w[l]);
    json_builder_add_int_value (b, spec->feature_h[l]);
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "min_boxes");
  json_builder_begin_array (b);
  for (guint l = 0; l < spec->n_levels; l++) {
    json_builder_begin_array (b);
    for (guint k = 0; k < spec->n_min_boxes[l]; k++)
      json_builder_add_double_value (b, json_float (spec->min_boxes[l][k]));
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "variances");
  json_builder_begin_array (b);
  json_builder_add_double_value (b, json_float (spec->center_variance));
  json_builder_add_double_value (b, json_float (spec->size_variance));
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static void
json_write_detection (JsonBuilder *b, const AfDecodeSpec *spec)
{
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "detection");
  json_member_string (b, "style", af_decode_type_name (spec->type));
  if (spec->type != AF_DECODE_TYPE_YUNET) {
    json_member_string (b, "scores", spec->scores);
    json_member_string (b, "boxes", spec->boxes);
  }
  json_member_string (b, "labels", spec->labels);
  json_builder_set_member_name (b, "score_threshold");
  json_builder_add_double_value (b, json_float (spec->score_threshold));
  json_builder_set_member_name (b, "iou_threshold");
  json_builder_add_double_value (b, json_float (spec->iou_threshold));
  json_builder_set_member_name (b, "max_detections");
  json_builder_add_int_value (b, spec->max_detections);
  json_builder_set_member_name (b, "input_size");
  json_builder_begin_array (b);
  json_builder_add_int_value (b, spec->input_w);
  json_builder_add_int_value (b, spec->input_h);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "clip");
  json_builder_add_boolean_value (b, spec->clip);
  if (spec->type == AF_DECODE_TYPE_SSD && spec->n_levels > 0)
    json_write_priors (b, spec);
  if (spec->type == AF_DECODE_TYPE_YUNET || spec->type == AF_DECODE_TYPE_BLAZEFACE) {
    json_builder_set_member_name (b, "strides");
    json_builder_begin_array (b);
    for (guint l = 0; l < spec->n_strides; l++)
      json_builder_add_int_value (b, spec->strides[l]);
    json_builder_end_array (b);
  }
  if (spec->type == AF_DECODE_TYPE_YUNET) {
    json_member_names (b, "cls", spec->cls, spec->n_strides);
    json_member_names (b, "obj", spec->obj, spec->n_strides);
    json_member_names (b, "bbox", spec->bbox, spec->n_strides);
    json_member_names (b, "kps", spec->kps, spec->n_strides); /* []: no landmarks */
  }
}

void
af__decode_spec_to_json (const AfDecodeSpec *spec, JsonBuilder *b)
{
  g_return_if_fail (spec != NULL && b != NULL);
  json_builder_begin_object (b);
  if (spec->type == AF_DECODE_TYPE_CLASSIFICATION) {
    json_member_string (b, "type", "classification");
    json_member_string (b, "scores", spec->scores);
    json_builder_set_member_name (b, "softmax");
    json_builder_add_boolean_value (b, spec->softmax);
    json_builder_set_member_name (b, "top_k");
    json_builder_add_int_value (b, spec->top_k);
    json_member_string (b, "labels", spec->labels);
  } else {
    json_write_detection (b, spec);
  }
  json_builder_end_object (b);
}

/* ================================================================ labels */

static gboolean
parse_index_prefix (const char *line, guint64 *index, const char **rest)
{
  const char *p = line;
  while (g_ascii_isdigit (*p))
    p++;
  if (p == line || *p != ',')
    return FALSE;
  *index = g_ascii_strtoull (line, NULL, 10);
  *rest = p + 1;
  return TRUE;
}

static char **
labels_indexed (const char *path, char **lines, guint n, GError **error)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n; i++) {
    guint64 index;
    const char *name;
    if (!parse_index_prefix (lines[i], &index, &name)) {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                   "%s:%u: expected \"index,name\" like the first line, got \"%s\"", path, i + 1,
                   lines[i]);
      goto fail;
    }
    if (index >= MAX_LABEL_INDEX) {
      g_set_error (error, AF_ERROR, AF_ERROR_LIMIT,
                   "%s:%u: index %" G_GUINT64_FORMAT " is above the limit of %d", path, i + 1,
                   index, MAX_LABEL_INDEX - 1);
      goto fail;
    }
    if (name[0] == '\0') {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                   "%s:%u: empty label for index %" G_GUINT64_FORMAT, path, i + 1, index);
      goto fail;
    }
    while (out->len <= index)
      g_ptr_array_add (out, NULL);
    if (out->pdata[index] != NULL) {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                   "%s:%u: index %" G_GUINT64_FORMAT " appears twice", path, i + 1, index);
      goto fail;
    }
    out->pdata[index] = g_strdup (name);
  }
  for (guint i = 0; i < out->len; i++)
    if (out->pdata[i] == NULL)
      out->pdata[i] = g_strdup ("");
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
fail:
  g_ptr_array_free (out, TRUE);
  return NULL;
}

char **
af__decode_load_labels (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len;
  GError *err = NULL;
  if (!g_file_get_contents (path, &text, &len, &err)) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: cannot read labels: %s", path, err->message);
    g_error_free (err);
    return NULL;
  }
  if (memchr (text, '\0', len) != NULL || !g_utf8_validate (text, len, NULL)) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE, "%s: labels file is not UTF-8 text", path);
    return NULL;
  }
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines);
  for (guint i = 0; i < n; i++) {
    gsize l = strlen (lines[i]);
    if (l > 0 && lines[i][l - 1] == '\r')
      lines[i][l - 1] = '\0';
  }
  while (n > 0 && lines[n - 1][0] == '\0')
    n--; /* trailing blank lines */
  if (n == 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE, "%s:1: labels file is empty", path);
    return NULL;
  }
  guint64 index;
  const char *rest;
  if (parse_index_prefix (lines[0], &index, &rest))
    return labels_indexed (path, lines, n, error);
  char **out = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++) {
    if (lines[i][0] == '\0') {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE, "%s:%u: empty label", path, i + 1);
      g_strfreev (out);
      return NULL;
    }
    out[i] = g_strdup (lines[i]);
  }
  return out;
}

/* ================================================================ priors */

/* MediaPipe's SsdAnchorsCalculator with fixed_anchor_size, aspect ratio
 * 1.0 and interpolated_scale_aspect_ratio 1.0: every layer gives 2 anchors
 * per cell, consecutive layers of the same stride are merged (their anchors
 * interleave per cell), cells are ceil(input / stride), row by row. */
static float *
blazeface_anchors (const AfDecodeSpec *spec, guint *n_anchors)
{
  guint n = 0;
  for (guint l = 0; l < spec->n_strides; l++) {
    if (spec->strides[l] < 1)
      return NULL;
    int st = spec->strides[l];
    n += 2 * ((spec->input_w + st - 1) / st) * ((spec->input_h + st - 1) / st);
  }
  *n_anchors = n;
  if (n == 0)
    return NULL;
  float *p = g_new (float, 4 * (gsize) n), *q = p;
  for (guint l = 0; l < spec->n_strides;) {
    int st = spec->strides[l];
    guint last = l;
    while (last + 1 < spec->n_strides && spec->strides[last + 1] == st)
      last++;
    int per_cell = 2 * (last - l + 1);
    int fw = (spec->input_w + st - 1) / st, fh = (spec->input_h + st - 1) / st;
    for (int y = 0; y < fh; y++)
      for (int x = 0; x < fw; x++)
        for (int k = 0; k < per_cell; k++) {
          q[0] = (x + 0.5f) / fw;
          q[1] = (y + 0.5f) / fh;
          q[2] = q[3] = 1.0f;
          q += 4;
        }
    l = last + 1;
  }
  return p;
}

float *
af__decode_ssd_priors (const AfDecodeSpec *spec, guint *n_priors)
{
  *n_priors = 0;
  if (spec->type == AF_DECODE_TYPE_BLAZEFACE)
    return blazeface_anchors (spec, n_priors);
  guint n = 0;
  for (guint l = 0; l < spec->n_levels; l++)
    n += spec->feature_w[l] * spec->feature_h[l] * spec->n_min_boxes[l];
  *n_priors = n;
  if (n == 0)
    return NULL;
  float *p = g_new (float, 4 * (gsize) n), *q = p;
  for (guint l = 0; l < spec->n_levels; l++) {
    int fw = spec->feature_w[l], fh = spec->feature_h[l];
    for (int j = 0; j < fh; j++)
      for (int i = 0; i < fw; i++)
        for (guint k = 0; k < spec->n_min_boxes[l]; k++) {
          q[0] = (i + 0.5f) / fw;
          q[1] = (j + 0.5f) / fh;
          q[2] = spec->min_boxes[l][k] / spec->input_w;
          q[3] = spec->min_boxes[l][k] / spec->input_h;
          for (int c = 0; c < 4; c++)
            q[c] = CLAMP (q[c], 0.0f, 1.0f);
          q += 4;
        }
  }
  return p;
}

/* ================================================================ binding */

G_GNUC_PRINTF (2, 3)
static gboolean
bind_fail (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, AF_ERROR, AF_ERROR_SHAPE, "decode: %s", msg);
  return FALSE;
}

static char *
shape_string (const AfTensorInfo *info)
{
  GString *s = g_string_new ("[");
  for (int d = 0; d < info->rank; d++)
    g_string_append_printf (s, d ? ",%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, info->shape[d]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Finds output @name for @role: its index, or -1 with @error set. */
static int
find_output (const char *role, const char *name, guint n_outputs, const AfTensorInfo *outputs,
             GError **error)
{
  for (guint i = 0; i < n_outputs; i++)
    if (outputs[i].name != NULL && strcmp (outputs[i].name, name) == 0)
      return i;
  GString *names = g_string_new (NULL);
  for (guint k = 0; k < n_outputs; k++)
    g_string_append_printf (names, k ? ", %s" : "%s", outputs[k].name);
  bind_fail (error, "role \"%s\" names tensor \"%s\", which is not a model output (outputs: %s)",
             role, name, names->str);
  g_string_free (names, TRUE);
  return -1;
}

/* Binds output @name to @role, viewed as [N, C] (leading dims 1). */
static gboolean
bind_role (const char *role, const char *name, guint n_outputs, const AfTensorInfo *outputs,
           AfRole *r, GError **error)
{
  int i = find_output (role, name, n_outputs, outputs, error);
  if (i < 0)
    return FALSE;
  const AfTensorInfo *info = &outputs[i];
  g_autofree char *shape = shape_string (info);
  gboolean ok = info->rank >= 2 && info->rank <= AF_MAX_RANK;
  for (int d = 0; ok && d < info->rank - 2; d++)
    ok = info->shape[d] == 1;
  if (!ok)
    return bind_fail (error, "role \"%s\": tensor \"%s\" has shape %s, expected [1,N,C]", role,
                      name, shape);
  r->index = i;
  r->n = info->shape[info->rank - 2];
  r->c = info->shape[info->rank - 1];
  if (r->n < 1 || r->c < 1 || r->n > MAX_CANDIDATES || r->c > MAX_CLASSES ||
      r->n * r->c > MAX_CANDIDATES)
    return bind_fail (error, "role \"%s\": tensor \"%s\" has shape %s, outside the limits", role,
                      name, shape);
  return TRUE;
}

static gboolean
bind_classification (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error)
{
  const char *name = dec->spec.scores;
  if (name == NULL) {
    if (n_outputs != 1)
      return bind_fail (error,
                        "classification: no tensor named for role \"scores\" and the "
                        "model has %u outputs",
                        n_outputs);
    name = outputs[0].name;
  }
  int index = find_output ("scores", name, n_outputs, outputs, error);
  if (index < 0)
    return FALSE;
  dec->scores.index = index;
  /* any shape with at most one dimension above 1: C = numel */
  const AfTensorInfo *info = &outputs[index];
  g_autofree char *shape = shape_string (info);
  int big = 0;
  for (int d = 0; d < info->rank; d++)
    big += info->shape[d] > 1;
  gint64 c = af_shape_numel (info->rank, info->shape);
  if (big > 1 || c < 1 || c > MAX_CLASSES)
    return bind_fail (error,
                      "classification: tensor \"%s\" has shape %s, expected one row of "
                      "class values like [1,C]",
                      name, shape);
  dec->n_classes = c;
  dec->values = g_new (float, c);
  return TRUE;
}

static gboolean
bind_ssd (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error)
{
  AfDecodeSpec *s = &dec->spec;
  const char *ty = af_decode_type_name (s->type);
  if (s->scores == NULL || s->boxes == NULL)
    return bind_fail (error, "%s: roles \"scores\" and \"boxes\" must name tensors", ty);
  if (!bind_role ("scores", s->scores, n_outputs, outputs, &dec->scores, error) ||
      !bind_role ("boxes", s->boxes, n_outputs, outputs, &dec->boxes, error))
    return FALSE;
  if (dec->boxes.c != 4)
    return bind_fail (
        error, "%s: tensor \"%s\" (boxes) has %" G_GINT64_FORMAT " values per box, expected 4", ty,
        s->boxes, dec->boxes.c);
  if (dec->boxes.n != dec->scores.n)
    return bind_fail (error,
                      "%s: tensor \"%s\" (boxes) has %" G_GINT64_FORMAT " boxes, \"%s\" "
                      "(scores) has %" G_GINT64_FORMAT,
                      ty, s->boxes, dec->boxes.n, s->scores, dec->scores.n);
  if (s->type == AF_DECODE_TYPE_SSD) {
    for (guint l = 0; l < s->n_levels; l++)
      if (s->feature_w[l] < 1 || s->feature_w[l] > MAX_FEATURE || s->feature_h[l] < 1 ||
          s->feature_h[l] > MAX_FEATURE || s->n_min_boxes[l] < 1 ||
          s->n_min_boxes[l] > AF_DECODE_MAX_ANCHORS)
        return bind_fail (error, "ssd: prior level %u is out of range", l);
    dec->priors = af__decode_ssd_priors (s, &dec->n_priors);
    if (dec->n_priors != dec->boxes.n)
      return bind_fail (error, "ssd: the priors give %u boxes, tensor \"%s\" has %" G_GINT64_FORMAT,
                        dec->n_priors, s->boxes, dec->boxes.n);
  }
  dec->n_classes = dec->scores.c;
  gint64 first = dec->n_classes > 1 ? 1 : 0;
  dec->max_cand = dec->scores.n * (dec->scores.c - first);
  return TRUE;
}

static gboolean
bind_blazeface (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error)
{
  AfDecodeSpec *s = &dec->spec;
  if (s->scores == NULL || s->boxes == NULL)
    return bind_fail (error, "blazeface: roles \"scores\" and \"boxes\" must name tensors");
  if (s->n_strides == 0)
    return bind_fail (error, "blazeface: no strides");
  for (guint l = 0; l < s->n_strides; l++)
    if (s->strides[l] < 1 || s->strides[l] > MAX_STRIDE)
      return bind_fail (error, "blazeface: stride %d is out of range", s->strides[l]);
  if (!bind_role ("scores", s->scores, n_outputs, outputs, &dec->scores, error) ||
      !bind_role ("boxes", s->boxes, n_outputs, outputs, &dec->boxes, error))
    return FALSE;
  gint64 c = dec->boxes.c;
  if (c < 4 || (c - 4) % 2 != 0 || c > 4 + 2 * AF_DECODE_MAX_LANDMARKS)
    return bind_fail (error,
                      "blazeface: tensor \"%s\" (boxes) has %" G_GINT64_FORMAT " values "
                      "per anchor, expected 4 + 2 per keypoint (up to %d keypoints)",
                      s->boxes, c, AF_DECODE_MAX_LANDMARKS);
  if (dec->scores.c != 1)
    return bind_fail (error,
                      "blazeface: tensor \"%s\" (scores) has %" G_GINT64_FORMAT " values "
                      "per anchor, expected 1",
                      s->scores, dec->scores.c);
  dec->priors = af__decode_ssd_priors (s, &dec->n_priors);
  if (dec->n_priors != dec->boxes.n || dec->n_priors != dec->scores.n)
    return bind_fail (error,
                      "blazeface: the anchors give %u boxes for a %dx%d input, tensors \"%s\" "
                      "and \"%s\" have %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT,
                      dec->n_priors, s->input_w, s->input_h, s->boxes, s->scores, dec->boxes.n,
                      dec->scores.n);
  dec->n_landmarks = (c - 4) / 2;
  dec->n_classes = 1;
  dec->max_cand = dec->n_priors;
  return TRUE;
}

static gboolean
bind_yunet (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error)
{
  AfDecodeSpec *s = &dec->spec;
  gboolean kps = s->n_strides > 0 && s->kps[0] != NULL;
  dec->n_landmarks = 0;
  dec->max_cand = 0;
  if (s->n_strides == 0)
    return bind_fail (error, "yunet: no strides");
  for (guint l = 0; l < s->n_strides; l++) {
    int st = s->strides[l];
    if (st <= 0 || s->input_w % st != 0 || s->input_h % st != 0)
      return bind_fail (error, "yunet: stride %d does not divide the %dx%d input", st, s->input_w,
                        s->input_h);
    gint64 cells = (gint64) (s->input_w / st) * (s->input_h / st);
    if (s->cls[l] == NULL || s->obj[l] == NULL || s->bbox[l] == NULL || (s->kps[l] != NULL) != kps)
      return bind_fail (error, "yunet: stride %d lacks a cls, obj, bbox or kps tensor name", st);
    if (!bind_role ("cls", s->cls[l], n_outputs, outputs, &dec->cls[l], error) ||
        !bind_role ("obj", s->obj[l], n_outputs, outputs, &dec->obj[l], error) ||
        !bind_role ("bbox", s->bbox[l], n_outputs, outputs, &dec->bbox[l], error) ||
        (kps && !bind_role ("kps", s->kps[l], n_outputs, outputs, &dec->kps[l], error)))
      return FALSE;
    const struct {
      const char *role, *name;
      AfRole *r;
      gint64 c;
    } want[] = {
      { "cls", s->cls[l], &dec->cls[l], 1 },
      { "obj", s->obj[l], &dec->obj[l], 1 },
      { "bbox", s->bbox[l], &dec->bbox[l], 4 },
      { "kps", s->kps[l], &dec->kps[l], kps ? dec->kps[l].c : 0 },
    };
    for (guint k = 0; k < (kps ? 4u : 3u); k++)
      if (want[k].r->n != cells || want[k].r->c != want[k].c)
        return bind_fail (error,
                          "yunet: stride %d: tensor \"%s\" (%s) is [1,%" G_GINT64_FORMAT
                          ",%" G_GINT64_FORMAT "], expected [1,%" G_GINT64_FORMAT
                          ",%" G_GINT64_FORMAT "] for a %dx%d input",
                          st, want[k].name, want[k].role, want[k].r->n, want[k].r->c, cells,
                          want[k].c, s->input_w, s->input_h);
    if (kps) {
      gint64 c = dec->kps[l].c;
      if (c % 2 != 0 || c > 2 * AF_DECODE_MAX_LANDMARKS || (l > 0 && c / 2 != dec->n_landmarks))
        return bind_fail (error,
                          "yunet: tensor \"%s\" (kps) has %" G_GINT64_FORMAT " values per "
                          "cell, expected an even number up to %d, the same for every stride",
                          s->kps[l], c, 2 * AF_DECODE_MAX_LANDMARKS);
      dec->n_landmarks = c / 2;
    }
    dec->max_cand += cells;
  }
  dec->n_classes = 1;
  return TRUE;
}

static gboolean
load_labels (AfDecoder *dec, const char *base_dir, GError **error)
{
  const char *path = dec->spec.labels;
  if (path == NULL)
    return TRUE;
  g_autofree char *full = (!g_path_is_absolute (path) && base_dir != NULL)
                              ? g_build_filename (base_dir, path, NULL)
                              : g_strdup (path);
  dec->labels = af__decode_load_labels (full, error);
  if (dec->labels == NULL)
    return FALSE;
  dec->n_labels = g_strv_length (dec->labels);
  if (dec->n_labels > dec->n_classes)
    return bind_fail (error, "labels file %s has %u labels, the model gives %u classes", full,
                      dec->n_labels, dec->n_classes);
  return TRUE;
}

AfDecoder *
af_decoder_new (const AfDecodeSpec *spec, const char *base_dir, guint n_outputs,
                const AfTensorInfo *outputs, GError **error)
{
  g_return_val_if_fail (spec != NULL && (outputs != NULL || n_outputs == 0), NULL);
  AfDecoder *dec = g_new0 (AfDecoder, 1);
  af_decode_spec_copy (&dec->spec, spec);
  gboolean ok;
  if (n_outputs == 0)
    ok = bind_fail (error, "%s: the model has no outputs", af_decode_type_name (spec->type));
  else if (spec->type != AF_DECODE_TYPE_CLASSIFICATION &&
           (spec->input_w < 1 || spec->input_h < 1 || spec->max_detections < 1 ||
            spec->n_levels > AF_DECODE_MAX_LEVELS || spec->n_strides > AF_DECODE_MAX_LEVELS))
    ok = bind_fail (error, "%s: input_size, max_detections, levels or strides out of range",
                    af_decode_type_name (spec->type));
  else if (spec->type == AF_DECODE_TYPE_CLASSIFICATION)
    ok = bind_classification (dec, n_outputs, outputs, error);
  else if (spec->type == AF_DECODE_TYPE_YUNET)
    ok = bind_yunet (dec, n_outputs, outputs, error);
  else if (spec->type == AF_DECODE_TYPE_BLAZEFACE)
    ok = bind_blazeface (dec, n_outputs, outputs, error);
  else
    ok = bind_ssd (dec, n_outputs, outputs, error);
  if (ok && spec->type == AF_DECODE_TYPE_CLASSIFICATION && spec->top_k < 1)
    ok = bind_fail (error, "classification: top_k must be at least 1");
  ok = ok && load_labels (dec, base_dir, error);
  if (!ok) {
    af_decoder_free (dec);
    return NULL;
  }
  if (dec->max_cand > 0) {
    dec->cand = g_new (AfDetection, dec->max_cand);
    dec->order = g_new (guint, dec->max_cand);
  }
  return dec;
}

void
af_decoder_free (AfDecoder *dec)
{
  if (dec == NULL)
    return;
  af_decode_spec_clear (&dec->spec);
  g_strfreev (dec->labels);
  g_free (dec->priors);
  g_free (dec->values);
  g_free (dec->cand);
  g_free (dec->order);
  g_free (dec);
}

const AfDecodeSpec *
af_decoder_spec (AfDecoder *dec)
{
  g_return_val_if_fail (dec != NULL, NULL);
  return &dec->spec;
}

const char *
af_decoder_label (AfDecoder *dec, guint i)
{
  g_return_val_if_fail (dec != NULL, NULL);
  if (i >= dec->n_labels || dec->labels[i][0] == '\0')
    return NULL;
  return dec->labels[i];
}

guint
af_decoder_n_labels (AfDecoder *dec)
{
  g_return_val_if_fail (dec != NULL, 0);
  return dec->n_labels;
}

AfDecodeResult *
af_decode_result_new (AfDecoder *dec)
{
  g_return_val_if_fail (dec != NULL, NULL);
  AfDecodeResult *res = g_new0 (AfDecodeResult, 1);
  res->type = dec->spec.type;
  if (dec->spec.type == AF_DECODE_TYPE_CLASSIFICATION) {
    res->capacity = MIN (dec->spec.top_k, dec->n_classes);
    res->classes = g_new0 (AfClassResult, res->capacity);
  } else {
    res->capacity = dec->spec.max_detections;
    res->detections = g_new0 (AfDetection, res->capacity);
  }
  return res;
}

void
af_decode_result_free (AfDecodeResult *res)
{
  if (res == NULL)
    return;
  g_free (res->classes);
  g_free (res->detections);
  g_free (res);
}

/* ================================================================ run */

static void
run_classification (AfDecoder *dec, const guint16 *data, AfDecodeResult *res)
{
  guint c = dec->n_classes;
  float *v = dec->values;
  af_fp16_to_f32_n (data, v, c);
  if (dec->spec.softmax) {
    float mx = -INFINITY;
    for (guint i = 0; i < c; i++)
      if (v[i] > mx)
        mx = v[i];
    double sum = 0;
    for (guint i = 0; i < c; i++) {
      if (isfinite (mx))
        v[i] = expf (v[i] - mx); /* NaN stays NaN */
      else
        v[i] = v[i] == mx ? 1.0f : 0.0f; /* +inf wins; all -inf: uniform zeros */
      sum += isnan (v[i]) ? 0 : v[i];
    }
    float inv = sum > 0 ? (float) (1.0 / sum) : 0.0f;
    for (guint i = 0; i < c; i++)
      v[i] *= inv;
  }
  /* top-k by insertion; strict > keeps the lower index first on ties */
  guint n = 0, k = res->capacity;
  AfClassResult *r = res->classes;
  for (guint i = 0; i < c; i++) {
    float s = isnan (v[i]) ? -INFINITY : v[i];
    if (n == k && !(s > r[n - 1].score))
      continue;
    guint pos = n < k ? n : k - 1;
    while (pos > 0 && s > r[pos - 1].score) {
      r[pos] = r[pos - 1];
      pos--;
    }
    r[pos].index = i;
    r[pos].score = s;
    if (n < k)
      n++;
  }
  for (guint i = 0; i < n; i++)
    r[i].label = af_decoder_label (dec, r[i].index);
  res->n = n;
}

static void
clip_det (AfDetection *d, float w, float h)
{
  d->x1 = CLAMP (d->x1, 0.0f, w);
  d->y1 = CLAMP (d->y1, 0.0f, h);
  d->x2 = CLAMP (d->x2, 0.0f, w);
  d->y2 = CLAMP (d->y2, 0.0f, h);
}

/* Box @i of an SSD model as corners, normalised. */
static void
ssd_box (AfDecoder *dec, const guint16 *boxes, guint i, float out[4])
{
  float r[4];
  af_fp16_to_f32_n (boxes + 4 * (gsize) i, r, 4);
  if (dec->priors == NULL) {
    memcpy (out, r, sizeof r);
    return;
  }
  const float *p = dec->priors + 4 * (gsize) i;
  float cv = dec->spec.center_variance, sv = dec->spec.size_variance;
  float cx = r[0] * cv * p[2] + p[0], cy = r[1] * cv * p[3] + p[1];
  float w = expf (r[2] * sv) * p[2], h = expf (r[3] * sv) * p[3];
  out[0] = cx - w / 2;
  out[1] = cy - h / 2;
  out[2] = cx + w / 2;
  out[3] = cy + h / 2;
}

static guint
collect_ssd (AfDecoder *dec, const guint16 *const *outputs)
{
  const guint16 *scores = outputs[dec->scores.index], *boxes = outputs[dec->boxes.index];
  const AfDecodeSpec *s = &dec->spec;
  gint64 n = dec->scores.n, c = dec->scores.c, first = c > 1 ? 1 : 0;
  float thr = s->score_threshold, w = s->input_w, h = s->input_h;
  guint m = 0;
  for (gint64 i = 0; i < n; i++) {
    gboolean have_box = FALSE;
    float b[4];
    for (gint64 k = first; k < c; k++) {
      float sc = af_fp16_to_f32 (scores[i * c + k]);
      if (!(sc >= thr))
        continue;
      if (!have_box) {
        ssd_box (dec, boxes, i, b);
        have_box = TRUE;
      }
      AfDetection *d = &dec->cand[m++];
      d->x1 = b[0];
      d->y1 = b[1];
      d->x2 = b[2];
      d->y2 = b[3];
      if (s->clip)
        clip_det (d, 1, 1);
      d->x1 *= w;
      d->x2 *= w;
      d->y1 *= h;
      d->y2 *= h;
      d->score = sc;
      d->label = k;
      d->n_landmarks = 0;
    }
  }
  return m;
}

static guint
collect_yunet (AfDecoder *dec, const guint16 *const *outputs)
{
  const AfDecodeSpec *s = &dec->spec;
  float thr = s->score_threshold;
  guint m = 0;
  for (guint l = 0; l < s->n_strides; l++) {
    const guint16 *cls = outputs[dec->cls[l].index], *obj = outputs[dec->obj[l].index];
    const guint16 *bbox = outputs[dec->bbox[l].index];
    const guint16 *kps = dec->n_landmarks ? outputs[dec->kps[l].index] : NULL;
    int st = s->strides[l], cols = s->input_w / st;
    for (gint64 i = 0; i < dec->cls[l].n; i++) {
      float cs = CLAMP (af_fp16_to_f32 (cls[i]), 0.0f, 1.0f);
      float os = CLAMP (af_fp16_to_f32 (obj[i]), 0.0f, 1.0f);
      float sc = sqrtf (cs * os);
      if (!(sc >= thr))
        continue;
      float b[4], row = i / cols, col = i % cols;
      af_fp16_to_f32_n (bbox + 4 * i, b, 4);
      float cx = (col + b[0]) * st, cy = (row + b[1]) * st;
      float w = expf (b[2]) * st, h = expf (b[3]) * st;
      AfDetection *d = &dec->cand[m++];
      d->x1 = cx - w / 2;
      d->y1 = cy - h / 2;
      d->x2 = cx + w / 2;
      d->y2 = cy + h / 2;
      if (s->clip)
        clip_det (d, s->input_w, s->input_h);
      d->score = sc;
      d->label = 0;
      d->n_landmarks = dec->n_landmarks;
      for (int k = 0; k < dec->n_landmarks; k++) {
        d->landmarks[2 * k] = (col + af_fp16_to_f32 (kps[i * 2 * dec->n_landmarks + 2 * k])) * st;
        d->landmarks[2 * k + 1] =
            (row + af_fp16_to_f32 (kps[i * 2 * dec->n_landmarks + 2 * k + 1])) * st;
      }
    }
  }
  return m;
}

/* MediaPipe TensorsToDetections with x/y/w/h scale = the input size and
 * reverse_output_order (x before y): regressions are input pixels relative
 * to the anchor centre; score = sigmoid (clamp (logit, -100, 100)). */
static guint
collect_blazeface (AfDecoder *dec, const guint16 *const *outputs)
{
  const guint16 *scores = outputs[dec->scores.index], *boxes = outputs[dec->boxes.index];
  const AfDecodeSpec *s = &dec->spec;
  float thr = s->score_threshold, iw = s->input_w, ih = s->input_h;
  gint64 c = dec->boxes.c;
  guint m = 0;
  for (guint i = 0; i < dec->n_priors; i++) {
    float logit = CLAMP (af_fp16_to_f32 (scores[i]), -100.0f, 100.0f);
    float sc = 1.0f / (1.0f + expf (-logit));
    if (!(sc >= thr))
      continue;
    const float *a = dec->priors + 4 * (gsize) i;
    float r[4 + 2 * AF_DECODE_MAX_LANDMARKS];
    af_fp16_to_f32_n (boxes + c * i, r, c);
    float cx = r[0] / iw * a[2] + a[0], cy = r[1] / ih * a[3] + a[1];
    float w = r[2] / iw * a[2], h = r[3] / ih * a[3];
    AfDetection *d = &dec->cand[m++];
    d->x1 = cx - w / 2;
    d->y1 = cy - h / 2;
    d->x2 = cx + w / 2;
    d->y2 = cy + h / 2;
    if (s->clip)
      clip_det (d, 1, 1);
    d->x1 *= iw;
    d->x2 *= iw;
    d->y1 *= ih;
    d->y2 *= ih;
    d->score = sc;
    d->label = 0;
    d->n_landmarks = dec->n_landmarks;
    for (int k = 0; k < dec->n_landmarks; k++) {
      d->landmarks[2 * k] = (r[4 + 2 * k] / iw * a[2] + a[0]) * iw;
      d->landmarks[2 * k + 1] = (r[5 + 2 * k] / ih * a[3] + a[1]) * ih;
    }
  }
  return m;
}

void
af_decoder_run (AfDecoder *dec, const guint16 *const *outputs, AfDecodeResult *res)
{
  g_return_if_fail (dec != NULL && outputs != NULL && res != NULL);
  g_return_if_fail (res->type == dec->spec.type);
  res->in_frame = FALSE;
  if (dec->spec.type == AF_DECODE_TYPE_CLASSIFICATION) {
    run_classification (dec, outputs[dec->scores.index], res);
    return;
  }
  guint m = dec->spec.type == AF_DECODE_TYPE_YUNET       ? collect_yunet (dec, outputs)
            : dec->spec.type == AF_DECODE_TYPE_BLAZEFACE ? collect_blazeface (dec, outputs)
                                                         : collect_ssd (dec, outputs);
  res->n = af__decode_nms (dec->cand, m, dec->spec.iou_threshold, res->capacity, dec->order,
                           res->detections);
  for (guint i = 0; i < res->n; i++)
    res->detections[i].label_name = af_decoder_label (dec, res->detections[i].label);
}

/* ================================================================ NMS */

float
af__decode_iou (const AfDetection *a, const AfDetection *b)
{
  float iw = MIN (a->x2, b->x2) - MAX (a->x1, b->x1);
  float ih = MIN (a->y2, b->y2) - MAX (a->y1, b->y1);
  float inter = MAX (iw, 0.0f) * MAX (ih, 0.0f);
  float aa = MAX (a->x2 - a->x1, 0.0f) * MAX (a->y2 - a->y1, 0.0f);
  float ab = MAX (b->x2 - b->x1, 0.0f) * MAX (b->y2 - b->y1, 0.0f);
  float uni = aa + ab - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

/* TRUE when candidate @a goes before @b: higher score, then lower index. */
static inline gboolean
before (const AfDetection *cand, guint a, guint b)
{
  float sa = cand[a].score, sb = cand[b].score;
  return sa > sb || (sa == sb && a < b);
}

static void
sift_down (const AfDetection *cand, guint *h, guint root, guint n)
{
  /* a heap whose top is the candidate that goes LAST */
  for (;;) {
    guint child = 2 * root + 1;
    if (child >= n)
      return;
    if (child + 1 < n && before (cand, h[child], h[child + 1]))
      child++;
    if (!before (cand, h[root], h[child]))
      return;
    guint t = h[root];
    h[root] = h[child];
    h[child] = t;
    root = child;
  }
}

/* Heap sort of indices by (score desc, index asc); allocates nothing. */
static void
sort_order (const AfDetection *cand, guint *order, guint n)
{
  for (guint i = 0; i < n; i++)
    order[i] = i;
  for (guint i = n / 2; i-- > 0;)
    sift_down (cand, order, i, n);
  for (guint end = n; end-- > 1;) {
    guint t = order[0];
    order[0] = order[end];
    order[end] = t;
    sift_down (cand, order, 0, end);
  }
}

guint
af__decode_nms (const AfDetection *cand, guint n, float iou_threshold, guint max_out, guint *order,
                AfDetection *out)
{
  guint kept = 0;
  sort_order (cand, order, n);
  for (guint i = 0; i < n && kept < max_out; i++) {
    const AfDetection *d = &cand[order[i]];
    if (isnan (d->score))
      continue;
    gboolean keep = TRUE;
    for (guint k = 0; k < kept && keep; k++)
      keep = out[k].label != d->label || !(af__decode_iou (&out[k], d) > iou_threshold);
    if (keep)
      out[kept++] = *d;
  }
  return kept;
}

/* ================================================================ frame map */

void
af_frame_map_stretch (AfFrameMap *map, int frame_w, int frame_h, int in_w, int in_h)
{
  g_return_if_fail (map != NULL && in_w > 0 && in_h > 0);
  map->scale_x = (float) frame_w / in_w;
  map->scale_y = (float) frame_h / in_h;
  map->offset_x = map->offset_y = 0;
  map->frame_w = frame_w;
  map->frame_h = frame_h;
}

void
af_frame_map_letterbox (AfFrameMap *map, int frame_w, int frame_h, int in_w, int in_h)
{
  g_return_if_fail (map != NULL && in_w > 0 && in_h > 0 && frame_w > 0 && frame_h > 0);
  double s = MIN ((double) in_w / frame_w, (double) in_h / frame_h);
  int cw = CLAMP ((int) lround (frame_w * s), 1, in_w);
  int ch = CLAMP ((int) lround (frame_h * s), 1, in_h);
  map->scale_x = (float) frame_w / cw;
  map->scale_y = (float) frame_h / ch;
  map->offset_x = (in_w - cw) / 2;
  map->offset_y = (in_h - ch) / 2;
  map->frame_w = frame_w;
  map->frame_h = frame_h;
}

static inline float
map_x (const AfFrameMap *m, float x)
{
  return CLAMP ((x - m->offset_x) * m->scale_x, 0.0f, m->frame_w);
}

static inline float
map_y (const AfFrameMap *m, float y)
{
  return CLAMP ((y - m->offset_y) * m->scale_y, 0.0f, m->frame_h);
}

void
af_decode_map_to_frame (AfDecodeResult *res, const AfFrameMap *map)
{
  g_return_if_fail (res != NULL && map != NULL);
  if (res->type == AF_DECODE_TYPE_CLASSIFICATION || res->in_frame)
    return;
  for (guint i = 0; i < res->n; i++) {
    AfDetection *d = &res->detections[i];
    d->x1 = map_x (map, d->x1);
    d->x2 = map_x (map, d->x2);
    d->y1 = map_y (map, d->y1);
    d->y2 = map_y (map, d->y2);
    for (int k = 0; k < d->n_landmarks; k++) {
      d->landmarks[2 * k] = map_x (map, d->landmarks[2 * k]);
      d->landmarks[2 * k + 1] = map_y (map, d->landmarks[2 * k + 1]);
    }
  }
  res->in_frame = TRUE;
}
