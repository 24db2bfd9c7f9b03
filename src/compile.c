/* compile.c — the compiler driver: copy the graph, run the named passes,
 * hand the plan to a backend. Reads top to bottom as its pass list. */
#include "runtime.h"

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

/* ---------------------------------------------------------------- plan */

void
af__plan_count_users (AfPlan *plan)
{
  AfGraph *g = plan->graph;
  memset (plan->n_users, 0, g->values->len * sizeof (guint));
  for (guint i = 0; i < g->nodes->len; i++) {
    AfNode *n = g_ptr_array_index (g->nodes, i);
    if (plan->dead[n->index])
      continue;
    for (guint j = 0; j < n->n_in; j++)
      plan->n_users[n->in[j]->index]++;
  }
}

guint
af__plan_n_users (AfPlan *plan, const AfTensor *t)
{
  return plan->n_users[t->index];
}

gboolean
af__plan_is_output (AfPlan *plan, const AfTensor *t)
{
  return plan->is_output[t->index];
}

/* A deep copy of the structure; constants share their bytes. */
static AfGraph *
af_graph_copy (AfGraph *src)
{
  AfGraph *g = af_graph_new (src->name);
  g->path = g_strdup (src->path);
  g->dir = g_strdup (src->dir);
  g_autofree AfTensor **map = g_new0 (AfTensor *, src->values->len);

  for (guint i = 0; i < src->values->len; i++) {
    AfTensor *t = g_ptr_array_index (src->values, i);
    if (t->kind == AF_VALUE_CONST)
      map[i] = af__graph_add_const (g, t->name, &t->shape, t->dtype, t->data, t->bytes);
  }
  for (guint i = 0; i < src->nodes->len; i++) {
    AfNode *n = g_ptr_array_index (src->nodes, i);
    AfNode *c = af__graph_add_node (g, n->name, n->op, n->n_in, n->in, &n->attrs);
    c->image = n->image;
    c->out->shape = n->out->shape;
    map[n->out->index] = c->out;
  }
  /* inputs may name nodes that come later in the file: remap afterwards */
  for (guint i = 0; i < g->nodes->len; i++) {
    AfNode *c = g_ptr_array_index (g->nodes, i);
    for (guint j = 0; j < c->n_in; j++)
      c->in[j] = map[c->in[j]->index];
  }
  for (guint i = 0; i < src->outputs->len; i++) {
    AfOutput *o = &g_array_index (src->outputs, AfOutput, i);
    AfOutput c = *o;
    c.name = g_strdup (o->name);
    if (o->decode) {
      c.decode = g_new0 (AfDecodeSpec, 1);
      af_decode_spec_copy (c.decode, o->decode);
    }
    c.value = map[o->value->index];
    g_array_append_val (g->outputs, c);
  }
  return g;
}

void
af__plan_free (AfPlan *plan)
{
  if (!plan)
    return;
  g_ptr_array_unref (plan->order);
  g_array_unref (plan->steps);
  g_array_unref (plan->segments);
  g_free (plan->dead);
  g_free (plan->offset);
  g_free (plan->port);
  g_free (plan->n_users);
  g_free (plan->is_output);
  g_string_free (plan->log, TRUE);
  af_graph_free (plan->graph);
  g_free (plan);
}

static AfPlan *
af_plan_new (AfGraph *src)
{
  AfPlan *plan = g_new0 (AfPlan, 1);
  plan->graph = af_graph_copy (src);
  guint nv = plan->graph->values->len, nn = plan->graph->nodes->len;
  plan->order = g_ptr_array_new ();
  plan->steps = g_array_new (FALSE, TRUE, sizeof (AfStep));
  plan->segments = g_array_new (FALSE, TRUE, sizeof (AfSegment));
  plan->dead = g_new0 (gboolean, nn);
  plan->offset = g_new0 (gsize, nv);
  plan->port = g_new0 (gsize, nv);
  plan->n_users = g_new0 (guint, nv);
  plan->is_output = g_new0 (gboolean, nv);
  plan->log = g_string_new (NULL);
  for (guint i = 0; i < plan->graph->outputs->len; i++)
    plan->is_output[g_array_index (plan->graph->outputs, AfOutput, i).value->index] = TRUE;
  for (guint i = 0; i < nn; i++) {
    AfNode *n = g_ptr_array_index (plan->graph->nodes, i);
    if (n->op != AF_OP_INPUT && n->op != AF_OP_IMAGE_INPUT)
      plan->n_graph_ops++;
  }
  return plan;
}

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
  g_assert (caps->max_epilogue >= 0 && caps->max_epilogue <= AF_MAX_EPILOGUE);
  AfPlan *plan = af_plan_new (g);
  plan->caps = caps;
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

static gboolean
af_ane_available (const char **why)
{
  *why = "the ANE backend needs macOS on Apple silicon; this build runs on another platform "
         "(use backend=cpu or auto)";
  return FALSE;
}

static const AfBackend af_backend_ane = { "ane", &af_cpu_caps, af_ane_available, NULL, NULL, NULL };

static const AfBackend *
af_backend_pick (AfBackendKind kind, GError **error)
{
  const AfBackend *b = kind == AF_BACKEND_ANE ? &af_backend_ane : &af_backend_cpu;
  const char *why = NULL;
  if (!b->available (&why)) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED, "backend \"%s\" is not available: %s",
                 b->name, why);
    return NULL;
  }
  return b;
}

AfModel *
af_compile (AfGraph *g, const AfCompileOptions *opts, GError **error)
{
  g_return_val_if_fail (g, NULL);
  AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
  if (opts)
    o = *opts;
  if (o.batch < 0 || o.batch > 1024) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "batch must be 0..1024, got %d", o.batch);
    return NULL;
  }
  if (o.threads < 0 || o.threads > 256) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "threads must be 0..256, got %d", o.threads);
    return NULL;
  }
  const AfBackend *backend = af_backend_pick (o.backend, error);
  if (!backend)
    return NULL;
  AfPlan *plan = af__plan_build (g, o.batch, backend->caps, error);
  if (!plan)
    return NULL;
  plan->winograd = o.winograd;
  return af__model_new (plan, backend, o.threads, error);
}
