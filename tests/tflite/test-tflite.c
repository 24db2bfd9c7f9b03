/* test-tflite.c — the TFLite importer on small models built here with a
 * tiny flatbuffer writer (tflite-writer.c): every op mapping against a hand
 * computed or naive-NHWC result, the clear errors for unsupported ops and
 * options, and malformed files (truncated, flipped bytes, bad offsets, huge
 * vectors, looping offsets) rejected without a crash.
 *
 *   test-tflite --write-corpus DIR   writes the seed models (the fuzz corpus). */
#include "graph.h"
#include "import/flatbuffer.h"
#include "import/tflite.h"
#include "tflite-writer.h"

#include <math.h>
#include <string.h>

enum {
  ADD = 0,
  AVG = 1,
  CONCAT = 2,
  CONV = 3,
  DW = 4,
  DEQ = 6,
  FC = 9,
  LOGISTIC = 14,
  MAXP = 17,
  MUL = 18,
  RELU = 19,
  RELU6 = 21,
  RESHAPE = 22,
  SOFTMAX = 25,
  PAD = 34,
  RESIZE_BILINEAR = 23,
  PRELU = 54,
  MEAN = 40,
  ARG_MAX = 56,
  TRANSPOSE_CONV = 67,
  RESIZE_NN = 97,
  QUANTIZE = 114,
  HARD_SWISH = 117
};
enum { TB_I64 = 4 };
enum { SAME = 0, VALID = 1 };

/* ---------------------------------------------------------------- helpers */

static AfGraph *
import (GBytes *model, GError **error)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (model, &len);
  return af_graph_import_tflite_from_data (data, len, "test.tflite", NULL, error);
}

/* Imports, compiles and runs @model on @inputs (TFLite layout: NHWC) and
 * writes output 0 (TFLite layout) to @out; checks it has @n_out values. */
static void
run (GBytes *model, int n_in, const float *const *inputs, float *out, gsize n_out)
{
  GError *error = NULL;
  AfGraph *g = import (model, &error);
  g_assert_no_error (error);
  AfModel *m = af_compile (g, NULL, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  g_assert_cmpuint (af_model_n_inputs (m), ==, n_in);
  float *nchw[4] = { 0 };
  for (int i = 0; i < n_in; i++) {
    AfTensorInfo info;
    af_model_input_info (m, i, &info);
    gint64 n = af_shape_numel (info.rank, info.shape);
    nchw[i] = g_new (float, n);
    if (info.rank != 4) {
      memcpy (nchw[i], inputs[i], n * sizeof (float));
      continue;
    }
    gint64 N = info.shape[0], C = info.shape[1], H = info.shape[2], W = info.shape[3];
    for (gint64 b = 0; b < N; b++)
      for (gint64 c = 0; c < C; c++)
        for (gint64 y = 0; y < H; y++)
          for (gint64 x = 0; x < W; x++)
            nchw[i][((b * C + c) * H + y) * W + x] = inputs[i][((b * H + y) * W + x) * C + c];
  }
  AfTensorInfo oi;
  af_model_output_info (m, 0, &oi);
  g_assert_cmpint (af_shape_numel (oi.rank, oi.shape), ==, n_out);
  float *outs[8] = { out };
  for (guint i = 1; i < af_model_n_outputs (m) && i < 8; i++) {
    AfTensorInfo o;
    af_model_output_info (m, i, &o);
    outs[i] = g_new (float, af_shape_numel (o.rank, o.shape));
  }
  g_assert_true (af_model_run (m, (const float *const *) nchw, outs, &error));
  g_assert_no_error (error);
  for (guint i = 1; i < af_model_n_outputs (m) && i < 8; i++)
    g_free (outs[i]);
  for (int i = 0; i < n_in; i++)
    g_free (nchw[i]);
  af_model_free (m);
}

static void
assert_close (const float *got, const float *want, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (fabsf (got[i] - want[i]) > 1e-2f + 1e-2f * fabsf (want[i]))
      g_error ("element %" G_GSIZE_FORMAT ": got %g, want %g", i, got[i], want[i]);
}

static void
fill (float *x, gsize n, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (r, -1, 1);
  g_rand_free (r);
}

static FbwObj *
conv_options (Tb *b, int padding, int sh, int sw, int act, gboolean depthwise, int mult)
{
  FbwObj *o = tb_options (b);
  int k = depthwise ? 1 : 0;
  fbw_i8 (o, 0, padding);
  fbw_i32 (o, 1, sw);
  fbw_i32 (o, 2, sh);
  if (depthwise)
    fbw_i32 (o, 3, mult);
  fbw_i8 (o, 3 + k, act);
  return o;
}

/* Naive NHWC conv / depthwise with TF SAME or VALID padding. */
static void
ref_conv (const float *x, int H, int W, int C, const float *w, int O, int KH, int KW,
          const float *bias, int stride, int padding, gboolean depthwise, int act, float *y,
          int *OH, int *OW)
{
  int oh = padding == SAME ? (H + stride - 1) / stride : (H - KH) / stride + 1;
  int ow = padding == SAME ? (W + stride - 1) / stride : (W - KW) / stride + 1;
  int pt = padding == SAME ? MAX ((oh - 1) * stride + KH - H, 0) / 2 : 0;
  int pl = padding == SAME ? MAX ((ow - 1) * stride + KW - W, 0) / 2 : 0;
  int M = depthwise ? O / C : 1;
  for (int oy = 0; oy < oh; oy++)
    for (int ox = 0; ox < ow; ox++)
      for (int o = 0; o < O; o++) {
        double acc = bias ? bias[o] : 0;
        for (int ky = 0; ky < KH; ky++)
          for (int kx = 0; kx < KW; kx++) {
            int iy = oy * stride - pt + ky, ix = ox * stride - pl + kx;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W)
              continue;
            if (depthwise)
              acc += x[(iy * W + ix) * C + o / M] * w[(ky * KW + kx) * O + o];
            else
              for (int c = 0; c < C; c++)
                acc += x[(iy * W + ix) * C + c] * w[((o * KH + ky) * KW + kx) * C + c];
          }
        if (act == 1)
          acc = MAX (acc, 0);
        if (act == 3)
          acc = CLAMP (acc, 0, 6);
        y[(oy * ow + ox) * O + o] = (float) acc;
      }
  *OH = oh;
  *OW = ow;
}

/* ---------------------------------------------------------------- op tests */

/* A 2x2 VALID conv with bias on a literal 2x2 input gives the hand-computed
 * 1*1 + 4*1 + 0.5 = 5.5. */
static void
test_conv_literal (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 2, 2, 1 }, ws[] = { 1, 2, 2, 1 }, bs[] = { 1 }, ys[] = { 1, 1, 1, 1 };
  float w[] = { 1, 0, 0, 1 }, bias[] = { 0.5f };
  int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
  int in[] = { x, tb_const_f32 (b, "w", 4, ws, w), tb_const_f32 (b, "b", 1, bs, bias) };
  tb_op (b, CONV, 3, in, y, 1, conv_options (b, VALID, 1, 1, 0, FALSE, 0));
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  float xv[] = { 1, 2, 3, 4 }, out[1];
  const float *ins[] = { xv };
  run (model, 1, ins, out, 1);
  g_assert_cmpfloat_with_epsilon (out[0], 5.5f, 1e-3);
}

/* TF SAME padding puts the odd extra pad at the end: a 2x2 stride-2 box
 * filter over 3x3 ones gives [4, 2, 2, 1]. */
static void
test_conv_same_extra_pad_at_end (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 3, 3, 1 }, ws[] = { 1, 2, 2, 1 }, ys[] = { 1, 2, 2, 1 };
  float w[] = { 1, 1, 1, 1 };
  int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
  int in[] = { x, tb_const_f32 (b, "w", 4, ws, w), -1 };
  tb_op (b, CONV, 3, in, y, 1, conv_options (b, SAME, 2, 2, 0, FALSE, 0));
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  float xv[9], out[4], want[] = { 4, 2, 2, 1 };
  for (int i = 0; i < 9; i++)
    xv[i] = 1;
  const float *ins[] = { xv };
  run (model, 1, ins, out, 4);
  assert_close (out, want, 4);
}

/* Builds and checks one conv / depthwise case against the naive NHWC
 * reference: OHWI -> OIHW and [1,KH,KW,C*M] -> grouped conv are right. */
static void
check_conv (gboolean depthwise, int H, int W, int C, int O, int K, int stride, int padding, int act,
            guint32 seed)
{
  Tb *b = tb_new ();
  int wn = depthwise ? K * K * O : O * K * K * C;
  float *w = g_new (float, wn), *bias = g_new (float, O), *xv = g_new (float, H *W *C);
  fill (w, wn, seed);
  fill (bias, O, seed + 1);
  fill (xv, H * W * C, seed + 2);
  float *want = g_new (float, H *W *O), *out = g_new (float, H *W *O);
  int oh, ow;
  ref_conv (xv, H, W, C, w, O, K, K, bias, stride, padding, depthwise, act, want, &oh, &ow);
  int xs[] = { 1, H, W, C }, ys[] = { 1, oh, ow, O }, bs[] = { O };
  int ws_c[] = { O, K, K, C }, ws_d[] = { 1, K, K, O };
  int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
  int in[] = { x, tb_const_f32 (b, "w", 4, depthwise ? ws_d : ws_c, w),
               tb_const_f32 (b, "b", 1, bs, bias) };
  tb_op (b, depthwise ? DW : CONV, 3, in, y, depthwise ? 2 : 1,
         conv_options (b, padding, stride, stride, act, depthwise, O / C));
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  const float *ins[] = { xv };
  run (model, 1, ins, out, oh * ow * O);
  assert_close (out, want, oh * ow * O);
  g_free (w);
  g_free (bias);
  g_free (xv);
  g_free (want);
  g_free (out);
}

/* CONV_2D (SAME/VALID, strides 1-2, fused RELU/RELU6) matches naive NHWC. */
static void
test_conv_random (void)
{
  check_conv (FALSE, 5, 7, 3, 4, 3, 2, SAME, 1, 1);
  check_conv (FALSE, 6, 5, 2, 3, 3, 1, VALID, 3, 2);
  check_conv (FALSE, 5, 5, 2, 2, 2, 2, SAME, 0, 3);
}

/* DEPTHWISE_CONV_2D with multiplier 1 and 2 matches naive NHWC. */
static void
test_depthwise_random (void)
{
  check_conv (TRUE, 6, 5, 3, 3, 3, 1, SAME, 3, 4);
  check_conv (TRUE, 7, 7, 2, 4, 3, 2, SAME, 1, 5);
  check_conv (TRUE, 5, 6, 2, 2, 2, 1, VALID, 0, 6);
}

/* FULLY_CONNECTED on a rank-4 input flattens in NHWC order: y = W x + b. */
static void
test_fully_connected (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 2, 2, 3 }, ws[] = { 4, 12 }, bs[] = { 4 }, ys[] = { 1, 4 };
  float w[48], bias[4], xv[12], want[4], out[4];
  fill (w, 48, 7);
  fill (bias, 4, 8);
  fill (xv, 12, 9);
  for (int n = 0; n < 4; n++) {
    double acc = bias[n];
    for (int k = 0; k < 12; k++)
      acc += w[n * 12 + k] * xv[k];
    want[n] = MAX ((float) acc, 0);
  }
  int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 2, ys);
  int in[] = { x, tb_const_f32 (b, "w", 2, ws, w), tb_const_f32 (b, "b", 1, bs, bias) };
  FbwObj *o = tb_options (b);
  fbw_i8 (o, 0, 1);
  tb_op (b, FC, 3, in, y, 8, o);
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  const float *ins[] = { xv };
  run (model, 1, ins, out, 4);
  assert_close (out, want, 4);
}

/* ADD of a per-channel [C] constant broadcasts over NHWC's last dim, MUL of
 * two activations is elementwise, LOGISTIC is the sigmoid:
 * y = sigmoid((a + c) * a2). */
static void
test_add_mul_logistic (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 2, 2, 3 }, cs[] = { 3 };
  float cv[] = { 1, -2, 0.5f }, a[12], a2[12], want[12], out[12];
  fill (a, 12, 10);
  fill (a2, 12, 11);
  for (int i = 0; i < 12; i++)
    want[i] = 1.0f / (1.0f + expf (-(a[i] + cv[i % 3]) * a2[i]));
  int x = tb_act (b, "a", 4, xs), x2 = tb_act (b, "a2", 4, xs);
  int s = tb_act (b, "s", 4, xs), p = tb_act (b, "p", 4, xs), y = tb_act (b, "y", 4, xs);
  int in1[] = { x, tb_const_f32 (b, "c", 1, cs, cv) }, in2[] = { s, x2 }, in3[] = { p };
  tb_op (b, ADD, 2, in1, s, 11, tb_options (b));
  tb_op (b, MUL, 2, in2, p, 21, tb_options (b));
  tb_op (b, LOGISTIC, 1, in3, y, 0, NULL);
  tb_input (b, x);
  tb_input (b, x2);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  const float *ins[] = { a, a2 };
  run (model, 2, ins, out, 12);
  assert_close (out, want, 12);
}

/* RELU then RELU6 clamp to [0, 6]. */
static void
test_relu_relu6 (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 6 };
  float xv[] = { -3, -0.5f, 0, 2, 6.5f, 9 }, want[] = { 0, 0, 0, 2, 6, 6 }, out[6];
  int x = tb_act (b, "x", 2, xs), r = tb_act (b, "r", 2, xs), y = tb_act (b, "y", 2, xs);
  tb_op (b, RELU, 1, &x, r, 0, NULL);
  tb_op (b, RELU6, 1, &r, y, 0, NULL);
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  const float *ins[] = { xv };
  run (model, 1, ins, out, 6);
  assert_close (out, want, 6);
}

static FbwObj *
pool_options (Tb *b, int padding, int stride, int k)
{
  FbwObj *o = tb_options (b);
  fbw_i8 (o, 0, padding);
  fbw_i32 (o, 1, stride);
  fbw_i32 (o, 2, stride);
  fbw_i32 (o, 3, k);
  fbw_i32 (o, 4, k);
  return o;
}

/* MAX_POOL_2D 2x2/2 VALID and AVERAGE_POOL_2D 3x3/1 SAME (the average over
 * the valid cells only) on a literal 4x4 plane. */
static void
test_pools (void)
{
  float xv[16];
  for (int i = 0; i < 16; i++)
    xv[i] = i;
  const float *ins[] = { xv };
  {
    Tb *b = tb_new ();
    int xs[] = { 1, 4, 4, 1 }, ys[] = { 1, 2, 2, 1 };
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
    tb_op (b, MAXP, 1, &x, y, 5, pool_options (b, VALID, 2, 2));
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    float out[4], want[] = { 5, 7, 13, 15 };
    run (model, 1, ins, out, 4);
    assert_close (out, want, 4);
  }
  {
    Tb *b = tb_new ();
    int xs[] = { 1, 4, 4, 1 };
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, xs);
    tb_op (b, AVG, 1, &x, y, 5, pool_options (b, SAME, 1, 3));
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    float out[16];
    /* corner (0,0): mean of 0,1,4,5 = 2.5; (1,1): mean of 0..2,4..6,8..10 = 5 */
    run (model, 1, ins, out, 16);
    g_assert_cmpfloat_with_epsilon (out[0], 2.5f, 1e-2);
    g_assert_cmpfloat_with_epsilon (out[5], 5.0f, 1e-2);
    g_assert_cmpfloat_with_epsilon (out[15], 12.5f, 1e-2);
  }
}

/* PAD feeding a conv is merged into its pads; a channel PAD feeding ADD and
 * a spatial PAD feeding MAX_POOL become zero concatenations. */
static void
test_pad (void)
{
  float xv[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }; /* [1, 2, 2, 2] */
  const float *ins[] = { xv };
  {
    /* pad 1 on H and W, then a 3x3 VALID all-ones conv summing both
     * channels: the centre sum of everything = 36 at every output. */
    Tb *b = tb_new ();
    int xs[] = { 1, 2, 2, 2 }, ps[] = { 4, 2 }, pd[] = { 1, 4, 4, 2 }, ws[] = { 1, 3, 3, 2 };
    int ys[] = { 1, 2, 2, 1 };
    gint32 pads[] = { 0, 0, 1, 1, 1, 1, 0, 0 };
    float w[18];
    for (int i = 0; i < 18; i++)
      w[i] = 1;
    int x = tb_act (b, "x", 4, xs), p = tb_act (b, "p", 4, pd), y = tb_act (b, "y", 4, ys);
    int in1[] = { x, tb_const_i32 (b, "pads", 2, ps, pads) };
    int in2[] = { p, tb_const_f32 (b, "w", 4, ws, w), -1 };
    tb_op (b, PAD, 2, in1, p, 22, tb_options (b));
    tb_op (b, CONV, 3, in2, y, 1, conv_options (b, VALID, 1, 1, 0, FALSE, 0));
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    float out[4], want[] = { 36, 36, 36, 36 };
    run (model, 1, ins, out, 4);
    assert_close (out, want, 4);
    GError *error = NULL;
    AfGraph *g = import (model, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < g->nodes->len; i++) /* merged: no concat left */
      g_assert_cmpint (((AfNode *) g_ptr_array_index (g->nodes, i))->op, !=, AF_OP_CONCAT);
    af_graph_free (g);
  }
  {
    /* channel pad 2 -> 3 then add itself: [x0, x1, 0] * 2 */
    Tb *b = tb_new ();
    int xs[] = { 1, 2, 2, 2 }, ps[] = { 4, 2 }, pd[] = { 1, 2, 2, 3 };
    gint32 pads[] = { 0, 0, 0, 0, 0, 0, 0, 1 };
    int x = tb_act (b, "x", 4, xs), p = tb_act (b, "p", 4, pd), y = tb_act (b, "y", 4, pd);
    int in1[] = { x, tb_const_i32 (b, "pads", 2, ps, pads) }, in2[] = { p, p };
    tb_op (b, PAD, 2, in1, p, 22, tb_options (b));
    tb_op (b, ADD, 2, in2, y, 11, tb_options (b));
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    float out[12], want[] = { 2, 4, 0, 6, 8, 0, 10, 12, 0, 14, 16, 0 };
    run (model, 1, ins, out, 12);
    assert_close (out, want, 12);
  }
  {
    /* spatial zero pad then max pool 2x2/2: zeros win over negatives */
    Tb *b = tb_new ();
    int xs[] = { 1, 2, 2, 1 }, ps[] = { 4, 2 }, pd[] = { 1, 4, 4, 1 }, ys[] = { 1, 2, 2, 1 };
    gint32 pads[] = { 0, 0, 1, 1, 1, 1, 0, 0 };
    float nv[] = { -1, -2, -3, -4 };
    int x = tb_act (b, "x", 4, xs), p = tb_act (b, "p", 4, pd), y = tb_act (b, "y", 4, ys);
    int in1[] = { x, tb_const_i32 (b, "pads", 2, ps, pads) };
    tb_op (b, PAD, 2, in1, p, 22, tb_options (b));
    tb_op (b, MAXP, 1, &p, y, 5, pool_options (b, VALID, 2, 2));
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    float out[4], want[] = { 0, 0, 0, 0 };
    const float *nins[] = { nv };
    run (model, 1, nins, out, 4);
    assert_close (out, want, 4);
  }
}

/* RESHAPE flattens NHWC order (not NCHW), and CONCATENATION on axis 3 of
 * rank-4 tensors joins channels: y = reshape(concat(x, x, axis 3), [1, 4, 4]). */
static void
test_reshape_concat (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 2, 2, 2 }, cs[] = { 1, 2, 2, 4 }, ys[] = { 1, 4, 4 }, ss[] = { 3 };
  gint32 shape[] = { 1, 4, 4 };
  int x = tb_act (b, "x", 4, xs), c = tb_act (b, "c", 4, cs), y = tb_act (b, "y", 3, ys);
  int in1[] = { x, x }, in2[] = { c, tb_const_i32 (b, "shape", 1, ss, shape) };
  FbwObj *o = tb_options (b);
  fbw_i32 (o, 0, 3);
  tb_op (b, CONCAT, 2, in1, c, 10, o);
  tb_op (b, RESHAPE, 2, in2, y, 0, NULL);
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  float xv[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[16];
  float want[16] = { 1, 2, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6, 7, 8, 7, 8 };
  const float *ins[] = { xv };
  run (model, 1, ins, out, 16);
  assert_close (out, want, 16);
}

/* SOFTMAX on the last axis of a rank-4 tensor (NHWC channels). */
static void
test_softmax (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 1, 2, 3 };
  float xv[] = { 0, 1, 2, 1, 1, 1 }, out[6], want[6];
  float e = expf (1), e2 = expf (2), s = 1 + e + e2;
  want[0] = 1 / s;
  want[1] = e / s;
  want[2] = e2 / s;
  want[3] = want[4] = want[5] = 1.0f / 3;
  int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, xs);
  FbwObj *o = tb_options (b);
  fbw_f32 (o, 0, 1.0f);
  tb_op (b, SOFTMAX, 1, &x, y, 9, o);
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  const float *ins[] = { xv };
  run (model, 1, ins, out, 6);
  assert_close (out, want, 6);
}

/* RESIZE_NEAREST_NEIGHBOR x2 repeats every pixel into a 2x2 block. */
static void
test_resize_nearest (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 2, 2, 1 }, ys[] = { 1, 4, 4, 1 }, ss[] = { 2 };
  gint32 size[] = { 4, 4 };
  int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
  int in[] = { x, tb_const_i32 (b, "size", 1, ss, size) };
  tb_op (b, RESIZE_NN, 2, in, y, 74, tb_options (b));
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  float xv[] = { 1, 2, 3, 4 }, out[16];
  float want[] = { 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4 };
  const float *ins[] = { xv };
  run (model, 1, ins, out, 16);
  assert_close (out, want, 16);
}

/* fp16 weights through DEQUANTIZE, int8 per-channel and uint8 per-tensor
 * quantized weights are dequantized to the same fp32 conv: 1x1 convs whose
 * expected outputs are worked out by hand. */
static void
test_quantized_weights (void)
{
  float xv[] = { 1, 2 }; /* [1, 1, 1, 2] */
  const float *ins[] = { xv };
  int xs[] = { 1, 1, 1, 2 }, ws[] = { 2, 1, 1, 2 }, ys[] = { 1, 1, 1, 2 };
  {
    Tb *b = tb_new ();
    guint16 h[] = { af_f32_to_fp16 (1), af_f32_to_fp16 (0.5f), af_f32_to_fp16 (-1),
                    af_f32_to_fp16 (2) };
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
    int wq = tb_tensor (b, "w16", 4, ws, TB_F16, h, sizeof h), wd = tb_act (b, "w", 4, ws);
    int in[] = { x, wd, -1 };
    tb_op (b, DEQ, 1, &wq, wd, 0, NULL);
    tb_op (b, CONV, 3, in, y, 1, conv_options (b, VALID, 1, 1, 0, FALSE, 0));
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    float out[2], want[] = { 1 + 1, -1 + 4 };
    run (model, 1, ins, out, 2);
    assert_close (out, want, 2);
  }
  {
    /* int8 per output channel: w = (q - 0) * scale[o] */
    Tb *b = tb_new ();
    gint8 q[] = { 10, 5, -10, 20 };
    float scale[] = { 0.1f, 0.1f };
    gint64 zp[] = { 0, 0 };
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
    int w = tb_tensor (b, "wq", 4, ws, TB_I8, q, sizeof q);
    tb_quant (b, w, 2, scale, zp, 0);
    int in[] = { x, w, -1 };
    tb_op (b, CONV, 3, in, y, 1, conv_options (b, VALID, 1, 1, 0, FALSE, 0));
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    float out[2], want[] = { 1 + 1, -1 + 4 };
    run (model, 1, ins, out, 2);
    assert_close (out, want, 2);
  }
  {
    /* uint8 per tensor: w = (q - 128) * 0.25 */
    Tb *b = tb_new ();
    guint8 q[] = { 132, 130, 124, 136 };
    float scale[] = { 0.25f };
    gint64 zp[] = { 128 };
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
    int w = tb_tensor (b, "wq", 4, ws, TB_U8, q, sizeof q);
    tb_quant (b, w, 1, scale, zp, 0);
    int in[] = { x, w, -1 };
    tb_op (b, CONV, 3, in, y, 1, conv_options (b, VALID, 1, 1, 0, FALSE, 0));
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    float out[2], want[] = { 1 + 1, -1 + 4 };
    run (model, 1, ins, out, 2);
    assert_close (out, want, 2);
  }
}

/* ---------------------------------------------------------------- per-channel */

/* Weights quantized per output channel: TFLite type, and per channel a scale
 * and a zero point. The scales are m * 2^e with m <= 5 and |q - zp| <= 255,
 * so every weight has at most 11 significant bits (fp16-exact); inputs and
 * biases are k / 16. Products and their sums are then exact in fp32, and the
 * only rounding left is the output's to fp16. */
typedef struct {
  int type; /* TB_U8 or TB_I8 */
  const float *scale;
  const gint64 *zp;
} PerChannel;

/* @n values k / 16, k in [-16, 16]: fp16-exact. */
static void
fill_sixteenths (float *x, gsize n, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  for (gsize i = 0; i < n; i++)
    x[i] = g_rand_int_range (r, -16, 17) / 16.0f;
  g_rand_free (r);
}

/* @n random quantized bytes of @type (uint8 0..255, int8 -127..127). */
static void
fill_quantized (guint8 *q, gsize n, int type, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  for (gsize i = 0; i < n; i++)
    q[i] = type == TB_U8 ? g_rand_int_range (r, 0, 256) : (guint8) g_rand_int_range (r, -127, 128);
  g_rand_free (r);
}

/* The real weights, laid out [outer][channel][inner]:
 * w = (q - zp[channel]) * scale[channel]. */
static void
dequantize_ref (const guint8 *q, const PerChannel *pc, int outer, int channels, int inner, float *w)
{
  for (int a = 0; a < outer; a++)
    for (int c = 0; c < channels; c++)
      for (int b = 0; b < inner; b++) {
        gsize i = ((gsize) a * channels + c) * inner + b;
        double v = pc->type == TB_U8 ? q[i] : (gint8) q[i];
        w[i] = (float) ((v - pc->zp[c]) * pc->scale[c]);
      }
}

/* Every output within half an fp16 ulp of the exact value: the output's
 * rounding to fp16 is the only error (see PerChannel). */
static void
assert_fp16_rounded (const float *got, const float *want, gsize n)
{
  double worst = 0;
  for (gsize i = 0; i < n; i++) {
    double err = fabs ((double) got[i] - want[i]), tol = ldexp (fabs (want[i]), -11);
    if (err > tol)
      g_error ("element %" G_GSIZE_FORMAT ": got %.8g, want %.8g (|error| %.3g > %.3g)", i, got[i],
               want[i], err, tol);
    worst = MAX (worst, want[i] != 0 ? err / fabs (want[i]) : err);
  }
  g_test_message ("max relative error %.3g (fp16 rounding: <= 2^-11 = %.3g)", worst,
                  ldexp (1, -11));
}

/* A 3x3 SAME conv (or depthwise, multiplier @M) with per-channel quantized
 * weights, on a @H x @W x @C input, against ref_conv on dequantize_ref's
 * weights. TFLite's layouts: conv [O, 3, 3, C] quantized along dim 0,
 * depthwise [1, 3, 3, C * M] along dim 3. */
static void
check_conv_per_channel (gboolean depthwise, int H, int W, int C, int M, int O, int stride,
                        const PerChannel *pc, guint32 seed)
{
  int K = 3, wn = depthwise ? K * K * O : O * K * K * C;
  g_autofree guint8 *q = g_new (guint8, wn);
  g_autofree float *w = g_new (float, wn), *bias = g_new (float, O), *xv = g_new (float, H *W *C);
  fill_quantized (q, wn, pc->type, seed);
  fill_sixteenths (bias, O, seed + 1);
  fill_sixteenths (xv, H * W * C, seed + 2);
  if (depthwise)
    dequantize_ref (q, pc, K * K, O, 1, w);
  else
    dequantize_ref (q, pc, 1, O, K * K * C, w);
  g_autofree float *want = g_new (float, H *W *O), *out = g_new (float, H *W *O);
  int oh, ow;
  ref_conv (xv, H, W, C, w, O, K, K, bias, stride, SAME, depthwise, 0, want, &oh, &ow);

  Tb *b = tb_new ();
  int xs[] = { 1, H, W, C }, ys[] = { 1, oh, ow, O }, bs[] = { O };
  int ws_c[] = { O, K, K, C }, ws_d[] = { 1, K, K, O };
  int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
  int wt = tb_tensor (b, "wq", 4, depthwise ? ws_d : ws_c, pc->type, q, wn);
  tb_quant (b, wt, O, pc->scale, pc->zp, depthwise ? 3 : 0);
  int in[] = { x, wt, tb_const_f32 (b, "b", 1, bs, bias) };
  tb_op (b, depthwise ? DW : CONV, 3, in, y, depthwise ? 2 : 1,
         conv_options (b, SAME, stride, stride, 0, depthwise, M));
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  const float *ins[] = { xv };
  run (model, 1, ins, out, oh * ow * O);
  assert_fp16_rounded (out, want, oh * ow * O);
}

/* Weights quantized per output channel, with distinct scales and (uint8)
 * distinct non-zero zero points, dequantize channel by channel: CONV_2D
 * uint8 along dim 0, DEPTHWISE_CONV_2D int8 (zero points 0, as TFLite's
 * int8 spec requires) along dim 3, FULLY_CONNECTED uint8 along dim 0, each
 * within half an fp16 ulp of the exact result. */
static void
test_quantized_per_channel (void)
{
  const float conv_scale[] = { 0.5f, 0.125f, 5.0f / 128, 0.75f };
  const gint64 conv_zp[] = { 3, 128, 77, 250 };
  PerChannel conv = { TB_U8, conv_scale, conv_zp };
  check_conv_per_channel (FALSE, 5, 4, 3, 1, 4, 1, &conv, 11);
  check_conv_per_channel (FALSE, 7, 6, 3, 1, 4, 2, &conv, 12);

  const float dw_scale[] = { 0.25f, 1.0f / 16, 0.375f, 3.0f / 32 };
  const gint64 dw_zp[] = { 0, 0, 0, 0 };
  PerChannel dw = { TB_I8, dw_scale, dw_zp };
  check_conv_per_channel (TRUE, 4, 5, 2, 2, 4, 1, &dw, 13);

  const float fc_scale[] = { 0.25f, 3.0f / 64, 1.5f };
  const gint64 fc_zp[] = { 200, 17, 128 };
  PerChannel fc = { TB_U8, fc_scale, fc_zp };
  guint8 q[18];
  float w[18], bias[3], xv[6], want[3], out[3];
  fill_quantized (q, 18, TB_U8, 14);
  fill_sixteenths (bias, 3, 15);
  fill_sixteenths (xv, 6, 16);
  dequantize_ref (q, &fc, 1, 3, 6, w);
  for (int n = 0; n < 3; n++) {
    double acc = bias[n];
    for (int k = 0; k < 6; k++)
      acc += (double) w[n * 6 + k] * xv[k];
    want[n] = (float) acc;
  }
  Tb *b = tb_new ();
  int xs[] = { 1, 6 }, ws[] = { 3, 6 }, bs[] = { 3 }, ys[] = { 1, 3 };
  int x = tb_act (b, "x", 2, xs), y = tb_act (b, "y", 2, ys);
  int wt = tb_tensor (b, "wq", 2, ws, TB_U8, q, sizeof q);
  tb_quant (b, wt, 3, fc_scale, fc_zp, 0);
  int in[] = { x, wt, tb_const_f32 (b, "b", 1, bs, bias) };
  tb_op (b, FC, 3, in, y, 8, tb_options (b));
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  const float *ins[] = { xv };
  run (model, 1, ins, out, 3);
  assert_fp16_rounded (out, want, 3);
}

/* The import with opts->image makes the first input an NCHW image port with
 * the given scale and bias. */
static void
test_image_input (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 4, 5, 3 };
  int x = tb_act (b, "image", 4, xs), y = tb_act (b, "y", 4, xs);
  tb_op (b, RELU, 1, &x, y, 0, NULL);
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  AfImportOptions opts = AF_IMPORT_OPTIONS_INIT;
  opts.image = TRUE;
  opts.order = AF_PIXEL_BGR;
  for (int c = 0; c < 3; c++) {
    opts.scale[c] = 2.0f / 255;
    opts.bias[c] = -1;
  }
  GError *error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (model, &len);
  AfGraph *g = af_graph_import_tflite_from_data (data, len, "img.tflite", &opts, &error);
  g_assert_no_error (error);
  AfModel *m = af_compile (g, NULL, &error);
  g_assert_no_error (error);
  AfTensorInfo in, out;
  af_model_input_info (m, 0, &in);
  af_model_output_info (m, 0, &out);
  g_assert_true (in.is_image);
  g_assert_cmpint (in.order, ==, AF_PIXEL_BGR);
  g_assert_cmpfloat_with_epsilon (in.bias[2], -1.0f, 1e-6);
  gint64 want_in[] = { 1, 3, 4, 5 }, want_out[] = { 1, 4, 5, 3 };
  for (int i = 0; i < 4; i++) {
    g_assert_cmpint (in.shape[i], ==, want_in[i]);
    g_assert_cmpint (out.shape[i], ==, want_out[i]);
  }
  af_model_free (m);
  af_graph_free (g);
}

/* ---------------------------------------------------------------- quantized, new ops */

static void assert_import_error (GBytes *model, int code, const char *const *needles);

/* A uint8 input's quantization (scale 0.5, zero point 10): a plain input
 * gets the real value 0.5 (q - 10); an image port gets it as its per-channel
 * scale / bias, composed with the import options (pixel -> q). */
static GBytes *
quant_input_model (int channels)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 2, 2, channels };
  int x = tb_tensor (b, "q", 4, xs, TB_U8, NULL, 0), y = tb_act (b, "y", 4, xs);
  tb_quant (b, x, 1, (const float[]){ 0.5f }, (const gint64[]){ 10 }, 0);
  tb_op (b, RELU, 1, &x, y, 0, NULL);
  tb_input (b, x);
  tb_output (b, y);
  return tb_finish (b);
}

static void
test_quantized_input (void)
{
  g_autoptr (GBytes) model = quant_input_model (1);
  float q[] = { 0, 10, 12, 30 }, out[4], want[] = { 0, 0, 1, 10 };
  const float *ins[] = { q };
  run (model, 1, ins, out, 4);
  assert_close (out, want, 4);

  g_autoptr (GBytes) rgb = quant_input_model (3);
  AfImportOptions opts = AF_IMPORT_OPTIONS_INIT;
  opts.image = TRUE;
  opts.bias[1] = 4; /* pixel + 4 is the stored value of channel 1 */
  GError *error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (rgb, &len);
  AfGraph *g = af_graph_import_tflite_from_data (data, len, "q.tflite", &opts, &error);
  g_assert_no_error (error);
  AfModel *m = af_compile (g, NULL, &error);
  g_assert_no_error (error);
  AfTensorInfo in;
  af_model_input_info (m, 0, &in);
  g_assert_true (in.is_image);
  for (int c = 0; c < 3; c++) {
    g_assert_cmpfloat (in.scale[c], ==, 0.5f);
    g_assert_cmpfloat (in.bias[c], ==, c == 1 ? -3.0f : -5.0f);
  }
  af_model_free (m);
  af_graph_free (g);
}

/* QUANTIZE to uint8 (scale 0.25, zero point 128) then DEQUANTIZE: values
 * come back rounded to multiples of 0.25 and clamped to [-32, 31.75]. */
static void
test_requantize (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 6 };
  int x = tb_act (b, "x", 2, xs), y = tb_act (b, "y", 2, xs);
  int q = tb_tensor (b, "q", 2, xs, TB_U8, NULL, 0);
  tb_quant (b, q, 1, (const float[]){ 0.25f }, (const gint64[]){ 128 }, 0);
  tb_op (b, QUANTIZE, 1, &x, q, 0, NULL);
  tb_op (b, DEQ, 1, &q, y, 0, NULL);
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  float xv[] = { 0.1f, 0.13f, -40, 40, -0.3f, 7.9f }, out[6];
  const float *ins[] = { xv };
  run (model, 1, ins, out, 6);
  float want[] = { 0, 0.25f, -32, 31.75f, -0.25f, 8 };
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (out[i], ==, want[i]);
}

/* MEAN over H, W (keep_dims both ways), over C, and over W alone (the
 * NHWC route); ARG_MAX over C to an int64 tensor; both against naive NHWC. */
static void
test_mean_argmax (void)
{
  float xv[12];
  fill (xv, 12, 31);
  const float *ins[] = { xv };
  struct {
    int n_axes, axes[2], keep, rank, shape[4];
  } cases[] = {
    { 2, { 1, 2 }, 0, 2, { 1, 3 } },    { 2, { 1, 2 }, 1, 4, { 1, 1, 1, 3 } },
    { 1, { 3 }, 0, 3, { 1, 2, 2 } },    { 1, { -2 }, 0, 3, { 1, 2, 3 } },
    { 1, { 2 }, 1, 4, { 1, 2, 1, 3 } },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++) {
    Tb *b = tb_new ();
    int xs[] = { 1, 2, 2, 3 }, as[] = { cases[k].n_axes };
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", cases[k].rank, cases[k].shape);
    int in[] = { x, tb_const_i32 (b, "axes", 1, as, cases[k].axes) };
    FbwObj *o = tb_options (b);
    fbw_i8 (o, 0, cases[k].keep);
    tb_op (b, MEAN, 2, in, y, 27, o);
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    float want[12] = { 0 }, out[12];
    gboolean red[4] = { FALSE };
    for (int a = 0; a < cases[k].n_axes; a++)
      red[(cases[k].axes[a] + 4) % 4] = TRUE;
    int n_out = 1, count = 1, dims[4] = { 1, 2, 2, 3 };
    for (int d = 0; d < 4; d++)
      red[d] ? (count *= dims[d]) : (n_out *= dims[d]);
    for (int h = 0; h < 2; h++) /* the output index in NHWC order of kept dims */
      for (int w = 0; w < 2; w++)
        for (int c = 0; c < 3; c++) {
          int idx = 0, i[4] = { 0, h, w, c };
          for (int d = 1; d < 4; d++)
            if (!red[d])
              idx = idx * dims[d] + i[d];
          want[idx] += xv[(h * 2 + w) * 3 + c] / count;
        }
    run (model, 1, ins, out, n_out);
    assert_close (out, want, n_out);
  }
  Tb *b = tb_new ();
  int xs[] = { 1, 2, 2, 3 }, ys[] = { 1, 2, 2 }, one[] = { 1 };
  int x = tb_act (b, "x", 4, xs), y = tb_tensor (b, "idx", 3, ys, TB_I64, NULL, 0);
  int in[] = { x, tb_const_i32 (b, "axis", 1, one, (const gint32[]){ 3 }) };
  tb_op (b, ARG_MAX, 2, in, y, 40, tb_options (b));
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  float out[4];
  run (model, 1, ins, out, 4);
  for (int p = 0; p < 4; p++) {
    int best = 0;
    for (int c = 1; c < 3; c++)
      if (xv[p * 3 + c] > xv[p * 3 + best])
        best = c;
    g_assert_cmpfloat (out[p], ==, best);
  }
}

/* RESIZE_BILINEAR 2x2 -> 3x3 with align_corners, -> 4x4 with
 * half_pixel_centers; HARD_SWISH on values around its kinks. */
static void
test_resize_bilinear_hard_swish (void)
{
  for (int mode = 0; mode < 2; mode++) {
    Tb *b = tb_new ();
    int n = mode ? 4 : 3;
    int xs[] = { 1, 2, 2, 1 }, ys[] = { 1, n, n, 1 }, ss[] = { 2 };
    gint32 size[] = { n, n };
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
    int in[] = { x, tb_const_i32 (b, "size", 1, ss, size) };
    FbwObj *o = tb_options (b);
    fbw_i8 (o, mode ? 3 : 2, 1);
    tb_op (b, RESIZE_BILINEAR, 2, in, y, 15, o);
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    float xv[] = { 0, 1, 2, 3 }, out[16], want[16];
    float g3[] = { 0, 0.5f, 1 }, g4[] = { 0, 0.25f, 0.75f, 1 }, *gr = mode ? g4 : g3;
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++)
        want[i * n + j] = 2 * gr[i] + gr[j];
    const float *ins[] = { xv };
    run (model, 1, ins, out, n * n);
    assert_close (out, want, n * n);
  }
  Tb *b = tb_new ();
  int xs[] = { 1, 6 };
  int x = tb_act (b, "x", 2, xs), y = tb_act (b, "y", 2, xs);
  tb_op (b, HARD_SWISH, 1, &x, y, 0, NULL);
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  float xv[] = { -4, -3, -1, 0, 1.5f, 5 }, out[6], want[] = { 0, 0, -1.0f / 3, 0, 1.125f, 5 };
  const float *ins[] = { xv };
  run (model, 1, ins, out, 6);
  assert_close (out, want, 6);
}

/* Transposed convs with OHWI weights [2, 2, 2, 1] (output channel 0 all
 * twos, 1 all ones) against a naive scatter: TRANSPOSE_CONV stride 2 SAME
 * tiles each pixel; MediaPipe's Convolution2DTransposeBias (padding and
 * strides in custom_options) with strides h 1, w 2 overlaps rows and crops
 * the odd extra row at the end (TFLite's SAME), plus its bias. */
static void
test_transpose_conv (void)
{
  for (int custom = 0; custom < 2; custom++) {
    Tb *b = tb_new ();
    int sh = custom ? 1 : 2, sw = 2, OH = 2 * sh, OW = 4;
    int xs[] = { 1, 2, 2, 1 }, ws[] = { 2, 2, 2, 1 }, ys[] = { 1, OH, OW, 2 }, s4[] = { 4 };
    int bs[] = { 2 };
    float w[] = { 2, 2, 2, 2, 1, 1, 1, 1 }, bias[] = { 10, 20 };
    gint32 shape[] = { 1, OH, OW, 2 };
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
    int wt = tb_const_f32 (b, "w", 4, ws, w), bt = tb_const_f32 (b, "b", 1, bs, bias);
    if (custom) {
      gint32 opts[] = { GINT32_TO_LE (1), GINT32_TO_LE (sw), GINT32_TO_LE (sh) };
      int in[] = { x, wt, bt };
      tb_custom_op (b, "Convolution2DTransposeBias", 3, in, y, opts, sizeof opts);
    } else {
      int in[] = { tb_const_i32 (b, "shape", 1, s4, shape), wt, x };
      FbwObj *o = tb_options (b);
      fbw_i8 (o, 0, SAME);
      fbw_i32 (o, 1, sw);
      fbw_i32 (o, 2, sh);
      tb_op (b, TRANSPOSE_CONV, 3, in, y, 49, o);
    }
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    float xv[] = { 1, 2, 3, 4 }, out[32], want[32] = { 0 };
    const float *ins[] = { xv };
    run (model, 1, ins, out, OH * OW * 2);
    /* SAME: total = (in - 1) * stride + k - out, half of it (rounded down) before */
    int pt = ((2 - 1) * sh + 2 - OH) / 2, pl = ((2 - 1) * sw + 2 - OW) / 2;
    for (int i = 0; i < OH * OW * 2; i++)
      want[i] = custom ? bias[i % 2] : 0;
    for (int iy = 0; iy < 2; iy++)
      for (int ix = 0; ix < 2; ix++)
        for (int ky = 0; ky < 2; ky++)
          for (int kx = 0; kx < 2; kx++) {
            int oy = iy * sh - pt + ky, ox = ix * sw - pl + kx;
            if (oy < 0 || oy >= OH || ox < 0 || ox >= OW)
              continue;
            for (int o = 0; o < 2; o++)
              want[(oy * OW + ox) * 2 + o] += xv[iy * 2 + ix] * w[o * 4 + ky * 2 + kx];
          }
    for (int i = 0; i < OH * OW * 2; i++)
      g_assert_cmpfloat (out[i], ==, want[i]);
  }
}

/* PRELU with a per-channel alpha [1, 1, 2] (NHWC broadcasting): x for x > 0,
 * alpha[c] * x below. */
static void
test_prelu (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 1, 2, 2 }, as[] = { 1, 1, 2 };
  float alpha[] = { 0.125f, 2 };
  int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, xs);
  int in[] = { x, tb_const_f32 (b, "alpha", 3, as, alpha) };
  tb_op (b, PRELU, 2, in, y, 0, NULL);
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  float xv[] = { -1, -2, 3, -4 }, out[4], want[] = { -0.125f, -4, 3, -8 };
  const float *ins[] = { xv };
  run (model, 1, ins, out, 4);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (out[i], ==, want[i]);
}

/* The new parsing paths refuse bad fields by name: short or unknown
 * custom_options, an out-of-range MEAN axis, both resize modes, a
 * per-channel quantized input. */
static void
test_new_op_errors (void)
{
  int xs[] = { 1, 2, 2, 1 }, ws[] = { 1, 2, 2, 1 }, ys[] = { 1, 4, 4, 1 }, one[] = { 1 };
  float w[] = { 1, 1, 1, 1 };
  for (int k = 0; k < 2; k++) {
    Tb *b = tb_new ();
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
    int in[] = { x, tb_const_f32 (b, "w", 4, ws, w), tb_const_f32 (b, "b", 1, one, w) };
    gint32 opts[] = { GINT32_TO_LE (3), GINT32_TO_LE (2), GINT32_TO_LE (2) };
    tb_custom_op (b, "Convolution2DTransposeBias", 3, in, y, opts, k ? sizeof opts : 8);
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    const char *needles[] = { "operators[0] (Convolution2DTransposeBias)", "custom_options",
                              k ? "padding 3" : "8 bytes", NULL };
    assert_import_error (model, k ? AF_ERROR_UNSUPPORTED : AF_ERROR_INVALID, needles);
  }
  {
    Tb *b = tb_new ();
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, xs);
    tb_custom_op (b, "MyOwnOp", 1, &x, y, NULL, 0);
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    const char *needles[] = { "custom operator \"MyOwnOp\"", NULL };
    assert_import_error (model, AF_ERROR_UNSUPPORTED, needles);
  }
  {
    Tb *b = tb_new ();
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, xs);
    int in[] = { x, tb_const_i32 (b, "axes", 1, one, (const gint32[]){ 4 }) };
    tb_op (b, MEAN, 2, in, y, 27, tb_options (b));
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    const char *needles[] = { "operators[0] (MEAN)", "input 1 \"axes\"", "axis 4", NULL };
    assert_import_error (model, AF_ERROR_INVALID, needles);
  }
  {
    Tb *b = tb_new ();
    int ss[] = { 2 };
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
    int in[] = { x, tb_const_i32 (b, "size", 1, ss, (const gint32[]){ 4, 4 }) };
    FbwObj *o = tb_options (b);
    fbw_i8 (o, 2, 1);
    fbw_i8 (o, 3, 1);
    tb_op (b, RESIZE_BILINEAR, 2, in, y, 15, o);
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    const char *needles[] = { "RESIZE_BILINEAR", "align_corners", "half_pixel_centers", NULL };
    assert_import_error (model, AF_ERROR_INVALID, needles);
  }
  {
    Tb *b = tb_new ();
    int qs[] = { 1, 2, 2, 2 };
    int x = tb_tensor (b, "q", 4, qs, TB_U8, NULL, 0), y = tb_act (b, "y", 4, qs);
    tb_quant (b, x, 2, (const float[]){ 0.5f, 0.25f }, (const gint64[]){ 0, 0 }, 3);
    tb_op (b, RELU, 1, &x, y, 0, NULL);
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    const char *needles[] = { "input tensor 0 \"q\"", "per-channel", NULL };
    assert_import_error (model, AF_ERROR_UNSUPPORTED, needles);
  }
}

/* ---------------------------------------------------------------- errors */

static void
assert_import_error (GBytes *model, int code, const char *const *needles)
{
  GError *error = NULL;
  AfGraph *g = import (model, &error);
  g_assert_null (g);
  g_assert_error (error, AF_ERROR, code);
  for (int i = 0; needles[i]; i++)
    if (!strstr (error->message, needles[i]))
      g_error ("\"%s\" not in \"%s\"", needles[i], error->message);
  g_error_free (error);
}

/* An unsupported operator is refused naming file, operator index and op. */
static void
test_unsupported_op (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 4 };
  int x = tb_act (b, "x", 2, xs), r = tb_act (b, "r", 2, xs), y = tb_act (b, "y", 2, xs);
  tb_op (b, RELU, 1, &x, r, 0, NULL);
  tb_op (b, 39 /* TRANSPOSE */, 1, &r, y, 0, NULL);
  tb_input (b, x);
  tb_output (b, y);
  g_autoptr (GBytes) model = tb_finish (b);
  const char *needles[] = { "test.tflite", "operators[1]", "BUILTIN_39", "not supported", NULL };
  assert_import_error (model, AF_ERROR_UNSUPPORTED, needles);
}

/* Unsupported options are refused naming the option: align_corners on
 * RESIZE_NEAREST_NEIGHBOR and the SIGN_BIT fused activation on CONV_2D. */
static void
test_unsupported_options (void)
{
  {
    Tb *b = tb_new ();
    int xs[] = { 1, 2, 2, 1 }, ys[] = { 1, 4, 4, 1 }, ss[] = { 2 };
    gint32 size[] = { 4, 4 };
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, ys);
    int in[] = { x, tb_const_i32 (b, "size", 1, ss, size) };
    FbwObj *o = tb_options (b);
    fbw_i8 (o, 0, 1);
    tb_op (b, RESIZE_NN, 2, in, y, 74, o);
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    const char *needles[] = { "operators[0]", "RESIZE_NEAREST_NEIGHBOR", "align_corners", NULL };
    assert_import_error (model, AF_ERROR_UNSUPPORTED, needles);
  }
  {
    Tb *b = tb_new ();
    int xs[] = { 1, 2, 2, 1 }, ws[] = { 1, 1, 1, 1 };
    float w[] = { 1 };
    int x = tb_act (b, "x", 4, xs), y = tb_act (b, "y", 4, xs);
    int in[] = { x, tb_const_f32 (b, "w", 4, ws, w), -1 };
    tb_op (b, CONV, 3, in, y, 1, conv_options (b, VALID, 1, 1, 5, FALSE, 0));
    tb_input (b, x);
    tb_output (b, y);
    g_autoptr (GBytes) model = tb_finish (b);
    const char *needles[] = { "operators[0] (CONV_2D)", "fused_activation_function", NULL };
    assert_import_error (model, AF_ERROR_UNSUPPORTED, needles);
  }
}

/* ---------------------------------------------------------------- malformed */

/* A model using most mappings, the seed of the malformed tests. */
static GBytes *
seed_model (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 4, 4, 2 }, ws[] = { 3, 3, 3, 2 }, ys[] = { 1, 4, 4, 3 }, bs[] = { 3 };
  int ps[] = { 1, 2, 2, 3 }, fs[] = { 1, 12 }, fw[] = { 2, 12 }, os[] = { 1, 2 };
  float w[54], bias[3], f[24];
  fill (w, 54, 20);
  fill (bias, 3, 21);
  fill (f, 24, 22);
  int x = tb_act (b, "x", 4, xs), c = tb_act (b, "c", 4, ys), p = tb_act (b, "p", 4, ps);
  int r = tb_act (b, "r", 2, fs), y = tb_act (b, "y", 2, os), s = tb_act (b, "s", 2, os);
  int in1[] = { x, tb_const_f32 (b, "w", 4, ws, w), tb_const_f32 (b, "b", 1, bs, bias) };
  int in3[] = { r, tb_const_f32 (b, "fw", 2, fw, f), -1 };
  tb_op (b, CONV, 3, in1, c, 1, conv_options (b, SAME, 1, 1, 3, FALSE, 0));
  tb_op (b, MAXP, 1, &c, p, 5, pool_options (b, VALID, 2, 2));
  tb_op (b, RESHAPE, 1, &p, r, 0, NULL);
  tb_op (b, FC, 3, in3, y, 8, tb_options (b));
  FbwObj *o = tb_options (b);
  fbw_f32 (o, 0, 1.0f);
  tb_op (b, SOFTMAX, 1, &y, s, 9, o);
  tb_input (b, x);
  tb_output (b, s);
  return tb_finish (b);
}

/* A quantized model through the newer mappings: a uint8 input, uint8
 * weights, requantized activations, MediaPipe's transposed conv, RESIZE_BILINEAR,
 * HARD_SWISH, MEAN, ARG_MAX to int64 (the second fuzz seed). */
static GBytes *
seed_model_quant (void)
{
  Tb *b = tb_new ();
  int xs[] = { 1, 4, 4, 2 }, ws[] = { 3, 1, 1, 2 }, cs[] = { 1, 4, 4, 3 }, bs[] = { 3 };
  int ts[] = { 1, 8, 8, 3 }, tw[] = { 3, 2, 2, 3 }, rs[] = { 1, 6, 6, 3 }, ms[] = { 1, 1, 1, 3 };
  int as[] = { 1, 6, 6 }, two[] = { 2 }, one[] = { 1 };
  guint8 w[6] = { 0, 255, 128, 7, 200, 50 };
  float bias[3] = { 0.5f, -0.5f, 1 }, tf[36];
  fill (tf, 36, 23);
  int x = tb_tensor (b, "x", 4, xs, TB_U8, NULL, 0);
  tb_quant (b, x, 1, (const float[]){ 0.0078125f }, (const gint64[]){ 128 }, 0);
  int wq = tb_tensor (b, "w", 4, ws, TB_U8, w, sizeof w);
  tb_quant (b, wq, 1, (const float[]){ 0.01f }, (const gint64[]){ 120 }, 0);
  int c = tb_tensor (b, "c", 4, cs, TB_U8, NULL, 0);
  tb_quant (b, c, 1, (const float[]){ 0.05f }, (const gint64[]){ 100 }, 0);
  int in1[] = { x, wq, tb_const_f32 (b, "b", 1, bs, bias) };
  tb_op (b, CONV, 3, in1, c, 1, conv_options (b, SAME, 1, 1, 0, FALSE, 0));
  int t = tb_act (b, "t", 4, ts);
  int in2[] = { c, tb_const_f32 (b, "tw", 4, tw, tf), tb_const_f32 (b, "tb", 1, bs, bias) };
  gint32 opts[] = { GINT32_TO_LE (1), GINT32_TO_LE (2), GINT32_TO_LE (2) };
  tb_custom_op (b, "Convolution2DTransposeBias", 3, in2, t, opts, sizeof opts);
  int r = tb_act (b, "r", 4, rs), h = tb_act (b, "h", 4, rs), m = tb_act (b, "m", 4, ms);
  int in3[] = { t, tb_const_i32 (b, "size", 1, two, (const gint32[]){ 6, 6 }) };
  FbwObj *o = tb_options (b);
  fbw_i8 (o, 3, 1);
  tb_op (b, RESIZE_BILINEAR, 2, in3, r, 15, o);
  tb_op (b, HARD_SWISH, 1, &r, h, 0, NULL);
  int in4[] = { h, tb_const_i32 (b, "axes", 1, two, (const gint32[]){ 1, 2 }) };
  o = tb_options (b);
  fbw_i8 (o, 0, 1);
  tb_op (b, MEAN, 2, in4, m, 27, o);
  int a = tb_tensor (b, "argmax", 3, as, TB_I64, NULL, 0);
  int in5[] = { h, tb_const_i32 (b, "axis", 1, one, (const gint32[]){ -1 }) };
  tb_op (b, ARG_MAX, 2, in5, a, 40, tb_options (b));
  tb_input (b, x);
  tb_output (b, m);
  tb_output (b, a);
  return tb_finish (b);
}

/* The quantized seed imports, compiles and runs. */
static void
test_seed_quant (void)
{
  GBytes *model = seed_model_quant ();
  GError *error = NULL;
  AfGraph *g = import (model, &error);
  g_assert_no_error (error);
  AfModel *m = af_compile (g, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (af_model_n_outputs (m), ==, 2);
  af_model_free (m);
  af_graph_free (g);
  g_bytes_unref (model);
}

/* Imports @data; a graph that comes out must also compile or fail cleanly. */
static void
try_import (const guint8 *data, gsize len)
{
  GError *error = NULL;
  AfGraph *g = af_graph_import_tflite_from_data (data, len, "bad.tflite", NULL, &error);
  if (!g) {
    g_assert_nonnull (error);
    g_assert_true (error->domain == AF_ERROR);
    g_error_free (error);
    return;
  }
  g_assert_no_error (error);
  AfModel *m = af_compile (g, NULL, &error);
  if (!m)
    g_clear_error (&error);
  af_model_free (m);
  af_graph_free (g);
}

/* Both seeds import; every truncation is rejected cleanly. */
static void
test_truncated (gconstpointer quant)
{
  g_autoptr (GBytes) model = quant ? seed_model_quant () : seed_model ();
  gsize len;
  const guint8 *data = g_bytes_get_data (model, &len);
  GError *error = NULL;
  AfGraph *g = af_graph_import_tflite_from_data (data, len, "seed", NULL, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  for (gsize n = 0; n < len; n++) {
    guint8 *copy = g_memdup2 (data, n); /* exact size: ASan sees any over-read */
    try_import (copy, n);
    g_free (copy);
  }
}

/* Every byte of both seeds flipped (three ways) imports or fails cleanly,
 * never crashes. */
static void
test_flipped_bytes (gconstpointer quant)
{
  g_autoptr (GBytes) model = quant ? seed_model_quant () : seed_model ();
  gsize len;
  const guint8 *data = g_bytes_get_data (model, &len);
  guint8 *copy = g_memdup2 (data, len);
  static const guint8 flips[] = { 0xff, 0x80, 0x01 };
  for (gsize i = 0; i < len; i++)
    for (guint f = 0; f < G_N_ELEMENTS (flips); f++) {
      copy[i] ^= flips[f];
      try_import (copy, len);
      copy[i] = data[i];
    }
  g_free (copy);
}

/* Hand-made hostile buffers: offsets out of range, a huge vector, a table
 * whose vtable lies outside, a root pointing at itself, and a looping
 * vector of tables exhausting the reader's budget. */
static void
test_hostile_buffers (void)
{
  GError *error = NULL;
  AfFb fb;
  AfFbTable t;
  /* root offset past the end */
  guint8 b1[16] = { 0xf0, 0xff, 0xff, 0xff, 'T', 'F', 'L', '3' };
  g_assert_true (af_fb_init (&fb, b1, sizeof b1, "TFL3", "b1", &error));
  g_assert_false (af_fb_root (&fb, &t, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_PARSE);
  g_clear_error (&error);
  /* table at 8 with vtable soffset pointing before the buffer */
  guint8 b2[16] = { 8, 0, 0, 0, 'T', 'F', 'L', '3', 0x00, 0x01, 0, 0 };
  g_assert_true (af_fb_init (&fb, b2, sizeof b2, NULL, "b2", &error));
  g_assert_false (af_fb_root (&fb, &t, &error));
  g_clear_error (&error);
  /* a valid table at 16 (vtable at 8: 6 bytes, object 8 bytes, field 0 at
   * +4) whose field 0 is a vector of 0x7fffffff 4-byte elements */
  guint8 b3[32] = { 16,   0,    0,    0,    'T', 'F', 'L', '3', /* root -> 16 */
                    6,    0,    8,    0,    4,   0,   0,   0,   /* vtable */
                    8,    0,    0,    0,    4,   0,   0,   0, /* table: soffset 8, field 0 -> 24 */
                    0xff, 0xff, 0xff, 0x7f, 0,   0,   0,   0 };
  g_assert_true (af_fb_init (&fb, b3, sizeof b3, NULL, "b3", &error));
  g_assert_true (af_fb_root (&fb, &t, &error));
  AfFbVector v;
  g_assert_false (af_fb_vector (&t, 0, 4, &v, &error));
  g_assert_nonnull (strstr (error->message, "vector runs past"));
  g_clear_error (&error);
  /* one element whose uoffset wraps back to the table (a loop): rejected */
  b3[24] = 1;
  b3[25] = b3[26] = b3[27] = 0;
  b3[28] = 0xf0;
  b3[29] = b3[30] = b3[31] = 0xff;
  g_assert_true (af_fb_vector (&t, 0, 4, &v, &error));
  g_assert_false (af_fb_vector_table (&v, 0, &t, &error));
  g_clear_error (&error);
  /* the budget stops any walk that opens too many tables / vectors */
  fb.budget = 1;
  g_assert_true (af_fb_root (&fb, &t, &error));
  g_assert_false (af_fb_vector (&t, 0, 4, &v, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_LIMIT);
  g_clear_error (&error);
  /* importer: a model table without subgraphs, a wrong identifier, empty */
  g_assert_null (af_graph_import_tflite_from_data (b3, sizeof b3, "b3", NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "subgraphs"));
  g_clear_error (&error);
  b3[7] = '4';
  g_assert_null (af_graph_import_tflite_from_data (b3, sizeof b3, "b3", NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_PARSE);
  g_clear_error (&error);
  g_assert_null (af_graph_import_tflite_from_data (NULL, 0, "empty", NULL, &error));
  g_clear_error (&error);
  g_assert_null (af_graph_import_tflite ("/nonexistent/x.tflite", NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_IO);
  g_clear_error (&error);
}

/* ---------------------------------------------------------------- corpus */

static int
write_corpus (const char *dir)
{
  GBytes *seeds[] = { seed_model (), seed_model_quant () };
  for (guint i = 0; i < G_N_ELEMENTS (seeds); i++) {
    g_autofree char *name = g_strdup_printf ("seed-%u.tflite", i);
    g_autofree char *path = g_build_filename (dir, name, NULL);
    gsize len;
    const char *data = g_bytes_get_data (seeds[i], &len);
    GError *error = NULL;
    if (!g_file_set_contents (path, data, len, &error)) {
      g_printerr ("%s\n", error->message);
      return 1;
    }
    g_bytes_unref (seeds[i]);
  }
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "--write-corpus") == 0)
    return write_corpus (argv[2]);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tflite/conv/literal", test_conv_literal);
  g_test_add_func ("/tflite/conv/same-extra-pad-at-end", test_conv_same_extra_pad_at_end);
  g_test_add_func ("/tflite/conv/random", test_conv_random);
  g_test_add_func ("/tflite/depthwise/random", test_depthwise_random);
  g_test_add_func ("/tflite/fully-connected", test_fully_connected);
  g_test_add_func ("/tflite/add-mul-logistic", test_add_mul_logistic);
  g_test_add_func ("/tflite/relu-relu6", test_relu_relu6);
  g_test_add_func ("/tflite/pools", test_pools);
  g_test_add_func ("/tflite/pad", test_pad);
  g_test_add_func ("/tflite/reshape-concat", test_reshape_concat);
  g_test_add_func ("/tflite/softmax", test_softmax);
  g_test_add_func ("/tflite/resize-nearest", test_resize_nearest);
  g_test_add_func ("/tflite/quantized-weights", test_quantized_weights);
  g_test_add_func ("/tflite/quantized-weights/per-channel", test_quantized_per_channel);
  g_test_add_func ("/tflite/image-input", test_image_input);
  g_test_add_func ("/tflite/quantized-input", test_quantized_input);
  g_test_add_func ("/tflite/requantize", test_requantize);
  g_test_add_func ("/tflite/mean-argmax", test_mean_argmax);
  g_test_add_func ("/tflite/resize-bilinear-hard-swish", test_resize_bilinear_hard_swish);
  g_test_add_func ("/tflite/transpose-conv", test_transpose_conv);
  g_test_add_func ("/tflite/prelu", test_prelu);
  g_test_add_func ("/tflite/errors/new-ops", test_new_op_errors);
  g_test_add_func ("/tflite/seed-quant", test_seed_quant);
  g_test_add_func ("/tflite/errors/unsupported-op", test_unsupported_op);
  g_test_add_func ("/tflite/errors/unsupported-options", test_unsupported_options);
  g_test_add_data_func ("/tflite/malformed/truncated", NULL, test_truncated);
  g_test_add_data_func ("/tflite/malformed/truncated-quant", "q", test_truncated);
  g_test_add_data_func ("/tflite/malformed/flipped-bytes", NULL, test_flipped_bytes);
  g_test_add_data_func ("/tflite/malformed/flipped-bytes-quant", "q", test_flipped_bytes);
  g_test_add_func ("/tflite/malformed/hostile-buffers", test_hostile_buffers);
  return g_test_run ();
}
