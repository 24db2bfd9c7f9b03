/* fuse — builds the step list: one step per live op, with chains of
 * elementwise unary ops folded into their producer's epilogue when the
 * producer's value has no other user and is not a graph output. The
 * epilogue rounds to fp16 after every op, so fusing never changes results. */
#include "plan.h"

static gboolean
af_can_fuse_into (AfPlan *plan, const AfStep *p, const AfNode *n)
{
  if (!af_epilogue_accepts (n->op) || p->ep.n >= AF_MAX_EPILOGUE)
    return FALSE;
  if (af_op_info[p->node->op].route == AF_ROUTE_BRIDGE)
    return FALSE;
  return af__plan_n_users (plan, p->out) == 1 && !af__plan_is_output (plan, p->out);
}

gboolean
af__pass_fuse (AfPlan *plan, GError **error)
{
  AfGraph *g = plan->graph;
  g_autofree int *step_of = g_new (int, g->values->len); /* value index -> step writing it */
  for (guint i = 0; i < g->values->len; i++)
    step_of[i] = -1;

  af__plan_count_users (plan);
  g_array_set_size (plan->steps, 0);
  for (guint i = 0; i < plan->order->len; i++) {
    AfNode *n = g_ptr_array_index (plan->order, i);
    if (n->op == AF_OP_INPUT) /* written by the caller through its view */
      continue;
    int ps = n->n_in == 1 ? step_of[n->in[0]->index] : -1;
    if (ps >= 0) {
      AfStep *p = &g_array_index (plan->steps, AfStep, ps);
      if (p->out == n->in[0] && af_can_fuse_into (plan, p, n)) {
        p->ep.op[p->ep.n] = n->op;
        p->ep.lo[p->ep.n] = n->op == AF_OP_CLIP ? n->attrs.min : 0;
        p->ep.hi[p->ep.n] = n->op == AF_OP_CLIP ? n->attrs.max : 0;
        p->ep.n++;
        p->out = n->out;
        p->n_graph_ops++;
        step_of[n->out->index] = ps;
        plan->dead[n->index] = TRUE;
        g_string_append_printf (plan->log, "fuse: %s (%s) into %s (%s)\n", n->name,
                                af_op_info[n->op].name, p->node->name,
                                af_op_info[p->node->op].name);
        continue;
      }
    }
    AfStep s = { .node = n, .out = n->out, .n_graph_ops = n->op == AF_OP_IMAGE_INPUT ? 0 : 1 };
    step_of[n->out->index] = plan->steps->len;
    g_array_append_val (plan->steps, s);
  }
  (void) error;
  return TRUE;
}
