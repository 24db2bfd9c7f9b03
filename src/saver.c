/* saver.c — writes an AfGraph as a JSON graph file (format v1,
 * docs/graph-format.md) plus, when it has constants, a safetensors file
 * beside it (foo.json -> foo.safetensors). Only attributes marked set are
 * written, so a load of the result gives back the same graph. */
#include "decode.h"
#include "graph.h"
#include "safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* foo.json -> foo.safetensors, foo -> foo.safetensors (transfer full) */
static char *
af_weights_path (const char *path)
{
  char *base = g_path_get_basename (path);
  char *dot = strrchr (base, '.');
  gsize stem = dot && dot != base ? (gsize) (dot - base) : strlen (base);
  gsize dirlen = strlen (path) - strlen (base);
  char *out = g_strdup_printf ("%.*s%.*s.safetensors", (int) dirlen, path, (int) stem, base);
  g_free (base);
  return out;
}

static void
af_add_ints (JsonBuilder *b, int n, const gint64 *v)
{
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    json_builder_add_int_value (b, v[i]);
  json_builder_end_array (b);
}

static gboolean
af_all_equal (int n, const gint64 *v)
{
  for (int i = 1; i < n; i++)
    if (v[i] != v[0])
      return FALSE;
  return TRUE;
}

/* Writes one set attribute (a non-finite float, which JSON cannot hold, is left out). */
static void
af_write_attr (JsonBuilder *b, const AfAttrInfo *info, const AfAttrs *attrs)
{
  const guint8 *field = (const guint8 *) attrs + info->offset;
  const gint64 *iv = (const gint64 *) field;
  switch (info->kind) {
  case AF_ATTR_KIND_INT:
    json_builder_set_member_name (b, info->key);
    json_builder_add_int_value (b, iv[0]);
    break;
  case AF_ATTR_KIND_INT2:
    json_builder_set_member_name (b, info->key);
    if (af_all_equal (2, iv))
      json_builder_add_int_value (b, iv[0]);
    else
      af_add_ints (b, 2, iv);
    break;
  case AF_ATTR_KIND_PAD4:
    json_builder_set_member_name (b, info->key);
    if (af_all_equal (4, iv))
      json_builder_add_int_value (b, iv[0]);
    else if (iv[0] == iv[2] && iv[1] == iv[3])
      af_add_ints (b, 2, iv);
    else
      af_add_ints (b, 4, iv);
    break;
  case AF_ATTR_KIND_INTS:
    json_builder_set_member_name (b, info->key);
    af_add_ints (b, *(const int *) ((const guint8 *) attrs + info->count_offset), iv);
    break;
  case AF_ATTR_KIND_FLOAT: {
    float f = *(const float *) field;
    if (!isfinite (f)) /* JSON has no infinity: only the defaults of min / max are */
      break;
    json_builder_set_member_name (b, info->key);
    json_builder_add_double_value (b, f);
    break;
  }
  case AF_ATTR_KIND_BOOL:
    json_builder_set_member_name (b, info->key);
    json_builder_add_boolean_value (b, *(const gboolean *) field);
    break;
  }
}

/* A scalar if all @c channels agree, else a list of @c numbers. */
static void
af_write_channels (JsonBuilder *b, const char *key, const float *v, gint64 c)
{
  json_builder_set_member_name (b, key);
  gboolean same = TRUE;
  for (gint64 i = 1; i < c && i < 3; i++)
    same = same && v[i] == v[0];
  if (same) {
    json_builder_add_double_value (b, v[0]);
    return;
  }
  json_builder_begin_array (b);
  for (gint64 i = 0; i < c && i < 3; i++)
    json_builder_add_double_value (b, v[i]);
  json_builder_end_array (b);
}

static void
af_write_input (JsonBuilder *b, const AfNode *n)
{
  static const char *const formats[] = { "RGB", "BGR", "GRAY" };
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, n->name);
  json_builder_set_member_name (b, "shape");
  af_add_ints (b, n->out->shape.rank, n->out->shape.d);
  if (n->op == AF_OP_IMAGE_INPUT) {
    gint64 c = n->out->shape.rank > 1 ? n->out->shape.d[1] : 1;
    json_builder_set_member_name (b, "image");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "format");
    json_builder_add_string_value (b, formats[n->image.order]);
    af_write_channels (b, "scale", n->image.scale, c);
    af_write_channels (b, "bias", n->image.bias, c);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
}

static void
af_write_node (JsonBuilder *b, const AfNode *n)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, n->name);
  json_builder_set_member_name (b, "op");
  json_builder_add_string_value (b, af_op_info[n->op].name);
  json_builder_set_member_name (b, "inputs");
  json_builder_begin_array (b);
  for (guint j = 0; j < n->n_in; j++)
    json_builder_add_string_value (b, n->in[j]->name);
  json_builder_end_array (b);
  guint32 set = n->attrs.set & af_op_info[n->op].attrs;
  for (int i = 0; i < AF_ATTR_COUNT; i++)
    if (set & (1u << i))
      af_write_attr (b, &af_attr_info[i], &n->attrs);
  json_builder_end_object (b);
}

static void
af_write_output (JsonBuilder *b, const AfOutput *o)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, o->name);
  json_builder_set_member_name (b, "from");
  json_builder_add_string_value (b, o->value->name);
  if (o->decode) {
    json_builder_set_member_name (b, "decode");
    af__decode_spec_to_json (o->decode, b);
  }
  json_builder_end_object (b);
}

/* The whole graph as a JSON tree (transfer full). @weights: basename or NULL. */
static JsonNode *
af_graph_to_json (AfGraph *g, const char *weights)
{
  JsonBuilder *b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "aneforge");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, g->name);
  if (weights) {
    json_builder_set_member_name (b, "weights");
    json_builder_add_string_value (b, weights);
  }
  json_builder_set_member_name (b, "inputs");
  json_builder_begin_array (b);
  for (guint i = 0; i < g->inputs->len; i++)
    af_write_input (b, g_ptr_array_index (g->inputs, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  for (guint i = 0; i < g->nodes->len; i++) {
    AfNode *n = g_ptr_array_index (g->nodes, i);
    if (n->op != AF_OP_INPUT && n->op != AF_OP_IMAGE_INPUT)
      af_write_node (b, n);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "outputs");
  json_builder_begin_array (b);
  for (guint i = 0; i < g->outputs->len; i++)
    af_write_output (b, &g_array_index (g->outputs, AfOutput, i));
  json_builder_end_array (b);
  json_builder_end_object (b);
  JsonNode *root = json_builder_get_root (b);
  g_object_unref (b);
  return root;
}

/* Every value name must be unique and non-empty for the file to load back. */
static gboolean
af_check_names (AfGraph *g, const char *path, GError **error)
{
  GHashTable *seen = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean ok = TRUE;
  for (guint i = 0; i < g->values->len && ok; i++) {
    AfTensor *t = g_ptr_array_index (g->values, i);
    if (!t->name || !*t->name || !g_hash_table_add (seen, t->name)) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                   "%s: cannot save graph \"%s\": value name \"%s\" is %s", path, g->name,
                   t->name ? t->name : "", t->name && *t->name ? "used twice" : "empty");
      ok = FALSE;
    }
  }
  g_hash_table_unref (seen);
  return ok;
}

gboolean
af_graph_save (AfGraph *g, const char *path, GError **error)
{
  g_return_val_if_fail (g && path, FALSE);
  if (g->error) {
    g_set_error (error, AF_ERROR, g->error->code, "%s: cannot save a graph with an error: %s", path,
                 g->error->message);
    return FALSE;
  }
  if (!af_check_names (g, path, error))
    return FALSE;
  GPtrArray *consts = g_ptr_array_new ();
  for (guint i = 0; i < g->values->len; i++) {
    AfTensor *t = g_ptr_array_index (g->values, i);
    if (t->kind == AF_VALUE_CONST)
      g_ptr_array_add (consts, t);
  }
  char *wpath = consts->len ? af_weights_path (path) : NULL;
  char *wbase = wpath ? g_path_get_basename (wpath) : NULL;
  gboolean ok = !wpath || af__safetensors_write (wpath, consts, error);
  if (ok) {
    JsonNode *root = af_graph_to_json (g, wbase);
    JsonGenerator *gen = json_generator_new ();
    json_generator_set_root (gen, root);
    json_generator_set_pretty (gen, TRUE);
    json_generator_set_indent (gen, 2);
    gsize len = 0;
    char *text = json_generator_to_data (gen, &len);
    GError *local = NULL;
    char *withnl = g_strconcat (text, "\n", NULL);
    ok = g_file_set_contents (path, withnl, len + 1, &local);
    if (!ok) {
      g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: cannot write the graph file: %s", path,
                   local->message);
      g_error_free (local);
    }
    g_free (withnl);
    g_free (text);
    g_object_unref (gen);
    json_node_unref (root);
  }
  g_free (wbase);
  g_free (wpath);
  g_ptr_array_unref (consts);
  return ok;
}
