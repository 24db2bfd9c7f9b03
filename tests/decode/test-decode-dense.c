/* test-decode-dense.c — segmentation (argmax over classes, channels first
 * or last, a thresholded single-channel mask) and keypoints (layouts,
 * normalised coordinates, visibility, skeletons, the map to the frame) on
 * hand-made tensors, and their JSON and binding errors. */
#include "decode.h"

#include <math.h>
#include <string.h>

static void
info_set (AfTensorInfo *info, const char *name, int rank, const gint64 *shape)
{
  memset (info, 0, sizeof *info);
  info->name = name;
  info->rank = rank;
  memcpy (info->shape, shape, rank * sizeof (gint64));
  info->dtype = AF_DTYPE_F16;
}

static AfDecodeResult *
run (AfDecodeSpec *spec, int rank, const gint64 *shape, const float *t, AfDecoder **dec)
{
  AfTensorInfo info;
  info_set (&info, "out", rank, shape);
  GError *error = NULL;
  *dec = af_decoder_new (spec, NULL, 1, &info, &error);
  g_assert_no_error (error);
  gsize n = af_shape_numel (rank, shape);
  g_autofree guint16 *h = g_new (guint16, n);
  af_f32_to_fp16_n (t, h, n);
  AfDecodeResult *res = af_decode_result_new (*dec);
  const guint16 *views[] = { h };
  af_decoder_run (*dec, views, res);
  return res;
}

static JsonObject *
parse_obj (const char *json)
{
  JsonParser *p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, json, -1, NULL));
  JsonObject *o = json_object_ref (json_node_get_object (json_parser_get_root (p)));
  g_object_unref (p);
  return o;
}

/* [1,3,2,3] channels first: each cell takes its best class; a tie goes to
 * the lower class, a NaN never wins. The same values channels last agree. */
static void
test_segmentation_argmax (void)
{
  enum { C = 3, H = 2, W = 3 };
  const float cells[H * W][C] = {
    { 0.1f, 0.7f, 0.2f }, { 2, 1, 0 },   { -1, -1, 5 },
    { 0.5f, 0.5f, 0.1f }, { NAN, 1, 2 }, { 0, 0, 0 },
  };
  const guint8 want[H * W] = { 1, 0, 2, 0, 2, 0 };
  float first[C * H * W], last[H * W * C];
  for (int i = 0; i < H * W; i++)
    for (int c = 0; c < C; c++)
      first[c * H * W + i] = cells[i][c], last[i * C + c] = cells[i][c];
  for (int layout = 0; layout < 2; layout++) {
    AfDecodeSpec spec;
    af_decode_spec_init (&spec, AF_DECODE_TYPE_SEGMENTATION);
    spec.channels_last = layout == 1;
    AfDecoder *dec;
    AfDecodeResult *res = layout == 0 ? run (&spec, 4, (gint64[]){ 1, C, H, W }, first, &dec)
                                      : run (&spec, 4, (gint64[]){ 1, H, W, C }, last, &dec);
    g_assert_cmpuint (res->n, ==, 1);
    g_assert_cmpint (res->mask_w, ==, W);
    g_assert_cmpint (res->mask_h, ==, H);
    g_assert_cmpuint (res->n_mask_classes, ==, C);
    g_assert_cmpmem (res->mask, H * W, want, H * W);
    /* a second run overwrites, it does not accumulate */
    af_decode_result_free (res);
    af_decoder_free (dec);
    af_decode_spec_clear (&spec);
  }
}

/* One channel ([1,1,H,W] or [1,H,W]): class 1 where value >= threshold. */
static void
test_segmentation_mask (void)
{
  const float t[] = { 0.2f, 0.5f, 0.49f, 0.9f };
  const guint8 want[] = { 0, 1, 0, 1 };
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_SEGMENTATION);
  AfDecoder *dec;
  AfDecodeResult *res = run (&spec, 4, (gint64[]){ 1, 1, 2, 2 }, t, &dec);
  g_assert_cmpuint (res->n_mask_classes, ==, 2);
  g_assert_cmpmem (res->mask, 4, want, 4);
  AfFrameMap map;
  af_frame_map_stretch (&map, 640, 480, 256, 256);
  af_decode_map_to_frame (res, &map); /* no-op for a mask */
  g_assert_cmpmem (res->mask, 4, want, 4);
  af_decode_result_free (res);
  af_decoder_free (dec);
  spec.score_threshold = 0.95f;
  res = run (&spec, 3, (gint64[]){ 1, 2, 2 }, t, &dec);
  g_assert_cmpmem (res->mask, 4, ((guint8[]){ 0, 0, 0, 0 }), 4);
  af_decode_result_free (res);
  af_decoder_free (dec);
  /* [1,H,W,1] (TFLite's NHWC mask heads) is a one-channel mask, not 2 classes of 2x1 */
  spec.score_threshold = 0.5f;
  res = run (&spec, 4, (gint64[]){ 1, 2, 2, 1 }, t, &dec);
  g_assert_cmpuint (res->n_mask_classes, ==, 2);
  g_assert_cmpint (res->mask_w, ==, 2);
  g_assert_cmpint (res->mask_h, ==, 2);
  g_assert_cmpmem (res->mask, 4, want, 4);
  af_decode_result_free (res);
  af_decoder_free (dec);
  /* a 5-D tensor is refused */
  AfTensorInfo info;
  info_set (&info, "out", 5, (gint64[]){ 1, 2, 2, 2, 2 });
  GError *error = NULL;
  g_assert_null (af_decoder_new (&spec, NULL, 1, &info, &error));
  g_assert_cmpstr (error->message, ==,
                   "decode: segmentation: tensor \"out\" has shape [1,2,2,2,2], expected "
                   "[1,C,H,W] or [1,H,W] (C up to 256 classes, H and W up to 4096)");
  g_clear_error (&error);
  af_decode_spec_clear (&spec);
}

/* MoveNet's [1,1,17,3] (y, x, score, normalised): points in input pixels,
 * visible when score >= 0.3, the 18 COCO edges, mapped to the frame. */
static void
test_keypoints_movenet (void)
{
  float t[17 * 3];
  for (int i = 0; i < 17; i++) {
    t[3 * i] = (i + 1) / 32.0f;      /* y */
    t[3 * i + 1] = (16 - i) / 32.0f; /* x */
    t[3 * i + 2] = i % 2 ? 0.25f : 0.75f;
  }
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_KEYPOINTS);
  JsonObject *o = parse_obj ("{\"type\": \"keypoints\", \"skeleton\": \"movenet\"}");
  GError *error = NULL;
  af_decode_spec_clear (&spec);
  g_assert_true (af__decode_spec_from_json (o, "t", &spec, &error));
  json_object_unref (o);
  g_assert_cmpuint (spec.n_points, ==, 17);
  g_assert_cmpstr (spec.layout, ==, "yxs");
  AfDecoder *dec;
  AfDecodeResult *res = run (&spec, 4, (gint64[]){ 1, 1, 17, 3 }, t, &dec);
  g_assert_cmpuint (res->n, ==, 17);
  g_assert_cmpuint (res->n_edges, ==, 18);
  g_assert_cmpint (res->edges[17][0], ==, 14);
  g_assert_cmpint (res->edges[17][1], ==, 16);
  for (int i = 0; i < 17; i++) {
    g_assert_cmpfloat (res->keypoints[i].y, ==, (i + 1) / 32.0f * 192);
    g_assert_cmpfloat (res->keypoints[i].x, ==, (16 - i) / 32.0f * 192);
    g_assert_cmpint (res->keypoints[i].visible, ==, i % 2 == 0);
  }
  AfFrameMap map;
  af_frame_map_stretch (&map, 384, 96, 192, 192);
  af_decode_map_to_frame (res, &map);
  g_assert_cmpfloat (res->keypoints[3].x, ==, 13 / 32.0f * 384);
  g_assert_cmpfloat (res->keypoints[3].y, ==, 4 / 32.0f * 96);
  af_decode_result_free (res);
  af_decoder_free (dec);
  af_decode_spec_clear (&spec);
}

/* MediaPipe pose landmarks [1,195] = 39 x (x, y, z, visibility, presence) in
 * input pixels: the first 33 are read, score = sigmoid(visibility). */
static void
test_keypoints_pose (void)
{
  float t[195] = { 0 };
  for (int i = 0; i < 39; i++) {
    t[5 * i] = 4 * i, t[5 * i + 1] = 256 - 4 * i, t[5 * i + 2] = -7;
    t[5 * i + 3] = i == 11 ? -2.0f : 2.0f;
  }
  AfDecodeSpec spec;
  JsonObject *o = parse_obj ("{\"type\": \"keypoints\", \"skeleton\": \"pose\"}");
  g_assert_true (af__decode_spec_from_json (o, "t", &spec, NULL));
  json_object_unref (o);
  AfDecoder *dec;
  AfDecodeResult *res = run (&spec, 2, (gint64[]){ 1, 195 }, t, &dec);
  g_assert_cmpuint (res->n, ==, 33);
  g_assert_cmpuint (res->n_edges, ==, 35);
  g_assert_cmpfloat (res->keypoints[32].x, ==, 128);
  g_assert_cmpfloat (res->keypoints[32].y, ==, 128);
  g_assert_cmpfloat_with_epsilon (res->keypoints[0].score, 1 / (1 + expf (-2)), 1e-3);
  g_assert_false (res->keypoints[11].visible);
  g_assert_true (res->keypoints[12].visible);
  af_decode_result_free (res);
  af_decoder_free (dec);
  af_decode_spec_clear (&spec);
}

/* JSON: a round trip keeps every keypoints field; errors name the field. */
static void
test_keypoints_json (void)
{
  JsonObject *o =
      parse_obj ("{\"type\": \"keypoints\", \"skeleton\": \"hand\", \"points\": 22,"
                 " \"layout\": \"xyzs\", \"normalized\": true, \"input_size\": [256, 128],"
                 " \"score_threshold\": 0.25}");
  AfDecodeSpec spec, back;
  GError *error = NULL;
  g_assert_true (af__decode_spec_from_json (o, "t", &spec, &error));
  g_assert_no_error (error);
  json_object_unref (o);
  JsonBuilder *b = json_builder_new ();
  af__decode_spec_to_json (&spec, b);
  JsonNode *root = json_builder_get_root (b);
  g_assert_true (af__decode_spec_from_json (json_node_get_object (root), "t", &back, &error));
  g_assert_cmpint (back.skeleton, ==, AF_SKELETON_HAND);
  g_assert_cmpuint (back.n_points, ==, 22);
  g_assert_cmpstr (back.layout, ==, "xyzs");
  g_assert_true (back.normalized);
  g_assert_cmpint (back.input_w, ==, 256);
  g_assert_cmpint (back.input_h, ==, 128);
  g_assert_cmpfloat (back.score_threshold, ==, 0.25f);
  json_node_unref (root);
  g_object_unref (b);
  af_decode_spec_clear (&back);
  af_decode_spec_clear (&spec);
  const struct {
    const char *json, *msg;
  } bad[] = {
    { "{\"type\": \"keypoints\"}",
      "t: decode: field \"points\": missing (no skeleton gives the count)" },
    { "{\"type\": \"keypoints\", \"skeleton\": \"face\"}",
      "t: decode: field \"skeleton\": unknown skeleton \"face\" (\"none\", \"hand\", \"pose\" or "
      "\"movenet\")" },
    { "{\"type\": \"keypoints\", \"points\": 3, \"layout\": \"xz\"}",
      "t: decode: field \"layout\": expected up to 7 letters with an x and a y (\"xy\", \"xyz\", "
      "\"yxs\", \"xyzvp\"), got \"xz\"" },
    { "{\"type\": \"keypoints\", \"skeleton\": \"hand\", \"points\": 5}",
      "t: decode: field \"points\": 5 points, the hand skeleton needs 21" },
    { "{\"type\": \"keypoints\", \"points\": 65}",
      "t: decode: field \"points\": expected an integer in [1, 64], got 65" },
    { "{\"type\": \"segmentation\", \"channels_last\": 1}",
      "t: decode: field \"channels_last\": expected true or false, got a number" },
    { "{\"type\": \"segmentation\", \"top_k\": 1}",
      "t: decode: field \"top_k\": not valid for a segmentation decode" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    o = parse_obj (bad[i].json);
    g_assert_false (af__decode_spec_from_json (o, "t", &spec, &error));
    g_assert_cmpstr (error->message, ==, bad[i].msg);
    g_clear_error (&error);
    json_object_unref (o);
  }
  /* too few values for the points */
  af_decode_spec_init (&spec, AF_DECODE_TYPE_KEYPOINTS);
  spec.n_points = 21;
  AfTensorInfo info;
  info_set (&info, "out", 2, (gint64[]){ 1, 41 });
  g_assert_null (af_decoder_new (&spec, NULL, 1, &info, &error));
  g_assert_cmpstr (error->message, ==,
                   "decode: keypoints: tensor \"out\" has shape [1,41] (41 values), expected at "
                   "least 21 points of 2 values (\"xy\")");
  g_clear_error (&error);
  af_decode_spec_clear (&spec);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/decode/segmentation/argmax", test_segmentation_argmax);
  g_test_add_func ("/decode/segmentation/mask", test_segmentation_mask);
  g_test_add_func ("/decode/keypoints/movenet", test_keypoints_movenet);
  g_test_add_func ("/decode/keypoints/pose", test_keypoints_pose);
  g_test_add_func ("/decode/keypoints/json", test_keypoints_json);
  return g_test_run ();
}
