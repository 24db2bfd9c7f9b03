/* protobuf.c — the bounds-checked protobuf wire-format reader (see
 * protobuf.h). */
#include "import/protobuf.h"

#include "graph.h"

#include <string.h>

static gsize
af_pb_off (const AfPbReader *r, const guint8 *p)
{
  return (gsize) (p - r->base);
}

void
af__pb_init (AfPbReader *r, const guint8 *data, gsize len)
{
  r->base = data;
  r->p = data;
  r->end = data + len;
  r->depth = 0;
}

gboolean
af__pb_varint (const guint8 **p, const guint8 *end, guint64 *out)
{
  guint64 v = 0;
  const guint8 *q = *p;
  for (int i = 0; i < 10; i++) {
    if (q >= end)
      return FALSE;
    guint8 b = *q++;
    if (i == 9 && b > 1)
      return FALSE; /* more than 64 bits */
    v |= (guint64) (b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *p = q;
      *out = v;
      return TRUE;
    }
  }
  return FALSE;
}

guint32
af__pb_le32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

guint64
af__pb_le64 (const guint8 *p)
{
  return (guint64) af__pb_le32 (p) | (guint64) af__pb_le32 (p + 4) << 32;
}

int
af__pb_next (AfPbReader *r, AfPbField *f, GError **error)
{
  if (r->p >= r->end)
    return 0;
  const guint8 *start = r->p;
  guint64 tag;
  memset (f, 0, sizeof *f);
  f->offset = af_pb_off (r, start);
  if (!af__pb_varint (&r->p, r->end, &tag)) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                 "byte %" G_GSIZE_FORMAT ": truncated or overlong tag", f->offset);
    return -1;
  }
  guint64 number = tag >> 3;
  if (number == 0 || number > 536870911u) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                 "byte %" G_GSIZE_FORMAT ": invalid field number %" G_GUINT64_FORMAT, f->offset,
                 number);
    return -1;
  }
  f->number = (guint32) number;
  f->wire = (AfPbWire) (tag & 7);
  gsize left;
  switch (tag & 7) {
  case AF_PB_VARINT:
    if (!af__pb_varint (&r->p, r->end, &f->u)) {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                   "byte %" G_GSIZE_FORMAT ": field %u: truncated or overlong varint", f->offset,
                   f->number);
      return -1;
    }
    return 1;
  case AF_PB_I64:
  case AF_PB_I32: {
    gsize n = (tag & 7) == AF_PB_I64 ? 8 : 4;
    if ((gsize) (r->end - r->p) < n) {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                   "byte %" G_GSIZE_FORMAT ": field %u: truncated %" G_GSIZE_FORMAT "-byte value",
                   f->offset, f->number, n);
      return -1;
    }
    f->u = n == 8 ? af__pb_le64 (r->p) : af__pb_le32 (r->p);
    r->p += n;
    return 1;
  }
  case AF_PB_LEN: {
    guint64 len;
    if (!af__pb_varint (&r->p, r->end, &len)) {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                   "byte %" G_GSIZE_FORMAT ": field %u: truncated length", f->offset, f->number);
      return -1;
    }
    left = (gsize) (r->end - r->p);
    if (len > left) {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                   "byte %" G_GSIZE_FORMAT ": field %u: length %" G_GUINT64_FORMAT
                   " runs past the end of its message (%" G_GSIZE_FORMAT " bytes left)",
                   f->offset, f->number, len, left);
      return -1;
    }
    f->data = r->p;
    f->len = (gsize) len;
    r->p += len;
    return 1;
  }
  default:
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                 "byte %" G_GSIZE_FORMAT ": field %u: unsupported wire type %u", f->offset,
                 f->number, (guint) (tag & 7));
    return -1;
  }
}

static const char *
af_pb_wire_name (AfPbWire w)
{
  switch (w) {
  case AF_PB_VARINT:
    return "varint";
  case AF_PB_I64:
    return "fixed64";
  case AF_PB_LEN:
    return "length-delimited";
  case AF_PB_I32:
    return "fixed32";
  }
  return "?";
}

gboolean
af__pb_expect (const AfPbReader *r, const AfPbField *f, AfPbWire wire, const char *what,
               GError **error)
{
  if (f->wire == wire)
    return TRUE;
  g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
               "byte %" G_GSIZE_FORMAT ": field %u (%s) has wire type %s, expected %s", f->offset,
               f->number, what, af_pb_wire_name (f->wire), af_pb_wire_name (wire));
  return FALSE;
}

gboolean
af__pb_sub (const AfPbReader *parent, const AfPbField *f, AfPbReader *child, GError **error)
{
  if (!af__pb_expect (parent, f, AF_PB_LEN, "message", error))
    return FALSE;
  if (parent->depth + 1 > AF_PB_MAX_DEPTH) {
    g_set_error (error, AF_ERROR, AF_ERROR_LIMIT,
                 "byte %" G_GSIZE_FORMAT ": field %u: messages nested deeper than %d levels",
                 f->offset, f->number, AF_PB_MAX_DEPTH);
    return FALSE;
  }
  child->base = parent->base;
  child->p = f->data;
  child->end = f->data + f->len;
  child->depth = parent->depth + 1;
  return TRUE;
}

gboolean
af__pb_append_varints (const AfPbReader *r, const AfPbField *f, const char *what, GArray *out,
                       GError **error)
{
  if (f->wire == AF_PB_VARINT) {
    gint64 v = (gint64) f->u;
    g_array_append_val (out, v);
    return TRUE;
  }
  if (!af__pb_expect (r, f, AF_PB_LEN, what, error))
    return FALSE;
  const guint8 *p = f->data, *end = f->data + f->len;
  while (p < end) {
    guint64 u;
    if (!af__pb_varint (&p, end, &u)) {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                   "byte %" G_GSIZE_FORMAT ": field %u (%s): truncated packed varint",
                   af_pb_off (r, p), f->number, what);
      return FALSE;
    }
    gint64 v = (gint64) u;
    g_array_append_val (out, v);
  }
  return TRUE;
}

static gboolean
af_pb_append_fixed (const AfPbReader *r, const AfPbField *f, const char *what, GArray *out,
                    gsize size, GError **error)
{
  AfPbWire single = size == 4 ? AF_PB_I32 : AF_PB_I64;
  if (f->wire == single) {
    if (size == 4) {
      guint32 bits = (guint32) f->u;
      float v;
      memcpy (&v, &bits, 4);
      g_array_append_val (out, v);
    } else {
      double v;
      memcpy (&v, &f->u, 8);
      g_array_append_val (out, v);
    }
    return TRUE;
  }
  if (!af__pb_expect (r, f, AF_PB_LEN, what, error))
    return FALSE;
  if (f->len % size) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                 "byte %" G_GSIZE_FORMAT ": field %u (%s): packed length %" G_GSIZE_FORMAT
                 " is not a multiple of %" G_GSIZE_FORMAT,
                 f->offset, f->number, what, f->len, size);
    return FALSE;
  }
  gsize n = f->len / size, at = out->len;
  g_array_set_size (out, at + n);
  for (gsize i = 0; i < n; i++) {
    if (size == 4) {
      guint32 bits = af__pb_le32 (f->data + 4 * i);
      memcpy (&g_array_index (out, float, at + i), &bits, 4);
    } else {
      guint64 bits = af__pb_le64 (f->data + 8 * i);
      memcpy (&g_array_index (out, double, at + i), &bits, 8);
    }
  }
  return TRUE;
}

gboolean
af__pb_append_floats (const AfPbReader *r, const AfPbField *f, const char *what, GArray *out,
                      GError **error)
{
  return af_pb_append_fixed (r, f, what, out, 4, error);
}

gboolean
af__pb_append_doubles (const AfPbReader *r, const AfPbField *f, const char *what, GArray *out,
                       GError **error)
{
  return af_pb_append_fixed (r, f, what, out, 8, error);
}
