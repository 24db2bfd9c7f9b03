/* kernels.h — the CPU backend's fast kernels.
 *
 * Numerics contract: activations are fp16 (guint16 bits) in and out,
 * products and sums accumulate in fp32, weights are fp16 values (packed at
 * compile time into whatever layout the kernel likes, as fp32 or fp16).
 * Each kernel has a reference twin in src/ops/ (tests compare them).
 *
 * Every kernel is created once at compile time (*_new: packs weights,
 * transfer full), run per frame (*_run: allocates nothing; scratch comes from
 * the caller, sized by *_scratch_size per thread), and freed with *_free
 * (NULL is a no-op). Kernels choose AVX2/FMA/F16C or portable C at run time. */
#ifndef AF_CPU_KERNELS_H
#define AF_CPU_KERNELS_H

#include "graph.h"
#include "bigmem.h"
#include "pool.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------ epilogues
 * Unary activations fused into a producer, as the kernels take them (the
 * executor translates a plan step's AfEpilogue into this). Each is applied
 * in fp32 to the fp16-rounded value and rounded to fp16 again, so a fused
 * chain computes exactly what the unfused ops would. */
#define AF_CPU_MAX_EPILOGUE 4
typedef struct {
  int n;
  AfOp op[AF_CPU_MAX_EPILOGUE]; /* RELU, RELU6, CLIP, SIGMOID, TANH, SILU, GELU, EXP, or ADD:
                                 * x + residual[j] (at most one ADD; the kernel's *_run_res
                                 * gets the residual, an fp16 tensor shaped like the output) */
  float lo[AF_CPU_MAX_EPILOGUE], hi[AF_CPU_MAX_EPILOGUE]; /* CLIP bounds */
} AfCpuEpilogue;

/* Applies the epilogue to one fp32 value (already rounded to fp16) and
 * returns the final fp16-representable value. @ep must not hold ADD. */
float af_cpu_epilogue_apply (const AfCpuEpilogue *ep, float x);
/* The same with the residual value @r for an ADD. */
float af_cpu_epilogue_apply_res (const AfCpuEpilogue *ep, float x, float r);
/* TRUE if @ep holds an ADD (needs a residual). */
gboolean af_cpu_epilogue_has_residual (const AfCpuEpilogue *ep);

/* ------------------------------------------------------------ convolution */

typedef struct {
  gint64 c_in, h_in, w_in;
  gint64 c_out, h_out, w_out;
  gint64 kh, kw;
  gint64 stride[2], pad[4], dilation[2]; /* pad: top, left, bottom, right */
  gint64 groups;
  gboolean winograd; /* Winograd F(2x2, 3x3) allowed where eligible (winograd.h) */
} AfConvDesc;

typedef struct _AfConvKernel AfConvKernel;

/* @w: [c_out, c_in/groups, kh, kw] fp32 holding fp16 values; @bias: [c_out]
 * or NULL. Both are copied/packed. */
AfConvKernel *af_cpu_conv_new (const AfConvDesc *d, const float *w, const float *bias,
                               const AfCpuEpilogue *ep);
/* Plans @k's work split for a pool of @n_threads (runs on another pool
 * size plan theirs on the fly). */
void af_cpu_conv_plan_threads (AfConvKernel *k, int n_threads);
gsize af_cpu_conv_scratch_size (const AfConvKernel *k);
/* One image: @in [c_in, h_in, w_in], @out [c_out, h_out, w_out], fp16.
 * @scratch: af_pool_n_threads(pool) * scratch_size bytes, 64-byte aligned. */
void af_cpu_conv_run (const AfConvKernel *k, const guint16 *in, guint16 *out, guint8 *scratch,
                      AfPool *pool);
/* The same with the residual @res ([c_out, h_out, w_out] fp16, may equal
 * @out) for an epilogue holding ADD; NULL without. */
void af_cpu_conv_run_res (const AfConvKernel *k, const guint16 *in, const guint16 *res,
                          guint16 *out, guint8 *scratch, AfPool *pool);
void af_cpu_conv_free (AfConvKernel *k);

/* ------------------------------------------------------------ linear / GEMM */

typedef struct _AfLinearKernel AfLinearKernel;

/* y[M, N] = x[M, K] . w[N, K]^T + bias[N], then the epilogue. @w: fp32
 * holding fp16 values (stored as fp16); @bias or NULL. Both are copied. */
AfLinearKernel *af_cpu_linear_new (gint64 k, gint64 n, const float *w, const float *bias,
                                   const AfCpuEpilogue *ep);
gsize af_cpu_linear_scratch_size (const AfLinearKernel *lk, gint64 m);
void af_cpu_linear_run (const AfLinearKernel *lk, gint64 m, const guint16 *x, guint16 *y,
                        guint8 *scratch, AfPool *pool);
/* The same with the residual @res ([M, N] fp16) for an epilogue holding ADD. */
void af_cpu_linear_run_res (const AfLinearKernel *lk, gint64 m, const guint16 *x,
                            const guint16 *res, guint16 *y, guint8 *scratch, AfPool *pool);
void af_cpu_linear_free (AfLinearKernel *lk);

/* ------------------------------------------------------------ pooling */

typedef struct {
  gint64 c, h_in, w_in, h_out, w_out, kh, kw;
  gint64 stride[2], pad[4];
  gboolean is_max, count_include_pad;
} AfPoolDesc;

/* One image, fp16 in and out; average accumulates in fp32. */
void af_cpu_pool2d_run (const AfPoolDesc *d, const guint16 *in, guint16 *out, AfPool *pool);

G_END_DECLS

#endif /* AF_CPU_KERNELS_H */
