/* driver.c — the ONNX importer's driver: parses the ModelProto (proto.c),
 * binds the initializers and graph inputs, maps the nodes through the op
 * tables of the ops-*.c families, declares the graph outputs; plus the
 * TensorProto parser the conformance runner uses (import/onnx.h). */
#include "import/onnx/onnx-imp.h"
#include "import/onnx.h"

#include <string.h>

/* The "NAME=DxDxD" entry of opts.input_shapes for @name, or NULL. */
static const char *
input_shape_spec (Imp *im, const char *name)
{
  for (const char *const *p = im->opts.input_shapes; p && *p; p++) {
    const char *eq = strrchr (*p, '=');
    if (eq && (gsize) (eq - *p) == strlen (name) && strncmp (*p, name, eq - *p) == 0)
      return eq + 1;
  }
  return NULL;
}

/* The shape of graph input @i (@v) into @s: its fixed dims, its symbolic
 * ones from --input-shape (opts.input_shapes), else a symbolic batch dim 1.
 * A given shape must have the input's rank and agree with its fixed dims. */
static gboolean
input_shape (Imp *im, guint i, const PbValueInfo *v, AfShape *s, GError **error)
{
  const char *spec = input_shape_spec (im, v->name);
  gint64 want[AF_MAX_RANK];
  int n = 0;
  if (spec) {
    char **parts = g_strsplit_set (spec, "x,", -1);
    gboolean ok = TRUE;
    for (char **q = parts; *q && ok; q++) {
      char *end;
      guint64 d = g_ascii_strtoull (*q, &end, 10);
      ok = **q && !*end && d >= 1 && d <= AF_MAX_DIM && n < AF_MAX_RANK;
      if (ok)
        want[n++] = (gint64) d;
    }
    g_strfreev (parts);
    if (!ok || n == 0)
      return af__ox_fail (im, error, AF_ERROR_INVALID,
                          "--input-shape \"%s=%s\": expected dims 1 to %" G_GINT64_FORMAT
                          " separated by 'x', at most %d of them",
                          v->name, spec, (gint64) AF_MAX_DIM, AF_MAX_RANK);
    if (n != v->rank)
      return af__ox_fail (im, error, AF_ERROR_SHAPE,
                          "graph input %u \"%s\" has rank %d; --input-shape \"%s\" gives %d dims",
                          i, v->name, v->rank, spec, n);
  }
  for (int k = 0; k < v->rank; k++) {
    gint64 d = v->dims[k];
    gboolean symbolic = v->symbolic[k] || d == 0;
    if (spec && !symbolic && d != want[k])
      return af__ox_fail (im, error, AF_ERROR_SHAPE,
                          "graph input %u \"%s\": dim %d is %" G_GINT64_FORMAT
                          " in the model; --input-shape \"%s\" gives %" G_GINT64_FORMAT,
                          i, v->name, k, d, spec, want[k]);
    if (spec)
      d = want[k];
    else if (symbolic) {
      if (k != 0)
        return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                            "graph input %u \"%s\": dim %d is symbolic; only the batch dim may "
                            "be (fix it with --input-shape %s=...)",
                            i, v->name, k, v->name);
      d = 1;
    }
    if (d < 1 || d > AF_MAX_DIM || af__shape_numel (s) > AF_MAX_NUMEL / d)
      return af__ox_fail (im, error, AF_ERROR_LIMIT,
                          "graph input %u \"%s\": dim %d = %" G_GINT64_FORMAT " is out of range", i,
                          v->name, k, d);
    s->d[k] = d;
    s->rank = v->rank;
  }
  return TRUE;
}

static gboolean
imp_inputs (Imp *im, GError **error)
{
  GHashTable *inits = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean ok = FALSE, first = TRUE;
  for (guint i = 0; i < im->m.inits->len; i++) {
    PbTensor *t = g_ptr_array_index (im->m.inits, i);
    if (!t->name || !*t->name) {
      af__ox_fail (im, error, AF_ERROR_INVALID, "initializer %u has no name", i);
      goto out;
    }
    Const *c = af__ox_tensor_const (im, t, t->name, error);
    if (!c) {
      g_prefix_error (error, "initializer %u: ", i);
      goto out;
    }
    af__ox_bind_const (im, t->name, c);
    g_hash_table_add (inits, t->name);
  }
  /* every --input-shape names a graph input */
  for (const char *const *p = im->opts.input_shapes; p && *p; p++) {
    const char *eq = strrchr (*p, '=');
    gsize len = eq ? (gsize) (eq - *p) : strlen (*p);
    gboolean found = FALSE;
    for (guint i = 0; i < im->m.inputs->len && !found; i++) {
      PbValueInfo *v = g_ptr_array_index (im->m.inputs, i);
      found = eq && strlen (v->name) == len && strncmp (v->name, *p, len) == 0 &&
              !g_hash_table_contains (inits, v->name);
    }
    if (!eq) {
      af__ox_fail (im, error, AF_ERROR_INVALID, "--input-shape \"%s\": expected NAME=DxDx...", *p);
      goto out;
    }
    if (!found) {
      af__ox_fail (im, error, AF_ERROR_INVALID,
                   "--input-shape \"%s\": the graph has no input named \"%.*s\"", *p, (int) len,
                   *p);
      goto out;
    }
  }
  for (guint i = 0; i < im->m.inputs->len; i++) {
    PbValueInfo *v = g_ptr_array_index (im->m.inputs, i);
    if (g_hash_table_contains (inits, v->name))
      continue;
    if (!*v->name) {
      af__ox_fail (im, error, AF_ERROR_INVALID, "graph input %u has no name", i);
      goto out;
    }
    if (v->elem_type != OT_FLOAT && v->elem_type != OT_FLOAT16 && v->elem_type != OT_DOUBLE) {
      af__ox_fail (
          im, error, AF_ERROR_UNSUPPORTED,
          "graph input %u \"%s\": element type %d is not supported (float or float16 only)", i,
          v->name, v->elem_type);
      goto out;
    }
    if (!v->has_shape || v->rank < 1 || v->rank > AF_MAX_RANK) {
      af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                   "graph input %u \"%s\": the shape must be known with rank 1 to %d", i, v->name,
                   AF_MAX_RANK);
      goto out;
    }
    AfShape s = { v->rank };
    if (!input_shape (im, i, v, &s, error))
      goto out;
    char *name = af__ox_unique_name (im, v->name);
    gboolean image = first && im->opts.image;
    first = FALSE;
    if (image && (s.rank != 4 || (s.d[1] != 1 && s.d[1] != 3))) {
      char *str = af__shape_str (&s);
      af__ox_fail (
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
    af__ox_bind_tensor (im, v->name, node->out);
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
    return af__ox_fail (im, error, AF_ERROR_INVALID, "the graph has no outputs");
  for (guint i = 0; i < im->m.outputs->len; i++) {
    PbValueInfo *o = g_ptr_array_index (im->m.outputs, i);
    Val *v = g_hash_table_lookup (im->vals, o->name);
    if (!v)
      return af__ox_fail (im, error, AF_ERROR_INVALID,
                          "graph output %u \"%s\" is not computed by any node", i, o->name);
    if (v->kind == V_PAD)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                          "graph output %u \"%s\" comes from a Pad merged into a window op", i,
                          o->name);
    AfTensor *t = v->t;
    if (v->kind == V_CONST) {
      /* an output that does not depend on the inputs: the constant, passed
       * through a reshape so that a node produces it */
      if (v->c->kind == C_I64)
        for (gint64 k = 0; k < v->c->numel; k++) {
          gint64 x = af__ox_c_get_i64 (v->c, k);
          if (x > 2048 || x < -2048)
            return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                                "graph output %u \"%s\" is an integer constant beyond fp16's "
                                "exact range (%" G_GINT64_FORMAT ")",
                                i, o->name, x);
        }
      AfTensor *c = af__ox_c_tensor (im, v->c, error);
      t = c ? af__ox_emit_reshape (im, c, &c->shape, o->name, error) : NULL;
      if (!t)
        return FALSE;
    }
    af_graph_add_output (im->g, *o->name ? o->name : "output", t);
  }
  if (im->g->error) {
    g_propagate_error (error, g_error_copy (im->g->error));
    return FALSE;
  }
  return TRUE;
}

/* Orders im->m.nodes so that every node comes after the producers of its
 * inputs, as ONNX Runtime does (a file may list them in any order, e.g. an
 * fp16 conversion appending its input Cast last). A depth-first sort that
 * keeps the file order where it is already valid; a cycle is refused. Inputs
 * no node produces (initializers, graph inputs, undefined names) impose no
 * order: the mappers report undefined ones. */
static gboolean
sort_nodes (Imp *im, GError **error)
{
  GPtrArray *nodes = im->m.nodes;
  guint n = nodes->len;
  GHashTable *producer = g_hash_table_new (g_str_hash, g_str_equal); /* name -> index + 1 */
  for (guint i = 0; i < n; i++) {
    PbNode *node = g_ptr_array_index (nodes, i);
    node->index = i;
    for (guint j = 0; j < node->out->len; j++) {
      const char *o = af__ox_out_name (node, j);
      if (o && !g_hash_table_contains (producer, o))
        g_hash_table_insert (producer, (gpointer) o, GUINT_TO_POINTER (i + 1));
    }
  }
  guint8 *state = g_new0 (guint8, n); /* 0 new, 1 on the stack, 2 placed */
  guint *stack = g_new (guint, n), *next_in = g_new0 (guint, n);
  GPtrArray *sorted = g_ptr_array_new_full (n, (GDestroyNotify) af__ox_pb_node_free);
  gboolean ok = TRUE;
  for (guint root = 0; root < n && ok; root++) {
    if (state[root])
      continue;
    guint depth = 0;
    stack[depth++] = root;
    state[root] = 1;
    while (depth && ok) {
      guint k = stack[depth - 1];
      PbNode *node = g_ptr_array_index (nodes, k);
      if (next_in[k] < node->in->len) {
        const char *in = af__ox_in_name (node, next_in[k]++);
        guint p = in ? GPOINTER_TO_UINT (g_hash_table_lookup (producer, in)) : 0;
        if (!p || state[p - 1] == 2)
          continue;
        if (state[p - 1] == 1) {
          g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                       "%s: node %u \"%s\" (%s): input \"%s\" comes from a node that depends on "
                       "this one (the graph has a cycle)",
                       im->file, k, af__ox_node_name (node), node->op, in);
          ok = FALSE;
          break;
        }
        state[p - 1] = 1;
        stack[depth++] = p - 1;
        continue;
      }
      state[k] = 2;
      g_ptr_array_add (sorted, node);
      depth--;
    }
  }
  if (ok) {
    /* the nodes move to @sorted: empty the old array without freeing them */
    g_ptr_array_set_free_func (nodes, NULL);
    g_ptr_array_unref (nodes);
    im->m.nodes = sorted;
  } else {
    g_ptr_array_set_free_func (sorted, NULL);
    g_ptr_array_unref (sorted);
  }
  g_hash_table_unref (producer);
  g_free (state);
  g_free (stack);
  g_free (next_in);
  return ok;
}

static void
imp_count_uses (Imp *im)
{
  for (guint i = 0; i < im->m.nodes->len; i++) {
    PbNode *n = g_ptr_array_index (im->m.nodes, i);
    for (guint j = 0; j < n->in->len; j++) {
      const char *name = af__ox_in_name (n, j);
      if (!name)
        continue;
      g_hash_table_replace (im->uses, (gpointer) name,
                            GUINT_TO_POINTER (af__ox_uses_of (im, name) + 1));
      if (!g_hash_table_contains (im->user, name))
        g_hash_table_insert (im->user, (gpointer) name, GUINT_TO_POINTER (i + 1));
    }
  }
  for (guint i = 0; i < im->m.outputs->len; i++) {
    PbValueInfo *o = g_ptr_array_index (im->m.outputs, i);
    g_hash_table_add (im->is_out, o->name);
    g_hash_table_replace (im->uses, o->name, GUINT_TO_POINTER (af__ox_uses_of (im, o->name) + 1));
  }
}

/* The op families, searched in order for an ONNX op type. */
static const AfOxMapper *const families[] = {
  af__ox_conv_ops,  af__ox_elementwise_ops, af__ox_layout_ops, af__ox_shape_ops,
  af__ox_quant_ops, af__ox_linear_ops,      af__ox_select_ops, af__ox_reduce_ops,
};

/* The mapper of ONNX op @op, or NULL. */
static const AfOxMapper *
mapper_find (const char *op)
{
  for (guint f = 0; f < G_N_ELEMENTS (families); f++)
    for (const AfOxMapper *m = families[f]; m->op; m++)
      if (g_str_equal (m->op, op))
        return m;
  return NULL;
}

static gboolean
imp_nodes (Imp *im, GError **error)
{
  for (guint i = 0; i < im->m.nodes->len; i++) {
    PbNode *n = g_ptr_array_index (im->m.nodes, i);
    im->cur = n;
    im->cur_index = n->index;
    if (n->done)
      continue;
    if (n->domain && *n->domain && !g_str_equal (n->domain, "ai.onnx"))
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "domain \"%s\" is not supported",
                          n->domain);
    const AfOxMapper *m = mapper_find (n->op);
    if (!m)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "op \"%s\" is not supported", n->op);
    if (!OUT0 (n))
      return af__ox_fail (im, error, AF_ERROR_INVALID, "output 0 has no name");
    if (!af__ox_attrs_check_known (im, n, m->attrs, error) || !m->fn (im, n, error))
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
  im.m.nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) af__ox_pb_node_free);
  im.m.inits = g_ptr_array_new_with_free_func ((GDestroyNotify) af__ox_pb_tensor_free);
  im.m.inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) af__ox_pb_value_info_free);
  im.m.outputs = g_ptr_array_new_with_free_func ((GDestroyNotify) af__ox_pb_value_info_free);
  im.vals = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  im.uses = g_hash_table_new (g_str_hash, g_str_equal);
  im.user = g_hash_table_new (g_str_hash, g_str_equal);
  im.is_out = g_hash_table_new (g_str_hash, g_str_equal);
  im.qdq = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  im.consts = g_ptr_array_new_with_free_func ((GDestroyNotify) af__ox_c_free);
  AfGraph *g = NULL;
  GError *local = NULL;

  if (!af__ox_pb_parse_model (data, len, &im.m, &local)) {
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
  if (!sort_nodes (&im, error))
    g_clear_pointer (&g, af_graph_free);
  else
    imp_count_uses (&im);
  if (g && (!imp_inputs (&im, error) || !imp_nodes (&im, error) || !imp_outputs (&im, error)))
    g_clear_pointer (&g, af_graph_free);
out:
  g_hash_table_unref (im.vals);
  g_hash_table_unref (im.uses);
  g_hash_table_unref (im.user);
  g_hash_table_unref (im.is_out);
  g_hash_table_unref (im.qdq);
  g_ptr_array_unref (im.consts);
  af__ox_pb_model_clear (&im.m);
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

gboolean
af__onnx_parse_tensor (const guint8 *data, gsize len, const char *name_for_errors, int *dtype,
                       int *rank, gint64 *dims, gint64 *numel, float **values, char **name,
                       GError **error)
{
  g_return_val_if_fail (data || len == 0, FALSE);
  const char *file = name_for_errors ? name_for_errors : "tensor";
  Imp im = { .file = file };
  im.consts = g_ptr_array_new_with_free_func ((GDestroyNotify) af__ox_c_free);
  PbTensor t = { 0 };
  AfPbReader r;
  GError *local = NULL;
  gboolean ok = FALSE;
  af__pb_init (&r, data ? data : (const guint8 *) "", len);
  if (!af__ox_pb_parse_tensor (&r, &t, &local)) {
    g_set_error (error, AF_ERROR, local->code, "%s: TensorProto: %s", file, local->message);
    g_error_free (local);
    goto out;
  }
  Const *c = af__ox_tensor_const (&im, &t, t.name ? t.name : "", error);
  if (!c)
    goto out;
  *dtype = t.dtype;
  *rank = c->shape.rank;
  for (int i = 0; i < c->shape.rank; i++)
    dims[i] = c->shape.d[i];
  *numel = c->numel;
  *values = af__ox_c_f32 (c);
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
