/* partition — cuts the step list into segments: maximal runs of fused ops
 * (one program each) separated by bridge ops (each its own native stage).
 * A graph without bridge ops is ONE fused program. A step the target
 * backend's regions cannot hold (AfBackendCaps.region_accepts) is cut out
 * like a bridge op, to run on the host. */
#include "plan.h"

/* The step's route: BRIDGE for a bridge op or a step the backend's regions
 * refuse (@why then says why), else FUSED. */
static AfRoute
af_step_route (const AfPlan *plan, const AfStep *s, const char **why)
{
  *why = NULL;
  if (af_op_info[s->node->op].route == AF_ROUTE_BRIDGE)
    return AF_ROUTE_BRIDGE;
  if (plan->caps->region_accepts && !plan->caps->region_accepts (s, why))
    return AF_ROUTE_BRIDGE;
  return AF_ROUTE_FUSED;
}

gboolean
af__pass_partition (AfPlan *plan, GError **error)
{
  g_array_set_size (plan->segments, 0);
  for (guint i = 0; i < plan->steps->len; i++) {
    AfStep *s = &g_array_index (plan->steps, AfStep, i);
    const char *why;
    AfRoute route = af_step_route (plan, s, &why);
    AfSegment *last = plan->segments->len
                          ? &g_array_index (plan->segments, AfSegment, plan->segments->len - 1)
                          : NULL;
    if (!last || route == AF_ROUTE_BRIDGE || last->route == AF_ROUTE_BRIDGE) {
      AfSegment seg = { .first_step = i, .n_steps = 0, .route = route };
      g_array_append_val (plan->segments, seg);
      last = &g_array_index (plan->segments, AfSegment, plan->segments->len - 1);
      if (route == AF_ROUTE_BRIDGE)
        g_string_append_printf (plan->log, "partition: cut at %s (%s)%s%s\n", s->node->name,
                                af_op_info[s->node->op].name, why ? ": " : "", why ? why : "");
    }
    last->n_steps++;
    s->segment = plan->segments->len - 1;
  }
  (void) error;
  return TRUE;
}
