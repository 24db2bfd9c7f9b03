/* cli-estimate.c — `aneforge estimate MODEL [--target T | --all]`: the
 * measurement-free per-chip latency of a model's ANE partition
 * (af_graph_estimate, docs/estimate.md). One target prints its segments and
 * heaviest nodes; --all prints one row per target that has a cost curve.
 * The target's fallback warning and the dispatch-floor warning go to
 * stderr. */
#include "aneforge.h"

#include <stdio.h>
#include <string.h>

int af_cli_estimate (int argc, char **argv);
char *af_cli_estimate_summary (AfGraph *g);

static void
warn (const char *what)
{
  if (what)
    fprintf (stderr, "aneforge: warning: %s\n", what);
}

static int
estimate_one (AfGraph *g, const char *target)
{
  GError *error = NULL;
  AfEstimate *e = af_graph_estimate (g, target, &error);
  if (!e) {
    fprintf (stderr, "aneforge: %s\n", error->message);
    g_error_free (error);
    return 1;
  }
  warn (e->warning);
  g_autofree char *text = af_estimate_describe (e);
  fputs (text, stdout);
  fflush (stdout); /* the warnings after the table */
  g_autofree char *floor = af_estimate_floor_warning (e);
  warn (floor);
  af_estimate_free (e);
  return 0;
}

static void
estimate_row (AfGraph *g, const char *target, int *status)
{
  GError *error = NULL;
  AfEstimate *e = af_graph_estimate (g, target, &error);
  if (!e) {
    if (!g_error_matches (error, AF_ERROR, AF_ERROR_UNSUPPORTED) ||
        !strstr (error->message, "cost curve"))
      *status = 1;
    printf ("%-12s %s\n", target, error->message);
    g_error_free (error);
    return;
  }
  const AfTarget *t = &e->target;
  g_autofree char *label =
      e->warning ? g_strdup_printf ("%s->%s", target, t->name) : g_strdup (t->name);
  printf ("%-12s %6d %-6s %-12s %-9s %8.1f %8.1f %8.2f %5u %5u %10.3f%s\n", label, t->family,
          t->curve, t->anchor, af_provenance_name (t->provenance), t->floor_us, t->bw_gbs,
          t->peak_tflops, e->n_programs, e->n_host, e->total_us / 1e3,
          e->floor_bound ? "  floor-bound" : "");
  af_estimate_free (e);
}

static int
estimate_all (AfGraph *g)
{
  int status = 0;
  printf ("%-12s %6s %-6s %-12s %-9s %8s %8s %8s %5s %5s %10s\n", "target", "family", "curve",
          "anchor", "basis", "floor_us", "BW_GB/s", "TFLOP/s", "progs", "host", "total_ms");
  for (guint i = 0; i < af_target_count (); i++)
    estimate_row (g, af_target_name (i), &status);
  estimate_row (g, "m5-measured", &status);
  return status;
}

/* The analytic estimate on the three measured chips as one line for
 * `inspect --backend ane` (transfer full), NULL if @g has none. */
char *
af_cli_estimate_summary (AfGraph *g)
{
  static const char *const chips[] = { "h13", "h14", "h17s" };
  GString *line = g_string_new ("  estimate (analytic, docs/estimate.md):");
  for (guint i = 0; i < G_N_ELEMENTS (chips); i++) {
    AfEstimate *e = af_graph_estimate (g, chips[i], NULL);
    if (!e)
      return g_string_free (line, TRUE);
    g_string_append_printf (line, "%s %s %.3f ms%s", i ? "," : "", chips[i], e->total_us / 1e3,
                            e->floor_bound ? " (floor-bound)" : "");
    af_estimate_free (e);
  }
  g_string_append (line, "; every chip: aneforge estimate MODEL --all\n");
  return g_string_free (line, FALSE);
}

int
af_cli_estimate (int argc, char **argv)
{
  const char *model = NULL, *target = NULL;
  gboolean all = FALSE;
  for (int i = 2; i < argc; i++) {
    if (strcmp (argv[i], "--target") == 0 && i + 1 < argc)
      target = argv[++i];
    else if (strcmp (argv[i], "--all") == 0)
      all = TRUE;
    else if (!model && argv[i][0] != '-')
      model = argv[i];
    else {
      fprintf (stderr, "aneforge: unexpected argument %s\n", argv[i]);
      return 2;
    }
  }
  if (!model || (all && target)) {
    fprintf (stderr, "usage: aneforge estimate MODEL [--target T | --all]\n"
                     "       T: h13 .. h18, t1, m11 (the 28 compiler targets), m1 .. m5, host, "
                     "m5-measured\n");
    return 2;
  }
  GError *error = NULL;
  AfGraph *g = af_graph_open (model, NULL, &error);
  if (!g) {
    fprintf (stderr, "aneforge: %s\n", error->message);
    g_error_free (error);
    return 1;
  }
  int status = all ? estimate_all (g) : estimate_one (g, target ? target : "host");
  af_graph_free (g);
  return status;
}
