/* Public graph API (include/tfmini/graph.h): graphs, scopes, ops, outputs and
 * attrs, over lib/graph. */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "graph/graph.h"
#include "tfmini/graph.h"

/* ---- graphs ---- */

TFM_API tfm_graph *tfm_graph_new(tfm_status *status) { return graph_new(status); }
TFM_API void tfm_graph_delete(tfm_graph *graph) { graph_delete(graph); }
TFM_API tfm_graph *tfm_default_graph(void) { return graph_default(); }
TFM_API tfm_code tfm_reset_default_graph(tfm_status *status) { return graph_reset_default(status); }

TFM_API void tfm_graph_set_seed(tfm_graph *graph, int64_t seed) {
  graph_t *g = graph_or_default(graph);
  if (!g) return;
  graph_lock(g);
  g->has_seed = true;
  g->seed = seed;
  g->version++;
  graph_unlock(g);
}

TFM_API int tfm_graph_num_ops(tfm_graph *graph) {
  graph_t *g = graph_or_default(graph);
  return g ? g->n_nodes : 0;
}

TFM_API tfm_op *tfm_graph_op_at(tfm_graph *graph, int index) {
  graph_t *g = graph_or_default(graph);
  if (!g) return NULL;
  graph_lock(g);
  node_t *n = index >= 0 && index < g->n_nodes ? g->nodes[index] : NULL;
  graph_unlock(g);
  return n;
}

TFM_API tfm_op *tfm_graph_get_operation_by_name(tfm_graph *graph, const char *name,
                                                tfm_status *status) {
  node_t *n = graph_find_op(graph_or_default(graph), name);
  if (!n)
    status_set(status, TFM_NOT_FOUND, "The name '%s' refers to an operation not in the graph",
               name ? name : "(null)");
  else
    status_ok(status);
  return n;
}

TFM_API tfm_output *tfm_graph_get_tensor_by_name(tfm_graph *graph, const char *name,
                                                 tfm_status *status) {
  return graph_find_output(graph_or_default(graph), name, status);
}

/* ---- scopes ---- */

TFM_API tfm_code tfm_graph_push_name_scope(tfm_graph *graph, const char *name, tfm_status *status) {
  return graph_push_name_scope(graph_or_default(graph), name, status);
}

TFM_API tfm_code tfm_graph_pop_name_scope(tfm_graph *graph, tfm_status *status) {
  return graph_pop_name_scope(graph_or_default(graph), status);
}

TFM_API const char *tfm_graph_name_scope(tfm_graph *graph) {
  return graph_current_name_scope(graph_or_default(graph));
}

TFM_API tfm_code tfm_graph_push_variable_scope(tfm_graph *graph, const char *name, int reuse,
                                               tfm_status *status) {
  return graph_push_variable_scope(graph_or_default(graph), name, reuse != 0, status);
}

TFM_API tfm_code tfm_graph_pop_variable_scope(tfm_graph *graph, tfm_status *status) {
  return graph_pop_variable_scope(graph_or_default(graph), status);
}

TFM_API tfm_code tfm_graph_push_control_dependencies(tfm_graph *graph, tfm_op *const *ops, int n,
                                                     tfm_status *status) {
  return graph_push_control_dependencies(graph_or_default(graph), ops, n, status);
}

TFM_API tfm_code tfm_graph_pop_control_dependencies(tfm_graph *graph, tfm_status *status) {
  return graph_pop_control_dependencies(graph_or_default(graph), status);
}

/* ---- ops ---- */

TFM_API const char *tfm_op_name(const tfm_op *op) { return op ? op->name : NULL; }
TFM_API const char *tfm_op_type(const tfm_op *op) { return op ? op->type : NULL; }
TFM_API int tfm_op_num_inputs(const tfm_op *op) { return op ? op->n_inputs : 0; }
TFM_API tfm_output *tfm_op_input(const tfm_op *op, int i) {
  return op && i >= 0 && i < op->n_inputs ? op->inputs[i] : NULL;
}
TFM_API int tfm_op_num_control_inputs(const tfm_op *op) { return op ? op->n_control_inputs : 0; }
TFM_API tfm_op *tfm_op_control_input(const tfm_op *op, int i) {
  return op && i >= 0 && i < op->n_control_inputs ? op->control_inputs[i] : NULL;
}
TFM_API int tfm_op_num_outputs(const tfm_op *op) { return op ? op->n_outputs : 0; }
TFM_API tfm_output *tfm_op_output(tfm_op *op, int i) {
  return op && i >= 0 && i < op->n_outputs ? &op->outputs[i] : NULL;
}
TFM_API tfm_graph *tfm_op_graph(const tfm_op *op) { return op ? op->graph : NULL; }

/* Finds the attr `name` of `op` and checks it has kind `kind`. */
static tfm_code attr_of_kind(const tfm_op *op, const char *name, attr_kind_t kind,
                             const char *kind_name, const attr_value_t **out, tfm_status *st) {
  if (!op || !name)
    return status_set(st, TFM_INVALID_ARGUMENT, "op attr: %s is NULL", op ? "the name" : "the op");
  const attr_value_t *v = node_attr(op, name);
  if (!v) return status_set(st, TFM_NOT_FOUND, "%s '%s' has no attr '%s'", op->type, op->name, name);
  if (v->kind != kind)
    return status_set(st, TFM_INVALID_ARGUMENT, "attr '%s' of %s '%s' is not a %s", name, op->type,
                      op->name, kind_name);
  *out = v;
  return status_ok(st);
}

TFM_API tfm_code tfm_op_attr_int(const tfm_op *op, const char *name, int64_t *value, tfm_status *st) {
  const attr_value_t *v = NULL;
  tfm_code rc = attr_of_kind(op, name, ATTR_I, "int", &v, st);
  if (rc == TFM_OK) *value = v->u.i;
  return rc;
}

TFM_API tfm_code tfm_op_attr_float(const tfm_op *op, const char *name, float *value, tfm_status *st) {
  const attr_value_t *v = NULL;
  tfm_code rc = attr_of_kind(op, name, ATTR_F, "float", &v, st);
  if (rc == TFM_OK) *value = v->u.f;
  return rc;
}

TFM_API tfm_code tfm_op_attr_bool(const tfm_op *op, const char *name, int *value, tfm_status *st) {
  const attr_value_t *v = NULL;
  tfm_code rc = attr_of_kind(op, name, ATTR_B, "bool", &v, st);
  if (rc == TFM_OK) *value = v->u.b;
  return rc;
}

TFM_API tfm_code tfm_op_attr_type(const tfm_op *op, const char *name, tfm_dtype *value, tfm_status *st) {
  const attr_value_t *v = NULL;
  tfm_code rc = attr_of_kind(op, name, ATTR_TYPE, "type", &v, st);
  if (rc == TFM_OK) *value = (tfm_dtype)v->u.type;
  return rc;
}

TFM_API tfm_code tfm_op_attr_string(const tfm_op *op, const char *name, const char **value, size_t *len,
                                    tfm_status *st) {
  const attr_value_t *v = NULL;
  tfm_code rc = attr_of_kind(op, name, ATTR_S, "string", &v, st);
  if (rc == TFM_OK) {
    *value = v->u.s.data ? v->u.s.data : "";
    if (len) *len = v->u.s.len;
  }
  return rc;
}

/* ---- outputs ---- */

TFM_API tfm_op *tfm_output_op(const tfm_output *o) { return o ? o->node : NULL; }
TFM_API int tfm_output_index(const tfm_output *o) { return o ? o->index : -1; }
TFM_API tfm_dtype tfm_output_dtype(const tfm_output *o) { return o ? o->dtype : TFM_INVALID; }
TFM_API int tfm_output_rank(const tfm_output *o) { return o ? o->shape.rank : -1; }
TFM_API int64_t tfm_output_dim(const tfm_output *o, int axis) {
  return o && axis >= 0 && axis < o->shape.rank ? o->shape.dim[axis] : -1;
}

TFM_API size_t tfm_output_name(const tfm_output *o, char *buf, size_t cap) {
  if (!o) {
    if (cap) buf[0] = '\0';
    return 0;
  }
  int n = snprintf(buf, cap, "%s:%d", o->node->name, o->index);
  return n < 0 ? 0 : (size_t)n;
}
