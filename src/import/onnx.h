/* onnx.h — private helpers of the ONNX importer (src/import/onnx/) used by the
 * conformance runner (tests/conformance): a parser of one serialized
 * TensorProto, e.g. the input_K.pb / output_K.pb files of the ONNX node
 * tests. */
#ifndef AF_IMPORT_ONNX_H
#define AF_IMPORT_ONNX_H

#include "aneforge.h"

G_BEGIN_DECLS

/* ONNX TensorProto.DataType values a caller may test *dtype against. */
#define AF_ONNX_FLOAT 1
#define AF_ONNX_UINT8 2
#define AF_ONNX_INT8 3
#define AF_ONNX_INT32 6
#define AF_ONNX_INT64 7
#define AF_ONNX_BOOL 9
#define AF_ONNX_FLOAT16 10
#define AF_ONNX_DOUBLE 11

/* Parses the TensorProto of @len bytes at @data (borrowed). Numeric types
 * (float, double, float16, (u)int8/16/32/64, bool) are widened to fp32
 * (int64 beyond 2^24 loses precision). @name_for_errors prefixes messages.
 * OUT: *dtype the ONNX data type, *rank and @dims (AF_MAX_RANK entries),
 * *numel, *values (transfer full, g_free; never NULL on success), *name
 * (transfer full, g_free; "" when unset; may be NULL to ignore). Returns
 * FALSE with @error (AF_ERROR_PARSE malformed, AF_ERROR_UNSUPPORTED other
 * types / external data, AF_ERROR_LIMIT rank or size, AF_ERROR_WEIGHTS data
 * size mismatch). */
gboolean af__onnx_parse_tensor (const guint8 *data, gsize len, const char *name_for_errors,
                                int *dtype, int *rank, gint64 *dims, gint64 *numel, float **values,
                                char **name, GError **error);

G_END_DECLS

#endif /* AF_IMPORT_ONNX_H */
