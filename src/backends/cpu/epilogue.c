/* epilogue.c — fused activations and the row finisher (bias + fp16
 * rounding + epilogue + store) every kernel ends with. */
#include "simd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

/* ------------------------------------------------------------ conversion */

#ifdef AF_X86
__attribute__ ((target ("avx2,f16c"))) static void
af__h2f_n_f16c (const guint16 *src, float *dst, gint64 n)
{
  gint64 i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i a = _mm_loadu_si128 ((const __m128i *) (src + i));
    __m128i b = _mm_loadu_si128 ((const __m128i *) (src + i + 8));
    _mm256_storeu_ps (dst + i, _mm256_cvtph_ps (a));
    _mm256_storeu_ps (dst + i + 8, _mm256_cvtph_ps (b));
  }
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (dst + i, _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + i))));
  if (i < n && n >= 8) { /* the last 8 again: no partial vector */
    _mm256_storeu_ps (dst + n - 8,
                      _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + n - 8))));
  } else if (i < n) {
    guint16 t[8] = { 0 };
    float f[8];
    memcpy (t, src + i, (n - i) * sizeof (guint16));
    _mm256_storeu_ps (f, _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) t)));
    memcpy (dst + i, f, (n - i) * sizeof (float));
  }
}
#endif

#ifdef AF_X86
__attribute__ ((target ("avx2"))) static void
af__split2_avx2 (const float *row, gint64 n, float *even, float *odd)
{
  gint64 i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a = _mm256_loadu_ps (row + i), b = _mm256_loadu_ps (row + i + 8);
    __m256 e, o;
    af__deinterleave16 (a, b, &e, &o);
    _mm256_storeu_ps (even + i / 2, e);
    _mm256_storeu_ps (odd + i / 2, o);
  }
  for (; i < n; i++)
    (i & 1 ? odd : even)[i / 2] = row[i];
}
#endif

void
af__split2 (gboolean simd, const float *row, gint64 n, float *even, float *odd)
{
#ifdef AF_X86
  if (simd) {
    af__split2_avx2 (row, n, even, odd);
    return;
  }
#endif
  for (gint64 i = 0; i < n; i++)
    (i & 1 ? odd : even)[i / 2] = row[i];
}

void
af__h2f_n (gboolean simd, const guint16 *src, float *dst, gint64 n)
{
#ifdef AF_X86
  if (simd) {
    af__h2f_n_f16c (src, dst, n);
    return;
  }
#endif
  if (n > 0) /* the bulk conversion: NEON on AArch64 unless portable is forced */
    af_fp16_to_f32_n (src, dst, (gsize) n);
}

/* ------------------------------------------------------------ epilogue */

static inline float
af__round16 (float x)
{
  return af_fp16_to_f32 (af_f32_to_fp16 (x));
}

float
af_cpu_epilogue_apply_res (const AfCpuEpilogue *ep, float x, float r)
{
  if (!ep)
    return x;
  for (int i = 0; i < ep->n; i++)
    x = af__round16 (
        ep->op[i] == AF_OP_ADD ? x + r : af__unary_scalar (ep->op[i], x, ep->lo[i], ep->hi[i]));
  return x;
}

float
af_cpu_epilogue_apply (const AfCpuEpilogue *ep, float x)
{
  return af_cpu_epilogue_apply_res (ep, x, 0.0f);
}

gboolean
af_cpu_epilogue_has_residual (const AfCpuEpilogue *ep)
{
  for (int i = 0; ep && i < ep->n; i++)
    if (ep->op[i] == AF_OP_ADD)
      return TRUE;
  return FALSE;
}

gboolean
af__epilogue_is_simple (const AfCpuEpilogue *ep)
{
  if (!ep)
    return TRUE;
  for (int i = 0; i < ep->n; i++)
    if (ep->op[i] != AF_OP_RELU && ep->op[i] != AF_OP_RELU6 && ep->op[i] != AF_OP_CLIP &&
        ep->op[i] != AF_OP_ADD)
      return FALSE;
  return TRUE;
}

/* ------------------------------------------------------------ row finisher */

static void
af__finish_row_c (const float *acc, gint64 n, gboolean add_bias, float bias, const float *bias_v,
                  const AfCpuEpilogue *ep, const guint16 *res, guint16 *dst)
{
  gboolean has_ep = ep && ep->n > 0;
  for (gint64 j = 0; j < n; j++) {
    float v = add_bias ? acc[j] + (bias_v ? bias_v[j] : bias) : acc[j];
    v = af__round16 (v);
    if (has_ep)
      v = af_cpu_epilogue_apply_res (ep, v, res ? af_fp16_to_f32 (res[j]) : 0.0f);
    dst[j] = af_f32_to_fp16 (v);
  }
}

void
af__simple_ep (const AfCpuEpilogue *ep, AfSimpleEp *se)
{
  int stage = 0;
  se->lo[0] = se->lo[1] = -INFINITY;
  se->hi[0] = se->hi[1] = INFINITY;
  se->add = se->clamp[0] = se->clamp[1] = FALSE;
  for (int i = 0; ep && i < ep->n; i++) {
    float l = -INFINITY, h = INFINITY;
    if (ep->op[i] == AF_OP_ADD) {
      se->add = TRUE;
      stage = 1;
      continue;
    }
    if (ep->op[i] == AF_OP_RELU)
      l = 0.0f;
    else if (ep->op[i] == AF_OP_RELU6)
      l = 0.0f, h = 6.0f;
    else
      l = ep->lo[i], h = ep->hi[i];
    float nl = fminf (fmaxf (se->lo[stage], l), h), nh = fminf (fmaxf (se->hi[stage], l), h);
    se->lo[stage] = nl;
    se->hi[stage] = nh;
    se->clamp[stage] = TRUE;
  }
}

#ifdef AF_X86
__attribute__ ((target ("avx2,f16c"))) static void
af__finish_row_simple (const float *acc, gint64 n, gboolean add_bias, float bias,
                       const float *bias_v, const AfCpuEpilogue *ep, const guint16 *res,
                       guint16 *dst)
{
  AfSimpleEp se;
  af__simple_ep (ep, &se);
  __m256 lo0 = _mm256_set1_ps (se.lo[0]), hi0 = _mm256_set1_ps (se.hi[0]);
  __m256 lo1 = _mm256_set1_ps (se.lo[1]), hi1 = _mm256_set1_ps (se.hi[1]);
  __m256 vb = _mm256_set1_ps (bias);
  __m128i r0 = _mm_setzero_si128 ();
  gint64 j = 0;
  if (!add_bias) { /* without a bias, -0 must stay -0 */
    for (; j + 8 <= n; j += 8)
      _mm_storeu_si128 ((__m128i *) (dst + j),
                        af__simple8 (_mm256_loadu_ps (acc + j), &se, lo0, hi0,
                                     se.add ? _mm_loadu_si128 ((const __m128i *) (res + j)) : r0,
                                     lo1, hi1));
  } else if (bias_v) {
    for (; j + 8 <= n; j += 8)
      _mm_storeu_si128 (
          (__m128i *) (dst + j),
          af__simple8 (_mm256_add_ps (_mm256_loadu_ps (acc + j), _mm256_loadu_ps (bias_v + j)), &se,
                       lo0, hi0, se.add ? _mm_loadu_si128 ((const __m128i *) (res + j)) : r0, lo1,
                       hi1));
  } else if (se.add) {
    for (; j + 8 <= n; j += 8)
      _mm_storeu_si128 ((__m128i *) (dst + j),
                        af__simple8 (_mm256_add_ps (_mm256_loadu_ps (acc + j), vb), &se, lo0, hi0,
                                     _mm_loadu_si128 ((const __m128i *) (res + j)), lo1, hi1));
  } else {
    for (; j + 8 <= n; j += 8)
      _mm_storeu_si128 (
          (__m128i *) (dst + j),
          af__simple8 (_mm256_add_ps (_mm256_loadu_ps (acc + j), vb), &se, lo0, hi0, r0, lo1, hi1));
  }
  /* the last 8 again when nothing read is written (no residual in @dst) */
  if (j < n && n >= 8 && (!se.add || res + n <= dst || dst + n <= res)) {
    j = n - 8;
    __m256 v = _mm256_loadu_ps (acc + j);
    if (add_bias)
      v = _mm256_add_ps (v, bias_v ? _mm256_loadu_ps (bias_v + j) : vb);
    _mm_storeu_si128 ((__m128i *) (dst + j),
                      af__simple8 (v, &se, lo0, hi0,
                                   se.add ? _mm_loadu_si128 ((const __m128i *) (res + j)) : r0, lo1,
                                   hi1));
    return;
  }
  if (j < n) {
    gint64 cnt = n - j;
    float ta[8] = { 0 }, tb[8] = { 0 };
    guint16 tr[8] = { 0 }, th[8];
    memcpy (ta, acc + j, cnt * sizeof (float));
    __m256 v = _mm256_loadu_ps (ta);
    if (add_bias && bias_v) {
      memcpy (tb, bias_v + j, cnt * sizeof (float));
      v = _mm256_add_ps (v, _mm256_loadu_ps (tb));
    } else if (add_bias) {
      v = _mm256_add_ps (v, vb);
    }
    if (se.add)
      memcpy (tr, res + j, cnt * sizeof (guint16));
    _mm_storeu_si128 (
        (__m128i *) th,
        af__simple8 (v, &se, lo0, hi0, _mm_loadu_si128 ((const __m128i *) tr), lo1, hi1));
    memcpy (dst + j, th, cnt * sizeof (guint16));
  }
}

__attribute__ ((target ("avx2,f16c"))) static void
af__finish_row_avx2 (const float *acc, gint64 n, gboolean add_bias, float bias, const float *bias_v,
                     const AfCpuEpilogue *ep, const guint16 *res, guint16 *dst)
{
  if (af__epilogue_is_simple (ep)) {
    af__finish_row_simple (acc, n, add_bias, bias, bias_v, ep, res, dst);
    return;
  }
  __m256 vb = _mm256_set1_ps (bias);
  for (gint64 j = 0; j < n; j += 8) {
    gint64 cnt = MIN (8, n - j);
    __m256 v;
    if (cnt == 8) {
      v = _mm256_loadu_ps (acc + j);
      if (bias_v)
        vb = _mm256_loadu_ps (bias_v + j);
    } else {
      float ta[8] = { 0 }, tb[8] = { 0 };
      memcpy (ta, acc + j, cnt * sizeof (float));
      v = _mm256_loadu_ps (ta);
      if (bias_v) {
        memcpy (tb, bias_v + j, cnt * sizeof (float));
        vb = _mm256_loadu_ps (tb);
      }
    }
    __m128i h = _mm256_cvtps_ph (add_bias ? _mm256_add_ps (v, vb) : v, AF_F16_NEAREST);
    guint16 th[8];
    _mm_storeu_si128 ((__m128i *) th, h);
    for (gint64 t = 0; t < cnt; t++)
      th[t] = af_f32_to_fp16 (
          af_cpu_epilogue_apply_res (ep, _cvtsh_ss (th[t]), res ? _cvtsh_ss (res[j + t]) : 0.0f));
    memcpy (dst + j, th, cnt * sizeof (guint16));
  }
}
#endif

#if defined(__aarch64__)
/* x86's maxps / minps, a > b ? a : b and a < b ? a : b (NaN and signed
 * zeros included), which the simple path's bits are defined by. */
static inline float32x4_t
af__max4 (float32x4_t a, float32x4_t b)
{
  return vbslq_f32 (vcgtq_f32 (a, b), a, b);
}

static inline float32x4_t
af__min4 (float32x4_t a, float32x4_t b)
{
  return vbslq_f32 (vcltq_f32 (a, b), a, b);
}

/* af__finish_row_simple on NEON, 4 at a time (the last n % 4 in C): the
 * same adds, clamps and roundings (FCVTN: to nearest even), so the same
 * bits as the portable finisher (/kernels/epilogue/finish-row). */
static void
af__finish_row_neon (const float *acc, gint64 n, gboolean add_bias, float bias, const float *bias_v,
                     const AfCpuEpilogue *ep, const guint16 *res, guint16 *dst)
{
  AfSimpleEp se;
  af__simple_ep (ep, &se);
  const float32x4_t lo0 = vdupq_n_f32 (se.lo[0]), hi0 = vdupq_n_f32 (se.hi[0]);
  const float32x4_t lo1 = vdupq_n_f32 (se.lo[1]), hi1 = vdupq_n_f32 (se.hi[1]);
  const float32x4_t vb = vdupq_n_f32 (bias);
  gint64 j = 0;
  for (; j + 4 <= n; j += 4) {
    float32x4_t v = vld1q_f32 (acc + j);
    if (add_bias)
      v = vaddq_f32 (v, bias_v ? vld1q_f32 (bias_v + j) : vb);
    if (se.clamp[0])
      v = af__min4 (af__max4 (v, lo0), hi0);
    if (se.add) {
      float32x4_t r = vcvt_f32_f16 (vreinterpret_f16_u16 (vld1_u16 (res + j)));
      v = vaddq_f32 (vcvt_f32_f16 (vcvt_f16_f32 (v)), r);
      if (se.clamp[1])
        v = af__min4 (af__max4 (v, lo1), hi1);
    }
    vst1_u16 (dst + j, vreinterpret_u16_f16 (vcvt_f16_f32 (v)));
  }
  if (j < n)
    af__finish_row_c (acc + j, n - j, add_bias, bias, bias_v ? bias_v + j : NULL, ep,
                      res ? res + j : NULL, dst + j);
}
#endif

/* The finisher this build and CPU run: AVX2 when @simd, on AArch64 NEON
 * for the simple epilogues unless portable is forced, else C. */
static void
af__finish_row_any (gboolean simd, const float *acc, gint64 n, gboolean add_bias, float bias,
                    const float *bias_v, const AfCpuEpilogue *ep, const guint16 *res, guint16 *dst)
{
#ifdef AF_X86
  if (simd) {
    af__finish_row_avx2 (acc, n, add_bias, bias, bias_v, ep, res, dst);
    return;
  }
#elif defined(__aarch64__)
  (void) simd;
  if (af__cpu_use_neon () && af__epilogue_is_simple (ep)) {
    af__finish_row_neon (acc, n, add_bias, bias, bias_v, ep, res, dst);
    return;
  }
#endif
  af__finish_row_c (acc, n, add_bias, bias, bias_v, ep, res, dst);
}

void
af__finish_row (gboolean simd, const float *acc, gint64 n, float bias, const float *bias_v,
                const AfCpuEpilogue *ep, const guint16 *res, guint16 *dst)
{
  af__finish_row_any (simd, acc, n, TRUE, bias, bias_v, ep, res, dst);
}

void
af__store_row (gboolean simd, const float *v, gint64 n, const AfCpuEpilogue *ep, const guint16 *res,
               guint16 *dst)
{
  af__finish_row_any (simd, v, n, FALSE, 0.0f, NULL, ep, res, dst);
}
