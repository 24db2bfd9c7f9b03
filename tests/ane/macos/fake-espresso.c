/* fake-espresso.c — a stand-in for Espresso's e5rt C API, built on Linux as
 * a shared module that src/backends/ane/macos/e5rt.c dlopens in
 * test-e5rt-fake. It is a model of the facts file's contract
 * (../shared/ane/README.md §2.1), not Espresso: it enforces what that
 * section states — out-pointers first, handles of the right kind, the ANE
 * mask 0x4, force recompilation, segmenter "graph", function "main",
 * buffers rounded up to 64 bytes (min 64) of type 0, every port bound
 * before the first encode, execute only on an encoded stream — logs every
 * call in order, and fails the call named by FAKE_E5RT_FAIL. Whether
 * Espresso itself behaves so needs a Mac. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int64_t e5rt_err;

typedef enum {
  K_CFG = 1,
  K_COMPILER,
  K_OPTS,
  K_LIB,
  K_FN,
  K_OPOPTS,
  K_OP,
  K_PORT,
  K_BUF,
  K_STREAM
} Kind;

typedef struct {
  Kind kind;
  uint64_t mask;
  int force, allocate, bound, encoded, n_ports;
  char text[256]; /* cache dir, segmenter, op name, port name */
  uint64_t size;
  void *data;
} Obj;

static char fake_log[8192];
static char fake_error[512];

/* The calls so far, one name per line (static). */
const char *
fake_espresso_log (void)
{
  return fake_log;
}
void
fake_espresso_reset (void)
{
  fake_log[0] = 0;
  fake_error[0] = 0;
}

static e5rt_err
fail (const char *fn, const char *msg)
{
  snprintf (fake_error, sizeof fake_error, "fake %s: %s", fn, msg);
  return 7;
}

/* Logs @fn; fails it when FAKE_E5RT_FAIL names it. */
static int
enter (const char *fn)
{
  strncat (fake_log, fn, sizeof fake_log - strlen (fake_log) - 2);
  strcat (fake_log, "\n");
  const char *f = getenv ("FAKE_E5RT_FAIL");
  return f && strcmp (f, fn) == 0;
}

static Obj *
make (Kind k)
{
  Obj *o = calloc (1, sizeof *o);
  o->kind = k;
  return o;
}

static int
is (void *h, Kind k)
{
  return h && ((Obj *) h)->kind == k;
}

#define ENTER()                                                                                    \
  if (enter (__func__))                                                                            \
  return fail (__func__, "refused (FAKE_E5RT_FAIL)")
#define REQUIRE(cond, msg)                                                                         \
  if (!(cond))                                                                                     \
  return fail (__func__, msg)

const char *
e5rt_get_last_error_message (void)
{
  return fake_error;
}

e5rt_err
e5rt_e5_compiler_config_options_create (void **out)
{
  ENTER ();
  REQUIRE (out, "out first");
  *out = make (K_CFG);
  return 0;
}

e5rt_err
e5rt_e5_compiler_config_options_set_cache_bundle_location (void *cfg, const char *dir)
{
  ENTER ();
  REQUIRE (is (cfg, K_CFG) && dir && *dir, "config, dir");
  snprintf (((Obj *) cfg)->text, 256, "%s", dir);
  return 0;
}

e5rt_err
e5rt_e5_compiler_create_with_config (void **out, void *cfg)
{
  ENTER ();
  REQUIRE (out && is (cfg, K_CFG), "out first, then config");
  REQUIRE (((Obj *) cfg)->text[0], "cache bundle location unset");
  *out = make (K_COMPILER);
  return 0;
}

e5rt_err
e5rt_e5_compiler_options_create (void **out)
{
  ENTER ();
  REQUIRE (out, "out first");
  *out = make (K_OPTS);
  return 0;
}

e5rt_err
e5rt_e5_compiler_options_set_compute_device_types_mask (void *o, uint64_t m)
{
  ENTER ();
  REQUIRE (is (o, K_OPTS) && m >= 1 && m <= 7, "options, mask 1..7");
  ((Obj *) o)->mask = m;
  return 0;
}

e5rt_err
e5rt_e5_compiler_options_set_force_recompilation (void *o, int v)
{
  ENTER ();
  REQUIRE (is (o, K_OPTS), "options");
  ((Obj *) o)->force = v;
  return 0;
}

e5rt_err
e5rt_e5_compiler_options_set_segmenter (void *o, const char *s)
{
  ENTER ();
  REQUIRE (is (o, K_OPTS) && s, "options, segmenter");
  snprintf (((Obj *) o)->text, 256, "%s", s);
  return 0;
}

e5rt_err
e5rt_e5_compiler_compile (void *c, const char *mil, void *o, void **out)
{
  ENTER ();
  REQUIRE (is (c, K_COMPILER) && mil && is (o, K_OPTS) && out, "compiler, path, options, out");
  Obj *opt = o;
  REQUIRE (opt->mask == 0x4, "mask is not 0x4 (ANE only)");
  REQUIRE (opt->force == 1, "force recompilation unset");
  REQUIRE (strcmp (opt->text, "graph") == 0, "segmenter is not \"graph\"");
  *out = make (K_LIB);
  return 0;
}

e5rt_err
e5rt_program_library_retain_program_function (void *lib, const char *name, void **out)
{
  ENTER ();
  REQUIRE (is (lib, K_LIB) && name && out, "library, name, out");
  REQUIRE (strcmp (name, "main") == 0, "no such function");
  *out = make (K_FN);
  return 0;
}

e5rt_err
e5rt_precompiled_compute_op_create_options_create_with_program_function (void **out, void *fn)
{
  ENTER ();
  REQUIRE (out && is (fn, K_FN), "out first, then function");
  *out = make (K_OPOPTS);
  return 0;
}

e5rt_err
e5rt_precompiled_compute_op_create_options_set_operation_name (void *o, const char *n)
{
  ENTER ();
  REQUIRE (is (o, K_OPOPTS) && n, "op options, name");
  snprintf (((Obj *) o)->text, 256, "%s", n);
  return 0;
}

e5rt_err
e5rt_precompiled_compute_op_create_options_set_allocate_intermediate_buffers (void *o, int v)
{
  ENTER ();
  REQUIRE (is (o, K_OPOPTS), "op options");
  ((Obj *) o)->allocate = v;
  return 0;
}

e5rt_err
e5rt_execution_stream_operation_create_precompiled_compute_operation_with_options (void **out,
                                                                                   void *o)
{
  ENTER ();
  REQUIRE (out && is (o, K_OPOPTS), "out first, then op options");
  REQUIRE (((Obj *) o)->text[0] && ((Obj *) o)->allocate, "op name / intermediate buffers unset");
  *out = make (K_OP);
  return 0;
}

static e5rt_err
retain_port (const char *fn, void *op, const char *name, void **out)
{
  if (enter (fn))
    return fail (fn, "refused (FAKE_E5RT_FAIL)");
  if (!is (op, K_OP) || !name || !out)
    return fail (fn, "op, name, out");
  if (((Obj *) op)->encoded)
    return fail (fn, "port retained after encode");
  Obj *p = make (K_PORT);
  snprintf (p->text, 256, "%s", name);
  ((Obj *) op)->n_ports++;
  *out = p;
  return 0;
}

e5rt_err
e5rt_execution_stream_operation_retain_input_port (void *op, const char *n, void **out)
{
  return retain_port (__func__, op, n, out);
}
e5rt_err
e5rt_execution_stream_operation_retain_output_port (void *op, const char *n, void **out)
{
  return retain_port (__func__, op, n, out);
}

e5rt_err
e5rt_buffer_object_alloc (void **out, uint64_t size, uint32_t type)
{
  ENTER ();
  REQUIRE (out, "out first");
  REQUIRE (type == 0, "type is not 0 (CPU pointer)");
  REQUIRE (size >= 64 && size % 64 == 0, "size not a multiple of 64 of at least 64");
  Obj *b = make (K_BUF);
  b->size = size;
  b->data = malloc (size);
  memset (b->data, 0xAB, size);
  *out = b;
  return 0;
}

e5rt_err
e5rt_buffer_object_get_data_ptr (void *buf, void **out)
{
  ENTER ();
  REQUIRE (is (buf, K_BUF) && out, "buffer, out");
  *out = ((Obj *) buf)->data;
  return 0;
}

static int n_bound;

e5rt_err
e5rt_io_port_bind_buffer_object (void *port, void *buf)
{
  ENTER ();
  REQUIRE (is (port, K_PORT) && is (buf, K_BUF), "port, buffer");
  ((Obj *) port)->bound = 1;
  n_bound++;
  return 0;
}

e5rt_err
e5rt_execution_stream_create (void **out)
{
  ENTER ();
  REQUIRE (out, "out first");
  *out = make (K_STREAM);
  return 0;
}

e5rt_err
e5rt_execution_stream_encode_operation (void *s, void *op)
{
  ENTER ();
  REQUIRE (is (s, K_STREAM) && is (op, K_OP), "stream, op");
  REQUIRE (n_bound == ((Obj *) op)->n_ports && n_bound > 0, "a port is unbound at encode");
  ((Obj *) op)->encoded = 1;
  ((Obj *) s)->encoded = 1;
  return 0;
}

e5rt_err
e5rt_execution_stream_execute_sync (void *s)
{
  ENTER ();
  REQUIRE (is (s, K_STREAM) && ((Obj *) s)->encoded, "stream not encoded");
  return 0;
}

/* Releases: a pointer to the handle, which is cleared. */
static e5rt_err
release (const char *fn, void **h, Kind k)
{
  if (enter (fn))
    return fail (fn, "refused");
  if (!h || !is (*h, k))
    return fail (fn, "pointer to a handle of the right kind");
  Obj *o = *h;
  free (o->data);
  free (o);
  *h = NULL;
  if (k == K_OP)
    n_bound = 0;
  return 0;
}

#define RELEASE(name, kind)                                                                        \
  e5rt_err name (void **h)                                                                         \
  {                                                                                                \
    return release (__func__, h, kind);                                                            \
  }
RELEASE (e5rt_execution_stream_release, K_STREAM)
RELEASE (e5rt_execution_stream_operation_release, K_OP)
RELEASE (e5rt_io_port_release, K_PORT)
RELEASE (e5rt_buffer_object_release, K_BUF)
RELEASE (e5rt_precompiled_compute_op_create_options_release, K_OPOPTS)
RELEASE (e5rt_program_function_release, K_FN)
RELEASE (e5rt_program_library_release, K_LIB)
RELEASE (e5rt_e5_compiler_release, K_COMPILER)
RELEASE (e5rt_e5_compiler_options_release, K_OPTS)
RELEASE (e5rt_e5_compiler_config_options_release, K_CFG)
