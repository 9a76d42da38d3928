/* tf.Variable and tf.get_variable: the VariableV2 op, its initializer "<name>/Assign"
 * and its read snapshot "<name>/read", named and attributed as TensorFlow does;
 * initializers built under "<name>/Initializer/"; tf.global_variables_initializer. */
#include <math.h>
#include <string.h>

#include "core/mem.h"
#include "ops/build.h"
#include "tfmini/ops.h"

/* Runs `body` outside every control-dependency scope (TF's init_scope: a
 * variable never depends on the ops around its creation). */
typedef struct saved_control {
  int n;
} saved_control_t;

static saved_control_t control_lift(graph_t *g) {
  saved_control_t s = {g->n_control_scopes};
  g->n_control_scopes = 0;
  return s;
}

static void control_restore(graph_t *g, saved_control_t s) { g->n_control_scopes = s.n; }

/* Builds VariableV2 "<scope>", "<scope>/Assign" and "<scope>/read" for a scope
 * already pushed (its full name `scope`), and registers the variable. */
static variable_t *make_variable(graph_t *g, const char *scope, output_t *init, bool trainable,
                                 tfm_status *st) {
  char buf[SHAPE_STR_MAX];
  if (!shape_is_fully_defined(&init->shape)) {
    status_set(st, TFM_INVALID_ARGUMENT,
               "variable '%s': the initial value '%s' must have a fully defined shape, got %s", scope,
               init->node->name, shape_str(&init->shape, buf));
    return NULL;
  }
  attr_t vattrs[] = {ATTR_SHAPE_V("shape", init->shape), ATTR_TYPE_V("dtype", init->dtype)};
  node_t *var = graph_add_op(g, "VariableV2", scope, true, NULL, 0, vattrs, 2, NULL, 0, st);
  if (!var) return NULL;
  size_t len = strlen(scope) + 6;
  char *loc = mem_alloc(len);
  if (!loc) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "variable '%s': out of memory", scope);
    return NULL;
  }
  memcpy(loc, "loc:@", 5);
  memcpy(loc + 5, scope, len - 5);
  tstring_t cls = {loc, len - 1};
  attr_t colocate = {.name = "_class", .value = {.kind = ATTR_LIST_S, .u.list = {.n = 1, .s = &cls}}};
  attr_t aattrs[] = {ATTR_B_V("use_locking", true), ATTR_B_V("validate_shape", true), colocate};
  output_t *ain[2] = {&var->outputs[0], init};
  node_t *assign = graph_add_op(g, "Assign", "Assign", false, ain, 2, aattrs, 3, NULL, 0, st);
  node_t *read = assign ? graph_add_op(g, "Identity", "read", false, ain, 1, &colocate, 1, NULL, 0, st)
                        : NULL;
  mem_free(loc);
  if (!read) return NULL;
  return graph_add_variable(g, var, assign, &read->outputs[0], init, trainable, st);
}

TFM_API tfm_variable *tfm_variable_new(tfm_graph *g, tfm_output *initial_value, int trainable,
                                       const char *name, tfm_status *st) {
  if (!builder_inputs_ok("tfm_variable_new", st, 1, initial_value)) return NULL;
  graph_t *gr = g ? g : initial_value->node->graph;
  graph_lock(gr);
  saved_control_t saved = control_lift(gr);
  variable_t *v = NULL;
  char *scope = op_scope_push(gr, name, "Variable", st);
  if (scope) {
    v = make_variable(gr, scope, initial_value, trainable != 0, st);
    graph_pop_name_scope(gr, NULL);
    mem_free(scope);
  }
  control_restore(gr, saved);
  graph_unlock(gr);
  if (v) status_ok(st);
  return v;
}

/* ---- initializers (built inside "<var>/Initializer"; the random ones are
 * the random family's builders, named as TensorFlow's initializers name them) ---- */

/* fan_in / fan_out as TensorFlow's variance-scaling initializers compute them:
 * [in, out] for dense kernels, [kh, kw, in, out] for convolutions. */
static void fans(const shape_t *s, double *fan_in, double *fan_out) {
  if (s->rank < 1) {
    *fan_in = *fan_out = 1;
  } else if (s->rank == 1) {
    *fan_in = *fan_out = (double)s->dim[0];
  } else {
    double receptive = 1;
    for (int i = 0; i < s->rank - 2; i++) receptive *= (double)s->dim[i];
    *fan_in = (double)s->dim[s->rank - 2] * receptive;
    *fan_out = (double)s->dim[s->rank - 1] * receptive;
  }
}

static output_t *initial_value(graph_t *g, const shape_t *s, tfm_dtype dt, tfm_initializer init,
                               double a, double b, int64_t seed, tfm_status *st) {
  switch (init) {
    case TFM_INIT_ZEROS: return tfm_zeros(g, s->dim, s->rank, dt, NULL, st);
    case TFM_INIT_ONES: return tfm_ones(g, s->dim, s->rank, dt, NULL, st);
    case TFM_INIT_CONSTANT: {
      tensor_t *t = tensor_new(dt, s, st), one;
      unsigned char buf[8];
      output_t *r = NULL;
      if (!t) return NULL;
      scalar_view(&one, dt, buf, a);
      for (int64_t i = 0; i < t->num_elements; i++)
        memcpy((char *)t->data + (size_t)i * dtype_size(dt), buf, dtype_size(dt));
      r = op_const_tensor(g, t, "Const", st);
      tensor_unref(t);
      return r;
    }
    case TFM_INIT_RANDOM_NORMAL:
      return tfm_random_normal(g, s->dim, s->rank, dt, a, b, seed, NULL, st);
    case TFM_INIT_TRUNCATED_NORMAL:
      return tfm_truncated_normal(g, s->dim, s->rank, dt, a, b, seed, NULL, st);
    case TFM_INIT_RANDOM_UNIFORM:
      return tfm_random_uniform(g, s->dim, s->rank, dt, a, b, seed, NULL, st);
    case TFM_INIT_GLOROT_UNIFORM: {
      double fi, fo;
      fans(s, &fi, &fo);
      double limit = sqrt(6.0 / (fi + fo > 0 ? fi + fo : 1));
      return tfm_random_uniform(g, s->dim, s->rank, dt, -limit, limit, seed, NULL, st);
    }
  }
  status_set(st, TFM_INVALID_ARGUMENT, "unknown initializer %d", (int)init);
  return NULL;
}

TFM_API tfm_variable *tfm_get_variable(tfm_graph *g, const char *name, tfm_dtype dtype,
                                       const int64_t *dims, int rank, tfm_initializer init, double a,
                                       double b, int64_t seed, int trainable, tfm_status *st) {
  graph_t *gr = graph_or_default(g);
  shape_t s;
  char want[SHAPE_STR_MAX], have[SHAPE_STR_MAX];
  if (!name || !*name) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_get_variable: name is empty");
    return NULL;
  }
  if (shape_make(dims, rank, false, &s, "tfm_get_variable", st) != TFM_OK) return NULL;
  if (!dtype_is_valid(dtype) || dtype == TFM_STRING) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_get_variable '%s': unsupported dtype %d", name, (int)dtype);
    return NULL;
  }
  graph_lock(gr);
  variable_t *v = NULL;
  const variable_scope_t *vs = graph_current_variable_scope(gr);
  char *full = graph_join_name(vs ? vs->name : NULL, name);
  if (!full) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "tfm_get_variable: out of memory");
    goto out;
  }
  variable_t *existing = graph_find_variable(gr, full);
  if (vs && vs->reuse) {
    if (!existing) {
      status_set(st, TFM_NOT_FOUND,
                 "Variable %s does not exist, or was not created with get_variable(); "
                 "reuse is set in the variable scope", full);
    } else if (!shape_equal(&existing->var->outputs[0].shape, &s)) {
      status_set(st, TFM_INVALID_ARGUMENT,
                 "Trying to share variable %s, but specified shape %s and found shape %s", full,
                 shape_str(&s, want), shape_str(&existing->var->outputs[0].shape, have));
    } else if (existing->var->outputs[0].dtype != dtype) {
      status_set(st, TFM_INVALID_ARGUMENT,
                 "Trying to share variable %s, but specified dtype %s and found dtype %s", full,
                 dtype_name(dtype), dtype_name(existing->var->outputs[0].dtype));
    } else {
      v = existing;
      status_ok(st);
    }
    goto out;
  }
  if (existing || graph_find_op(gr, full)) {
    status_set(st, TFM_ALREADY_EXISTS,
               "Variable %s already exists, disallowed. Did you mean to set reuse in the variable scope?",
               full);
    goto out;
  }
  /* Variable names depend on the variable scope only: build from the root. */
  saved_control_t saved = control_lift(gr);
  if (graph_push_name_scope(gr, "", st) == TFM_OK) {
    char *scope = op_scope_push(gr, full, "Variable", st);
    if (scope) {
      output_t *init_value = NULL;
      if (graph_push_name_scope(gr, "Initializer", st) == TFM_OK) {
        init_value = initial_value(gr, &s, dtype, init, a, b, seed, st);
        graph_pop_name_scope(gr, NULL);
      }
      if (init_value) v = make_variable(gr, scope, init_value, trainable != 0, st);
      graph_pop_name_scope(gr, NULL);
      mem_free(scope);
    }
    graph_pop_name_scope(gr, NULL);
  }
  control_restore(gr, saved);
  if (v) status_ok(st);
out:
  mem_free(full);
  graph_unlock(gr);
  return v;
}

/* ---- accessors ---- */

TFM_API tfm_op *tfm_variable_op(const tfm_variable *v) { return v ? v->var : NULL; }
TFM_API const char *tfm_variable_name(const tfm_variable *v) { return v ? v->var->name : NULL; }
TFM_API tfm_output *tfm_variable_ref(const tfm_variable *v) { return v ? &v->var->outputs[0] : NULL; }
TFM_API tfm_output *tfm_variable_value(const tfm_variable *v) {
  return v ? (v->snapshot ? v->snapshot : &v->var->outputs[0]) : NULL;
}
TFM_API tfm_op *tfm_variable_initializer(const tfm_variable *v) { return v ? v->initializer : NULL; }
TFM_API int tfm_variable_trainable(const tfm_variable *v) { return v && v->trainable; }

TFM_API int tfm_graph_num_variables(tfm_graph *g) { return graph_or_default(g)->n_variables; }

TFM_API tfm_variable *tfm_graph_variable_at(tfm_graph *g, int index) {
  graph_t *gr = graph_or_default(g);
  return index >= 0 && index < gr->n_variables ? gr->variables[index] : NULL;
}

TFM_API tfm_variable *tfm_graph_variable_by_name(tfm_graph *g, const char *name, tfm_status *st) {
  variable_t *v = graph_find_variable(graph_or_default(g), name);
  if (!v)
    status_set(st, TFM_NOT_FOUND, "variable '%s' is not in the graph", name ? name : "(null)");
  else
    status_ok(st);
  return v;
}

/* ---- initializers of many variables ---- */

TFM_API tfm_op *tfm_variables_initializer(tfm_graph *g, tfm_variable *const *vars, int n, const char *name,
                                          tfm_status *st) {
  graph_t *gr = graph_or_default(g);
  if (n < 0 || (n && !vars)) {
    status_set(st, TFM_INVALID_ARGUMENT, "tfm_variables_initializer: %d variables given as NULL", n);
    return NULL;
  }
  node_t **ops = n ? mem_calloc((size_t)n, sizeof *ops) : NULL;
  if (n && !ops) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "tfm_variables_initializer: out of memory");
    return NULL;
  }
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (!vars[i]) {
      mem_free(ops);
      status_set(st, TFM_INVALID_ARGUMENT, "tfm_variables_initializer: variable %d is NULL", i);
      return NULL;
    }
    if (vars[i]->initializer) ops[k++] = vars[i]->initializer;
  }
  node_t *r = graph_add_op(gr, "NoOp", name ? name : "init", false, NULL, 0, NULL, 0, ops, k, st);
  mem_free(ops);
  return r;
}

TFM_API tfm_op *tfm_global_variables_initializer(tfm_graph *g, tfm_status *st) {
  graph_t *gr = graph_or_default(g);
  graph_lock(gr);
  collection_t *c = graph_collection(gr, TFM_GLOBAL_VARIABLES, false, NULL);
  int n = c ? c->n_items : 0;
  variable_t **vars = n ? mem_calloc((size_t)n, sizeof *vars) : NULL;
  tfm_op *r = NULL;
  if (n && !vars) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "tfm_global_variables_initializer: out of memory");
  } else {
    int k = 0;
    for (int i = 0; i < n; i++)
      if (c->items[i].kind == ITEM_VARIABLE) vars[k++] = c->items[i].u.variable;
    r = tfm_variables_initializer(gr, vars, k, "init", st);
  }
  mem_free(vars);
  graph_unlock(gr);
  return r;
}
