/* The plan compiler: prune to the ops a run signature needs, order them, check
 * that they can run, and lay out the value slots (see plan.h). */
#include "runtime/plan.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/switch.h"
#include "runtime/fuse.h"
#include "runtime/memplan.h"
#include "runtime/small_prog.h"
#include "runtime/prepare.h"

/* TFM_PREPARE=0 in the environment compiles plans unprepared (benchmarks,
 * comparisons), unless plan_set_preparation said otherwise. */
static switch_t preparation_switch;

void plan_set_preparation(bool on) { switch_set(&preparation_switch, on); }

static bool preparation_on(void) { return switch_on(&preparation_switch, "TFM_PREPARE"); }

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h * 0xBF58476D1CE4E5B9ull;
}

uint64_t plan_signature_hash(output_t *const *feeds, int n_feeds, output_t *const *fetches,
                             int n_fetches, node_t *const *targets, int n_targets) {
  uint64_t h = mix(mix(mix(0, (uint64_t)n_feeds), (uint64_t)n_fetches), (uint64_t)n_targets);
  for (int i = 0; i < n_feeds; i++) h = mix(h, (uint64_t)(uintptr_t)feeds[i]);
  for (int i = 0; i < n_fetches; i++) h = mix(h, (uint64_t)(uintptr_t)fetches[i]);
  for (int i = 0; i < n_targets; i++) h = mix(h, (uint64_t)(uintptr_t)targets[i]);
  return h;
}

bool plan_matches(const plan_t *p, output_t *const *feeds, int n_feeds,
                  output_t *const *fetches, int n_fetches, node_t *const *targets,
                  int n_targets) {
  return p->n_feeds == n_feeds && p->n_fetches == n_fetches && p->n_targets == n_targets &&
         (n_feeds == 0 || memcmp(p->feeds, feeds, sizeof *feeds * (size_t)n_feeds) == 0) &&
         (n_fetches == 0 || memcmp(p->fetches, fetches, sizeof *fetches * (size_t)n_fetches) == 0) &&
         (n_targets == 0 || memcmp(p->targets, targets, sizeof *targets * (size_t)n_targets) == 0);
}

/* Scratch of one compilation, indexed by node id. */
typedef struct compiler {
  session_t *s;
  plan_t *p;
  int n_nodes;
  uint8_t *mark;        /* 0 unseen, 1 on the DFS stack, 2 done */
  bool *has_feed;
  int *out_base;        /* first slot of a step's outputs; -1 if not a step */
  int *var_index;       /* index in p->vars; -1 */
  node_t **order;
  int n_order;
  struct dfs_frame { node_t *n; int edge; } *stack;
  prep_nodes_t prep;    /* roles of the nodes when the plan is prepared */
  tfm_status *st;
} compiler_t;

static int feed_index(const compiler_t *c, const output_t *o) {
  if (!c->has_feed[o->node->id]) return -1;
  for (int i = 0; i < c->p->n_feeds; i++)
    if (c->p->feeds[i]->node == o->node && c->p->feeds[i]->index == o->index) return i;
  return -1;
}

static tfm_code check_node(const compiler_t *c, const node_t *n, const char *what, int i) {
  if (!n) return status_set(c->st, TFM_INVALID_ARGUMENT, "%s %d is NULL", what, i);
  if (n->graph != c->s->graph || n->id < 0 || n->id >= c->n_nodes)
    return status_set(c->st, TFM_INVALID_ARGUMENT, "%s %d ('%s') belongs to another graph", what,
                      i, n->name);
  return TFM_OK;
}

/* Post-order DFS over data inputs (stopping at fed outputs) and control inputs:
 * appends every node `root` needs to c->order, producers first. */
static tfm_code visit(compiler_t *c, node_t *root) {
  if (c->mark[root->id] == 2) return TFM_OK;
  int depth = 0;
  c->stack[depth++] = (struct dfs_frame){root, 0};
  c->mark[root->id] = 1;
  while (depth > 0) {
    struct dfs_frame *top = &c->stack[depth - 1];
    node_t *n = top->n;
    int e = top->edge++;
    node_t *child;
    if (e < n->n_inputs) {
      if (feed_index(c, n->inputs[e]) >= 0) continue;
      child = n->inputs[e]->node;
    } else if (e < n->n_inputs + n->n_control_inputs) {
      child = n->control_inputs[e - n->n_inputs];
    } else {
      c->mark[n->id] = 2;
      c->order[c->n_order++] = n;
      depth--;
      continue;
    }
    if (child->id < 0 || child->id >= c->n_nodes)
      return status_set(c->st, TFM_INTERNAL, "op '%s' has an input outside the graph", n->name);
    if (c->mark[child->id] == 2) continue;
    if (c->mark[child->id] == 1)
      return status_set(c->st, TFM_INVALID_ARGUMENT, "the graph has a cycle through op '%s'",
                        child->name);
    c->mark[child->id] = 1;
    c->stack[depth++] = (struct dfs_frame){child, 0};
  }
  return TFM_OK;
}

static int var_source(compiler_t *c, const node_t *var) {
  if (c->var_index[var->id] < 0) {
    c->var_index[var->id] = c->p->n_vars;
    c->p->vars[c->p->n_vars++] = c->s->rt[var->id];
  }
  return ~c->var_index[var->id];
}

/* Where the value of output o comes from in a run. */
static int source_of(compiler_t *c, const output_t *o) {
  o = prep_resolve(&c->prep, o);
  int f = feed_index(c, o);
  if (f >= 0) return f;
  if (o->node->def->flags & OP_VARIABLE) return var_source(c, o->node);
  return c->out_base[o->node->id] + o->index;
}

static tfm_code fail_placeholder(compiler_t *c, const node_t *n) {
  char buf[SHAPE_STR_MAX];
  const output_t *o = &n->outputs[0];
  return status_set(c->st, TFM_INVALID_ARGUMENT,
                    "You must feed a value for placeholder tensor '%s' with dtype %s and shape %s",
                    n->name, dtype_name(o->dtype), shape_str(&o->shape, buf));
}

/* For plans that track deadness (they hold a Switch): each step's control inputs as
 * step indices, since a dead control input makes the step dead too. */
static tfm_code control_steps(compiler_t *c) {
  plan_t *p = c->p;
  int total = 0;
  int *step_of = mem_alloc(((size_t)c->n_nodes + 1) * sizeof *step_of);
  if (!step_of) return status_set(c->st, TFM_RESOURCE_EXHAUSTED, "out of memory compiling a plan");
  for (int i = 0; i < c->n_nodes; i++) step_of[i] = -1;
  for (int k = 0; k < p->n_steps; k++) {
    step_of[p->steps[k].node->id] = k;
    total += p->steps[k].node->n_control_inputs;
  }
  p->ctl_srcs = mem_calloc((size_t)total + 1, sizeof *p->ctl_srcs);
  if (!p->ctl_srcs) {
    mem_free(step_of);
    return status_set(c->st, TFM_RESOURCE_EXHAUSTED, "out of memory compiling a plan");
  }
  int *at = p->ctl_srcs;
  for (int k = 0; k < p->n_steps; k++) {
    plan_step_t *s = &p->steps[k];
    s->ctl_steps = at;
    for (int j = 0; j < s->node->n_control_inputs; j++) {
      int from = step_of[s->node->control_inputs[j]->id];
      if (from >= 0) at[s->n_ctl++] = from;
    }
    at += s->n_ctl;
  }
  mem_free(step_of);
  return TFM_OK;
}

/* Gives step s the op's prepared kernel when there is one for its fixed shapes. */
static void prepare_step(compiler_t *c, plan_step_t *s, kprep_t *k) {
  const node_t *n = s->node;
  tensor_t *in_small[16];
  if (n->n_inputs > 16) return;
  for (int j = 0; j < n->n_inputs; j++) {
    const output_t *o = prep_resolve(&c->prep, n->inputs[j]);
    in_small[j] = feed_index(c, o) < 0 ? prep_constant(&c->prep, o) : NULL;
  }
  if (prep_step(n, in_small, k)) s->prep = k;
}

/* Turns c->order into steps and slots. */
static tfm_code build_steps(compiler_t *c) {
  plan_t *p = c->p;
  int n_steps = 0, n_in_total = 0, n_guards = 0;
  p->n_slots = p->n_feeds;
  for (int k = 0; k < c->n_order; k++) {
    node_t *n = c->order[k];
    if (!session_node_rt_locked(c->s, n, c->st)) return status_code(c->st);
    if (n->def->flags & OP_VARIABLE) { /* read from its storage directly */
      if (p->prepared) n_guards++;
      continue;
    }
    if (strcmp(n->type, "Placeholder") == 0) return fail_placeholder(c, n);
    if (!n->def->compute)
      return status_set(c->st, TFM_UNIMPLEMENTED, "op '%s' of type %s has no kernel in libtfmini",
                        n->name, n->type);
    if (n->def->flags & OP_DEAD_OUTPUTS) p->deadness = true;
    prep_role_t role = prep_role(&c->prep, n);
    if (role == ROLE_CONST || role == ROLE_STEP) {
      c->out_base[n->id] = p->n_slots;
      p->n_slots += n->n_outputs;
    }
    if (role == ROLE_CONST) p->n_consts += n->n_outputs;
    if (role != ROLE_STEP) continue;
    n_in_total += n->n_inputs;
    n_steps++;
  }
  p->steps = mem_calloc((size_t)n_steps ? (size_t)n_steps : 1, sizeof *p->steps);
  p->srcs = mem_calloc((size_t)(n_in_total + p->n_fetches) + 1, sizeof *p->srcs);
  p->vars = mem_calloc((size_t)c->n_order + 1, sizeof *p->vars);
  p->const_slot = mem_calloc((size_t)p->n_consts + 1, sizeof *p->const_slot);
  p->const_value = mem_calloc((size_t)p->n_consts + 1, sizeof *p->const_value);
  p->fetch_copy = mem_calloc((size_t)p->n_fetches + 1, sizeof *p->fetch_copy);
  if (p->prepared) p->preps = mem_calloc((size_t)n_steps + 1, sizeof *p->preps);
  p->guards = mem_calloc((size_t)n_guards + 1, sizeof *p->guards);
  if (!p->steps || !p->srcs || !p->vars || !p->const_slot || !p->const_value || !p->fetch_copy ||
      !p->guards || (p->prepared && !p->preps))
    return status_set(c->st, TFM_RESOURCE_EXHAUSTED, "out of memory compiling a plan");
  int *src = p->srcs, n_consts = 0;
  for (int k = 0; k < c->n_order; k++) {
    node_t *n = c->order[k];
    if (p->prepared && (n->def->flags & OP_VARIABLE)) p->guards[p->n_guards++] = c->s->rt[n->id];
    if (c->out_base[n->id] < 0) continue;
    if (prep_role(&c->prep, n) == ROLE_CONST) {
      for (int i = 0; i < n->n_outputs; i++) {
        p->const_slot[n_consts] = c->out_base[n->id] + i;
        p->const_value[n_consts++] = tensor_ref(prep_constant(&c->prep, &n->outputs[i]));
      }
      continue;
    }
    plan_step_t *s = &p->steps[p->n_steps++];
    s->compute = n->def->compute;
    s->node = n;
    s->rt = c->s->rt[n->id];
    s->in_src = src;
    s->n_in = n->n_inputs;
    s->n_out = n->n_outputs;
    s->in_base = p->n_in_total;
    s->out_base = c->out_base[n->id];
    s->ref_op = (n->def->flags & OP_REF_INPUT0) != 0;
    s->may_init = s->ref_op && strcmp(n->type, "Assign") == 0;
    s->slow = s->ref_op;
    for (int j = 0; j < n->n_inputs; j++) {
      *src = source_of(c, n->inputs[j]);
      if (*src < 0) s->slow = true;
      src++;
    }
    s->direct = !s->slow;
    for (int j = 1; j < s->n_in && s->direct; j++) s->direct = s->in_src[j] == s->in_src[0] + j;
    p->n_in_total += n->n_inputs;
    if (p->prepared) prepare_step(c, s, &p->preps[p->n_steps - 1]);
  }
  p->fetch_src = src;
  for (int i = 0; i < p->n_fetches; i++) {
    *src++ = source_of(c, p->fetches[i]);
    const output_t *o = prep_resolve(&c->prep, p->fetches[i]);
    p->fetch_copy[i] = feed_index(c, o) < 0 && prep_constant(&c->prep, o) != NULL;
  }
  return p->deadness ? control_steps(c) : TFM_OK;
}

static tfm_code compile(compiler_t *c, output_t *const *feeds, output_t *const *fetches,
                        node_t *const *targets) {
  plan_t *p = c->p;
  for (int i = 0; i < p->n_feeds; i++) {
    if (check_node(c, feeds[i] ? feeds[i]->node : NULL, "feed", i) != TFM_OK) return c->st->code;
    if (feed_index(c, feeds[i]) >= 0) {
      char buf[256];
      return status_set(c->st, TFM_INVALID_ARGUMENT, "'%s' is fed twice",
                        output_name(feeds[i], buf, sizeof buf));
    }
    p->feeds[i] = feeds[i];
    c->has_feed[feeds[i]->node->id] = true;
  }
  for (int i = 0; i < p->n_fetches; i++) {
    if (check_node(c, fetches[i] ? fetches[i]->node : NULL, "fetch", i) != TFM_OK)
      return c->st->code;
    p->fetches[i] = fetches[i];
  }
  for (int i = 0; i < p->n_targets; i++) {
    if (check_node(c, targets[i], "target", i) != TFM_OK) return c->st->code;
    p->targets[i] = targets[i];
  }
  for (int i = 0; i < p->n_fetches; i++)
    if (feed_index(c, fetches[i]) < 0 && visit(c, fetches[i]->node) != TFM_OK) return c->st->code;
  for (int i = 0; i < p->n_targets; i++)
    if (visit(c, targets[i]) != TFM_OK) return c->st->code;
  if (p->prepared) p->prepared = prep_allowed(c->order, c->n_order);
  if (p->prepared && prep_classify(&c->prep, c->s, c->n_nodes, c->order, c->n_order, p->feeds,
                                   p->n_feeds, p->fetches, p->n_fetches, p->targets,
                                   p->n_targets, c->st) != TFM_OK)
    return c->st->code;
  if (build_steps(c) != TFM_OK) return c->st->code;
  /* Fusion takes declared shapes for facts too (Shape steps become constants): an
   * unprepared plan, the fallback for when they are not, runs op by op; so do plans
   * with a Switch (prepare.h), whose steps track deadness. */
  if (!p->prepared || p->deadness) return TFM_OK;
  /* the graph output each slot holds, for memory planning (before fusion adds slots) */
  int n_values = p->n_slots;
  const output_t **slot_value = mem_calloc((size_t)n_values + 1, sizeof *slot_value);
  if (!slot_value) return status_set(c->st, TFM_RESOURCE_EXHAUSTED, "out of memory compiling a plan");
  for (int k = 0; k < c->n_order; k++) {
    node_t *n = c->order[k];
    for (int i = 0; c->out_base[n->id] >= 0 && i < n->n_outputs; i++)
      slot_value[c->out_base[n->id] + i] = &n->outputs[i];
  }
  tfm_code code = plan_fuse(p, c->st);
  if (code == TFM_OK) code = plan_small_programs(p, c->st);
  if (code == TFM_OK) code = plan_memory(p, slot_value, n_values, c->st);
  mem_free(slot_value);
  return code;
}

static plan_t *compile_plan(session_t *s, output_t *const *feeds, int n_feeds,
                            output_t *const *fetches, int n_fetches, node_t *const *targets,
                            int n_targets, bool prepared, tfm_status *st) {
  plan_t *p = mem_calloc(1, sizeof *p);
  if (!p) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory compiling a plan");
    return NULL;
  }
  p->session = s;
  p->prepared = prepared;
  atomic_init(&p->twin, NULL);
  p->n_feeds = n_feeds;
  p->n_fetches = n_fetches;
  p->n_targets = n_targets;
  p->hash = plan_signature_hash(feeds, n_feeds, fetches, n_fetches, targets, n_targets);
  pthread_mutex_init(&p->frames_lock, NULL);
  atomic_init(&p->spare, NULL);

  graph_t *g = s->graph;
  pthread_mutex_lock(&g->lock);
  compiler_t c = {.s = s, .p = p, .n_nodes = g->n_nodes, .st = st};
  size_t nn = (size_t)c.n_nodes + 1;
  c.mark = mem_calloc(nn, 1);
  c.has_feed = mem_calloc(nn, sizeof *c.has_feed);
  c.out_base = mem_alloc(nn * sizeof *c.out_base);
  c.var_index = mem_alloc(nn * sizeof *c.var_index);
  c.order = mem_alloc(nn * sizeof *c.order);
  c.stack = mem_alloc(nn * sizeof *c.stack);
  p->feeds = mem_calloc((size_t)n_feeds + 1, sizeof *p->feeds);
  p->fetches = mem_calloc((size_t)n_fetches + 1, sizeof *p->fetches);
  p->targets = mem_calloc((size_t)n_targets + 1, sizeof *p->targets);
  tfm_code code;
  if (!c.mark || !c.has_feed || !c.out_base || !c.var_index || !c.order || !c.stack ||
      !p->feeds || !p->fetches || !p->targets) {
    code = status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory compiling a plan");
  } else {
    for (size_t i = 0; i < nn; i++) c.out_base[i] = c.var_index[i] = -1;
    code = compile(&c, feeds, fetches, targets);
  }
  pthread_mutex_unlock(&g->lock);
  mem_free(c.mark);
  mem_free(c.has_feed);
  mem_free(c.out_base);
  mem_free(c.var_index);
  mem_free(c.order);
  mem_free(c.stack);
  prep_nodes_free(&c.prep);
  if (code != TFM_OK) {
    plan_free(p);
    return NULL;
  }
  status_ok(st);
  return p;
}

plan_t *plan_compile(session_t *s, output_t *const *feeds, int n_feeds,
                     output_t *const *fetches, int n_fetches, node_t *const *targets,
                     int n_targets, tfm_status *st) {
  return compile_plan(s, feeds, n_feeds, fetches, n_fetches, targets, n_targets,
                      preparation_on(), st);
}

plan_t *plan_twin(plan_t *p, tfm_status *st) {
  plan_t *t = atomic_load_explicit(&p->twin, memory_order_acquire);
  if (t) return t;
  session_t *s = p->session;
  pthread_mutex_lock(&s->lock);
  t = atomic_load(&p->twin);
  if (!t) {
    t = compile_plan(s, p->feeds, p->n_feeds, p->fetches, p->n_fetches, p->targets, p->n_targets,
                     false, st);
    if (t) atomic_store_explicit(&p->twin, t, memory_order_release);
  }
  pthread_mutex_unlock(&s->lock);
  return t;
}
