/* table.c — the decode types: one AfDecoderClass per AfDecodeType, and the
 * spec life cycle (defaults, clear, copy) every type shares. */
#include "decoder.h"

#include <string.h>

/* Indexed by AfDecodeType. */
static const AfDecoderClass *const classes[] = {
  [AF_DECODE_TYPE_CLASSIFICATION] = &af__decoder_classification,
  [AF_DECODE_TYPE_SSD] = &af__decoder_ssd,
  [AF_DECODE_TYPE_SSD_DECODED] = &af__decoder_ssd_decoded,
  [AF_DECODE_TYPE_YUNET] = &af__decoder_yunet,
  [AF_DECODE_TYPE_BLAZEFACE] = &af__decoder_blazeface,
  [AF_DECODE_TYPE_YOLOV8] = &af__decoder_yolov8,
  [AF_DECODE_TYPE_YOLOV5] = &af__decoder_yolov5,
  [AF_DECODE_TYPE_GRID] = &af__decoder_grid,
  [AF_DECODE_TYPE_SEGMENTATION] = &af__decoder_segmentation,
  [AF_DECODE_TYPE_KEYPOINTS] = &af__decoder_keypoints,
};

const AfDecoderClass *
af__decoder_class (AfDecodeType type)
{
  if ((guint) type >= G_N_ELEMENTS (classes))
    return NULL;
  g_assert (classes[type] != NULL && classes[type]->type == type);
  return classes[type];
}

const AfDecoderClass *
af__decoder_class_by_style (const char *style)
{
  for (guint t = 0; t < G_N_ELEMENTS (classes); t++)
    if (classes[t]->style != NULL && strcmp (classes[t]->style, style) == 0)
      return classes[t];
  return NULL;
}

char *
af__decoder_style_list (void)
{
  guint n = 0, total = 0;
  for (guint t = 0; t < G_N_ELEMENTS (classes); t++)
    total += classes[t]->style != NULL;
  GString *s = g_string_new (NULL);
  for (guint t = 0; t < G_N_ELEMENTS (classes); t++) {
    if (classes[t]->style == NULL)
      continue;
    n++;
    const char *sep = n == 1 ? "" : n == total ? " or " : ", ";
    g_string_append_printf (s, "%s\"%s\"", sep, classes[t]->style);
  }
  return g_string_free (s, FALSE);
}

gboolean
af__decode_type_attached (AfDecodeType type)
{
  const AfDecoderClass *k = af__decoder_class (type);
  return k != NULL && k->attached;
}

const char *
af_decode_type_name (AfDecodeType type)
{
  const AfDecoderClass *k = af__decoder_class (type);
  return k != NULL ? k->name : "?";
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
  const AfDecoderClass *k = af__decoder_class (type);
  if (k != NULL && k->init != NULL)
    k->init (spec);
}

void
af_decode_spec_set_input_size (AfDecodeSpec *spec, int w, int h)
{
  g_return_if_fail (spec != NULL);
  spec->input_w = w;
  spec->input_h = h;
  if (spec->type == AF_DECODE_TYPE_SSD)
    af__decode_ssd_derive_feature_maps (spec);
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
