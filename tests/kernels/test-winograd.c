/* test-winograd.c — the CPU conv's Winograd F(2x2, 3x3) path: its selection
 * rule, its error against the naive fp32 conv over many random cases with
 * realistic magnitudes, epilogues and residuals, and bit-identical results
 * on the AVX-512, AVX2 and portable paths, inline and on 2 threads. */
#include "backends/cpu/kernels.h"
#include "backends/cpu/simd.h"
#include "backends/cpu/winograd.h"

#include <math.h>
#include <string.h>

static guint32 seed;
static GRand *rng;
static AfPool *pool2;

static float
r16 (float x)
{
  return af_fp16_to_f32 (af_f32_to_fp16 (x));
}

/* A random fp16-exact value in [-a, a]. */
static float
rnd (float a)
{
  return r16 ((float) g_rand_double_range (rng, -a, a));
}

/* Distance in fp16 steps between two finite halves. */
static int
ulps (guint16 a, guint16 b)
{
  int ia = a & 0x8000 ? -(int) (a & 0x7fff) : (int) a;
  int ib = b & 0x8000 ? -(int) (b & 0x7fff) : (int) b;
  return ABS (ia - ib);
}

typedef struct {
  AfConvDesc d;
  guint16 *in, *res;
  float *w, *b;
  float *want; /* naive fp32 sums + bias, fp16-rounded, epilogue applied */
  float *mag;  /* sum of |x * w| per output (the sums' scale) */
  float *pre;  /* the naive fp32 sums + bias, unrounded */
  gsize n_out;
} Case;

/* A random eligible shape: c_in 32..95, c_out 32..69, 4..19 output rows
 * and columns (or c_in 128..319 with 4..10), pads 0..2 per side; activations in [-1, 1], He-scaled
 * weights, biases in [-0.5, 0.5]. */
static void
case_new (Case *c, const AfCpuEpilogue *ep)
{
  AfConvDesc *d = &c->d;
  memset (c, 0, sizeof *c);
  gboolean deep = g_rand_int_range (rng, 0, 5) == 0; /* 1 in 5: c_in 128..319, smaller images */
  d->c_in = deep ? g_rand_int_range (rng, 128, 320) : g_rand_int_range (rng, 32, 96);
  d->c_out = g_rand_int_range (rng, 32, 70);
  d->kh = d->kw = 3;
  d->stride[0] = d->stride[1] = d->dilation[0] = d->dilation[1] = d->groups = 1;
  for (int p = 0; p < 4; p++)
    d->pad[p] = g_rand_int_range (rng, 0, 3);
  d->h_out = g_rand_int_range (rng, 4, deep ? 11 : 20);
  d->w_out = g_rand_int_range (rng, 4, deep ? 11 : 20);
  d->h_in = d->h_out + 2 - d->pad[0] - d->pad[2];
  d->w_in = d->w_out + 2 - d->pad[1] - d->pad[3];
  if (d->h_in < 1 || d->w_in < 1)
    return case_new (c, ep);
  gsize n_in = d->c_in * d->h_in * d->w_in, n_w = d->c_out * d->c_in * 9;
  c->n_out = d->c_out * d->h_out * d->w_out;
  c->in = g_new (guint16, n_in);
  c->res = g_new (guint16, c->n_out);
  c->w = g_new (float, n_w);
  c->b = g_new (float, d->c_out);
  c->want = g_new (float, c->n_out);
  c->mag = g_new (float, c->n_out);
  c->pre = g_new (float, c->n_out);
  for (gsize i = 0; i < n_in; i++)
    c->in[i] = af_f32_to_fp16 (rnd (1.0f));
  for (gsize i = 0; i < c->n_out; i++)
    c->res[i] = af_f32_to_fp16 (rnd (2.0f));
  float wa = (float) sqrt (6.0 / (9.0 * d->c_in));
  for (gsize i = 0; i < n_w; i++)
    c->w[i] = rnd (wa);
  for (gint64 i = 0; i < d->c_out; i++)
    c->b[i] = rnd (0.5f);
  for (gint64 co = 0; co < d->c_out; co++)
    for (gint64 oy = 0; oy < d->h_out; oy++)
      for (gint64 ox = 0; ox < d->w_out; ox++) {
        float acc = 0, mag = 0;
        for (gint64 ci = 0; ci < d->c_in; ci++)
          for (gint64 ky = 0; ky < 3; ky++)
            for (gint64 kx = 0; kx < 3; kx++) {
              gint64 iy = oy - d->pad[0] + ky, ix = ox - d->pad[1] + kx;
              if (iy < 0 || iy >= d->h_in || ix < 0 || ix >= d->w_in)
                continue;
              float x = af_fp16_to_f32 (c->in[(ci * d->h_in + iy) * d->w_in + ix]);
              acc += x * c->w[((co * d->c_in + ci) * 3 + ky) * 3 + kx];
              mag += fabsf (x * c->w[((co * d->c_in + ci) * 3 + ky) * 3 + kx]);
            }
        gsize o = (co * d->h_out + oy) * d->w_out + ox;
        c->want[o] =
            af_cpu_epilogue_apply_res (ep, r16 (acc + c->b[co]), af_fp16_to_f32 (c->res[o]));
        c->mag[o] = mag;
        c->pre[o] = acc + c->b[co];
      }
}

static void
case_free (Case *c)
{
  g_free (c->in);
  g_free (c->res);
  g_free (c->w);
  g_free (c->b);
  g_free (c->want);
  g_free (c->mag);
  g_free (c->pre);
}

static guint16 *
case_run (const Case *c, const AfCpuEpilogue *ep, AfPool *pool)
{
  AfConvKernel *k = af_cpu_conv_new (&c->d, c->w, c->b, ep);
  guint8 *scratch = g_aligned_alloc (2, af_cpu_conv_scratch_size (k), 64);
  guint16 *out = g_new (guint16, c->n_out);
  for (gsize i = 0; i < c->n_out; i++)
    out[i] = 0x7fff; /* NaN: an unwritten element fails */
  af_cpu_conv_run_res (k, c->in, af_cpu_epilogue_has_residual (ep) ? c->res : NULL, out, scratch,
                       pool);
  af_cpu_conv_free (k);
  g_aligned_free (scratch);
  return out;
}

/* The rule is deterministic from the shapes: 3x3, stride 1, dilation 1,
 * groups 1, c_in and c_out >= 32, an output of at least 4x4. */
static void
test_selection (void)
{
  AfConvDesc d = { .c_in = 64,
                   .h_in = 8,
                   .w_in = 8,
                   .c_out = 64,
                   .h_out = 8,
                   .w_out = 8,
                   .kh = 3,
                   .kw = 3,
                   .stride = { 1, 1 },
                   .pad = { 1, 1, 1, 1 },
                   .dilation = { 1, 1 },
                   .groups = 1 };
  g_assert_true (af__wino_eligible (&d));
  AfConvDesc e = d;
  e.c_in = 31;
  g_assert_false (af__wino_eligible (&e));
  e = d;
  e.c_out = 16;
  g_assert_false (af__wino_eligible (&e));
  e = d;
  e.stride[1] = 2;
  g_assert_false (af__wino_eligible (&e));
  e = d;
  e.dilation[0] = 2;
  g_assert_false (af__wino_eligible (&e));
  e = d;
  e.groups = 2;
  g_assert_false (af__wino_eligible (&e));
  e = d;
  e.kw = 1;
  g_assert_false (af__wino_eligible (&e));
  e = d;
  e.h_out = 3;
  g_assert_false (af__wino_eligible (&e));
  af__wino_force (0);
  g_assert_false (af__wino_eligible (&d));
  af__wino_force (1);
  g_assert_true (af__wino_eligible (&d));
}

/* Over 60 random cases every output is within 2 fp16 ulps of the naive
 * fp32 conv, or within 2^-24 * 8 * (sum of |x * w|) + half an fp16 ulp of
 * it (outputs near zero, where fp16 ulps are far below the fp32 rounding of
 * the sums); 99.9 % are within 2 ulps, none above 2^-10 is more than 4 ulps
 * off; the direct conv gives other bits somewhere (the Winograd path ran);
 * a fused ReLU and a residual ADD + ReLU are applied exactly to the
 * Winograd sums. */
static void
test_error (void)
{
  static const AfCpuEpilogue none = { 0 }, relu = { .n = 1, .op = { AF_OP_RELU } },
                             add_relu = { .n = 2, .op = { AF_OP_ADD, AF_OP_RELU } };
  gsize total = 0, within2 = 0, differs = 0;
  int worst = 0, worst_big = 0;
  double worst_rel = 0, worst_rel_far = 0;
  for (int it = 0; it < 60; it++) {
    Case c;
    case_new (&c, &none);
    g_assert_true (af__wino_eligible (&c.d));
    guint16 *got = case_run (&c, &none, it % 2 ? pool2 : NULL);
    guint16 *got_relu = case_run (&c, &relu, NULL), *got_add = case_run (&c, &add_relu, NULL);
    af__wino_force (0);
    guint16 *direct = case_run (&c, &none, NULL);
    af__wino_force (1);
    for (gsize i = 0; i < c.n_out; i++) {
      guint16 want = af_f32_to_fp16 (c.want[i]);
      int u = ulps (got[i], want);
      float g = af_fp16_to_f32 (got[i]);
      g_assert_cmpint (ulps (direct[i], want), ==, 0);
      g_assert_cmphex (got_relu[i], ==, af_f32_to_fp16 (af_cpu_epilogue_apply (&relu, g)));
      g_assert_cmphex (
          got_add[i], ==,
          af_f32_to_fp16 (af_cpu_epilogue_apply_res (&add_relu, g, af_fp16_to_f32 (c.res[i]))));
      differs += got[i] != direct[i];
      total++;
      within2 += u <= 2;
      worst = MAX (worst, u);
      if (fabsf (c.want[i]) >= 1.0f / 1024)
        worst_big = MAX (worst_big, u);
      /* the error before the fp16 rounding: at least |g - pre| - half an ulp */
      guint16 top = af_f32_to_fp16 (MAX (fabsf (g), fabsf (c.pre[i])));
      float half_ulp = (af_fp16_to_f32 (top + 1) - af_fp16_to_f32 (top)) / 2;
      double rel = (fabsf (g - c.pre[i]) - half_ulp) / (ldexp (1.0, -24) * c.mag[i]);
      worst_rel = MAX (worst_rel, rel);
      if (u > 2)
        worst_rel_far = MAX (worst_rel_far, rel);
      if (u > 2 && rel > 8)
        g_error ("case %d element %" G_GSIZE_FORMAT ": got %g want %g (%d ulps, %.2f x 2^-24 "
                 "x sum |x w|; seed %u)",
                 it, i, g, c.want[i], u, rel, seed);
    }
    g_free (got);
    g_free (got_relu);
    g_free (got_add);
    g_free (direct);
    case_free (&c);
  }
  g_printerr (
      "# winograd error: %" G_GSIZE_FORMAT " outputs, %.4f %% within 2 ulps, max %d ulps "
      "(%d above 2^-10), max excess %.2f (%.2f past 2 ulps) x 2^-24 x sum |x w|, %" G_GSIZE_FORMAT
      " differ from the direct conv\n",
      total, 100.0 * within2 / total, worst, worst_big, worst_rel, worst_rel_far, differs);
  g_assert_cmpfloat ((double) within2 / total, >=, 0.999);
  g_assert_cmpint (worst_big, <=, 4);
  g_assert_cmpuint (differs, >, 0);
}

/* The AVX-512, AVX2 and portable bodies, inline and on 2 threads, give the
 * same bits (odd sizes, several tile blocks, c_out not a multiple of 12,
 * residual ADD, deep c_in). */
static void
test_paths_identical (void)
{
  static const AfConvDesc descs[] = {
    { .c_in = 64, .h_in = 14, .w_in = 14, .c_out = 64, .h_out = 14, .w_out = 14 },
    { .c_in = 33, .h_in = 23, .w_in = 17, .c_out = 47, .h_out = 23, .w_out = 17 },
    { .c_in = 40, .h_in = 57, .w_in = 9, .c_out = 38, .h_out = 55, .w_out = 7 },
    { .c_in = 300, .h_in = 7, .w_in = 7, .c_out = 40, .h_out = 7, .w_out = 7 },
  };
  AfCpuEpilogue ep = { .n = 2, .op = { AF_OP_ADD, AF_OP_RELU } };
  for (guint i = 0; i < G_N_ELEMENTS (descs); i++) {
    AfConvDesc d = descs[i];
    d.kh = d.kw = 3;
    d.stride[0] = d.stride[1] = d.dilation[0] = d.dilation[1] = d.groups = 1;
    gint64 p = d.h_out == d.h_in ? 1 : 0;
    d.pad[0] = d.pad[1] = d.pad[2] = d.pad[3] = p;
    g_assert_true (af__wino_eligible (&d));
    gsize n_in = d.c_in * d.h_in * d.w_in, n_out = d.c_out * d.h_out * d.w_out;
    guint16 *in = g_new (guint16, n_in), *res = g_new (guint16, n_out);
    float *w = g_new (float, d.c_out *d.c_in * 9), *b = g_new (float, d.c_out);
    for (gsize j = 0; j < n_in; j++)
      in[j] = af_f32_to_fp16 (rnd (1.0f));
    for (gsize j = 0; j < n_out; j++)
      res[j] = af_f32_to_fp16 (rnd (1.0f));
    for (gint64 j = 0; j < d.c_out * d.c_in * 9; j++)
      w[j] = rnd (0.2f);
    for (gint64 j = 0; j < d.c_out; j++)
      b[j] = rnd (0.5f);
    AfConvKernel *k = af_cpu_conv_new (&d, w, b, &ep);
    guint8 *scratch = g_aligned_alloc (2, af_cpu_conv_scratch_size (k), 64);
    guint16 *first = g_new (guint16, n_out), *out = g_new (guint16, n_out);
    int p0 = af__cpu_first_path ();
    for (int path = p0; path < 3; path++)
      for (int t = 0; t < 2; t++) {
        af__cpu_force_portable (path == 2);
        af__cpu_force_no_avx512 (path != 0);
        guint16 *o = path == p0 && t == 0 ? first : out;
        for (gsize j = 0; j < n_out; j++)
          o[j] = 0x7fff;
        af_cpu_conv_run_res (k, in, res, o, scratch, t ? pool2 : NULL);
        if (o == first)
          continue;
        for (gsize j = 0; j < n_out; j++)
          if (out[j] != first[j])
            g_error ("desc %u path %d threads %d element %" G_GSIZE_FORMAT ": %04x != %04x", i,
                     path, t + 1, j, out[j], first[j]);
      }
    af__cpu_force_portable (FALSE);
    af__cpu_force_no_avx512 (FALSE);
    af_cpu_conv_free (k);
    g_aligned_free (scratch);
    g_free (in);
    g_free (res);
    g_free (w);
    g_free (b);
    g_free (first);
    g_free (out);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  af__wino_force (1); /* the path is opt-in; these tests are about it */
  const char *s = g_getenv ("AF_TEST_SEED");
  seed = s ? (guint32) g_ascii_strtoull (s, NULL, 10) : (guint32) g_random_int ();
  g_printerr ("# seed %u (AF_TEST_SEED to replay)\n", seed);
  rng = g_rand_new_with_seed (seed);
  pool2 = af_pool_new (2);
  g_test_add_func ("/kernels/winograd/selection", test_selection);
  g_test_add_func ("/kernels/winograd/error", test_error);
  g_test_add_func ("/kernels/winograd/paths-identical", test_paths_identical);
  int rc = g_test_run ();
  af_pool_free (pool2);
  g_rand_free (rng);
  return rc;
}
