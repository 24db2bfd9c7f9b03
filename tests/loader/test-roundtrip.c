/* test-roundtrip.c — af_graph_save then af_graph_load gives back the same
 * graph: structure, attributes (and which were set), shapes, image ports,
 * outputs with their decode, and weight bytes and dtypes. */
#include "decode.h"
#include "graph.h"
#include "safetensors.h"

#include <glib/gstdio.h>
#include <string.h>

static float *
ramp (gint64 n, float step)
{
  float *v = g_new (float, n);
  for (gint64 i = 0; i < n; i++)
    v[i] = (float) (i % 17) * step - 1.0f;
  return v;
}

static AfTensor *
weight (AfGraph *g, const char *name, int rank, const gint64 *shape)
{
  float *v = ramp (af_shape_numel (rank, shape), 0.125f);
  AfTensor *t = af_weight (g, name, rank, shape, v);
  g_free (v);
  return t;
}

/* A graph touching every attribute kind: conv with asymmetric pads, pools,
 * reductions, clip, concat, transpose, reshape, linear, softmax, topk; an
 * image port with per-channel values and a plain input. */
static AfGraph *
build_graph (void)
{
  AfGraph *g = af_graph_new ("roundtrip");
  gint64 xs[] = { 1, 3, 16, 16 };
  float scale[] = { 0.5f, 0.25f, 0.125f }, bias[] = { -1.0f / 3.0f };
  AfTensor *x = af_image_input (g, "image", xs, AF_PIXEL_BGR, 3, scale, 1, bias);
  gint64 ys[] = { 1, 8 };
  AfTensor *y = af_input (g, "extra", 2, ys);

  gint64 ws[] = { 8, 3, 3, 3 }, bs[] = { 8 };
  AfConvParams p = AF_CONV_PARAMS_INIT;
  p.stride[0] = 2;
  p.pad[0] = 1;
  p.pad[1] = 2;
  p.pad[2] = 0;
  p.pad[3] = 1;
  AfTensor *c =
      af_conv (g, x, weight (g, "conv1.weight", 4, ws), weight (g, "conv1.bias", 1, bs), &p);
  af_tensor_set_name (c, "conv1");
  c = af_clip (g, c, -2.5f, 6.0f);
  AfPoolParams mp = { { 3, 2 }, { 1, 2 }, { 1, 1, 0, 0 }, TRUE, FALSE };
  AfTensor *m = af_max_pool (g, c, &mp);
  AfPoolParams ap = { { 2, 2 }, { 2, 2 }, { 0, 0, 0, 0 }, FALSE, TRUE };
  AfTensor *a = af_avg_pool (g, m, &ap);
  int axes[] = { 2, 3 };
  AfTensor *r = af_mean (g, a, 2, axes, FALSE); /* [1, 8] */
  AfTensor *both[] = { r, af_relu6 (g, y) };
  AfTensor *cat = af_concat (g, 2, both, 1); /* [1, 16] */
  gint64 rs[] = { 1, 4, 4 };
  int perm[] = { 0, 2, 1 };
  AfTensor *t = af_transpose (g, af_reshape (g, cat, 3, rs), 3, perm);
  gint64 flat[] = { 1, -1 };
  AfTensor *f = af_reshape (g, t, 2, flat);
  gint64 fws[] = { 10, 16 }, fbs[] = { 10 };
  AfTensor *logits =
      af_linear (g, f, weight (g, "fc.weight", 2, fws), weight (g, "fc.bias", 1, fbs));
  AfTensor *probs = af_softmax (g, logits, -1);
  af_tensor_set_name (probs, "probs");
  af_graph_add_output (g, "probs", probs);
  af_graph_set_classification (g, 0, TRUE, 3, "roundtrip.labels");
  af_graph_add_output (g, "best", af_topk (g, logits, 2, -1, TRUE));
  af_graph_add_output (g, "pooled", af_global_avg_pool (g, x));
  /* an SSD with its own priors and a YuNet without landmarks, every field
   * off its default (the tensors are not checked before a decoder is made) */
  AfDecodeSpec ssd;
  af_decode_spec_init (&ssd, AF_DECODE_TYPE_SSD);
  g_free (ssd.scores);
  ssd.scores = g_strdup ("conf");
  ssd.labels = g_strdup ("voc labels.txt");
  ssd.score_threshold = 0.55f;
  ssd.iou_threshold = 1.0f / 3.0f;
  ssd.max_detections = 7;
  ssd.input_w = 300;
  ssd.input_h = 200;
  ssd.clip = FALSE;
  ssd.n_levels = 2;
  ssd.feature_w[0] = 38, ssd.feature_h[0] = 25, ssd.n_min_boxes[0] = 1, ssd.min_boxes[0][0] = 12.5f;
  ssd.feature_w[1] = 19, ssd.feature_h[1] = 13, ssd.n_min_boxes[1] = 2;
  ssd.min_boxes[1][0] = 30.1f, ssd.min_boxes[1][1] = 60;
  ssd.center_variance = 0.15f;
  ssd.size_variance = 0.3f;
  af_graph_set_decode (g, 1, &ssd);
  af_decode_spec_clear (&ssd);
  AfDecodeSpec yunet;
  af_decode_spec_init (&yunet, AF_DECODE_TYPE_YUNET);
  yunet.input_w = 640;
  yunet.input_h = 480;
  yunet.n_strides = 2;
  yunet.strides[0] = 16, yunet.strides[1] = 32, yunet.strides[2] = 0;
  for (guint l = 0; l < AF_DECODE_MAX_LEVELS; l++) {
    g_clear_pointer (&yunet.cls[l], g_free);
    g_clear_pointer (&yunet.obj[l], g_free);
    g_clear_pointer (&yunet.bbox[l], g_free);
    g_clear_pointer (&yunet.kps[l], g_free);
  }
  for (guint l = 0; l < 2; l++) {
    yunet.cls[l] = g_strdup_printf ("c%u", l);
    yunet.obj[l] = g_strdup_printf ("o%u", l);
    yunet.bbox[l] = g_strdup_printf ("b%u", l);
  }
  yunet.score_threshold = 0.9f;
  af_graph_set_decode (g, 2, &yunet);
  af_decode_spec_clear (&yunet);
  return g;
}

/* Asserts two decode specs are equal field by field (NULL: no decode). */
static void
assert_same_spec (const AfDecodeSpec *a, const AfDecodeSpec *b)
{
  g_assert_true (!a == !b);
  if (!a)
    return;
  g_assert_cmpint (a->type, ==, b->type);
  g_assert_cmpstr (a->scores, ==, b->scores);
  g_assert_cmpstr (a->boxes, ==, b->boxes);
  g_assert_cmpuint (a->n_strides, ==, b->n_strides);
  for (guint l = 0; l < AF_DECODE_MAX_LEVELS; l++) {
    g_assert_cmpint (a->strides[l], ==, b->strides[l]);
    g_assert_cmpstr (a->cls[l], ==, b->cls[l]);
    g_assert_cmpstr (a->obj[l], ==, b->obj[l]);
    g_assert_cmpstr (a->bbox[l], ==, b->bbox[l]);
    g_assert_cmpstr (a->kps[l], ==, b->kps[l]);
  }
  g_assert_cmpint (a->softmax, ==, b->softmax);
  g_assert_cmpuint (a->top_k, ==, b->top_k);
  g_assert_cmpstr (a->labels, ==, b->labels);
  g_assert_cmpfloat (a->score_threshold, ==, b->score_threshold);
  g_assert_cmpfloat (a->iou_threshold, ==, b->iou_threshold);
  g_assert_cmpuint (a->max_detections, ==, b->max_detections);
  g_assert_cmpint (a->input_w, ==, b->input_w);
  g_assert_cmpint (a->input_h, ==, b->input_h);
  g_assert_cmpint (!a->clip, ==, !b->clip);
  g_assert_cmpuint (a->n_levels, ==, b->n_levels);
  for (guint l = 0; l < AF_DECODE_MAX_LEVELS; l++) {
    g_assert_cmpint (a->feature_w[l], ==, b->feature_w[l]);
    g_assert_cmpint (a->feature_h[l], ==, b->feature_h[l]);
    g_assert_cmpuint (a->n_min_boxes[l], ==, b->n_min_boxes[l]);
    for (guint k = 0; k < AF_DECODE_MAX_ANCHORS; k++)
      g_assert_cmpfloat (a->min_boxes[l][k], ==, b->min_boxes[l][k]);
  }
  g_assert_cmpfloat (a->center_variance, ==, b->center_variance);
  g_assert_cmpfloat (a->size_variance, ==, b->size_variance);
}

static gboolean
attr_equal (const AfAttrInfo *info, const AfAttrs *a, const AfAttrs *b)
{
  const guint8 *fa = (const guint8 *) a + info->offset, *fb = (const guint8 *) b + info->offset;
  switch (info->kind) {
  case AF_ATTR_KIND_INT:
    return memcmp (fa, fb, sizeof (gint64)) == 0;
  case AF_ATTR_KIND_INT2:
    return memcmp (fa, fb, 2 * sizeof (gint64)) == 0;
  case AF_ATTR_KIND_PAD4:
    return memcmp (fa, fb, 4 * sizeof (gint64)) == 0;
  case AF_ATTR_KIND_INTS: {
    int na = *(const int *) ((const guint8 *) a + info->count_offset);
    int nb = *(const int *) ((const guint8 *) b + info->count_offset);
    return na == nb && memcmp (fa, fb, na * sizeof (gint64)) == 0;
  }
  case AF_ATTR_KIND_FLOAT:
    return *(const float *) fa == *(const float *) fb;
  case AF_ATTR_KIND_BOOL:
    return !*(const gboolean *) fa == !*(const gboolean *) fb;
  }
  return FALSE;
}

/* Asserts @b (loaded) is structurally identical to @a (saved). */
static void
assert_same_graph (AfGraph *a, AfGraph *b)
{
  g_assert_cmpstr (a->name, ==, b->name);
  g_assert_cmpuint (a->nodes->len, ==, b->nodes->len);
  g_assert_cmpuint (a->values->len, ==, b->values->len);
  g_assert_cmpuint (a->inputs->len, ==, b->inputs->len);
  for (guint i = 0; i < a->values->len; i++) {
    AfTensor *ta = g_ptr_array_index (a->values, i);
    AfTensor *tb = af_graph_lookup (b, ta->name);
    g_assert_nonnull (tb);
    g_assert_cmpint (ta->kind, ==, tb->kind);
    g_assert_true (af__shape_equal (&ta->shape, &tb->shape));
    if (ta->kind == AF_VALUE_CONST) {
      g_assert_cmpint (ta->dtype, ==, tb->dtype);
      gsize n = af__shape_numel (&ta->shape) * af__dtype_size (ta->dtype);
      g_assert_cmpmem (ta->data, n, tb->data, n);
      continue;
    }
    AfNode *na = ta->producer, *nb = tb->producer;
    g_assert_cmpstr (na->name, ==, nb->name);
    g_assert_cmpint (na->op, ==, nb->op);
    g_assert_cmpuint (na->n_in, ==, nb->n_in);
    for (guint j = 0; j < na->n_in; j++)
      g_assert_cmpstr (na->in[j]->name, ==, nb->in[j]->name);
    g_assert_cmpuint (na->attrs.set, ==, nb->attrs.set);
    for (int k = 0; k < AF_ATTR_COUNT; k++)
      if (!attr_equal (&af_attr_info[k], &na->attrs, &nb->attrs))
        g_error ("node %s: attribute %s differs", na->name, af_attr_info[k].key);
    if (na->op == AF_OP_IMAGE_INPUT) {
      g_assert_cmpint (na->image.order, ==, nb->image.order);
      for (int c = 0; c < 3; c++) {
        g_assert_cmpfloat (na->image.scale[c], ==, nb->image.scale[c]);
        g_assert_cmpfloat (na->image.bias[c], ==, nb->image.bias[c]);
      }
    }
  }
  for (guint i = 0; i < a->inputs->len; i++)
    g_assert_cmpstr (((AfNode *) g_ptr_array_index (a->inputs, i))->name, ==,
                     ((AfNode *) g_ptr_array_index (b->inputs, i))->name);
  g_assert_cmpuint (a->outputs->len, ==, b->outputs->len);
  for (guint i = 0; i < a->outputs->len; i++) {
    AfOutput *oa = &g_array_index (a->outputs, AfOutput, i);
    AfOutput *ob = &g_array_index (b->outputs, AfOutput, i);
    g_assert_cmpstr (oa->name, ==, ob->name);
    g_assert_cmpstr (oa->value->name, ==, ob->value->name);
    assert_same_spec (oa->decode, ob->decode);
  }
}

static char *
read_all (const char *path, gsize *len)
{
  char *data = NULL;
  g_assert_true (g_file_get_contents (path, &data, len, NULL));
  return data;
}

static void
remove_dir (char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    char *p = g_build_filename (dir, name, NULL);
    g_unlink (p);
    g_free (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
  g_free (dir);
}

/* A builder graph saved and loaded back is identical, and saving the loaded
 * graph again produces byte-identical files. */
static void
test_roundtrip_builder (void)
{
  AfGraph *g = build_graph ();
  g_assert_no_error ((GError *) af_graph_error (g));
  char *dir = g_dir_make_tmp ("af-roundtrip-XXXXXX", NULL);
  char *path = g_build_filename (dir, "rt.json", NULL);
  char *wpath = g_build_filename (dir, "rt.safetensors", NULL);
  GError *error = NULL;
  g_assert_true (af_graph_save (g, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (wpath, G_FILE_TEST_IS_REGULAR));

  AfGraph *l = af_graph_load (path, &error);
  g_assert_no_error (error);
  assert_same_graph (g, l);

  gsize len1, wlen1, len2, wlen2;
  char *j1 = read_all (path, &len1), *w1 = read_all (wpath, &wlen1);
  g_assert_true (strstr (j1, "\"weights\" : \"rt.safetensors\""));
  g_assert_true (af_graph_save (l, path, &error));
  char *j2 = read_all (path, &len2), *w2 = read_all (wpath, &wlen2);
  g_assert_cmpmem (j1, len1, j2, len2);
  g_assert_cmpmem (w1, wlen1, w2, wlen2);

  /* the weights file is 8-byte aligned and its header keys sorted */
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | (guint8) w1[i];
  g_assert_cmpuint ((8 + hlen) % 8, ==, 0);
  char *h = g_strndup (w1 + 8, hlen);
  char *cb = strstr (h, "\"conv1.bias\""), *cw = strstr (h, "\"conv1.weight\"");
  char *fb = strstr (h, "\"fc.bias\"");
  g_assert_true (cb && cw && fb && cb < cw && cw < fb);
  g_free (h);

  g_free (j1);
  g_free (j2);
  g_free (w1);
  g_free (w2);
  af_graph_free (l);
  af_graph_free (g);
  g_free (path);
  g_free (wpath);
  remove_dir (dir);
}

/* F16, I8 and U8 constants keep their dtype and bytes through save / load,
 * and each lands aligned in the mapped file. */
static void
test_roundtrip_dtypes (void)
{
  AfGraph *g = af_graph_new ("dtypes");
  gint64 s[] = { 1, 5 };
  AfTensor *x = af_input (g, "x", 2, s);
  AfShape shape = { 2, { 1, 5 } };
  static const guint16 h[] = { 0x3c00, 0x4000, 0xbc00, 0x0001, 0x7bff };
  static const gint8 i8[] = { -128, -1, 0, 1, 127 };
  static const guint8 u8[] = { 0, 1, 128, 254, 255 };
  static const float f[] = { 1.5f, -2.25f, 0, 1e-3f, 65504 };
  GBytes *bh = g_bytes_new_static (h, sizeof h), *bi = g_bytes_new_static (i8, sizeof i8);
  GBytes *bu = g_bytes_new_static (u8, sizeof u8), *bf = g_bytes_new_static (f, sizeof f);
  AfTensor *ch = af__graph_add_const (g, "h", &shape, AF_DTYPE_F16, h, bh);
  AfTensor *ci = af__graph_add_const (g, "i", &shape, AF_DTYPE_I8, i8, bi);
  AfTensor *cu = af__graph_add_const (g, "u", &shape, AF_DTYPE_U8, u8, bu);
  AfTensor *cf = af__graph_add_const (g, "f", &shape, AF_DTYPE_F32, f, bf);
  g_bytes_unref (bh);
  g_bytes_unref (bi);
  g_bytes_unref (bu);
  g_bytes_unref (bf);
  AfTensor *y = af_add (g, af_mul (g, af_add (g, x, ch), ci), af_sub (g, cu, cf));
  af_graph_add_output (g, "y", y);
  g_assert_no_error ((GError *) af_graph_error (g));

  char *dir = g_dir_make_tmp ("af-roundtrip-XXXXXX", NULL);
  char *path = g_build_filename (dir, "dtypes", NULL); /* no .json: stem is the name */
  GError *error = NULL;
  g_assert_true (af_graph_save (g, path, &error));
  g_assert_no_error (error);
  AfGraph *l = af_graph_load (path, &error);
  g_assert_no_error (error);
  assert_same_graph (g, l);
  for (guint i = 0; i < l->values->len; i++) {
    AfTensor *t = g_ptr_array_index (l->values, i);
    if (t->kind == AF_VALUE_CONST)
      g_assert_cmpuint ((guintptr) t->data % af__dtype_size (t->dtype), ==, 0);
  }
  af_graph_free (l);
  af_graph_free (g);
  g_free (path);
  remove_dir (dir);
}

/* A graph with no constants writes no weights file and no "weights" key. */
static void
test_roundtrip_no_weights (void)
{
  AfGraph *g = af_graph_new ("plain");
  gint64 s[] = { 2, 3 };
  AfTensor *x = af_input (g, "x", 2, s);
  af_graph_add_output (g, "y", af_sigmoid (g, af_exp (g, x)));
  char *dir = g_dir_make_tmp ("af-roundtrip-XXXXXX", NULL);
  char *path = g_build_filename (dir, "plain.json", NULL);
  char *wpath = g_build_filename (dir, "plain.safetensors", NULL);
  GError *error = NULL;
  g_assert_true (af_graph_save (g, path, &error));
  g_assert_false (g_file_test (wpath, G_FILE_TEST_EXISTS));
  gsize len;
  char *j = read_all (path, &len);
  g_assert_null (strstr (j, "\"weights\""));
  AfGraph *l = af_graph_load_from_data (j, len, NULL, "plain.json", &error);
  g_assert_no_error (error);
  assert_same_graph (g, l);
  g_free (j);
  af_graph_free (l);
  af_graph_free (g);
  g_free (path);
  g_free (wpath);
  remove_dir (dir);
}

/* A graph holding a sticky builder error is refused by the saver. */
static void
test_save_refuses_error (void)
{
  AfGraph *g = af_graph_new ("broken");
  gint64 xs[] = { 1, 4, 8, 8 }, ws[] = { 2, 3, 1, 1 };
  float w[6] = { 0 };
  AfTensor *x = af_input (g, "x", 4, xs);
  af_graph_add_output (g, "y", af_conv (g, x, af_weight (g, "w", 4, ws, w), NULL, NULL));
  g_assert_nonnull (af_graph_error (g));
  char *dir = g_dir_make_tmp ("af-roundtrip-XXXXXX", NULL);
  char *path = g_build_filename (dir, "broken.json", NULL);
  GError *error = NULL;
  g_assert_false (af_graph_save (g, path, &error));
  g_assert_error (error, AF_ERROR, af_graph_error (g)->code);
  g_assert_true (strstr (error->message, "broken.json"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_error_free (error);
  af_graph_free (g);
  g_free (path);
  remove_dir (dir);
}

/* Saving into a directory that does not exist is an IO error. */
static void
test_save_io_error (void)
{
  AfGraph *g = af_graph_new ("plain");
  gint64 s[] = { 2 };
  af_graph_add_output (g, "y", af_input (g, "x", 1, s));
  GError *error = NULL;
  g_assert_false (af_graph_save (g, "/nonexistent/dir/plain.json", &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_IO);
  g_error_free (error);
  af_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/loader/roundtrip/builder", test_roundtrip_builder);
  g_test_add_func ("/loader/roundtrip/dtypes", test_roundtrip_dtypes);
  g_test_add_func ("/loader/roundtrip/no-weights", test_roundtrip_no_weights);
  g_test_add_func ("/loader/roundtrip/save-refuses-error", test_save_refuses_error);
  g_test_add_func ("/loader/roundtrip/save-io-error", test_save_io_error);
  return g_test_run ();
}
