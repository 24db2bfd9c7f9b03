/* mil-interp.c — values (MilTensor, fp16 rounding) and the run loop: each op
 * statement of a function in order, its arguments checked against the op's
 * declared list, its result checked against the declared type and rounded
 * to that dtype (fp16: to nearest even) before it is stored. */
#include "mil-ops.h"

#include <math.h>
#include <string.h>

static const char *const dtype_names[MIL_N_DTYPES] = {
  [MIL_FP16] = "fp16",     [MIL_FP32] = "fp32",     [MIL_FP64] = "fp64",     [MIL_INT4] = "int4",
  [MIL_INT8] = "int8",     [MIL_INT16] = "int16",   [MIL_INT32] = "int32",   [MIL_INT64] = "int64",
  [MIL_UINT1] = "uint1",   [MIL_UINT2] = "uint2",   [MIL_UINT4] = "uint4",   [MIL_UINT8] = "uint8",
  [MIL_UINT16] = "uint16", [MIL_UINT32] = "uint32", [MIL_UINT64] = "uint64", [MIL_BOOL] = "bool",
  [MIL_STRING] = "string",
};

const char *
mil_dtype_name (MilDtype d)
{
  return d < MIL_N_DTYPES ? dtype_names[d] : "?";
}

gboolean
mil_dtype_from_name (const char *s, MilDtype *out)
{
  for (int d = 0; d < MIL_N_DTYPES; d++)
    if (strcmp (s, dtype_names[d]) == 0) {
      *out = (MilDtype) d;
      return TRUE;
    }
  return FALSE;
}

MilTensor *
mil_tensor_new (MilDtype dtype, int rank, const gint64 *shape)
{
  g_assert (rank >= 0 && rank <= MIL_MAX_RANK);
  MilTensor *t = g_new0 (MilTensor, 1);
  t->dtype = dtype;
  t->rank = rank;
  t->n = 1;
  for (int i = 0; i < rank; i++) {
    t->shape[i] = shape[i];
    t->n *= (gsize) shape[i];
  }
  if (dtype != MIL_STRING)
    t->v = g_new0 (double, MAX (t->n, 1));
  return t;
}

void
mil_tensor_free (MilTensor *t)
{
  if (!t)
    return;
  g_free (t->v);
  g_free (t->str);
  g_free (t);
}

MilTensor *
mil_tensor_copy (const MilTensor *t)
{
  MilTensor *c = mil_tensor_new (t->dtype, t->rank, t->shape);
  if (t->v)
    memcpy (c->v, t->v, t->n * sizeof (double));
  c->str = g_strdup (t->str);
  return c;
}

char *
mil_shape_str (int rank, const gint64 *shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < rank; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

float
mil_half_to_float (guint16 h)
{
  int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  float v;
  if (e == 0)
    v = ldexpf ((float) m, -24);
  else if (e == 31)
    v = m ? NAN : INFINITY;
  else
    v = ldexpf ((float) (m | 0x400), e - 25);
  return (h & 0x8000) ? -v : v;
}

/* fp32 -> fp16 by arithmetic: scale to an integer count of the target ulp,
 * let rintf (round to nearest even) do the rounding. */
guint16
mil_float_to_half (float f)
{
  guint16 sign = signbit (f) ? 0x8000 : 0;
  float a = fabsf (f);
  if (isnan (f))
    return sign | 0x7e00;
  if (a >= 65520.0f) /* rounds to infinity */
    return sign | 0x7c00;
  int e;
  frexpf (a, &e);                  /* a = m * 2^e, m in [0.5, 1) */
  int ulp_exp = MAX (e - 11, -24); /* fp16: 11 significant bits, subnormal ulp 2^-24 */
  float q = rintf (ldexpf (a, -ulp_exp));
  double r = ldexp (q, ulp_exp); /* the rounded value, exact */
  if (r == 0)
    return sign;
  int re;
  frexp (r, &re);
  if (re - 1 < -14) /* subnormal: value / 2^-24 */
    return sign | (guint16) ldexp (r, 24);
  int mant = (int) ldexp (r, 11 - re) - 0x400;
  return sign | (guint16) ((re - 1 + 15) << 10) | (guint16) mant;
}

double
mil_round (MilDtype d, double x)
{
  if (isnan (x) && d != MIL_FP16 && d != MIL_FP32 && d != MIL_FP64)
    return 0; /* integers have no NaN (and casting one to an int is undefined) */
  switch (d) {
  case MIL_FP16:
    return mil_half_to_float (mil_float_to_half ((float) x));
  case MIL_FP32:
    return (float) x;
  case MIL_FP64:
    return x;
  case MIL_BOOL:
    return x != 0;
  case MIL_INT4:
    return CLAMP (x, -8, 7);
  case MIL_INT8:
    return CLAMP (x, G_MININT8, G_MAXINT8);
  case MIL_INT16:
    return CLAMP (x, G_MININT16, G_MAXINT16);
  case MIL_INT32:
    return CLAMP (x, G_MININT32, G_MAXINT32);
  case MIL_UINT1:
    return CLAMP (x, 0, 1);
  case MIL_UINT2:
    return CLAMP (x, 0, 3);
  case MIL_UINT4:
    return CLAMP (x, 0, 15);
  case MIL_UINT8:
    return CLAMP (x, 0, G_MAXUINT8);
  case MIL_UINT16:
    return CLAMP (x, 0, G_MAXUINT16);
  case MIL_UINT32:
    return CLAMP (x, 0, G_MAXUINT32);
  default:
    return x;
  }
}

gboolean
mil_fail (MilCtx *c, GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, MIL_ERROR, 0, "%s:%d:%d: %s \"%s\": %s", c->file, c->op->line, c->op->col,
               c->op->op, c->op->out, msg);
  g_free (msg);
  return FALSE;
}

static const MilArg *
find_arg (MilCtx *c, const char *name)
{
  for (guint i = 0; i < c->op->args->len; i++) {
    const MilArg *a = c->op->args->pdata[i];
    if (strcmp (a->name, name) == 0)
      return a;
  }
  return NULL;
}

/* The tensor an argument value denotes (a variable or a literal). */
static gboolean
resolve (MilCtx *c, const MilArg *a, const char *name, const MilTensor **out, GError **error)
{
  if (a->kind == MIL_ARG_LIST)
    return mil_fail (c, error, "argument \"%s\" is a list, expected one value", name);
  if (a->kind == MIL_ARG_VALUE) {
    *out = a->value;
    return TRUE;
  }
  *out = g_hash_table_lookup (c->env, a->var);
  if (!*out)
    return mil_fail (c, error, "argument \"%s\": undefined variable \"%s\"", name, a->var);
  return TRUE;
}

gboolean
mil_arg (MilCtx *c, const char *name, gboolean required, const MilTensor **out, GError **error)
{
  const MilArg *a = find_arg (c, name);
  *out = NULL;
  if (!a)
    return required ? mil_fail (c, error, "missing argument \"%s\"", name) : TRUE;
  return resolve (c, a, name, out, error);
}

gboolean
mil_arg_list (MilCtx *c, const char *name, GPtrArray **out, GError **error)
{
  const MilArg *a = find_arg (c, name);
  if (!a)
    return mil_fail (c, error, "missing argument \"%s\"", name);
  if (a->kind != MIL_ARG_LIST)
    return mil_fail (c, error, "argument \"%s\" must be a list (a, b, ...)", name);
  GPtrArray *l = g_ptr_array_new ();
  for (guint i = 0; i < a->items->len; i++) {
    const MilTensor *t;
    if (!resolve (c, a->items->pdata[i], name, &t, error)) {
      g_ptr_array_unref (l);
      return FALSE;
    }
    g_ptr_array_add (l, (gpointer) t);
  }
  *out = l;
  return TRUE;
}

static gboolean
is_integer_dtype (MilDtype d)
{
  return d != MIL_FP16 && d != MIL_FP32 && d != MIL_FP64 && d != MIL_BOOL && d != MIL_STRING;
}

gboolean
mil_arg_ints (MilCtx *c, const char *name, int n_max, const gint64 *dflt, int n_dflt, gint64 *out,
              int *n, GError **error)
{
  const MilTensor *t;
  if (!mil_arg (c, name, dflt == NULL, &t, error))
    return FALSE;
  if (!t) {
    memcpy (out, dflt, (gsize) n_dflt * sizeof *out);
    *n = n_dflt;
    return TRUE;
  }
  if (!is_integer_dtype (t->dtype) || t->rank > 1)
    return mil_fail (c, error,
                     "argument \"%s\" must be an integer scalar or vector, not %s rank %d", name,
                     mil_dtype_name (t->dtype), t->rank);
  if (t->n > (gsize) n_max)
    return mil_fail (c, error, "argument \"%s\" has %zu values, at most %d", name, t->n, n_max);
  for (gsize i = 0; i < t->n; i++)
    out[i] = (gint64) t->v[i];
  *n = (int) t->n;
  return TRUE;
}

gboolean
mil_arg_int (MilCtx *c, const char *name, const gint64 *dflt, gint64 *out, GError **error)
{
  const MilTensor *t;
  if (!mil_arg (c, name, dflt == NULL, &t, error))
    return FALSE;
  if (!t) {
    *out = *dflt;
    return TRUE;
  }
  if (!is_integer_dtype (t->dtype) || t->rank != 0)
    return mil_fail (c, error, "argument \"%s\" must be an integer scalar", name);
  *out = (gint64) t->v[0];
  return TRUE;
}

gboolean
mil_arg_float (MilCtx *c, const char *name, const double *dflt, double *out, GError **error)
{
  const MilTensor *t;
  if (!mil_arg (c, name, dflt == NULL, &t, error))
    return FALSE;
  if (!t) {
    *out = *dflt;
    return TRUE;
  }
  if (t->dtype == MIL_STRING || t->dtype == MIL_BOOL || t->n != 1)
    return mil_fail (c, error, "argument \"%s\" must be a number", name);
  *out = t->v[0];
  return TRUE;
}

gboolean
mil_arg_bool (MilCtx *c, const char *name, const gboolean *dflt, gboolean *out, GError **error)
{
  const MilTensor *t;
  if (!mil_arg (c, name, dflt == NULL, &t, error))
    return FALSE;
  if (!t) {
    *out = *dflt;
    return TRUE;
  }
  if (t->dtype != MIL_BOOL || t->rank != 0)
    return mil_fail (c, error, "argument \"%s\" must be a bool scalar", name);
  *out = t->v[0] != 0;
  return TRUE;
}

gboolean
mil_arg_string (MilCtx *c, const char *name, const char *dflt, const char **out, GError **error)
{
  const MilTensor *t;
  if (!mil_arg (c, name, dflt == NULL, &t, error))
    return FALSE;
  if (!t) {
    *out = dflt;
    return TRUE;
  }
  if (t->dtype != MIL_STRING)
    return mil_fail (c, error, "argument \"%s\" must be a string", name);
  *out = t->str;
  return TRUE;
}

/* Every argument of the statement must be one the op declares. */
static gboolean
check_arg_names (MilCtx *c, const MilOpDef *def, GError **error)
{
  for (guint i = 0; i < c->op->args->len; i++) {
    const MilArg *a = c->op->args->pdata[i];
    gboolean known = FALSE;
    for (int k = 0; def->args[k] && !known; k++)
      known = strcmp (def->args[k], a->name) == 0;
    if (!known)
      return mil_fail (c, error, "unknown argument \"%s\"", a->name);
  }
  return TRUE;
}

/* The result must have the declared dtype and shape; then it is rounded. */
static gboolean
check_result (MilCtx *c, MilTensor *t, GError **error)
{
  const MilType *ty = &c->op->type;
  gboolean same = t->dtype == ty->dtype && t->rank == ty->rank;
  for (int i = 0; same && i < t->rank; i++)
    same = t->shape[i] == ty->dims[i];
  if (!same) {
    char *a = mil_shape_str (t->rank, t->shape), *b = mil_shape_str (ty->rank, ty->dims);
    mil_fail (c, error, "result is %s %s, declared %s %s", mil_dtype_name (t->dtype), a,
              mil_dtype_name (ty->dtype), b);
    g_free (a);
    g_free (b);
    return FALSE;
  }
  for (gsize i = 0; t->v && i < t->n; i++)
    t->v[i] = mil_round (t->dtype, t->v[i]);
  return TRUE;
}

/* Runs one statement and stores its result under its SSA name. */
static gboolean
run_op (MilCtx *c, GError **error)
{
  const MilOpDef *def = mil_op_lookup (c->op->op);
  if (!def)
    return mil_fail (c, error, "unknown op \"%s\"", c->op->op);
  if (g_hash_table_contains (c->env, c->op->out))
    return mil_fail (c, error, "\"%s\" is defined twice", c->op->out);
  MilTensor *t = NULL;
  if (!check_arg_names (c, def, error) || !def->fn (c, &t, error))
    return FALSE;
  if (!check_result (c, t, error)) {
    mil_tensor_free (t);
    return FALSE;
  }
  g_hash_table_insert (c->env, g_strdup (c->op->out), t);
  return TRUE;
}

/* Binds the function's parameters, checking each input's dtype and shape. */
static gboolean
bind_params (const MilProgram *p, const MilFunc *f, GHashTable *inputs, GHashTable *env,
             GError **error)
{
  for (guint i = 0; i < f->params->len; i++) {
    const MilParam *pa = f->params->pdata[i];
    const MilTensor *t = g_hash_table_lookup (inputs, pa->name);
    if (!t) {
      g_set_error (error, MIL_ERROR, 0, "%s:%d:%d: no value given for input \"%s\"", p->file,
                   f->line, f->col, pa->name);
      return FALSE;
    }
    gboolean same = t->dtype == pa->type.dtype && t->rank == pa->type.rank;
    for (int k = 0; same && k < t->rank; k++)
      same = t->shape[k] == pa->type.dims[k];
    if (!same) {
      char *a = mil_shape_str (t->rank, t->shape),
           *b = mil_shape_str (pa->type.rank, pa->type.dims);
      g_set_error (error, MIL_ERROR, 0, "%s:%d:%d: input \"%s\" is %s %s, declared %s %s", p->file,
                   f->line, f->col, pa->name, mil_dtype_name (t->dtype), a,
                   mil_dtype_name (pa->type.dtype), b);
      g_free (a);
      g_free (b);
      return FALSE;
    }
    g_hash_table_insert (env, g_strdup (pa->name), mil_tensor_copy (t));
  }
  return TRUE;
}

GHashTable *
mil_run (MilProgram *p, const char *func, GHashTable *inputs, GError **error)
{
  const MilFunc *f = NULL;
  for (guint i = 0; i < p->funcs->len && !f; i++)
    if (strcmp (((MilFunc *) p->funcs->pdata[i])->name, func) == 0)
      f = p->funcs->pdata[i];
  if (!f) {
    g_set_error (error, MIL_ERROR, 0, "%s: no function \"%s\"", p->file, func);
    return NULL;
  }
  GHashTable *env =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) mil_tensor_free);
  GHashTable *out = NULL;
  if (!bind_params (p, f, inputs, env, error))
    goto done;
  for (guint i = 0; i < f->ops->len; i++) {
    MilCtx c = { f->ops->pdata[i], p->file, env };
    if (!run_op (&c, error))
      goto done;
  }
  out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) mil_tensor_free);
  for (guint i = 0; i < f->outputs->len; i++) {
    const char *name = f->outputs->pdata[i];
    const MilTensor *t = g_hash_table_lookup (env, name);
    if (!t) {
      g_set_error (error, MIL_ERROR, 0, "%s:%d:%d: output \"%s\" is never defined", p->file,
                   f->line, f->col, name);
      g_clear_pointer (&out, g_hash_table_unref);
      goto done;
    }
    g_hash_table_insert (out, g_strdup (name), mil_tensor_copy (t));
  }
done:
  g_hash_table_unref (env);
  return out;
}
