/* gstaneforgetensorpool.h — (private) a buffer pool for output=tensor:
 * every buffer holds one GstMemory per output tensor (NNStreamer's
 * convention), so steady-state streaming allocates no output memory. */
#ifndef GST_ANEFORGE_TENSOR_POOL_H
#define GST_ANEFORGE_TENSOR_POOL_H

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_ANEFORGE_TENSOR_POOL (gst_aneforge_tensor_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstAneforgeTensorPool, gst_aneforge_tensor_pool, GST, ANEFORGE_TENSOR_POOL,
                      GstBufferPool)

/* Returns (transfer full) an active pool of buffers made of @n memories of
 * @sizes bytes (copied), or NULL if it could not be activated. */
GstBufferPool *gst_aneforge_tensor_pool_new (guint n, const gsize *sizes);

G_END_DECLS

#endif /* GST_ANEFORGE_TENSOR_POOL_H */
