/* The graph: lifetime, the default graph, adding ops (attrs, control inputs,
 * shape inference), attr getters and random seeds. Names, scopes, collections
 * and variable records live in their own files of this folder. */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "graph/graph_impl.h"
#include "ops/registry.h"

/* ---- lifetime ---- */

void graph_lock(const graph_t *g) { pthread_mutex_lock((pthread_mutex_t *)&g->lock); }
void graph_unlock(const graph_t *g) { pthread_mutex_unlock((pthread_mutex_t *)&g->lock); }

graph_t *graph_new(tfm_status *st) {
  graph_t *g = mem_calloc(1, sizeof *g);
  if (!g) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "graph_new: out of memory");
    return NULL;
  }
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&g->lock, &a);
  pthread_mutexattr_destroy(&a);
  status_ok(st);
  return g;
}

static void node_free(node_t *n) {
  if (!n) return;
  mem_free(n->name);
  mem_free(n->type);
  mem_free(n->inputs);
  mem_free(n->control_inputs);
  for (int i = 0; i < n->n_attrs; i++) {
    mem_free(n->attrs[i].name);
    attr_value_clear(&n->attrs[i].value);
  }
  mem_free(n->attrs);
  for (int i = 0; i < n->n_outputs; i++) tensor_unref(n->outputs[i].const_value);
  mem_free(n->outputs);
  mem_free(n->device);
  mem_free(n);
}

void graph_delete(graph_t *g) {
  if (!g) return;
  for (int i = 0; i < g->n_nodes; i++) node_free(g->nodes[i]);
  mem_free(g->nodes);
  names_free(g);
  scopes_free(g);
  collections_free(g);
  variables_free(g);
  pthread_mutex_destroy(&g->lock);
  mem_free(g);
}

/* ---- the default graph ----
 * Created on first use. tfm_reset_default_graph frees the old one: as in
 * TensorFlow, no session may still use it (its ops would dangle). */
static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static graph_t *default_graph;

graph_t *graph_default(void) {
  pthread_mutex_lock(&default_lock);
  if (!default_graph) default_graph = graph_new(NULL);
  graph_t *g = default_graph;
  pthread_mutex_unlock(&default_lock);
  return g;
}

/* The library owns the default graph: free it when the library is unloaded so
 * leak checkers see a clean exit. */
__attribute__((destructor)) static void graph_default_free(void) {
  pthread_mutex_lock(&default_lock);
  graph_t *g = default_graph;
  default_graph = NULL;
  pthread_mutex_unlock(&default_lock);
  graph_delete(g);
}

tfm_code graph_reset_default(tfm_status *st) {
  graph_t *fresh = graph_new(st);
  if (!fresh) return TFM_RESOURCE_EXHAUSTED;
  pthread_mutex_lock(&default_lock);
  graph_t *old = default_graph;
  default_graph = fresh;
  pthread_mutex_unlock(&default_lock);
  graph_delete(old);
  return status_ok(st);
}

/* ---- attrs ---- */

static int attr_cmp(const void *a, const void *b) {
  return strcmp(((const attr_t *)a)->name, ((const attr_t *)b)->name);
}

static bool kind_matches(attr_kind_t want, const attr_value_t *v) {
  if (v->kind == want) return true;
  bool want_list = want >= ATTR_LIST_S && want <= ATTR_LIST_SHAPE;
  return want_list && v->kind == ATTR_LIST_EMPTY;
}

static const char *kind_name(attr_kind_t k) {
  static const char *names[] = {"none", "string", "int", "float", "bool", "type", "shape",
                                "tensor", "list(string)", "list(int)", "list(float)",
                                "list(bool)", "list(type)", "list(shape)", "list", "func"};
  return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

static const attr_def_t *find_attr_def(const op_def_t *def, const char *name) {
  for (const attr_def_t *a = def->attrs; a && a->name; a++)
    if (strcmp(a->name, name) == 0) return a;
  return NULL;
}

/* Copies the given attrs, checks them against the op's schema and fills the
 * defaults. A required type attr "T" missing from the list is taken from the
 * first input, as TensorFlow's Python layer infers it. */
static tfm_code node_set_attrs(node_t *n, const attr_t *attrs, int n_attrs, tfm_status *st) {
  const op_def_t *def = n->def;
  int n_defs = 0;
  for (const attr_def_t *a = def->attrs; a && a->name; a++) n_defs++;
  n->attrs = mem_calloc((size_t)(n_attrs + n_defs) + 1, sizeof *n->attrs);
  if (!n->attrs) return status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory for attrs");
  for (int i = 0; i < n_attrs; i++) {
    const attr_t *a = &attrs[i];
    if (!a->name)
      return status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': attr %d has no name", n->type, n->name, i);
    for (int j = 0; j < i; j++)
      if (strcmp(attrs[j].name, a->name) == 0)
        return status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': attr '%s' given twice", n->type,
                          n->name, a->name);
    const attr_def_t *ad = find_attr_def(def, a->name);
    if (!ad && a->name[0] != '_')
      return status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': op %s has no attr '%s'", n->type,
                        n->name, n->type, a->name);
    if (ad && !kind_matches(ad->kind, &a->value))
      return status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': attr '%s' must be a %s, got a %s",
                        n->type, n->name, a->name, kind_name(ad->kind), kind_name(a->value.kind));
    if (!(n->attrs[n->n_attrs].name = mem_strdup(a->name)))
      return status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory for attrs");
    n->n_attrs++;
    if (attr_value_copy(&a->value, &n->attrs[n->n_attrs - 1].value, st) != TFM_OK)
      return TFM_RESOURCE_EXHAUSTED;
  }
  for (const attr_def_t *ad = def->attrs; ad && ad->name; ad++) {
    bool given = false;
    for (int i = 0; i < n_attrs && !given; i++) given = strcmp(attrs[i].name, ad->name) == 0;
    if (given) continue;
    attr_value_t v = ad->fallback;
    if (v.kind == ATTR_NONE) {
      if (ad->kind == ATTR_TYPE && strcmp(ad->name, "T") == 0 && n->n_inputs > 0) {
        v = (attr_value_t){.kind = ATTR_TYPE, .u.type = n->inputs[0]->dtype};
      } else {
        return status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': missing required attr '%s' (%s)",
                          n->type, n->name, ad->name, kind_name(ad->kind));
      }
    }
    if (!(n->attrs[n->n_attrs].name = mem_strdup(ad->name)))
      return status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory for attrs");
    n->n_attrs++;
    if (attr_value_copy(&v, &n->attrs[n->n_attrs - 1].value, st) != TFM_OK)
      return TFM_RESOURCE_EXHAUSTED;
  }
  qsort(n->attrs, (size_t)n->n_attrs, sizeof *n->attrs, attr_cmp);
  return TFM_OK;
}

const attr_value_t *node_attr(const node_t *n, const char *name) {
  int lo = 0, hi = n->n_attrs - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2, c = strcmp(n->attrs[mid].name, name);
    if (c == 0) return &n->attrs[mid].value;
    if (c < 0) lo = mid + 1; else hi = mid - 1;
  }
  return NULL;
}

int64_t node_attr_int(const node_t *n, const char *name, int64_t fallback) {
  const attr_value_t *v = node_attr(n, name);
  return v && v->kind == ATTR_I ? v->u.i : fallback;
}

float node_attr_float(const node_t *n, const char *name, float fallback) {
  const attr_value_t *v = node_attr(n, name);
  return v && v->kind == ATTR_F ? v->u.f : fallback;
}

bool node_attr_bool(const node_t *n, const char *name, bool fallback) {
  const attr_value_t *v = node_attr(n, name);
  return v && v->kind == ATTR_B ? v->u.b : fallback;
}

int node_attr_type(const node_t *n, const char *name, int fallback) {
  const attr_value_t *v = node_attr(n, name);
  return v && v->kind == ATTR_TYPE ? v->u.type : fallback;
}

/* ---- adding ops ---- */

static bool has_control(const node_t *n, const node_t *c) {
  for (int i = 0; i < n->n_control_inputs; i++)
    if (n->control_inputs[i] == c) return true;
  return false;
}

static bool feeds_data(const node_t *n, const node_t *c) {
  for (int i = 0; i < n->n_inputs; i++)
    if (n->inputs[i]->node == c) return true;
  return false;
}

/* Control inputs: the active control-dependency scopes, then `control`;
 * duplicates and ops that already feed a data input are skipped (as TF does). */
static tfm_code node_set_control(graph_t *g, node_t *n, node_t *const *control, int n_control,
                                 tfm_status *st) {
  int max = scopes_control_count(g) + n_control;
  if (!max) return TFM_OK;
  n->control_inputs = mem_calloc((size_t)max, sizeof *n->control_inputs);
  if (!n->control_inputs) return status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory");
  for (int s = 0; s <= g->n_control_scopes; s++) {
    node_t *const *list = s < g->n_control_scopes ? g->control_scopes[s] : control;
    int count = s < g->n_control_scopes ? -1 : n_control;
    for (int i = 0; list && (count < 0 ? list[i] != NULL : i < count); i++) {
      node_t *c = list[i];
      if (!c)
        return status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': control input %d is NULL", n->type,
                          n->name, i);
      if (c->graph != g)
        return status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': control input '%s' is in another graph",
                          n->type, n->name, c->name);
      if (!has_control(n, c) && !feeds_data(n, c)) n->control_inputs[n->n_control_inputs++] = c;
    }
  }
  return TFM_OK;
}

/* The node's full name. For generated names `*base_full` receives the scoped
 * base ("loss/Add"), to be marked taken once the node is in. */
static char *resolve_name(graph_t *g, const char *type, const char *name, bool exact,
                          char **base_full, tfm_status *st) {
  *base_full = NULL;
  if (exact) {
    if (!names_valid(name, false)) {
      status_set(st, TFM_INVALID_ARGUMENT, "%s: '%s' is not a valid op name", type, name ? name : "");
      return NULL;
    }
    if (graph_find_op(g, name)) {
      status_set(st, TFM_ALREADY_EXISTS, "%s: a node named '%s' already exists", type, name);
      return NULL;
    }
    char *r = mem_strdup(name);
    if (!r) status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory");
    return r;
  }
  const char *base = name && *name ? name : type;
  char *full = graph_join_name(graph_current_name_scope(g), base);
  if (!full) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory");
    return NULL;
  }
  if (!names_valid(full, false)) { /* as TF, the whole name: a root scope "_x" is refused here */
    status_set(st, TFM_INVALID_ARGUMENT, "%s: '%s' is not a valid op name", type, full);
    mem_free(full);
    return NULL;
  }
  /* Preview only: nothing is marked until the node is in. */
  char *r = names_unique(g, full, false, st);
  if (r)
    *base_full = full;
  else
    mem_free(full);
  return r;
}

static tfm_code graph_insert(graph_t *g, node_t *n, const char *base_full, tfm_status *st) {
  if (g->n_nodes == g->cap_nodes) {
    int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
    node_t **p = mem_realloc(g->nodes, (size_t)cap * sizeof *p);
    if (!p) return status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory adding '%s'", n->name);
    g->nodes = p;
    g->cap_nodes = cap;
  }
  /* Marking first: if indexing then fails, a name stays taken (harmless) but
   * the index never points at a node that is not in the graph. */
  if (!base_full) {
    if (names_mark(g, n->name, st) != TFM_OK) return TFM_RESOURCE_EXHAUSTED;
  } else {
    /* Under the same lock as the preview, so this gives n->name again. */
    char *marked = names_unique(g, base_full, true, st);
    if (!marked) return TFM_RESOURCE_EXHAUSTED;
    mem_free(marked);
  }
  if (names_index_node(g, n, st) != TFM_OK) return TFM_RESOURCE_EXHAUSTED;
  n->id = g->n_nodes;
  g->nodes[g->n_nodes++] = n;
  g->version++;
  return TFM_OK;
}

node_t *graph_add_op(graph_t *g, const char *type, const char *name, bool exact,
                     output_t *const *inputs, int n_inputs, const attr_t *attrs, int n_attrs,
                     node_t *const *control, int n_control, tfm_status *st) {
  if (!g || !type) {
    status_set(st, TFM_INVALID_ARGUMENT, "add_op: %s is NULL", g ? "the op type" : "the graph");
    return NULL;
  }
  if (n_inputs < 0 || n_attrs < 0 || n_control < 0 || (n_inputs && !inputs) ||
      (n_attrs && !attrs)) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s: inputs or attrs given as NULL with a count", type);
    return NULL;
  }
  graph_lock(g);
  node_t *n = NULL;
  char *base_full = NULL;
  char *full = resolve_name(g, type, name, exact, &base_full, st);
  if (!full) goto fail;
  const op_def_t *def = op_registry_find(type);
  if (!def) {
    status_set(st, TFM_UNIMPLEMENTED, "node '%s': op type '%s' is not registered", full, type);
    mem_free(full);
    goto fail;
  }
  if (!(n = mem_calloc(1, sizeof *n))) {
    mem_free(full);
    goto oom;
  }
  n->graph = g;
  n->name = full;
  n->def = def;
  if (!(n->type = mem_strdup(type)) || !(n->device = mem_strdup(""))) goto oom;
  if (!(def->flags & OP_VARIADIC) && n_inputs != def->n_inputs) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': expects %d input%s, got %d", type, full,
               def->n_inputs, def->n_inputs == 1 ? "" : "s", n_inputs);
    goto fail;
  }
  if (n_inputs && !(n->inputs = mem_calloc((size_t)n_inputs, sizeof *n->inputs))) goto oom;
  for (int i = 0; i < n_inputs; i++) {
    if (!inputs[i]) {
      status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': input %d is NULL", type, full, i);
      goto fail;
    }
    if (inputs[i]->node->graph != g) {
      status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': input %d ('%s') is in another graph", type,
                 full, i, inputs[i]->node->name);
      goto fail;
    }
    n->inputs[n->n_inputs++] = inputs[i];
  }
  if ((def->flags & OP_REF_INPUT0) && (n_inputs < 1 || !n->inputs[0]->is_ref)) {
    char buf[256];
    status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': input 0 must be a variable, got '%s'", type,
               full, n_inputs ? output_name(n->inputs[0], buf, sizeof buf) : "nothing");
    goto fail;
  }
  if (node_set_attrs(n, attrs, n_attrs, st) != TFM_OK) goto fail;
  if (node_set_control(g, n, control, n_control, st) != TFM_OK) goto fail;
  int n_out = def->num_outputs ? def->num_outputs(n) : def->n_outputs;
  if (n_out < 0) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': invalid output count %d", type, full, n_out);
    goto fail;
  }
  if (n_out && !(n->outputs = mem_calloc((size_t)n_out, sizeof *n->outputs))) goto oom;
  n->n_outputs = n_out;
  for (int i = 0; i < n_out; i++) {
    n->outputs[i] = (output_t){.node = n, .index = i, .dtype = TFM_INVALID,
                               .shape = shape_unknown()};
  }
  if (def->infer) {
    status_ok(st);
    if (def->infer(n, st) != TFM_OK) {
      if (status_code(st) == TFM_OK)
        status_set(st, TFM_INVALID_ARGUMENT, "%s '%s': shape inference failed", type, full);
      goto fail;
    }
  }
  if (graph_insert(g, n, base_full, st) != TFM_OK) goto fail;
  mem_free(base_full);
  graph_unlock(g);
  status_ok(st);
  return n;
oom:
  status_set(st, TFM_RESOURCE_EXHAUSTED, "graph: out of memory adding a %s op", type);
fail:
  node_free(n);
  mem_free(base_full);
  graph_unlock(g);
  return NULL;
}

void graph_remove_ops_from(graph_t *g, int first) {
  graph_lock(g);
  if (first >= 0 && first < g->n_nodes) {
    names_reindex(g, first);
    for (int i = first; i < g->n_nodes; i++) node_free(g->nodes[i]);
    g->n_nodes = first;
    g->version++;
  }
  graph_unlock(g);
}

/* ---- seeds ---- */

#define DEFAULT_GRAPH_SEED 87654321
#define MAXINT32 2147483647

void graph_op_seeds(graph_t *g, int64_t op_seed, bool has_op_seed, int64_t *seed,
                    int64_t *seed2) {
  int64_t s = 0, s2 = 0;
  graph_lock(g);
  if (g->has_seed) {
    s = g->seed;
    /* TF uses the graph's last op id: ops created so far. */
    s2 = has_op_seed ? op_seed : g->n_nodes;
    g->op_seed_counter++;
  } else if (has_op_seed) {
    s = DEFAULT_GRAPH_SEED;
    s2 = op_seed;
  }
  graph_unlock(g);
  /* TF avoids (0, 0), which would mean "nondeterministic", once a seed is set. */
  if ((g->has_seed || has_op_seed) && s == 0 && s2 == 0) s2 = MAXINT32;
  *seed = s;
  *seed2 = s2;
}
