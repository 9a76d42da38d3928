/* State ops: variables (VariableV2 and the older Variable) and the ops that write
 * them (Assign, AssignAdd, AssignSub), with their public builders.
 *
 * Contract with the executor: a variable's value lives in a slot the session
 * owns. For an OP_VARIABLE op the kernel receives that slot as c->ref (NULL or
 * *c->ref NULL: not initialised); for an OP_REF_INPUT0 op c->ref is the slot of
 * the variable feeding input 0, and c->in[0] its current tensor. A kernel that
 * gives the variable a new tensor stores it in *c->ref (handing over one
 * reference) and leaves the old one alone: the executor retires it once no run
 * can still read it. */
#include <string.h>

#include "kernels/kernels.h"
#include "ops/build.h"
#include "tfmini/ops.h"

/* ---- VariableV2 / Variable ---- */

static const attr_def_t variable_attrs[] = {
    {"shape", ATTR_SHAPE, {0}},
    {"dtype", ATTR_TYPE, {0}},
    {"container", ATTR_S, {.kind = ATTR_S, .u.s = {"", 0}}},
    {"shared_name", ATTR_S, {.kind = ATTR_S, .u.s = {"", 0}}},
    {NULL}};

static tfm_code variable_infer(node_t *n, tfm_status *st) {
  int dt = node_attr_type(n, "dtype", TFM_INVALID);
  if (dt > DTYPE_REF_OFFSET) dt -= DTYPE_REF_OFFSET;
  if (!dtype_is_valid((tfm_dtype)dt))
    return node_error(n, st, TFM_INVALID_ARGUMENT, "unsupported dtype %d", dt);
  n->outputs[0].dtype = (tfm_dtype)dt;
  n->outputs[0].is_ref = true;
  n->outputs[0].shape = node_attr(n, "shape")->u.shape;
  return TFM_OK;
}

static tfm_code variable_compute(kctx_t *c) {
  if (!c->ref || !*c->ref)
    return kctx_error(c, TFM_FAILED_PRECONDITION, "Attempting to use uninitialized value %s",
                      c->node->name);
  kctx_set_output(c, 0, *c->ref);
  return TFM_OK;
}

/* ---- Assign, AssignAdd, AssignSub ---- */

static const attr_def_t assign_attrs[] = {
    {"T", ATTR_TYPE, {0}},
    {"validate_shape", ATTR_B, {.kind = ATTR_B, .u.b = true}},
    {"use_locking", ATTR_B, {.kind = ATTR_B, .u.b = true}},
    {NULL}};
static const attr_def_t assign_update_attrs[] = {
    {"T", ATTR_TYPE, {0}}, {"use_locking", ATTR_B, {.kind = ATTR_B, .u.b = false}}, {NULL}};

static tfm_code assign_check(node_t *n, bool need_same_shape, tfm_status *st) {
  const output_t *ref = n->inputs[0], *v = n->inputs[1];
  char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX], an[256], bn[256];
  if (ref->dtype != v->dtype)
    return node_error(n, st, TFM_INVALID_ARGUMENT, "the variable '%s' is %s but the value '%s' is %s",
                      output_name(ref, an, sizeof an), dtype_name(ref->dtype),
                      output_name(v, bn, sizeof bn), dtype_name(v->dtype));
  if (need_same_shape && !shape_compatible(&ref->shape, &v->shape))
    return node_error(n, st, TFM_INVALID_ARGUMENT,
                      "shapes must be equal: the variable '%s' is %s, the value '%s' is %s",
                      output_name(ref, an, sizeof an), shape_str(&ref->shape, a),
                      output_name(v, bn, sizeof bn), shape_str(&v->shape, b));
  n->outputs[0].dtype = ref->dtype;
  n->outputs[0].shape = need_same_shape && ref->shape.rank >= 0 ? ref->shape : v->shape;
  return TFM_OK;
}

static tfm_code assign_infer(node_t *n, tfm_status *st) {
  return assign_check(n, node_attr_bool(n, "validate_shape", true), st);
}

static tfm_code assign_update_infer(node_t *n, tfm_status *st) { return assign_check(n, true, st); }

static tfm_code assign_compute(kctx_t *c) {
  const tensor_t *v = c->in[1];
  tensor_t *cur = *c->ref;
  char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
  if (cur && node_attr_bool(c->node, "validate_shape", true) && !shape_equal(&cur->shape, &v->shape))
    return kctx_error(c, TFM_INVALID_ARGUMENT, "shapes must be equal: the variable is %s, the value %s",
                      shape_str(&cur->shape, a), shape_str(&v->shape, b));
  /* Write in place when the shape allows (no allocation in a steady-state run).
   * Whoever holds the old tensor inside a run sees the update, as TensorFlow's
   * ref variables do; callers never hold it: the session hands out snapshots.
   * Otherwise the variable gets a fresh copy (the session retires the old). */
  if (cur == v) {
    /* the variable's own value: nothing to do */
  } else if (cur && cur->dtype == v->dtype && v->dtype != TFM_STRING &&
             shape_equal(&cur->shape, &v->shape)) {
    if (v->nbytes) memcpy(cur->data, v->data, v->nbytes);
  } else {
    tensor_t *copy = tensor_copy(v, c->st);
    if (!copy) return kctx_error(c, TFM_RESOURCE_EXHAUSTED, "out of memory copying the value");
    *c->ref = copy;
  }
  kctx_set_output(c, 0, *c->ref);
  return TFM_OK;
}

static tfm_code assign_update(kctx_t *c, ew_binary_t op) {
  tensor_t *cur = *c->ref;
  char a[SHAPE_STR_MAX], b[SHAPE_STR_MAX];
  if (!cur)
    return kctx_error(c, TFM_FAILED_PRECONDITION, "Attempting to use uninitialized value %s",
                      c->node->inputs[0]->node->name);
  if (!shape_equal(&cur->shape, &c->in[1]->shape))
    return kctx_error(c, TFM_INVALID_ARGUMENT, "shapes must be equal: the variable is %s, the value %s",
                      shape_str(&cur->shape, a), shape_str(&c->in[1]->shape, b));
  /* In place, always: values handed to callers are snapshots (see Assign). */
  if (kern_binary(op, cur, c->in[1], cur, c->st) != TFM_OK) return status_code(c->st);
  kctx_set_output(c, 0, cur);
  return TFM_OK;
}

static tfm_code assign_add_compute(kctx_t *c) { return assign_update(c, EW_ADD); }
static tfm_code assign_sub_compute(kctx_t *c) { return assign_update(c, EW_SUB); }

const op_def_t ops_state[] = {
    {.name = "VariableV2", .n_outputs = 1, .attrs = variable_attrs, .infer = variable_infer,
     .compute = variable_compute, .flags = OP_VARIABLE | OP_STATEFUL},
    {.name = "Variable", .n_outputs = 1, .attrs = variable_attrs, .infer = variable_infer,
     .compute = variable_compute, .flags = OP_VARIABLE | OP_STATEFUL},
    {.name = "Assign", .n_inputs = 2, .n_outputs = 1, .attrs = assign_attrs, .infer = assign_infer,
     .compute = assign_compute, .flags = OP_REF_INPUT0 | OP_STATEFUL | OP_NO_GRADIENT},
    {.name = "AssignAdd", .n_inputs = 2, .n_outputs = 1, .attrs = assign_update_attrs,
     .infer = assign_update_infer, .compute = assign_add_compute,
     .flags = OP_REF_INPUT0 | OP_STATEFUL | OP_NO_GRADIENT},
    {.name = "AssignSub", .n_inputs = 2, .n_outputs = 1, .attrs = assign_update_attrs,
     .infer = assign_update_infer, .compute = assign_sub_compute,
     .flags = OP_REF_INPUT0 | OP_STATEFUL | OP_NO_GRADIENT},
    {NULL}};

/* ---- public builders ---- */

static tfm_output *assign_like(tfm_graph *g, const char *type, const char *fn, tfm_variable *v,
                               tfm_output *value, const char *name, tfm_status *st) {
  if (!v) {
    if (status_code(st) == TFM_OK) status_set(st, TFM_INVALID_ARGUMENT, "%s: variable is NULL", fn);
    return NULL;
  }
  if (!builder_inputs_ok(fn, st, 1, value)) return NULL;
  output_t *in[2] = {&v->var->outputs[0], value};
  return op_build(g ? g : v->var->graph, type, name, in, 2, NULL, 0, st);
}

TFM_API tfm_output *tfm_assign(tfm_graph *g, tfm_variable *v, tfm_output *value, const char *name,
                               tfm_status *st) {
  return assign_like(g, "Assign", "tfm_assign", v, value, name, st);
}

TFM_API tfm_output *tfm_assign_add(tfm_graph *g, tfm_variable *v, tfm_output *value, const char *name,
                                   tfm_status *st) {
  return assign_like(g, "AssignAdd", "tfm_assign_add", v, value, name, st);
}

TFM_API tfm_output *tfm_assign_sub(tfm_graph *g, tfm_variable *v, tfm_output *value, const char *name,
                                   tfm_status *st) {
  return assign_like(g, "AssignSub", "tfm_assign_sub", v, value, name, st);
}
