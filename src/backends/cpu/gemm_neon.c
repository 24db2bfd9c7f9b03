/* gemm_neon.c — the accumulating GEMM microkernel (af__gemm_acc) for
 * AArch64 NEON: a 6 x 16 fp32 tile in 24 q registers (6 rows x 4), one B
 * row in 4 more, the 6 panel values of A in 1.5 (a q and a d register), FMAs
 * by lane. 30 of the 32 vector registers, so nothing spills. */
#include "gemm_neon.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define AF_NEON_MR 6 /* AF_GEMM_MR: rows of a packed A panel */

/* Row i's 4 accumulators, from c when @load (only the R rows and NQ
 * registers that exist: the rest of c must not be read). */
#define AF_NEON_DECL(i)                                                                            \
  float32x4_t c##i##0 = vdupq_n_f32 (0.0f), c##i##1 = c##i##0, c##i##2 = c##i##0,                  \
              c##i##3 = c##i##0;                                                                   \
  if (load && R > i) {                                                                             \
    c##i##0 = vld1q_f32 (c + i * ldc);                                                             \
    c##i##1 = vld1q_f32 (c + i * ldc + 4);                                                         \
    if (NQ > 2) {                                                                                  \
      c##i##2 = vld1q_f32 (c + i * ldc + 8);                                                       \
      c##i##3 = vld1q_f32 (c + i * ldc + 12);                                                      \
    }                                                                                              \
  }
/* c_i += b * a_i, a_i being lane @lane of @av; @fma is vfmaq_laneq_f32 for
 * the q register of rows 0..3 or vfmaq_lane_f32 for the d one of rows 4, 5
 * (the lane must be a literal, hence a macro). */
#define AF_NEON_FMA(i, fma, av, lane)                                                              \
  if (R > i) {                                                                                     \
    c##i##0 = fma (c##i##0, b0, av, lane);                                                         \
    c##i##1 = fma (c##i##1, b1, av, lane);                                                         \
    if (NQ > 2) {                                                                                  \
      c##i##2 = fma (c##i##2, b2, av, lane);                                                       \
      c##i##3 = fma (c##i##3, b3, av, lane);                                                       \
    }                                                                                              \
  }
#define AF_NEON_STORE(i)                                                                           \
  if (R > i) {                                                                                     \
    vst1q_f32 (c + i * ldc, c##i##0);                                                              \
    vst1q_f32 (c + i * ldc + 4, c##i##1);                                                          \
    if (NQ > 2) {                                                                                  \
      vst1q_f32 (c + i * ldc + 8, c##i##2);                                                        \
      vst1q_f32 (c + i * ldc + 12, c##i##3);                                                       \
    }                                                                                              \
  }

/* The body for a compile-time row count @R (1..6) and @NQ q registers per
 * row (2: 8 columns, 4: 16), inlined into one function per pair so every
 * branch on them folds away and the accumulators stay in registers. */
__attribute__ ((always_inline)) static inline void
af_neon_uka (int R, int NQ, int64_t k, const float *a, const float *b, int64_t ldb, bool load,
             float *c, int64_t ldc)
{
  AF_NEON_DECL (0)
  AF_NEON_DECL (1)
  AF_NEON_DECL (2)
  AF_NEON_DECL (3)
  AF_NEON_DECL (4)
  AF_NEON_DECL (5)
  for (int64_t p = 0; p < k; p++, a += AF_NEON_MR, b += ldb) {
    float32x4_t b0 = vld1q_f32 (b), b1 = vld1q_f32 (b + 4), b2 = b0, b3 = b1;
    if (NQ > 2) {
      b2 = vld1q_f32 (b + 8);
      b3 = vld1q_f32 (b + 12);
    }
    /* a[0..3] in a q register, a[4..5] in a d one: a q load at a + 4 would
     * read 2 floats past the panel on the last k step */
    float32x4_t a03 = vld1q_f32 (a);
    float32x2_t a45 = vdup_n_f32 (0.0f);
    if (R > 4)
      a45 = vld1_f32 (a + 4);
    AF_NEON_FMA (0, vfmaq_laneq_f32, a03, 0)
    AF_NEON_FMA (1, vfmaq_laneq_f32, a03, 1)
    AF_NEON_FMA (2, vfmaq_laneq_f32, a03, 2)
    AF_NEON_FMA (3, vfmaq_laneq_f32, a03, 3)
    AF_NEON_FMA (4, vfmaq_lane_f32, a45, 0)
    AF_NEON_FMA (5, vfmaq_lane_f32, a45, 1)
  }
  AF_NEON_STORE (0)
  AF_NEON_STORE (1)
  AF_NEON_STORE (2)
  AF_NEON_STORE (3)
  AF_NEON_STORE (4)
  AF_NEON_STORE (5)
}

#define AF_NEON_UKA(R, NQ)                                                                         \
  static void af_neon_uka_##R##_##NQ (int64_t k, const float *a, const float *b, int64_t ldb,      \
                                      bool load, float *c, int64_t ldc)                            \
  {                                                                                                \
    af_neon_uka (R, NQ, k, a, b, ldb, load, c, ldc);                                               \
  }
AF_NEON_UKA (1, 2)
AF_NEON_UKA (2, 2)
AF_NEON_UKA (3, 2)
AF_NEON_UKA (4, 2)
AF_NEON_UKA (5, 2)
AF_NEON_UKA (6, 2)
AF_NEON_UKA (1, 4)
AF_NEON_UKA (2, 4)
AF_NEON_UKA (3, 4)
AF_NEON_UKA (4, 4)
AF_NEON_UKA (5, 4)
AF_NEON_UKA (6, 4)
#undef AF_NEON_UKA

typedef void (*AfNeonUkaFn) (int64_t k, const float *a, const float *b, int64_t ldb, bool load,
                             float *c, int64_t ldc);
/* [nr > 8][mr] */
static const AfNeonUkaFn af_neon_uka_fns[2][AF_NEON_MR + 1] = {
  { 0, af_neon_uka_1_2, af_neon_uka_2_2, af_neon_uka_3_2, af_neon_uka_4_2, af_neon_uka_5_2,
    af_neon_uka_6_2 },
  { 0, af_neon_uka_1_4, af_neon_uka_2_4, af_neon_uka_3_4, af_neon_uka_4_4, af_neon_uka_5_4,
    af_neon_uka_6_4 },
};

void
af_neon_gemm_acc (int64_t k, const float *a, const float *b, int64_t ldb, int mr, int nr, bool load,
                  float *c, int64_t ldc)
{
  /* the caller (af__gemm_acc) has checked 1 <= mr <= 6 and 1 <= nr <= 16 */
  af_neon_uka_fns[nr > 8][mr](k, a, b, ldb, load, c, ldc);
}

#else
/* Not AArch64: nothing here (a typedef keeps the unit from being empty, which
 * ISO C does not allow). */
typedef int af_neon_unused;
#endif
