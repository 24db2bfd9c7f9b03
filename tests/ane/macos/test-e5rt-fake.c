/* test-e5rt-fake.c — src/backends/ane/macos/e5rt.c, built for Linux, run
 * against fake-espresso.c: the calls come in the facts file's order
 * (../shared/ane/README.md §2.1), with the ANE-only mask, buffers rounded up
 * to 64 bytes and every port bound before the one encode; a refused call
 * fails with its name and e5rt's last error message; a missing framework
 * fails with dlopen's reason. What it cannot show: that Espresso is this
 * fake (needs a Mac). */
#include "device.h"

#include <dlfcn.h>
#include <glib.h>
#include <stdlib.h>

/* The sequence §2.1 gives (steps 1-8) for one input and one output port. */
static const char *const expected_sequence[] = {
  "e5rt_e5_compiler_config_options_create",
  "e5rt_e5_compiler_config_options_set_cache_bundle_location",
  "e5rt_e5_compiler_create_with_config",
  "e5rt_e5_compiler_options_create",
  "e5rt_e5_compiler_options_set_compute_device_types_mask",
  "e5rt_e5_compiler_options_set_force_recompilation",
  "e5rt_e5_compiler_options_set_segmenter",
  "e5rt_e5_compiler_compile",
  "e5rt_program_library_retain_program_function",
  "e5rt_precompiled_compute_op_create_options_create_with_program_function",
  "e5rt_precompiled_compute_op_create_options_set_operation_name",
  "e5rt_precompiled_compute_op_create_options_set_allocate_intermediate_buffers",
  "e5rt_execution_stream_operation_create_precompiled_compute_operation_with_options",
  "e5rt_execution_stream_operation_retain_input_port",
  "e5rt_buffer_object_alloc",
  "e5rt_buffer_object_get_data_ptr",
  "e5rt_io_port_bind_buffer_object",
  "e5rt_execution_stream_operation_retain_output_port",
  "e5rt_buffer_object_alloc",
  "e5rt_buffer_object_get_data_ptr",
  "e5rt_io_port_bind_buffer_object",
  "e5rt_execution_stream_create",
  "e5rt_execution_stream_encode_operation",
  "e5rt_execution_stream_execute_sync",
};

typedef const char *(*LogFn) (void);
typedef void (*ResetFn) (void);

static LogFn fake_log;
static ResetFn fake_reset;

/* The fake's exported log functions (the module e5rt.c loaded). */
static void
load_fake (void)
{
  void *h = dlopen (AF_ESPRESSO_PATH, RTLD_NOW);
  g_assert_nonnull (h);
  fake_log = (LogFn) dlsym (h, "fake_espresso_log");
  fake_reset = (ResetFn) dlsym (h, "fake_espresso_reset");
  g_assert_true (fake_log && fake_reset);
}

static const AfDevicePort in_port = { "image", 100, 2, { 1, 50 } };
static const AfDevicePort out_port = { "logits", 130, 2, { 1, 65 } };

/* One program, one frame: exactly the expected calls, buffers of 128 and
 * 192 bytes (100 and 130 rounded up to 64) whose padding reads zero. */
static void
test_sequence (void)
{
  char err[512] = "";
  AfE5rt *rt = af_e5rt_open (err, sizeof err);
  g_assert_nonnull (rt);
  load_fake ();
  fake_reset ();
  AfE5rtProgram *p = af_e5rt_program_new (rt, "/tmp/x/model.mil", "/tmp/x/cache", &in_port, 1,
                                          &out_port, 1, err, sizeof err);
  if (!p)
    g_error ("program_new: %s", err);
  g_assert_cmpint (af_e5rt_program_execute (p, err, sizeof err), ==, 0);
  char **calls = g_strsplit (fake_log (), "\n", -1);
  guint n = g_strv_length (calls) - 1; /* the trailing empty string */
  for (guint i = 0; i < MIN (n, G_N_ELEMENTS (expected_sequence)); i++)
    g_assert_cmpstr (calls[i], ==, expected_sequence[i]);
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (expected_sequence));
  g_strfreev (calls);
  guint8 *in = af_e5rt_program_input (p, 0), *out = af_e5rt_program_output (p, 0);
  g_assert_true (in && out && !af_e5rt_program_input (p, 1));
  for (int i = 0; i < 128; i++)
    g_assert_cmpuint (in[i], ==, 0);
  for (int i = 0; i < 192; i++)
    g_assert_cmpuint (out[i], ==, 0);
  af_e5rt_program_free (p);
  af_e5rt_close (rt);
}

/* A call Espresso refuses: program_new fails naming the call and quoting
 * e5rt_get_last_error_message(). */
static void
test_refused (void)
{
  char err[512] = "";
  AfE5rt *rt = af_e5rt_open (err, sizeof err);
  g_assert_nonnull (rt);
  g_setenv ("FAKE_E5RT_FAIL", "e5rt_e5_compiler_compile", TRUE);
  AfE5rtProgram *p = af_e5rt_program_new (rt, "/tmp/x/model.mil", "/tmp/x/cache", &in_port, 1,
                                          &out_port, 1, err, sizeof err);
  g_unsetenv ("FAKE_E5RT_FAIL");
  g_assert_null (p);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "e5rt_e5_compiler_compile failed (code 7)"));
  g_assert_nonnull (strstr (err, "fake e5rt_e5_compiler_compile: refused"));
  af_e5rt_close (rt);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e5rt-fake/sequence", test_sequence);
  g_test_add_func ("/e5rt-fake/refused", test_refused);
  return g_test_run ();
}
