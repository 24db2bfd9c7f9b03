/* fixtures.h — graphs shared by the core tests. */
#ifndef AF_TEST_FIXTURES_H
#define AF_TEST_FIXTURES_H

#include "aneforge.h"

/* Deterministic uniform floats in [-1, 1) (transfer full). */
float *random_floats (gint64 n);
/* A constant of random values (borrowed from @g). */
AfTensor *random_weight (AfGraph *g, const char *name, int rank, const gint64 *shape);
/* A tiny CNN on a 3x17x13 image port: conv-relu, conv-relu6 (stride 2),
 * global pool, reshape, linear, softmax (transfer full). */
AfGraph *tiny_cnn (void);

#endif
