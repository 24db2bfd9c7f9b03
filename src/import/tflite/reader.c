/* reader.c — TensorFlow Lite (.tflite) -> AfGraph: the file walk and the
 * entry points. See tflite.h for the layout scheme and tflite-internal.h
 * for the files. Field ids follow TensorFlow's schema.fbs (not committed). */
#include "tflite-internal.h"

#include <math.h>
#include <string.h>

static const char *
tfl_op_name (gint32 code)
{
  switch (code) {
#define X(name, c, opt)                                                                            \
  case c:                                                                                          \
    return #name;
    TFL_OPS (X)
#undef X
  case TFL_OP_CUSTOM:
    return "CUSTOM";
  case TFL_OP_CONV_T_BIAS:
    return "Convolution2DTransposeBias";
  default:
    return NULL;
  }
}

static guint8
tfl_op_options_type (gint32 code)
{
  switch (code) {
#define X(name, c, opt)                                                                            \
  case c:                                                                                          \
    return opt;
    TFL_OPS (X)
#undef X
  default:
    return 0;
  }
}

/* ------------------------------------------------------------ file walk */

static gboolean
tfl_read_codes (AfTfl *c, const AfFbTable *model, GError **error)
{
  AfFbVector v;
  if (!af_fb_vector (model, MODEL_OPERATOR_CODES, 4, &v, error))
    return FALSE;
  c->n_codes = v.n;
  c->codes = g_new0 (gint32, MAX (v.n, 1));
  for (guint32 i = 0; i < v.n; i++) {
    AfFbTable oc;
    gint8 dep;
    gint32 code;
    if (!af_fb_vector_table (&v, i, &oc, error) ||
        !af_fb_i8 (&oc, CODE_DEPRECATED, 0, &dep, error) ||
        !af_fb_i32 (&oc, CODE_BUILTIN, 0, &code, error))
      return FALSE;
    c->codes[i] = MAX ((gint32) dep, code);
    if (c->codes[i] == TFL_OP_CUSTOM) {
      const char *s;
      gsize len;
      if (!af_fb_string (&oc, CODE_CUSTOM, &s, &len, error))
        return FALSE;
      static const char conv_t_bias[] = "Convolution2DTransposeBias";
      if (s && len == strlen (conv_t_bias) && memcmp (s, conv_t_bias, len) == 0) {
        c->codes[i] = TFL_OP_CONV_T_BIAS;
        continue;
      }
      return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                           "operator_codes[%u]: custom operator \"%.*s\" is not supported", i,
                           (int) MIN (len, 64), s ? s : "");
    }
  }
  return TRUE;
}

/* Finds the bytes of buffer @index (NULL if empty). */
static gboolean
tfl_buffer (AfTfl *c, guint32 index, guint ti, const guint8 **data, gsize *len, GError **error)
{
  *data = NULL;
  *len = 0;
  if (index == 0)
    return TRUE; /* buffer 0 is the empty sentinel */
  if (index >= c->buffers.n)
    return af__tfl_fail (c, error, AF_ERROR_INVALID,
                         "tensors[%u]: field \"buffer\": %u is out of range (%u buffers)", ti,
                         index, c->buffers.n);
  AfFbTable b;
  AfFbVector v;
  guint64 off, size;
  if (!af_fb_vector_table (&c->buffers, index, &b, error) ||
      !af_fb_vector (&b, BUFFER_DATA, 1, &v, error) ||
      !af_fb_u64 (&b, BUFFER_OFFSET, 0, &off, error) ||
      !af_fb_u64 (&b, BUFFER_SIZE, 0, &size, error))
    return FALSE;
  if (v.n) {
    *data = af_fb_vector_bytes (&v);
    *len = v.n;
  } else if (off > 1) {
    if (off > c->fb.len || size > c->fb.len - off)
      return af__tfl_fail (c, error, AF_ERROR_INVALID,
                           "buffers[%u]: offset %" G_GUINT64_FORMAT " + size %" G_GUINT64_FORMAT
                           " runs past the file",
                           index, off, size);
    *data = c->fb.data + off;
    *len = size;
  }
  return TRUE;
}

static gboolean
tfl_read_tensor (AfTfl *c, const AfFbVector *tensors, guint i, GError **error)
{
  AfTflTensor *t = &c->t[i];
  AfFbTable tt;
  AfFbVector shape;
  const char *name;
  gsize name_len;
  guint32 buffer;
  if (!af_fb_vector_table (tensors, i, &tt, error) ||
      !af_fb_vector (&tt, TENSOR_SHAPE, 4, &shape, error) ||
      !af_fb_i8 (&tt, TENSOR_TYPE, 0, &t->type, error) ||
      !af_fb_u32 (&tt, TENSOR_BUFFER, 0, &buffer, error) ||
      !af_fb_string (&tt, TENSOR_NAME, &name, &name_len, error) ||
      !af_fb_table (&tt, TENSOR_QUANT, &t->quant, &t->has_quant, error))
    return FALSE;
  t->name = name ? g_strndup (name, MIN (name_len, 256)) : g_strdup_printf ("tensor%u", i);
  t->sparse = af_fb_has (&tt, TENSOR_SPARSITY);
  if (shape.n > AF_MAX_RANK)
    return af__tfl_fail (c, error, AF_ERROR_LIMIT,
                         "tensors[%u] \"%s\": field \"shape\": rank %u > %d", i, t->name, shape.n,
                         AF_MAX_RANK);
  t->rank = (int) shape.n;
  gint64 numel = 1;
  for (int k = 0; k < t->rank; k++) {
    t->d[k] = af_fb_vector_i32 (&shape, k);
    if (t->d[k] < 1 || t->d[k] > AF_MAX_DIM || numel > AF_MAX_NUMEL / t->d[k])
      return af__tfl_fail (c, error, AF_ERROR_LIMIT,
                           "tensors[%u] \"%s\": field \"shape\": dim %d = %" G_GINT64_FORMAT
                           " is out of range (dynamic or empty shapes are not supported)",
                           i, t->name, k, t->d[k]);
    numel *= t->d[k];
  }
  if (!tfl_buffer (c, buffer, i, &t->raw, &t->raw_len, error))
    return FALSE;
  if (t->raw) {
    gsize es = af__tfl_type_size (t->type);
    if (es == 0)
      return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                           "tensors[%u] \"%s\": field \"type\": %d is not supported", i, t->name,
                           t->type);
    if (t->raw_len != (gsize) numel * es)
      return af__tfl_fail (c, error, AF_ERROR_WEIGHTS,
                           "tensors[%u] \"%s\": buffer %u has %" G_GSIZE_FORMAT
                           " bytes, the shape needs %" G_GSIZE_FORMAT,
                           i, t->name, buffer, t->raw_len, (gsize) numel * es);
  }
  return TRUE;
}

/* The per-tensor quantization of input @ti: real = @scale * (q - @zero);
 * none (or a zero scale) is the identity. */
static gboolean
tfl_input_quant (AfTfl *c, guint ti, float *scale, float *zero, GError **error)
{
  AfTflTensor *t = &c->t[ti];
  AfFbVector sv = { 0 }, zv = { 0 };
  GError *local = NULL;
  *scale = 1;
  *zero = 0;
  if (!t->has_quant)
    return TRUE;
  if (!af_fb_vector (&t->quant, QUANT_SCALE, 4, &sv, &local) ||
      !af_fb_vector (&t->quant, QUANT_ZERO_POINT, 8, &zv, &local))
    return af__tfl_wrap (c, error, local);
  if (sv.n > 1 || zv.n > 1)
    return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                         "input tensor %u \"%s\": field \"quantization\": per-channel quantization "
                         "of an input is not supported (%u scales)",
                         ti, t->name, sv.n);
  float s = sv.n ? af_fb_vector_f32 (&sv, 0) : 0;
  if (!isfinite (s) || s < 0)
    return af__tfl_fail (c, error, AF_ERROR_INVALID,
                         "input tensor %u \"%s\": field \"quantization\": scale %g is not a finite "
                         "non-negative number",
                         ti, t->name, s);
  if (s == 0) /* TFLite's "not quantized": the stored value is the real one */
    return TRUE;
  gint64 z = zv.n ? af_fb_vector_i64 (&zv, 0) : 0;
  if (z < -128 || z > 255)
    return af__tfl_fail (
        c, error, AF_ERROR_INVALID,
        "input tensor %u \"%s\": field \"quantization\": zero point %" G_GINT64_FORMAT
        " is outside -128..255",
        ti, t->name, z);
  *scale = s;
  *zero = (float) z;
  return TRUE;
}

static gboolean
tfl_read_inputs (AfTfl *c, const AfFbTable *sg, GError **error)
{
  AfFbVector v;
  if (!af_fb_vector (sg, SG_INPUTS, 4, &v, error))
    return FALSE;
  if (v.n == 0)
    return af__tfl_fail (c, error, AF_ERROR_INVALID, "subgraphs[0]: no inputs");
  for (guint32 k = 0; k < v.n; k++) {
    gint32 ti = af_fb_vector_i32 (&v, k);
    if (!af__tfl_tensor_index (c, ti, "subgraphs[0].inputs", error))
      return FALSE;
    AfTflTensor *t = &c->t[ti];
    gboolean quant = t->type == TFL_U8 || t->type == TFL_I8;
    if ((t->type != TFL_F32 && !quant) || af__tfl_is_const (t) || t->value || t->rank < 1)
      return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED,
                           "input %u \"%s\": only float32, uint8 or int8 non-constant inputs of "
                           "rank >= 1 are supported (type %d)",
                           k, t->name, t->type);
    float qs = 1, qz = 0;
    if (quant && !tfl_input_quant (c, ti, &qs, &qz, error))
      return FALSE;
    AfShape s = { t->rank };
    memcpy (s.d, t->d, sizeof (gint64) * t->rank);
    if (t->rank == 4)
      af__tfl_nchw_dims (t->d, s.d);
    gboolean image = k == 0 && c->opts.image;
    if (image && (t->rank != 4 || (s.d[1] != 1 && s.d[1] != 3)))
      return af__tfl_fail (c, error, AF_ERROR_SHAPE,
                           "input 0 \"%s\": an image input needs shape [N, H, W, 1 or 3]", t->name);
    g_autofree char *name = af__tfl_unique_name (c->g, t->name);
    AfNode *n =
        af__graph_add_node (c->g, name, image ? AF_OP_IMAGE_INPUT : AF_OP_INPUT, 0, NULL, NULL);
    n->out->shape = s;
    if (image) {
      /* A quantized port: the options map a pixel to the stored value q
       * (identity by default), the quantization maps q to qs * (q - qz). */
      n->image.order = c->opts.order;
      for (int ch = 0; ch < 3; ch++) {
        int src = s.d[1] == 1 ? 0 : ch;
        n->image.scale[ch] = qs * c->opts.scale[src];
        n->image.bias[ch] = qs * (c->opts.bias[src] - qz);
      }
    }
    if (!af__node_infer_shape (c->g, n, error))
      return FALSE;
    t->value = n->out;
    if (quant && !image && (qs != 1 || qz != 0))
      t->value = af__tfl_affine (c, n->out, qs, -qs * qz, error);
    if (!t->value)
      return FALSE;
  }
  return TRUE;
}

static gboolean
tfl_read_outputs (AfTfl *c, const AfFbTable *sg, GError **error)
{
  AfFbVector v;
  if (!af_fb_vector (sg, SG_OUTPUTS, 4, &v, error))
    return FALSE;
  if (v.n == 0)
    return af__tfl_fail (c, error, AF_ERROR_INVALID, "subgraphs[0]: no outputs");
  for (guint32 k = 0; k < v.n; k++) {
    gint32 ti = af_fb_vector_i32 (&v, k);
    if (!af__tfl_tensor_index (c, ti, "subgraphs[0].outputs", error))
      return FALSE;
    AfTensor *y = af__tfl_value (c, (guint) ti, error);
    if (y && y->kind == AF_VALUE_CONST)
      return af__tfl_fail (c, error, AF_ERROR_UNSUPPORTED, "output %u \"%s\" is a constant", k,
                           c->t[ti].name);
    y = y ? af__tfl_nhwc (c, y, error) : NULL;
    if (!y)
      return FALSE;
    af_graph_add_output (c->g, c->t[ti].name, y);
  }
  return TRUE;
}

static gboolean
tfl_read_operators (AfTfl *c, const AfFbTable *sg, GError **error)
{
  AfFbVector ops;
  if (!af_fb_vector (sg, SG_OPERATORS, 4, &ops, error))
    return FALSE;
  if (ops.n > AF_MAX_NODES)
    return af__tfl_fail (c, error, AF_ERROR_LIMIT, "%u operators, more than %d", ops.n,
                         AF_MAX_NODES);
  for (guint32 i = 0; i < ops.n; i++) {
    AfFbTable ot;
    AfTflOp op = { 0 };
    guint32 opcode;
    guint8 opt_type;
    GError *local = NULL;
    c->op_index = (int) i;
    c->op_name = "?";
    if (!af_fb_vector_table (&ops, i, &ot, &local) ||
        !af_fb_u32 (&ot, OP_OPCODE, 0, &opcode, &local))
      return af__tfl_wrap (c, error, local);
    if (opcode >= c->n_codes)
      return af__tfl_fail (c, error, AF_ERROR_INVALID, "field \"opcode_index\": %u is out of range",
                           opcode);
    gint32 code = c->codes[opcode];
    g_autofree char *unknown = NULL;
    c->op_name = tfl_op_name (code);
    if (!c->op_name)
      c->op_name = unknown = g_strdup_printf ("BUILTIN_%d", code);
    if (!af_fb_vector (&ot, OP_INPUTS, 4, &op.in, &local) ||
        !af_fb_vector (&ot, OP_OUTPUTS, 4, &op.out, &local) ||
        !af_fb_u8 (&ot, OP_OPTIONS_TYPE, 0, &opt_type, &local) ||
        !af_fb_table (&ot, OP_OPTIONS, &op.opt, &op.has_opt, &local) ||
        !af_fb_vector (&ot, OP_CUSTOM_OPTIONS, 1, &op.custom, &local))
      return af__tfl_wrap (c, error, local);
    if (op.has_opt && opt_type != tfl_op_options_type (code) && tfl_op_name (code))
      return af__tfl_fail (c, error, AF_ERROR_INVALID,
                           "field \"builtin_options_type\": %u does not belong to this operator",
                           opt_type);
    if (op.in.n > AF_MAX_INPUTS_PER_NODE)
      return af__tfl_fail (c, error, AF_ERROR_LIMIT, "field \"inputs\": %u inputs", op.in.n);
    if (!af__tfl_import_op (c, code, &op, error))
      return FALSE;
    c->op_index = -1;
  }
  return TRUE;
}

static gboolean
tfl_import (AfTfl *c, GError **error)
{
  AfFbTable model, sg;
  AfFbVector subgraphs, tensors;
  if (!af_fb_root (&c->fb, &model, error) || !tfl_read_codes (c, &model, error) ||
      !af_fb_vector (&model, MODEL_BUFFERS, 4, &c->buffers, error) ||
      !af_fb_vector (&model, MODEL_SUBGRAPHS, 4, &subgraphs, error))
    return FALSE;
  if (subgraphs.n == 0)
    return af__tfl_fail (c, error, AF_ERROR_INVALID, "field \"subgraphs\": the model has none");
  if (!af_fb_vector_table (&subgraphs, 0, &sg, error) ||
      !af_fb_vector (&sg, SG_TENSORS, 4, &tensors, error))
    return FALSE;
  if (tensors.n > 4 * AF_MAX_NODES)
    return af__tfl_fail (c, error, AF_ERROR_LIMIT, "%u tensors, more than %d", tensors.n,
                         4 * AF_MAX_NODES);
  c->n_t = tensors.n;
  c->t = g_new0 (AfTflTensor, MAX (c->n_t, 1));
  for (guint i = 0; i < c->n_t; i++)
    if (!tfl_read_tensor (c, &tensors, i, error))
      return FALSE;
  return tfl_read_inputs (c, &sg, error) && tfl_read_operators (c, &sg, error) &&
         tfl_read_outputs (c, &sg, error);
}

AfGraph *
af_graph_import_tflite_from_data (const guint8 *data, gsize len, const char *name_for_errors,
                                  const AfImportOptions *opts, GError **error)
{
  g_return_val_if_fail (data || len == 0, NULL);
  const char *file = name_for_errors ? name_for_errors : "(tflite)";
  AfImportOptions dflt = AF_IMPORT_OPTIONS_INIT;
  AfTfl c = { .file = file, .opts = opts ? *opts : dflt, .op_index = -1 };
  if (!af_fb_init (&c.fb, data, len, "TFL3", file, error))
    return NULL;
  g_autofree char *base = g_path_get_basename (file);
  char *dot = strrchr (base, '.');
  if (dot && dot != base)
    *dot = 0;
  c.g = af_graph_new (base);
  c.g->path = g_strdup (file);
  gboolean ok = tfl_import (&c, error);
  for (guint i = 0; i < c.n_t; i++) {
    g_free (c.t[i].name);
    g_free (c.t[i].f32);
  }
  g_free (c.t);
  g_free (c.codes);
  if (ok && c.g->error) {
    g_propagate_error (error, g_error_copy (c.g->error));
    ok = FALSE;
  }
  if (!ok) {
    af_graph_free (c.g);
    return NULL;
  }
  return c.g;
}

AfGraph *
af_graph_import_tflite (const char *path, const AfImportOptions *opts, GError **error)
{
  g_return_val_if_fail (path, NULL);
  GError *local = NULL;
  GMappedFile *f = g_mapped_file_new (path, FALSE, &local);
  if (!f) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: %s", path, local->message);
    g_error_free (local);
    return NULL;
  }
  AfGraph *g = af_graph_import_tflite_from_data ((const guint8 *) g_mapped_file_get_contents (f),
                                                 g_mapped_file_get_length (f), path, opts, error);
  g_mapped_file_unref (f);
  return g;
}
