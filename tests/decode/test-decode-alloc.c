/* test-decode-alloc.c — decoders allocate nothing per frame. Counted by
 * tests/common/alloc-counter.c (suite 'alloc' too: not run under valgrind or
 * ASan, which bring their own allocators). */
#include "alloc-counter.h"
#include "decode.h"

#include <string.h>

/* Runs @dec 20 times (plus frame mapping) and checks no allocation happened. */
static void
run_counted (AfDecoder *dec, const guint16 *const *views)
{
  AfDecodeResult *res = af_decode_result_new (dec);
  AfFrameMap map;
  af_frame_map_letterbox (&map, 1280, 720, 320, 240);
  gint before = af_test_allocs ();
  for (int i = 0; i < 20; i++) {
    af_decoder_run (dec, views, res);
    af_decode_map_to_frame (res, &map);
  }
  gint after = af_test_allocs ();
  g_assert_cmpint (after - before, ==, 0);
  g_assert_cmpint (before, >, 0); /* the counter does count */
  g_assert_cmpuint (res->n, >, 0);
  af_decode_result_free (res);
}

/* SSD with every prior above threshold (the worst case for sort and NMS) allocates nothing per
 * frame. */
static void
test_ssd_no_alloc (void)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_SSD);
  AfTensorInfo infos[2];
  memset (infos, 0, sizeof infos);
  infos[0].name = "scores";
  infos[0].rank = 3;
  infos[0].shape[0] = 1, infos[0].shape[1] = 4420, infos[0].shape[2] = 2;
  infos[1] = infos[0];
  infos[1].name = "boxes";
  infos[1].shape[2] = 4;
  AfDecoder *dec = af_decoder_new (&spec, NULL, 2, infos, NULL);
  g_assert_nonnull (dec);
  guint16 *scores = g_new (guint16, 2 * 4420), *boxes = g_new0 (guint16, 4 * 4420);
  for (int i = 0; i < 2 * 4420; i++)
    scores[i] = af_f32_to_fp16 (0.75f + (i % 7) * 0.01f);
  const guint16 *views[] = { scores, boxes };
  run_counted (dec, views);
  af_decoder_free (dec);
  af_decode_spec_clear (&spec);
  g_free (scores);
  g_free (boxes);
}

/* Classification with softmax and labels allocates nothing per frame. */
static void
test_classification_no_alloc (void)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_CLASSIFICATION);
  spec.softmax = TRUE;
  AfTensorInfo info = { 0 };
  info.name = "prob";
  info.rank = 2;
  info.shape[0] = 1, info.shape[1] = 1000;
  AfDecoder *dec = af_decoder_new (&spec, NULL, 1, &info, NULL);
  g_assert_nonnull (dec);
  guint16 *v = g_new (guint16, 1000);
  for (int i = 0; i < 1000; i++)
    v[i] = af_f32_to_fp16 ((i * 37 % 101) / 10.0f);
  const guint16 *views[] = { v };
  run_counted (dec, views);
  af_decoder_free (dec);
  af_decode_spec_clear (&spec);
  g_free (v);
}

/* One-tensor decoders (yolov8, yolov5, grid, segmentation, keypoints:pose)
 * on a head of values 0.3 .. 0.9 (every candidate above threshold)
 * allocate nothing per frame. */
static void
test_head_no_alloc (void)
{
  const struct {
    AfDecodeType type;
    int rank;
    gint64 shape[4];
  } cases[] = {
    { AF_DECODE_TYPE_YOLOV8, 3, { 1, 84, 2100 } },
    { AF_DECODE_TYPE_YOLOV5, 3, { 1, 2100, 85 } },
    { AF_DECODE_TYPE_GRID, 4, { 1, 85, 22, 22 } },
    { AF_DECODE_TYPE_SEGMENTATION, 4, { 1, 21, 64, 64 } },
    { AF_DECODE_TYPE_KEYPOINTS, 2, { 1, 195 } },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    AfDecodeSpec spec;
    af_decode_spec_init (&spec, cases[c].type);
    if (cases[c].type == AF_DECODE_TYPE_KEYPOINTS)
      af_decode_spec_set_skeleton (&spec, AF_SKELETON_POSE);
    AfTensorInfo info = { 0 };
    info.name = "head";
    info.rank = cases[c].rank;
    memcpy (info.shape, cases[c].shape, sizeof cases[c].shape);
    AfDecoder *dec = af_decoder_new (&spec, NULL, 1, &info, NULL);
    g_assert_nonnull (dec);
    gsize n = af_shape_numel (info.rank, info.shape);
    guint16 *v = g_new (guint16, n);
    for (gsize i = 0; i < n; i++)
      v[i] = af_f32_to_fp16 (0.3f + (i * 7 % 13) * 0.05f);
    const guint16 *views[] = { v };
    run_counted (dec, views);
    af_decoder_free (dec);
    af_decode_spec_clear (&spec);
    g_free (v);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/decode/alloc/ssd", test_ssd_no_alloc);
  g_test_add_func ("/decode/alloc/classification", test_classification_no_alloc);
  g_test_add_func ("/decode/alloc/heads", test_head_no_alloc);
  return g_test_run ();
}
