/* compile.c — the compiler driver: copy the graph, run the named passes
 * with the target backend's capabilities, hand the plan to that backend's
 * compile, and give the program to a model (runtime.c). Reads top to bottom
 * as its pass list. */
#include "runtime.h"
#include "selfcheck.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name;
  AfPassFn fn;
} AfPass;

static const AfPass af_passes[] = {
  { "verify", af__pass_verify },         { "fold-constants", af__pass_fold },
  { "fuse-elementwise", af__pass_fuse }, { "partition", af__pass_partition },
  { "plan-memory", af__pass_memory },
};

/* The invariants every pass must keep: the live graph verifies (topological
 * order, every shape agrees with its op's shape function), and every step
 * reads only values written by an earlier step, graph inputs or constants.
 * Checked after every pass in non-release builds (the test builds). */
static gboolean
af_plan_check (AfPlan *plan, const char *pass, GError **error)
{
  GError *local = NULL;
  if (!af__pass_verify (plan, &local)) {
    g_propagate_prefixed_error (error, local, "internal: after pass %s: ", pass);
    return FALSE;
  }
  AfGraph *g = plan->graph;
  g_autofree gboolean *ready = g_new0 (gboolean, g->values->len);
  for (guint i = 0; i < g->values->len; i++) {
    AfTensor *t = g_ptr_array_index (g->values, i);
    ready[i] = t->kind == AF_VALUE_CONST || (t->producer && t->producer->op == AF_OP_INPUT);
  }
  for (guint s = 0; s < plan->steps->len; s++) {
    AfStep *st = &g_array_index (plan->steps, AfStep, s);
    for (guint j = 0; j <= st->node->n_in; j++) {
      AfTensor *in = j < st->node->n_in ? st->node->in[j] : st->residual;
      if (in && !ready[in->index]) {
        g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                     "internal: after pass %s: step %u \"%s\" reads \"%s\" before it is written",
                     pass, s, st->node->name, in->name);
        return FALSE;
      }
    }
    ready[st->out->index] = TRUE;
    ready[st->node->out->index] = TRUE;
  }
  return TRUE;
}

/* AF_DUMP_PASSES=1 prints the plan log after each pass to stderr. */
static void
af_plan_dump (AfPlan *plan, const char *pass)
{
  static int dump = -1;
  if (dump < 0)
    dump = g_getenv ("AF_DUMP_PASSES") != NULL;
  if (!dump)
    return;
  fprintf (stderr, "== after %s: %u live ops, %u steps, %u segments\n%s", pass, plan->order->len,
           plan->steps->len, plan->segments->len, plan->log->str);
  g_string_truncate (plan->log, 0);
}

/* Makes every input's leading dim 1 into @batch and lets reshapes to a
 * leading 1 keep the input's leading dim instead (ONNX's 0: "copy"), the
 * flatten-per-image pattern of classifiers. The verify pass then re-infers
 * every shape and refuses graphs whose shapes pin the batch. */
static void
af_plan_set_batch (AfPlan *plan, int batch)
{
  AfGraph *g = plan->graph;
  for (guint i = 0; i < g->nodes->len; i++) {
    AfNode *n = g_ptr_array_index (g->nodes, i);
    if ((n->op == AF_OP_INPUT || n->op == AF_OP_IMAGE_INPUT) && n->out->shape.d[0] == 1)
      n->out->shape.d[0] = batch;
    if (n->op == AF_OP_RESHAPE && n->attrs.n_shape > 0 && n->attrs.shape[0] == 1)
      n->attrs.shape[0] = 0;
  }
}

/* Every output must lead with the batch, or images would mix. */
static gboolean
af_plan_check_batch (AfPlan *plan, int batch, GError **error)
{
  AfGraph *g = plan->graph;
  for (guint i = 0; i < g->outputs->len; i++) {
    AfOutput *o = &g_array_index (g->outputs, AfOutput, i);
    if (o->value->shape.rank == 0 || o->value->shape.d[0] != batch) {
      g_autofree char *s = af__shape_str (&o->value->shape);
      g_set_error (error, AF_ERROR, AF_ERROR_SHAPE,
                   "%s: batch %d: output \"%s\" has shape %s, which does not lead with the "
                   "batch; this graph cannot run batched",
                   af__graph_where (g), batch, o->name, s);
      return FALSE;
    }
  }
  return TRUE;
}

AfPlan *
af__plan_build (AfGraph *g, int batch, const AfBackendCaps *caps, GError **error)
{
  if (g->error) {
    if (error)
      *error = g_error_copy (g->error);
    return NULL;
  }
  AfPlan *plan = af__plan_new (g, caps);
  if (batch > 1)
    af_plan_set_batch (plan, batch);
  for (guint i = 0; i < G_N_ELEMENTS (af_passes); i++) {
    GError *local = NULL;
    if (!af_passes[i].fn (plan, &local)) {
      if (batch > 1)
        g_prefix_error (&local, "batch %d: ", batch);
      g_propagate_error (error, local);
      af__plan_free (plan);
      return NULL;
    }
    af_plan_dump (plan, af_passes[i].name);
#ifndef NDEBUG
    if (!af_plan_check (plan, af_passes[i].name, error)) {
      af__plan_free (plan);
      return NULL;
    }
#endif
  }
  if (batch > 1 && !af_plan_check_batch (plan, batch, error)) {
    af__plan_free (plan);
    return NULL;
  }
  return plan;
}

/* ---------------------------------------------------------------- backends */

/* The backend @kind means here, or NULL with @error set. */
static const AfBackend *
af_backend_pick (AfBackendKind kind, GError **error)
{
  switch (kind) {
  case AF_BACKEND_CPU:
    return af_backend_lookup ("cpu", error);
  case AF_BACKEND_ANE:
    /* AF_ANE_SIM=1 (tests only): backend=ane means its stand-in, so the
     * element's self-check runs here (tests/gst/test-selfcheck.c) */
    if (g_strcmp0 (g_getenv ("AF_ANE_SIM"), "1") == 0)
      return af_backend_lookup ("ane-sim", error);
    return af_backend_lookup ("ane", error);
  default:
    return af_backend_auto ();
  }
}

static gboolean
af_options_check (const AfCompileOptions *o, GError **error)
{
  if (o->batch < 0 || o->batch > 1024) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "batch must be 0..1024, got %d", o->batch);
    return FALSE;
  }
  if (o->check_every < -1) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                 "check_every must be -1 (never), 0 (first frame) or N, got %d", o->check_every);
    return FALSE;
  }
  if (o->threads < 0 || o->threads > 256) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "threads must be 0..256, got %d", o->threads);
    return FALSE;
  }
  return TRUE;
}

/* compile -> plan (with the backend's caps) -> the backend's program -> a
 * model that binds it. */
AfModel *
af__compile_on (AfGraph *g, const AfCompileOptions *o, const AfBackend *backend, GError **error)
{
  AfPlan *plan = af__plan_build (g, o->batch, backend->caps, error);
  if (!plan)
    return NULL;
  AfBackendOptions bo = {
    .first_segment = 0,
    .n_segments = plan->segments->len,
    .threads = o->threads,
    .winograd = o->winograd,
  };
  AfProgram *program = backend->compile (plan, &bo, error);
  if (!program) {
    af__plan_free (plan);
    return NULL;
  }
  AfModel *m = af__model_new (plan, backend, program, error);
  if (m && backend != &af_backend_cpu && o->check_every >= 0) {
    m->check = af__selfcheck_new (g, o, error); /* the CPU twin */
    if (!m->check)
      g_clear_pointer (&m, af_model_free);
  }
  return m;
}

AfModel *
af_compile (AfGraph *g, const AfCompileOptions *opts, GError **error)
{
  g_return_val_if_fail (g, NULL);
  AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
  if (opts)
    o = *opts;
  if (!af_options_check (&o, error))
    return NULL;
  const AfBackend *backend = af_backend_pick (o.backend, error);
  if (!backend)
    return NULL;
  return af__compile_on (g, &o, backend, error);
}
