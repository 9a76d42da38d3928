/* Helpers for typed builders and gradients (see build.h). */
#include "ops/build.h"

#include <string.h>

#include "core/mem.h"

output_t *op_build(graph_t *g, const char *type, const char *name, output_t *const *in,
                   int n_in, const attr_t *attrs, int n_attrs, tfm_status *st) {
  node_t *n = graph_add_op(g, type, name, false, in, n_in, attrs, n_attrs, NULL, 0, st);
  if (!n) return NULL;
  if (n->n_outputs < 1) {
    status_set(st, TFM_INTERNAL, "%s '%s' has no output", n->type, n->name);
    return NULL;
  }
  return &n->outputs[0];
}

char *op_scope_push(graph_t *g, const char *name, const char *type, tfm_status *st) {
  if (graph_push_name_scope(g, name && *name ? name : type, st) != TFM_OK) return NULL;
  char *r = mem_strdup(graph_current_name_scope(g));
  if (!r) {
    graph_pop_name_scope(g, NULL);
    status_set(st, TFM_RESOURCE_EXHAUSTED, "%s: out of memory", type);
  }
  return r;
}

output_t *op_build_exact(graph_t *g, const char *type, const char *full_name, output_t *const *in,
                         int n_in, const attr_t *attrs, int n_attrs, tfm_status *st) {
  node_t *n = graph_add_op(g, type, full_name, true, in, n_in, attrs, n_attrs, NULL, 0, st);
  return n && n->n_outputs ? &n->outputs[0] : NULL;
}

bool builder_inputs_ok(const char *fn, tfm_status *st, int n, ...) {
  va_list ap;
  va_start(ap, n);
  int bad = -1;
  for (int i = 0; i < n; i++) {
    if (!va_arg(ap, output_t *) && bad < 0) bad = i;
  }
  va_end(ap);
  if (bad < 0) return true;
  if (status_code(st) == TFM_OK)
    status_set(st, TFM_INVALID_ARGUMENT, "%s: input %d is NULL", fn, bad);
  return false;
}

output_t *op_const_tensor(graph_t *g, tensor_t *value, const char *name, tfm_status *st) {
  attr_t attrs[] = {ATTR_TENSOR_V("value", value), ATTR_TYPE_V("dtype", value->dtype)};
  return op_build(g, "Const", name ? name : "Const", NULL, 0, attrs, 2, st);
}

output_t *op_const_i32(graph_t *g, const int32_t *v, int64_t n, const char *name, tfm_status *st) {
  shape_t s = shape_vector(n);
  tensor_t *t = tensor_new(TFM_INT32, &s, st);
  if (!t) return NULL;
  if (n) memcpy(t->data, v, (size_t)n * sizeof *v);
  output_t *o = op_const_tensor(g, t, name, st);
  tensor_unref(t);
  return o;
}

void scalar_view(tensor_t *t, tfm_dtype dt, void *buf, double v) {
  memset(t, 0, sizeof *t);
  atomic_init(&t->refs, 1);
  t->dtype = dt;
  t->shape = shape_scalar();
  t->num_elements = 1;
  t->nbytes = dtype_size(dt);
  t->data = buf;
  switch (dt) {
    case TFM_FLOAT: *(float *)buf = (float)v; break;
    case TFM_DOUBLE: *(double *)buf = v; break;
    case TFM_INT32: *(int32_t *)buf = (int32_t)v; break;
    case TFM_INT64: *(int64_t *)buf = (int64_t)v; break;
    case TFM_UINT8: *(uint8_t *)buf = (uint8_t)v; break;
    case TFM_BOOL: *(uint8_t *)buf = v != 0; break;
    default: memset(buf, 0, 8); break;
  }
}

output_t *op_const_scalar(graph_t *g, double v, tfm_dtype dt, const char *name, tfm_status *st) {
  if (!dtype_is_valid(dt) || dt == TFM_STRING) {
    status_set(st, TFM_INVALID_ARGUMENT, "scalar constant: unsupported dtype %d", (int)dt);
    return NULL;
  }
  shape_t s = shape_scalar();
  tensor_t *t = tensor_new(dt, &s, st);
  if (!t) return NULL;
  tensor_t view;
  unsigned char buf[8];
  scalar_view(&view, dt, buf, v);
  memcpy(t->data, buf, dtype_size(dt));
  output_t *o = op_const_tensor(g, t, name, st);
  tensor_unref(t);
  return o;
}

output_t *op_sum_all(graph_t *g, output_t *x, tfm_status *st) {
  if (x->shape.rank < 0) {
    status_set(st, TFM_UNIMPLEMENTED, "sum over all axes: the rank of '%s' is unknown", x->node->name);
    return NULL;
  }
  int32_t axes[TFM_MAX_RANK];
  for (int i = 0; i < x->shape.rank; i++) axes[i] = i;
  output_t *a = op_const_i32(g, axes, x->shape.rank, NULL, st);
  if (!a) return NULL;
  output_t *in[2] = {x, a};
  return op_build(g, "Sum", NULL, in, 2, NULL, 0, st);
}
