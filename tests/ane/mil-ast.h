/* mil-ast.h — the tokens and the parsed form of a MIL program (internal to
 * tests/ane/mil-*.c). */
#ifndef AF_TEST_MIL_AST_H
#define AF_TEST_MIL_AST_H

#include "mil.h"

typedef enum {
  MIL_TOK_EOF,
  MIL_TOK_IDENT,  /* letters, digits, '_' ; starts with a letter or '_' */
  MIL_TOK_NUMBER, /* decimal or C99 hex float, optional '-', inf, nan */
  MIL_TOK_STRING, /* "..." with \" and \\ escapes; text is the unescaped value */
  MIL_TOK_PUNCT,  /* one of ( ) [ ] { } < > , = ; */
  MIL_TOK_ARROW,  /* -> */
} MilTokKind;

typedef struct {
  MilTokKind kind;
  char *text; /* owned */
  int line, col;
} MilToken;

/* Splits @text into tokens (ending with one EOF token) or fails with
 * FILE:LINE:COL. The array owns the tokens. */
GArray *mil_lex (const char *text, gsize len, const char *file, GError **error);
void mil_tokens_free (GArray *toks);

/* A declared type: tensor<dtype, [dims]> or a bare scalar dtype. */
typedef struct {
  MilDtype dtype;
  int rank;
  gint64 dims[MIL_MAX_RANK];
  gboolean bare; /* written without tensor<...> */
} MilType;

typedef enum { MIL_ARG_VAR, MIL_ARG_VALUE, MIL_ARG_LIST } MilArgKind;

typedef struct MilArg MilArg;
struct MilArg {
  char *name; /* keyword; NULL for a list item */
  MilArgKind kind;
  char *var;        /* MIL_ARG_VAR */
  MilTensor *value; /* MIL_ARG_VALUE (a literal, BLOBFILE resolved) */
  GPtrArray *items; /* MIL_ARG_LIST: MilArg* */
  int line, col;
};

typedef struct {
  MilType type;
  char *out;         /* the SSA name */
  char *op;          /* the op's name */
  char *name;        /* the name attribute, NULL if absent */
  GPtrArray *args;   /* MilArg*: keyword arguments, then bracket attributes */
  guint n_call_args; /* args[0 .. n_call_args) came from (...) */
  int line, col;
} MilOp;

typedef struct {
  MilType type;
  char *name;
} MilParam;

typedef struct {
  char *name, *opset;
  GPtrArray *params;  /* MilParam* */
  GPtrArray *ops;     /* MilOp* */
  GPtrArray *outputs; /* char* */
  int line, col;
} MilFunc;

struct MilProgram {
  char *file, *version;
  GHashTable *build_info; /* char* -> char* */
  GPtrArray *funcs;       /* MilFunc* */
};

void mil_arg_free (MilArg *a);

#endif
