/* classification.c — softmax (optional), top-k and labels over one row of
 * class values. */
#include "decoder.h"

#include <math.h>

static const char *const fields[] = { "type", "scores", "softmax", "top_k", "labels", NULL };

static void
write_json (const AfDecodeSpec *spec, JsonBuilder *b)
{
  af__json_member_string (b, "scores", spec->scores);
  json_builder_set_member_name (b, "softmax");
  json_builder_add_boolean_value (b, spec->softmax);
  json_builder_set_member_name (b, "top_k");
  json_builder_add_int_value (b, spec->top_k);
  af__json_member_string (b, "labels", spec->labels);
}

static gboolean
bind_classification (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error)
{
  const char *name = dec->spec.scores;
  if (name == NULL) {
    if (n_outputs != 1)
      return af__bind_fail (error,
                            "classification: no tensor named for role \"scores\" and the "
                            "model has %u outputs",
                            n_outputs);
    name = outputs[0].name;
  }
  int index = af__find_output ("scores", name, n_outputs, outputs, error);
  if (index < 0)
    return FALSE;
  dec->scores.index = index;
  /* any shape with at most one dimension above 1: C = numel */
  const AfTensorInfo *info = &outputs[index];
  g_autofree char *shape = af__shape_string (info);
  int big = 0;
  for (int d = 0; d < info->rank; d++)
    big += info->shape[d] > 1;
  gint64 c = af_shape_numel (info->rank, info->shape);
  if (big > 1 || c < 1 || c > AF_DECODE_MAX_CLASSES)
    return af__bind_fail (error,
                          "classification: tensor \"%s\" has shape %s, expected one row of "
                          "class values like [1,C]",
                          name, shape);
  dec->n_classes = c;
  dec->values = g_new (float, c);
  if (dec->spec.top_k < 1)
    return af__bind_fail (error, "classification: top_k must be at least 1");
  return TRUE;
}

static void
result_init (AfDecoder *dec, AfDecodeResult *res)
{
  res->capacity = MIN (dec->spec.top_k, dec->n_classes);
  res->classes = g_new0 (AfClassResult, res->capacity);
}

static void
run_classification (AfDecoder *dec, const guint16 *const *outputs, AfDecodeResult *res)
{
  const guint16 *data = outputs[dec->scores.index];
  guint c = dec->n_classes;
  float *v = dec->values;
  af_fp16_to_f32_n (data, v, c);
  if (dec->spec.softmax) {
    float mx = -INFINITY;
    for (guint i = 0; i < c; i++)
      if (v[i] > mx)
        mx = v[i];
    double sum = 0;
    for (guint i = 0; i < c; i++) {
      if (isfinite (mx))
        v[i] = expf (v[i] - mx); /* NaN stays NaN */
      else
        v[i] = v[i] == mx ? 1.0f : 0.0f; /* +inf wins; all -inf: uniform zeros */
      sum += isnan (v[i]) ? 0 : v[i];
    }
    float inv = sum > 0 ? (float) (1.0 / sum) : 0.0f;
    for (guint i = 0; i < c; i++)
      v[i] *= inv;
  }
  /* top-k by insertion; strict > keeps the lower index first on ties */
  guint n = 0, k = res->capacity;
  AfClassResult *r = res->classes;
  for (guint i = 0; i < c; i++) {
    float s = isnan (v[i]) ? -INFINITY : v[i];
    if (n == k && !(s > r[n - 1].score))
      continue;
    guint pos = n < k ? n : k - 1;
    while (pos > 0 && s > r[pos - 1].score) {
      r[pos] = r[pos - 1];
      pos--;
    }
    r[pos].index = i;
    r[pos].score = s;
    if (n < k)
      n++;
  }
  for (guint i = 0; i < n; i++)
    r[i].label = af_decoder_label (dec, r[i].index);
  res->n = n;
}

const AfDecoderClass af__decoder_classification = {
  .type = AF_DECODE_TYPE_CLASSIFICATION,
  .name = "classification",
  .attached = TRUE,
  .fields = fields,
  .write = write_json,
  .bind = bind_classification,
  .result_init = result_init,
  .run = run_classification,
};
