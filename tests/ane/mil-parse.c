/* mil-parse.c — MIL text parser (README §1.2 grammar) for both dialects:
 * program(1.0) with func main<ios15..17> and tensor<T, []> scalars, and
 * program(1.3) with func main<ios18> and bare scalars. Literals are turned
 * into MilTensors here, BLOBFILE ones read through blob-reader.c, so that a
 * program that parses has every constant in hand. */
#include "mil-ast.h"
#include "blob-reader.h"

#include <math.h>
#include <string.h>

#define MIL_MAX_ELEMENTS ((gint64) 1 << 31) /* per tensor: a hostile file's bound */

typedef struct {
  GArray *toks;
  guint pos;
  const char *file, *model_dir;
  gboolean v13;           /* program(1.3) */
  GHashTable *blob_files; /* path -> GBytes* */
} Parser;

static MilToken *
tok (Parser *p)
{
  return &g_array_index (p->toks, MilToken, p->pos);
}

static void
next (Parser *p)
{
  if (tok (p)->kind != MIL_TOK_EOF)
    p->pos++;
}

static const char *
tok_desc (MilToken *t)
{
  return t->kind == MIL_TOK_EOF ? "end of file" : t->text;
}

/* Sets @error at token @t: FILE:LINE:COL: MESSAGE. */
G_GNUC_PRINTF (4, 5)
static gboolean
fail_at (Parser *p, MilToken *t, GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, MIL_ERROR, 0, "%s:%d:%d: %s", p->file, t->line, t->col, msg);
  g_free (msg);
  return FALSE;
}

static gboolean
is_punct (Parser *p, char c)
{
  return tok (p)->kind == MIL_TOK_PUNCT && tok (p)->text[0] == c;
}

static gboolean
expect_punct (Parser *p, char c, GError **error)
{
  if (!is_punct (p, c))
    return fail_at (p, tok (p), error, "expected '%c', found \"%s\"", c, tok_desc (tok (p)));
  next (p);
  return TRUE;
}

static gboolean
is_word (Parser *p, const char *w)
{
  return tok (p)->kind == MIL_TOK_IDENT && strcmp (tok (p)->text, w) == 0;
}

static gboolean
expect_word (Parser *p, const char *w, GError **error)
{
  if (!is_word (p, w))
    return fail_at (p, tok (p), error, "expected \"%s\", found \"%s\"", w, tok_desc (tok (p)));
  next (p);
  return TRUE;
}

/* An identifier; its text is returned (owned by the token). */
static const char *
expect_ident (Parser *p, const char *what, GError **error)
{
  if (tok (p)->kind != MIL_TOK_IDENT) {
    fail_at (p, tok (p), error, "expected %s, found \"%s\"", what, tok_desc (tok (p)));
    return NULL;
  }
  const char *s = tok (p)->text;
  next (p);
  return s;
}

/* A non-negative integer token (a dimension, a version part). */
static gboolean
parse_dim (Parser *p, gint64 *out, GError **error)
{
  MilToken *t = tok (p);
  char *end;
  if (t->kind != MIL_TOK_NUMBER || !g_ascii_isdigit (t->text[0]))
    return fail_at (p, t, error, "expected a dimension, found \"%s\"", tok_desc (t));
  guint64 v = g_ascii_strtoull (t->text, &end, 10);
  if (*end || v > G_MAXINT32)
    return fail_at (p, t, error, "bad dimension \"%s\"", t->text);
  *out = (gint64) v;
  next (p);
  return TRUE;
}

/* type := tensor<DTYPE, [d, ...]> | DTYPE (bare scalar, 1.3 only). */
static gboolean
parse_type (Parser *p, MilType *ty, GError **error)
{
  memset (ty, 0, sizeof *ty);
  MilToken *t = tok (p);
  if (t->kind != MIL_TOK_IDENT)
    return fail_at (p, t, error, "expected a type, found \"%s\"", tok_desc (t));
  if (strcmp (t->text, "tensor") != 0) {
    if (!mil_dtype_from_name (t->text, &ty->dtype))
      return fail_at (p, t, error, "unknown type \"%s\"", t->text);
    if (!p->v13)
      return fail_at (p, t, error,
                      "bare scalar type \"%s\" in a program(1.0) (write tensor<%s, []>)", t->text,
                      t->text);
    ty->bare = TRUE;
    next (p);
    return TRUE;
  }
  next (p);
  if (!expect_punct (p, '<', error))
    return FALSE;
  t = tok (p);
  if (t->kind != MIL_TOK_IDENT || !mil_dtype_from_name (t->text, &ty->dtype))
    return fail_at (p, t, error, "unknown dtype \"%s\"", tok_desc (t));
  next (p);
  if (!expect_punct (p, ',', error) || !expect_punct (p, '[', error))
    return FALSE;
  gint64 n = 1;
  while (!is_punct (p, ']')) {
    if (ty->rank && !expect_punct (p, ',', error))
      return FALSE;
    if (ty->rank == MIL_MAX_RANK)
      return fail_at (p, tok (p), error, "rank above %d", MIL_MAX_RANK);
    if (!parse_dim (p, &ty->dims[ty->rank], error))
      return FALSE;
    n *= MAX (ty->dims[ty->rank], 1);
    if (n > MIL_MAX_ELEMENTS)
      return fail_at (p, tok (p), error, "more than %" G_GINT64_FORMAT " elements",
                      MIL_MAX_ELEMENTS);
    ty->rank++;
  }
  next (p);
  return expect_punct (p, '>', error);
}

/* One scalar token of a literal, converted for @d into @out. */
static gboolean
parse_scalar (Parser *p, MilDtype d, double *out, GError **error)
{
  MilToken *t = tok (p);
  if (d == MIL_BOOL) {
    if (t->kind != MIL_TOK_IDENT || (strcmp (t->text, "true") && strcmp (t->text, "false")))
      return fail_at (p, t, error, "expected true or false, found \"%s\"", tok_desc (t));
    *out = strcmp (t->text, "true") == 0;
    next (p);
    return TRUE;
  }
  gboolean special =
      t->kind == MIL_TOK_IDENT && (!strcmp (t->text, "inf") || !strcmp (t->text, "nan"));
  if (t->kind != MIL_TOK_NUMBER && !special)
    return fail_at (p, t, error, "expected a %s number, found \"%s\"", mil_dtype_name (d),
                    tok_desc (t));
  char *end;
  double v = g_ascii_strtod (t->text, &end);
  if (*end)
    return fail_at (p, t, error, "malformed number \"%s\"", t->text);
  gboolean hex = strstr (t->text, "0x") || strstr (t->text, "0X");
  if (d == MIL_FP16 || d == MIL_FP32 || d == MIL_FP64) {
    if (hex && mil_round (d, v) != v) /* hex floats are written exactly */
      return fail_at (p, t, error, "%s is not exactly a %s value", t->text, mil_dtype_name (d));
    v = isnan (v) ? v : mil_round (d, v); /* decimals round to the nearest value */
  } else if (v != floor (v) || mil_round (d, v) != v)
    return fail_at (p, t, error, "%s is not a %s value", t->text, mil_dtype_name (d));
  *out = v;
  next (p);
  return TRUE;
}

/* [a, b, [c, d]] flattened into @vals. */
static gboolean
parse_list_body (Parser *p, MilDtype d, GArray *vals, int depth, GError **error)
{
  if (depth > MIL_MAX_RANK)
    return fail_at (p, tok (p), error, "list nested deeper than %d", MIL_MAX_RANK);
  if (!expect_punct (p, '[', error))
    return FALSE;
  for (gboolean first = TRUE; !is_punct (p, ']'); first = FALSE) {
    if (!first && !expect_punct (p, ',', error))
      return FALSE;
    if (is_punct (p, '[')) {
      if (!parse_list_body (p, d, vals, depth + 1, error))
        return FALSE;
      continue;
    }
    double v;
    if (vals->len >= MIL_MAX_ELEMENTS || !parse_scalar (p, d, &v, error))
      return FALSE;
    g_array_append_val (vals, v);
  }
  next (p);
  return TRUE;
}

static MilTensor *
tensor_of_type (const MilType *ty)
{
  return mil_tensor_new (ty->dtype, ty->rank, ty->dims);
}

/* Elements of a tensor of type @ty (bounded by parse_type). */
static gsize
type_elements (const MilType *ty)
{
  gsize n = 1;
  for (int i = 0; i < ty->rank; i++)
    n *= (gsize) ty->dims[i];
  return n;
}

/* The bytes of BLOBFILE @path, read once per parse. */
static GBytes *
blob_file (Parser *p, MilToken *at, const char *path, GError **error)
{
  const char *prefix = "@model_path/";
  if (!g_str_has_prefix (path, prefix)) {
    fail_at (p, at, error, "BLOBFILE path \"%s\" does not start with %s", path, prefix);
    return NULL;
  }
  if (!p->model_dir) {
    fail_at (p, at, error, "BLOBFILE with no model directory");
    return NULL;
  }
  GBytes *b = g_hash_table_lookup (p->blob_files, path);
  if (b)
    return b;
  char *full = g_build_filename (p->model_dir, path + strlen (prefix), NULL);
  char *data;
  gsize len;
  GError *e = NULL;
  if (!g_file_get_contents (full, &data, &len, &e)) {
    fail_at (p, at, error, "BLOBFILE: %s", e->message);
    g_error_free (e);
    g_free (full);
    return NULL;
  }
  g_free (full);
  GError *ce = NULL;
  if (af_test_blob_count ((const guint8 *) data, len, &ce) < 0) {
    fail_at (p, at, error, "BLOBFILE %s: %s", path, ce->message);
    g_error_free (ce);
    g_free (data);
    return NULL;
  }
  b = g_bytes_new_take (data, len);
  g_hash_table_insert (p->blob_files, g_strdup (path), b);
  return b;
}

/* The BlobDataType code a MIL dtype is stored with (§1.3), 0 if none. */
static guint32
blob_code (MilDtype d)
{
  switch (d) {
  case MIL_FP16:
    return 1;
  case MIL_FP32:
    return 2;
  case MIL_UINT8:
    return 3;
  case MIL_INT8:
    return 4;
  case MIL_INT16:
    return 6;
  case MIL_UINT16:
    return 7;
  case MIL_INT4:
    return 8;
  case MIL_UINT1:
    return 9;
  case MIL_UINT2:
    return 10;
  case MIL_UINT4:
    return 11;
  case MIL_INT32:
    return 14;
  case MIL_UINT32:
    return 15;
  default:
    return 0;
  }
}

/* Element @i of blob @b decoded as dtype @d. */
static double
blob_value (const AfTestBlob *b, MilDtype d, guint bits, gsize i)
{
  guint32 u = af_test_blob_element (b, bits, i);
  switch (d) {
  case MIL_FP16:
    return mil_half_to_float ((guint16) u);
  case MIL_FP32: {
    float f;
    memcpy (&f, &u, 4);
    return f;
  }
  case MIL_INT8:
    return (gint8) u;
  case MIL_INT16:
    return (gint16) u;
  case MIL_INT32:
    return (gint32) u;
  case MIL_INT4:
    return (double) ((gint32) (u << 28) >> 28);
  default:
    return u;
  }
}

/* BLOBFILE(path = STRING, offset = UINT64) for a tensor of type @ty. */
static MilTensor *
parse_blobfile (Parser *p, const MilType *ty, GError **error)
{
  MilToken *at = tok (p);
  next (p); /* BLOBFILE */
  MilType sty, oty;
  double off;
  if (!expect_punct (p, '(', error) || !expect_word (p, "path", error) ||
      !expect_punct (p, '=', error) || !parse_type (p, &sty, error))
    return NULL;
  if (sty.dtype != MIL_STRING || sty.rank) {
    fail_at (p, at, error, "BLOBFILE path must be a string");
    return NULL;
  }
  if (!expect_punct (p, '(', error))
    return NULL;
  if (tok (p)->kind != MIL_TOK_STRING) {
    fail_at (p, tok (p), error, "expected the BLOBFILE path string");
    return NULL;
  }
  char *path = g_strdup (tok (p)->text);
  next (p);
  gboolean ok = expect_punct (p, ')', error) && expect_punct (p, ',', error) &&
                expect_word (p, "offset", error) && expect_punct (p, '=', error) &&
                parse_type (p, &oty, error);
  if (ok && (oty.dtype != MIL_UINT64 || oty.rank))
    ok = fail_at (p, at, error, "BLOBFILE offset must be a uint64");
  MilToken *offtok = tok (p);
  ok = ok && expect_punct (p, '(', error) && parse_scalar (p, MIL_UINT64, &off, error) &&
       expect_punct (p, ')', error) && expect_punct (p, ')', error);
  GBytes *bytes = ok ? blob_file (p, at, path, error) : NULL;
  g_free (path);
  if (!bytes)
    return NULL;
  gsize len;
  const guint8 *f = g_bytes_get_data (bytes, &len);
  AfTestBlob b;
  GError *e = NULL;
  if (!af_test_blob_get (f, len, (guint64) off, &b, &e)) {
    fail_at (p, offtok, error, "BLOBFILE: %s", e->message);
    g_error_free (e);
    return NULL;
  }
  guint bits = af_test_blob_bits (b.dtype);
  gsize n = type_elements (ty);
  if (b.dtype != blob_code (ty->dtype) || b.size * 8 - b.padding_bits != (guint64) n * bits) {
    fail_at (p, offtok, error,
             "BLOBFILE offset %.0f: blob of dtype code %u and %" G_GUINT64_FORMAT
             " bytes does not hold a %s tensor of %zu elements",
             off, b.dtype, b.size, mil_dtype_name (ty->dtype), n);
    return NULL;
  }
  MilTensor *t = tensor_of_type (ty);
  for (gsize i = 0; i < t->n; i++)
    t->v[i] = blob_value (&b, ty->dtype, bits, i);
  return t;
}

/* A literal: TYPE(BLOBFILE(...) | scalar | "string" | [list]). */
static MilTensor *
parse_literal (Parser *p, GError **error)
{
  MilType ty;
  MilToken *at = tok (p);
  if (!parse_type (p, &ty, error) || !expect_punct (p, '(', error))
    return NULL;
  MilTensor *t = NULL;
  if (is_word (p, "BLOBFILE")) {
    if (!(t = parse_blobfile (p, &ty, error)))
      return NULL;
  } else if (ty.dtype == MIL_STRING) {
    if (ty.rank)
      return fail_at (p, at, error, "string tensors of rank %d are not supported", ty.rank), NULL;
    if (tok (p)->kind != MIL_TOK_STRING)
      return fail_at (p, tok (p), error, "expected a string, found \"%s\"", tok_desc (tok (p))),
             NULL;
    t = tensor_of_type (&ty);
    t->str = g_strdup (tok (p)->text);
    next (p);
  } else {
    GArray *vals = g_array_new (FALSE, FALSE, sizeof (double));
    gboolean ok;
    if (is_punct (p, '['))
      ok = parse_list_body (p, ty.dtype, vals, 0, error);
    else {
      double v;
      ok = parse_scalar (p, ty.dtype, &v, error);
      if (ok)
        g_array_append_val (vals, v);
    }
    if (ok && vals->len != type_elements (&ty))
      fail_at (p, at, error, "%u values for a tensor of %zu elements", vals->len,
               type_elements (&ty));
    else if (ok) {
      t = tensor_of_type (&ty);
      memcpy (t->v, vals->data, t->n * sizeof (double));
    }
    g_array_unref (vals);
    if (!t)
      return NULL;
  }
  if (!expect_punct (p, ')', error)) {
    mil_tensor_free (t);
    return NULL;
  }
  return t;
}

void
mil_arg_free (MilArg *a)
{
  if (!a)
    return;
  g_free (a->name);
  g_free (a->var);
  mil_tensor_free (a->value);
  if (a->items)
    g_ptr_array_unref (a->items);
  g_free (a);
}

/* A literal starts with a type: "tensor" or a dtype followed by '('. */
static gboolean
starts_literal (Parser *p)
{
  MilDtype d;
  if (is_word (p, "tensor"))
    return TRUE;
  return tok (p)->kind == MIL_TOK_IDENT && mil_dtype_from_name (tok (p)->text, &d) &&
         g_array_index (p->toks, MilToken, p->pos + 1).kind == MIL_TOK_PUNCT &&
         g_array_index (p->toks, MilToken, p->pos + 1).text[0] == '(';
}

/* value := VAR | literal | (value, ...) */
static MilArg *
parse_value (Parser *p, int depth, GError **error)
{
  MilArg *a = g_new0 (MilArg, 1);
  a->line = tok (p)->line;
  a->col = tok (p)->col;
  if (is_punct (p, '(')) {
    if (depth > 4) {
      fail_at (p, tok (p), error, "lists nested too deep");
      goto fail;
    }
    next (p);
    a->kind = MIL_ARG_LIST;
    a->items = g_ptr_array_new_with_free_func ((GDestroyNotify) mil_arg_free);
    for (gboolean first = TRUE; !is_punct (p, ')'); first = FALSE) {
      if (!first && !expect_punct (p, ',', error))
        goto fail;
      MilArg *item = parse_value (p, depth + 1, error);
      if (!item)
        goto fail;
      g_ptr_array_add (a->items, item);
    }
    next (p);
  } else if (starts_literal (p)) {
    a->kind = MIL_ARG_VALUE;
    if (!(a->value = parse_literal (p, error)))
      goto fail;
  } else {
    const char *v = expect_ident (p, "a variable or a literal", error);
    if (!v)
      goto fail;
    a->kind = MIL_ARG_VAR;
    a->var = g_strdup (v);
  }
  return a;
fail:
  mil_arg_free (a);
  return NULL;
}

/* NAME = value, ... up to @close; appended to @args. */
static gboolean
parse_kwargs (Parser *p, char close, GPtrArray *args, GError **error)
{
  for (gboolean first = TRUE; !is_punct (p, close); first = FALSE) {
    if (!first && !expect_punct (p, ',', error))
      return FALSE;
    MilToken *nt = tok (p);
    const char *name = expect_ident (p, "an argument name", error);
    if (!name || !expect_punct (p, '=', error))
      return FALSE;
    for (guint i = 0; i < args->len; i++)
      if (strcmp (((MilArg *) args->pdata[i])->name, name) == 0)
        return fail_at (p, nt, error, "argument \"%s\" given twice", name);
    MilArg *a = parse_value (p, 0, error);
    if (!a)
      return FALSE;
    a->name = g_strdup (name);
    a->line = nt->line;
    a->col = nt->col;
    g_ptr_array_add (args, a);
  }
  next (p);
  return TRUE;
}

static void
op_free (MilOp *op)
{
  g_free (op->out);
  g_free (op->op);
  g_free (op->name);
  g_ptr_array_unref (op->args);
  g_free (op);
}

/* TYPE VAR = OP(args)[attrs]; — the name attribute must be a string. */
static MilOp *
parse_op (Parser *p, GError **error)
{
  MilOp *op = g_new0 (MilOp, 1);
  op->args = g_ptr_array_new_with_free_func ((GDestroyNotify) mil_arg_free);
  op->line = tok (p)->line;
  op->col = tok (p)->col;
  const char *s;
  if (!parse_type (p, &op->type, error) || !(s = expect_ident (p, "the output's name", error)))
    goto fail;
  op->out = g_strdup (s);
  if (!expect_punct (p, '=', error) || !(s = expect_ident (p, "an op name", error)))
    goto fail;
  op->op = g_strdup (s);
  if (!expect_punct (p, '(', error) || !parse_kwargs (p, ')', op->args, error))
    goto fail;
  op->n_call_args = op->args->len;
  if (is_punct (p, '[')) {
    next (p);
    if (!parse_kwargs (p, ']', op->args, error))
      goto fail;
  }
  for (guint i = op->n_call_args; i < op->args->len; i++) {
    MilArg *a = op->args->pdata[i];
    if (strcmp (a->name, "name"))
      continue;
    if (a->kind != MIL_ARG_VALUE || a->value->dtype != MIL_STRING) {
      g_set_error (error, MIL_ERROR, 0, "%s:%d:%d: the name attribute must be a string", p->file,
                   a->line, a->col);
      goto fail;
    }
    op->name = g_strdup (a->value->str);
    g_ptr_array_remove_index (op->args, i);
    break;
  }
  if (!expect_punct (p, ';', error))
    goto fail;
  return op;
fail:
  op_free (op);
  return NULL;
}

static void
func_free (MilFunc *f)
{
  g_free (f->name);
  g_free (f->opset);
  g_ptr_array_unref (f->params);
  g_ptr_array_unref (f->ops);
  g_ptr_array_unref (f->outputs);
  g_free (f);
}

static void
param_free (MilParam *pa)
{
  g_free (pa->name);
  g_free (pa);
}

/* The opsets each program version goes with (§1.2 observed pairs). */
static gboolean
opset_fits (Parser *p, const char *opset)
{
  if (p->v13)
    return strcmp (opset, "ios18") == 0;
  return !strcmp (opset, "ios15") || !strcmp (opset, "ios16") || !strcmp (opset, "ios17");
}

/* func NAME<OPSET>(TYPE NAME, ...) { ops } -> (OUT, ...); */
static MilFunc *
parse_func (Parser *p, GError **error)
{
  MilFunc *f = g_new0 (MilFunc, 1);
  f->params = g_ptr_array_new_with_free_func ((GDestroyNotify) param_free);
  f->ops = g_ptr_array_new_with_free_func ((GDestroyNotify) op_free);
  f->outputs = g_ptr_array_new_with_free_func (g_free);
  f->line = tok (p)->line;
  f->col = tok (p)->col;
  const char *s;
  if (!expect_word (p, "func", error) || !(s = expect_ident (p, "a function name", error)))
    goto fail;
  f->name = g_strdup (s);
  MilToken *ot;
  if (!expect_punct (p, '<', error) || !(ot = tok (p)) ||
      !(s = expect_ident (p, "an opset", error)))
    goto fail;
  f->opset = g_strdup (s);
  if (!opset_fits (p, s)) {
    fail_at (p, ot, error, "opset %s in a program(%s)", s, p->v13 ? "1.3" : "1.0");
    goto fail;
  }
  if (!expect_punct (p, '>', error) || !expect_punct (p, '(', error))
    goto fail;
  for (gboolean first = TRUE; !is_punct (p, ')'); first = FALSE) {
    if (!first && !expect_punct (p, ',', error))
      goto fail;
    MilParam *pa = g_new0 (MilParam, 1);
    g_ptr_array_add (f->params, pa);
    if (!parse_type (p, &pa->type, error) || !(s = expect_ident (p, "a parameter name", error)))
      goto fail;
    pa->name = g_strdup (s);
  }
  next (p);
  if (!expect_punct (p, '{', error))
    goto fail;
  while (!is_punct (p, '}')) {
    MilOp *op = parse_op (p, error);
    if (!op)
      goto fail;
    g_ptr_array_add (f->ops, op);
  }
  next (p);
  if (tok (p)->kind != MIL_TOK_ARROW) {
    fail_at (p, tok (p), error, "expected \"->\", found \"%s\"", tok_desc (tok (p)));
    goto fail;
  }
  next (p);
  if (!expect_punct (p, '(', error))
    goto fail;
  for (gboolean first = TRUE; !is_punct (p, ')'); first = FALSE) {
    if (!first && !expect_punct (p, ',', error))
      goto fail;
    if (!(s = expect_ident (p, "an output name", error)))
      goto fail;
    g_ptr_array_add (f->outputs, g_strdup (s));
  }
  next (p);
  if (!expect_punct (p, ';', error))
    goto fail;
  return f;
fail:
  func_free (f);
  return NULL;
}

/* dict<K, V>({{"k", "v"}, ...}) with string keys and values. */
static gboolean
parse_build_info (Parser *p, GHashTable *info, GError **error)
{
  MilType k, v;
  if (!expect_word (p, "dict", error) || !expect_punct (p, '<', error) ||
      !parse_type (p, &k, error) || !expect_punct (p, ',', error) || !parse_type (p, &v, error) ||
      !expect_punct (p, '>', error))
    return FALSE;
  if (k.dtype != MIL_STRING || v.dtype != MIL_STRING || k.rank || v.rank)
    return fail_at (p, tok (p), error, "buildInfo must be a dict of strings");
  if (!expect_punct (p, '(', error) || !expect_punct (p, '{', error))
    return FALSE;
  for (gboolean first = TRUE; !is_punct (p, '}'); first = FALSE) {
    if (!first && !expect_punct (p, ',', error))
      return FALSE;
    if (!expect_punct (p, '{', error))
      return FALSE;
    MilToken *kt = tok (p), *vt;
    if (kt->kind != MIL_TOK_STRING)
      return fail_at (p, kt, error, "expected a string key");
    next (p);
    if (!expect_punct (p, ',', error))
      return FALSE;
    if ((vt = tok (p))->kind != MIL_TOK_STRING)
      return fail_at (p, vt, error, "expected a string value");
    next (p);
    g_hash_table_insert (info, g_strdup (kt->text), g_strdup (vt->text));
    if (!expect_punct (p, '}', error))
      return FALSE;
  }
  next (p);
  return expect_punct (p, ')', error);
}

/* program(VER) [buildInfo = ...] { funcs } */
static gboolean
parse_program (Parser *p, MilProgram *prog, GError **error)
{
  if (!expect_word (p, "program", error) || !expect_punct (p, '(', error))
    return FALSE;
  MilToken *vt = tok (p);
  if (vt->kind != MIL_TOK_NUMBER || (strcmp (vt->text, "1.0") && strcmp (vt->text, "1.3")))
    return fail_at (p, vt, error, "program version \"%s\": 1.0 or 1.3 expected", tok_desc (vt));
  prog->version = g_strdup (vt->text);
  p->v13 = strcmp (vt->text, "1.3") == 0;
  next (p);
  if (!expect_punct (p, ')', error))
    return FALSE;
  if (is_punct (p, '[')) {
    next (p);
    if (!expect_word (p, "buildInfo", error) || !expect_punct (p, '=', error) ||
        !parse_build_info (p, prog->build_info, error) || !expect_punct (p, ']', error))
      return FALSE;
  }
  if (!expect_punct (p, '{', error))
    return FALSE;
  while (!is_punct (p, '}')) {
    MilFunc *f = parse_func (p, error);
    if (!f)
      return FALSE;
    g_ptr_array_add (prog->funcs, f);
  }
  next (p);
  if (tok (p)->kind != MIL_TOK_EOF)
    return fail_at (p, tok (p), error, "text after the program: \"%s\"", tok_desc (tok (p)));
  return TRUE;
}

MilProgram *
mil_parse (const char *text, gsize len, const char *file, const char *model_dir, GError **error)
{
  GArray *toks = mil_lex (text, len, file, error);
  if (!toks)
    return NULL;
  MilProgram *prog = g_new0 (MilProgram, 1);
  prog->file = g_strdup (file);
  prog->build_info = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  prog->funcs = g_ptr_array_new_with_free_func ((GDestroyNotify) func_free);
  Parser p = {
    toks,  0,
    file,  model_dir,
    FALSE, g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref)
  };
  gboolean ok = parse_program (&p, prog, error);
  g_hash_table_unref (p.blob_files);
  mil_tokens_free (toks);
  if (!ok)
    g_clear_pointer (&prog, mil_program_free);
  return prog;
}

MilProgram *
mil_load (const char *dir, GError **error)
{
  char *path = g_build_filename (dir, "model.mil", NULL);
  char *text;
  gsize len;
  MilProgram *p = NULL;
  if (g_file_get_contents (path, &text, &len, error)) {
    p = mil_parse (text, len, path, dir, error);
    g_free (text);
  }
  g_free (path);
  return p;
}

void
mil_program_free (MilProgram *p)
{
  if (!p)
    return;
  g_free (p->file);
  g_free (p->version);
  g_hash_table_unref (p->build_info);
  g_ptr_array_unref (p->funcs);
  g_free (p);
}

const char *
mil_program_version (const MilProgram *p)
{
  return p->version;
}

const char *
mil_program_build_info (const MilProgram *p, const char *key)
{
  return g_hash_table_lookup (p->build_info, key);
}

static MilFunc *
find_func (const MilProgram *p, const char *name)
{
  for (guint i = 0; i < p->funcs->len; i++)
    if (strcmp (((MilFunc *) p->funcs->pdata[i])->name, name) == 0)
      return p->funcs->pdata[i];
  return NULL;
}

guint
mil_program_n_ops (const MilProgram *p, const char *func)
{
  MilFunc *f = find_func (p, func);
  return f ? f->ops->len : 0;
}

const char *
mil_program_opset (const MilProgram *p, const char *func)
{
  MilFunc *f = find_func (p, func);
  return f ? f->opset : NULL;
}
