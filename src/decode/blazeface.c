/* blazeface.c — MediaPipe BlazeFace detection: SSD anchors with keypoints,
 * logits [1,N,1] and regressions [1,N,4+2K]. */
#include "decoder.h"

#include <math.h>

static const char *const fields[] = { "type",          "style",          "scores",
                                      "boxes",         "labels",         "score_threshold",
                                      "iou_threshold", "max_detections", "input_size",
                                      "clip",          "strides",        NULL };

static void
init_blazeface (AfDecodeSpec *spec)
{
  /* MediaPipe face_detection_short_range: 4 anchor layers */
  spec->scores = g_strdup ("classificators");
  spec->boxes = g_strdup ("regressors");
  spec->score_threshold = 0.5f;
  spec->input_w = 128;
  spec->input_h = 128;
  spec->n_strides = 4;
  spec->strides[0] = 8;
  spec->strides[1] = spec->strides[2] = spec->strides[3] = 16;
}

static gboolean
parse_blazeface (AfJsonCtx *c, JsonObject *obj, AfDecodeSpec *spec)
{
  JsonNode *n = json_object_get_member (obj, "strides");
  if (n != NULL && !af__json_parse_strides (c, n, spec))
    return FALSE;
  guint64 total = 0;
  for (guint l = 0; l < spec->n_strides; l++) {
    guint64 fw = (spec->input_w + spec->strides[l] - 1) / spec->strides[l];
    guint64 fh = (spec->input_h + spec->strides[l] - 1) / spec->strides[l];
    total += 2 * fw * fh;
  }
  if (total > AF_DECODE_MAX_CANDIDATES)
    return af__json_fail (c, "strides", "%" G_GUINT64_FORMAT " anchors, above the limit of %d",
                          total, AF_DECODE_MAX_CANDIDATES);
  return TRUE;
}

static void
write_blazeface (const AfDecodeSpec *spec, JsonBuilder *b)
{
  af__json_member_strides (b, spec);
}

/* MediaPipe's SsdAnchorsCalculator with fixed_anchor_size, aspect ratio
 * 1.0 and interpolated_scale_aspect_ratio 1.0: every layer gives 2 anchors
 * per cell, consecutive layers of the same stride are merged (their anchors
 * interleave per cell), cells are ceil(input / stride), row by row. */
float *
af__decode_blazeface_anchors (const AfDecodeSpec *spec, guint *n_anchors)
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

static gboolean
bind_blazeface (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error)
{
  AfDecodeSpec *s = &dec->spec;
  if (s->scores == NULL || s->boxes == NULL)
    return af__bind_fail (error, "blazeface: roles \"scores\" and \"boxes\" must name tensors");
  if (s->n_strides == 0)
    return af__bind_fail (error, "blazeface: no strides");
  for (guint l = 0; l < s->n_strides; l++)
    if (s->strides[l] < 1 || s->strides[l] > AF_DECODE_MAX_STRIDE)
      return af__bind_fail (error, "blazeface: stride %d is out of range", s->strides[l]);
  if (!af__bind_role ("scores", s->scores, n_outputs, outputs, &dec->scores, error) ||
      !af__bind_role ("boxes", s->boxes, n_outputs, outputs, &dec->boxes, error))
    return FALSE;
  gint64 c = dec->boxes.c;
  if (c < 4 || (c - 4) % 2 != 0 || c > 4 + 2 * AF_DECODE_MAX_LANDMARKS)
    return af__bind_fail (error,
                          "blazeface: tensor \"%s\" (boxes) has %" G_GINT64_FORMAT " values "
                          "per anchor, expected 4 + 2 per keypoint (up to %d keypoints)",
                          s->boxes, c, AF_DECODE_MAX_LANDMARKS);
  if (dec->scores.c != 1)
    return af__bind_fail (error,
                          "blazeface: tensor \"%s\" (scores) has %" G_GINT64_FORMAT " values "
                          "per anchor, expected 1",
                          s->scores, dec->scores.c);
  dec->priors = af__decode_ssd_priors (s, &dec->n_priors);
  if (dec->n_priors != dec->boxes.n || dec->n_priors != dec->scores.n)
    return af__bind_fail (error,
                          "blazeface: the anchors give %u boxes for a %dx%d input, tensors \"%s\" "
                          "and \"%s\" have %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT,
                          dec->n_priors, s->input_w, s->input_h, s->boxes, s->scores, dec->boxes.n,
                          dec->scores.n);
  dec->n_landmarks = (c - 4) / 2;
  dec->n_classes = 1;
  dec->max_cand = dec->n_priors;
  return TRUE;
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
      af__clip_det (d, 1, 1);
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

const AfDecoderClass af__decoder_blazeface = {
  .type = AF_DECODE_TYPE_BLAZEFACE,
  .name = "blazeface",
  .style = "blazeface",
  .fields = fields,
  .init = init_blazeface,
  .parse = parse_blazeface,
  .write = write_blazeface,
  .bind = bind_blazeface,
  .collect = collect_blazeface,
};
