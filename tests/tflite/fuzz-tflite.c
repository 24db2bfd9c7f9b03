/* fuzz-tflite.c — libFuzzer target: arbitrary bytes as a .tflite file
 * (af_graph_import_tflite_from_data). An import must give a graph that
 * compiles or fails with an AF_ERROR, or fail itself with an AF_ERROR whose
 * message starts with the file name. */
#include "graph.h"
#include "import/tflite.h"

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
  AfGraph *g = af_graph_import_tflite_from_data (data, size, "fuzz.tflite", NULL, &error);
  if (!g) {
    g_assert_nonnull (error);
    g_assert_true (error->domain == AF_ERROR);
    g_assert_true (g_str_has_prefix (error->message, "fuzz.tflite"));
    g_error_free (error);
    return 0;
  }
  g_assert_null (error);
  for (guint i = 0; i < g->values->len; i++) {
    AfTensor *t = g_ptr_array_index (g->values, i);
    g_assert_true (t->shape.rank >= 1 && t->shape.rank <= AF_MAX_RANK);
    g_assert_true (t == af_graph_lookup (g, t->name));
  }
  AfModel *m = af_compile (g, NULL, &error);
  if (!m) {
    g_assert_true (error->domain == AF_ERROR);
    g_error_free (error);
  }
  af_model_free (m);
  af_graph_free (g);
  return 0;
}
