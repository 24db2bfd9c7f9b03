/* segmentation.c — semantic segmentation: the class of every cell of a
 * [1,C,H,W] (or, channels_last, [1,H,W,C]) score tensor by argmax (ties:
 * the lower class; NaN never wins), or for one channel a mask of
 * value >= score_threshold (class 1) else 0. The mask stays at the
 * tensor's resolution and covers the whole model input. */
#include "decoder.h"

#include <math.h>
#include <string.h>

#define MAX_MASK_CLASSES 256 /* classes fit the uint8 mask */

static const char *const fields[] = { "type",          "scores",          "labels", "input_size",
                                      "channels_last", "score_threshold", NULL };

static void
init_segmentation (AfDecodeSpec *spec)
{
  spec->score_threshold = 0.5f;
  spec->input_w = 256;
  spec->input_h = 256;
}

static gboolean
parse_segmentation (AfJsonCtx *c, JsonObject *obj, AfDecodeSpec *spec)
{
  JsonNode *n = json_object_get_member (obj, "channels_last");
  return n == NULL || af__json_want_bool (c, "channels_last", n, &spec->channels_last);
}

static void
write_segmentation (const AfDecodeSpec *spec, JsonBuilder *b)
{
  af__json_member_string (b, "scores", spec->scores);
  af__json_member_string (b, "labels", spec->labels);
  json_builder_set_member_name (b, "score_threshold");
  json_builder_add_double_value (b, af__json_float (spec->score_threshold));
  json_builder_set_member_name (b, "input_size");
  json_builder_begin_array (b);
  json_builder_add_int_value (b, spec->input_w);
  json_builder_add_int_value (b, spec->input_h);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "channels_last");
  json_builder_add_boolean_value (b, spec->channels_last);
}

static gboolean
bind_segmentation (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error)
{
  int index = af__bind_head (dec, n_outputs, outputs, error);
  if (index < 0)
    return FALSE;
  const AfTensorInfo *info = &outputs[index];
  g_autofree char *shape = af__shape_string (info);
  gint64 c = 1, h = 0, w = 0;
  if (info->rank == 3 && info->shape[0] == 1) {
    h = info->shape[1], w = info->shape[2];
  } else if (info->rank == 4 && info->shape[0] == 1 && info->shape[3] == 1 && info->shape[1] > 1) {
    /* [1,H,W,1]: a one-channel mask in either layout (TFLite's NHWC heads) */
    h = info->shape[1], w = info->shape[2];
  } else if (info->rank == 4 && info->shape[0] == 1) {
    gboolean last = dec->spec.channels_last;
    c = last ? info->shape[3] : info->shape[1];
    h = last ? info->shape[1] : info->shape[2];
    w = last ? info->shape[2] : info->shape[3];
  }
  if (c < 1 || c > MAX_MASK_CLASSES || h < 1 || w < 1 || h > AF_DECODE_MAX_FEATURE ||
      w > AF_DECODE_MAX_FEATURE)
    return af__bind_fail (error,
                          "segmentation: tensor \"%s\" has shape %s, expected %s or [1,H,W] "
                          "(C up to %d classes, H and W up to %d)",
                          info->name, shape, dec->spec.channels_last ? "[1,H,W,C]" : "[1,C,H,W]",
                          MAX_MASK_CLASSES, AF_DECODE_MAX_FEATURE);
  dec->scores.index = index;
  dec->scores.c = c;
  dec->scores.n = h * w;
  dec->grid_w = w;
  dec->grid_h = h;
  dec->n_classes = c == 1 ? 2 : c;
  dec->values = g_new (float, h *w); /* best score per cell */
  return TRUE;
}

static void
result_init (AfDecoder *dec, AfDecodeResult *res)
{
  res->capacity = 1;
  res->mask_w = dec->grid_w;
  res->mask_h = dec->grid_h;
  res->n_mask_classes = dec->n_classes;
  res->mask = g_new0 (guint8, (gsize) dec->grid_w * dec->grid_h);
}

static void
run_segmentation (AfDecoder *dec, const guint16 *const *outputs, AfDecodeResult *res)
{
  const guint16 *t = outputs[dec->scores.index];
  gint64 n = dec->scores.n, c = dec->scores.c;
  guint8 *mask = res->mask;
  float *best = dec->values;
  if (c == 1) {
    float thr = dec->spec.score_threshold;
    for (gint64 i = 0; i < n; i++)
      mask[i] = af_fp16_to_f32 (t[i]) >= thr;
  } else if (dec->spec.channels_last) {
    for (gint64 i = 0; i < n; i++) {
      float b = -INFINITY;
      guint8 k = 0;
      for (gint64 j = 0; j < c; j++) {
        float v = af_fp16_to_f32 (t[i * c + j]);
        if (v > b)
          b = v, k = j;
      }
      mask[i] = k;
    }
  } else {
    /* channel by channel over contiguous planes */
    for (gint64 i = 0; i < n; i++)
      best[i] = -INFINITY;
    memset (mask, 0, n);
    for (gint64 j = 0; j < c; j++) {
      const guint16 *plane = t + j * n;
      for (gint64 i = 0; i < n; i++) {
        float v = af_fp16_to_f32 (plane[i]);
        if (v > best[i])
          best[i] = v, mask[i] = j;
      }
    }
  }
  res->n = 1;
}

const AfDecoderClass af__decoder_segmentation = {
  .type = AF_DECODE_TYPE_SEGMENTATION,
  .name = "segmentation",
  .attached = TRUE,
  .fields = fields,
  .init = init_segmentation,
  .parse = parse_segmentation,
  .write = write_segmentation,
  .bind = bind_segmentation,
  .result_init = result_init,
  .run = run_segmentation,
};
