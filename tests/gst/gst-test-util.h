/* gst-test-util.h — fixtures shared by the element tests: isolated registry,
 * test models, frames in every sink format. */
#ifndef GST_TEST_UTIL_H
#define GST_TEST_UTIL_H

#include <gst/gst.h>
#include <gst/video/video.h>

#include "aneforge.h"

G_BEGIN_DECLS

/* g_test_init + gst_init with GST_REGISTRY in a fresh temporary directory
 * (removed by gt_deinit). */
void gt_init (int *argc, char ***argv);
/* Removes the temporary directory and calls gst_deinit. */
void gt_deinit (void);
/* The temporary directory (borrowed). */
const char *gt_tmpdir (void);

/* Path (borrowed) of the tiny classifier: models/tiny-classifier.json of the
 * source tree, else one written by tools/gen-models into the tmpdir. */
const char *gt_tiny_model (void);
/* Its labels, one per class (borrowed, NULL-terminated). */
const char *const *gt_tiny_labels (void);
/* A model whose only input is not an image port (transfer full path). */
char *gt_nonimage_model (void);
/* An image model [1,3,8,8] with two outputs: "features" [1,4,8,8] (a conv)
 * and "pooled" [1,4]; with @classify, "pooled" has a classification decode
 * with softmax and top-3 (transfer full path). */
char *gt_two_output_model (gboolean classify);
/* Writes @contents to @name in the tmpdir (transfer full path). */
char *gt_write_file (const char *name, const char *contents);

/* An RGB colour for pixel (x, y). */
typedef void (*GtPixelFn) (int x, int y, guint8 rgb[3], gpointer data);
/* A frame of @info filled from @fn: RGB formats get the colour, GRAY8 its
 * BT.601 luma, NV12 / I420 BT.601 limited-range YUV (chroma from the
 * top-left pixel of each 2x2 block). Returns (transfer full). */
GstBuffer *gt_frame_new (const GstVideoInfo *info, GtPixelFn fn, gpointer data);
/* A solid frame of @format, @w x @h. */
GstBuffer *gt_solid_frame (GstVideoFormat format, int w, int h, const guint8 rgb[3]);
/* Video info for @format @w x @h (30/1 fps). */
void gt_video_info (GstVideoInfo *info, GstVideoFormat format, int w, int h);

/* The formats the element accepts. */
extern const GstVideoFormat gt_formats[];
extern const guint gt_n_formats;

G_END_DECLS

#endif /* GST_TEST_UTIL_H */
