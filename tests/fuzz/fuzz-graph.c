/* fuzz-graph.c — libFuzzer target: arbitrary bytes as a JSON graph file
 * (af_graph_load_from_data, no weights directory). A load must either give
 * a graph whose values all have shapes within the limits, or an AF_ERROR. */
#include "graph.h"

#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  AfGraph *g = af_graph_load_from_data ((const char *) data, size, NULL, "fuzz.json", &error);
  if (!g) {
    g_assert_nonnull (error);
    g_assert_true (error->domain == AF_ERROR);
    g_assert_true (g_str_has_prefix (error->message, "fuzz.json"));
    g_error_free (error);
    return 0;
  }
  g_assert_null (error);
  for (guint i = 0; i < g->values->len; i++) {
    AfTensor *t = g_ptr_array_index (g->values, i);
    g_assert_cmpint (t->shape.rank, >=, 0);
    g_assert_cmpint (t->shape.rank, <=, AF_MAX_RANK);
    g_assert_true (t == af_graph_lookup (g, t->name));
  }
  for (guint i = 0; i < g->nodes->len; i++) {
    AfNode *n = g_ptr_array_index (g->nodes, i);
    for (guint j = 0; j < n->n_in; j++)
      g_assert_nonnull (n->in[j]);
  }
  af_graph_free (g);
  return 0;
}
