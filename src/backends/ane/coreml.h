/* coreml.h — `aneforge export --coreml OUT MODEL`: a MIL program as a Core
 * ML package (.mlpackage), the public route a Mac developer opens in Xcode
 * (../shared/ane/README.md §1.2, §5; the schema is Apple's Model.proto,
 * MIL.proto and FeatureTypes.proto in ../shared/ane/coreml-format/).
 *
 * The second printer of AfMilProgram beside mil-text.c: the same program,
 * encoded by pbwrite.h as the CoreML.Specification.Model message
 *   specificationVersion  9 (ios18) / 7 (ios16)
 *   description           one multiArrayType FLOAT16 feature per program
 *                         input and output, the program's (padded) shapes
 *   mlProgram             MIL.proto Program, version 1, function "main",
 *                         opset CoreML8 (ios18) / CoreML6 (ios16), one
 *                         block specialization under the same key
 * with every constant of >= 10 elements a blobFileValue
 * { "@model_path/weights/weight.bin", offset of its metadata record }.
 *
 * Package layout (the layout coremltools 9.0 writes):
 *   OUT.mlpackage/Manifest.json
 *   OUT.mlpackage/Data/com.apple.CoreML/model.mlmodel
 *   OUT.mlpackage/Data/com.apple.CoreML/weights/weight.bin
 * The manifest's item identifiers are name-based UUIDs (version 5 layout)
 * of the item's bytes, so the same graph gives the same package bytes.
 *
 * The image port: Core ML's ArrayDataType has no uint8, so an ios18 image
 * port (uint8 cast on the engine) is exported as an FP16 multiarray holding
 * the pixel values 0..255 (exact in fp16), the ios16 port's form: the cast
 * becomes an identity. An ImageFeatureType input would hand the program an
 * unpadded fp32 tensor, which needs an fp32 port the ANE program does not
 * have (fp32 never inside a program) — not the program the interpreter
 * checked. */
#ifndef AF_ANE_COREML_H
#define AF_ANE_COREML_H

#include "backends/ane/mil.h"

G_BEGIN_DECLS

/* The package constants. */
#define AF_COREML_BLOB_PATH "@model_path/weights/weight.bin"
#define AF_COREML_SPEC_IOS18 9
#define AF_COREML_SPEC_IOS16 7

/* Core ML's specificationVersion for @d: 9 (ios18) or 7 (ios16). */
int af_coreml_spec_version (AfAneDialect d);
/* The MIL.proto opset of @d: "CoreML8" (ios18) or "CoreML6" (ios16)
 * (static). */
const char *af_coreml_opset (AfAneDialect d);

/* Rewrites the image port of @p (borrowed, modified) for Core ML: an ios18
 * uint8 port becomes FP16 and its cast an identity; the binding in @in_bind
 * follows. Other programs are left alone. */
void af_coreml_fp16_ports (AfMilProgram *p, GArray *in_bind);

/* The model.mlmodel bytes of @p (borrowed; every port FP16, see
 * af_coreml_fp16_ports) with @in_bind / @out_bind (AfMilBinding, as
 * af_ane_lower fills them) describing the ports (transfer full). */
GBytes *af_coreml_model (const AfMilProgram *p, GArray *in_bind, GArray *out_bind);

/* Writes @p as the package directory @dir (created; files overwritten).
 * FALSE with @error set on an I/O failure. */
gboolean af_coreml_write_package (const AfMilProgram *p, GArray *in_bind, GArray *out_bind,
                                  const char *dir, GError **error);

/* `aneforge export --coreml OUT MODEL`: @g (borrowed) partitioned and
 * lowered in dialect @d. One fused region and no host step: @out is the
 * .mlpackage. A segmented plan cannot be one ML Program: @out must then not
 * end in ".mlpackage"; it becomes a directory holding plan.json (as
 * export --ane writes it) and region-K.mlpackage for the plan's "region-K"
 * segment. FALSE with @error set (naming the first cut when @out is a
 * .mlpackage for a segmented graph). */
gboolean af_ane_export_coreml (AfGraph *g, const char *out, AfAneDialect d, GError **error);

G_END_DECLS

#endif
