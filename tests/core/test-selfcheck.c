/* test-selfcheck.c — the accelerator self-check (src/selfcheck.c) on
 * ane-sim, with its fault-injection knob AF_ANE_SIM_PERTURB making the
 * "device" wrong by a known relative amount: a correct device passes
 * silently and gives the CPU's bits; one off by half the bound passes; one
 * off by twice the bound on one output falls back, names that output and
 * how far off, and every later frame is the CPU backend's bit for bit; the
 * interval checks the frames it says and no others; the bound is 8 D u with
 * D the op count, computed here independently. */
#include "runtime.h"
#include "selfcheck.h"
#include "fixtures.h"

#include <math.h>
#include <string.h>

/* An image port, conv + relu ("features"), and a sigmoid of it ("gate"). */
static AfGraph *
two_output_net (void)
{
  AfGraph *g = af_graph_new ("selfcheck");
  gint64 xs[] = { 1, 3, 9, 7 }, ws[] = { 4, 3, 3, 3 }, bs[] = { 4 };
  float scale = 1.0f / 128, bias = -1;
  AfTensor *x = af_image_input (g, "image", xs, AF_PIXEL_RGB, 1, &scale, 1, &bias);
  AfConvParams p = AF_CONV_PARAMS_INIT;
  p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
  AfTensor *c =
      af_relu (g, af_conv (g, x, random_weight (g, "w", 4, ws), random_weight (g, "b", 1, bs), &p));
  af_graph_add_output (g, "features", c);
  af_graph_add_output (g, "gate", af_sigmoid (g, c));
  g_assert_null (af_graph_error (g));
  return g;
}

typedef struct {
  AfGraph *g;
  AfModel *sim, *cpu;
  double bound; /* 8 D u, from the CPU model's op count */
} Pair;

/* The graph on ane-sim (with AF_ANE_SIM_PERTURB=@perturb, NULL: none, and
 * @check_every) and on the CPU. */
static void
pair_open (Pair *p, const char *perturb, int check_every)
{
  GError *error = NULL;
  AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
  p->g = two_output_net ();
  p->cpu = af__compile_on (p->g, &o, &af_backend_cpu, &error);
  g_assert_no_error (error);
  o.check_every = check_every;
  if (perturb)
    g_setenv ("AF_ANE_SIM_PERTURB", perturb, TRUE);
  p->sim = af__compile_on (p->g, &o, &af_backend_ane_sim, &error);
  g_unsetenv ("AF_ANE_SIM_PERTURB");
  g_assert_no_error (error);
  p->bound = 8.0 * af_model_n_ops (p->cpu) / 2048.0;
  g_assert_cmpuint (af_model_n_ops (p->cpu), ==, 3);
}

static void
pair_close (Pair *p)
{
  af_model_free (p->sim);
  af_model_free (p->cpu);
  af_graph_free (p->g);
}

/* Frame @k's pixels into both models; runs both. */
static void
pair_run (Pair *p, int k)
{
  AfTensorInfo info;
  af_model_input_info (p->cpu, 0, &info);
  gint64 n = af_shape_numel (info.rank, info.shape);
  guint8 *a = af_model_input_view (p->sim, 0, NULL), *b = af_model_input_view (p->cpu, 0, NULL);
  for (gint64 i = 0; i < n; i++)
    a[i] = b[i] = (guint8) ((i * 97 + 13 + k * 61) % 256);
  GError *error = NULL;
  g_assert_true (af_model_execute (p->sim, &error));
  g_assert_no_error (error);
  g_assert_true (af_model_execute (p->cpu, &error));
}

/* TRUE when every output of the two models has the same bits. */
static gboolean
pair_same (Pair *p)
{
  for (guint i = 0; i < af_model_n_outputs (p->cpu); i++) {
    AfTensorInfo info;
    af_model_output_info (p->cpu, i, &info);
    gsize bytes = (gsize) af_shape_numel (info.rank, info.shape) * 2;
    if (memcmp (af_model_output_view (p->sim, i), af_model_output_view (p->cpu, i), bytes) != 0)
      return FALSE;
  }
  return TRUE;
}

static AfCheckStatus
status_of (AfModel *m)
{
  AfCheckStatus s;
  g_assert_true (af_model_check_status (m, &s));
  return s;
}

/* A correct device: every check passes with no difference, the outputs
 * are the CPU's bits, the model stays on ane-sim; check_every=2 checks
 * frames 0, 2, 4 of five. */
static void
test_clean (void)
{
  Pair p;
  pair_open (&p, NULL, 2);
  for (int k = 0; k < 5; k++) {
    pair_run (&p, k);
    g_assert_true (pair_same (&p));
  }
  AfCheckStatus s = status_of (p.sim);
  g_assert_cmpuint (s.frames, ==, 5);
  g_assert_cmpuint (s.checks, ==, 3);
  g_assert_cmpuint (s.checked_frame, ==, 4);
  g_assert_false (s.fell_back);
  g_assert_cmpfloat (s.rel, ==, 0);
  g_assert_cmpfloat (s.bound, ==, p.bound);
  g_assert_cmpstr (s.checked_backend, ==, "ane-sim");
  g_assert_cmpstr (af_model_backend_name (p.sim), ==, "ane-sim");
  pair_close (&p);
}

/* Off by half the bound: passes, and the status says by how much. */
static void
test_within_bound (void)
{
  Pair p;
  pair_open (&p, NULL, 0);
  double bound = p.bound;
  pair_close (&p);
  char *perturb = g_strdup_printf ("scale:%.6f", 1 + 0.5 * bound);
  pair_open (&p, perturb, 0);
  pair_run (&p, 0);
  AfCheckStatus s = status_of (p.sim);
  g_test_message ("rel %.5f, bound %.5f", s.rel, s.bound);
  g_assert_false (s.fell_back);
  g_assert_cmpfloat (s.rel, >, 0.4 * bound);
  g_assert_cmpfloat (s.rel, <, 0.6 * bound);
  g_assert_false (pair_same (&p)); /* the device's own (wrong-ish) outputs */
  pair_close (&p);
  g_free (perturb);
}

/* Off by twice the bound on output 1 ("gate") only: the first frame falls
 * back, naming "gate" and the difference; its outputs and every later
 * frame's are the CPU's bits; no more checks run. */
static void
test_beyond_bound (void)
{
  Pair p;
  pair_open (&p, NULL, 0);
  double bound = p.bound;
  pair_close (&p);
  char *perturb = g_strdup_printf ("scale:%.6f:1", 1 + 2 * bound);
  pair_open (&p, perturb, 5);
  pair_run (&p, 0);
  AfCheckStatus s = status_of (p.sim);
  g_test_message ("output %d %s: max diff %g, max cpu %g, rel %.5f, bound %.5f", s.output,
                  s.output_name, s.max_diff, s.ref_max, s.rel, s.bound);
  g_assert_true (s.fell_back);
  g_assert_cmpint (s.output, ==, 1);
  g_assert_cmpstr (s.output_name, ==, "gate");
  g_assert_cmpfloat (s.rel, >, 1.8 * bound);
  g_assert_cmpfloat (s.rel, <, 2.2 * bound);
  g_assert_cmpfloat (fabs (s.max_diff / s.ref_max - s.rel), <, 1e-9);
  g_assert_cmpuint (s.checked_frame, ==, 0);
  g_assert_true (pair_same (&p));
  for (int k = 1; k < 12; k++) {
    pair_run (&p, k);
    g_assert_true (pair_same (&p));
  }
  s = status_of (p.sim);
  g_assert_cmpuint (s.checks, ==, 1);
  g_assert_cmpuint (s.frames, ==, 12);
  g_assert_cmpstr (af_model_backend_name (p.sim), ==, "cpu");
  pair_close (&p);
  g_free (perturb);
}

/* check_every=3 and a device that goes wrong from frame 2: frame 2 is not
 * checked (its outputs are the device's), frame 3 is and falls back. */
static void
test_interval (void)
{
  Pair p;
  pair_open (&p, "scale:1.5:-1:2", 3);
  for (int k = 0; k < 2; k++) {
    pair_run (&p, k);
    g_assert_true (pair_same (&p));
  }
  pair_run (&p, 2);
  g_assert_false (pair_same (&p));
  g_assert_false (status_of (p.sim).fell_back);
  pair_run (&p, 3);
  AfCheckStatus s = status_of (p.sim);
  g_assert_true (s.fell_back);
  g_assert_cmpuint (s.checked_frame, ==, 3);
  g_assert_cmpuint (s.checks, ==, 2);
  g_assert_true (pair_same (&p));
  pair_close (&p);
}

/* check_every=0 checks the first frame only; af_model_check_restart makes
 * the next one a first frame again. */
static void
test_restart (void)
{
  Pair p;
  pair_open (&p, "scale:1.5:-1:1", 0);
  pair_run (&p, 0);
  pair_run (&p, 1);
  g_assert_false (pair_same (&p));
  g_assert_false (status_of (p.sim).fell_back);
  af_model_check_restart (p.sim);
  pair_run (&p, 2);
  g_assert_true (status_of (p.sim).fell_back);
  g_assert_true (pair_same (&p));
  pair_close (&p);
}

/* check_every=-1 and the CPU backend: no self-check at all. */
static void
test_none (void)
{
  Pair p;
  pair_open (&p, "scale:1.5", -1);
  pair_run (&p, 0);
  AfCheckStatus s;
  g_assert_false (af_model_check_status (p.sim, &s));
  g_assert_cmpint (s.output, ==, -1);
  g_assert_false (af_model_check_status (p.cpu, &s));
  g_assert_false (pair_same (&p));
  pair_close (&p);
}

/* The comparison: NaN against a number is infinitely off, NaN against NaN
 * is not; an all-zero reference divides by 2^-14; infinities compare. */
static void
test_compare (void)
{
  guint16 one = af_f32_to_fp16 (1), two = af_f32_to_fp16 (2), nan = 0x7e00, inf = 0x7c00;
  guint16 zero = 0, tiny = af_f32_to_fp16 (1.0f / 16384);
  double diff, mag;
  guint16 a[] = { one, nan }, b[] = { one, two };
  g_assert_true (isinf (af__selfcheck_compare (a, b, 2, &diff, &mag)));
  guint16 c[] = { one, nan }, d[] = { one, nan };
  g_assert_cmpfloat (af__selfcheck_compare (c, d, 2, &diff, &mag), ==, 0);
  g_assert_cmpfloat (af__selfcheck_compare (&tiny, &zero, 1, &diff, &mag), ==, 1);
  g_assert_cmpfloat (mag, ==, 0);
  g_assert_cmpfloat (af__selfcheck_compare (&inf, &inf, 1, &diff, &mag), ==, 0);
  g_assert_true (isinf (af__selfcheck_compare (&inf, &two, 1, &diff, &mag)));
  g_assert_cmpfloat (af__selfcheck_compare (&two, &one, 1, &diff, &mag), ==, 1);
  g_assert_cmpfloat (af__selfcheck_bound (3), ==, 24.0 / 2048);
}

/* An fp16 (not image) input, checked every frame: the twin gets the
 * frame's fp16 input, a correct device passes with the CPU's bits. (Copying
 * the inputs after the device ran would pass too: the plan keeps an input's
 * bytes for the whole run today; the copy comes first in case it stops.) */
static void
test_input_reuse (void)
{
  AfGraph *g = af_graph_new ("reuse");
  gint64 xs[] = { 1, 300 };
  AfTensor *x = af_input (g, "x", 2, xs);
  AfTensor *y = af_tanh (g, af_mul (g, x, x));
  af_graph_add_output (g, "y", af_sigmoid (g, af_mul (g, y, y)));
  g_assert_null (af_graph_error (g));
  AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
  o.check_every = 1;
  GError *error = NULL;
  AfModel *sim = af__compile_on (g, &o, &af_backend_ane_sim, &error);
  AfModel *cpu = af__compile_on (g, &o, &af_backend_cpu, &error);
  g_assert_no_error (error);
  for (int k = 0; k < 3; k++) {
    guint16 *a = af_model_input_view (sim, 0, NULL), *b = af_model_input_view (cpu, 0, NULL);
    for (int i = 0; i < 300; i++)
      a[i] = b[i] = af_f32_to_fp16 ((float) ((i * 7 + k * 13) % 41) / 10 - 2);
    g_assert_true (af_model_execute (sim, NULL) && af_model_execute (cpu, NULL));
    g_assert_cmpmem (af_model_output_view (sim, 0), 600, af_model_output_view (cpu, 0), 600);
  }
  AfCheckStatus s = status_of (sim);
  g_assert_false (s.fell_back);
  g_assert_cmpuint (s.checks, ==, 3);
  g_assert_cmpfloat (s.rel, ==, 0);
  af_model_free (sim);
  af_model_free (cpu);
  af_graph_free (g);
}

/* A bad knob fails the compile with the knob's spelling in the message. */
static void
test_bad_knob (void)
{
  AfGraph *g = two_output_net ();
  AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
  GError *error = NULL;
  g_setenv ("AF_ANE_SIM_PERTURB", "scale:x", TRUE);
  AfModel *m = af__compile_on (g, &o, &af_backend_ane_sim, &error);
  g_unsetenv ("AF_ANE_SIM_PERTURB");
  g_assert_null (m);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "scale:F[:OUTPUT[:FROM]]"));
  g_clear_error (&error);
  o.check_every = -2;
  g_assert_null (af_compile (g, &o, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID);
  g_clear_error (&error);
  af_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("AF_ANE_SIM_PERTURB");
  g_test_add_func ("/selfcheck/clean", test_clean);
  g_test_add_func ("/selfcheck/within-bound", test_within_bound);
  g_test_add_func ("/selfcheck/beyond-bound", test_beyond_bound);
  g_test_add_func ("/selfcheck/interval", test_interval);
  g_test_add_func ("/selfcheck/restart", test_restart);
  g_test_add_func ("/selfcheck/none", test_none);
  g_test_add_func ("/selfcheck/compare", test_compare);
  g_test_add_func ("/selfcheck/input-reuse", test_input_reuse);
  g_test_add_func ("/selfcheck/bad-knob", test_bad_knob);
  return g_test_run ();
}
