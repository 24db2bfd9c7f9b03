/* tflite-writer.h — a tiny FlatBuffers writer and a TFLite model builder on
 * top of it, for tests and the fuzz corpus (tests only; not the library).
 *
 * Objects form a tree that fbw_finish serializes front to back: a table,
 * then its children after it (uoffsets always point forward). Everything is
 * owned by the Fbw / Tb and freed by fbw_free / tb_finish. */
#ifndef TFLITE_WRITER_H
#define TFLITE_WRITER_H

#include <glib.h>

typedef struct _FbwObj FbwObj;
typedef struct _Fbw Fbw;

Fbw *fbw_new (void);
void fbw_free (Fbw *w);
FbwObj *fbw_table (Fbw *w);
void fbw_scalar (FbwObj *t, int id, int size, const void *value);
void fbw_i8 (FbwObj *t, int id, gint8 v);
void fbw_i32 (FbwObj *t, int id, gint32 v);
void fbw_f32 (FbwObj *t, int id, float v);
void fbw_ref (FbwObj *t, int id, FbwObj *child);
/* a vector of @n scalars of @elem bytes (copied) */
FbwObj *fbw_vec (Fbw *w, gsize elem, guint n, const void *data);
/* a vector of offsets; fill with fbw_refs_add */
FbwObj *fbw_refs (Fbw *w);
void fbw_refs_add (FbwObj *v, FbwObj *child);
FbwObj *fbw_string (Fbw *w, const char *s);
/* Serializes @root with file identifier @ident (4 chars or NULL).
 * Returns (transfer full) the bytes. */
GBytes *fbw_finish (Fbw *w, FbwObj *root, const char *ident);

/* ---------------------------------------------------------------- TFLite */

enum { TB_F32 = 0, TB_F16 = 1, TB_I32 = 2, TB_U8 = 3, TB_I8 = 9 };

typedef struct _Tb Tb;

Tb *tb_new (void);
/* A tensor; @data (copied, @bytes long) makes it a constant. Returns its index. */
int tb_tensor (Tb *b, const char *name, int rank, const int *shape, int type, const void *data,
               gsize bytes);
/* Convenience: an fp32 activation / constant. */
int tb_act (Tb *b, const char *name, int rank, const int *shape);
int tb_const_f32 (Tb *b, const char *name, int rank, const int *shape, const float *data);
int tb_const_i32 (Tb *b, const char *name, int rank, const int *shape, const gint32 *data);
/* Quantization of tensor @t: @n scales / zero points along @qdim. */
void tb_quant (Tb *b, int t, int n, const float *scale, const gint64 *zero_point, int qdim);
/* An options table of @b's writer, for tb_op. */
FbwObj *tb_options (Tb *b);
/* An operator with builtin @code; @opt_type / @opt the BuiltinOptions (0 /
 * NULL for none). An input of -1 is an absent optional input. */
void tb_op (Tb *b, int code, int n_in, const int *in, int out, int opt_type, FbwObj *opt);
/* A custom operator @name (its own operator code) with @len bytes of
 * custom_options (copied; none when NULL). */
void tb_custom_op (Tb *b, const char *name, int n_in, const int *in, int out, const void *custom,
                   gsize len);
void tb_input (Tb *b, int t);
void tb_output (Tb *b, int t);
/* Serializes the model and frees @b. Returns (transfer full) the bytes. */
GBytes *tb_finish (Tb *b);

#endif
