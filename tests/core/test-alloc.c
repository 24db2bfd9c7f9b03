/* test-alloc.c — the steady state allocates nothing. A counting malloc
 * replaces libc's in this executable (not run under valgrind or ASan, which
 * bring their own allocators). */
#include "fixtures.h"

extern void *__libc_malloc (size_t);
extern void *__libc_calloc (size_t, size_t);
extern void *__libc_realloc (void *, size_t);
static volatile gint n_allocs;

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

/* 20 executes of the tiny CNN on 2 threads make no malloc/calloc/realloc call. */
static void
test_no_alloc_per_frame (void)
{
  AfGraph *g = tiny_cnn ();
  AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
  o.threads = 2;
  AfModel *m = af_compile (g, &o, NULL);
  g_assert_true (af_model_execute (m, NULL)); /* warm-up */
  gint before = g_atomic_int_get (&n_allocs);
  for (int i = 0; i < 20; i++)
    af_model_execute (m, NULL);
  gint after = g_atomic_int_get (&n_allocs);
  g_assert_cmpint (after - before, ==, 0);
  g_assert_cmpint (before, >, 0); /* the counter does count */
  af_model_free (m);
  af_graph_free (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/alloc/no-alloc-per-frame", test_no_alloc_per_frame);
  return g_test_run ();
}
