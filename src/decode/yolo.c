/* yolo.c — YOLO family detection heads, boxes already decoded to cx, cy, w,
 * h in input pixels (what Ultralytics' ONNX exports emit):
 *   yolov8: anchor-free [1, 4+C, N] (channels first), score = max class score;
 *   yolov5: anchor-based [1, N, 5+C], score = objectness * max class score.
 * One candidate per row with its best class; NMS is class-wise. */
#include "decoder.h"

#include <math.h>

static const char *const fields[] = {
  "type",          "style",          "scores",     "labels", "score_threshold",
  "iou_threshold", "max_detections", "input_size", "clip",   NULL
};

static void
init_yolo (AfDecodeSpec *spec)
{
  /* Ultralytics' predict defaults: conf 0.25, iou 0.7 (v8) / 0.45 (v5) */
  spec->score_threshold = 0.25f;
  spec->iou_threshold = spec->type == AF_DECODE_TYPE_YOLOV8 ? 0.7f : 0.45f;
  spec->max_detections = 300;
  spec->input_w = 640;
  spec->input_h = 640;
}

/* The head tensor: spec->scores, or the only output. Index or -1. */
int
af__bind_head (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error)
{
  const char *name = dec->spec.scores;
  const char *ty = af_decode_type_name (dec->spec.type);
  if (name == NULL) {
    if (n_outputs != 1) {
      af__bind_fail (error, "%s: no tensor named for role \"scores\" and the model has %u outputs",
                     ty, n_outputs);
      return -1;
    }
    name = outputs[0].name;
  }
  return af__find_output ("scores", name, n_outputs, outputs, error);
}

/* The head's [rows, cols] (last two dims, leading dims 1). */
static gboolean
bind_matrix (AfDecoder *dec, const AfTensorInfo *info, const char *expect, GError **error)
{
  g_autofree char *shape = af__shape_string (info);
  gboolean ok = info->rank >= 2 && info->rank <= AF_MAX_RANK;
  for (int d = 0; ok && d < info->rank - 2; d++)
    ok = info->shape[d] == 1;
  if (!ok)
    return af__bind_fail (error, "%s: tensor \"%s\" has shape %s, expected %s",
                          af_decode_type_name (dec->spec.type), info->name, shape, expect);
  dec->scores.n = info->shape[info->rank - 2];
  dec->scores.c = info->shape[info->rank - 1];
  return TRUE;
}

static gboolean
bind_yolo (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error)
{
  gboolean v8 = dec->spec.type == AF_DECODE_TYPE_YOLOV8;
  int index = af__bind_head (dec, n_outputs, outputs, error);
  if (index < 0)
    return FALSE;
  const AfTensorInfo *info = &outputs[index];
  const char *expect = v8 ? "[1,4+C,N] (C >= 1 classes)" : "[1,N,5+C] (C >= 1 classes)";
  if (!bind_matrix (dec, info, expect, error))
    return FALSE;
  dec->scores.index = index;
  /* v8: rows are channels, columns candidates; v5 the other way round */
  gint64 ch = v8 ? dec->scores.n : dec->scores.c, n = v8 ? dec->scores.c : dec->scores.n;
  gint64 first = v8 ? 4 : 5;
  g_autofree char *shape = af__shape_string (info);
  if (ch < first + 1 || ch - first > AF_DECODE_MAX_CLASSES || n < 1 ||
      n > AF_DECODE_MAX_CANDIDATES || n * ch > AF_DECODE_MAX_CANDIDATES * 8)
    return af__bind_fail (error, "%s: tensor \"%s\" has shape %s, expected %s within the limits",
                          af_decode_type_name (dec->spec.type), info->name, shape, expect);
  dec->n_classes = ch - first;
  dec->max_cand = n;
  return TRUE;
}

static void
set_box (AfDetection *d, float cx, float cy, float w, float h)
{
  d->x1 = cx - w / 2;
  d->y1 = cy - h / 2;
  d->x2 = cx + w / 2;
  d->y2 = cy + h / 2;
}

/* yolov8: channel k of candidate i is head[k * n + i]. */
static guint
collect_v8 (AfDecoder *dec, const guint16 *const *outputs)
{
  const guint16 *h = outputs[dec->scores.index];
  const AfDecodeSpec *s = &dec->spec;
  gint64 n = dec->scores.c, c = dec->n_classes;
  guint m = 0;
  for (gint64 i = 0; i < n; i++) {
    float best = -INFINITY;
    gint64 label = 0;
    for (gint64 k = 0; k < c; k++) {
      float v = af_fp16_to_f32 (h[(4 + k) * n + i]);
      if (v > best) /* strict: the lower class wins ties; NaN never wins */
        best = v, label = k;
    }
    if (!(best >= s->score_threshold))
      continue;
    AfDetection *d = &dec->cand[m++];
    set_box (d, af_fp16_to_f32 (h[i]), af_fp16_to_f32 (h[n + i]), af_fp16_to_f32 (h[2 * n + i]),
             af_fp16_to_f32 (h[3 * n + i]));
    if (s->clip)
      af__clip_det (d, s->input_w, s->input_h);
    d->score = best;
    d->label = label;
    d->n_landmarks = 0;
  }
  return m;
}

/* yolov5: row i is cx, cy, w, h, objectness, C class scores. */
static guint
collect_v5 (AfDecoder *dec, const guint16 *const *outputs)
{
  const guint16 *h = outputs[dec->scores.index];
  const AfDecodeSpec *s = &dec->spec;
  gint64 n = dec->scores.n, ch = dec->scores.c, c = dec->n_classes;
  guint m = 0;
  for (gint64 i = 0; i < n; i++) {
    const guint16 *row = h + i * ch;
    float obj = af_fp16_to_f32 (row[4]);
    if (!(obj >= s->score_threshold))
      continue; /* obj * cls <= obj: cannot pass */
    float best = -INFINITY;
    gint64 label = 0;
    for (gint64 k = 0; k < c; k++) {
      float v = af_fp16_to_f32 (row[5 + k]);
      if (v > best)
        best = v, label = k;
    }
    float score = obj * best;
    if (!(score >= s->score_threshold))
      continue;
    AfDetection *d = &dec->cand[m++];
    set_box (d, af_fp16_to_f32 (row[0]), af_fp16_to_f32 (row[1]), af_fp16_to_f32 (row[2]),
             af_fp16_to_f32 (row[3]));
    if (s->clip)
      af__clip_det (d, s->input_w, s->input_h);
    d->score = score;
    d->label = label;
    d->n_landmarks = 0;
  }
  return m;
}

const AfDecoderClass af__decoder_yolov8 = {
  .type = AF_DECODE_TYPE_YOLOV8,
  .name = "yolov8",
  .attached = TRUE,
  .style = "yolov8",
  .fields = fields,
  .init = init_yolo,
  .bind = bind_yolo,
  .collect = collect_v8,
};

const AfDecoderClass af__decoder_yolov5 = {
  .type = AF_DECODE_TYPE_YOLOV5,
  .name = "yolov5",
  .attached = TRUE,
  .style = "yolov5",
  .fields = fields,
  .init = init_yolo,
  .bind = bind_yolo,
  .collect = collect_v5,
};
