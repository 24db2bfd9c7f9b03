/* gstaneforgetensorpool.c — buffers of one memory per output tensor. */
#include "gstaneforgetensorpool.h"

struct _GstAneforgeTensorPool {
  GstBufferPool parent;
  guint n;
  gsize *sizes;
};

G_DEFINE_TYPE (GstAneforgeTensorPool, gst_aneforge_tensor_pool, GST_TYPE_BUFFER_POOL);

static GstFlowReturn
gst_aneforge_tensor_pool_alloc_buffer (GstBufferPool *pool, GstBuffer **buffer,
                                       GstBufferPoolAcquireParams *params)
{
  GstAneforgeTensorPool *self = GST_ANEFORGE_TENSOR_POOL (pool);
  GstBuffer *b = gst_buffer_new ();
  for (guint i = 0; i < self->n; i++) {
    GstMemory *mem = gst_allocator_alloc (NULL, self->sizes[i], NULL);
    if (!mem) {
      gst_buffer_unref (b);
      return GST_FLOW_ERROR;
    }
    gst_buffer_append_memory (b, mem);
  }
  *buffer = b;
  return GST_FLOW_OK;
}

static void
gst_aneforge_tensor_pool_finalize (GObject *object)
{
  g_free (GST_ANEFORGE_TENSOR_POOL (object)->sizes);
  G_OBJECT_CLASS (gst_aneforge_tensor_pool_parent_class)->finalize (object);
}

static void
gst_aneforge_tensor_pool_class_init (GstAneforgeTensorPoolClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gst_aneforge_tensor_pool_finalize;
  GST_BUFFER_POOL_CLASS (klass)->alloc_buffer = gst_aneforge_tensor_pool_alloc_buffer;
}

static void
gst_aneforge_tensor_pool_init (GstAneforgeTensorPool *self)
{
}

GstBufferPool *
gst_aneforge_tensor_pool_new (guint n, const gsize *sizes)
{
  GstAneforgeTensorPool *self = g_object_new (GST_TYPE_ANEFORGE_TENSOR_POOL, NULL);
  gst_object_ref_sink (self);
  self->n = n;
  self->sizes = g_memdup2 (sizes, n * sizeof (gsize));
  guint total = 0;
  for (guint i = 0; i < n; i++)
    total += (guint) sizes[i];
  GstBufferPool *pool = GST_BUFFER_POOL (self);
  GstStructure *config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, NULL, total, 2, 0);
  if (!gst_buffer_pool_set_config (pool, config) || !gst_buffer_pool_set_active (pool, TRUE)) {
    gst_object_unref (pool);
    return NULL;
  }
  return pool;
}
