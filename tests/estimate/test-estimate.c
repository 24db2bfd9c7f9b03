/* test-estimate — the chip table and the cost model (docs/estimate.md):
 * the table against ANCHORS.md's own projections, the target lookup and its
 * fallback, the formulas against hand-computed cases (one conv, a fused
 * region, a segmented plan with one bridge), the segments against the ANE
 * export's, the dispatch-floor warning, and every published figure of
 * targets.def against its estimate. */
#include "estimate.h"
#include "targets.h"
#include "workloads.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* |got - want| within @rel of @want. */
#define assert_close(got, want, rel)                                                               \
  G_STMT_START                                                                                     \
  {                                                                                                \
    double g_ = (got), w_ = (want);                                                                \
    if (!(fabs (g_ - w_) <= (rel) *fabs (w_)))                                                     \
      g_error ("%s = %.6f, expected %.6f (+-%g)", #got, g_, w_, (double) (rel));                   \
  }                                                                                                \
  G_STMT_END

static AfTarget
target (const char *name)
{
  AfTarget t;
  g_autofree char *warning = NULL;
  af_target_resolve (name, &t, &warning);
  g_assert_null (warning);
  return t;
}

static AfEstimate *
estimate (AfGraph *g, const char *name)
{
  GError *error = NULL;
  AfEstimate *e = af_graph_estimate (g, name, &error);
  g_assert_no_error (error);
  return e;
}

/* ------------------------------------------------------------ the table */

/* A value published with 2-3 significant digits matches to half its last
 * digit, or 0.6 %. */
static gboolean
published_match (double got, double want)
{
  return fabs (got - want) <= MAX (0.006 * fabs (want), 0.0051);
}

/* Every curve's own target reproduces ANCHORS.md §6.2's derived columns:
 * floor by fmax, BW by cores, peak and project_peak by cores x eff clock,
 * each from the right anchor. */
static void
test_table_projections (void)
{
  guint checked = 0;
  for (guint i = 0; i < af__curve_count (); i++) {
    const AfCurveRow *c = af__curve_row (i);
    g_autofree char *arch = g_ascii_strdown (c->name, -1);
    AfTarget t = target (arch);
    g_assert_cmpstr (t.curve, ==, c->name);
    double got[] = { t.project_peak_tflops, t.rel_m1, t.floor_us, t.bw_gbs, t.peak_tflops };
    double want[] = { c->t_project_peak, c->t_rel_m1, c->t_floor_us, c->t_bw_gbs,
                      c->t_peak_tflops };
    static const char *const col[] = { "project_peak", "x M1", "floor", "BW", "analytic TF" };
    for (guint k = 0; k < G_N_ELEMENTS (got); k++)
      if (!published_match (got[k], want[k]))
        g_error ("%s %s: %.4f, ANCHORS.md §6.2 publishes %.4g", arch, col[k], got[k], want[k]);
    checked++;
  }
  g_assert_cmpuint (checked, ==, 14);
}

static void
test_table_targets (void)
{
  /* ANCHORS.md §6.1: 28 targets; family sizes 4, 3, 3, 4 (m11 in A15), 11, and U1-U3 */
  g_assert_cmpuint (af_target_count (), ==, 28);
  guint per_family[6] = { 0 };
  for (guint i = 0; i < af_target_count (); i++) {
    AfTarget t;
    g_autofree char *w = NULL;
    af_target_resolve (af_target_name (i), &t, &w);
    per_family[w ? 0 : t.family]++;
  }
  g_assert_cmpuint (per_family[0], ==, 3);
  g_assert_cmpuint (per_family[1], ==, 4);
  g_assert_cmpuint (per_family[2], ==, 3);
  g_assert_cmpuint (per_family[3], ==, 3);
  g_assert_cmpuint (per_family[4], ==, 4);
  g_assert_cmpuint (per_family[5], ==, 11);
  /* limits and streams (§6.1) */
  AfTarget h15 = target ("h15"), h16 = target ("h16"), m1 = target ("m1"), m2 = target ("m2");
  g_assert_cmpint (h15.max_tensor_dim, ==, 16384);
  g_assert_cmpint (h15.conv_kw_max, ==, 13);
  g_assert_cmpint (h15.reduction_transpose_extent, ==, 384);
  g_assert_cmpint (h16.max_tensor_dim, ==, 65536);
  g_assert_cmpint (h16.conv_kw_max, ==, 15);
  g_assert_cmpint (h16.transpose_extent, ==, 16777215);
  g_assert_cmpint (m1.channel_extent, ==, 65536);
  g_assert_cmpint (m1.reduction_transpose_extent, ==, 192);
  g_assert_cmpuint (m1.streams, ==, AF_STREAM_INT4 | AF_STREAM_SPARSE);
  g_assert_cmpuint (m2.streams, ==, AF_STREAM_INT4 | AF_STREAM_INT8 | AF_STREAM_SPARSE);
  g_assert_cmpuint (h15.streams, ==,
                    AF_STREAM_INT4 | AF_STREAM_INT8 | AF_STREAM_SPARSE | AF_STREAM_BLOCKWISE);
}

/* Names, aliases, the per-family curve fallback, provenance, and the
 * seed's family-2 fallback with a warning. */
static void
test_lookup (void)
{
  g_assert_cmpstr (target ("m1").name, ==, "h13");
  g_assert_cmpstr (target ("M5").name, ==, "h17s");
  g_assert_cmpstr (target ("m4").name, ==, "h16");
  g_assert_cmpstr (target ("h14g").curve, ==, "H14");
  g_assert_cmpstr (target ("h18").curve, ==, "H16s");
  g_assert_cmpstr (target ("h15g").curve, ==, "H15");
  AfTarget h15 = target ("h15"), h16 = target ("h16"), h13g = target ("h13g");
  g_assert_cmpstr (h15.anchor, ==, "h14");
  g_assert_cmpint (h15.provenance, ==, AF_PROVENANCE_ANALYTIC);
  g_assert_cmpstr (h16.anchor, ==, "h17s");
  g_assert_cmpint (h16.provenance, ==, AF_PROVENANCE_ANCHOR); /* A16 folds into h17s */
  g_assert_cmpint (h13g.provenance, ==, AF_PROVENANCE_ANCHOR);
  g_assert_cmpint (target ("h11").provenance, ==, AF_PROVENANCE_ANALYTIC);
  g_assert_cmpint (target ("m5-measured").provenance, ==, AF_PROVENANCE_MEASURED);

  const char *const unknown[] = { "m7", "u2", "" };
  for (guint i = 0; i < G_N_ELEMENTS (unknown); i++) {
    AfTarget t;
    g_autofree char *w = NULL;
    af_target_resolve (unknown[i], &t, &w);
    g_assert_nonnull (w);
    g_assert_nonnull (strstr (w, "family 2/h13"));
    g_assert_cmpstr (t.name, ==, "h13");
    g_assert_cmpint (t.family, ==, 2);
  }

  /* host: ANEFORGE_TARGET first; this Linux machine is no Apple chip */
  g_setenv ("ANEFORGE_TARGET", "h15c", TRUE);
  g_assert_cmpstr (target ("host").name, ==, "h15c");
  g_unsetenv ("ANEFORGE_TARGET");
#ifndef __APPLE__
  AfTarget t;
  g_autofree char *w = NULL;
  af_target_resolve ("host", &t, &w);
  g_assert_nonnull (w);
  g_assert_cmpint (t.family, ==, 2);
#endif

  /* no curve: no estimate */
  AfGraph *g = af_graph_new ("one");
  gint64 s[] = { 1, 8 };
  af_graph_add_output (g, "y", af_relu (g, af_input (g, "x", 2, s)));
  GError *error = NULL;
  g_assert_null (af_graph_estimate (g, "m9", &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "\"m9\""));
  g_error_free (error);
  af_graph_free (g);
}

/* ------------------------------------------------------------ formulas */

static AfTensor *
zeros (AfGraph *g, int rank, const gint64 *shape)
{
  static guint n;
  g_autofree float *data = g_new0 (float, af_shape_numel (rank, shape));
  g_autofree char *name = g_strdup_printf ("w%u", n++);
  return af_weight (g, name, rank, shape, data);
}

/* x [1, C, 32, 32] -> conv 3x3 same-pad C -> C, no bias */
static AfTensor *
conv3x3 (AfGraph *g, AfTensor *x, gint64 c)
{
  gint64 ws[] = { c, c, 3, 3 };
  AfConvParams p = AF_CONV_PARAMS_INIT;
  p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
  return af_conv (g, x, zeros (g, 4, ws), NULL, &p);
}

static AfGraph *
one_conv (gint64 c)
{
  AfGraph *g = af_graph_new ("conv");
  gint64 xs[] = { 1, c, 32, 32 };
  af_graph_add_output (g, "y", conv3x3 (g, af_input (g, "x", 4, xs), c));
  return g;
}

/* One conv, C = 256, 32 x 32, by hand:
 *   flops = 2 x 256 x 32 x 32 (output) x 256 x 3 x 3 = 1 207 959 552
 *   bytes = (262 144 in + 589 824 weight + 262 144 out) x 2 = 2 228 224
 * h17s: floor 110, BW 57 GB/s = 57e3 B/us, peak 8.9e6 flop/us:
 *   compute 135.7258 us > memory 39.0916 us -> 110 + 135.7258 = 245.7258
 * h13: floor 220, 9e3 B/us, 3.25e6 flop/us: compute 371.6799 > memory
 *   247.5804 -> 591.6799
 * h14 (util F = 1.8e10, q = 0.38): eff = (1.2079596e9 / 1.8e10)^0.38 =
 *   0.358242, compute = 1.2079596e9 / (7.3e6 x 0.358242) = 461.9055,
 *   memory 2228224 / 48e3 = 46.4213 -> 100 + 461.9055 = 561.9055
 * m5-measured: max(63.3, 20.2566, 61.5678) = 63.3, the floor -> 63.3 */
static void
test_formula_conv (void)
{
  AfGraph *g = one_conv (256);
  AfEstimate *e = estimate (g, "h17s");
  g_assert_cmpuint (e->n_segments, ==, 1);
  g_assert_cmpuint (e->n_nodes, ==, 1);
  assert_close (e->nodes[0].flops, 1207959552.0, 1e-12);
  assert_close (e->nodes[0].bytes, 2228224.0, 1e-12);
  assert_close (e->total_us, 245.7258, 1e-6);
  g_assert_cmpint (e->nodes[0].bound, ==, AF_BOUND_COMPUTE);
  g_assert_cmpint (e->nodes[0].provenance, ==, AF_PROVENANCE_ANCHOR);
  g_assert_false (e->floor_bound);
  af_estimate_free (e);

  e = estimate (g, "h13");
  assert_close (e->total_us, 591.6799, 1e-6);
  af_estimate_free (e);

  e = estimate (g, "h14");
  assert_close (e->total_us, 561.905544, 1e-8);
  g_assert_cmpint (e->nodes[0].bound, ==, AF_BOUND_COMPUTE);
  af_estimate_free (e);

  e = estimate (g, "m5-measured");
  assert_close (e->total_us, 63.3, 1e-9);
  g_assert_cmpint (e->nodes[0].bound, ==, AF_BOUND_FLOOR);
  g_assert_cmpint (e->nodes[0].provenance, ==, AF_PROVENANCE_MEASURED);
  g_assert_true (e->floor_bound);
  af_estimate_free (e);
  af_graph_free (g);

  /* C = 16 on h15 (extrapolated from h14): memory-bound.
   *   flops 2 x 16 x 1024 x 16 x 9 = 4 718 592, bytes (16384 + 2304 + 16384) x 2 = 70 144
   *   h15: floor 100 x 1938 / 2064 = 93.8953, BW 48 x 4/4 = 48e3 B/us -> 1.4613 us,
   *   peak 7.3e6 x 1205/1157 = 7.6029e6, util F 1.8e10 x 1205/1157 = 1.87468e10:
   *   eff (4718592 / 1.87468e10)^0.38 = 0.042887 -> compute 14.4710 us -> compute-bound
   *   total 93.8953 + 14.4710 = 108.3664 */
  g = one_conv (16);
  e = estimate (g, "h15");
  assert_close (e->total_us, 108.366368, 1e-8);
  g_assert_cmpint (e->nodes[0].bound, ==, AF_BOUND_COMPUTE);
  g_assert_cmpint (e->nodes[0].provenance, ==, AF_PROVENANCE_ANALYTIC);
  af_estimate_free (e);
  /* the same on h17s (no ramp): compute 0.530179, memory 70144 / 57e3 = 1.230596 */
  e = estimate (g, "h17s");
  assert_close (e->total_us, 111.230596, 1e-8);
  g_assert_cmpint (e->nodes[0].bound, ==, AF_BOUND_MEMORY);
  g_assert_true (e->floor_bound);
  af_estimate_free (e);
  af_graph_free (g);
}

/* A fused region: conv (C = 512, 32 x 32) -> relu -> residual add.
 *   conv: flops 2 x 512 x 1024 x 512 x 9 = 4 831 838 208;
 *         bytes (524288 + 2359296 + 524288) x 2 = 6 815 744
 *   relu: bytes (524288 + 524288) x 2 = 2 097 152
 *   add:  bytes (3 x 524288) x 2 = 3 145 728
 * m5-measured (floor 63.3, 1.1e5 B/us, 1.962e7 flop/us):
 *   conv max(63.3, 61.9613, 246.2711) = 246.2711 -> 182.9711 above the floor
 *   relu max(63.3, 19.0650) = 63.3 -> 0;  add max(63.3, 28.5975) -> 0
 *   region = 63.3 + 182.9711 = 246.2711
 * h17s (analytic: no floor per node):
 *   110 + 542.9032 (conv compute) + 36.7921 (relu) + 55.1882 (add) = 744.8835 */
static void
test_formula_region (void)
{
  AfGraph *g = af_graph_new ("region");
  gint64 xs[] = { 1, 512, 32, 32 };
  AfTensor *x = af_input (g, "x", 4, xs);
  af_graph_add_output (g, "y", af_add (g, af_relu (g, conv3x3 (g, x, 512)), x));
  AfEstimate *e = estimate (g, "m5-measured");
  g_assert_cmpuint (e->n_segments, ==, 1);
  g_assert_cmpuint (e->n_nodes, ==, 3);
  assert_close (e->total_us, 246.2711, 1e-6);
  g_assert_cmpint (e->nodes[0].bound, ==, AF_BOUND_COMPUTE);
  g_assert_cmpint (e->nodes[1].bound, ==, AF_BOUND_FLOOR);
  assert_close (e->nodes[1].added_us, 0, 0);
  af_estimate_free (e);
  e = estimate (g, "h17s");
  assert_close (e->total_us, 744.8835, 1e-6);
  g_assert_cmpint (e->nodes[2].bound, ==, AF_BOUND_MEMORY);
  af_estimate_free (e);
  af_graph_free (g);
}

/* A segmented plan with one bridge: x [1, 64, 8, 8] -> relu -> argmax over
 * the channels (a host step) -> mul by a constant [1]:
 *   relu   bytes (4096 + 4096) x 2 = 16 384
 *   argmax bytes (4096 + 64) x 2 = 8 320
 *   mul    bytes (64 + 1 + 64) x 2 = 258
 * h17s: program 110 + 16384/57e3 = 110.287439; host 200 (cut) + 8320/57e3 =
 *   200.145965; program 110 + 258/57e3 = 110.004526 -> 420.437930
 * m5-measured: 63.3 + 0; host 75.6 + max(63.3, 0.0756) = 138.9; 63.3 + 0
 *   -> 265.5 */
static void
test_formula_segmented (void)
{
  AfGraph *g = af_graph_new ("segmented");
  gint64 xs[] = { 1, 64, 8, 8 }, one[] = { 1 };
  AfTensor *i = af_argmax (g, af_relu (g, af_input (g, "x", 4, xs)), 1, TRUE);
  af_graph_add_output (g, "y", af_mul (g, i, zeros (g, 1, one)));
  AfEstimate *e = estimate (g, "h17s");
  g_assert_cmpuint (e->n_segments, ==, 3);
  g_assert_cmpuint (e->n_programs, ==, 2);
  g_assert_cmpuint (e->n_host, ==, 1);
  g_assert_true (e->segments[1].host);
  g_assert_nonnull (strstr (e->segments[1].reason, "bridge"));
  assert_close (e->segments[0].us, 110.287439, 1e-8);
  assert_close (e->segments[1].us, 200.145965, 1e-8);
  assert_close (e->total_us, 420.437930, 1e-8);
  assert_close (e->floor_total_us, 420.0, 1e-12);
  af_estimate_free (e);
  e = estimate (g, "m5-measured");
  assert_close (e->total_us, 265.5, 1e-9);
  af_estimate_free (e);
  af_graph_free (g);
}

/* The estimate's segments are the ANE export's: same count of programs and
 * host steps as af_graph_describe_ane on a graph cut twice. */
static void
test_segments_match_export (void)
{
  AfGraph *g = af_graph_new ("cuts");
  gint64 xs[] = { 1, 16, 8, 8 };
  AfTensor *x = af_relu (g, af_input (g, "x", 4, xs));
  AfTensor *a = af_argmax (g, x, 1, TRUE);
  AfTensor *b = af_topk (g, af_sigmoid (g, x), 2, 1, FALSE);
  af_graph_add_output (g, "a", af_relu (g, a));
  af_graph_add_output (g, "b", af_relu (g, b));
  GError *error = NULL;
  g_autofree char *text = af_graph_describe_ane (g, &error);
  g_assert_no_error (error);
  AfEstimate *e = estimate (g, "h16");
  g_autofree char *want =
      g_strdup_printf (": %u program%s per frame, %u host step%s", e->n_programs,
                       e->n_programs == 1 ? "" : "s", e->n_host, e->n_host == 1 ? "" : "s");
  if (!strstr (text, want))
    g_error ("estimate has \"%s\", the export:\n%s", want, text);
  g_assert_cmpuint (e->n_host, ==, 2);
  af_estimate_free (e);
  af_graph_free (g);
}

/* The dispatch-floor warning: said on a floor-bound program, not on a
 * compute-bound one. */
static void
test_floor_warning (void)
{
  AfGraph *g = one_conv (16);
  AfEstimate *e = estimate (g, "m1");
  g_assert_true (e->floor_bound);
  g_autofree char *w = af_estimate_floor_warning (e);
  g_assert_nonnull (w);
  g_assert_nonnull (strstr (w, "dispatch-floor-bound"));
  g_assert_nonnull (strstr (w, "single-in-flight"));
  af_estimate_free (e);
  af_graph_free (g);
  g = one_conv (256);
  e = estimate (g, "m1");
  g_assert_false (e->floor_bound);
  g_assert_null (af_estimate_floor_warning (e));
  g_autofree char *text = af_estimate_describe (e);
  g_assert_nonnull (strstr (text, "estimate on h13: 591.7 us"));
  af_estimate_free (e);
  af_graph_free (g);
}

/* ------------------------------------------------------------ published */

/* The published rows the seed's model misses by more than 25 %, and why
 * (docs/estimate.md has the analysis). A listed row that comes within 25 %
 * fails as well as an unlisted one that misses: the list stays true. For
 * "m5-measured" every M5 Pro row is listed: the seed calls that model a
 * pruner, and its per-node floor discount leaves little above the floor. */
static const struct {
  const char *source, *why;
} outside_analytic[] = {
  { "§5.1 M5 Pro ResNet-18", "every activation charged as DRAM traffic; weights alone take "
                             "410 us at 57 GB/s" },
  { "§5.2 M5 Pro GEMM 128x1024x1024", "floor 110 us + 2.6 MB at 57 GB/s > the 85.8 us measured" },
  { "§5.2 M5 Pro conv resnet-ish C256 x16", "the anchor peak 8.9 TFLOP/s vs 24.3 measured here" },
  { "§5.2 M5 Pro attention ViT S197",
    "reshape/transpose/softmax activations charged as DRAM traffic" },
  { "§5.2 M5 Pro attention S512", "reshape/transpose/softmax activations charged as DRAM traffic" },
  { "§5.2 M1 GEMM floor 64x256x256", "the M1 fit's floor 220 us exceeds the 164 us measured" },
  { "§5.2 M1 GEMM 128x1024x1024", "9 GB/s BW fit (the seed: M1 BW over-predicts 4-5x)" },
  { "§5.2 M1 GEMM 256x4096x4096", "9 GB/s BW fit (the seed: M1 BW over-predicts 4-5x)" },
  { "§5.2 M1 conv resnet-ish C256 x16", "the anchor peak 3.25 TFLOP/s vs 9.6 measured here" },
  { "§5.2 M1 attention ViT S197", "9 GB/s BW fit charged on every activation" },
  { "§5.2 M1 attention S512", "9 GB/s BW fit charged on every activation" },
};

static const char *
outside_why (const AfTestPoint *p, gboolean measured)
{
  if (measured)
    return "m5-measured: a pruner";
  for (guint i = 0; i < G_N_ELEMENTS (outside_analytic); i++)
    if (strcmp (outside_analytic[i].source, p->source) == 0)
      return outside_analytic[i].why;
  return NULL;
}

/* Checks one estimate of @p against its published figure; prints the
 * docs/estimate.md row. */
static void
check_point (const AfTestPoint *p, AfGraph *g, const char *model)
{
  AfEstimate *e = estimate (g, model);
  double dev = e->total_us / p->published_us - 1;
  const char *why = outside_why (p, strcmp (model, "m5-measured") == 0);
  printf ("| %s | %s | %.1f | %.1f | %+.0f %% | %s | %s |\n", p->source, model, p->published_us,
          e->total_us, dev * 100, af_provenance_name (e->target.provenance),
          why ? why : "within 25 %");
  if (!why && fabs (dev) > 0.25)
    g_error ("%s on %s: estimate %.1f us, published %.1f us: %+.0f %%, outside 25 %%", p->source,
             model, e->total_us, p->published_us, dev * 100);
  if (why && fabs (dev) <= 0.25)
    g_error ("%s on %s: estimate %.1f us is within 25 %% of %.1f us now; drop it from the "
             "outside list (%s)",
             p->source, model, e->total_us, p->published_us, why);
  af_estimate_free (e);
}

/* Every published figure of targets.def (AF_POINT) against the estimate of
 * the graph it was measured on: on its chip's analytic model, and for the
 * M5 Pro on the measured model too. */
static void
test_published (void)
{
  g_assert_cmpuint (af_test_n_points, ==, 15);
  for (guint i = 0; i < af_test_n_points; i++) {
    const AfTestPoint *p = &af_test_points[i];
    GError *error = NULL;
    AfGraph *g = af_test_workload (p, &error);
    g_assert_no_error (error);
    check_point (p, g, p->arch);
    if (strcmp (p->arch, "h17s") == 0)
      check_point (p, g, "m5-measured");
    af_graph_free (g);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/estimate/table/projections", test_table_projections);
  g_test_add_func ("/estimate/table/targets", test_table_targets);
  g_test_add_func ("/estimate/lookup", test_lookup);
  g_test_add_func ("/estimate/formula/conv", test_formula_conv);
  g_test_add_func ("/estimate/formula/region", test_formula_region);
  g_test_add_func ("/estimate/formula/segmented", test_formula_segmented);
  g_test_add_func ("/estimate/segments-match-export", test_segments_match_export);
  g_test_add_func ("/estimate/floor-warning", test_floor_warning);
  g_test_add_func ("/estimate/published", test_published);
  return g_test_run ();
}
