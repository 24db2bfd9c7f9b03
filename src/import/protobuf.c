/* PLACEHOLDER: the ONNX importer is landing */
#include "graph.h"
