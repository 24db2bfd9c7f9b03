/* json-check.h — JSON checks shared by the graph loader (loader.c) and the
 * decoders' spec parser (decode/spec-json.c): the "got ..." spelling of a
 * node's kind and the check that an object has only the fields its reader
 * takes. Messages are built by the callers, which know the file and field
 * prefix to name. */
#ifndef AF_JSON_CHECK_H
#define AF_JSON_CHECK_H

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* "an object", "an array", "null", "a string", "an integer", "a number",
 * "a boolean" or "a value" for @node (NULL: "null"); static. */
const char *af__json_kind (JsonNode *node);

/* TRUE if @node is an integer or a floating-point JSON number. */
gboolean af__json_is_number (JsonNode *node);

/* The first member of @obj (in json-glib's member order) that is not in the
 * NULL-terminated @allowed, borrowed from @obj; NULL if all are allowed. */
const char *af__json_unknown_field (JsonObject *obj, const char *const *allowed);

G_END_DECLS

#endif /* AF_JSON_CHECK_H */
