/* pbwrite.c — protocol buffers wire format, writing side (pbwrite.h). */
#include "backends/ane/pbwrite.h"

#include <string.h>

void
af_pb_varint (GByteArray *b, guint64 v)
{
  guint8 out[10];
  guint n = 0;
  do {
    out[n] = (guint8) (v & 0x7f);
    v >>= 7;
    if (v)
      out[n] |= 0x80; /* more bytes follow */
    n++;
  } while (v);
  g_byte_array_append (b, out, n);
}

void
af_pb_key (GByteArray *b, guint32 field, AfPbWire wire)
{
  g_assert (field >= 1 && field < (1u << 29));
  af_pb_varint (b, ((guint64) field << 3) | (guint64) wire);
}

void
af_pb_uint (GByteArray *b, guint32 field, guint64 v)
{
  af_pb_key (b, field, AF_PB_VARINT);
  af_pb_varint (b, v);
}

void
af_pb_uint_nz (GByteArray *b, guint32 field, guint64 v)
{
  if (v)
    af_pb_uint (b, field, v);
}

void
af_pb_fixed32 (GByteArray *b, guint32 field, guint32 v)
{
  guint8 le[4];
  for (int i = 0; i < 4; i++)
    le[i] = (guint8) (v >> (8 * i));
  af_pb_key (b, field, AF_PB_FIXED32);
  g_byte_array_append (b, le, 4);
}

void
af_pb_fixed64 (GByteArray *b, guint32 field, guint64 v)
{
  guint8 le[8];
  for (int i = 0; i < 8; i++)
    le[i] = (guint8) (v >> (8 * i));
  af_pb_key (b, field, AF_PB_FIXED64);
  g_byte_array_append (b, le, 8);
}

void
af_pb_bytes (GByteArray *b, guint32 field, const void *data, gsize n)
{
  af_pb_key (b, field, AF_PB_LEN);
  af_pb_varint (b, n);
  if (n)
    g_byte_array_append (b, data, (guint) n);
}

void
af_pb_string (GByteArray *b, guint32 field, const char *s)
{
  af_pb_bytes (b, field, s, strlen (s));
}

void
af_pb_string_nz (GByteArray *b, guint32 field, const char *s)
{
  if (s && s[0])
    af_pb_string (b, field, s);
}

void
af_pb_message (GByteArray *b, guint32 field, GByteArray *sub)
{
  af_pb_bytes (b, field, sub->data, sub->len);
  g_byte_array_unref (sub);
}

GByteArray *
af_pb_new (void)
{
  return g_byte_array_new ();
}
