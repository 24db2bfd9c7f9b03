/* cpu-features.h — the host CPU's vector features and the switches between
 * vector and portable code, private to libaneforge.
 *
 * A property of the machine, not of a backend: the fp16 bulk conversions
 * (fp16.c) and the CPU backend's kernels both ask here, and so will an
 * accelerator backend's host side. Every answer is detected once. */
#ifndef AF_CPU_FEATURES_H
#define AF_CPU_FEATURES_H

#include <glib.h>

G_BEGIN_DECLS

/* TRUE if the CPU has AVX, AVX2, FMA and F16C and the OS saves the YMM state. */
gboolean af__cpu_has_avx2_fma_f16c (void);

/* TRUE when the AVX2/FMA/F16C paths run: the CPU has them and neither
 * AF_CPU_PORTABLE=1 (read once) nor af__cpu_force_portable() said no. */
gboolean af__cpu_use_simd (void);
/* Tests: forces the portable C paths (TRUE) or restores the detected choice
 * (FALSE). Not meant to be flipped while kernels run on other threads. */
void af__cpu_force_portable (gboolean portable);

/* TRUE when the AArch64 NEON bodies run: on every aarch64 build (NEON is
 * architectural there) unless AF_CPU_PORTABLE=1 or af__cpu_force_portable()
 * said no; FALSE on other targets. */
gboolean af__cpu_use_neon (void);

/* TRUE when the AVX-512F kernels may run: af__cpu_use_simd (), the CPU and
 * OS have AVX-512F, and neither AF_CPU_NO_AVX512=1 (read once) nor
 * af__cpu_force_no_avx512() said no. Results are the same either way. */
gboolean af__cpu_use_avx512 (void);
/* Tests: forces the AVX2 paths (TRUE) or restores the detected choice. */
void af__cpu_force_no_avx512 (gboolean off);
/* af__cpu_use_avx512 () and the CPU has AVX-512BW and VL too (16-bit
 * masked loads and stores). */
gboolean af__cpu_use_avx512bw (void);

/* TRUE if the environment variable @name is set to something other than ""
 * or "0"; read once, the answer kept in *@cache (a static gint, -1 at first). */
gboolean af__env_flag (const char *name, gint *cache);

G_END_DECLS

#endif /* AF_CPU_FEATURES_H */
