/* ssd.c — SSD detection: scores [1,N,C] with raw box regressions against
 * priors (UltraFace *_simplified, slim), or with boxes already decoded to
 * normalised corners (ssd-decoded: UltraFace version-RFB-320.onnx). */
#include "decoder.h"

#include <math.h>
#include <string.h>

static const char *const fields[] = { "type",          "style",          "scores",
                                      "boxes",         "labels",         "score_threshold",
                                      "iou_threshold", "max_detections", "input_size",
                                      "clip",          "priors",         NULL };
static const char *const decoded_fields[] = {
  "type",          "style",          "scores",     "boxes", "labels", "score_threshold",
  "iou_threshold", "max_detections", "input_size", "clip",  NULL
};
static const char *const priors_fields[] = { "feature_maps", "min_boxes", "variances", NULL };

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

void
af__decode_ssd_derive_feature_maps (AfDecodeSpec *spec)
{
  if (spec->n_levels != 4 || spec->input_w < 1 || spec->input_h < 1)
    return;
  for (guint l = 0; l < 4; l++) {
    int stride = 8 << l;
    spec->feature_w[l] = (spec->input_w + stride - 1) / stride;
    spec->feature_h[l] = (spec->input_h + stride - 1) / stride;
  }
}

static void
init_ssd (AfDecodeSpec *spec)
{
  spec->scores = g_strdup ("scores");
  spec->boxes = g_strdup ("boxes");
  spec->score_threshold = 0.7f;
  spec->input_w = 320;
  spec->input_h = 240;
  if (spec->type == AF_DECODE_TYPE_SSD)
    spec_default_priors (spec);
}

static gboolean
parse_feature_maps (AfJsonCtx *c, JsonNode *node, AfDecodeSpec *spec)
{
  JsonArray *a = af__json_want_array (c, "priors.feature_maps", node, 1, AF_DECODE_MAX_LEVELS);
  if (a == NULL)
    return FALSE;
  spec->n_levels = json_array_get_length (a);
  for (guint l = 0; l < spec->n_levels; l++) {
    g_autofree char *f = g_strdup_printf ("priors.feature_maps[%u]", l);
    g_autofree char *fw = g_strdup_printf ("priors.feature_maps[%u][0]", l);
    g_autofree char *fh = g_strdup_printf ("priors.feature_maps[%u][1]", l);
    JsonArray *p = af__json_want_array (c, f, json_array_get_element (a, l), 2, 2);
    gint64 w, h;
    if (p == NULL ||
        !af__json_want_int (c, fw, json_array_get_element (p, 0), 1, AF_DECODE_MAX_FEATURE, &w) ||
        !af__json_want_int (c, fh, json_array_get_element (p, 1), 1, AF_DECODE_MAX_FEATURE, &h))
      return FALSE;
    spec->feature_w[l] = w;
    spec->feature_h[l] = h;
  }
  return TRUE;
}

static gboolean
parse_min_boxes (AfJsonCtx *c, JsonNode *node, AfDecodeSpec *spec)
{
  JsonArray *a = af__json_want_array (c, "priors.min_boxes", node, 1, AF_DECODE_MAX_LEVELS);
  if (a == NULL)
    return FALSE;
  guint n = json_array_get_length (a);
  if (n != spec->n_levels)
    return af__json_fail (c, "priors.min_boxes", "has %u levels, priors.feature_maps has %u", n,
                          spec->n_levels);
  for (guint l = 0; l < n; l++) {
    g_autofree char *f = g_strdup_printf ("priors.min_boxes[%u]", l);
    JsonArray *m =
        af__json_want_array (c, f, json_array_get_element (a, l), 1, AF_DECODE_MAX_ANCHORS);
    if (m == NULL)
      return FALSE;
    spec->n_min_boxes[l] = json_array_get_length (m);
    for (guint k = 0; k < spec->n_min_boxes[l]; k++) {
      g_autofree char *fk = g_strdup_printf ("priors.min_boxes[%u][%u]", l, k);
      if (!af__json_want_number (c, fk, json_array_get_element (m, k), 1e-3,
                                 AF_DECODE_MAX_INPUT_SIZE, &spec->min_boxes[l][k]))
        return FALSE;
    }
  }
  return TRUE;
}

static gboolean
parse_priors (AfJsonCtx *c, JsonNode *node, AfDecodeSpec *spec)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return af__json_fail (c, "priors", "expected an object, got %s", af__json_node_kind (node));
  JsonObject *p = json_node_get_object (node);
  g_autoptr (GList) members = json_object_get_members (p);
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (priors_fields, l->data)) {
      g_autofree char *f = g_strdup_printf ("priors.%s", (char *) l->data);
      return af__json_fail (c, f,
                            "unknown field (priors take: feature_maps, min_boxes, variances)");
    }
  JsonNode *fm = json_object_get_member (p, "feature_maps");
  JsonNode *mb = json_object_get_member (p, "min_boxes");
  JsonNode *var = json_object_get_member (p, "variances");
  if (fm != NULL && !parse_feature_maps (c, fm, spec))
    return FALSE;
  if (mb != NULL && !parse_min_boxes (c, mb, spec))
    return FALSE;
  if (fm != NULL && mb == NULL && spec->n_levels != 4)
    return af__json_fail (c, "priors.min_boxes",
                          "missing: the default has 4 levels, "
                          "priors.feature_maps has %u",
                          spec->n_levels);
  if (var != NULL) {
    JsonArray *a = af__json_want_array (c, "priors.variances", var, 2, 2);
    if (a == NULL ||
        !af__json_want_number (c, "priors.variances[0]", json_array_get_element (a, 0), 1e-6, 100,
                               &spec->center_variance) ||
        !af__json_want_number (c, "priors.variances[1]", json_array_get_element (a, 1), 1e-6, 100,
                               &spec->size_variance))
      return FALSE;
  }
  guint64 total = 0;
  for (guint l = 0; l < spec->n_levels; l++)
    total += (guint64) spec->feature_w[l] * spec->feature_h[l] * spec->n_min_boxes[l];
  if (total > AF_DECODE_MAX_CANDIDATES)
    return af__json_fail (c, "priors", "%" G_GUINT64_FORMAT " priors, above the limit of %d", total,
                          AF_DECODE_MAX_CANDIDATES);
  return TRUE;
}

static gboolean
parse_ssd (AfJsonCtx *c, JsonObject *obj, AfDecodeSpec *spec)
{
  JsonNode *priors = json_object_get_member (obj, "priors");
  /* feature maps not given follow the input size */
  if (json_object_has_member (obj, "input_size") &&
      (priors == NULL || !JSON_NODE_HOLDS_OBJECT (priors) ||
       !json_object_has_member (json_node_get_object (priors), "feature_maps")))
    af__decode_ssd_derive_feature_maps (spec);
  return priors == NULL || parse_priors (c, priors, spec);
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
      json_builder_add_double_value (b, af__json_float (spec->min_boxes[l][k]));
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "variances");
  json_builder_begin_array (b);
  json_builder_add_double_value (b, af__json_float (spec->center_variance));
  json_builder_add_double_value (b, af__json_float (spec->size_variance));
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static void
write_ssd (const AfDecodeSpec *spec, JsonBuilder *b)
{
  if (spec->n_levels > 0)
    json_write_priors (b, spec);
}

float *
af__decode_ssd_priors (const AfDecodeSpec *spec, guint *n_priors)
{
  *n_priors = 0;
  if (spec->type == AF_DECODE_TYPE_BLAZEFACE)
    return af__decode_blazeface_anchors (spec, n_priors);
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

static gboolean
bind_ssd (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error)
{
  AfDecodeSpec *s = &dec->spec;
  const char *ty = af_decode_type_name (s->type);
  if (s->scores == NULL || s->boxes == NULL)
    return af__bind_fail (error, "%s: roles \"scores\" and \"boxes\" must name tensors", ty);
  if (!af__bind_role ("scores", s->scores, n_outputs, outputs, &dec->scores, error) ||
      !af__bind_role ("boxes", s->boxes, n_outputs, outputs, &dec->boxes, error))
    return FALSE;
  if (dec->boxes.c != 4)
    return af__bind_fail (
        error, "%s: tensor \"%s\" (boxes) has %" G_GINT64_FORMAT " values per box, expected 4", ty,
        s->boxes, dec->boxes.c);
  if (dec->boxes.n != dec->scores.n)
    return af__bind_fail (error,
                          "%s: tensor \"%s\" (boxes) has %" G_GINT64_FORMAT " boxes, \"%s\" "
                          "(scores) has %" G_GINT64_FORMAT,
                          ty, s->boxes, dec->boxes.n, s->scores, dec->scores.n);
  if (s->type == AF_DECODE_TYPE_SSD) {
    for (guint l = 0; l < s->n_levels; l++)
      if (s->feature_w[l] < 1 || s->feature_w[l] > AF_DECODE_MAX_FEATURE || s->feature_h[l] < 1 ||
          s->feature_h[l] > AF_DECODE_MAX_FEATURE || s->n_min_boxes[l] < 1 ||
          s->n_min_boxes[l] > AF_DECODE_MAX_ANCHORS)
        return af__bind_fail (error, "ssd: prior level %u is out of range", l);
    guint64 total = 0;
    for (guint l = 0; l < s->n_levels; l++)
      total += (guint64) s->feature_w[l] * s->feature_h[l] * s->n_min_boxes[l];
    if (total > AF_DECODE_MAX_CANDIDATES)
      return af__bind_fail (
          error, "ssd: %" G_GUINT64_FORMAT " priors for a %dx%d input, above the limit of %d",
          total, s->input_w, s->input_h, AF_DECODE_MAX_CANDIDATES);
    dec->priors = af__decode_ssd_priors (s, &dec->n_priors);
    if (dec->n_priors != dec->boxes.n)
      return af__bind_fail (error,
                            "ssd: the priors give %u boxes, tensor \"%s\" has %" G_GINT64_FORMAT,
                            dec->n_priors, s->boxes, dec->boxes.n);
  }
  dec->n_classes = dec->scores.c;
  gint64 first = dec->n_classes > 1 ? 1 : 0;
  dec->max_cand = dec->scores.n * (dec->scores.c - first);
  return TRUE;
}

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
        af__clip_det (d, 1, 1);
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

const AfDecoderClass af__decoder_ssd = {
  .type = AF_DECODE_TYPE_SSD,
  .name = "ssd",
  .style = "ssd",
  .fields = fields,
  .init = init_ssd,
  .parse = parse_ssd,
  .write = write_ssd,
  .bind = bind_ssd,
  .collect = collect_ssd,
};

const AfDecoderClass af__decoder_ssd_decoded = {
  .type = AF_DECODE_TYPE_SSD_DECODED,
  .name = "ssd-decoded",
  .style = "ssd-decoded",
  .fields = decoded_fields,
  .init = init_ssd,
  .bind = bind_ssd,
  .collect = collect_ssd,
};
