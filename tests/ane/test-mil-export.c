/* test-mil-export.c — the ANE export (src/backends/ane): MIL text in both
 * dialects against a committed golden text, determinism, fp16 hex floats,
 * BLOBFILE offsets read back from the weight blob by its published layout,
 * the image port's cast -> mul -> add, 64-byte I/O padding, and the
 * partition at bridge ops and at nodes the capability table refuses.
 *
 * Run: test-mil-export (AF_SOURCE_ROOT names the source tree, for
 * models/tiny-classifier.json); test-mil-export --write-every-op DIR writes
 * the every-op graph's exports to DIR/ios18 and DIR/ios16 for the lint. */
#include "backends/ane/caps.h"
#include "backends/ane/export.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------ graphs */

/* The golden graph: an image port with per-channel scale and bias, a 1x1
 * conv with asymmetric padding (top 1, left 2, bottom 0, right 3: every pad
 * order mistake changes the text), its bias inline (4 elements) and weight
 * in the blob (12), relu6, a reshape and a linear layer. */
static AfGraph *
golden_graph (void)
{
  AfGraph *g = af_graph_new ("golden");
  const gint64 ishape[4] = { 1, 3, 2, 2 }, wshape[4] = { 4, 3, 1, 1 }, bshape[1] = { 4 };
  const gint64 flat[2] = { 1, 84 }, lshape[2] = { 2, 84 };
  const float scale[3] = { 1.0f / 255, 2.0f / 255, 4.0f / 255 }, bias[3] = { -0.5f, 0.25f, 0.125f };
  float w[12], b[4] = { 0.5f, -0.5f, 1.0f, 2.0f }, lw[168];
  for (int i = 0; i < 12; i++)
    w[i] = (float) i * 0.25f - 1.0f;
  for (int i = 0; i < 168; i++)
    lw[i] = (float) (i % 7) * 0.125f - 0.375f;
  AfTensor *x = af_image_input (g, "image", ishape, AF_PIXEL_RGB, 3, scale, 3, bias);
  AfConvParams p = AF_CONV_PARAMS_INIT;
  const gint64 pad[4] = { 1, 2, 0, 3 }; /* top, left, bottom, right */
  memcpy (p.pad, pad, sizeof pad);
  AfTensor *y = af_conv (g, x, af_weight (g, "conv.weight", 4, wshape, w),
                         af_weight (g, "conv.bias", 1, bshape, b), &p);
  y = af_reshape (g, af_relu6 (g, y), 2, flat);
  y = af_linear (g, y, af_weight (g, "fc.weight", 2, lshape, lw), NULL);
  af_graph_add_output (g, "logits", y);
  g_assert_no_error (af_graph_error (g));
  return g;
}

/* The MIL text of @g's only program in dialect @d (transfer full). */
static char *
program_text (AfGraph *g, AfAneDialect d, AfMilProgram **keep)
{
  GError *error = NULL;
  AfAnePartition *part = af_ane_partition (g, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (part->n_programs, ==, 1);
  AfAneSegment *s = g_ptr_array_index (part->segments, 0);
  GArray *in = g_array_new (FALSE, TRUE, sizeof (AfMilBinding));
  GArray *out = g_array_new (FALSE, TRUE, sizeof (AfMilBinding));
  g_array_set_clear_func (in, af_mil_binding_clear);
  g_array_set_clear_func (out, af_mil_binding_clear);
  AfMilProgram *p = af_ane_lower (g, s->nodes, s->inputs, s->outputs, d, in, out, &error);
  g_assert_no_error (error);
  char *text = af_mil_print (p);
  if (keep)
    *keep = p;
  else
    af_mil_program_free (p);
  g_array_unref (in);
  g_array_unref (out);
  af_ane_partition_free (part);
  return text;
}

/* ------------------------------------------------------------ golden text */

/* Checked by hand against ../shared/ane/README.md §1.1: the ios18 header and
 * indentation of sample (d), bare scalars (`string("x")`, `uint64(64)`),
 * BLOBFILE as in test_weights.py's iOS18 line, hex floats as in (c); the
 * conv pad [top, bottom, left, right] = [1, 0, 2, 3]. */
static const char golden_ios18[] =
    "program(1.3)\n"
    "[buildInfo = dict<string, string>({{\"coremlc-component-MIL\", \"3520.4.1\"}, "
    "{\"coremlc-version\", \"3520.5.1\"}})]\n"
    "{\n"
    "    func main<ios18>(tensor<uint8, [1, 3, 2, 64]> image) {\n"
    "        string image_dtype = const()[name = string(\"image_dtype\"), val = "
    "string(\"fp16\")];\n"
    "        tensor<fp16, [1, 3, 2, 64]> image_fp16 = cast(dtype = image_dtype, x = image)[name = "
    "string(\"image_fp16\")];\n"
    "        tensor<int32, [4]> image_begin = const()[name = string(\"image_begin\"), val = "
    "tensor<int32, [4]>([0, 0, 0, 0])];\n"
    "        tensor<int32, [4]> image_end = const()[name = string(\"image_end\"), val = "
    "tensor<int32, [4]>([1, 3, 2, 2])];\n"
    "        tensor<fp16, [1, 3, 2, 2]> image_unpadded = slice_by_index(begin = image_begin, end = "
    "image_end, x = image_fp16)[name = string(\"image_unpadded\")];\n"
    "        tensor<fp16, [1, 3, 1, 1]> image_scale = const()[name = string(\"image_scale\"), val "
    "= "
    "tensor<fp16, [1, 3, 1, 1]>([0x1.01p-8, 0x1.01p-7, 0x1.01p-6])];\n"
    "        tensor<fp16, [1, 3, 2, 2]> image_scaled = mul(x = image_unpadded, y = "
    "image_scale)[name "
    "= string(\"image_scaled\")];\n"
    "        tensor<fp16, [1, 3, 1, 1]> image_bias = const()[name = string(\"image_bias\"), val = "
    "tensor<fp16, [1, 3, 1, 1]>([-0x1p-1, 0x1p-2, 0x1p-3])];\n"
    "        tensor<fp16, [1, 3, 2, 2]> image_biased = add(x = image_scaled, y = image_bias)[name "
    "= "
    "string(\"image_biased\")];\n"
    "        tensor<fp16, [4, 3, 1, 1]> conv_weight = const()[name = string(\"conv_weight\"), val "
    "= "
    "tensor<fp16, [4, 3, 1, 1]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), "
    "offset = uint64(64)))];\n"
    "        tensor<fp16, [4]> conv_bias = const()[name = string(\"conv_bias\"), val = "
    "tensor<fp16, [4]>([0x1p-1, -0x1p-1, 0x1p+0, 0x1p+1])];\n"
    "        tensor<int32, [2]> conv_0_strides = const()[name = string(\"conv_0_strides\"), val = "
    "tensor<int32, [2]>([1, 1])];\n"
    "        string conv_0_pad_type = const()[name = string(\"conv_0_pad_type\"), val = "
    "string(\"custom\")];\n"
    "        tensor<int32, [4]> conv_0_pad = const()[name = string(\"conv_0_pad\"), val = "
    "tensor<int32, [4]>([1, 0, 2, 3])];\n"
    "        tensor<int32, [2]> conv_0_dilations = const()[name = string(\"conv_0_dilations\"), "
    "val "
    "= tensor<int32, [2]>([1, 1])];\n"
    "        int32 conv_0_groups = const()[name = string(\"conv_0_groups\"), val = int32(1)];\n"
    "        tensor<fp16, [1, 4, 3, 7]> conv_0 = conv(bias = conv_bias, dilations = "
    "conv_0_dilations, groups = conv_0_groups, pad = conv_0_pad, pad_type = conv_0_pad_type, "
    "strides = conv_0_strides, weight = conv_weight, x = image_biased)[name = "
    "string(\"conv_0\")];\n"
    "        fp16 relu6_1_alpha = const()[name = string(\"relu6_1_alpha\"), val = fp16(0x0p+0)];\n"
    "        fp16 relu6_1_beta = const()[name = string(\"relu6_1_beta\"), val = fp16(0x1.8p+2)];\n"
    "        tensor<fp16, [1, 4, 3, 7]> relu6_1 = clip(alpha = relu6_1_alpha, beta = relu6_1_beta, "
    "x = conv_0)[name = string(\"relu6_1\")];\n"
    "        tensor<int32, [2]> reshape_2_shape = const()[name = string(\"reshape_2_shape\"), val "
    "= "
    "tensor<int32, [2]>([1, 84])];\n"
    "        tensor<fp16, [1, 84]> reshape_2 = reshape(shape = reshape_2_shape, x = relu6_1)[name "
    "= "
    "string(\"reshape_2\")];\n"
    "        tensor<fp16, [2, 84]> fc_weight = const()[name = string(\"fc_weight\"), val = "
    "tensor<fp16, [2, 84]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = "
    "uint64(192)))];\n"
    "        tensor<fp16, [1, 2]> linear_3 = linear(weight = fc_weight, x = reshape_2)[name = "
    "string(\"linear_3\")];\n"
    "        tensor<int32, [2]> linear_3_pad = const()[name = string(\"linear_3_pad\"), val = "
    "tensor<int32, [2]>([0, 30])];\n"
    "        string linear_3_mode = const()[name = string(\"linear_3_mode\"), val = "
    "string(\"constant\")];\n"
    "        fp16 linear_3_constant_val = const()[name = string(\"linear_3_constant_val\"), val = "
    "fp16(0x0p+0)];\n"
    "        tensor<fp16, [1, 32]> linear_3_padded = pad(constant_val = linear_3_constant_val, "
    "mode "
    "= linear_3_mode, pad = linear_3_pad, x = linear_3)[name = string(\"linear_3_padded\")];\n"
    "    } -> (linear_3_padded);\n"
    "}\n";

/* The ios16 form (§1.1(a), coremlc's add_model.mlmodelc: body indented 12,
 * `tensor<string, []>("x")` scalars). Its cast takes no uint8 (iOS15 cast:
 * fp16, fp32, int32, bool), so the image port is fp16 holding the pixel
 * values, 32 elements per 64-byte row. Only the lines that differ in more
 * than spelling are listed; the rest is checked by respelling golden_ios18. */
static const char golden_ios16_head[] =
    "program(1.0)\n"
    "[buildInfo = dict<tensor<string, []>, tensor<string, []>>({{\"coremlc-component-MIL\", "
    "\"3402.3.2\"}, {\"coremlc-version\", \"3402.4.1\"}})]\n"
    "{\n"
    "    func main<ios16>(tensor<fp16, [1, 3, 2, 32]> image) {\n"
    "            tensor<int32, [4]> image_begin = const()[name = tensor<string, "
    "[]>(\"image_begin\"), "
    "val = tensor<int32, [4]>([0, 0, 0, 0])];\n"
    "            tensor<int32, [4]> image_end = const()[name = tensor<string, []>(\"image_end\"), "
    "val "
    "= tensor<int32, [4]>([1, 3, 2, 2])];\n"
    "            tensor<fp16, [1, 3, 2, 2]> image_unpadded = slice_by_index(begin = image_begin, "
    "end "
    "= image_end, x = image)[name = tensor<string, []>(\"image_unpadded\")];\n";

static void
test_golden_ios18 (void)
{
  AfGraph *g = golden_graph ();
  g_autofree char *text = program_text (g, AF_ANE_DIALECT_IOS18, NULL);
  g_assert_cmpstr (text, ==, golden_ios18);
  af_graph_free (g);
}

/* golden_ios18's body respelled in the 1.0 dialect: scalars as
 * tensor<T, []>, the body indented 12 and the closing line 8. */
static char *
respell_ios16 (const char *line)
{
  static const char *const from[] = { "string(", "uint64(", "int32(", "fp16(", "bool(" };
  static const char *const to[] = { "tensor<string, []>(", "tensor<uint64, []>(",
                                    "tensor<int32, []>(", "tensor<fp16, []>(",
                                    "tensor<bool, []>(" };
  GString *s = g_string_new (NULL);
  for (const char *c = line; *c;) {
    gsize k = 0;
    while (k < G_N_ELEMENTS (from) &&
           !(strncmp (c, from[k], strlen (from[k])) == 0 &&
             (c == line || !(g_ascii_isalnum (c[-1]) || c[-1] == '_' || c[-1] == '<'))))
      k++;
    if (k < G_N_ELEMENTS (from)) {
      g_string_append (s, to[k]);
      c += strlen (from[k]);
    } else
      g_string_append_c (s, *c++);
  }
  /* bare scalar types at the start of a statement */
  static const char *const types[] = { "string ", "int32 ", "fp16 ", "bool " };
  const char *body = s->str;
  while (*body == ' ')
    body++;
  for (gsize k = 0; k < G_N_ELEMENTS (types); k++)
    if (g_str_has_prefix (body, types[k])) {
      g_autofree char *rest = g_strdup (body + strlen (types[k]));
      g_autofree char *t = g_strndup (types[k], strlen (types[k]) - 1);
      g_string_printf (s, "            tensor<%s, []> %s", t, rest);
      return g_string_free (s, FALSE);
    }
  char *out = g_strdup_printf ("            %s", body);
  g_string_free (s, TRUE);
  return out;
}

static void
test_golden_ios16 (void)
{
  AfGraph *g = golden_graph ();
  g_autofree char *text = program_text (g, AF_ANE_DIALECT_IOS16, NULL);
  g_assert_true (g_str_has_prefix (text, golden_ios16_head));
  /* after the slice, the same statements as ios18 in the 1.0 spelling */
  g_auto (GStrv) want = g_strsplit (strstr (golden_ios18, "        tensor<fp16, [1, 3, 1, 1]> "
                                                          "image_scale"),
                                    "\n", -1);
  g_auto (GStrv) got = g_strsplit (text + strlen (golden_ios16_head), "\n", -1);
  guint n = g_strv_length (want);
  g_assert_cmpuint (g_strv_length (got), ==, n);
  for (guint i = 0; i + 3 < n; i++) {
    g_autofree char *w = respell_ios16 (want[i]);
    g_assert_cmpstr (got[i], ==, w);
  }
  g_assert_cmpstr (got[n - 3], ==, "        } -> (linear_3_padded);");
  g_assert_cmpstr (got[n - 2], ==, "}");
  af_graph_free (g);
}

/* The published samples' fixed parts, as they are printed (§1.1(a), (b),
 * (d)): the headers, and a BLOBFILE constant in each dialect. */
static void
test_facts_spelling (void)
{
  AfGraph *g = golden_graph ();
  g_autofree char *t18 = program_text (g, AF_ANE_DIALECT_IOS18, NULL);
  g_autofree char *t16 = program_text (g, AF_ANE_DIALECT_IOS16, NULL);
  g_assert_true (g_str_has_prefix (
      t18, "program(1.3)\n[buildInfo = dict<string, string>({{\"coremlc-component-MIL\", "
           "\"3520.4.1\"}, {\"coremlc-version\", \"3520.5.1\"}})]\n{\n    func main<ios18>("));
  g_assert_true (g_str_has_prefix (
      t16, "program(1.0)\n[buildInfo = dict<tensor<string, []>, tensor<string, []>>({{"));
  g_assert_nonnull (strstr (t18, "(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), "
                                 "offset = uint64(64)))];\n"));
  g_assert_nonnull (strstr (t16, "(BLOBFILE(path = tensor<string, []>(\"@model_path/weights/"
                                 "weight.bin\"), offset = tensor<uint64, []>(64)))];\n"));
  g_assert_true (g_str_has_suffix (t16, "\n        } -> (linear_3_padded);\n}\n"));
  g_assert_true (g_str_has_suffix (t18, "\n    } -> (linear_3_padded);\n}\n"));
  /* every op statement carries its name attribute */
  g_auto (GStrv) lines = g_strsplit (t18, "\n", -1);
  for (guint i = 4; lines[i] && !g_str_has_prefix (lines[i], "    }"); i++)
    g_assert_nonnull (strstr (lines[i], ")[name = string(\""));
  af_graph_free (g);
}

/* ------------------------------------------------------------ hex floats */

static void
test_hex_floats (void)
{
  AfGraph *g = af_graph_new ("hex");
  const gint64 xs[2] = { 1, 32 }, one[1] = { 1 };
  const float tiny = 0x1p-24f, tenth = 0.1f;
  AfTensor *x = af_input (g, "x", 2, xs);
  x = af_add (g, x, af_weight (g, "eps", 1, one, &tiny));
  x = af_mul (g, x, af_weight (g, "tenth", 1, one, &tenth));
  x = af_clip (g, x, 0x1p-24f, 65504.0f);
  x = af_clip (g, x, -INFINITY, 3.0f); /* one bound: minimum(x, 3) */
  af_graph_add_output (g, "y", x);
  g_assert_no_error (af_graph_error (g));
  g_autofree char *t18 = program_text (g, AF_ANE_DIALECT_IOS18, NULL);
  g_autofree char *t16 = program_text (g, AF_ANE_DIALECT_IOS16, NULL);
  /* the smallest subnormal as WhisperKit's model.mil writes it (§1.1(c)) */
  g_assert_nonnull (strstr (t16, "val = tensor<fp16, []>(0x1p-24)];"));
  g_assert_nonnull (strstr (t18, "fp16 clip_2_alpha = const()[name = string(\"clip_2_alpha\"), "
                                 "val = fp16(0x1p-24)];"));
  g_assert_nonnull (strstr (t18, "val = tensor<fp16, [1]>([0x1p-24])];"));
  /* 0.1 rounded to fp16 is 0x2e66 = 0x1.998p-4; 65504 = 0x1.ffcp+15 */
  g_assert_nonnull (strstr (t18, "val = tensor<fp16, [1]>([0x1.998p-4])];"));
  g_assert_nonnull (strstr (t18, "val = fp16(0x1.ffcp+15)];"));
  g_assert_nonnull (strstr (t18, "fp16 clip_3_max = const()[name = string(\"clip_3_max\"), "
                                 "val = fp16(0x1.8p+1)];"));
  g_assert_nonnull (strstr (t18, "= minimum(x = clip_2, y = clip_3_max)"));
  /* no input padding at 32 fp16 elements (64 bytes): no slice */
  g_assert_null (strstr (t18, "slice_by_index"));
  g_assert_null (strstr (t18, "inf"));
  af_graph_free (g);
}

/* ------------------------------------------------------------ the blob */

static guint32
rd32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

static guint64
rd64 (const guint8 *p)
{
  return (guint64) rd32 (p) | (guint64) rd32 (p + 4) << 32;
}

/* The fp16 values @var must hold: a graph constant named like it, or a
 * reduction's ones vector. NULL when unknown. */
static guint16 *
expected_halves (AfGraph *g, const char *var, gsize n)
{
  guint16 *h = g_new (guint16, n);
  if (g_str_has_suffix (var, "_ones")) {
    for (gsize i = 0; i < n; i++)
      h[i] = 0x3c00;
    return h;
  }
  for (guint i = 0; i < g->values->len; i++) {
    AfTensor *t = g_ptr_array_index (g->values, i);
    g_autofree char *id = af_mil_identifier (t->name);
    if (t->kind != AF_VALUE_CONST || strcmp (id, var) != 0)
      continue;
    g_assert_cmpint (af__shape_numel (&t->shape), ==, (gint64) n);
    float *f = g_new (float, n);
    af__tensor_read_f32 (t, f);
    af_f32_to_fp16_n (f, h, n);
    g_free (f);
    return h;
  }
  g_free (h);
  return NULL;
}

/* Every BLOBFILE reference of @text names a metadata record of @blob by the
 * layout of README §1.3 (sentinel, dtype 1 = fp16, size, data at +64) whose
 * data are the constant's values in the graph's own order; every blob is
 * referenced once. Returns the number of references. */
static guint
check_blobfile (AfGraph *g, const char *text, const guint8 *blob, gsize len)
{
  GRegex *re = g_regex_new ("tensor<fp16, \\[([0-9, ]+)\\]> ([A-Za-z0-9_]+) = const\\(\\)\\[name"
                            " = .*?, val = tensor<fp16, \\[[0-9, ]+\\]>\\(BLOBFILE\\(path = .*?, "
                            "offset = (?:uint64|tensor<uint64, \\[\\]>)\\(([0-9]+)\\)\\)\\)\\];",
                            0, 0, NULL);
  GMatchInfo *m;
  guint refs = 0;
  g_regex_match (re, text, 0, &m);
  for (; g_match_info_matches (m); g_match_info_next (m, NULL)) {
    g_autofree char *dims = g_match_info_fetch (m, 1), *var = g_match_info_fetch (m, 2);
    g_autofree char *off_s = g_match_info_fetch (m, 3);
    gsize n = 1;
    g_auto (GStrv) d = g_strsplit (dims, ", ", -1);
    for (guint i = 0; d[i]; i++)
      n *= (gsize) g_ascii_strtoull (d[i], NULL, 10);
    guint64 off = g_ascii_strtoull (off_s, NULL, 10);
    g_assert_cmpuint (off % 64, ==, 0);
    g_assert_cmpuint (off + 64 + n * 2, <=, len);
    g_assert_cmphex (rd32 (blob + off), ==, 0xDEADBEEF);
    g_assert_cmpuint (rd32 (blob + off + 4), ==, 1);
    g_assert_cmpuint (rd64 (blob + off + 8), ==, n * 2);
    g_assert_cmpuint (rd64 (blob + off + 16), ==, off + 64);
    g_autofree guint16 *want = expected_halves (g, var, n);
    if (!want)
      g_error ("BLOBFILE constant %s matches no graph constant", var);
    for (gsize i = 0; i < n; i++)
      g_assert_cmphex (blob[off + 64 + 2 * i] | blob[off + 65 + 2 * i] << 8, ==, want[i]);
    refs++;
  }
  g_match_info_free (m);
  g_regex_unref (re);
  g_assert_cmpuint (rd32 (blob), ==, refs); /* the header's count */
  return refs;
}

static void
test_blobfile_golden (void)
{
  AfGraph *g = golden_graph ();
  AfMilProgram *p;
  g_autofree char *text = program_text (g, AF_ANE_DIALECT_IOS18, &p);
  gsize len;
  const guint8 *blob = af_ane_blob_bytes (p->blob, &len);
  g_assert_cmpuint (check_blobfile (g, text, blob, len), ==, 2);
  af_mil_program_free (p);
  af_graph_free (g);
}

/* Removes @path and everything under it (the tests' temporary exports). */
static void
rm_tree (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  if (d) {
    for (const char *e; (e = g_dir_read_name (d));) {
      g_autofree char *sub = g_build_filename (path, e, NULL);
      rm_tree (sub);
    }
    g_dir_close (d);
  }
  g_remove (path);
}

static char *
model_path (const char *rel)
{
  const char *root = g_getenv ("AF_SOURCE_ROOT");
  g_assert_nonnull (root);
  return g_build_filename (root, rel, NULL);
}

static char *
read_file (const char *dir, const char *a, const char *b, const char *c, gsize *len)
{
  g_autofree char *path = g_build_filename (dir, a, b, c, NULL);
  char *data;
  GError *error = NULL;
  g_file_get_contents (path, &data, len, &error);
  g_assert_no_error (error);
  return data;
}

/* The tiny classifier exported through the CLI's entry point: its conv,
 * linear and pooling-ones constants read back from weight.bin. */
static void
test_blobfile_tiny_classifier (void)
{
  g_autofree char *path = model_path ("models/tiny-classifier.json");
  GError *error = NULL;
  AfGraph *g = af_graph_open (path, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *dir = g_dir_make_tmp ("mil-export-XXXXXX", &error);
  g_assert_true (af_ane_export (g, dir, AF_ANE_DIALECT_IOS18, &error));
  g_assert_no_error (error);
  gsize tlen, blen;
  g_autofree char *text = read_file (dir, "region-0", "model.mil", NULL, &tlen);
  g_autofree guint8 *blob = (guint8 *) read_file (dir, "region-0", "weights", "weight.bin", &blen);
  g_assert_cmpuint (check_blobfile (g, text, blob, blen), >=, 5);
  rm_tree (dir);
  af_graph_free (g);
}

/* ------------------------------------------------------------ every op */

/* One graph holding every FUSED op of ops.def, in shapes that take each
 * branch of the lowering: a computed conv bias, a computed linear weight,
 * wide and narrow sums, a ceil-mode max pool, an average pool with
 * asymmetric excluded padding, a global average pool, both clip forms. */
static AfGraph *
every_op_graph (void)
{
  AfGraph *g = af_graph_new ("every-op");
  const gint64 is[4] = { 1, 3, 8, 8 }, ws[4] = { 4, 3, 3, 3 }, c4[1] = { 4 };
  const gint64 w2s[4] = { 2, 4, 1, 1 }, b2[1] = { 2 }, ch[4] = { 1, 4, 1, 1 };
  const gint64 r3[3] = { 1, 64, 8 }, r4[3] = { 1, 128, 4 }, lw[2] = { 5, 8 }, mw[2] = { 8, 3 };
  const float scale = 1.0f / 64, bias = -1.0f;
  /* m backs both "lw" [5, 8] and "mw" [8, 3]: 40 values */
  float w[108], v4[4] = { 0.5f, 1.0f, 1.5f, 2.0f }, two[4] = { 2, 2, 2, 2 }, w2[8], m[40];
  for (int i = 0; i < 108; i++)
    w[i] = (float) ((i * 7) % 11 - 5) / 16;
  for (int i = 0; i < 40; i++)
    m[i] = w2[i % 8] = (float) (i % 5 - 2) / 4;
  AfTensor *x = af_image_input (g, "image", is, AF_PIXEL_RGB, 1, &scale, 1, &bias);
  AfConvParams cp = AF_CONV_PARAMS_INIT;
  cp.pad[0] = cp.pad[1] = cp.pad[2] = cp.pad[3] = 1;
  AfTensor *c = af_conv (g, x, af_weight (g, "w", 4, ws, w), af_weight (g, "b", 1, c4, v4), &cp);
  AfTensor *bn =
      af_batch_norm (g, c, af_weight (g, "gamma", 1, c4, v4), af_weight (g, "beta", 1, c4, two),
                     af_weight (g, "mu", 1, c4, v4), af_weight (g, "var", 1, c4, two), 1e-3f);
  AfTensor *cl = af_clip (g, af_clip (g, af_relu6 (g, bn), -1.0f, 1.0f), -INFINITY, 0.5f);
  AfTensor *ex = af_exp (g, af_relu (g, cl));
  AfPoolParams mp = { { 3, 3 }, { 2, 2 }, { 0, 0, 0, 0 }, TRUE, FALSE };
  AfPoolParams ap = { { 2, 2 }, { 1, 1 }, { 0, 0, 1, 1 }, FALSE, FALSE };
  AfTensor *up = af_upsample (g, af_avg_pool (g, af_max_pool (g, ex, &mp), &ap), 2, 2);
  AfTensor *s = af_sub (g, af_add (g, up, c), af_tanh (g, cl));
  s = af_div (g, af_mul (g, s, af_sigmoid (g, cl)), af_weight (g, "two", 4, ch, two));
  s = af_minimum (g, af_maximum (g, s, af_silu (g, cl)), af_gelu (g, cl));
  AfTensor *cat[2] = { s, c };
  const int perm[4] = { 0, 2, 3, 1 }, a1[1] = { 1 }, a2[1] = { 2 }, am[1] = { -1 };
  AfTensor *t = af_reshape (g, af_transpose (g, af_concat (g, 2, cat, 1), 4, perm), 3, r3);
  AfTensor *mean = af_mean (g, t, 1, a1, FALSE);
  af_graph_add_output (g, "linear", af_linear (g, mean, af_weight (g, "lw", 2, lw, m), NULL));
  af_graph_add_output (g, "linear_computed",
                       af_linear (g, mean, af_input (g, "lin_w", 2, lw), NULL));
  af_graph_add_output (g, "matmul", af_matmul (g, t, af_weight (g, "mw", 2, mw, m)));
  af_graph_add_output (g, "wide_sum", af_sum (g, t, 1, a2, TRUE));
  af_graph_add_output (g, "narrow_sum", af_sum (g, af_reshape (g, t, 3, r4), 1, a2, FALSE));
  af_graph_add_output (g, "softmax", af_softmax (g, af_amax (g, t, 1, a1, FALSE), -1));
  af_graph_add_output (g, "amin", af_amin (g, t, 1, am, FALSE));
  af_graph_add_output (g, "conv_computed_bias",
                       af_conv (g, c, af_weight (g, "w2", 4, w2s, w2), af_input (g, "b2", 1, b2),
                                &(AfConvParams) AF_CONV_PARAMS_INIT));
  af_graph_add_output (g, "gap", af_global_avg_pool (g, c));
  const gint64 c8[1] = { 8 }; /* batch_norm of rank 2: MIL's takes rank 3..5 */
  const float pos8[8] = { 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f, 4 };
  AfTensor *p8 = af_weight (g, "p8", 1, c8, pos8);
  af_graph_add_output (g, "bn_rank2", af_batch_norm (g, mean, p8, p8, p8, p8, 1e-5f));
  /* conv_transpose (weight [Cin, Cout, kH, kW], stride 2, cropped 1 at the
   * end), hardswish, resize_bilinear in its three coordinate modes */
  const gint64 wts[4] = { 4, 2, 3, 3 }, b2v[1] = { 2 };
  AfConvParams tp = AF_CONV_PARAMS_INIT;
  tp.stride[0] = tp.stride[1] = 2;
  tp.pad[2] = tp.pad[3] = 1;
  af_graph_add_output (g, "conv_transpose",
                       af_hardswish (g, af_conv_transpose (g, c, af_weight (g, "wt", 4, wts, w),
                                                           af_weight (g, "bt", 1, b2v, v4), &tp)));
  af_graph_add_output (g, "fake_quant", af_fake_quant (g, cl, 0.125f, -0.5f, 0.375f));
  af_graph_add_output (g, "resize_align", af_resize_bilinear (g, cl, 5, 11, TRUE, FALSE));
  af_graph_add_output (g, "resize_half", af_resize_bilinear (g, cl, 16, 3, FALSE, TRUE));
  af_graph_add_output (g, "resize_asym", af_resize_bilinear (g, cl, 12, 12, FALSE, FALSE));
  g_assert_no_error (af_graph_error (g));
  return g;
}

/* Every FUSED op of ops.def is in every_op_graph, exports in both dialects
 * as one program, and reaches the MIL ops it should lower to. With @dir,
 * the exports are kept in DIR/ios18 and DIR/ios16 (for the lint). */
static void
check_every_op (const char *dir)
{
  AfGraph *g = every_op_graph ();
  gboolean seen[AF_OP_COUNT] = { FALSE };
  for (guint i = 0; i < g->nodes->len; i++)
    seen[((AfNode *) g_ptr_array_index (g->nodes, i))->op] = TRUE;
  for (int op = 0; op < AF_OP_COUNT; op++)
    if (af_op_info[op].route == AF_ROUTE_FUSED && !seen[op])
      g_error ("ops.def op %s has no case in every_op_graph", af_op_info[op].name);
  static const char *const mil_ops[] = {
    "cast",
    "slice_by_index",
    "conv",
    "batch_norm",
    "clip",
    "minimum",
    "relu",
    "exp",
    "max_pool",
    "avg_pool",
    "upsample_nearest_neighbor",
    "conv_transpose",
    "sigmoid_hard",
    "resize_bilinear",
    "round",
    "add",
    "sub",
    "tanh",
    "mul",
    "sigmoid",
    "real_div",
    "maximum",
    "silu",
    "gelu",
    "concat",
    "transpose",
    "reshape",
    "matmul",
    "linear",
    "reduce_sum",
    "reduce_max",
    "reduce_min",
    "softmax",
    "pad",
  };
  GError *error = NULL;
  for (int d = 0; d < 2; d++) {
    AfAneDialect dialect = d ? AF_ANE_DIALECT_IOS16 : AF_ANE_DIALECT_IOS18;
    g_autofree char *out = dir ? g_build_filename (dir, af_ane_dialect_name (dialect), NULL)
                               : g_dir_make_tmp ("mil-every-XXXXXX", &error);
    g_assert_no_error (error);
    g_assert_true (af_ane_export (g, out, dialect, &error));
    g_assert_no_error (error);
    gsize len;
    g_autofree char *text = read_file (out, "region-0", "model.mil", NULL, &len);
    for (gsize i = 0; i < G_N_ELEMENTS (mil_ops); i++) {
      g_autofree char *call = g_strdup_printf (" = %s(", mil_ops[i]);
      if (d == 1 && strcmp (mil_ops[i], "cast") == 0)
        continue; /* ios16: the image port is fp16 */
      if (!strstr (text, call))
        g_error ("%s: no %s statement", af_ane_dialect_name (dialect), mil_ops[i]);
    }
    g_assert_null (strstr (text, " = reduce_mean(")); /* every mean here is wide */
    g_autofree char *plan = read_file (out, "plan.json", NULL, NULL, &len);
    g_assert_null (strstr (strstr (plan, "\"kind\"") + 1, "\"kind\"")); /* one program */
    if (!dir)
      rm_tree (out);
  }
  af_graph_free (g);
}

static void
test_every_op (void)
{
  check_every_op (NULL);
}

/* ------------------------------------------------------------ determinism */

static void
assert_same_file (const char *a, const char *b, const char *rel)
{
  gsize la, lb;
  g_autofree char *da = read_file (a, rel, NULL, NULL, &la);
  g_autofree char *db = read_file (b, rel, NULL, NULL, &lb);
  g_assert_cmpuint (la, ==, lb);
  g_assert_true (memcmp (da, db, la) == 0);
}

/* Two exports of the same model (two loads, two processes' worth of hash
 * tables) give the same bytes. */
static void
test_determinism (void)
{
  g_autofree char *path = model_path ("models/tiny-classifier.json");
  GError *error = NULL;
  char *dirs[2];
  for (int k = 0; k < 2; k++) {
    AfGraph *g = af_graph_open (path, NULL, &error);
    g_assert_no_error (error);
    dirs[k] = g_dir_make_tmp ("mil-det-XXXXXX", &error);
    g_assert_true (af_ane_export (g, dirs[k], AF_ANE_DIALECT_IOS18, &error));
    g_assert_no_error (error);
    af_graph_free (g);
  }
  assert_same_file (dirs[0], dirs[1], "plan.json");
  assert_same_file (dirs[0], dirs[1], "region-0/model.mil");
  assert_same_file (dirs[0], dirs[1], "region-0/weights/weight.bin");
  for (int k = 0; k < 2; k++) {
    rm_tree (dirs[k]);
    g_free (dirs[k]);
  }
  /* and the golden graph, built twice */
  AfGraph *g1 = golden_graph (), *g2 = golden_graph ();
  g_autofree char *t1 = program_text (g1, AF_ANE_DIALECT_IOS18, NULL);
  g_autofree char *t2 = program_text (g2, AF_ANE_DIALECT_IOS18, NULL);
  g_assert_cmpstr (t1, ==, t2);
  af_graph_free (g1);
  af_graph_free (g2);
}

/* ------------------------------------------------------------ plan.json */

static JsonObject *
parse_plan (AfGraph *g, AfAneDialect d, JsonParser **parser)
{
  GError *error = NULL;
  g_autofree char *text = af_ane_plan_json (g, d, &error);
  g_assert_no_error (error);
  *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (*parser, text, -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (*parser));
}

static JsonObject *
segment (JsonObject *plan, guint k)
{
  return json_array_get_object_element (json_object_get_array_member (plan, "segments"), k);
}

/* "[1, 3, 2, 64]" of an int array member. */
static char *
shape_of (JsonObject *o, const char *key)
{
  JsonArray *a = json_object_get_array_member (o, key);
  GString *s = g_string_new ("[");
  for (guint i = 0; i < json_array_get_length (a); i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "",
                            json_array_get_int_element (a, i));
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static void
assert_binding (JsonObject *seg, const char *key, guint i, const char *name, const char *mil,
                const char *dtype, const char *shape, const char *padded)
{
  JsonObject *b = json_array_get_object_element (json_object_get_array_member (seg, key), i);
  g_autofree char *s = shape_of (b, "shape"), *p = shape_of (b, "padded_shape");
  g_assert_cmpstr (json_object_get_string_member (b, "name"), ==, name);
  g_assert_cmpstr (json_object_get_string_member (b, "mil"), ==, mil);
  g_assert_cmpstr (json_object_get_string_member (b, "dtype"), ==, dtype);
  g_assert_cmpstr (s, ==, shape);
  g_assert_cmpstr (p, ==, padded);
}

/* Program I/O: the last axis padded to 64 bytes, both shapes recorded. */
static void
test_padding (void)
{
  AfGraph *g = golden_graph ();
  JsonParser *parser;
  JsonObject *plan = parse_plan (g, AF_ANE_DIALECT_IOS18, &parser);
  g_assert_cmpstr (json_object_get_string_member (plan, "format"), ==, "aneforge-ane-plan");
  g_assert_cmpint (json_object_get_int_member (plan, "version"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (plan, "dialect"), ==, "ios18");
  JsonObject *s0 = segment (plan, 0);
  g_assert_cmpstr (json_object_get_string_member (s0, "kind"), ==, "program");
  g_assert_cmpstr (json_object_get_string_member (s0, "dir"), ==, "region-0");
  assert_binding (s0, "inputs", 0, "image", "image", "uint8", "[1, 3, 2, 2]", "[1, 3, 2, 64]");
  assert_binding (s0, "outputs", 0, "linear_3", "linear_3_padded", "fp16", "[1, 2]", "[1, 32]");
  g_object_unref (parser);
  plan = parse_plan (g, AF_ANE_DIALECT_IOS16, &parser);
  assert_binding (segment (plan, 0), "inputs", 0, "image", "image", "fp16", "[1, 3, 2, 2]",
                  "[1, 3, 2, 32]");
  g_object_unref (parser);
  af_graph_free (g);
  /* fp16 rows of 40 -> 64; 33 -> 64; 64 stays */
  const gint64 cases[][2] = { { 40, 64 }, { 33, 64 }, { 64, 64 }, { 1, 32 } };
  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++) {
    AfShape s = { 3, { 2, 5, cases[c][0] } }, p;
    af_mil_pad_shape (&s, 2, &p);
    g_assert_cmpint (p.d[2], ==, cases[c][1]);
    g_assert_cmpint (p.d[0] * 10 + p.d[1], ==, 25);
    af_mil_pad_shape (&s, 1, &p);
    g_assert_cmpint (p.d[2], ==, 64);
  }
}

/* ------------------------------------------------------------ partition */

static AfAnePartition *
partition (AfGraph *g)
{
  GError *error = NULL;
  g_assert_no_error (af_graph_error (g));
  AfAnePartition *p = af_ane_partition (g, &error);
  g_assert_no_error (error);
  return p;
}

static const AfAneSegment *
seg_at (const AfAnePartition *p, guint k)
{
  return g_ptr_array_index (p->segments, k);
}

/* relu -> argmax -> add: program, host (the bridge), program. */
static void
test_partition_argmax (void)
{
  AfGraph *g = af_graph_new ("argmax");
  const gint64 xs[2] = { 1, 8 }, one[1] = { 1 };
  const float two = 2.0f;
  AfTensor *x = af_relu (g, af_input (g, "x", 2, xs));
  AfTensor *i = af_argmax (g, x, 1, TRUE);
  af_graph_add_output (g, "y", af_add (g, i, af_weight (g, "two", 1, one, &two)));
  AfAnePartition *p = partition (g);
  g_assert_cmpuint (p->segments->len, ==, 3);
  g_assert_cmpuint (p->n_programs, ==, 2);
  g_assert_cmpuint (p->n_host, ==, 1);
  g_assert_cmpint (seg_at (p, 0)->kind, ==, AF_ANE_SEGMENT_PROGRAM);
  g_assert_cmpint (seg_at (p, 1)->kind, ==, AF_ANE_SEGMENT_HOST);
  g_assert_cmpint (seg_at (p, 2)->kind, ==, AF_ANE_SEGMENT_PROGRAM);
  g_assert_nonnull (strstr (seg_at (p, 1)->reason, "argmax is a bridge op"));
  g_assert_true (g_ptr_array_index (seg_at (p, 1)->inputs, 0) == x);
  g_assert_true (g_ptr_array_index (seg_at (p, 1)->outputs, 0) == i);
  g_autofree char *text = af_ane_partition_describe (p);
  g_assert_nonnull (strstr (text, "2 programs per frame, 1 host step, 1 cut"));
  g_assert_nonnull (strstr (text, "host argmax \"argmax_1\" -- cut: argmax is a bridge op"));
  af_ane_partition_free (p);
  /* plan.json's host entry */
  JsonParser *parser;
  JsonObject *plan = parse_plan (g, AF_ANE_DIALECT_IOS18, &parser);
  JsonObject *h = segment (plan, 1);
  g_assert_cmpstr (json_object_get_string_member (h, "kind"), ==, "host");
  g_assert_cmpstr (json_object_get_string_member (h, "op"), ==, "argmax");
  g_assert_cmpstr (json_object_get_string_member (h, "node"), ==, "argmax_1");
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (h, "inputs"), 0),
                   ==, "relu_0");
  g_assert_cmpstr (json_object_get_string_member (segment (plan, 2), "dir"), ==, "region-1");
  assert_binding (segment (plan, 2), "inputs", 0, "argmax_1", "argmax_1", "fp16", "[1, 1]",
                  "[1, 32]");
  g_object_unref (parser);
  af_graph_free (g);
}

/* A topk at the end: one program, then the host step; a branch beside the
 * bridge joins the first program instead of adding a cut. */
static void
test_partition_topk (void)
{
  AfGraph *g = af_graph_new ("topk");
  const gint64 xs[2] = { 1, 16 };
  AfTensor *x = af_input (g, "x", 2, xs);
  AfTensor *s = af_sigmoid (g, x);
  af_graph_add_output (g, "top", af_topk (g, s, 4, 1, FALSE));
  af_graph_add_output (g, "side", af_tanh (g, x));
  AfAnePartition *p = partition (g);
  g_assert_cmpuint (p->segments->len, ==, 2);
  g_assert_cmpuint (p->n_programs, ==, 1);
  g_assert_cmpuint (seg_at (p, 0)->nodes->len, ==, 2);
  g_assert_cmpuint (seg_at (p, 0)->outputs->len, ==, 2);
  g_assert_cmpint (seg_at (p, 1)->kind, ==, AF_ANE_SEGMENT_HOST);
  g_assert_nonnull (strstr (seg_at (p, 1)->reason, "topk is a bridge op"));
  af_ane_partition_free (p);
  af_graph_free (g);
}

/* Nodes the capability table refuses run on the host, with the rule. */
static void
test_partition_refused (void)
{
  AfGraph *g = af_graph_new ("refused");
  const gint64 xs[4] = { 1, 2, 32, 32 }, ws[4] = { 2, 2, 3, 3 };
  float w[36] = { 0 };
  AfTensor *x = af_input (g, "x", 4, xs);
  AfPoolParams pp = { { 15, 15 }, { 1, 1 }, { 0, 0, 0, 0 }, FALSE, FALSE };
  AfTensor *m = af_relu (g, af_max_pool (g, x, &pp));
  AfConvParams cp = AF_CONV_PARAMS_INIT;
  cp.dilation[0] = cp.dilation[1] = 2;
  AfTensor *c = af_conv (g, m, af_weight (g, "w", 4, ws, w), NULL, &cp);
  af_graph_add_output (g, "y", af_sigmoid (g, c));
  AfAnePartition *p = partition (g);
  g_assert_cmpuint (p->segments->len, ==, 4);
  g_assert_cmpuint (p->n_programs, ==, 2);
  g_assert_cmpint (seg_at (p, 0)->kind, ==, AF_ANE_SEGMENT_HOST);
  g_assert_nonnull (strstr (seg_at (p, 0)->reason, "max_pool kernel 15x15: pooling kernel > 13"));
  g_assert_cmpint (seg_at (p, 1)->kind, ==, AF_ANE_SEGMENT_PROGRAM);
  g_assert_cmpint (seg_at (p, 2)->kind, ==, AF_ANE_SEGMENT_HOST);
  g_assert_nonnull (strstr (seg_at (p, 2)->reason, "conv dilation 2x2"));
  af_ane_partition_free (p);
  af_graph_free (g);
  /* the limits one by one */
  char *why;
  g = af_graph_new ("limits");
  const gint64 big[2] = { 1, 20000 }, r6[6] = { 1, 1, 1, 1, 2, 2 };
  AfTensor *b = af_relu (g, af_input (g, "big", 2, big));
  AfTensor *r = af_relu (g, af_input (g, "r6", 6, r6));
  AfTensor *u = af_upsample (g, af_input (g, "u", 4, xs), 3, 3);
  g_assert_no_error (af_graph_error (g));
  g_assert_false (af_ane_caps_accepts (b->producer, NULL, &why));
  g_assert_nonnull (strstr (why, "dimension 1 > 16384 (max_tensor_dim"));
  g_free (why);
  g_assert_false (af_ane_caps_accepts (r->producer, NULL, &why));
  g_assert_nonnull (strstr (why, "rank 6 > 5"));
  g_free (why);
  g_assert_false (af_ane_caps_accepts (u->producer, NULL, &why));
  g_assert_nonnull (strstr (why, "upsampling by more than 2x"));
  g_free (why);
  af_graph_free (g);
}

/* A sum over many elements is a matmul against ones, not reduce_sum; a
 * mean divides by the count; a short sum stays reduce_sum. */
static void
test_wide_reduction (void)
{
  AfGraph *g = af_graph_new ("reduce");
  const gint64 xs[3] = { 2, 30, 100 }, ss[2] = { 1, 3 };
  const int last[1] = { -1 }, mid[1] = { 1 };
  AfTensor *x = af_input (g, "x", 3, xs), *s = af_input (g, "s", 2, ss);
  af_graph_add_output (g, "sum", af_sum (g, x, 1, last, FALSE));
  af_graph_add_output (g, "mean", af_mean (g, x, 1, mid, TRUE));
  af_graph_add_output (g, "short", af_sum (g, s, 1, last, TRUE));
  g_assert_no_error (af_graph_error (g));
  g_autofree char *t = program_text (g, AF_ANE_DIALECT_IOS18, NULL);
  g_assert_nonnull (strstr (t, "tensor<fp16, [100, 1]> sum_0_ones = const()"));
  g_assert_nonnull (strstr (t, "tensor<fp16, [60, 1]> sum_0_sum = matmul("));
  g_assert_nonnull (strstr (t, "tensor<fp16, [2, 100, 30]> mean_1_moved = transpose(perm = "
                               "mean_1_perm, x = x_unpadded)"));
  g_assert_nonnull (strstr (t, "val = tensor<int32, [3]>([0, 2, 1])]"));
  g_assert_nonnull (strstr (t, "mean_1_mean = real_div(x = mean_1_sum, y = mean_1_count)"));
  g_assert_nonnull (strstr (t, "fp16 mean_1_count = const()[name = string(\"mean_1_count\"), "
                               "val = fp16(0x1.ep+4)];"));
  g_assert_nonnull (strstr (t, "sum_2 = reduce_sum(axes = sum_2_axes, keep_dims = "
                               "sum_2_keep_dims, x = s_unpadded)"));
  g_assert_null (strstr (t, "sum_0 = reduce_sum"));
  af_graph_free (g);
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "--write-every-op") == 0) { /* for test-export.sh's lint */
    check_every_op (argv[2]);
    return 0;
  }
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ane/mil/golden-ios18", test_golden_ios18);
  g_test_add_func ("/ane/mil/golden-ios16", test_golden_ios16);
  g_test_add_func ("/ane/mil/facts-spelling", test_facts_spelling);
  g_test_add_func ("/ane/mil/hex-floats", test_hex_floats);
  g_test_add_func ("/ane/mil/blobfile-golden", test_blobfile_golden);
  g_test_add_func ("/ane/mil/blobfile-tiny-classifier", test_blobfile_tiny_classifier);
  g_test_add_func ("/ane/mil/determinism", test_determinism);
  g_test_add_func ("/ane/mil/padding", test_padding);
  g_test_add_func ("/ane/mil/wide-reduction", test_wide_reduction);
  g_test_add_func ("/ane/mil/every-op", test_every_op);
  g_test_add_func ("/ane/partition/argmax", test_partition_argmax);
  g_test_add_func ("/ane/partition/topk", test_partition_topk);
  g_test_add_func ("/ane/partition/refused", test_partition_refused);
  return g_test_run ();
}
