/* verify — topological order and shape inference over the live graph (nodes
 * folded to constants or fused into a producer's step are skipped; their
 * values stay available: constants, or written by the fused step).
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
    if (!af__node_infer_shape (g, n, error))
      return FALSE;
    g_ptr_array_add (plan->order, n);
  }
  return TRUE;
}
