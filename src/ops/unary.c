/* unary.c — elementwise activations: relu relu6 clip sigmoid tanh silu gelu
 * exp, computed in fp32. */
#include "ops-util.h"

gboolean
af__shape_unary (AfNode *n, GError **error)
{
  const AfAttrs *a = &n->attrs;
  if (n->op == AF_OP_CLIP) {
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

static float
af_sigmoidf (float x)
{
  return 1.0f / (1.0f + expf (-x));
}

#define AF_UNARY_LOOP(expr)                                                                        \
  for (gint64 i = 0; i < numel; i++) {                                                             \
    float x = in[0][i];                                                                            \
    out[i] = (expr);                                                                               \
  }

void
af__ref_unary (const AfNode *n, const float *const *in, float *out)
{
  gint64 numel = af__shape_numel (&n->out->shape);
  float lo = n->attrs.min, hi = n->attrs.max;
  switch (n->op) {
  case AF_OP_RELU:
    AF_UNARY_LOOP (x > 0.0f ? x : 0.0f);
    break;
  case AF_OP_RELU6:
    AF_UNARY_LOOP (x < 0.0f ? 0.0f : x > 6.0f ? 6.0f : x);
    break;
  case AF_OP_CLIP:
    AF_UNARY_LOOP (x < lo ? lo : x > hi ? hi : x);
    break;
  case AF_OP_SIGMOID:
    AF_UNARY_LOOP (af_sigmoidf (x));
    break;
  case AF_OP_TANH:
    AF_UNARY_LOOP (tanhf (x));
    break;
  case AF_OP_SILU:
    AF_UNARY_LOOP (x * af_sigmoidf (x));
    break;
  case AF_OP_GELU:
    AF_UNARY_LOOP (0.5f * x * (1.0f + erff (x * (float) M_SQRT1_2)));
    break;
  case AF_OP_EXP:
    AF_UNARY_LOOP (expf (x));
    break;
  default:
    g_assert_not_reached ();
  }
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
  default:
    break;
  }
  cost->flops = per * (double) af__shape_numel (&n->out->shape);
  cost->bytes = af__ops_io_bytes (n);
}
