/* cli-precision.c — `aneforge precision MODEL [--target T] [--calibrate N]`:
 * where fp16 will hurt (af_precision_risk, docs/precision.md).
 *
 *   --target T          chip family or target (m1, h13, h14, h17s, host, any; default any)
 *   --calibrate N       run N frames in fp32 and fp16 and measure each op's error
 *   --seed S            of the calibration frames (default 1)
 *   --input-range LO,HI values of the non-image inputs (default -1,1)
 *   --mean M,M,M --std S,S,S   import an .onnx / .tflite model with an image port
 *                       computing (pixel / 255 - mean) / std
 *   --warnings          print only the warnings
 * Prints the per-node table, the hotspots and the warnings; exit status 0. */
#include "aneforge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int af_cli_precision (int argc, char **argv);

static gboolean
parse_floats (const char *v, int n, double *dst)
{
  char **parts = g_strsplit (v, ",", -1);
  gboolean ok = g_strv_length (parts) == (guint) n;
  for (int i = 0; ok && i < n; i++) {
    char *end;
    dst[i] = g_ascii_strtod (parts[i], &end);
    ok = end != parts[i] && *end == '\0';
  }
  g_strfreev (parts);
  return ok;
}

static int
precision_usage (void)
{
  fprintf (stderr, "usage: aneforge precision MODEL [--target T] [--calibrate N] [--seed S]\n"
                   "                          [--input-range LO,HI] [--mean M,M,M --std S,S,S] "
                   "[--warnings]\n");
  return 2;
}

int
af_cli_precision (int argc, char **argv)
{
  AfPrecisionOptions o = AF_PRECISION_OPTIONS_INIT;
  const char *model = NULL;
  double mean[3], std[3], range[2];
  gboolean have_mean = FALSE, have_std = FALSE, only_warnings = FALSE;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end = NULL;
    if (strcmp (a, "--warnings") == 0)
      only_warnings = TRUE;
    else if (a[0] != '-' && !model)
      model = a;
    else if (!v)
      return precision_usage ();
    else if (strcmp (a, "--target") == 0)
      o.target = v, i++;
    else if (strcmp (a, "--calibrate") == 0 || strcmp (a, "--seed") == 0) {
      long n = strtol (v, &end, 10);
      if (*end || n < 0 || n > 1000000)
        return precision_usage ();
      *(strcmp (a, "--seed") == 0 ? (int *) &o.seed : &o.calibrate) = (int) n;
      i++;
    } else if (strcmp (a, "--input-range") == 0 && parse_floats (v, 2, range))
      o.input_lo = range[0], o.input_hi = range[1], i++;
    else if (strcmp (a, "--mean") == 0 && parse_floats (v, 3, mean))
      have_mean = TRUE, i++;
    else if (strcmp (a, "--std") == 0 && parse_floats (v, 3, std))
      have_std = TRUE, i++;
    else
      return precision_usage ();
  }
  if (!model || have_mean != have_std)
    return precision_usage ();
  AfImportOptions io = AF_IMPORT_OPTIONS_INIT;
  if (have_mean) {
    io.image = TRUE;
    for (int c = 0; c < 3; c++) {
      io.scale[c] = (float) (1.0 / (255.0 * std[c]));
      io.bias[c] = (float) (-mean[c] / std[c]);
    }
  }
  GError *error = NULL;
  AfGraph *g = af_graph_open (model, &io, &error);
  AfPrecisionReport *r = g ? af_precision_risk (g, &o, &error) : NULL;
  af_graph_free (g);
  if (!r) {
    fprintf (stderr, "aneforge: %s\n", error->message);
    g_error_free (error);
    return 1;
  }
  if (!only_warnings) {
    char *text = af_precision_report_format (r);
    fputs (text, stdout);
    g_free (text);
  }
  for (char **w = r->warnings; *w; w++)
    printf ("%s\n", *w);
  af_precision_report_free (r);
  return 0;
}
