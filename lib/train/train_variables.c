/* Variables the training machinery creates for itself (optimizer slots, Adam's beta
 * powers, global_step), built node by node so that every name is the one
 * TensorFlow gives ("w/Adam", "w/Adam/Initializer/zeros", "global_step/read"),
 * which keeps checkpoints and imported graphs interchangeable with TF's. */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "train/optimizer.h"
#include "tfmini/ops.h"

/* "<a>/<b>" in a new buffer (NULL and status set on failure). */
static char *join_name(const char *a, const char *b, tfm_status *st) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = mem_alloc(la + lb + 2);
  if (!s) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory naming '%s/%s'", a, b);
    return NULL;
  }
  memcpy(s, a, la);
  s[la] = '/';
  memcpy(s + la + 1, b, lb + 1);
  return s;
}

char *train_colocation(const char *op_name, tfm_status *st) {
  size_t len = strlen(op_name);
  char *s = mem_alloc(len + 6);
  if (!s) {
    status_set(st, TFM_RESOURCE_EXHAUSTED, "out of memory naming '%s'", op_name);
    return NULL;
  }
  memcpy(s, "loc:@", 5);
  memcpy(s + 5, op_name, len + 1);
  return s;
}

/* The ops of one variable, its name already reserved. */
static variable_t *build_variable(graph_t *g, const char *name, tensor_t *initial, const char *init_suffix,
                                  tfm_status *st) {
  char *init_name = join_name(name, init_suffix, st);
  char *assign_name = join_name(name, "Assign", st);
  char *read_name = join_name(name, "read", st);
  char *loc = train_colocation(name, st);
  variable_t *v = NULL;
  if (!init_name || !assign_name || !read_name || !loc) goto done;
  tstring_t cls = {loc, strlen(loc)};
  attr_t colocate = {.name = "_class", .value = {.kind = ATTR_LIST_S, .u.list = {.n = 1, .s = &cls}}};

  tfm_dtype dt = initial->dtype;
  attr_t const_attrs[] = {ATTR_TYPE_V("dtype", dt), ATTR_TENSOR_V("value", initial)};
  node_t *init = graph_add_op(g, "Const", init_name, true, NULL, 0, const_attrs, 2, NULL, 0, st);
  if (!init) goto done;
  attr_t var_attrs[] = {ATTR_SHAPE_V("shape", initial->shape), ATTR_TYPE_V("dtype", dt),
                        ATTR_S_V("container", ""), ATTR_S_V("shared_name", "")};
  node_t *var = graph_add_op(g, "VariableV2", name, true, NULL, 0, var_attrs, 4, NULL, 0, st);
  if (!var) goto done;
  output_t *assign_in[] = {&var->outputs[0], &init->outputs[0]};
  attr_t assign_attrs[] = {ATTR_TYPE_V("T", dt), ATTR_B_V("use_locking", true), ATTR_B_V("validate_shape", true),
                           colocate};
  node_t *assign = graph_add_op(g, "Assign", assign_name, true, assign_in, 2, assign_attrs, 4, NULL, 0, st);
  if (!assign) goto done;
  attr_t read_attrs[] = {ATTR_TYPE_V("T", dt), colocate};
  output_t *read_in = &var->outputs[0];
  node_t *read = graph_add_op(g, "Identity", read_name, true, &read_in, 1, read_attrs, 2, NULL, 0, st);
  if (!read) goto done;
  v = graph_add_variable(g, var, assign, &read->outputs[0], &init->outputs[0], false, st);

done:
  mem_free(loc);
  mem_free(init_name);
  mem_free(assign_name);
  mem_free(read_name);
  return v;
}

variable_t *train_variable_new(graph_t *g, const char *base, bool at_root, tensor_t *initial,
                               const char *init_suffix, tfm_status *st) {
  /* TF's init_scope: the variable depends on no op around its creation. */
  int saved_control = g->n_control_scopes;
  g->n_control_scopes = 0;
  variable_t *v = NULL;
  if (!at_root || graph_push_name_scope(g, "", st) == TFM_OK) {
    char *name = graph_unique_name(g, base, st);
    if (at_root) graph_pop_name_scope(g, NULL);
    if (name) v = build_variable(g, name, initial, init_suffix, st);
    mem_free(name);
  }
  g->n_control_scopes = saved_control;
  return v;
}

TFM_API tfm_variable *tfm_train_get_or_create_global_step(tfm_graph *g, tfm_status *status) {
  tfm_status local;
  tfm_status *st = status ? status : &local;
  status_ok(st);
  g = graph_or_default(g);
  collection_t *c = graph_collection(g, TFM_GLOBAL_STEP, false, NULL);
  if (c && c->n_items > 0) {
    if (c->items[0].kind != ITEM_VARIABLE) {
      status_set(st, TFM_INVALID_ARGUMENT, "collection 'global_step' holds something other than a variable");
      return NULL;
    }
    return c->items[0].u.variable;
  }
  tensor_t *zero = tensor_scalar_i64(0, st);
  if (!zero) return NULL;
  variable_t *v = train_variable_new(g, "global_step", true, zero, "Initializer/zeros", st);
  tensor_unref(zero);
  if (!v) return NULL;
  collection_item_t item = {.kind = ITEM_VARIABLE, .u.variable = v};
  if (graph_add_to_collection(g, TFM_GLOBAL_STEP, &item, st) != TFM_OK) return NULL;
  return v;
}
