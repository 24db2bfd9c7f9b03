/* context.c — the import context shared by every op mapper: values bound to
 * ONNX names, error messages naming file / node / op, typed attribute access,
 * and the emission of graph nodes with shape inference. */
#include "import/onnx/onnx-imp.h"

#include <stdarg.h>
#include <string.h>

/* Appends the C-string array of a PbNode's string list for messages. */
const char *
af__ox_node_name (const PbNode *n)
{
  return n->name && *n->name ? n->name : "";
}

gboolean
af__ox_fail (Imp *im, GError **error, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (im->cur)
    g_set_error (error, AF_ERROR, code, "%s: node %u \"%s\" (%s): %s", im->file, im->cur_index,
                 af__ox_node_name (im->cur), im->cur->op, msg);
  else
    g_set_error (error, AF_ERROR, code, "%s: %s", im->file, msg);
  g_free (msg);
  return FALSE;
}

/* A unique, valid graph name for @want (transfer full). */
char *
af__ox_unique_name (Imp *im, const char *want)
{
  GString *s = g_string_new (NULL);
  for (const char *p = want ? want : ""; *p; p++)
    g_string_append_c (s, (guchar) *p < 0x20 || *p == 0x7f ? '_' : *p);
  if (!s->len)
    g_string_append (s, "value");
  char *base = g_string_free (s, FALSE);
  if (!g_hash_table_contains (im->g->by_name, base))
    return base;
  for (guint i = 1;; i++) {
    char *name = g_strdup_printf ("%s_%u", base, i);
    if (!g_hash_table_contains (im->g->by_name, name)) {
      g_free (base);
      return name;
    }
    g_free (name);
  }
}

void
af__ox_bind (Imp *im, const char *onnx_name, const Val *v)
{
  if (!onnx_name || !*onnx_name)
    return;
  g_hash_table_replace (im->vals, g_strdup (onnx_name), g_memdup2 (v, sizeof *v));
}

void
af__ox_bind_tensor (Imp *im, const char *onnx_name, AfTensor *t)
{
  Val v = { .kind = V_TENSOR, .t = t };
  af__ox_bind (im, onnx_name, &v);
}

void
af__ox_bind_const (Imp *im, const char *onnx_name, Const *c)
{
  Val v = { .kind = V_CONST, .c = c };
  af__ox_bind (im, onnx_name, &v);
}

/* The ONNX name of input @i of @n, or NULL when absent / optional-empty. */
const char *
af__ox_in_name (const PbNode *n, guint i)
{
  if (i >= n->in->len)
    return NULL;
  const char *s = g_ptr_array_index (n->in, i);
  return *s ? s : NULL;
}

const char *
af__ox_out_name (const PbNode *n, guint i)
{
  if (i >= n->out->len)
    return NULL;
  const char *s = g_ptr_array_index (n->out, i);
  return *s ? s : NULL;
}

guint
af__ox_uses_of (Imp *im, const char *name)
{
  return name ? GPOINTER_TO_UINT (g_hash_table_lookup (im->uses, name)) : 0;
}

/* Input @i of the current node: NULL when absent (and not @required). */
Val *
af__ox_in_val (Imp *im, PbNode *n, guint i, gboolean required, GError **error)
{
  const char *name = af__ox_in_name (n, i);
  if (!name) {
    if (required)
      af__ox_fail (im, error, AF_ERROR_INVALID, "input %u is missing", i);
    return NULL;
  }
  Val *v = g_hash_table_lookup (im->vals, name);
  if (!v)
    af__ox_fail (im, error, AF_ERROR_INVALID,
                 "input %u \"%s\" is not defined (no initializer, graph input or earlier node "
                 "output)",
                 i, name);
  return v;
}

/* The graph constant of @c, created on first use (borrowed). */
AfTensor *
af__ox_c_tensor (Imp *im, Const *c, GError **error)
{
  if (c->t)
    return c->t;
  if (c->numel <= 0)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "constant \"%s\" is empty (the graph holds no empty tensors)", c->name),
           NULL;
  AfShape s = c->shape;
  if (s.rank == 0)
    s = (AfShape){ 1, { 1 } };
  char *name = af__ox_unique_name (im, c->name);
  if (c->kind == C_I64) {
    float *f = af__ox_c_f32 (c);
    GBytes *b = g_bytes_new_take (f, c->numel * sizeof (float));
    c->t = af__graph_add_const (im->g, name, &s, AF_DTYPE_F32, f, b);
    g_bytes_unref (b);
  } else {
    AfDType dt = c->kind == C_F32   ? AF_DTYPE_F32
                 : c->kind == C_F16 ? AF_DTYPE_F16
                 : c->kind == C_I8  ? AF_DTYPE_I8
                                    : AF_DTYPE_U8;
    c->t = af__graph_add_const (im->g, name, &s, dt, af__ox_c_data (c), c->bytes);
  }
  g_free (name);
  return c->t;
}

/* Input @i as a graph tensor (constants are materialized). */
AfTensor *
af__ox_in_tensor (Imp *im, PbNode *n, guint i, GError **error)
{
  Val *v = af__ox_in_val (im, n, i, TRUE, error);
  if (!v)
    return NULL;
  if (v->kind == V_CONST)
    return af__ox_c_tensor (im, v->c, error);
  if (v->kind == V_PAD)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "input %u \"%s\" comes from a Pad; a Pad is only supported directly before "
                        "a Conv or AveragePool",
                        i, af__ox_in_name (n, i)),
           NULL;
  return v->t;
}

/* Input @i as a host constant; NULL with @error if it is not one. */
Const *
af__ox_in_const (Imp *im, PbNode *n, guint i, const char *what, GError **error)
{
  Val *v = af__ox_in_val (im, n, i, TRUE, error);
  if (!v)
    return NULL;
  if (v->kind != V_CONST)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "input %u \"%s\" (%s) must be a constant (an initializer or foldable shape "
                        "arithmetic)",
                        i, af__ox_in_name (n, i), what),
           NULL;
  return v->c;
}

/* The shape of any value. */
AfShape
af__ox_val_shape (const Val *v)
{
  if (v->kind == V_CONST)
    return v->c->shape;
  AfShape s = v->t->shape;
  if (v->kind == V_PAD) {
    s.d[2] += v->pad[0] + v->pad[2];
    s.d[3] += v->pad[1] + v->pad[3];
  }
  return s;
}

PbAttr *
af__ox_attr_find (PbNode *n, const char *name)
{
  for (guint i = 0; i < n->attrs->len; i++) {
    PbAttr *a = g_ptr_array_index (n->attrs, i);
    if (g_str_equal (a->name, name))
      return a;
  }
  return NULL;
}

static const char *
attr_type_name (int t)
{
  static const char *names[] = { "UNDEFINED", "FLOAT",  "INT",  "STRING", "TENSOR",
                                 "GRAPH",     "FLOATS", "INTS", "STRINGS" };
  return t >= 0 && t < (int) G_N_ELEMENTS (names) ? names[t] : "?";
}

/* The attribute @name of type @type, or NULL when absent. */
PbAttr *
af__ox_attr_get (Imp *im, PbNode *n, const char *name, int type, gboolean *bad, GError **error)
{
  PbAttr *a = af__ox_attr_find (n, name);
  if (!a)
    return NULL;
  /* old files may leave "type" unset: infer it from the field present */
  int t = a->type;
  if (t == 0)
    t = a->t        ? AT_TENSOR
        : a->has_s  ? AT_STRING
        : a->ints   ? AT_INTS
        : a->floats ? AT_FLOATS
        : a->has_f  ? AT_FLOAT
                    : AT_INT;
  gboolean ok =
      t == type || (type == AT_INTS && t == AT_INT) || (type == AT_FLOATS && t == AT_FLOAT);
  if (!ok || (type == AT_TENSOR && !a->t)) {
    af__ox_fail (im, error, AF_ERROR_INVALID, "attribute \"%s\" has type %s, expected %s", name,
                 attr_type_name (t), attr_type_name (type));
    *bad = TRUE;
    return NULL;
  }
  return a;
}

gboolean
af__ox_attr_int (Imp *im, PbNode *n, const char *name, gint64 def, gint64 *out, GError **error)
{
  gboolean bad = FALSE;
  PbAttr *a = af__ox_attr_get (im, n, name, AT_INT, &bad, error);
  *out = a ? a->i : def;
  return !bad;
}

gboolean
af__ox_attr_float (Imp *im, PbNode *n, const char *name, float def, float *out, GError **error)
{
  gboolean bad = FALSE;
  PbAttr *a = af__ox_attr_get (im, n, name, AT_FLOAT, &bad, error);
  *out = a ? a->f : def;
  return !bad;
}

gboolean
af__ox_attr_str (Imp *im, PbNode *n, const char *name, const char *def, const char **out,
                 GError **error)
{
  gboolean bad = FALSE;
  PbAttr *a = af__ox_attr_get (im, n, name, AT_STRING, &bad, error);
  *out = a && a->s ? a->s : def;
  return !bad;
}

/* Fills @out with up to @max ints; *count = -1 when absent. */
gboolean
af__ox_attr_ints (Imp *im, PbNode *n, const char *name, int max, gint64 *out, int *count,
                  GError **error)
{
  gboolean bad = FALSE;
  PbAttr *a = af__ox_attr_get (im, n, name, AT_INTS, &bad, error);
  *count = -1;
  if (bad)
    return FALSE;
  if (!a)
    return TRUE;
  if (!a->ints) {
    if (a->has_i && max >= 1) {
      out[0] = a->i;
      *count = 1;
      return TRUE;
    }
    *count = 0;
    return TRUE;
  }
  if ((int) a->ints->len > max)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"%s\" has %u values, at most %d are supported", name,
                        a->ints->len, max);
  for (guint i = 0; i < a->ints->len; i++)
    out[i] = g_array_index (a->ints, gint64, i);
  *count = (int) a->ints->len;
  return TRUE;
}

/* Refuses attributes not listed in @known (space separated). */
gboolean
af__ox_attrs_check_known (Imp *im, PbNode *n, const char *known, GError **error)
{
  for (guint i = 0; i < n->attrs->len; i++) {
    PbAttr *a = g_ptr_array_index (n->attrs, i);
    gsize len = strlen (a->name);
    const char *p = known;
    gboolean found = FALSE;
    while (len && (p = strstr (p, a->name))) {
      if ((p == known || p[-1] == ' ') && (p[len] == ' ' || p[len] == 0)) {
        found = TRUE;
        break;
      }
      p += len;
    }
    if (!found)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "attribute \"%s\" is not supported",
                          a->name);
  }
  return TRUE;
}

/* Adds node @op on @in named after @want and infers its shape; errors name
 * the current ONNX node. Returns (borrowed) its output. */
AfTensor *
af__ox_emit (Imp *im, AfOp op, guint n_in, AfTensor *const *in, const AfAttrs *attrs,
             const char *want, GError **error)
{
  for (guint i = 0; i < n_in; i++)
    if (!in[i])
      return af__ox_fail (im, error, AF_ERROR_INVALID, "internal: missing input %u", i), NULL;
  char *name = af__ox_unique_name (im, want ? want : af_op_info[op].name);
  AfNode *node = af__graph_add_node (im->g, name, op, n_in, in, attrs);
  g_free (name);
  GError *local = NULL;
  const AfOpInfo *info = &af_op_info[op];
  if ((int) n_in < info->min_in || (info->max_in >= 0 && (int) n_in > info->max_in))
    return af__ox_fail (im, error, AF_ERROR_INVALID, "%s takes %d..%d inputs, got %u", info->name,
                        info->min_in, info->max_in, n_in),
           NULL;
  if (!info->shape (node, &local)) {
    af__ox_fail (im, error, local->code, "as %s \"%s\": %s", info->name, node->name,
                 local->message);
    g_error_free (local);
    return NULL;
  }
  AfShape *s = &node->out->shape;
  gint64 numel = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->d[i] <= 0 || s->d[i] > AF_MAX_DIM || numel > AF_MAX_NUMEL / s->d[i]) {
      char *str = af__shape_str (s);
      af__ox_fail (im, error, AF_ERROR_LIMIT, "output shape %s is empty or above the limits", str);
      g_free (str);
      return NULL;
    }
    numel *= s->d[i];
  }
  return node->out;
}

AfTensor *
af__ox_emit1 (Imp *im, AfOp op, AfTensor *x, const AfAttrs *a, const char *want, GError **error)
{
  return af__ox_emit (im, op, 1, &x, a, want, error);
}

AfTensor *
af__ox_emit2 (Imp *im, AfOp op, AfTensor *x, AfTensor *y, const char *want, GError **error)
{
  AfTensor *in[] = { x, y };
  return af__ox_emit (im, op, 2, in, NULL, want, error);
}

AfTensor *
af__ox_emit_reshape (Imp *im, AfTensor *x, const AfShape *to, const char *want, GError **error)
{
  AfAttrs a;
  af__attrs_init (AF_OP_RESHAPE, &a);
  if (to->rank < 1)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "reshaping a tensor to a scalar is not supported"),
           NULL;
  a.n_shape = to->rank;
  memcpy (a.shape, to->d, sizeof (gint64) * to->rank);
  a.set = AF_A (SHAPE);
  return af__ox_emit1 (im, AF_OP_RESHAPE, x, &a, want, error);
}

/* A scalar fp32 graph constant. */
AfTensor *
af__ox_scalar_tensor (Imp *im, float v, const char *name, GError **error)
{
  AfShape s = { 1, { 1 } };
  float *d;
  Const *c = af__ox_c_new (im, C_F32, &s, name, (void **) &d);
  d[0] = v;
  return af__ox_c_tensor (im, c, error);
}

gboolean
af__ox_bind_out (Imp *im, PbNode *n, AfTensor *t)
{
  if (!t)
    return FALSE;
  af__ox_bind_tensor (im, OUT0 (n), t);
  return TRUE;
}

gboolean
af__ox_extra_outputs_unused (Imp *im, PbNode *n, GError **error)
{
  for (guint i = 1; i < n->out->len; i++)
    if (af__ox_uses_of (im, af__ox_out_name (n, i)))
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                          "output %u \"%s\" is used; only output 0 is supported", i,
                          af__ox_out_name (n, i));
  return TRUE;
}

PbNode *
af__ox_sole_consumer (Imp *im, const char *name)
{
  if (!name || af__ox_uses_of (im, name) != 1 || g_hash_table_contains (im->is_out, name))
    return NULL;
  guint idx = GPOINTER_TO_UINT (g_hash_table_lookup (im->user, name));
  return idx ? g_ptr_array_index (im->m.nodes, idx - 1) : NULL;
}

Const *
af__ox_known_const (Imp *im, PbNode *n, guint i)
{
  const char *name = af__ox_in_name (n, i);
  Val *v = name ? g_hash_table_lookup (im->vals, name) : NULL;
  return v && v->kind == V_CONST ? v->c : NULL;
}
