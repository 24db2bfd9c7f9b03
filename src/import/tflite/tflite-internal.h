/* tflite-internal.h — the TFLite importer's shared state (tests and the
 * rest of the library use tflite.h): TensorFlow's schema.fbs field ids, the
 * per-tensor and per-import state, and the helpers the files share:
 *   reader.c  the file walk (operator codes, buffers, tensors, inputs,
 *             outputs, operators) and the entry points
 *   values.c  graph values: constants (dequantized), NHWC <-> NCHW, pending
 *             pads, requantization, binding an operator's output
 *   ops.c     one mapper per TFLite operator */
#ifndef AF_IMPORT_TFLITE_INTERNAL_H
#define AF_IMPORT_TFLITE_INTERNAL_H

#include "graph.h"
#include "import/flatbuffer.h"
#include "import/tflite.h"

/* ---------------------------------------------------------------- schema ids */

enum { MODEL_OPERATOR_CODES = 1, MODEL_SUBGRAPHS = 2, MODEL_BUFFERS = 4 };
enum { CODE_DEPRECATED = 0, CODE_CUSTOM = 1, CODE_BUILTIN = 3 };
enum { SG_TENSORS = 0, SG_INPUTS = 1, SG_OUTPUTS = 2, SG_OPERATORS = 3 };
enum {
  OP_OPCODE = 0,
  OP_INPUTS = 1,
  OP_OUTPUTS = 2,
  OP_OPTIONS_TYPE = 3,
  OP_OPTIONS = 4,
  OP_CUSTOM_OPTIONS = 5
};
enum {
  TENSOR_SHAPE = 0,
  TENSOR_TYPE = 1,
  TENSOR_BUFFER = 2,
  TENSOR_NAME = 3,
  TENSOR_QUANT = 4,
  TENSOR_SPARSITY = 6
};
enum { BUFFER_DATA = 0, BUFFER_OFFSET = 1, BUFFER_SIZE = 2 };
enum { QUANT_SCALE = 2, QUANT_ZERO_POINT = 3, QUANT_DIM = 6 };

enum { TFL_F32 = 0, TFL_F16 = 1, TFL_I32 = 2, TFL_U8 = 3, TFL_I64 = 4, TFL_I8 = 9 };
enum { TFL_SAME = 0, TFL_VALID = 1 };

/* BuiltinOperator codes used here, with the BuiltinOptions union type their
 * options table must have (0: none expected). */
#define TFL_OPS(X)                                                                                 \
  X (ADD, 0, 11)                                                                                   \
  X (AVERAGE_POOL_2D, 1, 5)                                                                        \
  X (CONCATENATION, 2, 10)                                                                         \
  X (CONV_2D, 3, 1)                                                                                \
  X (DEPTHWISE_CONV_2D, 4, 2)                                                                      \
  X (DEQUANTIZE, 6, 0)                                                                             \
  X (FULLY_CONNECTED, 9, 8)                                                                        \
  X (LOGISTIC, 14, 0)                                                                              \
  X (MAX_POOL_2D, 17, 5)                                                                           \
  X (MUL, 18, 21)                                                                                  \
  X (RELU, 19, 0)                                                                                  \
  X (RELU6, 21, 0)                                                                                 \
  X (RESHAPE, 22, 17)                                                                              \
  X (SOFTMAX, 25, 9)                                                                               \
  X (TANH, 28, 0)                                                                                  \
  X (PAD, 34, 22)                                                                                  \
  X (PRELU, 54, 0)                                                                                 \
  X (TRANSPOSE_CONV, 67, 49)                                                                       \
  X (RESIZE_BILINEAR, 23, 15)                                                                      \
  X (MEAN, 40, 27)                                                                                 \
  X (ARG_MAX, 56, 40)                                                                              \
  X (RESIZE_NEAREST_NEIGHBOR, 97, 74)                                                              \
  X (QUANTIZE, 114, 0)                                                                             \
  X (HARD_SWISH, 117, 0)

enum {
#define X(name, code, opt) TFL_OP_##name = code,
  TFL_OPS (X)
#undef X
      TFL_OP_CUSTOM = 32,
  /* custom operators the importer knows, numbered past every builtin */
  TFL_OP_CONV_T_BIAS = 100000, /* MediaPipe's Convolution2DTransposeBias */
};

/* ------------------------------------------------------------ state */

typedef struct {
  char *name;
  int rank;
  gint64 d[AF_MAX_RANK]; /* the TFLite (NHWC) shape */
  gint8 type;
  AfFbTable quant;
  gboolean has_quant, sparse;
  const guint8 *raw; /* constant bytes in the file, or NULL */
  gsize raw_len;
  float *f32;      /* decoded constant (owned), or NULL */
  AfTensor *value; /* rank 4: NCHW; else the TFLite layout. Unpadded if @pad_pending */
  gboolean pad_pending;
  gint64 pad[AF_MAX_RANK][2]; /* pending zero pads per TFLite dim */
} AfTflTensor;

typedef struct {
  const char *file;
  AfFb fb;
  AfGraph *g;
  AfImportOptions opts;
  AfTflTensor *t;
  guint n_t;
  AfFbVector buffers;
  gint32 *codes;
  guint n_codes;
  int op_index; /* -1 outside an operator */
  const char *op_name;
  gboolean same_values; /* the operator moves values (RESHAPE): no requantization */
} AfTfl;

typedef struct {
  AfFbTable opt;
  gboolean has_opt;
  AfFbVector in, out;
  AfFbVector custom; /* custom_options bytes (n = 0: none) */
} AfTflOp;

/* ---------------------------------------------------------------- values.c */

extern const int af__tfl_to_nhwc[4], af__tfl_to_nchw[4];

/* "FILE: operators[i] (OP): message" (or "FILE: message" outside an
 * operator) into @error; returns FALSE. */
gboolean af__tfl_fail (AfTfl *c, GError **error, AfError code, const char *fmt, ...)
    G_GNUC_PRINTF (4, 5);
/* Puts the operator into a reader / shape error: "FILE: operators[i] (OP):
 * <message without its own FILE: prefix>". */
gboolean af__tfl_wrap (AfTfl *c, GError **error, GError *local);
gint64 af__tfl_numel (int rank, const gint64 *d);
char *af__tfl_unique_name (AfGraph *g, const char *base);
/* Adds a node (named @base, made unique) and infers its shape. */
AfTensor *af__tfl_node (AfTfl *c, AfOp op, guint n_in, AfTensor *const *in, const AfAttrs *attrs,
                        const char *base, GError **error);
/* A constant from @data (fp32, taken). */
AfTensor *af__tfl_const (AfTfl *c, const char *base, int rank, const gint64 *d, float *data);
AfTensor *af__tfl_transpose (AfTfl *c, AfTensor *x, const int *perm, GError **error);
/* NCHW (rank 4) -> NHWC; other ranks pass through. */
AfTensor *af__tfl_nhwc (AfTfl *c, AfTensor *x, GError **error);
AfTensor *af__tfl_reshape (AfTfl *c, AfTensor *x, int rank, const gint64 *d, GError **error);
/* @x * @scale + @bias with scalar constants. */
AfTensor *af__tfl_affine (AfTfl *c, AfTensor *x, float scale, float bias, GError **error);
/* The NCHW shape of a rank-4 TFLite shape. */
void af__tfl_nchw_dims (const gint64 *nhwc, gint64 *nchw);
gboolean af__tfl_tensor_index (AfTfl *c, gint32 idx, const char *what, GError **error);
gsize af__tfl_type_size (gint8 type);
/* Raw element @i of constant @t as a double (no quantization applied). */
double af__tfl_raw_at (const AfTflTensor *t, gint64 i);
gboolean af__tfl_is_const (const AfTflTensor *t);
/* Decodes (dequantizes) constant @ti into t->f32 once. */
gboolean af__tfl_const_f32 (AfTfl *c, guint ti, GError **error);
/* Reads a small integer constant (paddings, sizes) into @out (up to @max). */
gboolean af__tfl_const_ints (AfTfl *c, guint ti, gint64 *out, gint64 want, GError **error);
/* A constant tensor as a graph value: rank 4 is permuted to NCHW. */
AfTensor *af__tfl_const_value (AfTfl *c, guint ti, GError **error);
/* Zero-pads @x (layout as stored) by @pad[dim][2] given in stored dims, as
 * concatenations with zero constants. */
AfTensor *af__tfl_pad_concat (AfTfl *c, AfTensor *x, gint64 (*pad)[2], GError **error);
/* The graph value of tensor @ti for a consumer: constants are created,
 * pending pads materialized. */
AfTensor *af__tfl_value (AfTfl *c, guint ti, GError **error);
/* @v rounded and clamped as TFLite stores it in quantized tensor @ti
 * (uint8 / int8 with one scale): fake_quant to multiples of the scale
 * within the type's range. Other tensors: @v itself. */
AfTensor *af__tfl_requantize (AfTfl *c, guint ti, AfTensor *v, GError **error);
/* Binds @v (NCHW if rank 4) to output tensor @ti after checking its shape
 * against the file's, and names it after the tensor. A quantized tensor
 * gets TFLite's rounding and range (af__tfl_requantize). */
gboolean af__tfl_bind (AfTfl *c, guint ti, AfTensor *v, GError **error);
/* A TFLite-layout value (NHWC for rank 4) bound to @ti: reshaped to the
 * declared shape, then made NCHW if rank 4. */
gboolean af__tfl_bind_nhwc (AfTfl *c, guint ti, AfTensor *v, GError **error);

/* ---------------------------------------------------------------- ops.c */

/* Maps operator @op (builtin or known custom @code) into @c's graph. */
gboolean af__tfl_import_op (AfTfl *c, gint32 code, const AfTflOp *op, GError **error);

#endif
