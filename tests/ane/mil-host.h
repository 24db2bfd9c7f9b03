/* mil-host.h — host segments of an ANE export plan run on the model's own
 * graph node, alone in a graph compiled for the CPU backend: the CPU work
 * the runtime does between ANE programs (plan.json names the node but
 * carries no attributes). */
#ifndef AF_TEST_MIL_HOST_H
#define AF_TEST_MIL_HOST_H

#include "mil.h"

typedef struct MilHost MilHost;

/* Opens @model (.json, .onnx, .tflite) for its host nodes. */
MilHost *mil_host_new (const char *model, GError **error);
void mil_host_free (MilHost *h);
/* A MilHostFn: @data is a MilHost. */
MilTensor *mil_host_run (gpointer data, const char *op, const char *node, GHashTable *env,
                         GError **error);

#endif
