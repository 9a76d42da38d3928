/* The executor: runs a compiled plan over a frame of value slots, and the kernel
 * context calls (kctx_*) kernels use to produce their outputs. Everything on the
 * path of a steady-state run is a walk over flat arrays without allocation. */
#include "runtime/plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "runtime/fuse.h"
#include "runtime/memplan.h"
#include "runtime/small_prog.h"

/* ---- the kernel context ---- */

static bool same_shape(const shape_t *a, const shape_t *b) {
  if (a->rank != b->rank) return false;
  for (int d = 0; d < a->rank; d++)
    if (a->dim[d] != b->dim[d]) return false;
  return true;
}

/* Remembers that a slot holds (a view of) a buffer another slot allocated. */
static void note_alias(kctx_t *c, tensor_t **slot) {
  frame_t *f = c->frame;
  if (!f) return;
  if (f->n_aliases < f->cap_aliases) {
    f->aliases[f->n_aliases++] = slot;
  } else {
    f->aliases_overflow = true;
  }
}

/* The slot index of &c->out[i] in the run's frame; -1 when it is not one. */
static int frame_slot(const kctx_t *c, int i) {
  const frame_t *f = c->frame;
  uintptr_t at = (uintptr_t)(c->out + i), base = (uintptr_t)f->values;
  if (at < base || at >= base + sizeof(tensor_t *) * (size_t)f->memplan->n_slots) return -1;
  return (int)((at - base) / sizeof(tensor_t *));
}

tensor_t *kctx_alloc_output(kctx_t *c, int i, tfm_dtype dtype, const shape_t *shape) {
  if (c->frame && c->frame->planned) {
    tensor_t *pt = memplan_take(c->frame->memplan, c->frame, frame_slot(c, i), dtype, shape);
    if (pt) {
      if (c->out[i] != pt) {
        tensor_t *old = c->out[i];
        c->out[i] = tensor_ref(pt);
        tensor_unref(old);
      }
      return pt;
    }
  }
  tensor_t *t = c->out[i];
  if (t) {
    /* Reuse last run's buffer when the slot alone holds it (a caller who fetched
     * it holds a reference, then it must not change under them) and it is a
     * buffer of ours, not a view or a caller's wrapped memory. */
    if (t->dtype == dtype && dtype != TFM_STRING && !t->dealloc && !t->borrowed &&
        atomic_load_explicit(&t->refs, memory_order_acquire) == 1 && same_shape(&t->shape, shape))
      return t;
    c->out[i] = NULL;
    tensor_unref(t);
  }
  t = tensor_new(dtype, shape, c->st);
  if (!t) {
    status_prefix(c->st, "%s '%s'", c->node->type, c->node->name);
    return NULL;
  }
  if (c->frame) t->owner = &c->out[i]; /* a slot that outlives this call */
  c->out[i] = t;
  return t;
}

void kctx_set_output(kctx_t *c, int i, tensor_t *t) {
  tensor_t *old = c->out[i];
  if (old == t) return; /* the steady state of pass-through ops: no refcount traffic */
  c->out[i] = tensor_ref(t);
  tensor_unref(old);
  if (t && t->owner && t->owner != &c->out[i]) note_alias(c, &c->out[i]);
}

tensor_t *kctx_set_output_view(kctx_t *c, int i, tensor_t *base, const shape_t *shape) {
  tensor_t *old = c->out[i];
  tensor_t *root = tensor_view_base(base) ? tensor_view_base(base) : base;
  if (old && tensor_is_view(old) && atomic_load_explicit(&old->refs, memory_order_acquire) == 1) {
    int64_t n;
    if (shape_num_elements(shape, &n, c->st) != TFM_OK || n != base->num_elements) {
      char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
      kctx_error(c, TFM_INVALID_ARGUMENT, "cannot view a tensor of shape %s as %s",
                 shape_str(&base->shape, a), shape_str(shape, b));
      return NULL;
    }
    if (old->dealloc_arg != root || !same_shape(&old->shape, shape))
      tensor_view_rebase(old, base, shape);
    if (c->frame) old->owner = &c->out[i]; /* the slot alone holds it: it is ours now */
  } else {
    tensor_t *t = tensor_reshaped(base, shape, c->st);
    if (!t) {
      status_prefix(c->st, "%s '%s'", c->node->type, c->node->name);
      return NULL;
    }
    if (c->frame) t->owner = &c->out[i];
    c->out[i] = t;
    tensor_unref(old);
  }
  if (root->owner) note_alias(c, &c->out[i]);
  return c->out[i];
}

tfm_code kctx_error(kctx_t *c, tfm_code code, const char *fmt, ...) {
  char msg[STATUS_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return status_set(c->st, code, "%s '%s': %s", c->node->type, c->node->name, msg);
}

/* ---- dead values (tf.cond) ----
 * A dead output holds this sentinel for the rest of the run; it is never referenced
 * or released, and no slot keeps it past the run (execute_with_deadness clears them). */
static tensor_t dead_value;

void kctx_set_dead(kctx_t *c, int i) {
  tensor_t *old = c->out[i];
  c->out[i] = &dead_value;
  if (old != &dead_value) tensor_unref(old);
}

bool kctx_is_dead(const tensor_t *t) { return t == &dead_value; }

/* ---- frames ---- */

static void frame_free(const plan_t *p, frame_t *f) {
  if (!f) return;
  if (f->values)
    for (int i = p->n_feeds; i < p->n_slots; i++) tensor_unref(f->values[i]);
  if (f->memplan) memplan_frame_free(f->memplan, f);
  mem_free(f->values);
  mem_free(f->in);
  mem_free(f->ctx);
  mem_free(f->aliases);
  mem_free(f->dead_steps);
  mem_free(f);
}

static frame_t *frame_new(plan_t *p) {
  frame_t *f = mem_calloc(1, sizeof *f);
  if (!f) return NULL;
  f->values = mem_calloc((size_t)p->n_slots + 1, sizeof *f->values);
  f->in = mem_calloc((size_t)p->n_in_total + 1, sizeof *f->in);
  f->ctx = mem_calloc((size_t)p->n_steps + 1, sizeof *f->ctx);
  f->cap_aliases = p->n_slots;
  f->aliases = mem_calloc((size_t)f->cap_aliases + 1, sizeof *f->aliases);
  if (p->deadness) f->dead_steps = mem_calloc((size_t)p->n_steps + 1, sizeof *f->dead_steps);
  if (!f->values || !f->in || !f->ctx || !f->aliases || (p->deadness && !f->dead_steps)) {
    frame_free(p, f);
    return NULL;
  }
  if (p->memplan) {
    f->memplan = p->memplan;
    if (!memplan_frame_init(p->memplan, f)) {
      frame_free(p, f);
      return NULL;
    }
  }
  for (int i = 0; i < p->n_consts; i++) f->values[p->const_slot[i]] = tensor_ref(p->const_value[i]);
  for (int k = 0; k < p->n_steps; k++) {
    const plan_step_t *s = &p->steps[k];
    tensor_t **in = s->direct && s->n_in > 0 ? f->values + s->in_src[0] : f->in + s->in_base;
    f->ctx[k] = (kctx_t){.node = s->node, .session = p->session, .in = in,
                         .n_in = s->n_in, .out = f->values + s->out_base, .n_out = s->n_out,
                         .state = &s->rt->state, .st = &f->st, .frame = f};
  }
  return f;
}

static frame_t *frame_acquire(plan_t *p) {
  frame_t *f = atomic_exchange(&p->spare, NULL);
  if (f) return f;
  pthread_mutex_lock(&p->frames_lock);
  f = p->free_frames;
  if (f) p->free_frames = f->next;
  pthread_mutex_unlock(&p->frames_lock);
  return f ? f : frame_new(p);
}

static void frame_release(plan_t *p, frame_t *f) {
  f = atomic_exchange(&p->spare, f);
  if (!f) return;
  pthread_mutex_lock(&p->frames_lock);
  f->next = p->free_frames;
  p->free_frames = f;
  pthread_mutex_unlock(&p->frames_lock);
}

void plan_free(plan_t *p) {
  if (!p) return;
  frame_free(p, atomic_load(&p->spare));
  for (frame_t *f = p->free_frames, *next; f; f = next) {
    next = f->next;
    frame_free(p, f);
  }
  pthread_mutex_destroy(&p->frames_lock);
  plan_fuse_free(p);
  plan_small_programs_free(p);
  memplan_free(p->memplan);
  mem_free(p->feeds);
  mem_free(p->fetches);
  mem_free(p->targets);
  plan_free(atomic_load(&p->twin));
  for (int i = 0; i < p->n_consts && p->const_value; i++) tensor_unref(p->const_value[i]);
  mem_free(p->const_value);
  mem_free(p->const_slot);
  mem_free(p->fetch_copy);
  mem_free(p->guards);
  mem_free(p->preps);
  mem_free(p->steps);
  mem_free(p->srcs);
  mem_free(p->vars);
  mem_free(p->ctl_srcs);
  mem_free(p);
}

/* ---- running ---- */

static tfm_code check_feed(const output_t *o, const tensor_t *t, tfm_status *st) {
  char name[256], a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
  if (!t)
    return status_set(st, TFM_INVALID_ARGUMENT, "the value fed to '%s' is NULL",
                      output_name(o, name, sizeof name));
  if (t->dtype != o->dtype)
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "cannot feed a %s tensor of shape %s to '%s', which has dtype %s and shape %s",
                      dtype_name(t->dtype), shape_str(&t->shape, a), output_name(o, name, sizeof name),
                      dtype_name(o->dtype), shape_str(&o->shape, b));
  if (!shape_compatible(&t->shape, &o->shape))
    return status_set(st, TFM_INVALID_ARGUMENT,
                      "cannot feed a value of shape %s to '%s', which has shape %s",
                      shape_str(&t->shape, a), output_name(o, name, sizeof name),
                      shape_str(&o->shape, b));
  return TFM_OK;
}

static tfm_code fail_uninitialised(const plan_t *p, const plan_step_t *s, int j, tfm_status *st) {
  const node_t *var = p->vars[~s->in_src[j]]->node;
  return status_set(st, TFM_FAILED_PRECONDITION,
                    "Attempting to use uninitialized value %s (input %d of %s '%s')", var->name, j,
                    s->node->type, s->node->name);
}

/* Ensures the kernel's message names the op (kernels should use kctx_error, but a
 * status set by a helper they call names only what it knows). The op is the
 * context's: a step that runs several ops (runtime/small_prog.h) points it at
 * the one at fault. */
static void name_the_op(const kctx_t *c, tfm_status *st) {
  size_t lt = strlen(c->node->type);
  if (strncmp(st->msg, c->node->type, lt) != 0 || st->msg[lt] != ' ')
    status_prefix(st, "%s '%s'", c->node->type, c->node->name);
}

static tfm_code run_ref_step(session_t *sess, const plan_t *p, const plan_step_t *s, kctx_t *c,
                             tensor_t **in) {
  tensor_t *before = in[0];
  tensor_t *cell = before;
  c->ref = &cell;
  tfm_code code = s->prep ? s->prep->run(c, s->prep) : s->compute(c);
  c->ref = NULL;
  if (cell != before) {
    if (s->in_src[0] < 0) {
      session_replace_value(sess, p->vars[~s->in_src[0]], cell);
    } else {
      tensor_unref(cell); /* input 0 was fed: the new value lives for this run only */
    }
  }
  return code;
}

/* Runs step k of the plan. */
static inline tfm_code run_step(plan_t *p, frame_t *f, int k) {
  session_t *sess = p->session;
  tensor_t **values = f->values;
  const plan_step_t *s = &p->steps[k];
  kctx_t *c = &f->ctx[k];
  tensor_t **in = f->in + s->in_base;
  tfm_code code;
  if (!s->slow) {
    if (!s->direct)
      for (int j = 0; j < s->n_in; j++) in[j] = values[s->in_src[j]];
    code = s->prep ? s->prep->run(c, s->prep) : s->compute(c);
  } else {
    for (int j = 0; j < s->n_in; j++) {
      int src = s->in_src[j];
      if (src >= 0) {
        in[j] = values[src];
      } else {
        in[j] = atomic_load(&p->vars[~src]->value);
        if (!in[j] && !(j == 0 && s->may_init)) return fail_uninitialised(p, s, j, &f->st);
      }
    }
    code = s->ref_op ? run_ref_step(sess, p, s, c, in)
                     : s->prep ? s->prep->run(c, s->prep) : s->compute(c);
  }
  if (code != TFM_OK) {
    if (f->st.code == TFM_OK) status_set(&f->st, code, "kernel failed");
    name_the_op(c, &f->st);
    return code;
  }
  for (int i = 0; i < s->n_out; i++)
    if (!c->out[i])
      return status_set(&f->st, TFM_INTERNAL, "%s '%s' did not set output %d", s->node->type,
                        s->node->name, i);
  return TFM_OK;
}

/* The walk for plans with a Switch: a step with a dead data or control input is
 * skipped and its outputs are dead (Merge runs unless all its data inputs are dead).
 * A dead fetch is an error; no slot keeps the dead sentinel after the run. */
static tfm_code execute_with_deadness(plan_t *p, frame_t *f) {
  tensor_t **values = f->values;
  tfm_code code = TFM_OK;
  for (int k = 0; k < p->n_steps && code == TFM_OK; k++) {
    const plan_step_t *s = &p->steps[k];
    tensor_t **out = values + s->out_base;
    for (int i = 0; i < s->n_out; i++)
      if (out[i] == &dead_value) out[i] = NULL;
    int n_dead = 0;
    for (int j = 0; j < s->n_in; j++) n_dead += s->in_src[j] >= 0 && values[s->in_src[j]] == &dead_value;
    bool dead = n_dead > 0;
    if (s->node->def->flags & OP_TAKES_DEAD) dead = n_dead == s->n_in;
    for (int j = 0; j < s->n_ctl && !dead; j++) dead = f->dead_steps[s->ctl_steps[j]];
    f->dead_steps[k] = dead;
    if (dead) {
      for (int i = 0; i < s->n_out; i++) kctx_set_dead(&f->ctx[k], i);
      continue;
    }
    code = run_step(p, f, k);
  }
  for (int i = 0; i < p->n_fetches && code == TFM_OK; i++) {
    int src = p->fetch_src[i];
    if (src >= 0 && values[src] == &dead_value) {
      char name[256];
      code = status_set(&f->st, TFM_INVALID_ARGUMENT,
                        "fetched '%s' has no value in this run: it is on a branch of a cond "
                        "(Switch) that was not taken", output_name(p->fetches[i], name, sizeof name));
    }
  }
  for (int i = p->n_feeds; i < p->n_slots; i++)
    if (values[i] == &dead_value) values[i] = NULL;
  return code;
}

static tfm_code execute(plan_t *p, frame_t *f) {
  if (p->deadness) return execute_with_deadness(p, f);
  for (int k = 0; k < p->n_steps; k++) {
    tfm_code code = run_step(p, f, k);
    if (code != TFM_OK) return code;
  }
  return TFM_OK;
}

/* A fetched tensor that shares a variable's buffer would change under the caller
 * at the next update: return a snapshot instead. */
static bool aliases_variable(const plan_t *p, const tensor_t *t) {
  for (int v = 0; v < p->n_vars; v++) {
    const tensor_t *cur = atomic_load_explicit(&p->vars[v]->value, memory_order_relaxed);
    if (cur && cur->data == t->data) return true;
  }
  return false;
}

static tfm_code collect_fetches(plan_t *p, frame_t *f, tensor_t **out) {
  for (int i = 0; i < p->n_fetches; i++) {
    int src = p->fetch_src[i];
    tensor_t *t;
    if (src >= 0) {
      t = f->values[src];
    } else {
      t = atomic_load(&p->vars[~src]->value);
      if (!t)
        return status_set(&f->st, TFM_FAILED_PRECONDITION,
                          "Attempting to use uninitialized value %s (fetched)",
                          p->vars[~src]->node->name);
    }
    const tensor_t *base = tensor_view_base(t) ? tensor_view_base(t) : t;
    if (src < 0 || p->fetch_copy[i] || base->in_arena || (p->n_vars && aliases_variable(p, t))) {
      out[i] = tensor_copy(t, &f->st);
      if (!out[i]) return f->st.code;
    } else {
      out[i] = tensor_ref(t);
    }
  }
  return TFM_OK;
}

/* Lets go, at the end of a run, of the references that would keep a computed
 * buffer from being reused by the next run: slots that passed on a tensor another
 * slot made (Identity of a computed value) drop it, then views (Reshape) of
 * computed buffers release the buffer but keep their header for the next run.
 * Pass-throughs of variables, constants and feeds keep theirs, which costs
 * nothing when the next run sets the same tensor again. */
static void release_alias(tensor_t **slot, bool views) {
  tensor_t *t = *slot;
  if (!t) return;
  tensor_t *base = tensor_view_base(t);
  if (!views) { /* first: slots holding what another slot made */
    if (t->owner && t->owner != (void *)slot) {
      *slot = NULL;
      tensor_unref(t);
    }
  } else if (base && base->owner) { /* then: views of computed buffers */
    if (atomic_load_explicit(&t->refs, memory_order_acquire) == 1) {
      tensor_view_rebase(t, NULL, NULL);
    } else { /* a caller holds the view: it keeps the buffer */
      *slot = NULL;
      tensor_unref(t);
    }
  }
}

static void drop_aliases(const plan_t *p, frame_t *f) {
  for (int pass = 0; pass < 2; pass++) {
    if (f->aliases_overflow) {
      for (int i = p->n_feeds; i < p->n_slots; i++) release_alias(&f->values[i], pass);
    } else {
      for (int k = 0; k < f->n_aliases; k++) release_alias(f->aliases[k], pass);
    }
  }
  f->n_aliases = 0;
  f->aliases_overflow = false;
}

/* Do the variables a prepared plan depends on have the shapes it was prepared
 * for? (Uninitialised ones are reported by the steps that read them.) Called
 * inside session_enter/leave. */
static bool variables_as_declared(const plan_t *p) {
  for (int v = 0; v < p->n_guards; v++) {
    const tensor_t *t = atomic_load_explicit(&p->guards[v]->value, memory_order_acquire);
    const shape_t *declared = &p->guards[v]->node->outputs[0].shape;
    if (t && !same_shape(&t->shape, declared) && !shape_compatible(&t->shape, declared))
      return false;
  }
  return true;
}

tfm_code plan_run(plan_t *p, tensor_t *const *feed_values, tensor_t **fetch_values,
                  tfm_status *st) {
  for (int i = 0; i < p->n_fetches; i++) fetch_values[i] = NULL;
  session_t *sess = p->session;
  /* Only runs that depend on variables can meet a retired value. */
  bool guarded = p->n_vars > 0 || p->n_guards > 0;
  if (guarded) session_enter(sess);
  if (p->n_guards > 0 && !variables_as_declared(p)) {
    plan_t *twin = plan_twin(p, st);
    if (!twin) {
      session_leave(sess);
      return status_code(st);
    }
    p = twin;
  }
  for (int i = 0; i < p->n_feeds; i++) {
    tfm_code bad = check_feed(p->feeds[i], feed_values[i], st);
    if (bad != TFM_OK) {
      if (guarded) session_leave(sess);
      return bad;
    }
  }
  frame_t *f = frame_acquire(p);
  if (!f) {
    if (guarded) session_leave(sess);
    return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory for a run's values");
  }
  /* Feeds are borrowed for the run: the slots hold no reference. */
  for (int i = 0; i < p->n_feeds; i++) f->values[i] = feed_values[i];
  tfm_code code = execute(p, f);
  if (code == TFM_OK) code = collect_fetches(p, f, fetch_values);
  drop_aliases(p, f);
  if (guarded) session_leave(sess);
  for (int i = 0; i < p->n_feeds; i++) f->values[i] = NULL;
  if (code != TFM_OK) {
    for (int i = 0; i < p->n_fetches; i++) {
      tensor_unref(fetch_values[i]);
      fetch_values[i] = NULL;
    }
    if (st) {
      st->code = f->st.code;
      memcpy(st->msg, f->st.msg, strlen(f->st.msg) + 1);
    }
    status_ok(&f->st);
  } else if (st) {
    st->code = TFM_OK;
    st->msg[0] = '\0';
  }
  frame_release(p, f);
  return code;
}
