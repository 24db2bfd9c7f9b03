/* tflite-writer.c — see tflite-writer.h. */
#include "tflite-writer.h"

#include <string.h>

typedef enum { FBW_TABLE, FBW_VEC, FBW_REFS, FBW_STRING } FbwKind;

typedef struct {
  int id, size;
  guint8 bytes[8];
  FbwObj *ref;
} FbwField;

struct _FbwObj {
  FbwKind kind;
  GArray *fields;   /* TABLE: FbwField */
  GByteArray *data; /* VEC / STRING */
  gsize elem;
  guint n;
  GPtrArray *refs; /* REFS: FbwObj* */
};

struct _Fbw {
  GPtrArray *objs;
};

static void
fbw_obj_free (FbwObj *o)
{
  if (o->fields)
    g_array_unref (o->fields);
  if (o->data)
    g_byte_array_unref (o->data);
  if (o->refs)
    g_ptr_array_unref (o->refs);
  g_free (o);
}

Fbw *
fbw_new (void)
{
  Fbw *w = g_new0 (Fbw, 1);
  w->objs = g_ptr_array_new_with_free_func ((GDestroyNotify) fbw_obj_free);
  return w;
}

void
fbw_free (Fbw *w)
{
  if (!w)
    return;
  g_ptr_array_unref (w->objs);
  g_free (w);
}

static FbwObj *
fbw_obj (Fbw *w, FbwKind kind)
{
  FbwObj *o = g_new0 (FbwObj, 1);
  o->kind = kind;
  g_ptr_array_add (w->objs, o);
  return o;
}

FbwObj *
fbw_table (Fbw *w)
{
  FbwObj *o = fbw_obj (w, FBW_TABLE);
  o->fields = g_array_new (FALSE, TRUE, sizeof (FbwField));
  return o;
}

void
fbw_scalar (FbwObj *t, int id, int size, const void *value)
{
  FbwField f = { .id = id, .size = size };
  memcpy (f.bytes, value, size); /* little-endian host assumed (x86, arm) */
  g_array_append_val (t->fields, f);
}

void
fbw_i8 (FbwObj *t, int id, gint8 v)
{
  fbw_scalar (t, id, 1, &v);
}

void
fbw_i32 (FbwObj *t, int id, gint32 v)
{
  fbw_scalar (t, id, 4, &v);
}

void
fbw_f32 (FbwObj *t, int id, float v)
{
  fbw_scalar (t, id, 4, &v);
}

void
fbw_ref (FbwObj *t, int id, FbwObj *child)
{
  FbwField f = { .id = id, .size = 4, .ref = child };
  g_array_append_val (t->fields, f);
}

FbwObj *
fbw_vec (Fbw *w, gsize elem, guint n, const void *data)
{
  FbwObj *o = fbw_obj (w, FBW_VEC);
  o->elem = elem;
  o->n = n;
  o->data = g_byte_array_new ();
  g_byte_array_append (o->data, data, elem * n);
  return o;
}

FbwObj *
fbw_refs (Fbw *w)
{
  FbwObj *o = fbw_obj (w, FBW_REFS);
  o->refs = g_ptr_array_new ();
  return o;
}

void
fbw_refs_add (FbwObj *v, FbwObj *child)
{
  g_ptr_array_add (v->refs, child);
}

FbwObj *
fbw_string (Fbw *w, const char *s)
{
  FbwObj *o = fbw_obj (w, FBW_STRING);
  o->n = strlen (s);
  o->data = g_byte_array_new ();
  g_byte_array_append (o->data, (const guint8 *) s, o->n + 1);
  return o;
}

static void
fbw_align (GByteArray *b, gsize a)
{
  static const guint8 zeros[16];
  while (b->len % a)
    g_byte_array_append (b, zeros, 1);
}

static void
fbw_put32 (GByteArray *b, gsize at, guint32 v)
{
  memcpy (b->data + at, &v, 4);
}

static void
fbw_append32 (GByteArray *b, guint32 v)
{
  g_byte_array_append (b, (const guint8 *) &v, 4);
}

static gsize fbw_write (GByteArray *b, FbwObj *o);

static gint
fbw_by_size (gconstpointer a, gconstpointer b)
{
  return ((const FbwField *) b)->size - ((const FbwField *) a)->size;
}

static gsize
fbw_write_table (GByteArray *b, FbwObj *o)
{
  GArray *f = o->fields;
  g_array_sort (f, fbw_by_size);
  int max_id = -1;
  guint obj = 4;
  guint *at = g_new0 (guint, MAX (f->len, 1));
  for (guint i = 0; i < f->len; i++) {
    FbwField *x = &g_array_index (f, FbwField, i);
    max_id = MAX (max_id, x->id);
    obj = (obj + x->size - 1) / x->size * x->size;
    at[i] = obj;
    obj += x->size;
  }
  guint16 vt_len = 4 + 2 * (max_id + 1);
  guint16 *vt = g_new0 (guint16, vt_len / 2);
  vt[0] = vt_len;
  vt[1] = obj;
  for (guint i = 0; i < f->len; i++)
    vt[2 + g_array_index (f, FbwField, i).id] = at[i];
  fbw_align (b, 2);
  gsize vpos = b->len;
  g_byte_array_append (b, (const guint8 *) vt, vt_len);
  fbw_align (b, 8);
  gsize pos = b->len;
  g_byte_array_set_size (b, pos + obj);
  memset (b->data + pos, 0, obj);
  fbw_put32 (b, pos, (guint32) (pos - vpos));
  for (guint i = 0; i < f->len; i++) {
    FbwField *x = &g_array_index (f, FbwField, i);
    if (!x->ref)
      memcpy (b->data + pos + at[i], x->bytes, x->size);
  }
  for (guint i = 0; i < f->len; i++) {
    FbwField *x = &g_array_index (f, FbwField, i);
    if (x->ref) {
      gsize child = fbw_write (b, x->ref);
      fbw_put32 (b, pos + at[i], (guint32) (child - (pos + at[i])));
    }
  }
  g_free (vt);
  g_free (at);
  return pos;
}

static gsize
fbw_write (GByteArray *b, FbwObj *o)
{
  gsize pos;
  switch (o->kind) {
  case FBW_TABLE:
    return fbw_write_table (b, o);
  case FBW_VEC:
  case FBW_STRING:
    /* the length prefix 4-aligned, the elements aligned to their size */
    while ((b->len + 4) % MAX (o->elem, 4))
      g_byte_array_append (b, (const guint8 *) "", 1);
    pos = b->len;
    fbw_append32 (b, o->n);
    g_byte_array_append (b, o->data->data, o->data->len);
    return pos;
  case FBW_REFS:
    fbw_align (b, 4);
    pos = b->len;
    fbw_append32 (b, o->refs->len);
    g_byte_array_set_size (b, b->len + 4 * o->refs->len);
    for (guint i = 0; i < o->refs->len; i++) {
      gsize child = fbw_write (b, g_ptr_array_index (o->refs, i));
      gsize slot = pos + 4 + 4 * i;
      fbw_put32 (b, slot, (guint32) (child - slot));
    }
    return pos;
  }
  g_assert_not_reached ();
}

GBytes *
fbw_finish (Fbw *w, FbwObj *root, const char *ident)
{
  GByteArray *b = g_byte_array_new ();
  g_byte_array_set_size (b, 8);
  memset (b->data, 0, 8);
  if (ident)
    memcpy (b->data + 4, ident, 4);
  gsize pos = fbw_write (b, root);
  fbw_put32 (b, 0, (guint32) pos);
  (void) w;
  return g_byte_array_free_to_bytes (b);
}

/* ---------------------------------------------------------------- TFLite */

struct _Tb {
  Fbw *w;
  FbwObj *tensors, *buffers, *ops, *codes;
  GPtrArray *tensor_tables; /* FbwObj* */
  GArray *code_list;        /* int */
  GArray *inputs, *outputs; /* gint32 */
};

Tb *
tb_new (void)
{
  Tb *b = g_new0 (Tb, 1);
  b->w = fbw_new ();
  b->tensors = fbw_refs (b->w);
  b->buffers = fbw_refs (b->w);
  b->ops = fbw_refs (b->w);
  b->codes = fbw_refs (b->w);
  b->tensor_tables = g_ptr_array_new ();
  b->code_list = g_array_new (FALSE, FALSE, sizeof (int));
  b->inputs = g_array_new (FALSE, FALSE, sizeof (gint32));
  b->outputs = g_array_new (FALSE, FALSE, sizeof (gint32));
  fbw_refs_add (b->buffers, fbw_table (b->w)); /* buffer 0: empty */
  return b;
}

int
tb_tensor (Tb *b, const char *name, int rank, const int *shape, int type, const void *data,
           gsize bytes)
{
  FbwObj *t = fbw_table (b->w);
  fbw_ref (t, 0, fbw_vec (b->w, 4, rank, shape));
  fbw_i8 (t, 1, type);
  fbw_ref (t, 3, fbw_string (b->w, name));
  if (data) {
    FbwObj *buf = fbw_table (b->w);
    fbw_ref (buf, 0, fbw_vec (b->w, 1, bytes, data));
    fbw_i32 (t, 2, b->buffers->refs->len);
    fbw_refs_add (b->buffers, buf);
  }
  fbw_refs_add (b->tensors, t);
  g_ptr_array_add (b->tensor_tables, t);
  return b->tensor_tables->len - 1;
}

int
tb_act (Tb *b, const char *name, int rank, const int *shape)
{
  return tb_tensor (b, name, rank, shape, TB_F32, NULL, 0);
}

int
tb_const_f32 (Tb *b, const char *name, int rank, const int *shape, const float *data)
{
  gsize n = 1;
  for (int i = 0; i < rank; i++)
    n *= shape[i];
  return tb_tensor (b, name, rank, shape, TB_F32, data, n * 4);
}

int
tb_const_i32 (Tb *b, const char *name, int rank, const int *shape, const gint32 *data)
{
  gsize n = 1;
  for (int i = 0; i < rank; i++)
    n *= shape[i];
  return tb_tensor (b, name, rank, shape, TB_I32, data, n * 4);
}

void
tb_quant (Tb *b, int t, int n, const float *scale, const gint64 *zero_point, int qdim)
{
  FbwObj *q = fbw_table (b->w);
  fbw_ref (q, 2, fbw_vec (b->w, 4, n, scale));
  fbw_ref (q, 3, fbw_vec (b->w, 8, n, zero_point));
  fbw_i32 (q, 6, qdim);
  fbw_ref (g_ptr_array_index (b->tensor_tables, t), 4, q);
}

FbwObj *
tb_options (Tb *b)
{
  return fbw_table (b->w);
}

void
tb_op (Tb *b, int code, int n_in, const int *in, int out, int opt_type, FbwObj *opt)
{
  guint idx = 0;
  while (idx < b->code_list->len && g_array_index (b->code_list, int, idx) != code)
    idx++;
  if (idx == b->code_list->len) {
    g_array_append_val (b->code_list, code);
    FbwObj *oc = fbw_table (b->w);
    fbw_i8 (oc, 0, code < 127 ? code : 127);
    fbw_i32 (oc, 2, 1);
    fbw_i32 (oc, 3, code);
    fbw_refs_add (b->codes, oc);
  }
  FbwObj *op = fbw_table (b->w);
  fbw_i32 (op, 0, idx);
  fbw_ref (op, 1, fbw_vec (b->w, 4, n_in, in));
  fbw_ref (op, 2, fbw_vec (b->w, 4, 1, &out));
  if (opt) {
    guint8 type = opt_type;
    fbw_scalar (op, 3, 1, &type);
    fbw_ref (op, 4, opt);
  }
  fbw_refs_add (b->ops, op);
}

void
tb_custom_op (Tb *b, const char *name, int n_in, const int *in, int out, const void *custom,
              gsize len)
{
  int code = 32; /* CUSTOM */
  guint idx = b->code_list->len;
  g_array_append_val (b->code_list, code);
  FbwObj *oc = fbw_table (b->w);
  fbw_i8 (oc, 0, 32);
  fbw_ref (oc, 1, fbw_string (b->w, name));
  fbw_i32 (oc, 2, 1);
  fbw_i32 (oc, 3, 32);
  fbw_refs_add (b->codes, oc);
  FbwObj *op = fbw_table (b->w);
  fbw_i32 (op, 0, idx);
  fbw_ref (op, 1, fbw_vec (b->w, 4, n_in, in));
  fbw_ref (op, 2, fbw_vec (b->w, 4, 1, &out));
  if (custom)
    fbw_ref (op, 5, fbw_vec (b->w, 1, len, custom));
  fbw_refs_add (b->ops, op);
}

void
tb_input (Tb *b, int t)
{
  gint32 v = t;
  g_array_append_val (b->inputs, v);
}

void
tb_output (Tb *b, int t)
{
  gint32 v = t;
  g_array_append_val (b->outputs, v);
}

GBytes *
tb_finish (Tb *b)
{
  FbwObj *sg = fbw_table (b->w);
  fbw_ref (sg, 0, b->tensors);
  fbw_ref (sg, 1, fbw_vec (b->w, 4, b->inputs->len, b->inputs->data));
  fbw_ref (sg, 2, fbw_vec (b->w, 4, b->outputs->len, b->outputs->data));
  fbw_ref (sg, 3, b->ops);
  fbw_ref (sg, 4, fbw_string (b->w, "main"));
  FbwObj *sgs = fbw_refs (b->w);
  fbw_refs_add (sgs, sg);
  FbwObj *model = fbw_table (b->w);
  fbw_i32 (model, 0, 3);
  fbw_ref (model, 1, b->codes);
  fbw_ref (model, 2, sgs);
  fbw_ref (model, 3, fbw_string (b->w, "aneforge test"));
  fbw_ref (model, 4, b->buffers);
  GBytes *bytes = fbw_finish (b->w, model, "TFL3");
  fbw_free (b->w);
  g_ptr_array_unref (b->tensor_tables);
  g_array_unref (b->code_list);
  g_array_unref (b->inputs);
  g_array_unref (b->outputs);
  g_free (b);
  return bytes;
}
