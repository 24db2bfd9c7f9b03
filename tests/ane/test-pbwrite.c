/* test-pbwrite.c — the protobuf wire-format writer (src/backends/ane/
 * pbwrite.c) against the encoding guide's known answers
 * (https://protobuf.dev/programming-guides/encoding/): `08 96 01` for field
 * 1 = 150, `12 07 74 65 73 74 69 6e 67` for field 2 = "testing", a
 * sub-message `1a 03 08 96 01`, -1 as ten bytes, keys of large field
 * numbers (Model.mlProgram = 502), fixed32/64 little-endian, and the
 * proto3-default helpers leaving their field out. */
#include "backends/ane/pbwrite.h"

#include <string.h>

static void
assert_bytes (GByteArray *b, const guint8 *want, gsize n)
{
  g_assert_cmpmem (b->data, b->len, want, n);
  g_byte_array_set_size (b, 0);
}

static void
test_varints (void)
{
  GByteArray *b = af_pb_new ();
  af_pb_varint (b, 0);
  assert_bytes (b, (const guint8[]){ 0x00 }, 1);
  af_pb_varint (b, 127);
  assert_bytes (b, (const guint8[]){ 0x7f }, 1);
  af_pb_varint (b, 128);
  assert_bytes (b, (const guint8[]){ 0x80, 0x01 }, 2);
  af_pb_varint (b, 300);
  assert_bytes (b, (const guint8[]){ 0xac, 0x02 }, 2);
  af_pb_varint (b, (guint64) (gint64) -1); /* an int32 / int64 -1 */
  assert_bytes (b, (const guint8[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 },
                10);
  af_pb_varint (b, G_MAXUINT64);
  assert_bytes (b, (const guint8[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 },
                10);
  af_pb_varint (b, 1ull << 63);
  assert_bytes (b, (const guint8[]){ 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 },
                10);
  g_byte_array_unref (b);
}

static void
test_fields (void)
{
  GByteArray *b = af_pb_new ();
  af_pb_uint (b, 1, 150);
  assert_bytes (b, (const guint8[]){ 0x08, 0x96, 0x01 }, 3);
  af_pb_string (b, 2, "testing");
  assert_bytes (b, (const guint8[]){ 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g' }, 9);
  GByteArray *sub = af_pb_new ();
  af_pb_uint (sub, 1, 150);
  af_pb_message (b, 3, sub); /* takes @sub */
  assert_bytes (b, (const guint8[]){ 0x1a, 0x03, 0x08, 0x96, 0x01 }, 5);
  af_pb_key (b, 502, AF_PB_LEN); /* (502 << 3) | 2 = 4018 */
  assert_bytes (b, (const guint8[]){ 0xb2, 0x1f }, 2);
  af_pb_fixed32 (b, 5, 0x11223344u);
  assert_bytes (b, (const guint8[]){ 0x2d, 0x44, 0x33, 0x22, 0x11 }, 5);
  af_pb_fixed64 (b, 1, 0x0102030405060708ull);
  assert_bytes (b, (const guint8[]){ 0x09, 8, 7, 6, 5, 4, 3, 2, 1 }, 9);
  af_pb_bytes (b, 7, NULL, 0);
  assert_bytes (b, (const guint8[]){ 0x3a, 0x00 }, 2);
  g_byte_array_unref (b);
}

static void
test_defaults_left_out (void)
{
  GByteArray *b = af_pb_new ();
  af_pb_uint_nz (b, 1, 0);
  af_pb_string_nz (b, 2, "");
  af_pb_string_nz (b, 2, NULL);
  g_assert_cmpuint (b->len, ==, 0);
  af_pb_uint_nz (b, 1, 1);
  af_pb_string_nz (b, 2, "a");
  assert_bytes (b, (const guint8[]){ 0x08, 0x01, 0x12, 0x01, 'a' }, 5);
  g_byte_array_unref (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pbwrite/varints", test_varints);
  g_test_add_func ("/pbwrite/fields", test_fields);
  g_test_add_func ("/pbwrite/defaults-left-out", test_defaults_left_out);
  return g_test_run ();
}
