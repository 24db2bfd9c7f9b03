/* blob-reader.h — an independent reader of MIL Blob Storage v2 files
 * (weight.bin), written from ../shared/ane/README.md §1.3 apart from the
 * writer in src/backends/ane/blob.c, so that a test of one against the
 * other can fail. Strict: it refuses what Apple's reader refuses (version,
 * sentinel, a data offset other than metadata + 64, bounds) and what the
 * facts say a writer must not leave (non-zero reserved fields, padding bits
 * that do not match the element count). */
#ifndef AF_TEST_BLOB_READER_H
#define AF_TEST_BLOB_READER_H

#include <glib.h>

typedef struct {
  guint32 dtype;        /* BlobDataType code */
  guint64 size;         /* payload bytes */
  guint64 data_offset;  /* absolute */
  guint64 padding_bits; /* sub-byte types */
  const guint8 *data;   /* into the file */
} AfTestBlob;

/* Number of blobs the header declares; -1 with @error set when the header is
 * not a version-2 header with zero reserved bytes. */
gint64 af_test_blob_count (const guint8 *file, gsize len, GError **error);

/* The blob whose metadata record is at @offset (what BLOBFILE names). */
gboolean af_test_blob_get (const guint8 *file, gsize len, guint64 offset, AfTestBlob *out,
                           GError **error);

/* Element @i of @b, unpacked (sub-byte types LSB-first) as an unsigned
 * integer of the type's width; floats come back as their bits. */
guint32 af_test_blob_element (const AfTestBlob *b, guint bits, gsize i);

/* Bits per element of a BlobDataType code, 0 if unknown. */
guint af_test_blob_bits (guint32 dtype);

#endif
