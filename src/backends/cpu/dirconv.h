/* dirconv.h — private: the direct convolution of the CPU conv, output
 * channels in the vector lanes (AVX-512), for ungrouped convs with several
 * taps whose output channels come in blocks of 16.
 *
 * No im2col: each task converts the input rows of a band of output rows
 * into a zero-padded fp32 copy, and the microkernel keeps up to 14 pixels
 * of one output row (or of two rows of at most 7) x 32 output channels in
 * 28 registers; per (c, ky, kx) it loads the 32 weights and broadcasts each
 * pixel's input straight from the copy. Channel counts that are multiples
 * of 16 waste no lanes (the 6-row GEMM panels left 4 of 64 channels in a
 * third-full panel) and a row of any width splits into pixel groups of at
 * most 14.
 *
 * Numerics: every output sums w * x over (c, ky, kx) in ascending order
 * from zero in fp32, exactly like the GEMM path (products of fp16 values
 * are exact, so FMA and multiply-then-add agree): the outputs are the same
 * bits, on every thread count. */
#ifndef AF_CPU_DIRCONV_H
#define AF_CPU_DIRCONV_H

#include "kernels.h"

G_BEGIN_DECLS

#define AF_DIR_MAX_N 14  /* pixels per microkernel call */
#define AF_DIR_MIN_K 128 /* shorter sums stay on the GEMM path (measured: K 27 slower, 72 even) */

typedef struct _AfDirConv AfDirConv;

/* TRUE if @d takes the direct path: groups 1 (not depthwise), c_out a
 * multiple of 16, kh * kw > 1, K >= AF_DIR_MIN_K, horizontal stride 1 or 2, the CPU
 * has AVX-512F/BW/VL (af__cpu_use_avx512), and neither AF_CPU_NO_DIRCONV=1
 * (read once) nor af__dir_force (0) said no. */
gboolean af__dir_eligible (const AfConvDesc *d);
/* Tests and benchmarks: 1 forces the path on for eligible shapes whatever
 * the environment says, 0 off, -1 restores AF_CPU_NO_DIRCONV's say; for
 * kernels created from now on. */
void af__dir_force (int on);

/* Returns (transfer full) the kernel of an eligible @d: packs @w [c_out,
 * c_in, kh, kw] into 32-channel blocks and copies @bias (NULL: zeros) and
 * @ep. Free with af__dir_free. */
AfDirConv *af__dir_new (const AfConvDesc *d, const float *w, const float *bias,
                        const AfCpuEpilogue *ep);
/* Scratch bytes per thread (a multiple of 64). */
gsize af__dir_scratch_size (const AfDirConv *dk);
/* One image, like af_cpu_conv_run_res. When AVX-512 is off at run time
 * (af__cpu_force_no_avx512, af__cpu_force_portable) a portable body gives
 * the same bits. */
void af__dir_run (const AfDirConv *dk, const guint16 *in, const guint16 *res, guint16 *out,
                  guint8 *scratch, AfPool *pool);
void af__dir_free (AfDirConv *dk);

G_END_DECLS

#endif /* AF_CPU_DIRCONV_H */
