/* onnx.c — the ONNX importer: protobuf (import/protobuf.c) -> AfGraph.
 *
 * Three steps: parse the ModelProto into plain structs (every read bounds
 * checked, strings copied), then walk the nodes in file order mapping each
 * ONNX op onto the op table, and finally declare the graph outputs. Values
 * are either graph tensors or host constants; shape arithmetic on host
 * constants (Shape, Gather, Unsqueeze, Concat, Add...) is evaluated here and
 * never emitted. Constants become graph constants only when a compute node
 * uses them. Anything that cannot be mapped exactly is refused with a
 * message naming file, node (index, name), op and attribute. */
#include "graph.h"
#include "import/protobuf.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

/* ONNX TensorProto.DataType */
enum {
  OT_FLOAT = 1,
  OT_UINT8 = 2,
  OT_INT8 = 3,
  OT_UINT16 = 4,
  OT_INT16 = 5,
  OT_INT32 = 6,
  OT_INT64 = 7,
  OT_BOOL = 9,
  OT_FLOAT16 = 10,
  OT_DOUBLE = 11,
};

/* AttributeProto.AttributeType */
enum {
  AT_FLOAT = 1,
  AT_INT = 2,
  AT_STRING = 3,
  AT_TENSOR = 4,
  AT_FLOATS = 6,
  AT_INTS = 7,
};

/* ---------------------------------------------------------------- parsed protobuf */

typedef struct {
  char *name;
  int dtype;
  int rank;
  gint64 dims[AF_MAX_RANK];
  const guint8 *raw;
  gsize raw_len;
  gboolean has_raw, external, has_segment;
  GArray *floats;  /* float_data */
  GArray *ints;    /* int32_data, int64_data, uint64_data (gint64) */
  GArray *doubles; /* double_data */
} PbTensor;

typedef struct {
  char *name;
  int type;
  float f;
  gint64 i;
  char *s;
  PbTensor *t;
  GArray *floats, *ints;
  gboolean has_f, has_i, has_s;
} PbAttr;

typedef struct {
  char *name, *op, *domain;
  GPtrArray *in, *out; /* char* */
  GPtrArray *attrs;    /* PbAttr* */
  gboolean done;       /* folded into an earlier node */
} PbNode;

typedef struct {
  char *name;
  int elem_type;
  gboolean has_shape;
  int rank; /* may exceed AF_MAX_RANK: checked when used */
  gint64 dims[AF_MAX_RANK];
  gboolean symbolic[AF_MAX_RANK];
} PbValueInfo;

static void
pb_tensor_free (PbTensor *t)
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
  pb_tensor_free (a->t);
  if (a->floats)
    g_array_unref (a->floats);
  if (a->ints)
    g_array_unref (a->ints);
  g_free (a);
}

static void
pb_node_free (PbNode *n)
{
  g_free (n->name);
  g_free (n->op);
  g_free (n->domain);
  g_ptr_array_unref (n->in);
  g_ptr_array_unref (n->out);
  g_ptr_array_unref (n->attrs);
  g_free (n);
}

static void
pb_value_info_free (PbValueInfo *v)
{
  g_free (v->name);
  g_free (v);
}

typedef struct {
  gint64 opset;
  char *other_domain; /* the first non-default opset_import domain, or NULL */
  gboolean has_graph;
  char *graph_name;
  GPtrArray *nodes;   /* PbNode* */
  GPtrArray *inits;   /* PbTensor* */
  GPtrArray *inputs;  /* PbValueInfo* */
  GPtrArray *outputs; /* PbValueInfo* */
} PbModel;

static void
pb_model_clear (PbModel *m)
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

static gboolean
pb_parse_tensor (AfPbReader *r, PbTensor *t, GError **error)
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
      pb_tensor_free (a->t);
      a->t = g_new0 (PbTensor, 1);
      if (!pb_parse_tensor (&sub, a->t, error)) {
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
      if (!pb_parse_tensor (&sub, t, error)) {
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

static gboolean
pb_parse_model (const guint8 *data, gsize len, PbModel *m, GError **error)
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

/* ---------------------------------------------------------------- values */

typedef enum { C_F32, C_F16, C_I8, C_U8, C_I64 } CKind;

/* A host constant: initializer, Constant node or folded shape arithmetic. */
typedef struct {
  CKind kind;
  AfShape shape; /* rank 0 for scalars */
  gint64 numel;
  GBytes *bytes; /* owned, aligned */
  char *name;    /* for the graph constant */
  AfTensor *t;   /* the graph constant once a node uses it */
} Const;

typedef enum { V_TENSOR, V_CONST, V_PAD } VKind;

typedef struct {
  VKind kind;
  AfTensor *t;   /* V_TENSOR; V_PAD: the unpadded tensor */
  Const *c;      /* V_CONST (ref shared between aliases: owned by the import) */
  gint64 pad[4]; /* V_PAD: top, left, bottom, right */
} Val;

typedef struct {
  const char *file;
  AfGraph *g;
  AfImportOptions opts;
  PbModel m;
  GHashTable *vals;   /* ONNX name -> Val*, owned */
  GHashTable *uses;   /* ONNX name -> number of uses (node inputs + graph outputs) */
  GHashTable *user;   /* ONNX name -> the index + 1 of its first consumer node */
  GHashTable *is_out; /* ONNX names of graph outputs */
  GPtrArray *consts;  /* Const*, owned */
  PbNode *cur;        /* the node being mapped, for messages */
  guint cur_index;
} Imp;

static const void *
c_data (const Const *c)
{
  return g_bytes_get_data (c->bytes, NULL);
}

static gsize
c_esize (CKind k)
{
  switch (k) {
  case C_F32:
    return 4;
  case C_F16:
    return 2;
  case C_I8:
  case C_U8:
    return 1;
  case C_I64:
    return 8;
  }
  return 1;
}

/* Returns (borrowed, owned by @im) a zeroed constant of @shape; @data (may be
 * NULL) receives the writable buffer. */
static Const *
c_new (Imp *im, CKind kind, const AfShape *shape, const char *name, void **data)
{
  Const *c = g_new0 (Const, 1);
  c->kind = kind;
  c->shape = *shape;
  c->numel = af__shape_numel (shape);
  void *buf = g_malloc0 (MAX (c->numel, 1) * c_esize (kind));
  if (data)
    *data = buf;
  c->bytes = g_bytes_new_take (buf, c->numel * c_esize (kind));
  c->name = g_strdup (name);
  g_ptr_array_add (im->consts, c);
  return c;
}

static void
c_free (Const *c)
{
  g_bytes_unref (c->bytes);
  g_free (c->name);
  g_free (c);
}

static double
c_get (const Const *c, gint64 i)
{
  const void *d = c_data (c);
  switch (c->kind) {
  case C_F32:
    return ((const float *) d)[i];
  case C_F16:
    return af_fp16_to_f32 (((const guint16 *) d)[i]);
  case C_I8:
    return ((const gint8 *) d)[i];
  case C_U8:
    return ((const guint8 *) d)[i];
  case C_I64:
    return (double) ((const gint64 *) d)[i];
  }
  return 0;
}

static gint64
c_get_i64 (const Const *c, gint64 i)
{
  if (c->kind == C_I64)
    return ((const gint64 *) c_data (c))[i];
  double v = c_get (c, i);
  if (!(v > -9.2e18 && v < 9.2e18))
    return 0;
  return (gint64) v;
}

/* Returns (transfer full) the values of @c as fp32. */
static float *
c_f32 (const Const *c)
{
  float *out = g_new (float, MAX (c->numel, 1));
  for (gint64 i = 0; i < c->numel; i++)
    out[i] = (float) c_get (c, i);
  return out;
}

/* Appends the C-string array of a PbNode's string list for messages. */
static const char *
node_name (const PbNode *n)
{
  return n->name && *n->name ? n->name : "";
}

static gboolean G_GNUC_PRINTF (4, 5)
    imp_fail (Imp *im, GError **error, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (im->cur)
    g_set_error (error, AF_ERROR, code, "%s: node %u \"%s\" (%s): %s", im->file, im->cur_index,
                 node_name (im->cur), im->cur->op, msg);
  else
    g_set_error (error, AF_ERROR, code, "%s: %s", im->file, msg);
  g_free (msg);
  return FALSE;
}

/* A unique, valid graph name for @want (transfer full). */
static char *
imp_unique_name (Imp *im, const char *want)
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

static void
imp_bind (Imp *im, const char *onnx_name, const Val *v)
{
  if (!onnx_name || !*onnx_name)
    return;
  g_hash_table_replace (im->vals, g_strdup (onnx_name), g_memdup2 (v, sizeof *v));
}

static void
imp_bind_tensor (Imp *im, const char *onnx_name, AfTensor *t)
{
  Val v = { .kind = V_TENSOR, .t = t };
  imp_bind (im, onnx_name, &v);
}

static void
imp_bind_const (Imp *im, const char *onnx_name, Const *c)
{
  Val v = { .kind = V_CONST, .c = c };
  imp_bind (im, onnx_name, &v);
}

/* The ONNX name of input @i of @n, or NULL when absent / optional-empty. */
static const char *
in_name (const PbNode *n, guint i)
{
  if (i >= n->in->len)
    return NULL;
  const char *s = g_ptr_array_index (n->in, i);
  return *s ? s : NULL;
}

static const char *
out_name (const PbNode *n, guint i)
{
  if (i >= n->out->len)
    return NULL;
  const char *s = g_ptr_array_index (n->out, i);
  return *s ? s : NULL;
}

static guint
uses_of (Imp *im, const char *name)
{
  return name ? GPOINTER_TO_UINT (g_hash_table_lookup (im->uses, name)) : 0;
}

/* Input @i of the current node: NULL when absent (and not @required). */
static Val *
in_val (Imp *im, PbNode *n, guint i, gboolean required, GError **error)
{
  const char *name = in_name (n, i);
  if (!name) {
    if (required)
      imp_fail (im, error, AF_ERROR_INVALID, "input %u is missing", i);
    return NULL;
  }
  Val *v = g_hash_table_lookup (im->vals, name);
  if (!v)
    imp_fail (im, error, AF_ERROR_INVALID,
              "input %u \"%s\" is not defined (no initializer, graph input or earlier node "
              "output)",
              i, name);
  return v;
}

/* The graph constant of @c, created on first use (borrowed). */
static AfTensor *
c_tensor (Imp *im, Const *c, GError **error)
{
  if (c->t)
    return c->t;
  if (c->numel <= 0)
    return imp_fail (im, error, AF_ERROR_SHAPE, "constant \"%s\" is empty", c->name), NULL;
  AfShape s = c->shape;
  if (s.rank == 0)
    s = (AfShape){ 1, { 1 } };
  char *name = imp_unique_name (im, c->name);
  if (c->kind == C_I64) {
    float *f = c_f32 (c);
    GBytes *b = g_bytes_new_take (f, c->numel * sizeof (float));
    c->t = af__graph_add_const (im->g, name, &s, AF_DTYPE_F32, f, b);
    g_bytes_unref (b);
  } else {
    AfDType dt = c->kind == C_F32   ? AF_DTYPE_F32
                 : c->kind == C_F16 ? AF_DTYPE_F16
                 : c->kind == C_I8  ? AF_DTYPE_I8
                                    : AF_DTYPE_U8;
    c->t = af__graph_add_const (im->g, name, &s, dt, c_data (c), c->bytes);
  }
  g_free (name);
  return c->t;
}

/* Input @i as a graph tensor (constants are materialized). */
static AfTensor *
in_tensor (Imp *im, PbNode *n, guint i, GError **error)
{
  Val *v = in_val (im, n, i, TRUE, error);
  if (!v)
    return NULL;
  if (v->kind == V_CONST)
    return c_tensor (im, v->c, error);
  if (v->kind == V_PAD)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "input %u \"%s\" comes from a Pad; a Pad is only supported directly before "
                     "a Conv or AveragePool",
                     i, in_name (n, i)),
           NULL;
  return v->t;
}

/* Input @i as a host constant; NULL with @error if it is not one. */
static Const *
in_const (Imp *im, PbNode *n, guint i, const char *what, GError **error)
{
  Val *v = in_val (im, n, i, TRUE, error);
  if (!v)
    return NULL;
  if (v->kind != V_CONST)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "input %u \"%s\" (%s) must be a constant (an initializer or foldable shape "
                     "arithmetic)",
                     i, in_name (n, i), what),
           NULL;
  return v->c;
}

/* The shape of any value. */
static AfShape
val_shape (const Val *v)
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

/* ---------------------------------------------------------------- attributes */

static PbAttr *
attr_find (PbNode *n, const char *name)
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
static PbAttr *
attr_get (Imp *im, PbNode *n, const char *name, int type, gboolean *bad, GError **error)
{
  PbAttr *a = attr_find (n, name);
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
    imp_fail (im, error, AF_ERROR_INVALID, "attribute \"%s\" has type %s, expected %s", name,
              attr_type_name (t), attr_type_name (type));
    *bad = TRUE;
    return NULL;
  }
  return a;
}

static gboolean
attr_int (Imp *im, PbNode *n, const char *name, gint64 def, gint64 *out, GError **error)
{
  gboolean bad = FALSE;
  PbAttr *a = attr_get (im, n, name, AT_INT, &bad, error);
  *out = a ? a->i : def;
  return !bad;
}

static gboolean
attr_float (Imp *im, PbNode *n, const char *name, float def, float *out, GError **error)
{
  gboolean bad = FALSE;
  PbAttr *a = attr_get (im, n, name, AT_FLOAT, &bad, error);
  *out = a ? a->f : def;
  return !bad;
}

static gboolean
attr_str (Imp *im, PbNode *n, const char *name, const char *def, const char **out, GError **error)
{
  gboolean bad = FALSE;
  PbAttr *a = attr_get (im, n, name, AT_STRING, &bad, error);
  *out = a && a->s ? a->s : def;
  return !bad;
}

/* Fills @out with up to @max ints; *count = -1 when absent. */
static gboolean
attr_ints (Imp *im, PbNode *n, const char *name, int max, gint64 *out, int *count, GError **error)
{
  gboolean bad = FALSE;
  PbAttr *a = attr_get (im, n, name, AT_INTS, &bad, error);
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
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "attribute \"%s\" has %u values, at most %d are supported", name, a->ints->len,
                     max);
  for (guint i = 0; i < a->ints->len; i++)
    out[i] = g_array_index (a->ints, gint64, i);
  *count = (int) a->ints->len;
  return TRUE;
}

/* Refuses attributes not listed in @known (space separated). */
static gboolean
attrs_check_known (Imp *im, PbNode *n, const char *known, GError **error)
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
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "attribute \"%s\" is not supported",
                       a->name);
  }
  return TRUE;
}

/* ---------------------------------------------------------------- tensors */

/* Host-evaluated results (ConstantOfShape, Gather, broadcasts) are data the
 * file does not hold: they are limited to this many elements. */
#define IMP_MAX_FOLD_NUMEL ((gint64) 1 << 24)

static gboolean
fold_limit (Imp *im, const AfShape *s, GError **error)
{
  gint64 n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->d[i] < 0 || (s->d[i] && n > IMP_MAX_FOLD_NUMEL / s->d[i]))
      return imp_fail (im, error, AF_ERROR_LIMIT,
                       "a folded constant would exceed %" G_GINT64_FORMAT " elements",
                       IMP_MAX_FOLD_NUMEL);
    n *= s->d[i];
  }
  if (n > IMP_MAX_FOLD_NUMEL)
    return imp_fail (im, error, AF_ERROR_LIMIT,
                     "a folded constant would exceed %" G_GINT64_FORMAT " elements",
                     IMP_MAX_FOLD_NUMEL);
  return TRUE;
}

static gboolean
imp_check_dims (Imp *im, const char *what, int rank, const gint64 *dims, AfShape *s, GError **error)
{
  s->rank = rank;
  gint64 numel = 1;
  for (int i = 0; i < rank; i++) {
    gint64 d = dims[i];
    if (d < 0 || d > AF_MAX_DIM || (d && numel > AF_MAX_NUMEL / d))
      return imp_fail (im, error, AF_ERROR_LIMIT,
                       "%s: dim %d = %" G_GINT64_FORMAT " is negative or above the limits", what, i,
                       d);
    numel *= d;
    s->d[i] = d;
  }
  return TRUE;
}

/* Converts a parsed TensorProto into a host constant named @name. */
static Const *
imp_tensor_const (Imp *im, PbTensor *t, const char *name, GError **error)
{
  AfShape s;
  char what[256];
  g_snprintf (what, sizeof what, "tensor \"%s\"", name);
  if (t->external)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "%s: external data is not supported (save the model with its weights inside)",
                     what),
           NULL;
  if (t->has_segment)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "%s: segmented tensors are not supported",
                     what),
           NULL;
  if (!imp_check_dims (im, what, t->rank, t->dims, &s, error))
    return NULL;
  CKind kind;
  gsize raw_size;
  switch (t->dtype) {
  case OT_FLOAT:
    kind = C_F32, raw_size = 4;
    break;
  case OT_DOUBLE:
    kind = C_F32, raw_size = 8;
    break;
  case OT_FLOAT16:
    kind = C_F16, raw_size = 2;
    break;
  case OT_INT8:
    kind = C_I8, raw_size = 1;
    break;
  case OT_UINT8:
    kind = C_U8, raw_size = 1;
    break;
  case OT_BOOL:
    kind = C_I64, raw_size = 1;
    break;
  case OT_INT16:
  case OT_UINT16:
    kind = C_I64, raw_size = 2;
    break;
  case OT_INT32:
    kind = C_I64, raw_size = 4;
    break;
  case OT_INT64:
    kind = C_I64, raw_size = 8;
    break;
  default:
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "%s: data type %d is not supported", what,
                     t->dtype),
           NULL;
  }
  gint64 numel = af__shape_numel (&s);
  GArray *src = t->dtype == OT_FLOAT ? t->floats : t->dtype == OT_DOUBLE ? t->doubles : t->ints;
  gint64 have = src ? (gint64) src->len : 0;
  /* sizes are checked against the data present before anything is allocated */
  if (t->has_raw && (guint64) t->raw_len != (guint64) numel * raw_size)
    return imp_fail (im, error, AF_ERROR_WEIGHTS,
                     "%s: raw_data has %" G_GSIZE_FORMAT " bytes, expected %" G_GINT64_FORMAT, what,
                     t->raw_len, numel * (gint64) raw_size),
           NULL;
  if (!t->has_raw && have != numel)
    return imp_fail (im, error, AF_ERROR_WEIGHTS,
                     "%s: has %" G_GINT64_FORMAT " values, expected %" G_GINT64_FORMAT, what, have,
                     numel),
           NULL;
  void *dst;
  Const *c = c_new (im, kind, &s, name, &dst);
  if (t->has_raw) {
    const guint8 *p = t->raw;
    for (gint64 i = 0; i < numel; i++, p += raw_size) {
      switch (t->dtype) {
      case OT_FLOAT: {
        guint32 b = af__pb_le32 (p);
        memcpy ((float *) dst + i, &b, 4);
        break;
      }
      case OT_DOUBLE: {
        guint64 b = af__pb_le64 (p);
        double d;
        memcpy (&d, &b, 8);
        ((float *) dst)[i] = (float) d;
        break;
      }
      case OT_FLOAT16:
        ((guint16 *) dst)[i] = (guint16) (p[0] | p[1] << 8);
        break;
      case OT_INT8:
      case OT_UINT8:
        ((guint8 *) dst)[i] = p[0];
        break;
      case OT_BOOL:
        ((gint64 *) dst)[i] = p[0] != 0;
        break;
      case OT_INT16:
        ((gint64 *) dst)[i] = (gint16) (p[0] | p[1] << 8);
        break;
      case OT_UINT16:
        ((gint64 *) dst)[i] = (guint16) (p[0] | p[1] << 8);
        break;
      case OT_INT32:
        ((gint64 *) dst)[i] = (gint32) af__pb_le32 (p);
        break;
      default:
        ((gint64 *) dst)[i] = (gint64) af__pb_le64 (p);
        break;
      }
    }
    return c;
  }
  for (gint64 i = 0; i < numel; i++) {
    switch (t->dtype) {
    case OT_FLOAT:
      ((float *) dst)[i] = g_array_index (src, float, i);
      break;
    case OT_DOUBLE:
      ((float *) dst)[i] = (float) g_array_index (src, double, i);
      break;
    case OT_FLOAT16:
      ((guint16 *) dst)[i] = (guint16) g_array_index (src, gint64, i);
      break;
    case OT_INT8:
    case OT_UINT8:
      ((guint8 *) dst)[i] = (guint8) g_array_index (src, gint64, i);
      break;
    case OT_INT32:
      ((gint64 *) dst)[i] = (gint32) g_array_index (src, gint64, i);
      break;
    default:
      ((gint64 *) dst)[i] = g_array_index (src, gint64, i);
      break;
    }
  }
  return c;
}

/* ---------------------------------------------------------------- emitting nodes */

/* Adds node @op on @in named after @want and infers its shape; errors name
 * the current ONNX node. Returns (borrowed) its output. */
static AfTensor *
emit (Imp *im, AfOp op, guint n_in, AfTensor *const *in, const AfAttrs *attrs, const char *want,
      GError **error)
{
  for (guint i = 0; i < n_in; i++)
    if (!in[i])
      return imp_fail (im, error, AF_ERROR_INVALID, "internal: missing input %u", i), NULL;
  char *name = imp_unique_name (im, want ? want : af_op_info[op].name);
  AfNode *node = af__graph_add_node (im->g, name, op, n_in, in, attrs);
  g_free (name);
  GError *local = NULL;
  const AfOpInfo *info = &af_op_info[op];
  if ((int) n_in < info->min_in || (info->max_in >= 0 && (int) n_in > info->max_in))
    return imp_fail (im, error, AF_ERROR_INVALID, "%s takes %d..%d inputs, got %u", info->name,
                     info->min_in, info->max_in, n_in),
           NULL;
  if (!info->shape (node, &local)) {
    imp_fail (im, error, local->code, "as %s \"%s\": %s", info->name, node->name, local->message);
    g_error_free (local);
    return NULL;
  }
  AfShape *s = &node->out->shape;
  gint64 numel = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->d[i] <= 0 || s->d[i] > AF_MAX_DIM || numel > AF_MAX_NUMEL / s->d[i]) {
      char *str = af__shape_str (s);
      imp_fail (im, error, AF_ERROR_LIMIT, "output shape %s is empty or above the limits", str);
      g_free (str);
      return NULL;
    }
    numel *= s->d[i];
  }
  return node->out;
}

static AfTensor *
emit1 (Imp *im, AfOp op, AfTensor *x, const AfAttrs *a, const char *want, GError **error)
{
  return emit (im, op, 1, &x, a, want, error);
}

static AfTensor *
emit2 (Imp *im, AfOp op, AfTensor *x, AfTensor *y, const char *want, GError **error)
{
  AfTensor *in[] = { x, y };
  return emit (im, op, 2, in, NULL, want, error);
}

static AfTensor *
emit_reshape (Imp *im, AfTensor *x, const AfShape *to, const char *want, GError **error)
{
  AfAttrs a;
  af__attrs_init (AF_OP_RESHAPE, &a);
  if (to->rank < 1)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "reshaping a tensor to a scalar is not supported"),
           NULL;
  a.n_shape = to->rank;
  memcpy (a.shape, to->d, sizeof (gint64) * to->rank);
  a.set = AF_A (SHAPE);
  return emit1 (im, AF_OP_RESHAPE, x, &a, want, error);
}

/* A scalar fp32 graph constant. */
static AfTensor *
scalar_tensor (Imp *im, float v, const char *name, GError **error)
{
  AfShape s = { 1, { 1 } };
  float *d;
  Const *c = c_new (im, C_F32, &s, name, (void **) &d);
  d[0] = v;
  return c_tensor (im, c, error);
}

/* ---------------------------------------------------------------- op helpers */

typedef gboolean (*OpFn) (Imp *im, PbNode *n, GError **error);

#define OUT0(n) out_name ((n), 0)

static gboolean
bind_out (Imp *im, PbNode *n, AfTensor *t)
{
  if (!t)
    return FALSE;
  imp_bind_tensor (im, OUT0 (n), t);
  return TRUE;
}

static gboolean
extra_outputs_unused (Imp *im, PbNode *n, GError **error)
{
  for (guint i = 1; i < n->out->len; i++)
    if (uses_of (im, out_name (n, i)))
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                       "output %u \"%s\" is used; only output 0 is supported", i, out_name (n, i));
  return TRUE;
}

/* Resolves ONNX pads / auto_pad for 2-D windows into our [t, l, b, r]. */
static gboolean
resolve_pads (Imp *im, PbNode *n, const gint64 *in_hw, const gint64 *k_eff, const gint64 *stride,
              gint64 *pad, GError **error)
{
  const char *auto_pad;
  int count;
  gint64 p[4] = { 0 };
  if (!attr_str (im, n, "auto_pad", "NOTSET", &auto_pad, error) ||
      !attr_ints (im, n, "pads", 4, p, &count, error))
    return FALSE;
  if (count >= 0 && count != 4)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "attribute \"pads\" has %d values, expected 4", count);
  for (int i = 0; i < 4; i++)
    if (p[i] < 0 || p[i] > AF_MAX_DIM)
      return imp_fail (im, error, AF_ERROR_INVALID,
                       "attribute \"pads\" = %" G_GINT64_FORMAT
                       " is not supported (negative or too large)",
                       p[i]);
  if (g_str_equal (auto_pad, "NOTSET") || g_str_equal (auto_pad, "")) {
    memcpy (pad, p, sizeof p);
    return TRUE;
  }
  if (g_str_equal (auto_pad, "VALID")) {
    memset (pad, 0, 4 * sizeof (gint64));
    return TRUE;
  }
  gboolean upper = g_str_equal (auto_pad, "SAME_UPPER");
  if (!upper && !g_str_equal (auto_pad, "SAME_LOWER"))
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "attribute \"auto_pad\" = \"%s\" is not supported", auto_pad);
  for (int i = 0; i < 2; i++) {
    gint64 out = (in_hw[i] + stride[i] - 1) / stride[i];
    gint64 total = MAX (0, (out - 1) * stride[i] + k_eff[i] - in_hw[i]);
    gint64 small = total / 2, big = total - small;
    pad[i] = upper ? small : big;
    pad[2 + i] = upper ? big : small;
  }
  return TRUE;
}

static gboolean
attr_pair (Imp *im, PbNode *n, const char *name, gint64 def, gint64 *out, GError **error)
{
  int count;
  gint64 v[2] = { def, def };
  if (!attr_ints (im, n, name, 2, v, &count, error))
    return FALSE;
  if (count >= 0 && count != 2)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "attribute \"%s\" has %d values; only 2-D (2 values) is supported", name,
                     count);
  for (int i = 0; i < 2; i++)
    if (v[i] < 1 || v[i] > AF_MAX_DIM)
      return imp_fail (im, error, AF_ERROR_INVALID,
                       "attribute \"%s\" = %" G_GINT64_FORMAT " is invalid", name, v[i]);
  out[0] = v[0];
  out[1] = v[1];
  return TRUE;
}

/* The 4-D input 0 of a window op, with a preceding Pad merged into @pad. */
static AfTensor *
window_input (Imp *im, PbNode *n, gint64 *extra_pad, GError **error)
{
  Val *v = in_val (im, n, 0, TRUE, error);
  if (!v)
    return NULL;
  memset (extra_pad, 0, 4 * sizeof (gint64));
  AfTensor *x;
  if (v->kind == V_PAD) {
    memcpy (extra_pad, v->pad, 4 * sizeof (gint64));
    x = v->t;
  } else {
    x = in_tensor (im, n, 0, error);
  }
  if (x && x->shape.rank != 4)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "input 0 \"%s\" has rank %d; only 2-D (rank 4, NCHW) is supported",
                     in_name (n, 0), x->shape.rank),
           NULL;
  return x;
}

/* ---------------------------------------------------------------- Conv (+ BN fold) */

static PbNode *
sole_consumer (Imp *im, const char *name)
{
  if (!name || uses_of (im, name) != 1 || g_hash_table_contains (im->is_out, name))
    return NULL;
  guint idx = GPOINTER_TO_UINT (g_hash_table_lookup (im->user, name));
  return idx ? g_ptr_array_index (im->m.nodes, idx - 1) : NULL;
}

static Const *
known_const (Imp *im, PbNode *n, guint i)
{
  const char *name = in_name (n, i);
  Val *v = name ? g_hash_table_lookup (im->vals, name) : NULL;
  return v && v->kind == V_CONST ? v->c : NULL;
}

/* Folds BatchNormalization @bn (whose input is the conv output) into @w / @b.
 * Returns FALSE (no error) when it cannot. */
static gboolean
bn_fold (Imp *im, PbNode *bn, Const **w, Const **b, gint64 oc)
{
  Const *p[4];
  for (guint i = 0; i < 4; i++) {
    p[i] = known_const (im, bn, i + 1);
    if (!p[i] || p[i]->numel != oc)
      return FALSE;
  }
  for (guint i = 1; i < bn->out->len; i++)
    if (uses_of (im, out_name (bn, i)))
      return FALSE;
  for (guint i = 0; i < bn->attrs->len; i++) {
    PbAttr *a = g_ptr_array_index (bn->attrs, i);
    if (g_str_equal (a->name, "epsilon") || g_str_equal (a->name, "momentum") ||
        ((g_str_equal (a->name, "spatial") || g_str_equal (a->name, "is_test")) && a->i == 1) ||
        (g_str_equal (a->name, "training_mode") && a->i == 0))
      continue;
    return FALSE;
  }
  PbAttr *ea = attr_find (bn, "epsilon");
  double eps = ea ? ea->f : 1e-5;
  float *wd = c_f32 (*w);
  gint64 per = (*w)->numel / oc;
  float *nb;
  Const *nbc =
      c_new (im, C_F32, &(AfShape){ 1, { oc } }, (*b ? (*b)->name : OUT0 (bn)), (void **) &nb);
  float *nw;
  Const *nwc = c_new (im, C_F32, &(*w)->shape, (*w)->name, (void **) &nw);
  for (gint64 o = 0; o < oc; o++) {
    double s = c_get (p[0], o) / sqrt (c_get (p[3], o) + eps);
    double bias = *b ? c_get (*b, o) : 0.0;
    for (gint64 j = 0; j < per; j++)
      nw[o * per + j] = (float) (wd[o * per + j] * s);
    nb[o] = (float) ((bias - c_get (p[2], o)) * s + c_get (p[1], o));
  }
  g_free (wd);
  if (!*b) {
    g_free (nbc->name);
    nbc->name = g_strconcat ((*w)->name, "_bias", NULL);
  }
  *w = nwc;
  *b = nbc;
  return TRUE;
}

static gboolean
op_conv (Imp *im, PbNode *n, GError **error)
{
  gint64 extra[4];
  AfTensor *x = window_input (im, n, extra, error);
  if (!x)
    return FALSE;
  Val *wv = in_val (im, n, 1, TRUE, error);
  if (!wv)
    return FALSE;
  AfShape ws = val_shape (wv);
  if (ws.rank != 4)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "weight \"%s\" has rank %d; only 2-D convolution is supported", in_name (n, 1),
                     ws.rank);
  AfAttrs a;
  af__attrs_init (AF_OP_CONV, &a);
  gint64 ks[2];
  int count;
  if (!attr_pair (im, n, "strides", 1, a.stride, error) ||
      !attr_pair (im, n, "dilations", 1, a.dilation, error) ||
      !attr_int (im, n, "group", 1, &a.groups, error) ||
      !attr_ints (im, n, "kernel_shape", 2, ks, &count, error))
    return FALSE;
  if (count >= 0 && (count != 2 || ks[0] != ws.d[2] || ks[1] != ws.d[3]))
    return imp_fail (im, error, AF_ERROR_INVALID,
                     "attribute \"kernel_shape\" does not match weight \"%s\"", in_name (n, 1));
  gint64 hw[2] = { x->shape.d[2] + extra[0] + extra[2], x->shape.d[3] + extra[1] + extra[3] };
  gint64 keff[2] = { (ws.d[2] - 1) * a.dilation[0] + 1, (ws.d[3] - 1) * a.dilation[1] + 1 };
  if (!resolve_pads (im, n, hw, keff, a.stride, a.pad, error))
    return FALSE;
  for (int i = 0; i < 4; i++)
    a.pad[i] += extra[i];
  a.set = AF_A (STRIDE) | AF_A (PAD) | AF_A (DILATION) | AF_A (GROUPS);

  const char *name = OUT0 (n);
  Val *bv = in_name (n, 2) ? in_val (im, n, 2, TRUE, error) : NULL;
  if (in_name (n, 2) && !bv)
    return FALSE;
  /* BatchNormalization right after, on constants: fold it */
  PbNode *bn = sole_consumer (im, name);
  if (bn && g_str_equal (bn->op, "BatchNormalization") && !bn->done && bn->in->len == 5 &&
      g_strcmp0 (in_name (bn, 0), name) == 0 && wv->kind == V_CONST &&
      (!bv || bv->kind == V_CONST)) {
    Const *w = wv->c, *b = bv ? bv->c : NULL;
    if (bn_fold (im, bn, &w, &b, ws.d[0])) {
      AfTensor *in[3] = { x, c_tensor (im, w, error), c_tensor (im, b, error) };
      if (!in[1] || !in[2])
        return FALSE;
      bn->done = TRUE;
      AfTensor *y = emit (im, AF_OP_CONV, 3, in, &a, OUT0 (bn), error);
      if (!y)
        return FALSE;
      imp_bind_tensor (im, OUT0 (bn), y);
      return TRUE;
    }
  }
  AfTensor *in[3] = { x, in_tensor (im, n, 1, error), NULL };
  if (!in[1])
    return FALSE;
  if (bv && !(in[2] = in_tensor (im, n, 2, error)))
    return FALSE;
  return bind_out (im, n, emit (im, AF_OP_CONV, bv ? 3 : 2, in, &a, name, error));
}

/* ---------------------------------------------------------------- pools */

static gboolean
op_pool (Imp *im, PbNode *n, GError **error)
{
  gboolean is_max = g_str_equal (n->op, "MaxPool");
  gint64 extra[4];
  AfTensor *x = window_input (im, n, extra, error);
  if (!x || !extra_outputs_unused (im, n, error))
    return FALSE;
  AfAttrs a;
  AfOp op = is_max ? AF_OP_MAX_POOL : AF_OP_AVG_POOL;
  af__attrs_init (op, &a);
  int count;
  gint64 dil[2], ceil_mode, cip = 0, storage;
  if (!attr_ints (im, n, "kernel_shape", 2, a.kernel, &count, error))
    return FALSE;
  if (count != 2)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "attribute \"kernel_shape\" must have 2 values (2-D pooling)");
  if (a.kernel[0] < 1 || a.kernel[1] < 1 || a.kernel[0] > AF_MAX_DIM || a.kernel[1] > AF_MAX_DIM)
    return imp_fail (im, error, AF_ERROR_INVALID, "attribute \"kernel_shape\" is invalid");
  if (!attr_pair (im, n, "strides", 1, a.stride, error) ||
      !attr_pair (im, n, "dilations", 1, dil, error) ||
      !attr_int (im, n, "ceil_mode", 0, &ceil_mode, error) ||
      !attr_int (im, n, "storage_order", 0, &storage, error) ||
      (!is_max && !attr_int (im, n, "count_include_pad", 0, &cip, error)))
    return FALSE;
  if (dil[0] != 1 || dil[1] != 1)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "attribute \"dilations\" other than 1 is not supported");
  if (storage != 0)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "attribute \"storage_order\" = %" G_GINT64_FORMAT " is not supported",
                     storage);
  gint64 hw[2] = { x->shape.d[2] + extra[0] + extra[2], x->shape.d[3] + extra[1] + extra[3] };
  if (!resolve_pads (im, n, hw, a.kernel, a.stride, a.pad, error))
    return FALSE;
  gboolean has_extra = extra[0] || extra[1] || extra[2] || extra[3];
  if (has_extra) {
    if (is_max)
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                       "a zero Pad before MaxPool is not supported (MaxPool ignores padded cells)");
    if (!cip && (a.pad[0] || a.pad[1] || a.pad[2] || a.pad[3]))
      return imp_fail (
          im, error, AF_ERROR_UNSUPPORTED,
          "a Pad before an AveragePool with its own pads and count_include_pad=0 is not "
          "supported");
    cip = 1;
    for (int i = 0; i < 4; i++)
      a.pad[i] += extra[i];
  }
  a.ceil_mode = ceil_mode != 0;
  a.count_include_pad = cip != 0;
  a.set = AF_A (KERNEL) | AF_A (STRIDE) | AF_A (PAD) | AF_A (CEIL_MODE);
  if (!is_max)
    a.set |= AF_A (COUNT_INCLUDE_PAD);
  return bind_out (im, n, emit1 (im, op, x, &a, OUT0 (n), error));
}

static gboolean
op_global_pool (Imp *im, PbNode *n, GError **error)
{
  gboolean is_max = g_str_equal (n->op, "GlobalMaxPool");
  AfTensor *x = in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  if (x->shape.rank != 4)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "input 0 has rank %d; only rank 4 is supported", x->shape.rank);
  AfOp op = is_max ? AF_OP_MAX_POOL : AF_OP_AVG_POOL;
  AfAttrs a;
  af__attrs_init (op, &a);
  a.global = TRUE;
  a.set = AF_A (GLOBAL);
  return bind_out (im, n, emit1 (im, op, x, &a, OUT0 (n), error));
}

/* ---------------------------------------------------------------- elementwise */

static gboolean
op_unary (Imp *im, PbNode *n, GError **error)
{
  AfOp op = g_str_equal (n->op, "Relu")      ? AF_OP_RELU
            : g_str_equal (n->op, "Sigmoid") ? AF_OP_SIGMOID
            : g_str_equal (n->op, "Tanh")    ? AF_OP_TANH
                                             : AF_OP_EXP;
  AfTensor *x = in_tensor (im, n, 0, error);
  return x && bind_out (im, n, emit1 (im, op, x, NULL, OUT0 (n), error));
}

static gboolean
op_clip (Imp *im, PbNode *n, GError **error)
{
  float lo = -INFINITY, hi = INFINITY;
  if (!attr_float (im, n, "min", lo, &lo, error) || !attr_float (im, n, "max", hi, &hi, error))
    return FALSE;
  for (guint i = 1; i < 3; i++) {
    if (!in_name (n, i))
      continue;
    Const *c = in_const (im, n, i, i == 1 ? "min" : "max", error);
    if (!c)
      return FALSE;
    if (c->numel != 1)
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "input %u must be a scalar", i);
    *(i == 1 ? &lo : &hi) = (float) c_get (c, 0);
  }
  AfTensor *x = in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  if (lo == 0 && hi == 6)
    return bind_out (im, n, emit1 (im, AF_OP_RELU6, x, NULL, OUT0 (n), error));
  if (lo == 0 && isinf (hi) && hi > 0)
    return bind_out (im, n, emit1 (im, AF_OP_RELU, x, NULL, OUT0 (n), error));
  AfAttrs a;
  af__attrs_init (AF_OP_CLIP, &a);
  a.min = lo;
  a.max = hi;
  a.set = AF_A (MIN) | AF_A (MAX);
  return bind_out (im, n, emit1 (im, AF_OP_CLIP, x, &a, OUT0 (n), error));
}

static gboolean
op_leaky_relu (Imp *im, PbNode *n, GError **error)
{
  float alpha;
  if (!attr_float (im, n, "alpha", 0.01f, &alpha, error))
    return FALSE;
  AfTensor *x = in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  char *cname = g_strconcat (OUT0 (n) ? OUT0 (n) : "leaky", "_alpha", NULL);
  char *mname = g_strconcat (OUT0 (n) ? OUT0 (n) : "leaky", "_mul", NULL);
  AfTensor *c = scalar_tensor (im, alpha, cname, error);
  AfTensor *m = c ? emit2 (im, AF_OP_MUL, x, c, mname, error) : NULL;
  g_free (cname);
  g_free (mname);
  if (!m)
    return FALSE;
  AfOp op = alpha <= 1 ? AF_OP_MAXIMUM : AF_OP_MINIMUM;
  return bind_out (im, n, emit2 (im, op, x, m, OUT0 (n), error));
}

/* Broadcast offset of output element @i into an input of shape @s. */
static gint64
bcast_offset (gint64 i, const AfShape *out, const AfShape *s)
{
  gint64 off = 0, stride = 1;
  for (int k = out->rank - 1, j = s->rank - 1; k >= 0; k--, j--) {
    gint64 idx = i % out->d[k];
    i /= out->d[k];
    if (j >= 0) {
      if (s->d[j] != 1)
        off += idx * stride;
      stride *= s->d[j];
    }
  }
  return off;
}

static Const *
fold_binary (Imp *im, PbNode *n, char op, Const *a, Const *b, GError **error)
{
  AfShape out;
  if (!af__shape_broadcast (&a->shape, &b->shape, &out))
    return imp_fail (im, error, AF_ERROR_SHAPE, "constant inputs do not broadcast"), NULL;
  if (!fold_limit (im, &out, error))
    return NULL;
  gboolean ints = a->kind == C_I64 && b->kind == C_I64;
  void *d;
  Const *c = c_new (im, ints ? C_I64 : C_F32, &out, OUT0 (n), &d);
  for (gint64 i = 0; i < c->numel; i++) {
    gint64 ia = bcast_offset (i, &out, &a->shape), ib = bcast_offset (i, &out, &b->shape);
    if (ints) {
      gint64 x = c_get_i64 (a, ia), y = c_get_i64 (b, ib), r;
      switch (op) {
      case '+':
        r = (gint64) ((guint64) x + (guint64) y);
        break;
      case '-':
        r = (gint64) ((guint64) x - (guint64) y);
        break;
      case '*':
        r = (gint64) ((guint64) x * (guint64) y);
        break;
      default:
        if (y == 0 || (y == -1 && x == G_MININT64))
          return imp_fail (im, error, AF_ERROR_INVALID, "integer division by zero in constants"),
                 NULL;
        r = x / y;
        break;
      }
      ((gint64 *) d)[i] = r;
    } else {
      double x = c_get (a, ia), y = c_get (b, ib);
      ((float *) d)[i] = (float) (op == '+'   ? x + y
                                  : op == '-' ? x - y
                                  : op == '*' ? x * y
                                              : x / y);
    }
  }
  return c;
}

static gboolean
op_binary (Imp *im, PbNode *n, GError **error)
{
  static const struct {
    const char *name;
    char sym;
    AfOp op;
  } map[] = { { "Add", '+', AF_OP_ADD },     { "Sub", '-', AF_OP_SUB },
              { "Mul", '*', AF_OP_MUL },     { "Div", '/', AF_OP_DIV },
              { "Max", 'M', AF_OP_MAXIMUM }, { "Min", 'm', AF_OP_MINIMUM } };
  guint k = 0;
  while (!g_str_equal (map[k].name, n->op))
    k++;
  if (n->in->len != 2)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "%u inputs; only 2 are supported",
                     n->in->len);
  Val *a = in_val (im, n, 0, TRUE, error), *b = a ? in_val (im, n, 1, TRUE, error) : NULL;
  if (!b)
    return FALSE;
  if (a->kind == V_CONST && b->kind == V_CONST && map[k].sym != 'M' && map[k].sym != 'm') {
    Const *c = fold_binary (im, n, map[k].sym, a->c, b->c, error);
    if (!c)
      return FALSE;
    imp_bind_const (im, OUT0 (n), c);
    return TRUE;
  }
  AfTensor *x = in_tensor (im, n, 0, error), *y = x ? in_tensor (im, n, 1, error) : NULL;
  return y && bind_out (im, n, emit2 (im, map[k].op, x, y, OUT0 (n), error));
}

/* ---------------------------------------------------------------- softmax */

static gboolean
op_softmax (Imp *im, PbNode *n, GError **error)
{
  gint64 axis;
  if (!attr_int (im, n, "axis", im->m.opset < 13 ? 1 : -1, &axis, error))
    return FALSE;
  AfTensor *x = in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  int r = x->shape.rank;
  if (axis < -r || axis >= r)
    return imp_fail (im, error, AF_ERROR_INVALID,
                     "attribute \"axis\" = %" G_GINT64_FORMAT " is out of range for rank %d", axis,
                     r);
  int ax = (int) (axis < 0 ? axis + r : axis);
  if (im->m.opset < 13) {
    /* softmax over the flattened dims [axis, r): only one of them may be > 1 */
    int big = -1;
    for (int i = ax; i < r; i++)
      if (x->shape.d[i] != 1) {
        if (big >= 0) {
          char *s = af__shape_str (&x->shape);
          imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                    "attribute \"axis\" = %" G_GINT64_FORMAT
                    " on input of shape %s: opset %" G_GINT64_FORMAT
                    " softmax flattens dims %d.. into one; only one of them may be > 1",
                    axis, s, im->m.opset, ax);
          g_free (s);
          return FALSE;
        }
        big = i;
      }
    if (big >= 0)
      ax = big;
  }
  AfAttrs a;
  af__attrs_init (AF_OP_SOFTMAX, &a);
  a.axis = ax;
  a.set = AF_A (AXIS);
  return bind_out (im, n, emit1 (im, AF_OP_SOFTMAX, x, &a, OUT0 (n), error));
}

/* ---------------------------------------------------------------- layout */

static gboolean
op_concat (Imp *im, PbNode *n, GError **error)
{
  gint64 axis;
  if (!attr_int (im, n, "axis", 1, &axis, error))
    return FALSE;
  if (n->in->len < 1)
    return imp_fail (im, error, AF_ERROR_INVALID, "no inputs");
  gboolean all_const = TRUE, all_int = TRUE;
  Val **vs = g_newa (Val *, n->in->len);
  for (guint i = 0; i < n->in->len; i++) {
    if (!(vs[i] = in_val (im, n, i, TRUE, error)))
      return FALSE;
    all_const &= vs[i]->kind == V_CONST;
    all_int &= vs[i]->kind == V_CONST && vs[i]->c->kind == C_I64;
  }
  if (all_const) {
    AfShape out = vs[0]->c->shape;
    int r = out.rank;
    if (r < 1 || axis < -r || axis >= r)
      return imp_fail (im, error, AF_ERROR_INVALID,
                       "attribute \"axis\" = %" G_GINT64_FORMAT " is out of range for rank %d",
                       axis, r);
    int ax = (int) (axis < 0 ? axis + r : axis);
    out.d[ax] = 0;
    for (guint i = 0; i < n->in->len; i++) {
      const AfShape *s = &vs[i]->c->shape;
      gboolean ok = s->rank == r;
      for (int j = 0; ok && j < r; j++)
        ok = j == ax || s->d[j] == out.d[j];
      if (!ok)
        return imp_fail (im, error, AF_ERROR_SHAPE, "constant input %u does not fit", i);
      out.d[ax] += s->d[ax];
      if (out.d[ax] > AF_MAX_DIM)
        return imp_fail (im, error, AF_ERROR_LIMIT, "concatenation too large");
    }
    gint64 outer = 1, inner = 1;
    for (int j = 0; j < ax; j++)
      outer *= out.d[j];
    for (int j = ax + 1; j < r; j++)
      inner *= out.d[j];
    if (!fold_limit (im, &out, error))
      return FALSE;
    void *d;
    Const *c = c_new (im, all_int ? C_I64 : C_F32, &out, OUT0 (n), &d);
    gint64 at = 0;
    for (gint64 o = 0; o < outer; o++)
      for (guint i = 0; i < n->in->len; i++) {
        const Const *src = vs[i]->c;
        gint64 chunk = src->shape.d[ax] * inner;
        for (gint64 j = 0; j < chunk; j++, at++) {
          if (all_int)
            ((gint64 *) d)[at] = c_get_i64 (src, o * chunk + j);
          else
            ((float *) d)[at] = (float) c_get (src, o * chunk + j);
        }
      }
    imp_bind_const (im, OUT0 (n), c);
    return TRUE;
  }
  AfTensor **xs = g_newa (AfTensor *, n->in->len);
  for (guint i = 0; i < n->in->len; i++)
    if (!(xs[i] = in_tensor (im, n, i, error)))
      return FALSE;
  AfAttrs a;
  af__attrs_init (AF_OP_CONCAT, &a);
  a.axis = axis;
  a.set = AF_A (AXIS);
  return bind_out (im, n, emit (im, AF_OP_CONCAT, n->in->len, xs, &a, OUT0 (n), error));
}

/* Binds output 0 to @v reshaped to @to: a relabelled constant, or a reshape node. */
static gboolean
bind_reshaped (Imp *im, PbNode *n, Val *v, const AfShape *to, GError **error)
{
  AfShape from = val_shape (v);
  if (af__shape_numel (to) != af__shape_numel (&from)) {
    char *a = af__shape_str (&from), *b = af__shape_str (to);
    imp_fail (im, error, AF_ERROR_SHAPE, "cannot reshape %s to %s", a, b);
    g_free (a);
    g_free (b);
    return FALSE;
  }
  if (v->kind == V_CONST) {
    void *d;
    Const *c = c_new (im, v->c->kind, to, OUT0 (n), &d);
    memcpy (d, c_data (v->c), v->c->numel * c_esize (v->c->kind));
    imp_bind_const (im, OUT0 (n), c);
    return TRUE;
  }
  AfTensor *x = in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  if (af__shape_equal (&x->shape, to)) {
    imp_bind_tensor (im, OUT0 (n), x);
    return TRUE;
  }
  return bind_out (im, n, emit_reshape (im, x, to, OUT0 (n), error));
}

static gboolean
op_reshape (Imp *im, PbNode *n, GError **error)
{
  gint64 allowzero;
  int count;
  gint64 req[AF_MAX_RANK];
  if (!attr_int (im, n, "allowzero", 0, &allowzero, error) ||
      !attr_ints (im, n, "shape", AF_MAX_RANK, req, &count, error))
    return FALSE;
  Val *v = in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  if (count < 0) {
    Const *s = in_const (im, n, 1, "shape", error);
    if (!s)
      return FALSE;
    if (s->shape.rank != 1 || s->numel > AF_MAX_RANK || s->numel < 1)
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                       "input 1 \"%s\" (shape) must list 1 to %d dims", in_name (n, 1),
                       AF_MAX_RANK);
    count = (int) s->numel;
    for (int i = 0; i < count; i++)
      req[i] = c_get_i64 (s, i);
  }
  AfShape in = val_shape (v), to = { count };
  int infer = -1;
  gint64 known = 1;
  for (int i = 0; i < count; i++) {
    gint64 d = req[i];
    if (d == 0 && allowzero)
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                       "attribute \"allowzero\" = 1 with a 0 in the shape is not supported");
    if (d == 0) {
      if (i >= in.rank)
        return imp_fail (im, error, AF_ERROR_INVALID,
                         "shape entry %d = 0 is beyond the input's rank", i);
      d = in.d[i];
    }
    if (d == -1 && infer < 0) {
      infer = i;
      continue;
    }
    if (d <= 0 || d > AF_MAX_DIM)
      return imp_fail (im, error, AF_ERROR_INVALID,
                       "shape entry %d = %" G_GINT64_FORMAT " is invalid", i, req[i]);
    to.d[i] = d;
    known = known > AF_MAX_NUMEL / d ? AF_MAX_NUMEL + 1 : known * d;
  }
  gint64 numel = af__shape_numel (&in);
  if (infer >= 0) {
    if (known > numel || numel % known)
      return imp_fail (im, error, AF_ERROR_SHAPE,
                       "the shape does not fit the input's %" G_GINT64_FORMAT " elements", numel);
    to.d[infer] = numel / known;
  }
  return bind_reshaped (im, n, v, &to, error);
}

static gboolean
op_flatten (Imp *im, PbNode *n, GError **error)
{
  gint64 axis;
  if (!attr_int (im, n, "axis", 1, &axis, error))
    return FALSE;
  Val *v = in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  AfShape in = val_shape (v);
  if (axis < -in.rank || axis > in.rank)
    return imp_fail (im, error, AF_ERROR_INVALID,
                     "attribute \"axis\" = %" G_GINT64_FORMAT " is out of range", axis);
  int ax = (int) (axis < 0 ? axis + in.rank : axis);
  AfShape to = { 2, { 1, 1 } };
  for (int i = 0; i < in.rank; i++)
    to.d[i < ax ? 0 : 1] *= in.d[i];
  return bind_reshaped (im, n, v, &to, error);
}

/* Unsqueeze / Squeeze: a reshape. */
static gboolean
op_squeeze (Imp *im, PbNode *n, GError **error)
{
  gboolean un = g_str_equal (n->op, "Unsqueeze");
  gint64 axes[AF_MAX_RANK];
  int count;
  if (!attr_ints (im, n, "axes", AF_MAX_RANK, axes, &count, error))
    return FALSE;
  Val *v = in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  if (count < 0 && in_name (n, 1)) {
    Const *c = in_const (im, n, 1, "axes", error);
    if (!c)
      return FALSE;
    if (c->numel > AF_MAX_RANK)
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "too many axes");
    count = (int) c->numel;
    for (int i = 0; i < count; i++)
      axes[i] = c_get_i64 (c, i);
  }
  AfShape in = val_shape (v), to = { 0 };
  gboolean mark[2 * AF_MAX_RANK] = { 0 };
  int rank = un ? in.rank + MAX (count, 0) : in.rank;
  if (un && (count < 1 || rank > AF_MAX_RANK))
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "attribute \"axes\" is missing or the result has rank above %d", AF_MAX_RANK);
  for (int i = 0; i < MAX (count, 0); i++) {
    gint64 a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= rank || mark[a])
      return imp_fail (im, error, AF_ERROR_INVALID,
                       "attribute \"axes\": %" G_GINT64_FORMAT " is invalid", axes[i]);
    mark[a] = TRUE;
  }
  if (un) {
    for (int i = 0, j = 0; i < rank; i++)
      to.d[to.rank++] = mark[i] ? 1 : in.d[j++];
  } else {
    for (int i = 0; i < in.rank; i++) {
      gboolean drop = count > 0 ? mark[i] : in.d[i] == 1;
      if (drop && in.d[i] != 1)
        return imp_fail (im, error, AF_ERROR_INVALID,
                         "axis %d has size %" G_GINT64_FORMAT ", not 1", i, in.d[i]);
      if (!drop)
        to.d[to.rank++] = in.d[i];
    }
  }
  return bind_reshaped (im, n, v, &to, error);
}

/* Host transpose of a constant. */
static Const *
const_transpose (Imp *im, Const *src, const int *perm, const char *name)
{
  AfShape out = { src->shape.rank };
  gint64 istride[AF_MAX_RANK], st = 1;
  for (int i = src->shape.rank - 1; i >= 0; i--) {
    istride[i] = st;
    st *= src->shape.d[i];
  }
  for (int i = 0; i < out.rank; i++)
    out.d[i] = src->shape.d[perm[i]];
  void *d;
  gsize es = c_esize (src->kind);
  Const *c = c_new (im, src->kind, &out, name, &d);
  const guint8 *s = c_data (src);
  for (gint64 i = 0; i < c->numel; i++) {
    gint64 rem = i, off = 0;
    for (int k = out.rank - 1; k >= 0; k--) {
      off += (rem % out.d[k]) * istride[perm[k]];
      rem /= out.d[k];
    }
    memcpy ((guint8 *) d + i * es, s + off * es, es);
  }
  return c;
}

static gboolean
op_transpose (Imp *im, PbNode *n, GError **error)
{
  gint64 p[AF_MAX_RANK];
  int count;
  if (!attr_ints (im, n, "perm", AF_MAX_RANK, p, &count, error))
    return FALSE;
  Val *v = in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  AfShape in = val_shape (v);
  int perm[AF_MAX_RANK];
  gboolean seen[AF_MAX_RANK] = { 0 };
  if (count >= 0 && count != in.rank)
    return imp_fail (im, error, AF_ERROR_INVALID, "attribute \"perm\" has %d values for rank %d",
                     count, in.rank);
  for (int i = 0; i < in.rank; i++) {
    gint64 q = count < 0 ? in.rank - 1 - i : p[i];
    if (q < 0 || q >= in.rank || seen[q])
      return imp_fail (im, error, AF_ERROR_INVALID, "attribute \"perm\" is not a permutation");
    seen[q] = TRUE;
    perm[i] = (int) q;
  }
  if (v->kind == V_CONST) {
    imp_bind_const (im, OUT0 (n), const_transpose (im, v->c, perm, OUT0 (n)));
    return TRUE;
  }
  AfTensor *x = in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  AfAttrs a;
  af__attrs_init (AF_OP_TRANSPOSE, &a);
  a.n_perm = in.rank;
  for (int i = 0; i < in.rank; i++)
    a.perm[i] = perm[i];
  a.set = AF_A (PERM);
  return bind_out (im, n, emit1 (im, AF_OP_TRANSPOSE, x, &a, OUT0 (n), error));
}

static gboolean
op_identity (Imp *im, PbNode *n, GError **error)
{
  Val *v = in_val (im, n, 0, TRUE, error);
  if (!v || !extra_outputs_unused (im, n, error))
    return FALSE;
  /* Dropout (opset 12+) is the identity only when input 2 training_mode is
   * absent or a constant false, or input 1 ratio is a constant 0;
   * training-mode dropout is random. */
  if (g_str_equal (n->op, "Dropout") && in_name (n, 2)) {
    Const *c = in_const (im, n, 2, "training_mode", error);
    if (!c)
      return FALSE;
    gboolean training = FALSE, zero_ratio = FALSE;
    for (gint64 i = 0; i < c->numel; i++)
      training |= c_get (c, i) != 0;
    if (training && in_name (n, 1)) {
      Const *r = in_const (im, n, 1, "ratio", error);
      if (!r)
        return FALSE;
      zero_ratio = r->numel == 1 && c_get (r, 0) == 0;
    }
    if (training && !zero_ratio)
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                       "input 2 \"%s\" (training_mode) is true with a nonzero ratio; only "
                       "inference is supported",
                       in_name (n, 2));
  }
  if (OUT0 (n))
    imp_bind (im, OUT0 (n), v);
  return TRUE;
}

/* ---------------------------------------------------------------- constants and shape arithmetic
 */

static gboolean
op_constant (Imp *im, PbNode *n, GError **error)
{
  if (n->attrs->len != 1)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "expected exactly one attribute");
  PbAttr *a = g_ptr_array_index (n->attrs, 0);
  gboolean bad = FALSE;
  Const *c = NULL;
  if (g_str_equal (a->name, "value")) {
    if (!attr_get (im, n, "value", AT_TENSOR, &bad, error))
      return FALSE;
    c = imp_tensor_const (im, a->t, OUT0 (n) ? OUT0 (n) : "constant", error);
  } else if (g_str_equal (a->name, "value_float") || g_str_equal (a->name, "value_int")) {
    gboolean f = a->name[6] == 'f';
    if (!attr_get (im, n, a->name, f ? AT_FLOAT : AT_INT, &bad, error))
      return FALSE;
    void *d;
    c = c_new (im, f ? C_F32 : C_I64, &(AfShape){ 0 }, OUT0 (n), &d);
    if (f)
      *(float *) d = a->f;
    else
      *(gint64 *) d = a->i;
  } else if (g_str_equal (a->name, "value_floats") || g_str_equal (a->name, "value_ints")) {
    gboolean f = a->name[6] == 'f';
    if (!attr_get (im, n, a->name, f ? AT_FLOATS : AT_INTS, &bad, error))
      return FALSE;
    GArray *src = f ? a->floats : a->ints;
    gint64 len = src ? src->len : 0;
    void *d;
    c = c_new (im, f ? C_F32 : C_I64, &(AfShape){ 1, { len } }, OUT0 (n), &d);
    if (len)
      memcpy (d, src->data, len * (f ? 4 : 8));
  } else {
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "attribute \"%s\" is not supported", a->name);
  }
  if (!c)
    return FALSE;
  imp_bind_const (im, OUT0 (n), c);
  return TRUE;
}

static gboolean
op_shape (Imp *im, PbNode *n, GError **error)
{
  gint64 start, end;
  Val *v = in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  AfShape s = val_shape (v);
  if (!attr_int (im, n, "start", 0, &start, error) || !attr_int (im, n, "end", s.rank, &end, error))
    return FALSE;
  start = CLAMP (start < 0 ? start + s.rank : start, 0, s.rank);
  end = CLAMP (end < 0 ? end + s.rank : end, 0, s.rank);
  gint64 len = MAX (0, end - start);
  gint64 *d;
  Const *c = c_new (im, C_I64, &(AfShape){ 1, { len } }, OUT0 (n), (void **) &d);
  for (gint64 i = 0; i < len; i++)
    d[i] = s.d[start + i];
  imp_bind_const (im, OUT0 (n), c);
  return TRUE;
}

static gboolean
op_gather (Imp *im, PbNode *n, GError **error)
{
  gint64 axis;
  if (!attr_int (im, n, "axis", 0, &axis, error))
    return FALSE;
  Const *data = in_const (im, n, 0, "data", error);
  Const *idx = data ? in_const (im, n, 1, "indices", error) : NULL;
  if (!idx)
    return FALSE;
  int r = data->shape.rank;
  if (r < 1 || axis < -r || axis >= r)
    return imp_fail (im, error, AF_ERROR_INVALID,
                     "attribute \"axis\" = %" G_GINT64_FORMAT " is out of range", axis);
  int ax = (int) (axis < 0 ? axis + r : axis);
  if (r - 1 + idx->shape.rank > AF_MAX_RANK)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "result rank above %d", AF_MAX_RANK);
  AfShape out = { 0 };
  for (int i = 0; i < ax; i++)
    out.d[out.rank++] = data->shape.d[i];
  for (int i = 0; i < idx->shape.rank; i++)
    out.d[out.rank++] = idx->shape.d[i];
  for (int i = ax + 1; i < r; i++)
    out.d[out.rank++] = data->shape.d[i];
  gint64 outer = 1, inner = 1, len = data->shape.d[ax];
  for (int i = 0; i < ax; i++)
    outer *= data->shape.d[i];
  for (int i = ax + 1; i < r; i++)
    inner *= data->shape.d[i];
  if (!fold_limit (im, &out, error))
    return FALSE;
  void *d;
  gsize es = c_esize (data->kind);
  Const *c = c_new (im, data->kind, &out, OUT0 (n), &d);
  const guint8 *src = c_data (data);
  gint64 at = 0;
  for (gint64 o = 0; o < outer; o++)
    for (gint64 k = 0; k < idx->numel; k++) {
      gint64 j = c_get_i64 (idx, k);
      if (j < 0)
        j += len;
      if (j < 0 || j >= len)
        return imp_fail (im, error, AF_ERROR_INVALID, "index %" G_GINT64_FORMAT " is out of range",
                         c_get_i64 (idx, k));
      memcpy ((guint8 *) d + at * es, src + (o * len + j) * inner * es, inner * es);
      at += inner;
    }
  imp_bind_const (im, OUT0 (n), c);
  return TRUE;
}

static gboolean
op_cast (Imp *im, PbNode *n, GError **error)
{
  gint64 to;
  if (!attr_int (im, n, "to", 0, &to, error))
    return FALSE;
  Val *v = in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  gboolean to_float = to == OT_FLOAT || to == OT_FLOAT16 || to == OT_DOUBLE;
  gboolean to_int = to == OT_INT64 || to == OT_INT32 || to == OT_INT16 || to == OT_INT8 ||
                    to == OT_UINT8 || to == OT_UINT16 || to == OT_BOOL;
  if (!to_float && !to_int)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "attribute \"to\" = %" G_GINT64_FORMAT " is not supported", to);
  if (v->kind != V_CONST) {
    if (!to_float)
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                       "attribute \"to\" = %" G_GINT64_FORMAT
                       ": casting a computed tensor to an integer type is not supported",
                       to);
    imp_bind (im, OUT0 (n), v);
    return TRUE;
  }
  void *d;
  Const *c = c_new (im, to_float ? C_F32 : C_I64, &v->c->shape, OUT0 (n), &d);
  for (gint64 i = 0; i < c->numel; i++) {
    if (to_float) {
      float f = (float) c_get (v->c, i);
      ((float *) d)[i] = to == OT_FLOAT16 ? af_fp16_to_f32 (af_f32_to_fp16 (f)) : f;
    } else {
      gint64 x = c_get_i64 (v->c, i);
      ((gint64 *) d)[i] = to == OT_BOOL     ? x != 0
                          : to == OT_INT8   ? (gint8) x
                          : to == OT_UINT8  ? (guint8) x
                          : to == OT_INT16  ? (gint16) x
                          : to == OT_UINT16 ? (guint16) x
                          : to == OT_INT32  ? (gint32) x
                                            : x;
    }
  }
  imp_bind_const (im, OUT0 (n), c);
  return TRUE;
}

static gboolean
op_constant_of_shape (Imp *im, PbNode *n, GError **error)
{
  Const *s = in_const (im, n, 0, "shape", error);
  if (!s)
    return FALSE;
  gint64 dims[AF_MAX_RANK];
  if (s->numel > AF_MAX_RANK)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "rank above %d", AF_MAX_RANK);
  for (gint64 i = 0; i < s->numel; i++)
    dims[i] = c_get_i64 (s, i);
  AfShape shape;
  if (!imp_check_dims (im, "shape", (int) s->numel, dims, &shape, error) ||
      !fold_limit (im, &shape, error))
    return FALSE;
  Const *val = NULL;
  PbAttr *a = attr_find (n, "value");
  gboolean bad = FALSE;
  if (a) {
    if (!attr_get (im, n, "value", AT_TENSOR, &bad, error) ||
        !(val = imp_tensor_const (im, a->t, "value", error)))
      return FALSE;
    if (val->numel != 1)
      return imp_fail (im, error, AF_ERROR_INVALID, "attribute \"value\" must have one element");
  }
  void *d;
  CKind kind = val && val->kind == C_I64 ? C_I64 : C_F32;
  Const *c = c_new (im, kind, &shape, OUT0 (n), &d);
  for (gint64 i = 0; i < c->numel; i++) {
    if (kind == C_I64)
      ((gint64 *) d)[i] = c_get_i64 (val, 0);
    else
      ((float *) d)[i] = val ? (float) c_get (val, 0) : 0.0f;
  }
  imp_bind_const (im, OUT0 (n), c);
  return TRUE;
}

/* Start, count and step of a Slice along one axis of length @dim. */
static void
slice_range (gint64 dim, gint64 start, gint64 end, gint64 step, gint64 *first, gint64 *count)
{
  if (start < 0)
    start = start < -dim ? 0 : start + dim;
  if (end < 0)
    end = end < -dim ? -1 : end + dim;
  if (step > 0) {
    start = CLAMP (start, 0, dim);
    end = CLAMP (end, 0, dim);
    *count = end > start ? (end - start + step - 1) / step : 0;
  } else {
    start = CLAMP (start, 0, dim - 1);
    end = CLAMP (end, -1, dim - 1);
    *count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
  }
  *first = start;
}

static gboolean
slice_params (Imp *im, PbNode *n, int rank, gint64 *first, gint64 *step, gint64 *count,
              const AfShape *in, GError **error)
{
  gint64 starts[AF_MAX_RANK], ends[AF_MAX_RANK], axes[AF_MAX_RANK], steps[AF_MAX_RANK];
  int ns, ne, na, nst = -1;
  if (!attr_ints (im, n, "starts", AF_MAX_RANK, starts, &ns, error) ||
      !attr_ints (im, n, "ends", AF_MAX_RANK, ends, &ne, error) ||
      !attr_ints (im, n, "axes", AF_MAX_RANK, axes, &na, error))
    return FALSE;
  if (ns < 0) { /* opset >= 10: inputs */
    gint64 *dst[] = { starts, ends, axes, steps };
    int *cnt[] = { &ns, &ne, &na, &nst };
    for (guint i = 1; i < 5; i++) {
      *cnt[i - 1] = -1;
      if (!in_name (n, i)) {
        if (i < 3)
          return imp_fail (im, error, AF_ERROR_INVALID, "input %u is missing", i);
        continue;
      }
      Const *c = in_const (im, n, i,
                           i == 1   ? "starts"
                           : i == 2 ? "ends"
                           : i == 3 ? "axes"
                                    : "steps",
                           error);
      if (!c)
        return FALSE;
      if (c->numel > AF_MAX_RANK)
        return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "input %u has too many values", i);
      *cnt[i - 1] = (int) c->numel;
      for (gint64 j = 0; j < c->numel; j++)
        dst[i - 1][j] = c_get_i64 (c, j);
    }
  }
  if (ne != ns || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
    return imp_fail (im, error, AF_ERROR_INVALID, "starts, ends, axes and steps differ in length");
  for (int i = 0; i < rank; i++) {
    first[i] = 0;
    step[i] = 1;
    count[i] = in->d[i];
  }
  gboolean seen[AF_MAX_RANK] = { 0 };
  for (int i = 0; i < ns; i++) {
    gint64 a = na >= 0 ? axes[i] : i;
    if (a < 0)
      a += rank;
    if (a < 0 || a >= rank || seen[a])
      return imp_fail (im, error, AF_ERROR_INVALID, "axis %" G_GINT64_FORMAT " is invalid",
                       na >= 0 ? axes[i] : i);
    seen[a] = TRUE;
    gint64 st = nst >= 0 ? steps[i] : 1;
    if (st == 0)
      return imp_fail (im, error, AF_ERROR_INVALID, "step 0");
    step[a] = st;
    slice_range (in->d[a], starts[i], ends[i], st, &first[a], &count[a]);
  }
  return TRUE;
}

/* A runtime slice along @axis: a matmul with a 0/1 selection matrix (exact in
 * fp16), between transposes when @axis is not the last. */
static AfTensor *
slice_tensor_axis (Imp *im, AfTensor *x, int axis, gint64 first, gint64 step, gint64 count,
                   const char *want, GError **error)
{
  int r = x->shape.rank;
  gint64 k = x->shape.d[axis];
  if (k * count > (1 << 22))
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "slicing a computed tensor along an axis of %" G_GINT64_FORMAT
                     " is not supported",
                     k),
           NULL;
  AfAttrs ta;
  af__attrs_init (AF_OP_TRANSPOSE, &ta);
  ta.n_perm = r;
  for (int i = 0; i < r; i++)
    ta.perm[i] = i;
  ta.perm[axis] = r - 1;
  ta.perm[r - 1] = axis;
  ta.set = AF_A (PERM);
  char *tname = g_strconcat (want, "_t", NULL), *sname = g_strconcat (want, "_select", NULL);
  AfTensor *y = x;
  if (axis != r - 1)
    y = emit1 (im, AF_OP_TRANSPOSE, x, &ta, tname, error);
  float *sel;
  Const *c = c_new (im, C_F32, &(AfShape){ 2, { k, count } }, sname, (void **) &sel);
  for (gint64 j = 0; j < count; j++)
    sel[(first + j * step) * count + j] = 1.0f;
  AfTensor *s = y ? c_tensor (im, c, error) : NULL;
  if (s)
    y = emit2 (im, AF_OP_MATMUL, y, s, axis != r - 1 ? sname : want, error);
  else
    y = NULL;
  if (y && axis != r - 1)
    y = emit1 (im, AF_OP_TRANSPOSE, y, &ta, want, error);
  g_free (tname);
  g_free (sname);
  return y;
}

static gboolean
op_slice (Imp *im, PbNode *n, GError **error)
{
  Val *v = in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  AfShape in = val_shape (v);
  int r = in.rank;
  gint64 first[AF_MAX_RANK], step[AF_MAX_RANK], count[AF_MAX_RANK];
  if (r < 1)
    return imp_fail (im, error, AF_ERROR_INVALID, "input 0 is a scalar");
  if (!slice_params (im, n, r, first, step, count, &in, error))
    return FALSE;
  AfShape out = { r };
  for (int i = 0; i < r; i++)
    out.d[i] = count[i];
  if (v->kind == V_CONST) {
    void *d;
    gsize es = c_esize (v->c->kind);
    Const *c = c_new (im, v->c->kind, &out, OUT0 (n), &d);
    const guint8 *src = c_data (v->c);
    gint64 istride[AF_MAX_RANK], st = 1;
    for (int i = r - 1; i >= 0; i--) {
      istride[i] = st;
      st *= in.d[i];
    }
    for (gint64 i = 0; i < c->numel; i++) {
      gint64 rem = i, off = 0;
      for (int k = r - 1; k >= 0; k--) {
        off += (first[k] + (rem % out.d[k]) * step[k]) * istride[k];
        rem /= out.d[k];
      }
      memcpy ((guint8 *) d + i * es, src + off * es, es);
    }
    imp_bind_const (im, OUT0 (n), c);
    return TRUE;
  }
  AfTensor *x = in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  int n_cut = 0;
  for (int i = 0; i < r; i++) {
    if (count[i] == 0)
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "the slice is empty");
    n_cut += count[i] != in.d[i];
  }
  for (int i = 0; i < r && x; i++) {
    if (count[i] == in.d[i])
      continue;
    n_cut--;
    char *want = n_cut ? g_strdup_printf ("%s_axis%d", OUT0 (n) ? OUT0 (n) : "slice", i)
                       : g_strdup (OUT0 (n) ? OUT0 (n) : "slice");
    x = slice_tensor_axis (im, x, i, first[i], step[i], count[i], want, error);
    g_free (want);
  }
  return bind_out (im, n, x);
}

static gboolean
op_dequantize (Imp *im, PbNode *n, GError **error)
{
  gint64 axis;
  if (!attr_int (im, n, "axis", 1, &axis, error))
    return FALSE;
  Const *x = in_const (im, n, 0, "x", error);
  Const *s = x ? in_const (im, n, 1, "x_scale", error) : NULL;
  Const *z = NULL;
  if (!s || (in_name (n, 2) && !(z = in_const (im, n, 2, "x_zero_point", error))))
    return FALSE;
  if (x->kind != C_I8 && x->kind != C_U8 && x->kind != C_I64)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "input 0 must be int8 or uint8");
  gint64 outer = 1, len = 1, inner = 1;
  int r = x->shape.rank;
  if (s->numel > 1) {
    if (axis < -r || axis >= r || s->numel != x->shape.d[axis < 0 ? axis + r : axis])
      return imp_fail (im, error, AF_ERROR_INVALID, "x_scale does not match attribute \"axis\"");
    int ax = (int) (axis < 0 ? axis + r : axis);
    len = x->shape.d[ax];
    for (int i = 0; i < ax; i++)
      outer *= x->shape.d[i];
    for (int i = ax + 1; i < r; i++)
      inner *= x->shape.d[i];
  } else {
    inner = x->numel;
  }
  if (z && z->numel != s->numel)
    return imp_fail (im, error, AF_ERROR_INVALID, "x_zero_point and x_scale differ in size");
  float *d;
  Const *c = c_new (im, C_F32, &x->shape, OUT0 (n), (void **) &d);
  for (gint64 o = 0, i = 0; o < outer; o++)
    for (gint64 l = 0; l < len; l++)
      for (gint64 k = 0; k < inner; k++, i++)
        d[i] = (float) ((c_get (x, i) - (z ? c_get (z, l) : 0)) * c_get (s, l));
  imp_bind_const (im, OUT0 (n), c);
  return TRUE;
}

/* ---------------------------------------------------------------- Gemm, MatMul, BN */

static gboolean
op_matmul (Imp *im, PbNode *n, GError **error)
{
  AfTensor *a = in_tensor (im, n, 0, error), *b = a ? in_tensor (im, n, 1, error) : NULL;
  return b && bind_out (im, n, emit2 (im, AF_OP_MATMUL, a, b, OUT0 (n), error));
}

static gboolean
op_gemm (Imp *im, PbNode *n, GError **error)
{
  float alpha, beta;
  gint64 ta, tb;
  if (!attr_float (im, n, "alpha", 1, &alpha, error) ||
      !attr_float (im, n, "beta", 1, &beta, error) || !attr_int (im, n, "transA", 0, &ta, error) ||
      !attr_int (im, n, "transB", 0, &tb, error))
    return FALSE;
  if (ta)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "attribute \"transA\" = %" G_GINT64_FORMAT " is not supported", ta);
  AfTensor *x = in_tensor (im, n, 0, error);
  Const *b = x ? in_const (im, n, 1, "B", error) : NULL;
  if (!b)
    return FALSE;
  if (x->shape.rank != 2 || b->shape.rank != 2)
    return imp_fail (im, error, AF_ERROR_SHAPE, "inputs A and B must be 2-D");
  int perm[2] = { 1, 0 };
  Const *w = tb ? b : const_transpose (im, b, perm, in_name (n, 1));
  gint64 N = w->shape.d[0];
  if (alpha != 1 || w->kind == C_I64) {
    float *d;
    Const *s = c_new (im, C_F32, &w->shape, w->name, (void **) &d);
    for (gint64 i = 0; i < w->numel; i++)
      d[i] = (float) (c_get (w, i) * alpha);
    w = s;
  }
  Const *bias = NULL;
  if (in_name (n, 2)) {
    Const *c = in_const (im, n, 2, "C", error);
    if (!c)
      return FALSE;
    if (c->numel != N && c->numel != 1)
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                       "input 2 (C) must have 1 or N = %" G_GINT64_FORMAT " values", N);
    float *d;
    bias = c_new (im, C_F32, &(AfShape){ 1, { N } }, c->name, (void **) &d);
    for (gint64 i = 0; i < N; i++)
      d[i] = (float) (c_get (c, c->numel == 1 ? 0 : i) * beta);
  }
  AfTensor *in[3] = { x, c_tensor (im, w, error), bias ? c_tensor (im, bias, error) : NULL };
  if (!in[1] || (bias && !in[2]))
    return FALSE;
  return bind_out (im, n, emit (im, AF_OP_LINEAR, bias ? 3 : 2, in, NULL, OUT0 (n), error));
}

static gboolean
op_batch_norm (Imp *im, PbNode *n, GError **error)
{
  float eps, mom;
  gint64 spatial, training, is_test;
  if (!attr_float (im, n, "epsilon", 1e-5f, &eps, error) ||
      !attr_float (im, n, "momentum", 0.9f, &mom, error) ||
      !attr_int (im, n, "spatial", 1, &spatial, error) ||
      !attr_int (im, n, "training_mode", 0, &training, error) ||
      !attr_int (im, n, "is_test", 1, &is_test, error) || !extra_outputs_unused (im, n, error))
    return FALSE;
  if (spatial != 1 || training != 0)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "attribute \"%s\" is not supported",
                     spatial != 1 ? "spatial" : "training_mode");
  AfTensor *in[5];
  for (guint i = 0; i < 5; i++) {
    if (i > 0) {
      Const *c = in_const (im, n, i, "statistics", error);
      if (!c)
        return FALSE;
    }
    if (!(in[i] = in_tensor (im, n, i, error)))
      return FALSE;
  }
  AfAttrs a;
  af__attrs_init (AF_OP_BATCH_NORM, &a);
  a.eps = eps;
  a.set = AF_A (EPS);
  return bind_out (im, n, emit (im, AF_OP_BATCH_NORM, 5, in, &a, OUT0 (n), error));
}

/* ---------------------------------------------------------------- Resize, Pad */

static gboolean
op_resize (Imp *im, PbNode *n, GError **error)
{
  gboolean upsample = g_str_equal (n->op, "Upsample");
  const char *mode, *ctm = "asymmetric", *nm = "floor";
  if (!attr_str (im, n, "mode", "nearest", &mode, error))
    return FALSE;
  if (!upsample && im->m.opset >= 11 &&
      (!attr_str (im, n, "coordinate_transformation_mode", "half_pixel", &ctm, error) ||
       !attr_str (im, n, "nearest_mode", "round_prefer_floor", &nm, error)))
    return FALSE;
  if (!upsample && im->m.opset < 11)
    nm = "round_prefer_floor";
  if (!g_str_equal (mode, "nearest"))
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "attribute \"mode\" = \"%s\" is not supported (only nearest)", mode);
  AfTensor *x = in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  if (x->shape.rank != 4)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "input 0 must have rank 4");
  double scale[4] = { 1, 1, 1, 1 };
  int count;
  gboolean have = FALSE;
  PbAttr *sa = attr_find (n, "scales");
  if (sa) {
    if (!sa->floats || sa->floats->len != 4)
      return imp_fail (im, error, AF_ERROR_INVALID, "attribute \"scales\" must have 4 values");
    for (int i = 0; i < 4; i++)
      scale[i] = g_array_index (sa->floats, float, i);
    have = TRUE;
  }
  (void) count;
  guint si = upsample ? 1 : im->m.opset >= 11 ? 2 : 1;
  if (!have && in_name (n, si)) {
    Const *c = in_const (im, n, si, "scales", error);
    if (!c)
      return FALSE;
    if (c->numel == 4) {
      for (int i = 0; i < 4; i++)
        scale[i] = c_get (c, i);
      have = TRUE;
    } else if (c->numel != 0) {
      return imp_fail (im, error, AF_ERROR_INVALID, "input %u (scales) must have 4 values", si);
    }
  }
  if (!have && !upsample && im->m.opset >= 11 && in_name (n, 3)) {
    Const *c = in_const (im, n, 3, "sizes", error);
    if (!c)
      return FALSE;
    if (c->numel != 4)
      return imp_fail (im, error, AF_ERROR_INVALID, "input 3 (sizes) must have 4 values");
    for (int i = 0; i < 4; i++)
      scale[i] = (double) c_get_i64 (c, i) / (double) x->shape.d[i];
    have = TRUE;
  }
  if (!have)
    return imp_fail (im, error, AF_ERROR_INVALID, "neither scales nor sizes is given");
  gint64 s[2];
  for (int i = 0; i < 4; i++) {
    double r = round (scale[i]);
    if (!(fabs (scale[i] - r) < 1e-6) || r < 1 || r > 1024 || (i < 2 && r != 1))
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                       "scale %g on axis %d is not supported (only integer scales >= 1 on H and W)",
                       scale[i], i);
    if (i >= 2)
      s[i - 2] = (gint64) r;
  }
  /* which coordinate rules equal plain repetition for integer scales */
  gboolean ok;
  gint64 smax = MAX (s[0], s[1]);
  if (g_str_equal (ctm, "asymmetric"))
    ok = g_str_equal (nm, "floor") || (g_str_equal (nm, "round_prefer_floor") && smax <= 2);
  else if (g_str_equal (ctm, "half_pixel") || g_str_equal (ctm, "pytorch_half_pixel"))
    ok = g_str_equal (nm, "round_prefer_floor") || g_str_equal (nm, "round_prefer_ceil");
  else
    ok = FALSE;
  if (!ok)
    return imp_fail (
        im, error, AF_ERROR_UNSUPPORTED,
        "attribute \"coordinate_transformation_mode\" = \"%s\" with \"nearest_mode\" = \"%s\" "
        "is not supported for scale %" G_GINT64_FORMAT,
        ctm, nm, smax);
  if (s[0] == 1 && s[1] == 1) {
    imp_bind_tensor (im, OUT0 (n), x);
    return TRUE;
  }
  AfAttrs a;
  af__attrs_init (AF_OP_UPSAMPLE, &a);
  a.scale[0] = s[0];
  a.scale[1] = s[1];
  a.set = AF_A (SCALE);
  return bind_out (im, n, emit1 (im, AF_OP_UPSAMPLE, x, &a, OUT0 (n), error));
}

static gboolean
op_pad (Imp *im, PbNode *n, GError **error)
{
  const char *mode;
  float value = 0;
  gint64 pads[8];
  int count;
  if (!attr_str (im, n, "mode", "constant", &mode, error) ||
      !attr_ints (im, n, "pads", 8, pads, &count, error) ||
      !attr_float (im, n, "value", 0, &value, error))
    return FALSE;
  if (!g_str_equal (mode, "constant"))
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                     "attribute \"mode\" = \"%s\" is not supported", mode);
  if (count < 0) {
    Const *c = in_const (im, n, 1, "pads", error);
    if (!c)
      return FALSE;
    if (c->numel > 8)
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "only rank-4 pads are supported");
    count = (int) c->numel;
    for (int i = 0; i < count; i++)
      pads[i] = c_get_i64 (c, i);
    if (in_name (n, 2)) {
      Const *v = in_const (im, n, 2, "constant_value", error);
      if (!v)
        return FALSE;
      value = v->numel ? (float) c_get (v, 0) : 0.0f;
    }
    if (in_name (n, 3))
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "input 3 (axes) is not supported");
  }
  AfTensor *x = in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  if (x->shape.rank != 4 || count != 8)
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "only 4-D pads are supported");
  if (value != 0 || pads[0] || pads[1] || pads[4] || pads[5])
    return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "only zero padding of H and W is supported");
  for (int i = 0; i < 8; i++)
    if (pads[i] < 0 || pads[i] > 65536)
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "pad %" G_GINT64_FORMAT " is not supported",
                       pads[i]);
  PbNode *user = sole_consumer (im, OUT0 (n));
  if (!user || !(g_str_equal (user->op, "Conv") || g_str_equal (user->op, "AveragePool")) ||
      g_strcmp0 (in_name (user, 0), OUT0 (n)) != 0)
    return imp_fail (
        im, error, AF_ERROR_UNSUPPORTED,
        "a standalone Pad is not supported (only a zero Pad whose single user is a Conv "
        "or AveragePool, which is merged into it)");
  Val v = { .kind = V_PAD, .t = x, .pad = { pads[2], pads[3], pads[6], pads[7] } };
  imp_bind (im, OUT0 (n), &v);
  return TRUE;
}

/* ---------------------------------------------------------------- the op table */

static const struct {
  const char *op;
  OpFn fn;
  const char *attrs; /* accepted attribute names */
} imp_ops[] = {
  { "Conv", op_conv, "auto_pad dilations group kernel_shape pads strides" },
  { "MaxPool", op_pool, "auto_pad ceil_mode dilations kernel_shape pads storage_order strides" },
  { "AveragePool", op_pool, "auto_pad ceil_mode count_include_pad kernel_shape pads strides" },
  { "GlobalAveragePool", op_global_pool, "" },
  { "GlobalMaxPool", op_global_pool, "" },
  { "Relu", op_unary, "" },
  { "Sigmoid", op_unary, "" },
  { "Tanh", op_unary, "" },
  { "Exp", op_unary, "" },
  { "Clip", op_clip, "min max" },
  { "LeakyRelu", op_leaky_relu, "alpha" },
  { "Softmax", op_softmax, "axis" },
  { "Add", op_binary, "" },
  { "Sub", op_binary, "" },
  { "Mul", op_binary, "" },
  { "Div", op_binary, "" },
  { "Max", op_binary, "" },
  { "Min", op_binary, "" },
  { "MatMul", op_matmul, "" },
  { "Gemm", op_gemm, "alpha beta transA transB" },
  { "BatchNormalization", op_batch_norm, "epsilon momentum spatial training_mode is_test" },
  { "Concat", op_concat, "axis" },
  { "Reshape", op_reshape, "allowzero shape" },
  { "Flatten", op_flatten, "axis" },
  { "Transpose", op_transpose, "perm" },
  { "Unsqueeze", op_squeeze, "axes" },
  { "Squeeze", op_squeeze, "axes" },
  { "Dropout", op_identity, "ratio seed is_test training_mode" },
  { "Identity", op_identity, "" },
  { "Constant", op_constant, "value value_float value_floats value_int value_ints" },
  { "ConstantOfShape", op_constant_of_shape, "value" },
  { "Shape", op_shape, "start end" },
  { "Gather", op_gather, "axis" },
  { "Slice", op_slice, "starts ends axes" },
  { "Cast", op_cast, "to saturate" },
  { "DequantizeLinear", op_dequantize, "axis" },
  { "Resize", op_resize,
    "coordinate_transformation_mode cubic_coeff_a exclude_outside extrapolation_value mode "
    "nearest_mode" },
  { "Upsample", op_resize, "mode scales" },
  { "Pad", op_pad, "mode pads value" },
};

/* ---------------------------------------------------------------- graph inputs and outputs */

static gboolean
imp_inputs (Imp *im, GError **error)
{
  GHashTable *inits = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean ok = FALSE, first = TRUE;
  for (guint i = 0; i < im->m.inits->len; i++) {
    PbTensor *t = g_ptr_array_index (im->m.inits, i);
    if (!t->name || !*t->name) {
      imp_fail (im, error, AF_ERROR_INVALID, "initializer %u has no name", i);
      goto out;
    }
    Const *c = imp_tensor_const (im, t, t->name, error);
    if (!c) {
      g_prefix_error (error, "initializer %u: ", i);
      goto out;
    }
    imp_bind_const (im, t->name, c);
    g_hash_table_add (inits, t->name);
  }
  for (guint i = 0; i < im->m.inputs->len; i++) {
    PbValueInfo *v = g_ptr_array_index (im->m.inputs, i);
    if (g_hash_table_contains (inits, v->name))
      continue;
    if (!*v->name) {
      imp_fail (im, error, AF_ERROR_INVALID, "graph input %u has no name", i);
      goto out;
    }
    if (v->elem_type != OT_FLOAT && v->elem_type != OT_FLOAT16 && v->elem_type != OT_DOUBLE) {
      imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                "graph input %u \"%s\": element type %d is not supported (float or float16 only)",
                i, v->name, v->elem_type);
      goto out;
    }
    if (!v->has_shape || v->rank < 1 || v->rank > AF_MAX_RANK) {
      imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                "graph input %u \"%s\": the shape must be known with rank 1 to %d", i, v->name,
                AF_MAX_RANK);
      goto out;
    }
    AfShape s = { v->rank };
    for (int k = 0; k < v->rank; k++) {
      gint64 d = v->dims[k];
      if (v->symbolic[k] || d == 0) {
        if (k != 0) {
          imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                    "graph input %u \"%s\": dim %d is symbolic; only the batch dim may be", i,
                    v->name, k);
          goto out;
        }
        d = 1;
      }
      if (d < 1 || d > AF_MAX_DIM || af__shape_numel (&s) > AF_MAX_NUMEL / d) {
        imp_fail (im, error, AF_ERROR_LIMIT,
                  "graph input %u \"%s\": dim %d = %" G_GINT64_FORMAT " is out of range", i,
                  v->name, k, d);
        goto out;
      }
      s.d[k] = d;
      s.rank = v->rank;
    }
    char *name = imp_unique_name (im, v->name);
    gboolean image = first && im->opts.image;
    first = FALSE;
    if (image && (s.rank != 4 || (s.d[1] != 1 && s.d[1] != 3))) {
      char *str = af__shape_str (&s);
      imp_fail (
          im, error, AF_ERROR_SHAPE,
          "graph input %u \"%s\" of shape %s cannot be an image port (needs [N, 1 or 3, H, W])", i,
          v->name, str);
      g_free (str);
      g_free (name);
      goto out;
    }
    AfNode *node =
        af__graph_add_node (im->g, name, image ? AF_OP_IMAGE_INPUT : AF_OP_INPUT, 0, NULL, NULL);
    g_free (name);
    node->out->shape = s;
    if (image) {
      /* a one-channel port is GRAY whatever the requested order */
      node->image.order = s.d[1] == 1 ? AF_PIXEL_GRAY : im->opts.order;
      memcpy (node->image.scale, im->opts.scale, sizeof node->image.scale);
      memcpy (node->image.bias, im->opts.bias, sizeof node->image.bias);
    }
    if (!af__node_infer_shape (im->g, node, error))
      goto out;
    imp_bind_tensor (im, v->name, node->out);
  }
  ok = TRUE;
out:
  g_hash_table_unref (inits);
  return ok;
}

static gboolean
imp_outputs (Imp *im, GError **error)
{
  if (!im->m.outputs->len)
    return imp_fail (im, error, AF_ERROR_INVALID, "the graph has no outputs");
  for (guint i = 0; i < im->m.outputs->len; i++) {
    PbValueInfo *o = g_ptr_array_index (im->m.outputs, i);
    Val *v = g_hash_table_lookup (im->vals, o->name);
    if (!v)
      return imp_fail (im, error, AF_ERROR_INVALID,
                       "graph output %u \"%s\" is not computed by any node", i, o->name);
    if (v->kind != V_TENSOR)
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED,
                       "graph output %u \"%s\" is a constant (it does not depend on any input)", i,
                       o->name);
    af_graph_add_output (im->g, *o->name ? o->name : "output", v->t);
  }
  if (im->g->error) {
    g_propagate_error (error, g_error_copy (im->g->error));
    return FALSE;
  }
  return TRUE;
}

static void
imp_count_uses (Imp *im)
{
  for (guint i = 0; i < im->m.nodes->len; i++) {
    PbNode *n = g_ptr_array_index (im->m.nodes, i);
    for (guint j = 0; j < n->in->len; j++) {
      const char *name = in_name (n, j);
      if (!name)
        continue;
      g_hash_table_replace (im->uses, (gpointer) name, GUINT_TO_POINTER (uses_of (im, name) + 1));
      if (!g_hash_table_contains (im->user, name))
        g_hash_table_insert (im->user, (gpointer) name, GUINT_TO_POINTER (i + 1));
    }
  }
  for (guint i = 0; i < im->m.outputs->len; i++) {
    PbValueInfo *o = g_ptr_array_index (im->m.outputs, i);
    g_hash_table_add (im->is_out, o->name);
    g_hash_table_replace (im->uses, o->name, GUINT_TO_POINTER (uses_of (im, o->name) + 1));
  }
}

static gboolean
imp_nodes (Imp *im, GError **error)
{
  for (guint i = 0; i < im->m.nodes->len; i++) {
    PbNode *n = g_ptr_array_index (im->m.nodes, i);
    im->cur = n;
    im->cur_index = i;
    if (n->done)
      continue;
    if (n->domain && *n->domain && !g_str_equal (n->domain, "ai.onnx"))
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "domain \"%s\" is not supported",
                       n->domain);
    guint k;
    for (k = 0; k < G_N_ELEMENTS (imp_ops); k++)
      if (g_str_equal (imp_ops[k].op, n->op))
        break;
    if (k == G_N_ELEMENTS (imp_ops))
      return imp_fail (im, error, AF_ERROR_UNSUPPORTED, "op \"%s\" is not supported", n->op);
    if (!OUT0 (n))
      return imp_fail (im, error, AF_ERROR_INVALID, "output 0 has no name");
    if (!attrs_check_known (im, n, imp_ops[k].attrs, error) || !imp_ops[k].fn (im, n, error))
      return FALSE;
  }
  im->cur = NULL;
  return TRUE;
}

static AfGraph *
imp_run (const guint8 *data, gsize len, const char *file, const AfImportOptions *opts,
         GError **error)
{
  Imp im = { .file = file };
  AfImportOptions defaults = AF_IMPORT_OPTIONS_INIT;
  im.opts = opts ? *opts : defaults;
  im.m.nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_node_free);
  im.m.inits = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_tensor_free);
  im.m.inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_value_info_free);
  im.m.outputs = g_ptr_array_new_with_free_func ((GDestroyNotify) pb_value_info_free);
  im.vals = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  im.uses = g_hash_table_new (g_str_hash, g_str_equal);
  im.user = g_hash_table_new (g_str_hash, g_str_equal);
  im.is_out = g_hash_table_new (g_str_hash, g_str_equal);
  im.consts = g_ptr_array_new_with_free_func ((GDestroyNotify) c_free);
  AfGraph *g = NULL;
  GError *local = NULL;

  if (!pb_parse_model (data, len, &im.m, &local)) {
    g_set_error (error, AF_ERROR, local->code, "%s: malformed ONNX protobuf: %s", file,
                 local->message);
    g_error_free (local);
    goto out;
  }
  if (!im.m.has_graph) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE, "%s: not an ONNX model (no graph)", file);
    goto out;
  }
  if (im.m.opset < 1 && im.m.other_domain) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED,
                 "%s: the model imports only opset domain \"%s\", not the default domain", file,
                 im.m.other_domain);
    goto out;
  }
  if (im.m.opset < 1) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "%s: the model imports no default-domain opset",
                 file);
    goto out;
  }
  char *base = g_path_get_basename (file);
  char *dot = strrchr (base, '.');
  if (dot && dot != base)
    *dot = 0;
  im.g = g = af_graph_new (base);
  g_free (base);
  imp_count_uses (&im);
  if (!imp_inputs (&im, error) || !imp_nodes (&im, error) || !imp_outputs (&im, error))
    g_clear_pointer (&g, af_graph_free);
out:
  g_hash_table_unref (im.vals);
  g_hash_table_unref (im.uses);
  g_hash_table_unref (im.user);
  g_hash_table_unref (im.is_out);
  g_ptr_array_unref (im.consts);
  pb_model_clear (&im.m);
  return g;
}

AfGraph *
af_graph_import_onnx_from_data (const guint8 *data, gsize len, const char *name_for_errors,
                                const AfImportOptions *opts, GError **error)
{
  g_return_val_if_fail (data || len == 0, NULL);
  return imp_run (data ? data : (const guint8 *) "", len,
                  name_for_errors ? name_for_errors : "onnx", opts, error);
}

AfGraph *
af_graph_import_onnx (const char *path, const AfImportOptions *opts, GError **error)
{
  g_return_val_if_fail (path, NULL);
  GError *local = NULL;
  GMappedFile *f = g_mapped_file_new (path, FALSE, &local);
  if (!f) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: cannot read: %s", path, local->message);
    g_error_free (local);
    return NULL;
  }
  const char *data = g_mapped_file_get_contents (f);
  AfGraph *g = imp_run (data ? (const guint8 *) data : (const guint8 *) "",
                        data ? g_mapped_file_get_length (f) : 0, path, opts, error);
  g_mapped_file_unref (f);
  if (g) {
    g->path = g_strdup (path);
    g->dir = g_path_get_dirname (path);
  }
  return g;
}

/* ---------------------------------------------------------------- conformance helpers
 * (tests/conformance) — one block, declared in import/onnx.h. */

#include "import/onnx.h"

gboolean
af__onnx_parse_tensor (const guint8 *data, gsize len, const char *name_for_errors, int *dtype,
                       int *rank, gint64 *dims, gint64 *numel, float **values, char **name,
                       GError **error)
{
  g_return_val_if_fail (data || len == 0, FALSE);
  const char *file = name_for_errors ? name_for_errors : "tensor";
  Imp im = { .file = file };
  im.consts = g_ptr_array_new_with_free_func ((GDestroyNotify) c_free);
  PbTensor t = { 0 };
  AfPbReader r;
  GError *local = NULL;
  gboolean ok = FALSE;
  af__pb_init (&r, data ? data : (const guint8 *) "", len);
  if (!pb_parse_tensor (&r, &t, &local)) {
    g_set_error (error, AF_ERROR, local->code, "%s: TensorProto: %s", file, local->message);
    g_error_free (local);
    goto out;
  }
  Const *c = imp_tensor_const (&im, &t, t.name ? t.name : "", error);
  if (!c)
    goto out;
  *dtype = t.dtype;
  *rank = c->shape.rank;
  for (int i = 0; i < c->shape.rank; i++)
    dims[i] = c->shape.d[i];
  *numel = c->numel;
  *values = c_f32 (c);
  if (name)
    *name = g_strdup (t.name ? t.name : "");
  ok = TRUE;
out:
  g_free (t.name);
  if (t.floats)
    g_array_unref (t.floats);
  if (t.ints)
    g_array_unref (t.ints);
  if (t.doubles)
    g_array_unref (t.doubles);
  g_ptr_array_unref (im.consts);
  return ok;
}
