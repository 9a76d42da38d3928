/* optimizer.minimize(): gradients of the loss w.r.t. the variables (gated per op,
 * as TF's GATE_OP), slots, one Apply* op per variable under
 * "<name>/update_<var>/", then the finishing op: a NoOp grouping the updates, or,
 * with a global step, an AssignAdd of 1 that runs after them. The kinds
 * (gradient_descent.c, momentum.c, adam.c) supply the per-variable pieces. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "graph/gradients.h"
#include "train/optimizer.h"
#include "tfmini/ops.h"

tfm_optimizer *optimizer_new(const optimizer_kind_t *kind, tfm_status *st) {
  tfm_optimizer *opt = mem_calloc(1, sizeof *opt);
  if (!opt) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory creating a %s optimizer", kind->name);
    return NULL;
  }
  opt->kind = kind;
  status_ok(st);
  return opt;
}

bool optimizer_hyper_ok(const optimizer_kind_t *kind, const char *param, double value, tfm_status *st) {
  if (isfinite(value)) return true;
  status_set(st, TFM_INVALID_ARGUMENT, "%s optimizer: %s is %g; it must be a finite number", kind->name, param,
             value);
  return false;
}

TFM_API void tfm_optimizer_delete(tfm_optimizer *opt) {
  if (!opt) return;
  mem_free(opt->slots);
  mem_free(opt);
}

TFM_API tfm_code tfm_optimizer_set_learning_rate_tensor(tfm_optimizer *opt, tfm_output *learning_rate,
                                                        tfm_status *status) {
  if (!opt || !learning_rate)
    return status_set(status, TFM_INVALID_ARGUMENT, "set_learning_rate_tensor: optimizer and tensor are required");
  if (!dtype_is_float(learning_rate->dtype) || learning_rate->shape.rank > 0) {
    char s[SHAPE_STR_MAX];
    return status_set(status, TFM_INVALID_ARGUMENT,
                      "%s: the learning rate must be a float scalar, got %s %s", opt->kind->name,
                      dtype_name(learning_rate->dtype), shape_str(&learning_rate->shape, s));
  }
  opt->learning_rate_tensor = learning_rate;
  return status_ok(status);
}

output_t *optimizer_constant(tfm_optimizer *opt, graph_t *g, double value, const char *name, tfm_status *st) {
  return tfm_scalar(g, value, opt->dtype, name, st);
}

output_t *optimizer_learning_rate(tfm_optimizer *opt, graph_t *g, tfm_status *st) {
  if (opt->learning_rate_tensor) return opt->learning_rate_tensor;
  return optimizer_constant(opt, g, opt->learning_rate, "learning_rate", st);
}

output_t *optimizer_cast(graph_t *g, output_t *x, tfm_dtype dtype, tfm_status *st) {
  if (!x || x->dtype == dtype) return x;
  return tfm_cast(g, x, dtype, "Cast", st);
}

static bool graph_has_variable(const graph_t *g, const variable_t *v) {
  for (int i = 0; i < g->n_variables; i++)
    if (g->variables[i] == v) return true;
  return false;
}

slot_t *optimizer_find_slot(tfm_optimizer *opt, graph_t *g, variable_t *var) {
  for (int i = 0; i < opt->n_slots; i++)
    if (opt->slots[i].primary == var && graph_has_variable(g, opt->slots[i].slot[0])) return &opt->slots[i];
  return NULL;
}

tfm_code optimizer_add_slot(tfm_optimizer *opt, variable_t *primary, variable_t *a, variable_t *b,
                            tfm_status *st) {
  if (opt->n_slots == opt->cap_slots) {
    int cap = opt->cap_slots ? 2 * opt->cap_slots : 8;
    slot_t *s = mem_realloc(opt->slots, (size_t)cap * sizeof *s);
    if (!s) return status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory recording optimizer slots");
    opt->slots = s;
    opt->cap_slots = cap;
  }
  opt->slots[opt->n_slots++] = (slot_t){.primary = primary, .slot = {a, b}};
  return TFM_OK;
}

variable_t *optimizer_zeros_slot(graph_t *g, variable_t *primary, const char *op_name, tfm_status *st) {
  const output_t *ref = &primary->var->outputs[0];
  char s[SHAPE_STR_MAX];
  if (!shape_is_fully_defined(&ref->shape)) {
    status_set(st, TFM_INVALID_ARGUMENT, "cannot create the %s slot of '%s': its shape %s is not fully defined",
               op_name, primary->var->name, shape_str(&ref->shape, s));
    return NULL;
  }
  tensor_t *zeros = tensor_new_zeros(ref->dtype, &ref->shape, st);
  if (!zeros) return NULL;
  size_t len = strlen(primary->var->name) + strlen(op_name) + 2;
  char *base = mem_alloc(len);
  variable_t *v = NULL;
  if (!base)
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory creating a slot of '%s'", primary->var->name);
  else {
    snprintf(base, len, "%s/%s", primary->var->name, op_name);
    v = train_variable_new(g, base, true, zeros, "Initializer/zeros", st);
  }
  mem_free(base);
  tensor_unref(zeros);
  return v;
}

node_t *optimizer_apply_op(graph_t *g, const char *type, output_t *const *inputs, int n_inputs,
                           bool has_nesterov, bool nesterov, tfm_status *st) {
  char *loc = train_colocation(inputs[0]->node->name, st);
  if (!loc) return NULL;
  tstring_t cls = {loc, strlen(loc)};
  attr_t attrs[] = {ATTR_TYPE_V("T", inputs[0]->dtype), ATTR_B_V("use_locking", false),
                    {.name = "_class", .value = {.kind = ATTR_LIST_S, .u.list = {.n = 1, .s = &cls}}},
                    ATTR_B_V("use_nesterov", nesterov)};
  node_t *n = graph_add_op(g, type, type, false, inputs, n_inputs, attrs, has_nesterov ? 4 : 3, NULL, 0, st);
  mem_free(loc);
  return n;
}

/* var_list NULL: the "trainable_variables" collection. Returns a mem_alloc'ed array. */
static variable_t **collect_vars(graph_t *g, variable_t *const *var_list, int n_vars, int *n_out,
                                 tfm_status *st) {
  collection_t *c = NULL;
  if (!var_list) {
    c = graph_collection(g, TFM_TRAINABLE_VARIABLES, false, NULL);
    n_vars = c ? c->n_items : 0;
  }
  if (n_vars <= 0) {
    status_set(st, TFM_INVALID_ARGUMENT, "minimize: no variables to optimize");
    return NULL;
  }
  variable_t **vars = mem_calloc((size_t)n_vars, sizeof *vars);
  if (!vars) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "minimize: out of memory");
    return NULL;
  }
  int n = 0;
  for (int i = 0; i < n_vars; i++) {
    variable_t *v = var_list ? var_list[i] : (c->items[i].kind == ITEM_VARIABLE ? c->items[i].u.variable : NULL);
    if (!v) continue;
    if (!v->var || v->var->graph != g) {
      status_set(st, TFM_INVALID_ARGUMENT, "minimize: var_list[%d] is not a variable of this graph", i);
      mem_free(vars);
      return NULL;
    }
    if (!dtype_is_float(v->var->outputs[0].dtype)) {
      status_set(st, TFM_INVALID_ARGUMENT, "minimize: variable '%s' has dtype %s; only float32/float64 can be trained",
                 v->var->name, dtype_name(v->var->outputs[0].dtype));
      mem_free(vars);
      return NULL;
    }
    vars[n++] = v;
  }
  *n_out = n;
  return vars;
}

/* Builds everything under the optimizer's scope (already pushed, full name
 * `scope`) and returns the final op. */
static node_t *apply_gradients(tfm_optimizer *opt, graph_t *g, variable_t *const *vars, output_t *const *grads,
                               int n, variable_t *global_step, const char *scope, tfm_status *st) {
  node_t **updates = mem_calloc((size_t)n + 2, sizeof *updates);
  if (!updates) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "minimize: out of memory");
    return NULL;
  }
  node_t *result = NULL;
  int n_updates = 0;
  if (opt->kind->prepare(opt, g, st) != TFM_OK) goto done;
  for (int i = 0; i < n; i++) {
    if (!grads[i]) continue;
    size_t len = strlen(vars[i]->var->name) + 8;
    char *update_scope = mem_alloc(len);
    if (!update_scope) {
      status_set(st, TFM_RESOURCE_EXHAUSTED, "minimize: out of memory");
      goto done;
    }
    snprintf(update_scope, len, "update_%s", vars[i]->var->name);
    tfm_code rc = graph_push_name_scope(g, update_scope, st);
    mem_free(update_scope);
    if (rc != TFM_OK) goto done;
    node_t *u = opt->kind->apply(opt, g, vars[i], grads[i], st);
    graph_pop_name_scope(g, NULL);
    if (!u) goto done;
    updates[n_updates++] = u;
  }
  int n_extra = 0;
  if (opt->kind->finish &&
      opt->kind->finish(opt, g, updates, n_updates, updates + n_updates, &n_extra, st) != TFM_OK)
    goto done;
  n_updates += n_extra;

  if (!global_step) {
    /* _finish(update_ops, name): the group NoOp carries the scope's own name. */
    result = graph_add_op(g, "NoOp", scope, true, NULL, 0, NULL, 0, updates, n_updates, st);
    goto done;
  }
  node_t *finish = graph_add_op(g, "NoOp", "update", false, NULL, 0, NULL, 0, updates, n_updates, st);
  if (!finish) goto done;
  tfm_dtype step_dt = global_step->var->outputs[0].dtype;
  output_t *one = tfm_scalar(g, 1.0, step_dt, "value", st);
  if (!one) goto done;
  output_t *in[] = {&global_step->var->outputs[0], one};
  attr_t attrs[] = {ATTR_TYPE_V("T", step_dt), ATTR_B_V("use_locking", false)};
  result = graph_add_op(g, "AssignAdd", scope, true, in, 2, attrs, 2, &finish, 1, st);

done:
  mem_free(updates);
  return result;
}

/* Checks shared by minimize and apply_gradients. */
static tfm_code check_context(tfm_optimizer *opt, graph_t *g, variable_t *global_step, tfm_status *st) {
  if (opt->learning_rate_tensor && opt->learning_rate_tensor->node->graph != g)
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: the learning-rate tensor '%s' is in another graph",
                      opt->kind->name, opt->learning_rate_tensor->node->name);
  if (global_step && (!global_step->var || global_step->var->graph != g ||
                      !dtype_is_integer(global_step->var->outputs[0].dtype)))
    return status_set(st, TFM_INVALID_ARGUMENT, "%s: global_step must be an integer variable of this graph",
                      opt->kind->name);
  return TFM_OK;
}

/* apply_gradients: slots for the variables that have a gradient, the updates under
 * the optimizer's scope, the result added to "train_op". */
static node_t *apply_all(tfm_optimizer *opt, graph_t *g, variable_t *const *vars, output_t *const *grads, int n,
                         variable_t *global_step, const char *name, tfm_status *st) {
  variable_t **with_grad = mem_calloc((size_t)n, sizeof *with_grad);
  if (!with_grad) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", opt->kind->name);
    return NULL;
  }
  node_t *result = NULL;
  int n_with = 0;
  for (int i = 0; i < n; i++)
    if (grads[i]) with_grad[n_with++] = vars[i];
  if (n_with == 0) {
    status_set(st, TFM_INVALID_ARGUMENT, "%s: no gradients provided for any of the %d variables (first: '%s')",
               opt->kind->name, n, vars[0]->var->name);
    goto done;
  }
  opt->dtype = with_grad[0]->var->outputs[0].dtype;
  if (opt->kind->create_slots && opt->kind->create_slots(opt, g, with_grad, n_with, st) != TFM_OK) goto done;
  if (graph_push_name_scope(g, name && name[0] ? name : opt->kind->name, st) != TFM_OK) goto done;
  char *scope = mem_strdup(graph_current_name_scope(g));
  if (scope)
    result = apply_gradients(opt, g, vars, grads, n, global_step, scope, st);
  else
    status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", opt->kind->name);
  graph_pop_name_scope(g, NULL);
  mem_free(scope);
  if (result) {
    collection_item_t item = {.kind = ITEM_OP, .u.op = result};
    if (graph_add_to_collection(g, TFM_TRAIN_OP, &item, st) != TFM_OK) result = NULL;
  }
done:
  mem_free(with_grad);
  return result;
}

TFM_API tfm_op *tfm_optimizer_minimize(tfm_optimizer *opt, tfm_graph *g, tfm_output *loss,
                                       tfm_variable *const *var_list, int n_vars, tfm_variable *global_step,
                                       const char *name, tfm_status *status) {
  tfm_status local;
  tfm_status *st = status ? status : &local;
  status_ok(st);
  if (!opt || !loss) {
    status_set(st, TFM_INVALID_ARGUMENT, "minimize: optimizer and loss are required");
    return NULL;
  }
  g = graph_or_default(g);
  if (loss->node->graph != g) {
    status_set(st, TFM_INVALID_ARGUMENT, "minimize: the loss '%s' is not in this graph", loss->node->name);
    return NULL;
  }
  if (check_context(opt, g, global_step, st) != TFM_OK) return NULL;
  int n = 0;
  variable_t **vars = collect_vars(g, var_list, n_vars, &n, st);
  if (!vars) return NULL;
  output_t **xs = mem_calloc((size_t)n, sizeof *xs);
  output_t **grads = mem_calloc((size_t)n, sizeof *grads);
  node_t *result = NULL;
  if (!xs || !grads) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "minimize: out of memory");
    goto done;
  }
  for (int i = 0; i < n; i++) xs[i] = &vars[i]->var->outputs[0];
  if (gradients_build(g, &loss, 1, xs, n, NULL, true, grads, st) != TFM_OK) goto done;
  result = apply_all(opt, g, vars, grads, n, global_step, name, st);

done:
  mem_free(vars);
  mem_free(xs);
  mem_free(grads);
  return result;
}

TFM_API tfm_op *tfm_optimizer_apply_gradients(tfm_optimizer *opt, tfm_graph *g, tfm_output *const *grads,
                                              tfm_variable *const *vars, int n, tfm_variable *global_step,
                                              const char *name, tfm_status *status) {
  tfm_status local;
  tfm_status *st = status ? status : &local;
  status_ok(st);
  if (!opt || !grads || !vars || n <= 0) {
    status_set(st, TFM_INVALID_ARGUMENT, "apply_gradients: optimizer, gradients and variables are required");
    return NULL;
  }
  g = graph_or_default(g);
  if (check_context(opt, g, global_step, st) != TFM_OK) return NULL;
  for (int i = 0; i < n; i++) {
    const variable_t *v = vars[i];
    if (!v || !v->var || v->var->graph != g || !dtype_is_float(v->var->outputs[0].dtype)) {
      status_set(st, TFM_INVALID_ARGUMENT, "apply_gradients: vars[%d] is not a float variable of this graph", i);
      return NULL;
    }
    const output_t *gr = grads[i], *ref = &v->var->outputs[0];
    if (!gr) continue;
    char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
    if (gr->node->graph != g || gr->dtype != ref->dtype || !shape_compatible(&gr->shape, &ref->shape)) {
      status_set(st, TFM_INVALID_ARGUMENT,
                 "apply_gradients: the gradient '%s' (%s %s) does not fit variable '%s' (%s %s)", gr->node->name,
                 dtype_name(gr->dtype), shape_str(&gr->shape, a), v->var->name, dtype_name(ref->dtype),
                 shape_str(&ref->shape, b));
      return NULL;
    }
  }
  return apply_all(opt, g, vars, grads, n, global_step, name, st);
}
