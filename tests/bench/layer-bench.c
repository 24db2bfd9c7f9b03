/* layer-bench.c — one layer in a graph of its own, compiled and timed: the
 * CPU backend's kernels in isolation (a benchmark, not a test).
 *
 *   layer-bench [-t THREADS] [-n RUNS] [-c 1] conv CIN COUT H W K STRIDE PAD GROUPS
 *   layer-bench [-t THREADS] [-n RUNS] [-c 1] maxpool C H W K STRIDE PAD
 *   layer-bench [-t THREADS] [-n RUNS] [-c 1] gap C H W
 *   layer-bench [-t THREADS] [-n RUNS] [-c 1] linear K N
 *
 * Prints the median and the minimum over RUNS executes (after 10 warm-up
 * runs) and the GFLOP/s of the median (2 x MACs for conv and linear).
 * -c 1: cold caches — 64 MiB are touched between runs (untimed), so the
 * weights come from memory as in a model whose weights exceed the caches. */
#include "aneforge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static float *
random_floats (gint64 n, float scale)
{
  float *v = g_new (float, n);
  GRand *r = g_rand_new_with_seed (7);
  for (gint64 i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (r, -scale, scale);
  g_rand_free (r);
  return v;
}

static AfTensor *
build_conv (AfGraph *g, char **a, double *flops)
{
  gint64 cin = atoll (a[0]), cout = atoll (a[1]), h = atoll (a[2]), w = atoll (a[3]);
  gint64 k = atoll (a[4]), s = atoll (a[5]), p = atoll (a[6]), groups = atoll (a[7]);
  gint64 xs[4] = { 1, cin, h, w }, ws[4] = { cout, cin / groups, k, k }, bs[1] = { cout };
  float *wv = random_floats (ws[0] * ws[1] * k * k, 0.1f), *bv = random_floats (cout, 0.1f);
  AfTensor *x = af_input (g, "x", 4, xs);
  AfConvParams cp = { { s, s }, { p, p, p, p }, { 1, 1 }, groups };
  AfTensor *y = af_relu (
      g, af_conv (g, x, af_weight (g, "w", 4, ws, wv), af_weight (g, "b", 1, bs, bv), &cp));
  gint64 oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1;
  *flops = 2.0 * cout * oh * ow * (cin / groups) * k * k;
  g_free (wv);
  g_free (bv);
  return y;
}

static AfTensor *
build_pool (AfGraph *g, char **a, gboolean global)
{
  gint64 c = atoll (a[0]), h = atoll (a[1]), w = atoll (a[2]);
  gint64 xs[4] = { 1, c, h, w };
  AfTensor *x = af_input (g, "x", 4, xs);
  if (global)
    return af_global_avg_pool (g, x);
  gint64 k = atoll (a[3]), s = atoll (a[4]), p = atoll (a[5]);
  AfPoolParams pp = { { k, k }, { s, s }, { p, p, p, p }, FALSE, FALSE };
  return af_max_pool (g, x, &pp);
}

static AfTensor *
build_linear (AfGraph *g, char **a, double *flops)
{
  gint64 k = atoll (a[0]), n = atoll (a[1]);
  gint64 xs[2] = { 1, k }, ws[2] = { n, k }, bs[1] = { n };
  float *wv = random_floats (n * k, 0.05f), *bv = random_floats (n, 0.1f);
  AfTensor *y = af_linear (g, af_input (g, "x", 2, xs), af_weight (g, "w", 2, ws, wv),
                           af_weight (g, "b", 1, bs, bv));
  *flops = 2.0 * n * k;
  g_free (wv);
  g_free (bv);
  return y;
}

int
main (int argc, char **argv)
{
  int threads = 1, runs = 200;
  gboolean cold = FALSE;
  int i = 1;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    if (!strcmp (argv[i], "-t"))
      threads = atoi (argv[i + 1]);
    else if (!strcmp (argv[i], "-n"))
      runs = MAX (atoi (argv[i + 1]), 1);
    else if (!strcmp (argv[i], "-c"))
      cold = atoi (argv[i + 1]) != 0;
  }
  static const struct {
    const char *name;
    int n_args;
  } kinds[] = { { "conv", 8 }, { "maxpool", 6 }, { "gap", 3 }, { "linear", 2 } };
  int kind = -1;
  for (guint j = 0; i < argc && j < G_N_ELEMENTS (kinds); j++)
    if (!strcmp (argv[i], kinds[j].name) && argc - i - 1 == kinds[j].n_args)
      kind = (int) j;
  if (kind < 0) {
    fprintf (stderr,
             "usage: %s [-t THREADS] [-n RUNS] [-c 1] conv CIN COUT H W K STRIDE PAD GROUPS\n"
             "       ... maxpool C H W K STRIDE PAD | gap C H W | linear K N\n",
             argv[0]);
    return 2;
  }
  char **a = argv + i + 1;
  AfGraph *g = af_graph_new ("layer");
  double flops = 0;
  AfTensor *y = kind == 0   ? build_conv (g, a, &flops)
                : kind == 3 ? build_linear (g, a, &flops)
                            : build_pool (g, a, kind == 2);
  af_graph_add_output (g, "y", y);
  AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
  o.threads = threads;
  GError *error = NULL;
  AfModel *m = af_compile (g, &o, &error);
  if (!m) {
    fprintf (stderr, "layer-bench: %s\n", error->message);
    return 1;
  }
  guint16 *x = af_model_input_view (m, 0, NULL);
  gint64 n_in = 1;
  gint64 shape[AF_MAX_RANK];
  int rank = af_tensor_shape (af_graph_lookup (g, "x"), shape);
  for (int d = 0; d < rank; d++)
    n_in *= shape[d];
  float *xv = random_floats (n_in, 1.0f);
  af_f32_to_fp16_n (xv, x, (gsize) n_in);
  double *t = g_new (double, runs);
  for (int r = 0; r < 10; r++)
    af_model_execute (m, NULL);
  gsize evict_n = cold ? (gsize) 64 << 20 : 0;
  guint8 *evict = cold ? g_malloc0 (evict_n) : NULL;
  for (int r = 0; r < runs; r++) {
    for (gsize j = 0; j < evict_n; j += 64) /* not memset: it may bypass the caches */
      evict[j]++;
    gint64 t0 = g_get_monotonic_time ();
    af_model_execute (m, NULL);
    t[r] = (g_get_monotonic_time () - t0) / 1000.0;
  }
  qsort (t, runs, sizeof (double), cmp_double);
  double med = t[runs / 2];
  printf ("%s threads %d: median %.4f ms, min %.4f ms", kinds[kind].name, threads, med, t[0]);
  if (flops > 0)
    printf (", %.1f GFLOP/s", flops / (med * 1e6));
  printf ("\n");
  g_free (t);
  g_free (evict);
  g_free (xv);
  af_model_free (m);
  af_graph_free (g);
  return 0;
}
