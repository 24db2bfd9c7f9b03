/* ops-quant.c — op mappers of the quantization family: DequantizeLinear of a
 * constant (weights stored as int8 / uint8), folded to fp32 on the host. */
#include "import/onnx/onnx-imp.h"

#include <string.h>

static gboolean
op_dequantize (Imp *im, PbNode *n, GError **error)
{
  gint64 axis;
  if (!af__ox_attr_int (im, n, "axis", 1, &axis, error))
    return FALSE;
  Const *x = af__ox_in_const (im, n, 0, "x", error);
  Const *s = x ? af__ox_in_const (im, n, 1, "x_scale", error) : NULL;
  Const *z = NULL;
  if (!s || (af__ox_in_name (n, 2) && !(z = af__ox_in_const (im, n, 2, "x_zero_point", error))))
    return FALSE;
  if (x->kind != C_I8 && x->kind != C_U8 && x->kind != C_I64)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED, "input 0 must be int8 or uint8");
  gint64 outer = 1, len = 1, inner = 1;
  int r = x->shape.rank;
  if (s->numel > 1) {
    if (axis < -r || axis >= r || s->numel != x->shape.d[axis < 0 ? axis + r : axis])
      return af__ox_fail (im, error, AF_ERROR_INVALID, "x_scale does not match attribute \"axis\"");
    int ax = (int) (axis < 0 ? axis + r : axis);
    len = x->shape.d[ax];
    for (int i = 0; i < ax; i++)
      outer *= x->shape.d[i];
    for (int i = ax + 1; i < r; i++)
      inner *= x->shape.d[i];
  } else {
    inner = x->numel;
  }
  if (z && z->numel != s->numel)
    return af__ox_fail (im, error, AF_ERROR_INVALID, "x_zero_point and x_scale differ in size");
  float *d;
  Const *c = af__ox_c_new (im, C_F32, &x->shape, OUT0 (n), (void **) &d);
  for (gint64 o = 0, i = 0; o < outer; o++)
    for (gint64 l = 0; l < len; l++)
      for (gint64 k = 0; k < inner; k++, i++)
        d[i] =
            (float) ((af__ox_c_get (x, i) - (z ? af__ox_c_get (z, l) : 0)) * af__ox_c_get (s, l));
  af__ox_bind_const (im, OUT0 (n), c);
  return TRUE;
}

const AfOxMapper af__ox_quant_ops[] = {
  { "DequantizeLinear", op_dequantize, "axis" },
  { NULL, NULL, NULL },
};
