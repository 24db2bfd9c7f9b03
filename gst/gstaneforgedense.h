/* gstaneforgedense.h — (private) the aneforge element's segmentation masks
 * and keypoints: copied from the decoders into pooled storage, posted on
 * the bus and written to the results file. */
#ifndef GST_ANEFORGE_DENSE_H
#define GST_ANEFORGE_DENSE_H

#include "aneforge.h"
#include "gstaneforgeresults.h"

G_BEGIN_DECLS

/* Copies @seg's mask and @kp's keypoints (either may be NULL), keypoints
 * mapped to a @frame_w x @frame_h frame stretched from the decoder's
 * input, into @out, whose storage has room for them (sized by
 * gst_aneforge_dense_sizes). Allocates nothing. */
void gst_aneforge_dense_fill (GstAneforgeDense *out, AfDecoder *seg_dec, AfDecodeResult *seg,
                              AfDecoder *kp_dec, AfDecodeResult *kp, gint frame_w, gint frame_h);

/* The storage @seg and @kp (either may be NULL) need. */
void gst_aneforge_dense_sizes (const AfDecodeResult *seg, const AfDecodeResult *kp,
                               gsize *mask_bytes, guint *max_keypoints);

/* Adds "mask-width", "mask-height", "mask-classes", "mask-counts" (cells
 * per class) and "keypoints" (a list of [x, y, score, visible]) to @s
 * for what @d holds. */
void gst_aneforge_dense_post (GstStructure *s, const GstAneforgeDense *d);

/* Appends ", \"mask\": {...}" and ", \"keypoints\": [...]" to a results
 * line for what @d holds (nothing when it holds neither). */
void gst_aneforge_dense_write (GString *l, const GstAneforgeDense *d);

G_END_DECLS

#endif /* GST_ANEFORGE_DENSE_H */
