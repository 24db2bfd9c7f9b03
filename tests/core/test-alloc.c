/* test-alloc.c — the steady state allocates nothing (counted by
 * tests/common/alloc-counter.c; not run under valgrind or ASan). */
#include "alloc-counter.h"
#include "fixtures.h"

static void
count_items (gpointer user_data, gint64 begin, gint64 end, int thread)
{
  (void) thread;
  g_atomic_int_add ((gint *) user_data, (gint) (end - begin));
}

/* 20 executes of the tiny CNN on 2 threads, each after a parallel_for, make
 * no malloc/calloc/realloc call. */
static void
test_no_alloc_per_frame (void)
{
  AfGraph *g = tiny_cnn ();
  AfCompileOptions o = AF_COMPILE_OPTIONS_INIT;
  o.threads = 2;
  AfModel *m = af_compile (g, &o, NULL);
  gint items = 0;
  g_assert_true (af_model_execute (m, NULL)); /* warm-up */
  gint before = af_test_allocs ();
  for (int i = 0; i < 20; i++) {
    af_model_parallel_for (m, 100, 1, count_items, &items); /* host work on the threads */
    af_model_execute (m, NULL);
  }
  gint after = af_test_allocs ();
  g_assert_cmpint (after - before, ==, 0);
  g_assert_cmpint (items, ==, 20 * 100);
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
