/* test-eltwise.c — the CPU backend's elementwise and data-movement kernels
 * (src/backends/cpu/eltwise.c) compiled as one-op graphs and compared BIT
 * FOR BIT with the reference kernel on the same fp16 inputs, on the AVX2 and
 * portable paths, 1 and 2 threads, with NaN / inf / -0 / subnormal inputs
 * (any NaN matches any NaN). */
#include "runtime.h"
#include "backends/cpu/simd.h"

#include <math.h>
#include <string.h>

static guint32 rng = 99;

static guint32
next (void)
{
  rng = rng * 1664525u + 1013904223u;
  return rng >> 8;
}

/* Mostly ordinary values in [-4, 4), some special ones. */
static guint16
rand_half (int specials)
{
  if (specials == 2) { /* ties: -0 / +0 and a few values, no NaN */
    static const guint16 ties[] = { 0x0000, 0x8000, 0x3c00, 0xbc00, 0xfc00 };
    return ties[next () % G_N_ELEMENTS (ties)];
  }
  static const guint16 special[] = { 0x7e00, 0xfe00, 0x7c00, 0xfc00, 0x8000, 0x0000,
                                     0x0001, 0x83ff, 0x7bff, 0xfbff, 0x3c00 };
  guint32 r = next ();
  if (specials && r % 16 == 0)
    return special[(r / 16) % G_N_ELEMENTS (special)];
  return af_f32_to_fp16 (((r % 65536) / 65536.0f) * 8 - 4);
}

/* NaN payloads and signs are not part of the contract: which operand's NaN
 * an x86 add returns depends on how the compiler ordered the operands. */
static gboolean
is_nan (guint16 h)
{
  return (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
}

/* Reference: the op's reference kernel on the fp16 inputs, rounded once. */
static void
reference (AfModel *m, AfTensor *y, guint16 *want)
{
  AfNode *n = y->producer;
  gint64 numel = af__shape_numel (&y->shape);
  g_autofree float *out = g_new (float, MAX (numel, 1));
  if (n->op == AF_OP_IMAGE_INPUT) {
    const guint8 *px = af_model_input_view (m, 0, NULL);
    g_autofree float *f = g_new (float, numel);
    for (gint64 k = 0; k < numel; k++)
      f[k] = px[k];
    const float *ins[] = { f };
    af_op_info[n->op].ref (n, ins, out);
    af_f32_to_fp16_n (out, want, numel);
    return;
  }
  g_autofree float **in = g_new0 (float *, n->n_in);
  for (guint j = 0; j < n->n_in; j++) {
    AfTensor *t = n->in[j];
    gint64 cnt = af__shape_numel (&t->shape);
    in[j] = g_new (float, MAX (cnt, 1));
    if (t->kind == AF_VALUE_CONST) {
      af__tensor_read_f32 (t, in[j]);
      for (gint64 k = 0; k < cnt; k++)
        in[j][k] = af_fp16_to_f32 (af_f32_to_fp16 (in[j][k]));
    } else {
      guint idx = 0;
      for (guint k = 0; k < t->graph->inputs->len; k++)
        if (g_ptr_array_index (t->graph->inputs, k) == t->producer)
          idx = k;
      const guint16 *h = af_model_input_view (m, idx, NULL);
      for (gint64 k = 0; k < cnt; k++)
        in[j][k] = af_fp16_to_f32 (h[k]);
    }
  }
  af_op_info[n->op].ref (n, (const float *const *) in, out);
  af_f32_to_fp16_n (out, want, numel);
  for (guint j = 0; j < n->n_in; j++)
    g_free (in[j]);
}

/* Compiles @g (output @y), fills the inputs and checks every configuration. */
static void
check (AfGraph *g, AfTensor *y, int specials)
{
  g_assert_nonnull (y);
  af_graph_add_output (g, "y", y);
  gint64 numel = af__shape_numel (&y->shape);
  g_autofree guint16 *want = g_new (guint16, MAX (numel, 1));
  for (int threads = 1; threads <= 2; threads++)
    /* portable 0: every path this CPU has, 1: portable C, 2: AVX2 only (the
       kernels AVX-512 replaces, e.g. the max pool's phase planes) */
    for (int portable = 0; portable <= 2; portable++) {
      AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
      o.threads = threads;
      GError *error = NULL;
      AfModel *m = af_compile (g, &o, &error);
      g_assert_no_error (error);
      guint32 saved = rng;
      for (guint i = 0; i < af_model_n_inputs (m); i++) {
        AfTensorInfo info;
        af_model_input_info (m, i, &info);
        gint64 cnt = af_shape_numel (info.rank, info.shape);
        if (info.is_image) {
          guint8 *px = af_model_input_view (m, i, NULL);
          for (gint64 k = 0; k < cnt; k++)
            px[k] = next () % 256;
          continue;
        }
        guint16 *h = af_model_input_view (m, i, NULL);
        for (gint64 k = 0; k < cnt; k++)
          h[k] = rand_half (specials);
      }
      rng = saved; /* same inputs for every configuration */
      af__cpu_force_portable (portable == 1);
      af__cpu_force_no_avx512 (portable == 2);
      g_assert_true (af_model_execute (m, NULL));
      af__cpu_force_portable (FALSE);
      af__cpu_force_no_avx512 (FALSE);
      reference (m, y, want);
      const guint16 *got = af_model_output_view (m, 0);
      for (gint64 k = 0; k < numel; k++)
        if (got[k] != want[k] && !(is_nan (got[k]) && is_nan (want[k])))
          g_error ("%s (threads %d, portable %d): element %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                   ": got 0x%04x, reference 0x%04x",
                   af_op_info[y->producer->op].name, threads, portable, k, numel, got[k], want[k]);
      af_model_free (m);
    }
  rng += 17;
}

static AfTensor *
wconst (AfGraph *g, const char *name, int rank, const gint64 *s, float lo, float hi)
{
  gint64 n = af_shape_numel (rank, s);
  g_autofree float *v = g_new (float, n);
  for (gint64 i = 0; i < n; i++)
    v[i] = lo + (next () % 65536) / 65536.0f * (hi - lo);
  return af_weight (g, name, rank, s, v);
}

typedef AfTensor *(*BinFn) (AfGraph *, AfTensor *, AfTensor *);
static const struct {
  AfOp op;
  BinFn fn;
} binaries[] = {
  { AF_OP_ADD, af_add }, { AF_OP_SUB, af_sub },         { AF_OP_MUL, af_mul },
  { AF_OP_DIV, af_div }, { AF_OP_MAXIMUM, af_maximum }, { AF_OP_MINIMUM, af_minimum },
};

/* Binary ops are bit-exact on same shapes (one long row, several blocks and
 * threads), per-channel [1, C, 1, 1] and scalar operands, a constant
 * operand, and generic two-sided broadcasting. */
static void
test_binary (void)
{
  static const gint64 shapes[][2][4] = {
    { { 1, 8, 61, 67 }, { 1, 8, 61, 67 } }, /* same shape, 32696 elements */
    { { 1, 24, 19, 21 }, { 1, 24, 1, 1 } }, /* per channel */
    { { 2, 5, 7, 9 }, { 1, 1, 1, 1 } },     /* scalar */
    { { 3, 1, 7, 1 }, { 1, 4, 1, 13 } },    /* both broadcast */
    { { 2, 3, 5, 1 }, { 1, 3, 1, 11 } },
  };
  for (guint b = 0; b < G_N_ELEMENTS (binaries); b++)
    for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
      for (int swap = 0; swap <= 1; swap++) {
        AfGraph *g = af_graph_new ("binary");
        AfTensor *x = af_input (g, "a", 4, shapes[s][0]);
        AfTensor *z = af_input (g, "b", 4, shapes[s][1]);
        check (g, swap ? binaries[b].fn (g, z, x) : binaries[b].fn (g, x, z), TRUE);
        af_graph_free (g);
      }
  for (guint b = 0; b < G_N_ELEMENTS (binaries); b++) { /* a constant operand */
    AfGraph *g = af_graph_new ("binary-const");
    gint64 xs[] = { 1, 6, 9, 10 }, cs[] = { 6, 1, 1 };
    AfTensor *x = af_input (g, "a", 4, xs);
    check (g, binaries[b].fn (g, x, wconst (g, "c", 3, cs, 0.5f, 2)), TRUE);
    af_graph_free (g);
  }
}

/* Standalone unary ops (a graph input has no producer to fuse into) are
 * bit-exact, on sizes spanning several blocks. */
static void
test_unary (void)
{
  AfTensor *(*fns[]) (AfGraph *, AfTensor *) = { af_relu, af_relu6, af_sigmoid, af_tanh,
                                                 af_silu, af_gelu,  af_exp };
  gint64 s[] = { 3, 7001 };
  for (guint i = 0; i <= G_N_ELEMENTS (fns); i++) {
    AfGraph *g = af_graph_new ("unary");
    AfTensor *x = af_input (g, "x", 2, s);
    check (g, i < G_N_ELEMENTS (fns) ? fns[i](g, x) : af_clip (g, x, -1.5f, 0.75f), TRUE);
    af_graph_free (g);
  }
}

/* batch_norm follows the reference formula term by term: bit-exact. */
static void
test_batch_norm (void)
{
  gint64 shapes[][4] = { { 1, 16, 33, 35 }, { 2, 5, 3, 1 }, { 3, 7, 1, 1 } };
  for (guint k = 0; k < G_N_ELEMENTS (shapes); k++) {
    AfGraph *g = af_graph_new ("bn");
    AfTensor *x = af_input (g, "x", k == 2 ? 2 : 4, shapes[k]);
    gint64 c[] = { shapes[k][1] };
    check (g,
           af_batch_norm (g, x, wconst (g, "s", 1, c, -2, 2), wconst (g, "b", 1, c, -1, 1),
                          wconst (g, "m", 1, c, -1, 1), wconst (g, "v", 1, c, 0.01f, 3), 1e-3f),
           TRUE);
    af_graph_free (g);
  }
}

/* transpose and nearest upsample move fp16 values exactly. */
static void
test_gather (void)
{
  gint64 s[] = { 2, 3, 5, 7 };
  int perms[][4] = { { 0, 2, 3, 1 }, { 3, 2, 1, 0 }, { 0, 1, 3, 2 }, { 1, 0, 2, 3 } };
  for (guint k = 0; k < G_N_ELEMENTS (perms); k++) {
    AfGraph *g = af_graph_new ("transpose");
    check (g, af_transpose (g, af_input (g, "x", 4, s), 4, perms[k]), TRUE);
    af_graph_free (g);
  }
  /* batches of 2-D transposes in 16 x 16 blocks: BlazeFace's NCHW -> NHWC
   * heads, NHWC -> NCHW, edge rows and columns (19 channels, 35 pixels),
   * a 3-D one, a 2-D one of one block */
  static const struct {
    int rank;
    gint64 s[4];
    int perm[4];
  } t2[] = {
    { 4, { 1, 32, 16, 16 }, { 0, 2, 3, 1 } },
    { 4, { 1, 8, 8, 96 }, { 0, 3, 1, 2 } },
    { 4, { 2, 19, 5, 7 }, { 0, 2, 3, 1 } },
    { 3, { 3, 40, 17 }, { 0, 2, 1 } },
    { 2, { 16, 16 }, { 1, 0 } },
  };
  for (guint k = 0; k < G_N_ELEMENTS (t2); k++) {
    AfGraph *g = af_graph_new ("transpose");
    check (g, af_transpose (g, af_input (g, "x", t2[k].rank, t2[k].s), t2[k].rank, t2[k].perm),
           TRUE);
    af_graph_free (g);
  }
  int scales[][2] = { { 2, 2 }, { 1, 3 }, { 3, 1 } };
  for (guint k = 0; k < G_N_ELEMENTS (scales); k++) {
    AfGraph *g = af_graph_new ("upsample");
    check (g, af_upsample (g, af_input (g, "x", 4, s), scales[k][0], scales[k][1]), TRUE);
    af_graph_free (g);
  }
}

/* mean / sum over trailing axes sum in the reference's order: bit-exact;
 * other axis sets still give the reference result (reference fallback). */
static void
test_reduce (void)
{
  gint64 s[] = { 2, 37, 9, 11 };
  int trailing[] = { 2, 3 }, last[] = { -1 }, middle[] = { 1 };
  for (int mean = 0; mean <= 1; mean++) {
    AfTensor *(*fn) (AfGraph *, AfTensor *, int, const int *, gboolean) = mean ? af_mean : af_sum;
    AfGraph *g = af_graph_new ("reduce");
    check (g, fn (g, af_input (g, "x", 4, s), 2, trailing, TRUE), FALSE);
    af_graph_free (g);
    g = af_graph_new ("reduce");
    check (g, fn (g, af_input (g, "x", 4, s), 1, last, FALSE), FALSE);
    af_graph_free (g);
    g = af_graph_new ("reduce");
    check (g, fn (g, af_input (g, "x", 4, s), 1, middle, TRUE), FALSE);
    af_graph_free (g);
  }
}

/* max_pool (padding, strides, ceil mode, kernels up to 5; dwconv.c's lanes,
 * phase-plane and max2 kernels and the row kernel of eltwise.c) is bit-exact,
 * signed zeros included (the later of equal values wins, as in the
 * reference); NaN inputs are outside the contract. */
static void
test_max_pool (void)
{
  static const struct {
    gint64 xs[4], k[2], s[2], pad[4];
    gboolean ceil;
  } cases[] = {
    { { 1, 5, 29, 31 }, { 3, 3 }, { 2, 2 }, { 1, 1, 1, 1 }, FALSE },
    { { 2, 3, 28, 27 }, { 3, 3 }, { 2, 2 }, { 0, 0, 0, 0 }, TRUE },
    { { 1, 4, 17, 40 }, { 2, 2 }, { 2, 2 }, { 0, 0, 0, 0 }, FALSE },
    { { 1, 2, 9, 11 }, { 5, 4 }, { 1, 3 }, { 2, 1, 0, 3 }, TRUE },
    { { 1, 3, 6, 7 }, { 3, 2 }, { 1, 1 }, { 1, 0, 1, 1 }, FALSE },
    /* stride-2 rows shorter than a 16-column step; a 1-pixel-wide plane */
    { { 1, 3, 9, 13 }, { 3, 3 }, { 2, 2 }, { 1, 1, 1, 1 }, TRUE },
    { { 1, 2, 5, 1 }, { 2, 1 }, { 1, 1 }, { 0, 0, 0, 0 }, FALSE },
    /* more than 20x20 outputs: the phase-plane kernel (smaller planes run
     * with channels in the lanes), strides 1 and 2 */
    { { 1, 3, 45, 47 }, { 3, 3 }, { 1, 1 }, { 1, 1, 1, 1 }, FALSE },
    { { 1, 2, 61, 57 }, { 3, 3 }, { 2, 2 }, { 0, 1, 1, 0 }, TRUE },
    /* stride 2 with 2 or 3 columns on AVX-512 (dwconv.c's max2 rows): 4
     * column blocks (the last partial), a 3x2 window, 2 rows of 16 */
    { { 1, 2, 112, 111 }, { 3, 3 }, { 2, 2 }, { 1, 1, 1, 1 }, FALSE },
    { { 1, 2, 40, 75 }, { 3, 2 }, { 2, 2 }, { 0, 1, 1, 0 }, TRUE },
    { { 1, 2, 7, 64 }, { 2, 3 }, { 2, 2 }, { 1, 0, 0, 1 }, TRUE },
    /* a plane too large for the whole-plane kernel: the row kernel */
    { { 1, 1, 1500, 1500 }, { 3, 3 }, { 1, 1 }, { 1, 1, 1, 1 }, FALSE },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    for (int ties = 0; ties <= 1; ties++) {
      AfGraph *g = af_graph_new ("max_pool");
      AfPoolParams p = { { cases[k].k[0], cases[k].k[1] },
                         { cases[k].s[0], cases[k].s[1] },
                         { cases[k].pad[0], cases[k].pad[1], cases[k].pad[2], cases[k].pad[3] },
                         cases[k].ceil,
                         FALSE };
      check (g, af_max_pool (g, af_input (g, "x", 4, cases[k].xs), &p), ties ? 2 : 0);
      af_graph_free (g);
    }
}

/* The image port (uint8 * scale + bias) is bit-exact. */
static void
test_image_port (void)
{
  gint64 xs[] = { 2, 3, 37, 41 };
  float scale[] = { 1.0f / 255, 0.017f, 2 }, bias[] = { -0.5f, 0.25f, -100 };
  AfGraph *g = af_graph_new ("image");
  check (g, af_image_input (g, "image", xs, AF_PIXEL_RGB, 3, scale, 3, bias), 0);
  af_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eltwise/binary", test_binary);
  g_test_add_func ("/eltwise/unary", test_unary);
  g_test_add_func ("/eltwise/batch-norm", test_batch_norm);
  g_test_add_func ("/eltwise/gather", test_gather);
  g_test_add_func ("/eltwise/reduce", test_reduce);
  g_test_add_func ("/eltwise/max-pool", test_max_pool);
  g_test_add_func ("/eltwise/image-port", test_image_port);
  return g_test_run ();
}
