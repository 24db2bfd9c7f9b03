/* test-numerics.c — pins the numerics contract: fp16 at every op boundary,
 * fp32 accumulation inside matmul, conv and reductions. */
#include "aneforge.h"

#include <math.h>

static AfModel *
compile_or_die (AfGraph *g)
{
  GError *error = NULL;
  AfModel *m = af_compile (g, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  return m;
}

/* A sum of 16384 ones is exactly 16384: fp16 accumulation would stall at 2048. */
static void
test_sum_of_ones (void)
{
  AfGraph *g = af_graph_new ("sum");
  gint64 shape[] = { 1, 16384 };
  int axes[] = { 1 };
  AfTensor *x = af_input (g, "x", 2, shape);
  af_graph_add_output (g, "y", af_sum (g, x, 1, axes, FALSE));
  AfModel *m = compile_or_die (g);
  float *in = g_new (float, 16384), out = 0;
  for (int i = 0; i < 16384; i++)
    in[i] = 1.0f;
  const float *ins[] = { in };
  float *outs[] = { &out };
  g_assert_true (af_model_run (m, ins, outs, NULL));
  g_assert_cmpfloat (out, ==, 16384.0f);
  g_free (in);
  af_model_free (m);
  af_graph_free (g);
}

/* A dot product of 16384 ones (linear with a weight of ones) is exactly 16384. */
static void
test_dot_of_ones (void)
{
  AfGraph *g = af_graph_new ("dot");
  gint64 xs[] = { 1, 16384 }, ws[] = { 1, 16384 };
  float *ones = g_new (float, 16384);
  for (int i = 0; i < 16384; i++)
    ones[i] = 1.0f;
  AfTensor *x = af_input (g, "x", 2, xs);
  AfTensor *w = af_weight (g, "w", 2, ws, ones);
  af_graph_add_output (g, "y", af_linear (g, x, w, NULL));
  AfModel *m = compile_or_die (g);
  float out = 0;
  const float *ins[] = { ones };
  float *outs[] = { &out };
  g_assert_true (af_model_run (m, ins, outs, NULL));
  g_assert_cmpfloat (out, ==, 16384.0f);
  g_free (ones);
  af_model_free (m);
  af_graph_free (g);
}

/* +1 beside a 16000 partial survives in the fp32 accumulator: 16000 ones,
 * then +1, then -16000 give 1 (an fp16 accumulator would lose the +1). */
static void
run_plus_one (gboolean use_conv)
{
  const int n = 16002;
  AfGraph *g = af_graph_new ("plus-one");
  float *x = g_new (float, n), *w = g_new (float, n);
  for (int i = 0; i < n; i++)
    x[i] = w[i] = 1.0f;
  x[n - 2] = 1.0f; /* the +1 */
  x[n - 1] = -16000.0f;
  for (int i = 0; i < 16000; i++)
    x[i] = 1.0f;
  AfTensor *y;
  if (use_conv) { /* 1x1 conv over n input channels */
    gint64 xs[] = { 1, n, 1, 1 }, ws[] = { 1, n, 1, 1 };
    y = af_conv (g, af_input (g, "x", 4, xs), af_weight (g, "w", 4, ws, w), NULL, NULL);
  } else {
    gint64 xs[] = { 1, n }, ws[] = { 1, n };
    y = af_linear (g, af_input (g, "x", 2, xs), af_weight (g, "w", 2, ws, w), NULL);
  }
  af_graph_add_output (g, "y", y);
  AfModel *m = compile_or_die (g);
  float out = -1;
  const float *ins[] = { x };
  float *outs[] = { &out };
  g_assert_true (af_model_run (m, ins, outs, NULL));
  g_assert_cmpfloat (out, ==, 1.0f);
  g_free (x);
  g_free (w);
  af_model_free (m);
  af_graph_free (g);
}

static void
test_plus_one_linear (void)
{
  run_plus_one (FALSE);
}

static void
test_plus_one_conv (void)
{
  run_plus_one (TRUE);
}

/* Weights are fp16: fp32 weights are rounded when compiled. w = 1 + 2^-11
 * + 2^-13 rounds to 1 + 2^-10, so x * w - x * 1 with x = 1 is 2^-10 (fp32
 * weights would give 2^-11 + 2^-13, exact in fp16 too): a linear, a 1x1
 * conv (GEMM path) and a 16 -> 16 3x3 conv (K 144: the direct path on
 * AVX-512) whose centre pixel sums the same two products. */
static void
test_weights_are_fp16 (void)
{
  const float w1 = 1.0f + 0x1p-11f + 0x1p-13f, want = 0x1p-10f;
  for (int kind = 0; kind < 3; kind++) {
    AfGraph *g = af_graph_new ("weights");
    int c = kind == 2 ? 16 : 2, taps = kind == 2 ? 9 : 1, o_n = kind == 2 ? 16 : 1;
    gint64 n_w = (gint64) o_n * c * taps, side = kind == 2 ? 3 : 1, n_x = c * side * side;
    float *w = g_new0 (float, n_w), *x = g_new (float, n_x), *y = g_new (float, o_n *side *side);
    for (gint64 i = 0; i < n_x; i++)
      x[i] = 1.0f;
    for (int o = 0; o < o_n; o++) { /* channel 0's and 1's centre taps */
      w[(o * c + 0) * taps + taps / 2] = w1;
      w[(o * c + 1) * taps + taps / 2] = -1.0f;
    }
    AfTensor *out;
    if (kind == 0) {
      gint64 xs[] = { 1, 2 }, ws[] = { 1, 2 };
      out = af_linear (g, af_input (g, "x", 2, xs), af_weight (g, "w", 2, ws, w), NULL);
    } else {
      gint64 xs[] = { 1, c, side, side }, ws[] = { o_n, c, side, side };
      AfConvParams p = AF_CONV_PARAMS_INIT;
      if (kind == 2)
        p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
      out = af_conv (g, af_input (g, "x", 4, xs), af_weight (g, "w", 4, ws, w), NULL, &p);
    }
    af_graph_add_output (g, "y", out);
    AfModel *m = compile_or_die (g);
    const float *ins[] = { x };
    float *outs[] = { y };
    g_assert_true (af_model_run (m, ins, outs, NULL));
    for (int o = 0; o < o_n; o++)
      g_assert_cmpfloat (y[o * side * side + side * side / 2], ==, want);
    g_free (w);
    g_free (x);
    g_free (y);
    af_model_free (m);
    af_graph_free (g);
  }
}

/* The bias is added to the fp32 accumulator, then rounded once: with x = 1,
 * channel o's weights sum to 2049 + 2 (o % 8) (256 taps of 8, one odd tap)
 * and its bias is -2048, so y = 1 + 2 (o % 8) exactly. An accumulator
 * rounded to fp16 first (2049 -> 2048, 2051 -> 2052: spacing 2) gives 0, 4,
 * 4, 8, ... Linear (one row and a 5-row GEMM tile), 1x1 conv (GEMM) and 3x3
 * conv, with and without a fused relu, 20 channels and 35 or 63 pixels
 * (vector tails). */
static void
test_bias_after_fp32_accumulation (void)
{
  enum { O = 20, K = 288 };
  for (int kind = 0; kind < 8; kind++) {
    int shape_kind = kind / 2; /* linear M=1, linear M=5, 1x1 conv, 3x3 conv */
    gboolean relu = kind % 2;
    AfGraph *g = af_graph_new ("bias");
    g_autofree float *w = g_new0 (float, O *K), *b = g_new (float, O);
    for (int o = 0; o < O; o++) {
      for (int k = 0; k < 256; k++)
        w[o * K + k] = 8.0f;
      w[o * K + 256] = 1.0f + 2.0f * (o % 8);
      b[o] = -2048.0f;
    }
    gint64 bs[] = { O }, n_pix = shape_kind == 2 ? 63 : shape_kind == 3 ? 35 : 1;
    gint64 rows = shape_kind == 1 ? 5 : 1;
    AfTensor *y, *bias = af_weight (g, "b", 1, bs, b);
    if (shape_kind < 2) {
      gint64 xs[] = { rows, K }, ws[] = { O, K };
      y = af_linear (g, af_input (g, "x", 2, xs), af_weight (g, "w", 2, ws, w), bias);
    } else {
      gboolean k3 = shape_kind == 3;
      gint64 xs[] = { 1, k3 ? K / 9 : K, 9, 7 },
             ws[] = { O, k3 ? K / 9 : K, k3 ? 3 : 1, k3 ? 3 : 1 };
      y = af_conv (g, af_input (g, "x", 4, xs), af_weight (g, "w", 4, ws, w), bias, NULL);
    }
    af_graph_add_output (g, "y", relu ? af_relu (g, y) : y);
    AfModel *m = compile_or_die (g);
    gint64 n_x = shape_kind < 2 ? rows * K : K * 63;
    g_autofree float *x = g_new (float, n_x), *out = g_new (float, O *n_pix *rows);
    for (gint64 i = 0; i < n_x; i++)
      x[i] = 1.0f;
    const float *ins[] = { x };
    float *outs[] = { out };
    g_assert_true (af_model_run (m, ins, outs, NULL));
    for (gint64 r = 0; r < rows; r++)
      for (int o = 0; o < O; o++)
        for (gint64 p = 0; p < n_pix; p++) {
          float got = out[shape_kind < 2 ? r * O + o : o * n_pix + p];
          if (got != 1.0f + 2.0f * (o % 8))
            g_error ("kind %d, channel %d, pixel %" G_GINT64_FORMAT ": %g, want %g", kind, o, p,
                     got, 1.0f + 2.0f * (o % 8));
        }
    af_model_free (m);
    af_graph_free (g);
  }
}

/* fp32 inputs are rounded to fp16 at the I/O cast: 1.0001 -> 1, 0.1 -> 0.0999755859375,
 * 70000 -> inf (above fp16's 65504). */
static void
test_io_cast (void)
{
  AfGraph *g = af_graph_new ("cast");
  gint64 shape[] = { 1, 4 };
  AfTensor *x = af_input (g, "x", 2, shape);
  af_graph_add_output (g, "y", af_relu (g, x));
  AfModel *m = compile_or_die (g);
  float in[] = { 1.0001f, 0.1f, 70000.0f, 65504.0f }, out[4];
  const float *ins[] = { in };
  float *outs[] = { out };
  g_assert_true (af_model_run (m, ins, outs, NULL));
  g_assert_cmpfloat (out[0], ==, 1.0f);
  g_assert_cmpfloat (out[1], ==, 0.0999755859375f);
  g_assert_true (isinf (out[2]));
  g_assert_cmpfloat (out[3], ==, 65504.0f);
  af_model_free (m);
  af_graph_free (g);
}

/* Op boundaries round to fp16: x*3 then /3 of 0.1 is computed on the rounded product. */
static void
test_boundary_rounding (void)
{
  AfGraph *g = af_graph_new ("boundary");
  gint64 shape[] = { 1, 1 };
  float three = 3.0f;
  AfTensor *x = af_input (g, "x", 2, shape);
  AfTensor *c = af_weight (g, "three", 2, shape, &three);
  af_graph_add_output (g, "y", af_div (g, af_mul (g, x, c), c));
  AfModel *m = compile_or_die (g);
  float in = 0.1f, out = 0;
  const float *ins[] = { &in };
  float *outs[] = { &out };
  g_assert_true (af_model_run (m, ins, outs, NULL));
  float xh = af_fp16_to_f32 (af_f32_to_fp16 (0.1f));
  float prod = af_fp16_to_f32 (af_f32_to_fp16 (xh * 3.0f));
  float want = af_fp16_to_f32 (af_f32_to_fp16 (prod / 3.0f));
  g_assert_cmpfloat (out, ==, want);
  af_model_free (m);
  af_graph_free (g);
}

/* The image port computes x * scale + bias per channel from uint8 pixels. */
static void
test_image_port (void)
{
  AfGraph *g = af_graph_new ("port");
  gint64 shape[] = { 1, 3, 1, 2 };
  float scale[] = { 1.0f / 255, 2.0f, -1.0f }, bias[] = { 0.0f, -1.0f, 255.0f };
  AfTensor *x = af_image_input (g, "image", shape, AF_PIXEL_RGB, 3, scale, 3, bias);
  af_graph_add_output (g, "y", af_relu (g, x));
  AfModel *m = compile_or_die (g);
  AfDType dt;
  guint8 *px = af_model_input_view (m, 0, &dt);
  g_assert_cmpint (dt, ==, AF_DTYPE_U8);
  guint8 pixels[] = { 255, 0, 10, 20, 100, 200 };
  for (int i = 0; i < 6; i++)
    px[i] = pixels[i];
  g_assert_true (af_model_execute (m, NULL));
  const guint16 *y = af_model_output_view (m, 0);
  for (int i = 0; i < 6; i++) {
    int c = i / 2;
    float want = af_fp16_to_f32 (af_f32_to_fp16 (pixels[i] * scale[c] + bias[c]));
    g_assert_cmpfloat (af_fp16_to_f32 (y[i]), ==, MAX (want, 0.0f));
  }
  af_model_free (m);
  af_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/numerics/sum-of-ones", test_sum_of_ones);
  g_test_add_func ("/numerics/dot-of-ones", test_dot_of_ones);
  g_test_add_func ("/numerics/plus-one-linear", test_plus_one_linear);
  g_test_add_func ("/numerics/plus-one-conv", test_plus_one_conv);
  g_test_add_func ("/numerics/bias-after-fp32-accumulation", test_bias_after_fp32_accumulation);
  g_test_add_func ("/numerics/io-cast", test_io_cast);
  g_test_add_func ("/numerics/weights-are-fp16", test_weights_are_fp16);
  g_test_add_func ("/numerics/boundary-rounding", test_boundary_rounding);
  g_test_add_func ("/numerics/image-port", test_image_port);
  return g_test_run ();
}
