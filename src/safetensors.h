/* safetensors.h — the safetensors weight format, private to libaneforge.
 *
 * A safetensors file is an 8-byte little-endian header length N, N bytes of
 * JSON header (an object: tensor name -> {"dtype", "shape", "data_offsets"},
 * plus an optional free-form "__metadata__"), then the data section; the
 * data_offsets [begin, end) of a tensor are relative to the data section.
 * This reader accepts the dtypes F32, F16, I8 and U8 and checks every field
 * (files are hostile); the writer produces 8-byte aligned, sorted files. */
#ifndef AF_SAFETENSORS_H
#define AF_SAFETENSORS_H

#include "graph.h"

G_BEGIN_DECLS

#define AF_SAFETENSORS_MAX_HEADER ((guint64) 100 * 1000 * 1000) /* bytes of JSON header */
#define AF_JSON_MAX_DEPTH 64 /* nesting of arrays and objects in any JSON we read */

/* One tensor of a safetensors file. */
typedef struct {
  char *name; /* owned */
  AfDType dtype;
  AfShape shape;
  const void *data; /* points into @bytes, aligned for @dtype */
  GBytes *bytes;    /* owned reference: the whole file, or an aligned copy */
} AfStTensor;

void af__st_tensor_free (AfStTensor *t);

/* Parses a safetensors file held in @data (@len bytes). @name_for_errors
 * starts every message. @owner (may be NULL) is the GBytes that keeps @data
 * alive: aligned tensors reference it instead of copying; with NULL every
 * tensor's data is copied. Returns (transfer full) an array of AfStTensor*
 * sorted by name (free func set), or NULL with @error set (AF_ERROR_PARSE,
 * _WEIGHTS or _LIMIT). */
GPtrArray *af__safetensors_parse (const guint8 *data, gsize len, const char *name_for_errors,
                                  GBytes *owner, GError **error);

/* Maps @path and parses it (AF_ERROR_IO if it cannot be opened). Returns
 * (transfer full) as af__safetensors_parse. */
GPtrArray *af__safetensors_load (const char *path, GError **error);

/* Writes the constants @consts (AfTensor*, borrowed) to @path: header keys
 * sorted by name, header padded to 8 bytes, data laid out by falling dtype
 * size so every tensor is aligned for its dtype with no holes. */
gboolean af__safetensors_write (const char *path, GPtrArray *consts, GError **error);

/* Checks that @data nests arrays / objects at most @max_depth deep (outside
 * strings), so a recursive JSON parser cannot overflow the stack. */
gboolean af__json_depth_ok (const char *data, gsize len, int max_depth);

/* "F32" -> AF_DTYPE_F32; FALSE for a dtype this build does not read. */
gboolean af__dtype_from_name (const char *name, AfDType *out);

G_END_DECLS

#endif /* AF_SAFETENSORS_H */
