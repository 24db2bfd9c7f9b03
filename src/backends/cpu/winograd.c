/* winograd.c — Winograd F(2x2, 3x3) convolution (see winograd.h).
 *
 * The output is cut into 2x2 tiles (row-major, ceil (h_out / 2) x ceil
 * (w_out / 2)); a block of up to 16 * s_max consecutive tiles is one task
 * (times a chunk of output channels). Per block: each input channel's rows
 * the block needs are converted once into a zero-padded fp32 copy (even
 * and odd columns apart, so 16 neighbouring tiles are contiguous loads),
 * every 4x4 input tile d becomes V = B^T d B, stored as 16 matrices V_xi
 * [c_in, tiles] in 16-column strips; then per output panel (pair) the 16
 * GEMMs M_xi = U_xi . V_xi run on the shared microkernels (U = G g G^T
 * packed at creation in MR-row panels; the portable body uses fmaf, as U
 * and V are not fp16 values) and each channel's tiles become Y = A^T M A,
 * finished row by row by af__finish_row (bias, fp16, epilogue, residual).
 * Off by default: its sums are not bit-identical to the direct conv (see
 * winograd.h); the compile option `winograd` or AF_CPU_WINOGRAD=1 turns it on. */
#include "winograd.h"

#include "simd.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#endif

#define MR AF_GEMM_MR
#define NR AF_GEMM_NR
#define AF_WINO_V_BYTES (512 * 1024) /* V block budget */
#define AF_WINO_MAX_S 4              /* strips per block */

struct _AfWino {
  AfConvDesc d;
  AfCpuEpilogue ep;
  gint64 m_blocks;        /* MR-row panels */
  gint64 th, tw, n_tiles; /* 2x2 output tiles */
  gint64 s_max, n_blocks; /* 16-tile strips per block; blocks */
  gint64 pw, prow, half;  /* padded input copy: columns, rows, floats per half row */
  float *u;               /* [16][m_blocks][c_in][MR] + 8 */
  float *bias;            /* [c_out] */
  gsize v_bytes, m_bytes, p_bytes, o_bytes, scratch;
};

typedef struct {
  const AfWino *wk;
  const guint16 *in, *res;
  guint16 *out;
  guint8 *scratch;
  gboolean simd, avx512;
  gint64 mb_per, m_chunks;
} AfWinoRun;

static gint af__wino_forced = -1; /* -1: AF_CPU_WINOGRAD decides; 0 off; 1 on */

void
af__wino_force (int on)
{
  g_atomic_int_set (&af__wino_forced, on < 0 ? -1 : on ? 1 : 0);
}

/* AF_CPU_WINOGRAD=1 (read once). */
static gboolean
af__wino_env (void)
{
  static gint env = -1;
  return af__env_flag ("AF_CPU_WINOGRAD", &env);
}

gboolean
af__wino_eligible (const AfConvDesc *d)
{
  gint f = g_atomic_int_get (&af__wino_forced);
  gboolean on = f >= 0 ? f : d->winograd || af__wino_env ();
  return on && d->groups == 1 && d->kh == 3 && d->kw == 3 && d->stride[0] == 1 &&
         d->stride[1] == 1 && d->dilation[0] == 1 && d->dilation[1] == 1 && d->c_in >= 32 &&
         d->c_out >= 32 && d->h_out >= 4 && d->w_out >= 4;
}

/* U = G g G^T of one 3x3 kernel @g into @u[16] (row-major 4x4). */
static void
af__wino_weight (const float *g, float *u)
{
  float t[4][3];
  for (int q = 0; q < 3; q++) {
    float g0 = g[q], g1 = g[3 + q], g2 = g[6 + q];
    t[0][q] = g0;
    t[1][q] = ((g0 + g1) + g2) * 0.5f;
    t[2][q] = ((g0 - g1) + g2) * 0.5f;
    t[3][q] = g2;
  }
  for (int r = 0; r < 4; r++) {
    float g0 = t[r][0], g1 = t[r][1], g2 = t[r][2];
    u[r * 4 + 0] = g0;
    u[r * 4 + 1] = ((g0 + g1) + g2) * 0.5f;
    u[r * 4 + 2] = ((g0 - g1) + g2) * 0.5f;
    u[r * 4 + 3] = g2;
  }
}

static void
af__wino_pack (AfWino *wk, const float *w)
{
  const AfConvDesc *d = &wk->d;
  gint64 ci = d->c_in;
  wk->u = af_big_alloc0 ((16 * wk->m_blocks * ci * MR + 8) * sizeof (float));
  for (gint64 co = 0; co < d->c_out; co++)
    for (gint64 c = 0; c < ci; c++) {
      float u[16];
      af__wino_weight (w + (co * ci + c) * 9, u);
      for (int xi = 0; xi < 16; xi++)
        wk->u[((xi * wk->m_blocks + co / MR) * ci + c) * MR + co % MR] = u[xi];
    }
}

AfWino *
af__wino_new (const AfConvDesc *d, const float *w, const float *bias, const AfCpuEpilogue *ep)
{
  g_return_val_if_fail (d && w && d->groups == 1 && d->kh == 3 && d->kw == 3, NULL);
  AfWino *wk = g_new0 (AfWino, 1);
  wk->d = *d;
  if (ep)
    wk->ep = *ep;
  wk->m_blocks = af__ceil_div (d->c_out, MR);
  wk->th = af__ceil_div (d->h_out, 2);
  wk->tw = af__ceil_div (d->w_out, 2);
  wk->n_tiles = wk->th * wk->tw;
  wk->s_max =
      CLAMP (AF_WINO_V_BYTES / (16 * NR * d->c_in * (gint64) sizeof (float)), 1, AF_WINO_MAX_S);
  wk->s_max = MIN (wk->s_max, af__ceil_div (wk->n_tiles, NR));
  wk->n_blocks = af__ceil_div (wk->n_tiles, wk->s_max * NR);
  wk->pw = 2 * wk->tw + 2;
  wk->prow = 2 * MIN (wk->th, (wk->s_max * NR - 1) / wk->tw + 2) + 2;
  wk->v_bytes = af__align64 ((gsize) 16 * wk->s_max * d->c_in * NR * sizeof (float));
  wk->m_bytes = af__align64 ((gsize) 16 * wk->s_max * 2 * MR * NR * sizeof (float));
  wk->half = wk->tw + 1 + NR; /* + NR: 16-lane reads past a row's tiles */
  wk->p_bytes = af__align64 ((gsize) wk->prow * 2 * wk->half * sizeof (float));
  wk->o_bytes = af__align64 ((gsize) (wk->prow - 2) * 2 * wk->tw * sizeof (float));
  wk->scratch = wk->v_bytes + wk->m_bytes + wk->p_bytes + wk->o_bytes +
                af__align64 ((gsize) wk->pw * sizeof (float));
  wk->bias = g_new0 (float, d->c_out);
  if (bias)
    memcpy (wk->bias, bias, d->c_out * sizeof (float));
  af__wino_pack (wk, w);
  return wk;
}

gsize
af__wino_scratch_size (const AfWino *wk)
{
  return wk->scratch;
}

void
af__wino_free (AfWino *wk)
{
  if (!wk)
    return;
  af_big_free (wk->u);
  g_free (wk->bias);
  g_free (wk);
}

/* Fills @pp with input channel @c, rows from 2 * @ty0 - pad_top on (@rows
 * of them), columns from -pad_left (wk->pw of them), fp32, zeros outside,
 * each row split into its even columns (wk->half floats) then its odd
 * ones; @row: wk->pw floats of staging. */
static void
af__wino_fill (const AfWino *wk, gboolean simd, const guint16 *in, gint64 c, gint64 ty0,
               gint64 rows, float *row, float *pp)
{
  const AfConvDesc *d = &wk->d;
  gint64 wp = wk->pw, ylo = 2 * ty0 - d->pad[0], xlo = -d->pad[1], half = wk->half;
  gint64 xa = CLAMP (0, xlo, xlo + wp), xb = CLAMP (d->w_in, xa, xlo + wp);
  const guint16 *plane = in + c * d->h_in * d->w_in;
  for (gint64 r = 0; r < rows; r++) {
    gint64 y = ylo + r;
    float *e = pp + r * 2 * half, *o = e + half;
    if (y < 0 || y >= d->h_in) {
      memset (e, 0, 2 * half * sizeof (float));
      continue;
    }
    memset (row, 0, (xa - xlo) * sizeof (float));
    af__h2f_n (simd, plane + y * d->w_in + xa, row + (xa - xlo), xb - xa);
    memset (row + (xb - xlo), 0, (xlo + wp - xb) * sizeof (float));
    for (gint64 x = 0; x < wp / 2; x++) {
      e[x] = row[2 * x];
      o[x] = row[2 * x + 1];
    }
    /* the lanes read past the row's tiles: zeros, never stale denormals */
    memset (e + wp / 2, 0, (half - wp / 2) * sizeof (float));
    memset (o + wp / 2, 0, (half - wp / 2) * sizeof (float));
  }
}

/* V = B^T d B of tiles [j, j + n) of the block (one tile row @ty of the
 * copy, from column tile @tx, within one 16-tile strip) of channel @c into
 * @v: element xi of tile j at v[((xi * s_max + j / 16) * c_in + c) * 16 + j
 * % 16]. All 16 lanes are computed (the copy's rows are padded), n kept. */
__attribute__ ((always_inline)) static inline void
af__wino_input_seg (const AfWino *wk, const float *pp, gint64 c, gint64 j, gint64 n, gint64 ty,
                    gint64 tx, float *v)
{
  gint64 half = wk->half, step = wk->s_max * wk->d.c_in * NR;
  float h[4][4][NR], t[16][NR];
  for (int r = 0; r < 4; r++) {
    const float *e = pp + (2 * ty + r) * 2 * half + tx, *o = e + half;
    for (int x = 0; x < NR; x++) {
      float e0 = e[x], e1 = e[x + 1], o0 = o[x], o1 = o[x + 1];
      h[r][0][x] = e0 - e1;
      h[r][1][x] = o0 + e1;
      h[r][2][x] = e1 - o0;
      h[r][3][x] = o0 - o1;
    }
  }
  for (int q = 0; q < 4; q++)
    for (int x = 0; x < NR; x++) {
      t[q][x] = h[0][q][x] - h[2][q][x];
      t[4 + q][x] = h[1][q][x] + h[2][q][x];
      t[8 + q][x] = h[2][q][x] - h[1][q][x];
      t[12 + q][x] = h[1][q][x] - h[3][q][x];
    }
  float *dst = v + ((j / NR) * wk->d.c_in + c) * NR + j % NR;
  if (n == NR) /* (a whole strip: fixed-size copies) */
    for (int xi = 0; xi < 16; xi++)
      memcpy (dst + xi * step, t[xi], NR * sizeof (float));
  else
    for (int xi = 0; xi < 16; xi++)
      memcpy (dst + xi * step, t[xi], n * sizeof (float));
}

/* V of the block's tiles [t0, t0 + nt) (its copy from tile row @ty0) of
 * channel @c; the lanes up to the next strip end are zeros. */
__attribute__ ((always_inline)) static inline void
af__wino_input_body (const AfWino *wk, const float *pp, gint64 c, gint64 t0, gint64 nt, gint64 ty0,
                     float *v)
{
  for (gint64 j = 0; j < nt;) {
    gint64 ty = (t0 + j) / wk->tw, tx = (t0 + j) % wk->tw;
    gint64 n = MIN (MIN (wk->tw - tx, nt - j), NR - j % NR);
    af__wino_input_seg (wk, pp, c, j, n, ty - ty0, tx, v);
    j += n;
  }
  gint64 step = wk->s_max * wk->d.c_in * NR;
  if (nt % NR != 0)
    for (int xi = 0; xi < 16; xi++)
      memset (v + xi * step + ((nt / NR) * wk->d.c_in + c) * NR + nt % NR, 0,
              (NR - nt % NR) * sizeof (float));
}

/* The transforms are additions only: the AVX2 build of the same code gives
 * the same bits, just wider. */
#ifdef AF_X86
__attribute__ ((target ("avx2"))) static void
af__wino_input_avx2 (const AfWino *wk, const float *pp, gint64 c, gint64 t0, gint64 nt, gint64 ty0,
                     float *v)
{
  af__wino_input_body (wk, pp, c, t0, nt, ty0, v);
}
#endif

static void
af__wino_input (const AfWino *wk, gboolean simd, const float *pp, gint64 c, gint64 t0, gint64 nt,
                gint64 ty0, float *v)
{
#ifdef AF_X86
  if (simd) {
    af__wino_input_avx2 (wk, pp, c, t0, nt, ty0, v);
    return;
  }
#endif
  af__wino_input_body (wk, pp, c, t0, nt, ty0, v);
}

/* The portable body of af__gemm_acc (@mr rows, 16 columns, from zeros)
 * with fused multiply-adds: U and V are not fp16 values, so their products
 * are not exact in fp32 and only fmaf rounds like the FMA of the SIMD
 * bodies. */
static void
af__wino_gemm_c (gint64 k, const float *a, const float *b, int mr, float *c)
{
  float t[MR][NR] = { { 0 } };
  for (gint64 p = 0; p < k; p++, a += MR, b += NR)
    for (int i = 0; i < mr; i++)
      for (int j = 0; j < NR; j++)
        t[i][j] = fmaf (a[i], b[j], t[i][j]);
  memcpy (c, t, (gsize) mr * NR * sizeof (float));
}

/* M_xi = U_xi . V_xi for the rows of panel @mb (and @mb + 1 if @two) and
 * @ns strips into @m: row i of tile j of xi at m[((xi * s_max + j / 16) *
 * 12 + i) * 16 + j % 16]. Sums over c ascending on every path. */
static void
af__wino_gemm (const AfWinoRun *r, gint64 mb, gboolean two, gint64 ns, const float *v, float *m)
{
  const AfWino *wk = r->wk;
  gint64 ci = wk->d.c_in, lda = ci * MR;
  int rows = (int) MIN (2 * MR, wk->d.c_out - mb * MR);
  for (int xi = 0; xi < 16; xi++) {
    const float *a = wk->u + (xi * wk->m_blocks + mb) * lda;
    for (gint64 s = 0; s < ns; s++) {
      const float *b = v + (xi * wk->s_max + s) * ci * NR;
      float *c = m + (xi * wk->s_max + s) * 2 * MR * NR;
      if (two)
        af__gemm_acc12_avx512 (ci, a, lda, b, NR, a, rows, FALSE, c, NR);
      else if (r->simd)
        af__gemm_acc (TRUE, ci, a, b, NR, MIN (MR, rows), NR, FALSE, c, NR);
      else
        af__wino_gemm_c (ci, a, b, (int) MIN (MR, rows), c);
    }
  }
}

/* Y = A^T M A for row @i of @m (channel @co), tiles [t0, t0 + nt) (from
 * tile row @ty0), into the rows of @buf (2 * tw floats each), then each
 * output row segment the block covers finished into the output. */
__attribute__ ((always_inline)) static inline void
af__wino_output_body (const AfWinoRun *r, const float *m, int i, gint64 co, gint64 t0, gint64 nt,
                      gint64 ty0, float *buf)
{
  const AfWino *wk = r->wk;
  const AfConvDesc *d = &wk->d;
  gint64 bw = 2 * wk->tw, step = wk->s_max * 2 * MR * NR;
  for (gint64 s = 0; s * NR < nt; s++) {
    const float *p = m + (s * 2 * MR + i) * NR;
    float t[8][NR], y[4][NR];
    for (int q = 0; q < 4; q++)
      for (int x = 0; x < NR; x++) {
        t[q][x] = (p[q * step + x] + p[(4 + q) * step + x]) + p[(8 + q) * step + x];
        t[4 + q][x] = (p[(4 + q) * step + x] - p[(8 + q) * step + x]) - p[(12 + q) * step + x];
      }
    for (int a = 0; a < 2; a++)
      for (int x = 0; x < NR; x++) {
        y[2 * a][x] = (t[4 * a][x] + t[4 * a + 1][x]) + t[4 * a + 2][x];
        y[2 * a + 1][x] = (t[4 * a + 1][x] - t[4 * a + 2][x]) - t[4 * a + 3][x];
      }
    for (gint64 x = 0; x < NR && s * NR + x < nt; x++) {
      gint64 tt = t0 + s * NR + x, ty = tt / wk->tw - ty0, tx = tt % wk->tw;
      float *b = buf + 2 * ty * bw + 2 * tx;
      b[0] = y[0][x];
      b[1] = y[1][x];
      b[bw] = y[2][x];
      b[bw + 1] = y[3][x];
    }
  }
  for (gint64 ty = ty0; ty * wk->tw < t0 + nt; ty++) {
    gint64 txa = MAX (t0, ty * wk->tw) - ty * wk->tw;
    gint64 txb = MIN (t0 + nt, (ty + 1) * wk->tw) - ty * wk->tw;
    gint64 x0 = 2 * txa, x1 = MIN (d->w_out, 2 * txb);
    for (int yy = 0; yy < 2 && 2 * ty + yy < d->h_out; yy++) {
      gint64 at = (co * d->h_out + 2 * ty + yy) * d->w_out + x0;
      af__finish_row (r->simd, buf + (2 * (ty - ty0) + yy) * bw + x0, x1 - x0, wk->bias[co], NULL,
                      &wk->ep, r->res ? r->res + at : NULL, r->out + at);
    }
  }
}

#ifdef AF_X86
__attribute__ ((target ("avx2"))) static void
af__wino_output_avx2 (const AfWinoRun *r, const float *m, int i, gint64 co, gint64 t0, gint64 nt,
                      gint64 ty0, float *buf)
{
  af__wino_output_body (r, m, i, co, t0, nt, ty0, buf);
}
#endif

static void
af__wino_output (const AfWinoRun *r, const float *m, int i, gint64 co, gint64 t0, gint64 nt,
                 gint64 ty0, float *buf)
{
#ifdef AF_X86
  if (r->simd) {
    af__wino_output_avx2 (r, m, i, co, t0, nt, ty0, buf);
    return;
  }
#endif
  af__wino_output_body (r, m, i, co, t0, nt, ty0, buf);
}

/* One task: tile block b, output panels of chunk mc. */
static void
af__wino_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfWinoRun *r = ctx;
  const AfWino *wk = r->wk;
  guint8 *base = r->scratch + (gsize) thread * wk->scratch;
  float *v = (float *) base, *m = (float *) (base + wk->v_bytes);
  float *pp = (float *) (base + wk->v_bytes + wk->m_bytes);
  float *buf = (float *) (base + wk->v_bytes + wk->m_bytes + wk->p_bytes);
  float *row = (float *) (base + wk->v_bytes + wk->m_bytes + wk->p_bytes + wk->o_bytes);
  gint64 tb = wk->s_max * NR, prev = -1;
  for (gint64 task = begin; task < end; task++) {
    gint64 mc = task % r->m_chunks, b = task / r->m_chunks;
    gint64 t0 = b * tb, nt = MIN (tb, wk->n_tiles - t0), ns = af__ceil_div (nt, NR);
    gint64 ty0 = t0 / wk->tw;
    if (b != prev) { /* the block's V (kept for its next chunk) */
      gint64 rows = 2 * ((t0 + nt - 1) / wk->tw - ty0 + 1) + 2;
      for (gint64 c = 0; c < wk->d.c_in; c++) {
        af__wino_fill (wk, r->simd, r->in, c, ty0, rows, row, pp);
        af__wino_input (wk, r->simd, pp, c, t0, nt, ty0, v);
      }
      prev = b;
    }
    gint64 mb0 = mc * r->mb_per, mb1 = MIN (wk->m_blocks, mb0 + r->mb_per);
    for (gint64 mb = mb0; mb < mb1;) {
      gboolean two = r->avx512 && mb + 1 < mb1;
      af__wino_gemm (r, mb, two, ns, v, m);
      gint64 rows = MIN ((two ? 2 : 1) * MR, wk->d.c_out - mb * MR);
      for (int i = 0; i < rows; i++)
        af__wino_output (r, m, i, mb * MR + i, t0, nt, ty0, buf);
      mb += two ? 2 : 1;
    }
  }
}

void
af__wino_run (const AfWino *wk, const guint16 *in, const guint16 *res, guint16 *out,
              guint8 *scratch, AfPool *pool)
{
  AfWinoRun r = { wk, in, res, out, scratch, af__cpu_use_simd (), af__cpu_use_avx512 (), 1, 1 };
  /* as conv.c: the fewest channel chunks that balance the threads */
  gint64 nt = af_pool_n_threads (pool), outer = wk->n_blocks, want = 1;
  while (nt > 1 && want < wk->m_blocks && (outer * want) % nt != 0 && outer * want < 8 * nt)
    want++;
  r.mb_per = af__ceil_div (wk->m_blocks, want);
  if (r.avx512)
    r.mb_per = MIN (af__round_up (r.mb_per, 2), wk->m_blocks);
  r.m_chunks = af__ceil_div (wk->m_blocks, r.mb_per);
  af_pool_parallel_for (pool, outer * r.m_chunks, 1, af__wino_task, &r);
}
