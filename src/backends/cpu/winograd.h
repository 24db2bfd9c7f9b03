/* winograd.h — private: the Winograd F(2x2, 3x3) path of the CPU conv for
 * stride-1, dilation-1, ungrouped 3x3 convs with many channels.
 *
 * Numerics: the input (B^T d B) and output (A^T M A) transforms are fp32
 * additions and the 16 products M = U . V are fp32 GEMMs summed over the
 * input channels in ascending order, so the AVX-512, AVX2 and portable
 * bodies and every thread count give the same bits. The results are not the
 * direct conv's bits (tests/kernels/test-winograd.c bounds the error). */
#ifndef AF_CPU_WINOGRAD_H
#define AF_CPU_WINOGRAD_H

#include "kernels.h"

G_BEGIN_DECLS

typedef struct _AfWino AfWino;

/* TRUE if @d takes the Winograd path: groups 1, 3x3, stride 1, dilation 1,
 * c_in >= 32, c_out >= 32, h_out >= 4, w_out >= 4, and the path enabled.
 * It is OFF by default: its fp32 sums are not the direct conv's (products of
 * transformed values are not exact), so outputs differ from the reference
 * by up to a few fp16 ulps and a whole network drifts further (SqueezeNet's
 * tench 0.7383 -> 0.7324): the CPU backend keeps the ANE's numerics unless
 * the compile option (@d->winograd) or AF_CPU_WINOGRAD=1 (read once) asks
 * for speed. Depends only on the shapes and those switches. */
gboolean af__wino_eligible (const AfConvDesc *d);
/* Tests: 1 forces the path on, 0 off, -1 restores AF_CPU_WINOGRAD's say,
 * for kernels created from now on. */
void af__wino_force (int on);

/* Returns (transfer full) the kernel of an eligible @d: transforms the
 * weights @w [c_out, c_in, 3, 3] (U = G g G^T) and copies @bias (NULL:
 * zeros) and @ep. Free with af__wino_free. */
AfWino *af__wino_new (const AfConvDesc *d, const float *w, const float *bias,
                      const AfCpuEpilogue *ep);
/* Scratch bytes per thread (a multiple of 64). */
gsize af__wino_scratch_size (const AfWino *wk);
/* One image, like af_cpu_conv_run_res: @res is the ADD residual or NULL;
 * @scratch holds af_pool_n_threads (@pool) * scratch_size bytes. */
void af__wino_run (const AfWino *wk, const guint16 *in, const guint16 *res, guint16 *out,
                   guint8 *scratch, AfPool *pool);
void af__wino_free (AfWino *wk);

G_END_DECLS

#endif /* AF_CPU_WINOGRAD_H */
