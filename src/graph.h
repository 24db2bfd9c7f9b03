/* graph.h — the graph IR, private to libaneforge (src/ only).
 *
 * An AfGraph owns its values (AfTensor) and nodes (AfNode). Every value is a
 * graph input (produced by an INPUT / IMAGE_INPUT node), a constant (weight
 * data, no producer) or the output of exactly one node; a node's output value
 * has the node's name. Shapes are NCHW semantics; all compute is fp16. */
#ifndef AF_GRAPH_H
#define AF_GRAPH_H

#include "aneforge.h"

G_BEGIN_DECLS

/* Loader limits: model files are hostile. */
#define AF_MAX_NODES 100000
#define AF_MAX_INPUTS_PER_NODE 1024
#define AF_MAX_DIM ((gint64) 1 << 31)
#define AF_MAX_NUMEL ((gint64) 1 << 31) /* elements of one tensor */
#define AF_MAX_BRIDGE_AXIS 2048         /* fp16 represents indices exactly up to here */

/* ---------------------------------------------------------------- op table */

typedef enum {
#define AF_OP(id, name, route, min_in, max_in, attrs, family) AF_OP_##id,
#include "ops.def"
#undef AF_OP
  AF_OP_COUNT
} AfOp;

typedef enum {
  AF_ROUTE_FUSED,
  AF_ROUTE_BRIDGE,
} AfRoute;

typedef enum {
#define AF_ATTR(id, key, kind, field) AF_ATTR_##id,
#include "attrs.def"
#undef AF_ATTR
  AF_ATTR_COUNT
} AfAttrId;

#define AF_A(id) (1u << AF_ATTR_##id)

typedef enum {
  AF_ATTR_KIND_INT,
  AF_ATTR_KIND_INT2,
  AF_ATTR_KIND_PAD4,
  AF_ATTR_KIND_INTS,
  AF_ATTR_KIND_FLOAT,
  AF_ATTR_KIND_BOOL,
} AfAttrKind;

/* Attributes of a node: one flat struct, fields named as in attrs.def. */
typedef struct {
  gint64 stride[2], pad[4], dilation[2], kernel[2], scale[2], size[2];
  gint64 groups, axis, k;
  int n_axes, n_perm, n_shape;
  gint64 axes[AF_MAX_RANK], perm[AF_MAX_RANK], shape[AF_MAX_RANK];
  float min, max, eps, step;
  gboolean keepdims, global, ceil_mode, count_include_pad, indices, align_corners, half_pixel;
  guint32 set; /* AF_A() bits of the attributes given explicitly */
} AfAttrs;

typedef struct {
  const char *key;
  AfAttrKind kind;
  gsize offset;       /* of the field in AfAttrs */
  gsize count_offset; /* INTS only: of the n_FIELD count */
} AfAttrInfo;

extern const AfAttrInfo af_attr_info[AF_ATTR_COUNT];

/* Sets the defaults of @op: stride 1, dilation 1, groups 1, axis -1 (1 for
 * concat), k 1, min -inf, max +inf, eps 1e-5, keepdims TRUE, scale 2. */
void af__attrs_init (AfOp op, AfAttrs *a);

typedef struct {
  int rank;
  gint64 d[AF_MAX_RANK];
} AfShape;

typedef struct _AfNode AfNode;

typedef enum {
  AF_VALUE_INPUT, /* produced by an INPUT / IMAGE_INPUT node */
  AF_VALUE_CONST, /* weight data */
  AF_VALUE_NODE,  /* produced by a compute node */
} AfValueKind;

struct _AfTensor {
  char *name;
  AfValueKind kind;
  AfShape shape;
  AfNode *producer; /* NULL for constants */
  guint index;      /* position in graph->values */
  AfGraph *graph;   /* the owner */
  /* constants: @data points into @bytes (a mapped file or a copy). */
  AfDType dtype;
  const void *data;
  GBytes *bytes;
};

typedef struct {
  AfPixelOrder order;
  float scale[3], bias[3]; /* per channel; a scalar is replicated */
} AfImagePort;

struct _AfNode {
  char *name;
  AfOp op;
  guint n_in;
  AfTensor **in; /* borrowed from the graph */
  AfTensor *out; /* borrowed from the graph */
  AfAttrs attrs;
  AfImagePort image; /* IMAGE_INPUT only */
  guint index;       /* position in graph->nodes */
};

typedef struct {
  char *name;
  AfTensor *value;      /* borrowed */
  AfDecodeSpec *decode; /* owned, NULL: none; labels as written in the file */
} AfOutput;

struct _AfGraph {
  char *name;
  char *path;          /* the file it was loaded from, for messages; may be NULL */
  char *dir;           /* directory of @path (labels, weights); may be NULL */
  GPtrArray *values;   /* AfTensor*, owned */
  GPtrArray *nodes;    /* AfNode*, owned, in insertion order */
  GHashTable *by_name; /* char* -> AfTensor*, borrowed */
  GPtrArray *inputs;   /* AfNode* of INPUT / IMAGE_INPUT nodes, borrowed */
  GArray *outputs;     /* AfOutput, owned */
  GError *error;       /* sticky builder error */
  guint auto_name;
};

/* -------------------------------------------------------------- per-op info */

typedef struct {
  double flops; /* multiply-adds count 2 */
  double bytes; /* fp16 bytes read + written, weights included */
} AfCost;

/* Shape function: checks @n's input shapes and attributes and sets
 * n->out->shape. On error sets @error with a message that names the field
 * (the caller prefixes file and node). */
typedef gboolean (*AfShapeFn) (AfNode *n, GError **error);

/* Reference kernel: plain C, slow, obviously right; fp32 accumulation.
 * @in[i] holds input i as fp32 values (fp16-representable), dense row-major
 * in its shape; @out receives the output as fp32 (the caller rounds it to
 * fp16). For IMAGE_INPUT, in[0] holds the uint8 pixel values. */
typedef void (*AfRefFn) (const AfNode *n, const float *const *in, float *out);

typedef void (*AfCostFn) (const AfNode *n, AfCost *cost);

typedef struct {
  const char *name;
  AfRoute route;
  int min_in, max_in; /* max_in -1: unbounded */
  guint32 attrs;      /* AF_A() bits accepted */
  const char *family;
  AfShapeFn shape;
  AfRefFn ref;
  AfCostFn cost;
} AfOpInfo;

extern const AfOpInfo af_op_info[AF_OP_COUNT];

/* One elementwise activation (RELU .. EXP) in fp32; @lo/@hi bound CLIP. The
 * one definition shared by the reference kernel and the CPU epilogues. */
float af__unary_scalar (AfOp op, float x, float lo, float hi);

/* Returns the op named @name or -1. */
int af__op_lookup (const char *name);

#define AF_OP(id, name, route, min_in, max_in, attrs, family)                                      \
  gboolean af__shape_##family (AfNode *n, GError **error);                                         \
  void af__ref_##family (const AfNode *n, const float *const *in, float *out);                     \
  void af__cost_##family (const AfNode *n, AfCost *cost);
#include "ops.def"
#undef AF_OP

/* ---------------------------------------------------------------- graph */

/* Adds a value / node; the graph takes ownership. Names must be unique
 * (checked by the caller). */
AfTensor *af__graph_add_const (AfGraph *g, const char *name, const AfShape *shape, AfDType dtype,
                               const void *data, GBytes *bytes /* ref taken */);
AfNode *af__graph_add_node (AfGraph *g, const char *name, AfOp op, guint n_in, AfTensor *const *in,
                            const AfAttrs *attrs);

/* Runs the op's shape function on @n and prefixes any error with
 * "FILE: nodes[i] \"name\": ". */
gboolean af__node_infer_shape (AfGraph *g, AfNode *n, GError **error);

/* Graph-level checks (arity, cycles via topological order, shapes).
 * Fills @order (borrowed AfNode*) in topological order. */
gboolean af__graph_topo_order (AfGraph *g, GPtrArray *order, GError **error);

/* Reads constant @t as fp32 into @dst (numel floats), converting its dtype. */
void af__tensor_read_f32 (const AfTensor *t, float *dst);

gint64 af__shape_numel (const AfShape *s);
/* "[1, 3, 224, 224]" (transfer full) */
char *af__shape_str (const AfShape *s);
gboolean af__shape_equal (const AfShape *a, const AfShape *b);
/* numpy broadcasting of @a and @b into @out; FALSE if incompatible */
gboolean af__shape_broadcast (const AfShape *a, const AfShape *b, AfShape *out);

/* Prefix for messages about this graph: its file, or its name. */
const char *af__graph_where (AfGraph *g);

gsize af__dtype_size (AfDType t);
const char *af__dtype_name (AfDType t);

G_END_DECLS

#endif /* AF_GRAPH_H */
