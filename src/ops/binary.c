/* PLACEHOLDER until the ops family lands */
#include "graph.h"
gboolean af__shape_binary (AfNode *n, GError **error)
{
  g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED, "op family binary not implemented yet");
  return FALSE;
}
void af__ref_binary (const AfNode *n, const float *const *in, float *out) {}
void af__cost_binary (const AfNode *n, AfCost *cost) { cost->flops = cost->bytes = 0; }
