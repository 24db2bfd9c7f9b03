/* spec-json.c — a decode spec from and to JSON (outputs[].decode): the
 * fields every type shares and the dispatch to a type's own fields; the
 * unknown-field check is the loader's (json-check.h). */
#include "decoder.h"
#include "json-check.h"

#include <string.h>

/* The loader's kind names, except that any JSON number is "a number". */
const char *
af__json_node_kind (JsonNode *node)
{
  return af__json_is_number (node) ? "a number" : af__json_kind (node);
}

G_GNUC_PRINTF (3, 4)
gboolean
af__json_fail (AfJsonCtx *c, const char *field, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (c->error, AF_ERROR, AF_ERROR_INVALID, "%s: decode: field \"%s\": %s", c->where,
               field, msg);
  return FALSE;
}

gboolean
af__json_want_string (AfJsonCtx *c, const char *field, JsonNode *node, char **out)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return af__json_fail (c, field, "expected a string, got %s", af__json_node_kind (node));
  const char *s = json_node_get_string (node);
  if (s[0] == '\0')
    return af__json_fail (c, field, "must not be empty");
  g_free (*out);
  *out = g_strdup (s);
  return TRUE;
}

gboolean
af__json_want_bool (AfJsonCtx *c, const char *field, JsonNode *node, gboolean *out)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return af__json_fail (c, field, "expected true or false, got %s", af__json_node_kind (node));
  *out = json_node_get_boolean (node);
  return TRUE;
}

gboolean
af__json_want_number (AfJsonCtx *c, const char *field, JsonNode *node, double lo, double hi,
                      float *out)
{
  if (!af__json_is_number (node))
    return af__json_fail (c, field, "expected a number in [%g, %g], got %s", lo, hi,
                          af__json_node_kind (node));
  double v = json_node_get_double (node);
  if (!(v >= lo && v <= hi))
    return af__json_fail (c, field, "expected a number in [%g, %g], got %g", lo, hi, v);
  *out = (float) v;
  return TRUE;
}

gboolean
af__json_want_int (AfJsonCtx *c, const char *field, JsonNode *node, gint64 lo, gint64 hi,
                   gint64 *out)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return af__json_fail (
        c, field, "expected an integer in [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "], got %s", lo,
        hi, af__json_node_kind (node));
  gint64 v = json_node_get_int (node);
  if (v < lo || v > hi)
    return af__json_fail (c, field,
                          "expected an integer in [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                          "], got %" G_GINT64_FORMAT,
                          lo, hi, v);
  *out = v;
  return TRUE;
}

JsonArray *
af__json_want_array (AfJsonCtx *c, const char *field, JsonNode *node, guint min_len, guint max_len)
{
  if (!JSON_NODE_HOLDS_ARRAY (node)) {
    af__json_fail (c, field, "expected an array, got %s", af__json_node_kind (node));
    return NULL;
  }
  JsonArray *a = json_node_get_array (node);
  guint n = json_array_get_length (a);
  if (n < min_len || n > max_len) {
    af__json_fail (c, field, "expected %u to %u entries, got %u", min_len, max_len, n);
    return NULL;
  }
  return a;
}

/* TRUE if some decode type takes @field. */
static gboolean
known_field (const char *field)
{
  for (int t = 0;; t++) {
    const AfDecoderClass *k = af__decoder_class (t);
    if (k == NULL)
      return FALSE;
    if (g_strv_contains (k->fields, field))
      return TRUE;
  }
}

/* Rejects members of @obj that @k does not take, telling a field of
 * another decode type (misplaced) apart from a misspelt one. */
static gboolean
check_fields (AfJsonCtx *c, JsonObject *obj, const AfDecoderClass *k)
{
  const char *m = af__json_unknown_field (obj, k->fields);
  if (m == NULL)
    return TRUE;
  if (known_field (m))
    return af__json_fail (c, m, "not valid for a %s decode", k->name);
  g_autofree char *list = g_strjoinv (", ", (char **) k->fields);
  return af__json_fail (c, m, "unknown field (a %s decode takes: %s)", k->name, list);
}

#define TYPES "\"classification\", \"detection\", \"segmentation\" or \"keypoints\""

static const AfDecoderClass *
parse_type (AfJsonCtx *c, JsonObject *obj)
{
  JsonNode *n = json_object_get_member (obj, "type");
  g_autofree char *t = NULL, *style = NULL;
  if (n == NULL) {
    af__json_fail (c, "type", "missing (%s)", TYPES);
    return NULL;
  }
  if (!af__json_want_string (c, "type", n, &t))
    return NULL;
  for (int k = 0; af__decoder_class (k) != NULL; k++)
    if (af__decoder_class (k)->style == NULL && strcmp (t, af__decoder_class (k)->name) == 0)
      return af__decoder_class (k);
  if (strcmp (t, "detection") != 0) {
    af__json_fail (c, "type", "unknown type \"%s\" (%s)", t, TYPES);
    return NULL;
  }
  g_autofree char *styles = af__decoder_style_list ();
  n = json_object_get_member (obj, "style");
  if (n == NULL) {
    af__json_fail (c, "style", "missing (%s)", styles);
    return NULL;
  }
  if (!af__json_want_string (c, "style", n, &style))
    return NULL;
  const AfDecoderClass *k = af__decoder_class_by_style (style);
  if (k == NULL)
    af__json_fail (c, "style", "unknown style \"%s\" (%s)", style, styles);
  return k;
}

static gboolean
parse_common (AfJsonCtx *c, JsonObject *obj, AfDecodeSpec *spec)
{
  JsonNode *n;
  gint64 v;
  if ((n = json_object_get_member (obj, "scores")) &&
      !af__json_want_string (c, "scores", n, &spec->scores))
    return FALSE;
  if ((n = json_object_get_member (obj, "boxes")) &&
      !af__json_want_string (c, "boxes", n, &spec->boxes))
    return FALSE;
  if ((n = json_object_get_member (obj, "labels")) &&
      !af__json_want_string (c, "labels", n, &spec->labels))
    return FALSE;
  if ((n = json_object_get_member (obj, "softmax")) &&
      !af__json_want_bool (c, "softmax", n, &spec->softmax))
    return FALSE;
  if ((n = json_object_get_member (obj, "top_k"))) {
    if (!af__json_want_int (c, "top_k", n, 1, AF_DECODE_MAX_TOP_K, &v))
      return FALSE;
    spec->top_k = v;
  }
  if ((n = json_object_get_member (obj, "score_threshold")) &&
      !af__json_want_number (c, "score_threshold", n, 0, 1, &spec->score_threshold))
    return FALSE;
  if ((n = json_object_get_member (obj, "iou_threshold")) &&
      !af__json_want_number (c, "iou_threshold", n, 0, 1, &spec->iou_threshold))
    return FALSE;
  if ((n = json_object_get_member (obj, "max_detections"))) {
    if (!af__json_want_int (c, "max_detections", n, 1, AF_DECODE_MAX_DETECTIONS, &v))
      return FALSE;
    spec->max_detections = v;
  }
  if ((n = json_object_get_member (obj, "clip")) && !af__json_want_bool (c, "clip", n, &spec->clip))
    return FALSE;
  if ((n = json_object_get_member (obj, "input_size"))) {
    JsonArray *a = af__json_want_array (c, "input_size", n, 2, 2);
    gint64 w, h;
    if (a == NULL ||
        !af__json_want_int (c, "input_size[0]", json_array_get_element (a, 0), 1,
                            AF_DECODE_MAX_INPUT_SIZE, &w) ||
        !af__json_want_int (c, "input_size[1]", json_array_get_element (a, 1), 1,
                            AF_DECODE_MAX_INPUT_SIZE, &h))
      return FALSE;
    spec->input_w = w;
    spec->input_h = h;
  }
  return TRUE;
}

gboolean
af__json_parse_strides (AfJsonCtx *c, JsonNode *n, AfDecodeSpec *spec)
{
  JsonArray *a = af__json_want_array (c, "strides", n, 1, AF_DECODE_MAX_LEVELS);
  if (a == NULL)
    return FALSE;
  spec->n_strides = json_array_get_length (a);
  for (guint l = 0; l < spec->n_strides; l++) {
    g_autofree char *f = g_strdup_printf ("strides[%u]", l);
    gint64 s;
    if (!af__json_want_int (c, f, json_array_get_element (a, l), 1, AF_DECODE_MAX_STRIDE, &s))
      return FALSE;
    spec->strides[l] = s;
  }
  for (guint l = spec->n_strides; l < AF_DECODE_MAX_LEVELS; l++)
    spec->strides[l] = 0;
  return TRUE;
}

gboolean
af__decode_spec_from_json (JsonObject *obj, const char *where, AfDecodeSpec *spec, GError **error)
{
  g_return_val_if_fail (obj != NULL && spec != NULL, FALSE);
  AfJsonCtx c = { where ? where : "decode", error };
  memset (spec, 0, sizeof *spec);
  const AfDecoderClass *k = parse_type (&c, obj);
  if (k == NULL)
    return FALSE;
  af_decode_spec_init (spec, k->type);
  gboolean ok = check_fields (&c, obj, k) && parse_common (&c, obj, spec) &&
                (k->parse == NULL || k->parse (&c, obj, spec));
  if (!ok)
    af_decode_spec_clear (spec);
  return ok;
}

/* @f as the double of its shortest decimal spelling that reads back as
 * the same float (0.3f -> 0.3, not 0.30000001192092896). */
double
af__json_float (float f)
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

void
af__json_member_string (JsonBuilder *b, const char *name, const char *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

void
af__json_member_strides (JsonBuilder *b, const AfDecodeSpec *spec)
{
  json_builder_set_member_name (b, "strides");
  json_builder_begin_array (b);
  for (guint l = 0; l < spec->n_strides; l++)
    json_builder_add_int_value (b, spec->strides[l]);
  json_builder_end_array (b);
}

static void
json_write_detection (JsonBuilder *b, const AfDecodeSpec *spec, const AfDecoderClass *k)
{
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "detection");
  af__json_member_string (b, "style", k->style);
  if (g_strv_contains (k->fields, "scores"))
    af__json_member_string (b, "scores", spec->scores);
  if (g_strv_contains (k->fields, "boxes"))
    af__json_member_string (b, "boxes", spec->boxes);
  af__json_member_string (b, "labels", spec->labels);
  json_builder_set_member_name (b, "score_threshold");
  json_builder_add_double_value (b, af__json_float (spec->score_threshold));
  json_builder_set_member_name (b, "iou_threshold");
  json_builder_add_double_value (b, af__json_float (spec->iou_threshold));
  json_builder_set_member_name (b, "max_detections");
  json_builder_add_int_value (b, spec->max_detections);
  json_builder_set_member_name (b, "input_size");
  json_builder_begin_array (b);
  json_builder_add_int_value (b, spec->input_w);
  json_builder_add_int_value (b, spec->input_h);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "clip");
  json_builder_add_boolean_value (b, spec->clip);
}

void
af__decode_spec_to_json (const AfDecodeSpec *spec, JsonBuilder *b)
{
  g_return_if_fail (spec != NULL && b != NULL);
  const AfDecoderClass *k = af__decoder_class (spec->type);
  g_return_if_fail (k != NULL);
  json_builder_begin_object (b);
  if (k->style != NULL)
    json_write_detection (b, spec, k);
  else
    af__json_member_string (b, "type", k->name);
  if (k->write != NULL)
    k->write (spec, b);
  json_builder_end_object (b);
}
