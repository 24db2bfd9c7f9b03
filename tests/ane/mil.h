/* mil.h — an independent reader and interpreter of Core ML's MIL text
 * (model.mil) and of aneforge's ANE export plans, for tests.
 *
 * Written from ../shared/ane/README.md §1.1-1.3 and coremltools' op
 * definitions (../shared/ane/reference/), apart from the emitter in
 * src/backends/ane/, so that a bug in one is not mirrored in the other.
 *
 * Numerics follow the ANE: every fp16 value is rounded to nearest even once
 * per op; ops compute in fp32 (conv, linear, matmul and reductions keep an
 * fp32 accumulator). Errors are GErrors in MIL_ERROR whose message starts
 * with FILE:LINE:COL (parse) or FILE:LINE:COL: op "VAR" (run).
 *
 * Ownership: every *_new / *_load / *_parse result is owned by the caller
 * and freed by the matching *_free, which accepts NULL. */
#ifndef AF_TEST_MIL_H
#define AF_TEST_MIL_H

#include <glib.h>

#define MIL_ERROR (mil_error_quark ())
GQuark mil_error_quark (void);

#define MIL_MAX_RANK 8

typedef enum {
  MIL_FP16,
  MIL_FP32,
  MIL_FP64,
  MIL_INT4,
  MIL_INT8,
  MIL_INT16,
  MIL_INT32,
  MIL_INT64,
  MIL_UINT1,
  MIL_UINT2,
  MIL_UINT4,
  MIL_UINT8,
  MIL_UINT16,
  MIL_UINT32,
  MIL_UINT64,
  MIL_BOOL,
  MIL_STRING,
  MIL_N_DTYPES
} MilDtype;

/* A value: numbers are held as doubles (each exactly representable in its
 * dtype: an fp16 tensor holds fp16 values), strings as one string. */
typedef struct {
  MilDtype dtype;
  int rank;
  gint64 shape[MIL_MAX_RANK];
  gsize n;   /* elements */
  double *v; /* n numbers, NULL for a string */
  char *str; /* the string of a rank-0 string value */
} MilTensor;

const char *mil_dtype_name (MilDtype d);
/* The dtype named @s (fp16, int32, ...); FALSE if none. */
gboolean mil_dtype_from_name (const char *s, MilDtype *out);

MilTensor *mil_tensor_new (MilDtype dtype, int rank, const gint64 *shape);
void mil_tensor_free (MilTensor *t);
MilTensor *mil_tensor_copy (const MilTensor *t);
/* "[1, 3, 32, 32]" for messages; the caller frees it. */
char *mil_shape_str (int rank, const gint64 *shape);

/* fp16 <-> fp32, round to nearest even (own code, not the library's). */
float mil_half_to_float (guint16 h);
guint16 mil_float_to_half (float f);
/* @x rounded to dtype @d (fp16: RNE; fp32: to float; ints: must be exact). */
double mil_round (MilDtype d, double x);

typedef struct MilProgram MilProgram;

/* Parses MIL text; @file names it in messages and @model_dir is what
 * @model_path means for BLOBFILE paths (NULL: BLOBFILE is an error). */
MilProgram *mil_parse (const char *text, gsize len, const char *file, const char *model_dir,
                       GError **error);
/* Reads DIR/model.mil (model_dir = DIR). */
MilProgram *mil_load (const char *dir, GError **error);
void mil_program_free (MilProgram *p);

const char *mil_program_version (const MilProgram *p);
/* The value of buildInfo key @key, NULL if absent. */
const char *mil_program_build_info (const MilProgram *p, const char *key);
guint mil_program_n_ops (const MilProgram *p, const char *func);
/* Function @func's opset ("ios18"), NULL if there is no such function. */
const char *mil_program_opset (const MilProgram *p, const char *func);

/* Runs function @func on @inputs (a table name -> MilTensor*, borrowed);
 * returns a table name -> MilTensor* of its outputs (owned by the caller,
 * values freed with the table). */
GHashTable *mil_run (MilProgram *p, const char *func, GHashTable *inputs, GError **error);

/* The ops this interpreter runs, NULL-terminated. */
const char *const *mil_supported_ops (void);

/* An ANE export directory (plan.json + region-K/). */
typedef struct MilPlan MilPlan;
MilPlan *mil_plan_load (const char *dir, GError **error);
void mil_plan_free (MilPlan *plan);
guint mil_plan_n_inputs (const MilPlan *plan);
/* Name, dtype and (unpadded) shape of input/output @i. */
const MilTensor *mil_plan_input (const MilPlan *plan, guint i, const char **name);
const MilTensor *mil_plan_output (const MilPlan *plan, guint i, const char **name);
guint mil_plan_n_outputs (const MilPlan *plan);
/* Runs a host segment (op @op, graph node @node) on the values in @env
 * (graph name -> MilTensor*, borrowed); returns its one output (owned by the
 * caller) or NULL with @error set. */
typedef MilTensor *(*MilHostFn) (gpointer data, const char *op, const char *node, GHashTable *env,
                                 GError **error);
/* Host segments run through @fn; without one they fail. */
void mil_plan_set_host (MilPlan *plan, MilHostFn fn, gpointer data);
/* Runs every segment in order. @inputs: name -> MilTensor* in the graph's
 * unpadded shapes (borrowed); returns name -> MilTensor* for the plan's
 * outputs, unpadded. */
GHashTable *mil_plan_run (MilPlan *plan, GHashTable *inputs, GError **error);

#endif
