/* workloads.c — the graphs of the published figures (src/targets.def
 * AF_POINT rows), built with the public builder or imported. */
#include "workloads.h"

#include "oracle.h"

/* A constant of zeros: the estimate reads shapes, not values. */
static AfTensor *
weight (AfGraph *g, int rank, const gint64 *shape)
{
  static guint n;
  g_autofree float *data = g_new0 (float, af_shape_numel (rank, shape));
  g_autofree char *name = g_strdup_printf ("w%u", n++);
  return af_weight (g, name, rank, shape, data);
}

static AfTensor *
gemm (AfGraph *g, gint64 m, gint64 k, gint64 n)
{
  gint64 xs[] = { m, k }, ws[] = { k, n };
  return af_matmul (g, af_input (g, "x", 2, xs), weight (g, 2, ws));
}

/* @depth same-pad k x k convs, C -> C, on [1, C, hw, hw]. */
static AfTensor *
conv_stack (AfGraph *g, gint64 c, gint64 hw, gint64 k, gint64 depth)
{
  gint64 xs[] = { 1, c, hw, hw }, ws[] = { c, c, k, k };
  AfTensor *y = af_input (g, "x", 4, xs);
  AfConvParams p = AF_CONV_PARAMS_INIT;
  p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = k / 2;
  for (gint64 i = 0; i < depth; i++)
    y = af_conv (g, y, weight (g, 4, ws), NULL, &p);
  return y;
}

static AfTensor *
linear (AfGraph *g, AfTensor *x, gint64 in, gint64 out)
{
  gint64 ws[] = { out, in }, bs[] = { out };
  return af_linear (g, x, weight (g, 2, ws), weight (g, 1, bs));
}

/* [S, D] -> [H, S, D/H] (@t: [H, D/H, S], the key side of QK^T) */
static AfTensor *
heads (AfGraph *g, AfTensor *x, gint64 s, gint64 d, gint64 h, gboolean t)
{
  gint64 shape[] = { s, h, d / h };
  int perm[] = { 1, 0, 2 }, perm_t[] = { 1, 2, 0 };
  return af_transpose (g, af_reshape (g, x, 3, shape), 3, t ? perm_t : perm);
}

/* Multi-head self-attention on [S, D]: the Q, K, V and output projections,
 * QK^T scaled, softmax, AV (the device map's "in-graph ag.mha"). */
static AfTensor *
attention (AfGraph *g, AfTensor *x, gint64 s, gint64 d, gint64 h)
{
  AfTensor *q = heads (g, linear (g, x, d, d), s, d, h, FALSE);
  AfTensor *kt = heads (g, linear (g, x, d, d), s, d, h, TRUE);
  AfTensor *v = heads (g, linear (g, x, d, d), s, d, h, FALSE);
  gint64 one[] = { 1 };
  AfTensor *scores = af_mul (g, af_matmul (g, q, kt), weight (g, 1, one));
  AfTensor *ctx = af_matmul (g, af_softmax (g, scores, -1), v); /* [H, S, D/H] */
  int perm[] = { 1, 0, 2 };
  gint64 sd[] = { s, d };
  ctx = af_reshape (g, af_transpose (g, ctx, 3, perm), 2, sd);
  return linear (g, ctx, d, d);
}

/* Layer norm over the last axis of [S, D], from the ops the table has:
 * mean, sub, mul, mean, add eps, a reciprocal in rsqrt's place (same
 * shapes, so the same bytes), mul, then gamma and beta. */
static AfTensor *
layer_norm (AfGraph *g, AfTensor *x, gint64 d)
{
  int axis[] = { -1 };
  gint64 one[] = { 1 }, ds[] = { d };
  AfTensor *c = af_sub (g, x, af_mean (g, x, 1, axis, TRUE));
  AfTensor *var = af_add (g, af_mean (g, af_mul (g, c, c), 1, axis, TRUE), weight (g, 1, one));
  AfTensor *y = af_mul (g, c, af_div (g, weight (g, 1, one), var));
  return af_add (g, af_mul (g, y, weight (g, 1, ds)), weight (g, 1, ds));
}

/* A BERT encoder (all-MiniLM-L6-v2's shape): embeddings in, @layers x
 * (attention, add & norm, FFN 4 x D with GELU, add & norm) out; the seed
 * looks up the embeddings and mean-pools on the host. */
static AfTensor *
encoder (AfGraph *g, gint64 s, gint64 d, gint64 h, gint64 layers)
{
  gint64 xs[] = { s, d };
  AfTensor *x = af_input (g, "embeddings", 2, xs);
  for (gint64 l = 0; l < layers; l++) {
    x = layer_norm (g, af_add (g, x, attention (g, x, s, d, h)), d);
    AfTensor *f = linear (g, af_gelu (g, linear (g, x, d, 4 * d)), 4 * d, d);
    x = layer_norm (g, af_add (g, x, f), d);
  }
  return x;
}

AfGraph *
af_test_workload (const AfTestPoint *p, GError **error)
{
  if (p->kind == AF_POINT_RESNET18) {
    g_autofree char *path = af_test_shared_file ("bench/models/resnet18.onnx");
    if (!path) {
      g_set_error (error, AF_ERROR, AF_ERROR_IO, "../shared/bench/models/resnet18.onnx missing");
      return NULL;
    }
    return af_graph_open (path, NULL, error);
  }
  AfGraph *g = af_graph_new (p->source);
  gint64 gs[] = { p->a, p->b };
  AfTensor *y = p->kind == AF_POINT_GEMM   ? gemm (g, p->a, p->b, p->c)
                : p->kind == AF_POINT_CONV ? conv_stack (g, p->a, p->b, p->c, p->d)
                : p->kind == AF_POINT_ATTN
                    ? attention (g, af_input (g, "x", 2, gs), p->a, p->b, p->c)
                    : encoder (g, p->a, p->b, p->c, p->d);
  af_graph_add_output (g, "y", y);
  if (af_graph_error (g)) {
    g_propagate_error (error, g_error_copy (af_graph_error (g)));
    af_graph_free (g);
    return NULL;
  }
  return g;
}

const AfTestPoint af_test_points[] = {
#define AF_POINT(arch, kind, a, b, c, d, us, source)                                               \
  { arch, AF_POINT_##kind, a, b, c, d, us, source },
#include "targets.def"
};
const guint af_test_n_points = G_N_ELEMENTS (af_test_points);
