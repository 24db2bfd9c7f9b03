/* dwconv.c — depthwise convolution; see dwconv.h. */
#include "dwconv.h"
#include "simd.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#include <immintrin.h>
#endif

#define AF_DW_VPAD 40                     /* readable floats past each phase row */
#define AF_DW_MAX_PLANE ((gint64) 1 << 21) /* floats of padded plane per thread */

struct _AfDwKernel {
  AfConvDesc d;
  AfEpilogue ep;
  gint64 rows;   /* padded input rows the outputs read */
  gint64 cols;   /* padded input columns the outputs read */
  gint64 pw;     /* floats per phase row */
  gint64 phases; /* stride[1] */
  float *w, *bias;
  gsize scratch;
};

AfDwKernel *
af_cpu_dw_new (const AfConvDesc *d, const float *w, const float *bias, const AfEpilogue *ep)
{
  if (d->groups != d->c_in || d->groups != d->c_out || d->h_out <= 0 || d->w_out <= 0)
    return NULL;
  gint64 rows = (d->h_out - 1) * d->stride[0] + (d->kh - 1) * d->dilation[0] + 1;
  gint64 cols = (d->w_out - 1) * d->stride[1] + (d->kw - 1) * d->dilation[1] + 1;
  gint64 pw = af__ceil_div (cols, d->stride[1]) + AF_DW_VPAD;
  if (rows * pw * d->stride[1] > AF_DW_MAX_PLANE)
    return NULL;
  AfDwKernel *k = g_new0 (AfDwKernel, 1);
  k->d = *d;
  if (ep)
    k->ep = *ep;
  k->rows = rows;
  k->cols = cols;
  k->pw = pw;
  k->phases = d->stride[1];
  k->w = g_memdup2 (w, d->c_out * d->kh * d->kw * sizeof (float));
  k->bias = g_new0 (float, d->c_out);
  if (bias)
    memcpy (k->bias, bias, d->c_out * sizeof (float));
  /* phase planes, one fp32 input row, accumulators */
  k->scratch = (rows * pw * k->phases + d->w_in + d->w_out + 64) * sizeof (float) + 256;
  return k;
}

gsize
af_cpu_dw_scratch_size (const AfDwKernel *k)
{
  return k->scratch;
}

void
af_cpu_dw_free (AfDwKernel *k)
{
  if (!k)
    return;
  g_free (k->w);
  g_free (k->bias);
  g_free (k);
}

typedef struct {
  const AfDwKernel *k;
  const guint16 *in, *res;
  guint16 *out;
  guint8 *scratch;
  gboolean simd;
} AfDwRun;

/* Writes channel @plane into the phase planes: padded column x goes to phase
 * x % sw at x / sw. Cells outside the image keep their zeros. */
#ifdef AF_X86
/* Stride 2: row[i] is padded column x0 + i; even columns go to @p0 at x / 2,
 * odd ones to @p1 at x / 2. */
__attribute__ ((target ("avx2"))) static void
af__dw_split2 (const float *row, gint64 n, gint64 x0, float *p0, float *p1)
{
  float *ev = x0 & 1 ? p1 + x0 / 2 : p0 + x0 / 2;       /* where row[0], row[2].. go */
  float *od = x0 & 1 ? p0 + x0 / 2 + 1 : p1 + x0 / 2;   /* where row[1], row[3].. go */
  gint64 i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a = _mm256_loadu_ps (row + i), b = _mm256_loadu_ps (row + i + 8);
    __m256 e = _mm256_castpd_ps (
        _mm256_permute4x64_pd (_mm256_castps_pd (_mm256_shuffle_ps (a, b, 0x88)), 0xd8));
    __m256 o = _mm256_castpd_ps (
        _mm256_permute4x64_pd (_mm256_castps_pd (_mm256_shuffle_ps (a, b, 0xdd)), 0xd8));
    _mm256_storeu_ps (ev + i / 2, e);
    _mm256_storeu_ps (od + i / 2, o);
  }
  for (; i < n; i++)
    (i & 1 ? od : ev)[i / 2] = row[i];
}
#endif

static void
af__dw_fill (const AfDwKernel *k, const guint16 *plane, float *ph, float *row, gboolean simd)
{
  const AfConvDesc *d = &k->d;
  gint64 sw = k->phases, plane_sz = k->rows * k->pw;
  gint64 x_lo = MIN (d->pad[1], k->cols), x_hi = CLAMP (d->pad[1] + d->w_in, x_lo, k->cols);
  for (gint64 iy = 0; iy < d->h_in; iy++) {
    gint64 r = iy + d->pad[0];
    if (r >= k->rows)
      break;
    const guint16 *src = plane + iy * d->w_in + (x_lo - d->pad[1]);
    if (sw == 1) {
      af_fp16_to_f32_n (src, ph + r * k->pw + x_lo, x_hi - x_lo);
      continue;
    }
    af_fp16_to_f32_n (src, row, x_hi - x_lo);
#ifdef AF_X86
    if (sw == 2 && simd) {
      af__dw_split2 (row, x_hi - x_lo, x_lo, ph + r * k->pw, ph + plane_sz + r * k->pw);
      continue;
    }
#endif
    gint64 phase = x_lo % sw, at = x_lo / sw; /* walk (x % sw, x / sw) without dividing */
    float *dst = ph + r * k->pw;
    for (gint64 x = x_lo; x < x_hi; x++) {
      dst[phase * plane_sz + at] = row[x - x_lo];
      if (++phase == sw) {
        phase = 0;
        at++;
      }
    }
  }
}

/* acc[ox] = sum over taps (ky, kx order) of w * input, ox < w_out. */
static void
af__dw_row_c (const AfDwKernel *k, const float *ph, const float *w, gint64 oy, float *acc)
{
  const AfConvDesc *d = &k->d;
  gint64 plane_sz = k->rows * k->pw;
  for (gint64 ox = 0; ox < d->w_out; ox++)
    acc[ox] = 0.0f;
  for (gint64 ky = 0; ky < d->kh; ky++) {
    gint64 r = oy * d->stride[0] + ky * d->dilation[0];
    gint64 iy = r - d->pad[0];
    if (iy < 0 || iy >= d->h_in) /* conv.c skips these rows (they add zeros) */
      continue;
    for (gint64 kx = 0; kx < d->kw; kx++) {
      gint64 c = kx * d->dilation[1];
      const float *src = ph + (c % k->phases) * plane_sz + r * k->pw + c / k->phases;
      float wt = w[ky * d->kw + kx];
      for (gint64 ox = 0; ox < d->w_out; ox++)
        acc[ox] += wt * src[ox];
    }
  }
}

#ifdef AF_X86
__attribute__ ((target ("avx2,fma"))) static void
af__dw_row_avx2 (const AfDwKernel *k, const float *ph, const float *w, gint64 oy, float *acc)
{
  const AfConvDesc *d = &k->d;
  gint64 plane_sz = k->rows * k->pw;
  const float *src[64];
  float wt[64];
  int n = 0;
  for (gint64 ky = 0; ky < d->kh; ky++) {
    gint64 r = oy * d->stride[0] + ky * d->dilation[0];
    gint64 iy = r - d->pad[0];
    if (iy < 0 || iy >= d->h_in)
      continue;
    for (gint64 kx = 0; kx < d->kw; kx++, n++) {
      gint64 c = kx * d->dilation[1];
      src[n] = ph + (c % k->phases) * plane_sz + r * k->pw + c / k->phases;
      wt[n] = w[ky * d->kw + kx];
    }
  }
  gint64 ox = 0;
  for (; ox + 32 <= d->w_out; ox += 32) {
    __m256 a0 = _mm256_setzero_ps (), a1 = a0, a2 = a0, a3 = a0;
    for (int t = 0; t < n; t++) {
      __m256 wv = _mm256_broadcast_ss (wt + t);
      const float *s = src[t] + ox;
      a0 = _mm256_fmadd_ps (wv, _mm256_loadu_ps (s), a0);
      a1 = _mm256_fmadd_ps (wv, _mm256_loadu_ps (s + 8), a1);
      a2 = _mm256_fmadd_ps (wv, _mm256_loadu_ps (s + 16), a2);
      a3 = _mm256_fmadd_ps (wv, _mm256_loadu_ps (s + 24), a3);
    }
    _mm256_storeu_ps (acc + ox, a0);
    _mm256_storeu_ps (acc + ox + 8, a1);
    _mm256_storeu_ps (acc + ox + 16, a2);
    _mm256_storeu_ps (acc + ox + 24, a3);
  }
  for (; ox < d->w_out; ox += 8) { /* rows and acc are padded */
    __m256 a0 = _mm256_setzero_ps ();
    for (int t = 0; t < n; t++)
      a0 = _mm256_fmadd_ps (_mm256_broadcast_ss (wt + t), _mm256_loadu_ps (src[t] + ox), a0);
    _mm256_storeu_ps (acc + ox, a0);
  }
}
#endif

static void
af__dw_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfDwRun *r = ctx;
  const AfDwKernel *k = r->k;
  const AfConvDesc *d = &k->d;
  float *ph = (float *) (r->scratch + (gsize) thread * k->scratch);
  gint64 ph_n = k->rows * k->pw * k->phases;
  float *row = ph + ph_n, *acc = row + d->w_in + 8;
  memset (ph, 0, ph_n * sizeof (float)); /* padding cells stay zero */
#ifdef AF_X86
  gboolean vec = r->simd && d->kh * d->kw <= 64;
#endif
  for (gint64 c = begin; c < end; c++) {
    af__dw_fill (k, r->in + c * d->h_in * d->w_in, ph, row, r->simd);
    const float *w = k->w + c * d->kh * d->kw;
    for (gint64 oy = 0; oy < d->h_out; oy++) {
#ifdef AF_X86
      if (vec)
        af__dw_row_avx2 (k, ph, w, oy, acc);
      else
#endif
        af__dw_row_c (k, ph, w, oy, acc);
      gint64 at = (c * d->h_out + oy) * d->w_out;
      af__finish_row (r->simd, acc, d->w_out, k->bias[c], NULL, &k->ep, r->res ? r->res + at : NULL,
                      r->out + at);
    }
  }
}

void
af_cpu_dw_run (const AfDwKernel *k, const guint16 *in, const guint16 *res, guint16 *out,
               guint8 *scratch, AfPool *pool)
{
  AfDwRun r = { k, in, res, out, scratch, af__cpu_use_simd () };
  af_pool_parallel_for (pool, k->d.c_out, 1, af__dw_task, &r);
}
