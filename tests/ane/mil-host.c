/* mil-host.c — see mil-host.h. A host node runs as a one-node graph on the
 * CPU backend (the same kernels the runtime would use between programs,
 * and the ones `aneforge run` uses): the model is saved once as JSON +
 * safetensors in a temporary directory, and each host segment builds a
 * graph of its node alone (its non-constant inputs become graph inputs of
 * the shapes computed so far; its weights come from the saved safetensors)
 * through the public API (af_graph_load_from_data, af_compile,
 * af_model_run). */
#include "mil-host.h"

#include "aneforge.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

struct MilHost {
  char *tmp;        /* holds host.json + host.safetensors */
  JsonParser *json; /* host.json */
  JsonArray *nodes; /* borrowed from @json */
};

MilHost *
mil_host_new (const char *model, GError **error)
{
  AfGraph *g = af_graph_open (model, NULL, error);
  if (!g)
    return NULL;
  MilHost *h = g_new0 (MilHost, 1);
  h->tmp = g_dir_make_tmp ("mil-host-XXXXXX", error);
  char *path = h->tmp ? g_build_filename (h->tmp, "host.json", NULL) : NULL;
  gboolean ok = path && af_graph_save (g, path, error);
  af_graph_free (g);
  h->json = json_parser_new ();
  ok = ok && json_parser_load_from_file (h->json, path, error);
  g_free (path);
  JsonNode *root = ok ? json_parser_get_root (h->json) : NULL;
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  h->nodes =
      o && json_object_has_member (o, "nodes") ? json_object_get_array_member (o, "nodes") : NULL;
  if (ok && !h->nodes) {
    g_set_error (error, MIL_ERROR, 0, "%s: the saved graph has no nodes", model);
    ok = FALSE;
  }
  if (!ok)
    g_clear_pointer (&h, mil_host_free);
  return h;
}

void
mil_host_free (MilHost *h)
{
  if (!h)
    return;
  if (h->tmp) {
    const char *names[] = { "host.json", "host.safetensors" };
    for (int i = 0; i < 2; i++) {
      char *p = g_build_filename (h->tmp, names[i], NULL);
      g_unlink (p);
      g_free (p);
    }
    g_rmdir (h->tmp);
  }
  g_free (h->tmp);
  g_clear_object (&h->json);
  g_free (h);
}

/* The saved node named @name, NULL if none. */
static JsonObject *
find_node (MilHost *h, const char *name)
{
  for (guint i = 0; i < json_array_get_length (h->nodes); i++) {
    JsonObject *n = json_array_get_object_element (h->nodes, i);
    if (!g_strcmp0 (json_object_get_string_member_with_default (n, "name", NULL), name))
      return n;
  }
  return NULL;
}

/* The one-node graph's JSON: inputs = the node's inputs found in @env,
 * the node itself, its output. @inputs gets the env tensors in order. */
static char *
one_node_json (JsonObject *node, const char *name, gboolean weights, GHashTable *env,
               GPtrArray *inputs)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "aneforge");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, "host");
  if (weights) {
    json_builder_set_member_name (b, "weights");
    json_builder_add_string_value (b, "host.safetensors");
  }
  json_builder_set_member_name (b, "inputs");
  json_builder_begin_array (b);
  JsonArray *in = json_object_get_array_member (node, "inputs");
  for (guint i = 0; i < json_array_get_length (in); i++) {
    const char *iname = json_array_get_string_element (in, i);
    const MilTensor *t = g_hash_table_lookup (env, iname);
    if (!t)
      continue; /* a weight, in host.safetensors */
    g_ptr_array_add (inputs, (gpointer) t);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "name");
    json_builder_add_string_value (b, iname);
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (int k = 0; k < t->rank; k++)
      json_builder_add_int_value (b, t->shape[k]);
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  json_builder_add_value (b, json_node_init_object (json_node_alloc (), node));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "outputs");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "from");
  json_builder_add_string_value (b, name);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  JsonNode *root = json_builder_get_root (b);
  char *text = json_to_string (root, FALSE);
  json_node_unref (root);
  g_object_unref (b);
  return text;
}

MilTensor *
mil_host_run (gpointer data, const char *op, const char *node, GHashTable *env, GError **error)
{
  MilHost *h = data;
  JsonObject *n = find_node (h, node);
  if (!n || g_strcmp0 (json_object_get_string_member_with_default (n, "op", NULL), op)) {
    g_set_error (error, MIL_ERROR, 0, "host %s \"%s\": the model has no such node", op, node);
    return NULL;
  }
  GPtrArray *inputs = g_ptr_array_new ();
  char *st = g_build_filename (h->tmp, "host.safetensors", NULL);
  char *text = one_node_json (n, node, g_file_test (st, G_FILE_TEST_EXISTS), env, inputs);
  g_free (st);
  AfGraph *g = af_graph_load_from_data (text, strlen (text), h->tmp, "host", error);
  AfCompileOptions opts = AF_COMPILE_OPTIONS_INIT;
  opts.backend = AF_BACKEND_CPU;
  opts.threads = 1;
  AfModel *m = g ? af_compile (g, &opts, error) : NULL;
  MilTensor *t = NULL;
  if (m) {
    float **in = g_new0 (float *, inputs->len + 1);
    for (guint i = 0; i < inputs->len; i++) {
      const MilTensor *x = inputs->pdata[i];
      in[i] = g_new (float, MAX (x->n, 1));
      for (gsize k = 0; k < x->n; k++)
        in[i][k] = (float) x->v[k];
    }
    AfTensorInfo info;
    af_model_output_info (m, 0, &info);
    t = mil_tensor_new (MIL_FP16, info.rank, info.shape);
    float *out = g_new (float, MAX (t->n, 1));
    if (af_model_run (m, (const float *const *) in, &out, error))
      for (gsize k = 0; k < t->n; k++)
        t->v[k] = out[k]; /* fp16 values widened */
    else
      g_clear_pointer (&t, mil_tensor_free);
    g_free (out);
    for (guint i = 0; i < inputs->len; i++)
      g_free (in[i]);
    g_free (in);
  }
  if (!t && error && *error)
    g_prefix_error (error, "host %s \"%s\": ", op, node);
  af_model_free (m);
  if (g)
    af_graph_free (g);
  g_free (text);
  g_ptr_array_unref (inputs);
  return t;
}
