/* pbwrite.h — a protocol buffers wire-format writer (no libprotobuf): the
 * encoding rules of https://protobuf.dev/programming-guides/encoding/ that
 * the Core ML package needs (coreml.h).
 *
 * A message is built into a GByteArray field by field, in the order the
 * caller appends them; a sub-message is built into its own array and then
 * appended as a length-delimited field. Fields holding a proto3 default
 * (0, "", FALSE) are still written when the caller asks: the af_pb_*_nz
 * helpers skip them, as a proto3 serializer does. */
#ifndef AF_ANE_PBWRITE_H
#define AF_ANE_PBWRITE_H

#include <glib.h>

G_BEGIN_DECLS

/* The wire types (the low three bits of a field's key). */
typedef enum {
  AF_PB_VARINT = 0,
  AF_PB_FIXED64 = 1,
  AF_PB_LEN = 2,
  AF_PB_FIXED32 = 5,
} AfPbWire;

/* Appends @v as a base-128 varint (1..10 bytes). A negative int32 or int64
 * is passed sign-extended to 64 bits, as protobuf encodes it (10 bytes). */
void af_pb_varint (GByteArray *b, guint64 v);

/* Appends the key of field @field (1 .. 2^29 - 1) with wire type @wire. */
void af_pb_key (GByteArray *b, guint32 field, AfPbWire wire);

/* A varint field (int32, int64, uint64, bool, enum) holding @v. */
void af_pb_uint (GByteArray *b, guint32 field, guint64 v);
/* The same, skipped when @v is 0 (the proto3 default). */
void af_pb_uint_nz (GByteArray *b, guint32 field, guint64 v);

/* A fixed32 / fixed64 field, little-endian. */
void af_pb_fixed32 (GByteArray *b, guint32 field, guint32 v);
void af_pb_fixed64 (GByteArray *b, guint32 field, guint64 v);

/* A length-delimited field holding the @n bytes at @data (bytes, a
 * sub-message's encoding, a packed repeated field). */
void af_pb_bytes (GByteArray *b, guint32 field, const void *data, gsize n);

/* A string field holding @s (UTF-8, without its NUL). */
void af_pb_string (GByteArray *b, guint32 field, const char *s);
/* The same, skipped when @s is empty. */
void af_pb_string_nz (GByteArray *b, guint32 field, const char *s);

/* Appends sub-message @sub as field @field and frees @sub (transfer full). */
void af_pb_message (GByteArray *b, guint32 field, GByteArray *sub);

/* A new empty message buffer (transfer full: g_byte_array_unref, or hand it
 * to af_pb_message). */
GByteArray *af_pb_new (void);

G_END_DECLS

#endif
