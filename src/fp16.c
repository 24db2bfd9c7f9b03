/* fp16.c — IEEE half <-> single conversion, round to nearest even. The
 * scalar functions are the reference; the bulk ones use F16C (x86-64) or
 * NEON (AArch64) when the host's switches (cpu-features.h) allow it. */
#include "aneforge.h"
#include "cpu-features.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

float
af_fp16_to_f32 (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13); /* inf / nan */
    if (man)
      bits |= 0x00400000u; /* NaNs come out quiet, as vcvtph2ps gives them */
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else { /* subnormal: normalise */
    int e = -1;
    do {
      man <<= 1;
      e++;
    } while (!(man & 0x400));
    bits = sign | ((guint32) (112 - e) << 23) | ((man & 0x3ff) << 13);
  }
  float f;
  memcpy (&f, &bits, 4);
  return f;
}

guint16
af_f32_to_fp16 (float f)
{
  guint32 x;
  memcpy (&x, &f, 4);
  guint32 sign = (x >> 16) & 0x8000;
  guint32 abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) /* inf or nan (keep nan quiet) */
    return (guint16) (sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 | ((abs >> 13) & 0x3ff) : 0));
  if (abs >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
    return (guint16) (sign | 0x7c00);
  if (abs < 0x38800000u) { /* below the smallest normal: subnormal or zero */
    if (abs < 0x33000000u) /* < 2^-25: rounds to zero */
      return (guint16) sign;
    guint32 e = abs >> 23, man = (abs & 0x7fffff) | 0x800000;
    guint32 shift = 126 - e; /* 14..24 */
    guint32 half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1)))
      half++;
    return (guint16) (sign | half);
  }
  guint32 r = abs - 0x38000000u; /* rebias exponent 127 -> 15 */
  guint32 half = r >> 13, rem = r & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
    half++;
  return (guint16) (sign | half);
}

#if defined(__x86_64__) || defined(__i386__)
/* F16C bulk paths: vcvtph2ps is exact and vcvtps2ph with immediate 0 rounds
 * to nearest even, handles subnormals, overflows to inf and quiets NaNs
 * keeping the top payload bits, exactly like the scalar functions above
 * (tests/kernels/test-fp16.c checks all 65536 halves and random floats). */
__attribute__ ((target ("avx2,f16c"))) static gsize
af__fp16_to_f32_f16c (const guint16 *src, float *dst, gsize n)
{
  gsize i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + i)));
    __m256 b = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + i + 8)));
    _mm256_storeu_ps (dst + i, a);
    _mm256_storeu_ps (dst + i + 8, b);
  }
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (dst + i, _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + i))));
  return i;
}

__attribute__ ((target ("avx2,f16c"))) static gsize
af__f32_to_fp16_f16c (const float *src, guint16 *dst, gsize n)
{
  gsize i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i a = _mm256_cvtps_ph (_mm256_loadu_ps (src + i), 0);
    __m128i b = _mm256_cvtps_ph (_mm256_loadu_ps (src + i + 8), 0);
    _mm_storeu_si128 ((__m128i *) (dst + i), a);
    _mm_storeu_si128 ((__m128i *) (dst + i + 8), b);
  }
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128 ((__m128i *) (dst + i), _mm256_cvtps_ph (_mm256_loadu_ps (src + i), 0));
  return i;
}
#endif

#if defined(__aarch64__)
/* NEON bulk paths: FCVTL widens exactly; FCVTN narrows with the FPCR's
 * rounding (to nearest even: Linux starts every thread so), keeps
 * subnormals (FZ off) and quiets NaNs keeping their top payload bits: the
 * scalar functions' bits (test-fp16, run under qemu-aarch64 by tests/run.sh,
 * checks all 65536 halves and millions of floats). */
static gsize
af__fp16_to_f32_neon (const guint16 *src, float *dst, gsize n)
{
  gsize i = 0;
  for (; i + 8 <= n; i += 8) {
    uint16x8_t h = vld1q_u16 (src + i);
    vst1q_f32 (dst + i, vcvt_f32_f16 (vreinterpret_f16_u16 (vget_low_u16 (h))));
    vst1q_f32 (dst + i + 4, vcvt_high_f32_f16 (vreinterpretq_f16_u16 (h)));
  }
  for (; i + 4 <= n; i += 4)
    vst1q_f32 (dst + i, vcvt_f32_f16 (vreinterpret_f16_u16 (vld1_u16 (src + i))));
  return i;
}

static gsize
af__f32_to_fp16_neon (const float *src, guint16 *dst, gsize n)
{
  gsize i = 0;
  for (; i + 8 <= n; i += 8) {
    float16x8_t h = vcvt_high_f16_f32 (vcvt_f16_f32 (vld1q_f32 (src + i)), vld1q_f32 (src + i + 4));
    vst1q_u16 (dst + i, vreinterpretq_u16_f16 (h));
  }
  for (; i + 4 <= n; i += 4)
    vst1_u16 (dst + i, vreinterpret_u16_f16 (vcvt_f16_f32 (vld1q_f32 (src + i))));
  return i;
}
#endif

void
af_fp16_to_f32_n (const guint16 *src, float *dst, gsize n)
{
  gsize i = 0;
#if defined(__x86_64__) || defined(__i386__)
  if (n >= 8 && af__cpu_use_simd ())
    i = af__fp16_to_f32_f16c (src, dst, n);
#elif defined(__aarch64__)
  if (n >= 4 && af__cpu_use_neon ())
    i = af__fp16_to_f32_neon (src, dst, n);
#endif
  for (; i < n; i++)
    dst[i] = af_fp16_to_f32 (src[i]);
}

void
af_f32_to_fp16_n (const float *src, guint16 *dst, gsize n)
{
  gsize i = 0;
#if defined(__x86_64__) || defined(__i386__)
  if (n >= 8 && af__cpu_use_simd ())
    i = af__f32_to_fp16_f16c (src, dst, n);
#elif defined(__aarch64__)
  if (n >= 4 && af__cpu_use_neon ())
    i = af__f32_to_fp16_neon (src, dst, n);
#endif
  for (; i < n; i++)
    dst[i] = af_f32_to_fp16 (src[i]);
}
