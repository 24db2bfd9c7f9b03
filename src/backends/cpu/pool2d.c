/* pool2d.c — max / average pooling of one NCHW fp16 image, parallel over
 * channels.
 *
 * Max ignores padded cells (a window with no image cell gives -inf).
 * Average sums the image cells in fp32 in (ky, kx) order and divides by the
 * number of image cells, or with count_include_pad by the window clipped to
 * the padded image (as PyTorch does: a ceil-mode overhang past the padding
 * is not counted); a window with nothing to count gives 0. The AVX2 twin
 * only swaps the scalar fp16 conversions for F16C ones (same values). */
#include "simd.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#define AF_X86 1
#include <immintrin.h>
#endif

typedef struct {
  const AfPoolDesc *d;
  const guint16 *in;
  guint16 *out;
} AfPoolRun;

/* The window of output (oy, ox): image cells [y0, y1) x [x0, x1) and the
 * count_include_pad divisor. */
typedef struct {
  gint64 y0, y1, x0, x1;
  float padded_count;
} AfPoolWin;

static inline void
af__pool_window (const AfPoolDesc *d, gint64 oy, gint64 ox, AfPoolWin *w)
{
  gint64 ys = oy * d->stride[0] - d->pad[0], xs = ox * d->stride[1] - d->pad[1];
  gint64 ye = MIN (ys + d->kh, d->h_in + d->pad[2]), xe = MIN (xs + d->kw, d->w_in + d->pad[3]);
  w->padded_count = (float) (MAX (ye - ys, 0) * MAX (xe - xs, 0));
  w->y0 = MAX (ys, 0);
  w->x0 = MAX (xs, 0);
  w->y1 = MIN (ys + d->kh, d->h_in);
  w->x1 = MIN (xs + d->kw, d->w_in);
}

#define AF_POOL_BODY(LOAD, STORE)                                                                  \
  const AfPoolDesc *d = r->d;                                                                      \
  for (gint64 c = begin; c < end; c++) {                                                           \
    const guint16 *plane = r->in + c * d->h_in * d->w_in;                                          \
    guint16 *out = r->out + c * d->h_out * d->w_out;                                               \
    for (gint64 oy = 0; oy < d->h_out; oy++)                                                       \
      for (gint64 ox = 0; ox < d->w_out; ox++) {                                                   \
        AfPoolWin w;                                                                               \
        af__pool_window (d, oy, ox, &w);                                                           \
        float acc = d->is_max ? -INFINITY : 0.0f;                                                  \
        for (gint64 y = w.y0; y < w.y1; y++)                                                       \
          for (gint64 x = w.x0; x < w.x1; x++) {                                                   \
            float v = LOAD (plane[y * d->w_in + x]);                                               \
            if (d->is_max)                                                                         \
              acc = v > acc ? v : acc;                                                             \
            else                                                                                   \
              acc += v;                                                                            \
          }                                                                                        \
        if (!d->is_max) {                                                                          \
          float cnt = d->count_include_pad ? w.padded_count                                        \
                                           : (float) (MAX (w.y1 - w.y0, 0) * MAX (w.x1 - w.x0, 0)); \
          acc = cnt > 0 ? acc / cnt : 0.0f;                                                        \
        }                                                                                          \
        out[oy * d->w_out + ox] = STORE (acc);                                                     \
      }                                                                                            \
  }

static void
af__pool_task_c (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfPoolRun *r = ctx;
  AF_POOL_BODY (af_fp16_to_f32, af_f32_to_fp16)
}

#ifdef AF_X86
#define AF_CVT_SH(x) _cvtss_sh ((x), 0)
__attribute__ ((target ("avx2,f16c"))) static void
af__pool_task_f16c (void *ctx, gint64 begin, gint64 end, int thread)
{
  const AfPoolRun *r = ctx;
  AF_POOL_BODY (_cvtsh_ss, AF_CVT_SH)
}
#endif

void
af_cpu_pool2d_run (const AfPoolDesc *d, const guint16 *in, guint16 *out, AfPool *pool)
{
  AfPoolRun r = { d, in, out };
  AfTaskFn fn = af__pool_task_c;
#ifdef AF_X86
  if (af__cpu_use_simd ())
    fn = af__pool_task_f16c;
#endif
  af_pool_parallel_for (pool, d->c, 1, fn, &r);
}
