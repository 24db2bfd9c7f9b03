/* labels.c — labels files: one label per line, or "index,name" lines. */
#include "decoder.h"

#include <string.h>

#define MAX_LABEL_INDEX 1000000

static gboolean
parse_index_prefix (const char *line, guint64 *index, const char **rest)
{
  const char *p = line;
  while (g_ascii_isdigit (*p))
    p++;
  if (p == line || *p != ',')
    return FALSE;
  *index = g_ascii_strtoull (line, NULL, 10);
  *rest = p + 1;
  return TRUE;
}

static char **
labels_indexed (const char *path, char **lines, guint n, GError **error)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n; i++) {
    guint64 index;
    const char *name;
    if (!parse_index_prefix (lines[i], &index, &name)) {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                   "%s:%u: expected \"index,name\" like the first line, got \"%s\"", path, i + 1,
                   lines[i]);
      goto fail;
    }
    if (index >= MAX_LABEL_INDEX) {
      g_set_error (error, AF_ERROR, AF_ERROR_LIMIT,
                   "%s:%u: index %" G_GUINT64_FORMAT " is above the limit of %d", path, i + 1,
                   index, MAX_LABEL_INDEX - 1);
      goto fail;
    }
    if (name[0] == '\0') {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                   "%s:%u: empty label for index %" G_GUINT64_FORMAT, path, i + 1, index);
      goto fail;
    }
    while (out->len <= index)
      g_ptr_array_add (out, NULL);
    if (out->pdata[index] != NULL) {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE,
                   "%s:%u: index %" G_GUINT64_FORMAT " appears twice", path, i + 1, index);
      goto fail;
    }
    out->pdata[index] = g_strdup (name);
  }
  for (guint i = 0; i < out->len; i++)
    if (out->pdata[i] == NULL)
      out->pdata[i] = g_strdup ("");
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
fail:
  g_ptr_array_free (out, TRUE);
  return NULL;
}

char **
af__decode_load_labels (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len;
  GError *err = NULL;
  if (!g_file_get_contents (path, &text, &len, &err)) {
    g_set_error (error, AF_ERROR, AF_ERROR_IO, "%s: cannot read labels: %s", path, err->message);
    g_error_free (err);
    return NULL;
  }
  if (memchr (text, '\0', len) != NULL || !g_utf8_validate (text, len, NULL)) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE, "%s: labels file is not UTF-8 text", path);
    return NULL;
  }
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines);
  for (guint i = 0; i < n; i++) {
    gsize l = strlen (lines[i]);
    if (l > 0 && lines[i][l - 1] == '\r')
      lines[i][l - 1] = '\0';
  }
  while (n > 0 && lines[n - 1][0] == '\0')
    n--; /* trailing blank lines */
  if (n == 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_PARSE, "%s:1: labels file is empty", path);
    return NULL;
  }
  guint64 index;
  const char *rest;
  if (parse_index_prefix (lines[0], &index, &rest))
    return labels_indexed (path, lines, n, error);
  char **out = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++) {
    if (lines[i][0] == '\0') {
      g_set_error (error, AF_ERROR, AF_ERROR_PARSE, "%s:%u: empty label", path, i + 1);
      g_strfreev (out);
      return NULL;
    }
    out[i] = g_strdup (lines[i]);
  }
  return out;
}
