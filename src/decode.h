/* decode.h — post-processing decoders: a model's fp16 output tensors in,
 * classification or detection results out.
 *
 * A decoder is configured once from an AfDecodeSpec (af_decoder_new binds
 * the spec's tensor roles to the model's outputs, checks their shapes,
 * precomputes SSD priors, loads labels and allocates all scratch), then run
 * per frame into an AfDecodeResult made once by af_decode_result_new:
 * af_decoder_run allocates nothing and cannot fail. docs/decoders.md is the
 * reference for the JSON spelling (outputs[].decode) and the decoding rules.
 *
 *   AfDecodeSpec spec;
 *   af_decode_spec_init (&spec, AF_DECODE_TYPE_SSD);   // README defaults
 *   AfDecoder *dec = af_decoder_new (&spec, dir, n, infos, &error);
 *   AfDecodeResult *res = af_decode_result_new (dec);
 *   for each frame:
 *     af_decoder_run (dec, views, res);                // views[i]: output i
 *     af_decode_map_to_frame (res, &map);              // model px -> frame px
 *   af_decode_result_free (res);
 *   af_decoder_free (dec);
 *   af_decode_spec_clear (&spec);
 */
#ifndef AF_DECODE_H
#define AF_DECODE_H

#include "aneforge.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The public part (AfDecodeSpec, AfDecoder, AfDecodeResult, af_decoder_*,
 * af_frame_map_*) is in aneforge.h. */

/* ================================================================ private */

/* Parses a JSON graph's outputs[].decode object into @spec (which it
 * initialises; on failure @spec is cleared). Every field is checked: unknown
 * fields, wrong JSON types, out-of-range values and inconsistent arrays give
 * AF_ERROR_INVALID with a message "<where>: decode: field ...". */
gboolean af__decode_spec_from_json (JsonObject *obj, const char *where, AfDecodeSpec *spec,
                                    GError **error);

/* Writes @spec as a complete decode object (every field spelled out, so
 * af__decode_spec_from_json reads back an equal spec) into @b, which must
 * be where a value is expected. */
void af__decode_spec_to_json (const AfDecodeSpec *spec, JsonBuilder *b);

/* TRUE if a decode of @type without "scores" reads the output it is
 * attached to (classification, yolo, grid): the loader and
 * af_graph_set_decode fill the name in. */
gboolean af__decode_type_attached (AfDecodeType type);

/* SSD priors of @spec, 4 floats (cx, cy, w, h, normalised, clipped to [0,1])
 * per prior; for a blazeface spec its MediaPipe anchors (w = h = 1).
 * Returns (transfer full) and sets @n_priors; NULL (and 0) if the spec has
 * no priors. */
float *af__decode_ssd_priors (const AfDecodeSpec *spec, guint *n_priors);

/* Greedy NMS: candidates by descending score (ties: lower index first);
 * a candidate is dropped if its IoU with a kept one of the same label is
 * > @iou_threshold. Writes up to @max_out kept detections to @out in order
 * and returns their count. @order is caller scratch of @n entries. */
guint af__decode_nms (const AfDetection *cand, guint n, float iou_threshold, guint max_out,
                      guint *order, AfDetection *out);

/* IoU of two corner boxes (0 when both are empty). */
float af__decode_iou (const AfDetection *a, const AfDetection *b);

/* Loads a labels file: one label per line, or "index,name" lines (detected
 * from the first line). Returns (transfer full) a NULL-terminated vector
 * (gaps of an indexed file are "") or NULL with @error naming file and line. */
char **af__decode_load_labels (const char *path, GError **error);

G_END_DECLS

#endif /* AF_DECODE_H */
