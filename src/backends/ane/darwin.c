/* darwin.c — "ane" on macOS: the AfBackend over the device routes of
 * macos/ (device.h). Built only when host_machine.system() == 'darwin';
 * on Linux tests/ane/macos/macos-compile.sh compiles it for the host
 * (syntax and types against the real headers) and nothing runs it.
 *
 * compile: the plan's graph is exported (export --ane, export.h) into a
 *   temporary folder; plan.json's segments are walked in order: each
 *   "program" becomes an e5rt program (model.mil, ports sized by their
 *   padded shapes) or, when Espresso is missing or refuses it, the region's
 *   .mlpackage on Core ML; each "host" stage becomes the CPU backend's
 *   program for the plan segment that holds the same bridge node.
 * bind: remembers the arena; device buffers were bound once at compile.
 * execute: per stage in order: a program's inputs copied from the arena
 *   into its padded rows, execute_sync (or predict), outputs copied back;
 *   a host stage run by the CPU backend.
 * Needs a Mac: nothing here has run (docs/ane.md, "verified here / needs a
 * Mac"). */
#include "backend.h"
#include "backends/ane/coreml.h"
#include "backends/ane/export.h"
#include "backends/ane/macos/device.h"
#include "backends/cpu/cpu.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

/* One value crossing a device program's boundary. */
typedef struct {
  AfTensor *value;        /* borrowed from plan->graph */
  char *mil;              /* the port name (owned) */
  gboolean u8;            /* uint8 port (ios18 image input) */
  gsize rows, row_elems;  /* the value as rows of its last axis */
  gsize padded_row_elems; /* the port's last axis (padded to 64 bytes) */
  AfDevicePort port;
} AfAneIo;

typedef struct {
  AfProgram *host;           /* a bridge stage on the CPU backend (owned), or NULL */
  AfE5rtProgram *e5rt;       /* the e5rt route (owned), or */
  AfCoreml *coreml;          /* the Core ML route (owned) */
  GArray *in, *out;          /* AfAneIo */
  guint16 **cm_in, **cm_out; /* Core ML: dense padded fp16 staging per port (owned) */
} AfAneStage;

typedef struct {
  const AfPlan *plan; /* borrowed */
  char *dir;          /* the export (owned; removed at release) */
  AfE5rt *rt;         /* NULL when Espresso did not load */
  char rt_error[512];
  GPtrArray *stages; /* AfAneStage*, owned */
  guint8 *arena;     /* borrowed, from bind */
} AfAneProgram;

/* ---------------------------------------------------------------- release */

static void
af_ane_io_clear (gpointer data)
{
  AfAneIo *io = data;
  g_free (io->mil);
}

static void
af_ane_stage_free (gpointer data)
{
  AfAneStage *s = data;
  af_backend_cpu.release (s->host);
  af_e5rt_program_free (s->e5rt);
  af_coreml_free (s->coreml);
  for (guint i = 0; s->cm_in && i < s->in->len; i++)
    g_free (s->cm_in[i]);
  for (guint i = 0; s->cm_out && i < s->out->len; i++)
    g_free (s->cm_out[i]);
  g_free (s->cm_in);
  g_free (s->cm_out);
  g_clear_pointer (&s->in, g_array_unref);
  g_clear_pointer (&s->out, g_array_unref);
  g_free (s);
}

/* Removes the export folder @dir and everything in it. */
static void
af_rm_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    char *path = g_build_filename (dir, name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_DIR))
      af_rm_tree (path);
    else
      g_remove (path);
    g_free (path);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
}

static void
af_ane_release (AfProgram *program)
{
  AfAneProgram *p = (AfAneProgram *) program;
  if (!p)
    return;
  g_clear_pointer (&p->stages, g_ptr_array_unref);
  af_e5rt_close (p->rt);
  if (p->dir)
    af_rm_tree (p->dir);
  g_free (p->dir);
  g_free (p);
}

/* ---------------------------------------------------------------- compile */

/* One port of a program segment of plan.json into @io; FALSE with @error
 * when its value is not in the plan's graph. */
static gboolean
af_ane_io_parse (const AfPlan *plan, JsonObject *port, AfAneIo *io, GError **error)
{
  const char *name = json_object_get_string_member (port, "name");
  io->value = af_graph_lookup (plan->graph, name);
  if (!io->value) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "plan.json: no value \"%s\" in the graph",
                 name);
    return FALSE;
  }
  io->mil = g_strdup (json_object_get_string_member (port, "mil"));
  io->u8 = g_strcmp0 (json_object_get_string_member (port, "dtype"), "uint8") == 0;
  JsonArray *padded = json_object_get_array_member (port, "padded_shape");
  guint rank = json_array_get_length (padded);
  const AfShape *s = &io->value->shape;
  io->row_elems = s->rank ? (gsize) s->d[s->rank - 1] : 1;
  io->rows = (gsize) af_shape_numel (s->rank, s->d) / MAX (io->row_elems, 1);
  io->padded_row_elems = rank ? (gsize) json_array_get_int_element (padded, rank - 1) : 1;
  io->port.name = io->mil;
  io->port.rank = (int) MIN (rank, 5u);
  for (int k = 0; k < io->port.rank; k++)
    io->port.shape[k] = json_array_get_int_element (padded, (guint) k);
  io->port.bytes = io->rows * io->padded_row_elems * (io->u8 ? 1 : 2);
  return TRUE;
}

static GArray *
af_ane_io_array (void)
{
  GArray *a = g_array_new (FALSE, TRUE, sizeof (AfAneIo));
  g_array_set_clear_func (a, af_ane_io_clear);
  return a;
}

/* The ports @key ("inputs" / "outputs") of segment @seg into @out. */
static gboolean
af_ane_ports_parse (const AfPlan *plan, JsonObject *seg, const char *key, GArray *out,
                    GError **error)
{
  JsonArray *ports = json_object_get_array_member (seg, key);
  for (guint i = 0; i < json_array_get_length (ports); i++) {
    AfAneIo io = { 0 };
    g_array_append_val (out, io);
    if (!af_ane_io_parse (plan, json_array_get_object_element (ports, i),
                          &g_array_index (out, AfAneIo, out->len - 1), error))
      return FALSE;
  }
  return TRUE;
}

/* The e5rt route for region @rdir; NULL (with @why set) when it refuses. */
static AfE5rtProgram *
af_ane_try_e5rt (AfAneProgram *p, const char *rdir, AfAneStage *s, char *why, gsize why_len)
{
  if (!p->rt) {
    g_strlcpy (why, p->rt_error, why_len);
    return NULL;
  }
  AfDevicePort in[16], out[16];
  for (guint i = 0; i < MIN (s->in->len, 16u); i++)
    in[i] = g_array_index (s->in, AfAneIo, i).port;
  for (guint i = 0; i < MIN (s->out->len, 16u); i++)
    out[i] = g_array_index (s->out, AfAneIo, i).port;
  char *mil = g_build_filename (rdir, "model.mil", NULL);
  char *cache = g_build_filename (rdir, "e5-cache", NULL);
  AfE5rtProgram *e =
      af_e5rt_program_new (p->rt, mil, cache, in, s->in->len, out, s->out->len, why, why_len);
  g_free (mil);
  g_free (cache);
  return e;
}

/* The Core ML route for region @name: the export's region package (every
 * port fp16 there, the image port included). */
static gboolean
af_ane_use_coreml (AfAneProgram *p, const char *name, AfAneStage *s, GError **error)
{
  /* a segmented export holds coreml/region-K.mlpackage; a one-region
   * export's coreml/ is the package itself (af_ane_export_coreml) */
  char *pkg = g_strdup_printf ("%s/coreml/%s.mlpackage", p->dir, name);
  if (!g_file_test (pkg, G_FILE_TEST_IS_DIR)) {
    g_free (pkg);
    pkg = g_build_filename (p->dir, "coreml", NULL);
  }
  AfDevicePort in[16], out[16];
  s->cm_in = g_new0 (guint16 *, MAX (s->in->len, 1));
  s->cm_out = g_new0 (guint16 *, MAX (s->out->len, 1));
  for (guint i = 0; i < MIN (s->in->len, 16u); i++) {
    AfAneIo *io = &g_array_index (s->in, AfAneIo, i);
    in[i] = io->port;
    s->cm_in[i] = g_new0 (guint16, io->rows * io->padded_row_elems);
  }
  for (guint i = 0; i < MIN (s->out->len, 16u); i++) {
    AfAneIo *io = &g_array_index (s->out, AfAneIo, i);
    out[i] = io->port;
    s->cm_out[i] = g_new0 (guint16, io->rows * io->padded_row_elems);
  }
  char err[512] = "";
  s->coreml = af_coreml_new (pkg, in, s->in->len, out, s->out->len, err, sizeof err);
  if (!s->coreml)
    g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED, "%s: %s", pkg, err);
  g_free (pkg);
  return s->coreml != NULL;
}

/* The plan's bridge segment whose step runs the node named @node. */
static gint
af_ane_plan_segment (const AfPlan *plan, const char *node)
{
  for (guint i = 0; i < plan->steps->len; i++) {
    const AfStep *st = &g_array_index (plan->steps, AfStep, i);
    const AfSegment *seg = &g_array_index (plan->segments, AfSegment, st->segment);
    if (seg->route == AF_ROUTE_BRIDGE && g_strcmp0 (st->node->name, node) == 0)
      return (gint) st->segment;
  }
  return -1;
}

/* A "host" segment of plan.json: the CPU backend's program for the plan's
 * segment holding its node. */
static AfAneStage *
af_ane_host_stage (const AfPlan *plan, const AfBackendOptions *opts, JsonObject *seg,
                   GError **error)
{
  const char *node = json_object_get_string_member (seg, "node");
  gint k = af_ane_plan_segment (plan, node);
  if (k < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED,
                 "ANE: host stage \"%s\" of the export is no bridge stage of the plan "
                 "(the two partitions differ)",
                 node);
    return NULL;
  }
  AfBackendOptions one = *opts;
  one.first_segment = (guint) k;
  one.n_segments = 1;
  AfAneStage *s = g_new0 (AfAneStage, 1);
  s->host = af_backend_cpu.compile (plan, &one, error);
  if (!s->host) {
    af_ane_stage_free (s);
    return NULL;
  }
  return s;
}

/* A "program" segment: e5rt first, Core ML when e5rt refuses. */
static AfAneStage *
af_ane_program_stage (AfAneProgram *p, JsonObject *seg, GError **error)
{
  AfAneStage *s = g_new0 (AfAneStage, 1);
  s->in = af_ane_io_array ();
  s->out = af_ane_io_array ();
  const char *name = json_object_get_string_member (seg, "dir");
  if (!af_ane_ports_parse (p->plan, seg, "inputs", s->in, error) ||
      !af_ane_ports_parse (p->plan, seg, "outputs", s->out, error))
    goto fail;
  if (s->in->len > 16 || s->out->len > 16) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED, "ANE: %s has more than 16 ports", name);
    goto fail;
  }
  char *rdir = g_build_filename (p->dir, name, NULL);
  char why[512] = "";
  s->e5rt = af_ane_try_e5rt (p, rdir, s, why, sizeof why);
  g_free (rdir);
  if (s->e5rt)
    g_debug ("ANE: %s: e5rt accepted", name); /* tools/mac-verify.sh reads both lines */
  else {
    g_message ("ANE: %s: e5rt refused (%s); trying Core ML", name, why);
    if (!af_ane_use_coreml (p, name, s, error))
      goto fail;
  }
  return s;
fail:
  af_ane_stage_free (s);
  return NULL;
}

/* Reads the export's plan.json into @p's stages. */
static gboolean
af_ane_stages_build (AfAneProgram *p, const AfBackendOptions *opts, GError **error)
{
  char *path = g_build_filename (p->dir, "plan.json", NULL);
  JsonParser *parser = json_parser_new ();
  gboolean ok = json_parser_load_from_file (parser, path, error);
  g_free (path);
  JsonArray *segs = ok ? json_object_get_array_member (
                             json_node_get_object (json_parser_get_root (parser)), "segments")
                       : NULL;
  for (guint i = 0; ok && i < json_array_get_length (segs); i++) {
    JsonObject *seg = json_array_get_object_element (segs, i);
    gboolean host = g_strcmp0 (json_object_get_string_member (seg, "kind"), "host") == 0;
    AfAneStage *s =
        host ? af_ane_host_stage (p->plan, opts, seg, error) : af_ane_program_stage (p, seg, error);
    ok = s != NULL;
    if (s)
      g_ptr_array_add (p->stages, s);
  }
  g_object_unref (parser);
  return ok;
}

/* The whole plan (the ANE runs every segment: opts must name them all). */
static AfProgram *
af_ane_compile (const AfPlan *plan, const AfBackendOptions *opts, GError **error)
{
  AfAneProgram *p = g_new0 (AfAneProgram, 1);
  p->plan = plan;
  p->stages = g_ptr_array_new_with_free_func (af_ane_stage_free);
  p->dir = g_dir_make_tmp ("aneforge-ane-XXXXXX", error);
  if (!p->dir)
    goto fail;
  char *coreml = g_build_filename (p->dir, "coreml", NULL);
  gboolean ok = af_ane_export (plan->graph, p->dir, AF_ANE_DIALECT_IOS18, error) &&
                af_ane_export_coreml (plan->graph, coreml, AF_ANE_DIALECT_IOS18, error);
  g_free (coreml);
  if (!ok)
    goto fail;
  p->rt = af_e5rt_open (p->rt_error, sizeof p->rt_error);
  if (!af_ane_stages_build (p, opts, error))
    goto fail;
  return (AfProgram *) p;
fail:
  af_ane_release ((AfProgram *) p);
  return NULL;
}

/* ---------------------------------------------------------------- run */

static gboolean
af_ane_bind (AfProgram *program, guint8 *arena, GError **error)
{
  AfAneProgram *p = (AfAneProgram *) program;
  p->arena = arena;
  for (guint i = 0; i < p->stages->len; i++) {
    AfAneStage *s = g_ptr_array_index (p->stages, i);
    if (s->host && !af_backend_cpu.bind (s->host, arena, error))
      return FALSE;
  }
  return TRUE;
}

/* Where @io's value lives in the arena: an image port's uint8 pixels, or
 * its fp16 slot. */
static guint8 *
af_ane_arena_at (AfAneProgram *p, const AfAneIo *io)
{
  gsize port = p->plan->port[io->value->index];
  return p->arena + (io->u8 && port != AF_NO_SLOT ? port : p->plan->offset[io->value->index]);
}

/* Rows of @elem bytes: @n_rows of @src_row elements into rows of @dst_row
 * elements (the padding is never written: it stays as bound, zero). */
static void
af_copy_rows (guint8 *dst, gsize dst_row, const guint8 *src, gsize src_row, gsize n_rows,
              gsize cols, gsize elem)
{
  for (gsize r = 0; r < n_rows; r++)
    memcpy (dst + r * dst_row * elem, src + r * src_row * elem, cols * elem);
}

static gboolean
af_ane_run_e5rt (AfAneProgram *p, AfAneStage *s, GError **error)
{
  for (guint i = 0; i < s->in->len; i++) {
    AfAneIo *io = &g_array_index (s->in, AfAneIo, i);
    af_copy_rows (af_e5rt_program_input (s->e5rt, i), io->padded_row_elems, af_ane_arena_at (p, io),
                  io->row_elems, io->rows, io->row_elems, io->u8 ? 1 : 2);
  }
  char err[512];
  if (af_e5rt_program_execute (s->e5rt, err, sizeof err)) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED, "ANE: %s", err);
    return FALSE;
  }
  for (guint i = 0; i < s->out->len; i++) {
    AfAneIo *io = &g_array_index (s->out, AfAneIo, i);
    af_copy_rows (af_ane_arena_at (p, io), io->row_elems, af_e5rt_program_output (s->e5rt, i),
                  io->padded_row_elems, io->rows, io->row_elems, 2);
  }
  return TRUE;
}

/* Core ML's ports are fp16 throughout: an image port's pixels widen here. */
static void
af_ane_stage_coreml_input (AfAneProgram *p, AfAneIo *io, guint16 *dst)
{
  const guint8 *src = af_ane_arena_at (p, io);
  if (!io->u8) {
    af_copy_rows ((guint8 *) dst, io->padded_row_elems, src, io->row_elems, io->rows, io->row_elems,
                  2);
    return;
  }
  for (gsize r = 0; r < io->rows; r++)
    for (gsize x = 0; x < io->row_elems; x++)
      dst[r * io->padded_row_elems + x] = af_f32_to_fp16 (src[r * io->row_elems + x]);
}

static gboolean
af_ane_run_coreml (AfAneProgram *p, AfAneStage *s, GError **error)
{
  for (guint i = 0; i < s->in->len; i++)
    af_ane_stage_coreml_input (p, &g_array_index (s->in, AfAneIo, i), s->cm_in[i]);
  char err[512];
  if (af_coreml_predict (s->coreml, (const uint16_t *const *) s->cm_in, s->cm_out, err,
                         sizeof err)) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED, "Core ML: %s", err);
    return FALSE;
  }
  for (guint i = 0; i < s->out->len; i++) {
    AfAneIo *io = &g_array_index (s->out, AfAneIo, i);
    af_copy_rows (af_ane_arena_at (p, io), io->row_elems, (const guint8 *) s->cm_out[i],
                  io->padded_row_elems, io->rows, io->row_elems, 2);
  }
  return TRUE;
}

static gboolean
af_ane_execute (AfProgram *program, GError **error)
{
  AfAneProgram *p = (AfAneProgram *) program;
  for (guint i = 0; i < p->stages->len; i++) {
    AfAneStage *s = g_ptr_array_index (p->stages, i);
    gboolean ok = s->host   ? af_backend_cpu.execute (s->host, error)
                  : s->e5rt ? af_ane_run_e5rt (p, s, error)
                            : af_ane_run_coreml (p, s, error);
    if (!ok)
      return FALSE;
  }
  return TRUE;
}

/* On Apple silicon: always (a route that refuses a program fails at
 * compile, naming the e5rt / Core ML error). */
static gboolean
af_ane_available (const char **why)
{
#if defined(__aarch64__)
  *why = NULL;
  return TRUE;
#else
  *why = "the ANE backend needs Apple silicon; this Mac is Intel (use backend=cpu or auto)";
  return FALSE;
#endif
}

const AfBackend af_backend_ane = {
  .name = "ane",
  .caps = &af_cpu_caps, /* its host stages run the CPU kernels; the export partitions itself */
  .available = af_ane_available,
  .compile = af_ane_compile,
  .bind = af_ane_bind,
  .execute = af_ane_execute,
  .release = af_ane_release,
};
