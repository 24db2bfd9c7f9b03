/* epilogue.c — fused activations, CPU feature detection, and the row
 * finisher (bias + fp16 rounding + epilogue + store) every kernel ends with. */
#include "simd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#include <immintrin.h>
#endif

/* ------------------------------------------------------------ features */

static gint af__simd_detected = -1; /* -1: not yet; 0 / 1 */
static gint af__simd_forced = 0;    /* 1: portable forced by a test */

gboolean
af_cpu_has_avx2_fma_f16c (void)
{
  gint d = g_atomic_int_get (&af__simd_detected);
  if (d < 0) {
#ifdef AF_X86
    __builtin_cpu_init ();
    d = __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma") &&
        __builtin_cpu_supports ("f16c");
#else
    d = 0;
#endif
    g_atomic_int_set (&af__simd_detected, d);
  }
  return d;
}

gboolean
af__cpu_use_simd (void)
{
  static gint env = -1; /* AF_CPU_PORTABLE, read once */
  gint e = g_atomic_int_get (&env);
  if (e < 0) {
    const char *s = g_getenv ("AF_CPU_PORTABLE");
    e = s && *s && strcmp (s, "0") != 0;
    g_atomic_int_set (&env, e);
  }
  return !e && !g_atomic_int_get (&af__simd_forced) && af_cpu_has_avx2_fma_f16c ();
}

void
af__cpu_force_portable (gboolean portable)
{
  g_atomic_int_set (&af__simd_forced, portable ? 1 : 0);
}

/* ------------------------------------------------------------ epilogue */

static inline float
af__round16 (float x)
{
  return af_fp16_to_f32 (af_f32_to_fp16 (x));
}

float
af_epilogue_apply (const AfEpilogue *ep, float x)
{
  if (!ep)
    return x;
  for (int i = 0; i < ep->n; i++)
    x = af__round16 (af__unary_scalar (ep->op[i], x, ep->lo[i], ep->hi[i]));
  return x;
}

gboolean
af_epilogue_accepts (AfOp op)
{
  switch (op) {
  case AF_OP_RELU:
  case AF_OP_RELU6:
  case AF_OP_CLIP:
  case AF_OP_SIGMOID:
  case AF_OP_TANH:
  case AF_OP_SILU:
  case AF_OP_GELU:
  case AF_OP_EXP:
    return TRUE;
  default:
    return FALSE;
  }
}

gboolean
af__epilogue_is_simple (const AfEpilogue *ep)
{
  if (!ep)
    return TRUE;
  for (int i = 0; i < ep->n; i++)
    if (ep->op[i] != AF_OP_RELU && ep->op[i] != AF_OP_RELU6 && ep->op[i] != AF_OP_CLIP)
      return FALSE;
  return TRUE;
}

/* ------------------------------------------------------------ row finisher */

static void
af__finish_row_c (const float *acc, gint64 n, float bias, const float *bias_v,
                  const AfEpilogue *ep, guint16 *dst)
{
  gboolean has_ep = ep && ep->n > 0;
  for (gint64 j = 0; j < n; j++) {
    float v = af__round16 (acc[j] + (bias_v ? bias_v[j] : bias));
    if (has_ep)
      v = af_epilogue_apply (ep, v);
    dst[j] = af_f32_to_fp16 (v);
  }
}

#ifdef AF_X86
#define AF_F16_NEAREST 0 /* _MM_FROUND_TO_NEAREST_INT for vcvtps2ph */

/* Applies the simple (RELU/RELU6/CLIP) epilogue to 8 fp16 values. */
__attribute__ ((target ("avx2,fma,f16c"))) static inline __m128i
af__ep_simple8 (const AfEpilogue *ep, __m128i h)
{
  for (int i = 0; i < ep->n; i++) {
    __m256 v = _mm256_cvtph_ps (h), lo, hi;
    switch (ep->op[i]) {
    case AF_OP_RELU:
      v = _mm256_max_ps (v, _mm256_setzero_ps ());
      break;
    case AF_OP_RELU6:
      v = _mm256_min_ps (_mm256_max_ps (v, _mm256_setzero_ps ()), _mm256_set1_ps (6.0f));
      break;
    default: /* CLIP */
      lo = _mm256_set1_ps (ep->lo[i]);
      hi = _mm256_set1_ps (ep->hi[i]);
      v = _mm256_min_ps (_mm256_max_ps (v, lo), hi);
      break;
    }
    h = _mm256_cvtps_ph (v, AF_F16_NEAREST);
  }
  return h;
}

__attribute__ ((target ("avx2,fma,f16c"))) static void
af__finish_row_avx2 (const float *acc, gint64 n, float bias, const float *bias_v,
                     const AfEpilogue *ep, guint16 *dst)
{
  gboolean has_ep = ep && ep->n > 0, simple = af__epilogue_is_simple (ep);
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
    __m128i h = _mm256_cvtps_ph (_mm256_add_ps (v, vb), AF_F16_NEAREST);
    guint16 th[8];
    if (has_ep && simple)
      h = af__ep_simple8 (ep, h);
    if (cnt == 8 && (!has_ep || simple)) {
      _mm_storeu_si128 ((__m128i *) (dst + j), h);
      continue;
    }
    _mm_storeu_si128 ((__m128i *) th, h);
    if (has_ep && !simple)
      for (gint64 t = 0; t < cnt; t++)
        th[t] = af_f32_to_fp16 (af_epilogue_apply (ep, _cvtsh_ss (th[t])));
    memcpy (dst + j, th, cnt * sizeof (guint16));
  }
}
#endif

void
af__finish_row (gboolean simd, const float *acc, gint64 n, float bias, const float *bias_v,
                const AfEpilogue *ep, guint16 *dst)
{
#ifdef AF_X86
  if (simd) {
    af__finish_row_avx2 (acc, n, bias, bias_v, ep, dst);
    return;
  }
#endif
  af__finish_row_c (acc, n, bias, bias_v, ep, dst);
}
