/* open.c — af_graph_open: one entry point for every model file kind. */
#include "graph.h"

AfGraph *
af_graph_open (const char *path, const AfImportOptions *opts, GError **error)
{
  g_return_val_if_fail (path, NULL);
  if (g_str_has_suffix (path, ".onnx"))
    return af_graph_import_onnx (path, opts, error);
  if (g_str_has_suffix (path, ".tflite"))
    return af_graph_import_tflite (path, opts, error);
  if (g_str_has_suffix (path, ".json"))
    return af_graph_load (path, error);
  g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED,
               "%s: unknown model file kind (expected .json, .onnx or .tflite)", path);
  return NULL;
}
