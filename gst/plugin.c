/* plugin.c — registers the aneforge elements. */
#include <gst/gst.h>

#include "gstaneforge.h"
#include "gstaneforgeoverlay.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ok = GST_ELEMENT_REGISTER (aneforge, plugin);
  ok &= GST_ELEMENT_REGISTER (aneforgeoverlay, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, aneforge,
                   "Neural-network inference with Apple Neural Engine numerics", plugin_init,
                   VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
