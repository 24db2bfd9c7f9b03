/* oracle.h — where the tests find what they compare against, and how they
 * skip. tests/run.sh counts every skip by the tag its reason starts with and
 * fails the run on an untagged one:
 *   "isa: ..."   this CPU lacks the instruction set the test covers;
 *   "pypi: ..."  PyPI was unreachable when tools/pyenv.sh ran;
 * anything else a test needs (../shared, Debian's packages, the venv on a
 * machine that reached PyPI) is a failure when it is missing, not a skip. */
#ifndef AF_TEST_ORACLE_H
#define AF_TEST_ORACLE_H

#include <glib.h>

/* The Python oracles' venv: $AF_VENV, default $AF_SOURCE_ROOT/build/venv
 * (transfer full). */
char *af_test_venv (void);

/* The venv's python (transfer full). When it is missing: NULL after
 * g_test_skip ("pypi: ...") if tools/pyenv.sh found PyPI unreachable, else
 * NULL after g_test_fail () with a message saying how to make it. */
char *af_test_python (void);

/* MediaPipe model @file (e.g. "face_detection_short_range.tflite") from the
 * mediapipe wheel, cached by tools/pyenv.sh in
 * ${AF_CACHE:-~/.cache/aneforge}/mediapipe-0.10.21/ (transfer full). When it
 * is missing: NULL, skipped or failed as af_test_python (). */
char *af_test_mediapipe_model (const char *file);

/* $AF_SHARED/@rel (transfer full); NULL after g_test_fail () when it does
 * not exist: CI and every developer have ../shared. */
char *af_test_shared_file (const char *rel);

/* Runs @argv (NULL-terminated) and returns its standard output (transfer
 * full); NULL after g_test_fail () with its standard error when it cannot be
 * started or exits non-zero. */
char *af_test_run_capture (const char *const *argv);

#endif
