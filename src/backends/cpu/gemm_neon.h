/* gemm_neon.h — the AArch64 NEON body of af__gemm_acc (see simd.h).
 *
 * Plain C11 + <arm_neon.h>, no glib: tests/kernels/run-neon.sh cross-compiles
 * gemm_neon.c on its own and runs it under qemu-aarch64. */
#ifndef AF_CPU_GEMM_NEON_H
#define AF_CPU_GEMM_NEON_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__aarch64__)
/* af__gemm_acc with NEON: c[i * ldc + j] = (@load ? c[i * ldc + j] : 0) +
 * sum_p a[p * 6 + i] * b[p * ldb + j] (p ascending) for i < @mr (1..6) and
 * j < 8 if @nr <= 8, else j < 16. Fused multiply-adds: the products of fp16
 * values are exact in fp32, so they round like the portable mul-then-add.
 * Reads a[p * 6 + 0 .. 5] of every k step (never past the panel) and 8 or 16
 * floats of every B row; writes rows i < @mr, those 8 or 16 columns only. */
void af_neon_gemm_acc (int64_t k, const float *a, const float *b, int64_t ldb, int mr, int nr,
                       bool load, float *c, int64_t ldc);
#endif

#ifdef __cplusplus
}
#endif

#endif /* AF_CPU_GEMM_NEON_H */
