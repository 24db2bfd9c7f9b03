/* e5rt.c — the e5rt route: Espresso's private C API, reached with dlopen /
 * dlsym, driven in the call sequence ANEForge recovered
 * (../shared/ane/README.md §2.1):
 *   1 compiler config -> cache bundle dir -> compiler
 *   2 options: device mask 0x4 (ANE only), force recompilation, segmenter "graph"
 *   3 compile model.mil -> program library
 *   4 retain function "main"
 *   5 op options (name "main", allocate intermediate buffers)
 *   6 create the op
 *   7 per port: retain port -> buffer alloc (size rounded up to 64, min 64,
 *     type 0: CPU pointer) -> data pointer -> bind
 *   8 stream create -> encode the op, once, after every port is bound
 *   9 per frame: execute_sync (the caller copies in and out)
 * Every call returns int64 (0 = OK); create calls take the out-pointer
 * first; release calls take a pointer to the handle. Compile and dispatch
 * must happen in this process (aned signs the program per PID).
 * Needs a Mac: nothing here has run; it is compiled and symbol-checked only. */
#include "decls.h"
#include "device.h"

typedef int64_t af_e5rt_err;

/* Every e5rt function used: name, return, argument list. One list, two
 * consumers: the struct of pointers and the dlsym loop. */
#define AF_E5RT_FUNCS(X)                                                                           \
  X (e5rt_e5_compiler_config_options_create, (void **out))                                         \
  X (e5rt_e5_compiler_config_options_set_cache_bundle_location, (void *cfg, const char *dir))      \
  X (e5rt_e5_compiler_create_with_config, (void **out, void *cfg))                                 \
  X (e5rt_e5_compiler_options_create, (void **out))                                                \
  X (e5rt_e5_compiler_options_set_compute_device_types_mask, (void *o, uint64_t mask))             \
  X (e5rt_e5_compiler_options_set_force_recompilation, (void *o, int v))                           \
  X (e5rt_e5_compiler_options_set_segmenter, (void *o, const char *s))                             \
  X (e5rt_e5_compiler_compile, (void *c, const char *mil, void *o, void **out_lib))                \
  X (e5rt_program_library_retain_program_function, (void *lib, const char *name, void **out))      \
  X (e5rt_precompiled_compute_op_create_options_create_with_program_function,                      \
     (void **out, void *fn))                                                                       \
  X (e5rt_precompiled_compute_op_create_options_set_operation_name, (void *o, const char *n))      \
  X (e5rt_precompiled_compute_op_create_options_set_allocate_intermediate_buffers,                 \
     (void *o, int v))                                                                             \
  X (e5rt_execution_stream_operation_create_precompiled_compute_operation_with_options,            \
     (void **out, void *o))                                                                        \
  X (e5rt_execution_stream_operation_retain_input_port, (void *op, const char *n, void **out))     \
  X (e5rt_execution_stream_operation_retain_output_port, (void *op, const char *n, void **out))    \
  X (e5rt_buffer_object_alloc, (void **out, uint64_t size, uint32_t type))                         \
  X (e5rt_buffer_object_get_data_ptr, (void *buf, void **out))                                     \
  X (e5rt_io_port_bind_buffer_object, (void *port, void *buf))                                     \
  X (e5rt_execution_stream_create, (void **out))                                                   \
  X (e5rt_execution_stream_encode_operation, (void *stream, void *op))                             \
  X (e5rt_execution_stream_execute_sync, (void *stream))                                           \
  X (e5rt_execution_stream_release, (void **h))                                                    \
  X (e5rt_execution_stream_operation_release, (void **h))                                          \
  X (e5rt_io_port_release, (void **h))                                                             \
  X (e5rt_buffer_object_release, (void **h))                                                       \
  X (e5rt_precompiled_compute_op_create_options_release, (void **h))                               \
  X (e5rt_program_function_release, (void **h))                                                    \
  X (e5rt_program_library_release, (void **h))

/* Release calls of the compiler objects: seen in ANEForge's use but not in
 * the symbol lists quoted in the facts file, so optional (NULL: leaked
 * once per program, a few bytes). */
#define AF_E5RT_OPTIONAL(X)                                                                        \
  X (e5rt_e5_compiler_release, (void **h))                                                         \
  X (e5rt_e5_compiler_options_release, (void **h))                                                 \
  X (e5rt_e5_compiler_config_options_release, (void **h))

#define AF_E5RT_FIELD(name, args) af_e5rt_err (*name) args;

struct AfE5rt {
  void *lib; /* Espresso's dlopen handle */
  const char *(*e5rt_get_last_error_message) (void);
  AF_E5RT_FUNCS (AF_E5RT_FIELD)
  AF_E5RT_OPTIONAL (AF_E5RT_FIELD)
};

#define AF_E5RT_MAX_PORTS 16

struct AfE5rtProgram {
  AfE5rt *rt; /* borrowed */
  void *compiler, *compiler_cfg, *compiler_opts, *library, *function, *op_opts, *op, *stream;
  size_t n_in, n_out;
  void *in_port[AF_E5RT_MAX_PORTS], *out_port[AF_E5RT_MAX_PORTS];
  void *in_buf[AF_E5RT_MAX_PORTS], *out_buf[AF_E5RT_MAX_PORTS];
  void *in_ptr[AF_E5RT_MAX_PORTS], *out_ptr[AF_E5RT_MAX_PORTS];
};

/* Where Espresso lives; tests/ane/test-e5rt-fake.c builds this file on
 * Linux with the path of a fake that checks the call sequence. */
#ifndef AF_ESPRESSO_PATH
#define AF_ESPRESSO_PATH "/System/Library/PrivateFrameworks/Espresso.framework/Espresso"
#endif
static const char AF_ESPRESSO[] = AF_ESPRESSO_PATH;

/* ---------------------------------------------------------------- loading */

/* dlsym @name, then "_" @name (the facts file: either spelling). */
static void *
af_e5rt_sym (void *lib, const char *name)
{
  void *p = dlsym (lib, name);
  if (!p) {
    char alt[160];
    snprintf (alt, sizeof alt, "_%s", name);
    p = dlsym (lib, alt);
  }
  return p;
}

/* Resolves @name into @slot; a required one missing fails with its name. */
static int
af_e5rt_resolve (void *lib, const char *name, void **slot, int required, char *err, size_t len)
{
  *slot = af_e5rt_sym (lib, name);
  if (!*slot && required) {
    snprintf (err, len, "Espresso has no %s (a macOS release without this e5rt API?)", name);
    return -1;
  }
  return 0;
}

#define AF_E5RT_REQUIRED(name, args)                                                               \
  if (af_e5rt_resolve (rt->lib, #name, (void **) &rt->name, 1, err, err_len))                      \
    goto fail;
#define AF_E5RT_WANTED(name, args)                                                                 \
  af_e5rt_resolve (rt->lib, #name, (void **) &rt->name, 0, err, err_len);

AfE5rt *
af_e5rt_open (char *err, size_t err_len)
{
  AfE5rt *rt = calloc (1, sizeof *rt);
  if (!rt) {
    snprintf (err, err_len, "out of memory");
    return NULL;
  }
  rt->lib = dlopen (AF_ESPRESSO, AF_RTLD_NOW | AF_RTLD_LOCAL);
  if (!rt->lib) {
    snprintf (err, err_len, "dlopen %s: %s", AF_ESPRESSO, dlerror ());
    goto fail;
  }
  if (af_e5rt_resolve (rt->lib, "e5rt_get_last_error_message",
                       (void **) &rt->e5rt_get_last_error_message, 1, err, err_len))
    goto fail;
  AF_E5RT_FUNCS (AF_E5RT_REQUIRED)
  AF_E5RT_OPTIONAL (AF_E5RT_WANTED)
  return rt;
fail:
  af_e5rt_close (rt);
  return NULL;
}

void
af_e5rt_close (AfE5rt *rt)
{
  if (!rt)
    return;
  /* Espresso stays loaded: dlclose of a framework with live ObjC classes is
   * not supported by the runtime. */
  free (rt);
}

/* ---------------------------------------------------------------- calls */

/* Checks one call's result: on failure writes "@what failed (code N): the
 * last error message" and returns -1. */
static int
af_e5rt_check (AfE5rt *rt, af_e5rt_err rc, const char *what, char *err, size_t len)
{
  if (rc == 0)
    return 0;
  const char *msg = rt->e5rt_get_last_error_message ();
  snprintf (err, len, "%s failed (code %lld): %s", what, (long long) rc,
            msg ? msg : "(no message)");
  return -1;
}

/* Calls @fn of @rt with @args; on failure returns -1 from the enclosing
 * function with the call's name in @err. */
#define AF_E5RT_CALL(rt, fn, args)                                                                 \
  do {                                                                                             \
    if (af_e5rt_check ((rt), (rt)->fn args, #fn, err, err_len))                                    \
      return -1;                                                                                   \
  } while (0)

/* Steps 1-3: a compiler for the ANE alone, model.mil compiled into a
 * program library. */
static int
af_e5rt_compile (AfE5rtProgram *p, const char *mil_path, const char *cache_dir, char *err,
                 size_t err_len)
{
  AfE5rt *rt = p->rt;
  AF_E5RT_CALL (rt, e5rt_e5_compiler_config_options_create, (&p->compiler_cfg));
  AF_E5RT_CALL (rt, e5rt_e5_compiler_config_options_set_cache_bundle_location,
                (p->compiler_cfg, cache_dir));
  AF_E5RT_CALL (rt, e5rt_e5_compiler_create_with_config, (&p->compiler, p->compiler_cfg));
  AF_E5RT_CALL (rt, e5rt_e5_compiler_options_create, (&p->compiler_opts));
  AF_E5RT_CALL (rt, e5rt_e5_compiler_options_set_compute_device_types_mask,
                (p->compiler_opts, 0x4));
  AF_E5RT_CALL (rt, e5rt_e5_compiler_options_set_force_recompilation, (p->compiler_opts, 1));
  AF_E5RT_CALL (rt, e5rt_e5_compiler_options_set_segmenter, (p->compiler_opts, "graph"));
  AF_E5RT_CALL (rt, e5rt_e5_compiler_compile,
                (p->compiler, mil_path, p->compiler_opts, &p->library));
  return 0;
}

/* Steps 4-6: function "main" and its precompiled compute operation. */
static int
af_e5rt_create_op (AfE5rtProgram *p, char *err, size_t err_len)
{
  AfE5rt *rt = p->rt;
  AF_E5RT_CALL (rt, e5rt_program_library_retain_program_function,
                (p->library, "main", &p->function));
  AF_E5RT_CALL (rt, e5rt_precompiled_compute_op_create_options_create_with_program_function,
                (&p->op_opts, p->function));
  AF_E5RT_CALL (rt, e5rt_precompiled_compute_op_create_options_set_operation_name,
                (p->op_opts, "main"));
  AF_E5RT_CALL (rt, e5rt_precompiled_compute_op_create_options_set_allocate_intermediate_buffers,
                (p->op_opts, 1));
  AF_E5RT_CALL (rt,
                e5rt_execution_stream_operation_create_precompiled_compute_operation_with_options,
                (&p->op, p->op_opts));
  return 0;
}

/* A port's buffer size: rounded up to 64 bytes, at least 64. */
static uint64_t
af_e5rt_buffer_size (uint64_t bytes)
{
  uint64_t n = (bytes + 63) / 64 * 64;
  return n < 64 ? 64 : n;
}

/* Step 7 for one port (already retained into *@port): a CPU buffer, its
 * pointer, bound to the port. */
static int
af_e5rt_bind_port (AfE5rtProgram *p, void *port, uint64_t bytes, void **buf, void **ptr, char *err,
                   size_t err_len)
{
  AfE5rt *rt = p->rt;
  AF_E5RT_CALL (rt, e5rt_buffer_object_alloc, (buf, af_e5rt_buffer_size (bytes), 0));
  AF_E5RT_CALL (rt, e5rt_buffer_object_get_data_ptr, (*buf, ptr));
  AF_E5RT_CALL (rt, e5rt_io_port_bind_buffer_object, (port, *buf));
  memset (*ptr, 0, (size_t) af_e5rt_buffer_size (bytes)); /* the row padding stays zero */
  return 0;
}

/* Step 7 for every port, inputs first. */
static int
af_e5rt_bind_ports (AfE5rtProgram *p, const AfDevicePort *in, const AfDevicePort *out, char *err,
                    size_t err_len)
{
  AfE5rt *rt = p->rt;
  for (size_t i = 0; i < p->n_in; i++) {
    AF_E5RT_CALL (rt, e5rt_execution_stream_operation_retain_input_port,
                  (p->op, in[i].name, &p->in_port[i]));
    if (af_e5rt_bind_port (p, p->in_port[i], in[i].bytes, &p->in_buf[i], &p->in_ptr[i], err,
                           err_len))
      return -1;
  }
  for (size_t i = 0; i < p->n_out; i++) {
    AF_E5RT_CALL (rt, e5rt_execution_stream_operation_retain_output_port,
                  (p->op, out[i].name, &p->out_port[i]));
    if (af_e5rt_bind_port (p, p->out_port[i], out[i].bytes, &p->out_buf[i], &p->out_ptr[i], err,
                           err_len))
      return -1;
  }
  return 0;
}

/* Step 8: a stream of the program's own with its op encoded once (every
 * port is bound by now: the facts file's rule). */
static int
af_e5rt_encode (AfE5rtProgram *p, char *err, size_t err_len)
{
  AF_E5RT_CALL (p->rt, e5rt_execution_stream_create, (&p->stream));
  AF_E5RT_CALL (p->rt, e5rt_execution_stream_encode_operation, (p->stream, p->op));
  return 0;
}

AfE5rtProgram *
af_e5rt_program_new (AfE5rt *rt, const char *mil_path, const char *cache_dir,
                     const AfDevicePort *in, size_t n_in, const AfDevicePort *out, size_t n_out,
                     char *err, size_t err_len)
{
  if (n_in > AF_E5RT_MAX_PORTS || n_out > AF_E5RT_MAX_PORTS) {
    snprintf (err, err_len, "%s: %zu inputs and %zu outputs, at most %d each", mil_path, n_in,
              n_out, AF_E5RT_MAX_PORTS);
    return NULL;
  }
  AfE5rtProgram *p = calloc (1, sizeof *p);
  if (!p) {
    snprintf (err, err_len, "out of memory");
    return NULL;
  }
  p->rt = rt;
  p->n_in = n_in;
  p->n_out = n_out;
  if (af_e5rt_compile (p, mil_path, cache_dir, err, err_len) ||
      af_e5rt_create_op (p, err, err_len) || af_e5rt_bind_ports (p, in, out, err, err_len) ||
      af_e5rt_encode (p, err, err_len)) {
    af_e5rt_program_free (p);
    return NULL;
  }
  return p;
}

void *
af_e5rt_program_input (AfE5rtProgram *p, size_t i)
{
  return i < p->n_in ? p->in_ptr[i] : NULL;
}

void *
af_e5rt_program_output (AfE5rtProgram *p, size_t i)
{
  return i < p->n_out ? p->out_ptr[i] : NULL;
}

int
af_e5rt_program_execute (AfE5rtProgram *p, char *err, size_t err_len)
{
  AF_E5RT_CALL (p->rt, e5rt_execution_stream_execute_sync, (p->stream));
  return 0;
}

/* Releases *@h with @release when both are set. */
static void
af_e5rt_release (af_e5rt_err (*release) (void **), void **h)
{
  if (release && *h)
    release (h);
  *h = NULL;
}

void
af_e5rt_program_free (AfE5rtProgram *p)
{
  if (!p)
    return;
  AfE5rt *rt = p->rt;
  af_e5rt_release (rt->e5rt_execution_stream_release, &p->stream);
  for (size_t i = 0; i < AF_E5RT_MAX_PORTS; i++) {
    af_e5rt_release (rt->e5rt_io_port_release, &p->in_port[i]);
    af_e5rt_release (rt->e5rt_io_port_release, &p->out_port[i]);
    af_e5rt_release (rt->e5rt_buffer_object_release, &p->in_buf[i]);
    af_e5rt_release (rt->e5rt_buffer_object_release, &p->out_buf[i]);
  }
  af_e5rt_release (rt->e5rt_execution_stream_operation_release, &p->op);
  af_e5rt_release (rt->e5rt_precompiled_compute_op_create_options_release, &p->op_opts);
  af_e5rt_release (rt->e5rt_program_function_release, &p->function);
  af_e5rt_release (rt->e5rt_program_library_release, &p->library);
  af_e5rt_release (rt->e5rt_e5_compiler_options_release, &p->compiler_opts);
  af_e5rt_release (rt->e5rt_e5_compiler_release, &p->compiler);
  af_e5rt_release (rt->e5rt_e5_compiler_config_options_release, &p->compiler_cfg);
  free (p);
}
