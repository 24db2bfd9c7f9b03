/* ops-linear.c — op mappers of the linear family: MatMul and Gemm. */
#include "import/onnx/onnx-imp.h"

#include <string.h>

static gboolean
op_matmul (Imp *im, PbNode *n, GError **error)
{
  AfTensor *a = af__ox_in_tensor (im, n, 0, error),
           *b = a ? af__ox_in_tensor (im, n, 1, error) : NULL;
  return b && af__ox_bind_out (im, n, af__ox_emit2 (im, AF_OP_MATMUL, a, b, OUT0 (n), error));
}

static gboolean
op_gemm (Imp *im, PbNode *n, GError **error)
{
  float alpha, beta;
  gint64 ta, tb;
  if (!af__ox_attr_float (im, n, "alpha", 1, &alpha, error) ||
      !af__ox_attr_float (im, n, "beta", 1, &beta, error) ||
      !af__ox_attr_int (im, n, "transA", 0, &ta, error) ||
      !af__ox_attr_int (im, n, "transB", 0, &tb, error))
    return FALSE;
  AfTensor *x = af__ox_in_tensor (im, n, 0, error);
  if (x && ta) {
    /* A transposed: a transpose node first */
    if (x->shape.rank != 2)
      return af__ox_fail (im, error, AF_ERROR_SHAPE, "input A must be 2-D");
    AfAttrs t;
    af__attrs_init (AF_OP_TRANSPOSE, &t);
    t.n_perm = 2;
    t.perm[0] = 1;
    t.perm[1] = 0;
    t.set = AF_A (PERM);
    char *name = g_strconcat (OUT0 (n), "_At", NULL);
    x = af__ox_emit1 (im, AF_OP_TRANSPOSE, x, &t, name, error);
    g_free (name);
  }
  Const *b = x ? af__ox_in_const (im, n, 1, "B", error) : NULL;
  if (!b)
    return FALSE;
  if (x->shape.rank != 2 || b->shape.rank != 2)
    return af__ox_fail (im, error, AF_ERROR_SHAPE, "inputs A and B must be 2-D");
  int perm[2] = { 1, 0 };
  Const *w = tb ? b : af__ox_const_transpose (im, b, perm, af__ox_in_name (n, 1));
  gint64 N = w->shape.d[0];
  if (alpha != 1 || w->kind == C_I64) {
    float *d;
    Const *s = af__ox_c_new (im, C_F32, &w->shape, w->name, (void **) &d);
    for (gint64 i = 0; i < w->numel; i++)
      d[i] = (float) (af__ox_c_get (w, i) * alpha);
    w = s;
  }
  Const *bias = NULL, *matrix = NULL;
  if (af__ox_in_name (n, 2)) {
    Const *c = af__ox_in_const (im, n, 2, "C", error);
    if (!c)
      return FALSE;
    AfShape xs = x->shape, os = { 2, { xs.d[0], N } }, bs;
    if (c->numel != N && c->numel != 1) {
      /* a C that varies along M: beta * C added after the linear */
      if (!af__shape_broadcast (&c->shape, &os, &bs) || !af__shape_equal (&bs, &os))
        return af__ox_fail (im, error, AF_ERROR_SHAPE, "input 2 (C) does not broadcast to [M, N]");
      float *d;
      matrix = af__ox_c_new (im, C_F32, &c->shape, c->name, (void **) &d);
      for (gint64 i = 0; i < c->numel; i++)
        d[i] = (float) (af__ox_c_get (c, i) * beta);
    }
  }
  if (af__ox_in_name (n, 2) && !matrix) {
    Const *c = af__ox_in_const (im, n, 2, "C", error);
    float *d;
    bias = af__ox_c_new (im, C_F32, &(AfShape){ 1, { N } }, c->name, (void **) &d);
    for (gint64 i = 0; i < N; i++)
      d[i] = (float) (af__ox_c_get (c, c->numel == 1 ? 0 : i) * beta);
  }
  AfTensor *in[3] = { x, af__ox_c_tensor (im, w, error),
                      bias ? af__ox_c_tensor (im, bias, error) : NULL };
  if (!in[1] || (bias && !in[2]))
    return FALSE;
  if (!matrix)
    return af__ox_bind_out (
        im, n, af__ox_emit (im, AF_OP_LINEAR, bias ? 3 : 2, in, NULL, OUT0 (n), error));
  char *name = g_strconcat (OUT0 (n), "_AB", NULL);
  AfTensor *ab = af__ox_emit (im, AF_OP_LINEAR, 2, in, NULL, name, error);
  g_free (name);
  AfTensor *ct = ab ? af__ox_c_tensor (im, matrix, error) : NULL;
  return ct && af__ox_bind_out (im, n, af__ox_emit2 (im, AF_OP_ADD, ab, ct, OUT0 (n), error));
}

const AfOxMapper af__ox_linear_ops[] = {
  { "MatMul", op_matmul, "" },
  { "Gemm", op_gemm, "alpha beta transA transB" },
  { NULL, NULL, NULL },
};
