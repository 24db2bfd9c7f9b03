/* test-mil-interp.c — the independent MIL reader and interpreter (mil-*.c):
 * it parses Apple's real compiler output and the facts' samples, runs
 * hand-written programs in both dialects against answers computed here
 * (exactly representable values, or the compiler's own _Float16 rounding),
 * rejects bad input with a precise line:column, and survives random
 * mutations of the samples. */
#include "mil.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *samples_dir;

/* The test's own fp16 rounding (the compiler's _Float16), apart from the
 * interpreter's. */
static double
h16 (double x)
{
  return (double) (_Float16) (float) x;
}

/* ---- a tiny weight.bin writer from the facts (§1.3), for the tests ---- */

typedef struct {
  guint32 code;
  const void *data;
  gsize bytes;
} TestBlob;

/* Writes blobs at 64-aligned records into DIR/REL; returns each record's
 * offset in @offsets. */
static void
write_weights (const char *dir, const char *rel, const TestBlob *b, int n, guint64 *offsets)
{
  GByteArray *f = g_byte_array_new ();
  guint8 header[64] = { 0 };
  header[0] = (guint8) n;
  header[4] = 2;
  g_byte_array_append (f, header, 64);
  for (int i = 0; i < n; i++) {
    while (f->len % 64)
      g_byte_array_append (f, (guint8[1]){ 0 }, 1);
    guint8 rec[64] = { 0xef, 0xbe, 0xad, 0xde };
    guint64 off = f->len, data = off + 64, size = b[i].bytes;
    memcpy (rec + 4, &b[i].code, 4);
    memcpy (rec + 8, &size, 8);
    memcpy (rec + 16, &data, 8);
    g_byte_array_append (f, rec, 64);
    g_byte_array_append (f, b[i].data, (guint) b[i].bytes);
    offsets[i] = off;
  }
  char *path = g_build_filename (dir, rel, NULL);
  char *parent = g_path_get_dirname (path);
  g_mkdir_with_parents (parent, 0755);
  g_assert_true (g_file_set_contents (path, (const char *) f->data, f->len, NULL));
  g_free (parent);
  g_free (path);
  g_byte_array_unref (f);
}

static char *
read_sample (const char *name, gsize *len)
{
  char *path = g_build_filename (samples_dir, name, NULL), *text;
  g_assert_true (g_file_get_contents (path, &text, len, NULL));
  g_free (path);
  return text;
}

static MilProgram *
parse_ok (const char *text, const char *dir)
{
  GError *error = NULL;
  MilProgram *p = mil_parse (text, strlen (text), "test.mil", dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p);
  return p;
}

/* Parse failure whose message is exactly @expect. */
static void
parse_fails (const char *text, const char *dir, const char *expect)
{
  GError *error = NULL;
  MilProgram *p = mil_parse (text, strlen (text), "test.mil", dir, &error);
  g_assert_null (p);
  g_assert_nonnull (error);
  g_assert_cmpstr (error->message, ==, expect);
  g_error_free (error);
}

static MilTensor *
tensor (MilDtype d, int rank, const gint64 *shape, const double *v)
{
  MilTensor *t = mil_tensor_new (d, rank, shape);
  memcpy (t->v, v, t->n * sizeof (double));
  return t;
}

/* Runs main of @p on one input @name = @x (taken) and returns output @out. */
static MilTensor *
run1 (MilProgram *p, const char *name, MilTensor *x, const char *out, GError **error)
{
  GHashTable *in =
      g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) mil_tensor_free);
  g_hash_table_insert (in, (gpointer) name, x);
  GHashTable *res = mil_run (p, "main", in, error);
  g_hash_table_unref (in);
  if (!res)
    return NULL;
  MilTensor *t = NULL;
  gpointer key = NULL;
  g_hash_table_steal_extended (res, out, &key, (gpointer *) &t);
  g_free (key);
  g_assert_nonnull (t);
  g_hash_table_unref (res);
  return t;
}

static MilTensor *
run1_ok (MilProgram *p, const char *name, MilTensor *x, const char *out)
{
  GError *error = NULL;
  MilTensor *t = run1 (p, name, x, out, &error);
  g_assert_no_error (error);
  return t;
}

/* The interpreter's fp16 conversions against the compiler's _Float16: all
 * 65536 halves round trip, and fp32 values at and around every rounding
 * boundary (midpoints between neighbouring halves: ties to even), in the
 * subnormal range and past the largest finite half round the same way. */
static void
test_fp16_rounding (void)
{
  for (guint32 h = 0; h < 65536; h++) {
    _Float16 f;
    memcpy (&f, &h, 2);
    float v = (float) f;
    if (isnan (v)) {
      g_assert_true (isnan (mil_half_to_float ((guint16) h)));
      continue;
    }
    g_assert_cmpfloat (mil_half_to_float ((guint16) h), ==, v);
    g_assert_cmpuint (mil_float_to_half (v), ==, h);
    /* the midpoint to the next half up (in magnitude), and its neighbours */
    guint32 up = h + 1;
    if ((up & 0x7fff) > 0x7c00)
      continue;
    _Float16 g;
    memcpy (&g, &up, 2);
    float mid = (float) (((double) f + (double) (float) g) / 2);
    float cases[3] = { mid, nextafterf (mid, 0), nextafterf (mid, INFINITY * mid) };
    for (int k = 0; k < 3; k++) {
      _Float16 r = (_Float16) cases[k];
      guint16 rb;
      memcpy (&rb, &r, 2);
      if (mil_float_to_half (cases[k]) != rb)
        g_error ("%a -> 0x%04x, _Float16 gives 0x%04x", cases[k], mil_float_to_half (cases[k]), rb);
    }
  }
  /* the overflow boundary: 65520 is the midpoint to 2^16 and ties to infinity */
  g_assert_cmpuint (mil_float_to_half (nextafterf (65520.0f, 0)), ==, 0x7bff);
  g_assert_cmpuint (mil_float_to_half (65520.0f), ==, 0x7c00);
  g_assert_cmpuint (mil_float_to_half (-65520.0f), ==, 0xfc00);
}

/* ---- the samples ---- */

/* Apple's real coremlc output parses (program 1.0, ios16, buildInfo) and
 * its one mul runs with one fp16 rounding: (1 + 2^-10)^2 = 1 + 2^-9 +
 * 2^-20 rounds to 1 + 2^-9. */
static void
test_sample_add_model (void)
{
  gsize len;
  char *text = read_sample ("add_model.mil", &len);
  GError *error = NULL;
  MilProgram *p = mil_parse (text, len, "add_model.mil", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mil_program_version (p), ==, "1.0");
  g_assert_cmpstr (mil_program_opset (p, "main"), ==, "ios16");
  g_assert_cmpstr (mil_program_build_info (p, "coremlc-version"), ==, "3402.4.1");
  g_assert_cmpstr (mil_program_build_info (p, "coremltools-source-dialect"), ==, "TorchScript");
  g_assert_cmpuint (mil_program_n_ops (p, "main"), ==, 1);
  gint64 shape[2] = { 1, 10 };
  GHashTable *in =
      g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) mil_tensor_free);
  MilTensor *x = mil_tensor_new (MIL_FP16, 2, shape), *y = mil_tensor_new (MIL_FP16, 2, shape);
  for (int i = 0; i < 10; i++) {
    x->v[i] = 1 + ldexp (1, -10);
    y->v[i] = i == 0 ? 1 + ldexp (1, -10) : i - 4.5;
  }
  g_hash_table_insert (in, "x", x);
  g_hash_table_insert (in, "y", y);
  GHashTable *out = mil_run (p, "main", in, &error);
  g_assert_no_error (error);
  MilTensor *r = g_hash_table_lookup (out, "var_3");
  g_assert_cmpfloat (r->v[0], ==, 1 + ldexp (1, -9));
  for (int i = 1; i < 10; i++)
    g_assert_cmpfloat (r->v[i], ==, h16 ((1 + ldexp (1, -10)) * (i - 4.5)));
  g_hash_table_unref (out);
  g_hash_table_unref (in);
  mil_program_free (p);
  g_free (text);
}

/* The facts' (b) lines in both dialects read the known-answer weight.bin
 * (fp32[500] blobs at records 64 and 2176) through BLOBFILE and add them. */
static void
test_sample_blobfile (void)
{
  float a[500], b[500];
  for (int i = 0; i < 500; i++) {
    a[i] = (float) i * 0.25f;
    b[i] = -1000.0f + (float) i;
  }
  char *dir = g_dir_make_tmp ("mil-XXXXXX", NULL);
  const TestBlob blobs[2] = { { 2, a, sizeof a }, { 2, b, sizeof b } };
  guint64 off[2];
  write_weights (dir, "weights/weight.bin", blobs, 2, off);
  g_assert_cmpuint (off[0], ==, 64);
  g_assert_cmpuint (off[1], ==, 2176);
  const char *names[2] = { "blob_ios16.mil", "blob_ios18.mil" };
  for (int k = 0; k < 2; k++) {
    gsize len;
    char *text = read_sample (names[k], &len);
    GError *error = NULL;
    MilProgram *p = mil_parse (text, len, names[k], dir, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (mil_program_version (p), ==, k ? "1.3" : "1.0");
    gint64 shape[1] = { 500 };
    MilTensor *x = mil_tensor_new (MIL_FP32, 1, shape);
    for (int i = 0; i < 500; i++)
      x->v[i] = 0.5 * i;
    MilTensor *r = run1_ok (p, "x", x, "add_1");
    for (int i = 0; i < 500; i++)
      g_assert_cmpfloat (r->v[i], ==, 0.5 * i + a[i] + b[i]);
    mil_tensor_free (r);
    mil_program_free (p);
    g_free (text);
  }
  char *w = g_build_filename (dir, "weights", "weight.bin", NULL), *wd = g_path_get_dirname (w);
  g_unlink (w);
  g_rmdir (wd);
  g_rmdir (dir);
  g_free (w);
  g_free (wd);
  g_free (dir);
}

/* (c): hex-float fp16 scalars 0x1p-24 (the smallest subnormal) and 0x0p+0. */
static void
test_sample_hexfloat (void)
{
  gsize len;
  char *text = read_sample ("hexfloat_ios16.mil", &len);
  GError *error = NULL;
  MilProgram *p = mil_parse (text, len, "hexfloat_ios16.mil", NULL, &error);
  g_assert_no_error (error);
  gint64 shape[2] = { 1, 4 };
  const double xv[4] = { 0, ldexp (1, -24), 1, -ldexp (1, -24) };
  MilTensor *r = run1_ok (p, "x", tensor (MIL_FP16, 2, shape, xv), "z");
  g_assert_cmpfloat (r->v[0], ==, ldexp (1, -24));
  g_assert_cmpfloat (r->v[1], ==, ldexp (1, -23));
  g_assert_cmpfloat (r->v[2], ==, 1); /* 1 + 2^-24 rounds back to 1 */
  g_assert_cmpfloat (r->v[3], ==, 0);
  mil_tensor_free (r);
  mil_program_free (p);
  g_free (text);
}

/* (d): the program(1.3) form with @model_path/weights.bin. */
static void
test_sample_direct (void)
{
  guint16 h[512];
  for (int i = 0; i < 512; i++)
    h[i] = (guint16) (0x3c00 + i); /* 1 + i * 2^-10 */
  char *dir = g_dir_make_tmp ("mil-XXXXXX", NULL);
  const TestBlob blob = { 1, h, sizeof h };
  guint64 off;
  write_weights (dir, "weights.bin", &blob, 1, &off);
  gsize len;
  char *text = read_sample ("direct_ios18.mil", &len);
  GError *error = NULL;
  MilProgram *p = mil_parse (text, len, "direct_ios18.mil", dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mil_program_opset (p, "main"), ==, "ios18");
  gint64 shape[2] = { 1, 512 };
  MilTensor *x = mil_tensor_new (MIL_FP16, 2, shape);
  for (int i = 0; i < 512; i++)
    x->v[i] = ldexp (1, -11); /* half an ulp of 1: ties to even */
  MilTensor *r = run1_ok (p, "t1", x, "t2");
  for (int i = 0; i < 512; i++)
    g_assert_cmpfloat (r->v[i], ==, h16 (1 + i * ldexp (1, -10) + ldexp (1, -11)));
  g_assert_cmpfloat (r->v[0], ==, 1);
  g_assert_cmpfloat (r->v[1], ==, 1 + ldexp (1, -9));
  mil_tensor_free (r);
  mil_program_free (p);
  g_free (text);
  char *w = g_build_filename (dir, "weights.bin", NULL);
  g_unlink (w);
  g_rmdir (dir);
  g_free (w);
  g_free (dir);
}

/* ---- hand-written programs in both dialects ---- */

/* Text pieces built per dialect: program(1.3)/ios18 with bare scalars or
 * program(1.0)/ios16 with tensor<T, []> scalars. */
typedef struct {
  gboolean v13;
  GPtrArray *keep; /* strings to free */
} Dialect;

static const char *
keep (Dialect *d, char *s)
{
  g_ptr_array_add (d->keep, s);
  return s;
}

/* A scalar literal: T(V) or tensor<T, []>(V). */
static const char *
sc (Dialect *d, const char *type, const char *v)
{
  return keep (d, d->v13 ? g_strdup_printf ("%s(%s)", type, v)
                         : g_strdup_printf ("tensor<%s, []>(%s)", type, v));
}

/* A string scalar literal. */
static const char *
str (Dialect *d, const char *v)
{
  char *q = g_strdup_printf ("\"%s\"", v);
  const char *r = sc (d, "string", q);
  g_free (q);
  return r;
}

/* A vector literal tensor<T, [n]>([v, ...]) of @n doubles printed with %a
 * (hex floats for float types, integers otherwise). */
static const char *
vec (Dialect *d, const char *type, int rank, const gint64 *shape, const double *v)
{
  GString *s = g_string_new (NULL);
  gsize n = 1;
  g_string_append_printf (s, "tensor<%s, [", type);
  for (int i = 0; i < rank; i++) {
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
    n *= (gsize) shape[i];
  }
  g_string_append (s, "]>([");
  gboolean fl = type[0] == 'f';
  for (gsize i = 0; i < n; i++) {
    if (fl)
      g_string_append_printf (s, "%s%a", i ? ", " : "", v[i]);
    else
      g_string_append_printf (s, "%s%.0f", i ? ", " : "", v[i]);
  }
  g_string_append (s, "])");
  return keep (d, g_string_free (s, FALSE));
}

static const char *
ints (Dialect *d, int n, const gint64 *v)
{
  double dv[16];
  gint64 shape[1] = { n };
  for (int i = 0; i < n; i++)
    dv[i] = (double) v[i];
  return vec (d, "int32", 1, shape, dv);
}

/* The whole program around @params and @body returning @outs. */
static char *
program (Dialect *d, const char *params, const char *body, const char *outs)
{
  return g_strdup_printf (
      "%s\n[buildInfo = dict<%s, %s>({{\"coremlc-version\", \"3520.5.1\"}})]\n{\n"
      "    func main<%s>(%s) {\n%s    } -> (%s);\n}\n",
      d->v13 ? "program(1.3)" : "program(1.0)", d->v13 ? "string" : "tensor<string, []>",
      d->v13 ? "string" : "tensor<string, []>", d->v13 ? "ios18" : "ios16", params, body, outs);
}

static Dialect *
dialect_new (gboolean v13)
{
  Dialect *d = g_new0 (Dialect, 1);
  d->v13 = v13;
  d->keep = g_ptr_array_new_with_free_func (g_free);
  return d;
}

static void
dialect_free (Dialect *d)
{
  g_ptr_array_unref (d->keep);
  g_free (d);
}

/* Exactly representable test values: multiples of @step in [-k, k] * step. */
static void
fill (double *v, gsize n, int mul, int mod, double step)
{
  for (gsize i = 0; i < n; i++)
    v[i] = ((double) ((i * (gsize) mul) % (gsize) mod) - mod / 2) * step;
}

/* conv with groups 2, custom pads [top 1, bottom 0, left 2, right 1],
 * strides [2, 1], dilations [1, 2] and a bias, against a direct sum in
 * double (every value a small multiple of 1/8: exact in fp16). */
static void
test_conv (gconstpointer data)
{
  Dialect *d = dialect_new (GPOINTER_TO_INT (data));
  enum { N = 1, C = 4, H = 4, W = 5, O = 4, G = 2, KH = 3, KW = 2, OH = 2, OW = 6 };
  gint64 xs[4] = { N, C, H, W }, ws[4] = { O, C / G, KH, KW }, bs[1] = { O };
  double x[N * C * H * W], w[O * (C / G) * KH * KW], b[O] = { 0.5, -1, 2, 0.25 };
  fill (x, G_N_ELEMENTS (x), 7, 9, 0.5);
  fill (w, G_N_ELEMENTS (w), 5, 7, 0.25);
  const gint64 pad[4] = { 1, 0, 2, 1 }, st[2] = { 2, 1 }, dil[2] = { 1, 2 }, groups = 2;
  char *body = g_strdup_printf (
      "        tensor<fp16, [1, 4, 2, 6]> y = conv(x = x, weight = %s, bias = %s, strides = %s, "
      "pad_type = %s, pad = %s, dilations = %s, groups = %s)[name = %s];\n",
      vec (d, "fp16", 4, ws, w), vec (d, "fp16", 1, bs, b), ints (d, 2, st), str (d, "custom"),
      ints (d, 4, pad), ints (d, 2, dil), sc (d, "int32", "2"), str (d, "y"));
  char *text = program (d, "tensor<fp16, [1, 4, 4, 5]> x", body, "y");
  MilProgram *p = parse_ok (text, NULL);
  MilTensor *y = run1_ok (p, "x", tensor (MIL_FP16, 4, xs, x), "y");
  for (int o = 0; o < O; o++)
    for (int oy = 0; oy < OH; oy++)
      for (int ox = 0; ox < OW; ox++) {
        double acc = b[o];
        int g = o / (O / G);
        for (int ci = 0; ci < C / G; ci++)
          for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) {
              int iy = oy * (int) st[0] - (int) pad[0] + ky * (int) dil[0];
              int ix = ox * (int) st[1] - (int) pad[2] + kx * (int) dil[1];
              if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                acc += x[((g * (C / G) + ci) * H + iy) * W + ix] *
                       w[((o * (C / G) + ci) * KH + ky) * KW + kx];
            }
        g_assert_cmpfloat (y->v[(o * OH + oy) * OW + ox], ==, acc);
      }
  (void) groups;
  mil_tensor_free (y);
  mil_program_free (p);
  g_free (text);
  g_free (body);
  dialect_free (d);
}

/* conv with pad_type "same", stride 2 on a 5x5 input: total pad 2 per
 * axis (coremltools aggregated_pad), one before and one after; 3x3 out. A
 * ones kernel makes each output the sum of its clipped 3x3 window. Then a
 * 2x2 kernel at stride 1 (total pad 1): "same" puts the odd pixel after
 * (window rows i..i+1), "same_lower" before (i-1..i). */
static void
test_conv_same (gconstpointer data)
{
  Dialect *d = dialect_new (GPOINTER_TO_INT (data));
  gint64 xs[4] = { 1, 1, 5, 5 }, ws[4] = { 1, 1, 3, 3 }, w2s[4] = { 1, 1, 2, 2 };
  double x[25], w[9];
  for (int i = 0; i < 25; i++)
    x[i] = i;
  for (int i = 0; i < 9; i++)
    w[i] = 1;
  char *body = g_strdup_printf (
      "        tensor<fp16, [1, 1, 3, 3]> y = conv(x = x, weight = %s, strides = %s, pad_type = "
      "%s)[name = %s];\n"
      "        tensor<fp16, [1, 1, 5, 5]> a = conv(x = x, weight = %s, pad_type = %s)[name = %s];\n"
      "        tensor<fp16, [1, 1, 5, 5]> b = conv(x = x, weight = %s, pad_type = %s)[name = "
      "%s];\n",
      vec (d, "fp16", 4, ws, w), ints (d, 2, (gint64[]){ 2, 2 }), str (d, "same"), str (d, "y"),
      vec (d, "fp16", 4, w2s, w), str (d, "same"), str (d, "a"), vec (d, "fp16", 4, w2s, w),
      str (d, "same_lower"), str (d, "b"));
  char *text = program (d, "tensor<fp16, [1, 1, 5, 5]> x", body, "y, a, b");
  MilProgram *p = parse_ok (text, NULL);
  GHashTable *in =
      g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) mil_tensor_free);
  g_hash_table_insert (in, "x", tensor (MIL_FP16, 4, xs, x));
  GError *error = NULL;
  GHashTable *out = mil_run (p, "main", in, &error);
  g_assert_no_error (error);
  const MilTensor *y = g_hash_table_lookup (out, "y"), *a = g_hash_table_lookup (out, "a"),
                  *b = g_hash_table_lookup (out, "b");
  /* windows centred on rows/cols 0, 2, 4 */
  const double expect[9] = { 0 + 1 + 5 + 6,
                             1 + 2 + 3 + 6 + 7 + 8,
                             3 + 4 + 8 + 9,
                             5 + 6 + 10 + 11 + 15 + 16,
                             6 + 7 + 8 + 11 + 12 + 13 + 16 + 17 + 18,
                             8 + 9 + 13 + 14 + 18 + 19,
                             15 + 16 + 20 + 21,
                             16 + 17 + 18 + 21 + 22 + 23,
                             18 + 19 + 23 + 24 };
  for (int i = 0; i < 9; i++)
    g_assert_cmpfloat (y->v[i], ==, expect[i]);
  /* corners worked by hand: "same" (0,0) = 0+1+5+6, (4,4) = 24 alone;
   * "same_lower" (0,0) = 0 alone, (4,4) = 18+19+23+24 */
  g_assert_cmpfloat (a->v[0], ==, 12);
  g_assert_cmpfloat (a->v[24], ==, 24);
  g_assert_cmpfloat (a->v[6], ==, 6 + 7 + 11 + 12);
  g_assert_cmpfloat (b->v[0], ==, 0);
  g_assert_cmpfloat (b->v[24], ==, 84);
  g_assert_cmpfloat (b->v[6], ==, 0 + 1 + 5 + 6);
  g_hash_table_unref (out);
  g_hash_table_unref (in);
  mil_program_free (p);
  g_free (text);
  g_free (body);
  dialect_free (d);
}

/* linear: y = x W^T + b, worked by hand. */
static void
test_linear (gconstpointer data)
{
  Dialect *d = dialect_new (GPOINTER_TO_INT (data));
  gint64 xs[2] = { 2, 3 }, ws[2] = { 2, 3 }, bs[1] = { 2 };
  const double x[6] = { 1, 2, 3, -1, 0.5, 4 }, w[6] = { 1, 0, -1, 0.5, 0.5, 0.5 },
               b[2] = { 0.25, -1 };
  char *body = g_strdup_printf (
      "        tensor<fp16, [2, 2]> y = linear(x = x, weight = %s, bias = %s)[name = %s];\n",
      vec (d, "fp16", 2, ws, w), vec (d, "fp16", 1, bs, b), str (d, "y"));
  char *text = program (d, "tensor<fp16, [2, 3]> x", body, "y");
  MilProgram *p = parse_ok (text, NULL);
  MilTensor *y = run1_ok (p, "x", tensor (MIL_FP16, 2, xs, x), "y");
  const double expect[4] = { -1.75, 2, -4.75, 0.75 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (y->v[i], ==, expect[i]);
  mil_tensor_free (y);
  mil_program_free (p);
  g_free (text);
  g_free (body);
  dialect_free (d);
}

/* max_pool / avg_pool over one row [3 1 4 1 5 9], kernel [1, 3], strides
 * [1, 2], pad left 1 right 1, ceil_mode: 4 windows (floor mode gives 3)
 * starting at -1, 1, 3, 5; the last holds 9 and the right pad. Averages
 * worked by hand: excluding padding (3+1)/2, 2, 5, 9; including it 4/3, 2,
 * 5, 9/2 (the window clipped to the padded input counts 2 cells). */
static void
test_pool_ceil (gconstpointer data)
{
  Dialect *d = dialect_new (GPOINTER_TO_INT (data));
  gint64 xs[4] = { 1, 1, 1, 6 };
  const double x[6] = { 3, 1, 4, 1, 5, 9 };
  const char *common = keep (
      d, g_strdup_printf (
             "kernel_sizes = %s, strides = %s, pad_type = %s, pad = %s, ceil_mode = %s",
             ints (d, 2, (gint64[]){ 1, 3 }), ints (d, 2, (gint64[]){ 1, 2 }), str (d, "custom"),
             ints (d, 4, (gint64[]){ 0, 0, 1, 1 }), sc (d, "bool", "true")));
  char *body = g_strdup_printf (
      "        tensor<fp16, [1, 1, 1, 4]> m = max_pool(x = x, %s)[name = %s];\n"
      "        tensor<fp16, [1, 1, 1, 4]> a = avg_pool(x = x, %s, exclude_padding_from_average = "
      "%s)[name = %s];\n"
      "        tensor<fp16, [1, 1, 1, 4]> i = avg_pool(x = x, %s, exclude_padding_from_average = "
      "%s)[name = %s];\n"
      "        tensor<fp16, [1, 1, 1, 3]> f = max_pool(x = x, kernel_sizes = %s, strides = %s, "
      "pad_type = %s, pad = %s)[name = %s];\n",
      common, str (d, "m"), common, sc (d, "bool", "true"), str (d, "a"), common,
      sc (d, "bool", "false"), str (d, "i"), ints (d, 2, (gint64[]){ 1, 3 }),
      ints (d, 2, (gint64[]){ 1, 2 }), str (d, "custom"), ints (d, 4, (gint64[]){ 0, 0, 1, 1 }),
      str (d, "f"));
  char *text = program (d, "tensor<fp16, [1, 1, 1, 6]> x", body, "m, a, i, f");
  MilProgram *p = parse_ok (text, NULL);
  GHashTable *in =
      g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) mil_tensor_free);
  g_hash_table_insert (in, "x", tensor (MIL_FP16, 4, xs, x));
  GError *error = NULL;
  GHashTable *out = mil_run (p, "main", in, &error);
  g_assert_no_error (error);
  const double em[4] = { 3, 4, 9, 9 }, ea[4] = { 2, 2, 5, 9 },
               ei[4] = { h16 (4.0f / 3.0f), 2, 5, 4.5 }, ef[3] = { 3, 4, 9 };
  MilTensor *m = g_hash_table_lookup (out, "m"), *a = g_hash_table_lookup (out, "a"),
            *i = g_hash_table_lookup (out, "i"), *f = g_hash_table_lookup (out, "f");
  for (int k = 0; k < 4; k++) {
    g_assert_cmpfloat (m->v[k], ==, em[k]);
    g_assert_cmpfloat (a->v[k], ==, ea[k]);
    g_assert_cmpfloat (i->v[k], ==, ei[k]);
  }
  for (int k = 0; k < 3; k++)
    g_assert_cmpfloat (f->v[k], ==, ef[k]);
  g_hash_table_unref (out);
  g_hash_table_unref (in);
  mil_program_free (p);
  g_free (text);
  g_free (body);
  dialect_free (d);
}

/* softmax over axis 1 and axis 0 of a 2x3 input, against exp in double
 * rounded once to fp16 (the interpreter's fp32 may differ by at most one
 * fp16 ulp from that; these values do not). */
static void
test_softmax (gconstpointer data)
{
  Dialect *d = dialect_new (GPOINTER_TO_INT (data));
  gint64 xs[2] = { 2, 3 };
  const double x[6] = { 1, 2, 3, -0.5, 0, 8 };
  char *body =
      g_strdup_printf ("        tensor<fp16, [2, 3]> s1 = softmax(x = x, axis = %s)[name = %s];\n"
                       "        tensor<fp16, [2, 3]> s0 = softmax(x = x, axis = %s)[name = %s];\n",
                       sc (d, "int32", "-1"), str (d, "s1"), sc (d, "int32", "0"), str (d, "s0"));
  char *text = program (d, "tensor<fp16, [2, 3]> x", body, "s1, s0");
  MilProgram *p = parse_ok (text, NULL);
  GHashTable *in =
      g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) mil_tensor_free);
  g_hash_table_insert (in, "x", tensor (MIL_FP16, 2, xs, x));
  GError *error = NULL;
  GHashTable *out = mil_run (p, "main", in, &error);
  g_assert_no_error (error);
  MilTensor *s1 = g_hash_table_lookup (out, "s1"), *s0 = g_hash_table_lookup (out, "s0");
  for (int r = 0; r < 2; r++) {
    double sum = 0;
    for (int k = 0; k < 3; k++)
      sum += exp (x[r * 3 + k]);
    for (int k = 0; k < 3; k++)
      g_assert_cmpfloat (s1->v[r * 3 + k], ==, h16 (exp (x[r * 3 + k]) / sum));
  }
  for (int k = 0; k < 3; k++) {
    double sum = exp (x[k]) + exp (x[3 + k]);
    for (int r = 0; r < 2; r++)
      g_assert_cmpfloat (s0->v[r * 3 + k], ==, h16 (exp (x[r * 3 + k]) / sum));
  }
  g_hash_table_unref (out);
  g_hash_table_unref (in);
  mil_program_free (p);
  g_free (text);
  g_free (body);
  dialect_free (d);
}

/* The image port as the ANE export writes it: a uint8 input padded to 64
 * bytes on its last axis, cast -> mul (per-channel scale) -> add
 * (per-channel bias), sliced to the 5 real columns and zero-padded to 32
 * fp16 (64 bytes). Each op rounds to fp16 once: expected
 * h16(h16(u * s) + b) with the compiler's _Float16. */
static void
test_image_port (gconstpointer data)
{
  Dialect *d = dialect_new (GPOINTER_TO_INT (data));
  gint64 xs[4] = { 1, 3, 2, 64 }, cs[4] = { 1, 3, 1, 1 };
  const double s[3] = { h16 (1 / 255.0), h16 (1 / 57.375), h16 (0.0175) },
               b[3] = { h16 (-2.1179), h16 (-2.0357), h16 (-1.8044) };
  char *body = g_strdup_printf (
      "        tensor<fp16, [1, 3, 2, 64]> f = cast(x = x, dtype = %s)[name = %s];\n"
      "        tensor<fp16, [1, 3, 2, 64]> m = mul(x = f, y = %s)[name = %s];\n"
      "        tensor<fp16, [1, 3, 2, 64]> a = add(x = m, y = %s)[name = %s];\n"
      "        tensor<fp16, [1, 3, 2, 5]> c = slice_by_index(x = a, begin = %s, end = %s)[name = "
      "%s];\n"
      "        tensor<fp16, [1, 3, 2, 32]> y = pad(x = c, pad = %s, mode = %s, constant_val = "
      "%s)[name = %s];\n",
      str (d, "fp16"), str (d, "f"), vec (d, "fp16", 4, cs, s), str (d, "m"),
      vec (d, "fp16", 4, cs, b), str (d, "a"), ints (d, 4, (gint64[]){ 0, 0, 0, 0 }),
      ints (d, 4, (gint64[]){ 1, 3, 2, 5 }), str (d, "c"),
      ints (d, 8, (gint64[]){ 0, 0, 0, 0, 0, 0, 0, 27 }), str (d, "constant"),
      sc (d, "fp16", "0x0p+0"), str (d, "y"));
  char *text = program (d, "tensor<uint8, [1, 3, 2, 64]> x", body, "y");
  MilProgram *p = parse_ok (text, NULL);
  MilTensor *x = mil_tensor_new (MIL_UINT8, 4, xs);
  for (gsize i = 0; i < x->n; i++)
    x->v[i] = (double) ((i * 37 + 11) % 256);
  MilTensor *xc = mil_tensor_copy (x);
  MilTensor *y = run1_ok (p, "x", x, "y");
  for (int c = 0; c < 3; c++)
    for (int r = 0; r < 2; r++)
      for (int k = 0; k < 32; k++) {
        double u = xc->v[(c * 2 + r) * 64 + k];
        double e = k < 5 ? h16 (h16 (u * s[c]) + b[c]) : 0;
        g_assert_cmpfloat (y->v[(c * 2 + r) * 32 + k], ==, e);
      }
  mil_tensor_free (xc);
  mil_tensor_free (y);
  mil_program_free (p);
  g_free (text);
  g_free (body);
  dialect_free (d);
}

/* The remaining ops on small hand-worked cases: reductions (keep_dims),
 * matmul with transpose_y, concat, reshape, transpose, upsample, clip,
 * relu, batch_norm, real_div, maximum. */
static void
test_misc_ops (gconstpointer data)
{
  Dialect *d = dialect_new (GPOINTER_TO_INT (data));
  gint64 xs[2] = { 2, 3 }, cs[1] = { 3 };
  const double x[6] = { 1, -2, 3, 4, 5, -6 };
  char *body = g_strdup_printf (
      "        tensor<fp16, [2]> rs = reduce_sum(x = x, axes = %s)[name = %s];\n"
      "        tensor<fp16, [1, 3]> rm = reduce_mean(x = x, axes = %s, keep_dims = %s)[name = "
      "%s];\n"
      "        tensor<fp16, [2]> rx = reduce_max(x = x, axes = %s)[name = %s];\n"
      "        tensor<fp16, [2, 2]> mm = matmul(x = x, y = x, transpose_y = %s)[name = %s];\n"
      "        tensor<fp16, [4, 3]> cc = concat(values = (x, x), axis = %s, interleave = %s)[name "
      "= "
      "%s];\n"
      "        tensor<fp16, [3, 2]> rh = reshape(x = x, shape = %s)[name = %s];\n"
      "        tensor<fp16, [3, 2]> tr = transpose(x = x, perm = %s)[name = %s];\n"
      "        tensor<fp16, [1, 1, 2, 3]> x4 = reshape(x = x, shape = %s)[name = %s];\n"
      "        tensor<fp16, [1, 1, 4, 6]> up = upsample_nearest_neighbor(x = x4, "
      "scale_factor_height "
      "= %s, scale_factor_width = %s)[name = %s];\n"
      "        tensor<fp16, [2, 3]> cl = clip(x = x, alpha = %s, beta = %s)[name = %s];\n"
      "        tensor<fp16, [2, 3]> re = relu(x = x)[name = %s];\n"
      "        tensor<fp16, [2, 3]> bn = batch_norm(x = x, mean = %s, variance = %s, epsilon = "
      "%s)[name = %s];\n"
      "        tensor<fp16, [2, 3]> dv = real_div(x = x, y = %s)[name = %s];\n",
      ints (d, 1, (gint64[]){ 1 }), str (d, "rs"), ints (d, 1, (gint64[]){ -2 }),
      sc (d, "bool", "true"), str (d, "rm"), ints (d, 1, (gint64[]){ 1 }), str (d, "rx"),
      sc (d, "bool", "true"), str (d, "mm"), sc (d, "int32", "0"), sc (d, "bool", "false"),
      str (d, "cc"), ints (d, 2, (gint64[]){ 3, -1 }), str (d, "rh"),
      ints (d, 2, (gint64[]){ 1, 0 }), str (d, "tr"), ints (d, 4, (gint64[]){ 1, 1, 2, 3 }),
      str (d, "x4"), sc (d, "fp32", "2"), sc (d, "fp32", "2"), str (d, "up"),
      sc (d, "fp16", "-0x1p+0"), sc (d, "fp16", "0x1p+2"), str (d, "cl"), str (d, "re"),
      vec (d, "fp16", 1, cs, (double[]){ 1, -1, 0 }),
      vec (d, "fp16", 1, cs, (double[]){ 4, 0.25, 1 }), sc (d, "fp16", "0x0p+0"), str (d, "bn"),
      vec (d, "fp16", 1, cs, (double[]){ 2, 4, 8 }), str (d, "dv"));
  char *text =
      program (d, "tensor<fp16, [2, 3]> x", body, "rs, rm, rx, mm, cc, rh, tr, up, cl, re, bn, dv");
  MilProgram *p = parse_ok (text, NULL);
  GHashTable *in =
      g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) mil_tensor_free);
  g_hash_table_insert (in, "x", tensor (MIL_FP16, 2, xs, x));
  GError *error = NULL;
  GHashTable *out = mil_run (p, "main", in, &error);
  g_assert_no_error (error);
  struct {
    const char *name;
    int n;
    double v[24];
  } expect[] = {
    { "rs", 2, { 2, 3 } },
    { "rm", 3, { 2.5, 1.5, -1.5 } },
    { "rx", 2, { 3, 5 } },
    { "mm", 4, { 14, -24, -24, 77 } },
    { "cc", 12, { 1, -2, 3, 4, 5, -6, 1, -2, 3, 4, 5, -6 } },
    { "rh", 6, { 1, -2, 3, 4, 5, -6 } },
    { "tr", 6, { 1, 4, -2, 5, 3, -6 } },
    { "up",
      24,
      { 1, 1, -2, -2, 3, 3, 1, 1, -2, -2, 3, 3, 4, 4, 5, 5, -6, -6, 4, 4, 5, 5, -6, -6 } },
    { "cl", 6, { 1, -1, 3, 4, 4, -1 } },
    { "re", 6, { 1, 0, 3, 4, 5, 0 } },
    { "bn", 6, { 0, -2, 3, 1.5, 12, -6 } }, /* (x - mean) / sqrt(var) over axis 1 */
    { "dv", 6, { 0.5, -0.5, 0.375, 2, 1.25, -0.75 } },
  };
  for (gsize k = 0; k < G_N_ELEMENTS (expect); k++) {
    MilTensor *t = g_hash_table_lookup (out, expect[k].name);
    g_assert_nonnull (t);
    g_assert_cmpuint (t->n, ==, (guint) expect[k].n);
    for (int i = 0; i < expect[k].n; i++)
      if (t->v[i] != expect[k].v[i])
        g_error ("%s[%d] = %g, expected %g", expect[k].name, i, t->v[i], expect[k].v[i]);
  }
  g_hash_table_unref (out);
  g_hash_table_unref (in);
  mil_program_free (p);
  g_free (text);
  g_free (body);
  dialect_free (d);
}

/* The ops the TFLite models brought, hand-worked: conv_transpose with
 * strides [1, 2] and a custom pad cropping bottom and left, sigmoid_hard,
 * round (ties to even), resize_bilinear in STRICT_ALIGN_CORNERS and
 * UNALIGN_CORNERS. */
static void
test_new_ops (gconstpointer data)
{
  Dialect *d = dialect_new (GPOINTER_TO_INT (data));
  gint64 xs[4] = { 1, 1, 2, 3 }, ws[4] = { 1, 1, 1, 2 }, cs[1] = { 3 };
  const double x[6] = { 1, -2, 3, 4, 5, -6 };
  char *body = g_strdup_printf (
      "        tensor<fp16, [1, 1, 1, 5]> ct = conv_transpose(x = x, weight = %s, strides = %s, "
      "pad_type = %s, pad = %s)[name = %s];\n"
      "        tensor<fp16, [1, 1, 2, 3]> sh = sigmoid_hard(x = x, alpha = %s, beta = %s)[name = "
      "%s];\n"
      "        tensor<fp16, [1, 1, 2, 3]> dv = real_div(x = x, y = %s)[name = %s];\n"
      "        tensor<fp16, [1, 1, 2, 3]> rd = round(x = dv)[name = %s];\n"
      "        tensor<fp16, [1, 1, 3, 5]> ra = resize_bilinear(x = x, target_size_height = %s, "
      "target_size_width = %s, sampling_mode = %s)[name = %s];\n"
      "        tensor<fp16, [1, 1, 1, 6]> ru = resize_bilinear(x = x, target_size_height = %s, "
      "target_size_width = %s, sampling_mode = %s)[name = %s];\n",
      vec (d, "fp16", 4, ws, (double[]){ 1, 10 }), ints (d, 2, (gint64[]){ 1, 2 }),
      str (d, "custom"), ints (d, 4, (gint64[]){ 0, 1, 1, 0 }), str (d, "ct"),
      sc (d, "fp16", "0x1p-2"), sc (d, "fp16", "0x1p-1"), str (d, "sh"),
      vec (d, "fp16", 1, cs, (double[]){ 2, 4, 8 }), str (d, "dv"), str (d, "rd"),
      sc (d, "int32", "3"), sc (d, "int32", "5"), str (d, "STRICT_ALIGN_CORNERS"), str (d, "ra"),
      sc (d, "int32", "1"), sc (d, "int32", "6"), str (d, "UNALIGN_CORNERS"), str (d, "ru"));
  char *text = program (d, "tensor<fp16, [1, 1, 2, 3]> x", body, "ct, sh, rd, ra, ru");
  MilProgram *p = parse_ok (text, NULL);
  GHashTable *in =
      g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) mil_tensor_free);
  g_hash_table_insert (in, "x", tensor (MIL_FP16, 4, xs, x));
  GError *error = NULL;
  GHashTable *out = mil_run (p, "main", in, &error);
  g_assert_no_error (error);
  struct {
    const char *name;
    int n;
    double v[16];
  } expect[] = {
    /* row 0 scattered: [1, 10, -2, -20, 3, 30], the first column cropped */
    { "ct", 5, { 10, -2, -20, 3, 30 } },
    { "sh", 6, { 0.75, 0, 1, 1, 1, 0 } },
    { "rd", 6, { 0, -0.0, 0, 2, 1, -1 } }, /* 0.5, -0.5, 0.375, 2, 1.25, -0.75 */
    { "ra", 15, { 1, -0.5, -2, 0.5, 3, 2.5, 2, 1.5, 0, -1.5, 4, 4.5, 5, -0.5, -6 } },
    /* half-pixel rows: y 0.5 (both rows), x (i + 0.5) / 2 - 0.5 clamped */
    { "ru", 6, { 2.5, 2.25, 1.75, 0.75, -0.75, -1.5 } },
  };
  for (gsize k = 0; k < G_N_ELEMENTS (expect); k++) {
    MilTensor *t = g_hash_table_lookup (out, expect[k].name);
    g_assert_nonnull (t);
    g_assert_cmpuint (t->n, ==, (guint) expect[k].n);
    for (int i = 0; i < expect[k].n; i++)
      if (t->v[i] != expect[k].v[i])
        g_error ("%s[%d] = %g, expected %g", expect[k].name, i, t->v[i], expect[k].v[i]);
  }
  g_hash_table_unref (out);
  g_hash_table_unref (in);
  mil_program_free (p);
  g_free (text);
  g_free (body);
  dialect_free (d);
}

/* ---- errors: each with its file:line:column ---- */

#define HEAD13 "program(1.3)\n[buildInfo = dict<string, string>({{\"k\", \"v\"}})]\n{\n"
#define FUNC13 "    func main<ios18>(tensor<fp16, [1, 2]> x) {\n"
#define TAIL13 "    } -> (y);\n}\n"

/* Tokens and grammar: a stray character, a bad number, an unterminated
 * string, a missing ';', a bare scalar in program(1.0), an opset that does
 * not fit the program version, an inline literal with the wrong count. */
static void
test_parse_errors (void)
{
  parse_fails (HEAD13 FUNC13 "        tensor<fp16, [1, 2]> y = relu(x = x)$;\n" TAIL13, NULL,
               "test.mil:5:45: unexpected character '$'");
  parse_fails (HEAD13 FUNC13 "        tensor<fp16, [1, 2]> y = relu(x = 1.2.3x)[name = "
                             "string(\"y\")];\n" TAIL13,
               NULL, "test.mil:5:43: malformed number \"1.2.3x\"");
  parse_fails (HEAD13 FUNC13 "        tensor<fp16, [1, 2]> y = relu(x = x)[name = string(\"y)];\n",
               NULL, "test.mil:5:60: unterminated string");
  parse_fails (HEAD13 FUNC13 "        tensor<fp16, [1, 2]> y = relu(x = x)\n" TAIL13, NULL,
               "test.mil:6:5: expected ';', found \"}\"");
  parse_fails ("program(1.0)\n{\n    func main<ios16>(fp16 x) {\n    } -> (x);\n}\n", NULL,
               "test.mil:3:22: bare scalar type \"fp16\" in a program(1.0) (write tensor<fp16, "
               "[]>)");
  parse_fails ("program(1.3)\n{\n    func main<ios16>(fp16 x) {\n    } -> (x);\n}\n", NULL,
               "test.mil:3:15: opset ios16 in a program(1.3)");
  parse_fails (HEAD13 FUNC13 "        tensor<fp16, [2]> c = const()[val = tensor<fp16, [2]>([1, 2, "
                             "3])];\n" TAIL13,
               NULL, "test.mil:5:45: 3 values for a tensor of 2 elements");
  parse_fails (HEAD13 FUNC13
               "        tensor<fp16, []> c = const()[val = fp16(0x1.0001p+0)];\n" TAIL13,
               NULL, "test.mil:5:49: 0x1.0001p+0 is not exactly a fp16 value");
  parse_fails ("program(1.3)\n{\n", NULL, "test.mil:3:1: expected \"func\", found \"end of file\"");
}

/* Running: an unknown op, an unknown argument, a result whose shape is not
 * the declared one, an input of the wrong shape, an undefined variable. */
static void
test_run_errors (void)
{
  const struct {
    const char *body, *expect;
  } cases[] = {
    { "        tensor<fp16, [1, 2]> y = frobnicate(x = x)[name = string(\"y\")];\n",
      "test.mil:5:9: frobnicate \"y\": unknown op \"frobnicate\"" },
    { "        tensor<fp16, [1, 2]> y = relu(x = x, alpha = fp16(0x1p+0))[name = string(\"y\")];\n",
      "test.mil:5:9: relu \"y\": unknown argument \"alpha\"" },
    { "        tensor<fp16, [1, 3]> y = relu(x = x)[name = string(\"y\")];\n",
      "test.mil:5:9: relu \"y\": result is fp16 [1, 2], declared fp16 [1, 3]" },
    { "        tensor<fp32, [1, 2]> y = relu(x = x)[name = string(\"y\")];\n",
      "test.mil:5:9: relu \"y\": result is fp16 [1, 2], declared fp32 [1, 2]" },
    { "        tensor<fp16, [1, 2]> y = relu(x = z)[name = string(\"y\")];\n",
      "test.mil:5:9: relu \"y\": argument \"x\": undefined variable \"z\"" },
    { "        tensor<fp16, [1, 2]> y = add(x = x, y = tensor<fp16, [3]>([1, 2, 3]))"
      "[name = string(\"y\")];\n",
      "test.mil:5:9: add \"y\": shapes [1, 2] and [3] do not broadcast" },
    { "        tensor<fp16, [1, 2]> y = clip(x = x, alpha = fp16(0x0p+0))[name = string(\"y\")];\n",
      "test.mil:5:9: clip \"y\": missing argument \"beta\"" },
  };
  gint64 xs[2] = { 1, 2 };
  for (gsize k = 0; k < G_N_ELEMENTS (cases); k++) {
    char *text = g_strconcat (HEAD13 FUNC13, cases[k].body, TAIL13, NULL);
    MilProgram *p = parse_ok (text, NULL);
    GError *error = NULL;
    g_assert_null (run1 (p, "x", tensor (MIL_FP16, 2, xs, (double[]){ 1, 2 }), "y", &error));
    g_assert_nonnull (error);
    g_assert_cmpstr (error->message, ==, cases[k].expect);
    g_clear_error (&error);
    mil_program_free (p);
    g_free (text);
  }
  char *text =
      g_strconcat (HEAD13 FUNC13, "        tensor<fp16, [1, 2]> y = relu(x = x);\n", TAIL13, NULL);
  MilProgram *p = parse_ok (text, NULL);
  GError *error = NULL;
  gint64 bad[2] = { 2, 1 };
  g_assert_null (run1 (p, "x", tensor (MIL_FP16, 2, bad, (double[]){ 1, 2 }), "y", &error));
  g_assert_cmpstr (error->message, ==,
                   "test.mil:4:5: input \"x\" is fp16 [2, 1], declared fp16 [1, 2]");
  g_clear_error (&error);
  mil_program_free (p);
  g_free (text);
}

/* BLOBFILE: an offset that is the data, not the metadata record (128 for
 * a blob recorded at 64), an offset past the file, a blob of another dtype
 * and a blob of another size all fail where the offset is written. */
static void
test_blobfile_errors (void)
{
  guint16 h[16] = { 0 };
  float f[16] = { 0 };
  char *dir = g_dir_make_tmp ("mil-XXXXXX", NULL);
  const TestBlob blobs[2] = { { 1, h, sizeof h }, { 2, f, sizeof f } };
  guint64 off[2];
  write_weights (dir, "weights/weight.bin", blobs, 2, off);
  g_assert_cmpuint (off[1], ==, 192);
  const struct {
    const char *type;
    int offset;
    const char *expect;
  } cases[] = {
    { "fp16, [16]", 128, "offset 128: sentinel 0x00000000, expected 0xdeadbeef" },
    { "fp16, [16]", 4096,
      "offset 4096: not a 64-aligned metadata record inside the 320-byte file" },
    { "fp16, [16]", 192,
      "BLOBFILE offset 192: blob of dtype code 2 and 64 bytes does not hold a fp16 tensor of 16 "
      "elements" },
    { "fp16, [15]", 64,
      "BLOBFILE offset 64: blob of dtype code 1 and 32 bytes does not hold a fp16 tensor of 15 "
      "elements" },
  };
  for (gsize k = 0; k < G_N_ELEMENTS (cases); k++) {
    char *text = g_strdup_printf (
        HEAD13 FUNC13
        "        tensor<%s> c = const()[name = string(\"c\"), val = tensor<%s>(BLOBFILE("
        "path = string(\"@model_path/weights/weight.bin\"), offset = uint64(%d)))];\n" TAIL13,
        cases[k].type, cases[k].type, cases[k].offset);
    GError *error = NULL;
    g_assert_null (mil_parse (text, strlen (text), "test.mil", dir, &error));
    g_assert_nonnull (error);
    g_assert_true (g_str_has_prefix (error->message, "test.mil:5:"));
    if (!strstr (error->message, cases[k].expect))
      g_error ("\"%s\" does not say \"%s\"", error->message, cases[k].expect);
    g_clear_error (&error);
    g_free (text);
  }
  char *w = g_build_filename (dir, "weights", "weight.bin", NULL), *wd = g_path_get_dirname (w);
  g_unlink (w);
  g_rmdir (wd);
  g_rmdir (dir);
  g_free (w);
  g_free (wd);
  g_free (dir);
}

/* A fuzz seed that reaches most ops' argument checks: mutations of its
 * literals give negative, zero, huge or mismatched pads, strides, axes,
 * shapes and scale factors. */
static const char fuzz_ops_mil[] = HEAD13
    "    func main<ios18>(tensor<fp16, [1, 2, 4, 4]> x) {\n"
    "        tensor<fp16, [2, 1, 3, 3]> w = const()[val = tensor<fp16, [2, 1, 3, 3]>([1, 0, -1, 2, "
    "0, "
    "-2, 1, 0, -1, 0x1p-1, 0x1p-2, 0x1p-3, 1, 1, 1, -1, -1, -1])];\n"
    "        tensor<fp16, [1, 2, 2, 4]> c = conv(x = x, weight = w, bias = tensor<fp16, [2]>([1, "
    "-1]), "
    "strides = tensor<int32, [2]>([2, 1]), pad_type = string(\"custom\"), pad = tensor<int32, "
    "[4]>([1, 0, 1, 1]), dilations = tensor<int32, [2]>([1, 1]), groups = int32(2))[name = "
    "string(\"c\")];\n"
    "        tensor<fp16, [1, 2, 1, 2]> m = max_pool(x = c, kernel_sizes = tensor<int32, [2]>([2, "
    "3]), "
    "strides = tensor<int32, [2]>([2, 2]), pad_type = string(\"valid\"), ceil_mode = "
    "bool(true))[name = string(\"m\")];\n"
    "        tensor<fp16, [1, 2, 2, 4]> u = upsample_nearest_neighbor(x = m, scale_factor_height = "
    "fp32(2), scale_factor_width = fp32(2))[name = string(\"u\")];\n"
    "        tensor<fp16, [1, 4, 2, 4]> k = concat(values = (u, c), axis = int32(1), interleave = "
    "bool(false))[name = string(\"k\")];\n"
    "        tensor<fp16, [1, 4, 3, 6]> p = pad(x = k, pad = tensor<int32, [4]>([0, 1, 1, 1]), "
    "mode = "
    "string(\"constant\"), constant_val = fp16(0x0p+0))[name = string(\"p\")];\n"
    "        tensor<fp16, [1, 2, 3, 3]> s = slice_by_index(x = p, begin = tensor<int32, [4]>([0, "
    "1, 0, "
    "0]), end = tensor<int32, [4]>([1, 4, 3, 6]), stride = tensor<int32, [4]>([1, 2, 1, 2]))[name "
    "= "
    "string(\"s\")];\n"
    "        tensor<fp16, [3, 6]> r = reshape(x = s, shape = tensor<int32, [2]>([3, -1]))[name = "
    "string(\"r\")];\n"
    "        tensor<fp16, [6, 3]> t = transpose(x = r, perm = tensor<int32, [2]>([1, 0]))[name = "
    "string(\"t\")];\n"
    "        tensor<fp16, [3, 3]> mm = matmul(x = r, y = t, transpose_x = bool(false), transpose_y "
    "= "
    "bool(false))[name = string(\"mm\")];\n"
    "        tensor<fp16, [3]> rs = reduce_sum(x = mm, axes = tensor<int32, [1]>([-1]), keep_dims "
    "= "
    "bool(false))[name = string(\"rs\")];\n"
    "        tensor<fp16, [3, 3]> y = softmax(x = mm, axis = int32(0))[name = string(\"y\")];\n"
    "    } -> (y, rs);\n}\n";

/* Hostile input: random mutations of every sample (bytes replaced by
 * random or grammar characters, spans deleted or duplicated, truncation)
 * give either a program or an error naming fuzz.mil:LINE:COL, never a
 * crash; what still parses also runs or fails cleanly. */
static void
test_fuzz_samples (void)
{
  /* each sample with the inputs its main takes (names, dtype, shape) */
  const struct {
    const char *file;
    const char *in[2];
    MilDtype dt;
    int rank;
    gint64 shape[4];
  } samples[] = {
    { "add_model.mil", { "x", "y" }, MIL_FP16, 2, { 1, 10 } },
    { "blob_ios16.mil", { "x" }, MIL_FP32, 1, { 500 } },
    { "blob_ios18.mil", { "x" }, MIL_FP32, 1, { 500 } },
    { "hexfloat_ios16.mil", { "x" }, MIL_FP16, 2, { 1, 4 } },
    { "direct_ios18.mil", { "t1" }, MIL_FP16, 2, { 1, 512 } },
    { NULL, { "x" }, MIL_FP16, 4, { 1, 2, 4, 4 } }, /* fuzz_ops_mil */
  };
  static const char grammar[] = "()[]{}<>,=;\"-0x1p.e9 \nabtensorfp16BLOBFILE";
  char *dir = g_dir_make_tmp ("mil-XXXXXX", NULL);
  float f[500] = { 0 };
  guint16 h[512] = { 0 };
  const TestBlob fb[2] = { { 2, f, sizeof f }, { 2, f, sizeof f } }, hb = { 1, h, sizeof h };
  guint64 off[2];
  write_weights (dir, "weights/weight.bin", fb, 2, off);
  write_weights (dir, "weights.bin", &hb, 1, off);
  int parsed = 0, failed = 0;
  int ran = 0;
  for (gsize k = 0; k < G_N_ELEMENTS (samples); k++) {
    gsize len = sizeof fuzz_ops_mil - 1;
    char *orig = samples[k].file ? read_sample (samples[k].file, &len) : g_strdup (fuzz_ops_mil);
    for (int it = -1; it < 600; it++) { /* -1: the seed itself must parse and run */
      GByteArray *b = g_byte_array_new ();
      g_byte_array_append (b, (guint8 *) orig, (guint) len);
      int n_mut = it < 0 ? 0 : g_test_rand_int_range (1, 4);
      for (int m = 0; m < n_mut && b->len > 1; m++) {
        guint at = (guint) g_test_rand_int_range (0, (gint32) b->len);
        guint span = (guint) g_test_rand_int_range (1, 40);
        span = MIN (b->len - at, span);
        switch (g_test_rand_int_range (0, 5)) {
        case 0:
          b->data[at] = (guint8) g_test_rand_int_range (0, 256);
          break;
        case 1:
          b->data[at] = (guint8) grammar[g_test_rand_int_range (0, sizeof grammar - 1)];
          break;
        case 2:
          g_byte_array_remove_range (b, at, span);
          break;
        case 3: {
          guint n = span;
          guint8 *copy = g_memdup2 (b->data + at, n);
          g_byte_array_append (b, copy, n);
          g_free (copy);
          break;
        }
        default:
          g_byte_array_set_size (b, at);
          break;
        }
      }
      GError *error = NULL;
      MilProgram *p = mil_parse ((const char *) b->data, b->len, "fuzz.mil", dir, &error);
      if (p) {
        parsed++;
        GHashTable *in =
            g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) mil_tensor_free);
        for (int i = 0; i < 2 && samples[k].in[i]; i++) {
          MilTensor *x = mil_tensor_new (samples[k].dt, samples[k].rank, samples[k].shape);
          for (gsize e = 0; e < x->n; e++)
            x->v[e] = (double) ((int) (e % 7) - 3) * 0.5;
          g_hash_table_insert (in, (gpointer) samples[k].in[i], x);
        }
        GHashTable *out = mil_run (p, "main", in, &error); /* runs or fails cleanly */
        if (it < 0 && !out)
          g_error ("seed %s: %s", samples[k].file ? samples[k].file : "ops", error->message);
        if (out) {
          ran++;
          g_hash_table_unref (out);
        } else
          g_assert_true (error && g_str_has_prefix (error->message, "fuzz.mil:"));
        g_clear_error (&error);
        g_hash_table_unref (in);
        mil_program_free (p);
      } else {
        if (it < 0)
          g_error ("seed %s: %s", samples[k].file ? samples[k].file : "ops", error->message);
        failed++;
        g_assert_nonnull (error);
        g_assert_true (g_str_has_prefix (error->message, "fuzz.mil:"));
        g_clear_error (&error);
      }
      g_byte_array_unref (b);
    }
    g_free (orig);
  }
  g_test_message ("%d mutants parsed (%d of them ran), %d rejected", parsed, ran, failed);
  g_assert_cmpint (failed, >, parsed); /* the mutations do reach the parser's checks */
  char *paths[3] = { g_build_filename (dir, "weights", "weight.bin", NULL),
                     g_build_filename (dir, "weights.bin", NULL),
                     g_build_filename (dir, "weights", NULL) };
  g_unlink (paths[0]);
  g_unlink (paths[1]);
  g_rmdir (paths[2]);
  g_rmdir (dir);
  for (int i = 0; i < 3; i++)
    g_free (paths[i]);
  g_free (dir);
}

/* ---- the plan runner ---- */

static const char plan_json[] =
    "{\"format\": \"aneforge-ane-plan\", \"version\": 1, \"dialect\": \"ios18\",\n"
    " \"inputs\": [{\"name\": \"in\", \"dtype\": \"fp16\", \"shape\": [1, 2, 5]}],\n"
    " \"outputs\": [{\"name\": \"out\", \"shape\": [1, 2, 5]}],\n"
    " \"segments\": [{\"kind\": \"program\", \"dir\": \"region-0\",\n"
    "   \"inputs\": [{\"name\": \"in\", \"mil\": \"x\", \"dtype\": \"fp16\", \"shape\": [1, 2, 5],"
    " \"padded_shape\": [1, 2, 32]}],\n"
    "   \"outputs\": [{\"name\": \"out\", \"mil\": \"y\", \"dtype\": \"fp16\", \"shape\": [1, 2, "
    "5],"
    " \"padded_shape\": [1, 2, 32]}]}%s]}\n";

/* The program sees its input zero-padded to 32 on the last axis: relu
 * keeps the padding at 0, and "y" adds the sum of the row (padding
 * included) to every element, so a non-zero pad would show; the plan's
 * output is the unpadded [1, 2, 5]. */
static const char plan_mil[] =
    HEAD13 "    func main<ios18>(tensor<fp16, [1, 2, 32]> x) {\n"
           "        tensor<fp16, [1, 2, 32]> r = relu(x = x)[name = string(\"r\")];\n"
           "        tensor<fp16, [1, 2, 1]> s = reduce_sum(x = x, axes = tensor<int32, [1]>([2]), "
           "keep_dims = bool(true))[name = string(\"s\")];\n"
           "        tensor<fp16, [1, 2, 32]> y = add(x = r, y = s)[name = string(\"y\")];\n"
           "    } -> (y);\n}\n";

static char *
write_plan (const char *extra_segment)
{
  char *dir = g_dir_make_tmp ("mil-plan-XXXXXX", NULL);
  char *plan = g_strdup_printf (plan_json, extra_segment);
  char *pp = g_build_filename (dir, "plan.json", NULL),
       *rd = g_build_filename (dir, "region-0", NULL);
  char *mp = g_build_filename (rd, "model.mil", NULL);
  g_mkdir (rd, 0755);
  g_assert_true (g_file_set_contents (pp, plan, -1, NULL));
  g_assert_true (g_file_set_contents (mp, plan_mil, -1, NULL));
  g_free (plan);
  g_free (pp);
  g_free (rd);
  g_free (mp);
  return dir;
}

static void
remove_plan (char *dir)
{
  char *paths[3] = { g_build_filename (dir, "region-0", "model.mil", NULL),
                     g_build_filename (dir, "region-0", NULL),
                     g_build_filename (dir, "plan.json", NULL) };
  g_unlink (paths[0]);
  g_rmdir (paths[1]);
  g_unlink (paths[2]);
  g_rmdir (dir);
  for (int i = 0; i < 3; i++)
    g_free (paths[i]);
  g_free (dir);
}

/* Padding on the way in, slicing on the way out, threading by graph name. */
static void
test_plan_padding (void)
{
  char *dir = write_plan ("");
  GError *error = NULL;
  MilPlan *plan = mil_plan_load (dir, &error);
  g_assert_no_error (error);
  gint64 xs[3] = { 1, 2, 5 };
  const double x[10] = { 1, -2, 3, -4, 5, 0.5, 0.25, -1, 2, 4 };
  GHashTable *in =
      g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) mil_tensor_free);
  g_hash_table_insert (in, "in", tensor (MIL_FP16, 3, xs, x));
  GHashTable *out = mil_plan_run (plan, in, &error);
  g_assert_no_error (error);
  const MilTensor *y = g_hash_table_lookup (out, "out");
  g_assert_cmpint (y->rank, ==, 3);
  g_assert_cmpint (y->shape[2], ==, 5);
  const double sum[2] = { 3, 5.75 };
  for (int r = 0; r < 2; r++)
    for (int k = 0; k < 5; k++)
      g_assert_cmpfloat (y->v[r * 5 + k], ==, MAX (x[r * 5 + k], 0) + sum[r]);
  g_hash_table_unref (out);
  g_hash_table_unref (in);
  mil_plan_free (plan);
  remove_plan (dir);
}

/* A host segment needs the model (plan.json names the node, no attributes);
 * a plan input of the wrong shape is refused by name. */
static void
test_plan_errors (void)
{
  char *dir = write_plan (", {\"kind\": \"host\", \"op\": \"argmax\", \"node\": \"am\", "
                          "\"reason\": \"bridge\", \"inputs\": [\"out\"], \"outputs\": [\"idx\"]}");
  GError *error = NULL;
  MilPlan *plan = mil_plan_load (dir, &error);
  g_assert_no_error (error);
  gint64 xs[3] = { 1, 2, 5 }, bad[3] = { 1, 5, 2 };
  GHashTable *in =
      g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) mil_tensor_free);
  g_hash_table_insert (in, "in", mil_tensor_new (MIL_FP16, 3, xs));
  g_assert_null (mil_plan_run (plan, in, &error));
  g_assert_nonnull (strstr (error->message, "segments[1]: host argmax \"am\": plan.json gives no "
                                            "attributes; running it needs the model"));
  g_clear_error (&error);
  g_hash_table_insert (in, "in", mil_tensor_new (MIL_FP16, 3, bad));
  g_assert_null (mil_plan_run (plan, in, &error));
  g_assert_cmpstr (error->message, ==,
                   "plan input: \"in\" is fp16 [1, 5, 2], the plan says fp16 [1, 2, 5]");
  g_clear_error (&error);
  g_hash_table_unref (in);
  mil_plan_free (plan);
  remove_plan (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *src = g_getenv ("AF_SOURCE_ROOT");
  samples_dir = g_build_filename (src ? src : ".", "tests", "ane", "samples", NULL);
  g_test_add_func ("/mil/fp16-rounding", test_fp16_rounding);
  g_test_add_func ("/mil/sample/add-model", test_sample_add_model);
  g_test_add_func ("/mil/sample/blobfile", test_sample_blobfile);
  g_test_add_func ("/mil/sample/hexfloat", test_sample_hexfloat);
  g_test_add_func ("/mil/sample/direct", test_sample_direct);
  g_test_add_func ("/mil/errors/parse", test_parse_errors);
  g_test_add_func ("/mil/errors/run", test_run_errors);
  g_test_add_func ("/mil/errors/blobfile", test_blobfile_errors);
  g_test_add_func ("/mil/fuzz/samples", test_fuzz_samples);
  g_test_add_func ("/mil/plan/padding", test_plan_padding);
  g_test_add_func ("/mil/plan/errors", test_plan_errors);
  for (int v13 = 0; v13 < 2; v13++) {
    const char *dn = v13 ? "ios18" : "ios16";
    struct {
      const char *name;
      GTestDataFunc fn;
    } cases[] = { { "conv", test_conv },         { "conv-same", test_conv_same },
                  { "linear", test_linear },     { "pool-ceil", test_pool_ceil },
                  { "softmax", test_softmax },   { "image-port", test_image_port },
                  { "misc-ops", test_misc_ops }, { "new-ops", test_new_ops } };
    for (gsize k = 0; k < G_N_ELEMENTS (cases); k++) {
      char *path = g_strdup_printf ("/mil/run/%s/%s", dn, cases[k].name);
      g_test_add_data_func (path, GINT_TO_POINTER (v13), cases[k].fn);
      g_free (path);
    }
  }
  int rc = g_test_run ();
  g_free (samples_dir);
  return rc;
}
