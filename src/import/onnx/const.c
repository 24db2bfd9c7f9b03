/* const.c — host constants (initializers, Constant nodes, folded shape
 * arithmetic): their storage, element access, conversion from TensorProto,
 * and the host evaluation (broadcast binary ops, transposes) that folds shape
 * subgraphs at import instead of emitting them. */
#include "import/onnx/onnx-imp.h"

#include <math.h>
#include <string.h>

const void *
af__ox_c_data (const Const *c)
{
  return g_bytes_get_data (c->bytes, NULL);
}

gsize
af__ox_c_esize (CKind k)
{
  switch (k) {
  case C_F32:
    return 4;
  case C_F16:
    return 2;
  case C_I8:
  case C_U8:
    return 1;
  case C_I64:
    return 8;
  }
  return 1;
}

/* Returns (borrowed, owned by @im) a zeroed constant of @shape; @data (may be
 * NULL) receives the writable buffer. */
Const *
af__ox_c_new (Imp *im, CKind kind, const AfShape *shape, const char *name, void **data)
{
  Const *c = g_new0 (Const, 1);
  c->kind = kind;
  c->shape = *shape;
  c->numel = af__shape_numel (shape);
  void *buf = g_malloc0 (MAX (c->numel, 1) * af__ox_c_esize (kind));
  if (data)
    *data = buf;
  c->bytes = g_bytes_new_take (buf, c->numel * af__ox_c_esize (kind));
  c->name = g_strdup (name);
  g_ptr_array_add (im->consts, c);
  return c;
}

void
af__ox_c_free (Const *c)
{
  g_bytes_unref (c->bytes);
  g_free (c->name);
  g_free (c);
}

double
af__ox_c_get (const Const *c, gint64 i)
{
  const void *d = af__ox_c_data (c);
  switch (c->kind) {
  case C_F32:
    return ((const float *) d)[i];
  case C_F16:
    return af_fp16_to_f32 (((const guint16 *) d)[i]);
  case C_I8:
    return ((const gint8 *) d)[i];
  case C_U8:
    return ((const guint8 *) d)[i];
  case C_I64:
    return (double) ((const gint64 *) d)[i];
  }
  return 0;
}

gint64
af__ox_c_get_i64 (const Const *c, gint64 i)
{
  if (c->kind == C_I64)
    return ((const gint64 *) af__ox_c_data (c))[i];
  double v = af__ox_c_get (c, i);
  if (!(v > -9.2e18 && v < 9.2e18))
    return 0;
  return (gint64) v;
}

/* Returns (transfer full) the values of @c as fp32. */
float *
af__ox_c_f32 (const Const *c)
{
  float *out = g_new (float, MAX (c->numel, 1));
  for (gint64 i = 0; i < c->numel; i++)
    out[i] = (float) af__ox_c_get (c, i);
  return out;
}

gboolean
af__ox_fold_limit (Imp *im, const AfShape *s, GError **error)
{
  gint64 n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->d[i] < 0 || (s->d[i] && n > IMP_MAX_FOLD_NUMEL / s->d[i]))
      return af__ox_fail (im, error, AF_ERROR_LIMIT,
                          "a folded constant would exceed %" G_GINT64_FORMAT " elements",
                          IMP_MAX_FOLD_NUMEL);
    n *= s->d[i];
  }
  if (n > IMP_MAX_FOLD_NUMEL)
    return af__ox_fail (im, error, AF_ERROR_LIMIT,
                        "a folded constant would exceed %" G_GINT64_FORMAT " elements",
                        IMP_MAX_FOLD_NUMEL);
  return TRUE;
}

gboolean
af__ox_check_dims (Imp *im, const char *what, int rank, const gint64 *dims, AfShape *s,
                   GError **error)
{
  s->rank = rank;
  gint64 numel = 1;
  for (int i = 0; i < rank; i++) {
    gint64 d = dims[i];
    if (d < 0 || d > AF_MAX_DIM || (d && numel > AF_MAX_NUMEL / d))
      return af__ox_fail (im, error, AF_ERROR_LIMIT,
                          "%s: dim %d = %" G_GINT64_FORMAT " is negative or above the limits", what,
                          i, d);
    numel *= d;
    s->d[i] = d;
  }
  return TRUE;
}

/* Converts a parsed TensorProto into a host constant named @name. */
Const *
af__ox_tensor_const (Imp *im, PbTensor *t, const char *name, GError **error)
{
  AfShape s;
  char what[256];
  g_snprintf (what, sizeof what, "tensor \"%s\"", name);
  if (t->external)
    return af__ox_fail (
               im, error, AF_ERROR_UNSUPPORTED,
               "%s: external data is not supported (save the model with its weights inside)", what),
           NULL;
  if (t->has_segment)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "%s: segmented tensors are not supported",
                        what),
           NULL;
  if (!af__ox_check_dims (im, what, t->rank, t->dims, &s, error))
    return NULL;
  CKind kind;
  gsize raw_size;
  switch (t->dtype) {
  case OT_FLOAT:
    kind = C_F32, raw_size = 4;
    break;
  case OT_DOUBLE:
    kind = C_F32, raw_size = 8;
    break;
  case OT_FLOAT16:
    kind = C_F16, raw_size = 2;
    break;
  case OT_INT8:
    kind = C_I8, raw_size = 1;
    break;
  case OT_UINT8:
    kind = C_U8, raw_size = 1;
    break;
  case OT_BOOL:
    kind = C_I64, raw_size = 1;
    break;
  case OT_INT16:
  case OT_UINT16:
    kind = C_I64, raw_size = 2;
    break;
  case OT_INT32:
    kind = C_I64, raw_size = 4;
    break;
  case OT_INT64:
    kind = C_I64, raw_size = 8;
    break;
  default:
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "%s: data type %d is not supported", what,
                        t->dtype),
           NULL;
  }
  gint64 numel = af__shape_numel (&s);
  GArray *src = t->dtype == OT_FLOAT ? t->floats : t->dtype == OT_DOUBLE ? t->doubles : t->ints;
  gint64 have = src ? (gint64) src->len : 0;
  /* sizes are checked against the data present before anything is allocated */
  if (t->has_raw && (guint64) t->raw_len != (guint64) numel * raw_size)
    return af__ox_fail (im, error, AF_ERROR_WEIGHTS,
                        "%s: raw_data has %" G_GSIZE_FORMAT " bytes, expected %" G_GINT64_FORMAT,
                        what, t->raw_len, numel * (gint64) raw_size),
           NULL;
  if (!t->has_raw && have != numel)
    return af__ox_fail (im, error, AF_ERROR_WEIGHTS,
                        "%s: has %" G_GINT64_FORMAT " values, expected %" G_GINT64_FORMAT, what,
                        have, numel),
           NULL;
  void *dst;
  Const *c = af__ox_c_new (im, kind, &s, name, &dst);
  if (t->has_raw) {
    const guint8 *p = t->raw;
    for (gint64 i = 0; i < numel; i++, p += raw_size) {
      switch (t->dtype) {
      case OT_FLOAT: {
        guint32 b = af__pb_le32 (p);
        memcpy ((float *) dst + i, &b, 4);
        break;
      }
      case OT_DOUBLE: {
        guint64 b = af__pb_le64 (p);
        double d;
        memcpy (&d, &b, 8);
        ((float *) dst)[i] = (float) d;
        break;
      }
      case OT_FLOAT16:
        ((guint16 *) dst)[i] = (guint16) (p[0] | p[1] << 8);
        break;
      case OT_INT8:
      case OT_UINT8:
        ((guint8 *) dst)[i] = p[0];
        break;
      case OT_BOOL:
        ((gint64 *) dst)[i] = p[0] != 0;
        break;
      case OT_INT16:
        ((gint64 *) dst)[i] = (gint16) (p[0] | p[1] << 8);
        break;
      case OT_UINT16:
        ((gint64 *) dst)[i] = (guint16) (p[0] | p[1] << 8);
        break;
      case OT_INT32:
        ((gint64 *) dst)[i] = (gint32) af__pb_le32 (p);
        break;
      default:
        ((gint64 *) dst)[i] = (gint64) af__pb_le64 (p);
        break;
      }
    }
    return c;
  }
  for (gint64 i = 0; i < numel; i++) {
    switch (t->dtype) {
    case OT_FLOAT:
      ((float *) dst)[i] = g_array_index (src, float, i);
      break;
    case OT_DOUBLE:
      ((float *) dst)[i] = (float) g_array_index (src, double, i);
      break;
    case OT_FLOAT16:
      ((guint16 *) dst)[i] = (guint16) g_array_index (src, gint64, i);
      break;
    case OT_INT8:
    case OT_UINT8:
      ((guint8 *) dst)[i] = (guint8) g_array_index (src, gint64, i);
      break;
    case OT_INT32:
      ((gint64 *) dst)[i] = (gint32) g_array_index (src, gint64, i);
      break;
    default:
      ((gint64 *) dst)[i] = g_array_index (src, gint64, i);
      break;
    }
  }
  return c;
}

/* Broadcast offset of output element @i into an input of shape @s. */
static gint64
bcast_offset (gint64 i, const AfShape *out, const AfShape *s)
{
  gint64 off = 0, stride = 1;
  for (int k = out->rank - 1, j = s->rank - 1; k >= 0; k--, j--) {
    gint64 idx = i % out->d[k];
    i /= out->d[k];
    if (j >= 0) {
      if (s->d[j] != 1)
        off += idx * stride;
      stride *= s->d[j];
    }
  }
  return off;
}

Const *
af__ox_fold_binary (Imp *im, PbNode *n, char op, Const *a, Const *b, GError **error)
{
  AfShape out;
  if (!af__shape_broadcast (&a->shape, &b->shape, &out))
    return af__ox_fail (im, error, AF_ERROR_SHAPE, "constant inputs do not broadcast"), NULL;
  if (!af__ox_fold_limit (im, &out, error))
    return NULL;
  /* integer arithmetic (truncating division) when both are integer typed */
  gboolean ints = a->kind != C_F32 && a->kind != C_F16 && b->kind != C_F32 && b->kind != C_F16;
  void *d;
  Const *c = af__ox_c_new (im, ints ? C_I64 : C_F32, &out, OUT0 (n), &d);
  for (gint64 i = 0; i < c->numel; i++) {
    gint64 ia = bcast_offset (i, &out, &a->shape), ib = bcast_offset (i, &out, &b->shape);
    if (ints) {
      gint64 x = af__ox_c_get_i64 (a, ia), y = af__ox_c_get_i64 (b, ib), r;
      switch (op) {
      case '+':
        r = (gint64) ((guint64) x + (guint64) y);
        break;
      case '-':
        r = (gint64) ((guint64) x - (guint64) y);
        break;
      case '*':
        r = (gint64) ((guint64) x * (guint64) y);
        break;
      default:
        if (y == 0 || (y == -1 && x == G_MININT64))
          return af__ox_fail (im, error, AF_ERROR_INVALID, "integer division by zero in constants"),
                 NULL;
        r = x / y;
        break;
      }
      ((gint64 *) d)[i] = r;
    } else {
      double x = af__ox_c_get (a, ia), y = af__ox_c_get (b, ib);
      ((float *) d)[i] = (float) (op == '+'   ? x + y
                                  : op == '-' ? x - y
                                  : op == '*' ? x * y
                                              : x / y);
    }
  }
  return c;
}

/* Host transpose of a constant. */
Const *
af__ox_const_transpose (Imp *im, Const *src, const int *perm, const char *name)
{
  AfShape out = { src->shape.rank };
  gint64 istride[AF_MAX_RANK], st = 1;
  for (int i = src->shape.rank - 1; i >= 0; i--) {
    istride[i] = st;
    st *= src->shape.d[i];
  }
  for (int i = 0; i < out.rank; i++)
    out.d[i] = src->shape.d[perm[i]];
  void *d;
  gsize es = af__ox_c_esize (src->kind);
  Const *c = af__ox_c_new (im, src->kind, &out, name, &d);
  const guint8 *s = af__ox_c_data (src);
  for (gint64 i = 0; i < c->numel; i++) {
    gint64 rem = i, off = 0;
    for (int k = out.rank - 1; k >= 0; k--) {
      off += (rem % out.d[k]) * istride[perm[k]];
      rem /= out.d[k];
    }
    memcpy ((guint8 *) d + i * es, s + off * es, es);
  }
  return c;
}

/* Comparisons and logic of two constants (Equal, Less, Greater,
 * LessOrEqual, GreaterOrEqual, And, Or, Xor: @op one of = < > l g & | ^),
 * broadcast; a bool constant (int64 0 / 1). */
Const *
af__ox_fold_compare (Imp *im, PbNode *n, char op, Const *a, Const *b, GError **error)
{
  AfShape out;
  if (!af__shape_broadcast (&a->shape, &b->shape, &out))
    return af__ox_fail (im, error, AF_ERROR_SHAPE, "constant inputs do not broadcast"), NULL;
  if (!af__ox_fold_limit (im, &out, error))
    return NULL;
  gint64 *d;
  Const *c = af__ox_c_new (im, C_I64, &out, OUT0 (n), (void **) &d);
  gboolean ints = a->kind == C_I64 && b->kind == C_I64;
  for (gint64 i = 0; i < c->numel; i++) {
    gint64 ia = bcast_offset (i, &out, &a->shape), ib = bcast_offset (i, &out, &b->shape);
    double x = af__ox_c_get (a, ia), y = af__ox_c_get (b, ib);
    gint64 xi = af__ox_c_get_i64 (a, ia), yi = af__ox_c_get_i64 (b, ib);
    gboolean r;
    switch (op) {
    case '=':
      r = ints ? xi == yi : x == y;
      break;
    case '<':
      r = ints ? xi < yi : x < y;
      break;
    case '>':
      r = ints ? xi > yi : x > y;
      break;
    case 'l':
      r = ints ? xi <= yi : x <= y;
      break;
    case 'g':
      r = ints ? xi >= yi : x >= y;
      break;
    case '&':
      r = x != 0 && y != 0;
      break;
    case '|':
      r = x != 0 || y != 0;
      break;
    default:
      r = (x != 0) != (y != 0);
      break;
    }
    d[i] = r;
  }
  return c;
}
