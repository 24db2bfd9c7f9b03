/* keypoints.c — one set of N points per frame (hand or pose landmarks,
 * MoveNet): each point is strlen(layout) consecutive values of the tensor,
 * read by letter (x, y, s = score, v = visibility logit whose sigmoid is
 * the score; other letters skipped), in input pixels or normalised; with
 * the skeleton's edges for drawing. */
#include "decoder.h"

#include <math.h>
#include <string.h>

static const char *const fields[] = { "type",       "scores",     "labels",
                                      "skeleton",   "points",     "layout",
                                      "normalized", "input_size", "score_threshold",
                                      NULL };

/* MediaPipe HAND_CONNECTIONS */
static const guint8 hand_edges[][2] = {
  { 0, 1 },   { 1, 2 },   { 2, 3 },   { 3, 4 },   { 0, 5 },   { 5, 6 },   { 6, 7 },
  { 7, 8 },   { 5, 9 },   { 9, 10 },  { 10, 11 }, { 11, 12 }, { 9, 13 },  { 13, 14 },
  { 14, 15 }, { 15, 16 }, { 13, 17 }, { 0, 17 },  { 17, 18 }, { 18, 19 }, { 19, 20 },
};
/* MediaPipe POSE_CONNECTIONS (BlazePose, 33 points) */
static const guint8 pose_edges[][2] = {
  { 0, 1 },   { 1, 2 },   { 2, 3 },   { 3, 7 },   { 0, 4 },   { 4, 5 },   { 5, 6 },
  { 6, 8 },   { 9, 10 },  { 11, 12 }, { 11, 13 }, { 13, 15 }, { 15, 17 }, { 15, 19 },
  { 15, 21 }, { 17, 19 }, { 12, 14 }, { 14, 16 }, { 16, 18 }, { 16, 20 }, { 16, 22 },
  { 18, 20 }, { 11, 23 }, { 12, 24 }, { 23, 24 }, { 23, 25 }, { 24, 26 }, { 25, 27 },
  { 26, 28 }, { 27, 29 }, { 28, 30 }, { 29, 31 }, { 30, 32 }, { 27, 31 }, { 28, 32 },
};
/* COCO keypoints as MoveNet draws them (17 points) */
static const guint8 movenet_edges[][2] = {
  { 0, 1 },  { 0, 2 },   { 1, 3 },   { 2, 4 },   { 0, 5 },   { 0, 6 },
  { 5, 7 },  { 7, 9 },   { 6, 8 },   { 8, 10 },  { 5, 6 },   { 5, 11 },
  { 6, 12 }, { 11, 12 }, { 11, 13 }, { 13, 15 }, { 12, 14 }, { 14, 16 },
};

static const struct {
  const char *name;
  guint n_points;
  const char *layout;
  gboolean normalized;
  int input;
  float threshold;
  const guint8 (*edges)[2];
  guint n_edges;
} skeletons[] = {
  [AF_SKELETON_NONE] = { "none", 0, "xy", FALSE, 256, 0, NULL, 0 },
  [AF_SKELETON_HAND] = { "hand", 21, "xyz", FALSE, 224, 0, hand_edges, G_N_ELEMENTS (hand_edges) },
  [AF_SKELETON_POSE] = { "pose", 33, "xyzvp", FALSE, 256, 0.5f, pose_edges,
                         G_N_ELEMENTS (pose_edges) },
  [AF_SKELETON_MOVENET] = { "movenet", 17, "yxs", TRUE, 192, 0.3f, movenet_edges,
                            G_N_ELEMENTS (movenet_edges) },
};

void
af_decode_spec_set_skeleton (AfDecodeSpec *spec, AfSkeleton sk)
{
  g_return_if_fail (spec != NULL && (guint) sk < G_N_ELEMENTS (skeletons));
  spec->skeleton = sk;
  spec->n_points = skeletons[sk].n_points;
  g_strlcpy (spec->layout, skeletons[sk].layout, sizeof spec->layout);
  spec->normalized = skeletons[sk].normalized;
  spec->input_w = spec->input_h = skeletons[sk].input;
  spec->score_threshold = skeletons[sk].threshold;
}

static void
init_keypoints (AfDecodeSpec *spec)
{
  af_decode_spec_set_skeleton (spec, AF_SKELETON_NONE);
}

static gboolean
parse_keypoints (AfJsonCtx *c, JsonObject *obj, AfDecodeSpec *spec)
{
  JsonNode *n = json_object_get_member (obj, "skeleton");
  g_autofree char *name = NULL;
  if (n != NULL) {
    if (!af__json_want_string (c, "skeleton", n, &name))
      return FALSE;
    guint k = 0;
    while (k < G_N_ELEMENTS (skeletons) && strcmp (skeletons[k].name, name) != 0)
      k++;
    if (k == G_N_ELEMENTS (skeletons))
      return af__json_fail (c, "skeleton",
                            "unknown skeleton \"%s\" (\"none\", \"hand\", \"pose\" or \"movenet\")",
                            name);
    /* the skeleton's defaults, then the fields given beside it win again */
    int w = spec->input_w, h = spec->input_h;
    float thr = spec->score_threshold;
    af_decode_spec_set_skeleton (spec, k);
    if (json_object_has_member (obj, "input_size"))
      spec->input_w = w, spec->input_h = h;
    if (json_object_has_member (obj, "score_threshold"))
      spec->score_threshold = thr;
  }
  gint64 v;
  if ((n = json_object_get_member (obj, "points"))) {
    if (!af__json_want_int (c, "points", n, 1, AF_DECODE_MAX_KEYPOINTS, &v))
      return FALSE;
    spec->n_points = v;
  }
  if ((n = json_object_get_member (obj, "layout"))) {
    g_autofree char *layout = NULL;
    if (!af__json_want_string (c, "layout", n, &layout))
      return FALSE;
    if (strlen (layout) >= sizeof spec->layout || strchr (layout, 'x') == NULL ||
        strchr (layout, 'y') == NULL)
      return af__json_fail (c, "layout",
                            "expected up to %zu letters with an x and a y (\"xy\", \"xyz\", "
                            "\"yxs\", \"xyzvp\"), got \"%s\"",
                            sizeof spec->layout - 1, layout);
    g_strlcpy (spec->layout, layout, sizeof spec->layout);
  }
  if ((n = json_object_get_member (obj, "normalized")) &&
      !af__json_want_bool (c, "normalized", n, &spec->normalized))
    return FALSE;
  if (spec->n_points < 1)
    return af__json_fail (c, "points", "missing (no skeleton gives the count)");
  if (spec->skeleton != AF_SKELETON_NONE && spec->n_points < skeletons[spec->skeleton].n_points)
    return af__json_fail (c, "points", "%u points, the %s skeleton needs %u", spec->n_points,
                          skeletons[spec->skeleton].name, skeletons[spec->skeleton].n_points);
  return TRUE;
}

static void
write_keypoints (const AfDecodeSpec *spec, JsonBuilder *b)
{
  af__json_member_string (b, "scores", spec->scores);
  af__json_member_string (b, "labels", spec->labels);
  af__json_member_string (b, "skeleton", skeletons[spec->skeleton].name);
  json_builder_set_member_name (b, "points");
  json_builder_add_int_value (b, spec->n_points);
  af__json_member_string (b, "layout", spec->layout);
  json_builder_set_member_name (b, "normalized");
  json_builder_add_boolean_value (b, spec->normalized);
  json_builder_set_member_name (b, "input_size");
  json_builder_begin_array (b);
  json_builder_add_int_value (b, spec->input_w);
  json_builder_add_int_value (b, spec->input_h);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "score_threshold");
  json_builder_add_double_value (b, af__json_float (spec->score_threshold));
}

static gboolean
bind_keypoints (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error)
{
  const AfDecodeSpec *s = &dec->spec;
  gsize per = strlen (s->layout);
  if ((guint) s->skeleton >= G_N_ELEMENTS (skeletons) || s->n_points < 1 ||
      s->n_points > AF_DECODE_MAX_KEYPOINTS || per < 2 || per >= sizeof s->layout ||
      strchr (s->layout, 'x') == NULL || strchr (s->layout, 'y') == NULL ||
      (s->skeleton != AF_SKELETON_NONE && s->n_points < skeletons[s->skeleton].n_points) ||
      s->input_w < 1 || s->input_h < 1)
    return af__bind_fail (error, "keypoints: points, layout, skeleton or input_size out of range");
  int index = af__bind_head (dec, n_outputs, outputs, error);
  if (index < 0)
    return FALSE;
  const AfTensorInfo *info = &outputs[index];
  gint64 numel = af_shape_numel (info->rank, info->shape);
  if (numel < (gint64) (s->n_points * per)) {
    g_autofree char *shape = af__shape_string (info);
    return af__bind_fail (error,
                          "keypoints: tensor \"%s\" has shape %s (%" G_GINT64_FORMAT
                          " values), expected at least %u points of %zu values (\"%s\")",
                          info->name, shape, numel, s->n_points, per, s->layout);
  }
  dec->scores.index = index;
  dec->scores.c = per;
  dec->n_classes = s->n_points;
  return TRUE;
}

static void
result_init (AfDecoder *dec, AfDecodeResult *res)
{
  res->capacity = dec->spec.n_points;
  res->keypoints = g_new0 (AfKeypoint, res->capacity);
  res->edges = skeletons[dec->spec.skeleton].edges;
  res->n_edges = skeletons[dec->spec.skeleton].n_edges;
}

static void
run_keypoints (AfDecoder *dec, const guint16 *const *outputs, AfDecodeResult *res)
{
  const AfDecodeSpec *s = &dec->spec;
  const guint16 *t = outputs[dec->scores.index];
  gint64 per = dec->scores.c;
  float sx = s->normalized ? s->input_w : 1, sy = s->normalized ? s->input_h : 1;
  for (guint i = 0; i < s->n_points; i++) {
    AfKeypoint *k = &res->keypoints[i];
    k->score = 1;
    for (gint64 j = 0; j < per; j++) {
      float v = af_fp16_to_f32 (t[i * per + j]);
      switch (s->layout[j]) {
      case 'x':
        k->x = v * sx;
        break;
      case 'y':
        k->y = v * sy;
        break;
      case 's':
        k->score = v;
        break;
      case 'v':
        k->score = 1.0f / (1.0f + expf (-v));
        break;
      default:
        break;
      }
    }
    k->visible = k->score >= s->score_threshold;
  }
  res->n = s->n_points;
}

const AfDecoderClass af__decoder_keypoints = {
  .type = AF_DECODE_TYPE_KEYPOINTS,
  .name = "keypoints",
  .attached = TRUE,
  .fields = fields,
  .init = init_keypoints,
  .parse = parse_keypoints,
  .write = write_keypoints,
  .bind = bind_keypoints,
  .result_init = result_init,
  .run = run_keypoints,
};
