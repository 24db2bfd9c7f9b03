/* mil-ops.h — what an op implementation sees (internal to tests/ane/mil-*.c):
 * its arguments by keyword, checked against the op's declared argument list
 * before it runs, and typed accessors whose errors name the op and the
 * argument. */
#ifndef AF_TEST_MIL_OPS_H
#define AF_TEST_MIL_OPS_H

#include "mil-ast.h"

typedef struct {
  const MilOp *op;
  const char *file;
  GHashTable *env; /* var -> MilTensor* */
} MilCtx;

/* Computes the op's result into *out (dtype and shape of the result; the
 * runner checks them against the declared type and rounds to the dtype). */
typedef gboolean (*MilOpFn) (MilCtx *c, MilTensor **out, GError **error);

typedef struct {
  const char *name;
  MilOpFn fn;
  const char *args[12]; /* every argument name the op takes, NULL-ended */
} MilOpDef;

/* The op named @name, NULL if unknown. */
const MilOpDef *mil_op_lookup (const char *name);

/* Sets @error "FILE:LINE:COL: OP "OUT": MESSAGE"; returns FALSE. */
G_GNUC_PRINTF (3, 4)
gboolean mil_fail (MilCtx *c, GError **error, const char *fmt, ...);

/* Argument @name as a tensor; *out NULL if it is absent and !@required. */
gboolean mil_arg (MilCtx *c, const char *name, gboolean required, const MilTensor **out,
                  GError **error);
/* Argument @name as a list of tensors (a (a, b, ...) list). */
gboolean mil_arg_list (MilCtx *c, const char *name, GPtrArray **out, GError **error);
/* Integer scalar or vector arguments; @dflt used when absent (NULL: required). */
gboolean mil_arg_ints (MilCtx *c, const char *name, int n_max, const gint64 *dflt, int n_dflt,
                       gint64 *out, int *n, GError **error);
gboolean mil_arg_int (MilCtx *c, const char *name, const gint64 *dflt, gint64 *out, GError **error);
gboolean mil_arg_float (MilCtx *c, const char *name, const double *dflt, double *out,
                        GError **error);
gboolean mil_arg_bool (MilCtx *c, const char *name, const gboolean *dflt, gboolean *out,
                       GError **error);
/* A string argument; @dflt when absent (NULL: required). Borrowed. */
gboolean mil_arg_string (MilCtx *c, const char *name, const char *dflt, const char **out,
                         GError **error);

#endif
