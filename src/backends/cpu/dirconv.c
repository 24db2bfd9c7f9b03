/* dirconv.c — direct convolution, output channels in the vector lanes (see
 * dirconv.h).
 *
 * Work: the output rows are cut into bands whose zero-padded fp32 input
 * copy (all input channels, the rows the band reads, AF_DIR_PP_BYTES at
 * most) stays in L2; a task is (band, chunk of 32-channel blocks). Per
 * block, per output row, per pixel group (a row cut evenly into groups of
 * at most AF_DIR_MAX_N pixels; rows of at most half that go two a call:
 * ResNet's 7x7 layers then read each block's weights 4 times instead of 7,
 * -2 % per layer in the model) one microkernel call sums the whole K into
 * registers, stores the [pixels][channels] tile, and the finisher
 * transposes it 16 x 16 into channel rows and finishes those (bias,
 * simple epilogue, residual, fp16) straight into the NCHW output. */
#include "dirconv.h"

#include "simd.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#include <immintrin.h>
#endif

#define AF_DIR_PP_BYTES (256 * 1024) /* a band's padded copy */
#define AF_DIR_PP_MAX (1024 * 1024)  /* above this for one output row: GEMM path */
#define AF_DIR_VW 32                 /* channels per block (2 vectors) */
#define AF_DIR_T (AF_DIR_MAX_N + 2)  /* tile rows, padded to the 16 of a transpose */

struct _AfDirConv {
  AfConvDesc d;
  AfCpuEpilogue ep;
  AfSimpleEp se;
  gboolean simple;
  gint64 kdim;           /* c_in * kh * kw */
  gint64 n_blocks;       /* 32-channel blocks; the last one 16 wide when c_out % 32 */
  gint64 pitch, rows_in; /* the padded copy: floats per row, rows per channel */
  gint64 n_bands;        /* bands of output rows */
  gint64 n_groups;       /* pixel groups per output row */
  gint64 row_step;       /* output rows a call: 2 for rows of <= AF_DIR_MAX_N / 2 pixels */
  float *w;              /* [block][kdim][32 (or 16)] */
  float *bias;           /* [c_out] */
  gint32 *offs;          /* [kdim] where tap (c, ky, kx) starts in the copy */
  gsize scratch;
};

typedef struct {
  const AfDirConv *dk;
  const guint16 *in, *res;
  guint16 *out;
  guint8 *scratch;
  gboolean simd, avx512;
  gint64 n_chunks; /* block chunks per band */
} AfDirRun;

/* A thread's scratch. */
typedef struct {
  float *pp;  /* [c_in][rows_in][pitch] + 16 */
  float *t;   /* [AF_DIR_T][32] the microkernel's tile: row j = pixel j */
  float *col; /* [16] one channel's pixels (the generic finisher) */
} AfDirScratch;

static gsize
af__dir_layout (const AfDirConv *dk, guint8 *base, AfDirScratch *s)
{
  gsize pp = (gsize) (dk->d.c_in * dk->rows_in * dk->pitch + 16) * sizeof (float);
  gsize t = AF_DIR_T * AF_DIR_VW * sizeof (float);
  if (s) {
    s->pp = (float *) base;
    s->t = (float *) (base + af__align64 (pp));
    s->col = (float *) (base + af__align64 (pp) + af__align64 (t));
  }
  return af__align64 (pp) + af__align64 (t) + af__align64 (16 * sizeof (float));
}

/* ------------------------------------------------------------ choice */

static gint af__dir_forced = -1; /* -1: AF_CPU_NO_DIRCONV decides; 0 off; 1 on */

void
af__dir_force (int on)
{
  g_atomic_int_set (&af__dir_forced, on < 0 ? -1 : on ? 1 : 0);
}

static gboolean
af__dir_env_off (void)
{
  static gint env = -1;
  return af__env_flag ("AF_CPU_NO_DIRCONV", &env);
}

gboolean
af__dir_eligible (const AfConvDesc *d)
{
  gint f = g_atomic_int_get (&af__dir_forced);
  if (f == 0 || (f < 0 && af__dir_env_off ()) || !af__cpu_use_avx512bw ())
    return FALSE;
  if (d->groups != 1 || d->c_out % 16 != 0 || d->c_out == 0 || d->w_out < 1 || d->h_out < 1 ||
      (d->stride[1] != 1 && d->stride[1] != 2) || d->kh * d->kw == 1 ||
      d->c_in * d->kh * d->kw < AF_DIR_MIN_K)
    return FALSE;
  gint64 one_row =
      d->c_in * af__conv_rows_in (d, 1) * af__conv_cols_in (d, d->w_out) * (gint64) sizeof (float);
  return one_row <= AF_DIR_PP_MAX && d->c_in * d->kh * d->kw <= G_MAXINT32 / 4;
}

/* ------------------------------------------------------------ creation */

static void
af__dir_plan (AfDirConv *dk)
{
  const AfConvDesc *d = &dk->d;
  dk->pitch = af__conv_cols_in (d, d->w_out);
  gint64 row_bytes = d->c_in * dk->pitch * (gint64) sizeof (float);
  gint64 band = 1;
  while (band < d->h_out && af__conv_rows_in (d, band + 1) * row_bytes <= AF_DIR_PP_BYTES)
    band++;
  dk->n_bands = (d->h_out + band - 1) / band;
  band = (d->h_out + dk->n_bands - 1) / dk->n_bands; /* the widest of the even bands */
  dk->rows_in = af__conv_rows_in (d, band);
  dk->n_groups = (d->w_out + AF_DIR_MAX_N - 1) / AF_DIR_MAX_N;
  dk->row_step = 2 * d->w_out <= AF_DIR_MAX_N ? 2 : 1;
  dk->offs = g_new (gint32, MAX (dk->kdim, 1));
  gint64 p = 0;
  for (gint64 c = 0; c < d->c_in; c++)
    for (gint64 ky = 0; ky < d->kh; ky++)
      for (gint64 kx = 0; kx < d->kw; kx++)
        dk->offs[p++] =
            (gint32) ((c * dk->rows_in + ky * d->dilation[0]) * dk->pitch + kx * d->dilation[1]);
  dk->scratch = af__dir_layout (dk, NULL, NULL);
}

/* The block's width (32, or 16 for the last of an odd number of 16s). */
static int
af__dir_vw (const AfDirConv *dk, gint64 b)
{
  return (int) MIN (AF_DIR_VW, dk->d.c_out - b * AF_DIR_VW);
}

AfDirConv *
af__dir_new (const AfConvDesc *d, const float *w, const float *bias, const AfCpuEpilogue *ep)
{
  AfDirConv *dk = g_new0 (AfDirConv, 1);
  dk->d = *d;
  if (ep)
    dk->ep = *ep;
  dk->simple = af__epilogue_is_simple (&dk->ep);
  if (dk->simple)
    af__simple_ep (&dk->ep, &dk->se);
  dk->kdim = d->c_in * d->kh * d->kw;
  dk->n_blocks = (d->c_out + AF_DIR_VW - 1) / AF_DIR_VW;
  dk->bias = g_new0 (float, d->c_out);
  if (bias)
    memcpy (dk->bias, bias, d->c_out * sizeof (float));
  af__dir_plan (dk);
  dk->w = af_big_alloc0 ((gsize) d->c_out * dk->kdim * sizeof (float));
  for (gint64 b = 0; b < dk->n_blocks; b++) {
    int vw = af__dir_vw (dk, b);
    float *dst = dk->w + b * AF_DIR_VW * dk->kdim;
    for (int i = 0; i < vw; i++) {
      const float *src = w + (b * AF_DIR_VW + i) * dk->kdim;
      for (gint64 p = 0; p < dk->kdim; p++)
        dst[p * vw + i] = src[p];
    }
  }
  return dk;
}

gsize
af__dir_scratch_size (const AfDirConv *dk)
{
  return dk->scratch;
}

void
af__dir_free (AfDirConv *dk)
{
  if (!dk)
    return;
  af_big_free (dk->w);
  g_free (dk->bias);
  g_free (dk->offs);
  g_free (dk);
}

/* ------------------------------------------------------------ microkernel
 * N pixels (stride S apart in the copy) x V vectors of 16 channels: per k,
 * V weight vectors and N broadcasts, N * V FMAs into N * V registers. The
 * first N1 pixels are read from @x, the others (a second output row) from
 * @x2. The tile goes to @t, row j = pixel j (32 floats per row). */
#ifdef AF_X86

__attribute__ ((target ("avx512f"), always_inline)) static inline void
af__dir_uk (const int N, const int V, const int S, const int N1, gint64 kdim, const float *w,
            const gint32 *offs, const float *x, const float *x2, float *t, const char *pf,
            gint64 pf_step)
{
  __m512 a0[AF_DIR_MAX_N], a1[AF_DIR_MAX_N];
#pragma GCC unroll 14
  for (int j = 0; j < N; j++)
    a0[j] = a1[j] = _mm512_setzero_ps ();
  for (gint64 p = 0; p < kdim; p++, w += 16 * V) {
    const float *xp = x + offs[p], *xp2 = x2 + offs[p];
    _mm_prefetch (pf, _MM_HINT_T0);
    pf += pf_step;
    __m512 w0 = _mm512_load_ps (w), w1 = V == 2 ? _mm512_load_ps (w + 16) : w0;
#pragma GCC unroll 14
    for (int j = 0; j < N; j++) {
      __m512 b = _mm512_set1_ps (j < N1 ? xp[j * S] : xp2[(j - N1) * S]);
      a0[j] = _mm512_fmadd_ps (w0, b, a0[j]);
      if (V == 2)
        a1[j] = _mm512_fmadd_ps (w1, b, a1[j]);
    }
  }
#pragma GCC unroll 14
  for (int j = 0; j < N; j++) {
    _mm512_store_ps (t + j * AF_DIR_VW, a0[j]);
    if (V == 2)
      _mm512_store_ps (t + j * AF_DIR_VW + 16, a1[j]);
  }
}

typedef void (*AfDirUkFn) (gint64 kdim, const float *w, const gint32 *offs, const float *x,
                           const float *x2, float *t, const char *pf, gint64 pf_step);

/* one row of N pixels (@x2 unused), or two rows of N / 2 (N even) */
#define AF_DIR_UK(N, V, S)                                                                         \
  __attribute__ ((target ("avx512f"))) static void af__dir_uk_##N##_##V##_##S (                    \
      gint64 kdim, const float *w, const gint32 *offs, const float *x, const float *x2, float *t,  \
      const char *pf, gint64 pf_step)                                                              \
  {                                                                                                \
    (void) x2;                                                                                     \
    af__dir_uk (N, V, S, N, kdim, w, offs, x, x, t, pf, pf_step);                                  \
  }
#define AF_DIR_UK2(N, V, S)                                                                        \
  __attribute__ ((target ("avx512f"))) static void af__dir_uk2_##N##_##V##_##S (                   \
      gint64 kdim, const float *w, const gint32 *offs, const float *x, const float *x2, float *t,  \
      const char *pf, gint64 pf_step)                                                              \
  {                                                                                                \
    af__dir_uk (N, V, S, N / 2, kdim, w, offs, x, x2, t, pf, pf_step);                             \
  }
#define AF_DIR_UKS(V, S)                                                                           \
  AF_DIR_UK (1, V, S)                                                                              \
  AF_DIR_UK (2, V, S)                                                                              \
  AF_DIR_UK (3, V, S)                                                                              \
  AF_DIR_UK (4, V, S)                                                                              \
  AF_DIR_UK (5, V, S)                                                                              \
  AF_DIR_UK (6, V, S)                                                                              \
  AF_DIR_UK (7, V, S)                                                                              \
  AF_DIR_UK (8, V, S)                                                                              \
  AF_DIR_UK (9, V, S)                                                                              \
  AF_DIR_UK (10, V, S)                                                                             \
  AF_DIR_UK (11, V, S)                                                                             \
  AF_DIR_UK (12, V, S)                                                                             \
  AF_DIR_UK (13, V, S)                                                                             \
  AF_DIR_UK (14, V, S)
#define AF_DIR_UK2S(V, S)                                                                          \
  AF_DIR_UK2 (2, V, S)                                                                             \
  AF_DIR_UK2 (4, V, S)                                                                             \
  AF_DIR_UK2 (6, V, S)                                                                             \
  AF_DIR_UK2 (8, V, S)                                                                             \
  AF_DIR_UK2 (10, V, S)                                                                            \
  AF_DIR_UK2 (12, V, S)                                                                            \
  AF_DIR_UK2 (14, V, S)
AF_DIR_UKS (1, 1)
AF_DIR_UKS (2, 1)
AF_DIR_UKS (1, 2)
AF_DIR_UKS (2, 2)
AF_DIR_UK2S (1, 1)
AF_DIR_UK2S (2, 1)
AF_DIR_UK2S (1, 2)
AF_DIR_UK2S (2, 2)
#undef AF_DIR_UKS
#undef AF_DIR_UK2S
#undef AF_DIR_UK
#undef AF_DIR_UK2

#define AF_DIR_ROW(V, S)                                                                           \
  {                                                                                                \
    NULL, af__dir_uk_1_##V##_##S, af__dir_uk_2_##V##_##S, af__dir_uk_3_##V##_##S,                  \
        af__dir_uk_4_##V##_##S, af__dir_uk_5_##V##_##S, af__dir_uk_6_##V##_##S,                    \
        af__dir_uk_7_##V##_##S, af__dir_uk_8_##V##_##S, af__dir_uk_9_##V##_##S,                    \
        af__dir_uk_10_##V##_##S, af__dir_uk_11_##V##_##S, af__dir_uk_12_##V##_##S,                 \
        af__dir_uk_13_##V##_##S, af__dir_uk_14_##V##_##S                                           \
  }
#define AF_DIR_ROW2(V, S)                                                                          \
  {                                                                                                \
    NULL, af__dir_uk2_2_##V##_##S, af__dir_uk2_4_##V##_##S, af__dir_uk2_6_##V##_##S,               \
        af__dir_uk2_8_##V##_##S, af__dir_uk2_10_##V##_##S, af__dir_uk2_12_##V##_##S,               \
        af__dir_uk2_14_##V##_##S                                                                   \
  }
/* [stride - 1][vectors - 1][pixels] */
static const AfDirUkFn af__dir_uks[2][2][AF_DIR_MAX_N + 1] = {
  { AF_DIR_ROW (1, 1), AF_DIR_ROW (2, 1) },
  { AF_DIR_ROW (1, 2), AF_DIR_ROW (2, 2) },
};
/* [stride - 1][vectors - 1][pixels of each of the two rows] */
static const AfDirUkFn af__dir_uks2[2][2][AF_DIR_MAX_N / 2 + 1] = {
  { AF_DIR_ROW2 (1, 1), AF_DIR_ROW2 (2, 1) },
  { AF_DIR_ROW2 (1, 2), AF_DIR_ROW2 (2, 2) },
};
#undef AF_DIR_ROW
#undef AF_DIR_ROW2

/* Finishes the tile @t of @n pixels x @vw channels (from channel @o0) with
 * the simple epilogue: channel o's pixels go to out[o * hw + @at ..]. When
 * @full, the 16 halves from there on are this task's and not written yet
 * (the band's later pixels): each row is one plain 16-half store (masked
 * stores cost Zen 4 several times more) whose lanes past @n hold either
 * garbage that a later group overwrites or, with a residual, the residual's
 * own halves (so an in-place residual a later group reads is unchanged).
 * Without a residual, bias, clamp and fp16 go first, per pixel row with the
 * channels' biases in a vector, and the tile is transposed as halves (ymm
 * shuffles, half the cost of the fp32 ones): the finish 6.9 -> 5.2 % of
 * the 16->64 55x55 layer in perf, the same bits (the same add, clamp and
 * rounding of each element). */
/* 16 halves to @dst: one plain store when @full, else the lanes of @m. */
__attribute__ ((target ("avx512f,avx512bw,avx512vl"), always_inline)) static inline void
af__dir_store16 (guint16 *dst, __m256i h, gboolean full, __mmask16 m)
{
  if (full)
    _mm256_storeu_si256 ((__m256i *) dst, h);
  else
    _mm256_mask_storeu_epi16 (dst, m, h);
}

__attribute__ ((target ("avx512f,avx512bw,avx512vl"))) static void
af__dir_finish_avx512 (const AfDirConv *dk, const float *t, int n, int vw, gint64 o0, gint64 at,
                       gboolean full, const guint16 *res, guint16 *out)
{
  const AfSimpleEp se = dk->se;
  const float *bias = dk->bias;
  const gint64 hw = dk->d.h_out * dk->d.w_out;
  const __mmask16 m = (__mmask16) ((1u << n) - 1);
  const __m512 lo0 = _mm512_set1_ps (se.lo[0]), hi0 = _mm512_set1_ps (se.hi[0]);
  const __m512 lo1 = _mm512_set1_ps (se.lo[1]), hi1 = _mm512_set1_ps (se.hi[1]);
  if (!se.add) { /* bias, clamp and fp16 per pixel row, then transposed as halves */
    for (int v = 0; v < vw; v += 16) {
      const __m512 vb = _mm512_loadu_ps (bias + o0 + v);
      __m256i h[16];
#pragma GCC unroll 16
      for (int j = 0; j < 16; j++) {
        h[j] = _mm256_setzero_si256 ();
        if (j < n) {
          __m512 x = _mm512_add_ps (_mm512_load_ps (t + j * AF_DIR_VW + v), vb);
          if (se.clamp[0])
            x = _mm512_min_ps (_mm512_max_ps (x, lo0), hi0);
          h[j] = _mm512_cvtps_ph (x, AF_F16_NEAREST);
        }
      }
      af__t16x16_epi16 (h); /* h[l]: channel o0 + v + l's pixels */
#pragma GCC unroll 16
      for (int l = 0; l < 16; l++)
        af__dir_store16 (out + (o0 + v + l) * hw + at, h[l], full, m);
    }
    return;
  }
  for (int v = 0; v < vw; v += 16) { /* with a residual: transposed in fp32, finished per channel */
    __m512 r[16];
#pragma GCC unroll 16
    for (int j = 0; j < 16; j++)
      r[j] = j < n ? _mm512_load_ps (t + j * AF_DIR_VW + v) : _mm512_setzero_ps ();
    af__t16x16_ps (r);
#pragma GCC unroll 16
    for (int l = 0; l < 16; l++) {
      gint64 o = o0 + v + l, idx = o * hw + at;
      __m512 x = _mm512_add_ps (r[l], _mm512_set1_ps (bias[o]));
      if (se.clamp[0])
        x = _mm512_min_ps (_mm512_max_ps (x, lo0), hi0);
      __m256i rh = full ? _mm256_loadu_si256 ((const __m256i *) (res + idx))
                        : _mm256_maskz_loadu_epi16 (m, res + idx);
      x = _mm512_add_ps (_mm512_cvtph_ps (_mm512_cvtps_ph (x, AF_F16_NEAREST)),
                         _mm512_cvtph_ps (rh));
      if (se.clamp[1])
        x = _mm512_min_ps (_mm512_max_ps (x, lo1), hi1);
      __m256i h = _mm512_cvtps_ph (x, AF_F16_NEAREST);
      __asm__("" : "+v"(h)); /* a masked vcvtps2ph to memory is slow: convert, then store */
      af__dir_store16 (out + idx, full ? _mm256_mask_blend_epi16 (m, rh, h) : h, full, m);
    }
  }
}
#endif

/* The microkernel's sums in plain C (AVX-512 off at run time): same order,
 * same bits. */
static void
af__dir_uk_c (int n, int vw, int s, gint64 kdim, const float *w, const gint32 *offs, const float *x,
              float *t)
{
  for (int j = 0; j < n; j++)
    for (int i = 0; i < vw; i++) {
      float a = 0.0f;
      for (gint64 p = 0; p < kdim; p++)
        a += w[p * vw + i] * x[offs[p] + j * s];
      t[j * AF_DIR_VW + i] = a;
    }
}

/* Finishes the tile like af__dir_finish_avx512 does, one channel at a time
 * through af__finish_row (any epilogue). */
static void
af__dir_finish_rows (const AfDirConv *dk, gboolean simd, const float *t, int n, int vw, gint64 o0,
                     gint64 at, const guint16 *res, guint16 *out, float *col)
{
  const gint64 hw = dk->d.h_out * dk->d.w_out;
  for (int i = 0; i < vw; i++) {
    gint64 o = o0 + i, idx = o * hw + at;
    for (int j = 0; j < n; j++)
      col[j] = t[j * AF_DIR_VW + i];
    af__finish_row (simd, col, n, dk->bias[o], NULL, &dk->ep, res ? res + idx : NULL, out + idx);
  }
}

/* ------------------------------------------------------------ run */

/* Converts input rows [y0, y0 + rows_in) of every channel into @pp, columns
 * from -pad_left, zeros outside the image. */
static void
af__dir_fill (const AfDirConv *dk, gboolean simd, const guint16 *in, gint64 y0, float *pp)
{
  const AfConvDesc *d = &dk->d;
  gint64 wp = dk->pitch, xlo = -d->pad[1];
  gint64 xa = CLAMP (0, xlo, xlo + wp), xb = CLAMP (d->w_in, xa, xlo + wp);
  for (gint64 c = 0; c < d->c_in; c++) {
    const guint16 *plane = in + c * d->h_in * d->w_in;
    for (gint64 r = 0; r < dk->rows_in; r++) {
      gint64 y = y0 + r;
      float *dst = pp + (c * dk->rows_in + r) * wp;
      if (y < 0 || y >= d->h_in) {
        memset (dst, 0, wp * sizeof (float));
        continue;
      }
      memset (dst, 0, (xa - xlo) * sizeof (float));
      af__h2f_n (simd, plane + y * d->w_in + xa, dst + (xa - xlo), xb - xa);
      memset (dst + (xb - xlo), 0, (xlo + wp - xb) * sizeof (float));
    }
  }
}

/* Pixel group @g of output row @oy (band [@oy0, @oy1)) for block @b (of a
 * chunk that ends before @b1): one microkernel call over the whole K, then
 * the finish. With a row step of 2 the call also takes row @oy + 1 when the band
 * has it (g is 0): its pixels follow in the output plane, so the tile is
 * one run of 2 * w_out pixels. */
static void
af__dir_group (const AfDirRun *r, const AfDirScratch *sc, gint64 b, gint64 b1, gint64 oy, gint64 g,
               gint64 oy0, gint64 oy1)
{
  const AfDirConv *dk = r->dk;
  const AfConvDesc *d = &dk->d;
  const int s = (int) d->stride[1], vw = af__dir_vw (dk, b);
  const float *wb = dk->w + b * AF_DIR_VW * dk->kdim;
  gint64 x0 = g * d->w_out / dk->n_groups, x1 = (g + 1) * d->w_out / dk->n_groups;
  int n1 = (int) (x1 - x0);
  gboolean two = dk->row_step == 2 && oy + 1 < oy1;
  int n = two ? 2 * n1 : n1;
  const float *x = sc->pp + (oy - oy0) * d->stride[0] * dk->pitch + x0 * s;
  const float *x2 = x + d->stride[0] * dk->pitch;
  gint64 at = oy * d->w_out + x0;
#ifdef AF_X86
  if (r->avx512) {
    /* every call prefetches its share of the next block's weights, so
       weights that come from DRAM (ResNet's 7x7 layers: 9.4 MB a conv)
       arrive over the whole block instead of stalling its first row */
    const char *pf = (const char *) wb;
    gint64 pf_step = 0;
    if (b + 1 < b1) {
      gint64 calls = af__ceil_div (oy1 - oy0, dk->row_step) * dk->n_groups;
      gint64 i = (oy - oy0) / dk->row_step * dk->n_groups + g;
      pf_step = af__ceil_div (64 * (gint64) af__dir_vw (dk, b + 1) / 16, calls);
      pf = (const char *) (wb + AF_DIR_VW * dk->kdim) + i * pf_step * dk->kdim;
    }
    const AfDirUkFn uk =
        two ? af__dir_uks2[s - 1][vw / 16 - 1][n1] : af__dir_uks[s - 1][vw / 16 - 1][n1];
    uk (dk->kdim, wb, dk->offs, x, x2, sc->t, pf, pf_step);
    if (dk->simple)
      af__dir_finish_avx512 (dk, sc->t, n, vw, b * AF_DIR_VW, at, at + 16 <= oy1 * d->w_out, r->res,
                             r->out);
    else
      af__dir_finish_rows (dk, TRUE, sc->t, n, vw, b * AF_DIR_VW, at, r->res, r->out, sc->col);
    return;
  }
#endif
  af__dir_uk_c (n1, vw, s, dk->kdim, wb, dk->offs, x, sc->t);
  if (two)
    af__dir_uk_c (n1, vw, s, dk->kdim, wb, dk->offs, x2, sc->t + n1 * AF_DIR_VW);
  af__dir_finish_rows (dk, r->simd, sc->t, n, vw, b * AF_DIR_VW, at, r->res, r->out, sc->col);
}

static void
af__dir_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfDirRun *r = ctx;
  const AfDirConv *dk = r->dk;
  const AfConvDesc *d = &dk->d;
  AfDirScratch sc;
  af__dir_layout (dk, r->scratch + (gsize) thread * dk->scratch, &sc);
  for (gint64 task = begin; task < end; task++) {
    gint64 band = task / r->n_chunks, chunk = task % r->n_chunks;
    gint64 oy0 = band * d->h_out / dk->n_bands, oy1 = (band + 1) * d->h_out / dk->n_bands;
    gint64 b0 = chunk * dk->n_blocks / r->n_chunks, b1 = (chunk + 1) * dk->n_blocks / r->n_chunks;
    if (b0 == b1)
      continue;
    af__dir_fill (dk, r->simd, r->in, oy0 * d->stride[0] - d->pad[0], sc.pp);
    for (gint64 b = b0; b < b1; b++)
      for (gint64 oy = oy0; oy < oy1; oy += dk->row_step)
        for (gint64 g = 0; g < dk->n_groups; g++)
          af__dir_group (r, &sc, b, b1, oy, g, oy0, oy1);
  }
}

void
af__dir_run (const AfDirConv *dk, const guint16 *in, const guint16 *res, guint16 *out,
             guint8 *scratch, AfPool *pool)
{
  AfDirRun r = { .dk = dk,
                 .in = in,
                 .res = res,
                 .out = out,
                 .scratch = scratch,
                 .simd = af__cpu_use_simd (),
                 .avx512 = af__cpu_use_avx512bw (),
                 .n_chunks = 1 };
  /* the fewest block chunks per band that give every thread as many tasks */
  gint64 nt = af_pool_n_threads (pool);
  while ((dk->n_bands * r.n_chunks) % nt != 0 && r.n_chunks < dk->n_blocks)
    r.n_chunks++;
  af_pool_parallel_for_each (pool, dk->n_bands * r.n_chunks, af__dir_task, &r);
}
