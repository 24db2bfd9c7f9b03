/* precision.c — where fp16 will hurt: af_precision_risk (aneforge.h).
 *
 * A static pass over the graph in topological order. Every value gets a
 * range model: an interval [lo, hi] (sound, worst case) and a statistical
 * model (mean mu, variance var of its elements, inputs assumed independent;
 * per channel for NCHW values where the ops keep channels) from which the
 * pass takes the value's typical peak, min(|mu| + 6 sigma,
 * max(|lo|, |hi|)). Worst-case intervals grow with depth far beyond what
 * trained networks reach, so the risks are judged on the peak; the interval
 * is reported beside it. Sources: the image port's scale / bias over pixels
 * 0..255, the declared range of other inputs, the weights' own values.
 *
 * The rules (docs/precision.md has the derivations and examples):
 *   overflow        peak > 65504: fp16's largest finite value
 *   matmul_inf      matmul / linear, and sum / mean over K > 4 (the ANE
 *                   lowering makes them a matmul against ones, summing before
 *                   the divide): result > 32759 is inf on every ANE chip
 *   underflow       0 < peak < 2^-14: subnormal, relative spacing 2^-24 / peak
 *   cancel_sub      add / sub (and batch_norm's x - mean): error u * cond with
 *                   cond = larger operand peak / result peak
 *   narrow_sum      sum / mean / global pool / live-live matmul over K >= 256
 *                   signed terms: the seed's proxy 1e-3 sqrt(K)
 *   variance_cliff  a square of deviations that overflows or goes subnormal,
 *                   or a variance mean over an axis > 65536 (the seed's
 *                   group-norm per-axis wall)
 *   slice_clamp     a program input whose last axis is padded to 64 bytes is
 *                   sliced on the ANE; on h13 / h14 the slice saturates
 *                   |x| > 4094
 * The calibration runs the graph with the ops' reference kernels twice per
 * frame: in fp32 (weights, image port and every op result unrounded) and as
 * the fp16 contract computes it (weights and results rounded to fp16), and
 * measures each node's max|fp16 - fp32| / max|fp32|. */
#include "graph.h"

#include <math.h>
#include <string.h>

#define AF_U (1.0 / 2048)                /* fp16 unit roundoff 2^-11 */
#define AF_FP16_MAX 65504.0              /* largest finite fp16 */
#define AF_FP16_MIN_NORMAL (1.0 / 16384) /* 2^-14 */
#define AF_FP16_TINY (1.0 / 33554432)    /* 2^-25: rounds to zero below */
#define AF_FP16_MIN_SUB (1.0 / 16777216) /* 2^-24: the smallest subnormal */
#define AF_SIGMAS 6.0                    /* typical peak = |mu| + 6 sigma */
#define AF_FP16_CLEAN 1e-3               /* seed ANCHORS.md 6.3 _FP16_CLEAN */
#define AF_NARROW_SUM_FLOOR 256          /* seed ANCHORS.md 6.3 _NARROW_SUM_FLOOR */
#define AF_ANE_SUM_AS_MATMUL_K 4         /* backends/ane/lower.c: sums above go through matmul */
#define AF_MATMUL_INF 32759.0            /* seed ANCHORS.md 5.4: "matmul inf ~32759 on all" */
#define AF_SLICE_CLAMP 4094.0            /* seed ANCHORS.md 5.4: slice clamp @4094 on M1/M2 Pro */
#define AF_AXIS_WALL 65536               /* seed ANCHORS.md 6.3: group_norm cliff */
#define AF_PORT_ALIGN_ELEMS 32           /* fp16 elements per 64-byte row (ANE port padding) */

/* ------------------------------------------------------------ targets
 * A small local list until the targets table lands: the families of seed
 * ANCHORS.md 6.1 (1 older, 2 A13/M1, 3 A14/M2, 4 A15/M3, 5 A16+/M4/M5), and
 * the cliffs of ANCHORS.md 5.4: the matmul inf cliff on every chip, the
 * slice clamp at 4094 on M1 / M1 Max / M2 Pro (families 2 and 3; exact on
 * M4 / M5 Pro; family 4 not measured). */
typedef struct {
  const char *name;
  int family;
} AfPrecTarget;

static const AfPrecTarget af_prec_targets[] = {
  { "h11", 1 }, { "h12", 1 },  { "m9", 1 },   { "t0", 1 },   { "h13", 2 },  { "h13g", 2 },
  { "t1", 2 },  { "m1", 2 },   { "a13", 2 },  { "h14", 3 },  { "h14g", 3 }, { "h14c", 3 },
  { "m2", 3 },  { "a14", 3 },  { "h15", 4 },  { "h15g", 4 }, { "h15c", 4 }, { "m11", 4 },
  { "m3", 4 },  { "a15", 4 },  { "h16", 5 },  { "h16g", 5 }, { "h16c", 5 }, { "h16s", 5 },
  { "h17", 5 }, { "h17a", 5 }, { "h17g", 5 }, { "h17s", 5 }, { "h17c", 5 }, { "h17d", 5 },
  { "h18", 5 }, { "m4", 5 },   { "m5", 5 },   { "a16", 5 },
};

static gboolean
af_family_has_slice_clamp (int family)
{
  return family == 2 || family == 3;
}

/* ------------------------------------------------------------ range model */

/* One channel of an NCHW value: interval and statistics. */
typedef struct {
  double lo, hi, mu, var;
} AfChan;

typedef struct {
  double lo, hi;    /* interval */
  double mu, var;   /* statistics of the elements */
  double peak;      /* typical largest |x| */
  gint64 nc;        /* channels of @ch, 0: none */
  const AfChan *ch; /* per channel (dim 1) of an NCHW value, from the pass's pool; NULL: none */
  gint64 k;         /* terms summed per output element (sums / dots), 0 else */
  gboolean signed_terms;
  double sum_peak; /* sum / mean: peak of the sum before the divide */
} AfRange;

static double
af_abs_max (double lo, double hi)
{
  return MAX (fabs (lo), fabs (hi));
}

/* peak from the statistics, within the interval */
static double
af_peak (double mu, double var, double lo, double hi)
{
  double p = fabs (mu) + AF_SIGMAS * sqrt (MAX (var, 0));
  double b = af_abs_max (lo, hi);
  return isnan (b) ? p : MIN (p, b);
}

static void
af_range_finish (AfRange *r)
{
  r->peak = af_peak (r->mu, r->var, r->lo, r->hi);
}

static void
af_range_uniform (AfRange *r, double lo, double hi)
{
  memset (r, 0, sizeof *r);
  r->lo = lo;
  r->hi = hi;
  r->mu = (lo + hi) / 2;
  r->var = (hi - lo) * (hi - lo) / 12;
  r->peak = af_abs_max (lo, hi);
}

/* Exact statistics of a constant. */
static void
af_range_const (const AfTensor *t, AfRange *r)
{
  gint64 n = af__shape_numel (&t->shape);
  float *f = g_new (float, MAX (n, 1));
  af__tensor_read_f32 (t, f);
  memset (r, 0, sizeof *r);
  r->lo = INFINITY;
  r->hi = -INFINITY;
  double s = 0, s2 = 0;
  for (gint64 i = 0; i < n; i++) {
    double v = af_fp16_to_f32 (af_f32_to_fp16 (f[i]));
    r->lo = MIN (r->lo, v);
    r->hi = MAX (r->hi, v);
    s += v;
    s2 += v * v;
  }
  if (n == 0)
    r->lo = r->hi = 0;
  r->mu = n ? s / n : 0;
  r->var = n ? MAX (s2 / n - r->mu * r->mu, 0) : 0;
  r->peak = af_abs_max (r->lo, r->hi);
  g_free (f);
}

/* Per output channel o, mean E[o] and variance V[o] folded into a tensor's
 * range (mixture over channels). */
typedef struct {
  double s_mu, s_m2, peak, lo, hi;
  gint64 n;
} AfMix;

static void
af_mix_init (AfMix *m)
{
  memset (m, 0, sizeof *m);
  m->lo = INFINITY;
  m->hi = -INFINITY;
}

static void
af_mix_add (AfMix *m, double e, double v, double lo, double hi)
{
  m->s_mu += e;
  m->s_m2 += v + e * e;
  m->peak = MAX (m->peak, af_peak (e, v, lo, hi));
  m->lo = MIN (m->lo, lo);
  m->hi = MAX (m->hi, hi);
  m->n++;
}

static void
af_mix_finish (const AfMix *m, AfRange *r)
{
  r->mu = m->n ? m->s_mu / m->n : 0;
  r->var = m->n ? MAX (m->s_m2 / m->n - r->mu * r->mu, 0) : 0;
  r->lo = m->n ? m->lo : 0;
  r->hi = m->n ? m->hi : 0;
  r->peak = m->peak;
}

/* [a, b] * [c, d] */
static void
af_interval_mul (double a, double b, double c, double d, double *lo, double *hi)
{
  double p[4] = { a * c, a * d, b * c, b * d };
  *lo = *hi = p[0];
  for (int i = 1; i < 4; i++) {
    if (isnan (p[i]))
      p[i] = 0; /* 0 * inf: the zero side wins */
    *lo = MIN (*lo, p[i]);
    *hi = MAX (*hi, p[i]);
  }
}

/* Dot products of input @x with rows of constant weights @w: row o is
 * @row elements starting at @w + o * @row (stride @step between columns for
 * matmul's [K, N] layout). @bias is NULL or a constant of @n_rows values.
 * @zero_pad: padded positions read 0. */
static void
af_range_dot_const (const AfRange *x, const AfTensor *w, gint64 n_rows, gint64 row, gint64 step,
                    gint64 row_stride, const AfTensor *bias, gboolean zero_pad, AfRange *r)
{
  gint64 n = af__shape_numel (&w->shape);
  float *f = g_new (float, MAX (n, 1));
  af__tensor_read_f32 (w, f);
  float *b = NULL;
  if (bias) {
    b = g_new (float, MAX (af__shape_numel (&bias->shape), 1));
    af__tensor_read_f32 (bias, b);
  }
  double lo = zero_pad ? MIN (x->lo, 0) : x->lo, hi = zero_pad ? MAX (x->hi, 0) : x->hi;
  AfMix m;
  af_mix_init (&m);
  for (gint64 o = 0; o < n_rows; o++) {
    const float *wo = f + (o / step) * row_stride + (o % step);
    double s1 = 0, s2 = 0, ilo = 0, ihi = 0;
    for (gint64 j = 0; j < row; j++) {
      double wj = af_fp16_to_f32 (af_f32_to_fp16 (wo[j * step]));
      double a, c;
      af_interval_mul (wj, wj, lo, hi, &a, &c);
      s1 += wj;
      s2 += wj * wj;
      ilo += a;
      ihi += c;
    }
    double bo = b ? af_fp16_to_f32 (af_f32_to_fp16 (b[o % af__shape_numel (&bias->shape)])) : 0;
    af_mix_add (&m, x->mu * s1 + bo, (x->var) * s2, ilo + bo, ihi + bo);
  }
  af_mix_finish (&m, r);
  r->k = row;
  /* products w * x change sign when the weights do or x does */
  g_free (f);
  g_free (b);
}

/* Dot products over @k terms of two live (independent) operands. */
static void
af_range_dot_live (const AfRange *a, const AfRange *b, gint64 k, AfRange *r)
{
  double plo, phi;
  af_interval_mul (a->lo, a->hi, b->lo, b->hi, &plo, &phi);
  double m2 = (a->var + a->mu * a->mu) * (b->var + b->mu * b->mu);
  double mu = a->mu * b->mu;
  r->lo = k * plo;
  r->hi = k * phi;
  r->mu = k * mu;
  r->var = k * MAX (m2 - mu * mu, 0);
  r->k = k;
  r->signed_terms = plo < 0 && phi > 0;
  af_range_finish (r);
}

/* E[f(X)], E[f(X)^2], for X ~ N(mu, var) restricted to [lo, hi]: a grid over
 * +-6 sigma. The peak and interval come from f over the grid and the
 * interval's ends. */
static void
af_range_unary (AfOp op, float lo_a, float hi_a, const AfRange *x, AfRange *r)
{
  double sd = sqrt (MAX (x->var, 0));
  double s = 0, s2 = 0, wsum = 0, pk = 0;
  for (int i = -120; i <= 120; i++) {
    double z = i / 20.0, w = exp (-0.5 * z * z);
    double v = CLAMP (x->mu + z * sd, x->lo, x->hi);
    double f = af__unary_scalar (op, (float) v, lo_a, hi_a);
    s += w * f;
    s2 += w * f * f;
    wsum += w;
    pk = MAX (pk, fabs (f));
  }
  r->mu = s / wsum;
  r->var = MAX (s2 / wsum - r->mu * r->mu, 0);
  /* the interval: f at its ends and on a grid between (silu / gelu dip) */
  double flo = INFINITY, fhi = -INFINITY;
  for (int i = 0; i <= 64; i++) {
    double v = i == 0 ? x->lo : i == 64 ? x->hi : CLAMP (-8 + i * 0.25, x->lo, x->hi);
    double f = af__unary_scalar (op, (float) v, lo_a, hi_a);
    if (isnan (f))
      continue;
    flo = MIN (flo, f);
    fhi = MAX (fhi, f);
  }
  r->lo = flo;
  r->hi = fhi;
  r->peak = MIN (pk, af_abs_max (flo, fhi));
}

/* ------------------------------------------------------------ the pass */

typedef struct {
  AfGraph *g;
  const AfPrecisionOptions *o;
  int family; /* 0: host or any */
  gboolean any_chip, host;
  AfRange *rv;      /* per value (graph->values index) */
  GPtrArray *chans; /* owned AfChan arrays the ranges point to */
  AfPrecisionReport *rep;
  GPtrArray *strings; /* owned strings of the report */
  GPtrArray *warnings;
} AfPrec;

static const char *
af_prec_keep (AfPrec *p, char *s)
{
  g_ptr_array_add (p->strings, s);
  return s;
}

/* Records a risk on @nr if it is worse than the one it has. */
static void
af_risk_set (AfPrec *p, AfNodeRisk *nr, AfRiskKind kind, double score, const char *fix,
             char *reason /* transfer full */)
{
  score = isnan (score) ? 1 : MIN (score, 1.0);
  if (nr->kind != AF_RISK_NONE && score <= nr->score) {
    g_free (reason);
    return;
  }
  nr->kind = kind;
  nr->score = score;
  nr->fix = fix;
  nr->reason = af_prec_keep (p, reason);
}

static const AfRange *
af_in (AfPrec *p, const AfNode *n, guint i)
{
  return &p->rv[n->in[i]->index];
}

/* Reduced element count of a reduction (input numel / output numel) and its
 * longest reduced axis. */
static gint64
af_reduce_k (const AfNode *n, gint64 *longest)
{
  const AfShape *s = &n->in[0]->shape;
  gint64 k = 1;
  *longest = 1;
  for (int i = 0; i < s->rank; i++) {
    gboolean red = n->attrs.n_axes == 0;
    for (int j = 0; j < n->attrs.n_axes; j++)
      red |= (n->attrs.axes[j] < 0 ? n->attrs.axes[j] + s->rank : n->attrs.axes[j]) == i;
    if (red) {
      k *= s->d[i];
      *longest = MAX (*longest, s->d[i]);
    }
  }
  return k;
}

/* Per-channel statistics keep what a per-tensor mean loses: channels with
 * different means feed the next conv's weights coherently (SqueezeNet's
 * conv10 peak: 0.34 per tensor, 17.9 measured). */
static AfChan *
af_chan_new (AfPrec *p, gint64 nc)
{
  AfChan *c = g_new0 (AfChan, MAX (nc, 1));
  g_ptr_array_add (p->chans, c);
  return c;
}

/* The tensor's range from its channels (a mixture; the peak is the worst
 * channel's). */
static void
af_range_from_chans (AfRange *r, const AfChan *ch, gint64 nc)
{
  AfMix m;
  af_mix_init (&m);
  for (gint64 i = 0; i < nc; i++)
    af_mix_add (&m, ch[i].mu, ch[i].var, ch[i].lo, ch[i].hi);
  af_mix_finish (&m, r);
  r->ch = ch;
  r->nc = nc;
}

/* Channel @c of @x, or the whole tensor when it has no channels. */
static AfChan
af_chan_of (const AfRange *x, gint64 c)
{
  if (x->ch && c < x->nc)
    return x->ch[c];
  return (AfChan){ x->lo, x->hi, x->mu, x->var };
}

static void
af_range_unary_node (AfPrec *p, const AfNode *n, AfRange *r)
{
  const AfRange *x = &p->rv[n->in[0]->index];
  af_range_unary (n->op, n->attrs.min, n->attrs.max, x, r);
  if (!x->ch)
    return;
  AfChan *ch = af_chan_new (p, x->nc);
  for (gint64 c = 0; c < x->nc; c++) {
    AfRange xc = { x->ch[c].lo, x->ch[c].hi, x->ch[c].mu, x->ch[c].var }, yc;
    af_range_unary (n->op, n->attrs.min, n->attrs.max, &xc, &yc);
    ch[c] = (AfChan){ yc.lo, yc.hi, yc.mu, yc.var };
  }
  af_range_from_chans (r, ch, x->nc);
}

static void
af_range_image (AfPrec *p, const AfNode *n, AfRange *r)
{
  gint64 c = n->out->shape.d[1];
  AfChan *ch = af_chan_new (p, c);
  for (gint64 i = 0; i < c; i++) {
    double s = n->image.scale[MIN (i, 2)], b = n->image.bias[MIN (i, 2)];
    double a = b, z = 255 * s + b;
    ch[i] = (AfChan){ MIN (a, z), MAX (a, z), (a + z) / 2, (z - a) * (z - a) / 12 };
  }
  af_range_from_chans (r, ch, c);
}

/* conv with constant weights [O, C/g, KH, KW], per output channel from the
 * input's channels: mean sum w mu_c + b, variance sum w^2 var_c. */
static void
af_range_conv_const (AfPrec *p, const AfNode *n, const AfRange *x, gboolean pad, AfRange *r)
{
  const AfTensor *w = n->in[1];
  const AfTensor *bias = n->n_in > 2 && n->in[2]->kind == AF_VALUE_CONST ? n->in[2] : NULL;
  gint64 o_n = w->shape.d[0], cg = w->shape.d[1], kk = w->shape.d[2] * w->shape.d[3];
  gint64 groups = MAX (n->attrs.groups, 1), per_group = MAX (o_n / groups, 1);
  float *f = g_new (float, MAX (af__shape_numel (&w->shape), 1));
  af__tensor_read_f32 (w, f);
  float *b = NULL;
  if (bias) {
    b = g_new (float, MAX (af__shape_numel (&bias->shape), 1));
    af__tensor_read_f32 (bias, b);
  }
  AfChan *ch = af_chan_new (p, o_n);
  for (gint64 o = 0; o < o_n; o++) {
    double bo = b ? af_fp16_to_f32 (af_f32_to_fp16 (b[o])) : 0;
    double e = bo, v = 0, ilo = bo, ihi = bo;
    for (gint64 ci = 0; ci < cg; ci++) {
      AfChan xc = af_chan_of (x, (o / per_group) * cg + ci);
      double lo = pad ? MIN (xc.lo, 0) : xc.lo, hi = pad ? MAX (xc.hi, 0) : xc.hi;
      for (gint64 k = 0; k < kk; k++) {
        double wj = af_fp16_to_f32 (af_f32_to_fp16 (f[(o * cg + ci) * kk + k])), a, c;
        af_interval_mul (wj, wj, lo, hi, &a, &c);
        e += wj * xc.mu;
        v += wj * wj * xc.var;
        ilo += a;
        ihi += c;
      }
    }
    ch[o] = (AfChan){ ilo, ihi, e, v };
  }
  af_range_from_chans (r, ch, o_n);
  r->k = cg * kk;
  g_free (f);
  g_free (b);
}

static void
af_range_conv (AfPrec *p, const AfNode *n, AfRange *r)
{
  const AfTensor *w = n->in[1];
  const AfRange *x = af_in (p, n, 0);
  if (w->kind != AF_VALUE_CONST) {
    gint64 k = w->shape.d[1] * w->shape.d[2] * w->shape.d[3];
    af_range_dot_live (x, af_in (p, n, 1), k, r);
    return;
  }
  gboolean pad = FALSE;
  for (int i = 0; i < 4; i++)
    pad |= n->attrs.pad[i] > 0;
  af_range_conv_const (p, n, x, pad, r);
}

static void
af_range_linear (AfPrec *p, const AfNode *n, AfRange *r)
{
  const AfTensor *w = n->in[1];
  const AfRange *x = af_in (p, n, 0);
  gint64 k = n->in[0]->shape.d[n->in[0]->shape.rank - 1];
  if (n->op == AF_OP_LINEAR && w->kind == AF_VALUE_CONST) {
    af_range_dot_const (x, w, w->shape.d[0], k, 1, k,
                        n->n_in > 2 && n->in[2]->kind == AF_VALUE_CONST ? n->in[2] : NULL, FALSE,
                        r);
    return;
  }
  if (n->op == AF_OP_MATMUL && w->kind == AF_VALUE_CONST && w->shape.rank >= 2) {
    /* b [..., K, N]: column n of batch matrix m is a row of K, stride N */
    gint64 cols = w->shape.d[w->shape.rank - 1];
    gint64 mats = af__shape_numel (&w->shape) / (k * cols);
    af_range_dot_const (x, w, mats * cols, k, cols, k * cols, NULL, FALSE, r);
    return;
  }
  af_range_dot_live (x, af_in (p, n, 1), k, r);
  if (n->op == AF_OP_LINEAR && n->n_in > 2) {
    const AfRange *b = af_in (p, n, 2);
    r->lo += b->lo;
    r->hi += b->hi;
    r->mu += b->mu;
    r->var += b->var;
    af_range_finish (r);
  }
}

static void
af_range_binary (AfPrec *p, const AfNode *n, AfRange *r)
{
  const AfRange *a = af_in (p, n, 0), *b = af_in (p, n, 1);
  switch (n->op) {
  case AF_OP_ADD:
  case AF_OP_SUB: {
    int sg = n->op == AF_OP_ADD ? 1 : -1;
    r->lo = sg > 0 ? a->lo + b->lo : a->lo - b->hi;
    r->hi = sg > 0 ? a->hi + b->hi : a->hi - b->lo;
    r->mu = a->mu + sg * b->mu;
    r->var = a->var + b->var;
    break;
  }
  case AF_OP_MUL:
  case AF_OP_DIV: {
    AfRange rb = *b;
    if (n->op == AF_OP_DIV) {
      if (b->lo > 0 || b->hi < 0) {
        rb.lo = 1 / b->hi;
        rb.hi = 1 / b->lo;
      } else {
        rb.lo = -INFINITY;
        rb.hi = INFINITY;
      }
      rb.mu = 1 / b->mu;
      rb.var = b->var / pow (b->mu, 4);
    }
    af_interval_mul (a->lo, a->hi, rb.lo, rb.hi, &r->lo, &r->hi);
    if (n->in[0] == n->in[1] && n->op == AF_OP_MUL) { /* a square, Gaussian moments */
      double m = a->mu, v = a->var;
      r->lo = (a->lo <= 0 && a->hi >= 0) ? 0 : MIN (a->lo * a->lo, a->hi * a->hi);
      r->hi = MAX (a->lo * a->lo, a->hi * a->hi);
      r->mu = m * m + v;
      r->var = MAX (m * m * m * m + 6 * m * m * v + 3 * v * v - r->mu * r->mu, 0);
      break;
    }
    r->mu = a->mu * rb.mu;
    r->var = MAX ((a->var + a->mu * a->mu) * (rb.var + rb.mu * rb.mu) - r->mu * r->mu, 0);
    break;
  }
  case AF_OP_MAXIMUM:
  case AF_OP_MINIMUM: {
    gboolean mx = n->op == AF_OP_MAXIMUM;
    r->lo = mx ? MAX (a->lo, b->lo) : MIN (a->lo, b->lo);
    r->hi = mx ? MAX (a->hi, b->hi) : MIN (a->hi, b->hi);
    const AfRange *pick = (a->mu > b->mu) == mx ? a : b;
    r->mu = pick->mu;
    r->var = pick->var;
    break;
  }
  default:
    g_assert_not_reached ();
  }
  af_range_finish (r);
}

static void
af_range_reduce (AfPrec *p, const AfNode *n, AfRange *r)
{
  const AfRange *x = af_in (p, n, 0);
  if (n->op == AF_OP_SOFTMAX) {
    gint64 len =
        n->in[0]->shape.d[n->attrs.axis < 0 ? n->attrs.axis + n->in[0]->shape.rank : n->attrs.axis];
    r->lo = 0;
    r->hi = 1;
    r->mu = 1.0 / len;
    r->var = r->mu * (1 - r->mu);
    r->peak = 1;
    return;
  }
  gint64 longest, k = af_reduce_k (n, &longest);
  double dk = (double) k;
  switch (n->op) {
  case AF_OP_SUM:
  case AF_OP_MEAN: {
    gboolean mean = n->op == AF_OP_MEAN;
    r->lo = mean ? x->lo : dk * x->lo;
    r->hi = mean ? x->hi : dk * x->hi;
    r->mu = mean ? x->mu : dk * x->mu;
    r->var = mean ? x->var / dk : dk * x->var;
    r->k = k;
    r->signed_terms = x->lo < 0 && x->hi > 0;
    af_range_finish (r);
    r->sum_peak = af_peak (dk * x->mu, dk * x->var, dk * x->lo, dk * x->hi);
    return;
  }
  default: { /* amax / amin: the extreme of k draws */
    double shift = sqrt (2 * log (MAX (dk, 1.0))) * sqrt (x->var);
    gboolean mx = n->op == AF_OP_AMAX;
    r->lo = x->lo;
    r->hi = x->hi;
    r->mu = CLAMP (mx ? x->mu + shift : x->mu - shift, x->lo, x->hi);
    r->var = x->var / (1 + 2 * log (MAX (dk, 1.0)));
    af_range_finish (r);
    return;
  }
  }
}

/* batch_norm: per channel y = (x - m) g / sqrt(v + eps) + b, constants. */
static void
af_range_batch_norm (AfPrec *p, const AfNode *n, AfRange *r, double *cond)
{
  const AfRange *x = af_in (p, n, 0);
  gint64 c = n->in[0]->shape.d[1];
  *cond = 0;
  for (guint i = 1; i < 5; i++)
    if (n->in[i]->kind != AF_VALUE_CONST) {
      *r = *x;
      r->ch = NULL; /* not the input's channels any more */
      return;
    }
  float *prm[4];
  for (int i = 0; i < 4; i++) {
    prm[i] = g_new (float, c);
    af__tensor_read_f32 (n->in[i + 1], prm[i]);
  }
  AfChan *ch = af_chan_new (p, c);
  for (gint64 i = 0; i < c; i++) {
    double a = prm[0][i] / sqrt (prm[3][i] + n->attrs.eps), mean = prm[2][i], b = prm[1][i];
    AfChan xc = af_chan_of (x, i);
    double dlo = xc.lo - mean, dhi = xc.hi - mean;
    double dpeak = af_peak (xc.mu - mean, xc.var, dlo, dhi);
    if (dpeak > 0)
      *cond = MAX (*cond, MAX (af_peak (xc.mu, xc.var, xc.lo, xc.hi), fabs (mean)) / dpeak);
    double ylo, yhi;
    af_interval_mul (dlo, dhi, a, a, &ylo, &yhi);
    ch[i] = (AfChan){ ylo + b, yhi + b, (xc.mu - mean) * a + b, xc.var * a * a };
  }
  af_range_from_chans (r, ch, c);
  for (int i = 0; i < 4; i++)
    g_free (prm[i]);
}

static void
af_range_pool (AfPrec *p, const AfNode *n, AfRange *r)
{
  const AfRange *x = af_in (p, n, 0);
  *r = *x;
  r->k = 0;
  r->sum_peak = 0;
  gint64 k = n->attrs.global ? n->in[0]->shape.d[2] * n->in[0]->shape.d[3]
                             : n->attrs.kernel[0] * n->attrs.kernel[1];
  if (n->op == AF_OP_AVG_POOL) {
    /* neighbouring activations are correlated: the spread stays (an
     * independent model, var / k, put SqueezeNet's pooled logits at 0.04
     * where the calibration measures 13) */
    if (n->attrs.global) {
      r->k = k;
      r->signed_terms = x->lo < 0 && x->hi > 0;
    }
  } else {
    r->mu = MIN (x->mu + sqrt (x->var), x->hi);
    if (x->ch) {
      AfChan *ch = af_chan_new (p, x->nc);
      for (gint64 c = 0; c < x->nc; c++) {
        ch[c] = x->ch[c];
        ch[c].mu = MIN (ch[c].mu + sqrt (ch[c].var), ch[c].hi);
      }
      af_range_from_chans (r, ch, x->nc);
      return;
    }
  }
  if (x->ch) { /* avg_pool: the channels' statistics stay */
    af_range_from_chans (r, x->ch, x->nc);
    return;
  }
  af_range_finish (r);
}

static void
af_range_concat (AfPrec *p, const AfNode *n, AfRange *r)
{
  double s_mu = 0, s_m2 = 0, tot = 0;
  r->lo = INFINITY;
  r->hi = -INFINITY;
  r->peak = 0;
  for (guint i = 0; i < n->n_in; i++) {
    const AfRange *x = af_in (p, n, i);
    double w = (double) af__shape_numel (&n->in[i]->shape);
    s_mu += w * x->mu;
    s_m2 += w * (x->var + x->mu * x->mu);
    tot += w;
    r->lo = MIN (r->lo, x->lo);
    r->hi = MAX (r->hi, x->hi);
    r->peak = MAX (r->peak, x->peak);
  }
  r->mu = tot > 0 ? s_mu / tot : 0;
  r->var = tot > 0 ? MAX (s_m2 / tot - r->mu * r->mu, 0) : 0;
  int rank = n->out->shape.rank;
  gint64 axis = n->attrs.axis < 0 ? n->attrs.axis + rank : n->attrs.axis;
  if (rank != 4 || axis != 1)
    return;
  for (guint i = 0; i < n->n_in; i++)
    if (!af_in (p, n, i)->ch)
      return;
  AfChan *ch = af_chan_new (p, n->out->shape.d[1]);
  gint64 at = 0;
  for (guint i = 0; i < n->n_in; i++) {
    const AfRange *x = af_in (p, n, i);
    memcpy (ch + at, x->ch, x->nc * sizeof (AfChan));
    at += x->nc;
  }
  af_range_from_chans (r, ch, at);
}

static void
af_range_node (AfPrec *p, const AfNode *n, AfRange *r, double *bn_cond)
{
  memset (r, 0, sizeof *r);
  *bn_cond = 0;
  switch (n->op) {
  case AF_OP_INPUT: {
    double lo = p->o->input_lo, hi = p->o->input_hi;
    if (lo == 0 && hi == 0)
      lo = -1, hi = 1;
    af_range_uniform (r, lo, hi);
    return;
  }
  case AF_OP_IMAGE_INPUT:
    af_range_image (p, n, r);
    return;
  case AF_OP_CONV:
    af_range_conv (p, n, r);
    return;
  case AF_OP_MATMUL:
  case AF_OP_LINEAR:
    af_range_linear (p, n, r);
    return;
  case AF_OP_ADD:
  case AF_OP_SUB:
  case AF_OP_MUL:
  case AF_OP_DIV:
  case AF_OP_MAXIMUM:
  case AF_OP_MINIMUM:
    af_range_binary (p, n, r);
    return;
  case AF_OP_RELU:
  case AF_OP_RELU6:
  case AF_OP_CLIP:
  case AF_OP_SIGMOID:
  case AF_OP_TANH:
  case AF_OP_SILU:
  case AF_OP_GELU:
  case AF_OP_EXP:
    af_range_unary_node (p, n, r);
    return;
  case AF_OP_MEAN:
  case AF_OP_SUM:
  case AF_OP_AMAX:
  case AF_OP_AMIN:
  case AF_OP_SOFTMAX:
    af_range_reduce (p, n, r);
    return;
  case AF_OP_BATCH_NORM:
    af_range_batch_norm (p, n, r, bn_cond);
    return;
  case AF_OP_MAX_POOL:
  case AF_OP_AVG_POOL:
    af_range_pool (p, n, r);
    return;
  case AF_OP_CONCAT:
    af_range_concat (p, n, r);
    return;
  case AF_OP_ARGMAX:
    af_range_uniform (r, 0, (double) MAX (n->in[0]->shape.d[0], AF_MAX_BRIDGE_AXIS) - 1);
    return;
  case AF_OP_TOPK:
    if (n->attrs.indices) {
      af_range_uniform (r, 0, AF_MAX_BRIDGE_AXIS - 1);
      return;
    }
    *r = *af_in (p, n, 0);
    r->k = 0;
    return;
  default: /* reshape, transpose, upsample: the same values */
    *r = *af_in (p, n, 0);
    r->k = 0;
    r->sum_peak = 0;
    return;
  }
}

/* Channels survive the ops that keep an NCHW value's dim 1 (the others
 * copied their input's range or built none). */
static void
af_range_keep_chans (const AfNode *n, AfRange *r)
{
  gboolean keeps = FALSE;
  switch (n->op) {
  case AF_OP_IMAGE_INPUT:
  case AF_OP_CONV:
  case AF_OP_RELU:
  case AF_OP_RELU6:
  case AF_OP_CLIP:
  case AF_OP_SIGMOID:
  case AF_OP_TANH:
  case AF_OP_SILU:
  case AF_OP_GELU:
  case AF_OP_EXP:
  case AF_OP_MAX_POOL:
  case AF_OP_AVG_POOL:
  case AF_OP_CONCAT:
  case AF_OP_BATCH_NORM:
  case AF_OP_UPSAMPLE:
    keeps = TRUE;
    break;
  default:
    break;
  }
  if (!keeps || n->out->shape.rank != 4 || n->out->shape.d[1] != r->nc) {
    r->ch = NULL;
    r->nc = 0;
  }
}

/* ------------------------------------------------------------ the rules */

static gboolean
af_is_matmul_lowered (const AfNode *n, const AfRange *r)
{
  return n->op == AF_OP_MATMUL || n->op == AF_OP_LINEAR ||
         ((n->op == AF_OP_SUM || n->op == AF_OP_MEAN) && r->k > AF_ANE_SUM_AS_MATMUL_K);
}

/* x - mean(x): a sub whose second operand is a mean. */
static gboolean
af_is_deviation (const AfTensor *t)
{
  const AfNode *n = t->producer;
  return n && n->op == AF_OP_SUB && n->in[1]->producer && n->in[1]->producer->op == AF_OP_MEAN;
}

static void
af_rule_values (AfPrec *p, const AfNode *n, const AfRange *r, AfNodeRisk *nr)
{
  gboolean square = n->op == AF_OP_MUL && n->in[0] == n->in[1];
  if (r->peak > AF_FP16_MAX) {
    if (square && af_is_deviation (n->in[0]))
      af_risk_set (p, nr, AF_RISK_VARIANCE_CLIFF, 1, "",
                   g_strdup_printf ("squared deviations reach ~%.3g > 65504: the variance is inf "
                                    "and the normalised output 0",
                                    r->peak));
    else
      af_risk_set (p, nr, AF_RISK_OVERFLOW, 1, "",
                   g_strdup_printf ("values reach ~%.3g > 65504: inf in fp16", r->peak));
  }
  if (r->peak > 0 && r->peak < AF_FP16_MIN_NORMAL) {
    double score = r->peak < 2 * AF_FP16_TINY ? 1 : AF_FP16_TINY / r->peak;
    if (square && af_is_deviation (n->in[0]))
      af_risk_set (p, nr, AF_RISK_VARIANCE_CLIFF, score, "",
                   g_strdup_printf ("squared deviations peak at ~%.3g < 2^-14: the variance is "
                                    "subnormal or flushed to 0",
                                    r->peak));
    else
      af_risk_set (p, nr, AF_RISK_UNDERFLOW, score, "",
                   g_strdup_printf ("values peak at ~%.3g < 2^-14 (subnormal; below 3e-8 they "
                                    "flush to 0)",
                                    r->peak));
  }
  /* the ANE's matmul inf cliff: on the sum before a mean's divide */
  double mpeak = (n->op == AF_OP_SUM || n->op == AF_OP_MEAN) ? r->sum_peak : r->peak;
  if (af_is_matmul_lowered (n, r) && mpeak > AF_MATMUL_INF) {
    char *why =
        g_strdup_printf ("%s reaches ~%.3g > 32759: inf on the ANE's matmul",
                         n->op == AF_OP_MEAN ? "the sum before the divide" : "the result", mpeak);
    if (p->host)
      nr->cross_chip = af_prec_keep (p, g_strdup_printf ("on every ANE chip %s", why));
    else
      af_risk_set (p, nr, AF_RISK_MATMUL_INF, 1, "scale down before the matmul", g_strdup (why));
    g_free (why);
  }
}

static void
af_rule_cancel (AfPrec *p, const AfNode *n, const AfRange *r, double bn_cond, AfNodeRisk *nr)
{
  double cond = bn_cond;
  if ((n->op == AF_OP_SUB || n->op == AF_OP_ADD) && r->peak > 0)
    cond = MAX (af_in (p, n, 0)->peak, af_in (p, n, 1)->peak) / r->peak;
  if (cond > 1 && AF_U * cond > AF_FP16_CLEAN)
    af_risk_set (p, nr, AF_RISK_CANCEL_SUB, AF_U * cond, "paired-fp16",
                 g_strdup_printf ("operands ~%.0fx larger than the difference: their fp16 "
                                  "rounding (u = 2^-11) is amplified %.0fx",
                                  cond, cond));
}

static void
af_rule_sums (AfPrec *p, const AfNode *n, const AfRange *r, AfNodeRisk *nr)
{
  gboolean live_matmul =
      n->op == AF_OP_MATMUL && n->in[0]->kind != AF_VALUE_CONST && n->in[1]->kind != AF_VALUE_CONST;
  gboolean reduction =
      n->op == AF_OP_SUM || n->op == AF_OP_MEAN || (n->op == AF_OP_AVG_POOL && n->attrs.global);
  if ((live_matmul || reduction) && r->signed_terms && r->k >= AF_NARROW_SUM_FLOOR)
    af_risk_set (p, nr, AF_RISK_NARROW_SUM, AF_FP16_CLEAN * sqrt ((double) r->k),
                 n->op == AF_OP_MATMUL ? "" : "reduce_sum->matmul",
                 g_strdup_printf ("signed sum over K=%" G_GINT64_FORMAT
                                  " terms: error ~1e-3 sqrt(K) if the ANE accumulates it in "
                                  "fp16 (unverified off a Mac; the CPU sums in fp32)",
                                  r->k));
  /* the seed's group-norm wall: a variance mean over an axis > 65536 */
  if (n->op == AF_OP_MEAN && n->in[0]->producer && n->in[0]->producer->op == AF_OP_MUL &&
      n->in[0]->producer->in[0] == n->in[0]->producer->in[1]) {
    gint64 longest;
    af_reduce_k (n, &longest);
    if (longest > AF_AXIS_WALL)
      af_risk_set (p, nr, AF_RISK_VARIANCE_CLIFF, 1, "",
                   g_strdup_printf ("variance over an axis of %" G_GINT64_FORMAT
                                    " > 65536: beyond the ANE's per-axis bound",
                                    longest));
  }
}

/* A graph input (or a bridge op's output feeding the next program) whose
 * last axis is not a multiple of 32 fp16 is sliced back from its 64-byte
 * padded port on the ANE (backends/ane/lower.c). */
static void
af_rule_slice (AfPrec *p, const AfNode *n, const AfRange *r, AfNodeRisk *nr)
{
  gboolean port = n->op == AF_OP_INPUT || af_op_info[n->op].route == AF_ROUTE_BRIDGE;
  const AfShape *s = &n->out->shape;
  if (!port || s->rank == 0 || s->d[s->rank - 1] % AF_PORT_ALIGN_ELEMS == 0 ||
      r->peak <= AF_SLICE_CLAMP)
    return;
  char *why = g_strdup_printf ("a program input sliced from its padded port, values up to ~%.4g "
                               "saturate at 4094 on h13 / h14 (M1, M2)",
                               r->peak);
  if (af_family_has_slice_clamp (p->family))
    af_risk_set (p, nr, AF_RISK_SLICE_CLAMP, (r->peak - AF_SLICE_CLAMP) / r->peak,
                 "pad the last axis to a multiple of 32", why);
  else {
    nr->cross_chip = af_prec_keep (p, why);
  }
}

/* ------------------------------------------------------------ calibration */

typedef struct {
  float **v32, **v16; /* per value */
  float **px;         /* per graph input: the frame as given (pixel values for image ports) */
  double *diff, *ref; /* per node: max |fp16 - fp32|, max |fp32| */
} AfCalib;

static double
af_diff (float a, float b)
{
  if (isnan (a) || isnan (b))
    return isnan (a) && isnan (b) ? 0 : INFINITY;
  if (isinf (a) || isinf (b))
    return a == b ? 0 : INFINITY;
  return fabs ((double) a - (double) b);
}

/* The inputs of one frame: random (pixels 0..255, or uniform in the input
 * range) or the caller's. */
static void
af_calib_inputs (AfPrec *p, AfCalib *c, GRand *rnd)
{
  double lo = p->o->input_lo, hi = p->o->input_hi;
  if (lo == 0 && hi == 0)
    lo = -1, hi = 1;
  for (guint i = 0; i < p->g->inputs->len; i++) {
    AfNode *n = g_ptr_array_index (p->g->inputs, i);
    gboolean image = n->op == AF_OP_IMAGE_INPUT;
    for (gint64 j = 0, numel = af__shape_numel (&n->out->shape); j < numel; j++) {
      float v = p->o->inputs ? p->o->inputs[i][j]
                : image      ? (float) g_rand_int_range (rnd, 0, 256)
                             : (float) g_rand_double_range (rnd, lo, hi);
      c->px[i][j] = image ? CLAMP (rintf (v), 0, 255) : v;
    }
  }
}

/* One node in both numerics: @out32 from the fp32 values, @out16 from the
 * fp16 ones, rounded. */
static void
af_calib_node (AfCalib *c, const AfNode *n, const float *pixels)
{
  const float *in32[AF_MAX_INPUTS_PER_NODE], *in16[AF_MAX_INPUTS_PER_NODE];
  guint vi = n->out->index;
  gint64 numel = af__shape_numel (&n->out->shape);
  if (n->op == AF_OP_INPUT) {
    for (gint64 j = 0; j < numel; j++) {
      c->v32[vi][j] = pixels[j];
      c->v16[vi][j] = af_fp16_to_f32 (af_f32_to_fp16 (pixels[j]));
    }
    return;
  }
  for (guint j = 0; j < n->n_in && j < AF_MAX_INPUTS_PER_NODE; j++) {
    in32[j] = c->v32[n->in[j]->index];
    in16[j] = c->v16[n->in[j]->index];
  }
  if (n->op == AF_OP_IMAGE_INPUT)
    in32[0] = in16[0] = pixels;
  af_op_info[n->op].ref (n, in32, c->v32[vi]);
  af_op_info[n->op].ref (n, in16, c->v16[vi]);
  for (gint64 j = 0; j < numel; j++)
    c->v16[vi][j] = af_fp16_to_f32 (af_f32_to_fp16 (c->v16[vi][j]));
}

static void
af_calib_frame (AfPrec *p, AfCalib *c, GPtrArray *order, GRand *rnd)
{
  af_calib_inputs (p, c, rnd);
  for (guint i = 0; i < order->len; i++) {
    AfNode *n = g_ptr_array_index (order, i);
    const float *pixels = NULL;
    for (guint k = 0; k < p->g->inputs->len; k++)
      if (g_ptr_array_index (p->g->inputs, k) == n)
        pixels = c->px[k];
    af_calib_node (c, n, pixels);
  }
  for (guint i = 0; i < order->len; i++) {
    AfNode *n = g_ptr_array_index (order, i);
    const float *a = c->v32[n->out->index], *b = c->v16[n->out->index];
    for (gint64 j = 0, numel = af__shape_numel (&n->out->shape); j < numel; j++) {
      c->diff[i] = MAX (c->diff[i], af_diff (b[j], a[j]));
      if (isfinite (a[j]))
        c->ref[i] = MAX (c->ref[i], fabs (a[j]));
    }
  }
}

/* The compiled model (CPU backend) on the same frame, against the fp32
 * run's outputs. */
static gboolean
af_calib_model (AfPrec *p, AfCalib *c, AfModel *m, double *worst, GError **error)
{
  guint ni = af_model_n_inputs (m), no = af_model_n_outputs (m);
  const float **in = g_new0 (const float *, ni);
  float **out = g_new0 (float *, no);
  for (guint i = 0; i < ni; i++) {
    AfTensorInfo info;
    af_model_input_info (m, i, &info);
    for (guint k = 0; k < p->g->inputs->len; k++)
      if (g_strcmp0 (((AfNode *) g_ptr_array_index (p->g->inputs, k))->out->name, info.name) == 0)
        in[i] = c->px[k];
  }
  gboolean ok = TRUE;
  for (guint i = 0; i < ni; i++)
    if (!in[i]) {
      ok = FALSE;
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "%s: calibration: model input %u not found",
                   af__graph_where (p->g), i);
    }
  for (guint i = 0; i < no; i++) {
    AfTensorInfo info;
    af_model_output_info (m, i, &info);
    out[i] = g_new (float, af_shape_numel (info.rank, info.shape));
  }
  ok = ok && af_model_run (m, in, out, error);
  for (guint i = 0; ok && i < no && i < p->g->outputs->len; i++) {
    AfTensorInfo info;
    af_model_output_info (m, i, &info);
    const AfOutput *go = &g_array_index (p->g->outputs, AfOutput, i);
    const float *ref = c->v32[go->value->index];
    double d = 0, mag = 0;
    for (gint64 j = 0, n = af_shape_numel (info.rank, info.shape); j < n; j++) {
      d = MAX (d, af_diff (out[i][j], ref[j]));
      if (isfinite (ref[j]))
        mag = MAX (mag, fabs (ref[j]));
    }
    *worst = MAX (*worst, d / MAX (mag, AF_FP16_MIN_SUB));
  }
  for (guint i = 0; i < no; i++)
    g_free (out[i]);
  g_free (out);
  g_free (in);
  return ok;
}

static gboolean
af_calibrate (AfPrec *p, GPtrArray *order, GError **error)
{
  guint nv = p->g->values->len;
  guint ni = p->g->inputs->len;
  AfCalib c = { g_new0 (float *, nv), g_new0 (float *, nv), g_new0 (float *, ni),
                g_new0 (double, order->len), g_new0 (double, order->len) };
  for (guint i = 0; i < ni; i++)
    c.px[i] = g_new (
        float,
        MAX (af__shape_numel (&((AfNode *) g_ptr_array_index (p->g->inputs, i))->out->shape), 1));
  for (guint i = 0; i < nv; i++) {
    AfTensor *t = g_ptr_array_index (p->g->values, i);
    gint64 numel = af__shape_numel (&t->shape);
    c.v32[i] = g_new (float, MAX (numel, 1));
    c.v16[i] = g_new (float, MAX (numel, 1));
    if (t->kind == AF_VALUE_CONST) {
      af__tensor_read_f32 (t, c.v32[i]);
      for (gint64 j = 0; j < numel; j++)
        c.v16[i][j] = af_fp16_to_f32 (af_f32_to_fp16 (c.v32[i][j]));
    }
  }
  AfCompileOptions co;
  memset (&co, 0, sizeof co);
  co.backend = AF_BACKEND_CPU;
  co.threads = 1;
  AfModel *m = af_compile (p->g, &co, error);
  gboolean ok = m != NULL;
  GRand *rnd = g_rand_new_with_seed (p->o->seed);
  double worst = 0;
  for (int f = 0; ok && f < p->o->calibrate; f++) {
    af_calib_frame (p, &c, order, rnd);
    ok = af_calib_model (p, &c, m, &worst, error);
  }
  if (ok) {
    for (guint i = 0; i < order->len; i++) {
      p->rep->nodes[i].measured = c.diff[i] / MAX (c.ref[i], AF_FP16_MIN_SUB);
      p->rep->nodes[i].measured_peak = c.ref[i];
    }
    p->rep->calibrated = p->o->calibrate;
    p->rep->measured_error = worst;
  }
  g_rand_free (rnd);
  af_model_free (m);
  for (guint i = 0; i < nv; i++) {
    g_free (c.v32[i]);
    g_free (c.v16[i]);
  }
  for (guint i = 0; i < ni; i++)
    g_free (c.px[i]);
  g_free (c.v32);
  g_free (c.v16);
  g_free (c.px);
  g_free (c.diff);
  g_free (c.ref);
  return ok;
}

/* ------------------------------------------------------------ the report */

const char *
af_risk_kind_name (AfRiskKind kind)
{
  static const char *const names[] = { "none",     "narrow_sum", "cancel_sub", "variance_cliff",
                                       "overflow", "underflow",  "matmul_inf", "slice_clamp" };
  return (guint) kind < G_N_ELEMENTS (names) ? names[kind] : "?";
}

static void
af_prec_target (AfPrec *p, const char *target)
{
  p->any_chip = target == NULL || g_ascii_strcasecmp (target, "any") == 0;
  p->host = target &&
            (g_ascii_strcasecmp (target, "host") == 0 || g_ascii_strcasecmp (target, "cpu") == 0);
  p->rep->target = p->any_chip ? "any" : p->host ? "host" : NULL;
  if (p->any_chip || p->host)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (af_prec_targets); i++)
    if (g_ascii_strcasecmp (target, af_prec_targets[i].name) == 0) {
      p->family = af_prec_targets[i].family;
      p->rep->target = af_prec_targets[i].name;
      return;
    }
  p->family = 2; /* the seed: unknown -> family 2 with a warning */
  p->rep->target = "h13";
  g_ptr_array_add (
      p->warnings,
      g_strdup_printf ("aneforge: unknown target \"%s\": judged as family 2 (h13, M1)", target));
}

static int
af_cmp_hotspot (gconstpointer a, gconstpointer b, gpointer user)
{
  const AfNodeRisk *n = user;
  double x = n[*(const guint *) a].score, y = n[*(const guint *) b].score;
  return x < y ? 1 : x > y ? -1 : (int) *(const guint *) a - (int) *(const guint *) b;
}

static void
af_prec_summarise (AfPrec *p)
{
  AfPrecisionReport *r = p->rep;
  GArray *hot = g_array_new (FALSE, FALSE, sizeof (guint));
  r->graph_error = AF_FP16_CLEAN;
  for (guint i = 0; i < r->n_nodes; i++) {
    if (r->nodes[i].score > AF_PRECISION_WARN)
      g_array_append_val (hot, i);
    r->graph_error = MAX (r->graph_error, r->nodes[i].score);
  }
  g_array_sort_with_data (hot, af_cmp_hotspot, r->nodes);
  r->n_hotspots = hot->len;
  r->hotspots = (guint *) g_array_free (hot, FALSE);
  for (guint h = 0; h < r->n_hotspots; h++) {
    const AfNodeRisk *n = &r->nodes[r->hotspots[h]];
    g_ptr_array_add (p->warnings,
                     g_strdup_printf ("PrecisionWarning: node \"%s\" (%s): %s, est. error %.2g: "
                                      "%s%s%s",
                                      n->node, n->op, af_risk_kind_name (n->kind), n->score,
                                      n->reason, *n->fix ? "; fix: " : "", n->fix));
  }
  for (guint i = 0; i < r->n_nodes; i++)
    if (r->nodes[i].cross_chip)
      g_ptr_array_add (p->warnings,
                       g_strdup_printf ("CrossChipFP16Warning: node \"%s\" (%s): %s",
                                        r->nodes[i].node, r->nodes[i].op, r->nodes[i].cross_chip));
  g_ptr_array_add (p->warnings, NULL);
  r->warnings = (char **) g_ptr_array_free (p->warnings, FALSE);
  p->warnings = NULL;
}

AfPrecisionReport *
af_precision_risk (AfGraph *g, const AfPrecisionOptions *opts, GError **error)
{
  g_return_val_if_fail (g != NULL, NULL);
  AfPrecisionOptions defaults = AF_PRECISION_OPTIONS_INIT;
  const AfPrecisionOptions *o = opts ? opts : &defaults;
  if (g->error) {
    g_propagate_error (error, g_error_copy (g->error));
    return NULL;
  }
  if (o->input_lo > o->input_hi || !isfinite (o->input_lo) || !isfinite (o->input_hi)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID,
                 "precision: input range [%g, %g] must be finite with lo <= hi", o->input_lo,
                 o->input_hi);
    return NULL;
  }
  GPtrArray *order = g_ptr_array_new ();
  if (!af__graph_topo_order (g, order, error)) {
    g_ptr_array_unref (order);
    return NULL;
  }
  AfPrecisionReport *rep = g_new0 (AfPrecisionReport, 1);
  AfPrec p = { .g = g,
               .o = o,
               .rv = g_new0 (AfRange, g->values->len),
               .chans = g_ptr_array_new_with_free_func (g_free),
               .rep = rep,
               .strings = g_ptr_array_new_with_free_func (g_free),
               .warnings = g_ptr_array_new () };
  af_prec_target (&p, o->target);
  rep->family = p.family;
  rep->measured_error = -1;
  rep->n_nodes = order->len;
  rep->nodes = g_new0 (AfNodeRisk, order->len);
  for (guint i = 0; i < g->values->len; i++) {
    AfTensor *t = g_ptr_array_index (g->values, i);
    if (t->kind == AF_VALUE_CONST)
      af_range_const (t, &p.rv[i]);
  }
  for (guint i = 0; i < order->len; i++) {
    AfNode *n = g_ptr_array_index (order, i);
    AfNodeRisk *nr = &rep->nodes[i];
    AfRange *r = &p.rv[n->out->index];
    double bn_cond;
    af_range_node (&p, n, r, &bn_cond);
    af_range_keep_chans (n, r);
    nr->node = af_prec_keep (&p, g_strdup (n->name)); /* the report outlives the graph */
    nr->op = af_op_info[n->op].name;
    nr->fix = "";
    nr->reason = "";
    nr->peak = r->peak;
    nr->bound = af_abs_max (r->lo, r->hi);
    nr->measured = nr->measured_peak = -1;
    af_rule_values (&p, n, r, nr);
    af_rule_cancel (&p, n, r, bn_cond, nr);
    af_rule_sums (&p, n, r, nr);
    af_rule_slice (&p, n, r, nr);
  }
  gboolean ok = o->calibrate <= 0 || af_calibrate (&p, order, error);
  af_prec_summarise (&p);
  g_ptr_array_unref (order);
  g_free (p.rv);
  g_ptr_array_unref (p.chans);
  g_ptr_array_add (p.strings, NULL); /* the nodes' strings live as long as the report */
  rep->owned = (char **) g_ptr_array_free (p.strings, FALSE);
  if (!ok) {
    af_precision_report_free (rep);
    return NULL;
  }
  return rep;
}

void
af_precision_report_free (AfPrecisionReport *r)
{
  if (!r)
    return;
  g_free (r->nodes);
  g_free (r->hotspots);
  g_strfreev (r->warnings);
  g_strfreev (r->owned);
  g_free (r);
}

static void
af_fmt_err (GString *s, double v)
{
  if (v < 0)
    g_string_append_printf (s, " %9s", "-");
  else if (isinf (v))
    g_string_append_printf (s, " %9s", "inf");
  else
    g_string_append_printf (s, " %9.2e", v);
}

char *
af_precision_report_format (const AfPrecisionReport *r)
{
  g_return_val_if_fail (r != NULL, NULL);
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "target %s", r->target);
  if (r->family)
    g_string_append_printf (s, " (family %d)", r->family);
  g_string_append_printf (s, "; estimated graph error %.2e", r->graph_error);
  if (r->calibrated)
    g_string_append_printf (s, "; measured %.2e over %d frame%s (CPU backend vs fp32)",
                            r->measured_error, r->calibrated, r->calibrated == 1 ? "" : "s");
  g_string_append_printf (s, "\n%-28s %-10s %-14s %9s %9s %9s %9s %9s\n", "node", "op", "risk",
                          "est.err", "peak", "bound", "measured", "meas.peak");
  for (guint i = 0; i < r->n_nodes; i++) {
    const AfNodeRisk *n = &r->nodes[i];
    g_string_append_printf (s, "%-28s %-10s %-14s", n->node, n->op, af_risk_kind_name (n->kind));
    af_fmt_err (s, n->score);
    g_string_append_printf (s, " %9.3g %9.3g", n->peak, n->bound);
    af_fmt_err (s, n->measured);
    if (n->measured_peak < 0)
      g_string_append_printf (s, " %9s\n", "-");
    else
      g_string_append_printf (s, " %9.3g\n", n->measured_peak);
  }
  g_string_append_printf (s, "hotspots (est. error > %g): %u\n", AF_PRECISION_WARN, r->n_hotspots);
  for (guint h = 0; h < r->n_hotspots; h++) {
    const AfNodeRisk *n = &r->nodes[r->hotspots[h]];
    g_string_append_printf (s, "  %-28s %-14s %.2e  %s%s%s\n", n->node, af_risk_kind_name (n->kind),
                            n->score, n->reason, *n->fix ? "; fix: " : "", n->fix);
  }
  return g_string_free (s, FALSE);
}
