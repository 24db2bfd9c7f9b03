/* fuse — builds the step list: one step per live op, with chains of
 * elementwise unary ops folded into their producer's epilogue when the
 * producer's value has no other user and is not a graph output. The
 * epilogue rounds to fp16 after every op, so fusing never changes results.
 *
 * A residual add (add (y, r), same shapes, y from a conv / linear with bias,
 * batch_norm, binary or unary step and read only there) joins y's step as an
 * ADD epilogue op when r is computed before that step: y is rounded, r
 * added in fp32 and rounded again, exactly as the separate add. The step
 * records r as its residual; the memory planner treats it as one more input
 * of the step (kept alive until then, never sharing the output's space).
 *
 * What may join an epilogue, which steps take a residual and how long an
 * epilogue may grow are the target backend's capabilities (plan->caps):
 * this pass asks them and nothing else of the backend.
 *
 * AF_NO_FUSE=1 (read at every compile) turns all fusion off: one step per
 * op, for comparing fused and unfused programs bit for bit. */
#include "plan.h"

#include <string.h>

/* TRUE if the target backend says @flag (AfFuseFlags) of @op. */
static gboolean
af_fuse_cap (const AfPlan *plan, AfOp op, guint8 flag)
{
  return plan->caps->fuse && (plan->caps->fuse[op] & flag) != 0;
}

static gboolean
af_can_fuse_into (AfPlan *plan, const AfStep *p, const AfNode *n)
{
  if (!af_fuse_cap (plan, n->op, AF_FUSE_JOIN) || p->ep.n >= plan->caps->max_epilogue)
    return FALSE;
  if (af_op_info[p->node->op].route == AF_ROUTE_BRIDGE)
    return FALSE;
  return af__plan_n_users (plan, p->out) == 1 && !af__plan_is_output (plan, p->out);
}

static gboolean
af_fusion_disabled (void)
{
  const char *s = g_getenv ("AF_NO_FUSE");
  return s && *s && strcmp (s, "0") != 0;
}

/* Tries to fuse the add @n into the step producing one of its inputs;
 * returns that step's index or -1. */
static int
af_fuse_residual (AfPlan *plan, AfNode *n, const int *step_of)
{
  if (n->op != AF_OP_ADD || n->n_in != 2)
    return -1;
  for (int k = 1; k >= 0; k--) {
    AfTensor *y = n->in[k], *r = n->in[1 - k];
    int ps = step_of[y->index];
    if (ps < 0 || r->kind == AF_VALUE_CONST || y == r)
      continue;
    AfStep *p = &g_array_index (plan->steps, AfStep, ps);
    if (p->out != y || !af_fuse_cap (plan, p->node->op, AF_FUSE_RESIDUAL) ||
        p->ep.n >= plan->caps->max_epilogue || p->residual ||
        af_op_info[p->node->op].route == AF_ROUTE_BRIDGE || af__plan_n_users (plan, y) != 1 ||
        af__plan_is_output (plan, y) || !af__shape_equal (&y->shape, &n->out->shape) ||
        !af__shape_equal (&r->shape, &n->out->shape))
      continue;
    /* r must be ready when the step runs: written by an earlier step, or a
     * plain input the caller writes (an image port has a step of its own) */
    if (step_of[r->index] >= ps || (step_of[r->index] < 0 && r->kind != AF_VALUE_INPUT))
      continue;
    AfNode *pn = p->node;
    p->residual = r;
    p->ep.op[p->ep.n] = AF_OP_ADD;
    p->ep.lo[p->ep.n] = p->ep.hi[p->ep.n] = 0;
    p->ep.n++;
    p->out = n->out;
    p->n_graph_ops++;
    g_string_append_printf (plan->log, "fuse: %s (add, residual %s) into %s (%s)\n", n->name,
                            r->name, pn->name, af_op_info[pn->op].name);
    return ps;
  }
  return -1;
}

gboolean
af__pass_fuse (AfPlan *plan, GError **error)
{
  gboolean off = af_fusion_disabled ();
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
    int ps = n->n_in == 1 && !off ? step_of[n->in[0]->index] : -1;
    int rs = off ? -1 : af_fuse_residual (plan, n, step_of);
    if (rs >= 0) {
      step_of[n->out->index] = rs;
      plan->dead[n->index] = TRUE;
      continue;
    }
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
