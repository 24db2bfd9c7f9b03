/* tflite.h — the TensorFlow Lite importer.
 *
 * A .tflite file (FlatBuffers, identifier "TFL3") is read with the
 * bounds-checked reader of flatbuffer.h; subgraph 0 becomes an AfGraph.
 * TFLite is NHWC, the IR is NCHW: every rank-4 activation is kept NCHW
 * inside the graph (inputs become [N,C,H,W], conv weights OHWI -> OIHW,
 * depthwise [1,KH,KW,C*M] -> [C*M,1,KH,KW] with groups C), transposes are
 * inserted around RESHAPE / FULLY_CONNECTED so their NHWC semantics hold, and
 * rank-4 graph outputs are transposed back to NHWC. fp16 and (u)int8
 * quantized constants are dequantized to fp32 constants.
 *
 * Supported operators: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MUL,
 * RELU, RELU6, LOGISTIC, TANH, MAX_POOL_2D, AVERAGE_POOL_2D, PAD (zeros),
 * RESHAPE, CONCATENATION, SOFTMAX, RESIZE_NEAREST_NEIGHBOR (integer scales),
 * DEQUANTIZE (of constants); fused activations NONE, RELU, RELU_N1_TO_1,
 * RELU6, TANH. Anything else is an AF_ERROR_UNSUPPORTED error naming the
 * file, the operator index, the op and the option. */
#ifndef AF_IMPORT_TFLITE_H
#define AF_IMPORT_TFLITE_H

#include "aneforge.h"

G_BEGIN_DECLS

/* af_graph_import_tflite and af_graph_import_tflite_from_data are declared in
 * aneforge.h. */

G_END_DECLS

#endif /* AF_IMPORT_TFLITE_H */
