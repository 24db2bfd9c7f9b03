/* safetensors.c — reads and writes safetensors weight files. The reader
 * checks every field of a hostile file: header length, JSON syntax, dtypes,
 * shapes against the loader's limits, data offsets inside the data section
 * (overflow-checked), sizes and overlaps. */
#include "safetensors.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void
af__st_tensor_free (AfStTensor *t)
{
  if (!t)
    return;
  g_free (t->name);
  g_clear_pointer (&t->bytes, g_bytes_unref);
  g_free (t);
}

gboolean
af__dtype_from_name (const char *name, AfDType *out)
{
  static const struct {
    const char *name;
    AfDType dtype;
  } table[] = {
    { "F32", AF_DTYPE_F32 },
    { "F16", AF_DTYPE_F16 },
    { "I8", AF_DTYPE_I8 },
    { "U8", AF_DTYPE_U8 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    if (strcmp (table[i].name, name) == 0) {
      *out = table[i].dtype;
      return TRUE;
    }
  return FALSE;
}

gboolean
af__json_depth_ok (const char *data, gsize len, int max_depth)
{
  int depth = 0;
  gboolean in_string = FALSE, escape = FALSE;
  for (gsize i = 0; i < len; i++) {
    char c = data[i];
    if (in_string) {
      if (escape)
        escape = FALSE;
      else if (c == '\\')
        escape = TRUE;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return FALSE;
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
  return TRUE;
}

/* ---------------------------------------------------------------- reader */

typedef struct {
  const char *file;   /* for messages */
  const guint8 *data; /* the data section */
  guint64 data_len;
  GBytes *owner;
} AfStReader;

static gboolean
af_st_json_int (JsonNode *node, gint64 *out)
{
  if (!node || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

static gboolean
af_st_parse_shape (AfStReader *r, const char *name, JsonNode *node, AfShape *shape, GError **error)
{
  if (!node || !JSON_NODE_HOLDS_ARRAY (node)) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                 "%s: tensor \"%s\": field \"shape\": expected an array of integers", r->file,
                 name);
    return FALSE;
  }
  JsonArray *a = json_node_get_array (node);
  guint rank = json_array_get_length (a);
  if (rank > AF_MAX_RANK) {
    g_set_error (error, AF_ERROR, AF_ERROR_LIMIT,
                 "%s: tensor \"%s\": field \"shape\": rank %u is above the limit of %d", r->file,
                 name, rank, AF_MAX_RANK);
    return FALSE;
  }
  shape->rank = rank;
  for (guint i = 0; i < rank; i++) {
    gint64 d;
    if (!af_st_json_int (json_array_get_element (a, i), &d)) {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                   "%s: tensor \"%s\": field \"shape\": dim %u is not an integer", r->file, name,
                   i);
      return FALSE;
    }
    if (d < 0) {
      g_set_error (error, AF_ERROR, AF_ERROR_WEIGHTS,
                   "%s: tensor \"%s\": field \"shape\": dim %u = %" G_GINT64_FORMAT " is negative",
                   r->file, name, i, d);
      return FALSE;
    }
    if (d > AF_MAX_DIM) {
      g_set_error (error, AF_ERROR, AF_ERROR_LIMIT,
                   "%s: tensor \"%s\": field \"shape\": dim %u = %" G_GINT64_FORMAT
                   " is above the limit of %" G_GINT64_FORMAT,
                   r->file, name, i, d, AF_MAX_DIM);
      return FALSE;
    }
    shape->d[i] = d;
  }
  gint64 numel = 1;
  for (guint i = 0; i < rank; i++) {
    if (shape->d[i] && numel > AF_MAX_NUMEL / shape->d[i]) {
      char *s = af__shape_str (shape);
      g_set_error (error, AF_ERROR, AF_ERROR_LIMIT,
                   "%s: tensor \"%s\": field \"shape\": %s has more than %" G_GINT64_FORMAT
                   " elements",
                   r->file, name, s, AF_MAX_NUMEL);
      g_free (s);
      return FALSE;
    }
    numel *= shape->d[i];
  }
  return TRUE;
}

static gboolean
af_st_parse_offsets (AfStReader *r, const char *name, JsonNode *node, guint64 *begin, guint64 *end,
                     GError **error)
{
  gint64 b, e;
  if (!node || !JSON_NODE_HOLDS_ARRAY (node) ||
      json_array_get_length (json_node_get_array (node)) != 2 ||
      !af_st_json_int (json_array_get_element (json_node_get_array (node), 0), &b) ||
      !af_st_json_int (json_array_get_element (json_node_get_array (node), 1), &e)) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                 "%s: tensor \"%s\": field \"data_offsets\": expected [begin, end] integers",
                 r->file, name);
    return FALSE;
  }
  if (b < 0 || e < b || (guint64) e > r->data_len) {
    g_set_error (error, AF_ERROR, AF_ERROR_WEIGHTS,
                 "%s: tensor \"%s\": data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                 "] outside the data section (%" G_GUINT64_FORMAT " bytes)",
                 r->file, name, b, e, r->data_len);
    return FALSE;
  }
  *begin = b;
  *end = e;
  return TRUE;
}

typedef struct {
  AfStTensor *t;
  guint64 begin, end;
} AfStSpan;

static int
af_st_span_cmp (gconstpointer a, gconstpointer b)
{
  const AfStSpan *x = a, *y = b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* Parses one header entry into a tensor (data not attached yet). */
static AfStTensor *
af_st_parse_entry (AfStReader *r, const char *name, JsonNode *node, AfStSpan *span, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                 "%s: tensor \"%s\": expected an object {\"dtype\", \"shape\", \"data_offsets\"}",
                 r->file, name);
    return NULL;
  }
  JsonObject *o = json_node_get_object (node);
  JsonNode *dt = json_object_get_member (o, "dtype");
  if (!dt || !JSON_NODE_HOLDS_VALUE (dt) || json_node_get_value_type (dt) != G_TYPE_STRING) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                 "%s: tensor \"%s\": field \"dtype\": expected a string", r->file, name);
    return NULL;
  }
  AfStTensor *t = g_new0 (AfStTensor, 1);
  t->name = g_strdup (name);
  const char *dts = json_node_get_string (dt);
  if (!af__dtype_from_name (dts, &t->dtype)) {
    g_set_error (error, AF_ERROR, AF_ERROR_WEIGHTS,
                 "%s: tensor \"%s\": dtype \"%s\" is not supported (accepted: F32, F16, I8, U8)",
                 r->file, name, dts);
    goto fail;
  }
  if (!af_st_parse_shape (r, name, json_object_get_member (o, "shape"), &t->shape, error) ||
      !af_st_parse_offsets (r, name, json_object_get_member (o, "data_offsets"), &span->begin,
                            &span->end, error))
    goto fail;
  guint64 need;
  if (__builtin_mul_overflow ((guint64) af__shape_numel (&t->shape),
                              (guint64) af__dtype_size (t->dtype), &need) ||
      need != span->end - span->begin) {
    char *s = af__shape_str (&t->shape);
    g_set_error (error, AF_ERROR, AF_ERROR_WEIGHTS,
                 "%s: tensor \"%s\": data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                 "] hold %" G_GUINT64_FORMAT
                 " bytes, but dtype %s and shape %s need %" G_GUINT64_FORMAT,
                 r->file, name, span->begin, span->end, span->end - span->begin,
                 af__dtype_name (t->dtype), s, need);
    g_free (s);
    goto fail;
  }
  span->t = t;
  return t;

fail:
  af__st_tensor_free (t);
  return NULL;
}

/* Points every tensor at its data: into @owner if aligned, else a copy. */
static void
af_st_attach_data (AfStReader *r, AfStSpan *span)
{
  AfStTensor *t = span->t;
  const guint8 *p = r->data + span->begin;
  gsize n = span->end - span->begin;
  gsize align = af__dtype_size (t->dtype);
  if (r->owner && n && ((uintptr_t) p % align) == 0) {
    t->bytes = g_bytes_ref (r->owner);
    t->data = p;
  } else {
    t->bytes = g_bytes_new (n ? p : NULL, n);
    t->data = g_bytes_get_data (t->bytes, NULL);
  }
}

static int
af_st_name_cmp (gconstpointer a, gconstpointer b)
{
  const AfStTensor *x = *(AfStTensor *const *) a, *y = *(AfStTensor *const *) b;
  return strcmp (x->name, y->name);
}

/* Checks the spans (sorted by begin) do not overlap. */
static gboolean
af_st_check_overlap (AfStReader *r, GArray *spans, GError **error)
{
  AfStSpan *a = NULL; /* the previous non-empty span */
  for (guint i = 0; i < spans->len; i++) {
    AfStSpan *b = &g_array_index (spans, AfStSpan, i);
    if (b->begin == b->end)
      continue;
    if (a && b->begin < a->end) {
      g_set_error (error, AF_ERROR, AF_ERROR_WEIGHTS,
                   "%s: tensor \"%s\": data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                   "] overlap tensor \"%s\" [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "]",
                   r->file, b->t->name, b->begin, b->end, a->t->name, a->begin, a->end);
      return FALSE;
    }
    a = b;
  }
  return TRUE;
}

static JsonObject *
af_st_parse_header (const char *file, const guint8 *data, gsize len, guint64 *header_len,
                    JsonParser **parser_out, GError **error)
{
  if (len < 8) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                 "%s: truncated: %" G_GSIZE_FORMAT " bytes, a safetensors file starts with an "
                 "8-byte header length",
                 file, len);
    return NULL;
  }
  guint64 n = 0;
  for (int i = 7; i >= 0; i--)
    n = (n << 8) | data[i];
  if (n > AF_SAFETENSORS_MAX_HEADER) {
    g_set_error (error, AF_ERROR, AF_ERROR_LIMIT,
                 "%s: header length %" G_GUINT64_FORMAT " is above the limit of %" G_GUINT64_FORMAT
                 " bytes",
                 file, n, AF_SAFETENSORS_MAX_HEADER);
    return NULL;
  }
  if (n > len - 8) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                 "%s: truncated: header length %" G_GUINT64_FORMAT " but only %" G_GSIZE_FORMAT
                 " bytes follow",
                 file, n, len - 8);
    return NULL;
  }
  const char *header = (const char *) data + 8;
  if (!af__json_depth_ok (header, n, AF_JSON_MAX_DEPTH)) {
    g_set_error (error, AF_ERROR, AF_ERROR_LIMIT, "%s: header: JSON nested deeper than %d levels",
                 file, AF_JSON_MAX_DEPTH);
    return NULL;
  }
  JsonParser *parser = json_parser_new_immutable ();
  GError *local = NULL;
  if (n == 0 || !json_parser_load_from_data (parser, header, n, &local)) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE, "%s: header is not valid JSON: %s", file,
                 local ? local->message : "empty header");
    g_clear_error (&local);
    g_object_unref (parser);
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE, "%s: header: expected a JSON object", file);
    g_object_unref (parser);
    return NULL;
  }
  *header_len = n;
  *parser_out = parser;
  return json_node_get_object (root);
}

GPtrArray *
af__safetensors_parse (const guint8 *data, gsize len, const char *name_for_errors, GBytes *owner,
                       GError **error)
{
  const char *file = name_for_errors ? name_for_errors : "safetensors";
  JsonParser *parser = NULL;
  guint64 header_len = 0;
  JsonObject *root = af_st_parse_header (file, data, len, &header_len, &parser, error);
  if (!root)
    return NULL;

  AfStReader r = { file, data + 8 + header_len, len - 8 - header_len, owner };
  GPtrArray *tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) af__st_tensor_free);
  GArray *spans = g_array_new (FALSE, TRUE, sizeof (AfStSpan));
  GList *members = json_object_get_members (root);
  gboolean ok = TRUE;
  if (json_object_get_size (root) > AF_MAX_NODES) {
    g_set_error (error, AF_ERROR, AF_ERROR_LIMIT, "%s: %u tensors, above the limit of %d", file,
                 json_object_get_size (root), AF_MAX_NODES);
    ok = FALSE;
  }
  for (GList *l = members; l && ok; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member (root, name);
    if (strcmp (name, "__metadata__") == 0) {
      if (!JSON_NODE_HOLDS_OBJECT (node)) {
        g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                     "%s: field \"__metadata__\": expected an object", file);
        ok = FALSE;
      }
      continue;
    }
    AfStSpan span = { 0 };
    AfStTensor *t = af_st_parse_entry (&r, name, node, &span, error);
    if (!t) {
      ok = FALSE;
      break;
    }
    g_ptr_array_add (tensors, t);
    g_array_append_val (spans, span);
  }
  g_list_free (members);
  if (ok) {
    g_array_sort (spans, af_st_span_cmp);
    ok = af_st_check_overlap (&r, spans, error);
  }
  if (ok) {
    for (guint i = 0; i < spans->len; i++)
      af_st_attach_data (&r, &g_array_index (spans, AfStSpan, i));
    g_ptr_array_sort (tensors, af_st_name_cmp);
  }
  g_array_unref (spans);
  g_object_unref (parser);
  if (!ok)
    g_clear_pointer (&tensors, g_ptr_array_unref);
  return tensors;
}

GPtrArray *
af__safetensors_load (const char *path, GError **error)
{
  GStatBuf st;
  if (g_stat (path, &st) != 0) {
    int e = errno;
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: cannot open the weights file: %s", path,
                 g_strerror (e));
    return NULL;
  }
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: the weights file is not a regular file", path);
    return NULL;
  }
  GError *local = NULL;
  GMappedFile *mf = g_mapped_file_new (path, FALSE, &local);
  if (!mf) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: cannot map the weights file: %s", path,
                 local->message);
    g_error_free (local);
    return NULL;
  }
  GBytes *bytes = g_mapped_file_get_bytes (mf);
  g_mapped_file_unref (mf);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  GPtrArray *tensors = af__safetensors_parse (data, len, path, bytes, error);
  g_bytes_unref (bytes);
  return tensors;
}

/* ---------------------------------------------------------------- writer */

static int
af_st_const_name_cmp (gconstpointer a, gconstpointer b)
{
  const AfTensor *x = *(AfTensor *const *) a, *y = *(AfTensor *const *) b;
  return strcmp (x->name, y->name);
}

/* Larger dtypes first, then by name: each tensor stays aligned, no holes. */
static int
af_st_const_layout_cmp (gconstpointer a, gconstpointer b)
{
  const AfTensor *x = *(AfTensor *const *) a, *y = *(AfTensor *const *) b;
  gsize sx = af__dtype_size (x->dtype), sy = af__dtype_size (y->dtype);
  if (sx != sy)
    return sx > sy ? -1 : 1;
  return strcmp (x->name, y->name);
}

gboolean
af__safetensors_write (const char *path, GPtrArray *consts, GError **error)
{
  guint n = consts->len;
  g_autoptr (GPtrArray) by_name = g_ptr_array_new ();
  g_autoptr (GPtrArray) layout = g_ptr_array_new ();
  for (guint i = 0; i < n; i++) {
    g_ptr_array_add (by_name, g_ptr_array_index (consts, i));
    g_ptr_array_add (layout, g_ptr_array_index (consts, i));
  }
  g_ptr_array_sort (by_name, af_st_const_name_cmp);
  g_ptr_array_sort (layout, af_st_const_layout_cmp);

  GHashTable *begin = g_hash_table_new (NULL, NULL); /* AfTensor* -> offset + 1 */
  guint64 off = 0;
  for (guint i = 0; i < n; i++) {
    AfTensor *t = g_ptr_array_index (layout, i);
    g_hash_table_insert (begin, t, GSIZE_TO_POINTER (off + 1));
    off += af__shape_numel (&t->shape) * af__dtype_size (t->dtype);
  }
  guint64 data_len = off;

  JsonBuilder *b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "__metadata__");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "producer");
  json_builder_add_string_value (b, "aneforge");
  json_builder_end_object (b);
  for (guint i = 0; i < n; i++) {
    AfTensor *t = g_ptr_array_index (by_name, i);
    guint64 o = GPOINTER_TO_SIZE (g_hash_table_lookup (begin, t)) - 1;
    json_builder_set_member_name (b, t->name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, af__dtype_name (t->dtype));
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (int d = 0; d < t->shape.rank; d++)
      json_builder_add_int_value (b, t->shape.d[d]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "data_offsets");
    json_builder_begin_array (b);
    json_builder_add_int_value (b, o);
    json_builder_add_int_value (b, o + af__shape_numel (&t->shape) * af__dtype_size (t->dtype));
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
  JsonNode *root = json_builder_get_root (b);
  JsonGenerator *gen = json_generator_new ();
  json_generator_set_root (gen, root);
  gsize hlen = 0;
  char *header = json_generator_to_data (gen, &hlen);
  g_object_unref (gen);
  json_node_unref (root);
  g_object_unref (b);

  guint64 padded = (hlen + 8 + 7) / 8 * 8 - 8;
  GByteArray *out = g_byte_array_sized_new (8 + padded + data_len);
  guint8 lenbuf[8];
  for (int i = 0; i < 8; i++)
    lenbuf[i] = (padded >> (8 * i)) & 0xff;
  g_byte_array_append (out, lenbuf, 8);
  g_byte_array_append (out, (const guint8 *) header, hlen);
  for (guint64 i = hlen; i < padded; i++)
    g_byte_array_append (out, (const guint8 *) " ", 1);
  g_free (header);
  for (guint i = 0; i < n; i++) {
    AfTensor *t = g_ptr_array_index (layout, i);
    gsize nb = af__shape_numel (&t->shape) * af__dtype_size (t->dtype);
    if (nb)
      g_byte_array_append (out, t->data, nb);
  }
  g_hash_table_unref (begin);

  GError *local = NULL;
  gboolean ok = g_file_set_contents (path, (const char *) out->data, out->len, &local);
  if (!ok) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: cannot write the weights file: %s", path,
                 local->message);
    g_error_free (local);
  }
  g_byte_array_unref (out);
  return ok;
}
