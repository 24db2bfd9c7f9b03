/* conv.c — 2-D convolution: x [N,C,H,W], w [O, C/groups, KH, KW], b [O];
 * and its transpose conv_transpose: x [N,C,H,W], w [C, O/groups, KH, KW],
 * b [O], each input pixel scattering its kernel to stride * position, the
 * full output cropped by pad. Attributes stride (h, w), pad (top, left,
 * bottom, right), dilation (h, w), groups. */
#include "ops-util.h"

static gboolean
af_conv_check_attrs (const AfAttrs *a, GError **error)
{
  for (int i = 0; i < 2; i++) {
    if (a->stride[i] < 1)
      return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                          "attribute \"stride\": %" G_GINT64_FORMAT " must be >= 1", a->stride[i]);
    if (a->dilation[i] < 1)
      return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                          "attribute \"dilation\": %" G_GINT64_FORMAT " must be >= 1",
                          a->dilation[i]);
  }
  for (int i = 0; i < 4; i++)
    if (a->pad[i] < 0)
      return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                          "attribute \"pad\": %" G_GINT64_FORMAT " must be >= 0", a->pad[i]);
  if (a->groups < 1)
    return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                        "attribute \"groups\": %" G_GINT64_FORMAT " must be >= 1", a->groups);
  return TRUE;
}

/* One spatial output size; FALSE if the dilated kernel exceeds the padded
 * input. */
static gboolean
af_conv_out_dim (gint64 in, gint64 pad0, gint64 pad1, gint64 k, gint64 dil, gint64 stride,
                 gint64 *out)
{
  gint64 span = in + pad0 + pad1 - dil * (k - 1) - 1;
  if (span < 0)
    return FALSE;
  *out = span / stride + 1;
  return TRUE;
}

/* conv_transpose: out = (in - 1) * stride + (k - 1) * dilation + 1 - pads. */
static gboolean
af_shape_conv_transpose (AfNode *n, GError **error)
{
  const AfAttrs *a = &n->attrs;
  const gint64 *x = n->in[0]->shape.d, *w = n->in[1]->shape.d;
  gint64 c = x[1], g = a->groups, o = w[1] * g;
  if (c % g != 0)
    return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                        "attribute \"groups\": %" G_GINT64_FORMAT
                        " does not divide the %" G_GINT64_FORMAT " channels of input 0 \"%s\"",
                        g, c, n->in[0]->name);
  if (w[0] != c) {
    g_autofree char *want = g_strdup_printf ("[%" G_GINT64_FORMAT ", O/groups, KH, KW] (input 0 "
                                             "\"%s\" has %" G_GINT64_FORMAT " channels)",
                                             c, n->in[0]->name, c);
    return af__ops_bad_input (n, 1, want, error);
  }
  if (n->n_in > 2) {
    AfShape bs = { 1, { o } };
    if (!af__ops_check_shape (n, 2, &bs, error))
      return FALSE;
  }
  AfShape out = { 4, { x[0], o, 0, 0 } };
  for (int i = 0; i < 2; i++) {
    gint64 full = (x[2 + i] - 1) * a->stride[i] + (w[2 + i] - 1) * a->dilation[i] + 1;
    out.d[2 + i] = full - a->pad[i] - a->pad[2 + i];
    if (full > AF_MAX_DIM || out.d[2 + i] < 1)
      return AF_OPS_FAIL (error, AF_ERROR_SHAPE,
                          "attribute \"pad\": %" G_GINT64_FORMAT " + %" G_GINT64_FORMAT
                          " leaves %" G_GINT64_FORMAT " of the %" G_GINT64_FORMAT
                          " output rows/columns of input 0 \"%s\"",
                          a->pad[i], a->pad[2 + i], out.d[2 + i], full, n->in[0]->name);
  }
  n->out->shape = out;
  return TRUE;
}

gboolean
af__shape_conv (AfNode *n, GError **error)
{
  const AfAttrs *a = &n->attrs;
  if (n->op == AF_OP_CONV_TRANSPOSE)
    return af__ops_check_rank (n, 0, 4, 4, error) && af__ops_check_rank (n, 1, 4, 4, error) &&
           af_conv_check_attrs (a, error) && af_shape_conv_transpose (n, error);
  if (!af__ops_check_rank (n, 0, 4, 4, error) || !af__ops_check_rank (n, 1, 4, 4, error) ||
      !af_conv_check_attrs (a, error))
    return FALSE;
  const gint64 *x = n->in[0]->shape.d, *w = n->in[1]->shape.d;
  gint64 c = x[1], o = w[0], g = a->groups;
  if (c % g != 0)
    return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                        "attribute \"groups\": %" G_GINT64_FORMAT
                        " does not divide the %" G_GINT64_FORMAT " channels of input 0 \"%s\"",
                        g, c, n->in[0]->name);
  if (o % g != 0)
    return AF_OPS_FAIL (error, AF_ERROR_INVALID,
                        "attribute \"groups\": %" G_GINT64_FORMAT
                        " does not divide the %" G_GINT64_FORMAT
                        " output channels of input 1 \"%s\"",
                        g, o, n->in[1]->name);
  if (w[1] != c / g) {
    g_autofree char *want = g_strdup_printf ("[%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                                             ", KH, KW] (input 0 \"%s\" has %" G_GINT64_FORMAT
                                             " channels, groups %" G_GINT64_FORMAT ")",
                                             o, c / g, n->in[0]->name, c, g);
    return af__ops_bad_input (n, 1, want, error);
  }
  if (n->n_in > 2) {
    AfShape bs = { 1, { o } };
    if (!af__ops_check_shape (n, 2, &bs, error))
      return FALSE;
  }
  AfShape out = { 4, { x[0], o, 0, 0 } };
  for (int i = 0; i < 2; i++) {
    if (!af_conv_out_dim (x[2 + i], a->pad[i], a->pad[2 + i], w[2 + i], a->dilation[i],
                          a->stride[i], &out.d[2 + i])) {
      char *xs = af__shape_str (&n->in[0]->shape), *ws = af__shape_str (&n->in[1]->shape);
      g_set_error (error, AF_ERROR, AF_ERROR_SHAPE,
                   "input 1 \"%s\": kernel %s (dilation %" G_GINT64_FORMAT
                   ") is larger than the padded input 0 \"%s\" %s",
                   n->in[1]->name, ws, a->dilation[i], n->in[0]->name, xs);
      g_free (xs);
      g_free (ws);
      return FALSE;
    }
  }
  n->out->shape = out;
  return TRUE;
}

/* Scatter form: each input pixel adds its kernel, scaled, at stride *
 * position - pad; the sum per output is then plus the bias. */
static void
af_ref_conv_transpose (const AfNode *n, const float *const *in, float *out)
{
  const AfAttrs *a = &n->attrs;
  const gint64 *xs = n->in[0]->shape.d, *ws = n->in[1]->shape.d, *ys = n->out->shape.d;
  gint64 N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  gint64 O = ys[1], OH = ys[2], OW = ys[3], KH = ws[2], KW = ws[3];
  gint64 cg = C / a->groups, og = O / a->groups;
  const float *x = in[0], *w = in[1], *b = n->n_in > 2 ? in[2] : NULL;
  for (gint64 bn = 0; bn < N; bn++)
    for (gint64 oc = 0; oc < O; oc++)
      for (gint64 i = 0; i < OH * OW; i++)
        out[(bn * O + oc) * OH * OW + i] = b ? b[oc] : 0.0f;
  for (gint64 bn = 0; bn < N; bn++)
    for (gint64 ic = 0; ic < C; ic++) {
      gint64 o0 = (ic / cg) * og;
      for (gint64 iy = 0; iy < H; iy++)
        for (gint64 ix = 0; ix < W; ix++) {
          float v = x[((bn * C + ic) * H + iy) * W + ix];
          for (gint64 oo = 0; oo < og; oo++)
            for (gint64 ky = 0; ky < KH; ky++) {
              gint64 oy = iy * a->stride[0] - a->pad[0] + ky * a->dilation[0];
              if (oy < 0 || oy >= OH)
                continue;
              for (gint64 kx = 0; kx < KW; kx++) {
                gint64 ox = ix * a->stride[1] - a->pad[1] + kx * a->dilation[1];
                if (ox < 0 || ox >= OW)
                  continue;
                out[((bn * O + o0 + oo) * OH + oy) * OW + ox] +=
                    v * w[((ic * og + oo) * KH + ky) * KW + kx];
              }
            }
        }
    }
}

void
af__ref_conv (const AfNode *n, const float *const *in, float *out)
{
  const AfAttrs *a = &n->attrs;
  if (n->op == AF_OP_CONV_TRANSPOSE) {
    af_ref_conv_transpose (n, in, out);
    return;
  }
  const gint64 *xs = n->in[0]->shape.d, *ws = n->in[1]->shape.d, *ys = n->out->shape.d;
  gint64 N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  gint64 O = ys[1], OH = ys[2], OW = ys[3], KH = ws[2], KW = ws[3];
  gint64 cg = C / a->groups, og = O / a->groups;
  const float *x = in[0], *w = in[1], *b = n->n_in > 2 ? in[2] : NULL;

  for (gint64 bn = 0; bn < N; bn++)
    for (gint64 oc = 0; oc < O; oc++) {
      gint64 c0 = (oc / og) * cg;
      for (gint64 oy = 0; oy < OH; oy++)
        for (gint64 ox = 0; ox < OW; ox++) {
          float acc = 0.0f;
          for (gint64 ic = 0; ic < cg; ic++)
            for (gint64 ky = 0; ky < KH; ky++) {
              gint64 iy = oy * a->stride[0] - a->pad[0] + ky * a->dilation[0];
              if (iy < 0 || iy >= H)
                continue;
              for (gint64 kx = 0; kx < KW; kx++) {
                gint64 ix = ox * a->stride[1] - a->pad[1] + kx * a->dilation[1];
                if (ix < 0 || ix >= W)
                  continue;
                acc += x[((bn * C + c0 + ic) * H + iy) * W + ix] *
                       w[((oc * cg + ic) * KH + ky) * KW + kx];
              }
            }
          out[((bn * O + oc) * OH + oy) * OW + ox] = b ? acc + b[oc] : acc;
        }
    }
}

void
af__cost_conv (const AfNode *n, AfCost *cost)
{
  const gint64 *ws = n->in[1]->shape.d;
  double outs = (double) af__shape_numel (&n->out->shape);
  double macs = outs * (double) (ws[1] * ws[2] * ws[3]);
  if (n->op == AF_OP_CONV_TRANSPOSE) /* every input pixel times the whole kernel */
    macs = (double) af__shape_numel (&n->in[0]->shape) * (double) (ws[1] * ws[2] * ws[3]);
  cost->flops = 2 * macs + (n->n_in > 2 ? outs : 0);
  cost->bytes = af__ops_io_bytes (n);
}
