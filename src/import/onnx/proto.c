/* proto.c — the ONNX protobuf schema as far as the importer needs it: ModelProto,
 * GraphProto, NodeProto, TensorProto, AttributeProto and ValueInfoProto decoded
 * into the plain structs of onnx-imp.h on top of the wire reader
 * (import/protobuf.c). Every read is bounds checked; strings are copied. */
#include "import/onnx/onnx-imp.h"

#include <string.h>

void
af__ox_pb_tensor_free (PbTensor *t)
{
  if (!t)
    return;
  g_free (t->name);
  if (t->floats)
    g_array_unref (t->floats);
  if (t->ints)
    g_array_unref (t->ints);
  if (t->doubles)
    g_array_unref (t->doubles);
  g_free (t);
}

static void
pb_attr_free (PbAttr *a)
{
  g_free (a->name);
  g_free (a->s);
  af__ox_pb_tensor_free (a->t);
  if (a->floats)
    g_array_unref (a->floats);
  if (a->ints)
    g_array_unref (a->ints);
  g_free (a);
}

void
af__ox_pb_node_free (PbNode *n)
{
  g_free (n->name);
  g_free (n->op);
  g_free (n->domain);
  g_ptr_array_unref (n->in);
  g_ptr_array_unref (n->out);
  g_ptr_array_unref (n->attrs);
  g_free (n);
}

void
af__ox_pb_value_info_free (PbValueInfo *v)
{
  g_free (v->name);
  g_free (v);
}

void
af__ox_pb_model_clear (PbModel *m)
{
  g_free (m->graph_name);
  g_free (m->other_domain);
  g_ptr_array_unref (m->nodes);
  g_ptr_array_unref (m->inits);
  g_ptr_array_unref (m->inputs);
  g_ptr_array_unref (m->outputs);
}

/* A copy of a string field, made valid UTF-8. */
static char *
pb_string (const AfPbField *f)
{
  return g_utf8_make_valid ((const char *) f->data, (gssize) f->len);
}

static gboolean
pb_string_field (const AfPbReader *r, const AfPbField *f, const char *what, char **dst,
                 GError **error)
{
  if (!af__pb_expect (r, f, AF_PB_LEN, what, error))
    return FALSE;
  g_free (*dst);
  *dst = pb_string (f);
  return TRUE;
}

static gboolean
pb_int_field (const AfPbReader *r, const AfPbField *f, const char *what, gint64 *dst,
              GError **error)
{
  if (!af__pb_expect (r, f, AF_PB_VARINT, what, error))
    return FALSE;
  *dst = (gint64) f->u;
  return TRUE;
}

#define PB_LOOP(r, f, error)                                                                       \
  for (int _rc; (_rc = af__pb_next ((r), &(f), (error))) != 0;)                                    \
    if (_rc < 0)                                                                                   \
      return FALSE;                                                                                \
    else

static GArray *
pb_array (GArray **a, gsize elt)
{
  if (!*a)
    *a = g_array_new (FALSE, FALSE, elt);
  return *a;
}

gboolean
af__ox_pb_parse_tensor (AfPbReader *r, PbTensor *t, GError **error)
{
  AfPbField f;
  gint64 v;
  GArray *dims = g_array_new (FALSE, FALSE, sizeof (gint64));
  gboolean ok = FALSE;
  for (int rc; (rc = af__pb_next (r, &f, error)) != 0;) {
    if (rc < 0)
      goto out;
    switch (f.number) {
    case 1:
      if (!af__pb_append_varints (r, &f, "dims", dims, error))
        goto out;
      break;
    case 2:
      if (!pb_int_field (r, &f, "data_type", &v, error))
        goto out;
      t->dtype = (int) CLAMP (v, -1, 1000);
      break;
    case 3:
      t->has_segment = TRUE;
      break;
    case 4:
      if (!af__pb_append_floats (r, &f, "float_data", pb_array (&t->floats, sizeof (float)), error))
        goto out;
      break;
    case 5:
    case 7:
    case 11:
      if (!af__pb_append_varints (r, &f, "int_data", pb_array (&t->ints, sizeof (gint64)), error))
        goto out;
      break;
    case 8:
      if (!pb_string_field (r, &f, "name", &t->name, error))
        goto out;
      break;
    case 9:
      if (!af__pb_expect (r, &f, AF_PB_LEN, "raw_data", error))
        goto out;
      t->raw = f.data;
      t->raw_len = f.len;
      t->has_raw = TRUE;
      break;
    case 10:
      if (!af__pb_append_doubles (r, &f, "double_data", pb_array (&t->doubles, sizeof (double)),
                                  error))
        goto out;
      break;
    case 13:
      t->external = TRUE;
      break;
    case 14:
      if (!pb_int_field (r, &f, "data_location", &v, error))
        goto out;
      if (v == 1)
        t->external = TRUE;
      break;
    default:
      break;
    }
  }
  if (dims->len > AF_MAX_RANK) {
    g_set_error (error, AF_ERROR, AF_ERROR_LIMIT, "tensor \"%s\" has rank %u, above %d",
                 t->name ? t->name : "", dims->len, AF_MAX_RANK);
    goto out;
  }
  t->rank = (int) dims->len;
  for (int i = 0; i < t->rank; i++)
    t->dims[i] = g_array_index (dims, gint64, i);
  ok = TRUE;
out:
  g_array_unref (dims);
  return ok;
}

static gboolean
pb_parse_attr (AfPbReader *r, PbAttr *a, GError **error)
{
  AfPbField f;
  gint64 v;
  PB_LOOP (r, f, error)
  {
    switch (f.number) {
    case 1:
      if (!pb_string_field (r, &f, "name", &a->name, error))
        return FALSE;
      break;
    case 20:
      if (!pb_int_field (r, &f, "type", &v, error))
        return FALSE;
      a->type = (int) CLAMP (v, -1, 1000);
      break;
    case 2: {
      if (!af__pb_expect (r, &f, AF_PB_I32, "f", error))
        return FALSE;
      guint32 bits = (guint32) f.u;
      memcpy (&a->f, &bits, 4);
      a->has_f = TRUE;
      break;
    }
    case 3:
      if (!pb_int_field (r, &f, "i", &a->i, error))
        return FALSE;
      a->has_i = TRUE;
      break;
    case 4:
      if (!pb_string_field (r, &f, "s", &a->s, error))
        return FALSE;
      a->has_s = TRUE;
      break;
    case 5: {
      AfPbReader sub;
      if (!af__pb_sub (r, &f, &sub, error))
        return FALSE;
      af__ox_pb_tensor_free (a->t);
      a->t = g_new0 (PbTensor, 1);
      if (!af__ox_pb_parse_tensor (&sub, a->t, error)) {
        g_prefix_error (error, "t > ");
        return FALSE;
      }
      break;
    }
    case 7:
      if (!af__pb_append_floats (r, &f, "floats", pb_array (&a->floats, sizeof (float)), error))
        return FALSE;
      break;
    case 8:
      if (!af__pb_append_varints (r, &f, "ints", pb_array (&a->ints, sizeof (gint64)), error))
        return FALSE;
      break;
    default:
      break;
    }
  }
  if (!a->name)
    a->name = g_strdup ("");
  return TRUE;
}

static gboolean
pb_parse_node (AfPbReader *r, PbNode *n, GError **error)
{
  AfPbField f;
  PB_LOOP (r, f, error)
  {
    switch (f.number) {
    case 1:
    case 2:
      if (!af__pb_expect (r, &f, AF_PB_LEN, f.number == 1 ? "input" : "output", error))
        return FALSE;
      if ((f.number == 1 ? n->in : n->out)->len >= AF_MAX_INPUTS_PER_NODE) {
        g_set_error (error, AF_ERROR, AF_ERROR_LIMIT, "more than %d %ss", AF_MAX_INPUTS_PER_NODE,
                     f.number == 1 ? "input" : "output");
        return FALSE;
      }
      g_ptr_array_add (f.number == 1 ? n->in : n->out, pb_string (&f));
      break;
    case 3:
      if (!pb_string_field (r, &f, "name", &n->name, error))
        return FALSE;
      break;
    case 4:
      if (!pb_string_field (r, &f, "op_type", &n->op, error))
        return FALSE;
      break;
    case 7:
      if (!pb_string_field (r, &f, "domain", &n->domain, error))
        return FALSE;
      break;
    case 5: {
      AfPbReader sub;
      if (!af__pb_sub (r, &f, &sub, error))
        return FALSE;
      if (n->attrs->len >= 1024) {
        g_set_error (error, AF_ERROR, AF_ERROR_LIMIT, "more than 1024 attributes");
        return FALSE;
      }
      PbAttr *a = g_new0 (PbAttr, 1);
      g_ptr_array_add (n->attrs, a);
      if (!pb_parse_attr (&sub, a, error)) {
        g_prefix_error (error, "attribute[%u] > ", n->attrs->len - 1);
        return FALSE;
      }
      break;
    }
    default:
      break;
    }
  }
  if (!n->op)
    n->op = g_strdup ("");
  return TRUE;
}

static gboolean
pb_parse_shape (AfPbReader *r, PbValueInfo *v, GError **error)
{
  AfPbField f;
  v->has_shape = TRUE;
  PB_LOOP (r, f, error)
  {
    if (f.number != 1)
      continue;
    AfPbReader dim;
    AfPbField df;
    if (!af__pb_sub (r, &f, &dim, error))
      return FALSE;
    gint64 value = 0;
    gboolean symbolic = TRUE;
    PB_LOOP (&dim, df, error)
    {
      if (df.number == 1) {
        if (!pb_int_field (&dim, &df, "dim_value", &value, error))
          return FALSE;
        symbolic = FALSE;
      }
    }
    if (v->rank < AF_MAX_RANK) {
      v->dims[v->rank] = value;
      v->symbolic[v->rank] = symbolic;
    }
    if (v->rank < 1000)
      v->rank++;
  }
  return TRUE;
}

static gboolean
pb_parse_value_info (AfPbReader *r, PbValueInfo *v, GError **error)
{
  AfPbField f, tf, ttf;
  PB_LOOP (r, f, error)
  {
    if (f.number == 1) {
      if (!pb_string_field (r, &f, "name", &v->name, error))
        return FALSE;
    } else if (f.number == 2) { /* TypeProto */
      AfPbReader type, tensor;
      if (!af__pb_sub (r, &f, &type, error))
        return FALSE;
      PB_LOOP (&type, tf, error)
      {
        if (tf.number != 1) /* tensor_type */
          continue;
        if (!af__pb_sub (&type, &tf, &tensor, error))
          return FALSE;
        PB_LOOP (&tensor, ttf, error)
        {
          gint64 et;
          if (ttf.number == 1) {
            if (!pb_int_field (&tensor, &ttf, "elem_type", &et, error))
              return FALSE;
            v->elem_type = (int) CLAMP (et, -1, 1000);
          } else if (ttf.number == 2) {
            AfPbReader shape;
            if (!af__pb_sub (&tensor, &ttf, &shape, error) || !pb_parse_shape (&shape, v, error))
              return FALSE;
          }
        }
      }
    }
  }
  if (!v->name)
    v->name = g_strdup ("");
  return TRUE;
}

static gboolean
pb_parse_graph (AfPbReader *r, PbModel *m, GError **error)
{
  AfPbField f;
  PB_LOOP (r, f, error)
  {
    AfPbReader sub;
    switch (f.number) {
    case 1: {
      if (!af__pb_sub (r, &f, &sub, error))
        return FALSE;
      if (m->nodes->len >= AF_MAX_NODES) {
        g_set_error (error, AF_ERROR, AF_ERROR_LIMIT, "more than %d nodes", AF_MAX_NODES);
        return FALSE;
      }
      PbNode *n = g_new0 (PbNode, 1);
      n->in = g_ptr_array_new_with_free_func (g_free);
      n->out = g_ptr_array_new_with_free_func (g_free);
      n->attrs = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_attr_free);
      g_ptr_array_add (m->nodes, n);
      if (!pb_parse_node (&sub, n, error)) {
        g_prefix_error (error, "node[%u] > ", m->nodes->len - 1);
        return FALSE;
      }
      break;
    }
    case 2:
      if (!pb_string_field (r, &f, "name", &m->graph_name, error))
        return FALSE;
      break;
    case 5: {
      if (!af__pb_sub (r, &f, &sub, error))
        return FALSE;
      if (m->inits->len >= AF_MAX_NODES) {
        g_set_error (error, AF_ERROR, AF_ERROR_LIMIT, "more than %d initializers", AF_MAX_NODES);
        return FALSE;
      }
      PbTensor *t = g_new0 (PbTensor, 1);
      g_ptr_array_add (m->inits, t);
      if (!af__ox_pb_parse_tensor (&sub, t, error)) {
        g_prefix_error (error, "initializer[%u] > ", m->inits->len - 1);
        return FALSE;
      }
      break;
    }
    case 11:
    case 12: {
      GPtrArray *list = f.number == 11 ? m->inputs : m->outputs;
      if (!af__pb_sub (r, &f, &sub, error))
        return FALSE;
      if (list->len >= AF_MAX_NODES) {
        g_set_error (error, AF_ERROR, AF_ERROR_LIMIT, "more than %d graph inputs or outputs",
                     AF_MAX_NODES);
        return FALSE;
      }
      PbValueInfo *v = g_new0 (PbValueInfo, 1);
      g_ptr_array_add (list, v);
      if (!pb_parse_value_info (&sub, v, error)) {
        g_prefix_error (error, "%s[%u] > ", f.number == 11 ? "input" : "output", list->len - 1);
        return FALSE;
      }
      break;
    }
    case 15:
      g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED, "sparse initializers are not supported");
      return FALSE;
    default:
      break;
    }
  }
  return TRUE;
}

gboolean
af__ox_pb_parse_model (const guint8 *data, gsize len, PbModel *m, GError **error)
{
  AfPbReader r;
  AfPbField f;
  af__pb_init (&r, data, len);
  m->opset = -1;
  PB_LOOP (&r, f, error)
  {
    AfPbReader sub;
    if (f.number == 7) {
      if (!af__pb_sub (&r, &f, &sub, error))
        return FALSE;
      if (m->has_graph) {
        g_set_error (error, AF_ERROR, AF_ERROR_PARSE, "byte %" G_GSIZE_FORMAT ": a second graph",
                     f.offset);
        return FALSE;
      }
      m->has_graph = TRUE;
      if (!pb_parse_graph (&sub, m, error)) {
        g_prefix_error (error, "graph > ");
        return FALSE;
      }
    } else if (f.number == 8) {
      AfPbField of;
      char *domain = NULL;
      gint64 version = -1;
      if (!af__pb_sub (&r, &f, &sub, error))
        return FALSE;
      for (int rc; (rc = af__pb_next (&sub, &of, error)) != 0;) {
        gboolean ok = rc > 0;
        if (ok && of.number == 1)
          ok = pb_string_field (&sub, &of, "domain", &domain, error);
        else if (ok && of.number == 2)
          ok = pb_int_field (&sub, &of, "version", &version, error);
        if (!ok) {
          g_free (domain);
          g_prefix_error (error, "opset_import > ");
          return FALSE;
        }
      }
      if (!domain || !*domain || g_str_equal (domain, "ai.onnx"))
        m->opset = version;
      else if (!m->other_domain)
        m->other_domain = g_strdup (domain);
      g_free (domain);
    }
  }
  return TRUE;
}
