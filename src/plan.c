/* plan.c — the AfPlan's life: a fresh plan over a copy of the graph, its
 * use counts, and its end. compile.c runs the passes that fill it. */
#include "plan.h"

#include <string.h>

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

AfPlan *
af__plan_new (AfGraph *src, const AfBackendCaps *caps)
{
  g_assert (caps->max_epilogue >= 0 && caps->max_epilogue <= AF_MAX_EPILOGUE);
  AfPlan *plan = g_new0 (AfPlan, 1);
  plan->caps = caps;
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
