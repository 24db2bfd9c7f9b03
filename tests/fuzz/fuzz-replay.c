/* fuzz-replay.c — runs every file of a fuzz corpus directory through a fuzz
 * target's LLVMFuzzerTestOneInput, one g_test per file, so the corpus (seeds
 * and past crashers) is a regression test in every normal build. Linked
 * with one target; AF_FUZZ_CORPUS names its corpus directory (AF_FUZZ_DICT,
 * optionally, a libFuzzer dictionary of tokens for the mutator).
 *
 * With `--mutate SECONDS [--seed N]` it then mutates the corpus for that
 * long without libFuzzer (a plain random mutator: bit flips, interesting
 * integers, chunk insert / delete / copy, splices of two files, truncation,
 * dictionary tokens), so every build (gcc, ASan, qemu) fuzzes each target a
 * little. An input that crashes or trips an assertion is written to
 * `fuzz-<target>-crash-<seed>-<n>.bin` in the working directory first (add it
 * to the corpus once fixed). It prints the executions, e.g.
 *   # fuzz graph: 41234 executions in 10.0 s (4123/s), seed 1, 73 seeds
 * and fails when none ran. A libFuzzer build (-Dfuzzing=true) is for long
 * runs: tests/fuzz/run.sh HOURS. */
#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* optional, as for libFuzzer */
int LLVMFuzzerInitialize (int *argc, char ***argv) __attribute__ ((weak));
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define MAX_MUTANT (256 * 1024) /* mutants stay below this */

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

/* ---------------------------------------------------------------- mutation */

typedef struct {
  double seconds;
  guint32 seed;
  GPtrArray *seeds;  /* GBytes of the corpus files */
  GPtrArray *tokens; /* GBytes of the dictionary's tokens */
} Mutation;

static Mutation mutation;

/* The input being run, for the crash handler: written out before dying. */
static const guint8 *volatile current_data;
static volatile size_t current_size;
static char crash_path[256];

static void
write_current_input (void)
{
  if (!current_data)
    return;
  int fd = open (crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return;
  ssize_t w = write (fd, (const void *) current_data, current_size);
  close (fd);
  static const char msg[] = "\nfuzz: crashing input written to ";
  w = write (2, msg, sizeof msg - 1);
  w = write (2, crash_path, strlen (crash_path));
  w = write (2, "\n", 1);
  (void) w;
}

static void
on_crash (int sig)
{
  write_current_input ();
  signal (sig, SIG_DFL);
  raise (sig);
}

/* ASan and UBSan end the process with _exit, not a signal: their death
 * callback writes the input (weak: absent without a sanitizer). */
void __sanitizer_set_death_callback (void (*callback) (void)) __attribute__ ((weak));

static void
install_crash_handler (void)
{
  const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP };
  for (guint i = 0; i < G_N_ELEMENTS (sigs); i++)
    signal (sigs[i], on_crash);
  if (__sanitizer_set_death_callback)
    __sanitizer_set_death_callback (write_current_input);
}

/* Reads a libFuzzer dictionary: `"token"` or `name="token"` lines with \\,
 * \" and \xNN escapes; other lines are ignored. */
static GPtrArray *
load_dict (const char *path)
{
  GPtrArray *tokens = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  char *text = NULL;
  if (!path || !g_file_get_contents (path, &text, NULL, NULL))
    return tokens;
  char **lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    char *q = strchr (*l, '"');
    if (**l == '#' || !q)
      continue;
    GByteArray *tok = g_byte_array_new ();
    for (char *p = q + 1; *p && *p != '"'; p++) {
      guint8 c = (guint8) *p;
      if (*p == '\\' && p[1] == 'x' && g_ascii_isxdigit (p[2]) && g_ascii_isxdigit (p[3])) {
        c = (guint8) (g_ascii_xdigit_value (p[2]) * 16 + g_ascii_xdigit_value (p[3]));
        p += 3;
      } else if (*p == '\\' && p[1]) {
        c = (guint8) * ++p;
      }
      g_byte_array_append (tok, &c, 1);
    }
    if (tok->len)
      g_ptr_array_add (tokens, g_byte_array_free_to_bytes (tok));
    else
      g_byte_array_unref (tok);
  }
  g_strfreev (lines);
  g_free (text);
  return tokens;
}

static void
insert_bytes (GByteArray *b, guint at, const guint8 *data, guint n)
{
  if (b->len + n > MAX_MUTANT)
    return;
  g_byte_array_set_size (b, b->len + n);
  memmove (b->data + at + n, b->data + at, b->len - n - at);
  memcpy (b->data + at, data, n);
}

/* One random edit of @b. */
static void
mutate_once (GRand *r, GByteArray *b)
{
  static const gint64 interesting[] = { 0,
                                        1,
                                        -1,
                                        0x7f,
                                        0x80,
                                        0xff,
                                        0x7fff,
                                        0xffff,
                                        0x7fffffff,
                                        (gint64) 0x80000000u,
                                        (gint64) 0xffffffffu,
                                        G_MAXINT64,
                                        G_MININT64,
                                        16,
                                        64,
                                        256,
                                        4096 };
  guint len = b->len;
  guint at = len ? (guint) g_rand_int_range (r, 0, (gint32) len) : 0;
  switch (g_rand_int_range (r, 0, 9)) {
  case 0: /* flip a bit */
    if (len)
      b->data[at] ^= (guint8) (1u << g_rand_int_range (r, 0, 8));
    break;
  case 1: /* a random byte */
    if (len)
      b->data[at] = (guint8) g_rand_int (r);
    break;
  case 2: { /* an interesting integer, 1 to 8 bytes, little endian */
    gint64 v = interesting[g_rand_int_range (r, 0, G_N_ELEMENTS (interesting))];
    guint n = 1u << g_rand_int_range (r, 0, 4);
    for (guint i = 0; i < n && at + i < len; i++)
      b->data[at + i] = (guint8) (v >> (8 * i));
    break;
  }
  case 3: { /* insert random bytes */
    guint8 tmp[16];
    guint n = (guint) g_rand_int_range (r, 1, 17);
    for (guint i = 0; i < n; i++)
      tmp[i] = (guint8) g_rand_int (r);
    insert_bytes (b, at, tmp, n);
    break;
  }
  case 4: { /* delete a chunk */
    guint n = (guint) g_rand_int_range (r, 1, 65);
    if (len)
      g_byte_array_remove_range (b, at, MIN (len - at, n));
    break;
  }
  case 5: { /* copy a chunk of itself elsewhere */
    if (!len)
      break;
    guint from = (guint) g_rand_int_range (r, 0, (gint32) len);
    guint n = (guint) g_rand_int_range (r, 1, 129);
    n = MIN (len - from, n);
    guint8 *tmp = g_memdup2 (b->data + from, n);
    insert_bytes (b, at, tmp, n);
    g_free (tmp);
    break;
  }
  case 6: { /* splice: our head, another seed's tail */
    GBytes *other =
        g_ptr_array_index (mutation.seeds, g_rand_int_range (r, 0, (gint32) mutation.seeds->len));
    gsize olen;
    const guint8 *od = g_bytes_get_data (other, &olen);
    if (!olen)
      break;
    guint from = (guint) g_rand_int_range (r, 0, (gint32) olen);
    g_byte_array_set_size (b, at);
    g_byte_array_append (b, od + from, MIN (olen - from, MAX_MUTANT - at));
    break;
  }
  case 7: /* truncate */
    g_byte_array_set_size (b, at);
    break;
  default: { /* a dictionary token, inserted or overwriting */
    if (!mutation.tokens->len)
      break;
    gsize n;
    const guint8 *t = g_bytes_get_data (
        g_ptr_array_index (mutation.tokens, g_rand_int_range (r, 0, (gint32) mutation.tokens->len)),
        &n);
    if (g_rand_boolean (r) && at + n <= len)
      memcpy (b->data + at, t, n);
    else
      insert_bytes (b, at, t, (guint) n);
    break;
  }
  }
}

/* Mutates random seeds (1 to 8 stacked edits each) until the time is up;
 * every mutant is run from an exact-size heap copy. */
static void
test_mutate (void)
{
  GRand *r = g_rand_new_with_seed (mutation.seed);
  GByteArray *b = g_byte_array_new ();
  guint64 execs = 0;
  gint64 t0 = g_get_monotonic_time (), end = t0 + (gint64) (mutation.seconds * 1e6);
  install_crash_handler ();
  do {
    for (int batch = 0; batch < 64; batch++) {
      GBytes *seed =
          g_ptr_array_index (mutation.seeds, g_rand_int_range (r, 0, (gint32) mutation.seeds->len));
      gsize n;
      const guint8 *d = g_bytes_get_data (seed, &n);
      g_byte_array_set_size (b, 0);
      g_byte_array_append (b, d, (guint) n);
      for (int k = g_rand_int_range (r, 1, 9); k > 0; k--)
        mutate_once (r, b);
      guint8 *copy = g_memdup2 (b->data, b->len);
      g_snprintf (crash_path, sizeof crash_path, "fuzz-%s-crash-%u-%" G_GUINT64_FORMAT ".bin",
                  AF_FUZZ_TARGET, mutation.seed, execs);
      current_size = b->len;
      current_data = copy;
      g_assert_cmpint (LLVMFuzzerTestOneInput (copy, b->len), ==, 0);
      current_data = NULL;
      g_free (copy);
      execs++;
    }
  } while (g_get_monotonic_time () < end);
  double s = (g_get_monotonic_time () - t0) / 1e6;
  g_print ("# fuzz %s: %" G_GUINT64_FORMAT " executions in %.1f s (%.0f/s), seed %u, %u seeds\n",
           AF_FUZZ_TARGET, execs, s, execs / s, mutation.seed, mutation.seeds->len);
  g_assert_cmpuint (execs, >, 0);
  g_byte_array_unref (b);
  g_rand_free (r);
}

/* Takes --mutate SECONDS and --seed N out of argv (before g_test_init). */
static void
parse_mutation_args (int *argc, char **argv)
{
  int out = 1;
  mutation.seed = 1;
  for (int i = 1; i < *argc; i++) {
    if (!strcmp (argv[i], "--mutate") && i + 1 < *argc)
      mutation.seconds = g_ascii_strtod (argv[++i], NULL);
    else if (!strcmp (argv[i], "--seed") && i + 1 < *argc)
      mutation.seed = (guint32) g_ascii_strtoull (argv[++i], NULL, 10);
    else
      argv[out++] = argv[i];
  }
  *argc = out;
  argv[out] = NULL;
}

int
main (int argc, char **argv)
{
  parse_mutation_args (&argc, argv);
  g_test_init (&argc, &argv, NULL);
  if (LLVMFuzzerInitialize)
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
  mutation.seeds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < names->len; i++) {
    const char *n = g_ptr_array_index (names, i);
    char *path = g_build_filename (AF_FUZZ_CORPUS, n, NULL);
    g_ptr_array_add (paths, path);
    if (mutation.seconds > 0) {
      char *data = NULL;
      gsize len = 0;
      g_assert_true (g_file_get_contents (path, &data, &len, NULL));
      g_ptr_array_add (mutation.seeds, g_bytes_new_take (data, len));
    } else {
      char *test = g_strdup_printf ("/fuzz/replay/%s/%s", AF_FUZZ_TARGET, n);
      g_test_add_data_func (test, path, test_replay_file);
      g_free (test);
    }
  }
  g_assert_cmpuint (paths->len, >, 0); /* an empty corpus would prove nothing */
#ifdef AF_FUZZ_DICT
  mutation.tokens = load_dict (AF_FUZZ_DICT);
#else
  mutation.tokens = load_dict (NULL);
#endif
  if (mutation.seconds > 0) {
    char *test = g_strdup_printf ("/fuzz/mutate/%s", AF_FUZZ_TARGET);
    g_test_add_func (test, test_mutate);
    g_free (test);
  }
  int rc = g_test_run ();
  g_ptr_array_unref (mutation.tokens);
  g_ptr_array_unref (mutation.seeds);
  g_ptr_array_unref (paths);
  g_ptr_array_unref (names);
  return rc;
}
