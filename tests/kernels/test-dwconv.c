/* test-dwconv.c — the depthwise kernel (src/backends/cpu/dwconv.c) gives
 * bit for bit what conv.c's depthwise path gives, for strides 1..3,
 * dilations, asymmetric pads, epilogues (a simple clamp, a
 * fused residual, a non-vector op), on the AVX2 and portable paths and 1
 * and 2 threads. */
#include "backends/cpu/dwconv.h"
#include "backends/cpu/simd.h"

#include <string.h>

static guint32 rng = 7;

static float
frand (void)
{
  rng = rng * 1664525u + 1013904223u;
  return af_fp16_to_f32 (af_f32_to_fp16 (((rng >> 8) / 16777216.0f) * 4 - 2));
}

enum { EP_SIGMOID, EP_ADD_RELU6, EP_RELU6 };

/* One shape: compares af_cpu_dw_run with af_cpu_conv_run(_res). @ep_kind:
 * EP_SIGMOID (the row finisher's scalar epilogue), EP_ADD_RELU6 (a
 * residual), EP_RELU6 (the vector finisher's simple path). */
static void
check (gint64 c, gint64 h, gint64 w, gint64 kh, gint64 kw, gint64 stride, gint64 dil,
       const gint64 pad[4], int ep_kind)
{
  gboolean residual = ep_kind == EP_ADD_RELU6;
  AfConvDesc d = { .c_in = c, .h_in = h, .w_in = w, .c_out = c, .kh = kh, .kw = kw, .groups = c };
  d.stride[0] = stride;
  d.stride[1] = stride == 3 ? 2 : stride; /* also unequal strides */
  d.dilation[0] = d.dilation[1] = dil;
  memcpy (d.pad, pad, sizeof d.pad);
  d.h_out = (h + pad[0] + pad[2] - dil * (kh - 1) - 1) / d.stride[0] + 1;
  d.w_out = (w + pad[1] + pad[3] - dil * (kw - 1) - 1) / d.stride[1] + 1;
  g_assert_cmpint (d.h_out, >, 0);
  g_assert_cmpint (d.w_out, >, 0);
  AfCpuEpilogue ep = { 0 };
  if (residual) {
    ep.op[ep.n++] = AF_OP_ADD;
    ep.op[ep.n++] = AF_OP_RELU6;
  } else if (ep_kind == EP_RELU6) {
    ep.op[ep.n++] = AF_OP_RELU6;
  } else {
    ep.op[ep.n++] = AF_OP_SIGMOID; /* a non-vector epilogue op */
  }
  gint64 n_in = c * h * w, n_out = c * d.h_out * d.w_out;
  g_autofree float *wf = g_new (float, c *kh *kw), *bf = g_new (float, c);
  for (gint64 i = 0; i < c * kh * kw; i++)
    wf[i] = frand ();
  for (gint64 i = 0; i < c; i++)
    bf[i] = frand ();
  g_autofree guint16 *in = g_new (guint16, n_in), *res = g_new (guint16, n_out);
  g_autofree guint16 *want = g_new (guint16, n_out), *got = g_new (guint16, n_out);
  for (gint64 i = 0; i < n_in; i++)
    in[i] = af_f32_to_fp16 (frand ());
  for (gint64 i = 0; i < n_out; i++)
    res[i] = af_f32_to_fp16 (frand ());
  AfConvKernel *ck = af_cpu_conv_new (&d, wf, bf, &ep);
  AfDwKernel *dk = af_cpu_dw_new (&d, wf, bf, &ep);
  g_assert_nonnull (ck);
  g_assert_nonnull (dk);
  for (int threads = 1; threads <= 2; threads++) {
    AfPool *pool = af_pool_new (threads);
    gsize ss = MAX (af_cpu_conv_scratch_size (ck), af_cpu_dw_scratch_size (dk)) * threads;
    guint8 *scratch = g_aligned_alloc0 (ss, 1, 64);
    /* 0: every path this CPU has (AVX-512: the rows and 16-lane paths), 1: portable,
       2: AVX2 only (the phase planes and the 8-lane path) */
    for (int portable = 0; portable <= 2; portable++) {
      af__cpu_force_portable (portable == 1);
      af__cpu_force_no_avx512 (portable == 2);
      af_cpu_conv_run_res (ck, in, residual ? res : NULL, want, scratch, pool);
      memset (got, 0xff, n_out * sizeof (guint16));
      af_cpu_dw_run (dk, in, residual ? res : NULL, got, scratch, pool);
      af__cpu_force_portable (FALSE);
      af__cpu_force_no_avx512 (FALSE);
      for (gint64 i = 0; i < n_out; i++)
        if (got[i] != want[i])
          g_error ("c %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                   " k %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " stride %" G_GINT64_FORMAT
                   " dil %" G_GINT64_FORMAT " (threads %d, portable %d): element %" G_GINT64_FORMAT
                   ": dw 0x%04x, conv 0x%04x",
                   c, h, w, kh, kw, stride, dil, threads, portable, i, got[i], want[i]);
    }
    g_aligned_free (scratch);
    af_pool_free (pool);
  }
  af_cpu_conv_free (ck);
  af_cpu_dw_free (dk);
}

/* Every stride / dilation / pad / kernel combination matches conv.c, also
 * on planes narrower than a vector and with several stride phases. */
static void
test_matches_conv (void)
{
  static const gint64 pads[][4] = {
    { 1, 1, 1, 1 }, { 0, 0, 0, 0 }, { 2, 0, 1, 3 }, { 0, 2, 2, 0 }
  };
  for (gint64 stride = 1; stride <= 3; stride++)
    for (gint64 dil = 1; dil <= 2; dil++)
      for (guint p = 0; p < G_N_ELEMENTS (pads); p++)
        for (int res = EP_SIGMOID; res <= EP_RELU6; res++) {
          gint64 k = p == 3 ? 5 : 3;
          check (3 + p, 9 + 2 * stride + p, 37 + 3 * p + stride, k, p == 2 ? 2 : k, stride, dil,
                 pads[p], res);
        }
  static const gint64 none[4] = { 0 };
  for (int e = EP_SIGMOID; e <= EP_RELU6; e++) {
    check (2, 1, 1, 1, 1, 1, 1, none, e);     /* 1x1 image */
    check (5, 8, 70, 3, 3, 2, 1, pads[0], e); /* several 32-wide blocks */
    /* MobileNet's planes: rows narrower than a vector (compaction) */
    check (6, 7, 7, 3, 3, 1, 1, pads[0], e);
    check (6, 14, 14, 3, 3, 1, 1, pads[0], e);
    check (4, 14, 14, 3, 3, 2, 1, pads[3], e);
    check (3, 56, 56, 3, 3, 1, 1, pads[0], e);
    check (3, 3, 2, 3, 3, 1, 1, pads[0], e);
    check (3, 57, 61, 3, 3, 2, 1, pads[0], e); /* stride-2 phases, odd sizes */
    check (2, 12, 13, 7, 7, 3, 1, pads[2], e); /* 3 row phases, 2 column ones */
    /* stride-2 rows ending inside a 16-column step; a forced 8-float pitch */
    check (3, 9, 15, 3, 3, 2, 1, pads[0], e);
    check (3, 5, 17, 3, 3, 2, 1, pads[1], e);
    check (2, 6, 31, 3, 3, 2, 1, pads[2], e);
    check (2, 7, 7, 3, 3, 1, 1, none, e);
    check (2, 4, 9, 3, 3, 1, 1, pads[0], e);
    /* the 16-lane path: two full groups and a partial one, all 16 lanes of
     * its transposes used; several bands; stride 2 with asymmetric pads */
    check (40, 30, 33, 3, 3, 1, 1, pads[0], e);
    check (21, 47, 45, 3, 3, 2, 1, pads[2], e);
    check (16, 90, 70, 3, 3, 1, 1, pads[1], e);
    /* the rows path (stride 1, 32 or more outputs a row): whole vectors
       only, a last vector overlapping the one before, a valid convolution
       of 7 rows (no 8-row block), zero left padding */
    check (5, 17, 32, 3, 3, 1, 1, pads[0], e);
    check (3, 12, 47, 3, 3, 1, 1, pads[0], e);
    check (4, 9, 34, 3, 3, 1, 1, none, e);
    check (2, 20, 40, 3, 3, 1, 1, pads[2], e);
    static const gint64 wide_pad[4] = { 1, 12, 2, 13 }; /* 10 image columns, 33 outputs */
    check (2, 6, 10, 3, 3, 1, 1, wide_pad, e);
  }
}

/* Non-depthwise descriptors are refused (the caller uses conv.c). */
static void
test_refuses_grouped (void)
{
  AfConvDesc d = { .c_in = 4,
                   .h_in = 5,
                   .w_in = 5,
                   .c_out = 8,
                   .h_out = 3,
                   .w_out = 3,
                   .kh = 3,
                   .kw = 3,
                   .groups = 4 };
  d.stride[0] = d.stride[1] = d.dilation[0] = d.dilation[1] = 1;
  float w[8 * 9] = { 0 };
  g_assert_null (af_cpu_dw_new (&d, w, NULL, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dwconv/matches-conv", test_matches_conv);
  g_test_add_func ("/dwconv/refuses-grouped", test_refuses_grouped);
  return g_test_run ();
}
