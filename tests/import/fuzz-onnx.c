/* fuzz-onnx.c — libFuzzer target: arbitrary bytes through the ONNX importer
 * must never crash. Seeds: tests/import/corpus/. Build with -Dfuzzing=true
 * (clang), run: build/tests/import/fuzz-onnx tests/import/corpus */
#include "graph.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GError *error = NULL;
  AfGraph *g = af_graph_import_onnx_from_data (data, size, "fuzz.onnx", NULL, &error);
  af_graph_free (g);
  g_clear_error (&error);
  return 0;
}
