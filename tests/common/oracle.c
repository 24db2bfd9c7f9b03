/* oracle.c — see oracle.h. */
#include "oracle.h"

#include <stdio.h>

#define AF_TEST_MEDIAPIPE_VERSION "0.10.21" /* tools/pyenv.sh's */

char *
af_test_venv (void)
{
  const char *venv = g_getenv ("AF_VENV");
  if (venv)
    return g_strdup (venv);
  const char *root = g_getenv ("AF_SOURCE_ROOT");
  return g_build_filename (root ? root : ".", "build", "venv", NULL);
}

/* NULL after skipping ("pypi:") or failing: @what is missing. */
static char *
missing (const char *what)
{
  g_autofree char *venv = af_test_venv ();
  g_autofree char *parent = g_path_get_dirname (venv);
  g_autofree char *marker = g_build_filename (parent, "pypi-unreachable", NULL);
  g_autofree char *why = NULL;
  if (g_file_get_contents (marker, &why, NULL, NULL)) {
    g_test_skip_printf ("pypi: %s is missing: %s", what, g_strstrip (why));
    return NULL;
  }
  g_test_message ("%s is missing and PyPI was not found unreachable: run tools/pyenv.sh", what);
  g_test_fail ();
  return NULL;
}

char *
af_test_python (void)
{
  g_autofree char *venv = af_test_venv ();
  char *py = g_build_filename (venv, "bin", "python", NULL);
  if (g_file_test (py, G_FILE_TEST_IS_EXECUTABLE))
    return py;
  g_autofree char *owned = py;
  return missing (py);
}

char *
af_test_mediapipe_model (const char *file)
{
  const char *cache = g_getenv ("AF_CACHE");
  g_autofree char *dflt = g_build_filename (g_get_home_dir (), ".cache", "aneforge", NULL);
  char *path =
      g_build_filename (cache ? cache : dflt, "mediapipe-" AF_TEST_MEDIAPIPE_VERSION, file, NULL);
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return path;
  g_autofree char *owned = path;
  return missing (path);
}

char *
af_test_shared_file (const char *rel)
{
  const char *shared = g_getenv ("AF_SHARED");
  char *path = g_build_filename (shared ? shared : "../shared", rel, NULL);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return path;
  g_test_message ("%s is missing (AF_SHARED=%s)", path, shared ? shared : "(unset)");
  g_test_fail ();
  g_free (path);
  return NULL;
}

char *
af_test_run_capture (const char *const *argv)
{
  char *out = NULL, *err = NULL;
  int status = 0;
  GError *error = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                     &error)) {
    g_test_message ("%s: %s", argv[0], error->message);
    g_error_free (error);
    g_test_fail ();
    return NULL;
  }
  if (!g_spawn_check_wait_status (status, NULL)) {
    g_test_message ("%s failed:\n%s", argv[0], err);
    g_free (out);
    out = NULL;
    g_test_fail ();
  }
  g_free (err);
  return out;
}
