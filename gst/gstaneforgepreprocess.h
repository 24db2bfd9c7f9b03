/* gstaneforgepreprocess.h — one pass from a raw video frame into a model's
 * uint8 NCHW image port: colour conversion, bilinear resize, channel order,
 * planar write.
 *
 * Everything that depends on the caps (component layout, colour matrix,
 * resize tables) is computed once by gst_aneforge_preprocess_init (from
 * set_caps); gst_aneforge_preprocess_run allocates nothing.
 *
 * Conventions:
 * - Pixel centres are aligned (src = (dst + 0.5) * in / out - 0.5), edges
 *   clamp. Chroma of 4:2:0 formats is treated as centre-sited.
 * - The arithmetic is fixed point (tap weights in 1/16384, intermediate
 *   samples in 1/128, YUV matrix in 1/4096) and separable: per output row,
 *   the two needed source rows of every component are interpolated along x,
 *   blended along y and converted. An AVX2 path (chosen at init when the CPU
 *   has AVX2 and AF_CPU_PORTABLE is unset or 0) gives bit-identical output
 *   to the portable C path; with AVX-512 VBMI (and AF_CPU_NO_AVX512 unset
 *   or 0) it reads the source taps with byte permutes of 128-byte windows
 *   instead of one load per tap.
 * - YUV (NV12, I420) uses the caps' colorimetry when the caps carry a
 *   "colorimetry" field, BT.601 limited range otherwise.
 * - A 1-channel port receives BT.601 luma (0.299 R + 0.587 G + 0.114 B);
 *   GRAY8 into a 3-channel port is replicated. */
#ifndef GST_ANEFORGE_PREPROCESS_H
#define GST_ANEFORGE_PREPROCESS_H

#include <gst/video/video.h>

#include "aneforge.h"

G_BEGIN_DECLS

/* One output coordinate: two source taps (byte offsets along x, row indices
 * along y) and the weight of the second tap in 1/16384 (0..16384). Taps are
 * adjacent (i1 = i0 + one sample) unless the plane is one sample wide. */
typedef struct {
  gint i0, i1;
  gint w1;
} GstAneforgeTap;

typedef enum {
  GST_ANEFORGE_SRC_RGB,  /* three components, same sampling */
  GST_ANEFORGE_SRC_GRAY, /* one component */
  GST_ANEFORGE_SRC_YUV,  /* Y full size, U and V subsampled */
} GstAneforgeSrcKind;

typedef struct {
  GstAneforgeSrcKind kind;
  gint in_w, in_h;
  gint out_w, out_h, out_c;
  /* out_c == 3: which source colour (0 R, 1 G, 2 B) goes to port channel c */
  gint chan[3];
  /* YUV -> RGB: R = ys (Y - yoff) + rv V', G = ys (Y - yoff) - gu U' - gv V',
   * B = ys (Y - yoff) + bu U', with U' = U - 128, V' = V - 128. */
  float ys, yoff, rv, gu, gv, bu;
  /* resize tables (owned): luma / full grid, chroma grid */
  GstAneforgeTap *x, *y, *cx, *cy;
  /* the same matrix in fixed point: coefficients in 1/4096, yoff in 1/64 */
  gint ys_q, yoff_q, rv_q, gu_q, gv_q, bu_q;
  /* run-time state, all owned and allocated at init: */
  gboolean simd;                     /* run the AVX2 kernels */
  gint pad_w;                        /* out_w rounded up to a multiple of 16 */
  gboolean x_adj;                    /* every x tap adjacent: stage pairs with one 2-byte copy */
  gboolean cx_adj;                   /* the same for the chroma taps */
  gboolean nv12;                     /* U and V interleaved (NV12) */
  gint16 *wx, *wcx;                  /* x weights as (w0, w1) pairs, pad_w pairs each */
  guint8 *pairs;                     /* staged source pairs: 3 components x 2 rows x pad_w x 2 */
  guint8 *line;                      /* one converted output row: 3 x pad_w */
  gint n_slots;                      /* copies of pairs and line, one per concurrent row range */
  struct _GstAneforgeGather *gather; /* AVX2 read tables, or NULL (private) */
  struct _GstAneforgeWindows *win;   /* AVX-512 VBMI staging tables, or NULL (private) */
} GstAneforgePreprocess;

/* Defined when gst_aneforge_preprocess_set_simd exists (benchmarks). */
#define GST_ANEFORGE_PREPROCESS_HAVE_PATHS 1

/* Checks that @port (an image port [1, C, H, W] with C 1 or 3) can be fed
 * from @info and fills @pp. @use_caps_colorimetry: honour info->colorimetry
 * for YUV (else BT.601 limited range). Returns FALSE with @error set (domain
 * AF_ERROR) when it cannot. @pp must be zeroed or cleared before. */
gboolean gst_aneforge_preprocess_init (GstAneforgePreprocess *pp, const GstVideoInfo *info,
                                       gboolean use_caps_colorimetry, const AfTensorInfo *port,
                                       GError **error);

/* Chooses the AVX2 kernels (@simd TRUE, only if the CPU has AVX2) or the
 * portable C ones for an initialised @pp; both give identical output. For
 * tests and benchmarks. Returns whether the AVX2 kernels are now in use. */
gboolean gst_aneforge_preprocess_set_simd (GstAneforgePreprocess *pp, gboolean simd);

/* Frees the tables and scratch rows; @pp can be initialised again.
 * NULL-safe fields. */
void gst_aneforge_preprocess_clear (GstAneforgePreprocess *pp);

/* Writes @frame (mapped for reading, same format and size as at init) into
 * @dst, the port's C x H x W uint8 planes. Allocates nothing. */
void gst_aneforge_preprocess_run (const GstAneforgePreprocess *pp, const GstVideoFrame *frame,
                                  guint8 *dst);

/* Scratch for @n_slots row ranges at once (gst_aneforge_preprocess_run_rows
 * slots 0 .. n_slots - 1); init leaves one. Allocates: call from set_caps. */
void gst_aneforge_preprocess_set_slots (GstAneforgePreprocess *pp, gint n_slots);

/* Output rows [@oy0, @oy1) of gst_aneforge_preprocess_run with scratch slot
 * @slot: ranges on different slots may run on different threads at once.
 * Allocates nothing. */
void gst_aneforge_preprocess_run_rows (const GstAneforgePreprocess *pp, const GstVideoFrame *frame,
                                       guint8 *dst, gint oy0, gint oy1, gint slot);

G_END_DECLS

#endif /* GST_ANEFORGE_PREPROCESS_H */
