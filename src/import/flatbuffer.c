/* flatbuffer.c — the bounds-checked FlatBuffers reader. Every position is a
 * gsize within [0, len]; every add is checked against the remaining length
 * before it is made, so nothing can wrap. */
#include "flatbuffer.h"

#include "aneforge.h"

#include <string.h>

static guint32
af_fb_rd_u32 (const guint8 *p)
{
  guint32 v;
  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static guint16
af_fb_rd_u16 (const guint8 *p)
{
  guint16 v;
  memcpy (&v, p, 2);
  return GUINT16_FROM_LE (v);
}

static guint64
af_fb_rd_u64 (const guint8 *p)
{
  guint64 v;
  memcpy (&v, p, 8);
  return GUINT64_FROM_LE (v);
}

/* TRUE if [pos, pos + size) lies inside the buffer. */
static gboolean
af_fb_in (const AfFb *fb, gsize pos, gsize size)
{
  return pos <= fb->len && size <= fb->len - pos;
}

static gboolean
af_fb_fail (const AfFb *fb, GError **error, gsize pos, const char *what)
{
  g_set_error (error, AF_ERROR, AF_ERROR_PARSE, "%s: flatbuffer: %s at byte %" G_GSIZE_FORMAT,
               fb->name, what, pos);
  return FALSE;
}

static gboolean
af_fb_spend (AfFb *fb, gsize pos, GError **error)
{
  if (fb->budget == 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_LIMIT,
                 "%s: flatbuffer: more than %u tables and vectors (at byte %" G_GSIZE_FORMAT ")",
                 fb->name, AF_FB_MAX_OPENS, pos);
    return FALSE;
  }
  fb->budget--;
  return TRUE;
}

gboolean
af_fb_init (AfFb *fb, const guint8 *data, gsize len, const char *ident, const char *name,
            GError **error)
{
  fb->data = data;
  fb->len = len;
  fb->name = name ? name : "(buffer)";
  fb->budget = AF_FB_MAX_OPENS;
  if (!data || len < 8 || len > G_MAXUINT32)
    return af_fb_fail (fb, error, 0, len > G_MAXUINT32 ? "buffer above 4 GiB" : "buffer too short");
  if (ident && memcmp (data + 4, ident, 4) != 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE, "%s: flatbuffer: file identifier is not \"%.4s\"",
                 fb->name, ident);
    return FALSE;
  }
  return TRUE;
}

/* Follows the uoffset stored at @at to an absolute position. */
static gboolean
af_fb_follow (AfFb *fb, gsize at, gsize *target, GError **error)
{
  if (!af_fb_in (fb, at, 4))
    return af_fb_fail (fb, error, at, "offset outside the buffer");
  guint32 off = af_fb_rd_u32 (fb->data + at);
  if (off == 0 || !af_fb_in (fb, at + 0, (gsize) off) || !af_fb_in (fb, at + off, 4))
    return af_fb_fail (fb, error, at, "offset points outside the buffer");
  *target = at + off;
  return TRUE;
}

/* Validates the table at @pos and its vtable. */
static gboolean
af_fb_open_table (AfFb *fb, gsize pos, AfFbTable *t, GError **error)
{
  if (!af_fb_spend (fb, pos, error))
    return FALSE;
  if (!af_fb_in (fb, pos, 4))
    return af_fb_fail (fb, error, pos, "table outside the buffer");
  gint64 vt = (gint64) pos - (gint32) af_fb_rd_u32 (fb->data + pos);
  if (vt < 0 || !af_fb_in (fb, (gsize) vt, 4))
    return af_fb_fail (fb, error, pos, "vtable outside the buffer");
  guint vt_len = af_fb_rd_u16 (fb->data + vt), obj_len = af_fb_rd_u16 (fb->data + vt + 2);
  if (vt_len < 4 || (vt_len & 1) || !af_fb_in (fb, (gsize) vt, vt_len))
    return af_fb_fail (fb, error, (gsize) vt, "bad vtable size");
  if (obj_len < 4 || !af_fb_in (fb, pos, obj_len))
    return af_fb_fail (fb, error, pos, "table size runs past the buffer");
  *t = (AfFbTable){ fb, pos, (gsize) vt, vt_len, obj_len };
  return TRUE;
}

gboolean
af_fb_root (AfFb *fb, AfFbTable *root, GError **error)
{
  gsize pos;
  return af_fb_follow (fb, 0, &pos, error) && af_fb_open_table (fb, pos, root, error);
}

/* Offset of field @id inside the table, 0 if absent. */
static guint
af_fb_slot (const AfFbTable *t, guint id)
{
  gsize slot = 4 + 2 * (gsize) id;
  if (id > 0xffff || slot + 2 > t->vt_len)
    return 0;
  return af_fb_rd_u16 (t->fb->data + t->vt + slot);
}

gboolean
af_fb_has (const AfFbTable *t, guint id)
{
  return af_fb_slot (t, id) != 0;
}

/* Position of field @id's @size inline bytes, or 0 if absent. */
static gboolean
af_fb_field (const AfFbTable *t, guint id, gsize size, gsize *pos, GError **error)
{
  guint off = af_fb_slot (t, id);
  *pos = 0;
  if (!off)
    return TRUE;
  if (off < 4 || off + size > t->obj_len) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                 "%s: flatbuffer: field %u of the table at byte %" G_GSIZE_FORMAT
                 " lies outside the table",
                 t->fb->name, id, t->pos);
    return FALSE;
  }
  *pos = t->pos + off;
  return TRUE;
}

#define AF_FB_SCALAR(fn, type, size, read)                                                         \
  gboolean fn (const AfFbTable *t, guint id, type dflt, type *out, GError **error)                 \
  {                                                                                                \
    gsize pos;                                                                                     \
    *out = dflt;                                                                                   \
    if (!af_fb_field (t, id, size, &pos, error))                                                   \
      return FALSE;                                                                                \
    if (pos) {                                                                                     \
      const guint8 *p = t->fb->data + pos;                                                         \
      read;                                                                                        \
    }                                                                                              \
    return TRUE;                                                                                   \
  }

AF_FB_SCALAR (af_fb_u8, guint8, 1, *out = p[0])
AF_FB_SCALAR (af_fb_i8, gint8, 1, *out = (gint8) p[0])
AF_FB_SCALAR (af_fb_i32, gint32, 4, *out = (gint32) af_fb_rd_u32 (p))
AF_FB_SCALAR (af_fb_u32, guint32, 4, *out = af_fb_rd_u32 (p))
AF_FB_SCALAR (af_fb_u64, guint64, 8, *out = af_fb_rd_u64 (p))
AF_FB_SCALAR (af_fb_f32, float, 4, {
  guint32 bits = af_fb_rd_u32 (p);
  memcpy (out, &bits, 4);
})

/* Follows offset field @id; *@target 0 if absent. */
static gboolean
af_fb_ref (const AfFbTable *t, guint id, gsize *target, GError **error)
{
  gsize pos;
  *target = 0;
  if (!af_fb_field (t, id, 4, &pos, error))
    return FALSE;
  return pos == 0 || af_fb_follow (t->fb, pos, target, error);
}

gboolean
af_fb_table (const AfFbTable *t, guint id, AfFbTable *out, gboolean *present, GError **error)
{
  gsize pos;
  *present = FALSE;
  if (!af_fb_ref (t, id, &pos, error))
    return FALSE;
  if (!pos)
    return TRUE;
  *present = TRUE;
  return af_fb_open_table (t->fb, pos, out, error);
}

static gboolean
af_fb_open_vector (AfFb *fb, gsize pos, gsize elem, AfFbVector *out, GError **error)
{
  if (!af_fb_spend (fb, pos, error))
    return FALSE;
  guint32 n = af_fb_rd_u32 (fb->data + pos); /* 4 bytes checked by af_fb_follow */
  if (elem == 0 || n > (fb->len - pos - 4) / elem)
    return af_fb_fail (fb, error, pos, "vector runs past the buffer");
  *out = (AfFbVector){ fb, pos + 4, n, elem };
  return TRUE;
}

gboolean
af_fb_vector (const AfFbTable *t, guint id, gsize elem, AfFbVector *out, GError **error)
{
  gsize pos;
  *out = (AfFbVector){ t->fb, 0, 0, elem };
  if (!af_fb_ref (t, id, &pos, error))
    return FALSE;
  return pos == 0 || af_fb_open_vector (t->fb, pos, elem, out, error);
}

gboolean
af_fb_vector_table (const AfFbVector *v, guint32 i, AfFbTable *out, GError **error)
{
  g_return_val_if_fail (i < v->n && v->elem == 4, FALSE);
  gsize pos;
  return af_fb_follow (v->fb, v->pos + 4 * (gsize) i, &pos, error) &&
         af_fb_open_table (v->fb, pos, out, error);
}

gboolean
af_fb_string (const AfFbTable *t, guint id, const char **s, gsize *len, GError **error)
{
  AfFbVector v;
  *s = NULL;
  *len = 0;
  if (!af_fb_vector (t, id, 1, &v, error))
    return FALSE;
  if (!v.pos)
    return TRUE;
  if (!af_fb_in (t->fb, v.pos + v.n, 1) || t->fb->data[v.pos + v.n] != 0)
    return af_fb_fail (t->fb, error, v.pos - 4, "string without its terminating NUL");
  *s = (const char *) t->fb->data + v.pos;
  *len = v.n;
  return TRUE;
}

const guint8 *
af_fb_vector_bytes (const AfFbVector *v)
{
  return v->pos ? v->fb->data + v->pos : NULL;
}

gint32
af_fb_vector_i32 (const AfFbVector *v, guint32 i)
{
  g_return_val_if_fail (i < v->n && v->elem == 4, 0);
  return (gint32) af_fb_rd_u32 (v->fb->data + v->pos + 4 * (gsize) i);
}

gint64
af_fb_vector_i64 (const AfFbVector *v, guint32 i)
{
  g_return_val_if_fail (i < v->n && v->elem == 8, 0);
  return (gint64) af_fb_rd_u64 (v->fb->data + v->pos + 8 * (gsize) i);
}

float
af_fb_vector_f32 (const AfFbVector *v, guint32 i)
{
  g_return_val_if_fail (i < v->n && v->elem == 4, 0);
  guint32 bits = af_fb_rd_u32 (v->fb->data + v->pos + 4 * (gsize) i);
  float f;
  memcpy (&f, &bits, 4);
  return f;
}
