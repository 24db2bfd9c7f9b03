/* ops-shape.c — op mappers of the shape-arithmetic family: Constant, Shape,
 * Gather, Cast and ConstantOfShape. They produce host constants, never graph
 * nodes, so shape subgraphs fold away at import. */
#include "import/onnx/onnx-imp.h"

#include <string.h>

static gboolean
op_constant (Imp *im, PbNode *n, GError **error)
{
  if (n->attrs->len != 1)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "expected exactly one attribute");
  PbAttr *a = g_ptr_array_index (n->attrs, 0);
  gboolean bad = FALSE;
  Const *c = NULL;
  if (g_str_equal (a->name, "value")) {
    if (!af__ox_attr_get (im, n, "value", AT_TENSOR, &bad, error))
      return FALSE;
    c = af__ox_tensor_const (im, a->t, OUT0 (n) ? OUT0 (n) : "constant", error);
  } else if (g_str_equal (a->name, "value_float") || g_str_equal (a->name, "value_int")) {
    gboolean f = a->name[6] == 'f';
    if (!af__ox_attr_get (im, n, a->name, f ? AT_FLOAT : AT_INT, &bad, error))
      return FALSE;
    void *d;
    c = af__ox_c_new (im, f ? C_F32 : C_I64, &(AfShape){ 0 }, OUT0 (n), &d);
    if (f)
      *(float *) d = a->f;
    else
      *(gint64 *) d = a->i;
  } else if (g_str_equal (a->name, "value_floats") || g_str_equal (a->name, "value_ints")) {
    gboolean f = a->name[6] == 'f';
    if (!af__ox_attr_get (im, n, a->name, f ? AT_FLOATS : AT_INTS, &bad, error))
      return FALSE;
    GArray *src = f ? a->floats : a->ints;
    gint64 len = src ? src->len : 0;
    void *d;
    c = af__ox_c_new (im, f ? C_F32 : C_I64, &(AfShape){ 1, { len } }, OUT0 (n), &d);
    if (len)
      memcpy (d, src->data, len * (f ? 4 : 8));
  } else {
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "attribute \"%s\" is not supported",
                        a->name);
  }
  if (!c)
    return FALSE;
  af__ox_bind_const (im, OUT0 (n), c);
  return TRUE;
}

static gboolean
op_shape (Imp *im, PbNode *n, GError **error)
{
  gint64 start, end;
  Val *v = af__ox_in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  AfShape s = af__ox_val_shape (v);
  if (!af__ox_attr_int (im, n, "start", 0, &start, error) ||
      !af__ox_attr_int (im, n, "end", s.rank, &end, error))
    return FALSE;
  start = CLAMP (start < 0 ? start + s.rank : start, 0, s.rank);
  end = CLAMP (end < 0 ? end + s.rank : end, 0, s.rank);
  gint64 len = MAX (0, end - start);
  gint64 *d;
  Const *c = af__ox_c_new (im, C_I64, &(AfShape){ 1, { len } }, OUT0 (n), (void **) &d);
  for (gint64 i = 0; i < len; i++)
    d[i] = s.d[start + i];
  af__ox_bind_const (im, OUT0 (n), c);
  return TRUE;
}

static gboolean
op_gather (Imp *im, PbNode *n, GError **error)
{
  gint64 axis;
  if (!af__ox_attr_int (im, n, "axis", 0, &axis, error))
    return FALSE;
  Val *dv = af__ox_in_val (im, n, 0, TRUE, error);
  if (dv && dv->kind != V_CONST)
    return af__ox_gather_computed (im, n, axis, error);
  Const *data = dv ? af__ox_in_const (im, n, 0, "data", error) : NULL;
  Const *idx = data ? af__ox_in_const (im, n, 1, "indices", error) : NULL;
  if (!idx)
    return FALSE;
  int r = data->shape.rank;
  if (r < 1 || axis < -r || axis >= r)
    return af__ox_fail (im, error, AF_ERROR_INVALID,
                        "attribute \"axis\" = %" G_GINT64_FORMAT " is out of range", axis);
  int ax = (int) (axis < 0 ? axis + r : axis);
  if (r - 1 + idx->shape.rank > AF_MAX_RANK)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "result rank above %d", AF_MAX_RANK);
  AfShape out = { 0 };
  for (int i = 0; i < ax; i++)
    out.d[out.rank++] = data->shape.d[i];
  for (int i = 0; i < idx->shape.rank; i++)
    out.d[out.rank++] = idx->shape.d[i];
  for (int i = ax + 1; i < r; i++)
    out.d[out.rank++] = data->shape.d[i];
  gint64 outer = 1, inner = 1, len = data->shape.d[ax];
  for (int i = 0; i < ax; i++)
    outer *= data->shape.d[i];
  for (int i = ax + 1; i < r; i++)
    inner *= data->shape.d[i];
  if (!af__ox_fold_limit (im, &out, error))
    return FALSE;
  void *d;
  gsize es = af__ox_c_esize (data->kind);
  Const *c = af__ox_c_new (im, data->kind, &out, OUT0 (n), &d);
  const guint8 *src = af__ox_c_data (data);
  gint64 at = 0;
  for (gint64 o = 0; o < outer; o++)
    for (gint64 k = 0; k < idx->numel; k++) {
      gint64 j = af__ox_c_get_i64 (idx, k);
      if (j < 0)
        j += len;
      if (j < 0 || j >= len)
        return af__ox_fail (im, error, AF_ERROR_INVALID,
                            "index %" G_GINT64_FORMAT " is out of range",
                            af__ox_c_get_i64 (idx, k));
      memcpy ((guint8 *) d + at * es, src + (o * len + j) * inner * es, inner * es);
      at += inner;
    }
  af__ox_bind_const (im, OUT0 (n), c);
  return TRUE;
}

static gboolean
op_cast (Imp *im, PbNode *n, GError **error)
{
  gint64 to;
  if (!af__ox_attr_int (im, n, "to", 0, &to, error))
    return FALSE;
  Val *v = af__ox_in_val (im, n, 0, TRUE, error);
  if (!v)
    return FALSE;
  gboolean to_float = to == OT_FLOAT || to == OT_FLOAT16 || to == OT_DOUBLE;
  gboolean to_int = to == OT_INT64 || to == OT_INT32 || to == OT_INT16 || to == OT_INT8 ||
                    to == OT_UINT8 || to == OT_UINT16 || to == OT_BOOL;
  if (!to_float && !to_int)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "attribute \"to\" = %" G_GINT64_FORMAT " is not supported", to);
  if (v->kind != V_CONST) {
    if (!to_float)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                          "attribute \"to\" = %" G_GINT64_FORMAT
                          ": casting a computed tensor to an integer type is not supported",
                          to);
    af__ox_bind (im, OUT0 (n), v);
    return TRUE;
  }
  void *d;
  Const *c = af__ox_c_new (im, to_float ? C_F32 : C_I64, &v->c->shape, OUT0 (n), &d);
  for (gint64 i = 0; i < c->numel; i++) {
    if (to_float) {
      float f = (float) af__ox_c_get (v->c, i);
      ((float *) d)[i] = to == OT_FLOAT16 ? af_fp16_to_f32 (af_f32_to_fp16 (f)) : f;
    } else {
      gint64 x = af__ox_c_get_i64 (v->c, i);
      ((gint64 *) d)[i] = to == OT_BOOL     ? x != 0
                          : to == OT_INT8   ? (gint8) x
                          : to == OT_UINT8  ? (guint8) x
                          : to == OT_INT16  ? (gint16) x
                          : to == OT_UINT16 ? (guint16) x
                          : to == OT_INT32  ? (gint32) x
                                            : x;
    }
  }
  af__ox_bind_const (im, OUT0 (n), c);
  return TRUE;
}

static gboolean
op_constant_of_shape (Imp *im, PbNode *n, GError **error)
{
  Const *s = af__ox_in_const (im, n, 0, "shape", error);
  if (!s)
    return FALSE;
  gint64 dims[AF_MAX_RANK];
  if (s->numel > AF_MAX_RANK)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "rank above %d", AF_MAX_RANK);
  for (gint64 i = 0; i < s->numel; i++)
    dims[i] = af__ox_c_get_i64 (s, i);
  AfShape shape;
  if (!af__ox_check_dims (im, "shape", (int) s->numel, dims, &shape, error) ||
      !af__ox_fold_limit (im, &shape, error))
    return FALSE;
  Const *val = NULL;
  PbAttr *a = af__ox_attr_find (n, "value");
  gboolean bad = FALSE;
  if (a) {
    if (!af__ox_attr_get (im, n, "value", AT_TENSOR, &bad, error) ||
        !(val = af__ox_tensor_const (im, a->t, "value", error)))
      return FALSE;
    if (val->numel != 1)
      return af__ox_fail (im, error, AF_ERROR_INVALID, "attribute \"value\" must have one element");
  }
  void *d;
  CKind kind = val && val->kind == C_I64 ? C_I64 : C_F32;
  Const *c = af__ox_c_new (im, kind, &shape, OUT0 (n), &d);
  for (gint64 i = 0; i < c->numel; i++) {
    if (kind == C_I64)
      ((gint64 *) d)[i] = af__ox_c_get_i64 (val, 0);
    else
      ((float *) d)[i] = val ? (float) af__ox_c_get (val, 0) : 0.0f;
  }
  af__ox_bind_const (im, OUT0 (n), c);
  return TRUE;
}

/* CastLike: a Cast to the type of input 1. Between float types it is the
 * identity here (every value is fp16 already); an integer target is refused
 * for a computed tensor, as Cast does. */
static gboolean
op_cast_like (Imp *im, PbNode *n, GError **error)
{
  Val *v = af__ox_in_val (im, n, 0, TRUE, error);
  Val *like = v ? af__ox_in_val (im, n, 1, TRUE, error) : NULL;
  if (!like)
    return FALSE;
  gboolean to_int = like->kind == V_CONST && like->c->kind == C_I64;
  if (to_int || v->kind == V_CONST)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "only a float-to-float CastLike of a computed tensor is supported");
  af__ox_bind (im, OUT0 (n), v);
  return TRUE;
}

/* Comparisons and logic: folded when the inputs are constants (masks,
 * index tests in expanded functions); the graph has no comparison op for
 * computed tensors. */
static gboolean
op_compare (Imp *im, PbNode *n, GError **error)
{
  static const struct {
    const char *name;
    char op;
  } map[] = { { "Equal", '=' },
              { "Less", '<' },
              { "Greater", '>' },
              { "LessOrEqual", 'l' },
              { "GreaterOrEqual", 'g' },
              { "And", '&' },
              { "Or", '|' },
              { "Xor", '^' },
              { "Not", '!' } };
  guint k = 0;
  while (!g_str_equal (map[k].name, n->op))
    k++;
  gboolean unary = map[k].op == '!';
  for (guint i = 0; i < (unary ? 1u : 2u); i++) {
    Val *v = af__ox_in_val (im, n, i, TRUE, error);
    if (!v)
      return FALSE;
    if (v->kind != V_CONST)
      return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                          "input %u \"%s\" is computed; %s of computed tensors is not supported "
                          "(no comparison op, only constants are folded)",
                          i, af__ox_in_name (n, i), n->op);
  }
  Const *a = af__ox_in_const (im, n, 0, "A", error);
  Const *b = a && !unary ? af__ox_in_const (im, n, 1, "B", error) : NULL;
  if (!a || (!unary && !b))
    return FALSE;
  Const *c;
  if (unary) {
    gint64 *d;
    c = af__ox_c_new (im, C_I64, &a->shape, OUT0 (n), (void **) &d);
    for (gint64 i = 0; i < a->numel; i++)
      d[i] = af__ox_c_get (a, i) == 0;
  } else {
    c = af__ox_fold_compare (im, n, map[k].op, a, b, error);
  }
  if (!c)
    return FALSE;
  af__ox_bind_const (im, OUT0 (n), c);
  return TRUE;
}

const AfOxMapper af__ox_shape_ops[] = {
  { "Constant", op_constant, "value value_float value_floats value_int value_ints" },
  { "ConstantOfShape", op_constant_of_shape, "value" },
  { "Shape", op_shape, "start end" },
  { "Gather", op_gather, "axis" },
  { "Cast", op_cast, "to saturate" },
  { "CastLike", op_cast_like, "saturate" },
  { "Equal", op_compare, "" },
  { "Less", op_compare, "" },
  { "Greater", op_compare, "" },
  { "LessOrEqual", op_compare, "" },
  { "GreaterOrEqual", op_compare, "" },
  { "And", op_compare, "" },
  { "Or", op_compare, "" },
  { "Xor", op_compare, "" },
  { "Not", op_compare, "" },
  { NULL, NULL, NULL },
};
