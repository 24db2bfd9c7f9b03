/* matmul.c — matmul (numpy semantics: rank >= 1, batch dims broadcast) and
 * linear (x [..., K] . w[N, K]^T + b[N]). */
#include "ops-util.h"

/* The operands promoted to rank >= 2 as numpy does: a [K] -> [1, K],
 * b [K] -> [K, 1]. */
static void
af_matmul_promote (const AfNode *n, AfShape *a, AfShape *b)
{
  *a = n->in[0]->shape;
  *b = n->in[1]->shape;
  if (a->rank == 1) {
    a->d[1] = a->d[0];
    a->d[0] = 1;
    a->rank = 2;
  }
  if (b->rank == 1) {
    b->d[1] = 1;
    b->rank = 2;
  }
}

static gboolean
af_shape_matmul (AfNode *n, GError **error)
{
  if (!af__ops_check_rank (n, 0, 1, AF_MAX_RANK, error) ||
      !af__ops_check_rank (n, 1, 1, AF_MAX_RANK, error))
    return FALSE;
  AfShape a, b;
  af_matmul_promote (n, &a, &b);
  gint64 k = a.d[a.rank - 1];
  if (b.d[b.rank - 2] != k) {
    char want[96];
    g_snprintf (want, sizeof want, "%s%" G_GINT64_FORMAT "%s (inner dim of input 0 \"%s\")",
                n->in[1]->shape.rank == 1 ? "[" : "[..., ", k,
                n->in[1]->shape.rank == 1 ? "]" : ", N]", n->in[0]->name);
    return af__ops_bad_input (n, 1, want, error);
  }
  AfShape ba = { a.rank - 2 }, bb = { b.rank - 2 }, out;
  memcpy (ba.d, a.d, sizeof (gint64) * ba.rank);
  memcpy (bb.d, b.d, sizeof (gint64) * bb.rank);
  if (!af__shape_broadcast (&ba, &bb, &out)) {
    char *sa = af__shape_str (&n->in[0]->shape), *sb = af__shape_str (&n->in[1]->shape);
    g_set_error (error, AF_ERROR, AF_ERROR_SHAPE,
                 "input 1 \"%s\" has shape %s whose batch dims do not broadcast with input 0 "
                 "\"%s\" %s",
                 n->in[1]->name, sb, n->in[0]->name, sa);
    g_free (sa);
    g_free (sb);
    return FALSE;
  }
  if (n->in[0]->shape.rank > 1)
    out.d[out.rank++] = a.d[a.rank - 2];
  if (n->in[1]->shape.rank > 1)
    out.d[out.rank++] = b.d[b.rank - 1];
  n->out->shape = out;
  return TRUE;
}

static gboolean
af_shape_linear (AfNode *n, GError **error)
{
  if (!af__ops_check_rank (n, 0, 1, AF_MAX_RANK, error) || !af__ops_check_rank (n, 1, 2, 2, error))
    return FALSE;
  AfShape out = n->in[0]->shape;
  gint64 k = out.d[out.rank - 1], nn = n->in[1]->shape.d[0];
  AfShape ws = { 2, { nn, k } };
  if (!af__ops_check_shape (n, 1, &ws, error))
    return FALSE;
  if (n->n_in > 2) {
    AfShape bs = { 1, { nn } };
    if (!af__ops_check_shape (n, 2, &bs, error))
      return FALSE;
  }
  out.d[out.rank - 1] = nn;
  n->out->shape = out;
  return TRUE;
}

gboolean
af__shape_matmul (AfNode *n, GError **error)
{
  return n->op == AF_OP_LINEAR ? af_shape_linear (n, error) : af_shape_matmul (n, error);
}

static void
af_ref_matmul (const AfNode *n, const float *const *in, float *out)
{
  AfShape a, b;
  af_matmul_promote (n, &a, &b);
  gint64 M = a.d[a.rank - 2], K = a.d[a.rank - 1], N = b.d[b.rank - 1];
  /* the batch shape of the output, and each operand's batch strides in it */
  AfShape ba = { a.rank - 2 }, bb = { b.rank - 2 }, batch;
  memcpy (ba.d, a.d, sizeof (gint64) * ba.rank);
  memcpy (bb.d, b.d, sizeof (gint64) * bb.rank);
  af__shape_broadcast (&ba, &bb, &batch);
  gint64 sa[AF_MAX_RANK], sb[AF_MAX_RANK];
  af__ops_bcast_strides (&ba, &batch, sa);
  af__ops_bcast_strides (&bb, &batch, sb);
  gint64 n_batch = af__shape_numel (&batch);

  for (gint64 t = 0; t < n_batch; t++) {
    const float *pa = in[0] + af__ops_bcast_offset (t, &batch, sa) * M * K;
    const float *pb = in[1] + af__ops_bcast_offset (t, &batch, sb) * K * N;
    float *po = out + t * M * N;
    /* i-k-j order: each po[i, j] still sums its K products in order k = 0.. */
    for (gint64 i = 0; i < M; i++) {
      for (gint64 j = 0; j < N; j++)
        po[i * N + j] = 0.0f;
      for (gint64 k = 0; k < K; k++) {
        float aik = pa[i * K + k];
        for (gint64 j = 0; j < N; j++)
          po[i * N + j] += aik * pb[k * N + j];
      }
    }
  }
}

static void
af_ref_linear (const AfNode *n, const float *const *in, float *out)
{
  const AfShape *xs = &n->in[0]->shape;
  gint64 K = xs->d[xs->rank - 1], N = n->in[1]->shape.d[0];
  gint64 M = af__shape_numel (xs) / K;
  const float *x = in[0], *w = in[1], *b = n->n_in > 2 ? in[2] : NULL;
  for (gint64 i = 0; i < M; i++)
    for (gint64 j = 0; j < N; j++) {
      float acc = 0.0f;
      for (gint64 k = 0; k < K; k++)
        acc += x[i * K + k] * w[j * K + k];
      out[i * N + j] = b ? acc + b[j] : acc;
    }
}

void
af__ref_matmul (const AfNode *n, const float *const *in, float *out)
{
  if (n->op == AF_OP_LINEAR)
    af_ref_linear (n, in, out);
  else
    af_ref_matmul (n, in, out);
}

void
af__cost_matmul (const AfNode *n, AfCost *cost)
{
  const AfShape *a = &n->in[0]->shape;
  double outs = (double) af__shape_numel (&n->out->shape);
  double k = (double) a->d[a->rank - 1];
  cost->flops = 2 * outs * k + (n->n_in > 2 ? outs : 0);
  cost->bytes = af__ops_io_bytes (n);
}
