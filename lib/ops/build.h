/* Helpers for the typed builders and gradient functions of lib/ops: adding an op
 * and taking its first output, the public NULL-input rule, small constants. */
#ifndef TFM_OPS_BUILD_H
#define TFM_OPS_BUILD_H

#include <stdarg.h>

#include "ops/registry.h"

/* Attr schema entries most ops share: "T" (required) and an index type
 * defaulting to int32 ("Tshape", "Tperm", "Tidx" ...). */
#define T_ATTR_REQUIRED {"T", ATTR_TYPE, {0}}
#define INDEX_ATTR(nm) {nm, ATTR_TYPE, {.kind = ATTR_TYPE, .u.type = TFM_INT32}}

/* Sets output i's build-time value (takes the reference; t may be NULL). */
static inline void output_set_const(node_t *n, int i, tensor_t *t) {
  tensor_unref(n->outputs[i].const_value);
  n->outputs[i].const_value = t;
}

/* Sum(x) over every axis (x's rank must be known): the gradient of a broadcast. */
output_t *op_sum_all(graph_t *g, output_t *x, tfm_status *st);

/* graph_add_op with a generated name; returns output 0 (NULL on error or when the
 * op has no outputs). */
output_t *op_build(graph_t *g, const char *type, const char *name, output_t *const *in,
                   int n_in, const attr_t *attrs, int n_attrs, tfm_status *st);
/* TF's op scope (ops.name_scope(name, default)): pushes a unique name scope for
 * `name` (NULL: `type`) in which helper constants are built; returns its full
 * name (mem_alloc'ed). Pop it, then add the op under that exact name with
 * op_build_exact: "r/shape" and "r" as tf.reshape(x, [2,3], name="r") makes. */
char *op_scope_push(graph_t *g, const char *name, const char *type, tfm_status *st);
output_t *op_build_exact(graph_t *g, const char *type, const char *full_name, output_t *const *in,
                         int n_in, const attr_t *attrs, int n_attrs, tfm_status *st);
/* The NULL-input rule of include/tfmini/ops.h: false when any of the `n` inputs
 * (output_t *) is NULL; the status keeps an earlier error, else gets
 * INVALID_ARGUMENT naming the builder `fn` and the argument position. */
bool builder_inputs_ok(const char *fn, tfm_status *st, int n, ...);
/* Const ops (named `name`, NULL = "Const"). */
output_t *op_const_tensor(graph_t *g, tensor_t *value, const char *name, tfm_status *st);
output_t *op_const_i32(graph_t *g, const int32_t *v, int64_t n, const char *name, tfm_status *st);
output_t *op_const_scalar(graph_t *g, double v, tfm_dtype dt, const char *name, tfm_status *st);
/* A scalar tensor_t over `buf` (>= 8 bytes) holding v converted to dt: no
 * allocation, for kernels that need a fill value. */
void scalar_view(tensor_t *t, tfm_dtype dt, void *buf, double v);

#endif
