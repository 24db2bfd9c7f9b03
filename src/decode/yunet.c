/* yunet.c — YuNet detection: per-stride cls/obj/bbox/kps grids with
 * landmarks (face_detection_yunet). */
#include "decoder.h"

#include <math.h>

static const char *const fields[] = { "type",          "style",
                                      "labels",        "score_threshold",
                                      "iou_threshold", "max_detections",
                                      "input_size",    "clip",
                                      "strides",       "cls",
                                      "obj",           "bbox",
                                      "kps",           NULL };

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

static void
init_yunet (AfDecodeSpec *spec)
{
  spec->score_threshold = 0.6f;
  spec->input_w = 320;
  spec->input_h = 320;
  spec->n_strides = 3;
  spec->strides[0] = 8;
  spec->strides[1] = 16;
  spec->strides[2] = 32;
  spec_default_yunet_names (spec, TRUE);
}

static gboolean
parse_names (AfJsonCtx *c, JsonObject *obj, const char *field, guint n_strides, char **names,
             gboolean may_be_empty)
{
  JsonNode *node = json_object_get_member (obj, field);
  if (node == NULL)
    return TRUE;
  JsonArray *a = af__json_want_array (c, field, node, 0, AF_DECODE_MAX_LEVELS);
  if (a == NULL)
    return FALSE;
  guint n = json_array_get_length (a);
  if (n == 0 && may_be_empty) {
    for (guint l = 0; l < AF_DECODE_MAX_LEVELS; l++)
      g_clear_pointer (&names[l], g_free);
    return TRUE;
  }
  if (n != n_strides)
    return af__json_fail (c, field, "has %u names, \"strides\" has %u entries", n, n_strides);
  for (guint l = 0; l < n; l++) {
    g_autofree char *f = g_strdup_printf ("%s[%u]", field, l);
    if (!af__json_want_string (c, f, json_array_get_element (a, l), &names[l]))
      return FALSE;
  }
  return TRUE;
}

static gboolean
parse_yunet (AfJsonCtx *c, JsonObject *obj, AfDecodeSpec *spec)
{
  JsonNode *n = json_object_get_member (obj, "strides");
  if (n != NULL) {
    if (!af__json_parse_strides (c, n, spec))
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
      return af__json_fail (c, "strides", "input_size %dx%d is not a multiple of stride %d",
                            spec->input_w, spec->input_h, spec->strides[l]);
  return parse_names (c, obj, "cls", spec->n_strides, spec->cls, FALSE) &&
         parse_names (c, obj, "obj", spec->n_strides, spec->obj, FALSE) &&
         parse_names (c, obj, "bbox", spec->n_strides, spec->bbox, FALSE) &&
         parse_names (c, obj, "kps", spec->n_strides, spec->kps, TRUE);
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
write_yunet (const AfDecodeSpec *spec, JsonBuilder *b)
{
  af__json_member_strides (b, spec);
  json_member_names (b, "cls", spec->cls, spec->n_strides);
  json_member_names (b, "obj", spec->obj, spec->n_strides);
  json_member_names (b, "bbox", spec->bbox, spec->n_strides);
  json_member_names (b, "kps", spec->kps, spec->n_strides); /* []: no landmarks */
}

static gboolean
bind_yunet (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error)
{
  AfDecodeSpec *s = &dec->spec;
  gboolean kps = s->n_strides > 0 && s->kps[0] != NULL;
  dec->n_landmarks = 0;
  dec->max_cand = 0;
  if (s->n_strides == 0)
    return af__bind_fail (error, "yunet: no strides");
  for (guint l = 0; l < s->n_strides; l++) {
    int st = s->strides[l];
    if (st <= 0 || s->input_w % st != 0 || s->input_h % st != 0)
      return af__bind_fail (error, "yunet: stride %d does not divide the %dx%d input", st,
                            s->input_w, s->input_h);
    gint64 cells = (gint64) (s->input_w / st) * (s->input_h / st);
    if (s->cls[l] == NULL || s->obj[l] == NULL || s->bbox[l] == NULL || (s->kps[l] != NULL) != kps)
      return af__bind_fail (error, "yunet: stride %d lacks a cls, obj, bbox or kps tensor name",
                            st);
    if (!af__bind_role ("cls", s->cls[l], n_outputs, outputs, &dec->cls[l], error) ||
        !af__bind_role ("obj", s->obj[l], n_outputs, outputs, &dec->obj[l], error) ||
        !af__bind_role ("bbox", s->bbox[l], n_outputs, outputs, &dec->bbox[l], error) ||
        (kps && !af__bind_role ("kps", s->kps[l], n_outputs, outputs, &dec->kps[l], error)))
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
        return af__bind_fail (error,
                              "yunet: stride %d: tensor \"%s\" (%s) is [1,%" G_GINT64_FORMAT
                              ",%" G_GINT64_FORMAT "], expected [1,%" G_GINT64_FORMAT
                              ",%" G_GINT64_FORMAT "] for a %dx%d input",
                              st, want[k].name, want[k].role, want[k].r->n, want[k].r->c, cells,
                              want[k].c, s->input_w, s->input_h);
    if (kps) {
      gint64 c = dec->kps[l].c;
      if (c % 2 != 0 || c > 2 * AF_DECODE_MAX_LANDMARKS || (l > 0 && c / 2 != dec->n_landmarks))
        return af__bind_fail (error,
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
        af__clip_det (d, s->input_w, s->input_h);
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

const AfDecoderClass af__decoder_yunet = {
  .type = AF_DECODE_TYPE_YUNET,
  .name = "yunet",
  .style = "yunet",
  .fields = fields,
  .init = init_yunet,
  .parse = parse_yunet,
  .write = write_yunet,
  .bind = bind_yunet,
  .collect = collect_yunet,
};
