/* PLACEHOLDER: the ONNX importer is landing */
#include "graph.h"
AfGraph *
af_graph_import_onnx (const char *path, const AfImportOptions *opts, GError **error)
{
  g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED, "%s: ONNX import not built yet", path);
  return NULL;
}
AfGraph *
af_graph_import_onnx_from_data (const guint8 *data, gsize len, const char *name,
                                const AfImportOptions *opts, GError **error)
{
  g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED, "%s: ONNX import not built yet", name);
  return NULL;
}
