/* gemm.c — the register-blocked GEMM microkernel shared by conv and linear:
 * an MR x NR (6 x 16) tile of fp32 accumulators, 12 ymm registers on AVX2,
 * then the row finisher (bias, fp16 rounding, epilogue, fp16 store). */
#include "simd.h"

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include "gemm_neon.h"
#endif

#define MR AF_GEMM_MR
#define NR AF_GEMM_NR

/* Portable body: acc[i][j] = sum_p a[p][i] * b[p][j], p ascending. */
static void
af__uk_c (int mr, gint64 k, const float *a, const float *b, gint64 ldb, float *acc)
{
  float c[MR][NR] = { { 0 } };
  for (gint64 p = 0; p < k; p++, a += MR, b += ldb)
    for (int i = 0; i < mr; i++) {
      float ai = a[i];
      for (int j = 0; j < NR; j++)
        c[i][j] += ai * b[j];
    }
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < NR; j++)
      acc[i * NR + j] = c[i][j];
}

#ifdef AF_X86
/* AVX2 body for a compile-time @mr (its callers): 2 * mr ymm accumulators
 * spelled out so they stay in registers. */
#define AF_UK_DECL(i) __m256 c##i##0 = _mm256_setzero_ps (), c##i##1 = _mm256_setzero_ps ()
#define AF_UK_FMA(i)                                                                               \
  if (mr > i) {                                                                                    \
    __m256 ai = _mm256_broadcast_ss (a + i);                                                       \
    c##i##0 = _mm256_fmadd_ps (ai, b0, c##i##0);                                                   \
    c##i##1 = _mm256_fmadd_ps (ai, b1, c##i##1);                                                   \
  }
#define AF_UK_STORE(i)                                                                             \
  if (mr > i) {                                                                                    \
    _mm256_storeu_ps (acc + i * NR, c##i##0);                                                      \
    _mm256_storeu_ps (acc + i * NR + 8, c##i##1);                                                  \
  }

__attribute__ ((target ("avx2,fma"), always_inline)) static inline void
af__uk_avx2 (int mr, gint64 k, const float *a, const float *b, gint64 ldb, float *acc)
{
  AF_UK_DECL (0);
  AF_UK_DECL (1);
  AF_UK_DECL (2);
  AF_UK_DECL (3);
  AF_UK_DECL (4);
  AF_UK_DECL (5);
  for (gint64 p = 0; p < k; p++, a += MR, b += ldb) {
    __m256 b0 = _mm256_loadu_ps (b), b1 = _mm256_loadu_ps (b + 8);
    AF_UK_FMA (0)
    AF_UK_FMA (1)
    AF_UK_FMA (2)
    AF_UK_FMA (3)
    AF_UK_FMA (4)
    AF_UK_FMA (5)
  }
  AF_UK_STORE (0)
  AF_UK_STORE (1)
  AF_UK_STORE (2)
  AF_UK_STORE (3)
  AF_UK_STORE (4)
  AF_UK_STORE (5)
}

#define AF_UK(R)                                                                                   \
  __attribute__ ((target ("avx2,fma"))) static void af__uk_avx2_##R (                              \
      gint64 k, const float *a, const float *b, gint64 ldb, float *acc)                            \
  {                                                                                                \
    af__uk_avx2 (R, k, a, b, ldb, acc);                                                            \
  }
AF_UK (1)
AF_UK (2)
AF_UK (3)
AF_UK (4)
AF_UK (5)
AF_UK (6)
#undef AF_UK

/* Accumulating bodies: c[i * ldc + j] (+)= sum_p a[p][i] * b[p][j] for
 * i < R, j < 8 * V; @load: start from c instead of zeros. */
#define AF_UKA_DECL(i)                                                                             \
  __m256 c##i##0 = _mm256_setzero_ps (), c##i##1 = _mm256_setzero_ps ();                           \
  if (load && R > i) {                                                                             \
    c##i##0 = _mm256_loadu_ps (c + i * ldc);                                                       \
    if (V > 1)                                                                                     \
      c##i##1 = _mm256_loadu_ps (c + i * ldc + 8);                                                 \
  }
#define AF_UKA_FMA(i)                                                                              \
  if (R > i) {                                                                                     \
    __m256 ai = _mm256_broadcast_ss (a + i);                                                       \
    c##i##0 = _mm256_fmadd_ps (ai, b0, c##i##0);                                                   \
    if (V > 1)                                                                                     \
      c##i##1 = _mm256_fmadd_ps (ai, b1, c##i##1);                                                 \
  }
#define AF_UKA_STORE(i)                                                                            \
  if (R > i) {                                                                                     \
    _mm256_storeu_ps (c + i * ldc, c##i##0);                                                       \
    if (V > 1)                                                                                     \
      _mm256_storeu_ps (c + i * ldc + 8, c##i##1);                                                 \
  }

__attribute__ ((target ("avx2,fma"), always_inline)) static inline void
af__uka_avx2 (int R, int V, gint64 k, const float *a, const float *b, gint64 ldb, gboolean load,
              float *c, gint64 ldc)
{
  AF_UKA_DECL (0)
  AF_UKA_DECL (1)
  AF_UKA_DECL (2)
  AF_UKA_DECL (3)
  AF_UKA_DECL (4)
  AF_UKA_DECL (5)
  for (gint64 p = 0; p < k; p++, a += MR, b += ldb) {
    __m256 b0 = _mm256_loadu_ps (b), b1 = b0;
    if (V > 1)
      b1 = _mm256_loadu_ps (b + 8);
    AF_UKA_FMA (0)
    AF_UKA_FMA (1)
    AF_UKA_FMA (2)
    AF_UKA_FMA (3)
    AF_UKA_FMA (4)
    AF_UKA_FMA (5)
  }
  AF_UKA_STORE (0)
  AF_UKA_STORE (1)
  AF_UKA_STORE (2)
  AF_UKA_STORE (3)
  AF_UKA_STORE (4)
  AF_UKA_STORE (5)
}

#define AF_UKA(R, V)                                                                               \
  __attribute__ ((target ("avx2,fma"))) static void af__uka_avx2_##R##_##V (                       \
      gint64 k, const float *a, const float *b, gint64 ldb, gboolean load, float *c, gint64 ldc)   \
  {                                                                                                \
    af__uka_avx2 (R, V, k, a, b, ldb, load, c, ldc);                                               \
  }
AF_UKA (1, 1)
AF_UKA (2, 1)
AF_UKA (3, 1)
AF_UKA (4, 1)
AF_UKA (5, 1)
AF_UKA (6, 1)
AF_UKA (1, 2)
AF_UKA (2, 2)
AF_UKA (3, 2)
AF_UKA (4, 2)
AF_UKA (5, 2)
AF_UKA (6, 2)
#undef AF_UKA

typedef void (*AfUkaFn) (gint64 k, const float *a, const float *b, gint64 ldb, gboolean load,
                         float *c, gint64 ldc);
static const AfUkaFn af__uka_avx2_fns[2][MR + 1] = {
  { NULL, af__uka_avx2_1_1, af__uka_avx2_2_1, af__uka_avx2_3_1, af__uka_avx2_4_1, af__uka_avx2_5_1,
    af__uka_avx2_6_1 },
  { NULL, af__uka_avx2_1_2, af__uka_avx2_2_2, af__uka_avx2_3_2, af__uka_avx2_4_2, af__uka_avx2_5_2,
    af__uka_avx2_6_2 },
};

typedef void (*AfUkFn) (gint64 k, const float *a, const float *b, gint64 ldb, float *acc);
static const AfUkFn af__uk_avx2_fns[MR + 1] = {
  NULL, af__uk_avx2_1, af__uk_avx2_2, af__uk_avx2_3, af__uk_avx2_4, af__uk_avx2_5, af__uk_avx2_6,
};
#endif

void
af__gemm_tile (gboolean simd, gint64 k, const float *a, const float *b, gint64 ldb, int mr, int nr,
               const float *bias_row, const float *bias_col, const AfCpuEpilogue *ep,
               const guint16 *res, guint16 *c, gint64 ldc)
{
  float acc[MR * NR] __attribute__ ((aligned (32)));
  g_assert (mr >= 1 && mr <= MR && nr >= 1 && nr <= NR);
#ifdef AF_X86
  if (simd)
    af__uk_avx2_fns[mr](k, a, b, ldb, acc);
  else
#endif
    af__uk_c (mr, k, a, b, ldb, acc);
  for (int i = 0; i < mr; i++)
    af__finish_row (simd, acc + i * NR, nr, bias_row ? bias_row[i] : 0.0f, bias_col, ep,
                    res ? res + i * ldc : NULL, c + i * ldc);
}

void
af__gemm_acc (gboolean simd, gint64 k, const float *a, const float *b, gint64 ldb, int mr, int nr,
              gboolean load, float *c, gint64 ldc)
{
  g_assert (mr >= 1 && mr <= MR && nr >= 1 && nr <= NR);
#ifdef AF_X86
  if (simd) {
    af__uka_avx2_fns[nr > 8][mr](k, a, b, ldb, load, c, ldc);
    return;
  }
#endif
#if defined(__aarch64__)
  /* not keyed on @simd: callers pass af__cpu_use_simd () (AVX2), FALSE here */
  if (af__cpu_use_neon ()) {
    af_neon_gemm_acc (k, a, b, ldb, mr, nr, load, c, ldc);
    return;
  }
#endif
  float t[MR][NR];
  int nc = nr > 8 ? NR : 8;
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nc; j++)
      t[i][j] = load ? c[i * ldc + j] : 0.0f;
  for (gint64 p = 0; p < k; p++, a += MR, b += ldb)
    for (int i = 0; i < mr; i++) {
      float ai = a[i];
      for (int j = 0; j < nc; j++)
        t[i][j] += ai * b[j];
    }
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nc; j++)
      c[i * ldc + j] = t[i][j];
}

/* ------------------------------------------------------------ AVX-512F
 * 12 rows (two MR panels) x 16 columns in 12 zmm accumulators: per k one
 * load of B and 12 FMAs with broadcast A operands, half the instructions of
 * two 6 x 16 AVX2 calls. On CPUs that run zmm as two ymm halves (Zen 4) the
 * FMA work is the same but the front end and load ports have room. */
#ifdef AF_X86
#define AF_UKZ_DECL(i)                                                                             \
  __m512 c##i = _mm512_setzero_ps ();                                                              \
  if (load && R > i)                                                                               \
    c##i = _mm512_loadu_ps (c + i * ldc);
#define AF_UKZ_FMA0(i)                                                                             \
  if (R > i)                                                                                       \
    c##i = _mm512_fmadd_ps (_mm512_set1_ps (a0[i]), bv, c##i);
#define AF_UKZ_FMA1(i)                                                                             \
  if (R > i)                                                                                       \
    c##i = _mm512_fmadd_ps (_mm512_set1_ps (a1[i - MR]), bv, c##i);
#define AF_UKZ_STORE(i)                                                                            \
  if (R > i)                                                                                       \
    _mm512_storeu_ps (c + i * ldc, c##i);

__attribute__ ((target ("avx512f"), always_inline)) static inline void
af__ukz (int R, gint64 k, const float *a0, gint64 lda_panel, const float *b, gint64 ldb,
         const float *pf, gboolean load, float *c, gint64 ldc)
{
  const float *a1 = a0 + lda_panel;
  AF_UKZ_DECL (0)
  AF_UKZ_DECL (1)
  AF_UKZ_DECL (2)
  AF_UKZ_DECL (3)
  AF_UKZ_DECL (4)
  AF_UKZ_DECL (5)
  AF_UKZ_DECL (6)
  AF_UKZ_DECL (7)
  AF_UKZ_DECL (8)
  AF_UKZ_DECL (9)
  AF_UKZ_DECL (10)
  AF_UKZ_DECL (11)
  for (gint64 p = 0; p < k; p++, a0 += MR, a1 += MR, b += ldb, pf += 16) {
    _mm_prefetch ((const char *) pf, _MM_HINT_T1);
    __m512 bv = _mm512_loadu_ps (b);
    AF_UKZ_FMA0 (0)
    AF_UKZ_FMA0 (1)
    AF_UKZ_FMA0 (2)
    AF_UKZ_FMA0 (3)
    AF_UKZ_FMA0 (4)
    AF_UKZ_FMA0 (5)
    AF_UKZ_FMA1 (6)
    AF_UKZ_FMA1 (7)
    AF_UKZ_FMA1 (8)
    AF_UKZ_FMA1 (9)
    AF_UKZ_FMA1 (10)
    AF_UKZ_FMA1 (11)
  }
  AF_UKZ_STORE (0)
  AF_UKZ_STORE (1)
  AF_UKZ_STORE (2)
  AF_UKZ_STORE (3)
  AF_UKZ_STORE (4)
  AF_UKZ_STORE (5)
  AF_UKZ_STORE (6)
  AF_UKZ_STORE (7)
  AF_UKZ_STORE (8)
  AF_UKZ_STORE (9)
  AF_UKZ_STORE (10)
  AF_UKZ_STORE (11)
}

#define AF_UKZ(R)                                                                                  \
  __attribute__ ((target ("avx512f"))) static void af__ukz_##R (                                   \
      gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb, const float *pf,     \
      gboolean load, float *c, gint64 ldc)                                                         \
  {                                                                                                \
    af__ukz (R, k, a, lda_panel, b, ldb, pf, load, c, ldc);                                        \
  }
AF_UKZ (7)
AF_UKZ (8)
AF_UKZ (9)
AF_UKZ (10)
AF_UKZ (11)
AF_UKZ (12)
#undef AF_UKZ

typedef void (*AfUkzFn) (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                         const float *pf, gboolean load, float *c, gint64 ldc);
static const AfUkzFn af__ukz_fns[2 * MR + 1] = {
  [7] = af__ukz_7,   [8] = af__ukz_8,   [9] = af__ukz_9,
  [10] = af__ukz_10, [11] = af__ukz_11, [12] = af__ukz_12,
};
#endif

void
af__gemm_acc12_avx512 (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                       const float *pf, int mr, gboolean load, float *c, gint64 ldc)
{
  g_assert (mr > MR && mr <= 2 * MR);
#ifdef AF_X86
  af__ukz_fns[mr](k, a, lda_panel, b, ldb, pf, load, c, ldc);
#else
  g_assert_not_reached ();
#endif
}

/* ------------------------------------------------------------ 8-column strips
 * A last strip of 5..12 pixels (13x13 = 10 x 16 + 9) wasted most of the
 * 16-wide AVX-512 kernel: two panels x 8 columns in 12 ymm accumulators
 * (at two ymm FMAs per cycle the same rate), the rest (up to 4) left to the
 * narrow kernel. Same products, same order. */
#ifdef AF_X86
__attribute__ ((target ("avx2,fma"), always_inline)) static inline void
af__uk8 (const int R, gint64 k, const float *a0, gint64 lda_panel, const float *b, gint64 ldb,
         gboolean load, float *c, gint64 ldc)
{
  const float *a1 = a0 + lda_panel;
  __m256 acc[2 * MR];
#pragma GCC unroll 12
  for (int i = 0; i < R; i++)
    acc[i] = load ? _mm256_loadu_ps (c + i * ldc) : _mm256_setzero_ps ();
  for (gint64 p = 0; p < k; p++, a0 += MR, a1 += MR, b += ldb) {
    __m256 bv = _mm256_loadu_ps (b);
#pragma GCC unroll 12
    for (int i = 0; i < R; i++)
      acc[i] = _mm256_fmadd_ps (_mm256_broadcast_ss (i < MR ? a0 + i : a1 + i - MR), bv, acc[i]);
  }
#pragma GCC unroll 12
  for (int i = 0; i < R; i++)
    _mm256_storeu_ps (c + i * ldc, acc[i]);
}

#define AF_UK8(R)                                                                                  \
  __attribute__ ((target ("avx2,fma"))) static void af__uk8_##R (                                  \
      gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb, gboolean load,       \
      float *c, gint64 ldc)                                                                        \
  {                                                                                                \
    af__uk8 (R, k, a, lda_panel, b, ldb, load, c, ldc);                                            \
  }
AF_UK8 (7)
AF_UK8 (8)
AF_UK8 (9)
AF_UK8 (10)
AF_UK8 (11)
AF_UK8 (12)
#undef AF_UK8

typedef void (*AfUk8Fn) (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                         gboolean load, float *c, gint64 ldc);
static const AfUk8Fn af__uk8_fns[2 * MR + 1] = {
  [7] = af__uk8_7,   [8] = af__uk8_8,   [9] = af__uk8_9,
  [10] = af__uk8_10, [11] = af__uk8_11, [12] = af__uk8_12,
};
#endif

void
af__gemm_acc12x8 (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb, int mr,
                  gboolean load, float *c, gint64 ldc)
{
  g_assert (mr > MR && mr <= 2 * MR);
#ifdef AF_X86
  af__uk8_fns[mr](k, a, lda_panel, b, ldb, load, c, ldc);
#else
  g_assert_not_reached ();
#endif
}

/* ------------------------------------------------------------ narrow strips
 * A strip of at most 4 pixels (the tail of 49 = 3 * 16 + 1 and the like)
 * would waste most of a 16-wide microkernel. Here the output channels are
 * the vector lanes instead: per k, panel q gives 8 lanes (its 6 rows and 2
 * ignored ones read past it) and every pixel j one broadcast, so NP panels
 * x NX pixels are NP * NX independent accumulators. Same products, same
 * order over k, so the same sums as af__gemm_acc. */
#ifdef AF_X86
__attribute__ ((target ("avx2,fma"), always_inline)) static inline void
af__ukn_avx2 (int NP, int NX, gint64 k, const float *a, gint64 lda_panel, const float *b,
              gint64 ldb, int rows, gboolean load, float *c, gint64 ldc)
{
  __m256 acc[12];
  float t[8] __attribute__ ((aligned (32)));
#pragma GCC unroll 12
  for (int q = 0; q < NP; q++)
#pragma GCC unroll 4
    for (int j = 0; j < NX; j++) {
      acc[q * NX + j] = _mm256_setzero_ps ();
      if (load) {
        for (int i = 0; i < 8; i++)
          t[i] = q * MR + i < rows && i < MR ? c[(q * MR + i) * ldc + j] : 0.0f;
        acc[q * NX + j] = _mm256_load_ps (t);
      }
    }
  for (gint64 p = 0; p < k; p++, a += MR, b += ldb) {
    __m256 bx[4];
#pragma GCC unroll 4
    for (int j = 0; j < NX; j++)
      bx[j] = _mm256_broadcast_ss (b + j);
#pragma GCC unroll 12
    for (int q = 0; q < NP; q++) {
      __m256 wv = _mm256_loadu_ps (a + q * lda_panel);
#pragma GCC unroll 4
      for (int j = 0; j < NX; j++)
        acc[q * NX + j] = _mm256_fmadd_ps (wv, bx[j], acc[q * NX + j]);
    }
  }
#pragma GCC unroll 12
  for (int q = 0; q < NP; q++)
#pragma GCC unroll 4
    for (int j = 0; j < NX; j++) {
      _mm256_store_ps (t, acc[q * NX + j]);
      for (int i = 0; i < MR && q * MR + i < rows; i++)
        c[(q * MR + i) * ldc + j] = t[i];
    }
}

#define AF_UKN(NP, NX)                                                                             \
  __attribute__ ((target ("avx2,fma"))) static void af__ukn_avx2_##NP##_##NX (                     \
      gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb, int rows,            \
      gboolean load, float *c, gint64 ldc)                                                         \
  {                                                                                                \
    af__ukn_avx2 (NP, NX, k, a, lda_panel, b, ldb, rows, load, c, ldc);                            \
  }
AF_UKN (12, 1)
AF_UKN (11, 1)
AF_UKN (10, 1)
AF_UKN (9, 1)
AF_UKN (8, 1)
AF_UKN (7, 1)
AF_UKN (6, 1)
AF_UKN (5, 1)
AF_UKN (4, 1)
AF_UKN (3, 1)
AF_UKN (2, 1)
AF_UKN (1, 1)
AF_UKN (6, 2)
AF_UKN (5, 2)
AF_UKN (4, 2)
AF_UKN (3, 2)
AF_UKN (2, 2)
AF_UKN (1, 2)
AF_UKN (4, 3)
AF_UKN (3, 3)
AF_UKN (2, 3)
AF_UKN (1, 3)
AF_UKN (3, 4)
AF_UKN (2, 4)
AF_UKN (1, 4)
#undef AF_UKN

typedef void (*AfUknFn) (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                         int rows, gboolean load, float *c, gint64 ldc);
static const AfUknFn af__ukn_fns[AF_GEMM_NARROW + 1][13] = {
  [1] = { NULL, af__ukn_avx2_1_1, af__ukn_avx2_2_1, af__ukn_avx2_3_1, af__ukn_avx2_4_1,
          af__ukn_avx2_5_1, af__ukn_avx2_6_1, af__ukn_avx2_7_1, af__ukn_avx2_8_1, af__ukn_avx2_9_1,
          af__ukn_avx2_10_1, af__ukn_avx2_11_1, af__ukn_avx2_12_1 },
  [2] = { NULL, af__ukn_avx2_1_2, af__ukn_avx2_2_2, af__ukn_avx2_3_2, af__ukn_avx2_4_2,
          af__ukn_avx2_5_2, af__ukn_avx2_6_2 },
  [3] = { NULL, af__ukn_avx2_1_3, af__ukn_avx2_2_3, af__ukn_avx2_3_3, af__ukn_avx2_4_3 },
  [4] = { NULL, af__ukn_avx2_1_4, af__ukn_avx2_2_4, af__ukn_avx2_3_4 },
};
static const int af__ukn_np[AF_GEMM_NARROW + 1] = { 0, 12, 6, 4, 3 };
#endif

void
af__gemm_acc_narrow (gboolean simd, gint64 k, const float *a, gint64 lda_panel, const float *b,
                     gint64 ldb, int rows, int nr, gboolean load, float *c, gint64 ldc)
{
  g_assert (nr >= 1 && nr <= AF_GEMM_NARROW && rows >= 1);
#ifdef AF_X86
  if (simd) {
    int np_max = af__ukn_np[nr];
    for (int r0 = 0; r0 < rows; r0 += np_max * MR, a += np_max * lda_panel) {
      int rr = MIN (rows - r0, np_max * MR);
      af__ukn_fns[nr][(rr + MR - 1) / MR](k, a, lda_panel, b, ldb, rr, load, c + r0 * ldc, ldc);
    }
    return;
  }
#endif
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < nr; j++) {
      const float *ar = a + (r / MR) * lda_panel + r % MR;
      float s = load ? c[r * ldc + j] : 0.0f;
      for (gint64 p = 0; p < k; p++)
        s += ar[p * MR] * b[p * ldb + j];
      c[r * ldc + j] = s;
    }
}

/* ------------------------------------------------------------ fused finish
 * The two-panel AVX-512F kernel for a whole K (no accumulator round trip):
 * its 12 x 16 sums are finished straight from the registers exactly as
 * af__finish_row does it for a simple epilogue. */
#ifdef AF_X86

__attribute__ ((target ("avx512f"), always_inline)) static inline void
af__finz (__m512 acc, float bias, const AfSimpleEp *se, const guint16 *res, guint16 *out)
{
  __m512 v = _mm512_add_ps (acc, _mm512_set1_ps (bias));
  if (se->clamp[0])
    v = _mm512_min_ps (_mm512_max_ps (v, _mm512_set1_ps (se->lo[0])), _mm512_set1_ps (se->hi[0]));
  if (se->add) {
    __m512 r = _mm512_cvtph_ps (_mm256_loadu_si256 ((const __m256i *) res));
    v = _mm512_add_ps (_mm512_cvtph_ps (_mm512_cvtps_ph (v, AF_F16_NEAREST)), r);
    if (se->clamp[1])
      v = _mm512_min_ps (_mm512_max_ps (v, _mm512_set1_ps (se->lo[1])), _mm512_set1_ps (se->hi[1]));
  }
  _mm256_storeu_si256 ((__m256i *) out, _mm512_cvtps_ph (v, AF_F16_NEAREST));
}

#define AF_UKZ_FIN(i)                                                                              \
  if (R > i)                                                                                       \
    af__finz (c##i, bias[i], se, se->add ? res + i *ldo : NULL, out + i * ldo);

/* With T (1..4), T more columns ride along: the tile's tail pixels (7x7 =
 * 3 x 16 + 1, 14x14 = 12 x 16 + 4), their B at @bt (row p at bt + p *
 * ldb), each in two ymm of 8 (a panel's 6 rows and 2 lanes read past them,
 * like af__gemm_acc_narrow, whose products and order these are): T FMA
 * slots per k instead of a narrow pass that reads every weight again. The
 * sums go to @ct (row i, column j at ct + i * @ldct + j), unfinished. */
__attribute__ ((target ("avx512f,fma"), always_inline)) static inline void
af__ukzf (int R, int T, gint64 k, const float *a0, gint64 lda_panel, const float *b, gint64 ldb,
          const float *pf, const float *bias, const AfSimpleEp *se, const guint16 *res,
          guint16 *out, gint64 ldo, const float *bt, float *ct, gint64 ldct)
{
  const gboolean load = FALSE;
  const float *c = NULL, *a1 = a0 + lda_panel;
  const gint64 ldc = 0;
  AF_UKZ_DECL (0)
  AF_UKZ_DECL (1)
  AF_UKZ_DECL (2)
  AF_UKZ_DECL (3)
  AF_UKZ_DECL (4)
  AF_UKZ_DECL (5)
  AF_UKZ_DECL (6)
  AF_UKZ_DECL (7)
  AF_UKZ_DECL (8)
  AF_UKZ_DECL (9)
  AF_UKZ_DECL (10)
  AF_UKZ_DECL (11)
  __m256 t0[AF_GEMM_NARROW], t1[AF_GEMM_NARROW];
#pragma GCC unroll 4
  for (int j = 0; j < T; j++)
    t0[j] = t1[j] = _mm256_setzero_ps ();
  for (gint64 p = 0; p < k; p++, a0 += MR, a1 += MR, b += ldb, pf += 16) {
    _mm_prefetch ((const char *) pf, _MM_HINT_T1);
    __m512 bv = _mm512_loadu_ps (b);
    AF_UKZ_FMA0 (0)
    AF_UKZ_FMA0 (1)
    AF_UKZ_FMA0 (2)
    AF_UKZ_FMA0 (3)
    AF_UKZ_FMA0 (4)
    AF_UKZ_FMA0 (5)
    AF_UKZ_FMA1 (6)
    AF_UKZ_FMA1 (7)
    AF_UKZ_FMA1 (8)
    AF_UKZ_FMA1 (9)
    AF_UKZ_FMA1 (10)
    AF_UKZ_FMA1 (11)
    if (T) {
      const __m256 w0 = _mm256_loadu_ps (a0), w1 = R > MR ? _mm256_loadu_ps (a1) : w0;
#pragma GCC unroll 4
      for (int j = 0; j < T; j++) {
        __m256 x = _mm256_broadcast_ss (bt + p * ldb + j);
        t0[j] = _mm256_fmadd_ps (w0, x, t0[j]);
        if (R > MR)
          t1[j] = _mm256_fmadd_ps (w1, x, t1[j]);
      }
    }
  }
  AF_UKZ_FIN (0)
  AF_UKZ_FIN (1)
  AF_UKZ_FIN (2)
  AF_UKZ_FIN (3)
  AF_UKZ_FIN (4)
  AF_UKZ_FIN (5)
  AF_UKZ_FIN (6)
  AF_UKZ_FIN (7)
  AF_UKZ_FIN (8)
  AF_UKZ_FIN (9)
  AF_UKZ_FIN (10)
  AF_UKZ_FIN (11)
  for (int j = 0; j < T; j++) {
    float t[16] __attribute__ ((aligned (32)));
    _mm256_store_ps (t, t0[j]);
    _mm256_store_ps (t + 8, t1[j]);
    for (int i = 0; i < R; i++)
      ct[i * ldct + j] = t[i < MR ? i : i + 2];
  }
}

#define AF_UKZF(R)                                                                                 \
  __attribute__ ((target ("avx512f,fma"))) static void af__ukzf_##R (                              \
      gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb, const float *pf,     \
      const float *bias, const AfSimpleEp *se, const guint16 *res, guint16 *out, gint64 ldo)       \
  {                                                                                                \
    af__ukzf (R, 0, k, a, lda_panel, b, ldb, pf, bias, se, res, out, ldo, NULL, NULL, 0);          \
  }
#define AF_UKZFT(R, T)                                                                             \
  __attribute__ ((target ("avx512f,fma"))) static void af__ukzft_##R##_##T (                       \
      gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb, const float *pf,     \
      const float *bias, const AfSimpleEp *se, const guint16 *res, guint16 *out, gint64 ldo,       \
      const float *bt, float *ct, gint64 ldct)                                                     \
  {                                                                                                \
    af__ukzf (R, T, k, a, lda_panel, b, ldb, pf, bias, se, res, out, ldo, bt, ct, ldct);           \
  }
#define AF_UKZFS(R) AF_UKZF (R) AF_UKZFT (R, 1) AF_UKZFT (R, 2) AF_UKZFT (R, 3) AF_UKZFT (R, 4)
AF_UKZFS (1)
AF_UKZFS (2)
AF_UKZFS (3)
AF_UKZFS (4)
AF_UKZFS (5)
AF_UKZFS (6)
AF_UKZFS (7)
AF_UKZFS (8)
AF_UKZFS (9)
AF_UKZFS (10)
AF_UKZFS (11)
AF_UKZFS (12)
#undef AF_UKZFS
#undef AF_UKZFT
#undef AF_UKZF

typedef void (*AfUkzfFn) (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                          const float *pf, const float *bias, const AfSimpleEp *se,
                          const guint16 *res, guint16 *out, gint64 ldo);
static const AfUkzfFn af__ukzf_fns[2 * MR + 1] = {
  NULL,       af__ukzf_1, af__ukzf_2, af__ukzf_3,  af__ukzf_4,  af__ukzf_5,  af__ukzf_6,
  af__ukzf_7, af__ukzf_8, af__ukzf_9, af__ukzf_10, af__ukzf_11, af__ukzf_12,
};
typedef void (*AfUkzftFn) (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                           const float *pf, const float *bias, const AfSimpleEp *se,
                           const guint16 *res, guint16 *out, gint64 ldo, const float *bt, float *ct,
                           gint64 ldct);
#define AF_UKZFT_ROW(R)                                                                            \
  {                                                                                                \
    NULL, af__ukzft_##R##_1, af__ukzft_##R##_2, af__ukzft_##R##_3, af__ukzft_##R##_4               \
  }
/* [rows][tail columns] */
static const AfUkzftFn af__ukzft_fns[2 * MR + 1][AF_GEMM_NARROW + 1] = {
  { NULL },          AF_UKZFT_ROW (1),  AF_UKZFT_ROW (2),  AF_UKZFT_ROW (3), AF_UKZFT_ROW (4),
  AF_UKZFT_ROW (5),  AF_UKZFT_ROW (6),  AF_UKZFT_ROW (7),  AF_UKZFT_ROW (8), AF_UKZFT_ROW (9),
  AF_UKZFT_ROW (10), AF_UKZFT_ROW (11), AF_UKZFT_ROW (12),
};
#undef AF_UKZFT_ROW
#endif

/* ------------------------------------------------------------ fp16 columns
 * Up to four panels (24 rows) x 16 columns read straight from fp16 rows:
 * for a 1x1 conv with few output channels the im2col strips cost as much as
 * the sums (one conversion per element for only 16-24 rows of FMAs), so
 * here each k step converts its 16 halves in the register it multiplies.
 * Same sums in the same order as af__gemm_fin12_avx512 over converted
 * strips, so the same bits. @full: all 16 columns (plain loads and stores),
 * else the columns of @m (masked). */
#ifdef AF_X86
#define AF_UKH_FMA(i)                                                                              \
  if (R > i)                                                                                       \
    c##i = _mm512_fmadd_ps (_mm512_set1_ps (ap[(i) / MR * lda_panel + (i) % MR]), bv, c##i);
#define AF_UKH_FIN(i)                                                                              \
  if (R > i && i < rows)                                                                           \
    af__finzm (c##i, bias[i], se, se->add ? res + i *ldo : NULL, out + i * ldo, full, m);

__attribute__ ((target ("avx512f,avx512bw,avx512vl"), always_inline)) static inline void
af__finzm (__m512 acc, float bias, const AfSimpleEp *se, const guint16 *res, guint16 *out,
           gboolean full, __mmask16 m)
{
  if (full) {
    af__finz (acc, bias, se, res, out);
    return;
  }
  __m512 v = _mm512_add_ps (acc, _mm512_set1_ps (bias));
  if (se->clamp[0])
    v = _mm512_min_ps (_mm512_max_ps (v, _mm512_set1_ps (se->lo[0])), _mm512_set1_ps (se->hi[0]));
  if (se->add) {
    __m512 r = _mm512_cvtph_ps (_mm256_maskz_loadu_epi16 (m, res));
    v = _mm512_add_ps (_mm512_cvtph_ps (_mm512_cvtps_ph (v, AF_F16_NEAREST)), r);
    if (se->clamp[1])
      v = _mm512_min_ps (_mm512_max_ps (v, _mm512_set1_ps (se->lo[1])), _mm512_set1_ps (se->hi[1]));
  }
  __m256i h = _mm512_cvtps_ph (v, AF_F16_NEAREST);
  __asm__("" : "+v"(h)); /* convert, then a masked store (not a masked vcvtps2ph) */
  _mm256_mask_storeu_epi16 (out, m, h);
}

__attribute__ ((target ("avx512f,avx512bw,avx512vl"), always_inline)) static inline void
af__ukh (int R, gboolean full, gint64 k, const float *a, gint64 lda_panel, const guint16 *b,
         gint64 ldb, __mmask16 m, int rows, const float *bias, const AfSimpleEp *se,
         const guint16 *res, guint16 *out, gint64 ldo)
{
  __m512 c0 = _mm512_setzero_ps (), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  __m512 c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
  __m512 c16 = c0, c17 = c0, c18 = c0, c19 = c0, c20 = c0, c21 = c0, c22 = c0, c23 = c0;
  const float *ap = a;
  for (gint64 p = 0; p < k; p++, ap += MR, b += ldb) {
    __m512 bv = _mm512_cvtph_ps (full ? _mm256_loadu_si256 ((const __m256i *) b)
                                      : _mm256_maskz_loadu_epi16 (m, b));
    AF_UKH_FMA (0)
    AF_UKH_FMA (1)
    AF_UKH_FMA (2)
    AF_UKH_FMA (3)
    AF_UKH_FMA (4)
    AF_UKH_FMA (5)
    AF_UKH_FMA (6)
    AF_UKH_FMA (7)
    AF_UKH_FMA (8)
    AF_UKH_FMA (9)
    AF_UKH_FMA (10)
    AF_UKH_FMA (11)
    AF_UKH_FMA (12)
    AF_UKH_FMA (13)
    AF_UKH_FMA (14)
    AF_UKH_FMA (15)
    AF_UKH_FMA (16)
    AF_UKH_FMA (17)
    AF_UKH_FMA (18)
    AF_UKH_FMA (19)
    AF_UKH_FMA (20)
    AF_UKH_FMA (21)
    AF_UKH_FMA (22)
    AF_UKH_FMA (23)
  }
  AF_UKH_FIN (0)
  AF_UKH_FIN (1)
  AF_UKH_FIN (2)
  AF_UKH_FIN (3)
  AF_UKH_FIN (4)
  AF_UKH_FIN (5)
  AF_UKH_FIN (6)
  AF_UKH_FIN (7)
  AF_UKH_FIN (8)
  AF_UKH_FIN (9)
  AF_UKH_FIN (10)
  AF_UKH_FIN (11)
  AF_UKH_FIN (12)
  AF_UKH_FIN (13)
  AF_UKH_FIN (14)
  AF_UKH_FIN (15)
  AF_UKH_FIN (16)
  AF_UKH_FIN (17)
  AF_UKH_FIN (18)
  AF_UKH_FIN (19)
  AF_UKH_FIN (20)
  AF_UKH_FIN (21)
  AF_UKH_FIN (22)
  AF_UKH_FIN (23)
}
#undef AF_UKH_FMA
#undef AF_UKH_FIN

#define AF_UKH(R, F)                                                                               \
  __attribute__ ((target ("avx512f,avx512bw,avx512vl"))) static void af__ukh_##R##_##F (           \
      gint64 k, const float *a, gint64 lda_panel, const guint16 *b, gint64 ldb, __mmask16 m,       \
      int rows, const float *bias, const AfSimpleEp *se, const guint16 *res, guint16 *out,         \
      gint64 ldo)                                                                                  \
  {                                                                                                \
    af__ukh (R, F, k, a, lda_panel, b, ldb, m, rows, bias, se, res, out, ldo);                     \
  }
/* full strips: exactly @rows accumulators (16 rows are 16 FMAs a k step, not
   the 18 of three panels); masked tails: whole panels */
AF_UKH (1, 1)
AF_UKH (2, 1)
AF_UKH (3, 1)
AF_UKH (4, 1)
AF_UKH (5, 1)
AF_UKH (6, 1)
AF_UKH (7, 1)
AF_UKH (8, 1)
AF_UKH (9, 1)
AF_UKH (10, 1)
AF_UKH (11, 1)
AF_UKH (12, 1)
AF_UKH (13, 1)
AF_UKH (14, 1)
AF_UKH (15, 1)
AF_UKH (16, 1)
AF_UKH (17, 1)
AF_UKH (18, 1)
AF_UKH (19, 1)
AF_UKH (20, 1)
AF_UKH (21, 1)
AF_UKH (22, 1)
AF_UKH (23, 1)
AF_UKH (24, 1)
AF_UKH (6, 0)
AF_UKH (12, 0)
AF_UKH (18, 0)
AF_UKH (24, 0)
#undef AF_UKH

typedef void (*AfUkhFn) (gint64 k, const float *a, gint64 lda_panel, const guint16 *b, gint64 ldb,
                         __mmask16 m, int rows, const float *bias, const AfSimpleEp *se,
                         const guint16 *res, guint16 *out, gint64 ldo);
static const AfUkhFn af__ukh_full[4 * MR + 1] = {
  NULL,         af__ukh_1_1,  af__ukh_2_1,  af__ukh_3_1,  af__ukh_4_1,  af__ukh_5_1,  af__ukh_6_1,
  af__ukh_7_1,  af__ukh_8_1,  af__ukh_9_1,  af__ukh_10_1, af__ukh_11_1, af__ukh_12_1, af__ukh_13_1,
  af__ukh_14_1, af__ukh_15_1, af__ukh_16_1, af__ukh_17_1, af__ukh_18_1, af__ukh_19_1, af__ukh_20_1,
  af__ukh_21_1, af__ukh_22_1, af__ukh_23_1, af__ukh_24_1,
};
static const AfUkhFn af__ukh_masked[5] = {
  NULL, af__ukh_6_0, af__ukh_12_0, af__ukh_18_0, af__ukh_24_0,
};
#endif

void
af__gemm_fin24h_avx512 (gint64 k, const float *a, gint64 lda_panel, const guint16 *b, gint64 ldb,
                        int ncols, int rows, const float *bias, const AfSimpleEp *se,
                        const guint16 *res, guint16 *out, gint64 ldo)
{
  g_assert (rows > 0 && rows <= 4 * MR && ncols > 0 && ncols <= NR);
#ifdef AF_X86
  AfUkhFn fn = ncols == NR ? af__ukh_full[rows] : af__ukh_masked[(rows + MR - 1) / MR];
  fn (k, a, lda_panel, b, ldb, (__mmask16) ((1u << ncols) - 1), rows, bias, se, res, out, ldo);
#else
  g_assert_not_reached ();
#endif
}

void
af__gemm_fin12_avx512 (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                       const float *pf, int mr, const float *bias, const AfSimpleEp *se,
                       const guint16 *res, guint16 *out, gint64 ldo)
{
  g_assert (mr >= 1 && mr <= 2 * MR);
#ifdef AF_X86
  af__ukzf_fns[mr](k, a, lda_panel, b, ldb, pf, bias, se, res, out, ldo);
#else
  g_assert_not_reached ();
#endif
}

void
af__gemm_fin12t_avx512 (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                        const float *pf, int mr, const float *bias, const AfSimpleEp *se,
                        const guint16 *res, guint16 *out, gint64 ldo, const float *bt, int nt,
                        float *ct, gint64 ldct)
{
  g_assert (mr >= 1 && mr <= 2 * MR && nt >= 1 && nt <= AF_GEMM_NARROW);
#ifdef AF_X86
  af__ukzft_fns[mr][nt](k, a, lda_panel, b, ldb, pf, bias, se, res, out, ldo, bt, ct, ldct);
#else
  g_assert_not_reached ();
#endif
}
