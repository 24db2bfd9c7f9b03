/* aneforge.h — the one public header of libaneforge.
 *
 * libaneforge compiles a tensor graph into ONE fused program (or a segmented
 * plan when the graph holds bridge ops) and runs it per frame with the Apple
 * Neural Engine's numerics: fp16 tensors at every op boundary, fp32
 * accumulation. On Linux the CPU backend executes the plan.
 *
 * A complete example: build a graph, save it, compile it, run it.
 *
 *   GError *error = NULL;
 *   AfGraph *g = af_graph_new ("tiny");
 *   gint64 shape[] = { 1, 3, 32, 32 };
 *   float scale[] = { 1.0f / 255 }, bias[] = { 0 };
 *   AfTensor *x = af_image_input (g, "image", shape, AF_PIXEL_RGB, 1, scale, 1, bias);
 *   gint64 wshape[] = { 8, 3, 3, 3 };
 *   AfTensor *w = af_weight (g, "conv1.weight", 4, wshape, weights);  // copied
 *   AfConvParams p = AF_CONV_PARAMS_INIT;
 *   p.pad[0] = p.pad[1] = p.pad[2] = p.pad[3] = 1;
 *   AfTensor *y = af_relu (g, af_conv (g, x, w, NULL, &p));
 *   af_graph_add_output (g, "features", y);
 *   if (!af_graph_save (g, "tiny.json", &error))     // + tiny.safetensors
 *     goto fail;
 *
 *   AfModel *m = af_compile (g, NULL, &error);       // g may be freed now
 *   guint8 *pixels = af_model_input_view (m, 0, NULL); // [1,3,32,32] uint8
 *   fill (pixels);
 *   if (!af_model_execute (m, &error))               // nothing allocated here
 *     goto fail;
 *   const guint16 *out = af_model_output_view (m, 0); // fp16 bits
 *   af_model_free (m);
 *   af_graph_free (g);
 *
 * Errors. Bad input (a malformed file, a shape mismatch, an unsupported
 * backend) is reported as a GError in the AF_ERROR domain whose message names
 * the file, the node and the field. Programmer errors (NULL handles) are
 * g_return_val_if_fail checks. The library never aborts on a user's file.
 *
 * Ownership is written beside every call: "transfer full" means the caller
 * frees the result; "borrowed" means the callee keeps it. All *_free(NULL)
 * are no-ops. OUT parameters come last.
 *
 * Threading: an AfGraph or AfModel is used by one thread at a time; distinct
 * handles are independent. */
#ifndef ANEFORGE_H
#define ANEFORGE_H

#include <glib.h>

G_BEGIN_DECLS

#define AF_MAX_RANK 6

/* ---------------------------------------------------------------- errors */

#define AF_ERROR (af_error_quark ())
GQuark af_error_quark (void);

typedef enum {
  AF_ERROR_IO,          /* a file could not be read or written */
  AF_ERROR_PARSE,       /* not valid JSON / safetensors */
  AF_ERROR_INVALID,     /* structurally wrong: unknown op, bad field, cycle... */
  AF_ERROR_SHAPE,       /* shapes do not fit */
  AF_ERROR_WEIGHTS,     /* missing, mis-shaped or badly encoded weights */
  AF_ERROR_LIMIT,       /* absurd sizes: above the loader's limits */
  AF_ERROR_UNSUPPORTED, /* valid but not supported here (e.g. backend=ane on Linux) */
} AfError;

/* ---------------------------------------------------------------- handles */

typedef struct _AfGraph AfGraph;   /* a tensor graph under construction or loaded */
typedef struct _AfTensor AfTensor; /* a value in a graph; borrowed, owned by its graph */
typedef struct _AfModel AfModel;   /* a compiled, runnable model */

typedef enum {
  AF_DTYPE_F32,
  AF_DTYPE_F16,
  AF_DTYPE_I8,
  AF_DTYPE_U8,
} AfDType;

typedef enum {
  AF_PIXEL_RGB,
  AF_PIXEL_BGR,
  AF_PIXEL_GRAY,
} AfPixelOrder;

/* fp16 <-> fp32, round to nearest even. */
float af_fp16_to_f32 (guint16 h);
guint16 af_f32_to_fp16 (float f);
void af_fp16_to_f32_n (const guint16 *src, float *dst, gsize n);
void af_f32_to_fp16_n (const float *src, guint16 *dst, gsize n);

/* ---------------------------------------------------------------- graphs */

/* Returns (transfer full) an empty graph. */
AfGraph *af_graph_new (const char *name);
void af_graph_free (AfGraph *g);

/* Loads a JSON graph file and the safetensors file it names (memory
 * mapped). Every field is checked; errors name file, node and field.
 * Returns (transfer full) the graph, or NULL with @error set. */
AfGraph *af_graph_load (const char *path, GError **error);

/* Parses a JSON graph from memory; @weights_dir is where the safetensors file
 * it names is looked for (NULL: no weights file may be named). @name_for_errors
 * is used in messages. Returns (transfer full) or NULL with @error set. */
AfGraph *af_graph_load_from_data (const char *json, gsize len, const char *weights_dir,
                                  const char *name_for_errors, GError **error);

/* Writes @path (JSON) and, if the graph has weights, a safetensors file beside
 * it named after @path (foo.json -> foo.safetensors). */
gboolean af_graph_save (AfGraph *g, const char *path, GError **error);

/* The first error a builder call met (borrowed), or NULL. Builder calls
 * after an error return NULL and do nothing; af_compile and af_graph_save
 * report the sticky error. */
const GError *af_graph_error (AfGraph *g);

const char *af_graph_name (AfGraph *g); /* borrowed */
guint af_graph_n_nodes (AfGraph *g);    /* nodes, graph inputs included */

/* Looks a value up by name. Returns (borrowed) or NULL. */
AfTensor *af_graph_lookup (AfGraph *g, const char *name);

const char *af_tensor_name (AfTensor *t); /* borrowed */
/* Renames a value (before it is used by name in a file). */
void af_tensor_set_name (AfTensor *t, const char *name);
int af_tensor_rank (AfTensor *t);
/* Fills @shape (AF_MAX_RANK entries) and returns the rank. */
int af_tensor_shape (AfTensor *t, gint64 *shape);

/* Declares @t as a graph output under @name. The output's decode is set with
 * af_graph_set_decode. */
void af_graph_add_output (AfGraph *g, const char *name, AfTensor *t);
/* Declares the classification decode of output @index: optional softmax,
 * @top_k best (0: 5), labels file (copied; may be NULL; relative paths are
 * resolved against the graph file's directory). */
void af_graph_set_classification (AfGraph *g, guint index, gboolean softmax, guint top_k,
                                  const char *labels_path);

/* ---------------------------------------------------------------- builder
 * The builder mirrors the seed's Python names. Every call returns a value
 * borrowed from the graph, named "<op>_<n>" unless renamed. On a shape error
 * the call records the sticky error (af_graph_error) and returns NULL;
 * passing NULL on to the next call is fine. */

AfTensor *af_input (AfGraph *g, const char *name, int rank, const gint64 *shape);
/* An image-input port: the engine takes uint8 NCHW pixels and computes
 * x * scale[c] + bias[c]. n_scale / n_bias are 1 (scalar) or C. */
AfTensor *af_image_input (AfGraph *g, const char *name, const gint64 shape[4], AfPixelOrder order,
                          int n_scale, const float *scale, int n_bias, const float *bias);
/* A constant. @data (fp32, copied) is rounded to fp16 at compile time. */
AfTensor *af_weight (AfGraph *g, const char *name, int rank, const gint64 *shape,
                     const float *data);

typedef struct {
  gint64 stride[2];   /* h, w */
  gint64 pad[4];      /* top, left, bottom, right */
  gint64 dilation[2]; /* h, w */
  gint64 groups;
} AfConvParams;
#define AF_CONV_PARAMS_INIT                                                                        \
  {                                                                                                \
    { 1, 1 }, { 0, 0, 0, 0 }, { 1, 1 }, 1                                                          \
  }

/* x [N,C,H,W], w [O, C/groups, KH, KW], b [O] or NULL */
AfTensor *af_conv (AfGraph *g, AfTensor *x, AfTensor *w, AfTensor *b, const AfConvParams *p);
/* Transposed conv: x [N,C,H,W], w [C, O/groups, KH, KW], b [O] or NULL; out
 * (H - 1) * stride + (KH - 1) * dilation + 1 - pad top - pad bottom (W alike). */
AfTensor *af_conv_transpose (AfGraph *g, AfTensor *x, AfTensor *w, AfTensor *b,
                             const AfConvParams *p);
/* a [..., M, K] @ b [..., K, N], batch dims broadcast */
AfTensor *af_matmul (AfGraph *g, AfTensor *a, AfTensor *b);
/* x [..., K], w [N, K], b [N] or NULL */
AfTensor *af_linear (AfGraph *g, AfTensor *x, AfTensor *w, AfTensor *b);

AfTensor *af_add (AfGraph *g, AfTensor *a, AfTensor *b);
AfTensor *af_sub (AfGraph *g, AfTensor *a, AfTensor *b);
AfTensor *af_mul (AfGraph *g, AfTensor *a, AfTensor *b);
AfTensor *af_div (AfGraph *g, AfTensor *a, AfTensor *b);
AfTensor *af_maximum (AfGraph *g, AfTensor *a, AfTensor *b);
AfTensor *af_minimum (AfGraph *g, AfTensor *a, AfTensor *b);

AfTensor *af_relu (AfGraph *g, AfTensor *x);
AfTensor *af_relu6 (AfGraph *g, AfTensor *x);
AfTensor *af_clip (AfGraph *g, AfTensor *x, float lo, float hi);
AfTensor *af_sigmoid (AfGraph *g, AfTensor *x);
AfTensor *af_tanh (AfGraph *g, AfTensor *x);
AfTensor *af_silu (AfGraph *g, AfTensor *x);
AfTensor *af_gelu (AfGraph *g, AfTensor *x);
AfTensor *af_exp (AfGraph *g, AfTensor *x);
/* x * relu6 (x + 3) / 6 */
AfTensor *af_hardswish (AfGraph *g, AfTensor *x);
/* the nearest multiple of @step (> 0), clamped to [@lo, @hi]: a quantized
 * tensor's values (scale @step; @lo, @hi the real values of its range) */
AfTensor *af_fake_quant (AfGraph *g, AfTensor *x, float step, float lo, float hi);

/* Reductions over @axes (negative axes count from the end). */
AfTensor *af_mean (AfGraph *g, AfTensor *x, int n_axes, const int *axes, gboolean keepdims);
AfTensor *af_sum (AfGraph *g, AfTensor *x, int n_axes, const int *axes, gboolean keepdims);
AfTensor *af_amax (AfGraph *g, AfTensor *x, int n_axes, const int *axes, gboolean keepdims);
AfTensor *af_amin (AfGraph *g, AfTensor *x, int n_axes, const int *axes, gboolean keepdims);
AfTensor *af_softmax (AfGraph *g, AfTensor *x, int axis);
AfTensor *af_batch_norm (AfGraph *g, AfTensor *x, AfTensor *scale, AfTensor *bias, AfTensor *mean,
                         AfTensor *var, float eps);

typedef struct {
  gint64 kernel[2], stride[2], pad[4];
  gboolean ceil_mode, count_include_pad;
} AfPoolParams;
AfTensor *af_max_pool (AfGraph *g, AfTensor *x, const AfPoolParams *p);
AfTensor *af_avg_pool (AfGraph *g, AfTensor *x, const AfPoolParams *p);
AfTensor *af_global_avg_pool (AfGraph *g, AfTensor *x);

AfTensor *af_concat (AfGraph *g, int n, AfTensor *const *xs, int axis);
/* ONNX semantics: -1 infers one dim, 0 copies the input's dim. */
AfTensor *af_reshape (AfGraph *g, AfTensor *x, int rank, const gint64 *shape);
AfTensor *af_transpose (AfGraph *g, AfTensor *x, int rank, const int *perm);
/* nearest-neighbour upsampling of H and W by integer factors */
AfTensor *af_upsample (AfGraph *g, AfTensor *x, int scale_h, int scale_w);
/* Bilinear resize of H and W to @h x @w; source coordinates as TensorFlow's
 * ResizeBilinear: @align_corners, @half_pixel (pixel centres), or neither
 * (out * in / size). */
AfTensor *af_resize_bilinear (AfGraph *g, AfTensor *x, int h, int w, gboolean align_corners,
                              gboolean half_pixel);

/* Bridge ops (cut the graph into a segmented plan). Indices come out as
 * fp16 values, exact because the reduced axis is limited to 2048. */
AfTensor *af_argmax (AfGraph *g, AfTensor *x, int axis, gboolean keepdims);
/* the k largest along @axis, descending; values, or their indices */
AfTensor *af_topk (AfGraph *g, AfTensor *x, int k, int axis, gboolean indices);

/* ---------------------------------------------------------------- compile */

typedef enum {
  AF_BACKEND_AUTO,
  AF_BACKEND_CPU,
  AF_BACKEND_ANE,
} AfBackendKind;

typedef struct {
  AfBackendKind backend;
  int threads;       /* 0: one per core */
  int batch;         /* 0 or 1: as the graph says; N > 1: every input's leading dim 1 becomes N
                      * and reshapes keep the leading (batch) dim; refused when the graph's
                      * shapes pin the batch or an output does not lead with it */
  gboolean winograd; /* CPU: stride-1 3x3 convs with 32+ channels as Winograd F(2x2, 3x3):
                      * faster (resnet18 ~25 %), outputs within a few fp16 ulps of the
                      * direct convolution instead of identical (docs/numerics.md) */
  int check_every;   /* a backend other than the CPU: the frames also run on the CPU backend
                      * and compared (af_model_check_status). 0: the first frame only;
                      * N > 0: the first and every N-th; < 0: never. On a mismatch beyond
                      * the bound the model runs on the CPU from then on (docs/ane.md) */
} AfCompileOptions;
#define AF_COMPILE_OPTIONS_INIT                                                                    \
  {                                                                                                \
    AF_BACKEND_AUTO, 0, 0                                                                          \
  }

/* Compiles @g (not modified; may be freed afterwards) with @opts (NULL for
 * defaults). Returns (transfer full) a model or NULL with @error set. */
AfModel *af_compile (AfGraph *g, const AfCompileOptions *opts, GError **error);
void af_model_free (AfModel *m);

guint af_model_n_ops (AfModel *m);      /* graph ops fused into the program(s) */
guint af_model_n_segments (AfModel *m); /* 1 for a fused program */
const char *af_model_backend_name (AfModel *m);
/* A human-readable plan report (transfer full): ops, shapes, regions, cuts,
 * weights, cost estimate. */
char *af_model_describe (AfModel *m);

/* The self-check of a model on an accelerator (AfCompileOptions.check_every):
 * on a checked frame every output is compared with the CPU backend's, as
 * r = max|out - cpu| / max|cpu|, against bound = 8 D u (D the graph's op
 * count, u = 2^-11; docs/ane.md says why). The fields describe the latest
 * check's output with the largest r; after a failed check they stay as
 * that check left them. Strings are owned by the model. */
typedef struct {
  guint64 frames;        /* frames executed */
  guint64 checks;        /* of them, also run on the CPU backend and compared */
  guint64 checked_frame; /* the latest checked frame (0-based) */
  gboolean fell_back;    /* a check failed: every frame since runs on the CPU backend */
  int output;            /* the output furthest off, -1 before the first check */
  const char *output_name;
  double max_diff;             /* max |out - cpu| over that output */
  double ref_max;              /* max |cpu| over it */
  double rel;                  /* max_diff / ref_max (2^-14 at least below) */
  double bound;                /* the largest rel that passes */
  const char *checked_backend; /* the backend checked ("ane", "ane-sim"), static */
} AfCheckStatus;
/* Fills @status; FALSE (and @status zeroed, output -1) when @m has no
 * self-check: on the CPU backend, or check_every < 0. */
gboolean af_model_check_status (AfModel *m, AfCheckStatus *status);
/* Restarts the self-check's schedule: the next af_model_execute is checked
 * as a first frame, every N-th counts from it (e.g. after a warm-up run on
 * a blank input). No-op without a self-check. */
void af_model_check_restart (AfModel *m);

/* ---------------------------------------------------------------- decoders
 * Post-processing: a model's fp16 outputs in, classes or detections out.
 * docs/decoders.md is the reference (JSON spelling, rules, coordinates). */

#define AF_DECODE_MAX_LEVELS 8    /* SSD feature maps / YuNet strides */
#define AF_DECODE_MAX_ANCHORS 8   /* SSD min boxes per feature map */
#define AF_DECODE_MAX_LANDMARKS 6 /* landmark points per detection (BlazeFace: 6) */

#define AF_DECODE_MAX_KEYPOINTS 64 /* keypoints decode: points per model output */

typedef enum {
  AF_DECODE_TYPE_CLASSIFICATION, /* softmax (optional) + top-k + labels */
  AF_DECODE_TYPE_SSD,            /* scores [1,N,C] + raw box regressions against priors */
  AF_DECODE_TYPE_SSD_DECODED,    /* scores [1,N,C] + boxes x1,y1,x2,y2 in [0,1] */
  AF_DECODE_TYPE_YUNET,          /* per-stride cls/obj/bbox/kps grids */
  AF_DECODE_TYPE_BLAZEFACE, /* MediaPipe anchors: logits [1,N,1] + boxes/keypoints [1,N,4+2K] */
  AF_DECODE_TYPE_YOLOV8,    /* anchor-free head [1,4+C,N]: cx,cy,w,h (input px) + C class scores */
  AF_DECODE_TYPE_YOLOV5,    /* anchor-based head [1,N,5+C]: cx,cy,w,h, objectness, C classes */
  AF_DECODE_TYPE_GRID,      /* FastestDet grid [1,5+C,H,W]: obj, box offsets/sizes, classes */
  AF_DECODE_TYPE_SEGMENTATION, /* per-pixel argmax of [1,C,H,W] or a thresholded [1,1,H,W] mask */
  AF_DECODE_TYPE_KEYPOINTS,    /* N points (x, y, optional score) with an optional skeleton */
} AfDecodeType;

/* Skeleton edges drawn between keypoints. */
typedef enum {
  AF_SKELETON_NONE,
  AF_SKELETON_HAND,    /* MediaPipe hand landmarks, 21 points */
  AF_SKELETON_POSE,    /* MediaPipe / BlazePose landmarks, 33 points */
  AF_SKELETON_MOVENET, /* MoveNet / COCO, 17 points */
} AfSkeleton;

/* A decode specification. Strings are owned by the spec (g_strdup'ed;
 * af_decode_spec_clear frees them). af_decode_spec_init fills the README
 * defaults of the given type: a spec that only says "ssd" decodes the
 * UltraFace 320x240 models, "yunet" decodes yunet_n_320_320, "blazeface"
 * MediaPipe's short-range face detector (128x128). */
typedef struct {
  AfDecodeType type;

  /* --- tensors each role reads (output names). NULL for a classification's
   * (or yolo / grid) scores means "the output this decode is attached to": the loader fills
   * it in; af_decoder_new falls back to the only output if there is one. */
  char *scores;    /* classification: [.., C] values; ssd: [1,N,C]; blazeface: [1,N,1] logits;
                    * yolov8, yolov5, grid: the head (NULL: the output it is attached to) */
  char *boxes;     /* ssd / ssd-decoded: [1,N,4]; blazeface: [1,N,4+2K] */
  guint n_strides; /* yunet; blazeface: anchor layers (2 anchors per cell each) */
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
  float
      score_threshold;  /* keep candidates with score >= this (ssd 0.7, yunet 0.6, blazeface 0.5) */
  float iou_threshold;  /* NMS: suppress IoU > this (0.3) */
  guint max_detections; /* default 100 */
  int input_w, input_h; /* model input in pixels (ssd 320x240, yunet 320x320, blazeface 128x128;
                         * blazeface divides its regressions by it) */
  gboolean clip;        /* clip boxes to the input rectangle (default TRUE) */

  /* --- ssd priors */
  guint n_levels;
  int feature_w[AF_DECODE_MAX_LEVELS], feature_h[AF_DECODE_MAX_LEVELS];
  guint n_min_boxes[AF_DECODE_MAX_LEVELS];
  float min_boxes[AF_DECODE_MAX_LEVELS][AF_DECODE_MAX_ANCHORS]; /* input pixels */
  float center_variance, size_variance;                         /* 0.1, 0.2 */

  /* --- segmentation (scores: the [1,C,H,W] tensor; one channel: mask =
   * value >= score_threshold) */
  gboolean channels_last; /* the tensor is [1,H,W,C] (TFLite) */

  /* --- keypoints (scores: the tensor, N * strlen (layout) values) */
  guint n_points;      /* points read (1..AF_DECODE_MAX_KEYPOINTS) */
  char layout[8];      /* one letter per value of a point: x, y, s (score), v (visibility
                        * logit, sigmoid = score), any other letter is skipped ("xyz") */
  gboolean normalized; /* x, y in [0,1] of the input (else input pixels) */
  AfSkeleton skeleton; /* edges to draw; also sets the defaults */
} AfDecodeSpec;

/* Fills @spec with the defaults of @type (any previous content is
 * overwritten, not freed). */
void af_decode_spec_init (AfDecodeSpec *spec, AfDecodeType type);
/* Frees the strings of @spec and zeroes it. NULL is a no-op. */
void af_decode_spec_clear (AfDecodeSpec *spec);
/* Deep copy: @dst (uninitialised) gets its own strings. */
void af_decode_spec_copy (AfDecodeSpec *dst, const AfDecodeSpec *src);
/* "classification", "ssd", "ssd-decoded", "yunet", "blazeface", "yolov8",
 * "yolov5", "grid", "segmentation", "keypoints" (static). */
const char *af_decode_type_name (AfDecodeType type);
/* Sets the model input size of @spec and what follows from it: SSD feature
 * maps become ceil(size / 8, 16, 32, 64) (UltraFace's rule; set custom
 * priors after this call); YuNet grids, BlazeFace anchors and YOLO/grid
 * boxes are derived from the size when the decoder is made. */
void af_decode_spec_set_input_size (AfDecodeSpec *spec, int w, int h);
/* Sets a keypoints spec's skeleton and its defaults: points, layout,
 * coordinates, input size and visibility threshold (hand: 21, "xyz",
 * pixels, 224; pose: 33 of 39, "xyzvp", pixels, 256, 0.5; movenet: 17,
 * "yxs", normalised, 192, 0.3; none: 0 points, "xy"). */
void af_decode_spec_set_skeleton (AfDecodeSpec *spec, AfSkeleton skeleton);

typedef struct {
  guint index;       /* class index */
  float score;       /* probability (after softmax) or raw value */
  const char *label; /* borrowed from the decoder, NULL without labels */
} AfClassResult;

typedef struct {
  float x1, y1, x2, y2; /* corners: model-input pixels, or frame pixels after mapping */
  float score;
  int label;              /* class index (ssd: column of scores; yunet, blazeface: 0) */
  const char *label_name; /* borrowed from the decoder, may be NULL */
  int n_landmarks;
  float landmarks[2 * AF_DECODE_MAX_LANDMARKS]; /* x,y pairs, same space as the box */
} AfDetection;

typedef struct {
  float x, y;       /* model-input pixels, or frame pixels after mapping */
  float score;      /* 1 when the layout has no score */
  gboolean visible; /* score >= the spec's score_threshold */
} AfKeypoint;

/* Result storage, made once per decoder and refilled by every run. */
typedef struct {
  AfDecodeType type;
  guint n;                 /* entries filled by the last run (segmentation: 1) */
  guint capacity;          /* top_k, max_detections, 1 or n_points */
  AfClassResult *classes;  /* classification only; owned by the result */
  AfDetection *detections; /* detection types only; owned by the result */
  gboolean in_frame;       /* FALSE: model-input pixels; TRUE: mapped to the frame */
  /* segmentation: class per cell of the model's output grid, row by row,
   * covering the whole model input (the element stretches it over the frame) */
  guint8 *mask; /* owned; mask_w * mask_h */
  int mask_w, mask_h;
  guint n_mask_classes; /* C (2 for a thresholded mask) */
  /* keypoints */
  AfKeypoint *keypoints;    /* owned, n_points */
  const guint8 (*edges)[2]; /* static skeleton edges (point indices) */
  guint n_edges;
} AfDecodeResult;

typedef struct {
  const char *name; /* borrowed from the model */
  int rank;
  gint64 shape[AF_MAX_RANK];
  AfDType dtype; /* U8 for an image port, F16 otherwise */
  /* image port only */
  gboolean is_image;
  AfPixelOrder order;
  float scale[3], bias[3];
  /* outputs only */
  const AfDecodeSpec *decode; /* borrowed from the model, NULL: none */
} AfTensorInfo;

guint af_model_n_inputs (AfModel *m);
guint af_model_n_outputs (AfModel *m);
void af_model_input_info (AfModel *m, guint i, AfTensorInfo *info);
void af_model_output_info (AfModel *m, guint i, AfTensorInfo *info);

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
/* Maps boxes, landmarks and keypoints of @res from model-input to frame
 * pixels (once per run; a no-op for classification, segmentation or an
 * already mapped result). */
void af_decode_map_to_frame (AfDecodeResult *res, const AfFrameMap *map);

/* Sets the decode of output @index to a copy of @spec (NULL: none). A
 * classification spec without scores reads the output itself. */
void af_graph_set_decode (AfGraph *g, guint index, const AfDecodeSpec *spec);
/* The width and height of @g's first image port (else its first NCHW
 * input): what a decode's input_size should be. FALSE if there is none. */
gboolean af_graph_image_size (AfGraph *g, int *w, int *h);

/* Builds the decoder of output @output's decode spec, bound to all the
 * model's outputs, labels resolved against the graph file's directory.
 * Returns (transfer full), or NULL with @error prefixed with the file and
 * output (also when the output has no decode). */
AfDecoder *af_model_new_decoder (AfModel *m, guint output, GError **error);

/* The zero-copy hot loop. Views are owned by the model and stay valid until
 * af_model_free. An image port's view is uint8 NCHW; any other input's view
 * is fp16 bits. Execute allocates nothing. */
void *af_model_input_view (AfModel *m, guint i, AfDType *dtype);
gboolean af_model_execute (AfModel *m, GError **error);
const guint16 *af_model_output_view (AfModel *m, guint i);

/* Host work next to the model on its threads (e.g. filling the input for
 * the next af_model_execute from a video frame). @func gets items [begin,
 * end) and the index @thread (0 .. af_model_n_threads () - 1) of the
 * thread running them, so it can keep scratch per thread. */
typedef void (*AfRangeFunc) (gpointer user_data, gint64 begin, gint64 end, int thread);
/* Threads af_model_parallel_for runs on (1 on backends without host threads). */
int af_model_n_threads (AfModel *m);
/* Runs @func over [0, @n) in chunks of at least @grain items on the model's
 * threads, the caller's included; returns when all are done. Allocates
 * nothing. Not while another thread runs af_model_execute on @m: the threads
 * are the same. */
void af_model_parallel_for (AfModel *m, gint64 n, gint64 grain, AfRangeFunc func,
                            gpointer user_data);

/* Convenience: fp32 in (image ports take pixel values 0..255, rounded and
 * clamped), fp32 out (widened from fp16). @inputs / @outputs have one
 * caller-owned buffer per model input / output. */
gboolean af_model_run (AfModel *m, const float *const *inputs, float *const *outputs,
                       GError **error);

/* ---------------------------------------------------------------- import */

typedef struct {
  gboolean image;     /* make the first input an image port (uint8 frames in) */
  AfPixelOrder order; /* the port's channel order */
  float scale[3];     /* per channel: x * scale + bias (from --scale/--bias or --mean/--std) */
  float bias[3];
  /* ONNX: NULL, or a NULL-terminated list of "NAME=1x3x640x640" (borrowed)
   * fixing graph input NAME's shape: its symbolic dims take these values, a
   * fixed dim or the rank must agree (else AF_ERROR_SHAPE). */
  const char *const *input_shapes;
} AfImportOptions;
#define AF_IMPORT_OPTIONS_INIT                                                                     \
  {                                                                                                \
    FALSE, AF_PIXEL_RGB, { 1, 1, 1 },                                                              \
    {                                                                                              \
      0, 0, 0                                                                                      \
    }                                                                                              \
  }

/* Imports an ONNX model (protobuf). Initializers become fp32/fp16/int8/uint8
 * constants; shape arithmetic on constants is folded. @opts may be NULL.
 * Returns (transfer full) a graph, or NULL with @error naming the node, op
 * and attribute it cannot map. */
AfGraph *af_graph_import_onnx (const char *path, const AfImportOptions *opts, GError **error);
AfGraph *af_graph_import_onnx_from_data (const guint8 *data, gsize len, const char *name_for_errors,
                                         const AfImportOptions *opts, GError **error);

/* Imports a TensorFlow Lite model (FlatBuffers). TFLite is NHWC: inputs
 * become NCHW, rank-4 outputs are transposed back to NHWC; fp16 and (u)int8
 * quantized weights are dequantized. @opts may be NULL. Returns (transfer
 * full) a graph, or NULL with @error naming the operator index, op and option. */
AfGraph *af_graph_import_tflite (const char *path, const AfImportOptions *opts, GError **error);
AfGraph *af_graph_import_tflite_from_data (const guint8 *data, gsize len,
                                           const char *name_for_errors, const AfImportOptions *opts,
                                           GError **error);

/* Opens any model file by its extension: .json (af_graph_load), .onnx,
 * .tflite (imported with @opts, which may be NULL). Returns (transfer full)
 * or NULL with @error set. */
AfGraph *af_graph_open (const char *path, const AfImportOptions *opts, GError **error);

/* Import options as `aneforge import` spells them, shared by the command
 * line and the element's "import" property: --rgb | --bgr | --gray,
 * --scale S[,S,S], --bias B[,B,B], --mean M,M,M --std S,S,S (x / 255 - mean)
 * / std), --classify, --softmax, --labels FILE, --top N, --decode
 * ssd|ssd-decoded|yunet|blazeface, --score-threshold T, --iou-threshold T,
 * --input-shape NAME=1x3x640x640 (repeatable; AfImportOptions.input_shapes). */
typedef struct _AfImportArgs AfImportArgs;
AfImportArgs *af_import_args_new (void);    /* (transfer full): no option given */
void af_import_args_free (AfImportArgs *a); /* NULL-safe */
/* Parses option @opt, with @value the word after it (NULL: none). Returns
 * the words used (1 or 2), 0 when @opt is not an import option, -1 with
 * @error naming the option when its value is missing or malformed. */
int af_import_args_parse_one (AfImportArgs *a, const char *opt, const char *value, GError **error);
/* Parses a whole option string (words split and quoted as a shell does; NULL
 * or blank: nothing). FALSE with @error naming the word on anything else. */
gboolean af_import_args_parse (AfImportArgs *a, const char *line, GError **error);
/* TRUE when a pixel option was given (the first input becomes an image port). */
gboolean af_import_args_has_port (const AfImportArgs *a);
/* TRUE when an option sets output 0's decode (--classify, --labels, --decode). */
gboolean af_import_args_has_decode (const AfImportArgs *a);
/* The importer's options (--mean / --std folded into scale and bias;
 * input_shapes borrowed from @a). */
void af_import_args_options (const AfImportArgs *a, AfImportOptions *opts);
/* Sets output 0's decode of @g from --classify / --softmax / --labels / --top
 * or --decode (nothing when none was given). The labels path is written as a
 * graph saved at @save_path would name it (relative to its directory when
 * inside it), absolute when @save_path is NULL. */
gboolean af_import_args_apply (const AfImportArgs *a, AfGraph *g, const char *save_path,
                               GError **error);
/* af_graph_open with @a's pixel options (@image_port: an image port even
 * without one, RGB 0..255 by default) and decode applied. Pixel options on a
 * .json graph are an error. @a may be NULL. Returns (transfer full) or NULL
 * with @error set. */
AfGraph *af_import_args_open (const AfImportArgs *a, const char *path, gboolean image_port,
                              GError **error);
/* The options in canonical form ("--bgr --scale 1,1,1 --bias 0,0,0 --decode
 * ssd"; "" when none) (transfer full). */
char *af_import_args_to_string (const AfImportArgs *a);

/* Number of elements of a shape. */
gint64 af_shape_numel (int rank, const gint64 *shape);

/* ---------------------------------------------------------------- ANE export
 * The ANE backend's programs, written out (on any machine; docs/ane.md).
 * @dialect is "ios18" (program(1.3), func main<ios18>; NULL means it) or
 * "ios16" (program(1.0)). @g is borrowed. */

/* Writes @dir/plan.json (segments, cuts, how values thread) and, per fused
 * region, @dir/region-K/model.mil + weights/weight.bin. Same graph, same
 * bytes. FALSE with @error set on an unknown dialect, a graph the partition
 * cannot express or an I/O failure. */
gboolean af_graph_export_ane (AfGraph *g, const char *dir, const char *dialect, GError **error);
/* Writes the Core ML package @path (.mlpackage: Manifest.json, the ML
 * Program in Data/com.apple.CoreML/model.mlmodel, its weight.bin). A
 * segmented plan is refused when @path ends in .mlpackage (the error names
 * the first cut); else @path becomes a folder of region-K.mlpackage and
 * plan.json. FALSE with @error set on failure. */
gboolean af_graph_export_coreml (AfGraph *g, const char *path, const char *dialect, GError **error);
/* The ANE partition of @g as text: segments, each cut with its op, shape and
 * rule, programs per frame (transfer full: g_free), or NULL with @error. */
char *af_graph_describe_ane (AfGraph *g, GError **error);

/* ---------------------------------------------------------------- targets and estimate
 * The Apple chips a graph may target (src/targets.def: the capability
 * families, the 28 compiler targets, their cost curves and measured
 * anchors; docs/estimate.md) and the measurement-free cost model over the
 * ANE partition of af_graph_describe_ane. Nothing here needs a Mac. */

typedef enum {
  AF_STREAM_INT4 = 1 << 0, /* int4 LUT palettization */
  AF_STREAM_INT8 = 1 << 1, /* per-channel int8 */
  AF_STREAM_SPARSE = 1 << 2,
  AF_STREAM_BLOCKWISE = 1 << 3,
} AfWeightStream;

/* Where an estimate's constants come from. */
typedef enum {
  AF_PROVENANCE_ANCHOR,   /* the target's family owns a silicon-measured anchor (h13, h14, h17s) */
  AF_PROVENANCE_ANALYTIC, /* extrapolated from the nearest anchor by cores, clock, efficiency */
  AF_PROVENANCE_MEASURED, /* the M5 Pro's measured cost-model fit ("m5-measured") */
} AfProvenance;

typedef struct {
  const char *name;        /* the compiler arch, e.g. "h17s" (static) */
  int family;              /* 2 A13/M1, 3 A14/M2, 4 A15/M3, 5 A16; 1 below the MIL floor,
                            * 0 a reference target of no family */
  const char *family_name; /* static */
  /* the family's limits (0: none, no MIL program runs there) */
  gint64 max_tensor_dim, channel_extent, transpose_extent, conv_kw_max, reduction_transpose_extent;
  guint streams;     /* AfWeightStream bits that stream natively */
  const char *curve; /* the cost curve (static), NULL: none, no estimate */
  int cores;         /* NE cores of the curve */
  double ghz;        /* operating clock, 0.8 fmax */
  /* the seed's project_peak: 1.8 TFLOP/s x rel_m1, rel_m1 = cores x eff clock / M1's */
  double project_peak_tflops, rel_m1;
  const char *anchor; /* the measured chip the analytic model scales from (static) */
  AfProvenance provenance;
  double floor_us, bw_gbs, peak_tflops; /* the analytic roofline */
  double util_flops, util_q;            /* eff_peak = peak * min(1, (flops/F)^q); 0: none */
  double cut_us;                        /* per host step */
} AfTarget;

/* Number of targets of the table (the 28 compiler targets). */
guint af_target_count (void);
/* The name of target @i (< af_target_count ()), static. */
const char *af_target_name (guint i);
/* Resolves @name into @t: a compiler arch ("h13" .. "h18", "t1", "m11",
 * "u1" ..), a brand ("m1" .. "m5"), "host" (ANEFORGE_TARGET, else this
 * Mac's chip) or "m5-measured" (the M5 Pro's measured fit, h17s's limits).
 * A name the table lacks, a chip of no family and a host that is no known
 * Apple chip resolve as the seed does, to family 2 (h13) with *@warning
 * (transfer full; NULL otherwise) saying so. Case-insensitive. */
void af_target_resolve (const char *name, AfTarget *t, char **warning);

/* What bounds a node's time. */
typedef enum {
  AF_BOUND_FLOOR,   /* the dispatch floor (measured model) */
  AF_BOUND_MEMORY,  /* bytes / BW */
  AF_BOUND_COMPUTE, /* flops / peak */
} AfBound;

typedef struct {
  const char *name; /* the node's (owned by the estimate) */
  const char *op;   /* static */
  guint segment;
  double flops, bytes; /* bytes: (inputs + output + weights) x 2, fp16 */
  double us;           /* its roofline; the measured model includes the floor */
  double added_us;     /* what it adds to its segment: us (analytic) or us - floor */
  AfBound bound;
  AfProvenance provenance;
} AfEstimateNode;

typedef struct {
  gboolean host;    /* a host step (a cut), else a fused ANE program */
  guint first_node; /* into AfEstimate.nodes */
  guint n_nodes;
  double floor_us;    /* a program's dispatch floor, or a host step's cut cost */
  double us;          /* floor_us + the nodes' added_us */
  const char *reason; /* host only: why the graph is cut here (owned by the estimate) */
} AfEstimateSegment;

typedef struct {
  AfTarget target;
  char *warning; /* the target's resolution warning, NULL if none */
  guint n_segments, n_programs, n_host;
  AfEstimateSegment *segments;
  guint n_nodes;
  AfEstimateNode *nodes;
  double total_us;
  double floor_total_us; /* the floors and cuts of the segments */
  gboolean floor_bound;  /* total <= 1.5 x the programs' floors: the dispatch floor dominates */
} AfEstimate;

/* The estimated latency of one frame of @g (borrowed) on @target (see
 * af_target_resolve; NULL means "host"), over the segments the ANE export
 * cuts: per node max(bytes / BW, flops / peak) (with the floor in the
 * measured model), a program = floor + its nodes' work above the floor, a
 * host step = cut cost + its node. Returns (transfer full,
 * af_estimate_free) or NULL with @error: AF_ERROR_UNSUPPORTED for a target
 * without a cost curve, or the partition's error. */
AfEstimate *af_graph_estimate (AfGraph *g, const char *target, GError **error);
void af_estimate_free (AfEstimate *e);
/* The estimate as a table: target, provenance, per segment and the heaviest
 * nodes (transfer full: g_free). */
char *af_estimate_describe (const AfEstimate *e);
/* The dispatch-floor warning when @e is floor-bound (transfer full), else NULL. */
char *af_estimate_floor_warning (const AfEstimate *e);
const char *af_bound_name (AfBound b);           /* "floor", "memory", "compute" */
const char *af_provenance_name (AfProvenance p); /* "anchor", "analytic", "measured" */
/* ---------------------------------------------------------------- precision
 * Where fp16 will hurt (docs/precision.md): a static analysis of a graph
 * under the numerics contract (fp16 tensors, fp32 accumulation) for a target
 * ANE chip, with an optional calibration that measures each op's error
 * against an fp32 run of the same graph. */

typedef enum {
  AF_RISK_NONE,
  AF_RISK_NARROW_SUM,     /* a signed sum over K >= 256 terms: error grows ~ sqrt(K) */
  AF_RISK_CANCEL_SUB,     /* a difference far smaller than its operands (x - mean(x)) */
  AF_RISK_VARIANCE_CLIFF, /* squared deviations overflow / go subnormal, or a reduced axis
                           * beyond the ANE's 65536 per-axis bound */
  AF_RISK_OVERFLOW,       /* values beyond 65504 become inf */
  AF_RISK_UNDERFLOW,      /* values below 2^-14 lose bits; below 2^-25 flush to zero */
  AF_RISK_MATMUL_INF,     /* a matmul result beyond ~32759 becomes inf on the ANE */
  AF_RISK_SLICE_CLAMP,    /* a program-input slice saturates |x| > 4094 on h13 / h14 */
} AfRiskKind;

/* Warn above this estimated relative error (the seed's fp16-clean floor). */
#define AF_PRECISION_WARN 1e-3

typedef struct {
  const char *target;        /* a chip family or target ("h13", "m1", "h17s", "host"); NULL: any ANE
                              * chip. Unknown names are treated as family 2 (M1) with a warning */
  double input_lo, input_hi; /* range of the values of non-image inputs; both 0: [-1, 1] */
  int calibrate;             /* frames to run in fp32 and fp16 to measure each op's error */
  guint32 seed;              /* of the random calibration frames */
  const float *const *inputs; /* NULL, or one calibration frame: one fp32 buffer per graph input
                               * (pixel values 0..255 for an image port), used for every frame */
} AfPrecisionOptions;
#define AF_PRECISION_OPTIONS_INIT                                                                  \
  {                                                                                                \
    NULL, 0, 0, 0, 1, NULL                                                                         \
  }

typedef struct {
  const char *node;       /* the node's name */
  const char *op;         /* its op (static) */
  AfRiskKind kind;        /* the worst risk found; AF_RISK_NONE: none */
  double score;           /* estimated relative error of the output, err / max|output|, 0..1 */
  double peak;            /* estimated largest |output| (mean + 6 sigma, within the interval) */
  double bound;           /* interval bound on |output| (worst case; may be inf) */
  const char *fix;        /* the rewrite that addresses it, "" for none (static) */
  const char *reason;     /* why, with the figures */
  const char *cross_chip; /* why this node's fp16 value differs on another chip family, or NULL */
  double measured;        /* calibration: max|fp16 - fp32| / max|fp32| over the frames; -1: none */
  double measured_peak;   /* calibration: max|fp32 output| seen; -1: none */
} AfNodeRisk;

typedef struct {
  const char *target; /* the resolved target ("any", "host", "h13", ...) */
  int family;         /* its ANE family (seed ANCHORS.md 6.1), 0: host / any */
  guint n_nodes;      /* compute nodes, in topological order */
  AfNodeRisk *nodes;
  guint n_hotspots;      /* nodes with score > AF_PRECISION_WARN, worst first */
  guint *hotspots;       /* indices into @nodes */
  double graph_error;    /* estimated relative error at the outputs (the worst node's) */
  int calibrated;        /* frames measured, 0: none */
  double measured_error; /* calibration: the compiled model's outputs (CPU backend) against
                          * the fp32 run, max over outputs of max|d| / max|fp32|; -1: none */
  char **warnings;       /* NULL-terminated: "PrecisionWarning: node \"x\" ..." and
                          * "CrossChipFP16Warning: node \"x\" ...", named as the seed does */
  char **owned;          /* internal: the strings the nodes point to */
} AfPrecisionReport;

/* Analyses @g (borrowed, not modified) with @opts (NULL: defaults). Returns
 * (transfer full: af_precision_report_free) the report, or NULL with @error
 * set (an invalid graph, or a calibration that cannot run). */
AfPrecisionReport *af_precision_risk (AfGraph *g, const AfPrecisionOptions *opts, GError **error);
void af_precision_report_free (AfPrecisionReport *r);
/* The report as a table, hotspots and warnings (transfer full). */
char *af_precision_report_format (const AfPrecisionReport *r);
/* "narrow_sum", "cancel_sub", ... (static) */
const char *af_risk_kind_name (AfRiskKind kind);

/* ---------------------------------------------------------------- the op table
 * The ops a graph may use, in the library's table order, for listings such
 * as `aneforge list-ops`. */

typedef struct {
  const char *name;   /* the JSON spelling, e.g. "conv" (static) */
  gboolean bridge;    /* a bridge op: cuts the graph into a segmented plan */
  const char *family; /* the op family (ops of one shape / reference / cost file), static */
} AfOpDescription;

/* Number of ops in the table. */
guint af_op_count (void);
/* Fills @desc with op @i (< af_op_count ()); the strings are static. */
void af_op_describe (guint i, AfOpDescription *desc);

G_END_DECLS

#endif /* ANEFORGE_H */
