/* test-schema.c — models/aneforge-graph.schema.json agrees with the op and
 * attribute tables (src/ops.def, src/attrs.def): same ops, same accepted
 * attributes and arity per op, same attribute JSON kinds. */
#include "graph.h"

#include <json-glib/json-glib.h>
#include <string.h>

static JsonObject *
load_schema (JsonParser **parser)
{
  const char *root = g_getenv ("AF_SOURCE_ROOT");
  g_assert_nonnull (root);
  char *path = g_build_filename (root, "models", "aneforge-graph.schema.json", NULL);
  GError *error = NULL;
  *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (*parser, path, &error));
  g_assert_no_error (error);
  g_free (path);
  return json_node_get_object (json_parser_get_root (*parser));
}

static JsonObject *
node_def (JsonObject *schema)
{
  return json_object_get_object_member (json_object_get_object_member (schema, "$defs"), "node");
}

/* The schema's op enum is exactly the compute ops of ops.def. */
static void
test_schema_ops (void)
{
  JsonParser *parser;
  JsonObject *node = node_def (load_schema (&parser));
  JsonArray *ops = json_object_get_array_member (
      json_object_get_object_member (json_object_get_object_member (node, "properties"), "op"),
      "enum");
  g_assert_cmpuint (json_array_get_length (ops), ==, AF_OP_COUNT - 2);
  for (guint i = 0; i < json_array_get_length (ops); i++) {
    int op = af__op_lookup (json_array_get_string_element (ops, i));
    g_assert_cmpint (op, >, AF_OP_IMAGE_INPUT);
  }
  g_object_unref (parser);
}

/* Per op, the schema allows exactly the attributes of its ATTRS mask, with
 * the arity of ops.def. */
static void
test_schema_attrs (void)
{
  JsonParser *parser;
  JsonObject *node = node_def (load_schema (&parser));
  JsonArray *variants = json_object_get_array_member (node, "allOf");
  g_assert_cmpuint (json_array_get_length (variants), ==, AF_OP_COUNT - 2);
  for (guint i = 0; i < json_array_get_length (variants); i++) {
    JsonObject *v = json_array_get_object_element (variants, i);
    const char *name = json_object_get_string_member (
        json_object_get_object_member (
            json_object_get_object_member (json_object_get_object_member (v, "if"), "properties"),
            "op"),
        "const");
    int op = af__op_lookup (name);
    g_assert_cmpint (op, >=, 0);
    JsonObject *props =
        json_object_get_object_member (json_object_get_object_member (v, "then"), "properties");
    guint32 mask = 0;
    GList *keys = json_object_get_members (props);
    for (GList *l = keys; l; l = l->next) {
      const char *key = l->data;
      if (!strcmp (key, "name") || !strcmp (key, "op") || !strcmp (key, "inputs") ||
          !strcmp (key, "doc"))
        continue;
      int id = -1;
      for (int a = 0; a < AF_ATTR_COUNT; a++)
        if (!strcmp (af_attr_info[a].key, key))
          id = a;
      if (id < 0)
        g_error ("schema: op %s: attribute %s is not in attrs.def", name, key);
      mask |= 1u << id;
    }
    g_list_free (keys);
    if (mask != af_op_info[op].attrs)
      g_error ("schema: op %s: attributes 0x%x, ops.def says 0x%x", name, mask,
               af_op_info[op].attrs);
    JsonObject *ins = json_object_get_object_member (props, "inputs");
    g_assert_cmpint (json_object_get_int_member (ins, "minItems"), ==, af_op_info[op].min_in);
    gint64 max = af_op_info[op].max_in < 0 ? AF_MAX_INPUTS_PER_NODE : af_op_info[op].max_in;
    g_assert_cmpint (json_object_get_int_member (ins, "maxItems"), ==, max);
  }
  g_object_unref (parser);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/loader/schema/ops", test_schema_ops);
  g_test_add_func ("/loader/schema/attrs", test_schema_attrs);
  return g_test_run ();
}
