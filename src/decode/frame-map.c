/* frame-map.c — maps results from model-input pixels back to the frame
 * (stretch or letterbox, as the element placed it). */
#include "decoder.h"

#include <math.h>

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
  if (res->type == AF_DECODE_TYPE_CLASSIFICATION || res->type == AF_DECODE_TYPE_SEGMENTATION ||
      res->in_frame)
    return; /* nothing to map; a mask covers the whole input */
  for (guint i = 0; res->detections != NULL && i < res->n; i++) {
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
  for (guint i = 0; res->keypoints != NULL && i < res->n; i++) {
    res->keypoints[i].x = map_x (map, res->keypoints[i].x);
    res->keypoints[i].y = map_y (map, res->keypoints[i].y);
  }
  res->in_frame = TRUE;
}
