/* Sessions: node records (variable values, kernel state), safe replacement of
 * variable values, and the plan cache. */
#include "runtime/session.h"

#include <sched.h>
#include <string.h>

#include "core/mem.h"
#include "runtime/plan.h"

session_t *session_new(graph_t *g, tfm_status *st) {
  session_t *s = mem_calloc(1, sizeof *s);
  if (!s) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory creating a session");
    return NULL;
  }
  s->graph = g;
  pthread_mutex_init(&s->lock, NULL);
  atomic_init(&s->active, 0);
  atomic_init(&s->has_retired, 0);
  atomic_init(&s->plans, NULL);
  status_ok(st);
  return s;
}

static void release_retired(session_t *s) {
  for (int i = 0; i < s->n_retired; i++) tensor_unref(s->retired[i]);
  s->n_retired = 0;
  atomic_store(&s->has_retired, 0);
}

void session_delete(session_t *s) {
  if (!s) return;
  for (plan_t *p = atomic_load(&s->plans), *next; p; p = next) {
    next = p->next_cached;
    plan_free(p);
  }
  for (int i = 0; i < s->rt_cap; i++) {
    node_rt_t *rt = s->rt[i];
    if (!rt) continue;
    tensor_unref(atomic_load(&rt->value));
    if (rt->state && rt->node->def->free_state) rt->node->def->free_state(rt->state);
    mem_free(rt);
  }
  mem_free(s->rt);
  release_retired(s);
  mem_free(s->retired);
  pthread_mutex_destroy(&s->lock);
  mem_free(s);
}

node_rt_t *session_node_rt_locked(session_t *s, const node_t *n, tfm_status *st) {
  if (n->id >= s->rt_cap) {
    int cap = s->rt_cap ? s->rt_cap : 64;
    while (cap <= n->id) cap *= 2;
    node_rt_t **grown = mem_realloc(s->rt, sizeof *grown * (size_t)cap);
    if (!grown) {
      status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory for the session's node records");
      return NULL;
    }
    memset(grown + s->rt_cap, 0, sizeof *grown * (size_t)(cap - s->rt_cap));
    s->rt = grown;
    s->rt_cap = cap;
  }
  if (!s->rt[n->id]) {
    node_rt_t *rt = mem_calloc(1, sizeof *rt);
    if (!rt) {
      status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory for the record of op '%s'", n->name);
      return NULL;
    }
    atomic_init(&rt->value, NULL);
    rt->node = n;
    s->rt[n->id] = rt;
  }
  return s->rt[n->id];
}

void session_leave_slow(session_t *s) {
  pthread_mutex_lock(&s->lock);
  /* Checked under the lock that retirers take: a run that starts after this
   * load sees only the new values, never a retired one. */
  if (atomic_load(&s->active) == 0) release_retired(s);
  pthread_mutex_unlock(&s->lock);
}

void session_replace_value(session_t *s, node_rt_t *rt, tensor_t *t) {
  tensor_t *old = atomic_exchange(&rt->value, t);
  if (!old) return;
  pthread_mutex_lock(&s->lock);
  if (s->n_retired == s->cap_retired) {
    int cap = s->cap_retired ? 2 * s->cap_retired : 16;
    tensor_t **grown = mem_realloc(s->retired, sizeof *grown * (size_t)cap);
    if (grown) {
      s->retired = grown;
      s->cap_retired = cap;
    }
  }
  bool queued = s->n_retired < s->cap_retired;
  if (queued) {
    s->retired[s->n_retired++] = old;
    atomic_store(&s->has_retired, 1);
  }
  pthread_mutex_unlock(&s->lock);
  if (queued) return;
  /* Out of memory for the queue: wait until this is the only run, when no one
   * else can hold the old pointer, and release it here. */
  while (atomic_load(&s->active) > 1) sched_yield();
  tensor_unref(old);
}

static bool is_variable_of(const session_t *s, const node_t *var) {
  return var && var->graph == s->graph && (var->def->flags & OP_VARIABLE);
}

tensor_t *session_variable_get(session_t *s, const node_t *var) {
  if (!is_variable_of(s, var)) return NULL;
  pthread_mutex_lock(&s->lock);
  node_rt_t *rt = var->id < s->rt_cap ? s->rt[var->id] : NULL;
  pthread_mutex_unlock(&s->lock);
  if (!rt) return NULL;
  session_enter(s);
  tensor_t *t = tensor_ref(atomic_load(&rt->value));
  session_leave(s);
  return t;
}

tfm_code session_variable_set(session_t *s, const node_t *var, tensor_t *t, tfm_status *st) {
  if (!is_variable_of(s, var))
    return status_set(st, TFM_INVALID_ARGUMENT, "'%s' is not a variable of the session's graph",
                      var ? var->name : "(null)");
  pthread_mutex_lock(&s->lock);
  node_rt_t *rt = session_node_rt_locked(s, var, st);
  pthread_mutex_unlock(&s->lock);
  if (!rt) return status_code(st);
  session_enter(s);
  session_replace_value(s, rt, tensor_ref(t));
  session_leave(s);
  return status_ok(st);
}

static plan_t *find_plan(session_t *s, uint64_t h, output_t *const *feeds, int n_feeds,
                         output_t *const *fetches, int n_fetches, node_t *const *targets,
                         int n_targets) {
  for (plan_t *p = atomic_load_explicit(&s->plans, memory_order_acquire); p; p = p->next_cached)
    if (p->hash == h && plan_matches(p, feeds, n_feeds, fetches, n_fetches, targets, n_targets))
      return p;
  return NULL;
}

plan_t *session_plan(session_t *s, output_t *const *feeds, int n_feeds,
                     output_t *const *fetches, int n_fetches, node_t *const *targets,
                     int n_targets, tfm_status *st) {
  uint64_t h = plan_signature_hash(feeds, n_feeds, fetches, n_fetches, targets, n_targets);
  plan_t *p = find_plan(s, h, feeds, n_feeds, fetches, n_fetches, targets, n_targets);
  if (p) return p;
  pthread_mutex_lock(&s->lock);
  /* Another thread may have compiled it meanwhile. */
  p = find_plan(s, h, feeds, n_feeds, fetches, n_fetches, targets, n_targets);
  if (!p) {
    /* Nodes are never removed, so a plan stays valid however the graph grows. */
    p = plan_compile(s, feeds, n_feeds, fetches, n_fetches, targets, n_targets, st);
    if (p) {
      p->next_cached = atomic_load(&s->plans);
      atomic_store_explicit(&s->plans, p, memory_order_release);
    }
  }
  pthread_mutex_unlock(&s->lock);
  return p;
}
