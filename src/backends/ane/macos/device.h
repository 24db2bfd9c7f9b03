/* device.h — the macOS runtime's two routes to the Neural Engine, in plain
 * C (no GLib, no SDK): the glue that implements the "ane" backend calls
 * these, one program per fused region of the export (export.h).
 *
 *   e5rt (e5rt.c): Espresso's private C API (../shared/ane/README.md §2.1),
 *     model.mil compiled by aned for the ANE only (mask 0x4), ports bound
 *     once to 64-byte-rounded CPU buffers, execute_sync per frame.
 *   Core ML (coreml.c): the exported region-K.mlpackage compiled and loaded
 *     with compute units CPU_AND_NE, predicted with fp16 MLMultiArrays. The
 *     fallback when Espresso is missing or refuses the program.
 *
 * Errors: a function that fails writes a message into @err (@err_len
 * bytes, always NUL-terminated) naming the call and, for e5rt, its
 * e5rt_get_last_error_message(). Ownership: every _new returns an object
 * the caller frees with the matching _free (NULL is a no-op); buffer
 * pointers are owned by their program.
 *
 * Nothing here has run on a Mac from this project: it is compiled here for
 * arm64-apple-macos14 and checked for its symbols only (docs/ane.md). */
#ifndef AF_ANE_MACOS_DEVICE_H
#define AF_ANE_MACOS_DEVICE_H

#include <stddef.h>
#include <stdint.h>

/* One port of a region's program: its name in model.mil and its size in
 * bytes as plan.json's padded_shape gives it (last axis padded to 64
 * bytes). */
typedef struct {
  const char *name;
  uint64_t bytes;
  int rank; /* Core ML: the padded shape (at most 5 axes) */
  int64_t shape[5];
} AfDevicePort;

/* ---------------------------------------------------------------- e5rt */

typedef struct AfE5rt AfE5rt;
typedef struct AfE5rtProgram AfE5rtProgram;

/* Loads Espresso and resolves every e5rt function used (with or without
 * the leading underscore). NULL with @err set when the framework or a
 * symbol is missing. */
AfE5rt *af_e5rt_open (char *err, size_t err_len);
void af_e5rt_close (AfE5rt *rt);

/* Compiles @mil_path for the ANE (cache bundle under @cache_dir), creates
 * its operation, binds one buffer per port and encodes it on a stream of
 * its own. @rt is borrowed and must outlive the program. */
AfE5rtProgram *af_e5rt_program_new (AfE5rt *rt, const char *mil_path, const char *cache_dir,
                                    const AfDevicePort *in, size_t n_in, const AfDevicePort *out,
                                    size_t n_out, char *err, size_t err_len);
/* The buffer bound to input / output port @i (owned by the program). */
void *af_e5rt_program_input (AfE5rtProgram *p, size_t i);
void *af_e5rt_program_output (AfE5rtProgram *p, size_t i);
/* One frame: execute_sync on the program's stream. 0 on success. */
int af_e5rt_program_execute (AfE5rtProgram *p, char *err, size_t err_len);
void af_e5rt_program_free (AfE5rtProgram *p);

/* ---------------------------------------------------------------- Core ML */

typedef struct AfCoreml AfCoreml;

/* Compiles and loads the package at @mlpackage_path (CPU_AND_NE) and
 * allocates one fp16 MLMultiArray per input. NULL with @err set. */
AfCoreml *af_coreml_new (const char *mlpackage_path, const AfDevicePort *in, size_t n_in,
                         const AfDevicePort *out, size_t n_out, char *err, size_t err_len);
/* One prediction: @inputs[i] holds input i's fp16 values, dense in its
 * padded shape; output i's fp16 values are written densely to
 * @outputs[i]. 0 on success. */
int af_coreml_predict (AfCoreml *c, const uint16_t *const *inputs, uint16_t *const *outputs,
                       char *err, size_t err_len);
void af_coreml_free (AfCoreml *c);

#endif /* AF_ANE_MACOS_DEVICE_H */
