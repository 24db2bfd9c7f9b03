/* protobuf.h — a minimal, bounds-checked reader of the protobuf wire format
 * (private to libaneforge). No schema: the caller walks a message field by
 * field and descends into the length-delimited fields it knows. Every read is
 * checked against the end of its message; nesting is limited to
 * AF_PB_MAX_DEPTH levels. Nothing is allocated except the GArrays the
 * caller passes in. */
#ifndef AF_PROTOBUF_H
#define AF_PROTOBUF_H

#include <glib.h>

G_BEGIN_DECLS

#define AF_PB_MAX_DEPTH 10

typedef enum {
  AF_PB_VARINT = 0,
  AF_PB_I64 = 1,
  AF_PB_LEN = 2,
  AF_PB_I32 = 5,
} AfPbWire;

typedef struct {
  const guint8 *base; /* start of the whole buffer (offsets in messages); borrowed */
  const guint8 *p, *end;
  int depth; /* 0 for the top-level message */
} AfPbReader;

typedef struct {
  guint32 number;
  AfPbWire wire;
  guint64 u;          /* VARINT, I64, I32: the raw value */
  const guint8 *data; /* LEN: the payload (borrowed from the buffer) */
  gsize len;          /* LEN: payload length */
  gsize offset;       /* of the field's tag, from reader->base */
} AfPbField;

/* A reader over @len bytes at @data (borrowed; must outlive the reader). */
void af__pb_init (AfPbReader *r, const guint8 *data, gsize len);

/* Reads the next field of @r into @f. Returns 1 for a field, 0 at the end of
 * the message, -1 with @error (AF_ERROR_PARSE, "byte N: ...") on truncated or
 * malformed data (bad varint, group or unknown wire type, field number 0,
 * length past the end). */
int af__pb_next (AfPbReader *r, AfPbField *f, GError **error);

/* A reader over the payload of LEN field @f of @parent, one level deeper.
 * FALSE with @error if @f is not LEN or the depth would exceed
 * AF_PB_MAX_DEPTH. */
gboolean af__pb_sub (const AfPbReader *parent, const AfPbField *f, AfPbReader *child,
                     GError **error);

/* FALSE with @error ("byte N: field F (@what) has wire type W, expected E")
 * unless @f has wire type @wire. */
gboolean af__pb_expect (const AfPbReader *r, const AfPbField *f, AfPbWire wire, const char *what,
                        GError **error);

/* Decodes one varint at *p (< end), advancing *p. FALSE if truncated or
 * longer than 10 bytes. */
gboolean af__pb_varint (const guint8 **p, const guint8 *end, guint64 *out);

/* Repeated scalars, packed (one LEN field) or not (one scalar field each):
 * append the values of @f to @out. @out holds gint64 (varints, as int64),
 * float (fixed32) or double (fixed64) respectively. FALSE with @error on a
 * wrong wire type or a packed payload that does not divide. */
gboolean af__pb_append_varints (const AfPbReader *r, const AfPbField *f, const char *what,
                                GArray *out, GError **error);
gboolean af__pb_append_floats (const AfPbReader *r, const AfPbField *f, const char *what,
                               GArray *out, GError **error);
gboolean af__pb_append_doubles (const AfPbReader *r, const AfPbField *f, const char *what,
                                GArray *out, GError **error);

/* Little-endian loads from unaligned memory. */
guint32 af__pb_le32 (const guint8 *p);
guint64 af__pb_le64 (const guint8 *p);

G_END_DECLS

#endif /* AF_PROTOBUF_H */
