/* verify — topological order and shape inference over the whole graph.
 * Runs first and after every pass in test builds: it is the invariant
 * checker (every live node's shapes agree with its op's shape function). */
#include "plan.h"

gboolean
af__pass_verify (AfPlan *plan, GError **error)
{
  AfGraph *g = plan->graph;
  g_autoptr (GPtrArray) all = g_ptr_array_new ();

  if (g->outputs->len == 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "%s: the graph declares no outputs",
                 af__graph_where (g));
    return FALSE;
  }
  for (guint i = 0; i < g->outputs->len; i++) {
    AfOutput *o = &g_array_index (g->outputs, AfOutput, i);
    if (o->value->kind == AF_VALUE_CONST) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                   "%s: outputs[%u] \"%s\": field \"from\": \"%s\" is a constant, not a "
                   "computed value",
                   af__graph_where (g), i, o->name, o->value->name);
      return FALSE;
    }
  }
  if (!af__graph_topo_order (g, all, error))
    return FALSE;
  g_ptr_array_set_size (plan->order, 0);
  for (guint i = 0; i < all->len; i++) {
    AfNode *n = g_ptr_array_index (all, i);
    if (plan->dead[n->index])
      continue;
    for (guint j = 0; j < n->n_in; j++) {
      AfNode *p = n->in[j]->producer;
      if (p && plan->dead[p->index] && n->in[j]->kind != AF_VALUE_CONST) {
        g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                     "%s: nodes[%u] \"%s\": input %u \"%s\" comes from a removed node",
                     af__graph_where (g), n->index, n->name, j, n->in[j]->name);
        return FALSE;
      }
    }
    if (!af__node_infer_shape (g, n, error))
      return FALSE;
    g_ptr_array_add (plan->order, n);
  }
  return TRUE;
}
