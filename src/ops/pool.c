/* PLACEHOLDER until the ops family lands */
#include "graph.h"
gboolean af__shape_pool (AfNode *n, GError **error)
{
  g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED, "op family pool not implemented yet");
  return FALSE;
}
void af__ref_pool (const AfNode *n, const float *const *in, float *out) {}
void af__cost_pool (const AfNode *n, AfCost *cost) { cost->flops = cost->bytes = 0; }
