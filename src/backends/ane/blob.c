/* blob.c — the MIL Blob Storage v2 writer (see blob.h). */
#include "blob.h"

#include <string.h>

/* The format is little-endian; the byte-sized payloads are copied as they
 * are in memory. */
#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "blob.c writes little-endian payloads by copying them"
#endif

struct AfAneBlobWriter {
  GByteArray *file;
  guint32 count;
};

guint
af_ane_blob_dtype_bits (AfAneBlobDtype dtype)
{
  switch (dtype) {
  case AF_ANE_BLOB_UINT1:
    return 1;
  case AF_ANE_BLOB_UINT2:
    return 2;
  case AF_ANE_BLOB_UINT3:
    return 3;
  case AF_ANE_BLOB_INT4:
  case AF_ANE_BLOB_UINT4:
    return 4;
  case AF_ANE_BLOB_UINT6:
    return 6;
  case AF_ANE_BLOB_UINT8:
  case AF_ANE_BLOB_INT8:
    return 8;
  case AF_ANE_BLOB_FP16:
  case AF_ANE_BLOB_BF16:
  case AF_ANE_BLOB_INT16:
  case AF_ANE_BLOB_UINT16:
    return 16;
  case AF_ANE_BLOB_FP32:
  case AF_ANE_BLOB_INT32:
  case AF_ANE_BLOB_UINT32:
    return 32;
  }
  return 0;
}

static void
put_u32 (guint8 *p, guint32 v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (guint8) (v >> (8 * i));
}

static void
put_u64 (guint8 *p, guint64 v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (guint8) (v >> (8 * i));
}

AfAneBlobWriter *
af_ane_blob_writer_new (void)
{
  AfAneBlobWriter *w = g_new0 (AfAneBlobWriter, 1);
  w->file = g_byte_array_new ();
  g_byte_array_set_size (w->file, AF_ANE_BLOB_ALIGN);
  memset (w->file->data, 0, AF_ANE_BLOB_ALIGN);
  put_u32 (w->file->data + 4, AF_ANE_BLOB_VERSION);
  return w;
}

/* Packs @n values of @bits bits (the low bits of each byte of @v) LSB-first
 * into @out, which holds ceil(n * bits / 8) zeroed bytes. */
static void
pack_bits (guint8 *out, const guint8 *v, gsize n, guint bits)
{
  for (gsize i = 0; i < n; i++) {
    guint32 x = v[i] & ((1u << bits) - 1);
    gsize bit = i * bits;
    out[bit / 8] |= (guint8) (x << (bit % 8));
    if (bit % 8 + bits > 8)
      out[bit / 8 + 1] |= (guint8) (x >> (8 - bit % 8));
  }
}

guint64
af_ane_blob_append (AfAneBlobWriter *w, AfAneBlobDtype dtype, const void *data, gsize n)
{
  guint bits = af_ane_blob_dtype_bits (dtype);
  g_return_val_if_fail (bits > 0 && n <= G_MAXSIZE / 64, 0);
  gsize size = (n * bits + 7) / 8;
  guint64 meta = (w->file->len + AF_ANE_BLOB_ALIGN - 1) / AF_ANE_BLOB_ALIGN * AF_ANE_BLOB_ALIGN;
  gsize old = w->file->len;
  g_byte_array_set_size (w->file, meta + AF_ANE_BLOB_ALIGN + size);
  guint8 *m = w->file->data + meta;
  memset (w->file->data + old, 0, w->file->len - old);
  put_u32 (m, AF_ANE_BLOB_SENTINEL);
  put_u32 (m + 4, dtype);
  put_u64 (m + 8, size);
  put_u64 (m + 16, meta + AF_ANE_BLOB_ALIGN);
  if (bits < 8) {
    put_u64 (m + 24, (8 - (n * bits) % 8) % 8);
    pack_bits (m + AF_ANE_BLOB_ALIGN, data, n, bits);
  } else {
    memcpy (m + AF_ANE_BLOB_ALIGN, data, size);
  }
  put_u32 (w->file->data, ++w->count);
  return meta;
}

const guint8 *
af_ane_blob_bytes (const AfAneBlobWriter *w, gsize *len)
{
  *len = w->file->len;
  return w->file->data;
}

guint
af_ane_blob_count (const AfAneBlobWriter *w)
{
  return w->count;
}

gboolean
af_ane_blob_save (const AfAneBlobWriter *w, const char *path, GError **error)
{
  return g_file_set_contents (path, (const char *) w->file->data, w->file->len, error);
}

void
af_ane_blob_writer_free (AfAneBlobWriter *w)
{
  if (!w)
    return;
  g_byte_array_unref (w->file);
  g_free (w);
}
