/* blob.h — the weight file of a MIL program (`weights/weight.bin`, MIL Blob
 * Storage v2, Apple's MILBlob format; ../shared/ane/README.md §1.3).
 *
 * A 64-byte header (u32 count, u32 version = 2, zeros), then per blob a
 * 64-byte metadata record at a 64-aligned offset (u32 0xDEADBEEF, u32 dtype,
 * u64 size in bytes, u64 absolute data offset, u64 padding bits, 32 zero
 * bytes) followed at once by the data. A program's BLOBFILE(offset = ...)
 * names the metadata record, which is what af_ane_blob_append returns.
 * Little-endian throughout; gaps are zeros, nothing trails the last blob. */
#ifndef AF_ANE_BLOB_H
#define AF_ANE_BLOB_H

#include <glib.h>

/* MILBlob's BlobDataType codes (not MIL.proto's DataType numbers). */
typedef enum {
  AF_ANE_BLOB_FP16 = 1,
  AF_ANE_BLOB_FP32 = 2,
  AF_ANE_BLOB_UINT8 = 3,
  AF_ANE_BLOB_INT8 = 4,
  AF_ANE_BLOB_BF16 = 5,
  AF_ANE_BLOB_INT16 = 6,
  AF_ANE_BLOB_UINT16 = 7,
  AF_ANE_BLOB_INT4 = 8,
  AF_ANE_BLOB_UINT1 = 9,
  AF_ANE_BLOB_UINT2 = 10,
  AF_ANE_BLOB_UINT4 = 11,
  AF_ANE_BLOB_UINT3 = 12,
  AF_ANE_BLOB_UINT6 = 13,
  AF_ANE_BLOB_INT32 = 14,
  AF_ANE_BLOB_UINT32 = 15,
} AfAneBlobDtype;

#define AF_ANE_BLOB_SENTINEL 0xDEADBEEFu
#define AF_ANE_BLOB_VERSION 2u
#define AF_ANE_BLOB_ALIGN 64u

/* Bits per element of @dtype (1..32), 0 for a code this file does not know. */
guint af_ane_blob_dtype_bits (AfAneBlobDtype dtype);

typedef struct AfAneBlobWriter AfAneBlobWriter;

/* An empty weight file: the header alone (transfer full; free with
 * af_ane_blob_writer_free). */
AfAneBlobWriter *af_ane_blob_writer_new (void);

/* Appends @n elements of @dtype and returns the offset of their metadata
 * record. Byte-sized types take @data as the little-endian elements; sub-byte
 * types (INT4, UINT1..UINT6) take one element per byte (the low bits) and
 * are packed LSB-first: element i starts at bit (i * bits) % 8 of byte
 * (i * bits) / 8. @data is copied. */
guint64 af_ane_blob_append (AfAneBlobWriter *w, AfAneBlobDtype dtype, const void *data, gsize n);

/* The file so far (owned by @w, valid until the next append or free). */
const guint8 *af_ane_blob_bytes (const AfAneBlobWriter *w, gsize *len);

/* Number of blobs appended. */
guint af_ane_blob_count (const AfAneBlobWriter *w);

/* Writes the file to @path; FALSE with @error set on an I/O failure. */
gboolean af_ane_blob_save (const AfAneBlobWriter *w, const char *path, GError **error);

/* Frees @w; NULL is a no-op. */
void af_ane_blob_writer_free (AfAneBlobWriter *w);

#endif
