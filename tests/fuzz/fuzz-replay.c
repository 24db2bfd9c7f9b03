/* fuzz-replay.c — runs every file of a fuzz corpus directory through a fuzz
 * target's LLVMFuzzerTestOneInput, one g_test per file, so the corpus (seeds
 * and past crashers) is a regression test in every normal build. Linked
 * with one target; AF_FUZZ_CORPUS names its corpus directory. */
#include <glib.h>
#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Feeds one corpus file to the target: it must return without crashing. */
static void
test_replay_file (gconstpointer path)
{
  char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  /* an exact-size heap copy, as libFuzzer passes it, so overreads are caught */
  guint8 *copy = g_memdup2 (data, len);
  g_assert_cmpint (LLVMFuzzerTestOneInput (copy, len), ==, 0);
  g_free (copy);
  g_free (data);
}

static int
cmp_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  LLVMFuzzerInitialize (&argc, &argv);
  GError *error = NULL;
  GDir *dir = g_dir_open (AF_FUZZ_CORPUS, 0, &error);
  g_assert_no_error (error);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)))
    g_ptr_array_add (names, g_strdup (name));
  g_dir_close (dir);
  g_ptr_array_sort (names, cmp_names);
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < names->len; i++) {
    const char *n = g_ptr_array_index (names, i);
    char *path = g_build_filename (AF_FUZZ_CORPUS, n, NULL);
    char *test = g_strdup_printf ("/fuzz/replay/%s/%s", AF_FUZZ_TARGET, n);
    g_ptr_array_add (paths, path);
    g_test_add_data_func (test, path, test_replay_file);
    g_free (test);
  }
  g_assert_cmpuint (paths->len, >, 0); /* an empty corpus would prove nothing */
  int rc = g_test_run ();
  g_ptr_array_unref (paths);
  g_ptr_array_unref (names);
  return rc;
}
