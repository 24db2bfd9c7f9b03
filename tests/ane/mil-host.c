/* mil-host.c — see mil-host.h. */
#include "mil-host.h"
#include "graph.h"

#include <string.h>

struct MilHost {
  AfGraph *g;
};

MilHost *
mil_host_new (const char *model, GError **error)
{
  AfGraph *g = af_graph_open (model, NULL, error);
  if (!g)
    return NULL;
  MilHost *h = g_new0 (MilHost, 1);
  h->g = g;
  return h;
}

void
mil_host_free (MilHost *h)
{
  if (!h)
    return;
  af_graph_free (h->g);
  g_free (h);
}

static gsize
elements (const AfShape *s)
{
  gsize n = 1;
  for (int i = 0; i < s->rank; i++)
    n *= (gsize) s->d[i];
  return n;
}

/* Input @t of a host node as fp32: a constant from its data, any other
 * value from @env (checked to have the graph's element count). */
static float *
input_values (const AfTensor *t, GHashTable *env, GError **error)
{
  gsize n = elements (&t->shape);
  float *v = g_new (float, MAX (n, 1));
  if (t->kind == AF_VALUE_CONST) {
    for (gsize i = 0; i < n; i++)
      switch (t->dtype) {
      case AF_DTYPE_F32:
        v[i] = ((const float *) t->data)[i];
        break;
      case AF_DTYPE_F16:
        v[i] = af_fp16_to_f32 (((const guint16 *) t->data)[i]);
        break;
      case AF_DTYPE_I8:
        v[i] = ((const gint8 *) t->data)[i];
        break;
      case AF_DTYPE_U8:
        v[i] = ((const guint8 *) t->data)[i];
        break;
      }
    return v;
  }
  const MilTensor *m = g_hash_table_lookup (env, t->name);
  if (!m || m->n != n) {
    g_set_error (error, MIL_ERROR, 0, "host input \"%s\": %s", t->name,
                 m ? "element count differs from the graph's" : "not computed");
    g_free (v);
    return NULL;
  }
  for (gsize i = 0; i < n; i++)
    v[i] = (float) m->v[i];
  return v;
}

MilTensor *
mil_host_run (gpointer data, const char *op, const char *node, GHashTable *env, GError **error)
{
  MilHost *h = data;
  AfNode *n = NULL;
  for (guint i = 0; i < h->g->nodes->len && !n; i++) {
    AfNode *c = h->g->nodes->pdata[i];
    n = strcmp (c->name, node) == 0 ? c : NULL;
  }
  if (!n || strcmp (af_op_info[n->op].name, op) != 0 || !af_op_info[n->op].ref) {
    g_set_error (error, MIL_ERROR, 0, "host %s \"%s\": no such node with a reference kernel", op,
                 node);
    return NULL;
  }
  float **in = g_new0 (float *, n->n_in + 1);
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < n->n_in; i++)
    ok = (in[i] = input_values (n->in[i], env, error)) != NULL;
  MilTensor *t = NULL;
  if (ok) {
    gsize count = elements (&n->out->shape);
    float *out = g_new0 (float, MAX (count, 1));
    af_op_info[n->op].ref (n, (const float *const *) in, out);
    t = mil_tensor_new (MIL_FP16, n->out->shape.rank, n->out->shape.d);
    for (gsize i = 0; i < count; i++)
      t->v[i] = mil_round (MIL_FP16, out[i]);
    g_free (out);
  }
  for (guint i = 0; i < n->n_in; i++)
    g_free (in[i]);
  g_free (in);
  return t;
}
