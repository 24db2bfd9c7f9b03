/* test-decode-yolo.c — the YOLO (v8 anchor-free, v5 anchor-based) and grid
 * (FastestDet) decoders on hand-made heads whose boxes are known, priors
 * and grids derived from the input size (SSD, YuNet at 640), and their
 * JSON and binding errors. heads.py checks the same decoders against numpy
 * references and ONNX Runtime on the real FastestDet. */
#include "decode.h"

#include <math.h>
#include <string.h>

static float
r16 (float x)
{
  return af_fp16_to_f32 (af_f32_to_fp16 (x));
}

static void
info_set (AfTensorInfo *info, const char *name, int rank, const gint64 *shape)
{
  memset (info, 0, sizeof *info);
  info->name = name;
  info->rank = rank;
  memcpy (info->shape, shape, rank * sizeof (gint64));
  info->dtype = AF_DTYPE_F16;
}

static JsonObject *
parse_obj (const char *json)
{
  JsonParser *p = json_parser_new ();
  GError *error = NULL;
  g_assert_true (json_parser_load_from_data (p, json, -1, &error));
  g_assert_no_error (error);
  JsonObject *o = json_object_ref (json_node_get_object (json_parser_get_root (p)));
  g_object_unref (p);
  return o;
}

/* Decodes @head (fp32, converted to fp16) of @shape with a default spec of
 * @type; returns the result (and the decoder in @dec). */
static AfDecodeResult *
decode (AfDecodeType type, int rank, const gint64 *shape, const float *head, AfDecoder **dec)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, type);
  AfTensorInfo info;
  info_set (&info, "head", rank, shape);
  GError *error = NULL;
  *dec = af_decoder_new (&spec, NULL, 1, &info, &error);
  g_assert_no_error (error);
  af_decode_spec_clear (&spec);
  gsize n = af_shape_numel (rank, shape);
  g_autofree guint16 *h = g_new (guint16, n);
  af_f32_to_fp16_n (head, h, n);
  AfDecodeResult *res = af_decode_result_new (*dec);
  const guint16 *views[] = { h };
  af_decoder_run (*dec, views, res);
  return res;
}

static void
assert_box (const AfDetection *d, int label, float score, float x1, float y1, float x2, float y2)
{
  g_assert_cmpint (d->label, ==, label);
  g_assert_cmpfloat_with_epsilon (d->score, score, 1e-6);
  g_assert_cmpfloat_with_epsilon (d->x1, x1, 1e-3);
  g_assert_cmpfloat_with_epsilon (d->y1, y1, 1e-3);
  g_assert_cmpfloat_with_epsilon (d->x2, x2, 1e-3);
  g_assert_cmpfloat_with_epsilon (d->y2, y2, 1e-3);
  g_assert_cmpint (d->n_landmarks, ==, 0);
}

/* v8 [1, 4+3, 6]: candidate k reads channel c at head[c * 6 + k]; the best
 * class wins, boxes are cx,cy,w,h in input pixels; NMS is class-wise (two
 * overlapping boxes of different classes stay, of the same class one goes);
 * a box over the border is clipped; a score below 0.25 is dropped. */
static void
test_yolov8 (void)
{
  enum { N = 6, C = 3 };
  const float cand[N][4 + C] = {
    { 100, 100, 40, 40, 0.1f, 0.9f, 0.2f },   /* class 1, 0.9 */
    { 102, 100, 40, 40, 0.8f, 0.1f, 0.1f },   /* class 0 overlapping: kept */
    { 101, 101, 40, 40, 0.05f, 0.85f, 0.0f }, /* class 1 overlapping: suppressed */
    { 630, 20, 40, 60, 0, 0, 0.5f },          /* class 2, clipped to x2 = 640 */
    { 300, 300, 10, 10, 0.2f, 0.24f, 0.1f },  /* below 0.25 */
    { 500, 500, 20, 30, 0.3f, 0.3f, 0.0f },   /* tie: the lower class */
  };
  float head[(4 + C) * N];
  for (int k = 0; k < N; k++)
    for (int c = 0; c < 4 + C; c++)
      head[c * N + k] = cand[k][c];
  AfDecoder *dec;
  AfDecodeResult *res = decode (AF_DECODE_TYPE_YOLOV8, 3, (gint64[]){ 1, 4 + C, N }, head, &dec);
  g_assert_cmpuint (res->n, ==, 4);
  assert_box (&res->detections[0], 1, r16 (0.9f), 80, 80, 120, 120);
  assert_box (&res->detections[1], 0, r16 (0.8f), 82, 80, 122, 120);
  assert_box (&res->detections[2], 2, 0.5f, 610, 0, 640, 50);
  assert_box (&res->detections[3], 0, r16 (0.3f), 490, 485, 510, 515);
  af_decode_result_free (res);
  af_decoder_free (dec);
}

/* v5 [1, N, 5+2]: score = objectness * best class; objectness alone below
 * the threshold drops a row whatever its class scores. */
static void
test_yolov5 (void)
{
  enum { N = 4, C = 2 };
  const float head[N * (5 + C)] = {
    320, 240, 64,  32, 0.5f,  0.2f,  0.9f, /* 0.45, class 1 */
    320, 240, 64,  32, 0.9f,  0.25f, 0.1f, /* 0.225 < 0.25 */
    10,  20,  8,   8,  0.2f,  1.0f,  1.0f, /* obj 0.2: dropped */
    600, 600, 100, 50, 0.75f, 1.0f,  0.5f, /* 0.75, class 0 */
  };
  AfDecoder *dec;
  AfDecodeResult *res = decode (AF_DECODE_TYPE_YOLOV5, 3, (gint64[]){ 1, N, 5 + C }, head, &dec);
  g_assert_cmpuint (res->n, ==, 2);
  assert_box (&res->detections[0], 0, 0.75f, 550, 575, 640, 625);
  assert_box (&res->detections[1], 1, r16 (0.5f) * r16 (0.9f), 288, 224, 352, 256);
  af_decode_result_free (res);
  af_decoder_free (dec);
}

/* grid [1, 5+2, 2, 3]: cell (row 1, col 2) with obj 0.9, classes (0.3,
 * 0.8), offsets atanh(0.5), atanh(-0.25), sizes logit(0.25), logit(0.5):
 * score 0.9^0.6 * 0.8^0.4, centre ((2 + 0.5) / 3, (1 - 0.25) / 2) of 352. */
static void
test_grid (void)
{
  enum { H = 2, W = 3, CELLS = H * W };
  float head[7 * CELLS] = { 0 };
  int cell = 1 * W + 2;
  float v[7] = { 0.9f, atanhf (0.5f), atanhf (-0.25f), logf (0.25f / 0.75f), 0, 0.3f, 0.8f };
  for (int c = 0; c < 7; c++)
    head[c * CELLS + cell] = v[c];
  head[0] = 0.6f; /* cell 0: obj 0.6, classes 0: score 0 */
  AfDecoder *dec;
  AfDecodeResult *res = decode (AF_DECODE_TYPE_GRID, 4, (gint64[]){ 1, 7, H, W }, head, &dec);
  g_assert_cmpuint (res->n, ==, 1);
  const AfDetection *d = &res->detections[0];
  float score = powf (r16 (0.9f), 0.6f) * powf (r16 (0.8f), 0.4f);
  float cx = (2 + tanhf (r16 (atanhf (0.5f)))) / 3 * 352;
  float cy = (1 + tanhf (r16 (atanhf (-0.25f)))) / 2 * 352;
  float w = 1 / (1 + expf (-r16 (logf (0.25f / 0.75f)))) * 352, h = 0.5f * 352;
  assert_box (d, 1, score, cx - w / 2, cy - h / 2, MIN (cx + w / 2, 352.0f), cy + h / 2);
  af_decode_result_free (res);
  af_decoder_free (dec);
}

/* Wrong shapes are refused naming the tensor and the expected layout; with
 * two outputs the head must be named. */
static void
test_bind_errors (void)
{
  struct {
    AfDecodeType type;
    int rank;
    gint64 shape[4];
    const char *msg;
  } cases[] = {
    { AF_DECODE_TYPE_YOLOV8,
      3,
      { 2, 84, 8400 },
      "decode: yolov8: tensor \"head\" has shape [2,84,8400], expected [1,4+C,N] (C >= 1 "
      "classes)" },
    { AF_DECODE_TYPE_YOLOV8,
      3,
      { 1, 4, 8400 },
      "decode: yolov8: tensor \"head\" has shape [1,4,8400], expected [1,4+C,N] (C >= 1 classes) "
      "within the limits" },
    { AF_DECODE_TYPE_YOLOV5,
      3,
      { 1, 25200, 5 },
      "decode: yolov5: tensor \"head\" has shape [1,25200,5], expected [1,N,5+C] (C >= 1 classes) "
      "within the limits" },
    { AF_DECODE_TYPE_GRID,
      3,
      { 1, 85, 484 },
      "decode: grid: tensor \"head\" has shape [1,85,484], expected [1,5+C,H,W] (C >= 1 classes, "
      "H and W up to 4096)" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    AfDecodeSpec spec;
    af_decode_spec_init (&spec, cases[i].type);
    AfTensorInfo info;
    info_set (&info, "head", cases[i].rank, cases[i].shape);
    GError *error = NULL;
    g_assert_null (af_decoder_new (&spec, NULL, 1, &info, &error));
    g_assert_cmpstr (error->message, ==, cases[i].msg);
    g_clear_error (&error);
    af_decode_spec_clear (&spec);
  }
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_YOLOV8);
  AfTensorInfo infos[2];
  info_set (&infos[0], "a", 3, (gint64[]){ 1, 84, 8400 });
  info_set (&infos[1], "b", 3, (gint64[]){ 1, 84, 8400 });
  GError *error = NULL;
  g_assert_null (af_decoder_new (&spec, NULL, 2, infos, &error));
  g_assert_cmpstr (error->message, ==,
                   "decode: yolov8: no tensor named for role \"scores\" and the model has 2 "
                   "outputs");
  g_clear_error (&error);
  spec.scores = g_strdup ("b");
  AfDecoder *dec = af_decoder_new (&spec, NULL, 2, infos, &error);
  g_assert_no_error (error);
  af_decoder_free (dec);
  af_decode_spec_clear (&spec);
}

/* SSD priors follow the input size: at 320x240 exactly today's tables
 * (40x30, 20x15, 10x8, 5x4: 4420 priors), at UltraFace RFB-640's 640x480
 * ceil(size / 8, 16, 32, 64) = 80x60, 40x30, 20x15, 10x8: 17640 priors,
 * the count of version-RFB-640's outputs; from JSON too. */
static void
test_ssd_derived (void)
{
  AfDecodeSpec def, spec;
  af_decode_spec_init (&def, AF_DECODE_TYPE_SSD);
  af_decode_spec_init (&spec, AF_DECODE_TYPE_SSD);
  af_decode_spec_set_input_size (&spec, 320, 240);
  g_assert_cmpmem (spec.feature_w, sizeof spec.feature_w, def.feature_w, sizeof def.feature_w);
  g_assert_cmpmem (spec.feature_h, sizeof spec.feature_h, def.feature_h, sizeof def.feature_h);
  guint n_def, n;
  g_autofree float *p_def = af__decode_ssd_priors (&def, &n_def);
  g_autofree float *p = af__decode_ssd_priors (&spec, &n);
  g_assert_cmpuint (n, ==, 4420);
  g_assert_cmpmem (p, 4 * n * sizeof (float), p_def, 4 * n_def * sizeof (float));

  af_decode_spec_set_input_size (&spec, 640, 480);
  const int fw[] = { 80, 40, 20, 10 }, fh[] = { 60, 30, 15, 8 };
  for (int l = 0; l < 4; l++) {
    g_assert_cmpint (spec.feature_w[l], ==, fw[l]);
    g_assert_cmpint (spec.feature_h[l], ==, fh[l]);
  }
  g_autofree float *p640 = af__decode_ssd_priors (&spec, &n);
  g_assert_cmpuint (n, ==, 17640);
  /* level 1, row 0, column 1, first min box (32): prior 80*60*3 + 2 */
  const float *q = p640 + 4 * (80 * 60 * 3 + 2);
  g_assert_cmpfloat (q[0], ==, 1.5f / 40);
  g_assert_cmpfloat (q[1], ==, 0.5f / 30);
  g_assert_cmpfloat (q[2], ==, 32.0f / 640);
  g_assert_cmpfloat (q[3], ==, 32.0f / 480);
  af_decode_spec_clear (&spec);

  JsonObject *o =
      parse_obj ("{\"type\": \"detection\", \"style\": \"ssd\", \"input_size\": [640, 480]}");
  GError *error = NULL;
  g_assert_true (af__decode_spec_from_json (o, "t", &spec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (spec.feature_w[0], ==, 80);
  g_assert_cmpint (spec.feature_h[3], ==, 8);
  AfTensorInfo infos[2];
  info_set (&infos[0], "scores", 3, (gint64[]){ 1, 17640, 2 });
  info_set (&infos[1], "boxes", 3, (gint64[]){ 1, 17640, 4 });
  AfDecoder *dec = af_decoder_new (&spec, NULL, 2, infos, &error);
  g_assert_no_error (error);
  af_decoder_free (dec);
  af_decode_spec_clear (&spec);
  json_object_unref (o);
  af_decode_spec_clear (&def);
}

/* YuNet at 640x640: grids of 80, 40 and 20 cells per row (8400 cells); a
 * cell at stride 32, row 19, col 7 decodes around ((7 + b0) * 32, ...). */
static void
test_yunet_640 (void)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_YUNET);
  af_decode_spec_set_input_size (&spec, 640, 640);
  AfTensorInfo infos[12];
  char names[12][16];
  guint16 *bufs[12];
  const char *roles[] = { "cls", "obj", "bbox", "kps" };
  int widths[] = { 1, 1, 4, 10 };
  for (int l = 0; l < 3; l++) {
    int s = 8 << l;
    gint64 cells = (640 / s) * (640 / s);
    for (int r = 0; r < 4; r++) {
      int k = 4 * l + r;
      g_snprintf (names[k], sizeof names[k], "%s_%d", roles[r], s);
      info_set (&infos[k], names[k], 3, (gint64[]){ 1, cells, widths[r] });
      bufs[k] = g_new0 (guint16, cells * widths[r]);
    }
  }
  GError *error = NULL;
  AfDecoder *dec = af_decoder_new (&spec, NULL, 12, infos, &error);
  g_assert_no_error (error);
  guint cell = 19 * 20 + 7;
  bufs[8][cell] = af_f32_to_fp16 (1.0f);
  bufs[9][cell] = af_f32_to_fp16 (1.0f);
  float bb[] = { 0.5f, 0.25f, 0.0f, 0.0f };
  af_f32_to_fp16_n (bb, bufs[10] + 4 * cell, 4);
  AfDecodeResult *res = af_decode_result_new (dec);
  af_decoder_run (dec, (const guint16 *const *) bufs, res);
  g_assert_cmpuint (res->n, ==, 1);
  const AfDetection *d = &res->detections[0];
  g_assert_cmpfloat_with_epsilon (d->x1, 7.5f * 32 - 16, 1e-4);
  g_assert_cmpfloat_with_epsilon (d->y1, 19.25f * 32 - 16, 1e-4);
  g_assert_cmpfloat_with_epsilon (d->x2, 7.5f * 32 + 16, 1e-4);
  g_assert_cmpfloat_with_epsilon (d->y2, 19.25f * 32 + 16, 1e-4);
  af_decode_result_free (res);
  af_decoder_free (dec);
  for (int k = 0; k < 12; k++)
    g_free (bufs[k]);
  af_decode_spec_clear (&spec);
}

/* JSON: the new styles read back what they wrote, take only their fields,
 * and the style list names them. */
static void
test_json (void)
{
  const char *styles[] = { "yolov8", "yolov5", "grid" };
  for (guint i = 0; i < G_N_ELEMENTS (styles); i++) {
    g_autofree char *js =
        g_strdup_printf ("{\"type\": \"detection\", \"style\": \"%s\", \"labels\": \"coco.names\", "
                         "\"score_threshold\": 0.4, \"input_size\": [416, 320]}",
                         styles[i]);
    JsonObject *o = parse_obj (js);
    AfDecodeSpec spec, back;
    GError *error = NULL;
    g_assert_true (af__decode_spec_from_json (o, "t", &spec, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (af_decode_type_name (spec.type), ==, styles[i]);
    g_assert_cmpint (spec.input_w, ==, 416);
    JsonBuilder *b = json_builder_new ();
    af__decode_spec_to_json (&spec, b);
    JsonNode *root = json_builder_get_root (b);
    g_assert_true (af__decode_spec_from_json (json_node_get_object (root), "t", &back, &error));
    g_assert_cmpint (back.type, ==, spec.type);
    g_assert_cmpfloat (back.score_threshold, ==, spec.score_threshold);
    g_assert_cmpfloat (back.iou_threshold, ==, spec.iou_threshold);
    g_assert_cmpuint (back.max_detections, ==, spec.max_detections);
    g_assert_cmpstr (back.labels, ==, "coco.names");
    json_node_unref (root);
    g_object_unref (b);
    af_decode_spec_clear (&back);
    af_decode_spec_clear (&spec);
    json_object_unref (o);
  }
  JsonObject *o = parse_obj ("{\"type\": \"detection\", \"style\": \"yolov8\", \"strides\": [8]}");
  AfDecodeSpec spec;
  GError *error = NULL;
  g_assert_false (af__decode_spec_from_json (o, "t", &spec, &error));
  g_assert_cmpstr (error->message, ==,
                   "t: decode: field \"strides\": not valid for a yolov8 decode");
  g_clear_error (&error);
  json_object_unref (o);
  o = parse_obj ("{\"type\": \"detection\", \"style\": \"yolo\"}");
  g_assert_false (af__decode_spec_from_json (o, "t", &spec, &error));
  g_assert_cmpstr (error->message, ==,
                   "t: decode: field \"style\": unknown style \"yolo\" (\"ssd\", \"ssd-decoded\", "
                   "\"yunet\", \"blazeface\", \"yolov8\", \"yolov5\" or \"grid\")");
  g_clear_error (&error);
  json_object_unref (o);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/decode/yolov8/synthetic", test_yolov8);
  g_test_add_func ("/decode/yolov5/synthetic", test_yolov5);
  g_test_add_func ("/decode/grid/cell", test_grid);
  g_test_add_func ("/decode/yolo/bind-errors", test_bind_errors);
  g_test_add_func ("/decode/ssd/derived-priors", test_ssd_derived);
  g_test_add_func ("/decode/yunet/640", test_yunet_640);
  g_test_add_func ("/decode/yolo/json", test_json);
  return g_test_run ();
}
