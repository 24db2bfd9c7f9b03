/* estimate.c — the seed's measurement-free cost model (aneforge/_cost.py as
 * ../shared/seed/aneforge-python-docs.txt `estimate` and ANCHORS.md §6.3
 * define it), over a given partition:
 *
 *   node     bytes = (inputs + output + weights elements) x 2, flops for
 *            conv / matmul / linear only;
 *            analytic (a chip target): max(bytes / BW, flops / eff_peak),
 *            eff_peak = peak x min(1, (flops / F)^q) where the anchor has a
 *            utilisation ramp (h14);
 *            measured (m5-measured):   max(floor, bytes / BW, flops / peak);
 *   program  floor + each node's work above the floor (analytic: all of it,
 *            the floor is charged once per program);
 *   host     cut cost + its node's roofline (a bridge op or a node the ANE
 *            refuses, run between programs);
 *   total    the sum over the segments, in plan order (one frame, batch 1).
 *
 * The seed approximates a segmented graph's programs as cuts + 1; here the
 * partition is the one the ANE export emits, so the count is exact. */
#include "estimate.h"

#include "targets.h"

#include <math.h>
#include <string.h>

static double
af_numel (const AfShape *s)
{
  double n = 1;
  for (int i = 0; i < s->rank; i++)
    n *= (double) s->d[i];
  return n;
}

double
af__estimate_flops (const AfNode *n)
{
  switch (n->op) {
  case AF_OP_CONV: {
    const AfShape *w = &n->in[1]->shape; /* [Cout, Cin / groups, kH, kW] */
    if (w->rank != 4)
      return 0;
    return 2.0 * af_numel (&n->out->shape) * (double) w->d[1] * (double) w->d[2] * (double) w->d[3];
  }
  case AF_OP_MATMUL:
  case AF_OP_LINEAR: { /* x [..., K]: every output element is a K-long dot product */
    const AfShape *x = &n->in[0]->shape;
    if (x->rank == 0)
      return 0;
    return 2.0 * af_numel (&n->out->shape) * (double) x->d[x->rank - 1];
  }
  default:
    return 0;
  }
}

double
af__estimate_bytes (const AfNode *n)
{
  double elems = af_numel (&n->out->shape);
  for (guint i = 0; i < n->n_in; i++)
    elems += af_numel (&n->in[i]->shape);
  return 2.0 * elems;
}

/* Fills @e's time, bound and provenance for a node in a program (@host
 * FALSE) or a host step on @t. */
static void
af_node_cost (AfEstimateNode *e, const AfTarget *t, gboolean host)
{
  double peak = t->peak_tflops * 1e6; /* flop/us */
  if (t->util_flops > 0 && e->flops > 0)
    peak *= MIN (1.0, pow (e->flops / t->util_flops, t->util_q));
  double compute = e->flops / peak, memory = e->bytes / (t->bw_gbs * 1e3); /* GB/s = 1e3 B/us */
  gboolean measured = t->provenance == AF_PROVENANCE_MEASURED;
  e->us = MAX (compute, memory);
  e->bound = e->flops > 0 && compute >= memory ? AF_BOUND_COMPUTE : AF_BOUND_MEMORY;
  if (measured && t->floor_us >= e->us) {
    e->us = t->floor_us;
    e->bound = AF_BOUND_FLOOR;
  }
  /* the fusion discount: in a program each node pays only its work above
   * the one floor the program pays (analytic nodes carry no floor) */
  e->added_us = measured && !host ? e->us - t->floor_us : e->us;
  e->provenance = t->provenance;
}

AfEstimate *
af__estimate_regions (const AfEstRegion *regions, guint n_regions, const AfTarget *t, char *warning)
{
  AfEstimate *e = g_new0 (AfEstimate, 1);
  e->target = *t;
  e->warning = warning;
  e->n_segments = n_regions;
  e->segments = g_new0 (AfEstimateSegment, MAX (n_regions, 1));
  for (guint k = 0; k < n_regions; k++)
    e->n_nodes += regions[k].nodes->len;
  e->nodes = g_new0 (AfEstimateNode, MAX (e->n_nodes, 1));
  guint at = 0;
  double fixed_programs = 0;
  for (guint k = 0; k < n_regions; k++) {
    const AfEstRegion *r = &regions[k];
    AfEstimateSegment *s = &e->segments[k];
    s->host = r->host;
    s->first_node = at;
    s->n_nodes = r->nodes->len;
    s->floor_us = r->host ? t->cut_us : t->floor_us;
    s->reason = r->host && r->reason ? g_strdup (r->reason) : NULL;
    s->us = s->floor_us;
    for (guint i = 0; i < r->nodes->len; i++, at++) {
      const AfNode *n = g_ptr_array_index (r->nodes, i);
      AfEstimateNode *en = &e->nodes[at];
      en->name = g_strdup (n->name);
      en->op = af_op_info[n->op].name;
      en->segment = k;
      en->flops = af__estimate_flops (n);
      en->bytes = af__estimate_bytes (n);
      af_node_cost (en, t, r->host);
      s->us += en->added_us;
    }
    e->n_host += r->host;
    e->n_programs += !r->host;
    e->total_us += s->us;
    e->floor_total_us += s->floor_us;
    fixed_programs += s->floor_us;
  }
  e->floor_bound = n_regions > 0 && e->total_us <= af__target_floor_bound_ratio () * fixed_programs;
  return e;
}

void
af_estimate_free (AfEstimate *e)
{
  if (!e)
    return;
  for (guint i = 0; i < e->n_nodes; i++)
    g_free ((char *) e->nodes[i].name);
  for (guint k = 0; k < e->n_segments; k++)
    g_free ((char *) e->segments[k].reason);
  g_free (e->nodes);
  g_free (e->segments);
  g_free (e->warning);
  g_free (e);
}

const char *
af_bound_name (AfBound b)
{
  static const char *const names[] = { "floor", "memory", "compute" };
  return (guint) b < G_N_ELEMENTS (names) ? names[b] : "?";
}

const char *
af_provenance_name (AfProvenance p)
{
  static const char *const names[] = { "anchor", "analytic", "measured" };
  return (guint) p < G_N_ELEMENTS (names) ? names[p] : "?";
}

char *
af_estimate_floor_warning (const AfEstimate *e)
{
  g_return_val_if_fail (e, NULL);
  if (!e->floor_bound)
    return NULL;
  return g_strdup_printf (
      "dispatch-floor-bound: the estimate on %s is %.0f us, %.0f us of it the fixed per-call "
      "cost (%u program%s x %.0f us dispatch floor%s). Every ANE call pays a fixed dispatch + "
      "firmware round trip (~0.2 ms on M1) however small the work is, and dispatch is "
      "single-in-flight: threads and concurrency do not amortize it. Do more work per call: a "
      "larger batch, or more ops in one program.",
      e->target.name, e->total_us, e->floor_total_us, e->n_programs, e->n_programs == 1 ? "" : "s",
      e->target.floor_us, e->n_host ? ", plus the host steps' cut cost" : "");
}

/* Node indices ordered by added time, heaviest first. */
static gint
af_by_added (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const AfEstimateNode *nodes = user_data;
  double x = nodes[*(const guint *) a].added_us, y = nodes[*(const guint *) b].added_us;
  return x < y ? 1 : x > y ? -1 : 0;
}

#define AF_DESCRIBE_TOP 8

char *
af_estimate_describe (const AfEstimate *e)
{
  g_return_val_if_fail (e, NULL);
  const AfTarget *t = &e->target;
  GString *s = g_string_new (NULL);
  g_string_append_printf (
      s, "estimate on %s: %.1f us (%.3f ms) per frame, %u program%s, %u host step%s%s\n", t->name,
      e->total_us, e->total_us / 1e3, e->n_programs, e->n_programs == 1 ? "" : "s", e->n_host,
      e->n_host == 1 ? "" : "s", e->floor_bound ? ", dispatch-floor-bound" : "");
  g_string_append_printf (s,
                          "  target: family %d %s, curve %s, %d cores at %.2f GHz; provenance %s "
                          "(anchor %s)\n",
                          t->family, t->family_name, t->curve ? t->curve : "-", t->cores, t->ghz,
                          af_provenance_name (t->provenance), t->anchor);
  g_string_append_printf (
      s, "  roofline: floor %.1f us, BW %.1f GB/s, peak %.2f TFLOP/s, cut %.1f us%s\n", t->floor_us,
      t->bw_gbs, t->peak_tflops, t->cut_us, t->util_flops > 0 ? ", utilisation ramp" : "");
  for (guint k = 0; k < e->n_segments; k++) {
    const AfEstimateSegment *g = &e->segments[k];
    g_string_append_printf (s, "  segment %u: %s, %u node%s, %s %.1f + work %.1f = %.1f us%s%s\n",
                            k, g->host ? "host step" : "program", g->n_nodes,
                            g->n_nodes == 1 ? "" : "s", g->host ? "cut" : "floor", g->floor_us,
                            g->us - g->floor_us, g->us, g->reason ? " -- " : "",
                            g->reason ? g->reason : "");
  }
  guint n = MIN (e->n_nodes, AF_DESCRIBE_TOP);
  g_autofree guint *order = g_new (guint, MAX (e->n_nodes, 1));
  for (guint i = 0; i < e->n_nodes; i++)
    order[i] = i;
  g_qsort_with_data (order, e->n_nodes, sizeof (guint), af_by_added, e->nodes);
  g_string_append_printf (s, "  heaviest nodes (%u of %u):\n", n, e->n_nodes);
  g_string_append_printf (s, "    %-28s %-10s %4s %10s %10s %9s  %-8s %s\n", "node", "op", "seg",
                          "MFLOP", "KB", "us", "bound", "provenance");
  for (guint i = 0; i < n; i++) {
    const AfEstimateNode *d = &e->nodes[order[i]];
    g_string_append_printf (s, "    %-28s %-10s %4u %10.2f %10.1f %9.2f  %-8s %s\n", d->name, d->op,
                            d->segment, d->flops / 1e6, d->bytes / 1e3, d->added_us,
                            af_bound_name (d->bound), af_provenance_name (d->provenance));
  }
  return g_string_free (s, FALSE);
}
