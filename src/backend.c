/* backend.c — the backend registry: every backend this library knows, by
 * name, and which one AF_BACKEND_AUTO means on this machine. The one place
 * in the core that names backends; it reaches them through their vtables
 * only (backend.h). */
#include "backend.h"

#include <string.h>

static const AfBackend *const af_backends[] = {
  &af_backend_cpu,
  &af_backend_ane,
  &af_backend_ane_sim,
};

/* AF_BACKEND_AUTO: the first of these this machine can run. */
static const char *const af_auto_order[] = { "ane", "cpu" };

static const AfBackend *
af_backend_find (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (af_backends); i++)
    if (strcmp (af_backends[i]->name, name) == 0)
      return af_backends[i];
  return NULL;
}

const AfBackend *
af_backend_lookup (const char *name, GError **error)
{
  g_return_val_if_fail (name, NULL);
  const AfBackend *b = af_backend_find (name);
  if (!b) {
    g_autoptr (GString) known = g_string_new (NULL);
    for (guint i = 0; i < G_N_ELEMENTS (af_backends); i++)
      g_string_append_printf (known, "%s%s", i ? ", " : "", af_backends[i]->name);
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID, "unknown backend \"%s\" (known: %s)", name,
                 known->str);
    return NULL;
  }
  const char *why = NULL;
  if (!b->available (&why)) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNSUPPORTED, "backend \"%s\" is not available: %s",
                 b->name, why);
    return NULL;
  }
  return b;
}

const AfBackend *
af_backend_auto (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (af_auto_order); i++) {
    const AfBackend *b = af_backend_find (af_auto_order[i]);
    const char *why = NULL;
    if (b->available (&why))
      return b;
  }
  g_assert_not_reached (); /* the CPU backend is always available */
}
