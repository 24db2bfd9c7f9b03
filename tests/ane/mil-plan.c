/* mil-plan.c — runs an ANE export directory (aneforge export --ane DIR):
 * plan.json's segments in order, each program segment through the MIL
 * interpreter (its inputs zero-padded on the last axis to padded_shape, its
 * outputs sliced back to shape), each host segment (argmax, topk) here,
 * tensors threaded between segments by their graph names. */
#include "mil.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

typedef struct {
  char *name, *mil; /* graph name; the MIL program's name for it */
  MilTensor *shape; /* dtype + unpadded shape (no data) */
  int padded_rank;
  gint64 padded[MIL_MAX_RANK];
} PlanPort;

typedef struct {
  gboolean host;
  char *op, *node;             /* host */
  JsonObject *attrs;           /* host: the segment object (borrowed from the parser) */
  MilProgram *program;         /* program */
  GPtrArray *inputs, *outputs; /* PlanPort* */
} PlanSegment;

struct MilPlan {
  char *dir;
  JsonParser *json;
  GPtrArray *inputs, *outputs; /* PlanPort* (graph I/O) */
  GPtrArray *segments;         /* PlanSegment* */
  MilHostFn host;
  gpointer host_data;
};

static void
port_free (PlanPort *p)
{
  g_free (p->name);
  g_free (p->mil);
  mil_tensor_free (p->shape);
  g_free (p);
}

static void
segment_free (PlanSegment *s)
{
  g_free (s->op);
  g_free (s->node);
  mil_program_free (s->program);
  g_ptr_array_unref (s->inputs);
  g_ptr_array_unref (s->outputs);
  g_free (s);
}

void
mil_plan_free (MilPlan *plan)
{
  if (!plan)
    return;
  g_free (plan->dir);
  g_ptr_array_unref (plan->inputs);
  g_ptr_array_unref (plan->outputs);
  g_ptr_array_unref (plan->segments);
  g_clear_object (&plan->json);
  g_free (plan);
}

/* A JSON array of dimensions into @dims; FALSE unless every one is a
 * non-negative integer. */
static gboolean
read_dims (JsonNode *n, int *rank, gint64 *dims)
{
  if (!n || !JSON_NODE_HOLDS_ARRAY (n))
    return FALSE;
  JsonArray *a = json_node_get_array (n);
  if (json_array_get_length (a) > MIL_MAX_RANK)
    return FALSE;
  *rank = (int) json_array_get_length (a);
  for (int i = 0; i < *rank; i++) {
    JsonNode *e = json_array_get_element (a, (guint) i);
    if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_INT64 ||
        json_node_get_int (e) < 0 || json_node_get_int (e) > G_MAXINT32)
      return FALSE;
    dims[i] = json_node_get_int (e);
  }
  return TRUE;
}

static const char *
str_member (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
             ? json_node_get_string (n)
             : NULL;
}

/* One {"name", "mil"?, "dtype"?, "shape", "padded_shape"?} entry, or (a
 * host segment's port) a plain name with no shape. */
static PlanPort *
read_port (JsonNode *n, const char *where, GError **error)
{
  if (n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING) {
    PlanPort *p = g_new0 (PlanPort, 1);
    p->name = g_strdup (json_node_get_string (n));
    p->mil = g_strdup (p->name);
    return p;
  }
  JsonObject *o = n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
  const char *name = o ? str_member (o, "name") : NULL, *dt = o ? str_member (o, "dtype") : NULL;
  MilDtype d = MIL_FP16;
  int rank;
  gint64 dims[MIL_MAX_RANK];
  if (!name || !read_dims (json_object_get_member (o, "shape"), &rank, dims) ||
      (dt && (!mil_dtype_from_name (dt, &d) || (d != MIL_FP16 && d != MIL_UINT8)))) {
    g_set_error (error, MIL_ERROR, 0,
                 "plan.json: %s: needs a name, a shape and dtype uint8 or fp16", where);
    return NULL;
  }
  PlanPort *p = g_new0 (PlanPort, 1);
  p->name = g_strdup (name);
  p->mil = g_strdup (str_member (o, "mil") ? str_member (o, "mil") : name);
  p->shape = mil_tensor_new (d, rank, dims);
  p->padded_rank = rank;
  memcpy (p->padded, dims, sizeof dims);
  JsonNode *pn = json_object_get_member (o, "padded_shape");
  if (pn) {
    gboolean ok = read_dims (pn, &p->padded_rank, p->padded) && p->padded_rank == rank;
    for (int i = 0; ok && i < rank; i++)
      ok = i == rank - 1 ? p->padded[i] >= dims[i] : p->padded[i] == dims[i];
    if (!ok) {
      g_set_error (error, MIL_ERROR, 0,
                   "plan.json: %s \"%s\": padded_shape must equal shape but for a longer last axis",
                   where, name);
      port_free (p);
      return NULL;
    }
  }
  return p;
}

static gboolean
read_ports (JsonObject *o, const char *key, const char *where, GPtrArray *out, GError **error)
{
  JsonNode *n = json_object_get_member (o, key);
  if (!n || !JSON_NODE_HOLDS_ARRAY (n)) {
    g_set_error (error, MIL_ERROR, 0, "plan.json: %s: \"%s\" must be an array", where, key);
    return FALSE;
  }
  JsonArray *a = json_node_get_array (n);
  for (guint i = 0; i < json_array_get_length (a); i++) {
    char *w = g_strdup_printf ("%s %s[%u]", where, key, i);
    PlanPort *p = read_port (json_array_get_element (a, i), w, error);
    g_free (w);
    if (!p)
      return FALSE;
    g_ptr_array_add (out, p);
  }
  return TRUE;
}

static PlanSegment *
read_segment (MilPlan *plan, JsonNode *n, guint k, GError **error)
{
  char *where = g_strdup_printf ("segments[%u]", k);
  JsonObject *o = n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
  const char *kind = o ? str_member (o, "kind") : NULL;
  PlanSegment *s = g_new0 (PlanSegment, 1);
  s->inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) port_free);
  s->outputs = g_ptr_array_new_with_free_func ((GDestroyNotify) port_free);
  gboolean ok = kind && read_ports (o, "inputs", where, s->inputs, error) &&
                read_ports (o, "outputs", where, s->outputs, error);
  for (guint i = 0; ok && !strcmp (kind, "program") && i < s->inputs->len + s->outputs->len; i++) {
    PlanPort *p = i < s->inputs->len ? s->inputs->pdata[i] : s->outputs->pdata[i - s->inputs->len];
    if (!p->shape) {
      g_set_error (error, MIL_ERROR, 0, "plan.json: %s: program port \"%s\" needs a shape", where,
                   p->name);
      ok = FALSE;
    }
  }
  if (ok && !strcmp (kind, "program")) {
    const char *dir = str_member (o, "dir");
    if (!dir || strstr (dir, "..") || g_path_is_absolute (dir)) {
      g_set_error (error, MIL_ERROR, 0, "plan.json: %s: \"dir\" must be a relative directory",
                   where);
      ok = FALSE;
    } else {
      char *full = g_build_filename (plan->dir, dir, NULL);
      s->program = mil_load (full, error);
      g_free (full);
      ok = s->program != NULL;
    }
  } else if (ok && !strcmp (kind, "host")) {
    s->host = TRUE;
    s->op = g_strdup (str_member (o, "op"));
    s->node = g_strdup (str_member (o, "node"));
    if (!s->op) {
      g_set_error (error, MIL_ERROR, 0, "plan.json: %s: a host segment needs \"op\"", where);
      ok = FALSE;
    }
  } else if (ok) {
    g_set_error (error, MIL_ERROR, 0, "plan.json: %s: kind \"%s\" is neither program nor host",
                 where, kind);
    ok = FALSE;
  } else if (!kind && !(error && *error))
    g_set_error (error, MIL_ERROR, 0, "plan.json: %s: needs a \"kind\"", where);
  g_free (where);
  if (!ok)
    g_clear_pointer (&s, segment_free);
  return s;
}

MilPlan *
mil_plan_load (const char *dir, GError **error)
{
  MilPlan *plan = g_new0 (MilPlan, 1);
  plan->dir = g_strdup (dir);
  plan->json = json_parser_new ();
  plan->inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) port_free);
  plan->outputs = g_ptr_array_new_with_free_func ((GDestroyNotify) port_free);
  plan->segments = g_ptr_array_new_with_free_func ((GDestroyNotify) segment_free);
  char *path = g_build_filename (dir, "plan.json", NULL);
  gboolean ok = json_parser_load_from_file (plan->json, path, error);
  g_free (path);
  JsonNode *root = ok ? json_parser_get_root (plan->json) : NULL;
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  if (ok && (!o || g_strcmp0 (str_member (o, "format"), "aneforge-ane-plan") ||
             json_object_get_int_member_with_default (o, "version", 0) != 1)) {
    g_set_error (error, MIL_ERROR, 0, "plan.json: not an aneforge-ane-plan version 1");
    ok = FALSE;
  }
  ok = ok && read_ports (o, "inputs", "plan", plan->inputs, error) &&
       read_ports (o, "outputs", "plan", plan->outputs, error);
  JsonNode *segs = ok ? json_object_get_member (o, "segments") : NULL;
  if (ok && (!segs || !JSON_NODE_HOLDS_ARRAY (segs))) {
    g_set_error (error, MIL_ERROR, 0, "plan.json: \"segments\" must be an array");
    ok = FALSE;
  }
  for (guint k = 0; ok && k < json_array_get_length (json_node_get_array (segs)); k++) {
    PlanSegment *s =
        read_segment (plan, json_array_get_element (json_node_get_array (segs), k), k, error);
    ok = s != NULL;
    if (s)
      g_ptr_array_add (plan->segments, s);
  }
  if (!ok)
    g_clear_pointer (&plan, mil_plan_free);
  return plan;
}

guint
mil_plan_n_inputs (const MilPlan *plan)
{
  return plan->inputs->len;
}

guint
mil_plan_n_outputs (const MilPlan *plan)
{
  return plan->outputs->len;
}

const MilTensor *
mil_plan_input (const MilPlan *plan, guint i, const char **name)
{
  PlanPort *p = plan->inputs->pdata[i];
  *name = p->name;
  return p->shape;
}

const MilTensor *
mil_plan_output (const MilPlan *plan, guint i, const char **name)
{
  PlanPort *p = plan->outputs->pdata[i];
  *name = p->name;
  return p->shape;
}

/* The tensor @t (whose shape must be @p's) with its last axis zero-padded
 * to (@pad TRUE) or sliced from (@pad FALSE) the padded shape. */
static MilTensor *
repad (const MilTensor *t, const PlanPort *p, gboolean pad)
{
  const gint64 *to = pad ? p->padded : p->shape->shape;
  MilTensor *r = mil_tensor_new (t->dtype, p->shape->rank, to);
  int last = p->shape->rank - 1;
  gint64 from_w = last >= 0 ? t->shape[last] : 1, to_w = last >= 0 ? to[last] : 1;
  gsize rows = to_w ? r->n / (gsize) to_w : 0;
  for (gsize i = 0; i < rows; i++)
    memcpy (r->v + i * to_w, t->v + i * from_w, (gsize) MIN (from_w, to_w) * sizeof (double));
  return r;
}

static gboolean
same_shape (const MilTensor *a, int rank, const gint64 *dims)
{
  if (a->rank != rank)
    return FALSE;
  for (int i = 0; i < rank; i++)
    if (a->shape[i] != dims[i])
      return FALSE;
  return TRUE;
}

/* The value of graph tensor @p in @env, checked against its declared
 * dtype and shape. */
static const MilTensor *
lookup (GHashTable *env, const PlanPort *p, const char *where, GError **error)
{
  const MilTensor *t = g_hash_table_lookup (env, p->name);
  if (!t)
    g_set_error (error, MIL_ERROR, 0, "%s: no tensor \"%s\" yet", where, p->name);
  else if (p->shape &&
           (t->dtype != p->shape->dtype || !same_shape (t, p->shape->rank, p->shape->shape))) {
    char *a = mil_shape_str (t->rank, t->shape),
         *b = mil_shape_str (p->shape->rank, p->shape->shape);
    g_set_error (error, MIL_ERROR, 0, "%s: \"%s\" is %s %s, the plan says %s %s", where, p->name,
                 mil_dtype_name (t->dtype), a, mil_dtype_name (p->shape->dtype), b);
    g_free (a);
    g_free (b);
    t = NULL;
  }
  return t;
}

static gboolean
run_program (PlanSegment *s, GHashTable *env, GError **error)
{
  GHashTable *in =
      g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) mil_tensor_free);
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < s->inputs->len; i++) {
    PlanPort *p = s->inputs->pdata[i];
    const MilTensor *t = g_hash_table_lookup (env, p->name);
    MilTensor *conv = NULL;
    if (t && t->dtype == MIL_UINT8 && p->shape->dtype == MIL_FP16) {
      /* an image the program takes as fp16 (ios16 export): the host widens
       * the bytes, exactly */
      conv = mil_tensor_copy (t);
      conv->dtype = MIL_FP16;
      g_hash_table_insert (env, g_strdup (p->name), conv);
    }
    t = lookup (env, p, "program input", error);
    ok = t != NULL;
    if (ok)
      g_hash_table_insert (in, p->mil, repad (t, p, TRUE));
  }
  GHashTable *out = ok ? mil_run (s->program, "main", in, error) : NULL;
  g_hash_table_unref (in);
  for (guint i = 0; out && i < s->outputs->len; i++) {
    PlanPort *p = s->outputs->pdata[i];
    const MilTensor *t = g_hash_table_lookup (out, p->mil);
    if (!t || t->dtype != p->shape->dtype || !same_shape (t, p->padded_rank, p->padded)) {
      g_set_error (error, MIL_ERROR, 0,
                   "program output \"%s\" (\"%s\") is missing or not the plan's padded %s tensor",
                   p->name, p->mil, mil_dtype_name (p->shape->dtype));
      g_clear_pointer (&out, g_hash_table_unref);
      break;
    }
    g_hash_table_insert (env, g_strdup (p->name), repad (t, p, FALSE));
  }
  if (out)
    g_hash_table_unref (out);
  return out != NULL;
}

void
mil_plan_set_host (MilPlan *plan, MilHostFn fn, gpointer data)
{
  plan->host = fn;
  plan->host_data = data;
}

/* A host segment: plan.json names the op and the graph node but carries no
 * attributes, so the node is run by the host callback (the model's own
 * node); its one output is stored under the segment's output name. */
static gboolean
run_host (MilPlan *plan, PlanSegment *s, GHashTable *env, GError **error)
{
  if (!plan->host) {
    g_set_error (error, MIL_ERROR, 0,
                 "host %s \"%s\": plan.json gives no attributes; running it needs the model", s->op,
                 s->node ? s->node : "?");
    return FALSE;
  }
  if (!s->node || s->outputs->len != 1) {
    g_set_error (error, MIL_ERROR, 0, "host %s: needs a node and one output", s->op);
    return FALSE;
  }
  for (guint i = 0; i < s->inputs->len; i++)
    if (!lookup (env, s->inputs->pdata[i], "host input", error))
      return FALSE;
  MilTensor *t = plan->host (plan->host_data, s->op, s->node, env, error);
  if (!t)
    return FALSE;
  g_hash_table_insert (env, g_strdup (((PlanPort *) s->outputs->pdata[0])->name), t);
  return TRUE;
}

GHashTable *
mil_plan_run (MilPlan *plan, GHashTable *inputs, GError **error)
{
  GHashTable *env =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) mil_tensor_free);
  GHashTable *out = NULL;
  for (guint i = 0; i < plan->inputs->len; i++) {
    PlanPort *p = plan->inputs->pdata[i];
    const MilTensor *t = lookup (inputs, p, "plan input", error);
    if (!t)
      goto done;
    g_hash_table_insert (env, g_strdup (p->name), mil_tensor_copy (t));
  }
  for (guint k = 0; k < plan->segments->len; k++) {
    PlanSegment *s = plan->segments->pdata[k];
    if (!(s->host ? run_host (plan, s, env, error) : run_program (s, env, error))) {
      g_prefix_error (error, "%s: segments[%u]: ", plan->dir, k);
      goto done;
    }
  }
  out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) mil_tensor_free);
  for (guint i = 0; i < plan->outputs->len; i++) {
    PlanPort *p = plan->outputs->pdata[i];
    const MilTensor *t = g_hash_table_lookup (env, p->name);
    if (!t || t->n != p->shape->n) {
      g_set_error (error, MIL_ERROR, 0, "%s: output \"%s\" was not produced with its shape",
                   plan->dir, p->name);
      g_clear_pointer (&out, g_hash_table_unref);
      goto done;
    }
    g_hash_table_insert (out, g_strdup (p->name), mil_tensor_copy (t));
  }
done:
  g_hash_table_unref (env);
  return out;
}
