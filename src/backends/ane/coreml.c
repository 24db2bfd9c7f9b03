/* coreml.c — a MIL program as a Core ML package (coreml.h): the Model
 * message through the project's own protobuf writer (pbwrite.h), the
 * manifest, the weight blob, and `export --coreml`.
 *
 * Field numbers are those of Apple's schema in ../shared/ane/coreml-format/
 * (Model.proto, MIL.proto, FeatureTypes.proto); each message is written in
 * field-number order and map entries in key order, so the bytes are
 * deterministic. Scalar fields at their proto3 default are left out, as
 * protobuf's own serializer does. */
#include "backends/ane/coreml.h"

#include "backends/ane/caps.h"
#include "backends/ane/export.h"
#include "backends/ane/pbwrite.h"

#include <glib/gstdio.h>
#include <string.h>

/* Model.proto */
enum {
  AF_PB_MODEL_SPEC_VERSION = 1,
  AF_PB_MODEL_DESCRIPTION = 2,
  AF_PB_MODEL_ML_PROGRAM = 502,
  AF_PB_DESC_INPUT = 1,
  AF_PB_DESC_OUTPUT = 10,
  AF_PB_FEATURE_NAME = 1,
  AF_PB_FEATURE_SHORT_DESCRIPTION = 2,
  AF_PB_FEATURE_TYPE = 3,
};
/* FeatureTypes.proto */
enum {
  AF_PB_FEATURE_TYPE_MULTI_ARRAY = 5,
  AF_PB_ARRAY_SHAPE = 1,
  AF_PB_ARRAY_DATA_TYPE = 2,
  AF_PB_ARRAY_FLOAT16 = 65552, /* ArrayDataType FLOAT16 = 0x10000 | 16 */
};
/* MIL.proto */
enum {
  AF_PB_PROGRAM_VERSION = 1,
  AF_PB_PROGRAM_FUNCTIONS = 2,
  AF_PB_FUNCTION_INPUTS = 1,
  AF_PB_FUNCTION_OPSET = 2,
  AF_PB_FUNCTION_BLOCKS = 3,
  AF_PB_BLOCK_OUTPUTS = 2,
  AF_PB_BLOCK_OPERATIONS = 3,
  AF_PB_ARGUMENT_ARGUMENTS = 1,
  AF_PB_BINDING_NAME = 1,
  AF_PB_OP_TYPE = 1,
  AF_PB_OP_INPUTS = 2,
  AF_PB_OP_OUTPUTS = 3,
  AF_PB_OP_ATTRIBUTES = 5,
  AF_PB_NAMED_NAME = 1,
  AF_PB_NAMED_TYPE = 2,
  AF_PB_VALUE_TYPE_TENSOR = 1,
  AF_PB_TENSOR_DATA_TYPE = 1,
  AF_PB_TENSOR_RANK = 2,
  AF_PB_TENSOR_DIMENSIONS = 3,
  AF_PB_DIMENSION_CONSTANT = 1,
  AF_PB_CONSTANT_SIZE = 1,
  AF_PB_VALUE_TYPE = 2,
  AF_PB_VALUE_IMMEDIATE = 3,
  AF_PB_VALUE_BLOB_FILE = 5,
  AF_PB_BLOB_FILE_NAME = 1,
  AF_PB_BLOB_OFFSET = 2,
  AF_PB_IMMEDIATE_TENSOR = 1,
  AF_PB_TENSOR_INTS = 2,
  AF_PB_TENSOR_BOOLS = 3,
  AF_PB_TENSOR_STRINGS = 4,
  AF_PB_TENSOR_BYTES = 7,
  AF_PB_REPEATED_VALUES = 1,
  AF_PB_MAP_KEY = 1,
  AF_PB_MAP_VALUE = 2,
};

int
af_coreml_spec_version (AfAneDialect d)
{
  return d == AF_ANE_DIALECT_IOS16 ? AF_COREML_SPEC_IOS16 : AF_COREML_SPEC_IOS18;
}

const char *
af_coreml_opset (AfAneDialect d)
{
  return d == AF_ANE_DIALECT_IOS16 ? "CoreML6" : "CoreML8";
}

/* MIL.proto DataType of @t. */
static guint64
af_pb_dtype (AfMilDtype t)
{
  static const guint64 codes[] = {
    [AF_MIL_FP16] = 10, [AF_MIL_UINT8] = 31, [AF_MIL_INT32] = 23,
    [AF_MIL_BOOL] = 1,  [AF_MIL_STRING] = 2,
  };
  return codes[t];
}

/* ------------------------------------------------------------ types, values */

/* ValueType { tensorType { dataType, rank, dimensions } } of @t. */
static GByteArray *
af_pb_value_type (const AfMilType *t)
{
  GByteArray *tt = af_pb_new ();
  af_pb_uint_nz (tt, AF_PB_TENSOR_DATA_TYPE, af_pb_dtype (t->dtype));
  af_pb_uint_nz (tt, AF_PB_TENSOR_RANK, (guint64) t->rank);
  for (int i = 0; i < t->rank; i++) {
    GByteArray *c = af_pb_new (), *dim = af_pb_new ();
    af_pb_uint_nz (c, AF_PB_CONSTANT_SIZE, (guint64) t->d[i]);
    af_pb_message (dim, AF_PB_DIMENSION_CONSTANT, c);
    af_pb_message (tt, AF_PB_TENSOR_DIMENSIONS, dim);
  }
  GByteArray *vt = af_pb_new ();
  af_pb_message (vt, AF_PB_VALUE_TYPE_TENSOR, tt);
  return vt;
}

/* NamedValueType { name, type }. */
static GByteArray *
af_pb_named (const char *name, const AfMilType *t)
{
  GByteArray *nv = af_pb_new ();
  af_pb_string (nv, AF_PB_NAMED_NAME, name);
  af_pb_message (nv, AF_PB_NAMED_TYPE, af_pb_value_type (t));
  return nv;
}

/* Value { type, immediateValue { tensor { <field> { values } } } } with the
 * repeated values already encoded in @values (transfer full). */
static GByteArray *
af_pb_immediate (const AfMilType *t, guint32 field, GByteArray *values)
{
  GByteArray *rep = af_pb_new (), *tensor = af_pb_new (), *imm = af_pb_new (), *v = af_pb_new ();
  /* packed ints / bools and bytes are one field, left out when empty (the
   * proto3 default); strings hold one string, written even when empty */
  if (field == AF_PB_TENSOR_STRINGS || values->len)
    af_pb_bytes (rep, AF_PB_REPEATED_VALUES, values->data, values->len);
  g_byte_array_unref (values);
  af_pb_message (tensor, field, rep);
  af_pb_message (imm, AF_PB_IMMEDIATE_TENSOR, tensor);
  af_pb_message (v, AF_PB_VALUE_TYPE, af_pb_value_type (t));
  af_pb_message (v, AF_PB_VALUE_IMMEDIATE, imm);
  return v;
}

/* A rank-0 string Value. */
static GByteArray *
af_pb_string_value (const char *s)
{
  AfMilType t = { AF_MIL_STRING, 0, { 0 } };
  GByteArray *raw = af_pb_new ();
  g_byte_array_append (raw, (const guint8 *) s, (guint) strlen (s));
  return af_pb_immediate (&t, AF_PB_TENSOR_STRINGS, raw);
}

/* The `val` of a const statement: a blobFileValue, or the inline elements
 * (fp16 as little-endian bytes, int32 and bool as packed varints, the way
 * coremltools writes them). */
static GByteArray *
af_pb_const_value (const AfMilType *t, const AfMilValue *val)
{
  if (t->dtype == AF_MIL_STRING)
    return af_pb_string_value (val->str);
  if (val->in_blob) {
    GByteArray *bf = af_pb_new (), *v = af_pb_new ();
    af_pb_string (bf, AF_PB_BLOB_FILE_NAME, AF_COREML_BLOB_PATH);
    af_pb_uint_nz (bf, AF_PB_BLOB_OFFSET, val->offset);
    af_pb_message (v, AF_PB_VALUE_TYPE, af_pb_value_type (t));
    af_pb_message (v, AF_PB_VALUE_BLOB_FILE, bf);
    return v;
  }
  GByteArray *raw = af_pb_new ();
  if (t->dtype == AF_MIL_FP16) {
    for (gsize i = 0; i < val->n; i++) {
      guint8 le[2] = { (guint8) (val->halves[i] & 0xff), (guint8) (val->halves[i] >> 8) };
      g_byte_array_append (raw, le, 2);
    }
    return af_pb_immediate (t, AF_PB_TENSOR_BYTES, raw);
  }
  g_assert (t->dtype == AF_MIL_INT32 || t->dtype == AF_MIL_BOOL);
  for (gsize i = 0; i < val->n; i++) /* int32 sign-extended to 64 bits */
    af_pb_varint (raw, t->dtype == AF_MIL_BOOL ? (val->ints[i] != 0) : (guint64) val->ints[i]);
  return af_pb_immediate (t, t->dtype == AF_MIL_BOOL ? AF_PB_TENSOR_BOOLS : AF_PB_TENSOR_INTS, raw);
}

/* One entry of a map<string, M> field @field: { key, value }. */
static void
af_pb_map_entry (GByteArray *b, guint32 field, const char *key, GByteArray *value)
{
  GByteArray *e = af_pb_new ();
  af_pb_string (e, AF_PB_MAP_KEY, key);
  af_pb_message (e, AF_PB_MAP_VALUE, value);
  af_pb_message (b, field, e);
}

/* ------------------------------------------------------------ the program */

static int
af_pb_arg_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(AfMilArg *const *) a)->name, (*(AfMilArg *const *) b)->name);
}

/* Operation { type, inputs (by argument name), outputs, attributes { name,
 * val } }. A tuple argument is one Argument with a binding per variable. */
static GByteArray *
af_pb_operation (const AfMilOp *op)
{
  GByteArray *o = af_pb_new ();
  af_pb_string (o, AF_PB_OP_TYPE, op->op);
  GPtrArray *sorted = g_ptr_array_copy (op->args, NULL, NULL);
  g_ptr_array_set_free_func (sorted, NULL); /* the copy borrows the arguments */
  g_ptr_array_sort (sorted, af_pb_arg_cmp);
  for (guint i = 0; i < sorted->len; i++) {
    const AfMilArg *a = g_ptr_array_index (sorted, i);
    GByteArray *arg = af_pb_new ();
    for (guint j = 0; j < a->vars->len; j++) {
      GByteArray *bind = af_pb_new ();
      af_pb_string (bind, AF_PB_BINDING_NAME, g_ptr_array_index (a->vars, j));
      af_pb_message (arg, AF_PB_ARGUMENT_ARGUMENTS, bind);
    }
    af_pb_map_entry (o, AF_PB_OP_INPUTS, a->name, arg);
  }
  g_ptr_array_unref (sorted);
  af_pb_message (o, AF_PB_OP_OUTPUTS, af_pb_named (op->var, &op->type));
  af_pb_map_entry (o, AF_PB_OP_ATTRIBUTES, "name", af_pb_string_value (op->var));
  if (strcmp (op->op, "const") == 0)
    af_pb_map_entry (o, AF_PB_OP_ATTRIBUTES, "val", af_pb_const_value (&op->type, &op->val));
  return o;
}

/* Program { version 1, functions { "main": Function { inputs, opset,
 * block_specializations { opset: Block { outputs, operations } } } } }. */
static GByteArray *
af_pb_program (const AfMilProgram *p)
{
  const char *opset = af_coreml_opset (p->dialect);
  GByteArray *block = af_pb_new ();
  for (guint i = 0; i < p->outputs->len; i++)
    af_pb_string (block, AF_PB_BLOCK_OUTPUTS, g_ptr_array_index (p->outputs, i));
  for (guint i = 0; i < p->ops->len; i++)
    af_pb_message (block, AF_PB_BLOCK_OPERATIONS, af_pb_operation (g_ptr_array_index (p->ops, i)));
  GByteArray *fn = af_pb_new ();
  for (guint i = 0; i < p->inputs->len; i++) {
    const AfMilPort *in = &g_array_index (p->inputs, AfMilPort, i);
    af_pb_message (fn, AF_PB_FUNCTION_INPUTS, af_pb_named (in->var, &in->type));
  }
  af_pb_string (fn, AF_PB_FUNCTION_OPSET, opset);
  af_pb_map_entry (fn, AF_PB_FUNCTION_BLOCKS, opset, block);
  GByteArray *prog = af_pb_new ();
  af_pb_uint (prog, AF_PB_PROGRAM_VERSION, 1);
  af_pb_map_entry (prog, AF_PB_PROGRAM_FUNCTIONS, "main", fn);
  return prog;
}

/* ------------------------------------------------------------ the description */

/* What a Mac developer reads in Xcode about port @b. */
static char *
af_coreml_port_note (const AfMilBinding *b, gboolean input)
{
  GString *s = g_string_new (NULL);
  const AfNode *src = b->value->producer;
  if (input && src && src->op == AF_OP_IMAGE_INPUT)
    g_string_append_printf (s, "image port: %s pixel values 0..255 as fp16, NCHW. ",
                            src->image.order == AF_PIXEL_BGR    ? "BGR"
                            : src->image.order == AF_PIXEL_GRAY ? "gray"
                                                                : "RGB");
  g_string_append_printf (s, "Graph value \"%s\", shape [", b->value->name);
  for (int i = 0; i < b->shape.rank; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", b->shape.d[i]);
  g_string_append (s, "]");
  gint64 used = b->shape.rank ? b->shape.d[b->shape.rank - 1] : 0;
  if (!af__shape_equal (&b->shape, &b->padded))
    g_string_append_printf (s,
                            input ? "; the last axis is padded to %" G_GINT64_FORMAT
                                    ", the program reads its first %" G_GINT64_FORMAT
                                  : "; the last axis is padded to %" G_GINT64_FORMAT
                                    " with zeros after its first %" G_GINT64_FORMAT,
                            b->padded.d[b->padded.rank - 1], used);
  return g_string_free (s, FALSE);
}

/* FeatureDescription { name, shortDescription, type { multiArrayType {
 * shape, dataType FLOAT16 } } } of port @b. */
static GByteArray *
af_pb_feature (const AfMilBinding *b, gboolean input)
{
  GByteArray *shape = af_pb_new (), *arr = af_pb_new (), *type = af_pb_new (), *f = af_pb_new ();
  for (int i = 0; i < b->padded.rank; i++)
    af_pb_varint (shape, (guint64) b->padded.d[i]);
  if (shape->len)
    af_pb_bytes (arr, AF_PB_ARRAY_SHAPE, shape->data, shape->len); /* packed int64 */
  g_byte_array_unref (shape);
  af_pb_uint (arr, AF_PB_ARRAY_DATA_TYPE, AF_PB_ARRAY_FLOAT16);
  af_pb_message (type, AF_PB_FEATURE_TYPE_MULTI_ARRAY, arr);
  g_autofree char *note = af_coreml_port_note (b, input);
  af_pb_string (f, AF_PB_FEATURE_NAME, b->mil);
  af_pb_string (f, AF_PB_FEATURE_SHORT_DESCRIPTION, note);
  af_pb_message (f, AF_PB_FEATURE_TYPE, type);
  return f;
}

GBytes *
af_coreml_model (const AfMilProgram *p, GArray *in_bind, GArray *out_bind)
{
  GByteArray *desc = af_pb_new ();
  for (guint i = 0; i < in_bind->len; i++) {
    const AfMilBinding *b = &g_array_index (in_bind, AfMilBinding, i);
    g_assert (b->dtype == AF_MIL_FP16); /* af_coreml_fp16_ports ran */
    af_pb_message (desc, AF_PB_DESC_INPUT, af_pb_feature (b, TRUE));
  }
  for (guint i = 0; i < out_bind->len; i++)
    af_pb_message (desc, AF_PB_DESC_OUTPUT,
                   af_pb_feature (&g_array_index (out_bind, AfMilBinding, i), FALSE));
  GByteArray *m = af_pb_new ();
  af_pb_uint (m, AF_PB_MODEL_SPEC_VERSION, (guint64) af_coreml_spec_version (p->dialect));
  af_pb_message (m, AF_PB_MODEL_DESCRIPTION, desc);
  af_pb_message (m, AF_PB_MODEL_ML_PROGRAM, af_pb_program (p));
  return g_byte_array_free_to_bytes (m);
}

/* ------------------------------------------------------------ the image port */

/* TRUE if some op of @p reads variable @var. */
static gboolean
af_coreml_is_read (const AfMilProgram *p, const char *var)
{
  for (guint i = 0; i < p->ops->len; i++) {
    const AfMilOp *op = g_ptr_array_index (p->ops, i);
    for (guint a = 0; a < op->args->len; a++) {
      const AfMilArg *arg = g_ptr_array_index (op->args, a);
      for (guint j = 0; j < arg->vars->len; j++)
        if (strcmp (g_ptr_array_index (arg->vars, j), var) == 0)
          return TRUE;
    }
  }
  return FALSE;
}

/* The cast of uint8 port @var becomes identity(x = @var); its dtype
 * constant goes when nothing else reads it. */
static void
af_coreml_drop_cast (AfMilProgram *p, const char *var)
{
  for (guint i = 0; i < p->ops->len; i++) {
    AfMilOp *op = g_ptr_array_index (p->ops, i);
    if (strcmp (op->op, "cast") != 0)
      continue;
    char *dtype = NULL;
    gboolean reads = FALSE;
    for (guint a = 0; a < op->args->len; a++) {
      AfMilArg *arg = g_ptr_array_index (op->args, a);
      if (strcmp (arg->name, "x") == 0)
        reads = strcmp (g_ptr_array_index (arg->vars, 0), var) == 0;
      else if (strcmp (arg->name, "dtype") == 0)
        dtype = g_ptr_array_index (arg->vars, 0);
    }
    if (!reads || !dtype)
      continue;
    dtype = g_strdup (dtype);
    for (guint a = op->args->len; a-- > 0;)
      if (strcmp (((AfMilArg *) g_ptr_array_index (op->args, a))->name, "dtype") == 0)
        g_ptr_array_remove_index (op->args, a);
    g_free (op->op);
    op->op = g_strdup ("identity");
    for (guint k = 0; k < p->ops->len && !af_coreml_is_read (p, dtype); k++)
      if (strcmp (((AfMilOp *) g_ptr_array_index (p->ops, k))->var, dtype) == 0) {
        g_ptr_array_remove_index (p->ops, k);
        break;
      }
    g_free (dtype);
    return;
  }
}

void
af_coreml_fp16_ports (AfMilProgram *p, GArray *in_bind)
{
  for (guint i = 0; i < in_bind->len; i++) {
    AfMilBinding *b = &g_array_index (in_bind, AfMilBinding, i);
    if (b->dtype != AF_MIL_UINT8)
      continue;
    b->dtype = AF_MIL_FP16;
    for (guint k = 0; k < p->inputs->len; k++) {
      AfMilPort *port = &g_array_index (p->inputs, AfMilPort, k);
      if (strcmp (port->var, b->mil) == 0)
        port->type.dtype = AF_MIL_FP16;
    }
    af_coreml_drop_cast (p, b->mil);
  }
}

/* ------------------------------------------------------------ the package */

/* A name-based UUID (RFC 4122 version-5 layout) of @kind and @bytes
 * (transfer full): the manifest's identifiers stay the same for the same
 * package. */
static char *
af_coreml_uuid (const char *kind, const guint8 *bytes, gsize len)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 d[20];
  gsize n = sizeof d;
  g_checksum_update (sum, (const guchar *) kind, -1);
  g_checksum_update (sum, bytes, (gssize) len);
  g_checksum_get_digest (sum, d, &n);
  g_checksum_free (sum);
  d[6] = (guint8) ((d[6] & 0x0f) | 0x50); /* version 5 */
  d[8] = (guint8) ((d[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  GString *s = g_string_new (NULL);
  for (int i = 0; i < 16; i++)
    g_string_append_printf (s, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", d[i]);
  return g_string_free (s, FALSE);
}

/* Manifest.json as coremltools writes it: 4-space indent, keys sorted. */
static char *
af_coreml_manifest (const char *model_id, const char *weights_id)
{
  static const char *const entry = "        \"%s\": {\n"
                                   "            \"author\": \"com.apple.CoreML\",\n"
                                   "            \"description\": \"%s\",\n"
                                   "            \"name\": \"%s\",\n"
                                   "            \"path\": \"com.apple.CoreML/%s\"\n"
                                   "        }";
  g_autofree char *m = g_strdup_printf (entry, model_id, "CoreML Model Specification",
                                        "model.mlmodel", "model.mlmodel");
  g_autofree char *w =
      g_strdup_printf (entry, weights_id, "CoreML Model Weights", "weights", "weights");
  gboolean model_first = strcmp (model_id, weights_id) < 0;
  return g_strdup_printf ("{\n    \"fileFormatVersion\": \"1.0.0\",\n    \"itemInfoEntries\": {\n"
                          "%s,\n%s\n    },\n    \"rootModelIdentifier\": \"%s\"\n}\n",
                          model_first ? m : w, model_first ? w : m, model_id);
}

static gboolean
af_coreml_save (const char *path, const void *data, gsize len, GError **error)
{
  GError *e = NULL;
  if (g_file_set_contents (path, data, (gssize) len, &e))
    return TRUE;
  g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: %s", path, e->message);
  g_error_free (e);
  return FALSE;
}

gboolean
af_coreml_write_package (const AfMilProgram *p, GArray *in_bind, GArray *out_bind, const char *dir,
                         GError **error)
{
  g_autofree char *data = g_build_filename (dir, "Data", "com.apple.CoreML", NULL);
  g_autofree char *wdir = g_build_filename (data, "weights", NULL);
  if (g_mkdir_with_parents (wdir, 0755) != 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: cannot create the directory", wdir);
    return FALSE;
  }
  GBytes *model = af_coreml_model (p, in_bind, out_bind);
  gsize mlen, wlen;
  const guint8 *mbytes = g_bytes_get_data (model, &mlen);
  const guint8 *wbytes = af_ane_blob_bytes (p->blob, &wlen);
  g_autofree char *model_id = af_coreml_uuid ("model.mlmodel", mbytes, mlen);
  g_autofree char *weights_id = af_coreml_uuid ("weights", wbytes, wlen);
  g_autofree char *manifest = af_coreml_manifest (model_id, weights_id);
  g_autofree char *mpath = g_build_filename (data, "model.mlmodel", NULL);
  g_autofree char *wpath = g_build_filename (wdir, "weight.bin", NULL);
  g_autofree char *fpath = g_build_filename (dir, "Manifest.json", NULL);
  gboolean ok = af_coreml_save (mpath, mbytes, mlen, error) &&
                af_ane_blob_save (p->blob, wpath, error) &&
                af_coreml_save (fpath, manifest, strlen (manifest), error);
  g_bytes_unref (model);
  return ok;
}

/* ------------------------------------------------------------ export */

/* Lowers program segment @s and writes it as package @dir. */
static gboolean
af_coreml_export_region (AfGraph *g, const AfAneSegment *s, AfAneDialect d, const char *dir,
                         GError **error)
{
  GArray *in = g_array_new (FALSE, TRUE, sizeof (AfMilBinding));
  GArray *out = g_array_new (FALSE, TRUE, sizeof (AfMilBinding));
  g_array_set_clear_func (in, af_mil_binding_clear);
  g_array_set_clear_func (out, af_mil_binding_clear);
  AfMilProgram *p = af_ane_lower (g, s->nodes, s->inputs, s->outputs, d, in, out, error);
  gboolean ok = p != NULL;
  if (ok) {
    af_coreml_fp16_ports (p, in);
    ok = af_coreml_write_package (p, in, out, dir, error);
  }
  af_mil_program_free (p);
  g_array_unref (in);
  g_array_unref (out);
  return ok;
}

/* The error for a segmented graph asked into one .mlpackage: the first cut. */
static void
af_coreml_segmented_error (const AfAnePartition *part, const char *out, GError **error)
{
  const AfAneSegment *cut = NULL;
  for (guint k = 0; k < part->segments->len && !cut; k++) {
    const AfAneSegment *s = g_ptr_array_index (part->segments, k);
    cut = s->kind == AF_ANE_SEGMENT_HOST ? s : NULL;
  }
  const AfNode *n = cut ? g_ptr_array_index (cut->nodes, 0) : NULL;
  g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED,
               "%s: the graph runs as %u program(s) and %u host step(s) per frame (first cut: %s "
               "\"%s\": %s), and one ML Program cannot hold a host step; give a directory not "
               "ending in .mlpackage to get region-K.mlpackage per fused region and plan.json",
               out, part->n_programs, part->n_host, n ? af_op_info[n->op].name : "?",
               n ? n->name : "?", cut && cut->reason ? cut->reason : "?");
}

/* One region-K.mlpackage per fused region and plan.json in directory @out. */
static gboolean
af_coreml_export_plan (AfGraph *g, const AfAnePartition *part, const char *out, AfAneDialect d,
                       GError **error)
{
  if (g_mkdir_with_parents (out, 0755) != 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: cannot create the directory", out);
    return FALSE;
  }
  guint region = 0;
  for (guint k = 0; k < part->segments->len; k++) {
    const AfAneSegment *s = g_ptr_array_index (part->segments, k);
    if (s->kind != AF_ANE_SEGMENT_PROGRAM)
      continue;
    g_autofree char *name = g_strdup_printf ("region-%u.mlpackage", region++);
    g_autofree char *dir = g_build_filename (out, name, NULL);
    if (!af_coreml_export_region (g, s, d, dir, error))
      return FALSE;
  }
  g_autofree char *plan = af_ane_plan_json (g, d, error);
  g_autofree char *path = g_build_filename (out, "plan.json", NULL);
  return plan && af_coreml_save (path, plan, strlen (plan), error);
}

gboolean
af_ane_export_coreml (AfGraph *g, const char *out, AfAneDialect d, GError **error)
{
  AfAnePartition *part = af_ane_partition (g, error);
  if (!part)
    return FALSE;
  gboolean ok = FALSE;
  if (part->n_programs == 1 && part->n_host == 0)
    ok = af_coreml_export_region (g, g_ptr_array_index (part->segments, 0), d, out, error);
  else if (g_str_has_suffix (out, ".mlpackage") || g_str_has_suffix (out, ".mlpackage/"))
    af_coreml_segmented_error (part, out, error);
  else if (part->n_programs == 0)
    g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED,
                 "%s: no node of the graph lowers to the Neural Engine", out);
  else
    ok = af_coreml_export_plan (g, part, out, d, error);
  af_ane_partition_free (part);
  return ok;
}
