/* grid.c — grid detection heads like FastestDet's: one [1, 5+C, H, W]
 * tensor, per cell objectness, box centre offsets, box size and C class
 * scores (objectness and classes already probabilities). Per cell:
 * score = obj^0.6 * max(cls)^0.4, class = argmax(cls);
 * cx = (col + tanh(d1)) / W, cy = (row + tanh(d2)) / H, w = sigmoid(d3),
 * h = sigmoid(d4), relative to the input; then class-wise NMS. */
#include "decoder.h"

#include <math.h>

static const char *const fields[] = {
  "type",          "style",          "scores",     "labels", "score_threshold",
  "iou_threshold", "max_detections", "input_size", "clip",   NULL
};

static void
init_grid (AfDecodeSpec *spec)
{
  /* FastestDet's example decode: keep score > 0.65, NMS at IoU 0.45 */
  spec->score_threshold = 0.65f;
  spec->iou_threshold = 0.45f;
  spec->input_w = 352;
  spec->input_h = 352;
}

static gboolean
bind_grid (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error)
{
  int index = af__bind_head (dec, n_outputs, outputs, error);
  if (index < 0)
    return FALSE;
  const AfTensorInfo *info = &outputs[index];
  g_autofree char *shape = af__shape_string (info);
  if (info->rank != 4 || info->shape[0] != 1 || info->shape[1] < 6 ||
      info->shape[1] - 5 > AF_DECODE_MAX_CLASSES || info->shape[2] < 1 || info->shape[3] < 1 ||
      info->shape[2] > AF_DECODE_MAX_FEATURE || info->shape[3] > AF_DECODE_MAX_FEATURE)
    return af__bind_fail (error,
                          "grid: tensor \"%s\" has shape %s, expected [1,5+C,H,W] (C >= 1 "
                          "classes, H and W up to %d)",
                          info->name, shape, AF_DECODE_MAX_FEATURE);
  dec->scores.index = index;
  dec->scores.c = info->shape[1];                  /* channels */
  dec->scores.n = info->shape[2] * info->shape[3]; /* cells */
  dec->grid_w = info->shape[3];
  dec->grid_h = info->shape[2];
  dec->n_classes = info->shape[1] - 5;
  dec->max_cand = dec->scores.n;
  return TRUE;
}

static inline float
sigmoid (float x)
{
  return 1.0f / (1.0f + expf (-x));
}

/* Channel k of cell i is head[k * cells + i]. */
static guint
collect_grid (AfDecoder *dec, const guint16 *const *outputs)
{
  const guint16 *h = outputs[dec->scores.index];
  const AfDecodeSpec *s = &dec->spec;
  gint64 cells = dec->scores.n, c = dec->n_classes;
  int gw = dec->grid_w, gh = dec->grid_h;
  guint m = 0;
  for (gint64 i = 0; i < cells; i++) {
    float obj = af_fp16_to_f32 (h[i]);
    float best = -INFINITY;
    gint64 label = 0;
    for (gint64 k = 0; k < c; k++) {
      float v = af_fp16_to_f32 (h[(5 + k) * cells + i]);
      if (v > best)
        best = v, label = k;
    }
    float score = powf (MAX (obj, 0.0f), 0.6f) * powf (MAX (best, 0.0f), 0.4f);
    if (!(score >= s->score_threshold))
      continue;
    int row = i / gw, col = i % gw;
    float cx = (col + tanhf (af_fp16_to_f32 (h[cells + i]))) / gw;
    float cy = (row + tanhf (af_fp16_to_f32 (h[2 * cells + i]))) / gh;
    float w = sigmoid (af_fp16_to_f32 (h[3 * cells + i]));
    float bh = sigmoid (af_fp16_to_f32 (h[4 * cells + i]));
    AfDetection *d = &dec->cand[m++];
    d->x1 = (cx - w / 2) * s->input_w;
    d->y1 = (cy - bh / 2) * s->input_h;
    d->x2 = (cx + w / 2) * s->input_w;
    d->y2 = (cy + bh / 2) * s->input_h;
    if (s->clip)
      af__clip_det (d, s->input_w, s->input_h);
    d->score = score;
    d->label = label;
    d->n_landmarks = 0;
  }
  return m;
}

const AfDecoderClass af__decoder_grid = {
  .type = AF_DECODE_TYPE_GRID,
  .name = "grid",
  .attached = TRUE,
  .style = "grid",
  .fields = fields,
  .init = init_grid,
  .bind = bind_grid,
  .collect = collect_grid,
};
