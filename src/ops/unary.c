/* unary.c — elementwise activations: relu relu6 clip sigmoid tanh silu gelu
 * exp hardswish, and fake_quant (round to a grid, clamp), computed in fp32. */
#include "ops-util.h"

gboolean
af__shape_unary (AfNode *n, GError **error)
{
  const AfAttrs *a = &n->attrs;
  if (n->op == AF_OP_FAKE_QUANT && !(isfinite (a->step) && a->step > 0))
    return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                        "attribute \"step\": %g is not a finite positive number", (double) a->step);
  if (n->op == AF_OP_CLIP || n->op == AF_OP_FAKE_QUANT) {
    if (isnan (a->min) || isnan (a->max))
      return AF_OPS_FAIL (error, AF_ERROR_INVALID, "attribute \"%s\": NaN is not a bound",
                          isnan (a->min) ? "min" : "max");
    if (a->min > a->max)
      return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                          "attribute \"min\": %g is greater than attribute \"max\" %g",
                          (double) a->min, (double) a->max);
  }
  n->out->shape = n->in[0]->shape;
  return TRUE;
}

/* One activation in fp32: the single definition the reference kernel and
 * the CPU epilogues share. Comparisons are written so that a NaN input gives
 * the lower bound, exactly like the vector max/min instructions. */
float
af__unary_scalar (AfOp op, float x, float lo, float hi)
{
  switch (op) {
  case AF_OP_RELU:
    return x > 0.0f ? x : 0.0f;
  case AF_OP_RELU6:
    x = x > 0.0f ? x : 0.0f;
    return x < 6.0f ? x : 6.0f;
  case AF_OP_CLIP:
    x = x > lo ? x : lo;
    return x < hi ? x : hi;
  case AF_OP_SIGMOID:
    return 1.0f / (1.0f + expf (-x));
  case AF_OP_TANH:
    return tanhf (x);
  case AF_OP_SILU:
    return x / (1.0f + expf (-x));
  case AF_OP_GELU:
    /* 0.5 x (1 + erf (x / sqrt2)), written with erfc so that the tail at
     * negative x keeps its precision (1 + erf cancels there). */
    return 0.5f * x * erfcf (-x * (float) (G_SQRT2 * 0.5));
  case AF_OP_EXP:
    return expf (x);
  case AF_OP_HARDSWISH: {
    /* x * relu6 (x + 3) / 6 */
    float r = x + 3.0f;
    r = r > 0.0f ? r : 0.0f;
    r = r < 6.0f ? r : 6.0f;
    return x * r / 6.0f;
  }
  default:
    g_assert_not_reached ();
  }
}

/* The nearest multiple of @step (ties away from zero, as TFLite's
 * requantization rounds), clamped to [@lo, @hi]. */
static float
af_fake_quant_scalar (float x, float step, float lo, float hi)
{
  x = roundf (x / step) * step;
  x = x > lo ? x : lo;
  return x < hi ? x : hi;
}

void
af__ref_unary (const AfNode *n, const float *const *in, float *out)
{
  gint64 numel = af__shape_numel (&n->out->shape);
  if (n->op == AF_OP_FAKE_QUANT) {
    for (gint64 i = 0; i < numel; i++)
      out[i] = af_fake_quant_scalar (in[0][i], n->attrs.step, n->attrs.min, n->attrs.max);
    return;
  }
  for (gint64 i = 0; i < numel; i++)
    out[i] = af__unary_scalar (n->op, in[0][i], n->attrs.min, n->attrs.max);
}

void
af__cost_unary (const AfNode *n, AfCost *cost)
{
  double per = 1; /* compares */
  switch (n->op) {
  case AF_OP_SIGMOID:
  case AF_OP_TANH:
  case AF_OP_EXP:
    per = 4;
    break;
  case AF_OP_SILU:
  case AF_OP_GELU:
    per = 6;
    break;
  case AF_OP_HARDSWISH:
  case AF_OP_FAKE_QUANT:
    per = 5;
    break;
  default:
    break;
  }
  cost->flops = per * (double) af__shape_numel (&n->out->shape);
  cost->bytes = af__ops_io_bytes (n);
}
