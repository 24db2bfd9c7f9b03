/* estimate.c — af_graph_estimate: the core's cost model (src/estimate.c)
 * over the ANE partition, the same segments `aneforge export --ane` writes
 * (caps.c), so an estimate's programs and host steps are the export's. */
#include "backends/ane/caps.h"
#include "estimate.h"

AfEstimate *
af_graph_estimate (AfGraph *g, const char *target, GError **error)
{
  g_return_val_if_fail (g, NULL);
  AfTarget t;
  char *warning = NULL;
  af_target_resolve (target, &t, &warning);
  if (!t.curve) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED,
                 "ANE target \"%s\" (family %d, %s) has no cost curve: no estimate (the "
                 "seed's project_peak raises for it too)",
                 t.name, t.family, t.family_name);
    g_free (warning);
    return NULL;
  }
  AfAnePartition *part = af_ane_partition (g, error);
  if (!part) {
    g_free (warning);
    return NULL;
  }
  AfEstRegion *regions = g_new0 (AfEstRegion, MAX (part->segments->len, 1));
  for (guint k = 0; k < part->segments->len; k++) {
    const AfAneSegment *s = g_ptr_array_index (part->segments, k);
    regions[k].host = s->kind == AF_ANE_SEGMENT_HOST;
    regions[k].nodes = s->nodes;
    regions[k].reason = s->reason;
  }
  AfEstimate *e = af__estimate_regions (regions, part->segments->len, &t, warning);
  g_free (regions);
  af_ane_partition_free (part);
  return e;
}
