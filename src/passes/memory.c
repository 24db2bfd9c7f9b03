/* plan-memory — places every value a step writes in ONE arena, reusing the
 * space of values whose last reader has run (first fit over a free list).
 * Graph inputs, image-port staging buffers and graph outputs are pinned for
 * the whole run: the caller reads and writes them through views. Two ops
 * copy nothing: a reshape takes over its dying input's bytes, and a concat
 * whose inputs lie one after the other (nothing before its axis) has the
 * inputs only it reads written in place inside its own block. */
#include "plan.h"

typedef struct {
  gsize offset, size;
} AfBlock;

static gsize
af_align (gsize n)
{
  return (n + AF_ARENA_ALIGN - 1) & ~(gsize) (AF_ARENA_ALIGN - 1);
}

/* First fit in the free list, or grow the arena. */
static gsize
af_arena_take (GArray *free_list, gsize *top, gsize size)
{
  for (guint i = 0; i < free_list->len; i++) {
    AfBlock *b = &g_array_index (free_list, AfBlock, i);
    if (b->size >= size) {
      gsize off = b->offset;
      b->offset += size;
      b->size -= size;
      if (b->size == 0)
        g_array_remove_index (free_list, i);
      return off;
    }
  }
  gsize off = *top;
  *top += size;
  return off;
}

static void
af_arena_give (GArray *free_list, gsize offset, gsize size)
{
  guint i = 0;
  while (i < free_list->len && g_array_index (free_list, AfBlock, i).offset < offset)
    i++;
  AfBlock b = { offset, size };
  g_array_insert_val (free_list, i, b);
  /* merge with neighbours */
  if (i + 1 < free_list->len) {
    AfBlock *n = &g_array_index (free_list, AfBlock, i + 1);
    AfBlock *c = &g_array_index (free_list, AfBlock, i);
    if (c->offset + c->size == n->offset) {
      c->size += n->size;
      g_array_remove_index (free_list, i + 1);
    }
  }
  if (i > 0) {
    AfBlock *p = &g_array_index (free_list, AfBlock, i - 1);
    AfBlock *c = &g_array_index (free_list, AfBlock, i);
    if (p->offset + p->size == c->offset) {
      p->size += c->size;
      g_array_remove_index (free_list, i);
    }
  }
}

static gsize
af_value_bytes (const AfTensor *t)
{
  return af_align (af__shape_numel (&t->shape) * sizeof (guint16));
}

/* A reshape whose input dies at it takes over the input's bytes: no copy
 * (the executor skips the copy when input and output are one address). */
static gboolean
af_reshape_aliases (AfPlan *plan, const AfStep *st, int *last_use, guint s)
{
  AfTensor *src = st->node->in[0];
  if (st->node->op != AF_OP_RESHAPE || st->ep.n != 0 || st->residual ||
      src->kind != AF_VALUE_NODE || last_use[src->index] != (int) s ||
      plan->offset[st->out->index] != AF_NO_SLOT || plan->offset[src->index] == AF_NO_SLOT)
    return FALSE;
  plan->offset[st->out->index] = plan->offset[src->index];
  last_use[src->index] = -2; /* the block now belongs to the output */
  return TRUE;
}

/* Marks the inputs a concat step can hold in place: member_of[v] is the
 * concat's output value, member_off[v] the byte offset inside it. */
static void
af_concat_members (AfPlan *plan, const int *last_use, int *member_of, gsize *member_off)
{
  for (guint s = 0; s < plan->steps->len; s++) {
    const AfStep *st = &g_array_index (plan->steps, AfStep, s);
    const AfNode *n = st->node;
    if (n->op != AF_OP_CONCAT || st->ep.n != 0 || st->residual)
      continue;
    int axis = n->attrs.axis < 0 ? n->attrs.axis + n->out->shape.rank : n->attrs.axis;
    gint64 outer = 1;
    for (int d = 0; d < axis; d++)
      outer *= n->out->shape.d[d];
    gsize off = 0;
    for (guint j = 0; outer == 1 && j < n->n_in; j++) {
      const AfTensor *in = n->in[j];
      gboolean twice = FALSE;
      for (guint i = 0; i < n->n_in; i++)
        twice |= i != j && n->in[i] == in;
      if (in->kind == AF_VALUE_NODE && last_use[in->index] == (int) s && !twice && in->producer &&
          in->producer->op != AF_OP_RESHAPE && in->producer->op != AF_OP_INPUT &&
          in->producer->op != AF_OP_IMAGE_INPUT && off % AF_ARENA_ALIGN == 0) {
        member_of[in->index] = (int) n->out->index;
        member_off[in->index] = off;
      }
      off += af__shape_numel (&in->shape) * sizeof (guint16);
    }
  }
}

/* Gives value @v its bytes: inside its concat's block (placed first) or
 * from the free list. */
static void
af_place (AfPlan *plan, GArray *free_list, gsize *top, const int *member_of,
          const gsize *member_off, const AfTensor *v)
{
  if (plan->offset[v->index] != AF_NO_SLOT)
    return;
  int c = member_of[v->index];
  if (c < 0) {
    plan->offset[v->index] = af_arena_take (free_list, top, af_value_bytes (v));
    return;
  }
  const AfTensor *cv = g_ptr_array_index (plan->graph->values, c);
  af_place (plan, free_list, top, member_of, member_off, cv);
  plan->offset[v->index] = plan->offset[c] + member_off[v->index];
}

gboolean
af__pass_memory (AfPlan *plan, GError **error)
{
  AfGraph *g = plan->graph;
  guint n_values = g->values->len, n_steps = plan->steps->len;
  g_autofree int *last_use = g_new (int, n_values);
  g_autofree int *member_of = g_new (int, n_values);
  g_autofree gsize *member_off = g_new0 (gsize, n_values);
  g_autoptr (GArray) free_list = g_array_new (FALSE, FALSE, sizeof (AfBlock));
  gsize top = 0;

  for (guint v = 0; v < n_values; v++) {
    last_use[v] = -1;
    member_of[v] = -1;
    plan->offset[v] = AF_NO_SLOT;
    plan->port[v] = AF_NO_SLOT;
  }
  for (guint s = 0; s < n_steps; s++) {
    AfStep *st = &g_array_index (plan->steps, AfStep, s);
    for (guint j = 0; j < st->node->n_in; j++)
      last_use[st->node->in[j]->index] = s;
    if (st->residual)
      last_use[st->residual->index] = s;
  }
  /* pinned: inputs (and image staging), outputs */
  for (guint i = 0; i < g->inputs->len; i++) {
    AfNode *n = g_ptr_array_index (g->inputs, i);
    plan->offset[n->out->index] = af_arena_take (free_list, &top, af_value_bytes (n->out));
    if (n->op == AF_OP_IMAGE_INPUT)
      plan->port[n->out->index] =
          af_arena_take (free_list, &top, af_align (af__shape_numel (&n->out->shape)));
    last_use[n->out->index] = G_MAXINT;
  }
  for (guint i = 0; i < g->outputs->len; i++) {
    AfTensor *t = g_array_index (g->outputs, AfOutput, i).value;
    last_use[t->index] = G_MAXINT;
    if (t->kind == AF_VALUE_NODE && plan->offset[t->index] == AF_NO_SLOT)
      plan->offset[t->index] = af_arena_take (free_list, &top, af_value_bytes (t));
  }
  af_concat_members (plan, last_use, member_of, member_off);
  guint n_in_place = 0;
  for (guint v = 0; v < n_values; v++)
    n_in_place += member_of[v] >= 0;
  for (guint s = 0; s < n_steps; s++) {
    AfStep *st = &g_array_index (plan->steps, AfStep, s);
    if (af_reshape_aliases (plan, st, last_use, s)) {
      if (last_use[st->out->index] < 0) { /* nobody reads it */
        af_arena_give (free_list, plan->offset[st->out->index], af_value_bytes (st->out));
        last_use[st->out->index] = -2;
      }
      continue;
    }
    af_place (plan, free_list, &top, member_of, member_off, st->out);
    /* a value nobody reads is dead at once; inputs die after their last reader */
    if (last_use[st->out->index] < 0)
      last_use[st->out->index] = s;
    for (guint j = 0; j <= st->node->n_in; j++) {
      AfTensor *in = j < st->node->n_in ? st->node->in[j] : st->residual;
      if (in && last_use[in->index] == (int) s && plan->offset[in->index] != AF_NO_SLOT &&
          in->kind != AF_VALUE_CONST) {
        if (member_of[in->index] < 0) /* a member's bytes are its concat's */
          af_arena_give (free_list, plan->offset[in->index], af_value_bytes (in));
        last_use[in->index] = -2; /* given back once (an op may read a value twice) */
      }
    }
    if (last_use[st->out->index] == (int) s) {
      if (member_of[st->out->index] < 0)
        af_arena_give (free_list, plan->offset[st->out->index], af_value_bytes (st->out));
      last_use[st->out->index] = -2;
    }
  }
  plan->arena_size = MAX (top, AF_ARENA_ALIGN);
  g_string_append_printf (
      plan->log, "plan-memory: arena %" G_GSIZE_FORMAT " bytes, %u concat input(s) in place\n",
      plan->arena_size, n_in_place);
  (void) error;
  return TRUE;
}
