/* ops-quant.c — op mappers of the quantization family, for QDQ models
 * (onnxruntime.quantization's default format):
 * - DequantizeLinear of a constant (weights stored as int8 / uint8, biases
 *   as int32; per tensor or per axis) is folded to fp32 on the host, so the
 *   Conv / Gemm after it sees fp32 weights (stored as fp16);
 * - a QuantizeLinear of a computed tensor whose every consumer is a
 *   DequantizeLinear with the same scale and zero point (an activation Q/DQ
 *   pair) becomes the value on the int8 / uint8 grid it stands for: divided
 *   by the scale, clamped to the integer range, rounded, multiplied back
 *   (div, clip, add and sub of 1536, mul), so the answers stay ONNX
 *   Runtime's, whose integer kernels see the same grid values. */
#include "import/onnx/onnx-imp.h"

#include <math.h>
#include <string.h>

/* The scalar scale and zero point (inputs 1, 2) of a Q or DQ node, and the
 * integer range of its type. */
static gboolean
qparams (Imp *im, PbNode *n, AfOxQuant *q, gint64 *qmin, gint64 *qmax, GError **error)
{
  Const *s = af__ox_in_const (im, n, 1, "scale", error), *z = NULL;
  if (!s || (af__ox_in_name (n, 2) && !(z = af__ox_in_const (im, n, 2, "zero_point", error))))
    return FALSE;
  if (s->numel != 1 || (z && z->numel != 1))
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "a per-axis scale on a computed tensor is not supported (only per tensor)");
  if (z && z->kind != C_I8 && z->kind != C_U8)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "the zero point must be int8 or uint8 (other types are not supported)");
  q->scale = (float) af__ox_c_get (s, 0);
  q->zero_point = z ? af__ox_c_get_i64 (z, 0) : 0;
  gboolean is_signed = z && z->kind == C_I8;
  *qmin = is_signed ? -128 : 0;
  *qmax = is_signed ? 127 : 255;
  if (!(q->scale > 0) || !isfinite (q->scale))
    return af__ox_fail (im, error, AF_ERROR_INVALID, "scale %g is not positive and finite",
                        q->scale);
  return TRUE;
}

static gboolean
op_quantize (Imp *im, PbNode *n, GError **error)
{
  gint64 axis, saturate;
  if (!af__ox_attr_int (im, n, "axis", 1, &axis, error) ||
      !af__ox_attr_int (im, n, "saturate", 1, &saturate, error))
    return FALSE;
  AfOxQuant q;
  gint64 qmin, qmax;
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x || !qparams (im, n, &q, &qmin, &qmax, error))
    return FALSE;
  const char *out = OUT0 (n);
  if (g_hash_table_contains (im->is_out, out))
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "output \"%s\" is a graph output; integer outputs are not supported", out);
  for (guint i = 0; i < im->m.nodes->len; i++) {
    PbNode *u = g_ptr_array_index (im->m.nodes, i);
    for (guint j = 0; j < u->in->len; j++) {
      if (g_strcmp0 (af__ox_in_name (u, j), out) != 0)
        continue;
      if (!g_str_equal (u->op, "DequantizeLinear") || j != 0)
        return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                            "output \"%s\" is used by %s \"%s\"; only a DequantizeLinear may use "
                            "a quantized tensor",
                            out, u->op, af__ox_node_name (u));
    }
  }
  /* dequantize (quantize (x)) = clamp (round (x / s), qmin - zp, qmax - zp) * s,
   * the rounding (half to even, as ONNX) by the fp16 grid: |v| <= 255 and
   * 1536 + v lies in [1024, 2048) where fp16's spacing is 1, and every op
   * rounds its result to fp16 (fused or not, passes/fuse.c) */
  AfAttrs a;
  af__attrs_init (AF_OP_CLIP, &a);
  a.min = (float) (qmin - q.zero_point);
  a.max = (float) (qmax - q.zero_point);
  a.set = AF_A (MIN) | AF_A (MAX);
  char *nm[5];
  static const char *const suffix[] = { "_div", "_clip", "_add", "_sub", "" };
  for (int i = 0; i < 5; i++)
    nm[i] = g_strconcat (out, suffix[i], NULL);
  AfTensor *sc = af__ox_scalar_tensor (im, q.scale, nm[0], error);
  AfTensor *magic = sc ? af__ox_scalar_tensor (im, 1536.0f, nm[2], error) : NULL;
  AfTensor *y = magic ? af__ox_emit2 (im, AF_OP_DIV, x, sc, nm[0], error) : NULL;
  y = y ? af__ox_emit1 (im, AF_OP_CLIP, y, &a, nm[1], error) : NULL;
  y = y ? af__ox_emit2 (im, AF_OP_ADD, y, magic, nm[2], error) : NULL;
  y = y ? af__ox_emit2 (im, AF_OP_SUB, y, magic, nm[3], error) : NULL;
  y = y ? af__ox_emit2 (im, AF_OP_MUL, y, sc, nm[4], error) : NULL;
  for (int i = 0; i < 5; i++)
    g_free (nm[i]);
  if (!y)
    return FALSE;
  g_hash_table_replace (im->qdq, g_strdup (out), g_memdup2 (&q, sizeof q));
  af__ox_bind_tensor (im, out, y);
  return TRUE;
}

/* DequantizeLinear of a computed tensor: the second half of a Q/DQ pair. */
static gboolean
dequantize_pair (Imp *im, PbNode *n, GError **error)
{
  const char *in = af__ox_in_name (n, 0);
  AfOxQuant *q = in ? g_hash_table_lookup (im->qdq, in) : NULL, mine;
  gint64 qmin, qmax;
  if (!q)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "input 0 \"%s\" is computed but not by a QuantizeLinear (integer tensors "
                        "are not supported)",
                        in);
  if (!qparams (im, n, &mine, &qmin, &qmax, error))
    return FALSE;
  if (mine.scale != q->scale || mine.zero_point != q->zero_point)
    return af__ox_fail (im, error, AF_ERROR_UNSUPPORTED,
                        "scale %g / zero point %" G_GINT64_FORMAT
                        " differ from its QuantizeLinear's (%g / %" G_GINT64_FORMAT ")",
                        mine.scale, mine.zero_point, q->scale, q->zero_point);
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (!x)
    return FALSE;
  af__ox_bind_tensor (im, OUT0 (n), x);
  return TRUE;
}

static gboolean
op_dequantize (Imp *im, PbNode *n, GError **error)
{
  gint64 axis;
  if (!af__ox_attr_int (im, n, "axis", 1, &axis, error))
    return FALSE;
  Val *xv = af__ox_in_val (im, n, 0, TRUE, error);
  if (xv && xv->kind != V_CONST)
    return dequantize_pair (im, n, error);
  Const *x = xv ? af__ox_in_const (im, n, 0, "x", error) : NULL;
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
  { "QuantizeLinear", op_quantize, "axis saturate" },
  { NULL, NULL, NULL },
};
