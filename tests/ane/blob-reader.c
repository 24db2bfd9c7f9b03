/* blob-reader.c — see blob-reader.h. */
#include "blob-reader.h"

#define READER_ERROR (g_quark_from_static_string ("af-test-blob-reader"))

static guint64
le (const guint8 *p, int n)
{
  guint64 v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static gboolean
all_zero (const guint8 *p, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (p[i])
      return FALSE;
  return TRUE;
}

guint
af_test_blob_bits (guint32 dtype)
{
  static const guint bits[] = { 0, 16, 32, 8, 8, 16, 16, 16, 4, 1, 2, 4, 3, 6, 32, 32 };
  return dtype < G_N_ELEMENTS (bits) ? bits[dtype] : 0;
}

gint64
af_test_blob_count (const guint8 *file, gsize len, GError **error)
{
  if (len < 64) {
    g_set_error (error, READER_ERROR, 1, "%zu bytes: shorter than the 64-byte header", len);
    return -1;
  }
  if (le (file + 4, 4) != 2) {
    g_set_error (error, READER_ERROR, 1, "header version %u, expected 2", (guint) le (file + 4, 4));
    return -1;
  }
  if (!all_zero (file + 8, 56)) {
    g_set_error (error, READER_ERROR, 1, "header reserved bytes 8..63 are not zero");
    return -1;
  }
  return (gint64) le (file, 4);
}

gboolean
af_test_blob_get (const guint8 *file, gsize len, guint64 offset, AfTestBlob *out, GError **error)
{
  if (offset % 64 || offset < 64 || offset > len || len - offset < 64) {
    g_set_error (error, READER_ERROR, 2,
                 "offset %" G_GUINT64_FORMAT
                 ": not a 64-aligned metadata record inside the %zu-byte file",
                 offset, len);
    return FALSE;
  }
  const guint8 *m = file + offset;
  if (le (m, 4) != 0xDEADBEEF) {
    g_set_error (error, READER_ERROR, 2,
                 "offset %" G_GUINT64_FORMAT ": sentinel 0x%08x, "
                 "expected 0xdeadbeef",
                 offset, (guint) le (m, 4));
    return FALSE;
  }
  out->dtype = (guint32) le (m + 4, 4);
  out->size = le (m + 8, 8);
  out->data_offset = le (m + 16, 8);
  out->padding_bits = le (m + 24, 8);
  guint bits = af_test_blob_bits (out->dtype);
  if (!bits) {
    g_set_error (error, READER_ERROR, 2, "offset %" G_GUINT64_FORMAT ": unknown dtype %u", offset,
                 out->dtype);
    return FALSE;
  }
  if (out->data_offset != offset + 64) {
    g_set_error (error, READER_ERROR, 2,
                 "offset %" G_GUINT64_FORMAT ": data at %" G_GUINT64_FORMAT
                 ", expected right after the record (%" G_GUINT64_FORMAT ")",
                 offset, out->data_offset, offset + 64);
    return FALSE;
  }
  if (out->size > len - out->data_offset) {
    g_set_error (error, READER_ERROR, 2,
                 "offset %" G_GUINT64_FORMAT ": %" G_GUINT64_FORMAT
                 " bytes of data run past the end of the file",
                 offset, out->size);
    return FALSE;
  }
  if (!all_zero (m + 32, 32)) {
    g_set_error (error, READER_ERROR, 2, "offset %" G_GUINT64_FORMAT ": reserved bytes not zero",
                 offset);
    return FALSE;
  }
  if (bits >= 8 ? out->padding_bits != 0 || out->size % (bits / 8)
                : out->padding_bits > 7 || (out->size == 0 && out->padding_bits)) {
    g_set_error (error, READER_ERROR, 2,
                 "offset %" G_GUINT64_FORMAT ": %" G_GUINT64_FORMAT " bytes with %" G_GUINT64_FORMAT
                 " padding bits do not fit %u-bit elements",
                 offset, out->size, out->padding_bits, bits);
    return FALSE;
  }
  out->data = file + out->data_offset;
  return TRUE;
}

guint32
af_test_blob_element (const AfTestBlob *b, guint bits, gsize i)
{
  if (bits >= 8)
    return (guint32) le (b->data + i * (bits / 8), (int) (bits / 8));
  guint32 v = 0;
  for (guint k = 0; k < bits; k++) {
    gsize bit = i * bits + k;
    v |= (guint32) (b->data[bit / 8] >> (bit % 8) & 1) << k;
  }
  return v;
}
