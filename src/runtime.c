/* runtime.c — AfModel: views, execute, run, introspection. */
#include "runtime.h"

#include "bigmem.h"
#include "decode.h"
#include "selfcheck.h"

#include <string.h>

static void
af_info_from_value (AfTensorInfo *info, const AfTensor *t)
{
  memset (info, 0, sizeof *info);
  info->name = t->name;
  info->rank = t->shape.rank;
  memcpy (info->shape, t->shape.d, sizeof (gint64) * t->shape.rank);
  info->dtype = AF_DTYPE_F16;
}

static void
af_model_describe_io (AfModel *m)
{
  AfGraph *g = m->plan->graph;
  m->inputs = g_array_new (FALSE, TRUE, sizeof (AfTensorInfo));
  m->outputs = g_array_new (FALSE, TRUE, sizeof (AfTensorInfo));
  m->input_nodes = g_ptr_array_new ();
  m->output_values = g_ptr_array_new ();
  for (guint i = 0; i < g->inputs->len; i++) {
    AfNode *n = g_ptr_array_index (g->inputs, i);
    AfTensorInfo info;
    af_info_from_value (&info, n->out);
    if (n->op == AF_OP_IMAGE_INPUT) {
      info.dtype = AF_DTYPE_U8;
      info.is_image = TRUE;
      info.order = n->image.order;
      memcpy (info.scale, n->image.scale, sizeof info.scale);
      memcpy (info.bias, n->image.bias, sizeof info.bias);
    }
    g_array_append_val (m->inputs, info);
    g_ptr_array_add (m->input_nodes, n);
  }
  for (guint i = 0; i < g->outputs->len; i++) {
    AfOutput *o = &g_array_index (g->outputs, AfOutput, i);
    AfTensorInfo info;
    af_info_from_value (&info, o->value);
    info.name = o->name;
    info.decode = o->decode;
    g_array_append_val (m->outputs, info);
    g_ptr_array_add (m->output_values, o->value);
  }
}

AfModel *
af__model_new (AfPlan *plan, const AfBackend *backend, AfProgram *program, GError **error)
{
  AfModel *m = g_new0 (AfModel, 1);
  m->plan = plan;
  m->backend = backend;
  m->program = program;
  m->arena = af_big_alloc0 (plan->arena_size);
  af_model_describe_io (m);
  if (!backend->bind (program, m->arena, error)) {
    af_model_free (m);
    return NULL;
  }
  return m;
}

void
af_model_free (AfModel *m)
{
  if (!m)
    return;
  af__selfcheck_free (m->check);
  m->backend->release (m->program);
  af_big_free (m->arena);
  g_clear_pointer (&m->inputs, g_array_unref);
  g_clear_pointer (&m->outputs, g_array_unref);
  g_clear_pointer (&m->input_nodes, g_ptr_array_unref);
  g_clear_pointer (&m->output_values, g_ptr_array_unref);
  af__plan_free (m->plan);
  g_free (m);
}

guint
af_model_n_ops (AfModel *m)
{
  g_return_val_if_fail (m, 0);
  guint n = 0;
  for (guint i = 0; i < m->plan->steps->len; i++)
    n += g_array_index (m->plan->steps, AfStep, i).n_graph_ops;
  return n;
}

guint
af_model_n_segments (AfModel *m)
{
  g_return_val_if_fail (m, 0);
  return m->plan->segments->len;
}

const char *
af_model_backend_name (AfModel *m)
{
  g_return_val_if_fail (m, NULL);
  AfCheckStatus s;
  if (af_model_check_status (m, &s) && s.fell_back)
    return af_backend_cpu.name; /* the backend its frames run on now */
  return m->backend->name;
}

gboolean
af_model_check_status (AfModel *m, AfCheckStatus *status)
{
  g_return_val_if_fail (m && status, FALSE);
  memset (status, 0, sizeof *status);
  status->output = -1;
  if (!m->check)
    return FALSE;
  af__selfcheck_status (m->check, status);
  status->checked_backend = m->backend->name;
  return TRUE;
}

void
af_model_check_restart (AfModel *m)
{
  g_return_if_fail (m);
  if (m->check)
    af__selfcheck_restart (m->check);
}

guint
af_model_n_inputs (AfModel *m)
{
  g_return_val_if_fail (m, 0);
  return m->inputs->len;
}

guint
af_model_n_outputs (AfModel *m)
{
  g_return_val_if_fail (m, 0);
  return m->outputs->len;
}

void
af_model_input_info (AfModel *m, guint i, AfTensorInfo *info)
{
  g_return_if_fail (m && info && i < m->inputs->len);
  *info = g_array_index (m->inputs, AfTensorInfo, i);
}

void
af_model_output_info (AfModel *m, guint i, AfTensorInfo *info)
{
  g_return_if_fail (m && info && i < m->outputs->len);
  *info = g_array_index (m->outputs, AfTensorInfo, i);
}

void *
af_model_input_view (AfModel *m, guint i, AfDType *dtype)
{
  g_return_val_if_fail (m && i < m->inputs->len, NULL);
  AfNode *n = g_ptr_array_index (m->input_nodes, i);
  gsize port = m->plan->port[n->out->index];
  if (dtype)
    *dtype = port != AF_NO_SLOT ? AF_DTYPE_U8 : AF_DTYPE_F16;
  return m->arena + (port != AF_NO_SLOT ? port : m->plan->offset[n->out->index]);
}

const guint16 *
af_model_output_view (AfModel *m, guint i)
{
  g_return_val_if_fail (m && i < m->outputs->len, NULL);
  AfTensor *t = g_ptr_array_index (m->output_values, i);
  return (const guint16 *) (m->arena + m->plan->offset[t->index]);
}

gboolean
af_model_execute (AfModel *m, GError **error)
{
  g_return_val_if_fail (m, FALSE);
  if (m->check)
    return af__selfcheck_execute (m, m->check, error);
  return m->backend->execute (m->program, error);
}

int
af_model_n_threads (AfModel *m)
{
  g_return_val_if_fail (m, 1);
  return m->backend->n_threads ? m->backend->n_threads (m->program) : 1;
}

void
af_model_parallel_for (AfModel *m, gint64 n, gint64 grain, AfRangeFunc func, gpointer user_data)
{
  g_return_if_fail (m && func);
  if (n <= 0)
    return;
  if (m->backend->parallel_for)
    m->backend->parallel_for (m->program, n, grain, func, user_data);
  else
    func (user_data, 0, n, 0);
}

gboolean
af_model_run (AfModel *m, const float *const *inputs, float *const *outputs, GError **error)
{
  g_return_val_if_fail (m && inputs && outputs, FALSE);
  for (guint i = 0; i < m->inputs->len; i++) {
    const AfTensorInfo *info = &g_array_index (m->inputs, AfTensorInfo, i);
    gint64 n = af_shape_numel (info->rank, info->shape);
    AfDType dt;
    void *view = af_model_input_view (m, i, &dt);
    if (dt == AF_DTYPE_U8) {
      guint8 *px = view;
      for (gint64 k = 0; k < n; k++) {
        float v = inputs[i][k];
        px[k] = v <= 0 ? 0 : v >= 255 ? 255 : (guint8) (v + 0.5f);
      }
    } else {
      af_f32_to_fp16_n (inputs[i], view, n);
    }
  }
  if (!af_model_execute (m, error))
    return FALSE;
  for (guint i = 0; i < m->outputs->len; i++) {
    const AfTensorInfo *info = &g_array_index (m->outputs, AfTensorInfo, i);
    af_fp16_to_f32_n (af_model_output_view (m, i), outputs[i],
                      af_shape_numel (info->rank, info->shape));
  }
  return TRUE;
}

/* ---------------------------------------------------------------- describe */

static void
af_describe_step (GString *s, AfModel *m, const AfStep *st, AfCost *total)
{
  const AfNode *n = st->node;
  AfCost c = { 0, 0 };
  af_op_info[n->op].cost (n, &c);
  total->flops += c.flops;
  total->bytes += c.bytes;
  g_autofree char *shape = af__shape_str (&st->out->shape);
  g_string_append_printf (s, "    %-24s %-12s -> %-20s", n->name, af_op_info[n->op].name, shape);
  for (int i = 0; i < st->ep.n; i++)
    g_string_append_printf (s, " +%s", af_op_info[st->ep.op[i]].name);
  if (c.flops > 0)
    g_string_append_printf (s, "  %.2f MFLOP", c.flops / 1e6);
  g_string_append_c (s, '\n');
  (void) m;
}

/* " decode ssd: score >= 0.7, NMS IoU > 0.3, max 100, input 320x240, 4420 priors" */
static void
af_describe_decode (GString *s, const AfDecodeSpec *d)
{
  if (!d)
    return;
  g_string_append_printf (s, " decode %s:", af_decode_type_name (d->type));
  if (d->type == AF_DECODE_TYPE_CLASSIFICATION) {
    g_string_append_printf (s, " scores %s,%s top %u", d->scores ? d->scores : "(itself)",
                            d->softmax ? " softmax," : "", d->top_k);
  } else {
    g_string_append_printf (s, " score >= %g, NMS IoU > %g, max %u, input %dx%d%s",
                            d->score_threshold, d->iou_threshold, d->max_detections, d->input_w,
                            d->input_h, d->clip ? ", clipped" : "");
    guint n_priors = 0;
    g_autofree float *priors = af__decode_ssd_priors (d, &n_priors);
    if (priors)
      g_string_append_printf (s, ", %u priors", n_priors);
    if (d->type == AF_DECODE_TYPE_YUNET)
      g_string_append_printf (s, ", %u strides%s", d->n_strides, d->kps[0] ? ", landmarks" : "");
  }
  if (d->labels)
    g_string_append_printf (s, ", labels %s", d->labels);
}

char *
af_model_describe (AfModel *m)
{
  g_return_val_if_fail (m, NULL);
  AfPlan *plan = m->plan;
  AfGraph *g = plan->graph;
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "model %s (%s)\n", g->name, af__graph_where (g));
  g_string_append_printf (s, "backend %s, %u graph ops in %u step(s), %u segment(s)%s\n",
                          m->backend->name, af_model_n_ops (m), plan->steps->len,
                          plan->segments->len,
                          plan->segments->len == 1 ? " (one fused program)" : " (segmented plan)");
  for (guint i = 0; i < m->inputs->len; i++) {
    AfTensorInfo *in = &g_array_index (m->inputs, AfTensorInfo, i);
    AfNode *n = g_ptr_array_index (m->input_nodes, i);
    g_autofree char *shape = af__shape_str (&n->out->shape);
    g_string_append_printf (s, "input  %s %s %s", in->name, shape,
                            in->is_image ? "uint8 image" : "fp16");
    if (in->is_image)
      g_string_append_printf (s, " %s scale [%g, %g, %g] bias [%g, %g, %g]",
                              in->order == AF_PIXEL_RGB   ? "RGB"
                              : in->order == AF_PIXEL_BGR ? "BGR"
                                                          : "GRAY",
                              in->scale[0], in->scale[1], in->scale[2], in->bias[0], in->bias[1],
                              in->bias[2]);
    g_string_append_c (s, '\n');
  }
  for (guint i = 0; i < m->outputs->len; i++) {
    AfTensor *t = g_ptr_array_index (m->output_values, i);
    AfTensorInfo *o = &g_array_index (m->outputs, AfTensorInfo, i);
    g_autofree char *shape = af__shape_str (&t->shape);
    g_string_append_printf (s, "output %s %s fp16 (from %s)", o->name, shape, t->name);
    af_describe_decode (s, o->decode);
    g_string_append_c (s, '\n');
  }
  AfCost total = { 0, 0 };
  for (guint k = 0; k < plan->segments->len; k++) {
    AfSegment *seg = &g_array_index (plan->segments, AfSegment, k);
    g_string_append_printf (s, "segment %u: %s, %u step(s)\n", k,
                            seg->route == AF_ROUTE_BRIDGE ? "bridge stage (host)" : "fused region",
                            seg->n_steps);
    for (guint i = seg->first_step; i < seg->first_step + seg->n_steps; i++)
      af_describe_step (s, m, &g_array_index (plan->steps, AfStep, i), &total);
  }
  gint64 n_weights = 0, weight_bytes = 0;
  for (guint i = 0; i < g->values->len; i++) {
    AfTensor *t = g_ptr_array_index (g->values, i);
    if (t->kind == AF_VALUE_CONST && plan->n_users[t->index] > 0) {
      n_weights++;
      weight_bytes += af__shape_numel (&t->shape) * 2;
    }
  }
  g_string_append_printf (
      s, "weights: %" G_GINT64_FORMAT " tensors, %" G_GINT64_FORMAT " bytes as fp16\n", n_weights,
      weight_bytes);
  g_string_append_printf (s, "arena: %" G_GSIZE_FORMAT " bytes; folded constants: %u\n",
                          plan->arena_size, plan->n_folded);
  g_string_append_printf (s, "cost: %.3f GFLOP, %.2f MB moved\n", total.flops / 1e9,
                          total.bytes / 1e6);
  return g_string_free (s, FALSE);
}

AfDecoder *
af_model_new_decoder (AfModel *m, guint output, GError **error)
{
  g_return_val_if_fail (m && output < m->outputs->len, NULL);
  AfGraph *g = m->plan->graph;
  const AfTensorInfo *infos = (const AfTensorInfo *) m->outputs->data;
  const AfTensorInfo *o = &infos[output];
  if (!o->decode) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "%s: outputs[%u] \"%s\": no decode declared",
                 af__graph_where (g), output, o->name);
    return NULL;
  }
  AfDecoder *dec = af_decoder_new (o->decode, g->dir, m->outputs->len, infos, error);
  if (!dec)
    g_prefix_error (error, "%s: outputs[%u] \"%s\": ", af__graph_where (g), output, o->name);
  return dec;
}
