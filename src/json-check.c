/* json-check.c — JSON kind names and the unknown-field check shared by the
 * loader and the decoders. */
#include "json-check.h"

#include <string.h>

const char *
af__json_kind (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return "null";
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "an array";
  GType t = json_node_get_value_type (node);
  if (t == G_TYPE_STRING)
    return "a string";
  if (t == G_TYPE_INT64)
    return "an integer";
  if (t == G_TYPE_DOUBLE)
    return "a number";
  if (t == G_TYPE_BOOLEAN)
    return "a boolean";
  return "a value";
}

gboolean
af__json_is_number (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  GType t = json_node_get_value_type (node);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

const char *
af__json_unknown_field (JsonObject *obj, const char *const *allowed)
{
  GList *members = json_object_get_members (obj);
  const char *bad = NULL;
  for (GList *l = members; l != NULL && bad == NULL; l = l->next) {
    gboolean known = FALSE;
    for (int i = 0; allowed[i] != NULL && !known; i++)
      known = strcmp (allowed[i], l->data) == 0;
    if (!known)
      bad = l->data; /* the member names belong to @obj */
  }
  g_list_free (members);
  return bad;
}
