/* fold-constants — a compute node whose inputs are all constants is
 * evaluated once, here, with its reference kernel (fp16 in, fp16 out, as at
 * run time) and becomes a constant. */
#include "plan.h"

#include <string.h>

static gboolean
af_node_is_foldable (const AfNode *n)
{
  if (n->n_in == 0 || af_op_info[n->op].route == AF_ROUTE_BRIDGE)
    return FALSE;
  for (guint j = 0; j < n->n_in; j++)
    if (n->in[j]->kind != AF_VALUE_CONST)
      return FALSE;
  return TRUE;
}

static void
af_fold_node (AfPlan *plan, AfNode *n)
{
  float **in = g_new0 (float *, n->n_in);
  for (guint j = 0; j < n->n_in; j++) {
    gint64 numel = af__shape_numel (&n->in[j]->shape);
    in[j] = g_new (float, numel);
    af__tensor_read_f32 (n->in[j], in[j]);
    for (gint64 i = 0; i < numel; i++) /* weights are fp16 at the op boundary */
      in[j][i] = af_fp16_to_f32 (af_f32_to_fp16 (in[j][i]));
  }
  gint64 numel = af__shape_numel (&n->out->shape);
  float *out = g_new0 (float, numel);
  af_op_info[n->op].ref (n, (const float *const *) in, out);
  guint16 *half = g_new (guint16, numel);
  af_f32_to_fp16_n (out, half, numel);

  AfTensor *t = n->out;
  t->kind = AF_VALUE_CONST;
  t->producer = NULL;
  t->dtype = AF_DTYPE_F16;
  t->bytes = g_bytes_new_take (half, numel * sizeof (guint16));
  t->data = g_bytes_get_data (t->bytes, NULL);
  plan->dead[n->index] = TRUE;
  plan->n_folded++;
  g_string_append_printf (plan->log, "fold-constants: %s (%s) -> constant\n", n->name,
                          af_op_info[n->op].name);
  for (guint j = 0; j < n->n_in; j++)
    g_free (in[j]);
  g_free (in);
  g_free (out);
}

gboolean
af__pass_fold (AfPlan *plan, GError **error)
{
  /* plan->order is topological, so chains of constant ops fold in one sweep */
  for (guint i = 0; i < plan->order->len; i++) {
    AfNode *n = g_ptr_array_index (plan->order, i);
    if (!plan->dead[n->index] && af_node_is_foldable (n) && !af__plan_is_output (plan, n->out))
      af_fold_node (plan, n);
  }
  return af__pass_verify (plan, error);
}
