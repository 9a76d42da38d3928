/* Sessions inside the library: what a session owns (the values of variables, the
 * per-node kernel state, the cache of compiled plans) and the calls other layers
 * use (the saver reads and restores variables through session_variable_get/set).
 *
 * Variable values and safe replacement: a variable's value lives in its node's
 * runtime record (node_rt_t.value), read without locks by runs in any thread. An
 * update either writes the tensor's data in place (plain stores: concurrent steps
 * may lose updates, never corrupt memory) or replaces the pointer (Assign of a new
 * shape, initialisation, restore): the pointer is swapped atomically and the old
 * tensor is "retired", released only when no run is in progress, so a run that
 * loaded the old pointer can keep using it without taking a reference. */
#ifndef TFM_RUNTIME_SESSION_H
#define TFM_RUNTIME_SESSION_H

#include <pthread.h>
#include <stdatomic.h>

#include "ops/registry.h"
#include "tfmini/session.h"

typedef struct plan plan_t;

/* What the session keeps for one node of the graph; created on first use (when a
 * plan containing the node is compiled) and never moved, so plans point at it. */
typedef struct node_rt {
  _Atomic(tensor_t *) value;  /* variables: the current value (one owned reference) */
  void *state;                /* kctx.state of the node's kernel */
  const node_t *node;
} node_rt_t;

struct tfm_session {
  graph_t *graph;
  pthread_mutex_t lock;       /* guards rt growth, the plan cache and `retired` */
  node_rt_t **rt;             /* by node id; NULL until needed */
  int rt_cap;
  _Atomic(plan_t *) plans;    /* the plan cache: a list searched without the lock
                                 (plans are only added, and freed with the session) */
  _Atomic int active;         /* runs (and readers) in progress */
  _Atomic int has_retired;
  tensor_t **retired;         /* replaced variable values waiting for active == 0 */
  int n_retired, cap_retired;
};

session_t *session_new(graph_t *g, tfm_status *st);
void session_delete(session_t *s);
static inline graph_t *session_graph(const session_t *s) { return s->graph; }

/* The runtime record of `n`, created if needed. Caller holds s->lock.
 * NULL with RESOURCE_EXHAUSTED. */
node_rt_t *session_node_rt_locked(session_t *s, const node_t *n, tfm_status *st);

/* A variable's current value: a new reference, or NULL when not initialised. */
tensor_t *session_variable_get(session_t *s, const node_t *var);
/* Replaces a variable's value by `t` (a reference is added; the caller keeps its
 * own). t NULL makes it uninitialised. Errors: INVALID_ARGUMENT (not a variable
 * of this session's graph), RESOURCE_EXHAUSTED. */
tfm_code session_variable_set(session_t *s, const node_t *var, tensor_t *t, tfm_status *st);

/* Bracket every run or lock-free read of variable values. */
static inline void session_enter(session_t *s) {
  atomic_fetch_add(&s->active, 1);
}
void session_leave_slow(session_t *s);
static inline void session_leave(session_t *s) {
  if (atomic_fetch_sub(&s->active, 1) == 1 && atomic_load(&s->has_retired)) session_leave_slow(s);
}
/* Stores `t` (an owned reference) as rt's value; the old value is retired.
 * Called inside session_enter/leave. */
void session_replace_value(session_t *s, node_rt_t *rt, tensor_t *t);

/* The plan for a run signature: from the cache, or compiled and cached. The
 * session owns it. Errors: those of plan_compile. */
plan_t *session_plan(session_t *s, output_t *const *feeds, int n_feeds,
                     output_t *const *fetches, int n_fetches, node_t *const *targets,
                     int n_targets, tfm_status *st);

#endif
