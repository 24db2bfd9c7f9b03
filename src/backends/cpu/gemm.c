/* gemm.c — the register-blocked GEMM microkernel shared by conv and linear:
 * an MR x NR (6 x 16) tile of fp32 accumulators, 12 ymm registers on AVX2,
 * then the row finisher (bias, fp16 rounding, epilogue, fp16 store). */
#include "simd.h"

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#include <immintrin.h>
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
  __attribute__ ((target ("avx2,fma"))) static void af__uk_avx2_##R (                             \
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
  __attribute__ ((target ("avx2,fma"))) static void af__uka_avx2_##R##_##V (                      \
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
  { NULL, af__uka_avx2_1_1, af__uka_avx2_2_1, af__uka_avx2_3_1, af__uka_avx2_4_1,
    af__uka_avx2_5_1, af__uka_avx2_6_1 },
  { NULL, af__uka_avx2_1_2, af__uka_avx2_2_2, af__uka_avx2_3_2, af__uka_avx2_4_2,
    af__uka_avx2_5_2, af__uka_avx2_6_2 },
};

typedef void (*AfUkFn) (gint64 k, const float *a, const float *b, gint64 ldb, float *acc);
static const AfUkFn af__uk_avx2_fns[MR + 1] = {
  NULL, af__uk_avx2_1, af__uk_avx2_2, af__uk_avx2_3, af__uk_avx2_4, af__uk_avx2_5, af__uk_avx2_6,
};
#endif

void
af__gemm_tile (gboolean simd, gint64 k, const float *a, const float *b, gint64 ldb, int mr,
               int nr, const float *bias_row, const float *bias_col, const AfEpilogue *ep,
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
af__gemm_acc (gboolean simd, gint64 k, const float *a, const float *b, gint64 ldb, int mr,
              int nr, gboolean load, float *c, gint64 ldc)
{
  g_assert (mr >= 1 && mr <= MR && nr >= 1 && nr <= NR);
#ifdef AF_X86
  if (simd) {
    af__uka_avx2_fns[nr > 8][mr](k, a, b, ldb, load, c, ldc);
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
         gboolean load, float *c, gint64 ldc)
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
  for (gint64 p = 0; p < k; p++, a0 += MR, a1 += MR, b += ldb) {
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
  __attribute__ ((target ("avx512f"))) static void af__ukz_##R (                                  \
      gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb, gboolean load,       \
      float *c, gint64 ldc)                                                                        \
  {                                                                                                \
    af__ukz (R, k, a, lda_panel, b, ldb, load, c, ldc);                                            \
  }
AF_UKZ (7)
AF_UKZ (8)
AF_UKZ (9)
AF_UKZ (10)
AF_UKZ (11)
AF_UKZ (12)
#undef AF_UKZ

typedef void (*AfUkzFn) (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                         gboolean load, float *c, gint64 ldc);
static const AfUkzFn af__ukz_fns[2 * MR + 1] = {
  [7] = af__ukz_7,   [8] = af__ukz_8,   [9] = af__ukz_9,
  [10] = af__ukz_10, [11] = af__ukz_11, [12] = af__ukz_12,
};
#endif

void
af__gemm_acc12_avx512 (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                       int mr, gboolean load, float *c, gint64 ldc)
{
  g_assert (mr > MR && mr <= 2 * MR);
#ifdef AF_X86
  af__ukz_fns[mr](k, a, lda_panel, b, ldb, load, c, ldc);
#else
  g_assert_not_reached ();
#endif
}
