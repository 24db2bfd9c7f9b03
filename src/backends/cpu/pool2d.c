/* pool2d.c — max / average pooling of one NCHW fp16 image, parallel over
 * channels.
 *
 * Max ignores padded cells (a window with no image cell gives -inf).
 * Average sums the image cells in fp32 in (ky, kx) order and divides by the
 * number of image cells, or with count_include_pad by the window clipped to
 * the padded image (as PyTorch does: a ceil-mode overhang past the padding
 * is not counted); a window with nothing to count gives 0. The AVX2 twin
 * only swaps the scalar fp16 conversions for F16C ones (same values). */
#include "simd.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#include <immintrin.h>
#endif

typedef struct {
  const AfPoolDesc *d;
  const guint16 *in;
  guint16 *out;
} AfPoolRun;

/* The window of output (oy, ox): image cells [y0, y1) x [x0, x1) and the
 * count_include_pad divisor. */
typedef struct {
  gint64 y0, y1, x0, x1;
  float padded_count;
} AfPoolWin;

static inline void
af__pool_window (const AfPoolDesc *d, gint64 oy, gint64 ox, AfPoolWin *w)
{
  gint64 ys = oy * d->stride[0] - d->pad[0], xs = ox * d->stride[1] - d->pad[1];
  gint64 ye = MIN (ys + d->kh, d->h_in + d->pad[2]), xe = MIN (xs + d->kw, d->w_in + d->pad[3]);
  w->padded_count = (float) (MAX (ye - ys, 0) * MAX (xe - xs, 0));
  w->y0 = MAX (ys, 0);
  w->x0 = MAX (xs, 0);
  w->y1 = MIN (ys + d->kh, d->h_in);
  w->x1 = MIN (xs + d->kw, d->w_in);
}

#define AF_POOL_BODY(LOAD, STORE)                                                                  \
  const AfPoolDesc *d = r->d;                                                                      \
  for (gint64 c = begin; c < end; c++) {                                                           \
    const guint16 *plane = r->in + c * d->h_in * d->w_in;                                          \
    guint16 *out = r->out + c * d->h_out * d->w_out;                                               \
    for (gint64 oy = 0; oy < d->h_out; oy++)                                                       \
      for (gint64 ox = 0; ox < d->w_out; ox++) {                                                   \
        AfPoolWin w;                                                                               \
        af__pool_window (d, oy, ox, &w);                                                           \
        float acc = d->is_max ? -INFINITY : 0.0f;                                                  \
        for (gint64 y = w.y0; y < w.y1; y++)                                                       \
          for (gint64 x = w.x0; x < w.x1; x++) {                                                   \
            float v = LOAD (plane[y * d->w_in + x]);                                               \
            if (d->is_max)                                                                         \
              acc = v > acc ? v : acc;                                                             \
            else                                                                                   \
              acc += v;                                                                            \
          }                                                                                        \
        if (!d->is_max) {                                                                          \
          float cnt = d->count_include_pad                                                         \
                          ? w.padded_count                                                         \
                          : (float) (MAX (w.y1 - w.y0, 0) * MAX (w.x1 - w.x0, 0));                 \
          acc = cnt > 0 ? acc / cnt : 0.0f;                                                        \
        }                                                                                          \
        out[oy * d->w_out + ox] = STORE (acc);                                                     \
      }                                                                                            \
  }

static void
af__pool_task_c (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfPoolRun *r = ctx;
  AF_POOL_BODY (af_fp16_to_f32, af_f32_to_fp16)
}

#ifdef AF_X86
#define AF_CVT_SH(x) _cvtss_sh ((x), 0)
__attribute__ ((target ("avx2,f16c"))) static void
af__pool_task_f16c (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfPoolRun *r = ctx;
  AF_POOL_BODY (_cvtsh_ss, AF_CVT_SH)
}
#endif

/* Max pooling with stride 1 or 2 across rows up to AF_POOL_MAX_W: per
 * output row, each window row is converted once into a -inf padded fp32
 * row (split into even / odd columns for stride 2), and every tap (ky, kx)
 * is then one contiguous vector folded with acc = max (v, acc) — v > acc ?
 * v : acc, the scalar loop's step, in the same (ky, kx) order (padding
 * cells are -inf, which never wins), so the result is identical. */
#define AF_POOL_MAX_W 2048

#ifdef AF_X86
__attribute__ ((target ("avx2,f16c"))) static void
af__maxpool_task_avx2 (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfPoolRun *r = ctx;
  const AfPoolDesc *d = r->d;
  gint64 sw = d->stride[1], wp = (d->w_out - 1) * sw + d->kw; /* padded columns read */
  gint64 half = (wp + 1) / 2 + 8;
  float row[AF_POOL_MAX_W + 16], ph[2][AF_POOL_MAX_W / 2 + 16], acc[AF_POOL_MAX_W + 16];
  __m256 ninf = _mm256_set1_ps (-INFINITY);
  for (gint64 i = 0; i < AF_POOL_MAX_W + 16; i++)
    row[i] = -INFINITY;
  gint64 x_lo = MIN (d->pad[1], wp), x_hi = CLAMP (d->pad[1] + d->w_in, x_lo, wp);
  for (gint64 c = begin; c < end; c++) {
    const guint16 *plane = r->in + c * d->h_in * d->w_in;
    guint16 *out = r->out + c * d->h_out * d->w_out;
    for (gint64 oy = 0; oy < d->h_out; oy++) {
      for (gint64 x = 0; x < d->w_out; x += 8)
        _mm256_storeu_ps (acc + x, ninf);
      for (gint64 ky = 0; ky < d->kh; ky++) {
        gint64 iy = oy * d->stride[0] - d->pad[0] + ky;
        if (iy < 0 || iy >= d->h_in)
          continue;
        af__h2f_n (TRUE, plane + iy * d->w_in + (x_lo - d->pad[1]), row + x_lo, x_hi - x_lo);
        const float *base[2] = { row, row };
        if (sw == 2) {
          for (gint64 i = 0; i < half; i++) {
            ph[0][i] = row[2 * i];
            ph[1][i] = row[2 * i + 1];
          }
          base[0] = ph[0];
          base[1] = ph[1];
        }
        for (gint64 kx = 0; kx < d->kw; kx++) {
          const float *src = sw == 2 ? base[kx & 1] + kx / 2 : row + kx;
          for (gint64 x = 0; x < d->w_out; x += 8)
            _mm256_storeu_ps (acc + x,
                              _mm256_max_ps (_mm256_loadu_ps (src + x), _mm256_loadu_ps (acc + x)));
        }
      }
      af_f32_to_fp16_n (acc, out + oy * d->w_out, d->w_out);
    }
  }
}
#endif

#ifdef AF_X86
/* Global average pooling (one window, the whole unpadded plane): eight
 * channels at a time in the lanes of one accumulator, the planes read
 * eight cells at a time and transposed, so every channel still sums its
 * cells in index order from +0 and divides by their count, as the scalar
 * loop: identical results. Tasks are groups of 8 channels. */
static gboolean
af__pool_is_global (const AfPoolDesc *d)
{
  return !d->is_max && d->h_out == 1 && d->w_out == 1 && d->kh == d->h_in && d->kw == d->w_in &&
         d->pad[0] == 0 && d->pad[1] == 0 && d->pad[2] == 0 && d->pad[3] == 0 && d->h_in > 0 &&
         d->w_in > 0;
}

__attribute__ ((target ("avx2"), always_inline)) static inline void
af__transpose8 (__m256 *v)
{
  __m256 a0 = _mm256_unpacklo_ps (v[0], v[1]), a1 = _mm256_unpackhi_ps (v[0], v[1]);
  __m256 a2 = _mm256_unpacklo_ps (v[2], v[3]), a3 = _mm256_unpackhi_ps (v[2], v[3]);
  __m256 a4 = _mm256_unpacklo_ps (v[4], v[5]), a5 = _mm256_unpackhi_ps (v[4], v[5]);
  __m256 a6 = _mm256_unpacklo_ps (v[6], v[7]), a7 = _mm256_unpackhi_ps (v[6], v[7]);
  __m256 b0 = _mm256_shuffle_ps (a0, a2, 0x44), b1 = _mm256_shuffle_ps (a0, a2, 0xee);
  __m256 b2 = _mm256_shuffle_ps (a1, a3, 0x44), b3 = _mm256_shuffle_ps (a1, a3, 0xee);
  __m256 b4 = _mm256_shuffle_ps (a4, a6, 0x44), b5 = _mm256_shuffle_ps (a4, a6, 0xee);
  __m256 b6 = _mm256_shuffle_ps (a5, a7, 0x44), b7 = _mm256_shuffle_ps (a5, a7, 0xee);
  v[0] = _mm256_permute2f128_ps (b0, b4, 0x20);
  v[1] = _mm256_permute2f128_ps (b1, b5, 0x20);
  v[2] = _mm256_permute2f128_ps (b2, b6, 0x20);
  v[3] = _mm256_permute2f128_ps (b3, b7, 0x20);
  v[4] = _mm256_permute2f128_ps (b0, b4, 0x31);
  v[5] = _mm256_permute2f128_ps (b1, b5, 0x31);
  v[6] = _mm256_permute2f128_ps (b2, b6, 0x31);
  v[7] = _mm256_permute2f128_ps (b3, b7, 0x31);
}

__attribute__ ((target ("avx2,f16c"))) static void
af__gap_task_avx2 (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfPoolRun *r = ctx;
  const AfPoolDesc *d = r->d;
  gint64 hw = d->h_in * d->w_in;
  for (gint64 g = begin; g < end; g++) {
    gint64 c0 = g * 8, nc = MIN (8, d->c - c0);
    const guint16 *p[8];
    for (int j = 0; j < 8; j++) /* missing channels repeat the last one */
      p[j] = r->in + (c0 + MIN (j, nc - 1)) * hw;
    __m256 acc = _mm256_setzero_ps ();
    gint64 i = 0;
    for (; i + 8 <= hw; i += 8) {
      __m256 v[8]; /* unrolled: at -O2 a loop keeps v[] in memory */
#pragma GCC unroll 8
      for (int j = 0; j < 8; j++)
        v[j] = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (p[j] + i)));
      af__transpose8 (v);
#pragma GCC unroll 8
      for (int k = 0; k < 8; k++)
        acc = _mm256_add_ps (acc, v[k]);
    }
    for (; i < hw; i++) {
      float t[8];
      for (int j = 0; j < 8; j++)
        t[j] = _cvtsh_ss (p[j][i]);
      acc = _mm256_add_ps (acc, _mm256_loadu_ps (t));
    }
    acc = _mm256_div_ps (acc, _mm256_set1_ps ((float) hw));
    guint16 h[8];
    _mm_storeu_si128 ((__m128i *) h, _mm256_cvtps_ph (acc, AF_F16_NEAREST));
    memcpy (r->out + c0, h, nc * sizeof (guint16));
  }
}
#endif

void
af_cpu_pool2d_run (const AfPoolDesc *d, const guint16 *in, guint16 *out, AfPool *pool)
{
  AfPoolRun r = { d, in, out };
#ifdef AF_X86
  if (af__cpu_use_simd () && af__pool_is_global (d)) {
    af_pool_parallel_for (pool, af__ceil_div (d->c, 8), 1, af__gap_task_avx2, &r);
    return;
  }
#endif
  AfTaskFn fn = af__pool_task_c;
#ifdef AF_X86
  if (af__cpu_use_simd ())
    fn = af__pool_task_f16c;
  if (af__cpu_use_simd () && d->is_max && (d->stride[1] == 1 || d->stride[1] == 2) &&
      (d->w_out - 1) * d->stride[1] + d->kw + 32 <= AF_POOL_MAX_W && d->w_out > 0)
    fn = af__maxpool_task_avx2;
#endif
  af_pool_parallel_for (pool, d->c, 1, fn, &r);
}
