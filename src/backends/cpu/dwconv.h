/* dwconv.h — depthwise convolution (groups == c_in == c_out) and max
 * pooling of one NCHW fp16 image, private to src/backends/cpu/.
 *
 * Bit-identical to conv.c's depthwise path (and so to what the executor ran
 * before): per output, the taps are summed in (ky, kx) order from +0 in fp32
 * (products of fp16 values are exact, so FMA or not gives the same), then
 * af__finish_row adds the bias, rounds, applies the epilogue. Each thread
 * converts a channel's padded plane to fp32 once, split into stride phases
 * so that every tap of every output row is a contiguous vector. Max pooling
 * folds the same taps with the reference's max (af_cpu_dw_new_max_pool). */
#ifndef AF_CPU_DWCONV_H
#define AF_CPU_DWCONV_H

#include "kernels.h"

G_BEGIN_DECLS

typedef struct _AfDwKernel AfDwKernel;

/* Returns (transfer full) a kernel, or NULL when @d is not depthwise or its
 * padded plane is too large for per-thread scratch (use af_cpu_conv_new).
 * @w: [c, 1, kh, kw], @bias: [c] or NULL, fp32 holding fp16 values. */
AfDwKernel *af_cpu_dw_new (const AfConvDesc *d, const float *w, const float *bias,
                           const AfCpuEpilogue *ep);
/* Max pooling of @p (any stride, padding, ceil-mode overhang) on the same
 * phase planes, -inf around the image: the reference's max (m > x ? m : x
 * in (ky, kx) order; NaN inputs are outside the contract). Returns (transfer
 * full) a kernel, or NULL when the planes or the window are too large. */
AfDwKernel *af_cpu_dw_new_max_pool (const AfPoolDesc *p, const AfCpuEpilogue *ep);
gsize af_cpu_dw_scratch_size (const AfDwKernel *k);
/* @res: the ADD residual laid out like @out, or NULL. */
void af_cpu_dw_run (const AfDwKernel *k, const guint16 *in, const guint16 *res, guint16 *out,
                    guint8 *scratch, AfPool *pool);
void af_cpu_dw_free (AfDwKernel *k);

G_END_DECLS

#endif /* AF_CPU_DWCONV_H */
