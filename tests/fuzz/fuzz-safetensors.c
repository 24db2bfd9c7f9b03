/* fuzz-safetensors.c — libFuzzer target: arbitrary bytes as a safetensors
 * file (af__safetensors_parse), parsed once borrowing the buffer and once
 * copying. Every tensor the parser accepts is read end to end, so an
 * out-of-bounds data pointer shows up under AddressSanitizer. */
#include "safetensors.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

static volatile guint8 sink;

static void
parse (const uint8_t *data, size_t size, GBytes *owner)
{
  GError *error = NULL;
  GPtrArray *ts = af__safetensors_parse (data, size, "fuzz.safetensors", owner, &error);
  if (!ts) {
    g_assert_nonnull (error);
    g_assert_true (error->domain == AF_ERROR);
    g_assert_true (g_str_has_prefix (error->message, "fuzz.safetensors"));
    g_error_free (error);
    return;
  }
  guint8 acc = 0;
  for (guint i = 0; i < ts->len; i++) {
    AfStTensor *t = g_ptr_array_index (ts, i);
    gsize n = af__shape_numel (&t->shape) * af__dtype_size (t->dtype);
    g_assert_cmpuint ((guintptr) t->data % af__dtype_size (t->dtype), ==, 0);
    for (gsize k = 0; k < n; k++)
      acc ^= ((const guint8 *) t->data)[k];
    if (i)
      g_assert_cmpint (strcmp (((AfStTensor *) g_ptr_array_index (ts, i - 1))->name, t->name), <,
                       0);
  }
  sink = acc;
  g_ptr_array_unref (ts);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GBytes *owner = g_bytes_new_static (data, size);
  parse (data, size, owner);
  g_bytes_unref (owner);
  parse (data, size, NULL);
  return 0;
}
