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

/* ================================================================ public
 * Everything down to the "private" line is meant for aneforge.h. */

#define AF_DECODE_MAX_LEVELS 8    /* SSD feature maps / YuNet strides */
#define AF_DECODE_MAX_ANCHORS 8   /* SSD min boxes per feature map */
#define AF_DECODE_MAX_LANDMARKS 5 /* landmark points per detection */

typedef enum {
  AF_DECODE_TYPE_CLASSIFICATION, /* softmax (optional) + top-k + labels */
  AF_DECODE_TYPE_SSD,            /* scores [1,N,C] + raw box regressions against priors */
  AF_DECODE_TYPE_SSD_DECODED,    /* scores [1,N,C] + boxes x1,y1,x2,y2 in [0,1] */
  AF_DECODE_TYPE_YUNET,          /* per-stride cls/obj/bbox/kps grids */
} AfDecodeType;

/* A decode specification. Strings are owned by the spec (g_strdup'ed;
 * af_decode_spec_clear frees them). af_decode_spec_init fills the README
 * defaults of the given type: a spec that only says "ssd" decodes the
 * UltraFace 320x240 models, "yunet" decodes yunet_n_320_320. */
typedef struct {
  AfDecodeType type;

  /* --- tensors each role reads (output names). NULL for a classification's
   * scores means "the output this decode is attached to": the loader fills
   * it in; af_decoder_new falls back to the only output if there is one. */
  char *scores; /* classification: [.., C] values; ssd: [1,N,C] */
  char *boxes;  /* ssd / ssd-decoded: [1,N,4] */
  guint n_strides;                 /* yunet */
  int strides[AF_DECODE_MAX_LEVELS];
  char *cls[AF_DECODE_MAX_LEVELS];  /* [1,N,1], sigmoid applied */
  char *obj[AF_DECODE_MAX_LEVELS];  /* [1,N,1], sigmoid applied */
  char *bbox[AF_DECODE_MAX_LEVELS]; /* [1,N,4] */
  char *kps[AF_DECODE_MAX_LEVELS];  /* [1,N,2*L]; all NULL: no landmarks */

  /* --- classification */
  gboolean softmax; /* apply softmax (fp32, max-subtracted) before top-k */
  guint top_k;      /* default 5 */
  char *labels;     /* labels file as written (relative to the graph), or NULL */

  /* --- detection */
  float score_threshold; /* keep candidates with score >= this (ssd 0.7, yunet 0.6) */
  float iou_threshold;   /* NMS: suppress IoU > this (0.3) */
  guint max_detections;  /* default 100 */
  int input_w, input_h;  /* model input size in pixels (ssd 320x240, yunet 320x320) */
  gboolean clip;         /* clip boxes to the input rectangle (default TRUE) */

  /* --- ssd priors */
  guint n_levels;
  int feature_w[AF_DECODE_MAX_LEVELS], feature_h[AF_DECODE_MAX_LEVELS];
  guint n_min_boxes[AF_DECODE_MAX_LEVELS];
  float min_boxes[AF_DECODE_MAX_LEVELS][AF_DECODE_MAX_ANCHORS]; /* input pixels */
  float center_variance, size_variance;                          /* 0.1, 0.2 */
} AfDecodeSpec;

/* Fills @spec with the defaults of @type (any previous content is
 * overwritten, not freed). */
void af_decode_spec_init (AfDecodeSpec *spec, AfDecodeType type);
/* Frees the strings of @spec and zeroes it. NULL is a no-op. */
void af_decode_spec_clear (AfDecodeSpec *spec);
/* Deep copy: @dst (uninitialised) gets its own strings. */
void af_decode_spec_copy (AfDecodeSpec *dst, const AfDecodeSpec *src);
/* "classification", "ssd", "ssd-decoded", "yunet" (static). */
const char *af_decode_type_name (AfDecodeType type);

typedef struct {
  guint index;       /* class index */
  float score;       /* probability (after softmax) or raw value */
  const char *label; /* borrowed from the decoder, NULL without labels */
} AfClassResult;

typedef struct {
  float x1, y1, x2, y2; /* corners: model-input pixels, or frame pixels after mapping */
  float score;
  int label;              /* class index (ssd: column of scores; yunet: 0) */
  const char *label_name; /* borrowed from the decoder, may be NULL */
  int n_landmarks;
  float landmarks[2 * AF_DECODE_MAX_LANDMARKS]; /* x,y pairs, same space as the box */
} AfDetection;

/* Result storage, made once per decoder and refilled by every run. */
typedef struct {
  AfDecodeType type;
  guint n;                 /* entries filled by the last run */
  guint capacity;          /* top_k or max_detections */
  AfClassResult *classes;  /* classification only; owned by the result */
  AfDetection *detections; /* detection types only; owned by the result */
  gboolean in_frame;       /* FALSE: model-input pixels; TRUE: mapped to the frame */
} AfDecodeResult;

typedef struct _AfDecoder AfDecoder;

/* Configures a decoder: resolves every role of @spec to an entry of
 * @outputs (the model's outputs, af_model_output_info) by name and checks
 * its shape, precomputes priors, loads labels (a relative path is resolved
 * against @base_dir, NULL: the working directory) and allocates all
 * scratch. @spec is copied. Returns (transfer full) or NULL with @error
 * naming the role, tensor and shape (or the labels file and line). */
AfDecoder *af_decoder_new (const AfDecodeSpec *spec, const char *base_dir, guint n_outputs,
                           const AfTensorInfo *outputs, GError **error);
void af_decoder_free (AfDecoder *dec);

/* The spec the decoder was made from (borrowed). */
const AfDecodeSpec *af_decoder_spec (AfDecoder *dec);
/* Label @i (borrowed) or NULL. */
const char *af_decoder_label (AfDecoder *dec, guint i);
guint af_decoder_n_labels (AfDecoder *dec);

/* Returns (transfer full) result storage sized for @dec. */
AfDecodeResult *af_decode_result_new (AfDecoder *dec);
void af_decode_result_free (AfDecodeResult *res);

/* Decodes one frame. @outputs[i] are the fp16 bits of output i, indexed
 * like the @outputs infos given to af_decoder_new (borrowed; e.g.
 * af_model_output_view). Allocates nothing. Detections come out sorted by
 * descending score, in model-input pixels. */
void af_decoder_run (AfDecoder *dec, const guint16 *const *outputs, AfDecodeResult *res);

/* How the element placed the frame into the model input, to undo it:
 * frame_x = (model_x - offset_x) * scale_x, likewise y; results are then
 * clipped to [0, frame_w] x [0, frame_h]. */
typedef struct {
  float scale_x, scale_y;   /* frame pixels per model-input pixel */
  float offset_x, offset_y; /* model-input position of the frame's top-left corner */
  float frame_w, frame_h;
} AfFrameMap;

/* Plain stretch of a @frame_w x @frame_h frame onto @in_w x @in_h. */
void af_frame_map_stretch (AfFrameMap *map, int frame_w, int frame_h, int in_w, int in_h);
/* Letterbox: uniform scale s = min(in_w/frame_w, in_h/frame_h), content
 * size round(frame * s), centred with the padding split floor((in - content)/2)
 * before the content. */
void af_frame_map_letterbox (AfFrameMap *map, int frame_w, int frame_h, int in_w, int in_h);
/* Maps boxes and landmarks of @res from model-input to frame pixels (once
 * per run; a no-op for classification or an already mapped result). */
void af_decode_map_to_frame (AfDecodeResult *res, const AfFrameMap *map);

/* ================================================================ private */

/* Parses a JSON graph's outputs[].decode object into @spec (which it
 * initialises; on failure @spec is cleared). Every field is checked: unknown
 * fields, wrong JSON types, out-of-range values and inconsistent arrays give
 * AF_ERROR_INVALID with a message "<where>: decode: field ...". */
gboolean af__decode_spec_from_json (JsonObject *obj, const char *where, AfDecodeSpec *spec,
                                    GError **error);

/* SSD priors of @spec, 4 floats (cx, cy, w, h, normalised, clipped to [0,1])
 * per prior. Returns (transfer full) and sets @n_priors; NULL if the spec
 * has no priors. */
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
