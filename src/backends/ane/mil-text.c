/* mil-text.c — the MIL program container and its printer: Apple's
 * `model.mil` text in the program(1.3)/ios18 or program(1.0)/ios16 dialect
 * (../shared/ane/README.md §1.1 samples, §1.2 grammar).
 *
 * Layout follows the published samples: the ios18 form of §1.1(d) (function
 * indented 4, body 8, closing line 4) and coremlc's own ios16 output of
 * §1.1(a) (body 12, closing line 8). fp16 literals are C99 hex floats
 * (`%a` of the value widened to double, §1.1(c)). */
#include "backends/ane/mil.h"

#include <string.h>

const char *
af_ane_dialect_name (AfAneDialect d)
{
  return d == AF_ANE_DIALECT_IOS16 ? "ios16" : "ios18";
}

gboolean
af_ane_dialect_parse (const char *s, AfAneDialect *out)
{
  if (g_strcmp0 (s, "ios18") == 0)
    *out = AF_ANE_DIALECT_IOS18;
  else if (g_strcmp0 (s, "ios16") == 0)
    *out = AF_ANE_DIALECT_IOS16;
  else
    return FALSE;
  return TRUE;
}

const char *
af_mil_dtype_name (AfMilDtype t)
{
  static const char *const names[] = { "fp16", "uint8", "int32", "bool", "string" };
  return names[t];
}

/* ------------------------------------------------------------ the container */

static void
af_mil_arg_free (gpointer p)
{
  AfMilArg *a = p;
  g_free (a->name);
  g_ptr_array_unref (a->vars);
  g_free (a);
}

static void
af_mil_op_free (gpointer p)
{
  AfMilOp *op = p;
  g_free (op->op);
  g_free (op->var);
  g_ptr_array_unref (op->args);
  g_free (op->val.halves);
  g_free (op->val.ints);
  g_free (op->val.str);
  g_free (op);
}

static void
af_mil_port_clear (gpointer p)
{
  g_free (((AfMilPort *) p)->var);
}

AfMilProgram *
af_mil_program_new (AfAneDialect d)
{
  AfMilProgram *p = g_new0 (AfMilProgram, 1);
  p->dialect = d;
  p->inputs = g_array_new (FALSE, TRUE, sizeof (AfMilPort));
  g_array_set_clear_func (p->inputs, af_mil_port_clear);
  p->ops = g_ptr_array_new_with_free_func (af_mil_op_free);
  p->outputs = g_ptr_array_new_with_free_func (g_free);
  p->blob = af_ane_blob_writer_new ();
  p->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return p;
}

void
af_mil_program_free (AfMilProgram *p)
{
  if (!p)
    return;
  g_array_unref (p->inputs);
  g_ptr_array_unref (p->ops);
  g_ptr_array_unref (p->outputs);
  af_ane_blob_writer_free (p->blob);
  g_hash_table_unref (p->names);
  g_free (p);
}

/* Words of the text grammar a variable must not be spelled as. */
static gboolean
af_mil_is_keyword (const char *s)
{
  static const char *const words[] = { "program", "func",  "tensor",  "const", "string", "bool",
                                       "fp16",    "fp32",  "int8",    "uint8", "int16",  "uint16",
                                       "int32",   "int64", "uint64",  "dict",  "list",   "tuple",
                                       "true",    "false", "BLOBFILE" };
  for (gsize i = 0; i < G_N_ELEMENTS (words); i++)
    if (strcmp (s, words[i]) == 0)
      return TRUE;
  return FALSE;
}

char *
af_mil_identifier (const char *name)
{
  GString *s = g_string_new (NULL);
  if (!name[0] || g_ascii_isdigit (name[0]))
    g_string_append (s, "v_");
  for (const char *c = name; *c; c++)
    g_string_append_c (s, g_ascii_isalnum (*c) || *c == '_' ? *c : '_');
  if (af_mil_is_keyword (s->str))
    g_string_append_c (s, '_');
  return g_string_free (s, FALSE);
}

const char *
af_mil_fresh_name (AfMilProgram *p, const char *base)
{
  char *id = af_mil_identifier (base);
  char *name = g_strdup (id);
  for (guint k = 1; g_hash_table_contains (p->names, name); k++) {
    g_free (name);
    name = g_strdup_printf ("%s_%u", id, k);
  }
  g_free (id);
  g_hash_table_add (p->names, name);
  return name;
}

AfMilOp *
af_mil_append (AfMilProgram *p, const char *op, const char *base, const AfMilType *type)
{
  AfMilOp *o = g_new0 (AfMilOp, 1);
  o->op = g_strdup (op);
  o->var = g_strdup (af_mil_fresh_name (p, base));
  o->type = *type;
  o->args = g_ptr_array_new_with_free_func (af_mil_arg_free);
  g_ptr_array_add (p->ops, o);
  return o;
}

void
af_mil_add_arg (AfMilOp *op, const char *name, gboolean tuple, guint n, const char *const *vars)
{
  AfMilArg *a = g_new0 (AfMilArg, 1);
  a->name = g_strdup (name);
  a->tuple = tuple;
  a->vars = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (a->vars, g_strdup (vars[i]));
  g_ptr_array_add (op->args, a);
}

/* ------------------------------------------------------------ the printer */

/* A scalar literal of type @dtype written @text: `int32(1)` (ios18) or
 * `tensor<int32, []>(1)` (ios16). */
static void
af_mil_scalar (GString *s, AfAneDialect d, const char *dtype, const char *text)
{
  if (d == AF_ANE_DIALECT_IOS16)
    g_string_append_printf (s, "tensor<%s, []>(%s)", dtype, text);
  else
    g_string_append_printf (s, "%s(%s)", dtype, text);
}

static void
af_mil_string_literal (GString *s, AfAneDialect d, const char *str)
{
  GString *q = g_string_new ("\"");
  for (const char *c = str; *c; c++) {
    if (*c == '"' || *c == '\\')
      g_string_append_c (q, '\\');
    g_string_append_c (q, *c);
  }
  g_string_append_c (q, '"');
  af_mil_scalar (s, d, "string", q->str);
  g_string_free (q, TRUE);
}

static void
af_mil_type (GString *s, AfAneDialect d, const AfMilType *t)
{
  const char *dt = af_mil_dtype_name (t->dtype);
  if (t->rank == 0 && d == AF_ANE_DIALECT_IOS18) {
    g_string_append (s, dt);
    return;
  }
  g_string_append_printf (s, "tensor<%s, [", dt);
  for (int i = 0; i < t->rank; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", t->d[i]);
  g_string_append (s, "]>");
}

/* One element of an inline value as text. */
static void
af_mil_element (GString *s, const AfMilType *t, const AfMilValue *v, gsize i)
{
  if (t->dtype == AF_MIL_FP16)
    g_string_append_printf (s, "%a", (double) af_fp16_to_f32 (v->halves[i]));
  else if (t->dtype == AF_MIL_BOOL)
    g_string_append (s, v->ints[i] ? "true" : "false");
  else
    g_string_append_printf (s, "%" G_GINT64_FORMAT, v->ints[i]);
}

/* The `val` literal of a const statement. */
static void
af_mil_value (GString *s, AfAneDialect d, const AfMilType *t, const AfMilValue *v)
{
  if (t->dtype == AF_MIL_STRING) {
    af_mil_string_literal (s, d, v->str);
    return;
  }
  if (v->in_blob) {
    af_mil_type (s, d, t);
    g_string_append (s, "(BLOBFILE(path = ");
    af_mil_string_literal (s, d, "@model_path/weights/weight.bin");
    g_string_append (s, ", offset = ");
    char off[32];
    g_snprintf (off, sizeof off, "%" G_GUINT64_FORMAT, v->offset);
    af_mil_scalar (s, d, "uint64", off);
    g_string_append (s, "))");
    return;
  }
  if (t->rank == 0) {
    GString *e = g_string_new (NULL);
    af_mil_element (e, t, v, 0);
    af_mil_scalar (s, d, af_mil_dtype_name (t->dtype), e->str);
    g_string_free (e, TRUE);
    return;
  }
  af_mil_type (s, d, t);
  g_string_append (s, "([");
  for (gsize i = 0; i < v->n; i++) {
    if (i)
      g_string_append (s, ", ");
    af_mil_element (s, t, v, i);
  }
  g_string_append (s, "])");
}

static int
af_mil_arg_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(AfMilArg *const *) a)->name, (*(AfMilArg *const *) b)->name);
}

/* `x = a, y = b` with the arguments in name order (coremlc's order). */
static void
af_mil_args (GString *s, const AfMilOp *op)
{
  GPtrArray *sorted = g_ptr_array_copy (op->args, NULL, NULL);
  g_ptr_array_set_free_func (sorted, NULL); /* the copy borrows the arguments */
  g_ptr_array_sort (sorted, af_mil_arg_cmp);
  for (guint i = 0; i < sorted->len; i++) {
    const AfMilArg *a = g_ptr_array_index (sorted, i);
    g_string_append_printf (s, "%s%s = %s", i ? ", " : "", a->name, a->tuple ? "(" : "");
    for (guint j = 0; j < a->vars->len; j++)
      g_string_append_printf (s, "%s%s", j ? ", " : "", (char *) g_ptr_array_index (a->vars, j));
    if (a->tuple)
      g_string_append_c (s, ')');
  }
  g_ptr_array_unref (sorted);
}

static void
af_mil_statement (GString *s, AfAneDialect d, const char *indent, const AfMilOp *op)
{
  g_string_append (s, indent);
  af_mil_type (s, d, &op->type);
  g_string_append_printf (s, " %s = %s(", op->var, op->op);
  af_mil_args (s, op);
  g_string_append (s, ")[name = ");
  af_mil_string_literal (s, d, op->var);
  if (strcmp (op->op, "const") == 0) {
    g_string_append (s, ", val = ");
    af_mil_value (s, d, &op->type, &op->val);
  }
  g_string_append (s, "];\n");
}

static void
af_mil_header (GString *s, AfAneDialect d)
{
  if (d == AF_ANE_DIALECT_IOS16)
    g_string_append (s, "program(1.0)\n[buildInfo = dict<tensor<string, []>, tensor<string, []>>("
                        "{{\"coremlc-component-MIL\", \"3402.3.2\"}, {\"coremlc-version\", "
                        "\"3402.4.1\"}})]\n{\n");
  else
    g_string_append (s, "program(1.3)\n[buildInfo = dict<string, string>("
                        "{{\"coremlc-component-MIL\", \"3520.4.1\"}, {\"coremlc-version\", "
                        "\"3520.5.1\"}})]\n{\n");
}

char *
af_mil_print (const AfMilProgram *p)
{
  AfAneDialect d = p->dialect;
  const char *body = d == AF_ANE_DIALECT_IOS16 ? "            " : "        ";
  const char *close = d == AF_ANE_DIALECT_IOS16 ? "        " : "    ";
  GString *s = g_string_new (NULL);
  af_mil_header (s, d);
  g_string_append_printf (s, "    func main<%s>(", af_ane_dialect_name (d));
  for (guint i = 0; i < p->inputs->len; i++) {
    const AfMilPort *in = &g_array_index (p->inputs, AfMilPort, i);
    if (i)
      g_string_append (s, ", ");
    af_mil_type (s, d, &in->type);
    g_string_append_printf (s, " %s", in->var);
  }
  g_string_append (s, ") {\n");
  for (guint i = 0; i < p->ops->len; i++)
    af_mil_statement (s, d, body, g_ptr_array_index (p->ops, i));
  g_string_append_printf (s, "%s} -> (", close);
  for (guint i = 0; i < p->outputs->len; i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", (char *) g_ptr_array_index (p->outputs, i));
  g_string_append (s, ");\n}\n");
  return g_string_free (s, FALSE);
}
