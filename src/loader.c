/* loader.c — reads a JSON graph file (format v1, docs/graph-format.md) and the
 * safetensors file it names into an AfGraph. Files are hostile: every field
 * is type-checked, every size is held to the limits of graph.h, and every
 * error names the file, the node (as nodes[i] "name") and the field.
 *
 * Order of work: top-level fields -> weights (constants) -> inputs -> nodes
 * (created unresolved, so they may appear in any order) -> resolve input
 * names -> topological order (cycles) -> shapes -> outputs. Compute nodes are
 * created before the input nodes so that a node's index in the graph is its
 * index in the file's "nodes" array (messages say nodes[i]). */
#include "decode.h"
#include "graph.h"
#include "json-check.h"
#include "safetensors.h"

#include <errno.h>
#include <float.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define AF_GRAPH_MAX_FILE ((gsize) 64 * 1024 * 1024) /* bytes of JSON */

typedef struct {
  char *name;
  AfOp op;
  AfShape shape;
  AfImagePort image;
} AfLoadInput;

typedef struct {
  const char *file; /* for messages */
  const char *dir;  /* where "weights" is looked for; NULL: no weights allowed */
  AfGraph *g;
  GHashTable *where; /* name -> where it was defined ("nodes[2]", ...), owned */
  GString *ctx;      /* the entry being read: "nodes[3] \"conv2\"" or "" */
  const char *field; /* prefix of field names in messages: "" or "decode." */
  GError **error;
} AfLoader;

/* ---------------------------------------------------------------- errors */

static gboolean af_fail (AfLoader *L, AfError code, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

/* Sets "FILE: CTX: message" and returns FALSE. */
static gboolean
af_fail (AfLoader *L, AfError code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (L->error, AF_ERROR, code, "%s: %s%s%s", L->file, L->ctx->str,
               L->ctx->len ? ": " : "", msg);
  g_free (msg);
  return FALSE;
}

static void
af_ctx (AfLoader *L, const char *section, guint i, const char *name)
{
  g_string_printf (L->ctx, "%s[%u]", section, i);
  if (name)
    g_string_append_printf (L->ctx, " \"%s\"", name);
}

/* "a string", "an integer", ... for "got ..." messages. */
static const char *
af_json_kind (JsonNode *n)
{
  return af__json_kind (n);
}

static gboolean
af_is_int (JsonNode *n)
{
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64;
}

static gboolean
af_is_number (JsonNode *n)
{
  return af__json_is_number (n);
}

static gboolean
af_is_string (JsonNode *n)
{
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING;
}

static gboolean
af_is_bool (JsonNode *n)
{
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN;
}

/* A required / optional string field; a wrong type is an error. */
static gboolean
af_get_string (AfLoader *L, JsonObject *o, const char *key, gboolean required, const char **out)
{
  JsonNode *n = json_object_get_member (o, key);
  *out = NULL;
  if (!n && !required)
    return TRUE;
  if (!n)
    return af_fail (L, AF_ERROR_INVALID, "field \"%s%s\": missing (expected a string)", L->field,
                    key);
  if (!af_is_string (n))
    return af_fail (L, AF_ERROR_INVALID, "field \"%s%s\": expected a string, got %s", L->field, key,
                    af_json_kind (n));
  *out = json_node_get_string (n);
  if (!**out)
    return af_fail (L, AF_ERROR_INVALID, "field \"%s%s\": expected a non-empty string", L->field,
                    key);
  return TRUE;
}

static gboolean
af_get_array (AfLoader *L, JsonObject *o, const char *key, JsonArray **out)
{
  JsonNode *n = json_object_get_member (o, key);
  if (!n)
    return af_fail (L, AF_ERROR_INVALID, "field \"%s\": missing (expected an array)", key);
  if (!JSON_NODE_HOLDS_ARRAY (n))
    return af_fail (L, AF_ERROR_INVALID, "field \"%s\": expected an array, got %s", key,
                    af_json_kind (n));
  *out = json_node_get_array (n);
  return TRUE;
}

/* Rejects members of @o not in the NULL-terminated @keys. */
static gboolean
af_check_keys (AfLoader *L, JsonObject *o, const char *what, const char *const *keys)
{
  const char *bad = af__json_unknown_field (o, keys);
  if (bad == NULL)
    return TRUE;
  g_autofree char *list = g_strjoinv (", ", (char **) keys);
  return af_fail (L, AF_ERROR_INVALID, "unknown %sfield \"%s\" (expected one of: %s)", what, bad,
                  list);
}

/* Records @name as defined at @where; a duplicate is an error. */
static gboolean
af_claim_name (AfLoader *L, const char *name, const char *where)
{
  const char *prev = g_hash_table_lookup (L->where, name);
  if (prev)
    return af_fail (L, AF_ERROR_INVALID, "field \"name\": \"%s\" is already used by %s", name,
                    prev);
  if (g_hash_table_size (L->where) >= AF_MAX_NODES + AF_MAX_NODES)
    return af_fail (L, AF_ERROR_LIMIT, "more than %d names", AF_MAX_NODES + AF_MAX_NODES);
  g_hash_table_insert (L->where, g_strdup (name), g_strdup (where));
  return TRUE;
}

/* ---------------------------------------------------------------- weights */

static gboolean
af_load_weights (AfLoader *L, const char *rel)
{
  if (!L->dir)
    return af_fail (L, AF_ERROR_INVALID,
                    "field \"weights\": \"%s\" cannot be read: this graph was loaded from memory "
                    "without a weights directory",
                    rel);
  char *path = g_path_is_absolute (rel) ? g_strdup (rel) : g_build_filename (L->dir, rel, NULL);
  GPtrArray *tensors = af__safetensors_load (path, L->error);
  if (!tensors) {
    g_prefix_error (L->error, "%s: field \"weights\": ", L->file);
    g_free (path);
    return FALSE;
  }
  gboolean ok = TRUE;
  char *where = g_strdup_printf ("a tensor of %s", rel);
  for (guint i = 0; i < tensors->len && ok; i++) {
    AfStTensor *t = g_ptr_array_index (tensors, i);
    ok = af_claim_name (L, t->name, where);
    if (ok)
      af__graph_add_const (L->g, t->name, &t->shape, t->dtype, t->data, t->bytes);
  }
  g_free (where);
  g_ptr_array_unref (tensors);
  g_free (path);
  return ok;
}

/* ---------------------------------------------------------------- inputs */

static gboolean
af_parse_shape (AfLoader *L, JsonObject *o, AfShape *shape)
{
  JsonArray *a;
  if (!af_get_array (L, o, "shape", &a))
    return FALSE;
  guint rank = json_array_get_length (a);
  if (rank == 0)
    return af_fail (L, AF_ERROR_SHAPE, "field \"shape\": rank 0, expected rank 1 to %d",
                    AF_MAX_RANK);
  if (rank > AF_MAX_RANK)
    return af_fail (L, AF_ERROR_LIMIT, "field \"shape\": rank %u is above the limit of %d", rank,
                    AF_MAX_RANK);
  shape->rank = rank;
  gint64 numel = 1;
  for (guint i = 0; i < rank; i++) {
    JsonNode *n = json_array_get_element (a, i);
    if (!af_is_int (n))
      return af_fail (L, AF_ERROR_INVALID, "field \"shape\": dim %u: expected an integer, got %s",
                      i, af_json_kind (n));
    gint64 d = json_node_get_int (n);
    if (d <= 0)
      return af_fail (L, AF_ERROR_SHAPE,
                      "field \"shape\": dim %u = %" G_GINT64_FORMAT ", expected > 0", i, d);
    if (d > AF_MAX_DIM || numel > AF_MAX_NUMEL / d)
      return af_fail (L, AF_ERROR_LIMIT,
                      "field \"shape\": dim %u = %" G_GINT64_FORMAT
                      " is above the limits (%" G_GINT64_FORMAT " per dim, %" G_GINT64_FORMAT
                      " elements)",
                      i, d, AF_MAX_DIM, AF_MAX_NUMEL);
    numel *= d;
    shape->d[i] = d;
  }
  return TRUE;
}

/* "scale" / "bias" of an image port: a number or @c numbers. */
static gboolean
af_parse_channels (AfLoader *L, JsonObject *o, const char *key, float dflt, gint64 c, float *dst)
{
  JsonNode *n = json_object_get_member (o, key);
  double v[3] = { dflt, dflt, dflt };
  if (!n) {
  } else if (af_is_number (n)) {
    v[0] = v[1] = v[2] = json_node_get_double (n);
  } else if (JSON_NODE_HOLDS_ARRAY (n)) {
    JsonArray *a = json_node_get_array (n);
    guint len = json_array_get_length (a);
    if (len != c)
      return af_fail (L, AF_ERROR_SHAPE,
                      "field \"image.%s\": %u values for %" G_GINT64_FORMAT
                      " channels, expected a number or %" G_GINT64_FORMAT " numbers",
                      key, len, c, c);
    for (guint i = 0; i < len; i++) {
      JsonNode *e = json_array_get_element (a, i);
      if (!af_is_number (e))
        return af_fail (L, AF_ERROR_INVALID,
                        "field \"image.%s\": value %u: expected a number, got %s", key, i,
                        af_json_kind (e));
      v[i] = json_node_get_double (e);
    }
    for (guint i = len; i < 3; i++)
      v[i] = v[len - 1];
  } else {
    return af_fail (L, AF_ERROR_INVALID,
                    "field \"image.%s\": expected a number or a list of %" G_GINT64_FORMAT
                    " numbers, got %s",
                    key, c, af_json_kind (n));
  }
  for (int i = 0; i < 3; i++) {
    if (!isfinite (v[i]) || fabs (v[i]) > FLT_MAX)
      return af_fail (L, AF_ERROR_INVALID, "field \"image.%s\": %g is out of range", key, v[i]);
    dst[i] = v[i];
  }
  return TRUE;
}

static gboolean
af_parse_image (AfLoader *L, JsonNode *node, AfLoadInput *in)
{
  static const char *const keys[] = { "format", "scale", "bias", NULL };
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return af_fail (L, AF_ERROR_INVALID, "field \"image\": expected an object, got %s",
                    af_json_kind (node));
  JsonObject *o = json_node_get_object (node);
  const char *fmt;
  if (!af_check_keys (L, o, "image ", keys) || !af_get_string (L, o, "format", TRUE, &fmt))
    return FALSE;
  if (strcmp (fmt, "RGB") == 0)
    in->image.order = AF_PIXEL_RGB;
  else if (strcmp (fmt, "BGR") == 0)
    in->image.order = AF_PIXEL_BGR;
  else if (strcmp (fmt, "GRAY") == 0)
    in->image.order = AF_PIXEL_GRAY;
  else
    return af_fail (L, AF_ERROR_INVALID,
                    "field \"image.format\": unknown pixel format \"%s\" (expected RGB, BGR or "
                    "GRAY)",
                    fmt);
  gint64 want_c = in->image.order == AF_PIXEL_GRAY ? 1 : 3;
  char *s = af__shape_str (&in->shape);
  gboolean ok = TRUE;
  if (in->shape.rank != 4)
    ok = af_fail (L, AF_ERROR_SHAPE, "field \"shape\": %s: an image input must be [N, C, H, W]", s);
  else if (in->shape.d[1] != want_c)
    ok = af_fail (L, AF_ERROR_SHAPE,
                  "field \"shape\": %s has %" G_GINT64_FORMAT
                  " channels, expected %" G_GINT64_FORMAT " for pixel format %s",
                  s, in->shape.d[1], want_c, fmt);
  g_free (s);
  in->op = AF_OP_IMAGE_INPUT;
  return ok && af_parse_channels (L, o, "scale", 1, want_c, in->image.scale) &&
         af_parse_channels (L, o, "bias", 0, want_c, in->image.bias);
}

static gboolean
af_parse_input (AfLoader *L, guint i, JsonNode *node, AfLoadInput *in)
{
  static const char *const keys[] = { "name", "shape", "image", "doc", NULL };
  af_ctx (L, "inputs", i, NULL);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return af_fail (L, AF_ERROR_INVALID, "expected an object, got %s", af_json_kind (node));
  JsonObject *o = json_node_get_object (node);
  const char *name;
  if (!af_get_string (L, o, "name", TRUE, &name))
    return FALSE;
  af_ctx (L, "inputs", i, name);
  in->name = g_strdup (name);
  in->op = AF_OP_INPUT;
  char *where = g_strdup_printf ("inputs[%u]", i);
  gboolean ok = af_claim_name (L, name, where);
  g_free (where);
  if (!ok || !af_check_keys (L, o, "", keys) || !af_parse_shape (L, o, &in->shape))
    return FALSE;
  JsonNode *image = json_object_get_member (o, "image");
  return !image || af_parse_image (L, image, in);
}

/* Creates the input nodes and checks them with their op's shape function. */
static gboolean
af_add_inputs (AfLoader *L, GArray *inputs)
{
  for (guint i = 0; i < inputs->len; i++) {
    AfLoadInput *in = &g_array_index (inputs, AfLoadInput, i);
    AfNode *n = af__graph_add_node (L->g, in->name, in->op, 0, NULL, NULL);
    n->out->shape = in->shape;
    n->image = in->image;
    GError *local = NULL;
    if (!af_op_info[in->op].shape (n, &local)) {
      af_ctx (L, "inputs", i, in->name);
      af_fail (L, local->code, "%s", local->message);
      g_error_free (local);
      return FALSE;
    }
  }
  return TRUE;
}

/* ---------------------------------------------------------------- attributes */

static gboolean
af_attr_int (AfLoader *L, const char *key, JsonNode *n, gint64 *out)
{
  if (!af_is_int (n))
    return FALSE;
  gint64 v = json_node_get_int (n);
  if (v > AF_MAX_DIM || v < -AF_MAX_DIM)
    return FALSE;
  *out = v;
  return TRUE;
}

/* Bad integer values: a distinct message for out-of-range ones. */
static gboolean
af_attr_type_error (AfLoader *L, const char *key, const char *want, JsonNode *n)
{
  if (af_is_int (n))
    return af_fail (L, AF_ERROR_LIMIT,
                    "attribute \"%s\": %" G_GINT64_FORMAT " is outside [-%" G_GINT64_FORMAT
                    ", %" G_GINT64_FORMAT "]",
                    key, json_node_get_int (n), AF_MAX_DIM, AF_MAX_DIM);
  return af_fail (L, AF_ERROR_INVALID, "attribute \"%s\": expected %s, got %s", key, want,
                  af_json_kind (n));
}

/* Reads a list of 1..@max ints of @n into @dst; returns its length or -1. */
static int
af_attr_int_list (AfLoader *L, const char *key, JsonNode *n, int max, gint64 *dst, const char *want)
{
  JsonArray *a = json_node_get_array (n);
  guint len = json_array_get_length (a);
  if ((int) len > max) {
    af_fail (L, AF_ERROR_INVALID, "attribute \"%s\": expected %s, got %u values", key, want, len);
    return -1;
  }
  for (guint i = 0; i < len; i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (!af_attr_int (L, key, e, &dst[i])) {
      af_attr_type_error (L, key, want, e);
      return -1;
    }
  }
  return len;
}

static gboolean
af_parse_attr (AfLoader *L, const AfAttrInfo *info, JsonNode *n, AfAttrs *attrs)
{
  guint8 *field = (guint8 *) attrs + info->offset;
  const char *key = info->key;
  gint64 v[AF_MAX_RANK];
  switch (info->kind) {
  case AF_ATTR_KIND_INT:
    if (!af_attr_int (L, key, n, (gint64 *) field))
      return af_attr_type_error (L, key, "an integer", n);
    return TRUE;
  case AF_ATTR_KIND_INT2: {
    const char *want = "an integer or [h, w]";
    gint64 *f = (gint64 *) field;
    if (n && JSON_NODE_HOLDS_ARRAY (n)) {
      int len = af_attr_int_list (L, key, n, 2, v, want);
      if (len < 0)
        return FALSE;
      if (len != 2)
        return af_fail (L, AF_ERROR_INVALID, "attribute \"%s\": expected %s, got %d values", key,
                        want, len);
      f[0] = v[0];
      f[1] = v[1];
    } else if (af_attr_int (L, key, n, &v[0])) {
      f[0] = f[1] = v[0];
    } else {
      return af_attr_type_error (L, key, want, n);
    }
    return TRUE;
  }
  case AF_ATTR_KIND_PAD4: {
    const char *want = "an integer, [h, w] or [top, left, bottom, right]";
    gint64 *f = (gint64 *) field;
    if (n && JSON_NODE_HOLDS_ARRAY (n)) {
      int len = af_attr_int_list (L, key, n, 4, v, want);
      if (len < 0)
        return FALSE;
      if (len == 2) {
        f[0] = f[2] = v[0];
        f[1] = f[3] = v[1];
      } else if (len == 4) {
        memcpy (f, v, 4 * sizeof *f);
      } else {
        return af_fail (L, AF_ERROR_INVALID, "attribute \"%s\": expected %s, got %d values", key,
                        want, len);
      }
    } else if (af_attr_int (L, key, n, &v[0])) {
      f[0] = f[1] = f[2] = f[3] = v[0];
    } else {
      return af_attr_type_error (L, key, want, n);
    }
    return TRUE;
  }
  case AF_ATTR_KIND_INTS: {
    char want[64];
    g_snprintf (want, sizeof want, "a list of up to %d integers", AF_MAX_RANK);
    if (!n || !JSON_NODE_HOLDS_ARRAY (n))
      return af_fail (L, AF_ERROR_INVALID, "attribute \"%s\": expected %s, got %s", key, want,
                      af_json_kind (n));
    int len = af_attr_int_list (L, key, n, AF_MAX_RANK, (gint64 *) field, want);
    if (len < 0)
      return FALSE;
    *(int *) ((guint8 *) attrs + info->count_offset) = len;
    return TRUE;
  }
  case AF_ATTR_KIND_FLOAT: {
    if (!af_is_number (n))
      return af_fail (L, AF_ERROR_INVALID, "attribute \"%s\": expected a number, got %s", key,
                      af_json_kind (n));
    double d = json_node_get_double (n);
    if (!isfinite (d) || fabs (d) > FLT_MAX)
      return af_fail (L, AF_ERROR_INVALID, "attribute \"%s\": %g is out of the float range", key,
                      d);
    *(float *) field = d;
    return TRUE;
  }
  case AF_ATTR_KIND_BOOL:
    if (!af_is_bool (n))
      return af_fail (L, AF_ERROR_INVALID, "attribute \"%s\": expected true or false, got %s", key,
                      af_json_kind (n));
    *(gboolean *) field = json_node_get_boolean (n);
    return TRUE;
  }
  return FALSE;
}

/* "stride, pad, dilation, groups" (transfer full) */
static char *
af_accepted_attrs (AfOp op)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < AF_ATTR_COUNT; i++)
    if (af_op_info[op].attrs & (1u << i))
      g_string_append_printf (s, "%s%s", s->len ? ", " : "", af_attr_info[i].key);
  if (!s->len)
    g_string_append (s, "none");
  return g_string_free (s, FALSE);
}

static gboolean
af_parse_attrs (AfLoader *L, JsonObject *o, AfOp op, AfAttrs *attrs)
{
  af__attrs_init (op, attrs);
  GList *members = json_object_get_members (o);
  gboolean ok = TRUE;
  for (GList *l = members; l && ok; l = l->next) {
    const char *key = l->data;
    if (!strcmp (key, "name") || !strcmp (key, "op") || !strcmp (key, "inputs") ||
        !strcmp (key, "doc"))
      continue;
    int id = -1;
    for (int i = 0; i < AF_ATTR_COUNT && id < 0; i++)
      if (strcmp (af_attr_info[i].key, key) == 0 && (af_op_info[op].attrs & (1u << i)))
        id = i;
    if (id < 0) {
      char *list = af_accepted_attrs (op);
      ok = af_fail (L, AF_ERROR_INVALID, "unknown attribute \"%s\" for op \"%s\" (accepted: %s)",
                    key, af_op_info[op].name, list);
      g_free (list);
      break;
    }
    ok = af_parse_attr (L, &af_attr_info[id], json_object_get_member (o, key), attrs);
    attrs->set |= 1u << id;
  }
  g_list_free (members);
  return ok;
}

/* ---------------------------------------------------------------- nodes */

/* Parses nodes[i] and creates it with unresolved inputs. */
static gboolean
af_parse_node (AfLoader *L, guint i, JsonNode *node)
{
  af_ctx (L, "nodes", i, NULL);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return af_fail (L, AF_ERROR_INVALID, "expected an object, got %s", af_json_kind (node));
  JsonObject *o = json_node_get_object (node);
  const char *name, *opname;
  if (!af_get_string (L, o, "name", TRUE, &name))
    return FALSE;
  af_ctx (L, "nodes", i, name);
  char *where = g_strdup_printf ("nodes[%u]", i);
  gboolean ok = af_claim_name (L, name, where);
  g_free (where);
  if (!ok || !af_get_string (L, o, "op", TRUE, &opname))
    return FALSE;
  int op = af__op_lookup (opname);
  if (op < 0 || op == AF_OP_INPUT || op == AF_OP_IMAGE_INPUT)
    return af_fail (L, AF_ERROR_INVALID, "unknown op \"%s\"%s", opname,
                    op < 0 ? "" : " (graph inputs are declared in \"inputs\")");
  JsonArray *ins;
  if (!af_get_array (L, o, "inputs", &ins))
    return FALSE;
  guint n_in = json_array_get_length (ins);
  if (n_in > AF_MAX_INPUTS_PER_NODE)
    return af_fail (L, AF_ERROR_LIMIT, "field \"inputs\": %u inputs, above the limit of %d", n_in,
                    AF_MAX_INPUTS_PER_NODE);
  for (guint j = 0; j < n_in; j++) {
    JsonNode *e = json_array_get_element (ins, j);
    if (!af_is_string (e))
      return af_fail (L, AF_ERROR_INVALID, "field \"inputs\": input %u: expected a name, got %s", j,
                      af_json_kind (e));
  }
  AfAttrs attrs;
  if (!af_parse_attrs (L, o, op, &attrs))
    return FALSE;
  AfTensor **unresolved = g_new0 (AfTensor *, MAX (n_in, 1));
  af__graph_add_node (L->g, name, op, n_in, unresolved, &attrs);
  g_free (unresolved);
  return TRUE;
}

/* Points the inputs of nodes[i] at the values they name. */
static gboolean
af_resolve_node (AfLoader *L, guint i, JsonNode *node, const char *weights)
{
  AfNode *n = g_ptr_array_index (L->g->nodes, i);
  JsonArray *ins = json_object_get_array_member (json_node_get_object (node), "inputs");
  af_ctx (L, "nodes", i, n->name);
  for (guint j = 0; j < n->n_in; j++) {
    const char *name = json_array_get_string_element (ins, j);
    AfTensor *t = g_hash_table_lookup (L->g->by_name, name);
    if (t) {
      n->in[j] = t;
      continue;
    }
    /* safetensors keys are dotted ("conv1.weight"): such a name is a weight */
    if (strchr (name, '.') && weights)
      return af_fail (L, AF_ERROR_WEIGHTS,
                      "field \"inputs\": weight \"%s\" not found (not a tensor of %s, an input "
                      "or a node)",
                      name, weights);
    if (strchr (name, '.'))
      return af_fail (L, AF_ERROR_WEIGHTS,
                      "field \"inputs\": weight \"%s\" not found (the graph names no weights "
                      "file)",
                      name);
    return af_fail (L, AF_ERROR_INVALID, "field \"inputs\": unknown input name \"%s\"", name);
  }
  return TRUE;
}

static gboolean
af_infer_shapes (AfLoader *L)
{
  GPtrArray *order = g_ptr_array_new ();
  gboolean ok = af__graph_topo_order (L->g, order, L->error);
  for (guint i = 0; ok && i < order->len; i++) {
    AfNode *n = g_ptr_array_index (order, i);
    if (n->op != AF_OP_INPUT && n->op != AF_OP_IMAGE_INPUT)
      ok = af__node_infer_shape (L->g, n, L->error);
  }
  g_ptr_array_unref (order);
  return ok;
}

/* ---------------------------------------------------------------- outputs */

/* outputs[i].decode: the decoders' own parser (src/decode.c) checks every
 * field; {"type": "none"} is accepted as "no decode". A classification
 * without "scores" reads the output itself. */
static gboolean
af_parse_decode (AfLoader *L, JsonNode *node, AfOutput *out)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return af_fail (L, AF_ERROR_INVALID, "field \"decode\": expected an object, got %s",
                    af_json_kind (node));
  JsonObject *o = json_node_get_object (node);
  JsonNode *type = json_object_get_member (o, "type");
  if (type && json_object_get_size (o) == 1 && JSON_NODE_HOLDS_VALUE (type) &&
      json_node_get_value_type (type) == G_TYPE_STRING &&
      strcmp (json_node_get_string (type), "none") == 0)
    return TRUE;
  g_autofree char *where = g_strdup_printf ("%s: %s", L->file, L->ctx->str);
  AfDecodeSpec *spec = g_new0 (AfDecodeSpec, 1);
  if (!af__decode_spec_from_json (o, where, spec, L->error)) {
    g_free (spec);
    return FALSE;
  }
  if (af__decode_type_attached (spec->type) && !spec->scores)
    spec->scores = g_strdup (out->name);
  out->decode = spec;
  return TRUE;
}

static gboolean
af_parse_output (AfLoader *L, guint i, JsonNode *node, GHashTable *names)
{
  static const char *const keys[] = { "name", "from", "decode", "doc", NULL };
  af_ctx (L, "outputs", i, NULL);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return af_fail (L, AF_ERROR_INVALID, "expected an object, got %s", af_json_kind (node));
  JsonObject *o = json_node_get_object (node);
  const char *name, *from;
  if (!af_get_string (L, o, "name", TRUE, &name))
    return FALSE;
  af_ctx (L, "outputs", i, name);
  if (!g_hash_table_add (names, (gpointer) name))
    return af_fail (L, AF_ERROR_INVALID, "field \"name\": output \"%s\" is declared twice", name);
  if (!af_check_keys (L, o, "", keys) || !af_get_string (L, o, "from", TRUE, &from))
    return FALSE;
  AfTensor *t = g_hash_table_lookup (L->g->by_name, from);
  if (!t)
    return af_fail (L, AF_ERROR_INVALID, "field \"from\": unknown value \"%s\"", from);
  AfOutput out = { .name = g_strdup (name), .value = t };
  JsonNode *decode = json_object_get_member (o, "decode");
  gboolean ok = !decode || af_parse_decode (L, decode, &out);
  g_array_append_val (L->g->outputs, out); /* freed with the graph even on error */
  return ok;
}

/* ---------------------------------------------------------------- graph */

static gboolean
af_parse_version (AfLoader *L, JsonObject *root)
{
  JsonNode *v = json_object_get_member (root, "aneforge");
  if (!v)
    return af_fail (L, AF_ERROR_INVALID,
                    "field \"aneforge\": missing (expected the format version 1)");
  if (!af_is_int (v))
    return af_fail (L, AF_ERROR_INVALID,
                    "field \"aneforge\": expected the format version 1, got %s", af_json_kind (v));
  gint64 ver = json_node_get_int (v);
  if (ver != 1)
    return af_fail (L, AF_ERROR_UNSUPPORTED,
                    "field \"aneforge\": unsupported format version %" G_GINT64_FORMAT
                    " (this build reads 1)",
                    ver);
  return TRUE;
}

static void
af_load_input_clear (AfLoadInput *in)
{
  g_free (in->name);
}

static gboolean
af_load_root (AfLoader *L, JsonNode *rootnode)
{
  static const char *const keys[] = { "aneforge", "name", "weights",  "inputs", "nodes",
                                      "outputs",  "doc",  "metadata", NULL };
  if (!JSON_NODE_HOLDS_OBJECT (rootnode))
    return af_fail (L, AF_ERROR_INVALID, "expected a JSON object at the top level, got %s",
                    af_json_kind (rootnode));
  JsonObject *root = json_node_get_object (rootnode);
  const char *name, *weights;
  JsonArray *inputs, *nodes, *outputs;
  if (!af_parse_version (L, root) || !af_check_keys (L, root, "top-level ", keys) ||
      !af_get_string (L, root, "name", FALSE, &name) ||
      !af_get_string (L, root, "weights", FALSE, &weights) ||
      !af_get_array (L, root, "inputs", &inputs) || !af_get_array (L, root, "nodes", &nodes) ||
      !af_get_array (L, root, "outputs", &outputs))
    return FALSE;
  if (name) {
    g_free (L->g->name);
    L->g->name = g_strdup (name);
  }
  guint n_inputs = json_array_get_length (inputs), n_nodes = json_array_get_length (nodes);
  if (n_nodes > AF_MAX_NODES || n_inputs > AF_MAX_NODES - n_nodes)
    return af_fail (L, AF_ERROR_LIMIT, "%u inputs and %u nodes, above the limit of %d nodes",
                    n_inputs, n_nodes, AF_MAX_NODES);
  if (weights && !af_load_weights (L, weights))
    return FALSE;

  GArray *ins = g_array_new (FALSE, TRUE, sizeof (AfLoadInput));
  g_array_set_clear_func (ins, (GDestroyNotify) af_load_input_clear);
  gboolean ok = TRUE;
  for (guint i = 0; i < n_inputs && ok; i++) {
    AfLoadInput in = { 0 };
    ok = af_parse_input (L, i, json_array_get_element (inputs, i), &in);
    g_array_append_val (ins, in);
  }
  for (guint i = 0; i < n_nodes && ok; i++)
    ok = af_parse_node (L, i, json_array_get_element (nodes, i));
  ok = ok && af_add_inputs (L, ins);
  g_array_unref (ins);
  for (guint i = 0; i < n_nodes && ok; i++)
    ok = af_resolve_node (L, i, json_array_get_element (nodes, i), weights);
  g_string_truncate (L->ctx, 0);
  ok = ok && af_infer_shapes (L);

  GHashTable *names = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < json_array_get_length (outputs) && ok; i++)
    ok = af_parse_output (L, i, json_array_get_element (outputs, i), names);
  g_hash_table_unref (names);
  return ok;
}

static AfGraph *
af_load_data (const char *data, gsize len, const char *file, const char *dir, GError **error)
{
  GString *ctx = g_string_new (NULL);
  AfLoader L = { file, dir, NULL, NULL, ctx, "", error };
  if (len > AF_GRAPH_MAX_FILE) {
    af_fail (&L, AF_ERROR_LIMIT, "%" G_GSIZE_FORMAT " bytes, above the limit of %" G_GSIZE_FORMAT,
             len, AF_GRAPH_MAX_FILE);
    g_string_free (ctx, TRUE);
    return NULL;
  }
  if (!af__json_depth_ok (data, len, AF_JSON_MAX_DEPTH)) {
    af_fail (&L, AF_ERROR_LIMIT, "JSON nested deeper than %d levels", AF_JSON_MAX_DEPTH);
    g_string_free (ctx, TRUE);
    return NULL;
  }
  JsonParser *parser = json_parser_new_immutable ();
  GError *local = NULL;
  AfGraph *g = NULL;
  if (!json_parser_load_from_data (parser, data, len, &local)) {
    af_fail (&L, AF_ERROR_PARSE, "not valid JSON: %s", local->message);
    g_error_free (local);
  } else if (!json_parser_get_root (parser)) {
    af_fail (&L, AF_ERROR_PARSE, "empty file, expected a JSON object");
  } else {
    char *stem = g_path_get_basename (file);
    char *dot = strrchr (stem, '.');
    if (dot && dot != stem)
      *dot = 0;
    g = af_graph_new (stem);
    g_free (stem);
    g->path = g_strdup (file);
    g->dir = g_strdup (dir);
    L.g = g;
    L.where = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    if (!af_load_root (&L, json_parser_get_root (parser)))
      g_clear_pointer (&g, af_graph_free);
    g_hash_table_unref (L.where);
  }
  g_object_unref (parser);
  g_string_free (ctx, TRUE);
  return g;
}

AfGraph *
af_graph_load_from_data (const char *json, gsize len, const char *weights_dir,
                         const char *name_for_errors, GError **error)
{
  g_return_val_if_fail (json || len == 0, NULL);
  return af_load_data (json ? json : "", len, name_for_errors ? name_for_errors : "graph.json",
                       weights_dir, error);
}

AfGraph *
af_graph_load (const char *path, GError **error)
{
  g_return_val_if_fail (path, NULL);
  GStatBuf st;
  if (g_stat (path, &st) != 0) {
    int e = errno;
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: cannot open the graph file: %s", path,
                 g_strerror (e));
    return NULL;
  }
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: the graph file is not a regular file", path);
    return NULL;
  }
  if ((guint64) st.st_size > AF_GRAPH_MAX_FILE) {
    g_set_error (error, AF_ERROR, AF_ERROR_LIMIT,
                 "%s: %" G_GUINT64_FORMAT " bytes, above the limit of %" G_GSIZE_FORMAT, path,
                 (guint64) st.st_size, AF_GRAPH_MAX_FILE);
    return NULL;
  }
  char *data = NULL;
  gsize len = 0;
  GError *local = NULL;
  if (!g_file_get_contents (path, &data, &len, &local)) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: cannot read the graph file: %s", path,
                 local->message);
    g_error_free (local);
    return NULL;
  }
  char *dir = g_path_get_dirname (path);
  AfGraph *g = af_load_data (data, len, path, dir, error);
  g_free (dir);
  g_free (data);
  return g;
}
