/* decode-head.c — runs one decoder on a head tensor given as a file, for the
 * Python oracles (heads.py):
 *
 *   decode-head TYPE HEAD.f32 SHAPE INPUT_W INPUT_H [SCORE_THRESHOLD]
 *
 * TYPE is a decode type name (yolov8, yolov5, grid, segmentation, ...) or
 * keypoints:hand|pose|movenet, HEAD.f32 the
 * tensor as little-endian float32 (converted to fp16 as a model's output
 * would be), SHAPE like 1x85x22x22. Prints one detection per line:
 * "label score x1 y1 x2 y2" in model-input pixels, best first; a mask as
 * "mask W H" and one line of W * H classes; keypoints as "x y score
 * visible" lines. */
#include "aneforge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
type_of (const char *name)
{
  for (int t = 0; t < 64; t++)
    if (strcmp (af_decode_type_name (t), name) == 0)
      return t;
  return -1;
}

int
main (int argc, char **argv)
{
  if (argc < 6) {
    fprintf (stderr, "usage: decode-head TYPE HEAD.f32 SHAPE INPUT_W INPUT_H [THRESHOLD]\n");
    return 2;
  }
  static const char *const skeletons[] = { "keypoints:hand", "keypoints:pose",
                                           "keypoints:movenet" };
  int type = type_of (argv[1]), skeleton = -1;
  for (int k = 0; k < 3; k++)
    if (strcmp (argv[1], skeletons[k]) == 0)
      type = AF_DECODE_TYPE_KEYPOINTS, skeleton = AF_SKELETON_HAND + k;
  g_auto (GStrv) dims = g_strsplit (argv[3], "x", -1);
  AfTensorInfo info = { .name = "head", .rank = g_strv_length (dims), .dtype = AF_DTYPE_F16 };
  if (type < 0 || info.rank < 1 || info.rank > AF_MAX_RANK) {
    fprintf (stderr, "decode-head: bad type or shape\n");
    return 2;
  }
  for (int d = 0; d < info.rank; d++)
    info.shape[d] = g_ascii_strtoll (dims[d], NULL, 10);
  gsize n = af_shape_numel (info.rank, info.shape), len;
  g_autofree char *data = NULL;
  GError *error = NULL;
  if (!g_file_get_contents (argv[2], &data, &len, &error) || len != n * sizeof (float)) {
    fprintf (stderr, "decode-head: %s: %s\n", argv[2],
             error ? error->message : "size does not match the shape");
    return 1;
  }
  g_autofree guint16 *head = g_new (guint16, n);
  af_f32_to_fp16_n ((const float *) data, head, n);
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, type);
  if (skeleton >= 0)
    af_decode_spec_set_skeleton (&spec, skeleton);
  af_decode_spec_set_input_size (&spec, atoi (argv[4]), atoi (argv[5]));
  if (argc > 6)
    spec.score_threshold = g_ascii_strtod (argv[6], NULL);
  AfDecoder *dec = af_decoder_new (&spec, NULL, 1, &info, &error);
  af_decode_spec_clear (&spec);
  if (dec == NULL) {
    fprintf (stderr, "decode-head: %s\n", error->message);
    return 1;
  }
  AfDecodeResult *res = af_decode_result_new (dec);
  const guint16 *views[] = { head };
  af_decoder_run (dec, views, res);
  if (res->mask) {
    printf ("mask %d %d\n", res->mask_w, res->mask_h);
    for (int i = 0; i < res->mask_w * res->mask_h; i++)
      printf (i ? " %d" : "%d", res->mask[i]);
    printf ("\n");
  }
  for (guint i = 0; res->keypoints && i < res->n; i++)
    printf ("%.4f %.4f %.6f %d\n", res->keypoints[i].x, res->keypoints[i].y,
            res->keypoints[i].score, res->keypoints[i].visible);
  for (guint i = 0; res->detections && i < res->n; i++) {
    const AfDetection *d = &res->detections[i];
    printf ("%d %.6f %.4f %.4f %.4f %.4f\n", d->label, d->score, d->x1, d->y1, d->x2, d->y2);
  }
  af_decode_result_free (res);
  af_decoder_free (dec);
  return 0;
}
