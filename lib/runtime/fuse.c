/* The compile-time half of fusion (see fuse.h): find the groups in a plan's
 * steps, check that each can run as one step, and rewrite the step list. */
#include "runtime/fuse.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/switch.h"
#include "kernels/kernels.h"

static switch_t fuse_switch;

bool fuse_enabled(void) { return switch_on(&fuse_switch, "TFM_FUSE"); }

void fuse_set_enabled(bool on) { switch_set(&fuse_switch, on); }

/* ---- Shape, Size and Rank of statically known shapes become constants ---- */

/* Their value is known at build time (feeds must match the static shape), so the
 * step need not wait for its input: this cuts the false dependency of a gradient
 * on the loss value (Fill(Shape(loss), 1)) that would otherwise split a group. */
static tfm_code const_compute(kctx_t *c) {
  kctx_set_output(c, 0, c->node->outputs[0].const_value);
  return TFM_OK;
}

static void constant_shape_steps(plan_t *p) {
  for (int k = 0; k < p->n_steps; k++) {
    plan_step_t *s = &p->steps[k];
    const node_t *n = s->node;
    if (n->n_outputs != 1 || !n->outputs[0].const_value || s->ref_op) continue;
    if (strcmp(n->type, "Shape") != 0 && strcmp(n->type, "Size") != 0 &&
        strcmp(n->type, "Rank") != 0)
      continue;
    s->compute = const_compute;
    s->n_in = 0;
    s->slow = false;
    s->direct = true;
  }
}


/* ---- Shape of an element-wise value, from the shapes of its inputs ---- */

/* Shape/Size/Rank of the output of an element-wise chain is the broadcast of the
 * shapes of the chain's inputs. Gradients of broadcasting ops ask for it
 * (Shape -> BroadcastGradientArgs -> Sum axes); computed from the inputs, it no
 * longer waits for the chain's value, so the chain and its gradient can be one
 * group instead of a chain whose every intermediate is written out. Inputs whose
 * shapes do not broadcast give the first input's shape: the chain itself then
 * fails with its usual message. */
static tfm_code broadcast_shape_compute(kctx_t *c) {
  shape_t s = c->in[0]->shape;
  for (int j = 1; j < c->n_in; j++) {
    shape_t t;
    if (shape_broadcast(&s, &c->in[j]->shape, &t, "fused", NULL) != TFM_OK) {
      s = c->in[0]->shape;
      break;
    }
    s = t;
  }
  const output_t *o = &c->node->outputs[0];
  bool shape_op = strcmp(c->node->type, "Shape") == 0;
  shape_t os = shape_op ? shape_vector(s.rank) : shape_scalar();
  tensor_t *out = kctx_alloc_output(c, 0, o->dtype, &os);
  if (!out) return status_code(c->st);
  int64_t size = 1;
  for (int d = 0; d < s.rank; d++) size *= s.dim[d];
  for (int d = 0; d < (shape_op ? s.rank : 1); d++) {
    int64_t v = shape_op ? s.dim[d] : strcmp(c->node->type, "Size") == 0 ? size : s.rank;
    if (o->dtype == TFM_INT64) TENSOR_I64(out)[d] = v;
    else TENSOR_I32(out)[d] = (int32_t)v;
  }
  return TFM_OK;
}

/* ---- which steps may join a group ---- */

static bool is_f32(const output_t *o) { return o->dtype == TFM_FLOAT && !o->is_ref; }

/* Fills m's kind, code and operand count; false when the step cannot be fused. */
static bool classify(const plan_step_t *s, fuse_member_t *m) {
  const node_t *n = s->node;
  const op_def_t *d = n->def;
  if (s->ref_op || n->n_outputs != 1 || s->n_in != n->n_inputs || !is_f32(&n->outputs[0]))
    return false;
  memset(m, 0, sizeof *m);
  m->param = -1;
  m->escape = -1;
  if (d->ew_class == EW_IS_UNARY && n->n_inputs == 1 && is_f32(n->inputs[0])) {
    m->kind = FK_UNARY;
    m->n_ops = 1;
  } else if (d->ew_class == EW_IS_BINARY && n->n_inputs == 2 && is_f32(n->inputs[0]) &&
             is_f32(n->inputs[1])) {
    m->kind = FK_BINARY;
    m->n_ops = 2;
    /* the gradient helpers take two operands of one shape, never broadcast */
    m->same_shape = d->ew_code >= EW_RELU_GRAD && d->ew_code <= EW_RECIPROCAL_GRAD;
  } else if ((strcmp(n->type, "Sum") == 0 || strcmp(n->type, "Mean") == 0) && n->n_inputs == 2 &&
             is_f32(n->inputs[0])) {
    m->kind = FK_REDUCE;
    m->n_ops = 1;
    m->keep_dims = node_attr_bool(n, "keep_dims", false);
  } else if (strcmp(n->type, "Reshape") == 0 && n->n_inputs == 2 && is_f32(n->inputs[0])) {
    m->kind = FK_RESHAPE;
    m->n_ops = 1;
  } else if (strcmp(n->type, "Tile") == 0 && n->n_inputs == 2 && is_f32(n->inputs[0])) {
    m->kind = FK_TILE;
    m->n_ops = 1;
  } else if ((strcmp(n->type, "Identity") == 0 || strcmp(n->type, "StopGradient") == 0 ||
              strcmp(n->type, "Snapshot") == 0) &&
             n->n_inputs == 1 && is_f32(n->inputs[0])) {
    m->kind = FK_IDENTITY;
    m->n_ops = 1;
  } else {
    return false;
  }
  m->code = d->ew_code;
  m->step = *s;
  return true;
}

/* ---- the rewrite ---- */

typedef struct fuser {
  plan_t *p;
  int n;                 /* steps */
  fuse_member_t *info;   /* per step; valid where cand[k] */
  bool *cand;
  int *parent;           /* union-find over steps */
  int *step_of_slot;     /* -1 for feeds */
  int *step_of_node;     /* by node id; -1 */
  int n_nodes;
  int *group;            /* per step: group number, -1 */
  int *taint;            /* per step: the group whose member it depends on, -1 */
  bool *pure, *pure_noop;
  tfm_status *st;
} fuser_t;

static int uf_find(int *parent, int k) {
  while (parent[k] != k) k = parent[k] = parent[parent[k]];
  return k;
}

static int producer(const fuser_t *f, int src) {
  return src >= f->p->n_feeds ? f->step_of_slot[src] : -1;
}

/* Calls fn(f, k, dep) for every step k depends on: data producers and the steps
 * of its control inputs. */
#define FOR_EACH_DEP(f, k, dep, BODY)                                                      \
  do {                                                                                     \
    const plan_step_t *s_ = &(f)->p->steps[k];                                             \
    for (int j_ = 0; j_ < s_->n_in; j_++) {                                                \
      int dep = producer((f), s_->in_src[j_]);                                             \
      if (dep >= 0) BODY                                                                   \
    }                                                                                      \
    const node_t *n_ = s_->node;                                                           \
    for (int j_ = 0; j_ < n_->n_control_inputs; j_++) {                                    \
      int id_ = n_->control_inputs[j_]->id;                                                \
      int dep = id_ >= 0 && id_ < (f)->n_nodes ? (f)->step_of_node[id_] : -1;              \
      if (dep >= 0 && !((f)->cand[k] && (f)->pure_noop[dep])) BODY                         \
    }                                                                                      \
  } while (0)

/* A NoOp whose inputs are all pure computations (tf.tuple's group_deps): a
 * control dependency of a pure op on it only orders pure computations, which
 * cannot change their results; fusable ops ignore it, as TensorFlow's
 * dependency optimizer drops it. Steps are in dependency order. */
static void find_pure_noops(fuser_t *f) {
  for (int k = 0; k < f->n; k++) {
    const plan_step_t *s = &f->p->steps[k];
    const node_t *n = s->node;
    bool pure = !(n->def->flags & (OP_STATEFUL | OP_REF_INPUT0 | OP_VARIABLE));
    for (int j = 0; j < s->n_in && pure; j++) {
      int dep = producer(f, s->in_src[j]);
      if (dep >= 0) pure = f->pure[dep];
    }
    for (int j = 0; j < n->n_control_inputs && pure; j++) {
      int id = n->control_inputs[j]->id;
      int dep = id >= 0 && id < f->n_nodes ? f->step_of_node[id] : -1;
      if (dep >= 0) pure = f->pure[dep];
      else pure = false; /* a variable or an op outside the plan: keep the order */
    }
    f->pure[k] = pure;
    f->pure_noop[k] = pure && strcmp(n->type, "NoOp") == 0;
  }
}

/* Does reduction step k take its axes from a step (computed at run time)? */
static bool runtime_axes(const fuser_t *f, int k) {
  const plan_step_t *s = &f->p->steps[k];
  return s->n_in == 2 && producer(f, s->in_src[1]) >= 0;
}

/* Is the data operand j of step k an element operand (not the axes / shape)? */
static bool element_operand(const fuse_member_t *m, int j) { return j < m->n_ops; }

/* Drops from group g the members that depend, through a step outside g, on
 * another member: they would have to run both before and after the group. They
 * are left unfused. Returns the members that remain. */
static int make_convex(fuser_t *f, int g) {
  int remaining = 0;
  for (int k = 0; k < f->n; k++) {
    bool tainted = false;
    FOR_EACH_DEP(f, k, dep, {
      if ((f->group[dep] == g && f->group[k] != g) || f->taint[dep] == g) tainted = true;
    });
    if (f->group[k] == g) {
      if (tainted) {
        f->group[k] = -1; /* depends on a member through an outside step */
        f->taint[k] = g;
      } else {
        remaining++;
      }
    } else if (tainted) {
      f->taint[k] = g;
    }
  }
  return remaining;
}

static bool tiny_static(const fuser_t *f, int g) {
  for (int k = 0; k < f->n; k++) {
    if (f->group[k] != g) continue;
    const output_t *o = &f->p->steps[k].node->outputs[0];
    int64_t n;
    if (!shape_is_fully_defined(&o->shape) || shape_num_elements(&o->shape, &n, NULL) != TFM_OK ||
        n >= FUSE_MIN_ELEMENTS)
      return false;
  }
  return true;
}

static void group_free(fuse_group_t *g) {
  if (!g) return;
  fuse_scratch_free(g->scratch);
  pthread_mutex_destroy(&g->busy);
  mem_free(g->members);
  mem_free(g->ext_src);
  mem_free(g->escape_slot);
  mem_free(g->escape_member);
  mem_free(g);
}

void plan_fuse_free(plan_t *p) {
  for (fuse_group_t *g = p->fused, *next; g; g = next) {
    next = g->next;
    group_free(g);
  }
  p->fused = NULL;
}

static int ext_index(fuse_group_t *g, int src) {
  for (int i = 0; i < g->n_ext; i++)
    if (g->ext_src[i] == src) return i;
  g->ext_src[g->n_ext] = src;
  return g->n_ext++;
}

/* Builds group number gid from the steps marked with it; new output slots are
 * taken from p->n_slots. `fused` receives the fused step. */
static fuse_group_t *build_group(fuser_t *f, int gid, int n_members, const bool *consumed_outside,
                                 plan_step_t *fused) {
  plan_t *p = f->p;
  fuse_group_t *g = mem_calloc(1, sizeof *g);
  if (!g) return NULL;
  pthread_mutex_init(&g->busy, NULL);
  g->plan = p;
  g->members = mem_calloc((size_t)n_members, sizeof *g->members);
  g->ext_src = mem_calloc((size_t)n_members * 2, sizeof *g->ext_src);
  g->escape_slot = mem_calloc((size_t)n_members, sizeof *g->escape_slot);
  g->escape_member = mem_calloc((size_t)n_members, sizeof *g->escape_member);
  int *member_of_step = mem_alloc(sizeof(int) * (size_t)f->n);
  if (!g->members || !g->ext_src || !g->escape_slot || !g->escape_member || !member_of_step) {
    mem_free(member_of_step);
    group_free(g);
    return NULL;
  }
  for (int k = 0; k < f->n; k++) member_of_step[k] = -1;
  const node_t *last = NULL;
  for (int k = 0; k < f->n; k++) {
    if (f->group[k] != gid) continue;
    int mi = g->n_members++;
    fuse_member_t *m = &g->members[mi];
    *m = f->info[k];
    member_of_step[k] = mi;
    const plan_step_t *s = &p->steps[k];
    for (int j = 0; j < s->n_in; j++) {
      int src = s->in_src[j];
      int prod = producer(f, src);
      int ref = prod >= 0 && member_of_step[prod] >= 0 ? member_of_step[prod] : ~ext_index(g, src);
      if (element_operand(m, j)) {
        m->op[j] = ref;
      } else {
        m->param = ext_index(g, src); /* axes, shapes: int tensors, never members */
      }
    }
    if (consumed_outside[k]) {
      m->escape = g->n_escapes;
      g->escape_slot[g->n_escapes] = s->out_base;
      g->escape_member[g->n_escapes] = mi;
      g->n_escapes++;
    }
    last = s->node;
  }
  mem_free(member_of_step);
  g->rt.node = last;
  g->rt.state = g;
  bool slow = false;
  for (int i = 0; i < g->n_ext; i++)
    if (g->ext_src[i] < 0) slow = true;
  *fused = (plan_step_t){.compute = fuse_compute, .node = last, .rt = &g->rt,
                         .in_src = g->ext_src, .n_in = g->n_ext, .n_out = g->n_escapes,
                         .in_base = p->n_in_total, .out_base = p->n_slots, .slow = slow};
  p->n_in_total += g->n_ext;
  p->n_slots += g->n_escapes;
  return g;
}

/* Orders units (a group or a lone step) so that each follows what it depends
 * on, keeping the original order where it can: a depth-first walk over
 * dependencies, started from the units in the order they first appear. */
typedef struct orderer {
  fuser_t *f;
  int *unit_of_step;   /* unit number */
  int n_units;
  int *first_step;     /* per unit: chain of its steps through next_step */
  int *next_step;
  uint8_t *mark;       /* per unit: 0, 1 on stack, 2 done */
  int *out;            /* units in run order */
  int n_out;
  int *stack;          /* (unit, step cursor, dep cursor) triples */
} orderer_t;

static bool order_units(orderer_t *o) {
  fuser_t *f = o->f;
  for (int u0 = 0; u0 < o->n_units; u0++) {
    if (o->mark[u0]) continue;
    int depth = 0;
    o->stack[0] = u0;
    o->stack[1] = o->first_step[u0];
    o->stack[2] = 0;
    o->mark[u0] = 1;
    depth = 1;
    while (depth > 0) {
      int *top = &o->stack[3 * (depth - 1)];
      int u = top[0], k = top[1];
      if (k < 0) {
        o->mark[u] = 2;
        o->out[o->n_out++] = u;
        depth--;
        continue;
      }
      /* the dep number top[2] of step k */
      int want = top[2]++, seen = 0, next_unit = -1;
      bool found = false;
      FOR_EACH_DEP(f, k, dep, {
        if (!found && seen++ == want) {
          found = true;
          next_unit = o->unit_of_step[dep];
        }
      });
      if (!found) {
        top[1] = o->next_step[k];
        top[2] = 0;
        continue;
      }
      if (next_unit == u || o->mark[next_unit] == 2) continue;
      if (o->mark[next_unit] == 1) return false; /* a cycle: not convex after all */
      o->mark[next_unit] = 1;
      int *push = &o->stack[3 * depth++];
      push[0] = next_unit;
      push[1] = o->first_step[next_unit];
      push[2] = 0;
    }
  }
  return true;
}

static tfm_code rewrite(fuser_t *f, int n_groups) {
  plan_t *p = f->p;
  int n = f->n;
  tfm_code code = TFM_RESOURCE_EXHAUSTED;
  bool *outside = mem_calloc((size_t)n + 1, sizeof *outside);
  int *remap = mem_alloc(sizeof(int) * ((size_t)p->n_slots + 1));
  orderer_t o = {.f = f};
  o.unit_of_step = mem_alloc(sizeof(int) * (size_t)n);
  o.first_step = mem_alloc(sizeof(int) * (size_t)n);
  o.next_step = mem_alloc(sizeof(int) * (size_t)n);
  o.mark = mem_calloc((size_t)n, 1);
  o.out = mem_alloc(sizeof(int) * (size_t)n);
  o.stack = mem_alloc(sizeof(int) * 3 * (size_t)n);
  int *group_unit = mem_alloc(sizeof(int) * ((size_t)n_groups + 1));
  plan_step_t *fused = mem_calloc((size_t)n_groups + 1, sizeof *fused);
  plan_step_t *steps = mem_calloc((size_t)n + 1, sizeof *steps);
  fuse_group_t **groups = mem_calloc((size_t)n_groups + 1, sizeof *groups);
  if (!outside || !remap || !o.unit_of_step || !o.first_step || !o.next_step || !o.mark ||
      !o.out || !o.stack || !group_unit || !fused || !steps || !groups)
    goto done;

  /* which members' values are needed outside their group */
  for (int k = 0; k < n; k++) {
    const plan_step_t *s = &p->steps[k];
    for (int j = 0; j < s->n_in; j++) {
      int prod = producer(f, s->in_src[j]);
      if (prod >= 0 && f->group[prod] >= 0 &&
          (f->group[k] != f->group[prod] || !element_operand(&f->info[k], j)))
        outside[prod] = true;
    }
  }
  for (int i = 0; i < p->n_fetches; i++) {
    int prod = producer(f, p->fetch_src[i]);
    if (prod >= 0) outside[prod] = true;
  }

  /* units: one per group, one per other step */
  for (int g = 0; g < n_groups; g++) group_unit[g] = -1;
  for (int k = 0; k < n; k++) {
    int g = f->group[k];
    int u;
    if (g >= 0 && group_unit[g] >= 0) {
      u = group_unit[g];
    } else {
      u = o.n_units++;
      if (g >= 0) group_unit[g] = u;
      o.first_step[u] = -1;
    }
    o.unit_of_step[k] = u;
    o.next_step[k] = -1;
  }
  for (int k = n - 1; k >= 0; k--) {
    int u = o.unit_of_step[k];
    o.next_step[k] = o.first_step[u];
    o.first_step[u] = k;
  }
  if (!order_units(&o)) {
    code = TFM_OK; /* leave the plan as it is */
    goto done;
  }

  /* the groups, their new slots, and the remapping of outside readers */
  int n_slots_before = p->n_slots;
  for (int s = 0; s < n_slots_before; s++) remap[s] = s;
  for (int g = 0; g < n_groups; g++) {
    int count = 0;
    for (int k = 0; k < n; k++) count += f->group[k] == g;
    if (count == 0) continue;
    groups[g] = build_group(f, g, count, outside, &fused[g]);
    if (!groups[g]) goto done;
    for (int e = 0; e < groups[g]->n_escapes; e++)
      remap[groups[g]->escape_slot[e]] = fused[g].out_base + e;
  }
  /* readers outside a group (other steps, members of other groups run by their
   * fallback, fetches) read the fused outputs */
  for (int k = 0; k < n; k++) {
    const plan_step_t *s = &p->steps[k];
    int *srcs = p->srcs + (s->in_src - p->srcs);
    for (int j = 0; j < s->n_in; j++) {
      int prod = producer(f, srcs[j]);
      if (prod >= 0 && f->group[prod] >= 0 && f->group[prod] != f->group[k])
        srcs[j] = remap[srcs[j]];
    }
  }
  int *fetch = p->srcs + (p->fetch_src - p->srcs);
  for (int i = 0; i < p->n_fetches; i++)
    if (fetch[i] >= 0 && fetch[i] < n_slots_before) fetch[i] = remap[fetch[i]];
  for (int g = 0; g < n_groups; g++)
    for (int i = 0; groups[g] && i < groups[g]->n_ext; i++) {
      int *e = &groups[g]->ext_src[i];
      if (*e >= 0 && *e < n_slots_before) *e = remap[*e];
    }

  /* the new step list */
  int n_new = 0;
  for (int i = 0; i < o.n_out; i++) {
    int u = o.out[i];
    int k = o.first_step[u];
    int g = f->group[k];
    steps[n_new++] = g >= 0 ? fused[g] : p->steps[k];
    /* inputs may have moved to the fused outputs */
    plan_step_t *s = &steps[n_new - 1];
    s->direct = !s->slow;
    for (int j = 1; j < s->n_in && s->direct; j++) s->direct = s->in_src[j] == s->in_src[0] + j;
  }
  for (int g = 0; g < n_groups; g++) {
    if (!groups[g]) continue;
    groups[g]->next = p->fused;
    p->fused = groups[g];
    groups[g] = NULL;
  }
  mem_free(p->steps);
  p->steps = steps;
  p->n_steps = n_new;
  steps = NULL;
  code = TFM_OK;
done:
  if (groups)
    for (int g = 0; g < n_groups; g++) group_free(groups[g]);
  mem_free(groups);
  mem_free(steps);
  mem_free(fused);
  mem_free(group_unit);
  mem_free(o.unit_of_step);
  mem_free(o.first_step);
  mem_free(o.next_step);
  mem_free(o.mark);
  mem_free(o.out);
  mem_free(o.stack);
  mem_free(remap);
  mem_free(outside);
  if (code != TFM_OK) return status_set(f->st, code, "out of memory fusing a plan");
  return TFM_OK;
}


/* Element-wise members whose shape is the broadcast of their leaves' shapes. */
static bool shape_transparent(const fuser_t *f, int k) {
  return k >= 0 && f->cand[k] &&
         (f->info[k].kind == FK_UNARY || f->info[k].kind == FK_BINARY ||
          f->info[k].kind == FK_IDENTITY);
}

/* Rewrites Shape/Size/Rank steps reading an element-wise chain to compute it from
 * the chain's inputs (broadcast_shape_compute). The new input lists are kept in
 * a holder group freed with the plan's groups. */
static tfm_code shapes_from_inputs(fuser_t *f) {
  plan_t *p = f->p;
  int *stack = mem_alloc(sizeof(int) * ((size_t)f->n + 1));
  int *leaves = mem_alloc(sizeof(int) * ((size_t)f->n * 2 + 2));
  uint8_t *seen = mem_calloc((size_t)f->n + 1, 1);
  fuse_group_t *holder = NULL;
  tfm_code code = TFM_OK;
  if (!stack || !leaves || !seen) {
    code = status_set(f->st, TFM_RESOURCE_EXHAUSTED, "out of memory fusing a plan");
    goto done;
  }
  for (int k = 0; k < f->n; k++) {
    plan_step_t *s = &p->steps[k];
    const node_t *n = s->node;
    if (s->n_in != 1 || s->compute == const_compute || n->n_outputs != 1 ||
        (strcmp(n->type, "Shape") != 0 && strcmp(n->type, "Size") != 0 && strcmp(n->type, "Rank") != 0) ||
        (n->outputs[0].dtype != TFM_INT32 && n->outputs[0].dtype != TFM_INT64))
      continue;
    int top = producer(f, s->in_src[0]);
    if (!shape_transparent(f, top)) continue;
    /* the leaves of the chain above `top` */
    int n_leaves = 0, depth = 0;
    bool ok = true;
    memset(seen, 0, (size_t)f->n);
    stack[depth++] = top;
    seen[top] = 1;
    while (depth > 0 && ok) {
      int m = stack[--depth];
      const plan_step_t *ms = &p->steps[m];
      for (int j = 0; j < f->info[m].n_ops; j++) {
        int src = ms->in_src[j], prod = producer(f, src);
        if (shape_transparent(f, prod)) {
          if (!seen[prod]) {
            seen[prod] = 1;
            stack[depth++] = prod;
          }
        } else if (prod >= 0 && f->cand[prod] && f->info[prod].kind != FK_REDUCE) {
          ok = false; /* a Reshape or Tile in the chain: its shape needs its parameters */
        } else {
          bool dup = false;
          for (int i = 0; i < n_leaves; i++) dup |= leaves[i] == src;
          if (!dup) leaves[n_leaves++] = src;
        }
      }
    }
    if (!ok || n_leaves == 0) continue;
    if (!holder) {
      holder = mem_calloc(1, sizeof *holder);
      if (!holder) {
        code = status_set(f->st, TFM_RESOURCE_EXHAUSTED, "out of memory fusing a plan");
        goto done;
      }
      pthread_mutex_init(&holder->busy, NULL);
      holder->next = p->fused;
      p->fused = holder;
    }
    int *srcs = mem_realloc(holder->ext_src, sizeof(int) * (size_t)(holder->n_ext + n_leaves));
    if (!srcs) {
      code = status_set(f->st, TFM_RESOURCE_EXHAUSTED, "out of memory fusing a plan");
      goto done;
    }
    /* earlier rewritten steps point into the old array: move them */
    for (int j = 0; j < f->n; j++)
      if (p->steps[j].compute == broadcast_shape_compute && holder->ext_src != srcs)
        p->steps[j].in_src = srcs + (p->steps[j].in_src - holder->ext_src);
    holder->ext_src = srcs;
    memcpy(srcs + holder->n_ext, leaves, sizeof(int) * (size_t)n_leaves);
    s->compute = broadcast_shape_compute;
    s->in_src = srcs + holder->n_ext;
    s->n_in = n_leaves;
    s->in_base = p->n_in_total;
    p->n_in_total += n_leaves;
    holder->n_ext += n_leaves;
    s->slow = false;
    for (int i = 0; i < n_leaves; i++) s->slow |= leaves[i] < 0;
    s->direct = !s->slow;
    for (int j = 1; j < s->n_in && s->direct; j++) s->direct = s->in_src[j] == s->in_src[0] + j;
  }
done:
  mem_free(stack);
  mem_free(leaves);
  mem_free(seen);
  return code;
}

tfm_code plan_fuse(plan_t *p, tfm_status *st) {
  constant_shape_steps(p);
  if (!fuse_enabled() || p->n_steps < 2) return TFM_OK;
  fuser_t f = {.p = p, .n = p->n_steps, .n_nodes = p->session->graph->n_nodes, .st = st};
  size_t n = (size_t)f.n;
  f.info = mem_calloc(n, sizeof *f.info);
  f.cand = mem_calloc(n, sizeof *f.cand);
  f.pure = mem_calloc(n, sizeof *f.pure);
  f.pure_noop = mem_calloc(n, sizeof *f.pure_noop);
  f.parent = mem_alloc(n * sizeof *f.parent);
  f.group = mem_alloc(n * sizeof *f.group);
  f.taint = mem_alloc(n * sizeof *f.taint);
  f.step_of_slot = mem_alloc(((size_t)p->n_slots + 1) * sizeof *f.step_of_slot);
  f.step_of_node = mem_alloc(((size_t)f.n_nodes + 1) * sizeof *f.step_of_node);
  int *root_group = mem_alloc(n * sizeof *root_group), *size = mem_calloc(n, sizeof *size);
  tfm_code code = TFM_OK;
  if (!f.info || !f.cand || !f.pure || !f.pure_noop || !f.parent || !f.group || !f.taint || !f.step_of_slot ||
      !f.step_of_node || !root_group || !size) {
    code = status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory fusing a plan");
    goto done;
  }
  for (int s = 0; s < p->n_slots; s++) f.step_of_slot[s] = -1;
  for (int i = 0; i < f.n_nodes; i++) f.step_of_node[i] = -1;
  for (int k = 0; k < f.n; k++) {
    const plan_step_t *s = &p->steps[k];
    for (int i = 0; i < s->n_out; i++) f.step_of_slot[s->out_base + i] = k;
    if (s->node->id >= 0 && s->node->id < f.n_nodes) f.step_of_node[s->node->id] = k;
    f.parent[k] = k;
    f.cand[k] = classify(s, &f.info[k]);
  }
  find_pure_noops(&f);
  if ((code = shapes_from_inputs(&f)) != TFM_OK) goto done;
  /* components along element operands; a reduction over constant axes ends a
   * chain. One over axes computed at run time (the gradient of a broadcasting op
   * when a placeholder's size is unknown: BroadcastGradientArgs) is most often no
   * reduction at all, or a full one read only by a reshape to its variable's
   * shape; the run decides (fuse_exec.c), and runs the group unfused otherwise. */
  for (int k = 0; k < f.n; k++) {
    if (!f.cand[k]) continue;
    const plan_step_t *s = &p->steps[k];
    for (int j = 0; j < f.info[k].n_ops; j++) {
      int prod = producer(&f, s->in_src[j]);
      if (prod >= 0 && f.cand[prod] &&
          (f.info[prod].kind != FK_REDUCE || runtime_axes(&f, prod)))
        f.parent[uf_find(f.parent, k)] = uf_find(f.parent, prod);
    }
  }
  int n_groups = 0;
  for (int k = 0; k < f.n; k++) {
    root_group[k] = -1;
    if (f.cand[k]) size[uf_find(f.parent, k)]++;
  }
  for (int k = 0; k < f.n; k++) {
    f.group[k] = -1;
    f.taint[k] = -1;
    if (!f.cand[k]) continue;
    int r = uf_find(f.parent, k);
    if (size[r] < 2 || size[r] > FUSE_MAX_MEMBERS) continue;
    if (root_group[r] < 0) root_group[r] = n_groups++;
    f.group[k] = root_group[r];
  }
  /* keep groups that are convex, large enough and compute something */
  int kept = 0;
  for (int g = 0; g < n_groups; g++) {
    int members = make_convex(&f, g);
    bool computes = false;
    for (int k = 0; k < f.n; k++)
      if (f.group[k] == g && f.info[k].kind != FK_RESHAPE && f.info[k].kind != FK_IDENTITY &&
          f.info[k].kind != FK_TILE)
        computes = true;
    if (members < 2 || !computes || tiny_static(&f, g)) {
      for (int k = 0; k < f.n; k++)
        if (f.group[k] == g) f.group[k] = -1;
    } else {
      kept++;
    }
  }
  if (kept > 0) code = rewrite(&f, n_groups);
done:
  mem_free(f.info);
  mem_free(f.cand);
  mem_free(f.pure);
  mem_free(f.pure_noop);
  mem_free(f.parent);
  mem_free(f.group);
  mem_free(f.taint);
  mem_free(f.step_of_slot);
  mem_free(f.step_of_node);
  mem_free(root_group);
  mem_free(size);
  return code;
}
