/* nms.c — greedy non-maximum suppression and IoU (per label), allocation
 * free: the caller gives the order scratch. */
#include "decoder.h"

#include <math.h>

float
af__decode_iou (const AfDetection *a, const AfDetection *b)
{
  float iw = MIN (a->x2, b->x2) - MAX (a->x1, b->x1);
  float ih = MIN (a->y2, b->y2) - MAX (a->y1, b->y1);
  float inter = MAX (iw, 0.0f) * MAX (ih, 0.0f);
  float aa = MAX (a->x2 - a->x1, 0.0f) * MAX (a->y2 - a->y1, 0.0f);
  float ab = MAX (b->x2 - b->x1, 0.0f) * MAX (b->y2 - b->y1, 0.0f);
  float uni = aa + ab - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

/* TRUE when candidate @a goes before @b: higher score, then lower index. */
static inline gboolean
before (const AfDetection *cand, guint a, guint b)
{
  float sa = cand[a].score, sb = cand[b].score;
  return sa > sb || (sa == sb && a < b);
}

static void
sift_down (const AfDetection *cand, guint *h, guint root, guint n)
{
  /* a heap whose top is the candidate that goes LAST */
  for (;;) {
    guint child = 2 * root + 1;
    if (child >= n)
      return;
    if (child + 1 < n && before (cand, h[child], h[child + 1]))
      child++;
    if (!before (cand, h[root], h[child]))
      return;
    guint t = h[root];
    h[root] = h[child];
    h[child] = t;
    root = child;
  }
}

/* Heap sort of indices by (score desc, index asc); allocates nothing. */
static void
sort_order (const AfDetection *cand, guint *order, guint n)
{
  for (guint i = 0; i < n; i++)
    order[i] = i;
  for (guint i = n / 2; i-- > 0;)
    sift_down (cand, order, i, n);
  for (guint end = n; end-- > 1;) {
    guint t = order[0];
    order[0] = order[end];
    order[end] = t;
    sift_down (cand, order, 0, end);
  }
}

guint
af__decode_nms (const AfDetection *cand, guint n, float iou_threshold, guint max_out, guint *order,
                AfDetection *out)
{
  guint kept = 0;
  sort_order (cand, order, n);
  for (guint i = 0; i < n && kept < max_out; i++) {
    const AfDetection *d = &cand[order[i]];
    if (isnan (d->score))
      continue;
    gboolean keep = TRUE;
    for (guint k = 0; k < kept && keep; k++)
      keep = out[k].label != d->label || !(af__decode_iou (&out[k], d) > iou_threshold);
    if (keep)
      out[kept++] = *d;
  }
  return kept;
}
