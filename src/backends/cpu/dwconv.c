/* dwconv.c — depthwise convolution and max pooling; see dwconv.h.
 *
 * Each thread converts a channel's padded plane to fp32 once, split into
 * stride phases (padded cell (r, c) goes to phase (r % sh, c % sw) at (r /
 * sh, c / sw); every phase plane is pw floats wide; cells outside the image
 * hold the background: 0 for the convolution, -inf for the pooling). Then
 * tap (ky, kx) of output (oy, ox) reads its phase plane at (oy + ky*dh/sh) *
 * pw + ox + kx*dw/sw: over the whole plane, output index oy * pw + ox, every
 * tap is ONE contiguous vector at a fixed offset. So a channel is h_out * pw
 * outputs folded over its taps in (ky, kx) order in 64-wide register blocks
 * (the columns ox >= w_out are computed and dropped), then compacted and
 * finished in one call. Taps on padding rows add +0 products to a sum that
 * is never -0, so the convolution equals conv.c's (which skips them); -inf
 * never wins a max. With AVX-512 three faster paths take most shapes, with
 * the same bits: wide stride-1 3x3 convolutions a channel at a time, 16
 * outputs of a row to a vector (rows), the other 3x3 convolutions with 16
 * channels to a vector (lanes16) and stride-2 max pools straight from the
 * fp16 rows (max2); without it, small planes run 8 channels to a vector
 * (lanes). */
#include "dwconv.h"
#include "simd.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#include <immintrin.h>
#endif

#define AF_DW_MAX_PLANE ((gint64) 1 << 21) /* floats of phase planes per thread */
#define AF_DW_MAX_TAPS 64                  /* larger kernels run tap by tap */

struct _AfDwKernel {
  AfConvDesc d;
  AfCpuEpilogue ep;
  gint64 rows, cols; /* padded input rows / columns the outputs read */
  gint64 sh, sw;     /* stride phases */
  gint64 rp, pw;     /* rows and width of one phase plane */
  gint64 plane;      /* floats per phase plane, tail included */
  gint64 n_acc;      /* h_out * pw */
  int taps;
  gint64 *off; /* [kh * kw] tap offsets (phase plane + position) */
  float *w, *bias;
  gboolean is_max; /* max pooling: no weights, -inf around the image */
  gsize scratch;
  /* the lanes path (small planes, see below): [groups][taps][8] weights and
     [groups][8] biases, groups of 8 channels; NULL when not chosen (w8
     also for pooling) */
  float *w8, *b8;
  AfSimpleEp se;
  gint64 *toff;   /* [taps]: tap offsets in the lanes buffer, in floats */
  gsize lanes_x8; /* floats of the padded fp32 lanes buffer */
  gboolean lanes; /* the lanes path was chosen (needs AVX2 at run time) */
  gboolean max2;  /* the stride-2 max-pool rows path (needs AVX-512BW at run time) */
  /* the 16-lane path (convolution, AVX-512BW): [groups][taps][16] weights,
     [groups][16] biases, bands of output rows whose [rows][cols][16] fp32
     input buffer stays small */
  float *w16, *b16;
  gint64 l16_bands, l16_rows; /* bands; input rows of the widest band's buffer */
  gint64 l16_groups;          /* pixel groups per output row (at most 16 outputs each) */
  gboolean l16;
  /* the rows path (wide stride-1 3x3 convolutions, AVX-512): one channel's
     padded rows in fp32, 16 outputs of a row in the lanes */
  gint64 r16_pitch; /* floats per buffer row, a multiple of 16 */
  gboolean r16;
};

/* The geometry shared by depthwise convolution and max pooling. */
static AfDwKernel *
af__dw_new_geom (const AfConvDesc *d, const AfCpuEpilogue *ep)
{
  if (d->groups != d->c_in || d->groups != d->c_out || d->h_out <= 0 || d->w_out <= 0)
    return NULL;
  gint64 rows = af__conv_rows_in (d, d->h_out), cols = af__conv_cols_in (d, d->w_out);
  gint64 sh = d->stride[0], sw = d->stride[1];
  /* a pitch of at least 8 floats: short rows move as whole vectors */
  gint64 rp = af__ceil_div (rows, sh), pw = MAX (af__ceil_div (cols, sw), 8);
  /* tail: reads run up to pw - 1 + 63 floats past the last output row */
  gint64 plane = af__round_up (rp * pw + pw + 72, 16);
  if (plane * sh * sw > AF_DW_MAX_PLANE)
    return NULL;
  AfDwKernel *k = g_new0 (AfDwKernel, 1);
  k->d = *d;
  if (ep)
    k->ep = *ep;
  k->rows = rows;
  k->cols = cols;
  k->sh = sh;
  k->sw = sw;
  k->rp = rp;
  k->pw = pw;
  k->plane = plane;
  k->n_acc = d->h_out * pw;
  k->taps = (int) (d->kh * d->kw);
  k->off = g_new (gint64, k->taps);
  for (gint64 ky = 0; ky < d->kh; ky++)
    for (gint64 kx = 0; kx < d->kw; kx++) {
      gint64 r = ky * d->dilation[0], c = kx * d->dilation[1];
      k->off[ky * d->kw + kx] = ((r % sh) * sw + c % sw) * plane + (r / sh) * pw + c / sw;
    }
  k->bias = g_new0 (float, d->c_out);
  /* phase planes, one fp32 input row, accumulators */
  k->scratch = (plane * sh * sw + d->h_in * d->w_in + 16 + af__round_up (k->n_acc, 64) + 64) *
                   sizeof (float) +
               256;
  return k;
}

/* ------------------------------------------------------------ lanes
 * Small planes (MobileNet's 14x14 and 7x7 with hundreds of channels) spend
 * the phase-plane path's time per channel, not per element. Here 8 channels
 * share the lanes of a vector: the group's input is transposed into a
 * zero- (or -inf-) padded [rows][cols][8] fp32 buffer, each output folds its
 * taps at fixed offsets from its own base (8 outputs at a time: 8
 * independent FMA chains), is finished in the registers (simple epilogue
 * without ADD) and transposed back into the 8 planes. Same taps, same
 * order, same background as the phase planes, so the same results. */

#define AF_DW_LANES_MAX_HW                                                                         \
  400 /* output pixels per plane: up to 20x20 (at 28x28 even, above slower) */

static void
af__dw_lanes_plan (AfDwKernel *k)
{
#ifdef AF_X86
  const AfConvDesc *d = &k->d;
  if (d->h_out * d->w_out > AF_DW_LANES_MAX_HW || k->taps > AF_DW_MAX_TAPS ||
      !af__epilogue_is_simple (&k->ep))
    return;
  af__simple_ep (&k->ep, &k->se);
  if (k->se.add)
    return;
  gint64 groups = af__ceil_div (d->c_out, 8), taps = k->taps;
  k->w8 = k->is_max ? NULL : g_new0 (float, groups *taps * 8);
  k->b8 = g_new0 (float, groups * 8);
  for (gint64 c = 0; c < d->c_out; c++) {
    k->b8[c / 8 * 8 + c % 8] = k->bias[c];
    for (gint64 t = 0; k->w8 && t < taps; t++)
      k->w8[(c / 8 * taps + t) * 8 + c % 8] = k->w[c * taps + t];
  }
  k->toff = g_new (gint64, taps);
  for (gint64 ky = 0; ky < d->kh; ky++)
    for (gint64 kx = 0; kx < d->kw; kx++)
      k->toff[ky * d->kw + kx] = (ky * d->dilation[0] * k->cols + kx * d->dilation[1]) * 8;
  k->lanes_x8 = af__round_up (k->rows * k->cols * 8, 16);
  /* x8, then 8 halves of staging */
  gsize bytes = k->lanes_x8 * sizeof (float) + 64;
  k->scratch = MAX (k->scratch, (gsize) af__round_up ((gint64) bytes, 64));
  k->lanes = TRUE;
#else
  (void) k;
#endif
}

/* ------------------------------------------------------------ lanes16
 * With AVX-512BW, depthwise convolutions of any plane size run 16 channels
 * to a vector: a band of output rows at a time, the input rows it reads are
 * converted and transposed (16 x 16) into a zero-padded [rows][cols][16]
 * fp32 buffer; each output's taps are then 16-channel vectors at fixed
 * offsets from its own cell (aligned loads, no stride phases), folded in
 * (ky, kx) order from +0 for 16 outputs at once (16 FMA chains), biased,
 * clamped, transposed back and stored 16 outputs per channel. Same taps,
 * order and background as the phase planes: the same bits. */

#define AF_DW_L16_BYTES (96 * 1024) /* a band's input buffer */
#define AF_DW_L16_N 14              /* outputs per fold (14 + 16 registers) */

static void
af__dw_l16_plan (AfDwKernel *k)
{
#ifdef AF_X86
  const AfConvDesc *d = &k->d;
  if (k->is_max || d->kh != 3 || d->kw != 3 || d->stride[0] != d->stride[1] || d->stride[0] > 2 ||
      d->dilation[0] != 1 || d->dilation[1] != 1 || !af__epilogue_is_simple (&k->ep) ||
      !af__cpu_use_avx512bw ())
    return;
  af__simple_ep (&k->ep, &k->se);
  if (k->se.add)
    return;
  gint64 row_bytes = k->cols * 16 * (gint64) sizeof (float), band = 1;
  while (band < d->h_out && af__conv_rows_in (d, band + 1) * row_bytes <= AF_DW_L16_BYTES)
    band++;
  k->l16_bands = af__ceil_div (d->h_out, band);
  band = af__ceil_div (d->h_out, k->l16_bands);
  k->l16_rows = af__conv_rows_in (d, band);
  gint64 groups = af__ceil_div (d->c_out, 16), taps = k->taps;
  k->l16_groups = af__ceil_div (d->w_out, AF_DW_L16_N);
  k->w16 = g_new0 (float, groups *taps * 16);
  k->b16 = g_new0 (float, groups * 16);
  for (gint64 c = 0; c < d->c_out; c++) {
    k->b16[c] = k->bias[c];
    for (gint64 t = 0; t < taps; t++)
      k->w16[(c / 16 * taps + t) * 16 + c % 16] = k->w[c * taps + t];
  }
  gsize bytes = (gsize) (k->l16_rows * k->cols * 16 + 16) * sizeof (float);
  k->scratch = MAX (k->scratch, (gsize) af__round_up ((gint64) bytes, 64));
  k->l16 = TRUE;
#else
  (void) k;
#endif
}

/* ------------------------------------------------------------ rows
 * Wide 3x3 stride-1 convolutions (MobileNet's 112 and 56 wide planes):
 * one channel at a time with 16 outputs of a row in the lanes, so neither
 * side is transposed (the l16 path's transposes cost more than its FMAs).
 * The channel's padded input rows are converted once into an fp32 buffer
 * whose rows start 64-byte aligned at padded column 0: outputs x .. x + 15
 * of a row read columns x .. x + 17 of three buffer rows, per row two
 * aligned vectors A (x) and B (x + 16), taps kx = 1, 2 being
 * valignd (B, A, kx). Taps in (ky, kx) order from +0, then bias, clamp and
 * fp16 as in the l16 path: the same bits. */
#define AF_DW_R16_MIN_W 32 /* narrower rows: the l16 path (28: +8 %, 40: -10 %) */
#define AF_DW_R16_R 8      /* output rows folded together (8 FMA chains) */

static void
af__dw_r16_plan (AfDwKernel *k)
{
  const AfConvDesc *d = &k->d;
  if (!k->l16 || d->stride[0] != 1 || d->stride[1] != 1 || d->w_out < AF_DW_R16_MIN_W)
    return;
  k->r16_pitch = af__round_up (d->w_out, 16) + 16;
  gsize bytes = (gsize) (k->rows * k->r16_pitch) * sizeof (float);
  k->scratch = MAX (k->scratch, (gsize) af__round_up ((gint64) bytes, 64));
  k->r16 = TRUE;
}

AfDwKernel *
af_cpu_dw_new (const AfConvDesc *d, const float *w, const float *bias, const AfCpuEpilogue *ep)
{
  AfDwKernel *k = af__dw_new_geom (d, ep);
  if (!k)
    return NULL;
  k->w = g_memdup2 (w, d->c_out * d->kh * d->kw * sizeof (float));
  if (bias)
    memcpy (k->bias, bias, d->c_out * sizeof (float));
  af__dw_lanes_plan (k);
  af__dw_l16_plan (k);
  af__dw_r16_plan (k);
  return k;
}

AfDwKernel *
af_cpu_dw_new_max_pool (const AfPoolDesc *p, const AfCpuEpilogue *ep)
{
  if (p->kh * p->kw > AF_DW_MAX_TAPS)
    return NULL;
  AfConvDesc d = { .c_in = p->c,
                   .h_in = p->h_in,
                   .w_in = p->w_in,
                   .c_out = p->c,
                   .h_out = p->h_out,
                   .w_out = p->w_out,
                   .kh = p->kh,
                   .kw = p->kw,
                   .groups = p->c };
  memcpy (d.stride, p->stride, sizeof d.stride);
  memcpy (d.pad, p->pad, sizeof d.pad);
  d.dilation[0] = d.dilation[1] = 1;
  AfDwKernel *k = af__dw_new_geom (&d, ep);
  if (k) {
    k->is_max = TRUE;
    af__dw_lanes_plan (k);
    k->max2 =
        d.stride[0] == 2 && d.stride[1] == 2 && (d.kw == 2 || d.kw == 3) && (!ep || ep->n == 0);
  }
  return k;
}

gsize
af_cpu_dw_scratch_size (const AfDwKernel *k)
{
  return k->scratch;
}

void
af_cpu_dw_free (AfDwKernel *k)
{
  if (!k)
    return;
  g_free (k->off);
  g_free (k->w8);
  g_free (k->b8);
  g_free (k->toff);
  g_free (k->w16);
  g_free (k->b16);
  g_free (k->w);
  g_free (k->bias);
  g_free (k);
}

#define AF_DW_STAMPS 64 /* threads that set their background once per run */

typedef struct {
  const AfDwKernel *k;
  const guint16 *in, *res;
  guint16 *out;
  guint8 *scratch;
  gboolean simd;
  /* [thread]: its phase planes hold this run's background (each thread
     writes only its own; the fills never touch background cells) */
  gboolean ready[AF_DW_STAMPS];
} AfDwRun;

/* The first time @thread runs a chunk of this run, its @n floats at @buf
 * get the background: 0, or -inf for max pooling (cells outside the image;
 * the fills and folds never write them). */
static void
af__dw_background (AfDwRun *r, int thread, float *buf, gsize n)
{
  if (thread < AF_DW_STAMPS && r->ready[thread])
    return;
  if (r->k->is_max)
    for (gsize i = 0; i < n; i++)
      buf[i] = -INFINITY;
  else
    memset (buf, 0, n * sizeof (float));
  if (thread < AF_DW_STAMPS)
    r->ready[thread] = TRUE;
}

/* ------------------------------------------------------------ portable */

/* Writes channel @plane into the phase planes @ph (cells outside the image
 * keep their zeros), padded cell (r, c) to phase (r % sh, c % sw) at
 * (r / sh, c / sw). */
static void
af__dw_fill_c (const AfDwKernel *k, const guint16 *plane, float *ph)
{
  const AfConvDesc *d = &k->d;
  gint64 sh = k->sh, sw = k->sw;
  gint64 x_lo = MIN (d->pad[1], k->cols), x_hi = CLAMP (d->pad[1] + d->w_in, x_lo, k->cols);
  gint64 y_lo = MIN (d->pad[0], k->rows), y_hi = CLAMP (d->pad[0] + d->h_in, y_lo, k->rows);
  for (gint64 r = y_lo; r < y_hi; r++) {
    const guint16 *src = plane + (r - d->pad[0]) * d->w_in - d->pad[1];
    float *dst = ph + (r % sh) * sw * k->plane + (r / sh) * k->pw;
    for (gint64 x = x_lo; x < x_hi; x++)
      dst[(x % sw) * k->plane + x / sw] = af_fp16_to_f32 (src[x]);
  }
}

/* acc[i], i < n_acc: output i's taps folded in (ky, kx) order, a sum of w
 * * input from +0, or for max pooling the reference's m > x ? m : x from
 * -inf (cells outside the image are -inf, which never wins; NaN inputs are
 * outside the contract). */
static void
af__dw_fold_c (const AfDwKernel *k, const float *ph, const float *w, float *acc)
{
  gint64 n = k->n_acc;
  for (gint64 i = 0; i < n; i++)
    acc[i] = k->is_max ? -INFINITY : 0.0f;
  for (int t = 0; t < k->taps; t++) {
    const float *src = ph + k->off[t];
    if (k->is_max)
      for (gint64 i = 0; i < n; i++)
        acc[i] = acc[i] > src[i] ? acc[i] : src[i];
    else
      for (gint64 i = 0; i < n; i++)
        acc[i] += w[t] * src[i];
  }
}

/* Moves output row oy from acc + oy * pw down to acc + oy * w_out. */
static void
af__dw_compact_c (const AfDwKernel *k, float *acc)
{
  for (gint64 oy = 1; oy < k->d.h_out; oy++)
    memmove (acc + oy * k->d.w_out, acc + oy * k->pw, k->d.w_out * sizeof (float));
}

/* ------------------------------------------------------------ AVX2 */

#ifdef AF_X86
/* @v with the lanes from @n on set to @bg (the planes' background). */
__attribute__ ((target ("avx2"), always_inline)) static inline __m256
af__dw_first (__m256 v, gint64 n, __m256 bg)
{
  __m256i keep = _mm256_cmpgt_epi32 (_mm256_set1_epi32 ((int) MIN (n, 8)),
                                     _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_blendv_ps (bg, v, _mm256_castsi256_ps (keep));
}

/* dst[0, n) = fp32 (src[0, n)), n >= 8. */
__attribute__ ((target ("avx2,f16c"), always_inline)) static inline void
af__dw_h2f_row (const guint16 *src, float *dst, gint64 n)
{
  __m256 last = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + n - 8)));
  for (gint64 i = 0; i + 8 < n; i += 8)
    _mm256_storeu_ps (dst + i, _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + i))));
  _mm256_storeu_ps (dst + n - 8, last);
}

/* dst[0, n) = src[0, n); @dst may overlap @src from below (dst <= src).
 * A short row (n < 8) moves 8 floats: @src must have them, and dst[n, 8)
 * gets whatever follows (the caller writes it afterwards). */
__attribute__ ((target ("avx2"), always_inline)) static inline void
af__dw_copy_avx2 (float *dst, const float *src, gint64 n)
{
  if (n < 8) {
    _mm256_storeu_ps (dst, _mm256_loadu_ps (src));
    return;
  }
  __m256 last = _mm256_loadu_ps (src + n - 8); /* read before any store */
  for (gint64 i = 0; i + 8 < n; i += 8)
    _mm256_storeu_ps (dst + i, _mm256_loadu_ps (src + i));
  _mm256_storeu_ps (dst + n - 8, last);
}

/* Stride 2: row[i] is padded column x0 + i; even columns go to @p0 at x / 2,
 * odd ones to @p1 at x / 2. The last step reads up to 15 floats past @n
 * (@row has them) and writes @bg up to 7 floats past each phase row's
 * last column: into padding, or into the next row of the phase plane, which
 * the caller writes afterwards. */
__attribute__ ((target ("avx2"), always_inline)) static inline void
af__dw_split2 (const float *row, gint64 n, gint64 x0, float *p0, float *p1, __m256 bg)
{
  float *ev = x0 & 1 ? p1 + x0 / 2 : p0 + x0 / 2;     /* where row[0], row[2].. go */
  float *od = x0 & 1 ? p0 + x0 / 2 + 1 : p1 + x0 / 2; /* where row[1], row[3].. go */
  for (gint64 i = 0; i < n; i += 16) {
    __m256 a = _mm256_loadu_ps (row + i), b = _mm256_loadu_ps (row + i + 8);
    __m256 e, o;
    af__deinterleave16 (a, b, &e, &o);
    if (i + 16 > n) { /* (n - i + 1) / 2 even and (n - i) / 2 odd columns left */
      e = af__dw_first (e, (n - i + 1) / 2, bg);
      o = af__dw_first (o, (n - i) / 2, bg);
    }
    _mm256_storeu_ps (ev + i / 2, e);
    _mm256_storeu_ps (od + i / 2, o);
  }
}

/* af__dw_split2 straight from fp16 for rows of 16 or more columns: the
 * full 16-column steps converted and split in registers, the rest one by
 * one (nothing written past the row). */
__attribute__ ((target ("avx2,f16c"), always_inline)) static inline void
af__dw_split2_h (const guint16 *src, gint64 n, gint64 x0, float *p0, float *p1)
{
  float *ev = x0 & 1 ? p1 + x0 / 2 : p0 + x0 / 2;
  float *od = x0 & 1 ? p0 + x0 / 2 + 1 : p1 + x0 / 2;
  gint64 i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + i)));
    __m256 b = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + i + 8)));
    __m256 e, o;
    af__deinterleave16 (a, b, &e, &o);
    _mm256_storeu_ps (ev + i / 2, e);
    _mm256_storeu_ps (od + i / 2, o);
  }
  if (i < n && n >= 16) { /* the last 16 again, overlapping: same values */
    gint64 s = n - 16;
    __m256 a = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + s)));
    __m256 b = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + s + 8)));
    __m256 e, o; /* elements s, s + 2, .. and s + 1, s + 3, .. */
    af__deinterleave16 (a, b, &e, &o);
    _mm256_storeu_ps (s & 1 ? od + s / 2 : ev + s / 2, e);
    _mm256_storeu_ps (s & 1 ? ev + s / 2 + 1 : od + s / 2, o);
    return;
  }
  for (; i < n; i++)
    (i & 1 ? od : ev)[i / 2] = _cvtsh_ss (src[i]);
}

/* Phase planes of channel @plane, as af__dw_fill_c, rows in increasing
 * order: stride-1 rows of 8 or more columns (stride 2: 16) are converted
 * straight into place; otherwise the used rows are converted at once into
 * @row, then each is copied (short stride-1 rows: a vector with the
 * background past the row) or split into even and odd columns (stride 2). */
__attribute__ ((target ("avx2,f16c"))) static void
af__dw_fill_avx2 (const AfDwKernel *k, const guint16 *plane, float *ph, float *row)
{
  const AfConvDesc *d = &k->d;
  gint64 sh = k->sh, sw = k->sw;
  gint64 x_lo = MIN (d->pad[1], k->cols), x_hi = CLAMP (d->pad[1] + d->w_in, x_lo, k->cols);
  gint64 y_lo = MIN (d->pad[0], k->rows), y_hi = CLAMP (d->pad[0] + d->h_in, y_lo, k->rows);
  if (x_hi <= x_lo || y_hi <= y_lo)
    return;
  const guint16 *src = plane + (y_lo - d->pad[0]) * d->w_in + (x_lo - d->pad[1]);
  gint64 py = y_lo % sh, ay = y_lo / sh, n = x_hi - x_lo;
  gboolean staged = (sw == 2 && n < 16) || (sw == 1 && n < 8);
  __m256 bg = _mm256_set1_ps (k->is_max ? -INFINITY : 0.0f);
  if (staged)
    af__h2f_n (TRUE, plane + (y_lo - d->pad[0]) * d->w_in, row, (y_hi - y_lo) * d->w_in);
  for (gint64 r = y_lo; r < y_hi; r++, src += d->w_in) {
    float *dst = ph + py * sw * k->plane + ay * k->pw; /* phase (py, 0), row ay */
    if (++py == sh) {
      py = 0;
      ay++;
    }
    const float *srow = row + (r - y_lo) * d->w_in + (x_lo - d->pad[1]);
    if (sw == 1 && !staged) {
      af__dw_h2f_row (src, dst + x_lo, n);
    } else if (sw == 1) {
      _mm256_storeu_ps (dst + x_lo, af__dw_first (_mm256_loadu_ps (srow), n, bg));
    } else if (sw == 2 && !staged) {
      af__dw_split2_h (src, n, x_lo, dst, dst + k->plane);
    } else if (sw == 2) {
      af__dw_split2 (srow, n, x_lo, dst, dst + k->plane, bg);
    } else {
      gint64 px = x_lo % sw, at = x_lo / sw; /* walk (x % sw, x / sw) without dividing */
      for (gint64 x = 0; x < n; x++) {
        dst[px * k->plane + at] = _cvtsh_ss (src[x]);
        if (++px == sw) {
          px = 0;
          at++;
        }
      }
    }
  }
}

/* Moves output row oy from acc + oy * pw down to acc + oy * w_out (rows of
 * 8 or more floats apart, acc has slack). */
__attribute__ ((target ("avx2"), always_inline)) static inline void
af__dw_compact_avx2 (const AfDwKernel *k, float *acc)
{
  if (k->pw != k->d.w_out)
    for (gint64 oy = 1; oy < k->d.h_out; oy++)
      af__dw_copy_avx2 (acc + oy * k->d.w_out, acc + oy * k->pw, k->d.w_out);
}

/* af__dw_fold_c, 64 outputs at a time: eight independent chains per tap
 * (FMA latency x throughput; max_ps (m, x) is m > x ? m : x), each output
 * still folded in tap order from +0 or -inf; then the rows compacted to
 * w_out floats apart. */
__attribute__ ((target ("avx2,fma"), always_inline)) static inline void
af__dw_fold64 (const AfDwKernel *k, gboolean is_max, const float *ph, const float *w, float *acc)
{
  const float *src[AF_DW_MAX_TAPS];
  int n = k->taps;
  for (int t = 0; t < n; t++)
    src[t] = ph + k->off[t];
  __m256 start = _mm256_set1_ps (is_max ? -INFINITY : 0.0f);
  for (gint64 i = 0; i < k->n_acc; i += 64) { /* planes and acc are padded */
    __m256 a[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
      a[j] = start;
    for (int t = 0; t < n; t++) {
      __m256 wv = is_max ? start : _mm256_broadcast_ss (w + t);
      const float *s = src[t] + i;
#pragma GCC unroll 8
      for (int j = 0; j < 8; j++) {
        __m256 x = _mm256_loadu_ps (s + 8 * j);
        a[j] = is_max ? _mm256_max_ps (a[j], x) : _mm256_fmadd_ps (wv, x, a[j]);
      }
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
      _mm256_storeu_ps (acc + i + 8 * j, a[j]);
  }
  af__dw_compact_avx2 (k, acc);
}

__attribute__ ((target ("avx2,fma"))) static void
af__dw_fold_avx2 (const AfDwKernel *k, const float *ph, const float *w, float *acc)
{
  if (k->is_max)
    af__dw_fold64 (k, TRUE, ph, NULL, acc);
  else
    af__dw_fold64 (k, FALSE, ph, w, acc);
}

/* r[i][j] -> r[j][i] for 8 rows of 8 16-bit lanes. */
__attribute__ ((target ("avx2"), always_inline)) static inline void
af__t8x8_epi16 (__m128i r[8])
{
  __m128i t0 = _mm_unpacklo_epi16 (r[0], r[1]), t1 = _mm_unpackhi_epi16 (r[0], r[1]);
  __m128i t2 = _mm_unpacklo_epi16 (r[2], r[3]), t3 = _mm_unpackhi_epi16 (r[2], r[3]);
  __m128i t4 = _mm_unpacklo_epi16 (r[4], r[5]), t5 = _mm_unpackhi_epi16 (r[4], r[5]);
  __m128i t6 = _mm_unpacklo_epi16 (r[6], r[7]), t7 = _mm_unpackhi_epi16 (r[6], r[7]);
  __m128i u0 = _mm_unpacklo_epi32 (t0, t2), u1 = _mm_unpackhi_epi32 (t0, t2);
  __m128i u2 = _mm_unpacklo_epi32 (t1, t3), u3 = _mm_unpackhi_epi32 (t1, t3);
  __m128i u4 = _mm_unpacklo_epi32 (t4, t6), u5 = _mm_unpackhi_epi32 (t4, t6);
  __m128i u6 = _mm_unpacklo_epi32 (t5, t7), u7 = _mm_unpackhi_epi32 (t5, t7);
  r[0] = _mm_unpacklo_epi64 (u0, u4);
  r[1] = _mm_unpackhi_epi64 (u0, u4);
  r[2] = _mm_unpacklo_epi64 (u1, u5);
  r[3] = _mm_unpackhi_epi64 (u1, u5);
  r[4] = _mm_unpacklo_epi64 (u2, u6);
  r[5] = _mm_unpackhi_epi64 (u2, u6);
  r[6] = _mm_unpacklo_epi64 (u3, u7);
  r[7] = _mm_unpackhi_epi64 (u3, u7);
}

/* Channels [c0, c0 + n), n <= 8, into the lanes buffer @x8 (lanes past n
 * get zeros): image pixel (iy, ix) to padded cell (iy + pad top, ix + pad
 * left) when the outputs read it. Pixels go 8 at a time along the plane. */
__attribute__ ((target ("avx2,f16c"))) static void
af__dw_lanes_in (const AfDwKernel *k, const guint16 *in, gint64 c0, int n, float *x8, guint16 *tmp)
{
  const AfConvDesc *d = &k->d;
  const gint64 hw = d->h_in * d->w_in, w_in = d->w_in, cols = k->cols;
  /* the image rows and columns the outputs read */
  const gint64 y_end = MIN (d->h_in, k->rows - d->pad[0]), x_end = MIN (w_in, cols - d->pad[1]);
  const guint16 *src = in + c0 * hw;
  float *row = x8 + (d->pad[0] * cols + d->pad[1]) * 8; /* cell of pixel (0, 0) */
  gint64 iy = 0, ix = 0;
  for (gint64 p = 0; p < hw && iy < y_end; p += 8) {
    gint64 m = MIN (8, hw - p);
    __m128i r[8];
    if (m == 8 && n == 8) {
#pragma GCC unroll 8
      for (int j = 0; j < 8; j++)
        r[j] = _mm_loadu_si128 ((const __m128i *) (src + j * hw + p));
    } else {
      for (int j = 0; j < 8; j++) {
        memset (tmp, 0, 8 * sizeof (guint16));
        if (j < n)
          memcpy (tmp, src + j * hw + p, m * sizeof (guint16));
        r[j] = _mm_loadu_si128 ((const __m128i *) tmp);
      }
    }
    af__t8x8_epi16 (r);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
      if (i < m && iy < y_end && ix < x_end)
        _mm256_storeu_ps (row + (iy * cols + ix) * 8, _mm256_cvtph_ps (r[i]));
      if (++ix == w_in) {
        ix = 0;
        iy++;
      }
    }
  }
}

/* Every output of the group, 8 at a time: its taps folded in (ky, kx)
 * order (FMAs from +0, or max from -inf), then the bias (convolution) and
 * the simple epilogue, rounded to fp16 and transposed into the group's @n
 * planes at @out. */
__attribute__ ((target ("avx2,fma,f16c"), always_inline)) static inline void
af__dw_lanes_fold (const AfDwKernel *k, gboolean is_max, int taps, const float *x8, const float *w8,
                   const float *b8, guint16 *out, int n, guint16 *tmp)
{
  const AfConvDesc *d = &k->d;
  const AfSimpleEp se = k->se;
  const gint64 hw = d->h_out * d->w_out, w_out = d->w_out, cols = k->cols;
  const gint64 sy = d->stride[0] * cols * 8, sx = d->stride[1] * 8;
  gint64 toff[AF_DW_MAX_TAPS];
  for (int t = 0; t < taps; t++)
    toff[t] = k->toff[t];
  gint64 oy = 0, ox = 0;
  __m256 lo = _mm256_set1_ps (se.lo[0]), hi = _mm256_set1_ps (se.hi[0]);
  __m256 vb = _mm256_loadu_ps (b8), start = _mm256_set1_ps (is_max ? -INFINITY : 0.0f);
  for (gint64 q = 0; q < hw; q += 8) {
    const float *base[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
      if (q + i < hw) {
        base[i] = x8 + oy * sy + ox * sx;
        if (++ox == w_out) {
          ox = 0;
          oy++;
        }
      } else {
        base[i] = base[i - 1]; /* computed, never stored */
      }
    }
    __m256 a[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
      a[i] = start;
#pragma GCC unroll 9
    for (int t = 0; t < taps; t++) {
      gint64 o = toff[t];
      __m256 wv = is_max ? start : _mm256_loadu_ps (w8 + t * 8);
#pragma GCC unroll 8
      for (int i = 0; i < 8; i++) {
        __m256 x = _mm256_loadu_ps (base[i] + o);
        a[i] = is_max ? _mm256_max_ps (a[i], x) : _mm256_fmadd_ps (wv, x, a[i]);
      }
    }
    __m128i h[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
      h[i] = af__simple8 (is_max ? a[i] : _mm256_add_ps (a[i], vb), &se, lo, hi,
                          _mm_setzero_si128 (), lo, hi);
    af__t8x8_epi16 (h); /* h[j]: channel j's 8 outputs q .. q + 7 */
    gint64 m = MIN (8, hw - q);
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) { /* a test, not a loop to n: h[] stays in registers */
      if (j >= n)
        break;
      if (m == 8) {
        _mm_storeu_si128 ((__m128i *) (out + j * hw + q), h[j]);
      } else {
        _mm_storeu_si128 ((__m128i *) tmp, h[j]);
        memcpy (out + j * hw + q, tmp, m * sizeof (guint16));
      }
    }
  }
}

/* Group @g (channels 8g ..) from the lanes buffer into its @n planes at
 * @out: the fold specialised for pooling or convolution, 3x3 unrolled. */
__attribute__ ((target ("avx2,fma,f16c"))) static void
af__dw_lanes_group (const AfDwKernel *k, const float *x8, gint64 g, guint16 *out, int n,
                    guint16 *tmp)
{
  const float *w8 = k->is_max ? NULL : k->w8 + g * k->taps * 8, *b8 = k->b8 + g * 8;
  if (k->is_max && k->taps == 9)
    af__dw_lanes_fold (k, TRUE, 9, x8, w8, b8, out, n, tmp);
  else if (k->is_max)
    af__dw_lanes_fold (k, TRUE, k->taps, x8, w8, b8, out, n, tmp);
  else if (k->taps == 9)
    af__dw_lanes_fold (k, FALSE, 9, x8, w8, b8, out, n, tmp);
  else
    af__dw_lanes_fold (k, FALSE, k->taps, x8, w8, b8, out, n, tmp);
}

#endif

/* ------------------------------------------------------------ max2
 * Max pools with stride 2 and 2 or 3 columns (ResNet's and SqueezeNet's
 * 3x3 s2), AVX-512: no planes. Per 16 outputs of a row and per window row,
 * 32 (+ 1) input halves are loaded with -inf outside the image (masked
 * loads), split by two ymm word permutes into the even columns (tap kx =
 * 0), the odd ones (kx = 1) and the even ones one further on (kx = 2), and
 * only then widened (three zmm float permutes were 7-11 % slower).
 * The taps fold in (ky, kx) order with the reference's max (m > x ? m : x,
 * which vmaxps is), rows outside the image skipped (-inf never wins), so
 * the results are the phase planes' bits. */
#ifdef AF_X86

/* Lanes j of 16 with 0 <= @c + j < @w. */
static inline __mmask16
af__dw_lane_mask (gint64 c, gint64 w)
{
  gint64 lo = CLAMP (-c, 0, 16), hi = CLAMP (w - c, 0, 16);
  return hi > lo ? (__mmask16) (((1u << hi) - 1) & ~((1u << lo) - 1)) : 0;
}

/* The 16 halves at @row + @c, -inf in the lanes off @m (columns outside
 * the image; those are not read, so @row + @c may point outside). */
__attribute__ ((target ("avx512f,avx512bw,avx512vl"), always_inline)) static inline __m256i
af__dw_max2_load (const guint16 *row, gint64 c, __mmask16 m)
{
  const __m256i ninf = _mm256_set1_epi16 ((short) 0xfc00);
  return _mm256_mask_loadu_epi16 (ninf, m, (const void *) ((guintptr) row + c * 2));
}

/* The reference's max step m > x ? m : x: the latest of equal values wins,
 * which makes it associative (the result is the last maximal element), so
 * the taps may fold as a tree in their (ky, kx) order. */
__attribute__ ((target ("avx512f"), always_inline)) static inline __m512
af__dw_max2_step (__m512 m, __m512 x)
{
  return _mm512_max_ps (m, x);
}

__attribute__ ((target ("avx512f,avx512bw,avx512vl"))) static void
af__dw_max2_plane (const AfDwKernel *k, const guint16 *plane, guint16 *out)
{
  const AfConvDesc *d = &k->d;
  const __m256i ie = _mm256_setr_epi16 (0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m256i io = _mm256_setr_epi16 (1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const __m256i is = _mm256_setr_epi16 (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
  const gboolean three = d->kw == 3;
  for (gint64 ox = 0; ox < d->w_out; ox += 16) {
    gint64 c = ox * 2 - d->pad[1], n = MIN (16, d->w_out - ox);
    __mmask16 m0 = af__dw_lane_mask (c, d->w_in), m1 = af__dw_lane_mask (c + 16, d->w_in);
    __mmask16 m2 = af__dw_lane_mask (c + 32, d->w_in) & 1;
    gint64 last_iy = -1;                /* the row folded last and its window maximum: a */
    __m512 last = _mm512_setzero_ps (); /* 3-row window's last row is the next one's first */
    for (gint64 oy = 0; oy < d->h_out; oy++) {
      __m512 a = _mm512_set1_ps (-INFINITY);
      for (gint64 ky = 0; ky < d->kh; ky++) {
        gint64 iy = oy * 2 - d->pad[0] + ky;
        if (iy < 0 || iy >= d->h_in)
          continue;
        if (iy != last_iy) { /* this row's taps, kx in order */
          const guint16 *row = plane + iy * d->w_in;
          __m256i v0 = af__dw_max2_load (row, c, m0), v1 = af__dw_max2_load (row, c + 16, m1);
          __m256i e = _mm256_permutex2var_epi16 (v0, ie, v1);
          last = af__dw_max2_step (_mm512_cvtph_ps (e),
                                   _mm512_cvtph_ps (_mm256_permutex2var_epi16 (v0, io, v1)));
          if (three)
            last = af__dw_max2_step (last, _mm512_cvtph_ps (_mm256_permutex2var_epi16 (
                                               e, is, af__dw_max2_load (row, c + 32, m2))));
          last_iy = iy;
        }
        a = af__dw_max2_step (a, last);
      }
      __m256i h = _mm512_cvtps_ph (a, AF_F16_NEAREST);
      guint16 *dst = out + oy * d->w_out + ox;
      if (n == 16)
        _mm256_storeu_si256 ((__m256i *) dst, h);
      else
        _mm256_mask_storeu_epi16 (dst, (__mmask16) ((1u << n) - 1), h);
    }
  }
}

static void
af__dw_max2_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  AfDwRun *r = ctx;
  const AfConvDesc *d = &r->k->d;
  (void) thread;
  for (gint64 c = begin; c < end; c++)
    af__dw_max2_plane (r->k, r->in + c * d->h_in * d->w_in, r->out + c * d->h_out * d->w_out);
}
#endif

#ifdef AF_X86
/* Input rows [y0, y0 + k->l16_rows) of channels [c0, c0 + n) into @buf
 * ([rows][cols][16], channel lanes past @n zero), cells outside the image
 * zero. */
__attribute__ ((target ("avx512f,avx512bw,avx512vl"))) static void
af__dw_l16_in (const AfDwKernel *k, const guint16 *in, gint64 c0, int n, gint64 y0, float *buf)
{
  const AfConvDesc *d = &k->d;
  const gint64 cols = k->cols, hw = d->h_in * d->w_in, pl = d->pad[1];
  const gint64 x_end = MIN (d->w_in, cols - pl); /* image columns the outputs read */
  const __m512 zero = _mm512_setzero_ps ();
  for (gint64 r = 0; r < k->l16_rows; r++) {
    gint64 iy = y0 + r;
    float *row = buf + r * cols * 16;
    if (iy < 0 || iy >= d->h_in) {
      for (gint64 x = 0; x < cols; x++)
        _mm512_store_ps (row + x * 16, zero);
      continue;
    }
    for (gint64 x = 0; x < pl; x++)
      _mm512_store_ps (row + x * 16, zero);
    for (gint64 x = pl + x_end; x < cols; x++)
      _mm512_store_ps (row + x * 16, zero);
    const guint16 *src = in + c0 * hw + iy * d->w_in;
    for (gint64 x = 0; x < x_end; x += 16) {
      int m = (int) MIN (16, x_end - x);
      __mmask16 mk = (__mmask16) ((1u << m) - 1);
      __m256i v[16];
#pragma GCC unroll 16
      for (int j = 0; j < 16; j++)
        v[j] = j < n ? _mm256_maskz_loadu_epi16 (mk, src + j * hw + x) : _mm256_setzero_si256 ();
      af__t16x16_epi16 (v); /* v[i]: pixel x + i's 16 channels */
      float *dst = row + (pl + x) * 16;
      /* unrolled with a test, not a loop to m: with a run-time bound -O2
         keeps v[] in memory (the layer was 16 % slower than at -O3) */
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++)
        if (i < m)
          _mm512_store_ps (dst + i * 16, _mm512_cvtph_ps (v[i]));
    }
  }
}

/* Outputs [@x0, @x0 + N) of output row @oy (band [@oy0, @oy1)) of channels
 * [c0, c0 + n) from @buf (input row oy0 * stride - pad_top first): the 9
 * taps of N outputs folded in (ky, kx) order (N FMA chains; every address a
 * constant offset from one base), biased, clamped, transposed into channel
 * rows and stored. The 16 halves from out + at on are this band's (a plain
 * store, lanes past N rewritten later) unless the band ends there. */
__attribute__ ((target ("avx512f,avx512bw,avx512vl"), always_inline)) static inline void
af__dw_l16_out (const AfDwKernel *k, const int N, const int S, const float *buf, const float *w16,
                const __m512 vb, gint64 oy, gint64 x0, gint64 oy0, gint64 oy1, int n, guint16 *out)
{
  const AfConvDesc *d = &k->d;
  const AfSimpleEp se = k->se;
  const gint64 hw = d->h_out * d->w_out, cols = k->cols, dy = cols * 16;
  const float *base = buf + ((oy - oy0) * S * cols + x0 * S) * 16;
  __m512 a[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++)
    a[i] = _mm512_setzero_ps ();
#pragma GCC unroll 3
  for (int ky = 0; ky < 3; ky++) {
    /* stride 1: tap kx of output i is input cell i + kx, so a window row
       is N + 2 loads for its 3 N FMAs; stride 2: cell 2 i + kx */
    __m512 v[AF_DW_L16_N + 2];
    if (S == 1)
#pragma GCC unroll 16
      for (int i = 0; i < N + 2; i++)
        v[i] = _mm512_load_ps (base + ky * dy + i * 16);
#pragma GCC unroll 3
    for (int kx = 0; kx < 3; kx++) {
      const __m512 wv = _mm512_loadu_ps (w16 + (ky * 3 + kx) * 16);
#pragma GCC unroll 16
      for (int i = 0; i < N; i++)
        a[i] = _mm512_fmadd_ps (
            wv, S == 1 ? v[i + kx] : _mm512_load_ps (base + ky * dy + (2 * i + kx) * 16), a[i]);
    }
  }
  const __m512 lo = _mm512_set1_ps (se.lo[0]), hi = _mm512_set1_ps (se.hi[0]);
#pragma GCC unroll 16
  for (int i = 0; i < N; i++) {
    a[i] = _mm512_add_ps (a[i], vb);
    if (se.clamp[0])
      a[i] = _mm512_min_ps (_mm512_max_ps (a[i], lo), hi);
  }
  __m256i h[16]; /* rounded first (per element, so order-free), transposed as halves */
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++)
    h[i] = i < N ? _mm512_cvtps_ph (a[i], AF_F16_NEAREST) : _mm256_setzero_si256 ();
  af__t16x16_epi16 (h); /* h[j]: channel c0 + j's N outputs */
  const gint64 at = oy * d->w_out + x0;
  const gboolean full = at + 16 <= oy1 * d->w_out;
#pragma GCC unroll 16
  for (int j = 0; j < 16; j++) { /* a test, not a loop to n: h[] stays in registers */
    if (j >= n)
      break;
    if (full)
      _mm256_storeu_si256 ((__m256i *) (out + j * hw + at), h[j]);
    else
      _mm256_mask_storeu_epi16 (out + j * hw + at, (__mmask16) ((1u << N) - 1), h[j]);
  }
}

#define AF_DW_L16_OUT(N, S)                                                                        \
  __attribute__ ((target ("avx512f,avx512bw,avx512vl"))) static void af__dw_l16_out_##N##_##S (    \
      const AfDwKernel *k, const float *buf, const float *w16, const __m512 vb, gint64 oy,         \
      gint64 x0, gint64 oy0, gint64 oy1, int n, guint16 *out)                                      \
  {                                                                                                \
    af__dw_l16_out (k, N, S, buf, w16, vb, oy, x0, oy0, oy1, n, out);                              \
  }
#define AF_DW_L16_OUTS(S)                                                                          \
  AF_DW_L16_OUT (1, S)                                                                             \
  AF_DW_L16_OUT (2, S)                                                                             \
  AF_DW_L16_OUT (3, S)                                                                             \
  AF_DW_L16_OUT (4, S)                                                                             \
  AF_DW_L16_OUT (5, S)                                                                             \
  AF_DW_L16_OUT (6, S)                                                                             \
  AF_DW_L16_OUT (7, S)                                                                             \
  AF_DW_L16_OUT (8, S)                                                                             \
  AF_DW_L16_OUT (9, S)                                                                             \
  AF_DW_L16_OUT (10, S)                                                                            \
  AF_DW_L16_OUT (11, S)                                                                            \
  AF_DW_L16_OUT (12, S)                                                                            \
  AF_DW_L16_OUT (13, S)                                                                            \
  AF_DW_L16_OUT (14, S)
AF_DW_L16_OUTS (1)
AF_DW_L16_OUTS (2)
#undef AF_DW_L16_OUTS
#undef AF_DW_L16_OUT

typedef void (*AfDwL16Fn) (const AfDwKernel *k, const float *buf, const float *w16, const __m512 vb,
                           gint64 oy, gint64 x0, gint64 oy0, gint64 oy1, int n, guint16 *out);
#define AF_DW_L16_ROW(S)                                                                           \
  {                                                                                                \
    NULL, af__dw_l16_out_1_##S, af__dw_l16_out_2_##S, af__dw_l16_out_3_##S, af__dw_l16_out_4_##S,  \
        af__dw_l16_out_5_##S, af__dw_l16_out_6_##S, af__dw_l16_out_7_##S, af__dw_l16_out_8_##S,    \
        af__dw_l16_out_9_##S, af__dw_l16_out_10_##S, af__dw_l16_out_11_##S, af__dw_l16_out_12_##S, \
        af__dw_l16_out_13_##S, af__dw_l16_out_14_##S                                               \
  }
/* [stride - 1][outputs] */
static const AfDwL16Fn af__dw_l16_outs[2][AF_DW_L16_N + 1] = { AF_DW_L16_ROW (1),
                                                               AF_DW_L16_ROW (2) };
#undef AF_DW_L16_ROW

/* Rows [oy0, oy1) of group @g (@n channels) from @buf into @out (the
 * group's first plane): each row in k->l16_groups even pixel groups. */
__attribute__ ((target ("avx512f,avx512bw,avx512vl"))) static void
af__dw_l16_group (const AfDwKernel *k, const float *buf, gint64 g, int n, gint64 oy0, gint64 oy1,
                  guint16 *out)
{
  const gint64 w_out = k->d.w_out, ng = k->l16_groups;
  const float *w16 = k->w16 + g * 9 * 16;
  const __m512 vb = _mm512_loadu_ps (k->b16 + g * 16);
  for (gint64 oy = oy0; oy < oy1; oy++)
    for (gint64 i = 0; i < ng; i++) {
      gint64 x0 = i * w_out / ng, x1 = (i + 1) * w_out / ng;
      af__dw_l16_outs[k->d.stride[1] - 1][x1 - x0](k, buf, w16, vb, oy, x0, oy0, oy1, n, out);
    }
}

/* An edge step of af__dw_r16_in: buffer columns x .. x + 15 of which the
 * lanes in @m hold image columns, lane i column s0 + idx[i]. */
typedef struct {
  gint64 x, s0;
  __mmask16 m;
  __m512i idx;
} AfDwR16Edge;

__attribute__ ((target ("avx512f"))) static gboolean
af__dw_r16_edge (gint64 x, gint64 pl, gint64 x_end, AfDwR16Edge *e)
{
  __mmask16 m = af__dw_lane_mask (x - pl, x_end); /* the lanes holding image columns */
  if (m == 0 || m == 0xffff)
    return FALSE;
  e->x = x;
  e->s0 = CLAMP (x - pl, 0, x_end - 16);
  e->m = m;
  e->idx =
      _mm512_add_epi32 (_mm512_set_epi32 (15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                        _mm512_set1_epi32 ((int) (x - pl - e->s0)));
  return TRUE;
}

__attribute__ ((target ("avx512f,avx512bw,avx512vl"), always_inline)) static inline void
af__dw_r16_edge_store (const AfDwR16Edge *e, const guint16 *src, float *row)
{
  __m512 v = _mm512_cvtph_ps (_mm256_loadu_si256 ((const __m256i *) (src + e->s0)));
  _mm512_store_ps (row + e->x, _mm512_maskz_permutexvar_ps (e->m, e->idx, v));
}

/* Channel plane @plane into @buf (k->rows x k->r16_pitch floats): padded
 * row r, column x hold input (r - pad top, x - pad left), zeros elsewhere.
 * Aligned 16-float stores; the steps the image covers are plain loads, the
 * (at most two) steps at its edges load the 16 image columns nearest to
 * them and move them into place with one permute (masked loads, the
 * obvious way, cost Zen 4 more than all the rest of the conversion); rows
 * narrower than 16 columns take masked loads. */
__attribute__ ((target ("avx512f,avx512bw,avx512vl"))) static void
af__dw_r16_in (const AfDwKernel *k, const guint16 *plane, float *buf)
{
  const AfConvDesc *d = &k->d;
  const gint64 pitch = k->r16_pitch, pl = d->pad[1];
  const gint64 x_end = MIN (d->w_in, k->cols - pl); /* image columns the outputs read */
  const __m512 zero = _mm512_setzero_ps ();
  /* steps [f0, f1) covered, the edge steps, zeros from z on */
  const gint64 f0 = af__round_up (pl, 16), f1 = MAX ((pl + x_end) / 16 * 16, f0);
  const gint64 z = MIN (af__round_up (pl + x_end, 16), pitch);
  AfDwR16Edge el = { 0 }, er = { 0 }; /* (set where has_l / has_r) */
  gboolean has_l = x_end >= 16 && af__dw_r16_edge (f0 - 16, pl, x_end, &el);
  gboolean has_r = x_end >= 16 && f1 < z && af__dw_r16_edge (f1, pl, x_end, &er);
  for (gint64 r = 0; r < k->rows; r++) {
    gint64 iy = r - d->pad[0];
    float *row = buf + r * pitch;
    if (iy < 0 || iy >= d->h_in || x_end <= 0) {
      for (gint64 x = 0; x < pitch; x += 16)
        _mm512_store_ps (row + x, zero);
      continue;
    }
    const guint16 *src = plane + iy * d->w_in;
    if (x_end < 16) {
      for (gint64 x = 0; x < pitch; x += 16)
        _mm512_store_ps (row + x, _mm512_cvtph_ps (_mm256_maskz_loadu_epi16 (
                                      af__dw_lane_mask (x - pl, x_end), src - pl + x)));
    } else {
      for (gint64 x = 0; x < f0 - 16; x += 16)
        _mm512_store_ps (row + x, zero);
      if (has_l)
        af__dw_r16_edge_store (&el, src, row);
      for (gint64 x = f0; x < f1; x += 16)
        _mm512_store_ps (row + x,
                         _mm512_cvtph_ps (_mm256_loadu_si256 ((const __m256i *) (src + x - pl))));
      if (has_r)
        af__dw_r16_edge_store (&er, src, row);
      for (gint64 x = has_r ? f1 + 16 : f1; x < pitch; x += 16)
        _mm512_store_ps (row + x, zero);
    }
  }
}

/* Output rows @oy .. @oy + R - 1, columns x .. x + 15 (@x: the first
 * buffer column they read): input rows oy .. oy + R + 1 loaded once each
 * (A, B and the two shifts), each folded into the up to three outputs it
 * feeds; so output row j gets its taps in (ky, kx) order from +0 and R
 * independent chains hide the FMA latency. Then bias, clamp, fp16 and a
 * plain store. */
__attribute__ ((target ("avx512f"), always_inline)) static inline void
af__dw_r16_block (const int R, const float *buf, gint64 pitch, gint64 oy, gint64 x, const __m512 *w,
                  __m512 vb, const AfSimpleEp *se, guint16 *out, gint64 w_out)
{
  __m512 acc[AF_DW_R16_R];
#pragma GCC unroll 8
  for (int j = 0; j < R; j++)
    acc[j] = _mm512_setzero_ps ();
#pragma GCC unroll 10
  for (int i = 0; i < R + 2; i++) {
    const float *p = buf + (oy + i) * pitch + x;
    __m512i a = _mm512_castps_si512 (_mm512_loadu_ps (p));
    __m512i b = _mm512_castps_si512 (_mm512_loadu_ps (p + 16));
    __m512 s0 = _mm512_castsi512_ps (a);
    __m512 s1 = _mm512_castsi512_ps (_mm512_alignr_epi32 (b, a, 1));
    __m512 s2 = _mm512_castsi512_ps (_mm512_alignr_epi32 (b, a, 2));
#pragma GCC unroll 3
    for (int ky = 2; ky >= 0; ky--) { /* output row i - ky, its tap row ky */
      int j = i - ky;
      if (j < 0 || j >= R)
        continue;
      acc[j] = _mm512_fmadd_ps (w[3 * ky], s0, acc[j]);
      acc[j] = _mm512_fmadd_ps (w[3 * ky + 1], s1, acc[j]);
      acc[j] = _mm512_fmadd_ps (w[3 * ky + 2], s2, acc[j]);
    }
  }
  const __m512 lo = _mm512_set1_ps (se->lo[0]), hi = _mm512_set1_ps (se->hi[0]);
#pragma GCC unroll 8
  for (int j = 0; j < R; j++) {
    __m512 v = _mm512_add_ps (acc[j], vb);
    if (se->clamp[0])
      v = _mm512_min_ps (_mm512_max_ps (v, lo), hi);
    _mm256_storeu_si256 ((__m256i *) (out + (oy + j) * w_out + x),
                         _mm512_cvtps_ph (v, AF_F16_NEAREST));
  }
}

/* One channel: @buf (af__dw_r16_in) folded with weights @w9 into @out, in
 * blocks of AF_DW_R16_R rows; a row's last 16 outputs are the vector
 * ending at its end (overlapping the one before when 16 does not divide
 * the width: the same sums, stored twice). */
__attribute__ ((target ("avx512f"))) static void
af__dw_r16_plane (const AfDwKernel *k, const float *buf, const float *w9, float bias, guint16 *out)
{
  const gint64 pitch = k->r16_pitch, w_out = k->d.w_out, h_out = k->d.h_out;
  const AfSimpleEp se = k->se;
  const __m512 vb = _mm512_set1_ps (bias);
  __m512 w[9];
  for (int t = 0; t < 9; t++)
    w[t] = _mm512_set1_ps (w9[t]);
  gint64 oy = 0;
  for (; oy + AF_DW_R16_R <= h_out; oy += AF_DW_R16_R)
    for (gint64 x = 0; x < w_out; x += 16)
      af__dw_r16_block (AF_DW_R16_R, buf, pitch, oy, MIN (x, w_out - 16), w, vb, &se, out, w_out);
  switch (h_out - oy) { /* the last rows, as many chains as rows */
#define AF_DW_R16_TAIL(R)                                                                          \
  case R:                                                                                          \
    for (gint64 x = 0; x < w_out; x += 16)                                                         \
      af__dw_r16_block (R, buf, pitch, oy, MIN (x, w_out - 16), w, vb, &se, out, w_out);           \
    break;
    AF_DW_R16_TAIL (1)
    AF_DW_R16_TAIL (2)
    AF_DW_R16_TAIL (3)
    AF_DW_R16_TAIL (4)
    AF_DW_R16_TAIL (5)
    AF_DW_R16_TAIL (6)
    AF_DW_R16_TAIL (7)
#undef AF_DW_R16_TAIL
  default:
    break;
  }
}

/* Tasks [begin, end) of channels. */
static void
af__dw_r16_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  AfDwRun *r = ctx;
  const AfDwKernel *k = r->k;
  const AfConvDesc *d = &k->d;
  float *buf = (float *) (r->scratch + (gsize) thread * k->scratch);
  for (gint64 c = begin; c < end; c++) {
    af__dw_r16_in (k, r->in + c * d->h_in * d->w_in, buf);
    af__dw_r16_plane (k, buf, k->w + c * 9, k->bias[c], r->out + c * d->h_out * d->w_out);
  }
}

/* Tasks [begin, end) of (group of 16 channels, band) pairs. */
static void
af__dw_l16_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  AfDwRun *r = ctx;
  const AfDwKernel *k = r->k;
  const AfConvDesc *d = &k->d;
  float *buf = (float *) (r->scratch + (gsize) thread * k->scratch);
  for (gint64 t = begin; t < end; t++) {
    gint64 g = t / k->l16_bands, b = t % k->l16_bands;
    gint64 oy0 = b * d->h_out / k->l16_bands, oy1 = (b + 1) * d->h_out / k->l16_bands;
    gint64 c0 = g * 16;
    int n = (int) MIN (16, d->c_out - c0);
    af__dw_l16_in (k, r->in, c0, n, oy0 * d->stride[0] - d->pad[0], buf);
    af__dw_l16_group (k, buf, g, n, oy0, oy1, r->out + c0 * d->h_out * d->w_out);
  }
}
#endif

static void
af__dw_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  AfDwRun *r = ctx;
  const AfDwKernel *k = r->k;
  const AfConvDesc *d = &k->d;
  float *ph = (float *) (r->scratch + (gsize) thread * k->scratch);
  gint64 ph_n = k->plane * k->sh * k->sw;
  float *row = ph + ph_n, *acc = row + af__round_up (d->h_in * d->w_in + 16, 16);
  gint64 hw = d->h_out * d->w_out;
  af__dw_background (r, thread, ph, ph_n);
#ifdef AF_X86
  gboolean vec = r->simd && k->taps <= AF_DW_MAX_TAPS;
#endif
  for (gint64 c = begin; c < end; c++) {
    const guint16 *plane = r->in + c * d->h_in * d->w_in;
    const float *w = k->is_max ? NULL : k->w + c * k->taps;
#ifdef AF_X86
    if (vec) {
      af__dw_fill_avx2 (k, plane, ph, row);
      af__dw_fold_avx2 (k, ph, w, acc);
    } else
#endif
    {
      af__dw_fill_c (k, plane, ph);
      af__dw_fold_c (k, ph, w, acc);
      af__dw_compact_c (k, acc);
    }
    const guint16 *res = r->res ? r->res + c * hw : NULL;
    if (k->is_max) /* no bias: -0 stays -0 */
      af__store_row (r->simd, acc, hw, &k->ep, res, r->out + c * hw);
    else
      af__finish_row (r->simd, acc, hw, k->bias[c], NULL, &k->ep, res, r->out + c * hw);
  }
}

#ifdef AF_X86
/* Groups [begin, end) of 8 channels on the lanes path. */
static void
af__dw_lanes_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  AfDwRun *r = ctx;
  const AfDwKernel *k = r->k;
  float *x8 = (float *) (r->scratch + (gsize) thread * k->scratch);
  guint16 *tmp = (guint16 *) (x8 + k->lanes_x8);
  gint64 hw = k->d.h_out * k->d.w_out;
  af__dw_background (r, thread, x8, k->lanes_x8);
  for (gint64 g = begin; g < end; g++) {
    gint64 c0 = g * 8;
    int n = (int) MIN (8, k->d.c_out - c0);
    af__dw_lanes_in (k, r->in, c0, n, x8, tmp);
    af__dw_lanes_group (k, x8, g, r->out + c0 * hw, n, tmp);
  }
}
#endif

void
af_cpu_dw_run (const AfDwKernel *k, const guint16 *in, const guint16 *res, guint16 *out,
               guint8 *scratch, AfPool *pool)
{
  AfDwRun r = { k, in, res, out, scratch, af__cpu_use_simd (), { FALSE } };
#ifdef AF_X86
  if (k->max2 && af__cpu_use_avx512bw ()) {
    af_pool_parallel_for (pool, k->d.c_out, 1, af__dw_max2_task, &r);
    return;
  }
  if (k->r16 && af__cpu_use_avx512bw ()) {
    af_pool_parallel_for (pool, k->d.c_out, 1, af__dw_r16_task, &r);
    return;
  }
  if (k->l16 && af__cpu_use_avx512bw ()) {
    af_pool_parallel_for (pool, af__ceil_div (k->d.c_out, 16) * k->l16_bands, 1, af__dw_l16_task,
                          &r);
    return;
  }
  if (k->lanes && r.simd) {
    af_pool_parallel_for (pool, af__ceil_div (k->d.c_out, 8), 1, af__dw_lanes_task, &r);
    return;
  }
#endif
  af_pool_parallel_for (pool, k->d.c_out, 1, af__dw_task, &r);
}
