/* test-onnx-node.c — an external conformance oracle: the ONNX node test
 * cases of Debian's libonnx-testdata (one model.onnx per operator case with
 * test_data_set_N/input_K.pb and output_K.pb) run through the ONNX importer,
 * the compiler and the CPU runtime, compared within fp16 tolerance.
 *
 * Every case is run in a forked child so that a crash or a hang is a
 * counted failure, not the end of the run. A case is
 *   pass  it imports, compiles, runs and every output is within tolerance;
 *   n/a   the importer refuses it with AF_ERROR_UNSUPPORTED (op, attribute,
 *         dtype it does not support), or a test input is not a number;
 *   fail  anything else: a crash, a hang, another import / compile / run
 *         error, an output of the wrong shape or a wrong value.
 * Inputs that are not float (int64 shapes, axes, indices...) are baked into
 * the model as initializers, since the importer folds such values; when the
 * import is refused (a float input that must be a constant, like Clip's min
 * or Resize's scales, or a scalar graph input), it is retried once with
 * every input but the first baked; if that is refused too, its refusal is
 * reported (the first one when baking made the output constant).
 *
 * The tolerance rule (docs/conformance.md): |got - want| <= RTOL * |want| +
 * ATOL * max (1, max |want| of the tensor); NaN must give NaN and an
 * infinity the same infinity.
 *
 * Environment: AF_ONNX_NODE_DIR (default /usr/share/libonnx-testdata/data/node),
 * AF_CONFORMANCE_FILTER (substring of case names), AF_CONFORMANCE_VERBOSE=1
 * (one line per case), AF_CONFORMANCE_WRITE=path (writes the expected-results
 * file from this run). Argument 1: the expected-results file. */
#include "aneforge.h"
#include "import/onnx.h"
#include "import/protobuf.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_DIR "/usr/share/libonnx-testdata/data/node"
#define RTOL 2e-3
#define ATOL 1e-3
#define CASE_TIMEOUT_S 20
#define MAX_CASE_BYTES (4 << 20) /* model + data files; bigger cases are skipped */
#define MAX_IO 16

static const char *expected_path;

static const char *
node_dir (void)
{
  const char *dir = g_getenv ("AF_ONNX_NODE_DIR");
  return dir && *dir ? dir : DEFAULT_DIR;
}

/* ---------------------------------------------------------------- results */

typedef enum { R_PASS, R_FAIL, R_NA, R_SKIP } Outcome;

static const char *outcome_names[] = { "pass", "fail", "n/a", "skip" };

/* What a child reports through its pipe (fixed size, no pointers). */
typedef struct {
  Outcome outcome;
  char reason[512];
} CaseResult;

typedef struct {
  char *op;       /* row key */
  guint n[4];     /* by Outcome; n[R_FAIL] counts known failures too */
  guint n_known;  /* failures listed as xfail */
  char *first_na; /* reason of the first n/a case */
  char *first_na_case;
} OpRow;

/* ---------------------------------------------------------------- a protobuf writer */

static void
put_varint (GByteArray *b, guint64 v)
{
  do {
    guint8 c = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
    g_byte_array_append (b, &c, 1);
    v >>= 7;
  } while (v);
}

static void
put_len (GByteArray *b, guint field, const guint8 *data, gsize len)
{
  put_varint (b, (guint64) field << 3 | AF_PB_LEN);
  put_varint (b, len);
  g_byte_array_append (b, data, len);
}

/* ---------------------------------------------------------------- the model, as far as needed */

typedef struct {
  char *name;
  int elem_type;
} GraphInput;

typedef struct {
  GPtrArray *ops;   /* char*: op_type of every node */
  GArray *inputs;   /* GraphInput: graph inputs that are not initializers */
  GPtrArray *inits; /* char*: initializer names */
} ModelInfo;

static void
model_info_clear (ModelInfo *mi)
{
  g_ptr_array_unref (mi->ops);
  g_ptr_array_unref (mi->inits);
  for (guint i = 0; i < mi->inputs->len; i++)
    g_free (g_array_index (mi->inputs, GraphInput, i).name);
  g_array_unref (mi->inputs);
}

/* The string field @number of the message in @f (transfer full) or NULL. */
static char *
sub_string (const AfPbReader *r, const AfPbField *f, guint number)
{
  AfPbReader sub;
  AfPbField g;
  char *s = NULL;
  if (!af__pb_sub (r, f, &sub, NULL))
    return NULL;
  while (af__pb_next (&sub, &g, NULL) > 0)
    if (g.number == number && g.wire == AF_PB_LEN) {
      g_free (s);
      s = g_strndup ((const char *) g.data, g.len);
    }
  return s;
}

/* ValueInfoProto -> TypeProto (2) -> tensor_type (1) -> elem_type (1). */
static int
value_info_elem_type (const AfPbReader *r, const AfPbField *f)
{
  AfPbReader vi, type, tensor;
  AfPbField a, b, c;
  int et = 0;
  if (!af__pb_sub (r, f, &vi, NULL))
    return 0;
  while (af__pb_next (&vi, &a, NULL) > 0) {
    if (a.number != 2 || !af__pb_sub (&vi, &a, &type, NULL))
      continue;
    while (af__pb_next (&type, &b, NULL) > 0) {
      if (b.number != 1 || !af__pb_sub (&type, &b, &tensor, NULL))
        continue;
      while (af__pb_next (&tensor, &c, NULL) > 0)
        if (c.number == 1 && c.wire == AF_PB_VARINT)
          et = (int) c.u;
    }
  }
  return et;
}

static gboolean
model_info_read (const guint8 *data, gsize len, ModelInfo *mi)
{
  AfPbReader r, graph;
  AfPbField f, g;
  GPtrArray *all_inputs = g_ptr_array_new_with_free_func (g_free);
  GArray *types = g_array_new (FALSE, FALSE, sizeof (int));
  mi->ops = g_ptr_array_new_with_free_func (g_free);
  mi->inits = g_ptr_array_new_with_free_func (g_free);
  mi->inputs = g_array_new (FALSE, FALSE, sizeof (GraphInput));
  af__pb_init (&r, data, len);
  int rc;
  while ((rc = af__pb_next (&r, &f, NULL)) > 0) {
    if (f.number != 7 || !af__pb_sub (&r, &f, &graph, NULL))
      continue;
    while (af__pb_next (&graph, &g, NULL) > 0) {
      if (g.wire != AF_PB_LEN)
        continue;
      if (g.number == 1) {
        char *op = sub_string (&graph, &g, 4);
        g_ptr_array_add (mi->ops, op ? op : g_strdup ("?"));
      } else if (g.number == 5) {
        char *name = sub_string (&graph, &g, 8);
        g_ptr_array_add (mi->inits, name ? name : g_strdup (""));
      } else if (g.number == 11) {
        char *name = sub_string (&graph, &g, 1);
        int et = value_info_elem_type (&graph, &g);
        g_ptr_array_add (all_inputs, name ? name : g_strdup (""));
        g_array_append_val (types, et);
      }
    }
  }
  for (guint i = 0; i < all_inputs->len; i++) {
    const char *name = g_ptr_array_index (all_inputs, i);
    gboolean init = FALSE;
    for (guint k = 0; k < mi->inits->len && !init; k++)
      init = g_str_equal (name, g_ptr_array_index (mi->inits, k));
    if (init)
      continue;
    GraphInput gi = { g_strdup (name), g_array_index (types, int, i) };
    g_array_append_val (mi->inputs, gi);
  }
  g_ptr_array_unref (all_inputs);
  g_array_unref (types);
  return rc == 0;
}

/* The table row of a case: its op when the graph has one node (Constant
 * nodes aside), "(multi-node)" for function-expanded and composite cases. */
static char *
row_key (const ModelInfo *mi)
{
  const char *op = NULL;
  for (guint i = 0; i < mi->ops->len; i++) {
    const char *o = g_ptr_array_index (mi->ops, i);
    if (g_str_equal (o, "Constant"))
      continue;
    if (op && !g_str_equal (op, o))
      return g_strdup ("(multi-node)");
    op = o;
  }
  return g_strdup (op ? op : "Constant");
}

static gboolean
is_float_type (int t)
{
  return t == AF_ONNX_FLOAT || t == AF_ONNX_FLOAT16 || t == AF_ONNX_DOUBLE;
}

/* A copy of the model whose graph gets the inputs flagged in @bake as
 * initializers holding @in_pb (the TensorProto bytes of the test data),
 * named after the graph input. Returns (transfer full). */
static GByteArray *
model_bake (const guint8 *data, gsize len, const ModelInfo *mi, const gboolean *bake,
            GBytes *const *in_pb)
{
  GByteArray *out = g_byte_array_new ();
  AfPbReader r;
  AfPbField f;
  af__pb_init (&r, data, len);
  while (af__pb_next (&r, &f, NULL) > 0) {
    if (f.number != 7 || f.wire != AF_PB_LEN) {
      g_byte_array_append (out, data + f.offset, (guint) (r.p - (data + f.offset)));
      continue;
    }
    GByteArray *graph = g_byte_array_new ();
    g_byte_array_append (graph, f.data, f.len);
    for (guint i = 0; i < mi->inputs->len; i++) {
      if (!bake[i])
        continue;
      const char *name = g_array_index (mi->inputs, GraphInput, i).name;
      gsize n;
      const guint8 *pb = g_bytes_get_data (in_pb[i], &n);
      GByteArray *t = g_byte_array_new ();
      g_byte_array_append (t, pb, n);
      put_len (t, 8, (const guint8 *) name, strlen (name)); /* the last name wins */
      put_len (graph, 5, t->data, t->len);
      g_byte_array_unref (t);
    }
    put_len (out, 7, graph->data, graph->len);
    g_byte_array_unref (graph);
  }
  return out;
}

/* ---------------------------------------------------------------- one case */

typedef struct {
  int dtype, rank;
  gint64 dims[AF_MAX_RANK];
  gint64 numel;
  float *v;
} TData;

static gboolean
tdata_load (const char *path, GBytes **bytes, TData *t, GError **error)
{
  char *contents;
  gsize len;
  if (!g_file_get_contents (path, &contents, &len, error))
    return FALSE;
  *bytes = g_bytes_new_take (contents, len);
  return af__onnx_parse_tensor ((const guint8 *) contents, len, path, &t->dtype, &t->rank, t->dims,
                                &t->numel, &t->v, NULL, error);
}

static char *
dims_str (int rank, const gint64 *d)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < rank; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", d[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Same shape up to dims of 1 (a rank-0 scalar is our [1]). */
static gboolean
same_shape (int ra, const gint64 *a, int rb, const gint64 *b)
{
  int i = 0, k = 0;
  for (;;) {
    while (i < ra && a[i] == 1)
      i++;
    while (k < rb && b[k] == 1)
      k++;
    if (i == ra || k == rb)
      return i == ra && k == rb;
    if (a[i++] != b[k++])
      return FALSE;
  }
}

static void G_GNUC_PRINTF (3, 4) set_result (CaseResult *res, Outcome o, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  res->outcome = o;
  g_vsnprintf (res->reason, sizeof res->reason, fmt, ap);
  va_end (ap);
}

/* Compares one output; FALSE with @res set on the first bad element.
 * *worst is raised to the largest |error| / tolerance seen. */
static gboolean
compare (const char *what, const float *got, const TData *want, double *worst, CaseResult *res)
{
  double scale = 1;
  for (gint64 i = 0; i < want->numel; i++)
    if (isfinite (want->v[i]))
      scale = MAX (scale, fabs (want->v[i]));
  for (gint64 i = 0; i < want->numel; i++) {
    double w = want->v[i], g = got[i];
    gboolean ok;
    if (isnan (w))
      ok = isnan (g);
    else if (isinf (w))
      ok = g == w;
    else {
      double tol = RTOL * fabs (w) + ATOL * scale;
      ok = fabs (g - w) <= tol;
      *worst = MAX (*worst, isnan (g) ? G_MAXDOUBLE : fabs (g - w) / tol);
    }
    if (!ok) {
      set_result (res, R_FAIL, "%s element %" G_GINT64_FORMAT ": expected %.6g, got %.6g", what, i,
                  w, g);
      return FALSE;
    }
  }
  return TRUE;
}

/* Imports @model with @bake; NULL with @error. */
static AfGraph *
import_baked (const guint8 *model, gsize len, const ModelInfo *mi, const gboolean *bake,
              GBytes *const *in_pb, const char *name, GError **error)
{
  GByteArray *b = model_bake (model, len, mi, bake, in_pb);
  AfGraph *g = af_graph_import_onnx_from_data (b->data, b->len, name, NULL, error);
  g_byte_array_unref (b);
  return g;
}

/* Runs test_data_set @set of the compiled model. */
static gboolean
run_set (AfModel *m, const ModelInfo *mi, const gboolean *bake, TData *in, const char *set_dir,
         CaseResult *res)
{
  guint n_in = af_model_n_inputs (m), n_out = af_model_n_outputs (m);
  const float *ins[MAX_IO] = { 0 };
  float *outs[MAX_IO] = { 0 };
  TData want[MAX_IO] = { 0 };
  gboolean ok = FALSE;
  guint n_want = 0;
  if (n_in > MAX_IO || n_out > MAX_IO)
    return set_result (res, R_SKIP, "more than %d inputs or outputs", MAX_IO), FALSE;
  for (guint i = 0; i < n_in; i++) {
    AfTensorInfo info;
    af_model_input_info (m, i, &info);
    int k = -1;
    for (guint j = 0; j < mi->inputs->len && k < 0; j++)
      if (!bake[j] && g_str_equal (g_array_index (mi->inputs, GraphInput, j).name, info.name))
        k = (int) j;
    if (k < 0) {
      set_result (res, R_FAIL, "model input %u \"%s\" is not a graph input of the file", i,
                  info.name);
      goto out;
    }
    gint64 n = af_shape_numel (info.rank, info.shape);
    if (n != in[k].numel) {
      g_autofree char *a = dims_str (info.rank, info.shape);
      g_autofree char *b = dims_str (in[k].rank, in[k].dims);
      set_result (res, R_FAIL, "input \"%s\" has shape %s, the test data %s", info.name, a, b);
      goto out;
    }
    ins[i] = in[k].v;
  }
  for (guint i = 0; i < n_out; i++) {
    AfTensorInfo info;
    af_model_output_info (m, i, &info);
    outs[i] = g_new0 (float, MAX (af_shape_numel (info.rank, info.shape), 1));
  }
  for (;; n_want++) {
    g_autofree char *file = g_strdup_printf ("%s/output_%u.pb", set_dir, n_want);
    if (!g_file_test (file, G_FILE_TEST_EXISTS) || n_want == MAX_IO)
      break;
    GBytes *bytes = NULL;
    GError *error = NULL;
    if (!tdata_load (file, &bytes, &want[n_want], &error)) {
      set_result (res, R_SKIP, "%s", error->message);
      g_error_free (error);
      g_bytes_unref (bytes);
      goto out;
    }
    g_bytes_unref (bytes);
  }
  if (n_want != n_out) {
    set_result (res, R_FAIL, "the model has %u outputs, the test data %u", n_out, n_want);
    goto out;
  }
  GError *error = NULL;
  if (!af_model_run (m, ins, outs, &error)) {
    set_result (res, R_FAIL, "run: %s", error->message);
    g_error_free (error);
    goto out;
  }
  double worst = 0;
  for (guint i = 0; i < n_out; i++) {
    AfTensorInfo info;
    af_model_output_info (m, i, &info);
    if (af_shape_numel (info.rank, info.shape) != want[i].numel ||
        !same_shape (info.rank, info.shape, want[i].rank, want[i].dims)) {
      g_autofree char *a = dims_str (info.rank, info.shape);
      g_autofree char *b = dims_str (want[i].rank, want[i].dims);
      set_result (res, R_FAIL, "output %u has shape %s, expected %s", i, a, b);
      goto out;
    }
    char what[64];
    g_snprintf (what, sizeof what, "output %u", i);
    if (!compare (what, outs[i], &want[i], &worst, res))
      goto out;
  }
  g_snprintf (res->reason, sizeof res->reason, "worst |error| / tolerance %.2f", worst);
  ok = TRUE;
out:
  for (guint i = 0; i < MAX_IO; i++) {
    g_free (outs[i]);
    g_free (want[i].v);
  }
  return ok;
}

/* One test_data_set of the case (its inputs are baked into the model). */
static void
run_case_set (const char *dir, const char *set_dir, const char *name, CaseResult *res)
{
  g_autofree char *model_path = g_build_filename (dir, "model.onnx", NULL);
  char *model;
  gsize len;
  GError *error = NULL;
  ModelInfo mi;
  GBytes *in_pb[MAX_IO] = { 0 };
  TData in[MAX_IO] = { 0 };
  gboolean bake[MAX_IO] = { 0 };
  AfGraph *g = NULL;
  AfModel *m = NULL;
  res->outcome = R_PASS;
  res->reason[0] = 0;
  if (!g_file_get_contents (model_path, &model, &len, &error)) {
    set_result (res, R_SKIP, "%s", error->message);
    g_error_free (error);
    return;
  }
  model_info_read ((const guint8 *) model, len, &mi);
  if (mi.inputs->len > MAX_IO) {
    set_result (res, R_SKIP, "more than %d inputs", MAX_IO);
    goto out;
  }
  for (guint i = 0; i < mi.inputs->len; i++) {
    g_autofree char *file = g_strdup_printf ("%s/input_%u.pb", set_dir, i);
    if (!tdata_load (file, &in_pb[i], &in[i], &error)) {
      /* strings, sequences, optionals, bfloat16...: not a tensor we can feed */
      set_result (res, R_NA, "input %u: %s", i, error->message);
      goto out;
    }
    bake[i] = !is_float_type (g_array_index (mi.inputs, GraphInput, i).elem_type);
    if (g_array_index (mi.inputs, GraphInput, i).elem_type == 16) {
      /* the test data holds bfloat16 as its uint16 bits: not a value we can feed or bake */
      set_result (res, R_NA, "input %u: bfloat16 is not supported", i);
      goto out;
    }
  }
  g = import_baked ((const guint8 *) model, len, &mi, bake, in_pb, name, &error);
  if (!g && error->code == AF_ERROR_UNSUPPORTED && mi.inputs->len > 1) {
    GError *again = NULL;
    for (guint i = 1; i < mi.inputs->len; i++)
      bake[i] = TRUE;
    g = import_baked ((const guint8 *) model, len, &mi, bake, in_pb, name, &again);
    /* the retry's refusal is the deeper one, unless baking made it */
    if (!g && !strstr (again->message, "is a constant (it does not depend"))
      g_clear_error (&error), error = again;
    else
      g_clear_error (&again);
  }
  if (!g) {
    set_result (res, error->code == AF_ERROR_UNSUPPORTED ? R_NA : R_FAIL, "import: %s",
                error->message);
    goto out;
  }
  AfCompileOptions opts = AF_COMPILE_OPTIONS_INIT;
  opts.backend = AF_BACKEND_CPU;
  opts.threads = 1;
  m = af_compile (g, &opts, &error);
  if (!m) {
    set_result (res, error->code == AF_ERROR_UNSUPPORTED ? R_NA : R_FAIL, "compile: %s",
                error->message);
    goto out;
  }
  run_set (m, &mi, bake, in, set_dir, res);
out:
  g_clear_error (&error);
  af_model_free (m);
  af_graph_free (g);
  for (guint i = 0; i < MAX_IO; i++) {
    if (in_pb[i])
      g_bytes_unref (in_pb[i]);
    g_free (in[i].v);
  }
  model_info_clear (&mi);
  g_free (model);
}

/* The whole case, in the child: every test_data_set_N in turn (each
 * imported anew, since non-float inputs are baked); the first set that does
 * not pass gives the case's result, else the worst error of all sets. */
static void
run_case (const char *dir, const char *name, CaseResult *res)
{
  double worst = -1;
  guint n_sets = 0;
  for (;; n_sets++) {
    g_autofree char *base = g_strdup_printf ("test_data_set_%u", n_sets);
    g_autofree char *set_dir = g_build_filename (dir, base, NULL);
    if (!g_file_test (set_dir, G_FILE_TEST_IS_DIR))
      break;
    run_case_set (dir, set_dir, name, res);
    if (res->outcome != R_PASS) {
      if (n_sets > 0 && res->outcome == R_FAIL) {
        char r[sizeof res->reason];
        g_snprintf (r, sizeof r, "%s: %s", base, res->reason);
        memcpy (res->reason, r, sizeof r);
      }
      return;
    }
    double w = g_ascii_strtod (res->reason + strlen ("worst |error| / tolerance "), NULL);
    worst = MAX (worst, w);
  }
  if (n_sets == 0) {
    set_result (res, R_FAIL, "no test_data_set_0 in %s", dir);
    return;
  }
  g_snprintf (res->reason, sizeof res->reason, "worst |error| / tolerance %.2f", worst);
}

/* Runs the case in a child: a crash or a hang is a failure. */
static void
run_case_isolated (const char *dir, const char *name, CaseResult *res)
{
  int fd[2];
  if (pipe (fd) != 0)
    g_error ("pipe: %s", g_strerror (errno));
  fflush (stdout);
  fflush (stderr);
  pid_t pid = fork ();
  if (pid < 0)
    g_error ("fork: %s", g_strerror (errno));
  if (pid == 0) {
    close (fd[0]);
    alarm (CASE_TIMEOUT_S);
    CaseResult r = { 0 };
    run_case (dir, name, &r);
    gsize done = 0;
    while (done < sizeof r) {
      ssize_t k = write (fd[1], (const char *) &r + done, sizeof r - done);
      if (k <= 0)
        _exit (2);
      done += (gsize) k;
    }
    _exit (0);
  }
  close (fd[1]);
  gsize got = 0;
  while (got < sizeof *res) {
    ssize_t k = read (fd[0], (char *) res + got, sizeof *res - got);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    got += (gsize) k;
  }
  close (fd[0]);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFSIGNALED (status))
    set_result (res, R_FAIL, "%s (signal %d)",
                WTERMSIG (status) == SIGALRM ? "timed out" : "crashed", WTERMSIG (status));
  else if (got != sizeof *res)
    set_result (res, R_FAIL, "the child exited with status %d without a result",
                WEXITSTATUS (status));
  res->reason[sizeof res->reason - 1] = 0;
}

/* ---------------------------------------------------------------- expected results */

/* name -> the rest of its line: "pass" or "xfail \"<failure>\" <why>"; NULL
 * without a file. */
static GHashTable *
expected_load (const char *path)
{
  char *text;
  if (!path || !g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  GHashTable *h = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  char **lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    char *s = g_strstrip (*l);
    if (!*s || *s == '#')
      continue;
    char **w = g_strsplit_set (s, " \t", 2);
    if (w[0] && w[1])
      g_hash_table_replace (h, g_strdup (w[0]), g_strdup (g_strstrip (w[1])));
    g_strfreev (w);
  }
  g_strfreev (lines);
  g_free (text);
  return h;
}

/* The failure an expected-results entry "xfail \"<failure>\" <why>" records
 * (transfer full); NULL when @want is not an xfail entry of that form. An
 * xfail matches only that failure: the same case failing another way (or
 * another element) is a new failure. */
static char *
xfail_reason (const char *want)
{
  if (!want || !g_str_has_prefix (want, "xfail \""))
    return NULL;
  const char *start = want + strlen ("xfail \""), *end = strchr (start, '"');
  return end ? g_strndup (start, end - start) : NULL;
}

/* ---------------------------------------------------------------- the table */

static OpRow *
row_get (GHashTable *rows, const char *key)
{
  OpRow *r = g_hash_table_lookup (rows, key);
  if (!r) {
    r = g_new0 (OpRow, 1);
    r->op = g_strdup (key);
    g_hash_table_insert (rows, r->op, r);
  }
  return r;
}

static void
row_free (OpRow *r)
{
  g_free (r->op);
  g_free (r->first_na);
  g_free (r->first_na_case);
  g_free (r);
}

static int
row_cmp (gconstpointer a, gconstpointer b)
{
  const OpRow *x = *(OpRow *const *) a, *y = *(OpRow *const *) b;
  return g_ascii_strcasecmp (x->op, y->op);
}

static const char *
skip_prefix (const char *s, const char *prefix)
{
  return g_str_has_prefix (s, prefix) ? s + strlen (prefix) : s;
}

/* The refusal of case @name, shortened for a table cell: without the stage,
 * the file and the node ("import: test_x: node 0 "" (Op): why" -> "why";
 * "input 1: path: tensor "t": why" -> "input 1: why"). */
static char *
short_reason (const char *name, const char *reason)
{
  g_autofree char *file = g_strconcat (name, ": ", NULL);
  const char *p = skip_prefix (skip_prefix (reason, "import: "), "compile: "), *q;
  g_autofree char *head = NULL;
  p = skip_prefix (p, file);
  if (g_str_has_prefix (p, "node ") && (q = strstr (p, "): ")))
    p = q + 3;
  else if (g_str_has_prefix (p, "input ") && (q = strstr (p, ": "))) {
    head = g_strndup (p, q + 2 - p);
    while ((q = strstr (p, ": ")))
      p = q + 2;
  }
  char *s = g_strconcat (head ? head : "", p, NULL);
  for (char *c = s; *c; c++)
    if (*c == '|' || *c == '\n')
      *c = '/';
  if (g_utf8_strlen (s, -1) > 70) {
    char *t = g_utf8_substring (s, 0, 67);
    g_free (s);
    s = g_strconcat (t, "...", NULL);
    g_free (t);
  }
  return s;
}

static void
print_table (GHashTable *rows, const guint *total, guint n_known)
{
  GPtrArray *list = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, rows);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_add (list, value);
  g_ptr_array_sort (list, row_cmp);
  g_print ("\n| ONNX op | pass | fail | known fail | n/a | first n/a reason |\n"
           "|---|---:|---:|---:|---:|---|\n");
  for (guint i = 0; i < list->len; i++) {
    OpRow *r = g_ptr_array_index (list, i);
    g_autofree char *why =
        r->first_na ? short_reason (r->first_na_case, r->first_na) : g_strdup ("");
    g_print ("| %s | %u | %u | %u | %u | %s |\n", r->op, r->n[R_PASS], r->n[R_FAIL] - r->n_known,
             r->n_known, r->n[R_NA] + r->n[R_SKIP], why);
  }
  g_print ("| **total** | %u | %u | %u | %u | |\n\n", total[R_PASS], total[R_FAIL] - n_known,
           n_known, total[R_NA] + total[R_SKIP]);
  g_ptr_array_unref (list);
}

static int
str_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Every supported node test case computes the ONNX reference outputs within
 * fp16 tolerance, and every case the expected-results file lists as passing
 * still passes. */
static void
test_node_cases (void)
{
  const char *dir = node_dir ();
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_test_fail_printf ("%s not found: install the Debian package libonnx-testdata "
                        "(tools/bootstrap.sh does) or set AF_ONNX_NODE_DIR",
                        dir);
    return;
  }
  const char *filter = g_getenv ("AF_CONFORMANCE_FILTER");
  gboolean verbose = g_strcmp0 (g_getenv ("AF_CONFORMANCE_VERBOSE"), "1") == 0;
  const char *write_path = g_getenv ("AF_CONFORMANCE_WRITE");
  GHashTable *expected = expected_load (expected_path);
  GDir *d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  for (const char *e; (e = g_dir_read_name (d));)
    if (g_str_has_prefix (e, "test_") && (!filter || strstr (e, filter)))
      g_ptr_array_add (names, g_strdup (e));
  g_dir_close (d);
  g_ptr_array_sort (names, str_cmp);

  GHashTable *rows =
      g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) row_free);
  GString *fails = g_string_new (NULL), *regress = g_string_new (NULL);
  GString *out =
      g_string_new ("# tests/conformance/expected.txt, written by AF_CONFORMANCE_WRITE: <case> "
                    "pass|xfail \"<failure>\" <why>.\n"
                    "# A listed pass that stops passing fails the test; an xfail is a known wrong\n"
                    "# answer, matched by its exact failure; one that passes fails the test too.\n"
                    "# answer (see docs/conformance.md).\n");
  guint total[4] = { 0 }, n_xfail = 0;
  for (guint i = 0; i < names->len; i++) {
    const char *name = g_ptr_array_index (names, i);
    g_autofree char *case_dir = g_build_filename (dir, name, NULL);
    g_autofree char *model_path = g_build_filename (case_dir, "model.onnx", NULL);
    char *model;
    gsize len;
    if (!g_file_get_contents (model_path, &model, &len, NULL))
      continue;
    ModelInfo mi;
    model_info_read ((const guint8 *) model, len, &mi);
    g_autofree char *key = row_key (&mi);
    model_info_clear (&mi);
    g_free (model);
    CaseResult res = { 0 };
    if (len > MAX_CASE_BYTES)
      set_result (&res, R_SKIP, "model of %" G_GSIZE_FORMAT " bytes is skipped", len);
    else
      run_case_isolated (case_dir, name, &res);
    const char *want = expected ? g_hash_table_lookup (expected, name) : NULL;
    g_autofree char *recorded = xfail_reason (want);
    gboolean xfail = res.outcome == R_FAIL && recorded && strcmp (recorded, res.reason) == 0;
    if (want && g_str_has_prefix (want, "xfail") && !recorded)
      g_string_append_printf (
          regress, "  %s: malformed entry \"%s\" (want xfail \"<failure>\" <why>)\n", name, want);
    if (recorded && res.outcome == R_FAIL && !xfail)
      g_string_append_printf (
          regress, "  %s (%s) fails otherwise than recorded: now \"%s\", recorded \"%s\"\n", name,
          key, res.reason, recorded);
    if (recorded && res.outcome == R_PASS)
      g_string_append_printf (regress, "  %s (%s) passes but is listed as xfail: update %s\n", name,
                              key, expected_path);
    OpRow *r = row_get (rows, key);
    r->n[res.outcome]++;
    total[res.outcome]++;
    if ((res.outcome == R_NA || res.outcome == R_SKIP) && !r->first_na) {
      r->first_na = g_strdup (res.reason);
      r->first_na_case = g_strdup (name);
    }
    if (res.outcome == R_FAIL && !xfail)
      g_string_append_printf (fails, "  FAIL %s (%s): %s\n", name, key, res.reason);
    if (xfail)
      n_xfail++, r->n_known++;
    if (g_strcmp0 (want, "pass") == 0 && res.outcome != R_PASS)
      g_string_append_printf (regress, "  %s (%s) was expected to pass, now %s: %s\n", name, key,
                              outcome_names[res.outcome], res.reason);
    if (res.outcome == R_PASS)
      g_string_append_printf (out, "%s pass\n", name);
    else if (xfail) /* keep the annotation */
      g_string_append_printf (out, "%s %s\n", name, want);
    else if (res.outcome == R_FAIL)
      g_string_append_printf (out, "%s xfail \"%s\" (why: to be written)\n", name, res.reason);
    if (verbose)
      g_print ("%-60s %-4s %s %s\n", name, outcome_names[res.outcome], key, res.reason);
  }
  print_table (rows, total, n_xfail);
  g_print ("%u cases: %u pass, %u fail (%u known), %u not applicable, %u skipped\n", names->len,
           total[R_PASS], total[R_FAIL], n_xfail, total[R_NA], total[R_SKIP]);
  if (fails->len)
    g_print ("failures:\n%s", fails->str);
  if (regress->len)
    g_print ("regressions against %s:\n%s", expected_path, regress->str);
  if (write_path) {
    GError *error = NULL;
    g_assert_true (g_file_set_contents (write_path, out->str, -1, &error));
    g_print ("wrote %s\n", write_path);
  }
  g_assert_cmpuint (total[R_FAIL] - n_xfail, ==, 0);
  if (!filter)
    g_assert_cmpuint (regress->len, ==, 0);
  g_string_free (fails, TRUE);
  g_string_free (regress, TRUE);
  g_string_free (out, TRUE);
  g_hash_table_unref (rows);
  g_ptr_array_unref (names);
  if (expected)
    g_hash_table_unref (expected);
}

/* ---------------------------------------------------------------- the oracle's own verdicts */

/* A serialized fp32 TensorProto of @t (transfer full). */
static GByteArray *
tensor_proto (const TData *t)
{
  GByteArray *b = g_byte_array_new ();
  for (int i = 0; i < t->rank; i++) {
    put_varint (b, 1 << 3 | AF_PB_VARINT);
    put_varint (b, (guint64) t->dims[i]);
  }
  put_varint (b, 2 << 3 | AF_PB_VARINT);
  put_varint (b, AF_ONNX_FLOAT);
  guint8 *raw = g_malloc (t->numel * 4);
  for (gint64 i = 0; i < t->numel; i++) {
    guint32 bits;
    memcpy (&bits, &t->v[i], 4);
    bits = GUINT32_TO_LE (bits);
    memcpy (raw + 4 * i, &bits, 4);
  }
  put_len (b, 9, raw, t->numel * 4);
  g_free (raw);
  return b;
}

static void
copy_file (const char *from, const char *to)
{
  char *data;
  gsize len;
  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (g_file_set_contents (to, data, (gssize) len, NULL));
  g_free (data);
}

/* The oracle can fail: test_relu passes as shipped, the same case with one
 * expected value moved by 0.25 is a failure naming that element, and an
 * unsupported op (Sin) is not applicable. */
static void
test_verdicts (void)
{
  const char *dir = node_dir ();
  g_autofree char *relu = g_build_filename (dir, "test_relu", NULL);
  g_autofree char *sin = g_build_filename (dir, "test_sin", NULL);
  if (!g_file_test (relu, G_FILE_TEST_IS_DIR) || !g_file_test (sin, G_FILE_TEST_IS_DIR)) {
    g_test_fail_printf ("%s/test_relu not found: install libonnx-testdata", dir);
    return;
  }
  CaseResult res;
  run_case_isolated (relu, "test_relu", &res);
  if (res.outcome != R_PASS)
    g_test_message ("test_relu: %s", res.reason);
  g_assert_cmpstr (outcome_names[res.outcome], ==, "pass");
  run_case_isolated (sin, "test_sin", &res);
  g_assert_cmpint (res.outcome, ==, R_NA);
  g_assert_nonnull (strstr (res.reason, "\"Sin\" is not supported"));

  g_autofree char *tmp = g_dir_make_tmp ("af-conformance-XXXXXX", NULL);
  g_assert_nonnull (tmp);
  g_autofree char *bad = g_build_filename (tmp, "test_relu_wrong", NULL);
  g_autofree char *set = g_build_filename (bad, "test_data_set_0", NULL);
  g_assert_cmpint (g_mkdir_with_parents (set, 0755), ==, 0);
  g_autofree char *model_from = g_build_filename (relu, "model.onnx", NULL);
  g_autofree char *model_to = g_build_filename (bad, "model.onnx", NULL);
  g_autofree char *in_from = g_build_filename (relu, "test_data_set_0", "input_0.pb", NULL);
  g_autofree char *in_to = g_build_filename (set, "input_0.pb", NULL);
  g_autofree char *out_from = g_build_filename (relu, "test_data_set_0", "output_0.pb", NULL);
  g_autofree char *out_to = g_build_filename (set, "output_0.pb", NULL);
  copy_file (model_from, model_to);
  copy_file (in_from, in_to);
  GBytes *bytes = NULL;
  TData want = { 0 };
  g_assert_true (tdata_load (out_from, &bytes, &want, NULL));
  g_assert_cmpint (want.numel, >, 7);
  want.v[7] += 0.25f;
  GByteArray *pb = tensor_proto (&want);
  g_assert_true (g_file_set_contents (out_to, (const char *) pb->data, pb->len, NULL));
  run_case_isolated (bad, "test_relu_wrong", &res);
  g_assert_cmpint (res.outcome, ==, R_FAIL);
  g_assert_nonnull (strstr (res.reason, "element 7"));
  g_byte_array_unref (pb);
  g_bytes_unref (bytes);
  g_free (want.v);
  g_remove (out_to);
  g_remove (in_to);
  g_remove (model_to);
  g_rmdir (set);
  g_rmdir (bad);
  g_rmdir (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  expected_path = argc > 1 ? argv[1] : NULL;
  g_test_add_func ("/conformance/verdicts", test_verdicts);
  g_test_add_func ("/conformance/onnx-node", test_node_cases);
  return g_test_run ();
}
