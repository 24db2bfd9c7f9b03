/* coreml.c — the Core ML route: the exported region-K.mlpackage compiled
 * (+[MLModel compileModelAtURL:error:]), loaded with compute units
 * CPU_AND_NE, and predicted with an MLDictionaryFeatureProvider of fp16
 * MLMultiArrays — all through the Objective-C runtime's C functions, each
 * objc_msgSend cast to the exact type of the method it sends. The public,
 * supported route; the fallback when Espresso is missing or refuses a
 * program. Core ML decides where each op runs (it often keeps small graphs
 * on the CPU: README §6.4), so this route is a correctness fallback, not a
 * way to stay on the ANE.
 * Needs a Mac: nothing here has run; it is compiled and symbol-checked only. */
#include "decls.h"
#include "device.h"

#define AF_COREML_MAX_PORTS 16

struct AfCoreml {
  id model; /* MLModel, retained */
  size_t n_in, n_out;
  AfDevicePort in[AF_COREML_MAX_PORTS]; /* names borrowed from the caller */
  AfDevicePort out[AF_COREML_MAX_PORTS];
  id in_array[AF_COREML_MAX_PORTS]; /* MLMultiArray, retained */
  id in_name[AF_COREML_MAX_PORTS];  /* NSString, retained */
  id out_name[AF_COREML_MAX_PORTS]; /* NSString, retained */
};

/* ---------------------------------------------------------------- messages */

/* The message sends used, one cast each (arm64: the callee's signature). */
#define AF_MSG(ret, ...) ((ret (*) (id, SEL, ##__VA_ARGS__)) objc_msgSend)

static SEL
af_sel (const char *name)
{
  return sel_registerName (name);
}

static id
af_class (const char *name)
{
  return (id) objc_getClass (name);
}

/* [obj sel] returning an object. */
static id
af_send0 (id obj, const char *sel)
{
  return AF_MSG (id) (obj, af_sel (sel));
}

/* [obj sel:arg] returning an object. */
static id
af_send1 (id obj, const char *sel, id arg)
{
  return AF_MSG (id, id) (obj, af_sel (sel), arg);
}

/* [NSString stringWithUTF8String:s] (autoreleased). */
static id
af_nsstring (const char *s)
{
  return AF_MSG (id, const char *) (af_class ("NSString"), af_sel ("stringWithUTF8String:"), s);
}

static id
af_retain (id obj)
{
  return obj ? af_send0 (obj, "retain") : obj;
}

static void
af_release (id obj)
{
  if (obj)
    AF_MSG (void) (obj, af_sel ("release"));
}

/* Writes "@what: the NSError's localizedDescription" into @err. */
static void
af_coreml_error (const char *what, id nserror, char *err, size_t err_len)
{
  const char *msg = "(no NSError)";
  if (nserror) {
    id desc = af_send0 (nserror, "localizedDescription");
    const char *utf8 = desc ? AF_MSG (const char *) (desc, af_sel ("UTF8String")) : NULL;
    if (utf8)
      msg = utf8;
  }
  snprintf (err, err_len, "%s: %s", what, msg);
}

/* ---------------------------------------------------------------- loading */

/* +[MLModel compileModelAtURL:error:] on the package: the compiled
 * .mlmodelc's URL (autoreleased), or NULL with @err set. */
static id
af_coreml_compile (const char *path, char *err, size_t err_len)
{
  id url = af_send1 (af_class ("NSURL"), "fileURLWithPath:", af_nsstring (path));
  id nserror = NULL;
  id compiled = AF_MSG (id, id, id *) (af_class ("MLModel"), af_sel ("compileModelAtURL:error:"),
                                       url, &nserror);
  if (!compiled)
    af_coreml_error ("MLModel compileModelAtURL", nserror, err, err_len);
  return compiled;
}

/* +[MLModel modelWithContentsOfURL:configuration:error:] with compute units
 * CPU_AND_NE: the model (retained), or NULL with @err set. */
static id
af_coreml_load (id compiled, char *err, size_t err_len)
{
  id config = af_send0 (af_send0 (af_class ("MLModelConfiguration"), "alloc"), "init");
  AF_MSG (void, NSInteger) (config, af_sel ("setComputeUnits:"), AF_MLCOMPUTEUNITS_CPU_AND_NE);
  id nserror = NULL;
  id model = AF_MSG (id, id, id, id *) (af_class ("MLModel"),
                                        af_sel ("modelWithContentsOfURL:configuration:error:"),
                                        compiled, config, &nserror);
  af_release (config);
  if (!model)
    af_coreml_error ("MLModel modelWithContentsOfURL", nserror, err, err_len);
  return af_retain (model);
}

/* An fp16 MLMultiArray of @port's shape (retained), or NULL with @err set. */
static id
af_coreml_array (const AfDevicePort *port, char *err, size_t err_len)
{
  id shape = af_send0 (af_class ("NSMutableArray"), "array");
  for (int k = 0; k < port->rank; k++) {
    id n = AF_MSG (id, long long) (af_class ("NSNumber"), af_sel ("numberWithLongLong:"),
                                   (long long) port->shape[k]);
    af_send1 (shape, "addObject:", n);
  }
  id nserror = NULL;
  id array = AF_MSG (id, id, NSInteger, id *) (af_send0 (af_class ("MLMultiArray"), "alloc"),
                                               af_sel ("initWithShape:dataType:error:"), shape,
                                               AF_MLMULTIARRAY_FLOAT16, &nserror);
  if (!array)
    af_coreml_error ("MLMultiArray initWithShape", nserror, err, err_len);
  return array;
}

AfCoreml *
af_coreml_new (const char *mlpackage_path, const AfDevicePort *in, size_t n_in,
               const AfDevicePort *out, size_t n_out, char *err, size_t err_len)
{
  if (n_in > AF_COREML_MAX_PORTS || n_out > AF_COREML_MAX_PORTS) {
    snprintf (err, err_len, "%s: too many ports", mlpackage_path);
    return NULL;
  }
  AfCoreml *c = calloc (1, sizeof *c);
  if (!c)
    return NULL;
  void *pool = objc_autoreleasePoolPush ();
  c->n_in = n_in;
  c->n_out = n_out;
  id compiled = af_coreml_compile (mlpackage_path, err, err_len);
  c->model = compiled ? af_coreml_load (compiled, err, err_len) : NULL;
  int ok = c->model != NULL;
  for (size_t i = 0; ok && i < n_in; i++) {
    c->in[i] = in[i];
    c->in_name[i] = af_retain (af_nsstring (in[i].name));
    c->in_array[i] = af_coreml_array (&in[i], err, err_len);
    ok = c->in_array[i] != NULL;
  }
  for (size_t i = 0; ok && i < n_out; i++) {
    c->out[i] = out[i];
    c->out_name[i] = af_retain (af_nsstring (out[i].name));
  }
  objc_autoreleasePoolPop (pool);
  if (!ok) {
    af_coreml_free (c);
    return NULL;
  }
  return c;
}

/* ---------------------------------------------------------------- predict */

/* The array's stride of axis @k, in elements. */
static long long
af_coreml_stride (id array, int k)
{
  id strides = af_send0 (array, "strides");
  id n = AF_MSG (id, NSUInteger) (strides, af_sel ("objectAtIndex:"), (NSUInteger) k);
  return AF_MSG (long long) (n, af_sel ("longLongValue"));
}

/* Row r (of all axes but the last) of @port's shape: its element offset in
 * an array with the strides of @array. */
static long long
af_coreml_row_offset (id array, const AfDevicePort *port, long long r)
{
  long long off = 0;
  for (int k = port->rank - 2; k >= 0; k--) {
    off += (r % port->shape[k]) * af_coreml_stride (array, k);
    r /= port->shape[k];
  }
  return off;
}

static long long
af_coreml_rows (const AfDevicePort *port)
{
  long long rows = 1;
  for (int k = 0; k + 1 < port->rank; k++)
    rows *= port->shape[k];
  return rows;
}

/* Dense fp16 @src into @array's (possibly strided) storage. */
static void
af_coreml_fill (id array, const AfDevicePort *port, const uint16_t *src)
{
  uint16_t *dst = AF_MSG (void *) (array, af_sel ("dataPointer"));
  long long cols = port->rank ? port->shape[port->rank - 1] : 1;
  long long col_stride = port->rank ? af_coreml_stride (array, port->rank - 1) : 1;
  for (long long r = 0; r < af_coreml_rows (port); r++) {
    uint16_t *row = dst + af_coreml_row_offset (array, port, r);
    for (long long x = 0; x < cols; x++)
      row[x * col_stride] = src[r * cols + x];
  }
}

/* @array's values (fp16 or fp32: Core ML may widen an output) densely into
 * fp16 @dst. */
static void
af_coreml_read (id array, const AfDevicePort *port, uint16_t *dst)
{
  NSInteger type = AF_MSG (NSInteger) (array, af_sel ("dataType"));
  const void *src = AF_MSG (void *) (array, af_sel ("dataPointer"));
  long long cols = port->rank ? port->shape[port->rank - 1] : 1;
  long long col_stride = port->rank ? af_coreml_stride (array, port->rank - 1) : 1;
  for (long long r = 0; r < af_coreml_rows (port); r++) {
    long long base = af_coreml_row_offset (array, port, r);
    for (long long x = 0; x < cols; x++) {
      long long at = base + x * col_stride;
      _Float16 h = type == AF_MLMULTIARRAY_FLOAT32 ? (_Float16) ((const float *) src)[at]
                                                   : ((const _Float16 *) src)[at];
      memcpy (&dst[r * cols + x], &h, 2);
    }
  }
}

/* The feature provider of the inputs (autoreleased), or NULL with @err. */
static id
af_coreml_provider (AfCoreml *c, char *err, size_t err_len)
{
  id dict = af_send0 (af_class ("NSMutableDictionary"), "dictionary");
  for (size_t i = 0; i < c->n_in; i++) {
    id value =
        af_send1 (af_class ("MLFeatureValue"), "featureValueWithMultiArray:", c->in_array[i]);
    AF_MSG (void, id, id) (dict, af_sel ("setObject:forKey:"), value, c->in_name[i]);
  }
  id nserror = NULL;
  id provider = AF_MSG (id, id, id *) (af_send0 (af_class ("MLDictionaryFeatureProvider"), "alloc"),
                                       af_sel ("initWithDictionary:error:"), dict, &nserror);
  if (!provider)
    af_coreml_error ("MLDictionaryFeatureProvider initWithDictionary", nserror, err, err_len);
  return provider;
}

/* -[MLModel predictionFromFeatures:error:], outputs read into @outputs. */
static int
af_coreml_run (AfCoreml *c, id provider, uint16_t *const *outputs, char *err, size_t err_len)
{
  id nserror = NULL;
  id result = AF_MSG (id, id, id *) (c->model, af_sel ("predictionFromFeatures:error:"), provider,
                                     &nserror);
  if (!result) {
    af_coreml_error ("MLModel predictionFromFeatures", nserror, err, err_len);
    return -1;
  }
  for (size_t i = 0; i < c->n_out; i++) {
    id value = af_send1 (result, "featureValueForName:", c->out_name[i]);
    id array = value ? af_send0 (value, "multiArrayValue") : NULL;
    if (!array) {
      snprintf (err, err_len, "Core ML prediction has no multiarray output \"%s\"", c->out[i].name);
      return -1;
    }
    af_coreml_read (array, &c->out[i], outputs[i]);
  }
  return 0;
}

int
af_coreml_predict (AfCoreml *c, const uint16_t *const *inputs, uint16_t *const *outputs, char *err,
                   size_t err_len)
{
  void *pool = objc_autoreleasePoolPush ();
  for (size_t i = 0; i < c->n_in; i++)
    af_coreml_fill (c->in_array[i], &c->in[i], inputs[i]);
  id provider = af_coreml_provider (c, err, err_len);
  int rc = provider ? af_coreml_run (c, provider, outputs, err, err_len) : -1;
  af_release (provider);
  objc_autoreleasePoolPop (pool);
  return rc;
}

void
af_coreml_free (AfCoreml *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < AF_COREML_MAX_PORTS; i++) {
    af_release (c->in_array[i]);
    af_release (c->in_name[i]);
    af_release (c->out_name[i]);
  }
  af_release (c->model);
  free (c);
}
