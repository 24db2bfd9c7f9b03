/* conv.c — 2-D convolution of one NCHW fp16 image, fp32 accumulation.
 *
 * General convs are a GEMM per group: out[c_out_g, HW] = W[c_out_g, K] .
 * im2col[K, HW] with K = c_in_g * kh * kw summed in (c, ky, kx) order. The
 * weights are packed at creation into MR-row panels (K-block major, so a
 * block's panels are one sequential stream); each task builds the im2col
 * tile of NC output pixels in its thread's scratch, 16-pixel strip by strip
 * (each element written once: a 1x1 stride-1 unpadded conv converts fp16
 * straight into the strips; convs with several taps first convert the
 * input rows the tile needs into a zero-padded fp32 copy, stride-2 rows
 * split into even and odd halves, so every strip is a few contiguous runs
 * per tap) and runs the 6x16 microkernel over its block of output channels
 * (with AVX-512F, two panels at once: 12 x 16). Tasks are (group, pixel
 * tile) pairs, whole or cut into chunks of output channels, as an
 * estimate of each task's cycles says the threads finish together
 * (af__conv_split, planned once per pool size), so even small layers keep
 * every thread busy. A tail
 * strip of at most 4 pixels (7x7 = 3 x 16 + 1) runs with the channels in
 * the vector lanes instead; with one K block and a simple epilogue,
 * AVX-512 panel pairs finish full strips straight from their registers (no
 * fp32 C round trip), and 1x1 stride-1 convs of at most 48 output channels
 * (AVX-512BW) skip the strips: their sums read the fp16 input directly, up to
 * four panels per call (af__gemm_fin24h_avx512: converting a strip cost as
 * much as its few rows of FMAs). Depthwise convs (groups == c_in == c_out) use
 * dwconv.c (the executor's first choice) or a direct row kernel here;
 * ungrouped convs with several taps, c_out a multiple of 16 and K >= 128
 * the direct path with the channels in the vector lanes (dirconv.c, when
 * the CPU has AVX-512: no im2col, same bits); stride-1 3x3 convs with many
 * channels the Winograd path (winograd.c) when asked for. */
#include "dirconv.h"
#include "simd.h"
#include "winograd.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#include <immintrin.h>
#endif

#define MR AF_GEMM_MR
#define NR AF_GEMM_NR
#define AF_CONV_MAX_NC 512       /* pixels per tile */
#define AF_CONV_H16_ROWS 64      /* 1x1 convs up to this many rows: af__conv_h16_task */
#define AF_CONV_NARROW_PANELS 12 /* panels per narrow-tail call (af__conv_kblock) */

/* How a GEMM-path run is cut into tasks (af__conv_split): the pixels in
 * n_tiles tiles (af__conv_tile); tasks [0, n_whole) are whole (group, pixel
 * tile) pairs, the pairs after them are cut into m_chunks chunks of mb_per
 * output panels. */
typedef struct {
  int n_threads; /* planned for this many threads; 0: not planned */
  gint64 n_tiles, n_whole, m_chunks, mb_per;
} AfConvSplit;

struct _AfConvKernel {
  AfConvDesc d;
  AfCpuEpilogue ep;
  gint64 cin_g, cout_g, kdim; /* kdim: K = cin_g * kh * kw */
  gint64 m_blocks;            /* MR-row panels per group */
  gint64 hw_out, nc, n_tiles; /* pixel tiles: the fewest (widest, nc) the L2 budget allows */
  gint64 kc, n_kb, ldb;       /* K blocks of kc rows; im2col / C row stride */
  gint64 span;                /* depthwise: input row span in floats */
  gboolean depthwise, direct; /* direct: 1x1, stride 1, no pad */
  gboolean gather;            /* other 1x1 convs: im2col gathered through pixel offsets */
  gboolean padded;            /* im2col from an fp32 zero-padded copy of the input */
  gboolean simple;            /* af__epilogue_is_simple: full strips may finish in registers */
  AfSimpleEp se;
  gint64 pp_ch, pp_rows, pp_w; /* its capacity: channels, rows, floats per row */
  gint64 pp_half;              /* stride 2: even columns of a row, then odd ones from here */
  float *w;    /* GEMM: see af__conv_panel_at (+ 8 floats); depthwise: [c][kh * kw] */
  float *bias; /* [c_out], zeros when absent */
  gsize scratch;
  AfWino *wino;      /* the Winograd path (af__wino_eligible), else NULL */
  AfDirConv *dir;    /* the direct path (af__dir_eligible), else NULL */
  AfConvSplit split; /* GEMM path: the work split planned for split.n_threads */
};

typedef struct {
  const AfConvKernel *k;
  const guint16 *in;
  guint16 *out;
  guint8 *scratch;
  gboolean simd, avx512;
  gboolean fused;     /* one K block, AVX-512, simple epilogue: pairs finish in registers */
  gboolean h16;       /* fused 1x1 with <= 24 rows: sums straight from the fp16 input */
  AfConvSplit sp;     /* the tasks (GEMM path) */
  const guint16 *res; /* ADD residual laid out like @out, or NULL */
} AfConvRun;

typedef struct AfDwScratch_ AfDwScratch;
static gsize af__dw_layout (const AfConvKernel *k, guint8 *base, AfDwScratch *s);
static AfConvSplit af__conv_split (const AfConvKernel *k, int nt, gboolean avx512);

/* Scratch layouts: AF_TAKE (field, type, n) gives s->field n elements at
 * @base + off (64-byte aligned) when @s is non-NULL and advances off, so one
 * function both measures a layout and points into it. */
#define AF_TAKE(field, type, n)                                                                    \
  if (s)                                                                                           \
    s->field = (type *) (base + off);                                                              \
  off += af__align64 ((gsize) (n) * sizeof (type));

/* A thread's scratch on the GEMM path. */
typedef struct {
  float *tile;   /* [kc][ldb] im2col tile, as 16-column strips */
  float *cb;     /* [m_blocks * MR][ldb] fp32 C block */
  float *row;    /* [ldb] one im2col row (portable paths) */
  guint16 *tmp;  /* [nc] strided gathers */
  gint64 *offs;  /* [kc] tap offsets of a K block */
  gint64 *pix;   /* [nc] strided 1x1 convs: each tile pixel's input offset, -1 outside */
  float *pp;     /* k->padded: [pp_ch][pp_rows][pp_w] the zero-padded copy */
  float *pp_row; /* k->padded: [pp_w] staging for a row split into even / odd halves */
} AfConvScratch;

static gsize af__conv_layout (const AfConvKernel *k, guint8 *base, AfConvScratch *s);

static gint64
af__conv_ldb (gint64 ncols)
{
  gint64 ldb = af__round_up (ncols, NR);
  return ldb % 128 == 0 ? ldb + NR : ldb; /* avoid 4K-aliasing rows */
}

/* Where the packed weights of group @g, K block [k0, k0 + kn) (k0 a
 * multiple of kc), panel @mb start: [groups][K blocks][m_blocks][kn][MR],
 * so the panels of a K block are one sequential stream. */
static inline gint64
af__conv_panel_at (const AfConvKernel *k, gint64 g, gint64 k0, gint64 kn, gint64 mb)
{
  return (g * k->kdim + k0) * k->m_blocks * MR + mb * kn * MR;
}

static void
af__conv_pack_weights (AfConvKernel *k, const float *w)
{
  const AfConvDesc *d = &k->d;
  gint64 kd = k->kdim;
  if (k->depthwise) {
    k->w = af_big_alloc0 (d->c_out * kd * sizeof (float));
    memcpy (k->w, w, d->c_out * kd * sizeof (float));
    return;
  }
  /* + 8: af__gemm_acc_narrow reads 2 floats past the last panel */
  k->w = af_big_alloc0 ((d->groups * k->m_blocks * kd * MR + 8) * sizeof (float));
  gint64 kc = k->kc > 0 ? k->kc : MAX (kd, 1);
  for (gint64 g = 0; g < d->groups; g++)
    for (gint64 mb = 0; mb < k->m_blocks; mb++)
      for (int i = 0; i < MR && mb * MR + i < k->cout_g; i++) {
        const float *src = w + (g * k->cout_g + mb * MR + i) * kd;
        for (gint64 p = 0; p < kd; p++) {
          gint64 k0 = p / kc * kc, kn = MIN (kc, kd - k0);
          k->w[af__conv_panel_at (k, g, k0, kn, mb) + (p - k0) * MR + i] = src[p];
        }
      }
}

/* Blocking: K in n_kb blocks of at most AF_CONV_KC rows; pixel tiles of nc
 * columns such that an im2col block [kc, nc] stays in L2 (AF_CONV_B_BYTES)
 * and so does the fp32 accumulator block of all output rows [M, nc]
 * (AF_CONV_C_BYTES); a tile's weights then stream from memory once. K up to
 * 1024 in one block: MobileNet's 14x14 and 7x7 1x1 convs (K 384-960) then
 * finish from the registers and read their weights once instead of once
 * per 48-pixel tile (mobilenet_v2 -1 % on one thread). */
#define AF_CONV_KC 1024
#define AF_CONV_B_BYTES (512 * 1024)
#define AF_CONV_C_BYTES (384 * 1024)

/* Convs with several taps build im2col rows from an fp32 copy of the input
 * rows a tile needs, zero-padded, converted once per K block instead of
 * once per tap: then every im2col row segment is a plain copy. */
#define AF_CONV_PP_BYTES (512 * 1024)

static void
af__conv_plan_padded (AfConvKernel *k)
{
  const AfConvDesc *d = &k->d;
  gint64 taps = d->kh * d->kw;
  if (k->direct || taps == 1)
    return;
  gint64 rows_out = MIN (d->h_out, af__ceil_div (k->nc, d->w_out) + 1);
  k->pp_rows = af__conv_rows_in (d, rows_out);
  k->pp_w = af__conv_cols_in (d, d->w_out);
  k->pp_ch = MIN (k->cin_g, af__ceil_div (k->kc, taps) + 1);
  gsize bytes = (gsize) k->pp_ch * k->pp_rows * k->pp_w * sizeof (float);
  if (bytes > AF_CONV_PP_BYTES)
    return;
  k->padded = TRUE;
  k->pp_half = d->stride[1] == 2 ? (k->pp_w + 1) / 2 : 0;
}

static void
af__conv_plan_tiles (AfConvKernel *k)
{
  gint64 kd = k->kdim, hw = k->hw_out, rows = k->m_blocks * MR;
  k->n_kb = af__ceil_div (kd, AF_CONV_KC);
  k->kc = af__ceil_div (kd, k->n_kb);
  /* when the full strips finish from the registers (one K block on
     AVX-512), the C block holds only the tail columns: no budget for it */
  gboolean fused = k->n_kb == 1 && k->simple && af__cpu_use_avx512 ();
  gint64 nc = AF_CONV_B_BYTES / (k->kc * 4);
  if (!fused)
    nc = MIN (nc, AF_CONV_C_BYTES / (rows * 4));
  nc = nc / NR * NR;
  nc = CLAMP (nc, NR, AF_CONV_MAX_NC);
  nc = MIN (nc, af__round_up (hw, NR));
  /* tiles of whole strips, as even as strips go (af__conv_tile): the nc
     of the widest, its partial strip included */
  gint64 strips = hw / NR;
  k->n_tiles = CLAMP (af__ceil_div (hw, nc), 1, MAX (strips, 1));
  k->nc = (af__ceil_div (strips, k->n_tiles) + (hw % NR != 0)) * NR;
  k->ldb = af__conv_ldb (k->nc);
  af__conv_plan_padded (k);
  k->scratch = af__conv_layout (k, NULL, NULL);
}

static gsize
af__conv_layout (const AfConvKernel *k, guint8 *base, AfConvScratch *s)
{
  gsize off = 0;
  gint64 pp_n = k->padded ? k->pp_ch * k->pp_rows * k->pp_w : 0;
  AF_TAKE (tile, float, k->kc * k->ldb);
  AF_TAKE (cb, float, k->m_blocks *MR * k->ldb);
  AF_TAKE (row, float, k->ldb);
  AF_TAKE (tmp, guint16, k->nc);
  AF_TAKE (offs, gint64, k->kc);
  AF_TAKE (pix, gint64, k->gather ? af__round_up (k->nc, NR) : 0);
  AF_TAKE (pp, float, pp_n);
  AF_TAKE (pp_row, float, k->padded ? k->pp_w : 0);
  return off;
}

AfConvKernel *
af_cpu_conv_new (const AfConvDesc *d, const float *w, const float *bias, const AfCpuEpilogue *ep)
{
  g_return_val_if_fail (d && w, NULL);
  g_return_val_if_fail (
      d->c_in > 0 && d->groups > 0 && d->c_in % d->groups == 0 && d->c_out % d->groups == 0, NULL);
  g_return_val_if_fail (d->kh > 0 && d->kw > 0 && d->stride[0] > 0 && d->stride[1] > 0 &&
                            d->dilation[0] > 0 && d->dilation[1] > 0,
                        NULL);
  g_return_val_if_fail (!ep || (ep->n >= 0 && ep->n <= AF_CPU_MAX_EPILOGUE), NULL);
  AfConvKernel *k = g_new0 (AfConvKernel, 1);
  k->d = *d;
  if (ep)
    k->ep = *ep;
  k->simple = af__epilogue_is_simple (&k->ep);
  if (k->simple)
    af__simple_ep (&k->ep, &k->se);
  k->cin_g = d->c_in / d->groups;
  k->cout_g = d->c_out / d->groups;
  k->kdim = k->cin_g * d->kh * d->kw;
  k->m_blocks = af__ceil_div (k->cout_g, MR);
  k->hw_out = d->h_out * d->w_out;
  k->depthwise = d->groups == d->c_in && d->groups == d->c_out;
  k->direct = d->kh == 1 && d->kw == 1 && d->stride[0] == 1 && d->stride[1] == 1 &&
              d->pad[0] == 0 && d->pad[1] == 0 && d->pad[2] == 0 && d->pad[3] == 0 &&
              d->h_out == d->h_in && d->w_out == d->w_in;
  k->gather = d->kh * d->kw == 1 && !k->direct;
  k->bias = g_new0 (float, MAX (d->c_out, 1));
  if (bias)
    memcpy (k->bias, bias, d->c_out * sizeof (float));
  if (!k->depthwise && af__wino_eligible (d)) {
    k->wino = af__wino_new (d, w, bias, ep);
    k->scratch = af__wino_scratch_size (k->wino);
    return k;
  }
  if (!k->depthwise && k->hw_out > 0 && af__dir_eligible (d)) {
    k->dir = af__dir_new (d, w, bias, ep);
    k->scratch = af__dir_scratch_size (k->dir);
    return k;
  }
  if (k->depthwise) {
    k->span = MAX (af__conv_cols_in (d, d->w_out), 1);
    k->scratch = af__dw_layout (k, NULL, NULL);
  } else if (k->hw_out > 0) {
    af__conv_plan_tiles (k);
  }
  af__conv_pack_weights (k, w); /* after planning: the layout follows kc */
  k->scratch = MAX (k->scratch, 64);
  return k;
}

void
af_cpu_conv_plan_threads (AfConvKernel *k, int n_threads)
{
  if (!k->wino && !k->dir && !k->depthwise && k->hw_out > 0)
    k->split = af__conv_split (k, n_threads, af__cpu_use_avx512 ());
}

gsize
af_cpu_conv_scratch_size (const AfConvKernel *k)
{
  return k->scratch;
}

void
af_cpu_conv_free (AfConvKernel *k)
{
  if (!k)
    return;
  af__wino_free (k->wino);
  af__dir_free (k->dir);
  af_big_free (k->w);
  g_free (k->bias);
  g_free (k);
}

/* ------------------------------------------------------------ im2col */

/* Fills dst[0, n) with input row @iy of @plane sampled at ix0 + t * @sw,
 * zeros outside the image. @tmp holds n fp16 values for strided gathers. */
static void
af__conv_sample_row (const AfConvDesc *d, gboolean simd, const guint16 *plane, gint64 iy,
                     gint64 ix0, gint64 sw, gint64 n, float *dst, guint16 *tmp)
{
  gint64 w_in = d->w_in;
  if (iy < 0 || iy >= d->h_in || n <= 0) {
    memset (dst, 0, n * sizeof (float));
    return;
  }
  gint64 lo = ix0 >= 0 ? 0 : af__ceil_div (-ix0, sw);
  gint64 hi = ix0 >= w_in ? 0 : (w_in - 1 - ix0) / sw + 1;
  lo = MIN (lo, n);
  hi = CLAMP (hi, lo, n);
  memset (dst, 0, lo * sizeof (float));
  memset (dst + hi, 0, (n - hi) * sizeof (float));
  const guint16 *row = plane + iy * w_in + ix0 + lo * sw;
  if (sw == 1) {
    af__h2f_n (simd, row, dst + lo, hi - lo);
    return;
  }
  for (gint64 t = 0; t < hi - lo; t++)
    tmp[t] = row[t * sw];
  af__h2f_n (simd, tmp, dst + lo, hi - lo);
}

/* One im2col row: kernel tap (ky, kx) of input plane @plane for output
 * pixels [p0, p0 + n). */
static void
af__conv_im2col_row (const AfConvDesc *d, gboolean simd, const guint16 *plane, gint64 ky, gint64 kx,
                     gint64 p0, gint64 n, float *dst, guint16 *tmp)
{
  gint64 oy = p0 / d->w_out, ox = p0 % d->w_out;
  for (gint64 j = 0; j < n; oy++, ox = 0) {
    gint64 seg = MIN (n - j, d->w_out - ox);
    gint64 iy = oy * d->stride[0] - d->pad[0] + ky * d->dilation[0];
    gint64 ix0 = ox * d->stride[1] - d->pad[1] + kx * d->dilation[1];
    af__conv_sample_row (d, simd, plane, iy, ix0, d->stride[1], seg, dst + j, tmp);
    j += seg;
  }
}

/* Fills @pp with input channels [c0, c1) of group @g, rows from output
 * row @oy0 on (k->pp_rows of them, as far as they exist), columns from
 * -pad_left, as fp32 with zeros outside the image. With stride 2 each row
 * holds its even columns, then from k->pp_half on its odd ones, so that
 * every tap of a run of output pixels is contiguous. @row: staging for a
 * split row (pp_w floats). */
static void
af__conv_fill_padded (const AfConvKernel *k, gboolean simd, const guint16 *in, gint64 g, gint64 c0,
                      gint64 c1, gint64 oy0, float *pp, float *row)
{
  const AfConvDesc *d = &k->d;
  gint64 wp = k->pp_w, ylo = oy0 * d->stride[0] - d->pad[0], xlo = -d->pad[1];
  gint64 xa = CLAMP (0, xlo, xlo + wp), xb = CLAMP (d->w_in, xa, xlo + wp);
  for (gint64 c = c0; c < c1; c++) {
    const guint16 *plane = in + (g * k->cin_g + c) * d->h_in * d->w_in;
    for (gint64 r = 0; r < k->pp_rows; r++) {
      gint64 y = ylo + r;
      float *dst = pp + ((c - c0) * k->pp_rows + r) * wp;
      if (y < 0 || y >= d->h_in) {
        memset (dst, 0, wp * sizeof (float));
        continue;
      }
      float *to = k->pp_half ? row : dst;
      memset (to, 0, (xa - xlo) * sizeof (float));
      af__h2f_n (simd, plane + y * d->w_in + xa, to + (xa - xlo), xb - xa);
      memset (to + (xb - xlo), 0, (xlo + wp - xb) * sizeof (float));
      if (k->pp_half)
        af__split2 (simd, row, wp, dst, dst + k->pp_half);
    }
  }
}

/* Where tap (ky, kx) of padded-copy channel @pc starts, for output pixel
 * (oy0, 0): add af__conv_pp_pixel for another pixel. */
static inline gint64
af__conv_pp_tap (const AfConvKernel *k, gint64 pc, gint64 ky, gint64 kx)
{
  const AfConvDesc *d = &k->d;
  gint64 x = kx * d->dilation[1];
  return (pc * k->pp_rows + ky * d->dilation[0]) * k->pp_w +
         (k->pp_half ? (x & 1) * k->pp_half + (x >> 1) : x);
}

/* The offset of output pixel (oy, ox) in the padded copy from row @oy0;
 * consecutive ox are consecutive floats unless the stride is above 2. */
static inline gint64
af__conv_pp_pixel (const AfConvKernel *k, gint64 oy0, gint64 oy, gint64 ox)
{
  const AfConvDesc *d = &k->d;
  return (oy - oy0) * d->stride[0] * k->pp_w + (k->pp_half ? ox : ox * d->stride[1]);
}

/* One im2col row from the padded copy: tap (ky, kx) of its channel @pc
 * for output pixels [p0, p0 + n), the copy starting at output row @oy0. */
static void
af__conv_im2col_row_pp (const AfConvKernel *k, const float *pp, gint64 pc, gint64 ky, gint64 kx,
                        gint64 oy0, gint64 p0, gint64 n, float *dst)
{
  const AfConvDesc *d = &k->d;
  gint64 step = k->pp_half ? 1 : d->stride[1], oy = p0 / d->w_out, ox = p0 % d->w_out;
  const float *tap = pp + af__conv_pp_tap (k, pc, ky, kx);
  for (gint64 j = 0; j < n; oy++, ox = 0) {
    gint64 seg = MIN (n - j, d->w_out - ox);
    const float *src = tap + af__conv_pp_pixel (k, oy0, oy, ox);
    if (step == 1)
      memcpy (dst + j, src, seg * sizeof (float));
    else
      for (gint64 t = 0; t < seg; t++)
        dst[j + t] = src[t * step];
    j += seg;
  }
}

#ifdef AF_X86
/* dst[0, n) = src[0, n), 0 < n <= 16, in whole vectors that stay inside
 * both ranges (overlapping when n is not a vector multiple). */
__attribute__ ((target ("avx2"), always_inline)) static inline void
af__copy16 (float *dst, const float *src, gint64 n)
{
  if (n >= 8) {
    __m256 a = _mm256_loadu_ps (src), b = _mm256_loadu_ps (src + n - 8);
    _mm256_storeu_ps (dst, a);
    _mm256_storeu_ps (dst + n - 8, b);
  } else if (n >= 4) {
    __m128 a = _mm_loadu_ps (src), b = _mm_loadu_ps (src + n - 4);
    _mm_storeu_ps (dst, a);
    _mm_storeu_ps (dst + n - 4, b);
  } else {
    for (gint64 t = 0; t < n; t++)
      dst[t] = src[t];
  }
}

/* dst[0, n) = fp32 (src[0, n)), 0 < n <= 16, likewise. */
__attribute__ ((target ("avx2,f16c"), always_inline)) static inline void
af__h2f16 (float *dst, const guint16 *src, gint64 n)
{
  if (n == 16) {
    __m256 a = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) src));
    __m256 b = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + 8)));
    _mm256_storeu_ps (dst, a);
    _mm256_storeu_ps (dst + 8, b);
  } else if (n >= 8) {
    __m256 a = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) src));
    __m256 b = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (src + n - 8)));
    _mm256_storeu_ps (dst, a);
    _mm256_storeu_ps (dst + n - 8, b);
  } else {
    for (gint64 t = 0; t < n; t++)
      dst[t] = _cvtsh_ss (src[t]);
  }
}

/* The tile of af__conv_build_tile written strip by strip, each element
 * once, straight from the input (1x1 direct convs: fp16 converted in
 * place) or from the padded copy (strides 1 and 2: a strip's pixels are at
 * most a few contiguous runs per tap). @offs: kc tap offsets. */
__attribute__ ((target ("avx2,f16c"))) static void
af__conv_tile_strips_avx2 (const AfConvKernel *k, const guint16 *in, gint64 g, gint64 k0, gint64 k1,
                           gint64 p0, gint64 ncols, float *tile, const float *pp, gint64 *offs)
{
  const AfConvDesc *d = &k->d;
  gint64 taps = d->kh * d->kw, c0 = k0 / taps, oy0 = p0 / d->w_out;
  gint64 plane_sz = d->h_in * d->w_in;
  gint64 c = c0, ky = (k0 % taps) / d->kw, kx = k0 % d->kw; /* of row p, walked */
  for (gint64 p = k0; p < k1; p++) {
    offs[p - k0] =
        k->direct ? (g * k->cin_g + c) * plane_sz + p0 : af__conv_pp_tap (k, c - c0, ky, kx);
    if (++kx == d->kw) {
      kx = 0;
      if (++ky == d->kh) {
        ky = 0;
        c++;
      }
    }
  }
  for (gint64 j0 = 0; j0 < ncols; j0 += NR) {
    gint64 j1 = MIN (ncols, j0 + NR);
    float *dst = tile + j0 * k->kc;
    if (k->direct) {
      for (gint64 p = k0; p < k1; p++, dst += NR)
        af__h2f16 (dst, in + offs[p - k0] + j0, j1 - j0);
    } else {
      gint64 lane[NR], len[NR], at[NR], n_seg = 0; /* the strip's runs of pixels */
      for (gint64 j = j0; j < j1; n_seg++) {
        gint64 oy = (p0 + j) / d->w_out, ox = (p0 + j) % d->w_out;
        lane[n_seg] = j - j0;
        len[n_seg] = MIN (j1 - j, d->w_out - ox);
        at[n_seg] = af__conv_pp_pixel (k, oy0, oy, ox);
        j += len[n_seg];
      }
      if (n_seg == 1 && len[0] == NR) {
        const float *src = pp + at[0];
        for (gint64 p = k0; p < k1; p++, dst += NR) {
          const float *s = src + offs[p - k0];
          _mm256_storeu_ps (dst, _mm256_loadu_ps (s));
          _mm256_storeu_ps (dst + 8, _mm256_loadu_ps (s + 8));
        }
      } else {
        for (gint64 p = k0; p < k1; p++, dst += NR)
          for (gint64 i = 0; i < n_seg; i++)
            af__copy16 (dst + lane[i], pp + at[i] + offs[p - k0], len[i]);
      }
    }
    if (j1 - j0 < NR) /* the last strip's columns past @ncols are zeros */
      for (gint64 p = k0; p < k1; p++)
        memset (tile + j0 * k->kc + (p - k0) * NR + (j1 - j0), 0,
                (NR - (j1 - j0)) * sizeof (float));
  }
}
#endif

#ifdef AF_X86
/* The tile of a 1x1 conv that is not direct (a stride or a pad: ResNet's
 * downsamples): per channel, all the tile's fp16 values gathered through
 * its pixel offsets (@pix, -1 outside the image: zero) into @tmp, then
 * converted 16 at a time into the strips. The row-segment gathers of
 * af__conv_im2col_row took a fifth of a 7x7 downsample conv (7 pixels a
 * call); gathering a strip's 16 values and loading them at once stalled on
 * store forwarding. */
__attribute__ ((target ("avx2,f16c"))) static void
af__conv_tile_gather_avx2 (const AfConvKernel *k, const guint16 *in, gint64 g, gint64 k0, gint64 k1,
                           gint64 p0, gint64 ncols, float *tile, gint64 *pix, guint16 *tmp)
{
  const AfConvDesc *d = &k->d;
  gint64 plane_sz = d->h_in * d->w_in, n_pad = af__round_up (ncols, NR);
  for (gint64 j = 0; j < n_pad; j++) {
    gint64 oy = (p0 + j) / d->w_out, ox = (p0 + j) % d->w_out;
    gint64 iy = oy * d->stride[0] - d->pad[0], ix = ox * d->stride[1] - d->pad[1];
    gboolean in_image = j < ncols && iy >= 0 && iy < d->h_in && ix >= 0 && ix < d->w_in;
    pix[j] = in_image ? iy * d->w_in + ix : -1;
  }
  for (gint64 p = k0; p < k1; p++) {
    const guint16 *plane = in + (g * k->cin_g + p) * plane_sz;
    for (gint64 j = 0; j < n_pad; j++)
      tmp[j] = pix[j] >= 0 ? plane[pix[j]] : 0;
    float *dst = tile + (p - k0) * NR;
    for (gint64 j0 = 0; j0 < n_pad; j0 += NR, dst += k->kc * NR) {
      const __m128i *h = (const __m128i *) (tmp + j0);
      _mm256_storeu_ps (dst, _mm256_cvtph_ps (_mm_loadu_si128 (h)));
      _mm256_storeu_ps (dst + 8, _mm256_cvtph_ps (_mm_loadu_si128 (h + 1)));
    }
  }
}
#endif

/* Builds rows [k0, k1) of the im2col tile of group @g for pixels [p0, p0 +
 * ncols) as 16-column strips: element (p, j) goes to tile[(j / NR) * kc *
 * NR + (p - k0) * NR + j % NR] (so a strip is contiguous and stays in L1),
 * columns past @ncols are zeros. @row: ldb floats of staging; @pp: the
 * padded-copy scratch when k->padded. */
static void
af__conv_build_tile (const AfConvKernel *k, gboolean simd, const guint16 *in, gint64 g, gint64 k0,
                     gint64 k1, gint64 p0, gint64 ncols, const AfConvScratch *sc)
{
  float *tile = sc->tile, *row = sc->row, *pp = sc->pp;
  const AfConvDesc *d = &k->d;
  gint64 plane_sz = d->h_in * d->w_in, taps = d->kh * d->kw, n_pad = af__round_up (ncols, NR);
  gint64 c0 = k0 / taps, oy0 = p0 / d->w_out;
  if (k->padded)
    af__conv_fill_padded (k, simd, in, g, c0, (k1 - 1) / taps + 1, oy0, pp, sc->pp_row);
#ifdef AF_X86
  if (simd && (k->direct || (k->padded && d->stride[1] <= 2))) {
    af__conv_tile_strips_avx2 (k, in, g, k0, k1, p0, ncols, tile, pp, sc->offs);
    return;
  }
  if (simd && k->gather) {
    af__conv_tile_gather_avx2 (k, in, g, k0, k1, p0, ncols, tile, sc->pix, sc->tmp);
    return;
  }
#endif
  memset (row + ncols, 0, (n_pad - ncols) * sizeof (float));
  for (gint64 p = k0; p < k1; p++) {
    gint64 c = p / taps, ky = (p % taps) / d->kw, kx = p % d->kw;
    const guint16 *plane = in + (g * k->cin_g + c) * plane_sz;
    if (k->direct)
      af__h2f_n (simd, plane + p0, row, ncols);
    else if (k->padded)
      af__conv_im2col_row_pp (k, pp, c - c0, ky, kx, oy0, p0, ncols, row);
    else
      af__conv_im2col_row (d, simd, plane, ky, kx, p0, ncols, row, sc->tmp);
    float *dst = tile + (p - k0) * NR;
    for (gint64 j = 0; j < n_pad; j += NR, dst += k->kc * NR)
      memcpy (dst, row + j, NR * sizeof (float));
  }
}

/* Asks for the weights a little ahead (at most 24 KB of the @n floats at
 * @w: the pairs after the next) in L2 while this pair computes: on small
 * images a pair runs only a few strips and its weights come from memory. */
static void
af__conv_prefetch (const float *w, gint64 n)
{
#ifdef AF_X86
  n = MIN (n, 2 * (gint64) (12 * 1024 / sizeof (float)));
  for (gint64 i = 0; i < n; i += 16)
    _mm_prefetch ((const char *) (w + i), _MM_HINT_T1);
#else
  (void) w;
  (void) n;
#endif
}

/* Pixel tile @ti of @n: [*p0, *p0 + *ncols). The full 16-pixel strips are
 * shared out evenly (tile sizes differ by at most one strip), the last tile
 * also takes the partial one: 196 pixels in 2 tiles are 96 + 100, not 112 +
 * 84, so two threads get the same work. */
static void
af__conv_tile (const AfConvKernel *k, gint64 n, gint64 ti, gint64 *p0, gint64 *ncols)
{
  gint64 strips = k->hw_out / NR;
  *p0 = ti * strips / n * NR;
  *ncols = (ti == n - 1 ? k->hw_out : (ti + 1) * strips / n * NR) - *p0;
}

/* Accumulates K block [k0, k1) of a tile of @ncols pixels into the C block
 * @cb of panels [mb0, mb1): panel pairs (AVX-512) or panels outer, strips
 * inner, so a panel's weights stay in L1 while the strips (the whole tile
 * is in L2) stream past; a narrow tail strip last, all panels at once. */
static void
af__conv_kblock (const AfConvRun *r, gint64 g, gint64 p0, const float *wg, gint64 k0, gint64 k1,
                 gint64 mb0, gint64 mb1, gint64 ncols, const float *tile, gboolean load, float *cb)
{
  const AfConvKernel *k = r->k;
  gint64 ldb = k->ldb, kn = k1 - k0, lda = kn * MR, rem = ncols % NR;
  /* the last strip: up to 4 pixels narrow; with AVX-512 pairs, 5..12 as 8
     columns of ymm (+ the rest narrow) instead of a mostly empty 16 */
  gint64 tail8 = r->avx512 && rem > AF_GEMM_NARROW && rem <= 8 + AF_GEMM_NARROW ? 8 : 0;
  gint64 n_wide = r->simd && rem > 0 && (rem <= AF_GEMM_NARROW || tail8) ? ncols - rem : ncols;
  gint64 n_narrow = ncols - n_wide - MIN (tail8, rem);
  /* narrow columns ride along with each panel's last fused strip */
  const float *bt = r->fused && n_narrow > 0 && n_wide >= NR ? tile + n_wide * k->kc + tail8 : NULL;
  const float *w_end = k->w + k->d.groups * k->m_blocks * k->kdim * MR;
  gint64 nb0 = mb0; /* the first panel whose narrow tail is not summed yet */
  for (gint64 mb = mb0; mb < mb1;) {
    const float *a = wg + af__conv_panel_at (k, 0, k0, kn, mb);
    float *c = cb + (mb - mb0) * MR * ldb;
    int rows = (int) MIN (2 * MR, k->cout_g - mb * MR);
    gboolean two = r->avx512 && mb + 1 < mb1;
    /* the weights of the pair after the next (or the next K block's first
       ones: the panels are one stream): in the AVX-512 kernels a line per
       k step, else all at once here */
    const float *pf = a + 4 * lda < w_end ? a + 4 * lda : a;
    if (!two)
      af__conv_prefetch (a + 2 * lda, (mb1 - mb - 2) * lda);
    for (gint64 s = 0; s < n_wide; s += NR) {
      int nr = (int) MIN (NR, n_wide - s);
      const float *b = tile + s * k->kc;
      if (nr == NR && r->fused) { /* finished here, not in @cb (a last single panel too) */
        gint64 row = g * k->cout_g + mb * MR, at = row * k->hw_out + p0 + s;
        int mr = two ? rows : (int) MIN (MR, rows);
        const guint16 *res = r->res ? r->res + at : NULL;
        if (bt && s + NR == n_wide)
          af__gemm_fin12t_avx512 (kn, a, lda, b, NR, pf, mr, k->bias + row, &k->se, res,
                                  r->out + at, k->hw_out, bt, (int) n_narrow, c + n_wide + tail8,
                                  ldb);
        else
          af__gemm_fin12_avx512 (kn, a, lda, b, NR, pf, mr, k->bias + row, &k->se, res, r->out + at,
                                 k->hw_out);
        continue;
      }
      if (two && nr > 8) {
        af__gemm_acc12_avx512 (kn, a, lda, b, NR, pf, rows, load, c + s, ldb);
        continue;
      }
      af__gemm_acc (r->simd, kn, a, b, NR, MIN (MR, rows), nr, load, c + s, ldb);
      if (two)
        af__gemm_acc (r->simd, kn, a + lda, b, NR, rows - MR, nr, load, c + MR * ldb + s, ldb);
    }
    if (tail8) { /* the last strip's first 8 columns while the pair's weights are in L1 */
      const float *b = tile + n_wide * k->kc;
      if (two)
        af__gemm_acc12x8 (kn, a, lda, b, NR, rows, load, c + n_wide, ldb);
      else
        af__gemm_acc (r->simd, kn, a, b, NR, MIN (MR, rows), 8, load, c + n_wide, ldb);
    }
    mb += two ? 2 : 1;
    /* a tail strip (or its last columns), channels in the vector lanes, for
       every 12 panels done, while their weights are still in L2 */
    if (n_narrow > 0 && !bt && (mb - nb0 >= AF_CONV_NARROW_PANELS || mb == mb1)) {
      af__gemm_acc_narrow (TRUE, kn, wg + af__conv_panel_at (k, 0, k0, kn, nb0), lda,
                           tile + n_wide * k->kc + tail8, NR,
                           (int) (MIN (k->cout_g, mb * MR) - nb0 * MR), (int) n_narrow, load,
                           cb + (nb0 - mb0) * MR * ldb + n_wide + tail8, ldb);
      nb0 = mb;
    }
  }
}

#ifdef AF_X86
/* Columns [j0, ncols) of C rows [0, nrows) (output rows row0 ..), a tail of
 * at most a strip, finished as af__finish_row would with the simple
 * epilogue: 8 rows per vector instead of one call per row (a 7x7 image's
 * 1-pixel tail over 960 channels was 960 calls). */
__attribute__ ((target ("avx2,f16c"))) static void
af__conv_finish_cols (const AfConvKernel *k, const float *cb, gint64 ldb, gint64 row0, gint64 nrows,
                      gint64 p0, gint64 j0, gint64 ncols, const guint16 *res, guint16 *out)
{
  const AfSimpleEp se = k->se;
  const gint64 hw = k->hw_out;
  __m256 lo0 = _mm256_set1_ps (se.lo[0]), hi0 = _mm256_set1_ps (se.hi[0]);
  __m256 lo1 = _mm256_set1_ps (se.lo[1]), hi1 = _mm256_set1_ps (se.hi[1]);
  for (gint64 r = 0; r < nrows; r += 8) {
    int m = (int) MIN (8, nrows - r);
    float tb[8] = { 0 };
    memcpy (tb, k->bias + row0 + r, m * sizeof (float));
    __m256 vb = _mm256_loadu_ps (tb);
    for (gint64 j = j0; j < ncols; j++) {
      float t[8] = { 0 };
      guint16 tr[8] = { 0 }, h[8];
      gint64 at = (row0 + r) * hw + p0 + j;
      for (int i = 0; i < m; i++)
        t[i] = cb[(r + i) * ldb + j];
      if (se.add)
        for (int i = 0; i < m; i++)
          tr[i] = res[at + i * hw];
      _mm_storeu_si128 ((__m128i *) h,
                        af__simple8 (_mm256_add_ps (_mm256_loadu_ps (t), vb), &se, lo0, hi0,
                                     _mm_loadu_si128 ((const __m128i *) tr), lo1, hi1));
      for (int i = 0; i < m; i++)
        out[at + i * hw] = h[i];
    }
  }
}
#endif

/* Task @t of split @sp: (group, pixel tile) pair @pair, panels [mb0, mb1). */
static void
af__conv_task_range (const AfConvKernel *k, const AfConvSplit *sp, gint64 t, gint64 *pair,
                     gint64 *mb0, gint64 *mb1)
{
  *pair = t;
  *mb0 = 0;
  *mb1 = k->m_blocks;
  if (t >= sp->n_whole) {
    *pair = sp->n_whole + (t - sp->n_whole) / sp->m_chunks;
    *mb0 = (t - sp->n_whole) % sp->m_chunks * sp->mb_per;
    *mb1 = MIN (k->m_blocks, *mb0 + sp->mb_per);
  }
}

/* Estimated cycles of a task: @panels panels over @ncols pixels (6 FMAs
 * per panel, full strip and k step; a last strip of 5..12 pixels runs as 8
 * ymm columns, at most 4 with the channels in the lanes), plus its im2col
 * tile (about 1.5 cycles per strip and k step) and a fixed cost. */
static double
af__conv_task_cost (const AfConvKernel *k, gint64 ncols, gint64 panels)
{
  gint64 rem = ncols % NR, full = ncols / NR;
  double tail = rem == 0                ? 0
                : rem <= AF_GEMM_NARROW ? rem / 16.0
                : rem <= 8              ? 0.5
                : rem <= 12             ? 0.5 + (rem - 8) / 16.0
                                        : 1.0;
  double strips = full + tail;
  return (double) k->kdim * (6.0 * panels * strips + 1.5 * af__ceil_div (ncols, NR)) + 2000.0;
}

/* The time split @sp takes on @nt threads, each taking the next task when
 * free (what the pool does). */
static double
af__conv_makespan (const AfConvKernel *k, const AfConvSplit *sp, int nt)
{
  double *load = g_newa (double, nt), span = 0;
  memset (load, 0, nt * sizeof (double));
  gint64 n = sp->n_whole + (k->d.groups * sp->n_tiles - sp->n_whole) * sp->m_chunks;
  for (gint64 t = 0; t < n; t++) {
    gint64 pair, mb0, mb1, p0, ncols;
    af__conv_task_range (k, sp, t, &pair, &mb0, &mb1);
    af__conv_tile (k, sp->n_tiles, pair % sp->n_tiles, &p0, &ncols);
    int at = 0;
    for (int i = 1; i < nt; i++)
      if (load[i] < load[at])
        at = i;
    load[at] += af__conv_task_cost (k, ncols, mb1 - mb0);
    span = MAX (span, load[at]);
  }
  return span;
}

/* Plans the tasks for @nt threads. Pixel tiles: the fewest the L2 budget
 * allows (k->n_tiles: every tile reads all the weights once), but at least
 * one per thread where the strips go round, so threads do not build the
 * same im2col tile twice. Whole (group, pixel tile) pairs keep a tile's
 * im2col in one task, but a few uneven tiles leave a thread idle (13x13 =
 * 80 + 89 pixels on two threads); cutting pairs into chunks of output
 * panels balances them at the price of an im2col per chunk. Tries whole
 * pairs with only the ones left over cut, and every pair cut, into 1 to 4 *
 * nt chunks (even panel counts for the AVX-512 pair kernel), and takes a
 * split only when its estimated makespan is 2 % shorter (what the estimate
 * leaves out, e.g. the cut tiles' C blocks, cost about 1 %), the fewer
 * tasks on a tie. */
static AfConvSplit
af__conv_split (const AfConvKernel *k, int nt, gboolean avx512)
{
  gint64 tiles = k->n_tiles;
  if (nt > 1 && k->d.groups < nt)
    tiles = MAX (tiles, MIN (af__round_up (tiles, nt), MAX (k->hw_out / NR, 1)));
  gint64 outer = k->d.groups * tiles;
  AfConvSplit best = {
    .n_threads = nt, .n_tiles = tiles, .n_whole = outer, .m_chunks = 1, .mb_per = k->m_blocks
  };
  if (nt <= 1)
    return best;
  double best_span = af__conv_makespan (k, &best, nt);
  gint64 best_n = outer;
  for (int cut_all = 0; cut_all < 2; cut_all++)
    for (gint64 want = 1; want <= MIN (k->m_blocks, 4 * nt); want++) {
      AfConvSplit sp = { .n_threads = nt,
                         .n_tiles = tiles,
                         .n_whole = cut_all ? 0 : outer / nt * nt };
      sp.mb_per = af__ceil_div (k->m_blocks, want);
      if (avx512)
        sp.mb_per = MIN (af__round_up (sp.mb_per, 2), k->m_blocks);
      sp.m_chunks = af__ceil_div (k->m_blocks, sp.mb_per);
      gint64 n = sp.n_whole + (outer - sp.n_whole) * sp.m_chunks;
      double span = af__conv_makespan (k, &sp, nt);
      if (span < best_span * 0.98 || (span <= best_span && n < best_n)) {
        best = sp;
        best_span = span;
        best_n = n;
      }
    }
  return best;
}

#ifdef AF_X86
/* A task of a few-row 1x1 conv (r->h16): panels [mb0, mb1) of group @g
 * over pixels [p0, p0 + ncols) in 16-pixel strips read straight from the
 * fp16 input, each finished from the registers (no im2col, no C block). */
static void
af__conv_h16_task (const AfConvRun *r, gint64 g, gint64 p0, gint64 ncols, gint64 mb0, gint64 mb1)
{
  const AfConvKernel *k = r->k;
  gint64 hw = k->hw_out, row = g * k->cout_g + mb0 * MR;
  int rows = (int) (MIN (k->cout_g, mb1 * MR) - mb0 * MR);
  const float *a = k->w + af__conv_panel_at (k, g, 0, k->kdim, mb0);
  const guint16 *b = r->in + g * k->cin_g * hw + p0;
  /* calls of at most 4 panels (24 rows), as even as panels go: 32 rows are
     3 + 3 panels, not 4 + 2 */
  int panels = (rows + MR - 1) / MR, calls = (panels + 3) / 4, per = (panels + calls - 1) / calls;
  for (int r0 = 0; r0 < rows; r0 += per * MR) {
    int n = MIN (per * MR, rows - r0);
    const float *ar = a + (gint64) r0 / MR * k->kdim * MR;
    for (gint64 s = 0; s < ncols; s += NR) {
      gint64 at = (row + r0) * hw + p0 + s;
      af__gemm_fin24h_avx512 (k->kdim, ar, k->kdim * MR, b + s, hw, (int) MIN (NR, ncols - s), n,
                              k->bias + row + r0, &k->se, r->res ? r->res + at : NULL, r->out + at,
                              hw);
    }
  }
}
#endif

/* One task: pixel tile ti of group g, output panels [mb0, mb1). For each K
 * block: build its im2col rows, then run the microkernel of every panel
 * (pair) over every 16-pixel strip, accumulating in the fp32 C block;
 * finally finish the C rows into the output (all but what the fused
 * AVX-512 kernel already finished from its registers). */
static void
af__conv_gemm_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfConvRun *r = ctx;
  const AfConvKernel *k = r->k;
  AfConvScratch sc;
  af__conv_layout (k, r->scratch + (gsize) thread * k->scratch, &sc);
  float *cb = sc.cb;
  gint64 ldb = k->ldb;
  for (gint64 t = begin; t < end; t++) {
    gint64 pair, mb0, mb1;
    af__conv_task_range (k, &r->sp, t, &pair, &mb0, &mb1);
    gint64 g = pair / r->sp.n_tiles, ti = pair % r->sp.n_tiles;
    gint64 p0, ncols;
    af__conv_tile (k, r->sp.n_tiles, ti, &p0, &ncols);
#ifdef AF_X86
    if (r->h16) {
      af__conv_h16_task (r, g, p0, ncols, mb0, mb1);
      continue;
    }
#endif
    const float *wg = k->w + af__conv_panel_at (k, g, 0, 0, 0);
    for (gint64 kb = 0; kb < k->n_kb; kb++) {
      gint64 k0 = kb * k->kc, k1 = MIN (k->kdim, k0 + k->kc);
      af__conv_build_tile (k, r->simd, r->in, g, k0, k1, p0, ncols, &sc);
      af__conv_kblock (r, g, p0, wg, k0, k1, mb0, mb1, ncols, sc.tile, kb > 0, cb);
    }
    gint64 row0 = g * k->cout_g + mb0 * MR, row1 = g * k->cout_g + MIN (k->cout_g, mb1 * MR);
#ifdef AF_X86
    if (r->fused) { /* every row's full strips are done; its tail columns (under a strip) */
      gint64 done = ncols / NR * NR;
      if (done < ncols)
        af__conv_finish_cols (k, cb, ldb, row0, row1 - row0, p0, done, ncols, r->res, r->out);
      continue;
    }
#endif
    for (gint64 row = row0; row < row1; row++) {
      gint64 at = row * k->hw_out + p0;
      af__finish_row (r->simd, cb + (row - row0) * ldb, ncols, k->bias[row], NULL, &k->ep,
                      r->res ? r->res + at : NULL, r->out + at);
    }
  }
}

/* ------------------------------------------------------------ depthwise
 * Per output row, every valid kernel tap gets a pointer to a contiguous fp32
 * row holding its input for ox = 0, 1, ...: with stride 1 the kh padded input
 * rows shifted by kx * dilation, otherwise one gathered row per tap. Then
 * each output sums its taps in (ky, kx) order (rows outside the image only
 * add zeros, so skipping them is exact) in registers. */

struct AfDwScratch_ {
  float *rows;       /* stride 1: [kh][span + pad]; else [kh * kw][w_out + pad] */
  float *acc;        /* [w_out + pad] */
  const float **tap; /* [kh * kw] */
  float *tw;         /* [kh * kw] weights of the valid taps */
  guint16 *tmp;      /* [w_out] gather buffer */
};

#define AF_DW_PAD 8 /* readable floats past each row (vector tails) */

static gsize
af__dw_layout (const AfConvKernel *k, guint8 *base, AfDwScratch *s)
{
  const AfConvDesc *d = &k->d;
  gint64 taps = d->kh * d->kw;
  gsize rows = d->stride[1] == 1 ? d->kh * (k->span + AF_DW_PAD) : taps * (d->w_out + AF_DW_PAD);
  gsize off = 0;
  AF_TAKE (rows, float, rows);
  AF_TAKE (acc, float, d->w_out + AF_DW_PAD);
  AF_TAKE (tap, const float *, taps);
  AF_TAKE (tw, float, taps);
  AF_TAKE (tmp, guint16, d->w_out);
  return off;
}

#ifdef AF_X86
__attribute__ ((target ("avx2,fma"))) static void
af__dw_sum_avx2 (gint64 n, int taps, const float *const *tap, const float *tw, float *acc)
{
  for (gint64 x = 0; x < n; x += 8) { /* rows and acc are padded past n */
    __m256 a = _mm256_setzero_ps ();
    for (int t = 0; t < taps; t++)
      a = _mm256_fmadd_ps (_mm256_broadcast_ss (tw + t), _mm256_loadu_ps (tap[t] + x), a);
    _mm256_storeu_ps (acc + x, a);
  }
}
#endif

static void
af__dw_sum (gboolean simd, gint64 n, int taps, const float *const *tap, const float *tw, float *acc)
{
#ifdef AF_X86
  if (simd) {
    af__dw_sum_avx2 (n, taps, tap, tw, acc);
    return;
  }
#endif
  for (gint64 x = 0; x < n; x++) {
    float a = 0.0f;
    for (int t = 0; t < taps; t++)
      a += tw[t] * tap[t][x];
    acc[x] = a;
  }
}

/* Points the taps of output row @oy at their input; returns how many. */
static int
af__dw_taps (const AfConvKernel *k, gboolean simd, const guint16 *plane, const float *w, gint64 oy,
             AfDwScratch *s)
{
  const AfConvDesc *d = &k->d;
  gint64 row_len = d->stride[1] == 1 ? k->span + AF_DW_PAD : d->w_out + AF_DW_PAD;
  int n = 0;
  for (gint64 ky = 0; ky < d->kh; ky++) {
    gint64 iy = oy * d->stride[0] - d->pad[0] + ky * d->dilation[0];
    if (iy < 0 || iy >= d->h_in)
      continue;
    if (d->stride[1] == 1) {
      float *row = s->rows + ky * row_len;
      af__conv_sample_row (d, simd, plane, iy, -d->pad[1], 1, k->span, row, NULL);
      for (gint64 kx = 0; kx < d->kw; kx++, n++) {
        s->tap[n] = row + kx * d->dilation[1];
        s->tw[n] = w[ky * d->kw + kx];
      }
      continue;
    }
    for (gint64 kx = 0; kx < d->kw; kx++, n++) {
      float *row = s->rows + (ky * d->kw + kx) * row_len;
      af__conv_sample_row (d, simd, plane, iy, kx * d->dilation[1] - d->pad[1], d->stride[1],
                           d->w_out, row, s->tmp);
      s->tap[n] = row;
      s->tw[n] = w[ky * d->kw + kx];
    }
  }
  return n;
}

static void
af__conv_dw_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfConvRun *r = ctx;
  const AfConvKernel *k = r->k;
  const AfConvDesc *d = &k->d;
  AfDwScratch s;
  af__dw_layout (k, r->scratch + (gsize) thread * k->scratch, &s);
  gint64 row_len = d->stride[1] == 1 ? k->span + AF_DW_PAD : d->w_out + AF_DW_PAD;
  gint64 n_rows = d->stride[1] == 1 ? d->kh : d->kh * d->kw;
  for (gint64 i = 0; i < n_rows; i++) /* the pad past each row stays zero */
    memset (s.rows + i * row_len, 0, row_len * sizeof (float));
  for (gint64 c = begin; c < end; c++) {
    const guint16 *plane = r->in + c * d->h_in * d->w_in;
    const float *w = k->w + c * d->kh * d->kw;
    for (gint64 oy = 0; oy < d->h_out; oy++) {
      int taps = af__dw_taps (k, r->simd, plane, w, oy, &s);
      af__dw_sum (r->simd, d->w_out, taps, s.tap, s.tw, s.acc);
      gint64 at = (c * d->h_out + oy) * d->w_out;
      af__finish_row (r->simd, s.acc, d->w_out, k->bias[c], NULL, &k->ep,
                      r->res ? r->res + at : NULL, r->out + at);
    }
  }
}

/* ------------------------------------------------------------ run */

void
af_cpu_conv_run (const AfConvKernel *k, const guint16 *in, guint16 *out, guint8 *scratch,
                 AfPool *pool)
{
  af_cpu_conv_run_res (k, in, NULL, out, scratch, pool);
}

void
af_cpu_conv_run_res (const AfConvKernel *k, const guint16 *in, const guint16 *res, guint16 *out,
                     guint8 *scratch, AfPool *pool)
{
  AfConvRun r = { .k = k,
                  .in = in,
                  .out = out,
                  .scratch = scratch,
                  .simd = af__cpu_use_simd (),
                  .avx512 = af__cpu_use_avx512 (),
                  .res = res };
  r.fused = r.avx512 && k->simple && k->n_kb == 1;
  r.h16 = r.fused && k->direct && k->cout_g <= AF_CONV_H16_ROWS && af__cpu_use_avx512bw ();
  g_return_if_fail (!af_cpu_epilogue_has_residual (&k->ep) || res);
  if (k->hw_out == 0 || k->d.c_out == 0)
    return;
  if (k->wino) {
    af__wino_run (k->wino, in, res, out, scratch, pool);
    return;
  }
  if (k->dir) {
    af__dir_run (k->dir, in, res, out, scratch, pool);
    return;
  }
  if (k->depthwise) {
    af_pool_parallel_for (pool, k->d.c_out, 1, af__conv_dw_task, &r);
    return;
  }
  int nt = af_pool_n_threads (pool);
  r.sp = k->split.n_threads == nt ? k->split : af__conv_split (k, nt, r.avx512);
  gint64 outer = k->d.groups * r.sp.n_tiles;
  af_pool_parallel_for_each (pool, r.sp.n_whole + (outer - r.sp.n_whole) * r.sp.m_chunks,
                             af__conv_gemm_task, &r);
}
