/* export.h — `aneforge export --ane DIR MODEL` and `aneforge inspect
 * --backend ane MODEL`: a graph partitioned (caps.h), each fused region
 * lowered to a MIL program (mil.h), written as
 *   DIR/plan.json                      the segments and how values thread
 *   DIR/region-K/model.mil             program K's text
 *   DIR/region-K/weights/weight.bin    its weight blob (MIL Blob Storage v2)
 *
 * plan.json (a contract the MIL interpreter in tests/ane relies on):
 *   {"format": "aneforge-ane-plan", "version": 1, "dialect": "ios18",
 *    "inputs": [{"name", "dtype": "uint8"|"fp16", "shape"}],
 *    "outputs": [{"name", "shape"}],
 *    "segments": [{"kind": "program", "dir": "region-0",
 *                  "inputs": [{"name", "mil", "dtype", "shape", "padded_shape"}],
 *                  "outputs": [same]},
 *                 {"kind": "host", "op": "argmax", "node", "reason",
 *                  "inputs": [names], "outputs": [names]}]}
 * Names are graph value names (outputs: the value each graph output reads,
 * in the graph's output order); "mil" is the program's variable. */
#ifndef AF_ANE_EXPORT_H
#define AF_ANE_EXPORT_H

#include "backends/ane/mil.h"

G_BEGIN_DECLS

/* Writes the export of @g (borrowed) into @dir (created if missing; files
 * there are overwritten). Same graph, same bytes. FALSE with @error set on
 * a graph the partition cannot express or an I/O failure. */
gboolean af_ane_export (AfGraph *g, const char *dir, AfAneDialect d, GError **error);

/* The plan.json text of @g alone (transfer full), or NULL with @error set;
 * lowers every region, writes nothing. */
char *af_ane_plan_json (AfGraph *g, AfAneDialect d, GError **error);

/* The partition report of `aneforge inspect --backend ane` (transfer full),
 * or NULL with @error set. */
char *af_ane_inspect (AfGraph *g, GError **error);

G_END_DECLS

#endif
