/* targets.c — the chip table of targets.def as lookups: a target's family,
 * limits, cost curve and the analytic roofline the seed's cost model
 * derives for it (aneforge/_cost.py as ANCHORS.md §6.2-6.3 states it):
 *
 *   anchor   the measured chip of the target's tier: family >= 5 -> h17s,
 *            3..4 -> h14 (A15 has no silicon anchor), else h13;
 *   floor    anchor floor x anchor fmax / fmax  (setup runs at engine clock)
 *   BW       anchor BW x cores / anchor cores   (more cores widen the DMA)
 *   peak     anchor peak x scale / anchor scale, scale = cores x eff clock
 *   util F   anchor F x the same ratio
 *   project_peak = 1.8 TFLOP/s (M1 measured) x scale / M1's scale. */
#include "targets.h"

#include <string.h>
#ifdef __APPLE__
#include <sys/sysctl.h>
#endif

typedef struct {
  int id;
  const char *name;
  gint64 max_dim, channel, transpose, kw, reduction;
  guint streams;
} AfFamilyRow;

static const AfFamilyRow af_families[] = {
#define AF_FAMILY(id, name, md, ch, tr, kw, red, st) { id, name, md, ch, tr, kw, red, st },
#include "targets.def"
};

static const AfCurveRow af_curves[] = {
#define AF_CURVE(name, cores, fmax, eff, pp, rel, fl, bw, pk)                                      \
  { name, cores, fmax, eff, pp, rel, fl, bw, pk },
#include "targets.def"
};

typedef struct {
  const char *arch;
  double bw_gbs, floor_us, peak_tflops, util_flops, util_q;
} AfAnchorRow;

static const AfAnchorRow af_anchors[] = {
#define AF_ANCHOR(arch, bw, fl, pk, uf, uq) { arch, bw, fl, pk, uf, uq },
#include "targets.def"
};

typedef struct {
  const char *name;
  int family;
  const char *curve;
} AfTargetRow;

static const AfTargetRow af_targets[] = {
#define AF_TARGET(name, family, curve) { name, family, curve },
#include "targets.def"
};

static const struct {
  const char *alias, *arch;
} af_aliases[] = {
#define AF_ALIAS(alias, arch) { alias, arch },
#include "targets.def"
};

enum {
#define AF_CONSTANT(id, value) AF_K_##id,
#include "targets.def"
  AF_K_COUNT
};
static const double af_constants[AF_K_COUNT] = {
#define AF_CONSTANT(id, value) value,
#include "targets.def"
};

double
af__target_floor_bound_ratio (void)
{
  return af_constants[AF_K_FLOOR_BOUND_RATIO];
}

guint
af_target_count (void)
{
  return G_N_ELEMENTS (af_targets);
}

const char *
af_target_name (guint i)
{
  g_return_val_if_fail (i < G_N_ELEMENTS (af_targets), NULL);
  return af_targets[i].name;
}

guint
af__curve_count (void)
{
  return G_N_ELEMENTS (af_curves);
}

const AfCurveRow *
af__curve_row (guint i)
{
  return i < G_N_ELEMENTS (af_curves) ? &af_curves[i] : NULL;
}

static const AfCurveRow *
af_curve_find (const char *name)
{
  for (guint i = 0; name && i < G_N_ELEMENTS (af_curves); i++)
    if (strcmp (af_curves[i].name, name) == 0)
      return &af_curves[i];
  return NULL;
}

static const AfTargetRow *
af_target_find (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (af_targets); i++)
    if (g_ascii_strcasecmp (af_targets[i].name, name) == 0)
      return &af_targets[i];
  for (guint i = 0; i < G_N_ELEMENTS (af_aliases); i++)
    if (g_ascii_strcasecmp (af_aliases[i].alias, name) == 0)
      return af_target_find (af_aliases[i].arch);
  return NULL;
}

static const AfFamilyRow *
af_family (int id)
{
  for (guint i = 0; i < G_N_ELEMENTS (af_families); i++)
    if (af_families[i].id == id)
      return &af_families[i];
  g_assert_not_reached (); /* targets.def names only its families */
}

static const AfAnchorRow *
af_anchor (const char *arch)
{
  for (guint i = 0; i < G_N_ELEMENTS (af_anchors); i++)
    if (strcmp (af_anchors[i].arch, arch) == 0)
      return &af_anchors[i];
  g_assert_not_reached ();
}

/* The seed's _anchor_for_arch: a measured chip is its own anchor; else A16
 * and later scale from h17s, A14/A15 from h14, the rest from h13. */
static const char *
af_anchor_for (const AfTargetRow *t)
{
  for (guint i = 0; i < G_N_ELEMENTS (af_anchors); i++)
    if (strcmp (af_anchors[i].arch, t->name) == 0)
      return t->name;
  return t->family >= 5 ? "h17s" : t->family >= 3 ? "h14" : "h13";
}

/* The anchor's family owns silicon: the seed's estimate_provenance. */
static gboolean
af_family_measured (int family)
{
  for (guint i = 0; i < G_N_ELEMENTS (af_anchors); i++)
    if (af_target_find (af_anchors[i].arch)->family == family)
      return TRUE;
  return FALSE;
}

static double
af_scale (const AfCurveRow *c)
{
  return c->cores * c->eff_mhz;
}

/* Fills @t's analytic roofline from its curve and anchor. */
static void
af_target_roofline (AfTarget *t, const AfTargetRow *row)
{
  const AfCurveRow *c = af_curve_find (row->curve);
  const AfAnchorRow *a = af_anchor (af_anchor_for (row));
  const AfCurveRow *ac = af_curve_find (af_target_find (a->arch)->curve);
  const AfCurveRow *m1 = af_curve_find (af_target_find ("h13")->curve);
  t->anchor = a->arch;
  t->provenance = af_family_measured (row->family) ? AF_PROVENANCE_ANCHOR : AF_PROVENANCE_ANALYTIC;
  t->cut_us = af_constants[AF_K_ANALYTIC_CUT_US];
  if (!c)
    return;
  double ratio = af_scale (c) / af_scale (ac);
  t->curve = c->name;
  t->cores = c->cores;
  t->ghz = af_constants[AF_K_CLOCK_FRACTION] * c->fmax_mhz / 1000.0;
  t->rel_m1 = af_scale (c) / af_scale (m1);
  t->project_peak_tflops = af_constants[AF_K_M1_MEASURED_PEAK_TFLOPS] * t->rel_m1;
  t->floor_us = a->floor_us * ac->fmax_mhz / c->fmax_mhz;
  t->bw_gbs = a->bw_gbs * c->cores / ac->cores;
  t->peak_tflops = a->peak_tflops * ratio;
  t->util_flops = a->util_flops * ratio;
  t->util_q = a->util_q;
}

static void
af_target_fill (AfTarget *t, const AfTargetRow *row)
{
  const AfFamilyRow *f = af_family (row->family);
  memset (t, 0, sizeof *t);
  t->name = row->name;
  t->family = row->family;
  t->family_name = f->name;
  t->max_tensor_dim = f->max_dim;
  t->channel_extent = f->channel;
  t->transpose_extent = f->transpose;
  t->conv_kw_max = f->kw;
  t->reduction_transpose_extent = f->reduction;
  t->streams = f->streams;
  af_target_roofline (t, row);
}

/* The M5 Pro's measured fit: h17s's chip with the ane_cost_model.json
 * constants (ANCHORS.md §6.3). */
static void
af_target_measured (AfTarget *t)
{
  af_target_fill (t, af_target_find ("h17s"));
  t->name = "m5-measured";
  t->anchor = "m5-measured";
  t->provenance = AF_PROVENANCE_MEASURED;
  t->floor_us = af_constants[AF_K_MEASURED_FLOOR_US];
  t->bw_gbs = af_constants[AF_K_MEASURED_BW_BYTES_PER_US] / 1e3;
  t->peak_tflops = af_constants[AF_K_MEASURED_FLOPS_PER_US] / 1e6;
  t->util_flops = t->util_q = 0;
  t->cut_us = af_constants[AF_K_MEASURED_CUT_US];
}

/* This machine's chip as a brand alias ("m1" .. "m5"), else NULL with
 * @brand (transfer full) what the host calls itself. */
static const char *
af_host_chip (char **brand)
{
  *brand = NULL;
#ifdef __APPLE__
  char buf[128] = "";
  size_t len = sizeof buf - 1;
  if (sysctlbyname ("machdep.cpu.brand_string", buf, &len, NULL, 0) == 0) {
    *brand = g_strdup (buf);
    const char *m = strstr (buf, "Apple M");
    if (m && m[7] >= '1' && m[7] <= '5' && !g_ascii_isdigit (m[8])) {
      static const char *const alias[] = { "m1", "m2", "m3", "m4", "m5" };
      return alias[m[7] - '1'];
    }
  }
#endif
  return NULL;
}

void
af_target_resolve (const char *name, AfTarget *t, char **warning)
{
  g_return_if_fail (t && warning);
  *warning = NULL;
  if (!name || g_ascii_strcasecmp (name, "host") == 0) {
    const char *env = g_getenv ("ANEFORGE_TARGET");
    g_autofree char *brand = NULL;
    const char *chip = env && *env ? env : af_host_chip (&brand);
    if (!chip) {
      *warning = g_strdup_printf ("ANE family not measured for %s; assuming the conservative "
                                  "floor (family 2/h13). Set ANEFORGE_TARGET or --target (e.g. "
                                  "h16s) for this chip's real capabilities",
                                  brand ? brand : "this host (not an Apple M1-M5)");
      af_target_fill (t, af_target_find ("h13"));
      return;
    }
    name = chip;
  }
  if (g_ascii_strcasecmp (name, "m5-measured") == 0) {
    af_target_measured (t);
    return;
  }
  const AfTargetRow *row = af_target_find (name);
  if (row && row->family != 0) {
    af_target_fill (t, row);
    return;
  }
  *warning = g_strdup_printf (row ? "ANE target \"%s\" is a compiler reference target of no "
                                    "family; assuming the conservative floor (family 2/h13)"
                                  : "unknown ANE target \"%s\"; assuming the conservative "
                                    "floor (family 2/h13)",
                              name);
  af_target_fill (t, af_target_find ("h13"));
}
