/* test-kernels.c — the CPU backend's fast kernels (conv, linear, pool2d,
 * epilogues) against naive references written here, on fixed odd shapes and
 * random ones, on the AVX2 and the portable path, inline and on 2 threads. */
#include "backends/cpu/dirconv.h"
#include "backends/cpu/eltwise.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/peak.h"
#include "backends/cpu/cpu.h"
#include "backends/cpu/simd.h"
#include "backends/cpu/winograd.h"

#include <math.h>
#include <string.h>

static guint32 seed;
static GRand *rng;
static AfPool *pool2;

/* ------------------------------------------------------------ helpers */

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

static guint16 *
rnd_h (gsize n, float a)
{
  guint16 *h = g_new (guint16, n ? n : 1);
  for (gsize i = 0; i < n; i++)
    h[i] = af_f32_to_fp16 (rnd (a));
  return h;
}

static float *
rnd_f (gsize n, float a)
{
  float *f = g_new (float, n ? n : 1);
  for (gsize i = 0; i < n; i++)
    f[i] = rnd (a);
  return f;
}

/* Distance in fp16 steps between two halves (NaN == NaN). */
static int
ulps (guint16 a, guint16 b)
{
  gboolean na = (a & 0x7fff) > 0x7c00, nb = (b & 0x7fff) > 0x7c00;
  if (na || nb)
    return na && nb ? 0 : 1 << 20;
  int ia = a & 0x8000 ? -(int) (a & 0x7fff) : (int) a;
  int ib = b & 0x8000 ? -(int) (b & 0x7fff) : (int) b;
  return ABS (ia - ib);
}

/* Fails unless @got matches @want within 2 fp16 ulps (only the fp32
 * summation order may differ). */
static void
expect_close (const char *what, const guint16 *got, const float *want, gsize n)
{
  int worst = 0;
  for (gsize i = 0; i < n; i++) {
    int u = ulps (got[i], af_f32_to_fp16 (want[i]));
    if (u > 2)
      g_error ("%s: element %" G_GSIZE_FORMAT ": got %g want %g (%d ulps; seed %u)", what, i,
               af_fp16_to_f32 (got[i]), want[i], u, seed);
    worst = MAX (worst, u);
  }
  g_test_message ("%s: max %d ulps", what, worst);
}

static guint8 *
scratch_new (gsize per_thread)
{
  return g_aligned_alloc (2, per_thread, 64);
}

/* Runs @fn once per (path, threads) combination: AVX2 (when the CPU has it)
 * and portable, inline and on a 2-thread pool. */
typedef void (*RunFn) (void *ctx, AfPool *pool, const char *label);

/* Runs @fn on every path this CPU has (0: AVX-512 conv microkernel, 1:
 * AVX2 or NEON, 2: portable C), inline and on 2 threads. */
static void
each_config (RunFn fn, void *ctx)
{
  static const char *names[] = { "avx512", "simd", "portable" };
  int first = af__cpu_first_path ();
  for (int path = first; path < 3; path++)
    for (int t = 0; t < 2; t++) {
      af__cpu_force_portable (path == 2);
      af__cpu_force_no_avx512 (path != 0);
      char label[64];
      g_snprintf (label, sizeof label, "%s/%d-thread", names[path], t + 1);
      fn (ctx, t ? pool2 : NULL, label);
    }
  af__cpu_force_portable (FALSE);
  af__cpu_force_no_avx512 (FALSE);
}

/* ------------------------------------------------------------ epilogue */

static float
ep_ref (AfOp op, float x, float lo, float hi)
{
  switch (op) {
  case AF_OP_RELU:
    return x > 0 ? x : 0;
  case AF_OP_RELU6:
    return x > 6 ? 6 : x > 0 ? x : 0;
  case AF_OP_CLIP:
    return x < lo ? lo : x > hi ? hi : x;
  case AF_OP_SIGMOID:
    return (float) (1.0 / (1.0 + exp (-(double) x)));
  case AF_OP_TANH:
    return (float) tanh (x);
  case AF_OP_SILU:
    return (float) (x / (1.0 + exp (-(double) x)));
  case AF_OP_GELU:
    return (float) (0.5 * x * (1.0 + erf (x / sqrt (2.0))));
  case AF_OP_EXP:
    return (float) exp (x);
  default:
    g_assert_not_reached ();
  }
}

/* Each activation, applied to every finite half, matches its textbook formula
 * (computed in double) within 1 fp16 ulp, exactly for the piecewise ones. */
static void
test_epilogue_ops (void)
{
  static const AfOp ops[] = { AF_OP_RELU, AF_OP_RELU6, AF_OP_CLIP, AF_OP_SIGMOID,
                              AF_OP_TANH, AF_OP_SILU,  AF_OP_GELU, AF_OP_EXP };
  for (guint o = 0; o < G_N_ELEMENTS (ops); o++) {
    AfCpuEpilogue ep = { 1, { ops[o] }, { -0.3f }, { 2.5f } };
    int tol = o < 3 ? 0 : 1;
    for (guint32 h = 0; h < 65536; h++) {
      if ((h & 0x7fff) >= 0x7c00)
        continue;
      float x = af_fp16_to_f32 ((guint16) h);
      guint16 got = af_f32_to_fp16 (af_cpu_epilogue_apply (&ep, x));
      guint16 want = af_f32_to_fp16 (ep_ref (ops[o], x, -0.3f, 2.5f));
      if (ulps (got, want) > tol)
        g_error ("op %d x=%g: got %g want %g", ops[o], x, af_fp16_to_f32 (got),
                 af_fp16_to_f32 (want));
    }
  }
}

/* A chain rounds to fp16 after every op: exp(exp(x)) is computed from the
 * rounded inner result, and relu6 after clip sees the clipped value. */
static void
test_epilogue_chain (void)
{
  AfCpuEpilogue ep = { 2, { AF_OP_EXP, AF_OP_EXP } };
  float x = 0.7f;
  float want = r16 (expf (r16 (expf (x))));
  g_assert_cmpfloat (af_cpu_epilogue_apply (&ep, x), ==, want);
  AfCpuEpilogue ep2 = { 2, { AF_OP_CLIP, AF_OP_RELU6 }, { -1.0f, 0 }, { 100.0f, 0 } };
  g_assert_cmpfloat (af_cpu_epilogue_apply (&ep2, 50.0f), ==, 6.0f);
  g_assert_cmpfloat (af_cpu_epilogue_apply (&ep2, -50.0f), ==, 0.0f);
  AfCpuEpilogue ep3 = { 1, { AF_OP_CLIP }, { 0.1f }, { 1 } }; /* 0.1 is not fp16: rounded */
  g_assert_cmpfloat (af_cpu_epilogue_apply (&ep3, 0.0f), ==, r16 (0.1f));
  /* what the CPU backend tells the fuse pass may join an epilogue */
  g_assert_true (af_cpu_caps.fuse[AF_OP_GELU] & AF_FUSE_JOIN);
  g_assert_true (af_cpu_caps.fuse[AF_OP_CLIP] & AF_FUSE_JOIN);
  g_assert_false (af_cpu_caps.fuse[AF_OP_ADD] & AF_FUSE_JOIN);
  g_assert_false (af_cpu_caps.fuse[AF_OP_SOFTMAX] & AF_FUSE_JOIN);
}

/* ------------------------------------------------------------ conv */

typedef struct {
  AfConvDesc d;
  AfCpuEpilogue ep;
  gboolean no_bias;
  float range; /* inputs and weights in [-range, range] */
} ConvCase;

static gint64
out_dim (gint64 in, gint64 k, gint64 s, gint64 p0, gint64 p1, gint64 dil)
{
  return (in + p0 + p1 - dil * (k - 1) - 1) / s + 1;
}

static void
conv_fill_out (AfConvDesc *d)
{
  d->h_out = out_dim (d->h_in, d->kh, d->stride[0], d->pad[0], d->pad[2], d->dilation[0]);
  d->w_out = out_dim (d->w_in, d->kw, d->stride[1], d->pad[1], d->pad[3], d->dilation[1]);
}

/* Naive conv: one fp32 accumulator per output summing (c, ky, kx). */
static void
conv_ref (const AfConvDesc *d, const guint16 *in, const float *w, const float *b,
          const AfCpuEpilogue *ep, float *out)
{
  gint64 cig = d->c_in / d->groups, cog = d->c_out / d->groups;
  for (gint64 co = 0; co < d->c_out; co++) {
    gint64 g = co / cog;
    for (gint64 oy = 0; oy < d->h_out; oy++)
      for (gint64 ox = 0; ox < d->w_out; ox++) {
        float acc = 0;
        for (gint64 c = 0; c < cig; c++)
          for (gint64 ky = 0; ky < d->kh; ky++)
            for (gint64 kx = 0; kx < d->kw; kx++) {
              gint64 iy = oy * d->stride[0] - d->pad[0] + ky * d->dilation[0];
              gint64 ix = ox * d->stride[1] - d->pad[1] + kx * d->dilation[1];
              if (iy < 0 || iy >= d->h_in || ix < 0 || ix >= d->w_in)
                continue;
              float x = af_fp16_to_f32 (in[((g * cig + c) * d->h_in + iy) * d->w_in + ix]);
              acc += x * w[((co * cig + c) * d->kh + ky) * d->kw + kx];
            }
        float v = r16 (acc + (b ? b[co] : 0.0f));
        out[(co * d->h_out + oy) * d->w_out + ox] = af_cpu_epilogue_apply (ep, v);
      }
  }
}

typedef struct {
  const ConvCase *cc;
  const guint16 *in;
  const float *want;
  AfConvKernel *k;
  gsize n_out;
  const char *name;
} ConvRun;

static void
conv_run_one (void *ctx, AfPool *pool, const char *label)
{
  ConvRun *r = ctx;
  gsize ss = af_cpu_conv_scratch_size (r->k);
  guint8 *scratch = scratch_new (ss);
  guint16 *out = g_new (guint16, r->n_out ? r->n_out : 1);
  for (gsize i = 0; i < r->n_out; i++)
    out[i] = 0x7fff; /* NaN: an unwritten element fails the comparison */
  af_cpu_conv_run (r->k, r->in, out, scratch, pool);
  char *what = g_strdup_printf ("conv %s %s", r->name, label);
  expect_close (what, out, r->want, r->n_out);
  g_free (what);
  g_free (out);
  g_aligned_free (scratch);
}

static void
conv_check (const ConvCase *cc, const char *name)
{
  AfConvDesc d = cc->d;
  if (d.stride[0] == 0)
    d.stride[0] = d.stride[1] = 1;
  if (d.dilation[0] == 0)
    d.dilation[0] = d.dilation[1] = 1;
  if (d.groups == 0)
    d.groups = 1;
  conv_fill_out (&d);
  float range = cc->range > 0 ? cc->range : 1.0f;
  gsize n_in = d.c_in * d.h_in * d.w_in, n_out = d.c_out * d.h_out * d.w_out;
  gsize n_w = d.c_out * (d.c_in / d.groups) * d.kh * d.kw;
  guint16 *in = rnd_h (n_in, range);
  float *w = rnd_f (n_w, range), *b = cc->no_bias ? NULL : rnd_f (d.c_out, 1.0f);
  float *want = g_new (float, n_out ? n_out : 1);
  conv_ref (&d, in, w, b, &cc->ep, want);
  ConvRun r = { cc, in, want, af_cpu_conv_new (&d, w, b, &cc->ep), n_out, name };
  g_assert_nonnull (r.k);
  each_config (conv_run_one, &r);
  af_cpu_conv_free (r.k);
  g_free (in);
  g_free (w);
  g_free (b);
  g_free (want);
}

#define DESC(ci, h, w, co, kh_, kw_)                                                               \
  .c_in = ci, .h_in = h, .w_in = w, .c_out = co, .kh = kh_, .kw = kw_

/* Odd fixed shapes: 1x1 (direct path), 3x3 stride 2 with asymmetric pads,
 * dilation 2 and 3, groups, depthwise (direct kernel) with stride and
 * dilation, depthwise multiplier 2, c_out not a multiple of 6, width 385,
 * 1-pixel images, kernels larger than the image, deep K, fused epilogues. */
static void
test_conv_shapes (void)
{
  static const ConvCase cases[] = {
    { .d = { DESC (16, 9, 11, 24, 1, 1) } },
    { .d = { DESC (5, 3, 385, 7, 1, 1) }, .no_bias = TRUE },
    { .d = { DESC (8, 13, 17, 13, 3, 3), .pad = { 1, 1, 1, 1 } } },
    { .d = { DESC (3, 4, 385, 7, 3, 3), .stride = { 2, 2 }, .pad = { 0, 1, 1, 0 } } },
    { .d = { DESC (4, 11, 12, 5, 3, 2), .pad = { 2, 0, 1, 3 }, .dilation = { 2, 3 } } },
    { .d = { DESC (8, 10, 9, 10, 3, 3), .pad = { 1, 1, 1, 1 }, .groups = 2 } },
    { .d = { DESC (12, 15, 15, 12, 3, 3), .pad = { 1, 1, 1, 1 }, .groups = 12 } },
    { .d = { DESC (7, 16, 19, 7, 3, 3), .stride = { 2, 2 }, .pad = { 0, 1, 2, 0 }, .groups = 7 } },
    { .d = { DESC (5, 12, 13, 5, 5, 3), .pad = { 4, 2, 4, 2 }, .dilation = { 2, 2 },
             .groups = 5 } },
    { .d = { DESC (4, 7, 9, 8, 3, 3), .pad = { 1, 1, 1, 1 }, .groups = 4 } },
    { .d = { DESC (7, 1, 1, 5, 3, 3), .pad = { 1, 1, 1, 1 } } },
    { .d = { DESC (3, 1, 1, 3, 3, 3), .pad = { 1, 1, 1, 1 }, .groups = 3 } },
    { .d = { DESC (3, 2, 3, 4, 5, 5), .pad = { 2, 2, 2, 2 } } },
    { .d = { DESC (9, 8, 8, 11, 1, 1), .stride = { 2, 2 } } },
    { .d = { DESC (64, 9, 9, 70, 3, 3), .pad = { 1, 1, 1, 1 } },
      .range = 0.5f,
      .ep = { 1, { AF_OP_RELU } } },
    { .d = { DESC (6, 8, 8, 9, 3, 3), .pad = { 1, 1, 1, 1 } },
      .ep = { 2, { AF_OP_CLIP, AF_OP_RELU6 }, { -0.7f, 0 }, { 2.3f, 0 } } },
    { .d = { DESC (6, 8, 8, 9, 3, 3), .pad = { 1, 1, 1, 1 } }, .ep = { 1, { AF_OP_SIGMOID } } },
    { .d = { DESC (6, 5, 21, 4, 1, 1) }, .ep = { 3, { AF_OP_SILU, AF_OP_TANH, AF_OP_EXP } } },
    { .d = { DESC (6, 6, 6, 6, 3, 3), .pad = { 1, 1, 1, 1 }, .groups = 6 },
      .ep = { 1, { AF_OP_GELU } } },
    { .d = { DESC (600, 2, 3, 3, 1, 1) }, .range = 0.25f },
    /* deep K on a small image: 3 K blocks chained through the fp32 C
     * block, a 1-column last strip (7x7 = 3 x 16 + 1), c_out not / 6 */
    { .d = { DESC (300, 7, 7, 40, 3, 3), .pad = { 1, 1, 1, 1 } },
      .range = 0.25f,
      .ep = { 1, { AF_OP_RELU } } },
    /* K = 16 over several pixel tiles, an 8-column last strip */
    { .d = { DESC (16, 30, 31, 96, 1, 1) }, .ep = { 1, { AF_OP_RELU6 } } },
    /* 3-channel strided first layer */
    { .d = { DESC (3, 33, 35, 16, 3, 3), .stride = { 2, 2 }, .pad = { 1, 1, 1, 1 } } },
    /* resnet's first layer shape (7x7 stride 2, padded im2col copy) */
    { .d = { DESC (3, 37, 41, 13, 7, 7), .stride = { 2, 2 }, .pad = { 3, 3, 3, 3 } } },
    /* K blocks that split a channel's taps (K 1179 = 590 + 589), several
     * pixel tiles, panel pairs of 8 rows (c_out 20 = 6 + 6 + 6 + 2) for the
     * AVX-512 kernel */
    { .d = { DESC (131, 20, 23, 20, 3, 3), .pad = { 1, 1, 1, 1 } }, .range = 0.25f },
    /* 11 output rows: a 6 + 5 panel pair; stride 1 with dilation and
     * asymmetric pads through the padded copy; a pad wider than the kernel */
    { .d = { DESC (9, 17, 29, 11, 3, 5), .pad = { 2, 4, 0, 3 }, .dilation = { 2, 1 } } },
    { .d = { DESC (4, 6, 5, 7, 2, 2), .pad = { 3, 4, 3, 4 } } },
    /* strips over several output rows (w_out 5: four runs per strip) from the
     * even / odd split copy of a stride-2 dilated conv; a wide stride-2 image
     * in several pixel tiles */
    { .d = { DESC (5, 12, 11, 8, 3, 3), .stride = { 2, 2 }, .pad = { 1, 1, 1, 1 },
             .dilation = { 2, 2 } } },
    { .d = { DESC (6, 9, 301, 12, 3, 3), .stride = { 2, 2 }, .pad = { 1, 0, 0, 1 } } },
    { .d = { DESC (5, 4, 50, 7, 3, 4), .stride = { 1, 2 }, .pad = { 0, 2, 1, 1 },
             .dilation = { 1, 3 } } },
    /* 1x1 convs that are not direct, gathered through pixel offsets: a
     * ResNet downsample (196 pixels: tiles, a 4-pixel tail), pads (zeros,
     * also with stride 1), strides 3 x 2 with groups */
    { .d = { DESC (64, 28, 28, 128, 1, 1), .stride = { 2, 2 } },
      .range = 0.25f,
      .ep = { 1, { AF_OP_RELU } } },
    { .d = { DESC (7, 13, 14, 10, 1, 1), .stride = { 2, 2 }, .pad = { 1, 0, 0, 1 } } },
    { .d = { DESC (8, 5, 6, 16, 1, 1), .pad = { 1, 2, 1, 0 } }, .ep = { 1, { AF_OP_RELU } } },
    { .d = { DESC (6, 9, 40, 4, 1, 1), .stride = { 3, 2 }, .groups = 2 } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    char name[32];
    g_snprintf (name, sizeof name, "case %u", i);
    conv_check (&cases[i], name);
  }
}

/* Random shapes and attributes (seeded): every combination of the above. */
static void
test_conv_random (void)
{
  for (int it = 0; it < 40; it++) {
    ConvCase cc = { 0 };
    AfConvDesc *d = &cc.d;
    int kind = g_rand_int_range (rng, 0, 3); /* dense, grouped, depthwise */
    d->groups = kind == 0 ? 1 : g_rand_int_range (rng, 2, 6);
    d->c_in = d->groups * (kind == 2 ? 1 : g_rand_int_range (rng, 1, 9));
    d->c_out = d->groups * (kind == 2 ? 1 : g_rand_int_range (rng, 1, 15));
    d->kh = g_rand_int_range (rng, 1, 6);
    d->kw = g_rand_int_range (rng, 1, 6);
    d->stride[0] = g_rand_int_range (rng, 1, 4);
    d->stride[1] = g_rand_int_range (rng, 1, 4);
    d->dilation[0] = g_rand_int_range (rng, 1, 4);
    d->dilation[1] = g_rand_int_range (rng, 1, 4);
    for (int p = 0; p < 4; p++)
      d->pad[p] = g_rand_int_range (rng, 0, 4);
    d->h_in = g_rand_int_range (rng, 1, 24);
    d->w_in = g_rand_int_range (rng, 1, 40);
    if (out_dim (d->h_in, d->kh, d->stride[0], d->pad[0], d->pad[2], d->dilation[0]) < 1 ||
        out_dim (d->w_in, d->kw, d->stride[1], d->pad[1], d->pad[3], d->dilation[1]) < 1) {
      it--;
      continue;
    }
    if (g_rand_boolean (rng))
      cc.ep = (AfCpuEpilogue){ 1, { AF_OP_RELU } };
    char name[200];
    g_snprintf (
        name, sizeof name,
        "random %d (c %ld->%ld g %ld, %ldx%ld, k %ldx%ld s %ld,%ld d %ld,%ld p %ld,%ld,%ld,%ld)",
        it, (long) d->c_in, (long) d->c_out, (long) d->groups, (long) d->h_in, (long) d->w_in,
        (long) d->kh, (long) d->kw, (long) d->stride[0], (long) d->stride[1], (long) d->dilation[0],
        (long) d->dilation[1], (long) d->pad[0], (long) d->pad[1], (long) d->pad[2],
        (long) d->pad[3]);
    conv_check (&cc, name);
  }
}

/* The AVX-512, AVX2 and portable paths give bit-identical conv outputs
 * (same products, same summation order), on 1 and 2 threads. */
static void
test_conv_paths_identical (void)
{
  static const AfConvDesc descs[] = {
    { DESC (64, 14, 14, 64, 3, 3), .pad = { 1, 1, 1, 1 } },
    { DESC (40, 9, 10, 23, 1, 1) },
    { DESC (3, 30, 30, 17, 7, 7), .stride = { 2, 2 }, .pad = { 3, 3, 3, 3 } },
    { DESC (300, 7, 7, 26, 3, 3), .pad = { 1, 1, 1, 1 } },
    /* two uneven pixel tiles (80 + 89): on two threads every (tile, panels)
     * pair is cut into panel chunks (af__conv_split) */
    { DESC (512, 13, 13, 200, 1, 1) },
  };
  for (guint i = 0; i < G_N_ELEMENTS (descs); i++) {
    AfConvDesc d = descs[i];
    d.dilation[0] = d.dilation[1] = 1;
    if (d.stride[0] == 0)
      d.stride[0] = d.stride[1] = 1;
    d.groups = 1;
    conv_fill_out (&d);
    gsize n_in = d.c_in * d.h_in * d.w_in, n_out = d.c_out * d.h_out * d.w_out;
    guint16 *in = rnd_h (n_in, 1.0f);
    float *w = rnd_f (d.c_out * d.c_in * d.kh * d.kw, 0.5f), *b = rnd_f (d.c_out, 1.0f);
    AfCpuEpilogue ep = { 1, { AF_OP_RELU } };
    AfConvKernel *k = af_cpu_conv_new (&d, w, b, &ep);
    guint8 *scratch = scratch_new (af_cpu_conv_scratch_size (k) * 2);
    guint16 *first = g_new (guint16, n_out), *out = g_new (guint16, n_out);
    for (int path = 0; path < 3; path++)
      for (int t = 0; t < 2; t++) {
        af__cpu_force_portable (path == 2);
        af__cpu_force_no_avx512 (path != 0);
        af_cpu_conv_run (k, in, path == 0 && t == 0 ? first : out, scratch, t ? pool2 : NULL);
        if (path == 0 && t == 0)
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
    g_free (w);
    g_free (b);
    g_free (first);
    g_free (out);
  }
}

/* A conv of @desc (strides and dilations at least 1, groups 1, outputs
 * filled in) on random operands, with the naive result under the epilogue
 * @ep and a random residual: what the path comparisons below start from. */
typedef struct {
  AfConvDesc d;
  gsize n_out;
  guint16 *in, *res;
  float *w, *b, *want;
} EpConv;

static void
ep_conv_init (EpConv *c, const AfConvDesc *desc, const AfCpuEpilogue *ep)
{
  AfConvDesc *d = &c->d;
  *d = *desc;
  d->dilation[0] = MAX (d->dilation[0], 1);
  d->dilation[1] = MAX (d->dilation[1], 1);
  d->stride[0] = MAX (d->stride[0], 1);
  d->stride[1] = MAX (d->stride[1], 1);
  d->groups = 1;
  conv_fill_out (d);
  c->n_out = d->c_out * d->h_out * d->w_out;
  c->in = rnd_h (d->c_in * d->h_in * d->w_in, 1.0f);
  c->res = rnd_h (c->n_out, 2.0f);
  c->w = rnd_f (d->c_out * d->c_in * d->kh * d->kw, 0.25f);
  c->b = rnd_f (d->c_out, 1.0f);
  c->want = g_new (float, c->n_out);
  AfCpuEpilogue none = { 0 };
  conv_ref (d, c->in, c->w, c->b, &none, c->want);
  for (gsize j = 0; j < c->n_out; j++)
    c->want[j] = af_cpu_epilogue_apply_res (ep, c->want[j], af_fp16_to_f32 (c->res[j]));
}

static void
ep_conv_clear (EpConv *c)
{
  g_free (c->in);
  g_free (c->res);
  g_free (c->w);
  g_free (c->b);
  g_free (c->want);
}

/* The direct path (dirconv.c: channels in the vector lanes, no im2col)
 * gives the GEMM path's bits, on every path (the portable body when
 * AVX-512 is off at run time), on 1, 2 and 3 threads, for 32- and 16-wide
 * channel blocks, rows cut into uneven pixel groups, stride 2 with
 * asymmetric pads, dilation, several bands of rows, every finisher (simple
 * epilogues with the residual in place, a generic one) — and stays within
 * 2 ulps of the naive sums. */
static void
test_conv_direct (void)
{
  static const AfConvDesc descs[] = {
    { DESC (64, 16, 16, 64, 3, 3), .pad = { 1, 1, 1, 1 } },                     /* 2 groups of 8 */
    { DESC (32, 29, 31, 48, 3, 3), .stride = { 2, 2 }, .pad = { 0, 1, 1, 0 } }, /* 32 + 16 */
    { DESC (16, 10, 12, 16, 3, 3), .pad = { 2, 2, 2, 2 },
      .dilation = { 2, 2 } },                                                   /* 16 only, K 144 */
    { DESC (30, 13, 43, 32, 5, 3), .stride = { 2, 1 }, .pad = { 1, 0, 2, 3 } }, /* 4 groups of 11 */
    { DESC (64, 45, 60, 32, 3, 3), .pad = { 1, 1, 1, 1 } },                     /* 4 bands */
    { DESC (96, 7, 7, 64, 3, 3), .pad = { 1, 1, 1, 1 } },  /* resnet's 7x7: 3 row pairs + 1 */
    { DESC (200, 3, 4, 16, 3, 3), .pad = { 0, 1, 0, 0 } }, /* 1 x 3 outputs */
    /* rows of <= 7 pixels go two a call: stride 2 (6 x 7, 32 + 16), bands of
     * 13, 13 and 14 rows (K 4608, 40 x 5: a lone last row in two of them),
     * 1-pixel rows */
    { DESC (40, 11, 13, 48, 3, 3), .stride = { 2, 2 }, .pad = { 1, 1, 1, 1 } },
    { DESC (512, 40, 5, 32, 3, 3), .pad = { 1, 1, 1, 1 } },
    { DESC (64, 9, 1, 16, 3, 3), .pad = { 1, 1, 1, 1 } },
  };
  static const AfCpuEpilogue eps[] = {
    { 0 },
    { 1, { AF_OP_RELU } },
    { 2, { AF_OP_ADD, AF_OP_RELU } },
    { 3, { AF_OP_CLIP, AF_OP_ADD, AF_OP_RELU6 }, { -0.5f, 0, 0 }, { 1.5f, 0, 0 } },
    { 1, { AF_OP_SIGMOID } },
  };
  if (!af__cpu_use_avx512bw ()) {
    g_test_skip ("isa: no AVX-512BW here: the direct path is never chosen");
    return;
  }
  AfPool *pool3 = af_pool_new (3);
  for (guint i = 0; i < G_N_ELEMENTS (descs); i++)
    for (guint e = 0; e < G_N_ELEMENTS (eps); e++) {
      EpConv c;
      ep_conv_init (&c, &descs[i], &eps[e]);
      const AfConvDesc d = c.d;
      const gsize n_out = c.n_out;
      const guint16 *in = c.in, *res = c.res;
      const float *w = c.w, *b = c.b;
      gboolean add = af_cpu_epilogue_has_residual (&eps[e]);
      af__dir_force (0);
      AfConvKernel *gemm = af_cpu_conv_new (&d, w, b, &eps[e]);
      af__dir_force (1);
      g_assert_true (af__dir_eligible (&d));
      AfConvKernel *k = af_cpu_conv_new (&d, w, b, &eps[e]);
      af__dir_force (-1);
      gsize ss = MAX (af_cpu_conv_scratch_size (k), af_cpu_conv_scratch_size (gemm));
      guint8 *scratch = g_aligned_alloc (3, ss, 64);
      guint16 *first = g_new (guint16, n_out), *out = g_new (guint16, n_out);
      af_cpu_conv_run_res (gemm, in, add ? res : NULL, first, scratch, NULL);
      for (int path = 0; path < 3; path++)
        for (int t = 0; t < 3; t++) {
          af__cpu_force_portable (path == 2);
          af__cpu_force_no_avx512 (path != 0);
          /* the residual in place: out starts as a copy of it */
          for (gsize j = 0; j < n_out; j++)
            out[j] = add ? res[j] : 0x7fff; /* NaN: an unwritten element fails */
          af_cpu_conv_run_res (k, in, add ? out : NULL, out, scratch,
                               t == 0   ? NULL
                               : t == 1 ? pool2
                                        : pool3);
          for (gsize j = 0; j < n_out; j++)
            if (out[j] != first[j])
              g_error ("direct desc %u ep %u path %d threads %d element %" G_GSIZE_FORMAT
                       ": %04x != GEMM %04x",
                       i, e, path, t + 1, j, out[j], first[j]);
        }
      af__cpu_force_portable (FALSE);
      af__cpu_force_no_avx512 (FALSE);
      char *what = g_strdup_printf ("direct desc %u ep %u", i, e);
      expect_close (what, first, c.want, n_out);
      g_free (what);
      af_cpu_conv_free (gemm);
      af_cpu_conv_free (k);
      g_aligned_free (scratch);
      ep_conv_clear (&c);
      g_free (first);
      g_free (out);
    }
  af_pool_free (pool3);
}

/* Narrow tail strips (1-4 pixels: channels in the vector lanes, 12 / 6 / 4
 * / 3 panels at a time) and full strips finished straight from the AVX-512
 * registers (one K block, simple epilogue, residual ADD included) give the
 * same bits on every path and thread count, within 2 ulps of the naive
 * reference. */
static void
test_conv_tails_fused (void)
{
  static const AfConvDesc descs[] = {
    { DESC (16, 7, 7, 96, 1, 1) },                         /* 49: 1-pixel tail, K 16 */
    { DESC (24, 14, 14, 40, 1, 1) },                       /* 196: 4-pixel tail, odd panels */
    { DESC (32, 5, 10, 80, 1, 1) },                        /* 50: 2-pixel tail */
    { DESC (8, 3, 17, 100, 3, 3), .pad = { 1, 1, 1, 1 } }, /* 51: 3-pixel tail, 17 panels */
    { DESC (300, 7, 7, 26, 3, 3), .pad = { 1, 1, 1, 1 } }, /* K blocks: tails accumulate */
    { DESC (40, 9, 10, 23, 1, 1) },                        /* 90: a 10-pixel last strip */
    { DESC (16, 30, 31, 96, 1, 1) },                       /* several pixel tiles */
    /* AVX-512 pairs: a last strip of 5..12 as 8 ymm columns (+ narrow) */
    { DESC (24, 13, 13, 40, 1, 1) },                      /* 169: 8 + 1 */
    { DESC (16, 3, 4, 30, 3, 3), .pad = { 1, 1, 1, 1 } }, /* 12: 8 + 4 */
    { DESC (1100, 2, 3, 26, 1, 1) },                      /* 6 of 8, 2 K blocks */
    /* fused pairs: the 1-4 narrow columns ride along with the last strip */
    { DESC (24, 14, 14, 72, 1, 1) },                       /* 196: 12 x 16 + 4 */
    { DESC (16, 4, 7, 30, 3, 3), .pad = { 1, 1, 1, 1 } },  /* 28: 16 + 8 + 4 */
    { DESC (16, 3, 11, 30, 3, 3), .pad = { 1, 1, 1, 1 } }, /* 33: 32 + 1, a single last panel */
    /* AVX-512BW 1x1 with <= 64 rows: sums straight from the fp16 input,
       full strips with exactly as many accumulators as rows */
    { DESC (64, 5, 11, 16, 1, 1) }, /* 55: 3 + 7 pixels, 16 rows in 3 panels */
    { DESC (48, 6, 9, 48, 1, 1) },  /* 54: 8 panels in two calls of 4 */
    { DESC (8, 1, 3, 1, 1, 1) },    /* one row, 3 pixels */
    { DESC (40, 5, 7, 32, 1, 1) },  /* 35: calls of 18 + 14 rows */
    { DESC (24, 4, 9, 64, 1, 1) },  /* 36: 24 + 24 + 16 rows */
    { DESC (16, 2, 17, 41, 1, 1) }, /* 34: 24 + 17 rows, 2-pixel tail */
  };
  static const AfCpuEpilogue eps[] = {
    { 0 },
    { 1, { AF_OP_RELU6 } },
    { 2, { AF_OP_ADD, AF_OP_RELU } },
    { 3, { AF_OP_CLIP, AF_OP_ADD, AF_OP_RELU6 }, { -0.5f, 0, 0 }, { 1.5f, 0, 0 } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (descs); i++)
    for (guint e = 0; e < G_N_ELEMENTS (eps); e++) {
      EpConv c;
      ep_conv_init (&c, &descs[i], &eps[e]);
      const AfConvDesc d = c.d;
      const gsize n_out = c.n_out;
      const guint16 *in = c.in, *res = c.res;
      const float *w = c.w, *b = c.b, *want = c.want;
      AfConvKernel *k = af_cpu_conv_new (&d, w, b, &eps[e]);
      guint8 *scratch = scratch_new (af_cpu_conv_scratch_size (k) * 2);
      guint16 *first = g_new (guint16, n_out), *out = g_new (guint16, n_out);
      int p0 = af__cpu_first_path ();
      for (int path = p0; path < 3; path++)
        for (int t = 0; t < 2; t++) {
          af__cpu_force_portable (path == 2);
          af__cpu_force_no_avx512 (path != 0);
          guint16 *o = path == p0 && t == 0 ? first : out;
          for (gsize j = 0; j < n_out; j++)
            o[j] = 0x7fff; /* NaN: an unwritten element fails */
          af_cpu_conv_run_res (k, in, af_cpu_epilogue_has_residual (&eps[e]) ? res : NULL, o,
                               scratch, t ? pool2 : NULL);
          if (o == first) {
            char *what = g_strdup_printf ("tails desc %u ep %u", i, e);
            expect_close (what, first, want, n_out);
            g_free (what);
            continue;
          }
          for (gsize j = 0; j < n_out; j++)
            if (out[j] != first[j])
              g_error ("desc %u ep %u path %d threads %d element %" G_GSIZE_FORMAT ": %04x != %04x",
                       i, e, path, t + 1, j, out[j], first[j]);
        }
      af__cpu_force_portable (FALSE);
      af__cpu_force_no_avx512 (FALSE);
      af_cpu_conv_free (k);
      g_aligned_free (scratch);
      ep_conv_clear (&c);
      g_free (first);
      g_free (out);
    }
}

/* fp32 accumulation: 16384 ones sum to exactly 16384 (fp16 would stall at
 * 2048), through conv (K = 16384 as 1024 channels x 4x4) and linear. */
static void
test_sum_16384 (void)
{
  AfConvDesc d = { .c_in = 1024,
                   .h_in = 4,
                   .w_in = 4,
                   .c_out = 1,
                   .h_out = 1,
                   .w_out = 1,
                   .kh = 4,
                   .kw = 4,
                   .stride = { 1, 1 },
                   .dilation = { 1, 1 },
                   .groups = 1 };
  gsize n = 16384;
  float *w = g_new (float, n);
  guint16 *in = g_new (guint16, n);
  for (gsize i = 0; i < n; i++) {
    w[i] = 1.0f;
    in[i] = 0x3c00;
  }
  for (int portable = 0; portable < 2; portable++) {
    af__cpu_force_portable (portable);
    AfConvKernel *k = af_cpu_conv_new (&d, w, NULL, NULL);
    guint8 *scratch = scratch_new (af_cpu_conv_scratch_size (k));
    guint16 out = 0;
    af_cpu_conv_run (k, in, &out, scratch, pool2);
    g_assert_cmpfloat (af_fp16_to_f32 (out), ==, 16384.0f);
    g_aligned_free (scratch);
    af_cpu_conv_free (k);
    AfLinearKernel *lk = af_cpu_linear_new (n, 1, w, NULL, NULL);
    scratch = scratch_new (af_cpu_linear_scratch_size (lk, 1));
    af_cpu_linear_run (lk, 1, in, &out, scratch, NULL);
    g_assert_cmpfloat (af_fp16_to_f32 (out), ==, 16384.0f);
    g_aligned_free (scratch);
    af_cpu_linear_free (lk);
  }
  af__cpu_force_portable (FALSE);
  g_free (w);
  g_free (in);
}

/* ------------------------------------------------------------ linear */

typedef struct {
  gint64 m, k, n;
  const guint16 *x;
  const float *want;
  AfLinearKernel *lk;
} LinRun;

static void
linear_run_one (void *ctx, AfPool *pool, const char *label)
{
  LinRun *r = ctx;
  guint8 *scratch = scratch_new (af_cpu_linear_scratch_size (r->lk, r->m));
  gsize n_out = r->m * r->n;
  guint16 *y = g_new (guint16, n_out ? n_out : 1);
  for (gsize i = 0; i < n_out; i++)
    y[i] = 0x7fff;
  af_cpu_linear_run (r->lk, r->m, r->x, y, scratch, pool);
  char *what =
      g_strdup_printf ("linear %ldx%ldx%ld %s", (long) r->m, (long) r->k, (long) r->n, label);
  expect_close (what, y, r->want, n_out);
  g_free (what);
  g_free (y);
  g_aligned_free (scratch);
}

static void
linear_check (gint64 m, gint64 k, gint64 n, gboolean bias, const AfCpuEpilogue *ep)
{
  guint16 *x = rnd_h (m * k, 1.0f);
  float *w = rnd_f (n * k, 1.0f), *b = bias ? rnd_f (n, 1.0f) : NULL;
  float *want = g_new (float, MAX (m * n, 1));
  for (gint64 i = 0; i < m; i++)
    for (gint64 j = 0; j < n; j++) {
      float acc = 0;
      for (gint64 p = 0; p < k; p++)
        acc += af_fp16_to_f32 (x[i * k + p]) * w[j * k + p];
      want[i * n + j] = af_cpu_epilogue_apply (ep, r16 (acc + (b ? b[j] : 0.0f)));
    }
  LinRun r = { m, k, n, x, want, af_cpu_linear_new (k, n, w, b, ep) };
  each_config (linear_run_one, &r);
  af_cpu_linear_free (r.lk);
  g_free (x);
  g_free (w);
  g_free (b);
  g_free (want);
}

/* M = 1 runs four 16-column strips at once (a partial last strip inside
 * the group too): with a residual ADD epilogue every path and thread count
 * gives the same bits, within 2 ulps of the naive reference. */
static void
test_linear_row4_res (void)
{
  static const gint64 shapes[][2] = { { 333, 1000 }, { 40, 50 }, { 7, 200 }, { 1280, 64 } };
  AfCpuEpilogue eps[] = { { 2, { AF_OP_ADD, AF_OP_RELU6 } }, { 1, { AF_OP_RELU } } };
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    for (guint e = 0; e < G_N_ELEMENTS (eps); e++) {
      gint64 k = shapes[i][0], n = shapes[i][1];
      guint16 *x = rnd_h (k, 1.0f), *res = rnd_h (n, 4.0f);
      float *w = rnd_f (n * k, 0.25f), *b = rnd_f (n, 1.0f), *want = g_new (float, n);
      for (gint64 j = 0; j < n; j++) {
        float acc = 0;
        for (gint64 p = 0; p < k; p++)
          acc += af_fp16_to_f32 (x[p]) * w[j * k + p];
        want[j] = af_cpu_epilogue_apply_res (&eps[e], r16 (acc + b[j]), af_fp16_to_f32 (res[j]));
      }
      AfLinearKernel *lk = af_cpu_linear_new (k, n, w, b, &eps[e]);
      guint8 *scratch = scratch_new (af_cpu_linear_scratch_size (lk, 1) * 2);
      guint16 *first = g_new (guint16, n), *out = g_new (guint16, n);
      int p0 = af__cpu_first_path ();
      for (int path = p0; path < 3; path++)
        for (int t = 0; t < 2; t++) {
          af__cpu_force_portable (path == 2);
          af__cpu_force_no_avx512 (path != 0);
          guint16 *o = path == p0 && t == 0 ? first : out;
          af_cpu_linear_run_res (lk, 1, x, res, o, scratch, t ? pool2 : NULL);
          if (o == first) {
            expect_close ("linear row4", first, want, n);
            continue;
          }
          for (gint64 j = 0; j < n; j++)
            if (out[j] != first[j])
              g_error ("shape %u ep %u path %d threads %d element %ld: %04x != %04x", i, e, path,
                       t + 1, (long) j, out[j], first[j]);
        }
      af__cpu_force_portable (FALSE);
      af__cpu_force_no_avx512 (FALSE);
      af_cpu_linear_free (lk);
      g_aligned_free (scratch);
      g_free (x);
      g_free (res);
      g_free (w);
      g_free (b);
      g_free (want);
      g_free (first);
      g_free (out);
    }
}

/* GEMV (M = 1) and small GEMMs with M, N not multiples of the 6x16 block,
 * with and without bias, with fused epilogues, plus random sizes. */
static void
test_linear (void)
{
  AfCpuEpilogue none = { 0 }, relu = { 1, { AF_OP_RELU } }, gelu = { 1, { AF_OP_GELU } };
  linear_check (1, 1, 1, TRUE, &none);
  linear_check (1, 64, 10, TRUE, &relu);
  linear_check (1, 300, 1000, TRUE, &none);
  linear_check (3, 37, 33, FALSE, &none);
  linear_check (7, 128, 100, TRUE, &gelu);
  linear_check (13, 5, 17, TRUE, &relu);
  linear_check (50, 96, 48, FALSE, &none);
  for (int it = 0; it < 12; it++)
    linear_check (g_rand_int_range (rng, 1, 20), g_rand_int_range (rng, 1, 200),
                  g_rand_int_range (rng, 1, 70), g_rand_boolean (rng), &none);
}

/* ------------------------------------------------------------ pool2d */

/* Naive pooling written from the definition: walk the whole padded window,
 * skip cells outside the image. */
static void
pool_ref (const AfPoolDesc *d, const guint16 *in, float *out)
{
  for (gint64 c = 0; c < d->c; c++)
    for (gint64 oy = 0; oy < d->h_out; oy++)
      for (gint64 ox = 0; ox < d->w_out; ox++) {
        float acc = d->is_max ? -INFINITY : 0;
        int n_img = 0, n_pad = 0;
        for (gint64 ky = 0; ky < d->kh; ky++)
          for (gint64 kx = 0; kx < d->kw; kx++) {
            gint64 iy = oy * d->stride[0] - d->pad[0] + ky;
            gint64 ix = ox * d->stride[1] - d->pad[1] + kx;
            if (iy < d->h_in + d->pad[2] && ix < d->w_in + d->pad[3])
              n_pad++; /* inside the padded image */
            if (iy < 0 || ix < 0 || iy >= d->h_in || ix >= d->w_in)
              continue;
            float v = af_fp16_to_f32 (in[(c * d->h_in + iy) * d->w_in + ix]);
            n_img++;
            acc = d->is_max ? MAX (acc, v) : acc + v;
          }
        int cnt = d->count_include_pad ? n_pad : n_img;
        if (!d->is_max)
          acc = cnt ? acc / cnt : 0;
        out[(c * d->h_out + oy) * d->w_out + ox] = acc;
      }
}

typedef struct {
  const AfPoolDesc *d;
  const guint16 *in;
  const float *want;
} PoolRun;

static void
pool_run_one (void *ctx, AfPool *pool, const char *label)
{
  PoolRun *r = ctx;
  gsize n_out = r->d->c * r->d->h_out * r->d->w_out;
  guint16 *out = g_new (guint16, n_out);
  for (gsize i = 0; i < n_out; i++)
    out[i] = 0x7fff;
  af_cpu_pool2d_run (r->d, r->in, out, pool);
  char *what = g_strdup_printf ("pool %s %s", r->d->is_max ? "max" : "avg", label);
  expect_close (what, out, r->want, n_out);
  g_free (what);
  g_free (out);
}

static void
pool_check (AfPoolDesc d, gboolean ceil_mode)
{
  gint64 eh = d.h_in + d.pad[0] + d.pad[2] - d.kh, ew = d.w_in + d.pad[1] + d.pad[3] - d.kw;
  d.h_out = (ceil_mode ? af__ceil_div (eh, d.stride[0]) : eh / d.stride[0]) + 1;
  d.w_out = (ceil_mode ? af__ceil_div (ew, d.stride[1]) : ew / d.stride[1]) + 1;
  gsize n_in = d.c * d.h_in * d.w_in, n_out = d.c * d.h_out * d.w_out;
  guint16 *in = rnd_h (n_in, 4.0f);
  float *want = g_new (float, n_out);
  pool_ref (&d, in, want);
  PoolRun r = { &d, in, want };
  each_config (pool_run_one, &r);
  g_free (in);
  g_free (want);
}

/* Max and average pooling with symmetric and asymmetric padding, with and
 * without count_include_pad, ceil-mode overhang, global windows, odd sizes. */
static void
test_pool2d (void)
{
  for (int is_max = 0; is_max < 2; is_max++)
    for (int cip = 0; cip < 2; cip++) {
      pool_check ((AfPoolDesc){ .c = 5,
                                .h_in = 13,
                                .w_in = 17,
                                .kh = 3,
                                .kw = 3,
                                .stride = { 2, 2 },
                                .pad = { 1, 1, 1, 1 },
                                .is_max = is_max,
                                .count_include_pad = cip },
                  FALSE);
      pool_check ((AfPoolDesc){ .c = 3,
                                .h_in = 9,
                                .w_in = 385,
                                .kh = 2,
                                .kw = 3,
                                .stride = { 2, 3 },
                                .pad = { 0, 2, 1, 0 },
                                .is_max = is_max,
                                .count_include_pad = cip },
                  TRUE);
      pool_check ((AfPoolDesc){ .c = 4,
                                .h_in = 7,
                                .w_in = 7,
                                .kh = 7,
                                .kw = 7,
                                .stride = { 1, 1 },
                                .is_max = is_max,
                                .count_include_pad = cip },
                  FALSE);
      pool_check ((AfPoolDesc){ .c = 2,
                                .h_in = 1,
                                .w_in = 1,
                                .kh = 3,
                                .kw = 3,
                                .stride = { 1, 1 },
                                .pad = { 1, 1, 1, 1 },
                                .is_max = is_max,
                                .count_include_pad = cip },
                  FALSE);
      pool_check ((AfPoolDesc){ .c = 6,
                                .h_in = 10,
                                .w_in = 11,
                                .kh = 2,
                                .kw = 2,
                                .stride = { 2, 2 },
                                .is_max = is_max,
                                .count_include_pad = cip },
                  TRUE);
    }
}

/* Runs af_cpu_pool2d_run portable, then vectorized on 1 and 2 threads, and
 * fails on the first element that differs. */
static void
pool_expect_portable_bits (const AfPoolDesc *d, const guint16 *in, const char *what, guint i)
{
  gsize n_out = d->c * d->h_out * d->w_out;
  guint16 *want = g_new (guint16, n_out), *got = g_new (guint16, n_out);
  af__cpu_force_portable (TRUE);
  af_cpu_pool2d_run (d, in, want, NULL);
  af__cpu_force_portable (FALSE);
  for (int t = 0; t < 2; t++) {
    memset (got, 0xff, n_out * sizeof (guint16));
    af_cpu_pool2d_run (d, in, got, t ? pool2 : NULL);
    for (gsize j = 0; j < n_out; j++)
      if (got[j] != want[j])
        g_error ("%s %u (%d threads): element %" G_GSIZE_FORMAT ": 0x%04x, want 0x%04x", what, i,
                 t + 1, j, got[j], want[j]);
  }
  g_free (want);
  g_free (got);
}

/* The vector max-pool path (stride 1 and 2) gives bit for bit what the
 * scalar one gives, with NaN, +-inf and +-0 in the windows (the first of
 * equal zeros in (ky, kx) order wins, NaN never wins), on 1 and 2 threads. */
static void
test_maxpool_exact (void)
{
  static const AfPoolDesc descs[] = {
    { .c = 3, .h_in = 111, .w_in = 111, .kh = 3, .kw = 3, .stride = { 2, 2 } }, /* ceil mode */
    { .c = 4, .h_in = 12, .w_in = 13, .kh = 3, .kw = 3, .stride = { 1, 1 }, .pad = { 1, 1, 1, 1 } },
    { .c = 2, .h_in = 9, .w_in = 40, .kh = 2, .kw = 5, .stride = { 3, 2 }, .pad = { 0, 2, 1, 0 } },
    { .c = 2, .h_in = 5, .w_in = 3, .kh = 3, .kw = 3, .stride = { 2, 2 }, .pad = { 1, 1, 1, 1 } },
  };
  static const guint16 special[] = { 0x7e00, 0xfc00, 0x7c00, 0x8000, 0x0000, 0xfe00 };
  if (!af__cpu_has_avx2_fma_f16c ()) {
    g_test_skip ("isa: no AVX2/F16C");
    return;
  }
  for (guint i = 0; i < G_N_ELEMENTS (descs); i++) {
    AfPoolDesc d = descs[i];
    d.is_max = TRUE;
    gint64 eh = d.h_in + d.pad[0] + d.pad[2] - d.kh, ew = d.w_in + d.pad[1] + d.pad[3] - d.kw;
    d.h_out = af__ceil_div (eh, d.stride[0]) + 1;
    d.w_out = af__ceil_div (ew, d.stride[1]) + 1;
    gsize n_in = d.c * d.h_in * d.w_in;
    guint16 *in = rnd_h (n_in, 2.0f);
    for (gsize j = 0; j < n_in; j += 3)
      in[j] = special[g_rand_int_range (rng, 0, G_N_ELEMENTS (special))];
    pool_expect_portable_bits (&d, in, "maxpool desc", i);
    g_free (in);
  }
}

/* Global average pooling's vector path (8 channels in the lanes, planes
 * transposed) gives bit for bit the portable sums: partial channel groups,
 * plane sizes with and without a tail of cells, 1 and 2 threads. */
static void
test_gap_exact (void)
{
  static const gint64 shapes[][3] = {
    { 1000, 13, 13 }, { 13, 7, 7 }, { 9, 1, 1 }, { 16, 4, 2 }, { 5, 3, 5 }
  };
  if (!af__cpu_has_avx2_fma_f16c ()) {
    g_test_skip ("isa: no AVX2/F16C");
    return;
  }
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
    AfPoolDesc d = { .c = shapes[i][0],
                     .h_in = shapes[i][1],
                     .w_in = shapes[i][2],
                     .h_out = 1,
                     .w_out = 1,
                     .kh = shapes[i][1],
                     .kw = shapes[i][2],
                     .stride = { 1, 1 } };
    guint16 *in = rnd_h (d.c * d.h_in * d.w_in, 3.0f);
    pool_expect_portable_bits (&d, in, "gap shape", i);
    g_free (in);
  }
}

/* ------------------------------------------------------------ finisher */

/* The vector row finisher gives bit for bit what the portable one gives for
 * every simple chain (clamps folded into one, clamps with non-fp16 and
 * crossed bounds, an ADD between clamps) and for a non-vector op, with a
 * scalar bias, a bias vector and none (-0 kept), on rows with tails, with
 * NaN, inf, -0 and fp16-overflowing accumulators and residuals. */
static void
test_finish_row (void)
{
  static const AfCpuEpilogue eps[] = {
    { 0 },
    { 1, { AF_OP_RELU } },
    { 1, { AF_OP_RELU6 } },
    { 1, { AF_OP_CLIP }, { -0.3f }, { 2.5f } },
    { 1, { AF_OP_CLIP }, { 2.0f }, { -1.0f } }, /* crossed bounds */
    { 2, { AF_OP_CLIP, AF_OP_RELU6 }, { -0.7f, 0 }, { 2.3f, 0 } },
    { 3, { AF_OP_RELU, AF_OP_CLIP, AF_OP_CLIP }, { 0, 0.1f, -5 }, { 0, 7.7f, 0.33f } },
    { 1, { AF_OP_ADD } },
    { 2, { AF_OP_ADD, AF_OP_RELU } },
    { 3, { AF_OP_CLIP, AF_OP_ADD, AF_OP_RELU6 }, { -1.1f, 0, 0 }, { 1.3f, 0, 0 } },
    { 2, { AF_OP_RELU6, AF_OP_ADD } },
    { 2, { AF_OP_ADD, AF_OP_SIGMOID } },
  };
  enum { N = 203 };
  float acc[N], bias_v[N];
  guint16 res[N], got[N], want[N];
  if (af__cpu_first_path () == 2) {
    g_test_skip ("isa: no AVX2/F16C or NEON");
    return;
  }
  for (int i = 0; i < N; i++) {
    acc[i] = (float) g_rand_double_range (rng, -12, 12);
    bias_v[i] = rnd (2);
    res[i] = af_f32_to_fp16 (rnd (8));
  }
  acc[3] = NAN;
  acc[4] = INFINITY;
  acc[5] = -INFINITY;
  acc[6] = -0.0f;
  acc[7] = 1e6f; /* overflows fp16 */
  acc[8] = -7e4f;
  acc[9] = 1e-9f; /* rounds to 0 */
  res[10] = 0x7e00;
  res[11] = 0xfc00;
  for (guint e = 0; e < G_N_ELEMENTS (eps); e++)
    for (int mode = 0; mode < 3; mode++) /* scalar bias, bias vector, no bias */
      for (gint64 n = 1; n <= N; n += n < 20 ? 1 : 61) {
        for (int portable = 1; portable >= 0; portable--) {
          guint16 *dst = portable ? want : got;
          af__cpu_force_portable (portable); /* AArch64: NEON or not */
          if (mode == 2)
            af__store_row (!portable, acc, n, &eps[e], res, dst);
          else
            af__finish_row (!portable, acc, n, 0.75f, mode ? bias_v : NULL, &eps[e], res, dst);
          af__cpu_force_portable (FALSE);
        }
        for (gint64 j = 0; j < n; j++)
          if (got[j] != want[j])
            g_error ("epilogue %u mode %d n %" G_GINT64_FORMAT ": element %" G_GINT64_FORMAT
                     ": simd 0x%04x, portable 0x%04x",
                     e, mode, n, j, got[j], want[j]);
      }
}

/* The image port's 8-pixel SIMD steps give the scalar loop's bits (a
 * separate multiply and add: an FMA rounds once, and some of these sums
 * then round to another half) for every pixel value, 2000 random scales and
 * biases, and a tail of 5. */
static void
test_image_port_paths (void)
{
  enum { N = 4 * 256 + 5 };
  guint8 px[N];
  guint16 simd[N], port[N];
  for (int i = 0; i < N; i++)
    px[i] = (guint8) (i * 7 + i / 256);
  for (int t = 0; t < 2000; t++) {
    float s = (float) g_rand_double_range (rng, -4, 4);
    float b = (float) g_rand_double_range (rng, -300, 300);
    af_cpu_image_port_run (px, 1, N, &s, &b, simd);
    af__cpu_force_portable (TRUE);
    af_cpu_image_port_run (px, 1, N, &s, &b, port);
    af__cpu_force_portable (FALSE);
    g_assert_cmpmem (simd, sizeof simd, port, sizeof port);
  }
}

/* The FMA peak probe (AF_PROFILE's "% peak") names the vectors the kernels
 * use on each path and measures a positive, finite rate inline and on 2
 * threads (how high is the machine's business: no timed assertion). */
static void
test_peak (void)
{
  for (int path = af__cpu_first_path (); path <= 2; path++) {
    af__cpu_force_portable (path == 2);
    af__cpu_force_no_avx512 (path != 0);
    const char *want = path == 0             ? "zmm"
                       : path == 2           ? "scalar"
                       : af__cpu_use_neon () ? "neon"
                                             : "ymm";
    g_assert_cmpstr (af__cpu_peak_unit (), ==, want);
    double one = af__cpu_peak_gflops (NULL, 10), two = af__cpu_peak_gflops (pool2, 10);
    g_assert_true (isfinite (one) && one > 0.01);
    g_assert_true (isfinite (two) && two > 0.01);
  }
  af__cpu_force_portable (FALSE);
  af__cpu_force_no_avx512 (FALSE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *s = g_getenv ("AF_TEST_SEED");
  seed = s ? (guint32) g_ascii_strtoull (s, NULL, 10) : (guint32) g_random_int ();
  g_printerr ("# seed %u (AF_TEST_SEED to replay); avx2+fma+f16c %s, avx512f %s\n", seed,
              af__cpu_has_avx2_fma_f16c () ? "yes" : "no", af__cpu_use_avx512 () ? "yes" : "no");
  rng = g_rand_new_with_seed (seed);
  pool2 = af_pool_new (2);
  /* the direct conv matches the naive sums exactly; the Winograd path has
   * its own error bound (test-winograd.c) */
  af__wino_force (0);
  g_test_add_func ("/kernels/epilogue/ops", test_epilogue_ops);
  g_test_add_func ("/kernels/epilogue/chain", test_epilogue_chain);
  g_test_add_func ("/kernels/epilogue/finish-row", test_finish_row);
  g_test_add_func ("/kernels/conv/shapes", test_conv_shapes);
  g_test_add_func ("/kernels/conv/random", test_conv_random);
  g_test_add_func ("/kernels/conv/paths-identical", test_conv_paths_identical);
  g_test_add_func ("/kernels/conv/tails-fused", test_conv_tails_fused);
  g_test_add_func ("/kernels/conv/direct", test_conv_direct);
  g_test_add_func ("/kernels/linear/row4-residual", test_linear_row4_res);
  g_test_add_func ("/kernels/sum-16384", test_sum_16384);
  g_test_add_func ("/kernels/linear", test_linear);
  g_test_add_func ("/kernels/pool2d", test_pool2d);
  g_test_add_func ("/kernels/pool2d/max-exact", test_maxpool_exact);
  g_test_add_func ("/kernels/pool2d/gap-exact", test_gap_exact);
  g_test_add_func ("/kernels/image-port-paths", test_image_port_paths);
  g_test_add_func ("/kernels/peak", test_peak);
  int rc = g_test_run ();
  af_pool_free (pool2);
  g_rand_free (rng);
  return rc;
}
