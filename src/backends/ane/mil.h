/* mil.h — a MIL program as a list of op statements (the lowering's output,
 * the text printer's input), the graph -> MIL lowering of one fused region,
 * and the printer of Apple's `model.mil` text (../shared/ane/README.md §1.1,
 * §1.2).
 *
 * Every operand of an op statement is a variable: literals (shapes, strides,
 * scalars, weights) are hoisted into `const()` statements, as coremlc's own
 * output does. A constant of >= 10 elements lives in the program's weight
 * blob and is printed as a BLOBFILE reference; smaller ones are printed
 * inline (coremltools' `should_use_weight_file` rule). Statements keep the
 * order the lowering appends them in, so the same graph gives the same
 * bytes. */
#ifndef AF_ANE_MIL_H
#define AF_ANE_MIL_H

#include "graph.h"
#include "backends/ane/blob.h"

G_BEGIN_DECLS

/* The two text dialects (README §1.1): program(1.3) + func main<ios18> with
 * bare scalars, and program(1.0) + func main<ios16> with tensor<T, []>
 * scalars. */
typedef enum {
  AF_ANE_DIALECT_IOS18,
  AF_ANE_DIALECT_IOS16,
} AfAneDialect;

/* "ios18" / "ios16" (static). */
const char *af_ane_dialect_name (AfAneDialect d);
/* Parses "ios18" / "ios16"; FALSE on anything else. */
gboolean af_ane_dialect_parse (const char *s, AfAneDialect *out);

/* Constants of at least this many elements go to the weight blob. */
#define AF_MIL_BLOB_MIN_ELEMENTS 10

typedef enum {
  AF_MIL_FP16,
  AF_MIL_UINT8,
  AF_MIL_INT32,
  AF_MIL_BOOL,
  AF_MIL_STRING,
} AfMilDtype;

/* The MIL dtype token: "fp16", "uint8", "int32", "bool", "string" (static). */
const char *af_mil_dtype_name (AfMilDtype t);

/* A value type; rank 0 is a scalar. */
typedef struct {
  AfMilDtype dtype;
  int rank;
  gint64 d[AF_MAX_RANK];
} AfMilType;

/* A const statement's value: inline (@n elements in @halves for FP16, in
 * @ints for INT32 and BOOL, @str for STRING) or, when @in_blob, the BLOBFILE
 * offset (of the metadata record) in the program's weight blob. */
typedef struct {
  gboolean in_blob;
  guint64 offset;
  gsize n;
  guint16 *halves; /* owned */
  gint64 *ints;    /* owned */
  char *str;       /* owned */
} AfMilValue;

/* `name = var` or, when @tuple, `name = (v0, v1, ...)`. */
typedef struct {
  char *name;      /* owned */
  GPtrArray *vars; /* char*, owned */
  gboolean tuple;
} AfMilArg;

typedef struct {
  char *op;        /* "conv", "const", ... (owned) */
  char *var;       /* the SSA name, also its name attribute (owned) */
  AfMilType type;  /* of the result */
  GPtrArray *args; /* AfMilArg*, owned; printed sorted by name */
  AfMilValue val;  /* const only */
} AfMilOp;

typedef struct {
  char *var; /* owned */
  AfMilType type;
} AfMilPort;

/* One fused region's program: `func main` with its inputs, ops and outputs,
 * plus the weight file its BLOBFILE references point into. */
typedef struct {
  AfAneDialect dialect;
  GArray *inputs;        /* AfMilPort, the function's parameters */
  GPtrArray *ops;        /* AfMilOp*, owned */
  GPtrArray *outputs;    /* char* var names, owned */
  AfAneBlobWriter *blob; /* owned */
  GHashTable *names;     /* char* -> NULL: every var name used (unique) */
} AfMilProgram;

/* An empty program for @d (transfer full; free with af_mil_program_free). */
AfMilProgram *af_mil_program_new (AfAneDialect d);
/* NULL is a no-op. */
void af_mil_program_free (AfMilProgram *p);

/* A fresh variable name made from @base (any string): characters other than
 * [A-Za-z0-9_] become '_', a leading digit or a MIL keyword gets a prefix,
 * and a name already used gets "_N". Deterministic. Returns the name (owned
 * by @p). */
const char *af_mil_fresh_name (AfMilProgram *p, const char *base);

/* Sanitizes @name into a MIL identifier without uniquifying (transfer full). */
char *af_mil_identifier (const char *name);

/* Appends an op statement @op whose variable is a fresh name made from
 * @base and whose result has @type. Returns it (owned by @p). */
AfMilOp *af_mil_append (AfMilProgram *p, const char *op, const char *base, const AfMilType *type);

/* Adds argument @name = @vars[0] (or, when @tuple, the tuple of the @n
 * variables) to @op; the strings are copied. */
void af_mil_add_arg (AfMilOp *op, const char *name, gboolean tuple, guint n,
                     const char *const *vars);

/* ------------------------------------------------------------------ lowering */

/* One graph value crossing a program boundary: the graph tensor, its MIL
 * variable, its dtype inside the port (UINT8 for an ios18 image port, FP16
 * otherwise) and the shape padded so the last axis is a multiple of 64
 * bytes. */
typedef struct {
  AfTensor *value; /* borrowed */
  char *mil;       /* owned */
  AfMilDtype dtype;
  AfShape shape, padded;
} AfMilBinding;

/* The last axis of @s padded to a multiple of 64 bytes at @elem_bytes per
 * element (32 fp16 or 64 uint8 elements); rank 0 is left alone. */
void af_mil_pad_shape (const AfShape *s, gsize elem_bytes, AfShape *out);

/* Lowers the nodes @nodes (borrowed AfNode*, in topological order, all
 * accepted by af_ane_caps_accepts) of @g into one program whose inputs are
 * @inputs (values produced outside, constants excluded) and whose outputs
 * are @outputs. Fills @in_bind / @out_bind (arrays of AfMilBinding, one per
 * input / output, in order; the caller clears them with
 * af_mil_binding_clear). Returns the program (transfer full) or NULL with
 * @error set. */
AfMilProgram *af_ane_lower (AfGraph *g, GPtrArray *nodes, GPtrArray *inputs, GPtrArray *outputs,
                            AfAneDialect d, GArray *in_bind, GArray *out_bind, GError **error);

/* Frees the strings of one binding (a GArray clear func). */
void af_mil_binding_clear (gpointer binding);

/* ------------------------------------------------------------------ text */

/* The program as `model.mil` text in its dialect (transfer full). */
char *af_mil_print (const AfMilProgram *p);

G_END_DECLS

#endif
