/* test-backends.c — the backend interface: the registry by name (ane fails
 * clearly off a Mac), ane-sim's program per segment giving the CPU
 * backend's bits, the capability table steering fusion and partitioning
 * without changing a bit, and a program bound to a second arena. */
#include "runtime.h"
#include "backends/cpu/cpu.h"
#include "fixtures.h"

#include <string.h>

/* A graph of three segments: a fused region, a topk bridge stage, and a
 * region after it; a second output is read from the first region. */
static AfGraph *
segmented_net (void)
{
  AfGraph *g = af_graph_new ("segmented");
  gint64 xs[] = { 1, 3, 9, 7 }, ws[] = { 4, 3, 3, 3 }, bs[] = { 4 }, flat[] = { 1, 4 * 9 * 7 };
  float scale = 1.0f / 128, bias = -1;
  AfTensor *x = af_image_input (g, "image", xs, AF_PIXEL_RGB, 1, &scale, 1, &bias);
  AfConvParams p = AF_CONV_PARAMS_INIT;
  p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
  AfTensor *c =
      af_relu (g, af_conv (g, x, random_weight (g, "w", 4, ws), random_weight (g, "b", 1, bs), &p));
  AfTensor *top = af_topk (g, af_reshape (g, c, 2, flat), 5, -1, FALSE);
  af_graph_add_output (g, "top", af_sigmoid (g, af_add (g, top, top)));
  af_graph_add_output (g, "features", c);
  g_assert_null (af_graph_error (g));
  return g;
}

/* Compiles @g on @backend, runs it on fixed pixels, returns (transfer full)
 * the concatenated fp16 outputs; @n_segments gets the plan's segments. */
static guint16 *
run_on (AfGraph *g, const AfBackend *backend, int threads, gsize *n_out, guint *n_segments)
{
  AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
  o.threads = threads;
  GError *error = NULL;
  AfModel *m = af__compile_on (g, &o, backend, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_model_backend_name (m), ==, backend->name);
  *n_segments = af_model_n_segments (m);
  AfTensorInfo info;
  af_model_input_info (m, 0, &info);
  guint8 *px = af_model_input_view (m, 0, NULL);
  for (gint64 i = 0; i < af_shape_numel (info.rank, info.shape); i++)
    px[i] = (guint8) ((i * 97 + 13) % 256);
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

static void
assert_same_bits (const guint16 *a, gsize n_a, const guint16 *b, gsize n_b, const char *what)
{
  g_assert_cmpuint (n_a, ==, n_b);
  for (gsize i = 0; i < n_a; i++)
    if (a[i] != b[i])
      g_error ("%s: output element %" G_GSIZE_FORMAT ": 0x%04x, expected 0x%04x", what, i, a[i],
               b[i]);
}

/* The registry finds cpu and ane-sim; ane is unavailable off a Mac with an
 * AF_ERROR_UNSUPPORTED naming macOS; an unknown name lists the known ones;
 * auto means the CPU here. */
static void
test_registry (void)
{
  GError *error = NULL;
  g_assert_true (af_backend_lookup ("cpu", &error) == &af_backend_cpu);
  g_assert_no_error (error);
  g_assert_true (af_backend_lookup ("ane-sim", &error) == &af_backend_ane_sim);
  g_assert_no_error (error);
#if !(defined(__APPLE__) && defined(__aarch64__))
  g_assert_null (af_backend_lookup ("ane", &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "backend \"ane\" is not available"));
  g_assert_nonnull (strstr (error->message, "macOS on Apple silicon"));
  g_clear_error (&error);
  g_assert_true (af_backend_auto () == &af_backend_cpu);
#endif
  g_assert_null (af_backend_lookup ("tpu", &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "known: cpu, ane, ane-sim"));
  g_clear_error (&error);
}

/* ane-sim compiles a program per segment (regions and the bridge stage)
 * and its outputs are the CPU backend's single program's, bit for bit, on
 * 1 and 2 threads, for a segmented and a one-region graph. */
static void
test_ane_sim_bit_exact (void)
{
  AfGraph *graphs[] = { segmented_net (), tiny_cnn () };
  guint want_segments[] = { 3, 1 };
  for (guint k = 0; k < G_N_ELEMENTS (graphs); k++)
    for (int threads = 1; threads <= 2; threads++) {
      gsize n_cpu, n_sim;
      guint seg_cpu, seg_sim;
      g_autofree guint16 *cpu = run_on (graphs[k], &af_backend_cpu, threads, &n_cpu, &seg_cpu);
      g_autofree guint16 *sim = run_on (graphs[k], &af_backend_ane_sim, threads, &n_sim, &seg_sim);
      g_assert_cmpuint (seg_cpu, ==, want_segments[k]);
      g_assert_cmpuint (seg_sim, ==, want_segments[k]);
      assert_same_bits (sim, n_sim, cpu, n_cpu, af_graph_name (graphs[k]));
    }
  for (guint k = 0; k < G_N_ELEMENTS (graphs); k++)
    af_graph_free (graphs[k]);
}

/* A test backend's regions refuse softmax, saying why. */
static gboolean
no_softmax (const AfStep *step, const char **why)
{
  if (step->node->op != AF_OP_SOFTMAX)
    return TRUE;
  *why = "softmax stays on the host in this test";
  return FALSE;
}

/* Builds @g's plan for @caps and checks its shape: @n_steps steps,
 * @n_fused epilogue ops in all, @n_segments segments (the last a bridge
 * stage when @last_bridge); @log_has must appear in the pass log. */
static void
check_plan (AfGraph *g, const AfBackendCaps *caps, guint n_steps, int n_fused, guint n_segments,
            gboolean last_bridge, const char *log_has)
{
  GError *error = NULL;
  AfPlan *plan = af__plan_build (g, 0, caps, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (plan->steps->len, ==, n_steps);
  int fused = 0;
  for (guint i = 0; i < plan->steps->len; i++)
    fused += g_array_index (plan->steps, AfStep, i).ep.n;
  g_assert_cmpint (fused, ==, n_fused);
  g_assert_cmpuint (plan->segments->len, ==, n_segments);
  AfSegment *last = &g_array_index (plan->segments, AfSegment, plan->segments->len - 1);
  g_assert_cmpint (last->route == AF_ROUTE_BRIDGE, ==, last_bridge);
  if (log_has)
    g_assert_nonnull (strstr (plan->log->str, log_has));
  af__plan_free (plan);
}

/* The fuse and partition passes follow the target's caps: no fusion when
 * max_epilogue is 0 (a step per op), only the listed joins with a table of
 * AF_FUSE_JOIN bits, and a cut where region_accepts refuses a step (a host
 * stage of its own, saying why). None of that changes an output bit, on the
 * CPU backend or on ane-sim's program per segment. */
static void
test_caps_steer_passes (void)
{
  AfGraph *g = tiny_cnn (); /* image, conv, relu, conv, relu6, pool, reshape, linear, softmax */
  static const guint8 relu_only[AF_OP_COUNT] = { [AF_OP_RELU] = AF_FUSE_JOIN };
  const AfBackendCaps no_fusion = { 0, NULL, NULL };
  const AfBackendCaps relu_joins = { 1, relu_only, NULL };
  const AfBackendCaps cut_softmax = { af_cpu_caps.max_epilogue, af_cpu_caps.fuse, no_softmax };
  check_plan (g, &af_cpu_caps, 7, 2, 1, FALSE, "fuse: relu6_");
  check_plan (g, &no_fusion, 9, 0, 1, FALSE, NULL);
  check_plan (g, &relu_joins, 8, 1, 1, FALSE, NULL);
  check_plan (g, &cut_softmax, 7, 2, 2, TRUE, "(softmax): softmax stays on the host in this test");

  gsize n_want, n;
  guint segments;
  g_autofree guint16 *want = run_on (g, &af_backend_cpu, 1, &n_want, &segments);
  const AfBackendCaps *all[] = { &no_fusion, &relu_joins, &cut_softmax };
  const AfBackend *hosts[] = { &af_backend_cpu, &af_backend_ane_sim };
  for (guint c = 0; c < G_N_ELEMENTS (all); c++)
    for (guint h = 0; h < G_N_ELEMENTS (hosts); h++) {
      AfBackend b = *hosts[h];
      b.caps = all[c];
      g_autofree guint16 *got = run_on (g, &b, 1, &n, &segments);
      g_autofree char *what = g_strdup_printf ("caps %u on %s", c, b.name);
      assert_same_bits (got, n, want, n_want, what);
    }
  af_graph_free (g);
}

/* Bound to a second arena (the inputs copied there), the same program
 * computes the same outputs there. */
static void
test_rebind (void)
{
  AfGraph *g = segmented_net ();
  AfModel *m = af_compile (g, NULL, NULL);
  g_assert_nonnull (m);
  guint8 *px = af_model_input_view (m, 0, NULL);
  AfTensorInfo info;
  af_model_input_info (m, 0, &info);
  for (gint64 i = 0; i < af_shape_numel (info.rank, info.shape); i++)
    px[i] = (guint8) (i * 31 % 256);
  g_assert_true (af_model_execute (m, NULL));
  gsize size = m->plan->arena_size;
  guint8 *other = g_malloc0 (size);
  memcpy (other + (px - m->arena), px, af_shape_numel (info.rank, info.shape));
  g_assert_true (m->backend->bind (m->program, other, NULL));
  g_assert_true (m->backend->execute (m->program, NULL));
  for (guint i = 0; i < af_model_n_outputs (m); i++) {
    const guint16 *a = af_model_output_view (m, i);
    af_model_output_info (m, i, &info);
    g_assert_cmpmem (other + ((const guint8 *) a - m->arena),
                     af_shape_numel (info.rank, info.shape) * 2, a,
                     af_shape_numel (info.rank, info.shape) * 2);
  }
  g_assert_true (m->backend->bind (m->program, m->arena, NULL));
  g_free (other);
  af_model_free (m);
  af_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/backends/registry", test_registry);
  g_test_add_func ("/backends/ane-sim-bit-exact", test_ane_sim_bit_exact);
  g_test_add_func ("/backends/caps-steer-passes", test_caps_steer_passes);
  g_test_add_func ("/backends/rebind", test_rebind);
  return g_test_run ();
}
