/* decls.h — what the macOS runtime uses from the system, declared by hand.
 *
 * The files of this folder are plain C that include no SDK header: they
 * compile on Linux with `clang --target=arm64-apple-macos14 -ffreestanding`
 * (tests/ane/macos-compile.sh), so they cannot rot between Mac builds. Only
 * the compiler's own freestanding headers (stddef.h, stdint.h) are used;
 * everything else is declared here with the prototype the SDK gives it.
 * Private frameworks (Espresso's e5rt) are reached through dlopen/dlsym,
 * Objective-C classes through the runtime's C functions. */
#ifndef AF_ANE_MACOS_DECLS_H
#define AF_ANE_MACOS_DECLS_H

#include <stddef.h>
#include <stdint.h>

/* libc (libSystem) */
void *calloc (size_t n, size_t size);
void free (void *p);
void *memcpy (void *dst, const void *src, size_t n);
void *memset (void *dst, int c, size_t n);
size_t strlen (const char *s);
int snprintf (char *buf, size_t n, const char *fmt, ...);

/* dlfcn.h. The flag values differ: macOS's RTLD_LOCAL is 0x4, glibc's
 * 0x4 is RTLD_NOLOAD (the e5rt file is also built on Linux against a fake
 * Espresso, tests/ane/fake-espresso.c). */
#if defined(__APPLE__)
#define AF_RTLD_NOW 0x2
#define AF_RTLD_LOCAL 0x4
#else
#define AF_RTLD_NOW 0x2
#define AF_RTLD_LOCAL 0
#endif
void *dlopen (const char *path, int mode);
void *dlsym (void *handle, const char *symbol);
char *dlerror (void);
int dlclose (void *handle);

/* objc/runtime.h and objc/message.h. objc_msgSend has no prototype of its
 * own: every call casts it to the exact function type of the method it
 * sends (arm64 passes arguments by the callee's real signature). */
typedef struct objc_object *id;
typedef struct objc_selector *SEL;
typedef struct objc_class *Class;
Class objc_getClass (const char *name);
SEL sel_registerName (const char *name);
void objc_msgSend (void);
void *objc_autoreleasePoolPush (void);
void objc_autoreleasePoolPop (void *pool);

/* Foundation's and Core ML's integer types and constants used here. */
typedef long NSInteger;
typedef unsigned long NSUInteger;
#define AF_MLCOMPUTEUNITS_CPU_AND_NE 3         /* MLComputeUnitsCPUAndNeuralEngine (macOS 13) */
#define AF_MLMULTIARRAY_FLOAT16 (0x10000 | 16) /* MLMultiArrayDataTypeFloat16 */
#define AF_MLMULTIARRAY_FLOAT32 (0x10000 | 32) /* MLMultiArrayDataTypeFloat32 */

#endif /* AF_ANE_MACOS_DECLS_H */
