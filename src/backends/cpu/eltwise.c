/* eltwise.c — fp16 elementwise kernels (binary with broadcasting, unary,
 * batch norm), data movement (transpose, nearest upsample) and trailing-axis
 * mean / sum. See eltwise.h for the numerics contract.
 *
 * The flat output is cut into blocks of AF_EW_BLOCK elements; a block is
 * computed into an fp32 row on the stack (AVX2/F16C or portable C, the same
 * IEEE operations in the same order) and finished by af__store_row (fp16
 * rounding, epilogue, residual). Blocks are spread over the pool once a
 * tensor has a few of them. The vector bodies are compiled without FMA so
 * that a * b + c is never contracted. */
#include "eltwise.h"
#include "simd.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#include <immintrin.h>
#endif

#define AF_EW_BLOCK 2048 /* elements per task block (fp32 row: 8 KB of stack) */
#define AF_EW_GRAIN 8    /* blocks: below 8 * 2048 elements one thread does it */

static gint64
af__ew_blocks (gint64 numel)
{
  return af__ceil_div (numel, AF_EW_BLOCK);
}

/* ============================================================ binary */

static inline float
af__max_nan (float a, float b)
{
  return isnan (a) || isnan (b) ? NAN : a > b ? a : b;
}

static inline float
af__min_nan (float a, float b)
{
  return isnan (a) || isnan (b) ? NAN : a < b ? a : b;
}

void
af_cpu_binary_init (AfBinaryDesc *d, AfOp op, const AfShape *a, const AfShape *b,
                    const AfShape *out, const AfCpuEpilogue *ep)
{
  memset (d, 0, sizeof *d);
  d->op = op;
  if (ep)
    d->ep = *ep;
  d->numel = af__shape_numel (out);
  /* right-aligned broadcast strides over the output dims */
  gint64 dd[AF_MAX_RANK], sa[AF_MAX_RANK], sb[AF_MAX_RANK];
  gint64 st_a = 1, st_b = 1;
  int r = out->rank;
  for (int i = r - 1; i >= 0; i--) {
    int ja = a->rank - r + i, jb = b->rank - r + i;
    gint64 da = ja >= 0 ? a->d[ja] : 1, db = jb >= 0 ? b->d[jb] : 1;
    dd[i] = out->d[i];
    sa[i] = da == 1 ? 0 : st_a;
    sb[i] = db == 1 ? 0 : st_b;
    st_a *= da;
    st_b *= db;
  }
  /* drop size-1 dims, merge an outer dim into the next when both inputs
   * continue contiguously (or both broadcast) across it */
  int n = 0;
  for (int i = 0; i < r; i++) {
    if (dd[i] == 1)
      continue;
    if (n > 0 && sa[i] * dd[i] == d->sa[n - 1] && sb[i] * dd[i] == d->sb[n - 1]) {
      d->d[n - 1] *= dd[i];
      d->sa[n - 1] = sa[i];
      d->sb[n - 1] = sb[i];
      continue;
    }
    d->d[n] = dd[i];
    d->sa[n] = sa[i];
    d->sb[n] = sb[i];
    n++;
  }
  if (n == 0) {
    d->d[0] = 1;
    n = 1;
  }
  d->rank = n;
}

/* One row segment: y[j] = a[j * ia] OP b[j * ib], j < len. */
static void
af__binary_seg_c (AfOp op, const guint16 *a, gint64 ia, const guint16 *b, gint64 ib, float *y,
                  gint64 len)
{
#define AF_SEG(expr)                                                                               \
  for (gint64 j = 0; j < len; j++) {                                                               \
    float x = af_fp16_to_f32 (a[j * ia]), z = af_fp16_to_f32 (b[j * ib]);                          \
    y[j] = (expr);                                                                                 \
  }
  switch (op) {
  case AF_OP_ADD:
    AF_SEG (x + z);
    break;
  case AF_OP_SUB:
    AF_SEG (x - z);
    break;
  case AF_OP_MUL:
    AF_SEG (x * z);
    break;
  case AF_OP_DIV:
    AF_SEG (x / z);
    break;
  case AF_OP_MAXIMUM:
    AF_SEG (af__max_nan (x, z));
    break;
  case AF_OP_MINIMUM:
    AF_SEG (af__min_nan (x, z));
    break;
  default:
    g_assert_not_reached ();
  }
#undef AF_SEG
}

#ifdef AF_X86
__attribute__ ((target ("avx2,f16c"))) static inline __m256
af__load8 (const guint16 *p, gint64 inc)
{
  if (inc == 0)
    return _mm256_set1_ps (_cvtsh_ss (p[0]));
  return _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) p));
}

__attribute__ ((target ("avx2,f16c"))) static void
af__binary_seg_avx2 (AfOp op, const guint16 *a, gint64 ia, const guint16 *b, gint64 ib, float *y,
                     gint64 len)
{
  gint64 j = 0;
  if ((ia == 0 || ia == 1) && (ib == 0 || ib == 1)) {
    __m256 qnan = _mm256_set1_ps (NAN);
    for (; j + 8 <= len; j += 8) {
      __m256 x = af__load8 (a + j * ia, ia), z = af__load8 (b + j * ib, ib), v;
      switch (op) {
      case AF_OP_ADD:
        v = _mm256_add_ps (x, z);
        break;
      case AF_OP_SUB:
        v = _mm256_sub_ps (x, z);
        break;
      case AF_OP_MUL:
        v = _mm256_mul_ps (x, z);
        break;
      case AF_OP_DIV:
        v = _mm256_div_ps (x, z);
        break;
      case AF_OP_MAXIMUM:
        v = _mm256_blendv_ps (_mm256_max_ps (x, z), qnan, _mm256_cmp_ps (x, z, _CMP_UNORD_Q));
        break;
      default: /* MINIMUM */
        v = _mm256_blendv_ps (_mm256_min_ps (x, z), qnan, _mm256_cmp_ps (x, z, _CMP_UNORD_Q));
        break;
      }
      _mm256_storeu_ps (y + j, v);
    }
  }
  if (j < len)
    af__binary_seg_c (op, a + j * ia, ia, b + j * ib, ib, y + j, len - j);
}
#endif

typedef struct {
  const AfBinaryDesc *d;
  const guint16 *a, *b, *res;
  guint16 *out;
  gboolean simd;
} AfBinaryRun;

static void
af__binary_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfBinaryRun *r = ctx;
  const AfBinaryDesc *d = r->d;
  float y[AF_EW_BLOCK];
  gint64 row = d->d[d->rank - 1], ia = d->sa[d->rank - 1], ib = d->sb[d->rank - 1];
  for (gint64 blk = begin; blk < end; blk++) {
    gint64 e0 = blk * AF_EW_BLOCK, e1 = MIN (e0 + AF_EW_BLOCK, d->numel);
    for (gint64 e = e0; e < e1;) {
      gint64 pos = e % row, seg = MIN (row - pos, e1 - e);
      gint64 oa = pos * ia, ob = pos * ib, idx = e / row;
      for (int i = d->rank - 2; i >= 0; i--) {
        oa += (idx % d->d[i]) * d->sa[i];
        ob += (idx % d->d[i]) * d->sb[i];
        idx /= d->d[i];
      }
#ifdef AF_X86
      if (r->simd)
        af__binary_seg_avx2 (d->op, r->a + oa, ia, r->b + ob, ib, y + (e - e0), seg);
      else
#endif
        af__binary_seg_c (d->op, r->a + oa, ia, r->b + ob, ib, y + (e - e0), seg);
      e += seg;
    }
    af__store_row (r->simd, y, e1 - e0, &d->ep, r->res ? r->res + e0 : NULL, r->out + e0);
  }
}

void
af_cpu_binary_run (const AfBinaryDesc *d, const guint16 *a, const guint16 *b, const guint16 *res,
                   guint16 *out, AfPool *pool)
{
  AfBinaryRun r = { d, a, b, res, out, af__cpu_use_simd () };
  af_pool_parallel_for (pool, af__ew_blocks (d->numel), AF_EW_GRAIN, af__binary_task, &r);
}

/* ============================================================ unary */

void
af_cpu_unary_init (AfUnaryDesc *d, AfOp op, float lo, float hi, gint64 numel,
                   const AfCpuEpilogue *ep)
{
  memset (d, 0, sizeof *d);
  d->numel = numel;
  d->ep.n = 1;
  d->ep.op[0] = op;
  d->ep.lo[0] = lo;
  d->ep.hi[0] = hi;
  for (int i = 0; ep && i < ep->n; i++) {
    AfCpuEpilogue *to = d->ep.n < AF_CPU_MAX_EPILOGUE ? &d->ep : &d->rest;
    to->op[to->n] = ep->op[i];
    to->lo[to->n] = ep->lo[i];
    to->hi[to->n] = ep->hi[i];
    to->n++;
  }
}

typedef struct {
  const AfUnaryDesc *d;
  const guint16 *x, *res;
  guint16 *out;
  gboolean simd;
} AfUnaryRun;

static void
af__unary_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfUnaryRun *r = ctx;
  const AfUnaryDesc *d = r->d;
  float v[AF_EW_BLOCK];
  gboolean ep_res = af_cpu_epilogue_has_residual (&d->ep);
  for (gint64 blk = begin; blk < end; blk++) {
    gint64 e0 = blk * AF_EW_BLOCK, n = MIN (AF_EW_BLOCK, d->numel - e0);
    af_fp16_to_f32_n (r->x + e0, v, n);
    af__store_row (r->simd, v, n, &d->ep, r->res && ep_res ? r->res + e0 : NULL, r->out + e0);
    if (d->rest.n > 0) {
      af_fp16_to_f32_n (r->out + e0, v, n);
      af__store_row (r->simd, v, n, &d->rest, r->res && !ep_res ? r->res + e0 : NULL, r->out + e0);
    }
  }
}

void
af_cpu_unary_run (const AfUnaryDesc *d, const guint16 *x, const guint16 *res, guint16 *out,
                  AfPool *pool)
{
  AfUnaryRun r = { d, x, res, out, af__cpu_use_simd () };
  af_pool_parallel_for (pool, af__ew_blocks (d->numel), AF_EW_GRAIN, af__unary_task, &r);
}

/* ============================================================ batch norm */

void
af_cpu_batch_norm_init (AfBatchNormDesc *d, const AfShape *x, const float *scale, const float *bias,
                        const float *mean, const float *var, float eps, const AfCpuEpilogue *ep)
{
  memset (d, 0, sizeof *d);
  if (ep)
    d->ep = *ep;
  d->c = x->d[1];
  d->outer = x->d[0];
  d->inner = 1;
  for (int i = 2; i < x->rank; i++)
    d->inner *= x->d[i];
  d->p = g_new (float, 4 * MAX (d->c, 1));
  for (gint64 c = 0; c < d->c; c++) {
    d->p[c] = mean[c];
    d->p[d->c + c] = sqrtf (var[c] + eps);
    d->p[2 * d->c + c] = scale[c];
    d->p[3 * d->c + c] = bias[c];
  }
}

void
af_cpu_batch_norm_clear (AfBatchNormDesc *d)
{
  g_clear_pointer (&d->p, g_free);
}

static void
af__bn_seg_c (const guint16 *x, float m, float sd, float s, float b, float *y, gint64 len)
{
  for (gint64 j = 0; j < len; j++)
    y[j] = (af_fp16_to_f32 (x[j]) - m) / sd * s + b;
}

#ifdef AF_X86
__attribute__ ((target ("avx2,f16c"))) static void
af__bn_seg_avx2 (const guint16 *x, float m, float sd, float s, float b, float *y, gint64 len)
{
  __m256 vm = _mm256_set1_ps (m), vsd = _mm256_set1_ps (sd), vs = _mm256_set1_ps (s),
         vb = _mm256_set1_ps (b);
  gint64 j = 0;
  for (; j + 8 <= len; j += 8) {
    __m256 v = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (x + j)));
    v = _mm256_add_ps (_mm256_mul_ps (_mm256_div_ps (_mm256_sub_ps (v, vm), vsd), vs), vb);
    _mm256_storeu_ps (y + j, v);
  }
  af__bn_seg_c (x + j, m, sd, s, b, y + j, len - j);
}
#endif

typedef struct {
  const AfBatchNormDesc *d;
  const guint16 *x, *res;
  guint16 *out;
  gboolean simd;
} AfBnRun;

static void
af__bn_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfBnRun *r = ctx;
  const AfBatchNormDesc *d = r->d;
  gint64 numel = d->outer * d->c * d->inner;
  float y[AF_EW_BLOCK];
  for (gint64 blk = begin; blk < end; blk++) {
    gint64 e0 = blk * AF_EW_BLOCK, e1 = MIN (e0 + AF_EW_BLOCK, numel);
    for (gint64 e = e0; e < e1;) {
      gint64 pos = e % d->inner, seg = MIN (d->inner - pos, e1 - e), c = (e / d->inner) % d->c;
      float m = d->p[c], sd = d->p[d->c + c], s = d->p[2 * d->c + c], b = d->p[3 * d->c + c];
#ifdef AF_X86
      if (r->simd)
        af__bn_seg_avx2 (r->x + e, m, sd, s, b, y + (e - e0), seg);
      else
#endif
        af__bn_seg_c (r->x + e, m, sd, s, b, y + (e - e0), seg);
      e += seg;
    }
    af__store_row (r->simd, y, e1 - e0, &d->ep, r->res ? r->res + e0 : NULL, r->out + e0);
  }
}

void
af_cpu_batch_norm_run (const AfBatchNormDesc *d, const guint16 *x, const guint16 *res, guint16 *out,
                       AfPool *pool)
{
  AfBnRun r = { d, x, res, out, af__cpu_use_simd () };
  af_pool_parallel_for (pool, af__ew_blocks (d->outer * d->c * d->inner), AF_EW_GRAIN, af__bn_task,
                        &r);
}

/* ============================================================ gather */

/* Sets d->t_* when the gather, its dims of size 1 dropped and dims that
 * run contiguously in the input merged, is out[b][r][c] = in[(b * c_n + c)
 * * r_n + r] (at most one batch dim) and has no epilogue. */
static void
af__transpose_plan_2d (AfGatherDesc *d)
{
  gint64 md[AF_MAX_RANK], ms[AF_MAX_RANK];
  int n = 0;
  for (int i = 0; i < d->rank; i++) {
    if (d->d[i] == 1)
      continue;
    if (n > 0 && ms[n - 1] == d->s[i] * d->d[i]) { /* runs on from the previous dim */
      md[n - 1] *= d->d[i];
      ms[n - 1] = d->s[i];
      continue;
    }
    md[n] = d->d[i];
    ms[n++] = d->s[i];
  }
  d->t_batch = 0;
  if (d->ep.n > 0 || n < 2 || n > 3 || ms[n - 2] != 1 || ms[n - 1] != md[n - 2] ||
      (n == 3 && ms[0] != md[1] * md[2]))
    return;
  d->t_batch = n == 3 ? md[0] : 1;
  d->t_rows = md[n - 2];
  d->t_cols = md[n - 1];
}

void
af_cpu_transpose_init (AfGatherDesc *d, const AfShape *in, const int *perm, const AfCpuEpilogue *ep)
{
  memset (d, 0, sizeof *d);
  if (ep)
    d->ep = *ep;
  gint64 istride[AF_MAX_RANK], st = 1;
  for (int i = in->rank - 1; i >= 0; i--) {
    istride[i] = st;
    st *= in->d[i];
  }
  d->rank = MAX (in->rank, 1);
  d->d[0] = 1;
  for (int i = 0; i < in->rank; i++) {
    d->d[i] = in->d[perm[i]];
    d->s[i] = istride[perm[i]];
  }
  d->up_h = d->up_w = 1;
  d->numel = af__shape_numel (in);
  af__transpose_plan_2d (d);
}

void
af_cpu_upsample_init (AfGatherDesc *d, const AfShape *in, gint64 sh, gint64 sw,
                      const AfCpuEpilogue *ep)
{
  memset (d, 0, sizeof *d);
  if (ep)
    d->ep = *ep;
  d->rank = 3; /* planes, output rows, output cols */
  d->d[0] = in->d[0] * in->d[1];
  d->d[1] = in->d[2] * sh;
  d->d[2] = in->d[3] * sw;
  d->s[0] = in->d[2] * in->d[3];
  d->s[1] = in->d[3];
  d->s[2] = 1;
  d->up_h = sh;
  d->up_w = sw;
  d->numel = d->d[0] * d->d[1] * d->d[2];
}

typedef struct {
  const AfGatherDesc *d;
  const guint16 *in, *res;
  guint16 *out;
  gboolean simd;
} AfGatherRun;

/* Tasks are output rows (the last dim). */
static void
af__gather_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfGatherRun *r = ctx;
  const AfGatherDesc *d = r->d;
  gint64 len = d->d[d->rank - 1], step = d->s[d->rank - 1];
  float v[AF_EW_BLOCK];
  for (gint64 row = begin; row < end; row++) {
    gint64 off = 0, idx = row;
    for (int i = d->rank - 2; i >= 0; i--) {
      gint64 c = idx % d->d[i];
      off += (i == d->rank - 2 ? c / d->up_h : c) * d->s[i];
      idx /= d->d[i];
    }
    const guint16 *src = r->in + off;
    guint16 *dst = r->out + row * len;
    if (step == 1 && d->up_w == 1)
      memcpy (dst, src, len * sizeof (guint16));
    else if (d->up_w > 1)
      for (gint64 x = 0; x < len; x++)
        dst[x] = src[x / d->up_w];
    else
      for (gint64 x = 0; x < len; x++)
        dst[x] = src[x * step];
    for (gint64 x = 0; d->ep.n > 0 && x < len; x += AF_EW_BLOCK) {
      gint64 n = MIN (AF_EW_BLOCK, len - x);
      af_fp16_to_f32_n (dst + x, v, n);
      af__store_row (r->simd, v, n, &d->ep, r->res ? r->res + row * len + x : NULL, dst + x);
    }
  }
}

#ifdef AF_X86
/* Tasks are (batch, 16 output rows): whole 16 x 16 blocks transposed as
 * halves in registers, the edge columns and rows element by element. */
__attribute__ ((target ("avx2"))) static void
af__transpose_task_avx2 (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfGatherRun *r = ctx;
  const AfGatherDesc *d = r->d;
  gint64 rn = d->t_rows, cn = d->t_cols, rb = af__ceil_div (rn, 16);
  (void) thread;
  for (gint64 task = begin; task < end; task++) {
    gint64 b = task / rb, r0 = task % rb * 16, r1 = MIN (r0 + 16, rn), c0 = 0;
    const guint16 *src = r->in + b * rn * cn;
    guint16 *dst = r->out + b * rn * cn;
    if (r1 - r0 == 16)
      for (; c0 + 16 <= cn; c0 += 16) {
        __m256i x[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) /* x[i]: column c0 + i's 16 rows */
          x[i] = _mm256_loadu_si256 ((const __m256i *) (src + (c0 + i) * rn + r0));
        af__t16x16_epi16 (x);
#pragma GCC unroll 16
        for (int j = 0; j < 16; j++)
          _mm256_storeu_si256 ((__m256i *) (dst + (r0 + j) * cn + c0), x[j]);
      }
    for (gint64 rr = r0; rr < r1; rr++) /* what no whole block covered */
      for (gint64 c = c0; c < cn; c++)
        dst[rr * cn + c] = src[c * rn + rr];
  }
}
#endif

void
af_cpu_gather_run (const AfGatherDesc *d, const guint16 *in, const guint16 *res, guint16 *out,
                   AfPool *pool)
{
  AfGatherRun r = { d, in, res, out, af__cpu_use_simd () };
  if (d->numel == 0)
    return;
#ifdef AF_X86
  if (r.simd && d->t_batch > 0) {
    gint64 tasks = d->t_batch * af__ceil_div (d->t_rows, 16);
    af_pool_parallel_for (pool, tasks, MAX (1, AF_EW_GRAIN * AF_EW_BLOCK / (16 * d->t_cols)),
                          af__transpose_task_avx2, &r);
    return;
  }
#endif
  gint64 len = d->d[d->rank - 1];
  gint64 rows = d->numel / len;
  af_pool_parallel_for (pool, rows, MAX (1, AF_EW_GRAIN * AF_EW_BLOCK / len), af__gather_task, &r);
}

/* ============================================================ reduce */

typedef struct {
  const AfReduceDesc *d;
  const guint16 *x, *res;
  guint16 *out;
  gboolean simd;
} AfReduceRun;

/* Tasks are blocks of AF_EW_BLOCK outputs. */
static void
af__reduce_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfReduceRun *r = ctx;
  const AfReduceDesc *d = r->d;
  float v[AF_EW_BLOCK], row[256];
  for (gint64 blk = begin; blk < end; blk++) {
    gint64 o0 = blk * AF_EW_BLOCK, n = MIN (AF_EW_BLOCK, d->outer - o0);
    for (gint64 o = 0; o < n; o++) {
      const guint16 *x = r->x + (o0 + o) * d->inner;
      float acc = 0.0f;
      for (gint64 i = 0; i < d->inner; i += 256) {
        gint64 m = MIN (256, d->inner - i);
        af_fp16_to_f32_n (x + i, row, m);
        for (gint64 j = 0; j < m; j++)
          acc += row[j];
      }
      v[o] = d->mean ? acc / (float) d->inner : acc;
    }
    af__store_row (r->simd, v, n, &d->ep, r->res ? r->res + o0 : NULL, r->out + o0);
  }
}

void
af_cpu_reduce_run (const AfReduceDesc *d, const guint16 *x, const guint16 *res, guint16 *out,
                   AfPool *pool)
{
  AfReduceRun r = { d, x, res, out, af__cpu_use_simd () };
  gint64 grain = MAX (1, AF_EW_GRAIN * AF_EW_BLOCK / MAX (d->inner, 1));
  af_pool_parallel_for (pool, af__ew_blocks (d->outer), grain, af__reduce_task, &r);
}

/* ============================================================ max pool
 * Per plane, each input row is converted once to fp32 (cells outside the
 * image are -inf, which the reference's max never picks over a visited
 * value) and reduced horizontally: hrow[ox] = max over kx of row[ox * sw +
 * kx]. Rows live in a ring of kh; output row oy maxes its kh rows in ky
 * order. With stride 2 the row is split into even and odd columns first so
 * every tap is a contiguous vector. */

#define AF_MP_PAD 16    /* readable floats past each buffer for vector tails */
#define AF_MP_MAX_KH 64 /* taller windows run the scalar row fold */

static gint64
af__mp_span (const AfPoolDesc *d)
{
  return (d->w_out - 1) * d->stride[1] + d->kw;
}

/* floats: row (span), even + odd halves, ring of kh hrows, acc */
static gsize
af__mp_layout (const AfPoolDesc *d, float *base, float **row, float **ph, float **ring, float **acc)
{
  gint64 span = MAX (af__mp_span (d), 1), half = span / 2 + 1, w = d->w_out + AF_MP_PAD;
  gsize off = 0;
#define AF_MP_TAKE(ptr, n)                                                                         \
  if (base)                                                                                        \
    *(ptr) = base + off;                                                                           \
  off += (gsize) af__round_up ((n), 16);
  AF_MP_TAKE (row, span + AF_MP_PAD);
  AF_MP_TAKE (ph, 2 * (half + AF_MP_PAD));
  AF_MP_TAKE (ring, d->kh * w);
  AF_MP_TAKE (acc, w);
#undef AF_MP_TAKE
  return off;
}

gsize
af_cpu_max_pool_scratch_size (const AfPoolDesc *d)
{
  return af__mp_layout (d, NULL, NULL, NULL, NULL, NULL) * sizeof (float) + 64;
}

typedef struct {
  const AfPoolDesc *d;
  const AfCpuEpilogue *ep;
  const guint16 *in;
  guint16 *out;
  guint8 *scratch;
  gsize scratch_size;
  gboolean simd;
} AfMaxPoolRun;

static inline float
af__ref_max (float m, float x)
{
  return m > x ? m : x; /* the reference's MAX (m, x) */
}

/* hrow[ox] = max over kx (in order) of row[ox * sw + kx], ox < n. */
static void
af__mp_hrow_c (const float *row, gint64 sw, gint64 kw, gint64 n, float *hrow)
{
  for (gint64 ox = 0; ox < n; ox++) {
    float m = -INFINITY;
    for (gint64 kx = 0; kx < kw; kx++)
      m = af__ref_max (m, row[ox * sw + kx]);
    hrow[ox] = m;
  }
}

#ifdef AF_X86
/* m = max_ps (m, x) is m > x ? m : x: the reference's rule. */
__attribute__ ((target ("avx2"))) static void
af__mp_hrow_avx2 (const float *row, gint64 span, gint64 sw, gint64 kw, gint64 n, float *ph,
                  float *hrow)
{
  if (sw == 1) {
    for (gint64 ox = 0; ox < n; ox += 8) { /* buffers are padded */
      __m256 m = _mm256_set1_ps (-INFINITY);
      for (gint64 kx = 0; kx < kw; kx++)
        m = _mm256_max_ps (m, _mm256_loadu_ps (row + ox + kx));
      _mm256_storeu_ps (hrow + ox, m);
    }
    return;
  }
  /* sw == 2: even columns to ph[0..half), odd ones to ph[half..) */
  gint64 half = span / 2 + 1;
  float *ev = ph, *od = ph + half + AF_MP_PAD;
  for (gint64 i = 0; i < span; i += 16) {
    __m256 a = _mm256_loadu_ps (row + i), b = _mm256_loadu_ps (row + i + 8);
    __m256 ee, oo;
    af__deinterleave16 (a, b, &ee, &oo);
    _mm256_storeu_ps (ev + i / 2, ee);
    _mm256_storeu_ps (od + i / 2, oo);
  }
  for (gint64 ox = 0; ox < n; ox += 8) {
    __m256 m = _mm256_set1_ps (-INFINITY);
    for (gint64 kx = 0; kx < kw; kx++)
      m = _mm256_max_ps (m, _mm256_loadu_ps ((kx & 1 ? od : ev) + ox + kx / 2));
    _mm256_storeu_ps (hrow + ox, m);
  }
}
#endif

#ifdef AF_X86
/* acc[i] = max over the @n_rows rows (in order) of rows[k][i], i < n (rows
 * and acc padded to 8): af__ref_max from -inf, whose first step is exact. */
__attribute__ ((target ("avx2"))) static void
af__mp_vmax_avx2 (float *restrict acc, const float *const *rows, int n_rows, gint64 n)
{
  for (gint64 i = 0; i < n; i += 8) {
    __m256 m = _mm256_loadu_ps (rows[0] + i);
    for (int k = 1; k < n_rows; k++)
      m = _mm256_max_ps (m, _mm256_loadu_ps (rows[k] + i));
    _mm256_storeu_ps (acc + i, m);
  }
}
#endif

static void
af__mp_task (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfMaxPoolRun *r = ctx;
  const AfPoolDesc *d = r->d;
  gint64 span = MAX (af__mp_span (d), 1), sw = d->stride[1], w = d->w_out + AF_MP_PAD;
  float *row, *ph, *ring, *acc;
  af__mp_layout (d, (float *) (r->scratch + (gsize) thread * r->scratch_size), &row, &ph, &ring,
                 &acc);
  gsize n_floats = af__mp_layout (d, NULL, NULL, NULL, NULL, NULL);
  for (gsize i = 0; i < n_floats; i++)
    row[i] = -INFINITY; /* pads and the cells outside the image */
  gint64 x_lo = MIN (d->pad[1], span), x_hi = CLAMP (d->pad[1] + d->w_in, x_lo, span);
#ifdef AF_X86
  gboolean vec = r->simd && (sw == 1 || sw == 2);
  gboolean vrows = r->simd && d->kh <= AF_MP_MAX_KH;
#endif
  for (gint64 c = begin; c < end; c++) {
    const guint16 *plane = r->in + c * d->h_in * d->w_in;
    gint64 next = G_MININT64; /* next input row the ring does not hold yet */
    for (gint64 oy = 0; oy < d->h_out; oy++) {
      gint64 y0 = oy * d->stride[0] - d->pad[0];
      next = MAX (next, y0);
      for (; next < y0 + d->kh; next++) { /* fill the ring up to the window's last row */
        if (next < 0 || next >= d->h_in)
          continue;
        float *hrow = ring + (next % d->kh) * w;
        /* row[j] is input column j - pad[1] */
        af__h2f_n (r->simd, plane + next * d->w_in + (x_lo - d->pad[1]), row + x_lo, x_hi - x_lo);
#ifdef AF_X86
        if (vec)
          af__mp_hrow_avx2 (row, span, sw, d->kw, d->w_out, ph, hrow);
        else
#endif
          af__mp_hrow_c (row, sw, d->kw, d->w_out, hrow);
      }
      gint64 n_out = d->w_out;
#ifdef AF_X86
      if (vrows) {
        const float *rows[AF_MP_MAX_KH];
        int n_rows = 0;
        for (gint64 ky = 0; ky < d->kh; ky++) {
          gint64 iy = y0 + ky;
          if (iy >= 0 && iy < d->h_in)
            rows[n_rows++] = ring + (iy % d->kh) * w;
        }
        if (n_rows > 0)
          af__mp_vmax_avx2 (acc, rows, n_rows, n_out);
        else
          for (gint64 ox = 0; ox < n_out; ox++)
            acc[ox] = -INFINITY;
        af__store_row (r->simd, acc, d->w_out, r->ep, NULL,
                       r->out + (c * d->h_out + oy) * d->w_out);
        continue;
      }
#endif
      for (gint64 ox = 0; ox < n_out; ox++)
        acc[ox] = -INFINITY;
      for (gint64 ky = 0; ky < d->kh; ky++) {
        gint64 iy = y0 + ky;
        if (iy < 0 || iy >= d->h_in)
          continue;
        const float *hrow = ring + (iy % d->kh) * w;
        for (gint64 ox = 0; ox < n_out; ox++)
          acc[ox] = af__ref_max (acc[ox], hrow[ox]);
      }
      af__store_row (r->simd, acc, d->w_out, r->ep, NULL, r->out + (c * d->h_out + oy) * d->w_out);
    }
  }
}

void
af_cpu_max_pool_run (const AfPoolDesc *d, const AfCpuEpilogue *ep, const guint16 *in, guint16 *out,
                     guint8 *scratch, AfPool *pool)
{
  AfMaxPoolRun r = {
    d, ep, in, out, scratch, af_cpu_max_pool_scratch_size (d), af__cpu_use_simd ()
  };
  if (d->h_out <= 0 || d->w_out <= 0)
    return;
  af_pool_parallel_for (pool, d->c, 1, af__mp_task, &r);
}

#ifdef AF_X86
/* The whole 8-pixel steps of af__image_row; returns how many pixels. */
__attribute__ ((target ("avx2"))) static gint64
af__image_row_avx2 (const guint8 *src, gint64 n, float s, float b, float *v)
{
  const __m256 vs = _mm256_set1_ps (s), vb = _mm256_set1_ps (b);
  gint64 i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i x = _mm256_cvtepu8_epi32 (_mm_loadl_epi64 ((const __m128i *) (src + i)));
    _mm256_storeu_ps (v + i, _mm256_add_ps (_mm256_mul_ps (_mm256_cvtepi32_ps (x), vs), vb));
  }
  return i;
}
#endif

/* ============================================================ image port */

/* v[i] = src[i] * s + b for i < n: a separate multiply and add, as the
 * reference (no FMA). The plain loop is not vectorised at -O2 (a run-time
 * trip count): 8 pixels a step here, the rest one at a time. */
static void
af__image_row (gboolean simd, const guint8 *src, gint64 n, float s, float b, float *v)
{
  gint64 i = 0;
#ifdef AF_X86
  if (simd)
    i = af__image_row_avx2 (src, n, s, b, v);
#endif
  for (; i < n; i++)
    v[i] = src[i] * s + b;
}

void
af_cpu_image_port_run (const guint8 *px, gint64 c, gint64 plane, const float *scale,
                       const float *bias, guint16 *out)
{
  gboolean simd = af__cpu_use_simd ();
  float v[AF_EW_BLOCK];
  for (gint64 ch = 0; ch < c; ch++) {
    const guint8 *src = px + ch * plane;
    guint16 *dst = out + ch * plane;
    float s = scale[ch], b = bias[ch];
    for (gint64 i0 = 0; i0 < plane; i0 += AF_EW_BLOCK) {
      gint64 n = MIN (AF_EW_BLOCK, plane - i0);
      af__image_row (simd, src + i0, n, s, b, v);
      af__store_row (simd, v, n, NULL, NULL, dst + i0);
    }
  }
}
