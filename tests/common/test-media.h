/* test-media.h — real pictures for tests: paths under ../shared and decoded,
 * bilinear-resized pixels (gdk-pixbuf), the way the CLI feeds a model. */
#ifndef AF_TEST_MEDIA_H
#define AF_TEST_MEDIA_H

#include "aneforge.h"

/* $AF_SHARED/@rel (default ../shared/@rel), or NULL when it does not exist
 * (transfer full). */
char *af_test_shared_path (const char *rel);

/* Decodes @path, resizes it to @w x @h (bilinear) and returns planar pixel
 * values 0..255, 3 planes in @order (1 plane of luma for GRAY)
 * (transfer full). Aborts the test if the file cannot be read. */
float *af_test_load_planar (const char *path, int w, int h, AfPixelOrder order);

/* Fills image port @input of @m from @path, resized to the port's size. */
void af_test_fill_port (AfModel *m, guint input, const char *path);

#endif
