/* export.c — the ANE export: partition, lower every fused region, write
 * plan.json and one model.mil + weights/weight.bin per region. */
#include "backends/ane/export.h"

#include "backends/ane/caps.h"
#include "backends/ane/coreml.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

static void
af_json_shape (JsonBuilder *b, const char *key, const AfShape *s)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (int i = 0; i < s->rank; i++)
    json_builder_add_int_value (b, s->d[i]);
  json_builder_end_array (b);
}

static void
af_json_str (JsonBuilder *b, const char *key, const char *v)
{
  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, v);
}

static gboolean
af_is_image (const AfTensor *t)
{
  return t->producer && t->producer->op == AF_OP_IMAGE_INPUT;
}

/* The graph's inputs and outputs. */
static void
af_json_graph_io (JsonBuilder *b, AfGraph *g)
{
  json_builder_set_member_name (b, "inputs");
  json_builder_begin_array (b);
  for (guint i = 0; i < g->inputs->len; i++) {
    AfNode *n = g_ptr_array_index (g->inputs, i);
    json_builder_begin_object (b);
    af_json_str (b, "name", n->out->name);
    af_json_str (b, "dtype", af_is_image (n->out) ? "uint8" : "fp16");
    af_json_shape (b, "shape", &n->out->shape);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "outputs");
  json_builder_begin_array (b);
  for (guint i = 0; i < g->outputs->len; i++) {
    AfTensor *t = g_array_index (g->outputs, AfOutput, i).value;
    json_builder_begin_object (b);
    af_json_str (b, "name", t->name);
    af_json_shape (b, "shape", &t->shape);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

static void
af_json_bindings (JsonBuilder *b, const char *key, GArray *binds)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (guint i = 0; i < binds->len; i++) {
    AfMilBinding *x = &g_array_index (binds, AfMilBinding, i);
    json_builder_begin_object (b);
    af_json_str (b, "name", x->value->name);
    af_json_str (b, "mil", x->mil);
    af_json_str (b, "dtype", af_mil_dtype_name (x->dtype));
    af_json_shape (b, "shape", &x->shape);
    af_json_shape (b, "padded_shape", &x->padded);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

static void
af_json_names (JsonBuilder *b, const char *key, GPtrArray *values)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (guint i = 0; i < values->len; i++)
    json_builder_add_string_value (b, ((AfTensor *) g_ptr_array_index (values, i))->name);
  json_builder_end_array (b);
}

static void
af_json_host (JsonBuilder *b, const AfAneSegment *s)
{
  const AfNode *n = g_ptr_array_index (s->nodes, 0);
  json_builder_begin_object (b);
  af_json_str (b, "kind", "host");
  af_json_str (b, "op", af_op_info[n->op].name);
  af_json_str (b, "node", n->name);
  af_json_str (b, "reason", s->reason);
  af_json_names (b, "inputs", s->inputs);
  af_json_names (b, "outputs", s->outputs);
  json_builder_end_object (b);
}

/* Writes region @dir_name's model.mil and weights/weight.bin under @dir. */
static gboolean
af_write_region (const char *dir, const char *dir_name, const AfMilProgram *p, GError **error)
{
  g_autofree char *rdir = g_build_filename (dir, dir_name, NULL);
  g_autofree char *wdir = g_build_filename (rdir, "weights", NULL);
  if (g_mkdir_with_parents (wdir, 0755) != 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: cannot create the directory", wdir);
    return FALSE;
  }
  g_autofree char *text = af_mil_print (p);
  g_autofree char *mil = g_build_filename (rdir, "model.mil", NULL);
  g_autofree char *bin = g_build_filename (wdir, "weight.bin", NULL);
  GError *e = NULL;
  if (!g_file_set_contents (mil, text, -1, &e)) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: %s", mil, e->message);
    g_error_free (e);
    return FALSE;
  }
  return af_ane_blob_save (p->blob, bin, error);
}

/* Lowers program segment @s, writes it under @dir (NULL: nowhere) and adds
 * its plan.json entry. */
static gboolean
af_export_program (JsonBuilder *b, AfGraph *g, const AfAneSegment *s, guint region, AfAneDialect d,
                   const char *dir, GError **error)
{
  GArray *in = g_array_new (FALSE, TRUE, sizeof (AfMilBinding));
  GArray *out = g_array_new (FALSE, TRUE, sizeof (AfMilBinding));
  g_array_set_clear_func (in, af_mil_binding_clear);
  g_array_set_clear_func (out, af_mil_binding_clear);
  g_autofree char *name = g_strdup_printf ("region-%u", region);
  AfMilProgram *p = af_ane_lower (g, s->nodes, s->inputs, s->outputs, d, in, out, error);
  gboolean ok = p && (!dir || af_write_region (dir, name, p, error));
  if (ok) {
    json_builder_begin_object (b);
    af_json_str (b, "kind", "program");
    af_json_str (b, "dir", name);
    af_json_bindings (b, "inputs", in);
    af_json_bindings (b, "outputs", out);
    json_builder_end_object (b);
  }
  af_mil_program_free (p);
  g_array_unref (in);
  g_array_unref (out);
  return ok;
}

/* The plan's JSON text; with @dir, also every region's files. */
static char *
af_ane_build (AfGraph *g, AfAneDialect d, const char *dir, GError **error)
{
  AfAnePartition *part = af_ane_partition (g, error);
  if (!part)
    return NULL;
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  af_json_str (b, "format", "aneforge-ane-plan");
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  af_json_str (b, "dialect", af_ane_dialect_name (d));
  af_json_graph_io (b, g);
  json_builder_set_member_name (b, "segments");
  json_builder_begin_array (b);
  gboolean ok = TRUE;
  guint region = 0;
  for (guint k = 0; k < part->segments->len && ok; k++) {
    const AfAneSegment *s = g_ptr_array_index (part->segments, k);
    if (s->kind == AF_ANE_SEGMENT_HOST)
      af_json_host (b, s);
    else
      ok = af_export_program (b, g, s, region++, d, dir, error);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  char *text = NULL;
  if (ok) {
    JsonGenerator *gen = json_generator_new ();
    JsonNode *root = json_builder_get_root (b);
    json_generator_set_pretty (gen, TRUE);
    json_generator_set_indent (gen, 2);
    json_generator_set_root (gen, root);
    char *body = json_generator_to_data (gen, NULL);
    text = g_strconcat (body, "\n", NULL);
    g_free (body);
    json_node_unref (root);
    g_object_unref (gen);
  }
  g_object_unref (b);
  af_ane_partition_free (part);
  return text;
}

char *
af_ane_plan_json (AfGraph *g, AfAneDialect d, GError **error)
{
  return af_ane_build (g, d, NULL, error);
}

gboolean
af_ane_export (AfGraph *g, const char *dir, AfAneDialect d, GError **error)
{
  if (g_mkdir_with_parents (dir, 0755) != 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: cannot create the directory", dir);
    return FALSE;
  }
  g_autofree char *text = af_ane_build (g, d, dir, error);
  if (!text)
    return FALSE;
  g_autofree char *path = g_build_filename (dir, "plan.json", NULL);
  GError *e = NULL;
  if (!g_file_set_contents (path, text, -1, &e)) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: %s", path, e->message);
    g_error_free (e);
    return FALSE;
  }
  return TRUE;
}

char *
af_ane_inspect (AfGraph *g, GError **error)
{
  AfAnePartition *part = af_ane_partition (g, error);
  if (!part)
    return NULL;
  char *text = af_ane_partition_describe (part);
  af_ane_partition_free (part);
  return text;
}

/* ------------------------------------------------ the public entry points */

static gboolean
public_dialect (const char *dialect, AfAneDialect *d, GError **error)
{
  if (af_ane_dialect_parse (dialect ? dialect : "ios18", d))
    return TRUE;
  g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "unknown ANE dialect \"%s\" (ios18 or ios16)",
               dialect);
  return FALSE;
}

gboolean
af_graph_export_ane (AfGraph *g, const char *dir, const char *dialect, GError **error)
{
  AfAneDialect d;
  return public_dialect (dialect, &d, error) && af_ane_export (g, dir, d, error);
}

gboolean
af_graph_export_coreml (AfGraph *g, const char *path, const char *dialect, GError **error)
{
  AfAneDialect d;
  return public_dialect (dialect, &d, error) && af_ane_export_coreml (g, path, d, error);
}

char *
af_graph_describe_ane (AfGraph *g, GError **error)
{
  return af_ane_inspect (g, error);
}
