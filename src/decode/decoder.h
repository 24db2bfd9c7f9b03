/* decoder.h — what the decoders share (private to src/decode/): the
 * AfDecoder object, one AfDecoderClass per decode type (the table in
 * table.c), and the helpers for JSON specs, tensor binding and boxes.
 *
 * A decode type is one file here: its class says how its spec is
 * defaulted, which JSON fields it takes and how they are read and written,
 * how it binds to the model's outputs (checking shapes, precomputing
 * priors, sizing scratch) and how it runs on one frame. Detection types
 * give candidates (collect) and share NMS; the others fill the result
 * themselves (run). */
#ifndef AF_DECODE_DECODER_H
#define AF_DECODE_DECODER_H

#include "decode.h"

G_BEGIN_DECLS

#define AF_DECODE_MAX_TOP_K 65536
#define AF_DECODE_MAX_DETECTIONS 65536
#define AF_DECODE_MAX_INPUT_SIZE 16384
#define AF_DECODE_MAX_FEATURE 4096
#define AF_DECODE_MAX_STRIDE 1024
#define AF_DECODE_MAX_CANDIDATES (1 << 22)
#define AF_DECODE_MAX_CLASSES (1 << 22)

/* A role bound to a model output: its index and its [N, C] view. */
typedef struct {
  guint index;
  gint64 n, c;
} AfRole;

struct _AfDecoder {
  AfDecodeSpec spec;
  const struct _AfDecoderClass *klass;
  char **labels; /* NULL-terminated, owned; may be NULL */
  guint n_labels;
  guint n_classes; /* classification: C; ssd: score columns */
  AfRole scores, boxes;
  AfRole cls[AF_DECODE_MAX_LEVELS], obj[AF_DECODE_MAX_LEVELS];
  AfRole bbox[AF_DECODE_MAX_LEVELS], kps[AF_DECODE_MAX_LEVELS];
  int n_landmarks;
  int grid_w, grid_h; /* grid: cells per row, rows */
  float *priors;      /* ssd, blazeface: 4 per prior (cx, cy, w, h) */
  guint n_priors;
  /* scratch, sized at configuration */
  float *values;     /* classification: C floats */
  AfDetection *cand; /* detection candidates */
  guint *order;      /* NMS order */
  guint max_cand;
};

/* Where a JSON spec is being read, for messages. */
typedef struct {
  const char *where;
  GError **error;
} AfJsonCtx;

typedef struct _AfDecoderClass {
  AfDecodeType type;
  const char *name;          /* af_decode_type_name */
  const char *style;         /* detection: the JSON "style"; NULL: "type" is the name */
  const char *const *fields; /* JSON fields this decode takes */
  gboolean attached;         /* "scores" defaults to the output the decode is attached to */
  /* defaults beyond the common ones (thresholds, tensor names, priors) */
  void (*init) (AfDecodeSpec *spec);
  /* reads the type's own JSON fields after the common ones; NULL: none */
  gboolean (*parse) (AfJsonCtx *c, JsonObject *obj, AfDecodeSpec *spec);
  /* writes the type's own JSON members after the common ones; NULL: none */
  void (*write) (const AfDecodeSpec *spec, JsonBuilder *b);
  /* binds the roles to @outputs, checks shapes, precomputes, sets
   * n_classes and max_cand (the candidate scratch the core allocates) */
  gboolean (*bind) (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error);
  /* allocates the result's storage; NULL: max_detections detections */
  void (*result_init) (AfDecoder *dec, AfDecodeResult *res);
  /* detection: writes candidates to dec->cand, returns their count */
  guint (*collect) (AfDecoder *dec, const guint16 *const *outputs);
  /* non-detection: fills @res (allocates nothing) */
  void (*run) (AfDecoder *dec, const guint16 *const *outputs, AfDecodeResult *res);
} AfDecoderClass;

/* The class of @type, or NULL for a value outside the enum. */
const AfDecoderClass *af__decoder_class (AfDecodeType type);
/* The class whose JSON style is @style (detection types), or NULL. */
const AfDecoderClass *af__decoder_class_by_style (const char *style);
/* "\"ssd\", \"ssd-decoded\", ... or \"blazeface\"" (transfer full). */
char *af__decoder_style_list (void);

extern const AfDecoderClass af__decoder_classification;
extern const AfDecoderClass af__decoder_ssd;
extern const AfDecoderClass af__decoder_ssd_decoded;
extern const AfDecoderClass af__decoder_yunet;
extern const AfDecoderClass af__decoder_blazeface;
extern const AfDecoderClass af__decoder_yolov8;
extern const AfDecoderClass af__decoder_yolov5;
extern const AfDecoderClass af__decoder_grid;
extern const AfDecoderClass af__decoder_segmentation;
extern const AfDecoderClass af__decoder_keypoints;

/* ---- JSON (spec-json.c): each sets "<where>: decode: field "F": ..." */
gboolean af__json_fail (AfJsonCtx *c, const char *field, const char *fmt, ...) G_GNUC_PRINTF (3, 4);
const char *af__json_node_kind (JsonNode *node); /* integers are "a number" */
gboolean af__json_want_string (AfJsonCtx *c, const char *field, JsonNode *node, char **out);
gboolean af__json_want_bool (AfJsonCtx *c, const char *field, JsonNode *node, gboolean *out);
gboolean af__json_want_number (AfJsonCtx *c, const char *field, JsonNode *node, double lo,
                               double hi, float *out);
gboolean af__json_want_int (AfJsonCtx *c, const char *field, JsonNode *node, gint64 lo, gint64 hi,
                            gint64 *out);
JsonArray *af__json_want_array (AfJsonCtx *c, const char *field, JsonNode *node, guint min_len,
                                guint max_len);
/* "strides": 1..8 positive integers into spec->strides / n_strides. */
gboolean af__json_parse_strides (AfJsonCtx *c, JsonNode *n, AfDecodeSpec *spec);
/* @f as the double of its shortest decimal spelling that reads back as @f. */
double af__json_float (float f);
void af__json_member_string (JsonBuilder *b, const char *name, const char *value);
void af__json_member_strides (JsonBuilder *b, const AfDecodeSpec *spec);

/* ---- binding (decoder.c): errors are AF_ERROR_SHAPE "decode: ..." */
gboolean af__bind_fail (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* "[1,4420,2]" (transfer full) */
char *af__shape_string (const AfTensorInfo *info);
/* Output @name's index for @role, or -1 with @error listing the outputs. */
int af__find_output (const char *role, const char *name, guint n_outputs,
                     const AfTensorInfo *outputs, GError **error);
/* Binds output @name to @role viewed as [N, C] (leading dims 1). */
gboolean af__bind_role (const char *role, const char *name, guint n_outputs,
                        const AfTensorInfo *outputs, AfRole *r, GError **error);

/* The head of a single-tensor decode (yolo, grid): the output named by
 * spec->scores, or the only output. Its index, or -1 with @error set. */
int af__bind_head (AfDecoder *dec, guint n_outputs, const AfTensorInfo *outputs, GError **error);

/* SSD: feature maps ceil(input / 8, 16, 32, 64) for the 4-level default
 * layout (UltraFace's rule); other layouts are left as they are. */
void af__decode_ssd_derive_feature_maps (AfDecodeSpec *spec);

/* ---- boxes */
static inline void
af__clip_det (AfDetection *d, float w, float h)
{
  d->x1 = CLAMP (d->x1, 0.0f, w);
  d->y1 = CLAMP (d->y1, 0.0f, h);
  d->x2 = CLAMP (d->x2, 0.0f, w);
  d->y2 = CLAMP (d->y2, 0.0f, h);
}

/* MediaPipe anchors of a blazeface spec (blazeface.c), as
 * af__decode_ssd_priors. */
float *af__decode_blazeface_anchors (const AfDecodeSpec *spec, guint *n_anchors);

G_END_DECLS

#endif /* AF_DECODE_DECODER_H */
