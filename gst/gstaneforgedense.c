/* gstaneforgedense.c — segmentation masks and keypoints for the aneforge
 * element's meta, bus messages and results lines. */
#include "gstaneforgedense.h"

#include <math.h>
#include <string.h>

void
gst_aneforge_dense_sizes (const AfDecodeResult *seg, const AfDecodeResult *kp, gsize *mask_bytes,
                          guint *max_keypoints)
{
  *mask_bytes = seg ? (gsize) seg->mask_w * seg->mask_h : 0;
  *max_keypoints = kp ? kp->capacity : 0;
}

void
gst_aneforge_dense_fill (GstAneforgeDense *out, AfDecoder *seg_dec, AfDecodeResult *seg,
                         AfDecoder *kp_dec, AfDecodeResult *kp, gint frame_w, gint frame_h)
{
  out->has_mask = FALSE;
  out->n_keypoints = 0;
  out->n_edges = 0;
  out->edges = NULL;
  if (seg && seg_dec && out->mask) {
    memcpy (out->mask, seg->mask, (gsize) seg->mask_w * seg->mask_h);
    out->mask_w = seg->mask_w;
    out->mask_h = seg->mask_h;
    out->n_mask_classes = seg->n_mask_classes;
    out->has_mask = TRUE;
  }
  if (kp && kp_dec && out->keypoints) {
    const AfDecodeSpec *spec = af_decoder_spec (kp_dec);
    AfFrameMap map;
    /* the element stretches the frame into the port */
    af_frame_map_stretch (&map, frame_w, frame_h, spec->input_w, spec->input_h);
    af_decode_map_to_frame (kp, &map);
    for (guint i = 0; i < kp->n; i++) {
      out->keypoints[i].x = kp->keypoints[i].x;
      out->keypoints[i].y = kp->keypoints[i].y;
      out->keypoints[i].score = kp->keypoints[i].score;
      out->keypoints[i].visible = kp->keypoints[i].visible;
    }
    out->n_keypoints = kp->n;
    out->edges = (const guint8 *) kp->edges;
    out->n_edges = kp->n_edges;
  }
}

static void
list_append_double (GValue *list, gdouble d)
{
  GValue v = G_VALUE_INIT;
  g_value_init (&v, G_TYPE_DOUBLE);
  g_value_set_double (&v, d);
  gst_value_list_append_and_take_value (list, &v);
}

/* Cells per class of @d's mask into @counts (256 entries). */
static void
mask_counts (const GstAneforgeDense *d, guint64 counts[256])
{
  memset (counts, 0, 256 * sizeof counts[0]);
  gsize n = (gsize) d->mask_w * d->mask_h;
  for (gsize i = 0; i < n; i++)
    counts[d->mask[i]]++;
}

void
gst_aneforge_dense_post (GstStructure *s, const GstAneforgeDense *d)
{
  if (d->has_mask) {
    guint64 counts[256];
    mask_counts (d, counts);
    GValue list = G_VALUE_INIT;
    g_value_init (&list, GST_TYPE_LIST);
    for (guint c = 0; c < d->n_mask_classes; c++) {
      GValue v = G_VALUE_INIT;
      g_value_init (&v, G_TYPE_UINT64);
      g_value_set_uint64 (&v, counts[c]);
      gst_value_list_append_and_take_value (&list, &v);
    }
    gst_structure_set (s, "mask-width", G_TYPE_UINT, d->mask_w, "mask-height", G_TYPE_UINT,
                       d->mask_h, "mask-classes", G_TYPE_UINT, d->n_mask_classes, NULL);
    gst_structure_take_value (s, "mask-counts", &list);
  }
  if (d->n_keypoints > 0) {
    GValue list = G_VALUE_INIT;
    g_value_init (&list, GST_TYPE_LIST);
    for (guint i = 0; i < d->n_keypoints; i++) {
      GValue p = G_VALUE_INIT;
      g_value_init (&p, GST_TYPE_LIST);
      list_append_double (&p, d->keypoints[i].x);
      list_append_double (&p, d->keypoints[i].y);
      list_append_double (&p, d->keypoints[i].score);
      list_append_double (&p, d->keypoints[i].visible ? 1 : 0);
      gst_value_list_append_and_take_value (&list, &p);
    }
    gst_structure_take_value (s, "keypoints", &list);
  }
}

/* @v with up to 4 decimals, locale-independent (non-finite: 0). */
static void
append_number (GString *l, gdouble v)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (l, g_ascii_formatd (buf, sizeof buf, "%.4f", isfinite (v) ? v : 0));
}

void
gst_aneforge_dense_write (GString *l, const GstAneforgeDense *d)
{
  if (d->has_mask) {
    guint64 counts[256];
    mask_counts (d, counts);
    gchar buf[96];
    g_snprintf (buf, sizeof buf, ", \"mask\": {\"width\": %u, \"height\": %u, \"counts\": [",
                d->mask_w, d->mask_h);
    g_string_append (l, buf); /* the line is preallocated: no allocation per frame */
    for (guint c = 0; c < d->n_mask_classes; c++) {
      g_snprintf (buf, sizeof buf, c ? ", %" G_GUINT64_FORMAT : "%" G_GUINT64_FORMAT, counts[c]);
      g_string_append (l, buf);
    }
    g_string_append (l, "]}");
  }
  if (d->n_keypoints > 0) {
    g_string_append (l, ", \"keypoints\": [");
    for (guint i = 0; i < d->n_keypoints; i++) {
      g_string_append (l, i ? ", [" : "[");
      append_number (l, d->keypoints[i].x);
      g_string_append (l, ", ");
      append_number (l, d->keypoints[i].y);
      g_string_append (l, ", ");
      append_number (l, d->keypoints[i].score);
      g_string_append (l, d->keypoints[i].visible ? ", true]" : ", false]");
    }
    g_string_append_c (l, ']');
  }
}
