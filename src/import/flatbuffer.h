/* flatbuffer.h — a minimal, bounds-checked FlatBuffers reader (private).
 *
 * No schema, no generated code: the caller walks tables by field id. Every
 * offset, vtable, vector and string is validated against the buffer before
 * it is read; reads go through memcpy so a hostile buffer's alignment does
 * not matter. Each table or vector opened spends one unit of a budget, so
 * a buffer whose offsets loop back cannot make a walk run forever.
 *
 * Errors are GErrors in the AF_ERROR domain (AF_ERROR_PARSE, or
 * AF_ERROR_LIMIT for budget / size limits) whose message starts with the
 * buffer's name and names the byte offset and field id. */
#ifndef AF_FLATBUFFER_H
#define AF_FLATBUFFER_H

#include <glib.h>

G_BEGIN_DECLS

#define AF_FB_MAX_OPENS (1u << 22) /* tables + vectors one walk may open */

typedef struct {
  const guint8 *data; /* borrowed */
  gsize len;
  const char *name; /* borrowed; used in messages */
  guint budget;     /* tables / vectors left to open */
} AfFb;

typedef struct {
  AfFb *fb;      /* borrowed */
  gsize pos;     /* the table's first byte (its soffset to the vtable) */
  gsize vt;      /* the vtable's first byte */
  guint vt_len;  /* bytes of the vtable */
  guint obj_len; /* bytes of the table's inline data */
} AfFbTable;

typedef struct {
  AfFb *fb;   /* borrowed */
  gsize pos;  /* the first element */
  guint32 n;  /* number of elements */
  gsize elem; /* bytes per element */
} AfFbVector;

/* Wraps @data (borrowed; must outlive every table read from it). Checks the
 * minimal size and, if @ident is not NULL, the 4-byte file identifier. */
gboolean af_fb_init (AfFb *fb, const guint8 *data, gsize len, const char *ident, const char *name,
                     GError **error);

/* The root table. */
gboolean af_fb_root (AfFb *fb, AfFbTable *root, GError **error);

/* TRUE if field @id is present (its vtable slot is non-zero). */
gboolean af_fb_has (const AfFbTable *t, guint id);

/* Scalars: @out receives the field, or @dflt if the field is absent. FALSE
 * (with @error) if the field lies outside the table. */
gboolean af_fb_u8 (const AfFbTable *t, guint id, guint8 dflt, guint8 *out, GError **error);
gboolean af_fb_i8 (const AfFbTable *t, guint id, gint8 dflt, gint8 *out, GError **error);
gboolean af_fb_i32 (const AfFbTable *t, guint id, gint32 dflt, gint32 *out, GError **error);
gboolean af_fb_u32 (const AfFbTable *t, guint id, guint32 dflt, guint32 *out, GError **error);
gboolean af_fb_u64 (const AfFbTable *t, guint id, guint64 dflt, guint64 *out, GError **error);
gboolean af_fb_f32 (const AfFbTable *t, guint id, float dflt, float *out, GError **error);

/* A sub-table. *@present is set FALSE (and TRUE returned) if absent. */
gboolean af_fb_table (const AfFbTable *t, guint id, AfFbTable *out, gboolean *present,
                      GError **error);

/* A vector of @elem-byte scalars or structs (@elem 4 for a vector of tables
 * or strings). Absent: an empty vector. The whole vector is validated. */
gboolean af_fb_vector (const AfFbTable *t, guint id, gsize elem, AfFbVector *out, GError **error);

/* Element @i (< v->n) of a vector of tables. */
gboolean af_fb_vector_table (const AfFbVector *v, guint32 i, AfFbTable *out, GError **error);

/* A string (borrowed from the buffer; NUL-terminated per the format, which is
 * checked). Absent: *@s = NULL, *@len = 0. */
gboolean af_fb_string (const AfFbTable *t, guint id, const char **s, gsize *len, GError **error);

/* Element readers of a validated vector (no bounds to fail: @i < v->n and
 * the element size were checked when the vector was opened). */
const guint8 *af_fb_vector_bytes (const AfFbVector *v); /* borrowed */
gint32 af_fb_vector_i32 (const AfFbVector *v, guint32 i);
gint64 af_fb_vector_i64 (const AfFbVector *v, guint32 i);
float af_fb_vector_f32 (const AfFbVector *v, guint32 i);

G_END_DECLS

#endif /* AF_FLATBUFFER_H */
