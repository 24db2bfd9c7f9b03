/* graph.c — the graph IR: values, nodes, the op and attribute tables,
 * topological order, shape helpers. */
#include "graph.h"

#include <math.h>
#include <string.h>

/* clang-format off */
G_DEFINE_QUARK (af-error-quark, af_error)
/* clang-format on */

/* ---------------------------------------------------------------- tables */

const AfOpInfo af_op_info[AF_OP_COUNT] = {
#define AF_OP(id, jname, route, min_in, max_in, attrs, family)                                     \
  [AF_OP_##id] = { jname,   AF_ROUTE_##route,   min_in,           max_in,           attrs,         \
                   #family, af__shape_##family, af__ref_##family, af__cost_##family },
#include "ops.def"
#undef AF_OP
};

const AfAttrInfo af_attr_info[AF_ATTR_COUNT] = {
#define AF_ATTR_COUNT_OFFSET_INT(field) 0
#define AF_ATTR_COUNT_OFFSET_INT2(field) 0
#define AF_ATTR_COUNT_OFFSET_PAD4(field) 0
#define AF_ATTR_COUNT_OFFSET_INTS(field) offsetof (AfAttrs, n_##field)
#define AF_ATTR_COUNT_OFFSET_FLOAT(field) 0
#define AF_ATTR_COUNT_OFFSET_BOOL(field) 0
#define AF_ATTR(id, key, kind, field)                                                              \
  [AF_ATTR_##id] = { key, AF_ATTR_KIND_##kind, offsetof (AfAttrs, field),                          \
                     AF_ATTR_COUNT_OFFSET_##kind (field) },
#include "attrs.def"
#undef AF_ATTR
};

G_STATIC_ASSERT (AF_ATTR_COUNT <= 32); /* AfAttrs.set is a 32-bit mask */

guint
af_op_count (void)
{
  return AF_OP_COUNT;
}

void
af_op_describe (guint i, AfOpDescription *desc)
{
  g_return_if_fail (i < AF_OP_COUNT && desc);
  desc->name = af_op_info[i].name;
  desc->bridge = af_op_info[i].route == AF_ROUTE_BRIDGE;
  desc->family = af_op_info[i].family;
}

int
af__op_lookup (const char *name)
{
  for (int i = 0; i < AF_OP_COUNT; i++)
    if (strcmp (af_op_info[i].name, name) == 0)
      return i;
  return -1;
}

void
af__attrs_init (AfOp op, AfAttrs *a)
{
  memset (a, 0, sizeof *a);
  a->stride[0] = a->stride[1] = 1;
  a->dilation[0] = a->dilation[1] = 1;
  a->kernel[0] = a->kernel[1] = 1;
  a->scale[0] = a->scale[1] = 2;
  a->groups = 1;
  a->axis = op == AF_OP_CONCAT ? 1 : -1;
  a->k = 1;
  a->min = -INFINITY;
  a->max = INFINITY;
  a->eps = 1e-5f;
  a->step = 1;
  a->keepdims = TRUE;
}

/* ---------------------------------------------------------------- dtypes */

gsize
af__dtype_size (AfDType t)
{
  switch (t) {
  case AF_DTYPE_F32:
    return 4;
  case AF_DTYPE_F16:
    return 2;
  case AF_DTYPE_I8:
  case AF_DTYPE_U8:
    return 1;
  }
  g_return_val_if_reached (0);
}

const char *
af__dtype_name (AfDType t)
{
  static const char *names[] = { "F32", "F16", "I8", "U8" };
  g_return_val_if_fail ((guint) t < G_N_ELEMENTS (names), "?");
  return names[t];
}

/* ---------------------------------------------------------------- shapes */

gint64
af__shape_numel (const AfShape *s)
{
  gint64 n = 1;
  for (int i = 0; i < s->rank; i++)
    n *= s->d[i];
  return n;
}

gint64
af_shape_numel (int rank, const gint64 *shape)
{
  gint64 n = 1;
  for (int i = 0; i < rank; i++)
    n *= shape[i];
  return n;
}

char *
af__shape_str (const AfShape *s)
{
  GString *str = g_string_new ("[");
  for (int i = 0; i < s->rank; i++)
    g_string_append_printf (str, "%s%" G_GINT64_FORMAT, i ? ", " : "", s->d[i]);
  g_string_append_c (str, ']');
  return g_string_free (str, FALSE);
}

gboolean
af__shape_equal (const AfShape *a, const AfShape *b)
{
  if (a->rank != b->rank)
    return FALSE;
  for (int i = 0; i < a->rank; i++)
    if (a->d[i] != b->d[i])
      return FALSE;
  return TRUE;
}

gboolean
af__shape_broadcast (const AfShape *a, const AfShape *b, AfShape *out)
{
  int rank = MAX (a->rank, b->rank);
  AfShape r = { .rank = rank };
  for (int i = 0; i < rank; i++) {
    int ia = a->rank - rank + i, ib = b->rank - rank + i;
    gint64 da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return FALSE;
    r.d[i] = da == 1 ? db : da;
  }
  *out = r;
  return TRUE;
}

/* ---------------------------------------------------------------- graph */

static void
af_tensor_free (AfTensor *t)
{
  g_free (t->name);
  g_clear_pointer (&t->bytes, g_bytes_unref);
  g_free (t);
}

static void
af_node_free (AfNode *n)
{
  g_free (n->name);
  g_free (n->in);
  g_free (n);
}

static void
af_output_clear (AfOutput *o)
{
  g_free (o->name);
  af_decode_spec_clear (o->decode);
  g_free (o->decode);
}

AfGraph *
af_graph_new (const char *name)
{
  AfGraph *g = g_new0 (AfGraph, 1);
  g->name = g_strdup (name ? name : "graph");
  g->values = g_ptr_array_new_with_free_func ((GDestroyNotify) af_tensor_free);
  g->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) af_node_free);
  g->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  g->inputs = g_ptr_array_new ();
  g->outputs = g_array_new (FALSE, TRUE, sizeof (AfOutput));
  g_array_set_clear_func (g->outputs, (GDestroyNotify) af_output_clear);
  return g;
}

void
af_graph_free (AfGraph *g)
{
  if (!g)
    return;
  g_hash_table_unref (g->by_name);
  g_ptr_array_unref (g->inputs);
  g_array_unref (g->outputs);
  g_ptr_array_unref (g->nodes);
  g_ptr_array_unref (g->values);
  g_clear_error (&g->error);
  g_free (g->name);
  g_free (g->path);
  g_free (g->dir);
  g_free (g);
}

const char *
af_graph_name (AfGraph *g)
{
  g_return_val_if_fail (g, NULL);
  return g->name;
}

guint
af_graph_n_nodes (AfGraph *g)
{
  g_return_val_if_fail (g, 0);
  return g->nodes->len;
}

const GError *
af_graph_error (AfGraph *g)
{
  g_return_val_if_fail (g, NULL);
  return g->error;
}

const char *
af__graph_where (AfGraph *g)
{
  return g->path ? g->path : g->name;
}

AfTensor *
af_graph_lookup (AfGraph *g, const char *name)
{
  g_return_val_if_fail (g && name, NULL);
  return g_hash_table_lookup (g->by_name, name);
}

static AfTensor *
af_graph_add_value (AfGraph *g, const char *name, AfValueKind kind)
{
  AfTensor *t = g_new0 (AfTensor, 1);
  t->name = g_strdup (name);
  t->kind = kind;
  t->graph = g;
  t->index = g->values->len;
  g_ptr_array_add (g->values, t);
  g_hash_table_insert (g->by_name, t->name, t);
  return t;
}

AfTensor *
af__graph_add_const (AfGraph *g, const char *name, const AfShape *shape, AfDType dtype,
                     const void *data, GBytes *bytes)
{
  AfTensor *t = af_graph_add_value (g, name, AF_VALUE_CONST);
  t->shape = *shape;
  t->dtype = dtype;
  t->data = data;
  t->bytes = bytes ? g_bytes_ref (bytes) : NULL;
  return t;
}

AfNode *
af__graph_add_node (AfGraph *g, const char *name, AfOp op, guint n_in, AfTensor *const *in,
                    const AfAttrs *attrs)
{
  AfNode *n = g_new0 (AfNode, 1);
  n->name = g_strdup (name);
  n->op = op;
  n->n_in = n_in;
  n->in = g_new0 (AfTensor *, MAX (n_in, 1));
  if (n_in)
    memcpy (n->in, in, n_in * sizeof *in);
  if (attrs)
    n->attrs = *attrs;
  else
    af__attrs_init (op, &n->attrs);
  n->index = g->nodes->len;
  g_ptr_array_add (g->nodes, n);
  gboolean is_input = op == AF_OP_INPUT || op == AF_OP_IMAGE_INPUT;
  n->out = af_graph_add_value (g, name, is_input ? AF_VALUE_INPUT : AF_VALUE_NODE);
  n->out->producer = n;
  n->out->dtype = AF_DTYPE_F16;
  if (is_input)
    g_ptr_array_add (g->inputs, n);
  return n;
}

void
af_tensor_set_name (AfTensor *t, const char *name)
{
  g_return_if_fail (t && name);
  g_hash_table_remove (t->graph->by_name, t->name);
  g_free (t->name);
  t->name = g_strdup (name);
  g_hash_table_insert (t->graph->by_name, t->name, t);
  if (t->producer) {
    g_free (t->producer->name);
    t->producer->name = g_strdup (name);
  }
}

const char *
af_tensor_name (AfTensor *t)
{
  g_return_val_if_fail (t, NULL);
  return t->name;
}

int
af_tensor_rank (AfTensor *t)
{
  g_return_val_if_fail (t, 0);
  return t->shape.rank;
}

int
af_tensor_shape (AfTensor *t, gint64 *shape)
{
  g_return_val_if_fail (t && shape, 0);
  memcpy (shape, t->shape.d, sizeof (gint64) * t->shape.rank);
  return t->shape.rank;
}

gboolean
af__node_infer_shape (AfGraph *g, AfNode *n, GError **error)
{
  const AfOpInfo *info = &af_op_info[n->op];
  if ((int) n->n_in < info->min_in || (info->max_in >= 0 && (int) n->n_in > info->max_in)) {
    char *want = info->max_in < 0 ? g_strdup_printf ("at least %d", info->min_in)
                 : info->max_in == info->min_in
                     ? g_strdup_printf ("%d", info->min_in)
                     : g_strdup_printf ("%d to %d", info->min_in, info->max_in);
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                 "%s: nodes[%u] \"%s\": field \"inputs\": op \"%s\" takes %s inputs, got %u",
                 af__graph_where (g), n->index, n->name, info->name, want, n->n_in);
    g_free (want);
    return FALSE;
  }
  GError *local = NULL;
  if (!info->shape (n, &local)) {
    g_propagate_prefixed_error (error, local, "%s: nodes[%u] \"%s\" (%s): ", af__graph_where (g),
                                n->index, n->name, info->name);
    return FALSE;
  }
  gint64 numel = 1;
  for (int i = 0; i < n->out->shape.rank; i++) {
    gint64 d = n->out->shape.d[i];
    if (d <= 0 || d > AF_MAX_DIM || numel > AF_MAX_NUMEL / d) {
      char *s = af__shape_str (&n->out->shape);
      g_set_error (error, AF_ERROR, AF_ERROR_LIMIT,
                   "%s: nodes[%u] \"%s\" (%s): output shape %s is empty or above the limit of "
                   "%" G_GINT64_FORMAT " elements",
                   af__graph_where (g), n->index, n->name, info->name, s, AF_MAX_NUMEL);
      g_free (s);
      return FALSE;
    }
    numel *= d;
  }
  return TRUE;
}

/* Kahn's algorithm over the nodes; constants and inputs are ready at once. */
gboolean
af__graph_topo_order (AfGraph *g, GPtrArray *order, GError **error)
{
  guint n_nodes = g->nodes->len;
  guint *pending = g_new0 (guint, n_nodes);
  GPtrArray *users = g_ptr_array_new_full (n_nodes, (GDestroyNotify) g_ptr_array_unref);
  GQueue ready = G_QUEUE_INIT;

  for (guint i = 0; i < n_nodes; i++)
    g_ptr_array_add (users, g_ptr_array_new ());
  for (guint i = 0; i < n_nodes; i++) {
    AfNode *n = g_ptr_array_index (g->nodes, i);
    for (guint j = 0; j < n->n_in; j++) {
      AfNode *p = n->in[j]->producer;
      if (p) {
        pending[i]++;
        g_ptr_array_add (g_ptr_array_index (users, p->index), n);
      }
    }
    if (pending[i] == 0)
      g_queue_push_tail (&ready, n);
  }
  g_ptr_array_set_size (order, 0);
  while (!g_queue_is_empty (&ready)) {
    AfNode *n = g_queue_pop_head (&ready);
    g_ptr_array_add (order, n);
    GPtrArray *u = g_ptr_array_index (users, n->index);
    for (guint k = 0; k < u->len; k++) {
      AfNode *c = g_ptr_array_index (u, k);
      if (--pending[c->index] == 0)
        g_queue_push_tail (&ready, c);
    }
  }
  gboolean ok = order->len == n_nodes;
  if (!ok) {
    AfNode *stuck = NULL;
    for (guint i = 0; i < n_nodes && !stuck; i++)
      if (pending[i])
        stuck = g_ptr_array_index (g->nodes, i);
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                 "%s: nodes[%u] \"%s\": the graph has a cycle through this node",
                 af__graph_where (g), stuck->index, stuck->name);
  }
  g_ptr_array_unref (users);
  g_free (pending);
  return ok;
}

void
af__tensor_read_f32 (const AfTensor *t, float *dst)
{
  gint64 n = af__shape_numel (&t->shape);
  switch (t->dtype) {
  case AF_DTYPE_F32:
    memcpy (dst, t->data, n * sizeof (float));
    break;
  case AF_DTYPE_F16:
    af_fp16_to_f32_n (t->data, dst, n);
    break;
  case AF_DTYPE_I8:
    for (gint64 i = 0; i < n; i++)
      dst[i] = ((const gint8 *) t->data)[i];
    break;
  case AF_DTYPE_U8:
    for (gint64 i = 0; i < n; i++)
      dst[i] = ((const guint8 *) t->data)[i];
    break;
  }
}

/* ---------------------------------------------------------------- outputs */

void
af_graph_add_output (AfGraph *g, const char *name, AfTensor *t)
{
  g_return_if_fail (g && name);
  if (g->error)
    return;
  if (!t) {
    g_set_error (&g->error, AF_ERROR, AF_ERROR_INVALID, "%s: output \"%s\" has no value",
                 af__graph_where (g), name);
    return;
  }
  AfOutput o = { .name = g_strdup (name), .value = t };
  g_array_append_val (g->outputs, o);
}

void
af_graph_set_decode (AfGraph *g, guint index, const AfDecodeSpec *spec)
{
  g_return_if_fail (g && index < g->outputs->len);
  AfOutput *o = &g_array_index (g->outputs, AfOutput, index);
  af_decode_spec_clear (o->decode);
  g_clear_pointer (&o->decode, g_free);
  if (!spec)
    return;
  o->decode = g_new0 (AfDecodeSpec, 1);
  af_decode_spec_copy (o->decode, spec);
  if (o->decode->type == AF_DECODE_TYPE_CLASSIFICATION && !o->decode->scores)
    o->decode->scores = g_strdup (o->name);
}

void
af_graph_set_classification (AfGraph *g, guint index, gboolean softmax, guint top_k,
                             const char *labels_path)
{
  g_return_if_fail (g && index < g->outputs->len);
  AfDecodeSpec spec;
  af_decode_spec_init (&spec, AF_DECODE_TYPE_CLASSIFICATION);
  spec.softmax = softmax;
  spec.top_k = top_k ? top_k : 5;
  spec.labels = g_strdup (labels_path);
  af_graph_set_decode (g, index, &spec);
  af_decode_spec_clear (&spec);
}
