/* test-loader.c — the JSON graph loader and safetensors reader on good and
 * malformed files. Every fixture is generated here (into a temporary
 * directory) so the cases stay readable: JSON is written with single quotes,
 * which the test turns into double quotes. */
#include "graph.h"
#include "safetensors.h"

#include <glib/gstdio.h>
#include <string.h>

/* ---------------------------------------------------------------- fixtures */

/* 'x' -> "x": JSON written with single quotes (transfer full). */
static char *
dq (const char *s)
{
  char *r = g_strdup (s);
  for (char *p = r; *p; p++)
    if (*p == '\'')
      *p = '"';
  return r;
}

/* A safetensors file: 8-byte length, @header (single-quoted JSON) padded
 * with spaces so the data section starts 8-byte aligned, then @data_len
 * bytes counting up from 0 (transfer full). */
static GBytes *
make_st (const char *header, gsize data_len)
{
  char *h0 = dq (header);
  gsize hlen = (strlen (h0) + 7) / 8 * 8;
  char *h = g_strdup_printf ("%-*s", (int) hlen, h0);
  g_free (h0);
  GByteArray *a = g_byte_array_new ();
  guint8 len[8];
  for (int i = 0; i < 8; i++)
    len[i] = ((guint64) hlen >> (8 * i)) & 0xff;
  g_byte_array_append (a, len, 8);
  g_byte_array_append (a, (guint8 *) h, hlen);
  for (gsize i = 0; i < data_len; i++) {
    guint8 b = i & 0xff;
    g_byte_array_append (a, &b, 1);
  }
  g_free (h);
  return g_byte_array_free_to_bytes (a);
}

/* conv1.weight F32 [4, 3, 3, 3] and conv1.bias F32 [4]: 448 data bytes. */
#define ST_GOOD                                                                                    \
  "{'conv1.weight': {'dtype': 'F32', 'shape': [4, 3, 3, 3], 'data_offsets': [0, 432]},"            \
  " 'conv1.bias': {'dtype': 'F32', 'shape': [4], 'data_offsets': [432, 448]}}"

#define HEAD "{'aneforge': 1, 'name': 'tiny', 'weights': 'tiny.safetensors', "
#define IN_IMAGE                                                                                   \
  "'inputs': [{'name': 'image', 'shape': [1, 3, 8, 8],"                                            \
  " 'image': {'format': 'RGB', 'scale': 0.00390625, 'bias': 0}}], "
#define CONV1                                                                                      \
  "{'name': 'conv1', 'op': 'conv', 'inputs': ['image', 'conv1.weight', 'conv1.bias'],"             \
  " 'stride': 2, 'pad': 1}"
#define RELU1 "{'name': 'relu1', 'op': 'relu', 'inputs': ['conv1']}"
#define OUT(from) "'outputs': [{'name': 'features', 'from': '" from "'}]}"
#define GOOD HEAD IN_IMAGE "'nodes': [" CONV1 ", " RELU1 "], " OUT ("relu1")

typedef struct {
  char *dir;
  char *json_path;
} Fixture;

static void
write_bytes (const char *dir, const char *name, const void *data, gsize len)
{
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, data, len, NULL));
  g_free (path);
}

/* Writes tiny.json (@json, single-quoted) and tiny.safetensors (@st or none). */
static Fixture
fixture_new (const char *json, GBytes *st)
{
  Fixture f;
  f.dir = g_dir_make_tmp ("af-loader-XXXXXX", NULL);
  g_assert_nonnull (f.dir);
  f.json_path = g_build_filename (f.dir, "tiny.json", NULL);
  if (json) {
    char *j = dq (json);
    write_bytes (f.dir, "tiny.json", j, strlen (j));
    g_free (j);
  }
  if (st)
    write_bytes (f.dir, "tiny.safetensors", g_bytes_get_data (st, NULL), g_bytes_get_size (st));
  return f;
}

static void
fixture_free (Fixture *f)
{
  GDir *d = g_dir_open (f->dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    char *p = g_build_filename (f->dir, name, NULL);
    g_unlink (p);
    g_free (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->json_path);
}

static void
assert_error (const GError *error, int code, const char *const *want)
{
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  if (error->code != code || error->domain != AF_ERROR)
    g_printerr ("unexpected error (code %d, want %d): %s\n", error->code, code, error->message);
  g_assert_true (error->domain == AF_ERROR);
  g_assert_cmpint (error->code, ==, code);
  for (int i = 0; i < 4 && want[i]; i++)
    if (!strstr (error->message, want[i])) {
      g_printerr ("message \"%s\" lacks \"%s\"\n", error->message, want[i]);
      g_assert_not_reached ();
    }
}

/* Loads @json with @st beside it and asserts the load fails as expected. */
static void
expect_fail (const char *json, GBytes *st, int code, const char *const *want)
{
  Fixture f = fixture_new (json, st);
  GError *error = NULL;
  AfGraph *g = af_graph_load (f.json_path, &error);
  if (g)
    g_printerr ("loaded, but expected an error containing \"%s\"\n", want[0]);
  g_assert_null (g);
  assert_error (error, code, want);
  g_error_free (error);
  fixture_free (&f);
}

/* ---------------------------------------------------------------- malformed graphs */

typedef struct {
  const char *path; /* test path */
  const char *json; /* single-quoted graph */
  const char *st;   /* safetensors header; NULL: ST_GOOD */
  gsize st_data;    /* data bytes with @st */
  int code;
  const char *want[4]; /* substrings of the message */
} Case;

/* Each row is one malformed file and the error it must produce. */
static const Case cases[] = {
  /* an op name that does not exist names node and op */
  { "/loader/bad/unknown-op",
    HEAD IN_IMAGE "'nodes': [" CONV1
                  ", {'name': 'c', 'op': 'convv', 'inputs': ['conv1']}], " OUT ("c"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "tiny.json: nodes[1] \"c\": unknown op \"convv\"" } },
  /* a unary op with two inputs is an arity error on field inputs */
  { "/loader/bad/arity",
    HEAD IN_IMAGE "'nodes': [" CONV1
                  ", {'name': 'r', 'op': 'relu', 'inputs': ['conv1', 'conv1']}], " OUT ("r"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "tiny.json", "nodes[1] \"r\"", "field \"inputs\"", "takes 1" } },
  /* an input naming nothing is reported with its name */
  { "/loader/bad/unknown-input",
    HEAD IN_IMAGE "'nodes': [" CONV1
                  ", {'name': 'conv2', 'op': 'relu', 'inputs': ['conv9']}], " OUT ("conv2"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "tiny.json: nodes[1] \"conv2\": field \"inputs\": unknown input name \"conv9\"" } },
  /* two nodes feeding each other form a cycle */
  { "/loader/bad/cycle",
    HEAD IN_IMAGE "'nodes': [{'name': 'a', 'op': 'relu', 'inputs': ['b']},"
                  " {'name': 'b', 'op': 'relu', 'inputs': ['a']}], " OUT ("a"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "tiny.json", "cycle" } },
  /* a node feeding itself is a cycle too */
  { "/loader/bad/self-cycle",
    HEAD IN_IMAGE "'nodes': [{'name': 'a', 'op': 'relu', 'inputs': ['a']}], " OUT ("a"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "nodes[0] \"a\"", "cycle" } },
  /* a conv weight with 3 input channels on a 4-channel input is a shape error */
  { "/loader/bad/conv-channels",
    HEAD "'inputs': [{'name': 'image', 'shape': [1, 4, 8, 8]}], 'nodes': [" CONV1
         "], " OUT ("conv1"),
    NULL,
    448,
    AF_ERROR_SHAPE,
    { "tiny.json", "nodes[0] \"conv1\"" } },
  /* a bias of 5 values for 4 output channels is a shape error */
  { "/loader/bad/bias-shape",
    GOOD,
    "{'conv1.weight': {'dtype': 'F32', 'shape': [4, 3, 3, 3], 'data_offsets': [0, 432]},"
    " 'conv1.bias': {'dtype': 'F32', 'shape': [5], 'data_offsets': [432, 452]}}",
    452,
    AF_ERROR_SHAPE,
    { "tiny.json", "nodes[0] \"conv1\"" } },
  /* a dotted name that is not in the weights file is a missing weight */
  { "/loader/bad/missing-weight",
    HEAD IN_IMAGE
    "'nodes': [{'name': 'conv1', 'op': 'conv', 'inputs': ['image', 'conv2.weight']}], " OUT (
        "conv1"),
    NULL,
    448,
    AF_ERROR_WEIGHTS,
    { "nodes[0] \"conv1\"", "field \"inputs\"", "\"conv2.weight\" not found",
      "tiny.safetensors" } },
  /* a weight whose byte range does not match its shape and dtype */
  { "/loader/bad/weight-size",
    GOOD,
    "{'conv1.weight': {'dtype': 'F32', 'shape': [4, 3, 3, 3], 'data_offsets': [0, 432]},"
    " 'conv1.bias': {'dtype': 'F32', 'shape': [4], 'data_offsets': [432, 440]}}",
    448,
    AF_ERROR_WEIGHTS,
    { "tiny.safetensors", "tensor \"conv1.bias\"", "need 16" } },
  /* BF16 is named as unsupported with what is accepted */
  { "/loader/bad/dtype-bf16",
    GOOD,
    "{'conv1.weight': {'dtype': 'BF16', 'shape': [4, 3, 3, 3], 'data_offsets': [0, 216]},"
    " 'conv1.bias': {'dtype': 'F32', 'shape': [4], 'data_offsets': [216, 232]}}",
    232,
    AF_ERROR_WEIGHTS,
    { "tiny.safetensors", "tensor \"conv1.weight\"", "\"BF16\"", "accepted: F32, F16, I8, U8" } },
  /* I32 is rejected the same way */
  { "/loader/bad/dtype-i32",
    GOOD,
    "{'conv1.weight': {'dtype': 'F32', 'shape': [4, 3, 3, 3], 'data_offsets': [0, 432]},"
    " 'conv1.bias': {'dtype': 'I32', 'shape': [4], 'data_offsets': [432, 448]}}",
    448,
    AF_ERROR_WEIGHTS,
    { "tensor \"conv1.bias\"", "\"I32\"", "not supported" } },
  /* data offsets past the end of the data section */
  { "/loader/bad/offsets-outside",
    GOOD,
    "{'conv1.weight': {'dtype': 'F32', 'shape': [4, 3, 3, 3], 'data_offsets': [0, 432]},"
    " 'conv1.bias': {'dtype': 'F32', 'shape': [4], 'data_offsets': [432, 448]}}",
    300,
    AF_ERROR_WEIGHTS,
    { "tiny.safetensors: tensor \"conv1.weight\": data_offsets [0, 432] outside the data section "
      "(300 bytes)" } },
  /* two tensors sharing bytes */
  { "/loader/bad/offsets-overlap",
    GOOD,
    "{'conv1.weight': {'dtype': 'F32', 'shape': [4, 3, 3, 3], 'data_offsets': [0, 432]},"
    " 'conv1.bias': {'dtype': 'F32', 'shape': [4], 'data_offsets': [400, 416]}}",
    448,
    AF_ERROR_WEIGHTS,
    { "tiny.safetensors", "conv1.bias", "overlap" } },
  /* begin after end */
  { "/loader/bad/offsets-reversed",
    GOOD,
    "{'conv1.weight': {'dtype': 'F32', 'shape': [4, 3, 3, 3], 'data_offsets': [432, 0]},"
    " 'conv1.bias': {'dtype': 'F32', 'shape': [4], 'data_offsets': [432, 448]}}",
    448,
    AF_ERROR_WEIGHTS,
    { "conv1.weight", "outside the data section" } },
  /* a negative dim in a weight */
  { "/loader/bad/weight-negative-dim",
    GOOD,
    "{'conv1.weight': {'dtype': 'F32', 'shape': [4, -3, 3, 3], 'data_offsets': [0, 432]}}",
    448,
    AF_ERROR_WEIGHTS,
    { "conv1.weight", "dim 1 = -3 is negative" } },
  /* a weight of rank 9 */
  { "/loader/bad/weight-rank",
    GOOD,
    "{'conv1.weight': {'dtype': 'U8', 'shape': [1, 1, 1, 1, 1, 1, 1, 1, 1], 'data_offsets': [0, "
    "1]}}",
    448,
    AF_ERROR_LIMIT,
    { "conv1.weight", "rank 9" } },
  /* dims whose product overflows 64 bits must be caught before multiplying */
  { "/loader/bad/weight-huge",
    GOOD,
    "{'conv1.weight': {'dtype': 'F32', 'shape': [2147483648, 2147483648, 2147483648],"
    " 'data_offsets': [0, 0]}}",
    448,
    AF_ERROR_LIMIT,
    { "conv1.weight", "elements" } },
  /* a dim of 2^40 in a weight */
  { "/loader/bad/weight-dim",
    GOOD,
    "{'conv1.weight': {'dtype': 'F32', 'shape': [1099511627776], 'data_offsets': [0, 4]}}",
    448,
    AF_ERROR_LIMIT,
    { "conv1.weight", "1099511627776" } },
  /* the header is not JSON */
  { "/loader/bad/st-header-syntax",
    GOOD,
    "{'conv1.weight': {'dtype'",
    448,
    AF_ERROR_PARSE,
    { "tiny.safetensors", "not valid JSON" } },
  /* the header is JSON but not an object */
  { "/loader/bad/st-header-array",
    GOOD,
    "[1, 2]",
    448,
    AF_ERROR_PARSE,
    { "tiny.safetensors", "expected a JSON object" } },
  /* a tensor entry without data_offsets */
  { "/loader/bad/st-no-offsets",
    GOOD,
    "{'conv1.weight': {'dtype': 'F32', 'shape': [4, 3, 3, 3]}}",
    448,
    AF_ERROR_PARSE,
    { "conv1.weight", "data_offsets" } },
  /* __metadata__ is allowed, but must be an object */
  { "/loader/bad/st-metadata", GOOD, "{'__metadata__': 3}", 0, AF_ERROR_PARSE, { "__metadata__" } },
  /* the JSON stops in the middle */
  { "/loader/bad/json-truncated",
    "{'aneforge': 1, 'inputs': [{'name': 'x', 'sha",
    NULL,
    448,
    AF_ERROR_PARSE,
    { "tiny.json", "not valid JSON" } },
  /* a node named like a weight collides with it */
  { "/loader/bad/dup-node-weight",
    HEAD IN_IMAGE "'nodes': [" CONV1
                  ", {'name': 'conv1.weight', 'op': 'relu', 'inputs': ['conv1']}], " OUT ("conv1"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "nodes[1] \"conv1.weight\"", "already used by a tensor of tiny.safetensors" } },
  /* two nodes with one name */
  { "/loader/bad/dup-node-node",
    HEAD IN_IMAGE "'nodes': [" CONV1
                  ", {'name': 'conv1', 'op': 'relu', 'inputs': ['image']}], " OUT ("conv1"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "nodes[1] \"conv1\"", "field \"name\"", "already used by nodes[0]" } },
  /* a node named like an input */
  { "/loader/bad/dup-node-input",
    HEAD IN_IMAGE "'nodes': [{'name': 'image', 'op': 'relu', 'inputs': ['image']}], " OUT ("image"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "nodes[0] \"image\"", "already used by inputs[0]" } },
  /* a dim of 2^40 in an input */
  { "/loader/bad/input-dim-huge",
    HEAD "'inputs': [{'name': 'x', 'shape': [1, 1099511627776]}], 'nodes': [], " OUT ("x"),
    NULL,
    448,
    AF_ERROR_LIMIT,
    { "inputs[0] \"x\"", "field \"shape\"", "dim 1" } },
  /* many moderate dims whose product is too large */
  { "/loader/bad/input-numel",
    HEAD "'inputs': [{'name': 'x', 'shape': [65536, 65536, 65536]}], 'nodes': [], " OUT ("x"),
    NULL,
    448,
    AF_ERROR_LIMIT,
    { "inputs[0] \"x\"", "field \"shape\"" } },
  /* an input of rank 9 */
  { "/loader/bad/input-rank",
    HEAD "'inputs': [{'name': 'x', 'shape': [1, 1, 1, 1, 1, 1, 1, 1, 1]}], 'nodes': [], " OUT ("x"),
    NULL,
    448,
    AF_ERROR_LIMIT,
    { "inputs[0] \"x\"", "rank 9" } },
  /* a negative dim in an input */
  { "/loader/bad/input-negative-dim",
    HEAD "'inputs': [{'name': 'x', 'shape': [1, -3]}], 'nodes': [], " OUT ("x"),
    NULL,
    448,
    AF_ERROR_SHAPE,
    { "inputs[0] \"x\"", "field \"shape\"", "dim 1 = -3" } },
  /* the file has no nodes array */
  { "/loader/bad/missing-nodes",
    HEAD IN_IMAGE OUT ("image"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "tiny.json", "field \"nodes\": missing" } },
  /* an attribute the op does not take */
  { "/loader/bad/unknown-attr",
    HEAD IN_IMAGE
    "'nodes': [{'name': 'r', 'op': 'relu', 'inputs': ['image'], 'stride': 2}], " OUT ("r"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "nodes[0] \"r\"", "unknown attribute \"stride\" for op \"relu\"" } },
  /* a misspelt attribute lists the accepted ones */
  { "/loader/bad/typo-attr",
    HEAD IN_IMAGE "'nodes': [{'name': 'conv1', 'op': 'conv', 'inputs': ['image', 'conv1.weight'],"
                  " 'strid': 2}], " OUT ("conv1"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "\"strid\"", "accepted: stride, pad, dilation, groups" } },
  /* an attribute of the wrong JSON type */
  { "/loader/bad/attr-type",
    HEAD IN_IMAGE "'nodes': [{'name': 'conv1', 'op': 'conv', 'inputs': ['image', 'conv1.weight'],"
                  " 'stride': 'two'}], " OUT ("conv1"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "tiny.json: nodes[0] \"conv1\": attribute \"stride\": expected an integer or [h, w], got a "
      "string" } },
  /* pad with three values */
  { "/loader/bad/attr-pad3",
    HEAD IN_IMAGE "'nodes': [{'name': 'conv1', 'op': 'conv', 'inputs': ['image', 'conv1.weight'],"
                  " 'pad': [1, 1, 1]}], " OUT ("conv1"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "attribute \"pad\"", "got 3 values" } },
  /* an integer attribute given as a fraction */
  { "/loader/bad/attr-float-int",
    HEAD IN_IMAGE "'nodes': [{'name': 'conv1', 'op': 'conv', 'inputs': ['image', 'conv1.weight'],"
                  " 'groups': 1.5}], " OUT ("conv1"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "attribute \"groups\"", "expected an integer, got a number" } },
  /* an absurd attribute value cannot overflow the shape arithmetic */
  { "/loader/bad/attr-huge",
    HEAD IN_IMAGE "'nodes': [{'name': 'conv1', 'op': 'conv', 'inputs': ['image', 'conv1.weight'],"
                  " 'pad': 4611686018427387904}], " OUT ("conv1"),
    NULL,
    448,
    AF_ERROR_LIMIT,
    { "attribute \"pad\"", "outside" } },
  /* a bool attribute given as a number */
  { "/loader/bad/attr-bool",
    HEAD IN_IMAGE
    "'nodes': [{'name': 'm', 'op': 'mean', 'inputs': ['image'], 'keepdims': 1}], " OUT ("m"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "attribute \"keepdims\"", "expected true or false, got an integer" } },
  /* a list attribute given as a number */
  { "/loader/bad/attr-ints",
    HEAD IN_IMAGE
    "'nodes': [{'name': 'm', 'op': 'mean', 'inputs': ['image'], 'axes': 3}], " OUT ("m"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "attribute \"axes\"", "got an integer" } },
  /* a list attribute longer than the maximum rank */
  { "/loader/bad/attr-ints-long",
    HEAD IN_IMAGE "'nodes': [{'name': 'm', 'op': 'mean', 'inputs': ['image'],"
                  " 'axes': [0, 1, 2, 3, 0, 1, 2]}], " OUT ("m"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "attribute \"axes\"", "7 values" } },
  /* a float attribute given as a string */
  { "/loader/bad/attr-float",
    HEAD IN_IMAGE
    "'nodes': [{'name': 'c', 'op': 'clip', 'inputs': ['image'], 'min': 'zero'}], " OUT ("c"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "attribute \"min\"", "expected a number, got a string" } },
  /* a pixel format that does not exist */
  { "/loader/bad/image-format",
    HEAD "'inputs': [{'name': 'image', 'shape': [1, 3, 8, 8], 'image': {'format': 'RGBA'}}], "
         "'nodes': [], " OUT ("image"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "inputs[0] \"image\"", "field \"image.format\"", "\"RGBA\"" } },
  /* GRAY with 3 channels */
  { "/loader/bad/image-gray-channels",
    HEAD "'inputs': [{'name': 'image', 'shape': [1, 3, 8, 8], 'image': {'format': 'GRAY'}}], "
         "'nodes': [], " OUT ("image"),
    NULL,
    448,
    AF_ERROR_SHAPE,
    { "inputs[0] \"image\"", "channels" } },
  /* an image input that is not 4-D */
  { "/loader/bad/image-rank",
    HEAD "'inputs': [{'name': 'image', 'shape': [3, 8, 8], 'image': {'format': 'RGB'}}], "
         "'nodes': [], " OUT ("image"),
    NULL,
    448,
    AF_ERROR_SHAPE,
    { "inputs[0] \"image\"", "[N, C, H, W]" } },
  /* two scale values for three channels */
  { "/loader/bad/image-scale-count",
    HEAD "'inputs': [{'name': 'image', 'shape': [1, 3, 8, 8], 'image': {'format': 'RGB',"
         " 'scale': [1, 2]}}], 'nodes': [], " OUT ("image"),
    NULL,
    448,
    AF_ERROR_SHAPE,
    { "inputs[0] \"image\"", "field \"image.scale\"", "2 values for 3 channels" } },
  /* a bias of the wrong type */
  { "/loader/bad/image-bias-type",
    HEAD "'inputs': [{'name': 'image', 'shape': [1, 3, 8, 8], 'image': {'format': 'RGB',"
         " 'bias': 'zero'}}], 'nodes': [], " OUT ("image"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "field \"image.bias\"", "got a string" } },
  /* an unknown key inside image */
  { "/loader/bad/image-key",
    HEAD "'inputs': [{'name': 'image', 'shape': [1, 3, 8, 8], 'image': {'format': 'RGB',"
         " 'mean': 0}}], 'nodes': [], " OUT ("image"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "inputs[0] \"image\"", "\"mean\"" } },
  /* a decode type this build does not know */
  { "/loader/bad/decode-type",
    HEAD IN_IMAGE "'nodes': [], 'outputs': [{'name': 'p', 'from': 'image',"
                  " 'decode': {'type': 'depth'}}]}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "outputs[0] \"p\": decode: field \"type\"", "\"depth\"" } },
  /* a detection without its style */
  { "/loader/bad/decode-style",
    HEAD IN_IMAGE "'nodes': [], 'outputs': [{'name': 'p', 'from': 'image',"
                  " 'decode': {'type': 'detection'}}]}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "outputs[0] \"p\": decode: field \"style\"", "missing" } },
  /* top_k of 0 */
  { "/loader/bad/decode-top-k",
    HEAD IN_IMAGE "'nodes': [], 'outputs': [{'name': 'p', 'from': 'image',"
                  " 'decode': {'type': 'classification', 'top_k': 0}}]}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "outputs[0] \"p\": decode: field \"top_k\"", "0" } },
  /* softmax given as a string */
  { "/loader/bad/decode-softmax",
    HEAD IN_IMAGE "'nodes': [], 'outputs': [{'name': 'p', 'from': 'image',"
                  " 'decode': {'type': 'classification', 'softmax': 'yes'}}]}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "decode: field \"softmax\"", "got a string" } },
  /* labels given as a number */
  { "/loader/bad/decode-labels",
    HEAD IN_IMAGE "'nodes': [], 'outputs': [{'name': 'p', 'from': 'image',"
                  " 'decode': {'type': 'classification', 'labels': 3}}]}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "outputs[0] \"p\": decode: field \"labels\"", "expected a string, got a number" } },
  /* an output naming no value */
  { "/loader/bad/output-unknown",
    HEAD IN_IMAGE "'nodes': [" CONV1 "], " OUT ("nope"),
    NULL,
    448,
    AF_ERROR_INVALID,
    { "tiny.json: outputs[0] \"features\": field \"from\": unknown value \"nope\"" } },
  /* two outputs with one name */
  { "/loader/bad/output-dup",
    HEAD IN_IMAGE
    "'nodes': [], 'outputs': [{'name': 'p', 'from': 'image'}, {'name': 'p', 'from': 'image'}]}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "outputs[1] \"p\"", "twice" } },
  /* format version 2 */
  { "/loader/bad/version-2",
    "{'aneforge': 2, 'inputs': [], 'nodes': [], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_UNSUPPORTED,
    { "tiny.json: field \"aneforge\": unsupported format version 2 (this build reads 1)" } },
  /* no version at all */
  { "/loader/bad/version-missing",
    "{'inputs': [], 'nodes': [], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "field \"aneforge\": missing" } },
  /* the root is an array */
  { "/loader/bad/root-array",
    "[1, 2, 3]",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "tiny.json", "top level", "got an array" } },
  /* the file is empty */
  { "/loader/bad/empty", "", NULL, 448, AF_ERROR_PARSE, { "tiny.json", "empty" } },
  /* a misspelt top-level key is not ignored */
  { "/loader/bad/top-level-typo",
    "{'aneforge': 1, 'inputs': [], 'nodes': [], 'outputs': [], 'output': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "unknown top-level field \"output\"" } },
  /* a weights file that does not exist */
  { "/loader/bad/weights-missing-file",
    "{'aneforge': 1, 'weights': 'nothere.safetensors', 'inputs': [], 'nodes': [], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_IO,
    { "tiny.json", "field \"weights\"", "nothere.safetensors" } },
  /* a parser-killing nesting depth */
  { "/loader/bad/deep",
    "{'aneforge': 1, 'doc': "
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], 'inputs': [], "
    "'nodes': [], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_LIMIT,
    { "tiny.json", "nested" } },
  /* wrong JSON types, one per field */
  { "/loader/bad/type/aneforge",
    "{'aneforge': '1', 'inputs': [], 'nodes': [], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "field \"aneforge\"", "got a string" } },
  { "/loader/bad/type/name",
    "{'aneforge': 1, 'name': 5, 'inputs': [], 'nodes': [], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "field \"name\"", "expected a string, got an integer" } },
  { "/loader/bad/type/weights",
    "{'aneforge': 1, 'weights': true, 'inputs': [], 'nodes': [], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "field \"weights\"", "got a boolean" } },
  { "/loader/bad/type/inputs",
    "{'aneforge': 1, 'inputs': {}, 'nodes': [], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "field \"inputs\"", "expected an array, got an object" } },
  { "/loader/bad/type/nodes",
    "{'aneforge': 1, 'inputs': [], 'nodes': 'x', 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "field \"nodes\"", "got a string" } },
  { "/loader/bad/type/outputs",
    "{'aneforge': 1, 'inputs': [], 'nodes': [], 'outputs': 3}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "field \"outputs\"", "got an integer" } },
  { "/loader/bad/type/input-entry",
    "{'aneforge': 1, 'inputs': [3], 'nodes': [], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "inputs[0]", "expected an object" } },
  { "/loader/bad/type/input-name",
    "{'aneforge': 1, 'inputs': [{'name': 1, 'shape': [1]}], 'nodes': [], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "inputs[0]", "field \"name\"" } },
  { "/loader/bad/type/input-shape",
    "{'aneforge': 1, 'inputs': [{'name': 'x', 'shape': '1'}], 'nodes': [], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "inputs[0] \"x\"", "field \"shape\"", "got a string" } },
  { "/loader/bad/type/input-dim",
    "{'aneforge': 1, 'inputs': [{'name': 'x', 'shape': [1.5]}], 'nodes': [], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "inputs[0] \"x\"", "dim 0", "got a number" } },
  { "/loader/bad/type/image",
    "{'aneforge': 1, 'inputs': [{'name': 'x', 'shape': [1, 3, 2, 2], 'image': 'RGB'}], 'nodes': [],"
    " 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "inputs[0] \"x\"", "field \"image\"", "got a string" } },
  { "/loader/bad/type/node-entry",
    "{'aneforge': 1, 'inputs': [], 'nodes': [null], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "nodes[0]", "got null" } },
  { "/loader/bad/type/node-name",
    "{'aneforge': 1, 'inputs': [], 'nodes': [{'name': null, 'op': 'relu'}], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "nodes[0]", "field \"name\"" } },
  { "/loader/bad/type/node-op",
    "{'aneforge': 1, 'inputs': [], 'nodes': [{'name': 'a', 'op': 3, 'inputs': []}], 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "nodes[0] \"a\"", "field \"op\"", "got an integer" } },
  { "/loader/bad/type/node-inputs",
    "{'aneforge': 1, 'inputs': [], 'nodes': [{'name': 'a', 'op': 'relu', 'inputs': 'x'}],"
    " 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "nodes[0] \"a\"", "field \"inputs\"", "got a string" } },
  { "/loader/bad/type/node-input",
    "{'aneforge': 1, 'inputs': [], 'nodes': [{'name': 'a', 'op': 'relu', 'inputs': [7]}],"
    " 'outputs': []}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "nodes[0] \"a\"", "input 0", "got an integer" } },
  { "/loader/bad/type/output-entry",
    "{'aneforge': 1, 'inputs': [], 'nodes': [], 'outputs': ['x']}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "outputs[0]", "got a string" } },
  { "/loader/bad/type/output-from",
    "{'aneforge': 1, 'inputs': [], 'nodes': [], 'outputs': [{'name': 'o', 'from': 5}]}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "outputs[0] \"o\"", "field \"from\"", "got an integer" } },
  { "/loader/bad/type/decode",
    "{'aneforge': 1, 'inputs': [{'name': 'x', 'shape': [1]}], 'nodes': [],"
    " 'outputs': [{'name': 'o', 'from': 'x', 'decode': 'classification'}]}",
    NULL,
    448,
    AF_ERROR_INVALID,
    { "outputs[0] \"o\"", "field \"decode\"", "got a string" } },
};

/* Runs one row of cases[]. */
static void
test_case (gconstpointer data)
{
  const Case *c = data;
  GBytes *st = make_st (c->st ? c->st : ST_GOOD, c->st_data);
  expect_fail (c->json, st, c->code, c->want);
  g_bytes_unref (st);
}

/* ---------------------------------------------------------------- raw-byte files */

/* A safetensors file cut in the middle of its header names the sizes. */
static void
test_st_truncated_header (void)
{
  GBytes *st = make_st (ST_GOOD, 448);
  GBytes *cut = g_bytes_new_from_bytes (st, 0, 60);
  const char *want[] = { "tiny.safetensors", "truncated", "header length", NULL };
  expect_fail (GOOD, cut, AF_ERROR_PARSE, want);
  g_bytes_unref (cut);
  g_bytes_unref (st);
}

/* A safetensors file cut in its data section is caught by the offsets check. */
static void
test_st_truncated_data (void)
{
  GBytes *st = make_st (ST_GOOD, 448);
  GBytes *cut = g_bytes_new_from_bytes (st, 0, g_bytes_get_size (st) - 10);
  const char *want[] = { "tiny.safetensors", "conv1.bias", "outside the data section (438 bytes)",
                         NULL };
  expect_fail (GOOD, cut, AF_ERROR_WEIGHTS, want);
  g_bytes_unref (cut);
  g_bytes_unref (st);
}

/* A file shorter than the 8-byte length prefix. */
static void
test_st_tiny_file (void)
{
  GBytes *st = g_bytes_new ("abc", 3);
  const char *want[] = { "tiny.safetensors", "truncated", "3 bytes", NULL };
  expect_fail (GOOD, st, AF_ERROR_PARSE, want);
  g_bytes_unref (st);
}

/* A header length of 2^60 is refused before anything is allocated. */
static void
test_st_absurd_header_len (void)
{
  guint8 buf[16] = { 0, 0, 0, 0, 0, 0, 0, 0x10, '{', '}' };
  GBytes *st = g_bytes_new (buf, sizeof buf);
  const char *want[] = { "tiny.safetensors", "header length 1152921504606846976", "limit", NULL };
  expect_fail (GOOD, st, AF_ERROR_LIMIT, want);
  g_bytes_unref (st);
}

/* An empty weights file is a truncated one. */
static void
test_st_empty (void)
{
  GBytes *st = g_bytes_new (NULL, 0);
  const char *want[] = { "tiny.safetensors", "truncated", NULL };
  expect_fail (GOOD, st, AF_ERROR_PARSE, want);
  g_bytes_unref (st);
}

/* A graph path that does not exist is an IO error naming it. */
static void
test_missing_file (void)
{
  GError *error = NULL;
  g_assert_null (af_graph_load ("/nonexistent/dir/tiny.json", &error));
  const char *want[] = { "/nonexistent/dir/tiny.json", NULL };
  assert_error (error, AF_ERROR_IO, want);
  g_error_free (error);
}

/* A directory given as a graph file is an IO error, not a hang or a crash. */
static void
test_directory_file (void)
{
  GError *error = NULL;
  g_assert_null (af_graph_load ("/tmp", &error));
  const char *want[] = { "/tmp", "not a regular file", NULL };
  assert_error (error, AF_ERROR_IO, want);
  g_error_free (error);
}

/* From memory without a weights directory, a "weights" key is an error. */
static void
test_from_data_no_weights_dir (void)
{
  char *j = dq (GOOD);
  GError *error = NULL;
  g_assert_null (af_graph_load_from_data (j, strlen (j), NULL, "mem.json", &error));
  const char *want[] = { "mem.json", "field \"weights\"", "weights directory", NULL };
  assert_error (error, AF_ERROR_INVALID, want);
  g_error_free (error);
  g_free (j);
}

/* A graph with more nodes than AF_MAX_NODES is refused as a limit. */
static void
test_too_many_nodes (void)
{
  GString *s = g_string_new ("{\"aneforge\": 1, \"inputs\": [], \"outputs\": [], \"nodes\": [");
  for (int i = 0; i <= AF_MAX_NODES; i++)
    g_string_append (s, i ? ",0" : "0");
  g_string_append (s, "]}");
  GError *error = NULL;
  g_assert_null (af_graph_load_from_data (s->str, s->len, NULL, "big.json", &error));
  const char *want[] = { "big.json", "limit", NULL };
  assert_error (error, AF_ERROR_LIMIT, want);
  g_error_free (error);
  g_string_free (s, TRUE);
}

/* A node with more than AF_MAX_INPUTS_PER_NODE inputs is refused as a limit. */
static void
test_too_many_inputs (void)
{
  GString *s = g_string_new ("{\"aneforge\": 1, \"inputs\": [{\"name\": \"x\", \"shape\": [1]}],"
                             " \"outputs\": [], \"nodes\": [{\"name\": \"c\", \"op\": \"concat\","
                             " \"inputs\": [");
  for (int i = 0; i <= AF_MAX_INPUTS_PER_NODE; i++)
    g_string_append (s, i ? ",\"x\"" : "\"x\"");
  g_string_append (s, "]}]}");
  GError *error = NULL;
  g_assert_null (af_graph_load_from_data (s->str, s->len, NULL, "wide.json", &error));
  const char *want[] = { "wide.json: nodes[0] \"c\"", "field \"inputs\"", NULL };
  assert_error (error, AF_ERROR_LIMIT, want);
  g_error_free (error);
  g_string_free (s, TRUE);
}

/* A weights file with more tensors than AF_MAX_NODES is refused as a limit. */
static void
test_st_too_many_tensors (void)
{
  GString *h = g_string_new ("{");
  for (int i = 0; i <= AF_MAX_NODES; i++)
    g_string_append_printf (h, "%s't%d': {'dtype': 'U8', 'shape': [0], 'data_offsets': [0, 0]}",
                            i ? ", " : "", i);
  g_string_append (h, "}");
  GBytes *st = make_st (h->str, 0);
  gsize len;
  const guint8 *data = g_bytes_get_data (st, &len);
  GError *error = NULL;
  g_assert_null (af__safetensors_parse (data, len, "many.safetensors", st, &error));
  const char *want[] = { "many.safetensors", "100001 tensors", NULL };
  assert_error (error, AF_ERROR_LIMIT, want);
  g_error_free (error);
  g_bytes_unref (st);
  g_string_free (h, TRUE);
}

/* ---------------------------------------------------------------- good files */

/* The reference tiny graph loads with the right structure, shapes and port. */
static void
test_good_tiny (void)
{
  GBytes *st = make_st (ST_GOOD, 448);
  Fixture f = fixture_new (GOOD, st);
  GError *error = NULL;
  AfGraph *g = af_graph_load (f.json_path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (g);
  g_assert_cmpstr (af_graph_name (g), ==, "tiny");
  g_assert_cmpuint (af_graph_n_nodes (g), ==, 3);
  g_assert_cmpstr (g->dir, ==, f.dir);
  AfNode *conv = g_ptr_array_index (g->nodes, 0); /* node index == index in the file */
  g_assert_cmpstr (conv->name, ==, "conv1");
  g_assert_cmpint (conv->op, ==, AF_OP_CONV);
  g_assert_cmpuint (conv->n_in, ==, 3);
  g_assert_cmpint (conv->attrs.stride[0], ==, 2);
  g_assert_cmpint (conv->attrs.stride[1], ==, 2);
  g_assert_cmpint (conv->attrs.pad[3], ==, 1);
  g_assert_cmpint (conv->attrs.dilation[0], ==, 1);
  g_assert_cmpuint (conv->attrs.set, ==, AF_A (STRIDE) | AF_A (PAD));
  gint64 shape[AF_MAX_RANK];
  g_assert_cmpint (af_tensor_shape (af_graph_lookup (g, "relu1"), shape), ==, 4);
  g_assert_cmpint (shape[1], ==, 4);
  g_assert_cmpint (shape[2], ==, 4);
  AfTensor *w = af_graph_lookup (g, "conv1.weight");
  g_assert_cmpint (w->kind, ==, AF_VALUE_CONST);
  g_assert_cmpint (w->dtype, ==, AF_DTYPE_F32);
  g_assert_cmpint (((const guint8 *) w->data)[5], ==, 5); /* bytes count up from 0 */
  g_assert_cmpuint (g->inputs->len, ==, 1);
  AfNode *in = g_ptr_array_index (g->inputs, 0);
  g_assert_cmpint (in->op, ==, AF_OP_IMAGE_INPUT);
  g_assert_cmpfloat (in->image.scale[2], ==, 0.00390625f);
  g_assert_cmpuint (g->outputs->len, ==, 1);
  g_assert_true (g_array_index (g->outputs, AfOutput, 0).value == af_graph_lookup (g, "relu1"));
  af_graph_free (g);
  fixture_free (&f);
  g_bytes_unref (st);
}

/* Nodes may come in any order; doc / metadata are free-form; decode is read. */
static void
test_good_any_order (void)
{
  const char *json =
      "{'aneforge': 1, 'doc': ['anything', {'x': 1}], 'metadata': {'author': 'me'},"
      " 'inputs': [{'name': 'x', 'shape': [2, 10], 'doc': 'plain fp16'}],"
      " 'nodes': [{'name': 'sm', 'op': 'softmax', 'inputs': ['r'], 'axis': -1},"
      "           {'name': 'r', 'op': 'relu', 'inputs': ['x']}],"
      " 'outputs': [{'name': 'probs', 'from': 'sm', 'decode': {'type': 'classification',"
      "   'softmax': false, 'top_k': 3, 'labels': 'tiny.labels'}}, {'name': 'raw', 'from': 'x'}]}";
  char *j = dq (json);
  GError *error = NULL;
  AfGraph *g = af_graph_load_from_data (j, strlen (j), NULL, "order.json", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_graph_name (g), ==, "order");
  AfOutput *o = &g_array_index (g->outputs, AfOutput, 0);
  g_assert_nonnull (o->decode);
  g_assert_cmpint (o->decode->type, ==, AF_DECODE_TYPE_CLASSIFICATION);
  g_assert_cmpstr (o->decode->scores, ==, "probs"); /* the output itself */
  g_assert_cmpuint (o->decode->top_k, ==, 3);
  g_assert_false (o->decode->softmax);
  g_assert_cmpstr (o->decode->labels, ==, "tiny.labels");
  g_assert_null (g_array_index (g->outputs, AfOutput, 1).decode);
  gint64 shape[AF_MAX_RANK];
  g_assert_cmpint (af_tensor_shape (af_graph_lookup (g, "sm"), shape), ==, 2);
  g_assert_cmpint (shape[1], ==, 10);
  af_graph_free (g);
  g_free (j);
}

/* GRAY with a scalar scale, per-channel BGR lists and [h, w] / 4-value pads. */
static void
test_good_ports_and_attrs (void)
{
  const char *json =
      "{'aneforge': 1, 'inputs': ["
      "  {'name': 'g', 'shape': [1, 1, 9, 9], 'image': {'format': 'GRAY', 'scale': 0.5, 'bias': "
      "-1}},"
      "  {'name': 'c', 'shape': [1, 3, 9, 9], 'image': {'format': 'BGR', 'scale': [1, 2, 3],"
      "   'bias': [0.25, 0.5, 0.75]}}],"
      " 'nodes': [{'name': 'p', 'op': 'max_pool', 'inputs': ['c'], 'kernel': [3, 2], 'stride': 2,"
      "            'pad': [1, 0]},"
      "           {'name': 'q', 'op': 'avg_pool', 'inputs': ['g'], 'kernel': 3, 'pad': [1, 2, 1, "
      "0],"
      "            'count_include_pad': true}],"
      " 'outputs': [{'name': 'o', 'from': 'p'}, {'name': 'o2', 'from': 'q'}]}";
  char *j = dq (json);
  GError *error = NULL;
  AfGraph *g = af_graph_load_from_data (j, strlen (j), NULL, "ports.json", &error);
  g_assert_no_error (error);
  AfNode *gray = g_ptr_array_index (g->inputs, 0), *bgr = g_ptr_array_index (g->inputs, 1);
  g_assert_cmpint (gray->image.order, ==, AF_PIXEL_GRAY);
  g_assert_cmpfloat (gray->image.scale[0], ==, 0.5f);
  g_assert_cmpfloat (gray->image.scale[2], ==, 0.5f);
  g_assert_cmpfloat (gray->image.bias[1], ==, -1.0f);
  g_assert_cmpint (bgr->image.order, ==, AF_PIXEL_BGR);
  g_assert_cmpfloat (bgr->image.scale[2], ==, 3.0f);
  g_assert_cmpfloat (bgr->image.bias[1], ==, 0.5f);
  AfNode *p = af_graph_lookup (g, "p")->producer, *q = af_graph_lookup (g, "q")->producer;
  g_assert_cmpint (p->attrs.kernel[0], ==, 3);
  g_assert_cmpint (p->attrs.kernel[1], ==, 2);
  g_assert_cmpint (p->attrs.pad[0], ==, 1);
  g_assert_cmpint (p->attrs.pad[1], ==, 0);
  g_assert_cmpint (p->attrs.pad[2], ==, 1);
  g_assert_cmpint (q->attrs.pad[1], ==, 2);
  g_assert_cmpint (q->attrs.pad[3], ==, 0);
  g_assert_true (q->attrs.count_include_pad);
  g_assert_cmpuint (q->attrs.set, ==, AF_A (KERNEL) | AF_A (PAD) | AF_A (COUNT_INCLUDE_PAD));
  af_graph_free (g);
  g_free (j);
}

/* F16, I8 and U8 weights load; misaligned data is copied to an aligned buffer. */
static void
test_good_dtypes_alignment (void)
{
  const char *hdr = "{'__metadata__': {'format': 'pt'},"
                    " 'u': {'dtype': 'U8', 'shape': [1], 'data_offsets': [0, 1]},"
                    " 'f': {'dtype': 'F32', 'shape': [2], 'data_offsets': [1, 9]},"
                    " 'h': {'dtype': 'F16', 'shape': [2], 'data_offsets': [9, 13]},"
                    " 'i': {'dtype': 'I8', 'shape': [3], 'data_offsets': [13, 16]},"
                    " 'empty': {'dtype': 'F32', 'shape': [0, 4], 'data_offsets': [16, 16]}}";
  GBytes *st = make_st (hdr, 16);
  gsize len;
  const guint8 *data = g_bytes_get_data (st, &len);
  GError *error = NULL;
  GPtrArray *ts = af__safetensors_parse (data, len, "mem.safetensors", st, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ts->len, ==, 5);
  const char *names[] = { "empty", "f", "h", "i", "u" }; /* sorted */
  for (guint k = 0; k < ts->len; k++) {
    AfStTensor *t = g_ptr_array_index (ts, k);
    g_assert_cmpstr (t->name, ==, names[k]);
    g_assert_cmpuint ((guintptr) t->data % af__dtype_size (t->dtype), ==, 0);
  }
  AfStTensor *f = g_ptr_array_index (ts, 1), *i = g_ptr_array_index (ts, 3);
  AfStTensor *u = g_ptr_array_index (ts, 4), *h = g_ptr_array_index (ts, 2);
  g_assert_true (u->bytes == st); /* aligned: no copy */
  g_assert_true (f->bytes != st); /* offset 1 of an aligned section: copied */
  g_assert_true (h->bytes != st);
  g_assert_cmpint (f->dtype, ==, AF_DTYPE_F32);
  g_assert_cmpint (((const guint8 *) f->data)[0], ==, 1); /* byte 1 of the data section */
  g_assert_cmpint (((const guint8 *) f->data)[7], ==, 8);
  g_assert_cmpint (i->dtype, ==, AF_DTYPE_I8);
  g_assert_cmpint (i->shape.d[0], ==, 3);
  g_ptr_array_unref (ts);
  g_bytes_unref (st);
}

/* A weights file with only __metadata__ and graph without nodes load fine. */
static void
test_good_empty_weights (void)
{
  GBytes *st = make_st ("{'__metadata__': {'a': 'b'}}", 0);
  Fixture f = fixture_new ("{'aneforge': 1, 'weights': 'tiny.safetensors', 'inputs':"
                           " [{'name': 'x', 'shape': [4]}], 'nodes': [],"
                           " 'outputs': [{'name': 'y', 'from': 'x'}]}",
                           st);
  GError *error = NULL;
  AfGraph *g = af_graph_load (f.json_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g->values->len, ==, 1);
  af_graph_free (g);
  fixture_free (&f);
  g_bytes_unref (st);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_test_add_data_func (cases[i].path, &cases[i], test_case);
  g_test_add_func ("/loader/bad/st-truncated-header", test_st_truncated_header);
  g_test_add_func ("/loader/bad/st-truncated-data", test_st_truncated_data);
  g_test_add_func ("/loader/bad/st-tiny-file", test_st_tiny_file);
  g_test_add_func ("/loader/bad/st-absurd-header-len", test_st_absurd_header_len);
  g_test_add_func ("/loader/bad/st-empty", test_st_empty);
  g_test_add_func ("/loader/bad/st-too-many-tensors", test_st_too_many_tensors);
  g_test_add_func ("/loader/bad/missing-file", test_missing_file);
  g_test_add_func ("/loader/bad/directory", test_directory_file);
  g_test_add_func ("/loader/bad/from-data-no-weights-dir", test_from_data_no_weights_dir);
  g_test_add_func ("/loader/bad/too-many-nodes", test_too_many_nodes);
  g_test_add_func ("/loader/bad/too-many-inputs", test_too_many_inputs);
  g_test_add_func ("/loader/good/tiny", test_good_tiny);
  g_test_add_func ("/loader/good/any-order", test_good_any_order);
  g_test_add_func ("/loader/good/ports-and-attrs", test_good_ports_and_attrs);
  g_test_add_func ("/loader/good/dtypes-alignment", test_good_dtypes_alignment);
  g_test_add_func ("/loader/good/empty-weights", test_good_empty_weights);
  return g_test_run ();
}
