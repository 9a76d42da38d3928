/* Scope stacks: name scopes (tf.name_scope), variable scopes (tf.variable_scope,
 * which also opens a name scope) and control-dependency scopes. */
#include <string.h>

#include "core/mem.h"
#include "graph/graph_impl.h"

static tfm_code grow(void **arr, int *cap, int need, size_t esz, tfm_status *st) {
  if (need <= *cap) return TFM_OK;
  int c = *cap ? *cap * 2 : 8;
  while (c < need) c *= 2;
  void *p = mem_realloc(*arr, (size_t)c * esz);
  if (!p) return status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory for scopes");
  *arr = p;
  *cap = c;
  return TFM_OK;
}

const char *graph_current_name_scope(const graph_t *g) {
  return g->n_name_scopes ? g->name_scopes[g->n_name_scopes - 1] : "";
}

/* Pushes an already resolved full scope name (taken over). */
static tfm_code push_resolved(graph_t *g, char *full, tfm_status *st) {
  if (grow((void **)&g->name_scopes, &g->cap_name_scopes, g->n_name_scopes + 1,
           sizeof *g->name_scopes, st) != TFM_OK) {
    mem_free(full);
    return TFM_RESOURCE_EXHAUSTED;
  }
  g->name_scopes[g->n_name_scopes++] = full;
  return status_ok(st);
}

tfm_code graph_push_name_scope(graph_t *g, const char *name, tfm_status *st) {
  if (!name) name = "";
  if (!names_valid(name, true))
    return status_set(st, TFM_INVALID_ARGUMENT, "'%s' is not a valid scope name", name);
  graph_lock(g);
  char *full;
  size_t len = strlen(name);
  if (len == 0) {
    full = mem_strdup("");
  } else if (name[len - 1] == '/') {
    /* Re-entering an exact scope: used as given, no uniquifying. */
    full = mem_strndup(name, len - 1);
    if (full && names_mark(g, full, st) != TFM_OK) {
      mem_free(full);
      graph_unlock(g);
      return TFM_RESOURCE_EXHAUSTED;
    }
  } else {
    char *joined = graph_join_name(graph_current_name_scope(g), name);
    full = joined ? names_unique(g, joined, true, st) : NULL;
    mem_free(joined);
  }
  tfm_code rc = full ? push_resolved(g, full, st)
                     : status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory for scope '%s'", name);
  graph_unlock(g);
  return rc;
}

tfm_code graph_pop_name_scope(graph_t *g, tfm_status *st) {
  graph_lock(g);
  tfm_code rc;
  if (!g->n_name_scopes) {
    rc = status_set(st, TFM_FAILED_PRECONDITION, "pop_name_scope: no name scope is open");
  } else {
    mem_free(g->name_scopes[--g->n_name_scopes]);
    rc = status_ok(st);
  }
  graph_unlock(g);
  return rc;
}

tfm_code graph_push_variable_scope(graph_t *g, const char *name, bool reuse, tfm_status *st) {
  if (!name || !*name)
    return status_set(st, TFM_INVALID_ARGUMENT, "push_variable_scope: the scope name is empty");
  graph_lock(g);
  const variable_scope_t *parent = g->n_var_scopes ? &g->var_scopes[g->n_var_scopes - 1] : NULL;
  variable_scope_t vs = {graph_join_name(parent ? parent->name : NULL, name),
                         reuse || (parent && parent->reuse)};
  tfm_code rc = TFM_OK;
  if (!vs.name)
    rc = status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory for scope '%s'", name);
  else if (grow((void **)&g->var_scopes, &g->cap_var_scopes, g->n_var_scopes + 1,
                sizeof *g->var_scopes, st) != TFM_OK)
    rc = TFM_RESOURCE_EXHAUSTED;
  else if ((rc = graph_push_name_scope(g, name, st)) == TFM_OK)
    g->var_scopes[g->n_var_scopes++] = vs;
  if (rc != TFM_OK) mem_free(vs.name);
  graph_unlock(g);
  return rc;
}

tfm_code graph_pop_variable_scope(graph_t *g, tfm_status *st) {
  graph_lock(g);
  tfm_code rc;
  if (!g->n_var_scopes) {
    rc = status_set(st, TFM_FAILED_PRECONDITION, "pop_variable_scope: no variable scope is open");
  } else {
    mem_free(g->var_scopes[--g->n_var_scopes].name);
    rc = graph_pop_name_scope(g, st);
  }
  graph_unlock(g);
  return rc;
}

const variable_scope_t *graph_current_variable_scope(const graph_t *g) {
  return g->n_var_scopes ? &g->var_scopes[g->n_var_scopes - 1] : NULL;
}

tfm_code graph_push_control_dependencies(graph_t *g, node_t *const *ops, int n, tfm_status *st) {
  if (n < 0 || (n > 0 && !ops))
    return status_set(st, TFM_INVALID_ARGUMENT, "control_dependencies: %d ops given as NULL", n);
  for (int i = 0; i < n; i++) {
    if (!ops[i])
      return status_set(st, TFM_INVALID_ARGUMENT, "control_dependencies: op %d is NULL", i);
    if (ops[i]->graph != g)
      return status_set(st, TFM_INVALID_ARGUMENT,
                        "control_dependencies: op '%s' belongs to another graph", ops[i]->name);
  }
  graph_lock(g);
  tfm_code rc = TFM_OK;
  node_t **list = mem_calloc((size_t)n + 1, sizeof *list);
  if (!list ||
      grow((void **)&g->control_scopes, &g->cap_control_scopes, g->n_control_scopes + 1,
           sizeof *g->control_scopes, st) != TFM_OK) {
    mem_free(list);
    rc = status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory for control dependencies");
  } else {
    if (n) memcpy(list, ops, (size_t)n * sizeof *list);
    g->control_scopes[g->n_control_scopes++] = list;
    rc = status_ok(st);
  }
  graph_unlock(g);
  return rc;
}

tfm_code graph_pop_control_dependencies(graph_t *g, tfm_status *st) {
  graph_lock(g);
  tfm_code rc;
  if (!g->n_control_scopes) {
    rc = status_set(st, TFM_FAILED_PRECONDITION,
                    "pop_control_dependencies: no control-dependency scope is open");
  } else {
    mem_free(g->control_scopes[--g->n_control_scopes]);
    rc = status_ok(st);
  }
  graph_unlock(g);
  return rc;
}

int scopes_control_count(const graph_t *g) {
  int n = 0;
  for (int s = 0; s < g->n_control_scopes; s++)
    for (node_t **p = g->control_scopes[s]; *p; p++) n++;
  return n;
}

void scopes_free(graph_t *g) {
  for (int i = 0; i < g->n_name_scopes; i++) mem_free(g->name_scopes[i]);
  mem_free(g->name_scopes);
  for (int i = 0; i < g->n_var_scopes; i++) mem_free(g->var_scopes[i].name);
  mem_free(g->var_scopes);
  for (int i = 0; i < g->n_control_scopes; i++) mem_free(g->control_scopes[i]);
  mem_free(g->control_scopes);
}
