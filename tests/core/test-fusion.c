/* test-fusion.c — the fuse pass changes no bit: graphs with residual adds
 * (conv + bias, batch_norm, linear, binary producers) compiled with fusion
 * and with AF_NO_FUSE=1 give identical fp16 outputs on 1 and 2 threads;
 * adds that must not fuse are left alone; AF_PROFILE prints its table. */
#include "runtime.h"
#include "fixtures.h"

#include <math.h>
#include <string.h>

static int uid;

static AfTensor *
conv (AfGraph *g, AfTensor *x, int cin, int cout, int k, int stride, gboolean bias)
{
  gint64 ws[] = { cout, cin, k, k }, bs[] = { cout };
  char wn[32], bn[32];
  g_snprintf (wn, sizeof wn, "w%d", uid);
  g_snprintf (bn, sizeof bn, "b%d", uid++);
  AfConvParams p = AF_CONV_PARAMS_INIT;
  p.stride[0] = p.stride[1] = stride;
  p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = k / 2;
  return af_conv (g, x, random_weight (g, wn, 4, ws), bias ? random_weight (g, bn, 1, bs) : NULL,
                  &p);
}

static AfTensor *
bn (AfGraph *g, AfTensor *x, int c)
{
  gint64 s[] = { c };
  char n[4][32];
  for (int i = 0; i < 4; i++)
    g_snprintf (n[i], sizeof n[i], "bn%d.%d", uid, i);
  uid++;
  g_autofree float *var = random_floats (c);
  for (int i = 0; i < c; i++)
    var[i] = var[i] * var[i] + 0.1f;
  return af_batch_norm (g, x, random_weight (g, n[0], 1, s), random_weight (g, n[1], 1, s),
                        random_weight (g, n[2], 1, s), af_weight (g, n[3], 1, s, var), 1e-5f);
}

/* A small ResNet stage: conv+bias blocks with identity and downsample
 * residuals, a batch_norm block, a binary-producer residual, a linear head
 * with a residual. */
static AfGraph *
residual_net (void)
{
  AfGraph *g = af_graph_new ("residual");
  gint64 xs[] = { 1, 3, 23, 19 }, flat[] = { 1, 16 }, fw[] = { 16, 16 }, fb[] = { 16 };
  float scale = 1.0f / 64, bias = -2;
  AfTensor *x = af_image_input (g, "image", xs, AF_PIXEL_RGB, 1, &scale, 1, &bias);
  AfTensor *y = af_relu (g, conv (g, x, 3, 8, 3, 1, TRUE));
  /* identity block */
  AfTensor *h = af_relu (g, conv (g, y, 8, 8, 3, 1, TRUE));
  y = af_relu (g, af_add (g, conv (g, h, 8, 8, 3, 1, TRUE), y));
  /* downsample block: the shortcut conv comes after the main branch in
   * builder order, so the add fuses into the shortcut conv */
  h = af_relu (g, conv (g, y, 8, 16, 3, 2, TRUE));
  h = conv (g, h, 16, 16, 3, 1, TRUE);
  y = af_relu6 (g, af_add (g, h, conv (g, y, 8, 16, 1, 2, TRUE)));
  /* batch_norm block (conv without bias) */
  h = af_relu (g, bn (g, conv (g, y, 16, 16, 3, 1, FALSE), 16));
  y = af_relu (g, af_add (g, y, bn (g, conv (g, h, 16, 16, 3, 1, FALSE), 16)));
  /* a binary producer: (y * y) + y */
  y = af_add (g, af_mul (g, y, y), y);
  y = af_reshape (g, af_global_avg_pool (g, y), 2, flat);
  AfTensor *z = af_linear (g, y, random_weight (g, "fw", 2, fw), random_weight (g, "fb", 1, fb));
  af_graph_add_output (g, "out", af_sigmoid (g, af_add (g, z, y)));
  af_graph_add_output (g, "mid", h); /* a second output, read by later steps */
  return g;
}

/* Compiles @g with fusion on or off, runs it on fixed pixels, and returns
 * (transfer full) the concatenated fp16 outputs; @n_adds gets the number of
 * residual adds fused. */
static guint16 *
run (AfGraph *g, gboolean fuse, int threads, gsize *n_out, guint *n_adds)
{
  if (!fuse)
    g_setenv ("AF_NO_FUSE", "1", TRUE);
  AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
  o.threads = threads;
  GError *error = NULL;
  AfModel *m = af_compile (g, &o, &error);
  g_unsetenv ("AF_NO_FUSE");
  g_assert_no_error (error);
  *n_adds = 0;
  for (guint i = 0; i < m->plan->steps->len; i++) {
    AfStep *st = &g_array_index (m->plan->steps, AfStep, i);
    *n_adds += st->residual != NULL;
    if (!fuse)
      g_assert_cmpint (st->ep.n, ==, 0);
  }
  AfTensorInfo info;
  af_model_input_info (m, 0, &info);
  guint8 *px = af_model_input_view (m, 0, NULL);
  for (gint64 i = 0; i < af_shape_numel (info.rank, info.shape); i++)
    px[i] = (guint8) ((i * 131 + 7) % 256);
  g_assert_true (af_model_execute (m, NULL));
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint16));
  for (guint i = 0; i < af_model_n_outputs (m); i++) {
    af_model_output_info (m, i, &info);
    g_array_append_vals (out, af_model_output_view (m, i), af_shape_numel (info.rank, info.shape));
  }
  af_model_free (m);
  *n_out = out->len;
  return (guint16 *) g_array_free (out, FALSE);
}

/* Residual adds fuse into conv (identity and downsample shortcut),
 * batch_norm, mul and linear steps, and the fused program's outputs equal
 * the unfused program's bit for bit, on 1 and 2 threads. */
static void
test_residual_bit_exact (void)
{
  AfGraph *g = residual_net ();
  for (int threads = 1; threads <= 2; threads++) {
    gsize n_a, n_b;
    guint adds_on, adds_off;
    g_autofree guint16 *a = run (g, TRUE, threads, &n_a, &adds_on);
    g_autofree guint16 *b = run (g, FALSE, threads, &n_b, &adds_off);
    g_assert_cmpuint (adds_on, ==, 5);
    g_assert_cmpuint (adds_off, ==, 0);
    g_assert_cmpuint (n_a, ==, n_b);
    for (gsize i = 0; i < n_a; i++)
      if (a[i] != b[i])
        g_error ("threads %d: output element %" G_GSIZE_FORMAT ": fused 0x%04x, unfused 0x%04x",
                 threads, i, a[i], b[i]);
  }
  af_graph_free (g);
}

static float
round16 (double v)
{
  return af_fp16_to_f32 (af_f32_to_fp16 ((float) v));
}

/* relu (conv (x, w) + b + r) for a 3x3 (pad 1) and a 1x1 stride-2 conv on
 * inputs 16 + j / 8 and weights (8 + k) / 32 (exact fp32 sums in any
 * order) with biases near -17 times each channel's weight sum: fused (conv
 * + add + relu in one step) and unfused, on 1 and 2 threads, equal the
 * contract computed here bit for bit: round16 (round16 (sum + b) + r),
 * then relu. An accumulator rounded to fp16 before the bias fails it. */
static void
test_bias_residual_exact (void)
{
  enum { C = 40, O = 12, H = 9, W = 11 };
  for (int k = 1; k <= 3; k += 2) {
    int stride = k == 1 ? 2 : 1, ho = (H - 1) / stride + 1, wo = (W - 1) / stride + 1;
    gint64 xs[] = { 1, C, H, W }, ws[] = { O, C, k, k }, bs[] = { O }, rs[] = { 1, O, ho, wo };
    g_autofree float *x = g_new (float, C *H *W), *w = g_new (float, O *C *k *k);
    g_autofree float *b = g_new (float, O), *r = g_new (float, O *ho *wo);
    for (int i = 0; i < C * H * W; i++)
      x[i] = 16.0f + (float) ((i * 7 + 3) % 16) / 8;
    for (int o = 0; o < O; o++) {
      double sum = 0;
      for (int i = 0; i < C * k * k; i++)
        sum += w[o * C * k * k + i] = (float) (8 + (o * 5 + i * 3) % 8) / 32;
      b[o] = round16 (round (-16.94 * sum));
    }
    for (int i = 0; i < O * ho * wo; i++)
      r[i] = round16 ((double) ((i * 37) % 101 - 50) / 16);
    AfGraph *g = af_graph_new ("bias-residual");
    AfConvParams p = AF_CONV_PARAMS_INIT;
    p.stride[0] = p.stride[1] = stride;
    p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = k / 2;
    AfTensor *y = af_conv (g, af_input (g, "x", 4, xs), af_weight (g, "w", 4, ws, w),
                           af_weight (g, "b", 1, bs, b), &p);
    af_graph_add_output (g, "y", af_relu (g, af_add (g, y, af_input (g, "r", 4, rs))));
    for (int fuse = 0; fuse <= 1; fuse++)
      for (int threads = 1; threads <= 2; threads++) {
        if (!fuse)
          g_setenv ("AF_NO_FUSE", "1", TRUE);
        AfCompileOptions co = AF_COMPILE_OPTIONS_INIT;
        co.threads = threads;
        AfModel *m = af_compile (g, &co, NULL);
        g_unsetenv ("AF_NO_FUSE");
        g_assert_nonnull (m);
        g_assert_cmpuint (m->plan->steps->len, ==, fuse ? 1 : 3);
        g_autofree float *out = g_new (float, O *ho *wo);
        g_assert_true (
            af_model_run (m, (const float *const[]){ x, r }, (float *const[]){ out }, NULL));
        for (int o = 0; o < O; o++)
          for (int i = 0; i < ho; i++)
            for (int j = 0; j < wo; j++) {
              double sum = 0;
              for (int c = 0; c < C; c++)
                for (int u = 0; u < k; u++)
                  for (int v = 0; v < k; v++) {
                    int yy = i * stride + u - k / 2, xx = j * stride + v - k / 2;
                    if (yy >= 0 && yy < H && xx >= 0 && xx < W)
                      sum += (double) x[(c * H + yy) * W + xx] * w[((o * C + c) * k + u) * k + v];
                  }
              int at = (o * ho + i) * wo + j;
              float want = MAX (round16 (round16 (sum + b[o]) + r[at]), 0.0f);
              if (out[at] != want)
                g_error ("%dx%d conv, fuse %d, threads %d, element %d: %g, want %g", k, k, fuse,
                         threads, at, out[at], want);
            }
        af_model_free (m);
      }
    af_graph_free (g);
  }
}

/* An add whose operand has another user or is a graph output, or whose
 * residual is computed after the producer, or that broadcasts, stays a
 * step of its own. */
static void
test_residual_refused (void)
{
  AfGraph *g = af_graph_new ("refused");
  gint64 xs[] = { 1, 4, 9, 9 }, cs[] = { 1, 4, 1, 1 };
  AfTensor *x = af_input (g, "x", 4, xs);
  AfTensor *c = conv (g, x, 4, 4, 3, 1, TRUE);
  AfTensor *two_users = af_add (g, c, x); /* c is also read below */
  AfTensor *d = af_add (g, c, two_users);
  AfTensor *bc = af_add (g, conv (g, d, 4, 4, 1, 1, TRUE), af_input (g, "s", 4, cs)); /* bcast */
  af_graph_add_output (g, "y", bc);
  AfModel *m = af_compile (g, NULL, NULL);
  g_assert_nonnull (m);
  guint n_adds = 0;
  for (guint i = 0; i < m->plan->steps->len; i++)
    n_adds += g_array_index (m->plan->steps, AfStep, i).residual != NULL;
  /* two_users into the add d (a binary step with one user): 1 fused; the
   * conv outputs are read twice or broadcast */
  g_assert_cmpuint (n_adds, ==, 1);
  af_model_free (m);
  af_graph_free (g);
}

/* A residual computed by a step after the producer's (a pool declared
 * after the conv) is not fused into that producer: the fused and unfused
 * programs agree on the very first frame, and the add stays a step. */
static void
test_residual_not_ready (void)
{
  AfGraph *g = af_graph_new ("late-residual");
  gint64 xs[] = { 1, 3, 8, 8 };
  AfTensor *a = af_input (g, "a", 4, xs), *b = af_input (g, "b", 4, xs);
  AfTensor *c = conv (g, a, 3, 3, 3, 1, TRUE);
  AfPoolParams p = { { 1, 1 }, { 1, 1 }, { 0, 0, 0, 0 }, FALSE, FALSE };
  af_graph_add_output (g, "y", af_add (g, c, af_max_pool (g, b, &p)));
  guint16 outs[2][3 * 64];
  for (int fuse = 0; fuse <= 1; fuse++) {
    if (!fuse)
      g_setenv ("AF_NO_FUSE", "1", TRUE);
    AfModel *m = af_compile (g, NULL, NULL);
    g_unsetenv ("AF_NO_FUSE");
    g_assert_nonnull (m);
    g_assert_cmpuint (m->plan->steps->len, ==, 3); /* conv, pool, add */
    for (guint k = 0; k < 2; k++) {
      guint16 *h = af_model_input_view (m, k, NULL);
      for (int i = 0; i < 3 * 64; i++)
        h[i] = af_f32_to_fp16 ((float) ((i + 5 * k) % 13) / 7.0f - 1.0f);
    }
    g_assert_true (af_model_execute (m, NULL));
    memcpy (outs[fuse], af_model_output_view (m, 0), sizeof outs[fuse]);
    af_model_free (m);
  }
  g_assert_cmpmem (outs[0], sizeof outs[0], outs[1], sizeof outs[1]);
  af_graph_free (g);
}

/* AF_PROFILE=1 prints a per-step table with the slowest steps when the
 * model is freed: time, share, GFLOP/s and % of the FMA peak, measured (the
 * vector unit named) or given by AF_PROFILE_PEAK (a malformed one said and
 * measured instead). */
static void
profile_run (const char *peak)
{
  g_setenv ("AF_PROFILE", "1", TRUE);
  if (peak)
    g_setenv ("AF_PROFILE_PEAK", peak, TRUE);
  else
    g_unsetenv ("AF_PROFILE_PEAK");
  AfGraph *g = residual_net ();
  AfModel *m = af_compile (g, NULL, NULL);
  for (int i = 0; i < 3; i++)
    af_model_execute (m, NULL);
  af_model_free (m);
  af_graph_free (g);
}

static void
test_profile (void)
{
  if (g_test_subprocess ()) {
    const char *peaks[] = { NULL, "1234.5", "-3" };
    profile_run (peaks[g_ascii_strtoll (g_getenv ("AF_TEST_PEAK_CASE"), NULL, 10)]);
    return;
  }
  if (g_getenv ("AF_TEST_EMULATED")) {
    g_test_skip ("emulated: under qemu-user a child AArch64 process needs binfmt_misc");
    return;
  }
  const char *want[] = {
    "*AF_PROFILE residual: 3 run(s)*FMA peak * GFLOP/s (*)*GFLOP/s*% peak*conv+add+relu*",
    "*AF_PROFILE residual: 3 run(s)*FMA peak 1234.5 GFLOP/s (AF_PROFILE_PEAK)*% peak*",
    "*AF_PROFILE_PEAK=\"-3\" is not a positive number*FMA peak * GFLOP/s (*)*",
  };
  for (int c = 0; c < 3; c++) {
    char n[2] = { (char) ('0' + c), 0 };
    g_setenv ("AF_TEST_PEAK_CASE", n, TRUE);
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed ();
    g_test_trap_assert_stderr (want[c]);
  }
  g_unsetenv ("AF_TEST_PEAK_CASE");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fusion/residual-bit-exact", test_residual_bit_exact);
  g_test_add_func ("/fusion/bias-residual-exact", test_bias_residual_exact);
  g_test_add_func ("/fusion/residual-refused", test_residual_refused);
  g_test_add_func ("/fusion/residual-not-ready", test_residual_not_ready);
  g_test_add_func ("/fusion/profile", test_profile);
  return g_test_run ();
}
