/* mil-lex.c — MIL text tokenizer: identifiers, numbers (decimal, C99 hex
 * floats, inf/nan), strings, punctuation and "->", each with its line and
 * column (1-based) for messages. Whitespace and "//" comments are skipped. */
#include "mil-ast.h"

#include <string.h>

#define MIL_MAX_TOKENS 10000000 /* a hostile file cannot exhaust memory */

GQuark
mil_error_quark (void)
{
  return g_quark_from_static_string ("mil-error-quark");
}

typedef struct {
  const char *s;
  gsize len, i;
  int line, col;
  const char *file;
} Lexer;

static gboolean
at_end (const Lexer *lx, gsize k)
{
  return lx->i + k >= lx->len;
}

static char
peek (const Lexer *lx, gsize k)
{
  return at_end (lx, k) ? '\0' : lx->s[lx->i + k];
}

/* Moves past one character, tracking line and column. */
static void
advance (Lexer *lx)
{
  if (lx->s[lx->i] == '\n') {
    lx->line++;
    lx->col = 1;
  } else
    lx->col++;
  lx->i++;
}

static gboolean
is_ident_start (char c)
{
  return g_ascii_isalpha (c) || c == '_';
}

static gboolean
is_ident_char (char c)
{
  return g_ascii_isalnum (c) || c == '_';
}

/* Skips blanks and // comments. */
static void
skip_space (Lexer *lx)
{
  while (!at_end (lx, 0)) {
    char c = peek (lx, 0);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      advance (lx);
    else if (c == '/' && peek (lx, 1) == '/')
      while (!at_end (lx, 0) && peek (lx, 0) != '\n')
        advance (lx);
    else
      break;
  }
}

/* A string literal; @out gets the unescaped text. */
static gboolean
lex_string (Lexer *lx, GString *out, GError **error)
{
  int line = lx->line, col = lx->col;
  advance (lx); /* the opening quote */
  while (!at_end (lx, 0) && peek (lx, 0) != '"') {
    char c = peek (lx, 0);
    if (c == '\n' || c == '\0')
      break;
    if (c == '\\') {
      advance (lx);
      c = peek (lx, 0);
      if (c != '"' && c != '\\') {
        g_set_error (error, MIL_ERROR, 0, "%s:%d:%d: unknown escape in a string", lx->file,
                     lx->line, lx->col);
        return FALSE;
      }
    }
    g_string_append_c (out, c);
    advance (lx);
  }
  if (peek (lx, 0) != '"') {
    g_set_error (error, MIL_ERROR, 0, "%s:%d:%d: unterminated string", lx->file, line, col);
    return FALSE;
  }
  advance (lx);
  return TRUE;
}

/* A number's extent: [-] then inf | nan | 0x hex[.hex]p[+-]dec |
 * dec[.dec][e[+-]dec]. The value is parsed where its dtype is known. */
static gboolean
lex_number (Lexer *lx, GString *out, GError **error)
{
  int line = lx->line, col = lx->col;
  gsize start = lx->i;
  if (peek (lx, 0) == '-')
    advance (lx);
  if (is_ident_start (peek (lx, 0))) { /* inf, nan */
    while (is_ident_char (peek (lx, 0)))
      advance (lx);
  } else if (peek (lx, 0) == '0' && (peek (lx, 1) == 'x' || peek (lx, 1) == 'X')) {
    advance (lx);
    advance (lx);
    while (g_ascii_isxdigit (peek (lx, 0)) || peek (lx, 0) == '.')
      advance (lx);
    if (peek (lx, 0) == 'p' || peek (lx, 0) == 'P') {
      advance (lx);
      if (peek (lx, 0) == '+' || peek (lx, 0) == '-')
        advance (lx);
      while (g_ascii_isdigit (peek (lx, 0)))
        advance (lx);
    }
  } else {
    while (g_ascii_isdigit (peek (lx, 0)) || peek (lx, 0) == '.')
      advance (lx);
    if (peek (lx, 0) == 'e' || peek (lx, 0) == 'E') {
      advance (lx);
      if (peek (lx, 0) == '+' || peek (lx, 0) == '-')
        advance (lx);
      while (g_ascii_isdigit (peek (lx, 0)))
        advance (lx);
    }
  }
  g_string_append_len (out, lx->s + start, lx->i - start);
  if (is_ident_char (peek (lx, 0)) || out->len == 0 || strcmp (out->str, "-") == 0) {
    g_set_error (error, MIL_ERROR, 0, "%s:%d:%d: malformed number \"%.*s\"", lx->file, line, col,
                 (int) MIN (lx->i - start + 1, 40), lx->s + start);
    return FALSE;
  }
  return TRUE;
}

/* One token at the current position. */
static gboolean
lex_one (Lexer *lx, MilToken *t, GError **error)
{
  char c = peek (lx, 0);
  GString *text = g_string_new (NULL);
  gboolean ok = TRUE;
  t->line = lx->line;
  t->col = lx->col;
  if (c == '\0' && at_end (lx, 0)) {
    t->kind = MIL_TOK_EOF;
  } else if (is_ident_start (c)) {
    t->kind = MIL_TOK_IDENT;
    while (is_ident_char (peek (lx, 0))) {
      g_string_append_c (text, peek (lx, 0));
      advance (lx);
    }
  } else if (g_ascii_isdigit (c) || (c == '-' && peek (lx, 1) != '>')) {
    t->kind = MIL_TOK_NUMBER;
    ok = lex_number (lx, text, error);
  } else if (c == '"') {
    t->kind = MIL_TOK_STRING;
    ok = lex_string (lx, text, error);
  } else if (c == '-') {
    t->kind = MIL_TOK_ARROW;
    g_string_append (text, "->");
    advance (lx);
    advance (lx);
  } else if (c != '\0' && strchr ("()[]{}<>,=;", c)) {
    t->kind = MIL_TOK_PUNCT;
    g_string_append_c (text, c);
    advance (lx);
  } else {
    if (g_ascii_isprint (c))
      g_set_error (error, MIL_ERROR, 0, "%s:%d:%d: unexpected character '%c'", lx->file, lx->line,
                   lx->col, c);
    else
      g_set_error (error, MIL_ERROR, 0, "%s:%d:%d: unexpected byte 0x%02x", lx->file, lx->line,
                   lx->col, (guint8) c);
    ok = FALSE;
  }
  t->text = g_string_free (text, FALSE);
  if (!ok)
    g_clear_pointer (&t->text, g_free);
  return ok;
}

static void
token_clear (gpointer p)
{
  g_free (((MilToken *) p)->text);
}

GArray *
mil_lex (const char *text, gsize len, const char *file, GError **error)
{
  Lexer lx = { text, len, 0, 1, 1, file };
  GArray *toks = g_array_new (FALSE, FALSE, sizeof (MilToken));
  g_array_set_clear_func (toks, token_clear);
  for (;;) {
    skip_space (&lx);
    MilToken t;
    if (!lex_one (&lx, &t, error))
      goto fail;
    g_array_append_val (toks, t);
    if (t.kind == MIL_TOK_EOF)
      return toks;
    if (toks->len > MIL_MAX_TOKENS) {
      g_set_error (error, MIL_ERROR, 0, "%s:%d:%d: more than %d tokens", file, t.line, t.col,
                   MIL_MAX_TOKENS);
      goto fail;
    }
  }
fail:
  g_array_unref (toks);
  return NULL;
}

void
mil_tokens_free (GArray *toks)
{
  if (toks)
    g_array_unref (toks);
}
