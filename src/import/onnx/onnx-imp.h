/* onnx-imp.h — the internals of the ONNX importer (src/import/onnx/), shared
 * by its files and by nothing else: the decoded protobuf structs (proto.c),
 * host constants (const.c), the import context (context.c) and the op
 * mapper tables of the ops-*.c families, walked by driver.c. Borrowed
 * pointers unless a comment says otherwise; every Const is owned by the
 * Imp (im->consts) that created it. */
#ifndef AF_IMPORT_ONNX_IMP_H
#define AF_IMPORT_ONNX_IMP_H

#include "graph.h"
#include "import/protobuf.h"

G_BEGIN_DECLS

/* ONNX TensorProto.DataType */
enum {
  OT_FLOAT = 1,
  OT_UINT8 = 2,
  OT_INT8 = 3,
  OT_UINT16 = 4,
  OT_INT16 = 5,
  OT_INT32 = 6,
  OT_INT64 = 7,
  OT_BOOL = 9,
  OT_FLOAT16 = 10,
  OT_DOUBLE = 11,
};

/* AttributeProto.AttributeType */
enum {
  AT_FLOAT = 1,
  AT_INT = 2,
  AT_STRING = 3,
  AT_TENSOR = 4,
  AT_FLOATS = 6,
  AT_INTS = 7,
};

typedef struct {
  char *name;
  int dtype;
  int rank;
  gint64 dims[AF_MAX_RANK];
  const guint8 *raw;
  gsize raw_len;
  gboolean has_raw, external, has_segment;
  GArray *floats;  /* float_data */
  GArray *ints;    /* int32_data, int64_data, uint64_data (gint64) */
  GArray *doubles; /* double_data */
} PbTensor;

typedef struct {
  char *name;
  int type;
  float f;
  gint64 i;
  char *s;
  PbTensor *t;
  GArray *floats, *ints;
  gboolean has_f, has_i, has_s;
} PbAttr;

typedef struct {
  char *name, *op, *domain;
  GPtrArray *in, *out; /* char* */
  GPtrArray *attrs;    /* PbAttr* */
  gboolean done;       /* folded into an earlier node */
  guint index;         /* position in the file (messages), set by the driver */
} PbNode;

typedef struct {
  char *name;
  int elem_type;
  gboolean has_shape;
  int rank; /* may exceed AF_MAX_RANK: checked when used */
  gint64 dims[AF_MAX_RANK];
  gboolean symbolic[AF_MAX_RANK];
} PbValueInfo;

typedef struct {
  gint64 opset;
  char *other_domain; /* the first non-default opset_import domain, or NULL */
  gboolean has_graph;
  char *graph_name;
  GPtrArray *nodes;   /* PbNode* */
  GPtrArray *inits;   /* PbTensor* */
  GPtrArray *inputs;  /* PbValueInfo* */
  GPtrArray *outputs; /* PbValueInfo* */
} PbModel;

typedef enum { C_F32, C_F16, C_I8, C_U8, C_I64 } CKind;

/* A host constant: initializer, Constant node or folded shape arithmetic. */
typedef struct {
  CKind kind;
  AfShape shape; /* rank 0 for scalars */
  gint64 numel;
  GBytes *bytes; /* owned, aligned */
  char *name;    /* for the graph constant */
  AfTensor *t;   /* the graph constant once a node uses it */
} Const;

typedef enum { V_TENSOR, V_CONST, V_PAD } VKind;

typedef struct {
  VKind kind;
  AfTensor *t;   /* V_TENSOR; V_PAD: the unpadded tensor */
  Const *c;      /* V_CONST (ref shared between aliases: owned by the import) */
  gint64 pad[4]; /* V_PAD: top, left, bottom, right */
} Val;

typedef struct {
  const char *file;
  AfGraph *g;
  AfImportOptions opts;
  PbModel m;
  GHashTable *vals;   /* ONNX name -> Val*, owned */
  GHashTable *uses;   /* ONNX name -> number of uses (node inputs + graph outputs) */
  GHashTable *user;   /* ONNX name -> the index + 1 of its first consumer node */
  GHashTable *is_out; /* ONNX names of graph outputs */
  GPtrArray *consts;  /* Const*, owned */
  GHashTable *qdq;    /* ONNX name of a QuantizeLinear output -> its AfOxQuant (owned) */
  PbNode *cur;        /* the node being mapped, for messages */
  guint cur_index;
} Imp;

/* Host-evaluated results (ConstantOfShape, Gather, broadcasts) are data the
 * file does not hold: they are limited to this many elements. */
#define IMP_MAX_FOLD_NUMEL ((gint64) 1 << 24)

typedef gboolean (*OpFn) (Imp *im, PbNode *n, GError **error);

#define OUT0(n) af__ox_out_name ((n), 0)

/* The quantization a QuantizeLinear of a computed tensor applied (ops-quant.c). */
typedef struct {
  float scale;
  gint64 zero_point;
} AfOxQuant;

/* One row of an op family's table: the ONNX op type, its mapper, and the
 * attribute names it accepts (space separated; others are refused). */
typedef struct {
  const char *op;
  OpFn fn;
  const char *attrs;
} AfOxMapper;

/* The families' tables, each ended by a row with op NULL. */
extern const AfOxMapper af__ox_conv_ops[];        /* ops-conv.c */
extern const AfOxMapper af__ox_elementwise_ops[]; /* ops-elementwise.c */
extern const AfOxMapper af__ox_layout_ops[];      /* ops-layout.c */
extern const AfOxMapper af__ox_shape_ops[];       /* ops-shape.c */
extern const AfOxMapper af__ox_quant_ops[];       /* ops-quant.c */
extern const AfOxMapper af__ox_linear_ops[];      /* ops-linear.c */
extern const AfOxMapper af__ox_select_ops[];      /* ops-select.c */
extern const AfOxMapper af__ox_reduce_ops[];      /* ops-reduce.c */

/* ops-select.c, for the mappers of Gather (ops-shape.c) and Pad
 * (ops-layout.c): Gather of a computed tensor with constant indices; a Pad
 * (@pads: n_axes begins then n_axes ends, on @axes or the first n_axes
 * axes when NULL) in any mode, as selections. */
/* Axis @axis of @x re-indexed: output position j takes input position
 * src[j] (or 0 when src[j] < 0), a matmul with a 0/1 matrix. */
AfTensor *af__ox_axis_select (Imp *im, AfTensor *x, int axis, const gint64 *src, gint64 count,
                              const char *want, GError **error);
/* Resize / Upsample in any mode as per-axis interpolation matrices. */
gboolean af__ox_resize_general (Imp *im, PbNode *n, GError **error);
gboolean af__ox_gather_computed (Imp *im, PbNode *n, gint64 axis, GError **error);
gboolean af__ox_pad_general (Imp *im, PbNode *n, const char *mode, const gint64 *pads, int n_axes,
                             const gint64 *axes, float value, GError **error);

/* ---------------------------------------------------------------- proto.c */

void af__ox_pb_tensor_free (PbTensor *t);

void af__ox_pb_node_free (PbNode *n);

void af__ox_pb_value_info_free (PbValueInfo *v);

void af__ox_pb_model_clear (PbModel *m);

gboolean af__ox_pb_parse_tensor (AfPbReader *r, PbTensor *t, GError **error);

gboolean af__ox_pb_parse_model (const guint8 *data, gsize len, PbModel *m, GError **error);

/* ---------------------------------------------------------------- const.c */

const void *af__ox_c_data (const Const *c);

gsize af__ox_c_esize (CKind k);

/* Returns (borrowed, owned by @im) a zeroed constant of @shape; @data (may be
 * NULL) receives the writable buffer. */
Const *af__ox_c_new (Imp *im, CKind kind, const AfShape *shape, const char *name, void **data);

void af__ox_c_free (Const *c);

double af__ox_c_get (const Const *c, gint64 i);

gint64 af__ox_c_get_i64 (const Const *c, gint64 i);

/* Returns (transfer full) the values of @c as fp32. */
float *af__ox_c_f32 (const Const *c);

gboolean af__ox_fold_limit (Imp *im, const AfShape *s, GError **error);

gboolean af__ox_check_dims (Imp *im, const char *what, int rank, const gint64 *dims, AfShape *s,
                            GError **error);

/* Converts a parsed TensorProto into a host constant named @name. */
Const *af__ox_tensor_const (Imp *im, PbTensor *t, const char *name, GError **error);

Const *af__ox_fold_binary (Imp *im, PbNode *n, char op, Const *a, Const *b, GError **error);

/* Comparison / logic of two constants into a bool (int64 0 / 1) constant:
 * @op one of = < > l (<=) g (>=) & | ^. */
Const *af__ox_fold_compare (Imp *im, PbNode *n, char op, Const *a, Const *b, GError **error);

/* Host transpose of a constant. */
Const *af__ox_const_transpose (Imp *im, Const *src, const int *perm, const char *name);

/* ---------------------------------------------------------------- context.c */

gboolean af__ox_fail (Imp *im, GError **error, int code, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

/* The node's name for messages ("" when unset). */
const char *af__ox_node_name (const PbNode *n);

/* A unique, valid graph name for @want (transfer full). */
char *af__ox_unique_name (Imp *im, const char *want);

void af__ox_bind (Imp *im, const char *onnx_name, const Val *v);

void af__ox_bind_tensor (Imp *im, const char *onnx_name, AfTensor *t);

void af__ox_bind_const (Imp *im, const char *onnx_name, Const *c);

/* The ONNX name of input @i of @n, or NULL when absent / optional-empty. */
const char *af__ox_in_name (const PbNode *n, guint i);

const char *af__ox_out_name (const PbNode *n, guint i);

guint af__ox_uses_of (Imp *im, const char *name);

/* Input @i of the current node: NULL when absent (and not @required). */
Val *af__ox_in_val (Imp *im, PbNode *n, guint i, gboolean required, GError **error);

/* The graph constant of @c, created on first use (borrowed). */
AfTensor *af__ox_c_tensor (Imp *im, Const *c, GError **error);

/* Input @i as a graph tensor (constants are materialized). */
AfTensor *af__ox_in_tensor (Imp *im, PbNode *n, guint i, GError **error);

/* Input @i as a host constant; NULL with @error if it is not one. */
Const *af__ox_in_const (Imp *im, PbNode *n, guint i, const char *what, GError **error);

/* The shape of any value. */
AfShape af__ox_val_shape (const Val *v);

PbAttr *af__ox_attr_find (PbNode *n, const char *name);

/* The attribute @name of type @type, or NULL when absent. */
PbAttr *af__ox_attr_get (Imp *im, PbNode *n, const char *name, int type, gboolean *bad,
                         GError **error);

gboolean af__ox_attr_int (Imp *im, PbNode *n, const char *name, gint64 def, gint64 *out,
                          GError **error);

gboolean af__ox_attr_float (Imp *im, PbNode *n, const char *name, float def, float *out,
                            GError **error);

gboolean af__ox_attr_str (Imp *im, PbNode *n, const char *name, const char *def, const char **out,
                          GError **error);

/* Fills @out with up to @max ints; *count = -1 when absent. */
gboolean af__ox_attr_ints (Imp *im, PbNode *n, const char *name, int max, gint64 *out, int *count,
                           GError **error);

/* Refuses attributes not listed in @known (space separated). */
gboolean af__ox_attrs_check_known (Imp *im, PbNode *n, const char *known, GError **error);

/* Adds node @op on @in named after @want and infers its shape; errors name
 * the current ONNX node. Returns (borrowed) its output. */
AfTensor *af__ox_emit (Imp *im, AfOp op, guint n_in, AfTensor *const *in, const AfAttrs *attrs,
                       const char *want, GError **error);

AfTensor *af__ox_emit1 (Imp *im, AfOp op, AfTensor *x, const AfAttrs *a, const char *want,
                        GError **error);

AfTensor *af__ox_emit2 (Imp *im, AfOp op, AfTensor *x, AfTensor *y, const char *want,
                        GError **error);

AfTensor *af__ox_emit_reshape (Imp *im, AfTensor *x, const AfShape *to, const char *want,
                               GError **error);

/* A scalar fp32 graph constant. */
AfTensor *af__ox_scalar_tensor (Imp *im, float v, const char *name, GError **error);

gboolean af__ox_bind_out (Imp *im, PbNode *n, AfTensor *t);

gboolean af__ox_extra_outputs_unused (Imp *im, PbNode *n, GError **error);

PbNode *af__ox_sole_consumer (Imp *im, const char *name);

Const *af__ox_known_const (Imp *im, PbNode *n, guint i);

G_END_DECLS

#endif /* AF_IMPORT_ONNX_IMP_H */
