/* decoder.c — a decoder's life: binding a spec to the model's outputs
 * through its type's class, labels, result storage and the per-frame run
 * (detection types share NMS). */
#include "decoder.h"

#include <string.h>

/* ================================================================ binding */

gboolean
af__bind_fail (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, AF_ERROR, AF_ERROR_SHAPE, "decode: %s", msg);
  return FALSE;
}

char *
af__shape_string (const AfTensorInfo *info)
{
  GString *s = g_string_new ("[");
  for (int d = 0; d < info->rank; d++)
    g_string_append_printf (s, d ? ",%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, info->shape[d]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Finds output @name for @role: its index, or -1 with @error set. */
int
af__find_output (const char *role, const char *name, guint n_outputs, const AfTensorInfo *outputs,
                 GError **error)
{
  for (guint i = 0; i < n_outputs; i++)
    if (outputs[i].name != NULL && strcmp (outputs[i].name, name) == 0)
      return i;
  GString *names = g_string_new (NULL);
  for (guint k = 0; k < n_outputs; k++)
    g_string_append_printf (names, k ? ", %s" : "%s", outputs[k].name);
  af__bind_fail (error,
                 "role \"%s\" names tensor \"%s\", which is not a model output (outputs: %s)", role,
                 name, names->str);
  g_string_free (names, TRUE);
  return -1;
}

/* Binds output @name to @role, viewed as [N, C] (leading dims 1). */
gboolean
af__bind_role (const char *role, const char *name, guint n_outputs, const AfTensorInfo *outputs,
               AfRole *r, GError **error)
{
  int i = af__find_output (role, name, n_outputs, outputs, error);
  if (i < 0)
    return FALSE;
  const AfTensorInfo *info = &outputs[i];
  g_autofree char *shape = af__shape_string (info);
  gboolean ok = info->rank >= 2 && info->rank <= AF_MAX_RANK;
  for (int d = 0; ok && d < info->rank - 2; d++)
    ok = info->shape[d] == 1;
  if (!ok)
    return af__bind_fail (error, "role \"%s\": tensor \"%s\" has shape %s, expected [1,N,C]", role,
                          name, shape);
  r->index = i;
  r->n = info->shape[info->rank - 2];
  r->c = info->shape[info->rank - 1];
  if (r->n < 1 || r->c < 1 || r->n > AF_DECODE_MAX_CANDIDATES || r->c > AF_DECODE_MAX_CLASSES ||
      r->n * r->c > AF_DECODE_MAX_CANDIDATES)
    return af__bind_fail (error, "role \"%s\": tensor \"%s\" has shape %s, outside the limits",
                          role, name, shape);
  return TRUE;
}

static gboolean
load_labels (AfDecoder *dec, const char *base_dir, GError **error)
{
  const char *path = dec->spec.labels;
  if (path == NULL)
    return TRUE;
  g_autofree char *full = (!g_path_is_absolute (path) && base_dir != NULL)
                              ? g_build_filename (base_dir, path, NULL)
                              : g_strdup (path);
  dec->labels = af__decode_load_labels (full, error);
  if (dec->labels == NULL)
    return FALSE;
  dec->n_labels = g_strv_length (dec->labels);
  if (dec->n_labels > dec->n_classes)
    return af__bind_fail (error, "labels file %s has %u labels, the model gives %u classes", full,
                          dec->n_labels, dec->n_classes);
  return TRUE;
}

AfDecoder *
af_decoder_new (const AfDecodeSpec *spec, const char *base_dir, guint n_outputs,
                const AfTensorInfo *outputs, GError **error)
{
  g_return_val_if_fail (spec != NULL && (outputs != NULL || n_outputs == 0), NULL);
  AfDecoder *dec = g_new0 (AfDecoder, 1);
  af_decode_spec_copy (&dec->spec, spec);
  dec->klass = af__decoder_class (spec->type);
  gboolean ok;
  if (dec->klass == NULL)
    ok = af__bind_fail (error, "unknown decode type %d", (int) spec->type);
  else if (n_outputs == 0)
    ok = af__bind_fail (error, "%s: the model has no outputs", af_decode_type_name (spec->type));
  else if (dec->klass->collect != NULL &&
           (spec->input_w < 1 || spec->input_h < 1 || spec->max_detections < 1 ||
            spec->n_levels > AF_DECODE_MAX_LEVELS || spec->n_strides > AF_DECODE_MAX_LEVELS))
    ok = af__bind_fail (error, "%s: input_size, max_detections, levels or strides out of range",
                        af_decode_type_name (spec->type));
  else
    ok = dec->klass->bind (dec, n_outputs, outputs, error);
  ok = ok && load_labels (dec, base_dir, error);
  if (!ok) {
    af_decoder_free (dec);
    return NULL;
  }
  if (dec->max_cand > 0) {
    dec->cand = g_new (AfDetection, dec->max_cand);
    dec->order = g_new (guint, dec->max_cand);
  }
  return dec;
}

void
af_decoder_free (AfDecoder *dec)
{
  if (dec == NULL)
    return;
  af_decode_spec_clear (&dec->spec);
  g_strfreev (dec->labels);
  g_free (dec->priors);
  g_free (dec->values);
  g_free (dec->cand);
  g_free (dec->order);
  g_free (dec);
}

const AfDecodeSpec *
af_decoder_spec (AfDecoder *dec)
{
  g_return_val_if_fail (dec != NULL, NULL);
  return &dec->spec;
}

const char *
af_decoder_label (AfDecoder *dec, guint i)
{
  g_return_val_if_fail (dec != NULL, NULL);
  if (i >= dec->n_labels || dec->labels[i][0] == '\0')
    return NULL;
  return dec->labels[i];
}

guint
af_decoder_n_labels (AfDecoder *dec)
{
  g_return_val_if_fail (dec != NULL, 0);
  return dec->n_labels;
}

AfDecodeResult *
af_decode_result_new (AfDecoder *dec)
{
  g_return_val_if_fail (dec != NULL, NULL);
  AfDecodeResult *res = g_new0 (AfDecodeResult, 1);
  res->type = dec->spec.type;
  if (dec->klass->result_init != NULL) {
    dec->klass->result_init (dec, res);
  } else {
    res->capacity = dec->spec.max_detections;
    res->detections = g_new0 (AfDetection, res->capacity);
  }
  return res;
}

void
af_decode_result_free (AfDecodeResult *res)
{
  if (res == NULL)
    return;
  g_free (res->classes);
  g_free (res->detections);
  g_free (res->mask);
  g_free (res->keypoints);
  g_free (res);
}

void
af_decoder_run (AfDecoder *dec, const guint16 *const *outputs, AfDecodeResult *res)
{
  g_return_if_fail (dec != NULL && outputs != NULL && res != NULL);
  g_return_if_fail (res->type == dec->spec.type);
  res->in_frame = FALSE;
  if (dec->klass->collect == NULL) {
    dec->klass->run (dec, outputs, res);
    return;
  }
  guint m = dec->klass->collect (dec, outputs);
  res->n = af__decode_nms (dec->cand, m, dec->spec.iou_threshold, res->capacity, dec->order,
                           res->detections);
  for (guint i = 0; i < res->n; i++)
    res->detections[i].label_name = af_decoder_label (dec, res->detections[i].label);
}
