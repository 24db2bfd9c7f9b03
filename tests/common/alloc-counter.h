/* alloc-counter.h — counts malloc/calloc/realloc calls of the whole process
 * (glibc only). Link tests/common/alloc-counter.c into a test executable: it
 * replaces libc's allocator entry points there. Not for ASan or valgrind
 * builds, which bring their own allocators (run.sh skips suite 'alloc'). */
#ifndef AF_TEST_ALLOC_COUNTER_H
#define AF_TEST_ALLOC_COUNTER_H

#include <glib.h>

/* Allocations so far, all threads together. */
gint af_test_allocs (void);

#endif
