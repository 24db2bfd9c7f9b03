/* linear.c — y[M, N] = x[M, K] . w[N, K]^T + bias, then the epilogue.
 *
 * The same 6x16 GEMM core as conv: w^T is packed at creation into 16-column
 * strips ([strip][K][16], zero-padded) of fp16 values (the weights are fp16
 * values: exact, and a matrix-vector product streams half the bytes), each
 * task converts an MR-row block of x into a panel in its scratch and sweeps
 * a range of strips. M is often 1, so the strips (not the rows) are what
 * spreads the work over threads; one row runs four strips at once straight
 * from fp16, more rows widen each strip into scratch first. Both sum every
 * output in K order with FMAs: the same values. */
#include "simd.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#include <immintrin.h>
#endif

#define MR AF_GEMM_MR
#define NR AF_GEMM_NR

struct _AfLinearKernel {
  gint64 k, n, n_strips;
  guint16 *w;  /* [n_strips][k][NR], fp16 */
  float *bias; /* [n_strips * NR] */
  AfCpuEpilogue ep;
};

typedef struct {
  const AfLinearKernel *lk;
  gint64 m;
  const guint16 *x;
  guint16 *y;
  const guint16 *res; /* ADD residual laid out like @y, or NULL */
  guint8 *scratch;
  gsize scratch_size;
  gboolean simd;
  gint64 n_chunks, strips_per;
} AfLinearRun;

AfLinearKernel *
af_cpu_linear_new (gint64 k, gint64 n, const float *w, const float *bias, const AfCpuEpilogue *ep)
{
  g_return_val_if_fail (k >= 0 && n >= 0 && (w || k * n == 0), NULL);
  g_return_val_if_fail (!ep || (ep->n >= 0 && ep->n <= AF_CPU_MAX_EPILOGUE), NULL);
  AfLinearKernel *lk = g_new0 (AfLinearKernel, 1);
  lk->k = k;
  lk->n = n;
  lk->n_strips = af__ceil_div (n, NR);
  if (ep)
    lk->ep = *ep;
  lk->w = af_big_alloc0 (lk->n_strips * k * NR * sizeof (guint16));
  for (gint64 j = 0; j < n; j++) {
    guint16 *dst = lk->w + (j / NR) * k * NR + j % NR;
    for (gint64 p = 0; p < k; p++)
      dst[p * NR] = af_f32_to_fp16 (w[j * k + p]);
  }
  lk->bias = g_new0 (float, MAX (lk->n_strips * NR, 1));
  if (bias)
    memcpy (lk->bias, bias, n * sizeof (float));
  return lk;
}

gsize
af_cpu_linear_scratch_size (const AfLinearKernel *lk, gint64 m)
{
  /* the x panel, a row of x, one widened strip */
  return MAX (af__align64 (lk->k * MR * sizeof (float)) + af__align64 (lk->k * sizeof (float)) +
                  af__align64 (lk->k * NR * sizeof (float)),
              64);
}

void
af_cpu_linear_free (AfLinearKernel *lk)
{
  if (!lk)
    return;
  af_big_free (lk->w);
  g_free (lk->bias);
  g_free (lk);
}

/* Packs rows [m0, m0 + mr) of x into a[p * MR + i]. */
static void
af__linear_pack_a (const AfLinearKernel *lk, const guint16 *x, gint64 m0, int mr, float *a,
                   float *tmp)
{
  for (int i = 0; i < mr; i++) {
    af_fp16_to_f32_n (x + (m0 + i) * lk->k, tmp, lk->k);
    for (gint64 p = 0; p < lk->k; p++)
      a[p * MR + i] = tmp[p];
  }
}

#ifdef AF_X86
/* One row of x times four fp16 strips: the 6x16 kernel's sums (FMA per K
 * step, in order), the weights widened as they stream in. */
__attribute__ ((target ("avx2,fma,f16c"))) static void
af__row4_f16 (gint64 k, const float *a, const guint16 *b, gint64 strip, float *acc)
{
  __m256 c0 = _mm256_setzero_ps (), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
#define AF_W(off) _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (b + (off))))
  for (gint64 p = 0; p < k; p++, a += MR, b += NR) {
    __m256 ai = _mm256_broadcast_ss (a);
    c0 = _mm256_fmadd_ps (ai, AF_W (0), c0);
    c1 = _mm256_fmadd_ps (ai, AF_W (8), c1);
    c2 = _mm256_fmadd_ps (ai, AF_W (strip), c2);
    c3 = _mm256_fmadd_ps (ai, AF_W (strip + 8), c3);
    c4 = _mm256_fmadd_ps (ai, AF_W (2 * strip), c4);
    c5 = _mm256_fmadd_ps (ai, AF_W (2 * strip + 8), c5);
    c6 = _mm256_fmadd_ps (ai, AF_W (3 * strip), c6);
    c7 = _mm256_fmadd_ps (ai, AF_W (3 * strip + 8), c7);
  }
#undef AF_W
  _mm256_storeu_ps (acc, c0);
  _mm256_storeu_ps (acc + 8, c1);
  _mm256_storeu_ps (acc + NR, c2);
  _mm256_storeu_ps (acc + NR + 8, c3);
  _mm256_storeu_ps (acc + 2 * NR, c4);
  _mm256_storeu_ps (acc + 2 * NR + 8, c5);
  _mm256_storeu_ps (acc + 3 * NR, c6);
  _mm256_storeu_ps (acc + 3 * NR + 8, c7);
}
#endif

static void
af__linear_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfLinearRun *r = ctx;
  const AfLinearKernel *lk = r->lk;
  guint8 *scratch = r->scratch + (gsize) thread * r->scratch_size;
  float *a = (float *) scratch;
  float *tmp = (float *) (scratch + af__align64 (lk->k * MR * sizeof (float)));
  float *bs = (float *) ((guint8 *) tmp + af__align64 (lk->k * sizeof (float)));
  for (gint64 t = begin; t < end; t++) {
    gint64 m0 = (t / r->n_chunks) * MR, ch = t % r->n_chunks;
    int mr = (int) MIN (MR, r->m - m0);
    gint64 s0 = ch * r->strips_per, s1 = MIN (lk->n_strips, s0 + r->strips_per);
    af__linear_pack_a (lk, r->x, m0, mr, a, tmp);
    gint64 s = s0;
#ifdef AF_X86
    for (; r->simd && mr == 1 && s + 4 <= s1 && lk->n - s * NR > 3 * NR; s += 4) {
      float acc[4 * NR] __attribute__ ((aligned (32))); /* one row: four strips at once */
      af__row4_f16 (lk->k, a, lk->w + s * lk->k * NR, lk->k * NR, acc);
      int nr = (int) MIN (4 * NR, lk->n - s * NR);
      for (int q = 0; q < 4; q++)
        af__finish_row (TRUE, acc + q * NR, MIN (NR, nr - q * NR), 0.0f, lk->bias + (s + q) * NR,
                        &lk->ep, r->res ? r->res + m0 * lk->n + (s + q) * NR : NULL,
                        r->y + m0 * lk->n + (s + q) * NR);
    }
#endif
    for (; s < s1; s++) {
      int nr = (int) MIN (NR, lk->n - s * NR);
      af__h2f_n (r->simd, lk->w + s * lk->k * NR, bs, lk->k * NR);
      af__gemm_tile (r->simd, lk->k, a, bs, NR, mr, nr, NULL, lk->bias + s * NR, &lk->ep,
                     r->res ? r->res + m0 * lk->n + s * NR : NULL, r->y + m0 * lk->n + s * NR,
                     lk->n);
    }
  }
}

void
af_cpu_linear_run (const AfLinearKernel *lk, gint64 m, const guint16 *x, guint16 *y,
                   guint8 *scratch, AfPool *pool)
{
  af_cpu_linear_run_res (lk, m, x, NULL, y, scratch, pool);
}

void
af_cpu_linear_run_res (const AfLinearKernel *lk, gint64 m, const guint16 *x, const guint16 *res,
                       guint16 *y, guint8 *scratch, AfPool *pool)
{
  if (m <= 0 || lk->n == 0)
    return;
  g_return_if_fail (!af_cpu_epilogue_has_residual (&lk->ep) || res);
  AfLinearRun r = {
    lk, m, x, y, res, scratch, af_cpu_linear_scratch_size (lk, m), af__cpu_use_simd (), 1, 1
  };
  gint64 m_blocks = af__ceil_div (m, MR), nt = af_pool_n_threads (pool);
  gint64 want = CLAMP (af__ceil_div (4 * nt, m_blocks), 1, lk->n_strips);
  r.strips_per = af__ceil_div (lk->n_strips, want);
  r.n_chunks = af__ceil_div (lk->n_strips, r.strips_per);
  af_pool_parallel_for (pool, m_blocks * r.n_chunks, 1, af__linear_task, &r);
}
