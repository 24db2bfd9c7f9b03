/* mil-run.c — runs an ANE export directory through the independent MIL
 * interpreter:
 *
 *   mil-run DIR [--model MODEL] [--input NAME=FILE]... --output-dir OUT
 *
 * MODEL (the exported model) runs the plan's host segments: plan.json names
 * their nodes but gives no attributes (mil-host.c).
 * FILE holds the input's raw values in its graph (unpadded) shape: bytes
 * for a uint8 input, little-endian fp16 for an fp16 one. Each output is
 * written to OUT/NAME.f16 as little-endian fp16 ('/' in NAME becomes '_'),
 * the same values `aneforge run --save-outputs` stores. */
#include "mil-host.h"

#include <stdio.h>
#include <string.h>

/* Reads @file into a tensor shaped like @like. */
static MilTensor *
read_input (const char *name, const MilTensor *like, const char *file, GError **error)
{
  char *data;
  gsize len, esize = like->dtype == MIL_UINT8 ? 1 : 2;
  if (!g_file_get_contents (file, &data, &len, error))
    return NULL;
  if (len != like->n * esize) {
    g_set_error (error, MIL_ERROR, 0, "%s: %zu bytes, input \"%s\" needs %zu (%s)", file, len, name,
                 like->n * esize, mil_dtype_name (like->dtype));
    g_free (data);
    return NULL;
  }
  MilTensor *t = mil_tensor_new (like->dtype, like->rank, like->shape);
  for (gsize i = 0; i < t->n; i++)
    t->v[i] =
        esize == 1
            ? (guint8) data[i]
            : mil_half_to_float ((guint16) ((guint8) data[2 * i] | (guint8) data[2 * i + 1] << 8));
  g_free (data);
  return t;
}

static gboolean
write_output (const char *dir, const char *name, const MilTensor *t, GError **error)
{
  char *safe = g_strdelimit (g_strdup (name), "/", '_');
  char *base = g_strconcat (safe, ".f16", NULL);
  char *path = g_build_filename (dir, base, NULL);
  guint8 *buf = g_new (guint8, 2 * MAX (t->n, 1));
  for (gsize i = 0; i < t->n; i++) {
    guint16 h = mil_float_to_half ((float) t->v[i]);
    buf[2 * i] = (guint8) h;
    buf[2 * i + 1] = (guint8) (h >> 8);
  }
  gboolean ok = g_file_set_contents (path, (const char *) buf, (gssize) (2 * t->n), error);
  g_free (buf);
  g_free (path);
  g_free (base);
  g_free (safe);
  return ok;
}

static int
usage (void)
{
  fprintf (stderr, "usage: mil-run DIR [--model MODEL] [--input NAME=FILE]... --output-dir OUT\n");
  return 2;
}

int
main (int argc, char **argv)
{
  const char *dir = NULL, *out_dir = NULL, *model = NULL;
  GPtrArray *specs = g_ptr_array_new ();
  for (int i = 1; i < argc; i++) {
    if (!strcmp (argv[i], "--input") && i + 1 < argc)
      g_ptr_array_add (specs, argv[++i]);
    else if (!strcmp (argv[i], "--model") && i + 1 < argc)
      model = argv[++i];
    else if (!strcmp (argv[i], "--output-dir") && i + 1 < argc)
      out_dir = argv[++i];
    else if (argv[i][0] != '-' && !dir)
      dir = argv[i];
    else
      return usage ();
  }
  if (!dir || !out_dir)
    return usage ();
  GError *error = NULL;
  MilPlan *plan = mil_plan_load (dir, &error);
  MilHost *host = plan && model ? mil_host_new (model, &error) : NULL;
  if (host)
    mil_plan_set_host (plan, mil_host_run, host);
  GHashTable *in =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) mil_tensor_free);
  GHashTable *out = NULL;
  for (guint i = 0; plan && i < specs->len && !error; i++) {
    const char *spec = specs->pdata[i], *eq = strchr (spec, '=');
    char *name = eq ? g_strndup (spec, (gsize) (eq - spec)) : g_strdup (spec);
    const MilTensor *like = NULL;
    for (guint k = 0; k < mil_plan_n_inputs (plan) && !like; k++) {
      const char *n;
      const MilTensor *t = mil_plan_input (plan, k, &n);
      like = strcmp (n, name) == 0 ? t : NULL;
    }
    MilTensor *t = NULL;
    if (!eq || !like)
      g_set_error (&error, MIL_ERROR, 0, "--input %s: not NAME=FILE with NAME an input of the plan",
                   spec);
    else if ((t = read_input (name, like, eq + 1, &error)))
      g_hash_table_insert (in, g_strdup (name), t);
    g_free (name);
  }
  if (plan && !error)
    out = mil_plan_run (plan, in, &error);
  if (out && g_mkdir_with_parents (out_dir, 0755) != 0)
    g_set_error (&error, MIL_ERROR, 0, "cannot create %s", out_dir);
  GHashTableIter it;
  gpointer k, v;
  if (out && !error) {
    g_hash_table_iter_init (&it, out);
    while (!error && g_hash_table_iter_next (&it, &k, &v))
      write_output (out_dir, k, v, &error);
  }
  int rc = 0;
  if (error) {
    fprintf (stderr, "mil-run: %s\n", error->message);
    g_error_free (error);
    rc = 1;
  }
  if (out)
    g_hash_table_unref (out);
  g_hash_table_unref (in);
  g_ptr_array_unref (specs);
  mil_plan_free (plan);
  mil_host_free (host);
  return rc;
}
