/* test-import.c — the ONNX importer: tiny models written here with a small
 * protobuf writer, malformed files, the committed corpus, and the real
 * models in ../shared/models (a missing one fails: CI and every developer
 * have ../shared; ONNX Runtime's answers for them: tests/oracles/). */
#include "graph.h"
#include "import/protobuf.h"
#include "oracle.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- a tiny protobuf writer */

typedef GByteArray Pb;

static void
pb_varint (Pb *b, guint64 v)
{
  do {
    guint8 c = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
    g_byte_array_append (b, &c, 1);
    v >>= 7;
  } while (v);
}

static void
pb_int (Pb *b, guint field, gint64 v)
{
  pb_varint (b, (guint64) field << 3);
  pb_varint (b, (guint64) v);
}

static void
pb_bytes (Pb *b, guint field, const void *data, gsize len)
{
  pb_varint (b, (guint64) field << 3 | 2);
  pb_varint (b, len);
  g_byte_array_append (b, data, len);
}

static void
pb_str (Pb *b, guint field, const char *s)
{
  pb_bytes (b, field, s, strlen (s));
}

/* Appends @sub as a message field and frees it. */
static void
pb_msg (Pb *b, guint field, Pb *sub)
{
  pb_bytes (b, field, sub->data, sub->len);
  g_byte_array_unref (sub);
}

static void
pb_f32 (Pb *b, guint field, float f)
{
  pb_varint (b, (guint64) field << 3 | 5);
  g_byte_array_append (b, (const guint8 *) &f, 4);
}

static Pb *
tensor_f32 (const char *name, int rank, const gint64 *dims, const float *data)
{
  Pb *t = g_byte_array_new ();
  gint64 n = 1;
  for (int i = 0; i < rank; i++) {
    pb_int (t, 1, dims[i]);
    n *= dims[i];
  }
  pb_int (t, 2, 1);
  pb_str (t, 8, name);
  pb_bytes (t, 9, data, n * 4);
  return t;
}

static Pb *
tensor_i64 (const char *name, int n, const gint64 *data)
{
  Pb *t = g_byte_array_new ();
  pb_int (t, 1, n);
  pb_int (t, 2, 7);
  pb_str (t, 8, name);
  for (int i = 0; i < n; i++)
    pb_int (t, 7, data[i]);
  return t;
}

static Pb *
attr_i (const char *name, gint64 v)
{
  Pb *a = g_byte_array_new ();
  pb_str (a, 1, name);
  pb_int (a, 20, 2);
  pb_int (a, 3, v);
  return a;
}

static Pb *
attr_is (const char *name, int n, const gint64 *v)
{
  Pb *a = g_byte_array_new ();
  pb_str (a, 1, name);
  pb_int (a, 20, 7);
  for (int i = 0; i < n; i++)
    pb_int (a, 8, v[i]);
  return a;
}

static Pb *
attr_f (const char *name, float v)
{
  Pb *a = g_byte_array_new ();
  pb_str (a, 1, name);
  pb_int (a, 20, 1);
  pb_f32 (a, 2, v);
  return a;
}

static Pb *
attr_s (const char *name, const char *v)
{
  Pb *a = g_byte_array_new ();
  pb_str (a, 1, name);
  pb_int (a, 20, 3);
  pb_str (a, 4, v);
  return a;
}

/* Adds a node: inputs and outputs are NULL-terminated lists; attrs too. */
static void
add_node (Pb *graph, const char *op, const char *name, const char *const *in,
          const char *const *out, Pb **attrs)
{
  Pb *n = g_byte_array_new ();
  for (; in && *in; in++)
    pb_str (n, 1, *in);
  for (; out && *out; out++)
    pb_str (n, 2, *out);
  pb_str (n, 3, name);
  pb_str (n, 4, op);
  for (; attrs && *attrs; attrs++)
    pb_msg (n, 5, *attrs);
  pb_msg (graph, 1, n);
}

static void
add_value (Pb *graph, guint field, const char *name, int rank, const gint64 *dims)
{
  Pb *shape = g_byte_array_new ();
  for (int i = 0; i < rank; i++) {
    Pb *d = g_byte_array_new ();
    if (dims[i] < 0)
      pb_str (d, 2, "N");
    else
      pb_int (d, 1, dims[i]);
    pb_msg (shape, 1, d);
  }
  Pb *tt = g_byte_array_new ();
  pb_int (tt, 1, 1);
  pb_msg (tt, 2, shape);
  Pb *type = g_byte_array_new ();
  pb_msg (type, 1, tt);
  Pb *vi = g_byte_array_new ();
  pb_str (vi, 1, name);
  pb_msg (vi, 2, type);
  pb_msg (graph, field, vi);
}

/* Wraps @graph (freed) into a ModelProto of @opset. */
static Pb *
model (Pb *graph, gint64 opset)
{
  Pb *m = g_byte_array_new ();
  pb_int (m, 1, 7);
  Pb *os = g_byte_array_new ();
  pb_str (os, 1, "");
  pb_int (os, 2, opset);
  pb_msg (m, 8, os);
  pb_msg (m, 7, graph);
  return m;
}

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define A(...) ((Pb *[]){ __VA_ARGS__, NULL })

static AfGraph *
import (Pb *m, GError **error)
{
  AfGraph *g = af_graph_import_onnx_from_data (m->data, m->len, "test.onnx", NULL, error);
  return g;
}

static guint
count_op (AfGraph *g, AfOp op)
{
  guint k = 0;
  for (guint i = 0; i < g->nodes->len; i++)
    k += ((AfNode *) g_ptr_array_index (g->nodes, i))->op == op;
  return k;
}

/* Runs @g on one fp32 input and returns (transfer full) output 0. */
static float *
run1 (AfGraph *g, const float *x)
{
  GError *error = NULL;
  AfModel *m = af_compile (g, NULL, &error);
  g_assert_no_error (error);
  AfTensorInfo info;
  af_model_output_info (m, 0, &info);
  float *y = g_new0 (float, af_shape_numel (info.rank, info.shape));
  const float *in[] = { x };
  float *out[] = { y };
  g_assert_true (af_model_run (m, in, out, &error));
  g_assert_no_error (error);
  af_model_free (m);
  return y;
}

/* ---------------------------------------------------------------- synthetic models */

/* Conv 1x1 followed by BatchNormalization is folded into one conv whose
 * output matches the analytic value. */
static void
test_conv_bn_fold (void)
{
  Pb *g = g_byte_array_new ();
  gint64 xd[] = { 1, 1, 2, 2 }, wd[] = { 1, 1, 1, 1 }, cd[] = { 1 };
  float w = 2, b = 1, gamma = 3, beta = 0.5f, mean = 1, var = 4 - 1e-5f;
  pb_msg (g, 5, tensor_f32 ("w", 4, wd, &w));
  pb_msg (g, 5, tensor_f32 ("b", 1, cd, &b));
  pb_msg (g, 5, tensor_f32 ("gamma", 1, cd, &gamma));
  pb_msg (g, 5, tensor_f32 ("beta", 1, cd, &beta));
  pb_msg (g, 5, tensor_f32 ("mean", 1, cd, &mean));
  pb_msg (g, 5, tensor_f32 ("var", 1, cd, &var));
  add_value (g, 11, "x", 4, xd);
  add_node (g, "Conv", "conv0", L ("x", "w", "b"), L ("c"),
            A (attr_is ("kernel_shape", 2, (gint64[]){ 1, 1 })));
  add_node (g, "BatchNormalization", "bn0", L ("c", "gamma", "beta", "mean", "var"), L ("y"), NULL);
  add_value (g, 12, "y", 4, xd);
  Pb *m = model (g, 9);
  GError *error = NULL;
  AfGraph *gr = import (m, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_op (gr, AF_OP_CONV), ==, 1);
  g_assert_cmpuint (count_op (gr, AF_OP_BATCH_NORM), ==, 0);
  g_assert_nonnull (af_graph_lookup (gr, "y"));
  float x[] = { 1, 2, 3, 4 };
  float *y = run1 (gr, x);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (y[i], 3 * x[i] + 0.5f, 0.02);
  g_free (y);
  af_graph_free (gr);
  g_byte_array_unref (m);
}

/* auto_pad SAME_UPPER / SAME_LOWER resolve to the right asymmetric pads. */
static void
test_auto_pad (void)
{
  const char *modes[] = { "SAME_UPPER", "SAME_LOWER" };
  for (int k = 0; k < 2; k++) {
    Pb *g = g_byte_array_new ();
    gint64 xd[] = { 1, 1, 6, 6 }, wd[] = { 1, 1, 3, 3 }, yd[] = { 1, 1, 3, 3 };
    float w[9] = { 0 };
    pb_msg (g, 5, tensor_f32 ("w", 4, wd, w));
    add_value (g, 11, "x", 4, xd);
    add_node (g, "Conv", "c", L ("x", "w"), L ("y"),
              A (attr_s ("auto_pad", modes[k]), attr_is ("strides", 2, (gint64[]){ 2, 2 })));
    add_value (g, 12, "y", 4, yd);
    Pb *m = model (g, 7);
    GError *error = NULL;
    AfGraph *gr = import (m, &error);
    g_assert_no_error (error);
    AfTensor *y = af_graph_lookup (gr, "y");
    g_assert_cmpint (y->shape.d[2], ==, 3);
    /* total pad (3-1)*2 + 3 - 6 = 1: after for UPPER, before for LOWER */
    const gint64 *p = y->producer->attrs.pad;
    g_assert_cmpint (p[0], ==, k == 0 ? 0 : 1);
    g_assert_cmpint (p[2], ==, k == 0 ? 1 : 0);
    af_graph_free (gr);
    g_byte_array_unref (m);
  }
}

/* Shape / Gather / Unsqueeze / Concat / Mul on constants fold into the
 * reshape's shape; no shape-arithmetic node reaches the graph. */
static void
test_shape_folding (void)
{
  Pb *g = g_byte_array_new ();
  gint64 xd[] = { 1, 2, 3, 4 }, yd[] = { 1, 24 };
  gint64 zero = 0, minus1 = -1, two = 2;
  pb_msg (g, 5, tensor_i64 ("i0", 1, &zero));
  pb_msg (g, 5, tensor_i64 ("m1", 1, &minus1));
  pb_msg (g, 5, tensor_i64 ("two", 1, &two));
  add_value (g, 11, "x", 4, xd);
  add_node (g, "Relu", "r", L ("x"), L ("rx"), NULL);
  add_node (g, "Shape", "s", L ("rx"), L ("shape"), NULL);
  add_node (g, "Gather", "gth", L ("shape", "i0"), L ("n"), A (attr_i ("axis", 0)));
  add_node (g, "Mul", "mul", L ("m1", "two"), L ("m2"), NULL);
  add_node (g, "Div", "div", L ("m2", "two"), L ("m3"), NULL);
  add_node (g, "Concat", "cat", L ("n", "m3"), L ("target"), A (attr_i ("axis", 0)));
  add_node (g, "Reshape", "rs", L ("rx", "target"), L ("y"), NULL);
  add_value (g, 12, "y", 2, yd);
  Pb *m = model (g, 13);
  GError *error = NULL;
  AfGraph *gr = import (m, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gr->nodes->len, ==, 3); /* input, relu, reshape */
  AfTensor *y = af_graph_lookup (gr, "y");
  g_assert_cmpint (y->shape.rank, ==, 2);
  g_assert_cmpint (y->shape.d[1], ==, 24);
  af_graph_free (gr);
  g_byte_array_unref (m);
}

/* Gemm with transB=1 and alpha, LeakyRelu and a runtime Slice compute the
 * right values. */
static void
test_gemm_leaky_slice (void)
{
  Pb *g = g_byte_array_new ();
  gint64 xd[] = { 1, 3 }, wd[] = { 2, 3 }, bd[] = { 2 }, yd[] = { 1, 1 };
  float w[] = { 1, 0, -1, 0, 2, 0 }, b[] = { 0.5f, -8 };
  pb_msg (g, 5, tensor_f32 ("W", 2, wd, w));
  pb_msg (g, 5, tensor_f32 ("B", 1, bd, b));
  gint64 st = 1, en = 2, ax = 1;
  pb_msg (g, 5, tensor_i64 ("st", 1, &st));
  pb_msg (g, 5, tensor_i64 ("en", 1, &en));
  pb_msg (g, 5, tensor_i64 ("ax", 1, &ax));
  add_value (g, 11, "x", 2, xd);
  add_node (g, "Gemm", "gemm", L ("x", "W", "B"), L ("h"),
            A (attr_i ("transB", 1), attr_f ("alpha", 2.0f)));
  add_node (g, "LeakyRelu", "lr", L ("h"), L ("l"), A (attr_f ("alpha", 0.25f)));
  add_node (g, "Slice", "sl", L ("l", "st", "en", "ax"), L ("y"), NULL);
  add_value (g, 12, "y", 2, yd);
  Pb *m = model (g, 13);
  GError *error = NULL;
  AfGraph *gr = import (m, &error);
  g_assert_no_error (error);
  float x[] = { 1, 2, 3 };
  float *y = run1 (gr, x);
  /* h = 2*[1-3, 4] + [0.5, -8] = [-3.5, 0]; slice [1:2] of leaky -> 0 */
  g_assert_cmpfloat_with_epsilon (y[0], 0.0f, 1e-3);
  g_free (y);
  af_graph_free (gr);
  g_byte_array_unref (m);

  /* the other column: leaky(-3.5) = -0.875 */
  g = g_byte_array_new ();
  st = 0, en = 1;
  pb_msg (g, 5, tensor_f32 ("W", 2, wd, w));
  pb_msg (g, 5, tensor_f32 ("B", 1, bd, b));
  pb_msg (g, 5, tensor_i64 ("st", 1, &st));
  pb_msg (g, 5, tensor_i64 ("en", 1, &en));
  pb_msg (g, 5, tensor_i64 ("ax", 1, &ax));
  add_value (g, 11, "x", 2, xd);
  add_node (g, "Gemm", "gemm", L ("x", "W", "B"), L ("h"),
            A (attr_i ("transB", 1), attr_f ("alpha", 2.0f)));
  add_node (g, "LeakyRelu", "lr", L ("h"), L ("l"), A (attr_f ("alpha", 0.25f)));
  add_node (g, "Slice", "sl", L ("l", "st", "en", "ax"), L ("y"), NULL);
  add_value (g, 12, "y", 2, yd);
  m = model (g, 13);
  gr = import (m, &error);
  g_assert_no_error (error);
  y = run1 (gr, x);
  g_assert_cmpfloat_with_epsilon (y[0], -0.875f, 1e-3);
  g_free (y);
  af_graph_free (gr);
  g_byte_array_unref (m);
}

/* Unsupported ops and attribute values are refused with a message naming
 * file, node index, node name, op and attribute. */
static void
test_errors (void)
{
  Pb *g = g_byte_array_new ();
  gint64 xd[] = { 1, 1, 4, 4 }, wd[] = { 1, 1, 1, 1 };
  float w = 1;
  pb_msg (g, 5, tensor_f32 ("w", 4, wd, &w));
  add_value (g, 11, "x", 4, xd);
  add_node (g, "Relu", "Relu_0", L ("x"), L ("r"), NULL);
  add_node (g, "Conv", "Conv_1", L ("r", "w"), L ("y"), A (attr_s ("auto_pad", "FOO")));
  add_value (g, 12, "y", 4, xd);
  Pb *m = model (g, 11);
  GError *error = NULL;
  g_assert_null (import (m, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED);
  g_assert_cmpstr (error->message, ==,
                   "test.onnx: node 1 \"Conv_1\" (Conv): attribute \"auto_pad\" = \"FOO\" is not "
                   "supported");
  g_clear_error (&error);
  g_byte_array_unref (m);

  g = g_byte_array_new ();
  add_value (g, 11, "x", 4, xd);
  add_node (g, "Frobnicate", "F", L ("x"), L ("y"), NULL);
  add_value (g, 12, "y", 4, xd);
  m = model (g, 11);
  g_assert_null (import (m, &error));
  g_assert_nonnull (
      strstr (error->message, "node 0 \"F\" (Frobnicate): op \"Frobnicate\" is not supported"));
  g_clear_error (&error);
  g_byte_array_unref (m);

  /* a dangling input */
  g = g_byte_array_new ();
  add_value (g, 11, "x", 4, xd);
  add_node (g, "Relu", "R", L ("nope"), L ("y"), NULL);
  add_value (g, 12, "y", 4, xd);
  m = model (g, 11);
  g_assert_null (import (m, &error));
  g_assert_nonnull (strstr (error->message, "\"nope\" is not defined"));
  g_clear_error (&error);
  g_byte_array_unref (m);

  /* external data */
  g = g_byte_array_new ();
  Pb *t = tensor_f32 ("w", 4, wd, &w);
  pb_int (t, 14, 1);
  pb_msg (g, 5, t);
  add_value (g, 11, "x", 4, xd);
  add_node (g, "Conv", "C", L ("x", "w"), L ("y"), NULL);
  add_value (g, 12, "y", 4, xd);
  m = model (g, 11);
  g_assert_null (import (m, &error));
  g_assert_nonnull (strstr (error->message, "external data is not supported"));
  g_clear_error (&error);
  g_byte_array_unref (m);
}

/* Wrong wire types, absurd lengths, deep nesting and garbage are parse
 * errors, never crashes. */
static void
test_wire_errors (void)
{
  GError *error = NULL;
  /* graph field as a varint */
  guint8 wrong[] = { 7 << 3 | 0, 1 };
  g_assert_null (af_graph_import_onnx_from_data (wrong, sizeof wrong, "w.onnx", NULL, &error));
  g_assert_nonnull (strstr (error->message, "wire type"));
  g_clear_error (&error);
  /* a length of 2^62 */
  guint8 huge[] = { 7 << 3 | 2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40 };
  g_assert_null (af_graph_import_onnx_from_data (huge, sizeof huge, "h.onnx", NULL, &error));
  g_assert_nonnull (strstr (error->message, "runs past the end"));
  g_clear_error (&error);
  /* an overlong varint */
  guint8 vl[] = { 1 << 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
  g_assert_null (af_graph_import_onnx_from_data (vl, sizeof vl, "v.onnx", NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_PARSE);
  g_clear_error (&error);
  /* the reader itself refuses depth > AF_PB_MAX_DEPTH */
  Pb *deep = g_byte_array_new ();
  for (int i = 0; i < 20; i++) {
    Pb *outer = g_byte_array_new ();
    pb_msg (outer, 1, deep);
    deep = outer;
  }
  AfPbReader r;
  AfPbField f;
  af__pb_init (&r, deep->data, deep->len);
  int depth = 0;
  gboolean failed = FALSE;
  while (af__pb_next (&r, &f, &error) == 1) {
    AfPbReader sub;
    if (!af__pb_sub (&r, &f, &sub, &error)) {
      failed = TRUE;
      break;
    }
    r = sub;
    depth++;
  }
  g_assert_true (failed);
  g_assert_cmpint (depth, ==, AF_PB_MAX_DEPTH);
  g_assert_error (error, AF_ERROR, AF_ERROR_LIMIT);
  g_clear_error (&error);
  g_byte_array_unref (deep);
  /* garbage */
  GRand *rand = g_rand_new_with_seed (7);
  for (int k = 0; k < 2000; k++) {
    guint8 buf[64];
    gsize n = g_rand_int_range (rand, 0, sizeof buf);
    for (gsize i = 0; i < n; i++)
      buf[i] = g_rand_int (rand);
    AfGraph *gr = af_graph_import_onnx_from_data (buf, n, "garbage.onnx", NULL, &error);
    if (!gr) {
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, "garbage.onnx: "));
    }
    af_graph_free (gr);
    g_clear_error (&error);
  }
  g_rand_free (rand);
}

/* Imports @data with many truncations and byte flips: each either imports
 * or fails with an AF_ERROR naming the file. */
static void
mutate_all (const guint8 *data, gsize len, guint step, guint n_flips)
{
  GError *error = NULL;
  for (gsize cut = 0; cut < len; cut += step) {
    AfGraph *g = af_graph_import_onnx_from_data (data, cut, "cut.onnx", NULL, &error);
    if (!g) {
      g_assert_true (error && error->domain == AF_ERROR);
      g_assert_true (g_str_has_prefix (error->message, "cut.onnx: "));
    }
    af_graph_free (g);
    g_clear_error (&error);
  }
  guint8 *copy = g_memdup2 (data, len);
  GRand *rand = g_rand_new_with_seed (42);
  for (guint k = 0; k < n_flips; k++) {
    gsize at = g_rand_int_range (rand, 0, (gint32) len);
    guint8 old = copy[at];
    copy[at] ^= (guint8) g_rand_int_range (rand, 1, 256);
    AfGraph *g = af_graph_import_onnx_from_data (copy, len, "flip.onnx", NULL, &error);
    if (!g)
      g_assert_true (error && error->domain == AF_ERROR);
    af_graph_free (g);
    g_clear_error (&error);
    copy[at] = old;
  }
  g_rand_free (rand);
  g_free (copy);
}

/* A small valid model truncated at every offset and with flipped bytes is
 * rejected or imported cleanly. */
static void
test_mutations_synthetic (void)
{
  Pb *g = g_byte_array_new ();
  gint64 xd[] = { 1, 1, 4, 4 }, wd[] = { 2, 1, 3, 3 }, yd[] = { 1, 2, 4, 4 };
  float w[18] = { 1 };
  pb_msg (g, 5, tensor_f32 ("w", 4, wd, w));
  add_value (g, 11, "x", 4, xd);
  add_node (g, "Conv", "c", L ("x", "w"), L ("c0"),
            A (attr_is ("pads", 4, (gint64[]){ 1, 1, 1, 1 })));
  add_node (g, "Relu", "r", L ("c0"), L ("y"), NULL);
  add_value (g, 12, "y", 4, yd);
  Pb *m = model (g, 11);
  GError *error = NULL;
  AfGraph *gr = import (m, &error);
  g_assert_no_error (error);
  af_graph_free (gr);
  mutate_all (m->data, m->len, 1, 3000);
  g_byte_array_unref (m);
}

/* Every file of tests/import/corpus runs through the importer without a
 * crash (the fuzzer's regression corpus). */
static void
test_corpus (void)
{
  char *dir = g_build_filename (g_getenv ("AF_SOURCE_ROOT"), "tests", "import", "corpus", NULL);
  GDir *d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  guint n = 0;
  for (const char *name; (name = g_dir_read_name (d));) {
    char *path = g_build_filename (dir, name, NULL);
    GError *error = NULL;
    AfGraph *g = af_graph_import_onnx (path, NULL, &error);
    if (!g)
      g_assert_true (error && error->domain == AF_ERROR);
    af_graph_free (g);
    g_clear_error (&error);
    g_free (path);
    n++;
  }
  g_assert_cmpuint (n, >, 0);
  g_dir_close (d);
  g_free (dir);
}

/* ---------------------------------------------------------------- real models */

/* $AF_SHARED/@rel, or NULL after failing the test. */
static char *
shared_path (const char *rel)
{
  return af_test_shared_file (rel);
}

/* Imports, compiles and runs @rel on mid-grey input. */
static void
check_model (const char *rel)
{
  char *path = shared_path (rel);
  if (!path) /* failed: ../shared is missing a file */
    return;
  GError *error = NULL;
  AfGraph *g = af_graph_import_onnx (path, NULL, &error);
  g_assert_no_error (error);
  AfModel *m = af_compile (g, NULL, &error);
  g_assert_no_error (error);
  guint ni = af_model_n_inputs (m), no = af_model_n_outputs (m);
  float **in = g_new0 (float *, ni), **out = g_new0 (float *, no);
  for (guint i = 0; i < ni; i++) {
    AfTensorInfo info;
    af_model_input_info (m, i, &info);
    gint64 n = af_shape_numel (info.rank, info.shape);
    in[i] = g_new (float, n);
    for (gint64 k = 0; k < n; k++)
      in[i][k] = 0.5f * sinf ((float) k);
  }
  for (guint i = 0; i < no; i++) {
    AfTensorInfo info;
    af_model_output_info (m, i, &info);
    out[i] = g_new (float, af_shape_numel (info.rank, info.shape));
  }
  g_assert_true (af_model_run (m, (const float *const *) in, out, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < no; i++) {
    AfTensorInfo info;
    af_model_output_info (m, i, &info);
    g_assert_true (isfinite (out[i][0]));
  }
  for (guint i = 0; i < ni; i++)
    g_free (in[i]);
  for (guint i = 0; i < no; i++)
    g_free (out[i]);
  g_free (in);
  g_free (out);
  af_model_free (m);
  af_graph_free (g);
  g_free (path);
}

/* Each real model imports, compiles and runs to finite values (ONNX
 * Runtime's answers for them, element by element: oracle-ort-NAME, built
 * by tests/oracles/ort_models.py). */
static void
test_real_models (gconstpointer rel)
{
  check_model (rel);
}

static float *
read_csv (const char *path, int n)
{
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  float *v = g_new0 (float, n);
  char **lines = g_strsplit (text, "\n", -1);
  for (char **l = lines + 1; *l; l++) {
    int idx;
    float val;
    if (sscanf (*l, "%d,%f", &idx, &val) == 2 && idx >= 0 && idx < n)
      v[idx] = val;
  }
  g_strfreev (lines);
  g_free (text);
  return v;
}

static void
top5 (const float *v, int n, int *best)
{
  for (int k = 0; k < 5; k++) {
    best[k] = -1;
    for (int i = 0; i < n; i++) {
      gboolean used = FALSE;
      for (int j = 0; j < k; j++)
        used |= best[j] == i;
      if (!used && (best[k] < 0 || v[i] > v[best[k]]))
        best[k] = i;
    }
  }
}

/* SqueezeNet fp16 on the raw BGR fish gives tench 0.7378 +- 0.01 and the
 * reference top-5. */
static void
test_squeezenet_fish (void)
{
  char *path = shared_path ("models/squeezenet/SqueezeNet_fp16.onnx");
  char *png = shared_path ("media/fish.png");
  char *csv = shared_path ("models/squeezenet/expected/Squeezenet_fp16_fish_input_CPU.csv");
  if (!path || !png || !csv) /* failed: ../shared is missing a file */
    return;
  AfImportOptions opts = AF_IMPORT_OPTIONS_INIT;
  opts.image = TRUE;
  opts.order = AF_PIXEL_BGR;
  GError *error = NULL;
  AfGraph *g = af_graph_import_onnx (path, &opts, &error);
  g_assert_no_error (error);
  AfModel *m = af_compile (g, NULL, &error);
  g_assert_no_error (error);
  GdkPixbuf *pb = gdk_pixbuf_new_from_file (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (pb), ==, 224);
  g_assert_cmpint (gdk_pixbuf_get_height (pb), ==, 224);
  int stride = gdk_pixbuf_get_rowstride (pb), nc = gdk_pixbuf_get_n_channels (pb);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  float *x = g_new (float, 3 * 224 * 224), *y = g_new (float, 1000);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 224; i++)
      for (int j = 0; j < 224; j++)
        x[(c * 224 + i) * 224 + j] = px[i * stride + j * nc + (2 - c)]; /* BGR */
  const float *in[] = { x };
  float *out[] = { y };
  g_assert_true (af_model_run (m, in, out, &error));
  g_assert_no_error (error);
  float *want = read_csv (csv, 1000);
  g_assert_cmpfloat_with_epsilon (y[0], 0.7378f, 0.01);
  int a[5], b[5];
  top5 (y, 1000, a);
  top5 (want, 1000, b);
  for (int k = 0; k < 5; k++)
    g_assert_cmpint (a[k], ==, b[k]);
  g_free (want);
  g_free (x);
  g_free (y);
  g_object_unref (pb);
  af_model_free (m);
  af_graph_free (g);
  g_free (path);
  g_free (png);
  g_free (csv);
}

static AfModel *
mnist_model (void)
{
  char *path = shared_path ("models/mnist/mnist.onnx");
  if (!path)
    return NULL;
  AfImportOptions opts = AF_IMPORT_OPTIONS_INIT;
  opts.image = TRUE;
  GError *error = NULL;
  AfGraph *g = af_graph_import_onnx (path, &opts, &error);
  g_assert_no_error (error);
  AfModel *m = af_compile (g, NULL, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  g_free (path);
  return m;
}

/* mnist_28.png through MNIST gives digit 8 and the reference logits within
 * fp16 tolerance. */
static void
test_mnist_digit (void)
{
  char *png = shared_path ("media/mnist_28.png");
  char *csv = shared_path ("models/mnist/Mnist_8_input_CPU.csv");
  AfModel *m = png && csv ? mnist_model () : NULL;
  if (!m) /* failed: ../shared is missing a file */
    return;
  GError *error = NULL;
  GdkPixbuf *pb = gdk_pixbuf_new_from_file (png, &error);
  g_assert_no_error (error);
  int stride = gdk_pixbuf_get_rowstride (pb), nc = gdk_pixbuf_get_n_channels (pb);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  float x[28 * 28], y[10];
  for (int i = 0; i < 28; i++)
    for (int j = 0; j < 28; j++)
      x[i * 28 + j] = px[i * stride + j * nc];
  const float *in[] = { x };
  float *out[] = { y };
  g_assert_true (af_model_run (m, in, out, &error));
  g_assert_no_error (error);
  float *want = read_csv (csv, 10);
  int best = 0;
  for (int i = 0; i < 10; i++) {
    if (y[i] > y[best])
      best = i;
    g_assert_cmpfloat_with_epsilon (y[i], want[i], 0.01 * fabsf (want[i]) + 8);
  }
  g_assert_cmpint (best, ==, 8);
  g_free (want);
  g_object_unref (pb);
  af_model_free (m);
  g_free (png);
  g_free (csv);
}

/* MNIST top-1 over the 10,000 test digits is >= 99.3 %. */
static void
test_mnist_accuracy (void)
{
  char *ip = shared_path ("data/mnist/mnist-10k-images-idx3-ubyte");
  char *lp = shared_path ("data/mnist/mnist-10k-labels-idx1-ubyte");
  AfModel *m = ip && lp ? mnist_model () : NULL;
  if (!m) /* failed: ../shared is missing a file */
    return;
  guint8 *img = NULL, *lab = NULL;
  gsize il, ll;
  g_assert_true (g_file_get_contents (ip, (char **) &img, &il, NULL));
  g_assert_true (g_file_get_contents (lp, (char **) &lab, &ll, NULL));
  guint n = MIN ((il - 16) / 784, ll - 8), right = 0;
  GError *error = NULL;
  for (guint k = 0; k < n; k++) {
    float x[784], y[10];
    for (int i = 0; i < 784; i++)
      x[i] = img[16 + k * 784 + i];
    const float *in[] = { x };
    float *out[] = { y };
    g_assert_true (af_model_run (m, in, out, &error));
    int best = 0;
    for (int i = 1; i < 10; i++)
      if (y[i] > y[best])
        best = i;
    right += best == lab[8 + k];
  }
  g_test_message ("mnist: %u / %u", right, n);
  g_assert_cmpuint (n, ==, 10000);
  g_assert_cmpfloat ((double) right / n, >=, 0.993);
  g_free (img);
  g_free (lab);
  af_model_free (m);
  g_free (ip);
  g_free (lp);
}

/* Runs @m on the deterministic pattern input; returns (transfer full)
 * output @index. */
static float *
run_pattern (AfModel *m, guint index, gint64 *numel)
{
  AfTensorInfo info;
  af_model_input_info (m, 0, &info);
  gint64 n = af_shape_numel (info.rank, info.shape);
  float *x = g_new (float, n);
  for (gint64 k = 0; k < n; k++)
    x[k] = 0.8f * sinf (0.37f * (float) k);
  guint no = af_model_n_outputs (m);
  float **out = g_new0 (float *, no);
  for (guint i = 0; i < no; i++) {
    af_model_output_info (m, i, &info);
    out[i] = g_new (float, af_shape_numel (info.rank, info.shape));
    if (i == index)
      *numel = af_shape_numel (info.rank, info.shape);
  }
  GError *error = NULL;
  const float *in[] = { x };
  g_assert_true (af_model_run (m, in, out, &error));
  g_assert_no_error (error);
  float *keep = out[index];
  for (guint i = 0; i < no; i++)
    if (i != index)
      g_free (out[i]);
  g_free (out);
  g_free (x);
  return keep;
}

static AfModel *
compile_path (const char *path)
{
  GError *error = NULL;
  AfGraph *g = af_graph_import_onnx (path, NULL, &error);
  g_assert_no_error (error);
  AfModel *m = af_compile (g, NULL, &error);
  g_assert_no_error (error);
  af_graph_free (g);
  return m;
}

/* UltraFace RFB-320 full (BatchNormalization folded, shape arithmetic,
 * runtime Slice) gives the same scores as its simplified twin. */
static void
test_rfb_full_vs_simplified (void)
{
  char *full = shared_path ("models/ultraface/version-RFB-320.onnx");
  char *simp = shared_path ("models/ultraface/version-RFB-320_simplified.onnx");
  if (!full || !simp) /* failed: ../shared is missing a file */
    return;
  AfModel *a = compile_path (full), *b = compile_path (simp);
  gint64 na = 0, nb = 0;
  float *sa = run_pattern (a, 0, &na), *sb = run_pattern (b, 0, &nb);
  g_assert_cmpint (na, ==, 4420 * 2);
  g_assert_cmpint (na, ==, nb);
  double worst = 0;
  for (gint64 i = 0; i < na; i++)
    worst = MAX (worst, fabs (sa[i] - sb[i]));
  g_test_message ("rfb full vs simplified: max |diff| %g", worst);
  g_assert_cmpfloat (worst, <, 0.02);
  g_free (sa);
  g_free (sb);
  af_model_free (a);
  af_model_free (b);
  g_free (full);
  g_free (simp);
}

/* The real MNIST file truncated at many offsets and with flipped bytes is
 * rejected or imported cleanly. */
static void
test_mutations_mnist (void)
{
  char *path = shared_path ("models/mnist/mnist.onnx");
  if (!path) /* failed: ../shared is missing a file */
    return;
  char *data;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  mutate_all ((const guint8 *) data, len, len / 300 + 1, 1500);
  g_free (data);
  g_free (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/import/conv-bn-fold", test_conv_bn_fold);
  g_test_add_func ("/import/auto-pad", test_auto_pad);
  g_test_add_func ("/import/shape-folding", test_shape_folding);
  g_test_add_func ("/import/gemm-leaky-slice", test_gemm_leaky_slice);
  g_test_add_func ("/import/errors", test_errors);
  g_test_add_func ("/import/wire-errors", test_wire_errors);
  g_test_add_func ("/import/mutations-synthetic", test_mutations_synthetic);
  g_test_add_func ("/import/corpus", test_corpus);
  static const char *models[] = {
    "models/squeezenet/SqueezeNet_fp16.onnx",
    "models/mnist/mnist.onnx",
    "bench/models/resnet18.onnx",
    "bench/models/mobilenet_v2.onnx",
    "bench/models/squeezenet1_1.onnx",
    "models/ultraface/version-RFB-320_simplified.onnx",
    "models/ultraface/version-slim-320_simplified.onnx",
    "models/ultraface/version-RFB-320.onnx",
    "models/yunet/yunet_n_320_320.onnx",
  };
  for (guint i = 0; i < G_N_ELEMENTS (models); i++) {
    char *name = g_strdup_printf ("/import/real/%s", strrchr (models[i], '/') + 1);
    g_test_add_data_func (name, models[i], test_real_models);
    g_free (name);
  }
  g_test_add_func ("/import/squeezenet-fish", test_squeezenet_fish);
  g_test_add_func ("/import/mnist-digit", test_mnist_digit);
  g_test_add_func ("/import/mnist-accuracy", test_mnist_accuracy);
  g_test_add_func ("/import/mutations-mnist", test_mutations_mnist);
  g_test_add_func ("/import/rfb-full-vs-simplified", test_rfb_full_vs_simplified);
  return g_test_run ();
}
