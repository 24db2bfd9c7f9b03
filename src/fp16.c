/* fp16.c — IEEE half <-> single conversion, round to nearest even. */
#include "aneforge.h"

#include <string.h>

float
af_fp16_to_f32 (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13); /* inf / nan */
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

void
af_fp16_to_f32_n (const guint16 *src, float *dst, gsize n)
{
  for (gsize i = 0; i < n; i++)
    dst[i] = af_fp16_to_f32 (src[i]);
}

void
af_f32_to_fp16_n (const float *src, guint16 *dst, gsize n)
{
  for (gsize i = 0; i < n; i++)
    dst[i] = af_f32_to_fp16 (src[i]);
}
