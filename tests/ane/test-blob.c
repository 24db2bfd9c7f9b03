/* test-blob.c — the weight.bin writer (src/backends/ane/blob.c) against
 * Apple's published facts and an independent reader (blob-reader.c).
 *
 *   test-blob                   the GLib tests
 *   test-blob --write-cases DIR writes the cases for blob_oracle.py, which
 *                               rebuilds each with coremltools' own writer
 *                               and compares the bytes */
#include "backends/ane/blob.h"
#include "blob-reader.h"

#include <string.h>

/* The facts' known answer: three fp32[500] constants, const_1 and const_2
 * sharing one weight, land at metadata offsets 64 and 2176 (data 128..2127
 * and 2240..4239), and the file ends with the last blob's data. */
static void
test_known_answer (void)
{
  float v[500];
  for (int i = 0; i < 500; i++)
    v[i] = (float) i * 0.5f - 17.0f;
  AfAneBlobWriter *w = af_ane_blob_writer_new ();
  guint64 shared = af_ane_blob_append (w, AF_ANE_BLOB_FP32, v, 500);
  guint64 third = af_ane_blob_append (w, AF_ANE_BLOB_FP32, v, 500);
  g_assert_cmpuint (shared, ==, 64);
  g_assert_cmpuint (third, ==, 2176);
  gsize len;
  const guint8 *f = af_ane_blob_bytes (w, &len);
  g_assert_cmpuint (len, ==, 4240);
  GError *error = NULL;
  g_assert_cmpint (af_test_blob_count (f, len, &error), ==, 2);
  g_assert_no_error (error);
  const guint64 meta[] = { 64, 2176 }, data[] = { 128, 2240 };
  for (int k = 0; k < 2; k++) {
    AfTestBlob b;
    g_assert_true (af_test_blob_get (f, len, meta[k], &b, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (b.dtype, ==, 2);
    g_assert_cmpuint (b.size, ==, 2000);
    g_assert_cmpuint (b.data_offset, ==, data[k]);
    g_assert_cmpmem (b.data, 2000, v, sizeof v);
  }
  g_assert_true (memcmp (f + 2128, (guint8[48]){ 0 }, 48) == 0); /* the gap is zeros */
  af_ane_blob_writer_free (w);
}

/* One blob: header bytes 01 00 00 00 02 00 00 00 and 56 zeros; the record's
 * fields at +0, +4, +8, +0x10, +0x18 (the facts' table), reserved zero. */
static void
test_header_bytes (void)
{
  guint16 h[3] = { 0x3c00, 0xc000, 0x7bff };
  AfAneBlobWriter *w = af_ane_blob_writer_new ();
  af_ane_blob_append (w, AF_ANE_BLOB_FP16, h, 3);
  gsize len;
  const guint8 *f = af_ane_blob_bytes (w, &len);
  static const guint8 header[64] = { 1, 0, 0, 0, 2, 0, 0, 0 };
  g_assert_cmpmem (f, 64, header, 64);
  static const guint8 record[64] = { 0xef, 0xbe, 0xad, 0xde, 1, 0, 0, 0, 6, [16] = 128 };
  g_assert_cmpmem (f + 64, 64, record, 64);
  g_assert_cmpuint (len, ==, 134); /* no trailing pad */
  g_assert_cmpmem (f + 128, 6, h, 6);
  af_ane_blob_writer_free (w);
}

/* Sub-byte packing, LSB-first, from coremltools' docstrings and the facts:
 * 2-bit shape (5,) takes 2 bytes with 6 padding bits; uint4 is low nibble
 * first; uint3 and uint6 spill across bytes; a uint1 mask puts element i in
 * bit i % 8. */
static void
test_sub_byte (void)
{
  static const struct {
    AfAneBlobDtype dtype;
    guint n;
    guint8 in[16];
    guint size, pad;
    guint8 out[8];
  } cases[] = {
    { AF_ANE_BLOB_UINT2, 5, { 1, 2, 3, 0, 2 }, 2, 6, { 0x39, 0x02 } },
    { AF_ANE_BLOB_UINT4, 3, { 0x1, 0xf, 0x7 }, 2, 4, { 0xf1, 0x07 } },
    { AF_ANE_BLOB_INT4, 2, { 0x0e /* -2 */, 0x03 }, 1, 0, { 0x3e } },
    { AF_ANE_BLOB_UINT1, 10, { 1, 0, 0, 1, 1, 0, 0, 0, 0, 1 }, 2, 6, { 0x19, 0x02 } },
    { AF_ANE_BLOB_UINT3, 3, { 5, 7, 6 }, 2, 7, { 0xbd, 0x01 } },
    { AF_ANE_BLOB_UINT6, 2, { 0x3f, 0x2a }, 2, 4, { 0xbf, 0x0a } },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    AfAneBlobWriter *w = af_ane_blob_writer_new ();
    guint64 off = af_ane_blob_append (w, cases[c].dtype, cases[c].in, cases[c].n);
    gsize len;
    const guint8 *f = af_ane_blob_bytes (w, &len);
    AfTestBlob b;
    GError *error = NULL;
    g_assert_true (af_test_blob_get (f, len, off, &b, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (b.size, ==, cases[c].size);
    g_assert_cmpuint (b.padding_bits, ==, cases[c].pad);
    g_assert_cmpmem (b.data, b.size, cases[c].out, cases[c].size);
    guint bits = af_test_blob_bits (b.dtype);
    for (guint i = 0; i < cases[c].n; i++)
      g_assert_cmpuint (af_test_blob_element (&b, bits, i), ==, cases[c].in[i]);
    af_ane_blob_writer_free (w);
  }
}

static void
fill (guint8 *in, guint bits, gsize n, GRand *r)
{
  gsize bytes = bits < 8 ? n : n * (bits / 8);
  for (gsize i = 0; i < bytes; i++)
    in[i] = (guint8) g_rand_int (r);
  if (bits < 8)
    for (gsize i = 0; i < n; i++)
      in[i] &= (guint8) ((1u << bits) - 1);
}

/* Random sequences of every dtype and odd sizes: the reader finds every blob
 * where the writer said, at 64-aligned offsets, with every element back. */
static void
test_round_trip (void)
{
  static const AfAneBlobDtype dts[] = {
    AF_ANE_BLOB_FP16,   AF_ANE_BLOB_FP32,  AF_ANE_BLOB_UINT8, AF_ANE_BLOB_INT8,   AF_ANE_BLOB_INT16,
    AF_ANE_BLOB_UINT16, AF_ANE_BLOB_INT4,  AF_ANE_BLOB_UINT1, AF_ANE_BLOB_UINT2,  AF_ANE_BLOB_UINT4,
    AF_ANE_BLOB_UINT3,  AF_ANE_BLOB_UINT6, AF_ANE_BLOB_INT32, AF_ANE_BLOB_UINT32,
  };
  GRand *r = g_rand_new_with_seed (20261207);
  for (int round = 0; round < 20; round++) {
    AfAneBlobWriter *w = af_ane_blob_writer_new ();
    guint n_blobs = 1 + g_rand_int_range (r, 0, 8);
    guint64 offs[8];
    AfAneBlobDtype dt[8];
    gsize ns[8];
    guint8 *ins[8];
    for (guint k = 0; k < n_blobs; k++) {
      dt[k] = dts[g_rand_int_range (r, 0, G_N_ELEMENTS (dts))];
      ns[k] = (gsize) g_rand_int_range (r, 0, 300);
      guint bits = af_ane_blob_dtype_bits (dt[k]);
      ins[k] = g_malloc (ns[k] * 4 + 1);
      fill (ins[k], bits, ns[k], r);
      offs[k] = af_ane_blob_append (w, dt[k], ins[k], ns[k]);
    }
    gsize len;
    const guint8 *f = af_ane_blob_bytes (w, &len);
    GError *error = NULL;
    g_assert_cmpint (af_test_blob_count (f, len, &error), ==, n_blobs);
    for (guint k = 0; k < n_blobs; k++) {
      AfTestBlob b;
      g_assert_true (af_test_blob_get (f, len, offs[k], &b, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (b.dtype, ==, dt[k]);
      guint bits = af_test_blob_bits (b.dtype);
      for (gsize i = 0; i < ns[k]; i++) {
        guint32 want = 0;
        if (bits < 8)
          want = ins[k][i];
        else
          for (guint j = 0; j < bits / 8; j++)
            want |= (guint32) ins[k][i * (bits / 8) + j] << (8 * j);
        g_assert_cmpuint (af_test_blob_element (&b, bits, i), ==, want);
      }
      g_free (ins[k]);
    }
    af_ane_blob_writer_free (w);
  }
  g_rand_free (r);
}

/* The reader refuses what a broken writer would leave: another version, a
 * lost sentinel, data not right after its record, non-zero reserved bytes,
 * a size past the end, a misaligned offset. */
static void
test_reader_rejects (void)
{
  float v[20] = { 1 };
  AfAneBlobWriter *w = af_ane_blob_writer_new ();
  af_ane_blob_append (w, AF_ANE_BLOB_FP32, v, 20);
  gsize len;
  const guint8 *good = af_ane_blob_bytes (w, &len);
  static const struct {
    gsize at;
    guint8 value;
    const char *want;
  } breaks[] = {
    { 4, 1, "version" },    { 64, 0xee, "sentinel" },     { 80, 192, "data at" },
    { 100, 1, "reserved" }, { 72, 0xff, "past the end" }, { 12, 1, "reserved bytes 8" },
  };
  for (guint c = 0; c < G_N_ELEMENTS (breaks); c++) {
    guint8 *f = g_memdup2 (good, len);
    f[breaks[c].at] = breaks[c].value;
    GError *error = NULL;
    AfTestBlob b;
    gboolean ok =
        af_test_blob_count (f, len, &error) >= 0 && af_test_blob_get (f, len, 64, &b, &error);
    g_assert_false (ok);
    g_assert_nonnull (strstr (error->message, breaks[c].want));
    g_clear_error (&error);
    g_free (f);
  }
  AfTestBlob b;
  GError *error = NULL;
  g_assert_false (af_test_blob_get (good, len, 96, &b, &error));
  g_clear_error (&error);
  af_ane_blob_writer_free (w);
}

/* --write-cases DIR: per case, the blobs' inputs (NAME.K.in: one element
 * per byte for sub-byte types, else the little-endian elements), our file
 * (NAME.bin) and a line "NAME DTYPE:N@OFFSET ..." in DIR/cases.txt, OFFSET
 * being what our writer returned for that blob. */
static int
write_cases (const char *dir)
{
  static const struct {
    const char *name;
    AfAneBlobDtype dt[6];
    guint n[6];
  } cases[] = {
    { "known-answer", { AF_ANE_BLOB_FP32, AF_ANE_BLOB_FP32 }, { 500, 500 } },
    { "fp16-odd", { AF_ANE_BLOB_FP16, AF_ANE_BLOB_FP16, AF_ANE_BLOB_FP16 }, { 7, 1, 33 } },
    { "bytes",
      { AF_ANE_BLOB_UINT8, AF_ANE_BLOB_INT8, AF_ANE_BLOB_INT16, AF_ANE_BLOB_UINT16 },
      { 65, 3, 31, 64 } },
    { "words", { AF_ANE_BLOB_INT32, AF_ANE_BLOB_UINT32, AF_ANE_BLOB_FP32 }, { 5, 17, 1 } },
    { "sub-byte",
      { AF_ANE_BLOB_UINT1, AF_ANE_BLOB_UINT2, AF_ANE_BLOB_UINT3, AF_ANE_BLOB_UINT4,
        AF_ANE_BLOB_UINT6, AF_ANE_BLOB_INT4 },
      { 13, 5, 11, 9, 7, 15 } },
  };
  GRand *r = g_rand_new_with_seed (7);
  GString *list = g_string_new (NULL);
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    AfAneBlobWriter *w = af_ane_blob_writer_new ();
    g_string_append (list, cases[c].name);
    for (guint k = 0; k < 6 && cases[c].dt[k]; k++) {
      guint bits = af_ane_blob_dtype_bits (cases[c].dt[k]);
      gsize n = cases[c].n[k], bytes = bits < 8 ? n : n * bits / 8;
      guint8 *in = g_malloc (bytes);
      fill (in, bits, n, r);
      if (cases[c].dt[k] == AF_ANE_BLOB_FP16 || cases[c].dt[k] == AF_ANE_BLOB_FP32)
        for (gsize i = 0; i < n; i++) /* finite values: no NaN payloads to argue about */
          in[i * bits / 8 + bits / 8 - 1] &= 0x3f;
      guint64 off = af_ane_blob_append (w, cases[c].dt[k], in, n);
      g_autofree char *path = g_strdup_printf ("%s/%s.%u.in", dir, cases[c].name, k);
      g_assert_true (g_file_set_contents (path, (char *) in, bytes, NULL));
      g_string_append_printf (list, " %u:%u@%" G_GUINT64_FORMAT, cases[c].dt[k], (guint) n, off);
      g_free (in);
    }
    g_string_append_c (list, '\n');
    g_autofree char *bin = g_strdup_printf ("%s/%s.bin", dir, cases[c].name);
    g_assert_true (af_ane_blob_save (w, bin, NULL));
    af_ane_blob_writer_free (w);
  }
  g_autofree char *txt = g_build_filename (dir, "cases.txt", NULL);
  g_assert_true (g_file_set_contents (txt, list->str, -1, NULL));
  g_string_free (list, TRUE);
  g_rand_free (r);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "--write-cases") == 0)
    return write_cases (argv[2]);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ane/blob/known-answer", test_known_answer);
  g_test_add_func ("/ane/blob/header-bytes", test_header_bytes);
  g_test_add_func ("/ane/blob/sub-byte", test_sub_byte);
  g_test_add_func ("/ane/blob/round-trip", test_round_trip);
  g_test_add_func ("/ane/blob/reader-rejects", test_reader_rejects);
  return g_test_run ();
}
