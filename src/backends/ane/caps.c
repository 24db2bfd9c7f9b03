/* caps.c — the ANE capability table and the partition into programs and
 * host steps.
 *
 * Sources of the limits (../shared/ane/README.md, ../shared/seed/ANCHORS.md):
 *  - rank <= 5, fp16 inside the program ("fp32 falls back to GPU/CPU"):
 *    apple/coreai-models neural_engine_rules.md (README §2.4);
 *  - max_tensor_dim 16384 (A13-A15) -> 65536 (A16), conv_kw_max 13 -> 15:
 *    ANEForge aneforge/_targets.py limits (ANCHORS §6.1), read from the chip
 *    table src/targets.def (af_target_resolve);
 *  - no dilated conv, pooling kernel <= 13 and stride <= 2, upsampling by at
 *    most 2x: hollance/neural-engine docs/unsupported-layers.md (README §2.4);
 *  - argmax / topk are NETPLIST bridge ops, native sub-programs Apple's MIL
 *    frontend never emits: the seed's design (aneforge-python-docs.txt, "Two
 *    op routes"), the BRIDGE route of ops.def. */
#include "backends/ane/caps.h"

#include <math.h>

/* The default limits: max_tensor_dim and conv_kw_max of family 2 (A13) in
 * the chip table (src/targets.def), which A14 and A15 share; the rank,
 * pooling and upsampling rules hold on every family. */
const AfAneLimits *
af_ane_limits_default (void)
{
  static AfAneLimits lim;
  static gsize once = 0;
  if (g_once_init_enter (&once)) {
    AfTarget t;
    char *warning = NULL;
    af_target_resolve ("h13", &t, &warning);
    g_assert (!warning && t.family == 2);
    lim = (AfAneLimits){ "A13-A15 (h13-h15)", 5, t.max_tensor_dim, t.conv_kw_max, 13, 2, 2 };
    g_once_init_leave (&once, 1);
  }
  return &lim;
}

/* ------------------------------------------------------------ the table */

/* Rank and dimension limits on every tensor @n touches. */
static gboolean
af_caps_shapes (const AfNode *n, const AfAneLimits *lim, char **reason)
{
  for (guint i = 0; i <= n->n_in; i++) {
    const AfTensor *t = i < n->n_in ? n->in[i] : n->out;
    g_autofree char *s = af__shape_str (&t->shape);
    if (t->shape.rank > lim->max_rank) {
      *reason = g_strdup_printf ("%s \"%s\" %s: rank %d > %d (neural_engine_rules.md: max rank 5)",
                                 af_op_info[n->op].name, t->name, s, t->shape.rank, lim->max_rank);
      return FALSE;
    }
    for (int d = 0; d < t->shape.rank; d++)
      if (t->shape.d[d] > lim->max_dim) {
        *reason = g_strdup_printf (
            "%s \"%s\" %s: dimension %d > %" G_GINT64_FORMAT " (max_tensor_dim, %s)",
            af_op_info[n->op].name, t->name, s, d, lim->max_dim, lim->family);
        return FALSE;
      }
  }
  return TRUE;
}

static gboolean
af_caps_conv (const AfNode *n, const AfAneLimits *lim, char **reason)
{
  const AfAttrs *a = &n->attrs;
  gint64 kw = n->in[1]->shape.d[3];
  if (a->dilation[0] != 1 || a->dilation[1] != 1) {
    *reason = g_strdup_printf ("conv dilation %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                               ": dilated conv is not supported (hollance unsupported-layers.md)",
                               a->dilation[0], a->dilation[1]);
    return FALSE;
  }
  if (kw > lim->conv_kw_max) {
    *reason = g_strdup_printf ("conv kernel width %" G_GINT64_FORMAT " > %" G_GINT64_FORMAT
                               " (conv_kw_max, %s)",
                               kw, lim->conv_kw_max, lim->family);
    return FALSE;
  }
  return TRUE;
}

static gboolean
af_caps_pool (const AfNode *n, const AfAneLimits *lim, char **reason)
{
  const AfAttrs *a = &n->attrs;
  if (a->global) /* lowered as a reduction, no window */
    return TRUE;
  const char *name = af_op_info[n->op].name;
  if (MAX (a->kernel[0], a->kernel[1]) > lim->pool_kernel_max) {
    *reason =
        g_strdup_printf ("%s kernel %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                         ": pooling kernel > %" G_GINT64_FORMAT " (hollance unsupported-layers.md)",
                         name, a->kernel[0], a->kernel[1], lim->pool_kernel_max);
    return FALSE;
  }
  if (MAX (a->stride[0], a->stride[1]) > lim->pool_stride_max) {
    *reason =
        g_strdup_printf ("%s stride %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                         ": pooling stride > %" G_GINT64_FORMAT " (hollance unsupported-layers.md)",
                         name, a->stride[0], a->stride[1], lim->pool_stride_max);
    return FALSE;
  }
  /* ceil_mode becomes extra bottom/right padding (lower.c); an average that
   * counts padded cells would count those too, unlike the reference. */
  const AfShape *x = &n->in[0]->shape, *y = &n->out->shape;
  for (int i = 0; i < 2; i++) {
    gint64 extra =
        (y->d[2 + i] - 1) * a->stride[i] + a->kernel[i] - x->d[2 + i] - a->pad[i] - a->pad[2 + i];
    if (n->op == AF_OP_AVG_POOL && a->count_include_pad && extra > 0) {
      *reason = g_strdup_printf ("avg_pool ceil_mode with count_include_pad: the ceil window "
                                 "would count %" G_GINT64_FORMAT " padded cells (MIL avg_pool has "
                                 "no ceil-only exclusion)",
                                 extra);
      return FALSE;
    }
  }
  return TRUE;
}

/* MIL batch_norm takes mean, variance, gamma and beta as constants. */
static gboolean
af_caps_batch_norm (const AfNode *n, char **reason)
{
  for (guint i = 1; i < 5; i++)
    if (n->in[i]->kind != AF_VALUE_CONST) {
      *reason = g_strdup_printf ("batch_norm input %u \"%s\" is not a constant (MIL batch_norm "
                                 "takes const statistics)",
                                 i, n->in[i]->name);
      return FALSE;
    }
  return TRUE;
}

gboolean
af_ane_caps_accepts (const AfNode *n, const AfAneLimits *lim, char **reason)
{
  if (!lim)
    lim = af_ane_limits_default ();
  *reason = NULL;
  if (af_op_info[n->op].route == AF_ROUTE_BRIDGE) {
    *reason = g_strdup_printf ("%s is a bridge op (ops.def route BRIDGE): a native netplist "
                               "sub-program, not MIL",
                               af_op_info[n->op].name);
    return FALSE;
  }
  if (!af_caps_shapes (n, lim, reason))
    return FALSE;
  switch (n->op) {
  case AF_OP_CONV:
    return af_caps_conv (n, lim, reason);
  case AF_OP_CONV_TRANSPOSE:
    for (guint i = 1; i < n->n_in; i++)
      if (n->in[i]->kind != AF_VALUE_CONST) {
        *reason = g_strdup_printf ("conv_transpose input %u \"%s\" is not a constant (MIL "
                                   "conv_transpose takes const weight and bias)",
                                   i, n->in[i]->name);
        return FALSE;
      }
    return af_caps_conv (n, lim, reason);
  case AF_OP_MAX_POOL:
  case AF_OP_AVG_POOL:
    return af_caps_pool (n, lim, reason);
  case AF_OP_UPSAMPLE:
    if (MAX (n->attrs.scale[0], n->attrs.scale[1]) > lim->upsample_max) {
      *reason = g_strdup_printf ("upsample scale %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                 ": upsampling by more than %" G_GINT64_FORMAT
                                 "x (hollance unsupported-layers.md)",
                                 n->attrs.scale[0], n->attrs.scale[1], lim->upsample_max);
      return FALSE;
    }
    return TRUE;
  case AF_OP_BATCH_NORM:
    return af_caps_batch_norm (n, reason);
  default:
    return TRUE;
  }
}

/* ------------------------------------------------------------ partition */

static void
af_segment_free (gpointer p)
{
  AfAneSegment *s = p;
  g_ptr_array_unref (s->nodes);
  g_ptr_array_unref (s->inputs);
  g_ptr_array_unref (s->outputs);
  g_free (s->reason);
  g_free (s);
}

static AfAneSegment *
af_segment_new (AfAneSegmentKind kind)
{
  AfAneSegment *s = g_new0 (AfAneSegment, 1);
  s->kind = kind;
  s->nodes = g_ptr_array_new ();
  s->inputs = g_ptr_array_new ();
  s->outputs = g_ptr_array_new ();
  return s;
}

static gboolean
af_is_port (const AfNode *n)
{
  return n->op == AF_OP_INPUT || n->op == AF_OP_IMAGE_INPUT;
}

/* TRUE when every input of @n is a constant, a graph input or produced by a
 * node already placed (@seg_of[producer] >= 0). */
static gboolean
af_ready (const AfNode *n, const int *seg_of)
{
  for (guint j = 0; j < n->n_in; j++) {
    const AfNode *p = n->in[j]->producer;
    if (p && !af_is_port (p) && seg_of[p->index] < 0)
      return FALSE;
  }
  return TRUE;
}

/* Places the nodes of @order into segments; @seg_of[node index] receives
 * the segment index, @why[node index] the refusal reason (owned). */
static void
af_place (AfAnePartition *part, GPtrArray *order, int *seg_of, char **why)
{
  guint left = 0;
  for (guint i = 0; i < order->len; i++) {
    AfNode *n = g_ptr_array_index (order, i);
    if (af_is_port (n))
      continue;
    af_ane_caps_accepts (n, NULL, &why[n->index]); /* sets why[] on a refusal only */
    left++;
  }
  while (left > 0) {
    guint before = left;
    AfAneSegment *prog = NULL;
    for (guint i = 0; i < order->len; i++) { /* every fused node ready now */
      AfNode *n = g_ptr_array_index (order, i);
      if (af_is_port (n) || seg_of[n->index] >= 0 || why[n->index] || !af_ready (n, seg_of))
        continue;
      if (!prog) {
        prog = af_segment_new (AF_ANE_SEGMENT_PROGRAM);
        g_ptr_array_add (part->segments, prog);
      }
      g_ptr_array_add (prog->nodes, n);
      seg_of[n->index] = (int) part->segments->len - 1;
      left--;
    }
    for (guint i = 0; i < order->len; i++) { /* then every host step ready */
      AfNode *n = g_ptr_array_index (order, i);
      if (af_is_port (n) || seg_of[n->index] >= 0 || !why[n->index] || !af_ready (n, seg_of))
        continue;
      AfAneSegment *host = af_segment_new (AF_ANE_SEGMENT_HOST);
      g_ptr_array_add (host->nodes, n);
      host->reason = g_strdup (why[n->index]);
      g_ptr_array_add (part->segments, host);
      seg_of[n->index] = (int) part->segments->len - 1;
      left--;
    }
    g_assert (left < before); /* a topological order always has a ready node */
  }
}

static gboolean
af_is_graph_output (AfGraph *g, const AfTensor *t)
{
  for (guint i = 0; i < g->outputs->len; i++)
    if (g_array_index (g->outputs, AfOutput, i).value == t)
      return TRUE;
  return FALSE;
}

/* Fills the inputs and outputs of segment @k. */
static void
af_segment_io (AfAnePartition *part, guint k, GPtrArray *order, const int *seg_of)
{
  AfAneSegment *s = g_ptr_array_index (part->segments, k);
  for (guint i = 0; i < s->nodes->len; i++) {
    AfNode *n = g_ptr_array_index (s->nodes, i);
    for (guint j = 0; j < n->n_in; j++) {
      AfTensor *t = n->in[j];
      gboolean inside =
          t->producer && !af_is_port (t->producer) && seg_of[t->producer->index] == (int) k;
      if (t->kind != AF_VALUE_CONST && !inside && !g_ptr_array_find (s->inputs, t, NULL))
        g_ptr_array_add (s->inputs, t);
    }
    gboolean needed = af_is_graph_output (part->graph, n->out);
    for (guint u = 0; u < order->len && !needed; u++) {
      AfNode *c = g_ptr_array_index (order, u);
      for (guint j = 0; j < c->n_in && !needed; j++)
        needed = c->in[j] == n->out && !af_is_port (c) && seg_of[c->index] != (int) k;
    }
    if (needed)
      g_ptr_array_add (s->outputs, n->out);
  }
}

/* Checks what the segments cannot express. */
static gboolean
af_partition_check (AfAnePartition *part, GError **error)
{
  AfGraph *g = part->graph;
  for (guint i = 0; i < g->outputs->len; i++) {
    AfTensor *t = g_array_index (g->outputs, AfOutput, i).value;
    if (!t->producer || af_is_port (t->producer))
      return (g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED,
                           "%s: output \"%s\" is not computed by any node; the ANE export needs "
                           "every output to come out of a program or a host step",
                           af__graph_where (g), t->name),
              FALSE);
  }
  for (guint k = 0; k < part->segments->len; k++) {
    AfAneSegment *s = g_ptr_array_index (part->segments, k);
    for (guint i = 0; i < s->inputs->len && s->kind == AF_ANE_SEGMENT_HOST; i++) {
      AfTensor *t = g_ptr_array_index (s->inputs, i);
      if (t->producer && t->producer->op == AF_OP_IMAGE_INPUT)
        return (g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED,
                             "%s: host step \"%s\" reads the image port \"%s\" directly; its "
                             "scale and bias run on the engine, inside a program",
                             af__graph_where (g),
                             ((AfNode *) g_ptr_array_index (s->nodes, 0))->name, t->name),
                FALSE);
    }
  }
  return TRUE;
}

AfAnePartition *
af_ane_partition (AfGraph *g, GError **error)
{
  GPtrArray *order = g_ptr_array_new ();
  if (!af__graph_topo_order (g, order, error)) {
    g_ptr_array_unref (order);
    return NULL;
  }
  AfAnePartition *part = g_new0 (AfAnePartition, 1);
  part->graph = g;
  part->segments = g_ptr_array_new_with_free_func (af_segment_free);
  int *seg_of = g_new (int, g->nodes->len);
  char **why = g_new0 (char *, g->nodes->len);
  for (guint i = 0; i < g->nodes->len; i++)
    seg_of[i] = -1;
  af_place (part, order, seg_of, why);
  for (guint k = 0; k < part->segments->len; k++)
    af_segment_io (part, k, order, seg_of);
  /* a region whose values nobody reads is dead code: no program for it */
  for (guint k = part->segments->len; k-- > 0;) {
    AfAneSegment *s = g_ptr_array_index (part->segments, k);
    if (s->kind == AF_ANE_SEGMENT_PROGRAM && s->outputs->len == 0)
      g_ptr_array_remove_index (part->segments, k);
  }
  for (guint k = 0; k < part->segments->len; k++) {
    AfAneSegment *s = g_ptr_array_index (part->segments, k);
    part->n_programs += s->kind == AF_ANE_SEGMENT_PROGRAM;
    part->n_host += s->kind == AF_ANE_SEGMENT_HOST;
  }
  for (guint i = 0; i < g->nodes->len; i++)
    g_free (why[i]);
  g_free (why);
  g_free (seg_of);
  g_ptr_array_unref (order);
  if (!af_partition_check (part, error)) {
    af_ane_partition_free (part);
    return NULL;
  }
  return part;
}

void
af_ane_partition_free (AfAnePartition *p)
{
  if (!p)
    return;
  g_ptr_array_unref (p->segments);
  g_free (p);
}

/* "conv x3, relu x3, linear" in order of first appearance. */
static char *
af_op_census (const AfAneSegment *s)
{
  guint count[AF_OP_COUNT] = { 0 };
  GString *out = g_string_new (NULL);
  for (guint i = 0; i < s->nodes->len; i++)
    count[((AfNode *) g_ptr_array_index (s->nodes, i))->op]++;
  for (guint i = 0; i < s->nodes->len; i++) {
    AfOp op = ((AfNode *) g_ptr_array_index (s->nodes, i))->op;
    if (!count[op])
      continue;
    g_string_append_printf (out, "%s%s", out->len ? ", " : "", af_op_info[op].name);
    if (count[op] > 1)
      g_string_append_printf (out, " x%u", count[op]);
    count[op] = 0;
  }
  return g_string_free (out, FALSE);
}

static void
af_describe_values (GString *s, const char *label, GPtrArray *values)
{
  g_string_append_printf (s, "      %s:", label);
  for (guint i = 0; i < values->len; i++) {
    AfTensor *t = g_ptr_array_index (values, i);
    g_autofree char *shape = af__shape_str (&t->shape);
    gboolean image = t->producer && t->producer->op == AF_OP_IMAGE_INPUT;
    g_string_append_printf (s, "%s %s %s %s", i ? "," : "", t->name, image ? "uint8" : "fp16",
                            shape);
  }
  g_string_append_c (s, '\n');
}

char *
af_ane_partition_describe (const AfAnePartition *p)
{
  GString *s = g_string_new (NULL);
  const AfAneLimits *lim = af_ane_limits_default ();
  g_string_append_printf (s, "ANE plan of %s: %u program%s per frame, %u host step%s, %u cut%s\n",
                          p->graph->name ? p->graph->name : "graph", p->n_programs,
                          p->n_programs == 1 ? "" : "s", p->n_host, p->n_host == 1 ? "" : "s",
                          p->n_host, p->n_host == 1 ? "" : "s");
  g_string_append_printf (s,
                          "  limits: %s (rank <= %d, dims <= %" G_GINT64_FORMAT
                          ", conv kernel width <= %" G_GINT64_FORMAT
                          ", pooling kernel <= %" G_GINT64_FORMAT " stride <= %" G_GINT64_FORMAT
                          ")\n",
                          lim->family, lim->max_rank, lim->max_dim, lim->conv_kw_max,
                          lim->pool_kernel_max, lim->pool_stride_max);
  guint region = 0;
  for (guint k = 0; k < p->segments->len; k++) {
    const AfAneSegment *seg = g_ptr_array_index (p->segments, k);
    if (seg->kind == AF_ANE_SEGMENT_PROGRAM) {
      g_autofree char *ops = af_op_census (seg);
      g_string_append_printf (s, "  segment %u: program region-%u, %u ops (%s)\n", k, region++,
                              seg->nodes->len, ops);
    } else {
      const AfNode *n = g_ptr_array_index (seg->nodes, 0);
      g_string_append_printf (s, "  segment %u: host %s \"%s\" -- cut: %s\n", k,
                              af_op_info[n->op].name, n->name, seg->reason);
    }
    af_describe_values (s, "in", seg->inputs);
    af_describe_values (s, "out", seg->outputs);
  }
  return g_string_free (s, FALSE);
}
