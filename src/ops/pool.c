/* pool.c — max_pool / avg_pool on [N, C, H, W]: kernel, stride, pad (top,
 * left, bottom, right), ceil_mode (ONNX: the last window must start inside
 * the input or its left/top pad), count_include_pad (avg), global (one
 * window over the whole plane). Max ignores padded cells. */
#include "ops-util.h"

/* The pooling geometry of @n after its attributes (global resolved). */
typedef struct {
  gint64 k[2], s[2], p[4];
} AfPoolGeom;

static void
af_pool_geom (const AfNode *n, AfPoolGeom *g)
{
  const AfAttrs *a = &n->attrs;
  const gint64 *x = n->in[0]->shape.d;
  for (int i = 0; i < 2; i++) {
    g->k[i] = a->global ? x[2 + i] : a->kernel[i];
    g->s[i] = a->global ? 1 : a->stride[i];
    g->p[i] = a->global ? 0 : a->pad[i];
    g->p[2 + i] = a->global ? 0 : a->pad[2 + i];
  }
}

static gboolean
af_pool_check_attrs (const AfAttrs *a, GError **error)
{
  for (int i = 0; i < 2; i++) {
    if (a->kernel[i] < 1)
      return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                          "attribute \"kernel\": %" G_GINT64_FORMAT " must be >= 1", a->kernel[i]);
    if (a->stride[i] < 1)
      return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                          "attribute \"stride\": %" G_GINT64_FORMAT " must be >= 1", a->stride[i]);
  }
  for (int i = 0; i < 4; i++)
    if (a->pad[i] < 0 || a->pad[i] >= a->kernel[i % 2])
      return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                          "attribute \"pad\": %" G_GINT64_FORMAT
                          " must be >= 0 and smaller than the kernel (%" G_GINT64_FORMAT ")",
                          a->pad[i], a->kernel[i % 2]);
  return TRUE;
}

/* One output size; -1 if the kernel exceeds the padded input. */
static gint64
af_pool_out_dim (gint64 in, gint64 p0, gint64 p1, gint64 k, gint64 s, gboolean ceil_mode)
{
  gint64 span = in + p0 + p1 - k;
  if (span < 0)
    return -1;
  gint64 o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (o - 1) * s >= in + p0)
    o--;
  return o;
}

gboolean
af__shape_pool (AfNode *n, GError **error)
{
  if (!af__ops_check_rank (n, 0, 4, 4, error))
    return FALSE;
  if (!n->attrs.global && !af_pool_check_attrs (&n->attrs, error))
    return FALSE;
  AfPoolGeom g;
  af_pool_geom (n, &g);
  const gint64 *x = n->in[0]->shape.d;
  AfShape out = { 4, { x[0], x[1], 1, 1 } };
  for (int i = 0; i < 2; i++) {
    out.d[2 + i] = af_pool_out_dim (x[2 + i], g.p[i], g.p[2 + i], g.k[i], g.s[i],
                                    !n->attrs.global && n->attrs.ceil_mode);
    if (out.d[2 + i] < 1) {
      char want[96];
      g_snprintf (want, sizeof want,
                  "H and W of at least the kernel %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                  " minus the pads",
                  g.k[0], g.k[1]);
      return af__ops_bad_input (n, 0, want, error);
    }
  }
  n->out->shape = out;
  return TRUE;
}

/* One output cell of one plane @x [H, W]. */
static float
af_pool_cell (const AfNode *n, const AfPoolGeom *g, const float *x, gint64 H, gint64 W, gint64 oy,
              gint64 ox)
{
  gint64 y0 = oy * g->s[0] - g->p[0], x0 = ox * g->s[1] - g->p[1];
  gint64 y1 = MIN (y0 + g->k[0], H + g->p[2]), x1 = MIN (x0 + g->k[1], W + g->p[3]);
  gint64 padded_area = (y1 - y0) * (x1 - x0);
  y1 = MIN (y1, H);
  x1 = MIN (x1, W);
  y0 = MAX (y0, 0);
  x0 = MAX (x0, 0);
  if (n->op == AF_OP_MAX_POOL) {
    float m = -INFINITY;
    for (gint64 iy = y0; iy < y1; iy++)
      for (gint64 ix = x0; ix < x1; ix++)
        m = MAX (m, x[iy * W + ix]);
    return m;
  }
  float sum = 0.0f;
  for (gint64 iy = y0; iy < y1; iy++)
    for (gint64 ix = x0; ix < x1; ix++)
      sum += x[iy * W + ix];
  gint64 area = n->attrs.count_include_pad ? padded_area : (y1 - y0) * (x1 - x0);
  return sum / (float) area;
}

void
af__ref_pool (const AfNode *n, const float *const *in, float *out)
{
  AfPoolGeom g;
  af_pool_geom (n, &g);
  const gint64 *xs = n->in[0]->shape.d, *ys = n->out->shape.d;
  gint64 H = xs[2], W = xs[3], OH = ys[2], OW = ys[3];
  for (gint64 pl = 0; pl < xs[0] * xs[1]; pl++)
    for (gint64 oy = 0; oy < OH; oy++)
      for (gint64 ox = 0; ox < OW; ox++)
        out[(pl * OH + oy) * OW + ox] = af_pool_cell (n, &g, in[0] + pl * H * W, H, W, oy, ox);
}

void
af__cost_pool (const AfNode *n, AfCost *cost)
{
  AfPoolGeom g;
  af_pool_geom (n, &g);
  cost->flops = (double) af__shape_numel (&n->out->shape) * (double) (g.k[0] * g.k[1]);
  cost->bytes = af__ops_io_bytes (n);
}
