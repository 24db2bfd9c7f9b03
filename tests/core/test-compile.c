/* test-compile.c — the compiler: one fused program for a cut-free graph,
 * segmented plans at bridge ops, fusion that changes no result, arena reuse,
 * backend selection, the sticky builder error, zero allocations per frame. */
#include "runtime.h"
#include "fixtures.h"

#include <math.h>
#include <string.h>

/* Evaluates the graph node by node with the reference kernels, rounding to
 * fp16 at every op boundary: what the compiled program must reproduce. */
static void
reference_eval (AfGraph *g, const float *const *inputs, float **outputs)
{
  GPtrArray *order = g_ptr_array_new ();
  g_assert_true (af__graph_topo_order (g, order, NULL));
  float **val = g_new0 (float *, g->values->len);
  for (guint i = 0; i < g->values->len; i++) {
    AfTensor *t = g_ptr_array_index (g->values, i);
    if (t->kind == AF_VALUE_CONST) {
      gint64 n = af__shape_numel (&t->shape);
      val[i] = g_new (float, n);
      af__tensor_read_f32 (t, val[i]);
      for (gint64 k = 0; k < n; k++)
        val[i][k] = af_fp16_to_f32 (af_f32_to_fp16 (val[i][k]));
    }
  }
  for (guint i = 0; i < order->len; i++) {
    AfNode *n = g_ptr_array_index (order, i);
    gint64 numel = af__shape_numel (&n->out->shape);
    float *out = g_new (float, numel);
    guint input_index = 0;
    for (guint k = 0; k < g->inputs->len; k++)
      if (g_ptr_array_index (g->inputs, k) == n)
        input_index = k;
    if (n->op == AF_OP_INPUT) {
      for (gint64 k = 0; k < numel; k++)
        out[k] = inputs[input_index][k];
    } else if (n->op == AF_OP_IMAGE_INPUT) {
      const float *px[] = { inputs[input_index] };
      af_op_info[n->op].ref (n, px, out);
    } else {
      g_autofree const float **in = g_new (const float *, n->n_in);
      for (guint j = 0; j < n->n_in; j++)
        in[j] = val[n->in[j]->index];
      af_op_info[n->op].ref (n, in, out);
    }
    for (gint64 k = 0; k < numel; k++)
      out[k] = af_fp16_to_f32 (af_f32_to_fp16 (out[k]));
    val[n->out->index] = out;
  }
  for (guint i = 0; i < g->outputs->len; i++) {
    AfTensor *t = g_array_index (g->outputs, AfOutput, i).value;
    memcpy (outputs[i], val[t->index], af__shape_numel (&t->shape) * sizeof (float));
  }
  for (guint i = 0; i < g->values->len; i++)
    g_free (val[i]);
  g_free (val);
  g_ptr_array_unref (order);
}

static void
assert_close (const float *a, const float *b, gint64 n, float rel)
{
  for (gint64 i = 0; i < n; i++) {
    float tol = rel * MAX (1.0f, fabsf (b[i]));
    if (fabsf (a[i] - b[i]) > tol)
      g_error ("element %" G_GINT64_FORMAT ": got %g, expected %g", i, a[i], b[i]);
  }
}

/* A cut-free graph compiles to ONE fused program holding every graph op, with
 * the activations fused into their producers. */
static void
test_one_fused_program (void)
{
  AfGraph *g = tiny_cnn ();
  GError *error = NULL;
  AfModel *m = af_compile (g, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (af_model_n_segments (m), ==, 1);
  g_assert_cmpuint (af_model_n_ops (m), ==,
                    8); /* conv relu conv relu6 pool reshape linear softmax */
  g_assert_cmpuint (m->plan->steps->len, ==, 7); /* port + 6: relu and relu6 fused */
  g_assert_cmpstr (af_model_backend_name (m), ==, "cpu");
  af_model_free (m);
  af_graph_free (g);
}

/* The compiled program reproduces the node-by-node reference evaluation, on
 * 1 and 2 threads. */
static void
test_matches_reference (void)
{
  AfGraph *g = tiny_cnn ();
  gint64 n_px = 3 * 17 * 13;
  float *px = g_new (float, n_px), want[10], got[10];
  for (gint64 i = 0; i < n_px; i++)
    px[i] = (float) ((i * 37) % 256);
  const float *ins[] = { px };
  float *wants[] = { want }, *gots[] = { got };
  reference_eval (g, ins, wants);
  for (int threads = 1; threads <= 2; threads++) {
    AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
    o.threads = threads;
    AfModel *m = af_compile (g, &o, NULL);
    g_assert_true (af_model_run (m, ins, gots, NULL));
    assert_close (got, want, 10, 2e-3f);
    af_model_free (m);
  }
  g_free (px);
  af_graph_free (g);
}

/* argmax and topk cut the graph: fused region, bridge stage, fused region;
 * results equal the host computation. */
static void
test_segmented_plan (void)
{
  AfGraph *g = af_graph_new ("seg");
  gint64 xs[] = { 2, 50 };
  AfTensor *x = af_input (g, "x", 2, xs);
  AfTensor *h = af_relu (g, af_add (g, x, x));
  AfTensor *idx = af_argmax (g, h, -1, FALSE);
  af_graph_add_output (g, "idx2", af_add (g, idx, idx)); /* a region after the cut */
  af_graph_add_output (g, "top3", af_topk (g, h, 3, -1, FALSE));
  af_graph_add_output (g, "top3i", af_topk (g, h, 3, -1, TRUE));
  GError *error = NULL;
  AfModel *m = af_compile (g, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (af_model_n_segments (m), >=, 3);
  float x_in[100], idx2[2], top3[6], top3i[6];
  for (int i = 0; i < 100; i++)
    x_in[i] = (float) ((i * 7919) % 101) / 10.0f - 3.0f;
  const float *ins[] = { x_in };
  float *outs[] = { idx2, top3, top3i };
  g_assert_true (af_model_run (m, ins, outs, NULL));
  for (int r = 0; r < 2; r++) {
    /* host: sort the row by value, descending, lower index first on ties */
    float v[50];
    for (int i = 0; i < 50; i++)
      v[i] = MAX (
          af_fp16_to_f32 (af_f32_to_fp16 (2 * af_fp16_to_f32 (af_f32_to_fp16 (x_in[r * 50 + i])))),
          0.0f);
    int best[3] = { -1, -1, -1 };
    for (int k = 0; k < 3; k++)
      for (int i = 0; i < 50; i++) {
        gboolean taken = FALSE;
        for (int q = 0; q < k; q++)
          taken |= best[q] == i;
        if (!taken && (best[k] < 0 || v[i] > v[best[k]]))
          best[k] = i;
      }
    g_assert_cmpfloat (idx2[r], ==, 2.0f * best[0]);
    for (int k = 0; k < 3; k++) {
      g_assert_cmpfloat (top3i[r * 3 + k], ==, (float) best[k]);
      g_assert_cmpfloat (top3[r * 3 + k], ==, v[best[k]]);
    }
  }
  af_model_free (m);
  af_graph_free (g);
}

/* Liveness reuse: a long chain needs far less arena than the sum of its values. */
static void
test_arena_reuse (void)
{
  AfGraph *g = af_graph_new ("chain");
  gint64 xs[] = { 1, 4096 };
  AfTensor *y = af_input (g, "x", 2, xs);
  for (int i = 0; i < 20; i++)
    y = af_add (g, y, y);
  af_graph_add_output (g, "y", y);
  AfModel *m = af_compile (g, NULL, NULL);
  g_assert_nonnull (m);
  g_assert_cmpuint (m->plan->arena_size, <=, 4 * 4096 * 2);
  af_model_free (m);
  af_graph_free (g);
}

/* Concat inputs only the concat reads are written in place inside its
 * block (nested concats too); the result is bit-identical to copying them
 * (the same graph with those inputs also exported), on 1 and 2 threads;
 * graph inputs and batched concats (inputs not contiguous) are copied. */
static AfTensor *
weight_of (AfGraph *g, const char *name, const gint64 *shape, const float *pool)
{
  return af_weight (g, name, 4, shape, pool); /* the first numel values of @pool */
}

static AfGraph *
concat_graph (gboolean export_inputs, const float *w)
{
  AfGraph *g = af_graph_new ("concat");
  gint64 xs[] = { 1, 4, 4, 8 }, was[] = { 8, 4, 3, 3 }, wbs[] = { 8, 4, 1, 1 };
  gint64 wds[] = { 4, 16, 1, 1 }, wos[] = { 3, 24, 3, 3 };
  AfConvParams same = AF_CONV_PARAMS_INIT;
  same.pad[0] = same.pad[1] = same.pad[2] = same.pad[3] = 1;
  AfTensor *x = af_input (g, "x", 4, xs);
  AfTensor *a = af_relu (g, af_conv (g, x, weight_of (g, "wa", was, w), NULL, &same));
  AfTensor *b = af_conv (g, x, weight_of (g, "wb", wbs, w), NULL, NULL);
  AfTensor *ab[] = { a, b };
  AfTensor *c = af_concat (g, 2, ab, 1);
  AfTensor *d = af_conv (g, c, weight_of (g, "wd", wds, w), NULL, NULL);
  AfTensor *cdx[] = { c, d, x };
  AfTensor *e = af_concat (g, 3, cdx, -3);
  af_graph_add_output (g, "y", af_conv (g, e, weight_of (g, "wo", wos, w), NULL, &same));
  if (export_inputs) {
    af_graph_add_output (g, "a", a);
    af_graph_add_output (g, "b", b);
    af_graph_add_output (g, "c", c);
    af_graph_add_output (g, "d", d);
  }
  return g;
}

static guint
in_place_count (AfModel *m)
{
  const char *at = strstr (m->plan->log->str, "concat input(s) in place");
  g_assert_nonnull (at);
  while (at > m->plan->log->str && at[-1] == ' ')
    at--;
  while (at > m->plan->log->str && g_ascii_isdigit (at[-1]))
    at--;
  return (guint) atoi (at);
}

static void
test_concat_in_place (void)
{
  g_autofree float *w = random_floats (3 * 24 * 9);
  AfGraph *g = concat_graph (FALSE, w), *ref = concat_graph (TRUE, w);
  float x[128], x2[256], got[96], want[96], got2[192], sink[4][256];
  for (int i = 0; i < 128; i++)
    x[i] = x2[i] = x2[128 + i] = (float) ((i * 13) % 17) / 8.0f - 1.0f;
  for (int i = 0; i < 128; i++)
    x2[128 + i] = -x[i];
  const float *ins[] = { x }, *ins2[] = { x2 };
  float *outs[] = { got }, *refs[] = { want, sink[0], sink[1], sink[2], sink[3] };
  AfModel *mr = af_compile (ref, NULL, NULL);
  g_assert_cmpuint (in_place_count (mr), ==, 0);
  g_assert_true (af_model_run (mr, ins, refs, NULL));
  for (int threads = 1; threads <= 2; threads++) {
    AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
    o.threads = threads;
    AfModel *m = af_compile (g, &o, NULL);
    g_assert_cmpuint (in_place_count (m), ==, 4); /* a, b in c; c, d in e; not x */
    g_assert_true (af_model_run (m, ins, outs, NULL));
    g_assert_cmpmem (got, sizeof got, want, sizeof want);
    af_model_free (m);
  }
  AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
  o.batch = 2;
  AfModel *m2 = af_compile (g, &o, NULL);
  g_assert_cmpuint (in_place_count (m2), ==, 0); /* per image blocks are not contiguous */
  float *outs2[] = { got2 };
  g_assert_true (af_model_run (m2, ins2, outs2, NULL));
  g_assert_cmpmem (got2, sizeof want, want, sizeof want);
  af_model_free (m2);
  af_model_free (mr);
  af_graph_free (g);
  af_graph_free (ref);
}

/* Constant subgraphs are folded at compile time. */
static void
test_fold_constants (void)
{
  AfGraph *g = af_graph_new ("fold");
  gint64 s[] = { 1, 4 };
  float a[] = { 1, 2, 3, 4 };
  AfTensor *x = af_input (g, "x", 2, s);
  AfTensor *c = af_weight (g, "c", 2, s, a);
  af_graph_add_output (g, "y", af_add (g, x, af_mul (g, c, c)));
  AfModel *m = af_compile (g, NULL, NULL);
  g_assert_cmpuint (m->plan->n_folded, ==, 1);
  g_assert_cmpuint (m->plan->steps->len, ==, 1);
  float in[] = { 0, 0, 0, 1 }, out[4];
  const float *ins[] = { in };
  float *outs[] = { out };
  g_assert_true (af_model_run (m, ins, outs, NULL));
  g_assert_cmpfloat (out[3], ==, 17.0f);
  af_model_free (m);
  af_graph_free (g);
}

/* batch=3 runs three images in one program call, each giving exactly what it
 * gives alone; a graph whose output does not lead with the batch is refused. */
static void
test_batch (void)
{
  AfGraph *g = tiny_cnn ();
  gint64 n_px = 3 * 17 * 13;
  AfModel *one = af_compile (g, NULL, NULL);
  AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
  o.batch = 3;
  GError *error = NULL;
  AfModel *three = af_compile (g, &o, &error);
  g_assert_no_error (error);
  AfTensorInfo info;
  af_model_output_info (three, 0, &info);
  g_assert_cmpint (info.shape[0], ==, 3);
  g_autofree float *px = g_new (float, 3 * n_px);
  for (gint64 i = 0; i < 3 * n_px; i++)
    px[i] = (float) ((i * 7 + i / 5) % 256);
  float got[30], want[10];
  const float *ins3[] = { px };
  float *outs3[] = { got };
  g_assert_true (af_model_run (three, ins3, outs3, NULL));
  for (int b = 0; b < 3; b++) {
    const float *ins[] = { px + b * n_px };
    float *outs[] = { want };
    g_assert_true (af_model_run (one, ins, outs, NULL));
    for (int k = 0; k < 10; k++)
      g_assert_cmpfloat (got[b * 10 + k], ==, want[k]);
  }
  af_model_free (one);
  af_model_free (three);
  af_graph_free (g);

  /* a reduction over everything mixes the images: refused */
  g = af_graph_new ("mix");
  gint64 xs[] = { 1, 8 };
  af_graph_add_output (g, "s", af_sum (g, af_input (g, "x", 2, xs), 0, NULL, FALSE));
  g_assert_null (af_compile (g, &o, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "batch 3"));
  g_clear_error (&error);
  af_graph_free (g);
}

/* backend=ane reports clearly that it is unavailable on this platform. */
static void
test_ane_unavailable (void)
{
  AfGraph *g = tiny_cnn ();
  AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
  o.backend = AF_BACKEND_ANE;
  GError *error = NULL;
  g_assert_null (af_compile (g, &o, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "ane"));
  g_assert_nonnull (strstr (error->message, "macOS"));
  g_clear_error (&error);
  af_graph_free (g);
}

/* A builder shape error is sticky: later calls return NULL and compile reports it. */
static void
test_sticky_error (void)
{
  AfGraph *g = af_graph_new ("bad");
  gint64 a[] = { 1, 3 }, b[] = { 1, 4 };
  AfTensor *y = af_add (g, af_input (g, "a", 2, a), af_input (g, "b", 2, b));
  g_assert_null (y);
  g_assert_nonnull (af_graph_error (g));
  g_assert_null (af_relu (g, y));
  GError *error = NULL;
  g_assert_null (af_compile (g, NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "add"));
  g_clear_error (&error);
  af_graph_free (g);
}

/* A graph without outputs is refused with a message saying so. */
static void
test_no_outputs (void)
{
  AfGraph *g = af_graph_new ("empty");
  gint64 a[] = { 1, 3 };
  af_relu (g, af_input (g, "a", 2, a));
  GError *error = NULL;
  g_assert_null (af_compile (g, NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "no outputs"));
  g_clear_error (&error);
  af_graph_free (g);
}

typedef struct {
  gint *hits;      /* per item */
  gint max_thread; /* the largest thread index seen */
  gint calls;
} RangeLog;

static void
log_range (gpointer user_data, gint64 begin, gint64 end, int thread)
{
  RangeLog *l = user_data;
  g_atomic_int_inc (&l->calls);
  for (gint64 i = begin; i < end; i++)
    g_atomic_int_inc (&l->hits[i]);
  gint seen;
  do
    seen = g_atomic_int_get (&l->max_thread);
  while (thread > seen && !g_atomic_int_compare_and_exchange (&l->max_thread, seen, thread));
}

/* af_model_parallel_for runs every item exactly once on the model's
 * threads (thread indices below af_model_n_threads), inline below the grain,
 * not at all for n = 0; the model still executes to the same outputs. */
static void
test_parallel_for (void)
{
  AfGraph *g = tiny_cnn ();
  guint16 *first = NULL;
  gsize n_out = 0;
  for (int threads = 1; threads <= 3; threads++) {
    AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
    o.threads = threads;
    AfModel *m = af_compile (g, &o, NULL);
    g_assert_nonnull (m);
    g_assert_cmpint (af_model_n_threads (m), ==, threads);
    const gint64 n = 1000;
    RangeLog l = { g_new0 (gint, n), -1, 0 };
    for (int rep = 0; rep < 50; rep++)
      af_model_parallel_for (m, n, 7, log_range, &l);
    for (gint64 i = 0; i < n; i++)
      g_assert_cmpint (l.hits[i], ==, 50);
    g_assert_cmpint (l.max_thread, <, threads);
    g_assert_cmpint (l.max_thread, >=, 0);
    l.calls = 0;
    af_model_parallel_for (m, 0, 7, log_range, &l);
    g_assert_cmpint (l.calls, ==, 0);
    af_model_parallel_for (m, 5, 7, log_range, &l); /* below the grain: one call */
    g_assert_cmpint (l.calls, ==, 1);
    g_free (l.hits);
    g_assert_true (af_model_execute (m, NULL));
    AfTensorInfo info;
    af_model_output_info (m, 0, &info);
    n_out = af_shape_numel (info.rank, info.shape);
    const guint16 *out = af_model_output_view (m, 0);
    if (!first)
      first = g_memdup2 (out, n_out * sizeof (guint16));
    else
      g_assert_cmpmem (first, n_out * sizeof (guint16), out, n_out * sizeof (guint16));
    af_model_free (m);
  }
  g_free (first);
  af_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/compile/one-fused-program", test_one_fused_program);
  g_test_add_func ("/compile/matches-reference", test_matches_reference);
  g_test_add_func ("/compile/segmented-plan", test_segmented_plan);
  g_test_add_func ("/compile/arena-reuse", test_arena_reuse);
  g_test_add_func ("/compile/fold-constants", test_fold_constants);
  g_test_add_func ("/compile/concat-in-place", test_concat_in_place);
  g_test_add_func ("/compile/batch", test_batch);
  g_test_add_func ("/compile/ane-unavailable", test_ane_unavailable);
  g_test_add_func ("/compile/sticky-error", test_sticky_error);
  g_test_add_func ("/compile/no-outputs", test_no_outputs);
  g_test_add_func ("/compile/parallel-for", test_parallel_for);
  return g_test_run ();
}
