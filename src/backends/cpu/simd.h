/* simd.h — private helpers of the CPU kernels: the SIMD/portable switch and
 * the GEMM core that conv.c and linear.c share.
 *
 * Every routine here has an AVX2/FMA/F16C body and a portable C body with
 * identical results: products of two fp16 values are exact in fp32, so an
 * FMA and a multiply-then-add round the same way, and both bodies sum over k
 * in the same order. */
#ifndef AF_CPU_SIMD_H
#define AF_CPU_SIMD_H

#include "kernels.h"
#include "cpu-features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* The even and the odd lanes of the 16 floats a0..a7 b0..b7: *@even =
 * a0 a2 a4 a6 b0 b2 b4 b6, *@odd = a1 a3 .. b7 (stride-2 windows). */
__attribute__ ((target ("avx2"), always_inline)) static inline void
af__deinterleave16 (__m256 a, __m256 b, __m256 *even, __m256 *odd)
{
  *even = _mm256_castpd_ps (
      _mm256_permute4x64_pd (_mm256_castps_pd (_mm256_shuffle_ps (a, b, 0x88)), 0xd8));
  *odd = _mm256_castpd_ps (
      _mm256_permute4x64_pd (_mm256_castps_pd (_mm256_shuffle_ps (a, b, 0xdd)), 0xd8));
}
#endif

G_BEGIN_DECLS

/* Tests: the first of the paths a test compares that this build and CPU
 * run: 0 the AVX-512 kernels, 1 AVX2 or NEON, 2 portable C only. Path p
 * runs with af__cpu_force_portable (p == 2), af__cpu_force_no_avx512 (p != 0). */
static inline int
af__cpu_first_path (void)
{
  return af__cpu_use_avx512 () ? 0 : af__cpu_use_simd () || af__cpu_use_neon () ? 1 : 2;
}

/* TRUE if every op of @ep is RELU, RELU6, CLIP or ADD (done in vector registers). */
gboolean af__epilogue_is_simple (const AfCpuEpilogue *ep);

/* A simple epilogue (af__epilogue_is_simple) as the vector finishers run
 * it: clamps commute with the monotonic fp16 rounding and a chain of clamps
 * is one clamp, so it is: clamp 0, then optionally round + ADD + clamp 1,
 * then one rounding. */
typedef struct {
  float lo[2], hi[2]; /* clamp before and after the ADD */
  gboolean clamp[2];  /* is there one (an unbounded clamp would turn NaN into -inf) */
  gboolean add;
} AfSimpleEp;

/* Fills @se from the simple epilogue @ep (NULL: none). */
void af__simple_ep (const AfCpuEpilogue *ep, AfSimpleEp *se);

/* Finishes @n accumulators: dst[j] = fp16 (ep (fp16 (acc[j] + bias))), where
 * bias is @bias_v[j] if @bias_v is non-NULL, else @bias. @res: the ADD's
 * residual row aligned with @dst (NULL when @ep has no ADD). */
void af__finish_row (gboolean simd, const float *acc, gint64 n, float bias, const float *bias_v,
                     const AfCpuEpilogue *ep, const guint16 *res, guint16 *dst);
/* dst[j] = fp16 (ep (fp16 (v[j]))): the finisher without a bias (elementwise
 * kernels: -0 stays -0). */
void af__store_row (gboolean simd, const float *v, gint64 n, const AfCpuEpilogue *ep,
                    const guint16 *res, guint16 *dst);

/* dst[i] = fp16 -> fp32 (src[i]), i < @n: F16C for every element (tails
 * too) when @simd, else af_fp16_to_f32. Same values either way. */
void af__h2f_n (gboolean simd, const guint16 *src, float *dst, gint64 n);
/* even[i] = row[2i], odd[i] = row[2i + 1] for the @n floats of @row. */
void af__split2 (gboolean simd, const float *row, gint64 n, float *even, float *odd);

/* ------------------------------------------------------------ GEMM core
 * C[mr, nr] = A[mr, k] . B[k, nr], finished by af__finish_row per row.
 * A is a packed panel: a[p * AF_GEMM_MR + i] (rows past mr are ignored).
 * B rows are NR floats wide at stride @ldb (b[p * ldb + j]); columns past nr
 * are computed and dropped, so they must be readable (zeros are best).
 * @bias_row: bias of the tile's first row (one per row) or NULL; @bias_col:
 * bias of its first column (one per column) or NULL. Row i of the result goes
 * to c + i * ldc; @res (NULL, or the ADD residual laid out like @c) is read
 * at res + i * ldc. */
#define AF_GEMM_MR 6
#define AF_GEMM_NR 16

void af__gemm_tile (gboolean simd, gint64 k, const float *a, const float *b, gint64 ldb, int mr,
                    int nr, const float *bias_row, const float *bias_col, const AfCpuEpilogue *ep,
                    const guint16 *res, guint16 *c, gint64 ldc);

/* The accumulating form: c[i * ldc + j] = (@load ? c[i * ldc + j] : 0) +
 * sum_p a[p * MR + i] * b[p * ldb + j] (p ascending) for i < @mr and j <
 * 8 if @nr <= 8, else j < 16 (columns past @nr are computed too). Chaining
 * calls over consecutive k blocks sums in the same order as one call. */
void af__gemm_acc (gboolean simd, gint64 k, const float *a, const float *b, gint64 ldb, int mr,
                   int nr, gboolean load, float *c, gint64 ldc);

/* The two-panel form of af__gemm_acc for AVX-512F (af__cpu_use_avx512):
 * rows i < 6 read panel @a, rows 6 <= i < @mr (7..12) panel @a + @lda_panel
 * (its row i - 6); 16 columns (@b is a full strip). Same sums, same order.
 * Per k step it asks for the next 64 bytes from @pf on into L2: the weights
 * a later call needs, streamed in while this one computes (any readable
 * address when there are none, e.g. @a). */
void af__gemm_acc12_avx512 (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                            const float *pf, int mr, gboolean load, float *c, gint64 ldc);

/* af__gemm_acc12_avx512 over the whole K (from zeros), finished straight
 * from the registers like af__finish_row with the simple epilogue @se: row
 * i (< @mr, 1..12; up to 6 read only the first panel) gets bias @bias[i]
 * and goes to the 16 halves at out + i * @ldo (its residual at res + i *
 * @ldo when @se adds one). */
void af__gemm_fin12_avx512 (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                            const float *pf, int mr, const float *bias, const AfSimpleEp *se,
                            const guint16 *res, guint16 *out, gint64 ldo);

/* af__gemm_fin12_avx512 with @nt (1..AF_GEMM_NARROW) more columns (B row p
 * at @bt + p * @ldb) summed alongside as af__gemm_acc_narrow would (same
 * bits; the panels need the 2 readable floats past them that narrow
 * needs): row i, column j of them is stored, unfinished, at @ct + i *
 * @ldct + j. */
void af__gemm_fin12t_avx512 (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                             const float *pf, int mr, const float *bias, const AfSimpleEp *se,
                             const guint16 *res, guint16 *out, gint64 ldo, const float *bt, int nt,
                             float *ct, gint64 ldct);

/* The fused finish of af__gemm_fin12_avx512 for @rows <= 24 rows (panels
 * @a + q * @lda_panel) whose 16 columns are fp16 read straight from @b (row
 * p at b + p * @ldb; a 1x1 conv's input, no im2col strips), only @ncols <=
 * 16 of them read and written. Needs AVX-512BW (af__cpu_use_avx512bw). Same
 * sums as over the converted strips, same bits. */
void af__gemm_fin24h_avx512 (gint64 k, const float *a, gint64 lda_panel, const guint16 *b,
                             gint64 ldb, int ncols, int rows, const float *bias,
                             const AfSimpleEp *se, const guint16 *res, guint16 *out, gint64 ldo);

/* af__gemm_acc12_avx512 for 8 columns (a last strip of 5..12 pixels): rows
 * i < @mr (7..12) of two panels x columns j < 8 in ymm registers (AVX2/FMA:
 * at two ymm FMAs per cycle the 16-wide kernel's rate). Same sums. */
void af__gemm_acc12x8 (gint64 k, const float *a, gint64 lda_panel, const float *b, gint64 ldb,
                       int mr, gboolean load, float *c, gint64 ldc);

/* Narrow strips of @nr <= AF_GEMM_NARROW columns: the result of
 * af__gemm_acc over ceil (@rows / 6) panels at once (panel q at @a + q *
 * @lda_panel, its rows to c + (6 * q + i) * ldc), rows past @rows neither
 * read nor written, columns j < @nr only. The AVX2 body reads 2 floats past
 * every panel row (a[p * 6 + 7]): they must be readable. */
#define AF_GEMM_NARROW 4
void af__gemm_acc_narrow (gboolean simd, gint64 k, const float *a, gint64 lda_panel, const float *b,
                          gint64 ldb, int rows, int nr, gboolean load, float *c, gint64 ldc);

#if defined(__x86_64__) || defined(__i386__)
#define AF_F16_NEAREST 0 /* _MM_FROUND_TO_NEAREST_INT for vcvtps2ph */

/* The 16 x 16 transpose of 16-bit lanes: r[i] lane j -> r[j] lane i. The
 * 8 x 8 transposes of each 128-bit half (unpacks stay inside halves), then
 * the halves exchanged: 64 ymm shuffles, half what the fp32 form costs. */
__attribute__ ((target ("avx2"), always_inline)) static inline void
af__t16x16_epi16 (__m256i r[16])
{
  __m256i x[16];
#pragma GCC unroll 2
  for (int h = 0; h < 2; h++) { /* rows 8h .. 8h + 7 */
    __m256i *q = r + 8 * h, *o = x + 8 * h;
    __m256i t0 = _mm256_unpacklo_epi16 (q[0], q[1]), t1 = _mm256_unpackhi_epi16 (q[0], q[1]);
    __m256i t2 = _mm256_unpacklo_epi16 (q[2], q[3]), t3 = _mm256_unpackhi_epi16 (q[2], q[3]);
    __m256i t4 = _mm256_unpacklo_epi16 (q[4], q[5]), t5 = _mm256_unpackhi_epi16 (q[4], q[5]);
    __m256i t6 = _mm256_unpacklo_epi16 (q[6], q[7]), t7 = _mm256_unpackhi_epi16 (q[6], q[7]);
    __m256i u0 = _mm256_unpacklo_epi32 (t0, t2), u1 = _mm256_unpackhi_epi32 (t0, t2);
    __m256i u2 = _mm256_unpacklo_epi32 (t1, t3), u3 = _mm256_unpackhi_epi32 (t1, t3);
    __m256i u4 = _mm256_unpacklo_epi32 (t4, t6), u5 = _mm256_unpackhi_epi32 (t4, t6);
    __m256i u6 = _mm256_unpacklo_epi32 (t5, t7), u7 = _mm256_unpackhi_epi32 (t5, t7);
    o[0] = _mm256_unpacklo_epi64 (u0, u4); /* half l: column 8 l + 0 of the 8 rows */
    o[1] = _mm256_unpackhi_epi64 (u0, u4);
    o[2] = _mm256_unpacklo_epi64 (u1, u5);
    o[3] = _mm256_unpackhi_epi64 (u1, u5);
    o[4] = _mm256_unpacklo_epi64 (u2, u6);
    o[5] = _mm256_unpackhi_epi64 (u2, u6);
    o[6] = _mm256_unpacklo_epi64 (u3, u7);
    o[7] = _mm256_unpackhi_epi64 (u3, u7);
  }
#pragma GCC unroll 8
  for (int j = 0; j < 8; j++) {
    r[j] = _mm256_permute2x128_si256 (x[j], x[8 + j], 0x20);
    r[8 + j] = _mm256_permute2x128_si256 (x[j], x[8 + j], 0x31);
  }
}

/* The 16 x 16 transpose: r[i] lane j -> r[j] lane i (row j = pixel j, 16
 * channels -> r[l] = channel l's 16 pixels, and back). 64 shuffles. */
__attribute__ ((target ("avx512f"), always_inline)) static inline void
af__t16x16_ps (__m512 r[16])
{
  __m512 t[16], u[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps (r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps (r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int g = 0; g < 4; g++) { /* u[4 g + m]: lane L holds column 4 L + m of rows 4 g .. */
    __m512d a = _mm512_castps_pd (t[4 * g]), b = _mm512_castps_pd (t[4 * g + 1]);
    __m512d c = _mm512_castps_pd (t[4 * g + 2]), e = _mm512_castps_pd (t[4 * g + 3]);
    u[4 * g] = _mm512_castpd_ps (_mm512_unpacklo_pd (a, c));
    u[4 * g + 1] = _mm512_castpd_ps (_mm512_unpackhi_pd (a, c));
    u[4 * g + 2] = _mm512_castpd_ps (_mm512_unpacklo_pd (b, e));
    u[4 * g + 3] = _mm512_castpd_ps (_mm512_unpackhi_pd (b, e));
  }
#pragma GCC unroll 4
  for (int m = 0; m < 4; m++) {
    __m512 x = _mm512_shuffle_f32x4 (u[m], u[4 + m], 0x44);
    __m512 y = _mm512_shuffle_f32x4 (u[m], u[4 + m], 0xee);
    __m512 z = _mm512_shuffle_f32x4 (u[8 + m], u[12 + m], 0x44);
    __m512 q = _mm512_shuffle_f32x4 (u[8 + m], u[12 + m], 0xee);
    r[m] = _mm512_shuffle_f32x4 (x, z, 0x88);
    r[4 + m] = _mm512_shuffle_f32x4 (x, z, 0xdd);
    r[8 + m] = _mm512_shuffle_f32x4 (y, q, 0x88);
    r[12 + m] = _mm512_shuffle_f32x4 (y, q, 0xdd);
  }
}

/* The vector finisher for a simple epilogue: clamps (RELU, RELU6, CLIP)
 * commute with the monotonic fp16 rounding (round (clamp (round (x))) ==
 * round (clamp (x)) for any bounds) and a chain of clamps is one clamp
 * (clamp (clamp (x, a, b), c, d) == clamp (x, clamp (a, c, d), clamp (b, c,
 * d)), NaN included), so the epilogue is: clamp A, then optionally round +
 * ADD + clamp B, then one rounding. */

__attribute__ ((target ("avx2,f16c"), always_inline)) static inline __m128i
af__simple8 (__m256 v, const AfSimpleEp *se, __m256 lo0, __m256 hi0, __m128i r, __m256 lo1,
             __m256 hi1)
{
  if (se->clamp[0])
    v = _mm256_min_ps (_mm256_max_ps (v, lo0), hi0);
  if (se->add) {
    v = _mm256_add_ps (_mm256_cvtph_ps (_mm256_cvtps_ph (v, AF_F16_NEAREST)), _mm256_cvtph_ps (r));
    if (se->clamp[1])
      v = _mm256_min_ps (_mm256_max_ps (v, lo1), hi1);
  }
  return _mm256_cvtps_ph (v, AF_F16_NEAREST);
}
#endif

static inline gint64
af__ceil_div (gint64 a, gint64 b)
{
  return (a + b - 1) / b;
}

static inline gint64
af__round_up (gint64 a, gint64 b)
{
  return af__ceil_div (a, b) * b;
}

/* @n rounded up to a multiple of 64 (scratch layouts: 64-byte aligned parts). */
static inline gsize
af__align64 (gsize n)
{
  return (n + 63) & ~(gsize) 63;
}

/* The input rows (columns) that @n consecutive output rows (columns) of @d
 * read, padding included. */
static inline gint64
af__conv_rows_in (const AfConvDesc *d, gint64 n)
{
  return (n - 1) * d->stride[0] + (d->kh - 1) * d->dilation[0] + 1;
}

static inline gint64
af__conv_cols_in (const AfConvDesc *d, gint64 n)
{
  return (n - 1) * d->stride[1] + (d->kw - 1) * d->dilation[1] + 1;
}

G_END_DECLS

#endif /* AF_CPU_SIMD_H */
