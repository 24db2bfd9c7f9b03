/* eltwise.h — the CPU backend's fp16 elementwise and data-movement kernels
 * (private to src/backends/cpu/).
 *
 * Every kernel computes exactly what its reference twin in src/ops/ gives on
 * the fp16 inputs, rounded once to fp16 (same fp32 operations in the same
 * order; no FMA contraction), then applies the step's epilogue (activations,
 * and ADD with a residual @res laid out like the output, or NULL). Work is
 * split over the pool when a tensor is large. Descriptors are filled once at
 * compile time (*_init, no allocation) and run per frame (*_run). */
#ifndef AF_CPU_ELTWISE_H
#define AF_CPU_ELTWISE_H

#include "kernels.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------ binary
 * add sub mul div maximum minimum with numpy broadcasting. The shapes are
 * collapsed (adjacent dims merged when both inputs step alike) so a same-shape
 * op is one row, a per-channel [1, C, 1, 1] operand is C rows with a scalar
 * each, and anything else walks rows with strides. */
typedef struct {
  AfOp op;
  AfCpuEpilogue ep;
  int rank;                                                /* collapsed, >= 1 */
  gint64 d[AF_MAX_RANK], sa[AF_MAX_RANK], sb[AF_MAX_RANK]; /* dims; input strides (0: bcast) */
  gint64 numel;
} AfBinaryDesc;

void af_cpu_binary_init (AfBinaryDesc *d, AfOp op, const AfShape *a, const AfShape *b,
                         const AfShape *out, const AfCpuEpilogue *ep);
void af_cpu_binary_run (const AfBinaryDesc *d, const guint16 *a, const guint16 *b,
                        const guint16 *res, guint16 *out, AfPool *pool);

/* ------------------------------------------------------------ unary
 * y = ep (op (x)) over @numel values (op is any epilogue op but ADD). */
typedef struct {
  AfCpuEpilogue ep;   /* the op first, then the step's epilogue */
  AfCpuEpilogue rest; /* what did not fit in @ep (applied in a second pass) */
  gint64 numel;
} AfUnaryDesc;

void af_cpu_unary_init (AfUnaryDesc *d, AfOp op, float lo, float hi, gint64 numel,
                        const AfCpuEpilogue *ep);
void af_cpu_unary_run (const AfUnaryDesc *d, const guint16 *x, const guint16 *res, guint16 *out,
                       AfPool *pool);

/* ------------------------------------------------------------ batch norm
 * y = (x - mean[c]) / sqrt (var[c] + eps) * scale[c] + bias[c]: the reference
 * formula, term by term (sqrt taken once per channel at init, as the
 * reference does per channel). Parameters are fp32 holding fp16 values. */
typedef struct {
  AfCpuEpilogue ep;
  gint64 outer, c, inner;
  float *p; /* owned: [4][c]: mean, sd, scale, bias */
} AfBatchNormDesc;

void af_cpu_batch_norm_init (AfBatchNormDesc *d, const AfShape *x, const float *scale,
                             const float *bias, const float *mean, const float *var, float eps,
                             const AfCpuEpilogue *ep);
void af_cpu_batch_norm_run (const AfBatchNormDesc *d, const guint16 *x, const guint16 *res,
                            guint16 *out, AfPool *pool);
void af_cpu_batch_norm_clear (AfBatchNormDesc *d);

/* ------------------------------------------------------------ data movement
 * transpose (perm) and nearest upsample as one strided gather of fp16 values:
 * out[i] = in[offset (i)], exact. A transpose that is a batch of 2-D ones
 * (out[b][r][c] = in[b][c][r]: NCHW -> NHWC and back) without an epilogue
 * moves 16 x 16 blocks through registers instead. */
typedef struct {
  int rank;
  gint64 d[AF_MAX_RANK], s[AF_MAX_RANK]; /* output dims; input stride along each */
  gint64 up_h, up_w;                     /* upsample factors (1, 1 for transpose) */
  gint64 numel;
  AfCpuEpilogue ep;
  gint64 t_batch, t_rows, t_cols; /* the 2-D form, t_batch 0 when there is none */
} AfGatherDesc;

void af_cpu_transpose_init (AfGatherDesc *d, const AfShape *in, const int *perm,
                            const AfCpuEpilogue *ep);
void af_cpu_upsample_init (AfGatherDesc *d, const AfShape *in, gint64 sh, gint64 sw,
                           const AfCpuEpilogue *ep);
void af_cpu_gather_run (const AfGatherDesc *d, const guint16 *in, const guint16 *res, guint16 *out,
                        AfPool *pool);

/* ------------------------------------------------------------ reduce
 * mean / sum over the trailing @inner elements of each of @outer rows, summed
 * in order in fp32 like the reference (mean divides by the count). */
typedef struct {
  gboolean mean;
  gint64 outer, inner;
  AfCpuEpilogue ep;
} AfReduceDesc;

void af_cpu_reduce_run (const AfReduceDesc *d, const guint16 *x, const guint16 *res, guint16 *out,
                        AfPool *pool);

/* ------------------------------------------------------------ max pool
 * One NCHW image, any kernel / stride / padding / ceil mode: every window
 * takes the max of its image cells in (ky, kx) order with the reference's
 * rule (m > x ? m : x, so the later of equal values wins: -0 / +0 exact);
 * per input row the taps are maxed first (contiguous vectors), then the
 * rows. NaN inputs may give another result than the reference's
 * order-dependent one. @scratch: af_cpu_max_pool_scratch_size bytes per
 * thread. */
gsize af_cpu_max_pool_scratch_size (const AfPoolDesc *d);
void af_cpu_max_pool_run (const AfPoolDesc *d, const AfCpuEpilogue *ep, const guint16 *in,
                          guint16 *out, guint8 *scratch, AfPool *pool);

/* ------------------------------------------------------------ image port
 * uint8 pixels [c, plane] -> fp16 (x * scale[c] + bias[c]), one image. */
void af_cpu_image_port_run (const guint8 *px, gint64 c, gint64 plane, const float *scale,
                            const float *bias, guint16 *out);

G_END_DECLS

#endif /* AF_CPU_ELTWISE_H */
