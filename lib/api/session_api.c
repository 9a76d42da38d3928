/* The public session API (include/tfmini/session.h): argument checks over
 * lib/runtime. */
#include "core/mem.h"
#include "runtime/plan.h"
#include "runtime/session.h"

struct tfm_callable {
  plan_t *plan; /* owned by the session's plan cache */
};

TFM_API tfm_session *tfm_session_new(tfm_graph *graph, tfm_status *status) {
  graph_t *g = graph_or_default(graph);
  if (!g) {
    status_set(status, TFM_RESOURCE_EXHAUSTED, "tfm_session_new: no default graph");
    return NULL;
  }
  return session_new(g, status);
}

TFM_API void tfm_session_delete(tfm_session *session) { session_delete(session); }

static tfm_code check_lists(const char *fn, const void *feeds, const void *feed_values, int n_feeds,
                            const void *fetches, const void *fetch_values, int n_fetches,
                            const void *targets, int n_targets, tfm_status *st) {
  if (n_feeds < 0 || n_fetches < 0 || n_targets < 0)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: negative count (feeds %d, fetches %d, targets %d)",
                      fn, n_feeds, n_fetches, n_targets);
  if (n_feeds > 0 && (!feeds || !feed_values))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: %d feeds but no feed list", fn, n_feeds);
  if (n_fetches > 0 && (!fetches || !fetch_values))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: %d fetches but no fetch list", fn, n_fetches);
  if (n_targets > 0 && !targets)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: %d targets but no target list", fn, n_targets);
  return TFM_OK;
}

TFM_API tfm_code tfm_session_run(tfm_session *session, tfm_output *const *feeds,
                                 tfm_tensor *const *feed_values, int n_feeds,
                                 tfm_output *const *fetches, tfm_tensor **fetch_values, int n_fetches,
                                 tfm_op *const *targets, int n_targets, tfm_status *status) {
  if (fetch_values)
    for (int i = 0; i < n_fetches; i++) fetch_values[i] = NULL;
  if (!session) return status_set(status, TFM_INVALID_ARGUMENT, "tfm_session_run: session is NULL");
  tfm_code code = check_lists("tfm_session_run", feeds, feed_values, n_feeds, fetches, fetch_values,
                              n_fetches, targets, n_targets, status);
  if (code != TFM_OK) return code;
  plan_t *p = session_plan(session, feeds, n_feeds, fetches, n_fetches, targets, n_targets, status);
  if (!p) return status_code(status) != TFM_OK ? status_code(status) : TFM_INTERNAL;
  return plan_run(p, feed_values, fetch_values, status);
}

TFM_API tfm_callable *tfm_session_make_callable(tfm_session *session, tfm_output *const *feeds,
                                                int n_feeds, tfm_output *const *fetches,
                                                int n_fetches, tfm_op *const *targets,
                                                int n_targets, tfm_status *status) {
  if (!session) {
    status_set(status, TFM_INVALID_ARGUMENT, "tfm_session_make_callable: session is NULL");
    return NULL;
  }
  /* The value lists are given at run time: pass the signature lists in their place. */
  if (check_lists("tfm_session_make_callable", feeds, feeds, n_feeds, fetches, fetches, n_fetches,
                  targets, n_targets, status) != TFM_OK)
    return NULL;
  plan_t *p = session_plan(session, feeds, n_feeds, fetches, n_fetches, targets, n_targets, status);
  if (!p) return NULL;
  tfm_callable *c = mem_alloc(sizeof *c);
  if (!c) {
    status_set(status, TFM_RESOURCE_EXHAUSTED, "out of memory creating a callable");
    return NULL;
  }
  c->plan = p;
  return c;
}

TFM_API tfm_code tfm_callable_run(tfm_callable *callable, tfm_tensor *const *feed_values,
                                  tfm_tensor **fetch_values, tfm_status *status) {
  if (!callable) return status_set(status, TFM_INVALID_ARGUMENT, "tfm_callable_run: callable is NULL");
  const plan_t *p = callable->plan;
  if ((p->n_feeds > 0 && !feed_values) || (p->n_fetches > 0 && !fetch_values))
    return status_set(status, TFM_INVALID_ARGUMENT,
                      "tfm_callable_run: the callable takes %d feeds and %d fetches; a list is NULL",
                      p->n_feeds, p->n_fetches);
  return plan_run(callable->plan, feed_values, fetch_values, status);
}

TFM_API void tfm_callable_delete(tfm_callable *callable) { mem_free(callable); }

TFM_API tfm_tensor *tfm_session_variable_value(tfm_session *session, tfm_variable *v,
                                               tfm_status *status) {
  if (!session || !v || !v->var) {
    status_set(status, TFM_INVALID_ARGUMENT, "tfm_session_variable_value: NULL argument");
    return NULL;
  }
  if (v->var->graph != session->graph) {
    status_set(status, TFM_INVALID_ARGUMENT,
               "tfm_session_variable_value: variable '%s' belongs to another graph", v->var->name);
    return NULL;
  }
  tensor_t *t = session_variable_get(session, v->var);
  if (!t) {
    status_set(status, TFM_FAILED_PRECONDITION, "Attempting to use uninitialized value %s",
               v->var->name);
    return NULL;
  }
  /* A snapshot: the variable's own buffer is updated in place by later runs. */
  tensor_t *copy = tensor_copy(t, status);
  tensor_unref(t);
  return copy;
}
