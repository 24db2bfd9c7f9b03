/* cpu-features.c — what the host CPU can run, detected once; the switches
 * (AF_CPU_PORTABLE, AF_CPU_NO_AVX512, the tests' forcing calls) that choose
 * between vector and portable code. */
#include "cpu-features.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#include <cpuid.h>
#endif

static gint af__simd_detected = -1; /* -1: not yet; 0 / 1 */
static gint af__simd_forced = 0;    /* 1: portable forced by a test */

gboolean
af__cpu_has_avx2_fma_f16c (void)
{
  gint d = g_atomic_int_get (&af__simd_detected);
  if (d < 0) {
#ifdef AF_X86
    /* cpuid directly: clang's __builtin_cpu_supports knows no "f16c" */
    unsigned a, b, c, dx;
    gboolean avx = FALSE, fma = FALSE, f16c = FALSE, avx2 = FALSE;
    if (__get_cpuid (1, &a, &b, &c, &dx)) {
      fma = (c >> 12) & 1;
      f16c = (c >> 29) & 1;
      /* AVX usable: the CPU has it and the OS saves YMM state (XCR0 bits 1, 2) */
      if (((c >> 27) & 1) && ((c >> 28) & 1)) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        avx = (lo & 6) == 6;
      }
    }
    if (__get_cpuid_count (7, 0, &a, &b, &c, &dx))
      avx2 = (b >> 5) & 1;
    d = avx && avx2 && fma && f16c;
#else
    d = 0;
#endif
    g_atomic_int_set (&af__simd_detected, d);
  }
  return d;
}

gboolean
af__env_flag (const char *name, gint *cache)
{
  gint e = g_atomic_int_get (cache);
  if (e < 0) {
    const char *s = g_getenv (name);
    e = s && *s && strcmp (s, "0") != 0;
    g_atomic_int_set (cache, e);
  }
  return e;
}

/* TRUE if AF_CPU_PORTABLE asks for the portable C paths (read once). */
static gboolean
af__cpu_portable_env (void)
{
  static gint env = -1;
  return af__env_flag ("AF_CPU_PORTABLE", &env);
}

gboolean
af__cpu_use_simd (void)
{
  return !af__cpu_portable_env () && !g_atomic_int_get (&af__simd_forced) &&
         af__cpu_has_avx2_fma_f16c ();
}

gboolean
af__cpu_use_neon (void)
{
#if defined(__aarch64__)
  /* no detection: every AArch64 CPU has NEON, only the opt-outs count */
  return !af__cpu_portable_env () && !g_atomic_int_get (&af__simd_forced);
#else
  return FALSE;
#endif
}

void
af__cpu_force_portable (gboolean portable)
{
  g_atomic_int_set (&af__simd_forced, portable ? 1 : 0);
}

static gint af__avx512_detected = -1, af__avx512_forced_off = 0;

gboolean
af__cpu_use_avx512 (void)
{
  gint d = g_atomic_int_get (&af__avx512_detected);
  if (d < 0) {
    d = 0;
#ifdef AF_X86
    unsigned a, b, c, dx;
    /* AVX-512F, and the OS saves opmask and ZMM state (XCR0 bits 5, 6, 7) */
    if (af__cpu_has_avx2_fma_f16c () && __get_cpuid_count (7, 0, &a, &b, &c, &dx) &&
        ((b >> 16) & 1)) {
      unsigned lo, hi;
      __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
      d = (lo & 0xe6) == 0xe6;
    }
#endif
    static gint no_avx512 = -1;
    if (af__env_flag ("AF_CPU_NO_AVX512", &no_avx512))
      d = 0;
    g_atomic_int_set (&af__avx512_detected, d);
  }
  return d && !g_atomic_int_get (&af__avx512_forced_off) && af__cpu_use_simd ();
}

void
af__cpu_force_no_avx512 (gboolean off)
{
  g_atomic_int_set (&af__avx512_forced_off, off ? 1 : 0);
}

gboolean
af__cpu_use_avx512bw (void)
{
  static gint bw = -1;
  gint v = g_atomic_int_get (&bw);
  if (v < 0) {
    v = 0;
#ifdef AF_X86
    unsigned a, b, c, dx; /* CPUID.7.0:EBX bit 30 AVX512BW, bit 31 AVX512VL */
    if (__get_cpuid_count (7, 0, &a, &b, &c, &dx))
      v = ((b >> 30) & 1) && ((b >> 31) & 1);
#endif
    g_atomic_int_set (&bw, v);
  }
  return v && af__cpu_use_avx512 ();
}
