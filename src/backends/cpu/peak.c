/* peak.c — the measured fp32 FMA peak (see peak.h): the same loop as
 * ../shared/bench/peak_fma.c (12 independent chains c = c * x + y per
 * thread), at the width of the vectors the fast kernels use. */
#include "peak.h"

#include "simd.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#define AF_PEAK_CHAINS 12
#define AF_PEAK_ROUNDS 3

typedef enum { AF_PEAK_SCALAR, AF_PEAK_YMM, AF_PEAK_ZMM, AF_PEAK_NEON } AfPeakUnit;

static AfPeakUnit
af__peak_unit (void)
{
  if (af__cpu_use_avx512 ())
    return AF_PEAK_ZMM;
  if (af__cpu_use_simd ())
    return AF_PEAK_YMM;
  return af__cpu_use_neon () ? AF_PEAK_NEON : AF_PEAK_SCALAR;
}

const char *
af__cpu_peak_unit (void)
{
  static const char *const names[] = { "scalar", "ymm", "zmm", "neon" };
  return names[af__peak_unit ()];
}

static int
af__peak_lanes (AfPeakUnit u)
{
  return u == AF_PEAK_ZMM ? 16 : u == AF_PEAK_YMM ? 8 : u == AF_PEAK_NEON ? 4 : 1;
}

/* The chains, @iters steps each; returns their sum so nothing is dead code.
 * Each chain starts from its own value: identical chains are one chain to
 * the compiler (it merged them: 3x the real peak). Fixed-count arrays with
 * unroll pragmas: -O2 then keeps them in registers (docs/design-notes.md). */
#if defined(__x86_64__) || defined(__i386__)
__attribute__ ((target ("avx512f"))) static float
af__peak_zmm (gint64 iters)
{
  const __m512 x = _mm512_set1_ps (0.999999f), y = _mm512_set1_ps (1e-7f);
  __m512 c[AF_PEAK_CHAINS];
#pragma GCC unroll 12
  for (int j = 0; j < AF_PEAK_CHAINS; j++)
    c[j] = _mm512_set1_ps (j * 1e-3f);
  for (gint64 i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int j = 0; j < AF_PEAK_CHAINS; j++)
      c[j] = _mm512_fmadd_ps (c[j], x, y);
  }
  float s = 0.0f;
#pragma GCC unroll 12
  for (int j = 0; j < AF_PEAK_CHAINS; j++)
    s += _mm512_reduce_add_ps (c[j]);
  return s;
}

__attribute__ ((target ("avx2,fma"))) static float
af__peak_ymm (gint64 iters)
{
  const __m256 x = _mm256_set1_ps (0.999999f), y = _mm256_set1_ps (1e-7f);
  __m256 c[AF_PEAK_CHAINS];
#pragma GCC unroll 12
  for (int j = 0; j < AF_PEAK_CHAINS; j++)
    c[j] = _mm256_set1_ps (j * 1e-3f);
  for (gint64 i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int j = 0; j < AF_PEAK_CHAINS; j++)
      c[j] = _mm256_fmadd_ps (c[j], x, y);
  }
  __m256 s = _mm256_setzero_ps ();
#pragma GCC unroll 12
  for (int j = 0; j < AF_PEAK_CHAINS; j++)
    s = _mm256_add_ps (s, c[j]);
  float o[8];
  _mm256_storeu_ps (o, s);
  return ((o[0] + o[1]) + (o[2] + o[3])) + ((o[4] + o[5]) + (o[6] + o[7]));
}
#endif

#if defined(__aarch64__)
static float
af__peak_neon (gint64 iters)
{
  const float32x4_t x = vdupq_n_f32 (0.999999f), y = vdupq_n_f32 (1e-7f);
  float32x4_t c[AF_PEAK_CHAINS];
#pragma GCC unroll 12
  for (int j = 0; j < AF_PEAK_CHAINS; j++)
    c[j] = vdupq_n_f32 (j * 1e-3f);
  for (gint64 i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int j = 0; j < AF_PEAK_CHAINS; j++)
      c[j] = vfmaq_f32 (y, c[j], x);
  }
  float s = 0.0f;
#pragma GCC unroll 12
  for (int j = 0; j < AF_PEAK_CHAINS; j++)
    s += vaddvq_f32 (c[j]);
  return s;
}
#endif

static float
af__peak_scalar (gint64 iters)
{
  float c[AF_PEAK_CHAINS];
  for (int j = 0; j < AF_PEAK_CHAINS; j++)
    c[j] = j * 1e-3f;
  for (gint64 i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int j = 0; j < AF_PEAK_CHAINS; j++)
      c[j] = c[j] * 0.999999f + 1e-7f;
  }
  float s = 0.0f;
  for (int j = 0; j < AF_PEAK_CHAINS; j++)
    s += c[j];
  return s;
}

typedef struct {
  AfPeakUnit unit;
  gint64 iters;
  gint sink; /* the chains' sums, so no loop is dead code */
} AfPeakRun;

static void
af__peak_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  AfPeakRun *r = ctx;
  (void) thread;
  for (gint64 t = begin; t < end; t++) {
    float s;
    switch (r->unit) {
#if defined(__x86_64__) || defined(__i386__)
    case AF_PEAK_ZMM:
      s = af__peak_zmm (r->iters);
      break;
    case AF_PEAK_YMM:
      s = af__peak_ymm (r->iters);
      break;
#endif
#if defined(__aarch64__)
    case AF_PEAK_NEON:
      s = af__peak_neon (r->iters);
      break;
#endif
    default:
      s = af__peak_scalar (r->iters);
      break;
    }
    g_atomic_int_add (&r->sink, (gint) s);
  }
}

double
af__cpu_peak_gflops (AfPool *pool, double mflop)
{
  AfPeakUnit u = af__peak_unit ();
  gint64 nt = pool ? af_pool_n_threads (pool) : 1;
  double flop_step = 2.0 * AF_PEAK_CHAINS * af__peak_lanes (u); /* per thread a step */
  if (u == AF_PEAK_SCALAR)
    mflop /= 8; /* the portable loop is ~8x slower: keep its rounds short too */
  gint64 iters = MAX ((gint64) (mflop * 1e6 / flop_step), 1);
  AfPeakRun r = { .unit = u, .iters = iters };
  double best = 0.0;
  for (int round = 0; round < AF_PEAK_ROUNDS; round++) {
    gint64 t0 = g_get_monotonic_time ();
    af_pool_parallel_for_each (pool, nt, af__peak_task, &r);
    gint64 us = MAX (g_get_monotonic_time () - t0, 1);
    best = MAX (best, (double) nt * iters * flop_step / (us * 1e3));
  }
  return best;
}
