/* test-precision.c — af_precision_risk (docs/precision.md): graphs built to
 * overflow, to cancel and to sum narrowly are flagged with the node named;
 * the chip cliffs follow the target; SqueezeNet stays quiet; the calibration
 * measures what a hand computation says. */
#include "aneforge.h"

#include <math.h>
#include <string.h>

static AfPrecisionReport *
analyse (AfGraph *g, const char *target, int calibrate, const float *const *inputs)
{
  GError *error = NULL;
  AfPrecisionOptions o = AF_PRECISION_OPTIONS_INIT;
  o.target = target;
  o.calibrate = calibrate;
  o.inputs = inputs;
  AfPrecisionReport *r = af_precision_risk (g, &o, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
  g_autofree char *text = af_precision_report_format (r);
  g_test_message ("%s", text);
  return r;
}

static const AfNodeRisk *
node (const AfPrecisionReport *r, const char *name)
{
  for (guint i = 0; i < r->n_nodes; i++)
    if (strcmp (r->nodes[i].node, name) == 0)
      return &r->nodes[i];
  g_error ("node %s not in the report", name);
  return NULL;
}

static gboolean
is_hotspot (const AfPrecisionReport *r, const char *name)
{
  for (guint h = 0; h < r->n_hotspots; h++)
    if (strcmp (r->nodes[r->hotspots[h]].node, name) == 0)
      return TRUE;
  return FALSE;
}

/* The warning of @kind ("PrecisionWarning", "CrossChipFP16Warning") naming
 * node @name, or NULL. */
static const char *
warning (const AfPrecisionReport *r, const char *kind, const char *name)
{
  g_autofree char *prefix = g_strdup_printf ("%s: node \"%s\"", kind, name);
  for (char **w = r->warnings; *w; w++)
    if (g_str_has_prefix (*w, prefix))
      return *w;
  return NULL;
}

/* 0..255 pixels through a 3x3 conv of weights 40: 27 terms of ~127 * 40 sum
 * to ~1.4e5, beyond 65504. The calibration sees the inf. */
static void
test_overflow (void)
{
  AfGraph *g = af_graph_new ("overflow");
  gint64 shape[] = { 1, 3, 8, 8 }, ws[] = { 4, 3, 3, 3 };
  float scale[] = { 1 }, bias[] = { 0 }, w[108];
  for (int i = 0; i < 108; i++)
    w[i] = 40;
  AfTensor *x = af_image_input (g, "image", shape, AF_PIXEL_RGB, 1, scale, 1, bias);
  AfConvParams p = AF_CONV_PARAMS_INIT;
  AfTensor *y = af_conv (g, x, af_weight (g, "w", 4, ws, w), NULL, &p);
  af_tensor_set_name (y, "hot_conv");
  af_graph_add_output (g, "y", af_relu (g, y));
  AfPrecisionReport *r = analyse (g, NULL, 1, NULL);
  const AfNodeRisk *n = node (r, "hot_conv");
  g_assert_cmpint (n->kind, ==, AF_RISK_OVERFLOW);
  g_assert_cmpfloat (n->score, ==, 1.0);
  g_assert_cmpfloat (n->peak, >, 65504);
  g_assert_true (is_hotspot (r, "hot_conv"));
  g_assert_nonnull (warning (r, "PrecisionWarning", "hot_conv"));
  g_assert_true (isinf (n->measured)); /* fp16 gives inf where fp32 gives ~1.4e5 */
  g_assert_cmpfloat (n->measured_peak, >, 65504);
  g_assert_cmpint (node (r, "image")->kind, ==, AF_RISK_NONE);
  af_precision_report_free (r);
  af_graph_free (g);
}

/* x in [1000, 1001] minus its mean: a difference ~1000x smaller than its
 * operands, whose fp16 spacing there is 0.5. */
static void
test_cancel (void)
{
  AfGraph *g = af_graph_new ("cancel");
  gint64 shape[] = { 1, 1, 4, 4 }; /* the mean sums 16 x ~1000 < 32759 */
  float scale[] = { 1.0f / 255 }, bias[] = { 1000 };
  int axes[] = { 2, 3 };
  AfTensor *x = af_image_input (g, "image", shape, AF_PIXEL_GRAY, 1, scale, 1, bias);
  AfTensor *d = af_sub (g, x, af_mean (g, x, 2, axes, TRUE));
  af_tensor_set_name (d, "centered");
  af_graph_add_output (g, "y", d);
  AfPrecisionReport *r = analyse (g, NULL, 2, NULL);
  const AfNodeRisk *n = node (r, "centered");
  g_assert_cmpint (n->kind, ==, AF_RISK_CANCEL_SUB);
  g_assert_cmpfloat (n->score, >, 0.1); /* u * ~1000 */
  g_assert_true (is_hotspot (r, "centered"));
  g_assert_nonnull (warning (r, "PrecisionWarning", "centered"));
  g_assert_cmpfloat (n->measured, >, 0.05); /* the calibration agrees: the difference is lost */
  g_assert_cmpint (r->n_hotspots, ==, 1);
  af_precision_report_free (r);
  af_graph_free (g);
}

/* batch_norm's x - mean on values in [999, 1001] around a mean of 1000:
 * the cancellation inside the op is flagged too. */
static void
test_batch_norm_cancel (void)
{
  AfGraph *g = af_graph_new ("bn");
  gint64 shape[] = { 1, 2, 4, 4 }, c[] = { 2 };
  float one[] = { 1, 1 }, zero[] = { 0, 0 }, mean[] = { 1000, 1000 };
  AfTensor *y = af_batch_norm (g, af_input (g, "x", 4, shape), af_weight (g, "g", 1, c, one),
                               af_weight (g, "b", 1, c, zero), af_weight (g, "m", 1, c, mean),
                               af_weight (g, "v", 1, c, one), 1e-5f);
  af_tensor_set_name (y, "bn");
  af_graph_add_output (g, "y", y);
  AfPrecisionOptions o = AF_PRECISION_OPTIONS_INIT;
  o.input_lo = 999;
  o.input_hi = 1001;
  o.calibrate = 2;
  GError *error = NULL;
  AfPrecisionReport *r = af_precision_risk (g, &o, &error);
  g_assert_no_error (error);
  const AfNodeRisk *n = node (r, "bn");
  g_assert_cmpint (n->kind, ==, AF_RISK_CANCEL_SUB);
  g_assert_cmpfloat (n->score, >, 0.1);
  g_assert_cmpfloat (n->measured, >, 0.05); /* fp16 spacing at 1000 is 0.5 */
  af_precision_report_free (r);
  af_graph_free (g);
}

/* A signed sum over 4096 terms: the seed's proxy 1e-3 sqrt(4096) = 0.064;
 * over 64 terms it stays quiet. */
static void
test_narrow_sum (void)
{
  gint64 lens[] = { 4096, 64 };
  for (int i = 0; i < 2; i++) {
    AfGraph *g = af_graph_new ("narrow");
    gint64 shape[] = { 1, lens[i] };
    int axes[] = { 1 };
    AfTensor *y = af_sum (g, af_input (g, "x", 2, shape), 1, axes, FALSE);
    af_tensor_set_name (y, "big_sum");
    af_graph_add_output (g, "y", y);
    AfPrecisionReport *r = analyse (g, "h17s", 0, NULL);
    const AfNodeRisk *n = node (r, "big_sum");
    if (i == 0) {
      g_assert_cmpint (n->kind, ==, AF_RISK_NARROW_SUM);
      g_assert_cmpfloat (fabs (n->score - 0.064), <, 1e-9);
      g_assert_nonnull (warning (r, "PrecisionWarning", "big_sum"));
    } else {
      g_assert_cmpint (n->kind, ==, AF_RISK_NONE);
      g_assert_null (r->warnings[0]);
    }
    af_precision_report_free (r);
    af_graph_free (g);
  }
}

/* x in [-1, 1] times 1e-6: subnormal fp16 (spacing 6e-8, 3 % of 1e-6);
 * the calibration measures the loss. */
static void
test_underflow (void)
{
  AfGraph *g = af_graph_new ("underflow");
  gint64 shape[] = { 1, 64 }, one[] = { 1 };
  float tiny = 1e-6f;
  AfTensor *y = af_mul (g, af_input (g, "x", 2, shape), af_weight (g, "tiny", 1, one, &tiny));
  af_tensor_set_name (y, "scaled");
  af_graph_add_output (g, "y", y);
  AfPrecisionReport *r = analyse (g, NULL, 2, NULL);
  const AfNodeRisk *n = node (r, "scaled");
  g_assert_cmpint (n->kind, ==, AF_RISK_UNDERFLOW);
  g_assert_cmpfloat (fabs (n->score - (1.0 / 33554432) / 1e-6), <, 1e-3); /* 2^-25 / peak */
  g_assert_nonnull (warning (r, "PrecisionWarning", "scaled"));
  g_assert_cmpfloat (n->measured, >, 0.005);
  af_precision_report_free (r);
  af_graph_free (g);
}

/* The variance of values in [-1000, 1000]: the squared deviations overflow;
 * a mean of squares over an axis of 70000 is beyond the seed's 65536 wall. */
static void
test_variance_cliff (void)
{
  AfGraph *g = af_graph_new ("variance");
  gint64 shape[] = { 1, 1, 8, 8 };
  int axes[] = { 2, 3 };
  AfTensor *x = af_input (g, "x", 4, shape);
  AfTensor *d = af_sub (g, x, af_mean (g, x, 2, axes, TRUE));
  AfTensor *sq = af_mul (g, d, d);
  af_tensor_set_name (sq, "sq");
  af_graph_add_output (g, "var", af_mean (g, sq, 2, axes, TRUE));
  AfPrecisionOptions o = AF_PRECISION_OPTIONS_INIT;
  o.input_lo = -1000;
  o.input_hi = 1000;
  GError *error = NULL;
  AfPrecisionReport *r = af_precision_risk (g, &o, &error);
  g_assert_no_error (error);
  g_assert_cmpint (node (r, "sq")->kind, ==, AF_RISK_VARIANCE_CLIFF);
  g_assert_nonnull (warning (r, "PrecisionWarning", "sq"));
  af_precision_report_free (r);
  af_graph_free (g);

  g = af_graph_new ("wall");
  gint64 wide[] = { 1, 70000 };
  int ax[] = { 1 };
  x = af_input (g, "x", 2, wide);
  AfTensor *m = af_mean (g, af_mul (g, x, x), 1, ax, FALSE);
  af_tensor_set_name (m, "meansq");
  af_graph_add_output (g, "m", m);
  o.input_lo = o.input_hi = 0;
  r = af_precision_risk (g, &o, &error);
  g_assert_no_error (error);
  g_assert_cmpint (node (r, "meansq")->kind, ==, AF_RISK_VARIANCE_CLIFF);
  af_precision_report_free (r);
  af_graph_free (g);
}

/* The ANE's cliffs follow the target: a matmul result of ~40000 is inf on
 * every ANE chip (a cross-chip warning for the host), a sliced program input
 * beyond 4094 saturates on h13 / h14 only (a cross-chip warning elsewhere). */
static void
test_chip_cliffs (void)
{
  AfGraph *g = af_graph_new ("cliffs");
  gint64 xs[] = { 1, 100 }, ws[] = { 1, 100 };
  float w[100];
  for (int i = 0; i < 100; i++)
    w[i] = 0.1f;
  AfTensor *x = af_input (g, "wide", 2, xs); /* 100 % 32 != 0: sliced from its padded port */
  AfTensor *y = af_linear (g, x, af_weight (g, "w", 2, ws, w), NULL);
  af_tensor_set_name (y, "proj");
  af_graph_add_output (g, "y", y);
  GError *error = NULL;
  AfPrecisionOptions o = AF_PRECISION_OPTIONS_INIT;
  o.input_lo = 3000; /* 100 * 0.1 * ~4000 = ~40000 */
  o.input_hi = 5000;
  const char *targets[] = { "m1", "h14", "h17s", "host", NULL };
  for (int t = 0; t < 5; t++) {
    o.target = targets[t];
    AfPrecisionReport *r = af_precision_risk (g, &o, &error);
    g_assert_no_error (error);
    gboolean clamp = t < 2, ane = t != 3;
    g_assert_cmpint (node (r, "wide")->kind, ==, clamp ? AF_RISK_SLICE_CLAMP : AF_RISK_NONE);
    g_assert_true ((warning (r, "PrecisionWarning", "wide") != NULL) == clamp);
    g_assert_true ((warning (r, "CrossChipFP16Warning", "wide") != NULL) == !clamp);
    g_assert_cmpint (node (r, "proj")->kind, ==, ane ? AF_RISK_MATMUL_INF : AF_RISK_NONE);
    g_assert_true ((warning (r, "PrecisionWarning", "proj") != NULL) == ane);
    g_assert_true ((warning (r, "CrossChipFP16Warning", "proj") != NULL) == !ane);
    af_precision_report_free (r);
  }
  /* below 4094 and 32759 nothing is said */
  o.input_lo = -1000;
  o.input_hi = 1000;
  o.target = "m1";
  AfPrecisionReport *r = af_precision_risk (g, &o, &error);
  g_assert_no_error (error);
  g_assert_null (r->warnings[0]);
  af_precision_report_free (r);
  af_graph_free (g);
}

/* x = 1/3 given, minus the constant 0.33. By hand: fp16(1/3) =
 * 0.333251953125, fp16(0.33) = 0.330078125, their difference 0.003173828125
 * (exact in fp16); the fp32 run computes 1/3f - 0.33f = 0.0033333301544189453
 * (Sterbenz: exact), so the relative error is 0.04785... */
static void
test_calibration_hand (void)
{
  AfGraph *g = af_graph_new ("hand");
  gint64 shape[] = { 1, 1 };
  float c = 0.33f, third = 1.0f / 3;
  AfTensor *x = af_input (g, "x", 2, shape);
  AfTensor *d = af_sub (g, x, af_weight (g, "c", 2, shape, &c));
  af_tensor_set_name (d, "diff");
  af_graph_add_output (g, "y", d);
  const float *in[] = { &third };
  AfPrecisionReport *r = analyse (g, NULL, 3, in);
  double ref = (double) (1.0f / 3 - 0.33f), got = 0.003173828125;
  g_assert_cmpfloat (fabs (ref - 0.0033333301544189453), <, 1e-15);
  double want = fabs (got - ref) / ref;
  g_assert_cmpfloat (fabs (want - 0.0478506), <, 1e-6);
  g_assert_cmpfloat (fabs (node (r, "diff")->measured - want), <, 1e-9);
  g_assert_cmpfloat (fabs (node (r, "x")->measured - (third - 0.333251953125) / third), <, 1e-9);
  g_assert_cmpfloat (fabs (r->measured_error - want), <, 1e-9); /* the compiled model agrees */
  g_assert_cmpint (r->calibrated, ==, 3);
  af_precision_report_free (r);
  af_graph_free (g);
}

/* SqueezeNet 1.0 (fp16 weights) with its ImageNet image port: no risk
 * above the warning threshold on any target, and the measured error of one
 * calibration frame is small. */
static void
test_squeezenet_quiet (void)
{
  const char *shared = g_getenv ("AF_SHARED");
  g_assert_nonnull (shared); /* a missing ../shared fails */
  g_autofree char *path =
      g_build_filename (shared, "models", "squeezenet", "SqueezeNet_fp16.onnx", NULL);
  AfImportOptions io = AF_IMPORT_OPTIONS_INIT;
  const float mean[] = { 0.485f, 0.456f, 0.406f }, std[] = { 0.229f, 0.224f, 0.225f };
  io.image = TRUE;
  for (int c = 0; c < 3; c++) {
    io.scale[c] = 1.0f / (255.0f * std[c]);
    io.bias[c] = -mean[c] / std[c];
  }
  GError *error = NULL;
  AfGraph *g = af_graph_import_onnx (path, &io, &error);
  g_assert_no_error (error);
  const char *targets[] = { NULL, "m1", "h14", "h17s", "host" };
  for (int t = 0; t < 5; t++) {
    AfPrecisionReport *r = analyse (g, targets[t], t == 0 ? 1 : 0, NULL);
    g_assert_cmpuint (r->n_nodes, >, 60);
    g_assert_cmpuint (r->n_hotspots, ==, 0);
    g_assert_null (r->warnings[0]);
    g_assert_cmpfloat (r->graph_error, <=, AF_PRECISION_WARN);
    if (t == 0) {
      g_assert_cmpfloat (r->measured_error, >=, 0);
      g_assert_cmpfloat (r->measured_error, <, 0.02);
      /* the per-channel range model follows the network to its last conv
       * (per tensor it said 0.34 where the fp32 run reaches 17.9) */
      const AfNodeRisk *c10 = node (r, "conv10_1");
      g_assert_cmpfloat (c10->peak, >, c10->measured_peak / 4);
      g_assert_cmpfloat (c10->peak, <, c10->measured_peak * 4);
    }
    af_precision_report_free (r);
  }
  af_graph_free (g);
}

/* Bad options and graphs are errors, not crashes. */
static void
test_errors (void)
{
  AfGraph *g = af_graph_new ("bad");
  gint64 shape[] = { 1, 4 };
  af_graph_add_output (g, "y", af_relu (g, af_input (g, "x", 2, shape)));
  AfPrecisionOptions o = AF_PRECISION_OPTIONS_INIT;
  o.input_lo = 2;
  o.input_hi = 1;
  GError *error = NULL;
  g_assert_null (af_precision_risk (g, &o, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID);
  g_clear_error (&error);
  o.input_lo = o.input_hi = 0;
  o.target = "z99"; /* unknown: family 2 with a warning */
  AfPrecisionReport *r = af_precision_risk (g, &o, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->family, ==, 2);
  g_assert_nonnull (strstr (r->warnings[0], "unknown target \"z99\""));
  af_precision_report_free (r);
  af_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/precision/overflow", test_overflow);
  g_test_add_func ("/precision/cancel", test_cancel);
  g_test_add_func ("/precision/batch-norm-cancel", test_batch_norm_cancel);
  g_test_add_func ("/precision/narrow-sum", test_narrow_sum);
  g_test_add_func ("/precision/underflow", test_underflow);
  g_test_add_func ("/precision/variance-cliff", test_variance_cliff);
  g_test_add_func ("/precision/chip-cliffs", test_chip_cliffs);
  g_test_add_func ("/precision/calibration-hand", test_calibration_hand);
  g_test_add_func ("/precision/squeezenet-quiet", test_squeezenet_quiet);
  g_test_add_func ("/precision/errors", test_errors);
  return g_test_run ();
}
