/* alloc-counter.c — see alloc-counter.h. */
#include "alloc-counter.h"

extern void *__libc_malloc (size_t);
extern void *__libc_calloc (size_t, size_t);
extern void *__libc_realloc (void *, size_t);
static gint n_allocs;

gint
af_test_allocs (void)
{
  return g_atomic_int_get (&n_allocs);
}

void *
malloc (size_t n)
{
  g_atomic_int_inc (&n_allocs);
  return __libc_malloc (n);
}

void *
calloc (size_t a, size_t b)
{
  g_atomic_int_inc (&n_allocs);
  return __libc_calloc (a, b);
}

void *
realloc (void *p, size_t n)
{
  g_atomic_int_inc (&n_allocs);
  return __libc_realloc (p, n);
}
