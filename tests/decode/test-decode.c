/* test-decode.c — the post-processing decoders on hand-made tensors:
 * softmax/top-k/labels, SSD priors and box decoding, YuNet cells, BlazeFace
 * anchors and keypoints, NMS, the map back to frame pixels, and the JSON
 * spec parser's errors. */
#include "decode.h"
#include "oracle.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static guint16 *
fp16_of (const float *v, gsize n)
{
  guint16 *h = g_new (guint16, n);
  af_f32_to_fp16_n (v, h, n);
  return h;
}

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

static char *
write_temp (const char *contents)
{
  GError *error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("af-labels-XXXXXX.txt", &path, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, contents, -1, &error));
  g_assert_no_error (error);
  return path;
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

static AfDecoder *
classifier (const float *values, guint n, gboolean softmax, guint k, const char *labels,
            AfDecodeResult **res)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_CLASSIFICATION);
  spec.softmax = softmax;
  spec.top_k = k;
  spec.labels = g_strdup (labels);
  AfTensorInfo info;
  gint64 shape[] = { 1, n, 1, 1 };
  info_set (&info, "prob", 4, shape);
  GError *error = NULL;
  AfDecoder *dec = af_decoder_new (&spec, NULL, 1, &info, &error);
  g_assert_no_error (error);
  af_decode_spec_clear (&spec);
  *res = af_decode_result_new (dec);
  g_autofree guint16 *h = fp16_of (values, n);
  const guint16 *views[] = { h };
  af_decoder_run (dec, views, *res);
  return dec;
}

/* ---------------------------------------------------------------- classification */

/* Softmax is max-subtracted fp32 and top-k orders ties by lower index. */
static void
test_softmax_topk (void)
{
  float v[] = { 1, 2, 3, 3, 0, 100 - 100 };
  AfDecodeResult *res;
  AfDecoder *dec = classifier (v, 6, TRUE, 3, NULL, &res);
  g_assert_cmpuint (res->n, ==, 3);
  g_assert_cmpuint (res->classes[0].index, ==, 2);
  g_assert_cmpuint (res->classes[1].index, ==, 3);
  g_assert_cmpuint (res->classes[2].index, ==, 1);
  double sum = 0;
  for (int i = 0; i < 6; i++)
    sum += exp (v[i] - 3.0);
  g_assert_cmpfloat_with_epsilon (res->classes[0].score, exp (0) / sum, 1e-6);
  g_assert_cmpfloat_with_epsilon (res->classes[2].score, exp (-1) / sum, 1e-6);
  g_assert_null (res->classes[0].label);
  af_decode_result_free (res);
  af_decoder_free (dec);

  /* large logits would overflow expf without the max subtraction */
  float big[] = { 2000, 1999, -2000 }; /* exact in fp16 */
  dec = classifier (big, 3, TRUE, 5, NULL, &res);
  g_assert_cmpuint (res->n, ==, 3); /* capacity clamps to C */
  g_assert_cmpuint (res->classes[0].index, ==, 0);
  g_assert_true (isfinite (res->classes[0].score));
  g_assert_cmpfloat_with_epsilon (res->classes[0].score, 1 / (1 + exp (-1.0)), 1e-5);
  af_decode_result_free (res);
  af_decoder_free (dec);
}

/* Without softmax the raw values rank; equal values keep index order and NaN ranks last. */
static void
test_topk_raw_ties (void)
{
  float v[] = { 0.25f, NAN, 0.5f, 0.25f, 0.5f, 0.125f };
  AfDecodeResult *res;
  AfDecoder *dec = classifier (v, 6, FALSE, 4, NULL, &res);
  guint want[] = { 2, 4, 0, 3 };
  g_assert_cmpuint (res->n, ==, 4);
  for (int i = 0; i < 4; i++)
    g_assert_cmpuint (res->classes[i].index, ==, want[i]);
  g_assert_cmpfloat (res->classes[0].score, ==, 0.5f);
  af_decode_result_free (res);
  af_decoder_free (dec);
}

/* Labels load in both formats: plain lines and "index,name" (commas in names kept). */
static void
test_labels_formats (void)
{
  g_autofree char *plain = write_temp ("background\r\nface\ncat\n\n");
  g_autofree char *indexed = write_temp ("0,tench, Tinca tinca\n2,great white shark\n1,goldfish\n");
  float v[] = { 0.1f, 0.7f, 0.2f };
  AfDecodeResult *res;
  AfDecoder *dec = classifier (v, 3, FALSE, 2, plain, &res);
  g_assert_cmpuint (af_decoder_n_labels (dec), ==, 3);
  g_assert_cmpstr (res->classes[0].label, ==, "face");
  g_assert_cmpstr (res->classes[1].label, ==, "cat");
  af_decode_result_free (res);
  af_decoder_free (dec);

  dec = classifier (v, 3, FALSE, 3, indexed, &res);
  g_assert_cmpstr (res->classes[0].label, ==, "goldfish");
  g_assert_cmpstr (res->classes[1].label, ==, "great white shark");
  g_assert_cmpstr (res->classes[2].label, ==, "tench, Tinca tinca");
  af_decode_result_free (res);
  af_decoder_free (dec);

  /* gaps in an indexed file give no label */
  g_autofree char *gaps = write_temp ("2,two\n");
  dec = classifier (v, 3, FALSE, 3, gaps, &res);
  g_assert_cmpstr (res->classes[0].label, ==, NULL);
  g_assert_cmpstr (af_decoder_label (dec, 2), ==, "two");
  af_decode_result_free (res);
  af_decoder_free (dec);
  g_unlink (plain);
  g_unlink (indexed);
  g_unlink (gaps);
}

/* The real SqueezeNet Labels.txt parses as an indexed file of 1000 labels. */
static void
test_labels_squeezenet (void)
{
  g_autofree char *path = af_test_shared_file ("models/squeezenet/Labels.txt");
  if (path == NULL)
    return;
  GError *error = NULL;
  g_auto (GStrv) labels = af__decode_load_labels (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (labels), ==, 1000);
  g_assert_cmpstr (labels[0], ==, "tench, Tinca tinca");
  g_assert_cmpstr (labels[281], ==, "tabby, tabby cat");
}

/* Bad labels files give a GError naming the file and the line. */
static void
test_labels_errors (void)
{
  struct {
    const char *text, *msg;
  } cases[] = {
    { "0,a\n1,b\nc\n", ":3: expected \"index,name\"" },
    { "0,a\n0,b\n", ":2: index 0 appears twice" },
    { "a\n\nb\n", ":2: empty label" },
    { "0,a\n1,\n", ":2: empty label for index 1" },
    { "\n\n", ":1: labels file is empty" },
    { "0,a\n99999999,b\n", ":2: index 99999999 is above the limit" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *path = write_temp (cases[i].text);
    GError *error = NULL;
    char **labels = af__decode_load_labels (path, &error);
    g_assert_null (labels);
    g_assert_error (error, AF_ERROR, error->code);
    g_autofree char *want = g_strconcat (path, cases[i].msg, NULL);
    if (!g_str_has_prefix (error->message, want))
      g_error ("case %u: got \"%s\", want prefix \"%s\"", i, error->message, want);
    g_error_free (error);
    g_unlink (path);
  }
  GError *error = NULL;
  g_assert_null (af__decode_load_labels ("/nonexistent/labels.txt", &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_IO);
  g_assert_true (strstr (error->message, "/nonexistent/labels.txt") != NULL);
  g_clear_error (&error);

  /* more labels than classes is refused at configuration */
  g_autofree char *four = write_temp ("a\nb\nc\nd\n");
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_CLASSIFICATION);
  spec.labels = g_strdup (four);
  AfTensorInfo info;
  gint64 shape[] = { 1, 3 };
  info_set (&info, "prob", 2, shape);
  g_assert_null (af_decoder_new (&spec, NULL, 1, &info, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_SHAPE);
  g_assert_true (strstr (error->message, "has 4 labels, the model gives 3 classes") != NULL);
  g_clear_error (&error);
  af_decode_spec_clear (&spec);
  g_unlink (four);
}

/* ---------------------------------------------------------------- SSD */

/* The UltraFace priors: 4420 of them, first and last exactly as the README's formula. */
static void
test_ssd_priors (void)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_SSD);
  guint n;
  g_autofree float *p = af__decode_ssd_priors (&spec, &n);
  g_assert_cmpuint (n, ==, 4420);
  g_assert_cmpfloat (p[0], ==, 0.5f / 40);
  g_assert_cmpfloat (p[1], ==, 0.5f / 30);
  g_assert_cmpfloat (p[2], ==, 10.0f / 320);
  g_assert_cmpfloat (p[3], ==, 10.0f / 240);
  /* prior 1: same cell, min box 16 */
  g_assert_cmpfloat (p[4], ==, 0.5f / 40);
  g_assert_cmpfloat (p[6], ==, 16.0f / 320);
  /* prior 3: next column */
  g_assert_cmpfloat (p[12], ==, 1.5f / 40);
  const float *last = p + 4 * (n - 1);
  g_assert_cmpfloat (last[0], ==, 4.5f / 5);
  g_assert_cmpfloat (last[1], ==, 3.5f / 4);
  g_assert_cmpfloat (last[2], ==, 256.0f / 320);
  g_assert_cmpfloat (last[3], ==, 1.0f); /* 256/240 clipped */
  af_decode_spec_clear (&spec);
}

/* Makes the UltraFace tensors: all background except the given priors. */
static void
ssd_tensors (guint n, const guint *idx, const float *face, const float (*reg)[4], guint16 **scores,
             guint16 **boxes)
{
  g_autofree float *s = g_new0 (float, 2 * n);
  g_autofree float *b = g_new0 (float, 4 * n);
  for (guint i = 0; i < n; i++)
    s[2 * i] = 1;
  for (guint k = 0; idx[k] != G_MAXUINT; k++) {
    s[2 * idx[k]] = 1 - face[k];
    s[2 * idx[k] + 1] = face[k];
    memcpy (b + 4 * idx[k], reg[k], 4 * sizeof (float));
  }
  *scores = fp16_of (s, 2 * n);
  *boxes = fp16_of (b, 4 * n);
}

static AfDecoder *
ssd_decoder (AfDecodeType type)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, type);
  AfTensorInfo infos[2];
  gint64 ss[] = { 1, 4420, 2 }, bs[] = { 1, 4420, 4 };
  info_set (&infos[0], "boxes", 3, bs);
  info_set (&infos[1], "scores", 3, ss);
  GError *error = NULL;
  AfDecoder *dec = af_decoder_new (&spec, NULL, 2, infos, &error);
  g_assert_no_error (error);
  af_decode_spec_clear (&spec);
  return dec;
}

/* A hand-made regression decodes against its prior to the expected pixel box; others fall below
 * threshold. */
static void
test_ssd_decode (void)
{
  AfDecoder *dec = ssd_decoder (AF_DECODE_TYPE_SSD);
  guint idx[] = { 0, 4419, 100, G_MAXUINT };
  float face[] = { 0.9f, 0.8f, 0.69f };
  float reg[][4] = { { 1, -1, logf (2) / 0.2f, 0 }, { 0, 0, 0, 0 }, { 0, 0, 0, 0 } };
  guint16 *scores, *boxes;
  ssd_tensors (4420, idx, face, reg, &scores, &boxes);
  const guint16 *views[] = { boxes, scores }; /* indexed like the infos */
  AfDecodeResult *res = af_decode_result_new (dec);
  af_decoder_run (dec, views, res);
  g_assert_cmpuint (res->n, ==, 2);
  AfDetection *d = &res->detections[0];
  g_assert_cmpfloat (d->score, ==, r16 (0.9f));
  g_assert_cmpint (d->label, ==, 1);
  /* prior 0: (0.0125, 0.016667, 0.03125, 0.041667) */
  double pw = 10.0 / 320, ph = 10.0 / 240;
  double cx = 0.1 * pw + 0.0125, cy = -0.1 * ph + 0.5 / 30;
  double w = exp (r16 (logf (2) / 0.2f) * 0.2) * pw, h = ph;
  g_assert_cmpfloat_with_epsilon (d->x1, MAX (cx - w / 2, 0) * 320, 1e-4);
  g_assert_cmpfloat_with_epsilon (d->x2, (cx + w / 2) * 320, 1e-4);
  g_assert_cmpfloat_with_epsilon (d->y1, MAX (cy - h / 2, 0) * 240, 1e-4);
  g_assert_cmpfloat_with_epsilon (d->y2, (cy + h / 2) * 240, 1e-4);
  /* the last prior: centre (0.9, 0.875), 0.8 x 1.0, clipped to the image */
  d = &res->detections[1];
  g_assert_cmpfloat_with_epsilon (d->x1, (0.9 - 0.4) * 320, 1e-3);
  g_assert_cmpfloat_with_epsilon (d->x2, 320, 1e-3);
  g_assert_cmpfloat_with_epsilon (d->y1, (0.875 - 0.5) * 240, 1e-3);
  g_assert_cmpfloat_with_epsilon (d->y2, 240, 1e-3);

  /* a second run reuses the result storage and gives the same answer */
  AfDetection first = res->detections[0];
  af_decoder_run (dec, views, res);
  g_assert_cmpuint (res->n, ==, 2);
  g_assert_cmpmem (&first, sizeof first, &res->detections[0], sizeof first);
  af_decode_result_free (res);
  af_decoder_free (dec);
  g_free (scores);
  g_free (boxes);
}

/* The already-decoded variant takes corners in [0,1] as they are (clipped) and scales to pixels. */
static void
test_ssd_decoded (void)
{
  AfDecoder *dec = ssd_decoder (AF_DECODE_TYPE_SSD_DECODED);
  guint idx[] = { 7, 9, G_MAXUINT };
  float face[] = { 0.75f, 0.95f };
  float reg[][4] = { { 0.25f, 0.5f, 0.5f, 0.75f }, { -0.125f, 0.0f, 0.25f, 1.25f } };
  guint16 *scores, *boxes;
  ssd_tensors (4420, idx, face, reg, &scores, &boxes);
  const guint16 *views[] = { boxes, scores };
  AfDecodeResult *res = af_decode_result_new (dec);
  af_decoder_run (dec, views, res);
  g_assert_cmpuint (res->n, ==, 2);
  g_assert_cmpfloat (res->detections[0].score, ==, r16 (0.95f));
  g_assert_cmpfloat (res->detections[0].x1, ==, 0);
  g_assert_cmpfloat (res->detections[0].x2, ==, 80);
  g_assert_cmpfloat (res->detections[0].y2, ==, 240);
  g_assert_cmpfloat (res->detections[1].x1, ==, 80);
  g_assert_cmpfloat (res->detections[1].y1, ==, 120);
  g_assert_cmpfloat (res->detections[1].x2, ==, 160);
  g_assert_cmpfloat (res->detections[1].y2, ==, 180);
  af_decode_result_free (res);
  af_decoder_free (dec);
  g_free (scores);
  g_free (boxes);
}

/* A portrait SSD (96x160 input, 12x20 and 6x10 feature maps): boxes decode
 * against the prior of their own row and column, prior sizes divide by the
 * input's width and height respectively, and x scales by 96, y by 160. */
static void
test_ssd_non_square (void)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_SSD);
  spec.input_w = 96;
  spec.input_h = 160;
  spec.n_levels = 2;
  spec.feature_w[0] = 12, spec.feature_h[0] = 20, spec.n_min_boxes[0] = 1;
  spec.feature_w[1] = 6, spec.feature_h[1] = 10, spec.n_min_boxes[1] = 2;
  spec.min_boxes[0][0] = 16;
  spec.min_boxes[1][0] = 32;
  spec.min_boxes[1][1] = 64;
  guint n = 12 * 20 + 6 * 10 * 2;
  AfTensorInfo infos[2];
  info_set (&infos[0], "boxes", 3, (gint64[]){ 1, n, 4 });
  info_set (&infos[1], "scores", 3, (gint64[]){ 1, n, 2 });
  GError *error = NULL;
  AfDecoder *dec = af_decoder_new (&spec, NULL, 2, infos, &error);
  g_assert_no_error (error);
  /* level 0 row 15 column 2 (min box 16); level 1 row 7 column 4, min box 64 */
  struct {
    guint index;
    double cx, cy, pw, ph;
    float face, reg[4];
  } want[] = {
    { 15 * 12 + 2, 2.5 / 12, 15.5 / 20, 16.0 / 96, 16.0 / 160, 0.9f, { 0.5f, -1, 1, 0.5f } },
    { 240 + (7 * 6 + 4) * 2 + 1,
      4.5 / 6,
      7.5 / 10,
      64.0 / 96,
      64.0 / 160,
      0.8f,
      { -0.25f, 0.75f, -2, -1 } },
  };
  guint idx[] = { want[0].index, want[1].index, G_MAXUINT };
  float face[] = { want[0].face, want[1].face };
  float reg[2][4];
  memcpy (reg[0], want[0].reg, sizeof reg[0]);
  memcpy (reg[1], want[1].reg, sizeof reg[1]);
  guint16 *scores, *boxes;
  ssd_tensors (n, idx, face, (const float (*)[4]) reg, &scores, &boxes);
  const guint16 *views[] = { boxes, scores };
  AfDecodeResult *res = af_decode_result_new (dec);
  af_decoder_run (dec, views, res);
  g_assert_cmpuint (res->n, ==, 2);
  for (int k = 0; k < 2; k++) {
    const float *r = want[k].reg; /* all fp16-exact */
    double cx = r[0] * 0.1 * want[k].pw + want[k].cx, cy = r[1] * 0.1 * want[k].ph + want[k].cy;
    double w = exp (r[2] * 0.2) * want[k].pw, h = exp (r[3] * 0.2) * want[k].ph;
    AfDetection *d = &res->detections[k];
    g_assert_cmpfloat (d->score, ==, r16 (want[k].face));
    g_assert_cmpfloat_with_epsilon (d->x1, (cx - w / 2) * 96, 1e-3);
    g_assert_cmpfloat_with_epsilon (d->x2, (cx + w / 2) * 96, 1e-3);
    g_assert_cmpfloat_with_epsilon (d->y1, (cy - h / 2) * 160, 1e-3);
    g_assert_cmpfloat_with_epsilon (d->y2, (cy + h / 2) * 160, 1e-3);
  }
  af_decode_result_free (res);
  af_decoder_free (dec);
  af_decode_spec_clear (&spec);
  g_free (scores);
  g_free (boxes);
}

/* Configuration rejects a missing tensor and mismatched shapes, naming role and tensor. */
static void
test_bind_errors (void)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_SSD);
  AfTensorInfo infos[2];
  gint64 ss[] = { 1, 4420, 2 }, bs[] = { 1, 4420, 4 }, bad[] = { 1, 4000, 4 },
         b5[] = { 1, 4420, 5 };
  GError *error = NULL;
  info_set (&infos[0], "scores", 3, ss);
  info_set (&infos[1], "boxs", 3, bs);
  g_assert_null (af_decoder_new (&spec, NULL, 2, infos, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_SHAPE);
  g_assert_cmpstr (error->message, ==,
                   "decode: role \"boxes\" names tensor \"boxes\", which is "
                   "not a model output (outputs: scores, boxs)");
  g_clear_error (&error);
  info_set (&infos[1], "boxes", 3, bad);
  g_assert_null (af_decoder_new (&spec, NULL, 2, infos, &error));
  g_assert_cmpstr (error->message, ==,
                   "decode: ssd: tensor \"boxes\" (boxes) has 4000 boxes, "
                   "\"scores\" (scores) has 4420");
  g_clear_error (&error);
  info_set (&infos[1], "boxes", 3, b5);
  g_assert_null (af_decoder_new (&spec, NULL, 2, infos, &error));
  g_assert_cmpstr (error->message, ==,
                   "decode: ssd: tensor \"boxes\" (boxes) has 5 values per "
                   "box, expected 4");
  g_clear_error (&error);
  gint64 s2[] = { 1, 4000, 2 };
  info_set (&infos[0], "scores", 3, s2);
  info_set (&infos[1], "boxes", 3, bad);
  g_assert_null (af_decoder_new (&spec, NULL, 2, infos, &error));
  g_assert_cmpstr (error->message, ==,
                   "decode: ssd: the priors give 4420 boxes, tensor "
                   "\"boxes\" has 4000");
  g_clear_error (&error);
  gint64 b4d[] = { 2, 1, 4420, 4 };
  info_set (&infos[0], "scores", 3, ss);
  info_set (&infos[1], "boxes", 4, b4d);
  g_assert_null (af_decoder_new (&spec, NULL, 2, infos, &error));
  g_assert_cmpstr (error->message, ==,
                   "decode: role \"boxes\": tensor \"boxes\" has shape "
                   "[2,1,4420,4], expected [1,N,C]");
  g_clear_error (&error);
  af_decode_spec_clear (&spec);

  af_decode_spec_init (&spec, AF_DECODE_TYPE_CLASSIFICATION);
  gint64 two[] = { 2, 10 };
  info_set (&infos[0], "prob", 2, two);
  g_assert_null (af_decoder_new (&spec, NULL, 1, infos, &error));
  g_assert_cmpstr (error->message, ==,
                   "decode: classification: tensor \"prob\" has shape [2,10], "
                   "expected one row of class values like [1,C]");
  g_clear_error (&error);
  af_decode_spec_clear (&spec);
}

/* ---------------------------------------------------------------- YuNet */

/* One hand-made YuNet cell at stride 16 decodes to the README's box and landmarks. */
static void
test_yunet_cell (void)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_YUNET);
  AfTensorInfo infos[12];
  char names[12][16];
  guint16 *bufs[12];
  const char *roles[] = { "cls", "obj", "bbox", "kps" };
  int widths[] = { 1, 1, 4, 10 };
  for (int l = 0; l < 3; l++) {
    int s = 8 << l;
    gint64 cells = (320 / s) * (320 / s);
    for (int r = 0; r < 4; r++) {
      int k = 4 * l + r;
      g_snprintf (names[k], sizeof names[k], "%s_%d", roles[r], s);
      gint64 shape[] = { 1, cells, widths[r] };
      info_set (&infos[k], names[k], 3, shape);
      bufs[k] = g_new0 (guint16, cells * widths[r]);
    }
  }
  GError *error = NULL;
  AfDecoder *dec = af_decoder_new (&spec, NULL, 12, infos, &error);
  g_assert_no_error (error);
  /* stride 16 (level 1): row 3, col 5 of a 20-wide grid */
  guint cell = 3 * 20 + 5;
  bufs[4][cell] = af_f32_to_fp16 (0.81f);
  bufs[5][cell] = af_f32_to_fp16 (1.0f);
  float bb[] = { 0.5f, 0.25f, 0.0f, logf (2) };
  af_f32_to_fp16_n (bb, bufs[6] + 4 * cell, 4);
  float kp[10] = { 0, 0, 1, 0, 0.5f, 0.5f, -0.25f, 1, 1, 1 };
  af_f32_to_fp16_n (kp, bufs[7] + 10 * cell, 10);
  /* a cell below threshold at stride 8: sqrt(0.6*0.5) < 0.6 */
  bufs[0][0] = af_f32_to_fp16 (0.6f);
  bufs[1][0] = af_f32_to_fp16 (0.5f);
  AfDecodeResult *res = af_decode_result_new (dec);
  af_decoder_run (dec, (const guint16 *const *) bufs, res);
  g_assert_cmpuint (res->n, ==, 1);
  AfDetection *d = &res->detections[0];
  g_assert_cmpfloat_with_epsilon (d->score, sqrtf (r16 (0.81f)), 1e-6);
  double cx = 5.5 * 16, cy = 3.25 * 16, w = 16, h = exp (r16 (logf (2))) * 16;
  g_assert_cmpfloat_with_epsilon (d->x1, cx - w / 2, 1e-4);
  g_assert_cmpfloat_with_epsilon (d->x2, cx + w / 2, 1e-4);
  g_assert_cmpfloat_with_epsilon (d->y1, cy - h / 2, 1e-3);
  g_assert_cmpfloat_with_epsilon (d->y2, cy + h / 2, 1e-3);
  g_assert_cmpint (d->n_landmarks, ==, 5);
  for (int k = 0; k < 5; k++) {
    g_assert_cmpfloat_with_epsilon (d->landmarks[2 * k], (5 + kp[2 * k]) * 16, 1e-4);
    g_assert_cmpfloat_with_epsilon (d->landmarks[2 * k + 1], (3 + kp[2 * k + 1]) * 16, 1e-4);
  }
  af_decode_result_free (res);
  af_decoder_free (dec);
  for (int k = 0; k < 12; k++)
    g_free (bufs[k]);

  /* a grid of the wrong size is refused */
  gint64 wrong[] = { 1, 1599, 1 };
  info_set (&infos[0], "cls_8", 3, wrong);
  g_assert_null (af_decoder_new (&spec, NULL, 12, infos, &error));
  g_assert_cmpstr (error->message, ==,
                   "decode: yunet: stride 8: tensor \"cls_8\" (cls) is "
                   "[1,1599,1], expected [1,1600,1] for a 320x320 input");
  g_clear_error (&error);
  af_decode_spec_clear (&spec);
}

/* A non-square YuNet (@w x @h, strides 8, 16, 32): one cell per stride, at
 * (row, col) chosen to exist in both orientations, decodes to a box and
 * landmarks around ((col + b0) * s, (row + b1) * s). A grid walked with the
 * wrong width puts them elsewhere. */
static void
yunet_non_square (int w, int h)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_YUNET);
  spec.input_w = w;
  spec.input_h = h;
  AfTensorInfo infos[12];
  guint16 *bufs[12];
  int widths[] = { 1, 1, 4, 10 };
  for (int l = 0; l < 3; l++)
    for (int r = 0; r < 4; r++) {
      gint64 cells = (gint64) (w >> (3 + l)) * (h >> (3 + l));
      info_set (&infos[4 * l + r],
                r == 0   ? spec.cls[l]
                : r == 1 ? spec.obj[l]
                : r == 2 ? spec.bbox[l]
                         : spec.kps[l],
                3, (gint64[]){ 1, cells, widths[r] });
      bufs[4 * l + r] = g_new0 (guint16, cells * widths[r]);
    }
  GError *error = NULL;
  AfDecoder *dec = af_decoder_new (&spec, NULL, 12, infos, &error);
  g_assert_no_error (error);
  static const struct {
    int row, col;
    float cls, bbox[4];
  } cell[] = {
    { 10, 9, 0.9f, { 0.25f, 0.5f, 0.5f, 0 } },
    { 1, 5, 0.8f, { 0.75f, 0.25f, 0, 0.25f } },
    { 2, 1, 0.7f, { 0.5f, 0.5f, 0, 0 } },
  };
  const float kp[10] = { 0, 0, 1, 0, 0.5f, 0.5f, -0.25f, 1, 1, 1 };
  for (int l = 0; l < 3; l++) {
    gsize i = (gsize) cell[l].row * (w >> (3 + l)) + cell[l].col;
    bufs[4 * l][i] = af_f32_to_fp16 (cell[l].cls);
    bufs[4 * l + 1][i] = af_f32_to_fp16 (1);
    af_f32_to_fp16_n (cell[l].bbox, bufs[4 * l + 2] + 4 * i, 4);
    af_f32_to_fp16_n (kp, bufs[4 * l + 3] + 10 * i, 10);
  }
  AfDecodeResult *res = af_decode_result_new (dec);
  af_decoder_run (dec, (const guint16 *const *) bufs, res);
  g_assert_cmpuint (res->n, ==, 3);
  for (int l = 0; l < 3; l++) { /* sorted by score: level order */
    const AfDetection *d = &res->detections[l];
    const float *b = cell[l].bbox;
    double s = 8 << l, cx = (cell[l].col + b[0]) * s, cy = (cell[l].row + b[1]) * s;
    double bw = exp (r16 (b[2])) * s, bh = exp (r16 (b[3])) * s;
    g_test_message ("%dx%d stride %g: (%.2f, %.2f, %.2f, %.2f)", w, h, s, d->x1, d->y1, d->x2,
                    d->y2);
    g_assert_cmpfloat_with_epsilon (d->score, sqrtf (r16 (cell[l].cls)), 1e-6);
    g_assert_cmpfloat_with_epsilon (d->x1, MAX (cx - bw / 2, 0), 1e-3);
    g_assert_cmpfloat_with_epsilon (d->y1, MAX (cy - bh / 2, 0), 1e-3);
    g_assert_cmpfloat_with_epsilon (d->x2, MIN (cx + bw / 2, w), 1e-3);
    g_assert_cmpfloat_with_epsilon (d->y2, MIN (cy + bh / 2, h), 1e-3);
    for (int k = 0; k < 5; k++) {
      g_assert_cmpfloat_with_epsilon (d->landmarks[2 * k], (cell[l].col + kp[2 * k]) * s, 1e-3);
      g_assert_cmpfloat_with_epsilon (d->landmarks[2 * k + 1], (cell[l].row + kp[2 * k + 1]) * s,
                                      1e-3);
    }
  }
  af_decode_result_free (res);
  af_decoder_free (dec);
  for (int k = 0; k < 12; k++)
    g_free (bufs[k]);
  af_decode_spec_clear (&spec);
}

/* YuNet on a landscape 160x96 and a portrait 96x160 input: each cell's
 * column runs along the width. */
static void
test_yunet_non_square (void)
{
  yunet_non_square (160, 96);
  yunet_non_square (96, 160);
}

/* ---------------------------------------------------------------- NMS */

static AfDetection
box (float x1, float y1, float x2, float y2, float score, int label)
{
  AfDetection d = { 0 };
  d.x1 = x1;
  d.y1 = y1;
  d.x2 = x2;
  d.y2 = y2;
  d.score = score;
  d.label = label;
  return d;
}

/* Overlapping boxes are suppressed by the higher score, disjoint ones and other labels kept. */
static void
test_nms_basic (void)
{
  AfDetection cand[] = {
    box (0, 0, 10, 10, 0.5f, 0),   /* suppressed by 2 (IoU 0.9) */
    box (50, 50, 60, 60, 0.6f, 0), /* disjoint: kept */
    box (0, 0, 10, 9, 0.9f, 0),    /* best */
    box (0, 0, 10, 10, 0.7f, 1),   /* other label: kept */
    box (5, 0, 15, 10, 0.8f, 0),   /* IoU with 2: 45/145 = 0.31 > 0.3: suppressed */
    box (7, 0, 17, 10, 0.75f, 0),  /* IoU with 2: 27/163 = 0.17: kept */
  };
  guint order[6];
  AfDetection out[6];
  guint n = af__decode_nms (cand, 6, 0.3f, 6, order, out);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpfloat (out[0].score, ==, 0.9f);
  g_assert_cmpfloat (out[1].score, ==, 0.75f);
  g_assert_cmpfloat (out[2].score, ==, 0.7f);
  g_assert_cmpfloat (out[3].score, ==, 0.6f);
  g_assert_cmpfloat_with_epsilon (af__decode_iou (&cand[2], &cand[4]), 45.0 / 145, 1e-6);
  /* max_out truncates after suppression */
  n = af__decode_nms (cand, 6, 0.3f, 2, order, out);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpfloat (out[1].score, ==, 0.75f);
  /* threshold 1: nothing is suppressed */
  g_assert_cmpuint (af__decode_nms (cand, 6, 1.0f, 6, order, out), ==, 6);
  /* empty and degenerate boxes */
  AfDetection empty = box (3, 3, 3, 3, 1, 0);
  g_assert_cmpfloat (af__decode_iou (&empty, &empty), ==, 0);
  g_assert_cmpuint (af__decode_nms (cand, 0, 0.3f, 6, order, out), ==, 0);
}

/* Equal scores keep the lower candidate index first, so the earlier box wins an overlap. */
static void
test_nms_ties (void)
{
  enum { N = 40 };
  AfDetection cand[N];
  /* many equal-score disjoint boxes: output must be in index order */
  for (int i = 0; i < N; i++)
    cand[i] = box (20 * i, 0, 20 * i + 10, 10, 0.5f, 0);
  guint order[N];
  AfDetection out[N];
  guint n = af__decode_nms (cand, N, 0.3f, N, order, out);
  g_assert_cmpuint (n, ==, N);
  for (int i = 0; i < N; i++)
    g_assert_cmpfloat (out[i].x1, ==, 20 * i);
  /* two identical-score overlapping boxes: the first one is kept */
  AfDetection two[] = { box (1, 0, 11, 10, 0.8f, 0), box (0, 0, 10, 10, 0.8f, 0) };
  n = af__decode_nms (two, 2, 0.3f, 2, order, out);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpfloat (out[0].x1, ==, 1);
  AfDetection swapped[] = { two[1], two[0] };
  n = af__decode_nms (swapped, 2, 0.3f, 2, order, out);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpfloat (out[0].x1, ==, 0);
}

/* ---------------------------------------------------------------- frame map */

static AfDecodeResult *
one_detection (void)
{
  AfDecodeResult *res = g_new0 (AfDecodeResult, 1);
  res->type = AF_DECODE_TYPE_YUNET;
  res->capacity = res->n = 1;
  res->detections = g_new0 (AfDetection, 1);
  res->detections[0] = box (32, 24, 160, 120, 1, 0);
  res->detections[0].n_landmarks = 1;
  res->detections[0].landmarks[0] = 64;
  res->detections[0].landmarks[1] = 48;
  return res;
}

/* A stretch map scales x and y independently; mapping twice is a no-op. */
static void
test_map_stretch (void)
{
  AfFrameMap map;
  af_frame_map_stretch (&map, 640, 480, 320, 240);
  AfDecodeResult *res = one_detection ();
  af_decode_map_to_frame (res, &map);
  AfDetection *d = &res->detections[0];
  g_assert_cmpfloat (d->x1, ==, 64);
  g_assert_cmpfloat (d->y1, ==, 48);
  g_assert_cmpfloat (d->x2, ==, 320);
  g_assert_cmpfloat (d->y2, ==, 240);
  g_assert_cmpfloat (d->landmarks[0], ==, 128);
  g_assert_cmpfloat (d->landmarks[1], ==, 96);
  af_decode_map_to_frame (res, &map);
  g_assert_cmpfloat (d->x1, ==, 64);
  af_decode_result_free (res);

  af_frame_map_stretch (&map, 1280, 720, 320, 320);
  res = one_detection ();
  af_decode_map_to_frame (res, &map);
  g_assert_cmpfloat (res->detections[0].x2, ==, 640);
  g_assert_cmpfloat (res->detections[0].y2, ==, 270);
  af_decode_result_free (res);
}

/* A letterbox map removes the padding offset and the uniform scale, clipping to the frame. */
static void
test_map_letterbox (void)
{
  AfFrameMap map;
  /* 1280x720 into 320x320: scale 0.25, content 320x180, 70 rows of padding on top */
  af_frame_map_letterbox (&map, 1280, 720, 320, 320);
  g_assert_cmpfloat (map.offset_x, ==, 0);
  g_assert_cmpfloat (map.offset_y, ==, 70);
  g_assert_cmpfloat (map.scale_x, ==, 4);
  g_assert_cmpfloat (map.scale_y, ==, 4);
  AfDecodeResult *res = one_detection ();
  res->detections[0].y1 = 10; /* inside the padding: clipped to 0 */
  af_decode_map_to_frame (res, &map);
  AfDetection *d = &res->detections[0];
  g_assert_cmpfloat (d->x1, ==, 128);
  g_assert_cmpfloat (d->y1, ==, 0);
  g_assert_cmpfloat (d->x2, ==, 640);
  g_assert_cmpfloat (d->y2, ==, 200);
  g_assert_cmpfloat (d->landmarks[1], ==, 0); /* 48 is inside the padding */
  af_decode_result_free (res);

  /* a tall frame: padding left and right */
  af_frame_map_letterbox (&map, 300, 600, 320, 240);
  g_assert_cmpfloat (map.offset_x, ==, 100);
  g_assert_cmpfloat (map.offset_y, ==, 0);
  g_assert_cmpfloat (map.scale_x, ==, 2.5f);
  res = one_detection ();
  af_decode_map_to_frame (res, &map);
  g_assert_cmpfloat (res->detections[0].x1, ==, 0);
  g_assert_cmpfloat (res->detections[0].x2, ==, 150);
  g_assert_cmpfloat (res->detections[0].y1, ==, 60);
  af_decode_result_free (res);
}

/* ---------------------------------------------------------------- BlazeFace */

/* The short-range anchors: 896, 2 per 8-px cell then 6 per 16-px cell (the
 * three stride-16 layers merged per cell), centres ((x+.5)/fw, (y+.5)/fh). */
static void
test_blazeface_anchors (void)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_BLAZEFACE);
  guint n;
  g_autofree float *a = af__decode_ssd_priors (&spec, &n);
  g_assert_cmpuint (n, ==, 896);
  static const struct {
    guint i;
    float cx, cy;
  } want[] = {
    { 0, 0.5f / 16, 0.5f / 16 },  { 1, 0.5f / 16, 0.5f / 16 },     { 2, 1.5f / 16, 0.5f / 16 },
    { 32, 0.5f / 16, 1.5f / 16 }, { 511, 15.5f / 16, 15.5f / 16 }, { 512, 0.5f / 8, 0.5f / 8 },
    { 517, 0.5f / 8, 0.5f / 8 },  { 518, 1.5f / 8, 0.5f / 8 },     { 560, 0.5f / 8, 1.5f / 8 },
    { 895, 7.5f / 8, 7.5f / 8 },
  };
  for (guint k = 0; k < G_N_ELEMENTS (want); k++) {
    const float *p = a + 4 * want[k].i;
    g_assert_cmpfloat (p[0], ==, want[k].cx);
    g_assert_cmpfloat (p[1], ==, want[k].cy);
    g_assert_cmpfloat (p[2], ==, 1.0f);
    g_assert_cmpfloat (p[3], ==, 1.0f);
  }
  af_decode_spec_clear (&spec);
}

/* Hand-made logits and regressions decode to the documented box, keypoints
 * and sigmoid score; a clamped huge logit scores 1, NMS drops the duplicate,
 * logits below the threshold give nothing. */
static void
test_blazeface_decode (void)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_BLAZEFACE);
  AfTensorInfo infos[2];
  gint64 rs[] = { 1, 896, 16 }, cs[] = { 1, 896, 1 };
  info_set (&infos[0], "regressors", 3, rs);
  info_set (&infos[1], "classificators", 3, cs);
  GError *error = NULL;
  AfDecoder *dec = af_decoder_new (&spec, NULL, 2, infos, &error);
  g_assert_no_error (error);
  float *reg = g_new0 (float, 896 * 16), *cls = g_new (float, 896);
  for (guint i = 0; i < 896; i++)
    cls[i] = -3.0f; /* sigmoid 0.047 */
  /* anchor 518: centre (1.5/8, 0.5/8) = (24, 8) input px */
  const float r518[16] = { 12.5f, -6.5f, 32, 16, 4, 2, -4, 2, 0, 6, 0, 9, -12, 0, 12, 0 };
  memcpy (reg + 518 * 16, r518, sizeof r518);
  memcpy (reg + 519 * 16, r518, sizeof r518); /* same cell, same box: suppressed */
  cls[518] = 2.0f;
  cls[519] = 1.0f;
  /* anchor 0: centre (4, 4), an 8x8 box, a logit beyond the clamp */
  reg[2] = reg[3] = 8;
  cls[0] = 60000.0f;
  guint16 *h_reg = fp16_of (reg, 896 * 16), *h_cls = fp16_of (cls, 896);
  const guint16 *views[] = { h_reg, h_cls };
  AfDecodeResult *res = af_decode_result_new (dec);
  af_decoder_run (dec, views, res);
  g_assert_cmpuint (res->n, ==, 2);
  AfDetection *d = &res->detections[0];
  g_assert_cmpfloat (d->score, ==, 1.0f);
  g_assert_cmpfloat_with_epsilon (d->x1, 0, 1e-4);
  g_assert_cmpfloat_with_epsilon (d->y2, 8, 1e-4);
  d = &res->detections[1];
  g_assert_cmpfloat_with_epsilon (d->score, 1 / (1 + expf (-2.0f)), 1e-6);
  g_assert_cmpint (d->label, ==, 0);
  /* cx = 12.5 + 24 = 36.5, cy = -6.5 + 8 = 1.5, 32 x 16, y1 clipped to 0 */
  g_assert_cmpfloat_with_epsilon (d->x1, 20.5f, 1e-4);
  g_assert_cmpfloat_with_epsilon (d->x2, 52.5f, 1e-4);
  g_assert_cmpfloat_with_epsilon (d->y1, 0.0f, 1e-4);
  g_assert_cmpfloat_with_epsilon (d->y2, 9.5f, 1e-4);
  g_assert_cmpint (d->n_landmarks, ==, 6);
  const float want_kp[12] = { 28, 10, 20, 10, 24, 14, 24, 17, 12, 8, 36, 8 };
  for (int k = 0; k < 12; k++)
    g_assert_cmpfloat_with_epsilon (d->landmarks[k], want_kp[k], 1e-4);

  /* frame mapping scales keypoints too: 128x128 -> 256x512 */
  AfFrameMap map;
  af_frame_map_stretch (&map, 256, 512, 128, 128);
  af_decode_map_to_frame (res, &map);
  g_assert_cmpfloat_with_epsilon (res->detections[1].landmarks[10], 72, 1e-3);
  g_assert_cmpfloat_with_epsilon (res->detections[1].landmarks[11], 32, 1e-3);

  for (guint i = 0; i < 896; i++)
    h_cls[i] = af_f32_to_fp16 (-0.01f);
  af_decoder_run (dec, views, res);
  g_assert_cmpuint (res->n, ==, 0);
  af_decode_result_free (res);
  af_decoder_free (dec);
  g_free (h_reg);
  g_free (h_cls);
  g_free (reg);
  g_free (cls);
  af_decode_spec_clear (&spec);
}

/* A non-square BlazeFace (@w x @h, both multiples of 16, MediaPipe's
 * strides): 2 anchors per 8-px cell then 6 per 16-px cell, so anchor
 * 2 * (w/8) * (h/8) + 6 * (y * w/16 + x) sits at ((x + .5) * 16,
 * (y + .5) * 16) input pixels; a box and keypoints offset from it in pixels
 * decode there, x against the width and y against the height. */
static void
blazeface_non_square (int w, int h)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_BLAZEFACE);
  spec.input_w = w;
  spec.input_h = h;
  gint64 n = 2 * (w / 8) * (h / 8) + 6 * (w / 16) * (h / 16);
  AfTensorInfo infos[2];
  info_set (&infos[0], "regressors", 3, (gint64[]){ 1, n, 16 });
  info_set (&infos[1], "classificators", 3, (gint64[]){ 1, n, 1 });
  GError *error = NULL;
  AfDecoder *dec = af_decoder_new (&spec, NULL, 2, infos, &error);
  g_assert_no_error (error);
  g_autofree float *reg = g_new0 (float, n * 16), *cls = g_new (float, n);
  for (gint64 i = 0; i < n; i++)
    cls[i] = -4;
  int x = 4, y = 5; /* a 16-px cell inside both 128x96 and 96x128 */
  gint64 a = 2 * (w / 8) * (h / 8) + 6 * (y * (w / 16) + x) + 3;
  const float r[16] = { 6, -5, 20, 12, 2, -3, -4, 1, 0, 2, 0, 5, -8, 0, 8, 0 };
  memcpy (reg + a * 16, r, sizeof r);
  cls[a] = 1;
  g_autofree guint16 *h_reg = fp16_of (reg, n * 16), *h_cls = fp16_of (cls, n);
  const guint16 *views[] = { h_reg, h_cls };
  AfDecodeResult *res = af_decode_result_new (dec);
  af_decoder_run (dec, views, res);
  g_assert_cmpuint (res->n, ==, 1);
  const AfDetection *d = &res->detections[0];
  double ax = (x + 0.5) * 16, ay = (y + 0.5) * 16, cx = ax + r[0], cy = ay + r[1];
  g_test_message ("%dx%d: (%.2f, %.2f, %.2f, %.2f)", w, h, d->x1, d->y1, d->x2, d->y2);
  g_assert_cmpfloat_with_epsilon (d->score, 1 / (1 + exp (-1.0)), 1e-6);
  g_assert_cmpfloat_with_epsilon (d->x1, cx - r[2] / 2, 1e-3);
  g_assert_cmpfloat_with_epsilon (d->x2, cx + r[2] / 2, 1e-3);
  g_assert_cmpfloat_with_epsilon (d->y1, cy - r[3] / 2, 1e-3);
  g_assert_cmpfloat_with_epsilon (d->y2, cy + r[3] / 2, 1e-3);
  for (int k = 0; k < 6; k++) {
    g_assert_cmpfloat_with_epsilon (d->landmarks[2 * k], ax + r[4 + 2 * k], 1e-3);
    g_assert_cmpfloat_with_epsilon (d->landmarks[2 * k + 1], ay + r[5 + 2 * k], 1e-3);
  }
  af_decode_result_free (res);
  af_decoder_free (dec);
  af_decode_spec_clear (&spec);
}

/* BlazeFace anchors and boxes on a landscape 128x96 and a portrait 96x128
 * input. */
static void
test_blazeface_non_square (void)
{
  blazeface_non_square (128, 96);
  blazeface_non_square (96, 128);
}

/* Mismatched BlazeFace tensors are rejected naming the tensor and the shapes. */
static void
test_blazeface_bind_errors (void)
{
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_BLAZEFACE);
  AfTensorInfo infos[2];
  gint64 rs[] = { 1, 896, 15 }, cs[] = { 1, 896, 1 }, r2[] = { 1, 895, 16 }, c2[] = { 1, 896, 2 };
  GError *error = NULL;
  info_set (&infos[0], "regressors", 3, rs);
  info_set (&infos[1], "classificators", 3, cs);
  g_assert_null (af_decoder_new (&spec, NULL, 2, infos, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_SHAPE);
  g_assert_cmpstr (error->message, ==,
                   "decode: blazeface: tensor \"regressors\" (boxes) has 15 "
                   "values per anchor, expected 4 + 2 per keypoint (up to 6 keypoints)");
  g_clear_error (&error);
  info_set (&infos[0], "regressors", 3, r2);
  g_assert_null (af_decoder_new (&spec, NULL, 2, infos, &error));
  g_assert_cmpstr (error->message, ==,
                   "decode: blazeface: the anchors give 896 boxes for a "
                   "128x128 input, tensors \"regressors\" and \"classificators\" have 895 and 896");
  g_clear_error (&error);
  info_set (&infos[0], "regressors", 3, (gint64[]){ 1, 896, 16 });
  info_set (&infos[1], "classificators", 3, c2);
  g_assert_null (af_decoder_new (&spec, NULL, 2, infos, &error));
  g_assert_cmpstr (error->message, ==,
                   "decode: blazeface: tensor \"classificators\" (scores) has "
                   "2 values per anchor, expected 1");
  g_clear_error (&error);
  af_decode_spec_clear (&spec);
}

/* The JSON spelling: the minimal form gives MediaPipe's defaults, and a
 * spec written by af__decode_spec_to_json reads back equal. */
static void
test_blazeface_json (void)
{
  GError *error = NULL;
  AfDecodeSpec spec, back;
  JsonObject *o = parse_obj ("{\"type\": \"detection\", \"style\": \"blazeface\"}");
  g_assert_true (af__decode_spec_from_json (o, "m.json", &spec, &error));
  g_assert_no_error (error);
  json_object_unref (o);
  g_assert_cmpint (spec.type, ==, AF_DECODE_TYPE_BLAZEFACE);
  g_assert_cmpstr (spec.scores, ==, "classificators");
  g_assert_cmpstr (spec.boxes, ==, "regressors");
  g_assert_cmpfloat (spec.score_threshold, ==, 0.5f);
  g_assert_cmpfloat (spec.iou_threshold, ==, 0.3f);
  g_assert_cmpint (spec.input_w, ==, 128);
  g_assert_cmpuint (spec.n_strides, ==, 4);
  g_assert_cmpint (spec.strides[0], ==, 8);
  g_assert_cmpint (spec.strides[3], ==, 16);
  spec.score_threshold = 0.75f;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  af__decode_spec_to_json (&spec, b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, FALSE);
  g_test_message ("%s", text);
  g_assert_true (af__decode_spec_from_json (json_node_get_object (root), "m.json", &back, &error));
  g_assert_no_error (error);
  g_assert_cmpint (back.type, ==, AF_DECODE_TYPE_BLAZEFACE);
  g_assert_cmpfloat (back.score_threshold, ==, 0.75f);
  g_assert_cmpuint (back.n_strides, ==, 4);
  g_assert_cmpint (back.strides[2], ==, 16);
  g_assert_cmpstr (back.scores, ==, "classificators");
  af_decode_spec_clear (&back);
  af_decode_spec_clear (&spec);

  o = parse_obj ("{\"type\": \"detection\", \"style\": \"blazeface\", \"strides\": [16, 32],"
                 " \"input_size\": [100, 60]}");
  g_assert_true (af__decode_spec_from_json (o, "m.json", &spec, &error));
  g_assert_no_error (error);
  json_object_unref (o);
  guint n;
  g_autofree float *a = af__decode_ssd_priors (&spec, &n);
  g_assert_cmpuint (n, ==, 2 * 7 * 4 + 2 * 4 * 2); /* cells are ceil (input / stride) */
  g_assert_cmpfloat (a[4 * 56], ==, 0.5f / 4);
  af_decode_spec_clear (&spec);
}

/* ---------------------------------------------------------------- JSON */

/* Well-formed specs parse with defaults for every field they omit. */
static void
test_json_valid (void)
{
  GError *error = NULL;
  AfDecodeSpec spec;
  JsonObject *o = parse_obj ("{\"type\": \"classification\", \"softmax\": true, \"top_k\": 3, "
                             "\"labels\": \"Labels.txt\"}");
  g_assert_true (af__decode_spec_from_json (o, "m.json: outputs[0] \"prob\"", &spec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (spec.type, ==, AF_DECODE_TYPE_CLASSIFICATION);
  g_assert_true (spec.softmax);
  g_assert_cmpuint (spec.top_k, ==, 3);
  g_assert_cmpstr (spec.labels, ==, "Labels.txt");
  g_assert_null (spec.scores);
  af_decode_spec_clear (&spec);
  json_object_unref (o);

  o = parse_obj (
      "{\"type\": \"detection\", \"style\": \"ssd\", \"scores\": \"s\", \"boxes\": \"b\","
      " \"score_threshold\": 0.5, \"iou_threshold\": 0.45, \"max_detections\": 7,"
      " \"input_size\": [320, 240], \"priors\": {\"feature_maps\": [[4, 3], [2, 2]],"
      " \"min_boxes\": [[10, 20], [30]], \"variances\": [0.1, 0.2]}}");
  g_assert_true (af__decode_spec_from_json (o, "m.json", &spec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (spec.type, ==, AF_DECODE_TYPE_SSD);
  g_assert_cmpstr (spec.boxes, ==, "b");
  g_assert_cmpfloat (spec.score_threshold, ==, 0.5f);
  g_assert_cmpuint (spec.max_detections, ==, 7);
  g_assert_cmpuint (spec.n_levels, ==, 2);
  g_assert_cmpint (spec.feature_h[0], ==, 3);
  g_assert_cmpuint (spec.n_min_boxes[1], ==, 1);
  g_assert_cmpfloat (spec.min_boxes[1][0], ==, 30);
  guint n;
  g_autofree float *p = af__decode_ssd_priors (&spec, &n);
  g_assert_cmpuint (n, ==, 4 * 3 * 2 + 2 * 2 * 1);
  af_decode_spec_clear (&spec);
  json_object_unref (o);

  /* the minimal spellings give the README defaults */
  o = parse_obj ("{\"type\": \"detection\", \"style\": \"ssd\"}");
  g_assert_true (af__decode_spec_from_json (o, "m.json", &spec, &error));
  g_assert_cmpuint (spec.n_levels, ==, 4);
  g_assert_cmpfloat (spec.score_threshold, ==, 0.7f);
  g_assert_cmpfloat (spec.iou_threshold, ==, 0.3f);
  g_assert_cmpstr (spec.scores, ==, "scores");
  af_decode_spec_clear (&spec);
  json_object_unref (o);

  o = parse_obj ("{\"type\": \"detection\", \"style\": \"yunet\", \"strides\": [16, 32],"
                 " \"kps\": []}");
  g_assert_true (af__decode_spec_from_json (o, "m.json", &spec, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (spec.n_strides, ==, 2);
  g_assert_cmpstr (spec.cls[1], ==, "cls_32");
  g_assert_null (spec.kps[0]);
  g_assert_cmpfloat (spec.score_threshold, ==, 0.6f);
  af_decode_spec_clear (&spec);
  json_object_unref (o);
}

/* Every malformed spec is rejected with a message naming where, the field and the problem. */
static void
test_json_errors (void)
{
  struct {
    const char *json, *msg;
  } cases[] = {
    { "{}", "field \"type\": missing (\"classification\", \"detection\", \"segmentation\" or "
            "\"keypoints\")" },
    { "{\"type\": 3}", "field \"type\": expected a string, got a number" },
    { "{\"type\": \"depth\"}", "field \"type\": unknown type \"depth\"" },
    { "{\"type\": \"detection\"}",
      "field \"style\": missing (\"ssd\", \"ssd-decoded\", \"yunet\", \"blazeface\", "
      "\"yolov8\", \"yolov5\" or \"grid\")" },
    { "{\"type\": \"detection\", \"style\": \"yolo\"}", "field \"style\": unknown style \"yolo\"" },
    { "{\"type\": \"classification\", \"top_k\": 0}",
      "field \"top_k\": expected an integer in [1, 65536], got 0" },
    { "{\"type\": \"classification\", \"top_k\": 2.5}",
      "field \"top_k\": expected an integer in [1, 65536], got a number" },
    { "{\"type\": \"classification\", \"softmax\": \"yes\"}",
      "field \"softmax\": expected true or false, got a string" },
    { "{\"type\": \"classification\", \"labels\": \"\"}", "field \"labels\": must not be empty" },
    { "{\"type\": \"classification\", \"iou_threshold\": 0.3}",
      "field \"iou_threshold\": not valid for a classification decode" },
    { "{\"type\": \"classification\", \"topk\": 3}",
      "field \"topk\": unknown field (a classification decode takes: type, scores, softmax, top_k, "
      "labels)" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"score_threshold\": 1.5}",
      "field \"score_threshold\": expected a number in [0, 1], got 1.5" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"iou_threshold\": null}",
      "field \"iou_threshold\": expected a number in [0, 1], got null" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"max_detections\": -1}",
      "field \"max_detections\": expected an integer in [1, 65536], got -1" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"input_size\": [320]}",
      "field \"input_size\": expected 2 to 2 entries, got 1" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"input_size\": [320, 0]}",
      "field \"input_size[1]\": expected an integer in [1, 16384], got 0" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"boxes\": [\"b\"]}",
      "field \"boxes\": expected a string, got an array" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"priors\": []}",
      "field \"priors\": expected an object, got an array" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"priors\": {\"anchors\": 1}}",
      "field \"priors.anchors\": unknown field" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"priors\": {\"feature_maps\": [[40, 30], "
      "[20]]}}",
      "field \"priors.feature_maps[1]\": expected 2 to 2 entries, got 1" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"priors\": {\"feature_maps\": [[4, 3]],"
      " \"min_boxes\": [[1], [2]]}}",
      "field \"priors.min_boxes\": has 2 levels, priors.feature_maps has 1" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"priors\": {\"feature_maps\": [[4, 3]]}}",
      "field \"priors.min_boxes\": missing: the default has 4 levels, priors.feature_maps has 1" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"priors\": {\"min_boxes\": [[1], [2], [0], "
      "[4]]}}",
      "field \"priors.min_boxes[2][0]\": expected a number in [0.001, 16384], got 0" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"priors\": {\"variances\": [0.1, -1]}}",
      "field \"priors.variances[1]\": expected a number in [1e-06, 100], got -1" },
    { "{\"type\": \"detection\", \"style\": \"ssd\", \"priors\": {\"feature_maps\": [[4096, 4096]],"
      " \"min_boxes\": [[1, 2, 3, 4, 5, 6, 7, 8]]}}",
      "field \"priors\": 134217728 priors, above the limit of 4194304" },
    { "{\"type\": \"detection\", \"style\": \"ssd-decoded\", \"priors\": {}}",
      "field \"priors\": not valid for a ssd-decoded decode" },
    { "{\"type\": \"detection\", \"style\": \"yunet\", \"strides\": [8, 0]}",
      "field \"strides[1]\": expected an integer in [1, 1024], got 0" },
    { "{\"type\": \"detection\", \"style\": \"yunet\", \"strides\": [7]}",
      "field \"strides\": input_size 320x320 is not a multiple of stride 7" },
    { "{\"type\": \"detection\", \"style\": \"yunet\", \"cls\": [\"a\", \"b\"]}",
      "field \"cls\": has 2 names, \"strides\" has 3 entries" },
    { "{\"type\": \"detection\", \"style\": \"yunet\", \"bbox\": [\"a\", \"b\", 3]}",
      "field \"bbox[2]\": expected a string, got a number" },
    { "{\"type\": \"detection\", \"style\": \"yunet\", \"boxes\": \"b\"}",
      "field \"boxes\": not valid for a yunet decode" },
    { "{\"type\": \"detection\", \"style\": \"blazeface\", \"priors\": {}}",
      "field \"priors\": not valid for a blazeface decode" },
    { "{\"type\": \"detection\", \"style\": \"blazeface\", \"kps\": []}",
      "field \"kps\": not valid for a blazeface decode" },
    { "{\"type\": \"detection\", \"style\": \"blazeface\", \"strides\": [8, 0]}",
      "field \"strides[1]\": expected an integer in [1, 1024], got 0" },
    { "{\"type\": \"detection\", \"style\": \"blazeface\", \"strides\": []}",
      "field \"strides\": expected 1 to 8 entries, got 0" },
    { "{\"type\": \"detection\", \"style\": \"blazeface\", \"input_size\": [16384, 16384],"
      " \"strides\": [1]}",
      "field \"strides\": 536870912 anchors, above the limit of 4194304" },
  };
  const char *where = "face.json: outputs[1] \"scores\"";
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    JsonObject *o = parse_obj (cases[i].json);
    AfDecodeSpec spec;
    GError *error = NULL;
    g_assert_false (af__decode_spec_from_json (o, where, &spec, &error));
    g_assert_error (error, AF_ERROR, AF_ERROR_INVALID);
    g_autofree char *want = g_strdup_printf ("%s: decode: %s", where, cases[i].msg);
    if (!g_str_has_prefix (error->message, want))
      g_error ("case %u %s:\n got  \"%s\"\n want \"%s\"", i, cases[i].json, error->message, want);
    g_assert_null (spec.scores); /* cleared on failure */
    g_error_free (error);
    json_object_unref (o);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/decode/class/softmax-topk", test_softmax_topk);
  g_test_add_func ("/decode/class/topk-raw-ties", test_topk_raw_ties);
  g_test_add_func ("/decode/labels/formats", test_labels_formats);
  g_test_add_func ("/decode/labels/squeezenet", test_labels_squeezenet);
  g_test_add_func ("/decode/labels/errors", test_labels_errors);
  g_test_add_func ("/decode/ssd/priors", test_ssd_priors);
  g_test_add_func ("/decode/ssd/decode", test_ssd_decode);
  g_test_add_func ("/decode/ssd/decoded", test_ssd_decoded);
  g_test_add_func ("/decode/ssd/non-square", test_ssd_non_square);
  g_test_add_func ("/decode/bind-errors", test_bind_errors);
  g_test_add_func ("/decode/yunet/cell", test_yunet_cell);
  g_test_add_func ("/decode/yunet/non-square", test_yunet_non_square);
  g_test_add_func ("/decode/nms/basic", test_nms_basic);
  g_test_add_func ("/decode/nms/ties", test_nms_ties);
  g_test_add_func ("/decode/map/stretch", test_map_stretch);
  g_test_add_func ("/decode/map/letterbox", test_map_letterbox);
  g_test_add_func ("/decode/json/valid", test_json_valid);
  g_test_add_func ("/decode/json/errors", test_json_errors);
  g_test_add_func ("/decode/blazeface/anchors", test_blazeface_anchors);
  g_test_add_func ("/decode/blazeface/decode", test_blazeface_decode);
  g_test_add_func ("/decode/blazeface/non-square", test_blazeface_non_square);
  g_test_add_func ("/decode/blazeface/bind-errors", test_blazeface_bind_errors);
  g_test_add_func ("/decode/blazeface/json", test_blazeface_json);
  return g_test_run ();
}
